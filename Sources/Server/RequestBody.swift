import Hummingbird

/// Reading request bodies within the server's limit.
enum RequestBody {
    /// How long an over-limit body is read and discarded before the 413 is sent anyway (nginx's `lingering_time`).
    static let drainTime = Duration.seconds(30)

    /// The body of `request`, at most `limit` bytes.
    ///
    /// A longer body is read on to its end and discarded (for up to ``drainTime``) before the 413 is sent, with
    /// `Connection: close`: clients that send the whole body before reading the answer (urllib, requests) would
    /// otherwise block on a full socket and never see it. nginx's lingering close does the same.
    /// - throws: ``APIError`` 413 naming the limit.
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        var buffer = ByteBuffer()
        var received = 0
        var iterator = request.body.makeAsyncIterator()
        while let chunk = try await iterator.next() {
            received += chunk.readableBytes
            if received > limit { break }
            buffer.writeImmutableBuffer(chunk)
        }
        guard received > limit else { return buffer }
        let deadline = ContinuousClock.now + drainTime
        while ContinuousClock.now < deadline, try await iterator.next() != nil {}
        var error = APIError(.contentTooLarge, "the request body is over \(limit) bytes, the server's limit (server.max_body_kb)")
        error.closeConnection = true
        throw error
    }
}
