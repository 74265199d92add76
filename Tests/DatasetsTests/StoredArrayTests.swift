import CacheBuild
import Foundation
import Preprocessing
import Support
import TestSupport
import Testing
import VectorCache

@testable import Datasets

/// Arrays of several 1 MB chunks read back whole (the chunks are read in parallel), and a chunk that is missing or
/// of the wrong size is named, never a short or shifted array.
@Suite struct StoredArrayTests {
    /// 2.4 MB of floats: two full chunks and a partial one.
    let values = (0..<600_000).map { Float($0) / 7 }

    /// A cache with POS prepared from three rows, open to change, and the dataset's manifest.
    func preparedPOS(_ directory: TemporaryDirectory) throws -> (CacheWriter, DatasetManifest) {
        let writer = try writableCache(try buildCache(directory, words: ["the", "cat"]))
        let prepared = try POSDataset.prepare(
            train: try textFile(directory, "train.txt", "the DT\ncat NN\nsat VBD\n"),
            test: try textFile(directory, "test.txt", "the DT\n"), into: writer, options: POSOptions(),
            oov: OOVSource(random: testOOV))
        return (writer, prepared.prepared.manifest)
    }

    /// The cache of a prepared POS dataset whose manifest also lists `big`, stored as `chunks` (chunk index, bytes).
    func stored(_ directory: TemporaryDirectory, chunks: (inout [(Int, [UInt8])]) -> Void) throws -> StoredDataset {
        var (writer, manifest) = try preparedPOS(directory)
        var arrays = DatasetWriter(name: .pos)
        arrays.add("big", values, type: .float32, shape: [values.count])
        manifest.arrays["big"] = arrays.arrays["big"]
        var parts = values.withUnsafeBytes { bytes in
            stride(from: 0, to: bytes.count, by: DatasetStore.chunkBytes).enumerated().map { index, offset in
                (index, Array(bytes[offset..<min(offset + DatasetStore.chunkBytes, bytes.count)]))
            }
        }
        chunks(&parts)
        var entries = MetadataEntries()
        for (index, bytes) in parts { entries.put(DatasetStore.arrayKey(.pos, "big", chunk: index), bytes) }
        _ = try writer.replace(in: .dataset, under: DatasetStore.prefix(.pos) + Array("array\0big".utf8), with: entries)
        return StoredDataset(manifest: manifest, metadata: DatasetStore.metadata(writer.cache))
    }

    func isDamage(_ error: any Error, naming text: String) -> Bool {
        guard case .damaged(.pos, let reason)? = error as? DatasetError else { return false }
        return reason.contains(text)
    }

    @Test func anArrayOfSeveralChunksReadsBackWhole() throws {
        let dataset = try stored(TemporaryDirectory()) { #expect($0.count == 3) }
        #expect(try dataset.array("big", as: Float.self) == values)
        let header: [UInt8] = Array("header".utf8)
        let bytes = try dataset.bytes(of: "big", after: header)
        #expect(Array(bytes.prefix(header.count)) == header)
        #expect(bytes.count == header.count + values.count * 4)
        #expect(Array(bytes.dropFirst(header.count)) == values.withUnsafeBytes { Array($0) })
    }

    /// An array handed over in pieces of any size is stored in the chunks, in the order, of its bytes cut every
    /// megabyte (an embedding matrix is added row by row).
    @Test func anArrayAddedInPiecesIsStoredInWholeChunks() {
        let bytes = values.withUnsafeBytes { Array($0) }
        func crc(ofChunks chunks: [ArraySlice<UInt8>], of array: String) -> UInt32 {
            var crc: UInt32 = 0
            for (index, chunk) in chunks.enumerated() {
                crc = DatasetStore.arrayKey(.pos, array, chunk: index).withUnsafeBytes {
                    CRC32.checksum($0, continuing: crc)
                }
                crc = Array(chunk).withUnsafeBytes { CRC32.checksum($0, continuing: crc) }
            }
            return crc
        }
        let cut = stride(from: 0, to: bytes.count, by: DatasetStore.chunkBytes).map {
            bytes[$0..<min($0 + DatasetStore.chunkBytes, bytes.count)]
        }
        for sizes in [[bytes.count], [1, 13, 100_003], [DatasetStore.chunkBytes], [DatasetStore.chunkBytes - 1, 2]] {
            var writer = DatasetWriter(name: .pos)
            writer.add("big", type: .float32, shape: [values.count]) { append in
                bytes.withUnsafeBytes { all in
                    var (offset, piece) = (0, 0)
                    while offset < all.count {
                        let size = min(sizes[piece % sizes.count], all.count - offset)
                        append(UnsafeRawBufferPointer(rebasing: all[offset..<offset + size]))
                        (offset, piece) = (offset + size, piece + 1)
                    }
                }
            }
            #expect(writer.arrays["big"] == ArrayInfo(type: .float32, shape: [values.count], chunks: 3), "\(sizes)")
            #expect(writer.contentCRC32 == crc(ofChunks: cut, of: "big"), "\(sizes)")
        }
        // An empty array is one empty chunk.
        var writer = DatasetWriter(name: .pos)
        writer.add("none", [Float](), type: .float32, shape: [0, 300])
        #expect(writer.arrays["none"] == ArrayInfo(type: .float32, shape: [0, 300], chunks: 1))
        #expect(writer.contentCRC32 == crc(ofChunks: [[]], of: "none"))
    }

    @Test func aMissingChunkIsNamed() throws {
        let dataset = try stored(TemporaryDirectory()) { $0.remove(at: 1) }
        #expect { try dataset.array("big", as: Float.self) } throws: {
            isDamage($0, naming: "chunk 1 of array big is missing")
        }
    }

    @Test func aChunkOfTheWrongSizeIsNamed() throws {
        let changes: [(inout [UInt8]) -> Void] = [{ $0.removeLast(4) }, { $0 += [0, 0, 0, 0] }]
        for change in changes {
            let dataset = try stored(TemporaryDirectory()) { change(&$0[1].1) }
            #expect { try dataset.bytes(of: "big") } throws: {
                isDamage($0, naming: "holds more or fewer bytes than the 2400000 expected")
            }
        }
    }

    @Test func aManifestCountingOtherChunksIsRefused() throws {
        var dataset = try stored(TemporaryDirectory()) { _ in }
        var manifest = dataset.manifest
        manifest.arrays["big"]?.chunks = 4
        dataset = StoredDataset(manifest: manifest, metadata: dataset.metadata)
        #expect { try dataset.array("big", as: Float.self) } throws: {
            isDamage($0, naming: "array big has shape [600000] in 4 chunks, which no prepare writes")
        }
    }

    /// A manifest's shapes are checked before anything is sized by them: a negative or overflowing shape trapped,
    /// and one claiming a gigabyte it does not store set it aside before the first chunk was read.
    @Test func aManifestClaimingWhatIsNotStoredIsRefusedBeforeAnythingIsAllocated() throws {
        let directory = TemporaryDirectory()
        let dataset = try stored(directory) { _ in }
        for (shape, chunks, message) in [
            ([250_000_000], 954, "chunk 953 of array big is missing"),
            ([-5], 1, "array big has shape [-5] in 1 chunks, which no prepare writes"),
            ([Int.max / 2, 4], 1, "which no prepare writes"),
        ] {
            var manifest = dataset.manifest
            manifest.arrays["big"] = ArrayInfo(type: .float32, shape: shape, chunks: chunks)
            let claimed = StoredDataset(manifest: manifest, metadata: dataset.metadata)
            #expect { try claimed.array("big", as: Float.self) } throws: { isDamage($0, naming: message) }
            #expect { try claimed.bytes(of: "big") } throws: { isDamage($0, naming: message) }
        }
    }

    /// A forged cache that stores an array's last chunk alone, far out, passes the check above: the array's size is
    /// bounded by the machine's memory before it is set aside (a terabyte killed the process): a machine that cannot
    /// hold it, not damage.
    @Test func anArrayLargerThanTheMachinesMemoryIsRefusedBeforeItIsAllocated() throws {
        let lastChunk = 3_814_697
        let dataset = try stored(TemporaryDirectory()) { $0 = [(lastChunk, [UInt8](repeating: 0, count: 278_528))] }
        var manifest = dataset.manifest
        manifest.arrays["big"] = ArrayInfo(type: .float32, shape: [1_000_000_000_000], chunks: lastChunk + 1)
        let claimed = StoredDataset(manifest: manifest, metadata: dataset.metadata)
        let message = "4000000000000 bytes, more than this machine's \(ProcessInfo.processInfo.physicalMemory) bytes"
        for read in [{ _ = try claimed.array("big", as: Float.self) }, { _ = try claimed.bytes(of: "big") }] {
            let error = #expect(throws: CacheError.self) { try read() }
            #expect(error?.kind == .unavailable && error?.message.contains(message) == true)
        }
    }

    /// A stored manifest with such a shape is damage, named when it is read, by every command and the server.
    @Test func aStoredManifestWithAShapeNoPrepareWritesIsDamaged() throws {
        let directory = TemporaryDirectory()
        var (writer, manifest) = try preparedPOS(directory)
        manifest.arrays["train.ids"]?.shape = [-5]
        var entries = MetadataEntries()
        entries.put(DatasetStore.manifestKey(.pos), try JSONEncoder().encode(manifest))
        _ = try writer.replace(in: .dataset, under: DatasetStore.manifestKey(.pos), with: entries)
        #expect { try DatasetStore.manifest(.pos, in: writer.cache) } throws: {
            isDamage($0, naming: "array train.ids has shape [-5] in 1 chunks, which no prepare writes")
        }
    }
}
