import Foundation
import HTTPTypes
import Hummingbird
import Support

/// A media type that a route answering in more than one chooses by the request's `Accept`. Public, as
/// ``AcceptHeader`` is, only so that the fuzz target can reach it.
public struct MediaType: Equatable, Sendable {
    /// `type/subtype`, lower case.
    public let name: String
    /// Where `/` is in ``name``'s bytes.
    private let slash: Int

    public init(_ name: String) {
        self.name = name
        slash = Array(name.utf8).firstIndex(of: UInt8(ascii: "/")) ?? name.utf8.count
    }

    public static let npy = MediaType("application/x-npy")
    public static let float32 = MediaType("application/octet-stream")
    public static let json = MediaType("application/json")

    /// How closely `range` names this type: 3 for `type/subtype`, 2 for `type/*`, 1 for `*/*`, 0 when it names
    /// another type.
    fileprivate func specificity(of range: MediaRange) -> Int {
        let bytes = name.utf8
        if AcceptHeader.isStar(range.type) { return 1 }
        guard AcceptHeader.equalIgnoringCase(range.type, bytes.prefix(slash)) else { return 0 }
        if AcceptHeader.isStar(range.subtype) { return 2 }
        return AcceptHeader.equalIgnoringCase(range.subtype, bytes.dropFirst(slash + 1)) ? 3 : 0
    }
}

/// A media range of an `Accept` header: `type/subtype`, `type/*` or `*/*`, with its weight.
private struct MediaRange {
    var type: ArraySlice<UInt8>
    var subtype: ArraySlice<UInt8>
    /// `q` in thousandths: 1000 when not given, 0 refuses.
    var weight: Int
}

/// The `Accept` header read as RFC 9110 (§12.5.1) says, for the routes that answer in more than one media type: each
/// range with its weight `q` (1 when not given; 0 refuses the type), the most specific range that names a type giving
/// its weight (`application/json` over `application/*` over `*/*`). The router and ``VectorLane`` (which reads the
/// value from the request's bytes) both choose through it, so that they give the same answer.
///
/// A range that cannot be read (`json`, `*/json`, `q=high`) names no type; `*` alone is read as `*/*` and `q=.5` as
/// `q=0.5`, as some HTTP libraries send them. Public only so that the fuzz target can reach it.
public enum AcceptHeader {
    /// The type of `offers` (the route's default first) that `accept` weighs most: on a tie the one a more specific
    /// range names, then the first. The default when `accept` is absent or blank; `nil` when it weighs every offer 0
    /// (the route's 406, ``APIError/notAcceptable(_:offers:)``).
    public static func choose(among offers: [MediaType], accept: ArraySlice<UInt8>?) -> MediaType? {
        guard let accept, accept.contains(where: { !isSpace($0) }) else { return offers.first }
        // The usual header, one type as it is named: that type (the reading below gives it too, at more cost).
        if let named = offers.first(where: { equalIgnoringCase(accept, $0.name.utf8) }) { return named }
        return withUnsafeTemporaryAllocation(of: (weight: Int, specificity: Int).self, capacity: offers.count) {
            best in
            best.initialize(repeating: (0, 0))
            var start = accept.startIndex
            while start < accept.endIndex {
                let end = endOfPiece(accept, from: start, at: UInt8(ascii: ","))
                if let range = mediaRange(accept[start..<end]) {
                    for (index, offer) in offers.enumerated() {
                        let specificity = offer.specificity(of: range)
                        if specificity > best[index].specificity { best[index] = (range.weight, specificity) }
                    }
                }
                start = end + 1
            }
            var chosen: Int?
            for index in offers.indices where best[index].weight > 0 {
                guard let current = chosen else {
                    chosen = index
                    continue
                }
                if best[index].weight > best[current].weight
                    || (best[index].weight == best[current].weight
                        && best[index].specificity > best[current].specificity)
                {
                    chosen = index
                }
            }
            return chosen.map { offers[$0] }
        }
    }

    /// The type of `offers` that `request`'s `Accept` fields (joined, as HTTP reads several) weigh most.
    /// - throws: ``APIError`` 406 naming the header and the offers when it weighs each 0.
    static func choose(among offers: [MediaType], for request: Request) throws -> MediaType {
        let fields = request.headers[values: .accept]
        let accept = fields.isEmpty ? nil : fields.joined(separator: ", ")
        guard let chosen = choose(among: offers, accept: accept.map { Array($0.utf8)[...] }) else {
            throw APIError.notAcceptable(accept ?? "", offers: offers)
        }
        return chosen
    }

    /// Where the piece of `text` starting at `start` ends: at the next `separator` (`,` between list elements, `;`
    /// between parameters) outside a quoted string, or at the end.
    private static func endOfPiece(_ text: ArraySlice<UInt8>, from start: Int, at separator: UInt8) -> Int {
        var index = start
        var quoted = false
        while index < text.endIndex {
            switch text[index] {
            case UInt8(ascii: "\""): quoted.toggle()
            case UInt8(ascii: "\\") where quoted: index += 1
            case separator where !quoted: return index
            default: break
            }
            index += 1
        }
        return text.endIndex
    }

    /// The range of one list element with its weight, or `nil` for an empty element or one that cannot be read.
    private static func mediaRange(_ element: ArraySlice<UInt8>) -> MediaRange? {
        var end = endOfPiece(element, from: element.startIndex, at: UInt8(ascii: ";"))
        let name = trimmed(element[..<end])
        var range: MediaRange
        if isStar(name) {
            range = MediaRange(type: name, subtype: name, weight: 1000)
        } else {
            // A token holds no `/`: `a/b/c` is no range.
            guard let slash = name.firstIndex(of: UInt8(ascii: "/")) else { return nil }
            let (type, subtype) = (name[..<slash], name[(slash + 1)...])
            guard isToken(type), isToken(subtype), !isStar(type) || isStar(subtype) else { return nil }
            range = MediaRange(type: type, subtype: subtype, weight: 1000)
        }
        while end < element.endIndex {
            let start = end + 1
            end = endOfPiece(element, from: start, at: UInt8(ascii: ";"))
            let parameter = trimmed(element[min(start, end)..<end])
            guard parameter.count >= 2, parameter.first! | 0x20 == UInt8(ascii: "q"),
                parameter[parameter.startIndex + 1] == UInt8(ascii: "=")
            else { continue }
            guard let weight = weight(parameter.dropFirst(2)) else { return nil }
            range.weight = weight
        }
        return range
    }

    /// A weight from 0 to 1 in thousandths (`0`, `0.5`, `1.000`, `.5`; digits past the third cut), or `nil`.
    private static func weight(_ text: ArraySlice<UInt8>) -> Int? {
        let point = text.firstIndex(of: UInt8(ascii: ".")) ?? text.endIndex
        let whole = text[..<point]
        let fraction = text[point...].dropFirst()
        guard whole.count <= 1, whole.allSatisfy(isDigit), fraction.allSatisfy(isDigit),
            !whole.isEmpty || !fraction.isEmpty
        else { return nil }
        var thousandths = Int(whole.first.map { $0 - UInt8(ascii: "0") } ?? 0) * 1000
        var place = 100
        for digit in fraction.prefix(3) {
            thousandths += Int(digit - UInt8(ascii: "0")) * place
            place /= 10
        }
        return thousandths <= 1000 ? thousandths : nil
    }

    fileprivate static func equalIgnoringCase(_ text: ArraySlice<UInt8>, _ lowercase: some Collection<UInt8>) -> Bool {
        text.count == lowercase.count
            && zip(text, lowercase).allSatisfy { byte, lower in
                byte == lower || ((0x41...0x5A).contains(byte) && byte | 0x20 == lower)
            }
    }

    private static func trimmed(_ text: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard let first = text.firstIndex(where: { !isSpace($0) }) else { return text[text.endIndex...] }
        return text[first...(text.lastIndex(where: { !isSpace($0) })!)]
    }

    fileprivate static func isStar(_ text: ArraySlice<UInt8>) -> Bool {
        text.count == 1 && text.first == UInt8(ascii: "*")
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }

    /// RFC 9110's token: letters, digits, the backquote and !#$%&'*+-.^_|~.
    private static func isToken(_ text: ArraySlice<UInt8>) -> Bool {
        !text.isEmpty
            && text.allSatisfy { byte in
                switch byte {
                case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x23...0x27: true
                case UInt8(ascii: "!"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
                    UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
                    true
                default: false
                }
            }
    }
}

/// On the `/v1` routes: an answer of a type that the request's `Accept` weighs 0 is a 406 instead, so that a client
/// that asked for a type it would not get (`Accept: application/json` on an `.npz` batch) is told, not handed bytes
/// it reads as another type. The vector routes choose among their types (``AcceptHeader/choose(among:for:)``)
/// and are not behind this check. `/healthz` and `/metrics` answer whatever monitors ask.
struct AcceptMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let response = try await next(request, context)
        guard request.headers[.accept] != nil, (200..<300).contains(response.status.code),
            let contentType = response.headers[.contentType]
        else { return response }
        let type = contentType.prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces).lowercased()
        _ = try AcceptHeader.choose(among: [MediaType(type)], for: request)
        return response
    }
}

extension APIError {
    /// The 406 for an `Accept` header that weighs every type a route answers 0.
    static func notAcceptable(_ accept: String, offers: [MediaType]) -> APIError {
        APIError(
            .notAcceptable,
            "Accept: \(Printable.escape(accept, limit: 200)) asks for none of the types this route answers: "
                + offers.map(\.name).joined(separator: ", "))
    }
}
