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

/// A cache of dimension 6 with the four datasets prepared from a few lines each.
func preparedCache(in directory: TemporaryDirectory) throws -> CacheWriter {
    let writer = try writableCache(try buildCache(directory, words: ["the", "cat", "sat", "good"]))
    let oov = OOVSource(random: testOOV)
    _ = try POSDataset.prepare(
        train: try textFile(directory, "train.txt", "the DT\ncat NN\nsat VBD\n\nthe DT\ndog NN\n"),
        test: try textFile(directory, "test.txt", "the DT\n"), into: writer, options: POSOptions(), oov: oov)
    let sentence =
        "1\tthe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tcat\tcat\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n"
        + "3\tsat\tsit\tVERB\tVBD\t_\t0\troot\t_\t_\n\n"
    _ = try ParserDataset.prepare(
        train: try textFile(directory, "train.conllu", sentence + sentence),
        test: try textFile(directory, "test.conllu", sentence), into: writer, options: ParserOptions(), oov: oov)
    try "pos\tgood film\nneg\tbad bad film , bad\n".write(
        toFile: directory.file("train.tsv"), atomically: true, encoding: .utf8)
    try "pos\tgood unseen\n".write(toFile: directory.file("test.tsv"), atomically: true, encoding: .utf8)
    var sentiment = SentimentOptions()
    sentiment.maxLength = 4
    _ = try SentimentDataset.prepare(
        train: directory.file("train.tsv"), test: directory.file("test.tsv"), into: writer, options: sentiment,
        oov: oov)
    let pairs = (0..<12).map { n in
        (0...(n % 7)).map { "s\($0)" }.joined(separator: " ") + "\t"
            + (0...(n % 5)).map { "t\($0)" }.joined(separator: " ")
    }
    try pairs.joined(separator: "\n").write(toFile: directory.file("pairs.tsv"), atomically: true, encoding: .utf8)
    var translation = TranslationOptions()
    translation.pretokenized = true
    _ = try TranslationDataset.prepare(
        train: .tsv(directory.file("pairs.tsv")), valid: nil, into: writer, options: translation)
    return writer
}
