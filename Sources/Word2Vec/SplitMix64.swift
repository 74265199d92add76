/// A small, fast, seedable random generator (SplitMix64) that gives the same sequence on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A float uniform in `[-range, range)`, from the top 24 bits of the next value (exact on every platform).
    public mutating func nextSymmetric(range: Float) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)  // [0, 1)
        return (unit * 2 - 1) * range
    }
}
