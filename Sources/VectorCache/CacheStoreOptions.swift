import LevelDB

extension Options {
    /// How caches are opened and built unless the configuration says otherwise (`leveldb:`), all measured on
    /// 300k-3M-word GoogleNews-shaped builds: 16 MB memtables (4-256 MB tried), 64 MB tables (LevelDB's 2 MB means
    /// ~1,550 files for 3M words), 4 KB blocks (every read verifies its whole block's checksum, and tables are
    /// mmapped, so blocks are never cached: a verified random get reads 4 KB, 4.5x faster than with 64 KB blocks,
    /// for builds ~12% slower), a 64 MB block cache, 10-bit bloom filters, no snappy (saves ~12% on float vectors,
    /// writes ~1.7x slower).
    public static let cacheDefaults: Options = {
        var options = Options()
        options.writeBufferSize = 16 << 20
        options.maxFileSize = 64 << 20
        options.blockSize = 4 << 10
        options.blockCacheSize = 64 << 20
        options.bloomBitsPerKey = 10
        options.maxOpenFiles = 1000
        options.compression = false
        return options
    }()
}
