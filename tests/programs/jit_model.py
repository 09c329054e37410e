"""TorchScript-flavoured code: @torch.jit.script functions, torch.jit.script(module),
torch.jit.trace, @torch.jit.ignore / @torch.jit.unused / @torch.jit.export, Final constants,
torch.jit.annotate and torch.jit.is_scripting() branches. Deterministic weights.
"""
from typing import List, Optional

import torch
import torch.nn as nn


@torch.jit.script
def fused_gelu(x):
    return x * 0.5 * (1.0 + torch.tanh(0.7978845608 * (x + 0.044715 * x * x * x)))


@torch.jit.script
def pairwise_sum(xs: List[torch.Tensor]) -> torch.Tensor:
    out = torch.jit.annotate(Optional[torch.Tensor], None)
    for x in xs:
        out = x if out is None else out + x
    assert out is not None
    return out


class Net(nn.Module):
    hidden: torch.jit.Final[int]

    def __init__(self, d=6, hidden=12):
        super().__init__()
        self.hidden = hidden
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, 3)

    def forward(self, x):
        h = fused_gelu(self.fc1(x))
        if not torch.jit.is_scripting():
            self.debug_hook(h)
        return self.fc2(h)

    @torch.jit.ignore
    def debug_hook(self, h):
        self.last_mean = float(h.detach().mean())

    @torch.jit.unused
    def never_scripted(self, x):
        return x

    @torch.jit.export
    def features(self, x):
        return fused_gelu(self.fc1(x))


def init(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            n = p.numel()
            p.copy_((torch.sin(torch.arange(n, dtype=torch.float32) * 1.1 + i) * 0.4).view(p.shape))


model = Net()
init(model)
scripted = torch.jit.script(model)
x = torch.linspace(-1, 1, 24).view(4, 6)
out = scripted(x)
print("scripted:", [round(v, 5) for v in out.flatten().tolist()])
print("features sum:", round(scripted.features(x).sum().item(), 5))
model(x)  # eager call: the ignored debug hook runs
print("last mean:", round(model.last_mean, 5))
print("is_scripting:", torch.jit.is_scripting(), "is_tracing:", torch.jit.is_tracing())

traced = torch.jit.trace(model, (x,))
assert torch.equal(traced(x), out)
traced_fn = torch.jit.trace(fused_gelu, torch.ones(3))
print("traced fn:", [round(v, 5) for v in traced_fn(torch.tensor([-1.0, 0.0, 2.0])).tolist()])
print("pairwise:", pairwise_sum([torch.ones(2), torch.full((2,), 2.0), torch.full((2,), 3.0)]).tolist())

# train the scripted module: it is still an nn.Module with parameters
opt = torch.optim.Adam(scripted.parameters(), lr=0.01)
target = torch.tensor([0, 1, 2, 1])
for step in range(4):
    loss = nn.functional.cross_entropy(scripted(x), target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step}: loss {loss.item():.6f}")
