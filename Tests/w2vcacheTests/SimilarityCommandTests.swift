import Foundation
import LevelDB
import Testing
import Word2Vec

@Suite struct SimilarityCommandTests {
    /// A workspace whose vectors hold man:king :: woman:queen, and question and pair files.
    static func workspace() throws -> Workspace {
        let workspace = try Workspace(words: 10)
        func unit(_ i: Int) -> [Float] { (0..<6).map { $0 == i ? 1 : 0 } }
        let vectors: [(String, [Float])] = [
            ("man", unit(0)), ("woman", unit(1)), ("king", [1, 0, 1, 0, 0, 0]), ("queen", [0, 1, 1, 0, 0, 0]),
            ("apple", unit(3)), ("pear", [0, 0, 0, 1, 0.2, 0]), ("stone", unit(5)),
        ]
        let writer = try Word2VecWriter(
            path: workspace.path + "/v.bin", count: vectors.count, dimension: 6,
            layout: .binary(newlineAfterVector: false))
        for (word, vector) in vectors { try writer.append(word: word, vector: vector) }
        try writer.close()
        try ": family\nman king woman queen\nman king woman stone\nman king woman unicorn\n".write(
            toFile: workspace.path + "/questions.txt", atomically: true, encoding: .utf8)
        try "# word1\tword2\tscore\nking\tqueen\t8\napple\tpear\t9\nman\tstone\t1\nqueen\tunicorn\t5\n".write(
            toFile: workspace.path + "/pairs.tsv", atomically: true, encoding: .utf8)
        return workspace
    }

    @Test func similarAndAnalogyPrintGensimsAnswers() throws {
        let workspace = try Self.workspace()
        #expect(try workspace.run("build", "--vectors", "v.bin").status == 0)
        let similar = try workspace.run("similar", "apple", "king", "--top", "2", "--format", "json")
        #expect(similar.status == 0, "\(similar.stderr)")
        let lines = similar.stdoutText.split(separator: "\n").map {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(lines.count == 2)
        #expect(lines[0]?["word"] as? String == "apple")
        let first = try #require(lines[0]?["similar"] as? [[String: Any]])
        #expect(
            first.map { $0["word"] as? String } == ["pear", "man"]
                || first.map { $0["word"] as? String } == ["pear", "woman"])
        #expect(abs((first[0]["score"] as? Double ?? 0) - 1 / Double(Float(1.04).squareRoot())) < 1e-6)
        let analogy = try workspace.run("analogy", "man", "king", "woman", "--top", "1", "--format", "json")
        #expect(analogy.stdoutText.hasPrefix(#"{"similar": [{"word": "queen", "score": "#))
        let text = try workspace.run("analogy", "man", "king", "woman", "--top", "3")
        #expect(text.stdoutText.hasPrefix("man is to king as woman is to\n") && text.stdoutText.contains("  queen\n"))
        let unknown = try workspace.run("similar", "apple", "unicorn")
        #expect(unknown.status == 1 && unknown.stderr.contains("not in the vectors file: \"unicorn\""))
        #expect(try workspace.run("similar", "apple", "--top", "0").status == 64)
    }

    /// A neighbour that is not UTF-8 was printed with U+FFFD for its bytes, as a word of that text would be. JSON gave
    /// it so too, a word the cache does not hold; it now writes each such byte as Python's surrogateescape does.
    @Test func aNeighbourThatIsNotUTF8IsPrintedWithItsBytesEscaped() throws {
        let workspace = try Workspace()
        var file = Array("3 2\n".utf8)
        for (word, values) in [
            (Array("caf".utf8) + [0xE9], [Float(1), 0.1]), (Array("café".utf8), [1, 0.2]), (Array("tea".utf8), [0, 1]),
        ] {
            file += word + [UInt8(ascii: " ")]
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { file += $0 } }
        }
        try Data(file).write(to: URL(fileURLWithPath: workspace.path + "/latin.bin"))
        #expect(try workspace.run("build", "--vectors", "latin.bin").status == 0)
        let text = try workspace.run("similar", "café", "--top", "1")
        #expect(text.status == 0 && text.stdoutText.hasSuffix("  caf\\xE9\n"), "\(text.stdoutText)")
        let json = try workspace.run("similar", "café", "--top", "1", "--format", "json")
        #expect(json.stdoutText.contains(#""word": "caf\udce9""#), "\(json.stdoutText)")
    }

    /// A query word that is not UTF-8 was asked for as text with U+FFFD for its bytes, which no word of the cache
    /// is: `similar` and `analogy` answered "not in the vectors file" for a word the cache keeps.
    @Test func aQueryWordThatIsNotUTF8IsAskedForByItsBytes() throws {
        let workspace = try Workspace()
        var file = Array("4 2\n".utf8)
        for (word, values) in [
            (Array("caf".utf8) + [0xE9], [Float(1), 0]), (Array("caf".utf8) + [0xE8], [0, 1]),
            (Array("café".utf8), [1, 0.2]), (Array("tea".utf8), [0.1, 1]),
        ] {
            file += word + [UInt8(ascii: " ")]
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { file += $0 } }
        }
        try Data(file).write(to: URL(fileURLWithPath: workspace.path + "/latin.bin"))
        #expect(try workspace.run("build", "--vectors", "latin.bin", "--db", "cache").status == 0)
        // Through bash, whose `printf` makes an argument of any bytes (Process takes strings).
        func run(_ arguments: String) throws -> (status: Int32, output: String) {
            try W2VCacheProcess.bash("\"$W2V\" " + arguments + " --db cache --top 1 2>&1", in: workspace.path)
        }
        let (e9, e8) = (#""$(printf 'caf\351')""#, #""$(printf 'caf\350')""#)
        let similar = try run("similar \(e9) \(e8)")
        #expect(similar.status == 0, "\(similar.output)")
        #expect(
            similar.output.split(separator: "\n").map { $0.split(separator: " ").last } == [
                "caf\\xE9", "café", "caf\\xE8", "tea",
            ])
        let json = try run("similar \(e8) --format json")
        #expect(json.output.hasPrefix(#"{"word": "caf\udce8", "similar": [{"word": "tea", "#), "\(json.output)")
        let analogy = try run("analogy \(e8) tea \(e9)")
        #expect(
            analogy.output.hasPrefix("caf\\xE8 is to tea as caf\\xE9 is to\n")
                && analogy.output.hasSuffix("  café\n"), "\(analogy.output)")
        #expect(
            try run(#"similar "$(printf 'caf\352')""#)
                == (1, "Error: not in the vectors file: \"caf\\xEA\"\n"))
    }

    @Test func evaluationsPrintGensimsFigures() throws {
        let workspace = try Self.workspace()
        #expect(try workspace.run("build", "--vectors", "v.bin").status == 0)
        let analogies = try workspace.run("evaluate", "analogies", "questions.txt", "--format", "json")
        #expect(analogies.status == 0, "\(analogies.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: analogies.stdout) as? [String: Any])
        #expect(result["accuracy"] as? Double == 0.5)
        #expect(abs((result["oov_ratio"] as? Double ?? 0) - 100.0 / 3) < 1e-12)
        let sections = try #require(result["sections"] as? [[String: Any]])
        #expect(sections.map { $0["section"] as? String } == ["family", "Total accuracy"])
        #expect(
            sections.map { $0["correct"] as? Int } == [1, 1] && sections.map { $0["incorrect"] as? Int } == [1, 1])
        let text = try workspace.run("evaluate", "analogies", "questions.txt")
        #expect(text.stdoutText.contains("family: 50.0% (1/2)") && text.stdoutText.contains("33.3% (1 of 3)"))
        let pairs = try workspace.run("evaluate", "pairs", "pairs.tsv", "--format", "json")
        let figures = try #require(try JSONSerialization.jsonObject(with: pairs.stdout) as? [String: Any])
        #expect(figures["oov_ratio"] as? Double == 25)
        #expect(abs((figures["spearman"] as? Double ?? 0) - 1) < 1e-12)  // 0 < 0.5 < 0.98 ranks as 1 < 8 < 9
        #expect(figures["pearson"] is Double)
        #expect(figures["skipped_lines"] as? Int == 0 && pairs.stderr.isEmpty, "\(pairs.stderr)")
        // Lines not of the file's form are skipped, as gensim skips them, and said to be: a file with spaces for
        // tabs on some lines passed as one of fewer pairs. Blank lines are not counted.
        try "king\tqueen\t8\n\napple pear 9\nman\tstone\t1\nqueen,unicorn,5\nstone\tking\t2\n".write(
            toFile: workspace.path + "/spaced.tsv", atomically: true, encoding: .utf8)
        let spaced = try workspace.run("evaluate", "pairs", "spaced.tsv", "--format", "json")
        let spacedFigures = try #require(try JSONSerialization.jsonObject(with: spaced.stdout) as? [String: Any])
        #expect(spacedFigures["skipped_lines"] as? Int == 2 && spacedFigures["pairs"] as? Int == 3)
        #expect(
            spaced.stderr
                == "w2vcache: spaced.tsv: 2 lines skipped, not word<TAB>word<TAB>score (the first: line 3), as gensim "
                + "skips them\n", "\(spaced.stderr)")
        try ": family\nman king woman queen\n\nman king woman\nman king woman stone\n".write(
            toFile: workspace.path + "/short.txt", atomically: true, encoding: .utf8)
        let short = try workspace.run("evaluate", "analogies", "short.txt")
        #expect(short.status == 0 && short.stdoutText.contains("family: 50.0% (1/2)"))
        #expect(
            short.stderr.hasSuffix(
                "w2vcache: short.txt: 1 line skipped, not four words (the first: line 4), as gensim skips them\n"),
            "\(short.stderr)")
        #expect(result["skipped_lines"] as? Int == 0)
        // A file of no usable line blamed the vocabulary alone ("0 pairs with both words in the vocabulary") or said
        // no more than that it held no questions: what was skipped, and why, is in the error.
        for (kind, file, content, error) in [
            (
                "pairs", "spaces.tsv", "king queen 8\napple\tunicorn\t9\nking\tqueen\tmany\n",
                "0 pairs with both words in the vocabulary; 1 with a word outside it; 2 lines skipped, not "
                    + "word<TAB>word<TAB>score (the first: line 1); correlations need at least 2"
            ),
            (
                "analogies", "commas.txt", ": family\nman,king,woman,queen\n",
                "holds no questions: 1 line skipped, not four words (the first: line 2)"
            ),
        ] {
            try content.write(toFile: workspace.path + "/" + file, atomically: true, encoding: .utf8)
            let refused = try workspace.run("evaluate", kind, file)
            let separator = kind == "pairs" ? ": " : " "
            #expect(
                refused.status == 1 && refused.stderr == "Error: \(file)\(separator)\(error)\n", "\(refused.stderr)")
        }
        let missing = try workspace.run("evaluate", "pairs", "nowhere.tsv")
        #expect(missing.status != 0 && missing.stderr.contains("nowhere.tsv"))
        // Bytes that are not UTF-8: a data error naming the line (it was a usage error, status 64, with a usage line).
        try Data([0x61, 0x09, 0x62, 0x09, 0x31, 0x0A, 0xC3, 0x0A]).write(
            to: URL(fileURLWithPath: workspace.path + "/bad.tsv"))
        let undecodable = try workspace.run("evaluate", "pairs", "bad.tsv")
        #expect(
            undecodable.status == 1 && undecodable.stderr == "Error: bad.tsv, line 2: not UTF-8 text\n",
            "\(undecodable.stderr)")
    }

    @Test func aCacheBuiltWithoutTheIndexSaysSoEverywhere() throws {
        let workspace = try Self.workspace()
        #expect(try workspace.run("build", "--vectors", "v.bin", "--no-search-index").status == 0)
        let similar = try workspace.run("similar", "apple")
        #expect(
            similar.status == 1 && similar.stderr.contains("no search index")
                && similar.stderr.contains("w2vcache build"))
        #expect(try workspace.run("info").stdoutText.contains("search index: none"))
        #expect(try workspace.run("verify").status == 0)
        #expect(try workspace.run("build", "--vectors", "v.bin").status == 0)
        #expect(try workspace.run("info").stdoutText.contains("search index: 7 words"))
        #expect(try workspace.run("verify").stdoutText.contains("search index of 7 rows"))
    }

    /// `info` shows a search index that cannot be read as damaged, and the rest of the cache (it printed nothing).
    @Test func infoShowsADamagedIndexBesideTheRest() throws {
        let workspace = try Self.workspace()
        #expect(try workspace.run("build", "--vectors", "v.bin").status == 0)
        do {
            let database = try Database(path: workspace.path + "/word2vecdb")
            try database.put(Array("\0search\0h".utf8), Array("{".utf8))
        }
        let info = try workspace.run("info")
        #expect(info.status == 1, "\(info.stderr)")
        #expect(info.stderr.contains("the search index of word2vecdb is damaged: its header cannot be read"))
        #expect(info.stdoutText.contains("search index: damaged\n") && info.stdoutText.contains("datasets:     none"))
        #expect(try workspace.run("verify").status == 1)
    }
}
