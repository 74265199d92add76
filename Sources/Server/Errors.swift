import Datasets
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Support
import VectorCache

/// An answer to a failed request: a status and a message, sent as JSON `{"error": "..."}`.
public struct APIError: Error, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    /// Close the connection after answering (the request body was not read to its end).
    public var closeConnection = false

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// The answer to any error a handler throws: library errors get the status that fits them (a missing dataset
    /// 404, a damaged cache 500 naming the damage), anything unforeseen a 500 that says what it was.
    init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as DatasetError:
            switch error {
            case .notPrepared, .noSuchSplit, .noSuchExample: self.init(.notFound, error.description)
            case .notOneBucket, .unusableInput: self.init(.badRequest, error.description)
            case .damaged: self.init(.internalServerError, error.description)
            }
        case let error as CacheError:
            self.init(.internalServerError, error.description)
        case let error as HTTPError:
            self.init(error.status, error.body ?? error.status.reasonPhrase)
            closeConnection = error.status == .contentTooLarge
        default:
            self.init(.internalServerError, "internal error: \(error)")
        }
    }

    struct Body: Encodable {
        let error: String
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(Body(error: message))
        var headers: HTTPFields = [.contentType: "application/json"]
        if closeConnection { headers[.connection] = "close" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The one place where errors become answers: every error a route throws is answered as JSON with its status
/// (``APIError/init(_:)``) and logged at warning level, with control characters escaped.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let answer = APIError(error)
            context.logger.warning(
                "\(request.method) \(Printable.escape(request.uri.description, limit: 300)): \(answer.status.code) \(Printable.escape(answer.message, limit: 500))")
            return try answer.response(from: request, context: context)
        }
    }
}
