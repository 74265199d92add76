import Support

/// Where a JSON text stops being JSON (RFC 8259), for the 400 that a body the decoder refuses gets: Foundation's
/// decoder says only "The given data was not valid JSON". It reads as that decoder does, so that it names the fault
/// the decoder met: a byte order mark before the text and a comma before a closing bracket are taken, and values
/// nest at most ``mostDepth`` deep. Public only so that the fuzz target can reach it.
public enum JSONSyntax {
    /// How deep values nest, at most, as Foundation's decoder reads them.
    public static let mostDepth = 512

    /// The first fault of a JSON text.
    public struct Fault: Equatable, Sendable, CustomStringConvertible {
        /// The fault's byte, from 0 (the text's length where the text ends too soon).
        public let offset: Int
        /// The line of ``offset``, from 1.
        public let line: Int
        /// The byte of ``offset`` in its line, from 1.
        public let column: Int
        /// What is there, and what was expected.
        public let problem: String

        public var description: String { "at byte \(offset) (line \(line), column \(column)): \(problem)" }
    }

    /// The first fault of `json`, or `nil` when it is one JSON value. Any bytes may be read: in one pass, without
    /// recursion, in memory that grows with the depth of nesting only.
    /// - Parameter surrogateEscapes: whether a string that is a value (not a key) may hold lone `\udc80`-`\udcff`
    ///   escapes, bytes that are not UTF-8 as Python's surrogateescape writes them, which ``EscapedWords`` reads.
    public static func firstFault(in json: UnsafeRawBufferPointer, surrogateEscapes: Bool = false) -> Fault? {
        var reader = Reader(json: json, surrogateEscapes: surrogateEscapes)
        let fault = isOtherEncoding(json) ? (0, otherEncoding) : reader.firstFault()
        return fault.map { offset, problem in
            let before = json[..<offset]
            let line = before.count(where: { $0 == UInt8(ascii: "\n") }) + 1
            let column = offset - (before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
            return Fault(offset: offset, line: line, column: column, problem: problem)
        }
    }

    /// The fault of a text in UTF-16 or UTF-32, which Foundation's decoder reads too, as the zero bytes or the byte
    /// order mark at its start show: this reader reads UTF-8 only, as RFC 8259 asks of JSON sent between systems.
    public static let otherEncoding =
        "the text starts as UTF-16 or UTF-32 does (a zero byte or a byte order mark); "
        + "expected UTF-8"

    private static func isOtherEncoding(_ json: UnsafeRawBufferPointer) -> Bool {
        json.starts(with: [0xFE, 0xFF]) || json.starts(with: [0xFF, 0xFE]) || json.prefix(4).contains(0)
    }

    /// What the text may hold next.
    private enum Expected {
        /// A value; or the closing bracket, right after `[` or a comma.
        case value(orClose: Bool)
        /// A key; or the closing brace, right after `{` or a comma.
        case key(orClose: Bool)
        case colon
        /// A comma or the closing bracket of the open array or object; or the end, outside them.
        case separator
    }

    private struct Reader {
        let json: UnsafeRawBufferPointer
        /// Whether a value's string may hold lone `\udc80`-`\udcff` escapes.
        let surrogateEscapes: Bool
        var offset = 0
        /// The open arrays and objects, by their opening bytes.
        var open: [UInt8] = []

        init(json: UnsafeRawBufferPointer, surrogateEscapes: Bool) {
            self.json = json
            self.surrogateEscapes = surrogateEscapes
            if json.starts(with: [0xEF, 0xBB, 0xBF]) { offset = 3 }
        }

        mutating func firstFault() -> (Int, String)? {
            var expected = Expected.value(orClose: false)
            while true {
                while offset < json.count, [0x20, 0x09, 0x0A, 0x0D].contains(json[offset]) { offset += 1 }
                guard offset < json.count else {
                    if case .separator = expected, open.isEmpty { return nil }
                    return (offset, "the text ends; expected \(Self.describe(expected, open: open.last))")
                }
                let byte = json[offset]
                switch expected {
                case .value(let orClose):
                    if orClose && byte == UInt8(ascii: "]") {
                        close()
                        expected = .separator
                    } else if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
                        guard open.count < mostDepth else {
                            return (offset, "values nest more than \(mostDepth) deep; expected at most \(mostDepth)")
                        }
                        open.append(byte)
                        offset += 1
                        expected = byte == UInt8(ascii: "[") ? .value(orClose: true) : .key(orClose: true)
                    } else if byte == UInt8(ascii: "\"") {
                        if let fault = string(isKey: false) { return fault }
                        expected = .separator
                    } else if byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte) {
                        if let fault = number() { return fault }
                        expected = .separator
                    } else if let literal = ["true", "false", "null"].first(where: {
                        json[offset...].starts(with: $0.utf8)
                    }) {
                        offset += literal.utf8.count
                        expected = .separator
                    } else {
                        return (offset, "found \(word(at: offset)); expected \(Self.describe(expected, open: nil))")
                    }
                case .key(let orClose):
                    if orClose && byte == UInt8(ascii: "}") {
                        close()
                        expected = .separator
                    } else if byte == UInt8(ascii: "\"") {
                        if let fault = string(isKey: true) { return fault }
                        expected = .colon
                    } else {
                        return (offset, "found \(Self.describe(byte)); expected \(Self.describe(expected, open: nil))")
                    }
                case .colon:
                    guard byte == UInt8(ascii: ":") else {
                        return (offset, "found \(Self.describe(byte)); expected \":\" after a key")
                    }
                    offset += 1
                    expected = .value(orClose: false)
                case .separator:
                    guard let container = open.last else {
                        return (offset, "found \(Self.describe(byte)) after the value; expected the end of the text")
                    }
                    if byte == UInt8(ascii: ",") {
                        offset += 1
                        expected = container == UInt8(ascii: "[") ? .value(orClose: true) : .key(orClose: true)
                    } else if byte == container + 2 {  // `]` follows `[`, and `}` follows `{`, two code points on
                        close()
                    } else {
                        return (
                            offset, "found \(Self.describe(byte)); expected \(Self.describe(expected, open: container))"
                        )
                    }
                }
            }
        }

        mutating func close() {
            open.removeLast()
            offset += 1
        }

        /// Reads the string whose quote is at `offset`, a key's or a value's.
        mutating func string(isKey: Bool) -> (Int, String)? {
            offset += 1
            while offset < json.count {
                let byte = json[offset]
                switch byte {
                case UInt8(ascii: "\""):
                    offset += 1
                    return nil
                case UInt8(ascii: "\\"):
                    if let fault = escape(byteEscapes: surrogateEscapes && !isKey) { return fault }
                case 0..<0x20:
                    return (
                        offset, "\(Self.describe(byte)) in a string; expected it escaped, as \\u00\(Hex.text(byte))"
                    )
                case 0x80...:
                    let length = Self.utf8Length(json[offset...])
                    guard length > 0 else {
                        return (offset, "\(Self.describe(byte)) is not UTF-8; expected UTF-8 text")
                    }
                    offset += length
                default:
                    offset += 1
                }
            }
            return (offset, "the text ends in a string; expected its closing quote")
        }

        /// Reads the escape whose backslash is at `offset`; with `byteEscapes`, a lone `\udc80`-`\udcff` too.
        mutating func escape(byteEscapes: Bool) -> (Int, String)? {
            let start = offset
            guard offset + 1 < json.count else { return (offset + 1, "the text ends in an escape") }
            let letter = json[offset + 1]
            guard letter == UInt8(ascii: "u") else {
                guard Array(#""\/bfnrt"#.utf8).contains(letter) else {
                    return (
                        start,
                        "\\\(Self.character(letter)) is no escape; expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX"
                    )
                }
                offset += 2
                return nil
            }
            guard let unit = hex4(at: offset + 2) else {
                return (start, "expected four hexadecimal digits after \\u")
            }
            offset += 6
            switch unit {
            case 0xD800...0xDBFF:
                guard json[offset...].starts(with: [0x5C, 0x75]), let low = hex4(at: offset + 2),
                    (0xDC00...0xDFFF).contains(low)
                else {
                    return (
                        start,
                        "\\u\(Hex.text(unit)) is half of a surrogate pair without its other half; expected a character"
                    )
                }
                offset += 6
            case 0xDC80...0xDCFF where byteEscapes:
                break
            case 0xDC00...0xDFFF:
                return (
                    start,
                    "\\u\(Hex.text(unit)) is half of a surrogate pair without its other half; expected a character"
                )
            default: break
            }
            return nil
        }

        func hex4(at position: Int) -> UInt16? {
            guard position + 4 <= json.count else { return nil }
            var value: UInt16 = 0
            for byte in json[position..<(position + 4)] {
                guard let digit = Hex.value(of: byte) else { return nil }
                value = value << 4 | UInt16(digit)
            }
            return value
        }

        /// Reads the number that starts at `offset` (JSON's grammar: no `+`, no leading zero, digits on both sides of
        /// the point).
        mutating func number() -> (Int, String)? {
            if json[offset] == UInt8(ascii: "-") { offset += 1 }
            guard offset < json.count, (0x30...0x39).contains(json[offset]) else {
                return (offset, "expected a digit after \"-\"")
            }
            if json[offset] == UInt8(ascii: "0") {
                offset += 1
                if offset < json.count, (0x30...0x39).contains(json[offset]) {
                    return (offset - 1, "a number starts with 0 and another digit; expected no leading zero")
                }
            } else {
                _ = digits()
            }
            if offset < json.count, json[offset] == UInt8(ascii: ".") {
                offset += 1
                guard digits() > 0 else { return (offset, "expected a digit after the decimal point") }
            }
            if offset < json.count, json[offset] | 0x20 == UInt8(ascii: "e") {
                offset += 1
                if offset < json.count, json[offset] == UInt8(ascii: "+") || json[offset] == UInt8(ascii: "-") {
                    offset += 1
                }
                guard digits() > 0 else { return (offset, "expected a digit in the exponent") }
            }
            return nil
        }

        /// Reads ASCII digits; how many.
        mutating func digits() -> Int {
            let start = offset
            while offset < json.count, (0x30...0x39).contains(json[offset]) { offset += 1 }
            return offset - start
        }

        /// The length of the UTF-8 sequence `bytes` starts with, 0 when they do not start with one.
        static func utf8Length(_ bytes: Slice<UnsafeRawBufferPointer>) -> Int {
            var parser = Unicode.UTF8.ForwardParser()
            var iterator = bytes.prefix(4).makeIterator()
            if case .valid(let encoded) = parser.parseScalar(from: &iterator) { return encoded.count }
            return 0
        }

        /// What stands at `position` where a value was expected: the run of letters there, as `"not"` (up to 20),
        /// or the byte.
        func word(at position: Int) -> String {
            let letters = json[position...].prefix(20).prefix(while: { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A })
            return letters.count > 1 ? "\"\(String(decoding: letters, as: UTF8.self))\"" : Self.describe(json[position])
        }

        /// A byte as the message names it: `"x"`, `a quote`, or `byte 0xNN`.
        static func describe(_ byte: UInt8) -> String {
            if byte == UInt8(ascii: "\"") { return "a quote" }
            return (0x21...0x7E).contains(byte) ? "\"\(character(byte))\"" : "byte 0x\(Hex.text(byte))"
        }

        static func character(_ byte: UInt8) -> String {
            (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\x\(Hex.text(byte))"
        }

        static func describe(_ expected: Expected, open: UInt8?) -> String {
            let closing = open == UInt8(ascii: "[") ? "]" : "}"
            return switch expected {
            case .value(let orClose): orClose ? "a value or \"]\"" : "a value"
            case .key(let orClose): orClose ? "a key in quotes or \"}\"" : "a key in quotes"
            case .colon: "\":\""
            case .separator: open == nil ? "the end of the text" : "\",\" or \"\(closing)\""
            }
        }
    }
}
