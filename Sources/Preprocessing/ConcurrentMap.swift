import Dispatch
import Foundation
import Support

extension Array where Element: Sendable {
    /// `map` spread over the machine's cores, in order. For CPU-bound work on many independent items (tokenizing
    /// reviews); `transform` must not touch shared mutable state.
    /// - Parameter progress: told how many items are done, 0 first, then after each part (8 a core), one call at a
    ///   time.
    public func concurrentMap<T: Sendable>(
        progress: @Sendable (_ done: Int) -> Void = { _ in }, _ transform: @Sendable (Element) -> T
    ) -> [T] {
        progress(0)
        guard count > 1 else {
            defer { progress(count) }
            return map(transform)
        }
        let done = Locked(0)
        let chunks = Swift.min(count, 8 * Swift.max(1, ProcessInfo.processInfo.activeProcessorCount))
        let results = UnsafeMutableBufferPointer<T>.allocate(capacity: count)
        defer { results.deallocate() }
        nonisolated(unsafe) let output = results
        self.withUnsafeBufferPointer { input in
            nonisolated(unsafe) let items = input
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let range = (chunk * items.count / chunks)..<((chunk + 1) * items.count / chunks)
                for index in range { (output.baseAddress! + index).initialize(to: transform(items[index])) }
                done.withLock {
                    $0 += range.count
                    progress($0)
                }
            }
        }
        let array = Array<T>(results)
        _ = results.deinitialize()
        return array
    }
}
