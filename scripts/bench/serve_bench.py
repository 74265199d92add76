#!/usr/bin/env python3
"""Load test and benchmark of `w2vcache serve`, with the book's in-process pattern measured in the same run.

Usage: scripts/bench/serve_bench.py [--data ../shared/data] [--clients 8] [--requests 4000]

1. Load: --clients threads send --requests requests in all (a mix of GET /v1/vectors/{word}, POST /v1/vectors of 64
   words and GET .../batches/{i} of 256 tagger windows) to a server on 127.0.0.1, then stop. Reports throughput,
   p50/p99 latency and failures.
2. Throughput: vectors/s through POST /v1/vectors (1,000 words per request) and tagger windows/s through the
   streamed epoch, against the book's Dataset pattern (per item: 3 plyvel gets + np.append) on the same cache.
"""
import argparse
import pathlib
import random
import re
import shutil
import subprocess
import sys
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python"))
sys.path.insert(0, str(REPO / "scripts" / "reference"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(REPO / "bench-out" / "serve"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()

    from book_dataset import windows_per_second
    from w2vcache_client import Client

    data = pathlib.Path(args.data)
    out = pathlib.Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "w2vcache"], cwd=REPO, check=True)
    binary = REPO / ".build" / "release" / "w2vcache"
    db = out / "cache"
    subprocess.run([binary, "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db], check=True, capture_output=True)
    subprocess.run([binary, "prepare", "pos", "--train", data / "conll2000" / "train.txt", "--test",
                    data / "conll2000" / "test.txt", "--db", db, "--out", out], check=True, capture_output=True)
    processed = [line.split(" ")[0] for line in (out / "pos.train.processed.txt").read_text().splitlines()]

    # The book's pattern, in process, before the server takes the cache.
    book = windows_per_second(db, processed, 30_000)

    server = subprocess.Popen([binary, "serve", "--db", db, "--port", "0"], stderr=subprocess.PIPE, text=True)
    url = None
    for line in server.stderr:
        match = re.search(r"on (http://\S+)", line)
        if match:
            url = match.group(1)
            break
    client = Client(url)
    words = [w for w in client.vocabulary("pos")["vocab"]][:5000]
    batch_count = client.batch_count("pos", "train", 256)

    # 1. Bounded load test.
    latencies, failures = [], []
    lock = threading.Lock()
    per_client = args.requests // args.clients

    def worker(seed):
        rng = random.Random(seed)
        local = Client(url)
        for _ in range(per_client):
            kind = rng.random()
            start = time.perf_counter()
            try:
                if kind < 0.5:
                    local.vector(rng.choice(words))
                elif kind < 0.8:
                    local.vectors(rng.sample(words, 64))
                else:
                    local.batch("pos", "train", rng.randrange(batch_count), batch_size=256, seed=1)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
            except Exception as error:  # noqa: BLE001 - every failure counts
                with lock:
                    failures.append(repr(error))

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    latencies.sort()
    print(f"\nload: {args.clients} clients, {len(latencies) + len(failures)} requests in {wall:.2f}s = "
          f"{(len(latencies) + len(failures)) / wall:,.0f} requests/s; p50 {latencies[len(latencies) // 2] * 1000:.2f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.2f} ms; {len(failures)} failed")

    # 2. Throughput.
    sample = [rng_word for rng_word in random.Random(2).choices(words, k=1000)]
    start = time.perf_counter()
    requests = 0
    while time.perf_counter() - start < 3:
        client.vectors(sample)
        requests += 1
    vectors = requests * 1000 / (time.perf_counter() - start)
    start = time.perf_counter()
    windows = sum(len(b["y"]) for b in client.batches("pos", "train", batch_size=512, seed=1))
    streamed = windows / (time.perf_counter() - start)
    print(f"\n| reader | items/s | x book |\n|---|---:|---:|")
    print(f"| book's Dataset (plyvel: 3 gets + np.append per window), in process | {book:,.0f} | 1.0 |")
    print(f"| POST /v1/vectors, 1,000 words per request (vectors/s) | {vectors:,.0f} | {vectors / book:.1f} |")
    print(f"| streamed epoch, 512 windows per batch (windows/s, over HTTP) | {streamed:,.0f} | {streamed / book:.1f} |")
    server.terminate()
    print(f"server exit status after SIGTERM: {server.wait(timeout=20)}")
    if failures:
        print("failures:", failures[:5])
        sys.exit(1)


if __name__ == "__main__":
    main()
