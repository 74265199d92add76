"""Client of `w2vcache serve`: word vectors, nearest words and trainer batches as numpy arrays.

    from w2vcache_client import Client
    with Client("http://127.0.0.1:8080") as client:
        client.vector("Confidence")                          # float32 [dim]
        client.vectors(["king", "queen"], missing="zero")    # float32 [2, dim]
        for batch in client.batches("pos", "train", batch_size=256, seed=1, epoch=0):
            x, y = batch["x"], batch["y"]                    # float32 [B, 900], int64 [B]

Distributed jobs read a rank's share (`rank`, `world_size`), resume inside it (`start`), and survive a replica that
dies mid-epoch (`retries`). `EpochDataset` adapts an epoch to `torch.utils.data.IterableDataset`; importing it
imports torch, nothing else here does. Every failure is a `W2VCacheError`.
"""

from typing import Any

from ._version import __version__
from .client import Client
from .errors import (ConnectionError, FingerprintMismatch, ProtocolError, ResponseError, TimeoutError,
                     W2VCacheError)

__all__ = ["Client", "EpochDataset", "W2VCacheError", "ConnectionError", "TimeoutError", "ResponseError",
           "ProtocolError", "FingerprintMismatch", "__version__"]


def __getattr__(name: str) -> Any:
    # EpochDataset needs torch: loaded when asked for.
    if name == "EpochDataset":
        from .torch_dataset import EpochDataset
        return EpochDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
