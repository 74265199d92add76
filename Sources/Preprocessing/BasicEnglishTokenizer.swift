import Support

/// torchtext's `basic_english` tokenizer (its Python version), rule for rule.
///
/// Lowercase, then in this order: `'` → ` '  `, remove `"`, `.` → ` . `, `<br />` → ` `, `,` → ` , `, `(` → ` ( `,
/// `)` → ` ) `, `!` → ` ! `, `?` → ` ? `, `;` → ` `, `:` → ` `, then split on whitespace. So `you're` gives
/// `you ' re`, and `<br/>` without the space is kept.
public enum BasicEnglishTokenizer {
    /// The replacements, applied in this order to the lowercased text.
    static let replacements: [(String, String)] = [
        ("'", " '  "), ("\"", ""), (".", " . "), ("<br />", " "), (",", " , "), ("(", " ( "), (")", " ) "),
        ("!", " ! "), ("?", " ? "), (";", " "), (":", " "),
    ]

    public static func tokenize(_ text: String) -> [String] {
        var text = text
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.withUTF8(tokenizeASCII) }
        return tokenizeScalars(text)
    }

    /// One pass over ASCII bytes, equivalent to the replacements in order: only removing `"` can create a
    /// `<br />`, and the other replacements only put spaces around a character, so they become token boundaries.
    static func tokenizeASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> [String] {
        var clean = [UInt8]()
        clean.reserveCapacity(bytes.count)
        for byte in bytes where byte != UInt8(ascii: "\"") {
            clean.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
        }
        var tokens: [String] = []
        tokens.reserveCapacity(clean.count / 4)
        return clean.withUnsafeBufferPointer { line in
            var start = -1
            func flush(_ end: Int) {
                if start >= 0 {
                    tokens.append(String(decoding: UnsafeBufferPointer(rebasing: line[start..<end]), as: UTF8.self))
                    start = -1
                }
            }
            var index = 0
            while index < line.count {
                let byte = line[index]
                switch byte {
                case UInt8(ascii: "<")
                where index + 6 <= line.count && line[index + 1] == UInt8(ascii: "b")
                    && line[index + 2] == UInt8(ascii: "r") && line[index + 3] == 0x20
                    && line[index + 4] == UInt8(ascii: "/")
                    && line[index + 5] == UInt8(ascii: ">"):
                    flush(index)
                    index += 6
                    continue
                case 0x20, 0x09...0x0D, 0x1C...0x1F, UInt8(ascii: ";"), UInt8(ascii: ":"):  // Python's ASCII whitespace
                    flush(index)
                case UInt8(ascii: "'"), UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: "("), UInt8(ascii: ")"),
                    UInt8(ascii: "!"), UInt8(ascii: "?"):
                    flush(index)
                    tokens.append(String(UnicodeScalar(byte)))
                default:
                    if start < 0 { start = index }
                }
                index += 1
            }
            flush(line.count)
            return tokens
        }
    }

    /// The replacements applied literally, over code points as Python's `re` sees them (Swift's `String` would
    /// match whole grapheme clusters).
    static func tokenizeScalars(_ text: String) -> [String] {
        var line = Array(PythonText.lower(text).unicodeScalars)
        for (pattern, replacement) in replacements {
            line = replace(Array(pattern.unicodeScalars), with: Array(replacement.unicodeScalars), in: line)
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: line)
        return PythonText.split(String(view))
    }

    /// Every non-overlapping occurrence of `pattern`, left to right, replaced.
    static func replace(_ pattern: [Unicode.Scalar], with replacement: [Unicode.Scalar], in text: [Unicode.Scalar])
        -> [Unicode.Scalar]
    {
        guard let first = pattern.first, text.contains(first) else { return text }
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count + 16)
        var index = 0
        while index < text.count {
            if text[index] == first && index + pattern.count <= text.count
                && text[index..<(index + pattern.count)].elementsEqual(pattern)
            {
                result.append(contentsOf: replacement)
                index += pattern.count
            } else {
                result.append(text[index])
                index += 1
            }
        }
        return result
    }
}
