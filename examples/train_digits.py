"""The main job: the seed documents' MNIST CNN trained with ferrotorch on the handwritten digits
that ship in examples/data (UCI/scikit-learn 8x8 digits, upsampled to 28x28 so the network is the
seed's exactly: Conv2d(1,32,3) -> Conv2d(32,64,3) -> max_pool -> Dropout -> Linear(9216,128) ->
Dropout -> Linear(128,10) -> log_softmax). Written as a PyTorch user would; only the import differs.

  python examples/train_digits.py [--epochs 10] [--batch-size 64] [--shift 2] [--out examples/out]
"""
import argparse
import gzip
import os
import struct
import sys
import time
import zlib

import numpy as np

import ferrotorch as torch
import ferrotorch.nn as nn
import ferrotorch.nn.functional as F
import ferrotorch.optim as optim
from ferrotorch.optim.lr_scheduler import StepLR
from ferrotorch.utils.data import DataLoader, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def load_digits():
    with gzip.open(os.path.join(HERE, "data", "digits.csv.gz"), "rt") as f:
        raw = np.loadtxt(f, delimiter=",", dtype=np.float32)
    images, labels = raw[:, :64].reshape(-1, 1, 8, 8) / 16.0, raw[:, 64].astype(np.int64)
    perm = np.random.default_rng(0).permutation(len(labels))
    images, labels = images[perm], labels[perm]
    n_test = len(labels) // 5
    x = F.interpolate(torch.from_numpy(np.ascontiguousarray(images)), size=(28, 28), mode="bilinear", align_corners=False)
    mean, std = x[n_test:].mean().item(), x[n_test:].std().item()
    x = (x - mean) / std
    y = torch.from_numpy(labels)
    return (x[n_test:], y[n_test:]), (x[:n_test], y[:n_test])


def progress(epoch, done, total, loss, t0, width=30):
    filled = int(width * done / total)
    bar = "#" * filled + "-" * (width - filled)
    sys.stdout.write(f"\repoch {epoch} [{bar}] {done}/{total} loss {loss:.4f} {time.time() - t0:5.1f}s")
    sys.stdout.flush()


def train(model, loader, optimizer, epoch, shift=2):
    model.train()
    t0, total, losses = time.time(), len(loader.dataset), []
    seen = 0
    for data, target in loader:
        if shift:
            # augmentation: translate the batch by up to `shift` pixels (digits are small: 8x8 upsampled)
            dy, dx = torch.randint(-shift, shift + 1, (2,)).tolist()
            data = torch.roll(data, shifts=(dy, dx), dims=(2, 3))
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        seen += len(data)
        progress(epoch, seen, total, losses[-1], t0)
    print()
    return losses


def evaluate(model, loader):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            out = model(data)
            loss += F.nll_loss(out, target, reduction="sum").item()
            correct += out.argmax(dim=1).eq(target).sum().item()
    n = len(loader.dataset)
    return loss / n, correct / n


def write_png(path, curves, width=640, height=360):
    """A line plot of each curve (no plotting library): white canvas, axes, coloured lines."""
    img = np.full((height, width, 3), 255, np.uint8)
    pad = 30
    img[height - pad, pad:width - pad] = 0
    img[pad:height - pad, pad] = 0
    ymax = max(max(c) for c, _ in curves) * 1.05
    for values, colour in curves:
        n = len(values)
        xs = pad + (np.arange(n) / max(n - 1, 1) * (width - 2 * pad - 1)).astype(int)
        ys = height - pad - (np.asarray(values) / ymax * (height - 2 * pad - 1)).astype(int)
        for (x0, y0), (x1, y1) in zip(zip(xs[:-1], ys[:-1]), zip(xs[1:], ys[1:])):
            steps = max(abs(x1 - x0), abs(y1 - y0), 1)
            for s in range(steps + 1):
                x, y = x0 + (x1 - x0) * s // steps, y0 + (y1 - y0) * s // steps
                img[max(y - 1, 0):y + 1, max(x - 1, 0):x + 1] = colour
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(height))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description="ferrotorch digits CNN")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1.0)
    ap.add_argument("--gamma", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shift", type=int, default=2, help="random translation augmentation, pixels (0 = off)")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    (xtr, ytr), (xte, yte) = load_digits()
    train_loader = DataLoader(TensorDataset(xtr, ytr), batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(TensorDataset(xte, yte), batch_size=256)
    print(f"digits: {len(ytr)} train / {len(yte)} test images, 28x28 (upsampled from 8x8)")

    model = Net()
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    step_losses, epoch_losses = [], []
    t_start = time.time()
    for epoch in range(1, args.epochs + 1):
        step_losses += train(model, train_loader, optimizer, epoch, args.shift)
        test_loss, acc = evaluate(model, test_loader)
        epoch_losses.append(test_loss)
        print(f"epoch {epoch}: train loss {np.mean(step_losses[-len(train_loader):]):.4f}  test loss {test_loss:.4f}  test accuracy {100 * acc:.2f}%")
        scheduler.step()
    elapsed = time.time() - t_start

    ckpt = os.path.join(args.out, "digits_cnn.pt")
    torch.save(model.state_dict(), ckpt)
    reloaded = Net()
    reloaded.load_state_dict(torch.load(ckpt))
    _, acc_reloaded = evaluate(reloaded, test_loader)
    assert abs(acc_reloaded - acc) < 1e-9, "reloaded checkpoint must reproduce the accuracy"
    png = os.path.join(args.out, "loss_curve.png")
    write_png(png, [(step_losses, (31, 119, 180))])
    print(f"trained {args.epochs} epochs in {elapsed:.1f}s; final test accuracy {100 * acc:.2f}% "
          f"(checkpoint {ckpt} reloads to {100 * acc_reloaded:.2f}%); loss curve {png}")


if __name__ == "__main__":
    main()
