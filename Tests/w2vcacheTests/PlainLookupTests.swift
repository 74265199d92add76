import ArgumentParser
import Foundation
import Testing
import VectorCache

@testable import w2vcache

/// `lookup`'s plain command lines skip argument-parser (`LookupCommand.Invocation(plainArguments:)`): they must mean
/// what argument-parser makes of them, and every other command line must still reach argument-parser.
@Suite struct PlainLookupTests {
    /// Command lines the quick reading takes.
    static let plain: [[String]] = [
        ["lookup", "king"],
        ["lookup", "king", "New_York", "Paris"],
        ["lookup", "--db", "d", "king"],
        ["lookup", "king", "--db", "d"],
        ["lookup", "--db", "d", "--config", "c.yml", "--format", "json", "--oov", "random", "king", "queen"],
        ["lookup", "--format", "npy", "king", "--oov", "subword", "queen"],
        ["lookup", "--words-from", "words.txt"],
        ["lookup", "--words-from", "words.txt", "--format", "text", "king"],
        ["lookup", "--oov", "none", ""],
        ["lookup", "--db", "d", "naïve", "日本"],
        ["lookup", "help"],
    ]

    /// Command lines it leaves to argument-parser: help, other spellings, bad values, a missing word.
    static let others: [[String]] = [
        ["lookup"],
        ["lookup", "--help"],
        ["lookup", "-h"],
        ["lookup", "king", "--help"],
        ["lookup", "--version"],
        ["lookup", "--db=d", "king"],
        ["lookup", "--db", "d"],
        ["lookup", "--db", "-x", "king"],
        ["lookup", "--db", "", "king"],
        ["lookup", "--db"],
        ["lookup", "--db", "a", "--db", "b", "king"],
        ["lookup", "--format", "yaml", "king"],
        ["lookup", "--format", "JSON", "king"],
        ["lookup", "--oov", "maybe", "king"],
        ["lookup", "--", "-king"],
        ["lookup", "-king"],
        ["lookup", "--unknown", "x", "king"],
        ["build", "--vectors", "v.bin"],
        ["lookups", "king"],
        [],
    ]

    @Test(arguments: plain)
    func aPlainCommandLineMeansWhatArgumentParserReads(_ line: [String]) throws {
        let quick = try #require(LookupCommand.Invocation(plainArguments: line), "not read: \(line)")
        let parsed = try LookupCommand.parse(Array(line.dropFirst()))
        #expect(quick == parsed.invocation)
    }

    @Test(arguments: others)
    func everyOtherCommandLineIsLeftToArgumentParser(_ line: [String]) {
        #expect(LookupCommand.Invocation(plainArguments: line) == nil)
    }
}

extension PlainLookupTests {
    /// A lookup of up to 64 words skips the tables' bloom filters (read whole as each table opens); more keep them.
    @Test func aLookupOfAFewWordsReadsWithoutTheBloomFilters() {
        var configured = StorageSettings()
        configured.bloomBitsPerKey = 12
        let limit = LookupCommand.Invocation.mostWordsWithoutBloomFilters
        #expect(LookupCommand.Invocation.storage(configured, words: 1).bloomBitsPerKey == 0)
        #expect(LookupCommand.Invocation.storage(configured, words: limit).bloomBitsPerKey == 0)
        #expect(LookupCommand.Invocation.storage(configured, words: limit + 1) == configured)
        #expect(LookupCommand.Invocation.storage(configured, words: limit).maxFileSize == configured.maxFileSize)
    }

    /// The same lookups run both ways (`--name=value` sends a command line to argument-parser): the same output, the
    /// same messages, the same exit status, for found words, missing ones, each format and errors.
    @Test func theQuickPathAnswersAsArgumentParsersPathDoes() throws {
        let workspace = try Workspace(words: 50, dimension: 8)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz", "--db", "db").status == 0)
        try "Confidence\nnot_a_word\n".write(toFile: workspace.path + "/words.txt", atomically: true, encoding: .utf8)
        let lines: [[String]] = [
            ["--db", "db", "Confidence"],
            ["--db", "db", "--format", "json", "Confidence", "New_York"],
            ["--db", "db", "--format", "npy", "Confidence"],
            ["--db", "db", "Confidence", "not_a_word"],
            ["--db", "db", "--oov", "random", "--format", "json", "not_a_word"],
            ["--db", "db", "--words-from", "words.txt"],
            ["--db", "no_such_cache", "Confidence"],
            ["--db", "db", "--config", "no_such.yml", "Confidence"],
            ["--db", "db", "--words-from", "no_such.txt"],
        ]
        for line in lines {
            #expect(LookupCommand.Invocation(plainArguments: ["lookup"] + line) != nil)
            var spelled: [String] = []
            var rest = line[...]
            while let argument = rest.popFirst() {
                spelled.append(argument.hasPrefix("--") ? argument + "=" + (rest.popFirst() ?? "") : argument)
            }
            #expect(LookupCommand.Invocation(plainArguments: ["lookup"] + spelled) == nil)
            let quick = try W2VCacheProcess.run(["lookup"] + line, in: workspace.path)
            let parsed = try W2VCacheProcess.run(["lookup"] + spelled, in: workspace.path)
            #expect(quick.status == parsed.status, "\(line)")
            #expect(quick.stdout == parsed.stdout, "\(line)")
            #expect(quick.stderr == parsed.stderr, "\(line)")
        }
    }
}
