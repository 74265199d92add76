import Foundation
import LevelDB
import Preprocessing
import VectorCache

/// Prepared datasets inside the cache, under `0x00 "dataset" 0x00 NAME 0x00 …`:
/// `manifest` (JSON ``DatasetManifest``), `array 0x00 ARRAY 0x00 CHUNK` (raw little-endian values, 1 MB per chunk),
/// and `strings 0x00 LIST` (a JSON array of strings).
///
/// A dataset is replaced whole: the old keys' deletion and every new key go in one atomic LevelDB write, together
/// with the out-of-vocabulary vectors the preparation added.
public enum DatasetStore {
    static let chunkBytes = 1 << 20

    static func prefix(_ name: String) -> [UInt8] { CacheKeys.datasetPrefix + Array(name.utf8) + [0] }
    static func manifestKey(_ name: String) -> [UInt8] { prefix(name) + Array("manifest".utf8) }
    static func arrayKey(_ name: String, _ array: String, chunk: Int) -> [UInt8] {
        prefix(name) + Array("array".utf8) + [0] + Array(array.utf8) + [0]
            + withUnsafeBytes(of: UInt32(chunk).bigEndian) { Array($0) }
    }
    static func stringsKey(_ name: String, _ list: String) -> [UInt8] {
        prefix(name) + Array("strings".utf8) + [0] + Array(list.utf8)
    }

    /// The manifest of dataset `name`, or `nil` if it is not prepared.
    public static func manifest(_ name: String, in cache: VectorCache) throws -> DatasetManifest? {
        try cache.database.withValue(forKey: manifestKey(name)) { bytes in
            try bytes.map { try JSONDecoder().decode(DatasetManifest.self, from: Data($0)) }
        }
    }

    /// Every prepared dataset's manifest, by name.
    public static func all(in cache: VectorCache) throws -> [DatasetManifest] {
        try DatasetLoader.names.compactMap { try manifest($0, in: cache) }
    }

    /// Loads dataset `name`.
    /// - throws: ``DatasetError/notPrepared`` with the command that prepares it.
    public static func load(_ name: String, from cache: VectorCache) throws -> StoredDataset {
        guard let manifest = try manifest(name, in: cache) else { throw DatasetError.notPrepared(name) }
        return StoredDataset(manifest: manifest, cache: cache)
    }

    /// Adds to `batch` the deletion of every key of dataset `name`.
    static func deleteAll(_ name: String, in cache: VectorCache, batch: WriteBatch) throws {
        let start = prefix(name)
        let iterator = try cache.database.makeIterator(fillCache: false)
        iterator.seek(to: start)
        while iterator.isValid, try iterator.withKey({ $0.starts(with: start) }) {
            batch.delete(key: try iterator.key())
            iterator.next()
        }
        try iterator.checkError()
    }
}

/// A dataset being written: arrays and string lists gathered into one batch.
public struct DatasetWriter {
    public let name: String
    let batch = WriteBatch()
    private(set) var arrays: [String: ArrayInfo] = [:]
    private(set) var vocabularies: [String: Int] = [:]

    public init(name: String) {
        self.name = name
    }

    /// Adds an array of float32 or int32 values (`values.count` must equal the shape's product).
    public mutating func add<T: BitwiseCopyable>(_ array: String, _ values: [T], type: ArrayInfo.ElementType, shape: [Int]) {
        precondition(MemoryLayout<T>.size == 4 && values.count == shape.reduce(1, *), "\(array): values do not match the shape")
        var chunks = 0
        values.withUnsafeBytes { bytes in
            var offset = 0
            repeat {
                let end = min(offset + DatasetStore.chunkBytes, bytes.count)
                DatasetStore.arrayKey(name, array, chunk: chunks).withUnsafeBytes { key in
                    batch.put(key: key, value: UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                }
                chunks += 1
                offset = end
            } while offset < bytes.count
        }
        arrays[array] = ArrayInfo(type: type, shape: shape, chunks: chunks)
    }

    /// Adds a list of strings (a vocabulary, a tag set).
    public mutating func add(strings: [String], as list: String) throws {
        batch.put(key: DatasetStore.stringsKey(name, list), value: Array(try JSONEncoder().encode(strings)))
        vocabularies[list] = strings.count
    }

    /// Replaces the stored dataset with this one, with OOV vectors for `oovWords`, in one atomic write.
    /// - Returns: the manifest written.
    @discardableResult
    public func commit(
        to cache: VectorCache, inputs: [InputFingerprint], parameters: [String: String], splits: [String: Int],
        statistics: [String: Int], oovWords: some Sequence<[UInt8]>, oov: OOVVectors
    ) throws -> DatasetManifest {
        let manifest = DatasetManifest(
            name: name, inputs: inputs, parameters: parameters, toolVersion: w2vcacheVersion,
            dimension: cache.dimension, preparedAt: ISO8601DateFormatter().string(from: Date()), splits: splits,
            arrays: arrays, vocabularies: vocabularies, statistics: statistics)
        let write = WriteBatch()
        try DatasetStore.deleteAll(name, in: cache, batch: write)
        let added = try cache.addOOVVectors(for: oovWords, generator: oov, to: write)
        write.append(batch)
        write.put(key: DatasetStore.manifestKey(name), value: Array(try JSONEncoder().encode(manifest)))
        try cache.commit(write, addedOOV: added.count)
        return manifest
    }
}

/// A prepared dataset read back from the cache.
public struct StoredDataset: Sendable {
    public let manifest: DatasetManifest
    let cache: VectorCache

    /// The values of `array` as float32 or int32 (`T` must match its stored type).
    public func array<T: BitwiseCopyable>(_ array: String, as type: T.Type) throws -> [T] {
        guard let info = manifest.arrays[array] else {
            throw DatasetError.damaged(manifest.name, "array \(array) is missing")
        }
        precondition(MemoryLayout<T>.size == 4)
        var bytes = [UInt8]()
        bytes.reserveCapacity(info.byteCount)
        for chunk in 0..<info.chunks {
            let found = try cache.database.withValue(forKey: DatasetStore.arrayKey(manifest.name, array, chunk: chunk)) { value -> Bool in
                guard let value else { return false }
                bytes.append(contentsOf: value)
                return true
            }
            if !found { throw DatasetError.damaged(manifest.name, "chunk \(chunk) of array \(array) is missing") }
        }
        guard bytes.count == info.byteCount else {
            throw DatasetError.damaged(manifest.name, "array \(array) holds \(bytes.count) bytes; expected \(info.byteCount)")
        }
        return bytes.withUnsafeBytes { raw in
            (0..<info.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: T.self) }
        }
    }

    /// The stored shape of `array`.
    public func shape(_ array: String) -> [Int]? { manifest.arrays[array]?.shape }

    /// A stored list of strings.
    public func strings(_ list: String) throws -> [String] {
        let value = try cache.database.withValue(forKey: DatasetStore.stringsKey(manifest.name, list)) { $0.map { Data($0) } }
        guard let value else { throw DatasetError.damaged(manifest.name, "list \(list) is missing") }
        return try JSONDecoder().decode([String].self, from: value)
    }
}

/// Problems with prepared datasets.
public enum DatasetError: Error, CustomStringConvertible, Sendable, Equatable {
    case notPrepared(String)
    case damaged(String, String)
    case noSuchSplit(String, String, [String])
    case badRequest(String)
    /// The inputs would give an empty or one-sided dataset: nothing was written, the prepared one is kept.
    case unusableInput(String, String)

    public var description: String {
        switch self {
        case .notPrepared(let name):
            "dataset \(name) is not prepared; prepare it with `w2vcache prepare \(name) ...` (see `w2vcache prepare \(name) --help`)"
        case .damaged(let name, let detail):
            "dataset \(name) is damaged (\(detail)); prepare it again"
        case .noSuchSplit(let name, let split, let splits):
            "dataset \(name) has no split \(split); it has \(splits.sorted().joined(separator: ", "))"
        case .badRequest(let message):
            message
        case .unusableInput(let name, let reason):
            "\(reason); nothing was changed (a dataset \(name) prepared before is kept)"
        }
    }
}
