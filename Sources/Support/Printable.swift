/// Text that is safe to print on a terminal or write to a log.
///
/// Words, file names, lines and request paths come from untrusted input. Printed raw, a newline in them forges a
/// log line and an ESC byte starts a terminal escape sequence. Every control character (C0, DEL, C1), the Unicode
/// line and paragraph separators and the bidirectional overrides are written as escapes instead: `\n`, `\r`, `\t`,
/// or `\u{1B}`; bytes that are not UTF-8 as `\xFF`.
public enum Printable {
    /// `text` with its control characters escaped, cut to `limit` characters (with `…`) when given.
    public static func escape(_ text: some StringProtocol, limit: Int? = nil) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if let limit, count >= limit {
                result += "…"
                break
            }
            append(scalar, to: &result)
            count += 1
        }
        return result
    }

    /// Bytes that should be UTF-8 text: valid sequences as in ``escape(_:limit:)``, invalid bytes as `\xNN`
    /// (``UTF8Pieces``), cut to `limit` characters and bytes (with `…`) when given.
    public static func escape(bytes: some Collection<UInt8>, limit: Int? = nil) -> String {
        var result = ""
        var count = 0
        for piece in UTF8Pieces.of(bytes) {
            let left = limit.map { $0 - count }
            if let left, left <= 0 {
                return result + "…"
            }
            switch piece {
            case .text(let text):
                result += escape(text, limit: left)
                count += text.unicodeScalars.count
                if let left, text.unicodeScalars.count > left { return result }  // cut, with its `…`
            case .byte(let byte):
                result += "\\x" + Hex.text(byte)
                count += 1
            }
        }
        return result
    }

    /// Whether `scalar` must be escaped.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    private static func append(_ scalar: Unicode.Scalar, to result: inout String) {
        switch scalar {
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where needsEscape(scalar): result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        default: result.unicodeScalars.append(scalar)
        }
    }
}
