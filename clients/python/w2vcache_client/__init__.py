"""Client of `w2vcache serve`: word vectors and trainer batches as numpy arrays.

    from w2vcache_client import Client
    client = Client("http://127.0.0.1:8080")
    client.vector("Confidence")                       # float32 [dim]
    client.vectors(["king", "queen"], missing="zero") # float32 [2, dim]
    for batch in client.batches("pos", "train", batch_size=256, seed=1, epoch=0):
        x, y = batch["x"], batch["y"]                 # float32 [B, 900], int64 [B]

`EpochDataset` adapts an epoch to `torch.utils.data.IterableDataset`, splitting its batches across DataLoader
workers without duplicates. Only numpy is required; torch is imported on demand.
"""
import io
import json
import struct
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

__all__ = ["Client", "W2VCacheError", "EpochDataset", "worker_batches"]


class W2VCacheError(Exception):
    """An error answered by the server: its HTTP status and its message."""

    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class Client:
    """A connection to one `w2vcache serve` (stateless: safe to copy into DataLoader workers)."""

    def __init__(self, url="http://127.0.0.1:8080", timeout=60):
        self.url = url.rstrip("/")
        self.timeout = timeout

    # Transport -------------------------------------------------------------------------------------------------
    def _open(self, path, body=None, accept=None, query=None):
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: str(v).lower() if isinstance(v, bool) else v for k, v in query.items()})
        request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if accept:
            request.add_header("Accept", accept)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                message = json.loads(payload)["error"]
            except (ValueError, KeyError, TypeError):
                message = payload.decode("utf-8", "replace")
            raise W2VCacheError(error.code, message) from None
        except urllib.error.URLError as error:
            raise W2VCacheError(0, f"cannot reach {self.url}: {error.reason}") from None

    def _json(self, path, **kwargs):
        with self._open(path, **kwargs) as response:
            return json.loads(response.read())

    def _array(self, path, **kwargs):
        with self._open(path, **kwargs) as response:
            return np.load(io.BytesIO(response.read()))

    # Vectors ---------------------------------------------------------------------------------------------------
    def info(self):
        """Dimension, word counts, source and prepared datasets."""
        return self._json("/v1/info")

    def vector(self, word):
        """The float32 vector of `word`; W2VCacheError (404) if the cache lacks it."""
        return self._array("/v1/vectors/" + urllib.parse.quote(word, safe=""))

    def vectors(self, words, missing="error"):
        """float32 [len(words), dim] in order. missing: "error" (404 naming the unknown words), "zero" or "oov"."""
        body = json.dumps({"words": list(words), "missing": missing}).encode()
        return self._array("/v1/vectors", body=body)

    # Datasets --------------------------------------------------------------------------------------------------
    def datasets(self):
        """Manifests of the prepared datasets."""
        return self._json("/v1/datasets")["datasets"]

    def dataset(self, name):
        """One dataset's manifest and label sets."""
        return self._json(f"/v1/datasets/{name}")

    def vocabulary(self, name):
        """The dataset's vocabularies and label lists, by name."""
        return self._json(f"/v1/datasets/{name}/vocab")

    def embeddings(self, name):
        """The dataset's float32 [V, dim] embedding matrix."""
        return self._array(f"/v1/datasets/{name}/embeddings")

    def batch(self, name, split, index, batch_size=32, seed=0, epoch=0, shuffle=True):
        """Batch `index` of an epoch, as a dict of arrays."""
        query = {"batch_size": batch_size, "seed": seed, "epoch": epoch, "shuffle": shuffle}
        with self._array(f"/v1/datasets/{name}/{split}/batches/{index}", query=query) as archive:
            return {key: archive[key] for key in archive.files}

    def batch_count(self, name, split, batch_size=32):
        """How many batches an epoch of `split` has at this batch size."""
        with self._open(f"/v1/datasets/{name}/{split}/epoch", query={"batch_size": batch_size}) as response:
            return int(response.headers["X-Batches"])

    def batches(self, name, split, batch_size=32, seed=0, epoch=0, shuffle=True):
        """Every batch of one epoch, in order, from one streamed response (dicts of arrays).

        Framing: per batch, the .npz size as a little-endian uint64, then the .npz bytes; size 0 ends the epoch.
        """
        query = {"batch_size": batch_size, "seed": seed, "epoch": epoch, "shuffle": shuffle}
        with self._open(f"/v1/datasets/{name}/{split}/epoch", query=query) as response:
            while True:
                header = _read_exactly(response, 8)
                (size,) = struct.unpack("<Q", header)
                if size == 0:
                    return
                with np.load(io.BytesIO(_read_exactly(response, size))) as archive:
                    yield {key: archive[key] for key in archive.files}


def _read_exactly(stream, count):
    data = bytearray()
    while len(data) < count:
        chunk = stream.read(count - len(data))
        if not chunk:
            raise W2VCacheError(0, f"the epoch stream ended early ({len(data)} of {count} bytes)")
        data += chunk
    return bytes(data)


def worker_batches(batch_count, worker_id, num_workers):
    """The batch indices a DataLoader worker takes: every num_workers-th, starting at its id (disjoint, complete)."""
    return range(worker_id, batch_count, num_workers)


def EpochDataset(client, name, split, batch_size=32, seed=0, epoch=0, shuffle=True, transform=None):
    """A torch IterableDataset over one epoch's batches (use DataLoader(dataset, batch_size=None)).

    Each DataLoader worker fetches only its share of the batches (worker_batches), so no batch is read twice.
    Arrays become torch tensors; `transform`, if given, maps the dict of tensors to what the model takes.
    """
    import torch
    from torch.utils.data import IterableDataset, get_worker_info

    class _EpochDataset(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            worker, workers = (info.id, info.num_workers) if info else (0, 1)
            count = client.batch_count(name, split, batch_size)
            for index in worker_batches(count, worker, workers):
                arrays = client.batch(name, split, index, batch_size=batch_size, seed=seed, epoch=epoch, shuffle=shuffle)
                tensors = {key: torch.from_numpy(value) for key, value in arrays.items()}
                yield transform(tensors) if transform else tensors

        def __len__(self):
            return client.batch_count(name, split, batch_size)

    return _EpochDataset()
