import COpenBLAS
import Foundation
import Support

/// gensim 4's `KeyedVectors.evaluate_word_pairs` on a word-similarity file (WordSim-353, SimLex-999: `word1 TAB
/// word2 TAB score` per line, `#` comments): the Pearson and Spearman correlations between the file's scores and
/// the model's cosine similarities, over the pairs whose words are both among the first `restrictVocab` words.
public struct WordPairEvaluation: Sendable {
    /// What a line of the file is: the form a skipped line is said not to have.
    public static let form = "word<TAB>word<TAB>score"
    public var pearson: Double
    public var spearman: Double
    /// Pairs scored.
    public var pairs: Int
    /// Pairs skipped for a word outside the vocabulary.
    public var outOfVocabulary: Int
    /// Lines that are not three tab-separated fields with a number last (nor blank, nor a comment), skipped as gensim
    /// skips them.
    public var skipped = SkippedLines()

    /// Out-of-vocabulary pairs in percent of all pairs read, as gensim returns it.
    public var outOfVocabularyRatio: Double { Double(outOfVocabulary) / Double(pairs + outOfVocabulary) * 100 }

    /// Evaluates `search` on the pairs in a file's bytes, as ``evaluate(_:path:search:restrictVocab:caseInsensitive:)``
    /// does on its text.
    /// - throws: ``SimilarityError/Kind/badInput`` naming the first line that is not UTF-8, or as for the text.
    public static func evaluate(
        _ bytes: [UInt8], path: String, search: SimilaritySearch,
        restrictVocab: Int = AnalogyEvaluation.defaultRestrictVocab, caseInsensitive: Bool = true
    ) throws -> WordPairEvaluation {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let line = PythonText.binaryLines(bytes).enumerated().first {
                String(validating: $0.element, as: UTF8.self) == nil
            }
            throw SimilarityError(kind: .badInput, message: "\(path), line \((line?.offset ?? 0) + 1): not UTF-8 text")
        }
        return try evaluate(
            text, path: path, search: search, restrictVocab: restrictVocab, caseInsensitive: caseInsensitive)
    }

    /// Evaluates `search` on the pairs in `text` (read from `path`, named in errors). Lines are read as Python reads
    /// a text file (universal newlines); a line that is not three tab-separated fields with a number last is skipped,
    /// as gensim skips it.
    /// - throws: ``SimilarityError/Kind/badInput`` when no pair has both words in the vocabulary.
    public static func evaluate(
        _ text: String, path: String, search: SimilaritySearch,
        restrictVocab: Int = AnalogyEvaluation.defaultRestrictVocab, caseInsensitive: Bool = true
    ) throws -> WordPairEvaluation {
        let vocabulary = Vocabulary(
            search: search, clipEnd: search.clipEnd(restrictVocab: restrictVocab), caseInsensitive: caseInsensitive)
        var gold: [Double] = []
        var model: [Double] = []
        var outOfVocabulary = 0
        var skipped = SkippedLines()
        for (number, line) in PythonText.textLines(text).enumerated() where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map {
                caseInsensitive ? PythonText.upper(String($0)) : String($0)
            }
            guard fields.count == 3, let score = PythonText.float(fields[2][...]) else {
                if !line.allSatisfy(\.isWhitespace) { skipped.skip(line: number + 1) }
                continue
            }
            guard let a = vocabulary.row(fields[0]), let b = vocabulary.row(fields[1]) else {
                outOfVocabulary += 1
                continue
            }
            gold.append(score)
            model.append(Double(try similarity(search: search, a, b)))
        }
        guard gold.count >= 2 else {
            let reasons = [
                outOfVocabulary > 0 ? "\(outOfVocabulary) with a word outside it" : nil,
                skipped.summary(form: Self.form),
            ].compactMap { $0 }
            throw SimilarityError(
                kind: .badInput,
                message: (["\(path): \(Plural.count(gold.count, "pair")) with both words in the vocabulary"] + reasons
                    + ["correlations need at least 2"]).joined(separator: "; ")
            )
        }
        return WordPairEvaluation(
            pearson: Correlation.pearson(gold, model), spearman: Correlation.spearman(gold, model), pairs: gold.count,
            outOfVocabulary: outOfVocabulary, skipped: skipped)
    }

    /// gensim's `similarity(a, b)`: `dot(unitvec(a), unitvec(b))`, each unit vector made in float64 (`dnrm2`,
    /// `dscal`) and rounded to float32, the dot product by `sdot`.
    static func similarity(search: SimilaritySearch, _ a: Int, _ b: Int) throws -> Float {
        let u = unitVector(try search.vector(a))
        let v = unitVector(try search.vector(b))
        return cblas_sdot(Int32(u.count), u, 1, v, 1)
    }

    static func unitVector(_ vector: [Float]) -> [Float] {
        var wide = vector.map(Double.init)
        let length = cblas_dnrm2(Int32(wide.count), wide, 1)
        guard length > 0 else { return vector }
        cblas_dscal(Int32(wide.count), 1.0 / length, &wide, 1)
        return wide.map { Float($0) }
    }
}
