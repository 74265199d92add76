#!/usr/bin/env python3
"""Single vectors from `w2vcache serve` against the same vectors in Redis, the store a team would otherwise use, all in
one run on one machine.

Usage: scripts/bench/redis_bench.py [--words 300000] [--seconds 5] [--rounds 3] [--out bench-out] [--binary PATH]

Builds a cache from a GoogleNews-shaped file (build_bench.py's generator, 300 dimensions), starts `w2vcache serve` on
it and a `redis-server` (Debian's `redis-server` package) holding the same vectors as 1,200-byte values, then drives
each with a C load generator, the same connection counts for both:
  - `GET /v1/vectors/{w}` with `wrk` against `GET w` with `redis-benchmark`,
  - `POST /v1/vectors` of 100 words with `wrk` against `MGET` of 100 keys with `redis-benchmark`,
at 16 and 64 connections, one load-generator thread each (redis-benchmark's own default, so that on a small machine
neither generator takes more of the cores than the other), each load run `--rounds` times, this server and Redis in
turn, so that a noisy minute of the host falls on both: the medians of requests/s, p50 and p99 latency and each server's
CPU time a request (`/proc`), and each server's RSS afterwards. These generators are closed loops: each connection sends
its next request when the answer to the last comes, so a server slower than its generator has its requests queue behind
each other, and a server faster than it goes idle between them. The same loads then run open loop at an equal offered
rate (half Redis's closed-loop rate), each connection answered once before the schedule starts (not counted), then each
request due on a schedule whether or not the server has kept up and timed from when it was due (`open_loop.c`, beside
this script, compiled with the system's C compiler; neither wrk2 nor memtier_benchmark is packaged in Debian), and timed
again from when it was written: the server's answer time alone, without the wait of a request that fell due behind a
late answer on its connection; beside them each server's user and system CPU time a request (`/proc`), for where a
request's time goes when each is a wake-up of its own. Then the Python client in a loop (`client.vector(w)`,
`client.vectors([100 words])`) against `redis-py` (`GET`, `MGET`) on the same words. Last, words drawn at random
(uniformly, and by Zipf's law over the file's order, as real text draws them) rather than asked again and again, `wrk`
against this server and against one keeping no hot vectors (`server.hot_vectors_mb: 0`), alternating: what the hot
vectors are worth, and what they cost when the words asked do not repeat. The binary measured is the dynamically linked
release build unless `--binary` names another.
Installs wrk, redis-server and redis-py if they are missing (apt, pip).
"""
import argparse
import collections
import json
import os
import pathlib
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python"))
sys.path.insert(0, str(REPO / "scripts" / "bench"))

from serving import BINARY_HELP, start_server, w2vcache_binary  # noqa: E402


def ensure_tools():
    missing = [package for tool, package in (("wrk", "wrk"), ("redis-server", "redis-server"),
                                             ("redis-benchmark", "redis-tools")) if not shutil.which(tool)]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, stdout=subprocess.DEVNULL)
    try:
        import redis  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "redis"], check=True)


def rss_mb(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wrk(url, connections, seconds, script=None):
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def latency(label):
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return rate, latency("50%"), latency("99%"), int(errors.group(1)) if errors else 0, requests


def cpu_times(pid):
    """The CPU time the process has used so far, in seconds: (user, system)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / os.sysconf("SC_CLK_TCK"), int(fields[12]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """The CPU time (user and system) the process has used so far."""
    return sum(cpu_times(pid))


def median_runs(runs, failures=None):
    """The median of each figure of runs of one load (rate, p50, p99, …); the figure at index `failures` (wrk's failed
    requests) is summed over the runs instead."""
    figures = [statistics.median(values) for values in zip(*runs)]
    if failures is not None:
        figures[failures] = sum(run[failures] for run in runs)
    return runs[0]._make(figures) if hasattr(runs[0], "_make") else tuple(figures)


def drawn_loads(out, keys, seed=5):
    """wrk scripts for words drawn at random: (name, script) for one word a GET and 100 a POST, uniformly and by
    Zipf's law (s = 1) over the keys' order. Each script cycles through requests drawn beforehand."""
    rng = random.Random(seed)
    cumulative, total = [], 0.0
    for rank in range(1, len(keys) + 1):
        total += 1 / rank
        cumulative.append(total)
    draws = {"uniform": lambda count: rng.choices(keys, k=count),
             "Zipf": lambda count: rng.choices(keys, cum_weights=cumulative, k=count)}
    loads = []
    for law, draw in draws.items():
        paths = out / f"get-{law}.txt"
        paths.write_text("".join(f"/v1/vectors/{urllib.parse.quote(word.decode(), safe='')}\n"
                                 for word in draw(200_000)))
        bodies = out / f"post-{law}.txt"
        bodies.write_text("".join(json.dumps({"words": [word.decode() for word in draw(100)]}) + "\n"
                                  for _ in range(2_000)))
        for kind, lines, request in (
                ("one vector", paths, 'wrk.format("GET", line)'),
                ("100 vectors", bodies, 'wrk.format("POST", "/v1/vectors", {["Content-Type"] = "application/json"}, '
                                        'line)')):
            script = out / f"{kind.replace(' ', '-')}-{law}.lua"
            script.write_text(f"local requests = {{}}\nfor line in io.lines({json.dumps(str(lines))}) do\n"
                              f"  requests[#requests + 1] = {request}\nend\nlocal next = 0\n"
                              "request = function()\n  next = next % #requests + 1\n  return requests[next]\nend\n")
            loads.append((f"{kind}, drawn {law}", script))
    return loads


def open_loop_tool(out):
    """Compiles the open-loop load generator (open_loop.c, beside this script) into `out`."""
    tool = out / "open_loop"
    compiler = shutil.which("cc") or shutil.which("clang")
    subprocess.run([compiler, "-O2", "-o", tool, REPO / "scripts" / "bench" / "open_loop.c"], check=True)
    return tool


def cpu_ticks():
    """The machine's CPU time so far, in ticks: (stolen by the hypervisor, all)."""
    fields = [int(field) for field in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return fields[7], sum(fields)


# One open-loop run: the achieved rate; p50, p99, p99.9 in ms from when each request was due; errors; the share of the
# machine's CPU time the hypervisor took meanwhile, in ‰; p50, p99 in ms from when each request was written; the
# server's user and system CPU time a request, in µs (opening and closing the run's connections included: at ~0.3 ms
# a connection, under 2% of a request's time in these runs).
OpenLoopRun = collections.namedtuple(
    "OpenLoopRun", "rate p50 p99 p999 errors steal sent_p50 sent_p99 user_us system_us")


def open_loop(tool, protocol, address, connections, rate, seconds, request, server_pid):
    """One open-loop run against the server at `address` (process `server_pid`). An open loop counts every pause of the
    machine against the server: the steal says how much of a tail is the host's."""
    host, port = address
    stolen, total = cpu_ticks()
    user, system = cpu_times(server_pid)
    output = subprocess.run([tool, protocol, host, str(port), str(connections), str(int(rate)), str(seconds), request],
                            capture_output=True, text=True, check=True).stdout
    user_after, system_after = cpu_times(server_pid)
    stolen_after, total_after = cpu_ticks()
    run = json.loads(output)
    steal = 1000 * (stolen_after - stolen) / max(1, total_after - total)
    answers = max(1, run["requests"])
    return OpenLoopRun(run["rate"], run["p50_us"] / 1000, run["p99_us"] / 1000, run["p999_us"] / 1000, run["errors"],
                       steal, run["sent_p50_us"] / 1000, run["sent_p99_us"] / 1000,
                       (user_after - user) / answers * 1e6, (system_after - system) / answers * 1e6)


def resp_command(arguments):
    """A command in Redis's protocol: an array of bulk strings."""
    parts = [f"*{len(arguments)}\r\n".encode()]
    for argument in arguments:
        data = argument.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def redis_benchmark(port, connections, requests, command):
    output = subprocess.run(["redis-benchmark", "-p", str(port), "-c", str(connections), "-n", str(requests),
                             "--csv", *command], capture_output=True, text=True, check=True).stdout
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    row = [field.strip('"') for field in output.strip().splitlines()[-1].split(",")]
    return float(row[1]), float(row[4]), float(row[6])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=300_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each load; medians reported")
    parser.add_argument("--out", default=str(REPO / "bench-out"))
    parser.add_argument("--binary", help=BINARY_HELP)
    args = parser.parse_args()
    ensure_tools()
    import numpy as np
    import redis
    from build_bench import generate
    from w2vcache_client import Client

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    binary = w2vcache_binary(args.binary)
    source = out / f"googlenews-shaped-{args.words}x300.bin.gz"
    keys_file = out / f"keys-{args.words}.txt"
    if not source.exists() or not keys_file.exists():
        keys_file.write_bytes(b"\n".join(generate(source, args.words, 300)) + b"\n")
    keys = keys_file.read_bytes().split(b"\n")[:-1]
    db = out / "redis-bench-cache"
    shutil.rmtree(db, ignore_errors=True)
    subprocess.run([binary, "build", "--vectors", source, "--db", db, "--no-search-index"], check=True,
                   capture_output=True)

    server, url = start_server(binary, db)
    redis_port = 16379 + os.getpid() % 1000
    redis_server = subprocess.Popen(["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                                    stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        store = redis.Redis(port=redis_port)
        client = Client(url)
        # The same vectors in Redis, read from the cache through the client.
        for start in range(0, len(keys), 1000):
            words = [key.decode() for key in keys[start:start + 1000]]
            matrix = client.vectors(words)
            pipe = store.pipeline(transaction=False)
            for word, row in zip(words, matrix):
                pipe.set(word, row.tobytes())
            pipe.execute()
        rng = random.Random(3)
        word = keys[rng.randrange(len(keys))].decode()
        hundred = [keys[rng.randrange(len(keys))].decode() for _ in range(100)]
        assert store.get(word) == client.vector(word).tobytes(), "redis and w2vcache disagree"
        post = out / "post100.lua"
        post.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                        f"wrk.body = {json.dumps(json.dumps({'words': hundred}))}\n")

        rows = []
        for connections in (16, 64):
            def one_vector():
                return wrk(f"{url}/v1/vectors/{word}", connections, args.seconds)

            def hundred_vectors():
                return wrk(f"{url}/v1/vectors", connections, args.seconds, post)
            for name, ours_run, command, least in ((f"one vector, {connections} connections", one_vector,
                                                    ["GET", word], 50_000),
                                                   (f"100 vectors, {connections} connections", hundred_vectors,
                                                    ["MGET", *hundred], 20_000)):
                # Each server's CPU time a request (from /proc) says what a request costs it, apart from which
                # side of the closed loop, the server or its load generator, is the slower.
                ours_runs, theirs_runs = [], []
                for _ in range(args.rounds):
                    before = cpu_seconds(server.pid)
                    run = ours_run()
                    ours_runs.append((*run, (cpu_seconds(server.pid) - before) / run[4] * 1e6))
                    requests = max(least, int(run[0] * args.seconds))
                    before = cpu_seconds(redis_server.pid)
                    run = redis_benchmark(redis_port, connections, requests, command)
                    theirs_runs.append((*run, (cpu_seconds(redis_server.pid) - before) / requests * 1e6))
                rows.append((name, median_runs(ours_runs, failures=3), median_runs(theirs_runs)))
        print(f"\n| load (C load generators: wrk, redis-benchmark; median of {args.rounds} alternating runs) "
              "| w2vcache req/s | p50 / p99 ms | Redis req/s | p50 / p99 ms | w2vcache / Redis | p99 / Redis's "
              "| server CPU µs a request, w2vcache / Redis |\n|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, (rate, p50, p99, errors, _, cpu), (redis_rate, redis_p50, redis_p99, redis_cpu) in rows:
            failed = f" ({errors} failed)" if errors else ""
            print(f"| {name} | {rate:,.0f}{failed} | {p50:.2f} / {p99:.2f} | {redis_rate:,.0f} | "
                  f"{redis_p50:.2f} / {redis_p99:.2f} | {rate / redis_rate:.2f} | {p99 / redis_p99:.2f} | "
                  f"{cpu:.1f} / {redis_cpu:.1f} |")
        print(f"\nRSS after the load: w2vcache serve {rss_mb(server.pid):.0f} MB, redis-server "
              f"{rss_mb(redis_server.pid):.0f} MB")

        # The same loads at an equal offered rate, so that neither server is judged by how fast its generator is.
        tool = open_loop_tool(out)
        parts = urllib.parse.urlsplit(url)
        ours_address, redis_address = (parts.hostname, parts.port), ("127.0.0.1", redis_port)
        head = f"Host: {parts.netloc}\r\n"
        get_request, post_request = out / "get.http", out / "post100.http"
        get_request.write_bytes(f"GET /v1/vectors/{urllib.parse.quote(word, safe='')} HTTP/1.1\r\n{head}\r\n".encode())
        body = json.dumps({"words": hundred}).encode()
        post_request.write_bytes(f"POST /v1/vectors HTTP/1.1\r\n{head}Content-Type: application/json\r\n"
                                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        get_command, mget_command = out / "get.resp", out / "mget100.resp"
        get_command.write_bytes(resp_command(["GET", word]))
        mget_command.write_bytes(resp_command(["MGET", *hundred]))
        print(f"\n| load (open loop at an equal offered rate, half Redis's closed-loop rate; median of {args.rounds} "
              "alternating runs) | offered req/s | w2vcache p50 / p99 / p99.9 ms | Redis p50 / p99 / p99.9 ms "
              "| p99 / Redis's | from the write: w2vcache p50 / p99 ms | Redis p50 / p99 ms | p99 / Redis's "
              "| server CPU µs a request, user + system: w2vcache / Redis "
              "| CPU time stolen by the host, ‰ (w2vcache / Redis runs) |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for (name, _, (redis_rate, *_)), (http_request, resp_request) in zip(
                rows, [(get_request, get_command), (post_request, mget_command)] * 2):
            connections = int(re.search(r"(\d+) connections", name).group(1))
            offered = redis_rate / 2
            ours_runs, theirs_runs = [], []
            for _ in range(args.rounds):
                ours_runs.append(open_loop(tool, "http", ours_address, connections, offered, args.seconds,
                                           http_request, server.pid))
                theirs_runs.append(open_loop(tool, "resp", redis_address, connections, offered, args.seconds,
                                             resp_request, redis_server.pid))
            errors = OpenLoopRun._fields.index("errors")
            ours, theirs = median_runs(ours_runs, failures=errors), median_runs(theirs_runs, failures=errors)
            behind = "".join(f" ({who} answered {achieved:,.0f}/s)" for who, achieved in
                             (("w2vcache", ours.rate), ("Redis", theirs.rate)) if achieved < 0.95 * offered)
            ours_failed, theirs_failed = (f" ({run.errors} failed)" if run.errors else "" for run in (ours, theirs))
            print(f"| {name} | {offered:,.0f}{behind} | "
                  f"{ours.p50:.2f} / {ours.p99:.2f} / {ours.p999:.2f}{ours_failed} | "
                  f"{theirs.p50:.2f} / {theirs.p99:.2f} / {theirs.p999:.2f}{theirs_failed} | "
                  f"{ours.p99 / theirs.p99:.2f} | {ours.sent_p50:.3f} / {ours.sent_p99:.3f} | "
                  f"{theirs.sent_p50:.3f} / {theirs.sent_p99:.3f} | {ours.sent_p99 / theirs.sent_p99:.2f} | "
                  f"{ours.user_us:.1f} + {ours.system_us:.1f} / {theirs.user_us:.1f} + {theirs.system_us:.1f} | "
                  f"{ours.steal:.0f} / {theirs.steal:.0f} |")

        sample = [keys[rng.randrange(len(keys))].decode() for _ in range(3000)]

        def rate(call, items, batch=1):
            best = 0.0
            for _ in range(3):
                start = time.perf_counter()
                for i in range(0, len(items), batch):
                    call(items[i:i + batch] if batch > 1 else items[i])
                best = max(best, len(items) / batch / (time.perf_counter() - start))
            return best
        ours_one = rate(client.vector, sample)
        theirs_one = rate(lambda w: np.frombuffer(store.get(w), "<f4"), sample)
        ours_many = rate(client.vectors, sample, 100)
        theirs_many = rate(lambda ws: np.frombuffer(b"".join(store.mget(ws)), "<f4").reshape(len(ws), 300), sample, 100)
        print("\n| Python, one process | w2vcache_client calls/s | redis-py calls/s | redis-py / w2vcache |\n"
              "|---|---:|---:|---:|")
        print(f"| one vector (`vector(w)` / `GET`) | {ours_one:,.0f} | {theirs_one:,.0f} | "
              f"{theirs_one / ours_one:.2f} |")
        print(f"| 100 vectors (`vectors([...])` / `MGET`) | {ours_many:,.0f} | {theirs_many:,.0f} | "
              f"{theirs_many / ours_many:.2f} |")

        # Words drawn at random, with and without hot vectors, alternating.
        config = out / "no-hot-vectors.yml"
        config.write_text("server:\n  hot_vectors_mb: 0\n")
        cold, cold_url = start_server(binary, db, "--config", config)
        try:
            print("\n| load, 16 connections (words drawn beforehand, cycled) | hot vectors req/s | p50 / p99 ms "
                  "| none kept req/s | p50 / p99 ms | hot / none |\n|---|---:|---:|---:|---:|---:|")
            for name, script in drawn_loads(out, keys):
                with_runs, without_runs = [], []
                for _ in range(args.rounds):
                    with_runs.append(wrk(url, 16, args.seconds, script))
                    without_runs.append(wrk(cold_url, 16, args.seconds, script))
                with_hot, without = median_runs(with_runs, failures=3), median_runs(without_runs, failures=3)
                print(f"| {name} | {with_hot[0]:,.0f} | {with_hot[1]:.2f} / {with_hot[2]:.2f} | {without[0]:,.0f} | "
                      f"{without[1]:.2f} / {without[2]:.2f} | {with_hot[0] / without[0]:.2f} |")
            print(f"\nRSS: with hot vectors {rss_mb(server.pid):.0f} MB, without {rss_mb(cold.pid):.0f} MB")
        finally:
            cold.terminate()
            cold.wait(timeout=30)
    finally:
        server.terminate()
        redis_server.terminate()
        server.wait(timeout=30)
        redis_server.wait(timeout=30)


if __name__ == "__main__":
    main()
