import CacheBuild
import Datasets
import Foundation
import Preprocessing
import Support
import TestSupport
import Testing
import VectorCache
import Word2Vec

@testable import WireFormat

@Suite struct RawFrameTests {
    /// The JSON header and payload of a one-frame stream.
    func payload(_ frame: [UInt8]) -> (header: [[String: Any]], payload: [UInt8]) {
        let size = frame[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let payload = Array(frame[8...])
        #expect(payload.count == size)
        let length = payload[0..<4].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((4 + length) % 64 == 0, "the first array starts on a 64-byte boundary")
        let object = try? JSONSerialization.jsonObject(with: Data(payload[4..<(4 + length)])) as? [String: Any]
        return ((object?["arrays"] as? [[String: Any]]) ?? [], payload)
    }

    @Test func arraysSitAtAlignedOffsetsTheHeaderStates() throws {
        let layouts = [
            ArrayLayout(name: "x", type: .float32, shape: [3, 5]), ArrayLayout(name: "y", type: .int64, shape: [3]),
            ArrayLayout(name: "bucket", type: .int64, shape: []),
        ]
        let values: [[UInt8]] = [
            (0..<60).map { UInt8($0) }, (0..<24).map { UInt8(100 + $0) }, [7, 0, 0, 0, 0, 0, 0, 0],
        ]
        var written = [UInt8](repeating: 0xAA, count: BatchEncoding.payloadSize(.raw, layouts))
        written.withUnsafeMutableBytes { out in
            BatchEncoding.writePayload(.raw, layouts, into: out) { destinations in
                for (destination, bytes) in zip(destinations, values) { destination.copyBytes(from: bytes) }
            }
        }
        let frame = withUnsafeBytes(of: UInt64(written.count).littleEndian) { Array($0) } + written
        let (header, payload) = payload(frame)
        #expect(header.map { $0["name"] as? String } == ["x", "y", "bucket"])
        #expect(header.map { $0["dtype"] as? String } == ["<f4", "<i8", "<i8"])
        #expect(header.map { $0["shape"] as? [Int] } == [[3, 5], [3], []])
        for (entry, bytes) in zip(header, values) {
            let offset = try #require(entry["offset"] as? Int)
            #expect(offset % 64 == 0 && entry["nbytes"] as? Int == bytes.count)
            #expect(Array(payload[offset..<(offset + bytes.count)]) == bytes)
        }
        #expect(!payload.contains(0xAA), "padding is written, not left as it was")
    }

    @Test func aCompactPOSFrameCarriesRowIdsThatGiveTheSameWindows() throws {
        let directory = TemporaryDirectory()
        let words = ["the", "cat", "sat", "on", "mat"]
        let writer = try Word2VecWriter(
            path: directory.file("v.bin"), count: words.count, dimension: 4, layout: .binary(newlineAfterVector: false))
        for (index, word) in words.enumerated() {
            try writer.append(word: word, vector: (0..<4).map { Float(index * 10 + $0) })
        }
        try writer.close()
        _ = try CacheBuilder(BuildRequest(vectorsPath: directory.file("v.bin"), cachePath: directory.file("cache")))
            .run()
        let cacheWriter = try CacheWriter(path: directory.file("cache"), purpose: "a test")
        try "the DT\ncat NN\nsat VBD\non IN\nthe DT\nmat NN\n".write(
            toFile: directory.file("t.txt"), atomically: true, encoding: .utf8)
        _ = try POSDataset.prepare(
            train: try TextFile(path: directory.file("t.txt")), test: try TextFile(path: directory.file("t.txt")),
            into: cacheWriter, options: POSOptions(),
            oov: OOVSource(random: OOVVectors(dimension: 4, seed: 1, range: 0.25)))
        let dataset = try POSDataset(cache: cacheWriter.cache)
        let indices: ArraySlice<Int> = [3, 0, 2]
        let full = payload(try dataset.frame(.raw, split: "train", indices: indices))
        let compact = payload(try dataset.frame(.raw, split: "train", indices: indices, compact: true))
        #expect(
            compact.header[0]["gather"] as? String == "embeddings"
                && compact.header[0]["ids_shape"] as? [Int] == [3, 3])
        #expect(compact.header[0]["shape"] as? [Int] == full.header[0]["shape"] as? [Int])
        func bytes(_ side: (header: [[String: Any]], payload: [UInt8]), _ index: Int) -> [UInt8] {
            let offset = side.header[index]["offset"] as! Int, count = side.header[index]["nbytes"] as! Int
            return Array(side.payload[offset..<(offset + count)])
        }
        let ids = bytes(compact, 0).withUnsafeBytes { raw in
            (0..<9).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        }
        let rowBytes = 4 * 4
        let expanded = dataset.embeddings.withUnsafeBytes { table in
            ids.flatMap { Array(table[($0 * rowBytes)..<(($0 + 1) * rowBytes)]) }
        }
        #expect(expanded == bytes(full, 0), "looking the ids up in the embedding matrix gives the full windows")
        #expect(bytes(compact, 1) == bytes(full, 1))
        #expect(try dataset.batch(split: "train", indices: indices)[0].bytes == bytes(full, 0))
    }
}
