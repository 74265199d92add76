"""End to end with numpy alone: a softmax tagger trained on tagger windows served from CoNLL-2000.

The cache holds the project's sample vectors, so most CoNLL words get out-of-vocabulary vectors: random, but fixed
per word, which is enough for a linear model to learn tags far better than always guessing the commonest one.
"""
import numpy as np
import pytest

from conftest import SHARED_DATA, Server, run, w2vcache_binary, REPO
from w2vcache_client import Client


@pytest.fixture(scope="module")
def conll_server(tmp_path_factory):
    if not (SHARED_DATA / "conll2000").is_dir():
        pytest.skip(f"CoNLL-2000 not found at {SHARED_DATA / 'conll2000'} (../shared is absent)")
    directory = tmp_path_factory.mktemp("conll")
    db = directory / "db"
    run(w2vcache_binary(), "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db)
    run(w2vcache_binary(), "prepare", "pos", "--train", SHARED_DATA / "conll2000" / "train.txt",
        "--test", SHARED_DATA / "conll2000" / "test.txt", "--db", db, "--out", directory)
    server = Server(db)
    yield server
    server.stop()


def test_softmax_tagger_beats_the_majority_tag(conll_server):
    client = Client(conll_server.url)
    tags = client.dataset("pos")["labels"]["tags"]
    assert len(tags) == 44
    rng = np.random.default_rng(0)
    weights = rng.normal(0, 0.01, size=(900, len(tags))).astype(np.float32)
    bias = np.zeros(len(tags), dtype=np.float32)
    # Adam on the cross-entropy of a linear softmax over the 3-word window.
    m_w, v_w, m_b, v_b = np.zeros_like(weights), np.zeros_like(weights), np.zeros_like(bias), np.zeros_like(bias)
    step = 0
    seen = 0
    for epoch in range(2):
        for batch in client.batches("pos", "train", batch_size=512, seed=1, epoch=epoch):
            x, y = batch["x"], batch["y"]
            seen += len(y)
            logits = x @ weights + bias
            logits -= logits.max(axis=1, keepdims=True)
            probabilities = np.exp(logits)
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            probabilities[np.arange(len(y)), y] -= 1
            grad_w = x.T @ probabilities / len(y)
            grad_b = probabilities.mean(axis=0)
            step += 1
            for param, grad, m, v in ((weights, grad_w, m_w, v_w), (bias, grad_b, m_b, v_b)):
                m *= 0.9
                m += 0.1 * grad
                v *= 0.999
                v += 0.001 * grad * grad
                param -= 0.01 * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    assert seen == 2 * client.dataset("pos")["manifest"]["splits"]["train"]

    correct = total = 0
    counts = np.zeros(len(tags), dtype=np.int64)
    for batch in client.batches("pos", "test", batch_size=1024, shuffle=False):
        predictions = (batch["x"] @ weights + bias).argmax(axis=1)
        correct += int((predictions == batch["y"]).sum())
        total += len(batch["y"])
        counts += np.bincount(batch["y"], minlength=len(tags))
    accuracy = correct / total
    majority = counts.max() / total
    print(f"softmax tagger: test accuracy {accuracy:.3f}, majority tag {majority:.3f}, {total} windows")
    assert accuracy > majority + 0.4
