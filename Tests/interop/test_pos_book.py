"""`w2vcache prepare pos` writes the same processed files as the book's rules stated in Python, byte for byte."""
import importlib.util
import re
import struct
import subprocess
import sys

from conftest import REPO, run

_spec = importlib.util.spec_from_file_location("pos_book", REPO / "scripts" / "reference" / "pos_book.py")
pos_book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pos_book)


def write_word2vec(path, words, dim=4):
    """A gensim-style word2vec binary file (no newline after vectors)."""
    with open(path, "wb") as out:
        out.write(f"{len(words)} {dim}\n".encode())
        for index, word in enumerate(words):
            out.write(word.encode("utf-8") + b" " + struct.pack(f"<{dim}f", *([index / 7.0] * dim)))


def test_processed_files_match_the_python_statement_of_the_rules(tmp_path, w2vcache, shared_data):
    train = shared_data / "conll2000" / "train.txt"
    test = shared_data / "conll2000" / "test.txt"
    # A model that knows some of the data's normalized words, some of its adjacent phrases (merges) and some pieces.
    rows = [line.split() for line in train.read_text(encoding="utf-8").splitlines() if line.strip()]
    keys = sorted(pos_book.made_up_model_keys(rows, piece_share=0.5))
    model = tmp_path / "model.bin"
    write_word2vec(model, keys)
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("".join(k + "\n" for k in keys), encoding="utf-8")

    db = tmp_path / "cache"
    run(w2vcache, "build", "--vectors", model, "--db", db)
    out = tmp_path / "out"
    result = run(w2vcache, "prepare", "pos", "--train", train, "--test", test, "--db", db, "--out", out)
    assert "merged phrases" in result.stderr

    for split, source in (("train", train), ("test", test)):
        reference = tmp_path / f"reference.{split}.txt"
        subprocess.run([sys.executable, str(REPO / "scripts" / "reference" / "pos_book.py"), str(keys_file), str(source),
                        str(reference)], check=True)
        ours = (out / f"pos.{split}.processed.txt").read_bytes()
        assert ours == reference.read_bytes(), f"{split} differs from the reference"
        assert len(ours) > 100_000


def test_the_one_pass_build_prepares_like_the_full_model(tmp_path, w2vcache, shared_data):
    train = shared_data / "conll2000" / "train.txt"
    test = shared_data / "conll2000" / "test.txt"
    words = [line.split()[0] for line in train.read_text(encoding="utf-8").splitlines() if line.strip()]
    keys = sorted({re.sub(r"\d", "#", w) for w in words[::3]} | {f"filler{i}" for i in range(2000)} | {"New_York", "Wall_Street"})
    model = tmp_path / "model.bin"
    write_word2vec(model, keys)
    run(w2vcache, "build", "--vectors", model, "--db", tmp_path / "full")
    run(w2vcache, "prepare", "pos", "--train", train, "--test", test, "--db", tmp_path / "full", "--out", tmp_path / "a")
    run(w2vcache, "prepare", "pos", "--train", train, "--test", test, "--db", tmp_path / "small", "--out", tmp_path / "b",
        "--vectors", model)
    for split in ("train", "test"):
        name = f"pos.{split}.processed.txt"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    info = run(w2vcache, "info", "--db", tmp_path / "small").stdout
    assert "candidate keys of train.txt, test.txt" in info
    batches = [run(w2vcache, "batches", "pos", "--db", tmp_path / d, "--seed", "3", "--show", "3").stdout for d in ("full", "small")]
    assert batches[0] == batches[1]
