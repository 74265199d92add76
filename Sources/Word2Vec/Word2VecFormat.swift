/// The layouts of a vectors file that w2vcache reads.
public enum Word2VecFormat: String, Sendable, CaseIterable, Codable {
    /// word2vec binary: a `"<count> <dim>\n"` header, then per word its bytes, a space and `dim` little-endian
    /// float32, with (word2vec C tool) or without (GoogleNews, gensim) a `\n` after each vector.
    case binary
    /// word2vec text, and fastText `.vec`: the same header, then `word v1 … vdim` per line.
    case text
    /// GloVe text: like ``text`` without a header line; the dimension is read off the first line.
    case glove
    /// A fastText binary model (`.bin`): its words' full vectors, and the character n-gram rows that give a vector to
    /// a word it lacks (``FastTextSubwords``).
    case fasttext
}

/// What to do with a record that is not clean: a vector that holds NaN or an infinity (the non-finite policy), or a
/// word whose bytes are not valid UTF-8 (the invalid-UTF-8 policy). Either way the record is counted.
public enum RecordPolicy: String, Sendable, CaseIterable, Codable {
    /// Store it as it is (a word's raw bytes become its key: LevelDB keys are bytes).
    case keep
    /// Leave the word out.
    case skip
    /// Stop with an error naming the word and its offset.
    case fail
}

/// The first line of a vectors file (or, for GloVe, what its first line implies).
public struct Word2VecHeader: Sendable, Equatable {
    /// The number of vectors the header announces; `nil` for GloVe files, which do not say.
    public var count: Int?
    /// Components per vector.
    public var dimension: Int
    /// The layout the header and the file's first bytes say it has.
    public var format: Word2VecFormat
}

/// Counts of what a read met along the way.
public struct Word2VecReadStatistics: Sendable, Equatable, Codable {
    /// Records read from the file, including skipped ones.
    public var recordsRead = 0
    /// Records handed on (not skipped).
    public var recordsKept = 0
    /// Vectors holding NaN or an infinity, and how many of them the non-finite policy left out.
    public var nonFinite = 0
    public var nonFiniteSkipped = 0
    /// Words whose bytes are not valid UTF-8, and how many of them the invalid-UTF-8 policy left out.
    public var invalidUTF8 = 0
    public var invalidUTF8Skipped = 0
    /// Whether the read stopped early at a `limit`.
    public var stoppedAtLimit = false

    public init() {}
}
