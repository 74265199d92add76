#!/usr/bin/env python3
"""The book's POS tagger trained with DistributedDataParallel, each rank reading its own share of the served epochs.

    torchrun --nproc_per_node 2 examples/ddp_tagger.py --url http://127.0.0.1:8080 [--epochs 2]

Ranks use the gloo backend (CPU). EpochDataset takes the rank and world size from torch.distributed, so every rank
reads a disjoint share of each epoch, all shares of the same length (DDP's collectives would hang otherwise), split
again across DataLoader workers. Each rank keeps the fixed pretrained vectors in a frozen nn.Embedding and reads
only its windows' row ids (`expand=False`), as examples/pos_tagger.py does. Rank 0 then reports test accuracy.
"""
import argparse
import pathlib
import sys
import zlib

import torch
import torch.distributed as dist
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "clients" / "python"))
from common import tagger_model  # noqa: E402
from w2vcache_client import Client, EpochDataset  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--url", default="http://127.0.0.1:8080")
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--batch-size", type=int, default=256)
parser.add_argument("--workers", type=int, default=2, help="DataLoader workers per rank")
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(args.seed)
client = Client(args.url)
tags = client.dataset("pos")["labels"]["tags"]
model = nn.parallel.DistributedDataParallel(tagger_model(torch.from_numpy(client.embeddings("pos")), len(tags)))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_function = nn.CrossEntropyLoss()
dataset = EpochDataset(client, "pos", "train", batch_size=args.batch_size, seed=args.seed, expand=False)
assert (dataset.rank, dataset.world_size) == (rank, world)

# One loader for every epoch: its workers stay (persistent_workers) and follow set_epoch.
loader = dataset.loader(num_workers=args.workers, persistent_workers=args.workers > 0)
previous = None
for epoch in range(args.epochs):
    dataset.set_epoch(epoch)
    model.train()
    batches, checksum = 0, 0
    for batch in loader:
        loss = loss_function(model(batch["x"]), batch["y"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        batches += 1
        checksum = zlib.crc32(batch["x"].numpy().tobytes(), checksum)
    # Every rank read as many batches, and no batch was read by two ranks.
    counts = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(counts, torch.tensor([batches]))
    sums = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(sums, torch.tensor([checksum]))
    shares = sorted(int(s) for s in sums)
    if rank == 0:
        print(f"epoch {epoch}: batches per rank {[int(c) for c in counts]}, last loss {loss.item():.4f}, "
              f"distinct shares {len(set(shares)) == world}, a new order {shares != previous}")
    previous = shares

if rank == 0:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for batch in client.batches("pos", "test", batch_size=2048, shuffle=False, expand=False):
            predictions = model.module(torch.from_numpy(batch["x"])).argmax(dim=1)
            correct += int((predictions == torch.from_numpy(batch["y"])).sum())
            total += len(batch["y"])
    print(f"test accuracy: {correct / total:.4f} over {total} windows ({world} ranks)")
# Every rank tears the group down together: a rank that left while another still evaluated could abort in gloo.
dist.barrier()
dist.destroy_process_group()
