import CLevelDB

/// A group of puts and deletes that ``Database/write(_:sync:)`` applies atomically.
///
/// Not `Sendable`: fill a batch on one thread, then hand it to the database.
public final class WriteBatch {
    let handle: OpaquePointer

    public init() {
        handle = leveldb_writebatch_create()
    }

    deinit {
        leveldb_writebatch_destroy(handle)
    }

    /// Adds a put; the bytes are copied into the batch.
    public func put(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        leveldb_writebatch_put(
            handle, key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
            value.baseAddress?.assumingMemoryBound(to: CChar.self), value.count)
    }

    /// Adds a put of two byte arrays.
    public func put(key: [UInt8], value: [UInt8]) {
        key.withUnsafeBytes { k in value.withUnsafeBytes { v in put(key: k, value: v) } }
    }

    /// Adds a delete.
    public func delete(key: [UInt8]) {
        key.withUnsafeBytes { k in
            leveldb_writebatch_delete(handle, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count)
        }
    }

    /// Adds every operation of `other`, after this batch's own.
    public func append(_ other: WriteBatch) {
        leveldb_writebatch_append(handle, other.handle)
    }

    /// Removes every operation from the batch so that it can be filled again.
    public func clear() {
        leveldb_writebatch_clear(handle)
    }
}
