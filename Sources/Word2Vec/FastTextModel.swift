import Foundation
import Support

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a fastText model gives a word its vector from character n-grams: the n-grams of `<word>` of `minn` to `maxn`
/// characters, each hashed (FNV-1a over its UTF-8 bytes, fastText's way) into one of `bucket` rows.
///
/// A word of the model has its full vector, its own row and its n-grams' rows averaged (fastText's
/// `get_word_vector`, gensim's `wv[word]`). A word the model lacks gets the average of its n-grams' rows alone, as
/// gensim's `FastTextKeyedVectors.get_vector` computes it.
public struct FastTextSubwords: Sendable, Equatable, Codable {
    public var minn: Int
    public var maxn: Int
    public var bucket: Int

    public init(minn: Int, maxn: Int, bucket: Int) {
        self.minn = minn
        self.maxn = maxn
        self.bucket = bucket
    }

    /// Whether a fastText model can say these (what the model reader accepts): the reader checks a model's header by
    /// it, and every read of a cache its manifest's, since n-gram rows are counted in 32 bits.
    public var isWellFormed: Bool {
        (0...Int(Int32.max)).contains(bucket) && minn >= 0 && (0...1024).contains(maxn) && (minn <= maxn || maxn == 0)
    }

    /// The rows of the n-gram matrix (0 ..< bucket) of `word`'s n-grams, in gensim's order (`ft_ngram_hashes`): by
    /// start character, then by length; an n-gram that appears twice counts twice. The single characters `<` and `>`
    /// are not n-grams.
    public func ngramRows(of word: some Collection<UInt8>) -> [Int] {
        guard bucket > 0, maxn > 0 else { return [] }
        let bytes = [0x3C] + Array(word) + [0x3E]  // < word >
        var rows: [Int] = []
        for i in bytes.indices where bytes[i] & 0xC0 != 0x80 {
            var j = i
            var n = 1
            while j < bytes.count && n <= maxn {
                j += 1
                while j < bytes.count && bytes[j] & 0xC0 == 0x80 { j += 1 }
                if n >= minn && !(n == 1 && (i == 0 || j == bytes.count)) {
                    rows.append(Int(Self.hash(bytes[i..<j]) % UInt32(bucket)))
                }
                n += 1
            }
        }
        return rows
    }

    /// fastText's hash: FNV-1a 32-bit, each byte sign-extended first (`uint32_t(int8_t(c))`).
    public static func hash(_ bytes: some Collection<UInt8>) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for byte in bytes {
            h ^= UInt32(bitPattern: Int32(Int8(bitPattern: byte)))
            h = h &* 16_777_619
        }
        return h
    }
}

/// The start of a fastText binary model (`.bin`, as `fasttext` and gensim's `save_facebook_model` write it): its
/// arguments and dictionary. The input matrix follows: the words' rows, then the n-grams'.
struct FastTextLayout {
    static let magic: Int32 = 793_712_314
    static let versions: ClosedRange<Int32> = 11...12

    let dimension: Int
    let subwords: FastTextSubwords
    /// The words, packed, in the dictionary's order (the rows' order).
    let wordBytes: [UInt8]
    /// The end of each word in ``wordBytes``.
    let wordEnds: [Int]

    var wordCount: Int { wordEnds.count }

    func word(_ index: Int) -> ArraySlice<UInt8> {
        wordBytes[(index == 0 ? 0 : wordEnds[index - 1])..<wordEnds[index]]
    }

    /// Reads the arguments, the dictionary, and the input matrix's shape, checking each against what a model of
    /// word vectors can hold.
    static func read(_ reader: BufferedReader, path: String) throws -> FastTextLayout {
        func fail(_ kind: Word2VecError.Kind, _ message: String) -> Word2VecError {
            Word2VecError(file: path, kind: kind, location: .dataOffset(reader.offset), message: message)
        }
        func bytes(_ count: Int, _ what: String) throws -> UnsafeRawBufferPointer {
            let slice = try reader.read(count: count)
            guard slice.count == count else {
                throw fail(.shortFile, "the file ends in the fastText model's \(what)")
            }
            return slice
        }
        func int32(_ what: String) throws -> Int32 {
            Int32(littleEndian: try bytes(4, what).loadUnaligned(as: Int32.self))
        }
        func int64(_ what: String) throws -> Int64 {
            Int64(littleEndian: try bytes(8, what).loadUnaligned(as: Int64.self))
        }

        _ = try int32("magic number")
        let version = try int32("version")
        guard versions.contains(version) else {
            throw fail(.badHeader, "a fastText model of version \(version); expected version 11 or 12")
        }
        var arguments: [Int32] = []
        for name in [
            "dim", "ws", "epoch", "minCount", "neg", "wordNgrams", "loss", "model", "bucket", "minn", "maxn",
            "lrUpdateRate",
        ] {
            arguments.append(try int32("argument \(name)"))
        }
        _ = try bytes(8, "argument t")
        let (dimension, model, bucket, minn, maxn) = (
            arguments[0], arguments[7], arguments[8], arguments[9], arguments[10]
        )
        guard model != 3 else {
            throw fail(
                .badHeader,
                "this is a supervised fastText model (a classifier); expected word vectors (skipgram or cbow)")
        }
        guard dimension > 0, Int(dimension) <= Word2VecReader.maxDimension else {
            throw fail(
                .badHeader, "the model's dimension is \(dimension); expected 1 to \(Word2VecReader.maxDimension)")
        }
        let subwords = FastTextSubwords(minn: Int(minn), maxn: Int(maxn), bucket: Int(bucket))
        guard subwords.isWellFormed else {
            throw fail(
                .badHeader, "the model's n-gram settings (bucket \(bucket), minn \(minn), maxn \(maxn)) are not valid")
        }
        let size = try int32("dictionary size")
        let nwords = try int32("word count")
        let nlabels = try int32("label count")
        _ = try int64("token count")
        let pruned = try int64("pruned index size")
        guard nlabels == 0 else {
            throw fail(.badHeader, "the model has \(nlabels) labels, a classifier's; expected word vectors")
        }
        guard nwords >= 0, size == nwords, pruned == 0 || pruned == -1 else {
            throw fail(
                .badHeader,
                pruned > 0
                    ? "the model is quantized (a pruned .ftz); expected a full .bin model"
                    : "the dictionary holds \(size) entries and \(nwords) words; expected as many words as entries")
        }
        var wordBytes: [UInt8] = []
        var wordEnds: [Int] = []
        wordEnds.reserveCapacity(min(Int(nwords), 1 << 20))  // as declared, within reason: the words follow
        for index in 0..<Int(nwords) {
            guard let (word, found) = try reader.read(until: 0, maxLength: Word2VecReader.maxWordLength), found else {
                throw fail(
                    .badWord,
                    "dictionary entry #\(index + 1): expected a word ended by a 0 byte within "
                        + "\(Word2VecReader.maxWordLength) bytes")
            }
            guard !word.isEmpty else { throw fail(.badWord, "dictionary entry #\(index + 1) is an empty word") }
            wordBytes.append(contentsOf: word)
            wordEnds.append(wordBytes.count)
            _ = try int64("count of a word")
            let type = try bytes(1, "entry type")[0]
            guard type == 0 else {
                throw fail(.badWord, "dictionary entry #\(index + 1) is a label; expected word vectors only")
            }
        }
        guard try bytes(1, "quantization flag")[0] == 0 else {
            throw fail(.badHeader, "the model is quantized (.ftz); expected a full .bin model")
        }
        let rows = try int64("matrix rows")
        let columns = try int64("matrix columns")
        guard rows == Int64(nwords) + Int64(bucket), columns == Int64(dimension) else {
            throw fail(
                .dimensionMismatch,
                "the input matrix is \(rows) x \(columns); expected \(Int64(nwords) + Int64(bucket)) x \(dimension) "
                    + "(\(nwords) words and \(bucket) n-gram buckets of dimension \(dimension))"
            )
        }
        return FastTextLayout(
            dimension: Int(dimension),
            subwords: subwords,
            wordBytes: wordBytes, wordEnds: wordEnds)
    }
}

/// The input matrix of a fastText model, copied from the stream into a file that only this object can see (it is
/// unlinked at once, so nothing is left behind however the process ends), then read back row by row.
final class FastTextMatrix {
    private let descriptor: Int32
    let rowBytes: Int
    let rows: Int

    /// Copies `rows` rows of `rowBytes` from `reader`, handing each n-gram row (those from `firstNgramRow` on) to
    /// `ngramRow` with its index in the n-gram matrix as it passes.
    init(
        reader: BufferedReader, rows: Int, rowBytes: Int, firstNgramRow: Int, directory: String, path: String,
        ngramRow: ((Int, UnsafeRawBufferPointer) throws -> Void)?, progress: () throws -> Void
    ) throws {
        var template = Array((directory + "/.w2vcache-fasttext-XXXXXX").utf8CString)
        descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw Word2VecError(
                file: path, kind: .cannotOpen,
                message:
                    "cannot make a scratch file in \(directory) for the model's matrix: \(String(cString: strerror(errno)))"
            )
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.rowBytes = rowBytes
        self.rows = rows
        let rowsPerWrite = max(1, (4 << 20) / rowBytes)
        var row = 0
        while row < rows {
            let count = min(rowsPerWrite, rows - row)
            let block = try reader.read(count: count * rowBytes)
            guard block.count == count * rowBytes else {
                throw Word2VecError(
                    file: path, kind: .shortVector, location: .dataOffset(reader.offset),
                    message:
                        "the file ends in row \(row + block.count / rowBytes + 1) of the model's \(rows); expected "
                        + "\(rowBytes) bytes per row")
            }
            if let ngramRow {
                for i in 0..<count where row + i >= firstNgramRow {
                    try ngramRow(row + i - firstNgramRow, block.row(i, bytes: rowBytes))
                }
            }
            try Self.write(descriptor, block, at: row * rowBytes, path: path)
            row += count
            try progress()
        }
    }

    deinit {
        close(descriptor)
    }

    /// Reads row `index` into `destination` (`rowBytes` bytes).
    func read(row index: Int, into destination: UnsafeMutableRawBufferPointer, path: String) throws {
        var done = 0
        while done < rowBytes {
            let count = pread(
                descriptor, destination.baseAddress! + done, rowBytes - done, off_t(index * rowBytes + done))
            guard count > 0 else {
                throw Word2VecError(
                    file: path, kind: .cannotOpen,
                    message:
                        "cannot read the model's matrix back from its scratch file: \(String(cString: strerror(errno)))"
                )
            }
            done += count
        }
    }

    private static func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws
    {
        var done = 0
        while done < bytes.count {
            let count = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            guard count > 0 else {
                throw Word2VecError(
                    file: path, kind: .cannotOpen,
                    message:
                        "cannot write the model's matrix to its scratch file (\(String(cString: strerror(errno)))); "
                        + "a fastText model needs its matrix's size free on disk while it is read")
            }
            done += count
        }
    }
}

/// The words of a fastText model with their full vectors, as gensim's `load_facebook_vectors` makes them: the
/// word's own row, plus each of its n-grams' rows in turn (float32 additions, in ``FastTextSubwords/ngramRows(of:)``
/// order), divided by one more than the n-gram count.
final class FastTextVectors {
    private let layout: FastTextLayout
    private let matrix: FastTextMatrix
    private let path: String
    /// The words, in storage that stays put while a record is lent.
    private let words: UnsafeMutableRawBufferPointer
    private let row: UnsafeMutableBufferPointer<Float>

    init(
        layout: FastTextLayout, reader: BufferedReader, path: String, directory: String,
        ngramRow: ((Int, UnsafeRawBufferPointer) throws -> Void)?, progress: () throws -> Void
    ) throws {
        self.layout = layout
        self.path = path
        matrix = try FastTextMatrix(
            reader: reader, rows: layout.wordCount + layout.subwords.bucket, rowBytes: 4 * layout.dimension,
            firstNgramRow: layout.wordCount, directory: directory, path: path, ngramRow: ngramRow, progress: progress)
        let words = UnsafeMutableRawBufferPointer.allocate(byteCount: max(layout.wordBytes.count, 1), alignment: 1)
        layout.wordBytes.withUnsafeBytes { words.copyMemory(from: $0) }
        self.words = words
        row = .allocate(capacity: layout.dimension)
    }

    deinit {
        words.deallocate()
        row.deallocate()
    }

    /// Word `index` and its full vector, written to `scratch` (little-endian float32); `nil` after the last word.
    func record(_ index: Int, into scratch: UnsafeMutableBufferPointer<Float>) throws -> (
        UnsafeRawBufferPointer, UnsafeRawBufferPointer
    )? {
        guard index < layout.wordCount else { return nil }
        let start = index == 0 ? 0 : layout.wordEnds[index - 1]
        let word = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(words)[start..<layout.wordEnds[index]])
        let sum = UnsafeMutableBufferPointer(rebasing: scratch[0..<layout.dimension])
        try matrix.read(row: index, into: UnsafeMutableRawBufferPointer(sum), path: path)
        let ngrams = layout.subwords.ngramRows(of: word)
        for ngram in ngrams {
            try matrix.read(row: layout.wordCount + ngram, into: UnsafeMutableRawBufferPointer(row), path: path)
            for i in 0..<layout.dimension { sum[i] += row[i] }
        }
        if !ngrams.isEmpty {
            let count = Float(ngrams.count + 1)
            for i in 0..<layout.dimension { sum[i] /= count }
        }
        return (word, UnsafeRawBufferPointer(sum))
    }
}
