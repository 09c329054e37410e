"""makemore part 2 style: a character-level MLP language model over a few names (block_size 3,
10-d embeddings, 100 hidden tanh units), trained with manual SGD on random minibatches, logging
to TensorBoard, then sampling names. Everything is seeded from one torch.Generator, so PyTorch
and ferrotorch print the same losses and samples.

Run: python makemore_tb.py LOGDIR
"""
import sys

import torch
import torch.nn.functional as F
from torch.utils.tensorboard import SummaryWriter

NAMES = """emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily elizabeth
mila ella avery sofia camila aria scarlett victoria madison luna grace chloe penelope layla riley
zoey nora lily eleanor hannah lillian addison aubrey ellie stella natalie zoe leah hazel violet
aurora savannah audrey brooklyn bella claire skylar lucy paisley everly anna caroline nova genesis
emilia kennedy samantha maya willow kinsley naomi""".split()

block_size = 3


def build_dataset(words, stoi):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def main():
    logdir = sys.argv[1]
    chars = sorted(set("".join(NAMES)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    vocab = len(itos)
    X, Y = build_dataset(NAMES, stoi)
    print("dataset:", tuple(X.shape), tuple(Y.shape), "vocab", vocab)

    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab, 10), generator=g)
    W1 = torch.randn((30, 100), generator=g) * 0.2
    b1 = torch.randn(100, generator=g) * 0.01
    W2 = torch.randn((100, vocab), generator=g) * 0.01
    b2 = torch.randn(vocab, generator=g) * 0
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    print("parameters:", sum(p.nelement() for p in parameters))

    writer = SummaryWriter(logdir)
    for i in range(200):
        ix = torch.randint(0, X.shape[0], (32,), generator=g)
        emb = C[X[ix]]
        h = torch.tanh(emb.view(-1, 30) @ W1 + b1)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Y[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 150 else 0.05
        for p in parameters:
            p.data += -lr * p.grad
        writer.add_scalar("loss", loss.item(), i)
        if i % 50 == 0:
            writer.add_histogram("W1", W1, i)
            print(f"step {i:3d}: loss {loss.item():.6f}")

    with torch.no_grad():
        emb = C[X]
        h = torch.tanh(emb.view(-1, 30) @ W1 + b1)
        full = F.cross_entropy(h @ W2 + b2, Y)
    print(f"full loss {full.item():.6f}")
    writer.add_scalar("full_loss", full.item(), 200)
    writer.close()

    for _ in range(5):
        out = []
        context = [0] * block_size
        while True:
            emb = C[torch.tensor([context])]
            h = torch.tanh(emb.view(1, -1) @ W1 + b1)
            probs = F.softmax(h @ W2 + b2, dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            context = context[1:] + [ix]
            if ix == 0:
                break
            out.append(itos[ix])
        print("sample:", "".join(out))


if __name__ == "__main__":
    main()
