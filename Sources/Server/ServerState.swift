import Datasets
import Synchronization
import VectorCache

/// What the handlers share: the open cache, the datasets loaded from it on first use, and the metrics.
///
/// The cache is read-only while served, so datasets are loaded once and kept.
public final class ServerState: Sendable {
    public let cache: VectorCache
    public let settings: ServerSettings
    /// Vectors for `"missing": "oov"` answers (never stored: the served cache is read-only).
    public let oov: OOVVectors
    public let metrics = ServerMetrics()
    private let loaded = Mutex<[DatasetName: any BatchSource]>([:])

    public init(cache: VectorCache, settings: ServerSettings, oov: OOVVectors) {
        self.cache = cache
        self.settings = settings
        self.oov = oov
    }

    /// The dataset `name`, loaded on first use and kept.
    func dataset(_ name: DatasetName) throws -> any BatchSource {
        if let source = loaded.withLock({ $0[name] }) { return source }
        let source = try DatasetLoader.load(name, from: cache)
        loaded.withLock { $0[name] = source }
        return source
    }
}
