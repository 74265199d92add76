#!/usr/bin/env python3
"""Windows/s reaching a GPU: the POS tagger's training epoch (CoNLL-2000 windows of the sample vectors, 256 a batch)
read through the client and copied to the accelerator, against the floor of copying the same bytes from host memory
to it, in one run. Needs torch with an accelerator (CUDA); on a machine without one it says so and exits 0.

Usage: scripts/bench/gpu_feed_bench.py [--binary PATH] [--data ../shared/data] [--out bench-out/gpu-feed]

Rows, each the best of three epochs:
  - floor: the epoch's bytes (x and y of every batch), held in pinned host memory, copied to the device batch by
    batch, and from pageable memory (what a trainer's own numpy arrays are);
  - `Client.batches` (raw, compact: row ids expanded here), each batch's arrays copied to the device;
  - the same with `expand=False`: the row ids go to the device, and the rows are gathered there from the embedding
    matrix sent once (what a trainer that keeps the matrix on the device does);
  - the batches gathered into pageable memory, pinned by the DataLoader's `pin_memory`, and copied with
    `non_blocking=True`: what `EpochDataset.loader(pin_memory=True)` did before it gathered rows into pinned memory;
  - `EpochDataset.loader()` with 0, 2 and 4 workers and `pin_memory`, each batch copied with `non_blocking=True`;
  - `EpochDataset(expand=False).loader()` with 0 and 2 workers: the row ids to the device, the rows gathered there.
Each row counts a batch as arrived once `torch.cuda.synchronize()` says its copy is done.

A second table trains the book's tagger (examples/common.py, Adam) for an epoch fed by `Client.batches` (ids, or
rows gathered on the host) and by `EpochDataset(expand=False).loader()` with 0 and 2 workers, against the floor of
the same steps over the epoch's batches already on the device: how much of a trainer's rate the feed leaves it.
"""
import argparse
import pathlib
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python"))
sys.path.insert(0, str(REPO / "scripts" / "bench"))
sys.path.insert(0, str(REPO / "examples"))

from serving import BINARY_HELP, start_server, w2vcache_binary  # noqa: E402
from w2vcache_client import Client  # noqa: E402


def best(function, runs=3):
    """The highest windows/s of `runs` calls of `function`, which returns the windows it moved."""
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        windows = function()
        rates.append(windows / (time.perf_counter() - start))
    return max(rates)


def print_training(client, url, device):
    """The second table: the book's tagger (examples/common.py) trained for an epoch, fed by each path, against the
    same steps on the epoch's batches already on the device (the floor: what the model alone costs)."""
    import torch
    from common import tagger_model
    from w2vcache_client import EpochDataset

    matrix = torch.from_numpy(client.embeddings("pos"))
    tag_count = len(client.dataset("pos")["labels"]["tags"])
    loss_function = torch.nn.CrossEntropyLoss()

    def train(model, pairs):
        """One epoch of steps over `pairs` of (x, y) on the device; the windows trained on."""
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        count = 0
        for x, y in pairs:
            loss = loss_function(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            count += len(y)
        torch.cuda.synchronize()
        return count

    def ids_model():
        return tagger_model(matrix, tag_count).to(device)

    def rows_model():
        """The same tagger without its embedding layer, for rows gathered on the host (x of [batch, 900])."""
        return tagger_model(matrix, tag_count)[2:].to(device)

    on_device = [(torch.from_numpy(batch["x"]).to(device), torch.from_numpy(batch["y"]).to(device))
                 for batch in client.batches("pos", "train", batch_size=256, seed=1, expand=False)]

    def fed(model, expand):
        def run():
            batches = client.batches("pos", "train", batch_size=256, seed=1, expand=expand)
            return train(model, ((torch.from_numpy(batch["x"]).to(device), torch.from_numpy(batch["y"]).to(device))
                                 for batch in batches))
        return run

    def loader(model, workers):
        def run():
            dataset = EpochDataset(Client(url), "pos", "train", batch_size=256, seed=1, expand=False)
            return train(model, ((batch["x"].to(device, non_blocking=True), batch["y"].to(device, non_blocking=True))
                                 for batch in dataset.loader(num_workers=workers, pin_memory=True)))
        return run

    model = ids_model()
    floor = best(lambda: train(model, on_device))
    rows = [("floor: the epoch's row ids and labels already on the device", floor),
            ("`Client.batches(expand=False)`, each batch's ids copied (examples/pos_tagger.py)",
             best(fed(ids_model(), False))),
            ("`Client.batches()`, rows gathered on the host and copied (a model without the embedding layer)",
             best(fed(rows_model(), True)))]
    for workers in (0, 2):
        rows.append((f"`EpochDataset(expand=False).loader(pin_memory=True)`, {workers} workers",
                     best(loader(ids_model(), workers))))
    print("\nthe book's tagger trained an epoch (Adam, batches of 256), each row the best of three epochs:")
    print("\n| fed by | windows/s | of the floor |\n|---|---:|---:|")
    for label, rate in rows:
        print(f"| {label} | {rate:,.0f} | {rate / floor:.3f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", help=BINARY_HELP)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(REPO / "bench-out" / "gpu-feed"))
    args = parser.parse_args()
    import torch
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure")
        return
    device = torch.device("cuda")
    from w2vcache_client import EpochDataset

    binary = w2vcache_binary(args.binary)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "cache"
    conll = pathlib.Path(args.data) / "conll2000"
    if not db.exists():
        subprocess.run([binary, "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", db], check=True)
        subprocess.run([binary, "prepare", "pos", "--train", conll / "train.txt", "--test", conll / "test.txt",
                        "--db", db, "--out", out], check=True)
    server, url = start_server(binary, db)
    try:
        client = Client(url)
        host = [{key: value.copy() for key, value in batch.items()}
                for batch in client.batches("pos", "train", batch_size=256, seed=1)]
        windows = sum(len(batch["y"]) for batch in host)
        megabytes = sum(value.nbytes for batch in host for value in batch.values()) / 1e6
        print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}; {windows:,} windows an epoch "
              f"({megabytes:,.0f} MB of arrays)", flush=True)
        pageable = [{key: torch.from_numpy(value) for key, value in batch.items()} for batch in host]
        pinned = [{key: tensor.pin_memory() for key, tensor in batch.items()} for batch in pageable]

        def copy(batches, non_blocking):
            def run():
                for batch in batches:
                    for tensor in batch.values():
                        tensor.to(device, non_blocking=non_blocking)
                torch.cuda.synchronize()
                return windows
            return run

        def client_to_device():
            count = 0
            for batch in client.batches("pos", "train", batch_size=256, seed=1):
                for value in batch.values():
                    torch.from_numpy(value).to(device)
                count += len(batch["y"])
            torch.cuda.synchronize()
            return count

        matrix = torch.from_numpy(client.embeddings("pos")).to(device)

        def ids_to_device():
            count = 0
            for batch in client.batches("pos", "train", batch_size=256, seed=1, expand=False):
                gather = batch.pop("__gather__")
                on_device = {key: torch.from_numpy(value).to(device) for key, value in batch.items()}
                for key, (_, _, _, shape) in gather.items():
                    on_device[key] = matrix[on_device[key].reshape(-1).long()].reshape(tuple(shape))
                count += len(on_device["y"])
            torch.cuda.synchronize()
            return count

        from torch.utils.data._utils.pin_memory import pin_memory

        def expanded_then_pinned():
            """The client before: rows gathered into pageable memory, then copied into pinned memory by the
            DataLoader's pin_memory, then to the device (what `loader(pin_memory=True)` did without workers)."""
            count = 0
            for batch in client.batches("pos", "train", batch_size=256, seed=1):
                pinned_batch = pin_memory({key: torch.from_numpy(value) for key, value in batch.items()})
                on_device = {key: tensor.to(device, non_blocking=True) for key, tensor in pinned_batch.items()}
                count += len(on_device["y"])
            torch.cuda.synchronize()
            return count

        def loader_to_device(workers, expand=True):
            def run():
                dataset = EpochDataset(Client(url), "pos", "train", batch_size=256, seed=1, expand=expand)
                count = 0
                for batch in dataset.loader(num_workers=workers, pin_memory=True):
                    on_device = {key: tensor.to(device, non_blocking=True) for key, tensor in batch.items()}
                    if not expand:
                        on_device["x"] = matrix[on_device["x"].long()].reshape(len(on_device["x"]), -1)
                    count += len(on_device["y"])
                torch.cuda.synchronize()
                return count
            return run

        floor = best(copy(pinned, True))
        rows = [("floor: the epoch's arrays from pinned host memory", floor),
                ("the epoch's arrays from pageable host memory", best(copy(pageable, False))),
                ("`Client.batches` (raw, compact), each batch copied", best(client_to_device)),
                ("`Client.batches(expand=False)`: ids to the device, rows gathered there", best(ids_to_device)),
                ("rows gathered, then pinned by pin_memory, then copied (the loader before, 0 workers)",
                 best(expanded_then_pinned))]
        for workers in (0, 2, 4):
            rows.append((f"`EpochDataset.loader()`, {workers} workers, pin_memory", best(loader_to_device(workers))))
        for workers in (0, 2):
            rows.append((f"`EpochDataset(expand=False).loader()`, {workers} workers, pin_memory: ids to the device, "
                         "rows gathered there", best(loader_to_device(workers, expand=False))))
        print("\n| path | windows/s | of the floor |\n|---|---:|---:|")
        for label, rate in rows:
            print(f"| {label} | {rate:,.0f} | {rate / floor:.3f} |", flush=True)
        print_training(client, url, device)
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
