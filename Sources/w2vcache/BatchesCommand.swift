import ArgumentParser
import Datasets
import Server
import Settings
import Support
import VectorCache
import WireFormat

/// `w2vcache batches`: a human preview of a dataset's batches.
struct BatchesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batches",
        abstract: "Preview a prepared dataset's batches, or write an epoch of them as the server sends it.",
        discussion: """
            text: shapes, and --show batches with examples decoded back to words and labels. npz or raw: every \
            batch of the rank's share on stdout, framed as the server's epoch stream (per batch its payload's size \
            as a little-endian uint64, then the .npz or raw payload; a size of 0 ends it), byte for byte what \
            GET …/epoch?format=… answers. A given seed and epoch give the same batches on every machine.
            """
    )

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, npz, raw
    }

    @OptionGroup var cache: CacheOptions

    @Argument(help: "The dataset.")
    var dataset: DatasetName

    @Option(help: "The split.")
    var split: String = "train"

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Examples per batch (default \(BatchSampler.defaultBatchSize); at most server.max_batch_size of the "
                + "configuration, and a batch of at most server.max_answer_mb, as the server sends them).",
            valueName: "n"))
    var batchSize: Int?

    @Option(parsing: .unconditional, help: "Shuffle seed (default 0).")
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "Epoch, from 0 (each epoch has its own order).")
    var epoch: Int?

    @Flag(help: "Keep the stored order.")
    var noShuffle = false

    @Option(
        parsing: .unconditional,
        help: "This reader's rank in a distributed job (its share of the epoch, as the server gives it).")
    var rank: Int?

    @Option(parsing: .unconditional, help: "How many ranks share the epoch (at most its batch count).")
    var worldSize: Int?

    @Option(
        parsing: .unconditional,
        help: "Begin at this batch of the rank's share (a resumed job; at most the share's length).")
    var start: Int?

    @Option(
        help: ArgumentHelp(
            "Output: text (a preview), or npz or raw (the rank's share, framed as the server streams it; not to a "
                + "terminal)."))
    var format: OutputFormat = .text

    @Flag(help: "raw: send the POS windows as embedding row ids, as the server's compact streams do.")
    var compact = false

    /// What `--format text` shows when not told.
    static let defaultShow = 1, defaultExamplesPerBatch = 4

    @Option(parsing: .unconditional, help: "text: how many batches to show (default \(defaultShow)).")
    var show: Int?

    @Option(parsing: .unconditional, help: "text: examples of each batch decoded (default \(defaultExamplesPerBatch)).")
    var examplesPerBatch: Int?

    func validate() throws {
        if let show, show < 0 { throw ValidationError("--show must not be negative") }
        if let examplesPerBatch, examplesPerBatch < 0 {
            throw ValidationError("--examples-per-batch must not be negative")
        }
        // An option the chosen output does not read is refused, not ignored.
        if compact && format != .raw { throw ValidationError("--compact needs --format raw") }
        if format != .text, show != nil || examplesPerBatch != nil {
            throw ValidationError(
                "--\(show != nil ? "show" : "examples-per-batch") is for --format text; --format \(format.rawValue) "
                    + "writes every batch of the share whole")
        }
    }

    func run() throws {
        if format != .text {
            try Terminal.refuseBinaryOutputOnTerminal(
                "framed \(format.rawValue) batches", file: "\(dataset).\(format.rawValue)")
        }
        let configuration = try cache.loadConfiguration()
        let vectorCache = try cache.openCache()
        let source = try DatasetLoader.load(dataset, from: vectorCache)
        let count = try source.count(of: split)
        var request = EpochRequest()
        request.batchSize = batchSize ?? request.batchSize
        request.seed = seed ?? request.seed
        request.epoch = epoch ?? request.epoch
        request.shuffle = !noShuffle
        request.rank = rank ?? request.rank
        request.worldSize = worldSize ?? request.worldSize
        request.start = start ?? request.start
        // The same bounds as the server's, from the same definition: this writes what the server would stream.
        let share: EpochShare
        do {
            share = try request.validated(for: source, split: split, maxBatchSize: configuration.server.maxBatchSize)
                .share
        } catch let violation as EpochRequest.Violation {
            throw ValidationError(violation.flagMessage)
        }
        let epochPlan = try source.epoch(
            split: split, batchSize: request.batchSize, seed: request.seed, epoch: request.epoch,
            shuffle: request.shuffle)
        let plan = epochPlan.positions(share).map { epochPlan.batch($0) }
        // What the server would refuse to send is refused here too, before a batch is made.
        let wire = BatchFormat(rawValue: format.rawValue)
        for (index, indices) in (wire == nil ? Array(plan.prefix(show ?? Self.defaultShow)) : plan).enumerated() {
            let layouts = try source.layout(split: split, indices: indices, compact: compact)
            let size = BatchEncoding.frameSize(wire ?? .raw, layouts)
            if let reason = AnswerMemory.tooLarge(size, limit: configuration.server.maxAnswerBytes) {
                throw ValidationError("batch \(index) \(reason); give a smaller --batch-size")
            }
        }
        if let wire {
            for indices in plan {
                try Terminal.writeStdout(source.frame(wire, split: split, indices: indices, compact: compact))
            }
            try Terminal.writeStdout(BatchEncoding.endFrame)
            return
        }
        var lines = [
            "\(dataset)/\(split): \(Plural.count(count, "example")), \(Plural.count(plan.count, "batch", "batches")) "
                + "of up to \(request.batchSize) (seed "
                + "\(request.seed), epoch \(request.epoch))"
        ]
        for (index, indices) in plan.prefix(show ?? Self.defaultShow).enumerated() {
            let arrays = try source.batch(split: split, indices: indices)
            lines.append(
                "batch \(index): " + arrays.map { "\($0.name) \($0.type.rawValue)\($0.shape)" }.joined(separator: ", "))
            for example in indices.prefix(examplesPerBatch ?? Self.defaultExamplesPerBatch) {
                lines.append("  #\(example): " + (try source.describe(split: split, index: example)))
            }
        }
        try Terminal.lines(lines)
    }
}
