"""The cache read the book's way (plyvel + np.frombuffer) holds exactly what gensim reads from the same files."""
import numpy as np
import plyvel
import pytest
from gensim.models import KeyedVectors

from conftest import run

FILES = [
    ("lee-c-tool.bin", True),
    ("lee-c-tool.bin.gz", True),
    ("lee-c-tool.txt.gz", False),
    ("gensim-euclidean.bin", True),
    ("gensim-high-precision.bin", True),
    ("glove-no-header.txt", False),
]


@pytest.mark.parametrize("name,binary", FILES)
def test_every_vector_equals_gensim(tmp_path, w2vcache, shared_data, name, binary):
    source = shared_data / "word2vec" / name
    db = tmp_path / "cache"
    run(w2vcache, "build", "--vectors", source, "--db", db)
    no_header = name.startswith("glove")
    model = KeyedVectors.load_word2vec_format(str(source), binary=binary, no_header=no_header)

    leveldb = plyvel.DB(str(db))
    try:
        words = [key for key, _ in leveldb if not key.startswith(b"\x00")]
        assert len(words) == len(model.index_to_key)
        for word in model.index_to_key:
            value = leveldb.get(word.encode("utf-8"))
            assert value is not None, f"{word!r} missing from the cache"
            vector = np.frombuffer(value, dtype="float32")
            # Bit-for-bit for binary files; text files go through each reader's decimal parser.
            if binary:
                assert np.array_equal(vector, model[word]), word
            else:
                np.testing.assert_allclose(vector, model[word], rtol=1e-6, atol=0, err_msg=word)
    finally:
        leveldb.close()


def test_short_fasttext_file_fails_like_gensim(tmp_path, w2vcache, shared_data):
    # The gensim test file announces 3 vectors and holds 1: both tools refuse it.
    source = shared_data / "word2vec" / "fasttext.vec"
    with pytest.raises(EOFError):
        KeyedVectors.load_word2vec_format(str(source))
    result = run(w2vcache, "build", "--vectors", source, "--db", tmp_path / "cache", check=False)
    assert result.returncode == 1
    assert "fasttext.vec" in result.stderr and "announced 3" in result.stderr
    assert not (tmp_path / "cache").exists()
    # With --limit 1 the one vector present is read, as gensim's limit=1 does.
    run(w2vcache, "build", "--vectors", source, "--db", tmp_path / "cache", "--limit", "1")
    model = KeyedVectors.load_word2vec_format(str(source), limit=1)
    leveldb = plyvel.DB(str(tmp_path / "cache"))
    assert np.array_equal(np.frombuffer(leveldb.get(b"dummy"), "float32"), model["dummy"])
    leveldb.close()


def test_lookup_npy_loads_in_numpy(tmp_path, w2vcache, shared_data):
    source = shared_data / "word2vec" / "lee-c-tool.bin.gz"
    db = tmp_path / "cache"
    run(w2vcache, "build", "--vectors", source, "--db", db)
    model = KeyedVectors.load_word2vec_format(str(source), binary=True)
    out = tmp_path / "v.npy"
    with open(out, "wb") as handle:
        import subprocess
        subprocess.run([str(w2vcache), "lookup", "the", "of", "--format", "npy", "--db", str(db)], stdout=handle, check=True)
    array = np.load(out)
    assert array.shape == (2, 100) and array.dtype == np.float32
    assert np.array_equal(array, np.stack([model["the"], model["of"]]))
