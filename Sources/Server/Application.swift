import Datasets
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Support
import Synchronization
import UnixSignals
import VectorCache

#if canImport(Glibc)
import Glibc
#endif

/// A request context that knows its connection, where an answer's ``AnswerMemory`` reservation is handed over.
protocol ConnectionRequestContext: RequestContext {
    var channel: any Channel { get }
}

/// The request context of every route: Hummingbird's basics, the connection, and JSON answers with sorted keys and
/// non-finite numbers as ``NonFiniteJSON`` writes them.
public struct ServerRequestContext: RequestContext, ConnectionRequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public var responseEncoder: JSONEncoder { Self.jsonEncoder() }

    /// The encoder of every JSON answer, also of those made once and kept: keys sorted, non-finite numbers as
    /// ``NonFiniteJSON`` writes them.
    static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = NonFiniteJSON.strategy
        return encoder
    }
}

/// The routes of `w2vcache serve`: `/healthz`, `/metrics`, and the API under `/v1`. `HEAD` is answered like `GET`
/// without a body; a known path asked with another method is 405 naming the methods it allows. A `/v1` route that
/// reads no query refuses one (``NoQueryMiddleware``); `/healthz` and `/metrics` take what monitors send.
///
/// Middleware, outermost first: metrics (recorded once the response body is written), the request log, the cache's
/// fingerprint on every answer, the one layer that turns every error into a JSON answer with its status
/// (``ErrorMiddleware``, which logs each failure at a bounded rate), and the bearer token, when the server has one;
/// on `/v1`, the check of each answer's type against `Accept` (``AcceptMiddleware``), but for the vector routes,
/// which choose their type among those `Accept` allows before they answer.
public func buildRouter(state: ServerState) -> Router<ServerRequestContext> {
    let router = Router(context: ServerRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestMetricsMiddleware(metrics: state.metrics))
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: FingerprintMiddleware(fingerprint: state.fingerprint))
    router.add(middleware: ErrorMiddleware(failures: state.failureLog, unforeseen: state.unforeseenErrorLog))
    if let token = state.token { router.add(middleware: BearerAuthenticationMiddleware(token: token)) }
    router.get("healthz") { _, _ in "ok" }
    router.get("metrics") { _, _ in
        let text = state.metrics.render(
            hotVectors: state.vectors.statistics, answerMemory: state.answerMemory, datasetMemory: state.datasetMemory,
            logLinesHeldBack: state.failureLog.heldBackTotal + state.unforeseenErrorLog.heldBackTotal,
            connections: state.connections)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    router.methodNotAllowed("healthz", allowing: [.get, .head])
    router.methodNotAllowed("metrics", allowing: [.get, .head])
    VectorsController(state: state).addRoutes(to: router.group("v1/vectors"))
    let v1 = router.group("v1").add(middleware: AcceptMiddleware())
    v1.group().add(middleware: NoQueryMiddleware()).get("info") { _, _ in
        BinaryResponse(body: state.info, contentType: BinaryResponse.json)
    }
    v1.methodNotAllowed("info", allowing: [.get, .head])
    DatasetsController(state: state).addRoutes(to: v1.group("datasets"))
    SimilarityController(state: state).addRoutes(to: v1.group("similar"))
    return router
}

extension RouterMethods {
    /// Answers 405, with `Allow`, to the standard methods that `path` does not serve.
    @discardableResult
    func methodNotAllowed(_ path: RouterPath, allowing allowed: [HTTPRequest.Method]) -> Self {
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        for method in [HTTPRequest.Method.get, .head, .post, .put, .delete, .patch, .options]
        where !allowed.contains(method) {
            on(path, method: method) { request, _ -> Response in
                throw APIError(
                    .methodNotAllowed, "\(request.method) is not allowed here; this path allows \(allow)",
                    headers: [.allow: allow])
            }
        }
        return self
    }
}

/// `GET /v1/info`: what the served cache holds (encoded once, ``ServerState/info``: none of it changes while served).
struct CacheInfo: Encodable {
    let fingerprint: String
    let dimension: Int
    let words: Int
    let oov_words: Int
    let source: String
    let built_at: String
    let version: String
    let datasets: [DatasetName]

    init(manifest: CacheManifest, fingerprint: String, datasets: [DatasetManifest]) {
        self.fingerprint = fingerprint
        dimension = manifest.dimension
        words = manifest.wordCount
        oov_words = manifest.oovCount
        source = manifest.source.name
        built_at = manifest.builtAt
        version = w2vcacheVersion
        self.datasets = datasets.map(\.name)
    }
}

/// Puts the cache's fingerprint on every answer (`X-W2VCache-Fingerprint`), so that a client reading from several
/// replicas can tell whether they serve the same data.
struct FingerprintMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("X-W2VCache-Fingerprint")! }
    let fingerprint: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        response.headers[Self.header] = fingerprint
        return response
    }
}

/// The `Server` header of every answer.
let serverName = "w2vcache"

/// The server application, listening on `settings.host:settings.port`, with the connection limit and the timeouts
/// of ``ServerSettings``.
/// - Parameter onServerRunning: called with the bound port once the server listens (port 0 picks a free one).
public func buildApplication(
    state: ServerState, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let settings = state.settings
    let connections = ConnectionLimit.effective(settings.maxConnections, logger: logger)
    let answers = VectorAnswers(dimension: state.cache.dimension, fingerprint: state.fingerprint)
    let eventLoops = EventLoops.group(settings.eventLoopCount(cores: System.coreCount))
    return Application(
        router: buildRouter(state: state),
        server: HTTPServerBuilder { responder in
            ServerConnection(responder: responder, state: state, answers: answers)
        },
        configuration: .init(
            address: .hostname(settings.host, port: settings.port), serverName: serverName,
            availableConnectionsDelegate: ConnectionSlots(
                limit: connections, roster: state.connections, recheckLoop: eventLoops.next())),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? settings.port) },
        eventLoopGroupProvider: .shared(eventLoops),
        logger: logger)
}

/// The event loop groups of the process's servers: one per loop count, made on first use and kept for the
/// process's life, as NIO keeps its own singleton group (a server's group outlives nothing it serves).
enum EventLoops {
    private static let groups = Locked<[Int: MultiThreadedEventLoopGroup]>([:])

    static func group(_ loops: Int) -> MultiThreadedEventLoopGroup {
        groups.withLock { groups in
            if let group = groups[loops] { return group }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
            groups[loops] = group
            return group
        }
    }
}

/// How many connections the server takes at once: what the settings ask, within what the process may open.
enum ConnectionLimit {
    /// Descriptors kept for everything but connections (the cache's table files, event loops, the listening
    /// socket): a quarter of the process's limit, from 16 to 256.
    static func reserved(_ limit: Int) -> Int { min(256, max(16, limit / 4)) }

    /// `requested`, lowered (with a warning) so that connections can never take the descriptors the cache and a
    /// `/healthz` need: the process's file limit is raised to its hard limit first.
    static func effective(_ requested: Int, logger: Logger) -> Int {
        var limits = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return requested }
        if limits.rlim_cur < limits.rlim_max {
            var raised = limits
            raised.rlim_cur = limits.rlim_max
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
        }
        let available = Int(clamping: limits.rlim_cur) - reserved(Int(clamping: limits.rlim_cur))
        guard requested > available else { return requested }
        let allowed = max(1, available)
        let files = limits.rlim_cur
        logger.warning(
            "server.max_connections is \(requested) but this process may open \(files) files; serving \(allowed)")
        return allowed
    }
}

/// Runs the server until SIGTERM or SIGINT, then shuts down gracefully: no new connections, requests in flight
/// finish, and whatever still runs after ``ServerSettings/shutdownTimeout`` (a slow client's epoch stream) is cut.
public func runServer(
    state: ServerState, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws {
    let listening = Atomic<Bool>(false)
    let application = buildApplication(state: state, logger: logger) { port in
        listening.store(true, ordering: .relaxed)
        await onServerRunning(port)
    }
    // The datasets are read while the server starts listening, not by a trainer's first requests.
    let warming = Task {
        for failure in await state.warmUp() {
            logger.warning("not loaded at start: \(Printable.escape(String(describing: failure)))")
        }
    }
    defer { warming.cancel() }
    // A flood of failed requests that stopped is told, not only when the next failure is logged.
    let failureLogs = [(state.failureLog, Logger.Level.warning), (state.unforeseenErrorLog, .error)]
    let heldBackLines = Task {
        while (try? await Task.sleep(for: .seconds(FailureLog.burstSeconds))) != nil {
            for (log, level) in failureLogs { log.logHeldBack(level: level, to: logger) }
        }
    }
    defer {
        heldBackLines.cancel()
        for (log, level) in failureLogs { log.logHeldBack(level: level, to: logger) }
    }
    var configuration = ServiceGroupConfiguration(
        services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = state.settings.shutdownTimeout
    configuration.maximumCancellationDuration = .seconds(5)
    do {
        try await ServiceGroup(configuration: configuration).run()
    } catch let error as IOError where !listening.load(ordering: .relaxed) {
        throw ListenFailure(host: state.settings.host, port: state.settings.port, errno: error.errnoCode)
    } catch
        where !listening.load(ordering: .relaxed)
        && (error is SocketAddressError.UnknownHost || error is SocketAddressError)
    {
        throw ListenFailure(host: state.settings.host, port: state.settings.port, errno: nil)
    }
}

/// The server could not listen where its settings say: `cannot listen on 127.0.0.1:8080: Address already in use;
/// …`, with what to do, where NIO says `bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)`.
public struct ListenFailure: Error, CustomStringConvertible {
    public let host: String
    public let port: Int
    /// The system's reason; `nil` when `host` is not an address or a name this machine resolves.
    public let errno: Int32?

    public var description: String {
        let address = "\(urlHost(host)):\(port)"
        guard let errno else {
            guard !host.isEmpty else {
                return "cannot listen on port \(port): the host is empty; expected an address or a host name "
                    + "(127.0.0.1, or 0.0.0.0 for every address)"
            }
            return "cannot listen on \(address): no such address or host name"
        }
        let advice =
            switch errno {
            case EADDRINUSE: "; another program listens there: stop it or choose another --port (0 picks a free one)"
            case EADDRNOTAVAIL: "; this machine has no such address (--host 0.0.0.0 listens on all of them)"
            case EACCES: "; a port below 1024 needs privileges: choose another --port"
            default: ""
            }
        return "cannot listen on \(address): \(String(cString: strerror(errno)))\(advice)"
    }
}

/// `host` as a URL writes it: an IPv6 address in brackets (`[::1]`).
public func urlHost(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
