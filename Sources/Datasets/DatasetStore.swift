import CacheBuild
import Dispatch
import Foundation
import Preprocessing
import Support
import VectorCache

/// Prepared datasets inside the cache, in its `dataset` metadata namespace: per dataset `NAME 0x00 manifest` (JSON
/// ``DatasetManifest``), `NAME 0x00 array 0x00 ARRAY 0x00 CHUNK` (raw little-endian values, 1 MB per chunk) and
/// `NAME 0x00 strings 0x00 LIST` (a JSON array of strings).
///
/// A dataset is replaced whole: the old keys' deletion and every new key go in one atomic write, together with the
/// out-of-vocabulary vectors the preparation added.
public enum DatasetStore {
    static let chunkBytes = 1 << 20

    static func metadata(_ cache: VectorCache) -> CacheMetadata { cache.metadata(.dataset) }
    static func prefix(_ name: DatasetName) -> [UInt8] { Array(name.rawValue.utf8) + [0] }
    static func manifestKey(_ name: DatasetName) -> [UInt8] { prefix(name) + Array("manifest".utf8) }
    static func arrayKey(_ name: DatasetName, _ array: String, chunk: Int) -> [UInt8] {
        prefix(name) + Array("array".utf8) + [0] + Array(array.utf8) + [0]
            + withUnsafeBytes(of: UInt32(chunk).bigEndian) { Array($0) }
    }
    static func stringsKey(_ name: DatasetName, _ list: String) -> [UInt8] {
        prefix(name) + Array("strings".utf8) + [0] + Array(list.utf8)
    }

    /// The manifest of dataset `name`, or `nil` if it is not prepared.
    /// - throws: ``DatasetError/damaged(_:_:)`` when the manifest cannot be read (written by an older w2vcache).
    public static func manifest(_ name: DatasetName, in cache: VectorCache) throws -> DatasetManifest? {
        try metadata(cache).withValue(manifestKey(name)) { bytes in
            guard let bytes else { return nil }
            let manifest: DatasetManifest
            do {
                manifest = try JSONDecoder().decode(DatasetManifest.self, from: Data(bytes))
            } catch {
                throw DatasetError.damaged(name, "its manifest cannot be read, perhaps written by an older w2vcache")
            }
            if let (array, info) = manifest.arrays.first(where: { !$0.value.isWellFormed }) {
                throw DatasetError.damaged(
                    name, "array \(array) has shape \(info.shape) in \(info.chunks) chunks, which no prepare writes")
            }
            // A prepare stores the cache's dimension (a build starts a new cache, without datasets).
            guard manifest.dimension == cache.dimension else {
                throw DatasetError.damaged(
                    name, "its manifest says dimension \(manifest.dimension), where the cache has \(cache.dimension)")
            }
            return manifest
        }
    }

    /// A fingerprint of what the cache serves, vectors and prepared datasets, made of checksums and counts (never
    /// paths, names or times): two copies of one cache have the same, a cache built or prepared from other inputs
    /// has another. 16 hex digits.
    public static func fingerprint(of cache: VectorCache) throws -> String {
        try fingerprint(of: cache, datasets: all(in: cache))
    }

    /// The fingerprint of `cache` whose prepared datasets are `datasets` (``all(in:)``, read before).
    public static func fingerprint(of cache: VectorCache, datasets: [DatasetManifest]) -> String {
        var text = cache.manifest.contentIdentity
        for manifest in datasets {
            text +=
                "|\(manifest.name):\(manifest.contentCRC32):\(manifest.dimension):"
                + manifest.splits.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
        return String(format: "%016llx", StableHash.fnv1a64(Array(text.utf8)))
    }

    /// Every prepared dataset's manifest.
    public static func all(in cache: VectorCache) throws -> [DatasetManifest] {
        try DatasetName.allCases.compactMap { try manifest($0, in: cache) }
    }

    /// Each dataset prepared in the cache: its manifest, or the error its manifest gives, so that a listing shows the
    /// others beside a damaged one.
    public static func eachPrepared(in cache: VectorCache) -> [(
        name: DatasetName, manifest: Result<DatasetManifest, any Error>
    )] {
        DatasetName.allCases.compactMap { name in
            do {
                return try manifest(name, in: cache).map { (name, .success($0)) }
            } catch {
                return (name, .failure(error))
            }
        }
    }

    /// Loads dataset `name`.
    /// - throws: ``DatasetError/notPrepared(_:)`` with the command that prepares it.
    public static func load(_ name: DatasetName, from cache: VectorCache) throws -> StoredDataset {
        guard let manifest = try manifest(name, in: cache) else { throw DatasetError.notPrepared(name) }
        return load(manifest, from: cache)
    }

    /// The dataset `manifest`, read from `cache` before, describes.
    public static func load(_ manifest: DatasetManifest, from cache: VectorCache) -> StoredDataset {
        StoredDataset(manifest: manifest, metadata: metadata(cache))
    }

    /// The one way every dataset is prepared: unless `D` is prepared already from the same inputs with the same
    /// options and the same kind of out-of-vocabulary vectors (`oov`, for a dataset with an embedding matrix), by
    /// this tool version, `build` makes its content, which replaces the stored dataset in one write (`progress` is
    /// told how far that write is, ``PrepareProgress/storing(written:total:)``).
    static func prepareIfChanged<D: PreparableDataset>(
        _ dataset: D.Type, inputs: [InputFingerprint], options: D.Options, oov: OOVKind? = nil,
        in writer: CacheWriter, progress: PrepareProgressHandler = { _ in },
        build: () throws -> DatasetContent<D.Statistics>
    ) throws -> PreparedDataset<D.Statistics> {
        let cache = writer.cache
        let existing: DatasetManifest?
        do {
            existing = try manifest(D.name, in: cache)
        } catch is DatasetError {
            existing = nil  // an unreadable manifest is replaced like any other
        }
        if let existing, let (storedOptions, statistics) = D.unpack(existing.details),
            existing.inputs == inputs, storedOptions == options, existing.oov == oov,
            existing.toolVersion == w2vcacheVersion
        {
            return PreparedDataset(manifest: existing, statistics: statistics, alreadyPrepared: true)
        }
        try writer.checkCancelled()
        let content = try build()
        let arrays = content.writer
        let manifest = DatasetManifest(
            details: D.details(options, content.statistics), inputs: inputs, toolVersion: w2vcacheVersion,
            dimension: cache.dimension, preparedAt: ISO8601DateFormatter().string(from: Date()), splits: content.splits,
            arrays: arrays.arrays, vocabularies: arrays.vocabularies,
            contentCRC32: String(format: "%08x", arrays.contentCRC32), oov: oov)
        var entries = arrays.entries
        entries.put(manifestKey(D.name), try JSONEncoder().encode(manifest))
        try writer.replace(
            in: .dataset, under: prefix(D.name), with: entries, oovWords: content.oovWords, generator: content.oov
        ) { written, total in progress(.storing(written: written, total: total)) }
        return PreparedDataset(manifest: manifest, statistics: content.statistics, alreadyPrepared: false)
    }
}

/// A dataset type that ``DatasetStore/prepareIfChanged(_:inputs:options:in:build:)`` prepares.
protocol PreparableDataset {
    associatedtype Options: Equatable & Sendable
    associatedtype Statistics: Sendable
    static var name: DatasetName { get }
    /// The manifest's case for this dataset (`DatasetDetails.pos`, …).
    static var details: @Sendable (Options, Statistics) -> DatasetDetails { get }
}

extension PreparableDataset {
    /// This dataset's options and statistics from a manifest's details; `nil` if they are another dataset's.
    static func unpack(_ details: DatasetDetails) -> (Options, Statistics)? {
        let contents = details.contents
        guard let options = contents.options as? Options, let statistics = contents.statistics as? Statistics else {
            return nil
        }
        return (options, statistics)
    }
}

/// What a preparation made: the arrays and lists, the example counts, its statistics, and the words that need
/// out-of-vocabulary vectors (made by `oov`).
struct DatasetContent<Statistics> {
    var writer: DatasetWriter
    var splits: [String: Int]
    var statistics: Statistics
    var oovWords: [[UInt8]] = []
    var oov: OOVSource? = nil
}

/// A dataset being written: arrays and string lists gathered for one atomic write.
struct DatasetWriter {
    let name: DatasetName
    private(set) var entries = MetadataEntries()
    private(set) var arrays: [String: ArrayInfo] = [:]
    private(set) var vocabularies: [String: Int] = [:]
    /// The CRC-32 of every key and value added, in order.
    private(set) var contentCRC32: UInt32 = 0

    init(name: DatasetName) {
        self.name = name
    }

    /// Adds an array of float32 or int32 values (`values.count` must equal the shape's product).
    mutating func add<T: BitwiseCopyable>(_ array: String, _ values: [T], type: ElementType, shape: [Int]) {
        precondition(MemoryLayout<T>.size == 4, "\(array): values are not of 4 bytes")
        add(array, type: type, shape: shape) { append in values.withUnsafeBytes { append($0) } }
    }

    /// Adds an array of float32 or int32 values whose bytes `write` hands to `append` in order, in pieces of any
    /// size: each is copied into the array's chunks as it comes, so that no copy of the whole array is held beside
    /// them. The bytes handed over must be the shape's product of values.
    mutating func add(
        _ array: String, type: ElementType, shape: [Int],
        _ write: (_ append: (UnsafeRawBufferPointer) -> Void) throws -> Void
    ) rethrows {
        let byteCount = shape.reduce(4, *)
        var chunk: [UInt8] = []
        chunk.reserveCapacity(min(byteCount, DatasetStore.chunkBytes))
        var (chunks, written) = (0, 0)
        try write { bytes in
            var rest = bytes[...]
            while !rest.isEmpty {
                let taken = rest.prefix(DatasetStore.chunkBytes - chunk.count)
                chunk.append(contentsOf: UnsafeRawBufferPointer(rebasing: taken))
                rest = rest[taken.endIndex...]
                guard chunk.count == DatasetStore.chunkBytes else { continue }
                chunk.withUnsafeBytes { put(DatasetStore.arrayKey(name, array, chunk: chunks), $0) }
                (chunks, written) = (chunks + 1, written + chunk.count)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        // Every array has a chunk, an empty array an empty one.
        if !chunk.isEmpty || chunks == 0 {
            chunk.withUnsafeBytes { put(DatasetStore.arrayKey(name, array, chunk: chunks), $0) }
            (chunks, written) = (chunks + 1, written + chunk.count)
        }
        precondition(written == byteCount, "\(array): values do not match the shape")
        arrays[array] = ArrayInfo(type: type, shape: shape, chunks: chunks)
    }

    /// Adds a list of strings (a vocabulary, a tag set).
    mutating func add(strings: [String], as list: String) throws {
        try JSONEncoder().encode(strings).withUnsafeBytes { put(DatasetStore.stringsKey(name, list), $0) }
        vocabularies[list] = strings.count
    }

    private mutating func put(_ key: [UInt8], _ value: UnsafeRawBufferPointer) {
        contentCRC32 = key.withUnsafeBytes { CRC32.checksum($0, continuing: contentCRC32) }
        contentCRC32 = CRC32.checksum(value, continuing: contentCRC32)
        entries.put(key, value)
    }
}

/// A prepared dataset read back from the cache.
public struct StoredDataset: Sendable {
    public let manifest: DatasetManifest
    let metadata: CacheMetadata

    /// The values of `array` as float32 or int32 (`T` must match its stored type).
    public func array<T: BitwiseCopyable>(_ array: String, as type: T.Type) throws -> [T] {
        guard let info = manifest.arrays[array] else {
            throw DatasetError.damaged(manifest.name, "array \(array) is missing")
        }
        precondition(MemoryLayout<T>.size == 4)
        try checkLastChunk(of: array, info)
        return try [T].filled(count: info.elementCount) { try copy(array, into: UnsafeMutableRawBufferPointer($0)) }
    }

    /// The stored bytes of `array`, preceded by `prefix` (an `.npy` header), in one buffer: each chunk is copied
    /// once, straight into it.
    public func bytes(of array: String, after prefix: [UInt8] = []) throws -> [UInt8] {
        guard let info = manifest.arrays[array] else {
            throw DatasetError.damaged(manifest.name, "array \(array) is missing")
        }
        try checkLastChunk(of: array, info)
        return try [UInt8].filled(count: prefix.count + info.byteCount) { buffer in
            let destination = UnsafeMutableRawBufferPointer(buffer)
            prefix.withUnsafeBytes { destination.copyMemory(from: $0) }
            try copy(array, into: UnsafeMutableRawBufferPointer(rebasing: destination[prefix.count...]))
        }
    }

    /// Throws unless `array`'s shape and chunks are ones a prepare writes, it fits in this machine's memory
    /// (``CacheError`` `.unavailable` where not), and its last chunk is stored, before memory is set aside for it: a
    /// damaged or forged manifest is an error, not an allocation (or a trap) of what it claims.
    private func checkLastChunk(of array: String, _ info: ArrayInfo) throws {
        guard info.isWellFormed else {
            throw DatasetError.damaged(
                manifest.name,
                "array \(array) has shape \(info.shape) in \(info.chunks) chunks, which no prepare writes")
        }
        let memory = ProcessInfo.processInfo.physicalMemory
        guard UInt64(info.byteCount) <= memory else {
            throw CacheError(
                .unavailable,
                "dataset \(manifest.name): array \(array) has shape \(info.shape), \(info.byteCount) bytes, more than "
                    + "this machine's \(memory) bytes of memory")
        }
        let stored = try metadata.withValue(DatasetStore.arrayKey(manifest.name, array, chunk: info.chunks - 1)) {
            $0 != nil
        }
        guard stored else {
            throw DatasetError.damaged(manifest.name, "chunk \(info.chunks - 1) of array \(array) is missing")
        }
    }

    /// Copies the chunks of `array` (its shape, size and chunk count checked by ``checkLastChunk(of:_:)``) into
    /// `destination`, which holds exactly its bytes. The chunks are read in parallel: LevelDB checksums each as it
    /// reads it, most of what a large array costs.
    /// - throws: ``DatasetError/damaged(_:_:)`` for a missing chunk or chunks of other sizes.
    private func copy(_ array: String, into destination: UnsafeMutableRawBufferPointer) throws {
        let name = manifest.name
        let chunkBytes = DatasetStore.chunkBytes
        guard let info = manifest.arrays[array], info.byteCount == destination.count else {
            throw DatasetError.damaged(name, "array \(array) is missing")
        }
        let sizeError = DatasetError.damaged(
            name, "array \(array) holds more or fewer bytes than the \(info.byteCount) expected")
        let metadata = metadata
        let failure = Locked<(any Error)?>(nil)
        nonisolated(unsafe) let output = destination
        DispatchQueue.concurrentPerform(iterations: info.chunks) { chunk in
            let offset = chunk * chunkBytes
            let size = min(chunkBytes, info.byteCount - offset)
            do {
                try metadata.withValue(DatasetStore.arrayKey(name, array, chunk: chunk)) { value in
                    guard let value else {
                        throw DatasetError.damaged(name, "chunk \(chunk) of array \(array) is missing")
                    }
                    guard value.count == size else { throw sizeError }
                    UnsafeMutableRawBufferPointer(rebasing: output[offset..<(offset + size)]).copyMemory(from: value)
                }
            } catch {
                failure.withLock { $0 = $0 ?? error }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// The stored shape of `array`.
    public func shape(_ array: String) -> [Int]? { manifest.arrays[array]?.shape }

    /// A stored list of strings, as long as the manifest says.
    /// - throws: ``DatasetError/damaged(_:_:)`` for a list that is missing, not a JSON list of strings, or of
    ///   another length than its manifest's.
    public func strings(_ list: String) throws -> [String] {
        let value = try metadata.withValue(DatasetStore.stringsKey(manifest.name, list)) { $0.map { Data($0) } }
        guard let value else { throw DatasetError.damaged(manifest.name, "list \(list) is missing") }
        let strings: [String]
        do {
            strings = try JSONDecoder().decode([String].self, from: value)
        } catch {
            throw DatasetError.damaged(manifest.name, "list \(list) cannot be read (\(ManifestCoding.reason(error)))")
        }
        guard strings.count == manifest.vocabularies[list] else {
            throw DatasetError.damaged(
                manifest.name,
                "list \(list) holds \(strings.count) strings where its manifest says "
                    + (manifest.vocabularies[list].map(String.init) ?? "none"))
        }
        return strings
    }
}

/// Problems with prepared datasets, in words; nothing here knows about HTTP (the server picks the statuses).
public enum DatasetError: Error, CustomStringConvertible, Sendable, Equatable {
    case notPrepared(DatasetName)
    case damaged(DatasetName, String)
    /// A split the dataset lacks, and the splits it has, listed. The list is text, not an array: a thrown error that
    /// held an array leaked it when the command exited on it (LeakSanitizer, `scripts/memory-check`).
    case noSuchSplit(DatasetName, String, String)
    /// An example index outside the split.
    case noSuchExample(DatasetName, index: Int, count: Int)
    /// A translation batch whose examples lie in different buckets (or none).
    case notOneBucket(DatasetName)
    /// The inputs would give an empty or one-sided dataset: nothing was written, the prepared one is kept.
    case unusableInput(DatasetName, String)

    public var description: String {
        switch self {
        case .notPrepared(let name):
            "dataset \(name) is not prepared; prepare it with `w2vcache prepare \(name) ...` (see `w2vcache prepare "
                + "\(name) --help`)"
        case .damaged(let name, let detail):
            "dataset \(name) is damaged (\(detail)); prepare it again"
        case .noSuchSplit(let name, let split, let splits):
            "dataset \(name) has no split \"\(split)\"; it has \(splits)"
        case .noSuchExample(let name, let index, let count):
            "dataset \(name): example \(index) is outside 0..<\(count)"
        case .notOneBucket(let name):
            "dataset \(name): a batch must hold examples of one bucket"
        case .unusableInput(let name, let reason):
            "\(reason); nothing was changed (a dataset \(name) prepared before is kept)"
        }
    }
}

extension Collection<Int32> {
    /// Whether every value lies in `0..<bound`: the ids a stored dataset indexes its lists by, checked as it loads.
    func allLie(below bound: Int) -> Bool { allSatisfy { $0 >= 0 && Int($0) < bound } }
}
