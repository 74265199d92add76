import Foundation
import HTTPTypes
import Hummingbird
import NumPyFormat
import Support
import VectorCache

/// `GET /v1/vectors/{word}` and `POST /v1/vectors`.
struct VectorsController<Context: ConnectionRequestContext> {
    let state: ServerState

    func addRoutes(to group: RouterGroup<Context>) {
        group.get(":word", use: vector)
        group.post(use: vectors)
        group.methodNotAllowed(":word", allowing: [.get, .head])
        group.methodNotAllowed("", allowing: [.post])
    }

    /// A vector as JSON (non-finite values as ``NonFiniteJSON`` writes them).
    struct VectorJSON: Encodable {
        let word: String
        let vector: [Float]
        let oov: Bool
        /// `word` (of the vectors file), `random` or `subword` (out-of-vocabulary vectors a prepare stored).
        let kind: String
    }

    /// One vector: `.npy` float32 `[dim]`; its bare float32 bytes with `Accept: application/octet-stream` (the shape
    /// in `X-W2VCache-Shape`); JSON with `Accept: application/json`. An answer over 64 KB (a vector of more than
    /// 16,000 dimensions, or 4,000 in JSON) counts in ``AnswerMemory`` until the socket takes it.
    @Sendable func vector(_ request: Request, context: Context) async throws -> BinaryResponse {
        let raw = try context.parameters.require("word")
        let word = raw.removingPercentEncoding ?? raw
        let key = Array(word.utf8)
        let bytes = try state.vectors.withVectorBytes(for: key) { $0.map { Array($0) } }
        guard let bytes else { throw APIError.notInTheCache(word) }
        let accept = (request.headers[.accept] ?? "").utf8
        var response: BinaryResponse
        if BinaryResponse.accepts(BinaryResponse.float32, in: accept) {
            response = BinaryResponse(bytes: bytes, contentType: BinaryResponse.float32, shape: [state.cache.dimension])
        } else if BinaryResponse.accepts("application/json", in: accept) {
            let vector = bytes.withUnsafeBytes { Float32Bytes.decode($0) }
            let kind = try state.cache.outOfVocabularyKind(key)
            let json = VectorJSON(word: word, vector: vector, oov: kind != nil, kind: kind?.rawValue ?? "word")
            response = BinaryResponse(
                bytes: Array(try ServerRequestContext.jsonEncoder().encode(json)), contentType: BinaryResponse.json)
        } else {
            response = BinaryResponse(
                bytes: bytes.withUnsafeBytes { NPY.file(type: .float32, shape: [state.cache.dimension], data: $0) },
                contentType: BinaryResponse.npy)
        }
        response.reservation = try state.answerMemory.reserveUnlessSmall(
            response.body.readableBytes, for: context.channel)
        state.metrics.vectorsServed(1)
        return response
    }

    struct VectorsRequest: Decodable {
        var words: [String]
        var missing: MissingWords?
        /// With `"missing": "oov"`: the kind of vector (default: subword on a fastText cache, else random).
        var oov: OOVKind?
    }

    /// Several vectors in request order: `.npy` float32 `[n, dim]`, or their bare bytes with
    /// `Accept: application/octet-stream`.
    @Sendable func vectors(_ request: Request, context: Context) async throws -> BinaryResponse {
        let parsed = try await RequestBody.decode(
            VectorsRequest.self, from: request, settings: state.settings,
            expected: "{\"words\": [...], \"missing\": \"error\" | \"zero\" | \"oov\"}")
        let limit = state.settings.maxWordsPerRequest
        guard parsed.words.count <= limit else {
            throw APIError(
                .contentTooLarge,
                "\(parsed.words.count) words; at most \(limit) per request (server.max_words_per_request)")
        }
        let shape = [parsed.words.count, state.cache.dimension]
        // The rows, and the `.npy` file made of them (a header of at most 128 bytes).
        let reservation = try state.answerMemory.reserve(
            shape[0] * shape[1] * MemoryLayout<Float>.size + 128, for: context.channel)
        let missing: VectorRows.Missing =
            switch parsed.missing ?? .error {
            case .error: .error
            case .zero: .zero
            case .oov: .oov(try await state.oovSource(kind: parsed.oov))
            }
        let rows = try await VectorRows.gather(parsed.words, from: state.vectors, missing: missing)
        if case .error = missing, !rows.unknown.isEmpty {
            throw APIError(
                .notFound,
                "not in the cache: " + rows.unknown.prefix(100).joined(separator: ", ")
                    + (rows.unknown.count > 100 ? ", … (\(rows.unknown.count) in all)" : ""))
        }
        state.metrics.vectorsServed(parsed.words.count)
        var response =
            if BinaryResponse.accepts(BinaryResponse.float32, in: (request.headers[.accept] ?? "").utf8) {
                BinaryResponse(bytes: rows.data, contentType: BinaryResponse.float32, shape: shape)
            } else {
                BinaryResponse(
                    bytes: rows.data.withUnsafeBytes { NPY.file(type: .float32, shape: shape, data: $0) },
                    contentType: BinaryResponse.npy)
            }
        response.headers[BinaryResponse.rowsHeader] = rows.kinds
        response.reservation = reservation
        return response
    }
}

extension APIError {
    /// The 404 of `GET /v1/vectors/{word}` for a word the cache lacks (the router's, and ``VectorLane``'s).
    static func notInTheCache(_ word: String) -> APIError {
        APIError(.notFound, "\"\(word)\" is not in the cache")
    }
}
