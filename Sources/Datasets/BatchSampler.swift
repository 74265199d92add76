import Support

/// The order of one epoch's examples.
///
/// Every example appears exactly once per epoch. The order is a Fisher–Yates shuffle driven by SplitMix64 seeded from
/// `(seed, epoch)`, so a given seed and epoch give the same batches on every machine; without shuffling the order is
/// the stored one. Cut into batches (``EpochPlan``), the last batch is smaller when the batch size does not divide
/// the count (PyTorch's `drop_last=False`).
public enum BatchSampler {
    /// The batch size when none is asked for (the command line's preview, the server's batch routes).
    public static let defaultBatchSize = 32

    /// The examples `0..<count` in the epoch's order.
    public static func order(count: Int, seed: UInt64, epoch: Int, shuffle: Bool = true) -> [Int] {
        var order = Array(0..<count)
        if shuffle && count > 1 {
            var random = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0xD1B5_4A32_D192_ED03))
            for index in stride(from: count - 1, to: 0, by: -1) {
                // Unbiased enough and identical everywhere: the high word of a 64x64 multiplication.
                let pick = Int(random.next().multipliedFullWidth(by: UInt64(index + 1)).high)
                order.swapAt(index, pick)
            }
        }
        return order
    }

    /// How many batches of `batchSize` (at least 1) `count` examples make: `count / batchSize` rounded up.
    public static func batchCount(count: Int, batchSize: Int) -> Int {
        count / batchSize + (count % batchSize == 0 ? 0 : 1)
    }
}
