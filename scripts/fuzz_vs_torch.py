#!/usr/bin/env python3
"""Differential fuzzer: random op calls on ferrotorch and on PyTorch, compared (issue 7).

Purpose
    Seeded random calls over the op surface (creation, unary/binary elementwise and their in-place
    and operator forms, clamp/where/isclose, reductions, shape ops, indexing get/set, gather/scatter/
    index_*, matmul family in int and float, linalg, nn.functional activations/losses/pad/pools/
    interpolate/conv/embedding/norms, sort/unique/bincount/searchsorted/histc, random ops, huge
    sizes) are run under both libraries and the outcomes compared.  A development aid only: PyTorch
    is never a dependency of the project or of CI.

Usage
    python scripts/fuzz_vs_torch.py -n 20000 --seed 1 [--jobs 2] [--batch 500] [--ops REGEX] [--list]
                                    [--show 3] [--json out.json]
                                    [--torch-python ~/tref/bin/python] [--ft-python .venv/bin/python]
    python scripts/fuzz_vs_torch.py --case SEED:ID      # print one case's reproducer and both outcomes

How it works
    The driver (stdlib + NumPy, any interpreter) makes each case from (seed, id) alone
    (scripts/fuzz_ops.py: op name, arguments as plain data with NumPy arrays, dtypes as strings,
    layout flags: contiguous / transposed / strided slice / expanded (stride 0), requires_grad).
    Batches are pickled to worker subprocesses (`--worker torch|ferrotorch`) under each interpreter;
    a worker imports its library as `torch`, builds the inputs, makes the call and streams one record
    per case: the exception (type, builtin base type, message) or the outputs as NumPy + dtype +
    shape + requires_grad, and for float outputs of graphs with float leaves the gradients of
    `(out * w).sum()` (w fixed random weights) w.r.t. each leaf.  If a worker dies or goes silent
    for --case-timeout seconds, the case it was running is rerun alone in a fresh process: a crash
    or hang there is class crash/timeout for that case; if it passes alone, the preceding cases are
    bisected to the shortest run that still crashes.  The rest of the batch continues.

    The generator aims at ~70% valid calls: half of the cases are built "bad" (out-of-range dims and
    indices, negative indices, mismatched shapes or dtypes, zero or negative sizes), and the values
    themselves add NaN/inf, -0.0, 1e30, integer extremes, 0-size and 0-d tensors; the measured
    share PyTorch accepts is printed.  Weights per op family are in fuzz_ops.OPS.

Classes (one per call, first that applies)
    crash           the ferrotorch worker died on the case (signal or exit without a record)
    timeout         no record within --case-timeout seconds
    internal_error  a ferrotorch message contains "internal error"
    accept_vs_reject  one library raised and the other returned
    exc_type        both raised, different builtin base type (RuntimeError/IndexError/TypeError/
                    ValueError/...; NotImplementedError counts as RuntimeError, torch's LinAlgError
                    and OutOfMemoryError are RuntimeErrors)
    dtype, shape    of any output (tuples compared element-wise; Python scalars by type)
    value           outside tolerance: exact for ints/bool; float64 rtol 1e-6, float32 rtol 1e-4,
                    float16 1e-2, bfloat16 2e-2 (plus a small atol); NaN == NaN, infinities must match
    grad            output requires_grad differs, backward raises on one side only, or a leaf
                    gradient differs (None vs tensor included; tolerances 10x looser)
    Random ops (rand, dropout, ...) and torch.empty compare acceptance, dtype and shape only, as do
    integer results converted from NaN/inf/out-of-range floats (undefined behaviour in C++); for
    scatter/index_put/put_/index_copy with duplicate indices (which write wins is unspecified) and
    tie-breaking indices of mode/median/kthvalue/topk/unstable sort, only the values are compared (and
    not the gradients, which go to the tied element chosen). Normalization layers get 10x (values) and
    30x (gradients) looser tolerances: 1/sqrt(var + eps) amplifies rounding.

Output
    The table by class (count, % of calls), a per-op breakdown, and per (class, op) the smallest
    reproducer: paste-able Python (`import ferrotorch as torch` works as is) with PyTorch's and
    ferrotorch's outcomes as comments.  --json dumps every disagreement.
"""
import argparse
import collections
import json
import math
import os
import pickle
import queue
import re
import struct
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_ops  # noqa: E402
from fuzz_ops import is_T  # noqa: E402

HERE = os.path.abspath(__file__)
REPO = os.path.dirname(os.path.dirname(HERE))
CLASSES = ["crash", "timeout", "internal_error", "accept_vs_reject", "exc_type", "dtype", "shape", "value", "grad",
           "missing_op"]
FLOAT_DT = {"float16", "bfloat16", "float32", "float64"}
TOL = {"float64": (1e-6, 1e-9), "float32": (1e-4, 1e-5), "float16": (1e-2, 1e-3), "bfloat16": (2e-2, 1e-2)}


# ====================================================================== worker side
def _build(torch, spec, cache, nonleaf=False):
    """Turn plain data back into library objects (tensors, dtypes); records the grad leaves."""
    if is_T(spec):
        _, arr, dt, layout, grad, shape = spec
        tdt = getattr(torch, dt)
        if layout == "t":
            leaf = torch.tensor(np.ascontiguousarray(np.swapaxes(arr, -1, -2)), dtype=tdt)
        elif layout == "s":
            big = np.zeros((arr.shape[0] * 2,) + arr.shape[1:], dtype=arr.dtype)
            big[::2] = arr
            leaf = torch.tensor(big, dtype=tdt)
        else:
            leaf = torch.tensor(arr, dtype=tdt)
        if grad:
            leaf.requires_grad_(True)
            cache["leaves"].append(leaf)
        base = leaf * 1 if (grad and nonleaf) else leaf
        if layout == "t":
            return base.transpose(-1, -2)
        if layout == "s":
            return base[::2]
        if layout == "e":
            return base.expand(*shape)
        return base
    if isinstance(spec, tuple) and len(spec) == 2 and spec[0] == "__DT__":
        return getattr(torch, spec[1])
    if isinstance(spec, list):
        return [_build(torch, s, cache) for s in spec]
    if isinstance(spec, tuple):
        return tuple(_build(torch, s, cache) for s in spec)
    if isinstance(spec, dict):
        return {k: _build(torch, v, cache) for k, v in spec.items()}
    return spec


def _resolve(root, path):
    obj = root
    for p in path.split("."):
        obj = getattr(obj, p)
    return obj


def _call(torch, case, args, kwargs):
    kind, name = case["call"].split(":", 1)
    if kind == "fn":
        return _resolve(torch, name)(*args, **kwargs)
    if kind == "meth":
        return getattr(args[0], name)(*args[1:], **kwargs)
    if kind == "op":
        import operator
        return getattr(operator, name)(*args)
    if name == "getitem":
        return args[0][args[1]]
    if name == "setitem":
        args[0][args[1]] = args[2]
        return args[0]
    if name == "attr":
        return getattr(args[0], args[1])
    if name == "expand_clone":
        return args[0].expand(args[1]).clone()
    raise ValueError(f"fuzzer: unknown call {case['call']}")


def _post(torch, post, out, args):
    """Make outputs comparable where the library is free to choose (signs, tie indices)."""
    if post is None:
        return out
    if post in ("values", "values0"):
        return out[0]
    if post == "svd_s":
        return out[1]
    if post == "qr_sign":
        q, r = out
        s = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
        s = torch.where(s == 0, torch.ones_like(s), s)
        return q * s.unsqueeze(-2), r * s.unsqueeze(-1)
    if post == "with_args12":
        return (out,) + tuple(a for a in args[1:3] if a is not None)
    raise ValueError(post)


def _base_type(exc):
    for c in type(exc).__mro__:
        if c.__module__ == "builtins":
            return "RuntimeError" if c.__name__ == "NotImplementedError" else c.__name__
    return type(exc).__name__


def _exc(e):
    return {"type": type(e).__name__, "base": _base_type(e), "msg": str(e)[:400]}


def _enc(torch, x):
    """Library output -> plain data."""
    if isinstance(x, torch.Tensor):
        d = x.detach()
        dt = str(d.dtype).rsplit(".", 1)[-1]
        try:
            a = (d.to(torch.float64) if dt in ("float16", "bfloat16") else d).numpy().copy()
        except Exception as e:  # noqa: BLE001
            try:  # PyTorch's ZeroTensor gradients need force=True
                a = d.numpy(force=True).copy()
            except Exception:  # noqa: BLE001
                a = "numpy() failed: " + repr(e)[:200]
        return {"k": "T", "dtype": dt, "shape": list(d.shape), "v": a, "rg": bool(x.requires_grad)}
    if isinstance(x, (tuple, list)):
        return {"k": "L", "v": [_enc(torch, y) for y in x]}
    if isinstance(x, (bool, int, float, str)) or x is None:
        return {"k": "S", "t": type(x).__name__, "v": x}
    if isinstance(x, torch.dtype):
        return {"k": "S", "t": "dtype", "v": str(x).rsplit(".", 1)[-1]}
    return {"k": "O", "t": type(x).__name__}


def _flat_tensors(torch, x):
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for y in x for t in _flat_tensors(torch, y)]
    return []


def _weights(case_id, shape):
    rng = np.random.default_rng(case_id * 7919 + 17)
    return rng.uniform(0.5, 1.5, shape) * np.where(rng.random(shape) < 0.3, -1.0, 1.0)


def run_case(torch, case):
    cache = {"leaves": []}
    rec = {"id": case["id"]}
    try:
        args = [_build(torch, a, cache, nonleaf=(i == 0 and case["inplace"])) for i, a in enumerate(case["args"])]
        kwargs = {k: _build(torch, v, cache) for k, v in case["kwargs"].items()}
    except Exception as e:  # noqa: BLE001
        rec["build_error"] = _exc(e)
        return rec
    try:
        out = _post(torch, case["post"], _call(torch, case, args, kwargs), args)
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, KeyboardInterrupt):
            raise
        rec["exc"] = _exc(e)
        return rec
    try:
        rec["out"] = _enc(torch, out)
    except Exception as e:  # noqa: BLE001
        rec["out"] = {"k": "O", "t": "encode failed: " + repr(e)[:200]}
    leaves = cache["leaves"]
    if leaves and not case["random"]:
        fl = [t for t in _flat_tensors(torch, out) if t.dtype.is_floating_point]
        if fl:
            g = {"req": [bool(o.requires_grad) for o in fl], "odt": str(fl[0].dtype).rsplit(".", 1)[-1]}
            used = [(k, o) for k, o in enumerate(fl) if o.requires_grad]
            if used:
                try:
                    loss = sum((o * torch.tensor(_weights(case["id"] + 1000003 * k, tuple(o.shape))).to(o.dtype)).sum()
                               for k, o in used)
                    loss.backward()
                    g["grads"] = [None if l.grad is None else _enc(torch, l.grad) for l in leaves]
                except BaseException as e:  # noqa: BLE001
                    if isinstance(e, KeyboardInterrupt):
                        raise
                    g["exc"] = _exc(e)
            rec["grad"] = g
    return rec


def worker_main(lib):
    import resource
    # a runaway allocation must fail inside the process, never take the machine down
    lim = 16 << 30
    resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    torch = __import__("torch" if lib == "torch" else "ferrotorch")
    if lib == "torch":
        torch.set_num_threads(1)
    import warnings
    warnings.simplefilter("ignore")
    inp, out = sys.stdin.buffer, sys.stdout.buffer

    def send(rec):
        try:
            data = pickle.dumps(rec, protocol=4)
        except Exception:  # noqa: BLE001
            rec.pop("out", None)
            rec["out"] = {"k": "O", "t": "unpicklable"}
            data = pickle.dumps(rec, protocol=4)
        out.write(struct.pack("<Q", len(data)) + data)
        out.flush()

    send({"ready": True})
    while True:  # batches: 8-byte length + pickled list of cases; length 0 ends
        h = inp.read(8)
        if len(h) < 8:
            return
        n = struct.unpack("<Q", h)[0]
        if n == 0:
            return
        for case in pickle.loads(inp.read(n)):
            try:
                rec = run_case(torch, case)
            except Exception:  # noqa: BLE001
                rec = {"id": case["id"], "build_error": {"type": "fuzzer", "base": "fuzzer",
                                                          "msg": traceback.format_exc()[-400:]}}
            send(rec)
        send({"end": True})


# ====================================================================== driver: processes
def _env():
    e = dict(os.environ)
    e.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", RAYON_NUM_THREADS="1", PYTHONWARNINGS="ignore",
             PYTHONFAULTHANDLER="1", RUST_BACKTRACE="0")
    return e


class Worker:
    """One worker subprocess (started lazily, restarted after a crash or hang)."""

    def __init__(self, python, lib, case_timeout):
        self.python, self.lib, self.case_timeout = python, lib, case_timeout
        self.proc = None

    def _start(self):
        self.proc = subprocess.Popen([self.python, HERE, "--worker", self.lib], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=REPO)
        self.q = queue.Queue()
        self.err = []
        self.fresh = True
        proc, q, err = self.proc, self.q, self.err

        def read():
            f = proc.stdout
            while True:
                h = f.read(8)
                if len(h) < 8:
                    break
                body = f.read(struct.unpack("<Q", h)[0])
                q.put(pickle.loads(body))
            q.put(None)

        def read_err():
            err.append(proc.stderr.read()[-20000:])

        self.threads = [threading.Thread(target=t, daemon=True) for t in (read, read_err)]
        for t in self.threads:
            t.start()

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.write(struct.pack("<Q", 0))
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def run(self, cases):
        """(records, failure): failure is None or {"kind": "crash"|"timeout", "index", "info"} for the case
        that was running when the worker died or went silent (the worker is then gone)."""
        if self.proc is None:
            self._start()
        self.first = self.fresh  # a failure on case 0 of a fresh process needs no rerun alone
        data = pickle.dumps(cases, protocol=4)
        try:
            self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
            self.proc.stdin.flush()
        except OSError:
            pass
        recs, failure = [], None
        while True:
            wait = 180.0 if self.fresh else self.case_timeout  # importing the library may be slow under load
            try:
                r = self.q.get(timeout=wait)
            except queue.Empty:
                self.proc.kill()
                failure = {"kind": "timeout", "index": len(recs), "info": f"no result in {wait:.0f}s"}
                break
            if r is None:
                break
            if r.get("ready"):
                self.fresh = False
                continue
            if r.get("end"):
                return recs, None
            recs.append(r)
        rc = self.proc.wait()
        self.threads[1].join(5)
        if failure is None:
            sig = ""
            if rc < 0:
                import signal
                sig = f" ({signal.Signals(-rc).name})" if -rc in {s.value for s in signal.Signals} else ""
            failure = {"kind": "crash", "index": len(recs),
                       "info": f"exit code {rc}{sig}: " + _crash_msg(self.err[0] if self.err else b"")}
        self.proc = None
        return recs, failure


def run_stream(python, lib, cases, case_timeout):
    """Run cases in a fresh worker that is closed afterwards."""
    w = Worker(python, lib, case_timeout)
    try:
        return w.run(cases)
    finally:
        w.close()


def _crash_msg(err):
    """The telling lines of a dead worker's stderr (Rust panic/abort message, fatal signal)."""
    lines = err.decode("utf-8", "replace").strip().splitlines()
    keys = ("memory allocation", "panicked", "Fatal Python error", "fatal runtime error", "error:", "Aborted",
            "overflow")
    hits = [l.strip() for l in lines if any(k in l for k in keys)]
    return " | ".join(hits[:3] or [l.strip() for l in lines[-2:]])[:400]


def run_robust(worker, cases, log):
    """All records of `cases` under one library, surviving crashes and hangs."""
    python, lib, case_timeout = worker.python, worker.lib, worker.case_timeout
    recs = {}
    todo = list(cases)
    while todo:
        got, fail = worker.run(todo)
        for r in got:
            recs[r["id"]] = r
        if fail is None:
            break
        i = fail["index"]
        bad = todo[i]
        if i == 0 and worker.first:
            alone, fail2 = [], fail
        else:
            alone, fail2 = run_stream(python, lib, [bad], case_timeout)
        if fail2 is not None:
            recs[bad["id"]] = {"id": bad["id"], fail["kind"]: fail2["info"]}
        elif alone:
            # state-dependent: bisect the preceding cases to the shortest tail that still fails
            lo, hi = 0, i  # todo[hi:i+1] passes (hi=i), todo[lo:i+1] fails (lo=0)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                _, f3 = run_stream(python, lib, todo[mid:i + 1], case_timeout)
                if f3 is not None and f3["index"] == i - mid:
                    lo = mid
                else:
                    hi = mid
            prior = [c["id"] for c in todo[lo:i]]
            r = {"id": bad["id"], fail["kind"]: fail["info"] + f" (only after cases {prior[:20]})", "after": prior}
            recs[bad["id"]] = r
        log(f"[{lib}] {fail['kind']} on case {bad['id']} ({bad['op']}): {fail['info'][:160]}")
        todo = todo[i + 1:]
    return recs


# ====================================================================== comparison
def _cmp_arrays(a, b, dt, loose=1.0):
    """None when equal within tolerance, else a short description."""
    if isinstance(a, str) or isinstance(b, str):  # numpy() failed on a side
        return None if isinstance(a, str) and isinstance(b, str) else f"torch {str(a)[:80]} vs ft {str(b)[:80]}"
    if a.shape != b.shape:
        return f"array shapes {a.shape} vs {b.shape}"
    if dt not in FLOAT_DT:
        if np.array_equal(a, b):
            return None
        bad = np.argwhere(a != b)
        j = tuple(bad[0])
        return f"{int((a != b).sum())}/{a.size} differ, e.g. at {list(j)}: torch {a[j]!r} vs ft {b[j]!r}"
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    rtol, atol = TOL[dt]
    rtol, atol = rtol * loose, atol * loose
    na, nb = np.isnan(a), np.isnan(b)
    with np.errstate(invalid="ignore", over="ignore"):
        inf = np.isinf(a) | np.isinf(b)
        ok = (na & nb) | (~na & ~nb & inf & (a == b)) | \
             (~na & ~nb & ~inf & (np.abs(a - b) <= atol + rtol * np.abs(a)))
    if ok.all():
        return None
    j = tuple(np.argwhere(~ok)[0])
    return f"{int((~ok).sum())}/{a.size} differ, e.g. at {list(j)}: torch {a[j]!r} vs ft {b[j]!r}"


def _cmp_out(t, f, values=True, path="out", loose=1.0):
    """(class, detail) of the first difference between two encoded outputs, or None."""
    if t["k"] != f["k"]:
        return "dtype", f"{path}: torch returns {_kind(t)}, ft {_kind(f)}"
    if t["k"] == "L":
        if len(t["v"]) != len(f["v"]):
            return "shape", f"{path}: torch returns {len(t['v'])} items, ft {len(f['v'])}"
        for i, (x, y) in enumerate(zip(t["v"], f["v"])):
            r = _cmp_out(x, y, values, f"{path}[{i}]", loose)
            if r:
                return r
        return None
    if t["k"] == "S":
        if t["t"] != f["t"]:
            return "dtype", f"{path}: torch {t['t']} {t['v']!r}, ft {f['t']} {f['v']!r}"
        if values and t["v"] != f["v"] and not (isinstance(t["v"], float) and isinstance(f["v"], float) and
                                                (math.isclose(t["v"], f["v"], rel_tol=1e-5, abs_tol=1e-8) or
                                                 (math.isnan(t["v"]) and math.isnan(f["v"])))):
            return "value", f"{path}: torch {t['v']!r}, ft {f['v']!r}"
        return None
    if t["k"] == "O":
        return None if t["t"] == f["t"] else ("dtype", f"{path}: torch {t['t']}, ft {f['t']}")
    if t["dtype"] != f["dtype"]:
        return "dtype", f"{path}: torch {t['dtype']}, ft {f['dtype']}"
    if list(t["shape"]) != list(f["shape"]):
        return "shape", f"{path}: torch {tuple(t['shape'])}, ft {tuple(f['shape'])}"
    if values:
        d = _cmp_arrays(t["v"], f["v"], t["dtype"], loose)
        if d:
            return "value", f"{path} ({t['dtype']}): {d}"
    return None


def _kind(o):
    return {"T": "Tensor", "L": "tuple/list", "S": "scalar", "O": "object"}[o["k"]] + \
        (f" {o.get('t')}" if o["k"] in "SO" else "")


def _coarser(a, b):
    order = ["float64", "float32", "float16", "bfloat16"]
    return max(a, b, key=lambda d: order.index(d) if d in order else -1)


_INDEX_FAMILIES = {"argmax_argmin", "sort_topk", "unique_count", "index_ops", "all_any"}  # int results, no cast
_INT_RANGE = {"uint8": (0, 255), "int8": (-128, 127), "int16": (-2 ** 15, 2 ** 15 - 1),
              "int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1)}


def _floats_in(x):
    if is_T(x):
        if x[2] in FLOAT_DT:
            yield from np.asarray(x[1], dtype=np.float64).ravel()
    elif isinstance(x, float):
        yield x
    elif isinstance(x, (list, tuple)):
        for y in x:
            yield from _floats_in(y)
    elif isinstance(x, dict):
        for y in x.values():
            yield from _floats_in(y)


def _ub_cast(case, out):
    """True when every output is an integer tensor made from a float that is NaN, infinite or out of the
    integer's range: that conversion is undefined behaviour in C++, so its value is not compared."""
    ts = []

    def walk(o):
        if o["k"] == "T":
            ts.append(o["dtype"])
        elif o["k"] == "L":
            for y in o["v"]:
                walk(y)
    walk(out)
    if not ts or any(d not in _INT_RANGE for d in ts) or case["family"] in _INDEX_FAMILIES:
        return False
    lo = max(_INT_RANGE[d][0] for d in ts)
    hi = min(_INT_RANGE[d][1] for d in ts)
    return any(not math.isfinite(v) or v < lo or v > hi for v in _floats_in([case["args"], case["kwargs"]]))


def classify(case, t, f):
    """(class, detail) or None."""
    if "crash" in f:
        return "crash", f["crash"]
    if "timeout" in f:
        return "timeout", f["timeout"]
    if "crash" in t or "timeout" in t:
        return None  # PyTorch itself died: not ferrotorch's disagreement (reported in the log)
    if "build_error" in f or "build_error" in t:
        e = f.get("build_error") or t.get("build_error")
        if e["base"] == "fuzzer":
            return None
        if "build_error" in t and "build_error" in f:
            return None
        return "accept_vs_reject", f"building inputs: torch {t.get('build_error')}, ft {f.get('build_error')}"
    fe, te = f.get("exc"), t.get("exc")
    if fe and "internal error" in fe["msg"].lower():
        return "internal_error", f"{fe['type']}: {fe['msg']}"
    if fe and fe["type"] == "AttributeError" and f"attribute '{case['call'].rsplit('.', 1)[-1].split(':')[-1]}'" in fe["msg"]:
        return "missing_op", f"{fe['type']}: {fe['msg'][:160]}"
    if bool(fe) != bool(te):
        if te:
            return "accept_vs_reject", f"torch raises {te['type']}: {te['msg'][:200]}; ft returns"
        return "accept_vs_reject", f"torch returns; ft raises {fe['type']}: {fe['msg'][:200]}"
    if te:
        if te["base"] != fe["base"]:
            return "exc_type", f"torch {te['type']}, ft {fe['type']}: {fe['msg'][:160]}"
        return None
    values = not (case["random"] or case.get("dup_unspecified") or case.get("value_unspecified")
                  or _ub_cast(case, t["out"]))
    r = _cmp_out(t["out"], f["out"], values, loose=10.0 if case["family"] == "norm_layers" else 1.0)
    if r:
        return r
    if case["random"] or case.get("dup_unspecified"):
        return None
    tg, fg = t.get("grad"), f.get("grad")
    if tg is None and fg is None:
        return None
    if (tg is None) != (fg is None):
        return "grad", f"grad record only on {'torch' if tg else 'ft'} side"
    if tg["req"] != fg["req"]:
        return "grad", f"requires_grad of the float outputs: torch {tg['req']}, ft {fg['req']}"
    if ("exc" in tg) != ("exc" in fg):
        e = tg.get("exc") or fg.get("exc")
        return "grad", f"backward raises only on {'torch' if 'exc' in tg else 'ft'}: {e['type']}: {e['msg'][:160]}"
    if "grads" in tg and not case.get("grad_unspecified"):
        loose = 30.0 if case["family"] == "norm_layers" else 10.0  # 1/sqrt(var + eps) amplifies rounding
        for i, (x, y) in enumerate(zip(tg["grads"], fg["grads"])):
            if (x is None) != (y is None):
                return "grad", f"leaf {i}.grad: torch {'None' if x is None else 'tensor'}, ft {'None' if y is None else 'tensor'}"
            if x is None:
                continue
            if x["dtype"] != y["dtype"] or x["shape"] != y["shape"]:
                return "grad", f"leaf {i}.grad: torch {x['dtype']}{tuple(x['shape'])}, ft {y['dtype']}{tuple(y['shape'])}"
            d = _cmp_arrays(x["v"], y["v"], _coarser(x["dtype"], tg.get("odt", x["dtype"])), loose=loose)
            if d:
                return "grad", f"leaf {i}.grad: {d}"
    return None


# ====================================================================== reproducers
def _lit(v, f32=False):
    if isinstance(v, float):
        if f32 and math.isfinite(v):
            return str(np.float32(v))
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_lit(x, f32) for x in v) + "]"
    return repr(v)


class _Src:
    def __init__(self):
        self.lines = []
        self.n = 0
        self.leaves = []

    def tensor(self, spec, nonleaf=False):
        _, arr, dt, layout, grad, shape = spec
        name = "abcdefghijklmnopqrstuvwxyz"[self.n % 26] + ("" if self.n < 26 else str(self.n // 26))
        self.n += 1
        data = arr
        if layout == "t":
            data = np.swapaxes(arr, -1, -2)
        elif layout == "s":
            data = np.zeros((arr.shape[0] * 2,) + arr.shape[1:], dtype=arr.dtype)
            data[::2] = arr
        f32 = data.dtype == np.float32
        lst = _lit(data.tolist(), f32) if data.ndim else _lit(data.item(), f32)
        rg = ", requires_grad=True" if grad else ""
        view = {"t": ".transpose(-1, -2)", "s": "[::2]", "e": f".expand({', '.join(map(str, shape))})",
                "c": ""}[layout]
        if grad:
            self.leaves.append(name)
            self.lines.append(f"{name} = torch.tensor({lst}, dtype=torch.{dt}{rg})")
            if nonleaf or view:
                self.lines.append(f"{name}_ = ({name} * 1){view}" if nonleaf else f"{name}_ = {name}{view}")
                return name + "_"
            return name
        self.lines.append(f"{name} = torch.tensor({lst}, dtype=torch.{dt}){view}")
        return name

    def arg(self, v, sub=False, nonleaf=False):
        if is_T(v):
            return self.tensor(v, nonleaf)
        if isinstance(v, tuple) and len(v) == 2 and v[0] == "__DT__":
            return "torch." + v[1]
        if isinstance(v, slice):
            if sub:
                s = ("" if v.start is None else str(v.start)) + ":" + ("" if v.stop is None else str(v.stop))
                return s + ("" if v.step is None else ":" + str(v.step))
            return f"slice({v.start}, {v.stop}, {v.step})"
        if v is Ellipsis:
            return "..."
        if isinstance(v, list):
            return "[" + ", ".join(self.arg(x) for x in v) + "]"
        if isinstance(v, tuple):
            if sub:
                return ", ".join(self.arg(x, sub=True) for x in v) + ("," if len(v) == 1 else "")
            return "(" + ", ".join(self.arg(x) for x in v) + ("," if len(v) == 1 else "") + ")"
        return _lit(v)


_OPSYM = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%", "pow": "**",
          "and_": "&", "or_": "|", "xor": "^", "lshift": "<<", "rshift": ">>", "lt": "<", "le": "<=", "gt": ">",
          "ge": ">=", "eq": "==", "ne": "!=", "matmul": "@"}


def reproducer(case, t=None, f=None):
    s = _Src()
    kind, name = case["call"].split(":", 1)
    if name in ("getitem", "setitem"):  # the index is rendered inside the brackets
        args = [s.arg(case["args"][0], nonleaf=case["inplace"]), None] + [s.arg(a) for a in case["args"][2:]]
    else:
        args = [s.arg(a, nonleaf=(i == 0 and case["inplace"])) for i, a in enumerate(case["args"])]
    kws = [f"{k}={s.arg(v)}" for k, v in case["kwargs"].items()]
    if kind == "fn":
        call = f"out = torch.{name}({', '.join(args + kws)})"
    elif kind == "meth":
        call = f"out = {args[0]}.{name}({', '.join(args[1:] + kws)})"
    elif kind == "op":
        if name in ("neg", "invert", "abs", "pos"):
            call = "out = " + {"neg": "-", "invert": "~", "abs": "abs(", "pos": "+"}[name] + args[0] + \
                   (")" if name == "abs" else "")
        elif name not in _OPSYM:  # in-place operator: iadd, iand, ...
            sym = _OPSYM.get(name[1:]) or _OPSYM[name[1:] + "_"]
            call = f"{args[0]} {sym}= {args[1]}; out = {args[0]}"
        else:
            call = f"out = {args[0]} {_OPSYM[name]} {args[1]}"
    elif name == "getitem":
        call = f"out = {args[0]}[{s.arg(case['args'][1], sub=True)}]"
    elif name == "setitem":
        call = f"{args[0]}[{s.arg(case['args'][1], sub=True)}] = {args[2]}; out = {args[0]}"
    elif name == "attr":
        call = f"out = {args[0]}.{case['args'][1]}"
    else:
        call = f"out = {args[0]}.expand({args[1]}).clone()"
    lines = ["import ferrotorch as torch  # or: import torch", "from math import inf, nan"] + s.lines + [call]
    post = {"values": "out = out[0]", "values0": "out = out[0]", "svd_s": "out = out[1]",
            "qr_sign": "# compared after making diag(R) >= 0", "with_args12": "# also compares running stats"}
    if case["post"]:
        lines.append(post[case["post"]])
    lines.append("print(out)")
    if s.leaves and t is not None and "grad" in t and any(t["grad"]["req"]):
        lines.append("import numpy as np")
        lines.append("def w(o, k):  # the fuzzer's fixed weights for float output k")
        lines.append(f"    rng = np.random.default_rng(({case['id']} + 1000003 * k) * 7919 + 17)")
        lines.append("    return torch.tensor(rng.uniform(0.5, 1.5, tuple(o.shape)) * "
                     "np.where(rng.random(tuple(o.shape)) < 0.3, -1.0, 1.0)).to(o.dtype)")
        outs = "[out]" if t["out"]["k"] == "T" else "[o for o in out if o.dtype.is_floating_point]"
        lines.append(f"loss = sum((o * w(o, k)).sum() for k, o in enumerate({outs}) if o.requires_grad)")
        lines.append(f"loss.backward(); print({', '.join(l + '.grad' for l in s.leaves)})")
    if t is not None:
        lines.append("# torch: " + outcome(t))
        lines.append("# ft:    " + outcome(f))
    return "\n".join(lines)


def outcome(r):
    if r is None:
        return "?"
    for k in ("crash", "timeout"):
        if k in r:
            return f"{k.upper()} {r[k][:200]}"
    e = r.get("exc") or r.get("build_error")
    if e:
        return f"{e['type']}: {e['msg'][:200]}"
    s = _short(r["out"])
    g = r.get("grad")
    if g and "grads" in g:
        s += "; grads " + ", ".join("None" if x is None else _short(x) for x in g["grads"])
    elif g and "exc" in g:
        s += f"; backward {g['exc']['type']}: {g['exc']['msg'][:120]}"
    elif g:
        s += f"; requires_grad={g['req']}"
    return s


def _short(o):
    if o["k"] == "T":
        v = o["v"]
        vs = v if isinstance(v, str) else np.array2string(np.asarray(v), threshold=12, edgeitems=3,
                                                         max_line_width=10 ** 6).replace("\n", "")
        return f"{o['dtype']}{tuple(o['shape'])} {vs}"
    if o["k"] == "L":
        return "(" + ", ".join(_short(x) for x in o["v"]) + ")"
    if o["k"] == "S":
        return f"{o['t']} {o['v']!r}"
    return o["t"]


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    if isinstance(x, (np.generic,)):
        return _jsonable(x.item())
    return x


# ====================================================================== driver
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", choices=["torch", "ferrotorch"], help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-n", "--calls", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--ops", default=None, help="regex on op family names (see --list)")
    ap.add_argument("--list", action="store_true", help="list op families and their weights")
    ap.add_argument("--show", type=int, default=3, help="reproducers per class (one per op)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--case", default=None, help="SEED:ID, run and show a single case")
    ap.add_argument("--case-timeout", type=float, default=30.0)
    ap.add_argument("--torch-python", default=os.path.expanduser("~/tref/bin/python"))
    ap.add_argument("--ft-python", default=os.path.join(REPO, ".venv", "bin", "python"))
    a = ap.parse_args()
    if a.worker:
        return worker_main(a.worker)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if a.list:
        for name, w, _, _ in fuzz_ops.OPS:
            print(f"{name:28s} {w}")
        return 0

    if a.case:
        seed, i = map(int, a.case.split(":"))
        c = fuzz_ops.make_case(seed, i)
        tw, fw = Worker(a.torch_python, "torch", a.case_timeout), Worker(a.ft_python, "ferrotorch", a.case_timeout)
        t, f = run_robust(tw, [c], log)[i], run_robust(fw, [c], log)[i]
        tw.close()
        fw.close()
        print(reproducer(c, t, f))
        print("# class:", classify(c, t, f))
        return 0

    rx = re.compile(a.ops) if a.ops else None
    filt = None
    if rx:
        names = {o[0] for o in fuzz_ops.OPS}
        filt = lambda fam: bool(rx.search(fam))  # noqa: E731
        if not any(filt(n) for n in names):
            sys.exit(f"--ops {a.ops!r} matches no family; families: {sorted(names)}")
    t0 = time.time()
    cases = [fuzz_ops.make_case(a.seed, i, filt) for i in range(a.calls)]
    batches = [cases[i:i + a.batch] for i in range(0, len(cases), a.batch)]
    results = {}
    done = [0]
    lock = threading.Lock()

    local = threading.local()
    workers = []

    def one(batch):
        if not hasattr(local, "torch"):
            local.torch = Worker(a.torch_python, "torch", a.case_timeout)  # persistent: import torch is slow
            workers.append(local.torch)
        t = run_robust(local.torch, batch, log)
        fw = Worker(a.ft_python, "ferrotorch", a.case_timeout)  # fresh per batch: no state carried over
        try:
            f = run_robust(fw, batch, log)
        finally:
            fw.close()
        with lock:
            for c in batch:
                results[c["id"]] = (c, t.get(c["id"]), f.get(c["id"]))
            done[0] += len(batch)
            log(f"  {done[0]}/{len(cases)} calls, {time.time() - t0:.0f}s")

    with ThreadPoolExecutor(a.jobs) as ex:
        list(ex.map(one, batches))
    for w in workers:
        w.close()

    # ---------------------------------------------------------------- classify
    dis = []
    per_op = collections.Counter()
    accepted = 0
    fuzzer_errors = []
    for i in range(len(cases)):
        c, t, f = results[i]
        per_op[c["op"]] += 1
        if t and "exc" not in t and "build_error" not in t and "crash" not in t:
            accepted += 1
        for r, side in ((t, "torch"), (f, "ft")):
            if r and r.get("build_error", {}).get("base") == "fuzzer":
                fuzzer_errors.append((c["id"], side, r["build_error"]["msg"]))
        if t and ("crash" in t or "timeout" in t):
            log(f"PyTorch died on case {i} ({c['op']}): {t.get('crash') or t.get('timeout')}")
        try:
            cl = classify(c, t or {}, f or {"crash": "no record"})
        except Exception:  # noqa: BLE001
            fuzzer_errors.append((c["id"], "compare", traceback.format_exc()[-300:]))
            continue
        if cl:
            dis.append({"id": i, "op": c["op"], "family": c["family"], "class": cl[0], "detail": cl[1],
                        "case": c, "torch": t, "ft": f})

    n = len(cases)
    by_class = collections.Counter(d["class"] for d in dis)
    print(f"\n# fuzz_vs_torch: seed {a.seed}, {n} calls, {time.time() - t0:.0f}s; "
          f"PyTorch accepted {accepted} ({100 * accepted / max(n, 1):.1f}%)")
    print(f"# command: python scripts/fuzz_vs_torch.py -n {a.calls} --seed {a.seed}"
          + (f" --ops '{a.ops}'" if a.ops else ""))
    if fuzzer_errors:
        print(f"# {len(fuzzer_errors)} fuzzer errors (bug in the fuzzer, not counted), e.g. {fuzzer_errors[0]}")
    print("\n| class | calls | % of calls |\n|---|---:|---:|")
    for k in CLASSES:
        print(f"| {k} | {by_class[k]} | {100 * by_class[k] / max(n, 1):.3f}% |")
    tot = len(dis)
    print(f"| **total disagreements** | {tot} | {100 * tot / max(n, 1):.3f}% |")

    print("\n## Per op (ops with disagreements)\n")
    by_op = collections.defaultdict(collections.Counter)
    for d in dis:
        by_op[d["op"]][d["class"]] += 1
    print("| op | calls | disagreements | by class |\n|---|---:|---:|---|")
    for o, cnt in sorted(by_op.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"| {o} | {per_op[o]} | {sum(cnt.values())} | "
              + ", ".join(f"{k} {v}" for k, v in cnt.most_common()) + " |")

    print("\n## Reproducers (smallest per class and op)\n")
    groups = collections.defaultdict(list)
    for d in dis:
        groups[(d["class"], d["op"])].append(d)
    for k in CLASSES:
        keys = sorted((g for g in groups if g[0] == k), key=lambda g: -len(groups[g]))
        if not keys:
            continue
        print(f"### {k} ({by_class[k]} calls, {len(keys)} ops)\n")
        for g in keys[:a.show] if a.show >= 0 else keys:
            items = groups[g]
            srcs = [(reproducer(d["case"], d["torch"], d["ft"]), d) for d in items[:50]]
            src, d = min(srcs, key=lambda sd: len(sd[0]))
            print(f"#### {g[1]}: {len(items)} calls (case {a.seed}:{d['id']})\n{d['detail'][:300]}\n```python\n{src}\n```\n")
        if len(keys) > a.show >= 0:
            print(f"(and {len(keys) - a.show} more ops: " + ", ".join(f"{g[1]} {len(groups[g])}" for g in keys[a.show:]) + ")\n")

    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"seed": a.seed, "calls": n, "by_class": dict(by_class),
                       "disagreements": [_jsonable({"id": d["id"], "op": d["op"], "class": d["class"],
                                                    "detail": d["detail"], "torch": outcome(d["torch"]),
                                                    "ft": outcome(d["ft"]),
                                                    "repro": reproducer(d["case"], d["torch"], d["ft"])})
                                         for d in dis]}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
