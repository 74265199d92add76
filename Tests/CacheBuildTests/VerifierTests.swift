import CacheBuild
import Foundation
import LevelDB
import Support
import TestSupport
import Testing
import VectorCache
import Word2Vec

/// `verify` names each kind of damage a fastText cache's n-gram rows and a cache's out-of-vocabulary words can have,
/// down to the row or the word: entries written behind w2vcache's back (their checksums good), as a bug or another
/// tool would leave them.
@Suite struct VerifierTests {
    static let subwordWord = Array("zebroid".utf8)
    static let randomWord = Array("quagga".utf8)

    /// A fastText cache (16 n-gram rows of dimension 4) given two out-of-vocabulary words: `zebroid` its n-grams'
    /// vector, `quagga` a seeded random one.
    func cacheWithOutOfVocabularyWords(_ directory: TemporaryDirectory) throws -> String {
        let path = try fastTextCache(in: directory)
        let writer = try CacheWriter(path: path, purpose: "a test")
        let random = OOVVectors(dimension: 4, seed: 1, range: 0.25)
        for (word, kind) in [(Self.subwordWord, OOVKind.subword), (Self.randomWord, .random)] {
            try writer.replace(
                in: .dataset, under: word, with: MetadataEntries(), oovWords: [word],
                generator: try OOVSource(cache: writer.cache, random: random, kind: kind))
        }
        #expect(try writer.cache.outOfVocabularyKind(Self.subwordWord) == .subword)
        #expect(try writer.cache.outOfVocabularyKind(Self.randomWord) == .random)
        try writer.close()
        return path
    }

    /// `values` as little-endian float32.
    func bytes(_ values: [Float]) -> [UInt8] {
        var bytes: [UInt8] = []
        Float32Bytes.append(values, to: &bytes)
        return bytes
    }

    /// `change` made to the cache at `path` through LevelDB, then the cache verified.
    func verified(_ path: String, after change: (Database) throws -> Void) throws -> VerifyReport {
        let database = try Database(path: path)
        try change(database)
        try database.close()
        return try VectorCache(path: path).verify()
    }

    @Test func aFastTextCacheWithOutOfVocabularyWordsVerifies() throws {
        let directory = TemporaryDirectory()
        let report = try VectorCache(path: try cacheWithOutOfVocabularyWords(directory)).verify()
        #expect(report.isHealthy, "\(report.problems)")
        #expect(report.subwordRows == 16 && report.oovMarkers == 2 && report.unrecordedRandomVectors == 0)
    }

    /// A random vector's marker records its seed and range; the empty marker of the releases up to 0.4.0, which
    /// does not, still verifies, counted as a vector not made again.
    @Test func aRandomVectorsMarkerRecordsItsSeedAndRange() throws {
        let directory = TemporaryDirectory()
        let path = try cacheWithOutOfVocabularyWords(directory)
        let database = try Database(path: path)
        #expect(try database.get(CacheKeys.oovMarker(for: Self.randomWord)) == Array("random 1 0.25".utf8))
        #expect(try database.get(CacheKeys.oovMarker(for: Self.subwordWord)) == Array("subword".utf8))
        try database.put(CacheKeys.oovMarker(for: Self.randomWord), [])
        try database.close()
        let cache = try VectorCache(path: path)
        #expect(try cache.outOfVocabularyKind(Self.randomWord) == .random)
        let report = try cache.verify()
        #expect(report.isHealthy && report.oovMarkers == 2 && report.unrecordedRandomVectors == 1, "\(report.problems)")
        // A range Swift prints in full reads back to the same Float; any seed a UInt64 holds.
        for (seed, range) in [(UInt64.max, Float(0.1)), (0, .leastNonzeroMagnitude), (7, 1e30)] {
            let marker = OOVMarker(kind: .random, random: OOVVectors(dimension: 4, seed: seed, range: range))
            #expect(OOVMarker(marker.bytes) == marker)
        }
    }

    @Test(arguments: [
        ([5], "the cache lacks n-gram row 5 of the 16 its manifest names"),
        ([5, 6, 7], "the cache lacks n-gram rows 5 to 7 of the 16 its manifest names"),
        ([0], "the cache lacks n-gram row 0 of the 16 its manifest names"),
        ([14, 15], "the cache lacks n-gram rows 14 to 15 of the 16 its manifest names"),
    ])
    func missingRowsAreNamed(deleted: [Int], message: String) throws {
        let directory = TemporaryDirectory()
        let report = try verified(try fastTextCache(in: directory)) { database in
            for row in deleted { try database.delete(CacheKeys.subwordRow(row)) }
        }
        #expect(report.problems == [message])
        #expect(report.subwordRows == 16 - deleted.count)
    }

    @Test func aDamagedRowIsNamedWithWhatIsWrong() throws {
        let nan = bytes([1, .nan, 2, 3])
        let changes: [(String, (Database) throws -> Void)] = [
            (
                "n-gram row 9: value is 3 bytes; expected 16 (4 float32)",
                { try $0.put(CacheKeys.subwordRow(9), [0, 0, 0]) }
            ),
            ("n-gram row 7: holds NaN or infinity", { try $0.put(CacheKeys.subwordRow(7), nan) }),
            (
                "the cache holds n-gram row 16, beyond the 16 its manifest names",
                { try $0.put(CacheKeys.subwordRow(16), [UInt8](repeating: 0, count: 16)) }
            ),
            (
                #""\u{0}subword\u{0}\u{0}\u{1}": a key under the n-gram rows' prefix that names no row; expected 4 bytes "#
                    + "of row number",
                { try $0.put(CacheKeys.subwordPrefix + [0, 1], [UInt8](repeating: 0, count: 16)) }
            ),
        ]
        for (message, change) in changes {
            let directory = TemporaryDirectory()
            let report = try verified(try fastTextCache(in: directory), after: change)
            #expect(report.problems == [message])
        }
    }

    @Test func aDamagedOutOfVocabularyWordIsNamed() throws {
        let other = bytes([0.5, 0.5, 0.5, 0.5])
        let randomMarker = CacheKeys.oovMarker(for: Self.randomWord)
        let changes: [([String], (Database) throws -> Void)] = [
            (
                [#"out-of-vocabulary word "quagga": its marker holds "bogus"; expected "random SEED RANGE", "#],
                { try $0.put(randomMarker, Array("bogus".utf8)) }
            ),
            // A random vector is made again from the seed and range its marker records (it was not checked at all).
            (
                [
                    #"out-of-vocabulary word "quagga": its vector is not the random vector of seed 1 and range 0.25 "#
                        + "that its marker records"
                ],
                { try $0.put(Self.randomWord, other) }
            ),
            (
                [
                    #"out-of-vocabulary word "quagga": its vector is not the random vector of seed 2 and range 0.25 "#
                        + "that its marker records"
                ],
                { try $0.put(randomMarker, Array("random 2 0.25".utf8)) }
            ),
            (
                [#"out-of-vocabulary word "quagga": its marker holds "random 1 0.250"; expected "#],
                { try $0.put(randomMarker, Array("random 1 0.250".utf8)) }
            ),
            (
                [#"out-of-vocabulary word "quagga": its marker holds "random -1 0.25"; expected "#],
                { try $0.put(randomMarker, Array("random -1 0.25".utf8)) }
            ),
            (
                [#"out-of-vocabulary word "quagga": its marker holds "random 1 nan"; expected "#],
                { try $0.put(randomMarker, Array("random 1 nan".utf8)) }
            ),
            (
                [
                    #"out-of-vocabulary word "zebroid": its vector is not the mean of its n-gram rows, as its marker says"#
                ],
                { try $0.put(Self.subwordWord, other) }
            ),
            (
                [
                    #"out-of-vocabulary word "quagga": its vector is not the mean of its n-gram rows, as its marker says"#
                ],
                { try $0.put(randomMarker, Array("subword".utf8)) }
            ),
            (
                [
                    "the cache holds 6 words; the manifest says 5 pretrained + 2 out-of-vocabulary = 7",
                    #"out-of-vocabulary word "zebroid": the marker is there but the word's vector is not"#,
                ].sorted(),
                { try $0.delete(Self.subwordWord) }
            ),
            (
                ["the cache holds 1 out-of-vocabulary markers; the manifest says 2"],
                { try $0.delete(randomMarker) }
            ),
        ]
        for (messages, change) in changes {
            let directory = TemporaryDirectory()
            let report = try verified(try cacheWithOutOfVocabularyWords(directory), after: change)
            let problems = report.problems.sorted()
            #expect(
                problems.count == messages.count && zip(problems, messages).allSatisfy { $0.hasPrefix($1) },
                "\(report.problems)")
        }
    }

    @Test func anNGramVectorThatCannotBeMadeAgainIsNamed() throws {
        let directory = TemporaryDirectory()
        let path = try cacheWithOutOfVocabularyWords(directory)
        let row = try #require(VectorCache(path: path).manifest.subwords?.ngramRows(of: Self.subwordWord).first)
        let report = try verified(path) { try $0.delete(CacheKeys.subwordRow(row)) }
        #expect(
            report.problems.contains {
                $0.hasPrefix(#"out-of-vocabulary word "zebroid": cannot be checked: "#)
                    && $0.contains("lacks n-gram row \(row)")
            }, "\(report.problems)")
        #expect(report.problems.contains("the cache lacks n-gram row \(row) of the 16 its manifest names"))
    }

    @Test func aWord2VecCacheWithAnNGramMarkerIsDamaged() throws {
        let directory = TemporaryDirectory()
        let source = try writeVectors(shuffledVectors(count: 20, dimension: 4), to: directory.file("v.bin"))
        try build(source, into: directory.file("cache"))
        let report = try verified(directory.file("cache")) { database in
            try database.put(CacheKeys.oovMarker(for: Array("word3".utf8)), Array("subword".utf8))
        }
        #expect(
            report.problems.contains(
                #"out-of-vocabulary word "word3": marked as an n-gram vector, but the cache has no n-gram rows"#),
            "\(report.problems)")
    }
}
