"""`w2vcache tokenize` agrees with torchtext's basic_english (its Python rules, copied here) on real text."""
import re
import subprocess

import pytest

# torchtext.data.utils._basic_english_normalize: these patterns, in this order, then str.split().
_PATTERNS = [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"]
_REPLACEMENTS = [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "]
_COMPILED = list(zip([re.compile(p) for p in _PATTERNS], _REPLACEMENTS))


def basic_english(line):
    line = line.lower()
    for pattern, replacement in _COMPILED:
        line = pattern.sub(replacement, line)
    return line.split()


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
