#!/usr/bin/env python3
"""The book's POS preprocessing, stated plainly in Python over a `set` of model keys.

A reference for w2vcache's `prepare pos`: tests compare the two outputs byte for byte, and the benchmark times both.

    pos_book.py KEYS_FILE INPUT OUTPUT

KEYS_FILE lists the model's keys, one per line (UTF-8). INPUT is CoNLL-2000 (`word TAG [chunk]`, blank lines between
sentences). OUTPUT receives `word TAG` lines.
"""
import re
import sys


def read_rows(path):
    """The file as one stream of (word, tag) rows; blank lines dropped, a third column ignored."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if fields:
                rows.append((fields[0], fields[1]))
    return rows


def normalize(word):
    return re.sub(r"\d", "#", word).replace("-", "_")


def process(rows, keys):
    out = []
    i = 0
    while i < len(rows):
        word, tag = rows[i]
        if i + 1 < len(rows) and rows[i + 1][1] == tag and word + "_" + rows[i + 1][0] in keys:
            out.append((word + "_" + rows[i + 1][0], tag))
            i += 2
            continue
        normalized = normalize(word)
        if normalized in keys:
            out.append((normalized, tag))
        elif "_" in normalized:
            out.extend((piece, tag) for piece in normalized.split("_") if piece and not piece.isspace())
        else:
            out.append((normalized, tag))
        i += 1
    return out


def main():
    keys_file, source, target = sys.argv[1:4]
    with open(keys_file, encoding="utf-8") as handle:
        keys = set(line.rstrip("\n") for line in handle)
    tokens = process(read_rows(source), keys)
    with open(target, "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(f"{word} {tag}\n" for word, tag in tokens)


if __name__ == "__main__":
    main()


def made_up_model_keys(rows, seed=5, word_share=0.6, phrase_share=0.1, piece_share=0.0):
    """Keys of a made-up model for tests and benchmarks: a share of the rows' normalized words, of their same-tag
    adjacent phrases, and of the pieces of their `_` words, drawn with a fixed seed."""
    import random

    rng = random.Random(seed)
    keys = set()
    for index, (word, tag, *_) in enumerate(rows):
        normalized = normalize(word)
        if rng.random() < word_share:
            keys.add(normalized)
        if index + 1 < len(rows) and rows[index + 1][1] == tag and rng.random() < phrase_share:
            keys.add(word + "_" + rows[index + 1][0])
        if "_" in normalized and rng.random() < piece_share:
            keys.update(piece for piece in normalized.split("_") if piece)
    return keys
