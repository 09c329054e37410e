"""The main job: the seed documents' MNIST CNN trained with ferrotorch on the handwritten digits
that ship in examples/data (UCI/scikit-learn 8x8 digits, upsampled to 28x28 so the network is the
seed's exactly: Conv2d(1,32,3) -> Conv2d(32,64,3) -> max_pool -> Dropout -> Linear(9216,128) ->
Dropout -> Linear(128,10) -> log_softmax). Written as a PyTorch user would; only the import differs.

  python examples/train_digits.py [--epochs 10] [--batch-size 64] [--shift 2] [--out examples/out]

Progress bars use tqdm and the loss/accuracy figure (out/loss_curve.png) uses matplotlib when they
are installed (pip install tqdm matplotlib); without them it prints plain progress lines instead.
"""
import argparse
import gzip
import os
import time

import numpy as np

import ferrotorch as torch
import ferrotorch.nn as nn
import ferrotorch.nn.functional as F
import ferrotorch.optim as optim
from ferrotorch.optim.lr_scheduler import StepLR
from ferrotorch.utils.data import DataLoader, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))

# optional extras (pip install ferrotorch[examples]): progress bars and the loss-curve figure
try:
    from tqdm import tqdm
except ImportError:
    tqdm = None
try:
    import matplotlib
    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
except ImportError:
    plt = None


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


def train(model, loader, optimizer, epoch, shift=2):
    model.train()
    losses = []
    bar = tqdm(loader, desc=f"epoch {epoch}", unit="batch", leave=True) if tqdm else loader
    for data, target in bar:
        if shift:
            # augmentation: translate the batch by up to `shift` pixels (digits are small: 8x8 upsampled)
            dy, dx = torch.randint(-shift, shift + 1, (2,)).tolist()
            data = torch.roll(data, shifts=(dy, dx), dims=(2, 3))
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if tqdm:
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
        elif len(losses) % max(len(loader) // 4, 1) == 0:  # plain fallback: a line per quarter epoch
            print(f"epoch {epoch}: batch {len(losses)}/{len(loader)} loss {losses[-1]:.4f}", flush=True)
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


def plot_curves(path, train_losses, test_accs):
    """Training loss and test accuracy per epoch, side by side, saved as a PNG."""
    epochs = list(range(1, len(train_losses) + 1))
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, train_losses, "o-", color="tab:blue")
    ax_loss.set(title="Training loss", xlabel="epoch", ylabel="mean NLL loss")
    ax_acc.plot(epochs, [100 * a for a in test_accs], "o-", color="tab:green")
    ax_acc.set(title="Test accuracy", xlabel="epoch", ylabel="accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
    missing = {pkg: effect for pkg, mod, effect in (("tqdm", tqdm, "plain progress lines"),
                                                    ("matplotlib", plt, "no loss-curve figure")) if mod is None}
    if missing:
        print(f"note: {' and '.join(missing)} not installed: {', '.join(missing.values())} "
              f"(pip install {' '.join(missing)})")
    train_losses, test_accs = [], []
    t_start = time.time()
    for epoch in range(1, args.epochs + 1):
        train_losses.append(float(np.mean(train(model, train_loader, optimizer, epoch, args.shift))))
        test_loss, acc = evaluate(model, test_loader)
        test_accs.append(acc)
        print(f"epoch {epoch}: train loss {train_losses[-1]:.4f}  test loss {test_loss:.4f}  test accuracy {100 * acc:.2f}%")
        scheduler.step()
    elapsed = time.time() - t_start

    ckpt = os.path.join(args.out, "digits_cnn.pt")
    torch.save(model.state_dict(), ckpt)
    reloaded = Net()
    reloaded.load_state_dict(torch.load(ckpt))
    _, acc_reloaded = evaluate(reloaded, test_loader)
    assert abs(acc_reloaded - acc) < 1e-9, "reloaded checkpoint must reproduce the accuracy"
    figure = ""
    if plt is not None:
        png = os.path.join(args.out, "loss_curve.png")
        plot_curves(png, train_losses, test_accs)
        figure = f"; loss curve {png}"
    print(f"trained {args.epochs} epochs in {elapsed:.1f}s; final test accuracy {100 * acc:.2f}% "
          f"(checkpoint {ckpt} reloads to {100 * acc_reloaded:.2f}%){figure}")


if __name__ == "__main__":
    main()
