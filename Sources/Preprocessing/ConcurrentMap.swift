import Dispatch
import Foundation
import Support

extension Array where Element: Sendable {
    /// `map` spread over the machine's cores, in order. For CPU-bound work on many independent items (tokenizing
    /// reviews); `transform` must not touch shared mutable state.
    ///
    /// The items are mapped in up to ``concurrentMapRounds`` rounds, each a stretch of them in 8 parts a core, and
    /// `check` is called on the calling thread before each round: what it throws ends the map there (an
    /// interruption), the results of the rounds done released.
    /// - Parameters:
    ///   - progress: told how many items are done, 0 first, then after each part, one call at a time.
    ///   - check: called before each round; throws to stop (`{}` maps every item).
    public func concurrentMap<T: Sendable>(
        progress: @Sendable (_ done: Int) -> Void = { _ in }, checking check: () throws -> Void,
        _ transform: @Sendable (Element) -> T
    ) rethrows -> [T] {
        progress(0)
        guard count > 1 else {
            try check()
            defer { progress(count) }
            return map(transform)
        }
        let done = Locked(0)
        let partsPerRound = 8 * Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
        let rounds = Swift.min(concurrentMapRounds, Swift.max(1, count / partsPerRound))
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            nonisolated(unsafe) let output = buffer
            try withUnsafeBufferPointer { input in
                nonisolated(unsafe) let items = input
                for round in 0..<rounds {
                    try check()
                    let stretch = (round * items.count / rounds)..<((round + 1) * items.count / rounds)
                    let parts = Swift.min(stretch.count, partsPerRound)
                    DispatchQueue.concurrentPerform(iterations: parts) { part in
                        let start = stretch.lowerBound + part * stretch.count / parts
                        let range = start..<(stretch.lowerBound + (part + 1) * stretch.count / parts)
                        for index in range { (output.baseAddress! + index).initialize(to: transform(items[index])) }
                        done.withLock {
                            $0 += range.count
                            progress($0)
                        }
                    }
                    // Every item of the rounds so far is initialized: released with the array if `check` throws.
                    initialized = stretch.upperBound
                }
            }
        }
    }
}

/// How many rounds ``Swift/Array/concurrentMap(progress:checking:_:)`` maps its items in at the most: the `check`
/// between two comes after a sixteenth of the work.
public let concurrentMapRounds = 16
