"""Client.similar and similar_batch against a real server answer what gensim's most_similar answers in process."""
import numpy as np
import pytest

from conftest import REPO, serve_copy
from w2vcache_client import Client, ResponseError

gensim_models = pytest.importorskip("gensim.models", reason="gensim is the reference for these answers (scripts/setup --python installs it)")


@pytest.fixture(scope="module")
def model():
    return gensim_models.KeyedVectors.load_word2vec_format(str(REPO / "data" / "sample-vectors.bin.gz"), binary=True)


def test_similar_and_batches_equal_gensim(server, model):
    client = Client(server.url)
    words = model.index_to_key[:3000:150]
    for word in words:
        ours = client.similar([word], top=8)
        theirs = model.most_similar(word, topn=8)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=0, atol=2e-7)
    queries = [{"positive": [word], "negative": [words[0]], "top": 4} for word in words[1:]]
    batch = client.similar_batch(queries, restrict_vocab=1000)
    assert len(batch) == len(queries)
    for query, answer in zip(queries, batch):
        theirs = model.most_similar(positive=query["positive"], negative=query["negative"], topn=4, restrict_vocab=1000)
        assert [w for w, _ in answer] == [w for w, _ in theirs]
    # The out-of-vocabulary words `prepare` added (e.g. "widely" is not a sample word) are never answers.
    everything = {w for w, _ in client.similar([words[3]], top=3000)}
    assert len(everything) == 2999 and everything <= set(model.index_to_key)


def test_numpy_numbers_are_sent_as_numbers(server):
    """A top or restrict_vocab of NumPy's types (as array arithmetic gives) raised json's "Object of type int64 is not
    JSON serializable"."""
    client = Client(server.url)
    word = "king"
    plain = client.similar([word], top=3, restrict_vocab=100)
    assert client.similar([word], top=np.int64(3), restrict_vocab=np.int32(100)) == plain
    assert client.similar_batch([{"positive": [word], "top": np.uint8(3)}], restrict_vocab=np.int64(100)) == [plain]
    with pytest.raises(ResponseError) as caught:
        client.similar([word], top=np.float32(1.5))
    assert caught.value.status == 400 and "top: expected a whole number, found 1.5" in caught.value.message
    with pytest.raises(TypeError, match=r"^numpy\.bool_? cannot be sent as JSON"):
        client.similar([word], top=np.bool_(True))


def test_similar_errors_carry_the_servers_message(server):
    client = Client(server.url)
    with pytest.raises(ResponseError) as caught:
        client.similar(["no-such-word"])
    assert caught.value.status == 404 and "no-such-word" in caught.value.message
    with pytest.raises(ResponseError) as caught:
        client.similar([], top=3)
    assert caught.value.status == 400
    # A query key the server does not read is refused, naming it: "topn" (gensim's name) was ignored, and the
    # answer held the default top of 10.
    with pytest.raises(ResponseError) as caught:
        client.similar_batch([{"positive": ["in"], "topn": 3}])
    assert caught.value.status == 400
    assert caught.value.message == 'unknown parameter "topn" in queries[0]; expected positive, negative, top'


def test_a_batch_of_more_rows_than_the_server_searches_at_once_is_asked_for_in_parts(server, cache, tmp_path):
    # Each query searches the 1,000 words of restrict_vocab: this server takes two at a time.
    limited = serve_copy(cache, tmp_path, "server:\n  max_similar_rows: 2000\n")
    try:
        words = ["king", "queen", "man", "woman", "city"]
        queries = [{"positive": [word], "top": 3} for word in words]
        with Client(limited.url) as client:
            answers = client.similar_batch(queries, restrict_vocab=1000)
            with pytest.raises(ResponseError) as caught:  # one query, more than the server searches: the caller's
                client.similar(["king"], top=3)
            assert caught.value.status == 413
        # The answers of the unlimited server, one query at a time.
        assert answers == [Client(server.url).similar([word], top=3, restrict_vocab=1000) for word in words]
    finally:
        assert limited.stop() == 0
