import FuzzSupport
import Preprocessing

/// `label<TAB>text` review files through the reader (every decoding policy) and the basic_english tokenizer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReviews(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let file = TextFile(path: "fuzz.tsv", bytes: FuzzInput.bytes(data, size))
    for decoding in DecodingPolicy.allCases {
        do {
            let reviews = try ReviewReader.read(tsv: file, decoding: decoding, skipBadLines: decoding == .replace)
            for review in reviews.reviews {
                let tokens = BasicEnglishTokenizer.tokenize(review.text)
                precondition(tokens.allSatisfy { !$0.isEmpty })
            }
        } catch is DataError {
        } catch {
            fatalError("unexpected error type: \(error)")
        }
    }
    return 0
}
