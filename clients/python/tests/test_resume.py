"""Reading an epoch through a connection that fails: the client resumes where it was and never yields a batch twice."""
import socket
import threading
import time

import pytest

from conftest import Server, run, w2vcache_binary, REPO, TRAIN as TRAIN_ROWS
from w2vcache_client import Client, FingerprintMismatch, W2VCacheError


class FlakyProxy:
    """A TCP proxy on loopback that cuts each of its first `cuts` connections after `after` bytes from the server,
    and can be pointed at another server."""

    def __init__(self, target, after=50_000, cuts=2):
        self.target, self.after, self.cuts = target, after, cuts
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            limit = self.after if self.connections <= self.cuts else None
            host, port = self.target.split("//")[1].split(":")
            upstream = socket.create_connection((host, int(port)))
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, limit), daemon=True).start()

    @staticmethod
    def _pipe(source, destination, limit):
        sent = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) >= limit:
                    destination.sendall(data[:limit - sent])
                    break
                destination.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for end in (source, destination):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def close(self):
        self.listener.close()


@pytest.mark.parametrize("wire", ["raw", "npz"])
def test_a_dropped_connection_resumes_at_the_next_batch(server, wire):
    # Full arrays (7.2 KB a batch), so that each cut lands inside the second or third batch.
    direct = [b["x"].tobytes() for b in Client(server.url).batches("pos", "train", batch_size=2, seed=9, compact=False)]
    proxy = FlakyProxy(server.url, after=12_000, cuts=2)
    client = Client(proxy.url, backoff=0.01)
    got = [b["x"].tobytes() for b in client.batches("pos", "train", batch_size=2, seed=9, wire=wire, compact=False)]
    assert got == direct
    assert proxy.connections == 3 and client.resumptions == 2
    proxy.close()


def test_too_many_failures_raise(server):
    proxy = FlakyProxy(server.url, after=3_000, cuts=100)  # never a whole batch
    with pytest.raises(W2VCacheError) as caught:
        list(Client(proxy.url, backoff=0.001).batches("pos", "train", batch_size=2, seed=9, retries=3, compact=False))
    assert "gave up after 3 retries" in caught.value.message
    proxy.close()


def test_a_replica_with_other_data_is_refused(server, tmp_path):
    # Another cache: the same vectors, a different pos dataset, so another fingerprint.
    db = tmp_path / "other"
    run(w2vcache_binary(), "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db)
    (tmp_path / "t.txt").write_text("Confidence NN\nin IN\nthe DT\npound NN\nis VBZ\nwidely RB\nexpected VBN\nto TO\n")
    run(w2vcache_binary(), "prepare", "pos", "--train", tmp_path / "t.txt", "--test", tmp_path / "t.txt", "--db", db, "--out", tmp_path)
    other = Server(db)
    assert Client(other.url).info()["fingerprint"] != Client(server.url).info()["fingerprint"]
    proxy = FlakyProxy(server.url, after=12_000, cuts=1)
    batches = Client(proxy.url, backoff=0.2).batches("pos", "train", batch_size=2, seed=9, compact=False)
    first = next(batches)
    proxy.target = other.url  # the next connection reaches a replica that serves other data
    with pytest.raises(FingerprintMismatch) as caught:
        list(batches)
    assert "fingerprint" in caught.value.message and caught.value.expected != caught.value.found
    assert first["x"].shape[0] == 2
    proxy.close()
    other.stop()


def test_a_trainer_that_stops_reading_on_a_full_server_is_cut_for_a_newcomer_and_resumes(tmp_path):
    # 8,400 POS rows of full windows (3.6 KB each, 30 MB an epoch: more than the kernel holds for a connection), a
    # server that takes one connection at a time.
    db = tmp_path / "db"
    run(w2vcache_binary(), "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db)
    (tmp_path / "train.txt").write_text(TRAIN_ROWS * 700)
    run(w2vcache_binary(), "prepare", "pos", "--train", tmp_path / "train.txt", "--test", tmp_path / "train.txt",
        "--db", db, "--out", tmp_path)
    (tmp_path / "config.yml").write_text("server:\n  max_connections: 1\n")
    full = Server(db, "--config", tmp_path / "config.yml")
    try:
        with Client(full.url) as reference:
            expected = [b["x"].tobytes() for b in reference.batches("pos", "train", batch_size=100, seed=3,
                                                                        compact=False)]
        trainer = Client(full.url, backoff=0.01)
        batches = trainer.batches("pos", "train", batch_size=100, seed=3, compact=False)
        got = [next(batches)["x"].tobytes()]
        time.sleep(2)  # training, say; the answers wait: the client has been slow for over a second
        host, port = full.url.split("//")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as newcomer:
            newcomer.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            assert newcomer.recv(100).startswith(b"HTTP/1.1 200")
        got += [b["x"].tobytes() for b in batches]
        assert got == expected, "every batch of the epoch once, in order"
        assert trainer.resumptions >= 1, "the trainer's connection was closed for the newcomer and it resumed"
        trainer.close()
    finally:
        assert full.stop() == 0
