#!/usr/bin/env python3
"""Python's answers to the text rules w2vcache reproduces, for the differential tests (Tests/PreprocessingTests).

    python_text_rules.py STRINGS.json > ANSWERS.json

STRINGS.json holds {"strings": [...], "conll": "...", "rows": [[word, tag], ...], "keys": [...]}. For each string: str.strip(), str.split(), str.lower(),
str.upper(), str.isspace(), torchtext's basic_english, the book's POS normalizer (`\\d` to `#`, `-` to `_`, then the
pieces of `_` that are neither empty nor whitespace) and the translation reference's pretokenized tokens
(`line.lower().split()`); for "conll", the rows the book's reader takes from that text (read as `open(path)` reads
a file: universal newlines, then `line.split()`); for "rows" and "keys", the tokens pos_book.py's rules emit.
"""
import io
import json
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import pos_book  # noqa: E402

# torchtext.data.utils._basic_english_normalize: these patterns, in this order, then str.split().
_PATTERNS = [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"]
_REPLACEMENTS = [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "]
_COMPILED = list(zip([re.compile(p) for p in _PATTERNS], _REPLACEMENTS))


def basic_english(line):
    line = line.lower()
    for pattern, replacement in _COMPILED:
        line = pattern.sub(replacement, line)
    return line.split()


normalize = pos_book.normalize


def pieces(normalized):
    return [piece for piece in normalized.split("_") if piece and not piece.isspace()]


def conll_rows(text):
    """scripts/reference/pos_book.py's read_rows, over a text instead of a file (universal newlines)."""
    rows = []
    for line in io.StringIO(text, newline=None):
        fields = line.split()
        if fields:
            rows.append([fields[0], fields[1] if len(fields) > 1 else None])
    return rows


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        given = json.load(handle)
    answers = [{
        "strip": s.strip(), "split": s.split(), "lower": s.lower(), "upper": s.upper(), "isspace": s.isspace(),
        "basic_english": basic_english(s), "normalize": normalize(s), "pieces": pieces(normalize(s)),
        "pretokenized": s.lower().split(),
    } for s in given["strings"]]
    tokens = pos_book.process([tuple(row) for row in given["rows"]], set(given["keys"]))
    json.dump({"answers": answers, "conll": conll_rows(given["conll"]), "tokens": tokens}, sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
