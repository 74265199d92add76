import CLevelDB
import CLevelDBEnv

/// A bulk load: keys in strictly increasing order written straight into new table files of a database directory
/// (named `NNNNNN.staged` until they are registered: LevelDB would remove tables it does not know), then added to the
/// database while it is closed. The single owner of a `w2v_table_writer` handle.
///
/// Through ``Database/write(_:sync:)`` every value is copied into a write batch, checksummed for the write-ahead
/// log, inserted into the memtable and copied again when the memtable is flushed; here it is copied once, into the
/// table's block. The keys get sequence 0, older than anything the database holds: a key the database also has is
/// shadowed by it. Not `Sendable`: one thread adds.
public final class TableFileWriter {
    private let handle: OpaquePointer
    /// The database directory the tables are written into.
    public let path: String
    /// Whether the tables begun from now on are written past the page cache (`O_DIRECT`) where the file system allows
    /// it: worth it for tables nothing reads before they are synced, written while memory is taken for other work;
    /// the bytes written are the same either way.
    public var directIO: Bool {
        didSet { w2v_table_writer_set_direct_io(handle, directIO ? 1 : 0) }
    }

    /// Prepares tables in the database directory `path`, laid out as `options` lays out the database's own.
    /// - Parameters:
    ///   - firstFileNumber: the number of the first table file: above any the database has used or will use before
    ///     ``register(level:)``.
    ///   - directIO: the first tables' ``directIO``.
    public init(path: String, firstFileNumber: UInt64, options: Options, directIO: Bool = false) {
        self.path = path
        self.directIO = directIO
        handle = w2v_table_writer_create(
            path, firstFileNumber, options.blockSize, options.maxFileSize, Int32(options.bloomBitsPerKey),
            directIO ? 1 : 0)
    }

    deinit { w2v_table_writer_destroy(handle) }

    /// Adds `key` with `value`.
    /// - throws: ``LevelDBError/Kind/invalidArgument`` when `key` is not greater than the key added before it;
    ///   ``LevelDBError/Kind/ioError`` when a table cannot be written.
    public func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
        _ = try LevelDBError.check { error in
            w2v_table_writer_add(
                handle, key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
                value.baseAddress?.assumingMemoryBound(to: CChar.self), value.count, error)
        }
    }

    /// Ends the current table: the next key begins a new one.
    public func endTable() throws {
        _ = try LevelDBError.check { error in w2v_table_writer_end_table(handle, error) }
    }

    /// Finishes the last table and syncs them all. Returns how many tables were written.
    public func finish() throws -> Int {
        _ = try LevelDBError.check { error in w2v_table_writer_finish(handle, error) }
        return w2v_table_writer_table_count(handle)
    }

    /// Adds the finished tables to the database at `level` (1-6), which must be closed, and where nothing else may
    /// overlap their keys at that level: a version edit appended to its MANIFEST, synced. Then opens the database
    /// (reading only) to see them there, and returns how many tables each level holds.
    /// - throws: ``LevelDBError/Kind/corruption`` when the database does not show every table at `level` (LevelDB
    ///   passes over a MANIFEST record it cannot read), or has a file numbered among the tables.
    @discardableResult
    public func register(level: Int) throws -> [Int] {
        let tableCount = w2v_table_writer_table_count(handle)
        let before = try Self.filesPerLevel(path)
        _ = try LevelDBError.check { error in w2v_table_writer_register(handle, Int32(level), error) }
        let after = try Self.filesPerLevel(path)
        guard after[level] == before[level] + tableCount else {
            throw LevelDBError(
                kind: .corruption,
                message: "Corruption: \(path) shows \(after[level] - before[level]) of the \(tableCount) tables added")
        }
        return after
    }

    private static func filesPerLevel(_ path: String) throws -> [Int] {
        var options = Options()
        options.access = .readOnlyExclusive
        let database = try Database(path: path, options: options)
        defer { try? database.close() }
        return (0..<7).map { database.fileCount(atLevel: $0) }
    }
}
