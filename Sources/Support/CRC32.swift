import CVectorKernels
import CZlib

/// The CRC-32 that gzip and zip use: zlib's numbers, folded with carry-less multiplication where the CPU can
/// (`w2v_crc32_fold`, six times zlib's speed: 8 µs instead of 49 for the 115 KB of a batch of 32 POS windows).
public enum CRC32 {
    /// The CRC-32 of `bytes`, continuing from `previous`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return previous }
        var crc = previous
        let folded = w2v_crc32_fold(&crc, base, bytes.count)
        return zlib(UnsafeRawBufferPointer(rebasing: bytes[folded...]), continuing: crc)
    }

    /// zlib's own CRC-32 of `bytes`, continuing from `previous` (what the folding is checked against).
    package static func zlib(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return previous }
        return UInt32(
            truncatingIfNeeded: crc32_z(UInt(previous), base.assumingMemoryBound(to: Bytef.self), bytes.count))
    }

    /// The CRC-32 of `bytes`, as 8 lowercase hex digits.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        Hex.text(checksum(bytes), uppercase: false)
    }
}
