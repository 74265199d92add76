import CacheBuild
import Foundation
import LevelDB
import SearchIndex
import Similarity
import Support
import TestSupport
import Testing
import VectorCache
import Word2Vec

@Suite struct SearchIndexTests {
    @Test func rowsFollowTheFileOrderWithLaterDuplicatesListed() throws {
        let directory = TemporaryDirectory()
        var vectors = clusteredVectors(count: 50, dimension: 8)
        vectors.insert(("w3", [Float](repeating: 1, count: 8)), at: 20)  // a later occurrence of w3
        vectors.insert(("zero", [Float](repeating: 0, count: 8)), at: 5)
        let search = try searchableCache(vectors, in: directory)
        let index = search.index
        #expect(index.rowCount == 52)
        #expect(index.duplicateRows == [21])  // w3 again: 20 words, then "zero" at 5 shifted it to 21
        #expect((0..<52).map { String(decoding: index.word($0), as: UTF8.self) } == vectors.map(\.0))
        #expect(search.wordCount == 51)
        #expect(search.row(of: Array("w3".utf8)) == 3)
        #expect(search.row(of: Array("w49".utf8)) == 51)
        #expect(search.row(of: Array("nope".utf8)) == nil)
        // restrict_vocab counts words: the first 25 words end after row 25, the duplicate not counted.
        #expect(search.clipEnd(restrictVocab: 25) == 26)
        #expect(search.clipEnd(restrictVocab: 10) == 10)
        #expect(search.clipEnd(restrictVocab: nil) == 52)
        #expect(index.scales[5] == 0 && index.norms[5] == 0)
    }

    @Test func codesBoundTheirErrorAndNormsArePairwiseFloat32Sums() throws {
        let directory = TemporaryDirectory()
        let vectors = clusteredVectors(count: 300, dimension: 300)
        let index = try searchableCache(vectors, in: directory).index
        for (row, (_, vector)) in vectors.enumerated() {
            let norm = index.norms[row]
            // Within float32 rounding of the exact norm (the interop tests check numpy's bits).
            let exact = vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(Double(norm) - exact) <= exact * 1e-6)
            let scale = index.scales[row]
            #expect(scale > 0)
            var largestCode: Int8 = 0
            for i in 0..<300 {
                let code = index.codes[row * 300 + i]
                largestCode = max(largestCode, abs(code))
                #expect(abs(vector[i] / norm - scale * Float(code)) <= scale * 0.5001)
            }
            #expect(largestCode == 127)
        }
    }

    @Test func limitAndOnlyWordsKeepTheirRowsInFileOrder() throws {
        let directory = TemporaryDirectory()
        let vectors = clusteredVectors(count: 30, dimension: 4)
        let file = directory.file("v.bin")
        let writer = try Word2VecWriter(path: file, count: 30, dimension: 4, layout: .binary(newlineAfterVector: true))
        for (word, vector) in vectors { try writer.append(word: word, vector: vector) }
        try writer.close()
        try "w25\nw3\nw17\nmissing\n".write(toFile: directory.file("only.txt"), atomically: true, encoding: .utf8)
        var request = BuildRequest(vectorsPath: file, cachePath: directory.file("only"))
        request.onlyWordsPath = directory.file("only.txt")
        _ = try CacheBuilder(request).run()
        let only = try VectorCache(path: directory.file("only")).loadSearchIndex()
        #expect((0..<only.rowCount).map { String(decoding: only.word($0), as: UTF8.self) } == ["w3", "w17", "w25"])
        request = BuildRequest(vectorsPath: file, cachePath: directory.file("limit"))
        request.limit = 7
        _ = try CacheBuilder(request).run()
        let limited = try VectorCache(path: directory.file("limit")).loadSearchIndex()
        #expect(
            (0..<limited.rowCount).map { String(decoding: limited.word($0), as: UTF8.self) } == (0..<7).map { "w\($0)" }
        )
    }

    @Test func aCacheWithoutTheIndexSaysHowToGetOne() throws {
        let directory = TemporaryDirectory()
        let file = directory.file("v.bin")
        let writer = try Word2VecWriter(path: file, count: 3, dimension: 2, layout: .binary(newlineAfterVector: false))
        for word in ["a", "b", "c"] { try writer.append(word: word, vector: [1, 2]) }
        try writer.close()
        var request = BuildRequest(vectorsPath: file, cachePath: directory.file("plain"))
        request.settings.searchIndex = false
        _ = try CacheBuilder(request).run()
        let cache = try VectorCache(path: directory.file("plain"))
        #expect(try cache.hasSearchIndex == false)
        #expect(try cache.vector(for: "b") == [1, 2])
        let error = try #require(throws: CacheError.self) { try SimilaritySearch(cache: cache) }
        #expect(error.kind == .missing)
        #expect(error.message.contains("no search index") && error.message.contains("w2vcache build"))
    }

    @Test func aDamagedIndexIsReportedNeverUsed() throws {
        let directory = TemporaryDirectory()
        _ = try searchableCache(clusteredVectors(count: 20, dimension: 4), in: directory)
        // A chunk whose norms are cut short, as a tool writing into the cache could leave it.
        let database = try Database(path: directory.file("cache"))
        let key = [0x00] + Array("search".utf8) + [0x00] + Array("r".utf8) + [0, 0, 0, 0, UInt8(ascii: "n")]
        let norms = try #require(try database.get(key))
        try database.put(key, Array(norms.dropLast(4)))
        try database.close()
        let error = try #require(throws: CacheError.self) {
            try VectorCache(path: directory.file("cache")).loadSearchIndex()
        }
        #expect(error.kind == .corrupt)
        #expect(error.message.contains("search index") && error.message.contains("chunk 0"))
    }
}

@Suite struct SimilaritySearchTests {
    /// A search's workers run once each, the first on the calling thread and the others on threads of their own,
    /// and the call returns once all have finished. (That they leave Dispatch's threads to a server's batches is
    /// measured by scripts/bench/fairness_bench.py.)
    @Test func searchWorkersRunOnceEachOnThreadsOfTheirOwn() {
        let caller = UInt(bitPattern: Int(bitPattern: pthread_self()))
        let ran = Locked<[(worker: Int, thread: UInt)]>([])
        SimilaritySearch.inParallel(4) { worker in
            usleep(20_000)
            let thread = UInt(bitPattern: Int(bitPattern: pthread_self()))
            ran.withLock { $0.append((worker, thread)) }
        }
        let runs = ran.withLock { $0 }
        #expect(runs.map(\.worker).sorted() == [0, 1, 2, 3])
        #expect(Set(runs.map(\.thread)).count == 4)
        #expect(runs.first { $0.worker == 0 }?.thread == caller)
    }

    static let vectors = clusteredVectors(count: 3000, dimension: 48)

    /// The answers are the exact best rows: scores within float32 rounding of the float64 reference, and no row
    /// left out scores above the last one given.
    func expectExact(_ answer: [Neighbor], positive: [Int], negative: [Int], top: Int, clipEnd: Int? = nil) {
        let reference = bruteForce(Self.vectors, positive: positive, negative: negative, clipEnd: clipEnd)
        let scores = Dictionary(uniqueKeysWithValues: reference.map { ($0.row, $0.score) })
        #expect(answer.count == min(top, reference.count))
        #expect(zip(answer, answer.dropFirst()).allSatisfy { $0.score >= $1.score })
        for neighbor in answer {
            #expect(abs(Double(neighbor.score) - scores[neighbor.row]!) < 2e-6)
        }
        let given = Set(answer.map(\.row))
        let best = reference.first { !given.contains($0.row) }
        if let best, let last = answer.last {
            #expect(
                best.score <= Double(last.score) + 2e-6,
                "row \(best.row) (\(best.score)) beats the last answer \(last.score)")
        }
    }

    /// OpenBLAS never scores with its generic SSE3 kernels (`Prescott`, what Debian's OpenBLAS gives an Intel CPU
    /// newer than it) on a CPU with AVX2 and FMA: numpy's OpenBLAS would not sum as they do.
    @Test(
        .enabled(
            if: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
            "OPENBLAS_CORETYPE is set: OpenBLAS runs the kernels it names"),
        .enabled(if: Self.cpuFlags.isSuperset(of: ["avx2", "fma"]), "this CPU has no AVX2 and FMA: nothing to check"))
    func openBLASScoresWithThisCPUsKernels() {
        #expect(SimilaritySearch.blasKernels != "Prescott")
    }

    /// The CPU's features, as `/proc/cpuinfo` lists them (none where it cannot be read).
    static let cpuFlags: Set<Substring> = {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return Set((cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? "").split(separator: " "))
    }()

    @Test func answersAreTheExactBestRows() throws {
        let directory = TemporaryDirectory()
        let search = try searchableCache(Self.vectors, in: directory)
        var random = SplitMix64(seed: 11)
        for _ in 0..<40 {
            let positive = (0..<Int.random(in: 1...2, using: &random)).map { _ in
                Int.random(in: 0..<3000, using: &random)
            }
            let negative = (0..<Int.random(in: 0...1, using: &random)).map { _ in
                Int.random(in: 0..<3000, using: &random)
            }
            let top = Int.random(in: 1...30, using: &random)
            let query = SimilarityQuery(
                positive: positive.map { "w\($0)" }, negative: negative.map { "w\($0)" }, top: top)
            let answer = try search.mostSimilar([query])[0]
            expectExact(answer, positive: positive, negative: negative, top: top)
            #expect(answer.allSatisfy { !positive.contains($0.row) && !negative.contains($0.row) })
        }
    }

    @Test func batchesAnswerAsSingleQueriesDoAndRestrictCountsWords() throws {
        let directory = TemporaryDirectory()
        let search = try searchableCache(Self.vectors, in: directory)
        let queries = (0..<300).map {
            SimilarityQuery(positive: ["w\($0 * 7)"], negative: $0 % 3 == 0 ? ["w\($0 + 1)"] : [], top: 5)
        }
        let batch = try search.mostSimilar(queries, restrictVocab: 1000)
        #expect(batch.count == 300)
        for (i, query) in queries.enumerated() where i % 30 == 0 {
            #expect(try search.mostSimilar([query], restrictVocab: 1000)[0] == batch[i])
        }
        for (i, answer) in batch.enumerated() where i % 17 == 0 {
            #expect(answer.allSatisfy { $0.row < 1000 })
            expectExact(answer, positive: [i * 7], negative: i % 3 == 0 ? [i + 1] : [], top: 5, clipEnd: 1000)
        }
    }

    @Test func outOfVocabularyVectorsAreNeverAnswers() throws {
        let directory = TemporaryDirectory()
        _ = try searchableCache(Array(Self.vectors.prefix(200)), in: directory)
        // An out-of-vocabulary word added as `prepare` adds them; asked for every word, the search must still
        // leave it out.
        let writable = try CacheWriter(path: directory.file("cache"), purpose: "test")
        let generator = OOVVectors(dimension: 48, seed: 1, range: 0.25)
        let added = try writable.replace(
            in: .dataset, under: [], with: MetadataEntries(), oovWords: [Array("made-up".utf8)],
            generator: OOVSource(random: generator))
        #expect(added.count == 1)
        try writable.close()
        let cache = try VectorCache(path: directory.file("cache"))
        #expect(try cache.isOutOfVocabulary(Array("made-up".utf8)))
        let search = try SimilaritySearch(cache: cache)
        let answer = try search.mostSimilar([SimilarityQuery(positive: ["w5"], top: 199)])[0]
        #expect(answer.count == 199)
        #expect(!answer.contains { $0.text == "made-up" })
        let error = try #require(throws: SimilarityError.self) {
            try search.mostSimilar([SimilarityQuery(positive: ["made-up"])])
        }
        #expect(error.kind == .unknownWords)
        #expect(error.message.contains("made-up") && error.message.contains("out-of-vocabulary"))
    }

    @Test func unusableQueriesAreErrorsThatSayWhy() throws {
        let directory = TemporaryDirectory()
        var vectors = Array(Self.vectors.prefix(100))
        vectors.append(("zero", [Float](repeating: 0, count: 48)))
        let search = try searchableCache(vectors, in: directory)
        let unknown = try #require(throws: SimilarityError.self) {
            try search.mostSimilar([SimilarityQuery(positive: ["w1", "nope", "never"])])
        }
        #expect(unknown.kind == .unknownWords && unknown.message.contains("\"nope\", \"never\""))
        let zero = try #require(throws: SimilarityError.self) {
            try search.mostSimilar([SimilarityQuery(positive: ["zero"])])
        }
        #expect(zero.kind == .unusableQuery && zero.message.contains("no direction"))
        let cancel = try #require(throws: SimilarityError.self) {
            try search.mostSimilar([SimilarityQuery(positive: ["w1"], negative: ["w1"])])
        }
        #expect(cancel.kind == .unusableQuery)
        let empty = try #require(throws: SimilarityError.self) {
            try search.mostSimilar([SimilarityQuery(positive: [[UInt8]]())])
        }
        #expect(empty.kind == .unusableQuery)
        // The zero vector is never an answer either (gensim scores it NaN).
        #expect(
            !(try search.mostSimilar([SimilarityQuery(positive: ["w1"], top: 101)])[0]).contains { $0.text == "zero" })
        // More answers than the file has words is a question that cannot be answered (and would reserve memory
        // for them): an error naming the bound.
        let tooMany = try #require(throws: SimilarityError.self) {
            try search.mostSimilar([SimilarityQuery(positive: ["w1"], top: 102)])
        }
        #expect(tooMany.kind == .unusableQuery && tooMany.message.contains("top=102 is more than the 101 words"))
    }
}
