import Support

/// One array of a batch before its bytes exist: its name, element type and shape (little-endian, C order).
public struct ArrayLayout: Sendable, Equatable {
    /// An array whose rows are rows of one of the dataset's tables (the POS windows: rows of the embedding
    /// matrix) may travel compact: as the int32 ids of those rows, which the reader looks up in the table it has.
    public struct Gather: Sendable, Equatable {
        /// The table (`embeddings`: the `[V, dim]` matrix of `GET /v1/datasets/{name}/embeddings`).
        public var table: String
        /// The shape of the ids; each id stands for one table row, and the rows concatenate to the array's shape.
        public var idsShape: [Int]

        public init(table: String, idsShape: [Int]) {
            self.table = table
            self.idsShape = idsShape
        }
    }

    public var name: String
    public var type: ElementType
    public var shape: [Int]
    /// Set when the array travels as table row ids rather than as its values.
    public var gather: Gather?

    public init(name: String, type: ElementType, shape: [Int], gather: Gather? = nil) {
        self.name = name
        self.type = type
        self.shape = shape
        self.gather = gather
    }

    /// The bytes of the array's values.
    public var valueByteCount: Int { shape.reduce(1, *) * type.byteCount }
    /// The bytes that carry it: its values, or its int32 row ids.
    public var byteCount: Int { gather.map { $0.idsShape.reduce(1, *) * 4 } ?? valueByteCount }
}

/// One named array of a batch with its bytes, little-endian and C-ordered.
public struct BatchArray: Sendable {
    public var layout: ArrayLayout
    public var bytes: [UInt8]

    public var name: String { layout.name }
    public var type: ElementType { layout.type }
    public var shape: [Int] { layout.shape }

    public init(layout: ArrayLayout, bytes: [UInt8]) {
        precondition(bytes.count == layout.byteCount, "\(layout.name): bytes do not match the shape")
        self.layout = layout
        self.bytes = bytes
    }
}

/// The memory a batch's arrays are written into: one buffer per array of its layout, each exactly that array's
/// byte count. The sizes are checked when a destination is made, which only this package does (where frames and
/// arrays are written), so that ``BatchSource/fill(split:indices:compact:into:)`` may write at offsets computed
/// from the layout alone.
public struct BatchDestination {
    private let buffers: [UnsafeMutableRawBufferPointer]

    package init(layouts: [ArrayLayout], buffers: [UnsafeMutableRawBufferPointer]) {
        precondition(
            layouts.count == buffers.count && zip(layouts, buffers).allSatisfy { $0.byteCount == $1.count },
            "destination buffers that do not match the batch's layout")
        self.buffers = buffers
    }

    /// The buffer of array `index` of the layout: exactly its ``ArrayLayout/byteCount`` bytes.
    public subscript(index: Int) -> UnsafeMutableRawBufferPointer { buffers[index] }
}

/// A prepared dataset that serves batches: the part the CLI preview and the server share.
///
/// A batch is described first (``layout(split:indices:compact:)``) and then written straight into whatever memory
/// will carry it (``fill(split:indices:compact:into:)``): a network buffer, a file, or ``batch(split:indices:)``'s
/// arrays.
public protocol BatchSource: Sendable {
    /// Which dataset this is.
    var name: DatasetName { get }
    /// Split names and their example counts.
    var splits: [String: Int] { get }
    /// The arrays a batch of the examples at `indices` of `split` has, in order. Every array but a scalar has one row
    /// per example (its first dimension is `indices.count`): the server's `X-Examples` and the client's checks rest on
    /// that. With `compact`, an array made of table rows is laid out as the rows' ids (``ArrayLayout/gather``); arrays
    /// of ids already are the same either way.
    func layout(split: String, indices: ArraySlice<Int>, compact: Bool) throws -> [ArrayLayout]
    /// Writes those arrays (or, compact, those ids) into `destination`, made for that layout.
    func fill(split: String, indices: ArraySlice<Int>, compact: Bool, into destination: BatchDestination) throws
    /// A readable rendering of example `index` of `split` (ids decoded back to words and labels).
    func describe(split: String, index: Int) throws -> String
    /// The example indices of every batch of one epoch, in order: each example exactly once.
    func epoch(split: String, batchSize: Int, seed: UInt64, epoch: Int, shuffle: Bool) throws -> EpochPlan
    /// How many batches an epoch of `split` has at `batchSize`, without planning it.
    func batchCount(split: String, batchSize: Int) throws -> Int
}

extension BatchSource {
    /// The arrays a batch has, with their values.
    public func layout(split: String, indices: ArraySlice<Int>) throws -> [ArrayLayout] {
        try layout(split: split, indices: indices, compact: false)
    }

    /// The arrays of the examples at `indices` of `split`, with their bytes.
    public func batch(split: String, indices: ArraySlice<Int>) throws -> [BatchArray] {
        let layouts = try layout(split: split, indices: indices)
        let buffers = layouts.map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0.byteCount, alignment: 16) }
        defer { buffers.forEach { $0.deallocate() } }
        try fill(
            split: split, indices: indices, compact: false, into: BatchDestination(layouts: layouts, buffers: buffers))
        return zip(layouts, buffers).map { BatchArray(layout: $0, bytes: Array($1)) }
    }

    /// One shuffled order over the whole split (``BatchSampler``), cut into batches.
    public func epoch(split: String, batchSize: Int, seed: UInt64, epoch: Int, shuffle: Bool) throws -> EpochPlan {
        EpochPlan(
            order: BatchSampler.order(count: try count(of: split), seed: seed, epoch: epoch, shuffle: shuffle),
            batchSize: batchSize)
    }

    /// `count / batchSize` rounded up: the last batch is smaller.
    public func batchCount(split: String, batchSize: Int) throws -> Int {
        precondition(batchSize > 0, "a batch size below 1")
        return BatchSampler.batchCount(count: try count(of: split), batchSize: batchSize)
    }

    /// The example count of `split`, or a ``DatasetError/noSuchSplit(_:_:_:)``.
    public func count(of split: String) throws -> Int {
        guard let count = splits[split] else {
            throw DatasetError.noSuchSplit(name, split, splits.keys.sorted().joined(separator: ", "))
        }
        return count
    }

    /// Throws unless every index lies in `0..<count`.
    func checkIndices(_ indices: ArraySlice<Int>, count: Int) throws {
        if let bad = indices.first(where: { $0 < 0 || $0 >= count }) {
            throw DatasetError.noSuchExample(name, index: bad, count: count)
        }
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Stores `values` from the start, converting each (labels and lengths travel as int64).
    func store<S: Sequence>(int64 values: S) where S.Element: BinaryInteger {
        for (index, value) in values.enumerated() {
            storeBytes(of: Int64(value).littleEndian, toByteOffset: index * 8, as: Int64.self)
        }
    }

    /// Copies int32 values from the start.
    func store(int32 values: ArraySlice<Int32>, at offset: Int = 0) {
        guard !values.isEmpty else { return }
        values.withUnsafeBytes { (baseAddress! + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
}
