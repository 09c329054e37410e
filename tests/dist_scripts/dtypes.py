"""Every collective on every dtype, 2 ranks; the test checks the results against NumPy.

Usage: python -m ferrotorch.distributed.run --nproc-per-node 2 dtypes.py OUT
Writes OUT/rank<r>.npz (each result's values; bfloat16 as uint16 bit patterns) and OUT/rank<r>.json
(the errors raised, as [type, message], and whether the group's worker thread ran). Inputs come
from _data.inputs(dtype, rank)."""
import json
import os
import sys

import numpy as np

import ferrotorch as torch
import ferrotorch.distributed as dist
from _data import DTYPES, N, OPS, inputs

H = N // 2
REPEAT = 656  # 65,600 elements: 256 KiB and more in the reduced type (not bool)

out_dir = sys.argv[1]
dist.init_process_group("gloo")
r = dist.get_rank()
values, errors = {}, {}


def tensor(dtype, rank=None):
    v = inputs(dtype, r if rank is None else rank)
    if dtype == "bfloat16":
        return torch.from_numpy(v).to(torch.bfloat16)
    return torch.from_numpy(v)


def raw(t):
    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.contiguous().view(torch.int16).numpy().view(np.uint16).copy()
    return t.numpy().copy()


def rec(name, fn):
    try:
        out = fn()
    except Exception as e:  # recorded for the test: type and message
        errors[name] = [type(e).__name__, str(e)]
        return
    if out is None:
        return
    if isinstance(out, list):
        for i, t in enumerate(out):
            values[f"{name}/{i}"] = raw(t)
    else:
        values[name] = raw(out)


ASYNC = False  # the second pass runs the collectives below with async_op=True


def call(collective, *args, **kwargs):
    if not ASYNC:
        return collective(*args, **kwargs)
    work = collective(*args, async_op=True, **kwargs)
    if work is not None:
        work.wait()


def suffix():
    return "_async" if ASYNC else ""


def zeros(n, dt):
    return torch.zeros(n, dtype=getattr(torch, dt))


for d in DTYPES:
    dt = getattr(torch, d)
    for name in OPS:
        op = getattr(dist.ReduceOp, name)

        def all_reduce():
            t = tensor(d)
            dist.all_reduce(t, op=op)
            return t

        def all_reduce_strided():  # a transposed view: staged through a contiguous copy
            t = tensor(d).reshape(4, N // 4).t()
            dist.all_reduce(t, op=op)
            return t

        def all_reduce_async():
            t = tensor(d)
            work = dist.all_reduce(t, op=op, async_op=True)
            work.wait()
            return t

        def all_reduce_large():  # >= 256 KiB as reduced: runs on the group's worker thread
            t = tensor(d).repeat(REPEAT)
            dist.all_reduce(t, op=op)
            return t

        def all_reduce_large_async():
            t = tensor(d).repeat(REPEAT)
            work = dist.all_reduce(t, op=op, async_op=True)
            work.wait()
            return t

        def reduce():
            t = tensor(d)
            call(dist.reduce, t, dst=1, op=op)
            return t if r == 1 else None

        def reduce_scatter():
            o = zeros(H, d)
            t = tensor(d)
            call(dist.reduce_scatter, o, [t[:H], t[H:]], op=op)
            return o

        def reduce_scatter_tensor():
            o = zeros(H, d)
            call(dist.reduce_scatter_tensor, o, tensor(d), op=op)
            return o
        for fn in (all_reduce, all_reduce_strided, all_reduce_async, all_reduce_large, all_reduce_large_async):
            rec(f"{fn.__name__}/{d}/{name}", fn)
        for ASYNC in (False, True):
            for fn in (reduce, reduce_scatter, reduce_scatter_tensor):
                rec(f"{fn.__name__}{suffix()}/{d}/{name}", fn)
        ASYNC = False

    def broadcast():
        t = tensor(d)
        call(dist.broadcast, t, src=1)
        return t

    def all_gather():
        outs = [zeros(N, d), zeros(N, d)]
        call(dist.all_gather, outs, tensor(d))
        return outs

    def all_gather_into_tensor():
        o = zeros(2 * N, d)
        call(dist.all_gather_into_tensor, o, tensor(d))
        return o

    def gather():
        outs = [zeros(N, d), zeros(N, d)] if r == 0 else None
        call(dist.gather, tensor(d), outs, dst=0)
        return outs

    def scatter():
        o = zeros(H, d)
        t = tensor(d)
        call(dist.scatter, o, [t[:H], t[H:]] if r == 1 else None, src=1)
        return o

    def all_to_all():
        t = tensor(d)
        outs = [zeros(H, d), zeros(H, d)]
        call(dist.all_to_all, outs, [t[:H], t[H:]])
        return outs

    def all_to_all_uneven():  # rank r sends its first 2 + r values to rank 0, the rest to rank 1 (not on gloo)
        t = tensor(d)
        outs = [zeros(2, d), zeros(3, d)] if r == 0 else [zeros(N - 2, d), zeros(N - 3, d)]
        call(dist.all_to_all, outs, [t[:2 + r], t[2 + r:]])
        return outs

    def all_to_all_single():
        o = zeros(N, d)
        call(dist.all_to_all_single, o, tensor(d))
        return o

    def all_to_all_single_uneven():
        o = zeros(5 if r == 0 else 2 * N - 5, d)
        call(dist.all_to_all_single, o, tensor(d), [2, 3] if r == 0 else [N - 2, N - 3], [2 + r, N - 2 - r])
        return o

    def send_recv():
        o = zeros(N, d)
        if r == 0:
            dist.send(tensor(d), dst=1)
            dist.recv(o, src=1)
        else:
            dist.recv(o, src=0)
            dist.send(tensor(d), dst=0)
        return o

    def isend_irecv():
        o = zeros(N, d)
        works = [dist.isend(tensor(d), dst=1 - r), dist.irecv(o, src=1 - r)]
        for w in works:
            w.wait()
        return o
    for fn in (send_recv, isend_irecv):
        rec(f"{fn.__name__}/{d}", fn)
    for ASYNC in (False, True):
        for fn in (broadcast, all_gather, all_gather_into_tensor, gather, scatter, all_to_all, all_to_all_uneven,
                   all_to_all_single, all_to_all_single_uneven):
            rec(f"{fn.__name__}{suffix()}/{d}", fn)
    ASYNC = False

worker = dist.group.WORLD._worker is not None  # the large all-reduces went through it
dist.destroy_process_group()
np.savez(os.path.join(out_dir, f"rank{r}.npz"), **values)
with open(os.path.join(out_dir, f"rank{r}.json"), "w") as f:
    json.dump({"errors": errors, "worker": worker}, f)
