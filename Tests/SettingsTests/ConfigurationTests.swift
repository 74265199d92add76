import CacheBuild
import Datasets
import Foundation
import Server
import Settings
import Testing
import VectorCache
import Word2Vec
import Yams

@Suite struct SettingsTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let shippedPath = repository + "/Config/w2vcache.yml"

    @Test func theShippedFileHoldsTheBuiltInDefaults() throws {
        let shipped = try Configuration.load(path: Self.shippedPath)
        #expect(shipped == Configuration())
    }

    /// Every key is written in the shipped file, so that it documents every default rather than leaning on them.
    @Test func theShippedFileListsEveryKey() throws {
        let text = try String(contentsOfFile: Self.shippedPath, encoding: .utf8)
        func keys(_ node: Node, _ path: String) -> [String] {
            guard let mapping = node.mapping else { return [path] }
            return mapping.flatMap { key, value in keys(value, path.isEmpty ? key.string! : path + "." + key.string!) }
        }
        let found = keys(try #require(try Yams.compose(yaml: text)), "")
        #expect(found == Configuration.keys)
    }

    /// The defaults are the libraries' own: spot checks against values stated independently here.
    @Test func theDefaultsAreTheLibrariesOwn() {
        let defaults = Configuration()
        #expect(defaults.cachePath == "word2vecdb")
        #expect(defaults.storage.writeBufferSize == 16 << 20 && defaults.storage.blockSize == 4 << 10)
        #expect(defaults.storage == StorageSettings())
        #expect(defaults.build == BuildSettings() && defaults.build.format == nil && defaults.build.nonFinite == .fail)
        #expect(defaults.server == ServerSettings() && defaults.server.shutdownTimeout == .seconds(10))
        #expect(defaults.sentiment == SentimentOptions() && defaults.translation == TranslationOptions())
        #expect(defaults.oovSeed == 1 && defaults.oovRange == 0.25)
    }

    @Test func aPartialFileOverridesOnlyItsKeys() throws {
        let configuration = try Configuration.parse(
            "leveldb:\n  bloom_bits_per_key: 0\noov:\n  seed: 7\nbuild:\n  format: glove\nserver:\n  hot_vectors_mb: 0\n",
            file: "x.yml")
        #expect(configuration.storage.bloomBitsPerKey == 0)
        #expect(configuration.server.hotVectorBytes == 0 && Configuration().server.hotVectorBytes == 64 << 20)
        #expect(configuration.oovSeed == 7)
        #expect(configuration.build.format == .glove)
        #expect(configuration.storage.writeBufferSize == Configuration().storage.writeBufferSize)
        #expect(configuration.cachePath == "word2vecdb")
    }

    /// The datasets a server loads are bounded by half the machine's memory unless the file says otherwise; `null`
    /// says the default, a size is in MB, and a bound that means nothing is refused.
    @Test func theDatasetsBoundIsHalfTheMemoryUnlessSet() throws {
        let half = Int(ProcessInfo.processInfo.physicalMemory / 2)
        #expect(Configuration().server.maxDatasetBytes == half)
        #expect(
            try Configuration.parse("server:\n  max_datasets_mb: 300\n", file: "x.yml").server.maxDatasetBytes == 300
                << 20)
        #expect(
            try Configuration.parse("server:\n  max_datasets_mb: null\n", file: "x.yml").server.maxDatasetBytes == half)
        for bad in ["0", "-5", "1073741825", "lots"] {
            #expect(throws: ConfigurationError.self) {
                try Configuration.parse("server:\n  max_datasets_mb: \(bad)\n", file: "x.yml")
            }
        }
    }

    /// Lines about failed requests are bounded at 10 a second unless the file says otherwise; 0 logs none.
    @Test func failureLogLinesAreBoundedUnlessSet() throws {
        #expect(Configuration().server.logFailuresPerSecond == 10)
        for good in [0, 1, 1_000_000] {
            let parsed = try Configuration.parse("server:\n  log_failures_per_s: \(good)\n", file: "x.yml")
            #expect(parsed.server.logFailuresPerSecond == good)
        }
        for bad in ["-1", "1000001", "null", "many"] {
            #expect(throws: ConfigurationError.self) {
                try Configuration.parse("server:\n  log_failures_per_s: \(bad)\n", file: "x.yml")
            }
        }
    }

    /// Quoted values, `!` (the tag of a quoted value) and `!!str` mean text, as a plain value does.
    @Test func quotedAndTextTaggedValuesAreRead() throws {
        let configuration = try Configuration.parse(
            "cache:\n  path: \"c1\"\nserver:\n  host: ! localhost\n  port: !!str 9000\n", file: "x.yml")
        #expect(configuration.cachePath == "c1")
        #expect(configuration.server.host == "localhost" && configuration.server.port == 9000)
    }

    @Test func anEmptyFileMeansDefaults() throws {
        #expect(try Configuration.parse("# nothing\n", file: "x.yml") == Configuration())
    }

    @Test(arguments: [
        ("leveldb:\n  max_file_mb: lots\n", "line 2: leveldb.max_file_mb: expected a whole number"),
        (
            "build:\n  format: bianry\n",
            "line 2: build.format: expected one of auto, binary, text, glove (found \"bianry\")"
        ),
        ("build:\n  non_finite: ignore\n", "build.non_finite: expected one of keep, skip, fail"),
        ("leveldb:\n  compresion: true\n", "line 2: unknown key \"leveldb.compresion\"; keys of leveldb are"),
        (
            "serve:\n  port: 1\n",
            "line 1: unknown key \"serve\"; top-level sections are cache, leveldb, build, oov, datasets, server"
        ),
        (
            "datasets:\n  translation:\n    buckets: [[5]]\n",
            "datasets.translation.buckets: expected a list of [source, target] length pairs"
        ),
        ("datasets:\n  translation:\n    buckets: []\n", "datasets.translation.buckets: expected a list"),
        ("datasets:\n  sentiment: 5\n", "datasets.sentiment: expected a mapping"),
        ("server:\n  port: 70000\n", "server.port: expected a whole number from 0 to 65535"),
        // An empty string is text: the message said "expected text (found "")".
        ("cache:\n  path: \"\"\n", "line 2: cache.path: expected text, not an empty string (found \"\")"),
        ("server:\n  host: [a]\n", "line 2: server.host: expected text"),
        ("oov:\n  range: -1\n", "oov.range: expected a number"),
        ("leveldb: [1, 2\n", "not valid YAML"),
        ("leveldb:\n  max_file_mb: 8\n  max_file_mb: 9\n", "not valid YAML: Parser: expected all keys to be unique"),
        // Tags were passed over: the path was the base64 text, the number read from its text.
        ("cache:\n  path: !!binary YzE=\n", "line 2: the tag !!binary is not read; expected values written plainly"),
        ("server:\n  port: !!int 8080\n", "line 2: the tag !!int is not read"),
        ("datasets:\n  translation:\n    buckets: [[5, !env 10]]\n", "line 3: the tag !env is not read"),
        ("!!binary cGF0aA==: c1\n", "line 1: the tag !!binary is not read"),
        // Nine lines of nested aliases, 9^9 values: walking them took for ever.
        (
            "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
                + (1...8).map { level in
                    let (name, inner) = (String(UnicodeScalar(97 + level)!), String(UnicodeScalar(96 + level)!))
                    return "\(name): &\(name) [" + Array(repeating: "*" + inner, count: 9).joined(separator: ", ")
                        + "]\n"
                }.joined(),
            "holds more than 100000 values (an alias counts once for each use)"
        ),
    ])
    func aBadFileNamesTheFileLineKeyAndWhatIsExpected(text: String, expected: String) {
        #expect {
            _ = try Configuration.parse(text, file: "bad.yml")
        } throws: { error in
            let description = "\(error)"
            return error is ConfigurationError && description.hasPrefix("bad.yml: ") && description.contains(expected)
        }
    }

    @Test func anExplicitMissingFileIsAnError() {
        #expect(throws: ConfigurationError.self) { try Configuration.load(path: "/nonexistent/w2vcache.yml") }
    }
}
