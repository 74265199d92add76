import COpenBLAS
import CVectorKernels
import Dispatch
import Foundation
import SearchIndex
import Support
import VectorCache

/// One nearest-words question: gensim's `most_similar(positive=…, negative=…, topn=top)`.
public struct SimilarityQuery: Sendable, Equatable {
    /// The words as bytes, as the cache keeps them: a word its file wrote in bytes that are not UTF-8
    /// (`build --invalid-utf8 keep`) is asked for by those bytes.
    public var positive: [[UInt8]]
    public var negative: [[UInt8]]
    /// How many words to answer at most (none below 1, as gensim answers `topn < 1`).
    public var top: Int

    /// The answers a query gives unless it says otherwise (gensim's `topn=10`).
    public static let defaultTop = 10

    public init(positive: [[UInt8]], negative: [[UInt8]] = [], top: Int = SimilarityQuery.defaultTop) {
        self.positive = positive
        self.negative = negative
        self.top = top
    }

    /// A query of words given as text (their UTF-8 bytes).
    public init(positive: [String], negative: [String] = [], top: Int = SimilarityQuery.defaultTop) {
        self.init(positive: positive.map { Array($0.utf8) }, negative: negative.map { Array($0.utf8) }, top: top)
    }
}

/// A word of an answer and its cosine similarity, as gensim scores it.
public struct Neighbor: Sendable, Equatable {
    /// The word's row in the vectors file's order.
    public let row: Int
    /// The word's bytes, as in the file.
    public let word: [UInt8]
    public let score: Float

    /// The word as text (invalid UTF-8 replaced).
    public var text: String { String(decoding: word, as: UTF8.self) }
}

/// Nearest-word search over a cache's ``SearchIndex``, with gensim 4's semantics: the query words' unit vectors
/// combined as `KeyedVectors.get_mean_vector` does (+1 for positive, -1 for negative, mean, unit length), every
/// word of the file scored by `dot(vector, mean) / norm`, the query words left out.
///
/// Two steps keep it exact and fast. A screen scores every row from its int8 codes (a quarter of the bytes of the
/// vectors, in exact integer SIMD code of our own, on every core, many queries per pass over the codes) with a
/// bound on its own error, and keeps every row that could be among the best. Then those few rows are scored again from
/// their stored float32 vectors, read from the cache with checksums, by OpenBLAS's `sgemv`, which is what numpy's `dot`
/// calls: the scores are gensim's, almost always to the bit.
public final class SimilaritySearch: Sendable {
    public let cache: VectorCache
    public let index: SearchIndex
    private let rows: WordRows
    /// Rows that can be answers: not a later duplicate, and a vector with a direction.
    private let usable: [Bool]

    /// Rows scored per call of the kernel: their codes stay in the L2 cache while every query of a batch passes.
    static let blockRows = 1024

    /// The kernels OpenBLAS scores with in this process (`openblas_get_corename`, e.g. `SkylakeX`), chosen once, before
    /// the first search is made: the CPU's own where Debian's OpenBLAS does not know it (`w2v_openblas_choose_kernels`
    /// in the COpenBLAS shim). The choice may set `OPENBLAS_CORETYPE` for a moment: a program whose other threads may
    /// read the environment reads this before it starts them, as the server does.
    public static let blasKernels = String(cString: w2v_openblas_choose_kernels())

    /// Loads the cache's search index.
    /// - throws: ``CacheError`` when the cache has none or it is damaged.
    public init(cache: VectorCache, progress: (_ rows: Int, _ total: Int) -> Void = { _, _ in }) throws {
        _ = Self.blasKernels
        self.cache = cache
        index = try cache.loadSearchIndex(progress: progress)
        rows = WordRows(index)
        var usable = index.scales.map { $0 > 0 }
        for row in index.duplicateRows { usable[row] = false }
        self.usable = usable
    }

    /// Words of the vectors file (duplicates not counted).
    public var wordCount: Int { index.rowCount - index.duplicateRows.count }

    /// The row of `word`: its first occurrence in the file, or `nil`.
    public func row(of word: some Collection<UInt8>) -> Int? {
        rows.row(of: word, in: index)
    }

    /// The rows gensim searches with `restrict_vocab: n`: the first `n` words of the file (all with `nil`).
    public func clipEnd(restrictVocab n: Int?) -> Int {
        guard let n, n < wordCount else { return index.rowCount }
        var end = n
        for duplicate in index.duplicateRows {
            guard duplicate < end else { break }
            end += 1
        }
        return end
    }

    /// The float32 vector of row `row`, read from the cache (checksums verified).
    public func vector(_ row: Int) throws -> [Float] {
        let word = Array(index.word(row))
        guard let vector = try cache.withVectorBytes(for: word, { $0.map(Float32Bytes.decode) }) else {
            throw CacheError(
                .corrupt,
                "the search index of \(cache.path) names a word the cache lacks (row \(row)); rebuild the cache with "
                    + "`w2vcache build`"
            )
        }
        return vector
    }

    // MARK: Queries by word

    /// The rows of `words`, or an error naming the words that are not words of the vectors file.
    /// A word that is not UTF-8 is named with `\xNN` escapes.
    public func rows(of words: [[UInt8]]) throws -> [Int] {
        var found: [Int] = []
        var unknown: [[UInt8]] = []
        for word in words {
            if let row = row(of: word) { found.append(row) } else { unknown.append(word) }
        }
        guard unknown.isEmpty else {
            let oovOnly = unknown.filter { (try? cache.isOutOfVocabulary($0)) == true }
            let note =
                oovOnly.isEmpty
                ? "" : " (\(oovOnly.count) of them only have a random out-of-vocabulary vector made by `prepare`)"
            throw SimilarityError(
                kind: .unknownWords,
                message: "not in the vectors file: "
                    + "\(unknown.map { "\"\(Printable.escape(bytes: $0))\"" }.joined(separator: ", "))\(note)")
        }
        return found
    }

    /// gensim's `most_similar(positive, negative, topn, restrict_vocab)` for each query.
    /// - throws: ``SimilarityError``: unknown words, a query without words, or a `top` above ``wordCount`` (what
    ///   bounds the memory a query takes).
    public func mostSimilar(_ queries: [SimilarityQuery], restrictVocab: Int? = nil) throws -> [[Neighbor]] {
        let rowQueries = try queries.map { query in
            guard !query.positive.isEmpty || !query.negative.isEmpty else {
                throw SimilarityError(
                    kind: .unusableQuery, message: "a query needs at least one positive or negative word")
            }
            guard query.top <= wordCount else {
                throw SimilarityError(
                    kind: .unusableQuery,
                    message: "top=\(query.top) is more than the \(wordCount) words of the vectors file; expected 1 to "
                        + "\(wordCount)"
                )
            }
            return RowQuery(
                positive: try rows(of: query.positive), negative: try rows(of: query.negative), top: query.top)
        }
        return try mostSimilar(rows: rowQueries, clipEnd: clipEnd(restrictVocab: restrictVocab))
    }

    // MARK: Queries by row

    /// A query by rows (the evaluations map their own vocabulary onto rows).
    public struct RowQuery: Sendable {
        public var positive: [Int]
        public var negative: [Int]
        public var top: Int

        public init(positive: [Int], negative: [Int], top: Int) {
            self.positive = positive
            self.negative = negative
            self.top = top
        }
    }

    /// The answers of `queries` among rows `0..<clipEnd`, each at most `top` rows, best first.
    /// - Parameter failingQueriesAnswerNothing: answer `[]` to a query whose words have no direction (a zero vector,
    ///   or words that cancel out) instead of throwing; gensim answers such a query with NaN scores.
    public func mostSimilar(rows queries: [RowQuery], clipEnd: Int, failingQueriesAnswerNothing: Bool = false) throws
        -> [[Neighbor]]
    {
        // More answers than rows can never be given; asking for more would only reserve memory for them.
        let queries = queries.map {
            RowQuery(positive: $0.positive, negative: $0.negative, top: min($0.top, index.rowCount))
        }
        // Queries of a batch share their words and candidates: each row's vector is read from the cache once.
        var vectors = RowVectors(search: self)
        let means: [[Float]?] = try queries.map { query in
            do {
                return try meanVector(positive: query.positive, negative: query.negative, vectors: &vectors)
            } catch let error as SimilarityError where failingQueriesAnswerNothing && error.kind == .unusableQuery {
                return nil
            }
        }
        let answerable = queries.indices.filter { means[$0] != nil }
        let candidates = screen(
            means: answerable.map { means[$0]! }, queries: answerable.map { queries[$0] }, clipEnd: clipEnd)
        var answers = [[Neighbor]](repeating: [], count: queries.count)
        for (i, candidates) in zip(answerable, candidates) {
            let query = queries[i]
            answers[i] = try rerank(
                candidates, mean: means[i]!, excluding: Set(query.positive + query.negative), top: query.top,
                vectors: &vectors)
        }
        return answers
    }

    /// gensim's `get_mean_vector(keys, weights, pre_normalize=True, post_normalize=True)`: the unit vectors (each
    /// vector divided by its float32 norm) added or subtracted in float32, the sum divided by the number of words
    /// and scaled to unit length in float64 (`dnrm2`, `dscal`), then rounded to float32.
    func meanVector(positive: [Int], negative: [Int], vectors: inout RowVectors) throws -> [Float] {
        let dimension = index.dimension
        var sum = [Float](repeating: 0, count: dimension)
        for (row, sign) in positive.map({ ($0, Float(1)) }) + negative.map({ ($0, Float(-1)) }) {
            let norm = index.norms[row]
            guard norm > 0, norm.isFinite else {
                throw SimilarityError(
                    kind: .unusableQuery,
                    message:
                        "\"\(String(decoding: index.word(row), as: UTF8.self))\" has a vector of norm \(norm): it has no "
                        + "direction"
                )
            }
            let vector = try vectors[row]
            for i in 0..<dimension { sum[i] += sign * (vector[i] / norm) }
        }
        let count = Double(positive.count + negative.count)
        var mean = sum.map { Double($0) / count }
        let length = cblas_dnrm2(Int32(dimension), mean, 1)
        guard length > 0 else {
            throw SimilarityError(kind: .unusableQuery, message: "the query's words cancel out: every score would be 0")
        }
        cblas_dscal(Int32(dimension), 1.0 / length, &mean, 1)
        return mean.map { Float($0) }
    }

    /// Step 1: the rows of `0..<clipEnd` that may be among each query's best, from the int8 codes, on every core.
    ///
    /// The kernel computes `codes · q` exactly in integers, where `q` is the mean quantized to int16 with
    /// `mean ≈ queryScale · q`. With `u = scale · codes + δ` (`|δᵢ| <= scale/2`) and `mean = queryScale · q + ε`:
    /// `u · mean = scale · queryScale · (codes · q) + scale · codes · ε + δ · mean`, so the approximation is off by
    /// at most `scale/2 · |mean|₁ + |scale · codes|₂ · |ε|₂`, and `|scale · codes|₂ <= 1 + scale/2 · √dim`. 1e-4
    /// more covers the float32 rounding of gensim's own score.
    private func screen(means: [[Float]], queries: [RowQuery], clipEnd: Int) -> [[CandidateSelector.Candidate]] {
        let dimension = index.dimension
        let count = means.count
        guard count > 0, clipEnd > 0 else { return means.map { _ in [] } }
        let largestCode = Float(min(32767, Int(Int32.max) / (127 * dimension)))
        var quantized = [Int16](repeating: 0, count: count * dimension)
        var queryScales = [Float](repeating: 0, count: count)
        // Per query: the bound's part proportional to a row's scale, and its constant part.
        var perScale = [Float](repeating: 0, count: count)
        var constant = [Float](repeating: 0, count: count)
        for (q, mean) in means.enumerated() {
            let largest = mean.reduce(0) { max($0, abs($1)) }
            let queryScale = largest / largestCode
            var error = 0.0
            for i in 0..<dimension {
                let code = (mean[i] / queryScale).rounded()
                quantized[q * dimension + i] = Int16(code)
                let residual = Double(mean[i]) - Double(queryScale) * Double(code)
                error += residual * residual
            }
            queryScales[q] = queryScale
            let l1 = mean.reduce(0) { $0 + abs($1) }
            let residualNorm = Float(error.squareRoot()) * 1.0001
            perScale[q] = 0.5001 * (l1 + Float(dimension).squareRoot() * residualNorm)
            constant[q] = residualNorm + 1e-4
        }
        let (queryCodes, scalesOfQueries, boundPerScale, boundConstant) = (quantized, queryScales, perScale, constant)
        let capacities = queries.map { max(1, $0.top + $0.positive.count + $0.negative.count) }
        let blocks = (clipEnd + Self.blockRows - 1) / Self.blockRows
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, blocks / 8))
        let results = Locked([[CandidateSelector]](repeating: [], count: workers))
        Self.inParallel(workers) { [self] worker in
            var selectors = capacities.map { CandidateSelector(capacity: $0) }
            var products = [Int32](repeating: 0, count: count * Self.blockRows)
            var keptRows = [UInt32](repeating: 0, count: Self.blockRows)
            var keptApprox = [Float](repeating: 0, count: Self.blockRows)
            var keptBounds = [Float](repeating: 0, count: Self.blockRows)
            index.codes.withUnsafeBufferPointer { codes in
                index.scales.withUnsafeBufferPointer { scales in
                    for block in (worker * blocks / workers)..<((worker + 1) * blocks / workers) {
                        let start = block * Self.blockRows
                        let rowCount = min(Self.blockRows, clipEnd - start)
                        products.withUnsafeMutableBufferPointer { out in
                            w2v_int8_dot_rows(
                                codes.baseAddress! + start * dimension, rowCount, dimension, queryCodes, count,
                                out.baseAddress!)
                        }
                        for q in 0..<count {
                            let kept = products.withUnsafeBufferPointer { products in
                                w2v_select_rows(
                                    products.baseAddress! + q * rowCount, scales.baseAddress! + start, rowCount,
                                    scalesOfQueries[q],
                                    boundPerScale[q], boundConstant[q], selectors[q].threshold, &keptRows, &keptApprox,
                                    &keptBounds)
                            }
                            for k in 0..<kept where usable[start + Int(keptRows[k])] {
                                selectors[q].offer(
                                    row: start + Int(keptRows[k]), approx: keptApprox[k], bound: keptBounds[k])
                            }
                        }
                    }
                }
            }
            results.withLock { $0[worker] = selectors }
        }
        let perWorker = results.withLock { $0 }
        return (0..<count).map { q in CandidateSelector.merged(perWorker.map { $0[q] }) }
    }

    /// Step 2: gensim's scores for the candidates, from their float32 vectors; the best `top` that are not query
    /// rows, best first (ties by row).
    private func rerank(
        _ candidates: [CandidateSelector.Candidate], mean: [Float], excluding: Set<Int>, top: Int,
        vectors: inout RowVectors
    ) throws -> [Neighbor] {
        let rows = candidates.map { Int($0.row) }.filter { !excluding.contains($0) }
        let scores = try exactScores(rows: rows, mean: mean, vectors: &vectors)
        let order = rows.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : rows[$0] < rows[$1] }
        return order.prefix(max(0, top)).map {
            Neighbor(row: rows[$0], word: Array(index.word(rows[$0])), score: scores[$0])
        }
    }

    /// `dot(vectors[rows], mean) / norms[rows]` as numpy computes it: `sgemv` over the rows, eight at a time (the
    /// rows of a full block of OpenBLAS's kernel get the same sums as in numpy's call over the whole matrix), then
    /// a float32 division.
    func exactScores(rows: [Int], mean: [Float], vectors: inout RowVectors) throws -> [Float] {
        let dimension = index.dimension
        var scores = [Float](repeating: 0, count: rows.count)
        var matrix = [Float](repeating: 0, count: 8 * dimension)
        var products = [Float](repeating: 0, count: 8)
        for start in stride(from: 0, to: rows.count, by: 8) {
            let group = rows[start..<min(start + 8, rows.count)]
            for i in 0..<8 {
                let values =
                    i < group.count ? try vectors[group[group.startIndex + i]] : [Float](repeating: 0, count: dimension)
                matrix.replaceSubrange((i * dimension)..<((i + 1) * dimension), with: values)
            }
            cblas_sgemv(
                CblasRowMajor, CblasNoTrans, 8, Int32(dimension), 1, matrix, Int32(dimension), mean, 1, 0, &products, 1)
            for (i, row) in group.enumerated() { scores[start + i] = products[i] / index.norms[row] }
        }
        return scores
    }
}

/// Rows' float32 vectors, each read from the cache once.
struct RowVectors {
    let search: SimilaritySearch
    private var read: [Int: [Float]] = [:]

    init(search: SimilaritySearch) {
        self.search = search
    }

    subscript(row: Int) -> [Float] {
        mutating get throws {
            if let vector = read[row] { return vector }
            let vector = try search.vector(row)
            read[row] = vector
            return vector
        }
    }
}

extension SimilaritySearch {
    /// Runs `work` for workers `0..<workers` at once, worker 0 on the calling thread and each other on a thread of
    /// its own, and returns once all have finished. `DispatchQueue.concurrentPerform` would run them on Dispatch's
    /// default-priority threads, whatever queue calls it (Linux keeps no priority per thread): the threads a server
    /// computes its batches on, which then waited for the searches (a batch took 6.4 s beside four searches of 1,000
    /// queries, against 1.7 ms alone).
    package static func inParallel(_ workers: Int, _ work: @escaping @Sendable (Int) -> Void) {
        guard workers > 1 else { return work(0) }
        let finished = DispatchGroup()
        for worker in 1..<workers {
            finished.enter()
            Thread {
                work(worker)
                finished.leave()
            }.start()
        }
        work(0)
        finished.wait()
    }
}
