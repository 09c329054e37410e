"""Mixed precision on the CPU: torch.autocast('cpu', dtype=torch.bfloat16) around the forward
pass and a real torch.amp.GradScaler('cpu') (scaling, unscale_ + clipping, inf-skip, backoff
and growth). Deterministic weights and data.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.fc(x.flatten(1))


def init(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            n = p.numel()
            p.copy_((torch.sin(torch.arange(n, dtype=torch.float32) * 0.8 + i) / math.sqrt(max(p.shape[-1], 4)))
                    .view(p.shape))


model = ConvNet()
init(model)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=2)
x = torch.cos(torch.arange(8 * 64, dtype=torch.float32) * 0.1).view(8, 1, 8, 8)
y = torch.arange(8) % 10

for step in range(6):
    opt.zero_grad()
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        logits = model(x)
        loss = F.cross_entropy(logits, y)
    scaler.scale(loss).backward()
    if step == 2:
        model.fc.weight.grad[0, 0] = float("inf")  # an overflowing step: skipped, scale backs off
    scaler.unscale_(opt)
    nn.utils.clip_grad_norm_(model.parameters(), 10.0)
    scaler.step(opt)
    scaler.update()
    print(f"step {step}: logits {str(logits.dtype)[-8:]} loss {str(loss.dtype)[-7:]} {loss.item():.5f} "
          f"scale {scaler.get_scale():g}")
print("state:", scaler.state_dict())
