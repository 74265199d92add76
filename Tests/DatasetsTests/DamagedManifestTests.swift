import CacheBuild
import Foundation
import Preprocessing
import TestSupport
import Testing
import VectorCache

@testable import Datasets

/// A dataset's manifest is checked against its stored arrays as the dataset loads, before a batch indexes them: each
/// case here is one `FuzzCacheRecords` found, which trapped (an overflow, an index out of range) in the process that
/// loaded the dataset, the server's included.
@Suite struct DamagedManifestTests {
    /// Stores `bytes` as dataset `name`'s manifest.
    func store(_ name: DatasetName, _ bytes: [UInt8], in writer: CacheWriter) throws {
        var entries = MetadataEntries()
        entries.put(DatasetStore.manifestKey(name), bytes)
        _ = try writer.replace(in: .dataset, under: DatasetStore.manifestKey(name), with: entries)
    }

    /// An edit of `json[key][inner]`.
    static func editing(_ key: String, _ inner: String, _ change: @escaping (Any?) -> Any) -> (inout [String: Any]) ->
        Void
    {
        { json in
            var object = json[key] as? [String: Any] ?? [:]
            object[inner] = change(object[inner])
            json[key] = object
        }
    }

    @Test func aManifestThatDoesNotFitItsArraysIsDamageNotATrap() throws {
        let directory = TemporaryDirectory()
        let writer = try preparedCache(in: directory)
        func trainingExamples(_ name: DatasetName) throws -> Int {
            try #require(try DatasetStore.manifest(name, in: writer.cache)?.splits["train"])
        }
        let (configurations, reviews, pairs) = (
            try trainingExamples(.parser), try trainingExamples(.sentiment), try trainingExamples(.translation)
        )
        let oneMoreTrainingExample = Self.editing("splits", "train") { (($0 as? Int) ?? 0) + 1 }
        let cases: [(DatasetName, (inout [String: Any]) -> Void, String)] = [
            // vocabulary x dimension overflowed.
            (
                .pos, { $0["dimension"] = Int.max / 2 },
                "its manifest says dimension \(Int.max / 2), where the cache has 6"
            ),
            (.pos, Self.editing("options", "window") { _ in Int.min }, "a window of \(Int.min), which no prepare"),
            // A batch read past the stored configurations, reviews or pairs.
            (
                .parser, oneMoreTrainingExample,
                "the train split's features or transitions do not fit its \(configurations + 1) configurations"
            ),
            (
                .sentiment, oneMoreTrainingExample,
                "the train split's ids, labels or lengths do not fit its \(reviews + 1) reviews"
            ),
            (.sentiment, Self.editing("options", "maxLength") { _ in 0 }, "reviews of 0 tokens at most"),
            // Reviews x length overflowed.
            (
                .sentiment, Self.editing("options", "maxLength") { _ in Int.max / 2 },
                "reviews of \(Int.max / 2) tokens at most"
            ),
            (.translation, oneMoreTrainingExample, "the train split's buckets do not fit its \(pairs + 1) pairs"),
            // Another bucket shape: pairs counted by the targets, sources read past their end.
            (
                .translation,
                Self.editing("options", "buckets") { buckets in
                    var list = buckets as? [[String: Any]] ?? []
                    list[0]["target"] = 4
                    return list
                }, "the train split's buckets do not fit its \(pairs) pairs"
            ),
            (
                .translation, Self.editing("options", "buckets") { _ in [["source": 5, "target": 0]] },
                "its manifest says buckets [5,0], which no prepare writes"
            ),
            (
                .translation, Self.editing("options", "buckets") { _ in [["source": Int.max / 2, "target": 10]] },
                "its manifest says buckets [\(Int.max / 2),10], which no prepare writes"
            ),
        ]
        for (name, edit, message) in cases {
            let original = Array(
                try JSONEncoder().encode(try #require(try DatasetStore.manifest(name, in: writer.cache))))
            var json = try #require(try JSONSerialization.jsonObject(with: Data(original)) as? [String: Any])
            edit(&json)
            try store(name, Array(try JSONSerialization.data(withJSONObject: json)), in: writer)
            let error = #expect(throws: DatasetError.self) { try DatasetLoader.load(name, from: writer.cache) }
            if case .damaged(name, let reason)? = error {
                #expect(reason.contains(message), "\(name): \(reason)")
            } else {
                Issue.record("\(name): \(String(describing: error)), expected \(message)")
            }
            try store(name, original, in: writer)
            #expect(throws: Never.self) { try DatasetLoader.load(name, from: writer.cache) }
        }
    }

    /// A list of strings that is not one is damage, said in words (it was Foundation's raw `DecodingError`).
    @Test func aListThatCannotBeReadIsDamage() throws {
        let directory = TemporaryDirectory()
        let writer = try preparedCache(in: directory)
        for (bytes, reason) in [("{", "not JSON"), ("[1, 2]", "field 0 holds a value of another type")] {
            var entries = MetadataEntries()
            entries.put(DatasetStore.stringsKey(.pos, "vocab"), Array(bytes.utf8))
            _ = try writer.replace(in: .dataset, under: DatasetStore.stringsKey(.pos, "vocab"), with: entries)
            let error = #expect(throws: DatasetError.self) { try DatasetLoader.load(.pos, from: writer.cache) }
            #expect(error == .damaged(.pos, "list vocab cannot be read (\(reason))"), "\(String(describing: error))")
        }
    }

    /// A list of another length than its manifest says is damage too: what the vocabulary route would answer, and
    /// what a dataset's ids index, would not be what was prepared.
    @Test func aListOfAnotherLengthThanItsManifestsIsDamage() throws {
        let directory = TemporaryDirectory()
        let writer = try preparedCache(in: directory)
        let counts = try #require(try DatasetStore.manifest(.sentiment, in: writer.cache)).vocabularies
        let stored = try DatasetStore.load(.sentiment, from: writer.cache)
        let vocabulary = try stored.strings("vocab")
        #expect(vocabulary.count == counts["vocab"])
        #expect(throws: DatasetError.self) { try stored.strings("no such list") }
        for list in [vocabulary + ["extra"], Array(vocabulary.dropLast())] {
            var entries = MetadataEntries()
            entries.put(DatasetStore.stringsKey(.sentiment, "vocab"), Array(try JSONEncoder().encode(list)))
            _ = try writer.replace(in: .dataset, under: DatasetStore.stringsKey(.sentiment, "vocab"), with: entries)
            let error = #expect(throws: DatasetError.self) { try DatasetLoader.load(.sentiment, from: writer.cache) }
            #expect(
                error
                    == .damaged(
                        .sentiment,
                        "list vocab holds \(list.count) strings where its manifest says \(vocabulary.count)"),
                "\(String(describing: error))")
        }
    }
}
