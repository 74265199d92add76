import Foundation
import HTTPTypes
import Hummingbird
import Support

/// The parameters of a request's query as sent, for the two checks Hummingbird's form decoder cannot make: it passes
/// over a piece without `=` (`?world_size`), so that a route would answer its default, and it is never called on a
/// route that reads no query, so that `GET /v1/vectors/king?format=json` would get `.npy` without a word.
struct QueryParameter {
    /// The name, percent-decoded where it can be (as sent where it cannot).
    var name: String
    /// Whether the piece had `=` (`name=` has an empty value; `name` alone has none).
    var hasValue: Bool

    /// The non-empty `&`-separated pieces of `query`, in order: `?` alone and `a=1&&b=2`'s empty piece are no
    /// parameters.
    static func all(in query: String) -> [QueryParameter] {
        query.split(separator: "&").map { piece in
            let name = piece.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            return QueryParameter(name: name.removingPercentEncoding ?? String(name), hasValue: piece.contains("="))
        }
    }
}

extension APIError {
    /// The 400 for a parameter (of a query or a JSON body) that the route does not read, naming it, where it is, and
    /// the ones the route reads (`expected` empty: it takes none).
    static func unknownParameter(_ name: String, place: String = "", expected: [String]) -> APIError {
        APIError(
            .badRequest,
            "unknown parameter \"\(Printable.escape(name, limit: 80))\"\(place); "
                + (expected.isEmpty
                    ? "this route takes no query parameters" : "expected " + expected.joined(separator: ", ")))
    }
}

/// On the routes that read no query (every `/v1` route but the batch routes): a parameter is a 400 naming it, as an
/// unknown one is where a query is read (``Checked``), rather than the answer the route gives without it.
struct NoQueryMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if let first = QueryParameter.all(in: request.uri.query ?? "").first {
            throw APIError.unknownParameter(first.name, expected: [])
        }
        return try await next(request, context)
    }
}
