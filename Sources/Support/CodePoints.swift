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

    public static func == (a: CodePoints, b: CodePoints) -> Bool {
        a.string.utf8.elementsEqual(b.string.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        for byte in string.utf8 { hasher.combine(byte) }
        hasher.combine(0xFF as UInt8)  // not a UTF-8 byte: ends the string
    }

    /// Code point order, which is the order of the UTF-8 bytes (Python's `sorted` of strings).
    public static func < (a: CodePoints, b: CodePoints) -> Bool {
        a.string.utf8.lexicographicallyPrecedes(b.string.utf8)
    }
}
