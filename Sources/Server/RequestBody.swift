import Foundation
import HTTPTypes
import Hummingbird
import Support

/// Reading request bodies within the server's limit: the one way a route reads one.
enum RequestBody {
    /// The body of `request` decoded from JSON as `T`, at most `settings.maxBodyBytes` bytes, with no key `T` does
    /// not read. The body is read as sent: one with a `Content-Encoding` (gzip, …) is refused, not parsed as JSON.
    /// - Parameter expected: the body's shape, for the 400 that a body of another shape gets.
    /// - throws: ``APIError`` 413 naming the limit, 415 naming an encoding, 400 naming an unknown key or a key given
    ///   twice, or saying what was expected.
    static func decode<T: KnownKeys>(
        _ type: T.Type, from request: Request, settings: ServerSettings, expected: String
    ) async throws -> T {
        try decode(type, json: try await json(of: request, settings: settings), expected: expected)
    }

    /// The body of `request` as it was sent, at most `settings.maxBodyBytes` bytes, to be read as JSON.
    /// - throws: ``APIError`` 413 naming the limit, 415 naming an encoding.
    static func json(of request: Request, settings: ServerSettings) async throws -> Data {
        let body = try await collect(request, settings: settings)
        if let encoding = request.headers[values: .contentEncoding].first(where: {
            $0.trimmingCharacters(in: .whitespaces).lowercased() != "identity"
        }) {
            throw APIError(
                .unsupportedMediaType,
                "the request body is sent with Content-Encoding: \(Printable.escape(encoding, limit: 80)); "
                    + "the server reads JSON bodies as they are, without an encoding")
        }
        return Data(body.readableBytesView)
    }

    /// `json` decoded as `T`, with no key `T` does not read.
    /// - throws: ``APIError`` 400 naming an unknown key or a key given twice, or saying what was expected.
    static func decode<T: KnownKeys>(_ type: T.Type, json: Data, expected: String) throws -> T {
        let value: T
        do {
            value = try decoded(Checked<T>.self, json: json).value
        } catch {
            if case DecodingError.dataCorrupted(let context) = error, context.codingPath.isEmpty,
                let fault = json.withUnsafeBytes({ JSONSyntax.firstFault(in: $0, surrogateEscapes: true) })
            {
                // Not JSON at all: where it stops being JSON, which the decoder does not say.
                throw APIError(.badRequest, "the body is not JSON: \(fault) (this route reads a JSON body \(expected))")
            }
            // JSON of another shape: a key given twice may be why, and is named first.
            try refuseRepeatedKeys(json)
            if let error = error as? APIError { throw error }
            let fault = (error as? DecodingError).flatMap(shapeFault) ?? "the body is not what this route reads"
            throw APIError(.badRequest, "\(fault) (this route reads a JSON body \(expected))")
        }
        try refuseRepeatedKeys(json)
        return value
    }

    /// `json` decoded as `T` by Foundation's decoder; one whose strings hold bytes that are not UTF-8, which that
    /// decoder refuses, with those strings taken out (``EscapedWords``) and read as ``Word``s. So every string a
    /// route reads from a body is a ``Word`` (or a ``Choice``, which reads one): read as a `String`, a string taken
    /// out would be its stand-in.
    private static func decoded<T: Decodable>(_ type: T.Type, json: Data) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: json)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            guard json.withUnsafeBytes({ JSONSyntax.firstFault(in: $0, surrogateEscapes: true) }) == nil,
                let taken = EscapedWords.takeOut(of: Array(json))
            else { throw DecodingError.dataCorrupted(context) }
            let decoder = JSONDecoder()
            decoder.userInfo[EscapedWords.userInfoKey] = taken.escaped
            return try decoder.decode(type, from: Data(taken.json))
        }
    }

    /// Where a body of JSON is not of the shape a route reads, and what was expected there, as the decoder says. A
    /// number that does not fit an `Int`, such as `"top": 1.5`, the decoder reports with no place: routes read whole
    /// numbers as ``WholeNumber``, which names it.
    private static func shapeFault(_ error: DecodingError) -> String? {
        switch error {
        case .typeMismatch(let type, let context): "\(place(context.codingPath)): expected \(name(of: type))"
        case .valueNotFound(let type, let context):
            "\(place(context.codingPath)): expected \(name(of: type)), found null"
        case .keyNotFound(let key, let context):
            "\(place(context.codingPath)) has no key \"\(Printable.escape(key.stringValue, limit: 80))\""
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            "\(place(context.codingPath)): \(Printable.escape(context.debugDescription, limit: 200))"
        case .dataCorrupted:
            // With no place: JSON (``JSONSyntax`` found no fault) that the decoder still could not read.
            "the body is JSON, but a number in it is not one its key takes (a fraction, or a number out of range, "
                + "where a whole number is expected)"
        default: nil
        }
    }

    /// A place in the body as a message names it: `the body`, `words[3]`, `queries[0].positive`.
    private static func place(_ path: [any CodingKey]) -> String {
        guard !path.isEmpty else { return "the body" }
        return path.enumerated().map { position, key in
            if let index = key.intValue { return "[\(index)]" }
            return (position == 0 ? "" : ".") + Printable.escape(key.stringValue, limit: 80)
        }.joined()
    }

    /// What a value of `type` is in JSON, as a message names it.
    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is any FixedWidthInteger.Type: "a whole number"
        case is any BinaryFloatingPoint.Type: "a number"
        case is Bool.Type: "true or false"
        default:
            String(describing: type).hasPrefix("Array")
                ? "a list"
                : String(describing: type).hasPrefix("Dictionary") ? "an object" : "a value of another type"
        }
    }

    /// - throws: ``APIError`` 400 naming the first key that one object of `json` gives twice (``RepeatedKey``).
    private static func refuseRepeatedKeys(_ json: Data) throws {
        guard let repeated = json.withUnsafeBytes({ RepeatedKey.first(in: $0) }) else { return }
        throw APIError(
            .badRequest,
            "the key \"\(Printable.escape(repeated.key, limit: 80))\" is given twice\(repeated.place); "
                + "expected each key once")
    }

    /// The body of `request`, at most `settings.maxBodyBytes` bytes.
    ///
    /// A longer body is read on to its end and discarded (for up to `settings.drainTime`) before the 413 is sent, with
    /// `Connection: close`: clients that send the whole body before reading the answer (urllib, requests) would
    /// otherwise block on a full socket and never see it. nginx's lingering close does the same. A client that
    /// announced the body with `Expect: 100-continue` and a `Content-Length` over the limit has sent nothing yet, and
    /// gets its 413 at once.
    /// - throws: ``APIError`` 413 naming the limit.
    static func collect(_ request: Request, settings: ServerSettings) async throws -> ByteBuffer {
        let limit = settings.maxBodyBytes
        let tooLarge = APIError(
            .contentTooLarge, "the request body is over \(limit) bytes, the server's limit (server.max_body_kb)",
            headers: [.connection: "close"])
        let announced = request.headers[.contentLength].flatMap { Int($0) }
        if let announced, announced > limit, request.headers[.expect]?.lowercased() == "100-continue" {
            throw tooLarge
        }
        var buffer = ByteBuffer()
        var received = 0
        var iterator = request.body.makeAsyncIterator()
        while let chunk = try await iterator.next() {
            received += chunk.readableBytes
            if received > limit { break }
            buffer.writeImmutableBuffer(chunk)
        }
        guard received > limit else { return buffer }
        let deadline = ContinuousClock.now + settings.drainTime
        while ContinuousClock.now < deadline, try await iterator.next() != nil {}
        throw tooLarge
    }
}
