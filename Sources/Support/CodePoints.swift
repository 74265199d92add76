/// A string compared, hashed and ordered by its code points, as Python compares `str`.
///
/// Swift's `String` equality is canonical equivalence: `"é"` written as one code point equals `"e"` followed by
/// U+0301. Python keeps the two apart, and so must every dictionary and set of text taken from the data (tokens,
/// tags, keys of the model): keyed by `String`, they would merge what the book's code counts separately.
public struct CodePoints: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let string: String

    public init(_ string: String) {
        self.string = string
    }

    public init(stringLiteral value: String) {
        string = value
    }

    public var description: String { string }

    // Equality and hashing read the UTF-8 bytes in one block (a byte at a time, they were most of counting a large
    // dataset's tokens).
    public static func == (a: CodePoints, b: CodePoints) -> Bool {
        var (a, b) = (a.string, b.string)
        return a.withUTF8 { a in b.withUTF8 { b in a.count == b.count && a.elementsEqual(b) } }
    }

    public func hash(into hasher: inout Hasher) {
        var string = string
        string.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        hasher.combine(0xFF as UInt8)  // not a UTF-8 byte: ends the string
    }

    /// Code point order, which is the order of the UTF-8 bytes (Python's `sorted` of strings).
    public static func < (a: CodePoints, b: CodePoints) -> Bool {
        a.string.utf8.lexicographicallyPrecedes(b.string.utf8)
    }
}
