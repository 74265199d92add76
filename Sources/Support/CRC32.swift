import CZlib

/// zlib's CRC-32 (the one gzip and zip use).
public enum CRC32 {
    /// The CRC-32 of `bytes`, continuing from `previous`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return previous }
        return UInt32(
            truncatingIfNeeded: crc32_z(UInt(previous), base.assumingMemoryBound(to: Bytef.self), bytes.count))
    }

    /// The CRC-32 of `bytes`, as 8 lowercase hex digits.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        let value = checksum(bytes)
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
