import ArgumentParser
import CacheBuild
import Datasets
import Support

/// Options every `prepare` shares (the cache, `--wait`), and the steps they share around the preparation.
struct PrepareOptions: ParsableArguments {
    @OptionGroup var cache: CacheOptions
    @OptionGroup var writer: WriterOptions

    /// Opens the cache to prepare `dataset` in it: one writer per cache, another fails naming it or waits. Ctrl-C
    /// or SIGTERM stops the preparation between its steps, the cache unchanged (exit status 130).
    func openWriter(preparing dataset: String, expectingDimension dimension: Int? = nil) throws -> CacheWriter {
        let isCancelled = installInterruptHandlers()
        return try cache.openWriter(
            purpose: "w2vcache prepare \(dataset)", wait: writer.wait, expectingDimension: dimension,
            isCancelled: isCancelled)
    }

    /// What the preparation of `dataset` counted, or `nil` after saying that the same inputs were prepared with the
    /// same options before, and `done`: what the command did all the same.
    static func statistics<Statistics>(
        of prepared: PreparedDataset<Statistics>, _ dataset: String, done: String = "nothing to do"
    ) -> Statistics? {
        guard prepared.alreadyPrepared else { return prepared.statistics }
        Terminal.message("\(dataset) is already prepared from these inputs with these options; \(done)")
        return nil
    }

    /// Runs `prepare` with its progress on a terminal's progress line (what it reads, how far each step is, the
    /// final write), cleared when it ends, however it ends.
    static func showingProgress<Result>(_ prepare: (@escaping PrepareProgressHandler) throws -> Result) rethrows
        -> Result
    {
        defer { Terminal.endProgress() }
        return try prepare(show)
    }

    private static func show(_ progress: PrepareProgress) {
        switch progress {
        case .reading(let input):
            Terminal.progress("reading \(Printable.escape(input))")
        case .working(let step, let done, let total):
            Terminal.progress(
                "\(step): \(Human.count(Double(done))) of \(Human.count(Double(total)))"
                    + "  \(total > 0 ? done * 100 / total : 100)%")
        case .storing(let written, let total):
            Terminal.progress(
                "storing the dataset in the cache: \(Human.bytes(Double(written))) of \(Human.bytes(Double(total)))"
                    + "  \(total > 0 ? written * 100 / total : 100)%")
        }
    }
}
