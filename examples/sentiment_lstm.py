#!/usr/bin/env python3
"""An LSTM sentiment classifier over padded review ids, embeddings initialised from the served word2vec matrix.

Reads only from `w2vcache serve` (prepare sentiment first). Trains --steps batches and prints the loss.
"""
import torch
from torch import nn

from common import epochs, options

args, client = options(__doc__, steps=100, batch_size=32)
embeddings = torch.from_numpy(client.embeddings("sentiment"))


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(embeddings, freeze=False, padding_idx=1)
        self.lstm = nn.LSTM(embeddings.shape[1], 128, batch_first=True)
        self.output = nn.Linear(128, 2)

    def forward(self, x, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(x), lengths.clamp(min=1).cpu(), batch_first=True,
                                                   enforce_sorted=False)
        _, (hidden, _) = self.lstm(packed)
        return self.output(hidden[-1])


model = Classifier().to(args.device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step, batch in zip(range(args.steps), epochs(client, "sentiment", "train", args.batch_size, args.seed)):
    x, y = torch.from_numpy(batch["x"]).to(args.device), torch.from_numpy(batch["y"]).to(args.device)
    loss = nn.functional.cross_entropy(model(x, torch.from_numpy(batch["lengths"])), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 20 == 0 or step == args.steps - 1:
        print(f"step {step}: loss {loss.item():.4f}")
