import Foundation
import Preprocessing
import Support
import TestSupport
import Testing

private struct Stop: Error {}

/// Each reader calls its `check` every ``TextFile/linesBetweenChecks`` lines (before each review file of a folder),
/// and what the check throws stops the read: a long read stops at Ctrl-C too.
@Suite struct ReaderChecksTests {
    /// Lines for two checks and part of a third stretch.
    let lines = 2 * TextFile.linesBetweenChecks + 100

    func text(_ line: (Int) -> String) -> TextFile {
        TextFile(path: "input", bytes: Array((0..<lines).map { line($0) + "\n" }.joined().utf8))
    }

    /// Runs `read` with a check that counts, then with one that throws at its first call.
    func expectChecks(_ expected: Int, _ read: (() throws -> Void) throws -> Void) throws {
        var checks = 0
        try read { checks += 1 }
        #expect(checks == expected)
        #expect(throws: Stop.self) { try read { throw Stop() } }
    }

    @Test func conll2000() throws {
        let file = text { $0 % 10 == 9 ? "" : "word\($0) NN B-NP" }
        try expectChecks(2) { check in _ = try CoNLL2000Reader.read(file, checking: check) }
    }

    @Test func conllu() throws {
        let file = text { $0 % 3 == 2 ? "" : "\($0 % 3 + 1)\tw\tw\tNOUN\tNN\t_\t0\troot\t_\t_" }
        try expectChecks(2) { check in _ = try CoNLLUReader.read(file, checking: check) }
    }

    @Test func parallelText() throws {
        let source = text { "source \($0)" }
        let target = text { "cible \($0)" }
        // Each side's lines.
        try expectChecks(4) { check in
            _ = try ParallelTextReader.read(source: source, target: target, markup: .none, checking: check)
        }
        let xml = text { "<seg id=\"\($0)\">s \($0)</seg>" }
        try expectChecks(4) { check in
            _ = try ParallelTextReader.read(source: xml, target: xml, markup: .xml, checking: check)
        }
        try expectChecks(2) { check in
            _ = try ParallelTextReader.read(tsv: text { "s\($0)\tt\($0)" }, checking: check)
        }
    }

    @Test func reviews() throws {
        try expectChecks(2) { check in _ = try ReviewReader.read(tsv: text { "pos\tgood \($0)" }, checking: check) }
        let directory = TemporaryDirectory()
        for (folder, count) in [("pos", 2), ("neg", 3)] {
            try FileManager.default.createDirectory(
                atPath: directory.file(folder), withIntermediateDirectories: true)
            for index in 0..<count {
                try Data("review \(index)".utf8).write(
                    to: URL(fileURLWithPath: directory.file("\(folder)/\(index).txt")))
            }
        }
        // One check a review.
        try expectChecks(5) { check in _ = try ReviewReader.read(directory.path, checking: check) }
    }
}
