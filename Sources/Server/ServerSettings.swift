/// Where the server listens and the limits that keep a shared machine safe.
public struct ServerSettings: Sendable, Equatable {
    /// Loopback unless told otherwise.
    public var host = "127.0.0.1"
    public var port = 8080
    /// Words in one `POST /v1/vectors` (413 above).
    public var maxWordsPerRequest = 10_000
    /// Examples in one batch (400 above).
    public var maxBatchSize = 4096
    /// Bytes of a request body (413 above).
    public var maxBodyBytes = 1 << 20
    /// How long a graceful shutdown (SIGTERM, SIGINT) waits for requests in flight; streams still running then are
    /// cut and the server exits.
    public var shutdownTimeout = Duration.seconds(10)

    public init() {}
}
