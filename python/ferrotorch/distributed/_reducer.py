"""Gradient averaging for DistributedDataParallel.

Parameters are grouped into buckets (reverse registration order, one dtype per bucket, about
``bucket_cap`` bytes each). A gradient hook on every parameter copies the parameter's would-be
``.grad`` (existing grad + incoming gradient, times 1/world_size) into its bucket slot; a bucket
whose slots are all filled starts a nonblocking MPI all-reduce (buckets start in a fixed order, the
same on every rank), so communication overlaps the rest of backward. ferrotorch's autograd has no
end-of-backward callback, so the hook of the last expected parameter finishes the reduction: it
waits for every bucket and writes the averages into ``.grad`` (for its own parameter it returns the
gradient that makes the engine's accumulation produce the average)."""
import numpy as np

import ferrotorch as torch
from . import _mpi
from .distributed_c10d import _poll

_FIRST_BUCKET_BYTES = 1024 * 1024
_HALF = (torch.float16, torch.bfloat16)

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. This error indicates "
    "that your module has parameters that were not used in producing loss. You can enable unused parameter "
    "detection by passing the keyword argument `find_unused_parameters=True` to "
    "`torch.nn.parallel.DistributedDataParallel`, and by \nmaking sure all `forward` function outputs participate "
    "in calculating loss. \nIf you already have done the above, then the distributed data parallel module wasn't "
    "able to locate the output tensors in the return value of your module's `forward` function. Please include "
    "the loss function and the structure of the return value of `forward` of your module when reporting this "
    "issue (e.g. list, dict, iterable).\nParameter indices which did not receive grad for rank {rank}: {indices}\n"
    " In addition, you can set the environment variable TORCH_DISTRIBUTED_DEBUG to either INFO or DETAIL to print "
    "out information about which particular parameters did not receive gradient on this rank as part of this error")


class _Bucket:
    def __init__(self, dtype):
        self.dtype = dtype
        self.members = []  # parameter indices
        self.nbytes = 0
        self.flat = self.arr = None
        self.pending = 0

    def build(self, params, where, index):
        off = 0
        for j in self.members:
            where[j] = (index, off, params[j].numel())
            off += params[j].numel()
        # MPI cannot sum half types: their bucket holds float32
        self.flat = torch.zeros(off, dtype=torch.float32 if self.dtype in _HALF else self.dtype)
        self.arr = self.flat.numpy()
        assert not self.arr.size or self.arr.ctypes.data == self.flat.data_ptr(), "bucket must alias its tensor"


class Reducer:
    """Averages the gradients of `params` over the ranks of `pg` (see the module docstring)."""

    def __init__(self, params, pg, bucket_cap_bytes, first_bucket_bytes=_FIRST_BUCKET_BYTES):
        self.params = list(params)
        self.pg = pg
        self.comm = None  # made at the first prepare(): constructing a Reducer needs no collective
        self.size = pg.size()
        self.where = [None] * len(self.params)
        self.buckets = []
        cap, open_ = first_bucket_bytes, {}
        for i in reversed(range(len(self.params))):
            p = self.params[i]
            b = open_.setdefault(p.dtype, _Bucket(p.dtype))
            b.members.append(i)
            b.nbytes += p.numel() * p.element_size()
            if b.nbytes >= cap:
                self.buckets.append(open_.pop(p.dtype))
                cap = bucket_cap_bytes
        self.buckets += list(open_.values())
        for k, b in enumerate(self.buckets):
            b.build(self.params, self.where, k)
        self.expect = False
        self.ready = [False] * len(self.params)
        self.handles = [p.register_hook(self._make_hook(i)) for i, p in enumerate(self.params)]

    def _make_hook(self, i):
        return lambda g: self._hook(i, g)

    # -- per iteration ------------------------------------------------------------------------

    def check_finished(self):
        """Raises PyTorch's error if the previous backward left parameters without gradients."""
        if self.expect:
            missing = " ".join(str(i) for i, r in enumerate(self.ready) if not r)
            raise RuntimeError(_UNFINISHED.format(rank=self.pg._ranks[self.pg.rank()], indices=missing))

    def prepare(self, outputs=None):
        """Arms the hooks for the coming backward; with `outputs`, parameters unreachable from them
        count as unused (their slot contributes zeros)."""
        if self.comm is None:  # gradient buckets get their own ordering channel
            comm, req = self.pg._comm.Idup()
            _poll(self.pg, [req], "DistributedDataParallel")
            self.comm = comm
        self.ready = [False] * len(self.params)
        for b in self.buckets:
            b.pending = len(b.members)
        self.pending = len(self.params)
        self.next = 0
        self.reqs = []
        self.marked = False
        self.unused = [] if outputs is None else self._unreachable(outputs)
        self.expect = True

    def _unreachable(self, outputs):
        index = {p.data_ptr(): i for i, p in enumerate(self.params)}
        used, seen = set(), set()
        stack = []
        for t in outputs:
            if t.grad_fn is not None:
                stack.append(t.grad_fn)
            elif t.requires_grad and t.data_ptr() in index:
                used.add(index[t.data_ptr()])
        while stack:
            fn = stack.pop()
            var = getattr(fn, "variable", None)
            if var is not None:
                if var.data_ptr() in index:
                    used.add(index[var.data_ptr()])
                continue
            if fn in seen:
                continue
            seen.add(fn)
            stack.extend(nxt for nxt, _ in fn.next_functions if nxt is not None)
        return [i for i in range(len(self.params)) if i not in used]

    def _hook(self, i, g):
        if not self.expect:
            return None
        if self.ready[i]:
            raise RuntimeError(
                "Expected to mark a variable ready only once. This error is caused by one of the following reasons: "
                "1) Use of a module parameter outside the `forward` function. 2) Reused parameters in multiple "
                "reentrant backward passes. 3) Incorrect unused parameter detection. "
                f"Parameter at index {i} has been marked as ready twice.")
        with torch.no_grad():
            if not self.marked:
                self.marked = True
                for j in self.unused:
                    self._mark(j, None)
            self._mark(i, g.detach())
            self._launch()
            if self.pending == 0:
                return self._finish(i, g)
        return None

    def _slot(self, j):
        k, off, n = self.where[j]
        return self.buckets[k].flat[off:off + n]

    def _mark(self, j, g):
        if self.ready[j]:
            return
        slot = self._slot(j)
        if g is None:
            slot.zero_()
        else:
            base = self.params[j].grad
            slot.copy_(g.reshape(-1))
            if base is not None:
                slot.add_(base.detach().reshape(-1))
            if self.size > 1:
                slot.mul_(1.0 / self.size)
        self.ready[j] = True
        self.pending -= 1
        self.buckets[self.where[j][0]].pending -= 1

    def _launch(self):
        MPI = _mpi.module()
        while self.next < len(self.buckets) and self.buckets[self.next].pending == 0:
            b = self.buckets[self.next]
            self.reqs.append(self.comm.Iallreduce(MPI.IN_PLACE, b.arr, MPI.SUM))
            self.next += 1
        if self.reqs:
            MPI.Request.Testall(self.reqs)  # lets MPI progress the buckets already in flight

    def _finish(self, i, g):
        self.expect = False
        MPI = _mpi.module()
        _poll(self.pg, self.reqs, "DistributedDataParallel's gradient all_reduce")
        used = None
        if self.unused:  # a parameter unused on every rank keeps its .grad untouched (PyTorch)
            used = np.ones(len(self.params), np.int32)
            used[self.unused] = 0
            _poll(self.pg, [self.comm.Iallreduce(MPI.IN_PLACE, used, MPI.MAX)], "DistributedDataParallel")
        for j, p in enumerate(self.params):
            if j == i or (used is not None and not used[j]):
                continue
            v = self._slot(j).view(p.shape)
            if p.grad is None:
                p.grad = v.to(p.dtype, copy=True)
            else:
                p.grad.copy_(v)
        p = self.params[i]
        v = self._slot(i).view(p.shape)
        if p.grad is None:
            return v.to(g.dtype, copy=True)  # the engine stores it as the new .grad
        p.grad.copy_(v)
        return torch.zeros_like(g)  # accumulating zero keeps the average just written


def find_tensors(obj):
    """Every tensor in a (nested) forward output."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in find_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in find_tensors(o)]
    return []


def map_tensors(obj, fn):
    """`obj` with each tensor replaced by fn(tensor), keeping list/tuple/namedtuple/dict structure."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(map_tensors(o, fn) for o in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(map_tensors(o, fn) for o in obj)
    if isinstance(obj, dict):
        return type(obj)((k, map_tensors(v, fn)) for k, v in obj.items())
    return obj
