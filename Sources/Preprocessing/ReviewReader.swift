import Foundation
import Support

/// What to do with bytes that are not UTF-8 (real corpora hold a few Windows-1252 bytes).
public enum DecodingPolicy: String, Sendable, CaseIterable, Codable {
    /// Decode with U+FFFD for each bad sequence, and count it.
    case replace
    /// Leave out the review or line, and count it.
    case skip
    /// Stop with an error naming the file and line.
    case fail

    /// What the text datasets do unless told otherwise.
    public static let standard = DecodingPolicy.replace
}

/// One labelled review: 0 negative, 1 positive.
public struct Review: Sendable {
    public var label: Int32
    public var text: String
}

/// Reads sentiment data: the IMDB layout (`DIR/pos/*.txt`, `DIR/neg/*.txt`, one review per file) or
/// `label<TAB>text` lines with labels `pos`/`neg` or `1`/`0`.
public enum ReviewReader {
    public struct Reviews: Sendable {
        public var reviews: [Review] = []
        /// Size and CRC-32 of the input (for a directory: of every review file, in name order).
        public var fingerprint: InputFingerprint
        /// Reviews or lines that held bytes that are not UTF-8.
        public var undecodable = 0
        /// Reviews or lines left out (empty, undecodable under `skip`, malformed with `skipBadLines`).
        public var skipped = 0
    }

    /// Reads `path`, a directory in the IMDB layout or a TSV file.
    /// - Parameter check: called before each review file, or every ``TextFile/linesBetweenChecks`` lines of a TSV
    ///   file; what it throws stops the read.
    /// - throws: ``DataError`` naming the file (and line) of an empty review, a bad label or undecodable bytes.
    public static func read(
        _ path: String, decoding: DecodingPolicy = .replace, skipBadLines: Bool = false,
        checking check: () throws -> Void = {}
    ) throws -> Reviews {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError(
                file: path,
                message: "no such file or directory; expected an IMDB-style directory (pos/, neg/) or a TSV file")
        }
        return isDirectory.boolValue
            ? try readDirectory(path, decoding: decoding, skipBadLines: skipBadLines, checking: check)
            : try read(tsv: TextFile(path: path), decoding: decoding, skipBadLines: skipBadLines, checking: check)
    }

    /// Decodes bytes under `policy`; `nil` means "leave it out".
    static func decode(
        _ bytes: some Collection<UInt8>, policy: DecodingPolicy, file: String, line: Int?, undecodable: inout Int
    ) throws -> String? {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        undecodable += 1
        switch policy {
        case .replace: return String(decoding: bytes, as: UTF8.self)
        case .skip: return nil
        case .fail:
            throw DataError(
                file: file, line: line,
                message: "holds bytes that are not UTF-8; expected UTF-8 text (see --encoding-errors)")
        }
    }

    static func readDirectory(
        _ path: String, decoding: DecodingPolicy, skipBadLines: Bool, checking check: () throws -> Void
    ) throws -> Reviews {
        var result = Reviews(
            fingerprint: InputFingerprint(name: URL(fileURLWithPath: path).lastPathComponent, size: 0, crc32: ""))
        var crc: UInt32 = 0
        var size = 0
        var policy = BadLinePolicy(skip: skipBadLines)
        var found = false
        for (folder, label) in [("neg", Int32(0)), ("pos", Int32(1))] {
            let directory = path + "/" + folder
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            found = true
            for name in names.sorted() where name.hasSuffix(".txt") {
                try check()
                let file = directory + "/" + name
                let bytes: [UInt8]
                do {
                    bytes = try RegularFile.contents(of: file)
                } catch {
                    throw DataError(file: file, message: "\(error.problem); expected a review")
                }
                size += bytes.count
                crc = Array((folder + "/" + name).utf8).withUnsafeBytes { CRC32.checksum($0, continuing: crc) }
                crc = bytes.withUnsafeBytes { CRC32.checksum($0, continuing: crc) }
                guard
                    let text = try decode(
                        bytes, policy: decoding, file: file, line: nil, undecodable: &result.undecodable)
                else {
                    result.skipped += 1
                    continue
                }
                if PythonText.isBlank(text) {
                    try policy.handle(DataError(file: file, message: "is an empty review; expected the review's text"))
                    result.skipped += 1
                    continue
                }
                result.reviews.append(Review(label: label, text: text))
            }
        }
        guard found else {
            throw DataError(
                file: path, message: "has neither pos/ nor neg/; expected the IMDB layout (pos/*.txt, neg/*.txt)")
        }
        result.fingerprint.size = size
        result.fingerprint.crc32 = String(format: "%08x", crc)
        return result
    }

    /// Reads `label<TAB>text` lines; empty lines are passed over.
    /// - Parameter check: called every ``TextFile/linesBetweenChecks`` lines; what it throws stops the read.
    /// - throws: ``DataError`` naming the line of a bad label, a missing tab or undecodable bytes.
    public static func read(
        tsv file: TextFile, decoding: DecodingPolicy = .replace, skipBadLines: Bool = false,
        checking check: () throws -> Void = {}
    ) throws -> Reviews {
        var result = Reviews(fingerprint: file.fingerprint)
        var policy = BadLinePolicy(skip: skipBadLines)
        for line in Lines(file.bytes) {
            let number = line.number
            if number % TextFile.linesBetweenChecks == 0 { try check() }
            guard !line.bytes.isEmpty else { continue }
            guard
                let text = try decode(
                    line.bytes, policy: decoding, file: file.path, line: number, undecodable: &result.undecodable)
            else {
                result.skipped += 1
                continue
            }
            guard let tab = text.firstIndex(of: "\t") else {
                try policy.handle(
                    DataError(file: file.path, line: number, message: "has no tab; expected \"label<TAB>text\""))
                result.skipped += 1
                continue
            }
            let labelText = text[..<tab].lowercased()
            let label: Int32
            switch labelText {
            case "pos", "1", "positive": label = 1
            case "neg", "0", "negative": label = 0
            default:
                try policy.handle(
                    DataError(
                        file: file.path, line: number, message: "label \"\(text[..<tab])\"; expected pos, neg, 1 or 0"))
                result.skipped += 1
                continue
            }
            let review = String(text[text.index(after: tab)...])
            if PythonText.isBlank(review) {
                try policy.handle(
                    DataError(
                        file: file.path, line: number, message: "is an empty review; expected text after the label"))
                result.skipped += 1
                continue
            }
            result.reviews.append(Review(label: label, text: review))
        }
        return result
    }
}
