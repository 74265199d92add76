import CLinuxFiles
import Dispatch
import VectorCache

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Puts records that arrive in file order into key order with bounded memory.
///
/// Records are gathered in a run buffer; a full buffer is sorted and written to a spill file on a background thread
/// while the caller fills the other buffer. ``finish()`` merges the runs, yielding records in key order (equal keys
/// in arrival order, so the first occurrence of a word comes first). Writing LevelDB in key order leaves it with no
/// compaction work to do.
final class SortedRuns: @unchecked Sendable {
    // `@unchecked Sendable`: the background queue only touches the buffer it was handed and `spillState`, and
    // `append`/`finish` wait for it before reusing either.
    let vectorBytes: Int
    private let spillPath: String
    private var spillFile: Int32 = -1
    private var filling: RunBuffer
    private var spare: RunBuffer
    private let queue = DispatchQueue(label: "w2vcache.sorted-runs")
    private let spillDone = DispatchSemaphore(value: 1)
    /// Written by the background queue, read after waiting on `spillDone`.
    private var spillState = SpillState()

    private struct SpillState {
        var runs: [Range<UInt64>] = []
        var end: UInt64 = 0
        var error: CacheError?
    }

    /// - Parameters:
    ///   - memoryBudget: bytes for the two run buffers together.
    ///   - spillPath: a file to create for runs that do not fit in memory; removed by ``close()``.
    init(vectorBytes: Int, memoryBudget: Int, spillPath: String) {
        self.vectorBytes = vectorBytes
        self.spillPath = spillPath
        let perBuffer = max(memoryBudget / 2, 64 << 10)
        let records = max(perBuffer / (vectorBytes + MemoryLayout<RunBuffer.Entry>.stride + 16), 16)
        filling = RunBuffer(records: records, vectorBytes: vectorBytes)
        spare = RunBuffer(records: records, vectorBytes: vectorBytes)
    }

    deinit {
        close()
    }

    /// Adds one record; `vector` must be `vectorBytes` long.
    func append(key: UnsafeRawBufferPointer, sequence: UInt32, vector: UnsafeRawBufferPointer) throws {
        if !filling.canHold(keyLength: key.count) {
            try spillFillingBuffer()
        }
        filling.append(key: key, sequence: sequence, vector: vector)
    }

    /// Sorts the full buffer and writes it out in the background; the caller goes on with the spare buffer.
    private func spillFillingBuffer() throws {
        spillDone.wait()
        if let error = spillState.error {
            spillDone.signal()
            throw error
        }
        if spillFile < 0 {
            // O_EXCL: never truncate a file that is not ours. The magic marks it as a spill file for cleanup.
            spillFile = open(spillPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            let magic = CacheLocation.spillMagic
            guard spillFile >= 0,
                magic.withUnsafeBytes({ pwrite(spillFile, $0.baseAddress, $0.count, 0) }) == magic.count
            else {
                let reason = String(cString: strerror(errno))
                closeSpillFile()
                spillDone.signal()
                throw CacheError(.io, "cannot create the temporary file \(spillPath): \(reason)")
            }
            spillState.end = UInt64(magic.count)
        }
        let full = filling
        filling = spare
        spare = full
        filling.reset()
        let file = spillFile
        let path = spillPath
        queue.async { [self] in
            full.sort()
            do {
                let start = spillState.end
                let end = try full.write(to: file, at: start, path: path)
                spillState.runs.append(start..<end)
                spillState.end = end
            } catch let error as CacheError {
                spillState.error = error
            } catch {
                spillState.error = CacheError(.io, "\(error)")
            }
            spillDone.signal()
        }
    }

    /// Waits for the background work, then lends `body` a merger of every run, which gives the records in key order.
    func withMerger<Result>(_ body: (inout RunMerger) throws -> Result) throws -> Result {
        spillDone.wait()
        defer { spillDone.signal() }
        if let error = spillState.error { throw error }
        filling.sort()
        // The spill queue, idle from now on, gives back the pages the merge has read: punching a hole can wait for
        // the disk (a file system mounted with `discard` trims the freed blocks before the call returns), and the
        // merge need not. Only an optimization: a file system that cannot punch holes keeps the pages until the file
        // is removed. The merge returns once these calls have ended.
        let file = spillFile
        let queue = queue
        let release = { (offset: UInt64, length: UInt64) in
            queue.async { _ = w2v_release_file_range(file, Int64(offset), Int64(length)) }
        }
        defer { queue.sync {} }
        var cursors: [any RunCursor] = [MemoryRunCursor(buffer: filling)]
        for run in spillState.runs {
            cursors.append(
                try SpilledRunCursor(
                    file: spillFile, range: run, vectorBytes: vectorBytes, path: spillPath, release: release))
        }
        var merger = RunMerger(cursors: cursors.filter { !$0.isExhausted })
        return try body(&merger)
    }

    /// How many runs went to the spill file so far.
    var spilledRunCount: Int {
        spillDone.wait()
        defer { spillDone.signal() }
        return spillState.runs.count
    }

    /// Waits for a spill still being written, then removes the spill file. After a failure the background write
    /// may still be running: closing its descriptor under it would let it write into whatever file reuses the
    /// number.
    func close() {
        spillDone.wait()
        defer { spillDone.signal() }
        closeSpillFile()
    }

    /// Closes and removes the spill file, if any; the caller holds `spillDone`.
    private func closeSpillFile() {
        if spillFile >= 0 {
            Glibc.close(spillFile)
            spillFile = -1
            unlink(spillPath)
        }
    }

    /// Whether a spill is being sorted and written in the background now.
    var isSpilling: Bool {
        guard spillDone.wait(timeout: .now()) == .success else { return true }
        spillDone.signal()
        return false
    }
}

/// Records in memory: keys packed in one buffer, vectors in another, and a sortable index.
final class RunBuffer: @unchecked Sendable {
    // `@unchecked Sendable`: one thread at a time owns a buffer: the builder while it fills it, then the spill queue
    // that sorts and writes it, handed over by `SortedRuns` (which waits for a spill before it reuses the buffer).
    /// One record's place in the buffers. `prefix` holds the key's first 8 bytes, big-endian, so that most
    /// comparisons are one integer compare.
    struct Entry {
        var prefix: UInt64
        var keyOffset: UInt32
        var keyLength: UInt32
        var sequence: UInt32
        var slot: UInt32
    }

    let capacity: Int
    let vectorBytes: Int
    private let keys: UnsafeMutableRawBufferPointer
    private let vectors: UnsafeMutableRawBufferPointer
    let entries: UnsafeMutableBufferPointer<Entry>
    private(set) var count = 0
    private var keyBytesUsed = 0

    init(records: Int, vectorBytes: Int) {
        capacity = records
        self.vectorBytes = vectorBytes
        keys = .allocate(byteCount: records * 24 + 65_536, alignment: 8)
        vectors = .allocate(byteCount: records * vectorBytes, alignment: 16)
        entries = .allocate(capacity: records)
    }

    deinit {
        keys.deallocate()
        vectors.deallocate()
        entries.deallocate()
    }

    func canHold(keyLength: Int) -> Bool {
        count < capacity && keyBytesUsed + keyLength <= keys.count
    }

    func reset() {
        count = 0
        keyBytesUsed = 0
    }

    func append(key: UnsafeRawBufferPointer, sequence: UInt32, vector: UnsafeRawBufferPointer) {
        if key.count > 0 {
            (keys.baseAddress! + keyBytesUsed).copyMemory(from: key.baseAddress!, byteCount: key.count)
        }
        (vectors.baseAddress! + count * vectorBytes).copyMemory(from: vector.baseAddress!, byteCount: vectorBytes)
        entries[count] = Entry(
            prefix: keyPrefix(key), keyOffset: UInt32(keyBytesUsed), keyLength: UInt32(key.count),
            sequence: sequence, slot: UInt32(count))
        keyBytesUsed += key.count
        count += 1
    }

    func key(_ entry: Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: keys.baseAddress! + Int(entry.keyOffset), count: Int(entry.keyLength))
    }

    func vector(_ entry: Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: vectors.baseAddress! + Int(entry.slot) * vectorBytes, count: vectorBytes)
    }

    /// Sorts the index by key, then by arrival.
    func sort() {
        let base = keys.baseAddress!
        var sorted = UnsafeMutableBufferPointer(rebasing: entries[0..<count])
        sorted.sort { a, b in
            if a.prefix != b.prefix { return a.prefix < b.prefix }
            let order = compareKeys(
                UnsafeRawBufferPointer(start: base + Int(a.keyOffset), count: Int(a.keyLength)),
                UnsafeRawBufferPointer(start: base + Int(b.keyOffset), count: Int(b.keyLength)))
            return order != 0 ? order < 0 : a.sequence < b.sequence
        }
    }

    /// Writes the sorted records to `file` from `offset`; returns the offset after the last byte written.
    /// Each record: key length (UInt32), sequence (UInt32), key bytes, vector bytes.
    func write(to file: Int32, at offset: UInt64, path: String) throws -> UInt64 {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        var used = 0
        var position = offset
        func flush() throws {
            var written = 0
            while written < used {
                let result = pwrite(file, chunk.baseAddress! + written, used - written, off_t(position))
                if result < 0 {
                    if errno == EINTR { continue }
                    throw CacheError(
                        .io, "cannot write the temporary file \(path): \(String(cString: strerror(errno)))")
                }
                written += result
                position += UInt64(result)
            }
            used = 0
        }
        for entry in entries[0..<count] {
            let recordBytes = 8 + Int(entry.keyLength) + vectorBytes
            if used + recordBytes > chunk.count { try flush() }
            chunk.storeBytes(of: entry.keyLength, toByteOffset: used, as: UInt32.self)
            chunk.storeBytes(of: entry.sequence, toByteOffset: used + 4, as: UInt32.self)
            let key = key(entry)
            if key.count > 0 {
                (chunk.baseAddress! + used + 8).copyMemory(from: key.baseAddress!, byteCount: key.count)
            }
            (chunk.baseAddress! + used + 8 + key.count).copyMemory(
                from: vector(entry).baseAddress!, byteCount: vectorBytes)
            used += recordBytes
        }
        try flush()
        return position
    }
}

/// The first 8 bytes of a key as a big-endian integer (zero-padded), which orders like the bytes themselves.
func keyPrefix(_ key: UnsafeRawBufferPointer) -> UInt64 {
    var prefix: UInt64 = 0
    for index in 0..<8 {
        prefix <<= 8
        if index < key.count { prefix |= UInt64(key[index]) }
    }
    return prefix
}

/// Byte order of two keys, as LevelDB's default comparator: negative, zero or positive.
func compareKeys(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let common = min(a.count, b.count)
    if common > 0 {
        let order = memcmp(a.baseAddress!, b.baseAddress!, common)
        if order != 0 { return Int(order) }
    }
    return a.count - b.count
}

/// A sorted run being read in order.
protocol RunCursor: AnyObject {
    var isExhausted: Bool { get }
    var prefix: UInt64 { get }
    var key: UnsafeRawBufferPointer { get }
    var sequence: UInt32 { get }
    var vector: UnsafeRawBufferPointer { get }
    func advance() throws
}

/// The last run, still in memory.
final class MemoryRunCursor: RunCursor {
    private let buffer: RunBuffer
    private var index = 0

    init(buffer: RunBuffer) {
        self.buffer = buffer
    }

    var isExhausted: Bool { index >= buffer.count }
    var prefix: UInt64 { buffer.entries[index].prefix }
    var key: UnsafeRawBufferPointer { buffer.key(buffer.entries[index]) }
    var sequence: UInt32 { buffer.entries[index].sequence }
    var vector: UnsafeRawBufferPointer { buffer.vector(buffer.entries[index]) }
    func advance() { index += 1 }
}

/// A run in the spill file, read sequentially through its own buffer.
///
/// Each read hands the whole pages it has copied out to `release`, which gives them back (``w2v_release_file_range``)
/// off the merge's thread: the merge reads a run once, so its disk space and page cache are free again as soon as it
/// is merged, and the tables written meanwhile reuse those pages. (A 3M-word build spills 3.6 GB; writing its
/// tables into pages the kernel had to find afresh took most of the writing phase's time on a VM.)
final class SpilledRunCursor: RunCursor {
    private let file: Int32
    private let path: String
    private let vectorBytes: Int
    private let buffer: UnsafeMutableRawBufferPointer
    private var bufferStart = 0
    private var bufferEnd = 0
    private var nextRead: UInt64
    private let runEnd: UInt64
    /// Where the run's pages not yet given back begin (its first whole page, at first).
    private var released: UInt64
    private let release: (_ offset: UInt64, _ length: UInt64) -> Void
    private(set) var isExhausted = false
    private(set) var prefix: UInt64 = 0
    private(set) var key = UnsafeRawBufferPointer(start: nil, count: 0)
    private(set) var sequence: UInt32 = 0
    private(set) var vector = UnsafeRawBufferPointer(start: nil, count: 0)

    init(
        file: Int32, range: Range<UInt64>, vectorBytes: Int, path: String,
        release: @escaping (_ offset: UInt64, _ length: UInt64) -> Void
    ) throws {
        self.file = file
        self.release = release
        self.path = path
        self.vectorBytes = vectorBytes
        nextRead = range.lowerBound
        runEnd = range.upperBound
        released = (range.lowerBound + 4095) & ~4095
        buffer = .allocate(byteCount: max(1 << 20, 4 * (vectorBytes + 8 + 4096)), alignment: 16)
        try advance()
    }

    deinit {
        buffer.deallocate()
    }

    func advance() throws {
        guard try ensure(8) else {
            isExhausted = true
            return
        }
        let keyLength = Int(buffer.loadUnaligned(fromByteOffset: bufferStart, as: UInt32.self))
        let recordBytes = 8 + keyLength + vectorBytes
        guard try ensure(recordBytes) else {
            throw CacheError(.io, "the temporary file \(path) ended inside a record")
        }
        sequence = buffer.loadUnaligned(fromByteOffset: bufferStart + 4, as: UInt32.self)
        key = UnsafeRawBufferPointer(start: buffer.baseAddress! + bufferStart + 8, count: keyLength)
        vector = UnsafeRawBufferPointer(start: buffer.baseAddress! + bufferStart + 8 + keyLength, count: vectorBytes)
        prefix = keyPrefix(key)
        bufferStart += recordBytes
    }

    /// Makes `count` unread bytes available in the buffer; `false` if the run has ended.
    private func ensure(_ count: Int) throws -> Bool {
        if bufferEnd - bufferStart >= count { return true }
        if bufferStart > 0 {
            let remaining = bufferEnd - bufferStart
            if remaining > 0 {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + bufferStart, byteCount: remaining)
            }
            bufferStart = 0
            bufferEnd = remaining
        }
        while bufferEnd < count && nextRead < runEnd {
            let wanted = min(buffer.count - bufferEnd, Int(runEnd - nextRead))
            let read = pread(file, buffer.baseAddress! + bufferEnd, wanted, off_t(nextRead))
            if read < 0 {
                if errno == EINTR { continue }
                throw CacheError(.io, "cannot read the temporary file \(path): \(String(cString: strerror(errno)))")
            }
            if read == 0 { break }
            bufferEnd += read
            nextRead += UInt64(read)
        }
        let copiedOut = nextRead & ~4095
        if copiedOut > released {
            release(released, copiedOut - released)
            released = copiedOut
        }
        return bufferEnd - bufferStart >= count
    }
}

/// Merges sorted runs with a binary min-heap of cursors.
///
/// The heap holds each cursor's current record (its key's prefix, key, sequence and vector) beside the cursor's place
/// in `cursors`, so that comparisons and swaps touch the heap alone; a cursor is called only to advance.
struct RunMerger {
    private struct Slot {
        var prefix: UInt64
        var key: UnsafeRawBufferPointer
        var vector: UnsafeRawBufferPointer
        var sequence: UInt32
        var cursor: Int

        init(_ cursor: any RunCursor, at index: Int) {
            prefix = cursor.prefix
            key = cursor.key
            vector = cursor.vector
            sequence = cursor.sequence
            self.cursor = index
        }
    }

    /// A record of a run: its bytes are valid until the merger is asked for the next one.
    struct Record {
        var key: UnsafeRawBufferPointer
        var sequence: UInt32
        var vector: UnsafeRawBufferPointer
    }

    private let cursors: [any RunCursor]
    private var heap: [Slot]
    /// Whether the record at the top was handed out, so that its cursor moves on at the next call.
    private var handedOut = false

    init(cursors: [any RunCursor]) {
        self.cursors = cursors
        heap = cursors.indices.map { Slot(cursors[$0], at: $0) }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    /// The next record in key order (equal keys in the order they arrived), or `nil` once every run is read.
    mutating func next() throws -> Record? {
        if handedOut {
            handedOut = false
            let index = heap[0].cursor
            let cursor = cursors[index]
            try cursor.advance()
            if cursor.isExhausted {
                heap.swapAt(0, heap.count - 1)
                heap.removeLast()
            } else {
                heap[0] = Slot(cursor, at: index)
            }
            siftDown(0)
        }
        guard let top = heap.first else { return nil }
        handedOut = true
        return Record(key: top.key, sequence: top.sequence, vector: top.vector)
    }

    private static func less(_ a: Slot, _ b: Slot) -> Bool {
        if a.prefix != b.prefix { return a.prefix < b.prefix }
        let order = compareKeys(a.key, b.key)
        return order != 0 ? order < 0 : a.sequence < b.sequence
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            if left >= heap.count { return }
            var child = left
            if left + 1 < heap.count && Self.less(heap[left + 1], heap[left]) { child = left + 1 }
            if !Self.less(heap[child], heap[parent]) { return }
            heap.swapAt(child, parent)
            parent = child
        }
    }
}
