import Synchronization

/// Where one reader stands in an epoch: which rank of how many, from which of its batches on, and which part of
/// them (a DataLoader worker reads every `parts`-th batch of its rank's share, from the `part`-th).
public struct EpochShare: Sendable, Equatable {
    public var rank: Int
    public var worldSize: Int
    /// The first of the rank's batches to read (a job restored from a checkpoint reads the rest of its share).
    public var start: Int
    public var part: Int
    public var parts: Int

    public init(rank: Int = 0, worldSize: Int = 1, start: Int = 0, part: Int = 0, parts: Int = 1) {
        precondition(worldSize >= 1 && rank >= 0 && rank < worldSize && start >= 0, "rank \(rank) of \(worldSize), start \(start)")
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
public struct EpochPlan: Sendable {
    /// The example indices of every batch, in order.
    public let batches: [ArraySlice<Int>]

    public init(batches: [ArraySlice<Int>]) {
        self.batches = batches
    }

    /// How many batches each of `worldSize` ranks reads.
    public func batchesPerRank(worldSize: Int) -> Int { batches.count / worldSize }

    /// How many batches of the epoch no rank reads.
    public func leftOut(worldSize: Int) -> Int { batches.count % worldSize }

    /// The positions in ``batches`` that `share` reads, in order.
    public func positions(_ share: EpochShare) -> StrideTo<Int> {
        let used = batchesPerRank(worldSize: share.worldSize) * share.worldSize
        return stride(from: share.rank + (share.start + share.part) * share.worldSize, to: used, by: share.worldSize * share.parts)
    }
}

/// Epoch plans kept for reuse, so that a batch requested by index costs what its own examples cost, not a shuffle
/// of the whole split. Bounded: at most `capacity` examples' worth of plans; the least recently used go first.
public final class EpochPlanCache: Sendable {
    public struct Key: Hashable, Sendable {
        public var dataset: DatasetName
        public var split: String
        public var batchSize: Int
        public var seed: UInt64
        public var epoch: Int
        public var shuffle: Bool

        public init(dataset: DatasetName, split: String, batchSize: Int, seed: UInt64, epoch: Int, shuffle: Bool) {
            self.dataset = dataset
            self.split = split
            self.batchSize = batchSize
            self.seed = seed
            self.epoch = epoch
            self.shuffle = shuffle
        }
    }

    private struct Entry {
        var plan: EpochPlan
        var examples: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var examples = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())
    /// The most examples the cached plans may index in all (8 bytes each).
    public let capacity: Int

    public init(capacity: Int = 64 << 20) {
        self.capacity = capacity
    }

    /// The plan for `key`, made by `source` on first use.
    public func plan(_ key: Key, source: any BatchSource) throws -> EpochPlan {
        if let plan = state.withLock({ state -> EpochPlan? in
            state.clock += 1
            state.entries[key]?.lastUse = state.clock
            return state.entries[key]?.plan
        }) {
            return plan
        }
        let plan = EpochPlan(batches: try source.epoch(split: key.split, batchSize: key.batchSize, seed: key.seed, epoch: key.epoch, shuffle: key.shuffle))
        let examples = try source.count(of: key.split)
        state.withLock { state in
            guard examples <= capacity, state.entries[key] == nil else { return }
            while state.examples + examples > capacity, let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                state.examples -= oldest.value.examples
                state.entries[oldest.key] = nil
            }
            state.clock += 1
            state.entries[key] = Entry(plan: plan, examples: examples, lastUse: state.clock)
            state.examples += examples
        }
        return plan
    }

    /// How many plans are kept.
    public var count: Int { state.withLock { $0.entries.count } }
}
