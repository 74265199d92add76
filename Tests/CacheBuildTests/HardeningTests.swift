import CacheBuild
import Foundation
import LevelDB
import SearchIndex
import Support
import TestSupport
import Testing
import Word2Vec

@testable import VectorCache

/// What a build may replace, and what it must leave alone: each of these deleted or overwrote data before the fix.
@Suite struct TargetSafetyTests {
    func source(_ directory: TemporaryDirectory) throws -> String {
        try writeVectors(shuffledVectors(count: 30, dimension: 4), to: directory.file("v.bin"))
    }

    @Test func aFolderWithOtherFilesIsRefusedAndLeftAlone() throws {
        let directory = TemporaryDirectory()
        let target = directory.file("d")
        try FileManager.default.createDirectory(atPath: target + "/sub", withIntermediateDirectories: true)
        try Data("important".utf8).write(to: URL(fileURLWithPath: target + "/notes.txt"))
        let before = snapshot(target)
        #expect {
            try build(try source(directory), into: target)
        } throws: { error in
            let error = error as? CacheError
            return error?.kind == .refused && error?.message.contains("notes.txt, sub") == true
                && error?.message.contains(target) == true
        }
        #expect(snapshot(target) == before)
        #expect(directory.contents == ["d", "v.bin"])
    }

    @Test func aFileIsRefusedAndLeftAlone() throws {
        let directory = TemporaryDirectory()
        let target = directory.file("somefile")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: target))
        #expect { try build(try source(directory), into: target) } throws: { ($0 as? CacheError)?.kind == .refused }
        #expect(FileManager.default.contents(atPath: target) == Data("keep me".utf8))
    }

    @Test func aLevelDBDatabaseThatIsNotACacheIsRefusedAndLeftAlone() throws {
        let directory = TemporaryDirectory()
        let target = directory.file("other")
        var options = Options()
        options.createIfMissing = true
        do {
            let database = try Database(path: target, options: options)
            try database.put(Array("theirs".utf8), [1, 2, 3], sync: true)
            try database.close()
        }
        #expect {
            try build(try source(directory), into: target)
        } throws: { ($0 as? CacheError)?.kind == .refused && "\($0)".contains("no w2vcache manifest") }
        let database = try Database(path: target)
        #expect(try database.get(Array("theirs".utf8)) == [1, 2, 3])
    }

    @Test func aCacheWhoseManifestCannotBeReadIsRefused() throws {
        let directory = TemporaryDirectory()
        let target = directory.file("cache")
        try build(try source(directory), into: target)
        do {
            let database = try Database(path: target)
            try database.put(CacheKeys.manifest, Array("not json".utf8), sync: true)
            try database.close()
        }
        #expect { try build(try source(directory), into: target) } throws: { ($0 as? CacheError)?.kind == .refused }
        #expect(try Database(path: target).get(CacheKeys.manifest) == Array("not json".utf8))
    }

    @Test func anEmptyFolderAnExistingCacheAndALinkToOneAreReplaced() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("empty"), withIntermediateDirectories: true)
        try build(try source(directory), into: directory.file("empty"))
        #expect(try VectorCache(path: directory.file("empty")).manifest.wordCount == 30)
        // Rebuild through a symbolic link: the cache it points to is replaced, the link stays a link.
        try FileManager.default.createSymbolicLink(
            atPath: directory.file("link"), withDestinationPath: directory.file("empty"))
        let other = try writeVectors([("only", [1, 2, 3, 4])], to: directory.file("w.bin"))
        try build(other, into: directory.file("link"))
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: directory.file("link")) == directory.file("empty")
        )
        #expect(try VectorCache(path: directory.file("empty")).manifest.wordCount == 1)
        #expect(directory.contents == ["empty", "link", "v.bin", "w.bin"])
    }

    @Test func theCurrentDirectoryIsRefusedWithoutCreatingAnything() throws {
        let directory = TemporaryDirectory()
        let vectors = try source(directory)
        let location = CacheLocation(path: directory.path)
        #expect(throws: CacheError.self) { try location.checkReplaceable() }
        #expect { try build(vectors, into: directory.path + "/.") } throws: { ($0 as? CacheError)?.kind == .refused }
        #expect(directory.contents == ["v.bin"], "no LOCK or LOG file was created")
    }

    @Test func aWordOfManyKilobytesIsStoredWhole() throws {
        let directory = TemporaryDirectory()
        let long = String(repeating: "w", count: 9000)
        let path = try writeVectors([("a", [1, 2]), (long, [3, 4]), ("b", [5, 6])], to: directory.file("v.bin"))
        try build(path, into: directory.file("cache"))
        let cache = try VectorCache(path: directory.file("cache"))
        #expect(try cache.vector(for: long) == [3, 4])
        #expect(try cache.vector(for: "b") == [5, 6])
    }
}

@Suite struct WriterLockTests {
    @Test func aSecondWriterFailsAtOnceNamingTheFirst() throws {
        let directory = TemporaryDirectory()
        let source = try writeVectors(shuffledVectors(count: 10, dimension: 3), to: directory.file("v.bin"))
        try build(source, into: directory.file("cache"))
        let held = try CacheWriterLock(cachePath: directory.file("cache"), purpose: "w2vcache build")
        #expect {
            try build(source, into: directory.file("cache"))
        } throws: { error in
            let error = error as? CacheError
            return error?.kind == .busy && error?.message.contains("pid \(getpid()) (w2vcache build)") == true
        }
        #expect {
            try CacheWriter(path: directory.file("cache"), purpose: "w2vcache prepare pos")
        } throws: { ($0 as? CacheError)?.kind == .busy }
        withExtendedLifetime(held) {}
    }

    @Test func aWaitingWriterGoesOnWhenTheFirstIsDone() throws {
        let directory = TemporaryDirectory()
        let source = try writeVectors(shuffledVectors(count: 10, dimension: 3), to: directory.file("v.bin"))
        do {
            // The lock is let go when its last reference, the closure's, goes after the closure has run.
            let held = try CacheWriterLock(cachePath: directory.file("cache"), purpose: "a test")
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { withExtendedLifetime(held) {} }
        }
        var notices: [String] = []
        var request = BuildRequest(vectorsPath: source, cachePath: directory.file("cache"))
        request.waitForWriter = true
        let started = Date()
        _ = try CacheBuilder(request).run(onWait: { notices.append($0) })
        #expect(Date().timeIntervalSince(started) >= 0.25)
        #expect(notices.count == 1 && notices[0].contains("waiting for pid"))
        #expect(directory.contents == ["cache", "v.bin"], "the lock file is removed with the lock")
    }
}

@Suite struct DamageTests {
    static let vector = [Float](repeating: 1234.5, count: 16)
    static var vectorBytes: [UInt8] { vector.withUnsafeBytes { Array($0) } }

    /// A cache whose word `target-word-for-damage` has a vector found nowhere else, then damaged by `damage`. Without
    /// a search index unless asked: the index holds the word too, and the damage must hit the word's own table.
    func damagedCache(_ directory: TemporaryDirectory, searchIndex: Bool = false, damage: (String) throws -> Bool)
        throws -> VectorCache
    {
        var vectors = shuffledVectors(count: 400, dimension: 16)
        vectors.append(("target-word-for-damage", Self.vector))
        try build(try writeVectors(vectors, to: directory.file("v.bin")), into: directory.file("cache")) {
            $0.settings.searchIndex = searchIndex
        }
        #expect(try damage(directory.file("cache")), "the bytes to damage were found")
        return try VectorCache(path: directory.file("cache"))
    }

    @Test func aFlippedByteInAVectorIsAnErrorNamingTheDamage() throws {
        let directory = TemporaryDirectory()
        let cache = try damagedCache(directory) { try flipBit(inTablesOf: $0, holding: Self.vectorBytes, at: 21) }
        #expect {
            try cache.vector(for: "target-word-for-damage")
        } throws: { error in
            let error = error as? CacheError
            return error?.kind == .corrupt && error?.message.contains("w2vcache verify") == true
        }
    }

    @Test func aFlippedByteInTheSearchIndexIsAnErrorNotAWrongAnswer() throws {
        let directory = TemporaryDirectory()
        // The word's norm (sixteen squares of 1234.5 add up exactly) is stored in the index's norms and nowhere else.
        let norm = withUnsafeBytes(of: (Float(1234.5) * Float(1234.5) * 16).squareRoot().bitPattern.littleEndian) {
            Array($0)
        }
        let cache = try damagedCache(directory, searchIndex: true) { try flipBit(inTablesOf: $0, holding: norm, at: 1) }
        #expect { try cache.loadSearchIndex() } throws: { ($0 as? CacheError)?.kind == .corrupt }
        let report = try cache.verify()
        #expect(!report.isHealthy)
        #expect(try cache.vector(for: "target-word-for-damage") == Self.vector)
    }

    @Test func aFlippedByteInAKeyIsAnErrorNotAMissingWord() throws {
        let directory = TemporaryDirectory()
        let cache = try damagedCache(directory) {
            try flipBit(inTablesOf: $0, holding: Array("target-word-for-damage".utf8), at: 12)
        }
        #expect { try cache.contains(Array("target-word-for-damage".utf8)) } throws: {
            ($0 as? CacheError)?.kind == .corrupt
        }
    }
}

/// Damage at random anywhere in a cache's files, as a bad disk or a bad copy leaves it: every read is the vector the
/// build wrote or an error, and `verify` finds what reads would meet.
@Suite struct RandomDamageTests {
    @Test func aByteChangedAnywhereIsAnErrorOrChangesNothingAVectorReadSees() throws {
        let directory = TemporaryDirectory()
        let vectors = shuffledVectors(count: 300, dimension: 8)
        try build(try writeVectors(vectors, to: directory.file("v.bin")), into: directory.file("cache")) {
            $0.settings.searchIndex = true
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.file("cache"))
            .filter { $0 != "LOCK" }.sorted()
        var random = SplitMix64(seed: 20_261_203)
        var outcomes: [String: Int] = [:]
        for trial in 0..<120 {
            let copy = directory.file("copy\(trial)")
            try FileManager.default.copyItem(atPath: directory.file("cache"), toPath: copy)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            let name = files[Int(random.next() % UInt64(files.count))]
            let url = URL(fileURLWithPath: copy + "/" + name)
            var data = try Data(contentsOf: url)
            guard !data.isEmpty else { continue }
            let offset = Int(random.next() % UInt64(data.count))
            data[offset] ^= UInt8(1 + random.next() % 255)
            try data.write(to: url)
            let what = "\(name) at \(offset)"
            let cache: VectorCache
            do {
                cache = try VectorCache(path: copy)
            } catch is CacheError {
                outcomes["refused at open", default: 0] += 1
                continue
            }
            var failedReads = 0
            for (word, vector) in vectors {
                do {
                    let read = try cache.vector(for: word)
                    #expect(read == vector, "\(what): \(word) read as \(String(describing: read))")
                } catch is CacheError {
                    failedReads += 1
                }
            }
            let healthy = (try? cache.verify().isHealthy) ?? false
            #expect(failedReads == 0 || !healthy, "\(what): reads failed and verify found nothing")
            outcomes[failedReads > 0 ? "reads failed" : healthy ? "nothing seen" : "verify alone", default: 0] += 1
        }
        // The draw must reach the tables often enough for the test to mean much.
        #expect(outcomes["reads failed", default: 0] >= 10, "\(outcomes)")
    }
}
