"""Activation checkpointing as training scripts use it: blocks run through
torch.utils.checkpoint (both variants) and checkpoint_sequential, checked against the plain
model with torch.testing.assert_close. Deterministic weights and data (no RNG use except
dropout, which checkpoint replays).
"""
import math

import torch
import torch.nn as nn
from torch.testing import assert_close
from torch.utils.checkpoint import checkpoint, checkpoint_sequential


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)

    def forward(self, x):
        return x + self.fc2(torch.tanh(self.fc1(self.norm(x))))


class Net(nn.Module):
    def __init__(self, d=8, depth=4, use_checkpoint=None):
        super().__init__()
        self.blocks = nn.ModuleList([Block(d) for _ in range(depth)])
        self.head = nn.Linear(d, 1)
        self.use_checkpoint = use_checkpoint  # None, "reentrant" or "non_reentrant"

    def forward(self, x):
        for blk in self.blocks:
            if self.use_checkpoint is None:
                x = blk(x)
            else:
                x = checkpoint(blk, x, use_reentrant=self.use_checkpoint == "reentrant")
        return self.head(x)


def init(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            n = p.numel()
            p.copy_((torch.sin(torch.arange(n, dtype=torch.float32) * 0.9 + i) / math.sqrt(n)).view(p.shape))


def train(mode, steps=5):
    model = Net(use_checkpoint=mode)
    init(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    # the reentrant variant only backpropagates into blocks whose input requires grad
    x = torch.linspace(-2, 2, 48).view(6, 8)
    y = torch.cos(x.sum(1, keepdim=True))
    x.requires_grad_()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, losses


plain, base = train(None)
print("plain losses:", " ".join(f"{v:.6f}" for v in base))
for mode in ("reentrant", "non_reentrant"):
    model, losses = train(mode)
    assert_close(losses, base, rtol=1e-5, atol=1e-6)
    assert_close(model.state_dict(), plain.state_dict())
    print(mode, "matches plain training")

# autograd.grad through a non-reentrant checkpoint (inputs that do not require grad)
model = Net(use_checkpoint="non_reentrant")
init(model)
x = torch.linspace(-1, 1, 16).view(2, 8)
grads = torch.autograd.grad(model(x).sum(), list(model.parameters()))
ref_model = Net()
init(ref_model)
ref = torch.autograd.grad(ref_model(x).sum(), list(ref_model.parameters()))
assert_close(grads, ref)
print("autograd.grad through checkpoint matches")

# checkpoint_sequential with dropout: the recomputed masks replay the saved RNG state
seq = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1))
init(seq)
x = torch.linspace(-1, 1, 32).view(4, 8).requires_grad_()
torch.manual_seed(0)
out = checkpoint_sequential(seq, 3, x, use_reentrant=False)
out.sum().backward()
g_ck = [p.grad.clone() for p in seq.parameters()] + [x.grad.clone()]
seq.zero_grad()
x.grad = None
torch.manual_seed(0)
seq(x).sum().backward()
g_ref = [p.grad.clone() for p in seq.parameters()] + [x.grad.clone()]
assert_close(g_ck, g_ref)
print("checkpoint_sequential with dropout matches")

try:
    assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]))
except AssertionError as e:
    print("assert_close message:", str(e).splitlines()[0])
