import Foundation
import Support
import Word2Vec

/// What a cache holds and how it was built, stored as JSON under ``CacheKeys/manifest``.
public struct CacheManifest: Codable, Sendable, Equatable {
    /// The version of the on-disk layout this tool writes.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    public var dimension: Int
    /// Pretrained word vectors stored (out-of-vocabulary vectors added later are counted in `oovCount`).
    public var wordCount: Int
    public var oovCount: Int
    public var source: Source
    public var options: BuildOptionsRecord
    public var statistics: Statistics
    public var toolVersion: String
    /// ISO 8601, UTC.
    public var builtAt: String
    public var buildSeconds: Double
    /// How a cache built from a fastText model gives vectors to words it lacks (its n-gram rows are stored under
    /// ``CacheKeys/subwordPrefix``); `nil` for a word2vec file.
    public var subwords: FastTextSubwords?

    /// The manifest stored in the cache at `path`, its format checked before the rest is read: a cache a later
    /// w2vcache wrote in another format is named as such (not as damaged), with the version that wrote it.
    /// - throws: ``CacheError`` `.incompatible` for another format, `.corrupt` for bytes that are not a manifest.
    /// The most words, pretrained or out-of-vocabulary, a manifest may count: 2^32 - 1, over a thousand times
    /// GoogleNews' 3 million, and small enough that counts add without overflow.
    package static let maxWordCount = Int(UInt32.max)

    package static func decode(_ bytes: [UInt8], of path: String) throws(CacheError) -> CacheManifest {
        struct Format: Decodable {
            let formatVersion: Int
            let toolVersion: String?
        }
        func unreadable(_ error: any Error) -> CacheError {
            CacheError(
                .corrupt, "the manifest of \(path) cannot be read (\(ManifestCoding.reason(error))); rebuild the cache")
        }
        let format: Format
        do { format = try JSONDecoder().decode(Format.self, from: Data(bytes)) } catch { throw unreadable(error) }
        guard format.formatVersion == currentFormatVersion else {
            let writer = format.toolVersion.map { " (written by w2vcache \(Printable.escape($0, limit: 40)))" } ?? ""
            throw CacheError(
                .incompatible,
                "\(path) has cache format \(format.formatVersion)\(writer); this w2vcache (\(w2vcacheVersion)) reads "
                    + "format \(currentFormatVersion): rebuild it")
        }
        let manifest: CacheManifest
        do { manifest = try JSONDecoder().decode(CacheManifest.self, from: Data(bytes)) } catch {
            throw unreadable(error)
        }
        // Every read sizes its vectors by these, and the server and `verify` add the counts: a manifest that says
        // what no build writes is damaged.
        guard (1...Word2VecReader.maxDimension).contains(manifest.dimension),
            (0...maxWordCount).contains(manifest.wordCount), (0...maxWordCount).contains(manifest.oovCount)
        else {
            throw CacheError(
                .corrupt,
                "the manifest of \(path) is damaged: it says dimension \(manifest.dimension), \(manifest.wordCount) "
                    + "words and \(manifest.oovCount) out-of-vocabulary (expected a dimension from 1 to "
                    + "\(Word2VecReader.maxDimension) and counts from 0 to \(maxWordCount)); rebuild the cache")
        }
        if let subwords = manifest.subwords, !subwords.isWellFormed {
            throw CacheError(
                .corrupt,
                "the manifest of \(path) is damaged: it says n-grams of \(subwords.minn) to \(subwords.maxn) "
                    + "characters in \(subwords.bucket) buckets, which no fastText model has; rebuild the cache")
        }
        return manifest
    }

    package init(
        formatVersion: Int, dimension: Int, wordCount: Int, oovCount: Int, source: Source, options: BuildOptionsRecord,
        statistics: Statistics, toolVersion: String, builtAt: String, buildSeconds: Double,
        subwords: FastTextSubwords? = nil
    ) {
        self.formatVersion = formatVersion
        self.dimension = dimension
        self.wordCount = wordCount
        self.oovCount = oovCount
        self.source = source
        self.options = options
        self.statistics = statistics
        self.toolVersion = toolVersion
        self.builtAt = builtAt
        self.buildSeconds = buildSeconds
        self.subwords = subwords
    }

    /// The file the vectors came from.
    public struct Source: Codable, Sendable, Equatable {
        public var name: String
        public var size: UInt64
        /// CRC-32 of the decompressed vector data, in hex (for a single-member gzip file, the CRC in its trailer,
        /// as `gzip -lv` shows it; for a plain file, what `crc32 FILE` prints).
        public var crc32: String
        public var format: Word2VecFormat
        public var gzip: Bool
        /// The count the header announced (`nil` for GloVe files).
        public var headerCount: Int?

        package init(name: String, size: UInt64, crc32: String, format: Word2VecFormat, gzip: Bool, headerCount: Int?) {
            self.name = name
            self.size = size
            self.crc32 = crc32
            self.format = format
            self.gzip = gzip
            self.headerCount = headerCount
        }
    }

    /// The options the build ran with.
    public struct BuildOptionsRecord: Codable, Sendable, Equatable {
        public var limit: Int?
        /// The file of `--only-words`, how many distinct words it listed, and the CRC-32 of the list (sorted).
        public var onlyWordsFile: String?
        public var onlyWordsCount: Int?
        public var onlyWordsCRC32: String?
        public var nonFinite: RecordPolicy
        public var invalidUTF8: RecordPolicy

        package init(
            limit: Int?, onlyWordsFile: String?, onlyWordsCount: Int?, onlyWordsCRC32: String?,
            nonFinite: RecordPolicy,
            invalidUTF8: RecordPolicy
        ) {
            self.limit = limit
            self.onlyWordsFile = onlyWordsFile
            self.onlyWordsCount = onlyWordsCount
            self.onlyWordsCRC32 = onlyWordsCRC32
            self.nonFinite = nonFinite
            self.invalidUTF8 = invalidUTF8
        }
    }

    /// What the build met in the file.
    public struct Statistics: Codable, Sendable, Equatable {
        public var recordsRead: Int
        /// Words seen again after their first occurrence (the first wins, as in gensim).
        public var duplicates: Int
        public var nonFinite: Int
        public var nonFiniteSkipped: Int
        public var invalidUTF8: Int
        public var invalidUTF8Skipped: Int
        /// Records passed over because `--only-words` did not list them.
        public var notListed: Int

        package init(
            recordsRead: Int, duplicates: Int, nonFinite: Int, nonFiniteSkipped: Int, invalidUTF8: Int,
            invalidUTF8Skipped: Int,
            notListed: Int
        ) {
            self.recordsRead = recordsRead
            self.duplicates = duplicates
            self.nonFinite = nonFinite
            self.nonFiniteSkipped = nonFiniteSkipped
            self.invalidUTF8 = invalidUTF8
            self.invalidUTF8Skipped = invalidUTF8Skipped
            self.notListed = notListed
        }
    }
}

extension CacheManifest {
    /// What determines the cache's words and vectors, as text: the source's checksum and size, the options and
    /// counts of the build, and the out-of-vocabulary words added since. No path, file name or time.
    public var contentIdentity: String {
        [
            "format=\(formatVersion)", "dimension=\(dimension)", "words=\(wordCount)", "oov=\(oovCount)",
            "source=\(source.crc32):\(source.size):\(source.format.rawValue):\(source.gzip):"
                + (source.headerCount.map(String.init) ?? "-"),
            "limit=\(options.limit.map(String.init) ?? "-")",
            "only=\(options.onlyWordsCount.map(String.init) ?? "-"):\(options.onlyWordsCRC32 ?? "-")",
            "policies=\(options.nonFinite.rawValue),\(options.invalidUTF8.rawValue)",
            "read=\(statistics.recordsRead),\(statistics.duplicates),\(statistics.nonFiniteSkipped),"
                + "\(statistics.invalidUTF8Skipped),\(statistics.notListed)",
        ].joined(separator: ";")
            + (subwords.map { ";subwords=\($0.minn),\($0.maxn),\($0.bucket)" } ?? "")
    }
}
