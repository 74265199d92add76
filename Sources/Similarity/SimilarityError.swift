import Support

/// Why a similarity query or an evaluation could not be answered.
public struct SimilarityError: DescribedError, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Words the vectors file does not have (out-of-vocabulary vectors made by `prepare` do not count).
        case unknownWords
        /// A query with no words, words that cancel out, or a word whose vector is zero.
        case unusableQuery
        /// An evaluation file that cannot be read as the format it should have.
        case badInput
    }

    public let kind: Kind
    public let message: String
}
