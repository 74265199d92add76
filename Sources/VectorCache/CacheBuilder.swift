import Foundation
import LevelDB
import Word2Vec

/// What to build a cache from, and how.
public struct BuildRequest: Sendable {
    public var vectorsPath: String
    public var cachePath: String
    /// The file's layout, or `nil` to detect it.
    public var format: Word2VecFormat?
    /// Keep only the first `limit` records of the file, like gensim's `limit`.
    public var limit: Int?
    /// A file listing the words to keep, one per line; every other record is streamed past.
    public var onlyWordsPath: String?
    /// The words to keep, given directly (e.g. the keys a dataset can ask for), and a label for the manifest.
    public var onlyWords: (words: Set<[UInt8]>, label: String)?
    public var nonFinite: NonFinitePolicy = .fail
    public var invalidUTF8: InvalidUTF8Policy = .keep
    /// LevelDB options for the new cache (`createIfMissing` and `errorIfExists` are set by the builder).
    public var storeOptions = Options()
    /// Memory for sorting records, in bytes.
    public var sortMemory = 96 << 20

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
/// A failed or interrupted build removes its temporary files and leaves the previous cache exactly as it was.
public struct CacheBuilder: Sendable {
    public let request: BuildRequest

    public init(_ request: BuildRequest) {
        self.request = request
    }

    /// Runs the build.
    /// - Parameters:
    ///   - progress: called every few thousand records.
    ///   - isCancelled: polled as often; returning `true` stops the build with ``CacheError/Kind/interrupted``.
    /// - throws: ``Word2VecError`` for a bad vectors file, ``CacheError`` for everything else.
    public func run(
        progress: (BuildProgress) -> Void = { _ in }, isCancelled: () -> Bool = { false }
    ) throws -> BuildSummary {
        let started = Date()
        let location = CacheLocation(path: request.cachePath)
        location.removeStaleTemporaries()
        try location.checkNotInUse()
        let onlyWords = try request.onlyWords?.words ?? request.onlyWordsPath.map(Self.readWordList)

        let reader = try Word2VecReader(path: request.vectorsPath, format: request.format)
        let dimension = reader.header.dimension
        let buildPath = location.buildPath()
        let runs = SortedRuns(
            vectorBytes: 4 * dimension, memoryBudget: request.sortMemory, spillPath: location.spillPath())
        var succeeded = false
        defer {
            runs.close()
            if !succeeded { try? FileManager.default.removeItem(atPath: buildPath) }
        }

        // 1. Stream the file into sorted runs.
        var notListed = 0
        var report = BuildProgress(
            phase: .reading, recordsRead: 0, fileBytesRead: 0, fileSize: reader.fileSize, wordsWritten: 0,
            wordsToWrite: 0)
        let statistics = try reader.forEachRecord(
            limit: request.limit, nonFinite: request.nonFinite, invalidUTF8: request.invalidUTF8
        ) { record in
            if record.index & 4095 == 0 {
                if isCancelled() { throw CacheError(.interrupted, "the build was interrupted; the previous cache is unchanged") }
                report.recordsRead = record.index
                report.fileBytesRead = reader.fileBytesRead
                progress(report)
            }
            if let onlyWords, !onlyWords.contains(Array(record.word)) {
                notListed += 1
                return
            }
            try runs.append(key: record.word, sequence: UInt32(record.index), vector: record.vector)
        }
        let kept = statistics.recordsKept - notListed

        // 2. Write the records in key order into a new LevelDB directory.
        var options = request.storeOptions
        options.createIfMissing = true
        options.errorIfExists = true
        let database: Database
        do {
            database = try Database(path: buildPath, options: options)
        } catch let error as LevelDBError {
            throw CacheError(.io, "cannot create the temporary cache \(buildPath): \(error.message)")
        }
        report.phase = .writing
        report.recordsRead = statistics.recordsRead
        report.fileBytesRead = reader.fileBytesRead
        report.wordsToWrite = kept
        var written = 0
        var duplicates = 0
        var previousKey: [UInt8] = []
        var hasPrevious = false
        let writer = PipelinedWriter(database: database)
        // On any failure below, let the writes in flight end before the temporary cache is removed.
        defer { try? writer.finish() }
        var batch = try writer.nextBatch()
        var batchBytes = 0
        try runs.merge { key, _, vector in
            if hasPrevious && previousKey.withUnsafeBytes({ compareKeys($0, key) }) == 0 {
                duplicates += 1  // a later occurrence: the first one was already written
                return
            }
            previousKey.removeAll(keepingCapacity: true)
            previousKey.append(contentsOf: key)
            hasPrevious = true
            batch.put(key: key, value: vector)
            batchBytes += key.count + vector.count
            written += 1
            if batchBytes >= 4 << 20 {
                writer.submit(batch)
                batch = try writer.nextBatch()
                batchBytes = 0
                if isCancelled() { throw CacheError(.interrupted, "the build was interrupted; the previous cache is unchanged") }
                report.wordsWritten = written
                progress(report)
            }
        }
        writer.submit(batch)
        try writer.finish()
        // Flush the last memtable on its own, then store the manifest in a table of its own: neither overlaps the
        // word tables, so LevelDB has nothing to compact afterwards.
        database.compactRange(start: CacheKeys.flushProbe, end: CacheKeys.flushProbe)

        let manifest = CacheManifest(
            formatVersion: CacheManifest.currentFormatVersion,
            dimension: dimension,
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
                onlyWordsFile: request.onlyWordsPath.map { URL(fileURLWithPath: $0).lastPathComponent } ?? request.onlyWords?.label,
                onlyWordsCount: onlyWords?.count,
                nonFinite: request.nonFinite,
                invalidUTF8: request.invalidUTF8),
            statistics: .init(
                recordsRead: statistics.recordsRead,
                duplicates: duplicates,
                nonFinite: statistics.nonFinite,
                nonFiniteSkipped: statistics.nonFiniteSkipped,
                invalidUTF8: statistics.invalidUTF8,
                invalidUTF8Skipped: statistics.invalidUTF8Skipped,
                notListed: notListed),
            toolVersion: w2vcacheVersion,
            builtAt: ISO8601DateFormatter().string(from: started),
            buildSeconds: Date().timeIntervalSince(started))
        try database.put(CacheKeys.manifest, try ManifestCoding.encode(manifest), sync: true)
        database.compactRange(start: CacheKeys.flushProbe, end: CacheKeys.flushProbe)
        let filesPerLevel = (0..<7).map { database.fileCount(atLevel: $0) }
        let spilled = runs.spilledRunCount
        _ = consume database  // close before the swap

        // 3. Swap the finished cache into place.
        if isCancelled() { throw CacheError(.interrupted, "the build was interrupted; the previous cache is unchanged") }
        try location.checkNotInUse()
        try location.swapIntoPlace(from: buildPath)
        succeeded = true
        return BuildSummary(manifest: manifest, spilledRuns: spilled, filesPerLevel: filesPerLevel)
    }

    /// Reads a word list: one word per line, blank lines ignored, a trailing `\r` removed.
    static func readWordList(path: String) throws -> Set<[UInt8]> {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CacheError(.badInput, "\(path): cannot read the word list; expected a file with one word per line")
        }
        var words = Set<[UInt8]>()
        for line in data.split(separator: 0x0A) {
            var word = Array(line)
            if word.last == 0x0D { word.removeLast() }
            if !word.isEmpty { words.insert(word) }
        }
        return words
    }
}

/// The version written into manifests.
public let w2vcacheVersion = "0.1.0"

/// JSON for values stored in the cache.
enum ManifestCoding {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
