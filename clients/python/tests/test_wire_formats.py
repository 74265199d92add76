"""Every way a batch reaches a trainer gives the bytes `w2vcache batches` writes: the server's npz, raw and compact
streams byte for byte, and the arrays the client hands out (raw views, compact rows looked up, npz, DataLoader
workers) value for value, dtype and shape included."""
import json
import struct
import subprocess
import urllib.request

import numpy as np
import pytest

from conftest import copy_of, w2vcache_binary
from w2vcache_client import Client


@pytest.fixture(scope="module")
def offline_copy(cache, tmp_path_factory):
    """A copy of the served cache that `w2vcache batches` can open (the server holds the original)."""
    return copy_of(cache, tmp_path_factory.mktemp("wire"))


def cli_stream(db, dataset, *options):
    return subprocess.run([str(w2vcache_binary()), "batches", dataset, "--db", str(db), *options],
                          capture_output=True, check=True).stdout


def http_stream(url, dataset, **query):
    query = "&".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in query.items())
    with urllib.request.urlopen(f"{url}/v1/datasets/{dataset}/train/epoch?{query}") as response:
        body = response.read()
        assert int(response.headers["Content-Length"]) == len(body)
        return body


def raw_batches(stream, embeddings=None):
    """Batches of a raw stream, read from the format's statement in BatchEncoding.swift (not the client's code)."""
    batches, offset = [], 0
    while True:
        (size,) = struct.unpack_from("<Q", stream, offset)
        offset += 8
        if size == 0:
            assert offset == len(stream)
            return batches
        payload = stream[offset:offset + size]
        offset += size
        (length,) = struct.unpack_from("<I", payload, 0)
        assert (4 + length) % 64 == 0
        batch = {}
        for array in json.loads(payload[4:4 + length])["arrays"]:
            assert array["offset"] % 64 == 0
            data = payload[array["offset"]:array["offset"] + array["nbytes"]]
            if "gather" in array:
                ids = np.frombuffer(data, "<i4").reshape(array["ids_shape"])
                batch[array["name"]] = embeddings[ids.reshape(-1)].reshape(array["shape"]).astype(array["dtype"])
            else:
                batch[array["name"]] = np.frombuffer(data, array["dtype"]).reshape(array["shape"])
        batches.append(batch)


def same(a, b):
    return a.keys() == b.keys() and all(
        np.asarray(a[k]).dtype == b[k].dtype and np.asarray(a[k]).shape == b[k].shape
        and np.asarray(a[k]).tobytes() == b[k].tobytes() for k in a)


@pytest.mark.parametrize("dataset", ["pos", "sentiment"])
def test_streams_are_byte_identical_to_the_command_line(server, offline_copy, dataset):
    for format, compact in (("npz", False), ("raw", False), ("raw", True)):
        for rank, world in ((0, 1), (1, 2)):
            # One example a batch: the three reviews make enough batches for two ranks.
            options = ["--batch-size", "1", "--seed", "4", "--rank", str(rank), "--world-size", str(world), "--format", format]
            expected = cli_stream(offline_copy, dataset, *options, *(["--compact"] if compact else []))
            got = http_stream(server.url, dataset, batch_size=1, seed=4, rank=rank, world_size=world, format=format,
                              compact=compact)
            assert got == expected, (format, compact, rank)


def test_every_client_path_gives_the_command_line_arrays(server, offline_copy):
    client = Client(server.url)
    embeddings = client.embeddings("pos")
    expected = raw_batches(cli_stream(offline_copy, "pos", "--batch-size", "3", "--seed", "4", "--format", "raw"))
    compact = raw_batches(cli_stream(offline_copy, "pos", "--batch-size", "3", "--seed", "4", "--format", "raw", "--compact"),
                          embeddings)
    assert len(expected) == 4 and all(same(a, b) for a, b in zip(compact, expected))
    for wire, flag in (("raw", True), ("raw", False), ("npz", False)):
        got = list(client.batches("pos", "train", batch_size=3, seed=4, wire=wire, compact=flag))
        assert len(got) == len(expected) and all(same(a, b) for a, b in zip(got, expected)), (wire, flag)


def test_dataloader_workers_give_the_command_line_arrays(server, offline_copy):
    torch = pytest.importorskip("torch", reason="torch is not installed (optional for the client)")
    from w2vcache_client import EpochDataset
    client = Client(server.url)
    expected = raw_batches(cli_stream(offline_copy, "pos", "--batch-size", "2", "--seed", "6", "--rank", "1",
                                      "--world-size", "2", "--format", "raw"))
    for workers in (0, 2):
        dataset = EpochDataset(client, "pos", "train", batch_size=2, seed=6, rank=1, world_size=2)
        got = [{k: v.numpy() for k, v in batch.items()} for batch in dataset.loader(num_workers=workers)]
        assert all(isinstance(v, torch.Tensor) for batch in dataset.loader(num_workers=workers) for v in batch.values())
        assert len(got) == len(expected) and all(same(a, b) for a, b in zip(got, expected)), workers
