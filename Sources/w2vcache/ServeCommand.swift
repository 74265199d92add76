import ArgumentParser
import Logging
import Server
import Settings
import VectorCache

/// `w2vcache serve`: the cache over HTTP, for training jobs in other processes and on other hosts.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve vectors and prepared datasets over HTTP (NumPy .npy/.npz bodies, JSON metadata).",
        discussion: """
            LevelDB admits one process per cache: trainers read through this server. Binds 127.0.0.1 unless --host \
            says otherwise. Stops gracefully on SIGTERM or SIGINT. Routes: /healthz, /metrics, /v1/info, \
            /v1/vectors/{word}, POST /v1/vectors, /v1/datasets[/{name}[/vocab|/embeddings]], \
            /v1/datasets/{name}/{split}/batches/{i}, /v1/datasets/{name}/{split}/epoch (see README).
            """
    )

    @OptionGroup var cache: CacheOptions

    @Option(name: .long, help: "Address to bind (default from the configuration: 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Port (default from the configuration: 8080; 0 picks a free one).")
    var port: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug (one line per request), info, warning or error.")
    var logLevel: String = "info"

    func run() async throws {
        let configuration = try cache.loadConfiguration()
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical")
        }
        var settings = ServerSettings()
        settings.host = host ?? configuration.server.host
        settings.port = port ?? configuration.server.port
        settings.maxWordsPerRequest = configuration.server.maxWordsPerRequest
        settings.maxBatchSize = configuration.server.maxBatchSize
        settings.maxBodyBytes = configuration.server.maxBodyKB << 10
        let vectorCache = try cache.openCache()
        var logger = Logger(label: "w2vcache")
        logger.logLevel = level
        let state = ServerState(
            cache: vectorCache, settings: settings, oov: cache.oovVectors(for: vectorCache, configuration))
        let host = settings.host
        try await runServer(state: state, logger: logger) { port in
            // One line that scripts (and tests) can wait for.
            Terminal.message("w2vcache serving \(vectorCache.path) on http://\(host):\(port)")
        }
    }
}
