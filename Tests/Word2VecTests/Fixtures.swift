import Foundation
import TestSupport
import Word2Vec

extension TemporaryDirectory {
    /// Writes raw bytes, gzipped with zlib when `gzip` is set.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8], gzip: Bool = false) throws -> String {
        let output = try OutputFile(path: file(name), gzip: gzip)
        try output.write(bytes)
        try output.close()
        return file(name)
    }
}

/// Deterministic test vectors: `count` words `w0`, `w1`, … with values derived from their index.
func testVectors(count: Int, dimension: Int) -> [(String, [Float])] {
    (0..<count).map { index in
        ("w\(index)", (0..<dimension).map { Float(index) + Float($0) / 8 })
    }
}

/// Writes `vectors` in `layout` and returns the path.
@discardableResult
func writeVectors(
    _ vectors: [(String, [Float])], to path: String, layout: Word2VecWriter.Layout, gzip: Bool = false
) throws -> String {
    let writer = try Word2VecWriter(
        path: path, count: vectors.count, dimension: vectors.first?.1.count ?? 1, layout: layout, gzip: gzip)
    for (word, vector) in vectors { try writer.append(word: word, vector: vector) }
    try writer.close()
    return path
}

/// Every record of a file, copied out.
func readAll(
    _ path: String, format: Word2VecFormat? = nil, limit: Int? = nil, nonFinite: RecordPolicy = .fail,
    invalidUTF8: RecordPolicy = .keep, readAhead: Bool = true
) throws -> (records: [([UInt8], [Float])], statistics: Word2VecReadStatistics, header: Word2VecHeader) {
    let reader = try Word2VecReader(path: path, format: format, readAhead: readAhead)
    var records: [([UInt8], [Float])] = []
    let statistics = try reader.forEachRecord(limit: limit, nonFinite: nonFinite, invalidUTF8: invalidUTF8) { record in
        let values = (0..<(record.vector.count / 4)).map {
            Float(
                bitPattern: UInt32(littleEndian: record.vector.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
        }
        records.append((Array(record.word), values))
    }
    return (records, statistics, reader.header)
}
