import Foundation
import SearchIndex
import Support
import VectorCache

/// gensim 4's `KeyedVectors.evaluate_word_analogies` on a questions-words file (`: section` lines, then
/// `a b c expected` per line): each question asks `most_similar(positive=[b, c], negative=[a], topn=5)` among the
/// first `restrictVocab` words of the file, and the first answer that is not one of `a`, `b`, `c` must be `expected`.
///
/// As in gensim: words are compared upper-cased unless case-sensitive (the file's first word of each upper-cased
/// form stands for it), questions with a word outside the first `restrictVocab` are skipped and counted, lines that
/// are not four words are skipped, and the sections come back with a last one, "Total accuracy". Questions run in
/// batches through ``SimilaritySearch``, many per pass over the index.
public struct AnalogyEvaluation: Sendable {
    /// What a question line is: the form a skipped line is said not to have.
    public static let form = "four words"
    /// How many of the file's first words gensim's evaluations use unless told otherwise (`restrict_vocab`).
    public static let defaultRestrictVocab = 300_000

    public struct Section: Sendable, Equatable {
        public var name: String
        public var correct: Int
        public var incorrect: Int

        /// correct / (correct + incorrect), 0 without questions.
        public var accuracy: Double { correct + incorrect == 0 ? 0 : Double(correct) / Double(correct + incorrect) }
    }

    /// The sections in file order, then "Total accuracy".
    public var sections: [Section]
    /// Questions read (four-word lines), out-of-vocabulary ones included.
    public var questions: Int
    /// Questions skipped for a word outside the vocabulary.
    public var outOfVocabulary: Int
    /// Lines after the first section that are not four words (nor blank), skipped as gensim skips them.
    public var skipped = SkippedLines()

    /// The total accuracy, as gensim returns it.
    public var accuracy: Double { sections.last?.accuracy ?? 0 }
    /// Out-of-vocabulary questions in percent of the questions, as gensim logs it.
    public var outOfVocabularyRatio: Double { questions == 0 ? 0 : Double(outOfVocabulary) / Double(questions) * 100 }

    /// Questions per batch: a batch's queries share one pass over the index's codes.
    static let batchSize = 256

    /// Evaluates `search` on the questions in `bytes` (read from `path`, named in errors).
    /// - Parameter progress: told the questions answered so far and the questions to answer.
    /// - throws: ``SimilarityError/Kind/badInput`` for a line that is not UTF-8 or a question before any section
    ///   (gensim fails on both too), or when the file has no questions.
    public static func evaluate(
        _ bytes: [UInt8], path: String, search: SimilaritySearch,
        restrictVocab: Int = AnalogyEvaluation.defaultRestrictVocab, caseInsensitive: Bool = true,
        progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) throws -> AnalogyEvaluation {
        let clipEnd = search.clipEnd(restrictVocab: restrictVocab)
        let vocabulary = Vocabulary(search: search, clipEnd: clipEnd, caseInsensitive: caseInsensitive)

        struct Question {
            var section: Int
            var ignore: Set<CodePoints>
            var expected: CodePoints
            var query: SimilaritySearch.RowQuery
        }
        var sections: [Section] = []
        var questions: [Question] = []
        var questionCount = 0
        var outOfVocabulary = 0
        var skipped = SkippedLines()
        for (number, line) in PythonText.binaryLines(bytes).enumerated() {
            guard let text = String(validating: line, as: UTF8.self) else {
                throw SimilarityError(kind: .badInput, message: "\(path), line \(number + 1): not UTF-8 text")
            }
            if text.hasPrefix(": ") {
                let name = text.drop { $0 == ":" || $0 == " " }
                sections.append(Section(name: String(PythonText.strip(name)), correct: 0, incorrect: 0))
                continue
            }
            guard !sections.isEmpty else {
                throw SimilarityError(
                    kind: .badInput,
                    message: "\(path), line \(number + 1): a question before the first `: section` line")
            }
            let words = PythonText.split(text[...]).map { caseInsensitive ? PythonText.upper(String($0)) : String($0) }
            guard words.count == 4 else {
                if !words.isEmpty { skipped.skip(line: number + 1) }
                continue
            }
            questionCount += 1
            let rows = words.map(vocabulary.row)
            guard let a = rows[0], let b = rows[1], let c = rows[2], rows[3] != nil else {
                outOfVocabulary += 1
                continue
            }
            questions.append(
                Question(
                    section: sections.count - 1, ignore: Set(words[0..<3].map { CodePoints($0) }),
                    expected: CodePoints(words[3]),
                    query: .init(positive: [b, c], negative: [a], top: 5)))
        }
        guard questionCount > 0 else {
            throw SimilarityError(
                kind: .badInput,
                message: "\(path) holds no questions"
                    + (skipped.summary(form: Self.form).map { ": \($0)" } ?? " (lines of \(Self.form))"))
        }

        for start in stride(from: 0, to: questions.count, by: batchSize) {
            let batch = questions[start..<min(start + batchSize, questions.count)]
            let answers = try search.mostSimilar(
                rows: batch.map(\.query), clipEnd: clipEnd, failingQueriesAnswerNothing: true)
            for (question, answer) in zip(batch, answers) {
                var predicted: CodePoints?
                for neighbor in answer {
                    predicted = CodePoints(caseInsensitive ? PythonText.upper(neighbor.text) : neighbor.text)
                    if vocabulary.row(predicted!.string) != nil && !question.ignore.contains(predicted!) { break }
                }
                if predicted == question.expected {
                    sections[question.section].correct += 1
                } else {
                    sections[question.section].incorrect += 1
                }
            }
            progress(min(start + batchSize, questions.count), questions.count)
        }
        let total = Section(
            name: "Total accuracy", correct: sections.reduce(0) { $0 + $1.correct },
            incorrect: sections.reduce(0) { $0 + $1.incorrect })
        return AnalogyEvaluation(
            sections: sections + [total], questions: questionCount, outOfVocabulary: outOfVocabulary,
            skipped: skipped)
    }
}

/// The lines of an evaluation file that are not of its form (nor blank, nor a comment): gensim skips them, logging
/// each at INFO; they are counted, with the first one's number, so that a file of another form does not pass as one
/// of fewer questions.
public struct SkippedLines: Sendable, Equatable {
    /// How many lines were skipped.
    public var count: Int
    /// The first skipped line's number, from 1.
    public var first: Int?

    public init(count: Int = 0, first: Int? = nil) {
        self.count = count
        self.first = first
    }

    mutating func skip(line: Int) {
        count += 1
        if first == nil { first = line }
    }

    /// `3 lines skipped, not four words (the first: line 2)`, with `form` what a line should be; `nil` when none was.
    public func summary(form: String) -> String? {
        first.map { "\(Plural.count(count, "line")) skipped, not \(form) (the first: line \($0))" }
    }
}

/// gensim's `ok_vocab` of an evaluation: the first words of the file (rows `0..<clipEnd`, duplicates left out),
/// upper-cased when case-insensitive, the first row of each form winning.
struct Vocabulary {
    /// By code points, as Python's dictionary tells words apart.
    var rows: [CodePoints: Int] = [:]

    init(search: SimilaritySearch, clipEnd: Int, caseInsensitive: Bool) {
        let duplicates = Set(search.index.duplicateRows)
        rows.reserveCapacity(clipEnd)
        for row in 0..<clipEnd where !duplicates.contains(row) {
            let word = String(decoding: search.index.word(row), as: UTF8.self)
            let key = CodePoints(caseInsensitive ? PythonText.upper(word) : word)
            if rows[key] == nil { rows[key] = row }
        }
    }

    /// The row of `word` (already upper-cased when case-insensitive), or `nil`.
    func row(_ word: String) -> Int? { rows[CodePoints(word)] }
}
