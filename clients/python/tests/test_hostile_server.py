"""The client against a server that breaks its promises: every such answer is an error, never a smaller, repeated or
misshapen epoch handed to a trainer, and every error is a W2VCacheError."""
import http.server
import io
import json
import re
import socket
import pathlib
import struct
import subprocess
import sys
import threading
import urllib.parse

import numpy as np
import pytest

from conftest import Server  # noqa: F401 - the real server's fixtures live there too
from w2vcache_client import (Client, ConnectionError, FingerprintMismatch, ProtocolError, ResponseError,
                             TimeoutError, W2VCacheError)


CLIENT = pathlib.Path(__file__).resolve().parents[1]


def raw_payload(arrays, header_override=None):
    """A raw batch as the server writes it (header padded so that arrays start at multiples of 64)."""
    entries, offset, blobs = [], 0, []
    header_room = 512
    offset = header_room
    for name, array in arrays:
        entries.append({"name": name, "dtype": array.dtype.str, "shape": list(array.shape), "offset": offset,
                        "nbytes": array.nbytes})
        blobs.append((offset, array.tobytes()))
        offset = (offset + array.nbytes + 63) // 64 * 64
    if header_override:
        header_override(entries)
    header = json.dumps({"arrays": entries}).encode()
    header += b" " * (header_room - 4 - len(header))
    payload = bytearray(offset)
    payload[0:4] = struct.pack("<I", len(header))
    payload[4:4 + len(header)] = header
    for start, blob in blobs:
        payload[start:start + len(blob)] = blob
    return bytes(payload)


def batch(i):
    return raw_payload([("x", np.full((2, 3), i, dtype="<f4")), ("y", np.array([i, i], dtype="<i8"))])


def frames(payloads, end=True):
    data = b"".join(struct.pack("<Q", len(p)) + p for p in payloads)
    return data + (struct.pack("<Q", 0) if end else b"")


class Hostile:
    """A server on loopback that answers each request with what `answer(path, query, count)` returns:
    (status, headers, body, cut_after) where cut_after closes the connection after that many body bytes."""

    def __init__(self, answer):
        self.answer, self.requests, self.connections = answer, [], 0
        hostile = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                hostile.connections += 1
                super().setup()

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.respond()

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                self.respond()

            def respond(self):
                parsed = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                hostile.requests.append((parsed.path, query))
                status, headers, body, cut = hostile.answer(parsed.path, query, len(hostile.requests))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.server = QuietServer.serving(Handler)
        self.url = self.server.url

    def close(self):
        self.server.close()


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    @classmethod
    def serving(cls, handler):
        """A server of `handler` on a free loopback port, answering from a thread of its own; `url` says where."""
        server = cls(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        return server

    def close(self):
        self.shutdown()
        self.server_close()

    def handle_error(self, request, client_address):
        # The client drops a connection it no longer trusts, which is what these tests make it do: not a failure.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def epoch_headers(batches, start, fingerprint="f00d", **extra):
    headers = {"X-Batches": str(batches), "X-Start": str(start)}
    if fingerprint is not None:
        headers["X-W2VCache-Fingerprint"] = fingerprint
    headers.update(extra)
    return headers


@pytest.fixture
def hostile():
    servers = []

    def make(answer):
        server = Hostile(answer)
        servers.append(server)
        return server
    yield make
    for server in servers:
        server.close()


def read_epoch(url, **options):
    options.setdefault("expand", options.get("wire", "raw") == "npz")
    return list(Client(url, backoff=0.001, timeout=5).batches("pos", "train", **options))


def test_a_stream_that_ends_before_its_share_is_an_error(hostile):
    server = hostile(lambda path, query, n: (200, epoch_headers(5, 0), frames([batch(0), batch(1)]), None))
    with pytest.raises(ProtocolError, match="ended after 2 of its 5 batches"):
        read_epoch(server.url)


def test_a_stream_with_more_batches_than_its_share_is_an_error(hostile):
    server = hostile(lambda path, query, n: (200, epoch_headers(2, 0), frames([batch(0), batch(1), batch(2)]), None))
    with pytest.raises(ProtocolError, match="more than the 2 batches"):
        read_epoch(server.url)


def test_a_resumed_answer_that_starts_over_is_refused(hostile):
    body = frames([batch(i) for i in range(4)])

    def answer(path, query, n):
        if n == 1:  # cut inside batch 2: batches 0 and 1 were read
            return 200, epoch_headers(4, 0), body, 2 * (8 + len(batch(0))) + 100
        return 200, epoch_headers(4, 0), body, None  # starts again at batch 0 whatever was asked
    server = hostile(answer)
    seen = []
    with pytest.raises(ProtocolError, match="asked for the share from batch 2, the answer starts at batch 0"):
        for b in Client(server.url, backoff=0.001).batches("pos", "train", expand=False):
            seen.append(int(b["y"][0]))
    assert seen == [0, 1]
    assert server.requests[1][1]["start"] == "2"


def test_a_resumed_answer_of_another_share_length_is_refused(hostile):
    def answer(path, query, n):
        start = int(query["start"])
        if n == 1:
            return 200, epoch_headers(4, 0), frames([batch(i) for i in range(4)]), 8 + len(batch(0)) + 50
        return 200, epoch_headers(6, start), frames([batch(i) for i in range(start, 6)]), None
    server = hostile(answer)
    with pytest.raises(ProtocolError, match="the share was 4 batches"):
        read_epoch(server.url)


@pytest.mark.parametrize("first,then", [("f00d", None), (None, "f00d"), ("f00d", "beef")])
def test_a_fingerprint_that_appears_disappears_or_changes_stops_the_resume(hostile, first, then):
    def answer(path, query, n):
        start = int(query["start"])
        body = frames([batch(i) for i in range(start, 4)])
        if n == 1:
            return 200, epoch_headers(4, 0, fingerprint=first), body, 8 + len(batch(0)) + 50
        return 200, epoch_headers(4, start, fingerprint=then), body, None
    server = hostile(answer)
    with pytest.raises(FingerprintMismatch) as caught:
        read_epoch(server.url)
    assert caught.value.expected == first and caught.value.found == then


@pytest.mark.parametrize("size", [1 << 40, (1 << 63) + 5, 10_000])
def test_a_frame_longer_than_the_answer_is_refused_before_it_is_read(hostile, size):
    body = struct.pack("<Q", size) + b"\0" * 64
    server = hostile(lambda path, query, n: (200, epoch_headers(1, 0), body, None))
    with pytest.raises(ProtocolError, match="does not fit in the answer"):
        read_epoch(server.url)


def test_a_huge_frame_without_a_content_length_is_refused_before_it_is_read(hostile):
    def answer(path, query, n):
        chunk = struct.pack("<Q", 1 << 40) + b"\0" * 64
        body = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n"
        return 200, epoch_headers(1, 0, **{"Transfer-Encoding": "chunked"}), body, None
    server = hostile(answer)
    with pytest.raises(ProtocolError, match="does not fit in the answer"):
        read_epoch(server.url)


@pytest.mark.parametrize("damage,message", [
    (lambda e: e[0].update(shape=[-2, 3]), "not a list of sizes"),
    (lambda e: e[0].update(shape=[2, 4]), "is 32 bytes, but it has 24"),
    (lambda e: e[0].update(shape=[2, True]), "not a list of sizes"),
    (lambda e: e[0].update(dtype="|O"), "has dtype"),
    (lambda e: e[1].update(offset=10_000), "outside the payload"),
    (lambda e: e[0].update(offset=2), "outside the payload"),
    (lambda e: e[0].update(nbytes="24"), "not whole numbers"),
    (lambda e: e.append("x"), "has no name"),
])
def test_a_raw_header_whose_shapes_do_not_fit_is_refused(hostile, damage, message):
    payload = raw_payload([("x", np.zeros((2, 3), "<f4")), ("y", np.zeros(2, "<i8"))], header_override=damage)
    server = hostile(lambda path, query, n: (200, epoch_headers(1, 0), frames([payload]), None))
    with pytest.raises(ProtocolError, match=message):
        read_epoch(server.url)


@pytest.mark.parametrize("second", [
    [("z", np.full((2, 3), 1, dtype="<f4")), ("y", np.array([1, 1], dtype="<i8"))],  # renamed
    [("x", np.full((2, 3), 1, dtype="<i4")), ("y", np.array([1, 1], dtype="<i8"))],  # another dtype
    [("x", np.full((6,), 1, dtype="<f4")), ("y", np.array([1, 1], dtype="<i8"))],  # another rank
    [("x", np.full((2, 3), 1, dtype="<f4"))],  # one missing
])
def test_a_batch_whose_arrays_are_not_the_first_batchs_is_refused(hostile, second):
    # A damaged header can rename an array and still fit its bytes: a trainer would look for "x" and not find it.
    body = frames([batch(0), raw_payload(second)])
    server = hostile(lambda path, query, n: (200, epoch_headers(2, 0), body, None))
    with pytest.raises(ProtocolError, match="batch 1 of the answer holds arrays"):
        read_epoch(server.url)


@pytest.mark.parametrize("second,message", [
    ([("x", np.zeros((3, 3), "<f4")), ("y", np.zeros(2, "<i8"))], "has arrays of {'x': 3, 'y': 2} rows"),
    ([("x", np.zeros((33, 3), "<f4")), ("y", np.zeros(33, "<i8"))], "holds 33 examples; expected 1 to 32"),
    ([("x", np.zeros((0, 3), "<f4")), ("y", np.zeros(0, "<i8"))], "holds 0 examples; expected 1 to 32"),
])
@pytest.mark.parametrize("wire", ["raw", "npz"])
def test_a_batch_of_other_than_1_to_batch_size_examples_is_refused(hostile, second, message, wire):
    # Each array's shape fits its bytes: only the rows of the arrays, taken together, show the batch is wrong.
    def payload(arrays):
        if wire == "raw":
            return raw_payload(arrays)
        data = io.BytesIO()
        np.savez(data, **dict(arrays))
        return data.getvalue()
    first = [("x", np.zeros((2, 3), "<f4")), ("y", np.zeros(2, "<i8"))]
    body = frames([payload(first), payload(second)])
    server = hostile(lambda path, query, n: (200, epoch_headers(2, 0), body, None))
    seen = []
    with pytest.raises(ProtocolError, match="batch 1 of the answer " + re.escape(message)):
        for b in Client(server.url, backoff=0.001, timeout=5).batches("pos", "train", wire=wire, expand=wire == "npz"):
            seen.append(b)
    assert len(seen) == 1


@pytest.mark.parametrize("promised,message", [
    ("5", "held 4 examples, not the 5 its X-Examples promises"),
    ("3", "batch 1 of the answer takes it past the 3 examples"),
    ("-4", "X-Examples '-4' is not a count"),
    ("+4", "X-Examples '+4' is not a count"),
])
def test_batches_that_do_not_hold_the_examples_the_answer_promises_are_refused(hostile, promised, message):
    server = hostile(lambda path, query, n: (200, epoch_headers(2, 0, **{"X-Examples": promised}),
                                             frames([batch(0), batch(1)]), None))
    with pytest.raises(ProtocolError, match=re.escape(message)):
        read_epoch(server.url)


def test_an_answer_that_promises_no_example_count_is_read_on_its_batches_alone(hostile):
    # A server before X-Examples: each batch is still checked, the total cannot be.
    server = hostile(lambda path, query, n: (200, epoch_headers(2, 0), frames([batch(0), batch(1)]), None))
    assert [int(b["y"][0]) for b in read_epoch(server.url)] == [0, 1]
    promised = hostile(lambda path, query, n: (200, epoch_headers(2, 0, **{"X-Examples": "4"}),
                                               frames([batch(0), batch(1)]), None))
    assert [int(b["y"][0]) for b in read_epoch(promised.url)] == [0, 1]


@pytest.mark.parametrize("arrays,headers,message", [
    ({"x": np.zeros((3, 3), "<f4"), "y": np.zeros(2, "<i8")}, {}, "arrays of {'x': 3, 'y': 2} rows"),
    ({"x": np.zeros((5, 3), "<f4"), "y": np.zeros(5, "<i8")}, {}, "holds 5 examples; expected 1 to 4"),
    ({"x": np.zeros((), "<f4"), "y": np.zeros((), "<i8")}, {}, "has arrays of no rows"),
    ({"x": np.zeros((2, 3), "<f4"), "y": np.zeros(2, "<i8")}, {"X-Examples": "3"}, "not the 3 its X-Examples"),
    ({"x": np.zeros((2, 3), "<f4"), "y": np.zeros(2, "<i8")}, {"X-Examples": "x"}, "is not a count"),
])
def test_a_single_batch_is_checked_as_a_streamed_one_is(hostile, arrays, headers, message):
    data = io.BytesIO()
    np.savez(data, **arrays)
    server = hostile(lambda path, query, n: (200, headers, data.getvalue(), None))
    with pytest.raises(ProtocolError, match=re.escape(message)):
        Client(server.url).batch("pos", "train", 0, batch_size=4)


@pytest.mark.parametrize("plan", [
    {"examples": 10, "batches": 11, "rank_batches": 5, "left_out": 1},  # a batch without examples
    {"examples": 10, "batches": 2, "rank_batches": 1, "left_out": 0},  # batches of more than 4
    {"examples": 10, "batches": 3, "rank_batches": 1, "left_out": 0},  # a batch lost
    {"examples": 10, "batches": 4, "rank_batches": 1, "left_out": 2},  # more left out than a rank's batch
])
def test_a_plan_that_cannot_divide_the_epoch_is_refused(hostile, plan):
    body = json.dumps(dict(plan, batch_size=4, world_size=2)).encode()
    server = hostile(lambda path, query, n: (200, {"Content-Type": "application/json"}, body, None))
    with pytest.raises(ProtocolError, match="do not divide an epoch at batch_size=4 and world_size=2"):
        Client(server.url).plan("pos", "train", batch_size=4, world_size=2)
    sound = dict(plan, batches=3, rank_batches=1, left_out=1)
    fine = hostile(lambda path, query, n: (200, {"Content-Type": "application/json"},
                                           json.dumps(sound).encode(), None))
    assert Client(fine.url).plan("pos", "train", batch_size=4, world_size=2)["rank_batches"] == 1


@pytest.mark.parametrize("similar,refused", [
    ([("king", 0.9), ("queen", 0.8), ("prince", 0.8)], False),
    ([("king", 0.9), ("queen", float("nan")), ("prince", 0.7)], False),
    ([("king", 0.8), ("queen", 0.9)], True),  # not best first
    ([("king", 0.9), ("king", 0.8)], True),  # a word twice
])
def test_nearest_words_come_distinct_and_best_first(hostile, similar, refused):
    def answer(path, query, n):
        entries = [{"word": word, "score": score} for word, score in similar]
        body = {"similar": entries} if n % 2 else {"results": [{"similar": entries}]}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode(), None
    client = Client(hostile(answer).url)
    for call in (lambda: client.similar(["man"], top=3), lambda: client.similar_batch([{"positive": ["man"], "top": 3}])):
        if refused:
            with pytest.raises(ProtocolError, match="not distinct words, best first"):
                call()
        else:
            answered = call()
            assert [word for word, _ in (answered if isinstance(answered[0], tuple) else answered[0])] == \
                [word for word, _ in similar]


@pytest.mark.parametrize("entry", [{"word": None, "score": 0.5}, {"word": 5, "score": 0.5}, {"score": 0.5},
                                   {"word": "king", "score": "0.5"}, {"word": "king", "score": True}, ["king", 0.5]])
def test_a_nearest_word_that_is_not_a_word_and_its_score_is_refused(hostile, entry):
    def answer(path, query, n):
        entries = [{"word": "queen", "score": "NaN"}, entry]
        body = {"similar": entries} if n % 2 else {"results": [{"similar": entries}]}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode(), None
    client = Client(hostile(answer).url)
    for call in (lambda: client.similar(["man"], top=3), lambda: client.similar_batch([{"positive": ["man"], "top": 3}])):
        with pytest.raises(ProtocolError, match="an entry that is not a word and its score"):
            call()


def test_garbage_where_an_npz_belongs_is_a_protocol_error(hostile):
    server = hostile(lambda path, query, n: (200, epoch_headers(1, 0), frames([b"PK\x03\x04 not a zip"]), None))
    with pytest.raises(ProtocolError, match="not a valid .npz"):
        read_epoch(server.url, wire="npz")


def test_missing_share_headers_are_a_protocol_error(hostile):
    server = hostile(lambda path, query, n: (200, {}, frames([batch(0)]), None))
    with pytest.raises(ProtocolError, match="X-Batches"):
        read_epoch(server.url)


def test_a_vector_of_the_wrong_length_is_refused(hostile):
    def answer(path, query, n):
        if path == "/v1/vectors":
            return 200, {"X-W2VCache-Shape": "3,4"}, b"\0" * 48, None
        return 200, {"X-W2VCache-Shape": "300"}, b"\0" * 1196, None
    server = hostile(answer)
    client = Client(server.url)
    with pytest.raises(ProtocolError, match="holds 1196 bytes, not 1200"):
        client.vector("king")
    with pytest.raises(ProtocolError, match="asked for 2 vectors"):
        client.vectors(["a", "b"])
    several = hostile(lambda path, query, n: (200, {"X-W2VCache-Shape": "2,300"}, b"\0" * 2400, None))
    with pytest.raises(ProtocolError, match="asked for one vector, the answer's shape is '2,300'"):
        Client(several.url).vector("king")


def test_each_failure_has_its_type_and_every_type_is_a_w2vcache_error(hostile):
    with pytest.raises(ConnectionError):
        Client("http://127.0.0.1:9").info()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    with pytest.raises(TimeoutError):
        Client(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5).info()
    silent.close()
    server = hostile(lambda path, query, n: (418, {"Content-Type": "application/json"}, b'{"error": "short and stout"}', None))
    with pytest.raises(ResponseError) as caught:
        Client(server.url).info()
    assert caught.value.status == 418 and caught.value.message == "short and stout"
    for kind in (ConnectionError, TimeoutError, ResponseError, ProtocolError, FingerprintMismatch):
        assert issubclass(kind, W2VCacheError)


def test_every_failure_pickles_whole():
    # As a multiprocessing pool or a DataLoader worker sends it: the type and every field.
    import pickle

    failures = [ConnectionError("down"), TimeoutError("slow"), ResponseError(404, "no such word"),
                ProtocolError("short"), FingerprintMismatch("other data", "abc", None), W2VCacheError("any")]
    for failure in failures:
        copy = pickle.loads(pickle.dumps(failure))
        assert type(copy) is type(failure) and copy.__dict__ == failure.__dict__ and str(copy) == str(failure)


def test_a_client_error_is_not_retried_and_a_server_error_is(hostile):
    server = hostile(lambda path, query, n: (400, {}, b'{"error": "bad"}', None))
    with pytest.raises(ResponseError):
        read_epoch(server.url, retries=3)
    assert len(server.requests) == 1
    failing = hostile(lambda path, query, n: (503, {}, b'{"error": "later"}', None))
    with pytest.raises(ResponseError, match="gave up after 2 retries"):
        read_epoch(failing.url, retries=2)
    assert len(failing.requests) == 3


def test_calls_share_one_kept_alive_connection(hostile):
    server = hostile(lambda path, query, n: (200, {"X-W2VCache-Shape": "4"}, b"\0" * 16, None))
    with Client(server.url) as client:
        for _ in range(50):
            assert client.vector("king").shape == (4,)
    assert server.connections == 1


def test_the_package_version_is_the_tools():
    import subprocess

    from conftest import w2vcache_binary
    import w2vcache_client
    tool = subprocess.run([str(w2vcache_binary()), "--version"], capture_output=True, text=True).stdout.strip()
    assert w2vcache_client.__version__ == tool


def serve_compact(hostile, ids, epoch_fingerprint="f00d"):
    """A server of one compact batch: `ids` (2 x 2) name rows of a 4 x 3 embedding matrix, 0 to 11 (data "f00d"; the
    epoch says it serves `epoch_fingerprint`)."""
    import io
    matrix = io.BytesIO()
    np.save(matrix, np.arange(12, dtype="<f4").reshape(4, 3))

    def damage(entries):
        entries[0].update(gather="embeddings", ids_shape=[2, 2], shape=[2, 6])

    payload = raw_payload([("x", np.array(ids, dtype="<i4")), ("y", np.zeros(2, "<i8"))], header_override=damage)

    # What a loader asks besides (warm, len): the dataset has an embedding matrix, the server's data, one batch.
    described = {"/v1/datasets": {"datasets": [{"name": "pos", "arrays": {"embeddings": {}}}]},
                 "/v1/info": {"fingerprint": "f00d"},
                 "/v1/datasets/pos/train/plan": {"examples": 2, "batches": 1, "rank_batches": 1, "left_out": 0}}

    def answer(path, query, n):
        if path.endswith("/embeddings"):
            return 200, {"X-W2VCache-Fingerprint": "f00d"}, matrix.getvalue(), None
        if path in described:
            return 200, {"Content-Type": "application/json"}, json.dumps(described[path]).encode(), None
        return 200, epoch_headers(1, 0, fingerprint=epoch_fingerprint), frames([payload]), None
    return hostile(answer)


@pytest.mark.parametrize("bad_id", [-1, 4, 2**31 - 1])
def test_compact_ids_outside_the_embedding_matrix_are_refused(hostile, bad_id):
    server = serve_compact(hostile, [[0, 1], [2, bad_id]])
    with pytest.raises(ProtocolError, match="names rows outside the 4 of table 'embeddings'"):
        list(Client(server.url, backoff=0.001, timeout=5).batches("pos", "train"))
    # In range, the same frame expands to the matrix's rows.
    server = serve_compact(hostile, [[0, 1], [2, 3]])
    (batch,) = list(Client(server.url, backoff=0.001, timeout=5).batches("pos", "train"))
    assert batch["x"].tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]


def test_a_header_seen_before_is_checked_again_against_a_shorter_payload(hostile):
    full = batch(0)
    cut = full[:580]  # the same header, its last array (y, bytes 576..592) no longer inside
    server = hostile(lambda path, query, n: (200, epoch_headers(2, 0), frames([full, cut]), None))
    with pytest.raises(ProtocolError, match="outside the payload"):
        read_epoch(server.url)


def npy_file(array, version=None):
    import io
    file = io.BytesIO()
    np.lib.format.write_array(file, array, version=version)
    return file.getvalue()


def npz_file(**arrays):
    file = io.BytesIO()
    np.savez(file, **arrays)
    return file.getvalue()


def embeddings_answer(body):
    return lambda path, query, n: (200, {"X-W2VCache-Fingerprint": "f00d"}, body, None)


@pytest.mark.parametrize("array, version", [
    (np.arange(12, dtype="<f4").reshape(4, 3), None),
    (np.asfortranarray(np.arange(12, dtype="<f4").reshape(4, 3)), None),
    (np.arange(12, dtype="<f4").reshape(4, 3), (2, 0)),
    (np.zeros((0, 3), dtype="<f4"), None),
])
def test_an_embedding_matrix_is_read_into_its_array_in_any_order_and_version(hostile, array, version):
    server = hostile(embeddings_answer(npy_file(array, version)))
    client = Client(server.url, backoff=0.001, timeout=5)
    assert np.array_equal(client.embeddings("pos"), array)
    assert np.array_equal(client.embeddings("pos"), array), "the connection was given back at the answer's end"
    assert server.connections == 1


@pytest.mark.parametrize("damage, message", [
    (lambda body: body[:-4], "not the 44 bytes that follow it"),
    (lambda body: body + b"\0" * 4, "not the 52 bytes that follow it"),
    (lambda body: body[:8] + (60000).to_bytes(2, "little") + body[10:], "more than the answer"),
    (lambda body: body[:10] + body[10:].replace(b"'<f4'", b"'|O8'"), "objects are refused"),
    (lambda body: body[:10] + b"{not a dict}" + body[22:], "not a valid .npy file"),
    (lambda body: b"PK\x03\x04" + body[4:], "not a valid .npy file"),
    (lambda body: body[:6], "not a valid .npy file"),
    # A whole .npz archive, which np.load reads too: it was handed on as the matrix (an NpzFile).
    (lambda body: npz_file(matrix=np.arange(12, dtype="<f4").reshape(4, 3)), "an .npz archive, not the .npy file"),
])
def test_an_embedding_matrix_whose_header_and_body_disagree_is_refused(hostile, damage, message):
    body = damage(npy_file(np.arange(12, dtype="<f4").reshape(4, 3)))
    server = hostile(embeddings_answer(body))
    with pytest.raises(ProtocolError, match=message):
        Client(server.url, backoff=0.001, timeout=5).embeddings("pos")


@pytest.mark.parametrize("chunked", [False, True])
def test_an_answer_cut_before_its_announced_length_is_a_connection_error(hostile, chunked):
    vector = b"\0" * 1200
    if chunked:  # one chunk announced at 1200 bytes, cut after 600 of them
        body, headers = b"4b0\r\n" + vector + b"\r\n0\r\n\r\n", {"Transfer-Encoding": "chunked"}
        cut = 5 + 600
    else:
        body, headers, cut = vector, {"Content-Length": "1200"}, 600
    server = hostile(lambda path, query, n: (200, {"X-W2VCache-Shape": "300", **headers}, body, cut))
    with pytest.raises(ConnectionError, match="before its answer was complete"):
        Client(server.url, backoff=0.001, timeout=5).vector("king")


def test_a_content_length_alone_never_takes_the_memory_it_names(hostile):
    # A vector's answer longer than its shape says is refused before its body is read; a batch's, read as it
    # arrives: a server that announces a terabyte (or two gigabytes) and sends a little is a protocol error or a
    # broken connection, not a MemoryError, and not two gigabytes of this process's memory.
    for announced in (10**12, 2 * 10**9):
        server = hostile(lambda path, query, n, announced=announced: (
            200, {"X-W2VCache-Shape": "300", "Content-Length": str(announced)}, b"\0" * 1200, 1200))
        with pytest.raises(ProtocolError, match=f"body is {announced} bytes, more than the 1200 expected"):
            Client(server.url, backoff=0.001, timeout=5).vector("king")
        if announced == 10**12:
            with pytest.raises(ProtocolError, match="more than the 2147483648 expected"):
                Client(server.url, backoff=0.001, timeout=5).batch("pos", "train", 0)
            continue
        # The peak resident memory of a process of its own (VmHWM: getrusage's maximum carries the parent's over).
        code = (f"import re, sys; sys.path.insert(0, {str(CLIENT)!r})\n"
                "from w2vcache_client import Client, ConnectionError\n"
                "try:\n"
                f"    Client({server.url!r}, timeout=5).batch('pos', 'train', 0)\n"
                "except ConnectionError:\n"
                "    status = open('/proc/self/status').read()\n"
                "    print(int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) // 1024)\n")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stdout.strip(), result.stderr
        assert int(result.stdout) < 400, f"a 2 GB Content-Length took the reader to {result.stdout.strip()} MB"


def test_a_word_list_answered_by_two_caches_is_refused(hostile):
    # 1,500 words go in two requests (1,000 and 500); a load balancer sends the second to a replica of other data.
    def answer(path, query, n):
        rows = 1000 if n == 1 else 500
        headers = {"X-W2VCache-Shape": f"{rows},2", "X-W2VCache-Rows": "c" * rows,
                   "X-W2VCache-Fingerprint": "aaaa" if n == 1 else "bbbb"}
        return 200, headers, b"\0" * (rows * 8), None
    server = hostile(answer)
    with pytest.raises(FingerprintMismatch, match="words 1000 on were answered from other data") as caught:
        Client(server.url).vectors(["w"] * 1500)
    assert (caught.value.expected, caught.value.found) == ("aaaa", "bbbb") and len(server.requests) == 2


def test_a_word_list_answered_in_vectors_of_two_lengths_is_refused(hostile):
    # The same fingerprint on both, but the second request's vectors are shorter: no matrix is made of them.
    def answer(path, query, n):
        rows, dimension = (1000, 2) if n == 1 else (500, 3)
        headers = {"X-W2VCache-Shape": f"{rows},{dimension}", "X-W2VCache-Rows": "c" * rows,
                   "X-W2VCache-Fingerprint": "aaaa"}
        return 200, headers, b"\0" * (rows * dimension * 4), None
    with pytest.raises(ProtocolError, match="words 1000 on came as vectors of 3 values, those before them of 2"):
        Client(hostile(answer).url).vectors(["w"] * 1500)


@pytest.mark.parametrize("missing, oov, rows, value, message", [
    ("error", None, "cz", 0.0, "row 1 is 'zero', which missing='error' does not give"),
    ("zero", None, "cr", 0.5, "row 1 is 'random', which missing='zero' does not give"),
    ("oov", "random", "cs", 0.5, "row 1 is 'subword', which missing='oov', oov='random' does not give"),
    ("oov", None, "cz", 0.0, "row 1 is 'zero', which missing='oov' does not give"),
    ("zero", None, "cz", 0.5, "row 1 is said to be zeros and is not"),
])
def test_rows_of_kinds_the_policy_does_not_give_are_refused(hostile, missing, oov, rows, value, message):
    def answer(path, query, n):
        body = np.array([[1.0, 2.0], [value, value]], dtype="<f4").tobytes()
        return 200, {"X-W2VCache-Shape": "2,2", "X-W2VCache-Rows": rows}, body, None
    client = Client(hostile(answer).url)
    with pytest.raises(ProtocolError, match=message):
        client.vectors(["king", "kingz"], missing=missing, oov=oov)


def test_rows_of_kinds_the_policy_gives_are_taken(hostile):
    def answer(path, query, n):
        return 200, {"X-W2VCache-Shape": "3,2", "X-W2VCache-Rows": "csr"}, b"\1" * 24, None
    matrix, kinds = Client(hostile(answer).url).vectors_and_kinds(["a", "b", "c"], missing="oov", oov="subword")
    assert kinds == ["cache", "subword", "random"] and matrix.shape == (3, 2)


@pytest.mark.parametrize("bad_id", [-1, 4, 2**31 - 1])
def test_compact_ids_expanded_into_the_callers_arrays_are_checked_alike(hostile, bad_id):
    # expand_batch(into=...) gathers without numpy's own bounds check (the torch adapter's way into pinned memory):
    # an id outside the matrix must still be refused, never clipped to its last row.
    given = []

    def into(shape, dtype):
        given.append(np.full(shape, -7, dtype))
        return given[-1]
    with Client(serve_compact(hostile, [[0, 1], [2, 3]]).url, backoff=0.001, timeout=5) as client:
        (batch,) = list(client.batches("pos", "train", expand=False))
        bad = dict(batch, x=np.array([[0, 1], [2, bad_id]], dtype=np.int32))  # the ids as a caller may pass them
        with pytest.raises(ProtocolError, match="names rows outside the 4 of table 'embeddings'"):
            client.expand_batch(bad, into=into)
        expanded = client.expand_batch(batch, into=into)
    assert expanded["x"] is given[-1] and expanded["x"].tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]


@pytest.mark.parametrize("bad_id", [-1, 4, 2**31 - 1])
def test_row_ids_handed_on_unexpanded_are_checked_first(hostile, bad_id):
    # Ids a trainer looks up in an nn.Embedding on its GPU: one outside the matrix would end the CUDA context with a
    # device-side assert, so the client refuses it as it refuses it when it expands.
    with Client(serve_compact(hostile, [[0, 1], [2, bad_id]]).url, backoff=0.001, timeout=5) as client:
        with pytest.raises(ProtocolError, match="names rows outside the 4 of table 'embeddings'"):
            list(client.batches("pos", "train", expand=False))
    with Client(serve_compact(hostile, [[0, 1], [2, 3]]).url, backoff=0.001, timeout=5) as client:
        (batch,) = list(client.batches("pos", "train", expand=False))
    assert batch["x"].tolist() == [[0, 1], [2, 3]] and batch["x"].dtype == np.int32


@pytest.mark.parametrize("workers", [0, 2])
def test_an_epoch_dataset_refuses_row_ids_outside_the_matrix(hostile, workers):
    pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset
    for pin in (False, True):
        with Client(serve_compact(hostile, [[0, 1], [2, 4]]).url, backoff=0.001, timeout=5) as client:
            dataset = EpochDataset(client, "pos", "train", rank=0, world_size=1, expand=False)
            with pytest.raises(ProtocolError, match="names rows outside the 4 of table 'embeddings'"):
                list(dataset.loader(num_workers=workers, pin_memory=pin))


def test_row_ids_of_other_data_than_the_matrix_given_out_are_refused(hostile):
    # The trainer built its embedding layer from embeddings() (data f00d); the server now serves other data (a
    # dataset prepared again, a replica of another cache): its ids name rows of another matrix.
    with Client(serve_compact(hostile, [[0, 1], [2, 3]], epoch_fingerprint="beef").url, backoff=0.001,
                timeout=5) as client:
        client.embeddings("pos")
        with pytest.raises(FingerprintMismatch, match="not of the one embeddings\\(\\) gave out") as caught:
            list(client.batches("pos", "train", expand=False))
        assert (caught.value.expected, caught.value.found) == ("f00d", "beef")
