import Foundation
import LevelDB
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Every file of a directory with its bytes: what must not change while a database is read.
private func contents(of path: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: path) {
        files[name] = try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
    }
    return files
}

private func readOnly(_ path: String, exclusive: Bool = false) throws -> Database {
    var options = Options()
    options.access = exclusive ? .readOnlyExclusive : .readOnly
    return try Database(path: path, options: options)
}

@Suite struct ReadOnlyTests {
    /// A database whose last writes are only in its log (LevelDB does not flush the memtable on close), as a prepare
    /// that ended leaves one.
    private func databaseWithALog(_ directory: TemporaryDirectory) throws -> String {
        var options = Options()
        options.createIfMissing = true
        let database = try Database(path: directory.file("db"), options: options)
        try database.put(bytes("flushed"), [1], sync: true)
        try database.compactRange()
        try database.put(bytes("only-in-the-log"), [2, 2], sync: true)
        try database.close()
        return directory.file("db")
    }

    @Test func readingChangesNoFileAndSeesTheLog() throws {
        let directory = TemporaryDirectory()
        let path = try databaseWithALog(directory)
        let before = try contents(of: path)
        #expect(before.keys.contains { $0.hasSuffix(".log") && before[$0]!.count > 0 })
        let database = try readOnly(path)
        #expect(try database.get(bytes("flushed")) == [1])
        #expect(try database.get(bytes("only-in-the-log")) == [2, 2])
        #expect(try allKeys(database) == [bytes("flushed"), bytes("only-in-the-log")])
        // The replayed log is held in memory, not written out.
        #expect(database.memoryBytes > 0)
        try database.close()
        #expect(try contents(of: path) == before, "a read-only open changed the directory")
    }

    @Test func writesAreRefused() throws {
        let directory = TemporaryDirectory()
        let database = try readOnly(try databaseWithALog(directory))
        let error = #expect(throws: LevelDBError.self) { try database.put(bytes("x"), [1]) }
        #expect(error?.kind == .notSupported)
        #expect(throws: LevelDBError.self) { try database.compactRange() }
        #expect(try database.get(bytes("x")) == nil)
    }

    @Test func readersShareAndAnExclusiveOpenWaitsForThemAll() throws {
        let directory = TemporaryDirectory()
        let path = try databaseWithALog(directory)
        #expect(try Database.isInUse(path: path) == false)
        let first = try readOnly(path)
        let second = try readOnly(path)
        #expect(try first.get(bytes("flushed")) == [1] && second.get(bytes("flushed")) == [1])
        #expect(try Database.isInUse(path: path))
        let refused = #expect(throws: LevelDBError.self) { try readOnly(path, exclusive: true) }
        #expect(refused?.kind == .inUse)
        try first.close()
        #expect(throws: LevelDBError.self) { try readOnly(path, exclusive: true) }
        try second.close()
        #expect(try Database.isInUse(path: path) == false)
        let alone = try readOnly(path, exclusive: true)
        #expect(throws: LevelDBError.self) { try readOnly(path) }
        try alone.close()
    }

    @Test func aWriterInAnotherProcessKeepsReadersOut() throws {
        let directory = TemporaryDirectory()
        let path = try databaseWithALog(directory)
        // Another process takes the lock the way LevelDB's writers do (fcntl F_SETLK, F_WRLCK on LOCK) and holds it.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            """
            import fcntl, os, sys, time
            fd = os.open(sys.argv[1], os.O_RDWR)
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            print("locked", flush=True)
            time.sleep(30)
            """, path + "/LOCK",
        ]
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        // SIGKILL: Foundation starts children with SIGTERM blocked.
        defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
        #expect(String(decoding: output.fileHandleForReading.availableData, as: UTF8.self).contains("locked"))
        #expect(try Database.isInUse(path: path))
        let error = #expect(throws: LevelDBError.self) { try readOnly(path) }
        #expect(error?.kind == .inUse)
    }

    @Test func aCopyWithoutALockFileGetsOneSoThatWritersSeeItsReaders() throws {
        let directory = TemporaryDirectory()
        let path = try databaseWithALog(directory)
        try FileManager.default.removeItem(atPath: path + "/LOCK")
        let database = try readOnly(path)
        #expect(try database.get(bytes("only-in-the-log")) == [2, 2])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path + "/LOCK")).isEmpty)
        #expect(try Database.isInUse(path: path))
        try database.close()
    }
}
