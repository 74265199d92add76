import Support

/// Word-level tokenizers for English and French: words, numbers and punctuation marks become tokens; French
/// elisions keep their apostrophe on the first part (`l'heure` → `l'` `heure`), English contractions split before it
/// (`don't` → `do` `n't`, `it's` → `it` `'s`).
public struct TranslationTokenizer: Sendable {
    public enum Language: String, Sendable, CaseIterable, Codable {
        case english, french
    }

    public let language: Language
    /// Lowercase every token.
    public let lowercase: Bool

    public init(language: Language, lowercase: Bool = false) {
        self.language = language
        self.lowercase = lowercase
    }

    /// French words with an apostrophe that are not elisions.
    static let frenchKeep: Set<String> = [
        "aujourd'hui", "prud'homme", "prud'hommes", "presqu'île", "quelqu'un", "quelqu'une",
    ]

    public func tokenize(_ text: String) -> [String] {
        let cased = lowercase ? PythonText.lower(text) : text
        // `’` as `'`, searched for only in a text that holds its first byte (the search was a seventh of a prepare).
        let normalized = cased.utf8.contains(0xE2) ? cased.replacing("’", with: "'") : cased
        return tokenizeScalars(normalized) ?? tokenizeCharacters(normalized)
    }

    /// The tokens of a text, the rules read one Character at a time.
    func tokenizeCharacters(_ normalized: String) -> [String] {
        var tokens: [String] = []
        var word = ""
        func flushWord() {
            guard !word.isEmpty else { return }
            tokens.append(contentsOf: split(word))
            word = ""
        }
        let characters = Array(normalized)
        for (index, character) in characters.enumerated() {
            if character.isLetterFast || character.isNumberFast {
                word.append(character)
            } else if character == "'" && !word.isEmpty && index + 1 < characters.count
                && characters[index + 1].isLetterFast
            {
                word.append(character)  // inside a word: an elision or contraction, split below
            } else if (character == "." || character == ",") && !word.isEmpty && word.last!.isNumberFast
                && index + 1 < characters.count && characters[index + 1].isNumberFast
            {
                word.append(character)  // 3.5, 1,000
            } else if character == "-" && !word.isEmpty && index + 1 < characters.count
                && characters[index + 1].isLetterFast
            {
                word.append(character)  // well-known, peut-être
            } else {
                flushWord()
                if !PythonText.isBlank(String(character)) { tokens.append(String(character)) }
            }
        }
        flushWord()
        return tokens
    }

    /// The tokens ``tokenizeCharacters(_:)`` gives a text whose code points all lie below U+0300 (ASCII, Latin-1,
    /// Latin Extended: most of an English or French corpus), read a code point at a time from its UTF-8 bytes: no
    /// code point there joins the one before it into a Character but LF after CR (blank either way), so each is a
    /// Character and a word is a run of bytes. Reading Characters was three quarters of tokenizing a million pairs.
    /// `nil` for any other text.
    func tokenizeScalars(_ text: String) -> [String]? {
        var text = text
        return text.withUTF8 { bytes -> [String]? in
            // U+0300 is 0xCC 0x80: a text of lower code points holds no byte from 0xCC up.
            guard bytes.allSatisfy({ $0 < 0xCC }) else { return nil }
            var tokens: [String] = []
            var wordStart: Int?
            var previous: UInt32 = 0
            var index = 0
            /// The code point at `offset` and its length in bytes (1, or 2 from 0x80 up).
            func scalar(at offset: Int) -> (value: UInt32, length: Int) {
                let lead = bytes[offset]
                guard lead >= 0x80 else { return (UInt32(lead), 1) }
                return (UInt32(lead & 0x1F) << 6 | UInt32(bytes[offset + 1] & 0x3F), 2)
            }
            func next(_ offset: Int, is kind: Self.LatinKind) -> Bool {
                offset < bytes.count && Self.latinKinds[Int(scalar(at: offset).value)] == kind
            }
            func endWord(at end: Int) {
                guard let start = wordStart else { return }
                tokens += split(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
                wordStart = nil
            }
            while index < bytes.count {
                let (value, length) = scalar(at: index)
                let kind = Self.latinKinds[Int(value)]
                let after = index + length
                if kind != .other {
                    wordStart = wordStart ?? index
                } else if wordStart != nil
                    && ((value == 0x27 || value == 0x2D) && next(after, is: .letter)  // ' -
                        || (value == 0x2E || value == 0x2C)  // . ,
                            && Self.latinKinds[Int(previous)] == .number && next(after, is: .number))
                {
                    // inside a word: an elision or contraction, a hyphen, a decimal point or separator
                } else {
                    endWord(at: index)
                    if let scalar = Unicode.Scalar(value), !PythonText.isSpace(scalar) {
                        tokens.append(String(scalar))
                    }
                }
                previous = value
                index = after
            }
            endWord(at: bytes.count)
            return tokens
        }
    }

    /// What the rules ask of a code point below U+0300.
    enum LatinKind {
        case letter, number, other
    }

    /// `Character.isLetter` and `isNumber` of each code point below U+0300.
    static let latinKinds: [LatinKind] = (0..<0x300).map { value in
        let character = Character(Unicode.Scalar(UInt32(value))!)
        return character.isLetter ? .letter : character.isNumber ? .number : .other
    }

    /// Splits a word holding apostrophes the language's way.
    private func split(_ word: String) -> [String] {
        guard word.contains("'") else { return [word] }
        switch language {
        case .french:
            if Self.frenchKeep.contains(PythonText.lower(word)) { return [word] }
            var parts: [String] = []
            var rest = Substring(word)
            while let apostrophe = rest.firstIndex(of: "'") {
                parts.append(String(rest[...apostrophe]))
                rest = rest[rest.index(after: apostrophe)...]
            }
            if !rest.isEmpty { parts.append(String(rest)) }
            return parts
        case .english:
            let lower = PythonText.lower(word)
            if lower.hasSuffix("n't") && word.count > 3 {
                return [String(word.dropLast(3)), String(word.suffix(3))]
            }
            if let apostrophe = word.lastIndex(of: "'"), apostrophe != word.startIndex {
                return [String(word[..<apostrophe]), String(word[apostrophe...])]
            }
            return [word]
        }
    }
}

extension Character {
    /// `isLetter`, ASCII answered from its code: Unicode's property tables were a fifth of a large prepare.
    var isLetterFast: Bool { asciiValue.map { (0x61...0x7A).contains($0 | 0x20) } ?? isLetter }

    /// `isNumber`, ASCII answered from its code.
    var isNumberFast: Bool { asciiValue.map { (0x30...0x39).contains($0) } ?? isNumber }
}
