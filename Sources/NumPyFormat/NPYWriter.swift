import Support

/// Writes arrays in NumPy's `.npy` format (version 1.0), which `np.load` reads.
public enum NPY {
    /// The header of a C-ordered array of `shape`, padded so that the data starts on a 64-byte boundary.
    /// Written as bytes (every batch of an `.npz` answer has one per array; made as strings, each member's several
    /// times, they were 9% of a batch request's samples under `perf`).
    public static func header(type: ElementType, shape: [Int]) -> [UInt8] {
        // Magic (6 bytes), version 1.0, and the dictionary's length, set below.
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0, 0]
        bytes.reserveCapacity(128)
        bytes += "{'descr': '".utf8
        bytes += type.numpyDescriptor.utf8
        bytes += "', 'fortran_order': False, 'shape': (".utf8
        for (index, extent) in shape.enumerated() {
            if index > 0 { bytes += ", ".utf8 }
            bytes += String(extent).utf8
        }
        bytes += (shape.count == 1 ? ",), }" : "), }").utf8
        // Spaces and a newline to the next multiple of 64 bytes, where the data starts.
        bytes += repeatElement(UInt8(ascii: " "), count: (64 - (bytes.count + 1) % 64) % 64)
        bytes.append(UInt8(ascii: "\n"))
        let length = bytes.count - 10
        bytes[8] = UInt8(length & 0xFF)
        bytes[9] = UInt8(length >> 8)
        return bytes
    }

    /// A whole `.npy` file: header, then `data` (already little-endian, C order).
    public static func file(type: ElementType, shape: [Int], data: UnsafeRawBufferPointer) -> [UInt8] {
        precondition(data.count == shape.reduce(1, *) * type.byteCount, "data does not match the shape")
        var bytes = header(type: type, shape: shape)
        bytes.append(contentsOf: data)
        return bytes
    }
}
