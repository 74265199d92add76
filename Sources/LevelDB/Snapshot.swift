import CLevelDB

/// A consistent, read-only view of a database at one moment.
///
/// The snapshot keeps its database open (it counts as an open cursor) and is released when the last reference goes
/// away.
public final class Snapshot: @unchecked Sendable {
    // `@unchecked Sendable`: both properties are immutable; LevelDB snapshots may be read from any thread, and the
    // handle is released once, in `deinit`.
    let handle: OpaquePointer
    let database: Database

    init(database: Database) throws {
        self.database = database
        handle = try database.withHandle {
            database.cursorOpened(); return leveldb_create_snapshot($0)
        }
    }

    deinit {
        // The database cannot be closed while this snapshot counts as open, so its handle is still there.
        try? database.withHandle { leveldb_release_snapshot($0, handle) }
        database.cursorClosed()
    }
}
