import Dispatch
import Foundation
import Hummingbird
import Similarity
import VectorCache

/// `POST /v1/similar`: nearest words, one query or a batch, as gensim's `most_similar` answers them.
struct SimilarityController<Context: RequestContext> {
    let state: ServerState

    func addRoutes(to group: RouterGroup<Context>) {
        group.post(use: similar)
    }

    struct Query: Decodable {
        var positive: [String]?
        var negative: [String]?
        var top: Int?
    }

    /// `{"positive": [...], "negative": [...], "top": N}`, or `{"queries": [those], ...}`; either with
    /// `"restrict_vocab": N`.
    struct SimilarRequest: Decodable {
        var positive: [String]?
        var negative: [String]?
        var top: Int?
        var queries: [Query]?
        var restrict_vocab: Int?
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
        let body = try await RequestBody.collect(request, limit: state.settings.maxBodyBytes)
        let parsed: SimilarRequest
        do {
            parsed = try JSONDecoder().decode(SimilarRequest.self, from: Data(body.readableBytesView))
        } catch {
            throw APIError(.badRequest, "expected a JSON body {\"positive\": [...], \"negative\": [...], \"top\": N} or {\"queries\": [...]}")
        }
        let isBatch = parsed.queries != nil
        if isBatch && (parsed.positive != nil || parsed.negative != nil || parsed.top != nil) {
            throw APIError(.badRequest, "give either \"queries\" or one query's \"positive\"/\"negative\"/\"top\", not both")
        }
        let limit = state.settings.maxWordsPerRequest
        let queries = try (parsed.queries ?? [Query(positive: parsed.positive, negative: parsed.negative, top: parsed.top)]).map { query in
            let top = query.top ?? 10
            guard top >= 1, top <= limit else { throw APIError(.badRequest, "top=\(top); expected 1 to \(limit)") }
            return SimilarityQuery(positive: query.positive ?? [], negative: query.negative ?? [], top: top)
        }
        let words = queries.reduce(0) { $0 + $1.positive.count + $1.negative.count }
        guard queries.count <= limit, words <= limit else {
            throw APIError(.contentTooLarge, "\(queries.count) queries of \(words) words; at most \(limit) of each per request")
        }
        if let restrict = parsed.restrict_vocab, restrict < 1 {
            throw APIError(.badRequest, "restrict_vocab=\(restrict); expected at least 1")
        }
        let search = try await state.similaritySearch()
        let answers: [[Neighbor]]
        do {
            answers = try await Self.compute { try search.mostSimilar(queries, restrictVocab: parsed.restrict_vocab) }
        } catch let error as SimilarityError {
            throw APIError(error.kind == .unknownWords ? .notFound : .badRequest, error.message)
        }
        state.metrics.similarQueries(queries.count)
        let results = answers.map { Answer(similar: $0.map { Scored(word: $0.text, score: Double($0.score)) }) }
        return isBatch
            ? try BatchAnswer(results: results).response(from: request, context: context)
            : try results[0].response(from: request, context: context)
    }

    /// Runs `work` on a dispatch thread: the search uses every core and must not hold the server's event loops.
    static func compute<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}
