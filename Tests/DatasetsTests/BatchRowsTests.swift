import CacheBuild
import Preprocessing
import TestSupport
import Testing
import VectorCache

@testable import Datasets

/// The promise the server's `X-Examples` and the client's checks rest on: in every dataset, every array of a batch
/// but a scalar has one row per example, plain and compact, and an epoch's batches hold each example of the split once.
@Suite struct BatchRowsTests {
    @Test(arguments: DatasetName.allCases)
    func everyArrayButAScalarHasOneRowPerExample(_ name: DatasetName) throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["the", "film", "She", "ate", "a"]))
        try prepare(name, in: directory, into: writer)
        let source = try DatasetLoader.load(name, from: writer.cache)
        var scalars = 0
        for (split, count) in source.splits where count > 0 {
            for batchSize in [1, 2, 3, 7] {
                let plan = try source.epoch(split: split, batchSize: batchSize, seed: 3, epoch: 1, shuffle: true)
                var rows = 0
                for position in 0..<plan.batchCount {
                    let indices = plan.batch(position)
                    #expect((1...batchSize).contains(indices.count))
                    for compact in [false, true] {
                        let layouts = try source.layout(split: split, indices: indices, compact: compact)
                        #expect(!layouts.isEmpty)
                        for layout in layouts {
                            if let first = layout.shape.first {
                                #expect(first == indices.count, "\(name) \(split) \(layout.name) \(layout.shape)")
                            } else {
                                scalars += 1
                            }
                        }
                    }
                    rows += indices.count
                }
                #expect(rows == count, "\(name) \(split) at batch size \(batchSize)")
            }
        }
        // Translation's bucket is the one scalar: the rule above must not have passed by finding none to skip.
        #expect((scalars > 0) == (name == .translation))
    }

    private func prepare(_ name: DatasetName, in directory: TemporaryDirectory, into writer: CacheWriter) throws {
        let oov = OOVSource(random: testOOV)
        switch name {
        case .pos:
            let rows = "She PRP\nate VBD\nthe DT\nfilm NN\n. .\n\nA DT\nfilm NN\nran VBD\n"
            _ = try POSDataset.prepare(
                train: try textFile(directory, "train.txt", String(repeating: rows + "\n", count: 3)),
                test: try textFile(directory, "test.txt", rows), into: writer, options: POSOptions(), oov: oov)
        case .parser:
            let treebank = ParserDatasetTests.treebank + "\n" + ParserDatasetTests.treebank
            _ = try ParserDataset.prepare(
                train: try textFile(directory, "train.conllu", treebank),
                test: try textFile(directory, "test.conllu", ParserDatasetTests.treebank), into: writer,
                options: ParserOptions(), oov: oov)
        case .sentiment:
            let reviews = "pos\tthe film\nneg\ta dull film , dull\npos\tgood\nneg\tbad bad bad bad bad bad\n"
            _ = try textFile(directory, "reviews.tsv", String(repeating: reviews, count: 3))
            _ = try SentimentDataset.prepare(
                train: directory.file("reviews.tsv"), test: directory.file("reviews.tsv"), into: writer,
                options: SentimentOptions(), oov: oov)
        case .translation:
            let pairs = (0..<23).map { index in
                let length = [1, 4, 9, 14][index % 4]
                return (0..<length).map { "s\($0)" }.joined(separator: " ") + "\t"
                    + (0..<length).map { "t\($0)" }.joined(separator: " ") + "\n"
            }
            _ = try textFile(directory, "pairs.tsv", pairs.joined())
            var options = TranslationOptions()
            options.pretokenized = true
            _ = try TranslationDataset.prepare(
                train: .tsv(directory.file("pairs.tsv")), valid: .tsv(directory.file("pairs.tsv")), into: writer,
                options: options)
        }
    }
}
