import CacheBuild
import Foundation
import FuzzSupport
import LevelDB
import VectorCache
import Word2Vec

/// The word the fuzzed marker belongs to: given a seeded random vector (seed 1, range 0.25) when the cache was made.
let word = Array("quagga".utf8)

/// Its marker's key: a NUL, the namespace `oov`, a NUL, the word. A change of key layout stops the fuzzer at start-up.
let markerKey: [UInt8] = [0] + Array("oov".utf8) + [0] + word

/// A cache of 40 sample vectors of dimension 4 with `quagga` added as an out-of-vocabulary word, built once per
/// process in memory-backed storage.
let cachePath: String = {
    let vectors = FuzzInput.path("-oov.bin")
    let path = FuzzInput.path("-oov-cache")
    try? FileManager.default.removeItem(atPath: path)
    do {
        try SampleVectors.write(path: vectors, count: 40, dimension: 4, seed: 3)
        _ = try CacheBuilder(BuildRequest(vectorsPath: vectors, cachePath: path)).run()
        let writer = try CacheWriter(path: path, purpose: "the fuzzer")
        try writer.replace(
            in: .dataset, under: word, with: MetadataEntries(), oovWords: [word],
            generator: OOVSource(random: OOVVectors(dimension: 4, seed: 1, range: 0.25)))
        try writer.close()
        let database = try Database(path: path)
        guard try database.get(markerKey) == Array("random 1 0.25".utf8) else {
            fatalError("the cache has no marker \"random 1 0.25\" under \(markerKey)")
        }
        try database.close()
    } catch {
        fatalError("cannot make the fuzzer's cache: \(error)")
    }
    return path
}()

/// The input as the marker of `quagga`, then `verify` and the kind a server reports: never a crash, and the cache
/// verifies exactly when the marker is the one written (`random 1 0.25`) or the empty one of the releases up to
/// 0.4.0, which is not made again; any other marker is damage `verify` names (another seed or range, `subword` on a
/// cache without n-gram rows, or a marker that is none of the three).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOOVMarker(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let marker = FuzzInput.bytes(data, size)
    do {
        let database = try Database(path: cachePath)
        try database.put(markerKey, marker)
        try database.close()
        let cache = try VectorCache(path: cachePath)
        let kind = try cache.outOfVocabularyKind(word)
        let report = try cache.verify()
        try cache.close()
        let written = marker == Array("random 1 0.25".utf8)
        if report.isHealthy != (written || marker.isEmpty) {
            fatalError("marker \(marker): verify says \(report.isHealthy ? "healthy" : "\(report.problems)")")
        }
        if kind != (marker == Array("subword".utf8) ? .subword : .random) {
            fatalError("marker \(marker): the kind read is \(String(describing: kind))")
        }
    } catch {
        fatalError("the cache cannot be read: \(error)")
    }
    return 0
}
