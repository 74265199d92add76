import Foundation
import Synchronization

/// A source of decompressed bytes.
protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes; returns 0 only at the end of the data.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// How many bytes of the underlying file were read so far.
    var fileBytesRead: UInt64 { get }
}

extension ByteStream: ByteSource {}

/// Reads and inflates a ``ByteStream`` on a thread of its own, a few chunks ahead of the consumer, so that inflating
/// and parsing run on two cores.
///
/// The thread holds only the shared ``Pipeline``, never this object: a reader abandoned in the middle of a file is
/// released as usual, and its `deinit` stops the thread and waits for it, so no thread, buffer or descriptor is left.
final class ReadAheadStream: ByteSource {
    private let pipeline: Pipeline
    private var consumerIndex = 0
    private var consumerOffset = 0
    private var consumerHasChunk = false
    private var ended = false
    private(set) var fileBytesRead: UInt64 = 0

    init(stream: ByteStream, chunkSize: Int = 4 << 20, depth: Int = 3) {
        let pipeline = Pipeline(stream: stream, chunkSize: chunkSize, depth: depth)
        self.pipeline = pipeline
        let thread = Thread { pipeline.produce() }
        thread.name = "w2vcache.inflate"
        thread.start()
    }

    deinit {
        pipeline.stop()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if ended { return 0 }
        if !consumerHasChunk {
            pipeline.full.wait()
            consumerHasChunk = true
            consumerOffset = 0
            let chunk = pipeline.chunks[consumerIndex]
            fileBytesRead = chunk.fileBytesRead
            if let error = chunk.error {
                ended = true
                throw error
            }
            if chunk.count == 0 {
                ended = true
                return 0
            }
        }
        let chunk = pipeline.chunks[consumerIndex]
        let count = min(buffer.count, chunk.count - consumerOffset)
        buffer.baseAddress!.copyMemory(from: chunk.buffer.baseAddress! + consumerOffset, byteCount: count)
        consumerOffset += count
        if consumerOffset == chunk.count {
            consumerHasChunk = false
            consumerIndex = (consumerIndex + 1) % pipeline.chunks.count
            pipeline.free.signal()
        }
        return count
    }

    /// The chunks and semaphores the producer thread and the consumer share.
    final class Pipeline: @unchecked Sendable {
        // `@unchecked Sendable`: each chunk slot is owned by the producer between `free.wait()` and `full.signal()`,
        // and by the consumer between `full.wait()` and `free.signal()`; `stream` is touched only by the producer.
        struct Chunk {
            var buffer: UnsafeMutableRawBufferPointer
            var count = 0
            var fileBytesRead: UInt64 = 0
            var error: (any Error)?
        }

        private let stream: ByteStream
        /// The slots, in memory of their own: the producer writes one slot while the consumer reads another, which
        /// an `Array` shared by two threads cannot allow (writing an element is a write of the whole array: its
        /// storage could be copied under the reader).
        let chunks: UnsafeMutableBufferPointer<Chunk>
        let free: DispatchSemaphore
        let full = DispatchSemaphore(value: 0)
        private let finished = DispatchSemaphore(value: 0)
        private let cancelled = Atomic<Bool>(false)

        init(stream: ByteStream, chunkSize: Int, depth: Int) {
            self.stream = stream
            chunks = .allocate(capacity: depth)
            for index in 0..<depth {
                (chunks.baseAddress! + index).initialize(
                    to: Chunk(buffer: .allocate(byteCount: chunkSize, alignment: 16)))
            }
            // Start at 0 and signal: libdispatch traps when a semaphore is released below its initial value, which
            // a pipeline stopped in the middle of a file may be.
            free = DispatchSemaphore(value: 0)
            for _ in 0..<depth { free.signal() }
        }

        deinit {
            for chunk in chunks { chunk.buffer.deallocate() }
            _ = chunks.deinitialize()
            chunks.deallocate()
        }

        /// Stops the producer (wherever it is) and waits until its thread is done with the pipeline.
        func stop() {
            cancelled.store(true, ordering: .relaxed)
            free.signal()  // wake the producer if it waits for a slot
            finished.wait()
        }

        /// The producer thread's loop: fill free slots until the data ends, an error occurs or ``stop()`` is called.
        func produce() {
            var index = 0
            while true {
                free.wait()
                if cancelled.load(ordering: .relaxed) { break }
                do {
                    chunks[index].count = try fill(chunks[index].buffer)
                    chunks[index].error = nil
                } catch {
                    chunks[index].count = 0
                    chunks[index].error = error
                }
                chunks[index].fileBytesRead = stream.fileBytesRead
                let done = chunks[index].count == 0
                full.signal()
                if done { break }
                index = (index + 1) % chunks.count
            }
            finished.signal()
        }

        /// Fills a whole chunk unless the data ends first.
        private func fill(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            var filled = 0
            while filled < buffer.count {
                let read = try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                if read == 0 { break }
                filled += read
            }
            return filled
        }
    }
}
