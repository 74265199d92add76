import Foundation
import LevelDB
import VectorCache

/// What nearest-word search needs, made by the build and kept in the cache: every record of the vectors file in the
/// file's order (gensim's `index_to_key`), with its vector's norm and a compressed copy of its direction.
///
/// Row `r` is the `r`-th record the build kept from the file. A later occurrence of a word the file already had is
/// a row too, listed in ``duplicateRows``: it is not a word of the cache, so search skips it and `restrict_vocab`
/// does not count it. Out-of-vocabulary vectors added by `prepare` have no row: they are random, never answers.
///
/// - ``norms``: each vector's L2 norm as numpy's `np.linalg.norm(vectors, axis=1)` computes it on float32 (products
///   rounded to float32, pairwise summation), bit for bit, so that scores divide by the same numbers as gensim's.
/// - ``codes`` and ``scales``: the unit vector `u = v / norm` as int8 codes `round(u / scale)` with
///   `scale = max|u| / 127`, so that `|u[i] - scale * code[i]| <= scale / 2`: a screen that reads a quarter of the
///   bytes and bounds its own error.
///
/// Stored under the `search` namespace: a header, the duplicate rows, and chunks of ``chunkRows`` rows, each four
/// values (codes, norms, scales, words), every read checked against LevelDB's checksums.
public struct SearchIndex: Sendable {
    public let dimension: Int
    /// Rows, duplicates included.
    public let rowCount: Int
    /// Rows per stored chunk.
    public let chunkRows: Int
    /// All rows' words, concatenated; row `r`'s word is `wordBytes[wordStarts[r]..<wordStarts[r + 1]]`.
    public let wordBytes: [UInt8]
    public let wordStarts: [Int]
    public let norms: [Float]
    public let scales: [Float]
    /// `rowCount * dimension` codes, row after row.
    public let codes: CodeMatrix
    /// Rows that repeat a word of an earlier row, ascending.
    public let duplicateRows: [Int]

    /// The word of row `row`.
    public func word(_ row: Int) -> ArraySlice<UInt8> {
        wordBytes[wordStarts[row]..<wordStarts[row + 1]]
    }

    package static let version = 1
}

/// The index's header, stored as JSON.
package struct SearchIndexHeader: Codable, Equatable {
    package var version: Int
    package var rows: Int
    package var dimension: Int
    package var chunkRows: Int
    package var duplicates: Int

    package init(version: Int, rows: Int, dimension: Int, chunkRows: Int, duplicates: Int) {
        self.version = version
        self.rows = rows
        self.dimension = dimension
        self.chunkRows = chunkRows
        self.duplicates = duplicates
    }
}

/// The index's keys under the cache's `search` namespace: `h` the header, `d` the duplicate rows (UInt32 LE each),
/// `r` + chunk number (UInt32 big-endian, so that chunks sort in order) + part for the chunks.
package enum SearchIndexKeys {
    static let prefix = CacheKeys.metadataPrefix(MetadataNamespace.search.rawValue)
    package static let header = prefix + Array("h".utf8)
    package static let duplicates = prefix + Array("d".utf8)
    static let chunksStart = prefix + Array("r".utf8)

    /// The four values of a chunk, in key order.
    package enum Part: UInt8, CaseIterable {
        case codes = 0x63, norms = 0x6E, scales = 0x73, words = 0x77
    }

    package static func chunk(_ number: Int, _ part: Part) -> [UInt8] {
        let n = UInt32(number)
        return chunksStart + [
            UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), part.rawValue,
        ]
    }
}

extension VectorCache {
    /// Whether the build made a search index (builds by w2vcache 0.3 and later, unless `--no-search-index`).
    public var hasSearchIndex: Bool {
        get throws { try searchIndexWordCount != nil }
    }

    /// The words the search index holds (its rows less the duplicates), or `nil` without one.
    public var searchIndexWordCount: Int? {
        get throws { try searchIndexHeader().map { $0.rows - $0.duplicates } }
    }

    /// The index's header, or `nil` without one; every number in it checked against the cache and bounded by what
    /// it can mean before anything is sized by it: a damaged or forged header is ``CacheError`` `.corrupt` (or
    /// `.incompatible` for another version; `.unavailable` for more rows than this machine's memory holds), never a
    /// trap or an allocation of what it claims.
    private func searchIndexHeader() throws -> SearchIndexHeader? {
        guard let bytes = try translatingErrors({ try database.get(SearchIndexKeys.header) }) else { return nil }
        let header: SearchIndexHeader
        do {
            header = try bytes.withUnsafeBytes { try ManifestCoding.decode(SearchIndexHeader.self, from: $0) }
        } catch {
            throw damaged("its header cannot be read (\(ManifestCoding.reason(error)))")
        }
        guard header.version == SearchIndex.version else {
            throw CacheError(
                .incompatible,
                "the search index of \(path) has version \(header.version); this tool reads version "
                    + "\(SearchIndex.version): rebuild the cache"
            )
        }
        let says =
            "its header says \(header.rows) rows (\(header.duplicates) duplicates) of dimension "
            + "\(header.dimension) in chunks of \(header.chunkRows)"
        // Rows are numbered in 32 bits (the duplicate rows' format), which also bounds every product below.
        guard header.dimension == dimension, header.chunkRows > 0, header.rows <= UInt32.max,
            0 <= header.duplicates, header.duplicates <= header.rows
        else {
            throw damaged("\(says), which no build writes for a cache of dimension \(dimension)")
        }
        guard header.rows - header.duplicates == manifest.wordCount else {
            throw damaged("\(says), where the cache has \(manifest.wordCount) words")
        }
        // Codes, a word start, a norm and a scale per row, at the least.
        let memory = ProcessInfo.processInfo.physicalMemory
        guard UInt64(header.rows) * UInt64(dimension + 16) <= memory else {
            throw CacheError(
                .unavailable,
                "the search index of \(path) has \(header.rows) rows of dimension \(dimension), more than this "
                    + "machine's \(memory) bytes of memory hold")
        }
        return header
    }

    /// Reads the search index into memory (for GoogleNews, about a quarter of the vectors' size).
    /// - Parameter progress: told the rows read so far, after each chunk.
    /// - throws: ``CacheError``: `.missing` when the cache has no index (built before 0.3 or with
    ///   `--no-search-index`), `.corrupt` when it fails its checksums or does not fit together.
    public func loadSearchIndex(progress: (_ rows: Int, _ total: Int) -> Void = { _, _ in }) throws -> SearchIndex {
        guard let header = try searchIndexHeader() else {
            throw CacheError(
                .missing,
                "the cache \(path) has no search index (it was built by w2vcache 0.2 or with --no-search-index); "
                    + "rebuild it with `w2vcache build --vectors FILE --db \(path)`"
            )
        }
        let rows = header.rows
        let codeCount = rows * dimension
        // The codes first: the largest part, and the one whose memory is asked of the system in a way that can fail
        // (a host without it answers 503), before the smaller arrays.
        let codes = try CodeMatrix(count: codeCount)
        var wordBytes: [UInt8] = []
        var wordStarts: [Int] = [0]
        wordStarts.reserveCapacity(rows + 1)
        var norms: [Float] = []
        norms.reserveCapacity(rows)
        var scales: [Float] = []
        scales.reserveCapacity(rows)
        var codesFilled = 0

        try translatingErrors {
            let iterator = try database.makeIterator(fillCache: false)
            iterator.seek(to: SearchIndexKeys.chunksStart)
            var chunk = 0
            while norms.count < rows {
                let chunkRowCount = min(header.chunkRows, rows - norms.count)
                for part in SearchIndexKeys.Part.allCases {
                    let expected = SearchIndexKeys.chunk(chunk, part)
                    guard iterator.isValid, try iterator.withKey({ $0.elementsEqual(expected) }) else {
                        try iterator.checkError()
                        throw damaged("chunk \(chunk) (rows from \(norms.count)) lacks its \(part) part")
                    }
                    try iterator.withValue { value in
                        switch part {
                        case .codes:
                            guard value.count == chunkRowCount * dimension else {
                                throw damaged(
                                    "chunk \(chunk) holds \(value.count) codes, not \(chunkRowCount * dimension)")
                            }
                            codes.copy(value, to: codesFilled)
                            codesFilled += value.count
                        case .norms, .scales:
                            guard value.count == chunkRowCount * 4 else {
                                throw damaged("chunk \(chunk) holds \(value.count / 4) \(part), not \(chunkRowCount)")
                            }
                            let floats = (0..<chunkRowCount).map {
                                Float(
                                    bitPattern: UInt32(
                                        littleEndian: value.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
                            }
                            if part == .norms {
                                norms.append(contentsOf: floats)
                            } else {
                                scales.append(contentsOf: floats)
                            }
                        case .words:
                            var offset = 0
                            for _ in 0..<chunkRowCount {
                                guard offset + 4 <= value.count else {
                                    throw damaged("chunk \(chunk) holds fewer than \(chunkRowCount) words")
                                }
                                let length = Int(
                                    UInt32(littleEndian: value.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                                guard length <= value.count - offset - 4 else {
                                    throw damaged("a word of chunk \(chunk) runs past its end")
                                }
                                wordBytes.append(contentsOf: value[(offset + 4)..<(offset + 4 + length)])
                                wordStarts.append(wordBytes.count)
                                offset += 4 + length
                            }
                            guard offset == value.count else {
                                throw damaged("chunk \(chunk) holds more than \(chunkRowCount) words")
                            }
                        }
                    }
                    iterator.next()
                }
                chunk += 1
                progress(norms.count, rows)
            }
            try iterator.checkError()
        }

        let duplicateBytes = try translatingErrors { try database.get(SearchIndexKeys.duplicates) } ?? []
        guard duplicateBytes.count == header.duplicates * 4 else {
            throw damaged("it lists \(duplicateBytes.count / 4) duplicate rows, its header \(header.duplicates)")
        }
        let duplicateRows = duplicateBytes.withUnsafeBytes { raw in
            (0..<header.duplicates).map {
                Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
            }
        }
        guard zip(duplicateRows, duplicateRows.dropFirst()).allSatisfy({ $0 < $1 }),
            duplicateRows.allSatisfy({ $0 < rows })
        else {
            throw damaged("its duplicate rows are not ascending rows of the index")
        }
        return SearchIndex(
            dimension: dimension, rowCount: rows, chunkRows: header.chunkRows, wordBytes: wordBytes,
            wordStarts: wordStarts,
            norms: norms, scales: scales, codes: codes, duplicateRows: duplicateRows)
    }

    private func damaged(_ why: String) -> CacheError {
        CacheError(.corrupt, "the search index of \(path) is damaged: \(why); rebuild the cache with `w2vcache build`")
    }
}
