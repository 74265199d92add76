#!/usr/bin/env python3
"""The book's feed-forward POS tagger: 3-word windows of 300-d vectors, 900 -> 512 -> 256 -> 44, batch norm, Adam.

Reads only from `w2vcache serve` (prepare pos first). Trains --steps batches, then reports test accuracy. The
pretrained vectors stay fixed, as in the book: the embedding matrix goes to the device once, in a frozen
nn.Embedding, and each batch brings only its windows' row ids (`expand=False`), a hundredth of the bytes.
"""
import time

import torch
from torch import nn

from common import epochs, options, tagger_model

args, client = options(__doc__, steps=2000, batch_size=256)
tags = client.dataset("pos")["labels"]["tags"]
model = tagger_model(torch.from_numpy(client.embeddings("pos")), len(tags)).to(args.device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_function = nn.CrossEntropyLoss()
model.train()
start, windows = time.perf_counter(), 0
for step, batch in zip(range(args.steps), epochs(client, "pos", "train", args.batch_size, args.seed, expand=False)):
    x, y = torch.from_numpy(batch["x"]).to(args.device), torch.from_numpy(batch["y"]).to(args.device)
    loss = loss_function(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    windows += len(y)
    if step % 200 == 0 or step == args.steps - 1:
        print(f"step {step}: loss {loss.item():.4f}")
seconds = time.perf_counter() - start  # loss.item() above waited for the last step
print(f"{args.steps} steps in {seconds:.1f} s: {windows / seconds:,.0f} windows/s on {args.device}")
model.eval()
correct = total = 0
with torch.no_grad():
    for batch in client.batches("pos", "test", batch_size=2048, shuffle=False, expand=False):
        predictions = model(torch.from_numpy(batch["x"]).to(args.device)).argmax(dim=1).cpu()
        correct += int((predictions == torch.from_numpy(batch["y"])).sum())
        total += len(batch["y"])
print(f"test accuracy: {correct / total:.4f} over {total} windows")
