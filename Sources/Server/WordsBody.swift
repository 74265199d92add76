import Support
import VectorCache

/// What `POST /v1/vectors` gives a word the cache lacks (`"missing"`).
public enum MissingWords: String, Sendable, CaseIterable {
    /// A 404 naming the unknown words (the default).
    case error
    /// A row of zeros.
    case zero
    /// The word's out-of-vocabulary vector (not stored).
    case oov
}

/// A `POST /v1/vectors` body as ``VectorLane`` and the router read it, strictly: `{"words": [STRING, ...]}`,
/// optionally with `"missing": "error" | "zero" | "oov"` and, with `"missing": "oov"`, `"oov": "random" | "subword"`,
/// JSON whitespace between tokens, and nothing else. A word may hold bytes that are not UTF-8 (a word a cache keeps
/// as its file wrote it) as Python's surrogateescape writes them, each a lone `\udc80`-`\udcff` escape standing for
/// the byte 0x80-0xFF; JSON text cannot carry them otherwise. Any other body (other keys, a key twice, other values,
/// raw bytes over 0x7F, any other lone surrogate, an empty list) reads as `nil`, and the router's JSON decoder gives
/// it its answer: a body both read, they read alike. Public only so that the fuzz target can reach it.
public struct WordsBody {
    public let words: PackedWords
    /// `"missing"`, `.error` when not given.
    public let missing: MissingWords
    /// `"oov"`, the kind of out-of-vocabulary vector asked for, when given.
    public let oov: OOVKind?

    /// The body, or `nil`.
    public static func read(_ body: [UInt8]) -> WordsBody? {
        var reader = JSONTokens(bytes: body)
        var words: PackedWords?
        var missing: MissingWords?
        var oov: OOVKind?
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        repeat {
            var key: [UInt8] = []
            guard reader.string(into: &key), reader.take(UInt8(ascii: ":")) else { return nil }
            switch key {
            case Array("words".utf8) where words == nil:
                guard reader.take(UInt8(ascii: "[")) else { return nil }
                var list = PackedWords(capacity: body.count)
                repeat {
                    guard reader.string(into: &list.bytes) else { return nil }
                    list.ends.append(list.bytes.count)
                } while reader.take(UInt8(ascii: ","))
                guard reader.take(UInt8(ascii: "]")) else { return nil }
                words = list
            case Array("missing".utf8) where missing == nil:
                var value: [UInt8] = []
                guard reader.string(into: &value),
                    let policy = MissingWords(rawValue: String(decoding: value, as: UTF8.self))
                else { return nil }
                missing = policy
            case Array("oov".utf8) where oov == nil:
                var value: [UInt8] = []
                guard reader.string(into: &value), let kind = OOVKind(rawValue: String(decoding: value, as: UTF8.self))
                else { return nil }
                oov = kind
            default:
                return nil
            }
        } while reader.take(UInt8(ascii: ","))
        // `"oov"` without `"missing": "oov"` is the router's 400.
        guard reader.take(UInt8(ascii: "}")), reader.atEnd, let words, oov == nil || missing == .oov else { return nil }
        return WordsBody(words: words, missing: missing ?? .error, oov: oov)
    }
}

/// Words as ``WordsBody`` reads them: each word's bytes, one after the other in one array (a 100-word body costs two
/// allocations, not a hundred).
public struct PackedWords: RandomAccessCollection {
    /// The words' bytes, one after the other.
    fileprivate var bytes: [UInt8] = []
    /// Where each word's bytes end in ``bytes``.
    fileprivate var ends: [Int] = []

    /// Room for the words of a body of `capacity` bytes: no word is longer decoded than written.
    fileprivate init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { ends.count }

    /// The bytes of the word at `index`.
    public subscript(index: Int) -> ArraySlice<UInt8> {
        bytes[(index == 0 ? 0 : ends[index - 1])..<ends[index]]
    }
}

/// The tokens of a JSON text, from the start: whitespace skipped, strings decoded.
private struct JSONTokens {
    let bytes: [UInt8]
    var offset = 0

    var atEnd: Bool {
        mutating get {
            skipWhitespace()
            return offset == bytes.count
        }
    }

    /// Takes `byte` (after whitespace) when it comes next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    /// Appends a string (after whitespace) to `result`, as UTF-8: printable ASCII and escapes only; `false` when
    /// none comes next.
    mutating func string(into result: inout [UInt8]) -> Bool {
        guard take(UInt8(ascii: "\"")) else { return false }
        // A string without escapes, as most words are, is copied in one piece.
        let start = offset
        while offset < bytes.count, (0x20...0x7E).contains(bytes[offset]), bytes[offset] != UInt8(ascii: "\""),
            bytes[offset] != UInt8(ascii: "\\")
        {
            offset += 1
        }
        result.append(contentsOf: bytes[start..<offset])
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                return true
            case UInt8(ascii: "\\"):
                guard offset < bytes.count else { return false }
                let escape = bytes[offset]
                offset += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): result.append(escape)
                case UInt8(ascii: "b"): result.append(0x08)
                case UInt8(ascii: "f"): result.append(0x0C)
                case UInt8(ascii: "n"): result.append(0x0A)
                case UInt8(ascii: "r"): result.append(0x0D)
                case UInt8(ascii: "t"): result.append(0x09)
                case UInt8(ascii: "u"):
                    let escape = offset
                    if let scalar = unicodeScalar() {
                        result.append(contentsOf: String(Character(scalar)).utf8)
                    } else {
                        // A lone `\udc80`-`\udcff` is a byte that is not UTF-8, as Python's surrogateescape writes it.
                        offset = escape
                        guard let code = hex4(), (0xDC80...0xDCFF).contains(code) else { return false }
                        result.append(UInt8(code - 0xDC00))
                    }
                default: return false
                }
            case 0x20...0x7E:
                result.append(byte)
            default:
                return false
            }
        }
        return false
    }

    /// The scalar of a `\u` escape whose `\u` has been taken: a surrogate pair as one, a lone surrogate `nil`.
    private mutating func unicodeScalar() -> Unicode.Scalar? {
        guard let first = hex4() else { return nil }
        if (0xD800...0xDBFF).contains(first) {
            guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
            else { return nil }
            offset += 2
            guard let second = hex4(), (0xDC00...0xDFFF).contains(second) else { return nil }
            return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
        }
        return Unicode.Scalar(first)
    }

    private mutating func hex4() -> UInt32? {
        guard offset + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for byte in bytes[offset..<(offset + 4)] {
            guard let digit = Hex.value(of: byte) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        offset += 4
        return value
    }

    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }
}
