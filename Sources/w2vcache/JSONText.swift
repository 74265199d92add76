import Foundation
import Support

/// JSON as the commands print it: characters that ``Printable`` escapes (C0 and C1 controls, DEL, the line and
/// paragraph separators, the bidirectional overrides) are written as `\uXXXX` escapes, so that words and file names
/// from untrusted files cannot drive a terminal, and a JSON reader still decodes them to the same text.
enum JSONText {
    /// `value` as a JSON string literal.
    static func string(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where Printable.needsEscape(scalar): result += escape(scalar)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// What `encoder` makes of `value`, with the characters it leaves as they are escaped.
    static func encode(_ value: some Encodable, with encoder: JSONEncoder) throws -> String {
        let json = String(decoding: try encoder.encode(value), as: UTF8.self)
        // JSONEncoder escapes C0 controls inside strings; the C0 characters left are its own line breaks between
        // tokens. Every other character to escape can only stand inside a string.
        var result = ""
        for scalar in json.unicodeScalars {
            if scalar.value >= 0x7F && Printable.needsEscape(scalar) {
                result += escape(scalar)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `\uXXXX`, a surrogate pair for a character beyond the Basic Multilingual Plane (none is escaped today).
    private static func escape(_ scalar: Unicode.Scalar) -> String {
        scalar.utf16.map { "\\u" + Hex.text($0, uppercase: false) }.joined()
    }
}
