#!/usr/bin/env python3
"""A fastText model of GoogleNews scale, read by w2vcache and by gensim in one run.

Usage: scripts/bench/fasttext_bench.py [--words 2000000] [--buckets 2000000] [--dim 300] [--out bench-out]
                                       [--oov 100000] [--skip-gensim]

Generates (once, then reused) a synthetic fastText `.bin` model in Facebook's format: --words words, --buckets n-gram
rows, dimension --dim, random float32 values, and an output matrix as skipgram models have. Then measures, side by
side: `w2vcache build` of it (wall time, peak RSS) against gensim's `load_facebook_vectors` (wall time, peak RSS), and
out-of-vocabulary vectors served per second (POST /v1/vectors with "missing": "oov", 1,000 misspelt words per
request, from one and from two client processes), checking a sample of served vectors against gensim's.
"""
import argparse
import multiprocessing
import os
import pathlib
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python"))
sys.path.insert(0, str(REPO / "scripts" / "bench"))

from serving import BINARY_HELP, start_server, w2vcache_binary  # noqa: E402

MAGIC, VERSION = 793712314, 12


def words_of(count, seed=11):
    rng = random.Random(seed)
    syllables = ["ka", "ro", "mi", "sen", "ta", "lu", "ber", "do", "vi", "nel", "os", "tri", "pa", "gan", "el", "ur",
                 "an", "the", "ing", "con", "ex", "pro", "al", "is", "é", "ü", "日"]
    seen, words = set(), []
    while len(words) < count:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.1:
            word = word.capitalize()
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def generate(path, words, buckets, dim):
    """A fastText skipgram model: arguments, dictionary, input matrix (words, then buckets), output matrix."""
    import numpy as np
    rng = np.random.default_rng(5)
    with open(path, "wb") as out:
        out.write(struct.pack("<2i", MAGIC, VERSION))
        # dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate t
        out.write(struct.pack("<12i", dim, 5, 5, 1, 5, 1, 2, 2, buckets, 3, 6, 100) + struct.pack("<d", 1e-4))
        out.write(struct.pack("<3i", len(words), len(words), 0) + struct.pack("<2q", 10 * len(words), -1))
        for index, word in enumerate(words):
            out.write(word.encode() + b"\0" + struct.pack("<qb", len(words) - index, 0))
        out.write(b"\0" + struct.pack("<2q", len(words) + buckets, dim))
        rows = len(words) + buckets
        for start in range(0, rows, 100_000):
            out.write(rng.uniform(-0.1, 0.1, size=(min(100_000, rows - start), dim)).astype("<f4").tobytes())
        out.write(b"\0" + struct.pack("<2q", len(words), dim))
        for start in range(0, len(words), 100_000):
            out.write(np.zeros((min(100_000, len(words) - start), dim), dtype="<f4").tobytes())


def measure(command):
    """(seconds, peak RSS in MB) of a command, from GNU time."""
    report = pathlib.Path(tempfile.gettempdir()) / f"fasttext-bench-rss-{os.getpid()}"
    start = time.perf_counter()
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(report), *map(str, command)], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, int(report.read_text().split()[-1]) / 1024


def rss_mb(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


GENSIM = """
import sys
import tempfile
from gensim.models.fasttext import load_facebook_vectors
kv = load_facebook_vectors(sys.argv[1])
print(len(kv.index_to_key))
"""


def serve_oov(url, words, batch):
    from w2vcache_client import Client
    client = Client(url)
    start = time.perf_counter()
    for i in range(0, len(words), batch):
        client.vectors(words[i:i + batch], missing="oov")
    return len(words) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=2_000_000)
    parser.add_argument("--buckets", type=int, default=2_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--oov", type=int, default=100_000)
    parser.add_argument("--out", default=str(REPO / "bench-out"))
    parser.add_argument("--skip-gensim", action="store_true")
    parser.add_argument("--binary", help=BINARY_HELP)
    args = parser.parse_args()
    if not shutil.which("time") and not pathlib.Path("/usr/bin/time").exists():
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True, stdout=subprocess.DEVNULL)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    binary = w2vcache_binary(args.binary)
    model = out / f"fasttext-{args.words}x{args.dim}-{args.buckets}.bin"
    words = words_of(args.words)
    if not model.exists():
        print(f"generating {model} ...", flush=True)
        partial = model.with_suffix(".partial")
        generate(partial, words, args.buckets, args.dim)
        partial.replace(model)
    print(f"model: {args.words:,} words x {args.dim}, {args.buckets:,} buckets, {model.stat().st_size / 2**30:.1f} GB")

    db = out / "fasttext-cache"
    shutil.rmtree(db, ignore_errors=True)
    ours = measure([binary, "build", "--vectors", model, "--db", db])
    print(f"\n| reading the model | seconds | peak RSS MB |\n|---|---:|---:|\n| w2vcache build | {ours[0]:.1f} | "
          f"{ours[1]:,.0f} |")
    if not args.skip_gensim:
        theirs = measure([sys.executable, "-c", GENSIM, model])
        print(f"| gensim load_facebook_vectors | {theirs[0]:.1f} | {theirs[1]:,.0f} |")
        print(f"w2vcache: {theirs[0] / ours[0]:.2f}x faster, {ours[1] / theirs[1]:.2f}x the memory")
    size = sum(f.stat().st_size for f in db.iterdir()) / 2**30
    print(f"cache on disk: {size:.1f} GB")

    rng = random.Random(4)
    misspelt = [w[:-1] + rng.choice("qxz") + "z" for w in rng.sample(words, args.oov)]
    server, url = start_server(binary, db)
    try:
        # The first such request reads the n-gram rows into the server's memory: timed apart.
        start = time.perf_counter()
        serve_oov(url, misspelt[:10], 10)
        print(f"\nfirst out-of-vocabulary request (the server reads the n-gram rows): "
              f"{time.perf_counter() - start:.2f} s; server RSS then {rss_mb(server.pid):,.0f} MB")
        one = serve_oov(url, misspelt, 1000)
        with multiprocessing.Pool(2) as pool:
            halves = [misspelt[::2], misspelt[1::2]]
            start = time.perf_counter()
            pool.starmap(serve_oov, [(url, half, 1000) for half in halves])
            two = len(misspelt) / (time.perf_counter() - start)
        print(f"out-of-vocabulary vectors through POST /v1/vectors (1,000 words a request): {one:,.0f} words/s from one "
              f"client, {two:,.0f} words/s from two")
        if not args.skip_gensim:
            import numpy as np
            from gensim.models.fasttext import load_facebook_vectors
            from w2vcache_client import Client
            kv = load_facebook_vectors(str(model))
            sample = misspelt[:200]
            served = Client(url).vectors(sample, missing="oov")
            worst = max(float(np.max(np.abs(served[i] - kv[w]))) for i, w in enumerate(sample))
            print(f"200 served out-of-vocabulary vectors against gensim's: largest difference {worst:.2e}")
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
