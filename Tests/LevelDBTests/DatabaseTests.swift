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

    /// Without a write-ahead log, what a flush put in a table is there after a reopen, what came after it is not,
    /// and the log files exist but stay empty.
    @Test func withoutALogOnlyFlushedWritesSurvive() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/db"
        do {
            var options = Options()
            options.createIfMissing = true
            options.writeAheadLog = false
            let database = try Database(path: path, options: options)
            for index in 0..<1_000 { try database.put(bytes("flushed\(index)"), [UInt8](repeating: 7, count: 1_000)) }
            try database.compactRange()
            try database.put(bytes("unflushed"), [1], sync: true)
            try database.close()
        }
        let logs = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".log") }
        #expect(!logs.isEmpty)
        for log in logs {
            #expect((try FileManager.default.attributesOfItem(atPath: path + "/" + log)[.size] as? NSNumber) == 0)
        }
        let reopened = try Database(path: path)
        #expect(try reopened.get(bytes("flushed999")) == [UInt8](repeating: 7, count: 1_000))
        #expect(try reopened.get(bytes("flushed0")) == [UInt8](repeating: 7, count: 1_000))
        #expect(try reopened.get(bytes("unflushed")) == nil)
    }

    /// A database without a log writes its tables in 1 MB pieces (the environment keeps what LevelDB flushes after
    /// each block): tables of many blocks, and a block larger than a piece, read back whole with their checksums.
    @Test func tablesWrittenInPiecesReadBackWhole() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/db"
        func value(_ index: Int, _ count: Int) -> [UInt8] {
            (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
        }
        let sizes = (0..<3_000).map { $0 % 1_000 == 7 ? 1_500_000 : 1_000 + $0 % 300 }
        do {
            var options = Options()
            options.createIfMissing = true
            options.writeAheadLog = false
            options.writeBufferSize = 1 << 20
            options.maxFileSize = 2 << 20
            let database = try Database(path: path, options: options)
            for (index, size) in sizes.enumerated() { try database.put(bytes("key\(index)"), value(index, size)) }
            try database.compactRange()
            try database.close()
        }
        let tables = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".ldb") }
        #expect(tables.count > 2)
        var options = Options()
        options.paranoidChecks = true
        let reopened = try Database(path: path, options: options)
        let iterator = try reopened.makeIterator()
        iterator.seekToFirst()
        var seen = 0
        while iterator.isValid {
            let key = String(decoding: try iterator.key(), as: UTF8.self)
            let index = try #require(Int(key.dropFirst(3)))
            #expect(try iterator.value() == value(index, sizes[index]), "\(key)")
            seen += 1
            iterator.next()
        }
        try iterator.checkError()
        #expect(seen == sizes.count)
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
        for key in ["pear", "apple", "\u{0}meta", "Zebra", "banana"] {
            try database.put(bytes(key), bytes(key.uppercased()))
        }
        let iterator = try database.makeIterator()
        var keys: [String] = []
        iterator.seekToFirst()
        while iterator.isValid {
            keys.append(String(decoding: try iterator.key(), as: UTF8.self))
            iterator.next()
        }
        try iterator.checkError()
        #expect(keys == ["\u{0}meta", "Zebra", "apple", "banana", "pear"])
        iterator.seek(to: bytes("b"))
        #expect(iterator.isValid)
        #expect(try iterator.key() == bytes("banana") && iterator.value() == bytes("BANANA"))
        iterator.seekToLast()
        #expect(try iterator.key() == bytes("pear"))
        iterator.previous()
        #expect(try iterator.key() == bytes("banana"))
    }

    @Test func anIteratorOffTheEndHandsOutNothing() throws {
        let directory = TemporaryDirectory()
        let database = try openNew(directory)
        try database.put(bytes("only"), [1])
        let iterator = try database.makeIterator()
        iterator.seek(to: bytes("z"))
        #expect(!iterator.isValid)
        #expect(throws: LevelDBError.self) { try iterator.key() }
        #expect(throws: LevelDBError.self) { try iterator.withValue { $0.count } }
        iterator.next()  // a no-op off the end, not a crash
        #expect(!iterator.isValid)
    }

    @Test func snapshotDoesNotSeeLaterWrites() throws {
        let directory = TemporaryDirectory()
        let database = try openNew(directory)
        try database.put(bytes("a"), [1])
        let snapshot = try database.makeSnapshot()
        try database.put(bytes("a"), [2])
        try database.put(bytes("b"), [3])
        let iterator = try database.makeIterator(snapshot: snapshot)
        iterator.seekToFirst()
        #expect(try iterator.key() == bytes("a") && iterator.value() == [1])
        iterator.next()
        #expect(!iterator.isValid)
        #expect(try database.get(bytes("a")) == [2])
    }

    @Test func iteratorKeepsTheDatabaseOpen() throws {
        let directory = TemporaryDirectory()
        var database: Database? = try openNew(directory)
        try database!.put(bytes("k"), [7])
        let iterator = try database!.makeIterator()
        database = nil  // the iterator still holds it: closing now would crash LevelDB
        iterator.seekToFirst()
        #expect(try iterator.value() == [7])
    }

    @Test func closeReleasesTheLockAtOnceAndIsIdempotent() throws {
        let directory = TemporaryDirectory()
        let database = try openNew(directory)
        try database.put(bytes("k"), [7], sync: true)
        let holder = database  // another reference: releasing one would not close it
        try database.close()
        try database.close()
        #expect(holder.isClosed)
        // The LOCK is free now, although `database` and `holder` still exist.
        let reopened = try Database(path: directory.path + "/db")
        #expect(try reopened.get(bytes("k")) == [7])
        #expect { try holder.get(bytes("k")) } throws: { ($0 as? LevelDBError)?.kind == .closed }
        #expect { try holder.makeIterator() } throws: { ($0 as? LevelDBError)?.kind == .closed }
    }

    @Test func closeRefusesWhileIteratorsOrSnapshotsAreOpen() throws {
        let directory = TemporaryDirectory()
        let database = try openNew(directory)
        do {
            let iterator = try database.makeIterator()
            #expect(throws: LevelDBError.self) { try database.close() }
            iterator.seekToFirst()
            let snapshot = try database.makeSnapshot()
            _ = snapshot
        }
        try database.close()
        #expect(database.isClosed)
    }

    @Test func aFlippedByteInATableIsAnErrorNotAWrongValue() throws {
        let directory = TemporaryDirectory()
        var options = Options()
        options.createIfMissing = true
        options.compression = false
        let value = [UInt8](repeating: 0x41, count: 1000)
        do {
            let database = try Database(path: directory.path + "/db", options: options)
            for index in 0..<50 { try database.put(bytes(String(format: "key%03d", index)), value) }
            try database.compactRange()
            try database.close()
        }
        let table = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.path + "/db").first { $0.hasSuffix(".ldb") })
        let url = URL(fileURLWithPath: directory.path + "/db/" + table)
        var data = try Data(contentsOf: url)
        // Flip one byte inside the value of some key (a run of 'A's far from block boundaries).
        let run = try #require(data.firstRange(of: Data(repeating: 0x41, count: 1000)))
        data[run.lowerBound + 500] ^= 0x01
        try data.write(to: url)

        var unchecked = Options()
        unchecked.verifyChecksums = false
        let blind = try Database(path: directory.path + "/db", options: unchecked)
        let values = try (0..<50).map { try blind.get(bytes(String(format: "key%03d", $0))) }
        #expect(values.contains { $0 != nil && $0 != value }, "without checksums the damage reads as a wrong value")
        try blind.close()

        // Each access opens the database with its own environment, each of which checks blocks.
        var readOnly = Options()
        readOnly.access = .readOnly
        var unlogged = Options()
        unlogged.writeAheadLog = false
        for checkedOptions in [Options(), readOnly, unlogged] {
            let checked = try Database(path: directory.path + "/db", options: checkedOptions)
            #expect(checked.verifiesChecksums)
            var corruptions = 0
            for index in 0..<50 {
                do {
                    let read = try checked.get(bytes(String(format: "key%03d", index)))
                    #expect(read == value, "a value read with checksums on is the one written")
                } catch let error as LevelDBError {
                    #expect(error.kind == .corruption)
                    #expect(error.message.contains("block checksum mismatch: \(url.path) at offset "))
                    corruptions += 1
                }
            }
            #expect(corruptions > 0)
            do {
                let iterator = try checked.makeIterator()
                iterator.seekToFirst()
                while iterator.isValid { iterator.next() }
                #expect(throws: LevelDBError.self, "a scan stops at the damaged block") { try iterator.checkError() }
            }
            try checked.close()
        }
    }

    /// LevelDB maps table files into memory on 64-bit systems, and a mapped file cut short under its reader (copied
    /// over with `cp`, rewritten in place by `rsync --inplace`) ended the process with SIGBUS at the next read past
    /// its new end: this test died with it. Databases opened to write read their tables with `pread`: the cut is a
    /// `Corruption` naming the file and its size, checksums on or off. A read-only open maps them, and the fault is a
    /// page of zeros that no read hands on: that read and every one after it throw.
    @Test func aTableCutShortUnderAnOpenDatabaseIsAnErrorNotACrash() throws {
        let directory = TemporaryDirectory()
        let value = [UInt8](repeating: 0x41, count: 1000)
        let keys = (0..<200).map { bytes(String(format: "key%03d", $0)) }
        do {
            var options = Options()
            options.createIfMissing = true
            let database = try Database(path: directory.path + "/db", options: options)
            for key in keys { try database.put(key, value) }
            try database.compactRange()
            try database.close()
        }
        let table = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.path + "/db").first { $0.hasSuffix(".ldb") })
        let path = directory.path + "/db/" + table
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var readOnly = Options()
        readOnly.access = .readOnly
        var readOnlyUnchecked = readOnly
        readOnlyUnchecked.verifyChecksums = false
        var unlogged = Options()
        unlogged.writeAheadLog = false
        var unchecked = Options()
        unchecked.verifyChecksums = false
        for options in [Options(), unlogged, unchecked, readOnly, readOnlyUnchecked] {
            try original.write(to: URL(fileURLWithPath: path))
            let database = try Database(path: directory.path + "/db", options: options)
            #expect(try database.get(keys[0]) == value, "the table is open before it is cut")
            #expect(truncate(path, 8192) == 0)
            var corruptions = 0
            for key in keys.dropFirst() {
                do {
                    #expect(try database.get(key) == value, "a value read whole is the one written")
                } catch let error as LevelDBError {
                    #expect(error.kind == .corruption)
                    if options.access == .readWrite {
                        #expect(error.message.contains("\(path): the file is 8192 bytes, short of the "))
                    } else {
                        #expect(error.message.contains("a table file of \(directory.path)/db could not be read"))
                    }
                    corruptions += 1
                }
            }
            #expect(corruptions > 0, "the keys past the cut are errors")
            if options.access == .readOnly {
                #expect(throws: LevelDBError.self, "a damaged mapping refuses every read") { try database.get(keys[0]) }
                let iterator = try database.makeIterator()
                iterator.seekToFirst()
                #expect(throws: LevelDBError.self) { try iterator.withKey { _ in } }
                #expect(throws: LevelDBError.self) { try iterator.checkError() }
            }
            try database.close()
        }
    }

    /// LevelDB takes a MANIFEST record that runs past the end of the file for one a crash cut short and drops it with
    /// every later edit: with a damaged length, the tables those edits added would read as missing and the next
    /// writer would remove them. A damaged length is an error at open; a record truly cut short opens as LevelDB
    /// recovers it.
    @Test func aDamagedLengthInTheManifestsLastRecordIsAnErrorNotLostTables() throws {
        let directory = TemporaryDirectory()
        do {
            let database = try openNew(directory)
            for index in 0..<20 { try database.put(bytes("key\(index)"), [UInt8(index)]) }
            try database.compactRange()
            try database.close()
        }
        let current = try String(contentsOfFile: directory.path + "/db/CURRENT", encoding: .utf8)
        let manifest = URL(fileURLWithPath: directory.path + "/db/" + current.trimmingCharacters(in: .newlines))
        let original = try Data(contentsOf: manifest)
        // The last record: walk the headers (7 bytes: checksum, little-endian length, type).
        var last = 0
        while case let next = last + 7 + Int(original[last + 4]) + Int(original[last + 5]) << 8, next < original.count {
            last = next
        }
        var damaged = original
        damaged[last + 5] ^= 0x10  // 4,096 bytes longer: past the end
        try damaged.write(to: manifest)
        #expect {
            try Database(path: directory.path + "/db")
        } throws: { error in
            let error = error as? LevelDBError
            return error?.kind == .corruption
                && error?.message.contains("\(manifest.lastPathComponent): the record at offset \(last)") == true
        }
        #expect(FileManager.default.fileExists(atPath: manifest.path), "nothing was rewritten")
        // Cut short inside its payload, as a crash leaves it: LevelDB's recovery, without the last edit.
        try original.prefix(original.count - 3).write(to: manifest)
        let recovered = try Database(path: directory.path + "/db")
        try recovered.close()
    }

    /// The write-ahead log has the same format and the same silent drop: a damaged length in its last record would
    /// lose the last writes.
    @Test func aDamagedLengthInTheWriteAheadLogsLastRecordIsAnErrorNotLostWrites() throws {
        let directory = TemporaryDirectory()
        do {
            let database = try openNew(directory)
            for index in 0..<3 { try database.put(bytes("key\(index)"), [UInt8(index)], sync: true) }
            try database.close()
        }
        let log = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.path + "/db").first {
                $0.hasSuffix(".log")
                    && (try? Data(contentsOf: URL(fileURLWithPath: directory.path + "/db/" + $0)))?
                        .isEmpty == false
            })
        let url = URL(fileURLWithPath: directory.path + "/db/" + log)
        var data = try Data(contentsOf: url)
        var last = 0
        while case let next = last + 7 + Int(data[last + 4]) + Int(data[last + 5]) << 8, next < data.count {
            last = next
        }
        data[last + 5] ^= 0x10
        try data.write(to: url)
        #expect {
            try Database(path: directory.path + "/db")
        } throws: { error in
            (error as? LevelDBError)?.message.contains("\(log): the record at offset \(last)") == true
        }
    }

    @Test func secondOpenIsInUse() throws {
        let directory = TemporaryDirectory()
        let first = try openNew(directory)
        #expect(throws: LevelDBError.self) { try Database(path: first.path) }
        let error = #expect(throws: LevelDBError.self) { try Database(path: first.path) }
        #expect(error?.kind == .inUse)
        #expect(error?.message.contains("LOCK") == true)
    }

    @Test func openingAMissingDatabaseKeepsLevelDBsMessage() throws {
        let directory = TemporaryDirectory()
        let error = #expect(throws: LevelDBError.self) { try Database(path: directory.path + "/nothing-here") }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("does not exist") == true)
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
        for index in 0..<2000 {
            try database.put(bytes(String(format: "key%05d", index)), [UInt8](repeating: 1, count: 1000))
        }
        try database.compactRange()
        #expect(database.fileCount(atLevel: 0) == 0)
        #expect(database.property("leveldb.stats") != nil)
        #expect(database.property("leveldb.no-such-property") == nil)
        #expect(try database.get(bytes("key01999"))?.count == 1000)
    }
}
