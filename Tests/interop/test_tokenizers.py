"""`w2vcache tokenize` agrees with torchtext's basic_english (its Python rules, in scripts/reference) on real text."""
import subprocess
import sys

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
