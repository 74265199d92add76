import Support
import Testing

@testable import CacheBuild

@Suite struct SearchIndexWriterTests {
    /// The scalar statement of the codes: what the vectorized quantizer must give, element for element.
    private func scalarCodes(_ vector: [Float]) -> (codes: [Int8], scale: Float) {
        let norm = SearchIndexWriter.numpyNorm(vector)
        let unit = vector.map { $0 / norm }
        let scale = unit.map(abs).max()! / 127
        guard norm > 0, scale.isFinite, scale > 0 else { return (Array(repeating: 0, count: vector.count), 0) }
        return (unit.map { Int8(min(max(($0 / scale).rounded(), -127), 127)) }, scale)
    }

    @Test(arguments: [1, 7, 15, 16, 17, 33, 100, 300, 301])
    func vectorizedCodesEqualTheScalarStatement(dimension: Int) {
        var random = SplitMix64(seed: UInt64(dimension))
        var vectors = (0..<50).map { _ in
            (0..<dimension).map { _ in Float(Int64(bitPattern: random.next()) >> 40) / Float(1 << 20) }
        }
        vectors.append(Array(repeating: 0, count: dimension))
        vectors.append([Float.nan] + Array(repeating: 1, count: dimension - 1))
        vectors.append([Float.infinity] + Array(repeating: 0.5, count: dimension - 1))
        vectors.append((0..<dimension).map { $0 % 2 == 0 ? 0.5 : -0.5 })  // exact halves of a code round away from 0
        for vector in vectors {
            var codes = [Int8](repeating: 99, count: dimension)
            let scale = codes.withUnsafeMutableBufferPointer {
                SearchIndexWriter.quantize(vector, norm: SearchIndexWriter.numpyNorm(vector), codes: $0)
            }
            let expected = scalarCodes(vector)
            #expect(codes == expected.codes, "dimension \(dimension)")
            #expect(scale.bitPattern == expected.scale.bitPattern, "dimension \(dimension)")
        }
    }
}
