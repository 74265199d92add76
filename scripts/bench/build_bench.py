#!/usr/bin/env python3
"""Benchmark of `w2vcache build` and reads on a GoogleNews-shaped file, with baselines run in the same invocation.

Usage: scripts/bench/build_bench.py [--words 300000] [--dim 300] [--out bench-out] [--binary PATH] [--pairs 5]
                                   [--static PATH]

Generates (once, then reused) a gzipped word2vec binary file shaped like GoogleNews: keys in no particular order
(words, `_` phrases, `#` digit forms, some non-ASCII), float32 values with GoogleNews's few significant bits, no `\\n`
after vectors. Then measures, side by side:
  - zlib inflate of the file, streamed (the floor: any build must inflate it),
  - `w2vcache build` (and an `--only-words` build of 5,000 words), and once more split into its reading and writing
    phases (when /proc shows the input file read to its end),
  - the search index's cost: --pairs builds with it and without it (`--no-search-index`), alternating, wall and CPU,
    each pair beside an inflate, for the build's median ratio to the floor,
  - gensim's `load_word2vec_format` where gensim is installed,
  - whole-process `w2vcache lookup` of one word (median of 21, timed in turn with `--version`, `/bin/true` and two
    dynamically linked Swift programs that print a line, one importing Foundation: the floors of a C program and of
    a dynamic Swift build; for this binary and the self-contained one of scripts/build-static when it exists), and
    random gets/s through `lookup --words-from`,
  - the same reads on a cache laid out with LevelDB's default options (2 MB tables, no bloom filter, 8 MB cache),
with wall time, peak RSS, and ratios against the inflate floor. Builds the release binary unless --binary is given.
"""
import argparse
import os
import pathlib
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zlib

from serving import BINARY_HELP, build_benchmarks, w2vcache_binary

REPO = pathlib.Path(__file__).resolve().parents[2]


def generate(path, words, dim, seed=7, planted=()):
    """Writes a GoogleNews-shaped .bin.gz of `words` vectors; the `planted` words (e.g. an evaluation set's) take
    random places among the first 200,000, as frequent words do in GoogleNews."""
    import numpy as np

    rng = random.Random(seed)
    planted = list(dict.fromkeys(planted))
    syllables = ["ka", "ro", "mi", "sen", "ta", "lu", "ber", "do", "vi", "nel", "os", "tri", "pa", "gan", "el", "ur",
                 "an", "the", "ing", "con", "ex", "pro", "al", "is"]
    seen = set()
    keys = []
    while len(keys) < words:
        kind = rng.random()
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))
        if kind < 0.15:
            word = word.capitalize()
        elif kind < 0.35:
            word = word + "_" + "".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))).capitalize()
        elif kind < 0.40:
            word = "#" * rng.randint(1, 4) + rng.choice(["", ".#", ",###", "_" + word])
        elif kind < 0.42:
            word = word + rng.choice(["é", "ö", "ñ", "ç", "ü", "日本", "の"])
        if word not in seen and word not in planted:
            seen.add(word)
            keys.append(word.encode())
    for position, word in zip(rng.sample(range(min(words, 200_000)), len(planted)), planted):
        keys[position] = word.encode()
    rng_np = np.random.default_rng(seed)
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    with open(path, "wb") as out:
        out.write(compressor.compress(f"{words} {dim}\n".encode()))
        for start in range(0, words, 50_000):
            block = rng_np.uniform(-0.25, 0.25, size=(min(50_000, words - start), dim)).astype("<f4")
            block = (block.view("<u4") & np.uint32(0xFFFFE000)).view("<f4")  # GoogleNews-like precision
            parts = []
            for i, row in enumerate(block):
                parts.append(keys[start + i] + b" " + row.tobytes())
            out.write(compressor.compress(b"".join(parts)))
        out.write(compressor.flush())
    return keys


GNU_TIME = shutil.which("time") and pathlib.Path("/usr/bin/time").exists()


def measure(command, rss=True, **kwargs):
    """Runs a command; returns (seconds, peak RSS in MB, stdout).

    Peak RSS comes from GNU time (`apt-get install time`): a child forked from this large Python process would
    otherwise inherit its resident size in ru_maxrss. Without GNU time the RSS column reads 0.
    """
    report = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"w2vcache-bench-rss-{os.getpid()}"
    rss = rss and GNU_TIME
    wrapped = ["/usr/bin/time", "-f", "%M", "-o", str(report), *command] if rss else command
    start = time.perf_counter()
    result = subprocess.run(wrapped, stdout=kwargs.get("stdout", subprocess.PIPE), stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{command[0]} failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
    rss_mb = int(report.read_text().split()[-1]) / 1024 if rss else 0.0
    return seconds, rss_mb, result.stdout


def swift_floors(out):
    """The least any dynamically linked Swift program of this toolchain takes to start: one that prints a line, and
    one that also imports Foundation (as this package's targets do), compiled here with `swiftc -O`. What a dynamic
    build cannot go under, whatever it does; `[]` where `swiftc` is not on the PATH."""
    if not shutil.which("swiftc"):
        print("swiftc is not on the PATH: the Swift floors are left out")
        return []
    floors = []
    for name, source in (("print", 'print("x")\n'), ("Foundation", 'import Foundation\nprint(Date() > .distantPast)\n')):
        program = out / f"floor-{name}.swift"
        program.write_text(source)
        subprocess.run(["swiftc", "-O", str(program), "-o", str(out / f"floor-{name}")], check=True, capture_output=True)
        floors.append((f"a dynamically linked Swift program: {name}", [str(out / f"floor-{name}")]))
    return floors


def build_phases(command, source):
    """Runs a build; returns (seconds, seconds until it had read the whole input file), the second seen in /proc
    (Linux): the moment the file's descriptor is at its end or closed. `None` where /proc cannot tell."""
    path, size = str(source.resolve()), source.stat().st_size
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    reading, seen = None, False
    while process.poll() is None:
        if reading is None:
            at_end, opened = False, False
            try:
                for fd in os.listdir(f"/proc/{process.pid}/fd"):
                    try:
                        if os.readlink(f"/proc/{process.pid}/fd/{fd}") != path:
                            continue
                        opened = True
                        info = pathlib.Path(f"/proc/{process.pid}/fdinfo/{fd}").read_text()
                        at_end = at_end or int(info.split("pos:")[1].split()[0]) >= size
                    except (OSError, IndexError, ValueError):
                        continue
            except OSError:
                pass
            if at_end or (seen and not opened):
                reading = time.perf_counter() - start
            seen = seen or opened
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"{command[0]} failed ({process.returncode}): {process.stderr.read().decode(errors='replace')}")
    return seconds, reading


INFLATE = """
import sys, zlib
d = zlib.decompressobj(47)
n = 0
with open(sys.argv[1], 'rb', buffering=0) as f:
    while chunk := f.read(1 << 20):
        n += len(d.decompress(chunk))
        while d.unused_data:
            rest = d.unused_data; d = zlib.decompressobj(47); n += len(d.decompress(rest))
print(n)
"""

GENSIM = """
import sys
from gensim.models import KeyedVectors
m = KeyedVectors.load_word2vec_format(sys.argv[1], binary=True)
print(len(m.index_to_key))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=300_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--out", default=str(REPO / "bench-out"))
    parser.add_argument("--binary", help=BINARY_HELP)
    parser.add_argument("--gets", type=int, default=100_000, help="random gets for the read benchmark")
    parser.add_argument("--skip-gensim", action="store_true")
    parser.add_argument("--pairs", type=int, default=5, help="builds with and without the search index, alternating")
    parser.add_argument("--static", default=str(REPO / ".build" / "static" / "w2vcache"),
                        help="the self-contained binary of scripts/build-static, timed beside --binary")
    args = parser.parse_args()
    if args.words < 5000:
        parser.error("--words must be at least 5,000 (the --only-words build takes 5,000 of them)")

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    binary = str(w2vcache_binary(args.binary))

    source = out / f"googlenews-shaped-{args.words}x{args.dim}.bin.gz"
    keys_file = out / f"keys-{args.words}.txt"
    if not source.exists() or not keys_file.exists():
        print(f"generating {source} ...", flush=True)
        keys = generate(source, args.words, args.dim)
        keys_file.write_bytes(b"\n".join(keys) + b"\n")
    keys = keys_file.read_bytes().split(b"\n")[:-1]
    rng = random.Random(1)
    only = out / "only-words.txt"
    only.write_bytes(b"\n".join(rng.sample(keys, 5000)) + b"\n")
    gets = out / "gets.txt"
    gets.write_bytes(b"\n".join(rng.choice(keys) for _ in range(args.gets)) + b"\n")
    size_mb = source.stat().st_size / 2**20
    print(f"file: {source.name}, {args.words} words, dim {args.dim}, {size_mb:.0f} MB gzipped")

    rows = []
    # Warm the page cache so that every contender reads the file from memory.
    measure([sys.executable, "-c", INFLATE, str(source)])
    floor, floor_rss, _ = measure([sys.executable, "-c", INFLATE, str(source)])
    rows.append(("zlib inflate, streamed (floor)", floor, floor_rss))

    db = out / "cache"
    shutil.rmtree(db, ignore_errors=True)
    seconds, rss, _ = measure([binary, "build", "--vectors", str(source), "--db", str(db)])
    rows.append(("w2vcache build", seconds, rss))
    info = subprocess.run([binary, "info", "--db", str(db)], capture_output=True, text=True).stdout
    table_line = [line for line in info.splitlines() if line.startswith("table files")][0]
    # Once more, split into reading the file (parsing, sorting and spilling meanwhile) and writing the tables.
    shutil.rmtree(db, ignore_errors=True)
    total, reading = build_phases([binary, "build", "--vectors", str(source), "--db", str(db)], source)
    phases = (f"build in phases: {total:.2f} s, reading {reading:.2f} s ({reading / floor:.2f}x the floor), writing "
              f"{total - reading:.2f} s" if reading is not None else f"build in phases: {total:.2f} s, unsplit (no /proc)")

    only_db = out / "cache-only"
    shutil.rmtree(only_db, ignore_errors=True)
    seconds, rss, _ = measure([binary, "build", "--vectors", str(source), "--db", str(only_db), "--only-words", str(only)])
    rows.append(("w2vcache build --only-words (5,000)", seconds, rss))

    if not args.skip_gensim:
        try:
            import gensim  # noqa: F401
            seconds, rss, _ = measure([sys.executable, "-c", GENSIM, str(source)])
            rows.append(("gensim load_word2vec_format", seconds, rss))
        except ImportError:
            print("gensim not installed: its row is left out (pip install gensim)")

    print("\n| contender | seconds | x floor | peak RSS MB |\n|---|---:|---:|---:|")
    for name, seconds, rss in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / floor:.2f} | {rss:.0f} |")
    print(f"\ncache after build: {table_line}")
    print(phases)

    # The search index's cost: builds with and without it, alternating, so that both see the same machine, and each
    # first in every other pair (the first of a pair writes into the pages the last build's deleted files freed).
    # Each pair runs the inflate floor too, so that the build's ratio to the floor is a median of ratios taken
    # minutes apart, not one build against one inflate: on a host whose speed drifts, the single pair above can
    # differ by a third from run to run.
    if args.pairs:
        timings = {True: [], False: []}
        floors = []
        pair_db = out / "cache-pairs"
        for pair in range(args.pairs):
            floors.append(measure([sys.executable, "-c", INFLATE, str(source)], rss=False)[0])
            for with_index in ((True, False) if pair % 2 == 0 else (False, True)):
                shutil.rmtree(pair_db, ignore_errors=True)
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                seconds, _, _ = measure([binary, "build", "--vectors", str(source), "--db", str(pair_db),
                                         *([] if with_index else ["--no-search-index"])], rss=False)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                timings[with_index].append((seconds, cpu))
        wall = {key: statistics.median(t[0] for t in value) for key, value in timings.items()}
        cpu = {key: statistics.median(t[1] for t in value) for key, value in timings.items()}
        ratio = {key: statistics.median(t[0] / f for t, f in zip(value, floors)) for key, value in timings.items()}
        index_ratio = statistics.median(w[0] / wo[0] for w, wo in zip(timings[True], timings[False]))
        print(f"\nsearch index, median of {args.pairs} alternating pairs: with {wall[True]:.2f} s wall, "
              f"{cpu[True]:.2f} s CPU; without {wall[False]:.2f} s wall, {cpu[False]:.2f} s CPU: "
              f"{wall[True] / wall[False]:.3f}x wall, {cpu[True] / cpu[False]:.3f}x CPU; the median of the pairs' "
              f"own ratios {index_ratio:.3f}x wall")
        print("pairs, floor / with / without (s): " + ", ".join(
            f"{f:.2f} / {w[0]:.2f} / {wo[0]:.2f}" for f, w, wo in zip(floors, timings[True], timings[False])))
        print(f"each pair beside an inflate (floor median {statistics.median(floors):.2f} s, "
              f"{min(floors):.2f}-{max(floors):.2f}): the build with the index {ratio[True]:.2f}x the floor, "
              f"without it {ratio[False]:.2f}x (medians of the pairs' ratios)")

    # Reads: whole-process lookup of one word (median of 21), then random gets through --words-from.
    default_db = out / "cache-leveldb-defaults"
    default_config = out / "leveldb-defaults.yml"
    default_config.write_text("leveldb:\n  write_buffer_mb: 4\n  max_file_mb: 2\n  block_cache_mb: 0\n"
                              "  bloom_bits_per_key: 0\n")
    shutil.rmtree(default_db, ignore_errors=True)
    measure([binary, "build", "--vectors", str(source), "--db", str(default_db), "--config", str(default_config)])
    word = keys[len(keys) // 2].decode()
    print("\n| reads | ours | LevelDB defaults |\n|---|---:|---:|")
    results = {}
    for label, path, config in (("ours", db, []), ("defaults", default_db, ["--config", str(default_config)])):
        # Whole process, spawned from Python (hyperfine reports ~2 ms less for the same command).
        times = sorted(measure([binary, "lookup", word, "--db", str(path), *config], rss=False)[0] for _ in range(21))
        # Best of 3 after a warm-up read of the same words (page cache and LevelDB's own start-up work done).
        command = [binary, "lookup", "--words-from", str(gets), "--format", "npy", "--db", str(path), *config]
        measure(command, stdout=subprocess.DEVNULL)
        total = min(measure(command, stdout=subprocess.DEVNULL)[0] for _ in range(3))
        results[label] = (times[10] * 1000, args.gets / max(total - times[10], 1e-9))
    print(f"| one `lookup` process, median ms | {results['ours'][0]:.1f} | {results['defaults'][0]:.1f} |")
    print(f"| random gets/s (`lookup --words-from`, {args.gets}) | {results['ours'][1]:,.0f} | {results['defaults'][1]:,.0f} |")

    # Start-up: one lookup process against `--version` and a C `true` (the floor), for each binary, timed in turn.
    binaries = [("this build", binary)]
    if pathlib.Path(args.static).exists():
        binaries.append(("self-contained (scripts/build-static)", args.static))
    else:
        print(f"\n{args.static} does not exist: run scripts/build-static to time the self-contained binary too")
    commands = [("/bin/true", ["/bin/true"]), *swift_floors(out)]
    for label, path in binaries:
        commands += [(f"{label}: --version", [path, "--version"]), (f"{label}: lookup", [path, "lookup", word, "--db", str(db)])]
    runs = {label: [] for label, _ in commands}
    for _ in range(21):
        for label, command in commands:
            runs[label].append(measure(command, rss=False, stdout=subprocess.DEVNULL)[0] * 1000)
    print("\n| whole process, median of 21 in turn | ms |\n|---|---:|")
    for label, values in runs.items():
        print(f"| {label} | {sorted(values)[10]:.2f} |")
    for label, path in binaries:
        print(f"{label}: {pathlib.Path(path).stat().st_size / 2**20:.0f} MB")

    # What verifying LevelDB's checksums on every read costs: random gets with checksums off and on, on the cache
    # (4 KB blocks) and on one with 64 KB blocks (every get verifies its whole block: tables are mmapped, so blocks
    # are never cached).
    checksum_bench = build_benchmarks("ChecksumBench") / "ChecksumBench"
    wide = out / "cache-64k-blocks"
    wide_config = out / "blocks-64k.yml"
    wide_config.write_text("leveldb:\n  block_size_kb: 64\n")
    shutil.rmtree(wide, ignore_errors=True)
    seconds, _, _ = measure([binary, "build", "--vectors", str(source), "--db", str(wide), "--config", str(wide_config)])
    print(f"\nchecksums (build with 64 KB blocks: {seconds:.2f} s, {seconds / floor:.2f}x floor):")
    for label, path in (("4 KB blocks (the default)", db), ("64 KB blocks", wide)):
        report = subprocess.run([checksum_bench, str(path), str(args.gets)], capture_output=True, text=True, check=True).stdout
        print(f"- {label}: " + "; ".join(line for line in report.splitlines()[1:]))


if __name__ == "__main__":
    main()
