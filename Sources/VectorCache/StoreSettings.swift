import Settings
import LevelDB

extension Options {
    /// LevelDB options for a cache, from the `leveldb` section of the configuration.
    public init(_ settings: Configuration.LevelDBSettings) {
        self.init()
        writeBufferSize = settings.writeBufferMB << 20
        maxFileSize = settings.maxFileMB << 20
        blockSize = settings.blockSizeKB << 10
        blockCacheSize = settings.blockCacheMB << 20
        bloomBitsPerKey = settings.bloomBitsPerKey
        maxOpenFiles = settings.maxOpenFiles
        compression = settings.compression
    }
}
