import Support

/// Vectors for words the pretrained model lacks: each component uniform in `[-range, range)`, drawn from a generator
/// seeded by a stable hash of the word's bytes and a configurable seed, so the same word gets the same bytes on every
/// machine and every run.
public struct OOVVectors: Sendable, Equatable {
    public var dimension: Int
    public var seed: UInt64
    public var range: Float

    public init(dimension: Int, seed: UInt64, range: Float) {
        self.dimension = dimension
        self.seed = seed
        self.range = range
    }

    /// The seed unless the configuration says otherwise (`oov.seed`).
    public static let defaultSeed: UInt64 = 1
    /// The range unless the configuration says otherwise (`oov.range`): the book's uniform(-0.25, 0.25).
    public static let defaultRange: Float = 0.25

    /// The vector of `word`, as little-endian float32 bytes.
    public func vectorBytes(for word: [UInt8]) -> [UInt8] {
        var random = SplitMix64(seed: StableHash.fnv1a64(word) ^ (seed &* 0x9E37_79B9_7F4A_7C15))
        var bytes = [UInt8]()
        bytes.reserveCapacity(dimension * 4)
        Float32Bytes.append((0..<dimension).lazy.map { _ in random.nextSymmetric(range: range) }, to: &bytes)
        return bytes
    }
}

extension VectorCache {
    /// Whether `word` came from the vectors file (present, and not an out-of-vocabulary vector added later).
    ///
    /// This is what "a key of the model" means for preprocessing: adding OOV vectors never changes the answer.
    public func isPretrained(_ word: [UInt8]) throws -> Bool {
        try contains(word) && !isOutOfVocabulary(word)
    }
}
