/// A file of words, one per line, as `build --only-words` and `lookup --words-from` read it: lines split by
/// ``Lines`` (a trailing `\r` removed), blank lines skipped, the file's order kept.
public enum WordList {
    /// Why a word list could not be read; the message names the file (and the line).
    public struct ReadError: DescribedError, Equatable {
        public enum Kind: Sendable, Equatable {
            case cannotRead
        }

        public let kind: Kind
        public let message: String
    }

    /// A word of the file and the line it stands on (from 1).
    public struct Word: Equatable, Sendable {
        public var line: Int
        public var bytes: [UInt8]
    }

    /// The words of the file at `path`, as bytes (`build --only-words`, which names the file in the manifest).
    public static func bytes(path: String) throws(ReadError) -> [[UInt8]] {
        words(in: try contents { () throws(RegularFile.Failure) in try RegularFile.contents(of: path) }).map(\.bytes)
    }

    /// The words of the file at `path`, or of a pipe there that a process writes to (`--words-from <(cut -f1
    /// vocab.tsv)`), each with its line, for a message that names where a word stands.
    public static func words(path: String) throws(ReadError) -> [Word] {
        words(in: try contents { () throws(RegularFile.Failure) in try RegularFile.contents(ofFileOrPipe: path) })
    }

    /// The words of standard input, read to its end (`lookup --words-from -`), each with its line.
    public static func standardInputWords() throws(ReadError) -> [Word] {
        words(in: try contents { () throws(RegularFile.Failure) in try RegularFile.standardInput() })
    }

    private static func words(in bytes: [UInt8]) -> [Word] {
        Lines(bytes).compactMap { $0.bytes.isEmpty ? nil : Word(line: $0.number, bytes: Array($0.bytes)) }
    }

    private static func contents(
        _ read: () throws(RegularFile.Failure) -> [UInt8]
    ) throws(ReadError) -> [UInt8] {
        do {
            return try read()
        } catch {
            throw ReadError(kind: .cannotRead, message: error.message(expecting: "a file with one word per line"))
        }
    }
}
