import Foundation
import Yams

/// The defaults w2vcache runs with: `Config/w2vcache.yml`, or a file given with `--config`.
///
/// Every key of the file is optional; a missing key keeps the built-in default, which equals the shipped file.
public struct Configuration: Sendable, Equatable, Decodable {
    public var cache = CacheSettings()
    public var leveldb = LevelDBSettings()
    public var build = BuildSettings()
    public var oov = OOVSettings()
    public var datasets = DatasetSettings()
    public var server = ServerSettings()

    public init() {}

    /// Defaults of `w2vcache serve`.
    public struct ServerSettings: Sendable, Equatable, Decodable {
        public var host = "127.0.0.1"
        public var port = 8080
        public var maxWordsPerRequest = 10_000
        public var maxBatchSize = 4096
        public var maxBodyKB = 1024
        public init() {}
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            host = try c.decodeIfPresent(String.self, forKey: .host) ?? host
            port = try c.decodeIfPresent(Int.self, forKey: .port) ?? port
            maxWordsPerRequest = try c.decodeIfPresent(Int.self, forKey: .max_words_per_request) ?? maxWordsPerRequest
            maxBatchSize = try c.decodeIfPresent(Int.self, forKey: .max_batch_size) ?? maxBatchSize
            maxBodyKB = try c.decodeIfPresent(Int.self, forKey: .max_body_kb) ?? maxBodyKB
        }
        enum Key: String, CodingKey { case host, port, max_words_per_request, max_batch_size, max_body_kb }
    }

    /// Where the cache lives.
    public struct CacheSettings: Sendable, Equatable, Decodable {
        public var path = "word2vecdb"
        public init() {}
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            path = try c.decodeIfPresent(String.self, forKey: .path) ?? path
        }
        enum Key: String, CodingKey { case path }
    }

    /// LevelDB tuning, in megabytes and kilobytes as the file writes them.
    public struct LevelDBSettings: Sendable, Equatable, Decodable {
        public var writeBufferMB = 16
        public var maxFileMB = 64
        public var blockSizeKB = 64
        public var blockCacheMB = 64
        public var bloomBitsPerKey = 10
        public var maxOpenFiles = 1000
        public var compression = false
        public init() {}
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            writeBufferMB = try c.decodeIfPresent(Int.self, forKey: .write_buffer_mb) ?? writeBufferMB
            maxFileMB = try c.decodeIfPresent(Int.self, forKey: .max_file_mb) ?? maxFileMB
            blockSizeKB = try c.decodeIfPresent(Int.self, forKey: .block_size_kb) ?? blockSizeKB
            blockCacheMB = try c.decodeIfPresent(Int.self, forKey: .block_cache_mb) ?? blockCacheMB
            bloomBitsPerKey = try c.decodeIfPresent(Int.self, forKey: .bloom_bits_per_key) ?? bloomBitsPerKey
            maxOpenFiles = try c.decodeIfPresent(Int.self, forKey: .max_open_files) ?? maxOpenFiles
            compression = try c.decodeIfPresent(Bool.self, forKey: .compression) ?? compression
        }
        enum Key: String, CodingKey {
            case write_buffer_mb, max_file_mb, block_size_kb, block_cache_mb, bloom_bits_per_key, max_open_files,
                compression
        }
    }

    /// How `build` reads a vectors file.
    public struct BuildSettings: Sendable, Equatable, Decodable {
        /// `auto`, `binary`, `text` or `glove`.
        public var format = "auto"
        /// `fail`, `skip` or `keep`.
        public var nonFinite = "fail"
        /// `keep`, `skip` or `fail`.
        public var invalidUTF8 = "keep"
        public var runBufferMB = 96
        public init() {}
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            format = try c.decodeIfPresent(String.self, forKey: .format) ?? format
            nonFinite = try c.decodeIfPresent(String.self, forKey: .non_finite) ?? nonFinite
            invalidUTF8 = try c.decodeIfPresent(String.self, forKey: .invalid_utf8) ?? invalidUTF8
            runBufferMB = try c.decodeIfPresent(Int.self, forKey: .run_buffer_mb) ?? runBufferMB
        }
        enum Key: String, CodingKey { case format, non_finite, invalid_utf8, run_buffer_mb }
    }

    /// Out-of-vocabulary vectors.
    public struct OOVSettings: Sendable, Equatable, Decodable {
        public var seed: UInt64 = 1
        public var range: Float = 0.25
        public init() {}
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
            range = try c.decodeIfPresent(Float.self, forKey: .range) ?? range
        }
        enum Key: String, CodingKey { case seed, range }
    }

    /// Defaults of `prepare sentiment` and `prepare translation`.
    public struct DatasetSettings: Sendable, Equatable, Decodable {
        public var sentimentMaxVocabulary = 30_000
        public var sentimentMaxLength = 512
        /// `(source length, target length)` buckets, smallest first.
        public var translationBuckets = [[5, 10], [10, 15], [20, 25], [30, 40]]
        public var translationMinFrequency = 1
        public var translationMaxVocabulary = 30_000
        public init() {}
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            if let sentiment = try? c.nestedContainer(keyedBy: Key.self, forKey: .sentiment) {
                sentimentMaxVocabulary = try sentiment.decodeIfPresent(Int.self, forKey: .max_vocab) ?? sentimentMaxVocabulary
                sentimentMaxLength = try sentiment.decodeIfPresent(Int.self, forKey: .max_length) ?? sentimentMaxLength
            }
            if let translation = try? c.nestedContainer(keyedBy: Key.self, forKey: .translation) {
                translationBuckets = try translation.decodeIfPresent([[Int]].self, forKey: .buckets) ?? translationBuckets
                translationMinFrequency = try translation.decodeIfPresent(Int.self, forKey: .min_freq) ?? translationMinFrequency
                translationMaxVocabulary = try translation.decodeIfPresent(Int.self, forKey: .max_vocab) ?? translationMaxVocabulary
            }
        }
        enum Key: String, CodingKey { case sentiment, translation, max_vocab, max_length, buckets, min_freq }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        datasets = try c.decodeIfPresent(DatasetSettings.self, forKey: .datasets) ?? datasets
        server = try c.decodeIfPresent(ServerSettings.self, forKey: .server) ?? server
        cache = try c.decodeIfPresent(CacheSettings.self, forKey: .cache) ?? cache
        leveldb = try c.decodeIfPresent(LevelDBSettings.self, forKey: .leveldb) ?? leveldb
        build = try c.decodeIfPresent(BuildSettings.self, forKey: .build) ?? build
        oov = try c.decodeIfPresent(OOVSettings.self, forKey: .oov) ?? oov
    }

    enum Key: String, CodingKey { case cache, leveldb, build, oov, datasets, server }

    /// The file read when no `--config` is given, relative to the working directory.
    public static let defaultPath = "Config/w2vcache.yml"

    /// Reads the configuration: `path` if given (it must exist), else ``defaultPath`` if present, else the built-in
    /// defaults.
    /// - throws: ``ConfigurationError`` naming the file and what is wrong with it.
    public static func load(path: String? = nil) throws -> Configuration {
        let file = path ?? defaultPath
        guard FileManager.default.fileExists(atPath: file) else {
            if path != nil { throw ConfigurationError(file: file, message: "no such file") }
            return Configuration()
        }
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: file, message: "cannot read: \(error.localizedDescription)")
        }
        return try parse(text, file: file)
    }

    /// Parses configuration YAML; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws -> Configuration {
        do {
            // A file of comments only holds no document: the defaults apply.
            if try Yams.compose(yaml: text) == nil { return Configuration() }
            return try YAMLDecoder().decode(Configuration.self, from: text)
        } catch let error as DecodingError {
            throw ConfigurationError(file: file, message: Self.describe(error))
        } catch {
            throw ConfigurationError(file: file, message: "not valid YAML: \(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context)): expected a value of type \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected a value of type \(type)"
        case .keyNotFound(let key, _): return "missing key \(key.stringValue)"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// A configuration file that cannot be used, and why.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}
