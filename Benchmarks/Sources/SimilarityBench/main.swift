// Which scores rows faster on this machine: w2vcache's screening kernel (int8 rows times int16 queries, exact
// integer SIMD code of our own) or OpenBLAS on float32 rows, for one query over every row (what `similar` does) and
// for a batch of queries (what `evaluate analogies` does). Same random rows, same queries, best of three runs each, all in one process.
//
// Usage: SimilarityBench [ROWS] [DIM] [BATCH_ROWS] [BATCH]   (defaults: 3000000 300 300000 256)
import COpenBLAS
import CVectorKernels
import Dispatch
import Foundation

let arguments = CommandLine.arguments.dropFirst().map { Int($0)! }
let rows = arguments.count > 0 ? arguments[0] : 3_000_000
let dimension = arguments.count > 1 ? arguments[1] : 300
let batchRows = arguments.count > 2 ? arguments[2] : 300_000
let batch = arguments.count > 3 ? arguments[3] : 256
let cores = ProcessInfo.processInfo.activeProcessorCount

func best(of runs: Int = 3, _ body: () -> Void) -> Double {
    (0..<runs).map { _ in
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }.min()!
}

var generator = SystemRandomNumberGenerator()
// Buffers the threads share, each writing its own part of `out`.
nonisolated(unsafe) let floats = UnsafeMutableBufferPointer<Float>.allocate(capacity: rows * dimension)
nonisolated(unsafe) let codes = UnsafeMutableBufferPointer<Int8>.allocate(capacity: rows * dimension)
nonisolated(unsafe) let queries = UnsafeMutableBufferPointer<Float>.allocate(capacity: batch * dimension)
nonisolated(unsafe) let queryCodes = UnsafeMutableBufferPointer<Int16>.allocate(capacity: batch * dimension)
nonisolated(unsafe) let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(rows, batch * batchRows))
nonisolated(unsafe) let products = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(rows, batch * batchRows))
for i in 0..<floats.count {
    floats[i] = Float.random(in: -1...1, using: &generator)
    codes[i] = Int8((floats[i] * 127).rounded())
}
for i in 0..<queries.count {
    queries[i] = Float.random(in: -1...1, using: &generator)
    queryCodes[i] = Int16((queries[i] * 32767).rounded())
}

/// The int8 kernel over `rowCount` rows for `count` queries, split into row ranges over `threads` cores.
func int8Scores(rowCount: Int, count: Int, threads: Int) {
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        let start = t * rowCount / threads, end = (t + 1) * rowCount / threads
        w2v_int8_dot_rows(
            codes.baseAddress! + start * dimension, end - start, dimension, queryCodes.baseAddress!, count,
            products.baseAddress! + start * count)
    }
}

print("rows \(rows) x \(dimension), int8 kernel: \(String(cString: w2v_int8_dot_rows_isa())), \(cores) cores")
print("\n| one query over \(rows) rows | seconds | rows/s |\n|---|---:|---:|")
let sgemv = best {
    cblas_sgemv(
        CblasRowMajor, CblasNoTrans, Int32(rows), Int32(dimension), 1, floats.baseAddress, Int32(dimension),
        queries.baseAddress, 1, 0, out.baseAddress, 1)
}
print(String(format: "| OpenBLAS sgemv, float32 (what numpy's dot runs) | %.4f | %.0f |", sgemv, Double(rows) / sgemv))
let single1 = best { int8Scores(rowCount: rows, count: 1, threads: 1) }
print(String(format: "| int8 kernel, 1 core | %.4f | %.0f |", single1, Double(rows) / single1))
let singleAll = best { int8Scores(rowCount: rows, count: 1, threads: cores) }
print(String(format: "| int8 kernel, %d cores | %.4f | %.0f |", cores, singleAll, Double(rows) / singleAll))

print("\n| \(batch) queries over \(batchRows) rows | seconds | scores/s |\n|---|---:|---:|")
let scores = Double(batch * batchRows)
let sgemm = best {
    cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(batchRows), Int32(dimension), 1,
        queries.baseAddress, Int32(dimension),
        floats.baseAddress, Int32(dimension), 0, out.baseAddress, Int32(batchRows))
}
print(String(format: "| OpenBLAS sgemm, float32 | %.3f | %.3g |", sgemm, scores / sgemm))
let batched = best { int8Scores(rowCount: batchRows, count: batch, threads: cores) }
print(String(format: "| int8 kernel, %d cores | %.3f | %.3g |", cores, batched, scores / batched))
print(String(format: "\nint8 kernel / OpenBLAS time: one query %.2f, batch %.2f", singleAll / sgemv, batched / sgemm))
