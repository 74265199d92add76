/// Hands out borrowed slices of a byte source (up to a delimiter, or a fixed length) from one reusable buffer.
///
/// A slice is valid until the next call. The byte after a slice returned by ``read(until:maxLength:)`` is always
/// readable and is never a digit, so C number parsers such as `strtof` stop at the slice's end.
final class BufferedReader {
    private let stream: any ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var streamEnded = false
    /// Offset in the decompressed data of the next unread byte.
    private(set) var offset: UInt64 = 0

    /// - Parameter capacity: the largest slice that can be requested.
    init(stream: any ByteSource, capacity: Int = 4 << 20) {
        self.stream = stream
        // One spare byte for a sentinel after the last slice of the data.
        buffer = .allocate(byteCount: capacity + 1, alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    var capacity: Int { buffer.count - 1 }

    /// Makes at least `count` bytes available unless the data ends first; returns how many are available.
    private func fill(atLeast count: Int) throws -> Int {
        while end - start < count && !streamEnded {
            if start > 0 {
                if start < end {
                    buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start)
                }
                end -= start
                start = 0
            }
            let read = try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end..<capacity]))
            if read == 0 { streamEnded = true }
            end += read
        }
        return end - start
    }

    /// Whether every byte has been consumed.
    func atEnd() throws -> Bool {
        try fill(atLeast: 1) == 0
    }

    /// The next byte without consuming it, or `nil` at the end.
    func peek() throws -> UInt8? {
        try fill(atLeast: 1) > 0 ? buffer[start] : nil
    }

    /// Up to `count` upcoming bytes without consuming them.
    func peek(count: Int) throws -> UnsafeRawBufferPointer {
        let available = try fill(atLeast: count)
        return UnsafeRawBufferPointer(rebasing: buffer[start..<(start + min(count, available))])
    }

    /// Consumes one byte.
    func skip() {
        start += 1
        offset += 1
    }

    /// Consumes and returns exactly `count` bytes, or fewer if the data ends first.
    func read(count: Int) throws -> UnsafeRawBufferPointer {
        precondition(count <= capacity)
        let available = min(count, try fill(atLeast: count))
        let slice = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + available)])
        start += available
        offset += UInt64(available)
        return slice
    }

    /// Consumes bytes up to and including `delimiter` and returns them without it.
    ///
    /// Returns `nil` at the end of the data. Returns `(slice, false)` when the data ends, or `maxLength` bytes pass,
    /// without the delimiter: the slice then holds the rest of the data, or its first `maxLength` bytes. A slice is
    /// never longer than `maxLength` (nor than ``capacity`` - 1).
    func read(until delimiter: UInt8, maxLength: Int) throws -> (slice: UnsafeRawBufferPointer, found: Bool)? {
        let limit = min(maxLength, capacity - 1)
        var scanned = 0
        while true {
            // The delimiter may sit right after `limit` bytes: look at one byte more than the limit, no further.
            let windowEnd = min(end, start + limit + 1)
            let window = UnsafeRawBufferPointer(rebasing: buffer[(start + scanned)..<windowEnd])
            if let index = window.firstIndex(of: delimiter) {
                let length = scanned + index
                let slice = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + length)])
                start += length + 1
                offset += UInt64(length + 1)
                return (slice, true)
            }
            scanned = windowEnd - start
            if scanned > limit || streamEnded {
                if scanned == 0 { return nil }
                let length = min(scanned, limit)
                // Sentinel after the slice, so that number parsers stop there.
                if start + length == end { buffer[end] = 0x0A }
                let slice = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + length)])
                start += length
                offset += UInt64(length)
                return (slice, false)
            }
            _ = try fill(atLeast: scanned + 1)
            scanned = min(scanned, end - start)
        }
    }
}
