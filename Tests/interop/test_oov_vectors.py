"""Out-of-vocabulary vectors are reproducible anywhere: the bytes in the cache equal a Python computation of the
documented recipe (FNV-1a of the word, mixed with the seed, SplitMix64, 24-bit uniform draws in [-range, range))."""
import numpy as np
import plyvel

from conftest import REPO, run

MASK = (1 << 64) - 1


def fnv1a(data):
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & MASK
    return value


def oov_vector(word, dimension, seed=1, scale=0.25):
    state = fnv1a(word.encode()) ^ ((seed * 0x9E3779B97F4A7C15) & MASK)
    values = []
    for _ in range(dimension):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        unit = np.float32(z >> 40) / np.float32(1 << 24)
        values.append((unit * np.float32(2) - np.float32(1)) * np.float32(scale))
    return np.array(values, dtype="<f4")


def test_oov_bytes_match_the_recipe(tmp_path, w2vcache):
    db = tmp_path / "cache"
    run(w2vcache, "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db)
    (tmp_path / "train.txt").write_text("Zyzzyva NN\nquokka NN\nthe DT\n")
    (tmp_path / "test.txt").write_text("Ωmega NN\n")
    run(w2vcache, "prepare", "pos", "--train", tmp_path / "train.txt", "--test", tmp_path / "test.txt", "--db", db,
        "--out", tmp_path)
    leveldb = plyvel.DB(str(db))
    try:
        for word in ("Zyzzyva", "quokka", "Ωmega"):
            stored = leveldb.get(word.encode())
            # The marker records the seed and range the vector was made with (the configuration's defaults here).
            assert stored is not None and leveldb.get(b"\x00oov\x00" + word.encode()) == b"random 1 0.25"
            assert stored == oov_vector(word, 300).tobytes(), word
        assert leveldb.get(b"\x00oov\x00the") is None  # a pretrained word is not marked
    finally:
        leveldb.close()
