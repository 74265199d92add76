import Foundation
import Testing
import Word2Vec

/// Runs the built `w2vcache` executable as a user would.
struct W2VCacheProcess {
    /// The executable SwiftPM built beside this test bundle.
    static let executable: String = {
        let bundleDirectory = Bundle.main.bundleURL.deletingLastPathComponent()
        let candidates = [
            bundleDirectory, Bundle.main.bundleURL,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ]
        for directory in candidates {
            let path = directory.appendingPathComponent("w2vcache").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return bundleDirectory.appendingPathComponent("w2vcache").path
    }()

    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: String
        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `w2vcache arguments…` in `directory` and waits for it; its stdout goes to `output` when given (`stdout`
    /// in the result is then empty).
    static func run(_ arguments: [String], in directory: String, output: FileHandle? = nil) throws -> Result {
        let process = try start(arguments, in: directory, output: output)
        let stdout = process.stdout.fileHandleForReading.readDataToEndOfFile()
        let stderr = process.stderr.fileHandleForReading.readDataToEndOfFile()
        process.process.waitUntilExit()
        return Result(
            status: process.process.terminationStatus, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Runs `w2vcache arguments…` in `directory`; `nil` when it had not exited after `seconds` (it is killed then).
    static func run(_ arguments: [String], in directory: String, within seconds: Double) throws -> Result? {
        let process = try start(arguments, in: directory)
        guard wait(for: process.process, seconds: seconds) else { return nil }
        let stdout = process.stdout.fileHandleForReading.readDataToEndOfFile()
        let stderr = process.stderr.fileHandleForReading.readDataToEndOfFile()
        return Result(
            status: process.process.terminationStatus, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Waits up to `seconds` for `process` to exit: true if it did; false if not, and it is killed then.
    static func wait(for process: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        let exited = !process.isRunning
        if !exited { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return exited
    }

    /// Runs `script` with bash in `directory` (behind `wrapper`, such as `unshare -m`), `$W2V` the w2vcache
    /// binary and `environment` added to this process's, and waits for it: its status, and its output and errors
    /// together.
    static func bash(
        _ script: String, in directory: String, behind wrapper: [String] = [], environment: [String: String] = [:]
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = wrapper + ["bash", "-c", script]
        process.environment = ProcessInfo.processInfo.environment.merging(
            environment.merging(["W2V": executable]) {
                $1
            }
        ) { $1 }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func start(_ arguments: [String], in directory: String, output: FileHandle? = nil) throws -> (
        process: Process, stdout: Pipe, stderr: Pipe
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = output ?? stdout
        process.standardError = stderr
        try process.run()
        // Only the child writes to the pipe it was not given: close this end so that reading it ends at once.
        if output != nil { try stdout.fileHandleForWriting.close() }
        return (process, stdout, stderr)
    }

    /// The port of a `serve` process, read from its "serving … on http://HOST:PORT" line (`[ADDRESS]` for IPv6).
    static func servingPort(_ stderr: Pipe, timeout: Double = 30) throws -> Int {
        let handle = stderr.fileHandleForReading
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let data = handle.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if let range = text.range(of: #"on http://(\[[0-9a-f:]+\]|[^:/]+):(\d+)"#, options: .regularExpression),
                let port = Int(text[range].split(separator: ":").last ?? "")
            {
                return port
            }
        }
        throw POSIXError(.ETIMEDOUT)
    }
}

/// A fresh working directory holding a small vectors file.
final class Workspace {
    let path: String

    init(words: Int = 200, dimension: Int = 16) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("cli-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try SampleVectors.write(path: path + "/vectors.bin.gz", count: words, dimension: dimension, seed: 5)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func run(_ arguments: String...) throws -> W2VCacheProcess.Result {
        try W2VCacheProcess.run(arguments, in: path)
    }

    var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    /// Sends `signal` to `process` once an entry whose name begins with `prefix` appears here (what the command
    /// writes while it works), or when it has exited or `timeout` seconds have passed, and waits for it to end. A
    /// process still running `timeout` seconds after the signal is an issue of the test, and is killed.
    func interrupt(
        _ process: Process, with signal: Int32, onceAnEntryBegins prefix: String, timeout: Double = 30,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let deadline = Date().addingTimeInterval(timeout)
        while !contents.contains(where: { $0.hasPrefix(prefix) }) && Date() < deadline && process.isRunning {
            Thread.sleep(forTimeInterval: 0.005)
        }
        kill(process.processIdentifier, signal)
        if !W2VCacheProcess.wait(for: process, seconds: timeout) {
            Issue.record(
                "still running \(Int(timeout)) s after signal \(signal); killed", sourceLocation: sourceLocation)
        }
    }
}

@Suite struct CommandLineTests {
    @Test func helpListsTheCommands() throws {
        let workspace = try Workspace(words: 10)
        let help = try workspace.run("--help")
        #expect(help.status == 0)
        for command in ["build", "lookup", "info", "verify", "sample"] { #expect(help.stdoutText.contains(command)) }
        let buildHelp = try workspace.run("build", "--help")
        #expect(buildHelp.stdoutText.contains("--only-words") && buildHelp.stdoutText.contains("--limit"))
    }

    @Test func buildThenLookupInTheDefaultDirectory() throws {
        let workspace = try Workspace()
        let build = try workspace.run("build", "--vectors", "vectors.bin.gz")
        #expect(build.status == 0, "\(build.stderr)")
        #expect(build.stderr.contains("built word2vecdb: 200 words, dim 16"))
        #expect(workspace.contents.contains("word2vecdb"))
        let lookup = try workspace.run("lookup", "Confidence")
        #expect(lookup.status == 0)
        let fields = lookup.stdoutText.split(separator: " ")
        #expect(fields.first == "Confidence" && fields.count == 17)
        #expect(fields.dropFirst().allSatisfy { Float($0.trimmingCharacters(in: .newlines)) != nil })
    }

    /// A cache of one word was "1 words" in the summaries of build, info and verify, and in `sample`'s.
    @Test func aCountOfOneTakesTheSingular() throws {
        let workspace = try Workspace(words: 1)
        let build = try workspace.run("build", "--vectors", "vectors.bin.gz")
        #expect(build.status == 0 && build.stderr.contains("built word2vecdb: 1 word, dim 16"), "\(build.stderr)")
        let info = try workspace.run("info")
        #expect(info.stdoutText.contains("read:         1 record; 0 duplicates, "), "\(info.stdoutText)")
        #expect(info.stdoutText.contains("search index: 1 word in the file's order"), "\(info.stdoutText)")
        let verify = try workspace.run("verify")
        #expect(verify.stdoutText.hasPrefix("ok: 1 word (0 out-of-vocabulary), "), "\(verify.stdoutText)")
        #expect(verify.stdoutText.contains(", search index of 1 row, all checks passed"), "\(verify.stdoutText)")
        let sample = try workspace.run("sample", "--words", "1", "--dim", "4", "--output", "one.bin")
        #expect(sample.stderr.contains("wrote one.bin: 1 word, dim 4"), "\(sample.stderr)")
    }

    @Test func aMissingWordIsNamedAndTheFoundOnesStillPrinted() throws {
        let workspace = try Workspace()
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz", "--db", "cache")
        let lookup = try workspace.run(
            "lookup", "king", "no-such-word", "", " king", "New_York", "--db", "cache", "--format", "json")
        #expect(lookup.status == 1)
        // Each in quotes: an empty word, or one with a space at an end, showed as nothing, or as two spaces.
        #expect(lookup.stderr.contains(#"not in the cache: "no-such-word", "", " king"\#n"#), "\(lookup.stderr)")
        let lines = lookup.stdoutText.split(separator: "\n")
        #expect(lines.count == 2)
        for (line, word) in zip(lines, ["king", "New_York"]) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["word"] as? String == word)
            #expect((object?["vector"] as? [Double])?.count == 16)
            #expect(object?["oov"] as? Bool == false)
        }
    }

    /// A word a cache keeps as its file wrote it, not UTF-8 (`--invalid-utf8 keep`), was looked up as the text the
    /// command line's bytes decode to (`caf\u{FFFD}`), and `--words-from` refused it.
    @Test func aWordThatIsNotUTF8IsLookedUpByItsBytes() throws {
        let workspace = try Workspace()
        var file = Array("2 2\n".utf8)
        for (word, values) in [(Array("caf".utf8) + [0xE9], [Float(0), 1]), (Array("café".utf8), [2, 3])] {
            file += word + [UInt8(ascii: " ")]
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { file += $0 } }
        }
        try Data(file).write(to: URL(fileURLWithPath: workspace.path + "/latin.bin"))
        try Data([0x63, 0x61, 0x66, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: workspace.path + "/words.txt"))
        #expect(try workspace.run("build", "--vectors", "latin.bin", "--db", "cache").status == 0)
        // Through bash, whose `printf` makes an argument of any bytes (Process takes strings).
        func lookup(_ arguments: String) throws -> (status: Int32, output: String) {
            try W2VCacheProcess.bash("\"$W2V\" lookup --db cache " + arguments, in: workspace.path)
        }
        let latin = #""$(printf 'caf\351')""#
        #expect(try lookup(latin) == (0, "caf\\xE9 0.0 1.0\n"))
        #expect(try lookup("--words-from words.txt café") == (0, "café 2.0 3.0\ncaf\\xE9 0.0 1.0\n"))
        let npy = try lookup(latin + " café --format npy | tail -c 16 | od -An -tf4")
        #expect(npy.status == 0 && npy.output.split(separator: " ").map(String.init) == ["0", "1", "2", "3\n"])
        let missing = try lookup(#""$(printf 'caf\350')" café"#)
        #expect(missing.status == 1 && missing.output.contains(#"not in the cache: "caf\xE8""#), "\(missing.output)")
        // A command line argument-parser reads (`--name=value`): each word is the argument it came from.
        let parsed = try lookup(#"--format=text "$(printf 'caf\350')" "$(printf 'caf\351')" 2>/dev/null"#)
        #expect(parsed == (1, "caf\\xE9 0.0 1.0\n"))
        // In JSON, each such byte as Python's surrogateescape writes it (it was an error: "JSON cannot carry it").
        #expect(
            try lookup(latin + " --format json")
                == (0, #"{"word": "caf\udce9", "vector": [0.0, 1.0], "oov": false, "kind": "word"}"# + "\n"))
        try Data(Array("café\n\n".utf8) + [0x63, 0x61, 0x66, 0xE9, 0x0A]).write(
            to: URL(fileURLWithPath: workspace.path + "/later.txt"))
        // `-` is standard input (it was "-: no such file").
        #expect(try lookup("--words-from - café < later.txt") == (0, "café 2.0 3.0\ncafé 2.0 3.0\ncaf\\xE9 0.0 1.0\n"))
        #expect(
            try lookup("--words-from - --format json < later.txt").output.hasSuffix(
                #"{"word": "caf\udce9", "vector": [0.0, 1.0], "oov": false, "kind": "word"}"# + "\n"))
        // A shell's `<(command)`, a pipe named `/dev/fd/N`, is read as standard input is, its writer done or still
        // at work (it was refused: "is a FIFO (a named pipe)").
        let piped = try lookup("--words-from <(cat later.txt) café")
        #expect(piped == (0, "café 2.0 3.0\ncafé 2.0 3.0\ncaf\\xE9 0.0 1.0\n"))
        #expect(try lookup("--words-from <(sleep 0.3; cat later.txt)") == (0, "café 2.0 3.0\ncaf\\xE9 0.0 1.0\n"))
    }

    /// A file name that is not UTF-8 reaches the command as text with U+FFFD for its bytes, so a file that is there
    /// was "no such file", with nothing to say why. The failure now says which argument is not UTF-8; a word that is
    /// not UTF-8, which a lookup takes, gets no such note.
    @Test func aFileNameThatIsNotUTF8IsSaidToBeOne() throws {
        let workspace = try Workspace()
        try Data("1 2\nking 0.5 1\n".utf8).write(to: URL(fileURLWithPath: workspace.path + "/plain.txt"))
        let latin = #""$(printf 'v\351.txt')""#
        let named = try W2VCacheProcess.bash(
            "cp plain.txt " + latin + " && \"$W2V\" build --vectors " + latin + " --db cache", in: workspace.path)
        #expect(
            named
                == (
                    1,
                    "Error: v\u{FFFD}.txt: no such file; expected a vectors file\nNote: v\\xE9.txt holds bytes that are "
                        + "not UTF-8, which w2vcache takes in the words it looks up but not in a file name or another value "
                        + "(that reads them as U+FFFD); expected a UTF-8 name\n"
                ), "\(named.output)")
        let word = try W2VCacheProcess.bash(
            "\"$W2V\" build --vectors plain.txt --db cache >/dev/null 2>&1 && \"$W2V\" lookup --db cache "
                + #""$(printf 'k\351')""#, in: workspace.path)
        #expect(word == (1, "w2vcache: not in the cache: \"k\\xE9\"\n"))
    }

    @Test func npyOutputHasTheRightShape() throws {
        let workspace = try Workspace()
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        let one = try workspace.run("lookup", "king", "--format", "npy")
        #expect(one.status == 0)
        #expect(one.stdout.prefix(6) == Data([0x93] + Array("NUMPY".utf8)))
        #expect(one.stdoutText.contains("'shape': (16,)"))
        #expect(one.stdout.count == 128 + 64)
        let two = try workspace.run("lookup", "king", "queen", "--format", "npy")
        #expect(two.stdoutText.contains("'shape': (2, 16)"))
        #expect(two.stdout.count == 128 + 128)
    }

    @Test func infoAndVerifyDescribeTheCache() throws {
        let workspace = try Workspace()
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        let info = try workspace.run("info")
        #expect(info.status == 0)
        #expect(info.stdoutText.contains("200 pretrained"))
        #expect(info.stdoutText.contains("vectors.bin.gz (binary, gzip"))
        let json = try workspace.run("info", "--json")
        let manifest = try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any]
        #expect(manifest?["dimension"] as? Int == 16)
        let verify = try workspace.run("verify")
        #expect(verify.status == 0 && verify.stdoutText.hasPrefix("ok: 200 words"))
    }

    @Test func badInputIsAClearErrorAndLeavesNoCache() throws {
        let workspace = try Workspace()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: workspace.path + "/vectors.bin.gz"))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: workspace.path + "/cut.bin.gz"))
        let result = try workspace.run("build", "--vectors", "cut.bin.gz")
        #expect(result.status == 1)
        #expect(result.stderr.contains("cut.bin.gz: at byte"))
        #expect(result.stderr.contains("truncated"))
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack"))
        #expect(workspace.contents == ["cut.bin.gz", "vectors.bin.gz"])
        let directory = try workspace.run("build", "--vectors", ".")
        #expect(directory.status == 1 && directory.stderr.contains(".: is a directory; expected a vectors file"))
        let noCache = try workspace.run("lookup", "king")
        #expect(noCache.status == 1 && noCache.stderr.contains("no cache at word2vecdb"))
    }

    @Test func theConfigurationFileSetsTheCachePathAndFlagsWin() throws {
        let workspace = try Workspace()
        try "cache:\n  path: from-config\n".write(toFile: workspace.path + "/c.yml", atomically: true, encoding: .utf8)
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz", "--config", "c.yml")
        #expect(workspace.contents.contains("from-config"))
        _ = try workspace.run(
            "build", "--vectors", "vectors.bin.gz", "--config", "c.yml", "--db", "from-flag", "--limit", "5")
        #expect(workspace.contents.contains("from-flag"))
        let info = try workspace.run("info", "--db", "from-flag")
        #expect(info.stdoutText.contains("5 pretrained"))
        let bad = try workspace.run("info", "--config", "missing.yml")
        #expect(bad.status != 0 && bad.stderr.contains("missing.yml: no such file"))
    }

    @Test func aSampleKilledWhileWritingLeavesNoPartOfItsFile() throws {
        let workspace = try Workspace(words: 20, dimension: 8)
        let before = FileManager.default.contents(atPath: workspace.path + "/vectors.bin.gz")
        let (process, _, _) = try W2VCacheProcess.start(
            ["sample", "--output", "vectors.bin.gz", "--force", "--words", "400000", "--dim", "64"], in: workspace.path)
        // Killed while it writes (it wrote the file in place: the half-written file stayed, and `scripts/demo` took
        // it for the sample).
        workspace.interrupt(process, with: SIGKILL, onceAnEntryBegins: ".partial-")
        #expect(FileManager.default.contents(atPath: workspace.path + "/vectors.bin.gz") == before)
        let killedPartial = ".partial-\(process.processIdentifier)-vectors.bin.gz"
        #expect(workspace.contents.contains(killedPartial))
        // A file of the same shape of name that is not a sample's start is not w2vcache's: it stays.
        let notOurs = ".partial-\(Int32.max)-vectors.bin.gz"
        #expect(FileManager.default.createFile(atPath: workspace.path + "/" + notOurs, contents: Data("notes".utf8)))
        let whole = try workspace.run("sample", "--output", "small.bin.gz", "--words", "10", "--dim", "4")
        #expect(whole.status == 0)
        #expect(workspace.contents.contains("small.bin.gz"))
        #expect(!workspace.contents.contains { $0.hasSuffix("-small.bin.gz") })
        #expect(try workspace.run("build", "--vectors", "small.bin.gz").status == 0)
        // The next sample of the same file removes what the killed one left (it kept them, ever more of them).
        let again = try workspace.run("sample", "--output", "vectors.bin.gz", "--force", "--words", "10", "--dim", "4")
        #expect(again.status == 0)
        #expect(workspace.contents.filter { $0.hasPrefix(".partial-") } == [notOurs])
    }

    @Test(arguments: ["SIGINT", "SIGTERM"])
    func anInterruptedSampleRemovesWhatItWroteAndSaysSo(signal: String) throws {
        let workspace = try Workspace(words: 20, dimension: 8)
        let before = FileManager.default.contents(atPath: workspace.path + "/vectors.bin.gz")
        let (process, _, stderr) = try W2VCacheProcess.start(
            ["sample", "--output", "vectors.bin.gz", "--force", "--words", "400000", "--dim", "64"], in: workspace.path)
        // It ended by the signal, leaving its partial file behind.
        workspace.interrupt(process, with: signal == "SIGINT" ? SIGINT : SIGTERM, onceAnEntryBegins: ".partial-")
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 130)
        #expect(message == "w2vcache: interrupted; vectors.bin.gz was not written\n")
        #expect(workspace.contents == ["vectors.bin.gz"])
        #expect(FileManager.default.contents(atPath: workspace.path + "/vectors.bin.gz") == before)
    }

    @Test(arguments: [("SIGINT", SIGINT), ("SIGKILL", SIGKILL)])
    func aSignalDuringABuildLeavesThePreviousCache(name: String, signal: Int32) throws {
        let workspace = try Workspace(words: 20, dimension: 8)
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        let before = try workspace.run("lookup", "king").stdoutText
        // A file big enough to take a while: 400k words of 64 values (~100 MB).
        try SampleVectors.write(path: workspace.path + "/big.bin", count: 400_000, dimension: 64, seed: 1)
        let (process, _, stderr) = try W2VCacheProcess.start(["build", "--vectors", "big.bin"], in: workspace.path)
        // Once the build has started writing its temporary files.
        workspace.interrupt(process, with: signal, onceAnEntryBegins: ".word2vecdb.")
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if signal == SIGINT {
            #expect(process.terminationStatus == 130)
            #expect(message.contains("interrupted"))
            #expect(workspace.contents == ["big.bin", "vectors.bin.gz", "word2vecdb"])
        }
        #expect(try workspace.run("lookup", "king").stdoutText == before)
        // The next build cleans up what a killed one left and succeeds.
        let rebuild = try workspace.run("build", "--vectors", "vectors.bin.gz")
        #expect(rebuild.status == 0)
        #expect(workspace.contents == ["big.bin", "vectors.bin.gz", "word2vecdb"])
    }
}
