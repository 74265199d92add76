"""`EpochDataset`: one rank's share of an epoch as a PyTorch IterableDataset (torch is imported here only)."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Optional, overload

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info
from torch.utils.data._utils.pin_memory import pin_memory

from .client import Batch, Client
from .errors import ProtocolError, W2VCacheError

__all__ = ["EpochDataset"]

# The key under which a worker says where its batch belongs: (epoch, index in the share).
_WHERE = "__where__"
# The key under which a worker hands on the W2VCacheError that ended its part, so that the trainer meets it as itself:
# a DataLoader raises a worker's exception anew from its message, and a RuntimeError when that cannot be done.
_FAILED = "__failed__"


def _distributed_rank_and_world_size() -> tuple[int, int]:
    """(rank, world size) from torch.distributed when it is initialized, else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _as_is(batch: Any) -> Any:
    """A DataLoader collate_fn that passes a worker's batch on unchanged (numpy arrays travel pickled)."""
    return batch


def _tensors(arrays: Batch, transform: Optional[Callable[[dict[str, torch.Tensor]], Any]]) -> Any:
    """A batch's numpy arrays as torch tensors (no copy), then `transform`."""
    tensors = {key: torch.from_numpy(value) for key, value in arrays.items()}
    return transform(tensors) if transform else tensors


def _pinned(shape: tuple[int, ...], dtype: np.dtype) -> torch.Tensor:
    """An empty tensor in pinned host memory, from torch's caching host allocator (which keeps it from reuse until
    the copies from it to a device are done)."""
    return torch.empty(shape, dtype=torch.from_numpy(np.empty(0, dtype)).dtype, pin_memory=True)


def _ids(client: Client, compact: Batch) -> Batch:
    """A compact batch as it travelled: the arrays that are embedding row ids stay ids (int32), checked."""
    client._checked_ids(compact).pop("__gather__", None)
    return compact


def _pinned_tensors(client: Client, compact: Batch, transform: Optional[Callable[[dict[str, torch.Tensor]], Any]],
                    expand: bool = True) -> Any:
    """A compact batch (row ids, as `expand=False` reads it) as tensors in pinned memory, then `transform`: the rows
    are gathered straight into pinned buffers and the other arrays copied into them, one copy each, where expanding
    and then pinning copies the rows twice. The DataLoader's pin_memory then leaves them as they are, and a copy to
    the device with `non_blocking=True` overlaps the trainer's work (on an H200 host, 1.44x the windows/s reaching
    the device without workers and 1.58x with two, docs/benchmarks.md)."""
    batch = client.expand_batch(compact, into=_pinned) if expand else _ids(client, compact)
    tensors = {}
    for key, value in batch.items():
        if isinstance(value, np.ndarray):
            tensor = _pinned(value.shape, value.dtype)
            tensor.numpy()[...] = value
            value = tensor
        tensors[key] = value
    return transform(tensors) if transform else tensors


class _Published:
    """An attribute of an EpochDataset that its workers learn of, set at any time, when their next iteration
    begins."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.field = "_" + name

    @overload
    def __get__(self, dataset: None, owner: Optional[type] = None) -> _Published: ...

    @overload
    def __get__(self, dataset: EpochDataset, owner: Optional[type] = None) -> int: ...

    def __get__(self, dataset: Optional[EpochDataset], owner: Optional[type] = None) -> Any:
        return self if dataset is None else getattr(dataset, self.field)

    def __set__(self, dataset: Any, value: int) -> None:
        setattr(dataset, self.field, value)
        dataset._publish()


class EpochDataset(IterableDataset[Batch]):
    """One rank's share of an epoch, for a DataLoader with `batch_size=None`.

    `rank` and `world_size` default to torch.distributed's when it is initialized. Each DataLoader worker streams its
    own part of the rank's share (every num_workers-th batch), so the loader yields the share in order and no batch
    twice. `state_dict()` / `load_state_dict()` save and restore the epoch and the position in it, as a checkpoint
    does; iterate through `loader(num_workers=…)`, which counts the batches the trainer took, for the position to be
    known, and checks that each batch a worker sends is the one due. `set_epoch()` and `load_state_dict()` between
    iterations reach the workers too, persistent ones included, whatever their start method (fork, spawn,
    forkserver), and a worker's failure reaches the trainer as the W2VCacheError it is (a DataLoader alone would
    raise a RuntimeError for some). Arrays become torch tensors; `transform`, if given, maps the dict of tensors to
    what the model takes.

    `expand=False` leaves the arrays that travel as embedding row ids (the POS windows) as int32 ids, for a trainer
    that keeps the embedding matrix (`client.embeddings(name)`, or an `nn.Embedding` made from it) on its device and
    looks the rows up there: a hundredth of the bytes cross to the device (on an H200 host, 1.28x the windows reaching
    it without workers and 1.16x with two, docs/benchmarks.md).
    """

    def __init__(self, client: Client, name: str, split: str, batch_size: int = 32, *, seed: int = 0, epoch: int = 0,
                 shuffle: bool = True, transform: Optional[Callable[[dict[str, torch.Tensor]], Any]] = None,
                 rank: Optional[int] = None, world_size: Optional[int] = None, retries: int = 5,
                 expand: bool = True) -> None:
        default_rank, default_world = _distributed_rank_and_world_size()
        self.client, self.name, self.split, self.batch_size = client, name, split, batch_size
        self.seed, self.shuffle, self.transform, self.retries = seed, shuffle, transform, retries
        self.expand = expand
        self.rank = default_rank if rank is None else rank
        self.world_size = default_world if world_size is None else world_size
        # Taken from torch.distributed: checked again as each iteration begins (see _check_share).
        self._share_from_distributed = rank is None and world_size is None
        self._epoch, self._position = epoch, 0
        # The epoch and the position an iteration begins at, in shared memory: a DataLoader's workers hold copies of
        # this dataset (for good, with persistent_workers) and read these when each iteration begins. The position
        # the trainer reaches during one stays here until the next begins, so every worker of one starts alike.
        # (torch leaves share_memory_ unannotated.)
        self._shared = torch.tensor([epoch, 0], dtype=torch.int64).share_memory_()  # type: ignore[no-untyped-call]
        # Set by loader() for workers: they send numpy batches, compact (row ids, a hundredth of the bytes) through
        # the worker queue, where torch would pass every tensor through shared memory (about 0.7 ms a batch here);
        # the main process expands them and makes the tensors.
        self.expand_in_main = False
        # Set by loader() when its DataLoader pins memory: the main process reads compact batches and gathers their
        # rows straight into pinned memory (_pinned_tensors).
        self.pins_in_main = False

    #: The epoch read.
    epoch = _Published()
    #: How many batches of the rank's share the trainer has taken (counted by `loader()`).
    position = _Published()

    def _publish(self) -> None:
        """Tells the workers where the next iteration begins."""
        self._shared[0], self._shared[1] = self._epoch, self._position

    def _check_share(self) -> None:
        """Raises RuntimeError if the rank and world size were taken from torch.distributed and it now says others:
        a dataset made before init_process_group would have every rank read the whole epoch."""
        if not self._share_from_distributed:
            return
        rank, world = _distributed_rank_and_world_size()
        if (rank, world) != (self.rank, self.world_size):
            raise RuntimeError(
                f"this EpochDataset took rank {self.rank} of {self.world_size} when it was made, but torch.distributed "
                f"now says rank {rank} of {world}: make it after init_process_group, or pass rank and world_size")

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        if info is None:
            self._check_share()
        part, parts = (info.id, info.num_workers) if info else (0, 1)
        in_main = info is not None and self.expand_in_main
        pins = info is None and self.pins_in_main
        # A worker reads where the iteration begins from shared memory: its own copy's may be from an older one.
        epoch, start = (self._epoch, self._position) if info is None else self._shared.tolist()
        # Row ids the main process expands or checks are checked there, with the matrix loader() fetched.
        batches = self.client._stream(
            self.name, self.split, batch_size=self.batch_size, seed=self.seed, epoch=epoch, shuffle=self.shuffle,
            rank=self.rank, world_size=self.world_size, start=start, part=part, parts=parts, retries=self.retries,
            wire="raw", compact=True, expand=self.expand and not (in_main or pins))
        if pins:
            for arrays in batches:
                yield _pinned_tensors(self.client, arrays, self.transform, self.expand)
            return
        if not in_main:
            for arrays in batches:
                yield _tensors(_ids(self.client, arrays), self.transform)
            return
        try:
            for index, arrays in enumerate(batches):
                # Where the batch belongs, for the main process to check against the batch it expects.
                arrays[_WHERE] = (epoch, start + part + index * parts)
                yield arrays
        except W2VCacheError as error:
            yield {_FAILED: error}

    def __len__(self) -> int:
        return self.client.batch_count(self.name, self.split, batch_size=self.batch_size, world_size=self.world_size) - self.position

    def set_epoch(self, value: int) -> None:
        """Moves to another epoch (as DistributedSampler.set_epoch), from its first batch."""
        self._epoch, self._position = value, 0
        self._publish()

    def state_dict(self) -> dict[str, Any]:
        """The epoch and the position in the rank's share, and what that position counts in: the dataset, split,
        batch size, seed, shuffle and world size."""
        return {"epoch": self.epoch, "position": self.position, **self._share_identity()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resumes at the saved epoch and position. A position inside an epoch counts batches of one kind of share:
        if the state was saved with another dataset, split, batch size, seed, shuffle or world size, only a position
        of 0 carries over, and any other raises ValueError naming what differs (a state holding only "epoch" and
        "position" is taken as it is)."""
        epoch, position = int(state["epoch"]), int(state["position"])
        if position:
            differences = [f"{key} {state[key]!r} (this dataset: {value!r})"
                           for key, value in self._share_identity().items() if key in state and state[key] != value]
            if differences:
                raise ValueError(f"the state's position ({position} batches into epoch {epoch}) counts batches of "
                                 f"another share: it was saved with {', '.join(differences)}")
        self._epoch, self._position = epoch, position
        self._publish()

    def _share_identity(self) -> dict[str, Any]:
        return {"name": self.name, "split": self.split, "batch_size": self.batch_size, "seed": self.seed,
                "shuffle": self.shuffle, "world_size": self.world_size}

    def loader(self, **kwargs: Any) -> "_CountingLoader":
        """A DataLoader over this dataset that counts the batches it yields here, in the main process. The embedding
        matrix of compact streams is fetched here once: workers send row ids, and this process looks them up."""
        if kwargs.get("in_order", True) is False:
            raise ValueError("loader() yields the share in order, which its position and its checks rely on; "
                             "in_order=False cannot be used with it")
        self.client.warm(self.name)
        self.expand_in_main = kwargs.get("num_workers", 0) > 0
        if self.expand_in_main:
            kwargs.setdefault("collate_fn", _as_is)
        return _CountingLoader(self, DataLoader(self, batch_size=None, **kwargs))


class _CountingLoader:
    """A DataLoader whose batches advance the dataset's position as the trainer takes them."""

    def __init__(self, dataset: EpochDataset, loader: DataLoader[Batch]) -> None:
        self.dataset, self.data_loader = dataset, loader

    def __iter__(self) -> Iterator[Any]:
        dataset = self.dataset
        dataset._check_share()
        dataset._publish()
        epoch = dataset.epoch
        batches = iter(self.data_loader)
        # With pin_memory, the DataLoader pins what workers send (row ids here, in numpy), so the tensors made here
        # are made in pinned memory: when it pins at all (an accelerator is present). Without workers, the dataset
        # makes them so as it reads (it begins to at the first batch, after this).
        pin = getattr(batches, "_pin_memory", False)
        dataset.pins_in_main = pin and not dataset.expand_in_main
        for batch in batches:
            expected = (epoch, dataset.position)
            if dataset.epoch != epoch:
                raise RuntimeError(
                    f"the dataset moved to epoch {dataset.epoch} while the loader was reading epoch {epoch}: call "
                    "set_epoch() or load_state_dict() between iterations, not during one")
            if dataset.expand_in_main:
                if _FAILED in batch:
                    raise batch[_FAILED]
                # A tuple, or the list that pin_memory makes of one.
                where = tuple(batch.pop(_WHERE, ()))
                if where != expected:
                    raise ProtocolError(
                        f"a DataLoader worker sent batch {where} (epoch, index) where batch {expected} was due")
                if pin:
                    # What a transform makes anew is pinned as the DataLoader would have.
                    device = getattr(batches, "_pin_memory_device", None)
                    batch = pin_memory(  # type: ignore[no-untyped-call]  # torch leaves it unannotated
                        _pinned_tensors(dataset.client, batch, dataset.transform, dataset.expand), device)
                else:
                    arrays = dataset.client.expand_batch(batch) if dataset.expand else _ids(dataset.client, batch)
                    batch = _tensors(arrays, dataset.transform)
            dataset._position += 1
            yield batch

    def __len__(self) -> int:
        return len(self.dataset)
