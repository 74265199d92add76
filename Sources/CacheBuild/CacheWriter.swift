import LevelDB
import VectorCache

/// The right to change a cache, and its changes: what `prepare` writes through.
///
/// A writer holds the cache's ``CacheWriterLock`` (one build or prepare at a time) and reads the cache through
/// ``cache``, opened alone: no server or other reader opens it meanwhile. A change never touches the cache in
/// place. It is applied to a copy beside the cache (tables hard-linked, the rest copied), synced, and swapped into
/// place in one rename, like a build: a change that fails (a full disk, an interruption) leaves the cache exactly
/// as it was and nothing of itself behind. A writer over a build's own directory, not yet in place
/// (``init(building:storage:holding:)``), changes it directly: the build's swap puts both in place.
public final class CacheWriter {
    private let location: CacheLocation
    private let storage: StorageSettings
    private let lock: CacheWriterLock
    /// Changes go straight into the directory: it is a build's, not yet in place, and no one else reads it.
    private let inPlace: Bool
    /// Polled by ``checkCancelled()``: `true` stops the change (SIGINT, SIGTERM).
    private let isCancelled: () -> Bool
    /// The cache as it is now, read-only; after each change, the changed cache (the previous object is closed).
    public private(set) var cache: VectorCache

    /// Takes the writer lock of the cache at `path` and opens the cache alone.
    /// - Parameters:
    ///   - purpose: what the writer does, for a refused writer's message (`w2vcache prepare pos`).
    ///   - wait: wait for another writer to finish instead of failing; `onWait` is told once.
    ///   - isCancelled: polled while waiting, by ``checkCancelled()``, and by each change before it begins and
    ///     before its swap; `true` stops the writer with ``CacheError/Kind/interrupted``, the cache unchanged.
    /// - throws: ``CacheError`` (`.busy` while another writer holds the lock, `.inUse` while a server reads it).
    public convenience init(
        path: String, storage: StorageSettings = StorageSettings(), purpose: String, wait: Bool = false,
        onWait: (String) -> Void = { _ in }, isCancelled: @escaping () -> Bool = { false }
    ) throws {
        // A cache that is not there is named as such, before a lock file is made beside it.
        guard CacheLocation(path: path).exists else { throw CacheError.noCache(at: path) }
        let lock = try CacheWriterLock(
            cachePath: path, purpose: purpose, wait: wait, onWait: onWait, isCancelled: isCancelled)
        try self.init(path: path, storage: storage, holding: lock, isCancelled: isCancelled)
    }

    /// Opens the cache at `path` alone under a writer lock already held (a build just made the cache).
    public convenience init(
        path: String, storage: StorageSettings = StorageSettings(), holding lock: CacheWriterLock,
        isCancelled: @escaping () -> Bool = { false }
    ) throws {
        try self.init(
            location: CacheLocation(path: path), storage: storage, lock: lock, isCancelled: isCancelled, inPlace: false)
    }

    /// Opens the cache a build has just written at `builtPath`, before the build swaps it into place
    /// (``CacheBuilder/run(holding:progress:isCancelled:onWait:beforeSwap:)``), to change it there: the build and
    /// the changes replace the previous cache together, or not at all.
    public convenience init(
        building builtPath: String, storage: StorageSettings = StorageSettings(), holding lock: CacheWriterLock,
        isCancelled: @escaping () -> Bool = { false }
    ) throws {
        try self.init(
            location: CacheLocation(path: builtPath), storage: storage, lock: lock, isCancelled: isCancelled,
            inPlace: true)
    }

    private init(
        location: CacheLocation, storage: StorageSettings, lock: CacheWriterLock, isCancelled: @escaping () -> Bool,
        inPlace: Bool
    ) throws {
        self.location = location
        self.storage = storage
        self.lock = lock
        self.isCancelled = isCancelled
        self.inPlace = inPlace
        // Killed builds and changes may have left copies beside a cache in place; a build removed them before it began.
        if !inPlace { location.removeStaleTemporaries() }
        cache = try VectorCache(path: location.path, storage: storage, alone: true)
    }

    /// Throws ``CacheError/Kind/interrupted`` if the writer's `isCancelled` says to stop: what a long preparation
    /// calls between its steps. The cache is unchanged then (a build's, not yet in place, is not put in place).
    public func checkCancelled() throws {
        guard isCancelled() else { return }
        throw CacheError(
            .interrupted,
            inPlace
                ? "the build was interrupted; the previous cache is unchanged"
                : "interrupted; the cache \(location.path) is unchanged")
    }

    /// Closes the cache; the writer lock goes with the writer.
    public func close() throws {
        try cache.close()
    }

    /// Replaces every key of `namespace` that begins with `start` by `entries`, and adds out-of-vocabulary vectors
    /// (made by `generator`) for the words of `oovWords` the cache lacks, with the manifest's count updated: one
    /// atomic change of the cache (see ``CacheWriter``). `progress` is told the bytes written of about how many, as
    /// the change begins, after every piece of it (``pieceBytes``), and once it is whole.
    /// - Returns: the words that got new out-of-vocabulary vectors.
    /// - throws: ``CacheError``; the cache is unchanged.
    @discardableResult
    public func replace(
        in namespace: MetadataNamespace, under start: [UInt8], with entries: MetadataEntries,
        oovWords: some Sequence<[UInt8]> = [[UInt8]](), generator: OOVSource? = nil,
        progress: (_ written: Int, _ total: Int) -> Void = { _, _ in }
    ) throws -> [[UInt8]] {
        let current = cache
        let metadata = current.metadata(namespace)
        let batch = WriteBatch()
        for key in try metadata.keys(startingWith: start) { batch.delete(key: metadata.prefix + key) }
        // Which words get vectors is read now (an in-place change closes the cache); the vectors are made as they
        // are written.
        let added = try generator == nil ? [] : Self.wordsLackingVectors(oovWords, in: current)
        var manifest = current.manifest
        manifest.oovCount += added.count
        let manifestValue = try ManifestCoding.encode(manifest)
        // Each vector under its word, and its marker (the word under a prefix, "subword" or nothing).
        let oovBytes = added.reduce(0) { bytes, word in bytes + current.vectorBytes + 2 * word.count + 16 }
        let total = entries.byteCount + oovBytes
        progress(0, total)
        try apply(byteCount: total) { database in
            // In pieces, each let go once written and a poll after it, rather than a second copy of every entry.
            var (pieceBytes, written) = (0, 0)
            func put(key: [UInt8], value: [UInt8]) throws {
                batch.put(key: key, value: value)
                pieceBytes += key.count + value.count
                guard pieceBytes >= Self.pieceBytes else { return }
                try database.write(batch)
                batch.clear()
                written += pieceBytes
                pieceBytes = 0
                progress(min(written, total), total)
                try checkCancelled()
            }
            if let generator {
                for word in added {
                    let (vector, kind) = try generator.vectorBytes(for: word)
                    try put(key: word, value: vector)
                    try put(
                        key: CacheKeys.oovMarker(for: word),
                        value: OOVMarker(kind: kind, random: generator.random).bytes)
                }
            }
            for entry in entries.entries { try put(key: metadata.prefix + entry.key, value: entry.value) }
            batch.put(key: CacheKeys.manifest, value: manifestValue)
            try database.write(batch, sync: true)
        }
        progress(total, total)
        return added
    }

    /// How many bytes of entries ``replace(in:under:with:oovWords:generator:)`` writes at a time.
    static let pieceBytes = 16 << 20

    /// Writes a change of about `byteCount` bytes into a copy of the cache (`change` writes it into the copy's
    /// database), and swaps the copy into place (into a build's directory, in place).
    private func apply(byteCount: Int, _ change: (Database) throws -> Void) throws {
        try checkCancelled()
        if inPlace {
            try cache.close()
            try write(byteCount: byteCount, into: location.path, change)
            cache = try VectorCache(path: location.path, storage: storage, alone: true)
            return
        }
        let buildPath = try location.createBuildDirectory()
        var swapped = false
        defer { if !swapped { _ = CacheLocation.removeBuildDirectory(buildPath) } }
        _ = try CacheFiles.replicate(from: location.path, to: buildPath)
        try write(byteCount: byteCount, into: buildPath, change)
        try checkCancelled()  // the last moment a stop leaves the cache as it was
        try location.swapIntoPlace(from: buildPath, holdingTheCache: true)
        swapped = true
        try? cache.close()
        // A reader may open the changed cache between the swap and this open; read beside it then, and let the next
        // change find out whether it can have the cache alone.
        cache =
            try (try? VectorCache(path: location.path, storage: storage, alone: true))
            ?? VectorCache(path: location.path, storage: storage)
    }

    /// Opens the LevelDB at `path` and lets `change` write a change of about `byteCount` bytes into it, synced, into
    /// a table of its own.
    private func write(byteCount: Int, into path: String, _ change: (Database) throws -> Void) throws {
        do {
            var options = storage.levelDBOptions(.readWrite)
            // One write buffer holds the whole change, so that its pieces become one table, not many to compact
            // (LevelDB caps a write buffer at 1 GB: a larger change becomes a table a gigabyte).
            options.writeBufferSize = max(options.writeBufferSize, byteCount + (1 << 20))
            let copy = try Database(path: path, options: options)
            defer { try? copy.close() }
            try change(copy)
            // The change goes into a table of its own and the log is left empty: readers replay nothing.
            try copy.compactRange(start: CacheKeys.flushProbe, end: CacheKeys.flushProbe)
            try copy.close()
        } catch let error as LevelDBError {
            throw CacheError(
                .io,
                inPlace
                    ? "cannot write the cache being built in \(path): \(error.message); the previous cache is unchanged"
                    : "cannot write the changed copy \(path) of \(location.path): \(error.message); the cache is "
                        + "unchanged")
        }
    }

    /// The words of `words` that `cache` lacks, each once, in order (the empty word and reserved keys left out):
    /// those that get an out-of-vocabulary vector and its marker (empty for a random vector, `subword` for an n-gram
    /// one).
    static func wordsLackingVectors(_ words: some Sequence<[UInt8]>, in cache: VectorCache) throws -> [[UInt8]] {
        var lacking: [[UInt8]] = []
        var seen = Set<[UInt8]>()
        for word in words where !word.isEmpty && word.first != CacheKeys.reservedPrefix {
            guard seen.insert(word).inserted, try !cache.contains(word) else { continue }
            lacking.append(word)
        }
        return lacking
    }
}

/// Key-value pairs of one namespace gathered for ``CacheWriter/replace(in:under:with:oovWords:generator:)``.
public struct MetadataEntries {
    fileprivate private(set) var entries: [(key: [UInt8], value: [UInt8])] = []
    /// Bytes gathered so far.
    public private(set) var byteCount = 0

    public init() {}

    /// Adds `value` under `key` (the bytes are copied).
    public mutating func put(_ key: [UInt8], _ value: some Collection<UInt8>) {
        entries.append((key, Array(value)))
        byteCount += key.count + value.count
    }
}
