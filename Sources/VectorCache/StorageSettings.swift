import LevelDB

/// How LevelDB stores a cache and reads it: the configuration's `leveldb:` section. Every size is in bytes.
///
/// The defaults were measured on 300k-3M-word GoogleNews-shaped builds: 16 MB memtables (4-256 MB tried), 64 MB
/// tables (LevelDB's 2 MB means ~1,550 files for 3M words), 4 KB blocks (every read verifies its whole block's
/// checksum, and readers map tables, so blocks are never cached: a verified random get reads 4 KB, 4.5x faster than
/// with 64 KB blocks, for builds ~12% slower), a 64 MB block cache, 10-bit bloom filters, no snappy (saves ~12% on
/// float vectors, writes ~1.7x slower).
public struct StorageSettings: Sendable, Equatable {
    /// The memtable size: larger values mean fewer, larger level-0 files during bulk writes.
    public var writeBufferSize = 16 << 20
    /// The target size of one table file.
    public var maxFileSize = 64 << 20
    /// The uncompressed size of one data block.
    public var blockSize = 4 << 10
    /// The shared LRU block cache; `0` keeps LevelDB's built-in 8 MB cache.
    public var blockCacheSize = 64 << 20
    /// Bits per key of the bloom filters; `0` means none.
    public var bloomBitsPerKey = 10
    /// How many table files may be open at once.
    public var maxOpenFiles = 1000
    /// Snappy compression of blocks.
    public var compression = false

    public init() {}

    /// LevelDB's options for a cache opened with `access`: checksums verified on every read, paranoid checks on.
    package func levelDBOptions(_ access: Options.Access) -> Options {
        var options = Options()
        options.access = access
        options.writeBufferSize = writeBufferSize
        options.maxFileSize = maxFileSize
        options.blockSize = blockSize
        options.blockCacheSize = blockCacheSize
        options.bloomBitsPerKey = bloomBitsPerKey
        options.maxOpenFiles = maxOpenFiles
        options.compression = compression
        options.paranoidChecks = true
        options.verifyChecksums = true
        return options
    }

    /// These settings for a reader of a few words, without the tables' bloom filters: LevelDB reads and verifies a
    /// table's whole filter as the table opens (a quarter of a megabyte at 64 MB tables, 4-5% of a one-word
    /// `lookup` process), where a filter saves each missing word ~1 µs (one data block read and verified).
    package var withoutBloomFilters: StorageSettings {
        var settings = self
        settings.bloomBitsPerKey = 0
        return settings
    }
}
