import Datasets
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals
import VectorCache

/// The request context of every route: Hummingbird's basics, and JSON answers with sorted keys.
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}

/// The routes of `w2vcache serve`: `/healthz`, `/metrics`, and the API under `/v1`.
///
/// Middleware, outermost first: metrics (recorded once the response body is written), the request log, and the
/// one layer that turns every error into a JSON answer with its status (``ErrorMiddleware``).
public func buildRouter(state: ServerState) -> Router<ServerRequestContext> {
    let router = Router(context: ServerRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: state.metrics))
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: FingerprintMiddleware(fingerprint: state.fingerprint))
    router.add(middleware: ErrorMiddleware())
    router.get("healthz") { _, _ in "ok" }
    router.get("metrics") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                 body: .init(byteBuffer: ByteBuffer(string: state.metrics.render())))
    }
    let v1 = router.group("v1")
    v1.get("info") { _, _ in try CacheInfo(state: state) }
    VectorsController(state: state).addRoutes(to: v1.group("vectors"))
    DatasetsController(state: state).addRoutes(to: v1.group("datasets"))
    SimilarityController(state: state).addRoutes(to: v1.group("similar"))
    return router
}

/// `GET /v1/info`: what the served cache holds.
struct CacheInfo: ResponseEncodable {
    let fingerprint: String
    let dimension: Int
    let words: Int
    let oov_words: Int
    let source: String
    let built_at: String
    let datasets: [DatasetName]

    init(state: ServerState) throws {
        let manifest = state.cache.manifest
        fingerprint = state.fingerprint
        dimension = manifest.dimension
        words = manifest.wordCount
        oov_words = manifest.oovCount
        source = manifest.source.name
        built_at = manifest.builtAt
        datasets = try DatasetStore.all(in: state.cache).map(\.name)
    }
}

/// Puts the cache's fingerprint on every answer (`X-W2VCache-Fingerprint`), so that a client reading from several
/// replicas can tell whether they serve the same data.
struct FingerprintMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("X-W2VCache-Fingerprint")! }
    let fingerprint: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[Self.header] = fingerprint
        return response
    }
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

/// Runs the server until SIGTERM or SIGINT, then shuts down gracefully: no new connections, requests in flight
/// finish, and whatever still runs after ``ServerSettings/shutdownTimeout`` (a slow client's epoch stream) is cut.
public func runServer(
    state: ServerState, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws {
    let application = buildApplication(state: state, logger: logger, onServerRunning: onServerRunning)
    var configuration = ServiceGroupConfiguration(
        services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = state.settings.shutdownTimeout
    configuration.maximumCancellationDuration = .seconds(5)
    try await ServiceGroup(configuration: configuration).run()
}
