import CLevelDB
import CLevelDBEnv
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An open LevelDB database: the single owner of a `leveldb_t` handle.
///
/// LevelDB's handle is safe to use from several threads at once, so a `Database` is `Sendable`. ``close()`` ends its
/// life explicitly (a closed database throws ``LevelDBError/Kind/closed`` on every use); otherwise it is closed when
/// the last reference goes away. Iterators and snapshots hold a reference and count as open cursors: ``close()``
/// refuses while any is alive, so none can outlive the handle it reads.
/// LevelDB lets only one process open a directory to write it: a second open fails with ``LevelDBError/Kind/inUse``.
/// Opened ``Options/Access/readOnly``, any number of processes read it at once, and nothing on disk changes.
public final class Database: @unchecked Sendable {
    // `@unchecked Sendable`: `handle` is read under `lock`'s read side and cleared under its write side.
    private var handle: OpaquePointer?
    private let lock = ReadWriteLock()
    private let openCursors = Atomic<Int>(0)
    private let nativeOptions: NativeOptions
    private let readOptions: OpaquePointer
    private let writeOptions: OpaquePointer
    private let syncWriteOptions: OpaquePointer
    /// The directory the database lives in.
    public let path: String
    /// Whether reads check each block against its checksum (``Options/verifyChecksums``).
    public let verifiesChecksums: Bool
    /// How it was opened: writes throw unless ``Options/Access/readWrite``.
    public let access: Options.Access

    /// Opens (or, with ``Options/createIfMissing``, creates) the database in directory `path`.
    /// - throws: ``LevelDBError``, whose kind is ``LevelDBError/Kind/inUse`` when another process holds the lock.
    public init(path: String, options: Options = Options()) throws {
        self.path = path
        try LogTail.check(directory: path)
        let native = NativeOptions(options)
        nativeOptions = native
        let opened = try LevelDBError.check { error in leveldb_open(native.options, path, error) }
        guard let opened else {
            throw LevelDBError(kind: .unknown, message: "leveldb_open returned no handle for \(path)")
        }
        handle = opened
        verifiesChecksums = options.verifyChecksums
        access = options.access
        readOptions = leveldb_readoptions_create()
        writeOptions = leveldb_writeoptions_create()
        syncWriteOptions = leveldb_writeoptions_create()
        leveldb_writeoptions_set_sync(syncWriteOptions, 1)
    }

    deinit {
        if let handle { leveldb_close(handle) }
        leveldb_readoptions_destroy(readOptions)
        leveldb_writeoptions_destroy(writeOptions)
        leveldb_writeoptions_destroy(syncWriteOptions)
    }

    /// Closes the database now: its files and its `LOCK` are released before this returns. Calling it again does
    /// nothing.
    /// - throws: ``LevelDBError/Kind/invalidArgument`` while iterators or snapshots of it are alive.
    public func close() throws {
        try lock.withWriteLock {
            guard let open = handle else { return }
            let cursors = openCursors.load(ordering: .acquiring)
            guard cursors == 0 else {
                throw LevelDBError(
                    kind: .invalidArgument,
                    message: "cannot close \(path): \(cursors) iterators or snapshots are still open")
            }
            leveldb_close(open)
            handle = nil
        }
    }

    /// Whether another process holds the database in `path` open (to read or to write), or this process does
    /// through a read-only open: what a writer that wants it alone must check.
    /// - throws: ``LevelDBError/Kind/ioError`` when its lock cannot be looked at.
    public static func isInUse(path: String) throws -> Bool {
        let lockPath = path + "/LOCK"
        switch w2v_lock_is_held(lockPath) {
        case 0: return false
        case 1: return true
        default:
            throw LevelDBError(
                kind: .ioError,
                message: "IO error: cannot look at the lock \(lockPath): \(String(cString: strerror(errno)))")
        }
    }

    /// Bytes a read-only open keeps in memory in place of the files LevelDB wrote while opening (a replayed log).
    public var memoryBytes: UInt64 { nativeOptions.memoryBytes }

    /// Whether ``close()`` has been called.
    public var isClosed: Bool { lock.withReadLock { handle == nil } }

    /// Runs `body` with the open handle, holding the read lock so that ``close()`` waits for it.
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) throws -> R {
        try lock.withReadLock {
            guard let handle else { throw LevelDBError(kind: .closed, message: "the database \(path) is closed") }
            return try body(handle)
        }
    }

    /// Throws once a page of a mapped table file could not be read: what a read handed back since may hold zeros
    /// in place of the file's bytes (see `w2v_overlay_env_create`). Every read checks it before handing anything on.
    func checkIntact() throws {
        guard nativeOptions.isDamaged else { return }
        throw LevelDBError(
            kind: .corruption,
            message:
                "Corruption: a table file of \(path) could not be read: cut short or replaced since it was opened, "
                + "or a disk error")
    }

    /// Counts an iterator or snapshot that starts or stops reading the handle.
    func cursorOpened() { openCursors.add(1, ordering: .relaxed) }
    func cursorClosed() { openCursors.subtract(1, ordering: .releasing) }

    /// Lends the value stored under `key` to `body` without copying it (`nil` when the key is absent).
    ///
    /// An empty value is an empty buffer, not `nil`. The buffer is only valid inside `body`. With checksums on (the
    /// default), a damaged block is a ``LevelDBError/Kind/corruption`` error, never a wrong value.
    /// - throws: ``LevelDBError`` on a read failure, or what `body` throws.
    public func withValue<R>(
        forKey key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> R
    ) throws -> R {
        try withHandle { handle in
            var length = 0
            let value = try LevelDBError.check { error in
                leveldb_get(
                    handle, readOptions, key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count, &length, error
                )
            }
            defer { if let value { leveldb_free(value) } }
            try checkIntact()
            guard let value else { return try body(nil) }
            return try body(UnsafeRawBufferPointer(start: value, count: length))
        }
    }

    /// Lends the value stored under `key` to `body` without copying it (`nil` when the key is absent).
    public func withValue<R>(forKey key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        try key.withUnsafeBytes { try withValue(forKey: $0, body) }
    }

    /// A copy of the value stored under `key`, or `nil` when the key is absent.
    public func get(_ key: [UInt8]) throws -> [UInt8]? {
        try withValue(forKey: key) { $0.map { Array($0) } }
    }

    /// Stores `value` under `key`; with `sync`, the write reaches the disk before this returns.
    public func put(_ key: [UInt8], _ value: [UInt8], sync: Bool = false) throws {
        let batch = WriteBatch()
        batch.put(key: key, value: value)
        try write(batch, sync: sync)
    }

    /// Removes `key` (not an error if it is absent).
    public func delete(_ key: [UInt8], sync: Bool = false) throws {
        let batch = WriteBatch()
        batch.delete(key: key)
        try write(batch, sync: sync)
    }

    /// Applies every operation of `batch` atomically.
    /// - throws: ``LevelDBError/Kind/notSupported`` for a database opened read-only.
    public func write(_ batch: WriteBatch, sync: Bool = false) throws {
        try checkWritable()
        try withHandle { handle in
            try LevelDBError.check { error in
                leveldb_write(handle, sync ? syncWriteOptions : writeOptions, batch.handle, error)
            }
        }
    }

    /// A cursor over all keys, optionally as of `snapshot`, whose blocks are checked as ``verifiesChecksums`` says.
    /// - Parameters:
    ///   - fillCache: keep the blocks read in the block cache (turn off for full scans).
    /// - throws: ``LevelDBError/Kind/closed`` once the database is closed.
    public func makeIterator(snapshot: Snapshot? = nil, fillCache: Bool = true) throws -> Iterator {
        try Iterator(database: self, snapshot: snapshot, fillCache: fillCache)
    }

    /// A consistent view of the database as it is now.
    /// - throws: ``LevelDBError/Kind/closed`` once the database is closed.
    public func makeSnapshot() throws -> Snapshot {
        try Snapshot(database: self)
    }

    /// A LevelDB property such as `leveldb.stats` or `leveldb.num-files-at-level0`, or `nil` if unknown or closed.
    public func property(_ name: String) -> String? {
        try? withHandle { handle in
            guard let value = leveldb_property_value(handle, name) else { return nil }
            defer { leveldb_free(value) }
            return String(cString: value)
        }
    }

    /// The number of table files at `level` (0...6).
    public func fileCount(atLevel level: Int) -> Int {
        property("leveldb.num-files-at-level\(level)").flatMap { Int($0) } ?? 0
    }

    /// Compacts the key range `[start, end]`; `nil` bounds mean the whole database.
    /// - throws: ``LevelDBError/Kind/notSupported`` for a database opened read-only.
    public func compactRange(start: [UInt8]? = nil, end: [UInt8]? = nil) throws {
        try checkWritable()
        func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafePointer<CChar>?, Int) -> R) -> R {
            guard let bytes else { return body(nil, 0) }
            return bytes.withUnsafeBytes { body($0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        }
        try withHandle { handle in
            withOptionalBytes(start) { s, sLength in
                withOptionalBytes(end) { e, eLength in
                    leveldb_compact_range(handle, s, sLength, e, eLength)
                }
            }
        }
    }

    private func checkWritable() throws {
        guard access == .readWrite else {
            throw LevelDBError(
                kind: .notSupported, message: "Not implemented: the database \(path) is open for reading only")
        }
    }
}
