/// Where one reader stands in an epoch: which rank of how many, from which of its batches on, and which part of
/// them (a DataLoader worker reads every `parts`-th batch of its rank's share, from the `part`-th).
///
/// Values from a request or a flag reach it only through ``EpochRequest/validated(for:split:maxBatchSize:)``, which
/// bounds each by what it can mean.
public struct EpochShare: Sendable, Equatable {
    public var rank: Int
    public var worldSize: Int
    /// The first of the rank's batches to read (a job restored from a checkpoint reads the rest of its share).
    public var start: Int
    public var part: Int
    public var parts: Int

    public init(rank: Int = 0, worldSize: Int = 1, start: Int = 0, part: Int = 0, parts: Int = 1) {
        precondition(
            worldSize >= 1 && rank >= 0 && rank < worldSize && start >= 0,
            "rank \(rank) of \(worldSize), start \(start)")
        precondition(parts >= 1 && part >= 0 && part < parts, "part \(part) of \(parts)")
        self.rank = rank
        self.worldSize = worldSize
        self.start = start
        self.part = part
        self.parts = parts
    }

    /// The whole epoch, for one reader.
    public static let everything = EpochShare()
}

/// One epoch of a split cut into batches, and how it is shared among the ranks of a distributed job.
///
/// Every rank gets the same number of batches (uneven counts hang DistributedDataParallel): of the epoch's `B`
/// batches, the last `B mod W` are left out (fewer than `W`), and rank `r` takes batches `r, r + W, r + 2W, …` of
/// the rest, as `DistributedSampler` strides over examples. The batches left out are the last of the shuffled order,
/// so each (seed, epoch) leaves out others; the examples they hold are read in other epochs.
///
/// A plan is the epoch's example order and where its batches start: 8 bytes per example, and 8 per batch when
/// batches differ in size (``byteCount`` is what it holds in memory).
public struct EpochPlan: Sendable {
    /// Every example index of the epoch, batch after batch.
    private let order: [Int]
    private let boundaries: Boundaries

    private enum Boundaries: Sendable {
        /// Batches of `size` examples, the last one smaller.
        case every(size: Int)
        /// Batch `i` is `order[starts[i]..<starts[i + 1]]`.
        case at(starts: [Int])
    }

    /// Batches of `batchSize` examples of `order`, in order, the last one smaller.
    public init(order: [Int], batchSize: Int) {
        precondition(batchSize >= 1, "a batch size below 1")
        self.order = order
        boundaries = .every(size: batchSize)
    }

    /// Batches of the sizes given, taking the examples of `order` in turn (the sizes add up to its count).
    public init(order: [Int], batchSizes: [Int]) {
        var starts = [0]
        starts.reserveCapacity(batchSizes.count + 1)
        for size in batchSizes { starts.append(starts.last! + size) }
        precondition(starts.last == order.count, "batch sizes that do not add up to the examples")
        self.order = order
        boundaries = .at(starts: starts)
    }

    /// How many batches the epoch has.
    public var batchCount: Int {
        switch boundaries {
        case .every(let size): order.count / size + (order.count % size == 0 ? 0 : 1)
        case .at(let starts): starts.count - 1
        }
    }

    /// The example indices of batch `index` (0-based, below ``batchCount``).
    public func batch(_ index: Int) -> ArraySlice<Int> {
        switch boundaries {
        case .every(let size):
            let start = index * size
            return order[start..<min(start + size, order.count)]
        case .at(let starts):
            return order[starts[index]..<starts[index + 1]]
        }
    }

    /// The bytes the plan holds in memory.
    public var byteCount: Int {
        let starts = if case .at(let starts) = boundaries { starts.capacity } else { 0 }
        return (order.capacity + starts) * MemoryLayout<Int>.stride + 128
    }

    /// How many batches each of `worldSize` ranks reads.
    public func batchesPerRank(worldSize: Int) -> Int { batchCount / worldSize }

    /// How many batches of the epoch no rank reads.
    public func leftOut(worldSize: Int) -> Int { batchCount % worldSize }

    /// The positions in the plan that `share` reads, in order. No arithmetic here can overflow, whatever the share.
    public func positions(_ share: EpochShare) -> StrideTo<Int> {
        let perRank = batchesPerRank(worldSize: share.worldSize)
        let used = perRank * share.worldSize  // at most batchCount
        let (first, overflow) = share.start.addingReportingOverflow(share.part)
        guard !overflow, first < perRank else { return stride(from: 0, to: 0, by: 1) }
        // Below `used`: `first < perRank` and `rank < worldSize`.
        let from = share.rank + first * share.worldSize
        let (step, tooLarge) = share.worldSize.multipliedReportingOverflow(by: share.parts)
        // A step past the end reads one batch, as any step that large does, and cannot overflow `from + step`.
        return stride(from: from, to: used, by: tooLarge ? used : min(step, used))
    }
}
