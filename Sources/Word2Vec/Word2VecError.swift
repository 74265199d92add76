import Support

/// A problem with a vectors file: which file, where in it, and what was expected there.
public struct Word2VecError: DescribedError, Equatable {
    /// Where in the file a problem was found.
    public enum Location: Sendable, Equatable {
        case none
        /// A byte offset in the file as stored on disk (for gzip problems, an offset in the compressed file).
        case fileOffset(UInt64)
        /// A byte offset in the decompressed data (for a plain file, the same as the file offset).
        case dataOffset(UInt64)
        /// A 1-based line of a text-format file, and the offset of its first byte in the decompressed data.
        case line(Int, dataOffset: UInt64)
    }

    /// What kind of problem; tests and callers branch on this, people read ``description``.
    public enum Kind: Sendable, Equatable {
        case cannotOpen, notAFile, empty, truncatedGzip, corruptGzip, badHeader, badWord, dimensionMismatch,
            badNumber, shortVector, shortFile, extraData, nonFinite, invalidUTF8
    }

    public let file: String
    public let kind: Kind
    public let location: Location
    /// What went wrong and what was expected, in words.
    public let message: String

    public init(file: String, kind: Kind, location: Location = .none, message: String) {
        self.file = file
        self.kind = kind
        self.location = location
        self.message = message
    }

    public var description: String {
        switch location {
        case .none: "\(file): \(message)"
        case .fileOffset(let offset): "\(file): at byte \(offset) of the file: \(message)"
        case .dataOffset(let offset): "\(file): at byte \(offset) of the vector data: \(message)"
        case .line(let line, _): "\(file): line \(line): \(message)"
        }
    }
}
