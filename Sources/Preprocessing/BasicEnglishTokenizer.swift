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
        // Code points, as Python's `re` sees them (Swift's `String` would match whole grapheme clusters).
        var line = Array(text.lowercased().unicodeScalars)
        for (pattern, replacement) in replacements {
            line = replace(Array(pattern.unicodeScalars), with: Array(replacement.unicodeScalars), in: line)
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: line)
        return splitOnWhitespace(String(view))
    }

    /// Every non-overlapping occurrence of `pattern`, left to right, replaced.
    static func replace(_ pattern: [Unicode.Scalar], with replacement: [Unicode.Scalar], in text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard let first = pattern.first, text.contains(first) else { return text }
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count + 16)
        var index = 0
        while index < text.count {
            if text[index] == first && index + pattern.count <= text.count && text[index..<(index + pattern.count)].elementsEqual(pattern) {
                result.append(contentsOf: replacement)
                index += pattern.count
            } else {
                result.append(text[index])
                index += 1
            }
        }
        return result
    }

    /// Python's `str.split()`: runs of whitespace separate tokens, and none are empty. Python also counts the
    /// information separators U+001C–U+001F as whitespace.
    public static func splitOnWhitespace(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value) {
                if !current.isEmpty {
                    tokens.append(String(current))
                    current = String.UnicodeScalarView()
                }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { tokens.append(String(current)) }
        return tokens
    }
}
