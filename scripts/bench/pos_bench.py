#!/usr/bin/env python3
"""Benchmark of the tagger and parser data, with baselines run in the same invocation.

Usage: scripts/bench/pos_bench.py [--data ../shared/data] [--out bench-out] [--filler 300000]

Measures on CoNLL-2000 (and EWT dev for the parser):
  - `w2vcache prepare pos` against scripts/reference/pos_book.py (the book's rules over a Python set of keys);
  - tagger window batches/s (Benchmarks/DatasetBench) against the book's Dataset pattern (per item: 3 LevelDB gets
    with plyvel and np.append) and against a plain memory copy of the same bytes;
  - parser configurations/s (oracle + features) over EWT dev.
The model is made up: 60% of the data's normalized words, some of its phrases and 300,000 filler keys, dim 300.
"""
import argparse
import pathlib
import random
import re
import shutil
import subprocess
import sys
import time

from serving import BINARY_HELP, build_benchmarks, w2vcache_binary

REPO = pathlib.Path(__file__).resolve().parents[2]


def timed(command, **kwargs):
    start = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(REPO / "bench-out" / "pos"))
    parser.add_argument("--filler", type=int, default=300_000)
    parser.add_argument("--book-items", type=int, default=50_000)
    parser.add_argument("--binary", help=BINARY_HELP)
    args = parser.parse_args()

    import numpy as np

    data = pathlib.Path(args.data)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, test = data / "conll2000" / "train.txt", data / "conll2000" / "test.txt"
    w2vcache = w2vcache_binary(args.binary)
    bench = build_benchmarks() / "DatasetBench"

    sys.path.insert(0, str(REPO / "scripts" / "reference"))
    from book_dataset import windows_per_second
    from pos_book import made_up_model_keys

    rows = [line.split() for line in train.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(5)
    keys = made_up_model_keys(rows)
    keys |= {f"filler{i}" for i in range(args.filler)}
    keys = sorted(keys)
    rng.shuffle(keys)
    model = out / "model.bin"
    keys_file = out / "keys.txt"
    keys_file.write_text("".join(k + "\n" for k in keys), encoding="utf-8")
    vectors = np.random.default_rng(1).uniform(-0.25, 0.25, size=(len(keys), 300)).astype("<f4")
    with open(model, "wb") as handle:
        handle.write(f"{len(keys)} 300\n".encode())
        for key, row in zip(keys, vectors):
            handle.write(key.encode() + b" " + row.tobytes())
    db = out / "cache"
    shutil.rmtree(db, ignore_errors=True)
    subprocess.run([w2vcache, "build", "--vectors", model, "--db", db], check=True, capture_output=True)

    tokens = sum(1 for _ in rows) + sum(1 for line in test.read_text().splitlines() if line.strip())
    ours = timed([w2vcache, "prepare", "pos", "--train", train, "--test", test, "--db", db, "--out", out], capture_output=True)
    reference = 0.0
    for split, source in (("train", train), ("test", test)):
        reference += timed([sys.executable, REPO / "scripts" / "reference" / "pos_book.py", keys_file, source,
                            out / f"reference.{split}.txt"])
        assert (out / f"reference.{split}.txt").read_bytes() == (out / f"pos.{split}.processed.txt").read_bytes()
    print(f"\n| prepare pos on CoNLL-2000 ({tokens} rows) | seconds | rows/s |\n|---|---:|---:|")
    print(f"| Python statement of the rules over a set (reference) | {reference:.2f} | {tokens / reference:,.0f} |")
    print(f"| w2vcache prepare pos (LevelDB lookups, OOV vectors, storage included) | {ours:.2f} | {tokens / ours:,.0f} |")
    print(f"ratio reference/ours: {reference / ours:.2f}")

    # The book's Dataset pattern: per item, 3 LevelDB gets and np.append.
    words = [line.split(" ")[0] for line in (out / "pos.train.processed.txt").read_text(encoding="utf-8").splitlines()]
    book = windows_per_second(db, words, args.book_items)
    result = subprocess.run([bench, db, "256", "2000", data / "ud-english-ewt" / "en_ewt-ud-dev.conllu"],
                            check=True, capture_output=True, text=True).stdout
    print(f"\nbook's Dataset pattern (plyvel, 3 gets + np.append per item): {book:,.0f} windows/s")
    print(result.strip())
    ours_rate = float(re.search(r"batches: (\d+) windows/s", result).group(1))
    print(f"w2vcache / book: {ours_rate / book:.0f}x")


if __name__ == "__main__":
    main()
