import Datasets
import FuzzSupport
import Preprocessing

/// CoNLL-U/CoNLL-X treebanks through the reader, the arc-standard oracle and the feature extractor.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCoNLLU(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let file = TextFile(path: "fuzz.conllu", bytes: FuzzInput.bytes(data, size))
    for skip in [false, true] {
        do {
            let read = try CoNLLUReader.read(file, pos: skip ? .upos : .xpos, skipBadLines: skip)
            for sentence in read.sentences {
                let heads = [-1] + sentence.map(\.head)
                let labels = [-1] + sentence.map { $0.label.utf8.count % 5 }
                guard let transitions = ArcStandardOracle.transitions(heads: heads, labels: labels) else { continue }
                var state = ArcStandardState(wordCount: sentence.count)
                for transition in transitions {
                    precondition(state.allows(transition), "the oracle chose a transition that is not allowed")
                    let features = ParserDataset.features(
                        of: state, wordIDs: [1] + sentence.map { _ in 3 }, tagIDs: [1] + sentence.map { _ in 3 },
                        labelIDs: { Int32($0 + 3) })
                    precondition(features.count == ParserDataset.featureCount)
                    state.apply(transition)
                }
                precondition(state.isTerminal && Array(state.heads.dropFirst()) == sentence.map(\.head))
            }
        } catch is DataError {
        } catch {
            fatalError("unexpected error type: \(error)")
        }
    }
    return 0
}
