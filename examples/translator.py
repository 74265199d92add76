#!/usr/bin/env python3
"""A seq2seq translator with attention (GRU encoder, GRU decoder with dot-product attention), trained on
length-bucketed batches: each batch comes from one bucket, source reversed and padded, target <go> ... <eos>.

Reads only from `w2vcache serve` (prepare translation first). Trains --steps batches and prints the loss.
"""
import torch
from torch import nn

from common import epochs, options

args, client = options(__doc__, steps=200, batch_size=64)
vocabulary = client.vocabulary("translation")
PAD = 1


class Translator(nn.Module):
    def __init__(self, hidden=256):
        super().__init__()
        self.source_embedding = nn.Embedding(len(vocabulary["source_vocab"]), hidden, padding_idx=PAD)
        self.target_embedding = nn.Embedding(len(vocabulary["target_vocab"]), hidden, padding_idx=PAD)
        self.encoder = nn.GRU(hidden, hidden, batch_first=True)
        self.decoder = nn.GRU(hidden, hidden, batch_first=True)
        self.output = nn.Linear(2 * hidden, len(vocabulary["target_vocab"]))

    def forward(self, source, target_in):
        encoded, state = self.encoder(self.source_embedding(source))
        decoded, _ = self.decoder(self.target_embedding(target_in), state)
        scores = decoded @ encoded.transpose(1, 2)
        scores = scores.masked_fill((source == PAD).unsqueeze(1), float("-inf"))
        context = torch.softmax(scores, dim=-1) @ encoded
        return self.output(torch.cat([decoded, context], dim=-1))


model = Translator().to(args.device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step, batch in zip(range(args.steps), epochs(client, "translation", "train", args.batch_size, args.seed)):
    source = torch.from_numpy(batch["source"]).to(args.device)
    target = torch.from_numpy(batch["target"]).to(args.device)
    logits = model(source, target[:, :-1])
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target[:, 1:].reshape(-1).long(), ignore_index=PAD)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 40 == 0 or step == args.steps - 1:
        print(f"step {step} (bucket {int(batch['bucket'])}, source {tuple(source.shape)}): loss {loss.item():.4f}")
