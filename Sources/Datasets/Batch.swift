/// One named array of a batch, little-endian and C-ordered, ready to be written as `.npy`.
public struct BatchArray: Sendable {
    public enum ElementType: String, Sendable {
        case float32, int32, int64

        public var byteCount: Int { self == .int64 ? 8 : 4 }
    }

    public var name: String
    public var type: ElementType
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(name: String, type: ElementType, shape: [Int], bytes: [UInt8]) {
        precondition(bytes.count == shape.reduce(1, *) * type.byteCount, "\(name): bytes do not match the shape")
        self.name = name
        self.type = type
        self.shape = shape
        self.bytes = bytes
    }

    /// An array of integers stored as int64 (PyTorch's class-label type).
    public static func int64(_ name: String, _ values: [Int64], shape: [Int]) -> BatchArray {
        BatchArray(name: name, type: .int64, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }

    /// An array of int32 values (token ids).
    public static func int32(_ name: String, _ values: [Int32], shape: [Int]) -> BatchArray {
        BatchArray(name: name, type: .int32, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }
}

/// A prepared dataset that serves batches: the part the CLI preview and the server share.
public protocol BatchSource: Sendable {
    /// Which dataset this is.
    var name: DatasetName { get }
    /// Split names and their example counts.
    var splits: [String: Int] { get }
    /// The arrays of the examples at `indices` of `split`.
    func batch(split: String, indices: some Collection<Int>) throws -> [BatchArray]
    /// A readable rendering of example `index` of `split` (ids decoded back to words and labels).
    func describe(split: String, index: Int) throws -> String
    /// The example indices of every batch of one epoch, in order: each example exactly once.
    func epoch(split: String, batchSize: Int, seed: UInt64, epoch: Int, shuffle: Bool) throws -> [ArraySlice<Int>]
    /// How many batches an epoch of `split` has at `batchSize`, without planning it.
    func batchCount(split: String, batchSize: Int) throws -> Int
}

extension BatchSource {
    /// One shuffled order over the whole split (``BatchSampler``), cut into batches.
    public func epoch(split: String, batchSize: Int, seed: UInt64, epoch: Int, shuffle: Bool) throws -> [ArraySlice<Int>] {
        let sampler = BatchSampler(count: try count(of: split), batchSize: batchSize, seed: seed, epoch: epoch, shuffle: shuffle)
        return (0..<sampler.batchCount).map { sampler.batch($0) }
    }

    /// `count / batchSize` rounded up: the last batch is smaller.
    public func batchCount(split: String, batchSize: Int) throws -> Int {
        precondition(batchSize > 0)
        return (try count(of: split) + batchSize - 1) / batchSize
    }

    /// The example count of `split`, or a ``DatasetError/noSuchSplit(_:_:_:)``.
    public func count(of split: String) throws -> Int {
        guard let count = splits[split] else { throw DatasetError.noSuchSplit(name, split, Array(splits.keys)) }
        return count
    }

    /// Throws unless every index lies in `0..<count`.
    func checkIndices(_ indices: some Collection<Int>, count: Int) throws {
        if let bad = indices.first(where: { $0 < 0 || $0 >= count }) {
            throw DatasetError.noSuchExample(name, index: bad, count: count)
        }
    }
}
