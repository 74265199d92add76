import Support

/// The tokens of a JSON text, from the start: whitespace skipped, strings decoded.
struct JSONTokens {
    let bytes: [UInt8]
    var offset = 0
    /// How many bytes the strings read so far held as lone `\udc80`-`\udcff` escapes (Python's surrogateescape).
    private(set) var escapedBytes = 0

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

    /// Appends a string (after whitespace) to `result`, as UTF-8: printable ASCII and escapes only, and with
    /// `rawUTF8` also DEL and the bytes over it as they are (of a text already found to be UTF-8); `false` when none
    /// comes next.
    mutating func string(into result: inout [UInt8], rawUTF8: Bool = false) -> Bool {
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
                        escapedBytes += 1
                    }
                default: return false
                }
            case 0x20...0x7E:
                result.append(byte)
            case 0x7F... where rawUTF8:
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
