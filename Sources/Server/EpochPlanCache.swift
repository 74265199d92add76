import Datasets
import Support

/// Epoch plans kept for reuse, so that a batch requested by index costs what its own examples cost, not a shuffle
/// of the whole split. Bounded by the bytes the plans hold (``EpochPlan/byteCount``); the least recently used go
/// first, and a plan larger than the whole bound is used once and not kept.
final class EpochPlanCache: Sendable {
    struct Key: Hashable, Sendable {
        var dataset: DatasetName
        var split: String
        var batchSize: Int
        var seed: UInt64
        var epoch: Int
        var shuffle: Bool
    }

    private struct Entry {
        var plan: EpochPlan
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    private let state = Locked(State())
    /// The most bytes the kept plans may hold.
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The plan for `key`, made by `source` on first use.
    func plan(_ key: Key, source: any BatchSource) throws -> EpochPlan {
        if let plan = state.withLock({ state -> EpochPlan? in
            state.clock += 1
            state.entries[key]?.lastUse = state.clock
            return state.entries[key]?.plan
        }) {
            return plan
        }
        let plan = try source.epoch(
            split: key.split, batchSize: key.batchSize, seed: key.seed, epoch: key.epoch, shuffle: key.shuffle)
        let bytes = plan.byteCount
        state.withLock { state in
            guard bytes <= capacity, state.entries[key] == nil else { return }
            while state.bytes + bytes > capacity,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                state.bytes -= oldest.value.plan.byteCount
                state.entries[oldest.key] = nil
            }
            state.clock += 1
            state.entries[key] = Entry(plan: plan, lastUse: state.clock)
            state.bytes += bytes
        }
        return plan
    }

    /// How many plans are kept, and the bytes they hold.
    var usage: (plans: Int, bytes: Int) { state.withLock { ($0.entries.count, $0.bytes) } }
}
