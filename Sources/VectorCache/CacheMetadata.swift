import LevelDB

/// Metadata that another module keeps in the cache, under a namespace of its own: keys `0x00 NAMESPACE 0x00 KEY`,
/// which no word has. Only ``VectorCache`` knows this layout; a module such as `Datasets` sees plain keys.
///
/// Reads are checked against LevelDB's checksums like every read of the cache. Writes go through
/// ``replace(under:with:oovWords:generator:)``, one atomic write.
public struct CacheMetadata: Sendable {
    let cache: VectorCache
    let prefix: [UInt8]

    /// Lends the value of `key` to `body` without copying it (`nil` when absent).
    public func withValue<R>(_ key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        try cache.translatingErrors { try cache.database.withValue(forKey: prefix + key, body) }
    }

    /// A copy of the value of `key`, or `nil`.
    public func value(_ key: [UInt8]) throws -> [UInt8]? {
        try withValue(key) { $0.map { Array($0) } }
    }

    /// The keys that begin with `start`, in byte order (without the namespace).
    public func keys(startingWith start: [UInt8] = []) throws -> [[UInt8]] {
        try cache.translatingErrors {
            let iterator = try cache.database.makeIterator(fillCache: false)
            let full = prefix + start
            iterator.seek(to: full)
            var keys: [[UInt8]] = []
            while iterator.isValid, try iterator.withKey({ $0.starts(with: full) }) {
                keys.append(try iterator.withKey { Array($0.dropFirst(prefix.count)) })
                iterator.next()
            }
            try iterator.checkError()
            return keys
        }
    }

    /// Replaces every key that begins with `start` by `entries`, and adds out-of-vocabulary vectors for the words of
    /// `oovWords` the cache lacks, in one atomic, synced write (with the cache's manifest updated). A failure changes
    /// nothing.
    /// - Returns: the words that got new out-of-vocabulary vectors.
    /// - throws: ``CacheError`` (also when the cache was opened for reading only).
    @discardableResult
    public func replace(
        under start: [UInt8], with entries: MetadataEntries, oovWords: some Sequence<[UInt8]> = [[UInt8]](),
        generator: OOVVectors? = nil
    ) throws -> [[UInt8]] {
        let batch = WriteBatch()
        for key in try keys(startingWith: start) { batch.delete(key: prefix + key) }
        let added = try generator.map { try cache.addOOVVectors(for: oovWords, generator: $0, to: batch) } ?? []
        batch.append(entries.batch(prefix: prefix))
        try cache.commit(batch, addedOOV: added.count)
        return added
    }
}

/// Key-value pairs gathered for ``CacheMetadata/replace(under:with:oovWords:generator:)``.
public struct MetadataEntries {
    private var entries: [(key: [UInt8], value: [UInt8])] = []
    /// Bytes gathered so far.
    public private(set) var byteCount = 0

    public init() {}

    /// Adds `value` under `key` (the bytes are copied).
    public mutating func put(_ key: [UInt8], _ value: some Collection<UInt8>) {
        entries.append((key, Array(value)))
        byteCount += key.count + value.count
    }

    func batch(prefix: [UInt8]) -> WriteBatch {
        let batch = WriteBatch()
        for entry in entries { batch.put(key: prefix + entry.key, value: entry.value) }
        return batch
    }
}

extension VectorCache {
    /// The metadata of `namespace` (letters, not empty): a module's own corner of the cache.
    public func metadata(_ namespace: String) -> CacheMetadata {
        precondition(!namespace.isEmpty && namespace.utf8.allSatisfy { $0 >= 0x61 && $0 <= 0x7A }, "namespace \(namespace)")
        return CacheMetadata(cache: self, prefix: CacheKeys.metadataPrefix(namespace))
    }

    /// The table files per LevelDB level (0...6), for `info`.
    public var tableFilesPerLevel: [Int] { (0..<7).map { database.fileCount(atLevel: $0) } }
}
