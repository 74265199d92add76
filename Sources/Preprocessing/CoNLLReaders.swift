import Support

/// Reads CoNLL-2000 part-of-speech files: `word TAG [chunk]` per line, blank lines between sentences, as the book's
/// Python reads them (`for line in open(path)`, then `line.split()`).
public enum CoNLL2000Reader {
    /// A file's rows in order, and the row index where each sentence starts.
    public struct Rows: Sendable {
        public var rows: [(word: String, tag: String)] = []
        public var sentenceStarts: [Int] = []
        public var skippedLines = 0
    }

    /// Reads every `word TAG` row (a third chunk column is ignored), dropping blank lines.
    /// - Parameter check: called every ``TextFile/linesBetweenChecks`` lines; what it throws stops the read.
    /// - throws: ``DataError`` naming the line of a row with fewer than two columns, unless `skipBadLines`.
    public static func read(_ file: TextFile, skipBadLines: Bool = false, checking check: () throws -> Void = {})
        throws -> Rows
    {
        var result = Rows()
        var policy = BadLinePolicy(skip: skipBadLines)
        var atSentenceStart = true
        for (number, line) in try file.pythonLines() {
            if number % TextFile.linesBetweenChecks == 0 { try check() }
            let fields = PythonText.split(line[...])
            if fields.isEmpty {
                atSentenceStart = true
                continue
            }
            guard fields.count >= 2 else {
                try policy.handle(
                    DataError(
                        file: file.path, line: number, message: "\"\(line)\" has one column; expected \"word TAG\""))
                continue
            }
            if atSentenceStart { result.sentenceStarts.append(result.rows.count) }
            atSentenceStart = false
            result.rows.append((String(fields[0]), String(fields[1])))
        }
        result.skippedLines = policy.skipped
        return result
    }
}

/// One token of a dependency treebank sentence (ids are 1-based; head 0 is the root).
public struct DependencyToken: Sendable, Equatable {
    public var form: String
    public var pos: String
    public var head: Int
    public var label: String

    public init(form: String, pos: String, head: Int, label: String) {
        self.form = form
        self.pos = pos
        self.head = head
        self.label = label
    }
}

/// Reads CoNLL-U and CoNLL-X treebanks: ten tab-separated columns per token, blank lines between sentences.
///
/// CoNLL-U comment lines (`#`), multiword-token ranges (`29-30`) and empty nodes (`8.1`) are passed over.
public enum CoNLLUReader {
    /// Which POS column to use.
    public enum POSColumn: String, Sendable, CaseIterable, Codable {
        /// Column 4: UPOS in CoNLL-U, CPOSTAG in CoNLL-X.
        case upos
        /// Column 5: XPOS in CoNLL-U (Penn Treebank tags in EWT), POSTAG in CoNLL-X; UPOS where it is `_`.
        case xpos
    }

    public struct Sentences: Sendable {
        public var sentences: [[DependencyToken]] = []
        public var skippedLines = 0
        public var skippedSentences = 0
    }

    /// Reads every sentence and checks each tree: ids in order, heads inside the sentence, no cycles.
    /// - Parameter check: called every ``TextFile/linesBetweenChecks`` lines; what it throws stops the read.
    /// - throws: ``DataError`` naming the file and line, unless `skipBadLines` (a bad line drops its sentence).
    public static func read(
        _ file: TextFile, pos: POSColumn = .xpos, skipBadLines: Bool = false, checking check: () throws -> Void = {}
    ) throws -> Sentences {
        var result = Sentences()
        var policy = BadLinePolicy(skip: skipBadLines)
        var current: [DependencyToken] = []
        var currentStartLine = 0
        var currentIsBad = false

        func finishSentence(endLine: Int) throws {
            defer {
                current = []
                currentIsBad = false
            }
            guard !current.isEmpty else { return }
            if currentIsBad {
                result.skippedSentences += 1
                return
            }
            if let problem = treeProblem(current) {
                try policy.handle(
                    DataError(file: file.path, line: currentStartLine, message: "the sentence starting here \(problem)")
                )
                result.skippedSentences += 1
                return
            }
            result.sentences.append(current)
        }

        /// A malformed line: an error, or (skipping bad lines) counted, and its sentence left out.
        func reject(_ line: Int, _ message: String) throws {
            try policy.handle(DataError(file: file.path, line: line, message: message))
            currentIsBad = true
        }

        let lines = try file.lines()
        for (number, line) in lines {
            if number % TextFile.linesBetweenChecks == 0 { try check() }
            if PythonText.isBlank(line) {
                try finishSentence(endLine: number)
                continue
            }
            if line.hasPrefix("#") { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 10 else {
                try reject(number, "has \(fields.count) tab-separated fields; expected 10 (CoNLL-U/CoNLL-X)")
                continue
            }
            let id = fields[0]
            if id.contains("-") || id.contains(".") { continue }  // multiword range or empty node
            if current.isEmpty { currentStartLine = number }
            guard let index = Int(id), index == current.count + 1 else {
                try reject(number, "token id \"\(id)\" is out of order; expected \(current.count + 1)")
                continue
            }
            guard let head = Int(fields[6]) else {
                try reject(number, "head \"\(fields[6])\" is not a number")
                continue
            }
            let xpos = String(fields[4])
            let tag = pos == .xpos && xpos != "_" ? xpos : String(fields[3])
            current.append(DependencyToken(form: String(fields[1]), pos: tag, head: head, label: String(fields[7])))
        }
        try finishSentence(endLine: (lines.last?.number ?? 0) + 1)
        result.skippedLines = policy.skipped
        return result
    }

    /// Why `tokens` is not a tree, or `nil`: a head outside the sentence, or a cycle.
    static func treeProblem(_ tokens: [DependencyToken]) -> String? {
        for (index, token) in tokens.enumerated() where token.head < 0 || token.head > tokens.count {
            return "has token \(index + 1) with head \(token.head), outside the sentence (0...\(tokens.count))"
        }
        for start in 1...tokens.count {
            var node = start
            var steps = 0
            while node != 0 {
                node = tokens[node - 1].head
                steps += 1
                if steps > tokens.count { return "has a cycle through token \(start); expected a tree" }
            }
        }
        return nil
    }
}
