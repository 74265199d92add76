#!/usr/bin/env python3
"""Two or more builds of w2vcache side by side on the loads clients send in a loop: did a change make serving faster
or slower?

Usage: scripts/bench/ab_bench.py BINARY BINARY [BINARY ...] [--loads get16,get64,post16,accept16] [--words 300000] [--seconds 4]
                                  [--rounds 8] [--out DIR]

Each binary builds its own cache of the same GoogleNews-shaped file (build_bench.py's generator, 300 dimensions) and
serves it; the servers stay up side by side, idle but for the one under load. Then `wrk` (one thread, as in
redis_bench.py) drives `GET /v1/vectors/{w}` at 16 and 64 connections (`get16`, `get64`; `accept16` with an `Accept`
that weighs two types) and `POST /v1/vectors` of 100 words at 16 (`post16`), each load `--rounds` times, every binary once a round, the order turned by one each round, so that a noisy minute of the
host falls on all of them. For each binary and load: the medians of requests/s, p50 and p99 latency and server CPU
time a request (`/proc`), the range of CPU a request over the rounds (how much the host moved within the run), and
each median as a multiple of the first binary's. Builds an old commit's binary with, e.g.,
`git worktree add ../old REV && (cd ../old && swift build -c release --product w2vcache)`.
Installs wrk if it is missing (apt).
"""
import argparse
import json
import pathlib
import random
import shutil
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from redis_bench import cpu_seconds, median_runs, wrk  # noqa: E402
from serving import start_server, w2vcache_binary  # noqa: E402


# Each load's name in the table and its connections.
LOADS = {"get16": ("one vector, 16 connections", 16), "get64": ("one vector, 64 connections", 64),
         "post16": ("100 vectors, 16 connections", 16),
         "accept16": ("one vector, a weighed Accept, 16 connections", 16)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binaries", nargs="+", metavar="BINARY", help="the w2vcache binaries to compare (two or more)")
    parser.add_argument("--loads", default=",".join(LOADS), help="which loads, of " + ", ".join(LOADS))
    parser.add_argument("--words", type=int, default=300_000)
    parser.add_argument("--seconds", type=int, default=4, help="each wrk run")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--out", default="bench-out/ab")
    args = parser.parse_args()
    if len(args.binaries) < 2:
        parser.error("name two or more binaries")
    loads = args.loads.split(",")
    if not loads or any(load not in LOADS for load in loads):
        parser.error(f"--loads: expected names among {', '.join(LOADS)}")
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    binaries = [w2vcache_binary(path) for path in args.binaries]

    from build_bench import generate
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source = out / f"googlenews-shaped-{args.words}x300.bin.gz"
    keys_file = out / f"keys-{args.words}.txt"
    if not source.exists() or not keys_file.exists():
        keys_file.write_bytes(b"\n".join(generate(source, args.words, 300)) + b"\n")
    keys = keys_file.read_bytes().split(b"\n")[:-1]
    rng = random.Random(3)
    word = keys[rng.randrange(len(keys))].decode()
    hundred = [keys[rng.randrange(len(keys))].decode() for _ in range(100)]
    post = out / "post100.lua"
    post.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                    f"wrk.body = {json.dumps(json.dumps({'words': hundred}))}\n")

    weighed = out / "accept.lua"
    weighed.write_text('wrk.headers["Accept"] = "application/x-npy;q=0.5, application/octet-stream"\n')

    servers = []
    try:
        for number, binary in enumerate(binaries):
            db = out / f"cache-{number}"
            shutil.rmtree(db, ignore_errors=True)
            subprocess.run([binary, "build", "--vectors", source, "--db", db, "--no-search-index"], check=True,
                           capture_output=True)
            servers.append(start_server(binary, db))
        print("| load | binary | req/s | p50 / p99 ms | CPU µs a request (range over the rounds) | "
              "req/s, p99, CPU against the first |")
        print("|---|---|---:|---:|---:|---:|")
        for load in loads:
            name, connections = LOADS[load]
            path, script = {"post16": ("/v1/vectors", post), "accept16": (f"/v1/vectors/{word}", weighed)}.get(
                load, (f"/v1/vectors/{word}", None))
            for _, url in servers:
                wrk(url + path, connections, 1, script)  # warms each server's hot vectors and connections
            runs = [[] for _ in servers]
            for round_number in range(args.rounds):
                for number in [(round_number + step) % len(servers) for step in range(len(servers))]:
                    server, url = servers[number]
                    before = cpu_seconds(server.pid)
                    rate, p50, p99, errors, requests = wrk(url + path, connections, args.seconds, script)
                    if errors:
                        raise SystemExit(f"{binaries[number]}: {errors} failed requests under {name}")
                    runs[number].append((rate, p50, p99, (cpu_seconds(server.pid) - before) / requests * 1e6))
            first = median_runs(runs[0])
            for binary, binary_runs in zip(binaries, runs):
                rate, p50, p99, cpu = median_runs(binary_runs)
                spread = [run[3] for run in binary_runs]
                print(f"| {name} | `{binary}` | {rate:,.0f} | {p50:.3f} / {p99:.3f} | {cpu:.2f} "
                      f"({min(spread):.1f}-{max(spread):.1f}) | {rate / first[0]:.2f}x, {p99 / first[2]:.2f}x, "
                      f"{cpu / first[3]:.2f}x |", flush=True)
    finally:
        for server, _ in servers:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
