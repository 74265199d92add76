import Foundation
import Support
import Testing

@Suite struct WordListTests {
    private func write(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("words-\(UUID().uuidString).txt").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func linesKeepTheirOrderLoseCarriageReturnsAndBlankLinesAreSkipped() throws {
        let path = try write(Array("New_York\r\n\ncafé\nConfidence\n\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(
            try WordList.bytes(path: path) == [Array("New_York".utf8), Array("café".utf8), Array("Confidence".utf8)])
        #expect(try WordList.words(path: path).map(\.line) == [1, 3, 4])
    }

    @Test func wordsThatAreNotUTF8AreKeptAsTheyAre() throws {
        let path = try write([0x61, 0x0A, 0x62, 0xFF, 0x0A])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try WordList.bytes(path: path) == [[0x61], [0x62, 0xFF]])
    }

    @Test func aMissingFileIsNamed() {
        let error = #expect(throws: WordList.ReadError.self) { try WordList.bytes(path: "/nonexistent/words.txt") }
        #expect(error?.kind == .cannotRead)
        #expect(error?.description.hasPrefix("/nonexistent/words.txt: ") == true)
    }
}
