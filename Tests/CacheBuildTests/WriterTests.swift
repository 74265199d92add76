import Foundation
import LevelDB
import Support
import TestSupport
import Testing
import VectorCache
import Word2Vec

@testable import CacheBuild

@Suite struct CacheWriterTests {
    func cache(_ directory: TemporaryDirectory) throws -> String {
        try build(
            try writeVectors(shuffledVectors(count: 50, dimension: 4), to: directory.file("v.bin")),
            into: directory.file("cache"))
        return directory.file("cache")
    }

    func entries(_ pairs: [(String, String)]) -> MetadataEntries {
        var entries = MetadataEntries()
        for (key, value) in pairs { entries.put(Array(key.utf8), Array(value.utf8)) }
        return entries
    }

    /// A writer of the cache at `path` whose `isCancelled` counts its polls and says stop from the `stopAt`th on.
    func stoppableWriter(_ path: String) throws -> (CacheWriter, polls: Locked<Int>, stopAt: Locked<Int>) {
        let polls = Locked(0)
        let stopAt = Locked(Int.max)
        let writer = try CacheWriter(
            path: path, purpose: "a test",
            isCancelled: {
                polls.withLock { $0 += 1 }
                return polls.withLock { $0 } >= stopAt.withLock { $0 }
            })
        return (writer, polls, stopAt)
    }

    @Test func aChangeReplacesItsKeysAddsOOVWordsAndLeavesNothingBehind() throws {
        let directory = TemporaryDirectory()
        let path = try cache(directory)
        var writer: CacheWriter! = try CacheWriter(path: path, purpose: "a test")
        let generator = OOVVectors(dimension: 4, seed: 1, range: 0.25)
        try writer.replace(in: .dataset, under: Array("a".utf8), with: entries([("a1", "one"), ("a2", "two")]))
        let added = try writer.replace(
            in: .dataset, under: Array("a".utf8), with: entries([("a3", "three")]),
            oovWords: [Array("zebra".utf8), Array("word1".utf8)],
            generator: OOVSource(random: generator))
        #expect(added == [Array("zebra".utf8)])
        let metadata = writer.cache.metadata(.dataset)
        #expect(try metadata.keys() == [Array("a3".utf8)])
        #expect(try metadata.value(Array("a3".utf8)) == Array("three".utf8))
        #expect(try writer.cache.isOutOfVocabulary(Array("zebra".utf8)) && writer.cache.manifest.oovCount == 1)
        #expect(try writer.cache.verify().isHealthy)
        try writer.close()
        writer = nil
        // Nothing beside the cache (the lock goes with the writer), and no log left to replay: each change went into
        // tables of its own.
        #expect(directory.contents == ["cache", "v.bin"])
        let logs = snapshot(path).filter { $0.key.hasSuffix(".log") }
        #expect(logs.values.allSatisfy { $0.isEmpty })
        let reopened = try VectorCache(path: path)
        #expect(try reopened.metadata(.dataset).keys() == [Array("a3".utf8)])
    }

    @Test func aChangeThatFailsLeavesTheCacheByteForByte() throws {
        let directory = TemporaryDirectory()
        let path = try cache(directory)
        let writer = try CacheWriter(path: path, purpose: "a test")
        try writer.replace(in: .dataset, under: [], with: entries([("kept", "yes")]))
        let before = snapshot(path)
        // The change's copy cannot be made: something that is not ours holds the name it needs.
        let blocker = directory.path + "/.cache.building-\(getpid())"
        try Data("not a cache".utf8).write(to: URL(fileURLWithPath: blocker))
        #expect(throws: CacheError.self) {
            try writer.replace(
                in: .dataset, under: [], with: entries([("lost", "no")]), oovWords: [Array("zebra".utf8)],
                generator: OOVSource(random: OOVVectors(dimension: 4, seed: 1, range: 0.25)))
        }
        #expect(snapshot(path) == before)
        #expect(try writer.cache.metadata(.dataset).keys() == [Array("kept".utf8)])
        #expect(
            try String(contentsOfFile: blocker, encoding: .utf8) == "not a cache",
            "a file w2vcache did not make is left alone")
    }

    /// Stopped at either of a change's polls (before it begins, and after its copy is written, before the swap),
    /// a change leaves the cache byte for byte and nothing beside it, and the writer goes on writing.
    @Test(arguments: [1, 2])
    func aChangeCancelledAtItsPollLeavesTheCacheAndNothingBeside(stoppingAtPoll: Int) throws {
        let directory = TemporaryDirectory()
        let path = try cache(directory)
        let (writer, polls, stopAt) = try stoppableWriter(path)
        try writer.replace(in: .dataset, under: [], with: entries([("kept", "yes")]))
        let before = snapshot(path)
        let beside = directory.contents
        polls.withLock { $0 = 0 }
        stopAt.withLock { $0 = stoppingAtPoll }
        let error = #expect(throws: CacheError.self) {
            try writer.replace(
                in: .dataset, under: [], with: entries([("lost", "no")]), oovWords: [Array("zebra".utf8)],
                generator: OOVSource(random: OOVVectors(dimension: 4, seed: 1, range: 0.25)))
        }
        #expect(error?.kind == .interrupted && error?.message == "interrupted; the cache \(path) is unchanged")
        #expect(polls.withLock { $0 } == stoppingAtPoll)
        #expect(snapshot(path) == before)
        #expect(directory.contents == beside, "the change's copy is removed")
        #expect(try writer.cache.metadata(.dataset).keys() == [Array("kept".utf8)])
        stopAt.withLock { $0 = Int.max }
        try writer.replace(in: .dataset, under: [], with: entries([("later", "yes")]))
        #expect(try writer.cache.metadata(.dataset).keys() == [Array("later".utf8)])
    }

    /// A change larger than a piece is written a piece at a time, with a poll and a report of the bytes written after
    /// each: stopped at any of them the cache is as it was; not stopped, every entry is there, in one new table.
    @Test func aLargeChangeIsWrittenInPiecesAndStopsBetweenThem() throws {
        let directory = TemporaryDirectory()
        let path = try cache(directory)
        let (writer, polls, stopAt) = try stoppableWriter(path)
        var large = MetadataEntries()
        let valueBytes = 1 << 20
        let count = 2 * CacheWriter.pieceBytes / valueBytes + 4  // two whole pieces and part of a third
        for index in 0..<count {
            large.put(Array("big\(index)".utf8), (0..<valueBytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) })
        }
        // The tables of LevelDB's current version: a listing of the directory also counts, for a moment, a
        // background compaction's new table beside the ones it replaces (5 for 4, seen under CI's load).
        func tables() -> Int { writer.cache.tableFilesPerLevel.reduce(0, +) }
        let before = snapshot(path)
        let beside = directory.contents
        let tablesBefore = tables()
        // Before the change, after each of the two whole pieces, before the swap.
        for poll in 1...4 {
            polls.withLock { $0 = 0 }
            stopAt.withLock { $0 = poll }
            let error = #expect(throws: CacheError.self, "stopped at poll \(poll)") {
                try writer.replace(in: .dataset, under: [], with: large)
            }
            #expect(error?.kind == .interrupted, "stopped at poll \(poll)")
            #expect(snapshot(path) == before, "stopped at poll \(poll)")
            #expect(directory.contents == beside, "stopped at poll \(poll)")
        }
        polls.withLock { $0 = 0 }
        stopAt.withLock { $0 = Int.max }
        var reports: [(written: Int, total: Int)] = []
        try writer.replace(in: .dataset, under: [], with: large) { reports.append(($0, $1)) }
        #expect(polls.withLock { $0 } == 4)
        // As the change begins, after each whole piece, and once it is whole.
        let written = reports.map(\.written)
        #expect(written.count == 4 && written == written.sorted() && reports.allSatisfy { $0.total == large.byteCount })
        #expect(written.first == 0 && written.last == large.byteCount)
        #expect(written[1] >= CacheWriter.pieceBytes && written[2] >= 2 * CacheWriter.pieceBytes)
        let metadata = writer.cache.metadata(.dataset)
        #expect(try metadata.keys().count == count)
        for index in [0, count / 2, count - 1] {
            #expect(
                try metadata.value(Array("big\(index)".utf8))
                    == (0..<valueBytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) })
        }
        // One write buffer for the whole change: one table at most (16 MB buffers made 5 tables of 3).
        #expect(tables() <= tablesBefore + 1, "the change is one table at most")
        #expect(try writer.cache.verify().isHealthy)
    }

    @Test func aReaderKeepsAWriterOutAndAWriterKeepsReadersOut() throws {
        let directory = TemporaryDirectory()
        let path = try cache(directory)
        let reader = try VectorCache(path: path)
        #expect { try CacheWriter(path: path, purpose: "a test") } throws: { ($0 as? CacheError)?.kind == .inUse }
        try reader.close()
        let writer = try CacheWriter(path: path, purpose: "a test")
        #expect { try VectorCache(path: path) } throws: {
            ($0 as? CacheError)?.kind == .inUse && ($0 as? CacheError)?.message.contains("being written") == true
        }
        withExtendedLifetime(writer) {}
    }
}

@Suite struct CopyOntoItselfTests {
    func source(_ directory: TemporaryDirectory) throws -> String {
        try build(
            try writeVectors(shuffledVectors(count: 20, dimension: 4), to: directory.file("v.bin")),
            into: directory.file("src"))
        return directory.file("src")
    }

    func identity(_ cache: VectorCache) -> String { cache.manifest.contentIdentity }

    @Test func theSourceThroughALinkToItsDirectoryIsRefusedAtOnce() throws {
        let directory = TemporaryDirectory()
        let source = try source(directory)
        try FileManager.default.createSymbolicLink(atPath: directory.file("link"), withDestinationPath: directory.path)
        let started = Date()
        let error = #expect(throws: CacheError.self) {
            try CacheCopier.copy(from: source, to: directory.file("link") + "/src", wait: true, fingerprint: identity)
        }
        #expect(error?.kind == .refused && error?.message.contains("the source cache itself") == true)
        #expect(Date().timeIntervalSince(started) < 5, "it must not wait on its own lock")
        #expect(throws: CacheError.self) { try CacheCopier.copy(from: source, to: source + "/", fingerprint: identity) }
    }

    @Test func aDestinationInsideTheSourceIsRefusedAndTheSourceStaysBuildable() throws {
        let directory = TemporaryDirectory()
        let source = try source(directory)
        let before = snapshot(source)
        let error = #expect(throws: CacheError.self) {
            try CacheCopier.copy(from: source, to: source + "/sub", fingerprint: identity)
        }
        #expect(error?.kind == .refused && error?.message.contains("inside the source") == true)
        #expect(snapshot(source) == before)
        try build(directory.file("v.bin"), into: source)
    }
}

@Suite struct SpillTests {
    @Test func closingWaitsForASpillStillBeingWritten() throws {
        let directory = TemporaryDirectory()
        let vectorBytes = 1200
        // Two 32 MB buffers: sorting and writing one takes long enough to be caught in flight.
        let runs = SortedRuns(vectorBytes: vectorBytes, memoryBudget: 64 << 20, spillPath: directory.file("spill"))
        let vector = [UInt8](repeating: 7, count: vectorBytes)
        var random = SplitMix64(seed: 5)
        var sequence: UInt32 = 0
        try vector.withUnsafeBytes { vector in
            // Until the first buffer spills, and a little beyond.
            while !runs.isSpilling {
                let key = Array("w\(random.next())".utf8)
                try key.withUnsafeBytes { try runs.append(key: $0, sequence: sequence, vector: vector) }
                sequence += 1
            }
        }
        #expect(runs.isSpilling)
        runs.close()
        #expect(!runs.isSpilling, "close() returned while the spill was still being written")
        #expect(!FileManager.default.fileExists(atPath: directory.file("spill")))
    }

    /// The merge gives each run's disk space back as it reads the run, and every record still comes out whole and
    /// in order.
    @Test func aMergedRunGivesItsDiskSpaceBack() throws {
        let directory = TemporaryDirectory()
        let vectorBytes = 1200
        // Runs of 4 MB, read through 1 MB buffers; 36 MB in all.
        let runs = SortedRuns(vectorBytes: vectorBytes, memoryBudget: 8 << 20, spillPath: directory.file("spill"))
        defer { runs.close() }
        var random = SplitMix64(seed: 9)
        let count = 30_000
        for sequence in 0..<UInt32(count) {
            let key = Array("w\(random.next())".utf8)
            let vector = [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: vectorBytes)
            try key.withUnsafeBytes { key in
                try vector.withUnsafeBytes { try runs.append(key: key, sequence: sequence, vector: $0) }
            }
        }
        #expect(runs.spilledRunCount >= 6)
        func allocated() throws -> Int {
            var information = stat()
            try #require(stat(directory.file("spill"), &information) == 0)
            return Int(information.st_blocks) * 512
        }
        let before = try allocated()
        var keys: [[UInt8]] = []
        var whole = true
        try runs.withMerger { merger in
            while let record = try merger.next() {
                keys.append(Array(record.key))
                whole = whole && record.vector.allSatisfy { $0 == UInt8(truncatingIfNeeded: record.sequence) }
            }
        }
        let after = try allocated()
        #expect(keys.count == count && whole)
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0.lexicographicallyPrecedes($1) })
        #expect(before > 24 << 20, "the runs were not on disk before the merge: \(before) bytes")
        #expect(after < 1 << 20, "\(after) of \(before) bytes still held after the merge")
    }

    @Test func aBuildThatFailsMidSpillLeavesNothingAndThePreviousCache() throws {
        let directory = TemporaryDirectory()
        try build(
            try writeVectors(shuffledVectors(count: 10, dimension: 64), to: directory.file("old.bin")),
            into: directory.file("cache"))
        let before = try wordEntries(directory.file("cache"))
        // 6,000 good records (several 256 KB runs spill), then one whose vector the file cuts short.
        var bytes = Array("6001 64\n".utf8)
        for (word, vector) in shuffledVectors(count: 6000, dimension: 64) {
            bytes += Array(word.utf8) + [0x20]
            Float32Bytes.append(vector, to: &bytes)
        }
        bytes += Array("last ".utf8) + [0, 0, 128, 63]
        try Data(bytes).write(to: URL(fileURLWithPath: directory.file("bad.bin")))
        let error = #expect(throws: Word2VecError.self) {
            try build(directory.file("bad.bin"), into: directory.file("cache")) { $0.settings.sortMemory = 512 << 10 }
        }
        #expect(error?.kind == .shortVector && error?.description.contains("\"last\"") == true)
        let after = try wordEntries(directory.file("cache"))
        #expect(after.map(\.0) == before.map(\.0) && after.map(\.1) == before.map(\.1))
        #expect(directory.contents == ["bad.bin", "cache", "old.bin"])
    }
}
