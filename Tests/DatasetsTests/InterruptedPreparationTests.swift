import CacheBuild
import Datasets
import Foundation
import Preprocessing
import Support
import TestSupport
import Testing
import VectorCache

/// A writer's `isCancelled` that counts its polls and says stop from the `stopAt`th on.
private final class CountedStop: Sendable {
    let polls = Locked(0)
    let stopAt = Locked(Int.max)

    func poll() -> Bool {
        let poll = polls.withLock {
            $0 += 1
            return $0
        }
        return poll >= stopAt.withLock { $0 }
    }

    func reset(stoppingAt poll: Int) {
        polls.withLock { $0 = 0 }
        stopAt.withLock { $0 = poll }
    }
}

/// A preparation stopped at any of its polls (between its steps, before its write, before its swap: what Ctrl-C
/// does to `prepare`) throws `.interrupted` and leaves the cache byte for byte, with nothing beside it; not stopped,
/// the same writer then prepares the dataset whole.
@Suite struct InterruptedPreparationTests {
    let words = ["New_York", "is", "big", "good", "film", "She", "ate", "fish", "s1", "t1"]
    let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `prepare` once on a cache of its own to count its polls, then on another stopped at each of them in turn,
    /// the files `inputs` writes beside each cache.
    func stopAtEveryPoll(
        inputs: [String: String], atLeast minimumPolls: Int = 5,
        _ prepare: (CacheWriter, TemporaryDirectory) throws -> Void
    ) throws {
        func write(into directory: TemporaryDirectory) throws {
            for (name, text) in inputs { _ = try textFile(directory, name, text) }
        }
        let counting = TemporaryDirectory()
        try write(into: counting)
        let countStop = CountedStop()
        try prepare(
            try CacheWriter(
                path: try buildCache(counting, words: words), purpose: "a test", isCancelled: countStop.poll),
            counting)
        let polls = countStop.polls.withLock { $0 }
        // The inputs read, the build of the content, and the change's two polls at least.
        #expect(polls >= minimumPolls, "\(polls) polls")

        let directory = TemporaryDirectory()
        try write(into: directory)
        let path = try buildCache(directory, words: words)
        let stop = CountedStop()
        let writer = try CacheWriter(path: path, purpose: "a test", isCancelled: stop.poll)
        let before = snapshot(path)
        let beside = directory.contents
        for poll in 1...polls {
            stop.reset(stoppingAt: poll)
            let error = #expect(throws: CacheError.self, "stopped at poll \(poll) of \(polls)") {
                try prepare(writer, directory)
            }
            #expect(error?.kind == .interrupted && error?.message == "interrupted; the cache \(path) is unchanged")
            #expect(snapshot(path) == before, "stopped at poll \(poll) of \(polls)")
            #expect(directory.contents == beside, "stopped at poll \(poll) of \(polls)")
        }
        stop.reset(stoppingAt: Int.max)
        try prepare(writer, directory)
        #expect(snapshot(path) != before)
    }

    @Test func pos() throws {
        try stopAtEveryPoll(inputs: ["train.txt": POSDatasetTests.train, "test.txt": POSDatasetTests.test]) {
            writer, directory in
            _ = try POSDataset.prepare(
                train: try TextFile(path: directory.file("train.txt")),
                test: try TextFile(path: directory.file("test.txt")), into: writer, options: POSOptions(),
                oov: OOVSource(random: testOOV))
        }
    }

    @Test func parser() throws {
        try stopAtEveryPoll(inputs: ["treebank.conllu": ParserDatasetTests.treebank]) { writer, directory in
            let treebank = try TextFile(path: directory.file("treebank.conllu"))
            _ = try ParserDataset.prepare(
                train: treebank, test: treebank, into: writer,
                options: ParserOptions(), oov: OOVSource(random: testOOV))
        }
    }

    @Test func sentiment() throws {
        try stopAtEveryPoll(inputs: ["reviews.tsv": "pos\tgood film\nneg\tbad film\n"]) { writer, directory in
            _ = try SentimentDataset.prepare(
                train: directory.file("reviews.tsv"), test: directory.file("reviews.tsv"), into: writer,
                options: SentimentOptions(), oov: OOVSource(random: testOOV))
        }
    }

    @Test func translation() throws {
        try stopAtEveryPoll(inputs: ["pairs.tsv": "s1 s2\tt1 t2\ns2\tt2\n"]) { writer, directory in
            var options = TranslationOptions()
            options.pretokenized = true
            _ = try TranslationDataset.prepare(
                train: .tsv(directory.file("pairs.tsv")), valid: nil, into: writer, options: options)
        }
    }

    /// The steps that run on every core (tokenizing, counting, arranging, padding) poll between their rounds: a
    /// preparation large enough for many rounds stops within them too.
    @Test func translationWithinItsSteps() throws {
        let pairs = (0..<2_000).map { "s\($0 % 7) s\($0 % 3)\tt\($0 % 5) t1\n" }.joined()
        // Tokenizing, and arranging's parts.
        let rounds = min(concurrentMapRounds, 2_000 / (8 * cores))
        try stopAtEveryPoll(inputs: ["pairs.tsv": pairs], atLeast: 5 + 2 * rounds) { writer, directory in
            var options = TranslationOptions()
            options.pretokenized = true
            _ = try TranslationDataset.prepare(
                train: .tsv(directory.file("pairs.tsv")), valid: nil, into: writer, options: options)
        }
    }

    @Test func sentimentWithinItsSteps() throws {
        let reviews = (0..<2_000).map { "\($0 % 2 == 0 ? "pos" : "neg")\tgood film \($0 % 11)\n" }.joined()
        // Tokenizing both splits and padding both.
        let rounds = min(concurrentMapRounds, 2_000 / (8 * cores))
        try stopAtEveryPoll(inputs: ["reviews.tsv": reviews], atLeast: 5 + 4 * rounds) { writer, directory in
            _ = try SentimentDataset.prepare(
                train: directory.file("reviews.tsv"), test: directory.file("reviews.tsv"), into: writer,
                options: SentimentOptions(), oov: OOVSource(random: testOOV))
        }
    }

    /// `prepare pos --vectors`: stopped at any poll of the build or of the prepare made in the built cache before
    /// its swap, the previous cache stays byte for byte, its dataset with it, and nothing is left beside it.
    @Test func posWithVectors() throws {
        func run(in directory: TemporaryDirectory, isCancelled: @escaping () -> Bool) throws {
            let request = BuildRequest(vectorsPath: directory.file("other.bin"), cachePath: directory.file("cache"))
            _ = try POSDataset.buildAndPrepare(
                train: try TextFile(path: directory.file("train.txt")),
                test: try TextFile(path: directory.file("test.txt")), build: request, options: POSOptions(),
                oov: { _ in OOVSource(random: testOOV) }, isCancelled: isCancelled)
        }
        func cacheWithPOS(in directory: TemporaryDirectory) throws {
            _ = try textFile(directory, "train.txt", POSDatasetTests.train)
            _ = try textFile(directory, "test.txt", POSDatasetTests.test)
            let writer = try CacheWriter(path: try buildCache(directory, words: words), purpose: "a test")
            _ = try POSDataset.prepare(
                train: try TextFile(path: directory.file("train.txt")),
                test: try TextFile(path: directory.file("test.txt")), into: writer, options: POSOptions(),
                oov: OOVSource(random: testOOV))
            try buildCache(directory, words: words.reversed(), name: "other")
        }
        let counting = TemporaryDirectory()
        try cacheWithPOS(in: counting)
        let countStop = CountedStop()
        try run(in: counting, isCancelled: countStop.poll)
        let polls = countStop.polls.withLock { $0 }
        // The build's own polls, and the prepare's in the built cache: each file read, the content, the change.
        #expect(polls >= 6, "\(polls) polls")

        let directory = TemporaryDirectory()
        try cacheWithPOS(in: directory)
        let before = snapshot(directory.file("cache"))
        let beside = directory.contents
        let stop = CountedStop()
        for poll in 1...polls {
            stop.reset(stoppingAt: poll)
            let error = #expect(throws: CacheError.self, "stopped at poll \(poll) of \(polls)") {
                try run(in: directory, isCancelled: stop.poll)
            }
            #expect(
                error?.kind == .interrupted
                    && error?.message == "the build was interrupted; the previous cache is unchanged",
                "stopped at poll \(poll) of \(polls): \(String(describing: error))")
            #expect(snapshot(directory.file("cache")) == before, "stopped at poll \(poll) of \(polls)")
            #expect(directory.contents == beside, "stopped at poll \(poll) of \(polls)")
        }
        stop.reset(stoppingAt: Int.max)
        try run(in: directory, isCancelled: stop.poll)
        #expect(snapshot(directory.file("cache")) != before)
    }
}
