import Foundation
import Preprocessing
import Support
import Testing

/// An item that counts how many of its kind are alive, to see that a stopped map releases what it made.
private final class Counted: Sendable {
    static let alive = Locked(0)
    let value: Int

    init(_ value: Int) {
        self.value = value
        Self.alive.withLock { $0 += 1 }
    }

    deinit { Self.alive.withLock { $0 -= 1 } }
}

private struct Stop: Error {}

@Suite(.serialized) struct ConcurrentMapTests {
    let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// How many rounds a map of `count` items runs in: a `check` before each.
    func rounds(_ count: Int) -> Int { count < 2 ? 1 : min(concurrentMapRounds, max(1, count / (8 * cores))) }

    @Test(arguments: [0, 1, 2, 17, 1_000, 50_000])
    func mapsInOrderCheckingBeforeEachRound(count: Int) {
        let items = Array(0..<count)
        let reported = Locked<[Int]>([])
        var checks = 0
        let mapped = items.concurrentMap(
            progress: { done in reported.withLock { $0.append(done) } }, checking: { checks += 1 }
        ) { $0 * 3 + 1 }
        #expect(mapped == items.map { $0 * 3 + 1 })
        #expect(checks == rounds(count))
        let progress = reported.withLock { $0 }
        #expect(progress.first == 0 && progress.last == count)
        #expect(progress == progress.sorted())
    }

    /// A check that throws ends the map at that round: the error comes out, the rounds after it are not mapped, and
    /// every result already made is released.
    @Test func aThrowingCheckStopsTheRoundsAfterItAndReleasesWhatWasMade() {
        let count = 8 * cores * concurrentMapRounds * 4
        #expect(rounds(count) == concurrentMapRounds)
        for stopAt in [1, 2, concurrentMapRounds / 2, concurrentMapRounds] {
            let transformed = Locked(0)
            var checks = 0
            #expect(throws: Stop.self) {
                _ = try Array(0..<count).concurrentMap(checking: {
                    checks += 1
                    if checks == stopAt { throw Stop() }
                }) { value in
                    transformed.withLock { $0 += 1 }
                    return Counted(value)
                }
            }
            #expect(checks == stopAt)
            // Round r maps items r * count / rounds up to the next round's first: those before the stop, no more.
            #expect(transformed.withLock { $0 } == (stopAt - 1) * count / concurrentMapRounds)
            #expect(Counted.alive.withLock { $0 } == 0, "results left alive after a stop at round \(stopAt)")
        }
        let kept = Array(0..<count).concurrentMap(checking: {}) { Counted($0) }
        #expect(kept.map(\.value) == Array(0..<count))
        #expect(Counted.alive.withLock { $0 } == count)
    }
}
