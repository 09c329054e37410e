"""DistributedDataParallel on 2 ranks against single-process training; results to OUT/rank<r>.json.

Usage (2 ranks): mpiexec -n 2 python ddp.py OUT  (MPI supplies the ranks; no env variables)."""
import copy
import json
import os
import sys
import warnings
from datetime import timedelta

import ferrotorch as torch
import ferrotorch.distributed as dist
import ferrotorch.nn as nn
from ferrotorch.nn.parallel import DistributedDataParallel as DDP

out_dir = sys.argv[1]
dist.init_process_group("gloo", timeout=timedelta(seconds=30))
r, n = dist.get_rank(), dist.get_world_size()
res = {"rank": r, "world": n}


def gathered(tensors):
    """Every rank's copy of `tensors`."""
    objs = [None] * n
    dist.all_gather_object(objs, [t.detach().clone() for t in tensors])
    return objs


def maxdiff(a, b):
    return max(float((x - y).abs().max()) for x, y in zip(a, b))


def spread(tensors):
    """Largest difference between ranks."""
    g = gathered(tensors)
    return max(maxdiff(g[0], g[k]) for k in range(1, n))


STEPS = 50  # "Done when": 50 DDP steps equal single-process training on the same global batch


def train(make, shape, classes, dtype, bucket_cap_mb, steps=STEPS):
    """Trains `make()` with DDP (each rank on its half of every global batch) beside a copy trained
    in this process on the whole batch; both see the same batches, so their parameters must agree.
    `classes` > 0: cross-entropy on labels from a fixed teacher; otherwise MSE against the teacher."""
    torch.manual_seed(100 + r)  # different on each rank: DDP must broadcast rank 0's
    model = make().to(dtype)
    ddp = DDP(model, bucket_cap_mb=bucket_cap_mb)
    info = {"buckets": len(ddp.reducer.buckets), "init_spread": spread(list(model.parameters())),
            "dtype": str(dtype).split(".")[-1], "steps": steps}
    start = [p.detach().clone() for p in model.parameters()]
    ref = copy.deepcopy(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    torch.manual_seed(7)  # the same teacher and batches on every rank
    teacher = make().to(dtype)
    g = torch.Generator()
    g.manual_seed(7)
    half = shape[0] // n
    mine = slice(r * half, (r + 1) * half)
    worst, losses = 0.0, []
    for _ in range(steps):
        x = torch.randn(*shape, generator=g, dtype=dtype)
        with torch.no_grad():
            y = teacher(x).argmax(1) if classes else teacher(x)
        loss = nn.functional.cross_entropy if classes else nn.functional.mse_loss
        opt.zero_grad()
        loss(ddp(x[mine]), y[mine]).backward()
        opt.step()
        ref_opt.zero_grad()
        full = loss(ref(x), y)
        full.backward()
        ref_opt.step()
        losses.append(float(full))
        worst = max(worst, maxdiff(list(model.parameters()), list(ref.parameters())))
    params = list(model.parameters())
    info["rank_spread"] = spread(params)
    info["vs_single"] = maxdiff(params, list(ref.parameters()))  # after the last step
    info["vs_single_worst"] = worst                               # over all steps
    info["moved"] = maxdiff(params, start)
    info["loss"] = [sum(losses[:5]) / 5, sum(losses[-5:]) / 5]   # first and last five steps
    return info


mlp = lambda: nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))  # noqa: E731
cnn = lambda: nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # noqa: E731
                            nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 2 * 2, 5))
for dt in (torch.float32, torch.float64):
    name = str(dt).split(".")[-1]
    res[f"mlp_{name}"] = train(mlp, (16, 10), 0, dt, None)
    res[f"cnn_{name}"] = train(cnn, (16, 3, 8, 8), 5, dt, 0.0005)  # 500-byte buckets: several all-reduces in flight


def no_sync():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    ddp = DDP(model)
    ref = copy.deepcopy(model)
    g = torch.Generator()
    g.manual_seed(11)
    batches = [(torch.randn(6, 4, generator=g), torch.randn(6, 2, generator=g)) for _ in range(3)]
    mine = slice(3 * r, 3 * r + 3)
    with ddp.no_sync():
        for x, y in batches[:2]:
            nn.functional.mse_loss(ddp(x[mine]), y[mine]).backward()
    local_spread = spread([p.grad for p in model.parameters()])  # local grads: ranks differ
    x, y = batches[2]
    nn.functional.mse_loss(ddp(x[mine]), y[mine]).backward()  # synchronises the accumulated grads
    for x, y in batches:
        nn.functional.mse_loss(ref(x), y).backward()
    grads = [p.grad for p in model.parameters()]
    return {"local_spread": local_spread, "rank_spread": spread(grads),
            "vs_single": maxdiff(grads, [p.grad for p in ref.parameters()])}


res["no_sync"] = no_sync()


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 4)
        self.a = nn.Linear(4, 1)
        self.b = nn.Linear(4, 1)  # used on rank 1 only
        self.c = nn.Linear(4, 1)  # never used

    def forward(self, x, use_b):
        h = self.body(x)
        return self.a(h) + (self.b(h) if use_b else 0)


def unused():
    torch.manual_seed(3)
    model = TwoHeads()
    ddp = DDP(model, find_unused_parameters=True)
    ref = copy.deepcopy(model)
    x = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    for _ in range(2):  # twice: the second iteration must not report an unfinished reduction
        model.zero_grad()
        ddp(x[r:r + 1], use_b=r == 1).sum().backward()
    # single process: average of rank 0's (no b) and rank 1's (with b) gradients
    ref.zero_grad()
    (ref(x[0:1], False).sum() * 0.5 + ref(x[1:2], True).sum() * 0.5).backward()
    out = {"c_grad_none": model.c.weight.grad is None}
    names = ["body.weight", "a.weight", "b.weight", "b.bias"]
    got = dict(model.named_parameters())
    want = dict(ref.named_parameters())
    out["vs_single"] = max(float((got[k].grad - want[k].grad).abs().max()) for k in names)
    out["rank_spread"] = spread([got[k].grad for k in names])
    return out


res["find_unused"] = unused()


def buffers():
    bn = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    with torch.no_grad():
        bn[1].running_mean.fill_(float(r + 1))  # rank-local buffer values
    ddp = DDP(bn)
    after_init = spread([bn[1].running_mean])
    ddp(torch.randn(4, 3) + 3 * r).sum().backward()  # train forward: local batch statistics
    local = spread([bn[1].running_mean])
    ddp.eval()
    ddp(torch.ones(2, 3))  # buffers come from rank 0 before this forward
    synced = spread([bn[1].running_mean, bn[1].running_var, bn[1].num_batches_tracked])
    keys = list(ddp.state_dict().keys())
    fresh = DDP(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)))
    fresh.load_state_dict(ddp.state_dict())
    same = maxdiff(list(fresh.state_dict().values()), list(ddp.state_dict().values()))
    clone = copy.deepcopy(ddp)  # drops the MPI handles and rebuilds them
    clone.train()
    clone(torch.randn(4, 3) + r).sum().backward()
    copied = [list(clone.state_dict().keys()) == keys, spread([p.grad for p in clone.parameters()])]
    return {"after_init": after_init, "local": local, "synced": synced, "keys": keys, "reload": same,
            "module_is": ddp.module is bn, "deepcopy": copied}


res["buffers"] = buffers()


def errors():
    out = {}
    for name, fn in [("device_ids", lambda: DDP(nn.Linear(2, 2), device_ids=[0])),
                     ("no_params", lambda: DDP(nn.ReLU())),
                     ("two_devices", lambda: DDP(nn.Linear(2, 2), device_ids=[0, 1]))]:
        try:
            fn()
            out[name] = None
        except Exception as e:
            out[name] = [type(e).__name__, str(e)]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        DDP(nn.Linear(2, 2), broadcast_buffers=False)
    out["deprecation"] = [str(x.category.__name__) for x in w]
    ddp = DDP(TwoHeads())  # no find_unused_parameters: head b, c never get gradients
    ddp(torch.ones(1, 3), use_b=False).sum().backward()
    try:
        ddp(torch.ones(1, 3), use_b=False)
        out["unfinished"] = None
    except RuntimeError as e:
        out["unfinished"] = str(e)
    return out


res["errors"] = errors()
dist.destroy_process_group()
with open(os.path.join(out_dir, f"rank{r}.json"), "w") as f:
    json.dump(res, f)
