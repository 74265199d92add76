import Foundation
import Preprocessing
import Support
import TestSupport
import Testing

/// Every text rule the book states in Python, compared with Python itself on thousands of random Unicode strings
/// (seeded): `str.strip/split/lower/upper/isspace`, torchtext's `basic_english`, the book's POS normalizer and its
/// CoNLL reading, and the translation reference's pretokenized tokens. Any difference is a bug here.
@Suite(
    .enabled(if: PythonRules.available, "python3 is not on PATH; scripts/setup --python installs what the tests need"))
struct PythonDifferentialTests {
    static let count = 5000

    /// Code points chosen to find differences: Python's whitespace and Swift's, digits of every script (and of
    /// scripts newer than Python's tables), letters with special casing, final sigma and what it skips, combining
    /// marks, the punctuation the rules act on, and any code point at all.
    static let pools: [(weight: Int, scalars: [UInt32])] = [
        (20, Array(0x20...0x7E) + [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F]),
        (
            12,
            [
                0x85, 0xA0, 0x1680, 0x180E, 0x2000, 0x2005, 0x200A, 0x200B, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
                0xFEFF, 0x1C, 0x1F,
            ]
        ),
        (
            10,
            Array(0x660...0x669) + Array(0x966...0x96F) + Array(0xFF10...0xFF19) + Array(0x1D7CE...0x1D7D7)
                + Array(0x11F50...0x11F59) + Array(0x1E4F0...0x1E4F9) + [0xB2, 0xB3, 0xB9, 0x2460, 0x2155, 0x0F2A]
        ),
        (
            15,
            [
                0x130, 0xDF, 0x149, 0x1F0, 0x3A3, 0x3C3, 0x3C2, 0x1C5, 0x1C8, 0xFB00, 0xFB01, 0x390, 0x1E9E, 0x212A,
                0x2126,
                0x10A0, 0x1C90, 0x13A0, 0xAB70, 0xA7C0, 0xA7D0, 0xA7F5, 0x1E030, 0x10570, 0x16E40, 0x1E900, 0x53F,
                0x587,
            ]
                + Array(0x391...0x3A9) + Array(0x410...0x42F) + Array(0xC0...0xDE)
        ),
        (10, [0x300, 0x301, 0x307, 0x345, 0x200D, 0xAD, 0x2B0, 0x2BC, 0x27, 0x2019, 0x3A, 0xB7, 0x1F3FB, 0xFE0F]),
        (12, Array("'\".,()!?;:<br />-_#".unicodeScalars.map(\.value))),
        (6, [0x2D, 0x5F, 0x2D, 0x5F, 0x2010, 0x2011]),
        (15, []),  // any code point
    ]

    static func randomStrings(count: Int, seed: UInt64) -> [String] {
        var random = SplitMix64(seed: seed)
        let total = pools.reduce(0) { $0 + $1.weight }
        func scalar() -> Unicode.Scalar {
            var pick = Int(random.next() % UInt64(total))
            for pool in pools {
                if pick >= pool.weight {
                    pick -= pool.weight
                    continue
                }
                if pool.scalars.isEmpty {
                    while true {
                        let value = UInt32(random.next() % 0x110000)
                        if let scalar = Unicode.Scalar(value) { return scalar }
                    }
                }
                return Unicode.Scalar(pool.scalars[Int(random.next() % UInt64(pool.scalars.count))])!
            }
            return " "
        }
        var strings: [String] = []
        for index in 0..<count {
            var view = String.UnicodeScalarView()
            for _ in 0..<(index % 25) { view.append(scalar()) }
            if index % 7 == 0 { view.append(contentsOf: "<br />".unicodeScalars) }
            strings.append(String(view))
        }
        return strings
    }

    @Test func everyRuleAgreesWithPython() throws {
        let strings = Self.randomStrings(count: Self.count, seed: 17)
        // A CoNLL text: rows of two random fields, lines ended by \n, \r\n or \r, blank lines between sentences.
        var random = SplitMix64(seed: 23)
        var conll = ""
        for (index, text) in strings.prefix(2000).enumerated() {
            let endings = ["\n", "\r\n", "\r", "\n\n"]
            conll +=
                text.replacingOccurrences(of: "\n", with: " ") + (index % 3 == 0 ? "\t" : " ") + "NN"
                + endings[Int(random.next() % 4)]
        }
        // Rows for the POS rules: words and tags from the strings, tags from a few (some only canonically equal);
        // keys: a share of their normalized words, phrases and pieces.
        let tags = ["NN", "N\u{C9}", "NE\u{301}", "VB"]
        let rows = strings.prefix(3000).map { (word: $0, tag: tags[Int(random.next() % 4)]) }
        var keys: [String] = []
        for (index, row) in rows.enumerated() {
            let normalized = BookNormalizer.normalize(row.word)
            if random.next() % 2 == 0 { keys.append(normalized) }
            if index + 1 < rows.count, random.next() % 3 == 0 { keys.append(row.word + "_" + rows[index + 1].word) }
            if random.next() % 4 == 0 { keys += BookNormalizer.pieces(normalized) }
        }
        let answers = try PythonRules.answers(strings: strings, conll: conll, rows: rows, keys: keys)
        var differences: [String] = []
        func check<T: Equatable>(_ rule: String, _ input: String, _ ours: T, _ python: T) {
            if ours != python && differences.count < 20 {
                differences.append("\(rule)(\"\(Printable.escape(input))\"): ours \(ours), Python's \(python)")
            }
        }
        for (text, answer) in zip(strings, answers.strings) {
            check("strip", text, String(PythonText.strip(text[...])), answer.strip)
            check("split", text, PythonText.split(text), answer.split)
            check("lower", text, PythonText.lower(text), answer.lower)
            check("upper", text, PythonText.upper(text), answer.upper)
            check("isspace", text, PythonText.isSpace(text), answer.isspace)
            check("basic_english", text, BasicEnglishTokenizer.tokenize(text), answer.basicEnglish)
            let normalized = BookNormalizer.normalize(text)
            check("normalize", text, normalized, answer.normalize)
            check("pieces", text, BookNormalizer.pieces(normalized), answer.pieces)
            check("pretokenized", text, PythonText.split(PythonText.lower(text)), answer.pretokenized)
        }
        let directory = TemporaryDirectory()
        try Data(conll.utf8).write(to: URL(fileURLWithPath: directory.file("rows.txt")))
        let read = try CoNLL2000Reader.read(try TextFile(path: directory.file("rows.txt")), skipBadLines: true)
        let pythonRows = answers.conll.filter { $0.count == 2 }
        check("conll rows", "(\(strings.prefix(2000).count) rows)", read.rows.map { [$0.word, $0.tag] }, pythonRows)
        let report =
            "\(differences.count) differences from Python (\(PythonRules.unicodeNote)):\n"
            + differences.joined(separator: "\n")
        let keySet = Set(keys.map { CodePoints($0) })
        let tokens = try BookNormalizer { keySet.contains(CodePoints($0)) }.process(rows).tokens
        check("pos rules", "(\(rows.count) rows)", tokens.map { [$0.word, $0.tag] }, answers.tokens)
        #expect(differences.isEmpty, "\(report)")
    }

    /// Every code point alone, lowercased and uppercased, as Python does it: the tables hold whole, `str.upper()`'s
    /// pairs rebuilt from the lowercase ones included.
    @Test func everyCodePointIsCasedAsPythonCasesIt() throws {
        let script = """
            import json
            changed = {}
            for cp in range(0x110000):
                ch = chr(cp)
                if not 0xD800 <= cp <= 0xDFFF and (ch.lower() != ch or ch.upper() != ch):
                    changed[cp] = [ch.lower(), ch.upper()]
            print(json.dumps(changed))
            """
        let output = try PythonRules.run(["-c", script])
        let changed = try JSONDecoder().decode([String: [String]].self, from: Data(output.utf8))
        var differences: [String] = []
        var checked = 0
        for value in UInt32(0)..<0x11_0000 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = String(Character(scalar))
            let python = changed[String(value)] ?? [text, text]
            let ours = [PythonText.lower(text), PythonText.upper(text)]
            checked += 1
            // Scalar by scalar: `String`'s `==` would take canonically equivalent answers (Å and Å) as the same.
            let same = zip(ours, python).allSatisfy { Array($0.unicodeScalars) == Array($1.unicodeScalars) }
            if !same && differences.count < 20 {
                differences.append(
                    "U+\(String(value, radix: 16, uppercase: true)): ours \(ours.map { Printable.escape($0) }), "
                        + "Python's \(python.map { Printable.escape($0) })")
            }
        }
        #expect(changed.count > 2_500, "Python changed only \(changed.count) code points")
        #expect(checked == 0x11_0000 - 0x800)
        #expect(differences.isEmpty, "\(PythonRules.unicodeNote):\n\(differences.joined(separator: "\n"))")
    }

    @Test func theTablesAreThoseOfThePythonThatRunsTheTests() throws {
        let note = PythonRules.unicodeNote
        #expect(
            PythonRules.unicodeVersion == PythonText.unicodeVersion,
            "\(note): run scripts/generate-python-text-tables.py")
    }
}

/// Runs scripts/reference/python_text_rules.py.
enum PythonRules {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/reference/python_text_rules.py").path

    static let available: Bool = (try? run(["-c", "import json"])) != nil

    static var unicodeVersion: String {
        ((try? run(["-c", "import unicodedata; print(unicodedata.unidata_version)"])) ?? "").trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    static var unicodeNote: String { "Python's Unicode \(unicodeVersion), the tables' \(PythonText.unicodeVersion)" }

    struct Answer: Decodable {
        var strip: String
        var split: [String]
        var lower: String
        var upper: String
        var isspace: Bool
        var basicEnglish: [String]
        var normalize: String
        var pieces: [String]
        var pretokenized: [String]

        enum CodingKeys: String, CodingKey {
            case strip, split, lower, upper, isspace, basicEnglish = "basic_english", normalize, pieces, pretokenized
        }
    }

    struct Answers: Decodable {
        var strings: [Answer]
        var conll: [[String?]]
        var tokens: [[String]]

        enum CodingKeys: String, CodingKey { case strings = "answers", conll, tokens }
    }

    static func answers(
        strings: [String], conll: String, rows: [(word: String, tag: String)], keys: [String]
    ) throws -> (strings: [Answer], conll: [[String]], tokens: [[String]]) {
        let directory = TemporaryDirectory()
        let input = directory.file("strings.json")
        let document: [String: Any] = [
            "strings": strings, "conll": conll, "rows": rows.map { [$0.word, $0.tag] }, "keys": keys,
        ]
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: input))
        let output = try run([script, input])
        let decoded = try JSONDecoder().decode(Answers.self, from: Data(output.utf8))
        return (decoded.strings, decoded.conll.map { $0.compactMap { $0 } }, decoded.tokens)
    }

    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw POSIXError(.EINVAL) }
        return String(decoding: data, as: UTF8.self)
    }
}
