import CVectorKernels
import Support
import Testing

@testable import CacheBuild

@Suite struct SearchIndexWriterTests {
    /// The scalar statement of the codes: what the vectorized quantizer must give, element for element.
    private func scalarCodes(_ vector: [Float]) -> (codes: [Int8], scale: Float) {
        let norm = vector.withUnsafeBufferPointer(SearchIndexWriter.numpyNorm)
        let unit = vector.map { $0 / norm }
        let scale = unit.map(abs).max()! / 127
        guard norm > 0, scale.isFinite, scale > 0 else { return (Array(repeating: 0, count: vector.count), 0) }
        return (unit.map { Int8(min(max(($0 / scale).rounded(), -127), 127)) }, scale)
    }

    /// Random vectors of each dimension, and the edge cases: no direction, NaN, infinity, exact halves of a code.
    private func vectors(dimension: Int) -> [[Float]] {
        var random = SplitMix64(seed: UInt64(dimension))
        var vectors = (0..<50).map { _ in
            (0..<dimension).map { _ in Float(Int64(bitPattern: random.next()) >> 40) / Float(1 << 20) }
        }
        vectors.append(Array(repeating: 0, count: dimension))
        vectors.append([Float.nan] + Array(repeating: 1, count: dimension - 1))
        vectors.append([Float.infinity] + Array(repeating: 0.5, count: dimension - 1))
        vectors.append((0..<dimension).map { $0 % 2 == 0 ? 0.5 : -0.5 })  // exact halves of a code round away from 0
        // Tiny components, whose quotients by the norm are subnormal, beside one large one.
        vectors.append([1e4] + (1..<dimension).map { Float($0 % 7) * -1e-41 })
        return vectors
    }

    private static let dimensions = [1, 7, 15, 16, 17, 33, 100, 300, 301]

    @Test(arguments: dimensions)
    func vectorizedCodesEqualTheScalarStatement(dimension: Int) {
        for vector in vectors(dimension: dimension) {
            var codes = [Int8](repeating: 99, count: dimension)
            let scale = codes.withUnsafeMutableBufferPointer { codes in
                vector.withUnsafeBufferPointer {
                    SearchIndexWriter.quantize($0, norm: SearchIndexWriter.numpyNorm($0), codes: codes)
                }
            }
            let expected = scalarCodes(vector)
            #expect(codes == expected.codes, "dimension \(dimension)")
            #expect(scale.bitPattern == expected.scale.bitPattern, "dimension \(dimension)")
        }
    }

    /// Each compiled variant of the quantizer gives the scalar statement's numbers; one this CPU cannot run is
    /// reported as skipped, never passed unchecked.
    @Test(.enabled(if: cpuRuns("avx2"), "this CPU has no AVX2: the AVX2 quantizer is not checked here"))
    func avx2CodesEqualTheScalarStatement() { checkQuantizer("avx2") }

    @Test func baselineCodesEqualTheScalarStatement() { checkQuantizer("baseline") }

    private func checkQuantizer(_ isa: String) {
        for dimension in Self.dimensions {
            for vector in vectors(dimension: dimension) {
                var codes = [Int8](repeating: 99, count: dimension)
                var scale: Float = -1
                let ran = w2v_quantize_row_using(
                    isa, vector, dimension, vector.withUnsafeBufferPointer(SearchIndexWriter.numpyNorm), &codes, &scale)
                #expect(ran == 1, "\(isa) did not run")
                let expected = scalarCodes(vector)
                #expect(codes == expected.codes, "\(isa), dimension \(dimension)")
                #expect(scale.bitPattern == expected.scale.bitPattern, "\(isa), dimension \(dimension)")
            }
        }
    }

    /// Whether this CPU runs the quantizer compiled for instruction set `isa`.
    private static func cpuRuns(_ isa: String) -> Bool {
        var codes: [Int8] = [0]
        var scale: Float = 0
        return w2v_quantize_row_using(isa, [1], 1, 1, &codes, &scale) == 1
    }
}
