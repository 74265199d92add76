import Foundation
import LevelDB
import SearchIndex
import Support
import VectorCache
import Word2Vec

/// How a build reads a vectors file: the part of a build that the configuration file sets (`build:`).
public struct BuildSettings: Sendable, Equatable {
    /// The file's layout, or `nil` to detect it.
    public var format: Word2VecFormat? = nil
    public var nonFinite = RecordPolicy.fail
    public var invalidUTF8 = RecordPolicy.keep
    /// Memory for sorting records, in bytes (96 MB: two 48 MB run buffers).
    public var sortMemory = 96 << 20
    /// Make the ``SearchIndex`` (file order, norms, int8 codes) that `similar`, `analogy` and `evaluate` need.
    public var searchIndex = true

    public init() {}
}

/// What to build a cache from, and how.
public struct BuildRequest: Sendable {
    public var vectorsPath: String
    public var cachePath: String
    public var settings = BuildSettings()
    /// Keep only the first `limit` records of the file, like gensim's `limit`.
    public var limit: Int?
    /// A file listing the words to keep, one per line; every other record is streamed past.
    public var onlyWordsPath: String?
    /// The words to keep, given directly (e.g. the keys a dataset can ask for), and a label for the manifest.
    public var onlyWords: (words: Set<[UInt8]>, label: String)?
    /// Stop at the count the header announces, as gensim does, instead of failing when more records follow.
    public var trustHeader = false
    /// Fail before anything is written unless the file's vectors have this many components.
    public var dimension: Int?
    /// Wait for another build or prepare of the same cache to finish instead of failing at once.
    public var waitForWriter = false
    /// How LevelDB stores the new cache.
    public var storage = StorageSettings()

    public init(vectorsPath: String, cachePath: String) {
        self.vectorsPath = vectorsPath
        self.cachePath = cachePath
    }
}

/// Where a build is, for progress reports.
public struct BuildProgress: Sendable {
    public enum Phase: Sendable { case reading, writing }
    public var phase: Phase
    public var recordsRead: Int
    public var fileBytesRead: UInt64
    public var fileSize: UInt64
    public var wordsWritten: Int
    /// Records waiting to be written (known once reading is done).
    public var wordsToWrite: Int
}

/// What a finished build did.
public struct BuildSummary: Sendable {
    public var manifest: CacheManifest
    /// Sorted runs that went through the temporary file (0 when everything fit in memory).
    public var spilledRuns: Int
    /// Table files per LevelDB level after the build.
    public var filesPerLevel: [Int]
}

/// Builds a cache from a vectors file: streams the file, puts its records in key order with bounded memory, writes
/// them into a new LevelDB directory beside the cache, and swaps that directory into place when it is complete.
///
/// A failed or interrupted build removes its temporary files and leaves the previous cache exactly as it was. A
/// build replaces only an empty directory or a w2vcache cache, and holds the cache's ``CacheWriterLock`` throughout.
public struct CacheBuilder: Sendable {
    public let request: BuildRequest

    public init(_ request: BuildRequest) {
        self.request = request
    }

    /// Runs the build.
    /// - Parameters:
    ///   - lock: the cache's writer lock, when the caller holds it already (to prepare a dataset in the cache it
    ///     builds, with no other writer in between); otherwise the build takes it.
    ///   - progress: called every few thousand records.
    ///   - isCancelled: polled as often; returning `true` stops the build with ``CacheError/Kind/interrupted``.
    ///   - onWait: called once if the build waits for another writer (``BuildRequest/waitForWriter``).
    ///   - beforeSwap: a change to make in the built cache before it replaces the previous one (a prepare, through
    ///     ``CacheWriter/init(building:storage:holding:)``), so that a failure or a kill in it leaves the previous
    ///     cache as it was; it gets the built directory's path.
    /// - throws: ``Word2VecError`` for a bad vectors file, ``CacheError`` for everything else.
    public func run(
        holding lock: CacheWriterLock? = nil, progress: (BuildProgress) -> Void = { _ in },
        isCancelled: () -> Bool = { false },
        onWait: (String) -> Void = { _ in },
        beforeSwap: (_ builtPath: String) throws -> Void = { _ in }
    ) throws -> BuildSummary {
        let started = Date()
        let location = CacheLocation(path: request.cachePath)
        let lock =
            try lock
            ?? CacheWriterLock(
                cachePath: location.path, purpose: "w2vcache build", wait: request.waitForWriter, onWait: onWait,
                isCancelled: isCancelled)
        defer { withExtendedLifetime(lock) {} }
        try location.checkReplaceable()
        location.removeStaleTemporaries()
        do {
            return try build(
                beside: location, started: started, progress: progress, isCancelled: isCancelled,
                beforeSwap: beforeSwap)
        } catch let error as LevelDBError {
            // A table or the temporary LevelDB could not be written (a full disk, an I/O error).
            throw CacheError(.io, "the build failed: \(error.message); the previous cache is unchanged")
        }
    }

    /// The build itself: written in a temporary directory beside the cache, swapped into place once complete.
    private func build(
        beside location: CacheLocation, started: Date, progress: (BuildProgress) -> Void, isCancelled: () -> Bool,
        beforeSwap: (String) throws -> Void
    ) throws -> BuildSummary {
        let onlyWords = try request.onlyWords?.words ?? request.onlyWordsPath.map(Self.readWordList)
        let reader = try Word2VecReader(path: request.vectorsPath, format: request.settings.format)
        if let dimension = request.dimension, dimension != reader.header.dimension {
            throw Word2VecError(
                file: request.vectorsPath, kind: .dimensionMismatch, location: .dataOffset(0),
                message: "its vectors have \(reader.header.dimension) components; expected \(dimension), the dimension "
                    + "asked for (nothing was built)")
        }
        let runs = SortedRuns(
            vectorBytes: 4 * reader.header.dimension, memoryBudget: request.settings.sortMemory,
            spillPath: location.spillPath())
        defer { runs.close() }

        let buildPath = try location.createBuildDirectory()
        var succeeded = false
        defer { if !succeeded { _ = CacheLocation.removeBuildDirectory(buildPath) } }
        var options = request.storage.levelDBOptions(.readWrite)
        options.createIfMissing = true
        options.errorIfExists = true
        // The temporary cache is removed unless the build completes, and storeManifest flushes the last memtable.
        options.writeAheadLog = false
        let database: Database
        do {
            database = try Database(path: buildPath, options: options)
        } catch let error as LevelDBError {
            throw CacheError(.io, "cannot create the temporary cache \(buildPath): \(error.message)")
        }
        defer { try? database.close() }
        // The words, and before them the search index's chunks, go straight into tables of their own. The chunks are
        // written while the file is read and its runs spill into new pages (which a VM's host may have to back
        // afresh): past the page cache, they take none. The words are written as the merge gives the spill's pages
        // back, and through the cache they reuse them (written direct, builds were 2-3% slower).
        let tables = TableFileWriter(
            path: buildPath, firstFileNumber: Self.firstTableNumber, options: options, directIO: true)
        // The index's chunks sort before every word, so they are written while the file is read.
        let index =
            request.settings.searchIndex
            ? SearchIndexWriter(tables: tables, dimension: reader.header.dimension) : nil
        defer { index?.abandon() }

        var report = BuildProgress(
            phase: .reading, recordsRead: 0, fileBytesRead: 0, fileSize: reader.fileSize, wordsWritten: 0,
            wordsToWrite: 0)
        let read = try readRecords(
            reader, into: runs, index: index, onlyWords: onlyWords, database: database,
            scratchDirectory: URL(fileURLWithPath: location.spillPath()).deletingLastPathComponent().path,
            report: &report, progress: progress, isCancelled: isCancelled)
        try index?.finishRows()
        try tables.endTable()  // the words begin a table of their own
        tables.directIO = false

        report.phase = .writing
        report.recordsRead = read.statistics.recordsRead
        report.fileBytesRead = reader.fileBytesRead
        report.wordsToWrite = read.statistics.recordsKept - read.notListed
        let (written, duplicates) = try writeInKeyOrder(
            runs, to: tables, index: index, report: &report, progress: progress, isCancelled: isCancelled)

        let manifest = makeManifest(
            reader: reader, read: read, onlyWords: onlyWords, written: written, duplicates: duplicates, started: started
        )
        try storeManifest(manifest, index: index?.finish(), in: database)
        // Closed before the word tables join it and before the swap: its files and LOCK are released, and nothing
        // writes into the directory any more.
        try database.close()
        let filesPerLevel = try register(tables, in: buildPath)
        try beforeSwap(buildPath)

        if isCancelled() {
            throw CacheError(.interrupted, "the build was interrupted; the previous cache is unchanged")
        }
        try location.swapIntoPlace(from: buildPath)
        succeeded = true
        return BuildSummary(manifest: manifest, spilledRuns: runs.spilledRunCount, filesPerLevel: filesPerLevel)
    }

    /// What reading the file gave: the reader's counts and the records `--only-words` passed over.
    struct ReadOutcome {
        var statistics: Word2VecReadStatistics
        var notListed: Int
    }

    /// Step 1: streams the file's records into sorted runs.
    private func readRecords(
        _ reader: Word2VecReader, into runs: SortedRuns, index: SearchIndexWriter?, onlyWords: Set<[UInt8]>?,
        database: Database, scratchDirectory: String, report: inout BuildProgress,
        progress: (BuildProgress) -> Void, isCancelled: () -> Bool
    ) throws -> ReadOutcome {
        var notListed = 0
        // A fastText model's n-gram rows go into the new cache as they pass (they sort before every word), while its
        // matrix waits in a scratch file beside the cache until the words' full vectors are made from it.
        let subwords = try reader.subwords.map { _ in try SubwordRowWriter(database: database) }
        defer { subwords?.abandon() }
        let current = Box(report)
        defer { report = current.value }
        let statistics = try withoutActuallyEscaping(isCancelled) { isCancelled in
            try withoutActuallyEscaping(progress) { progress in
                try reader.forEachRecord(
                    limit: request.limit, nonFinite: request.settings.nonFinite,
                    invalidUTF8: request.settings.invalidUTF8, trustHeader: request.trustHeader,
                    scratchDirectory: scratchDirectory, ngramRow: subwords.map { writer in { try writer.add($0, $1) } },
                    onProgress: {
                        if isCancelled() {
                            throw CacheError(.interrupted, "the build was interrupted; the previous cache is unchanged")
                        }
                        current.value.fileBytesRead = reader.fileBytesRead
                        progress(current.value)
                    }
                ) { record in
                    if record.index & 4095 == 0 {
                        if isCancelled() {
                            throw CacheError(.interrupted, "the build was interrupted; the previous cache is unchanged")
                        }
                        current.value.recordsRead = record.index
                        current.value.fileBytesRead = reader.fileBytesRead
                        progress(current.value)
                    }
                    if let onlyWords, !onlyWords.contains(Array(record.word)) {
                        notListed += 1
                        return
                    }
                    let sequence = UInt32(truncatingIfNeeded: record.index)
                    try runs.append(key: record.word, sequence: sequence, vector: record.vector)
                    try index?.append(word: record.word, vector: record.vector, sequence: sequence)
                }
            }
        }
        try subwords?.finish()
        return ReadOutcome(statistics: statistics, notListed: notListed)
    }

    /// Step 2: merges the runs and writes them in key order straight into table files, keeping the first of duplicate
    /// words (and telling the search index which records were later occurrences). Returns the words written and the
    /// duplicates left out.
    private func writeInKeyOrder(
        _ runs: SortedRuns, to tables: TableFileWriter, index: SearchIndexWriter?, report: inout BuildProgress,
        progress: (BuildProgress) -> Void,
        isCancelled: () -> Bool
    ) throws -> (written: Int, duplicates: Int) {
        let writer = PipelinedWriter(tables: tables)
        // On any failure below, let the writes in flight end before the temporary cache is removed.
        defer { try? writer.finish() }
        // The loop's state lives in the closure rather than being captured: no access to it is checked at run time.
        let (written, duplicates) = try runs.withMerger { merger in
            var written = 0
            var duplicates = 0
            var previousKey: [UInt8] = []
            var batch = try writer.nextBatch()
            while let record = try merger.next() {
                if written > 0 && previousKey.withUnsafeBytes({ compareKeys($0, record.key) }) == 0 {
                    duplicates += 1  // a later occurrence: the first one was already written
                    index?.duplicate(sequence: record.sequence)
                    continue
                }
                previousKey.removeAll(keepingCapacity: true)
                previousKey.append(contentsOf: record.key)
                batch.append(key: record.key, value: record.vector)
                written += 1
                if batch.byteCount >= 4 << 20 {
                    writer.submit(batch)
                    batch = try writer.nextBatch()
                    if isCancelled() {
                        throw CacheError(.interrupted, "the build was interrupted; the previous cache is unchanged")
                    }
                    report.wordsWritten = written
                    progress(report)
                }
            }
            writer.submit(batch)
            return (written, duplicates)
        }
        try writer.finish()
        _ = try tables.finish()
        return (written, duplicates)
    }

    /// The number of the first table of words and index chunks: above any file number LevelDB uses in a build (its
    /// logs, MANIFESTs and the tables of the other metadata, a few hundred at most), which `register` checks.
    static let firstTableNumber: UInt64 = 1_000_000

    /// The level of the tables of words and index chunks: the last, which LevelDB never compacts into another. Their
    /// keys overlap no other table's: the words begin with a byte other than 0x00 and every other key with 0x00, the
    /// chunks' keys have a prefix of their own (``SearchIndexKeys``), and no table holds both.
    static let tableLevel = 6

    /// Step 5: adds the tables to the closed temporary cache. Returns how many tables each level holds.
    private func register(_ tables: TableFileWriter, in path: String) throws -> [Int] {
        do {
            return try tables.register(level: Self.tableLevel)
        } catch let error as LevelDBError {
            throw CacheError(.io, "cannot add the word tables to the temporary cache \(path): \(error.message)")
        }
    }

    /// Step 3: the manifest describing the finished build.
    private func makeManifest(
        reader: Word2VecReader, read: ReadOutcome, onlyWords: Set<[UInt8]>?, written: Int, duplicates: Int,
        started: Date
    ) -> CacheManifest {
        let statistics = read.statistics
        return CacheManifest(
            formatVersion: CacheManifest.currentFormatVersion,
            dimension: reader.header.dimension,
            wordCount: written,
            oovCount: 0,
            source: .init(
                name: URL(fileURLWithPath: request.vectorsPath).lastPathComponent,
                size: reader.fileSize,
                crc32: String(format: "%08x", reader.dataCRC32),
                format: reader.header.format,
                gzip: reader.isGzip,
                headerCount: reader.header.count),
            options: .init(
                limit: request.limit,
                onlyWordsFile: request.onlyWordsPath.map { URL(fileURLWithPath: $0).lastPathComponent }
                    ?? request.onlyWords?.label,
                onlyWordsCount: onlyWords?.count,
                onlyWordsCRC32: onlyWords.map(Self.listChecksum),
                nonFinite: request.settings.nonFinite,
                invalidUTF8: request.settings.invalidUTF8),
            statistics: .init(
                recordsRead: statistics.recordsRead,
                duplicates: duplicates,
                nonFinite: statistics.nonFinite,
                nonFiniteSkipped: statistics.nonFiniteSkipped,
                invalidUTF8: statistics.invalidUTF8,
                invalidUTF8Skipped: statistics.invalidUTF8Skipped,
                notListed: read.notListed),
            toolVersion: w2vcacheVersion,
            builtAt: ISO8601DateFormatter().string(from: started),
            buildSeconds: Date().timeIntervalSince(started),
            subwords: reader.subwords)
    }

    /// Step 4: flushes the last memtable on its own, then stores the manifest (and the search index's header and
    /// duplicate rows) in a table of its own: neither overlaps the word tables, so LevelDB has nothing to compact
    /// afterwards.
    private func storeManifest(
        _ manifest: CacheManifest, index: (header: SearchIndexHeader, duplicates: [UInt8])?, in database: Database
    ) throws {
        try database.compactRange(start: CacheKeys.flushProbe, end: CacheKeys.flushProbe)
        let batch = WriteBatch()
        if let index {
            batch.put(key: SearchIndexKeys.header, value: try ManifestCoding.encode(index.header))
            batch.put(key: SearchIndexKeys.duplicates, value: index.duplicates)
        }
        batch.put(key: CacheKeys.manifest, value: try ManifestCoding.encode(manifest))
        try database.write(batch, sync: true)
        try database.compactRange(start: CacheKeys.flushProbe, end: CacheKeys.flushProbe)
    }

    /// The CRC-32 of a word set, its words sorted and each followed by `\n`.
    static func listChecksum(_ words: Set<[UInt8]>) -> String {
        var crc: UInt32 = 0
        for word in words.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            crc = (word + [0x0A]).withUnsafeBytes { CRC32.checksum($0, continuing: crc) }
        }
        return String(format: "%08x", crc)
    }

    /// Reads the word list of `--only-words`.
    static func readWordList(path: String) throws -> Set<[UInt8]> {
        do {
            return Set(try WordList.bytes(path: path))
        } catch {
            throw CacheError(.badInput, error.message)
        }
    }
}

/// A value that closures share and change.
private final class Box<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// A fastText model's n-gram rows, written into the new cache in 4 MB batches (their keys ascend).
private final class SubwordRowWriter {
    private let writer: PipelinedWriter<WriteBatch>
    private var batch: WriteBatch
    private var bytes = 0

    init(database: Database) throws {
        writer = PipelinedWriter(database: database)
        batch = try writer.nextBatch()
    }

    func add(_ row: Int, _ vector: UnsafeRawBufferPointer) throws {
        CacheKeys.subwordRow(row).withUnsafeBytes { batch.put(key: $0, value: vector) }
        bytes += vector.count
        if bytes >= 4 << 20 {
            writer.submit(batch)
            batch = try writer.nextBatch()
            bytes = 0
        }
    }

    /// Writes the last batch and waits for every write.
    func finish() throws {
        writer.submit(batch)
        try writer.finish()
    }

    /// Lets the writes in flight end (after a failure, before the temporary cache is removed).
    func abandon() {
        try? writer.finish()
    }
}
