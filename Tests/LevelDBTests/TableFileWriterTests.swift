import Foundation
import LevelDB
import TestSupport
import Testing

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A database with a few keys of its own, closed.
private func makeDatabase(_ path: String) throws {
    var options = Options()
    options.createIfMissing = true
    let database = try Database(path: path, options: options)
    try database.put([0, 1] + bytes("meta"), bytes("kept"))
    try database.put(bytes("key00042"), bytes("newer than the table's"))
    try database.compactRange()
    try database.close()
}

/// Table options; a table ends when its written blocks reach `maxFileSize`, so 1-byte blocks and tables make a table
/// of every key.
private func tableOptions(maxFileSize: Int, blockSize: Int = 4 << 10) -> Options {
    var options = Options()
    options.maxFileSize = maxFileSize
    options.blockSize = blockSize
    options.bloomBitsPerKey = 10
    return options
}

/// Every key, in the database's order, read with checksums verified.
private func allKeys(_ database: Database) throws -> [[UInt8]] {
    let iterator = try database.makeIterator(verifyChecksums: true)
    iterator.seekToFirst()
    var keys: [[UInt8]] = []
    while iterator.isValid {
        keys.append(try iterator.key())
        iterator.next()
    }
    try iterator.checkError()
    return keys
}

private func add(_ tables: TableFileWriter, _ key: [UInt8], _ value: [UInt8]) throws {
    try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try tables.add(key: k, value: v) } }
}

private func value(_ index: Int) -> [UInt8] { (0..<(100 + index % 200)).map { UInt8(truncatingIfNeeded: $0 ^ index) } }

@Suite struct TableFileWriterTests {
    /// Tables written beside a closed database join it at the last level: every key reads back (through the bloom
    /// filters, and in order), the database's own keys are untouched and shadow the tables', and LevelDB compacts
    /// over them after more writes.
    @Test func registeredTablesReadBackAndSurviveCompaction() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/db"
        try makeDatabase(path)
        let keys = (0..<5_000).map { bytes(String(format: "key%05d", $0)) }
        let tables = TableFileWriter(
            path: path, firstFileNumber: 1_000_000, options: tableOptions(maxFileSize: 64 << 10))
        for (index, key) in keys.enumerated() { try add(tables, key, value(index)) }
        let count = try tables.finish()
        #expect(count > 3)
        let staged = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".staged") }
        #expect(staged.count == count)
        try tables.register(level: 6)
        let files = try FileManager.default.contentsOfDirectory(atPath: path)
        #expect(!files.contains { $0.hasSuffix(".staged") })
        #expect(files.filter { $0.hasPrefix("1") && $0.hasSuffix(".ldb") }.count == count)

        var options = Options()
        options.paranoidChecks = true
        options.bloomBitsPerKey = 10
        do {
            let database = try Database(path: path, options: options)
            #expect(database.fileCount(atLevel: 6) == count)
            for (index, key) in keys.enumerated() where index != 42 {
                #expect(try database.get(key) == value(index))
            }
            #expect(try database.get(bytes("key00042")) == bytes("newer than the table's"))
            #expect(try database.get([0, 1] + bytes("meta")) == bytes("kept"))
            #expect(try database.get(bytes("key05000")) == nil)
            #expect(try database.get(bytes("key0")) == nil)
            #expect(try allKeys(database) == [[0, 1] + bytes("meta")] + keys)
            // More writes, and a compaction of everything into the last level.
            try database.put(bytes("key02500"), bytes("rewritten"))
            try database.delete(bytes("key00007"))
            try database.compactRange()
            try database.close()
        }
        let reopened = try Database(path: path, options: options)
        #expect(try reopened.get(bytes("key02500")) == bytes("rewritten"))
        #expect(try reopened.get(bytes("key00007")) == nil)
        #expect(try reopened.get(bytes("key04999")) == value(4999))
        #expect(try reopened.get(bytes("key00042")) == bytes("newer than the table's"))
    }

    /// A version edit longer than the MANIFEST's 32 KB blocks is written in fragments, as LevelDB's log writer
    /// writes one: 2,000 one-key tables with 60-byte keys.
    @Test func anEditLongerThanALogBlockIsRead() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/db"
        try makeDatabase(path)
        let tables = TableFileWriter(
            path: path, firstFileNumber: 1_000_000, options: tableOptions(maxFileSize: 1, blockSize: 1))
        let keys = (0..<2_000).map { bytes(String(format: "word%05d", $0) + String(repeating: "x", count: 51)) }
        for key in keys { try add(tables, key, [7]) }
        #expect(try tables.finish() == 2_000)
        try tables.register(level: 6)
        var options = Options()
        options.paranoidChecks = true
        let database = try Database(path: path, options: options)
        #expect(database.fileCount(atLevel: 6) == 2_000)
        #expect(try database.get(keys[1_234]) == [7])
        #expect(try database.get(keys[1_999]) == [7])
    }

    @Test func keysMustAscend() throws {
        let directory = TemporaryDirectory()
        let tables = TableFileWriter(
            path: directory.path, firstFileNumber: 1, options: tableOptions(maxFileSize: 1, blockSize: 1))
        try add(tables, bytes("b"), [1])
        for key in ["b", "a"] {
            let error = #expect(throws: LevelDBError.self) { try add(tables, bytes(key), [2]) }
            #expect(error?.kind == .invalidArgument)
        }
        try add(tables, bytes("c"), [3])
        #expect(try tables.finish() == 2)
    }

    /// Tables numbered among the database's own files are refused before anything changes.
    @Test func tablesNumberedAmongTheDatabasesFilesAreRefused() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/db"
        try makeDatabase(path)
        let before = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        let tables = TableFileWriter(path: path, firstFileNumber: 2, options: tableOptions(maxFileSize: 1 << 20))
        try add(tables, bytes("word"), [1])
        _ = try tables.finish()
        let error = #expect(throws: LevelDBError.self) { try tables.register(level: 6) }
        #expect(error?.kind == .corruption)
        let after = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        #expect(after == (before + ["000002.staged"]).sorted())
        let database = try Database(path: path)
        #expect(try database.get(bytes("word")) == nil)
        #expect(try database.get(bytes("key00042")) == bytes("newer than the table's"))
    }
}
