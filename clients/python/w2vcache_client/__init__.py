"""Client of `w2vcache serve`: word vectors and trainer batches as numpy arrays.

    from w2vcache_client import Client
    client = Client("http://127.0.0.1:8080")
    client.vector("Confidence")                       # float32 [dim]
    client.vectors(["king", "queen"], missing="zero") # float32 [2, dim]
    for batch in client.batches("pos", "train", batch_size=256, seed=1, epoch=0):
        x, y = batch["x"], batch["y"]                 # float32 [B, 900], int64 [B]

Distributed jobs read a rank's share (`rank`, `world_size`), resume inside it (`start`), and survive a replica that
dies mid-epoch (`retries`). `EpochDataset` adapts an epoch to `torch.utils.data.IterableDataset`, splitting the rank's
share across DataLoader workers, with a position that can be saved and restored. Only numpy is required; torch is
imported on demand.
"""
import http.client
import io
import json
import socket
import struct
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

__all__ = ["Client", "W2VCacheError", "EpochDataset"]

FINGERPRINT = "X-W2VCache-Fingerprint"


class W2VCacheError(Exception):
    """An error answered by the server (its HTTP status and message), or status 0 when none could be reached."""

    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class _Retryable(Exception):
    """A failure worth another try on another connection: the connection dropped, or a replica answered 5xx."""


class Client:
    """A connection to `w2vcache serve`, or to replicas behind a load balancer (stateless: safe to copy into
    DataLoader workers)."""

    def __init__(self, url="http://127.0.0.1:8080", timeout=60, backoff=0.1):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.backoff = backoff
        #: How many times a streamed epoch was resumed after a failure.
        self.resumptions = 0
        self._tables = {}

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
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise W2VCacheError(0, f"cannot reach {self.url}: {reason}") from None

    def _json(self, path, **kwargs):
        with self._open(path, **kwargs) as response:
            return json.loads(response.read())

    def _array(self, path, **kwargs):
        with self._open(path, **kwargs) as response:
            return np.load(io.BytesIO(response.read()))

    # Vectors ---------------------------------------------------------------------------------------------------
    def info(self):
        """Dimension, word counts, source, prepared datasets and the cache's `fingerprint`."""
        return self._json("/v1/info")

    def vector(self, word):
        """The float32 vector of `word`; W2VCacheError (404) if the cache lacks it."""
        return self._array("/v1/vectors/" + urllib.parse.quote(word, safe=""))

    def vectors(self, words, missing="error"):
        """float32 [len(words), dim] in order. missing: "error" (404 naming the unknown words), "zero" or "oov"."""
        body = json.dumps({"words": list(words), "missing": missing}).encode()
        return self._array("/v1/vectors", body=body)

    # Similarity ------------------------------------------------------------------------------------------------
    def similar(self, positive=(), negative=(), top=10, restrict_vocab=None):
        """gensim's most_similar(positive, negative, topn=top, restrict_vocab): a list of (word, score), best first.
        Scores are gensim's float32 scores as Python floats; W2VCacheError (404) names unknown words."""
        body = {"positive": list(positive), "negative": list(negative), "top": top}
        if restrict_vocab is not None:
            body["restrict_vocab"] = restrict_vocab
        answer = self._json("/v1/similar", body=json.dumps(body).encode())
        return [(item["word"], item["score"]) for item in answer["similar"]]

    def similar_batch(self, queries, restrict_vocab=None):
        """Many queries in one request, answered in one pass over the index: `queries` holds dicts with
        "positive", "negative" and "top"; returns one list of (word, score) per query."""
        body = {"queries": [dict(query) for query in queries]}
        if restrict_vocab is not None:
            body["restrict_vocab"] = restrict_vocab
        answer = self._json("/v1/similar", body=json.dumps(body).encode())
        return [[(item["word"], item["score"]) for item in result["similar"]] for result in answer["results"]]

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

    def plan(self, name, split, batch_size=32, world_size=1):
        """How an epoch divides: examples, batches, rank_batches (each rank's share) and left_out."""
        return self._json(f"/v1/datasets/{name}/{split}/plan", query={"batch_size": batch_size, "world_size": world_size})

    def batch_count(self, name, split, batch_size=32, world_size=1):
        """How many batches each of `world_size` ranks reads in an epoch of `split` (all of them for one rank)."""
        return self.plan(name, split, batch_size, world_size)["rank_batches"]

    def batch(self, name, split, index, batch_size=32, seed=0, epoch=0, shuffle=True, rank=0, world_size=1):
        """Batch `index` of the rank's share of an epoch, as a dict of arrays."""
        query = {"batch_size": batch_size, "seed": seed, "epoch": epoch, "shuffle": shuffle, "rank": rank,
                 "world_size": world_size}
        with self._array(f"/v1/datasets/{name}/{split}/batches/{index}", query=query) as archive:
            return {key: archive[key] for key in archive.files}

    def batches(self, name, split, batch_size=32, seed=0, epoch=0, shuffle=True, rank=0, world_size=1, start=0,
                retries=5, part=0, parts=1, format="raw", compact=True, expand=True):
        """The rank's share of one epoch from its `start`-th batch, in order, as dicts of arrays.

        Streamed in one response. When the connection drops or a replica answers 5xx, it reconnects (waiting
        `backoff`, doubling, up to 5 s) and resumes at the first batch not yet yielded, so every batch is yielded
        exactly once; after `retries` failures in a row it raises W2VCacheError. It refuses to go on with a replica
        whose fingerprint differs from the one the epoch began on. `part` of `parts` reads every `parts`-th batch
        of the share (DataLoader workers).

        `format="raw"` (the default) receives each batch into one buffer of its own and hands out numpy views of it:
        no parsing, decompression, checksum or copy. With `compact` (the default) arrays made of embedding rows (the
        POS windows) travel as row ids, looked up here in the embedding matrix, fetched once per dataset and cache:
        the same values, a hundredth of the bytes (`expand=False` leaves them as ids, with a "__gather__" entry
        saying how to expand them: `expand_batch` does). `format="npz"` receives `.npz` archives, as other tools
        can.
        """
        if format not in ("raw", "npz"):
            raise ValueError(f"format {format!r}; expected 'raw' or 'npz'")
        query = {"batch_size": batch_size, "seed": seed, "epoch": epoch, "shuffle": shuffle, "rank": rank,
                 "world_size": world_size, "part": part, "parts": parts, "format": format,
                 "compact": compact and format == "raw"}
        position, failures, fingerprint = start, 0, None
        while True:
            try:
                response = self._open_stream(f"/v1/datasets/{name}/{split}/epoch", dict(query, start=position))
            except _Retryable as error:
                failures = self._wait_or_raise(failures, retries, position, error)
                continue
            with response:
                served = response.headers.get(FINGERPRINT)
                if fingerprint is None:
                    fingerprint = served
                elif served != fingerprint:
                    raise W2VCacheError(409, f"the server now serves other data (fingerprint {served}, the epoch began "
                                             f"on {fingerprint}); not resuming at batch {position}")
                frames = _raw_frames(response, name, served, self._table if expand else None) if format == "raw" \
                    else _npz_frames(response)
                try:
                    for batch in frames:
                        position += 1
                        failures = 0
                        yield batch
                    return
                except _Retryable as error:
                    failures = self._wait_or_raise(failures, retries, position, error)

    def expand_batch(self, batch):
        """Expands the arrays of a batch read with `expand=False` (numpy arrays or torch tensors of row ids) into
        their values, in place of the ids, of the same kind; returns the batch."""
        for name, (dataset, table, fingerprint, shape) in batch.pop("__gather__", {}).items():
            ids = batch[name]
            is_numpy = isinstance(ids, np.ndarray)
            values = self._table(dataset, table, fingerprint).take((ids if is_numpy else ids.numpy()).reshape(-1), axis=0)
            values = values.reshape(tuple(shape))
            batch[name] = values if is_numpy else __import__("torch").from_numpy(values)
        return batch

    def warm(self, name):
        """Fetches what compact streams of dataset `name` need (its embedding matrix) ahead of time, so that
        DataLoader workers forked afterwards start with it."""
        if any(k["name"] == name and "embeddings" in k["arrays"] for k in self.datasets()):
            self._table(name, "embeddings", self.info()["fingerprint"])

    def _table(self, name, table, fingerprint):
        """A dataset's table (its embedding matrix), fetched once for the cache that `fingerprint` names."""
        key = (name, table, fingerprint)
        if key not in self._tables:
            if table != "embeddings":
                raise W2VCacheError(0, f"the server sends rows of table {table!r}, which this client does not know")
            try:
                with self._open(f"/v1/datasets/{name}/embeddings") as response:
                    if response.headers.get(FINGERPRINT) != fingerprint:
                        raise _Retryable("the embedding matrix came from a replica that serves other data")
                    self._tables[key] = np.load(io.BytesIO(response.read()))
            except (http.client.HTTPException, OSError) as error:
                raise _Retryable(f"the embedding matrix could not be read: {error}") from None
            except W2VCacheError as error:
                if error.status == 0 or error.status >= 500:
                    raise _Retryable(str(error)) from None
                raise
        return self._tables[key]

    def _open_stream(self, path, query):
        try:
            return self._open(path, query=query)
        except W2VCacheError as error:
            if error.status == 0 or error.status >= 500:
                raise _Retryable(str(error)) from None
            raise

    def _wait_or_raise(self, failures, retries, position, error):
        failures += 1
        if failures > retries:
            raise W2VCacheError(0, f"gave up after {retries} retries at batch {position}: {error}") from None
        time.sleep(min(self.backoff * 2 ** (failures - 1), 5.0))
        self.resumptions += 1
        return failures


def _read_exactly(stream, count):
    data = bytearray()
    while len(data) < count:
        try:
            chunk = stream.read(count - len(data))
        except (http.client.HTTPException, OSError, socket.timeout) as error:
            raise _Retryable(f"the connection failed: {error}") from None
        if not chunk:
            raise _Retryable(f"the epoch stream ended early ({len(data)} of {count} bytes)")
        data += chunk
    return bytes(data)


def _readinto_exactly(stream, view):
    filled = 0
    while filled < len(view):
        try:
            count = stream.readinto(view[filled:])
        except (http.client.HTTPException, OSError, socket.timeout) as error:
            raise _Retryable(f"the connection failed: {error}") from None
        if not count:
            raise _Retryable(f"the epoch stream ended early ({filled} of {len(view)} bytes)")
        filled += count


def _npz_frames(response):
    """The batches of an epoch stream of .npz payloads."""
    while True:
        (size,) = struct.unpack("<Q", _read_exactly(response, 8))
        if size == 0:
            return
        with np.load(io.BytesIO(_read_exactly(response, size))) as archive:
            yield {key: archive[key] for key in archive.files}


def _raw_frames(response, dataset, fingerprint, table):
    """The batches of an epoch stream of raw payloads: each payload read into a buffer of its own, its arrays numpy
    views of that buffer (a payload: uint32 header length, JSON header, arrays at 64-byte aligned offsets). An array
    sent as row ids ("gather") is made of the rows of `table(dataset, name, fingerprint)`; without `table` it stays
    ids, described under the batch's "__gather__" key."""
    layouts = {}
    while True:
        (size,) = struct.unpack("<Q", _read_exactly(response, 8))
        if size == 0:
            return
        payload = np.empty(size, dtype=np.uint8)
        _readinto_exactly(response, memoryview(payload))
        (length,) = struct.unpack_from("<I", payload, 0)
        header = payload[4:4 + length].tobytes()
        layout = layouts.get(header)
        if layout is None:
            layout = [(a["name"], np.dtype(a["dtype"]), tuple(a["shape"]), a["offset"], a["nbytes"], a.get("gather"),
                       tuple(a.get("ids_shape", ()))) for a in json.loads(header)["arrays"]]
            layouts[header] = layout
        batch = {}
        for name, dtype, shape, offset, nbytes, gather, ids_shape in layout:
            data = payload[offset:offset + nbytes]
            if not gather:
                batch[name] = data.view(dtype).reshape(shape)
            elif table is not None:
                batch[name] = table(dataset, gather, fingerprint).take(data.view("<i4"), axis=0).reshape(shape)
            else:
                batch[name] = data.view("<i4").reshape(ids_shape)
                batch.setdefault("__gather__", {})[name] = (dataset, gather, fingerprint, shape)
        yield batch


def _as_is(batch):
    """A DataLoader collate_fn that passes a worker's batch on unchanged (numpy arrays travel pickled)."""
    return batch


def _tensors(arrays, transform):
    """A batch's numpy arrays as torch tensors (no copy), then `transform`."""
    import torch
    tensors = {key: torch.from_numpy(value) for key, value in arrays.items()}
    return transform(tensors) if transform else tensors


def _distributed_rank_and_world_size():
    """(rank, world size) from torch.distributed when it is initialized, else (0, 1)."""
    try:
        import torch.distributed as dist
    except ImportError:
        return 0, 1
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def EpochDataset(client, name, split, batch_size=32, seed=0, epoch=0, shuffle=True, transform=None, rank=None,
                 world_size=None, retries=5):
    """A torch IterableDataset over one rank's share of an epoch (use with `batch_size=None`).

    `rank` and `world_size` default to torch.distributed's when it is initialized. Each DataLoader worker streams
    its own part of the rank's share (every num_workers-th batch), so the loader yields the share in order and no
    batch twice. `state_dict()` / `load_state_dict()` save and restore the epoch and the position in it, as a
    checkpoint does; iterate through `dataset.loader(num_workers=…)`, which counts the batches the trainer took,
    for the position to be known. Arrays
    become torch tensors; `transform`, if given, maps the dict of tensors to what the model takes.
    """
    import torch
    from torch.utils.data import DataLoader, IterableDataset, get_worker_info

    default_rank, default_world = _distributed_rank_and_world_size()

    class _EpochDataset(IterableDataset):
        def __init__(self):
            self.rank = default_rank if rank is None else rank
            self.world_size = default_world if world_size is None else world_size
            self.epoch = epoch
            self.position = 0
            # Set by loader() for workers: they send numpy batches, compact (row ids, a hundredth of the bytes)
            # through the worker queue, where torch would pass every tensor through shared memory (about 0.7 ms a
            # batch here); the main process expands them and makes the tensors.
            self.expand_in_main = False

        def __iter__(self):
            info = get_worker_info()
            part, parts = (info.id, info.num_workers) if info else (0, 1)
            in_main = info is not None and self.expand_in_main
            for arrays in client.batches(name, split, batch_size=batch_size, seed=seed, epoch=self.epoch,
                                         shuffle=shuffle, rank=self.rank, world_size=self.world_size,
                                         start=self.position, retries=retries, part=part, parts=parts,
                                         expand=not in_main):
                yield arrays if in_main else _tensors(arrays, transform)

        def __len__(self):
            return client.batch_count(name, split, batch_size, self.world_size) - self.position

        def set_epoch(self, value):
            """Moves to another epoch (as DistributedSampler.set_epoch), from its first batch."""
            self.epoch, self.position = value, 0

        def state_dict(self):
            return {"epoch": self.epoch, "position": self.position}

        def load_state_dict(self, state):
            self.epoch, self.position = state["epoch"], state["position"]

        def loader(self, **kwargs):
            """A DataLoader over this dataset that counts the batches it yields here, in the main process. The
            embedding matrix of compact streams is fetched here once, before the workers start (they inherit it)."""
            dataset = self
            client.warm(name)
            dataset.expand_in_main = kwargs.get("num_workers", 0) > 0
            if dataset.expand_in_main:
                kwargs.setdefault("collate_fn", _as_is)
            data_loader = DataLoader(dataset, batch_size=None, **kwargs)

            class _Counting:
                def __iter__(self):
                    for batch in data_loader:
                        dataset.position += 1
                        if dataset.expand_in_main:
                            batch = _tensors(client.expand_batch(batch), transform)
                        yield batch

                def __len__(self):
                    return len(dataset)

            return _Counting()

    return _EpochDataset()
