import Support
import Testing

@Suite struct Float32BytesTests {
    private func bytes(_ values: [Float]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    /// A non-finite value is found wherever it is: in the sixteen-value blocks and in the tail after them.
    @Test(arguments: [Float.nan, .infinity, -.infinity, Float.signalingNaN])
    func aNonFiniteValueAnywhereIsFound(bad: Float) {
        let count = 37
        #expect(bytes(Array(repeating: 1, count: count)).withUnsafeBytes(Float32Bytes.allFinite))
        for position in 0..<count {
            var values = (0..<count).map { Float($0) - 18.5 }
            values[position] = bad
            #expect(!bytes(values).withUnsafeBytes(Float32Bytes.allFinite), "position \(position)")
        }
        // The largest finite values and the smallest subnormals are finite.
        let edges: [Float] = [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0]
        #expect(bytes(Array(repeating: edges, count: 5).flatMap { $0 }).withUnsafeBytes(Float32Bytes.allFinite))
    }

    @Test func decodingIntoABufferGivesTheValues() {
        let values: [Float] = [1.5, -2, .nan, .leastNormalMagnitude / 4]
        var decoded = [Float](repeating: 0, count: values.count)
        bytes(values).withUnsafeBytes { raw in
            decoded.withUnsafeMutableBufferPointer { Float32Bytes.decode(raw, into: $0) }
        }
        #expect(decoded.map(\.bitPattern) == values.map(\.bitPattern))
        #expect(bytes(values).withUnsafeBytes { Float32Bytes.decode($0) }.map(\.bitPattern) == values.map(\.bitPattern))
    }
}
