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

    /// The words of the file at `path`, as bytes.
    public static func bytes(path: String) throws(ReadError) -> [[UInt8]] {
        Lines(try contents(path)).compactMap { $0.bytes.isEmpty ? nil : Array($0.bytes) }
    }

    private static func contents(_ path: String) throws(ReadError) -> [UInt8] {
        do {
            return try RegularFile.contents(of: path)
        } catch {
            throw ReadError(kind: .cannotRead, message: error.message(expecting: "a file with one word per line"))
        }
    }
}
