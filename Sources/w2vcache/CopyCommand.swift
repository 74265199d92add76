import ArgumentParser
import CacheBuild
import Datasets
import Settings
import Support
import VectorCache

/// `w2vcache copy`: a replica of a cache for another `serve`.
struct CopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a cache for another server replica (hard links on one filesystem), checking its fingerprint.",
        discussion: """
            LevelDB admits one process per directory, so each `serve` replica needs its own cache. Table files never \
            change once written: on one filesystem they are hard-linked, elsewhere copied (and the copy is then read \
            through with checksums on). The copy is swapped into place only when its fingerprint equals the \
            source's. The source must not be in use (stop its server, or copy another replica); DEST may be a new \
            path, an empty directory or a w2vcache cache. A terminal shows progress; Ctrl-C or SIGTERM stops the copy \
            and removes it, leaving DEST as it was (exit status 130).
            """
    )

    @OptionGroup var cache: CacheOptions
    @OptionGroup var writer: WriterOptions

    @Argument(help: ArgumentHelp("Where the copy goes.", valueName: "dest"))
    var destination: String

    func validate() throws {
        if destination.isEmpty { throw ValidationError("<dest> is empty; expected a directory") }
    }

    func run() throws {
        let configuration = try cache.loadConfiguration()
        let isCancelled = installInterruptHandlers()
        let summary = try CacheCopier.copy(
            from: cache.cachePath(configuration), to: destination, storage: configuration.storage,
            wait: writer.wait, fingerprint: DatasetStore.fingerprint(of:), progress: Self.show,
            isCancelled: isCancelled)
        Terminal.endProgress()
        Terminal.message(
            "copied \(cache.cachePath(configuration)) to \(destination): "
                + "\(Plural.count(summary.linkedFiles, "table file")) linked, "
                + "\(Plural.count(summary.copiedFiles, "file")) copied (\(Human.bytes(Double(summary.copiedBytes))))"
                + (summary.verified ? ", verified" : "") + "; fingerprint \(summary.fingerprint)")
    }

    private static func show(_ progress: CopyProgress) {
        switch progress {
        case .copying(let files, let total, let bytes):
            Terminal.progress("copying: \(files) of \(total) files, \(Human.bytes(Double(bytes))) copied")
        case .verifying(let entries):
            Terminal.progress("verifying the copy: \(Human.count(Double(entries))) entries read")
        }
    }
}
