import CacheBuild
import CVectorKernels
import SearchIndex
import Support
import Testing

@Suite struct KernelTests {
    /// Every kernel this CPU can run gives exactly the integer dot products, for dimensions and row counts that are
    /// not multiples of its vector width or of the four rows it takes at once, and at the extremes of its inputs.
    @Test(arguments: [1, 7, 16, 31, 32, 33, 100, 300, 516])
    func integerDotProductsAreExact(dimension: Int) {
        let isa = String(cString: w2v_int8_dot_rows_isa())
        #expect(["avx512", "avx2", "scalar"].contains(isa))
        var ran = 0
        var random = SplitMix64(seed: UInt64(dimension))
        let rows = 1031
        var codes = (0..<(rows * dimension)).map { _ in Int8(truncatingIfNeeded: Int(random.next() % 255) - 127) }
        let largest = Int16(min(32767, Int(Int32.max) / (127 * dimension)))
        var queries = (0..<(3 * dimension)).map { _ in Int16(truncatingIfNeeded: Int(random.next() % UInt64(2 * Int(largest) + 1)) - Int(largest)) }
        // The extremes: a row of -127 against a query of its largest value.
        for i in 0..<dimension {
            codes[i] = -127
            queries[i] = largest
        }
        let expected = (0..<3).flatMap { q in
            (0..<rows).map { r in
                Int32((0..<dimension).reduce(Int64(0)) { $0 + Int64(codes[r * dimension + $1]) * Int64(queries[q * dimension + $1]) })
            }
        }
        for kernel in ["avx512", "avx2", "scalar"] {
            var out = [Int32](repeating: 0, count: 3 * rows)
            guard w2v_int8_dot_rows_using(kernel, codes, rows, dimension, queries, 3, &out) == 1 else { continue }
            ran += 1
            #expect(out == expected, "\(kernel), dimension \(dimension)")
        }
        var dispatched = [Int32](repeating: 0, count: 3 * rows)
        w2v_int8_dot_rows(codes, rows, dimension, queries, 3, &dispatched)
        #expect(dispatched == expected, "\(isa), dimension \(dimension)")
        #expect(ran >= 1)
    }

    @Test func selectionKeepsRowsWhoseBoundReachesTheThreshold() {
        let products: [Int32] = [100, -50, 10, 0, 70]
        let scales: [Float] = [0.01, 0.02, 0.03, 0, 0.01]
        var rows = [UInt32](repeating: 0, count: 5)
        var approx = [Float](repeating: 0, count: 5)
        var bounds = [Float](repeating: 0, count: 5)
        // approx = product * 0.5 * scale, bound = scale * 2 + 0.1: row 0 0.5 ± 0.12, row 1 -0.5 ± 0.14,
        // row 2 0.15 ± 0.16, row 3 has no direction, row 4 0.35 ± 0.12.
        let kept = w2v_select_rows(products, scales, 5, 0.5, 2, 0.1, 0.4, &rows, &approx, &bounds)
        #expect(kept == 2)
        #expect(Array(rows[0..<kept]) == [0, 4])
        #expect(abs(approx[0] - 0.5) < 1e-6 && abs(bounds[1] - 0.12) < 1e-6)
    }
}
