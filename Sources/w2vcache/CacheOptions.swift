import ArgumentParser
import Settings
import LevelDB
import VectorCache

/// Options every command that uses a cache shares: where the cache is, and which configuration file to read.
struct CacheOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The cache directory.", valueName: "dir"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("A configuration file (default: Config/w2vcache.yml if present).", valueName: "file"))
    var config: String?

    /// The configuration file's settings (or the built-in defaults).
    func loadConfiguration() throws -> Configuration {
        try Configuration.load(path: config)
    }

    /// The cache directory: `--db`, else the configuration's `cache.path`.
    func cachePath(_ configuration: Configuration) -> String {
        db ?? configuration.cache.path
    }

    /// Opens the cache with the configured LevelDB options.
    func openCache() throws -> VectorCache {
        let configuration = try loadConfiguration()
        return try VectorCache(path: cachePath(configuration), options: Options(configuration.leveldb))
    }
}
