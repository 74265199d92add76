/// A source sentence and its translation.
public struct SentencePair: Sendable, Equatable {
    public var source: String
    public var target: String

    public init(source: String, target: String) {
        self.source = source
        self.target = target
    }
}

/// Reads sentence pairs: two line-aligned files (IWSLT's `train.tags.en-fr.en` / `.fr`) or one `source<TAB>target`
/// file. Markup lines (`<url>`, `<talkid>`, `<title>`, … — a line that starts with `<`) are skipped on both sides.
public enum ParallelTextReader {
    public struct Pairs: Sendable {
        public var pairs: [SentencePair] = []
        public var fingerprints: [InputFingerprint] = []
        /// Line pairs left out because one side is markup.
        public var markupLines = 0
        /// Line pairs left out because a side is empty, or undecodable under `skip`, or malformed with `skipBadLines`.
        public var skipped = 0
        /// Lines that held bytes that are not UTF-8.
        public var undecodable = 0
    }

    static func isMarkup(_ line: String) -> Bool {
        line.drop { $0 == " " || $0 == "\t" }.hasPrefix("<")
    }

    /// Decoded lines of a file (without `\n` or `\r`), `nil` where a line is left out under `skip`.
    static func lines(_ file: TextFile, decoding: DecodingPolicy, undecodable: inout Int) throws -> [String?] {
        var result: [String?] = []
        var number = 0
        for slice in file.bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            var line = slice
            if line.last == 0x0D { line = line.dropLast() }
            result.append(try ReviewReader.decode(line, policy: decoding, file: file.path, line: number, undecodable: &undecodable))
        }
        if file.bytes.last == 0x0A { result.removeLast() }
        return result
    }

    /// Two line-aligned files.
    /// - throws: ``DataError`` naming both line counts when they differ.
    public static func read(source: TextFile, target: TextFile, decoding: DecodingPolicy = .replace) throws -> Pairs {
        var result = Pairs(fingerprints: [source.fingerprint, target.fingerprint])
        let sources = try lines(source, decoding: decoding, undecodable: &result.undecodable)
        let targets = try lines(target, decoding: decoding, undecodable: &result.undecodable)
        guard sources.count == targets.count else {
            throw DataError(file: source.path, message: "has \(sources.count) lines but \(target.path) has \(targets.count); expected line-aligned files")
        }
        for (source, target) in zip(sources, targets) {
            guard let source, let target else {
                result.skipped += 1
                continue
            }
            if isMarkup(source) || isMarkup(target) {
                result.markupLines += 1
            } else if source.allSatisfy(\.isWhitespace) || target.allSatisfy(\.isWhitespace) {
                result.skipped += 1
            } else {
                result.pairs.append(SentencePair(source: source, target: target))
            }
        }
        return result
    }

    /// One `source<TAB>target` file.
    /// - throws: ``DataError`` naming the line without a tab, unless `skipBadLines`.
    public static func read(tsv file: TextFile, decoding: DecodingPolicy = .replace, skipBadLines: Bool = false) throws -> Pairs {
        var result = Pairs(fingerprints: [file.fingerprint])
        var policy = BadLinePolicy(skip: skipBadLines)
        for (index, line) in try lines(file, decoding: decoding, undecodable: &result.undecodable).enumerated() {
            guard let line else {
                result.skipped += 1
                continue
            }
            if line.isEmpty { continue }
            let fields = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard fields.count == 2 else {
                try policy.handle(DataError(file: file.path, line: index + 1, message: "has no tab; expected \"source<TAB>target\""))
                result.skipped += 1
                continue
            }
            if isMarkup(String(fields[0])) || isMarkup(String(fields[1])) {
                result.markupLines += 1
            } else if fields[0].allSatisfy(\.isWhitespace) || fields[1].allSatisfy(\.isWhitespace) {
                result.skipped += 1
            } else {
                result.pairs.append(SentencePair(source: String(fields[0]), target: String(fields[1])))
            }
        }
        return result
    }
}
