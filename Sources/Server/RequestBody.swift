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
        let body = try await collect(request, settings: settings)
        if let encoding = request.headers[values: .contentEncoding].first(where: {
            $0.trimmingCharacters(in: .whitespaces).lowercased() != "identity"
        }) {
            throw APIError(
                .unsupportedMediaType,
                "the request body is sent with Content-Encoding: \(Printable.escape(encoding, limit: 80)); "
                    + "the server reads JSON bodies as they are, without an encoding")
        }
        let json = Data(body.readableBytesView)
        let notJSON = APIError(.badRequest, "expected a JSON body \(expected)")
        let value: T
        do {
            value = try JSONDecoder().decode(Checked<T>.self, from: json).value
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw notJSON  // not JSON at all
        } catch {
            // JSON of another shape: a key given twice may be why, and is named first.
            try refuseRepeatedKeys(json)
            throw error as? APIError ?? notJSON
        }
        try refuseRepeatedKeys(json)
        return value
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
