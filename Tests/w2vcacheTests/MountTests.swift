import Foundation
import Testing

/// Runs shell scripts in a mount namespace of their own (`unshare -m`), where they may mount a tmpfs or remount a
/// directory read-only without touching the machine's mounts.
enum PrivateMounts {
    /// Whether this machine lets the tests make mount namespaces (root, or a container that allows it).
    static let available: Bool = {
        guard
            let result = try? run(
                "mount -t tmpfs -o size=1m tmpfs \"$WORK\" && umount \"$WORK\"", in: NSTemporaryDirectory())
        else { return false }
        return result.status == 0
    }()

    /// Runs `script` with bash inside a new mount namespace; `$W2V` is the w2vcache binary and `$WORK` a scratch
    /// directory under `directory`.
    static func run(_ script: String, in directory: String) throws -> (status: Int32, output: String) {
        let work = directory + "/mnt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        return try W2VCacheProcess.bash(
            "set -u\n" + script, in: directory, behind: ["unshare", "-m"], environment: ["WORK": work])
    }
}

/// A `serve` started in the background inside a script: waits for its port, asks `PATH`, prints the answer's
/// status and length, and stops it.
private let askServer = #"""
    ask() {  # ask DB PATH...
      local db=$1; shift
      "$W2V" serve --db "$db" --port 0 2>"$PWD/serve.log" &
      local pid=$!
      for _ in $(seq 200); do grep -q "serving" "$PWD/serve.log" && break; sleep 0.05; done
      local port=$(grep -o 'http://[^ ]*' "$PWD/serve.log" | head -1 | sed 's/.*://')
      for path in "$@"; do
        python3 -c 'import sys, urllib.request, urllib.error
    try:
        r = urllib.request.urlopen(sys.argv[1], timeout=10); print("served", r.status, len(r.read()))
    except urllib.error.HTTPError as e:
        print("served", e.code)' "http://127.0.0.1:$port$path"
      done
      kill -TERM $pid; wait $pid; echo "serve exit $?"
    }

    """#

@Suite(
    .serialized,
    .enabled(
        if: PrivateMounts.available,
        "this machine does not allow mount namespaces (unshare -m); the read-only and full-disk tests need them"))
struct MountTests {
    @Test func everyReadingCommandWorksOnAReadOnlyMount() throws {
        let workspace = try Workspace(words: 300, dimension: 8)
        try FileManager.default.createDirectory(atPath: workspace.path + "/ro", withIntermediateDirectories: true)
        #expect(try workspace.run("build", "--vectors", "vectors.bin.gz", "--db", "ro/cache").status == 0)
        try "king NN\nqueen NN\nrose VBD\n".write(toFile: workspace.path + "/t.txt", atomically: true, encoding: .utf8)
        #expect(
            try workspace.run("prepare", "pos", "--train", "t.txt", "--test", "t.txt", "--db", "ro/cache").status == 0)
        let before = try FileManager.default.contentsOfDirectory(atPath: workspace.path + "/ro/cache").sorted()
        let result = try PrivateMounts.run(
            askServer + #"""
                mount --bind ro ro && mount -o remount,bind,ro ro
                touch ro/probe 2>/dev/null && echo "the mount is writable"
                "$W2V" lookup king --db ro/cache | cut -c1-40 && echo "lookup ok"
                "$W2V" info --db ro/cache >/dev/null && echo "info ok"
                "$W2V" verify --db ro/cache && echo "verify ok"
                "$W2V" similar king --top 3 --db ro/cache >/dev/null && echo "similar ok"
                "$W2V" batches pos --db ro/cache --batch-size 2 >/dev/null && echo "batches ok"
                ask ro/cache /healthz /v1/vectors/king /v1/datasets/pos/train/batches/0
                "$W2V" prepare pos --train t.txt --test t.txt --db ro/cache --window 2; echo "prepare exit $?"
                """#, in: workspace.path)
        #expect(!result.output.contains("the mount is writable"))
        for line in [
            "lookup ok", "info ok", "verify ok", "similar ok", "batches ok", "served 200 2", "served 200 160",
            "serve exit 0",
        ] {
            #expect(result.output.contains(line), "\(line): \(result.output)")
        }
        // A prepare cannot write there: it says so, and nothing changed.
        #expect(
            result.output.contains("prepare exit 1") && result.output.contains("Read-only file system"),
            "\(result.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path + "/ro/cache").sorted() == before)
    }

    /// A build whose tables do not fit fails naming the cause, and leaves the cache it was replacing as it was and
    /// nothing of its own behind.
    @Test func aBuildThatRunsOutOfSpaceWritingItsTablesLeavesThePreviousCache() throws {
        let workspace = try Workspace(words: 3000, dimension: 300)
        let result = try PrivateMounts.run(
            #"""
            mount -t tmpfs -o size=10m tmpfs "$WORK"
            "$W2V" build --vectors vectors.bin.gz --limit 100 --db "$WORK/cache" 2>/dev/null || { echo "first build failed"; exit 1; }
            # About 2 MB free: the new build's 3.6 MB of word tables cannot fit.
            free=$(( $(stat -f -c '%a*%S' "$WORK") - 2097152 )); head -c $free /dev/zero > "$WORK/filler"
            ls -l --time-style=+ "$WORK/cache" | sort > "$WORK/before"
            "$W2V" build --vectors vectors.bin.gz --db "$WORK/cache" 2>"$WORK/build.log"; echo "build exit $?"
            cat "$WORK/build.log"
            ls -l --time-style=+ "$WORK/cache" | sort > "$WORK/after"
            cmp -s "$WORK/before" "$WORK/after" && echo "cache files unchanged"
            ls -A "$WORK" | grep -v -x -e cache -e filler -e before -e after -e build.log && echo "something was left"
            "$W2V" info --db "$WORK/cache" | grep -q "100 words" && echo "the first build's 100 words"
            "$W2V" verify --db "$WORK/cache" >/dev/null && echo "verify ok"
            """#, in: workspace.path)
        #expect(result.output.contains("build exit 1"), "\(result.output)")
        #expect(result.output.contains("No space left on device"), "\(result.output)")
        #expect(result.output.contains("the previous cache is unchanged"), "\(result.output)")
        for line in ["cache files unchanged", "the first build's 100 words", "verify ok"] {
            #expect(result.output.contains(line), "\(line): \(result.output)")
        }
        #expect(!result.output.contains("something was left"), "\(result.output)")
    }

    /// Processed files that do not fit: the error names the file and says the dataset is prepared; no part of a
    /// file is left.
    @Test func processedFilesThatDoNotFitAreNamedAndLeaveNothingBehind() throws {
        let workspace = try Workspace(words: 40)
        let train = (0..<3000).map { "word\($0) NN" }.joined(separator: "\n") + "\n"
        try train.write(toFile: workspace.path + "/train.txt", atomically: true, encoding: .utf8)
        try "king NN\n".write(toFile: workspace.path + "/test.txt", atomically: true, encoding: .utf8)
        let result = try PrivateMounts.run(
            #"""
            "$W2V" build --vectors vectors.bin.gz 2>/dev/null || { echo "build failed"; exit 1; }
            mount -t tmpfs -o size=16k tmpfs "$WORK"
            "$W2V" prepare pos --train train.txt --test test.txt --out "$WORK/out"; echo "prepare exit $?"
            ls -A "$WORK/out"; echo "listed"
            "$W2V" datasets | head -1
            """#, in: workspace.path)
        #expect(
            result.output.contains(
                "Error: cannot write \(workspace.path)/mnt-"), "\(result.output)")
        #expect(
            result.output.contains(
                "/out/pos.train.processed.txt: No space left on device; the dataset pos is prepared (the same command "
                    + "again writes the files)\nprepare exit 1\nlisted\npos: train 2998"), "\(result.output)")
    }

    @Test func aPrepareThatRunsOutOfSpaceLeavesTheCacheAsItWasAndReadingGoesOn() throws {
        let workspace = try Workspace(words: 3000, dimension: 300)
        // 4,000 distinct training words the model lacks: about 10 MB of out-of-vocabulary vectors and embeddings.
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let train =
            (0..<4000).map { "zz\(letters[$0 % 26])\(letters[$0 / 26 % 26])\(letters[$0 / 676]) NN" }.joined(
                separator: "\n") + "\n"
        try train.write(toFile: workspace.path + "/train.txt", atomically: true, encoding: .utf8)
        try "king NN\nqueen NN\n".write(toFile: workspace.path + "/test.txt", atomically: true, encoding: .utf8)
        let result = try PrivateMounts.run(
            askServer + #"""
                mount -t tmpfs -o size=12m tmpfs "$WORK"
                "$W2V" build --vectors vectors.bin.gz --db "$WORK/cache" 2>/dev/null || { echo "build failed"; exit 1; }
                # Fill the disk to about 2 MB from full: the copy a prepare changes fits, the dataset does not.
                dd if=/dev/zero of="$WORK/filler" bs=1M count=64 2>/dev/null
                rm "$WORK/filler"; free=$(( $(stat -f -c '%a*%S' "$WORK") - 2097152 )); head -c $free /dev/zero > "$WORK/filler"
                ls -l --time-style=+ "$WORK/cache" | sort > "$WORK/before"
                "$W2V" prepare pos --train train.txt --test test.txt --db "$WORK/cache" 2>"$WORK/prepare.log"; echo "prepare exit $?"
                cat "$WORK/prepare.log"
                ls -l --time-style=+ "$WORK/cache" | sort > "$WORK/after"
                cmp -s "$WORK/before" "$WORK/after" && echo "cache files unchanged"
                ls -a "$WORK" | grep -q building && echo "a temporary copy was left"
                df -k "$WORK" | tail -1
                # The disk is still full: reading must not need a byte of it.
                head -c 10000000 /dev/zero >> "$WORK/filler" 2>/dev/null
                "$W2V" lookup king --db "$WORK/cache" >/dev/null && echo "lookup ok"
                "$W2V" info --db "$WORK/cache" >/dev/null && echo "info ok"
                "$W2V" verify --db "$WORK/cache" && echo "verify ok"
                ask "$WORK/cache" /healthz /v1/vectors/king
                """#, in: workspace.path)
        #expect(result.output.contains("prepare exit 1"), "\(result.output)")
        #expect(result.output.contains("No space left on device"), "\(result.output)")
        for line in [
            "cache files unchanged", "lookup ok", "info ok", "verify ok", "served 200 2", "served 200 1328",
            "serve exit 0",
        ] {
            #expect(result.output.contains(line), "\(line): \(result.output)")
        }
        #expect(!result.output.contains("a temporary copy was left"), "\(result.output)")
    }
}
