"""`similar`, `analogy` and `evaluate` give gensim 4's answers: most_similar, evaluate_word_analogies and
evaluate_word_pairs run by gensim itself on the same files, including a synthetic one large enough for restrict_vocab
to matter, with duplicate words and words that differ only in case."""
import json
import random

import numpy as np
import plyvel
import pytest
from gensim.models import KeyedVectors

from conftest import run


def write_binary(path, entries, dim):
    """A word2vec binary file (gensim's layout, no newline after vectors) with `entries` as they are, duplicates too."""
    with open(path, "wb") as out:
        out.write(f"{len(entries)} {dim}\n".encode())
        for word, vector in entries:
            out.write(word.encode() + b" " + np.asarray(vector, dtype="<f4").tobytes())


@pytest.fixture(scope="module")
def synthetic_files(tmp_path_factory, shared_data):
    """30,000 words of dim 50: every word of the evaluation files, where capital:country questions hold (a shared
    offset plus noise), question words spread beyond the first 5,000, and upper- and lower-case forms of some words;
    once as it is, once with a later duplicate of a word."""
    rng = np.random.default_rng(5)
    questions = (shared_data / "eval" / "questions-words.txt").read_text().splitlines()
    pair_words = []
    for name in ("wordsim353.tsv", "simlex999.txt"):
        for line in (shared_data / "eval" / name).read_text().splitlines():
            if line and not line.startswith("#"):
                pair_words += line.split("\t")[:2]
    words = []
    for line in questions:
        if not line.startswith(":"):
            words += line.split()
    words += pair_words
    words = list(dict.fromkeys(words))
    vectors = {word: rng.standard_normal(50).astype("float32") for word in words}
    offset = rng.standard_normal(50).astype("float32") * 2
    planted = set()
    section = None
    for line in questions:
        if line.startswith(":"):
            section = line
            continue
        if "capital" in section:
            a, b, c, d = line.split()
            for capital, country in ((a, b), (c, d)):
                if country not in planted:
                    vectors[country] = vectors[capital] + offset + 0.3 * rng.standard_normal(50).astype("float32")
                    planted.add(country)
    fillers = [f"filler_{i}" for i in range(30_000 - len(words) - 40)]
    order = words + fillers
    random.Random(3).shuffle(order)
    entries = [(word, vectors.get(word, None)) for word in order]
    entries = [(w, v if v is not None else rng.standard_normal(50).astype("float32")) for w, v in entries]
    # Lower-case twins of 20 question words (gensim's case-insensitive vocabulary keeps the first form) and a later
    # duplicate of a question word (gensim keeps the first occurrence).
    for word in [w for w in words if w[:1].isupper()][:20]:
        entries.append((word.lower(), rng.standard_normal(50).astype("float32")))
    directory = tmp_path_factory.mktemp("synthetic")
    write_binary(directory / "synthetic.bin", entries, 50)
    entries.insert(len(entries) // 2, (entries[10][0], rng.standard_normal(50).astype("float32")))
    write_binary(directory / "duplicate.bin", entries, 50)
    return directory / "synthetic.bin", directory / "duplicate.bin"


@pytest.fixture(scope="module")
def synthetic(synthetic_files):
    return synthetic_files[0]


@pytest.fixture(scope="module")
def with_duplicate(synthetic_files):
    """gensim 4.4 reads a later duplicate as a `None` key with a zero vector at the end of its vocabulary (and its
    evaluate_word_analogies then fails on it); w2vcache keeps the first occurrence, as gensim intends."""
    return synthetic_files[1]


def model_and_cache(tmp_path, w2vcache, source, binary=True):
    db = tmp_path / "cache"
    run(w2vcache, "build", "--vectors", source, "--db", db)
    return KeyedVectors.load_word2vec_format(str(source), binary=binary), db


def same_answers(ours, theirs):
    """Equal lists of (word, score), except that words of equal score may come in any order (gensim's argsort is
    not stable) and a tie at the cut may keep either word. Returns how many scores are bit-identical."""
    assert len(ours) == len(theirs)
    ours_scores = np.array([s for _, s in ours], dtype="float32")
    theirs_scores = np.array([s for _, s in theirs], dtype="float32")
    np.testing.assert_allclose(ours_scores, theirs_scores, rtol=0, atol=2e-7)
    cut = theirs_scores[-1]
    assert {w for w, s in ours if s > cut + 2e-7} == {w for w, s in theirs if s > cut + 2e-7}
    for (word, score), (other, other_score) in zip(ours, theirs):
        if word != other:
            assert abs(score - other_score) <= 2e-7, (word, other)
    return int((ours_scores == theirs_scores).sum())


WORD2VEC_FILES = [("lee-c-tool.bin", True), ("lee-c-tool.txt.gz", False), ("gensim-euclidean.bin", True)]


@pytest.mark.parametrize("name,binary", WORD2VEC_FILES)
def test_similar_and_analogy_equal_gensims_most_similar(tmp_path, w2vcache, shared_data, name, binary):
    model, db = model_and_cache(tmp_path, w2vcache, shared_data / "word2vec" / name, binary)
    words = random.Random(1).sample(model.index_to_key, 40)
    answer = run(w2vcache, "similar", "--db", db, "--top", 10, "--format", "json", *words).stdout.splitlines()
    identical = total = 0
    for word, line in zip(words, answer):
        ours = json.loads(line)
        assert ours["word"] == word
        identical += same_answers([(x["word"], x["score"]) for x in ours["similar"]], model.most_similar(word, topn=10))
        total += 10
    for a, b, c in [random.Random(n).sample(model.index_to_key, 3) for n in range(10)]:
        ours = json.loads(run(w2vcache, "analogy", "--db", db, a, b, c, "--top", 5, "--format", "json").stdout)
        identical += same_answers([(x["word"], x["score"]) for x in ours["similar"]],
                                  model.most_similar(positive=[b, c], negative=[a], topn=5))
        total += 5
    # OpenBLAS's sgemv does the final scoring, as numpy's dot does in gensim: nearly every score is bit-identical.
    assert identical >= 0.98 * total, f"{identical} of {total} scores bit-identical"


# gensim scores its duplicate's zero vector (see `with_duplicate`) by dividing by its zero norm, and says so.
@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_synthetic_similar_with_restrict_vocab(tmp_path, w2vcache, with_duplicate):
    model, db = model_and_cache(tmp_path, w2vcache, with_duplicate)
    words = random.Random(2).sample(model.index_to_key[:5000], 30)
    for restrict in (None, 5000):
        extra = ["--restrict-vocab", restrict] if restrict else []
        answer = run(w2vcache, "similar", "--db", db, "--top", 15, "--format", "json", *extra, *words).stdout.splitlines()
        for word, line in zip(words, answer):
            ours = [(x["word"], x["score"]) for x in json.loads(line)["similar"]]
            same_answers(ours, model.most_similar(word, topn=15, restrict_vocab=restrict))


def evaluations(tmp_path, w2vcache, source, binary, shared_data, options):
    model, db = model_and_cache(tmp_path, w2vcache, source, binary)
    eval_dir = shared_data / "eval"
    for restrict, case_insensitive in options:
        flags = ["--restrict-vocab", restrict] + ([] if case_insensitive else ["--case-sensitive"])
        ours = json.loads(run(w2vcache, "evaluate", "analogies", "--db", db, eval_dir / "questions-words.txt",
                              "--format", "json", *flags).stdout)
        score, sections = model.evaluate_word_analogies(str(eval_dir / "questions-words.txt"), restrict_vocab=restrict,
                                                        case_insensitive=case_insensitive)
        assert ours["accuracy"] == score
        assert [(s["section"], s["correct"], s["incorrect"]) for s in ours["sections"]] == \
               [(s["section"], len(s["correct"]), len(s["incorrect"])) for s in sections]
        for name in ("wordsim353.tsv", "simlex999.txt"):
            ours = json.loads(run(w2vcache, "evaluate", "pairs", "--db", db, eval_dir / name, "--format", "json",
                                  *flags).stdout)
            pearson, spearman, oov = model.evaluate_word_pairs(str(eval_dir / name), restrict_vocab=restrict,
                                                               case_insensitive=case_insensitive)
            assert ours["oov_ratio"] == oov
            assert ours["pearson"] == pytest.approx(pearson.statistic, abs=1e-9)
            assert ours["spearman"] == pytest.approx(spearman.statistic, abs=1e-9)


def test_evaluations_equal_gensims_on_the_c_tools_model(tmp_path, w2vcache, shared_data):
    evaluations(tmp_path, w2vcache, shared_data / "word2vec" / "lee-c-tool.bin", True, shared_data,
                [(300000, True), (300000, False), (1000, True)])


def test_evaluations_equal_gensims_where_restrict_vocab_matters(tmp_path, w2vcache, shared_data, synthetic):
    evaluations(tmp_path, w2vcache, synthetic, True, shared_data, [(300000, True), (5000, True), (5000, False)])


def test_stored_norms_are_numpys_bit_for_bit(tmp_path, w2vcache, with_duplicate):
    model, db = model_and_cache(tmp_path, w2vcache, with_duplicate)
    model.fill_norms()
    leveldb = plyvel.DB(str(db))
    try:
        norms = b"".join(value for key, value in leveldb.iterator(prefix=b"\x00search\x00r") if key.endswith(b"n"))
        header = json.loads(leveldb.get(b"\x00search\x00h"))
        duplicates = np.frombuffer(leveldb.get(b"\x00search\x00d"), dtype="<u4")
    finally:
        leveldb.close()
    stored = np.frombuffer(norms, dtype="<f4")
    assert model.index_to_key[-1] is None  # gensim's placeholder for the duplicate
    assert header["rows"] == len(stored) == len(model.index_to_key)
    assert len(duplicates) == 1
    assert np.array_equal(np.delete(stored, duplicates), model.norms[:-1])


def test_lines_skipped_are_those_gensim_skips(tmp_path, w2vcache, shared_data, caplog):
    model, db = model_and_cache(tmp_path, w2vcache, shared_data / "word2vec" / "lee-c-tool.bin", True)
    w = model.index_to_key[:8]
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(f"# a comment\n{w[0]}\t{w[1]}\t3\n{w[2]} {w[3]} 4\n{w[4]}\t{w[5]}\tmany\n{w[6]}\t{w[7]}\n"
                     f"{w[1]}\t{w[2]}\t1.5\n{w[3]}\t{w[4]}\t2\t9\n{w[5]}\t{w[6]}\t7\n")
    analogies = tmp_path / "questions.txt"
    analogies.write_text(f": one\n{w[0]} {w[1]} {w[2]} {w[3]}\n{w[4]} {w[5]} {w[6]}\n{w[1]} {w[2]} {w[3]} {w[4]} {w[5]}\n"
                         f": two\n{w[4]}\t{w[5]}  {w[6]} {w[7]}\n{w[7]}\n")
    for command, source, call, skipped in (("pairs", pairs, model.evaluate_word_pairs, 4),
                                           ("analogies", analogies, model.evaluate_word_analogies, 3)):
        caplog.clear()
        with caplog.at_level("INFO", logger="gensim.models.keyedvectors"):
            call(str(source))
        theirs = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Skipping invalid line")]
        done = run(w2vcache, "evaluate", command, "--db", db, source, "--format", "json")
        ours = json.loads(done.stdout)["skipped_lines"]
        assert ours == len(theirs) == skipped, (command, theirs)
        # gensim counts lines from 0.
        first = int(theirs[0].split("#")[1].split()[0]) + 1
        assert f"(the first: line {first})" in done.stderr
