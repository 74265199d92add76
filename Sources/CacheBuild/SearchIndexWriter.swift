import CVectorKernels
import LevelDB
import SearchIndex
import Support

/// Writes a ``SearchIndex`` while a build reads its file: one row per record, in the file's order, in chunks that
/// go straight into the build's table files on a thread of their own (their keys ascend, and sort before every word).
/// ``finishRows()`` writes the last chunk when the file is read; the merge that follows names the duplicates, and
/// ``finish()`` gives the header and duplicate list to store.
final class SearchIndexWriter {
    let dimension: Int
    let chunkRows: Int
    private let writer: PipelinedWriter<TableEntries>
    private var chunk = 0
    /// The chunk being filled, each buffer sized for ``chunkRows`` rows: codes, norms and scales are written in
    /// place at the row's offset (no per-byte appends); words vary in length and are appended. The fixed buffers are
    /// allocated once and freed by `deinit`, so that a row's writes (3M of them at GoogleNews's size) pass no
    /// exclusivity or uniqueness check, as an array held by a class would.
    private let chunkCodes: UnsafeMutableBufferPointer<Int8>
    private let chunkNorms: UnsafeMutableBufferPointer<Float>
    private let chunkScales: UnsafeMutableBufferPointer<Float>
    private var chunkWords: [UInt8] = []
    private var rowsInChunk = 0
    /// Each row's record number in the file (rows skip the records `--only-words` passes over).
    private var sequences: [UInt32] = []
    private var duplicateSequences: [UInt32] = []
    /// The row being added, as floats.
    private let vector: UnsafeMutableBufferPointer<Float>

    /// - Parameter tables: the build's tables, which only this writer adds to until ``finishRows()`` returns.
    init(tables: TableFileWriter, dimension: Int) {
        self.dimension = dimension
        chunkRows = max(1, (1 << 20) / dimension)
        writer = PipelinedWriter(tables: tables)
        func zeros<Element: Numeric>(_ count: Int) -> UnsafeMutableBufferPointer<Element> {
            let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: count)
            buffer.initialize(repeating: 0)
            return buffer
        }
        vector = zeros(dimension)
        chunkCodes = zeros(chunkRows * dimension)
        chunkNorms = zeros(chunkRows)
        chunkScales = zeros(chunkRows)
    }

    deinit {
        vector.deallocate()
        chunkCodes.deallocate()
        chunkNorms.deallocate()
        chunkScales.deallocate()
    }

    var rowCount: Int { sequences.count }

    /// Adds record `sequence` of the file (`vector`: `dimension` little-endian float32) as the next row.
    func append(word: UnsafeRawBufferPointer, vector bytes: UnsafeRawBufferPointer, sequence: UInt32) throws {
        precondition(bytes.count == 4 * dimension, "a vector of another dimension")
        Float32Bytes.decode(bytes, into: vector)
        let row = rowsInChunk
        let start = row * dimension
        let norm = Self.numpyNorm(UnsafeBufferPointer(vector))
        chunkNorms[row] = norm
        chunkScales[row] = Self.quantize(
            UnsafeBufferPointer(vector), norm: norm,
            codes: UnsafeMutableBufferPointer(rebasing: chunkCodes[start..<(start + dimension)]))
        Self.appendUInt32(UInt32(word.count), to: &chunkWords)
        chunkWords.append(contentsOf: word)
        sequences.append(sequence)
        rowsInChunk += 1
        if rowsInChunk == chunkRows { try flushChunk() }
    }

    /// The int8 codes of `vector`'s direction, written to `codes`, and their scale (`w2v_quantize_row`).
    static func quantize(_ vector: UnsafeBufferPointer<Float>, norm: Float, codes: UnsafeMutableBufferPointer<Int8>)
        -> Float
    {
        precondition(codes.count == vector.count, "codes of another dimension")
        return w2v_quantize_row(vector.baseAddress!, vector.count, norm, codes.baseAddress!)
    }

    /// Marks record `sequence` as a later occurrence of a word (the merge keeps the first).
    func duplicate(sequence: UInt32) {
        duplicateSequences.append(sequence)
    }

    /// Writes the last chunk and waits for every chunk to be in the tables.
    func finishRows() throws {
        if rowsInChunk > 0 { try flushChunk() }
        try writer.finish()
    }

    /// The header and the duplicate rows to store, once ``finishRows()`` returned and the merge named the duplicates.
    func finish() -> (header: SearchIndexHeader, duplicates: [UInt8]) {
        var duplicates: [UInt8] = []
        for sequence in duplicateSequences.sorted() {
            // Rows ascend with record numbers: a binary search finds the row of each.
            var low = 0
            var high = sequences.count
            while low < high {
                let middle = (low + high) / 2
                if sequences[middle] < sequence { low = middle + 1 } else { high = middle }
            }
            precondition(low < sequences.count && sequences[low] == sequence, "a duplicate that was never a row")
            Self.appendUInt32(UInt32(low), to: &duplicates)
        }
        let header = SearchIndexHeader(
            version: SearchIndex.version, rows: sequences.count, dimension: dimension, chunkRows: chunkRows,
            duplicates: duplicateSequences.count)
        return (header, duplicates)
    }

    /// Lets the writes in flight end (after a failure, before the temporary cache is removed).
    func abandon() {
        try? writer.finish()
    }

    private func flushChunk() throws {
        let batch = try writer.nextBatch()
        let rows = rowsInChunk
        func put(_ part: SearchIndexKeys.Part, _ bytes: UnsafeRawBufferPointer, count: Int) {
            SearchIndexKeys.chunk(chunk, part).withUnsafeBytes {
                batch.append(key: $0, value: UnsafeRawBufferPointer(rebasing: bytes[..<count]))
            }
        }
        put(.codes, UnsafeRawBufferPointer(chunkCodes), count: rows * dimension)
        put(.norms, UnsafeRawBufferPointer(chunkNorms), count: rows * 4)
        put(.scales, UnsafeRawBufferPointer(chunkScales), count: rows * 4)
        chunkWords.withUnsafeBytes { put(.words, $0, count: chunkWords.count) }
        writer.submit(batch)
        chunk += 1
        rowsInChunk = 0
        chunkWords.removeAll(keepingCapacity: true)
    }

    private static func appendUInt32(_ value: UInt32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// `np.linalg.norm(v)` for a float32 row, bit for bit: the squares rounded to float32, then numpy's pairwise
    /// summation (blocks of at most 128 values summed with eight accumulators, larger ranges halved at a multiple of
    /// eight), then a float32 square root.
    static func numpyNorm(_ v: UnsafeBufferPointer<Float>) -> Float {
        pairwiseSquares(UnsafeRawPointer(v.baseAddress!), count: v.count).squareRoot()
    }

    private static func pairwiseSquares(_ v: UnsafeRawPointer, count n: Int) -> Float {
        func square(_ i: Int) -> Float {
            let x = v.load(fromByteOffset: 4 * i, as: Float.self)
            return x * x
        }
        if n < 8 {
            var sum: Float = 0
            for i in 0..<n { sum += square(i) }
            return sum
        }
        if n <= 128 {
            // Eight lanes: exactly numpy's eight accumulators.
            func squares(at i: Int) -> SIMD8<Float> {
                let x = v.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                return x * x
            }
            var r = squares(at: 0)
            var i = 8
            while i < n - n % 8 {
                r += squares(at: i)
                i += 8
            }
            var sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n {
                sum += square(i)
                i += 1
            }
            return sum
        }
        var half = n / 2
        half -= half % 8
        return pairwiseSquares(v, count: half) + pairwiseSquares(v + 4 * half, count: n - half)
    }
}
