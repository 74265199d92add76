import Foundation
import Testing

@testable import Server

@Suite struct VectorJSONTests {
    /// What `GET /v1/vectors/{word}` answered in JSON before it wrote the bytes itself: this struct through the
    /// server's encoder.
    private struct Encoded: Encodable {
        let word: String
        let vector: [Float]
        let oov: Bool
        let kind: String
    }

    /// Values of every sort: whole numbers (`1.0`, which the encoder writes `1`), signed zeros, the extremes,
    /// subnormals, non-finite ones (as strings), random bit patterns and random values of a vector's usual range.
    private static func values(_ count: Int, round: Int) -> [Float] {
        let special: [Float] = [
            0, -0.0, 1, -1, 100, 1e7, 1e8, 16_777_216, 123_456_792, 1e-5, .leastNonzeroMagnitude, .leastNormalMagnitude,
            .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, .nan, 0.1, 2.5, 1e16,
        ]
        var state = UInt64(round) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        return (0..<count).map { index in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let bits = UInt32(truncatingIfNeeded: state >> 32)
            switch index % 3 {
            case 0: return special[Int(bits % UInt32(special.count))]
            case 1: return Float(bitPattern: bits)
            default: return Float(bits) / Float(UInt32.max) * 2 - 1
            }
        }
    }

    @Test func aVectorIsWrittenAsTheEncoderWroteIt() throws {
        let words = [
            "the", "New_York", "<PAD>", "", "a\"quote", "back\\slash", "slash/word", "tab\tnew\nline\u{1}\u{7F}",
            "naïve", "日本語", "😀", "#,###.##",
        ]
        for round in 0..<600 {
            let vector = Self.values([0, 1, 3, 300][round % 4], round: round)
            let bytes = vector.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
            let (word, kind) = (words[round % words.count], ["word", "random", "subword"][round % 3])
            let written = try bytes.withUnsafeBytes {
                try VectorJSON.bytes(word: Array(word.utf8), vector: $0, oov: kind != "word", kind: kind)
            }
            let encoded = Array(
                try ServerRequestContext.jsonEncoder().encode(
                    Encoded(word: word, vector: vector, oov: kind != "word", kind: kind)))
            #expect(written == encoded, "\(String(decoding: written.prefix(200), as: UTF8.self))")
        }
    }
}
