/// The few pieces of Python's text handling that gensim's evaluations rely on, so that a file reads the same here.
enum PythonText {
    /// Whether `scalar` is whitespace for Python's `str.split()` and `str.strip()`.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// `text.split()`: the runs of non-whitespace.
    static func split(_ text: Substring) -> [Substring] {
        text.unicodeScalars.split(whereSeparator: isWhitespace).map { Substring($0) }
    }

    /// `text.strip()`.
    static func strip(_ text: Substring) -> Substring {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isWhitespace($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !isWhitespace($0) })!
        return Substring(scalars[first...last])
    }

    /// `float(text)`: a decimal number, `inf`, `infinity` or `nan` (any case, signed), with whitespace around it and
    /// single underscores between digits allowed; `nil` where Python raises `ValueError`.
    static func float(_ text: Substring) -> Double? {
        var body = Array(strip(text).utf8)
        guard !body.isEmpty else { return nil }
        var sign = ""
        if body[0] == UInt8(ascii: "+") || body[0] == UInt8(ascii: "-") {
            sign = body[0] == UInt8(ascii: "-") ? "-" : ""
            body.removeFirst()
        }
        let lower = String(decoding: body, as: UTF8.self).lowercased()
        if lower == "inf" || lower == "infinity" { return sign == "-" ? -.infinity : .infinity }
        if lower == "nan" { return .nan }
        // digits [. digits] [e [sign] digits], at least one digit before the exponent; `_` only between digits.
        var digits: [UInt8] = []
        var state = 0  // 0 integer part, 1 fraction, 2 exponent sign allowed, 3 exponent digits
        var sawMantissaDigit = false
        var sawExponentDigit = false
        for (i, byte) in body.enumerated() {
            let isDigit = byte >= 0x30 && byte <= 0x39
            switch byte {
            case _ where isDigit:
                if state >= 2 { state = 3; sawExponentDigit = true } else { sawMantissaDigit = true }
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
                guard state == 2, body[i - 1] == UInt8(ascii: "e") || body[i - 1] == UInt8(ascii: "E") else { return nil }
                digits.append(byte)
            default:
                return nil
            }
        }
        guard sawMantissaDigit, state < 2 || sawExponentDigit else { return nil }
        return Double(sign + String(decoding: digits, as: UTF8.self))
    }

    /// The lines of a file read in binary mode (`for line in open(path, 'rb')`): split after each `\n`.
    static func binaryLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            lines.append(bytes[start...i])
            start = i + 1
        }
        if start < bytes.count { lines.append(bytes[start...]) }
        return lines
    }

    /// The lines of a text file read in text mode (universal newlines): `\r\n`, `\r` and `\n` each end a line and
    /// become `\n`.
    static func textLines(_ text: String) -> [String] {
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
}
