import ArgumentParser
import Foundation
import Preprocessing
import Support

/// `w2vcache tokenize`: shows what a tokenizer does to text.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize text line by line with a dataset's tokenizer; prints tokens separated by spaces.",
        discussion: """
            Reads the file (or standard input) as it comes, printing each line's tokens as soon as the line has \
            ended, as a filter does. Bytes that are not UTF-8 are replaced with U+FFFD; a line over 64 MB is an error.
            """
    )

    enum Tokenizer: String, ExpressibleByArgument, CaseIterable {
        case basicEnglish = "basic_english", english, french, book
    }

    @Option(help: "basic_english (sentiment), english or french (translation), book (POS normalization of each token).")
    var tokenizer: Tokenizer = .basicEnglish

    @Argument(help: "A text file (default, or -: standard input).")
    var file: String?

    /// The longest line read: what a line holds, several times over, while it is tokenized.
    static let longestLine = 64 << 20

    func run() throws {
        let file = file == "-" ? nil : file
        let descriptor: Int32
        do {
            descriptor = try file.map { try RegularFile.open($0).descriptor } ?? STDIN_FILENO
        } catch let error as RegularFile.Failure {
            throw error.expecting("a text file")
        }
        defer { if file != nil { close(descriptor) } }
        let name = file ?? "standard input"
        var pending: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 1 << 16)
        var lineNumber = 0
        while true {
            let count = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw DataError(file: name, message: "cannot be read (\(String(cString: strerror(errno))))")
            }
            if count == 0 { break }
            let lastEndInBlock = block[..<count].lastIndex(of: 0x0A)
            let lastEnd = lastEndInBlock.map { pending.count + $0 }
            pending += block[..<count]
            guard let lastEnd else {
                guard pending.count <= Self.longestLine else {
                    throw DataError(
                        file: name, line: lineNumber + 1,
                        message: "is over \(Self.longestLine >> 20) MB; expected lines of text")
                }
                continue
            }
            try write(pending[...lastEnd], after: &lineNumber)
            pending.removeSubrange(...lastEnd)
        }
        try write(pending[...], after: &lineNumber)
    }

    /// Prints the tokens of each of `text`'s lines, counting them into `lineNumber`.
    private func write(_ text: ArraySlice<UInt8>, after lineNumber: inout Int) throws {
        var output = ""
        for line in Lines(text) {
            lineNumber += 1
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
        if !output.isEmpty { try Terminal.writeStdout(Array(output.utf8)) }
    }
}
