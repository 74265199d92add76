import Support
import Testing

struct RowsTests {
    /// Each row is its own `rowBytes` bytes, in order, in the mutable and the read-only buffer alike.
    @Test func rowsAreConsecutiveSlicesOfTheirLength() {
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes.withUnsafeMutableBytes { buffer in
            for index in 0..<4 {
                buffer.row(index, bytes: 3).copyBytes(from: [UInt8](repeating: UInt8(index + 1), count: 3))
            }
            #expect(buffer.row(3, bytes: 3).count == 3)
        }
        #expect(bytes == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4])
        bytes.withUnsafeBytes { buffer in
            #expect(Array(buffer.row(1, bytes: 4)) == [2, 2, 3, 3])
            #expect(Array(buffer.row(1, bytes: 6)) == [3, 3, 3, 4, 4, 4])
            #expect(Array(buffer.row(0, bytes: 0)) == [])
        }
    }
}
