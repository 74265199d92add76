import ArgumentParser
import Datasets
import Foundation
import SearchIndex
import Support
import VectorCache
import Word2Vec

/// `w2vcache info`: what is in the cache.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show what is in the cache: words, dimension, source, size, build time, prepared datasets."
    )

    @OptionGroup var cache: CacheOptions

    @Flag(help: "Print the manifest as JSON.")
    var json = false

    func run() throws {
        let cache = try cache.openCache()
        let manifest = cache.manifest
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try Terminal.writeStdout(Array((try JSONText.encode(manifest, with: encoder) + "\n").utf8))
            return
        }
        let statistics = manifest.statistics
        var lines = [
            "cache:        \(cache.path) (\(Human.bytes(Double(cache.diskSize()))) on disk)",
            "words:        \(manifest.wordCount) pretrained, \(manifest.oovCount) out-of-vocabulary",
            "dimension:    \(manifest.dimension)",
            "source:       \(manifest.source.name) "
                + "(\(manifest.source.format.rawValue)\(manifest.source.gzip ? ", gzip" : ""), "
                + "\(Human.bytes(Double(manifest.source.size))), data crc32 \(manifest.source.crc32))",
            "built:        \(manifest.builtAt) in \(Human.duration(manifest.buildSeconds)) by w2vcache "
                + "\(manifest.toolVersion)",
            "read:         \(Plural.count(statistics.recordsRead, "record")); "
                + "\(Plural.count(statistics.duplicates, "duplicate")), "
                + "\(statistics.invalidUTF8) non-UTF-8 (\(statistics.invalidUTF8Skipped) skipped), "
                + "\(statistics.nonFinite) non-finite (\(statistics.nonFiniteSkipped) skipped)",
        ]
        if let limit = manifest.options.limit { lines.append("limit:        first \(Plural.count(limit, "record"))") }
        if let file = manifest.options.onlyWordsFile {
            lines.append(
                "only words:   \(manifest.options.onlyWordsCount ?? 0) listed in \(file); \(statistics.notListed) "
                    + "records passed over"
            )
        }
        // Damage (a search index or a dataset that cannot be read) is shown where it is, the rest still listed, and
        // is then the command's error.
        var damage: (any Error)?
        let index: String
        do {
            index =
                try cache.searchIndexWordCount.map {
                    "\(Plural.count($0, "word")) in the file's order (similar, analogy, evaluate)"
                }
                ?? "none (built with --no-search-index or by w2vcache 0.2); rebuild to use similar, analogy and evaluate"
        } catch {
            (index, damage) = ("damaged", error)
        }
        lines.append("search index: " + index)
        if let subwords = manifest.subwords {
            lines.append(
                "subwords:     character \(subwords.minn)-\(subwords.maxn)-grams in "
                    + "\(subwords.bucket.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))) rows: "
                    + "words the model lacks get their n-grams' vectors (--oov)")
        }
        let prepared = DatasetStore.eachPrepared(in: cache)
        let manifests = prepared.compactMap { try? $0.manifest.get() }
        let datasetDamage = prepared.lazy.compactMap { dataset -> (any Error)? in
            if case .failure(let error) = dataset.manifest { error } else { nil }
        }.first
        damage = damage ?? datasetDamage
        lines.append(
            datasetDamage == nil
                ? "fingerprint:  \(DatasetStore.fingerprint(of: cache, datasets: manifests)) (replicas of this cache "
                    + "show the same)"
                : "fingerprint:  none while a dataset is damaged (a server does not start)")
        let datasets = prepared.map { name, manifest in
            guard case .success(let manifest) = manifest else { return "\(name) (damaged)" }
            return "\(name) ("
                + manifest.splits.sorted { $0.key > $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                + ")"
        }
        lines.append("datasets:     " + (datasets.isEmpty ? "none prepared" : datasets.joined(separator: "; ")))
        let levels = cache.tableFilesPerLevel
        lines.append(
            "table files:  \(levels.reduce(0, +)) (per level: \(levels.map(String.init).joined(separator: " ")))")
        try Terminal.lines(lines)
        if let damage { throw damage }
    }
}
