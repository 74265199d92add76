import Dispatch
import Foundation

extension Array where Element: Sendable {
    /// `map` spread over the machine's cores, in order. For CPU-bound work on many independent items (tokenizing
    /// reviews); `transform` must not touch shared mutable state.
    public func concurrentMap<T: Sendable>(_ transform: @Sendable (Element) -> T) -> [T] {
        guard count > 1 else { return map(transform) }
        let chunks = Swift.min(count, 8 * Swift.max(1, ProcessInfo.processInfo.activeProcessorCount))
        let results = UnsafeMutableBufferPointer<T>.allocate(capacity: count)
        defer { results.deallocate() }
        nonisolated(unsafe) let output = results
        self.withUnsafeBufferPointer { input in
            nonisolated(unsafe) let items = input
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let range = (chunk * items.count / chunks)..<((chunk + 1) * items.count / chunks)
                for index in range { (output.baseAddress! + index).initialize(to: transform(items[index])) }
            }
        }
        let array = Array<T>(results)
        _ = results.deinitialize()
        return array
    }
}
