import Hummingbird
import Support
import Synchronization

/// Counters for `GET /metrics`, in Prometheus's text format.
public final class ServerMetrics: Sendable {
    private struct Counts {
        var requests: [RequestKind: Int] = [:]
        var latencySum = 0.0
        var latencyBuckets = [Int](repeating: 0, count: ServerMetrics.bounds.count + 1)
        var bytesSent = 0
        var batchesServed = 0
        var vectorsServed = 0
        var similarQueries = 0
        var vectorsAnsweredAhead = 0

        mutating func record(route: String, status: Int, seconds: Double, bytes: Int) {
            requests[RequestKind(route: route, status: status), default: 0] += 1
            latencySum += seconds
            latencyBuckets[ServerMetrics.bounds.firstIndex { seconds <= $0 } ?? ServerMetrics.bounds.count] += 1
            bytesSent += bytes
        }
    }

    /// What requests are counted by: a route and the status answered.
    private struct RequestKind: Hashable, Comparable {
        let route: String
        let status: Int

        static func < (left: Self, right: Self) -> Bool { (left.route, left.status) < (right.route, right.status) }
    }

    static let bounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
    private let counts = Locked(Counts())

    public init() {}

    func record(route: String, status: Int, seconds: Double, bytes: Int) {
        counts.withLock { $0.record(route: route, status: status, seconds: seconds, bytes: bytes) }
    }

    /// An answer of `vectors` vectors that a ``VectorLane`` gave: counted as the router's answer would be, and apart.
    func recordAnsweredAhead(route: String, vectors: Int, seconds: Double, bytes: Int) {
        counts.withLock { counts in
            counts.record(route: route, status: 200, seconds: seconds, bytes: bytes)
            counts.vectorsServed += vectors
            counts.vectorsAnsweredAhead += vectors
        }
    }

    func batchesServed(_ count: Int) { counts.withLock { $0.batchesServed += count } }
    func vectorsServed(_ count: Int) { counts.withLock { $0.vectorsServed += count } }
    func similarQueries(_ count: Int) { counts.withLock { $0.similarQueries += count } }

    /// The exposition text, with the gauges and counters of the server's hot vectors (``HotVectors/statistics``),
    /// of the memory its answers and loaded datasets hold, of the lines its ``FailureLog``s held back, and of its
    /// connections.
    func render(
        hotVectors: HotVectorStatistics, answerMemory: AnswerMemory, datasetMemory: DatasetMemory,
        logLinesHeldBack: Int, connections: ConnectionRoster
    ) -> String {
        let snapshot = counts.withLock { $0 }
        var lines = [
            "# HELP w2vcache_requests_total HTTP requests by route and status.",
            "# TYPE w2vcache_requests_total counter",
        ]
        for (kind, value) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            lines.append("w2vcache_requests_total{route=\"\(kind.route)\",status=\"\(kind.status)\"} \(value)")
        }
        lines += ["# HELP w2vcache_request_seconds Request latency.", "# TYPE w2vcache_request_seconds histogram"]
        var cumulative = 0
        for (index, bound) in Self.bounds.enumerated() {
            cumulative += snapshot.latencyBuckets[index]
            lines.append("w2vcache_request_seconds_bucket{le=\"\(bound)\"} \(cumulative)")
        }
        cumulative += snapshot.latencyBuckets.last!
        lines.append("w2vcache_request_seconds_bucket{le=\"+Inf\"} \(cumulative)")
        lines.append("w2vcache_request_seconds_sum \(snapshot.latencySum)")
        lines.append("w2vcache_request_seconds_count \(cumulative)")
        lines += [
            "# HELP w2vcache_response_bytes_total Bytes of response bodies sent.",
            "# TYPE w2vcache_response_bytes_total counter", "w2vcache_response_bytes_total \(snapshot.bytesSent)",
        ]
        lines += [
            "# HELP w2vcache_batches_served_total Dataset batches sent.",
            "# TYPE w2vcache_batches_served_total counter",
            "w2vcache_batches_served_total \(snapshot.batchesServed)",
        ]
        lines += [
            "# HELP w2vcache_vectors_served_total Word vectors sent.", "# TYPE w2vcache_vectors_served_total counter",
            "w2vcache_vectors_served_total \(snapshot.vectorsServed)",
            "# HELP w2vcache_vectors_answered_ahead_total Of those, answered from the connection's bytes, ahead of "
                + "the HTTP decoder.",
            "# TYPE w2vcache_vectors_answered_ahead_total counter",
            "w2vcache_vectors_answered_ahead_total \(snapshot.vectorsAnsweredAhead)",
        ]
        lines += [
            "# HELP w2vcache_similar_queries_total Nearest-word queries answered.",
            "# TYPE w2vcache_similar_queries_total counter",
            "w2vcache_similar_queries_total \(snapshot.similarQueries)",
        ]
        lines += [
            "# HELP w2vcache_hot_vectors Vectors kept in memory.", "# TYPE w2vcache_hot_vectors gauge",
            "w2vcache_hot_vectors \(hotVectors.kept)",
            "# HELP w2vcache_hot_vectors_capacity Vectors that can be kept in memory (server.hot_vectors_mb).",
            "# TYPE w2vcache_hot_vectors_capacity gauge", "w2vcache_hot_vectors_capacity \(hotVectors.capacity)",
            "# HELP w2vcache_hot_vector_hits_total Vectors asked for and found kept in memory.",
            "# TYPE w2vcache_hot_vector_hits_total counter", "w2vcache_hot_vector_hits_total \(hotVectors.hits)",
            "# HELP w2vcache_hot_vector_misses_total Words asked for and not kept in memory (read from the cache).",
            "# TYPE w2vcache_hot_vector_misses_total counter", "w2vcache_hot_vector_misses_total \(hotVectors.misses)",
        ]
        lines += [
            "# HELP w2vcache_answer_bytes Bytes of answers made and not yet taken by their clients.",
            "# TYPE w2vcache_answer_bytes gauge", "w2vcache_answer_bytes \(answerMemory.bytes)",
            "# HELP w2vcache_answer_bytes_limit What answers may hold (server.max_answer_mb).",
            "# TYPE w2vcache_answer_bytes_limit gauge", "w2vcache_answer_bytes_limit \(answerMemory.limit)",
            "# HELP w2vcache_heap_trims_total Times the heap's free pages were given back once answers held nothing.",
            "# TYPE w2vcache_heap_trims_total counter", "w2vcache_heap_trims_total \(answerMemory.trims)",
            "# HELP w2vcache_dataset_bytes Bytes held by the prepared datasets loaded (examples, embeddings, vocabularies).",
            "# TYPE w2vcache_dataset_bytes gauge", "w2vcache_dataset_bytes \(datasetMemory.bytes)",
            "# HELP w2vcache_dataset_bytes_limit What loaded datasets may hold (server.max_datasets_mb).",
            "# TYPE w2vcache_dataset_bytes_limit gauge", "w2vcache_dataset_bytes_limit \(datasetMemory.limit)",
        ]
        lines += [
            "# HELP w2vcache_log_lines_held_back_total Lines about failed requests not logged, over "
                + "server.log_failures_per_s.",
            "# TYPE w2vcache_log_lines_held_back_total counter",
            "w2vcache_log_lines_held_back_total \(logLinesHeldBack)",
        ]
        lines += [
            "# HELP w2vcache_connections Connections open (server.max_connections, and one more while room is made).",
            "# TYPE w2vcache_connections gauge", "w2vcache_connections \(connections.count)",
            "# HELP w2vcache_connections_closed_for_room_total Connections closed to let a new one in (quiet ones, and "
                + "ones whose body came slowly).",
            "# TYPE w2vcache_connections_closed_for_room_total counter",
            "w2vcache_connections_closed_for_room_total \(connections.closedForRoomTotal)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Records every request in ``ServerMetrics`` once its response body has been written, so that a streamed epoch
/// counts its whole duration and every byte sent: for a body of known length, just before its last bytes go out, so
/// that a client holding the whole answer finds it in `/metrics`. (Named so as not to shadow Hummingbird's
/// `MetricsMiddleware`.)
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        var response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        let status = response.status.code
        let body = response.body
        let metrics = self.metrics
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            let sent = Atomic<Int>(0)
            let recorded = Atomic<Bool>(false)
            @Sendable func record() {
                guard !recorded.exchange(true, ordering: .relaxed) else { return }
                let seconds = (ContinuousClock.now - start) / .seconds(1)
                metrics.record(route: route, status: status, seconds: seconds, bytes: sent.load(ordering: .relaxed))
            }
            do {
                try await body.write(
                    writer.map { buffer in
                        let total = sent.add(buffer.readableBytes, ordering: .relaxed).newValue
                        if total == body.contentLength { record() }
                        return buffer
                    })
            } catch {
                record()
                throw error
            }
            record()
        }
        return response
    }
}
