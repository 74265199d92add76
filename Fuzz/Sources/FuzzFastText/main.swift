import Foundation
import FuzzSupport
import Word2Vec

/// fastText `.bin` models: the first byte picks whether the format is detected or given, whether inflating reads
/// ahead, and a limit; the rest is the file. Every error must be a `Word2VecError`; every record and n-gram row must
/// have the model's dimension, and every n-gram of every word must name a row of the model.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFastText(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = FuzzInput.bytes(data, size)
    let path = FuzzInput.file(Array(bytes.dropFirst()))
    do {
        let reader = try Word2VecReader(
            path: path, format: bytes[0] & 1 == 0 ? nil : .fasttext, readAhead: bytes[0] & 0x80 != 0)
        let rowBytes = 4 * reader.header.dimension
        var rows = 0
        try reader.forEachRecord(
            limit: bytes[0] & 0x40 != 0 ? 2 : nil, nonFinite: .keep,
            scratchDirectory: NSTemporaryDirectory(),
            ngramRow: { row, vector in
                precondition(vector.count == rowBytes, "an n-gram row of the wrong size")
                precondition(row == rows, "n-gram rows out of order")
                rows += 1
            }
        ) { record in
            precondition(record.vector.count == rowBytes, "a vector of the wrong size")
            precondition(
                !record.word.isEmpty && record.word.count <= Word2VecReader.maxWordLength, "a word out of bounds")
            if let subwords = reader.subwords {
                precondition(subwords.ngramRows(of: record.word).allSatisfy { (0..<subwords.bucket).contains($0) })
            }
        }
        if let subwords = reader.subwords { precondition(rows == subwords.bucket, "n-gram rows missing") }
    } catch is Word2VecError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    // The n-grams of arbitrary bytes (not UTF-8 too) name rows of any model.
    let subwords = FastTextSubwords(minn: Int(bytes[0] % 4), maxn: Int(bytes[0] % 4) + Int(bytes[0] / 64), bucket: 97)
    precondition(subwords.ngramRows(of: bytes.prefix(64)).allSatisfy { (0..<97).contains($0) })
    return 0
}
