import CacheBuild
import Datasets
import Foundation
import Preprocessing
import Support
import TestSupport
import Testing
import VectorCache

/// What a preparation tells its progress handler, collected.
private final class ProgressLog: Sendable {
    private let events = Locked<[PrepareProgress]>([])
    var all: [PrepareProgress] { events.withLock { $0 } }
    var handler: PrepareProgressHandler { { event in self.events.withLock { $0.append(event) } } }

    /// The inputs read, in order.
    var reads: [String] { all.compactMap { if case .reading(let input) = $0 { input } else { nil } } }

    /// Each step's reports in order, as (done, total).
    var steps: [String: [(done: Int, total: Int)]] {
        var steps: [String: [(done: Int, total: Int)]] = [:]
        for case .working(let step, let done, let total) in all { steps[step, default: []].append((done, total)) }
        return steps
    }

    /// Whether the last reports are the store's, counting its bytes up from 0 to its total, and none before them.
    var storedLast: Bool {
        let stores = all.compactMap { if case .storing(let written, let total) = $0 { (written, total) } else { nil } }
        let tail = all.suffix(stores.count).allSatisfy { if case .storing = $0 { true } else { false } }
        return tail && stores.count >= 2 && stores.first!.0 == 0 && stores.last!.0 == stores.last!.1
            && stores.last!.1 > 0 && Set(stores.map(\.1)).count == 1
            && zip(stores, stores.dropFirst()).allSatisfy { $0.0 <= $1.0 }
    }

    /// Whether every step's reports count up within its total, one total each.
    var stepsCountUp: Bool {
        steps.values.allSatisfy { reports in
            zip(reports, reports.dropFirst()).allSatisfy { $0.done <= $1.done }
                && Set(reports.map(\.total)).count == 1 && reports.allSatisfy { 0 <= $0.done && $0.done <= $0.total }
        }
    }
}

/// Every `prepare` says what it reads, how far its long steps are (the embedding matrix among them), and how far its
/// store is; a preparation found done already reads its inputs (to fingerprint them) and stores nothing.
@Suite struct PrepareProgressTests {
    @Test func translationReportsItsReadsStepsAndWrite() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["a"]))
        // More pairs than one report's interval, so that the one-at-a-time steps report more than once.
        let pairs = 70_000
        try (0..<pairs).map { "s\($0 % 50) s\($0 % 7)\tt\($0 % 40)" }.joined(separator: "\n").appending("\n").write(
            toFile: directory.file("pairs.tsv"), atomically: true, encoding: .utf8)
        var options = TranslationOptions()
        options.pretokenized = true
        let log = ProgressLog()
        let prepared = try TranslationDataset.prepare(
            train: .tsv(directory.file("pairs.tsv")), valid: nil, into: writer, options: options,
            progress: log.handler)
        #expect(!prepared.alreadyPrepared)
        #expect(log.reads == [directory.file("pairs.tsv")])
        let steps = log.steps
        #expect(steps["tokenizing train pairs"]?.last.map { $0 == (pairs, pairs) } == true)
        #expect(steps["tokenizing train pairs"]!.count > 1)
        // Counted on every core, source tokens then target tokens; arranged on every core.
        #expect(steps["counting train tokens"]?.first.map { $0 == (0, 2 * pairs) } == true)
        #expect(steps["counting train tokens"]?.last.map { $0 == (2 * pairs, 2 * pairs) } == true)
        #expect(steps["counting train tokens"]!.count > 2)
        #expect(steps["arranging train pairs in buckets"]?.first.map { $0 == (0, pairs) } == true)
        #expect(steps["arranging train pairs in buckets"]?.last.map { $0 == (pairs, pairs) } == true)
        #expect(log.stepsCountUp)
        #expect(log.all.first == .reading(directory.file("pairs.tsv")) && log.storedLast)

        let again = ProgressLog()
        let same = try TranslationDataset.prepare(
            train: .tsv(directory.file("pairs.tsv")), valid: nil, into: writer, options: options,
            progress: again.handler)
        #expect(same.alreadyPrepared && again.all == [.reading(directory.file("pairs.tsv"))])
    }

    @Test func sentimentReportsItsReadsStepsAndWrite() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["good", "film"]))
        let reviews = (0..<300).map { "\($0 % 2 == 0 ? "pos" : "neg")\tgood film number \($0)" }
        try (reviews.joined(separator: "\n") + "\n").write(
            toFile: directory.file("train.tsv"), atomically: true, encoding: .utf8)
        try "pos\tgood\nneg\tbad\n".write(toFile: directory.file("test.tsv"), atomically: true, encoding: .utf8)
        let log = ProgressLog()
        _ = try SentimentDataset.prepare(
            train: directory.file("train.tsv"), test: directory.file("test.tsv"), into: writer,
            options: SentimentOptions(), oov: OOVSource(random: testOOV), progress: log.handler)
        #expect(log.reads == [directory.file("train.tsv"), directory.file("test.tsv")])
        let steps = log.steps
        #expect(steps["tokenizing train reviews"]?.last.map { $0 == (300, 300) } == true)
        #expect(steps["tokenizing test reviews"]?.last.map { $0 == (2, 2) } == true)
        #expect(steps["counting train tokens"]?.last.map { $0 == (300, 300) } == true)
        #expect(steps["padding train reviews"]?.first.map { $0 == (0, 300) } == true)
        #expect(steps["padding train reviews"]?.last.map { $0 == (300, 300) } == true)
        #expect(log.stepsCountUp && log.storedLast)
    }

    @Test func parserReportsItsReadsStepsAndWrite() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["She", "ate"]))
        let sentence = "1\tShe\tshe\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n2\tate\teat\tVERB\tVBD\t_\t0\troot\t_\t_\n\n"
        let train = try textFile(directory, "train.conllu", String(repeating: sentence, count: 5_000))
        let test = try textFile(directory, "test.conllu", sentence)
        let log = ProgressLog()
        _ = try ParserDataset.prepare(
            train: train, test: test, into: writer, options: ParserOptions(), oov: OOVSource(random: testOOV),
            progress: log.handler)
        #expect(log.reads == [train.path, test.path])
        let steps = log.steps
        #expect(steps["following the oracle through train sentences"]?.map(\.done) == [0, 4_096])
        #expect(steps["following the oracle through test sentences"]?.map(\.done) == [0])
        #expect(log.stepsCountUp && log.storedLast)
    }

    @Test func posReportsItsReadsAndWrite() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["She", "ate"]))
        let train = try textFile(directory, "train.txt", "She PRP\nate VBD\nit PRP\n")
        let test = try textFile(directory, "test.txt", "She PRP\n")
        let log = ProgressLog()
        let prepared = try POSDataset.prepare(
            train: train, test: test, into: writer, options: POSOptions(), oov: OOVSource(random: testOOV),
            progress: log.handler)
        #expect(log.reads == [train.path, test.path] && log.all.first == .reading(train.path))
        // The vocabulary is made into the matrix (its step reports the start and the end), then stored.
        let matrix = log.steps["making the embedding matrix"]
        #expect(matrix?.map(\.done) == [0, prepared.prepared.statistics.vocabulary])
        #expect(matrix?.first?.total == prepared.prepared.statistics.vocabulary && log.stepsCountUp && log.storedLast)
    }
}
