import CacheBuild
import Foundation
import SearchIndex
import Support
import TestSupport
import Testing

@testable import Similarity

@Suite struct PythonTextTests {
    @Test func floatAcceptsWhatPythonsFloatAccepts() {
        let accepted: [(String, Double)] = [
            ("3.5\n", 3.5), (" -2 ", -2), ("1e3", 1000), ("1E-2", 0.01), (".5", 0.5), ("5.", 5), ("+7", 7),
            ("1_000.2_5", 1000.25), ("INF", .infinity), ("-Infinity", -.infinity), ("\u{a0}4\u{2003}", 4),
        ]
        for (text, value) in accepted { #expect(PythonText.float(text[...]) == value, "\(text)") }
        #expect(PythonText.float("nan")!.isNaN)
        for text in [
            "", " ", "abc", "1e", "e5", ".", "1__0", "_1", "1_", "1._5", "0x10", "1.2.3", "--1", "1e+_5", "4 5",
        ] {
            #expect(PythonText.float(text[...]) == nil, "\(text)")
        }
    }

    @Test func splitStripAndLinesArePythons() {
        #expect(PythonText.split("  a\tb\u{a0}c\u{1c}d\r\n") == ["a", "b", "c", "d"])
        #expect(PythonText.strip("\u{3000} x y \n") == "x y")
        #expect(PythonText.textLines("a\r\nb\rc\nd") == ["a\n", "b\n", "c\n", "d"])
        #expect(
            PythonText.binaryLines(Array("a\r\nb\rc\n".utf8)).map { Array($0) } == [
                Array("a\r\n".utf8), Array("b\rc\n".utf8),
            ])
    }
}

@Suite struct CorrelationTests {
    @Test func pearsonAndSpearmanFollowScipy() {
        // Values from scipy.stats 1.17: pearsonr([1,2,3,4,5],[2,1,4,3,5]) = 0.8, spearmanr with ties
        // ([1,2,2,3],[1,3,2,4]) = 0.9486832980505138.
        #expect(abs(Correlation.pearson([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) - 0.8) < 1e-15)
        #expect(abs(Correlation.spearman([1, 2, 2, 3], [1, 3, 2, 4]) - 0.9486832980505138) < 1e-15)
        #expect(Correlation.ranks([10, 30, 20, 20]) == [1, 4, 2.5, 2.5])
        #expect(Correlation.pearson([1, 1, 1], [1, 2, 3]).isNaN)
    }
}

@Suite struct EvaluationTests {
    /// Vectors where man:king :: woman:queen holds exactly, a later upper-case "WOMAN" scores above queen (so that
    /// only gensim's rule of skipping answers that are the question's words, upper-cased, gets it right), and more.
    static func analogyVectors() -> [(String, [Float])] {
        func unit(_ i: Int) -> [Float] { (0..<8).map { $0 == i ? 1 : 0 } }
        func add(_ a: [Float], _ b: [Float]) -> [Float] { zip(a, b).map { $0 + $1 } }
        let man = unit(0), woman = unit(1), royal = unit(2)
        return [
            ("Man", man), ("man", add(man, unit(5))), ("king", add(man, royal)), ("woman", woman),
            ("queen", add(woman, royal)),
            ("WOMAN", [-0.2, 1, 1, 0, 0, 0, 0, 0]), ("paris", unit(3)), ("france", unit(4)),
            ("rome", add(unit(3), unit(6))),
            ("italy", add(unit(4), unit(6))), ("far", unit(7)),
        ]
    }

    @Test func analogiesFollowGensimsRules() throws {
        let directory = TemporaryDirectory()
        let search = try searchableCache(Self.analogyVectors(), in: directory)
        let questions = """
            : royalty
            MAN KING WOMAN QUEEN
            man king woman far
            man king woman dragon
            only three words
            : : capitals: of europe \r
            paris france rome italy
            paris france rome far extra

            """
        let result = try AnalogyEvaluation.evaluate(Array(questions.utf8), path: "q.txt", search: search)
        #expect(result.sections.map(\.name) == ["royalty", "capitals: of europe", "Total accuracy"])
        #expect(result.sections.map(\.correct) == [1, 1, 2])
        #expect(result.sections.map(\.incorrect) == [1, 0, 1])
        #expect(result.questions == 4)
        #expect(result.outOfVocabulary == 1)
        #expect(result.outOfVocabularyRatio == 25)
        #expect(result.skipped == SkippedLines(count: 2, first: 5))  // three words, five words; not the blank line
        #expect(abs(result.accuracy - 2.0 / 3.0) < 1e-15)

        // Case-sensitive: "MAN" is not a word, so the first question is out of the vocabulary.
        let sensitive = try AnalogyEvaluation.evaluate(
            Array(questions.utf8), path: "q.txt", search: search, caseInsensitive: false)
        #expect(sensitive.outOfVocabulary == 2)
        #expect(sensitive.sections.last!.correct == 1)
        // Restricted to the first 4 words, the capitals are out of the vocabulary.
        let restricted = try AnalogyEvaluation.evaluate(
            Array(questions.utf8), path: "q.txt", search: search, restrictVocab: 4)
        #expect(restricted.outOfVocabulary == 4)
    }

    @Test func analogyFileErrorsNameTheLine() throws {
        let directory = TemporaryDirectory()
        let search = try searchableCache(Self.analogyVectors(), in: directory)
        let early = try #require(throws: SimilarityError.self) {
            try AnalogyEvaluation.evaluate(Array("man king woman queen\n".utf8), path: "q.txt", search: search)
        }
        #expect(early.message == "q.txt, line 1: a question before the first `: section` line")
        let binary = try #require(throws: SimilarityError.self) {
            try AnalogyEvaluation.evaluate(Array(": s\n".utf8) + [0x61, 0xFF, 0x0A], path: "q.txt", search: search)
        }
        #expect(binary.message == "q.txt, line 2: not UTF-8 text")
        let empty = try #require(throws: SimilarityError.self) {
            try AnalogyEvaluation.evaluate(Array(": s\n".utf8), path: "q.txt", search: search)
        }
        #expect(empty.kind == .badInput)
    }

    @Test func pairsFollowGensimsRules() throws {
        let directory = TemporaryDirectory()
        let search = try searchableCache(Self.analogyVectors(), in: directory)
        let pairs =
            "# comment\nking\tqueen\t8.5\r\nMAN\tWoman\t3\nparis\trome\t6_0\nparis\tdragon\t2\nbad "
            + "line\n\nfar\tking\tnot-a-number\nitaly\tfrance\t7.25"
        let result = try WordPairEvaluation.evaluate(pairs, path: "p.tsv", search: search)
        #expect(result.pairs == 4)
        #expect(result.outOfVocabulary == 1)
        #expect(result.outOfVocabularyRatio == 20)
        #expect(result.skipped == SkippedLines(count: 2, first: 6))  // "bad line", not-a-number; not the blank line
        let gold = [8.5, 3, 60, 7.25]
        let rows = [("king", "queen"), ("Man", "woman"), ("paris", "rome"), ("italy", "france")].map {
            (search.row(of: Array($0.0.utf8))!, search.row(of: Array($0.1.utf8))!)
        }
        let model = try rows.map { Double(try WordPairEvaluation.similarity(search: search, $0.0, $0.1)) }
        #expect(abs(model[0] - 0.5) < 1e-6)  // (man+royal)·(woman+royal) / 2
        #expect(result.pearson == Correlation.pearson(gold, model))
        #expect(result.spearman == Correlation.spearman(gold, model))
        let none = try #require(throws: SimilarityError.self) {
            try WordPairEvaluation.evaluate("a\tb\t1\n", path: "p.tsv", search: search)
        }
        #expect(none.message.contains("p.tsv") && none.message.contains("at least 2"))
        // A file's bytes: the same result, or the first line that is not UTF-8 named.
        #expect(
            try WordPairEvaluation.evaluate(Array(pairs.utf8), path: "p.tsv", search: search).pearson == result.pearson)
        let undecodable = try #require(throws: SimilarityError.self) {
            try WordPairEvaluation.evaluate(
                Array("king\tqueen\t8\r\nman\two".utf8) + [0xFF, 0x0A], path: "p.tsv", search: search)
        }
        #expect(undecodable.kind == .badInput && undecodable.message == "p.tsv, line 2: not UTF-8 text")
    }
}
