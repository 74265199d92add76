/// Vectors as they are stored and sent: float32, little-endian, packed (the cache's values, `.npy` payloads).
public enum Float32Bytes {
    /// The values of `bytes` (`bytes.count / 4` of them).
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        (0..<(bytes.count / 4)).map {
            Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
        }
    }

    /// Writes the values of `bytes` into `values`, which holds exactly `bytes.count / 4` of them (one copy on a
    /// little-endian machine, which every platform w2vcache builds for is).
    public static func decode(_ bytes: UnsafeRawBufferPointer, into values: UnsafeMutableBufferPointer<Float>) {
        precondition(bytes.count == 4 * values.count, "\(bytes.count) bytes are not \(values.count) float32 values")
        #if _endian(little)
        UnsafeMutableRawBufferPointer(values).copyMemory(from: bytes)
        #else
        for i in values.indices {
            values[i] = Float(
                bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
        }
        #endif
    }

    /// Appends `values`' bytes to `bytes`. Inlinable, so that each caller's sequence type is specialized: called
    /// through the generic entry point, a lazily mapped sequence cost about 1 µs a value in metadata lookups.
    @inlinable
    public static func append(_ values: some Sequence<Float>, to bytes: inout [UInt8]) {
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
    }

    /// Whether every value is finite: a float32 is NaN or infinite exactly when its exponent bits are all ones.
    /// Sixteen values at a time (integer lanes only, which the compiler keeps in vector registers).
    public static func allFinite(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        #if _endian(little)
        let exponent = SIMD16<UInt32>(repeating: 0x7F80_0000)
        while offset + 64 <= bytes.count {
            let lanes = bytes.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt32>.self)
            if any(lanes & exponent .== exponent) { return false }
            offset += 64
        }
        #endif
        while offset + 4 <= bytes.count {
            if UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) & 0x7F80_0000
                == 0x7F80_0000
            {
                return false
            }
            offset += 4
        }
        return true
    }
}
