import Foundation
import Support

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One vector as read from a file, lent to a closure: both buffers are valid only during the call.
public struct Word2VecRecord {
    /// 0-based position of the record in the file.
    public var index: Int
    /// The word's bytes, exactly as in the file (leading `\n` removed).
    public var word: UnsafeRawBufferPointer
    /// `dimension` little-endian float32 values, `4 * dimension` bytes.
    public var vector: UnsafeRawBufferPointer
}

/// Streams the vectors of a word2vec binary or text, GloVe or fastText `.vec` file, or a fastText binary model,
/// gzipped or not.
///
/// Memory use is bounded by one read buffer whatever the file's size (for a fastText model, also its dictionary;
/// its matrix goes to an unlinked scratch file). The format is detected from the first bytes (a fastText model's
/// magic number) or the first line and the bytes after the first word, or given. Every problem is a
/// ``Word2VecError`` naming the file and the offset or line.
public final class Word2VecReader {
    public let header: Word2VecHeader
    /// For a fastText model, how it gives vectors to words it lacks; `nil` for other files.
    public var subwords: FastTextSubwords? { fastText?.subwords }
    /// Decompressed and on-disk progress, for progress reports.
    public var fileBytesRead: UInt64 { source.fileBytesRead }
    public var fileSize: UInt64 { stream.fileSize }
    /// The CRC-32 of the decompressed data; complete once ``forEachRecord(limit:nonFinite:invalidUTF8:_:)`` has
    /// returned (which reads to the end of the file).
    public var dataCRC32: UInt32 { stream.dataCRC32 }
    public var isGzip: Bool { stream.isGzip }
    public var path: String { stream.path }

    private let stream: ByteStream
    private let source: any ByteSource
    private let reader: BufferedReader
    private var lineNumber: Int
    /// float32 scratch space for parsed text vectors.
    private let scratch: UnsafeMutableBufferPointer<Float>
    /// A fastText model's arguments and dictionary.
    private let fastText: FastTextLayout?

    /// The longest word accepted, in bytes (1 MiB): longer means the file is not what it claims to be. Every format
    /// accepts words up to this length; a text line may hold up to 4 MiB.
    public static let maxWordLength = 1 << 20
    /// The largest vector dimension accepted.
    public static let maxDimension = 1 << 20

    /// Opens `path` and reads its header.
    /// - Parameters:
    ///   - format: the layout, or `nil` to detect it.
    ///   - readAhead: inflate on a second thread while records are parsed on this one.
    /// - throws: ``Word2VecError`` if the file cannot be read or its start does not match a known layout.
    public init(path: String, format: Word2VecFormat? = nil, readAhead: Bool = true) throws {
        stream = try ByteStream(path: path)
        source = readAhead ? ReadAheadStream(stream: stream) : stream
        reader = BufferedReader(stream: source)
        guard try reader.peek() != nil else {
            throw Word2VecError(
                file: path, kind: .empty,
                message: "the file is empty; expected a word2vec header such as \"3000000 300\"")
        }
        let start = try reader.peek(count: 4)
        if format == nil || format == .fasttext,
            start.count == 4, Int32(littleEndian: start.loadUnaligned(as: Int32.self)) == FastTextLayout.magic
        {
            let layout = try FastTextLayout.read(reader, path: path)
            fastText = layout
            header = Word2VecHeader(count: layout.wordCount, dimension: layout.dimension, format: .fasttext)
            lineNumber = 0
        } else if format == .fasttext {
            throw Word2VecError(
                file: path, kind: .badHeader, location: .fileOffset(0),
                message: "not a fastText model: expected its magic number 793712314 in the first 4 bytes")
        } else {
            // A UTF-8 byte-order mark (editors on Windows write one) is not part of the first word or the header.
            if Array(try reader.peek(count: 3)) == [0xEF, 0xBB, 0xBF] { _ = try reader.read(count: 3) }
            let detected = try Self.readHeader(reader: reader, path: path, format: format)
            fastText = nil
            header = detected.header
            lineNumber = detected.linesConsumed
        }
        scratch = .allocate(capacity: max(header.dimension, 1))
        wordStorage = .allocate(byteCount: 256, alignment: 1)
    }

    deinit {
        scratch.deallocate()
        wordStorage.deallocate()
    }

    /// Reads the header line (or, for GloVe, looks at the first line) and decides the format.
    ///
    /// A first line of two fields of which one is an integer is taken as a header (`--format glove` reads a
    /// one-dimensional GloVe file whose first line looks like that).
    private static func readHeader(
        reader: BufferedReader, path: String, format: Word2VecFormat?
    ) throws -> (header: Word2VecHeader, linesConsumed: Int) {
        // The first line: a header, or (GloVe) a whole vector, which for a long word or a large dimension is long.
        let firstLine = try reader.peek(count: reader.capacity)
        let lineEnd = firstLine.firstIndex(of: 0x0A) ?? firstLine.count
        let fields = split(UnsafeRawBufferPointer(rebasing: firstLine[..<lineEnd]))
        let numbers = fields.map { Int(String(decoding: $0, as: UTF8.self)) }
        let quoted = "\"" + Printable.escape(bytes: firstLine[..<min(lineEnd, 80)]) + "\""
        func badHeader(_ message: String) -> Word2VecError {
            Word2VecError(file: path, kind: .badHeader, location: .line(1, dataOffset: 0), message: message)
        }
        let looksLikeHeader = fields.count == 2 && numbers.contains { $0 != nil }

        if format == .glove || (format == nil && !looksLikeHeader) {
            // GloVe: no header; the first line is a vector, and its length gives the dimension.
            guard fields.count >= 2, lineEnd < firstLine.count || firstLine.count < reader.capacity else {
                throw badHeader("expected a header \"<count> <dimension>\" or a GloVe line \"word v1 v2 ...\"")
            }
            guard fields.count - 1 <= maxDimension else {
                throw badHeader("the first line holds \(fields.count - 1) values; at most \(maxDimension) are accepted")
            }
            return (Word2VecHeader(count: nil, dimension: fields.count - 1, format: .glove), 0)
        }
        guard fields.count == 2 else {
            throw badHeader("bad header \(quoted): expected \"<count> <dimension>\", two numbers")
        }
        guard let count = numbers[0], count >= 0 else {
            throw badHeader(
                "bad header \(quoted): the vector count \"\(Printable.escape(bytes: fields[0], limit: 40))\" is not a "
                    + "number; expected \"<count> <dimension>\""
            )
        }
        guard let dimension = numbers[1], dimension > 0, dimension <= maxDimension else {
            throw badHeader(
                "bad header \(quoted): the dimension \"\(Printable.escape(bytes: fields[1], limit: 40))\" is not a "
                    + "number from 1 to \(maxDimension); expected \"<count> <dimension>\""
            )
        }
        _ = try reader.read(count: lineEnd + (lineEnd < firstLine.count ? 1 : 0))
        if let format {
            return (Word2VecHeader(count: count, dimension: dimension, format: format), 1)
        }
        // Binary or text: look at the bytes after the first word, up to the end of the line or of one binary vector.
        // Text vectors are digits, signs, dots and spaces; binary float32 values almost never are, all of them.
        let sample = try reader.peek(count: reader.capacity)
        var detected = Word2VecFormat.binary
        if let space = sample.firstIndex(of: 0x20) {
            let vectorBytes = sample[(space + 1)...].prefix(4 * dimension)
            let after = vectorBytes.prefix { $0 != 0x0A }
            let hasDigit = after.contains { $0 >= 0x30 && $0 <= 0x39 }
            let textual =
                hasDigit
                && after.allSatisfy { byte in
                    (byte >= 0x30 && byte <= 0x39) || byte == 0x2E || byte == 0x2D || byte == 0x2B || byte == 0x65
                        || byte == 0x45 || byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
                        || byte == 0x69 || byte == 0x6E || byte == 0x66 || byte == 0x61  // i n f a: inf, nan
                }
            if textual { detected = .text }
        }
        return (Word2VecHeader(count: count, dimension: dimension, format: detected), 1)
    }

    /// Splits a line on spaces and tabs.
    private static func split(_ line: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var fields: [UnsafeRawBufferPointer] = []
        var index = 0
        while index < line.count {
            while index < line.count && (line[index] == 0x20 || line[index] == 0x09 || line[index] == 0x0D) {
                index += 1
            }
            let begin = index
            while index < line.count && line[index] != 0x20 && line[index] != 0x09 && line[index] != 0x0D { index += 1 }
            if index > begin { fields.append(UnsafeRawBufferPointer(rebasing: line[begin..<index])) }
        }
        return fields
    }

    /// Reads every record (or the first `limit`), applying the policies, and lends each kept one to `body`.
    ///
    /// After the records, the rest of the stream is read too, so that a truncated or corrupt gzip file is reported
    /// even when a `limit` or the header's count ends the records early. Records beyond the count the header
    /// announces are an error (the header or the file is wrong), unless `trustHeader` says to stop at the count as
    /// gensim does.
    /// - throws: ``Word2VecError`` for malformed data, or what `body` throws.
    ///
    /// A fastText model is read in two steps: its matrix is copied to an unlinked scratch file in `scratchDirectory`
    /// (each n-gram row lent to `ngramRow` as it passes, `onProgress` called after each few MB), then each word's
    /// full vector is made from its rows and lent to `body`, in the dictionary's order.
    @discardableResult
    public func forEachRecord(
        limit: Int? = nil, nonFinite: RecordPolicy = .fail, invalidUTF8: RecordPolicy = .keep,
        trustHeader: Bool = false, scratchDirectory: String? = nil,
        ngramRow: ((Int, UnsafeRawBufferPointer) throws -> Void)? = nil, onProgress: (() throws -> Void)? = nil,
        _ body: (Word2VecRecord) throws -> Void
    ) throws -> Word2VecReadStatistics {
        var statistics = Word2VecReadStatistics()
        let dimension = header.dimension
        let wanted = min(limit ?? Int.max, header.count ?? Int.max)
        let vectorBytes = 4 * dimension
        let fastTextVectors = try fastText.map { layout in
            try FastTextVectors(
                layout: layout, reader: reader, path: path,
                directory: scratchDirectory ?? FileManager.default.temporaryDirectory.path, ngramRow: ngramRow,
                progress: onProgress ?? {})
        }
        while statistics.recordsRead < wanted {
            let recordOffset = reader.offset
            let record: (word: UnsafeRawBufferPointer, vector: UnsafeRawBufferPointer)?
            switch header.format {
            case .binary: record = try readBinaryRecord(vectorBytes: vectorBytes, index: statistics.recordsRead)
            case .text, .glove: record = try readTextRecord()
            case .fasttext: record = try fastTextVectors!.record(statistics.recordsRead, into: scratch)
            }
            guard let record else { break }
            let index = statistics.recordsRead
            statistics.recordsRead += 1

            if !Self.isValidUTF8(record.word),
                try !statistics.admits(
                    invalidUTF8, \.invalidUTF8, \.invalidUTF8Skipped,
                    else: refusal(.invalidUTF8, record.word, index, recordOffset))
            {
                continue
            }
            if !Float32Bytes.allFinite(record.vector),
                try !statistics.admits(
                    nonFinite, \.nonFinite, \.nonFiniteSkipped,
                    else: refusal(.nonFinite, record.word, index, recordOffset))
            {
                continue
            }
            statistics.recordsKept += 1
            try body(Word2VecRecord(index: index, word: record.word, vector: record.vector))
        }
        if statistics.recordsRead < wanted, let count = header.count {
            throw error(
                .shortFile, at: reader.offset,
                "the file ends after \(statistics.recordsRead) vectors; the header announced \(count)")
        }
        statistics.stoppedAtLimit =
            limit.map { statistics.recordsRead == $0 && $0 < (header.count ?? Int.max) } ?? false
        // (A fastText model's output matrix follows its words: read, not checked.)
        if let count = header.count, !statistics.stoppedAtLimit, !trustHeader, header.format != .fasttext,
            let extra = try dataAfterLastRecord()
        {
            throw error(
                .extraData, at: extra,
                "the header announces \(count) vectors but the file holds more: data continues here; fix the header, "
                    + "or pass --trust-header to read only the first \(count) as gensim does"
            )
        }
        // Drain the rest so that gzip integrity (trailer, truncation) is checked.
        while try !reader.atEnd() { _ = try reader.read(count: reader.capacity) }
        return statistics
    }

    /// The error for record `index` (its word `word`, at `offset`) when it fails a check whose policy is `fail`:
    /// `.invalidUTF8` for its word, `.nonFinite` for its vector.
    private func refusal(_ kind: Word2VecError.Kind, _ word: UnsafeRawBufferPointer, _ index: Int, _ offset: UInt64)
        -> Word2VecError
    {
        if kind == .invalidUTF8 {
            let escaped = Printable.escape(bytes: word, limit: 40)
            return error(
                kind, at: offset,
                "word #\(index + 1) is not valid UTF-8 (\"\(escaped)\"); expected UTF-8 text (see the invalid-UTF-8 "
                    + "policy)")
        }
        let escaped = Printable.escape(bytes: word, limit: 80)
        return error(
            kind, at: offset,
            "the vector of \"\(escaped)\" holds NaN or infinity; expected finite numbers (see the non-finite policy)")
    }

    private func error(_ kind: Word2VecError.Kind, at offset: UInt64, _ message: String) -> Word2VecError {
        switch header.format {
        case .binary, .fasttext:
            Word2VecError(file: path, kind: kind, location: .dataOffset(offset), message: message)
        case .text, .glove:
            Word2VecError(file: path, kind: kind, location: .line(lineNumber, dataOffset: offset), message: message)
        }
    }

    /// The data offset of anything but line ends and blank lines after the last announced record, or `nil`.
    private func dataAfterLastRecord() throws -> UInt64? {
        while let byte = try reader.peek() {
            switch (byte, header.format) {
            case (0x0A, _), (0x0D, .text), (0x20, .text), (0x09, .text):
                reader.skip()
                if byte == 0x0A && header.format != .binary { lineNumber += 1 }
            default:
                if header.format != .binary { lineNumber += 1 }
                return reader.offset
            }
        }
        return nil
    }

    private func readBinaryRecord(vectorBytes: Int, index: Int) throws -> (
        UnsafeRawBufferPointer, UnsafeRawBufferPointer
    )? {
        // Words may be preceded by the `\n` the C tool writes after each vector.
        while try reader.peek() == 0x0A { reader.skip() }
        let wordOffset = reader.offset
        guard let (word, found) = try reader.read(until: 0x20, maxLength: Self.maxWordLength) else { return nil }
        guard found else {
            if word.count >= Self.maxWordLength {
                throw error(
                    .badWord, at: wordOffset,
                    "record #\(index + 1): the word is longer than \(Self.maxWordLength) bytes (the limit); expected a "
                        + "word followed by a space"
                )
            }
            throw error(
                .badWord, at: wordOffset,
                "record #\(index + 1): expected a word followed by a space, found \(word.count) bytes and the end of "
                    + "the file"
            )
        }
        guard !word.isEmpty, word[0] != 0 else {
            throw error(
                .badWord, at: wordOffset,
                "record #\(index + 1): expected a word, found "
                    + (word.isEmpty ? "an empty one" : "one starting with byte 0x00 (reserved for metadata)"))
        }
        // The vector is read into the shared buffer, which may move: keep the word's bytes in a place of their own.
        let wordCopy = copyWord(word)
        let vectorOffset = reader.offset
        let vector = try reader.read(count: vectorBytes)
        guard vector.count == vectorBytes else {
            throw error(
                .shortVector, at: vectorOffset,
                "the vector of \"\(Printable.escape(bytes: wordCopy, limit: 80))\" is short: expected \(vectorBytes) "
                    + "bytes (\(vectorBytes / 4) float32), the file ends after \(vector.count)"
            )
        }
        return (wordCopy, vector)
    }

    /// Word bytes kept in a stable place while the vector is read into the shared buffer; grows up to
    /// ``maxWordLength``. Allocated with `scratch`, after the last error `init` can throw: a class's `deinit` does
    /// not run for an `init` that throws before every stored property is set.
    private var wordStorage: UnsafeMutableRawBufferPointer

    private func copyWord(_ word: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        precondition(word.count <= Self.maxWordLength)
        if word.count > wordStorage.count {
            wordStorage.deallocate()
            wordStorage = .allocate(byteCount: max(word.count, 2 * wordStorage.count), alignment: 1)
        }
        wordStorage.copyMemory(from: word)
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(wordStorage)[0..<word.count])
    }

    private func readTextRecord() throws -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer)? {
        var lineOffset: UInt64
        var line: UnsafeRawBufferPointer
        repeat {
            lineOffset = reader.offset
            guard let (next, found) = try reader.read(until: 0x0A, maxLength: reader.capacity - 1) else { return nil }
            lineNumber += 1
            if try !found && !reader.atEnd() {
                throw error(
                    .badNumber, at: lineOffset,
                    "line longer than \(reader.capacity - 1) bytes; expected \"word v1 ... v\(header.dimension)\"")
            }
            line = next
        } while line.allSatisfy { $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }  // blank lines are skipped

        var index = 0
        while index < line.count && line[index] != 0x20 && line[index] != 0x09 { index += 1 }
        var word = UnsafeRawBufferPointer(rebasing: line[0..<index])
        if word.last == 0x0D { word = UnsafeRawBufferPointer(rebasing: word.dropLast()) }
        guard !word.isEmpty, word[0] != 0 else {
            throw error(
                .badWord, at: lineOffset,
                "expected a word, found "
                    + (word.isEmpty
                        ? "a line starting with a space" : "one starting with byte 0x00 (reserved for metadata)"))
        }
        guard word.count <= Self.maxWordLength else {
            throw error(.badWord, at: lineOffset, "the word is longer than \(Self.maxWordLength) bytes (the limit)")
        }
        let base = line.baseAddress!.assumingMemoryBound(to: CChar.self)
        var values = 0
        while true {
            while index < line.count && (line[index] == 0x20 || line[index] == 0x09 || line[index] == 0x0D) {
                index += 1
            }
            if index >= line.count { break }
            guard values < header.dimension else {
                throw error(
                    .dimensionMismatch, at: lineOffset,
                    "\"\(Printable.escape(bytes: word, limit: 80))\" has more than \(header.dimension) values; "
                        + "expected \(header.dimension)"
                )
            }
            var end: UnsafeMutablePointer<CChar>? = nil
            let value = strtof(base + index, &end)
            let consumed = end.map { base.distance(to: $0) } ?? index
            let next = line.count > consumed ? line[consumed] : 0x20
            guard consumed > index, consumed <= line.count,
                next == 0x20 || next == 0x09 || next == 0x0D || consumed == line.count
            else {
                let tokenEnd = line[index...].firstIndex { $0 == 0x20 || $0 == 0x09 } ?? line.count
                throw error(
                    .badNumber, at: lineOffset,
                    "value \(values + 1) of \"\(Printable.escape(bytes: word, limit: 80))\" is "
                        + "\"\(Printable.escape(bytes: line[index..<min(tokenEnd, index + 40)]))\"; expected a number"
                )
            }
            scratch[values] = value
            values += 1
            index = consumed
        }
        guard values == header.dimension else {
            throw error(
                .dimensionMismatch, at: lineOffset,
                "\"\(Printable.escape(bytes: word, limit: 80))\" has \(values) values; expected \(header.dimension)")
        }
        // Store as little-endian float32 (the in-memory layout on little-endian hosts).
        for i in 0..<values { scratch[i] = Float(bitPattern: scratch[i].bitPattern.littleEndian) }
        return (word, UnsafeRawBufferPointer(scratch))
    }

    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.allSatisfy({ $0 < 0x80 }) { return true }
        return String(validating: bytes, as: UTF8.self) != nil
    }
}

extension Word2VecReadStatistics {
    /// Counts a record that failed a check in `count` and says whether `policy` keeps it: a skipped one is counted in
    /// `skipped` too, and `fail` throws `failure`.
    fileprivate mutating func admits(
        _ policy: RecordPolicy, _ count: WritableKeyPath<Self, Int>, _ skipped: WritableKeyPath<Self, Int>,
        else failure: Word2VecError
    ) throws(Word2VecError) -> Bool {
        self[keyPath: count] += 1
        switch policy {
        case .keep: return true
        case .skip:
            self[keyPath: skipped] += 1
            return false
        case .fail: throw failure
        }
    }
}
