import ArgumentParser
import Foundation
import Preprocessing
import Support

/// `w2vcache tokenize`: shows what a tokenizer does to text.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize text line by line with a dataset's tokenizer; prints tokens separated by spaces.",
        discussion: "Reads the file (or standard input). Bytes that are not UTF-8 are replaced with U+FFFD."
    )

    enum Tokenizer: String, ExpressibleByArgument, CaseIterable {
        case basicEnglish = "basic_english", english, french, book
    }

    @Option(help: "basic_english (sentiment), english or french (translation), book (POS normalization of each token).")
    var tokenizer: Tokenizer = .basicEnglish

    @Argument(help: "A text file (default: standard input).")
    var file: String?

    func run() throws {
        let data =
            try file.map { try RegularFile.contents(of: $0) } ?? Array(FileHandle.standardInput.readDataToEndOfFile())
        var output = ""
        for line in Lines(data) {
            let text = String(decoding: line.bytes, as: UTF8.self)
            let tokens: [String]
            switch tokenizer {
            case .basicEnglish: tokens = BasicEnglishTokenizer.tokenize(text)
            case .english: tokens = TranslationTokenizer(language: .english).tokenize(text)
            case .french: tokens = TranslationTokenizer(language: .french).tokenize(text)
            case .book: tokens = PythonText.split(text).map(BookNormalizer.normalize)
            }
            output += tokens.map { Printable.escape($0) }.joined(separator: " ") + "\n"
        }
        try Terminal.writeStdout(Array(output.utf8))
    }
}
