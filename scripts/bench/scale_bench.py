#!/usr/bin/env python3
"""Benchmark of training at scale: random batches on small and huge splits, and replicas behind HAProxy.

Usage: scripts/bench/scale_bench.py [--small 100000] [--large 10000000] [--requests 500] [--clients 4] [--netns]

1. Random `GET …/batches/{i}` (256 windows, .npz) on a pos split of --small and one of --large examples
   (synthetic rows over the sample vectors): the first request of an epoch plans it (a shuffle of the whole split),
   later ones reuse the cached plan; p50/p99 of --requests random batches of that epoch from each split, the two
   servers asked in turn so that both see the same machine, and the ratio of the p50s.
2. Aggregate throughput of --clients client processes (each: a mix of GET /v1/vectors/{word} and POST /v1/vectors
   of 64 words, then a streamed epoch share of the CoNLL-2000-sized split) against one server directly, and against
   1, 2 and 3 replicas behind HAProxy (scripts/serve-replicas), all on this machine.
3. With --netns (root, iproute2): the same against 1, 2 and 3 replicas each in its own network namespace, reached
   over its own veth pair at 10.77.N.2, as separate hosts would be (a kernel network stack and a link per replica;
   the cores are still this machine's).
"""
import argparse
import multiprocessing
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python"))
sys.path.insert(0, str(REPO / "scripts" / "bench"))

from serving import BINARY_HELP, start_server, w2vcache_binary  # noqa: E402
from w2vcache_client import Client, W2VCacheError  # noqa: E402

WORDS = ["Confidence", "in", "the", "pound", "is", "widely", "expected", "to", "take", "another", "sharp", "dive",
         "king", "queen", "New_York", "market", "stock", "price", "company", "bank"]
TAGS = ["NN", "IN", "DT", "NN", "VBZ", "RB", "VBN", "TO", "VB", "DT", "JJ", "NN", "NN", "NN", "NNP", "NN", "NN", "NN",
        "NN", "NN"]


def prepared_cache(binary, out, name, rows):
    """A cache of the sample vectors with a pos split of `rows` windows (+2 rows)."""
    db = out / name
    shutil.rmtree(db, ignore_errors=True)
    subprocess.run([binary, "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db], check=True, capture_output=True)
    train = out / f"{name}.txt"
    with open(train, "w") as handle:
        for start in range(0, rows + 2, 1_000_000):
            handle.write("".join(f"{WORDS[i % 20]} {TAGS[i % 20]}\n" for i in range(start, min(start + 1_000_000, rows + 2))))
    (out / "test.txt").write_text("the DT\n")
    started = time.perf_counter()
    subprocess.run([binary, "prepare", "pos", "--train", train, "--test", out / "test.txt", "--db", db, "--out", out],
                   check=True, capture_output=True)
    print(f"prepared {rows:,} windows in {time.perf_counter() - started:.1f}s")
    os.sync()  # the prepare's writeback would otherwise land in the measurements that follow
    return db


def random_batches(urls, requests):
    """The first batch of epoch 5 on each server (it plans the epoch), then `requests` random batches of it from each,
    interleaved so that both splits see the same machine (2 cores shared with the client): per server, the first
    batch's time, p50 and p99."""
    clients = [Client(url) for url in urls]
    counts = [client.plan("pos", "train", batch_size=256)["batches"] for client in clients]
    firsts = []
    for client in clients:
        started = time.perf_counter()
        client.batch("pos", "train", 0, batch_size=256, seed=1, epoch=5)
        firsts.append(time.perf_counter() - started)
    rng = random.Random(3)
    latencies = [[] for _ in clients]
    for _ in range(requests):
        for n in rng.sample(range(len(clients)), len(clients)):
            started = time.perf_counter()
            clients[n].batch("pos", "train", rng.randrange(counts[n]), batch_size=256, seed=1, epoch=5)
            latencies[n].append(time.perf_counter() - started)
    results = []
    for first, times in zip(firsts, latencies):
        times.sort()
        results.append((first, times[len(times) // 2], times[int(len(times) * 0.99)]))
    return results


def client_work(url, seed, results):
    """One client's mixed load: 300 vector requests, then its share of an epoch (raw, full arrays)."""
    rng = random.Random(seed)
    client = Client(url)
    words = client.vocabulary("pos")["vocab"][:2000]
    requests, windows, errors = 0, 0, 0
    started = time.perf_counter()
    for _ in range(300):
        try:
            if rng.random() < 0.6:
                client.vector(rng.choice(words))
            else:
                client.vectors(rng.choices(words, k=64))
            requests += 1
        except W2VCacheError:  # refused, reset or an HTTP error: counted
            errors += 1
    vector_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rank, world = seed % 4, 4
    windows = sum(len(b["y"]) for b in client.batches("pos", "train", batch_size=256, seed=1, rank=rank, world_size=world, compact=False))
    results.put((requests, vector_seconds, windows, time.perf_counter() - started, errors))


def aggregate(url, clients):
    results = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=client_work, args=(url, n, results)) for n in range(clients)]
    for process in processes:
        process.start()
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
    requests = sum(o[0] for o in outcomes) / max(o[1] for o in outcomes)
    windows = sum(o[2] for o in outcomes) / max(o[3] for o in outcomes)
    return requests, windows, sum(o[4] for o in outcomes)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO / "bench-out" / "scale"))
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--binary", help=BINARY_HELP)
    parser.add_argument("--netns", action="store_true",
                        help="also run replicas in network namespaces over veth pairs (needs root and iproute2)")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    binary = w2vcache_binary(args.binary)

    # 1. Random batches, small and large split, both servers up and asked in turn.
    print(f"\n| split | first batch of an epoch (plans it) | p50 of {args.requests} random batches | p99 |\n|---|---:|---:|---:|")
    sizes = (args.small, args.large)
    servers = [start_server(binary, prepared_cache(binary, out, f"split-{size}", size)) for size in sizes]
    results = random_batches([url for _, url in servers], args.requests)
    for size, (first, median, tail) in zip(sizes, results):
        print(f"| {size:,} examples | {first * 1000:.1f} ms | {median * 1000:.2f} ms | {tail * 1000:.2f} ms |")
    for server, _ in servers:
        server.terminate()
        server.wait(timeout=30)
    print(f"p50 ratio, {args.large:,} / {args.small:,} examples: {results[1][1] / results[0][1]:.2f}")

    # 2. Replicas.
    db = prepared_cache(binary, out, "replicas", 213_000)
    print(f"\n| {args.clients} client processes against | vector requests/s | windows/s (epoch shares, raw) | failed |\n|---|---:|---:|---:|")
    server, url = start_server(binary, db)
    requests, windows, errors = aggregate(url, args.clients)
    print(f"| one server, directly | {requests:,.0f} | {windows:,.0f} | {errors} |")
    server.terminate()
    server.wait(timeout=30)
    if shutil.which("haproxy") is None:
        print("haproxy is not installed: the replica rows are left out (apt-get install haproxy)")
        return
    for replicas in (1, 2, 3):
        process = subprocess.Popen([str(REPO / "scripts" / "serve-replicas"), "--db", str(db), "--replicas", str(replicas),
                                    "--port", "0", "--bin", str(binary)], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        url = None
        for line in process.stdout:
            if line.startswith("ready "):
                url = line.split()[1]
                break
        requests, windows, errors = aggregate(url, args.clients)
        print(f"| {replicas} replica{'s' if replicas > 1 else ''} behind HAProxy | {requests:,.0f} | {windows:,.0f} | {errors} |")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    if args.netns:
        for replicas in (1, 2, 3):
            requests, windows, errors = namespaced_replicas(binary, db, out, replicas, args.clients)
            print(f"| {replicas} replica{'s' if replicas > 1 else ''} in network namespaces (veth) behind HAProxy "
                  f"| {requests:,.0f} | {windows:,.0f} | {errors} |")


def ip(*arguments):
    subprocess.run(["ip", *arguments], check=True, capture_output=True)


def namespaced_replicas(binary, db, out, replicas, clients):
    """Replicas as separate hosts: each in its own network namespace behind a veth pair, HAProxy in this one."""
    names = [f"w2vbench{n}" for n in range(1, replicas + 1)]
    servers, processes = [], []
    try:
        for n, name in enumerate(names, start=1):
            ip("netns", "add", name)
            ip("link", "add", f"{name}h", "type", "veth", "peer", "name", f"{name}r")
            ip("link", "set", f"{name}r", "netns", name)
            ip("addr", "add", f"10.77.{n}.1/24", "dev", f"{name}h")
            ip("link", "set", f"{name}h", "up")
            ip("netns", "exec", name, "ip", "addr", "add", f"10.77.{n}.2/24", "dev", f"{name}r")
            ip("netns", "exec", name, "ip", "link", "set", f"{name}r", "up")
            ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
            copy = out / f"replica-netns-{n}"
            shutil.rmtree(copy, ignore_errors=True)
            subprocess.run([binary, "copy", "--db", db, copy], check=True, capture_output=True)
            log = out / f"replica-netns-{n}.log"
            with open(log, "w") as handle:
                process = subprocess.Popen(["ip", "netns", "exec", name, binary, "serve", "--db", copy, "--host",
                                            f"10.77.{n}.2", "--port", "8081"], stderr=handle)
            processes.append(process)
            for _ in range(300):
                if "serving" in log.read_text() or process.poll() is not None:
                    break
                time.sleep(0.1)
            if "serving" not in log.read_text():
                raise RuntimeError(f"replica {n} did not start: {log.read_text()}")
            servers.append(f"    server {name} 10.77.{n}.2:8081 check")
        with socket.socket() as probe:  # a free port for HAProxy
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = out / "haproxy-netns.cfg"
        config.write_text((REPO / "deploy" / "haproxy.cfg").read_text().replace("{{BIND}}", f"127.0.0.1:{port}")
                          .replace("{{SERVERS}}", "\n".join(servers)))
        haproxy = subprocess.Popen(["haproxy", "-f", config, "-db"], stderr=subprocess.DEVNULL)
        processes.append(haproxy)
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        return aggregate(url, clients)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        for name in names:
            subprocess.run(["ip", "link", "del", f"{name}h"], capture_output=True)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


if __name__ == "__main__":
    main()
