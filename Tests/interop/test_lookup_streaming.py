"""`lookup` of a long word list writes its answer as it goes: its memory does not grow with the answer.

It held the whole answer (and, for `.npy`, a second copy of it) until the end, so a lookup of a whole vocabulary took
twice its size in memory: 2.3 GB for a 1.1 GB `.npy`, 6.4 GB for its 1.1 GB of text.
"""
import io
import subprocess
import sys

import numpy as np

from conftest import run

# Runs a command with its output thrown away, then prints its exit status and peak resident memory (KB).
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def test_a_long_lookup_streams_its_answer(w2vcache, tmp_path):
    vectors = tmp_path / "v.bin"
    run(w2vcache, "sample", "--output", vectors, "--words", "2000", "--dim", "300")
    db = tmp_path / "db"
    run(w2vcache, "build", "--vectors", vectors, "--db", db)
    words = run(w2vcache, "sample", "--output", "/dev/stdout", "--force", "--words", "2000", "--dim", "1", "--text")
    vocabulary = [line.split(" ")[0] for line in words.stdout.splitlines()[1:]]
    assert len(vocabulary) == 2000
    repeats = 300
    listed = tmp_path / "words.txt"
    listed.write_text("\n".join(vocabulary * repeats + ["not-a-word"]) + "\n")
    answer_bytes = len(vocabulary) * repeats * 300 * 4

    measured = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, str(w2vcache), "lookup", "--db", str(db), "--words-from", str(listed),
         "--format", "npy"],
        capture_output=True, text=True, check=True)
    status, peak_kb = map(int, measured.stdout.split())
    assert status == 1  # one word missing
    assert peak_kb * 1024 < answer_bytes / 4, f"peak RSS {peak_kb} KB for a {answer_bytes} byte answer"

    # The streamed answer is the same array: the found words' rows, in order, under a header that counts them.
    out = tmp_path / "m.npy"
    with open(out, "wb") as stdout:
        done = subprocess.run([w2vcache, "lookup", "--db", db, "--words-from", listed, "--format", "npy"],
                              stdout=stdout, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 1
    assert done.stderr == 'w2vcache: not in the cache: "not-a-word"\n'
    matrix = np.load(out)
    assert matrix.shape == (len(vocabulary) * repeats, 300) and matrix.dtype == np.float32
    first = np.load(_lookup_npy(w2vcache, db, vocabulary[:3]))
    assert np.array_equal(matrix[:3], first)
    assert np.array_equal(matrix[len(vocabulary):len(vocabulary) + 3], first)


def test_missing_words_are_named_up_to_a_hundred(w2vcache, tmp_path):
    vectors = tmp_path / "v.bin"
    run(w2vcache, "sample", "--output", vectors, "--words", "50", "--dim", "4")
    db = tmp_path / "db"
    run(w2vcache, "build", "--vectors", vectors, "--db", db)
    listed = tmp_path / "words.txt"
    listed.write_text("".join(f"missing{i}\n" for i in range(250)))
    done = run(w2vcache, "lookup", "--db", db, "--words-from", listed, check=False)
    assert done.returncode == 1
    named = ", ".join(f'"missing{i}"' for i in range(100))
    assert done.stderr == f"w2vcache: not in the cache: {named} and 150 more\n"


def _lookup_npy(w2vcache, db, words):
    done = subprocess.run([str(w2vcache), "lookup", "--db", str(db), "--format", "npy", *words],
                          capture_output=True, check=True)
    return io.BytesIO(done.stdout)
