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
        let routes = group.group().add(middleware: NoQueryMiddleware())
        routes.get(":word", use: vector)
        routes.post(use: vectors)
        group.methodNotAllowed(":word", allowing: [.get, .head])
        group.methodNotAllowed("", allowing: [.post])
    }

    /// One vector: `.npy` float32 `[dim]`; its bare float32 bytes with `Accept: application/octet-stream` (the shape
    /// in `X-W2VCache-Shape`); JSON with `Accept: application/json`; a 406 for an `Accept` that refuses all three.
    /// An answer over 64 KB (a vector of more than 16,000 dimensions, or 4,000 in JSON) counts in ``AnswerMemory``
    /// until the socket takes it.
    @Sendable func vector(_ request: Request, context: Context) async throws -> BinaryResponse {
        let raw = try context.parameters.require("word")
        guard let key = PercentDecoding.bytes(raw.utf8) else { throw APIError.notPercentEncoded(raw.utf8) }
        let bytes = try state.vectors.withVectorBytes(for: key) { $0.map { Array($0) } }
        guard let bytes else { throw APIError.notInTheCache(key) }
        var response: BinaryResponse
        switch try AcceptHeader.choose(among: MediaType.oneVector, for: request) {
        case .float32:
            response = BinaryResponse(bytes: bytes, contentType: BinaryResponse.float32, shape: [state.cache.dimension])
        case .json:
            let kind = try state.cache.outOfVocabularyKind(key)
            let json = try bytes.withUnsafeBytes {
                try VectorJSON.bytes(word: key, vector: $0, oov: kind != nil, kind: kind?.rawValue ?? "word")
            }
            response = BinaryResponse(bytes: json, contentType: BinaryResponse.json)
        default:
            response = BinaryResponse(
                bytes: bytes.withUnsafeBytes { NPY.file(type: .float32, shape: [state.cache.dimension], data: $0) },
                contentType: BinaryResponse.npy)
        }
        response.reservation = try state.answerMemory.reserveUnlessSmall(
            response.body.readableBytes, for: context.channel)
        state.metrics.vectorsServed(1)
        return response
    }

    struct VectorsRequest: KnownKeys {
        var words: [Word]
        var missing: Choice<MissingWords>?
        /// With `"missing": "oov"`: the kind of vector (default: subword on a fastText cache, else random).
        var oov: Choice<OOVKind>?

        enum CodingKeys: String, CodingKey, CaseIterable { case words, missing, oov }
    }

    /// Several vectors in request order: `.npy` float32 `[n, dim]`, or their bare bytes with
    /// `Accept: application/octet-stream`; a 406 for an `Accept` that refuses both.
    @Sendable func vectors(_ request: Request, context: Context) async throws -> BinaryResponse {
        let type = try AcceptHeader.choose(among: MediaType.severalVectors, for: request)
        // Read as the lane reads it first, as fast and the same way; a body of any other form goes to the decoder,
        // which says what is wrong with it.
        let json = try await RequestBody.json(of: request, settings: state.settings)
        let (words, asked, kind): ([[UInt8]], MissingWords, OOVKind?)
        if let body = WordsBody.read(Array(json)) {
            (words, asked, kind) = (body.words.map(Array.init), body.missing, body.oov)
        } else {
            let parsed = try RequestBody.decode(
                VectorsRequest.self, json: json,
                expected: "{\"words\": [...], \"missing\": \"error\" | \"zero\" | \"oov\"}")
            (words, asked, kind) = (
                parsed.words.map(\.bytes), parsed.missing?.value ?? .error, parsed.oov?.value
            )
        }
        if let kind, asked != .oov {
            throw APIError(
                .badRequest,
                "\"oov\": \"\(kind.rawValue)\" is the kind of vector \"missing\": \"oov\" gives; with \"missing\": "
                    + "\"\(asked.rawValue)\" no word gets one")
        }
        let limit = state.settings.maxWordsPerRequest
        guard words.count <= limit else {
            throw APIError(
                .contentTooLarge, "\(words.count) words; at most \(limit) per request (server.max_words_per_request)")
        }
        let shape = [words.count, state.cache.dimension]
        // The rows, and the `.npy` file made of them (a header of at most 128 bytes).
        let reservation = try state.answerMemory.reserve(
            shape[0] * shape[1] * MemoryLayout<Float>.size + 128, for: context.channel)
        let missing: VectorRows.Missing =
            switch asked {
            case .error: .error
            case .zero: .zero
            case .oov: .oov(try await state.oovSource(kind: kind))
            }
        let rows = try await VectorRows.gather(words, from: state.vectors, missing: missing)
        if case .error = missing, !rows.unknown.isEmpty {
            throw APIError(
                .notFound,
                "not in the cache: "
                    + rows.unknown.prefix(100).map { "\"\(Printable.escape(bytes: $0))\"" }.joined(separator: ", ")
                    + (rows.unknown.count > 100 ? ", … (\(rows.unknown.count) in all)" : ""))
        }
        state.metrics.vectorsServed(words.count)
        var response =
            if type == .float32 {
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

extension MediaType {
    /// What `GET /v1/vectors/{word}` answers in, by `Accept` (``AcceptHeader``): `.npy` unless asked otherwise.
    static let oneVector: [MediaType] = [.npy, .float32, .json]
    /// What `POST /v1/vectors` answers in.
    static let severalVectors: [MediaType] = [.npy, .float32]
}

extension APIError {
    /// The 404 of `GET /v1/vectors/{word}` for a word the cache lacks (the router's, and ``VectorLane``'s).
    static func notInTheCache(_ word: some Collection<UInt8>) -> APIError {
        APIError(.notFound, "\"\(Printable.escape(bytes: word))\" is not in the cache")
    }
}

/// A vector as JSON, `{"kind":…,"oov":…,"vector":[…],"word":…}`: byte for byte what
/// ``ServerRequestContext/jsonEncoder()`` writes for a struct of these four fields (keys sorted, non-finite values
/// as ``NonFiniteJSON`` writes them), the values written straight from the float32 bytes (``EncodedNumber``): 1.8x the answers a second
/// of going through the encoder (docs/benchmarks.md). A word that is not UTF-8 keeps its bytes, as ``EscapedWords``
/// writes them.
enum VectorJSON {
    /// - Parameter kind: `word` (of the vectors file), `random` or `subword` (out-of-vocabulary vectors a prepare
    ///   stored).
    static func bytes(word: some Collection<UInt8>, vector: UnsafeRawBufferPointer, oov: Bool, kind: String) throws
        -> [UInt8]
    {
        let encoder = ServerRequestContext.jsonEncoder()
        var json = Array(#"{"kind":"#.utf8)
        json += try encoder.encode(kind)
        json += Array(#","oov":\#(oov),"vector":["#.utf8)
        for index in 0..<vector.count / MemoryLayout<Float>.size {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            let value = Float(
                bitPattern: UInt32(
                    littleEndian: vector.loadUnaligned(
                        fromByteOffset: index * MemoryLayout<Float>.size, as: UInt32.self)))
            json += EncodedNumber.text(value).utf8
        }
        json += Array(#"],"word":"#.utf8)
        EscapedWords.append(word, to: &json)
        json.append(UInt8(ascii: "}"))
        return json
    }
}
