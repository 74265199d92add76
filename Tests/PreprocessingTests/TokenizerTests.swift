import Foundation
import Support
import TestSupport
import Testing

@testable import Preprocessing

@Suite struct BasicEnglishTokenizerTests {
    @Test func theRulesInOrder() {
        #expect(BasicEnglishTokenizer.tokenize("You're great.") == ["you", "'", "re", "great", "."])
        #expect(BasicEnglishTokenizer.tokenize("one<br />two<br/>three") == ["one", "two<br/>three"])
        #expect(
            BasicEnglishTokenizer.tokenize("\"Quoted\" (yes), no! why? a;b:c") == [
                "quoted", "(", "yes", ")", ",", "no", "!", "why", "?", "a", "b", "c",
            ])
        #expect(BasicEnglishTokenizer.tokenize("  \t ") == [])
    }

    @Test func splittingIsPythonsStrSplit() {
        #expect(PythonText.split("a\u{1C}b\u{00A0}c  d") == ["a", "b", "c", "d"])
    }

    @Test(.enabled(if: SharedData.isAvailable, "../shared/data is absent: real text not checked"))
    func realTextKeepsOnlyNonEmptyTokens() throws {
        let text = String(
            decoding: try Data(contentsOf: URL(fileURLWithPath: SharedData.path("text/lee_background.cor"))),
            as: UTF8.self)
        let tokens = text.split(separator: "\n").flatMap { BasicEnglishTokenizer.tokenize(String($0)) }
        #expect(tokens.count > 50_000)
        #expect(tokens.allSatisfy { !$0.isEmpty && $0 == $0.lowercased() && !$0.contains("\"") })
    }
}

@Suite struct TranslationTokenizerTests {
    @Test func frenchElisionsKeepTheirApostrophe() {
        let french = TranslationTokenizer(language: .french)
        #expect(
            french.tokenize("Il est l'heure, n'est-ce pas ?") == [
                "Il", "est", "l'", "heure", ",", "n'", "est-ce", "pas", "?",
            ])
        #expect(french.tokenize("Aujourd’hui j'ai 3,5 euros.") == ["Aujourd'hui", "j'", "ai", "3,5", "euros", "."])
    }

    @Test func englishContractionsSplitBeforeTheApostrophe() {
        let english = TranslationTokenizer(language: .english)
        #expect(
            english.tokenize("I don't think it's 3.5 well-known \"things\".") == [
                "I", "do", "n't", "think", "it", "'s", "3.5", "well-known", "\"", "things", "\"", ".",
            ])
        // Case is kept, as spaCy's tokenizers keep it (the book); lowercasing is an option.
        #expect(english.tokenize("Paris") == ["Paris"])
        #expect(
            TranslationTokenizer(language: .english, lowercase: true).tokenize("Don't, Paris") == [
                "do", "n't", ",", "paris",
            ])
    }

    /// A text of code points below U+0300 is read a code point at a time: the same tokens as read a Character at a
    /// time, for texts made of what every rule looks at (letters and digits, ASCII and not, apostrophes, hyphens,
    /// points, commas, blanks including "\r\n", U+0085 and U+00A0, other marks) and for every code point once.
    @Test func latinTextIsTokenizedAsCharactersAre() {
        let pieces = [
            "a", "Z", "q", "0", "7", "é", "ß", "Ā", "ʼ", "\u{2FF}", "²", "½", "'", "-", ".", ",", " ", "\t", "\r\n",
            "\n", "\r", "\u{1C}", "\u{0B}", "\u{85}", "\u{A0}", "\u{AD}", "!", "\"", "×", "«", "n't", "'s", "l'",
            "3.5", "1,000", "well-", "aujourd'hui", "peut-être",
        ]
        var generator = SystemRandomNumberGenerator()
        var texts = [(0..<0x300).map { String(UnicodeScalar(UInt32($0))!) }.joined()]
        for _ in 0..<3_000 {
            texts.append((0..<Int.random(in: 0...24, using: &generator)).map { _ in pieces.randomElement()! }.joined())
        }
        for language in TranslationTokenizer.Language.allCases {
            for lowercase in [false, true] {
                let tokenizer = TranslationTokenizer(language: language, lowercase: lowercase)
                for text in texts {
                    let cased = lowercase ? PythonText.lower(text) : text
                    // Lowercasing can make a code point above (`İ` to `i` and U+0307): then Characters are read.
                    let within = cased.unicodeScalars.allSatisfy { $0.value < 0x300 }
                    let fast = tokenizer.tokenizeScalars(cased)
                    #expect(within == (fast != nil), "\(language) \(text.debugDescription)")
                    if let fast { #expect(fast == tokenizer.tokenizeCharacters(cased), "\(text.debugDescription)") }
                }
            }
        }
        // A combining accent joins the letter before it into one Character: such a text is read as Characters.
        #expect(TranslationTokenizer(language: .french).tokenizeScalars("e\u{301}t\u{E9}") == nil)
        #expect(TranslationTokenizer(language: .french).tokenize("e\u{301}t\u{E9}") == ["e\u{301}t\u{E9}"])
    }

    /// The tokenizer answers ASCII's letters and digits from their codes: the same as Unicode's properties for every
    /// character of the Basic Multilingual Plane, the two-scalar `\r\n`, and letters and digits with combining marks.
    @Test func theQuickLetterAndNumberTestsAreUnicodes() {
        var characters = (0..<0x1_0000).compactMap { Unicode.Scalar($0).map(Character.init) }
        characters += ["\r\n", "e\u{301}", "1\u{20E3}", "a\u{308}\u{301}", "\u{1D7D8}", "\u{10400}"]
        let differing = characters.filter { $0.isLetterFast != $0.isLetter || $0.isNumberFast != $0.isNumber }
        #expect(differing.isEmpty, "\(differing.prefix(10).map { $0.unicodeScalars.map(\.value) })")
        // The straight apostrophe stands for the curly one wherever it is, as before the quick path.
        #expect(TranslationTokenizer(language: .english).tokenize("it’s") == ["it", "'s"])
        #expect(TranslationTokenizer(language: .french).tokenize("À l’été") == ["À", "l'", "été"])
    }
}

@Suite struct ReviewAndParallelReaderTests {
    @Test func imdbLayoutAndTSV() throws {
        let directory = TemporaryDirectory()
        for (folder, files) in [
            ("pos", ["1_10.txt": "Great film!", "2_9.txt": "Loved it."]), ("neg", ["3_1.txt": "Awful."]),
        ] {
            try FileManager.default.createDirectory(
                atPath: directory.file("train/\(folder)"), withIntermediateDirectories: true)
            for (name, text) in files {
                try text.write(toFile: directory.file("train/\(folder)/\(name)"), atomically: true, encoding: .utf8)
            }
        }
        let reviews = try ReviewReader.read(directory.file("train"))
        #expect(reviews.reviews.map(\.label) == [0, 1, 1])
        #expect(reviews.reviews.map(\.text) == ["Awful.", "Great film!", "Loved it."])
        #expect(reviews.fingerprint.size == 26)
        try "pos\tGood\nneg\tBad\n1\tYes\n0\tNo\n".write(
            toFile: directory.file("r.tsv"), atomically: true, encoding: .utf8)
        #expect(try ReviewReader.read(directory.file("r.tsv")).reviews.map(\.label) == [1, 0, 1, 0])
    }

    @Test func emptyReviewsBadLabelsAndUndecodableBytes() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("d/pos"), withIntermediateDirectories: true)
        try "  \n".write(toFile: directory.file("d/pos/1.txt"), atomically: true, encoding: .utf8)
        #expect(
            throws: DataError(
                file: directory.file("d/pos/1.txt"), message: "is an empty review; expected the review's text")
        ) {
            try ReviewReader.read(directory.file("d"))
        }
        #expect(try ReviewReader.read(directory.file("d"), skipBadLines: true).skipped == 1)
        try "maybe\tHmm\n".write(toFile: directory.file("bad.tsv"), atomically: true, encoding: .utf8)
        #expect(
            throws: DataError(
                file: directory.file("bad.tsv"), line: 1, message: "label \"maybe\"; expected pos, neg, 1 or 0")
        ) {
            try ReviewReader.read(directory.file("bad.tsv"))
        }
        try Data("pos\tcaf".utf8 + [0x97] + Data("\nneg\tok\n".utf8)).write(
            to: URL(fileURLWithPath: directory.file("cp.tsv")))
        let replaced = try ReviewReader.read(directory.file("cp.tsv"))
        #expect(replaced.undecodable == 1 && replaced.reviews[0].text == "caf\u{FFFD}")
        let skipped = try ReviewReader.read(directory.file("cp.tsv"), decoding: .skip)
        #expect(skipped.reviews.count == 1 && skipped.skipped == 1)
        #expect(throws: DataError.self) { try ReviewReader.read(directory.file("cp.tsv"), decoding: .fail) }
        #expect(throws: DataError.self) { try ReviewReader.read(directory.path) }  // neither pos/ nor neg/
    }

    @Test func tagsFilesLoseOnlyTheTEDMetadataLines() throws {
        let directory = TemporaryDirectory()
        let english =
            "<url>http://a</url>\n<talkid>1</talkid>\n<i>Diplomacy</i> Mr Kissinger said .\n  "
            + "<title>T</title>\n\n<p>Bye.</p>\n"
        let french =
            "<url>http://a</url>\n<talkid>1</talkid>\n<i>Diplomatie</i> M. Kissinger a dit .\n  "
            + "<title>T</title>\n\n<p>Salut.</p>\n"
        try english.write(toFile: directory.file("train.tags.en-fr.en"), atomically: true, encoding: .utf8)
        try french.write(toFile: directory.file("train.tags.en-fr.fr"), atomically: true, encoding: .utf8)
        let pairs = try ParallelTextReader.read(
            source: TextFile(path: directory.file("train.tags.en-fr.en")),
            target: TextFile(path: directory.file("train.tags.en-fr.fr")))
        // A sentence that starts with "<" is kept, and so is an empty line (torchtext keeps it too).
        #expect(pairs.pairs.map(\.source) == ["<i>Diplomacy</i> Mr Kissinger said .", "", "<p>Bye.</p>"])
        #expect(pairs.pairs.map(\.target) == ["<i>Diplomatie</i> M. Kissinger a dit .", "", "<p>Salut.</p>"])
        #expect(pairs.sourceMarkupLines == 3 && pairs.targetMarkupLines == 3)
        // Files not named .tags keep every line unless told.
        try english.write(toFile: directory.file("plain.en"), atomically: true, encoding: .utf8)
        try french.write(toFile: directory.file("plain.fr"), atomically: true, encoding: .utf8)
        let plain = try ParallelTextReader.read(
            source: TextFile(path: directory.file("plain.en")), target: TextFile(path: directory.file("plain.fr")))
        #expect(plain.pairs.count == 6 && plain.sourceMarkupLines == 0)
        let forced = try ParallelTextReader.read(
            source: TextFile(path: directory.file("plain.en")), target: TextFile(path: directory.file("plain.fr")),
            markup: .tags)
        #expect(forced.pairs.count == 3)
    }

    @Test func sidesThatLoseDifferentLinesAreAnErrorNamingWhereTheyDiverge() throws {
        let directory = TemporaryDirectory()
        try "Hello .\n<speaker>X</speaker>\nBye .\nAgain .\n".write(
            toFile: directory.file("a.tags.en"), atomically: true, encoding: .utf8)
        try "Bonjour .\nAu revoir .\nEncore .\nEt encore .\n".write(
            toFile: directory.file("a.tags.fr"), atomically: true, encoding: .utf8)
        let error = #expect(throws: DataError.self) {
            try ParallelTextReader.read(
                source: TextFile(path: directory.file("a.tags.en")), target: TextFile(path: directory.file("a.tags.fr"))
            )
        }
        #expect(error?.line == 3 && error?.description.contains("sentence 2 is here but on line 2 of") == true)
        #expect(error?.description.contains("lose different lines as markup (1 and 0)") == true)
        try "one\n".write(toFile: directory.file("b.fr"), atomically: true, encoding: .utf8)
        try "one\ntwo\n".write(toFile: directory.file("b.en"), atomically: true, encoding: .utf8)
        let counts = #expect(throws: DataError.self) {
            try ParallelTextReader.read(
                source: TextFile(path: directory.file("b.en")), target: TextFile(path: directory.file("b.fr")))
        }
        #expect(
            counts?.description.contains("has 2 lines but") == true
                && counts?.description.contains("b.fr has 1") == true)
    }

    @Test func xmlFilesGiveTheTextOfTheirSegments() throws {
        let directory = TemporaryDirectory()
        let xml = """
            <mteval>
            <srcset setid="iwslt2016-dev2010" srclang="english">
            <doc docid="69" genre="lectures">
            <url>http://www.ted.com/talks/x.html</url>
            <talkid>69</talkid>
            <seg id="1"> It&apos;s &quot;great&quot; &amp; &lt;new&gt; . </seg>
            <seg id="2">Two
            lines</seg>
            </doc>
            </srcset>
            </mteval>

            """
        try xml.write(toFile: directory.file("dev.en.xml"), atomically: true, encoding: .utf8)
        try xml.replacingOccurrences(of: "great", with: "super").write(
            toFile: directory.file("dev.fr.xml"), atomically: true, encoding: .utf8)
        let pairs = try ParallelTextReader.read(
            source: TextFile(path: directory.file("dev.en.xml")), target: TextFile(path: directory.file("dev.fr.xml")))
        #expect(pairs.pairs.map(\.source) == ["It's \"great\" & <new> .", "Two\nlines"])
        #expect(pairs.pairs.map(\.target).first == "It's \"super\" & <new> .")
        #expect(pairs.sourceMarkupLines == 8)
    }

    @Test func tsvPairsNeedATab() throws {
        let directory = TemporaryDirectory()
        try "hi\tsalut\nno tab here\n".write(toFile: directory.file("p.tsv"), atomically: true, encoding: .utf8)
        #expect(throws: DataError.self) { try ParallelTextReader.read(tsv: TextFile(path: directory.file("p.tsv"))) }
        #expect(
            try ParallelTextReader.read(tsv: TextFile(path: directory.file("p.tsv")), skipBadLines: true).pairs.count
                == 1)
    }
}
