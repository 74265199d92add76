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
final class ReadAheadStream: ByteSource, @unchecked Sendable {
    // `@unchecked Sendable`: each chunk slot is owned by the producer between `free.wait()` and `full.signal()`, and
    // by the consumer between `full.wait()` and `free.signal()`; `stream` is touched only by the producer.
    private struct Chunk {
        var buffer: UnsafeMutableRawBufferPointer
        var count = 0
        var fileBytesRead: UInt64 = 0
        var error: (any Error)?
    }

    private let stream: ByteStream
    private var chunks: [Chunk]
    private let free: DispatchSemaphore
    private let full = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let cancelled = Atomic<Bool>(false)
    private var consumerIndex = 0
    private var consumerOffset = 0
    private var consumerHasChunk = false
    private var ended = false
    private(set) var fileBytesRead: UInt64 = 0

    init(stream: ByteStream, chunkSize: Int = 4 << 20, depth: Int = 3) {
        self.stream = stream
        chunks = (0..<depth).map { _ in Chunk(buffer: .allocate(byteCount: chunkSize, alignment: 16)) }
        free = DispatchSemaphore(value: depth)
        let thread = Thread { [self] in produce() }
        thread.name = "w2vcache.inflate"
        thread.start()
    }

    deinit {
        cancelled.store(true, ordering: .relaxed)
        free.signal()  // wake the producer if it waits for a slot
        finished.wait()
        for chunk in chunks { chunk.buffer.deallocate() }
    }

    private func produce() {
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

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if ended { return 0 }
        if !consumerHasChunk {
            full.wait()
            consumerHasChunk = true
            consumerOffset = 0
            let chunk = chunks[consumerIndex]
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
        let chunk = chunks[consumerIndex]
        let count = min(buffer.count, chunk.count - consumerOffset)
        buffer.baseAddress!.copyMemory(from: chunk.buffer.baseAddress! + consumerOffset, byteCount: count)
        consumerOffset += count
        if consumerOffset == chunk.count {
            consumerHasChunk = false
            consumerIndex = (consumerIndex + 1) % chunks.count
            free.signal()
        }
        return count
    }
}
