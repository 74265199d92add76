import CacheBuild
import Datasets
import Foundation
import LevelDB
import Preprocessing
import Support
import TestSupport
import Testing
import VectorCache

@Suite struct POSDatasetTests {
    static let train = "New NNP\nYork NNP\nis VBZ\nbig JJ\n\nIt PRP\ncost VBD\n12 CD\nwell-known JJ\nfirst-class JJ\n"
    static let test = "big JJ\nzebra NN\n"
    static let modelWords = ["New_York", "is", "big", "##", "class", "It"]

    func prepare(_ directory: TemporaryDirectory, options: POSOptions = POSOptions(), train: String = Self.train) throws
        -> (CacheWriter, POSReport)
    {
        let writer = try writableCache(try buildCache(directory, words: Self.modelWords))
        let report = try POSDataset.prepare(
            train: try textFile(directory, "train.txt", train), test: try textFile(directory, "test.txt", Self.test),
            into: writer, options: options, oov: OOVSource(random: testOOV))
        return (writer, report)
    }

    @Test func processedStreamVocabularyAndTags() throws {
        let directory = TemporaryDirectory()
        let (_, report) = try prepare(directory)
        #expect(
            POSDataset.processedText(report.processed["train"]!) == """
                New_York NNP
                is VBZ
                big JJ
                It PRP
                cost VBD
                ## CD
                well JJ
                known JJ
                first JJ
                class JJ

                """)
        #expect(report.prepared.manifest.vocabularies == ["vocab": 11, "tags": 7])
        #expect(report.prepared.manifest.splits == ["train": 8, "test": 0])
        #expect(report.prepared.statistics.pretrainedWords == 6)
        #expect(report.prepared.statistics.oovWords == 5)  // cost, well, known, first, zebra
        #expect(
            report.prepared.statistics.train.tokens == 10 && report.prepared.statistics.train.normalization.merged == 1)
    }

    @Test func windowsConcatenateVectorsAndTakeTheCentreOrLastTag() throws {
        let directory = TemporaryDirectory()
        let (writer, _) = try prepare(directory)
        let dataset = try POSDataset(cache: writer.cache)
        let arrays = try dataset.batch(split: "train", indices: [0, 5])
        #expect(arrays.map(\.name) == ["x", "y"])
        #expect(arrays[0].shape == [2, 18] && arrays[1].shape == [2] && arrays[1].type == .int64)
        let x = values(arrays[0], as: Float.self)
        // Window 0 is New_York is big: the cache's vectors of words 0, 1, 2 in a row.
        for (slot, word) in ["New_York", "is", "big"].enumerated() {
            #expect(Array(x[(slot * 6)..<(slot * 6 + 6)]) == (try writer.cache.vector(for: word)))
        }
        // Window 5 is "## well known": the centre tag is JJ (well).
        let y = values(arrays[1], as: Int64.self)
        #expect(dataset.tags[Int(y[0])] == "VBZ" && dataset.tags[Int(y[1])] == "JJ")
        #expect(try dataset.describe(split: "train", index: 0) == "New_York is big  ->  VBZ")

        var options = POSOptions()
        options.label = .last
        options.window = 2
        let other = TemporaryDirectory()
        let (lastCache, _) = try prepare(other, options: options)
        let last = try POSDataset(cache: lastCache.cache)
        #expect(last.splits["train"] == 9)
        #expect(try last.describe(split: "train", index: 0) == "New_York is  ->  VBZ")
        #expect(throws: DatasetError.self) { try last.batch(split: "dev", indices: [0]) }
    }

    @Test func outOfVocabularyWordsGetStableMarkedVectorsInTheCache() throws {
        let directory = TemporaryDirectory()
        let (writer, _) = try prepare(directory)
        let zebra = Array("zebra".utf8)
        #expect(try writer.cache.isOutOfVocabulary(zebra))
        #expect(try !writer.cache.isPretrained(zebra) && writer.cache.isPretrained(Array("big".utf8)))
        #expect(try writer.cache.withVectorBytes(for: zebra) { $0.map(Array.init) } == testOOV.vectorBytes(for: zebra))
        #expect(writer.cache.manifest.oovCount == 5 && writer.cache.manifest.wordCount == 6)
        let vector = try #require(try writer.cache.vector(for: "zebra"))
        #expect(vector.allSatisfy { $0 >= -0.25 && $0 < 0.25 } && Set(vector).count == 6)
        #expect(
            testOOV.vectorBytes(for: zebra) != OOVVectors(dimension: 6, seed: 2, range: 0.25).vectorBytes(for: zebra))
        #expect(try writer.cache.verify().isHealthy)
    }

    @Test func preparingAgainDoesNothingAndChangedInputsReplaceTheData() throws {
        let directory = TemporaryDirectory()
        let (writer, first) = try prepare(directory)
        #expect(!first.prepared.alreadyPrepared)
        let again = try POSDataset.prepare(
            train: try TextFile(path: directory.file("train.txt")),
            test: try TextFile(path: directory.file("test.txt")),
            into: writer, options: POSOptions(), oov: OOVSource(random: testOOV))
        #expect(again.prepared.alreadyPrepared && again.prepared.manifest == first.prepared.manifest)
        #expect(again.prepared.statistics == first.prepared.statistics)
        var otherOptions = POSOptions()
        otherOptions.keepSentences = true
        let otherOptionsResult = try POSDataset.prepare(
            train: try TextFile(path: directory.file("train.txt")),
            test: try TextFile(path: directory.file("test.txt")),
            into: writer, options: otherOptions, oov: OOVSource(random: testOOV))
        #expect(!otherOptionsResult.prepared.alreadyPrepared)
        let changed = try POSDataset.prepare(
            train: try textFile(directory, "train.txt", "big JJ\nis VBZ\nred JJ\n"),
            test: try TextFile(path: directory.file("test.txt")),
            into: writer, options: POSOptions(), oov: OOVSource(random: testOOV))
        #expect(!changed.prepared.alreadyPrepared)
        #expect(changed.prepared.manifest.inputs[0] != first.prepared.manifest.inputs[0])
        let dataset = try POSDataset(cache: writer.cache)
        #expect(dataset.vocabulary == ["big", "is", "red", "zebra"])
        // No chunk of the old data is left behind.
        let datasetKeys = try writer.cache.metadata(.dataset).keys(startingWith: Array("pos".utf8) + [0])
        #expect(datasetKeys.count == 1 + 5 + 2)  // the manifest, 5 one-chunk arrays, 2 string lists
    }

    @Test func buildAndPrepareReplaceThePreviousCacheTogetherOrNotAtAll() throws {
        struct PrepareFailed: Error {}
        let directory = TemporaryDirectory()
        let train = try textFile(directory, "train.txt", Self.train)
        let test = try textFile(directory, "test.txt", Self.test)
        let path = try buildCache(directory, words: Self.modelWords)
        // A writer's lock goes with it: each is used in a scope of its own.
        let embeddings = try {
            let previous = try writableCache(path)
            _ = try POSDataset.prepare(
                train: train, test: test, into: previous, options: POSOptions(), oov: OOVSource(random: testOOV))
            return try POSDataset(cache: previous.cache).embeddings
        }()
        try buildCache(directory, words: Self.modelWords.reversed(), name: "other")
        let request = BuildRequest(vectorsPath: directory.file("other.bin"), cachePath: path)
        // The prepare fails after the build: the previous cache stays, dataset and all (the build was swapped in
        // before the prepare, so that a kill in the prepare lost the dataset and the previous vectors).
        #expect(throws: PrepareFailed.self) {
            _ = try POSDataset.buildAndPrepare(
                train: train, test: test, build: request, options: POSOptions(), oov: { _ in throw PrepareFailed() })
        }
        try {
            let unchanged = try writableCache(path)
            #expect(unchanged.cache.manifest.wordCount == Self.modelWords.count)
            #expect(try POSDataset(cache: unchanged.cache).embeddings == embeddings)
        }()
        #expect(!directory.contents.contains { $0.hasPrefix(".cache.") })
        // Done whole, both replace it together.
        let (_, report) = try POSDataset.buildAndPrepare(
            train: train, test: test, build: request, options: POSOptions(), oov: { _ in OOVSource(random: testOOV) })
        #expect(!report.prepared.alreadyPrepared)
        let replaced = try writableCache(path)
        #expect(try POSDataset(cache: replaced.cache).embeddings != embeddings)
    }

    @Test func aCacheOfTheCandidateKeysPreparesExactlyAsTheFullModel() throws {
        let directory = TemporaryDirectory()
        // The full model: many words the data never asks about, and the ones it does.
        let full = Self.modelWords + (0..<300).map { "filler\($0)" } + ["cost", "first_class", "York_is"]
        let train = try textFile(directory, "train.txt", Self.train)
        let test = try textFile(directory, "test.txt", Self.test)
        let rows = try CoNLL2000Reader.read(train).rows + CoNLL2000Reader.read(test).rows
        let candidates = BookNormalizer.candidateKeys(rows)
        let fullCache = try writableCache(try buildCache(directory, words: full, name: "full"))
        let candidateWords = full.filter { candidates.contains(CodePoints($0)) }
        // Build the small cache from the same file keeping only the candidate keys, as `prepare pos --vectors` does.
        var request = BuildRequest(vectorsPath: directory.file("full.bin"), cachePath: directory.file("small"))
        request.onlyWords = (Set(candidates.map { Array($0.string.utf8) }), "candidates")
        _ = try CacheBuilder(request).run()
        let small = try writableCache(directory.file("small"))
        #expect(small.cache.manifest.wordCount == candidateWords.count)
        let a = try POSDataset.prepare(
            train: train, test: test, into: fullCache, options: POSOptions(), oov: OOVSource(random: testOOV))
        let b = try POSDataset.prepare(
            train: train, test: test, into: small, options: POSOptions(), oov: OOVSource(random: testOOV))
        #expect(a.processed["train"] == b.processed["train"] && a.processed["test"] == b.processed["test"])
        let datasetA = try POSDataset(cache: fullCache.cache)
        let datasetB = try POSDataset(cache: small.cache)
        #expect(datasetA.vocabulary == datasetB.vocabulary && datasetA.embeddings == datasetB.embeddings)
    }
}

@Suite struct ParserDatasetTests {
    static let treebank = """
        1\tShe\tshe\tPRON\tPRP\t_\t2\tnsubj\t_\t_
        2\tate\teat\tVERB\tVBD\t_\t0\troot\t_\t_
        3\t12\t12\tNUM\tCD\t_\t4\tnummod\t_\t_
        4\tfish\tfish\tNOUN\tNNS\t_\t2\tobj\t_\t_

        1\tA\ta\tDET\tDT\t_\t3\tdet\t_\t_
        2\tB\tb\tNOUN\tNN\t_\t4\tnsubj\t_\t_
        3\tC\tc\tNOUN\tNN\t_\t0\troot\t_\t_
        4\tD\td\tVERB\tVB\t_\t3\tobj\t_\t_

        """

    @Test func configurationsFeaturesAndTransitions() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["She", "ate", "##", "fish", "dog"]))
        let train = try textFile(directory, "train.conllu", Self.treebank)
        let test = try textFile(
            directory, "test.conllu",
            "1\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n\n1\tcat\tcat\tNOUN\tNN\t_\t0\troot\t_\t_\n")
        let report = try ParserDataset.prepare(
            train: train, test: test, into: writer, options: ParserOptions(), oov: OOVSource(random: testOOV))
        let statistics = report.statistics
        #expect(statistics.train.nonProjective == 1)  // A <- C crosses B <- D
        #expect(report.manifest.splits == ["train": 8, "test": 4])
        let dataset = try ParserDataset(cache: writer.cache)
        // Words: specials, the training words (12 normalized to ##), then "dog", which the model knows; "cat" is <UNK>.
        #expect(dataset.words == ["<NULL>", "<ROOT>", "<UNK>", "She", "ate", "##", "fish", "A", "B", "C", "D", "dog"])
        // Labels nsubj root nummod obj det and the reserved unknown label: shift, 6 left-arcs, 6 right-arcs.
        #expect(dataset.transitions.first == "SHIFT" && dataset.transitions.count == 1 + 2 * 6)
        #expect(dataset.transitions[6] == "LEFT(<UNK>)" && dataset.transitions[12] == "RIGHT(<UNK>)")
        let arrays = try dataset.batch(split: "test", indices: [2])
        let x = values(arrays[0], as: Int32.self)
        #expect(arrays[0].shape == [1, 48] && arrays[0].type == .int32)
        // Test sentence 2, first configuration: stack [ROOT], buffer [cat] -> cat is <UNK>.
        #expect(x[0] == ParserDataset.root && x[3] == ParserDataset.unknown)
        #expect(try dataset.describe(split: "test", index: 2).hasSuffix("->  SHIFT"))
        // Embeddings: the <NULL> row is zero, others come from the cache or the OOV generator.
        #expect(Array(dataset.embeddings[0..<6]) == [Float](repeating: 0, count: 6))
        #expect(Array(dataset.embeddings[(3 * 6)..<(4 * 6)]) == (try writer.cache.vector(for: "She")))
    }

    @Test func aTestLabelUnseenInTrainingIsKeptAsTheUnknownLabel() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["dog"]))
        let train = try textFile(
            directory, "train.conllu", "1\tbig\t_\tADJ\tJJ\t_\t2\tamod\t_\t_\n2\tdog\t_\tNOUN\tNN\t_\t0\troot\t_\t_\n\n"
        )
        // "compound" never occurs in training: before, this sentence was dropped from the test split.
        let test = try textFile(
            directory, "test.conllu",
            "1\tdog\t_\tNOUN\tNN\t_\t2\tcompound\t_\t_\n2\tfood\t_\tNOUN\tNN\t_\t0\troot\t_\t_\n\n")
        let report = try ParserDataset.prepare(
            train: train, test: test, into: writer, options: ParserOptions(), oov: OOVSource(random: testOOV))
        #expect(report.manifest.splits["test"] == 4)
        #expect(report.statistics.test.unknownLabelSentences == 1 && report.statistics.test.unknownLabelArcs == 1)
        let dataset = try ParserDataset(cache: writer.cache)
        // Labels amod root, then the unknown: SHIFT, LEFT(amod) LEFT(root) LEFT(<UNK>), RIGHT(amod) RIGHT(root) RIGHT(<UNK>).
        #expect(
            dataset.transitions == [
                "SHIFT", "LEFT(amod)", "LEFT(root)", "LEFT(<UNK>)", "RIGHT(amod)", "RIGHT(root)", "RIGHT(<UNK>)",
            ])
        let arrays = try dataset.batch(split: "test", indices: [0, 1, 2, 3])
        // Oracle: SHIFT, SHIFT, LEFT(compound -> <UNK>), RIGHT(root).
        #expect(values(arrays[1], as: Int64.self) == [0, 0, 3, 5])
        // After the left arc, the label feature of the leftmost child of s1 (food) is <UNK> (id 2).
        let fourth = values(arrays[0], as: Int32.self)[(3 * 48)..<(4 * 48)]
        #expect(fourth[fourth.startIndex + 36] == ParserDataset.unknown)
    }

    @Test(.enabled(if: SharedData.isAvailable, "../shared/data is absent: EWT not checked"))
    func theEWTTreebank() throws {
        let directory = TemporaryDirectory()
        let writer = try writableCache(try buildCache(directory, words: ["the", "of", "and"]))
        let report = try ParserDataset.prepare(
            train: try TextFile(path: SharedData.path("ud-english-ewt/en_ewt-ud-dev.conllu")),
            test: try TextFile(path: SharedData.path("ud-english-ewt/en_ewt-ud-test.conllu")),
            into: writer, options: ParserOptions(), oov: OOVSource(random: testOOV))
        let statistics = report.statistics
        #expect(statistics.train.sentences == 2001)
        #expect(statistics.train.nonProjective > 0)
        // Every projective test sentence is kept, labels unseen in training included: 2n configurations each.
        let test = try CoNLLUReader.read(TextFile(path: SharedData.path("ud-english-ewt/en_ewt-ud-test.conllu")))
        let projectiveTokens = test.sentences.filter { sentence in
            ArcStandardOracle.transitions(heads: [-1] + sentence.map(\.head), labels: [-1] + sentence.map { _ in 0 })
                != nil
        }.reduce(0) { $0 + $1.count }
        #expect(report.manifest.splits["test"] == 2 * projectiveTokens)
        #expect(statistics.test.unknownLabelSentences > 0)
        #expect(report.manifest.arrays["train.features"]?.shape == [report.manifest.splits["train"]!, 48])
    }
}
