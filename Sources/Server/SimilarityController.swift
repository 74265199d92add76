import Foundation
import HTTPTypes
import Hummingbird
import Similarity
import VectorCache

/// `POST /v1/similar`: nearest words, one query or a batch, as gensim's `most_similar` answers them.
struct SimilarityController<Context: RequestContext> {
    let state: ServerState

    /// The length of row that `server.max_similar_rows` counts in; a longer row counts as more.
    static var rowValues: Int { 300 }

    func addRoutes(to group: RouterGroup<Context>) {
        group.group().add(middleware: NoQueryMiddleware()).post(use: similar)
        group.methodNotAllowed("", allowing: [.post])
    }

    struct Query: KnownKeys {
        var positive: [Word]?
        var negative: [Word]?
        var top: WholeNumber?

        enum CodingKeys: String, CodingKey, CaseIterable { case positive, negative, top }
    }

    /// `{"positive": [...], "negative": [...], "top": N}`, or `{"queries": [those], ...}`; either with
    /// `"restrict_vocab": N`. A word that is not UTF-8 comes as ``EscapedWords`` reads it.
    struct SimilarRequest: KnownKeys {
        var positive: [Word]?
        var negative: [Word]?
        var top: WholeNumber?
        var queries: [Checked<Query>]?
        var restrict_vocab: WholeNumber?

        enum CodingKeys: String, CodingKey, CaseIterable { case positive, negative, top, queries, restrict_vocab }
    }

    @Sendable func similar(_ request: Request, context: Context) async throws -> Response {
        let parsed = try await RequestBody.decode(
            SimilarRequest.self, from: request, settings: state.settings,
            expected: "{\"positive\": [...], \"negative\": [...], \"top\": N} or {\"queries\": [...]}")
        let restrictVocab = parsed.restrict_vocab?.value
        let isBatch = parsed.queries != nil
        if isBatch && (parsed.positive != nil || parsed.negative != nil || parsed.top != nil) {
            throw APIError(
                .badRequest, "give either \"queries\" or one query's \"positive\"/\"negative\"/\"top\", not both")
        }
        let asked =
            parsed.queries?.map(\.value) ?? [
                Query(positive: parsed.positive, negative: parsed.negative, top: parsed.top)
            ]
        // Bounded before the index loads: a top not given counts as the default.
        try checkBounds(
            asked.map {
                SimilarityQuery(
                    positive: $0.positive?.map(\.bytes) ?? [], negative: $0.negative?.map(\.bytes) ?? [],
                    top: $0.top?.value ?? SimilarityQuery.defaultTop)
            }, restrictVocab: restrictVocab)
        let search = try await state.similaritySearch()
        // What bounds the search's time: every query is scored against every word it searches, a row of more than
        // 300 values (GoogleNews's) counting as that many rows of 300, since its time grows with its length.
        let searched = search.clipEnd(restrictVocab: restrictVocab)
        let rows = asked.count * searched
        let dimension = state.cache.dimension
        let (values, overflow) = rows.multipliedReportingOverflow(by: dimension)
        let work = dimension <= Self.rowValues ? rows : overflow ? Int.max : values / Self.rowValues
        guard work <= state.settings.maxSimilarRows else {
            let counted = work == rows ? "" : " of \(dimension) values, as many as \(work) rows of \(Self.rowValues),"
            throw APIError(
                .contentTooLarge,
                "\(asked.count) queries over \(searched) words each are \(rows) rows\(counted) to search, over the "
                    + "server's limit of \(state.settings.maxSimilarRows) (server.max_similar_rows); send fewer "
                    + "queries per request or a smaller restrict_vocab")
        }
        // A top not given is the default, or every word of a smaller vocabulary; one given above it is an error.
        let queries = asked.map {
            SimilarityQuery(
                positive: $0.positive?.map(\.bytes) ?? [], negative: $0.negative?.map(\.bytes) ?? [],
                top: $0.top?.value ?? min(SimilarityQuery.defaultTop, search.wordCount))
        }
        // Searches of seconds must not keep a trainer's batches waiting (see ServerState.compute).
        let answers = try await ServerState.compute(qos: .utility) {
            try search.mostSimilar(queries, restrictVocab: restrictVocab)
        }
        state.metrics.similarQueries(queries.count)
        return try BinaryResponse(bytes: SimilarJSON.bytes(answers, isBatch: isBatch), contentType: BinaryResponse.json)
            .response(from: request, context: context)
    }

    /// The work one request may ask for: its queries and words, and the answers they add up to (the memory a
    /// search holds and the size of its answer).
    private func checkBounds(_ queries: [SimilarityQuery], restrictVocab: Int?) throws {
        let settings = state.settings
        if let bad = queries.first(where: { $0.top < 1 }) {
            throw APIError(.badRequest, "top=\(bad.top); expected at least 1")
        }
        let words = queries.reduce(0) { $0 + $1.positive.count + $1.negative.count }
        guard queries.count <= settings.maxWordsPerRequest, words <= settings.maxWordsPerRequest else {
            throw APIError(
                .contentTooLarge,
                "\(queries.count) queries of \(words) words; at most \(settings.maxWordsPerRequest) of each per "
                    + "request (server.max_words_per_request)"
            )
        }
        // Each top is bounded by the vocabulary (the search says so); their sum by the server.
        let answers = queries.reduce(0) { $0 + min($1.top, settings.maxSimilarResults + 1) }
        guard answers <= settings.maxSimilarResults else {
            throw APIError(
                .contentTooLarge,
                "the queries ask for more than \(settings.maxSimilarResults) answers in all (their top added up), the "
                    + "server's limit (server.max_similar_results); split them into several requests"
            )
        }
        if let restrictVocab, restrictVocab < 1 {
            throw APIError(.badRequest, "restrict_vocab=\(restrictVocab); expected at least 1")
        }
    }
}

/// The answers of `POST /v1/similar` as JSON, `{"similar":[{"score":S,"word":W},…]}` for one query and
/// `{"results":[those]}` for a batch: byte for byte what ``ServerRequestContext/jsonEncoder()`` writes for such
/// structs, but that a word that is not UTF-8 keeps its bytes, as ``EscapedWords`` writes them (the encoder would put
/// U+FFFD for them, a word the cache does not hold). A score is the float32 as a double, so that it equals gensim's
/// `float(score)`.
enum SimilarJSON {
    static func bytes(_ answers: [[Neighbor]], isBatch: Bool) -> [UInt8] {
        var json = isBatch ? Array(#"{"results":["#.utf8) : []
        for (index, neighbors) in answers.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json += Array(#"{"similar":["#.utf8)
            for (index, neighbor) in neighbors.enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                json += Array(#"{"score":"#.utf8)
                json += EncodedNumber.text(Double(neighbor.score)).utf8
                json += Array(#","word":"#.utf8)
                EscapedWords.append(neighbor.word, to: &json)
                json.append(UInt8(ascii: "}"))
            }
            json += Array("]}".utf8)
        }
        return isBatch ? json + Array("]}".utf8) : json
    }
}
