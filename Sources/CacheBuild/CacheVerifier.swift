import LevelDB
import SearchIndex
import Support
import VectorCache
import Word2Vec

/// The outcome of a full integrity check.
public struct VerifyReport: Sendable {
    public var wordsChecked = 0
    public var oovMarkers = 0
    public var metadataKeys = 0
    /// Rows of the search index read back (0 without one).
    public var searchIndexRows = 0
    /// A fastText model's n-gram rows read (0 for a word2vec file).
    public var subwordRows = 0
    /// Human-readable problems, the first ``VerifyReport/maxProblems`` of them.
    public var problems: [String] = []
    /// All problems, including those not listed.
    public var problemCount = 0

    public static let maxProblems = 20
    public var isHealthy: Bool { problemCount == 0 }

    mutating func problem(_ text: String) {
        problemCount += 1
        if problems.count < Self.maxProblems { problems.append(text) }
    }
}

extension VectorCache {
    /// Reads every entry with LevelDB's block checksums on and checks it against the manifest: each word's value
    /// is `dimension` finite float32 (unless the build kept non-finite ones), each out-of-vocabulary marker has its
    /// vector, and the counts add up.
    /// - Parameter progress: called with the number of entries read, every 65,536 entries; what it throws stops the
    ///   verification and is thrown.
    /// - throws: ``CacheError`` only if the cache cannot be read at all; damage is reported, not thrown.
    public func verify(progress: (Int) throws -> Void = { _ in }) throws -> VerifyReport {
        var report = VerifyReport()
        let iterator: Iterator
        do {
            iterator = try database.makeIterator(fillCache: false)
        } catch let error as LevelDBError {
            throw CacheError.from(error, path: path)
        }
        let allowNonFinite = manifest.options.nonFinite == .keep
        var entries = 0
        iterator.seekToFirst()
        while iterator.isValid {
            entries += 1
            if entries & 0xFFFF == 0 { try progress(entries) }
            try iterator.withKey { key in
                if CacheKeys.isWord(key) {
                    report.wordsChecked += 1
                    try iterator.withValue { value in
                        if value.count != vectorBytes {
                            report.problem(
                                "\"\(Printable.escape(bytes: key, limit: 80))\": value is \(value.count) bytes; "
                                    + "expected \(vectorBytes) (\(manifest.dimension) float32)"
                            )
                        } else if !allowNonFinite && !Float32Bytes.allFinite(value) {
                            report.problem(
                                "\"\(Printable.escape(bytes: key, limit: 80))\": vector holds NaN or infinity")
                        }
                    }
                } else if key.starts(with: CacheKeys.subwordPrefix) {
                    report.subwordRows += 1
                    try iterator.withValue { value in
                        if value.count != vectorBytes || !(allowNonFinite || Float32Bytes.allFinite(value)) {
                            report.problem(
                                "n-gram row \(report.subwordRows - 1): \(value.count) bytes, or not finite; expected "
                                    + "\(vectorBytes) bytes of finite float32")
                        }
                    }
                } else if key.starts(with: CacheKeys.oovPrefix) {
                    report.oovMarkers += 1
                    let word = Array(key.dropFirst(CacheKeys.oovPrefix.count))
                    if (try? contains(word)) != true {
                        report.problem(
                            "out-of-vocabulary marker for \"\(Printable.escape(bytes: word, limit: 80))\" has no vector"
                        )
                    }
                } else {
                    report.metadataKeys += 1
                }
            }
            iterator.next()
        }
        do {
            try iterator.checkError()
        } catch {
            report.problem("LevelDB reports damage: \(error)")
        }
        let expected = manifest.wordCount + manifest.oovCount
        if report.wordsChecked != expected {
            report.problem(
                "the cache holds \(report.wordsChecked) words; the manifest says \(manifest.wordCount) pretrained + "
                    + "\(manifest.oovCount) out-of-vocabulary = \(expected)"
            )
        }
        if report.oovMarkers != manifest.oovCount {
            report.problem(
                "the cache holds \(report.oovMarkers) out-of-vocabulary markers; the manifest says \(manifest.oovCount)"
            )
        }
        let rows = manifest.subwords?.bucket ?? 0
        if report.subwordRows != rows {
            report.problem("the cache holds \(report.subwordRows) n-gram rows; the manifest says \(rows)")
        }
        verifySearchIndex(into: &report)
        return report
    }

    /// The search index, when the cache has one, must read back whole and name exactly the build's words.
    private func verifySearchIndex(into report: inout VerifyReport) {
        let index: SearchIndex
        do {
            guard try hasSearchIndex else { return }
            index = try loadSearchIndex()
        } catch {
            report.problem("\(error)")
            return
        }
        // Its word count is checked against the manifest's as it loads.
        report.searchIndexRows = index.rowCount
        for row in 0..<index.rowCount where (try? contains(Array(index.word(row)))) != true {
            report.problem(
                "the search index names \"\(Printable.escape(bytes: index.word(row), limit: 80))\" (row \(row)), which "
                    + "the cache lacks"
            )
        }
    }
}
