"""`w2vcache tokenize` agrees with torchtext's basic_english (its Python rules, in scripts/reference) on real text."""
import random
import subprocess
import sys
import threading
import time

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts" / "reference"))
from python_text_rules import basic_english  # noqa: E402


@pytest.mark.parametrize("name", ["lee_background.cor", "pang_lee_polarity.cor"])
def test_basic_english_matches_torchtext_rules(w2vcache, shared_data, name):
    path = shared_data / "text" / name
    # The files hold a few Windows-1252 bytes: both sides replace them with U+FFFD.
    lines = path.read_bytes().decode("utf-8", errors="replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    expected = [" ".join(basic_english(line.rstrip("\r"))) for line in lines]
    result = subprocess.run([str(w2vcache), "tokenize", str(path)], capture_output=True, check=True)
    ours = result.stdout.decode("utf-8").split("\n")[:-1]
    assert len(ours) == len(expected)
    mismatches = [(i, a, b) for i, (a, b) in enumerate(zip(ours, expected)) if a != b]
    assert not mismatches, mismatches[:3]
    assert sum(len(e.split()) for e in expected) > 10_000 or name.startswith("pang")


def test_tricky_cases(tmp_path, w2vcache):
    text = "You're <br />GREAT.<br/>\"Yes\" (a,b)!?; x:y\tz  ÉCOLE Σ\n"
    path = tmp_path / "t.txt"
    path.write_text(text, encoding="utf-8")
    ours = subprocess.run([str(w2vcache), "tokenize", str(path)], capture_output=True, check=True).stdout.decode()
    assert ours == " ".join(basic_english(text.rstrip("\n"))) + "\n"


def test_lines_split_across_reads_come_out_as_whole_lines(w2vcache):
    """`tokenize` reads standard input as it comes: lines cut anywhere by the reads (a CR from its LF, a character
    from itself, a line longer than a read) come out as the same lines."""
    rng = random.Random(7)
    pieces = ["word", "Ünïcode", "東京", "it's", "3.5", "<br />", "\r", " ", "\t", "x" * 70_000, "", "!?"]
    lines = ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12))) for _ in range(400)]
    text = "\r\n".join(lines[:200]) + "\n" + "\n".join(lines[200:])
    data = text.encode("utf-8")
    expected = [" ".join(basic_english(line.rstrip("\r"))) for line in text.split("\n")]
    process = subprocess.Popen([str(w2vcache), "tokenize"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    reader = threading.Thread(target=lambda: setattr(process, "answer", process.stdout.read()))
    reader.start()
    offset = 0
    while offset < len(data):
        size = rng.choice([1, 2, 3, 7, 100, 4096, 65_536, 100_000])
        process.stdin.write(data[offset:offset + size])
        process.stdin.flush()
        offset += size
        if rng.random() < 0.05:
            time.sleep(0.002)
    process.stdin.close()
    reader.join(timeout=120)
    assert process.wait(timeout=120) == 0
    ours = process.answer.decode("utf-8").split("\n")[:-1]
    assert len(ours) == len(expected)
    mismatches = [(i, a[:80], b[:80]) for i, (a, b) in enumerate(zip(ours, expected)) if a != b]
    assert not mismatches, mismatches[:3]
