import Foundation
import LevelDB
import Support
import TestSupport
import Testing
import Word2Vec

/// The command line under hostile use: each of these deleted data, crashed, hung or printed raw control bytes before
/// the fix.
@Suite struct HardeningCommandTests {
    @Test func buildRefusesWhatIsNotACacheAndTouchesNothing() throws {
        let workspace = try Workspace()
        try FileManager.default.createDirectory(atPath: workspace.path + "/d/sub", withIntermediateDirectories: true)
        try "important\n".write(toFile: workspace.path + "/d/notes.txt", atomically: true, encoding: .utf8)
        let folder = try workspace.run("build", "--vectors", "vectors.bin.gz", "--db", "d")
        #expect(
            folder.status == 1
                && folder.stderr.contains("d holds files that are not part of a w2vcache cache (notes.txt, sub)"))
        #expect(try String(contentsOfFile: workspace.path + "/d/notes.txt", encoding: .utf8) == "important\n")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: workspace.path + "/d").sorted() == ["notes.txt", "sub"])

        try "data\n".write(toFile: workspace.path + "/somefile", atomically: true, encoding: .utf8)
        let file = try workspace.run("build", "--vectors", "vectors.bin.gz", "--db", "somefile")
        #expect(file.status == 1 && file.stderr.contains("somefile is a file, not a directory"))
        #expect(try String(contentsOfFile: workspace.path + "/somefile", encoding: .utf8) == "data\n")

        let here = try workspace.run("build", "--vectors", "vectors.bin.gz", "--db", ".")
        #expect(here.status == 1 && here.stderr.contains("nothing was changed"))
        #expect(workspace.contents == ["d", "somefile", "vectors.bin.gz"], "no LOCK, LOG or lock file left behind")
    }

    @Test func aSecondBuildFailsAtOnceNamingTheFirstAndWaitWaits() throws {
        let workspace = try Workspace(words: 20, dimension: 8)
        try SampleVectors.write(path: workspace.path + "/big.bin", count: 300_000, dimension: 64, seed: 1)
        let first = try W2VCacheProcess.start(["build", "--vectors", "big.bin"], in: workspace.path)
        let deadline = Date().addingTimeInterval(20)
        while !workspace.contents.contains(".word2vecdb.lock") && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let second = try workspace.run("build", "--vectors", "vectors.bin.gz")
        let pid = first.process.processIdentifier
        #expect(second.status == 1 && second.stderr.contains("is being written by pid \(pid) (w2vcache build)"))
        let waited = try workspace.run("build", "--vectors", "vectors.bin.gz", "--wait")
        first.process.waitUntilExit()
        #expect(first.process.terminationStatus == 0)
        #expect(waited.status == 0 && waited.stderr.contains("waiting for pid \(pid)"))
        #expect(
            waited.stderr.contains("built word2vecdb: 20 words"),
            "the waiting build ran after the first and its result stands")
        #expect(try workspace.run("info").stdoutText.contains("20 pretrained"))
    }

    /// A build or prepare waiting for another writer stops at the first SIGTERM or SIGINT: the blocking `flock` a
    /// build waited in was restarted after the signal handler ran, so it waited out the other writer's whole run,
    /// and a prepare had no handler (the signal ended it).
    @Test(arguments: [
        ["build", "--vectors", "vectors.bin.gz"], ["prepare", "pos", "--train", "rows.txt", "--test", "rows.txt"],
    ])
    func aWaitingWriterStopsAtOnceWhenInterrupted(command: [String]) throws {
        let workspace = try Workspace(words: 20, dimension: 8)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        try "king NN\nqueen NN\n".write(toFile: workspace.path + "/rows.txt", atomically: true, encoding: .utf8)
        for signal in [SIGTERM, SIGINT] {
            // This test holds the writer lock, as another writer would, for as long as it likes.
            let lock = open(workspace.path + "/.word2vecdb.lock", O_RDWR | O_CREAT, 0o644)
            defer { close(lock) }
            #expect(flock(lock, LOCK_EX) == 0 && write(lock, "pid 1 (a test)\n", 15) == 15)
            let waiting = try W2VCacheProcess.start(command + ["--wait"], in: workspace.path)
            var stderr = ""
            while !stderr.contains("waiting for pid 1 (a test)") && waiting.process.isRunning {
                stderr += String(decoding: waiting.stderr.fileHandleForReading.availableData, as: UTF8.self)
            }
            kill(waiting.process.processIdentifier, signal)
            #expect(
                W2VCacheProcess.wait(for: waiting.process, seconds: 10), "still waiting 10 s after signal \(signal)")
            stderr += String(decoding: waiting.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(waiting.process.terminationStatus == 130, "the status of an interrupted command")
            #expect(
                stderr.contains(
                    "interrupted while waiting for pid 1 (a test) to finish writing word2vecdb; nothing was written"),
                "\(stderr)")
        }
        #expect(workspace.contents == [".word2vecdb.lock", "rows.txt", "vectors.bin.gz", "word2vecdb"])
        #expect(try workspace.run("info").stdoutText.contains("20 pretrained"))
        #expect(try workspace.run("datasets").stdoutText.contains("no datasets prepared"))
    }

    @Test func controlBytesInNamesAndWordsArePrintedEscaped() throws {
        let workspace = try Workspace()
        let bytes = Array("1 2\n".utf8) + Array("bad\u{1B}[31mword".utf8) + [0x20] + floatBytes([.infinity, 1])
        try Data(bytes).write(to: URL(fileURLWithPath: workspace.path + "/evil\u{1B}]0;title\u{07}.bin"))
        let result = try workspace.run("build", "--vectors", "evil\u{1B}]0;title\u{07}.bin")
        #expect(result.status == 1)
        #expect(!result.stderr.contains("\u{1B}") && !result.stderr.contains("\u{07}"))
        #expect(result.stderr.contains("evil\\u{1B}]0;title\\u{7}.bin") && result.stderr.contains("bad\\u{1B}[31mword"))
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        let lookup = try workspace.run("lookup", "line\nbreak")
        #expect(lookup.stderr.contains("line\\nbreak") && lookup.stderr.split(separator: "\n").count == 1)
    }

    /// JSON output escapes what a terminal would obey (C1 controls, DEL, bidirectional overrides) as well as C0, and
    /// still reads back as the same words and names.
    @Test func jsonOutputEscapesEveryControlAndReadsBackTheSame() throws {
        let workspace = try Workspace(words: 10)
        let words = ["e\u{1B}[31mvil", "del\u{7F}", "c1\u{85}x", "csi\u{9B}2J", "bi\u{202E}di", "plain"]
        let file = "ev\u{85}il\u{202E}.bin"
        let writer = try Word2VecWriter(
            path: workspace.path + "/" + file, count: words.count, dimension: 3,
            layout: .binary(newlineAfterVector: false))
        for (index, word) in words.enumerated() { try writer.append(word: word, vector: [1, Float(index) / 10, 0.5]) }
        try writer.close()
        #expect(try workspace.run("build", "--vectors", file).status == 0)
        try ": sec\u{9B}tion\n\(words[0]) \(words[1]) \(words[4]) \(words[5])\n".write(
            toFile: workspace.path + "/questions.txt", atomically: true, encoding: .utf8)
        let outputs = [
            try workspace.run("similar", "plain", "--top", "5", "--format", "json"),
            try workspace.run("lookup", words[0], words[4], "--format", "json"),
            try workspace.run("info", "--json"),
            try workspace.run("evaluate", "analogies", "questions.txt", "--format", "json"),
        ]
        for output in outputs {
            #expect(output.status == 0, "\(output.stderr)")
            let text = output.stdoutText
            #expect(
                !text.unicodeScalars.contains { $0 != "\n" && Printable.needsEscape($0) }, "\(Printable.escape(text))")
        }
        let similar = try #require(try JSONSerialization.jsonObject(with: outputs[0].stdout) as? [String: Any])
        let neighbours = (similar["similar"] as? [[String: Any]] ?? []).compactMap { $0["word"] as? String }
        #expect(Set(neighbours) == Set(words.dropLast()))
        let looked = outputs[1].stdoutText.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["word"] as? String
        }
        #expect(looked == [words[0], words[4]])
        let info = try #require(try JSONSerialization.jsonObject(with: outputs[2].stdout) as? [String: Any])
        #expect((info["source"] as? [String: Any])?["name"] as? String == file)
        let evaluation = try #require(try JSONSerialization.jsonObject(with: outputs[3].stdout) as? [String: Any])
        #expect((evaluation["sections"] as? [[String: Any]])?.first?["section"] as? String == "sec\u{9B}tion")
    }

    @Test func headerCountsAreCheckedUnlessTrusted() throws {
        let workspace = try Workspace()
        let bytes = Array("2 2\n".utf8) + ["a", "b", "c"].flatMap { Array($0.utf8) + [0x20] + floatBytes([1, 2]) }
        try Data(bytes).write(to: URL(fileURLWithPath: workspace.path + "/three.bin"))
        let strict = try workspace.run("build", "--vectors", "three.bin")
        #expect(strict.status == 1 && strict.stderr.contains("the header announces 2 vectors but the file holds more"))
        let trusted = try workspace.run("build", "--vectors", "three.bin", "--trust-header")
        #expect(trusted.status == 0 && trusted.stderr.contains("2 words"))
    }

    @Test func aDamagedCacheIsAnErrorThatSuggestsVerify() throws {
        let workspace = try Workspace()
        let marker = [Float](repeating: 777.25, count: 16)
        let writer = try Word2VecWriter(
            path: workspace.path + "/m.bin", count: 201, dimension: 16, layout: .binary(newlineAfterVector: false))
        for index in 0..<200 { try writer.append(word: "w\(index)", vector: (0..<16).map { Float($0 + index) }) }
        try writer.append(word: "marked", vector: marker)
        try writer.close()
        _ = try workspace.run("build", "--vectors", "m.bin")
        #expect(
            try flipBit(
                inTablesOf: workspace.path + "/word2vecdb", holding: marker.withUnsafeBytes { Array($0) }, at: 30))
        let lookup = try workspace.run("lookup", "marked")
        #expect(lookup.status == 1 && lookup.stdout.isEmpty)
        #expect(lookup.stderr.contains("is damaged") && lookup.stderr.contains("w2vcache verify"))
        #expect(try workspace.run("verify").status == 1)
    }

    /// The build's duration a manifest holds is shown whatever it says: 1e300 seconds trapped `info` (a conversion
    /// to Int).
    @Test func infoShowsAnyBuildDurationAManifestHolds() throws {
        let workspace = try Workspace()
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        let key = Array("\0manifest".utf8)
        for (seconds, shown) in [
            (1e300, "in 1e+300s by"), (-1e300, "in -1e+300s by"), (-2, "in -2.0s by"), (125, "in 2:05 by"),
        ] {
            do {
                let database = try Database(path: workspace.path + "/word2vecdb")
                let stored = try #require(try database.get(key))
                var manifest = try #require(try JSONSerialization.jsonObject(with: Data(stored)) as? [String: Any])
                manifest["buildSeconds"] = seconds
                try database.put(key, Array(try JSONSerialization.data(withJSONObject: manifest)))
            }
            let info = try workspace.run("info")
            #expect(
                info.status == 0 && info.stdoutText.contains(shown), "\(seconds): \(info.stdoutText) \(info.stderr)")
        }
    }

    @Test func badOptionsAndConfigurationAreClearErrors() throws {
        let workspace = try Workspace()
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        try "build:\n  format: bianry\n".write(toFile: workspace.path + "/typo.yml", atomically: true, encoding: .utf8)
        let typo = try workspace.run("build", "--vectors", "vectors.bin.gz", "--config", "typo.yml")
        #expect(
            typo.status == 1
                && typo.stderr.contains("typo.yml: line 2: build.format: expected one of auto, binary, text, glove"))
        try "datasets:\n  translation:\n    buckets: [[5]]\n".write(
            toFile: workspace.path + "/buckets.yml", atomically: true, encoding: .utf8)
        let buckets = try workspace.run("info", "--config", "buckets.yml")
        #expect(buckets.status == 1 && buckets.stderr.contains("datasets.translation.buckets"))
        let show = try workspace.run("batches", "pos", "--show=-1")
        #expect(
            show.status != 0 && show.stderr.contains("--show must not be negative") && !show.stderr.contains("Fatal"))
        // A negative number after a space: it was taken for an option, and the error said the value was missing.
        for (arguments, message) in [
            (["batches", "pos", "--show", "-1"], "--show must not be negative"),
            (["similar", "--top", "-3", "the"], "--top must be at least 1"),
            (["serve", "--port", "-1"], "--port must be from 0 to 65535"),
            (["sample", "--words", "-5"], "--words -5: expected 1 to"),
            (["batches", "pos", "--seed", "-1"], "The value '-1' is invalid for '--seed <seed>'"),
        ] {
            let negative = try workspace.run(arguments)
            #expect(
                negative.status == 64 && negative.stderr.contains(message)
                    && !negative.stderr.contains("Missing value"),
                "\(arguments): \(negative.stderr)")
        }
        // Options the chosen output does not read: each was ignored, and the output written as if not given.
        for (arguments, message) in [
            (["--compact"], "--compact needs --format raw"),
            (["--format", "npz", "--compact"], "--compact needs --format raw"),
            (["--format", "raw", "--show", "2"], "--show is for --format text"),
            (["--format", "npz", "--examples-per-batch", "1"], "--examples-per-batch is for --format text"),
        ] {
            let ignored = try workspace.run(["batches", "pos"] + arguments)
            #expect(ignored.status == 64 && ignored.stderr.contains(message), "\(arguments): \(ignored.stderr)")
        }
        let format = try workspace.run("build", "--vectors", "vectors.bin.gz", "--format", "bianry")
        #expect(format.status != 0 && format.stderr.contains("auto") && format.stderr.contains("glove"))
    }

    @Test func sigtermCutsASlowStreamAfterTheDeadlineAndExitsZero() throws {
        let workspace = try Workspace(words: 300, dimension: 300)
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        // 6,000 windows of 3 x 300 float32: a 21 MB epoch, far more than socket buffers hold.
        let rows = (0..<6000).map { "w\($0 % 50) NN" }.joined(separator: "\n") + "\n"
        try rows.write(toFile: workspace.path + "/train.txt", atomically: true, encoding: .utf8)
        try "a DT\n".write(toFile: workspace.path + "/test.txt", atomically: true, encoding: .utf8)
        #expect(try workspace.run("prepare", "pos", "--train", "train.txt", "--test", "test.txt").status == 0)
        try "server:\n  shutdown_timeout_s: 1\n".write(
            toFile: workspace.path + "/c.yml", atomically: true, encoding: .utf8)
        let (server, _, stderr) = try W2VCacheProcess.start(
            ["serve", "--port", "0", "--config", "c.yml"], in: workspace.path)
        let port = try W2VCacheProcess.servingPort(stderr)
        let reader = try LoopbackConnection(port: port, timeout: 30)
        reader.send(LoopbackConnection.request("GET", "/v1/datasets/pos/train/epoch?batch_size=256"))
        #expect(reader.receive(limit: 4096).count == 4096, "the stream started")
        // The client now reads nothing more: the server blocks on a full socket.
        let signalled = Date()
        kill(server.processIdentifier, SIGTERM)
        _ = W2VCacheProcess.wait(for: server, seconds: 15)
        let took = Date().timeIntervalSince(signalled)
        #expect(took < 8, "stopped \(took) s after SIGTERM with a 1 s deadline")
        #expect(server.terminationReason == .exit && server.terminationStatus == 0)
    }
}
