import CacheBuild
import Foundation
import LevelDB
import SearchIndex
import Support
import TestSupport
import Testing
import Word2Vec

@testable import VectorCache

@Suite struct CopyTests {
    func source(_ directory: TemporaryDirectory) throws -> String {
        try build(
            try writeVectors(shuffledVectors(count: 300, dimension: 8), to: directory.file("v.bin")),
            into: directory.file("cache"))
        return directory.file("cache")
    }

    func identity(_ cache: VectorCache) -> String { cache.manifest.contentIdentity }

    /// The device and inode of a file (equal for two hard links).
    func inode(_ path: String) -> (UInt64, UInt64) {
        var information = stat()
        stat(path, &information)
        return (UInt64(information.st_dev), UInt64(information.st_ino))
    }

    @Test func aCopyOnOneFilesystemLinksTheTablesAndHoldsTheSameWords() throws {
        let directory = TemporaryDirectory()
        let cache = try source(directory)
        let summary = try CacheCopier.copy(from: cache, to: directory.file("replica"), fingerprint: identity)
        #expect(summary.linkedFiles > 0 && !summary.verified)
        let tables = try FileManager.default.contentsOfDirectory(atPath: directory.file("replica")).filter {
            $0.hasSuffix(".ldb")
        }
        #expect(!tables.isEmpty)
        for table in tables where FileManager.default.fileExists(atPath: cache + "/" + table) {
            #expect(inode(cache + "/" + table) == inode(directory.file("replica/" + table)))
        }
        #expect(try wordEntries(directory.file("replica")).map(\.1) == wordEntries(cache).map(\.1))
        #expect(directory.contents == ["cache", "replica", "v.bin"], "nothing left behind")
        // Copying again replaces the replica (a w2vcache cache) in place.
        #expect(
            try CacheCopier.copy(from: cache, to: directory.file("replica"), fingerprint: identity).fingerprint
                == summary.fingerprint)
    }

    /// A copy reports its progress, and a stop asked for at any report (Ctrl-C) leaves the destination as it was and
    /// nothing of the copy behind (it was killed, leaving the partial copy until the next copy or build).
    @Test func aCopyReportsProgressAndAStopAtAnyPointChangesNothing() throws {
        let directory = TemporaryDirectory()
        let cache = try source(directory)
        _ = try CacheCopier.copy(from: cache, to: directory.file("replica"), fingerprint: identity)
        let before = try wordEntries(directory.file("replica")).map(\.1)
        var reports: [CopyProgress] = []
        let summary = try CacheCopier.copy(
            from: cache, to: directory.file("fresh"), fingerprint: identity, progress: { reports.append($0) })
        let files = summary.linkedFiles + summary.copiedFiles
        #expect(files > 1)
        #expect(reports.count == files + 1)
        #expect(reports.first == .copying(files: 0, of: files, bytes: 0))
        #expect(reports.last == .copying(files: files, of: files, bytes: summary.copiedBytes))
        // Stopped at each report in turn, and just before the copy would replace the destination.
        for stopAt in 0...reports.count {
            var polls = 0
            #expect {
                try CacheCopier.copy(
                    from: cache, to: directory.file("replica"), fingerprint: identity,
                    isCancelled: {
                        polls += 1
                        return polls > stopAt
                    })
            } throws: {
                ($0 as? CacheError)?.kind == .interrupted
                    && ($0 as? CacheError)?.message == "interrupted; \(directory.file("replica")) was not changed"
            }
            #expect(try wordEntries(directory.file("replica")).map(\.1) == before)
            #expect(directory.contents == ["cache", "fresh", "replica", "v.bin"], "nothing left behind")
        }
    }

    @Test func aDestinationThatIsNotACacheIsRefusedAndAMismatchReplacesNothing() throws {
        let directory = TemporaryDirectory()
        let cache = try source(directory)
        try FileManager.default.createDirectory(atPath: directory.file("mine"), withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: directory.file("mine/notes.txt")))
        #expect { try CacheCopier.copy(from: cache, to: directory.file("mine"), fingerprint: identity) } throws: {
            ($0 as? CacheError)?.kind == .refused
        }
        #expect { try CacheCopier.copy(from: cache, to: cache, fingerprint: identity) } throws: {
            ($0 as? CacheError)?.kind == .refused
        }
        // A copy whose fingerprint differs from the source's is not swapped in.
        var calls = 0
        #expect {
            try CacheCopier.copy(
                from: cache, to: directory.file("replica"),
                fingerprint: { _ in
                    calls += 1; return "\(calls)"
                })
        } throws: { ($0 as? CacheError)?.kind == .corrupt }
        #expect(directory.contents == ["cache", "mine", "v.bin"])
    }

    @Test func aSourceBeingReadIsCopiedAndAWriterKeepsTheCopyOut() throws {
        let directory = TemporaryDirectory()
        let cache = try source(directory)
        let served = try VectorCache(path: cache)
        let summary = try CacheCopier.copy(from: cache, to: directory.file("replica"), fingerprint: identity)
        #expect(summary.fingerprint == identity(served))
        #expect(try VectorCache(path: directory.file("replica")).manifest == served.manifest)
        try served.close()
        // A prepare has the source: the copy waits its turn (or fails at once without --wait).
        let writer = try CacheWriter(path: cache, purpose: "w2vcache prepare pos")
        #expect { try CacheCopier.copy(from: cache, to: directory.file("replica-2"), fingerprint: identity) } throws: {
            ($0 as? CacheError)?.kind == .busy
        }
        withExtendedLifetime(writer) {}
    }
}
