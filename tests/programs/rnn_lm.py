"""A character-level LSTM language model: train a few steps, save the whole module with
torch.save(model), load it back (weights_only=False, and weights_only=True under
torch.serialization.safe_globals) and generate text from each copy.

Weights start from a deterministic formula so the losses compare with PyTorch's.
Run: python rnn_lm.py [--steps N] [--out model.pt]
"""
import argparse
import math
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT = ("the quick brown fox jumps over the lazy dog. "
        "a journey of a thousand miles begins with a single step. "
        "all that glitters is not gold. ") * 2


class CharRNN(nn.Module):
    def __init__(self, vocab, emb=16, hidden=32, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.rnn = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        h, state = self.rnn(self.embed(x), state)
        return self.head(h), state

    @torch.no_grad()
    def generate(self, prefix, n):
        out = list(prefix)
        logits, state = self(torch.tensor([prefix]))
        for _ in range(n):
            nxt = int(logits[0, -1].argmax())
            out.append(nxt)
            logits, state = self(torch.tensor([[nxt]]), state)
        return out


def deterministic_init(model):
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            n = p.numel()
            scale = 1.0 / math.sqrt(p.shape[-1]) if p.dim() >= 2 else 0.1
            p.copy_((torch.cos(torch.arange(n, dtype=torch.float32) * 1.3 + 0.5 * i) * scale).view(p.shape))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in TEXT])
    seq, batch = 24, 4

    model = CharRNN(len(chars))
    deterministic_init(model)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for step in range(args.steps):
        starts = [(step * 29 + j * 41) % (len(data) - seq - 1) for j in range(batch)]
        x = torch.stack([data[s:s + seq] for s in starts])
        y = torch.stack([data[s + 1:s + seq + 1] for s in starts])
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        print(f"step {step}: loss {loss.item():.6f}")

    model.eval()
    prefix = [stoi[c] for c in "the "]
    text = "".join(chars[i] for i in model.generate(prefix, 30))
    print("sample:", repr(text))

    path = args.out or os.path.join(tempfile.mkdtemp(), "char_rnn.pt")
    torch.save(model, path)
    loaded = torch.load(path, weights_only=False)
    assert type(loaded) is CharRNN and isinstance(loaded.rnn, nn.LSTM)
    print("reloaded:", repr("".join(chars[i] for i in loaded.generate(prefix, 30))))
    with torch.serialization.safe_globals([CharRNN, nn.Embedding, nn.LSTM, nn.Linear]):
        safe = torch.load(path)
    print("safe-loaded:", repr("".join(chars[i] for i in safe.generate(prefix, 30))))
    same = all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), safe.state_dict().values()))
    print("weights equal:", same)


if __name__ == "__main__":
    main()
