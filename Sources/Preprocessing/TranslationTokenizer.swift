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
