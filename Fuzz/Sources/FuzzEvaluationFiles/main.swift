import CacheBuild
import Foundation
import FuzzSupport
import Similarity
import VectorCache
import Word2Vec

/// A small cache (words a to h, in both cases for some) built once per process in memory-backed storage.
let search: SimilaritySearch = {
    let file = FuzzInput.file([], suffix: "-eval.bin")
    let cachePath = FuzzInput.path("-eval-cache")
    try? FileManager.default.removeItem(atPath: cachePath)
    let words = ["a", "b", "c", "d", "e", "f", "g", "h", "A", "B", "é", "É", "ß", "SS"]
    let writer = try! Word2VecWriter(
        path: file, count: words.count, dimension: 4, layout: .binary(newlineAfterVector: false))
    for (i, word) in words.enumerated() {
        try! writer.append(word: word, vector: [Float(i % 3), Float(i % 5), 1, Float(i & 1)])
    }
    try! writer.close()
    _ = try! CacheBuilder(BuildRequest(vectorsPath: file, cachePath: cachePath)).run()
    return try! SimilaritySearch(cache: try VectorCache(path: cachePath))
}()

/// Analogy questions and word-pair files, as `evaluate analogies` and `evaluate pairs` read them: the first byte picks
/// the file kind, restrict_vocab and the case handling.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEvaluationFiles(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let choice = data[0]
    let bytes = FuzzInput.bytes(data + 1, size - 1)
    let restrict = Int(choice >> 2 & 15) + 1
    let caseInsensitive = choice & 2 == 0
    do {
        if choice & 1 == 0 {
            let result = try AnalogyEvaluation.evaluate(
                bytes, path: "fuzz.txt", search: search, restrictVocab: restrict, caseInsensitive: caseInsensitive)
            let total = result.sections.last!
            precondition(total.correct + total.incorrect + result.outOfVocabulary == result.questions)
            precondition(result.accuracy >= 0 && result.accuracy <= 1)
            checkSkipped(result.skipped, lines: bytes)
        } else if let text = String(validating: bytes, as: UTF8.self) {
            let result = try WordPairEvaluation.evaluate(
                text, path: "fuzz.tsv", search: search, restrictVocab: restrict, caseInsensitive: caseInsensitive)
            precondition(result.pairs >= 2 && (result.pearson.isNaN || abs(result.pearson) <= 1))
            checkSkipped(result.skipped, lines: bytes)
        }
    } catch is SimilarityError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}

/// Skipped lines are counted with the first one's number, which is a line of the file.
func checkSkipped(_ skipped: SkippedLines, lines bytes: [UInt8]) {
    precondition((skipped.first == nil) == (skipped.count == 0))
    let lineCount = bytes.split(omittingEmptySubsequences: false) { $0 == 0x0A || $0 == 0x0D }.count
    precondition(skipped.count <= lineCount && (skipped.first ?? 1) >= 1 && (skipped.first ?? 1) <= lineCount)
}
