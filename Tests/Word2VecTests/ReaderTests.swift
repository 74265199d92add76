import Foundation
import TestSupport
import Testing

@testable import Word2Vec

@Suite struct FormatTests {
    static let vectors = testVectors(count: 50, dimension: 7)

    @Test(arguments: [
        ("c-tool.bin", Word2VecWriter.Layout.binary(newlineAfterVector: true), false, Word2VecFormat.binary),
        ("gensim.bin", .binary(newlineAfterVector: false), false, .binary),
        ("gensim.bin.gz", .binary(newlineAfterVector: false), true, .binary),
        ("c-tool.bin.gz", .binary(newlineAfterVector: true), true, .binary),
        ("vectors.txt", .text, false, .text),
        ("vectors.txt.gz", .text, true, .text),
        ("glove.txt", .glove, false, .glove),
    ])
    func everyLayoutReadsBackTheSameVectors(
        name: String, layout: Word2VecWriter.Layout, gzip: Bool, format: Word2VecFormat
    ) throws {
        let directory = TemporaryDirectory()
        let path = try writeVectors(Self.vectors, to: directory.file(name), layout: layout, gzip: gzip)
        for readAhead in [true, false] {
            let (records, statistics, header) = try readAll(path, readAhead: readAhead)
            #expect(header.format == format)
            #expect(header.dimension == 7)
            #expect(header.count == (format == .glove ? nil : 50))
            #expect(statistics.recordsRead == 50 && statistics.recordsKept == 50)
            #expect(records.map { String(decoding: $0.0, as: UTF8.self) } == Self.vectors.map(\.0))
            #expect(records.map(\.1) == Self.vectors.map(\.1))
        }
    }

    @Test func wideGloVeLinesAreDetected() throws {
        // 1,000 values of ~10 characters: a first line far longer than a header.
        let directory = TemporaryDirectory()
        let vectors = testVectors(count: 3, dimension: 1000).map { ($0.0, $0.1.map { $0 + 0.123456 }) }
        let path = try writeVectors(vectors, to: directory.file("wide.txt"), layout: .glove)
        let (records, _, header) = try readAll(path)
        #expect(header == Word2VecHeader(count: nil, dimension: 1000, format: .glove))
        #expect(records.count == 3)
    }

    @Test func theFormatCanBeForced() throws {
        let directory = TemporaryDirectory()
        let path = try writeVectors(
            Self.vectors, to: directory.file("v.bin"), layout: .binary(newlineAfterVector: false))
        #expect(try readAll(path, format: .binary).records.count == 50)
        // Read as text, binary data is not a list of numbers.
        #expect(throws: Word2VecError.self) { try readAll(path, format: .text) }
    }

    @Test func wordsWithSpacesAroundNewlinesAndNonASCII() throws {
        let directory = TemporaryDirectory()
        let words = ["New_York", "café", "##.#", "Москва", "東京"]
        let vectors = words.map { ($0, [Float](repeating: 0.5, count: 3)) }
        let path = try writeVectors(vectors, to: directory.file("v.bin"), layout: .binary(newlineAfterVector: true))
        let records = try readAll(path).records
        #expect(records.map { String(decoding: $0.0, as: UTF8.self) } == words)
    }

    @Test func aVectorMayEndWithABytePatternThatLooksLikeANewline() throws {
        // 0x0A as the last byte of a vector must stay in the vector: only bytes *before* a word are stripped.
        let directory = TemporaryDirectory()
        let value = Float(bitPattern: 0x3F80_000A)
        let path = try writeVectors(
            [("a", [value]), ("b", [value])], to: directory.file("v.bin"), layout: .binary(newlineAfterVector: false))
        let records = try readAll(path).records
        #expect(records.map(\.1) == [[value], [value]])
        #expect(records.map(\.0) == [Array("a".utf8), Array("b".utf8)])
    }

    @Test func multiMemberGzipIsReadToTheEnd() throws {
        // pigz and `cat a.gz b.gz` write several members: the second one must not be lost.
        let directory = TemporaryDirectory()
        let whole = try writeVectors(
            Self.vectors, to: directory.file("whole.bin"), layout: .binary(newlineAfterVector: false))
        let bytes = Array(FileManager.default.contents(atPath: whole)!)
        let half = bytes.count / 2
        let first = try directory.write("a.gz", Array(bytes[..<half]), gzip: true)
        let second = try directory.write("b.gz", Array(bytes[half...]), gzip: true)
        let joined =
            Array(FileManager.default.contents(atPath: first)!) + Array(FileManager.default.contents(atPath: second)!)
        let path = try directory.write("joined.bin.gz", joined)
        let (records, _, _) = try readAll(path)
        #expect(records.count == 50)
        #expect(records.last?.1 == Self.vectors.last?.1)
        // The checksum covers both members: the same as for the plain file.
        let plain = try Word2VecReader(path: whole)
        try plain.forEachRecord { _ in }
        let gzipped = try Word2VecReader(path: path)
        try gzipped.forEachRecord { _ in }
        #expect(plain.dataCRC32 == gzipped.dataCRC32)
    }

    @Test func limitStopsEarlyButStillChecksTheWholeGzipStream() throws {
        let directory = TemporaryDirectory()
        let path = try writeVectors(
            Self.vectors, to: directory.file("v.bin.gz"), layout: .binary(newlineAfterVector: false), gzip: true)
        let (records, statistics, _) = try readAll(path, limit: 5)
        #expect(records.count == 5 && statistics.stoppedAtLimit)
        // Truncate the same file: a limit that ends before the damage still reports it.
        let bytes = Array(FileManager.default.contents(atPath: path)!)
        let truncated = try directory.write("t.bin.gz", Array(bytes[..<(bytes.count - 100)]))
        #expect(throws: Word2VecError.self) { try readAll(truncated, limit: 5) }
    }
}

@Suite struct BadInputTests {
    /// The error a read throws, or a failed expectation.
    func readError(_ path: String, nonFinite: RecordPolicy = .fail, invalidUTF8: RecordPolicy = .keep)
        -> Word2VecError?
    {
        do {
            _ = try readAll(path, nonFinite: nonFinite, invalidUTF8: invalidUTF8)
            Issue.record("reading \(path) should fail")
            return nil
        } catch let error as Word2VecError {
            #expect(error.file == path)
            #expect(error.description.hasPrefix(path + ": "))
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func truncatedGzipNamesTheOffset() throws {
        let directory = TemporaryDirectory()
        let path = try writeVectors(
            testVectors(count: 200, dimension: 50), to: directory.file("v.bin.gz"),
            layout: .binary(newlineAfterVector: false), gzip: true)
        let bytes = Array(FileManager.default.contents(atPath: path)!)
        let cut = bytes.count * 2 / 3
        let truncated = try directory.write("cut.bin.gz", Array(bytes[..<cut]))
        let error = readError(truncated)
        #expect(error?.kind == .truncatedGzip)
        #expect(error?.location == .fileOffset(UInt64(cut)))
        #expect(error?.description.contains("truncated") == true)
    }

    @Test func gzipMissingOnlyItsTrailerIsTruncated() throws {
        let directory = TemporaryDirectory()
        let path = try writeVectors(
            testVectors(count: 20, dimension: 5), to: directory.file("v.bin.gz"),
            layout: .binary(newlineAfterVector: false), gzip: true)
        let bytes = Array(FileManager.default.contents(atPath: path)!)
        let truncated = try directory.write("cut.bin.gz", Array(bytes[..<(bytes.count - 4)]))
        #expect(readError(truncated)?.kind == .truncatedGzip)
    }

    @Test func corruptGzipIsReported() throws {
        let directory = TemporaryDirectory()
        let path = try writeVectors(
            testVectors(count: 200, dimension: 50), to: directory.file("v.bin.gz"),
            layout: .binary(newlineAfterVector: false), gzip: true)
        var bytes = Array(FileManager.default.contents(atPath: path)!)
        for index in stride(from: 40, to: 400, by: 1) { bytes[index] ^= 0x5A }
        let corrupt = try directory.write("bad.bin.gz", bytes)
        let error = readError(corrupt)
        #expect(error?.kind == .corruptGzip)
        if case .fileOffset(let offset)? = error?.location { #expect(offset > 0) } else { Issue.record("no offset") }
    }

    @Test func badHeader() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write("v.bin", Array("3000000 -300\nrest".utf8))
        let error = readError(path)
        #expect(error?.kind == .badHeader)
        #expect(error?.description.contains("line 1") == true)
    }

    @Test func textLineWithTheWrongDimensionNamesTheLine() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write("v.txt", Array("3 4\na 1 2 3 4\nb 1 2 3\nc 1 2 3 4\n".utf8))
        let error = readError(path)
        #expect(error?.kind == .dimensionMismatch)
        #expect(error?.description.contains("line 3") == true)
        #expect(error?.description.contains("\"b\" has 3 values; expected 4") == true)
    }

    @Test func textValueThatIsNotANumber() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write("v.txt", Array("2 3\na 1.0 2 3\nb 1.0 x2 3\n".utf8))
        let error = readError(path)
        #expect(error?.kind == .badNumber)
        #expect(error?.description.contains("\"x2\"") == true)
    }

    @Test func shortLastVector() throws {
        let directory = TemporaryDirectory()
        let bytes = Array("2 4\na ".utf8) + floatBytes([1, 2, 3, 4]) + Array("b ".utf8) + floatBytes([1, 2])
        let path = try directory.write("v.bin", bytes)
        let error = readError(path)
        #expect(error?.kind == .shortVector)
        #expect(error?.location == .dataOffset(UInt64(4 + 2 + 16 + 2)))
        #expect(error?.description.contains("expected 16 bytes") == true)
    }

    @Test func fileWithFewerVectorsThanTheHeaderSays() throws {
        let directory = TemporaryDirectory()
        let bytes = Array("5 2\na ".utf8) + floatBytes([1, 2]) + Array("b ".utf8) + floatBytes([3, 4])
        let path = try directory.write("v.bin", bytes)
        let error = readError(path)
        #expect(error?.kind == .shortFile)
        #expect(error?.description.contains("ends after 2 vectors; the header announced 5") == true)
    }

    @Test func nanFailsOrIsSkippedOrKeptByPolicy() throws {
        let directory = TemporaryDirectory()
        let bytes =
            Array("3 2\na ".utf8) + floatBytes([1, 2]) + Array("bad ".utf8) + floatBytes([.nan, 1])
            + Array("c ".utf8) + floatBytes([.infinity, 3])
        let path = try directory.write("v.bin", bytes)
        let error = readError(path)
        #expect(error?.kind == .nonFinite)
        #expect(error?.description.contains("\"bad\"") == true)
        let skipped = try readAll(path, nonFinite: .skip)
        #expect(skipped.records.map(\.0) == [Array("a".utf8)])
        #expect(skipped.statistics.nonFinite == 2 && skipped.statistics.nonFiniteSkipped == 2)
        let kept = try readAll(path, nonFinite: .keep)
        #expect(kept.records.count == 3 && kept.statistics.nonFinite == 2 && kept.statistics.nonFiniteSkipped == 0)
        #expect(kept.records[1].1[0].isNaN)
    }

    @Test func nonUTF8WordsAreKeptSkippedOrRefused() throws {
        let directory = TemporaryDirectory()
        let bytes =
            Array("2 1\n".utf8) + [0x63, 0x61, 0x66, 0xE9, 0x20] + floatBytes([1]) + Array("ok ".utf8) + floatBytes([2])
        let path = try directory.write("v.bin", bytes)
        let kept = try readAll(path)
        #expect(kept.records[0].0 == [0x63, 0x61, 0x66, 0xE9])  // raw bytes, as LevelDB keys
        #expect(kept.statistics.invalidUTF8 == 1)
        let skipped = try readAll(path, invalidUTF8: .skip)
        #expect(skipped.records.map(\.0) == [Array("ok".utf8)] && skipped.statistics.invalidUTF8Skipped == 1)
        let error = readError(path, invalidUTF8: .fail)
        #expect(error?.kind == .invalidUTF8)
        #expect(error?.description.contains("caf\\xE9") == true)
    }

    @Test func emptyFile() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write("empty.bin", [])
        #expect(readError(path)?.kind == .empty)
        let gzipped = try directory.write("empty.bin.gz", [], gzip: true)
        #expect(readError(gzipped)?.kind == .empty)
    }

    @Test func aDirectoryIsNotAFile() throws {
        let directory = TemporaryDirectory()
        let error = readError(directory.path)
        #expect(error?.kind == .notAFile)
        #expect(error?.description.contains("is a directory; expected a vectors file") == true)
    }

    @Test func aMissingFile() throws {
        let directory = TemporaryDirectory()
        #expect(readError(directory.file("nope.bin.gz"))?.kind == .cannotOpen)
    }

    @Test func binaryWordRunningIntoTheEndOfTheFile() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write("v.bin", Array("1 2\nword-without-vector".utf8))
        #expect(readError(path)?.kind == .badWord)
    }

    @Test func keysStartingWithTheReservedByteAreRefused() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write("v.bin", Array("1 1\n".utf8) + [0, 0x61, 0x20] + floatBytes([1]))
        #expect(readError(path)?.kind == .badWord)
    }
}

@Suite(.enabled(if: SharedData.isAvailable, "../shared/data is absent: third-party files not checked"))
struct ThirdPartyFileTests {
    @Test func cToolBinaryGzipAndTextAgree() throws {
        let binary = try readAll(SharedData.word2vec("lee-c-tool.bin"))
        let gzipped = try readAll(SharedData.word2vec("lee-c-tool.bin.gz"))
        let text = try readAll(SharedData.word2vec("lee-c-tool.txt.gz"))
        #expect(binary.header == Word2VecHeader(count: 4845, dimension: 100, format: .binary))
        #expect(text.header.format == .text)
        #expect(binary.records.count == 4845 && gzipped.records.count == 4845 && text.records.count == 4845)
        #expect(binary.records[0].0 == Array("</s>".utf8))
        #expect(binary.records.map(\.0) == gzipped.records.map(\.0))
        #expect(binary.records.map(\.1) == gzipped.records.map(\.1))
        // The text file comes from another training run of the C tool: same words, other values.
        #expect(binary.records.map(\.0) == text.records.map(\.0))
        #expect(Array(text.records[1].1.prefix(3)) == [-0.198061, -0.375056, 0.30204])
    }

    @Test func gensimWrittenBinaries() throws {
        let euclidean = try readAll(SharedData.word2vec("gensim-euclidean.bin"))
        #expect(euclidean.header == Word2VecHeader(count: 2747, dimension: 10, format: .binary))
        #expect(euclidean.records.count == 2747)
        #expect(euclidean.records[0].0 == Array("the".utf8))
        let tiny = try readAll(SharedData.word2vec("gensim-high-precision.bin"))
        #expect(tiny.header == Word2VecHeader(count: 2, dimension: 2, format: .binary))
        #expect(tiny.records.allSatisfy { $0.0.contains(UInt8(ascii: ".")) })
    }

    @Test func gloveWithoutHeader() throws {
        let glove = try readAll(SharedData.word2vec("glove-no-header.txt"))
        #expect(glove.header.format == .glove && glove.header.count == nil && glove.header.dimension == 50)
        #expect(glove.records.first?.0 == Array("the".utf8))
        #expect(glove.records.first?.1.first == 0.418)
        #expect(glove.records.count == 76)
    }

    @Test func fastTextFileShorterThanItsHeader() throws {
        // gensim's test file announces 3 vectors and holds 1; gensim refuses it too.
        let path = SharedData.word2vec("fasttext.vec")
        #expect(throws: Word2VecError.self) { try readAll(path) }
        let first = try readAll(path, limit: 1)
        #expect(first.records.map(\.0) == [Array("dummy".utf8)] && first.records[0].1.count == 5)
    }
}

@Suite struct SampleTests {
    @Test func sampleFilesAreDeterministicAndReadable() throws {
        let directory = TemporaryDirectory()
        try SampleVectors.write(path: directory.file("a.bin.gz"), count: 600, dimension: 20, seed: 9)
        try SampleVectors.write(path: directory.file("b.bin.gz"), count: 600, dimension: 20, seed: 9)
        let a = try readAll(directory.file("a.bin.gz"))
        let b = try readAll(directory.file("b.bin.gz"))
        #expect(a.records.map(\.0) == b.records.map(\.0))
        #expect(a.records.map(\.1) == b.records.map(\.1))
        #expect(Set(a.records.map(\.0)).count == 600)
        #expect(a.records.contains { $0.0 == Array("New_York".utf8) })
        #expect(a.records.allSatisfy { $0.1.allSatisfy { abs($0) <= 0.25 } })
    }

    /// The shipped sample is what `w2vcache sample` writes with its defaults: the words (made-up ones spelt only
    /// when first drawn) and the values are the same on every machine and after every change to the generator.
    @Test func theShippedSampleIsWhatTheDefaultsWrite() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("data/sample-vectors.bin.gz").path
        let directory = TemporaryDirectory()
        try SampleVectors.write(path: directory.file("s.bin"), count: 3000, dimension: 300, seed: 42)
        let written = try readAll(directory.file("s.bin"))
        let expected = try readAll(shipped)
        #expect(written.records.map(\.0) == expected.records.map(\.0))
        #expect(written.records.map(\.1) == expected.records.map(\.1))
    }

    @Test func madeUpWordsAreDistinctAndShapedAsDrawn() throws {
        let words = SampleVectors.words(count: 200_000, seed: 3)
        #expect(words.count == 200_000 && Set(words).count == 200_000)
        let syllable = "(ka|ro|mi|sen|ta|lu|ber|do|vi|nel|os|tri|pa|gan|el|ur)"
        let shape = try Regex("^\(syllable){2,4}(_\(syllable)ton)?$")
        let madeUp = words.dropFirst(Set(SampleVectors.seedWords).count)
        #expect(madeUp.allSatisfy { $0.lowercased().wholeMatch(of: shape) != nil })
        #expect(madeUp.contains { $0.first!.isUppercase } && madeUp.contains { $0.contains("_") })
    }
}
