#!/usr/bin/env python3
"""Benchmark of nearest words and analogies against gensim, side by side in one run.

Usage: scripts/bench/similarity_bench.py [--words 3000000] [--dim 300] [--queries 200] [--skip-gensim-analogies]

On a GoogleNews-shaped file (build_bench.py's generator, with every word of questions-words.txt among the first
200,000, as frequent words are in GoogleNews):
1. The search index's cost: `w2vcache build` with and without it (time, disk).
2. `similar`: p50/p90 of --queries random words (top 10) through a warm `w2vcache serve` (HTTP round trip included)
   against gensim's `most_similar` in process after `fill_norms` (load not counted), with each side's memory
   (gensim: the process's peak RSS; w2vcache: the server's), and whether the answers agree.
3. `evaluate analogies` on questions-words.txt at restrict_vocab 300,000: the command's time (loading the index
   included) against gensim's `evaluate_word_analogies` (load not counted), and whether the sections agree.
Needs numpy and gensim (pip), and ../shared/data/eval for the questions.
"""
import argparse
import json
import pathlib
import random
import re
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts" / "bench"))
sys.path.insert(0, str(REPO / "clients" / "python"))

from build_bench import generate, measure  # noqa: E402
from serving import BINARY_HELP, start_server, w2vcache_binary  # noqa: E402
from w2vcache_client import Client  # noqa: E402

QUESTIONS = REPO.parent / "shared" / "data" / "eval" / "questions-words.txt"

GENSIM = """
import json, resource, sys, time
from gensim.models import KeyedVectors
source, words_file, analogies = sys.argv[1], sys.argv[2], sys.argv[3]
started = time.perf_counter()
model = KeyedVectors.load_word2vec_format(source, binary=True)
load = time.perf_counter() - started
started = time.perf_counter()
model.fill_norms()
fill = time.perf_counter() - started
words = open(words_file).read().split()
latencies, answers = [], {}
for word in words:
    started = time.perf_counter()
    answers[word] = model.most_similar(word, topn=10)
    latencies.append(time.perf_counter() - started)
status = open("/proc/self/status").read()
result = {"load_s": load, "fill_norms_s": fill, "latencies": latencies,
          "answers": {w: [x for x, _ in a] for w, a in answers.items()},
          "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
          "anon_mb": int(status.split("RssAnon:")[1].split()[0]) / 1024}
if analogies != "-":
    started = time.perf_counter()
    score, sections = model.evaluate_word_analogies(analogies, restrict_vocab=300000)
    result["analogies_s"] = time.perf_counter() - started
    result["sections"] = [[s["section"], len(s["correct"]), len(s["incorrect"])] for s in sections]
print(json.dumps(result))
"""


def memory(pid):
    """A running process's peak resident memory and its anonymous resident memory now (what it holds itself,
    without the files it maps, such as LevelDB's tables), in MB."""
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    field = lambda name: int(re.search(name + r":\s+(\d+)", status).group(1)) / 1024  # noqa: E731
    return field("VmHWM"), field("RssAnon")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=3_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", default=str(REPO / "bench-out" / "similarity"))
    parser.add_argument("--skip-gensim-analogies", action="store_true", help="gensim takes minutes on them")
    parser.add_argument("--binary", help=BINARY_HELP)
    args = parser.parse_args()
    if not QUESTIONS.exists():
        sys.exit(f"{QUESTIONS} is missing: the benchmark needs ../shared/data/eval")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    binary = str(w2vcache_binary(args.binary))

    planted = [w for line in QUESTIONS.read_text().splitlines() if not line.startswith(":") for w in line.split()]
    source = out / f"googlenews-shaped-{args.words}x{args.dim}-questions.bin.gz"
    keys_file = out / f"keys-{args.words}.txt"
    if not source.exists() or not keys_file.exists():
        print(f"generating {source} ...", flush=True)
        keys = generate(source, args.words, args.dim, planted=planted)
        keys_file.write_bytes(b"\n".join(keys) + b"\n")
    keys = keys_file.read_bytes().decode().split("\n")[:-1]

    # 1. The index's cost.
    print(f"\n| build of {args.words:,} x {args.dim} | seconds | peak RSS MB | on disk MB |\n|---|---:|---:|---:|")
    sizes = {}
    for label, extra, name in (("without the search index", ["--no-search-index"], "plain"), ("with it (default)", [], "indexed")):
        db = out / name
        subprocess.run(["rm", "-rf", str(db)], check=True)
        seconds, rss, _ = measure([binary, "build", "--vectors", str(source), "--db", str(db), *extra])
        sizes[name] = sum(f.stat().st_size for f in db.iterdir()) / 1e6
        print(f"| {label} | {seconds:.1f} | {rss:.0f} | {sizes[name]:,.0f} |", flush=True)
    db = out / "indexed"

    # 2. Nearest words.
    words = random.Random(4).sample(keys[:200_000], args.queries)
    words_file = out / "query-words.txt"
    words_file.write_text("\n".join(words) + "\n")
    print("\nrunning gensim (load, fill_norms, most_similar, then analogies unless skipped) ...", flush=True)
    analogies = "-" if args.skip_gensim_analogies else str(QUESTIONS)
    started = time.perf_counter()
    gensim = json.loads(subprocess.run([sys.executable, "-c", GENSIM, str(source), str(words_file), analogies],
                                       check=True, capture_output=True, text=True).stdout)
    print(f"gensim ran for {time.perf_counter() - started:.0f} s (load {gensim['load_s']:.0f} s, "
          f"fill_norms {gensim['fill_norms_s']:.1f} s)", flush=True)

    server, url = start_server(binary, db)
    client = Client(url, timeout=600)
    started = time.perf_counter()
    client.similar([words[0]], top=10)
    index_load = time.perf_counter() - started
    latencies, agree = [], 0
    for word in words:
        started = time.perf_counter()
        answer = client.similar([word], top=10)
        latencies.append(time.perf_counter() - started)
        agree += [w for w, _ in answer] == gensim["answers"][word]
    started = time.perf_counter()
    client.similar_batch([{"positive": [w], "top": 10} for w in words])
    batch_seconds = time.perf_counter() - started
    server_peak, server_anon = memory(server.pid)
    server.terminate()
    server.wait(timeout=30)

    ours, theirs = statistics.median(latencies), statistics.median(gensim["latencies"])
    print(f"\n| `similar`, top 10, {args.queries} random words of {args.words:,} | p50 ms | p90 ms | peak RSS MB | anonymous RSS MB |\n|---|---:|---:|---:|---:|")
    print(f"| gensim most_similar after fill_norms, in process | {theirs * 1000:.1f} | {percentile(gensim['latencies'], 0.9) * 1000:.1f} | {gensim['rss_mb']:,.0f} | {gensim['anon_mb']:,.0f} |")
    print(f"| w2vcache serve, POST /v1/similar over HTTP | {ours * 1000:.1f} | {percentile(latencies, 0.9) * 1000:.1f} | {server_peak:,.0f} | {server_anon:,.0f} |")
    print(f"| w2vcache serve, the {args.queries} as one batch request, per query | {batch_seconds / args.queries * 1000:.1f} | | | |")
    print("(peak RSS counts the LevelDB table files the server maps; anonymous RSS is the memory each process holds)")
    print(f"p50 speed-up: {theirs / ours:.2f}x; anonymous memory: {server_anon / gensim['anon_mb']:.2f} of gensim's; "
          f"answers identical for {agree} of {args.queries} words; the server loaded the index in {index_load:.1f} s")

    # 3. Analogies.
    seconds, rss, stdout = measure([binary, "evaluate", "analogies", "--db", str(db), str(QUESTIONS), "--format", "json"])
    result = json.loads(stdout)
    print("\n| questions-words.txt, restrict_vocab 300,000 | seconds | accuracy |\n|---|---:|---:|")
    if "analogies_s" in gensim:
        same = [[s["section"], s["correct"], s["incorrect"]] for s in result["sections"]] == gensim["sections"]
        total = gensim["sections"][-1]
        print(f"| gensim evaluate_word_analogies (load not counted) | {gensim['analogies_s']:.1f} | {total[1] / max(1, total[1] + total[2]):.4f} |")
    print(f"| w2vcache evaluate analogies (index load included; peak RSS {rss:,.0f} MB) | {seconds:.1f} | {result['accuracy']:.4f} |")
    if "analogies_s" in gensim:
        print(f"speed-up: {gensim['analogies_s'] / seconds:.1f}x; sections identical: {same}")


if __name__ == "__main__":
    main()
