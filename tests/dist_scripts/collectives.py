"""Runs every collective on 2 ranks and writes each rank's results to OUT/rank<r>.json.

Usage (2 ranks): python -m ferrotorch.distributed.run --nproc-per-node 2 collectives.py OUT"""
import json
import os
import sys
from datetime import timedelta

import ferrotorch as torch
import ferrotorch.distributed as dist

out_dir = sys.argv[1]
dist.init_process_group("gloo", timeout=timedelta(seconds=30))
r = dist.get_rank()
res = {}


def val(x):
    if isinstance(x, torch.Tensor):
        return {"dtype": str(x.dtype).split(".")[-1], "shape": list(x.shape), "values": x.detach().tolist()}
    if isinstance(x, (list, tuple)):
        return [val(v) for v in x]
    if isinstance(x, dict):
        return {k: val(v) for k, v in x.items()}
    return x


def rec(name, fn):
    try:
        res[name] = {"ok": val(fn())}
    except Exception as e:  # recorded for the test to check type and message
        res[name] = {"error": [type(e).__name__, str(e)]}


def reduced(op, t):
    dist.all_reduce(t, op=op)
    return t


R = dist.ReduceOp
base = lambda: torch.tensor([1.0, -2.0, 3.0, 4.0]) + r  # noqa: E731  rank 0: [1,-2,3,4], rank 1: [2,-1,4,5]
rec("info", lambda: [dist.is_initialized(), dist.get_rank(), dist.get_world_size(), dist.get_backend(),
                     dist.group.WORLD is dist.GroupMember.WORLD, isinstance(dist.group.WORLD, dist.ProcessGroup),
                     os.environ["RANK"], os.environ["LOCAL_RANK"], os.environ["WORLD_SIZE"],
                     os.environ["LOCAL_WORLD_SIZE"], os.environ["GROUP_RANK"], "MASTER_ADDR" in os.environ,
                     "MASTER_PORT" in os.environ, dist.is_torchelastic_launched()])
for op in ("SUM", "AVG", "MAX", "MIN", "PRODUCT"):
    rec(f"all_reduce_{op}", lambda: reduced(getattr(R, op), base()))
rec("all_reduce_int64_sum", lambda: reduced(R.SUM, torch.tensor([3, 4]) * (r + 1)))
rec("all_reduce_int32_max", lambda: reduced(R.MAX, torch.tensor([3, -4], dtype=torch.int32) * (1 - 2 * r)))
rec("all_reduce_bxor", lambda: reduced(R.BXOR, torch.tensor([5, 6]) + r))
rec("all_reduce_bool", lambda: reduced(R.SUM, torch.tensor([True, False, False] if r == 0 else [False, False, True])))
rec("all_reduce_bf16", lambda: reduced(R.SUM, torch.tensor([1.5, 2.0], dtype=torch.bfloat16) * (r + 1)))
rec("all_reduce_f16_avg", lambda: reduced(R.AVG, torch.tensor([1.0, 3.0], dtype=torch.float16) * (r + 1)))
rec("all_reduce_f64", lambda: reduced(R.SUM, torch.tensor([0.1, 0.2], dtype=torch.float64) * (r + 1)))
rec("all_reduce_0d", lambda: reduced(R.SUM, torch.tensor(2.5 + r)))


def noncontig():
    t = (torch.arange(6.0).reshape(2, 3) + 10 * r).t()  # a transposed view: staged and copied back
    dist.all_reduce(t)
    return t


rec("all_reduce_noncontig", noncontig)


def param_inplace():
    p = torch.nn.Parameter(torch.ones(3) * (r + 1))  # requires grad: reduced through a detached view
    dist.all_reduce(p)
    return p


rec("all_reduce_param", param_inplace)


def async_reduce():
    t = base()
    w = dist.all_reduce(t, async_op=True)
    ok = w.wait()
    return [ok, w.is_completed(), w.is_success(), t, w.result()]


rec("all_reduce_async", async_reduce)


def bcast():
    t = torch.full((2, 2), float(r + 7))
    dist.broadcast(t, src=1)
    return t


rec("broadcast", bcast)


def all_gather():
    outs = [torch.zeros(2, 2), torch.zeros(2, 2)]
    dist.all_gather(outs, torch.full((2, 2), float(r)) + torch.arange(4.0).reshape(2, 2))
    return outs


rec("all_gather", all_gather)


def all_gather_int():
    outs = [torch.zeros(2, dtype=torch.int64) for _ in range(2)]
    dist.all_gather(outs, torch.tensor([r, 10 * r]))
    return outs


rec("all_gather_int", all_gather_int)


def agit(shape):
    o = torch.zeros(*shape)
    dist.all_gather_into_tensor(o, torch.tensor([1.0, 2.0]) + 10 * r)
    return o


rec("all_gather_into_tensor", lambda: agit((4,)))
rec("all_gather_into_tensor_stacked", lambda: agit((2, 2)))


def rs():
    o = torch.zeros(2)
    dist.reduce_scatter(o, [torch.tensor([1.0, 2.0]) * (r + 1), torch.tensor([3.0, 4.0]) * (r + 1)])
    return o


rec("reduce_scatter", rs)


def rst(op):
    o = torch.zeros(2)
    dist.reduce_scatter_tensor(o, torch.arange(4.0) + r, op=op)
    return o


rec("reduce_scatter_tensor", lambda: rst(R.SUM))
rec("reduce_scatter_tensor_max", lambda: rst(R.MAX))


def red():
    t = torch.tensor([1.0, 2.0]) * (r + 1)
    dist.reduce(t, dst=1)
    return t


rec("reduce", red)
rec("reduce_avg", lambda: (lambda t: (dist.reduce(t, dst=0, op=R.AVG), t)[1])(torch.tensor([1.0, 2.0]) * (r + 1)))


def gath():
    lst = [torch.zeros(3), torch.zeros(3)] if r == 0 else None
    dist.gather(torch.arange(3.0) * (r + 1), lst, dst=0)
    return lst


rec("gather", gath)


def scat():
    o = torch.zeros(2)
    dist.scatter(o, [torch.tensor([5.0, 6.0]), torch.tensor([7.0, 8.0])] if r == 1 else None, src=1)
    return o


rec("scatter", scat)


def p2p():
    if r == 0:
        dist.send(torch.tensor([1.0, 2.0, 3.0]), dst=1)
        t = torch.zeros(2, dtype=torch.int64)
        sender = dist.recv(t)  # any source
        return [sender, t]
    t = torch.zeros(3)
    sender = dist.recv(t, src=0)
    dist.send(torch.tensor([42, 43]), dst=0)
    return [sender, t]


rec("send_recv", p2p)


def async_p2p():
    peer = 1 - r
    recv = torch.zeros(2)
    works = [dist.isend(torch.tensor([float(r), 10.0 + r]), dst=peer), dist.irecv(recv, src=peer)]
    for w in works:
        w.wait()
    return [recv, [w.is_completed() for w in works]]


rec("isend_irecv", async_p2p)


def batch_p2p():
    peer = 1 - r
    recv = torch.zeros(1)
    ops = [dist.P2POp(dist.isend, torch.tensor([100.0 + r]), peer), dist.P2POp(dist.irecv, recv, peer)]
    for w in dist.batch_isend_irecv(ops):
        w.wait()
    return recv


rec("batch_isend_irecv", batch_p2p)


def a2a_single():
    o = torch.zeros(4)
    dist.all_to_all_single(o, torch.arange(4.0) + 10 * r)
    return o


rec("all_to_all_single", a2a_single)


def a2a():
    # rank i sends a tensor of j+1 elements to rank j
    outs = [torch.zeros(r + 1), torch.zeros(r + 1)]
    dist.all_to_all(outs, [torch.tensor([float(r)]), torch.tensor([10.0 + r, 20.0 + r])])
    return outs


rec("all_to_all", a2a)
rec("barrier", lambda: [dist.barrier(), dist.barrier(async_op=True).wait()])


def objects():
    objs = [None, None]
    dist.all_gather_object(objs, {"rank": r, "t": torch.tensor([float(r)])})
    bl = [r, "x", None] if r == 0 else [None, None, None]
    dist.broadcast_object_list(bl, src=0)
    g = [None, None] if r == 1 else None
    dist.gather_object(("from", r), g, dst=1)
    s = [None]
    dist.scatter_object_list(s, [{"to": 0}, {"to": 1}] if r == 0 else None, src=0)
    return [objs, bl, g, s]


rec("objects", objects)


def groups():
    solo = dist.new_group([1])
    both = dist.new_group([0, 1])
    t = torch.tensor([1.0 + r])
    dist.all_reduce(t, group=both)
    u = torch.tensor([5.0])
    res = dist.all_reduce(u, group=solo)  # rank 0 is not a member: returns without communicating
    info = [solo == dist.GroupMember.NON_GROUP_MEMBER, dist.get_rank(solo), dist.get_world_size(solo),
            dist.get_process_group_ranks(both), t, u, res]
    if r == 1:
        info.append(dist.get_rank(solo))
    dist.destroy_process_group(both)
    return info


rec("new_group", groups)

# errors: every rank raises and the group stays usable
rec("err_shape", lambda: dist.all_reduce(torch.ones(3 if r == 0 else 4)))
rec("err_dtype", lambda: dist.all_reduce(torch.ones(3, dtype=torch.float32 if r == 0 else torch.float64)))
rec("err_collective", lambda: dist.all_reduce(torch.ones(2)) if r == 0 else dist.broadcast(torch.ones(2), src=0))
rec("err_root", lambda: dist.broadcast(torch.ones(2), src=r))
rec("err_list", lambda: dist.all_gather([torch.zeros(2)] * (2 if r == 0 else 3), torch.ones(2)))
rec("err_avg_int", lambda: dist.all_reduce(torch.tensor([3, 5]), op=R.AVG))
rec("err_band_float", lambda: dist.all_reduce(torch.ones(2), op=R.BAND))
rec("err_not_tensor", lambda: dist.all_reduce([1, 2]))
rec("err_src_range", lambda: dist.broadcast(torch.ones(1), src=3))
rec("err_send_self", lambda: dist.send(torch.ones(1), dst=r))
rec("err_gather_list", lambda: dist.gather(torch.ones(1), [torch.ones(1), torch.ones(1)], dst=0))
rec("err_scatter_missing", lambda: dist.scatter(torch.ones(1), None, src=0))


def recv_size():
    if r == 0:
        dist.send(torch.ones(5), dst=1)
        return None
    return dist.recv(torch.zeros(3), src=0)


rec("err_recv_size", recv_size)
rec("err_a2a_splits", lambda: dist.all_to_all_single(torch.zeros(4), torch.zeros(4),
                                                     input_split_sizes=[1, 3] if r == 0 else [2, 2]))
rec("after_errors", lambda: reduced(R.SUM, torch.ones(2) * (r + 1)))
rec("after_errors_barrier", lambda: dist.barrier())

dist.destroy_process_group()
rec("destroyed", lambda: [dist.is_initialized(), dist.get_rank()])
with open(os.path.join(out_dir, f"rank{r}.json"), "w") as f:
    json.dump(res, f)
