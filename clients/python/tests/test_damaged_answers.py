"""The client against a real server's answers damaged at random: bytes changed in the head or the body, answers cut
short, headers dropped or given hostile values, other statuses, chunk sizes that are not sizes. Whatever arrives,
each call either returns what it promises (the types, dtypes and shapes of the undamaged answer's result, every batch
of the share) or raises a W2VCacheError; never another exception, and never a hang."""
import http.client
import http.server
import random
import socket
import threading
import urllib.parse

import numpy as np
import pytest

from test_hostile_server import QuietServer
from w2vcache_client import Client, ProtocolError, ResponseError, W2VCacheError

#: Damaged answers per call: enough that every kind of damage meets every call several times.
TRIES_PER_CALL = 100

#: The client's calls, each as a trainer makes it.
CALLS = {
    "info": lambda c: c.info(),
    "vector": lambda c: c.vector("Confidence"),
    "vectors": lambda c: c.vectors(["Confidence", "the", "no-such-word"], missing="zero"),
    "vectors_and_kinds": lambda c: c.vectors_and_kinds(["the", "no-such-word"], missing="oov"),
    "similar": lambda c: c.similar(["Confidence"], top=3),
    "similar_batch": lambda c: c.similar_batch([{"positive": ["in"], "top": 2}, {"positive": ["the"]}]),
    "datasets": lambda c: c.datasets(),
    "vocabulary": lambda c: c.vocabulary("pos"),
    "embeddings": lambda c: c.embeddings("pos"),
    "batch_count": lambda c: c.batch_count("pos", "train", batch_size=2),
    "batch": lambda c: c.batch("pos", "train", 1, batch_size=2),
    "batches": lambda c: list(c.batches("pos", "train", batch_size=2, retries=1)),
    "batches_npz": lambda c: list(c.batches("pos", "train", batch_size=3, wire="npz", retries=1)),
    "batches_ids": lambda c: list(c.batches("pos", "train", batch_size=2, expand=False, retries=1)),
    "warm": lambda c: c.warm("pos"),
}

#: Header values a hostile or broken server might send: signs, exponents, other bases, digits of other scripts
#: (Latin-1's superscripts pass `str.isdigit`), huge numbers, lists, nothing.
HOSTILE_VALUES = ["", " ", "-1", "+5", "1e3", "0x10", "1_0", "\u00b2", "\u00b9\u00b2", "99999999999999999999999",
                  "3,4", "4,3,0", "0", "1", "2", "a", "300,", ",300", "chunked", "close", "\u00ff\u00fe"]
CHUNK_SIZES = ["-5", "0x10", "zz", "1_0", "ffffffffffffffffff", "\u00b2", " 1 ", "1;x=y", ""]
STATUSES = [100, 199, 204, 206, 301, 304, 400, 404, 418, 500, 503, 999]


class Answer:
    """A recorded answer: status, reason, headers (without framing) and the whole body."""

    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def encode(self, chunk_sizes=None):
        """The answer's bytes, framed by Content-Length, or chunked at `chunk_sizes` (text of each size line)."""
        head = f"HTTP/1.1 {self.status} {self.reason}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in self.headers)
        if chunk_sizes is None:
            if not any(name.lower() == "content-length" for name, _ in self.headers):
                head += f"Content-Length: {len(self.body)}\r\n"
            return (head + "\r\n").encode("latin-1") + self.body
        body, rest = b"", self.body
        for size_line in chunk_sizes:
            size = max(1, len(rest) // 3)
            body += size_line.encode("latin-1") + b"\r\n" + rest[:size] + b"\r\n"
            rest = rest[size:]
        body += f"{len(rest):x}\r\n".encode() + rest + b"\r\n0\r\n\r\n"
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode("latin-1") + body


class Recorder:
    """A proxy in front of the real server that keeps each distinct request's first answer."""

    def __init__(self, upstream):
        self.answers = {}
        #: Every request's key, in order.
        self.requested = []
        address = urllib.parse.urlsplit(upstream)
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.forward()

            def do_POST(self):
                self.forward()

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                connection = http.client.HTTPConnection(address.hostname, address.port, timeout=20)
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "content-type")}
                connection.request(self.command, self.path, body=body or None, headers=headers)
                response = connection.getresponse()
                answer = Answer(response.status, response.reason,
                                [(k, v) for k, v in response.getheaders()
                                 if k.lower() not in ("transfer-encoding", "connection", "content-length", "date")],
                                response.read())
                connection.close()
                recorder.answers.setdefault((self.command, self.path), answer)
                recorder.requested.append((self.command, self.path))
                self.wfile.write(answer.encode())

        self.server = QuietServer.serving(Handler)
        self.url = self.server.url

    def close(self):
        self.server.close()


class Replay:
    """A server on loopback that answers as the recording did, except that the first request for `damaged_key` gets
    `damaged_bytes`, after which that connection is closed. A request never recorded gets a JSON 404."""

    def __init__(self, answers, damaged_key, damaged_bytes):
        self.answers, self.damaged_key, self.damaged_bytes = answers, damaged_key, damaged_bytes
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.open = True
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while self.open:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(connection,), daemon=True).start()

    def serve(self, connection):
        buffer = b""
        with connection:
            connection.settimeout(10)
            while True:
                while b"\r\n\r\n" not in buffer:
                    try:
                        more = connection.recv(65536)
                    except OSError:
                        return
                    if not more:
                        return
                    buffer += more
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                               if line.lower().startswith("content-length:")), 0)
                while len(buffer) < length:
                    more = connection.recv(65536)
                    if not more:
                        return
                    buffer += more
                buffer = buffer[length:]
                key = (method, target)
                try:
                    if key == self.damaged_key and self.damaged_bytes is not None:
                        damaged, self.damaged_bytes = self.damaged_bytes, None
                        connection.sendall(damaged)
                        connection.shutdown(socket.SHUT_WR)
                        return
                    answer = self.answers.get(key) or Answer(404, "Not Found", [("Content-Type", "application/json")],
                                                             b'{"error": "not recorded"}')
                    connection.sendall(answer.encode())
                except OSError:
                    return

    def close(self):
        self.open = False
        self.listener.close()


def damage(answer, draw):
    """The bytes of `answer` damaged one way, drawn from `draw`, and the way in words."""
    kind = draw.choice(["byte", "body byte", "cut", "header", "drop header", "status", "insert", "chunks"])
    if kind in ("byte", "body byte"):
        data = bytearray(answer.encode())
        start = len(data) - len(answer.body) if kind == "body byte" and answer.body else 0
        where = [draw.randrange(start, len(data)) for _ in range(draw.randint(1, 3))]
        for position in where:
            data[position] = draw.randrange(256)
        return bytes(data), f"{kind}s at {where}"
    if kind == "cut":
        data = answer.encode()
        at = draw.randrange(len(data))
        return data[:at], f"cut at {at} of {len(data)} bytes"
    if kind in ("header", "drop header"):
        names = [name for name, _ in answer.headers] + ["Content-Length"]
        name = draw.choice(names)
        value = draw.choice(HOSTILE_VALUES)
        headers = [(n, v) for n, v in answer.headers if n != name]
        if kind == "header":
            headers.append((name, value))
        elif name == "Content-Length":
            # No length and no chunks: the body ends where the connection closes.
            return (Answer(answer.status, answer.reason, headers, b"").encode().replace(b"Content-Length: 0\r\n", b"")
                    + answer.body), "no Content-Length"
        return Answer(answer.status, answer.reason, headers, answer.body).encode(), f"{kind} {name}: {value!r}"
    if kind == "status":
        status = draw.choice(STATUSES)
        return Answer(status, "Whatever", answer.headers, answer.body).encode(), f"status {status}"
    if kind == "insert":
        data = bytearray(answer.body)
        at = draw.randrange(len(data) + 1)
        data[at:at] = bytes(draw.randrange(256) for _ in range(draw.randint(1, 16)))
        kept = draw.random() < 0.5
        headers = answer.headers if kept else answer.headers + [("Content-Length", str(len(answer.body)))]
        return Answer(answer.status, answer.reason, headers, bytes(data)).encode(), f"bytes inserted at {at}"
    sizes = [draw.choice(CHUNK_SIZES)]
    return answer.encode(chunk_sizes=sizes), f"chunk size {sizes[0]!r}"


def shape_of(value):
    """What a call promises about its result: types, dtypes and shapes, not values a damaged byte may change."""
    if isinstance(value, np.ndarray):
        return "array", value.dtype.str, value.shape
    if isinstance(value, dict):
        return "dict", sorted((key, shape_of(item)) for key, item in value.items() if isinstance(item, np.ndarray))
    if isinstance(value, list):
        if all(isinstance(item, dict) for item in value):
            return "list", [shape_of(item) for item in value]
        return "list", len(value)
    if isinstance(value, tuple):
        return "tuple", [shape_of(item) for item in value]
    return type(value).__name__


@pytest.fixture(scope="module")
def recorded(server):
    """Each call's undamaged result and the answers it was made of."""
    recorder = Recorder(server.url)
    results = {}
    try:
        for name, call in CALLS.items():
            recorder.requested.clear()
            with Client(recorder.url, timeout=20) as client:
                results[name] = (call(client), set(recorder.requested))
    finally:
        recorder.close()
    return recorder.answers, results


@pytest.mark.parametrize("name", list(CALLS))
def test_a_damaged_answer_is_an_error_or_what_the_call_promises(recorded, name):
    answers, results = recorded
    reference, keys = results[name]
    draw = random.Random(f"{name}-20261203")
    surprises = []
    for attempt in range(TRIES_PER_CALL):
        key = draw.choice(sorted(keys))
        damaged, how = damage(answers[key], draw)
        replay = Replay(answers, key, damaged)
        try:
            with Client(replay.url, timeout=3, backoff=0.001) as client:
                value = CALLS[name](client)
            if name in ("vector", "vectors", "embeddings", "batch", "batches", "batches_npz", "batches_ids",
                        "vectors_and_kinds"):
                if shape_of(value) != shape_of(reference):
                    surprises.append(f"{key} {how}: returned {shape_of(value)}, not {shape_of(reference)}")
                elif name == "batches_ids" and not _ids_within(value, rows=len(results["embeddings"][0])):
                    surprises.append(f"{key} {how}: returned row ids outside the embedding matrix")
            elif name == "vocabulary" and not all(
                    isinstance(words, list) and all(isinstance(word, str) for word in words) for words in value.values()):
                surprises.append(f"{key} {how}: returned {str(value)[:200]}, not lists of words")
            elif name == "batch_count" and not isinstance(value, int):
                surprises.append(f"{key} {how}: returned {value!r}, not a count")
            elif name in ("similar", "similar_batch") and not _scored_lists(value, name):
                surprises.append(f"{key} {how}: returned {value!r}")
        except W2VCacheError:
            pass
        except Exception as error:  # noqa: BLE001 - what this test exists to find
            surprises.append(f"{key} {how}: {type(error).__name__}: {error}")
        finally:
            replay.close()
    assert not surprises, f"{len(surprises)} of {TRIES_PER_CALL} damaged answers:\n" + "\n".join(surprises[:10])


def _ids_within(batches, rows):
    """Whether every row id of `batches` (read with expand=False) names one of the embedding matrix's `rows`."""
    return all(0 <= batch["x"].min() and batch["x"].max() < rows for batch in batches)


def _scored_lists(value, name):
    lists = value if name == "similar_batch" else [value]
    return isinstance(lists, list) and all(
        isinstance(scored, list) and all(isinstance(w, str) and isinstance(s, float) for w, s in scored)
        for scored in lists)


def answer_once(head, body=b""):
    """A server whose only answer is `head` and `body` as they are, to `GET /v1/info` and to the epoch asked below."""
    data = head.encode("latin-1") + body
    return Replay({}, ("GET", "/v1/info"), data), Replay({}, ("GET", EPOCH), data)


EPOCH = ("/v1/datasets/pos/train/epoch?batch_size=32&seed=0&epoch=0&shuffle=true&rank=0&world_size=1&part=0&parts=1"
         "&format=raw&compact=true&start=0")


# What the random damage above found, each kept as a case of its own.
@pytest.mark.parametrize("head,message", [
    ("HTTP/1.1 \u00b200 OK\r\nContent-Length: 2\r\n\r\n", "not an HTTP/1.1 status line"),
    ("HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n", "not an HTTP/1.1 status line"),
    ("HTTP/1.1 200 OK\r\nContent-Length: \u00b2\r\n\r\n", "Content-Length is '\u00b2', not a number"),
    ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "not a number"),
    ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n", "chunk size b'-2' is not hexadecimal"),
    ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n", "chunk size b'0x2' is not hexadecimal"),
    ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n", "chunk size b'1_0' is not hexadecimal"),
    ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "not an object"),
])
def test_heads_that_int_would_misread_are_protocol_errors(head, message):
    info, _ = answer_once(head, b"[]")
    try:
        with pytest.raises(ProtocolError, match=message):
            Client(info.url, timeout=3).info()
    finally:
        info.close()


@pytest.mark.parametrize("batches,start", [("\u00b2", "0"), ("2", "\u00b9"), ("99999999999999999999999", "0"),
                                           ("-1", "0"), ("+2", "0")])
def test_epoch_counts_that_are_not_ascii_counts_are_protocol_errors(batches, start):
    _, epoch = answer_once(f"HTTP/1.1 200 OK\r\nX-Batches: {batches}\r\nX-Start: {start}\r\nContent-Length: 8\r\n\r\n",
                           b"\0" * 8)
    try:
        with pytest.raises(ProtocolError, match="are not counts"):
            list(Client(epoch.url, timeout=3).batches("pos", "train", retries=0))
    finally:
        epoch.close()


@pytest.mark.parametrize("path,body,call,message", [
    ("/v1/datasets", b'{"datasets": {"pos": 1}}', lambda c: c.datasets(), "'datasets' is .*, not list"),
    ("/v1/datasets", b'{"datasets": [1]}', lambda c: c.datasets(), "not a manifest with a name"),
    ("/v1/datasets/pos/train/plan?batch_size=2&world_size=1", b'{"examples": 3, "batches": 2, "left_out": 0}',
     lambda c: c.batch_count("pos", "train", batch_size=2), "'rank_batches' is None, not int"),
    ("/v1/datasets/pos/vocab", b'{"vocab": ["a", 2], "tags": ["NN"]}', lambda c: c.vocabulary("pos"),
     "'vocab' is not a list of words"),
    ("/v1/datasets/pos/train/plan?batch_size=2&world_size=1",
     b'{"examples": 3, "batches": 2, "rank_batches": -2, "left_out": 0}',
     lambda c: c.batch_count("pos", "train", batch_size=2), "'rank_batches' is -2, not a count"),
])
def test_json_answers_without_the_fields_a_call_uses_are_protocol_errors(path, body, call, message):
    answer = Answer(200, "OK", [("Content-Type", "application/json")], body)
    server = Replay({("GET", path): answer}, None, None)
    try:
        with pytest.raises(ProtocolError, match=message):
            call(Client(server.url, timeout=3))
    finally:
        server.close()


@pytest.mark.parametrize("head,call,expected", [
    # An error's message: the first 64 KB are read for it and the connection dropped.
    ("HTTP/1.1 500 Internal Server Error", lambda c: c.info(),
     lambda e: isinstance(e, ResponseError) and e.status == 500 and len(e.message) == 64 * 1024),
    # A vector: no more than its shape's 1,200 bytes.
    ("HTTP/1.1 200 OK\r\nX-W2VCache-Shape: 300", lambda c: c.vector("the"),
     lambda e: isinstance(e, ProtocolError) and "runs past the 1200 bytes expected" in e.message),
])
def test_an_endless_answer_is_read_only_as_far_as_the_call_can_use(head, call, expected):
    # A chunked body that never ends: reading it to its end took memory until there was none.
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(head.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
            try:
                while True:
                    connection.sendall(chunk)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    outcome = []
    caller = threading.Thread(target=lambda: outcome.append(_raised(
        lambda: call(Client(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=3)))), daemon=True)
    caller.start()
    caller.join(timeout=20)
    listener.close()
    assert outcome, "the client was still reading the body after 20 s"
    assert expected(outcome[0]), repr(outcome[0])


def _raised(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the test looks at what it was
        return error
    return None
