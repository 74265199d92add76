import Foundation
import Preprocessing
import TestSupport
import Testing

@Suite struct BasicEnglishTokenizerTests {
    @Test func theRulesInOrder() {
        #expect(BasicEnglishTokenizer.tokenize("You're great.") == ["you", "'", "re", "great", "."])
        #expect(BasicEnglishTokenizer.tokenize("one<br />two<br/>three") == ["one", "two<br/>three"])
        #expect(BasicEnglishTokenizer.tokenize("\"Quoted\" (yes), no! why? a;b:c") == ["quoted", "(", "yes", ")", ",", "no", "!", "why", "?", "a", "b", "c"])
        #expect(BasicEnglishTokenizer.tokenize("  \t ") == [])
    }

    @Test func splittingIsPythonsStrSplit() {
        #expect(BasicEnglishTokenizer.splitOnWhitespace("a\u{1C}b\u{00A0}c  d") == ["a", "b", "c", "d"])
    }

    @Test(.enabled(if: SharedData.isAvailable, "../shared/data is absent: real text not checked"))
    func realTextKeepsOnlyNonEmptyTokens() throws {
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: SharedData.path("text/lee_background.cor"))), as: UTF8.self)
        let tokens = text.split(separator: "\n").flatMap { BasicEnglishTokenizer.tokenize(String($0)) }
        #expect(tokens.count > 50_000)
        #expect(tokens.allSatisfy { !$0.isEmpty && $0 == $0.lowercased() && !$0.contains("\"") })
    }
}

@Suite struct TranslationTokenizerTests {
    @Test func frenchElisionsKeepTheirApostrophe() {
        let french = TranslationTokenizer(language: .french)
        #expect(french.tokenize("Il est l'heure, n'est-ce pas ?") == ["il", "est", "l'", "heure", ",", "n'", "est-ce", "pas", "?"])
        #expect(french.tokenize("Aujourd’hui j'ai 3,5 euros.") == ["aujourd'hui", "j'", "ai", "3,5", "euros", "."])
    }

    @Test func englishContractionsSplitBeforeTheApostrophe() {
        let english = TranslationTokenizer(language: .english)
        #expect(english.tokenize("I don't think it's 3.5 well-known \"things\".") == ["i", "do", "n't", "think", "it", "'s", "3.5", "well-known", "\"", "things", "\"", "."])
        #expect(TranslationTokenizer(language: .english, lowercase: false).tokenize("Paris") == ["Paris"])
    }
}

@Suite struct ReviewAndParallelReaderTests {
    @Test func imdbLayoutAndTSV() throws {
        let directory = TemporaryDirectory()
        for (folder, files) in [("pos", ["1_10.txt": "Great film!", "2_9.txt": "Loved it."]), ("neg", ["3_1.txt": "Awful."])] {
            try FileManager.default.createDirectory(atPath: directory.file("train/\(folder)"), withIntermediateDirectories: true)
            for (name, text) in files { try text.write(toFile: directory.file("train/\(folder)/\(name)"), atomically: true, encoding: .utf8) }
        }
        let reviews = try ReviewReader.read(directory.file("train"))
        #expect(reviews.reviews.map(\.label) == [0, 1, 1])
        #expect(reviews.reviews.map(\.text) == ["Awful.", "Great film!", "Loved it."])
        #expect(reviews.fingerprint.size == 26)
        try "pos\tGood\nneg\tBad\n1\tYes\n0\tNo\n".write(toFile: directory.file("r.tsv"), atomically: true, encoding: .utf8)
        #expect(try ReviewReader.read(directory.file("r.tsv")).reviews.map(\.label) == [1, 0, 1, 0])
    }

    @Test func emptyReviewsBadLabelsAndUndecodableBytes() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("d/pos"), withIntermediateDirectories: true)
        try "  \n".write(toFile: directory.file("d/pos/1.txt"), atomically: true, encoding: .utf8)
        #expect(throws: DataError(file: directory.file("d/pos/1.txt"), message: "is an empty review; expected the review's text")) {
            try ReviewReader.read(directory.file("d"))
        }
        #expect(try ReviewReader.read(directory.file("d"), skipBadLines: true).skipped == 1)
        try "maybe\tHmm\n".write(toFile: directory.file("bad.tsv"), atomically: true, encoding: .utf8)
        #expect(throws: DataError(file: directory.file("bad.tsv"), line: 1, message: "label \"maybe\"; expected pos, neg, 1 or 0")) {
            try ReviewReader.read(directory.file("bad.tsv"))
        }
        try Data("pos\tcaf".utf8 + [0x97] + Data("\nneg\tok\n".utf8)).write(to: URL(fileURLWithPath: directory.file("cp.tsv")))
        let replaced = try ReviewReader.read(directory.file("cp.tsv"))
        #expect(replaced.undecodable == 1 && replaced.reviews[0].text == "caf\u{FFFD}")
        let skipped = try ReviewReader.read(directory.file("cp.tsv"), decoding: .skip)
        #expect(skipped.reviews.count == 1 && skipped.skipped == 1)
        #expect(throws: DataError.self) { try ReviewReader.read(directory.file("cp.tsv"), decoding: .fail) }
        #expect(throws: DataError.self) { try ReviewReader.read(directory.path) }  // neither pos/ nor neg/
    }

    @Test func markupLinesAndMismatchedFiles() throws {
        let directory = TemporaryDirectory()
        try "<url>http://a</url>\nHello.\n  <title>T</title>\nBye.\n".write(toFile: directory.file("a.en"), atomically: true, encoding: .utf8)
        try "<url>http://a</url>\nBonjour.\n  <title>T</title>\nAu revoir.\n".write(toFile: directory.file("a.fr"), atomically: true, encoding: .utf8)
        let pairs = try ParallelTextReader.read(source: TextFile(path: directory.file("a.en")), target: TextFile(path: directory.file("a.fr")))
        #expect(pairs.pairs.map(\.source) == ["Hello.", "Bye."] && pairs.markupLines == 2)
        try "one\n".write(toFile: directory.file("b.fr"), atomically: true, encoding: .utf8)
        let error = #expect(throws: DataError.self) { try ParallelTextReader.read(source: TextFile(path: directory.file("a.en")), target: TextFile(path: directory.file("b.fr"))) }
        #expect(error?.description.contains("has 4 lines but") == true && error?.description.contains("b.fr has 1") == true)
        try "hi\tsalut\nno tab here\n".write(toFile: directory.file("p.tsv"), atomically: true, encoding: .utf8)
        #expect(throws: DataError.self) { try ParallelTextReader.read(tsv: TextFile(path: directory.file("p.tsv"))) }
        #expect(try ParallelTextReader.read(tsv: TextFile(path: directory.file("p.tsv")), skipBadLines: true).pairs.count == 1)
    }
}
