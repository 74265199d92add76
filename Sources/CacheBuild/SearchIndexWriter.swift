import LevelDB
import SearchIndex
import Support

/// Writes a ``SearchIndex`` while a build reads its file: one row per record, in the file's order, in chunks that
/// go straight into the new cache (their keys ascend, like the words after them, so LevelDB has nothing to sort).
/// The merge that follows names the duplicates; ``finish()`` gives the header and duplicate list to store.
final class SearchIndexWriter {
    let dimension: Int
    let chunkRows: Int
    private let writer: PipelinedWriter
    private var chunk = 0
    private var chunkCodes: [UInt8] = []
    private var chunkNorms: [UInt8] = []
    private var chunkScales: [UInt8] = []
    private var chunkWords: [UInt8] = []
    private var rowsInChunk = 0
    /// Each row's record number in the file (rows skip the records `--only-words` passes over).
    private var sequences: [UInt32] = []
    private var duplicateSequences: [UInt32] = []
    private var vector: [Float]
    private var unit: [Float]

    init(database: Database, dimension: Int) {
        self.dimension = dimension
        chunkRows = max(1, (1 << 20) / dimension)
        writer = PipelinedWriter(database: database)
        vector = Array(repeating: 0, count: dimension)
        unit = Array(repeating: 0, count: dimension)
    }

    var rowCount: Int { sequences.count }

    /// Adds record `sequence` of the file (`vector`: `dimension` little-endian float32) as the next row.
    func append(word: UnsafeRawBufferPointer, vector bytes: UnsafeRawBufferPointer, sequence: UInt32) throws {
        for i in 0..<dimension {
            vector[i] = Float(
                bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
        }
        let norm = Self.numpyNorm(vector)
        var largest: Float = 0
        for i in 0..<dimension {
            unit[i] = vector[i] / norm
            largest = max(largest, abs(unit[i]))
        }
        var scale = largest / 127
        if norm > 0, scale.isFinite, scale > 0 {
            for i in 0..<dimension {
                chunkCodes.append(UInt8(bitPattern: Int8((unit[i] / scale).rounded().clamped(to: -127...127))))
            }
        } else {
            // A zero or non-finite vector has no direction: gensim's score for it is NaN, never an answer.
            scale = 0
            chunkCodes.append(contentsOf: repeatElement(0, count: dimension))
        }
        Float32Bytes.append(CollectionOfOne(norm), to: &chunkNorms)
        Float32Bytes.append(CollectionOfOne(scale), to: &chunkScales)
        Self.appendUInt32(UInt32(word.count), to: &chunkWords)
        chunkWords.append(contentsOf: word)
        sequences.append(sequence)
        rowsInChunk += 1
        if rowsInChunk == chunkRows { try flushChunk() }
    }

    /// Marks record `sequence` as a later occurrence of a word (the merge keeps the first).
    func duplicate(sequence: UInt32) {
        duplicateSequences.append(sequence)
    }

    /// Writes the last chunk and waits for every write. Returns the header and the duplicate rows to store.
    func finish() throws -> (header: SearchIndexHeader, duplicates: [UInt8]) {
        if rowsInChunk > 0 { try flushChunk() }
        try writer.finish()
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
        batch.put(key: SearchIndexKeys.chunk(chunk, .codes), value: chunkCodes)
        batch.put(key: SearchIndexKeys.chunk(chunk, .norms), value: chunkNorms)
        batch.put(key: SearchIndexKeys.chunk(chunk, .scales), value: chunkScales)
        batch.put(key: SearchIndexKeys.chunk(chunk, .words), value: chunkWords)
        writer.submit(batch)
        chunk += 1
        rowsInChunk = 0
        chunkCodes.removeAll(keepingCapacity: true)
        chunkNorms.removeAll(keepingCapacity: true)
        chunkScales.removeAll(keepingCapacity: true)
        chunkWords.removeAll(keepingCapacity: true)
    }

    private static func appendUInt32(_ value: UInt32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// `np.linalg.norm(v)` for a float32 row, bit for bit: the squares rounded to float32, then numpy's pairwise
    /// summation (blocks of at most 128 values summed with eight accumulators, larger ranges halved at a multiple of
    /// eight), then a float32 square root.
    static func numpyNorm(_ v: [Float]) -> Float {
        v.withUnsafeBufferPointer { pairwiseSquares($0[...]) }.squareRoot()
    }

    private static func pairwiseSquares(_ v: Slice<UnsafeBufferPointer<Float>>) -> Float {
        let n = v.count
        let base = v.startIndex
        if n < 8 {
            var sum: Float = 0
            for i in v.indices { sum += v[i] * v[i] }
            return sum
        }
        if n <= 128 {
            // Eight lanes: exactly numpy's eight accumulators.
            func squares(at i: Int) -> SIMD8<Float> {
                let j = base + i
                let x = SIMD8<Float>(v[j], v[j + 1], v[j + 2], v[j + 3], v[j + 4], v[j + 5], v[j + 6], v[j + 7])
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
                sum += v[base + i] * v[base + i]
                i += 1
            }
            return sum
        }
        var half = n / 2
        half -= half % 8
        return pairwiseSquares(v[base..<(base + half)]) + pairwiseSquares(v[(base + half)...])
    }
}

extension Comparable {
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self {
        min(max(self, range.lowerBound), range.upperBound)
    }
}
