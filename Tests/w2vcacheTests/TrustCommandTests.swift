import Foundation
import Support
import TestSupport
import Testing
import Word2Vec

#if canImport(Glibc)
import Glibc
#endif

/// The command line under the second hostile pass: each of these trapped, allocated without bound or printed
/// something that was not what it claimed before the fix.
@Suite struct TrustCommandTests {
    /// A workspace with a cache of 200 words and pos prepared from 40 rows.
    func prepared() throws -> Workspace {
        let workspace = try Workspace()
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        let rows =
            (0..<40).map { "w\(Character(UnicodeScalar(UInt8(97 + $0 % 26)))) NN" }.joined(separator: "\n") + "\n"
        try rows.write(toFile: workspace.path + "/train.txt", atomically: true, encoding: .utf8)
        #expect(try workspace.run("prepare", "pos", "--train", "train.txt", "--test", "train.txt").status == 0)
        return workspace
    }

    @Test func numbersThatTrappedAreUsageErrorsNamingTheirBound() throws {
        let workspace = try prepared()
        let cases: [([String], String)] = [
            (
                ["batches", "pos", "--format", "raw", "--start", "4611686018427387904", "--world-size", "2"],
                "--start 4611686018427387904 is past the end of this rank's share of 1 batch"
            ),
            (
                ["batches", "pos", "--format", "raw", "--start", "4611686018427387904", "--world-size", "4"],
                "--world-size 4 is outside 1 to 2"
            ),
            (
                ["batches", "pos", "--batch-size", "9223372036854775807"],
                "--batch-size 9223372036854775807 is outside 1 to 4096, the server's limit (server.max_batch_size)"
            ),
            (
                ["batches", "pos", "--world-size", "4611686018427387904"],
                "--world-size 4611686018427387904 is outside 1 to 2"
            ),
            (
                [
                    "batches", "pos", "--batch-size", "1", "--world-size", "38", "--rank", "37", "--start",
                    "9223372036854775807",
                ], "--start 9223372036854775807 is past the end"
            ),
            (["batches", "pos", "--epoch=-1"], "--epoch -1 is negative"),
            // A bound that another flag sets names the flag (it was "(world_size=2)", the server's name).
            (
                ["batches", "pos", "--rank", "2", "--world-size", "2"],
                "Error: --rank 2 is outside 0 to 1 (--world-size 2)\n"
            ),
        ]
        for (arguments, message) in cases {
            let result = try workspace.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            // The usage of the command that refused, not the root's (`Usage: w2vcache <subcommand>`).
            #expect(
                result.stderr.hasSuffix(
                    "\nUsage: w2vcache batches [<options>] <dataset>\n  See 'w2vcache batches --help' for more "
                        + "information.\n"), "\(arguments): \(result.stderr)")
        }
        // A --top above the cache's words was named as the server names it (`top=…`), as a data error (status 1).
        for command in [["similar", "king"], ["analogy", "king", "man", "woman"]] {
            let top = try workspace.run(command + ["--top", "99999999999"])
            #expect(top.status == 64, "\(top.stderr)")
            #expect(
                top.stderr.hasPrefix(
                    "Error: --top 99999999999 is more than the 200 words of the vectors file; expected 1 to 200\n"
                        + "Usage: w2vcache \(command[0]) "), "\(top.stderr)")
        }
        let huge = try workspace.run("similar", "king", "--top", "99999999999999999999")
        #expect(huge.status == 64, "\(huge.stderr)")
        // A split the dataset lacks is named in quotes: an empty one showed as nothing ("has no split ; it has").
        for split in ["", "test "] {
            let missing = try workspace.run("batches", "pos", "--split", split)
            #expect(
                missing.status == 1
                    && missing.stderr.contains("dataset pos has no split \"\(split)\"; it has test, train"),
                "\(missing.stderr)")
        }
    }

    /// A batch larger than `server.max_answer_mb`, which the server now refuses to send, is refused before it is
    /// made, as a usage error naming the bound: `batches` made it, whatever its size (one of 4,096 windows of vectors
    /// of 1,048,576 values would be 48 GB).
    @Test func aBatchTheServerWouldNotSendIsRefused() throws {
        let workspace = try prepared()
        #expect(try workspace.run("sample", "--words", "10", "--dim", "10000", "--output", "wide.bin").status == 0)
        #expect(try workspace.run("build", "--vectors", "wide.bin", "--db", "wide").status == 0)
        #expect(
            try workspace.run("prepare", "pos", "--db", "wide", "--train", "train.txt", "--test", "train.txt").status
                == 0)
        try "server:\n  max_answer_mb: 1\n".write(
            toFile: workspace.path + "/small.yml", atomically: true, encoding: .utf8)
        let options = ["--db", "wide", "--config", "small.yml", "--no-shuffle"]
        // Every window of 3 vectors of 10,000 values in one batch: over 4 MB.
        for format in ["raw", "npz", "text"] {
            let refused = try workspace.run(["batches", "pos", "--batch-size", "40", "--format", format] + options)
            #expect(refused.status == 64, "\(format): \(refused.stderr)")
            #expect(
                refused.stderr.hasPrefix("Error: batch 0 would be 4.")
                    && refused.stderr.contains(
                        " MB, more than the 1.0 MB that answers may hold (server.max_answer_mb); give a smaller "
                            + "--batch-size\n"),
                "\(format): \(refused.stderr)")
        }
        // In batches of 8 (960 KB), the same windows come.
        let fits = try workspace.run(["batches", "pos", "--batch-size", "8", "--format", "raw"] + options)
        #expect(fits.status == 0 && fits.stdout.count > 4 << 20, "\(fits.stderr)")
    }

    /// Every file a command reads must be a regular file, refused at once otherwise: `build --vectors` of a FIFO
    /// waited in `open` for a writer for ever (and through SIGTERM, which a build catches); the others said
    /// "cannot be read", or printed a usage line for a file they could not read. Each says what it expected there
    /// (the evaluations, `tokenize` and the token file did not).
    @Test func everyFileACommandReadsMustBeARegularFile() throws {
        let workspace = try Workspace(words: 10)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        let fifo = workspace.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let dangling = workspace.path + "/dangling.yml"
        #expect(symlink(workspace.path + "/nothing.yml", dangling) == 0)
        let readers: [(arguments: (String) -> [String], expected: String)] = [
            ({ ["build", "--vectors", $0, "--db", "other"] }, "a vectors file"),
            (
                { ["build", "--vectors", "vectors.bin.gz", "--db", "other", "--only-words", $0] },
                "a file with one word per line"
            ),
            ({ ["lookup", "--words-from", $0] }, "a file with one word per line"),
            ({ ["prepare", "pos", "--train", $0, "--test", $0] }, "a text file"),
            ({ ["evaluate", "analogies", $0] }, "an analogy questions file"),
            ({ ["evaluate", "pairs", $0] }, "a word-pairs file"),
            ({ ["tokenize", $0] }, "a text file"),
            ({ ["serve", "--port", "0", "--token-file", $0] }, "a file holding the bearer token"),
            ({ ["info", "--config", $0] }, "a YAML file of settings"),
        ]
        for (path, what) in [
            (fifo, "is a FIFO (a named pipe)"), ("/dev/zero", "is a character device"),
            ("/dev/null", "is a character device"), (workspace.path, "is a directory"),
            (dangling, "is a symbolic link to nothing"), (workspace.path + "/absent.yml", "no such file"),
        ] {
            for reader in readers {
                let arguments = reader.arguments(path)
                guard let result = try W2VCacheProcess.run(arguments, in: workspace.path, within: 20) else {
                    Issue.record("\(arguments) had not ended after 20 s")
                    continue
                }
                // `lookup --words-from` reads a pipe a process writes to (`<(command)`); this FIFO has no writer.
                let problem = path == fifo && arguments[0] == "lookup" ? "is a FIFO no process writes to" : what
                let line = "Error: \(path): \(problem); expected \(reader.expected)\n"
                #expect(result.status == 1 && result.stderr == line, "\(arguments): \(result.stderr)")
            }
        }
        #expect(!workspace.contents.contains("other"))
        // A link to a regular file is followed; the file's own mistakes are still named.
        try "oov:\n  seed: -1\n".write(toFile: workspace.path + "/real.yml", atomically: false, encoding: .utf8)
        let link = workspace.path + "/link.yml"
        #expect(symlink(workspace.path + "/real.yml", link) == 0)
        let linked = try workspace.run("info", "--config", link)
        #expect(linked.status != 0 && linked.stderr.contains("oov.seed"), "\(linked.stderr)")
    }

    /// Every command whose output is what it is run for fails (status 1, the reason on stderr) when stdout does not
    /// take it: each ended with status 0 having written nothing, so `w2vcache tokenize f > out` on a full disk
    /// looked like success.
    @Test func outputThatCannotBeWrittenIsAFailure() throws {
        let workspace = try Workspace(words: 40)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        try DatasetCommandTests.train.write(toFile: workspace.path + "/train.txt", atomically: true, encoding: .utf8)
        try DatasetCommandTests.test.write(toFile: workspace.path + "/test.txt", atomically: true, encoding: .utf8)
        #expect(try workspace.run("prepare", "pos", "--train", "train.txt", "--test", "test.txt").status == 0)
        try ": capital\nin for that is\n".write(toFile: workspace.path + "/q.txt", atomically: true, encoding: .utf8)
        try "in\tfor\t1\nthat\tis\t2\nfor\tis\t3\n".write(
            toFile: workspace.path + "/p.txt", atomically: true, encoding: .utf8)
        let commands: [[String]] = [
            ["lookup", "in"], ["lookup", "in", "for", "--format", "json"], ["lookup", "--format=npy", "in"],
            ["info"], ["info", "--json"], ["verify"], ["datasets"], ["similar", "in"],
            ["analogy", "in", "for", "that"],
            ["evaluate", "analogies", "q.txt"], ["evaluate", "pairs", "p.txt"], ["tokenize", "train.txt"],
            ["batches", "pos"], ["batches", "pos", "--format", "npz"], ["--help"], ["--version"], ["lookup", "--help"],
        ]
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        for arguments in commands {
            let result = try W2VCacheProcess.run(arguments, in: workspace.path, output: full)
            #expect(
                result.status == 1
                    && result.stderr == "Error: cannot write to standard output: No space left on device\n",
                "\(arguments): \(result.status) \(result.stderr)")
            // The same command writing to a pipe succeeds (what it writes is checked elsewhere).
            let fine = try W2VCacheProcess.run(arguments, in: workspace.path)
            #expect(fine.status == 0 && !fine.stdout.isEmpty, "\(arguments): \(fine.stderr)")
        }
    }

    /// A stdout another program left non-blocking (a shared terminal, a pipe) takes the whole output: a write that
    /// would block waits until the reader takes more, where the output was cut short (status 0 before the check
    /// above, then `Resource temporarily unavailable`).
    @Test func aNonBlockingStdoutGetsTheWholeOutput() throws {
        let workspace = try Workspace(words: 2000, dimension: 300)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        let words = SampleVectors.words(count: 2000, seed: 5)
        try (words.joined(separator: "\n") + "\n").write(
            toFile: workspace.path + "/words.txt", atomically: true, encoding: .utf8)
        let expected = try workspace.run("lookup", "--words-from", "words.txt").stdout
        #expect(expected.count > 1 << 20, "more than a pipe holds")
        let pipe = Pipe()
        let writing = pipe.fileHandleForWriting.fileDescriptor
        #expect(fcntl(writing, F_SETFL, fcntl(writing, F_GETFL) | O_NONBLOCK) == 0)
        let (process, _, stderr) = try W2VCacheProcess.start(
            ["lookup", "--words-from", "words.txt"], in: workspace.path, output: pipe.fileHandleForWriting)
        try pipe.fileHandleForWriting.close()
        var received = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            usleep(2000)  // a slow reader: the pipe fills
            let count = read(pipe.fileHandleForReading.fileDescriptor, &chunk, chunk.count)
            if count <= 0 { break }  // the end of the output
            received.append(contentsOf: chunk[..<count])
        }
        let messages = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(messages)")
        let whole = received == expected  // compared apart: a failed #expect would diff megabytes
        #expect(whole, "received \(received.count) of \(expected.count) bytes")
    }

    /// `sample`'s counts are bounded by what they can mean: more words than its generator can make looped for ever,
    /// a dimension no reader accepts crashed allocating one vector.
    @Test func sampleRefusesCountsItCannotMake() throws {
        let workspace = try Workspace(words: 1)
        for (flag, value, bound) in [
            ("--words", "1300000", "1 to \(SampleVectors.maxCount)"),
            ("--words", "0", "1 to \(SampleVectors.maxCount)"),
            ("--dim", "100000000000", "1 to \(Word2VecReader.maxDimension)"),
        ] {
            guard
                let result = try W2VCacheProcess.run(
                    ["sample", "--output", "s.bin", flag, value], in: workspace.path, within: 20)
            else {
                Issue.record("sample \(flag) \(value) had not ended after 20 s")
                continue
            }
            #expect(result.status == 64 && result.stderr.hasPrefix("Error: \(flag) \(value): expected \(bound)\n"))
        }
        #expect(workspace.contents == ["vectors.bin.gz"], "nothing written")
        // An empty --output was "cannot move  into place"; a directory "exists" (and, with --force, "cannot create").
        try FileManager.default.createDirectory(atPath: workspace.path + "/out", withIntermediateDirectories: false)
        for (arguments, message) in [
            (["--output", ""], "--output is empty; expected the file to write"),
            (["--output", "out"], "out is a directory; expected the file to write (a path with its name)"),
            (["--output", "out", "--force"], "out is a directory; expected the file to write (a path with its name)"),
        ] {
            let result = try #require(try W2VCacheProcess.run(["sample"] + arguments, in: workspace.path, within: 20))
            #expect(result.status == 64 && result.stderr.hasPrefix("Error: \(message)\n"), "\(result.stderr)")
        }
        #expect(workspace.contents.sorted() == ["out", "vectors.bin.gz"], "nothing written")
    }

    /// `tokenize` is a filter: each line's tokens come out once the line has ended (it read its input to the end
    /// first, so `yes | w2vcache tokenize` grew until the machine ran out of memory), and a line is bounded.
    @Test func tokenizePrintsEachLineAsItComesAndBoundsALine() throws {
        let workspace = try Workspace(words: 1)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: W2VCacheProcess.executable)
        process.arguments = ["tokenize"]
        let (input, output) = (Pipe(), Pipe())
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data("Hello, World!\r\n".utf8))
        // The first line's tokens, while the input is still open.
        var first = Data()
        let deadline = Date().addingTimeInterval(20)
        var ready = pollfd(fd: output.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
        while !first.contains(0x0A) && Date() < deadline {
            guard poll(&ready, 1, 100) == 1 else { continue }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            first += chunk
        }
        #expect(String(decoding: first, as: UTF8.self) == "hello , world !\n", "within 20 s, the input still open")
        input.fileHandleForWriting.write(Data("It's 3.5\nlast".utf8))
        try input.fileHandleForWriting.close()
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(String(decoding: rest, as: UTF8.self) == "it ' s 3 . 5\nlast\n")

        let long = workspace.path + "/long.txt"
        #expect(FileManager.default.createFile(atPath: long, contents: Data("short\n".utf8)))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: long))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(repeating: 0x61, count: 64 << 20 + 1))
        try handle.close()
        guard let result = try W2VCacheProcess.run(["tokenize", "long.txt"], in: workspace.path, within: 60) else {
            Issue.record("tokenize of a 64 MB line had not ended after 60 s")
            return
        }
        #expect(result.status == 1)
        #expect(result.stdoutText == "short\n")
        #expect(result.stderr == "Error: long.txt: line 2: is over 64 MB; expected lines of text\n")
        // `-` is standard input, as the filters' convention has it (it was "-: no such file").
        let dash = try W2VCacheProcess.bash(#"printf 'Hello World\n' | "$W2V" tokenize -"#, in: workspace.path)
        #expect(dash == (0, "hello world\n"))
    }

    /// A dataset file larger than an eighth of the machine's memory is refused before it is read (it was read
    /// whole, and a file larger than the machine killed the process).
    @Test func datasetFilesLargerThanTheMachineCanReadWholeAreRefused() throws {
        let workspace = try Workspace(words: 1)
        let huge = workspace.path + "/huge.txt"
        #expect(
            FileManager.default.createFile(atPath: huge, contents: nil)
                && truncate(huge, off_t(RegularFile.wholeFileLimit) + 1) == 0)
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        for arguments in [
            ["prepare", "pos", "--train", "huge.txt", "--test", "huge.txt"],
            ["prepare", "sentiment", "--train", "huge.txt", "--test", "huge.txt"],
            ["evaluate", "analogies", "huge.txt"],
        ] {
            guard let result = try W2VCacheProcess.run(arguments, in: workspace.path, within: 30) else {
                Issue.record("\(arguments) had not ended after 30 s")
                continue
            }
            #expect(result.status == 1, "\(arguments)")
            #expect(
                result.stderr.contains("huge.txt: is over ")
                    && result.stderr.contains(" (an eighth of this machine's memory, the most read whole)"),
                "\(arguments): \(result.stderr)")
        }
    }

    /// A sample larger than the free space is refused before a byte is written: `--words 1000000 --dim 1048576`
    /// wrote for hours, filling the disk, before it failed.
    @Test func sampleRefusesAFileLargerThanTheFreeSpace() throws {
        let workspace = try Workspace(words: 1)
        var fileSystem = statvfs()
        #expect(statvfs(workspace.path, &fileSystem) == 0)
        let free = UInt64(fileSystem.f_bavail) * UInt64(fileSystem.f_frsize)
        let (words, dimension) = (SampleVectors.maxCount, Word2VecReader.maxDimension)
        for (output, least) in [("s.bin", 4 * words * dimension), ("s.bin.gz", words * dimension)] {
            guard UInt64(least) > free else {
                print("skipped \(output): \(free) bytes free here, more than the \(least) it would need")
                continue
            }
            guard
                let result = try W2VCacheProcess.run(
                    ["sample", "--output", output, "--words", "\(words)", "--dim", "\(dimension)"], in: workspace.path,
                    within: 20)
            else {
                Issue.record("sample --output \(output) had not ended after 20 s")
                continue
            }
            #expect(result.status == 64)
            #expect(result.stderr.contains("Error: \(words) words of \(dimension) values take at least "))
            #expect(result.stderr.contains(" free in \(workspace.path); nothing was written"))
        }
        #expect(workspace.contents == ["vectors.bin.gz"], "nothing written")
    }

    /// The lengths every review or sentence pair is padded to are bounded by what they can mean: a `--max-length` or a
    /// bucket of a trillion tokens crashed allocating the padded rows.
    @Test func paddedLengthsAreBounded() throws {
        let workspace = try Workspace(words: 40)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        try "pos\tgood film\nneg\tbad film\n".write(
            toFile: workspace.path + "/reviews.tsv", atomically: true, encoding: .utf8)
        try "a b\tc d\n".write(toFile: workspace.path + "/pairs.tsv", atomically: true, encoding: .utf8)
        let before = try workspace.run("datasets").stdout
        for (arguments, message) in [
            (
                ["sentiment", "--train", "reviews.tsv", "--test", "reviews.tsv", "--max-length", "1000000000000"],
                "--max-length 1000000000000: expected 1 to 1000000"
            ),
            (
                ["translation", "--tsv", "pairs.tsv", "--buckets", "5,10 1000000000000,5"],
                "--buckets: expected pairs \"S,T\" separated by spaces, with a source from 1 and a target from 3 to 10000 "
                    + "tokens"
            ),
        ] {
            let result = try W2VCacheProcess.run(["prepare"] + arguments, in: workspace.path)
            #expect(result.status == 64 && result.stderr.hasPrefix("Error: \(message)\n"), "\(result.stderr)")
        }
        #expect(try workspace.run("datasets").stdout == before)
    }

    /// `prepare pos --out` names a directory: one it cannot write in fails before the cache is changed, with its
    /// reason (it failed after preparing, with Foundation's error printed raw: `Error Domain=NSCocoaErrorDomain…`).
    @Test func aProcessedFilesDirectoryThatCannotBeWrittenFailsBeforeAnythingChanges() throws {
        let workspace = try Workspace(words: 40)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        try DatasetCommandTests.train.write(toFile: workspace.path + "/train.txt", atomically: true, encoding: .utf8)
        try DatasetCommandTests.test.write(toFile: workspace.path + "/test.txt", atomically: true, encoding: .utf8)
        for (out, problem) in [
            ("train.txt", "is a file, not a directory"), ("/dev/null", "is a character device, not a directory"),
            ("train.txt/sub/deeper", "train.txt is a file, not a directory"),
        ] {
            let result = try workspace.run("prepare", "pos", "--train", "train.txt", "--test", "test.txt", "--out", out)
            #expect(
                result.status == 1 && result.stderr == "Error: --out \(out): \(problem); nothing was changed\n",
                "\(out): \(result.stderr)")
        }
        let empty = try workspace.run("prepare", "pos", "--train", "train.txt", "--test", "test.txt", "--out", "")
        #expect(empty.status == 1 && empty.stderr == "Error: --out is empty; expected a directory\n")
        #expect(try workspace.run("datasets").stdoutText.hasPrefix("no datasets prepared"))
        // Missing directories are made, and only once the dataset is prepared.
        let made = try workspace.run(
            "prepare", "pos", "--train", "train.txt", "--test", "test.txt", "--out", "made/here")
        #expect(made.status == 0, "\(made.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: workspace.path + "/made/here").sorted()
        #expect(files == ["pos.test.processed.txt", "pos.train.processed.txt"])
        #expect(
            try String(contentsOfFile: workspace.path + "/made/here/pos.test.processed.txt", encoding: .utf8)
                == "king NN\nsaid VBD\n")
    }

    /// `serve` where it cannot listen says where and what to do; NIO's errors were printed as they are
    /// (`bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)`).
    @Test func aServerThatCannotListenSaysWhereAndWhy() throws {
        let workspace = try Workspace(words: 10)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        // A port this test listens on.
        let taken = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(taken) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(taken, $0, length) == 0 && listen(taken, 1) == 0 && getsockname(taken, $0, &length) == 0
            }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        for (arguments, line) in [
            (
                ["--port", "\(port)"],
                "cannot listen on 127.0.0.1:\(port): Address already in use; another program listens there: stop it or "
                    + "choose another --port (0 picks a free one)"
            ),
            (
                ["--host", "192.0.2.1", "--port", "8080"],
                "cannot listen on 192.0.2.1:8080: Cannot assign requested address; this machine has no such address "
                    + "(--host 0.0.0.0 listens on all of them)"
            ),
            (
                ["--host", "999.1.1.1", "--port", "8080"],
                "cannot listen on 999.1.1.1:8080: no such address or host name"
            ),
            // It was "cannot listen on :8080".
            (
                ["--host", "", "--port", "8080"],
                "cannot listen on port 8080: the host is empty; expected an address or a host name (127.0.0.1, or "
                    + "0.0.0.0 for every address)"
            ),
        ] {
            guard let result = try W2VCacheProcess.run(["serve"] + arguments, in: workspace.path, within: 30) else {
                Issue.record("serve \(arguments) had not ended after 30 s")
                continue
            }
            #expect(result.status == 1 && result.stderr == "Error: \(line)\n", "\(arguments): \(result.stderr)")
        }
        // An IPv6 address is written in brackets in the URL it prints, which `servingPort` reads.
        let probe = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        var loopback = sockaddr_in6()
        loopback.sin6_family = sa_family_t(AF_INET6)
        loopback.sin6_addr = in6addr_loopback
        let hasIPv6 = withUnsafePointer(to: &loopback) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                probe >= 0 && bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
            }
        }
        close(probe)
        guard hasIPv6 else {
            print("IPv6 loopback is missing on this machine: the bracketed URL of `serve --host ::1` was not checked")
            return
        }
        let (server, _, stderr) = try W2VCacheProcess.start(
            ["serve", "--host", "::1", "--port", "0"], in: workspace.path)
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        #expect(try W2VCacheProcess.servingPort(stderr) > 0)
    }

    /// A cache path that cannot be a cache is named with what is wrong: an empty `--db` built a whole cache in the
    /// working directory's parent before failing, a missing parent was `cannot create the lock file …`, and a device
    /// was called "a file" with advice about `--db` for `copy`'s destination.
    @Test func cachePathsThatCannotBeCachesSayWhy() throws {
        let workspace = try Workspace(words: 10)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        let parent = URL(fileURLWithPath: workspace.path).resolvingSymlinksInPath().path
        let before = workspace.contents
        let cases: [([String], Int32, String)] = [
            (
                ["build", "--vectors", "vectors.bin.gz", "--db", ""], 64,
                "Error: --db is empty; expected a cache directory"
            ),
            (["copy", ""], 64, "Error: <dest> is empty; expected a directory"),
            (
                ["build", "--vectors", "vectors.bin.gz", "--db", "missing/deeper/cache"], 1,
                "Error: cannot make the cache missing/deeper/cache: the directory \(parent)/missing/deeper does not "
                    + "exist; make it first"
            ),
            (
                ["copy", "vectors.bin.gz/cache"], 1,
                "Error: cannot make the cache vectors.bin.gz/cache: \(parent)/vectors.bin.gz is a file, not a directory"
            ),
            (
                ["copy", "/dev/null"], 1,
                "Error: /dev/null is a character device, not a directory; nothing was changed: give a new or empty "
                    + "directory, or an existing w2vcache cache"
            ),
            (
                ["prepare", "pos", "--train", "vectors.bin.gz", "--test", "vectors.bin.gz", "--db", "missing/cache"],
                1,
                "Error: no cache at missing/cache; create one with `w2vcache build --vectors FILE --db missing/cache`"
            ),
        ]
        for (arguments, status, line) in cases {
            let result = try workspace.run(arguments)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(
                result.stderr.split(separator: "\n").first.map(String.init) == line, "\(arguments): \(result.stderr)")
        }
        #expect(workspace.contents == before, "nothing made in the workspace")
        let outside = try FileManager.default.contentsOfDirectory(
            atPath: (parent as NSString).deletingLastPathComponent)
        #expect(!outside.contains { $0.hasPrefix(".\((parent as NSString).lastPathComponent).") }, "nothing beside it")
    }

    @Test func lookupPrintsNonFiniteValuesAsJSONStrings() throws {
        let workspace = try Workspace(words: 10)
        let writer = try Word2VecWriter(
            path: workspace.path + "/odd.bin", count: 2, dimension: 3, layout: .binary(newlineAfterVector: false))
        try writer.append(word: "bad", vector: [.nan, .infinity, -.infinity])
        try writer.append(word: "fine", vector: [1, 0.5, -2])
        try writer.close()
        #expect(try workspace.run("build", "--vectors", "odd.bin", "--non-finite", "keep").status == 0)
        let lookup = try workspace.run("lookup", "bad", "fine", "--format", "json")
        #expect(lookup.status == 0)
        let lines = lookup.stdoutText.split(separator: "\n")
        let bad = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(bad?["vector"] as? [String] == ["NaN", "Infinity", "-Infinity"])
        let fine = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        #expect(fine?["vector"] as? [Double] == [1, 0.5, -2])
    }

    /// A SIGBUS that is no fault in a mapped table (here one sent, `kill -BUS`) is what it would be without the
    /// handler that catches faults in tables (`MappedTableFile`): with SIGBUS's default action before it, the end of
    /// the process. The handler used to restore the default action and return, so `serve` went on as if ignoring it.
    @Test func aBusErrorThatIsNoFaultInATableEndsTheServerAsItWould() throws {
        if let sanitizer = (["__asan_init", "__tsan_init"] as [String]).first(where: { dlsym(nil, $0) != nil }) {
            // A sanitizer's own SIGBUS handler stands before w2vcache's there, so the default action is not what
            // the handler passes the signal on to.
            print("built with \(sanitizer): the SIGBUS passed on to the default action is checked in the plain build")
            return
        }
        let workspace = try Workspace(words: 50)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: W2VCacheProcess.executable)
        server.arguments = ["serve", "--port", "0"]
        server.currentDirectoryURL = URL(fileURLWithPath: workspace.path)
        // Without Swift's crash handler, which otherwise stands before w2vcache's (and reports a signal sent as a
        // crash, then goes on), the default action does.
        server.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
        let stderr = Pipe()
        server.standardError = stderr
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        defer {
            if server.isRunning { kill(server.processIdentifier, SIGKILL) }
            server.waitUntilExit()
        }
        // Reading a vector maps the cache's table, and with it installs the handler.
        let connection = try LoopbackConnection(port: try W2VCacheProcess.servingPort(stderr), timeout: 10)
        connection.send(LoopbackConnection.request("GET", "/v1/vectors/said"))
        let answer = String(decoding: connection.receiveResponse(), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(200))")
        kill(server.processIdentifier, SIGBUS)
        let deadline = Date().addingTimeInterval(20)
        while server.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(!server.isRunning, "serve went on after a SIGBUS sent to it")
        if !server.isRunning {
            #expect(server.terminationReason == .uncaughtSignal && server.terminationStatus == SIGBUS)
        }
    }
}

@Suite struct ConnectionLimitTests {
    @Test func silentConnectionsBeyondTheFileLimitNeverLockHealthOut() throws {
        let workspace = try Workspace(words: 50)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        try "server:\n  header_timeout_s: 2\n".write(
            toFile: workspace.path + "/tight.yml", atomically: true, encoding: .utf8)
        // 64 descriptors in all, as `ulimit -n 64`: 70 silent connections exhausted them and locked every client out.
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/bin/bash")
        server.arguments = [
            "-c", "ulimit -n 64 && exec \"$0\" serve --port 0 --config tight.yml", W2VCacheProcess.executable,
        ]
        server.currentDirectoryURL = URL(fileURLWithPath: workspace.path)
        let stderr = Pipe()
        server.standardError = stderr
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let port = try W2VCacheProcess.servingPort(stderr)
        var silent: [LoopbackConnection] = []
        for _ in 0..<70 {
            guard let connection = try? LoopbackConnection(port: port, timeout: 15) else { continue }
            connection.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n".utf8))
            silent.append(connection)
        }
        #expect(silent.count == 70)
        let started = Date()
        let health = try LoopbackConnection(port: port, timeout: 15)
        health.send(LoopbackConnection.request("GET", "/healthz"))
        let answer = String(decoding: health.receiveResponse(), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 200") && answer.hasSuffix("ok"), "\(answer)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(server.isRunning)
        withExtendedLifetime(silent) {}
    }
}

extension Workspace {
    func run(_ arguments: [String]) throws -> W2VCacheProcess.Result {
        try W2VCacheProcess.run(arguments, in: path)
    }
}
