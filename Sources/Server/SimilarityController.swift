import Foundation
import HTTPTypes
import Hummingbird
import Similarity
import VectorCache

/// `POST /v1/similar`: nearest words, one query or a batch, as gensim's `most_similar` answers them.
struct SimilarityController<Context: RequestContext> {
    let state: ServerState

    func addRoutes(to group: RouterGroup<Context>) {
        group.group().add(middleware: NoQueryMiddleware()).post(use: similar)
        group.methodNotAllowed("", allowing: [.post])
    }

    struct Query: KnownKeys {
        var positive: [String]?
        var negative: [String]?
        var top: WholeNumber?

        enum CodingKeys: String, CodingKey, CaseIterable { case positive, negative, top }
    }

    /// `{"positive": [...], "negative": [...], "top": N}`, or `{"queries": [those], ...}`; either with
    /// `"restrict_vocab": N`.
    struct SimilarRequest: KnownKeys {
        var positive: [String]?
        var negative: [String]?
        var top: WholeNumber?
        var queries: [Checked<Query>]?
        var restrict_vocab: WholeNumber?

        enum CodingKeys: String, CodingKey, CaseIterable { case positive, negative, top, queries, restrict_vocab }
    }

    struct Scored: Encodable {
        let word: String
        /// The float32 score as a double, so that it equals gensim's `float(score)`.
        let score: Double
    }

    struct Answer: ResponseEncodable {
        let similar: [Scored]
    }

    struct BatchAnswer: ResponseEncodable {
        let results: [Answer]
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
                    positive: $0.positive ?? [], negative: $0.negative ?? [],
                    top: $0.top?.value ?? SimilarityQuery.defaultTop)
            }, restrictVocab: restrictVocab)
        let search = try await state.similaritySearch()
        // What bounds the search's time: every query is scored against every word it searches.
        let searched = search.clipEnd(restrictVocab: restrictVocab)
        let rows = asked.count * searched
        guard rows <= state.settings.maxSimilarRows else {
            throw APIError(
                .contentTooLarge,
                "\(asked.count) queries over \(searched) words each are \(rows) rows to search, over the server's "
                    + "limit of \(state.settings.maxSimilarRows) (server.max_similar_rows); send fewer queries per "
                    + "request or a smaller restrict_vocab")
        }
        // A top not given is the default, or every word of a smaller vocabulary; one given above it is an error.
        let queries = asked.map {
            SimilarityQuery(
                positive: $0.positive ?? [], negative: $0.negative ?? [],
                top: $0.top?.value ?? min(SimilarityQuery.defaultTop, search.wordCount))
        }
        // Searches of seconds must not keep a trainer's batches waiting (see ServerState.compute).
        let answers = try await ServerState.compute(qos: .utility) {
            try search.mostSimilar(queries, restrictVocab: restrictVocab)
        }
        state.metrics.similarQueries(queries.count)
        let results = answers.map { Answer(similar: $0.map { Scored(word: $0.text, score: Double($0.score)) }) }
        return isBatch
            ? try BatchAnswer(results: results).response(from: request, context: context)
            : try results[0].response(from: request, context: context)
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
