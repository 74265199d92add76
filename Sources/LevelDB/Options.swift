import CLevelDB

/// How a database is opened and tuned. Every size is in bytes.
public struct Options: Sendable, Equatable {
    public var createIfMissing = false
    public var errorIfExists = false
    /// Verify checksums aggressively and stop on any sign of corruption; tables' index and filter blocks are checked
    /// when a table is opened.
    public var paranoidChecks = false
    /// Check every block read (gets and iterators) against its checksum, so that damage is an error rather than a
    /// wrong value. On by default; LevelDB's own default is off.
    public var verifyChecksums = true
    /// The memtable size: larger values mean fewer, larger level-0 files during bulk writes.
    public var writeBufferSize = 4 << 20
    /// The target size of one table file; LevelDB's default is 2 MB.
    public var maxFileSize = 2 << 20
    /// How many table files may be open at once.
    public var maxOpenFiles = 1000
    /// The uncompressed size of one data block.
    public var blockSize = 4 << 10
    /// The size of the shared LRU block cache; `0` keeps LevelDB's built-in 8 MB cache.
    public var blockCacheSize = 0
    /// Bits per key of a bloom filter; `0` means no filter.
    public var bloomBitsPerKey = 0
    /// Snappy compression of blocks (off: float vectors barely compress).
    public var compression = false

    public init() {}
}

/// The C objects an open database needs for as long as it is open.
final class NativeOptions {
    let options: OpaquePointer
    private let filterPolicy: OpaquePointer?
    private let cache: OpaquePointer?

    init(_ settings: Options) {
        options = leveldb_options_create()
        leveldb_options_set_create_if_missing(options, settings.createIfMissing ? 1 : 0)
        leveldb_options_set_error_if_exists(options, settings.errorIfExists ? 1 : 0)
        leveldb_options_set_paranoid_checks(options, settings.paranoidChecks ? 1 : 0)
        leveldb_options_set_write_buffer_size(options, settings.writeBufferSize)
        leveldb_options_set_max_file_size(options, settings.maxFileSize)
        leveldb_options_set_max_open_files(options, Int32(settings.maxOpenFiles))
        leveldb_options_set_block_size(options, settings.blockSize)
        leveldb_options_set_compression(
            options, Int32(settings.compression ? leveldb_snappy_compression : leveldb_no_compression))
        if settings.bloomBitsPerKey > 0 {
            let policy = leveldb_filterpolicy_create_bloom(Int32(settings.bloomBitsPerKey))
            leveldb_options_set_filter_policy(options, policy)
            filterPolicy = policy
        } else {
            filterPolicy = nil
        }
        if settings.blockCacheSize > 0 {
            let lru = leveldb_cache_create_lru(settings.blockCacheSize)
            leveldb_options_set_cache(options, lru)
            cache = lru
        } else {
            cache = nil
        }
    }

    deinit {
        leveldb_options_destroy(options)
        if let filterPolicy { leveldb_filterpolicy_destroy(filterPolicy) }
        if let cache { leveldb_cache_destroy(cache) }
    }
}
