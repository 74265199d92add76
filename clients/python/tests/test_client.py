"""The Python client against a real server: vectors, datasets, batches, streamed epochs, DataLoader splitting."""
import json
import subprocess

import numpy as np
import pytest

from conftest import REPO, Server, run, serve_copy, w2vcache_binary
from w2vcache_client import Client, ConnectionError, ResponseError, W2VCacheError


def test_vector_and_vectors(server):
    client = Client(server.url)
    info = client.info()
    assert info["dimension"] == 300 and info["words"] == 3000
    confidence = client.vector("Confidence")
    assert confidence.dtype == np.float32 and confidence.shape == (300,)
    assert client.vector("café").shape == (300,)
    matrix = client.vectors(["king", "Confidence"])
    assert matrix.shape == (2, 300) and np.array_equal(matrix[1], confidence)
    # Writable, as numpy's own arrays are: normalizing in place works, and torch.from_numpy does not warn.
    assert confidence.flags.writeable and matrix.flags.writeable
    unit = client.vectors(["king", "Confidence"])
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    assert np.allclose(np.linalg.norm(unit, axis=1), 1)
    zero = client.vectors(["no-such-word", "king"], missing="zero")
    assert not zero[0].any() and np.array_equal(zero[1], matrix[0])
    oov = client.vectors(["no-such-word"], missing="oov")
    assert oov.shape == (1, 300) and np.all(np.abs(oov) <= 0.25) and oov.any()


def test_a_word_longer_than_a_request_line_is_asked_for_in_a_body(tmp_path):
    """vector() of a word whose path passes what the server's HTTP parser takes (80 KB) got a 400 without a message:
    such a word, and one past what a proxy takes, is sent as a list of one."""
    words = [b"x" * 100_000, "é".encode() * 3000, b"short"]
    vectors = np.arange(len(words) * 2, dtype="<f4").reshape(len(words), 2)
    text = f"{len(words)} 2\n".encode() + b"".join(word + b" " + row.tobytes() for word, row in zip(words, vectors))
    (tmp_path / "v.bin").write_bytes(text)
    run(w2vcache_binary(), "build", "--vectors", tmp_path / "v.bin", "--db", tmp_path / "db")
    running = Server(tmp_path / "db")
    try:
        with Client(running.url) as client:
            for word, row in zip(words, vectors):
                assert np.array_equal(client.vector(word), row)
            with pytest.raises(ResponseError) as missing:
                client.vector("y" * 100_000)
            assert missing.value.status == 404 and "not in the cache" in missing.value.message
    finally:
        assert running.stop() == 0


def test_a_word_that_is_not_utf8_is_asked_for_as_bytes(tmp_path):
    """A cache keeps words as their file wrote them (`--invalid-utf8 keep`): `caf\\xe9` in Latin-1 beside `café`."""
    words = [b"caf\xe9", "café".encode(), b"50%"]
    vectors = np.arange(len(words) * 2, dtype="<f4").reshape(len(words), 2)
    text = f"{len(words)} 2\n".encode() + b"".join(word + b" " + row.tobytes() for word, row in zip(words, vectors))
    (tmp_path / "v.bin").write_bytes(text)
    subprocess.run([str(w2vcache_binary()), "build", "--vectors", str(tmp_path / "v.bin"), "--db", str(tmp_path / "db")],
                   check=True, capture_output=True)
    # The command's JSON writes such a word as the server does, which json and surrogateescape read back to its bytes.
    (tmp_path / "words.txt").write_bytes(b"caf\xe9\n")
    looked_up = subprocess.run([str(w2vcache_binary()), "lookup", "--db", str(tmp_path / "db"), "--format", "json",
                                "--words-from", str(tmp_path / "words.txt")], check=True, capture_output=True)
    assert json.loads(looked_up.stdout)["word"].encode("utf-8", "surrogateescape") == b"caf\xe9"
    running = Server(tmp_path / "db")
    try:
        client = Client(running.url)
        for word, row in zip(words, vectors):
            assert np.array_equal(client.vector(word), row)
        assert np.array_equal(client.vector("café"), vectors[1]) and np.array_equal(client.vector("50%"), vectors[2])
        with pytest.raises(ResponseError) as missing:
            client.vector(b"caf\xe8")
        assert missing.value.status == 404 and '"caf\\xE8" is not in the cache' in str(missing.value)
        # Requests of several words are JSON: bytes that are UTF-8 travel as text, others are named before anything is
        # sent (json.dumps raised "Object of type bytes is not JSON serializable").
        assert np.array_equal(client.vectors(["café".encode(), b"50%"]), vectors[1:])
        assert np.array_equal(client.vectors([bytearray(b"50%"), "café"]), vectors[[2, 1]])
        # Bytes that are not UTF-8 travel as surrogateescape writes them (they were a ValueError, the server having no
        # way to read them), and the server's 404 names them as bytes.
        assert np.array_equal(client.vectors(["café", b"caf\xe9", bytearray(b"caf\xe9")]), vectors[[1, 0, 0]])
        kinds = client.vectors_and_kinds([b"caf\xe8", b"caf\xe9"], missing="zero")[1]
        assert kinds == ["zero", "cache"]
        with pytest.raises(ResponseError) as unknown:
            client.vectors([b"caf\xe9", b"caf\xe8"])
        assert unknown.value.status == 404 and unknown.value.message == 'not in the cache: "caf\\xE8"'
        assert np.array_equal(client.vectors(["caf\udce9"]), vectors[:1])
        # So does vector(): the str was urllib's "'utf-8' codec can't encode character '\udce9'".
        assert np.array_equal(client.vector("caf\udce9"), vectors[0])
        with pytest.raises(ValueError, match=r"vector\(\): the word '\\ud800' holds a surrogate that stands for no byte"):
            client.vector("\ud800")
        with pytest.raises(TypeError, match=r"word 0 is int; expected str or bytes"):
            client.vectors([3])
        assert np.array_equal(client.vector(bytearray(b"caf\xe9")), vectors[0])
        # Not a word: it was quote()'s "quote_from_bytes() expected bytes" (or vectors()' message, for None).
        for odd in [3, None, ["café"]]:
            with pytest.raises(TypeError, match=rf"vector\(\): the word is {type(odd).__name__}; expected str or bytes"):
                client.vector(odd)
        # One word for the list: a str is a sequence of its characters, each asked for ("k", "i", "n", "g").
        for call, one in [(client.vectors, "café"), (client.vectors, b"50%"), (client.similar, "café")]:
            with pytest.raises(TypeError, match=r"\(\): the words are one (str|bytes), .*; expected a list of words"):
                call(one)
        # similar() takes them too (it was a ValueError: "/v1/similar cannot read"), and answers them as
        # surrogateescape decodes them (the server wrote "caf\ufffd", a word the cache does not hold).
        assert [word for word, _ in client.similar([b"caf\xe9"], top=2)] == ["café", "50%"]
        assert [word for word, _ in client.similar(["caf\udce9"], negative=[b"50%"], top=1)] == ["café"]
        (best, _), (word, score) = client.similar(["café"], top=2)
        assert best == "50%" and word == "caf\udce9" and word.encode("utf-8", "surrogateescape") == b"caf\xe9"
        assert abs(score - 3 / 13 ** 0.5) < 1e-6
        assert np.array_equal(client.vector(word), vectors[0]) and np.array_equal(client.vectors([word]), vectors[:1])
        # And a batch (bytes were "builtins.bytes cannot be sent as JSON").
        batch = client.similar_batch([{"positive": [b"caf\xe9"], "top": 1}, {"positive": ["café"], "negative": ["50%"]}])
        assert [[word for word, _ in answer] for answer in batch] == [["café"], ["caf\udce9"]]
    finally:
        running.stop()


def test_arguments_that_mean_nothing_are_refused_up_front():
    for options in ({"timeout": 0}, {"timeout": -1}, {"timeout": float("nan")}, {"backoff": -0.5}):
        with pytest.raises(ValueError, match="expected seconds"):
            Client("http://127.0.0.1:9", **options)
    with pytest.raises(ValueError, match="retries -1"):
        next(Client("http://127.0.0.1:9").batches("pos", "train", retries=-1))
    # Parts of the URL no request carried: credentials, a query, a fragment were dropped.
    for url in ("http://user:secret@127.0.0.1:9", "http://127.0.0.1:9/?token=x", "http://127.0.0.1:9/#a",
                "https://user@127.0.0.1:9/prefix"):
        with pytest.raises(ValueError, match="a query, a fragment or user:password@ is not sent"):
            Client(url)
    assert Client("http://127.0.0.1:9/prefix/").url == "http://127.0.0.1:9/prefix"
    # A URL urllib cannot read was named only by urllib's words ("Port out of range 0-65535").
    for url, reason in (("http://127.0.0.1:99999", "Port out of range 0-65535"), ("http://[::1", "Invalid IPv6 URL"),
                        ("http://127.0.0.1:eighty", "Port could not be cast to integer value as 'eighty'")):
        with pytest.raises(ValueError) as caught:
            Client(url)
        assert str(caught.value) == f"url {url!r}: {reason}; expected http://HOST:PORT or https://HOST:PORT"
    # Options the wire cannot carry out: each was ignored, and whole float32 arrays handed on.
    for options, message in (({"wire": "npz", "compact": True}, "compact=True needs wire='raw'"),
                             ({"wire": "npz", "expand": False}, "wire='npz' sends none"),
                             ({"compact": False, "expand": False}, "compact=False sends none")):
        with pytest.raises(ValueError, match=message):
            next(Client("http://127.0.0.1:9").batches("pos", "train", **options))


def test_a_word_list_longer_than_a_request_takes_is_sent_in_several(server):
    client = Client(server.url)
    words = ["king", "no-such-word", "Confidence"] * 4000  # 12,000: over the server's 10,000 a request
    matrix, kinds = client.vectors_and_kinds(words, missing="zero")
    assert matrix.shape == (12_000, 300) and matrix.flags.writeable
    assert kinds == ["cache", "zero", "cache"] * 4000
    king, confidence = client.vector("king"), client.vector("Confidence")
    assert all(np.array_equal(matrix[i], king) and not matrix[i + 1].any() and np.array_equal(matrix[i + 2], confidence)
               for i in range(0, 12_000, 3))
    # An unknown word in a later request: its 404 names it.
    with pytest.raises(ResponseError) as caught:
        client.vectors(["king"] * 2500 + ["zz-unknown"])
    assert caught.value.status == 404 and "zz-unknown" in caught.value.message


def test_errors_carry_the_servers_message(server):
    client = Client(server.url)
    with pytest.raises(ResponseError) as caught:
        client.vector("no-such-word")
    assert caught.value.status == 404 and "no-such-word" in caught.value.message
    # The empty word is a word no cache holds, not a request for the path /v1/vectors/ (a 405 there).
    for empty in ["", b""]:
        with pytest.raises(ResponseError) as caught:
            client.vector(empty)
        assert caught.value.status == 404 and caught.value.message == 'not in the cache: ""', caught.value
    with pytest.raises(ResponseError) as caught:
        client.vectors(["king", "zz1", "zz2"])
    assert caught.value.message == 'not in the cache: "zz1", "zz2"'
    # `oov` chooses the vector of missing="oov": with another, the server refuses it rather than ignore it.
    with pytest.raises(ResponseError) as caught:
        client.vectors(["king", "zz1"], missing="zero", oov="random")
    assert caught.value.status == 400 and 'with "missing": "zero" no word gets one' in caught.value.message
    with pytest.raises(ResponseError) as caught:
        client.dataset("parser")
    assert caught.value.status == 404 and "w2vcache prepare parser" in caught.value.message
    with pytest.raises(ConnectionError) as caught:
        Client("http://127.0.0.1:9").info()
    assert isinstance(caught.value, W2VCacheError) and "cannot reach http://127.0.0.1:9" in caught.value.message


def test_a_body_over_the_limit_gets_its_413_with_urllib(server):
    """urllib sends the whole body before it reads the answer: the server must read it all and answer JSON."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(server.url + "/v1/vectors", data=b" " * (10 << 20))
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=20)
    assert caught.value.code == 413
    assert "server.max_body_kb" in json.loads(caught.value.read())["error"]


def test_datasets_vocabularies_and_embeddings(server):
    client = Client(server.url)
    names = [d["name"] for d in client.datasets()]
    assert names == ["pos", "sentiment", "translation"]
    pos = client.dataset("pos")
    assert pos["labels"]["tags"][:3] == ["NN", "IN", "DT"]
    vocab = client.vocabulary("pos")
    embeddings = client.embeddings("pos")
    assert embeddings.shape == (len(vocab["vocab"]), 300)
    assert np.array_equal(embeddings[vocab["vocab"].index("Confidence")], client.vector("Confidence"))


def test_a_dataset_name_is_one_piece_of_the_path(server):
    client = Client(server.url)
    # Sent as it was, "pos/vocab" reached the vocabulary route, whose answer came back as a manifest.
    for name, call in (("pos/vocab", client.dataset), ("pos/train", client.vocabulary),
                       ("pos/x", lambda name: client.plan(name, "train")), ("50%", client.embeddings)):
        with pytest.raises(ResponseError) as caught:
            call(name)
        assert caught.value.status == 404 and f'no dataset "{name}";' in str(caught.value)
    with pytest.raises(ResponseError) as caught:
        client.plan("pos", "train/../dev")
    assert caught.value.status == 404 and 'has no split "train/../dev"' in str(caught.value)
    assert client.plan("pos", "train", batch_size=4)["batches"] > 0
    # Empty, a name or split left `//` in the path, read as `/`: dataset("") answered the list of datasets.
    for what, call in (("dataset name", lambda: client.dataset("")), ("dataset name", lambda: client.embeddings("")),
                       ("split", lambda: client.plan("pos", "")), ("split", lambda: client.batch("pos", "", 0)),
                       ("split", lambda: next(client.batches("pos", "")))):
        with pytest.raises(ValueError, match=f"^the {what} is empty$"):
            call()


def test_a_trainer_that_takes_the_embeddings_first_does_not_fetch_them_again(server):
    plain = list(Client(server.url).batches("pos", "train", batch_size=4, seed=3))
    client = Client(server.url)
    paths = []
    request = client._transport.request

    def counted(method, path, **options):
        paths.append(path)
        return request(method, path, **options)

    client._transport.request = counted
    embeddings = client.embeddings("pos")
    embeddings[:] = 0  # the trainer's own copy: training it changes nothing the client expands batches with
    batches = list(client.batches("pos", "train", batch_size=4, seed=3))
    assert paths.count("/v1/datasets/pos/embeddings") == 1
    assert len(batches) == len(plain) and len(batches) > 0
    for ours, theirs in zip(batches, plain):
        assert np.array_equal(ours["x"], theirs["x"]) and np.array_equal(ours["y"], theirs["y"])
    assert np.any(batches[0]["x"] != 0)


def test_streamed_epoch_equals_batch_requests_and_covers_every_window(server):
    client = Client(server.url)
    streamed = list(client.batches("pos", "train", batch_size=4, seed=7, epoch=1))
    count = client.batch_count("pos", "train", batch_size=4)
    assert len(streamed) == count == 3  # 10 windows of 3 over 12 tokens
    for index, batch in enumerate(streamed):
        single = client.batch("pos", "train", index, batch_size=4, seed=7, epoch=1)
        assert set(batch) == {"x", "y"}
        assert np.array_equal(batch["x"], single["x"]) and np.array_equal(batch["y"], single["y"])
        assert batch["x"].dtype == np.float32 and batch["y"].dtype == np.int64
    windows = np.concatenate([b["x"] for b in streamed])
    assert windows.shape == (10, 900)
    assert len({w.tobytes() for w in windows}) == 10  # every window once
    again = list(client.batches("pos", "train", batch_size=4, seed=7, epoch=1))
    other = list(client.batches("pos", "train", batch_size=4, seed=7, epoch=2))
    assert all(np.array_equal(a["x"], b["x"]) for a, b in zip(streamed, again))
    assert not all(np.array_equal(a["x"], b["x"]) for a, b in zip(streamed, other))
    sentiment = list(client.batches("sentiment", "train", batch_size=2, shuffle=False))
    assert [b["x"].shape for b in sentiment] == [(2, 6), (1, 6)]
    assert sentiment[0]["lengths"].tolist() == [4, 4]
    # NumPy's scalars, as array arithmetic and configs read with NumPy give them: np.False_ went out as "False", which
    # the server refuses.
    numpy = list(client.batches("sentiment", "train", batch_size=np.int64(2), shuffle=np.False_, seed=np.uint32(0)))
    assert all(np.array_equal(a["x"], b["x"]) for a, b in zip(sentiment, numpy)) and len(numpy) == len(sentiment)
    assert np.array_equal(client.batch("sentiment", "train", np.int64(1), batch_size=np.int32(2), shuffle=np.False_)["x"],
                          sentiment[1]["x"])
    assert client.plan("sentiment", "train", batch_size=np.int16(2), world_size=np.int8(1))["batches"] == 2


@pytest.mark.parametrize("name", ["pos", "sentiment", "translation"])
@pytest.mark.parametrize("wire", ["raw", "npz"])
def test_every_example_of_an_epoch_comes_once_in_batches_of_at_most_the_batch_size(server, name, wire):
    # The client checks each batch's rows and the answer's X-Examples as it reads: a server whose batches did not
    # hold what it says would fail here. Translation's batches hold a scalar, their bucket, beside the rows.
    client = Client(server.url)
    for batch_size in (1, 2, 3, 4):
        batches = client.plan(name, "train", batch_size=batch_size)["batches"]
        for world_size in (1, 2) if batches >= 2 else (1,):  # every rank needs a batch
            plan = client.plan(name, "train", batch_size=batch_size, world_size=world_size)
            rows = 0
            for rank in range(world_size):
                for batch in client.batches(name, "train", batch_size=batch_size, seed=2, rank=rank,
                                            world_size=world_size, wire=wire):
                    sizes = {array.shape[0] for array in batch.values() if array.ndim}
                    assert len(sizes) == 1 and 1 <= min(sizes) <= batch_size
                    rows += sizes.pop()
            if world_size == 1:
                assert rows == plan["examples"] > 0
            else:
                assert plan["examples"] - batch_size * plan["left_out"] <= rows <= plan["examples"]
    assert name != "translation" or "bucket" in batch and batch["bucket"].ndim == 0


def test_rank_shares_are_disjoint_equal_and_resumable(server):
    client = Client(server.url)
    everything = [b["x"].tobytes() for b in client.batches("pos", "train", batch_size=2, seed=5)]
    assert len(everything) == 5  # 10 windows
    for world in (1, 2, 3):
        shares = [[b["x"].tobytes() for b in client.batches("pos", "train", batch_size=2, seed=5, rank=r, world_size=world)]
                  for r in range(world)]
        assert {len(share) for share in shares} == {5 // world} == {client.batch_count("pos", "train", batch_size=2, world_size=world)}
        flat = [x for share in shares for x in share]
        assert len(set(flat)) == len(flat) and set(flat) <= set(everything)
        assert len(everything) - len(flat) == client.plan("pos", "train", batch_size=2, world_size=world)["left_out"] < world
        # Rank r reads batches r, r + W, … of the epoch; a job resumed at its k-th batch reads exactly the rest.
        assert shares[world - 1] == everything[world - 1:len(flat):world]
        rest = [b["x"].tobytes() for b in client.batches("pos", "train", batch_size=2, seed=5, rank=0, world_size=world, start=1)]
        assert rest == shares[0][1:]


# Three workers on a 2-core machine on purpose (an uneven split); torch warns that it is more than the cores.
@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_torch_dataloader_workers_read_each_batch_once(server):
    pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset

    client = Client(server.url)
    expected = [b["x"].tobytes() for b in client.batches("pos", "train", batch_size=2, seed=3, rank=1, world_size=2)]
    for workers in (0, 2, 3):
        dataset = EpochDataset(client, "pos", "train", batch_size=2, seed=3, rank=1, world_size=2)
        got = [batch["x"].numpy().tobytes() for batch in dataset.loader(num_workers=workers)]
        assert got == expected, f"{workers} workers"
        assert dataset.state_dict() == {"epoch": 0, "position": len(expected), "name": "pos", "split": "train",
                                        "batch_size": 2, "seed": 3, "shuffle": True, "world_size": 2}
    # A checkpoint taken after one batch resumes with the rest, in order.
    dataset = EpochDataset(client, "pos", "train", batch_size=2, seed=3, rank=1, world_size=2)
    dataset.load_state_dict({"epoch": 0, "position": 1})
    assert [batch["x"].numpy().tobytes() for batch in dataset.loader(num_workers=2)] == expected[1:]


def _epoch_windows(client, epoch):
    return [b["x"].tobytes() for b in client.batches("pos", "train", batch_size=2, seed=3, epoch=epoch)]


# spawn and forkserver pickle the dataset (and its client) into each worker; fork copies it. Persistent workers keep
# their copy from one epoch to the next, so the epoch and the position must reach them through shared memory.
@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])
def test_persistent_workers_follow_set_epoch_and_load_state_dict(server, start_method):
    pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset

    client = Client(server.url)
    epochs = {epoch: _epoch_windows(client, epoch) for epoch in range(3)}
    assert epochs[0] != epochs[1] != epochs[2], "the epochs must differ for this test to tell them apart"
    dataset = EpochDataset(client, "pos", "train", batch_size=2, seed=3)
    loader = dataset.loader(num_workers=2, persistent_workers=True, multiprocessing_context=start_method)
    for epoch in (0, 1, 2):
        dataset.set_epoch(epoch)
        assert [batch["x"].numpy().tobytes() for batch in loader] == epochs[epoch], f"epoch {epoch}"
    # Stopped after two batches, then iterated again: the rest of that epoch.
    dataset.set_epoch(1)
    taken = []
    for batch in loader:
        taken.append(batch["x"].numpy().tobytes())
        if len(taken) == 2:
            break
    assert dataset.state_dict()["epoch"] == 1 and dataset.state_dict()["position"] == 2
    taken += [batch["x"].numpy().tobytes() for batch in loader]
    assert taken == epochs[1]
    # A checkpoint loaded into the running loader.
    dataset.load_state_dict({"epoch": 2, "position": 3})
    assert [batch["x"].numpy().tobytes() for batch in loader] == epochs[2][3:]


def _as_pin_memory_leaves_it(batch):
    """What DataLoader's pin_memory (on a machine with a GPU) does to a worker's batch: tuples become lists."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in batch.items()}


def test_worker_batches_are_checked_after_pin_memory_has_made_lists_of_tuples(server):
    pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset

    client = Client(server.url)
    dataset = EpochDataset(client, "pos", "train", batch_size=2, seed=3)
    loader = dataset.loader(num_workers=2, collate_fn=_as_pin_memory_leaves_it)
    assert [batch["x"].numpy().tobytes() for batch in loader] == _epoch_windows(client, 0)


# On a machine without an accelerator the DataLoader warns that it pins nothing, and the tensors are not pinned. With
# one, the rows are gathered straight into pinned memory, in the main process, with workers or without.
@pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true")
@pytest.mark.parametrize("workers", [0, 2])
def test_pin_memory_pins_the_tensors_the_trainer_gets(server, workers):
    torch = pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset

    client = Client(server.url)
    dataset = EpochDataset(client, "pos", "train", batch_size=2, seed=3)
    batches = list(dataset.loader(num_workers=workers, pin_memory=True))
    assert [batch["x"].numpy().tobytes() for batch in batches] == _epoch_windows(client, 0)
    labels = [batch["y"].tobytes() for batch in client.batches("pos", "train", batch_size=2, seed=3)]
    assert [batch["y"].numpy().tobytes() for batch in batches] == labels
    pinned = torch.accelerator.is_available()
    assert all(tensor.is_pinned() == pinned for batch in batches for tensor in batch.values())
    # A transform's tensors are pinned too.
    dataset = EpochDataset(client, "pos", "train", batch_size=2, seed=3, transform=lambda b: {"x2": b["x"] * 2})
    doubled = list(dataset.loader(num_workers=workers, pin_memory=True))
    assert [batch["x2"].numpy().tobytes() for batch in doubled] == [(batch["x"].numpy() * 2).tobytes()
                                                                     for batch in batches]
    assert all(batch["x2"].is_pinned() == pinned for batch in doubled)


# With or without workers, pinned or not: the POS windows stay row ids, and the embedding matrix's rows they name are
# the windows an expanding dataset gives.
@pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true")
@pytest.mark.parametrize("workers,pin", [(0, False), (2, False), (0, True), (2, True)])
def test_an_epoch_dataset_that_does_not_expand_gives_row_ids(server, workers, pin):
    torch = pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset

    client = Client(server.url)
    matrix = torch.from_numpy(client.embeddings("pos"))
    dataset = EpochDataset(client, "pos", "train", batch_size=2, seed=3, expand=False)
    batches = list(dataset.loader(num_workers=workers, pin_memory=pin))
    assert all(batch["x"].dtype == torch.int32 and batch["x"].shape[1] == 3 for batch in batches)
    assert set(batches[0]) == {"x", "y"}
    windows = [matrix[batch["x"].long()].reshape(len(batch["x"]), -1).numpy().tobytes() for batch in batches]
    assert windows == _epoch_windows(client, 0)
    assert dataset.position == len(batches)


def test_a_worker_batch_that_is_not_the_one_due_is_refused(server):
    pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset, ProtocolError

    client = Client(server.url)
    dataset = EpochDataset(client, "pos", "train", batch_size=2, seed=3)
    loader = dataset.loader(num_workers=2, persistent_workers=True, multiprocessing_context="fork")
    assert len([batch for batch in loader]) == len(_epoch_windows(client, 0))
    # Workers that miss the move to epoch 1 (as they did when they read only their own copy) stream epoch 0 again.
    dataset._publish = lambda: None
    dataset.set_epoch(1)
    with pytest.raises(ProtocolError, match=r"sent batch \(0, 0\) .* where batch \(1, 0\) was due"):
        next(iter(loader))


def test_a_position_saved_with_another_share_is_refused(server):
    pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset

    client = Client(server.url)
    saved = EpochDataset(client, "pos", "train", batch_size=2, seed=3, rank=0, world_size=2)
    saved.load_state_dict({"epoch": 1, "position": 2})
    state = saved.state_dict()
    # Resumed on four ranks, or with another batch size: two batches of a two-rank share are not two of these.
    for changed in ({"world_size": 4}, {"batch_size": 4}, {"seed": 4}):
        options = {"batch_size": 2, "seed": 3, "rank": 0, "world_size": 2, **changed}
        dataset = EpochDataset(client, "pos", "train", **options)
        key, value = next(iter(changed.items()))
        with pytest.raises(ValueError, match=f"saved with {key} {state[key]!r} \\(this dataset: {value!r}\\)"):
            dataset.load_state_dict(state)
        assert dataset.state_dict()["position"] == 0, "a refused state changes nothing"
        # At an epoch's start nothing is counted yet: the epoch carries over.
        dataset.load_state_dict(dict(state, position=0))
        assert (dataset.epoch, dataset.position) == (1, 0)
    # Another rank of the same job resumes alike (every rank reads as many batches), as does a bare state.
    other_rank = EpochDataset(client, "pos", "train", batch_size=2, seed=3, rank=1, world_size=2)
    other_rank.load_state_dict(state)
    other_rank.load_state_dict({"epoch": 1, "position": 2})
    assert (other_rank.epoch, other_rank.position) == (1, 2)


def test_a_dataset_made_before_torch_distributed_started_is_refused(server, monkeypatch):
    # Made before init_process_group, a dataset took rank 0 of 1: every rank would read the whole epoch.
    pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset
    from w2vcache_client import torch_dataset

    client = Client(server.url)
    early = EpochDataset(client, "pos", "train", batch_size=2)
    told = EpochDataset(client, "pos", "train", batch_size=2, rank=0, world_size=1)
    monkeypatch.setattr(torch_dataset, "_distributed_rank_and_world_size", lambda: (1, 2))
    for iterate in (lambda: next(iter(early.loader())), lambda: next(iter(early))):
        with pytest.raises(RuntimeError, match="took rank 0 of 1 when it was made, but torch.distributed now says "
                                               "rank 1 of 2"):
            iterate()
    assert len(list(told.loader())) == len(_epoch_windows(client, 0))  # rank and world size given: its own choice
    assert EpochDataset(client, "pos", "train", batch_size=2).rank == 1  # made after: takes them


def test_a_workers_failure_reaches_the_trainer_as_itself(server):
    # A DataLoader raises a worker's exception anew from its message: a ResponseError (status, message) became a
    # RuntimeError without its status.
    pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset

    for workers in (0, 2):
        dataset = EpochDataset(Client(server.url), "pos", "no-such-split", batch_size=2)
        with pytest.raises(ResponseError) as caught:
            for _ in dataset.loader(num_workers=workers):  # not list(): its len() would ask the plan here
                pass
        assert caught.value.status == 404 and "no-such-split" in caught.value.message, f"{workers} workers"


def test_moving_the_epoch_during_an_iteration_or_asking_for_unordered_batches_is_an_error(server):
    pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset

    dataset = EpochDataset(Client(server.url), "pos", "train", batch_size=2, seed=3)
    for workers in (0, 2):
        batches = iter(dataset.loader(num_workers=workers))
        next(batches)
        dataset.set_epoch(1)
        with pytest.raises(RuntimeError, match="moved to epoch 1 while the loader was reading epoch 0"):
            next(batches)
        dataset.set_epoch(0)
    with pytest.raises(ValueError, match="in_order=False cannot be used"):
        dataset.loader(num_workers=2, in_order=False)


def test_a_client_pickled_into_another_process_connects_anew(server):
    import pickle

    client = Client(server.url)
    client.warm("pos")
    assert client._tables, "warm() keeps the embedding matrix"
    copy = pickle.loads(pickle.dumps(client))
    assert copy.url == client.url and copy._tables == {}
    assert np.array_equal(copy.vector("Confidence"), client.vector("Confidence"))
    copy.close()
    # An https client gets its TLS context anew (an SSLContext cannot be pickled).
    assert pickle.loads(pickle.dumps(Client("https://127.0.0.1:1")))._transport._ssl is not None


def test_bounds_and_shutdown(cache, tmp_path):
    server = serve_copy(cache, tmp_path, "server:\n  max_batch_size: 2\n  max_words_per_request: 2\n  max_body_kb: 1\n")
    copy = tmp_path / "db"
    client = Client(server.url)
    with pytest.raises(ResponseError) as caught:
        client.batch("pos", "train", 0, batch_size=3)
    assert caught.value.status == 400
    # Three words are more than this server takes in one request: the client asks for them in parts.
    vectors, kinds = client.vectors_and_kinds(["king", "b", "queen"], missing="zero")
    assert kinds == ["cache", "zero", "cache"]
    assert np.array_equal(vectors, np.stack([client.vector("king"), np.zeros(300, "float32"), client.vector("queen")]))
    # One word is as few as a request can hold: its 413 is the caller's.
    with pytest.raises(ResponseError) as caught:
        client.vectors(["x" * 2000], missing="zero")
    assert caught.value.status == 413
    # While the server holds the cache, a build over it refuses clearly and changes nothing.
    sample = REPO / "data" / "sample-vectors.bin.gz"
    assert "in use by another process" in run_failing(w2vcache_binary(), "build", "--vectors", sample, "--db", copy)
    assert client.vector("king").shape == (300,)
    assert server.stop() == 0  # SIGTERM: graceful shutdown, exit status 0
    with pytest.raises(ConnectionError):
        client.info()


def test_vectors_are_asked_for_in_parts_a_server_answers(cache, tmp_path):
    # 1,000 vectors of 300 values are 1.2 MB, more than one answer may hold on this server.
    server = serve_copy(cache, tmp_path, "server:\n  max_answer_mb: 1\n")
    try:
        with Client(server.url) as client:
            words = [f"word{index}" for index in range(2500)] + ["king"]
            vectors, kinds = client.vectors_and_kinds(words, missing="oov", oov="random")
            assert vectors.shape == (2501, 300) and kinds == ["random"] * 2500 + ["cache"]
            # Each row is the one a request of a few words gets.
            for start in (0, 999, 1000, 1998, 2496):
                assert np.array_equal(vectors[start:start + 5], client.vectors(words[start:start + 5], missing="oov",
                                                                               oov="random"))
    finally:
        assert server.stop() == 0


def run_failing(*args):
    import subprocess
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert result.returncode != 0
    return result.stderr
