import CLevelDB
import CLevelDBEnv

/// How a database is opened and tuned. Every size is in bytes.
public struct Options: Sendable, Equatable {
    /// Whether the database is opened to write it, or only to read it.
    public enum Access: Sendable, Equatable {
        /// Reads and writes, as LevelDB opens a database: one process at a time.
        case readWrite
        /// Reads only, and nothing on disk changes, not even LevelDB's own bookkeeping: what LevelDB writes while it
        /// opens the database (a replayed log, a new MANIFEST) stays in memory. Works on a read-only mount or a full
        /// disk, and several processes may read one directory at once; a writer may not open it meanwhile, nor this
        /// open it while a writer has it.
        case readOnly
        /// As ``readOnly``, but alone: no other reader or writer may open the directory meanwhile (which must be
        /// writable, for the lock).
        case readOnlyExclusive
    }

    public var access = Access.readWrite
    /// With ``Access/readWrite``: `false` writes no write-ahead log, so that a write is lost unless a flush
    /// (``Database/compactRange(start:end:)``) puts it in a table before the database closes. Only for a database
    /// that is thrown away when it is not completed, as a build's temporary directory is: there the log protects
    /// nothing and costs every value a second write (LevelDB still computes the log record's checksum).
    public var writeAheadLog = true
    public var createIfMissing = false
    public var errorIfExists = false
    /// Verify checksums aggressively and stop on any sign of corruption; tables' index and filter blocks are checked
    /// when a table is opened.
    public var paranoidChecks = false
    /// Check every block read (gets and iterators) against its checksum, so that damage is an error rather than a
    /// wrong value. On by default; LevelDB's own default is off. The database's environment checks them, with the
    /// CPU's CRC-32C instruction (`w2v_table_env_create`), not LevelDB's `verify_checksums` read option.
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
    /// The environment of ours the database is opened with (``Options/Access``, ``Options/writeAheadLog``,
    /// ``Options/verifyChecksums``); none lets a table file that shrinks under it end the process with SIGBUS.
    private let environment: OpaquePointer
    /// Whether ``environment`` is an overlay (a read-only open's).
    private let overlay: Bool

    init(_ settings: Options) {
        options = leveldb_options_create()
        // Blocks are checked by the environment, faster than by LevelDB's `verify_checksums` (which reads leave off).
        let check: Int32 = settings.verifyChecksums ? 1 : 0
        switch settings.access {
        case .readOnly: environment = w2v_overlay_env_create(W2V_LOCK_SHARED, check)
        case .readOnlyExclusive: environment = w2v_overlay_env_create(W2V_LOCK_EXCLUSIVE, check)
        case .readWrite where !settings.writeAheadLog: environment = w2v_unlogged_env_create(check)
        case .readWrite: environment = w2v_table_env_create(check)
        }
        overlay = settings.access != .readWrite
        leveldb_options_set_env(options, environment)
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
        w2v_env_destroy(environment)
    }

    /// Whether a page of a table file the environment mapped could not be read (`w2v_env_is_damaged`).
    var isDamaged: Bool { w2v_env_is_damaged(environment) != 0 }

    /// Bytes a read-only open keeps in memory in place of files (0 for a read-write one).
    var memoryBytes: UInt64 { overlay ? w2v_overlay_env_memory_bytes(environment) : 0 }
}
