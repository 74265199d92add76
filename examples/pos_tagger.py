#!/usr/bin/env python3
"""The book's feed-forward POS tagger: 3-word windows of 300-d vectors, 900 -> 512 -> 256 -> 44, batch norm, Adam.

Reads only from `w2vcache serve` (prepare pos first). Trains --steps batches, then reports test accuracy. The
pretrained vectors stay fixed, as in the book: the embedding matrix goes to the device once, in a frozen
nn.Embedding, and each batch brings only its windows' row ids (`expand=False`), a hundredth of the bytes.
"""
import torch
from torch import nn

from common import epochs, options

args, client = options(__doc__, steps=2000, batch_size=256)
tags = client.dataset("pos")["labels"]["tags"]
matrix = torch.from_numpy(client.embeddings("pos"))
width = matrix.shape[1] * 3
model = nn.Sequential(
    nn.Embedding.from_pretrained(matrix, freeze=True), nn.Flatten(),
    nn.Linear(width, 512), nn.BatchNorm1d(512), nn.ReLU(),
    nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(),
    nn.Linear(256, len(tags)),
).to(args.device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_function = nn.CrossEntropyLoss()
model.train()
for step, batch in zip(range(args.steps), epochs(client, "pos", "train", args.batch_size, args.seed, expand=False)):
    x, y = torch.from_numpy(batch["x"]).to(args.device), torch.from_numpy(batch["y"]).to(args.device)
    loss = loss_function(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 200 == 0 or step == args.steps - 1:
        print(f"step {step}: loss {loss.item():.4f}")
model.eval()
correct = total = 0
with torch.no_grad():
    for batch in client.batches("pos", "test", batch_size=2048, shuffle=False, expand=False):
        predictions = model(torch.from_numpy(batch["x"]).to(args.device)).argmax(dim=1).cpu()
        correct += int((predictions == torch.from_numpy(batch["y"])).sum())
        total += len(batch["y"])
print(f"test accuracy: {correct / total:.4f} over {total} windows")
