import CacheBuild
import Foundation
import LevelDB
import Support
import TestSupport
import Testing
import VectorCache
import Word2Vec

/// A fastText cache's n-gram rows read into memory in parts, one thread each: the vectors are those read from the
/// cache row by row, and a row missing, of the wrong size or beyond the manifest's count is named, never used.
@Suite struct SubwordMatrixTests {
    @Test(arguments: [1, 2, 3, 16, 40]) func rowsReadInPartsGiveTheCachesVectors(parts: Int) throws {
        let directory = TemporaryDirectory()
        let cache = try VectorCache(path: try fastTextCache(in: directory))
        #expect(cache.manifest.subwords?.bucket == 16)
        let matrix = try SubwordMatrix(cache: cache, parts: parts)
        for word in ["zebra", "héllo", "qq", "a", "日本語"] + (0..<40).map({ "w\($0)xyz" }) {
            let expected = try cache.subwordVector(for: Array(word.utf8))
            let read = matrix.vectorBytes(for: Array(word.utf8)).map { $0.withUnsafeBytes { Float32Bytes.decode($0) } }
            #expect(read == expected, "\(word)")
        }
    }

    @Test func aMissingExtraOrWrongSizedRowIsDamage() throws {
        let changes: [(String, (Database) throws -> Void)] = [
            ("lacks n-gram row 5 of the 16 its manifest names", { try $0.delete(CacheKeys.subwordRow(5)) }),
            ("holds n-gram row 9 in 3 bytes, not 16", { try $0.put(CacheKeys.subwordRow(9), [0, 0, 0]) }),
            (
                "holds more n-gram rows than the 16",
                { try $0.put(CacheKeys.subwordRow(16), [UInt8](repeating: 0, count: 16)) }
            ),
        ]
        for (message, change) in changes {
            let directory = TemporaryDirectory()
            let path = try fastTextCache(in: directory)
            let database = try Database(path: path)
            try change(database)
            try database.close()
            let cache = try VectorCache(path: path)
            for parts in [1, 2, 3] {
                #expect("\(message), \(parts) parts") {
                    try SubwordMatrix(cache: cache, parts: parts)
                } throws: {
                    ($0 as? CacheError)?.kind == .corrupt && "\($0)".contains(message) && "\($0)".contains("verify")
                }
            }
        }
    }
}
