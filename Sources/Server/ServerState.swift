import Datasets
import HTTPTypes
import NumPyFormat
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
    /// What this cache serves, in 16 hex digits: replicas of one cache agree (``DatasetStore/fingerprint(of:)``).
    public let fingerprint: String
    /// Epoch plans, so that a batch by index does not reshuffle its split.
    let plans = EpochPlanCache()
    private let loaded = Mutex<[DatasetName: any BatchSource]>([:])
    /// Each dataset's embedding matrix as `.npy`, read once (compact streams send row ids into it).
    private let embeddingFiles = Mutex<[DatasetName: [UInt8]]>([:])

    /// - throws: ``CacheError`` or ``DatasetError`` when the cache's datasets cannot be read.
    public init(cache: VectorCache, settings: ServerSettings, oov: OOVVectors) throws {
        self.cache = cache
        self.settings = settings
        self.oov = oov
        fingerprint = try DatasetStore.fingerprint(of: cache)
    }

    /// The `.npy` file of a dataset's `[V, dim]` embedding matrix, read on first use and kept.
    func embeddings(_ manifest: DatasetManifest) throws -> [UInt8] {
        if let file = embeddingFiles.withLock({ $0[manifest.name] }) { return file }
        guard let info = manifest.arrays["embeddings"] else {
            throw APIError(.notFound, "dataset \(manifest.name) has no embedding matrix")
        }
        let values = try DatasetStore.load(manifest.name, from: cache).array("embeddings", as: Float.self)
        let file = values.withUnsafeBytes { NPY.file(type: .float32, shape: info.shape, data: $0) }
        embeddingFiles.withLock { $0[manifest.name] = file }
        return file
    }

    /// The dataset `name`, loaded on first use and kept.
    func dataset(_ name: DatasetName) throws -> any BatchSource {
        if let source = loaded.withLock({ $0[name] }) { return source }
        let source = try DatasetLoader.load(name, from: cache)
        loaded.withLock { $0[name] = source }
        return source
    }
}
