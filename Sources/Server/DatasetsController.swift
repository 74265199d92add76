import Datasets
import Foundation
import HTTPTypes
import Hummingbird
import NumPyFormat
import WireFormat

/// The prepared datasets: metadata, vocabularies, embedding matrices and batches.
struct DatasetsController<Context: RequestContext> {
    let state: ServerState

    func addRoutes(to group: RouterGroup<Context>) {
        group.get(use: list)
        group.get(":name", use: describe)
        group.get(":name/vocab", use: vocabulary)
        group.get(":name/embeddings", use: embeddings)
        group.get(":name/:split/batches/:index", use: batch)
        group.get(":name/:split/epoch", use: epoch)
    }

    /// The manifest of a prepared dataset, or a 404 saying how to prepare it.
    private func manifest(_ context: Context) throws -> DatasetManifest {
        let text = try context.parameters.require("name")
        guard let name = DatasetName(rawValue: text) else {
            throw APIError(.notFound, "no dataset \(text); datasets are \(DatasetName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let manifest = try DatasetStore.manifest(name, in: state.cache) else { throw DatasetError.notPrepared(name) }
        return manifest
    }

    struct DatasetList: ResponseEncodable {
        let datasets: [DatasetManifest]
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> DatasetList {
        DatasetList(datasets: try DatasetStore.all(in: state.cache))
    }

    /// A dataset's manifest with its small label sets.
    struct DatasetDescription: ResponseEncodable {
        let manifest: DatasetManifest
        let labels: [String: [String]]
    }

    /// The manifest, with the small label sets (tags, transitions, …) included.
    @Sendable func describe(_ request: Request, context: Context) async throws -> DatasetDescription {
        let manifest = try manifest(context)
        let stored = try DatasetStore.load(manifest.name, from: state.cache)
        var labels: [String: [String]] = [:]
        for list in ["tags", "labels", "transitions"] where manifest.vocabularies[list] != nil {
            labels[list] = try stored.strings(list)
        }
        if manifest.name == .sentiment { labels["classes"] = ["neg", "pos"] }
        return DatasetDescription(manifest: manifest, labels: labels)
    }

    /// Every vocabulary and label list of the dataset, as JSON arrays by name.
    @Sendable func vocabulary(_ request: Request, context: Context) async throws -> [String: [String]] {
        let manifest = try manifest(context)
        let stored = try DatasetStore.load(manifest.name, from: state.cache)
        var lists: [String: [String]] = [:]
        for list in manifest.vocabularies.keys { lists[list] = try stored.strings(list) }
        return lists
    }

    /// The `[V, dim]` embedding matrix, as `.npy`.
    @Sendable func embeddings(_ request: Request, context: Context) async throws -> BinaryResponse {
        let manifest = try manifest(context)
        guard let info = manifest.arrays["embeddings"] else {
            throw APIError(.notFound, "dataset \(manifest.name) has no embedding matrix")
        }
        let values = try DatasetStore.load(manifest.name, from: state.cache).array("embeddings", as: Float.self)
        return BinaryResponse(
            bytes: values.withUnsafeBytes { NPY.file(type: .float32, shape: info.shape, data: $0) }, contentType: BinaryResponse.npy)
    }

    /// Batch parameters from the query string.
    struct BatchQuery {
        var batchSize: Int
        var seed: UInt64
        var epoch: Int
        var shuffle: Bool

        init(_ request: Request, maxBatchSize: Int) throws {
            let query = request.uri.queryParameters
            func number<T: LosslessStringConvertible>(_ name: String, _ fallback: T) throws -> T {
                guard let text = query.get(name) else { return fallback }
                guard let value = T(text) else { throw APIError(.badRequest, "\(name)=\(text) is not a valid number") }
                return value
            }
            batchSize = try number("batch_size", min(BatchSampler.defaultBatchSize, maxBatchSize))
            seed = try number("seed", 0)
            epoch = try number("epoch", 0)
            let shuffleText = query.get("shuffle") ?? "true"
            guard ["true", "false", "1", "0"].contains(shuffleText) else {
                throw APIError(.badRequest, "shuffle=\(shuffleText); expected true or false")
            }
            shuffle = shuffleText == "true" || shuffleText == "1"
            guard batchSize >= 1 else { throw APIError(.badRequest, "batch_size must be at least 1") }
            guard batchSize <= maxBatchSize else {
                throw APIError(.badRequest, "batch_size=\(batchSize) is above the server's limit of \(maxBatchSize)")
            }
            guard epoch >= 0 else { throw APIError(.badRequest, "epoch must not be negative") }
        }
    }

    /// The plan of one epoch of a split.
    private func plan(_ request: Request, context: Context) throws -> (any BatchSource, String, [ArraySlice<Int>]) {
        let manifest = try manifest(context)
        let source = try state.dataset(manifest.name)
        let split = try context.parameters.require("split")
        let query = try BatchQuery(request, maxBatchSize: state.settings.maxBatchSize)
        let plan = try source.epoch(split: split, batchSize: query.batchSize, seed: query.seed, epoch: query.epoch, shuffle: query.shuffle)
        return (source, split, plan)
    }

    /// Batch `index` of the epoch, as `.npz`.
    @Sendable func batch(_ request: Request, context: Context) async throws -> BinaryResponse {
        let text = try context.parameters.require("index")
        guard let index = Int(text), index >= 0 else {
            throw APIError(.badRequest, "batch index \"\(text)\" is not a number from 0")
        }
        let (source, split, plan) = try plan(request, context: context)
        guard index < plan.count else {
            throw APIError(.notFound, "batch \(index) is outside 0..<\(plan.count) for this batch size")
        }
        let archive = try BatchEncoding.npz(source.batch(split: split, indices: plan[index]))
        state.metrics.batchesServed(1)
        return BinaryResponse(bytes: archive, contentType: BinaryResponse.npz)
    }

    /// Every batch of the epoch in one streamed response. Framing: for each batch, its `.npz` size as a
    /// little-endian UInt64, then the `.npz` bytes; a size of 0 ends the stream.
    @Sendable func epoch(_ request: Request, context: Context) async throws -> Response {
        let (source, split, plan) = try plan(request, context: context)
        let metrics = state.metrics
        let body = ResponseBody { writer in
            for indices in plan {
                try await writer.write(ByteBuffer(bytes: BatchEncoding.npzFrame(source.batch(split: split, indices: indices))))
                metrics.batchesServed(1)
            }
            try await writer.write(ByteBuffer(bytes: BatchEncoding.endFrame))
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/x-w2vcache-epoch", HTTPField.Name("X-Batches")!: "\(plan.count)"],
            body: body)
    }
}
