/// The cache's key layout on LevelDB, known to this package only.
///
/// Word keys are the word's bytes, exactly as in the vectors file; their values are `dimension` little-endian
/// float32. Everything else lives under keys that begin with byte `0x00`, which no word has: the manifest,
/// out-of-vocabulary markers, and other modules' metadata (``CacheMetadata``), such as prepared datasets under
/// `0x00 "dataset" 0x00`.
package enum CacheKeys {
    /// The first byte of every key that is not a word.
    package static let reservedPrefix: UInt8 = 0x00
    /// The manifest (JSON ``CacheManifest``).
    package static let manifest: [UInt8] = [0x00] + Array("manifest".utf8)
    /// The prefix of out-of-vocabulary markers: `0x00 "oov" 0x00 <word>` → empty value (a seeded random vector) or
    /// `subword` (the word's n-gram vector).
    package static let oovPrefix: [UInt8] = metadataPrefix("oov")
    /// The prefix of a fastText model's n-gram rows: `0x00 "subword" 0x00 <row, UInt32 big-endian>` → `dimension`
    /// little-endian float32.
    package static let subwordPrefix: [UInt8] = metadataPrefix("subword")

    /// The key of n-gram row `row`.
    package static func subwordRow(_ row: Int) -> [UInt8] {
        subwordPrefix + withUnsafeBytes(of: UInt32(row).bigEndian) { Array($0) }
    }

    /// The prefix of a namespace of metadata: `0x00 NAMESPACE 0x00`.
    package static func metadataPrefix(_ namespace: String) -> [UInt8] {
        [0x00] + Array(namespace.utf8) + [0x00]
    }
    /// A key that sorts before every stored key: compacting it flushes the memtable and nothing else.
    package static let flushProbe: [UInt8] = [0x00, 0x01]

    /// The marker key saying `word` holds an out-of-vocabulary vector.
    package static func oovMarker(for word: [UInt8]) -> [UInt8] {
        oovPrefix + word
    }

    /// Whether `key` is a word (not metadata).
    package static func isWord(_ key: UnsafeRawBufferPointer) -> Bool {
        key.first.map { $0 != reservedPrefix } ?? true
    }
}
