/// Python's text rules, which the book's preprocessing and gensim's evaluations run: `str.split()`, `str.strip()`,
/// `str.isspace()`, `re`'s `\d`, `str.lower()`, `str.upper()`, `float()`, and how Python reads lines.
///
/// They decide tokens, so they follow Python's own character tables (``PythonTextTables``, generated from the Python
/// that CI runs), never Swift's: Swift's `Character.isWhitespace` and `lowercased()` use another Unicode version and
/// other definitions (Python counts U+001C–U+001F as whitespace, and works on code points, not grapheme clusters).
/// The tests compare every rule with Python itself on random strings.
public enum PythonText {
    /// The Unicode version of the Python the tables come from.
    public static var unicodeVersion: String { PythonTextTables.unicodeVersion }

    /// `ch.isspace()` for one code point.
    public static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 { return value == 0x20 || (0x09...0x0D).contains(value) || (0x1C...0x1F).contains(value) }
        return inRanges(value, PythonTextTables.whitespace)
    }

    /// `s.isspace()`: not empty, and whitespace only.
    public static func isSpace(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy(isSpace)
    }

    /// Whether `text.strip()` is empty: nothing but whitespace, or nothing.
    public static func isBlank(_ text: some StringProtocol) -> Bool {
        text.unicodeScalars.allSatisfy(isSpace)
    }

    /// Whether `re`'s `\d` matches the code point (a decimal digit of any script: category Nd).
    public static func isDecimal(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 { return (0x30...0x39).contains(value) }
        return inRanges(value, PythonTextTables.decimal)
    }

    /// `text.split()`: the runs of non-whitespace.
    public static func split(_ text: Substring) -> [Substring] {
        text.unicodeScalars.split(whereSeparator: isSpace).map { Substring($0) }
    }

    /// `text.split()`: the runs of non-whitespace, as strings.
    public static func split(_ text: String) -> [String] {
        var text = text
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            return text.withUTF8 { bytes in
                bytes.split(whereSeparator: { $0 == 0x20 || (0x09...0x0D).contains($0) || (0x1C...0x1F).contains($0) })
                    .map { String(decoding: UnsafeBufferPointer(rebasing: $0), as: UTF8.self) }
            }
        }
        return split(text[...]).map(String.init)
    }

    /// `text.strip()`.
    public static func strip(_ text: Substring) -> Substring {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !isSpace($0) })!
        return Substring(scalars[first...last])
    }

    /// `text.lower()`: each code point's full lowercase mapping, and capital sigma final (ς) after a cased letter
    /// that no cased letter follows (case-ignorable code points skipped on both sides), as Python does.
    public static func lower(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if scalar.value == 0x3A3 {
                result.append(Unicode.Scalar(isFinalSigma(scalars, at: index) ? 0x3C2 : 0x3C3)!)
            } else {
                append(mapping(scalar, PythonTextTables.lowerSingle, lowerMulti), to: &result)
            }
        }
        return String(result)
    }

    /// `text.upper()`: each code point's full uppercase mapping (ß becomes SS).
    public static func upper(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: text.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 & 0xDF : $0 }, as: UTF8.self)
        }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            append(mapping(scalar, upperSingle, upperMulti), to: &result)
        }
        return String(result)
    }

    /// `float(text)`: a decimal number, `inf`, `infinity` or `nan` (any case, signed), with whitespace around it and
    /// single underscores between digits allowed; `nil` where Python raises `ValueError`.
    public static func float(_ text: Substring) -> Double? {
        var body = Array(strip(text).utf8)
        guard !body.isEmpty else { return nil }
        var sign = ""
        if body[0] == UInt8(ascii: "+") || body[0] == UInt8(ascii: "-") {
            sign = body[0] == UInt8(ascii: "-") ? "-" : ""
            body.removeFirst()
        }
        let lowered = lower(String(decoding: body, as: UTF8.self))
        if lowered == "inf" || lowered == "infinity" { return sign == "-" ? -.infinity : .infinity }
        if lowered == "nan" { return .nan }
        // digits [. digits] [e [sign] digits], at least one digit before the exponent; `_` only between digits.
        var digits: [UInt8] = []
        var state = 0  // 0 integer part, 1 fraction, 2 exponent sign allowed, 3 exponent digits
        var sawMantissaDigit = false
        var sawExponentDigit = false
        for (i, byte) in body.enumerated() {
            let isDigit = byte >= 0x30 && byte <= 0x39
            switch byte {
            case _ where isDigit:
                if state >= 2 {
                    state = 3
                    sawExponentDigit = true
                } else {
                    sawMantissaDigit = true
                }
                digits.append(byte)
            case UInt8(ascii: "_"):
                let before = i > 0 && body[i - 1] >= 0x30 && body[i - 1] <= 0x39
                let after = i + 1 < body.count && body[i + 1] >= 0x30 && body[i + 1] <= 0x39
                guard before && after else { return nil }
            case UInt8(ascii: "."):
                guard state == 0 else { return nil }
                state = 1
                digits.append(byte)
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                guard state <= 1, sawMantissaDigit else { return nil }
                state = 2
                digits.append(UInt8(ascii: "e"))
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                guard state == 2, body[i - 1] == UInt8(ascii: "e") || body[i - 1] == UInt8(ascii: "E") else {
                    return nil
                }
                digits.append(byte)
            default:
                return nil
            }
        }
        guard sawMantissaDigit, state < 2 || sawExponentDigit else { return nil }
        return Double(sign + String(decoding: digits, as: UTF8.self))
    }

    /// The lines of a file read in binary mode (`for line in open(path, 'rb')`): split after each `\n`.
    public static func binaryLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            lines.append(bytes[start...i])
            start = i + 1
        }
        if start < bytes.count { lines.append(bytes[start...]) }
        return lines
    }

    /// The lines of a text file read in text mode (universal newlines, `for line in open(path)`): `\r\n`, `\r` and
    /// `\n` each end a line and become `\n`, which the line keeps; the last line may have none.
    public static func textLines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        var pending = scalars.next()
        while let scalar = pending {
            pending = scalars.next()
            if scalar == "\r" || scalar == "\n" {
                if scalar == "\r" && pending == "\n" { pending = scalars.next() }
                current.append("\n")
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    // MARK: Tables

    /// Whether `value` lies in one of the inclusive ranges of `ranges` (first, last pairs, ascending).
    private static func inRanges(_ value: UInt32, _ ranges: [UInt32]) -> Bool {
        var low = 0
        var high = ranges.count / 2
        while low < high {
            let middle = (low + high) / 2
            if ranges[2 * middle + 1] < value {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < ranges.count / 2 && ranges[2 * low] <= value
    }

    /// The mapping of `scalar` in a pairs table and a table of several-code-point mappings: itself when absent.
    private static func mapping(_ scalar: Unicode.Scalar, _ pairs: [UInt32], _ multi: [UInt32: [UInt32]]) -> [UInt32] {
        let value = scalar.value
        var low = 0
        var high = pairs.count / 2
        while low < high {
            let middle = (low + high) / 2
            if pairs[2 * middle] < value { low = middle + 1 } else { high = middle }
        }
        if low < pairs.count / 2 && pairs[2 * low] == value { return [pairs[2 * low + 1]] }
        return multi[value] ?? [value]
    }

    private static func append(_ values: [UInt32], to result: inout String.UnicodeScalarView) {
        for value in values { result.append(Unicode.Scalar(value)!) }
    }

    private static let lowerMulti = multiTable(PythonTextTables.lowerMulti)
    private static let upperSingle = reversedLowerSingle()
    private static let upperMulti = multiTable(PythonTextTables.upperMulti)

    /// `str.upper()`'s pairs: those of `lowerSingle` reversed but for ``PythonTextTables/lowerNotReversed``, and
    /// ``PythonTextTables/upperSingleExtra``; sorted by code point for ``mapping(_:_:_:)``. (The generator checks that
    /// they give Python's table exactly, and a test checks every code point.)
    private static func reversedLowerSingle() -> [UInt32] {
        let notReversed = Set(PythonTextTables.lowerNotReversed)
        var pairs: [(UInt32, UInt32)] = []
        let lower = PythonTextTables.lowerSingle
        for index in stride(from: 0, to: lower.count, by: 2) where !notReversed.contains(lower[index]) {
            pairs.append((lower[index + 1], lower[index]))
        }
        let extra = PythonTextTables.upperSingleExtra
        for index in stride(from: 0, to: extra.count, by: 2) { pairs.append((extra[index], extra[index + 1])) }
        return pairs.sorted { $0.0 < $1.0 }.flatMap { [$0.0, $0.1] }
    }

    private static func multiTable(_ flat: [UInt32]) -> [UInt32: [UInt32]] {
        var table: [UInt32: [UInt32]] = [:]
        var index = 0
        while index < flat.count {
            let count = Int(flat[index + 1])
            table[flat[index]] = Array(flat[(index + 2)..<(index + 2 + count)])
            index += 2 + count
        }
        return table
    }

    /// Python's final-sigma rule: after a cased code point and before none, skipping case-ignorable ones.
    private static func isFinalSigma(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        var before = index - 1
        while before >= 0 && inRanges(scalars[before].value, PythonTextTables.caseIgnorable) { before -= 1 }
        guard before >= 0, isCased(scalars[before]) else { return false }
        var after = index + 1
        while after < scalars.count && inRanges(scalars[after].value, PythonTextTables.caseIgnorable) { after += 1 }
        return after == scalars.count || !isCased(scalars[after])
    }

    private static func isCased(_ scalar: Unicode.Scalar) -> Bool {
        inRanges(scalar.value, PythonTextTables.cased)
    }
}
