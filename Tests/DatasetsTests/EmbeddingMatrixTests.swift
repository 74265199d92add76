import CacheBuild
import Support
import TestSupport
import Testing
import VectorCache

@testable import Datasets

/// The embedding matrix as `prepare` makes it, with its progress told along the way.
@Suite struct EmbeddingMatrixTests {
    @Test func theRowsMadeAreToldAsTheyAreMade() throws {
        let directory = TemporaryDirectory()
        let cache = try writableCache(try buildCache(directory, words: ["the", "cat", "sat"])).cache
        let tokens = ["<pad>", "the", "cat", "sat", "on", "a", "mat", "and", "slept", "well"]
        let oov = OOVSource(random: testOOV)
        var content = DatasetWriter(name: .pos)
        let reports = Locked<[PrepareProgress]>([])
        // Three rows' worth of bytes a report: after rows 3, 6 and 9, and at the start and the end.
        let rows = try EmbeddingMatrix.add(
            tokens: tokens, specials: ["<pad>": .zero], cache: cache, oov: oov, to: &content,
            progress: { report in reports.withLock { $0.append(report) } }, reportBytes: 3 * cache.vectorBytes + 1)
        let step = EmbeddingMatrix.step
        #expect(
            reports.withLock { $0 } == [0, 3, 6, 9, 10].map { PrepareProgress.working(step, done: $0, total: 10) })
        #expect(rows.pretrained == 3 && rows.oovWords == tokens.dropFirst(4).map { Array($0.utf8) })
        #expect(content.arrays["embeddings"]?.shape == [tokens.count, cache.dimension])
    }
}
