import Foundation
import HTTPTypes
import Hummingbird
import Support

/// The secret a server shares with its trainers, read from a file (`--token-file`, `server.token_file`) so that it
/// never appears on a command line, in a log or in the metrics.
public struct BearerToken: Sendable {
    let bytes: [UInt8]

    /// Reads the token: the file's one line, without surrounding spaces (blank lines after it are passed over). It
    /// must be 16 to 4096 characters of RFC 6750's token alphabet (letters, digits, `-._~+/`, trailing `=`).
    /// - throws: ``TokenFileError`` naming the file and what is wrong.
    public init(file path: String) throws {
        let data: [UInt8]
        do {
            data = try RegularFile.contents(of: path, limit: 8192)
        } catch {
            throw TokenFileError(path: path, problem: error.expecting("a file holding the bearer token").problem)
        }
        let firstLine = data.prefix { $0 != 0x0A && $0 != 0x0D }
        // A second token (one being rotated in, say) would be passed over: trainers sending it would get 401s.
        guard data.dropFirst(firstLine.count).allSatisfy({ [0x0A, 0x0D, 0x20, 0x09].contains($0) }) else {
            throw TokenFileError(
                path: path, problem: "holds more than one line; expected one token, on the file's first line")
        }
        let token = Array(
            firstLine.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed())
        guard (16...4096).contains(token.count) else {
            throw TokenFileError(
                path: path,
                problem:
                    "holds a token of \(token.count) characters; expected 16 to 4096 (for instance `openssl rand -hex "
                    + "32`)"
            )
        }
        let alphabet = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/".utf8))
        let body = token.reversed().drop { $0 == UInt8(ascii: "=") }
        guard !body.isEmpty, body.allSatisfy(alphabet.contains) else {
            throw TokenFileError(
                path: path,
                problem: "holds characters a bearer token cannot have; expected letters, digits and -._~+/ (RFC 6750)")
        }
        bytes = token
    }

    /// Whether `candidate` is the token, in time that depends on the token's length only.
    func matches(_ candidate: some Collection<UInt8>) -> Bool {
        var difference = UInt8(candidate.count == bytes.count ? 0 : 1)
        var offered = candidate.makeIterator()
        for byte in bytes { difference |= byte ^ (offered.next() ?? 0) }
        return difference == 0
    }
}

extension BearerToken {
    /// Whether an `Authorization` header's value is `Bearer` (any case) and this token.
    func authorizes(_ header: String) -> Bool {
        let scheme = "bearer "
        return header.utf8.count > scheme.utf8.count && header.prefix(scheme.count).lowercased() == scheme
            && matches(header.utf8.dropFirst(scheme.utf8.count))
    }
}

/// A token file that cannot be used.
public struct TokenFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let problem: String
    public var description: String { "\(path): \(problem)" }
}

/// Requires `Authorization: Bearer TOKEN` on every route but `/healthz` (load balancers check it without one):
/// 401 otherwise, with `WWW-Authenticate`. The token is compared in constant time and never logged.
struct BearerAuthenticationMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: BearerToken

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if request.uri.path == "/healthz" { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        guard token.authorizes(header) else {
            throw APIError(
                .unauthorized,
                header.isEmpty
                    ? "this server requires a bearer token (Authorization: Bearer …)"
                    : "the bearer token is not this server's",
                headers: [.wwwAuthenticate: "Bearer realm=\"w2vcache\""])
        }
        return try await next(request, context)
    }
}
