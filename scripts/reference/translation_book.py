#!/usr/bin/env python3
"""The book's translation preprocessing, stated plainly in Python.

A reference for w2vcache's `prepare translation`: a test compares the two, array for array.

    translation_book.py SOURCE TARGET OUTPUT.json [--buckets "5,10 10,15 20,25 30,40"] [--lowercase]

SOURCE and TARGET are line-aligned, pretokenized (tokens separated by whitespace). They are read as torchtext's
IWSLT2016 reader reads them: in a `.tags` file the TED metadata lines are dropped (any line containing one of TAGS)
and every other line is kept, stripped; an `.xml` file gives the text of its `<seg>` elements. Vocabularies are
torchtext's `build_vocab_from_iterator` with `min_freq=1` and no cap: the specials first, then tokens by descending
count, ties in string order. `process_tokens` puts each pair in the first bucket `(S, T)` with `len(source) < S` and
`len(target) + 1 < T`, or else in the last bucket, cut to `S` and `T - 2`; the source is padded to `S` and reversed,
the target is `<go>`, its tokens, `<eos>`, padded to `T`.

OUTPUT receives JSON: {"source_vocab": [...], "target_vocab": [...], "buckets": [{"source": rows, "target": rows}]}.
"""
import collections
import json
import sys
import xml.etree.ElementTree as ET

TAGS = ["<url", "<keywords", "<talkid", "<description", "<reviewer", "<translator", "<title", "<speaker", "<doc", "</doc"]
SPECIALS = ["<unk>", "<pad>", "<go>", "<eos>"]
UNK, PAD, GO, EOS = 0, 1, 2, 3
BUCKETS = [(5, 10), (10, 15), (20, 25), (30, 40)]


def read_lines(path):
    """torchtext's IWSLT2016 reading: `.xml` gives the <seg> texts, `.tags` drops the metadata lines."""
    if path.endswith(".xml"):
        root = ET.parse(path).getroot()[0]
        return [seg.text.strip() for doc in root.findall("doc") for seg in doc.findall("seg")]
    with open(path, encoding="utf-8", newline="\n") as handle:
        lines = handle.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if ".tags" in path.rsplit("/", 1)[-1]:
        return [line.strip() for line in lines if not any(tag in line for tag in TAGS)]
    return [line.rstrip("\r") for line in lines]


def build_vocab(token_lists, min_freq=1, max_tokens=None):
    counter = collections.Counter(token for tokens in token_lists for token in tokens)
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    vocab = list(SPECIALS)
    for token, count in ranked:
        if count < min_freq or (max_tokens is not None and len(vocab) >= max_tokens):
            break
        if token not in vocab:
            vocab.append(token)
    return vocab


def process_tokens(source, target, buckets):
    """The bucket of a pair of id lists, and its padded rows."""
    for index, (size_source, size_target) in enumerate(buckets):
        if len(source) < size_source and len(target) + 1 < size_target:
            break
    else:
        index = len(buckets) - 1
        size_source, size_target = buckets[index]
        source, target = source[:size_source], target[: size_target - 2]
    source_row = list(reversed(source + [PAD] * (size_source - len(source))))
    target_row = [GO] + target + [EOS] + [PAD] * (size_target - len(target) - 2)
    return index, source_row, target_row


def prepare(source_path, target_path, buckets=BUCKETS, lowercase=False):
    def tokens(line):
        return (line.lower() if lowercase else line).split()

    sources, targets = read_lines(source_path), read_lines(target_path)
    if len(sources) != len(targets):
        raise SystemExit(f"{source_path} has {len(sources)} sentences but {target_path} has {len(targets)}")
    pairs = [(tokens(s), tokens(t)) for s, t in zip(sources, targets)]
    source_vocab = build_vocab(source for source, _ in pairs)
    target_vocab = build_vocab(target for _, target in pairs)
    source_ids = {token: index for index, token in enumerate(source_vocab)}
    target_ids = {token: index for index, token in enumerate(target_vocab)}
    out = [{"source": [], "target": []} for _ in buckets]
    for source, target in pairs:
        bucket, source_row, target_row = process_tokens(
            [source_ids.get(t, UNK) for t in source], [target_ids.get(t, UNK) for t in target], buckets)
        out[bucket]["source"].append(source_row)
        out[bucket]["target"].append(target_row)
    return {"source_vocab": source_vocab, "target_vocab": target_vocab, "buckets": out}


def main():
    args = sys.argv[1:]
    buckets = BUCKETS
    if "--buckets" in args:
        at = args.index("--buckets")
        buckets = [tuple(int(n) for n in pair.split(",")) for pair in args[at + 1].split()]
        del args[at:at + 2]
    lowercase = "--lowercase" in args
    args = [a for a in args if a != "--lowercase"]
    source, target, output = args
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(prepare(source, target, buckets, lowercase), handle)


if __name__ == "__main__":
    main()
