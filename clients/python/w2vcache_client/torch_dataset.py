"""`EpochDataset`: one rank's share of an epoch as a PyTorch IterableDataset (torch is imported here only)."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from .client import Batch, Client

__all__ = ["EpochDataset"]


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


class EpochDataset(IterableDataset):
    """One rank's share of an epoch, for a DataLoader with `batch_size=None`.

    `rank` and `world_size` default to torch.distributed's when it is initialized. Each DataLoader worker streams its
    own part of the rank's share (every num_workers-th batch), so the loader yields the share in order and no batch
    twice. `state_dict()` / `load_state_dict()` save and restore the epoch and the position in it, as a checkpoint
    does; iterate through `loader(num_workers=…)`, which counts the batches the trainer took, for the position to be
    known. Arrays become torch tensors; `transform`, if given, maps the dict of tensors to what the model takes.
    """

    def __init__(self, client: Client, name: str, split: str, batch_size: int = 32, *, seed: int = 0, epoch: int = 0,
                 shuffle: bool = True, transform: Optional[Callable[[dict[str, torch.Tensor]], Any]] = None,
                 rank: Optional[int] = None, world_size: Optional[int] = None, retries: int = 5) -> None:
        default_rank, default_world = _distributed_rank_and_world_size()
        self.client, self.name, self.split, self.batch_size = client, name, split, batch_size
        self.seed, self.shuffle, self.transform, self.retries = seed, shuffle, transform, retries
        self.rank = default_rank if rank is None else rank
        self.world_size = default_world if world_size is None else world_size
        self.epoch = epoch
        self.position = 0
        # Set by loader() for workers: they send numpy batches, compact (row ids, a hundredth of the bytes) through
        # the worker queue, where torch would pass every tensor through shared memory (about 0.7 ms a batch here);
        # the main process expands them and makes the tensors.
        self.expand_in_main = False

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        part, parts = (info.id, info.num_workers) if info else (0, 1)
        in_main = info is not None and self.expand_in_main
        for arrays in self.client.batches(
                self.name, self.split, batch_size=self.batch_size, seed=self.seed, epoch=self.epoch,
                shuffle=self.shuffle, rank=self.rank, world_size=self.world_size, start=self.position,
                retries=self.retries, part=part, parts=parts, expand=not in_main):
            yield arrays if in_main else _tensors(arrays, self.transform)

    def __len__(self) -> int:
        return self.client.batch_count(self.name, self.split, batch_size=self.batch_size, world_size=self.world_size) - self.position

    def set_epoch(self, value: int) -> None:
        """Moves to another epoch (as DistributedSampler.set_epoch), from its first batch."""
        self.epoch, self.position = value, 0

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = state["epoch"], state["position"]

    def loader(self, **kwargs: Any) -> "_CountingLoader":
        """A DataLoader over this dataset that counts the batches it yields here, in the main process. The embedding
        matrix of compact streams is fetched here once, before the workers start (they inherit it)."""
        self.client.warm(self.name)
        self.expand_in_main = kwargs.get("num_workers", 0) > 0
        if self.expand_in_main:
            kwargs.setdefault("collate_fn", _as_is)
        return _CountingLoader(self, DataLoader(self, batch_size=None, **kwargs))


class _CountingLoader:
    """A DataLoader whose batches advance the dataset's position as the trainer takes them."""

    def __init__(self, dataset: EpochDataset, loader: DataLoader) -> None:
        self.dataset, self.data_loader = dataset, loader

    def __iter__(self) -> Iterator[Any]:
        for batch in self.data_loader:
            self.dataset.position += 1
            if self.dataset.expand_in_main:
                batch = _tensors(self.dataset.client.expand_batch(batch), self.dataset.transform)
            yield batch

    def __len__(self) -> int:
        return len(self.dataset)
