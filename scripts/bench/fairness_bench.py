#!/usr/bin/env python3
"""Benchmark of a trainer's batches beside similarity searches on one server, against the same batches alone.

Usage: scripts/bench/fairness_bench.py [--words 300000] [--searches 1 4 8] [--queries 1000] [--binary PATH]

On a GoogleNews-shaped cache (build_bench.py's generator) with CoNLL-2000 prepared for the tagger (from
../shared/data/conll2000), one `w2vcache serve`: the latency of `GET .../batches/{i}?batch_size=256`, asked one after
another, alone and then while `--searches` clients each post `--queries` one-word queries to `/v1/similar` at once;
with each search's time. A server whose searches take the threads its batches are computed on keeps a trainer
waiting for as long as the searches run.
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts" / "bench"))

from build_bench import generate  # noqa: E402
from serving import BINARY_HELP, start_server, w2vcache_binary  # noqa: E402

CONLL = REPO.parent / "shared" / "data" / "conll2000"


def timed(url, body=None):
    """Seconds to read the whole answer of a GET (or a POST of `body` as JSON), and the status."""
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as answer:
        answer.read()
        return time.perf_counter() - start, answer.status


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=300_000)
    parser.add_argument("--searches", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--out", default=str(REPO / "bench-out" / "fairness"))
    parser.add_argument("--binary", help=BINARY_HELP)
    args = parser.parse_args()
    if not (CONLL / "train.txt").exists():
        raise SystemExit(f"fairness_bench.py needs CoNLL-2000 in {CONLL} (../shared/data)")
    binary = w2vcache_binary(args.binary)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    vectors = out / f"googlenews-shaped-{args.words}x300.bin.gz"
    print(f"generating {vectors} ...", flush=True)
    words = generate(vectors, args.words, 300)
    db = out / "db"
    subprocess.run([binary, "build", "--vectors", vectors, "--db", db], check=True, capture_output=True)
    subprocess.run([binary, "prepare", "pos", "--db", db, "--train", CONLL / "train.txt", "--test",
                    CONLL / "test.txt", "--out", out], check=True, capture_output=True)
    queries = [{"positive": [word.decode()], "top": 1} for word in words[1:args.queries + 1]]
    server, url = start_server(binary, db)
    try:
        batch = f"{url}/v1/datasets/pos/train/batches/{{}}?batch_size=256"
        timed(f"{url}/v1/similar", queries[0])  # the search index loaded
        alone = [timed(batch.format(i))[0] for i in range(50)]
        print(f"batches alone: p50 {statistics.median(alone) * 1e3:.1f} ms, max {max(alone) * 1e3:.1f} ms")
        for count in args.searches:
            searches = []
            clients = [threading.Thread(target=lambda: searches.append(timed(f"{url}/v1/similar",
                                                                           {"queries": queries})))
                       for _ in range(count)]
            for client in clients:
                client.start()
            beside = []
            while any(client.is_alive() for client in clients):
                beside.append(timed(batch.format(len(beside) % 800))[0])
                time.sleep(0.02)
            for client in clients:
                client.join()
            print(f"{count} searches of {len(queries)} queries at once: batches beside them p50 "
                  f"{statistics.median(beside) * 1e3:.1f} ms, max {max(beside) * 1e3:.1f} ms ({len(beside)} batches, "
                  f"p50 {statistics.median(beside) / statistics.median(alone):.2f}x alone); searches "
                  f"{', '.join(f'{seconds:.2f}' for seconds, _ in sorted(searches))} s, "
                  f"statuses {sorted({status for _, status in searches})}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
