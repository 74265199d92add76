import Foundation
import Preprocessing
import Support

extension Array where Element == [String] {
    /// How often each token occurs in these token sequences, counted on all cores (a part of the sequences each,
    /// then added up): what ``Vocabulary/byFrequency(_:specials:maxSize:minCount:)`` ranks. Counting a million
    /// translation pairs' tokens on one core was a sixth of `prepare translation`.
    /// - Parameter progress: told how many sequences are counted, 0 first, then every ``PrepareProgress/interval``
    ///   sequences and at the end, one call at a time and counting up.
    func tokenCounts(progress: @Sendable (_ done: Int) -> Void = { _ in }) -> [CodePoints: Int] {
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
        var partCounts = ranges.concurrentMap { range in
            var counts: [CodePoints: Int] = [:]
            for start in stride(from: range.lowerBound, to: range.upperBound, by: PrepareProgress.interval) {
                let stretch = start..<Swift.min(start + PrepareProgress.interval, range.upperBound)
                for tokens in self[stretch] { for token in tokens { counts[CodePoints(token), default: 0] += 1 } }
                report(stretch.count)
            }
            return counts
        }
        var counts = partCounts.popLast() ?? [:]
        for part in partCounts { counts.merge(part, uniquingKeysWith: +) }
        return counts
    }
}
