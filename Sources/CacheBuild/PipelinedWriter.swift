import Dispatch
import LevelDB

/// A batch of writes that ``PipelinedWriter`` fills on one thread and applies on another.
protocol PipelineBatch: AnyObject, SendableMetatype {
    init()
    /// Empties the batch for reuse.
    func clear()
}

extension WriteBatch: PipelineBatch {}

/// Applies batches on a thread of its own, so that the caller can fill the next batch meanwhile.
///
/// Two batches circulate: the caller fills one while the other is applied. ``finish()`` waits for the last one and
/// reports the first error met.
final class PipelinedWriter<Batch: PipelineBatch>: @unchecked Sendable {
    // `@unchecked Sendable`: a batch belongs to the caller between `nextBatch()` and `submit(_:)`, and to the queue
    // after; `error` is written on the queue and read after `drain()` waited for it.
    private let apply: (Batch) throws -> Void
    private let queue = DispatchQueue(label: "w2vcache.writer")
    private let available: DispatchSemaphore
    private var spare: [Batch]
    private let spareLock = DispatchSemaphore(value: 1)
    private var error: (any Error)?

    /// - Parameter apply: what a batch is for, run on the writer's queue, one batch at a time.
    init(depth: Int = 2, apply: @escaping (Batch) throws -> Void) {
        self.apply = apply
        spare = (0..<depth).map { _ in Batch() }
        // Start at 0 and signal: libdispatch traps when a semaphore is released below its initial value, which it
        // is when a failed build drops a batch it took but never submitted.
        available = DispatchSemaphore(value: 0)
        for _ in 0..<depth { available.signal() }
    }

    /// An empty batch to fill; waits while every batch is being applied.
    func nextBatch() throws -> Batch {
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

    /// Hands a filled batch over to be applied.
    func submit(_ batch: Batch) {
        let handoff = Handoff(batch: batch)
        queue.async { [self] in
            let batch = handoff.batch
            spareLock.wait()
            let failed = error != nil
            spareLock.signal()
            do {
                if !failed { try apply(batch) }
            } catch {
                spareLock.wait()
                if self.error == nil { self.error = error }
                spareLock.signal()
            }
            batch.clear()
            recycle(batch)
        }
    }

    private func recycle(_ batch: Batch) {
        spareLock.wait()
        spare.append(batch)
        spareLock.signal()
        available.signal()
    }

    /// A batch crossing to the writer's queue, which alone uses it until it is recycled.
    private struct Handoff: @unchecked Sendable {
        // `@unchecked Sendable`: the submitting thread lets go of the batch when it hands it over (see `submit`).
        let batch: Batch
    }

    /// Waits until every submitted batch is applied; throws the first error.
    func finish() throws {
        queue.sync {}
        spareLock.wait()
        defer { spareLock.signal() }
        if let error { throw error }
    }
}

extension PipelinedWriter where Batch == WriteBatch {
    /// Writes batches to `database`.
    convenience init(database: Database) {
        self.init { try database.write($0) }
    }
}

extension PipelinedWriter where Batch == TableEntries {
    /// Adds batches of entries to `tables`, which only this writer's thread adds to until ``finish()`` returns.
    convenience init(tables: TableFileWriter) {
        let handoff = UncheckedTables(value: tables)
        self.init { try $0.add(to: handoff.value) }
    }

    private struct UncheckedTables: @unchecked Sendable {
        // `@unchecked Sendable`: the writer's thread alone adds to the tables until `finish()` returns.
        let value: TableFileWriter
    }
}

/// Keys and values for a ``TableFileWriter``, queued in one buffer: each entry is the key's and the value's length
/// (UInt32, little-endian), then the key, then the value.
final class TableEntries: PipelineBatch {
    private var bytes: [UInt8] = []

    /// The bytes queued.
    var byteCount: Int { bytes.count }

    func append(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        withUnsafeBytes(of: UInt32(key.count).littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(value.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: key)
        bytes.append(contentsOf: value)
    }

    /// Adds the entries, in order, to `tables`.
    func add(to tables: TableFileWriter) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let keyCount = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                let valueCount = Int(
                    UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
                let key = UnsafeRawBufferPointer(rebasing: buffer[offset + 8..<offset + 8 + keyCount])
                let value = UnsafeRawBufferPointer(
                    rebasing: buffer[offset + 8 + keyCount..<offset + 8 + keyCount + valueCount])
                try tables.add(key: key, value: value)
                offset += 8 + keyCount + valueCount
            }
        }
    }

    func clear() { bytes.removeAll(keepingCapacity: true) }

    init() {}
}
