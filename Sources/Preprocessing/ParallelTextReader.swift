import Foundation
import Support

/// A source sentence and its translation.
public struct SentencePair: Sendable, Equatable {
    public var source: String
    public var target: String

    public init(source: String, target: String) {
        self.source = source
        self.target = target
    }
}

/// Which lines of a parallel file are sentences, as torchtext's IWSLT2016 reader decides.
public enum MarkupFilter: String, Sendable, CaseIterable, Codable {
    /// By the file's name: `.xml` files as ``xml``, names holding `.tags` as ``tags``, others as ``none``.
    case auto
    /// IWSLT `train.tags.*` files: drop the TED metadata lines (those containing `<url`, `<keywords`, `<talkid`,
    /// `<description`, `<reviewer`, `<translator`, `<title`, `<speaker`, `<doc` or `</doc`); keep every other line,
    /// stripped of surrounding whitespace, even one that starts with `<` such as `<i>Diplomacy</i> …`.
    case tags
    /// IWSLT `*.xml` files (dev and test sets): only the text of each `<seg …>…</seg>`, entities decoded.
    case xml
    /// Every line is a sentence.
    case none

    /// The markers of TED metadata lines in `.tags` files (torchtext's list).
    public static let metadataMarkers = [
        "<url", "<keywords", "<talkid", "<description", "<reviewer", "<translator",
        "<title", "<speaker", "<doc", "</doc",
    ]

    /// The filter `auto` means for a file named `path`.
    public func resolved(for path: String) -> MarkupFilter {
        guard self == .auto else { return self }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasSuffix(".xml") { return .xml }
        return name.contains(".tags") ? .tags : .none
    }
}

/// Reads sentence pairs: two line-aligned files (IWSLT's `train.tags.en-fr.en` / `.fr`, or `.xml` dev/test files)
/// or one `source<TAB>target` file.
public enum ParallelTextReader {
    public struct Pairs: Sendable {
        public var pairs: [SentencePair] = []
        public var fingerprints: [InputFingerprint] = []
        /// Lines dropped as markup on each side (TED metadata in `.tags` files; everything outside `<seg>` in XML).
        public var sourceMarkupLines = 0
        public var targetMarkupLines = 0
        /// Pairs left out: undecodable under `skip`, or malformed TSV lines with `skipBadLines`.
        public var skipped = 0
        /// Lines that held bytes that are not UTF-8.
        public var undecodable = 0
    }

    /// One side's sentences, each with the line it starts on, and how many lines were dropped as markup.
    struct Side {
        var sentences: [(line: Int, text: String?)] = []
        var droppedLines: [Int] = []
        var totalLines = 0
    }

    /// Two line-aligned files, filtered by `markup` as torchtext does.
    /// - Parameter check: called every ``TextFile/linesBetweenChecks`` lines; what it throws stops the read.
    /// - throws: ``DataError`` when the two sides do not pair up: different line counts, or markup dropped on one side
    ///   and not the other (naming the first line where they diverge).
    public static func read(
        source: TextFile, target: TextFile, markup: MarkupFilter = .auto, decoding: DecodingPolicy = .replace,
        checking check: () throws -> Void = {}
    ) throws -> Pairs {
        var result = Pairs(fingerprints: [source.fingerprint, target.fingerprint])
        let sourceSide = try sentences(
            source, markup: markup.resolved(for: source.path), decoding: decoding, undecodable: &result.undecodable,
            checking: check)
        let targetSide = try sentences(
            target, markup: markup.resolved(for: target.path), decoding: decoding, undecodable: &result.undecodable,
            checking: check)
        try checkAlignment(sourceSide, source.path, targetSide, target.path)
        result.sourceMarkupLines = sourceSide.droppedLines.count
        result.targetMarkupLines = targetSide.droppedLines.count
        for (sourceSentence, targetSentence) in zip(sourceSide.sentences, targetSide.sentences) {
            guard let sourceText = sourceSentence.text, let targetText = targetSentence.text else {
                result.skipped += 1
                continue
            }
            result.pairs.append(SentencePair(source: sourceText, target: targetText))
        }
        return result
    }

    /// Throws unless the two sides hold the same number of sentences.
    static func checkAlignment(_ source: Side, _ sourcePath: String, _ target: Side, _ targetPath: String) throws {
        guard source.sentences.count != target.sentences.count else { return }
        if source.droppedLines.isEmpty && target.droppedLines.isEmpty {
            throw DataError(
                file: sourcePath,
                message:
                    "has \(source.sentences.count) lines but \(targetPath) has \(target.sentences.count); expected "
                    + "line-aligned files"
            )
        }
        // Markup was dropped differently: find the first sentence whose line numbers differ.
        let index =
            zip(source.sentences, target.sentences).enumerated().first { $0.element.0.line != $0.element.1.line }?
            .offset
            ?? min(source.sentences.count, target.sentences.count)
        let sourceLine = index < source.sentences.count ? source.sentences[index].line : source.totalLines + 1
        let targetLine = index < target.sentences.count ? target.sentences[index].line : target.totalLines + 1
        throw DataError(
            file: sourcePath, line: sourceLine,
            message:
                "sentence \(index + 1) is here but on line \(targetLine) of \(targetPath): the two files lose "
                + "different lines as markup (\(source.droppedLines.count) and \(target.droppedLines.count)), so "
                + "their sentences no longer pair up; expected the same markup lines on both sides"
        )
    }

    /// The sentences of one file under `markup` (``MarkupFilter/auto`` already resolved); `nil` text where a line
    /// is left out under `skip`.
    static func sentences(
        _ file: TextFile, markup: MarkupFilter, decoding: DecodingPolicy, undecodable: inout Int,
        checking check: () throws -> Void
    ) throws -> Side {
        var side = Side()
        if markup == .xml { return try segments(file, decoding: decoding, undecodable: &undecodable, checking: check) }
        for line in Lines(file.bytes) {
            if line.number % TextFile.linesBetweenChecks == 0 { try check() }
            side.totalLines = line.number
            let text = try ReviewReader.decode(
                line.bytes, policy: decoding, file: file.path, line: line.number, undecodable: &undecodable)
            if markup == .tags, let text, MarkupFilter.metadataMarkers.contains(where: { text.contains($0) }) {
                side.droppedLines.append(line.number)
                continue
            }
            side.sentences.append((line.number, markup == .tags ? text.map(strip) : text))
        }
        return side
    }

    /// The text of each `<seg …>…</seg>` of an IWSLT XML file, in order, stripped and with entities decoded.
    static func segments(
        _ file: TextFile, decoding: DecodingPolicy, undecodable: inout Int, checking check: () throws -> Void
    ) throws -> Side {
        var side = Side()
        var open: (line: Int, text: String)? = nil
        for line in Lines(file.bytes) {
            if line.number % TextFile.linesBetweenChecks == 0 { try check() }
            side.totalLines = line.number
            guard
                let text = try ReviewReader.decode(
                    line.bytes, policy: decoding, file: file.path, line: line.number, undecodable: &undecodable)
            else {
                side.sentences.append((line.number, nil))
                continue
            }
            var rest = Substring(text)
            var holdsSegment = open != nil
            while true {
                if let started = open {
                    guard let end = rest.range(of: "</seg>") else {
                        open = (started.line, started.text + rest + "\n")
                        break
                    }
                    side.sentences.append((started.line, strip(decodeEntities(started.text + rest[..<end.lowerBound]))))
                    open = nil
                    rest = rest[end.upperBound...]
                    continue
                }
                guard let start = rest.range(of: "<seg"), let close = rest[start.upperBound...].firstIndex(of: ">")
                else { break }
                holdsSegment = true
                open = (line.number, "")
                rest = rest[rest.index(after: close)...]
            }
            if !holdsSegment { side.droppedLines.append(line.number) }
        }
        if let started = open {
            throw DataError(
                file: file.path, line: started.line,
                message: "a <seg> that is never closed; expected <seg id=\"…\">text</seg>")
        }
        return side
    }

    /// Python's `str.strip()`: whitespace removed at both ends.
    static func strip(_ text: String) -> String {
        String(PythonText.strip(text[...]))
    }

    /// XML's five predefined entities and numeric character references, decoded.
    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var rest = Substring(text)
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            let after = rest[rest.index(after: ampersand)...]
            guard let semicolon = after.prefix(12).firstIndex(of: ";") else {
                result += "&"
                rest = after
                continue
            }
            let name = after[..<semicolon]
            let named = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'"][String(name)]
            let number: UInt32? =
                name.hasPrefix("#x")
                ? UInt32(name.dropFirst(2), radix: 16)
                : name.hasPrefix("#") ? UInt32(name.dropFirst()) : nil
            if let named {
                result += named
            } else if let number, let scalar = Unicode.Scalar(number) {
                result.unicodeScalars.append(scalar)
            } else {
                result += "&" + name + ";"
            }
            rest = after[after.index(after: semicolon)...]
        }
        return result + rest
    }

    /// One `source<TAB>target` file: every line with a tab is a pair (empty lines are passed over).
    /// - Parameter check: called every ``TextFile/linesBetweenChecks`` lines; what it throws stops the read.
    /// - throws: ``DataError`` naming the line without a tab, unless `skipBadLines`.
    public static func read(
        tsv file: TextFile, decoding: DecodingPolicy = .replace, skipBadLines: Bool = false,
        checking check: () throws -> Void = {}
    ) throws -> Pairs {
        var result = Pairs(fingerprints: [file.fingerprint])
        var policy = BadLinePolicy(skip: skipBadLines)
        for line in Lines(file.bytes) {
            if line.number % TextFile.linesBetweenChecks == 0 { try check() }
            guard !line.bytes.isEmpty else { continue }
            guard
                let text = try ReviewReader.decode(
                    line.bytes, policy: decoding, file: file.path, line: line.number, undecodable: &result.undecodable)
            else {
                result.skipped += 1
                continue
            }
            // Split at the tab's byte: a tab always stands apart as a Character of its own (a control), so this is the
            // split of the text's Characters without breaking the whole line into Characters first.
            guard let tab = text.utf8.firstIndex(of: 0x09) else {
                try policy.handle(
                    DataError(file: file.path, line: line.number, message: "has no tab; expected \"source<TAB>target\"")
                )
                result.skipped += 1
                continue
            }
            result.pairs.append(
                SentencePair(source: String(text[..<tab]), target: String(text[text.utf8.index(after: tab)...])))
        }
        return result
    }
}
