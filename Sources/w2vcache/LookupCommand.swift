import ArgumentParser
import Foundation
import NumPyFormat
import Settings
import Support
import VectorCache

/// `w2vcache lookup`: prints the vectors of words.
struct LookupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup",
        abstract: "Print the vectors of words.",
        discussion: """
            Words come from the command line and from --words-from, in that order. \
            text: one line per word, the word then its values. json: one object per line, \
            {"word": ..., "vector": [...], "oov": false, "kind": "word"} (kind: word, random or subword). npy: a \
            NumPy array on stdout, float32 [dim] for one word, [n, dim] for several. The answer is written as it is \
            read, so a lookup of a whole vocabulary takes little memory. A word not in the cache is named on stderr \
            (the first 100 of them) and the exit status is 1, the words found still printed; unless --oov gives it a \
            vector: on a cache built from a fastText .bin model, by default, its character n-grams' (a word without \
            a single n-gram gets the seeded random vector). A word that is not UTF-8 (build keeps such words as \
            their file wrote them) is looked up by its bytes, from the command line or --words-from, and printed \
            with \\xNN escapes in text and each such byte as \\udcNN in JSON, as Python's surrogateescape \
            writes it (json.loads(line)["word"].encode("utf-8", "surrogateescape") gives its bytes back).
            """
    )

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json, npy
    }

    /// What a word the cache lacks gets.
    enum Missing: String, ExpressibleByArgument, CaseIterable {
        /// Nothing: it is named, and the exit status is 1.
        case none
        case random, subword
    }

    @OptionGroup var cache: CacheOptions

    @Option(help: "Output format: text, json or npy (not to a terminal).")
    var format: OutputFormat = .text

    @Option(
        help: ArgumentHelp(
            "Also look up the words in this file, one per line (- reads them from standard input, and a pipe a "
                + "process writes to is read too: <(cut -f1 vocab.tsv)).", valueName: "file"))
    var wordsFrom: String?

    @Option(
        help: ArgumentHelp(
            "What a word the cache lacks gets: none (an error), random (its seeded random vector) or subword (its "
                + "n-grams', for a fastText cache). Default: subword on a fastText cache, else none.",
            valueName: "kind"))
    var oov: Missing?

    @Argument(help: "The words to look up.")
    var arguments: [String] = []

    func validate() throws {
        if arguments.isEmpty && wordsFrom == nil {
            throw ValidationError("name at least one word, or --words-from FILE")
        }
    }

    func run() throws {
        try invocation.run()
    }

    /// What the parsed options ask for.
    var invocation: Invocation {
        Invocation(
            words: W2VCache.argumentBytes(of: arguments), wordsFrom: wordsFrom, db: cache.db,
            config: cache.config, format: format, oov: oov)
    }

    /// A lookup with its arguments read: what `run()` does, and what `W2VCache.main` runs straight from a plain
    /// command line.
    struct Invocation: Equatable {
        /// The most words a lookup reads without the tables' bloom filters: reading a table's filter costs about
        /// what 150 missing words cost without it, so a lookup of this many comes out ahead even if all are missing.
        static let mostWordsWithoutBloomFilters = 64

        /// The storage settings a lookup of `words` words reads the cache with.
        static func storage(_ configured: StorageSettings, words: Int) -> StorageSettings {
            words <= mostWordsWithoutBloomFilters ? configured.withoutBloomFilters : configured
        }

        /// The words as bytes: a word a cache keeps as its file wrote it, not UTF-8 (`build --invalid-utf8 keep`),
        /// comes as it is from a plain command line and from `--words-from`.
        var words: [[UInt8]]
        var wordsFrom: String?
        var db: String?
        var config: String?
        var format: OutputFormat = .text
        var oov: Missing?

        func run() throws {
            if format == .npy { try Terminal.refuseBinaryOutputOnTerminal("a .npy file", file: "vectors.npy") }
            var words = words
            if let wordsFrom {
                let fromInput = wordsFrom == "-"
                let listed = try fromInput ? WordList.standardInputWords() : WordList.words(path: wordsFrom)
                words += listed.map(\.bytes)
            }
            let configuration = try Configuration.load(path: config)
            let cache = try VectorCache(
                path: db ?? configuration.cachePath, storage: Self.storage(configuration.storage, words: words.count))
            let missingGet = oov ?? (cache.manifest.subwords == nil ? .none : .subword)
            let source: OOVSource? =
                switch missingGet {
                case .none: nil
                case .random: try configuration.oovSource(for: cache, kind: .random)
                case .subword: try configuration.oovSource(for: cache, kind: .subword)
                }
            // Output goes out as it is made, a megabyte at a time: a lookup of a whole vocabulary is gigabytes.
            let npyRows: Int? =
                format == .npy && words.count > 1 ? try Self.rows(words, in: cache, all: source != nil) : nil
            var output: [UInt8] = []
            if let npyRows, npyRows > 0 {
                output = NPY.header(type: .float32, shape: [npyRows, cache.manifest.dimension])
            }
            var missing: [[UInt8]] = []
            var foundCount = 0
            func emit(_ word: [UInt8], _ bytes: UnsafeRawBufferPointer, kind: OOVKind?) throws {
                switch format {
                case .npy:
                    if words.count == 1 {
                        output = NPY.file(type: .float32, shape: [cache.manifest.dimension], data: bytes)
                    } else {
                        output.append(contentsOf: bytes)
                    }
                case .text:
                    output += Array(
                        (Printable.escape(bytes: word) + " "
                            + Float32Bytes.decode(bytes).map { "\($0)" }.joined(separator: " ")
                            + "\n").utf8)
                case .json:
                    output += Array(
                        ("{\"word\": \(JSONText.string(bytes: word)), \"vector\": ["
                            + Float32Bytes.decode(bytes).map(NonFiniteJSON.text).joined(separator: ", ")
                            + "], \"oov\": \(kind != nil), \"kind\": \"\(kind?.rawValue ?? "word")\"}\n").utf8)
                }
                foundCount += 1
                if output.count >= 1 << 20 {
                    try Terminal.writeStdout(output)
                    output.removeAll(keepingCapacity: true)
                }
            }
            var made: [OOVKind: Int] = [:]
            for word in words {
                let present = try cache.withVectorBytes(for: word) { bytes -> Bool in
                    guard let bytes else { return false }
                    try emit(word, bytes, kind: try cache.outOfVocabularyKind(word))
                    return true
                }
                if present { continue }
                if let source {
                    let (bytes, kind) = try source.vectorBytes(for: word)
                    try bytes.withUnsafeBytes { try emit(word, $0, kind: kind) }
                    made[kind, default: 0] += 1
                } else {
                    missing.append(word)
                }
            }
            if let npyRows, npyRows != foundCount {
                throw CacheError(
                    .io,
                    "the cache changed while lookup read it (\(npyRows) words were in it, then \(foundCount)); "
                        + "the .npy written is incomplete: run the lookup again")
            }
            try Terminal.writeStdout(output)
            for (kind, count) in made.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                Terminal.message("w2vcache: \(count) not in the cache, given \(kind.rawValue) vectors")
            }
            if !missing.isEmpty {
                let named = missing.prefix(Self.mostMissingNamed).map { "\"\(Printable.escape(bytes: $0))\"" }.joined(
                    separator: ", ")
                let more = missing.count - Self.mostMissingNamed
                Terminal.message("w2vcache: not in the cache: " + named + (more > 0 ? " and \(more) more" : ""))
                throw ExitCode(1)
            }
        }

        /// The most missing words a lookup names.
        static let mostMissingNamed = 100

        /// The rows of an `.npy` of `words`: each word the cache has, or all of them where every word gets a vector.
        private static func rows(_ words: [[UInt8]], in cache: VectorCache, all: Bool) throws -> Int {
            if all { return words.count }
            var rows = 0
            for word in words where try cache.withVectorBytes(for: word, { $0 != nil }) { rows += 1 }
            return rows
        }
    }
}

extension LookupCommand.Invocation {
    /// The options the plain form takes, each followed by its value.
    private static let options: Set<String> = ["--db", "--config", "--format", "--oov", "--words-from"]

    /// Reads `lookup [--db DIR] [--config FILE] [--format F] [--oov KIND] [--words-from FILE] WORD...` without
    /// argument-parser: options anywhere, each at most once, as `--name value`, at least one word or a word list.
    /// Any other command line (help, `--name=value`, an empty value, a value or word starting with `-`, a repeated or
    /// unknown option, a value that is not one of the choices, no word) is `nil`, and argument-parser reads it, with
    /// its messages.
    /// Argument-parser's first parse in a process instantiates its generic types, each a scan of every protocol
    /// conformance in the binary: 1.5-2 ms, a third of a lookup (docs/benchmarks.md). `PlainLookupTests` hold this
    /// reading equal to argument-parser's on the same command lines.
    /// - Parameter bytes: the arguments' bytes as the process got them, for the words: a word that is not UTF-8
    ///   reaches `arguments` with U+FFFD in place of its bytes.
    init?(plainArguments arguments: [String], bytes: [[UInt8]]? = nil) {
        guard arguments.first == "lookup" else { return nil }
        var values: [String: String] = [:]
        var words: [[UInt8]] = []
        var rest = arguments.indices.dropFirst()
        while let index = rest.popFirst() {
            let argument = arguments[index]
            guard argument.hasPrefix("-") else {
                words.append(bytes?[index] ?? Array(argument.utf8))
                continue
            }
            guard Self.options.contains(argument), values[argument] == nil,
                let value = rest.popFirst().map({ arguments[$0] }),
                !value.isEmpty, !value.hasPrefix("-")
            else { return nil }
            values[argument] = value
        }
        guard !words.isEmpty || values["--words-from"] != nil else { return nil }
        self.init(words: words, wordsFrom: values["--words-from"], db: values["--db"], config: values["--config"])
        if let name = values["--format"] {
            guard let format = LookupCommand.OutputFormat(rawValue: name) else { return nil }
            self.format = format
        }
        if let name = values["--oov"] {
            guard let oov = LookupCommand.Missing(rawValue: name) else { return nil }
            self.oov = oov
        }
    }
}
