import Foundation
import VectorCache

/// What a copy did.
public struct CopySummary: Sendable {
    /// The fingerprint the source and the copy share.
    public var fingerprint: String
    /// Table files hard-linked (same filesystem) or copied, and the bytes copied.
    public var linkedFiles: Int
    public var copiedFiles: Int
    public var copiedBytes: UInt64
    /// Whether the copy was read through once with checksums on (done when any table was copied, not linked).
    public var verified: Bool
}

/// How far a copy has come, for a progress line.
public enum CopyProgress: Sendable, Equatable {
    /// Files of the source reproduced (linked or copied), of all, and the bytes copied so far.
    case copying(files: Int, of: Int, bytes: UInt64)
    /// Entries of the copy read back with checksums on (after tables were copied, not linked).
    case verifying(entries: Int)
}

/// The files of a cache directory reproduced in another: what a copy and a change of a cache start from.
enum CacheFiles {
    struct Counts {
        var linkedFiles = 0
        var copiedFiles = 0
        var copiedBytes: UInt64 = 0
        var copiedTables = 0
    }

    /// Reproduces the cache in `source` in the empty directory `destination`: table files, which LevelDB never
    /// changes once written, hard-linked on one filesystem (copied across filesystems); the MANIFEST, CURRENT and
    /// logs copied; LevelDB's LOCK made anew (empty) and its info LOG left out. `progress` is called before each
    /// file and once at the end; what it throws stops the copy and is thrown.
    static func replicate(
        from source: String, to destination: String, progress: (CopyProgress) throws -> Void = { _ in }
    ) throws -> Counts {
        var counts = Counts()
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: source).sorted()
        } catch {
            throw CacheError(.io, "cannot list \(source): \(error.localizedDescription)")
        }
        let files = names.filter {
            CacheLocation.isLevelDBFile($0) && !["LOCK", "LOG", "LOG.old"].contains($0) && !$0.hasSuffix(".dbtmp")
        }
        for (done, name) in files.enumerated() {
            try progress(.copying(files: done, of: files.count, bytes: counts.copiedBytes))
            let from = source + "/" + name, to = destination + "/" + name
            let isTable = name.hasSuffix(".ldb") || name.hasSuffix(".sst")
            if isTable && link(from, to) == 0 {
                counts.linkedFiles += 1
                continue
            }
            do {
                try FileManager.default.copyItem(atPath: from, toPath: to)
            } catch {
                throw CacheError(.io, "cannot copy \(from) to \(to): \(error.localizedDescription)")
            }
            counts.copiedFiles += 1
            counts.copiedBytes +=
                (try? FileManager.default.attributesOfItem(atPath: to)[.size] as? NSNumber)?.uint64Value ?? 0
            if isTable { counts.copiedTables += 1 }
        }
        try progress(.copying(files: files.count, of: files.count, bytes: counts.copiedBytes))
        guard CacheLocation.createFile(destination + "/LOCK", contents: []) else {
            throw CacheError(.io, "cannot write in \(destination)")
        }
        return counts
    }
}

/// Makes a replica of a cache for another host or another `serve`.
///
/// Table files never change once written, so on one filesystem they are hard-linked; everything else (and every
/// file across filesystems) is copied. The copy is made in a temporary sibling of the destination and swapped into
/// place like a build, only after its fingerprint equals the source's (and, when tables were copied, after a full
/// read with checksums on). The source may be read by servers meanwhile; the destination may be what a build may
/// replace; both caches' writer locks are held.
public enum CacheCopier {
    /// Copies the cache at `sourcePath` to `destinationPath`.
    /// - Parameters:
    ///   - fingerprint: what identifies a cache's content (datasets included), computed on the source and on the
    ///     copy.
    ///   - progress: called as files are reproduced and as the copy is verified.
    ///   - isCancelled: polled with each progress report: once it is true the copy stops, removes what it made and
    ///     throws ``CacheError`` `.interrupted`, leaving the destination as it was.
    /// - throws: ``CacheError``: the destination is the source or inside it, not replaceable, or the copy differs.
    public static func copy(
        from sourcePath: String, to destinationPath: String, storage: StorageSettings = StorageSettings(),
        wait: Bool = false,
        fingerprint: (VectorCache) throws -> String,
        progress: (CopyProgress) -> Void = { _ in },
        isCancelled: () -> Bool = { false }
    ) throws -> CopySummary {
        let interrupted = CacheError(.interrupted, "interrupted; \(destinationPath) was not changed")
        func report(_ step: CopyProgress) throws {
            if isCancelled() { throw interrupted }
            progress(step)
        }
        let source = CacheLocation(path: sourcePath)
        let destination = CacheLocation(path: destinationPath)
        try refuseOverlap(source: source, destination: destination, given: destinationPath)
        let sourceLock = try CacheWriterLock(cachePath: source.path, purpose: "w2vcache copy (source)", wait: wait)
        let destinationLock = try CacheWriterLock(cachePath: destination.path, purpose: "w2vcache copy", wait: wait)
        defer { withExtendedLifetime((sourceLock, destinationLock)) {} }
        try destination.checkReplaceable()
        destination.removeStaleTemporaries()

        // Open while its files are read: no build can replace it meanwhile (its writer lock keeps prepares out).
        let opened = try VectorCache(path: source.path, storage: storage)
        defer { try? opened.close() }
        let expected = try fingerprint(opened)
        let buildPath = try destination.createBuildDirectory()
        var succeeded = false
        defer { if !succeeded { _ = CacheLocation.removeBuildDirectory(buildPath) } }
        let counts = try CacheFiles.replicate(from: source.path, to: buildPath, progress: report)
        let summary = CopySummary(
            fingerprint: expected, linkedFiles: counts.linkedFiles, copiedFiles: counts.copiedFiles,
            copiedBytes: counts.copiedBytes, verified: counts.copiedTables > 0)
        do {
            let copy = try VectorCache(path: buildPath, storage: storage)
            defer { try? copy.close() }
            let found = try fingerprint(copy)
            guard found == expected else {
                throw CacheError(
                    .corrupt, "the copy's fingerprint is \(found) but the source's is \(expected); nothing was replaced"
                )
            }
            if summary.verified {
                let verification = try copy.verify { try report(.verifying(entries: $0)) }
                guard verification.isHealthy else {
                    throw CacheError(
                        .corrupt,
                        "the copy failed verification (\(verification.problems.first ?? "")); nothing was replaced")
                }
            }
        }
        if isCancelled() { throw interrupted }  // the last moment a stop leaves the destination as it was
        try destination.swapIntoPlace(from: buildPath)
        succeeded = true
        return summary
    }

    /// Refuses a destination that is the source (by path, through any symbolic link, or by device and inode) or
    /// lies inside it: the copy would lock itself out, or leave the source holding a foreign directory.
    static func refuseOverlap(source: CacheLocation, destination: CacheLocation, given: String) throws {
        let sameFile =
            source.fileIdentity.map { sourceIdentity in
                destination.fileIdentity.map { $0 == sourceIdentity } ?? false
            } ?? false
        if sameFile || source.canonicalPath == destination.canonicalPath {
            throw CacheError(
                .refused, "\(given) is the source cache itself (\(source.canonicalPath)); give another directory")
        }
        if destination.canonicalPath.hasPrefix(source.canonicalPath + "/") {
            throw CacheError(
                .refused, "\(given) lies inside the source cache \(source.canonicalPath); give a directory outside it")
        }
    }
}
