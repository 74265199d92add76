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
            Trainers in other processes and on other hosts read through this server. Binds 127.0.0.1 unless --host \
            says otherwise; with --token-file (or server.token_file) every route but /healthz requires \
            `Authorization: Bearer TOKEN`. Every request is bounded (server.* limits and timeouts of the \
            configuration, see docs/http-api.md). Stops gracefully on SIGTERM or SIGINT: requests in flight get \
            server.shutdown_timeout_s (default 10) to finish, then the rest are cut and the server exits with status \
            0. Routes: /healthz, /metrics, /v1/info, /v1/vectors/{word}, POST /v1/vectors, POST /v1/similar, \
            /v1/datasets[/{name}[/vocab|/embeddings]], /v1/datasets/{name}/{split}/plan|batches/{i}|epoch.
            """
    )

    @OptionGroup var cache: CacheOptions
    @OptionGroup var oov: OOVOptions

    @Option(help: "Address to bind (default: server.host of the configuration, 127.0.0.1).")
    var host: String?

    @Option(
        parsing: .unconditional, help: "Port (default: server.port of the configuration, 8080; 0 picks a free one).")
    var port: Int?

    @Option(
        help: ArgumentHelp(
            "Require this file's bearer token on every route but /healthz (default: server.token_file of the "
                + "configuration, none).",
            valueName: "file"))
    var tokenFile: String?

    @Option(help: "What to log: debug is one line per request; failed requests are logged at warning.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be from 0 to 65535") }
    }

    func run() async throws {
        let configuration = try cache.loadConfiguration()
        var settings = configuration.server
        settings.host = host ?? settings.host
        settings.port = port ?? settings.port
        settings.tokenFile = tokenFile ?? settings.tokenFile
        let vectorCache = try cache.openCache()
        let state = try ServerState(
            cache: vectorCache, settings: settings, oov: try oov.source(for: vectorCache, configuration: configuration))
        let host = settings.host
        try await runServer(state: state, logger: .server(level: logLevel)) { port in
            // One line that scripts (and tests) can wait for.
            Terminal.message("w2vcache serving \(vectorCache.path) on http://\(urlHost(host)):\(port)")
        }
    }
}
