#!/usr/bin/env python3
"""Benchmark of `prepare sentiment` and `prepare translation` against plain Python pipelines, in one run.

Usage: scripts/bench/text_bench.py [--data ../shared/data] [--out bench-out/text]

Makes IMDB-sized (25,000 + 25,000 reviews of ~230 tokens) and IWSLT-sized (~220,000 pairs) inputs by sampling
sentences of ../shared/data/text, then times w2vcache against the same steps in Python (tokenize, count, build the
vocabulary, map to ids, pad or bucket) and reports tokens/s for both.
"""
import argparse
import collections
import pathlib
import random
import re
import shutil
import subprocess
import time

from serving import BINARY_HELP, w2vcache_binary

REPO = pathlib.Path(__file__).resolve().parents[2]
_PATTERNS = [(re.compile(p), r) for p, r in zip(
    [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"],
    [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "])]


def basic_english(line):
    line = line.lower()
    for pattern, replacement in _PATTERNS:
        line = pattern.sub(replacement, line)
    return line.split()


def python_sentiment(train, test, max_vocab=30000, max_len=512):
    def read(path):
        return [line.split("\t", 1) for line in open(path, encoding="utf-8", errors="replace").read().splitlines()]
    train_rows, test_rows = read(train), read(test)
    train_tokens = [basic_english(text) for _, text in train_rows]
    counts = collections.Counter(t for tokens in train_tokens for t in tokens)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: max_vocab - 2]
    vocab = {"<unk>": 0, "<pad>": 1}
    for token, _ in ranked:
        vocab[token] = len(vocab)
    total = 0
    for rows, tokenized in ((train_rows, train_tokens), (test_rows, [basic_english(t) for _, t in test_rows])):
        for tokens in tokenized:
            total += len(tokens)
            ids = [vocab.get(t, 0) for t in tokens[:max_len]]
            ids += [1] * (max_len - len(ids))
    return total


def python_translation(path, buckets=((5, 10), (10, 15), (20, 25), (30, 40))):
    pairs = [line.split("\t", 1) for line in open(path, encoding="utf-8").read().splitlines()]
    tokenized = [(s.lower().split(), t.lower().split()) for s, t in pairs]
    counts = [collections.Counter(), collections.Counter()]
    for s, t in tokenized:
        counts[0].update(s)
        counts[1].update(t)
    vocabs = []
    for c in counts:
        vocab = {"<unk>": 0, "<pad>": 1, "<go>": 2, "<eos>": 3}
        for token, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:30000 - 4]:
            vocab[token] = len(vocab)
        vocabs.append(vocab)
    total = 0
    for s, t in tokenized:
        total += len(s) + len(t)
        S, T = next(((S, T) for S, T in buckets if len(s) < S and len(t) + 1 < T), buckets[-1])
        src = [vocabs[0].get(w, 0) for w in s[:S]]
        src = list(reversed(src + [1] * (S - len(src))))
        tgt = [2] + [vocabs[1].get(w, 0) for w in t[:T - 2]] + [3]
        tgt += [1] * (T - len(tgt))
    return total


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(REPO / "bench-out" / "text"))
    parser.add_argument("--binary", help=BINARY_HELP)
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    w2vcache = w2vcache_binary(args.binary)

    text = (pathlib.Path(args.data) / "text" / "lee_background.cor").read_bytes().decode("utf-8", "replace")
    sentences = [s.strip() + "." for s in text.replace("\n", " ").split(".") if len(s.split()) > 3]
    rng = random.Random(3)
    for name, count in (("train.tsv", 25000), ("test.tsv", 25000)):
        with open(out / name, "w", encoding="utf-8") as handle:
            for _ in range(count):
                review = []
                while len(review) < 200:
                    review += rng.choice(sentences).split()
                handle.write(rng.choice(["pos", "neg"]) + "\t" + " ".join(review) + " <br /><br />\n")
    with open(out / "pairs.tsv", "w", encoding="utf-8") as handle:
        for _ in range(220_000):
            s = rng.choice(sentences).split()[:rng.randint(3, 35)]
            handle.write(" ".join(s) + "\t" + " ".join(reversed(s)) + "\n")

    db = out / "cache"
    shutil.rmtree(db, ignore_errors=True)
    subprocess.run([w2vcache, "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db], check=True, capture_output=True)
    python_seconds, tokens = timed(python_sentiment, out / "train.tsv", out / "test.tsv")
    ours_seconds, _ = timed(subprocess.run, [w2vcache, "prepare", "sentiment", "--train", out / "train.tsv", "--test",
                                             out / "test.tsv", "--db", db], )
    print(f"\n| sentiment, 50,000 reviews, {tokens:,} tokens | seconds | tokens/s |\n|---|---:|---:|")
    print(f"| plain Python (tokenize, count, map, pad) | {python_seconds:.2f} | {tokens / python_seconds:,.0f} |")
    print(f"| w2vcache prepare sentiment (+ OOV vectors, storage) | {ours_seconds:.2f} | {tokens / ours_seconds:,.0f} |")
    python_seconds, tokens = timed(python_translation, out / "pairs.tsv")
    ours_seconds, _ = timed(subprocess.run, [w2vcache, "prepare", "translation", "--tsv", out / "pairs.tsv",
                                             "--pretokenized", "--db", db])
    print(f"\n| translation, 220,000 pairs, {tokens:,} tokens | seconds | tokens/s |\n|---|---:|---:|")
    print(f"| plain Python (split, count, map, bucket, pad) | {python_seconds:.2f} | {tokens / python_seconds:,.0f} |")
    print(f"| w2vcache prepare translation --pretokenized (+ storage) | {ours_seconds:.2f} | {tokens / ours_seconds:,.0f} |")


if __name__ == "__main__":
    main()
