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
        group.get(":name/:split/plan", use: planSummary)
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
        return BinaryResponse(bytes: try state.embeddings(manifest), contentType: BinaryResponse.npy)
    }

    /// Batch parameters from the query string: the epoch (`batch_size`, `seed`, `epoch`, `shuffle`) and the reader's
    /// share of it (`rank`, `world_size`, `start`, and `part` of `parts` for a DataLoader worker).
    struct BatchQuery {
        var batchSize: Int
        var seed: UInt64
        var epoch: Int
        var shuffle: Bool
        var share: EpochShare
        var format: BatchFormat
        /// Raw only: send arrays made of embedding rows as their row ids.
        var compact: Bool

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
            let worldSize: Int = try number("world_size", 1)
            let rank: Int = try number("rank", 0)
            let start: Int = try number("start", 0)
            guard worldSize >= 1, rank >= 0, rank < worldSize else {
                throw APIError(.badRequest, "rank=\(rank) world_size=\(worldSize); expected 0 <= rank < world_size")
            }
            guard start >= 0 else { throw APIError(.badRequest, "start must not be negative") }
            let parts: Int = try number("parts", 1)
            let part: Int = try number("part", 0)
            guard parts >= 1, part >= 0, part < parts else {
                throw APIError(.badRequest, "part=\(part) parts=\(parts); expected 0 <= part < parts")
            }
            share = EpochShare(rank: rank, worldSize: worldSize, start: start, part: part, parts: parts)
            let formatText = query.get("format") ?? BatchFormat.npz.rawValue
            guard let format = BatchFormat(rawValue: formatText) else {
                throw APIError(.badRequest, "format=\(formatText); expected npz or raw")
            }
            self.format = format
            let compactText = query.get("compact") ?? "false"
            guard ["true", "false", "1", "0"].contains(compactText) else {
                throw APIError(.badRequest, "compact=\(compactText); expected true or false")
            }
            compact = format == .raw && (compactText == "true" || compactText == "1")
        }

        func key(_ dataset: DatasetName, _ split: String) -> EpochPlanCache.Key {
            .init(dataset: dataset, split: split, batchSize: batchSize, seed: seed, epoch: epoch, shuffle: shuffle)
        }
    }

    /// The dataset, split and query of a batch route, with the epoch's plan (cached).
    private func plan(_ request: Request, context: Context) throws -> (source: any BatchSource, split: String, query: BatchQuery, plan: EpochPlan) {
        let manifest = try manifest(context)
        let source = try state.dataset(manifest.name)
        let split = try context.parameters.require("split")
        let query = try BatchQuery(request, maxBatchSize: state.settings.maxBatchSize)
        _ = try source.count(of: split)
        return (source, split, query, try state.plans.plan(query.key(manifest.name, split), source: source))
    }

    /// How an epoch divides at these parameters.
    struct PlanSummary: ResponseEncodable {
        let examples: Int
        let batches: Int
        let batch_size: Int
        let world_size: Int
        /// Batches each rank reads.
        let rank_batches: Int
        /// Batches no rank reads (the last `batches mod world_size` of the epoch's order).
        let left_out: Int
    }

    /// `GET …/{split}/plan`: the epoch's size at this batch size and world size, without planning it.
    @Sendable func planSummary(_ request: Request, context: Context) async throws -> PlanSummary {
        let manifest = try manifest(context)
        let source = try state.dataset(manifest.name)
        let split = try context.parameters.require("split")
        let query = try BatchQuery(request, maxBatchSize: state.settings.maxBatchSize)
        let batches = try source.batchCount(split: split, batchSize: query.batchSize)
        let worldSize = query.share.worldSize
        return PlanSummary(
            examples: try source.count(of: split), batches: batches, batch_size: query.batchSize, world_size: worldSize,
            rank_batches: batches / worldSize, left_out: batches % worldSize)
    }

    /// Batch `index` of the rank's share of the epoch: a `.npz` archive, or a raw payload with `format=raw`.
    @Sendable func batch(_ request: Request, context: Context) async throws -> BinaryResponse {
        let text = try context.parameters.require("index")
        guard let index = Int(text), index >= 0 else {
            throw APIError(.badRequest, "batch index \"\(text)\" is not a number from 0")
        }
        let (source, split, query, plan) = try plan(request, context: context)
        let share = query.share
        let count = plan.batchesPerRank(worldSize: share.worldSize)
        guard index < count else {
            throw APIError(.notFound, "batch \(index) is outside 0..<\(count) for this batch size and share")
        }
        let frame = try source.frame(query.format, split: split, indices: plan.batches[share.rank + index * share.worldSize], compact: query.compact)
        state.metrics.batchesServed(1)
        return BinaryResponse(bytes: Array(frame.dropFirst(8)), contentType: query.format == .npz ? BinaryResponse.npz : BinaryResponse.raw)
    }

    /// The rank's share of the epoch, from its `start`-th batch, in one streamed response of known length: for each
    /// batch its payload's size as a little-endian UInt64, then the payload (`.npz`, or raw with `format=raw`, with
    /// embedding rows as row ids with `compact=true`); a size of 0 ends the stream. `X-Batches` is the rank's whole
    /// share, `X-Start` the first batch sent.
    ///
    /// Batches are encoded straight into the network buffers, a megabyte or more at a time, the next chunk on
    /// another core while the current one is sent.
    @Sendable func epoch(_ request: Request, context: Context) async throws -> Response {
        let (source, split, query, plan) = try plan(request, context: context)
        let (format, compact) = (query.format, query.compact)
        let batches = plan.positions(query.share).map { plan.batches[$0] }
        let layouts = try batches.map { try source.layout(split: split, indices: $0, compact: compact) }
        let sizes = layouts.map { BatchEncoding.frameSize(format, $0) }
        let chunks = Self.chunks(sizes, atLeast: 1 << 20)
        @Sendable func encode(_ frames: Range<Int>) -> Task<ByteBuffer, any Error> {
            Task {
                let total = sizes[frames].reduce(0, +)
                var buffer = ByteBufferAllocator().buffer(capacity: total)
                try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
                    var offset = 0
                    for frame in frames {
                        let slice = UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + sizes[frame])])
                        try BatchEncoding.writeFrame(format, layouts[frame], into: slice) {
                            try source.fill(split: split, indices: batches[frame], compact: compact, into: $0)
                        }
                        offset += sizes[frame]
                    }
                    return total
                }
                return buffer
            }
        }
        let metrics = state.metrics
        let body = ResponseBody(contentLength: sizes.reduce(8, +)) { writer in
            var next = chunks.first.map(encode)
            defer { next?.cancel() }
            for (index, frames) in chunks.enumerated() {
                let buffer = try await next!.value
                next = index + 1 < chunks.count ? encode(chunks[index + 1]) : nil
                try await writer.write(buffer)
                metrics.batchesServed(frames.count)
            }
            try await writer.write(ByteBuffer(bytes: BatchEncoding.endFrame))
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: format == .npz ? "application/x-w2vcache-epoch" : "application/x-w2vcache-epoch-raw",
                HTTPField.Name("X-Batches")!: "\(plan.batchesPerRank(worldSize: query.share.worldSize))",
                HTTPField.Name("X-Start")!: "\(query.share.start)",
            ],
            body: body)
    }

    /// Consecutive frames grouped into chunks of at least `minimum` bytes (the last may be smaller).
    static func chunks(_ sizes: [Int], atLeast minimum: Int) -> [Range<Int>] {
        var chunks: [Range<Int>] = []
        var start = 0
        var bytes = 0
        for (index, size) in sizes.enumerated() {
            bytes += size
            if bytes >= minimum {
                chunks.append(start..<(index + 1))
                start = index + 1
                bytes = 0
            }
        }
        if start < sizes.count { chunks.append(start..<sizes.count) }
        return chunks
    }
}
