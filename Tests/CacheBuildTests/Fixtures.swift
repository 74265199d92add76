import CacheBuild
import Foundation
import LevelDB
import SearchIndex
import Support
import TestSupport
import VectorCache
import Word2Vec

/// Writes `vectors` as a gensim-style binary file and returns its path.
@discardableResult
func writeVectors(_ vectors: [(String, [Float])], to path: String, newline: Bool = false) throws -> String {
    let writer = try Word2VecWriter(
        path: path, count: vectors.count, dimension: vectors[0].1.count, layout: .binary(newlineAfterVector: newline))
    for (word, vector) in vectors { try writer.append(word: word, vector: vector) }
    try writer.close()
    return path
}

/// `count` words in no key order, with values derived from their position.
func shuffledVectors(count: Int, dimension: Int, seed: UInt64 = 3) -> [(String, [Float])] {
    var random = SplitMix64(seed: seed)
    let words = (0..<count).map { "word\($0)" }.shuffled(using: &random)
    return words.enumerated().map { index, word in (word, (0..<dimension).map { Float(index * dimension + $0) }) }
}

/// Builds a cache and returns the summary.
@discardableResult
func build(
    _ vectorsPath: String, into cachePath: String, configure: (inout BuildRequest) -> Void = { _ in }
) throws -> BuildSummary {
    var request = BuildRequest(vectorsPath: vectorsPath, cachePath: cachePath)
    configure(&request)
    return try CacheBuilder(request).run()
}

/// Every word key and value of a cache, in key order, read straight from LevelDB.
func wordEntries(_ cachePath: String) throws -> [([UInt8], [UInt8])] {
    let database = try Database(path: cachePath)
    let iterator = try database.makeIterator()
    var entries: [([UInt8], [UInt8])] = []
    iterator.seekToFirst()
    while iterator.isValid {
        let key = try iterator.key()
        if key.first != 0 { entries.append((key, try iterator.value())) }
        iterator.next()
    }
    try iterator.checkError()
    return entries
}

/// A cache built from gensim's small FastText model of the fuzz corpus (dimension 4, 16 buckets, n-grams of 2-4
/// characters), the fuzz target's leading option byte left out; its path.
func fastTextCache(in directory: TemporaryDirectory) throws -> String {
    let seed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/FuzzFastText/gensim-0.bin")
    try Data(try Data(contentsOf: seed).dropFirst()).write(to: URL(fileURLWithPath: directory.file("model.bin")))
    try build(directory.file("model.bin"), into: directory.file("cache"))
    return directory.file("cache")
}
