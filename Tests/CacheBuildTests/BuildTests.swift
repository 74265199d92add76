import Foundation
import LevelDB
import SearchIndex
import Support
import TestSupport
import Testing
import Word2Vec

@testable import CacheBuild
@testable import VectorCache

@Suite struct BuildTests {
    @Test func everyVectorIsStoredAsLittleEndianFloat32UnderItsWord() throws {
        let directory = TemporaryDirectory()
        let vectors = shuffledVectors(count: 500, dimension: 12)
        let source = try writeVectors(vectors, to: directory.file("v.bin"))
        let summary = try build(source, into: directory.file("cache"))
        #expect(summary.manifest.wordCount == 500)
        #expect(summary.manifest.dimension == 12)
        let cache = try VectorCache(path: directory.file("cache"))
        for (word, vector) in vectors {
            #expect(try cache.vector(for: word) == vector)
        }
        #expect(try cache.vector(for: "absent") == nil)
        // Raw layout, as Python's np.frombuffer(db.Get(key), 'float32') reads it.
        let raw = try cache.database.get(Array(vectors[0].0.utf8))!
        #expect(raw.count == 48)
        #expect(raw.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian == vectors[0].1[0].bitPattern)
    }

    /// A cache built with bloom filters reads the same without them (a lookup of a few words skips them): every
    /// word found with its vector, and words it lacks, before, between and after its keys, not found.
    @Test func aCacheReadsTheSameWithoutItsBloomFilters() throws {
        let directory = TemporaryDirectory()
        let vectors = shuffledVectors(count: 3000, dimension: 40)
        let source = try writeVectors(vectors, to: directory.file("v.bin"))
        let storage = StorageSettings()
        #expect(storage.bloomBitsPerKey > 0 && storage.withoutBloomFilters.bloomBitsPerKey == 0)
        try build(source, into: directory.file("cache")) { $0.storage.maxFileSize = 1 << 20 }  // several tables
        let absent = ["", "a", "word", "word10000", "word1500x", "word2999 ", "zzz"]
        func answers(_ storage: StorageSettings) throws -> [[Float]?] {
            let cache = try VectorCache(path: directory.file("cache"), storage: storage)
            return try (vectors.map(\.0) + absent).map { try cache.vector(for: $0) }
        }
        let withFilters = try answers(storage)
        #expect(withFilters == vectors.map(\.1) + absent.map { _ in nil })
        #expect(try answers(storage.withoutBloomFilters) == withFilters)
    }

    @Test func keysAreWrittenInOrderSoNothingIsLeftToCompact() throws {
        let directory = TemporaryDirectory()
        // 14 MB: several 4 MB batches of table entries, and several tables.
        let source = try writeVectors(shuffledVectors(count: 7000, dimension: 500), to: directory.file("v.bin"))
        let summary = try build(source, into: directory.file("cache")) { request in
            request.storage.maxFileSize = 4 << 20
            request.settings.sortMemory = 4 << 20  // and several sorted runs through the spill file
        }
        #expect(summary.spilledRuns > 1)
        #expect(summary.filesPerLevel[0] == 0)
        #expect(summary.filesPerLevel.reduce(0, +) > 3)
        // The words' 14 MB in tables of their own at the last level, no longer staged.
        #expect(summary.filesPerLevel[6] > 3)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.file("cache"))
        #expect(!files.contains { $0.hasSuffix(".staged") })
        let entries = try wordEntries(directory.file("cache"))
        #expect(entries.count == 7000)
    }

    @Test func spilledRunsGiveTheSameCacheAsOneRunInMemory() throws {
        let directory = TemporaryDirectory()
        var vectors = shuffledVectors(count: 2000, dimension: 30)
        vectors.insert(("word17", [Float](repeating: -1, count: 30)), at: 1500)  // a duplicate across runs
        let source = try writeVectors(vectors, to: directory.file("v.bin"))
        let small = try build(source, into: directory.file("small")) { $0.settings.sortMemory = 256 << 10 }
        let large = try build(source, into: directory.file("large")) { $0.settings.sortMemory = 64 << 20 }
        #expect(small.spilledRuns >= 2 && large.spilledRuns == 0)
        let a = try wordEntries(directory.file("small"))
        let b = try wordEntries(directory.file("large"))
        #expect(a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1))
        #expect(a.map(\.0) == a.map(\.0).sorted { $0.lexicographicallyPrecedes($1) })
        // The first occurrence wins across runs too, and the later one is counted.
        #expect(small.manifest.statistics.duplicates == 1)
        let first = vectors.first { $0.0 == "word17" }!.1
        #expect(try VectorCache(path: directory.file("small")).vector(for: "word17") == first)
    }

    @Test func duplicatesKeepTheFirstVectorAndAreCounted() throws {
        let directory = TemporaryDirectory()
        let vectors: [(String, [Float])] = [("a", [1, 1]), ("b", [2, 2]), ("a", [3, 3]), ("a", [4, 4])]
        let source = try writeVectors(vectors, to: directory.file("v.bin"))
        let summary = try build(source, into: directory.file("cache"))
        #expect(summary.manifest.wordCount == 2)
        #expect(summary.manifest.statistics.duplicates == 2)
        #expect(try VectorCache(path: directory.file("cache")).vector(for: "a") == [1, 1])
    }

    @Test func limitKeepsTheFirstRecords() throws {
        let directory = TemporaryDirectory()
        let vectors = shuffledVectors(count: 100, dimension: 4)
        let source = try writeVectors(vectors, to: directory.file("v.bin"))
        let summary = try build(source, into: directory.file("cache")) { $0.limit = 10 }
        #expect(summary.manifest.wordCount == 10 && summary.manifest.options.limit == 10)
        let cache = try VectorCache(path: directory.file("cache"))
        #expect(try cache.vector(for: vectors[9].0) == vectors[9].1)
        #expect(try cache.vector(for: vectors[10].0) == nil)
    }

    @Test func onlyWordsKeepsTheListedWordsAndStreamsPastTheRest() throws {
        let directory = TemporaryDirectory()
        let vectors = shuffledVectors(count: 300, dimension: 4)
        let source = try writeVectors(vectors, to: directory.file("v.bin"))
        let list = directory.file("words.txt")
        try "\(vectors[5].0)\n\(vectors[250].0)\r\nnot-in-file\n\n".write(
            toFile: list, atomically: true, encoding: .utf8)
        let summary = try build(source, into: directory.file("cache")) { $0.onlyWordsPath = list }
        #expect(summary.manifest.wordCount == 2)
        #expect(summary.manifest.options.onlyWordsCount == 3)
        #expect(summary.manifest.statistics.notListed == 298)
        #expect(summary.manifest.statistics.recordsRead == 300)
        let cache = try VectorCache(path: directory.file("cache"))
        #expect(try cache.vector(for: vectors[250].0) == vectors[250].1)
    }

    @Test func theManifestDescribesTheSource() throws {
        let directory = TemporaryDirectory()
        let source = try writeVectors(shuffledVectors(count: 20, dimension: 3), to: directory.file("v.bin"))
        let manifest = try build(source, into: directory.file("cache")).manifest
        #expect(manifest.source.name == "v.bin")
        #expect(
            manifest.source.size
                == (try FileManager.default.attributesOfItem(atPath: source)[.size] as? NSNumber)?.uint64Value)
        #expect(manifest.source.crc32.count == 8)
        #expect(manifest.source.format == .binary && !manifest.source.gzip && manifest.source.headerCount == 20)
        #expect(manifest.formatVersion == CacheManifest.currentFormatVersion)
        #expect(manifest.toolVersion == w2vcacheVersion)
        let reopened = try VectorCache(path: directory.file("cache")).manifest
        #expect(reopened == manifest)
    }
}

@Suite struct AtomicBuildTests {
    /// A cache built from a 10-word file, whose words a later build must not lose.
    func makePreviousCache(_ directory: TemporaryDirectory) throws -> [([UInt8], [UInt8])] {
        let source = try writeVectors(shuffledVectors(count: 10, dimension: 5, seed: 99), to: directory.file("old.bin"))
        try build(source, into: directory.file("cache"))
        return try wordEntries(directory.file("cache"))
    }

    @Test func aFailedBuildLeavesThePreviousCacheAndNoTemporaries() throws {
        let directory = TemporaryDirectory()
        let before = try makePreviousCache(directory)
        let bad = directory.file("bad.bin")
        try Data("3 2\na ".utf8 + [0, 0, 128, 63]).write(to: URL(fileURLWithPath: bad))  // short vector
        #expect(throws: Word2VecError.self) { try build(bad, into: directory.file("cache")) }
        let after = try wordEntries(directory.file("cache"))
        #expect(after.map(\.0) == before.map(\.0) && after.map(\.1) == before.map(\.1))
        #expect(directory.contents == ["bad.bin", "cache", "old.bin"])
    }

    /// A build asked for vectors of another dimension than the file's fails at the header, with nothing written.
    @Test func aFileOfAnotherDimensionThanAskedForBuildsNothing() throws {
        let directory = TemporaryDirectory()
        let before = try makePreviousCache(directory)
        let other = try writeVectors(shuffledVectors(count: 4, dimension: 3), to: directory.file("other.bin"))
        let error = #expect(throws: Word2VecError.self) {
            try build(other, into: directory.file("cache")) { $0.dimension = 5 }
        }
        #expect(error?.kind == .dimensionMismatch)
        #expect(
            error?.description
                == "\(other): at byte 0 of the vector data: its vectors have 3 components; expected 5, the dimension "
                + "asked for (nothing was built)")
        let after = try wordEntries(directory.file("cache"))
        #expect(after.map(\.0) == before.map(\.0) && after.map(\.1) == before.map(\.1))
        #expect(directory.contents == ["cache", "old.bin", "other.bin"])
        // The dimension the file has builds it.
        #expect(try build(other, into: directory.file("cache")) { $0.dimension = 3 }.manifest.wordCount == 4)
    }

    @Test func anInterruptedBuildLeavesThePreviousCacheAndNoTemporaries() throws {
        let directory = TemporaryDirectory()
        let before = try makePreviousCache(directory)
        let source = try writeVectors(shuffledVectors(count: 20000, dimension: 20), to: directory.file("big.bin"))
        var polls = 0
        var request = BuildRequest(vectorsPath: source, cachePath: directory.file("cache"))
        request.settings.sortMemory = 512 << 10  // so that the spill file exists when the interruption comes
        do {
            _ = try CacheBuilder(request).run(isCancelled: {
                polls += 1
                return polls > 3
            })
            Issue.record("the build should have stopped")
        } catch let error as CacheError {
            #expect(error.kind == .interrupted)
        }
        let after = try wordEntries(directory.file("cache"))
        #expect(after.map(\.1) == before.map(\.1))
        #expect(directory.contents == ["big.bin", "cache", "old.bin"])
    }

    /// Interrupted while it writes its word tables (not yet part of its LevelDB): they go with the temporary cache.
    @Test func aBuildInterruptedWhileWritingItsTablesLeavesNoTemporaries() throws {
        let directory = TemporaryDirectory()
        let before = try makePreviousCache(directory)
        // 12 MB of vectors: several 4 MB batches of table entries, and a check for interruption between them.
        let source = try writeVectors(shuffledVectors(count: 30000, dimension: 100), to: directory.file("big.bin"))
        var request = BuildRequest(vectorsPath: source, cachePath: directory.file("cache"))
        request.storage.maxFileSize = 1 << 20
        var writing = false
        var stagedSeen = false
        do {
            _ = try CacheBuilder(request).run(
                progress: { report in
                    if report.phase == .writing && report.wordsWritten > 0 { writing = true }
                },
                isCancelled: {
                    if writing, let build = directory.contents.first(where: { $0.hasPrefix(".cache.building-") }) {
                        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.file(build))) ?? []
                        stagedSeen = files.contains { $0.hasSuffix(".staged") }
                    }
                    return writing
                })
            Issue.record("the build should have stopped")
        } catch let error as CacheError {
            #expect(error.kind == .interrupted)
        }
        #expect(stagedSeen)
        let after = try wordEntries(directory.file("cache"))
        #expect(after.map(\.1) == before.map(\.1))
        #expect(directory.contents == ["big.bin", "cache", "old.bin"])
    }

    @Test func whatAKilledBuildLeftIsRemovedByTheNextBuild() throws {
        let directory = TemporaryDirectory()
        _ = try makePreviousCache(directory)
        // A dead build's leftovers, with the marks builds leave: pid 2^22+1 is above Linux's pid limit, so no process
        // has it.
        let stale = directory.file(".cache.building-4194305")
        try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
        try Data("4194305\n".utf8).write(to: URL(fileURLWithPath: stale + "/W2VCACHE-BUILDING"))
        try Data().write(to: URL(fileURLWithPath: stale + "/000003.log"))
        try Data([1, 2]).write(to: URL(fileURLWithPath: stale + "/1000000.staged"))
        try Data("W2VCACHE-SPILL1\n".utf8 + [1, 2, 3]).write(
            to: URL(fileURLWithPath: directory.file(".cache.spill-4194305")))
        // Look-alikes that a build did not make: kept.
        let foreignDirectory = directory.file(".cache.building-4194306")
        try FileManager.default.createDirectory(atPath: foreignDirectory, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: foreignDirectory + "/notes.txt"))
        try Data("not a spill file".utf8).write(to: URL(fileURLWithPath: directory.file(".cache.spill-4194307")))
        try Data("x".utf8).write(to: URL(fileURLWithPath: directory.file(".cache.spill-notapid")))
        let source = try writeVectors(shuffledVectors(count: 5, dimension: 5), to: directory.file("new.bin"))
        try build(source, into: directory.file("cache"))
        #expect(
            directory.contents == [
                ".cache.building-4194306", ".cache.spill-4194307", ".cache.spill-notapid", "cache", "new.bin",
                "old.bin",
            ])
        #expect(FileManager.default.fileExists(atPath: foreignDirectory + "/notes.txt"))
    }

    /// A swap exchanges the directories and then removes the replaced cache; killed while it unlinked the replaced
    /// cache's files, it left a cache without some of its tables and without a marker, kept for ever (found by
    /// `scripts/crash-check`). The marker goes in first and comes out last: stopped after any number of unlinks,
    /// the removal leaves what the next build removes.
    @Test func aReplacedCacheHalfRemovedIsRemovedByTheNextBuild() throws {
        let directory = TemporaryDirectory()
        _ = try makePreviousCache(directory)
        let replaced = directory.file("replaced")
        try FileManager.default.copyItem(atPath: directory.file("cache"), toPath: replaced)
        let files = try FileManager.default.contentsOfDirectory(atPath: replaced)
        #expect(files.contains { $0.hasSuffix(".ldb") })
        let source = try writeVectors(shuffledVectors(count: 5, dimension: 5), to: directory.file("new.bin"))
        // Every file and the marker, then one more: stopped before each unlink, and not at all.
        for allowed in 0...(files.count + 1) {
            // As a swap leaves it: a whole cache, no marker, named for a build whose process is gone (pid 2^22+12).
            let stale = directory.file(".cache.building-4194312")
            try FileManager.default.copyItem(atPath: replaced, toPath: stale)
            var unlinks = 0
            let finished = CacheLocation.removeCacheFiles(stale, entries: files) { file in
                unlinks += 1
                return unlinks <= allowed && unlink(file) == 0
            }
            #expect(finished == (allowed > files.count), "\(allowed) unlinks allowed")
            try build(source, into: directory.file("cache"))
            #expect(directory.contents == ["cache", "new.bin", "old.bin", "replaced"], "\(allowed) unlinks allowed")
        }
    }

    @Test func whatABuildKilledWhileMakingItsTemporariesLeftIsRemovedToo() throws {
        let directory = TemporaryDirectory()
        _ = try makePreviousCache(directory)
        // Killed right after mkdir, and while writing the marker or the spill file's magic (found by SIGKILL at
        // random moments: such leftovers stayed for ever).
        for (pid, marker) in [(4_194_308, nil), (4_194_309, "41")] {
            let stale = directory.file(".cache.building-\(pid)")
            try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
            if let marker { try Data(marker.utf8).write(to: URL(fileURLWithPath: stale + "/W2VCACHE-BUILDING")) }
        }
        try Data().write(to: URL(fileURLWithPath: directory.file(".cache.spill-4194308")))
        try Data("W2VCA".utf8).write(to: URL(fileURLWithPath: directory.file(".cache.spill-4194309")))
        // Not a beginning of the magic: kept.
        try Data("W2VCACHE-SPILL2\n".utf8).write(to: URL(fileURLWithPath: directory.file(".cache.spill-4194310")))
        // Nor a FIFO that starts with the magic's beginning (held open here, so that opening it did not wait): not a
        // file a build makes.
        let fifo = directory.file(".cache.spill-4194311")
        #expect(mkfifo(fifo, 0o600) == 0)
        let held = open(fifo, O_RDWR | O_NONBLOCK)
        defer { close(held) }
        #expect(write(held, "W2VCA", 5) == 5)
        let source = try writeVectors(shuffledVectors(count: 5, dimension: 5), to: directory.file("new.bin"))
        try build(source, into: directory.file("cache"))
        #expect(
            directory.contents == [".cache.spill-4194310", ".cache.spill-4194311", "cache", "new.bin", "old.bin"])
    }

    @Test func aCacheInUseIsNotReplaced() throws {
        let directory = TemporaryDirectory()
        let before = try makePreviousCache(directory)
        let source = try writeVectors(shuffledVectors(count: 5, dimension: 5), to: directory.file("new.bin"))
        do {
            let open = try VectorCache(path: directory.file("cache"))
            let error = #expect(throws: CacheError.self) { try build(source, into: directory.file("cache")) }
            #expect(error?.kind == .inUse)
            #expect(error?.message.contains("in use") == true)
            #expect(try open.contains(before[0].0))
        }
        #expect(try wordEntries(directory.file("cache")).map(\.1) == before.map(\.1))
    }

    @Test func aRebuildReplacesTheCacheWhole() throws {
        let directory = TemporaryDirectory()
        _ = try makePreviousCache(directory)
        let source = try writeVectors([("fresh", [1, 2, 3, 4, 5])], to: directory.file("new.bin"))
        try build(source, into: directory.file("cache"))
        let entries = try wordEntries(directory.file("cache"))
        #expect(entries.map(\.0) == [Array("fresh".utf8)])
    }
}

@Suite struct OpenAndVerifyTests {
    @Test func readersShareACacheAndAWriterWaitsForThemAll() throws {
        let directory = TemporaryDirectory()
        let source = try writeVectors(shuffledVectors(count: 5, dimension: 5), to: directory.file("v.bin"))
        try build(source, into: directory.file("cache"))
        let first = try VectorCache(path: directory.file("cache"))
        let second = try VectorCache(path: directory.file("cache"))
        #expect(
            try first.manifest == second.manifest
                && first.contains(Array("w0".utf8)) == second.contains(Array("w0".utf8)))
        // A prepare needs the cache alone; a build must not replace it under its readers.
        let writerError = #expect(throws: CacheError.self) {
            try CacheWriter(path: directory.file("cache"), purpose: "a test")
        }
        #expect(writerError?.kind == .inUse)
        #expect(writerError?.message.contains("in use by another process") == true)
        #expect(writerError?.message.contains("LOCK") == false)
        #expect(throws: CacheError.self) { try build(source, into: directory.file("cache")) }
        try first.close()
        try second.close()
        // And a reader waits for a writer.
        let writer = try CacheWriter(path: directory.file("cache"), purpose: "a test")
        let readerError = #expect(throws: CacheError.self) { try VectorCache(path: directory.file("cache")) }
        #expect(readerError?.kind == .inUse && readerError?.message.contains("being written") == true)
        try writer.close()
        #expect(try VectorCache(path: directory.file("cache")).manifest.wordCount == 5)
    }

    @Test func missingAndForeignDirectoriesSayWhatToDo() throws {
        let directory = TemporaryDirectory()
        let missing = #expect(throws: CacheError.self) { try VectorCache(path: directory.file("none")) }
        #expect(missing?.kind == .missing && missing?.message.contains("w2vcache build") == true)
        let folder = #expect(throws: CacheError.self) { try VectorCache(path: directory.path) }
        #expect(folder?.kind == .notACache && folder?.message.contains("no CURRENT file") == true)
        // A file is not advised to be built on (a build refuses a file too).
        try Data("vectors".utf8).write(to: URL(fileURLWithPath: directory.file("file")))
        let file = #expect(throws: CacheError.self) { try VectorCache(path: directory.file("file")) }
        #expect(
            file?.kind == .notACache
                && file?.message.hasSuffix(
                    "is a file, not a cache; give the directory "
                        + "`w2vcache build --db DIR` made") == true
        )
        var options = Options()
        options.createIfMissing = true
        _ = try Database(path: directory.file("plain"), options: options)
        let plain = #expect(throws: CacheError.self) { try VectorCache(path: directory.file("plain")) }
        #expect(plain?.kind == .notACache && plain?.message.contains("no w2vcache manifest") == true)
    }

    /// A cache a later w2vcache wrote in another format says so and which version wrote it (it was called damaged,
    /// with the raw `DecodingError` of a field the new format renamed); a damaged manifest says what is wrong.
    @Test func aManifestOfAnotherFormatOrDamagedSaysWhich() throws {
        let directory = TemporaryDirectory()
        let source = try writeVectors(shuffledVectors(count: 20, dimension: 4), to: directory.file("v.bin"))
        try build(source, into: directory.file("cache"))
        let key = [UInt8(0)] + Array("manifest".utf8)
        let original = try #require(try Database(path: directory.file("cache")).get(key))
        var later = try #require(try JSONSerialization.jsonObject(with: Data(original)) as? [String: Any])
        later["formatVersion"] = 2
        later["toolVersion"] = "9.0.0"
        later["dims"] = later.removeValue(forKey: "dimension")
        var renamed = try #require(try JSONSerialization.jsonObject(with: Data(original)) as? [String: Any])
        renamed.removeValue(forKey: "dimension")
        for (manifest, kind, message) in [
            (
                try JSONSerialization.data(withJSONObject: later), CacheError.Kind.incompatible,
                "has cache format 2 (written by w2vcache 9.0.0); this w2vcache (\(w2vcacheVersion)) reads format 1: "
                    + "rebuild it"
            ),
            (
                try JSONSerialization.data(withJSONObject: renamed), .corrupt,
                "cannot be read (no field dimension); rebuild the cache"
            ),
            (
                Data("{\"formatVersion\": \"1\"}".utf8), .corrupt,
                "cannot be read (field formatVersion holds a value of another type)"
            ),
            (Data([0x1B, 0x5B]), .corrupt, "cannot be read (not JSON)"),
            // Numbers every read sizes its vectors by: one that no build writes trapped a lookup (`npy`, `--oov`).
            (
                try JSONSerialization.data(withJSONObject: renamed.merging(["dimension": -1]) { $1 }), .corrupt,
                "is damaged: it says dimension -1, 20 words and 0 out-of-vocabulary (expected a dimension from 1 to "
                    + "\(Word2VecReader.maxDimension) and counts from 0 to 4294967295)"
            ),
            // Counts that add past Int.max trapped `verify` and the server's start (FuzzCacheRecords).
            (
                try JSONSerialization.data(
                    withJSONObject: renamed.merging(["dimension": 4, "wordCount": Int.max, "oovCount": 1]) { $1 }),
                .corrupt, "is damaged: it says dimension 4, \(Int.max) words and 1 out-of-vocabulary"
            ),
            (
                try JSONSerialization.data(withJSONObject: renamed.merging(["dimension": Int.max]) { $1 }), .corrupt,
                "is damaged: it says dimension \(Int.max)"
            ),
            // n-gram rows are hashed modulo the bucket count in 32 bits: one past that trapped a fastText lookup.
            (
                try JSONSerialization.data(
                    withJSONObject: renamed.merging([
                        "dimension": 4, "subwords": ["minn": 3, "maxn": 6, "bucket": 1 << 33],
                    ]) { $1 }), .corrupt,
                "is damaged: it says n-grams of 3 to 6 characters in 8589934592 buckets, which no fastText model has"
            ),
        ] {
            let database = try Database(path: directory.file("cache"))
            try database.put(key, Array(manifest))
            try database.close()
            let error = #expect(throws: CacheError.self) { try VectorCache(path: directory.file("cache")) }
            #expect(error?.kind == kind && error?.message.contains(message) == true, "\(String(describing: error))")
        }
        // A dimension that the stored vectors do not have: each read of one is an error, never a vector handed on.
        let database = try Database(path: directory.file("cache"))
        try database.put(
            key, Array(try JSONSerialization.data(withJSONObject: renamed.merging(["dimension": 3]) { $1 })))
        try database.close()
        let cache = try VectorCache(path: directory.file("cache"))
        let read = #expect(throws: CacheError.self) { try cache.vector(for: "word0") }
        #expect(
            read?.kind == .corrupt
                && read?.message.contains("the vector of \"word0\" is 16 bytes, where its dimension (3) says 12")
                    == true,
            "\(String(describing: read))")
        #expect(try cache.vector(for: "absent") == nil)
    }

    /// A search index header's numbers are checked against the cache and bounded before anything is sized by them:
    /// rows near `Int.max / 4` or duplicates near `Int.max / 2` trapped; rows the machine cannot hold were set aside
    /// (the process died when their word starts were reserved).
    @Test func aSearchIndexHeaderIsCheckedBeforeAnythingIsSizedByIt() throws {
        let directory = TemporaryDirectory()
        let source = try writeVectors(shuffledVectors(count: 20, dimension: 4), to: directory.file("v.bin"))
        try build(source, into: directory.file("cache"))
        let noBuild = "which no build writes for a cache of dimension 4"
        for (rows, duplicates, dimension, message) in [
            (Int.max / 4, 0, 4, noBuild),
            (20, Int.max / 2, 4, noBuild),
            (20, -1, 4, noBuild),
            (20, 0, 5, noBuild),
            (
                21, 0, 4,
                "its header says 21 rows (0 duplicates) of dimension 4 in chunks of 4096, where the cache has 20 words"
            ),
        ] {
            let header = SearchIndexHeader(
                version: SearchIndex.version, rows: rows, dimension: dimension, chunkRows: 4096, duplicates: duplicates)
            let database = try Database(path: directory.file("cache"))
            try database.put(SearchIndexKeys.header, Array(try JSONEncoder().encode(header)))
            try database.close()
            let cache = try VectorCache(path: directory.file("cache"))
            let load = #expect(throws: CacheError.self) { try cache.loadSearchIndex() }
            #expect(load?.kind == .corrupt && load?.message.contains(message) == true, "\(String(describing: load))")
            let count = #expect(throws: CacheError.self) { try cache.searchIndexWordCount }
            #expect(count?.message.contains(message) == true, "\(String(describing: count))")
        }
        // Rows the machine cannot hold: a cache for a larger machine, not damage (503 from the server). As many rows
        // as 32 bits number, of 1,024 dimensions, are 4.4 TB.
        let wide = try writeVectors(shuffledVectors(count: 20, dimension: 1024), to: directory.file("wide.bin"))
        try build(wide, into: directory.file("wide"))
        let header = SearchIndexHeader(
            version: SearchIndex.version, rows: Int(UInt32.max), dimension: 1024, chunkRows: 1024,
            duplicates: Int(UInt32.max) - 20)
        let database = try Database(path: directory.file("wide"))
        try database.put(SearchIndexKeys.header, Array(try JSONEncoder().encode(header)))
        try database.close()
        let memory = ProcessInfo.processInfo.physicalMemory
        let load = #expect(throws: CacheError.self) { try VectorCache(path: directory.file("wide")).loadSearchIndex() }
        #expect(
            load?.kind == .unavailable
                && load?.message.contains("has 4294967295 rows of dimension 1024, more than this machine's \(memory)")
                    == true,
            "\(String(describing: load))")
    }

    @Test func aHealthyCacheVerifies() throws {
        let directory = TemporaryDirectory()
        let source = try writeVectors(shuffledVectors(count: 700, dimension: 8), to: directory.file("v.bin"))
        try build(source, into: directory.file("cache"))
        let report = try VectorCache(path: directory.file("cache")).verify()
        #expect(report.isHealthy)
        // The manifest, and the search index: a header, the duplicate rows and one chunk of four parts.
        #expect(report.wordsChecked == 700 && report.metadataKeys == 7 && report.searchIndexRows == 700)
    }

    @Test func verifyFindsAWrongSizedValueAndAnExtraWord() throws {
        let directory = TemporaryDirectory()
        let source = try writeVectors(shuffledVectors(count: 50, dimension: 8), to: directory.file("v.bin"))
        try build(source, into: directory.file("cache"))
        do {
            let database = try Database(path: directory.file("cache"))
            try database.put(Array("word3".utf8), [1, 2, 3])
        }
        let report = try VectorCache(path: directory.file("cache")).verify()
        #expect(!report.isHealthy)
        #expect(report.problems.contains { $0.contains("\"word3\": value is 3 bytes; expected 32") })
        do {
            let database = try Database(path: directory.file("cache"))
            try database.put(Array("intruder".utf8), [UInt8](repeating: 0, count: 32))
        }
        let second = try VectorCache(path: directory.file("cache")).verify()
        #expect(second.problems.contains { $0.contains("holds 51 words") })
    }

    @Test func verifyFindsDamagedTableBytes() throws {
        let directory = TemporaryDirectory()
        let source = try writeVectors(shuffledVectors(count: 2000, dimension: 50), to: directory.file("v.bin"))
        try build(source, into: directory.file("cache"))
        let tables = try FileManager.default.contentsOfDirectory(atPath: directory.file("cache")).filter {
            $0.hasSuffix(".ldb")
        }
        func size(_ name: String) -> Int {
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory.file("cache/" + name))
            return (attributes?[.size] as? NSNumber)?.intValue ?? 0
        }
        let largest = tables.max { size($0) < size($1) }!
        let url = URL(fileURLWithPath: directory.file("cache/" + largest))
        var bytes = try Data(contentsOf: url)
        for index in stride(from: 5000, to: 5100, by: 1) { bytes[index] ^= 0xFF }
        try bytes.write(to: url)
        let report = try VectorCache(path: directory.file("cache")).verify()
        #expect(!report.isHealthy)
        #expect(report.problems.contains { $0.contains("Corruption") || $0.contains("checksum") })
    }
}
