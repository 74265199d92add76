"""A real `w2vcache serve` on a free loopback port for the client tests, over a cache with prepared datasets."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
SHARED_DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "clients" / "python"))

TRAIN = "Confidence NN\nin IN\nthe DT\npound NN\nis VBZ\nwidely RB\nexpected VBN\nto TO\ntake VB\nanother DT\nsharp JJ\ndive NN\n"
TEST = "New NNP\nYork NNP\nrose VBD\n1.5 CD\n"


def w2vcache_binary():
    path = pathlib.Path(os.environ.get("W2VCACHE_BIN", REPO / ".build" / "debug" / "w2vcache"))
    if not path.exists():
        pytest.fail(f"{path} does not exist: run `swift build` first (scripts/test does)")
    return path


def run(*args):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{args} failed: {result.stderr}")
    return result


class Server:
    """`w2vcache serve --port 0`, stopped with SIGTERM."""

    def __init__(self, db, *extra):
        self.process = subprocess.Popen([str(w2vcache_binary()), "serve", "--db", str(db), "--port", "0", *extra],
                                        stderr=subprocess.PIPE, text=True)
        for line in self.process.stderr:
            match = re.search(r"serving .* on (http://\S+)", line)
            if match:
                self.url = match.group(1)
                return
        raise AssertionError(f"the server did not start (exit {self.process.wait()})")

    def stop(self):
        self.process.terminate()
        return self.process.wait(timeout=20)


def copy_of(cache, directory):
    """A copy of `cache` in `directory` that another process can open (the session's server holds the original:
    LevelDB admits one process)."""
    import shutil
    copy = directory / "db"
    shutil.copytree(cache, copy, ignore=shutil.ignore_patterns("LOCK"))
    return copy


def serve_copy(cache, directory, configuration):
    """`w2vcache serve` of a copy of `cache` with the configuration file text `configuration` (its limits)."""
    config = directory / "limits.yml"
    config.write_text(configuration)
    return Server(copy_of(cache, directory), "--config", str(config))


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    """A cache from the sample vectors with pos, sentiment and translation prepared."""
    directory = tmp_path_factory.mktemp("cache")
    db = directory / "db"
    binary = w2vcache_binary()
    run(binary, "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db)
    (directory / "train.txt").write_text(TRAIN)
    (directory / "test.txt").write_text(TEST)
    run(binary, "prepare", "pos", "--train", directory / "train.txt", "--test", directory / "test.txt", "--db", db, "--out", directory)
    (directory / "reviews.tsv").write_text("pos\tA great film.\nneg\tA dull film!\npos\tGreat, great fun.\n")
    run(binary, "prepare", "sentiment", "--train", directory / "reviews.tsv", "--test", directory / "reviews.tsv", "--db", db, "--max-length", "6")
    (directory / "pairs.tsv").write_text("".join(f"{'a b c d e'[:2 * n + 1]}\t{'u v w x y z'[:2 * (n % 4) + 1]}\n"
                                                 for n in range(9)))
    run(binary, "prepare", "translation", "--tsv", directory / "pairs.tsv", "--db", db, "--pretokenized",
        "--buckets", "3,3 6,6")
    return db


@pytest.fixture(scope="session")
def server(cache):
    running = Server(cache)
    yield running
    running.stop()
