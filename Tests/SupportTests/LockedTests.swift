import Foundation
import Support
import Testing

@Suite struct LockedTests {
    /// Threads that read, change and write the value back under the lock lose none of each other's changes, however
    /// they interleave (with the lock's calls taken out, 5 runs of 5 lost some).
    @Test func threadsChangingTheValueUnderTheLockLoseNoChange() {
        let threads = 8
        let rounds = 100_000
        let counts = Locked((total: 0, perThread: [Int](repeating: 0, count: threads)))
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for _ in 0..<rounds {
                counts.withLock { counts in
                    let seen = counts.total
                    counts.perThread[thread] += 1
                    // Now and then give the CPU away between the read and the write, as a preempted thread would.
                    if counts.perThread[thread] % 1_000 == 0 { sched_yield() }
                    counts.total = seen + 1
                }
            }
        }
        let (total, perThread) = counts.withLock { ($0.total, $0.perThread) }
        #expect(total == threads * rounds)
        #expect(perThread == [Int](repeating: rounds, count: threads))
    }

    /// What the body returns or throws comes back out, and the lock is free again either way.
    @Test func theBodysResultAndErrorComeBackAndTheLockIsFreedAfterBoth() throws {
        struct Refused: Error {}
        let value = Locked([1, 2])
        #expect(value.withLock { $0.reduce(0, +) } == 3)
        #expect(throws: Refused.self) {
            try value.withLock { values in
                values.append(3)
                throw Refused()
            }
        }
        // A lock left held by the throw would block here for good.
        #expect(value.withLock { $0 } == [1, 2, 3])
    }
}
