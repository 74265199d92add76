import CacheBuild
import Datasets
import Foundation
import Preprocessing
import TestSupport
import VectorCache
import Word2Vec

/// Builds a cache at `directory/cache` holding `words` with vectors derived from their position.
@discardableResult
func buildCache(_ directory: TemporaryDirectory, words: [String], dimension: Int = 6, name: String = "cache") throws
    -> String
{
    let source = directory.file(name + ".bin")
    let writer = try Word2VecWriter(
        path: source, count: words.count, dimension: dimension, layout: .binary(newlineAfterVector: false))
    for (index, word) in words.enumerated() {
        try writer.append(word: word, vector: (0..<dimension).map { Float(index) + Float($0) / 10 })
    }
    try writer.close()
    _ = try CacheBuilder(BuildRequest(vectorsPath: source, cachePath: directory.file(name))).run()
    return directory.file(name)
}

/// Writes a text file and returns it read back.
func textFile(_ directory: TemporaryDirectory, _ name: String, _ text: String) throws -> TextFile {
    try text.write(toFile: directory.file(name), atomically: true, encoding: .utf8)
    return try TextFile(path: directory.file(name))
}

let testOOV = OOVVectors(dimension: 6, seed: 1, range: 0.25)

/// Decodes a batch array's little-endian values.
func values<T: BitwiseCopyable>(_ array: BatchArray, as type: T.Type) -> [T] {
    array.bytes.withUnsafeBytes { raw in
        (0..<(raw.count / MemoryLayout<T>.size)).map {
            raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)
        }
    }
}

/// Opens a cache to prepare datasets into it (holding its writer lock).
func writableCache(_ path: String) throws -> CacheWriter {
    try CacheWriter(path: path, purpose: "a test")
}
