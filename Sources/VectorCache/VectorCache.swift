import Foundation
import LevelDB
import Synchronization

/// An open cache: word vectors and metadata in one LevelDB directory.
///
/// Reads are safe from several threads at once, and every block read is checked against its checksum: damage is a
/// ``CacheError/Kind/corrupt`` error, never a wrong value. Only one process can open a cache; a second one gets
/// ``CacheError/Kind/inUse``. Writing (``commit(_:addedOOV:)``) needs the cache's ``CacheWriterLock``.
public final class VectorCache: Sendable {
    /// The cache directory unless `--db` or the configuration says otherwise: the book's name for it.
    public static let defaultPath = "word2vecdb"

    public let path: String
    /// The one owner of the LevelDB handle; nothing outside this module touches it.
    let database: Database
    private let writerLock: CacheWriterLock?
    private let currentManifest: Mutex<CacheManifest>
    /// What the cache holds; out-of-vocabulary additions update it.
    public var manifest: CacheManifest { currentManifest.withLock { $0 } }
    /// Bytes in one vector.
    public var vectorBytes: Int { manifest.dimension * 4 }
    /// The vector dimension.
    public var dimension: Int { manifest.dimension }

    /// Opens the cache at `path`.
    /// - Parameters:
    ///   - options: LevelDB tuning; checksums are verified on every read and paranoid checks are on, whatever they say.
    ///   - writerLock: the cache's writer lock, taken first by a caller that will write (a prepare).
    /// - throws: ``CacheError`` that says what to do: no cache yet, in use, not a w2vcache cache, damaged.
    public init(path: String, options: Options = .cacheDefaults, writerLock: CacheWriterLock? = nil) throws {
        self.path = path
        self.writerLock = writerLock
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CacheError(.missing, "no cache at \(path); create one with `w2vcache build --vectors FILE --db \(path)`")
        }
        guard isDirectory.boolValue, FileManager.default.fileExists(atPath: path + "/CURRENT") else {
            throw CacheError(.notACache, "\(path) is not a LevelDB cache (no CURRENT file); build one with `w2vcache build --vectors FILE --db \(path)`")
        }
        var options = options
        options.createIfMissing = false
        options.paranoidChecks = true
        options.verifyChecksums = true
        do {
            database = try Database(path: path, options: options)
        } catch let error as LevelDBError {
            throw CacheError.from(error, path: path)
        }
        let manifest: CacheManifest? = try Self.readManifest(database, path: path)
        guard let manifest else {
            throw CacheError(.notACache, "\(path) is a LevelDB database but has no w2vcache manifest; build it with `w2vcache build`")
        }
        guard manifest.formatVersion == CacheManifest.currentFormatVersion else {
            throw CacheError(.incompatible, "\(path) has cache format \(manifest.formatVersion); this tool reads format \(CacheManifest.currentFormatVersion): rebuild it")
        }
        currentManifest = Mutex(manifest)
    }

    /// Opens the cache at `path` to write into it: takes its ``CacheWriterLock`` (one build or prepare at a time),
    /// then opens it.
    /// - Parameters:
    ///   - purpose: what the writer does, for a refused writer's message (`w2vcache prepare pos`).
    ///   - wait: wait for another writer to finish instead of failing; `onWait` is told once.
    public static func openForWriting(
        path: String, options: Options = .cacheDefaults, purpose: String, wait: Bool = false, onWait: (String) -> Void = { _ in }
    ) throws -> VectorCache {
        let lock = try CacheWriterLock(cachePath: path, purpose: purpose, wait: wait, onWait: onWait)
        return try VectorCache(path: path, options: options, writerLock: lock)
    }

    /// Closes the cache now (LevelDB's files and lock are released); later reads throw.
    public func close() throws {
        try database.close()
    }

    /// Applies `batch` atomically and durably, with the manifest updated in the same write for `addedOOV` new
    /// out-of-vocabulary words.
    /// - throws: ``CacheError`` when the cache was not opened with ``openForWriting(path:options:purpose:wait:onWait:)``.
    func commit(_ batch: WriteBatch, addedOOV: Int = 0) throws {
        guard writerLock != nil else {
            throw CacheError(.io, "the cache \(path) was opened for reading; open it for writing to change it")
        }
        var updated = manifest
        updated.oovCount += addedOOV
        batch.put(key: CacheKeys.manifest, value: try ManifestCoding.encode(updated))
        do {
            try database.write(batch, sync: true)
        } catch let error as LevelDBError {
            throw CacheError.from(error, path: path)
        }
        currentManifest.withLock { $0 = updated }
    }

    private static func readManifest(_ database: Database, path: String) throws -> CacheManifest? {
        do {
            return try database.withValue(forKey: CacheKeys.manifest) { bytes in
                try bytes.map { try ManifestCoding.decode(CacheManifest.self, from: $0) }
            }
        } catch let error as LevelDBError {
            throw CacheError.from(error, path: path)
        } catch {
            throw CacheError(.corrupt, "the manifest of \(path) cannot be read (\(error)); rebuild the cache")
        }
    }

    /// Lends the stored bytes of `word`'s vector (`dimension` little-endian float32) to `body`, or `nil`.
    /// - throws: ``CacheError/Kind/corrupt`` when the bytes fail their checksum: never a wrong vector.
    public func withVectorBytes<R>(for word: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        guard word.first != CacheKeys.reservedPrefix else { return try body(nil) }
        return try translatingErrors { try database.withValue(forKey: word, body) }
    }

    /// Runs `body`, turning LevelDB's errors into ``CacheError``s about this cache.
    func translatingErrors<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let error as LevelDBError {
            throw CacheError.from(error, path: path)
        }
    }

    /// The vector of `word`, or `nil` if the cache does not hold it.
    public func vector(for word: String) throws -> [Float]? {
        try withVectorBytes(for: Array(word.utf8)) { bytes in
            bytes.map { Self.floats(from: $0) }
        }
    }

    /// Whether the cache holds `word`.
    public func contains(_ word: [UInt8]) throws -> Bool {
        try withVectorBytes(for: word) { $0 != nil }
    }

    /// Whether `word`'s vector was made up for an out-of-vocabulary word rather than read from the vectors file.
    public func isOutOfVocabulary(_ word: [UInt8]) throws -> Bool {
        try translatingErrors { try database.withValue(forKey: CacheKeys.oovMarker(for: word)) { $0 != nil } }
    }

    /// Decodes little-endian float32 bytes.
    public static func floats(from bytes: UnsafeRawBufferPointer) -> [Float] {
        (0..<(bytes.count / 4)).map {
            Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
        }
    }

    /// The on-disk size of the cache directory, in bytes.
    public func diskSize() -> UInt64 {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return files.reduce(0) { total, name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name)
            return total + ((attributes?[.size] as? NSNumber)?.uint64Value ?? 0)
        }
    }
}
