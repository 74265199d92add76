import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import NumPyFormat
import Support
import Synchronization
import VectorCache

#if canImport(Glibc)
import Glibc
#endif

/// Answers `GET /v1/vectors/{word}` for a word the cache has, in `.npy` or as bare float32, on the connection's
/// event loop: the answer the router would give, byte for byte, without the hops to Swift concurrency and back that
/// cost a request three quarters of its time (the route that single-vector clients call in a loop, as they would
/// Redis's `GET`).
///
/// Everything else goes on to the router: other paths and methods, JSON, a word the cache lacks (the router's 404
/// is logged), a missing or wrong bearer token (401), a request with a body or `Connection: close`. A request also
/// goes on while an earlier one of the connection is still being answered by the router, so that answers keep the
/// order of their requests. The metrics count what this handler answers as they count the router's.
final class VectorFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let route = "/v1/vectors/{word}"
    private static let prefix = Array("/v1/vectors/".utf8)

    private let state: ServerState
    private let dates: HTTPDate
    /// Requests handed to the router whose answers have not ended.
    private var forwarded = 0
    /// The answer to a request taken here, sent when the request's end arrives.
    private var pending: (response: HTTPResponse, body: ByteBuffer, started: ContinuousClock.Instant)?

    init(state: ServerState, dates: HTTPDate) {
        self.state = state
        self.dates = dates
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if forwarded == 0, let answer = answer(request, allocator: context.channel.allocator) {
                pending = (answer.0, answer.1, .now)
                return
            }
            forwarded += 1
        case .body:
            // Never for a request taken here: those have no body.
            break
        case .end:
            if let (response, body, started) = pending {
                pending = nil
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                context.write(wrapOutboundOut(.body(body)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                let elapsed = ContinuousClock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                state.metrics.record(route: Self.route, status: 200, seconds: seconds, bytes: body.readableBytes)
                return
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), forwarded > 0 { forwarded -= 1 }
        context.write(data, promise: promise)
    }

    /// The answer to `request` when this handler gives it, else `nil`.
    private func answer(_ request: HTTPRequest, allocator: ByteBufferAllocator) -> (HTTPResponse, ByteBuffer)? {
        guard request.method == .get, var path = request.path?.utf8[...],
            path.starts(with: Self.prefix),
            request.headerFields[.contentLength].map({ $0 == "0" }) ?? true,
            request.headerFields[.transferEncoding] == nil,
            !(request.headerFields[.connection]?.lowercased().contains("close") ?? false)
        else { return nil }
        path = path.dropFirst(Self.prefix.count)
        if let query = path.firstIndex(of: UInt8(ascii: "?")) { path = path[..<query] }
        guard !path.isEmpty, !path.contains(UInt8(ascii: "/")) else { return nil }
        if let token = state.token, !token.authorizes(request.headerFields[.authorization] ?? "") { return nil }
        let accept = request.headerFields[.accept] ?? ""
        if accept.contains("application/json") { return nil }
        let bare = accept.contains(BinaryResponse.float32)

        let raw = String(decoding: path, as: UTF8.self)
        let word = raw.removingPercentEncoding ?? raw
        let dimension = state.cache.dimension
        let body: ByteBuffer?
        do {
            body = try state.cache.withVectorBytes(for: Array(word.utf8)) { bytes -> ByteBuffer? in
                guard let bytes else { return nil }
                if bare { return allocator.buffer(bytes: bytes) }
                return bytes.withUnsafeBytes {
                    allocator.buffer(bytes: NPY.file(type: .float32, shape: [dimension], data: $0))
                }
            }
        } catch {
            return nil  // the router meets the same error and answers it
        }
        guard let body else { return nil }
        state.metrics.vectorsServed(1)
        var response = HTTPResponse(status: .ok)
        response.headerFields[.contentType] = bare ? BinaryResponse.float32 : BinaryResponse.npy
        if bare { response.headerFields[BinaryResponse.shapeHeader] = "\(dimension)" }
        response.headerFields[.contentLength] = "\(body.readableBytes)"
        response.headerFields[FingerprintMiddleware<ServerRequestContext>.header] = state.fingerprint
        response.headerFields[.date] = dates.now()
        response.headerFields[.server] = serverName
        return (response, body)
    }
}

/// The `Date` header's value, formatted once a second (RFC 9110's IMF-fixdate: `Tue, 01 Dec 2026 12:19:55 GMT`).
final class HTTPDate: Sendable {
    private let cached = Mutex<(second: Int, text: String)>((-1, ""))
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    func now() -> String {
        var seconds = time(nil)
        return cached.withLock { cached in
            if cached.second != Int(seconds) {
                var parts = tm()
                gmtime_r(&seconds, &parts)
                func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
                let text =
                    "\(Self.days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(Self.months[Int(parts.tm_mon)]) "
                    + "\(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
                cached = (Int(seconds), text)
            }
            return cached.text
        }
    }
}
