import FuzzSupport
import Preprocessing

/// Parallel text: the first byte picks the markup filter (auto, tags, xml, none); the rest is split at its first 0x00
/// byte into two line-aligned files (and read whole as a TSV file), then tokenized with the English and French
/// tokenizers.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParallelText(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let markup = MarkupFilter.allCases[Int(data[0]) % MarkupFilter.allCases.count]
    let bytes = FuzzInput.bytes(data + 1, size - 1)
    let split = bytes.firstIndex(of: 0) ?? bytes.count
    let source = TextFile(path: "fuzz.en", bytes: Array(bytes[..<split]))
    let target = TextFile(path: "fuzz.fr", bytes: Array(bytes[min(split + 1, bytes.count)...]))
    let english = TranslationTokenizer(language: .english)
    let french = TranslationTokenizer(language: .french)
    for attempt in 0..<2 {
        do {
            let pairs =
                attempt == 0
                ? try ParallelTextReader.read(source: source, target: target, markup: markup)
                : try ParallelTextReader.read(tsv: TextFile(path: "fuzz.tsv", bytes: bytes), skipBadLines: true)
            for pair in pairs.pairs {
                precondition(english.tokenize(pair.source).allSatisfy { !$0.isEmpty })
                precondition(french.tokenize(pair.target).allSatisfy { !$0.isEmpty })
            }
        } catch is DataError {
        } catch {
            fatalError("unexpected error type: \(error)")
        }
    }
    return 0
}
