import Datasets
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Similarity
import Support
import VectorCache

// The one place where errors become answers. Every error a route can meet is one of the libraries' own types; each
// conforms here to Hummingbird's `HTTPResponseError` with the status that fits it and a JSON body
// `{"error": "..."}`. Statuses mean what docs/http-api.md says: 4xx the request, 404 what does not exist, 500 a damaged
// cache, 503 what the server cannot do now.

/// An error the server itself defines: a status and a message (its description, as the log shows it).
public struct APIError: Error, CustomStringConvertible, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    /// Headers to add (`Allow`, `WWW-Authenticate`, `Connection: close`).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { message }
}

/// The JSON answer to a failed request.
///
/// Messages quote what the request carried (words, query values, names), which a client prints or logs: their
/// control characters are escaped here, for every error, as ``Printable`` writes them, and a message is cut at
/// ``maxMessageCharacters``.
struct ErrorBody: Encodable {
    let error: String

    /// The longest message an answer carries (a list of unknown words can be longer): the rest is cut, with `…`.
    static let maxMessageCharacters = 4096

    static func response(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: json(message))))
    }

    /// The body of the answer: `{"error": message}`.
    static func json(_ message: String) -> Data {
        let body = ErrorBody(error: Printable.escape(message, limit: maxMessageCharacters))
        return (try? JSONEncoder().encode(body)) ?? Data("{\"error\": \"\"}".utf8)
    }
}

extension APIError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ErrorBody.response(status, message, headers: headers)
    }
}

extension CacheError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch kind {
        case .missing: .notFound
        case .badInput, .refused: .badRequest
        case .inUse, .busy, .unavailable, .interrupted: .serviceUnavailable
        case .notACache, .corrupt, .incompatible, .io: .internalServerError
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ErrorBody.response(status, message, headers: status == .serviceUnavailable ? [.retryAfter: "5"] : [:])
    }
}

extension DatasetError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch self {
        case .notPrepared, .noSuchSplit, .noSuchExample: .notFound
        case .notOneBucket, .unusableInput: .badRequest
        case .damaged: .internalServerError
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ErrorBody.response(status, description)
    }
}

extension SimilarityError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch kind {
        case .unknownWords: .notFound
        case .unusableQuery, .badInput: .badRequest
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ErrorBody.response(status, message)
    }
}

extension EpochRequest.Violation: HTTPResponseError {
    public var status: HTTPResponse.Status { .badRequest }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ErrorBody.response(status, message)
    }
}

/// Errors answered by this layer, and those that are not errors of the server at all. Each failure is logged, at a
/// bounded rate (``FailureLog``).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Where the answered failures (4xx, 503) are logged, at warning.
    let failures: FailureLog
    /// Where the unforeseen errors (500) are logged, at error.
    let unforeseen: FailureLog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            // Hummingbird's own (an unknown path): answered as JSON like every other error.
            let message =
                error.body
                ?? (error.status == .notFound ? Self.noRoute(request.uri.path) : error.status.reasonPhrase)
            log(request, context, error.status, message)
            return ErrorBody.response(error.status, message, headers: error.headers)
        } catch let error as any HTTPResponseError {
            log(request, context, error.status, "\(error)")
            return try error.response(from: request, context: context)
        } catch let error as HTTPParserError {
            if Self.clientLeft(error) { throw ClientLeft(request: request, context: context) }
            let (status, message) = ParserFailure.answer(error)
            log(request, context, status, message)
            return ErrorBody.response(status, message, headers: [.connection: "close"])
        } catch let error as ChannelError where error == .ioOnClosedChannel || error == .eof || error == .inputClosed {
            throw ClientLeft(request: request, context: context)
        } catch let error as IOError {
            // The connection failed under the request (reset by the peer): nobody is left to answer.
            throw ClientLeft(request: request, context: context, reason: "\(error)")
        } catch {
            // Unforeseen: the answer says only that it happened and where to look; the log says what it was.
            let reference = String(UInt32.random(in: .min ... .max), radix: 16)
            let line = ErrorMiddleware.describe(request)
            unforeseen.log(
                "\(line): unforeseen error \(reference): \(Printable.escape("\(error)", limit: 1000))", level: .error,
                to: context.logger)
            return ErrorBody.response(.internalServerError, "internal error \(reference); the server's log says more")
        }
    }

    /// The router's 404, for a path no route takes: it names the path, and for a word with `/` in it (`AC/DC`), how
    /// to ask for it; "Not Found" alone read as a word the cache lacks.
    static func noRoute(_ path: String) -> String {
        let vectors = "/v1/vectors/"
        let named = Printable.escape(path, limit: 300)
        guard path.hasPrefix(vectors), path.count > vectors.count else {
            return
                "no route for \(named); the routes are /healthz, /metrics, /v1/info, /v1/vectors, /v1/vectors/{word}, "
                + "/v1/similar, /v1/datasets and the dataset routes below it (docs/http-api.md)"
        }
        let word = path.dropFirst(vectors.count).replacing("/", with: "%2F")
        return "no route for \(named): a word with / in it is asked for with the / percent-encoded, "
            + "\(vectors)\(Printable.escape(word, limit: 300))"
    }

    /// A body cut short by the client closing its connection.
    static func clientLeft(_ error: HTTPParserError) -> Bool {
        error == .invalidEOFState
    }

    private func log(_ request: Request, _ context: Context, _ status: HTTPResponse.Status, _ message: String) {
        failures.log(
            Self.line(request.method.rawValue, request.uri.description, status, message), level: .warning,
            to: context.logger)
    }

    /// The log line of an answered failure.
    static func line(_ method: String, _ target: String, _ status: HTTPResponse.Status, _ message: String) -> String {
        "\(describe(method, target)): \(status.code) \(Printable.escape(message, limit: 500))"
    }

    /// A request's method and target as a log names them: control characters escaped, a long target cut.
    static func describe(_ request: Request) -> String {
        describe(request.method.rawValue, request.uri.description)
    }

    private static func describe(_ method: String, _ target: String) -> String {
        "\(method) \(Printable.escape(target, limit: 300))"
    }
}

/// The client closed its connection while its request was read: nobody is left to answer, so the request is logged
/// at debug level and not counted as an answer (its "status" would be the server's invention).
struct ClientLeft: HTTPResponseError {
    var status: HTTPResponse.Status { .badRequest }

    init<Context: RequestContext>(request: Request, context: Context, reason: String = "the connection closed") {
        let line = ErrorMiddleware<Context>.describe(request)
        context.logger.debug("\(line): the client left (\(Printable.escape(reason, limit: 200)))")
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: [.connection: "close"])
    }
}
