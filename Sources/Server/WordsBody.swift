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
