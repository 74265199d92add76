import CLevelDB

/// A cursor over a database's keys in byte order.
///
/// The iterator keeps its database (and snapshot, if any) alive, so it can never outlive the handle it reads.
/// Not `Sendable`: use one iterator on one thread.
public final class Iterator {
    private let handle: OpaquePointer
    private let readOptions: OpaquePointer
    private let database: Database
    private let snapshot: Snapshot?

    init(database: Database, snapshot: Snapshot?, verifyChecksums: Bool, fillCache: Bool) {
        self.database = database
        self.snapshot = snapshot
        readOptions = leveldb_readoptions_create()
        leveldb_readoptions_set_verify_checksums(readOptions, verifyChecksums ? 1 : 0)
        leveldb_readoptions_set_fill_cache(readOptions, fillCache ? 1 : 0)
        if let snapshot { leveldb_readoptions_set_snapshot(readOptions, snapshot.handle) }
        handle = leveldb_create_iterator(database.handle, readOptions)
    }

    deinit {
        leveldb_iter_destroy(handle)
        leveldb_readoptions_destroy(readOptions)
    }

    /// Whether the iterator is on an entry.
    public var isValid: Bool { leveldb_iter_valid(handle) != 0 }

    public func seekToFirst() { leveldb_iter_seek_to_first(handle) }
    public func seekToLast() { leveldb_iter_seek_to_last(handle) }
    public func next() { leveldb_iter_next(handle) }
    public func previous() { leveldb_iter_prev(handle) }

    /// Moves to the first key at or after `key`.
    public func seek(to key: [UInt8]) {
        key.withUnsafeBytes { k in
            leveldb_iter_seek(handle, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count)
        }
    }

    /// Lends the current key's bytes to `body` without copying; valid only inside `body`.
    public func withKey<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var length = 0
        let pointer = leveldb_iter_key(handle, &length)
        return try body(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    /// Lends the current value's bytes to `body` without copying; valid only inside `body`.
    public func withValue<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var length = 0
        let pointer = leveldb_iter_value(handle, &length)
        return try body(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    /// A copy of the current key.
    public var key: [UInt8] { withKey { Array($0) } }
    /// A copy of the current value.
    public var value: [UInt8] { withValue { Array($0) } }

    /// Throws the error the iteration stopped on, if any (for example a checksum mismatch).
    public func checkError() throws {
        try LevelDBError.check { leveldb_iter_get_error(handle, $0) }
    }
}
