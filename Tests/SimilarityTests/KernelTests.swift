import CVectorKernels
import CacheBuild
import SearchIndex
import Support
import Testing

@Suite struct KernelTests {
    /// Each instruction set's kernel gives exactly the integer dot products, for dimensions and row counts that are
    /// not multiples of its vector width or of the four rows it takes at once, and at the extremes of its inputs. A
    /// kernel this CPU cannot run is reported as skipped (with the reason), never passed unchecked.
    @Test(
        .enabled(if: KernelTests.cpuRuns("avx512"), "this CPU has no AVX-512: the AVX-512 kernel is not checked here"))
    func avx512DotProductsAreExact() { checkKernel("avx512") }

    @Test(.enabled(if: KernelTests.cpuRuns("avx2"), "this CPU has no AVX2: the AVX2 kernel is not checked here"))
    func avx2DotProductsAreExact() { checkKernel("avx2") }

    @Test func scalarDotProductsAreExact() { checkKernel("scalar") }

    /// The kernel chosen at the first call is the best one this CPU runs, and gives the same numbers.
    @Test(arguments: [7, 300])
    func dispatchedKernelIsTheBestThisCPURuns(dimension: Int) {
        let isa = String(cString: w2v_int8_dot_rows_isa())
        let best = ["avx512", "avx2", "scalar"].first(where: KernelTests.cpuRuns)
        #expect(isa == best)
        let input = KernelInput(dimension: dimension)
        var dispatched = [Int32](repeating: 0, count: 3 * input.rows)
        w2v_int8_dot_rows(input.codes, input.rows, dimension, input.queries, 3, &dispatched)
        #expect(dispatched == input.expected, "\(isa), dimension \(dimension)")
    }

    private func checkKernel(_ kernel: String) {
        for dimension in [1, 7, 16, 31, 32, 33, 100, 300, 516] {
            let input = KernelInput(dimension: dimension)
            var out = [Int32](repeating: 0, count: 3 * input.rows)
            let ran = w2v_int8_dot_rows_using(kernel, input.codes, input.rows, dimension, input.queries, 3, &out)
            #expect(ran == 1, "\(kernel) did not run")
            #expect(out == input.expected, "\(kernel), dimension \(dimension)")
        }
    }

    /// Whether this CPU runs the kernel of instruction set `isa` (asked of the kernel library on one row).
    static func cpuRuns(_ isa: String) -> Bool {
        var out: Int32 = 0
        return w2v_int8_dot_rows_using(isa, [1], 1, 1, [1], 1, &out) == 1
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

/// Random int8 rows and int16 queries at the extremes the kernels accept, and their dot products computed in Int64.
private struct KernelInput {
    let rows = 1031
    let codes: [Int8]
    let queries: [Int16]
    let expected: [Int32]

    init(dimension: Int) {
        var random = SplitMix64(seed: UInt64(dimension))
        var codes = (0..<(rows * dimension)).map { _ in Int8(truncatingIfNeeded: Int(random.next() % 255) - 127) }
        let largest = Int16(min(32767, Int(Int32.max) / (127 * dimension)))
        var queries = (0..<(3 * dimension)).map { _ in
            Int16(truncatingIfNeeded: Int(random.next() % UInt64(2 * Int(largest) + 1)) - Int(largest))
        }
        // The extremes: a row of -127 against a query of its largest value.
        for i in 0..<dimension {
            codes[i] = -127
            queries[i] = largest
        }
        let rows = rows
        expected = (0..<3).flatMap { q in
            (0..<rows).map { r in
                Int32(
                    (0..<dimension).reduce(Int64(0)) {
                        $0 + Int64(codes[r * dimension + $1]) * Int64(queries[q * dimension + $1])
                    })
            }
        }
        self.codes = codes
        self.queries = queries
    }
}
