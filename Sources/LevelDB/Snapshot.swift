import CLevelDB

/// A consistent, read-only view of a database at one moment.
///
/// The snapshot keeps its database open and is released when the last reference goes away.
public final class Snapshot: @unchecked Sendable {
    let handle: OpaquePointer
    let database: Database

    init(database: Database) {
        self.database = database
        handle = leveldb_create_snapshot(database.handle)
    }

    deinit {
        leveldb_release_snapshot(database.handle, handle)
    }
}
