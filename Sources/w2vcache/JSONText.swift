import Foundation
import Support

/// JSON as the commands print it: characters that ``Printable`` escapes (C0 and C1 controls, DEL, the line and
/// paragraph separators, the bidirectional overrides) are written as `\uXXXX` escapes, so that words and file names
/// from untrusted files cannot drive a terminal, and a JSON reader still decodes them to the same text.
enum JSONText {
    /// `value` as a JSON string literal.
    static func string(_ value: String) -> String {
        "\"" + characters(value) + "\""
    }

    /// A word's bytes as a JSON string literal, each byte 0xNN that is not UTF-8 as `\udcNN`, as Python's
    /// surrogateescape writes it (the server's answers do the same): `json.loads(line)["word"].encode("utf-8",
    /// "surrogateescape")` gives the bytes back.
    static func string(bytes: some Collection<UInt8>) -> String {
        "\""
            + UTF8Pieces.of(bytes).map {
                switch $0 {
                case .text(let text): characters(text)
                case .byte(let byte): "\\udc" + Hex.text(byte, uppercase: false)
                }
            }.joined() + "\""
    }

    /// `value`'s characters as they stand between the quotes of a JSON string.
    private static func characters(_ value: String) -> String {
        var result = ""
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
        return result
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
