import Foundation
import Support

/// A whole input text file (datasets are small next to vectors files) with its fingerprint and lines.
public struct TextFile: Sendable {
    public let path: String
    public let bytes: [UInt8]

    /// The readers call their `check` (a poll for Ctrl-C) once every this many lines.
    public static let linesBetweenChecks = 65_536

    /// Size and CRC-32: what a prepared dataset records to notice changed inputs.
    public var fingerprint: InputFingerprint {
        InputFingerprint(
            name: URL(fileURLWithPath: path).lastPathComponent, size: bytes.count,
            crc32: bytes.withUnsafeBytes { CRC32.hex($0) })
    }

    /// A text held in memory, named `path` in messages.
    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    /// Reads `path`; a missing file, a directory, a FIFO or a device is a ``DataError``.
    public init(path: String) throws {
        do {
            bytes = try RegularFile.contents(of: path)
        } catch {
            throw DataError(file: path, message: "\(error.problem); expected a text file")
        }
        self.path = path
    }

    /// The file's lines as Python reads a text file (`for line in open(path)`: universal newlines, so `\r\n`, `\r`
    /// and `\n` each end a line), without their line ends, each with its 1-based number.
    /// - throws: ``DataError`` naming the line of the first byte sequence that is not UTF-8.
    public func pythonLines() throws -> [(number: Int, text: String)] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            _ = try lines()  // names the line of the first byte sequence that is not UTF-8
            throw DataError(file: path, message: "is not valid UTF-8; expected UTF-8 text")
        }
        return PythonText.textLines(text).enumerated().map { index, line in
            (index + 1, line.hasSuffix("\n") ? String(line.dropLast()) : line)
        }
    }

    /// The file's lines (without `\n` or a trailing `\r`), each with its 1-based number, decoded as UTF-8.
    /// - throws: ``DataError`` naming the line of the first byte sequence that is not UTF-8, unless `lossy`.
    public func lines(lossy: Bool = false) throws -> [(number: Int, text: String)] {
        try Lines(bytes).map { line in
            if let text = String(validating: line.bytes, as: UTF8.self) { return (line.number, text) }
            guard lossy else {
                throw DataError(file: path, line: line.number, message: "is not valid UTF-8; expected UTF-8 text")
            }
            return (line.number, String(decoding: line.bytes, as: UTF8.self))
        }
    }
}

/// The identity of an input file: name, size and CRC-32.
public struct InputFingerprint: Codable, Sendable, Equatable {
    public var name: String
    public var size: Int
    public var crc32: String
}

/// Bad dataset input: the file, the line when known, and what was expected.
public struct DataError: Error, CustomStringConvertible, Sendable, Equatable {
    public let file: String
    public let line: Int?
    public let message: String

    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        line.map { "\(file): line \($0): \(message)" } ?? "\(file): \(message)"
    }
}

/// What to do with a malformed line: stop (the default) or count it and go on.
public struct BadLinePolicy: Sendable {
    public let skip: Bool
    /// Lines skipped so far.
    public private(set) var skipped = 0

    public init(skip: Bool) {
        self.skip = skip
    }

    /// Throws `error` unless skipping, in which case it is counted.
    public mutating func handle(_ error: DataError) throws {
        guard skip else { throw error }
        skipped += 1
    }
}
