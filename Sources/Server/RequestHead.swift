/// An HTTP/1.1 request head read from a connection's raw bytes, strictly: what ``VectorLane`` needs to answer a
/// vector itself, or to know where the request ends so that it can hand it on whole to the HTTP decoder.
///
/// Only heads with no doubt about their length are read: the request line `METHOD TARGET HTTP/1.1`, header lines
/// `name: value` ending in CRLF, visible ASCII only, and a body announced by a single `Content-Length` of digits.
/// Everything HTTP allows beyond that (`Transfer-Encoding`, `Expect`, `Upgrade`, a `Connection` other than
/// `keep-alive`, folded lines, bare LFs, other versions, non-ASCII bytes, heads over ``maximumLength``) is
/// ``Reading/unframed``: the lane then hands the connection to the HTTP decoder for good, which reads such heads
/// as HTTP says (or answers 400), so the two can never disagree on where a request ends.
/// Public only so that the fuzz target can reach it.
public struct RequestHead: Equatable, Sendable {
    /// What the bytes at the start of a buffer are.
    public enum Reading: Equatable, Sendable {
        /// Not a whole head yet.
        case incomplete
        /// A head (and body) whose end is certain.
        case framed(RequestHead)
        /// A request this reader leaves to the HTTP decoder.
        case unframed
    }

    /// The longest head read; a longer one is ``Reading/unframed`` (the decoder bounds heads itself).
    public static let maximumLength = 16 * 1024

    /// The head's bytes, its final CRLF included.
    public var length: Int
    /// The body's bytes, from `Content-Length` (0 without one).
    public var bodyLength: Int
    public var method: ArraySlice<UInt8>
    /// The request target as sent (path and query, percent-encoded).
    public var target: ArraySlice<UInt8>
    /// `Accept`, when sent once.
    public var accept: ArraySlice<UInt8>?
    /// `Authorization`, when sent once.
    public var authorization: ArraySlice<UInt8>?
    /// Whether `Accept` or `Authorization` came more than once.
    public var repeatsAHeader = false
    /// Whether a `Content-Encoding` other than `identity` came: the body is not the JSON to read.
    public var encodesItsBody = false

    /// Reads the head at the start of `bytes`.
    public static func read(_ bytes: [UInt8]) -> Reading {
        var lines = LineReader(bytes: bytes)
        guard let requestLine = lines.next() else { return lines.failed ? .unframed : .incomplete }
        guard let (method, target) = Self.requestLine(bytes[requestLine]) else { return .unframed }
        var head = RequestHead(length: 0, bodyLength: 0, method: method, target: target)
        var contentLength: Int?
        while true {
            guard let line = lines.next() else { return lines.failed ? .unframed : .incomplete }
            if line.isEmpty { break }
            guard let (name, value) = Self.field(bytes[line]) else { return .unframed }
            if Self.is(name, "content-length") {
                guard contentLength == nil, let announced = Self.digits(value) else { return .unframed }
                contentLength = announced
            } else if Self.is(name, "transfer-encoding") || Self.is(name, "expect") || Self.is(name, "upgrade") {
                return .unframed
            } else if Self.is(name, "connection") {
                guard Self.is(value, "keep-alive") else { return .unframed }
            } else if Self.is(name, "accept") {
                head.repeatsAHeader = head.repeatsAHeader || head.accept != nil
                head.accept = value
            } else if Self.is(name, "authorization") {
                head.repeatsAHeader = head.repeatsAHeader || head.authorization != nil
                head.authorization = value
            } else if Self.is(name, "content-encoding") {
                head.encodesItsBody = head.encodesItsBody || !Self.is(value, "identity")
            }
        }
        head.length = lines.offset
        head.bodyLength = contentLength ?? 0
        return .framed(head)
    }

    private static let version = Array(" HTTP/1.1".utf8)

    /// `METHOD SP TARGET SP HTTP/1.1`: a method of capital letters, a target of visible ASCII.
    private static func requestLine(_ line: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>)? {
        let version = Self.version
        guard line.count > version.count, line.suffix(version.count).elementsEqual(version) else { return nil }
        let methodAndTarget = line.dropLast(version.count)
        guard let space = methodAndTarget.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        let method = methodAndTarget[..<space]
        let target = methodAndTarget[(space + 1)...]
        guard (1...16).contains(method.count), method.allSatisfy({ (0x41...0x5A).contains($0) }), !target.isEmpty,
            target.allSatisfy({ (0x21...0x7E).contains($0) })
        else { return nil }
        return (method, target)
    }

    /// `name: value`, the value without the whitespace around it.
    private static func field(_ line: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return nil }
        let name = line[..<colon]
        guard name.allSatisfy(isTokenByte) else { return nil }
        var value = line[(colon + 1)...]
        guard value.allSatisfy({ $0 == 0x09 || (0x20...0x7E).contains($0) }) else { return nil }
        while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
        while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
        return (name, value)
    }

    /// 1 to 18 decimal digits and nothing else.
    private static func digits(_ value: ArraySlice<UInt8>) -> Int? {
        guard (1...18).contains(value.count), value.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return value.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// RFC 9110's `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// Whether `bytes` are `lowercase` in any case (ASCII).
    private static func `is`(_ bytes: ArraySlice<UInt8>, _ lowercase: StaticString) -> Bool {
        bytes.count == lowercase.utf8CodeUnitCount
            && zip(bytes, UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount))
                .allSatisfy { ((0x41...0x5A).contains($0) ? $0 | 0x20 : $0) == $1 }
    }
}

/// The CRLF-ended lines of a head, from the start of a buffer, within ``RequestHead/maximumLength``.
private struct LineReader {
    let bytes: [UInt8]
    /// Where the next line starts.
    var offset = 0
    /// Set when the bytes cannot be a head this reader takes: a bare CR or LF, or a head too long.
    var failed = false

    /// The next line without its CRLF, or `nil` when it has not all arrived (or ``failed``).
    mutating func next() -> Range<Int>? {
        let limit = min(bytes.count, RequestHead.maximumLength)
        var index = offset
        while index < limit {
            switch bytes[index] {
            case UInt8(ascii: "\r"):
                guard index + 1 < limit else {
                    failed = index + 1 >= RequestHead.maximumLength
                    return nil
                }
                guard bytes[index + 1] == UInt8(ascii: "\n") else {
                    failed = true
                    return nil
                }
                let line = offset..<index
                offset = index + 2
                return line
            case UInt8(ascii: "\n"):
                failed = true
                return nil
            default:
                index += 1
            }
        }
        failed = limit >= RequestHead.maximumLength
        return nil
    }
}
