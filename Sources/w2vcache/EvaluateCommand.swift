import ArgumentParser
import Foundation
import Similarity
import Support

/// `w2vcache evaluate`: the standard benchmarks of word vectors, scored as gensim scores them.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score the vectors on word analogies or word-pair similarities, as gensim does.",
        subcommands: [AnalogiesCommand.self, PairsCommand.self]
    )
}

/// Options both evaluations share.
struct EvaluationOptions: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Use only the first N words of the vectors file, in its order (default: gensim's, "
                + "\(AnalogyEvaluation.defaultRestrictVocab)).",
            valueName: "n"))
    var restrictVocab: Int?

    @Flag(
        help: ArgumentHelp(
            "Compare words as they are (default: upper-cased, the file's first word of each form standing for it, as "
                + "gensim does).")
    )
    var caseSensitive = false

    @Option(help: "Output format: text or json.")
    var format: SimilarityOptions.OutputFormat = .text

    func validate() throws {
        if let restrictVocab, restrictVocab < 1 { throw ValidationError("--restrict-vocab must be at least 1") }
    }

    /// The words evaluated: the first `--restrict-vocab` of the file, or gensim's default.
    var clip: Int { restrictVocab ?? AnalogyEvaluation.defaultRestrictVocab }

    /// Says on stderr how many lines of `file` were skipped for not being `form`, and the first one, when any were.
    static func report(_ skipped: SkippedLines, in file: String, form: String) {
        guard let summary = skipped.summary(form: form) else { return }
        Terminal.message("w2vcache: \(file): \(summary), as gensim skips them")
    }
}

/// `w2vcache evaluate analogies`.
struct AnalogiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analogies",
        abstract: "Accuracy on word analogies (gensim's evaluate_word_analogies), e.g. questions-words.txt.",
        discussion: """
            FILE holds ": section" lines, each followed by questions "a b c d" (a is to b as c is to d). A question \
            counts as correct when the first answer of most_similar(positive=[b, c], negative=[a], topn=5) that is \
            not a, b or c is d. Questions with a word outside the first --restrict-vocab words are skipped and \
            counted. Other lines that are not four words are skipped (as gensim skips them), and counted on stderr. \
            json: {"accuracy": a, "sections": [{"section": name, "correct": c, "incorrect": i}, ...], \
            "oov_ratio": percent, "skipped_lines": n}, the last section being "Total accuracy".
            """
    )

    @OptionGroup var cache: CacheOptions
    @OptionGroup var options: EvaluationOptions

    @Argument(help: ArgumentHelp("The questions file.", valueName: "file"))
    var file: String

    func run() throws {
        let bytes: [UInt8]
        do { bytes = try RegularFile.contents(of: file) } catch { throw error.expecting("an analogy questions file") }
        let search = try SimilarityOptions.openSearch(cache)
        let started = Date()
        let result = try AnalogyEvaluation.evaluate(
            bytes, path: file, search: search, restrictVocab: options.clip, caseInsensitive: !options.caseSensitive
        ) { done, total in
            Terminal.progress(
                "questions: \(done) of \(total)  "
                    + "\(Human.count(Double(done) / max(Date().timeIntervalSince(started), 1e-9)))/s"
            )
        }
        Terminal.endProgress()
        var output: String
        switch options.format {
        case .json:
            let sections = result.sections.map {
                "{\"section\": \(JSONText.string($0.name)), \"correct\": \($0.correct), \"incorrect\": \($0.incorrect)}"
            }
            output =
                "{\"accuracy\": \(NonFiniteJSON.text(result.accuracy)), \"sections\": "
                + "[\(sections.joined(separator: ", "))], "
                + "\"oov_ratio\": \(result.outOfVocabularyRatio), \"questions\": \(result.questions), \"oov\": "
                + "\(result.outOfVocabulary), \"skipped_lines\": \(result.skipped.count)}\n"
        case .text:
            output = result.sections.map {
                Printable.escape($0.name)
                    + String(format: ": %.1f%% (%d/%d)\n", $0.accuracy * 100, $0.correct, $0.correct + $0.incorrect)
            }.joined()
            output += String(
                format: "questions with out-of-vocabulary words: %.1f%% (%d of %d)\n", result.outOfVocabularyRatio,
                result.outOfVocabulary, result.questions)
        }
        try Terminal.writeStdout(Array(output.utf8))
        EvaluationOptions.report(result.skipped, in: file, form: AnalogyEvaluation.form)
    }
}

/// `w2vcache evaluate pairs`.
struct PairsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pairs",
        abstract: "Correlation with human similarity judgements (gensim's evaluate_word_pairs), e.g. WordSim-353.",
        discussion: """
            FILE holds "word1<TAB>word2<TAB>score" lines; lines starting with # are comments, other lines that do \
            not fit are skipped (as gensim skips them) and counted on stderr. Pairs with a word outside the first \
            --restrict-vocab words are skipped and counted. json: {"pearson": r, "spearman": rho, "oov_ratio": \
            percent, "skipped_lines": n}.
            """
    )

    @OptionGroup var cache: CacheOptions
    @OptionGroup var options: EvaluationOptions

    @Argument(help: ArgumentHelp("The word-pairs file.", valueName: "file"))
    var file: String

    func run() throws {
        let bytes: [UInt8]
        do { bytes = try RegularFile.contents(of: file) } catch { throw error.expecting("a word-pairs file") }
        let search = try SimilarityOptions.openSearch(cache)
        let result = try WordPairEvaluation.evaluate(
            bytes, path: file, search: search, restrictVocab: options.clip, caseInsensitive: !options.caseSensitive)
        let output =
            switch options.format {
            case .json:
                "{\"pearson\": \(NonFiniteJSON.text(result.pearson)), \"spearman\": "
                    + "\(NonFiniteJSON.text(result.spearman)), "
                    + "\"oov_ratio\": \(result.outOfVocabularyRatio), \"pairs\": \(result.pairs), \"oov\": "
                    + "\(result.outOfVocabulary), \"skipped_lines\": \(result.skipped.count)}\n"
            case .text:
                String(
                    format: "pearson %.4f  spearman %.4f  pairs %d  out of vocabulary %.1f%% (%d)\n",
                    result.pearson, result.spearman, result.pairs, result.outOfVocabularyRatio, result.outOfVocabulary)
            }
        try Terminal.writeStdout(Array(output.utf8))
        EvaluationOptions.report(result.skipped, in: file, form: WordPairEvaluation.form)
    }
}
