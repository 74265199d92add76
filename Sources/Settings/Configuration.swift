import CacheBuild
import Datasets
import Foundation
import Server
import Support
import VectorCache
import Word2Vec
import Yams

/// The settings w2vcache runs with: `Config/w2vcache.yml`, or a file given with `--config`, over the built-in
/// defaults.
///
/// Every value is a library type, and every default is the library's own (``VectorCache/defaultPath``,
/// ``StorageSettings``, ``BuildSettings``, ``OOVVectors/defaultSeed``, ``SentimentOptions``,
/// ``TranslationOptions``, ``ServerSettings``): there is one source of truth, and the shipped file is tested to
/// equal it. This module maps the file onto those types, so the libraries themselves never see YAML.
public struct Configuration: Sendable, Equatable {
    /// `cache.path`
    public var cachePath = VectorCache.defaultPath
    /// `leveldb.*`: how caches are opened and built.
    public var storage = StorageSettings()
    /// `build.*`
    public var build = BuildSettings()
    /// `oov.seed`, `oov.range`
    public var oovSeed = OOVVectors.defaultSeed
    public var oovRange = OOVVectors.defaultRange
    /// `datasets.sentiment.*` (`max_vocab`, `max_length`)
    public var sentiment = SentimentOptions()
    /// `datasets.translation.*` (`buckets`, `min_freq`, `max_vocab`)
    public var translation = TranslationOptions()
    /// `server.*`
    public var server = ServerSettings()

    public init() {}

    /// The out-of-vocabulary vector generator for a cache of `dimension`.
    public func oovVectors(dimension: Int) -> OOVVectors {
        OOVVectors(dimension: dimension, seed: oovSeed, range: oovRange)
    }

    /// The out-of-vocabulary vectors of `cache`: of `kind`, or (`nil`) its n-gram vectors where it has a fastText
    /// model's, else seeded random ones.
    /// - throws: ``CacheError`` for `.subword` on a cache without subwords.
    public func oovSource(for cache: VectorCache, kind: OOVKind? = nil) throws -> OOVSource {
        try OOVSource(cache: cache, random: oovVectors(dimension: cache.dimension), kind: kind)
    }

    /// The file read when no `--config` is given, relative to the working directory.
    public static let defaultPath = "Config/w2vcache.yml"

    /// The largest configuration file read: a YAML file of settings is a few KB.
    static let maxFileBytes = 1 << 20
    /// The most values (keys, values, lists) a configuration file may hold, an alias's once for each use: the
    /// shipped file holds about 120.
    static let maxValues = 100_000

    /// Reads the configuration: `path` if given (it must exist), else ``defaultPath`` if present, else the built-in
    /// defaults.
    /// - throws: ``ConfigurationError`` naming the file, the line and key, and what is expected there; a path that is
    ///   not a regular file (a directory, `/dev/zero`, a FIFO) is refused before anything is read from it.
    public static func load(path: String? = nil) throws -> Configuration {
        let file = path ?? defaultPath
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.contents(of: file, limit: maxFileBytes)
        } catch {
            if path == nil && error.kind == .missing { return Configuration() }
            throw ConfigurationError(file: file, message: "\(error.problem); expected a YAML file of settings")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError(file: file, message: "is not UTF-8 text; expected a YAML file of settings")
        }
        return try parse(text, file: file)
    }

    /// Parses configuration YAML; `file` names it in errors. Unknown keys, wrong types and values outside their
    /// range are errors: a typo never silently means the default.
    public static func parse(_ text: String, file: String) throws -> Configuration {
        let root: Node?
        do {
            // No tag resolution: values are read from their text below, and Yams' default resolver compiles
            // seven regular expressions (ICU), a fifth of a `lookup`'s start-up. Nor construction (its default
            // builds tables of closures per parse) nor Yams' default encoding (it copies the whole environment to
            // look for an override): 4% of a `lookup` in a directory with a configuration.
            root = try Yams.compose(yaml: text, .basic, Constructor([:], [:], [:]), .utf8)
        } catch {
            throw ConfigurationError(file: file, message: "not valid YAML: \(error)")
        }
        var configuration = Configuration()
        // A file of comments only holds no document: the defaults apply.
        guard let root else { return configuration }
        var budget = Self.maxValues
        try refuseTags(root, file: file, budget: &budget)
        var top = try Section(root, path: "", file: file)
        if var cache = try top.section("cache") {
            try cache.read("path") { configuration.cachePath = try $0.string() }
            try cache.finish()
        }
        if var leveldb = try top.section("leveldb") {
            try leveldb.read("write_buffer_mb") {
                configuration.storage.writeBufferSize = try $0.integer(1...4096) << 20
            }
            try leveldb.read("max_file_mb") { configuration.storage.maxFileSize = try $0.integer(1...4096) << 20 }
            try leveldb.read("block_size_kb") { configuration.storage.blockSize = try $0.integer(1...65536) << 10 }
            try leveldb.read("block_cache_mb") {
                configuration.storage.blockCacheSize = try $0.integer(0...65536) << 20
            }
            try leveldb.read("bloom_bits_per_key") { configuration.storage.bloomBitsPerKey = try $0.integer(0...64) }
            try leveldb.read("max_open_files") { configuration.storage.maxOpenFiles = try $0.integer(16...1_000_000) }
            try leveldb.read("compression") { configuration.storage.compression = try $0.boolean() }
            try leveldb.finish()
        }
        if var build = try top.section("build") {
            try build.read("format") { value in
                let choice: FormatChoice = try value.choice()
                configuration.build.format = choice.format
            }
            try build.read("non_finite") { configuration.build.nonFinite = try $0.choice() }
            try build.read("invalid_utf8") { configuration.build.invalidUTF8 = try $0.choice() }
            try build.read("run_buffer_mb") { configuration.build.sortMemory = try $0.integer(1...65536) << 20 }
            try build.read("search_index") { configuration.build.searchIndex = try $0.boolean() }
            try build.finish()
        }
        if var oov = try top.section("oov") {
            try oov.read("seed") { configuration.oovSeed = UInt64(try $0.integer(0...Int.max)) }
            try oov.read("range") { configuration.oovRange = Float(try $0.number(0.000001...1000)) }
            try oov.finish()
        }
        if var datasets = try top.section("datasets") {
            if var sentiment = try datasets.section("sentiment") {
                try sentiment.read("max_vocab") {
                    configuration.sentiment.maxVocabulary = try $0.integer(3...Int(Int32.max))
                }
                try sentiment.read("max_length") {
                    configuration.sentiment.maxLength = try $0.integer(SentimentOptions.maxLengths)
                }
                try sentiment.finish()
            }
            if var translation = try datasets.section("translation") {
                try translation.read("buckets") { configuration.translation.buckets = try $0.buckets() }
                try translation.read("min_freq") {
                    configuration.translation.minFrequency = try $0.integer(1...Int.max)
                }
                try translation.read("max_vocab") { value in
                    configuration.translation.maxVocabulary = value.isNull ? nil : try value.integer(5...Int(Int32.max))
                }
                try translation.finish()
            }
            try datasets.finish()
        }
        if var server = try top.section("server") {
            try server.read("host") { configuration.server.host = try $0.string() }
            try server.read("port") { configuration.server.port = try $0.integer(0...65535) }
            try server.read("max_words_per_request") {
                configuration.server.maxWordsPerRequest = try $0.integer(1...10_000_000)
            }
            try server.read("max_similar_results") {
                configuration.server.maxSimilarResults = try $0.integer(1...10_000_000)
            }
            try server.read("max_similar_rows") {
                configuration.server.maxSimilarRows = try $0.integer(1...1_000_000_000_000)
            }
            try server.read("max_batch_size") { configuration.server.maxBatchSize = try $0.integer(1...1_000_000) }
            try server.read("max_body_kb") { configuration.server.maxBodyBytes = try $0.integer(1...1_048_576) << 10 }
            try server.read("max_answer_mb") {
                configuration.server.maxAnswerBytes = try $0.integer(1...1_048_576) << 20
            }
            try server.read("max_datasets_mb") { value in
                configuration.server.maxDatasetBytes =
                    value.isNull ? ServerSettings().maxDatasetBytes : try value.integer(1...(1 << 30)) << 20
            }
            try server.read("plan_cache_mb") {
                configuration.server.planCacheBytes = try $0.integer(0...1_048_576) << 20
            }
            try server.read("hot_vectors_mb") {
                configuration.server.hotVectorBytes = try $0.integer(0...1_048_576) << 20
            }
            try server.read("event_loops") { configuration.server.eventLoops = try $0.integer(0...1024) }
            try server.read("max_connections") { configuration.server.maxConnections = try $0.integer(1...1_000_000) }
            try server.read("header_timeout_s") {
                configuration.server.headerTimeout = .seconds(try $0.integer(1...3600))
            }
            try server.read("body_timeout_s") { configuration.server.bodyTimeout = .seconds(try $0.integer(1...3600)) }
            try server.read("idle_timeout_s") { configuration.server.idleTimeout = .seconds(try $0.integer(1...3600)) }
            try server.read("write_timeout_s") {
                configuration.server.writeTimeout = .seconds(try $0.integer(1...3600))
            }
            try server.read("shutdown_timeout_s") {
                configuration.server.shutdownTimeout = .seconds(try $0.integer(0...3600))
            }
            try server.read("log_failures_per_s") {
                configuration.server.logFailuresPerSecond = try $0.integer(0...1_000_000)
            }
            try server.read("token_file") { value in
                configuration.server.tokenFile = value.isNull ? nil : try value.string()
            }
            try server.finish()
        }
        try top.finish()
        return configuration
    }

    /// Every key the file may hold, dotted (`leveldb.block_size_kb`), in the order the shipped file lists them.
    public static let keys = [
        "cache.path",
        "leveldb.write_buffer_mb", "leveldb.max_file_mb", "leveldb.block_size_kb", "leveldb.block_cache_mb",
        "leveldb.bloom_bits_per_key", "leveldb.max_open_files", "leveldb.compression",
        "build.format", "build.non_finite", "build.invalid_utf8", "build.run_buffer_mb", "build.search_index",
        "oov.seed", "oov.range",
        "datasets.sentiment.max_vocab", "datasets.sentiment.max_length",
        "datasets.translation.buckets", "datasets.translation.min_freq", "datasets.translation.max_vocab",
        "server.host", "server.port", "server.max_words_per_request", "server.max_similar_results",
        "server.max_similar_rows", "server.max_batch_size",
        "server.max_body_kb", "server.max_answer_mb", "server.max_datasets_mb",
        "server.plan_cache_mb", "server.hot_vectors_mb",
        "server.event_loops",
        "server.max_connections",
        "server.header_timeout_s",
        "server.body_timeout_s", "server.idle_timeout_s", "server.write_timeout_s", "server.shutdown_timeout_s",
        "server.log_failures_per_s", "server.token_file",
    ]
}

/// `build.format` and `build --format`: a layout, or `auto` to detect it.
public enum FormatChoice: String, Sendable, CaseIterable {
    case auto, binary, text, glove

    /// The layout, `nil` for `auto`.
    public var format: Word2VecFormat? { Word2VecFormat(rawValue: rawValue) }

    public init(_ format: Word2VecFormat?) {
        self = format.flatMap { FormatChoice(rawValue: $0.rawValue) } ?? .auto
    }
}

/// Throws for the first node with an explicit tag that is not text, a mapping or a list (`!!binary aGk=`, `!env
/// HOME`, `!!int 5`): values are read from their text, so a tag that means something else would be passed over.
/// Visits at most `budget` nodes, an alias's each time it is used, so that a few lines of nested aliases (a
/// "billion laughs") are an error rather than a walk of billions.
private func refuseTags(_ node: Node, file: String, budget: inout Int) throws {
    budget -= 1
    guard budget >= 0 else {
        throw ConfigurationError(
            file: file,
            message: "holds more than \(Configuration.maxValues) values (an alias counts once for each use); "
                + "expected a file of settings")
    }
    let tag: Tag
    let children: [Node]
    switch node {
    case .scalar(let scalar): (tag, children) = (scalar.tag, [])
    case .mapping(let mapping): (tag, children) = (mapping.tag, mapping.flatMap { [$0.key, $0.value] })
    case .sequence(let sequence): (tag, children) = (sequence.tag, Array(sequence))
    case .alias(let alias): (tag, children) = (alias.tag, [])
    }
    let name = tag.description
    // No tag (plain), `!` (quoted), or the tag a plain value of its kind has.
    guard [Tag.Name.implicit, .nonSpecific, .str, .map, .seq].contains(where: { $0.rawValue == name }) else {
        let line = node.mark.map { "line \($0.line): " } ?? ""
        let tag = Printable.escape(name.replacing("tag:yaml.org,2002:", with: "!!"), limit: 80)
        throw ConfigurationError(
            file: file, message: "\(line)the tag \(tag) is not read; expected values written plainly, without tags")
    }
    for child in children { try refuseTags(child, file: file, budget: &budget) }
}

/// A configuration file that cannot be used, and why.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}

/// A mapping of the file being read: its keys are taken one by one, and ``finish()`` rejects the rest.
private struct Section {
    let mapping: Node.Mapping
    let path: String
    let file: String
    private var seen: Set<String> = []
    private var known: [String] = []

    init(_ node: Node, path: String, file: String) throws {
        guard let mapping = node.mapping else {
            throw Value(node: node, key: path, file: file).error("expected a mapping of keys to values")
        }
        self.mapping = mapping
        self.path = path
        self.file = file
    }

    private func dotted(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The value of `key`, if the file has it.
    private mutating func value(_ key: String) -> Value? {
        known.append(key)
        guard let node = mapping.first(where: { $0.key.string == key })?.value else { return nil }
        seen.insert(key)
        return Value(node: node, key: dotted(key), file: file)
    }

    /// Reads `key` with `apply` if the file has it.
    mutating func read(_ key: String, _ apply: (Value) throws -> Void) throws {
        if let value = value(key) { try apply(value) }
    }

    /// The nested mapping under `key`, if the file has it.
    mutating func section(_ key: String) throws -> Section? {
        guard let value = value(key) else { return nil }
        if value.node.null != nil { return nil }
        return try Section(value.node, path: dotted(key), file: file)
    }

    /// Throws for the first key that is not one of those read.
    func finish() throws {
        for (key, node) in mapping {
            let name = key.string ?? "?"
            guard seen.contains(name) else {
                let line = (key.mark ?? node.mark).map { "line \($0.line): " } ?? ""
                let expected = path.isEmpty ? "top-level sections are" : "keys of \(path) are"
                throw ConfigurationError(
                    file: file,
                    message: "\(line)unknown key \"\(dotted(name))\"; \(expected) \(known.joined(separator: ", "))")
            }
        }
    }
}

/// One value of the file, with what to say when it is not what its key needs.
private struct Value {
    let node: Node
    let key: String
    let file: String

    func error(_ expected: String) -> ConfigurationError {
        let line = node.mark.map { "line \($0.line): " } ?? ""
        let found = node.scalar.map { " (found \"\($0.string)\")" } ?? ""
        return ConfigurationError(file: file, message: "\(line)\(key): \(expected)\(found)")
    }

    private var text: String? { node.scalar?.string }

    /// `null`, `~` or nothing: "no value" where a key allows it.
    var isNull: Bool { node.null != nil }

    func string() throws -> String {
        guard let text else { throw error("expected text") }
        guard !text.isEmpty else { throw error("expected text, not an empty string") }
        return text
    }

    func integer(_ range: ClosedRange<Int>) throws -> Int {
        guard let text, let value = Int(text), range.contains(value) else {
            throw error("expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func number(_ range: ClosedRange<Double>) throws -> Double {
        guard let text, let value = Double(text), range.contains(value) else {
            throw error("expected a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func boolean() throws -> Bool {
        switch text {
        case "true": return true
        case "false": return false
        default: throw error("expected true or false")
        }
    }

    func choice<T: RawRepresentable & CaseIterable>() throws -> T where T.RawValue == String {
        guard let text, let value = T(rawValue: text) else {
            throw error("expected one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }

    /// `[[S, T], …]`: at least one bucket, each two whole numbers that make a valid ``LengthBucket``.
    func buckets() throws -> [LengthBucket] {
        let expected =
            "expected a list of [source, target] length pairs, such as [[5, 10], [10, 15]], with \(LengthBucket.expected)"
        guard let list = node.sequence, !list.isEmpty else { throw error(expected) }
        return try list.map { pair in
            guard let numbers = pair.sequence?.compactMap({ $0.scalar.flatMap { Int($0.string) } }), numbers.count == 2,
                pair.sequence?.count == 2, LengthBucket(source: numbers[0], target: numbers[1]).isValid
            else { throw Value(node: pair, key: key, file: file).error(expected) }
            return LengthBucket(source: numbers[0], target: numbers[1])
        }
    }
}
