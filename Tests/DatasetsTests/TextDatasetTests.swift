import CacheBuild
import Foundation
import Preprocessing
import Support
import TestSupport
import Testing
import VectorCache

@testable import Datasets

@Suite struct SentimentDatasetTests {
    @Test func vocabularyPaddingTruncationAndUnknowns() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["good", "film"]))
        try "pos\tgood good film\nneg\tbad film , bad bad\n".write(
            toFile: directory.file("train.tsv"), atomically: true, encoding: .utf8)
        try "pos\tgood unseen\n".write(toFile: directory.file("test.tsv"), atomically: true, encoding: .utf8)
        var options = SentimentOptions()
        options.maxLength = 4
        options.maxVocabulary = 5
        let prepared = try SentimentDataset.prepare(
            train: directory.file("train.tsv"), test: directory.file("test.tsv"), into: writer, options: options,
            oov: OOVSource(random: testOOV))
        #expect(
            !prepared.alreadyPrepared && prepared.statistics.train.truncated == 1
                && prepared.statistics.test.unknownTokens == 1)
        let dataset = try SentimentDataset(cache: writer.cache)
        // Specials, then bad (3), film and good (2 each, ties by string order); "," (1) does not fit in 5.
        #expect(dataset.vocabulary == ["<unk>", "<pad>", "bad", "film", "good"])
        let train = try dataset.batch(split: "train", indices: [0, 1])
        #expect(train.map(\.name) == ["x", "y", "lengths"])
        // Padded; truncated to 4.
        #expect(train[0].type == .int32 && values(train[0], as: Int32.self) == [4, 4, 3, 1, 2, 3, 0, 2])
        #expect(values(train[1], as: Int64.self) == [1, 0])
        #expect(values(train[2], as: Int64.self) == [3, 4])
        let test = try dataset.batch(split: "test", indices: [0])
        #expect(values(test[0], as: Int32.self) == [4, 0, 1, 1])
        let again = try SentimentDataset.prepare(
            train: directory.file("train.tsv"), test: directory.file("test.tsv"), into: writer, options: options,
            oov: OOVSource(random: testOOV))
        #expect(again.alreadyPrepared)
    }
    /// Every review is padded to `maxLength`: a length the machine cannot hold the padded rows of is refused before
    /// they are made, naming the bytes (a trillion tokens crashed allocating them).
    @Test func paddingThatCannotFitInMemoryIsRefused() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["good"]))
        let memory = ProcessInfo.processInfo.physicalMemory
        let reviews = Int(memory / 8 / 1_000_000) + 1
        try String(repeating: "pos\tgood\nneg\tbad\n", count: (reviews + 1) / 2).write(
            toFile: directory.file("reviews.tsv"), atomically: true, encoding: .utf8)
        var options = SentimentOptions()
        options.maxLength = 1_000_000
        let error = #expect(throws: DatasetError.self) {
            try SentimentDataset.prepare(
                train: directory.file("reviews.tsv"), test: directory.file("reviews.tsv"), into: writer,
                options: options, oov: OOVSource(random: testOOV))
        }
        guard case .unusableInput(.sentiment, let reason)? = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(reason.contains("more than half this machine's \(memory) bytes of memory; give a smaller --max-length"))
        options.maxLength = 2_000_000
        #expect(throws: DatasetError.self) {
            try SentimentDataset.prepare(
                train: directory.file("reviews.tsv"), test: directory.file("reviews.tsv"), into: writer,
                options: options, oov: OOVSource(random: testOOV))
        }
        #expect(try DatasetStore.manifest(.sentiment, in: writer.cache) == nil)
    }
}

@Suite struct TranslationDatasetTests {
    let buckets = [LengthBucket(source: 5, target: 10), LengthBucket(source: 10, target: 15)]

    @Test func bucketsTakeTheFirstFitOrTheLastCut() {
        #expect(TranslationDataset.bucket(sourceLength: 4, targetLength: 8, buckets: buckets) == (0, false))
        // 5 < 5 fails.
        #expect(TranslationDataset.bucket(sourceLength: 5, targetLength: 3, buckets: buckets) == (1, false))
        // 9 + 1 < 10 fails.
        #expect(TranslationDataset.bucket(sourceLength: 2, targetLength: 9, buckets: buckets) == (1, false))
        #expect(TranslationDataset.bucket(sourceLength: 30, targetLength: 3, buckets: buckets) == (1, true))
    }

    @Test func sourceIsPaddedThenReversedAndTargetFramed() {
        let (source, target) = TranslationDataset.rows(
            source: [10, 11, 12], target: [20, 21], bucket: LengthBucket(source: 5, target: 10))
        #expect(source == [1, 1, 12, 11, 10])
        #expect(target == [2, 20, 21, 3, 1, 1, 1, 1, 1, 1])
        let (cutSource, cutTarget) = TranslationDataset.rows(
            source: Array(10..<20), target: Array(20..<40), bucket: LengthBucket(source: 5, target: 10))
        #expect(cutSource == [14, 13, 12, 11, 10])
        #expect(cutTarget == [2] + Array(20..<28) + [3])
    }

    @Test func anEpochUsesEveryPairOnceOneBucketPerBatch() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["a"]))
        var lines = ""
        for index in 0..<40 {
            let length = index % 3 == 0 ? 12 : (index % 3 == 1 ? 6 : 2)
            lines +=
                (0..<length).map { "s\($0)" }.joined(separator: " ") + "\t"
                + (0..<length).map { "t\($0)" }.joined(separator: " ") + "\n"
        }
        try lines.write(toFile: directory.file("pairs.tsv"), atomically: true, encoding: .utf8)
        var options = TranslationOptions()
        options.pretokenized = true
        let result = try TranslationDataset.prepare(
            train: .tsv(directory.file("pairs.tsv")), valid: nil, into: writer, options: options)
        #expect(result.statistics.train.pairs == 40 && result.statistics.train.perBucket == [13, 13, 14, 0])
        let dataset = try TranslationDataset(cache: writer.cache)
        #expect(try dataset.bucketCounts("train") == [13, 13, 14, 0])  // lengths 2, 6, 12
        let epochPlan = try dataset.epoch(split: "train", batchSize: 4, seed: 9, epoch: 0, shuffle: true)
        let plan = (0..<epochPlan.batchCount).map(epochPlan.batch)
        #expect(plan.flatMap { $0 }.sorted() == Array(0..<40))
        for batch in plan {
            let arrays = try dataset.batch(split: "train", indices: batch)
            let bucket = Int(values(arrays[2], as: Int64.self)[0])
            #expect(arrays[0].shape == [batch.count, options.buckets[bucket].source])
            #expect(arrays[1].shape == [batch.count, options.buckets[bucket].target])
        }
        let same = try dataset.epoch(split: "train", batchSize: 4, seed: 9, epoch: 0, shuffle: true)
        let next = try dataset.epoch(split: "train", batchSize: 4, seed: 9, epoch: 1, shuffle: true)
        #expect(plan.map(Array.init) == (0..<same.batchCount).map { Array(same.batch($0)) })
        #expect(plan.map(Array.init) != (0..<next.batchCount).map { Array(next.batch($0)) })
        #expect(throws: DatasetError.self) { try dataset.batch(split: "train", indices: [0, 39]) }
        #expect(try dataset.describe(split: "train", index: 0).contains("=>  <go> t0"))
    }

}
