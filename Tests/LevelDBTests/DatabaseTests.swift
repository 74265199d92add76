import Foundation
import LevelDB
import TestSupport
import Testing

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private func openNew(_ directory: TemporaryDirectory, _ name: String = "db") throws -> Database {
    var options = Options()
    options.createIfMissing = true
    return try Database(path: directory.path + "/" + name, options: options)
}

@Suite struct DatabaseTests {
    @Test func putGetDeleteRoundTrip() throws {
        let directory = TemporaryDirectory()
        let database = try openNew(directory)
        try database.put(bytes("Confidence"), [1, 2, 3, 4])
        #expect(try database.get(bytes("Confidence")) == [1, 2, 3, 4])
        try database.delete(bytes("Confidence"))
        #expect(try database.get(bytes("Confidence")) == nil)
    }

    @Test func missingKeyIsNilButEmptyValueIsEmpty() throws {
        let directory = TemporaryDirectory()
        let database = try openNew(directory)
        try database.put(bytes("empty"), [])
        #expect(try database.get(bytes("empty")) == [])
        #expect(try database.get(bytes("absent")) == nil)
        let lent = try database.withValue(forKey: bytes("empty")) { $0.map { $0.count } }
        #expect(lent == 0)
    }

    @Test func dataSurvivesCloseAndReopen() throws {
        let directory = TemporaryDirectory()
        do {
            let database = try openNew(directory)
            try database.put(bytes("king"), [9, 9], sync: true)
        }
        let reopened = try Database(path: directory.path + "/db")
        #expect(try reopened.get(bytes("king")) == [9, 9])
    }

    @Test func writeBatchAppliesEverything() throws {
        let directory = TemporaryDirectory()
        let database = try openNew(directory)
        try database.put(bytes("old"), [0])
        let batch = WriteBatch()
        batch.put(key: bytes("a"), value: [1])
        batch.put(key: bytes("b"), value: [2])
        batch.delete(key: bytes("old"))
        try database.write(batch, sync: true)
        #expect(try database.get(bytes("a")) == [1])
        #expect(try database.get(bytes("b")) == [2])
        #expect(try database.get(bytes("old")) == nil)
        batch.clear()
        try database.write(batch)
        #expect(try database.get(bytes("a")) == [1])
    }

    @Test func iteratorWalksKeysInByteOrderAndSeeks() throws {
        let directory = TemporaryDirectory()
        let database = try openNew(directory)
        for key in ["pear", "apple", "\u{0}meta", "Zebra", "banana"] { try database.put(bytes(key), bytes(key.uppercased())) }
        let iterator = database.makeIterator()
        var keys: [String] = []
        iterator.seekToFirst()
        while iterator.isValid {
            keys.append(String(decoding: iterator.key, as: UTF8.self))
            iterator.next()
        }
        try iterator.checkError()
        #expect(keys == ["\u{0}meta", "Zebra", "apple", "banana", "pear"])
        iterator.seek(to: bytes("b"))
        #expect(iterator.isValid && iterator.key == bytes("banana") && iterator.value == bytes("BANANA"))
        iterator.seekToLast()
        #expect(iterator.key == bytes("pear"))
        iterator.previous()
        #expect(iterator.key == bytes("banana"))
    }

    @Test func snapshotDoesNotSeeLaterWrites() throws {
        let directory = TemporaryDirectory()
        let database = try openNew(directory)
        try database.put(bytes("a"), [1])
        let snapshot = database.makeSnapshot()
        try database.put(bytes("a"), [2])
        try database.put(bytes("b"), [3])
        let iterator = database.makeIterator(snapshot: snapshot)
        iterator.seekToFirst()
        #expect(iterator.key == bytes("a") && iterator.value == [1])
        iterator.next()
        #expect(!iterator.isValid)
        #expect(try database.get(bytes("a")) == [2])
    }

    @Test func iteratorKeepsTheDatabaseOpen() throws {
        let directory = TemporaryDirectory()
        var database: Database? = try openNew(directory)
        try database!.put(bytes("k"), [7])
        let iterator = database!.makeIterator()
        database = nil  // the iterator still holds it: closing now would crash LevelDB
        iterator.seekToFirst()
        #expect(iterator.value == [7])
    }

    @Test func secondOpenIsInUse() throws {
        let directory = TemporaryDirectory()
        let first = try openNew(directory)
        #expect(throws: LevelDBError.self) { try Database(path: first.path) }
        do {
            _ = try Database(path: first.path)
        } catch let error as LevelDBError {
            #expect(error.kind == .inUse)
            #expect(error.message.contains("LOCK"))
        }
    }

    @Test func openingAMissingDatabaseKeepsLevelDBsMessage() throws {
        let directory = TemporaryDirectory()
        do {
            _ = try Database(path: directory.path + "/nothing-here")
            Issue.record("opening a missing database should fail")
        } catch let error as LevelDBError {
            #expect(error.kind == .invalidArgument)
            #expect(error.message.contains("does not exist"))
        }
    }

    @Test func errorKindsComeFromStatusPrefixes() {
        #expect(LevelDBError(message: "Corruption: bad block").kind == .corruption)
        #expect(LevelDBError(message: "NotFound: x").kind == .notFound)
        #expect(LevelDBError(message: "IO error: disk full").kind == .ioError)
        #expect(LevelDBError(message: "IO error: lock /d/LOCK: already held by process").kind == .inUse)
        #expect(LevelDBError(message: "Not implemented: y").kind == .notSupported)
        #expect(LevelDBError(message: "something else").kind == .unknown)
    }

    @Test func tunedOptionsOpenAndPropertiesAnswer() throws {
        let directory = TemporaryDirectory()
        var options = Options()
        options.createIfMissing = true
        options.bloomBitsPerKey = 10
        options.blockCacheSize = 1 << 20
        options.writeBufferSize = 1 << 20
        options.maxFileSize = 4 << 20
        let database = try Database(path: directory.path + "/db", options: options)
        for index in 0..<2000 { try database.put(bytes(String(format: "key%05d", index)), [UInt8](repeating: 1, count: 1000)) }
        database.compactRange()
        #expect(database.fileCount(atLevel: 0) == 0)
        #expect(database.property("leveldb.stats") != nil)
        #expect(database.property("leveldb.no-such-property") == nil)
        #expect(try database.get(bytes("key01999"))?.count == 1000)
    }

    @Test func destroyRemovesTheDatabase() throws {
        let directory = TemporaryDirectory()
        do {
            let database = try openNew(directory)
            try database.put(bytes("a"), [1])
        }
        try Database.destroy(path: directory.path + "/db")
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/db/CURRENT"))
    }
}
