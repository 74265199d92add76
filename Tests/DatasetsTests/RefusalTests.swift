import CacheBuild
import Foundation
import Preprocessing
import TestSupport
import Testing
import VectorCache

@testable import Datasets

/// Inputs that would replace a good dataset with an empty or useless one: refused, and the old one kept. Each of
/// these exited 0 and replaced the dataset before the fix.
@Suite struct RefusalTests {
    func isRefusal(_ error: any Error, _ dataset: DatasetName) -> Bool {
        guard case .unusableInput(let name, let reason)? = error as? DatasetError else { return false }
        return name == dataset && "\(error)".contains("nothing was changed") && !reason.isEmpty
    }

    @Test func posRefusesAnEmptyTrainingOrTestFile() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["the", "cat"]))
        let good = try textFile(directory, "train.txt", "the DT\ncat NN\nsat VBD\n")
        let test = try textFile(directory, "test.txt", "the DT\n")
        let first = try POSDataset.prepare(
            train: good, test: test, into: writer, options: POSOptions(), oov: OOVSource(random: testOOV)
        )
        .prepared.manifest
        for (train, test) in [("", "the DT\n"), ("\n\n", "the DT\n"), ("the DT\ncat NN\nsat VBD\non IN\n", "")] {
            #expect {
                try POSDataset.prepare(
                    train: try textFile(directory, "t.txt", train), test: try textFile(directory, "u.txt", test),
                    into: writer, options: POSOptions(), oov: OOVSource(random: testOOV))
            } throws: { isRefusal($0, .pos) }
        }
        #expect(try DatasetStore.manifest(.pos, in: writer.cache) == first)
        #expect(try POSDataset(cache: writer.cache).splits == ["train": 1, "test": 0])
    }

    /// A vocabulary whose matrix would be larger than the server can send was made in memory whatever its size
    /// (1,101 words of a cache of 1,048,576 values are 4.4 GB; a larger one ran out of memory).
    @Test func posRefusesAnEmbeddingMatrixLargerThanAnAnswer() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["the"], dimension: 1 << 20))
        let oov = OOVSource(random: OOVVectors(dimension: 1 << 20, seed: 1, range: 0.25))
        let test = try textFile(directory, "test.txt", "the DT\n")
        let first = try POSDataset.prepare(
            train: try textFile(directory, "train.txt", "the DT\ncat NN\nsat VBD\n"), test: test, into: writer,
            options: POSOptions(), oov: oov
        ).prepared.manifest
        // 1,100 words of letters (digits would become `#`, all one word).
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let words = (0..<1100).map { "\(letters[$0 / 676])\(letters[$0 / 26 % 26])\(letters[$0 % 26]) NN\n" }.joined()
        #expect {
            try POSDataset.prepare(
                train: try textFile(directory, "large.txt", words), test: test, into: writer, options: POSOptions(),
                oov: oov)
        } throws: {
            isRefusal($0, .pos)
                && "\($0)".hasPrefix(
                    "the embedding matrix of 1101 words x 1048576 values would be 4404.0 MB, more than one answer "
                        + "of the server can carry (4096.0 MB); expected a smaller vocabulary or a cache of shorter "
                        + "vectors"
                )
        }
        #expect(try DatasetStore.manifest(.pos, in: writer.cache) == first)
    }

    @Test func parserRefusesATrainingSetWithoutAProjectiveSentence() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["a"]))
        // Crossing arcs: 1 → 3 and 2 → 4 (non-projective).
        let crossing = """
            1\ta\t_\tX\tX\t_\t3\tdep\t_\t_
            2\tb\t_\tX\tX\t_\t4\tdep\t_\t_
            3\tc\t_\tX\tX\t_\t0\troot\t_\t_
            4\td\t_\tX\tX\t_\t3\tdep\t_\t_

            """
        let simple = "1\ta\t_\tX\tX\t_\t0\troot\t_\t_\n\n"
        let first = try ParserDataset.prepare(
            train: try textFile(directory, "train.conllu", simple),
            test: try textFile(directory, "test.conllu", simple),
            into: writer, options: ParserOptions(), oov: OOVSource(random: testOOV)
        ).manifest
        #expect {
            try ParserDataset.prepare(
                train: try textFile(directory, "bad.conllu", crossing),
                test: try textFile(directory, "test.conllu", simple),
                into: writer, options: ParserOptions(), oov: OOVSource(random: testOOV))
        } throws: { isRefusal($0, .parser) && "\($0)".contains("no projective sentence") }
        #expect {
            try ParserDataset.prepare(
                train: try textFile(directory, "empty.conllu", "\n"),
                test: try textFile(directory, "test.conllu", simple),
                into: writer, options: ParserOptions(), oov: OOVSource(random: testOOV))
        } throws: { isRefusal($0, .parser) }
        #expect(try DatasetStore.manifest(.parser, in: writer.cache) == first)
    }

    @Test func sentimentRefusesNoReviewsAndOneClass() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["good"]))
        try "pos\tgood\nneg\tbad\n".write(toFile: directory.file("train.tsv"), atomically: true, encoding: .utf8)
        let first = try SentimentDataset.prepare(
            train: directory.file("train.tsv"), test: directory.file("train.tsv"), into: writer,
            options: SentimentOptions(), oov: OOVSource(random: testOOV)
        ).manifest
        try "pos\tgood\npos\tgreat\n".write(toFile: directory.file("positive.tsv"), atomically: true, encoding: .utf8)
        try "".write(toFile: directory.file("empty.tsv"), atomically: true, encoding: .utf8)
        #expect {
            try SentimentDataset.prepare(
                train: directory.file("positive.tsv"), test: directory.file("train.tsv"), into: writer,
                options: SentimentOptions(), oov: OOVSource(random: testOOV))
        } throws: { isRefusal($0, .sentiment) && "\($0)".contains("every training review is positive") }
        #expect {
            try SentimentDataset.prepare(
                train: directory.file("train.tsv"), test: directory.file("empty.tsv"), into: writer,
                options: SentimentOptions(), oov: OOVSource(random: testOOV))
        } throws: { isRefusal($0, .sentiment) }
        #expect(try DatasetStore.manifest(.sentiment, in: writer.cache) == first)
    }

    @Test func translationRefusesZeroPairs() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["a"]))
        try "hello\tbonjour\n".write(toFile: directory.file("pairs.tsv"), atomically: true, encoding: .utf8)
        let first = try TranslationDataset.prepare(
            train: .tsv(directory.file("pairs.tsv")), valid: nil, into: writer, options: TranslationOptions()
        ).manifest
        try "\n\n".write(toFile: directory.file("none.tsv"), atomically: true, encoding: .utf8)
        #expect {
            try TranslationDataset.prepare(
                train: .tsv(directory.file("none.tsv")), valid: nil, into: writer, options: TranslationOptions())
        } throws: { isRefusal($0, .translation) }
        #expect {
            try TranslationDataset.prepare(
                train: .tsv(directory.file("pairs.tsv")), valid: .tsv(directory.file("none.tsv")), into: writer,
                options: TranslationOptions())
        } throws: { isRefusal($0, .translation) }
        #expect(try DatasetStore.manifest(.translation, in: writer.cache) == first)
    }
}
