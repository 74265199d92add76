import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Behind the codec: gives the answer Hummingbird writes when a request's head cannot be read (a bare 400 with no
/// body, then a close) the status and JSON message every other failure has, as ``ParserFailure`` says them: a
/// request line and headers past ``ParserFailure/headLimit`` (a long word in a `GET` path) is a 431 naming that
/// bound, not a 400 that says nothing, with the headers every answer has (the cache's fingerprint, `Date`, `Server`).
/// The answer is logged with the other failures and counted in `/metrics` under the route `unreadable`, as the
/// router's are. (A head cut short by the client closing its side gets no answer.)
final class ParserFailureAnswer: HTTPPartsHandler, RemovableChannelHandler {
    private let failures: FailureLog
    private let metrics: ServerMetrics
    private let answers: VectorAnswers
    private let logger: Logger
    /// The decoder's failure and when it came, until its answer is written.
    private var failure: (error: HTTPParserError, at: ContinuousClock.Instant)?

    /// Logs each answer in `failures` through `logger` and counts it in `metrics`; `answers` gives its fingerprint and
    /// date.
    init(failures: FailureLog, metrics: ServerMetrics, answers: VectorAnswers, logger: Logger) {
        self.failures = failures
        self.metrics = metrics
        self.answers = answers
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError { failure = (error, .now) }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard let (error, started) = failure, case .head(var head) = unwrapOutboundIn(data),
            head.status == .badRequest, head.headerFields[.contentLength] == "0"
        else {
            context.write(data, promise: promise)
            return
        }
        failure = nil
        let (status, message) = ParserFailure.answer(error)
        let body = ErrorBody.json(message)
        head.status = status
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(body.count)
        head.headerFields[FingerprintMiddleware<ServerRequestContext>.header] = answers.fingerprint
        head.headerFields[.date] = answers.date
        head.headerFields[.server] = serverName
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: promise)
        failures.log(
            ErrorMiddleware<ServerRequestContext>.line("(unreadable)", "request", status, message), level: .warning,
            to: logger)
        metrics.record(
            route: ParserFailure.route, status: Int(status.code),
            seconds: (ContinuousClock.now - started) / .seconds(1),
            bytes: body.count)
    }
}

/// What a request that is not readable HTTP/1.1 is answered, before a route or after (a body cut short).
enum ParserFailure {
    /// The most bytes of a request's line and headers the server reads (what NIO's decoder takes by default).
    static let headLimit = 80 * 1024

    /// The route `/metrics` counts these answers under.
    static let route = "unreadable"

    /// The status and message of `error`'s answer.
    static func answer(_ error: HTTPParserError) -> (HTTPResponse.Status, String) {
        if error == .headerOverflow {
            return (
                .init(code: 431),
                "the request's line and headers are more than the \(headLimit / 1024) KB the server reads; a word "
                    + "that long is asked for in the body of POST /v1/vectors"
            )
        }
        return (.badRequest, "the request is not valid HTTP/1.1 (\(error)); expected a well-formed request")
    }
}
