import CLevelDB

/// A cursor over a database's keys in byte order.
///
/// The iterator keeps its database (and snapshot, if any) alive and counts as an open cursor of it, so it can never
/// outlive the handle it reads. Keys and values are handed out only while ``isValid``. Not `Sendable`: use one
/// iterator on one thread.
public final class Iterator {
    private let handle: OpaquePointer
    private let readOptions: OpaquePointer
    private let database: Database
    private let snapshot: Snapshot?

    init(database: Database, snapshot: Snapshot?, fillCache: Bool) throws {
        let readOptions = leveldb_readoptions_create()!
        leveldb_readoptions_set_fill_cache(readOptions, fillCache ? 1 : 0)
        if let snapshot { leveldb_readoptions_set_snapshot(readOptions, snapshot.handle) }
        do {
            handle = try database.withHandle {
                database.cursorOpened(); return leveldb_create_iterator($0, readOptions)
            }
        } catch {
            leveldb_readoptions_destroy(readOptions)
            throw error
        }
        self.readOptions = readOptions
        self.database = database
        self.snapshot = snapshot
    }

    deinit {
        leveldb_iter_destroy(handle)
        leveldb_readoptions_destroy(readOptions)
        database.cursorClosed()
    }

    /// Whether the iterator is on an entry.
    public var isValid: Bool { leveldb_iter_valid(handle) != 0 }

    public func seekToFirst() { leveldb_iter_seek_to_first(handle) }
    public func seekToLast() { leveldb_iter_seek_to_last(handle) }

    /// Moves to the next entry; does nothing when not on one.
    public func next() {
        if isValid { leveldb_iter_next(handle) }
    }

    /// Moves to the previous entry; does nothing when not on one.
    public func previous() {
        if isValid { leveldb_iter_prev(handle) }
    }

    /// Moves to the first key at or after `key`.
    public func seek(to key: [UInt8]) {
        key.withUnsafeBytes { k in
            leveldb_iter_seek(handle, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count)
        }
    }

    /// Lends the current key's bytes to `body` without copying; valid only inside `body`.
    /// - throws: ``LevelDBError/Kind/invalidArgument`` when the iterator is not on an entry, what `body` throws, or
    ///   ``LevelDBError/Kind/corruption`` when the bytes lent may not be the file's (``Database/checkIntact()``).
    public func withKey<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try lend(leveldb_iter_key, to: body)
    }

    /// Lends the current value's bytes to `body` without copying; valid only inside `body`.
    /// - throws: ``LevelDBError/Kind/invalidArgument`` when the iterator is not on an entry, what `body` throws, or
    ///   ``LevelDBError/Kind/corruption`` when the bytes lent may not be the file's (``Database/checkIntact()``).
    public func withValue<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try lend(leveldb_iter_value, to: body)
    }

    /// Lends the bytes `field` gives for the current entry (its key or its value) to `body`, then checks that they
    /// were the file's.
    private func lend<R>(
        _ field: (OpaquePointer?, UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>?,
        to body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        try checkValid()
        var length = 0
        let pointer = field(handle, &length)
        let result = try body(UnsafeRawBufferPointer(start: pointer, count: length))
        try database.checkIntact()
        return result
    }

    /// A copy of the current key.
    public func key() throws -> [UInt8] { try withKey { Array($0) } }
    /// A copy of the current value.
    public func value() throws -> [UInt8] { try withValue { Array($0) } }

    /// Throws the error the iteration stopped on, if any (for example a checksum mismatch, or a table file that could
    /// not be read).
    public func checkError() throws {
        try LevelDBError.check { leveldb_iter_get_error(handle, $0) }
        try database.checkIntact()
    }

    private func checkValid() throws {
        guard isValid else {
            try checkError()
            throw LevelDBError(kind: .invalidArgument, message: "the iterator over \(database.path) is not on an entry")
        }
    }
}
