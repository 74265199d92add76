import Foundation
import LevelDB
import Support

/// An open cache: word vectors and metadata in one LevelDB directory, opened to read it.
///
/// Opening changes nothing on disk (not even LevelDB's own bookkeeping), so a cache reads from a read-only mount or
/// a full disk, and any number of processes read one cache at once; none opens it while a writer (`prepare`) has
/// it, which gets ``CacheError/Kind/busy``. Reads are safe from several threads at once, and every block read is
/// checked against its checksum: damage is a ``CacheError/Kind/corrupt`` error, never a wrong value. Changing a
/// cache is `CacheBuild`'s work (`CacheBuilder`, `CacheWriter`).
public final class VectorCache: Sendable {
    /// The cache directory unless `--db` or the configuration says otherwise: the book's name for it.
    public static let defaultPath = "word2vecdb"

    public let path: String
    /// The one owner of the LevelDB handle; other modules of this package read through it, nothing outside does.
    package let database: Database
    /// What the cache holds.
    public let manifest: CacheManifest
    /// Bytes in one vector.
    public var vectorBytes: Int { manifest.dimension * 4 }
    /// The vector dimension.
    public var dimension: Int { manifest.dimension }

    /// Opens the cache at `path` to read it, beside any other readers.
    /// - throws: ``CacheError`` that says what to do: no cache yet, being written, not a w2vcache cache, damaged.
    public convenience init(path: String, storage: StorageSettings = StorageSettings()) throws {
        try self.init(path: path, storage: storage, alone: false)
    }

    /// Opens the cache at `path` to read it; `alone` keeps every other reader and writer out while it is open (what
    /// a writer that will replace the cache needs).
    package init(path: String, storage: StorageSettings, alone: Bool) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CacheError.noCache(at: path)
        }
        guard isDirectory.boolValue else {
            throw CacheError(
                .notACache, "\(path) is a file, not a cache; give the directory `w2vcache build --db DIR` made")
        }
        guard FileManager.default.fileExists(atPath: path + "/CURRENT") else {
            throw CacheError(
                .notACache,
                "\(path) is not a LevelDB cache (no CURRENT file); build one with `w2vcache build --vectors FILE --db "
                    + "\(path)`"
            )
        }
        do {
            database = try Database(path: path, options: storage.levelDBOptions(alone ? .readOnlyExclusive : .readOnly))
        } catch let error as LevelDBError {
            throw CacheError.from(error, path: path, alone: alone)
        }
        let manifestBytes: [UInt8]?
        do {
            manifestBytes = try database.withValue(forKey: CacheKeys.manifest) { $0.map { Array($0) } }
        } catch let error as LevelDBError {
            throw CacheError.from(error, path: path)
        }
        guard let manifestBytes else {
            throw CacheError(
                .notACache, "\(path) is a LevelDB database but has no w2vcache manifest; build it with `w2vcache build`"
            )
        }
        manifest = try CacheManifest.decode(manifestBytes, of: path)
    }

    /// Closes the cache now (LevelDB's files and lock are released); later reads throw.
    public func close() throws {
        try database.close()
    }

    /// Lends the stored bytes of `word`'s vector (`dimension` little-endian float32) to `body`, or `nil`.
    /// - throws: ``CacheError/Kind/corrupt`` when the bytes fail their checksum: never a wrong vector.
    public func withVectorBytes<R>(for word: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        guard word.first != CacheKeys.reservedPrefix else { return try body(nil) }
        return try translatingErrors {
            try database.withValue(forKey: word) { bytes in
                // Every word's value is one vector of the manifest's dimension: anything else is damage (or a cache
                // changed behind w2vcache's back), never a vector of another length handed on.
                if let bytes, bytes.count != vectorBytes {
                    throw CacheError(
                        .corrupt,
                        "the cache \(path) is damaged: the vector of \"\(Printable.escape(bytes: word, limit: 200))\" "
                            + "is \(bytes.count) bytes, where its dimension (\(dimension)) says \(vectorBytes); run "
                            + "`w2vcache verify --db \(path)`, and rebuild it with `w2vcache build`")
                }
                return try body(bytes)
            }
        }
    }

    /// Runs `body`, turning LevelDB's errors into ``CacheError``s about this cache.
    package func translatingErrors<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let error as LevelDBError {
            throw CacheError.from(error, path: path)
        }
    }

    /// The vector of `word`, or `nil` if the cache does not hold it.
    public func vector(for word: String) throws -> [Float]? {
        try withVectorBytes(for: Array(word.utf8)) { bytes in
            bytes.map { Float32Bytes.decode($0) }
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

    /// The table files per LevelDB level (0...6), for `info`.
    public var tableFilesPerLevel: [Int] { (0..<7).map { database.fileCount(atLevel: $0) } }

    /// The on-disk size of the cache directory, in bytes.
    public func diskSize() -> UInt64 {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return files.reduce(0) { total, name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name)
            return total + ((attributes?[.size] as? NSNumber)?.uint64Value ?? 0)
        }
    }
}

/// JSON for values stored in the cache (the manifest, other modules' headers).
package enum ManifestCoding {
    package static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    package static func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    /// Why a value could not be decoded, in words: `no field dimension`, `field source.crc32 holds a value of
    /// another type`, `not JSON`.
    package static func reason(_ error: any Error) -> String {
        func field(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: return "no field \(field(context.codingPath + [key]))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            return "field \(field(context.codingPath)) holds a value of another type"
        case .dataCorrupted(let context)?:
            return context.codingPath.isEmpty ? "not JSON" : "field \(field(context.codingPath)) is not valid"
        default: return "\(error)"
        }
    }
}
