import Support

/// Writes arrays in NumPy's `.npy` format (version 1.0), which `np.load` reads.
public enum NPY {
    /// The header of a C-ordered array of `shape`, padded so that the data starts on a 64-byte boundary.
    public static func header(type: ElementType, shape: [Int]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dictionary = "{'descr': '\(type.numpyDescriptor)', 'fortran_order': False, 'shape': \(shapeText), }"
        let fixed = 10  // magic (6), version (2), header length (2)
        let padding = (64 - (fixed + dictionary.utf8.count + 1) % 64) % 64
        dictionary += String(repeating: " ", count: padding) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = UInt16(dictionary.utf8.count)
        bytes.append(UInt8(length & 0xFF))
        bytes.append(UInt8(length >> 8))
        bytes.append(contentsOf: dictionary.utf8)
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
