"""Shared bits of the reference trainers: command-line options and the client."""
import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "clients" / "python"))

from w2vcache_client import Client  # noqa: E402


def options(description, steps=200, batch_size=64):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="a running `w2vcache serve`")
    parser.add_argument("--steps", type=int, default=steps, help="training steps (batches)")
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    args = parser.parse_args()
    import torch
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    return args, Client(args.url)


def tagger_model(matrix, tag_count):
    """The book's feed-forward tagger over 3-word windows: the fixed pretrained vectors in a frozen nn.Embedding
    (row ids in, one 300-d row each), then 900 -> 512 -> 256 -> tags with batch norm."""
    import torch.nn as nn
    return nn.Sequential(
        nn.Embedding.from_pretrained(matrix, freeze=True), nn.Flatten(),
        nn.Linear(matrix.shape[1] * 3, 512), nn.BatchNorm1d(512), nn.ReLU(),
        nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(),
        nn.Linear(256, tag_count),
    )


def epochs(client, name, split, batch_size, seed, **options):
    """Batches of consecutive epochs, forever (epoch e uses its own order); `options` go to `client.batches`."""
    epoch = 0
    while True:
        yield from client.batches(name, split, batch_size=batch_size, seed=seed, epoch=epoch, **options)
        epoch += 1
