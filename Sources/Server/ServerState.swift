import Datasets
import HTTPTypes
import NumPyFormat
import Similarity
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
    /// The search index, loaded by the first similarity request (the others wait for it) and kept.
    private let search = Mutex<Task<SimilaritySearch, any Error>?>(nil)

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

    /// The cache's nearest-word search, loaded on first use (seconds for GoogleNews) and kept.
    /// - throws: ``APIError`` 404 when the cache has no search index, ``CacheError`` when it is damaged.
    func similaritySearch() async throws -> SimilaritySearch {
        let task = search.withLock { task in
            if let task { return task }
            let cache = cache
            let loading = Task {
                try await SimilarityController<ServerRequestContext>.compute { try SimilaritySearch(cache: cache) }
            }
            task = loading
            return loading
        }
        do {
            return try await task.value
        } catch let error as CacheError where error.kind == .missing {
            throw APIError(.notFound, error.message)
        }
    }

    /// The dataset `name`, loaded on first use and kept.
    func dataset(_ name: DatasetName) throws -> any BatchSource {
        if let source = loaded.withLock({ $0[name] }) { return source }
        let source = try DatasetLoader.load(name, from: cache)
        loaded.withLock { $0[name] = source }
        return source
    }
}
