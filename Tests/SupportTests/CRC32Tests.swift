import CVectorKernels
import Foundation
import Support
import Testing

@Suite struct CRC32Tests {
    /// The folded CRC-32 is zlib's, for every length around the fold's 16- and 64-byte steps, any alignment of the
    /// bytes, and any CRC continued from; a checksum taken in parts is the checksum of the whole.
    @Test func foldedChecksumsAreZlibs() {
        var random = SplitMix64(seed: 7)
        let bytes = (0..<(1 << 20) + 80).map { _ in UInt8.random(in: 0...255, using: &random) }
        bytes.withUnsafeBytes { all in
            var lengths = Array(0...1100)
            lengths += [4095, 4096, 4097, 65_536 + 13, 1 << 20]
            for offset in [0, 1, 3, 8, 15, 16, 63] {
                for length in lengths {
                    let part = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])
                    for previous: UInt32 in [0, 1, 0xDEAD_BEEF] {
                        let folded = CRC32.checksum(part, continuing: previous)
                        let zlib = CRC32.zlib(part, continuing: previous)
                        if folded != zlib {
                            Issue.record(
                                "offset \(offset), length \(length), from \(previous): \(folded), zlib \(zlib)")
                            return
                        }
                    }
                }
            }
            let whole = CRC32.checksum(all)
            let split = CRC32.checksum(
                UnsafeRawBufferPointer(rebasing: all[1000...]),
                continuing: CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[..<1000])))
            #expect(whole == split && whole == CRC32.zlib(all))
        }
    }

    /// On a CPU with carry-less multiplication the fold takes the bytes (else zlib alone would pass the test above).
    @Test(.enabled(if: CRC32Tests.cpuHasPCLMUL, "this CPU has no PCLMULQDQ: the fold is not checked here"))
    func theFoldTakesTheBytesOnThisCPU() {
        let bytes = [UInt8](repeating: 7, count: 100)
        var crc: UInt32 = 0
        #expect(w2v_crc32_fold(&crc, bytes, 63) == 0, "fewer than 64 bytes are left to zlib")
        #expect(w2v_crc32_fold(&crc, bytes, 100) == 96, "a multiple of 16 bytes is folded")
        #expect(crc == bytes.withUnsafeBytes { CRC32.zlib(UnsafeRawBufferPointer(rebasing: $0[..<96])) })
    }

    static var cpuHasPCLMUL: Bool {
        #if arch(x86_64)
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return info.split(separator: "\n").contains {
            $0.hasPrefix("flags") && $0.split(separator: " ").contains("pclmulqdq")
        }
        #else
        return false
        #endif
    }
}
