import CLevelDBEnv
import CTableReference
import Foundation
import LevelDB
import Support
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

/// Entries written both by ``TableFileWriter`` and by LevelDB's own table builder.
struct TableCase: Sendable, CustomTestStringConvertible {
    var name: String
    var blockSize: Int
    var bloomBitsPerKey: Int
    var entries: [([UInt8], [UInt8])]

    var testDescription: String { name }

    static let all: [TableCase] = {
        var random = SplitMix64(seed: 11)
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
        // Words sharing prefixes (restart points, prefix compression), 4 MB in all: the file goes out in pieces, and
        // blocks over 2 KB leave empty filters between them.
        let words = (0..<20_000).map { (Array(String(format: "key%06d", $0 * 7).utf8), bytes(100 + $0 % 300)) }
        let odd: [([UInt8], [UInt8])] = [
            ([0], []), ([0, 0, 255], bytes(1)), ([1] + bytes(1_000), bytes(10_000)), (Array("a".utf8), bytes(5_000)),
            (Array("ab".utf8), []), (Array("abc".utf8), bytes(3)), ([255, 255], bytes(70_000)),
        ]
        return [
            TableCase(name: "4 KB blocks, bloom filter", blockSize: 4 << 10, bloomBitsPerKey: 10, entries: words),
            TableCase(name: "64 KB blocks, no filter", blockSize: 64 << 10, bloomBitsPerKey: 0, entries: words),
            TableCase(name: "a block a key", blockSize: 1, bloomBitsPerKey: 10, entries: Array(words.prefix(3_000))),
            TableCase(name: "odd keys and values", blockSize: 4 << 10, bloomBitsPerKey: 10, entries: odd),
            TableCase(name: "one key", blockSize: 4 << 10, bloomBitsPerKey: 10, entries: [(Array("only".utf8), [1])]),
        ]
    }()
}

@Suite struct TableFormatTests {
    /// The table writer's own builder gives the same bytes as LevelDB's `TableBuilder`: blocks, restart points,
    /// bloom filters, index, footer and every checksum; written past the page cache (whole pages, the rest carried
    /// to the next piece, the last through the cache) or through it.
    @Test(arguments: TableCase.all, [true, false])
    func aTableEqualsLevelDBsOwnByteForByte(_ table: TableCase, directIO: Bool) throws {
        let (written, expected) = try bothTables(table, directIO: directIO)
        #expect(written.count == expected.count)
        #expect(written == expected, "first difference at byte \(zip(written, expected).prefix { $0 == $1 }.count)")
    }

    /// The same over 200 random tables: any block size from 1 byte to 64 KB, filters of 1 to 20 bits a key or none,
    /// keys of 0 to 40 bytes from a small alphabet (long shared prefixes), values of 0 to 3,000 bytes.
    @Test func randomTablesEqualLevelDBsOwn() throws {
        var random = SplitMix64(seed: 29)
        func below(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }
        var differing: [String] = []
        for index in 0..<200 {
            let blockSize = [1, 7, 100, 1_000, 2_047, 2_048, 4_096, 16_384, 65_536][below(9)]
            let bloomBitsPerKey = [0, 1, 10, 20][below(4)]
            var keys = Set<[UInt8]>()
            for _ in 0..<(1 + below(400)) { keys.insert((0..<below(41)).map { _ in UInt8(97 + below(3)) }) }
            let entries = keys.sorted { $0.lexicographicallyPrecedes($1) }.map { key in
                (key, [UInt8](repeating: UInt8(truncatingIfNeeded: random.next()), count: below(3_001)))
            }
            let table = TableCase(
                name: "random \(index)", blockSize: blockSize, bloomBitsPerKey: bloomBitsPerKey, entries: entries)
            for directIO in [true, false] {
                let (written, expected) = try bothTables(table, directIO: directIO)
                if written != expected {
                    differing.append(
                        "\(index): \(entries.count) keys, blocks of \(blockSize), \(bloomBitsPerKey) bits, "
                            + (directIO ? "direct" : "through the page cache"))
                }
            }
        }
        #expect(differing.isEmpty, "\(differing)")
    }

    /// Written direct, a table leaves none of its pages in the page cache but its last one (written through it);
    /// through the cache, it leaves them all there; ``TableFileWriter/directIO`` decides for each table as it begins.
    /// Checked where the temporary directory is on a disk file system that takes direct writes (on tmpfs, files are
    /// the page cache; overlayfs takes them on some kernels only).
    @Test func aTableWrittenDirectIsNotLeftInThePageCache() throws {
        let directory = TemporaryDirectory()
        let fileSystem = try fileSystemType(of: directory.path)
        guard ["ext4", "xfs", "btrfs"].contains(fileSystem) else {
            print("skipped: \(directory.path) is on \(fileSystem), not a disk file system known to take direct writes")
            return
        }
        let tables = TableFileWriter(
            path: directory.path, firstFileNumber: 1, options: tableOptions(maxFileSize: 1 << 40), directIO: true)
        let entries = TableCase.all[0].entries
        for (key, value) in entries[..<10_000] { try add(tables, key, value) }
        try tables.endTable()
        tables.directIO = false
        for (key, value) in entries[10_000...] { try add(tables, key, value) }
        #expect(try tables.finish() == 2)
        let direct = try residentPages(directory.path + "/000001.staged")
        let cached = try residentPages(directory.path + "/000002.staged")
        #expect(direct.total > 300 && cached.total > 300)
        #expect(direct.pages <= 2, "\(direct.pages) of \(direct.total) pages in the page cache")
        #expect(cached.pages > cached.total * 9 / 10, "\(cached.pages) of \(cached.total) pages in the page cache")
    }

    /// The type of the file system `path` is on: that of the longest mount point above it in `/proc/self/mounts`.
    private func fileSystemType(of path: String) throws -> String {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var best: (mountPoint: String, type: String) = ("", "")
        for line in try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 2 else { continue }
            let mountPoint = String(fields[1])
            let above = mountPoint == "/" || resolved == mountPoint || resolved.hasPrefix(mountPoint + "/")
            if above && mountPoint.count >= best.mountPoint.count { best = (mountPoint, String(fields[2])) }
        }
        return best.type
    }

    /// How many of the file's pages the page cache holds (`mincore` of a mapping, which reads nothing), of how many.
    private func residentPages(_ path: String) throws -> (pages: Int, total: Int) {
        let descriptor = open(path, O_RDONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let size = Int(lseek(descriptor, 0, SEEK_END))
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let total = (size + pageSize - 1) / pageSize
        let mapping = try #require(mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0))
        try #require(mapping != MAP_FAILED)
        defer { munmap(mapping, size) }
        var vector = [UInt8](repeating: 0, count: total)
        try #require(mincore(mapping, size, &vector) == 0)
        return (vector.filter { $0 & 1 != 0 }.count, total)
    }

    /// The table file of ``TableFileWriter`` and LevelDB's own of the same entries.
    private func bothTables(_ table: TableCase, directIO: Bool) throws -> (written: Data, expected: Data) {
        let directory = TemporaryDirectory()
        var options = tableOptions(maxFileSize: 1 << 40, blockSize: table.blockSize)
        options.bloomBitsPerKey = table.bloomBitsPerKey
        let tables = TableFileWriter(path: directory.path, firstFileNumber: 1, options: options, directIO: directIO)
        for (key, value) in table.entries { try add(tables, key, value) }
        #expect(try tables.finish() == 1)
        let written = try Data(contentsOf: URL(fileURLWithPath: directory.path + "/000001.staged"))

        let reference = directory.path + "/reference.ldb"
        var error: UnsafeMutablePointer<CChar>?
        let keys = table.entries.map { entry in entry.0.withUnsafeBytes { Data($0) } }
        let values = table.entries.map { entry in entry.1.withUnsafeBytes { Data($0) } }
        let wrote = withPointers(keys) { keyPointers, keyLengths in
            withPointers(values) { valuePointers, valueLengths in
                w2v_reference_table(
                    reference, keyPointers, keyLengths, valuePointers, valueLengths, table.entries.count,
                    table.blockSize, Int32(table.bloomBitsPerKey), &error)
            }
        }
        #expect(wrote == 1, "\(error.map { String(cString: $0) } ?? "")")
        free(error)
        return (written, try Data(contentsOf: URL(fileURLWithPath: reference)))
    }

    /// CRC-32C: the standard's check value, both the instruction's and the table's code, over every length and
    /// alignment a block's end can have, around the lengths where the instruction's code runs three streams of 256
    /// bytes (768 bytes and multiples), and extended piece by piece.
    @Test func crc32cIsTheStandardsWithOrWithoutTheInstruction() {
        let check = Array("123456789".utf8)
        for portable in [Int32(0), 1] {
            #expect(w2v_crc32c(0, check, check.count, portable) == 0xE306_9283)
            #expect(w2v_crc32c(0, nil, 0, portable) == 0)
        }
        var random = SplitMix64(seed: 3)
        let data = (0..<4_200).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        data.withUnsafeBytes { data in
            for start in 0..<8 {
                let streams = [768, 1_536, 3_840].flatMap { ($0 - 9)...($0 + 9) }
                for count in Array(0..<80) + streams + [4_095, 4_096, 4_097, 4_192 - start] {
                    let piece = data.baseAddress! + start
                    let portable = w2v_crc32c(0, piece, count, 1)
                    #expect(w2v_crc32c(0, piece, count, 0) == portable)
                    let half = count / 2
                    #expect(w2v_crc32c(w2v_crc32c(0, piece, half, 0), piece + half, count - half, 0) == portable)
                }
            }
        }
    }
}

/// Calls `body` with C pointers to each of `pieces` and their lengths.
private func withPointers<Result>(
    _ pieces: [Data], _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result
) -> Result {
    let lengths = pieces.map(\.count)
    let storage = pieces.map { piece -> UnsafeMutablePointer<CChar> in
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(piece.count, 1))
        piece.withUnsafeBytes { bytes in
            if piece.count > 0 {
                UnsafeMutableRawPointer(copy).copyMemory(from: bytes.baseAddress!, byteCount: piece.count)
            }
        }
        return copy
    }
    defer { storage.forEach { $0.deallocate() } }
    let pointers: [UnsafePointer<CChar>?] = storage.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { pointers in
        lengths.withUnsafeBufferPointer { lengths in body(pointers.baseAddress!, lengths.baseAddress!) }
    }
}
