"""`Client`: word vectors, nearest words and trainer batches from `w2vcache serve`, as numpy arrays."""

from __future__ import annotations

import json
import math
import time
import urllib.parse
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Optional, Sequence, Union

import numpy as np

from .errors import ConnectionError, FingerprintMismatch, ProtocolError, ResponseError, TimeoutError, W2VCacheError
from .transport import FINGERPRINT, Response, Transport, parse_count
from .wire import EpochFrames, batch_examples, json_body, npz_arrays, plain_query, promised_examples, read_npy

__all__ = ["Client"]

#: A batch: its numpy arrays by name; read with `expand=False`, also a "__gather__" entry that says which table
#: each array of row ids names (see `Client.batches`).
Batch = dict[str, Any]


class Client:
    """A connection to `w2vcache serve`, or to replicas behind a load balancer.

    Calls share a few kept-alive connections; a DataLoader worker (forked, spawned or from a forkserver) opens its
    own. Use it as a context manager, or call `close()`. `token` (or the `W2VCACHE_TOKEN` environment variable) is
    sent as a bearer token; an `https://` URL is checked against the system's certificates, or against `ca_file`.
    `url` is the server's scheme, host and port, with a path prefix where a proxy adds one; a query, a fragment or
    `user:password@` in it is a ValueError, as nothing would send them.
    """

    def __init__(self, url: str = "http://127.0.0.1:8080", *, timeout: float = 60.0, backoff: float = 0.1,
                 token: Optional[str] = None, ca_file: Optional[str] = None) -> None:
        if not timeout > 0 or not backoff >= 0:
            raise ValueError(f"timeout {timeout!r} and backoff {backoff!r}: expected seconds, a timeout above 0")
        self._transport = Transport(url, timeout=timeout, token=token, ca_file=ca_file)
        self.url = self._transport.url
        self.backoff = backoff
        #: How many times a streamed epoch was resumed after a failure.
        self.resumptions = 0
        self._tables: dict[tuple[str, str, Optional[str]], np.ndarray] = {}
        # By dataset: the fingerprint of the embedding matrix `embeddings()` last gave out, which row ids handed on
        # unexpanded must name rows of.
        self._given: dict[str, Optional[str]] = {}

    def __getstate__(self) -> dict[str, Any]:
        """A client pickled into another process (a DataLoader worker under spawn or forkserver) connects anew and
        fetches the tables it needs there, rather than carrying this process's."""
        return dict(self.__dict__, _tables={})

    def close(self) -> None:
        """Closes the client's idle connections."""
        self._transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    # Vectors ---------------------------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Dimension, word counts, source, prepared datasets, the tool's version and the cache's `fingerprint`."""
        return self._json("GET", "/v1/info")

    def vector(self, word: Union[str, bytes]) -> np.ndarray:
        """The float32 vector of `word`; ResponseError (404) if the cache lacks it. A word that is not UTF-8 text (one
        kept as its file wrote it, `build --invalid-utf8 keep`) is asked for as bytes, `vector(b"caf\\xe9")`, or as
        the str surrogateescape decodes them to, `vector("caf\\udce9")`."""
        if isinstance(word, (bytearray, memoryview)):
            word = bytes(word)
        if isinstance(word, str):
            try:
                word = word.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                raise ValueError(f"vector(): the word {word!r} holds a surrogate that stands for no byte (only "
                                 "\\udc80-\\udcff do, as surrogateescape writes them); expected text") from None
        if not isinstance(word, bytes):
            raise TypeError(f"vector(): the word is {type(word).__name__}; expected str or bytes")
        path = "/v1/vectors/" + urllib.parse.quote(word, safe="")
        if not word or len(path) > _LONGEST_PATH:
            # No path names the empty word (`/v1/vectors/` is the route for lists), and a word longer than a request
            # line may be (the server's HTTP parser, a proxy) is no path either: the list route answers for them.
            row: np.ndarray = self.vectors([word])[0]
            return row
        return _float32(self._transport.request("GET", path, accept="application/octet-stream"), None)

    def vectors(self, words: Sequence[Union[str, bytes]], *, missing: Literal["error", "zero", "oov"] = "error",
                oov: Optional[Literal["random", "subword"]] = None) -> np.ndarray:
        """float32 `[len(words), dim]` in order. missing: "error" (404 naming the unknown words), "zero" or "oov":
        the word's character n-grams' vector on a cache built from a fastText model, else its seeded random vector
        (`oov` chooses, with "oov" only: with another `missing` it is a ResponseError 400; `vectors_and_kinds` says
        which each row got).

        A list of any length: it is sent in requests of up to 1,000 words (the server takes 10,000 by default), each
        split in halves for as long as the server answers 413 (a server whose limits are lower, or a cache whose
        vectors are so long that 1,000 make more than an answer may hold), all answered by the same cache
        (FingerprintMismatch otherwise, as behind a load balancer whose replicas differ). With "error", the first
        request that meets unknown words raises its 404, naming those of its words.

        A word may be bytes: bytes that are not UTF-8 (a word a cache keeps as its file wrote it, `build --invalid-utf8
        keep`) travel as Python's surrogateescape writes them, which the server reads back to the same bytes."""
        return self.vectors_and_kinds(words, missing=missing, oov=oov)[0]

    def vectors_and_kinds(self, words: Sequence[Union[str, bytes]], *,
                          missing: Literal["error", "zero", "oov"] = "error",
                          oov: Optional[Literal["random", "subword"]] = None) -> tuple[np.ndarray, list[str]]:
        """`vectors(...)` and what each row is: "cache" (a word the cache holds), "subword", "random" or "zero"."""
        matrices: list[np.ndarray] = []
        kinds: list[str] = []
        same_data = _SameData()

        def ask(chunk: list[str]) -> None:
            request: dict[str, Any] = {"words": chunk, "missing": missing}
            if oov is not None:
                request["oov"] = oov
            response = self._transport.request("POST", "/v1/vectors", body=json_body(request),
                                               accept="application/octet-stream")
            served = response.header(FINGERPRINT)
            rows = response.header("X-W2VCache-Rows")
            matrix = _float32(response, len(chunk))
            same_data.check(served, lambda first: f"words {len(kinds)} on were answered from other data "
                            f"(fingerprint {served}) than those before them ({first})")
            if rows is None or len(rows) != len(chunk) or any(row not in _ROW_KINDS for row in rows):
                raise ProtocolError(f"the answer's X-W2VCache-Rows {rows!r} does not describe {len(chunk)} rows")
            _check_row_kinds(rows, matrix, missing=missing, oov=oov)
            if matrices and matrix.shape[1] != matrices[0].shape[1]:
                raise ProtocolError(f"words {len(kinds)} on came as vectors of {matrix.shape[1]} values, those before "
                                    f"them of {matrices[0].shape[1]}")
            matrices.append(matrix)
            kinds.extend(_ROW_KINDS[row] for row in rows)

        for chunk in _word_requests(_json_words(words, "vectors")):
            _in_parts(chunk, ask)
        return (matrices[0] if len(matrices) == 1 else np.concatenate(matrices)), kinds

    # Similarity ------------------------------------------------------------------------------------------------
    def similar(self, positive: Iterable[Union[str, bytes]] = (), negative: Iterable[Union[str, bytes]] = (), *,
                top: int = 10, restrict_vocab: Optional[int] = None) -> list[tuple[str, float]]:
        """gensim's most_similar(positive, negative, topn=top, restrict_vocab): (word, score) pairs, best first.
        Scores are gensim's float32 scores as Python floats; ResponseError (404) names unknown words. Words are
        taken as `vectors()` takes them. A word of the answer that is not UTF-8 (a cache built with `--invalid-utf8
        keep`) holds each such byte as surrogateescape decodes it, `"caf\\udce9"`: `.encode("utf-8",
        "surrogateescape")` gives its bytes, and every call takes it as it is."""
        body: dict[str, Any] = {"positive": _json_words(positive, "similar"),
                                "negative": _json_words(negative, "similar"), "top": top}
        if restrict_vocab is not None:
            body["restrict_vocab"] = restrict_vocab
        answer = self._json("POST", "/v1/similar", body=body)
        return _scored(answer.get("similar"), top)

    def similar_batch(self, queries: Iterable[Mapping[str, Any]], *,
                      restrict_vocab: Optional[int] = None) -> list[list[tuple[str, float]]]:
        """Many queries in one request, answered in one pass over the index: `queries` holds dicts with
        "positive", "negative" and "top" (another key is a ResponseError 400 naming it), words taken as `similar()`
        takes them; one list of (word, score) per query. Queries that search more rows than the server takes in one
        request (its `max_similar_rows`) are asked for in halves, as `vectors()` asks for words."""
        asked: list[dict[str, Any]] = [dict(query) for query in queries]
        for query in asked:
            for key in ("positive", "negative"):
                if key in query:
                    query[key] = _json_words(query[key], "similar_batch")
        body: dict[str, Any] = {"queries": asked}
        if restrict_vocab is not None:
            body["restrict_vocab"] = restrict_vocab
        answers: list[list[tuple[str, float]]] = []

        def ask(part: list[dict[str, Any]]) -> None:
            results = self._json("POST", "/v1/similar", body={**body, "queries": part}).get("results")
            if not isinstance(results, list) or len(results) != len(part):
                raise ProtocolError(f"asked {len(part)} queries, the answer holds "
                                    f"{len(results) if isinstance(results, list) else 'no'} results")
            answers.extend(_scored(result.get("similar") if isinstance(result, dict) else None, query.get("top", 10))
                           for result, query in zip(results, part))

        _in_parts(asked, ask)
        return answers

    # Datasets --------------------------------------------------------------------------------------------------
    def datasets(self) -> list[dict[str, Any]]:
        """Manifests of the prepared datasets."""
        datasets: list[dict[str, Any]] = _field(self._json("GET", "/v1/datasets"), "datasets", list, "/v1/datasets")
        for manifest in datasets:
            if not isinstance(manifest, dict) or not isinstance(manifest.get("name"), str):
                raise ProtocolError(f"/v1/datasets: the entry {repr(manifest)[:100]} is not a manifest with a name")
        return datasets

    def dataset(self, name: str) -> dict[str, Any]:
        """One dataset's manifest and label sets."""
        return self._json("GET", _dataset_path(name))

    def vocabulary(self, name: str) -> dict[str, list[str]]:
        """The dataset's vocabularies and label lists, by name."""
        path = _dataset_path(name, "vocab")
        lists = self._json("GET", path)
        for key, items in lists.items():
            if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
                raise ProtocolError(f"{path}: the answer's {key!r} is not a list of words")
        return lists

    def embeddings(self, name: str) -> np.ndarray:
        """The dataset's float32 `[V, dim]` embedding matrix: a copy of the one this client keeps to expand compact
        batches with, so that a trainer that builds its embedding layer from it first does not fetch it twice.
        Row ids read afterwards with `expand=False` are checked to name rows of this matrix (FingerprintMismatch if
        the server has come to serve other data)."""
        matrix, fingerprint = self._fetch_embeddings(name)
        self._tables[(name, "embeddings", fingerprint)] = matrix
        self._given[name] = fingerprint
        return matrix.copy()

    def plan(self, name: str, split: str, *, batch_size: int = 32, world_size: int = 1) -> dict[str, int]:
        """How an epoch divides: examples, batches, rank_batches (each rank's share) and left_out."""
        path = _dataset_path(name, split, "plan")
        plan = self._json("GET", path, query=plain_query({"batch_size": batch_size, "world_size": world_size}))
        for key in ("examples", "batches", "rank_batches", "left_out"):
            if _field(plan, key, int, path) < 0:
                raise ProtocolError(f"{path}: the answer's {key!r} is {plan[key]}, not a count")
        # Every batch holds 1 to batch_size examples; the ranks share all batches but the last `left_out`.
        examples, batches = plan["examples"], plan["batches"]
        if (not batches <= examples <= batches * batch_size or plan["left_out"] >= world_size
                or plan["rank_batches"] * world_size + plan["left_out"] != batches):
            raise ProtocolError(f"{path}: {batches} batches of {examples} examples, {plan['rank_batches']} a rank and "
                                f"{plan['left_out']} left out, do not divide an epoch at batch_size={batch_size} "
                                f"and world_size={world_size}")
        return plan

    def batch_count(self, name: str, split: str, *, batch_size: int = 32, world_size: int = 1) -> int:
        """How many batches each of `world_size` ranks reads in an epoch of `split` (all of them for one rank)."""
        return self.plan(name, split, batch_size=batch_size, world_size=world_size)["rank_batches"]

    def batch(self, name: str, split: str, index: int, *, batch_size: int = 32, seed: int = 0, epoch: int = 0,
              shuffle: bool = True, rank: int = 0, world_size: int = 1) -> Batch:
        """Batch `index` of the rank's share of an epoch, as a dict of arrays: 1 to `batch_size` examples, one row of
        each array (but a scalar) per example, as many as the server says it sent (ProtocolError otherwise)."""
        query = plain_query({"batch_size": batch_size, "seed": seed, "epoch": epoch, "shuffle": shuffle, "rank": rank,
                             "world_size": world_size})
        response = self._transport.request("GET", _dataset_path(name, split, "batches", index), query=query)
        promised = promised_examples(response)
        batch = npz_arrays(response.read())
        examples = batch_examples(((key, array.shape) for key, array in batch.items()), batch_size, f"batch {index}")
        if promised is not None and examples != promised:
            raise ProtocolError(f"batch {index} holds {examples} examples, not the {promised} its X-Examples promises")
        return batch

    def batches(self, name: str, split: str, *, batch_size: int = 32, seed: int = 0, epoch: int = 0,
                shuffle: bool = True, rank: int = 0, world_size: int = 1, start: int = 0, part: int = 0,
                parts: int = 1, retries: int = 5, wire: Literal["raw", "npz"] = "raw", compact: Optional[bool] = None,
                expand: bool = True) -> Iterator[Batch]:
        """The rank's share of one epoch from its `start`-th batch, in order, as dicts of arrays.

        Streamed in one response. Every batch the share promises is yielded exactly once or an error is raised:
        a stream that ends early, repeats or skips batches, breaks its frames, or holds a batch of other than 1 to
        `batch_size` examples (one row of each array but a scalar per example) or other than the examples it says
        it holds, is a ProtocolError. When the connection drops or a replica answers 5xx, the client reconnects
        (waiting `backoff`, doubling, up to 5 s) and resumes at the first batch not yet yielded; after `retries`
        failures in a row it raises the last one.
        A replica that serves other data than the one the epoch began on (its fingerprint, or the lack of one,
        differs) raises FingerprintMismatch. `part` of `parts` reads every `parts`-th batch of the share
        (DataLoader workers).

        `wire="raw"` (the default) receives each batch into one buffer of its own and hands out numpy views of it.
        With `compact` (raw's default), arrays made of embedding rows (the POS windows) travel as row ids and are
        looked up here in the embedding matrix, fetched once per dataset and cache: the same values, a hundredth of
        the bytes. `expand=False` leaves them as int32 ids, each checked to name a row of the matrix, with a
        "__gather__" entry that `expand_batch` uses: for a trainer that keeps the matrix on its device. If
        `embeddings(name)` gave the trainer its matrix, a stream of other data than that matrix's raises
        FingerprintMismatch. `wire="npz"` receives `.npz` archives, as other tools can: every array whole, so
        `compact=True` or `expand=False` with it is a ValueError, as is `expand=False` with `compact=False`.
        """
        stream = self._stream(name, split, batch_size=batch_size, seed=seed, epoch=epoch, shuffle=shuffle, rank=rank,
                              world_size=world_size, start=start, part=part, parts=parts, retries=retries, wire=wire,
                              compact=compact, expand=expand)
        return stream if expand else map(self._checked_ids, stream)

    def _stream(self, name: str, split: str, *, batch_size: int, seed: int, epoch: int, shuffle: bool, rank: int,
                world_size: int, start: int, part: int, parts: int, retries: int, wire: str,
                compact: Optional[bool], expand: bool) -> Iterator[Batch]:
        """`batches()`, with the row ids of `expand=False` not yet checked (a DataLoader worker's, which the main
        process checks)."""
        if wire not in ("raw", "npz"):
            raise ValueError(f"wire {wire!r}; expected 'raw' or 'npz'")
        if retries < 0:
            raise ValueError(f"retries {retries!r}; expected 0 or more")
        if compact is None:
            compact = wire == "raw"
        elif compact and wire != "raw":
            raise ValueError("compact=True needs wire='raw' (an .npz carries every array whole)")
        if not compact and not expand:
            whole = "compact=False" if wire == "raw" else "wire='npz'"
            raise ValueError(f"expand=False keeps compact batches' row ids; {whole} sends none")
        query = plain_query({"batch_size": batch_size, "seed": seed, "epoch": epoch, "shuffle": shuffle, "rank": rank,
                             "world_size": world_size, "part": part, "parts": parts, "format": wire,
                             "compact": compact})
        position, failures = start, 0
        same_data = _SameData()
        share: Optional[int] = None
        while True:
            try:
                response = self._transport.request("GET", _dataset_path(name, split, "epoch"),
                                                   query=dict(query, start=position))
            except (ConnectionError, TimeoutError) as error:
                failures = self._wait_or_raise(failures, retries, error)
                continue
            except ResponseError as error:
                if error.status < 500:
                    raise
                failures = self._wait_or_raise(failures, retries, error)
                continue
            with response:
                fingerprint = response.header(FINGERPRINT)
                same_data.check(fingerprint, lambda first: f"the server now serves other data (fingerprint "
                                f"{fingerprint}, the epoch began on {first}); not resuming at batch {position}")
                table = (lambda table_name: self._table(name, table_name, fingerprint)) if expand else None
                frames = EpochFrames(response, start=position, part=part, parts=parts, batch_size=batch_size,
                                     table=table, raw=wire == "raw")
                if share is None:
                    share = frames.share
                elif frames.share != share:
                    raise ProtocolError(f"the share was {share} batches, the resumed answer says {frames.share}")
                try:
                    for batch in frames:
                        position += parts
                        failures = 0
                        if "__gather__" in batch:
                            batch["__gather__"] = {key: (name, table_name, fingerprint, shape)
                                                   for key, (table_name, shape) in batch["__gather__"].items()}
                        yield batch
                    return
                except (ConnectionError, TimeoutError) as error:
                    failures = self._wait_or_raise(failures, retries, error)

    def expand_batch(self, batch: dict[str, Any], *,
                     into: Optional[Callable[[tuple[int, ...], np.dtype], Any]] = None) -> dict[str, Any]:
        """Expands the arrays of a batch read with `expand=False` (numpy arrays or torch tensors of row ids) into
        their values, in place of the ids, of the same kind; returns the batch. With `into`, each array's values are
        written into `into(shape, dtype)` (a numpy array or a CPU torch tensor: pinned memory, say), which takes the
        ids' place."""
        for key, gather in batch.pop("__gather__", {}).items():
            flat, rows, shape = self._row_ids(key, batch[key], gather)
            if into is None:
                values = rows.take(flat, axis=0).reshape(shape)
                batch[key] = values if isinstance(batch[key], np.ndarray) else __import__("torch").from_numpy(values)
            else:
                target = into(shape, rows.dtype)
                view = target if isinstance(target, np.ndarray) else target.numpy()
                # The ids are checked; `mode="raise"` would take into a buffer of its own and copy it over.
                np.take(rows, flat, axis=0, out=view.reshape(flat.size, *rows.shape[1:]), mode="clip")
                batch[key] = target
        return batch

    def _checked_ids(self, batch: Batch) -> Batch:
        """A batch read with `expand=False`, its row ids checked against their table and the matrix `embeddings()`
        gave out (see `batches`)."""
        for key, gather in batch.get("__gather__", {}).items():
            dataset, fingerprint = gather[0], gather[2]
            if self._given.get(dataset, fingerprint) != fingerprint:
                given = self._given[dataset]
                raise FingerprintMismatch(
                    f"the batch's row ids name rows of dataset {dataset}'s embedding matrix of data {fingerprint}, "
                    f"not of the one embeddings() gave out (data {given}): fetch it again", given, fingerprint)
            self._row_ids(key, batch[key], gather)
        return batch

    def _row_ids(self, key: str, ids: Any, gather: tuple[str, str, Optional[str], Sequence[int]]) -> tuple[
            np.ndarray, np.ndarray, tuple[int, ...]]:
        """Array `key` of row ids (numpy or a torch tensor) flattened, the table they name, and the shape of the rows
        they name; ProtocolError unless they make that shape and each names a row of the table."""
        dataset, table, fingerprint, shape = gather
        flat = (ids if isinstance(ids, np.ndarray) else ids.numpy()).reshape(-1)
        rows = self._table(dataset, table, fingerprint)
        shape = tuple(shape)
        if flat.size * math.prod(rows.shape[1:]) != math.prod(shape):
            raise ProtocolError(f"array {key!r}: {flat.size} rows of {rows.shape[1:]} do not make shape {shape}")
        if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= rows.shape[0]):
            raise ProtocolError(f"array {key!r} names rows outside the {rows.shape[0]} of table {table!r}")
        return flat, rows, shape

    def warm(self, name: str) -> None:
        """Fetches what compact streams of dataset `name` need (its embedding matrix) ahead of time, so that
        DataLoader workers forked afterwards start with it."""
        if any(d["name"] == name and "embeddings" in _field(d, "arrays", dict, "/v1/datasets") for d in self.datasets()):
            self._table(name, "embeddings", _field(self.info(), "fingerprint", str, "/v1/info"))

    # Internals -------------------------------------------------------------------------------------------------
    def _json(self, method: str, path: str, *, body: Optional[Mapping[str, Any]] = None,
              query: Optional[Mapping[str, object]] = None) -> dict[str, Any]:
        """A JSON answer, which is an object on every route."""
        encoded = json_body(body) if body is not None else None
        response = self._transport.request(method, path, body=encoded, query=query, accept="application/json")
        data = response.read(limit=MAX_JSON_BYTES)
        try:
            answer = json.loads(data)
        except ValueError as error:
            raise ProtocolError(f"{path}: the answer is not JSON: {error}") from None
        if not isinstance(answer, dict):
            raise ProtocolError(f"{path}: the answer is JSON {type(answer).__name__}, not an object")
        return answer

    def _table(self, name: str, table: str, fingerprint: Optional[str]) -> np.ndarray:
        """A dataset's table (its embedding matrix), fetched once for the cache that `fingerprint` names."""
        key = (name, table, fingerprint)
        if key not in self._tables:
            if table != "embeddings":
                raise ProtocolError(f"the server sends rows of table {table!r}, which this client does not know")
            matrix, served = self._fetch_embeddings(name)
            if served != fingerprint:
                raise ConnectionError("the embedding matrix came from a replica that serves other data")
            self._tables[key] = matrix
        return self._tables[key]

    def _fetch_embeddings(self, name: str) -> tuple[np.ndarray, Optional[str]]:
        """A dataset's embedding matrix, checked to be float32 `[V, dim]`, and the fingerprint it was served with."""
        response = self._transport.request("GET", _dataset_path(name, "embeddings"))
        fingerprint = response.header(FINGERPRINT)
        matrix = read_npy(response)
        if matrix.ndim != 2 or matrix.dtype != np.float32:
            raise ProtocolError(f"the embedding matrix of {name} is {matrix.dtype} {matrix.shape}, not float32 [V, dim]")
        return matrix, fingerprint

    def _wait_or_raise(self, failures: int, retries: int, error: W2VCacheError) -> int:
        failures += 1
        if failures > retries:
            error.message = f"gave up after {retries} retries: {error.message}"
            error.args = (error.message,)
            raise error
        time.sleep(min(self.backoff * 2 ** (failures - 1), 5.0))
        self.resumptions += 1
        return failures


class _SameData:
    """The fingerprint (or its absence) of the first answer to one call made of several requests, and the check that
    each later answer serves the same data."""

    def __init__(self) -> None:
        self.first: Optional[tuple[Optional[str]]] = None

    def check(self, served: Optional[str], problem: Callable[[Optional[str]], str]) -> None:
        """Remembers the first answer's fingerprint; FingerprintMismatch, with `problem(first)`, if a later one's
        differs."""
        if self.first is None:
            self.first = (served,)
        elif served != self.first[0]:
            raise FingerprintMismatch(problem(self.first[0]), self.first[0], served)


#: The longest JSON answer read (a dataset's vocabulary is the longest the server sends).
MAX_JSON_BYTES = 256 << 20

#: The longest path `vector()` sends: HAProxy's default buffer (16 KB) holds a request line of this length and its
#: headers, and the server's HTTP parser takes 80 KB of them.
_LONGEST_PATH = 8192

#: The most words, and the most bytes of them as JSON, that `vectors()` sends in one request.
_WORDS_PER_REQUEST = 1000
_WORD_BYTES_PER_REQUEST = 512 << 10  # half the server's default body limit


def _dataset_path(name: str, *pieces: object) -> str:
    """`/v1/datasets/{name}/...`, each piece percent-encoded whole, so that a `/` or `%` in a name is the name's and
    does not reach another route (`dataset("pos/vocab")` is the dataset of that name, which there is not)."""
    for what, piece in zip(("dataset name", "split"), (name, *pieces)):
        if piece == "":
            # Empty, it would leave `//` in the path, which the server reads as `/`: another route's answer.
            raise ValueError(f"the {what} is empty")
    return "/v1/datasets/" + "/".join(urllib.parse.quote(str(piece), safe="") for piece in (name, *pieces))


def _json_words(words: Iterable[Union[str, bytes]], call: str) -> list[str]:
    """`words` as a JSON request carries them: text, and bytes decoded, those that are not UTF-8 with
    surrogateescape (the server reads a lone \\udce9 as the byte 0xE9); anything else is a TypeError, as is one word
    given for the list (a str is a sequence of its characters)."""
    if isinstance(words, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"{call}(): the words are one {type(words).__name__}, {words!r}; expected a list of words, "
                        f"such as [{words!r}]")
    words = list(words)
    texts = [word for word in words if type(word) is str]
    if len(texts) == len(words):
        return texts
    texts = []
    for index, word in enumerate(words):
        if isinstance(word, (bytes, bytearray, memoryview)):
            word = bytes(word).decode("utf-8", "surrogateescape")
        elif not isinstance(word, str):
            raise TypeError(f"{call}(): word {index} is {type(word).__name__}; expected str or bytes")
        texts.append(word)
    return texts


def _in_parts(items: list[Any], ask: Callable[[list[Any]], None]) -> None:
    """`ask(items)`, or, while the server answers 413 (more than it takes or answers at once: its limits are lower
    than the client's requests, or a cache's vectors are long), `ask` of each half in turn, down to one item, whose
    413 is the caller's."""
    try:
        ask(items)
    except ResponseError as error:
        if error.status != 413 or len(items) < 2:
            raise
        half = len(items) // 2
        _in_parts(items[:half], ask)
        _in_parts(items[half:], ask)


def _word_requests(words: list[str]) -> Iterator[list[str]]:
    """`words` in runs that each fit one request (one run, maybe empty, for a short list)."""
    if len(words) <= _WORDS_PER_REQUEST and 12 * sum(map(len, words)) + 4 * len(words) <= _WORD_BYTES_PER_REQUEST:
        yield words
        return
    start, size = 0, 0
    for index, word in enumerate(words):
        # At most what JSON makes of it: 12 bytes a character (an escaped surrogate pair), quotes and a comma.
        length = 12 * len(word) + 4
        if index > start and (index - start == _WORDS_PER_REQUEST or size + length > _WORD_BYTES_PER_REQUEST):
            yield words[start:index]
            start, size = index, 0
        size += length
    yield words[start:]


#: What each letter of X-W2VCache-Rows says its row is.
_ROW_KINDS = {"c": "cache", "s": "subword", "r": "random", "z": "zero"}


def _check_row_kinds(rows: str, matrix: np.ndarray, *, missing: str, oov: Optional[str]) -> None:
    """Each row is of a kind `missing` and `oov` allow (under "error" only words of the cache; a subword vector
    falls back to the random one for a word without n-grams), and a row said to be zeros is zeros."""
    allowed = {"error": "c", "zero": "cz", "oov": {"random": "cr"}.get(oov or "", "csr")}.get(missing, "")
    for index, row in enumerate(rows):
        if row not in allowed:
            raise ProtocolError(f"row {index} is {_ROW_KINDS[row]!r}, which missing={missing!r}"
                                f"{f', oov={oov!r}' if oov else ''} does not give")
        if row == "z" and matrix[index].any():
            raise ProtocolError(f"row {index} is said to be zeros and is not")


def _float32(response: Response, rows: Optional[int]) -> np.ndarray:
    """A bare float32 answer as an array of the shape it states: `[dim]` for one word (`rows` None), `[rows, dim]`
    for several. The shape is checked first, and no more of the body read than it needs."""
    shape_header = response.header("X-W2VCache-Shape")
    sizes = [parse_count(part) for part in (shape_header or "").split(",")]
    shape = tuple(size for size in sizes if size is not None)
    if len(shape) != len(sizes):
        response.close()
        raise ProtocolError(f"the answer's X-W2VCache-Shape {shape_header!r} is not a shape")
    if len(shape) != (1 if rows is None else 2) or (rows is not None and shape[0] != rows):
        response.close()
        raise ProtocolError(f"asked for {'one vector' if rows is None else f'{rows} vectors'}, the answer's shape is "
                            f"{shape_header!r}")
    data = response.read(limit=math.prod(shape) * 4)
    if math.prod(shape) * 4 != len(data):
        raise ProtocolError(f"an answer of shape {shape} holds {len(data)} bytes, not {math.prod(shape) * 4}")
    return np.frombuffer(data, dtype="<f4").reshape(shape)


def _field(answer: Mapping[str, Any], key: str, kind: type, path: str) -> Any:
    """`answer[key]`, checked to be of `kind` (a bool is not an int)."""
    value = answer.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError(f"{path}: the answer's {key!r} is {repr(value)[:100]}, not {kind.__name__}")
    return value


_NON_FINITE_NAMES = ("NaN", "Infinity", "-Infinity")


def _scored(items: object, top: int) -> list[tuple[str, float]]:
    if not isinstance(items, list) or len(items) > top:
        raise ProtocolError(f"a nearest-words answer is not a list of at most {top} entries")
    scored = []
    for item in items:
        word, score = (item.get("word"), item.get("score")) if isinstance(item, dict) else (None, None)
        # A score is a number, or one of the names the server gives a non-finite one; a word is a string.
        if not isinstance(word, str) or not (isinstance(score, (int, float)) and not isinstance(score, bool)
                                             or score in _NON_FINITE_NAMES):
            raise ProtocolError(f"a nearest-words answer has an entry that is not a word and its score: "
                                f"{repr(item)[:100]}")
        scored.append((word, float(score)))
    # Best first, each word once (a NaN, which gensim gives a zero vector, is in no order with the others).
    if len({word for word, _ in scored}) != len(scored) or any(
            later[1] > earlier[1] for earlier, later in zip(scored, scored[1:])):
        raise ProtocolError("a nearest-words answer is not distinct words, best first")
    return scored
