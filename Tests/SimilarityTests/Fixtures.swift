import CacheBuild
import Foundation
import SearchIndex
import Similarity
import Support
import TestSupport
import VectorCache
import Word2Vec

/// Writes `vectors` as a gensim-style binary file and builds a cache from it; returns the open search.
func searchableCache(_ vectors: [(String, [Float])], in directory: TemporaryDirectory, name: String = "cache") throws
    -> SimilaritySearch
{
    let file = directory.file(name + ".bin")
    let writer = try Word2VecWriter(
        path: file, count: vectors.count, dimension: vectors[0].1.count, layout: .binary(newlineAfterVector: false))
    for (word, vector) in vectors { try writer.append(word: word, vector: vector) }
    try writer.close()
    let cachePath = directory.file(name)
    _ = try CacheBuilder(BuildRequest(vectorsPath: file, cachePath: cachePath)).run()
    return try SimilaritySearch(cache: try VectorCache(path: cachePath))
}

/// `count` words around `clusters` centres (so that words have close neighbours and near ties), dimension `dimension`.
func clusteredVectors(count: Int, dimension: Int, clusters: Int = 40, seed: UInt64 = 7) -> [(String, [Float])] {
    var random = SplitMix64(seed: seed)
    func gaussian() -> Float {
        let u = max(Double(random.next() >> 11) / Double(1 << 53), 1e-12)
        let v = Double(random.next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u)).squareRoot() * cos(2 * .pi * v))
    }
    let centres = (0..<clusters).map { _ in (0..<dimension).map { _ in gaussian() } }
    return (0..<count).map { i in
        let centre = centres[i % clusters]
        return ("w\(i)", centre.map { $0 + 0.3 * gaussian() })
    }
}

/// gensim's most_similar computed the slow, obvious way in float64: every usable row scored, query rows left out.
func bruteForce(_ vectors: [(String, [Float])], positive: [Int], negative: [Int], clipEnd: Int? = nil) -> [(
    row: Int, score: Double
)] {
    func norm(_ v: [Float]) -> Double { v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
    let dimension = vectors[0].1.count
    var mean = [Double](repeating: 0, count: dimension)
    for (row, sign) in positive.map({ ($0, 1.0) }) + negative.map({ ($0, -1.0) }) {
        let n = norm(vectors[row].1)
        for i in 0..<dimension { mean[i] += sign * Double(vectors[row].1[i]) / n }
    }
    let length = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
    mean = mean.map { $0 / length }
    let excluded = Set(positive + negative)
    return (0..<(clipEnd ?? vectors.count)).filter { !excluded.contains($0) && norm(vectors[$0].1) > 0 }.map { row in
        let v = vectors[row].1
        return (row, zip(v, mean).reduce(0.0) { $0 + Double($1.0) * $1.1 } / norm(v))
    }.sorted { $0.score > $1.score }
}
