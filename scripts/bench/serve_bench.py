#!/usr/bin/env python3
"""Load test and benchmark of `w2vcache serve`, every baseline measured in the same run.

Usage: scripts/bench/serve_bench.py [--data ../shared/data] [--clients 16] [--requests 8000] [--epochs 3]
                                    [--fresh-servers 5]

Serves the tagger's CoNLL-2000 windows (3 x 300 float32) from the project's sample vectors, then:

0. Cold start: --fresh-servers times, a fresh server and a trainer that takes the embedding matrix first (as
   examples/ do), then reads epochs: the first epoch's windows/s against the best of --epochs later ones. Then, on
   one more fresh server, the first GET of the matrix, vocabulary and a batch, and a new client's first epoch.

1. Load: --clients threads send --requests requests in all (GET /v1/vectors/{word} 50%, POST /v1/vectors of 64
   words 30%, GET .../batches/{i} of 256 windows 20%), with checksums verified on every read. Throughput, p50/p99
   latency, failures.
2. Vectors/s through POST /v1/vectors (1,000 words per request; also 1,000 words the cache lacks), and
   `Client.vector()` calls/s on the client's keep-alive connection against a new connection per call (urllib, as the
   client worked before).
3. Feeding a trainer: windows/s that reach Python (batch 256) by every path, before (.npz, a request per batch in
   the DataLoader, as the first round shipped them) and after (raw frames, compact windows, a stream per worker),
   beside a plain numpy copy of the same bytes (the limit) and the book's in-process pattern. Each figure is the
   best of --epochs epochs (the first of a process includes its start: fetching the embedding matrix, forking
   workers).
"""
import argparse
import io
import multiprocessing
import pathlib
import random
import re
import shutil
import subprocess
import sys
import threading
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python"))
sys.path.insert(0, str(REPO / "scripts" / "reference"))
sys.path.insert(0, str(REPO / "scripts" / "bench"))

from serving import BINARY_HELP, build_benchmarks, start_server, w2vcache_binary  # noqa: E402
from w2vcache_client import Client  # noqa: E402


def epoch_rate(client, seed=1):
    """Windows/s of one epoch of the tagger's training split, batch 256, read by `client`."""
    start = time.perf_counter()
    count = sum(len(batch["y"]) for batch in client.batches("pos", "train", batch_size=256, seed=seed))
    return count / (time.perf_counter() - start)


def best(runs, function):
    """The highest rate of `runs` calls of `function` (which returns items and seconds)."""
    rates = []
    for _ in range(runs):
        items, seconds = function()
        rates.append(items / seconds)
    return max(rates)


def timed(function):
    start = time.perf_counter()
    items = function()
    return items, time.perf_counter() - start


def plain_copy(rows, batch=256, row_bytes=3600, batches=2000):
    """Windows/s of a plain numpy copy of one batch's bytes (x and y) into another buffer, batch by batch, from a
    source the size of the embedding matrix: the limit any reader of these batches works against."""
    source = np.random.default_rng(0).integers(0, 255, size=rows * row_bytes // 3, dtype=np.uint8)
    x = np.empty(batch * row_bytes, np.uint8)
    y = np.empty(batch * 8, np.uint8)
    span = len(source) - len(x)

    def run():
        for index in range(batches):
            start = (index * 7_919_513) % span
            x[:] = source[start:start + len(x)]
            y[:] = source[start:start + len(y)]
        return batches * batch
    return best(3, lambda: timed(run))


def curl_rate(url, query, windows):
    """Windows/s of the server alone: curl reads the epoch stream into /dev/null."""
    def run():
        subprocess.run(["curl", "-s", "-o", "/dev/null", f"{url}/v1/datasets/pos/train/epoch?{query}"], check=True)
        return windows
    return lambda: timed(run)


def client_rate(url, **options):
    def run():
        return sum(len(batch["y"]) for batch in Client(url).batches("pos", "train", batch_size=256, seed=1, **options))
    return lambda: timed(run)


def rank_reader(url, rank, world, results):
    start = time.perf_counter()
    count = sum(len(b["y"]) for b in Client(url).batches("pos", "train", batch_size=256, seed=1, rank=rank, world_size=world))
    results.put((count, time.perf_counter() - start))


def ranks_rate(url, world):
    """Windows/s of `world` processes each reading its rank's share at once (measured from the first start to the
    last end)."""
    def run():
        results = multiprocessing.Queue()
        processes = [multiprocessing.Process(target=rank_reader, args=(url, r, world, results)) for r in range(world)]
        start = time.perf_counter()
        for process in processes:
            process.start()
        counts = [results.get()[0] for _ in processes]
        for process in processes:
            process.join()
        return sum(counts), time.perf_counter() - start
    return run


def legacy_epoch_dataset(client, batch_size, seed):
    """The first round's EpochDataset: one request per batch (.npz), batches split across workers."""
    import torch
    from torch.utils.data import IterableDataset, get_worker_info

    class Legacy(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            worker, workers = (info.id, info.num_workers) if info else (0, 1)
            count = client.batch_count("pos", "train", batch_size=batch_size)
            for index in range(worker, count, workers):
                arrays = client.batch("pos", "train", index, batch_size=batch_size, seed=seed)
                yield {key: torch.from_numpy(value) for key, value in arrays.items()}
    return Legacy()


def dataloader_rate(url, workers, legacy):
    def run():
        import torch
        from w2vcache_client import EpochDataset  # needs torch
        client = Client(url)
        if legacy:
            loader = torch.utils.data.DataLoader(legacy_epoch_dataset(client, 256, 1), batch_size=None, num_workers=workers)
        else:
            loader = EpochDataset(client, "pos", "train", batch_size=256, seed=1).loader(num_workers=workers)
        return sum(len(batch["y"]) for batch in loader)
    return lambda: timed(run)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(REPO / "bench-out" / "serve"))
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--binary", help=BINARY_HELP)
    parser.add_argument("--requests", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--fresh-servers", type=int, default=5,
                        help="rounds of a trainer's first epoch on a fresh server")
    args = parser.parse_args()

    from book_dataset import windows_per_second

    data = pathlib.Path(args.data)
    out = pathlib.Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    binary = w2vcache_binary(args.binary)
    dataset_bench = build_benchmarks("DatasetBench") / "DatasetBench"
    db = out / "cache"
    subprocess.run([binary, "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db], check=True, capture_output=True)
    subprocess.run([binary, "prepare", "pos", "--train", data / "conll2000" / "train.txt", "--test",
                    data / "conll2000" / "test.txt", "--db", db, "--out", out], check=True, capture_output=True)
    processed = [line.split(" ")[0] for line in (out / "pos.train.processed.txt").read_text().splitlines()]

    # In process, before the server takes the cache: the book's pattern, and w2vcache's own batches (Swift).
    book = windows_per_second(db, processed, 30_000)
    in_process = subprocess.run([dataset_bench, db, "256", "4000"],
                                capture_output=True, text=True, check=True).stdout
    swift_rate = float(re.search(r"w2vcache window batches: (\d+)", in_process).group(1))

    # 0. A trainer on a fresh server, as examples/ are written: its embedding layer from client.embeddings(), then
    # epochs; the first epoch's windows/s against the best later one's, one fresh server a round.
    fresh = []
    for _ in range(args.fresh_servers):
        server, url = start_server(binary, db)
        trainer = Client(url)
        start = time.perf_counter()
        trainer.embeddings("pos")
        matrix_ms = (time.perf_counter() - start) * 1000
        first_epoch = epoch_rate(trainer)
        fresh.append((matrix_ms, first_epoch / max(epoch_rate(trainer) for _ in range(args.epochs))))
        trainer.close()
        server.terminate()
        server.wait(timeout=30)
    ratios = sorted(ratio for _, ratio in fresh)
    if fresh:
        print(f"fresh servers: a trainer's embedding matrix in {', '.join(f'{ms:.1f}' for ms, _ in fresh)} ms, then its "
              f"first epoch at {', '.join(f'{ratio:.2f}' for _, ratio in fresh)}x the later epochs' windows/s "
              f"(median {ratios[len(ratios) // 2]:.2f}x)")

    server, url = start_server(binary, db)
    # Cold start: the first requests of a dataset on a fresh server, then a new client's first epoch (it fetches the
    # embedding matrix inside the epoch) against a later one.
    import urllib.request

    def first(path):
        start = time.perf_counter()
        with urllib.request.urlopen(url + path) as answer:
            size = len(answer.read())
        return (time.perf_counter() - start) * 1000, size
    cold = [(path, first(path), first(path)) for path in
            ("/v1/datasets/pos/embeddings", "/v1/datasets/pos/vocab", "/v1/datasets/pos/train/batches/0?batch_size=256")]
    for path, (ms, size), (again, _) in cold:
        print(f"cold start: first GET {path}: {ms:.1f} ms ({size:,} bytes), then {again:.1f} ms")

    newcomer = Client(url)
    first_epoch = epoch_rate(newcomer)
    steady = max(epoch_rate(newcomer) for _ in range(args.epochs))
    print(f"first epoch of a new client (the embedding matrix fetched inside it): {first_epoch:,.0f} windows/s; "
          f"later epochs {steady:,.0f} windows/s ({first_epoch / steady:.2f}x)")
    # A trainer as examples/ are written: its embedding layer from client.embeddings() before the first epoch, whose
    # seed no one asked for yet (the server plans it).
    trainer = Client(url)
    trainer.embeddings("pos")
    trainer_first = epoch_rate(trainer, seed=2)
    print(f"first epoch of a trainer that took the embedding matrix first (a new seed): {trainer_first:,.0f} windows/s "
          f"({trainer_first / steady:.2f}x the later epochs)")

    client = Client(url)
    words = client.vocabulary("pos")["vocab"][:5000]
    plan = client.plan("pos", "train", batch_size=256)
    windows = plan["examples"]

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
                    local.batch("pos", "train", rng.randrange(plan["batches"]), batch_size=256, seed=1)
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
    total = len(latencies) + len(failures)
    print(f"\nload: {args.clients} clients, {total} requests in {wall:.2f}s = {total / wall:,.0f} requests/s; "
          f"p50 {latencies[len(latencies) // 2] * 1000:.2f} ms, p99 {latencies[int(len(latencies) * 0.99)] * 1000:.2f} ms; "
          f"{len(failures)} failed (checksums verified on every read)")

    # 2. Vectors.
    sample = random.Random(2).choices(words, k=1000)
    start = time.perf_counter()
    requests = 0
    while time.perf_counter() - start < 3:
        client.vectors(sample)
        requests += 1
    vectors = requests * 1000 / (time.perf_counter() - start)
    print(f"POST /v1/vectors, 1,000 words per request: {vectors:,.0f} vectors/s ({vectors / book:.1f}x the book's pattern)")
    # Words the cache lacks (new ones in every request), given their seeded random vectors.
    start = time.perf_counter()
    requests = 0
    while time.perf_counter() - start < 3:
        client.vectors([f"zq{i}x{requests}" for i in range(1000)], missing="oov")
        requests += 1
    unknown = requests * 1000 / (time.perf_counter() - start)
    print(f"POST /v1/vectors, 1,000 words the cache lacks per request (missing=oov): {unknown:,.0f} vectors/s")

    # 2b. One word at a time: this client's keep-alive connection against a new connection per call (urllib, what
    # the client did before it kept one), same words, same server.
    import urllib.parse
    import urllib.request

    def vector_calls(call):
        def run():
            start = time.perf_counter()
            calls = 0
            while time.perf_counter() - start < 2:
                for word in words[:200]:
                    call(word)
                calls += 200
            return calls, time.perf_counter() - start
        return run

    def new_connection(word):
        with urllib.request.urlopen(f"{url}/v1/vectors/{urllib.parse.quote(word, safe='')}", timeout=10) as answer:
            np.load(io.BytesIO(answer.read()))

    kept = best(args.epochs, vector_calls(client.vector))
    fresh = best(args.epochs, vector_calls(new_connection))
    print(f"Client.vector(), one word per call: {kept:,.0f} calls/s on one keep-alive connection, "
          f"{fresh:,.0f} calls/s with a new connection per call (urllib, as before): {kept / fresh:.2f}x")

    # 3. Feeding a trainer.
    limit = plain_copy(rows=18_179 * 3)
    rows = [
        ("plain numpy copy of the same bytes, batch by batch (the limit)", None, limit),
        ("in-process `Benchmarks/DatasetBench` (Swift, no transport)", None, swift_rate),
        ("server alone, .npz epoch read by curl to /dev/null", "before", best(args.epochs, curl_rate(url, "batch_size=256&seed=1&format=npz", windows))),
        ("server alone, raw epoch read by curl to /dev/null", "after", best(args.epochs, curl_rate(url, "batch_size=256&seed=1&format=raw", windows))),
        ("server alone, compact raw epoch read by curl to /dev/null", "after", best(args.epochs, curl_rate(url, "batch_size=256&seed=1&format=raw&compact=true", windows))),
        ("`Client.batches()`, .npz, one process", "before", best(args.epochs, client_rate(url, wire="npz"))),
        ("`Client.batches()`, raw (views of one buffer per batch)", "after", best(args.epochs, client_rate(url, wire="raw", compact=False))),
        ("`Client.batches()`, raw compact (the default)", "after", best(args.epochs, client_rate(url))),
        ("2 rank shares read in parallel by 2 processes (raw compact)", "after", best(args.epochs, ranks_rate(url, 2))),
    ]
    try:
        import torch  # noqa: F401
        for workers in (0, 2, 4):
            rows.append((f"`EpochDataset` + DataLoader, {workers} workers, a request per batch (.npz)", "before",
                         best(args.epochs, dataloader_rate(url, workers, legacy=True))))
        for workers in (0, 2, 4):
            rows.append((f"`EpochDataset.loader()`, {workers} workers, a stream per worker (raw compact)", "after",
                         best(args.epochs, dataloader_rate(url, workers, legacy=False))))
    except ImportError:
        print("torch is not installed: the DataLoader rows are left out (pip install torch)")
    rows.append(("the book's in-process Dataset pattern (plyvel, 3 gets + np.append)", None, book))

    print("\n| path (CoNLL-2000 windows, 3 x 300 float32, batch 256) | | windows/s | x plain copy |\n|---|---|---:|---:|")
    for name, when, rate in rows:
        print(f"| {name} | {when or ''} | {rate:,.0f} | {rate / limit:.3f} |")

    server.terminate()
    print(f"\nserver exit status after SIGTERM: {server.wait(timeout=30)}")
    if failures:
        print("failures:", failures[:5])
        sys.exit(1)


if __name__ == "__main__":
    main()
