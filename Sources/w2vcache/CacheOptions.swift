import ArgumentParser
import CacheBuild
import Settings
import VectorCache

/// Options every command that uses a cache shares: where the cache is, and which configuration file to read.
struct CacheOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The cache directory (default: cache.path of the configuration, \(VectorCache.defaultPath)).",
            valueName: "dir"))
    var db: String?

    @Option(
        help: ArgumentHelp(
            "A configuration file (default: \(Configuration.defaultPath) if present).", valueName: "file"))
    var config: String?

    func validate() throws {
        if db?.isEmpty == true { throw ValidationError("--db is empty; expected a cache directory") }
    }

    /// The configuration file's settings (or the built-in defaults).
    func loadConfiguration() throws -> Configuration {
        try Configuration.load(path: config)
    }

    /// The cache directory: `--db`, else the configuration's `cache.path`.
    func cachePath(_ configuration: Configuration) -> String {
        db ?? configuration.cachePath
    }

    /// Opens the cache to read it, with the configured storage settings.
    func openCache() throws -> VectorCache {
        let configuration = try loadConfiguration()
        return try VectorCache(path: cachePath(configuration), storage: configuration.storage)
    }

    /// Opens the cache to change it (a prepare): one writer per cache, the others fail naming it or wait.
    /// - Parameter dimension: when given, the vector dimension the caller needs; another one is an error that says
    ///   how to get the right cache.
    func openWriter(
        purpose: String, wait: Bool, expectingDimension dimension: Int? = nil,
        isCancelled: @escaping @Sendable () -> Bool
    ) throws -> CacheWriter {
        let configuration = try loadConfiguration()
        let writer = try CacheWriter(
            path: cachePath(configuration), storage: configuration.storage, purpose: purpose, wait: wait,
            onWait: { Terminal.message("w2vcache: \($0)") }, isCancelled: isCancelled)
        let cache = writer.cache
        if let dimension, dimension != cache.dimension {
            throw ValidationError(
                "the cache \(cache.path) holds \(cache.dimension)-dimensional vectors, not \(dimension); rebuild it "
                    + "from a \(dimension)-dimensional file with `w2vcache build --vectors FILE`"
            )
        }
        return writer
    }
}

/// `--wait`, for the commands that write a cache.
struct WriterOptions: ParsableArguments {
    @Flag(help: "If another build or prepare is writing the cache, wait for it instead of failing at once.")
    var wait = false
}
