"""The wire formats of `w2vcache serve`, read and checked against what the server promised.

An epoch stream is frames: a payload's size as a little-endian uint64, then the payload (`.npz`, or raw); a size of
0 ends it. A raw payload is a uint32 header length, a JSON header listing each array's dtype, shape, offset and
bytes, and the arrays at 64-byte aligned offsets. Nothing here hands on an array before its sizes are checked: a
frame must fit in what is left of the answer, and a header's shapes must fit its bytes and the payload.
"""

from __future__ import annotations

import io
import json
import math
import struct
from typing import Any, Callable, Iterable, Iterator, Optional, Union

import numpy as np

from .errors import ProtocolError
from .transport import Response, parse_count

__all__ = ["Layout", "ArrayEntry", "npz_arrays", "npy_array", "read_npy", "batch_examples", "promised_examples",
           "EpochFrames", "json_body", "plain_query"]

#: The dtypes raw payloads carry.
DTYPES: dict[str, np.dtype[Any]] = {"<f4": np.dtype("<f4"), "<i4": np.dtype("<i4"), "<i8": np.dtype("<i8")}

#: The largest frame accepted when the answer does not say its length (a frame is one batch).
MAX_FRAME_BYTES = 2 << 30


#: The longest `.npy` header read (numpy's own default limit).
MAX_NPY_HEADER = 10_000


def json_body(body: object) -> bytes:
    """`body` as a request's JSON. NumPy's numbers (a `top` of `np.int64`, as array arithmetic gives) are written as
    the Python numbers they are; `json.dumps` alone refuses them ("Object of type int64 is not JSON serializable")."""
    return json.dumps(body, default=_numpy_number).encode()


def plain_query(query: dict[str, object]) -> dict[str, object]:
    """`query` with NumPy scalars as the Python values they are: `np.True_` goes out as `true` (it was `True`, which
    the server refuses), `np.int64(3)` as `3`."""
    return {key: value.item() if isinstance(value, np.generic) else value for key, value in query.items()}


def _numpy_number(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    kind = type(value)
    raise TypeError(f"{kind.__module__}.{kind.__qualname__} cannot be sent as JSON; "
                    "expected str, int, float, list or dict")


def npy_array(data: Union[bytes, bytearray]) -> np.ndarray:
    """An `.npy` answer's array (pickles refused; an `.npz` archive, which `np.load` also reads, is no answer)."""
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - whatever numpy makes of a malformed file, the answer was wrong
        raise ProtocolError(f"the answer is not a valid .npy file: {error}") from None
    if not isinstance(loaded, np.ndarray):
        loaded.close()
        raise ProtocolError("the answer is an .npz archive, not the .npy file asked for")
    return loaded


def read_npy(response: Response) -> np.ndarray:
    """An `.npy` answer's array, read from the connection straight into the array's memory (reading the body, then
    loading it, copied a 22 MB matrix three times): its header read as numpy reads it (pickles refused), and its
    size checked against the answer's length before the array is made."""
    if response.length is None:
        return npy_array(response.read())
    prefix = response.read_exactly(min(10, response.length))
    if len(prefix) < 10 or prefix[:6] != b"\x93NUMPY" or prefix[6] != 1:
        return npy_array(prefix + response.read())  # numpy's own message, or another version it reads
    header_length = int.from_bytes(prefix[8:10], "little")
    if header_length > min(MAX_NPY_HEADER, response.length - 10):
        response.close()
        raise ProtocolError(f"the answer's .npy header is {header_length} bytes, more than the answer or "
                            f"{MAX_NPY_HEADER}")
    try:
        file = io.BytesIO(prefix + response.read_exactly(header_length))
        np.lib.format.read_magic(file)
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
    except ProtocolError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever numpy makes of a malformed header, the answer was wrong
        response.close()
        raise ProtocolError(f"the answer is not a valid .npy file: {error}") from None
    body = response.length - 10 - header_length
    if dtype.hasobject or math.prod(shape) * dtype.itemsize != body:
        response.close()
        raise ProtocolError(f"the answer's .npy header says {dtype} {shape}, which is not the {body} bytes that "
                            "follow it" + (" (objects are refused)" if dtype.hasobject else ""))
    array = np.empty(shape, dtype=dtype, order="F" if fortran_order else "C")
    response.readinto_exactly(array.reshape(-1, order="A").data.cast("B"))
    response.finish()
    return array


def npz_arrays(data: Union[bytes, bytearray]) -> dict[str, np.ndarray]:
    """An `.npz` payload's arrays by name (pickles refused)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except Exception as error:  # noqa: BLE001 - zipfile's and numpy's own errors alike
        raise ProtocolError(f"a batch is not a valid .npz archive: {error}") from None


def batch_examples(shapes: Iterable[tuple[str, tuple[int, ...]]], batch_size: int, what: str) -> int:
    """The examples of a batch whose arrays have `shapes` (by name): every array but a scalar has one row per example,
    and a batch holds 1 to `batch_size` of them. ProtocolError otherwise, naming the batch as `what`."""
    rows = {name: shape[0] for name, shape in shapes if shape}
    if len(set(rows.values())) != 1:
        raise ProtocolError(f"{what} has arrays of {rows or 'no'} rows; expected one row per example in each")
    (examples,) = set(rows.values())
    if not 1 <= examples <= batch_size:
        raise ProtocolError(f"{what} holds {examples} examples; expected 1 to {batch_size}, the batch size")
    return examples


def promised_examples(response: Response) -> Optional[int]:
    """The examples an answer of batches says it holds (`X-Examples`), or None from a server that does not say."""
    text = response.header("X-Examples")
    examples = parse_count(text)
    if text is not None and examples is None:
        response.close()
        raise ProtocolError(f"the answer's X-Examples {text!r} is not a count")
    return examples


def _shape(value: object, what: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value):
        raise ProtocolError(f"{what} {value!r} is not a list of sizes of at least 0")
    return tuple(value)


class ArrayEntry:
    """One array of a raw payload, as its header describes it (checked)."""

    __slots__ = ("name", "dtype", "shape", "offset", "nbytes", "gather", "ids_shape")

    def __init__(self, entry: object, payload_size: int, header_end: int) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ProtocolError(f"a raw header entry {entry!r} has no name")
        self.name: str = entry["name"]
        dtype = entry.get("dtype")
        if dtype not in DTYPES:
            raise ProtocolError(f"array {self.name!r} has dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
        self.dtype = DTYPES[dtype]
        self.shape = _shape(entry.get("shape"), f"array {self.name!r}: shape")
        offset, nbytes = entry.get("offset"), entry.get("nbytes")
        if not isinstance(offset, int) or not isinstance(nbytes, int) or isinstance(offset, bool) \
                or isinstance(nbytes, bool):
            raise ProtocolError(f"array {self.name!r}: offset {offset!r} and nbytes {nbytes!r} are not whole numbers")
        if offset < header_end or nbytes < 0 or offset + nbytes > payload_size:
            raise ProtocolError(f"array {self.name!r} lies at {offset}..{offset + nbytes}, outside the payload's "
                                f"{header_end}..{payload_size}")
        self.offset, self.nbytes = offset, nbytes
        self.gather: Optional[str] = entry.get("gather")
        if self.gather is None:
            self.ids_shape: tuple[int, ...] = ()
            if math.prod(self.shape) * self.dtype.itemsize != nbytes:
                raise ProtocolError(f"array {self.name!r}: shape {self.shape} of {dtype} is "
                                    f"{math.prod(self.shape) * self.dtype.itemsize} bytes, but it has {nbytes}")
        else:
            if not isinstance(self.gather, str):
                raise ProtocolError(f"array {self.name!r}: gather {self.gather!r} is not a table name")
            self.ids_shape = _shape(entry.get("ids_shape"), f"array {self.name!r}: ids_shape")
            if math.prod(self.ids_shape) * 4 != nbytes:
                raise ProtocolError(f"array {self.name!r}: {math.prod(self.ids_shape)} row ids are not {nbytes} bytes")

    def values(self, payload: np.ndarray) -> np.ndarray:
        return payload[self.offset:self.offset + self.nbytes].view(self.dtype).reshape(self.shape)

    def ids(self, payload: np.ndarray) -> np.ndarray:
        return payload[self.offset:self.offset + self.nbytes].view("<i4").reshape(self.ids_shape)

    def expand(self, ids: np.ndarray, table: np.ndarray) -> np.ndarray:
        """The array's values: the rows of `table` the ids name (each id checked against the table)."""
        # As unsigned numbers a negative id is a huge one, so `take` itself refuses every id outside the table.
        flat = ids.reshape(-1).view("<u4")
        if flat.size * math.prod(table.shape[1:]) != math.prod(self.shape):
            raise ProtocolError(f"array {self.name!r}: {flat.size} rows of {table.shape[1:]} do not make shape {self.shape}")
        try:
            return table.take(flat, axis=0).reshape(self.shape)
        except IndexError:
            raise ProtocolError(f"array {self.name!r} names rows outside the {table.shape[0]} of table {self.gather!r}") from None


class Layout:
    """A raw payload's header: its arrays, checked against the payload's size."""

    def __init__(self, header: bytes, payload_size: int) -> None:
        try:
            document = json.loads(header)
        except ValueError as error:
            raise ProtocolError(f"a raw batch's header is not JSON: {error}") from None
        arrays = document.get("arrays") if isinstance(document, dict) else None
        if not isinstance(arrays, list):
            raise ProtocolError("a raw batch's header lists no arrays")
        self.arrays = [ArrayEntry(entry, payload_size, 4 + len(header)) for entry in arrays]
        #: What every batch of a stream shares: the arrays' names, dtypes, ranks and tables, in order.
        self.kinds = tuple((e.name, e.dtype.str, len(e.shape), e.gather) for e in self.arrays)


class EpochFrames:
    """The batches of one epoch answer, checked against the answer's promises as they arrive.

    The answer says how many batches the rank's share holds (`X-Batches`) and which one it starts at (`X-Start`):
    that start must be the one asked for, and the stream must hold exactly the batches from there (every `parts`-th
    from `part`) before its end frame, within its `Content-Length`. Every batch holds the arrays of the first (the
    same names, dtypes and ranks; sizes vary with the batch and, for translation, the bucket), 1 to `batch_size`
    examples (`batch_examples`), and all of them the examples the answer says it holds (`X-Examples`).
    """

    def __init__(self, response: Response, *, start: int, part: int, parts: int, batch_size: int,
                 table: Optional[Callable[[str], np.ndarray]], raw: bool) -> None:
        self._response = response
        self._table = table
        self._raw = raw
        self._batch_size = batch_size
        # By header and payload size: the layout, checked, and the examples it holds.
        self._layouts: dict[tuple[bytes, int], tuple[Layout, int]] = {}
        self._kinds: Optional[tuple[tuple[object, ...], ...]] = None
        batches, first = response.header("X-Batches"), response.header("X-Start")
        share, first_batch = parse_count(batches), parse_count(first)
        if share is None or first_batch is None:
            response.close()
            raise ProtocolError(f"the epoch answer's X-Batches {batches!r} and X-Start {first!r} are not counts")
        #: The share's length, as the server says.
        self.share = share
        if first_batch != start:
            response.close()
            raise ProtocolError(f"asked for the share from batch {start}, the answer starts at batch {first}")
        if start > self.share:
            response.close()
            raise ProtocolError(f"the answer starts at batch {start} of a share of {self.share}")
        self.expected = len(range(start + part, self.share, parts))
        self.received = 0
        self._examples = promised_examples(response)
        self._examples_received = 0
        self._remaining = response.length

    def _take(self, count: int) -> None:
        """Accounts `count` bytes about to be read; a frame longer than the rest of the answer is refused first."""
        if self._remaining is not None:
            if count > self._remaining:
                self._response.close()
                raise ProtocolError(f"a frame of {count} bytes is longer than the {self._remaining} bytes left of the answer")
            self._remaining -= count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            self._take(8)
            (size,) = struct.unpack("<Q", self._response.read_exactly(8))
            if size == 0:
                break
            if size > MAX_FRAME_BYTES or (self._remaining is not None and size > self._remaining - 8):
                self._response.close()
                raise ProtocolError(f"a frame of {size} bytes does not fit in the answer "
                                    f"({self._remaining if self._remaining is not None else MAX_FRAME_BYTES} bytes left)")
            if self.received == self.expected:
                self._response.close()
                raise ProtocolError(f"the answer holds more than the {self.expected} batches its share promises")
            self._take(size)
            if self._raw:
                batch, examples = self._raw_batch(size)
            else:
                batch = npz_arrays(self._response.read_exactly(size))
                self._check_kinds(tuple(sorted((name, array.dtype.str, array.ndim, None)
                                               for name, array in batch.items())))
                examples = self._batch_examples((name, array.shape) for name, array in batch.items())
            self._examples_received += examples
            if self._examples is not None and self._examples_received > self._examples:
                self._response.close()
                raise ProtocolError(f"batch {self.received} of the answer takes it past the {self._examples} examples "
                                    "its X-Examples promises")
            self.received += 1
            yield batch
        if self.received != self.expected:
            self._response.close()
            raise ProtocolError(f"the epoch answer ended after {self.received} of its {self.expected} batches")
        if self._examples is not None and self._examples_received != self._examples:
            self._response.close()
            raise ProtocolError(f"the epoch answer held {self._examples_received} examples, not the {self._examples} "
                                "its X-Examples promises")
        if self._remaining not in (None, 0):
            self._response.close()
            raise ProtocolError(f"the epoch ended {self._remaining} bytes before its Content-Length")
        self._response.finish()

    def _check_kinds(self, kinds: tuple[tuple[object, ...], ...]) -> None:
        """Remembers the first batch's arrays; a later batch with others is an error."""
        if self._kinds is None:
            self._kinds = kinds
        elif kinds != self._kinds:
            self._response.close()
            raise ProtocolError(f"batch {self.received} of the answer holds arrays {kinds}, the first {self._kinds}")

    def _batch_examples(self, shapes: Iterable[tuple[str, tuple[int, ...]]]) -> int:
        try:
            return batch_examples(shapes, self._batch_size, f"batch {self.received} of the answer")
        except ProtocolError:
            self._response.close()
            raise

    def _raw_batch(self, size: int) -> tuple[dict[str, Any], int]:
        payload = np.empty(size, dtype=np.uint8)
        self._response.readinto_exactly(payload.data)
        if size < 4:
            raise ProtocolError(f"a raw batch of {size} bytes has no header")
        (length,) = struct.unpack_from("<I", payload.data, 0)
        if 4 + length > size:
            raise ProtocolError(f"a raw batch's header of {length} bytes is longer than its {size}-byte payload")
        header = payload[4:4 + length].tobytes()
        # A layout was checked against one payload size: it is reused only for payloads of that size.
        known = self._layouts.get((header, size))
        if known is None:
            layout = Layout(header, size)
            self._check_kinds(layout.kinds)
            known = layout, self._batch_examples((entry.name, entry.shape) for entry in layout.arrays)
            self._layouts[(header, size)] = known
        layout, examples = known
        batch: dict[str, Any] = {}
        for entry in layout.arrays:
            if entry.gather is None:
                batch[entry.name] = entry.values(payload)
            elif self._table is not None:
                batch[entry.name] = entry.expand(entry.ids(payload), self._table(entry.gather))
            else:
                batch[entry.name] = entry.ids(payload)
                batch.setdefault("__gather__", {})[entry.name] = (entry.gather, entry.shape)
        return batch, examples
