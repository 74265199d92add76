"""A cache built from a fastText `.bin` model gives every word gensim's vector: words of the model their full vectors,
words it lacks their character n-grams' (gensim's `load_facebook_vectors(path)[word]`), within 1e-6 and almost
always to the bit; a word without a single n-gram falls back to its seeded random vector. Models are trained here
by gensim (`save_facebook_model`) and, where the package installs, by Facebook's `fasttext`."""
import gzip
import json
import random
import re
import shutil
import subprocess

import numpy as np
import pytest
from gensim.models import FastText
from gensim.models.fasttext import load_facebook_vectors, save_facebook_model

from conftest import run

VOCABULARY = ["king", "queen", "man", "woman", "paris", "france", "café", "naïve", "über", "日本", "東京", "the", "a",
              "of", "and", "New_York", "confidence", "conference", "kingdom", "queens", "ab", "x"]
OOV = ["kingz", "qeen", "cafés", "naïveté", "日本語", "Über", "confidences", "zz", "y", "ab_cd", "the-end", "ñandú",
       "🙂ok"]


def corpus(seed=1, sentences=400):
    rng = random.Random(seed)
    return [[rng.choice(VOCABULARY) for _ in range(12)] for _ in range(sentences)]


@pytest.fixture(scope="module", params=[(3, 6, 2000), (2, 5, 1000), (1, 3, 50)], ids=lambda p: f"minn{p[0]}-maxn{p[1]}")
def gensim_model(request, tmp_path_factory):
    minn, maxn, bucket = request.param
    model = FastText(vector_size=24, window=3, min_count=1, min_n=minn, max_n=maxn, bucket=bucket, epochs=3, seed=1,
                     workers=1)
    sentences = corpus()
    model.build_vocab(corpus_iterable=sentences)
    model.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=3)
    path = tmp_path_factory.mktemp("fasttext") / "model.bin"
    save_facebook_model(model, str(path))
    return path, load_facebook_vectors(str(path))


def lookup(w2vcache, db, words, *extra):
    """{word: (vector, kind)} from `lookup --format json`."""
    words_file = db.parent / "words.txt"
    words_file.write_text("\n".join(words) + "\n")
    out = run(w2vcache, "lookup", "--db", db, "--format", "json", "--words-from", words_file, *extra).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    return {row["word"]: (np.array(row["vector"], dtype="float32"), row["kind"]) for row in rows}


def compare(ours, theirs):
    """Largest difference and how many vectors are bit-identical."""
    worst, identical = 0.0, 0
    for word, expected in theirs.items():
        vector = ours[word]
        worst = max(worst, float(np.max(np.abs(vector - expected))))
        identical += vector.tobytes() == expected.astype("float32").tobytes()
    return worst, identical


def test_every_word_gets_gensims_vector(w2vcache, gensim_model, tmp_path):
    path, kv = gensim_model
    db = tmp_path / "cache"
    built = run(w2vcache, "build", "--vectors", path, "--db", db)
    assert "fasttext" in built.stderr + built.stdout
    info = run(w2vcache, "info", "--db", db).stdout
    assert f"character {kv.min_n}-{kv.max_n}-grams in {kv.bucket:,} rows" in info
    words = list(kv.index_to_key)
    got = lookup(w2vcache, db, words + OOV)
    worst, identical = compare({w: got[w][0] for w in words}, {w: kv[w] for w in words})
    assert worst <= 1e-6 and {got[w][1] for w in words} == {"word"}
    print(f"\nmodel words: {identical} of {len(words)} bit-identical to gensim, largest difference {worst:.2e}")
    with_ngrams = [w for w in OOV if len(kv.vectors_ngrams) and any(True for _ in _ngrams(w, kv))]
    worst, identical = compare({w: got[w][0] for w in with_ngrams}, {w: kv[w] for w in with_ngrams})
    assert worst <= 1e-6 and all(got[w][1] == "subword" for w in with_ngrams)
    print(f"words it lacks: {identical} of {len(with_ngrams)} bit-identical, largest difference {worst:.2e}")
    # A word without a single n-gram: gensim answers zeros; the cache gives it its seeded random vector.
    for word in set(OOV) - set(with_ngrams):
        assert got[word][1] == "random" and not np.all(got[word][0] == 0)


def _ngrams(word, kv):
    from gensim.models.fasttext import ft_ngram_hashes
    return ft_ngram_hashes(word, kv.min_n, kv.max_n, kv.bucket)


def test_a_gzipped_model_gives_the_same_cache(w2vcache, gensim_model, tmp_path):
    path, kv = gensim_model
    zipped = tmp_path / "model.bin.gz"
    with open(path, "rb") as source, gzip.open(zipped, "wb") as target:
        shutil.copyfileobj(source, target)
    plain, packed = tmp_path / "plain", tmp_path / "packed"
    run(w2vcache, "build", "--vectors", path, "--db", plain)
    run(w2vcache, "build", "--vectors", zipped, "--db", packed)
    words = list(kv.index_to_key) + OOV
    a, b = lookup(w2vcache, plain, words), lookup(w2vcache, packed, words)
    assert all(a[w][0].tobytes() == b[w][0].tobytes() for w in words)
    fingerprint = [re.search(r"fingerprint:\s+(\w+)", run(w2vcache, "info", "--db", db).stdout).group(1)
                   for db in (plain, packed)]
    assert fingerprint[0] != ""


def test_similar_gives_gensims_most_similar(w2vcache, gensim_model, tmp_path):
    path, kv = gensim_model
    db = tmp_path / "cache"
    run(w2vcache, "build", "--vectors", path, "--db", db)
    for word in ("king", "café", "日本"):
        out = run(w2vcache, "similar", word, "--top", "5", "--db", db, "--format", "json").stdout
        ours = [(entry["word"], entry["score"]) for entry in json.loads(out.splitlines()[0])["similar"]]
        theirs = kv.most_similar(word, topn=5)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        assert all(abs(a - b) < 2e-7 for (_, a), (_, b) in zip(ours, theirs))


def test_served_and_prepared_words_get_subword_vectors(w2vcache, gensim_model, tmp_path):
    path, kv = gensim_model
    db = tmp_path / "cache"
    run(w2vcache, "build", "--vectors", path, "--db", db)
    # prepare pos: the tagger's words the model lacks get their n-gram vectors, stored and marked as such.
    (tmp_path / "train.txt").write_text("kingz NN\nrules VBZ\nparis NNP\n\nqeen NN\n")
    (tmp_path / "test.txt").write_text("king NN\nreigns VBZ\n")
    run(w2vcache, "prepare", "pos", "--train", tmp_path / "train.txt", "--test", tmp_path / "test.txt", "--db", db,
        "--out", tmp_path)
    stored = lookup(w2vcache, db, ["kingz", "qeen", "rules"], "--oov", "none")
    for word in ("kingz", "qeen", "rules"):
        assert stored[word][1] == "subword"
        assert float(np.max(np.abs(stored[word][0] - kv[word]))) <= 1e-6
    # verify reads every n-gram row and makes each stored n-gram vector again from them.
    verified = run(w2vcache, "verify", "--db", db).stdout
    lacked = {"kingz", "rules", "paris", "qeen", "king", "reigns"} - set(kv.key_to_index)
    assert f"({len(lacked)} out-of-vocabulary)" in verified, verified
    assert f", {kv.bucket} n-gram rows, 1 dataset read back, all checks passed" in verified, verified
    # --oov random on the same cache: the seeded random vectors instead (and a prepare again, since the kind changed).
    again = run(w2vcache, "prepare", "pos", "--train", tmp_path / "train.txt", "--test", tmp_path / "test.txt",
                "--db", db, "--out", tmp_path, "--oov", "random")
    assert "already prepared" not in again.stderr
    # The server: POST /v1/vectors with missing "oov" says which rows came from subwords.
    server = subprocess.Popen([str(w2vcache), "serve", "--db", str(db), "--port", "0"], stderr=subprocess.PIPE,
                              text=True)
    try:
        url = next(m.group(1) for line in server.stderr if (m := re.search(r"on (http://\S+)", line)))
        import sys
        from conftest import REPO
        sys.path.insert(0, str(REPO / "clients" / "python"))
        from w2vcache_client import Client
        client = Client(url)
        matrix, kinds = client.vectors_and_kinds(["king", "kingdomz", "ñandú"], missing="oov")
        assert kinds == ["cache", "subword", "subword"]
        assert float(np.max(np.abs(matrix[1] - kv["kingdomz"]))) <= 1e-6
        random_rows, kinds = client.vectors_and_kinds(["kingdomz"], missing="oov", oov="random")
        assert kinds == ["random"] and not np.allclose(random_rows[0], matrix[1])
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_model_trained_by_facebooks_fasttext(w2vcache, tmp_path):
    fasttext = pytest.importorskip("fasttext", reason="the fasttext package does not install here (pip install "
                                                       "fasttext-wheel)")
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(" ".join(sentence) for sentence in corpus(seed=2, sentences=600)) + "\n")
    model = fasttext.train_unsupervised(str(text), model="skipgram", dim=20, minCount=1, minn=2, maxn=4, bucket=500,
                                        epoch=2, thread=1, verbose=0)
    path = tmp_path / "facebook.bin"
    model.save_model(str(path))
    kv = load_facebook_vectors(str(path))
    db = tmp_path / "cache"
    run(w2vcache, "build", "--vectors", path, "--db", db)
    words = [w for w in kv.index_to_key]
    got = lookup(w2vcache, db, words + OOV)
    worst, identical = compare({w: got[w][0] for w in words + OOV}, {w: kv[w] for w in words + OOV})
    assert worst <= 1e-6
    # fastText itself gives its end-of-sentence token "</s>" its own row alone; gensim (and so w2vcache) averages
    # its n-grams in too. Every other word agrees with fastText's get_word_vector up to float rounding.
    others = [w for w in words + OOV if w != "</s>"]
    own = max(float(np.max(np.abs(got[w][0] - model.get_word_vector(w)))) for w in others)
    assert own <= 1e-6
    print(f"\nfasttext's model: {identical} of {len(words) + len(OOV)} bit-identical to gensim, largest difference "
          f"{worst:.2e}; fasttext's own get_word_vector within {own:.2e} (</s> aside)")


@pytest.mark.parametrize("damage,message", [
    (lambda b: b[:100], "ends"),
    (lambda b: b[:4] + (13).to_bytes(4, "little") + b[8:], "version 13"),
    (lambda b: b[:36] + (3).to_bytes(4, "little") + b[40:], "supervised"),
])
def test_models_that_cannot_be_read_are_named(w2vcache, gensim_model, tmp_path, damage, message):
    path, _ = gensim_model
    broken = tmp_path / "broken.bin"
    broken.write_bytes(damage(path.read_bytes()))
    result = run(w2vcache, "build", "--vectors", broken, "--db", tmp_path / "cache", check=False)
    assert result.returncode == 1 and "broken.bin" in result.stderr and message in result.stderr, result.stderr
    assert not (tmp_path / "cache").exists()
