import Foundation

/// Where the server listens, and the limits and timeouts that keep a shared machine safe from any one client
/// (the configuration's `server:` section). Every limit is answered with a 4xx that names it.
public struct ServerSettings: Sendable, Equatable {
    /// Loopback unless told otherwise.
    public var host = "127.0.0.1"
    public var port = 8080
    /// Words in one `POST /v1/vectors`, and queries and words in one `POST /v1/similar` (413 above).
    public var maxWordsPerRequest = 10_000
    /// Answers one `POST /v1/similar` may ask for, its queries' `top` added up (413 above): what bounds its memory
    /// and the size of its answer.
    public var maxSimilarResults = 10_000
    /// Rows one `POST /v1/similar` may search, its queries times the words each searches (the vocabulary, or
    /// `restrict_vocab`; 413 above): what bounds its time, ~15 s on 2 cores at this default, 10,000 queries over
    /// 300,000 words.
    public var maxSimilarRows = 3_000_000_000
    /// Examples in one batch (400 above).
    public var maxBatchSize = 4096
    /// Bytes of a request body (413 above).
    public var maxBodyBytes = 1 << 20
    /// Bytes of answers made and not yet taken by their clients, all connections together (``AnswerMemory``): a
    /// batch, an epoch's next chunk or a list of vectors that does not fit is a 503 (an epoch already streaming
    /// waits for its next chunk, for up to ``writeTimeout``).
    public var maxAnswerBytes = 1 << 30
    /// Bytes the prepared datasets the server loads may hold together (``DatasetMemory``): each one's examples,
    /// embedding matrix and vocabularies, kept once loaded; one that does not fit beside those loaded is a 503.
    /// Half this machine's memory unless set.
    public var maxDatasetBytes = Int(clamping: ProcessInfo.processInfo.physicalMemory / 2)
    /// Bytes of epoch plans kept for batches asked by index (the least recently used go first).
    public var planCacheBytes = 512 << 20
    /// Bytes of vectors asked for lately kept in memory (``HotVectors``), each counted with 64 bytes for its word;
    /// `0` keeps none.
    public var hotVectorBytes = 64 << 20
    /// Threads that read and write the connections and answer single vectors and short lists of them
    /// (``VectorLane``); `0`: half the cores, at least one (the other half compute batches and similarity, and run
    /// the clients of a machine that serves itself). On 2 cores with the load generator beside the server, one loop
    /// answered one vector at 87-93k req/s with a p99 of 0.44 ms, two at 70k with 3.6 ms.
    public var eventLoops = 0
    /// Connections served at once. One more is let in and has the connection closable the longest closed for it (a
    /// quiet one, or one whose client has been slow for ``slowClientTime``, sending a body or taking its answers;
    /// ``ConnectionRoster``): silent or slow connections cannot keep trainers out. While none is closable, more wait
    /// to be accepted.
    public var maxConnections = 512
    /// How long a new connection may take to send a request's head.
    public var headerTimeout = Duration.seconds(60)
    /// How long a request body may take, whole, from its head.
    public var bodyTimeout = Duration.seconds(60)
    /// How long a connection may stay idle between requests (keep-alive).
    public var idleTimeout = Duration.seconds(75)
    /// How long a response may wait for a client that stopped reading.
    public var writeTimeout = Duration.seconds(60)
    /// How long a graceful shutdown (SIGTERM, SIGINT) waits for requests in flight; streams still running then are
    /// cut and the server exits.
    public var shutdownTimeout = Duration.seconds(10)
    /// Lines about failed requests logged a second, after a burst of ten seconds' worth (``FailureLog``); more are
    /// counted in `/metrics` and summed up in the next line written. `0` logs none.
    public var logFailuresPerSecond = 10
    /// How long a body the server will not use is read and discarded before the connection closes, as clients
    /// that send a whole body before reading the answer need (nginx's `lingering_time`): one over
    /// ``maxBodyBytes`` before its 413, the rest of one a route answered without reading (a 405, a `GET` with a
    /// body). Shorter only in tests.
    package var drainTime = Duration.seconds(30)
    /// How long a client may be slow before, on a full server, its connection may be closed to let a new one in
    /// (``ConnectionRoster``): a request body still coming this long after its head, or answers it has taken none of
    /// for this long (single vectors' from the lane, an epoch or a matrix read a byte at a time). A body of the
    /// default largest size (1 MB) comes in milliseconds on a trainer's network; a trainer that pauses its reading
    /// longer while the server is full is cut and resumes its epoch (the Python client does, at the first batch it
    /// has not had). A flood of slow clients holds each slot this long at most (at 5 s, `/healthz` waited 5.3 s
    /// behind slow bodies in CI). Tests set other values.
    package var slowClientTime = Duration.seconds(1)
    /// How long a new connection has to send its request before, on a full server, it may be closed to let another
    /// in (``ConnectionRoster``): an accepted client's request comes within a round trip, and a flood of new
    /// connections is let in at `maxConnections` per grace (2,048 a second at the defaults). Shorter only in tests.
    package var newConnectionGrace = Duration.milliseconds(250)
    /// A file holding the bearer token that every route but `/healthz` requires (`nil`: no token).
    public var tokenFile: String?
    /// Whether `GET /v1/vectors/{word}` is answered on the event loop (``VectorLane``); off only in the tests
    /// that compare its answers with the router's.
    package var answersVectorsOnEventLoop = true

    public init() {}

    /// The event loops a server with these settings runs (``eventLoops``, or half of `cores`, at least one).
    func eventLoopCount(cores: Int) -> Int { eventLoops > 0 ? eventLoops : max(1, cores / 2) }
}
