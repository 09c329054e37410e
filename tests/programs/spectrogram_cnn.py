"""An audio-style classifier as people write it: synthetic tones, log-magnitude STFT features
(torch.stft with a Hann window), a small CNN, Adam; plus an FFT band-energy feature, a
reconstruction check through torch.istft, and a learnable filter trained through torch.fft."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
sr, n, n_classes = 800, 1024, 4
t = torch.arange(n) / sr


def make_batch(bs):
    labels = torch.randint(n_classes, (bs,))
    f0 = 40.0 + 60.0 * labels.float() + 5 * torch.randn(bs)
    phase = 2 * math.pi * torch.rand(bs, 1)
    x = torch.sin(2 * math.pi * f0.unsqueeze(1) * t + phase) + 0.3 * torch.randn(bs, n)
    return x, labels


window = torch.hann_window(128)


def features(x):
    spec = torch.stft(x, n_fft=128, hop_length=32, window=window, return_complex=True)
    return torch.log1p(spec.abs()).unsqueeze(1)  # (B, 1, freq, frames)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16, n_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.relu(self.c2(x))
        return self.fc(x.mean(dim=(2, 3)))


model = Net()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(30):
    x, y = make_batch(16)
    loss = F.cross_entropy(model(features(x)), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 0 or step == 29:
        print(f"step {step:2d}: loss {loss.item():.6f}")

x, y = make_batch(64)
with torch.no_grad():
    acc = (model(features(x)).argmax(1) == y).float().mean().item()
print(f"accuracy {acc:.4f}")

# FFT band energies and a round trip through istft
spec = torch.fft.rfft(x, dim=-1)
freqs = torch.fft.rfftfreq(n, d=1.0 / sr)
energy = torch.stack([spec[:, (freqs >= lo) & (freqs < lo + 60)].abs().pow(2).sum(-1) for lo in (30, 90, 150, 210)], 1)
print("band argmax agrees with label:", (energy.argmax(1) == y).float().mean().item())
S = torch.stft(x[:2], n_fft=128, hop_length=32, window=window, return_complex=True)
back = torch.istft(S, n_fft=128, hop_length=32, window=window, length=n)
print(f"istft max error {(back - x[:2]).abs().max().item():.2e}")

# a learnable frequency-domain filter fitted to a target response through fft/irfft
h = torch.zeros(n // 2 + 1, dtype=torch.complex64, requires_grad=True)
target = torch.exp(-((freqs - 150.0) / 30.0) ** 2)
opt = torch.optim.Adam([h], lr=0.05)
sig = torch.randn(8, n)
for step in range(50):
    out = torch.fft.irfft(torch.fft.rfft(sig) * h, n=n)
    want = torch.fft.irfft(torch.fft.rfft(sig) * target, n=n)
    loss = F.mse_loss(out, want)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"filter fit loss {loss.item():.6e}, |h| peak at {freqs[h.detach().abs().argmax()].item():.1f} Hz")
