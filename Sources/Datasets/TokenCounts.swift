import Foundation
import Preprocessing
import Support

extension Array where Element == [String] {
    /// How often each token occurs in these token sequences, counted on all cores (a part of the sequences each,
    /// then added up): what ``Vocabulary/byFrequency(_:specials:maxSize:minCount:)`` ranks. Counting a million
    /// translation pairs' tokens on one core was a sixth of `prepare translation`.
    /// - Parameters:
    ///   - progress: told how many sequences are counted, 0 first, then every ``PrepareProgress/interval``
    ///     sequences of a core and at the end, one call at a time and counting up.
    ///   - check: called on the calling thread before each core counts its next ``PrepareProgress/interval``
    ///     sequences; what it throws stops the count (an interruption).
    func tokenCounts(
        progress: @Sendable (_ done: Int) -> Void = { _ in }, checking check: () throws -> Void
    ) rethrows -> [CodePoints: Int] {
        let parts = Swift.max(1, Swift.min(count, ProcessInfo.processInfo.activeProcessorCount))
        let done = Locked(0)
        @Sendable func report(_ counted: Int) {
            done.withLock {
                $0 += counted
                progress($0)
            }
        }
        report(0)
        let ranges = (0..<parts).map { ($0 * count / parts)..<(($0 + 1) * count / parts) }
        let interval = PrepareProgress.interval
        let rounds = ((ranges.map(\.count).max() ?? 0) + interval - 1) / interval
        // Each core's own counts, kept from one round to the next; only that core touches them.
        let partCounts = UnsafeMutableBufferPointer<[CodePoints: Int]>.allocate(capacity: parts)
        partCounts.initialize(repeating: [:])
        defer {
            _ = partCounts.deinitialize()
            partCounts.deallocate()
        }
        nonisolated(unsafe) let counts = partCounts
        for round in 0..<rounds {
            try check()
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let start = ranges[part].lowerBound + round * interval
                guard start < ranges[part].upperBound else { return }
                let stretch = start..<Swift.min(start + interval, ranges[part].upperBound)
                // Moved out and back: counting into a local dictionary is a fifth faster than through the buffer.
                var partCounts = (counts.baseAddress! + part).move()
                for tokens in self[stretch] { for token in tokens { partCounts[CodePoints(token), default: 0] += 1 } }
                (counts.baseAddress! + part).initialize(to: partCounts)
                report(stretch.count)
            }
        }
        var total: [CodePoints: Int] = [:]
        swap(&total, &counts[parts - 1])  // taken, not shared: the merges below need not copy it
        for part in counts.dropLast() { total.merge(part, uniquingKeysWith: +) }
        return total
    }
}
