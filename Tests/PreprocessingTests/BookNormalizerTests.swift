import Preprocessing
import Support
import Testing

@Suite struct BookNormalizerTests {
    @Test func digitsBecomeHashesAndHyphensUnderscores() {
        #expect(BookNormalizer.normalize("1,234.5") == "#,###.#")
        #expect(BookNormalizer.normalize("well-known") == "well_known")
        #expect(BookNormalizer.normalize("F-16s") == "F_##s")
        #expect(BookNormalizer.normalize("٣") == "#")  // Arabic-Indic digit: Python's \d matches it too
        #expect(BookNormalizer.normalize("Confidence") == "Confidence")
    }

    @Test func piecesDropEmptyAndBlankOnes() {
        #expect(BookNormalizer.pieces("__a__b_") == ["a", "b"])
        #expect(BookNormalizer.pieces("x_ _y") == ["x", "y"])
    }

    func process(_ rows: [(String, String)], keys: Set<String>, starts: Set<Int> = []) throws -> [String] {
        let normalizer = BookNormalizer { keys.contains($0) }
        return try normalizer.process(rows.map { (word: $0.0, tag: $0.1) }, sentenceStarts: starts).tokens.map {
            "\($0.word) \($0.tag)"
        }
    }

    @Test func theFourRulesInOrder() throws {
        let keys: Set<String> = ["New_York", "##", "well_known", "in"]
        let rows = [
            ("New", "NNP"), ("York", "NNP"),  // rule 1: merged (same tag, phrase is a key)
            ("in", "IN"),  // rule 2: found
            ("12", "CD"),  // rule 2 after normalization: "##"
            ("well-known", "JJ"),  // rule 2: "well_known" is a key
            ("state-of-the-art", "JJ"),  // rule 3: split into pieces with the row's tag
            ("3-for-1", "JJ"),  // rule 3: "#_for_#"
            ("Zzyzx", "NNP"),  // rule 4: as it is
        ]
        #expect(
            try process(rows, keys: keys) == [
                "New_York NNP", "in IN", "## CD", "well_known JJ", "state JJ", "of JJ", "the JJ", "art JJ",
                "# JJ", "for JJ", "# JJ", "Zzyzx NNP",
            ])
    }

    @Test func mergingNeedsTheSameTagAndUsesRawWords() throws {
        // Different tags: no merge even though the phrase is a key.
        #expect(try process([("New", "NNP"), ("York", "NN")], keys: ["New_York"]) == ["New NNP", "York NN"])
        // The phrase is looked up from the raw words: "1_2" is not normalized to "#_#" first.
        #expect(try process([("1", "CD"), ("2", "CD")], keys: ["#_#"]) == ["# CD", "# CD"])
        #expect(try process([("1", "CD"), ("2", "CD")], keys: ["1_2"]) == ["1_2 CD"])
    }

    @Test func mergesCrossSentencesUnlessKept() throws {
        let rows = [("New", "NNP"), ("York", "NNP")]
        #expect(try process(rows, keys: ["New_York"]) == ["New_York NNP"])
        #expect(try process(rows, keys: ["New_York"], starts: [1]) == ["New NNP", "York NNP"])
    }

    @Test func statisticsCountEachRule() throws {
        let normalizer = BookNormalizer { ["New_York", "in"].contains($0) }
        let rows: [(word: String, tag: String)] = [
            ("New", "NNP"), ("York", "NNP"), ("in", "IN"), ("a-b", "JJ"), ("q", "NN"),
        ]
        let statistics = try normalizer.process(rows).statistics
        #expect(statistics.rows == 5 && statistics.merged == 1 && statistics.found == 1)
        #expect(statistics.split == 1 && statistics.pieces == 2 && statistics.outOfVocabulary == 1)
    }

    @Test func candidateKeysCoverEveryQuestionAsked() throws {
        let rows: [(word: String, tag: String)] = [
            ("The", "DT"), ("3-D", "JJ"), ("New", "NNP"), ("York", "NNP"), ("x-y", "NN"), ("y", "NN"), ("10", "CD"),
        ]
        var asked = Set<String>()
        let normalizer = BookNormalizer { key in
            asked.insert(key)
            return false
        }
        let tokens = try normalizer.process(rows).tokens
        let candidates = BookNormalizer.candidateKeys(rows)
        #expect(Set(asked.map { CodePoints($0) }).isSubset(of: candidates))
        // And every emitted word, whose vector the dataset needs.
        #expect(Set(tokens.map { CodePoints($0.word) }).isSubset(of: candidates))
    }
}

@Suite struct VocabularyTests {
    @Test func specialsThenDescendingFrequencyTiesByString() {
        let vocabulary = Vocabulary.byFrequency(["b": 2, "a": 2, "c": 5, "d": 1], specials: ["<unk>", "<pad>"])
        #expect(vocabulary.tokens == ["<unk>", "<pad>", "c", "a", "b", "d"])
        #expect(vocabulary.id("a") == 3 && vocabulary.id("zz") == nil)
        let capped = Vocabulary.byFrequency(["b": 2, "a": 2, "c": 5], specials: ["<unk>"], maxSize: 3)
        #expect(capped.tokens == ["<unk>", "c", "a"])
        let frequent = Vocabulary.byFrequency(["b": 2, "a": 1], specials: [], minCount: 2)
        #expect(frequent.tokens == ["b"])
    }

    @Test func tokensThatSwiftCallsEqualButPythonDoesNotKeepTheirOwnIds() {
        // "é" as one code point, and as "e" with a combining acute: one String to Swift, two tokens to Python.
        var vocabulary = Vocabulary(["caf\u{E9}", "cafe\u{301}"])
        #expect(vocabulary.count == 2 && vocabulary.id("cafe\u{301}") == 1)
        #expect(vocabulary.add("caf\u{E9}") == 0)
        let counted = Vocabulary.byFrequency(["caf\u{E9}": 1, "cafe\u{301}": 3], specials: [])
        #expect(
            counted.tokens.map { Array($0.unicodeScalars) } == [
                Array("cafe\u{301}".unicodeScalars), Array("caf\u{E9}".unicodeScalars),
            ])
        // Tags compare the same way: no phrase is merged across tags that only look equal.
        let normalizer = BookNormalizer { $0 == "New_York" }
        let tokens = try? normalizer.process([("New", "N\u{C9}"), ("York", "NE\u{301}")]).tokens
        #expect(tokens?.map(\.word) == ["New", "York"])
    }

    @Test func addKeepsFirstIds() {
        var vocabulary = Vocabulary(["x", "y", "x"])
        #expect(vocabulary.count == 2)
        #expect(vocabulary.add("y") == 1 && vocabulary.add("z") == 2)
        #expect(vocabulary[2] == "z")
    }
}
