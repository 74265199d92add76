import LevelDB

/// Metadata that another module keeps in the cache, under a namespace of its own: keys `0x00 NAMESPACE 0x00 KEY`,
/// which no word has. Only this package knows that layout; a module such as `Datasets` sees plain keys.
///
/// Reads are checked against LevelDB's checksums like every read of the cache. Writes go through `CacheWriter`
/// (`CacheBuild`), in one atomic change of the cache.
public struct CacheMetadata: Sendable {
    let cache: VectorCache
    /// The namespace's key prefix.
    package let prefix: [UInt8]

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
}

extension VectorCache {
    /// The metadata of `namespace` (lowercase ASCII letters, not empty): a module's own corner of the cache.
    public func metadata(_ namespace: MetadataNamespace) -> CacheMetadata {
        CacheMetadata(cache: self, prefix: CacheKeys.metadataPrefix(namespace.rawValue))
    }
}

/// The metadata namespaces of a cache, one per module that keeps data there.
public enum MetadataNamespace: String, Sendable {
    /// Prepared datasets (`Datasets`).
    case dataset
    /// The nearest-word search index (`SearchIndex`).
    case search
}
