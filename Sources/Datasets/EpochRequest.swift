import Support

/// What a reader asks of one epoch of a split: how it is cut and ordered (batch size, seed, epoch number, shuffle)
/// and the reader's share of it (rank of world size, from which batch, which part of the share for a DataLoader
/// worker).
///
/// The server's batch routes and `w2vcache batches` take these numbers from untrusted text, and both check them
/// here, against what each can mean for the split, before any arithmetic uses them: a batch size from 1 to the
/// server's limit, a world size from 1 to the epoch's batch count, a rank below the world size, a start from 0 to
/// the share's length (its length: a resumed job at the very end reads nothing), at most ``maxParts`` parts.
public struct EpochRequest: Sendable, Equatable {
    /// Examples per batch (the last batch of an epoch may be short).
    public var batchSize = BatchSampler.defaultBatchSize
    /// With `epoch`, what the order is shuffled by.
    public var seed: UInt64 = 0
    /// The epoch number (each has its own order), from 0.
    public var epoch = 0
    /// `false` keeps the stored order.
    public var shuffle = true
    /// This reader's share: every `worldSize`-th batch of the epoch's order from the `rank`-th.
    public var rank = 0
    public var worldSize = 1
    /// The first batch of the share to read (a resumed job).
    public var start = 0
    /// Which of `parts` interleaved parts of the share to read (a DataLoader worker's).
    public var part = 0
    public var parts = 1

    public init() {}

    /// The most parts a share may be read in: DataLoader workers of one rank.
    public static let maxParts = 1024

    /// The numbers a request carries, by the names the server's query takes (`flag` is the command line's).
    public enum Parameter: String, Sendable, Equatable {
        case batchSize = "batch_size", epoch, rank, worldSize = "world_size", start, part, parts

        /// The command line's name (`--world-size`).
        public var flag: String { "--" + String(rawValue.map { $0 == "_" ? "-" : $0 }) }
    }

    /// A number outside what it can mean: which, its value, and the bound, in words.
    public struct Violation: DescribedError, Equatable {
        public let kind: Parameter
        public let value: String
        /// Why the value cannot be used and what is expected, e.g. "is more than the 12 batches of this epoch…".
        public let reason: String
        /// The number the bound comes from, when another (a rank's bound is the world size), and its value.
        public let boundBy: Bound?

        /// A number that another's bound comes from.
        public struct Bound: Sendable, Equatable {
            public let kind: Parameter
            public let value: Int
        }

        public var message: String {
            "\(kind.rawValue)=\(value) \(reason)" + (boundBy.map { " (\($0.kind.rawValue)=\($0.value))" } ?? "")
        }
        /// The same, naming the command-line flags.
        public var flagMessage: String {
            "\(kind.flag) \(value) \(reason)" + (boundBy.map { " (\($0.kind.flag) \($0.value))" } ?? "")
        }
    }

    /// The reader's share of `split` of `source`, every number checked against what it can mean.
    /// - Returns: the share, and the epoch's batch count.
    /// - throws: ``Violation`` naming the first number out of bounds and the bound; ``DatasetError`` for a split
    ///   the dataset does not have.
    public func validated(for source: any BatchSource, split: String, maxBatchSize: Int) throws -> (
        share: EpochShare, batches: Int
    ) {
        func violation(
            _ parameter: Parameter, _ value: some BinaryInteger, _ reason: String,
            boundBy: Violation.Bound? = nil
        ) -> Violation {
            Violation(kind: parameter, value: "\(value)", reason: reason, boundBy: boundBy)
        }
        guard (1...maxBatchSize).contains(batchSize) else {
            throw violation(
                .batchSize, batchSize, "is outside 1 to \(maxBatchSize), the server's limit (server.max_batch_size)")
        }
        guard epoch >= 0 else { throw violation(.epoch, epoch, "is negative; epochs count from 0") }
        guard (1...Self.maxParts).contains(parts) else {
            throw violation(.parts, parts, "is outside 1 to \(Self.maxParts) (the DataLoader workers of one rank)")
        }
        guard (0..<parts).contains(part) else {
            throw violation(.part, part, "is outside 0 to \(parts - 1)", boundBy: .init(kind: .parts, value: parts))
        }
        let batches = try source.batchCount(split: split, batchSize: batchSize)
        let largestWorld = max(1, batches)
        guard (1...largestWorld).contains(worldSize) else {
            throw violation(
                .worldSize, worldSize,
                "is outside 1 to \(largestWorld): this epoch of \(split) has "
                    + "\(Plural.count(batches, "batch", "batches")) of up to \(batchSize), and every rank needs one"
            )
        }
        guard (0..<worldSize).contains(rank) else {
            throw violation(
                .rank, rank, "is outside 0 to \(worldSize - 1)", boundBy: .init(kind: .worldSize, value: worldSize))
        }
        let perRank = batches / worldSize
        guard (0...perRank).contains(start) else {
            throw violation(
                .start, start,
                (start < 0 ? "is negative; batches count from 0 in" : "is past the end of")
                    + " this rank's share of \(Plural.count(perRank, "batch", "batches")); expected 0 to \(perRank)")
        }
        return (EpochShare(rank: rank, worldSize: worldSize, start: start, part: part, parts: parts), batches)
    }
}
