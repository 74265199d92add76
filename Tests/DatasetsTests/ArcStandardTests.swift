import CacheBuild
import Preprocessing
import TestSupport
import Testing

@testable import Datasets

@Suite struct ArcStandardTests {
    /// "She ate fish quickly": ate is the root; She <- ate, fish <- ate, quickly <- ate.
    let heads = [-1, 2, 0, 2, 2]
    let labels = [-1, 0, 1, 2, 3]

    @Test func theOracleBuildsTheGoldTree() throws {
        let transitions = try #require(ArcStandardOracle.transitions(heads: heads, labels: labels))
        #expect(transitions == [.shift, .shift, .leftArc(0), .shift, .rightArc(2), .shift, .rightArc(3), .rightArc(1)])
        var state = ArcStandardState(wordCount: 4)
        for transition in transitions { state.apply(transition) }
        #expect(state.isTerminal)
        #expect(state.heads == heads.enumerated().map { $0.offset == 0 ? -1 : $0.element })
        #expect(Array(state.labels.dropFirst()) == Array(labels.dropFirst()))
    }

    @Test func aNonProjectiveTreeHasNoSequence() {
        // 1 -> 3 crosses 2 -> 4: not projective.
        let heads = [-1, 0, 4, 1, 1]
        #expect(ArcStandardOracle.transitions(heads: heads, labels: [-1, 0, 0, 0, 0]) == nil)
    }

    @Test func transitionIds() {
        #expect(Transition.shift.id(labelCount: 40) == 0)
        #expect(Transition.leftArc(0).id(labelCount: 40) == 1)
        #expect(Transition.rightArc(0).id(labelCount: 40) == 41)
        #expect(Transition.rightArc(39).id(labelCount: 40) == 80)
    }

    @Test func featuresFollowChenAndManning() {
        // After shift, shift, left-arc: stack [ROOT, ate], buffer [fish, quickly]; She is ate's leftmost child.
        var state = ArcStandardState(wordCount: 4)
        for transition in [Transition.shift, .shift, .leftArc(0)] { state.apply(transition) }
        let wordIDs: [Int32] = [1, 10, 11, 12, 13]  // ids of ROOT(unused), She, ate, fish, quickly
        let tagIDs: [Int32] = [1, 20, 21, 22, 23]
        let features = ParserDataset.features(of: state, wordIDs: wordIDs, tagIDs: tagIDs) { Int32($0 + 3) }
        #expect(features.count == 48)
        let null = ParserDataset.null, root = ParserDataset.root
        // s1 ate, s2 ROOT, s3 none; b1 fish, b2 quickly, b3 none.
        #expect(Array(features[0..<6]) == [11, root, null, 12, 13, null])
        // lc1(s1) = She; everything else of the children positions is empty.
        #expect(Array(features[6..<18]) == [10] + Array(repeating: null, count: 11))
        #expect(Array(features[18..<24]) == [21, root, null, 22, 23, null])
        #expect(features[24] == 20)
        // Label of lc1(s1): label 0 -> id 3.
        #expect(features[36] == 3 && Array(features[37..<48]) == Array(repeating: null, count: 11))
    }

    @Test(.enabled(if: SharedData.isAvailable, "../shared/data is absent: EWT not checked"))
    func replayingTheOracleRebuildsEveryProjectiveTreeOfEWTDev() throws {
        let read = try CoNLLUReader.read(try TextFile(path: SharedData.path("ud-english-ewt/en_ewt-ud-dev.conllu")))
        var labelIDs: [String: Int] = [:]
        var projective = 0
        var nonProjective = 0
        for sentence in read.sentences {
            let heads = [-1] + sentence.map(\.head)
            let labels =
                [-1]
                + sentence.map { token in
                    labelIDs[token.label]
                        ?? {
                            labelIDs[token.label] = labelIDs.count; return labelIDs.count - 1
                        }()
                }
            guard let transitions = ArcStandardOracle.transitions(heads: heads, labels: labels) else {
                nonProjective += 1
                continue
            }
            projective += 1
            #expect(transitions.count == 2 * sentence.count)
            var state = ArcStandardState(wordCount: sentence.count)
            for transition in transitions { state.apply(transition) }
            #expect(Array(state.heads.dropFirst()) == Array(heads.dropFirst()))
            #expect(Array(state.labels.dropFirst()) == Array(labels.dropFirst()))
        }
        #expect(projective + nonProjective == 2001)
        #expect(nonProjective > 0 && nonProjective < 100)
    }
}
