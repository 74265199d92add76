import Datasets
import Dispatch
import Foundation
import HTTPTypes
import NIOCore
import NumPyFormat
import Similarity
import Support
import VectorCache

/// What the handlers share: the open cache, what is loaded from it on first use (datasets, embedding matrices, the
/// search index), the epoch plans, and the metrics.
///
/// The cache is read-only while served, so what is loaded once is kept.
public final class ServerState: Sendable {
    public let cache: VectorCache
    /// The cache's vectors, those asked for lately kept in memory: where the vector routes read.
    let vectors: HotVectors
    public let settings: ServerSettings
    /// Vectors for `"missing": "oov"` answers, subword ones on a fastText cache (never stored: the served cache is
    /// read-only).
    public let oov: OOVSource
    public let metrics = ServerMetrics()
    /// The open connections, of which a full server closes one that is quiet, or slow to send its body, for a new one.
    let connections = ConnectionRoster()
    /// The log lines about answered failures (4xx, 503) and about unforeseen errors (500), each bounded in rate.
    let failureLog: FailureLog
    let unforeseenErrorLog: FailureLog
    /// What this cache serves, in 16 hex digits: replicas of one cache agree (``DatasetStore/fingerprint(of:)``).
    public let fingerprint: String
    /// The prepared datasets' manifests, in the order of ``DatasetName``, read once: what the server serves is what
    /// its ``fingerprint`` was made of (reading and decoding a manifest took 200 µs of every dataset request).
    public let datasets: [DatasetManifest]
    /// `GET /v1/datasets`'s answer, `{"datasets": [manifest, ...]}`, made once with the manifests.
    let datasetList: ByteBuffer
    /// `GET /v1/info`'s answer, made once: the cache's manifest and datasets do not change while it is served.
    let info: ByteBuffer
    /// The token every route but `/healthz` requires, when the settings name a token file.
    let token: BearerToken?
    /// Epoch plans, so that a batch by index does not reshuffle its split.
    let plans: EpochPlanCache
    /// The bytes of answers made and not yet taken by their clients, all connections together.
    let answerMemory: AnswerMemory
    /// The bytes the datasets' examples, embedding matrices and vocabularies hold once loaded, all together.
    let datasetMemory: DatasetMemory
    /// Each dataset's examples, loaded once.
    private let loaded = Locked<[DatasetName: LoadedOnce<any BatchSource>]>([:])
    /// Each dataset's embedding matrix as `.npy`, read once (compact streams send row ids into it), in the buffer
    /// every answer sends (copying 22 MB into each answer was a fifth of its time).
    private let embeddingFiles = Locked<[DatasetName: LoadedOnce<ByteBuffer>]>([:])
    /// Each dataset's vocabularies as the JSON its route answers, made once (20 ms a request when made for each).
    private let vocabularyAnswers = Locked<[DatasetName: LoadedOnce<ByteBuffer>]>([:])
    /// Each dataset's description (manifest and label sets) as the JSON its route answers, made once (reading the
    /// label sets and encoding took 280 µs a request).
    private let descriptionAnswers = Locked<[DatasetName: LoadedOnce<ByteBuffer>]>([:])
    /// The search index, loaded by the first similarity request (the others wait for it) and kept; a load that
    /// failed is tried again by the next request.
    private let search = LoadedOnce<SimilaritySearch>()
    /// A fastText cache's n-gram rows, read into memory by the first request that gives a word its subword vector.
    private let subwordRows = LoadedOnce<SubwordMatrix>()

    /// - throws: ``CacheError`` or ``DatasetError`` when the cache's datasets cannot be read (or, `.unavailable`,
    ///   the hot vectors' memory cannot be had), ``TokenFileError`` for a token file that cannot be used.
    public init(cache: VectorCache, settings: ServerSettings, oov: OOVSource) throws {
        self.cache = cache
        vectors = try HotVectors(cache: cache, capacityBytes: settings.hotVectorBytes)
        self.settings = settings
        self.oov = oov
        token = try settings.tokenFile.map { try BearerToken(file: $0) }
        plans = EpochPlanCache(capacity: settings.planCacheBytes)
        answerMemory = AnswerMemory(limit: settings.maxAnswerBytes)
        datasetMemory = DatasetMemory(limit: settings.maxDatasetBytes)
        failureLog = FailureLog(perSecond: settings.logFailuresPerSecond, subject: "failed requests")
        unforeseenErrorLog = FailureLog(perSecond: settings.logFailuresPerSecond, subject: "unforeseen errors")
        datasets = try DatasetStore.all(in: cache)
        fingerprint = DatasetStore.fingerprint(of: cache, datasets: datasets)
        let encoder = ServerRequestContext.jsonEncoder()
        datasetList = ByteBuffer(bytes: try encoder.encode(["datasets": datasets]))
        info = ByteBuffer(
            bytes: try encoder.encode(
                CacheInfo(manifest: cache.manifest, fingerprint: fingerprint, datasets: datasets)))
        // OpenBLAS's kernels are chosen now, before requests are served: the choice sets an environment variable for
        // a moment (see `SimilaritySearch.blasKernels`), which is safe only while no other thread reads one.
        _ = SimilaritySearch.blasKernels
    }

    /// The `.npy` file of a dataset's `[V, dim]` embedding matrix, read on first use (or by ``warmUp()``) and kept.
    /// - throws: ``APIError`` 503 when it does not fit beside the datasets loaded (``DatasetMemory``); 413 when it
    ///   is larger than one answer can be (``AnswerMemory/largestAnswer``).
    func embeddings(_ manifest: DatasetManifest) async throws -> ByteBuffer {
        guard let info = manifest.arrays["embeddings"] else {
            throw APIError(.notFound, "dataset \(manifest.name) has no embedding matrix")
        }
        let header = NPY.header(type: .float32, shape: info.shape)
        guard info.byteCount <= AnswerMemory.largestAnswer - header.count else {
            let shape = info.shape.map(String.init).joined(separator: " x ")
            throw APIError(
                .contentTooLarge,
                "the embedding matrix of dataset \(manifest.name) (\(shape) float32) is "
                    + "\(megabytes(info.byteCount)) MB, more than one answer can be "
                    + "(\(megabytes(AnswerMemory.largestAnswer)) MB)")
        }
        let (cache, memory) = (cache, datasetMemory)
        return try await Self.once(manifest.name, in: embeddingFiles).value {
            try memory.load(
                header.count + info.byteCount, for: "the embedding matrix of dataset \(manifest.name)"
            ) {
                ByteBuffer(
                    bytes: try DatasetStore.load(manifest, from: cache).bytes(of: "embeddings", after: header))
            }
        }
    }

    /// The JSON of the dataset's vocabularies (`{"vocab": [...], ...}`), each list in its ids' order.
    /// - throws: ``APIError`` 503 when it does not fit beside the datasets loaded (``DatasetMemory``).
    func vocabularies(_ manifest: DatasetManifest) async throws -> ByteBuffer {
        let (cache, memory) = (cache, datasetMemory)
        return try await Self.once(manifest.name, in: vocabularyAnswers).value {
            let stored = DatasetStore.load(manifest, from: cache)
            var lists: [String: [String]] = [:]
            for list in manifest.vocabularies.keys { lists[list] = try stored.strings(list) }
            let answer = ByteBuffer(bytes: try ServerRequestContext.jsonEncoder().encode(lists))
            try memory.reserve(answer.readableBytes, for: "the vocabularies of dataset \(manifest.name)")
            return answer
        }
    }

    /// The JSON of the dataset's description: its manifest, with the small label sets (tags, transitions, …).
    /// - throws: ``APIError`` 503 when it does not fit beside the datasets loaded (``DatasetMemory``).
    func description(_ manifest: DatasetManifest) async throws -> ByteBuffer {
        let (cache, memory) = (cache, datasetMemory)
        return try await Self.once(manifest.name, in: descriptionAnswers).value {
            let stored = DatasetStore.load(manifest, from: cache)
            var labels: [String: [String]] = [:]
            for list in ["tags", "labels", "transitions"] where manifest.vocabularies[list] != nil {
                labels[list] = try stored.strings(list)
            }
            if manifest.name == .sentiment { labels["classes"] = ["neg", "pos"] }
            let answer = ByteBuffer(
                bytes: try ServerRequestContext.jsonEncoder().encode(
                    DatasetDescription(manifest: manifest, labels: labels)))
            try memory.reserve(answer.readableBytes, for: "the description of dataset \(manifest.name)")
            return answer
        }
    }

    /// A dataset's manifest with its small label sets.
    private struct DatasetDescription: Encodable {
        let manifest: DatasetManifest
        let labels: [String: [String]]
    }

    /// The cache's nearest-word search, loaded on first use (seconds for GoogleNews) and kept.
    /// - throws: ``CacheError``: `.missing` without a search index (404), `.unavailable` without the memory for
    ///   it (503), `.corrupt` when it is damaged.
    func similaritySearch() async throws -> SimilaritySearch {
        let cache = cache
        return try await search.value { try SimilaritySearch(cache: cache) }
    }

    /// The vectors for words the cache lacks, of `kind` (`nil`: the server's default), n-gram ones read from memory.
    /// - throws: ``APIError`` (400) for subword vectors from a cache without them, in a client's terms (the
    ///   library's message names the server's directory and a flag of the command line).
    func oovSource(kind: OOVKind?) async throws -> OOVSource {
        let cache = cache
        if kind == .subword, cache.manifest.subwords == nil {
            throw APIError(
                .badRequest,
                "this cache has no subword vectors (it was not built from a fastText .bin model): ask for "
                    + "\"oov\": \"random\", or leave \"oov\" out")
        }
        let source = try kind.map { try OOVSource(cache: cache, random: oov.random, kind: $0) } ?? oov
        guard source.kind == .subword else { return source }
        return source.reading(from: try await subwordRows.value { try SubwordMatrix(cache: cache) })
    }

    /// The examples of the dataset `manifest` describes, loaded on first use (or by ``warmUp()``) and kept.
    /// - throws: ``APIError`` 503 when they do not fit beside the datasets loaded (``DatasetMemory``).
    func dataset(_ manifest: DatasetManifest) async throws -> any BatchSource {
        let (cache, memory) = (cache, datasetMemory)
        return try await Self.once(manifest.name, in: loaded).value {
            try memory.load(manifest.loadedBytes, for: "the examples of dataset \(manifest.name)") {
                try DatasetLoader.load(manifest.name, from: cache)
            }
        }
    }

    /// Loads what the first requests for each prepared dataset need (its examples, embedding matrix and
    /// vocabularies), so that a trainer's first epoch does not wait for them; requests that come meanwhile wait for
    /// the same loads. The datasets are loaded in turn, in the order of ``DatasetName``, so that those loaded when
    /// they do not all fit in ``ServerSettings/maxDatasetBytes`` are always the same.
    /// - Returns: the loads that failed, which are left to the requests that need them (they answer the error).
    @discardableResult
    public func warmUp() async -> [any Error] {
        var failures: [any Error] = []
        for manifest in datasets {
            failures += await withTaskGroup(of: (any Error)?.self) { group in
                group.addTask { await Self.failure { _ = try await self.dataset(manifest) } }
                if manifest.arrays["embeddings"] != nil {
                    group.addTask { await Self.failure { _ = try await self.embeddings(manifest) } }
                }
                group.addTask { await Self.failure { _ = try await self.vocabularies(manifest) } }
                return await group.reduce(into: []) { if let error = $1 { $0.append(error) } }
            }
        }
        return failures
    }

    private static func failure(of load: () async throws -> Void) async -> (any Error)? {
        do {
            try await load()
            return nil
        } catch {
            return error
        }
    }

    /// The datasets whose examples are loaded, and those whose embedding matrix is.
    var loadedDatasets: (examples: Set<DatasetName>, embeddings: Set<DatasetName>) {
        (
            Set(loaded.withLock { $0.filter { $0.value.loaded != nil }.keys }),
            Set(embeddingFiles.withLock { $0.filter { $0.value.loaded != nil }.keys })
        )
    }

    private static func once<Value>(_ name: DatasetName, in table: Locked<[DatasetName: LoadedOnce<Value>]>)
        -> LoadedOnce<Value>
    {
        table.withLock { table in
            if let once = table[name] { return once }
            let once = LoadedOnce<Value>()
            table[name] = once
            return once
        }
    }

    /// Runs `work` on a dispatch thread of `qos`, never on the server's event loops. Similarity searches run at
    /// `.utility`, in Dispatch's threads of that class (their other workers on threads of their own), so that the
    /// default class's threads, where batches are made, are never all taken by searches.
    static func compute<T: Sendable>(
        qos: DispatchQoS.QoSClass = .default, _ work: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: qos).async { continuation.resume(with: Result { try work() }) }
        }
    }
}

/// Something loaded from the cache by the first request that needs it, off the event loops, and kept: the requests
/// that come meanwhile wait for the same load; a load that failed is tried again by the next request.
final class LoadedOnce<Value: Sendable>: Sendable {
    private enum State {
        case loading(Task<Value, any Error>)
        case loaded(Value)
    }
    private let state = Locked<State?>(nil)

    /// The value, once loaded.
    var loaded: Value? {
        state.withLock {
            guard case .loaded(let value)? = $0 else { return nil }
            return value
        }
    }

    func value(_ load: @escaping @Sendable () throws -> Value) async throws -> Value {
        let current: State = state.withLock { state in
            if let state { return state }
            let task = Task { try await ServerState.compute(load) }
            state = .loading(task)
            return .loading(task)
        }
        switch current {
        case .loaded(let value):
            return value
        case .loading(let loading):
            do {
                let value = try await loading.value
                state.withLock { if case .loading(let task)? = $0, task == loading { $0 = .loaded(value) } }
                return value
            } catch {
                state.withLock { if case .loading(let task)? = $0, task == loading { $0 = nil } }
                throw error
            }
        }
    }
}
