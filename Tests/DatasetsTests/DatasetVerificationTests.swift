import CacheBuild
import Foundation
import TestSupport
import Testing
import VectorCache

@testable import Datasets

/// `verify` reads every prepared dataset back as the server would: damage a trainer's first request would meet is
/// named there, one problem per dataset, and the datasets left whole are still read.
@Suite struct DatasetVerificationTests {
    /// `key` given `value`, or removed for `nil`, in the cache `writer` holds.
    func change(_ key: [UInt8], to value: [UInt8]?, in writer: CacheWriter) throws {
        var entries = MetadataEntries()
        if let value { entries.put(key, value) }
        _ = try writer.replace(in: .dataset, under: key, with: entries)
    }

    @Test func theFourDatasetsReadBack() throws {
        let directory = TemporaryDirectory()
        let writer = try preparedCache(in: directory)
        var report = VerifyReport()
        var checked: [DatasetName] = []
        #expect(try DatasetStore.verify(in: writer.cache, into: &report) { checked.append($0) } == 4)
        #expect(report.problems.isEmpty && checked == DatasetName.allCases)
    }

    @Test func eachDamagedDatasetIsNamedWithItsDamage() throws {
        let directory = TemporaryDirectory()
        let writer = try preparedCache(in: directory)
        let sentimentIDs = DatasetStore.arrayKey(.sentiment, "train.ids", chunk: 0)
        var ids = try #require(try writer.cache.metadata(.dataset).value(sentimentIDs))
        ids.replaceSubrange(0..<4, with: withUnsafeBytes(of: Int32(1 << 30).littleEndian) { Array($0) })
        let posEmbeddings = DatasetStore.arrayKey(.pos, "embeddings", chunk: 0)
        let embeddings = try #require(try writer.cache.metadata(.dataset).value(posEmbeddings))
        try change(posEmbeddings, to: Array(embeddings.dropLast(4)), in: writer)
        try change(DatasetStore.stringsKey(.parser, "labels"), to: nil, in: writer)
        try change(sentimentIDs, to: ids, in: writer)
        var report = VerifyReport()
        let whole = try DatasetStore.verify(in: writer.cache, into: &report)
        #expect(
            report.problems == [
                "dataset pos is damaged (array embeddings holds more or fewer bytes than the \(embeddings.count) "
                    + "expected); prepare it again",
                "dataset parser is damaged (list labels is missing); prepare it again",
                "dataset sentiment is damaged (the train split's ids, labels or lengths do not fit its 2 reviews); "
                    + "prepare it again",
            ])
        #expect(whole == 1, "translation, untouched, still read")
    }

    @Test func aMissingChunkAndAnUnreadableManifestAreNamed() throws {
        let directory = TemporaryDirectory()
        let writer = try preparedCache(in: directory)
        try change(DatasetStore.arrayKey(.pos, "train.tags", chunk: 0), to: nil, in: writer)
        try change(DatasetStore.manifestKey(.translation), to: Array("{".utf8), in: writer)
        var report = VerifyReport()
        let whole = try DatasetStore.verify(in: writer.cache, into: &report)
        #expect(
            report.problems == [
                "dataset pos is damaged (chunk 0 of array train.tags is missing); prepare it again",
                "dataset translation is damaged (its manifest cannot be read, perhaps written by an older w2vcache); "
                    + "prepare it again",
            ])
        #expect(whole == 2)
    }
}
