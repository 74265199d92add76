import Dispatch
import LevelDB

/// Applies write batches to a database on a thread of its own, so that the caller can fill the next batch meanwhile.
///
/// Two batches circulate: the caller fills one while the other is written. ``finish()`` waits for the last write and
/// reports the first error met.
final class PipelinedWriter: @unchecked Sendable {
    // `@unchecked Sendable`: a batch belongs to the caller between `nextBatch()` and `submit(_:)`, and to the queue
    // after; `error` is written on the queue and read after `drain()` waited for it.
    private let database: Database
    private let queue = DispatchQueue(label: "w2vcache.writer")
    private let available: DispatchSemaphore
    private var spare: [WriteBatch]
    private let spareLock = DispatchSemaphore(value: 1)
    private var error: (any Error)?

    init(database: Database, depth: Int = 2) {
        self.database = database
        spare = (0..<depth).map { _ in WriteBatch() }
        // Start at 0 and signal: libdispatch traps when a semaphore is released below its initial value, which it
        // is when a failed build drops a batch it took but never submitted.
        available = DispatchSemaphore(value: 0)
        for _ in 0..<depth { available.signal() }
    }

    /// An empty batch to fill; waits while every batch is being written.
    func nextBatch() throws -> WriteBatch {
        available.wait()
        spareLock.wait()
        let batch = spare.removeLast()
        let failure = error
        spareLock.signal()
        if let failure {
            recycle(batch)
            throw failure
        }
        return batch
    }

    /// Hands a filled batch over to be written.
    func submit(_ batch: WriteBatch) {
        let handoff = Handoff(batch: batch)
        queue.async { [self] in
            let batch = handoff.batch
            do {
                try database.write(batch)
            } catch {
                spareLock.wait()
                if self.error == nil { self.error = error }
                spareLock.signal()
            }
            batch.clear()
            recycle(batch)
        }
    }

    private func recycle(_ batch: WriteBatch) {
        spareLock.wait()
        spare.append(batch)
        spareLock.signal()
        available.signal()
    }

    /// A batch crossing to the writer's queue, which alone uses it until it is recycled.
    private struct Handoff: @unchecked Sendable {
        // `@unchecked Sendable`: the submitting thread lets go of the batch when it hands it over (see `submit`).
        let batch: WriteBatch
    }

    /// Waits until every submitted batch is written; throws the first write error.
    func finish() throws {
        queue.sync {}
        spareLock.wait()
        defer { spareLock.signal() }
        if let error { throw error }
    }
}
