import CacheBuild
import Datasets
import Foundation
import Preprocessing
import TestSupport
import Testing
import VectorCache

@Suite struct FingerprintTests {
    /// A cache built from a fixed file, with pos prepared from `train`.
    func prepared(_ directory: TemporaryDirectory, _ name: String, train: String) throws -> String {
        let path = try buildCache(directory, words: ["the", "cat", "sat"], name: name)
        let writer = try writableCache(path)
        _ = try POSDataset.prepare(
            train: try textFile(directory, name + ".train", train),
            test: try textFile(directory, name + ".test", "the DT\n"),
            into: writer, options: POSOptions(), oov: OOVSource(random: testOOV))
        let fingerprint = try DatasetStore.fingerprint(of: writer.cache)
        try writer.close()
        return fingerprint
    }

    @Test func theSameInputsGiveTheSameFingerprintAndOthersAnother() throws {
        let directory = TemporaryDirectory()
        let a = try prepared(directory, "a", train: "the DT\ncat NN\nsat VBD\n")
        Thread.sleep(forTimeInterval: 1.1)  // another build and preparation time: times are not part of it
        let b = try prepared(directory, "b", train: "the DT\ncat NN\nsat VBD\n")
        let c = try prepared(directory, "c", train: "the DT\ncat NN\nran VBD\n")
        #expect(a.count == 16 && a.allSatisfy(\.isHexDigit))
        #expect(a == b)
        #expect(a != c)
        let unprepared = try VectorCache(path: try buildCache(directory, words: ["the", "cat", "sat"], name: "d"))
        #expect(try DatasetStore.fingerprint(of: unprepared) != a)
    }
}
