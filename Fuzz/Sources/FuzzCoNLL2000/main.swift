import FuzzSupport
import Preprocessing

/// CoNLL-2000 files through the reader and the book's normalization (with a model that knows every third key).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCoNLL2000(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let file = TextFile(path: "fuzz.txt", bytes: FuzzInput.bytes(data, size))
    for skip in [false, true] {
        do {
            let rows = try CoNLL2000Reader.read(file, skipBadLines: skip)
            let normalizer = BookNormalizer { $0.utf8.count % 3 == 0 }
            let (tokens, statistics) = try normalizer.process(rows.rows, sentenceStarts: Set(rows.sentenceStarts))
            precondition(statistics.rows == rows.rows.count && tokens.count >= statistics.found)
            _ = BookNormalizer.candidateKeys(rows.rows)
        } catch is DataError {
        } catch {
            fatalError("unexpected error type: \(error)")
        }
    }
    return 0
}
