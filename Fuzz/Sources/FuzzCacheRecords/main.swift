import CacheBuild
import Datasets
import Foundation
import FuzzSupport
import LevelDB
import Preprocessing
import SearchIndex
import VectorCache
import Word2Vec

/// A key of the cache's records: a NUL, then the names of its namespaces, each ended by a NUL but the last.
func key(_ names: String...) -> [UInt8] { [0] + Array(names.joined(separator: "\0").utf8) }

/// The JSON records every read of a cache sizes things by, under their keys: the cache's manifest, the search index's
/// header, each prepared dataset's manifest, and the datasets' lists of strings (vocabularies, tags, labels). A change of key layout stops the fuzzer at start-up.
let keys: [[UInt8]] =
    [key("manifest"), key("search", "h")] + DatasetName.allCases.map { key("dataset", $0.rawValue, "manifest") }
    + [
        ("pos", "vocab"), ("pos", "tags"), ("parser", "words"), ("parser", "tags"), ("parser", "labels"),
        ("parser", "transitions"), ("sentiment", "vocab"), ("translation", "source_vocab"),
        ("translation", "target_vocab"),
    ].map { key("dataset", $0, "strings", $1) }

/// A small cache with a search index and the four datasets prepared, built once per process in memory-backed
/// storage, and its records as the build and the prepares wrote them. The seed `built-and-prepared` in Fuzz/corpus
/// holds the first three, made by the command line: `w2vcache sample --words 40 --dim 4 --seed 3`, `build`, and
/// `prepare pos` of the same rows as here.
let (cachePath, originals): (String, [[UInt8]]) = {
    let vectors = FuzzInput.path("-records.bin")
    let path = FuzzInput.path("-records-cache")
    try? FileManager.default.removeItem(atPath: path)
    let oov = OOVSource(random: OOVVectors(dimension: 4, seed: 1, range: 0.25))
    func text(_ name: String, _ content: String) -> TextFile { TextFile(path: name, bytes: Array(content.utf8)) }
    let sentence =
        "1\tthe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tcat\tcat\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n"
        + "3\tsat\tsit\tVERB\tVBD\t_\t0\troot\t_\t_\n\n"
    do {
        try SampleVectors.write(path: vectors, count: 40, dimension: 4, seed: 3)
        _ = try CacheBuilder(BuildRequest(vectorsPath: vectors, cachePath: path)).run()
        let writer = try CacheWriter(path: path, purpose: "the fuzzer")
        _ = try POSDataset.prepare(
            train: text("train.txt", "the DT\ncat NN\nsat VBD\n\nThe DT\ndog NN\n"), test: text("test.txt", "the DT\n"),
            into: writer, options: POSOptions(), oov: oov)
        _ = try ParserDataset.prepare(
            train: text("train.conllu", sentence + sentence), test: text("test.conllu", sentence), into: writer,
            options: ParserOptions(), oov: oov)
        var sentiment = SentimentOptions()
        sentiment.maxLength = 4
        _ = try SentimentDataset.prepare(
            train: FuzzInput.file(Array("pos\tgood film\nneg\tbad bad film , bad\n".utf8), suffix: "-train.tsv"),
            test: FuzzInput.file(Array("pos\tgood unseen\n".utf8), suffix: "-test.tsv"), into: writer,
            options: sentiment, oov: oov)
        var translation = TranslationOptions()
        translation.pretokenized = true
        let pairs = (0..<12).map { n in
            (0...(n % 7)).map { "s\($0)" }.joined(separator: " ") + "\t"
                + (0...(n % 5)).map { "t\($0)" }.joined(separator: " ")
        }
        _ = try TranslationDataset.prepare(
            train: .tsv(FuzzInput.file(Array(pairs.joined(separator: "\n").utf8), suffix: "-pairs.tsv")), valid: nil,
            into: writer, options: translation)
        try writer.close()
        let database = try Database(path: path)
        let originals = try keys.map { key in
            guard let value = try database.get(key) else { fatalError("the cache has no record under \(key)") }
            return value
        }
        try database.close()
        return (path, originals)
    } catch {
        fatalError("cannot make the fuzzer's cache: \(error)")
    }
}()

/// A step down a JSON tree.
enum Step: Sendable {
    case key(String)
    case index(Int)
}

/// A place in one of the records: the record's index and the steps down to a value.
struct Field: Sendable {
    var record: Int
    var path: [Step]
}

/// The records as JSON trees.
func trees() -> [Any] { originals.map { try! JSONSerialization.jsonObject(with: Data($0)) } }

/// Every value and list in the records: the fields an edit changes.
let fields: [Field] = {
    var fields: [Field] = []
    func walk(_ value: Any, _ field: Field) {
        if let object = value as? [String: Any] {
            for key in object.keys.sorted() {
                walk(object[key]!, Field(record: field.record, path: field.path + [.key(key)]))
            }
        } else if let array = value as? [Any] {
            fields.append(field)
            for (index, element) in array.enumerated() {
                walk(element, Field(record: field.record, path: field.path + [.index(index)]))
            }
        } else if value is NSNumber || value is String {
            fields.append(field)
        }
    }
    for (record, tree) in trees().enumerated() { walk(tree, Field(record: record, path: [])) }
    return fields
}()

/// `tree` with the value at `path` replaced by `value` (`nil` removes it).
func replacing(_ tree: Any, at path: ArraySlice<Step>, with value: Any?) -> Any {
    guard let step = path.first else { return value ?? NSNull() }
    if var object = tree as? [String: Any], case .key(let key) = step {
        object[key] = path.count == 1 ? value : replacing(object[key] ?? NSNull(), at: path.dropFirst(), with: value)
        return object
    }
    if var array = tree as? [Any], case .index(let index) = step, index < array.count {
        if path.count == 1 && value == nil {
            array.remove(at: index)
        } else {
            array[index] = replacing(array[index], at: path.dropFirst(), with: value)
        }
        return array
    }
    return tree
}

/// The records an input stands for. An input that starts with `{` is up to 15 records separated by NUL bytes
/// (JSON holds none), in the order of `keys`, a part left out keeping the record the build wrote. Any other input is
/// edits of the built records, 11 bytes each: a field (two bytes), what to put there (a number of eight kinds: as
/// given, small, `Int.max` divided, negative, a power of two; removed; a string; a fraction) and a 64-bit value.
func records(_ input: [UInt8]) -> [[UInt8]] {
    if input.first == UInt8(ascii: "{") {
        let parts = input.split(separator: 0, maxSplits: keys.count - 1, omittingEmptySubsequences: false)
        return originals.indices.map { $0 < parts.count ? Array(parts[$0]) : originals[$0] }
    }
    var edited = trees()
    for offset in stride(from: 0, to: input.count - 10, by: 11) {
        let field = fields[(Int(input[offset]) | Int(input[offset + 1]) << 8) % fields.count]
        let raw = input[(offset + 3)..<(offset + 11)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let number = Int(truncatingIfNeeded: raw)
        let value: Any? =
            switch input[offset + 2] % 8 {
            case 0: number
            case 1: Int(raw % 256) - 128
            case 2: Int.max / Int(raw % 64 + 1)
            case 3: -Int(raw % (1 << 40))
            case 4: 1 << Int(raw % 63)
            case 5: nil
            case 6: "x"
            default: 1.5
            }
        edited[field.record] = replacing(edited[field.record], at: field.path[...], with: value)
    }
    return edited.map { Array(try! JSONSerialization.data(withJSONObject: $0, options: .fragmentsAllowed)) }
}

/// The records of the input written into the cache, which is then read as every command and the server read it:
/// verified whole (`w2vcache verify`, datasets included), opened, vectors (in and out of vocabulary, n-grams where
/// the manifest claims them), the search index, and each dataset's arrays and the first and last batch of each split. An error is fine; a crash, a trap or an allocation
/// of what a record claims is not.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCacheRecords(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    do {
        let database = try Database(path: cachePath)
        for (key, record) in zip(keys, records(FuzzInput.bytes(data, size))) { try database.put(key, record) }
        try database.close()
    } catch {
        fatalError("cannot write the records: \(error)")
    }
    do {
        let cache = try VectorCache(path: cachePath)
        var report = try cache.verify()
        try DatasetStore.verify(in: cache, into: &report)
        for word in ["the", "dog"] {
            if let vector = try cache.vector(for: word) { precondition(vector.count == cache.dimension) }
        }
        let oov = try OOVSource(cache: cache, random: OOVVectors(dimension: cache.dimension, seed: 1, range: 0.25))
        let unseen = try oov.vectorBytes(for: Array("unseen".utf8))
        precondition(unseen.bytes.count == 4 * cache.dimension)
        if cache.manifest.subwords != nil {
            _ = try? SubwordMatrix(cache: cache, parts: 2)
        }
        if let index = try? cache.loadSearchIndex() {
            for row in 0..<index.rowCount { _ = index.word(row) }
        }
        for manifest in try DatasetStore.all(in: cache) {
            let stored = try DatasetStore.load(manifest.name, from: cache)
            for array in manifest.arrays.keys.sorted() { _ = try? stored.bytes(of: array) }
        }
        for name in DatasetName.allCases {
            let source = try DatasetLoader.load(name, from: cache)
            for split in try DatasetStore.manifest(name, in: cache)?.splits.keys.sorted() ?? [] {
                let plan = try source.epoch(split: split, batchSize: 2, seed: 1, epoch: 0, shuffle: true)
                for batch in Set([0, plan.batchCount - 1]) where batch >= 0 {
                    _ = try source.batch(split: split, indices: plan.batch(batch))
                }
            }
        }
    } catch is CacheError {
    } catch is DatasetError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
