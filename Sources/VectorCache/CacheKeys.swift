/// The cache's key layout on LevelDB.
///
/// Word keys are the word's bytes, exactly as in the vectors file; their values are `dimension` little-endian
/// float32. Everything else lives under keys that begin with byte `0x00`, which no word has.
public enum CacheKeys {
    /// The first byte of every key that is not a word.
    public static let reservedPrefix: UInt8 = 0x00
    /// The manifest (JSON ``CacheManifest``).
    public static let manifest: [UInt8] = [0x00] + Array("manifest".utf8)
    /// The prefix of out-of-vocabulary markers: `0x00 "oov" 0x00 <word>` → empty value.
    public static let oovPrefix: [UInt8] = [0x00] + Array("oov".utf8) + [0x00]
    /// The prefix of prepared datasets.
    public static let datasetPrefix: [UInt8] = [0x00] + Array("dataset".utf8) + [0x00]
    /// A key that sorts before every stored key: compacting it flushes the memtable and nothing else.
    static let flushProbe: [UInt8] = [0x00, 0x01]

    /// The marker key saying `word` holds an out-of-vocabulary vector.
    public static func oovMarker(for word: [UInt8]) -> [UInt8] {
        oovPrefix + word
    }

    /// Whether `key` is a word (not metadata).
    public static func isWord(_ key: UnsafeRawBufferPointer) -> Bool {
        key.first.map { $0 != reservedPrefix } ?? true
    }
}
