import Support

/// The order of one epoch's examples and its split into batches.
///
/// Every example appears exactly once per epoch. The order is a Fisher–Yates shuffle driven by SplitMix64 seeded from
/// `(seed, epoch)`, so a given seed and epoch give the same batches on every machine; without shuffling the order is
/// the stored one. The last batch is smaller when the batch size does not divide the count (PyTorch's
/// `drop_last=False`).
public struct BatchSampler: Sendable {
    /// The batch size when none is asked for (the command line's preview, the server's batch routes).
    public static let defaultBatchSize = 32

    public let count: Int
    public let batchSize: Int
    private let order: [Int]

    public init(count: Int, batchSize: Int, seed: UInt64, epoch: Int, shuffle: Bool = true) {
        precondition(batchSize > 0, "batch size must be positive")
        self.count = count
        self.batchSize = batchSize
        var order = Array(0..<count)
        if shuffle && count > 1 {
            var random = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0xD1B5_4A32_D192_ED03))
            for index in stride(from: count - 1, to: 0, by: -1) {
                // Unbiased enough and identical everywhere: the high word of a 64x64 multiplication.
                let pick = Int(random.next().multipliedFullWidth(by: UInt64(index + 1)).high)
                order.swapAt(index, pick)
            }
        }
        self.order = order
    }

    /// How many batches the epoch has.
    public var batchCount: Int { (count + batchSize - 1) / batchSize }

    /// The example indices of batch `index` (0-based).
    public func batch(_ index: Int) -> ArraySlice<Int> {
        precondition(index >= 0 && index < batchCount, "batch \(index) is outside 0..<\(batchCount)")
        return order[(index * batchSize)..<min((index + 1) * batchSize, count)]
    }
}
