import ArgumentParser
import CacheBuild
import Datasets
import Support
import VectorCache

/// `w2vcache verify`: a full integrity check.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every entry of the cache; exit status 1 if anything is damaged.",
        discussion:
            "Reads all entries with LevelDB's checksums on and checks sizes, values and counts against the manifest; "
            + "an out-of-vocabulary word's vector is made again (its n-grams' from the cache's n-gram rows, a random "
            + "one from the seed and range its marker records) and compared, and "
            + "each prepared dataset is read back as the server reads it."
    )

    @OptionGroup var cache: CacheOptions

    func run() throws {
        let cache = try cache.openCache()
        var report = try cache.verify { entries in
            Terminal.progress("verified \(Human.count(Double(entries))) entries")
        }
        let vectorProblems = report.problemCount
        let datasets = try DatasetStore.verify(in: cache, into: &report) {
            Terminal.progress("reading dataset \($0) back")
        }
        Terminal.endProgress()
        if report.isHealthy {
            let index =
                report.searchIndexRows > 0 ? ", search index of \(Plural.count(report.searchIndexRows, "row"))" : ""
            let ngrams = report.subwordRows > 0 ? ", \(Plural.count(report.subwordRows, "n-gram row"))" : ""
            let whole = datasets > 0 ? ", \(Plural.count(datasets, "dataset")) read back" : ""
            let entries = Plural.count(report.metadataKeys, "metadata entry", "metadata entries")
            let unrecorded =
                report.unrecordedRandomVectors > 0
                ? "; \(report.unrecordedRandomVectors) of them random vectors whose marker does not record their "
                    + "seed, written before markers did: not made again" : ""
            let words = Plural.count(report.wordsChecked, "word")
            let summary =
                "ok: \(words) (\(report.oovMarkers) out-of-vocabulary\(unrecorded)), "
                + "\(entries)\(index)\(ngrams)\(whole), all checks passed\n"
            try Terminal.writeStdout(Array(summary.utf8))
            return
        }
        for problem in report.problems { Terminal.message("damaged: " + problem) }
        if report.problemCount > report.problems.count {
            Terminal.message("... and \(report.problemCount - report.problems.count) more problems")
        }
        // Damage in the datasets alone is mended by preparing them again; anything else by a build.
        let mend =
            vectorProblems == 0
            ? "prepare the datasets named again (`w2vcache prepare`)" : "rebuild it with `w2vcache build`"
        Terminal.message(
            "w2vcache: \(cache.path) failed verification with \(Plural.count(report.problemCount, "problem")); \(mend)")
        throw ExitCode(1)
    }
}
