import Datasets
import NumPyFormat
import Support

/// How batches travel to trainers. The server sends them and `w2vcache batches --format` writes them, byte for byte
/// the same.
///
/// An epoch stream is a sequence of frames, each its payload's size as a little-endian UInt64 and then the payload,
/// ended by a size of 0. A payload is one batch:
/// - `npz`: a NumPy `.npz` archive (ZIP, members stored, one `.npy` per array): `np.load` reads it.
/// - `raw`: a UInt32 (little-endian) header length `H`, `H` bytes of JSON
///   `{"arrays":[{"name":"x","dtype":"<f4","shape":[256,900],"offset":64,"nbytes":921600},…]}` padded with spaces
///   so that the first array starts 64 bytes into the payload, then each array's bytes at its `offset` (from the
///   payload's start, a multiple of 64). A client reads the payload into one buffer and views each array in place
///   (`np.frombuffer(buffer, dtype, count, offset)`), with no parsing, decompression or checksum. In a compact
///   stream an array made of rows of the dataset's embedding matrix (the POS windows) travels as its row ids: its
///   entry adds `"gather":"embeddings","ids_shape":[256,3]`, its bytes are the int32 ids, and the reader takes the
///   rows from the matrix it fetched once (`GET /v1/datasets/{name}/embeddings`), which gives the same values.
public enum BatchFormat: String, Sendable, CaseIterable {
    case npz, raw
}

public enum BatchEncoding {
    /// A batch as `.npz`: one `.npy` member per array, named as the array.
    public static func npz(_ arrays: [BatchArray]) -> [UInt8] {
        NPZ.archive(arrays.map { member($0.layout) }, data: arrays.map(\.bytes))
    }

    /// The bytes of a frame holding a batch of `layouts`, its 8-byte size included.
    public static func frameSize(_ format: BatchFormat, _ layouts: [ArrayLayout]) -> Int {
        8 + payloadSize(format, layouts)
    }

    /// The frame that ends a streamed epoch: a size of 0.
    public static let endFrame = [UInt8](repeating: 0, count: 8)

    // MARK: Payloads

    /// The bytes of a payload holding a batch of `layouts`.
    public static func payloadSize(_ format: BatchFormat, _ layouts: [ArrayLayout]) -> Int {
        switch format {
        case .npz:
            return NPZ.size(layouts.map(member))
        case .raw:
            let (header, offsets) = rawHeader(layouts)
            return layouts.isEmpty ? header.count : offsets.last! + layouts.last!.byteCount
        }
    }

    /// Writes a payload into `out`, which holds exactly ``payloadSize(_:_:)`` bytes; `fill` writes the arrays' bytes
    /// into the buffers it is given, one per layout.
    static func writePayload(
        _ format: BatchFormat, _ layouts: [ArrayLayout], into out: UnsafeMutableRawBufferPointer,
        fill: ([UnsafeMutableRawBufferPointer]) throws -> Void
    ) rethrows {
        switch format {
        case .npz:
            precondition(layouts.allSatisfy { $0.gather == nil }, "an .npz archive holds values, never row ids")
            try NPZ.write(layouts.map(member), into: out, fill: fill)
        case .raw: try writeRaw(layouts, into: out, fill: fill)
        }
    }

    // MARK: raw

    /// The raw header (length prefix, JSON and padding) and each array's offset in the payload.
    static func rawHeader(_ layouts: [ArrayLayout]) -> (header: [UInt8], offsets: [Int]) {
        func json(_ offsets: [Int]) -> String {
            let arrays = zip(layouts, offsets).map { layout, offset in
                let gather =
                    layout.gather.map {
                        ",\"gather\":\"\($0.table)\",\"ids_shape\":["
                            + $0.idsShape.map(String.init).joined(separator: ",") + "]"
                    } ?? ""
                return "{\"name\":\"\(layout.name)\",\"dtype\":\"\(layout.type.numpyDescriptor)\",\"shape\":["
                    + layout.shape.map(String.init).joined(separator: ",") + "]" + gather
                    + ",\"offset\":\(offset),\"nbytes\":\(layout.byteCount)}"
            }
            return "{\"arrays\":[" + arrays.joined(separator: ",") + "]}"
        }
        // Offsets depend on the header's length, which depends on the offsets' digits: settle it in two rounds.
        var headerLength = 64
        var offsets: [Int] = []
        for _ in 0..<3 {
            offsets = []
            var next = align64(4 + headerLength)
            for layout in layouts {
                offsets.append(next)
                next = align64(next + layout.byteCount)
            }
            let length = json(offsets).utf8.count
            let settled = align64(4 + length) - 4
            if settled == headerLength { break }
            headerLength = settled
        }
        var text = Array(json(offsets).utf8)
        text += [UInt8](repeating: 0x20, count: headerLength - text.count)
        return (withUnsafeBytes(of: UInt32(headerLength).littleEndian) { Array($0) } + text, offsets)
    }

    private static func writeRaw(
        _ layouts: [ArrayLayout], into out: UnsafeMutableRawBufferPointer,
        fill: ([UnsafeMutableRawBufferPointer]) throws -> Void
    ) rethrows {
        let (header, offsets) = rawHeader(layouts)
        out.copyBytes(from: header)
        // Padding between arrays is zeros, so that equal batches are equal bytes.
        var written = header.count
        for (layout, offset) in zip(layouts, offsets) {
            (out.baseAddress! + written).initializeMemory(as: UInt8.self, repeating: 0, count: offset - written)
            written = offset + layout.byteCount
        }
        try fill(zip(layouts, offsets).map { UnsafeMutableRawBufferPointer(rebasing: out[$1..<($1 + $0.byteCount)]) })
    }

    private static func align64(_ value: Int) -> Int { (value + 63) & ~63 }

    // MARK: npz

    private static func member(_ layout: ArrayLayout) -> NPZ.Member {
        NPZ.Member(name: layout.name, type: layout.type, shape: layout.shape)
    }
}

extension BatchSource {
    /// The payload of one batch of the examples at `indices` (what `GET …/batches/{i}` answers); `compact` (raw
    /// only) sends table rows as row ids.
    public func payload(_ format: BatchFormat, split: String, indices: ArraySlice<Int>, compact: Bool = false) throws
        -> [UInt8]
    {
        let compact = compact && format == .raw
        let layouts = try layout(split: split, indices: indices, compact: compact)
        var bytes = [UInt8](repeating: 0, count: BatchEncoding.payloadSize(format, layouts))
        try bytes.withUnsafeMutableBytes { out in
            try writePayload(format, split: split, indices: indices, layouts: layouts, compact: compact, into: out)
        }
        return bytes
    }

    /// Writes the payload of a batch laid out as `layouts` (``layout(split:indices:compact:)``'s answer for the same
    /// arguments) into `out`, which holds exactly ``BatchEncoding/payloadSize(_:_:)`` bytes: where the server
    /// writes a batch, straight into its network buffer.
    public func writePayload(
        _ format: BatchFormat, split: String, indices: ArraySlice<Int>, layouts: [ArrayLayout], compact: Bool,
        into out: UnsafeMutableRawBufferPointer
    ) throws {
        precondition(out.count == BatchEncoding.payloadSize(format, layouts), "a payload buffer of the wrong size")
        try BatchEncoding.writePayload(format, layouts, into: out) { buffers in
            try fill(
                split: split, indices: indices, compact: compact,
                into: BatchDestination(layouts: layouts, buffers: buffers))
        }
    }

    /// One framed batch (its size, then its payload), as `w2vcache batches` writes it.
    public func frame(_ format: BatchFormat, split: String, indices: ArraySlice<Int>, compact: Bool = false) throws
        -> [UInt8]
    {
        let payload = try payload(format, split: split, indices: indices, compact: compact)
        return withUnsafeBytes(of: UInt64(payload.count).littleEndian) { Array($0) } + payload
    }

    /// Writes the frame of a batch laid out as `layouts` (``layout(split:indices:compact:)``'s answer for the same
    /// arguments) into `out`, which holds exactly ``BatchEncoding/frameSize(_:_:)`` bytes: where epoch streams write
    /// their frames, straight into network buffers.
    public func writeFrame(
        _ format: BatchFormat, split: String, indices: ArraySlice<Int>, layouts: [ArrayLayout], compact: Bool,
        into out: UnsafeMutableRawBufferPointer
    ) throws {
        precondition(out.count == BatchEncoding.frameSize(format, layouts), "a frame buffer of the wrong size")
        out.storeBytes(of: UInt64(out.count - 8).littleEndian, as: UInt64.self)
        try writePayload(
            format, split: split, indices: indices, layouts: layouts, compact: compact,
            into: UnsafeMutableRawBufferPointer(rebasing: out[8...]))
    }
}
