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

    /// The out-of-vocabulary vector generator for `cache`, with the configured seed and range.
    func oovVectors(for cache: VectorCache, _ configuration: Configuration) -> OOVVectors {
        OOVVectors(dimension: cache.dimension, settings: configuration.oov)
    }

    /// Says that `dataset` was prepared from the same inputs with the same options, so nothing was done.
    static func reportAlreadyPrepared(_ dataset: String) {
        Terminal.message("\(dataset) is already prepared from these inputs with these options; nothing to do")
    }

    /// Opens the cache with the configured LevelDB options.
    /// - Parameter dimension: when given, the vector dimension the caller needs; another one is an error that says
    ///   how to get the right cache.
    func openCache(expectingDimension dimension: Int? = nil) throws -> VectorCache {
        let configuration = try loadConfiguration()
        let cache = try VectorCache(path: cachePath(configuration), options: Options(configuration.leveldb))
        if let dimension, dimension != cache.dimension {
            throw ValidationError("the cache \(cache.path) holds \(cache.dimension)-dimensional vectors, not \(dimension); rebuild it from a \(dimension)-dimensional file with `w2vcache build --vectors FILE`")
        }
        return cache
    }
}
