import Foundation
import LevelDB
import Testing
import VectorCache

@Suite struct DatasetCommandTests {
    static let train =
        "Confidence NN B-NP\nin IN B-PP\nthe DT B-NP\npound NN I-NP\n\nNew NNP B-NP\nYork NNP I-NP\nrose VBD B-VP\n1.5 "
        + "CD B-NP\n"
    static let test = "king NN B-NP\nsaid VBD B-VP\n"

    func workspaceWithData() throws -> Workspace {
        let workspace = try Workspace()
        try Self.train.write(toFile: workspace.path + "/train.txt", atomically: true, encoding: .utf8)
        try Self.test.write(toFile: workspace.path + "/test.txt", atomically: true, encoding: .utf8)
        return workspace
    }

    @Test func preparePOSWritesTheProcessedFilesAndListsTheDataset() throws {
        let workspace = try workspaceWithData()
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        let prepare = try workspace.run(
            "prepare", "pos", "--train", "train.txt", "--test", "test.txt", "--out", "processed")
        #expect(prepare.status == 0, "\(prepare.stderr)")
        #expect(prepare.stderr.contains("train: 8 rows -> 7 tokens"))
        #expect(prepare.stderr.contains("1 merged phrases"))
        let processed = try String(
            contentsOfFile: workspace.path + "/processed/pos.train.processed.txt", encoding: .utf8)
        #expect(processed.hasPrefix("Confidence NN\nin IN\nthe DT\npound NN\nNew_York NNP\nrose VBD\n#.# CD\n"))
        // Prepared already: the processed files are written all the same (they were lost, or are wanted elsewhere).
        let again = try workspace.run(
            "prepare", "pos", "--train", "train.txt", "--test", "test.txt", "--out", "elsewhere")
        #expect(again.status == 0 && again.stderr.contains("already prepared"))
        #expect(again.stderr.contains("wrote the processed files in elsewhere"))
        for split in ["train", "test"] {
            let name = "/pos.\(split).processed.txt"
            #expect(
                FileManager.default.contents(atPath: workspace.path + "/elsewhere" + name)
                    == FileManager.default.contents(atPath: workspace.path + "/processed" + name))
        }
        let datasets = try workspace.run("datasets")
        #expect(datasets.stdoutText.contains("pos: train 5, test 0 examples"))
        let batches = try workspace.run("batches", "pos", "--batch-size", "2", "--seed", "1", "--show", "3")
        #expect(batches.status == 0)
        #expect(batches.stdoutText.contains("3 batches of up to 2"))
        #expect(batches.stdoutText.contains("x float32[2, 48], y int64[2]"))
        #expect(batches.stdoutText.contains("x float32[1, 48], y int64[1]"))
        let one = try workspace.run("batches", "pos", "--batch-size", "8")
        #expect(
            one.stdoutText.hasPrefix("pos/train: 5 examples, 1 batch of up to 8 (seed 0, epoch 0)\n"),
            "\(one.stdoutText)")
        let info = try workspace.run("info")
        #expect(info.stdoutText.contains("out-of-vocabulary"))
        #expect(info.stdoutText.contains("datasets:     pos (train 5, test 0)"))
        let verify = try workspace.run("verify")
        #expect(verify.status == 0 && verify.stdoutText.contains(", 1 dataset read back, all checks passed"))
        // Markers as the releases up to 0.4.0 wrote them, without the random vectors' seed: counted, not made again.
        var markers: [[UInt8]] = []
        do {
            let database = try Database(path: workspace.path + "/word2vecdb")
            let iterator = try database.makeIterator()
            iterator.seek(to: CacheKeys.oovPrefix)
            while iterator.isValid, try iterator.key().starts(with: CacheKeys.oovPrefix) {
                #expect(try iterator.value() == Array("random 1 0.25".utf8))
                markers.append(try iterator.key())
                iterator.next()
            }
            #expect(!markers.isEmpty)
            for marker in markers { try database.put(marker, []) }
        }
        do {
            let old = try workspace.run("verify")
            #expect(
                old.status == 0
                    && old.stdoutText.contains(
                        "(\(markers.count) out-of-vocabulary; \(markers.count) of them random vectors whose marker "
                            + "does not record their seed, written before markers did: not made again)"),
                "\(old.stdoutText)")
        }
        // A dataset the server could not load is damage, mended by preparing it again.
        do {
            let database = try Database(path: workspace.path + "/word2vecdb")
            try database.delete(Array("\0dataset\0pos\0strings\0tags".utf8))
        }
        let damaged = try workspace.run("verify")
        #expect(damaged.status == 1, "\(damaged.stderr)")
        #expect(damaged.stderr.contains("damaged: dataset pos is damaged (list tags is missing); prepare it again"))
        #expect(damaged.stderr.contains("failed verification with 1 problem; prepare the datasets named again"))
        // A manifest that cannot be read: info and datasets list the rest, name the damage and exit 1.
        do {
            let database = try Database(path: workspace.path + "/word2vecdb")
            try database.put(Array("\0dataset\0pos\0manifest".utf8), Array("{".utf8))
        }
        let unreadable = "dataset pos is damaged (its manifest cannot be read, perhaps written by an older w2vcache)"
        let damagedInfo = try workspace.run("info")
        #expect(damagedInfo.status == 1 && damagedInfo.stderr.contains(unreadable), "\(damagedInfo.stderr)")
        #expect(damagedInfo.stdoutText.contains("words:        ") && damagedInfo.stdoutText.contains("table files:"))
        #expect(damagedInfo.stdoutText.contains("datasets:     pos (damaged)\n"))
        #expect(damagedInfo.stdoutText.contains("fingerprint:  none while a dataset is damaged"))
        let listed = try workspace.run("datasets")
        #expect(listed.status == 1 && listed.stdoutText == "pos: damaged\n" && listed.stderr.contains(unreadable))
    }

    /// The processed files were written over an input of the same name (`--train out/pos.train.processed.txt --out
    /// out`), which was then lost.
    @Test func preparePOSNeverWritesTheProcessedFilesOverItsInput() throws {
        let workspace = try workspaceWithData()
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        let manager = FileManager.default
        try manager.createDirectory(atPath: workspace.path + "/out", withIntermediateDirectories: true)
        try manager.moveItem(
            atPath: workspace.path + "/train.txt", toPath: workspace.path + "/out/pos.train.processed.txt")
        try manager.copyItem(
            atPath: workspace.path + "/test.txt", toPath: workspace.path + "/out/pos.test.processed.txt")
        for (train, test, flag) in [
            ("out/pos.train.processed.txt", "test.txt", "--train"),
            ("out/../out/pos.train.processed.txt", "test.txt", "--train"),
            ("out/pos.train.processed.txt", "out/pos.test.processed.txt", "--train"),
            ("test.txt", "out/pos.test.processed.txt", "--test"),
        ] {
            for extra in [[], ["--vectors", "vectors.bin.gz"]] {
                let run = try workspace.run(
                    ["prepare", "pos", "--train", train, "--test", test, "--out", "out"] + extra)
                #expect(run.status == 1, "\(train) \(test) \(extra): \(run.stderr)")
                #expect(
                    run.stderr.contains(
                        "--out out: pos.\(flag.dropFirst(2)).processed.txt there is the \(flag) file, which the "
                            + "processed files would replace; expected another directory; nothing was changed"),
                    "\(run.stderr)")
            }
        }
        #expect(manager.contents(atPath: workspace.path + "/out/pos.train.processed.txt") == Data(Self.train.utf8))
        #expect(manager.contents(atPath: workspace.path + "/out/pos.test.processed.txt") == Data(Self.test.utf8))
        #expect(try workspace.run("datasets").stdoutText.contains("pos") == false)
        // A link named as a processed file is replaced, not what it leads to.
        try manager.removeItem(atPath: workspace.path + "/out/pos.test.processed.txt")
        try manager.createSymbolicLink(
            atPath: workspace.path + "/out/pos.test.processed.txt", withDestinationPath: "../test.txt")
        let linked = try workspace.run(
            "prepare", "pos", "--train", "out/pos.train.processed.txt", "--test", "test.txt", "--out", "elsewhere")
        #expect(linked.status == 0, "\(linked.stderr)")
        let replaced = try workspace.run(
            "prepare", "pos", "--train", "elsewhere/pos.train.processed.txt", "--test", "test.txt", "--out", "out")
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(manager.contents(atPath: workspace.path + "/test.txt") == Data(Self.test.utf8))
        #expect((try? manager.destinationOfSymbolicLink(atPath: workspace.path + "/out/pos.test.processed.txt")) == nil)
    }

    @Test func sentimentAndTranslationFromTheCommandLine() throws {
        let workspace = try Workspace()
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        for folder in ["pos", "neg"] {
            try FileManager.default.createDirectory(
                atPath: workspace.path + "/imdb/train/\(folder)", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(
                atPath: workspace.path + "/imdb/test/\(folder)", withIntermediateDirectories: true)
            try "A \(folder) film. You're <br />right!".write(
                toFile: workspace.path + "/imdb/train/\(folder)/0_1.txt", atomically: true, encoding: .utf8)
            try "Another \(folder) one.".write(
                toFile: workspace.path + "/imdb/test/\(folder)/0_1.txt", atomically: true, encoding: .utf8)
        }
        let sentiment = try workspace.run(
            "prepare", "sentiment", "--train", "imdb/train", "--test", "imdb/test", "--max-length", "8")
        #expect(sentiment.status == 0, "\(sentiment.stderr)")
        #expect(sentiment.stderr.contains("train: 2 reviews (1 positive)"))
        let preview = try workspace.run("batches", "sentiment", "--batch-size", "2", "--no-shuffle")
        #expect(preview.stdoutText.contains("x int32[2, 8], y int64[2], lengths int64[2]"))
        #expect(preview.stdoutText.contains("neg (8 tokens): a neg film . you ' re right"))

        try "<talkid>1</talkid>\nHello there.\nIt's late.\n".write(
            toFile: workspace.path + "/t.tags.en", atomically: true, encoding: .utf8)
        try "<talkid>1</talkid>\nBonjour.\nIl est l'heure.\n".write(
            toFile: workspace.path + "/t.tags.fr", atomically: true, encoding: .utf8)
        let translation = try workspace.run("prepare", "translation", "--source", "t.tags.en", "--target", "t.tags.fr")
        #expect(translation.status == 0, "\(translation.stderr)")
        #expect(translation.stderr.contains("1 markup lines dropped"))
        let pairs = try workspace.run("batches", "translation", "--batch-size", "1", "--show", "2", "--no-shuffle")
        #expect(pairs.stdoutText.contains("It 's late .  =>  <go> Il est l' heure . <eos>"))
        #expect(try workspace.run("datasets").stdoutText.contains("translation: train 2 examples"))
        let lowered = try workspace.run(
            "prepare", "translation", "--source", "t.tags.en", "--target", "t.tags.fr", "--lowercase")
        #expect(lowered.status == 0)
        #expect(
            try workspace.run("batches", "translation", "--batch-size", "1", "--show", "2", "--no-shuffle").stdoutText
                .contains("it 's late .  =>  <go> il est l' heure . <eos>"))
        try "a\nb\nc\n".write(toFile: workspace.path + "/u.fr", atomically: true, encoding: .utf8)
        let mismatch = try workspace.run("prepare", "translation", "--source", "t.tags.en", "--target", "u.fr")
        #expect(mismatch.status == 1 && mismatch.stderr.contains("sentence 1 is here but on line 1 of u.fr"))
    }

    /// `--encoding-errors` and `--skip-bad-lines`, shared by the text datasets, reach the readers; without them the
    /// library's defaults hold (bytes that are not UTF-8 replaced and counted, a malformed line an error).
    @Test func textInputFlagsReachTheReaders() throws {
        let workspace = try Workspace()
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        try Data(Array("1\tgood film\n0\tbad ".utf8) + [0xFF] + Array(" film\n".utf8))
            .write(to: URL(fileURLWithPath: workspace.path + "/train.tsv"))
        try "1\tnice\n0\tawful\n".write(toFile: workspace.path + "/test.tsv", atomically: true, encoding: .utf8)
        try "1\tgood film\nnot a line\n0\tbad film\n".write(
            toFile: workspace.path + "/lines.tsv", atomically: true, encoding: .utf8)
        let strict = try workspace.run(
            "prepare", "sentiment", "--train", "train.tsv", "--test", "test.tsv", "--encoding-errors", "fail")
        #expect(strict.status == 1 && strict.stderr.contains("train.tsv: line 2: holds bytes that are not UTF-8"))
        let replaced = try workspace.run("prepare", "sentiment", "--train", "train.tsv", "--test", "test.tsv")
        #expect(
            replaced.status == 0 && replaced.stderr.contains("1 with bytes that are not UTF-8"), "\(replaced.stderr)")
        let malformed = try workspace.run("prepare", "sentiment", "--train", "lines.tsv", "--test", "test.tsv")
        #expect(malformed.status == 1 && malformed.stderr.contains("lines.tsv: line 2"))
        let skipped = try workspace.run(
            "prepare", "sentiment", "--train", "lines.tsv", "--test", "test.tsv", "--skip-bad-lines")
        #expect(skipped.status == 0 && skipped.stderr.contains("train: 2 reviews (1 positive)"))
        #expect(skipped.stderr.contains("1 skipped"))
    }

    /// Ctrl-C or SIGTERM in the middle of a prepare stops it between its steps: status 130, the cache as it was,
    /// nothing beside it (the signal used to end it, leaving its lock file and any half-made copy for the next run).
    @Test(arguments: [SIGINT, SIGTERM])
    func anInterruptedPrepareLeavesTheCacheAsItWas(signal: Int32) throws {
        let workspace = try Workspace(words: 20, dimension: 8)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz").status == 0)
        // 10,000 sentences: the prepare is still reading them when the signal comes.
        let sentence = "1\tking\t_\tNOUN\tNN\t_\t2\tnsubj\t_\t_\n2\truled\t_\tVERB\tVBD\t_\t0\troot\t_\t_\n\n"
        try String(repeating: sentence, count: 10_000).write(
            toFile: workspace.path + "/treebank.conllu", atomically: true, encoding: .utf8)
        let before = workspace.contents
        let (process, _, stderr) = try W2VCacheProcess.start(
            ["prepare", "parser", "--train", "treebank.conllu", "--test", "treebank.conllu"], in: workspace.path)
        // Once it holds the cache's writer lock.
        workspace.interrupt(process, with: signal, onceAnEntryBegins: ".word2vecdb.lock")
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 130)
        #expect(message == "w2vcache: interrupted; the cache word2vecdb is unchanged\n")
        #expect(workspace.contents == before)
        #expect(try workspace.run("datasets").stdoutText.contains("no datasets prepared"))
    }

    /// A split given two ways is refused rather than read one way: `--tsv` with `--source` read the TSV and ignored
    /// the other file.
    @Test func aTranslationSplitGivenTwoWaysIsRefused() throws {
        let workspace = try Workspace(words: 10)
        for (arguments, message) in [
            (["--tsv", "p.tsv", "--source", "en.txt"], "give --source and --target, or --tsv, not both"),
            (
                ["--tsv", "p.tsv", "--source", "en.txt", "--target", "fr.txt"],
                "give --source and --target, or --tsv, not both"
            ),
            (["--source", "en.txt"], "give --source and --target, or --tsv, not both"),
            (
                ["--tsv", "p.tsv", "--valid-tsv", "v.tsv", "--valid-target", "fr.txt"],
                "give both --valid-source and --valid-target, or --valid-tsv, or neither"
            ),
            (
                ["--tsv", "p.tsv", "--valid-source", "en.txt"],
                "give both --valid-source and --valid-target, or --valid-tsv, or neither"
            ),
        ] {
            let result = try workspace.run(["prepare", "translation"] + arguments)
            #expect(
                result.status == 64 && result.stderr.hasPrefix("Error: \(message)\n"), "\(arguments): \(result.stderr)")
        }
        #expect(workspace.contents == ["vectors.bin.gz"])
    }

    /// `--skip-bad-lines` on a treebank leaves out each sentence with a malformed line, and says how many.
    @Test func aMalformedTreebankLineIsSkippedWithItsSentenceAndCounted() throws {
        let workspace = try workspaceWithData()
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        let sentence = "1\tking\t_\tNOUN\tNN\t_\t2\tnsubj\t_\t_\n2\truled\t_\tVERB\tVBD\t_\t0\troot\t_\t_\n\n"
        try (sentence + "1\tking\t_\tNOUN\tNN\t_\tx\tnsubj\t_\t_\n\n" + sentence).write(
            toFile: workspace.path + "/bad.conllu", atomically: true, encoding: .utf8)
        let skipped = try workspace.run(
            "prepare", "parser", "--train", "bad.conllu", "--test", "bad.conllu", "--skip-bad-lines")
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(
            skipped.stderr.contains("train: 2 sentences,")
                && skipped.stderr.contains("configurations; 1 malformed line skipped, each with its sentence\n"),
            "\(skipped.stderr)")
    }

    @Test func badInputAndMissingPrerequisitesSayWhatToDo() throws {
        let workspace = try workspaceWithData()
        let noCache = try workspace.run("prepare", "pos", "--train", "train.txt", "--test", "test.txt")
        #expect(noCache.status == 1 && noCache.stderr.contains("w2vcache build --vectors"))
        _ = try workspace.run("build", "--vectors", "vectors.bin.gz")
        try "a DT\noops\nbig JJ\ncat NN\n".write(toFile: workspace.path + "/bad.txt", atomically: true, encoding: .utf8)
        let bad = try workspace.run("prepare", "pos", "--train", "bad.txt", "--test", "test.txt")
        #expect(bad.status == 1 && bad.stderr.contains("bad.txt: line 2: \"oops\" has one column"))
        let skipped = try workspace.run(
            "prepare", "pos", "--train", "bad.txt", "--test", "test.txt", "--skip-bad-lines")
        #expect(skipped.status == 0 && skipped.stderr.contains("; 1 bad line skipped"))
        let wrongDimension = try workspace.run(
            "prepare", "pos", "--train", "train.txt", "--test", "test.txt", "--dim", "300")
        #expect(wrongDimension.status != 0 && wrongDimension.stderr.contains("holds 16-dimensional vectors, not 300"))
        // With --vectors, the file's dimension is checked before anything is built (--dim was ignored there).
        let datasets = try workspace.run("datasets").stdout
        let contents = workspace.contents
        let wrongFile = try workspace.run(
            "prepare", "pos", "--train", "train.txt", "--test", "test.txt", "--vectors", "vectors.bin.gz", "--dim",
            "300")
        #expect(
            wrongFile.status == 1
                && wrongFile.stderr.contains(
                    "vectors.bin.gz: at byte 0 of the vector data: its vectors have 16 components; expected 300"),
            "\(wrongFile.stderr)")
        #expect(workspace.contents == contents)
        #expect(try workspace.run("datasets").stdout == datasets)
        let notPrepared = try workspace.run("batches", "parser")
        #expect(notPrepared.status == 1 && notPrepared.stderr.contains("w2vcache prepare parser"))
    }
}
