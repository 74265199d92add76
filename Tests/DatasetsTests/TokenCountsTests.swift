import Foundation
import Support
import Testing

@testable import Datasets

private struct Stop: Error {}

/// Token counts made on every core, a stretch of ``PrepareProgress/interval`` sequences a core at a time, equal a
/// count on one core; a check that throws between two stretches stops the count.
@Suite struct TokenCountsTests {
    /// Enough sequences for three stretches on each of two cores (or more on more cores).
    let sequences: [[String]] = (0..<(6 * PrepareProgress.interval + 5)).map { index in
        (0..<(index % 5)).map { "t\((index * 7 + $0 * 13) % 1_001)" }
    }

    @Test func theCountsOfOneCoreWithACheckBeforeEachStretch() {
        var expected: [CodePoints: Int] = [:]
        for tokens in sequences { for token in tokens { expected[CodePoints(token), default: 0] += 1 } }
        let reported = Locked<[Int]>([])
        var checks = 0
        let counts = sequences.tokenCounts(
            progress: { done in reported.withLock { $0.append(done) } }, checking: { checks += 1 })
        #expect(counts == expected)
        let cores = max(1, min(sequences.count, ProcessInfo.processInfo.activeProcessorCount))
        let longestPart = (sequences.count + cores - 1) / cores
        #expect(checks == (longestPart + PrepareProgress.interval - 1) / PrepareProgress.interval)
        #expect(checks >= 2)
        let progress = reported.withLock { $0 }
        #expect(progress.first == 0 && progress.last == sequences.count && progress == progress.sorted())
        #expect([[String]]().tokenCounts(checking: {}).isEmpty)
    }

    @Test func aThrowingCheckStopsTheCount() {
        let reported = Locked(0)
        var checks = 0
        #expect(throws: Stop.self) {
            _ = try sequences.tokenCounts(
                progress: { done in reported.withLock { $0 = done } },
                checking: {
                    checks += 1
                    if checks == 2 { throw Stop() }
                })
        }
        #expect(checks == 2)
        // One stretch a core was counted, no more.
        #expect(reported.withLock { $0 } <= PrepareProgress.interval * ProcessInfo.processInfo.activeProcessorCount)
        #expect(reported.withLock { $0 } > 0)
    }
}
