"""Three replicas behind HAProxy (scripts/serve-replicas): rank shares read through it survive a replica killed
mid-epoch and equal what one server gives, array for array."""
import os
import re
import shutil
import signal
import subprocess
import urllib.request

import numpy as np
import pytest

from conftest import REPO, run, w2vcache_binary
from w2vcache_client import Client

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None,
                                reason="haproxy is not installed (.ci/run installs it: apt-get install haproxy)")


def served_batches(url):
    metrics = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
    return int(re.search(r"^w2vcache_batches_served_total (\d+)", metrics, re.M).group(1))


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    directory = tmp_path_factory.mktemp("replicas")
    db = directory / "db"
    run(w2vcache_binary(), "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db)
    words = ["Confidence", "in", "the", "pound", "is", "widely", "expected", "to", "take", "another", "sharp", "dive"]
    tags = ["NN", "IN", "DT", "NN", "VBZ", "RB", "VBN", "TO", "VB", "DT", "JJ", "NN"]
    # 60,000 windows: a rank's share (112 MB) is far more than socket and proxy buffers hold, so killing the
    # replica that streams it cuts the stream.
    rows = "".join(f"{words[i % 12]}{i % 37} {tags[i % 12]}\n" for i in range(60002))
    (directory / "train.txt").write_text(rows)
    (directory / "test.txt").write_text("the DT\n")
    run(w2vcache_binary(), "prepare", "pos", "--train", directory / "train.txt", "--test", directory / "test.txt",
        "--db", db, "--out", directory)
    process = subprocess.Popen([str(REPO / "scripts" / "serve-replicas"), "--db", str(db), "--replicas", "3",
                                "--port", "0", "--bin", str(w2vcache_binary())],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    replicas, url = {}, None
    for line in process.stdout:
        found = re.match(r"replica (\d+): pid (\d+) (http://\S+)", line)
        if found:
            replicas[found.group(3)] = int(found.group(2))
        if line.startswith("ready "):
            url = line.split()[1]
            break
    if url is None:
        raise AssertionError(f"serve-replicas did not start: {process.stderr.read()}")
    yield db, url, replicas
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def arrays(batch):
    return [(key, value.dtype.str, value.shape, value.tobytes()) for key, value in sorted(batch.items())]


def test_rank_shares_through_haproxy_survive_a_killed_replica(replicated, tmp_path):
    db, url, replicas = replicated
    assert len(replicas) == 3
    client = Client(url, backoff=0.2)
    fingerprints = {Client(replica).info()["fingerprint"] for replica in replicas}
    assert len(fingerprints) == 1 and client.info()["fingerprint"] in fingerprints

    # What one server gives: the same shares from `w2vcache batches` over a copy of the cache.
    single = tmp_path / "single"
    run(w2vcache_binary(), "copy", "--db", db, single)
    expected = {}
    for rank in range(2):
        stream = subprocess.run([str(w2vcache_binary()), "batches", "pos", "--batch-size", "16", "--seed", "3",
                                 "--rank", str(rank), "--world-size", "2", "--format", "npz", "--db", str(single)],
                                capture_output=True, check=True).stdout
        expected[rank] = [arrays(batch) for batch in npz_frames(stream)]
    assert len(expected[0]) == len(expected[1]) == 60000 // 16 // 2

    got = {0: [arrays(b) for b in client.batches("pos", "train", batch_size=16, seed=3, rank=0, world_size=2)]}  # compact
    assert got[0] == expected[0]
    before = {replica: served_batches(replica) for replica in replicas}
    # Full arrays (not compact): a share of 112 MB, more than the buffers hold, so the kill cuts the stream.
    reading = client.batches("pos", "train", batch_size=16, seed=3, rank=1, world_size=2, compact=False)
    got[1] = [arrays(next(reading)) for _ in range(20)]
    # The replica streaming to us is the one whose count moved: kill it mid-epoch.
    streaming = max(replicas, key=lambda replica: served_batches(replica) - before[replica])
    os.kill(replicas[streaming], signal.SIGKILL)
    got[1] += [arrays(batch) for batch in reading]
    assert client.resumptions >= 1, "the stream was cut and resumed on another replica"
    assert got[1] == expected[1]


def npz_frames(stream):
    import io
    import struct
    offset, frames = 0, []
    while True:
        (size,) = struct.unpack_from("<Q", stream, offset)
        offset += 8
        if size == 0:
            return frames
        with np.load(io.BytesIO(stream[offset:offset + size])) as archive:
            frames.append({key: archive[key] for key in archive.files})
        offset += size


def test_a_trainer_reaches_replicas_over_https_with_the_token_and_is_refused_without(tmp_path, replicated):
    db, _, _ = replicated
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (it makes the test's self-signed certificate)")
    key, cert, pem = tmp_path / "key.pem", tmp_path / "cert.pem", tmp_path / "haproxy.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    pem.write_text(cert.read_text() + key.read_text())
    token = "trainer-token-" + os.urandom(12).hex()
    (tmp_path / "token").write_text(token + "\n")
    copy = tmp_path / "db"
    run(w2vcache_binary(), "copy", "--db", db, copy)
    process = subprocess.Popen([str(REPO / "scripts" / "serve-replicas"), "--db", str(copy), "--replicas", "2",
                                "--port", "0", "--bin", str(w2vcache_binary()), "--token-file", str(tmp_path / "token"),
                                "--tls-cert", str(pem)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for line in process.stdout:
            if line.startswith("ready "):
                url = line.split()[1]
                break
        assert url is not None and url.startswith("https://"), process.stderr.read()
        with Client(url, token=token, ca_file=str(cert)) as client:
            assert client.vector("Confidence").shape == (300,)
            batches = list(client.batches("pos", "train", batch_size=4096, seed=2, rank=0, world_size=2))
            assert len(batches) == client.batch_count("pos", "train", batch_size=4096, world_size=2) > 0
        from w2vcache_client import ConnectionError, ResponseError
        with pytest.raises(ResponseError) as refused:
            Client(url, ca_file=str(cert), token="").info()
        assert refused.value.status == 401
        with pytest.raises(ResponseError) as wrong:
            Client(url, ca_file=str(cert), token="not-the-token-0123456789").info()
        assert wrong.value.status == 401
        # The certificate is checked, and plain HTTP does not reach the TLS port.
        with pytest.raises(ConnectionError):
            Client(url, token=token).info()
        with pytest.raises(ConnectionError):
            Client(url.replace("https://", "http://"), token=token, timeout=5).info()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
