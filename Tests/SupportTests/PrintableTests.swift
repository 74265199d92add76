import Support
import Testing

@Suite struct PrintableTests {
    @Test func controlCharactersAreEscapedAndTextIsKept() {
        #expect(Printable.escape("café New_York 東京") == "café New_York 東京")
        #expect(Printable.escape("x\nFORGED line") == "x\\nFORGED line")
        #expect(Printable.escape("\u{1B}[31mred\u{1B}[0m") == "\\u{1B}[31mred\\u{1B}[0m")
        #expect(
            Printable.escape("a\tb\rc\u{7F}d\u{85}e\u{2028}f\u{202E}g")
                == "a\\tb\\rc\\u{7F}d\\u{85}e\\u{2028}f\\u{202E}g")
        #expect(Printable.escape("abcdef", limit: 3) == "abc…")
    }

    @Test func bytesThatAreNotUTF8AreWrittenInHex() {
        #expect(Printable.escape(bytes: [0x61, 0xFF, 0x62, 0x0A]) == "a\\xFFb\\n")
        #expect(Printable.escape(bytes: Array("naïve".utf8)) == "naïve")
        #expect(Printable.escape(bytes: [0xC3]) == "\\xC3")
        #expect(Printable.escape(bytes: [0x1B, 0xE2, 0x82]) == "\\u{1B}\\xE2\\x82")
        // Cut after `limit` characters and bytes, with one `…` wherever the cut falls.
        let mixed: [UInt8] = Array("ab".utf8) + [0xE9] + Array("cd".utf8) + [0xFF]
        let cuts = (0...7).map { Printable.escape(bytes: mixed, limit: $0) }
        #expect(cuts == ["…", "a…", "ab…", "ab\\xE9…", "ab\\xE9c…", "ab\\xE9cd…", "ab\\xE9cd\\xFF", "ab\\xE9cd\\xFF"])
    }

    /// Bytes split as Python's surrogateescape splits them: `b"c\xe9\xc3\xa9\xed\xa0\x80a".decode("utf-8",
    /// "surrogateescape")` is `"c\udce9é\udced\udca0\udc80a"` (an encoded surrogate is three bytes that are not UTF-8).
    @Test func bytesAreSplitIntoTextAndBytesThatAreNotUTF8() {
        #expect(
            UTF8Pieces.of([0x63, 0xE9, 0xC3, 0xA9, 0xED, 0xA0, 0x80, 0x61]) == [
                .text("c"), .byte(0xE9), .text("é"), .byte(0xED), .byte(0xA0), .byte(0x80), .text("a"),
            ])
        #expect(UTF8Pieces.of(Array("naïve".utf8)) == [.text("naïve")])
        #expect(UTF8Pieces.of([UInt8]()).isEmpty)
        #expect(UTF8Pieces.of([0xF0, 0x9F, 0x98]) == [.byte(0xF0), .byte(0x9F), .byte(0x98)])
    }
}

@Suite struct LinesTests {
    @Test func linesAreSplitOnNewlinesWithoutCarriageReturns() {
        let lines = Lines(Array("a\r\n\nb c\nlast".utf8)).map { ($0.number, String(decoding: $0.bytes, as: UTF8.self)) }
        #expect(lines.map(\.0) == [1, 2, 3, 4])
        #expect(lines.map(\.1) == ["a", "", "b c", "last"])
    }

    @Test func aFinalNewlineEndsTheLastLine() {
        #expect(Lines(Array("x\n".utf8)).map { Array($0.bytes) } == [Array("x".utf8)])
        #expect(Lines(Array("\n".utf8)).map { Array($0.bytes) } == [[]])
        #expect(Lines([UInt8]()).map { $0.number }.isEmpty)
    }
}

@Suite struct ChecksumAndRandomTests {
    @Test func crc32MatchesTheStandardCheckValue() {
        // The CRC-32 of "123456789" is 0xCBF43926 (the check value of the IEEE polynomial).
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.hex($0) } == "cbf43926")
    }

    @Test func splitMix64AndFNVGiveTheirPublishedValues() {
        // SplitMix64 seeded with 0 starts with 0xE220A8397B1DCDAF (Vigna's reference implementation).
        var random = SplitMix64(seed: 0)
        #expect(random.next() == 0xE220_A839_7B1D_CDAF)
        // FNV-1a 64 of "a" is 0xAF63DC4C8601EC8C (the FNV reference tables).
        #expect(StableHash.fnv1a64(Array("a".utf8)) == 0xAF63_DC4C_8601_EC8C)
        #expect(StableHash.fnv1a64([UInt8]()) == 0xCBF2_9CE4_8422_2325)
    }
}
