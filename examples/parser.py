#!/usr/bin/env python3
"""Chen & Manning's (2014) feed-forward transition classifier over 18 word, 18 POS and 12 label features.

Word embeddings start from the served matrix; tags and labels get their own 50-d embeddings; a cube activation
hidden layer of 200; softmax over arc-standard transitions. Reads only from `w2vcache serve` (prepare parser first).
"""
import torch
from torch import nn

from common import epochs, options

args, client = options(__doc__, steps=300, batch_size=256)
vocabulary = client.vocabulary("parser")
words = torch.from_numpy(client.embeddings("parser"))


class Parser(nn.Module):
    def __init__(self):
        super().__init__()
        self.words = nn.Embedding.from_pretrained(words, freeze=False)
        self.tags = nn.Embedding(len(vocabulary["tags"]), 50)
        self.labels = nn.Embedding(len(vocabulary["labels"]), 50)
        self.hidden = nn.Linear(18 * words.shape[1] + 18 * 50 + 12 * 50, 200)
        self.output = nn.Linear(200, len(vocabulary["transitions"]))

    def forward(self, x):
        features = torch.cat([self.words(x[:, :18]).flatten(1), self.tags(x[:, 18:36]).flatten(1),
                              self.labels(x[:, 36:]).flatten(1)], dim=1)
        return self.output(torch.pow(self.hidden(features), 3))


model = Parser().to(args.device)
optimizer = torch.optim.Adagrad(model.parameters(), lr=0.01)
for step, batch in zip(range(args.steps), epochs(client, "parser", "train", args.batch_size, args.seed)):
    x, y = torch.from_numpy(batch["x"]).to(args.device), torch.from_numpy(batch["y"]).to(args.device)
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0 or step == args.steps - 1:
        print(f"step {step}: loss {loss.item():.4f}")
with torch.no_grad():
    batch = next(client.batches("parser", "test", batch_size=4096, shuffle=False))
    accuracy = (model(torch.from_numpy(batch["x"]).to(args.device)).argmax(1).cpu() == torch.from_numpy(batch["y"])).float().mean()
print(f"transition accuracy on the first 4096 test configurations: {accuracy:.4f}")
