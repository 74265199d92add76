import FuzzSupport
import Word2Vec

/// The gzip layer: the input is taken as a `.gz` file (seeds are valid gzip files of vectors) and read through the
/// vectors reader, with and without read-ahead. Truncated, corrupt or multi-member streams must give a
/// `Word2VecError` or records, nothing else.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzipVectors(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    let path = FuzzInput.file(bytes, suffix: ".gz")
    for readAhead in [false, true] {
        do {
            let reader = try Word2VecReader(path: path, readAhead: readAhead)
            try reader.forEachRecord(nonFinite: .keep) { record in
                precondition(record.vector.count == 4 * reader.header.dimension)
            }
            _ = reader.dataCRC32
        } catch is Word2VecError {
        } catch {
            fatalError("unexpected error type: \(error)")
        }
    }
    return 0
}
