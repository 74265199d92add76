import FuzzSupport
import Word2Vec

/// word2vec binary and text, GloVe and fastText files: the first byte picks the format (or detection) and whether
/// inflating reads ahead on a thread; the rest is the file. Every error must be a `Word2VecError`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVectorsFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = FuzzInput.bytes(data, size)
    let formats: [Word2VecFormat?] = [nil, .binary, .text, .glove]
    let format = formats[Int(bytes[0]) % formats.count]
    let path = FuzzInput.file(Array(bytes.dropFirst()))
    do {
        let reader = try Word2VecReader(path: path, format: format, readAhead: bytes[0] & 0x80 != 0)
        var checksum = 0
        try reader.forEachRecord(
            limit: (bytes[0] & 0x40 != 0) ? 3 : nil, nonFinite: .keep, trustHeader: bytes[0] & 0x20 != 0
        ) { record in
            precondition(record.vector.count == 4 * reader.header.dimension, "a vector of the wrong size")
            precondition(
                !record.word.isEmpty && record.word.count <= Word2VecReader.maxWordLength, "a word out of bounds")
            checksum &+= record.word.count &+ Int(record.word[0])
        }
        _ = checksum
    } catch is Word2VecError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
