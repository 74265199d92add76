import ArgumentParser
import CacheBuild
import Support
import VectorCache

/// `w2vcache verify`: a full integrity check.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every entry of the cache; exit status 1 if anything is damaged.",
        discussion:
            "Reads all entries with LevelDB's checksums on and checks sizes, values and counts against the manifest; "
            + "an out-of-vocabulary word given its n-grams' vector is made again from the cache's n-gram rows."
    )

    @OptionGroup var cache: CacheOptions

    func run() throws {
        let cache = try cache.openCache()
        let report = try cache.verify { entries in Terminal.progress("verified \(Human.count(Double(entries))) entries")
        }
        Terminal.endProgress()
        if report.isHealthy {
            let index =
                report.searchIndexRows > 0 ? ", search index of \(Plural.count(report.searchIndexRows, "row"))" : ""
            let ngrams = report.subwordRows > 0 ? ", \(Plural.count(report.subwordRows, "n-gram row"))" : ""
            let summary =
                "ok: \(Plural.count(report.wordsChecked, "word")) (\(report.oovMarkers) out-of-vocabulary), "
                + "\(Plural.count(report.metadataKeys, "metadata entry", "metadata entries"))\(index)\(ngrams), "
                + "all checks passed\n"
            try Terminal.writeStdout(Array(summary.utf8))
            return
        }
        for problem in report.problems { Terminal.message("damaged: " + problem) }
        if report.problemCount > report.problems.count {
            Terminal.message("... and \(report.problemCount - report.problems.count) more problems")
        }
        Terminal.message(
            "w2vcache: \(cache.path) failed verification with \(report.problemCount) problems; rebuild it with "
                + "`w2vcache build`"
        )
        throw ExitCode(1)
    }
}
