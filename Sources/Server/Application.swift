import Datasets
import Hummingbird
import Logging
import VectorCache

/// The routes of `w2vcache serve`.
public func buildRouter(state: ServerState) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: MetricsMiddleware(metrics: state.metrics))
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.get("/healthz") { _, _ in "ok" }
    router.get("/metrics") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                 body: .init(byteBuffer: ByteBuffer(string: state.metrics.render())))
    }
    router.get("/v1/info") { _, _ in
        struct Info: Encodable {
            let dimension: Int
            let words: Int
            let oov_words: Int
            let source: String
            let built_at: String
            let datasets: [String]
        }
        let manifest = state.cache.manifest
        let datasets = try DatasetStore.all(in: state.cache).map(\.name)
        return JSONBody.response(Info(
            dimension: manifest.dimension, words: manifest.wordCount, oov_words: manifest.oovCount,
            source: manifest.source.name, built_at: manifest.builtAt, datasets: datasets))
    }
    VectorsController(state: state).addRoutes(to: router)
    DatasetsController(state: state).addRoutes(to: router)
    return router
}

/// The server application, listening on `settings.host:settings.port`.
/// - Parameter onServerRunning: called with the bound port once the server listens (port 0 picks a free one).
public func buildApplication(
    state: ServerState, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(state: state),
        configuration: .init(address: .hostname(state.settings.host, port: state.settings.port), serverName: "w2vcache"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? state.settings.port) },
        logger: logger)
}

/// Runs the server until SIGTERM or SIGINT, then shuts down gracefully (requests in flight finish).
public func runServer(
    state: ServerState, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws {
    try await buildApplication(state: state, logger: logger, onServerRunning: onServerRunning).runService()
}
