// Measures, in one run: tagger window batches per second from a prepared `pos` dataset, a plain memory copy of the
// same bytes (the physical limit), and parser configurations per second (oracle + features) over a treebank.
//
// Usage: DatasetBench CACHE_DIR [BATCH_SIZE] [BATCHES] [TREEBANK.conllu]
import Datasets
import Foundation
import Preprocessing
import VectorCache

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: DatasetBench CACHE_DIR [BATCH_SIZE] [BATCHES] [TREEBANK.conllu]")
    exit(2)
}
let batchSize = arguments.count > 2 ? Int(arguments[2])! : 256
let batches = arguments.count > 3 ? Int(arguments[3])! : 2000

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let cache = try VectorCache(path: arguments[1])
let dataset = try POSDataset(cache: cache)
let plan = EpochPlan(
    order: BatchSampler.order(count: dataset.splits["train"]!, seed: 1, epoch: 0), batchSize: batchSize)
var checksum: UInt64 = 0
let windowTime = try seconds {
    for index in 0..<batches {
        let arrays = try dataset.batch(split: "train", indices: plan.batch(index % plan.batchCount))
        checksum &+= UInt64(arrays[0].bytes[index % arrays[0].bytes.count])
    }
}
let windowBytes = dataset.window * dataset.dimension * 4
let windows = Double(batches * batchSize)
print(
    String(
        format: "w2vcache window batches: %.0f windows/s (%d batches of %d, %d bytes each)", windows / windowTime,
        batches, batchSize, windowBytes))

// The limit: copying the same number of bytes from a matrix-sized source into a batch-sized buffer.
let source = dataset.embeddings
var target = [Float](repeating: 0, count: batchSize * dataset.window * dataset.dimension)
let rowFloats = dataset.dimension
let copyTime = seconds {
    source.withUnsafeBufferPointer { from in
        target.withUnsafeMutableBufferPointer { to in
            var row = 0
            for _ in 0..<batches {
                for slot in 0..<(batchSize * dataset.window) {
                    row = (row &* 1_103_515_245 &+ 12_345) & 0x7FFF_FFFF
                    let start = (row % (from.count / rowFloats)) * rowFloats
                    (to.baseAddress! + slot * rowFloats).update(from: from.baseAddress! + start, count: rowFloats)
                }
                checksum &+= UInt64(to[row % to.count].bitPattern)
            }
        }
    }
}
print(String(format: "memory copy of the same bytes: %.0f windows/s", windows / copyTime))
print(String(format: "ratio: %.2f of the copy rate", copyTime / windowTime))

if arguments.count > 4 {
    let treebank = try TextFile(path: arguments[4])
    var configurations = 0
    let parseTime = try seconds {
        let sentences = try CoNLLUReader.read(treebank).sentences
        var labels: [String: Int] = [:]
        for sentence in sentences {
            let heads = [-1] + sentence.map(\.head)
            let labelIDs =
                [-1]
                + sentence.map { token in
                    labels[token.label]
                        ?? {
                            labels[token.label] = labels.count; return labels.count - 1
                        }()
                }
            guard let transitions = ArcStandardOracle.transitions(heads: heads, labels: labelIDs) else { continue }
            let wordIDs = [Int32](repeating: 3, count: sentence.count + 1)
            let tagIDs = [Int32](repeating: 4, count: sentence.count + 1)
            var state = ArcStandardState(wordCount: sentence.count)
            for transition in transitions {
                let features = ParserDataset.features(of: state, wordIDs: wordIDs, tagIDs: tagIDs) { Int32($0 + 3) }
                checksum &+= UInt64(features[0])
                state.apply(transition)
                configurations += 1
            }
        }
    }
    print(
        String(
            format: "parser oracle + features over %@: %.0f configurations/s (%d configurations, reading included)",
            (arguments[4] as NSString).lastPathComponent, Double(configurations) / parseTime, configurations))
}
print("checksum \(checksum)")
