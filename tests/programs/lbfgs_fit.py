"""Fit y = a*sin(b*x + d) + c to 100 points with L-BFGS (strong Wolfe line search) and a closure,
the way small curve fits are written in PyTorch. Parameters start from torch.manual_seed(0) +
torch.randn. Scientific fits usually run in float64 (the default here); in float64 PyTorch and
ferrotorch print the same losses, in float32 last-bit rounding differences get amplified by the
line search's far trial points while the fit is still far from the minimum.

Run: python lbfgs_fit.py [float64|float32]
"""
import sys

import torch

torch.set_default_dtype(getattr(torch, sys.argv[1] if len(sys.argv) > 1 else "float64"))
torch.manual_seed(0)
x = torch.linspace(-3, 3, 100)
y = 2.5 * torch.sin(1.3 * x + 0.5) + 0.7 + 0.05 * torch.cos(7 * x)  # plus a small unmodelled wiggle

a, b, d, c = (torch.randn(1).requires_grad_() for _ in range(4))
params = [a, b, d, c]
print("init:", " ".join(f"{p.item():.6f}" for p in params))
opt = torch.optim.LBFGS(params, lr=1, max_iter=20, history_size=10, line_search_fn="strong_wolfe")


def closure():
    opt.zero_grad()
    loss = ((a * torch.sin(b * x + d) + c - y) ** 2).mean()
    loss.backward()
    return loss


for step in range(10):
    loss = opt.step(closure)
    print(f"step {step}: loss {loss.item():.8g}")

print(f"final loss {closure().item():.8g}")
print("params:", " ".join(f"{p.item():.6f}" for p in params))
state = opt.state[a]
print("func_evals", state["func_evals"], "n_iter", state["n_iter"])
