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

/// FNV-1a, 64-bit: a hash of bytes that is the same on every machine and in every process (Swift's `Hasher` is
/// seeded per process).
public enum StableHash {
    @inlinable  // specialized for each caller's byte sequence (a generic call costs a lookup per byte)
    public static func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}
