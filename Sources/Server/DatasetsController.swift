import Datasets
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NumPyFormat
import Support
import WireFormat

/// The prepared datasets: metadata, vocabularies, embedding matrices and batches.
struct DatasetsController<Context: ConnectionRequestContext> {
    let state: ServerState

    func addRoutes(to group: RouterGroup<Context>) {
        let metadata = group.group().add(middleware: NoQueryMiddleware())
        metadata.get(use: list)
        metadata.get(":name", use: describe)
        metadata.get(":name/vocab", use: vocabulary)
        metadata.get(":name/embeddings", use: embeddings)
        group.get(":name/:split/plan", use: planSummary)
        group.get(":name/:split/batches/:index", use: batch)
        group.get(":name/:split/epoch", use: epoch)
        for path in [
            "", ":name", ":name/vocab", ":name/embeddings", ":name/:split/plan", ":name/:split/batches/:index",
            ":name/:split/epoch",
        ] {
            group.methodNotAllowed(RouterPath(path), allowing: [.get, .head])
        }
    }

    /// The manifest of a prepared dataset, or a 404 saying how to prepare it.
    private func manifest(_ context: Context) throws -> DatasetManifest {
        let text = try PercentDecoding.name(context.parameters.require("name"), what: "dataset name")
        guard let name = DatasetName(rawValue: text) else {
            throw APIError(
                .notFound,
                "no dataset \"\(text)\"; datasets are \(DatasetName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let manifest = state.datasets.first(where: { $0.name == name }) else {
            throw DatasetError.notPrepared(name)
        }
        return manifest
    }

    /// The prepared datasets' manifests, as `{"datasets": [...]}`.
    @Sendable func list(_ request: Request, context: Context) async throws -> BinaryResponse {
        BinaryResponse(body: state.datasetList, contentType: BinaryResponse.json)
    }

    /// The manifest, with the small label sets (tags, transitions, …) included.
    @Sendable func describe(_ request: Request, context: Context) async throws -> BinaryResponse {
        let manifest = try manifest(context)
        let state = state
        return BinaryResponse(
            body: try await state.description(manifest), contentType: BinaryResponse.json)
    }

    /// Every vocabulary and label list of the dataset, as JSON arrays by name.
    @Sendable func vocabulary(_ request: Request, context: Context) async throws -> BinaryResponse {
        let manifest = try manifest(context)
        let state = state
        return BinaryResponse(
            body: try await state.vocabularies(manifest), contentType: BinaryResponse.json)
    }

    /// The `[V, dim]` embedding matrix, as `.npy`.
    @Sendable func embeddings(_ request: Request, context: Context) async throws -> BinaryResponse {
        let manifest = try manifest(context)
        let state = state
        return BinaryResponse(body: try await state.embeddings(manifest), contentType: BinaryResponse.npy)
    }

    /// The query of the batch routes: the epoch and the reader's share of it (``EpochRequest``, which bounds every
    /// number), and how batches travel (`format`, `compact`). Values arrive as text and are checked here, each error
    /// naming its parameter.
    struct BatchQuery: KnownKeys {
        var batch_size: String?
        var seed: String?
        var epoch: String?
        var shuffle: String?
        var rank: String?
        var world_size: String?
        var start: String?
        var part: String?
        var parts: String?
        var format: String?
        var compact: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case batch_size, seed, epoch, shuffle, rank, world_size, start, part, parts, format, compact
        }

        /// The query of `request`. One that is not flat `name=value` pairs (a name given twice, brackets, a bad
        /// percent escape) is a 400 saying so: Hummingbird's decoder throws its own error for those, which no layer
        /// would answer. So is a name not listed here (``Checked``), and a name without `=`, which the decoder
        /// passes over.
        init(of request: Request, context: Context) throws {
            if let bare = QueryParameter.all(in: request.uri.query ?? "").first(where: { !$0.hasValue }) {
                let names = CodingKeys.allCases.map(\.stringValue)
                guard names.contains(bare.name) else { throw APIError.unknownParameter(bare.name, expected: names) }
                throw APIError(.badRequest, "\(bare.name) has no value; expected \(bare.name)=VALUE")
            }
            do {
                self = try request.uri.decodeQuery(as: Checked<BatchQuery>.self, context: context).value
            } catch let error as URLEncodedFormError {
                throw Self.unreadable(error.description)
            } catch let error as HTTPError where error.status == .badRequest {
                throw Self.unreadable(error.body ?? "")
            }
        }

        private static func unreadable(_ reason: String) -> APIError {
            APIError(
                .badRequest,
                "the query cannot be read (\(Printable.escape(reason, limit: 200))); expected name=value pairs, "
                    + "each name at most once")
        }

        /// The epoch asked for; a batch size not given is the default, or the server's limit if that is lower.
        func epochRequest(maxBatchSize: Int) throws -> EpochRequest {
            var request = EpochRequest()
            request.batchSize = try Self.number("batch_size", batch_size) ?? min(request.batchSize, maxBatchSize)
            request.seed = try Self.number("seed", seed) ?? request.seed
            request.epoch = try Self.number("epoch", epoch) ?? request.epoch
            request.shuffle = try Self.flag("shuffle", shuffle) ?? request.shuffle
            request.rank = try Self.number("rank", rank) ?? request.rank
            request.worldSize = try Self.number("world_size", world_size) ?? request.worldSize
            request.start = try Self.number("start", start) ?? request.start
            request.part = try Self.number("part", part) ?? request.part
            request.parts = try Self.number("parts", parts) ?? request.parts
            return request
        }

        /// The value of `name`, `nil` when not given. Its bounds are checked by ``EpochRequest``, which knows them;
        /// here only a value that is no number at all is refused, or one of more digits than `T` holds.
        private static func number<T: FixedWidthInteger>(_ name: String, _ text: String?) throws -> T? {
            guard let text else { return nil }
            guard let value = T(text) else {
                let digits = text.drop { $0 == "-" }
                throw APIError(
                    .badRequest,
                    text.isEmpty
                        ? "\(name)= has no value; expected \(name)=VALUE"
                        : !digits.isEmpty && digits.allSatisfy({ ("0"..."9").contains($0) })
                            ? "\(name)=\(text) is not a whole number from \(T.min) to \(T.max)"
                            : "\(name)=\(text) is not a whole number")
            }
            return value
        }

        /// How batches travel: `.npz` unless `format=raw`, which may be `compact` (an `.npz` cannot be).
        func encoding() throws -> (format: BatchFormat, compact: Bool) {
            let text = format ?? BatchFormat.npz.rawValue
            guard let format = BatchFormat(rawValue: text) else {
                throw APIError(.badRequest, "format=\(text); expected npz or raw")
            }
            let compact = try Self.flag("compact", compact) ?? false
            if compact && format != .raw {
                throw APIError(.badRequest, "compact=true needs format=raw (an .npz carries every array whole)")
            }
            return (format, compact)
        }

        private static func flag(_ name: String, _ text: String?) throws -> Bool? {
            switch text {
            case nil: return nil
            case "true", "1": return true
            case "false", "0": return false
            case let text?: throw APIError(.badRequest, "\(name)=\(text); expected true or false (or 1 or 0)")
            }
        }
    }

    /// What a batch route serves: the dataset, the split, the validated epoch request and share, and the format.
    private struct BatchRoute: Sendable {
        var source: any BatchSource
        var name: DatasetName
        var split: String
        var epoch: EpochRequest
        var share: EpochShare
        var batches: Int
        var format: BatchFormat
        var compact: Bool

        func planKey() -> EpochPlanCache.Key {
            .init(
                dataset: name, split: split, batchSize: epoch.batchSize, seed: epoch.seed, epoch: epoch.epoch,
                shuffle: epoch.shuffle)
        }
    }

    private func route(_ request: Request, context: Context) async throws -> BatchRoute {
        let manifest = try manifest(context)
        let state = state
        let source = try await state.dataset(manifest)
        let split = try PercentDecoding.name(context.parameters.require("split"), what: "split")
        let query = try BatchQuery(of: request, context: context)
        let epoch = try query.epochRequest(maxBatchSize: state.settings.maxBatchSize)
        let (share, batches) = try epoch.validated(for: source, split: split, maxBatchSize: state.settings.maxBatchSize)
        let (format, compact) = try query.encoding()
        return BatchRoute(
            source: source, name: manifest.name, split: split, epoch: epoch, share: share, batches: batches,
            format: format,
            compact: compact)
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
        let route = try await route(request, context: context)
        let worldSize = route.share.worldSize
        return PlanSummary(
            examples: try route.source.count(of: route.split), batches: route.batches,
            batch_size: route.epoch.batchSize,
            world_size: worldSize, rank_batches: route.batches / worldSize, left_out: route.batches % worldSize)
    }

    /// Batch `index` of the rank's share of the epoch: a `.npz` archive, or a raw payload with `format=raw`; its
    /// examples in `X-Examples`.
    @Sendable func batch(_ request: Request, context: Context) async throws -> BinaryResponse {
        let text = try PercentDecoding.name(context.parameters.require("index"), what: "batch index")
        let route = try await route(request, context: context)
        let count = route.batches / route.share.worldSize
        let share =
            count == 0
            ? "this rank's share has no batches"
            : "this rank's share has \(Plural.count(count, "batch", "batches")) (expected 0 to \(count - 1))"
        // Digits only: `Int` also reads `+0` and `-0`.
        guard !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw APIError(.badRequest, "batch index \"\(text)\" is not a whole number; \(share)")
        }
        guard let index = Int(text), index < count else {
            throw APIError(.notFound, "batch \(text) is past the end: \(share)")
        }
        let plans = state.plans
        let memory = state.answerMemory
        let channel = context.channel
        let (payload, reservation, examples) = try await ServerState.compute {
            let plan = try plans.plan(route.planKey(), source: route.source)
            let indices = plan.batch(route.share.rank + index * route.share.worldSize)
            let layouts = try route.source.layout(split: route.split, indices: indices, compact: route.compact)
            let size = BatchEncoding.payloadSize(route.format, layouts)
            let reservation = try memory.reserve(size, for: channel)
            var payload = ByteBufferAllocator().buffer(capacity: size)
            try payload.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
                try route.source.writePayload(
                    route.format, split: route.split, indices: indices, layouts: layouts, compact: route.compact,
                    into: UnsafeMutableRawBufferPointer(rebasing: out[..<size]))
                return size
            }
            return (payload, reservation, indices.count)
        }
        state.metrics.batchesServed(1)
        var response = BinaryResponse(
            body: payload, contentType: route.format == .npz ? BinaryResponse.npz : BinaryResponse.raw,
            headers: [BinaryResponse.examplesHeader: "\(examples)"])
        response.reservation = reservation
        return response
    }

    /// The rank's share of the epoch, from its `start`-th batch, in one streamed response of known length: for each
    /// batch its payload's size as a little-endian UInt64, then the payload (`.npz`, or raw with `format=raw`, with
    /// embedding rows as row ids with `compact=true`); a size of 0 ends the stream. `X-Batches` is the rank's whole
    /// share, `X-Start` the first batch sent, `X-Examples` the examples of the batches sent.
    ///
    /// Batches are encoded straight into the network buffers, a megabyte or more at a time, the next chunk on
    /// another core while the current one is sent. The stream holds two chunks at most (a chunk is one batch when a
    /// batch is over a megabyte; chunks are smaller when `server.max_answer_mb` would not hold two), whatever the
    /// epoch's length, each reserved in the server's ``AnswerMemory``: a first chunk that does not fit is a 503; a
    /// later one waits for room, for up to the write timeout. A batch larger than `server.max_answer_mb` is a 413
    /// before anything is sent.
    @Sendable func epoch(_ request: Request, context: Context) async throws -> Response {
        let route = try await route(request, context: context)
        let plans = state.plans
        // Planning and sizing an epoch take time in proportion to it: off the threads that serve every request.
        let (stream, length, largestFrame, examples) = try await ServerState.compute {
            let plan = try plans.plan(route.planKey(), source: route.source)
            let stream = EpochStream(
                source: route.source, split: route.split, plan: plan, positions: plan.positions(route.share),
                format: route.format,
                compact: route.compact)
            let (length, largest, examples) = try stream.sizes()
            return (stream, length, largest, examples)
        }
        let metrics = state.metrics
        let memory = state.answerMemory
        let wait = state.settings.writeTimeout
        let channel = context.channel
        // A batch that could never be held is refused before the stream starts; two chunks fit at once.
        try memory.refuseIfTooLarge(largestFrame)
        var chunks = stream.chunks(
            atLeast: min(1 << 20, max(1, memory.limit / 2)), atMost: min(memory.limit, AnswerMemory.largestAnswer))
        let first = try chunks.next().map { frames in
            (frames, try memory.reserve(stream.size(of: frames), for: channel))
        }
        let body = ResponseBody(contentLength: length) { [chunks] writer in
            var chunks = chunks
            var next = first.map { frames, reservation in stream.encode(frames) { reservation } }
            defer { next?.cancel() }
            while let current = next {
                let (buffer, frames, reservation) = try await current.value
                next = try chunks.next().map { frames in
                    stream.encode(frames) {
                        try await memory.reserve(stream.size(of: frames), for: channel, waitingUpTo: wait)
                    }
                }
                reservation.handOver()
                try await writer.write(buffer)
                metrics.batchesServed(frames)
            }
            try await writer.write(ByteBuffer(bytes: BatchEncoding.endFrame))
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: route.format == .npz
                    ? "application/x-w2vcache-epoch" : "application/x-w2vcache-epoch-raw",
                HTTPField.Name("X-Batches")!: "\(route.batches / route.share.worldSize)",
                HTTPField.Name("X-Start")!: "\(route.share.start)",
                BinaryResponse.examplesHeader: "\(examples)",
            ],
            body: body)
    }
}

/// The frames of a streamed epoch, computed as they are sent: their sizes first (for `Content-Length`), then the
/// frames themselves in chunks.
struct EpochStream: Sendable {
    let source: any BatchSource
    let split: String
    let plan: EpochPlan
    let positions: StrideTo<Int>
    let format: BatchFormat
    let compact: Bool

    /// The bytes of every frame and of the end frame, the largest frame's, and the examples of every batch.
    func sizes() throws -> (contentLength: Int, largestFrame: Int, examples: Int) {
        var total = BatchEncoding.endFrame.count
        var largest = 0
        var examples = 0
        for position in positions {
            let indices = plan.batch(position)
            let size = BatchEncoding.frameSize(
                format, try source.layout(split: split, indices: indices, compact: compact))
            total += size
            largest = max(largest, size)
            examples += indices.count
        }
        return (total, largest, examples)
    }

    /// Positions of consecutive frames grouped into chunks of at least `minimum` bytes (the last may be smaller) and
    /// at most `maximum` (but a chunk of one frame larger than that).
    func chunks(atLeast minimum: Int, atMost maximum: Int) -> Chunks {
        Chunks(stream: self, positions: positions.makeIterator(), minimum: minimum, maximum: maximum)
    }

    struct Chunks {
        typealias Frame = (position: Int, layouts: [ArrayLayout], size: Int)
        let stream: EpochStream
        var positions: StrideToIterator<Int>
        let minimum: Int
        let maximum: Int
        /// A frame read and left for the next chunk, which it would have made larger than `maximum`.
        var waiting: Frame?

        /// The next chunk's frames (their batches' positions and layouts), or `nil` after the last.
        mutating func next() throws -> [(position: Int, layouts: [ArrayLayout])]? {
            var frames: [(position: Int, layouts: [ArrayLayout])] = []
            var bytes = 0
            while bytes < minimum, let frame = try waiting ?? nextFrame() {
                waiting = nil
                if !frames.isEmpty && bytes + frame.size > maximum {
                    waiting = frame
                    break
                }
                frames.append((frame.position, frame.layouts))
                bytes += frame.size
            }
            return frames.isEmpty ? nil : frames
        }

        private mutating func nextFrame() throws -> Frame? {
            guard let position = positions.next() else { return nil }
            let layouts = try stream.source.layout(
                split: stream.split, indices: stream.plan.batch(position), compact: stream.compact)
            return (position, layouts, BatchEncoding.frameSize(stream.format, layouts))
        }
    }

    /// The bytes of a chunk's frames.
    func size(of frames: [(position: Int, layouts: [ArrayLayout])]) -> Int {
        frames.reduce(0) { $0 + BatchEncoding.frameSize(format, $1.layouts) }
    }

    /// Encodes a chunk's frames into one buffer, on a thread that does not serve requests, once `reserve` has
    /// reserved the memory for it: the buffer, its frame count and the reservation, to be handed over with the
    /// buffer.
    func encode(
        _ frames: [(position: Int, layouts: [ArrayLayout])],
        reserve: @escaping @Sendable () async throws -> AnswerMemory.Reservation
    ) -> Task<(ByteBuffer, Int, AnswerMemory.Reservation), any Error> {
        Task {
            let reservation = try await reserve()
            let (buffer, count) = try await ServerState.compute { try encodeNow(frames) }
            return (buffer, count, reservation)
        }
    }

    private func encodeNow(_ frames: [(position: Int, layouts: [ArrayLayout])]) throws -> (ByteBuffer, Int) {
        let total = size(of: frames)
        var buffer = ByteBufferAllocator().buffer(capacity: total)
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            var offset = 0
            for frame in frames {
                let size = BatchEncoding.frameSize(format, frame.layouts)
                let slice = UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + size)])
                try source.writeFrame(
                    format, split: split, indices: plan.batch(frame.position), layouts: frame.layouts, compact: compact,
                    into: slice)
                offset += size
            }
            return total
        }
        return (buffer, frames.count)
    }
}
