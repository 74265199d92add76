import Support

/// The token normalization of the book's POS tagger, for the GoogleNews model's conventions: phrases joined with
/// `_`, digits written as `#`.
///
/// Over one stream of `(word, tag)` rows, for row i:
/// 1. if row i+1 has the same tag and `word_i + "_" + word_{i+1}` is a key of the model, emit that phrase and move on
///    by two rows;
/// 2. otherwise normalize (every digit to `#`, every `-` to `_`); if that is a key, emit it;
/// 3. otherwise, if it contains `_`, emit each non-empty, non-whitespace piece of it split on `_`, with the row's tag;
/// 4. otherwise emit the normalized word as it is (out of vocabulary).
public struct BookNormalizer {
    /// A token as emitted.
    public struct Token: Equatable, Sendable {
        public var word: String
        public var tag: String
    }

    /// How the rows were turned into tokens.
    public struct Statistics: Equatable, Sendable, Codable {
        /// Rows read (a row is a word and its tag).
        public var rows = 0
        /// Pairs of rows merged into one phrase.
        public var merged = 0
        /// Rows whose normalized form is a key of the model.
        public var found = 0
        /// Rows split on `_`, and the pieces they gave.
        public var split = 0
        public var pieces = 0
        /// Rows emitted as they are, not in the model.
        public var outOfVocabulary = 0

        public init() {}
    }

    /// Whether a string is a key of the model.
    public let isKey: (String) throws -> Bool

    public init(isKey: @escaping (String) throws -> Bool) {
        self.isKey = isKey
    }

    /// Digits (Unicode decimal digits, as Python's `\d`) to `#`, `-` to `_`.
    public static func normalize(_ word: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in word.unicodeScalars {
            if PythonText.isDecimal(scalar) {
                result.append("#")
            } else if scalar == "-" {
                result.append("_")
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    /// The pieces of a normalized word split on `_`, without empty or whitespace-only ones.
    public static func pieces(_ normalized: String) -> [String] {
        // Python splits code points: an `_` followed by a combining mark is still an `_`.
        normalized.unicodeScalars.split(separator: "_", omittingEmptySubsequences: true)
            .map { String(String.UnicodeScalarView($0)) }
            .filter { !PythonText.isSpace($0) }
    }

    /// Applies the rules to a stream of rows.
    /// - Parameter boundaries: row indices that start a sentence; a merge never crosses one (pass `[]` for the
    ///   book's behaviour, which merges across sentences).
    public func process(
        _ rows: [(word: String, tag: String)], sentenceStarts boundaries: Set<Int> = []
    ) throws -> (tokens: [Token], statistics: Statistics) {
        var tokens: [Token] = []
        tokens.reserveCapacity(rows.count)
        var statistics = Statistics()
        statistics.rows = rows.count
        var index = 0
        while index < rows.count {
            let (word, tag) = rows[index]
            if index + 1 < rows.count, rows[index + 1].tag.utf8.elementsEqual(tag.utf8), !boundaries.contains(index + 1)
            {
                let phrase = word + "_" + rows[index + 1].word
                if try isKey(phrase) {
                    tokens.append(Token(word: phrase, tag: tag))
                    statistics.merged += 1
                    index += 2
                    continue
                }
            }
            let normalized = Self.normalize(word)
            if try isKey(normalized) {
                tokens.append(Token(word: normalized, tag: tag))
                statistics.found += 1
            } else if normalized.unicodeScalars.contains("_") {
                let pieces = Self.pieces(normalized)
                tokens.append(contentsOf: pieces.map { Token(word: $0, tag: tag) })
                statistics.split += 1
                statistics.pieces += pieces.count
            } else {
                tokens.append(Token(word: normalized, tag: tag))
                statistics.outOfVocabulary += 1
            }
            index += 1
        }
        return (tokens, statistics)
    }

    /// Every key preparing these rows can need from the model: each adjacent join with equal tags and each
    /// normalized word (the rules look these up), and each split piece (whose vector the dataset needs). A cache
    /// holding these keys prepares exactly as the full model does.
    public static func candidateKeys(_ rows: [(word: String, tag: String)]) -> Set<CodePoints> {
        var keys = Set<CodePoints>()
        for index in rows.indices {
            let normalized = normalize(rows[index].word)
            keys.insert(CodePoints(normalized))
            if normalized.unicodeScalars.contains("_") { keys.formUnion(pieces(normalized).map { CodePoints($0) }) }
            if index + 1 < rows.count && rows[index + 1].tag.utf8.elementsEqual(rows[index].tag.utf8) {
                keys.insert(CodePoints(rows[index].word + "_" + rows[index + 1].word))
            }
        }
        return keys
    }
}
