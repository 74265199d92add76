"""`w2vcache prepare translation` gives the rows of the book's rules stated in Python (scripts/reference), on real text.

The aligned files are made from ../shared/data/text: every sentence of the Lee corpus and of the Pang & Lee sentences
as the English side, its tokens reversed and capitalised otherwise as the "French" side, TED metadata lines between
talks, and sentences that begin with "<", so that all four buckets fill, some pairs are cut to fit the last, and case
matters.
"""
import importlib.util
import io
import struct
import subprocess

import numpy as np

from conftest import REPO, run

_spec = importlib.util.spec_from_file_location("translation_book", REPO / "scripts" / "reference" / "translation_book.py")
translation_book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(translation_book)


def parallel_files(shared_data, directory):
    text = (shared_data / "text" / "lee_background.cor").read_bytes().decode("utf-8", "replace")
    reviews = (shared_data / "text" / "pang_lee_polarity.cor").read_bytes().decode("utf-8", "replace")
    sentences = [s.strip() for document in text.splitlines() for s in document.split(". ") if s.strip()]
    sentences += [line.split(" ", 1)[1].strip() for line in reviews.splitlines() if " " in line]
    english, french = [], []
    for index, sentence in enumerate(sentences):
        if index % 40 == 0:
            for side in (english, french):
                side += [f"<url>http://www.ted.com/talks/{index}.html</url>", f"<talkid>{index}</talkid>", "<title>A talk</title>"]
        if index % 17 == 0:
            sentence = "<i>Diplomacy</i> " + sentence
        english.append(sentence)
        french.append(" ".join(token.swapcase() if i % 2 else token for i, token in enumerate(reversed(sentence.split()))))
    source, target = directory / "train.tags.en-fr.en", directory / "train.tags.en-fr.fr"
    source.write_text("\n".join(english) + "\n", encoding="utf-8")
    target.write_text("\n".join(french) + "\n", encoding="utf-8")
    return source, target


def epoch_frames(stream):
    """The .npz frames of a streamed epoch (uint64 LE size, then the archive; 0 ends)."""
    frames, offset = [], 0
    while True:
        (size,) = struct.unpack_from("<Q", stream, offset)
        offset += 8
        if size == 0:
            assert offset == len(stream)
            return frames
        with np.load(io.BytesIO(stream[offset:offset + size])) as archive:
            frames.append({key: archive[key] for key in archive.files})
        offset += size


def test_prepared_rows_equal_the_book_rules_on_real_text(tmp_path, w2vcache, shared_data):
    source, target = parallel_files(shared_data, tmp_path)
    db = tmp_path / "cache"
    run(w2vcache, "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db)
    result = run(w2vcache, "prepare", "translation", "--source", source, "--target", target, "--pretokenized", "--db", db)
    reference = translation_book.prepare(str(source), str(target))

    # Every bucket is used, and some pairs had to be cut to fit the last one.
    assert all(len(bucket["source"]) > 0 for bucket in reference["buckets"])
    long_pairs = sum(1 for line in source.read_text(encoding="utf-8").splitlines()
                     if "<url" not in line and "<talkid" not in line and "<title" not in line and len(line.split()) >= 30)
    assert long_pairs > 0 and f"{long_pairs} cut to fit the last bucket" in result.stderr
    # Metadata lines go, sentences that start with "<" stay, case stays.
    assert any(row == "<i>Diplomacy</i>" for row in reference["source_vocab"])
    assert "The" in reference["source_vocab"] and "the" in reference["source_vocab"]

    # The vocabularies, uncapped: every token of the training pairs has its id (rows equal below means same order).
    listing = run(w2vcache, "datasets", "--db", db).stdout
    assert f"source_vocab {len(reference['source_vocab'])}, target_vocab {len(reference['target_vocab'])}" in listing
    stream = subprocess.run([str(w2vcache), "batches", "translation", "--batch-size", "4096", "--no-shuffle",
                             "--format", "npz", "--db", str(db)], capture_output=True, check=True).stdout
    batches = epoch_frames(stream)
    rows = [{"source": [], "target": []} for _ in translation_book.BUCKETS]
    for batch in batches:
        bucket = int(batch["bucket"])
        assert batch["source"].dtype == np.int32 and batch["target"].dtype == np.int32
        rows[bucket]["source"] += batch["source"].tolist()
        rows[bucket]["target"] += batch["target"].tolist()
    assert rows == reference["buckets"]
