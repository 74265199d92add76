import Foundation
import Preprocessing
import TestSupport
import Testing

private func textFile(_ directory: TemporaryDirectory, _ name: String, _ text: String) throws -> TextFile {
    try text.write(toFile: directory.file(name), atomically: true, encoding: .utf8)
    return try TextFile(path: directory.file(name))
}

@Suite struct CoNLL2000ReaderTests {
    @Test func rowsSentencesAndTheChunkColumn() throws {
        let directory = TemporaryDirectory()
        let file = try textFile(
            directory, "pos.txt", "Confidence NN B-NP\nin IN B-PP\n\n\nthe DT B-NP\r\npound NN I-NP\n")
        let read = try CoNLL2000Reader.read(file)
        #expect(read.rows.map(\.word) == ["Confidence", "in", "the", "pound"])
        #expect(read.rows.map(\.tag) == ["NN", "IN", "DT", "NN"])
        #expect(read.sentenceStarts == [0, 2])
    }

    @Test func aOneColumnLineNamesFileAndLine() throws {
        let directory = TemporaryDirectory()
        let file = try textFile(directory, "bad.txt", "a DT\nlonely\nb NN\n")
        #expect(
            throws: DataError(file: file.path, line: 2, message: "\"lonely\" has one column; expected \"word TAG\"")
        ) {
            try CoNLL2000Reader.read(file)
        }
        let skipped = try CoNLL2000Reader.read(file, skipBadLines: true)
        #expect(skipped.rows.count == 2 && skipped.skippedLines == 1)
    }

    @Test func invalidUTF8NamesTheLine() throws {
        let directory = TemporaryDirectory()
        try Data("ok NN\n".utf8 + [0x63, 0x97, 0x20, 0x4E, 0x4E, 0x0A]).write(
            to: URL(fileURLWithPath: directory.file("x.txt")))
        let file = try TextFile(path: directory.file("x.txt"))
        let error = #expect(throws: DataError.self) { try CoNLL2000Reader.read(file) }
        #expect(error?.line == 2 && error?.description.contains("not valid UTF-8") == true)
    }

    @Test func missingFilesAndDirectories() throws {
        let directory = TemporaryDirectory()
        #expect(throws: DataError.self) { try TextFile(path: directory.file("none.txt")) }
        let error = #expect(throws: DataError.self) { try TextFile(path: directory.path) }
        #expect(error?.message.contains("is a directory") == true)
    }

    @Test(.enabled(if: SharedData.isAvailable, "../shared/data is absent: CoNLL-2000 not checked"))
    func theRealCoNLL2000Files() throws {
        let train = try CoNLL2000Reader.read(try TextFile(path: SharedData.path("conll2000/train.txt")))
        let test = try CoNLL2000Reader.read(try TextFile(path: SharedData.path("conll2000/test.txt")))
        #expect(train.rows.count == 211_727 && test.rows.count == 47_377)
        #expect(train.sentenceStarts.count == 8_936 && test.sentenceStarts.count == 2_012)
        #expect(Set(train.rows.map(\.tag) + test.rows.map(\.tag)).count == 44)
    }
}

@Suite struct CoNLLUReaderTests {
    static let sentence = """
        # sent_id = 1
        # text = I can't go.
        1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_
        2-3\tcan't\t_\t_\t_\t_\t_\t_\t_\t_
        2\tca\tcan\tAUX\tMD\t_\t4\taux\t_\t_
        3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
        3.1\tgone\tgo\tVERB\t_\t_\t_\t_\t4:x\t_
        4\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_
        5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

        """

    @Test func commentsRangesAndEmptyNodesArePassedOver() throws {
        let directory = TemporaryDirectory()
        let file = try textFile(directory, "s.conllu", Self.sentence + "\n" + Self.sentence)
        let read = try CoNLLUReader.read(file)
        #expect(read.sentences.count == 2)
        #expect(read.sentences[0].map(\.form) == ["I", "ca", "n't", "go", "."])
        #expect(read.sentences[0].map(\.head) == [4, 4, 4, 0, 4])
        #expect(read.sentences[0].map(\.pos) == ["PRP", "MD", "RB", "VB", "."])
        #expect(try CoNLLUReader.read(file, pos: .upos).sentences[0][0].pos == "PRON")
    }

    @Test func conllXReadsTheSameColumns() throws {
        // CoNLL-X: ID FORM LEMMA CPOSTAG POSTAG FEATS HEAD DEPREL PHEAD PDEPREL, no comments or ranges.
        let directory = TemporaryDirectory()
        let file = try textFile(
            directory, "x.conll", "1\tDogs\tdog\tN\tNNS\t_\t2\tSBJ\t_\t_\n2\tbark\tbark\tV\tVBP\t_\t0\tROOT\t_\t_\n\n")
        let read = try CoNLLUReader.read(file)
        #expect(
            read.sentences == [
                [
                    DependencyToken(form: "Dogs", pos: "NNS", head: 2, label: "SBJ"),
                    DependencyToken(form: "bark", pos: "VBP", head: 0, label: "ROOT"),
                ]
            ])
        #expect(try CoNLLUReader.read(file, pos: .upos).sentences[0].map(\.pos) == ["N", "V"])
    }

    @Test func wrongFieldCountHeadOutsideAndCycleAreErrors() throws {
        let directory = TemporaryDirectory()
        let fields = try textFile(directory, "a.conllu", "1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\n")
        let error = #expect(throws: DataError.self) { try CoNLLUReader.read(fields) }
        #expect(error?.line == 1 && error?.message.contains("9 tab-separated fields; expected 10") == true)
        let outside = try textFile(directory, "b.conllu", "1\tI\tI\tPRON\tPRP\t_\t7\tnsubj\t_\t_\n")
        let outsideError = #expect(throws: DataError.self) { try CoNLLUReader.read(outside) }
        #expect(outsideError?.line == 1 && outsideError?.message.contains("head 7, outside the sentence") == true)
        let cycle = try textFile(
            directory, "c.conllu", "# x\n1\ta\ta\tX\tX\t_\t2\tdep\t_\t_\n2\tb\tb\tX\tX\t_\t1\tdep\t_\t_\n")
        let cycleError = #expect(throws: DataError.self) { try CoNLLUReader.read(cycle) }
        #expect(cycleError?.line == 2 && cycleError?.message.contains("cycle") == true)
        let skipped = try CoNLLUReader.read(cycle, skipBadLines: true)
        #expect(skipped.sentences.isEmpty && skipped.skippedSentences == 1 && skipped.skippedLines == 1)
    }
}
