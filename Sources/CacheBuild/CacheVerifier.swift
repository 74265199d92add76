import LevelDB
import SearchIndex
import Support
import VectorCache
import Word2Vec

/// The outcome of a full integrity check.
public struct VerifyReport: Sendable {
    public var wordsChecked = 0
    public var oovMarkers = 0
    /// Of them, random vectors whose marker does not record their seed (written before markers did, by the
    /// releases up to 0.4.0): not made again.
    public var unrecordedRandomVectors = 0
    public var metadataKeys = 0
    /// Rows of the search index read back (0 without one).
    public var searchIndexRows = 0
    /// Entries read under the n-gram rows' prefix: a fastText model's rows (0 for a word2vec file).
    public var subwordRows = 0
    /// Human-readable problems, the first ``VerifyReport/maxProblems`` of them.
    public var problems: [String] = []
    /// All problems, including those not listed.
    public var problemCount = 0

    public static let maxProblems = 20

    /// An empty report, for checks of this package's other modules to add to.
    package init() {}
    public var isHealthy: Bool { problemCount == 0 }

    package mutating func problem(_ text: String) {
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
        var nextRow = 0  // the n-gram row expected next
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
                    try iterator.withValue { value in
                        checkSubwordRow(
                            key: key, value: value, allowNonFinite: allowNonFinite, next: &nextRow, into: &report)
                    }
                } else if key.starts(with: CacheKeys.oovPrefix) {
                    let word = Array(key.dropFirst(CacheKeys.oovPrefix.count))
                    let marker = try iterator.withValue { Array($0) }
                    checkOutOfVocabularyMarker(of: word, marker: marker, into: &report)
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
        if nextRow < rows { report.problem(Self.lacking(rows: nextRow..<rows, of: rows)) }
        verifySearchIndex(into: &report)
        return report
    }

    /// An n-gram row must be the next of the `0 ..< bucket` the manifest names, and `dimension` finite float32.
    private func checkSubwordRow(
        key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, allowNonFinite: Bool, next: inout Int,
        into report: inout VerifyReport
    ) {
        report.subwordRows += 1
        let rows = manifest.subwords?.bucket ?? 0
        let number = key.dropFirst(CacheKeys.subwordPrefix.count)
        guard number.count == 4 else {
            report.problem(
                "\"\(Printable.escape(bytes: key, limit: 80))\": a key under the n-gram rows' prefix that names no "
                    + "row; expected 4 bytes of row number")
            return
        }
        let row = number.reduce(0) { $0 << 8 | Int($1) }
        guard row < rows else {
            report.problem("the cache holds n-gram row \(row), beyond the \(rows) its manifest names")
            return
        }
        if row > next { report.problem(Self.lacking(rows: next..<row, of: rows)) }
        next = row + 1
        if value.count != vectorBytes {
            report.problem(
                "n-gram row \(row): value is \(value.count) bytes; expected \(vectorBytes) (\(manifest.dimension) "
                    + "float32)")
        } else if !allowNonFinite && !Float32Bytes.allFinite(value) {
            report.problem("n-gram row \(row): holds NaN or infinity")
        }
    }

    /// The problem of n-gram rows missing.
    private static func lacking(rows missing: Range<Int>, of rows: Int) -> String {
        let named =
            missing.count == 1 ? "row \(missing.lowerBound)" : "rows \(missing.lowerBound) to \(missing.upperBound - 1)"
        return "the cache lacks n-gram \(named) of the \(rows) its manifest names"
    }

    /// An out-of-vocabulary marker names a word the cache holds, and says how its vector was made (``OOVMarker``):
    /// `random SEED RANGE` for a seeded random vector, `subword` for the word's n-gram vector, each made again here
    /// and compared with the stored one; empty for a random vector whose seed was not recorded (the releases up to
    /// 0.4.0), which is counted and not made again.
    private func checkOutOfVocabularyMarker(of word: [UInt8], marker value: [UInt8], into report: inout VerifyReport) {
        report.oovMarkers += 1
        let named = "out-of-vocabulary word \"\(Printable.escape(bytes: word, limit: 80))\""
        guard let marker = OOVMarker(value) else {
            report.problem(
                "\(named): its marker holds \"\(Printable.escape(bytes: value, limit: 40))\"; expected \"random SEED "
                    + "RANGE\", \"subword\" or nothing")
            return
        }
        do {
            let stored = try withVectorBytes(for: word) { $0.map { Array($0) } }
            guard let stored else {
                report.problem("\(named): the marker is there but the word's vector is not")
                return
            }
            switch marker {
            case .unrecordedRandom:
                report.unrecordedRandomVectors += 1
                return
            case .random(let seed, let range):
                let made = OOVVectors(dimension: manifest.dimension, seed: seed, range: range).vectorBytes(for: word)
                if made != stored {
                    report.problem(
                        "\(named): its vector is not the random vector of seed \(seed) and range \(range) that its "
                            + "marker records")
                }
                return
            case .subword: break
            }
            guard let made = try subwordVector(for: word) else {
                report.problem(
                    "\(named): marked as an n-gram vector, but "
                        + (manifest.subwords == nil ? "the cache has no n-gram rows" : "the word has no n-gram"))
                return
            }
            var bytes: [UInt8] = []
            Float32Bytes.append(made, to: &bytes)
            if bytes != stored {
                report.problem("\(named): its vector is not the mean of its n-gram rows, as its marker says")
            }
        } catch {
            report.problem("\(named): cannot be checked: \(error)")
        }
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
