#!/usr/bin/env python3
"""Record PyTorch's results for the ops that have native Rust kernels (tests/test_native_kernels.py).

Usage (needs real PyTorch; CI does not, it only reads the recorded file):
    ~/tref/bin/python scripts/record_native_cases.py [--out tests/data/native_kernels.npz]

With a fixed seed it builds small random cases over conv{1,2,3}d / conv_transpose{1,2,3}d,
F.layer_norm, F.gelu, F.nll_loss / F.cross_entropy (class-index targets), F.max_pool{2,3}d,
F.linear, nn.RNNCell, softmax / log_softmax, transposing copies (t() / permute() + contiguous()),
sums over leading dims, F.batch_norm (training / eval, running stats recorded after the call) and
F.scaled_dot_product_attention (4-D, causal, bool / float masks), runs each in PyTorch and stores,
in ONE compressed npz:

    meta                      0-d str array: JSON {"torch_version", "seed", "cases": [...]}
    <case id>__<tensor name>  inputs (names listed in the case's "args" / "tensors")
    <case id>__out<k>         outputs (values; the indices of max_pool ... return_indices=True)
    <case id>__r              random weights r (dtype and shape of out0)
    <case id>__grad__<name>   d sum(out0 * r) / d <name> for every float input that requires grad
    <case id>__after__<name>  an input the op updates in place, after the call (see "mutated")

A case's JSON entry:
    id, family, op        op: "F.<name>" (called as F.<name>(*args, **kwargs)), "rnn_cell",
                          "t_contiguous", "permute_contiguous", "sum"
    args                  ordered tensor names for the positional arguments (null = None)
    kwargs                keyword arguments (a "dtype" value is a dtype name string)
    views                 {name: [[kind, ...], ...]} views applied to a leaf before the call
                          ("t", ["transpose", d0, d1], ["permute", dims], ["slice", [[start, stop, step], ...]])
    bits                  {name: "bfloat16"}: the array holds the raw int16 bits of that dtype
    grad                  names of the inputs differentiated (leaves, before views)
    n_out, out_bits       number of outputs; per output the bit-dtype (bfloat16) or null
    grad_fn               out0.grad_fn.name() (null when nothing requires grad)
    tol                   optional looser float32 absolute tolerance {"atol": ...} (only GELU's negative
                          tail, where PyTorch's own float32 result cancels; see gelu_cases)
    r_quant               true: r holds multiples of 1/8 (the larger "quant" cases: exact sums, compact file);
                          "coarse": r holds multiples of 1/2 in [-1, 1] (a large batch_norm case: compact file)
    mutated               inputs the op updates in place (batch_norm's running stats); their values after
                          the call are stored as <case id>__after__<name>

Besides small random shapes (batch 1, odd sizes, groups, NaN/inf where PyTorch's result is defined,
non-contiguous inputs via "views", zero-size inputs) a few larger cases use exactly summable values
(quant) to reach the kernels' tiled / threaded paths (conv over samples and threaded GEMM, column
sums over > 64 rows and > 1024 columns, transposing copies >= 32x32 and >= 2^15 elements, batch
norm over >= 2^15 elements, attention over several 64-row query blocks).

The families added later (batch_norm, sdpa) draw their inputs from their own random streams
(see isolated()), so the cases recorded before them keep byte-identical inputs and r.
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

SEED = 20260213
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

rng = np.random.default_rng(SEED)
CASES = []          # (meta dict, {name: np.ndarray})
_counter = {}


def randn(*shape, dtype=np.float32, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def quant(*shape, dtype=np.float32):
    """Multiples of 1/8 in [-2, 2]: sums of their products are exact in float32 for the sizes used
    here, so the larger cases (which reach the threaded / blocked kernel paths) hold exact values
    whatever the summation order, and the npz compresses them well."""
    return np.clip(np.round(rng.standard_normal(shape) * 6) / 8, -2, 2).astype(dtype)


def uniform(lo, hi, *shape, dtype=np.float32):
    return rng.uniform(lo, hi, shape).astype(dtype)


def add(family, op, tensors, args=None, kwargs=None, grad=None, views=None, bits=None, tol=None, note=None,
        kw_tensors=None, r_quant=False, mutated=None):
    """tensors: ordered {name: array}; args: positional tensor names (default: all, in order)."""
    n = _counter.get(family, 0)
    _counter[family] = n + 1
    cid = f"{family}_{n:03d}"
    if args is None:
        args = list(tensors)
    if grad is None:  # every float input (that is not stored as raw bits)
        grad = [k for k, v in tensors.items() if v.dtype.kind == "f" and not (bits and k in bits)]
    meta = dict(id=cid, family=family, op=op, args=args, kw_tensors=kw_tensors or [], kwargs=kwargs or {},
                views=views or {}, bits=bits or {}, grad=grad)
    if tol:
        meta["tol"] = tol
    if r_quant:
        meta["r_quant"] = r_quant
    if note:
        meta["note"] = note
    if mutated:
        meta["mutated"] = list(mutated)
    CASES.append((meta, dict(tensors)))


# --------------------------------------------------------------------------- replay (PyTorch side)

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
          "float64": torch.float64, "int8": torch.int8, "uint8": torch.uint8, "int16": torch.int16,
          "int32": torch.int32, "int64": torch.int64, "bool": torch.bool}


def apply_views(t, views):
    for v in views:
        if v == "t":
            t = t.t()
        elif v[0] == "transpose":
            t = t.transpose(v[1], v[2])
        elif v[0] == "permute":
            t = t.permute(*v[1])
        elif v[0] == "slice":
            t = t[tuple(slice(*s) for s in v[1])]
        else:
            raise ValueError(v)
    return t


def to_np(t):
    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().copy()
    return t.numpy().copy()


def run(meta, arrays):
    leaves = {}
    for name, a in arrays.items():
        t = torch.from_numpy(np.array(a))
        if name in meta["bits"]:
            t = t.view(DTYPES[meta["bits"][name]])
        if name in meta["grad"]:
            t.requires_grad_(True)
        leaves[name] = t
    ts = {k: apply_views(v, meta["views"].get(k, [])) for k, v in leaves.items()}
    kw = dict(meta["kwargs"])
    if "dtype" in kw:
        kw["dtype"] = DTYPES[kw["dtype"]]
    op = meta["op"]
    params = {}
    if op.startswith("F."):
        kw.update({k: ts[k] for k in meta["kw_tensors"]})
        out = getattr(F, op[2:])(*[None if a is None else ts[a] for a in meta["args"]], **kw)
    elif op == "rnn_cell":
        x = ts["input"]
        cell = torch.nn.RNNCell(x.shape[-1], ts["weight_ih"].shape[0], bias="bias_ih" in ts,
                                nonlinearity=kw["nonlinearity"]).to(x.dtype)
        with torch.no_grad():
            for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                if p in ts:
                    getattr(cell, p).copy_(ts[p])
        params = {p: getattr(cell, p) for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if p in ts}
        out = cell(x, ts.get("hx"))
    elif op == "t_contiguous":
        out = ts["input"].t().contiguous()
    elif op == "permute_contiguous":
        out = ts["input"].permute(*kw["dims"]).contiguous()
    elif op == "sum":
        out = ts["input"].sum(dim=kw["dim"], keepdim=kw.get("keepdim", False))
    else:
        raise ValueError(op)
    outs = list(out) if isinstance(out, tuple) else [out]
    res = {f"out{k}": to_np(o) for k, o in enumerate(outs)}
    for name in meta.get("mutated", []):  # inputs the op updates in place (batch_norm's running stats)
        res[f"after__{name}"] = to_np(leaves[name])
    meta["n_out"] = len(outs)
    meta["out_bits"] = ["bfloat16" if o.dtype == torch.bfloat16 else None for o in outs]
    main = outs[0]
    meta["grad_fn"] = main.grad_fn.name() if main.grad_fn is not None else None
    # an RNNCell's parameters (copied from the leaves) receive the gradients
    wrt = [(p, params.get(p, leaves[p])) for p in meta["grad"]]
    if wrt:
        assert main.requires_grad, meta["id"]
        if meta.get("r_quant") == "coarse":
            r = torch.from_numpy(rng.integers(-2, 3, size=tuple(main.shape)) / 2).to(main.dtype)
        elif meta.get("r_quant"):  # exactly summable gradients (and a compact npz) for quant cases
            r = torch.from_numpy(quant(*main.shape, dtype=np.float64)).to(main.dtype)
        else:
            r = torch.from_numpy(rng.standard_normal(tuple(main.shape))).to(main.dtype)
        res["r"] = to_np(r)
        grads = torch.autograd.grad((main * r).sum(), [t for _, t in wrt])
        for (p, _), g in zip(wrt, grads):
            res[f"grad__{p}"] = to_np(g)
    return res


# --------------------------------------------------------------------------- cases

def conv_cases():
    f32, f64 = np.float32, np.float64
    # (op, x shape, w shape, bias, kwargs, dtype)
    specs = [
        ("conv1d", (2, 4, 9), (6, 4, 3), True, {}, f32),
        ("conv1d", (1, 3, 10), (4, 3, 4), False, dict(stride=2, padding=1), f32),
        ("conv1d", (2, 4, 11), (4, 2, 3), True, dict(padding="same", dilation=2, groups=2), f32),
        ("conv1d", (3, 6, 8), (6, 1, 3), True, dict(padding="valid", groups=6), f64),
        ("conv1d", (1, 2, 7), (3, 2, 5), True, dict(stride=3, padding=2), f64),
        ("conv1d", (2, 3, 8), (2, 3, 4), True, dict(padding="same"), f32),  # even kernel: asymmetric pad
        ("conv1d", (3, 8), (2, 3, 3), True, dict(padding=1), f32),          # unbatched
        ("conv1d", (2, 6, 13), (9, 2, 3), False, dict(stride=2, padding=3, dilation=3, groups=3), f64),
        ("conv2d", (2, 3, 7, 6), (4, 3, 3, 3), True, {}, f32),
        ("conv2d", (1, 4, 9, 8), (6, 2, 3, 3), True, dict(stride=2, padding=1, groups=2), f32),
        ("conv2d", (2, 3, 8, 9), (5, 3, 2, 3), False, dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1)), f32),
        ("conv2d", (1, 6, 7, 7), (6, 1, 3, 3), True, dict(padding="same", groups=6, dilation=2), f32),
        ("conv2d", (3, 2, 5, 5), (4, 2, 1, 1), True, {}, f64),
        ("conv2d", (2, 4, 6, 7), (6, 2, 3, 2), True, dict(stride=(1, 2), padding="valid", groups=2), f64),
        ("conv2d", (1, 1, 11, 10), (1, 1, 5, 5), True, dict(padding=2, stride=3), f32),
        ("conv2d", (4, 6, 6), (4, 2, 3, 3), True, dict(padding=1, groups=2), f32),  # unbatched
        ("conv2d", (2, 3, 6, 5), (2, 3, 4, 2), False, dict(padding="same", dilation=(1, 2)), f64),
        ("conv2d", (1, 8, 5, 5), (8, 2, 3, 3), True, dict(padding=(0, 1), groups=4), f32),
        ("conv3d", (1, 2, 5, 5, 4), (3, 2, 3, 3, 3), True, {}, f32),
        ("conv3d", (2, 4, 5, 6, 5), (4, 2, 3, 2, 3), True, dict(stride=2, padding=1, groups=2), f32),
        ("conv3d", (1, 3, 6, 5, 6), (2, 3, 2, 2, 2), False, dict(dilation=2, padding=(1, 0, 1)), f64),
        ("conv3d", (1, 2, 4, 5, 4), (2, 2, 3, 3, 3), True, dict(padding="same"), f64),
        ("conv3d", (2, 3, 4, 4, 4), (3, 1, 1, 2, 3), True, dict(stride=(1, 2, 1), groups=3), f32),
        # transposed: weight (C_in, C_out / groups, *k)
        ("conv_transpose1d", (2, 4, 6), (4, 3, 3), True, {}, f32),
        ("conv_transpose1d", (1, 4, 5), (4, 2, 4), True, dict(stride=2, padding=1, output_padding=1, groups=2), f32),
        ("conv_transpose1d", (2, 3, 7), (3, 2, 3), False, dict(stride=3, padding=2, dilation=2, output_padding=2), f64),
        ("conv_transpose1d", (3, 5), (3, 2, 2), True, dict(stride=2), f32),  # unbatched
        ("conv_transpose1d", (1, 6, 4), (6, 1, 5), True, dict(padding=2, groups=6, dilation=1), f64),
        ("conv_transpose2d", (2, 3, 4, 5), (3, 2, 3, 3), True, {}, f32),
        ("conv_transpose2d", (1, 4, 5, 4), (4, 3, 3, 3), True, dict(stride=2, padding=1, output_padding=1, groups=2), f32),
        ("conv_transpose2d", (2, 2, 3, 4), (2, 3, 2, 3), False, dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2)), f32),
        ("conv_transpose2d", (1, 3, 4, 4), (3, 2, 3, 2), True, dict(dilation=(2, 1), padding=1, stride=2, output_padding=(1, 0)), f64),
        ("conv_transpose2d", (3, 6, 3, 3), (6, 1, 3, 3), True, dict(groups=6, stride=2, padding=1), f64),
        ("conv_transpose2d", (2, 5, 5), (2, 3, 3, 3), True, dict(stride=2, output_padding=1), f32),  # unbatched
        ("conv_transpose2d", (1, 2, 5, 6), (2, 4, 1, 1), True, dict(stride=(1, 2)), f32),
        ("conv_transpose3d", (1, 2, 3, 4, 3), (2, 3, 3, 3, 3), True, {}, f32),
        ("conv_transpose3d", (2, 4, 3, 3, 3), (4, 1, 2, 3, 2), True, dict(stride=2, padding=1, output_padding=1, groups=2), f32),
        ("conv_transpose3d", (1, 2, 3, 3, 4), (2, 2, 2, 2, 2), False, dict(stride=(1, 2, 3), dilation=2, output_padding=(0, 1, 2)), f64),
        ("conv_transpose3d", (1, 3, 2, 3, 3), (3, 2, 3, 3, 3), True, dict(padding=(1, 0, 1), stride=(2, 1, 1), output_padding=(1, 0, 0)), f64),
    ]
    for op, xs, ws, bias, kw, dt in specs:
        if op.startswith("conv_transpose"):
            cout = ws[1] * kw.get("groups", 1)
        else:
            cout = ws[0]
        t = {"input": randn(*xs, dtype=dt), "weight": randn(*ws, dtype=dt, scale=0.5)}
        if bias:
            t["bias"] = randn(cout, dtype=dt)
        add("conv", "F." + op, t, args=["input", "weight", "bias" if bias else None], kwargs=kw)
    # pointwise (1x1, stride 1, no padding: the kernels skip im2col)
    add("conv", "F.conv2d", {"input": randn(2, 6, 3, 5), "weight": randn(4, 3, 1, 1), "bias": randn(4)},
        kwargs=dict(groups=2))
    add("conv", "F.conv1d", {"input": randn(1, 3, 7, dtype=np.float64), "weight": randn(5, 3, 1, dtype=np.float64)},
        args=["input", "weight", None])
    add("conv", "F.conv_transpose2d", {"input": randn(2, 4, 3, 4), "weight": randn(4, 3, 1, 1), "bias": randn(3)})
    # larger, exactly summable (quant) cases reaching the threaded paths: samples across the pool
    # (n >= 2 and >= 2^20 multiply-adds), a threaded GEMM for one sample (>= 2^21), and the
    # transposed convolution's (input-gradient kernel's) sample-parallel path
    add("conv", "F.conv2d", {"input": quant(4, 8, 18, 18), "weight": quant(16, 8, 3, 3), "bias": quant(16)}, r_quant=True)
    add("conv", "F.conv2d", {"input": quant(1, 16, 24, 24), "weight": quant(32, 16, 3, 3)},
        args=["input", "weight", None], kwargs=dict(padding=1), r_quant=True)
    add("conv", "F.conv_transpose2d", {"input": quant(4, 16, 16, 16), "weight": quant(16, 8, 3, 3), "bias": quant(8)}, r_quant=True)
    # non-contiguous input and weight
    x = randn(2, 7, 3, 6)  # used as permute(0, 2, 1, 3) -> (2, 3, 7, 6)
    w = randn(3, 4, 3, 3, dtype=np.float32, scale=0.5)  # used as transpose(0, 1) -> (4, 3, 3, 3)
    add("conv", "F.conv2d", {"input": x, "weight": w, "bias": randn(4)}, kwargs=dict(padding=1),
        views={"input": [["permute", [0, 2, 1, 3]]], "weight": [["transpose", 0, 1]]})
    x = randn(1, 3, 5, 4)  # conv_transpose2d on a transposed (H <-> W) input
    add("conv", "F.conv_transpose2d", {"input": x, "weight": randn(3, 2, 3, 3, scale=0.5)},
        args=["input", "weight", None], kwargs=dict(stride=2), views={"input": [["transpose", 2, 3]]})
    # NaN / inf in the input propagate through every window that covers them
    x = randn(1, 2, 6, 6)
    x[0, 0, 1, 2] = np.nan
    x[0, 1, 4, 4] = np.inf
    add("conv", "F.conv2d", {"input": x, "weight": randn(3, 2, 3, 3, scale=0.5), "bias": randn(3)},
        kwargs=dict(stride=2, padding=1))
    x = randn(1, 2, 5)
    x[0, 1, 2] = np.nan
    add("conv", "F.conv1d", {"input": x, "weight": randn(2, 2, 3, dtype=np.float32, scale=0.5)},
        args=["input", "weight", None], kwargs=dict(padding=1), grad=["input"])


def layer_norm_cases():
    f32, f64 = np.float32, np.float64
    specs = [  # x shape, normalized_shape, weight, bias, eps, dtype
        ((2, 3, 5), (5,), True, True, 1e-5, f32),
        ((4, 6), (6,), False, False, 1e-5, f32),
        ((2, 3, 4), (3, 4), True, True, 1e-5, f64),
        ((1, 7), (7,), True, False, 1e-3, f32),
        ((3, 2, 2, 5), (2, 5), False, True, 1e-6, f64),
        ((6,), (6,), True, True, 1e-5, f32),
        ((5, 1), (1,), True, True, 1e-5, f64),
        ((2, 33), (33,), True, True, 1e-5, f32),
        ((3, 4, 5), (4, 5), True, True, 1e-5, f32),
        ((2, 9), (9,), True, True, 0.1, f64),
    ]
    for xs, ns, w, b, eps, dt in specs:
        t = {"input": randn(*xs, dtype=dt)}
        if w:
            t["weight"] = randn(*ns, dtype=dt)
        if b:
            t["bias"] = randn(*ns, dtype=dt)
        add("layer_norm", "F.layer_norm", t, args=["input"], kwargs=dict(normalized_shape=list(ns), eps=eps),
            kw_tensors=[k for k in ("weight", "bias") if k in t])
    # constant rows (variance 0) and a large offset (float64)
    x = randn(3, 6)
    x[1] = 2.5
    add("layer_norm", "F.layer_norm", {"input": x, "weight": randn(6), "bias": randn(6)},
        args=["input"], kwargs=dict(normalized_shape=[6]), kw_tensors=["weight", "bias"])
    x = randn(4, 8, dtype=f64) + 1000.0
    add("layer_norm", "F.layer_norm", {"input": x, "weight": randn(8, dtype=f64)}, args=["input"],
        kwargs=dict(normalized_shape=[8]), kw_tensors=["weight"])
    # a float32 row with one huge (but squarable) element: finite, well-defined output
    x = randn(2, 9)
    x[0, 2] = 1e18
    add("layer_norm", "F.layer_norm", {"input": x}, args=["input"], kwargs=dict(normalized_shape=[9]))
    # Not recorded on purpose: rows where x * x overflows float32 (|x| > 1.8e19). PyTorch 2.13's own
    # result there is an artifact of its code path: [0.5, -1, 3e19, 2, .25] gives all 0 (Welford
    # variance inf -> rstd 0), with 1e20 it gives NaN for rows shorter than 8 and 0 for longer ones,
    # while the true (float64) output is finite. Likewise no float32 rows with a large common offset:
    # PyTorch's float32 statistics lose ~1e-5 (offset 300) to 1e-3 (offset 1e4) there.
    # non-contiguous input
    x = randn(5, 2, 4)  # transpose(0, 1) -> (2, 5, 4)
    add("layer_norm", "F.layer_norm", {"input": x, "weight": randn(4), "bias": randn(4)}, args=["input"],
        kwargs=dict(normalized_shape=[4]), views={"input": [["transpose", 0, 1]]}, kw_tensors=["weight", "bias"])


def gelu_cases():
    # In float32 PyTorch evaluates x/2 * (1 + erf(x/sqrt2)) (or 1 + tanh(.)) directly: in the negative
    # tail 1 + erf cancels, and its results (and gradients) there are off from the exact values by up
    # to ~5e-7 absolute (measured against float64) while being ~0; an implementation that is more
    # accurate there differs by that much, so those float32 cases carry atol 3e-6.
    tail = {"atol": 3e-6}
    for approx in ("none", "tanh"):
        for dt in (np.float32, np.float64):
            t32 = tail if dt == np.float32 else None
            add("gelu", "F.gelu", {"input": randn(3, 7, dtype=dt, scale=2.0)}, kwargs=dict(approximate=approx), tol=t32)
            # the negative tail
            add("gelu", "F.gelu", {"input": uniform(-12, -2, 2, 9, dtype=dt)}, kwargs=dict(approximate=approx), tol=t32)
        x = uniform(-4, 4, 1, 11, dtype=np.float32)
        x[0, 3] = np.nan
        x[0, 5] = 0.0
        add("gelu", "F.gelu", {"input": x}, kwargs=dict(approximate=approx), tol=tail)
        x = randn(4, 3, 5, dtype=np.float32, scale=3.0)  # non-contiguous
        add("gelu", "F.gelu", {"input": x}, kwargs=dict(approximate=approx), views={"input": [["transpose", 0, 2]]},
            tol=tail)
    add("gelu", "F.gelu", {"input": randn(1, dtype=np.float64)}, kwargs={})
    add("gelu", "F.gelu", {"input": uniform(2, 12, 13, dtype=np.float32)}, kwargs=dict(approximate="tanh"))


def loss_cases():
    f32, f64 = np.float32, np.float64

    def targets(shape, C, ignore=None, n_ignore=0):
        t = np.asarray(rng.integers(0, C, size=shape), dtype=np.int64)
        if n_ignore:
            flat = t.reshape(-1)
            flat[rng.choice(flat.size, n_ignore, replace=False)] = ignore
        return t

    specs = [  # op, x shape, C, dtype, kwargs, weight, ignore count
        ("nll_loss", (5, 4), 4, f32, {}, False, 0),
        ("nll_loss", (5, 4), 4, f64, dict(reduction="sum"), True, 0),
        ("nll_loss", (6, 3), 3, f32, dict(reduction="none"), True, 2),
        ("nll_loss", (4, 5), 5, f64, dict(ignore_index=2), True, 0),
        ("nll_loss", (2, 3, 4), 3, f32, {}, True, 1),
        ("nll_loss", (2, 4, 3, 2), 4, f64, dict(reduction="none"), False, 0),
        ("nll_loss", (1, 3, 2, 2, 3), 3, f32, dict(reduction="sum"), True, 3),
        ("nll_loss", (1, 6), 6, f32, {}, False, 0),
        ("nll_loss", (5,), 5, f64, {}, True, 0),  # unbatched: 0-d target
        ("cross_entropy", (5, 4), 4, f32, {}, False, 0),
        ("cross_entropy", (4, 6), 6, f64, dict(reduction="sum"), True, 0),
        ("cross_entropy", (6, 3), 3, f32, dict(reduction="none"), True, 2),
        ("cross_entropy", (3, 5), 5, f64, dict(ignore_index=1), False, 0),
        ("cross_entropy", (2, 3, 5), 3, f32, {}, True, 2),
        ("cross_entropy", (2, 4, 3, 3), 4, f64, dict(reduction="none"), True, 1),
        ("cross_entropy", (1, 3, 2, 3, 2), 3, f32, {}, False, 0),
        ("cross_entropy", (1, 7), 7, f32, dict(reduction="sum"), False, 0),
        ("cross_entropy", (4,), 4, f32, {}, False, 0),  # unbatched
        ("cross_entropy", (5, 4), 4, f32, dict(label_smoothing=0.1), False, 0),
        ("cross_entropy", (5, 4), 4, f64, dict(label_smoothing=0.3), True, 1),
        ("cross_entropy", (6, 3), 3, f32, dict(label_smoothing=0.2, reduction="none"), True, 2),
        ("cross_entropy", (4, 5), 5, f64, dict(label_smoothing=0.15, reduction="sum"), True, 1),
        ("cross_entropy", (2, 3, 2, 3), 3, f32, dict(label_smoothing=0.25), True, 2),
        ("cross_entropy", (2, 4, 5), 4, f64, dict(label_smoothing=0.05, reduction="none", ignore_index=3), False, 0),
        ("cross_entropy", (3, 6), 6, f32, dict(label_smoothing=1.0), False, 0),
    ]
    for op, xs, C, dt, kw, weighted, n_ign in specs:
        x = randn(*xs, dtype=dt, scale=1.5)
        if op == "nll_loss":
            x = x - 2.0  # log-probability-like
        tshape = (xs[0],) + xs[2:] if len(xs) > 1 else ()
        ign = kw.get("ignore_index", -100)
        t = {"input": x, "target": targets(tshape, C, ign, n_ign)}
        args = ["input", "target"]
        if weighted:
            t["weight"] = uniform(0.2, 2.0, C, dtype=dt)
            args.append("weight")
        add("loss", "F." + op, t, args=args, kwargs=kw, grad=["input"])
    # every target ignored: mean reduction is 0 / 0 = NaN in PyTorch
    add("loss", "F.nll_loss", {"input": randn(3, 4), "target": np.full(3, -100, np.int64)}, grad=["input"])
    add("loss", "F.cross_entropy", {"input": randn(2, 3, dtype=f64), "target": np.array([1, 1]),
                                    "weight": uniform(0.5, 1.5, 3, dtype=f64)},
        kwargs=dict(ignore_index=1), grad=["input"])
    # -inf logits on non-target classes (a masked class) are fine without smoothing
    x = randn(4, 5)
    x[:, 2] = -np.inf
    x[1, 4] = -np.inf
    add("loss", "F.cross_entropy", {"input": x, "target": np.array([0, 1, 3, 4])}, grad=["input"])
    add("loss", "F.cross_entropy", {"input": x.copy(), "target": np.array([0, 1, 3, 4])},
        kwargs=dict(reduction="none"), grad=["input"])
    # non-contiguous logits
    x = randn(5, 3)  # t() -> (3, 5)
    add("loss", "F.cross_entropy", {"input": x, "target": np.array([4, 0, 2])}, views={"input": ["t"]},
        grad=["input"])
    x = randn(4, 6, dtype=f64)
    add("loss", "F.nll_loss", {"input": x, "target": np.array([3, 0, 1, 2, 3, 0])}, views={"input": ["t"]},
        kwargs=dict(reduction="sum"), grad=["input"])


def maxpool_cases():
    f32, f64 = np.float32, np.float64
    specs = [  # op, x shape, kwargs, dtype
        ("max_pool2d", (2, 3, 6, 6), dict(kernel_size=2), f32),
        ("max_pool2d", (1, 2, 7, 7), dict(kernel_size=3, stride=2, padding=1, return_indices=True), f32),
        ("max_pool2d", (2, 2, 9, 8), dict(kernel_size=2, dilation=2, return_indices=True), f64),
        ("max_pool2d", (1, 3, 7, 5), dict(kernel_size=2, ceil_mode=True, return_indices=True), f32),
        ("max_pool2d", (2, 1, 8, 9), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), ceil_mode=True), f64),
        ("max_pool2d", (3, 5, 5), dict(kernel_size=3, stride=1, padding=1, return_indices=True), f32),  # unbatched
        ("max_pool2d", (1, 1, 10, 11), dict(kernel_size=3, stride=3, dilation=(1, 2), ceil_mode=True, return_indices=True), f32),
        ("max_pool2d", (2, 4, 4, 4), dict(kernel_size=4, return_indices=True), f64),
        ("max_pool2d", (1, 2, 6, 7), dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 0), return_indices=True), f32),
        ("max_pool3d", (1, 2, 4, 4, 4), dict(kernel_size=2, return_indices=True), f32),
        ("max_pool3d", (2, 1, 5, 6, 5), dict(kernel_size=3, stride=2, padding=1, return_indices=True), f64),
        ("max_pool3d", (1, 2, 7, 5, 6), dict(kernel_size=(2, 3, 2), stride=(2, 1, 2), dilation=(2, 1, 1), ceil_mode=True, return_indices=True), f32),
        ("max_pool3d", (2, 3, 3, 3), dict(kernel_size=2, stride=1), f32),  # unbatched
        ("max_pool3d", (1, 1, 5, 5, 5), dict(kernel_size=2, ceil_mode=True, return_indices=True), f64),
        ("max_pool3d", (1, 2, 4, 6, 5), dict(kernel_size=3, stride=(1, 2, 2), padding=(1, 1, 0), return_indices=True), f32),
    ]
    for op, xs, kw, dt in specs:
        add("max_pool", "F." + op, {"input": randn(*xs, dtype=dt)}, kwargs=kw)
    # NaN: a window holding a NaN yields NaN and the NaN's index (two NaNs in one window: PyTorch's pick)
    x = randn(1, 2, 6, 6)
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 4, 2] = np.nan
    x[0, 0, 4, 3] = np.nan
    x[0, 1, 0, 5] = np.nan
    add("max_pool", "F.max_pool2d", {"input": x}, kwargs=dict(kernel_size=2, return_indices=True))
    x = randn(1, 1, 7, 7, dtype=f64)
    x[0, 0, 3, 3] = np.nan  # shared by overlapping windows
    x[0, 0, 0, 0] = -np.inf
    x[0, 0, 6, 6] = np.inf
    add("max_pool", "F.max_pool2d", {"input": x}, kwargs=dict(kernel_size=3, stride=2, padding=1, return_indices=True))
    x = randn(1, 1, 4, 4, 4)
    x[0, 0, 1, 2, 3] = np.nan
    x[0, 0, 0, 0, 0] = np.nan
    add("max_pool", "F.max_pool3d", {"input": x}, kwargs=dict(kernel_size=2, return_indices=True))
    # windows that are all -inf
    x = np.full((1, 1, 4, 4), -np.inf, np.float32)
    x[0, 0, 2:, 2:] = randn(2, 2)
    add("max_pool", "F.max_pool2d", {"input": x}, kwargs=dict(kernel_size=2, return_indices=True))
    # ties: PyTorch keeps the first maximum of each window
    x = rng.integers(0, 3, size=(1, 2, 6, 6)).astype(np.float32)
    add("max_pool", "F.max_pool2d", {"input": x}, kwargs=dict(kernel_size=3, stride=1, return_indices=True))
    x = rng.integers(0, 2, size=(1, 1, 4, 4, 4)).astype(np.float64)
    add("max_pool", "F.max_pool3d", {"input": x}, kwargs=dict(kernel_size=2, stride=1, return_indices=True))
    # non-contiguous (channels-last storage)
    x = randn(2, 6, 5, 3)  # permute(0, 3, 1, 2) -> (2, 3, 6, 5)
    add("max_pool", "F.max_pool2d", {"input": x}, kwargs=dict(kernel_size=2, stride=2, ceil_mode=True, return_indices=True),
        views={"input": [["permute", [0, 3, 1, 2]]]})


def linear_cases():
    f32, f64 = np.float32, np.float64
    specs = [  # x shape, out features, bias, dtype
        ((4, 5), 3, True, f32),
        ((4, 5), 3, False, f32),
        ((2, 3, 5), 4, True, f32),
        ((2, 3, 5), 4, False, f64),
        ((2, 1, 3, 6), 2, True, f64),
        ((1, 7), 5, True, f32),
        ((5,), 3, True, f32),
        ((6,), 2, False, f64),
        ((3, 9), 1, True, f64),
        ((17, 33), 11, True, f32),
    ]
    for xs, o, b, dt in specs:
        t = {"input": randn(*xs, dtype=dt), "weight": randn(o, xs[-1], dtype=dt, scale=0.5)}
        if b:
            t["bias"] = randn(o, dtype=dt)
        add("linear", "F.linear", t, args=["input", "weight", "bias" if b else None])
    # >= 2^18 multiply-adds: the row-parallel product (exactly summable values)
    add("linear", "F.linear", {"input": quant(64, 64), "weight": quant(65, 64), "bias": quant(65)}, r_quant=True)
    # weight stored transposed (as in x @ W.T with a column-major W) and a transposed input
    add("linear", "F.linear", {"input": randn(4, 6), "weight": randn(6, 3), "bias": randn(3)},
        views={"weight": ["t"]})
    add("linear", "F.linear", {"input": randn(5, 3, dtype=f64), "weight": randn(2, 5, dtype=f64)},
        args=["input", "weight", None], views={"input": ["t"]})


def rnn_cases():
    specs = [  # batch (None: unbatched), in, hidden, bias, nonlinearity, hx given, dtype
        (3, 4, 5, True, "tanh", True, np.float32),
        (3, 4, 5, False, "tanh", True, np.float32),
        (2, 3, 4, True, "relu", True, np.float32),
        (2, 3, 4, False, "relu", True, np.float64),
        (1, 6, 3, True, "tanh", False, np.float64),
        (None, 4, 3, True, "tanh", True, np.float32),
        (None, 2, 5, True, "relu", False, np.float64),
        (4, 5, 2, True, "tanh", True, np.float64),
    ]
    for batch, i, h, bias, nl, hx, dt in specs:
        lead = () if batch is None else (batch,)
        t = {"input": randn(*lead, i, dtype=dt)}
        if hx:
            t["hx"] = randn(*lead, h, dtype=dt)
        t["weight_ih"] = randn(h, i, dtype=dt, scale=0.6)
        t["weight_hh"] = randn(h, h, dtype=dt, scale=0.6)
        if bias:
            t["bias_ih"] = randn(h, dtype=dt, scale=0.5)
            t["bias_hh"] = randn(h, dtype=dt, scale=0.5)
        add("rnn_cell", "rnn_cell", t, args=[], kwargs=dict(nonlinearity=nl))


def softmax_cases():
    f32, f64 = np.float32, np.float64
    specs = [  # op, shape, dim, dtype, kwargs-dtype
        ("softmax", (3, 5), 1, f32, None),
        ("log_softmax", (3, 5), 1, f32, None),
        ("softmax", (4, 3), 0, f64, None),
        ("log_softmax", (4, 3), 0, f64, None),
        ("softmax", (2, 5, 3), 1, f32, None),
        ("log_softmax", (2, 3, 4, 5), -1, f64, None),
        ("softmax", (7,), 0, f32, None),
        ("log_softmax", (1, 1), 1, f32, None),
        ("softmax", (2, 3), 1, f32, "float64"),
        ("log_softmax", (2, 6), -1, f32, "float64"),
        ("softmax", (3, 40), -1, f32, None),
        ("log_softmax", (2, 4, 3), 2, f32, None),
    ]
    for op, shape, dim, dt, kdt in specs:
        kw = dict(dim=dim)
        if kdt:
            kw["dtype"] = kdt
        add("softmax", "F." + op, {"input": randn(*shape, dtype=dt, scale=2.0)}, kwargs=kw)
    # masked (-inf) entries, a fully masked row (NaN) and large logits
    for op in ("softmax", "log_softmax"):
        x = randn(3, 4)
        x[0, 1] = -np.inf
        x[2, :] = -np.inf
        add("softmax", "F." + op, {"input": x}, kwargs=dict(dim=1))
        add("softmax", "F." + op, {"input": randn(2, 5, dtype=f32, scale=1.0) * 1e4}, kwargs=dict(dim=-1))
        add("softmax", "F." + op, {"input": randn(5, 3, dtype=f64)}, kwargs=dict(dim=1), views={"input": ["t"]})
    x = randn(2, 4)
    x[1, 2] = np.nan
    add("softmax", "F.softmax", {"input": x}, kwargs=dict(dim=1))


def transpose_cases():
    def sample(dt, *shape):
        if dt == "bool":
            return rng.integers(0, 2, size=shape).astype(np.bool_)
        if dt in ("int8", "uint8", "int16", "int32", "int64"):
            info = np.iinfo(dt)
            return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)
        if dt == "bfloat16":  # raw bits of random bfloat16 values
            return (randn(*shape).view(np.uint32) >> 16).astype(np.uint16).view(np.int16)
        return randn(*shape, dtype=dt)

    dts = ["float16", "bfloat16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"]
    shapes2 = [(37, 53), (1, 9), (64, 33), (5, 1), (40, 17), (3, 70), (31, 31), (16, 64), (2, 45), (29, 8)]
    for dt, shape in zip(dts, shapes2):
        bits = {"input": "bfloat16"} if dt == "bfloat16" else None
        grad = ["input"] if dt.startswith("float") or dt == "bfloat16" else []
        add("transpose", "t_contiguous", {"input": sample(dt, *shape)}, bits=bits, grad=grad)
    perms = [((4, 5, 6), [2, 0, 1]), ((3, 17, 19), [0, 2, 1]), ((2, 3, 4, 5), [0, 2, 3, 1]), ((6, 1, 7), [1, 2, 0]),
             ((2, 9, 3, 4), [3, 2, 1, 0]), ((8, 5, 33), [2, 1, 0]), ((3, 4, 2, 5), [0, 3, 1, 2]),
             ((5, 6, 7), [1, 0, 2]), ((2, 2, 3, 3), [0, 1, 3, 2]), ((7, 6, 5), [2, 0, 1])]
    for dt, (shape, perm) in zip(dts, perms):
        bits = {"input": "bfloat16"} if dt == "bfloat16" else None
        grad = ["input"] if dt.startswith("float") or dt == "bfloat16" else []
        add("transpose", "permute_contiguous", {"input": sample(dt, *shape)}, kwargs=dict(dims=perm), bits=bits, grad=grad)
    # the tiled kernel (destination rows and cols >= 32; 64-wide tiles, ragged edges; 8x8 AVX blocks
    # for 4-byte types) for every element size, batched, from sliced sources, and across the pool
    tiled = [("float16", (33, 70)), ("bfloat16", (70, 40)), ("float32", (45, 70)), ("float64", (66, 33)),
             ("int8", (40, 67)), ("uint8", (97, 35)), ("int16", (33, 65)), ("int32", (70, 41)),
             ("int64", (35, 66)), ("bool", (64, 64))]
    for dt, shape in tiled:
        bits = {"input": "bfloat16"} if dt == "bfloat16" else None
        grad = ["input"] if dt.startswith("float") or dt == "bfloat16" else []
        add("transpose", "t_contiguous", {"input": sample(dt, *shape)}, bits=bits, grad=grad)
    add("transpose", "permute_contiguous", {"input": quant(2, 40, 35)}, kwargs=dict(dims=[0, 2, 1]), r_quant=True)
    add("transpose", "permute_contiguous", {"input": sample("int32", 33, 3, 40)}, kwargs=dict(dims=[1, 2, 0]))
    add("transpose", "permute_contiguous", {"input": sample("int16", 2, 3, 33, 34)}, kwargs=dict(dims=[1, 0, 3, 2]))
    add("transpose", "t_contiguous", {"input": quant(75, 60, dtype=np.float64)},
        views={"input": [["slice", [[3, 72, 1], [5, 59, 1]]]]}, r_quant=True)
    add("transpose", "permute_contiguous", {"input": quant(40, 3, 50)}, kwargs=dict(dims=[1, 2, 0]),
        views={"input": [["slice", [[1, 37, 1], [0, 3, 1], [2, 48, 1]]]]}, r_quant=True)
    add("transpose", "t_contiguous", {"input": sample("int8", 190, 181)})  # >= 2^15 elements: threaded
    # strided (sliced) sources, NaN/inf carried through a float copy
    add("transpose", "t_contiguous", {"input": sample("float32", 20, 30)},
        views={"input": [["slice", [[1, 19, 2], [0, 30, 3]]]]})
    add("transpose", "permute_contiguous", {"input": sample("int64", 6, 8, 10)}, kwargs=dict(dims=[2, 0, 1]),
        views={"input": [["slice", [[0, 6, 1], [1, 8, 2], [0, 10, 1]]]]}, grad=[])
    x = randn(9, 11)
    x[2, 3], x[4, 7], x[8, 0] = np.nan, np.inf, -np.inf
    add("transpose", "t_contiguous", {"input": x})
    add("transpose", "permute_contiguous", {"input": sample("float64", 4, 1, 6, 5)}, kwargs=dict(dims=[3, 1, 0, 2]))


def sum_cases():
    specs = [  # shape, dim, keepdim, dtype
        ((1, 5), 0, False, np.float32),
        ((5, 1), 0, False, np.float32),
        ((7, 33), 0, False, np.float32),
        ((300, 17), 0, False, np.float32),
        ((3, 4, 5), 0, False, np.float32),
        ((3, 4, 5), (0, 1), False, np.float32),
        ((6, 2, 3, 7), 0, True, np.float32),
        ((64, 65), 0, False, np.float32),
        ((9, 10), 0, False, np.float64),
        ((2, 3, 1, 4), (0, 1), True, np.float32),
    ]
    for shape, dim, keep, dt in specs:
        add("sum", "sum", {"input": randn(*shape, dtype=dt)}, kwargs=dict(dim=dim, keepdim=keep))
    # column sums: > 64 rows (f32 blocks summed in f64), > 1024 columns (column chunks), and a
    # threaded one (>= 2^15 elements and > 1024 columns); exactly summable values
    add("sum", "sum", {"input": quant(130, 7)}, kwargs=dict(dim=0), r_quant=True)
    add("sum", "sum", {"input": quant(3, 1100)}, kwargs=dict(dim=0), r_quant=True)
    add("sum", "sum", {"input": quant(40, 1030)}, kwargs=dict(dim=0), r_quant=True)
    add("sum", "sum", {"input": randn(2, 70, 9)}, kwargs=dict(dim=(0, 1)))
    x = randn(6, 5)
    x[2, 1], x[3, 3], x[0, 4], x[5, 4] = np.nan, np.inf, np.inf, -np.inf
    add("sum", "sum", {"input": x}, kwargs=dict(dim=0))
    add("sum", "sum", {"input": randn(4, 7)}, kwargs=dict(dim=0), views={"input": ["t"]})


def empty_cases():
    """Zero-size inputs (batch 0, an empty reduction, in_features 0), one per op family."""
    z = lambda *shape, dtype=np.float32: np.zeros(shape, dtype)  # noqa: E731
    add("conv", "F.conv2d", {"input": z(0, 2, 5, 5), "weight": randn(3, 2, 3, 3), "bias": randn(3)})
    add("conv", "F.conv_transpose2d", {"input": z(0, 2, 4, 4), "weight": randn(2, 3, 3, 3)},
        args=["input", "weight", None], kwargs=dict(stride=2))
    add("max_pool", "F.max_pool2d", {"input": z(0, 2, 4, 4)}, kwargs=dict(kernel_size=2, return_indices=True))
    add("layer_norm", "F.layer_norm", {"input": z(0, 4), "weight": randn(4), "bias": randn(4)}, args=["input"],
        kwargs=dict(normalized_shape=[4]), kw_tensors=["weight", "bias"])
    add("gelu", "F.gelu", {"input": z(0, 3)})
    add("linear", "F.linear", {"input": z(0, 4), "weight": randn(3, 4), "bias": randn(3)})
    add("linear", "F.linear", {"input": z(2, 0), "weight": z(3, 0), "bias": randn(3)})  # in_features 0: bias
    add("rnn_cell", "rnn_cell", {"input": z(0, 3), "hx": z(0, 2), "weight_ih": randn(2, 3), "weight_hh": randn(2, 2),
                                 "bias_ih": randn(2), "bias_hh": randn(2)}, args=[], kwargs=dict(nonlinearity="tanh"))
    add("softmax", "F.softmax", {"input": z(0, 5)}, kwargs=dict(dim=1))
    add("softmax", "F.log_softmax", {"input": z(3, 0)}, kwargs=dict(dim=1))
    add("loss", "F.cross_entropy", {"input": z(0, 3), "target": np.zeros(0, np.int64)}, grad=["input"])  # mean: NaN
    add("loss", "F.nll_loss", {"input": z(0, 3), "target": np.zeros(0, np.int64)}, kwargs=dict(reduction="sum"),
        grad=["input"])
    add("transpose", "t_contiguous", {"input": z(0, 5)})
    add("transpose", "permute_contiguous", {"input": np.zeros((2, 0, 3), np.int32)}, kwargs=dict(dims=[2, 0, 1]))
    add("sum", "sum", {"input": z(0, 5)}, kwargs=dict(dim=0))
    add("sum", "sum", {"input": z(0, 3, 4)}, kwargs=dict(dim=(0, 1)))


def batch_norm_cases():
    """F.batch_norm: training (batch statistics; the running stats passed in are updated in place
    with momentum and the unbiased variance, recorded after the call as after__<name>) and eval
    (running statistics), [N, C] to [N, C, D, H, W]."""
    f32, f64 = np.float32, np.float64
    specs = [  # x shape, dtype, training, weight, bias, running stats, kwargs
        ((8, 3), f32, True, True, True, True, {}),
        ((5, 4), f64, False, True, True, True, {}),
        ((16, 5), f64, True, False, False, True, dict(momentum=0.25)),
        ((4, 6), f32, True, True, True, False, {}),  # no running stats: batch statistics only
        ((2, 1), f32, True, True, True, True, {}),   # 2 values per channel
        ((4, 3, 7), f32, True, True, False, True, dict(eps=1e-3)),
        ((2, 5, 9), f32, False, False, True, True, {}),
        ((3, 2, 11), f64, True, True, True, True, dict(momentum=0.3, eps=1e-3)),
        ((1, 4, 6), f64, True, False, True, False, {}),
        ((2, 3, 5, 6), f32, True, True, True, True, {}),
        ((3, 4, 4, 4), f64, False, True, True, True, dict(eps=0.1)),
        ((1, 2, 7, 9), f32, True, True, True, True, dict(momentum=1.0)),
        ((4, 8, 3, 3), f64, True, False, False, True, {}),
        ((2, 3, 6, 5), f32, False, False, False, True, {}),
        ((3, 33, 2, 2), f32, True, True, True, True, dict(momentum=0.0)),
        ((2, 3, 3, 4, 5), f32, True, True, True, True, {}),
        ((1, 2, 3, 3, 3), f64, False, True, True, True, {}),
        ((2, 2, 4, 3, 2), f64, True, True, False, True, dict(momentum=0.5)),
        ((1, 3, 2, 2, 2), f32, True, False, False, False, {}),
    ]
    for xs, dt, train, w, b, stats, kw in specs:
        C = xs[1]
        t = {"input": randn(*xs, dtype=dt, scale=2.0) + randn(1, C, *([1] * (len(xs) - 2)), dtype=dt)}
        if stats:
            t["running_mean"] = randn(C, dtype=dt, scale=0.5)
            t["running_var"] = uniform(0.5, 2.0, C, dtype=dt)
        if w:
            t["weight"] = randn(C, dtype=dt)
        if b:
            t["bias"] = randn(C, dtype=dt)
        args = ["input"] + [k if k in t else None for k in ("running_mean", "running_var", "weight", "bias")]
        add("batch_norm", "F.batch_norm", t, args=args, kwargs=dict(training=train, **kw),
            grad=[k for k in ("input", "weight", "bias") if k in t],
            mutated=["running_mean", "running_var"] if stats else None)

    def bn(x, train, C=None, views=None, **kw):
        C = C or x.shape[1]
        dt = x.dtype.type
        t = {"input": x, "running_mean": randn(C, dtype=dt, scale=0.5), "running_var": uniform(0.5, 2.0, C, dtype=dt),
             "weight": randn(C, dtype=dt), "bias": randn(C, dtype=dt)}
        add("batch_norm", "F.batch_norm", t, args=["input", "running_mean", "running_var", "weight", "bias"],
            kwargs=dict(training=train, **kw), grad=["input", "weight", "bias"], views=views,
            mutated=["running_mean", "running_var"])

    # a constant channel (batch variance 0: output = bias, running_var moves towards 0)
    x = randn(4, 3, 5)
    x[:, 1, :] = 1.25
    bn(x, True)
    # a large common offset (float64)
    bn(randn(6, 2, 4, dtype=f64) + 1000.0, True)
    # NaN in one channel: that channel's output, running stats and input gradient are NaN
    x = randn(3, 3, 4)
    x[1, 2, 3] = np.nan
    bn(x, True)
    x = randn(2, 3, 4, dtype=f64)
    x[0, 0, 1] = np.inf
    bn(x, False)
    # non-contiguous (channels-last storage): (N, H, W, C) permuted to (N, C, H, W)
    bn(randn(2, 5, 4, 3), True, C=3, views={"input": [["permute", [0, 3, 1, 2]]]})
    bn(randn(3, 4, 5, dtype=f64), False, C=5, views={"input": [["transpose", 1, 2]]})
    # >= 2^15 elements: the kernels' channel- / plane-parallel paths. Three values per channel
    # (-1/2, 0, 1/2 plus a channel offset) and r in {-1, -1/2, 0, 1/2, 1} keep the npz small.
    x = (rng.integers(-1, 2, size=(8, 16, 16, 16)) / 2 + rng.integers(-4, 5, size=(1, 16, 1, 1)) / 4).astype(f32)
    t = {"input": x, "running_mean": quant(16), "running_var": uniform(0.5, 2.0, 16, dtype=f32),
         "weight": quant(16), "bias": quant(16)}
    add("batch_norm", "F.batch_norm", t, args=["input", "running_mean", "running_var", "weight", "bias"],
        kwargs=dict(training=True), grad=["input", "weight", "bias"], mutated=["running_mean", "running_var"],
        r_quant="coarse")


def sdpa_cases():
    """F.scaled_dot_product_attention, 4-D q [B, H, L, E], k [B, H, S, E], v [B, H, S, Ev]."""
    f32, f64 = np.float32, np.float64

    def case(B, H, L, S, E, Ev, dt, mask=None, mask_grad=False, views=None, q=None, **kw):
        t = {"query": randn(B, H, L, E, dtype=dt) if q is None else q,
             "key": randn(B, H, S, E, dtype=dt), "value": randn(B, H, S, Ev, dtype=dt)}
        if views:  # stored as [B, L, H, E] (the MHA layout), viewed as [B, H, L, E]
            for n in t:
                t[n] = np.ascontiguousarray(np.swapaxes(t[n], 1, 2))
        grad = ["query", "key", "value"]
        if mask is not None:
            t["attn_mask"] = mask
            if mask_grad:
                grad.append("attn_mask")
        add("sdpa", "F.scaled_dot_product_attention", t, args=["query", "key", "value"], kwargs=kw,
            kw_tensors=["attn_mask"] if mask is not None else [], grad=grad,
            views={n: [["transpose", 1, 2]] for n in ("query", "key", "value")} if views else None)

    def bmask(*shape, p=0.3):
        return rng.random(shape) >= p

    def fmask(*shape, dt=f32, p=0.2, q=False):
        m = quant(*shape, dtype=dt) if q else randn(*shape, dtype=dt)  # quant: a compact npz
        m[rng.random(shape) < p] = -np.inf
        return m

    # plain; E != Ev (PyTorch's math path); a custom scale; single query / key; a wide head
    case(2, 3, 5, 7, 4, 4, f32)
    case(1, 2, 6, 9, 4, 6, f32)
    case(1, 2, 8, 8, 8, 8, f64, scale=0.3)
    case(1, 1, 1, 1, 3, 3, f32)
    case(1, 1, 4, 5, 64, 64, f64)
    # causal (top-left aligned) with L != S, several 64-row query blocks
    case(1, 1, 100, 70, 8, 8, f32, is_causal=True)
    case(1, 1, 70, 130, 4, 4, f64, is_causal=True)
    case(1, 2, 130, 40, 4, 4, f32, is_causal=True)
    case(1, 1, 9, 5, 4, 6, f64, is_causal=True)
    case(2, 2, 5, 12, 8, 8, f32, is_causal=True, scale=0.5)
    case(1, 1, 129, 100, 4, 3, f32, is_causal=True)
    # boolean masks (True = attend), broadcast from [L, S], [B, 1, L, S], [B, H, L, S], [1, S], [B, 1, 1, S];
    # rows with every key masked out (PyTorch 2.13 returns 0 there)
    m = bmask(7, 6)
    m[2] = False
    case(2, 2, 7, 6, 4, 4, f32, mask=m)
    m = bmask(2, 1, 70, 24)
    m[1, 0, 65] = False
    case(2, 1, 70, 24, 4, 4, f32, mask=m)
    m = bmask(1, 2, 66, 9)
    m[0, 1, 3] = False
    case(1, 2, 66, 9, 4, 6, f32, mask=m)
    case(1, 2, 80, 33, 4, 4, f32, mask=bmask(1, 33))
    m = bmask(2, 1, 1, 11)
    m[1] = False  # the second batch entry sees no key at all
    case(2, 2, 6, 11, 4, 4, f64, mask=m)
    # float (additive) masks that do not require grad: PyTorch keeps its flash kernel
    case(2, 3, 6, 7, 4, 4, f32, mask=fmask(6, 7))
    case(2, 1, 90, 40, 4, 4, f32, mask=fmask(2, 1, 90, 40, q=True))
    # a 3-D [H, L, S] mask (float or bool, any B) sends PyTorch to its math path (UnsafeViewBackward0)
    case(1, 3, 5, 8, 4, 4, f32, mask=fmask(3, 5, 8))
    m = fmask(7, 5, dt=f64)
    m[0] = -np.inf
    m[4] = -np.inf
    case(2, 2, 7, 5, 4, 4, f64, mask=m)
    # float masks that require grad: PyTorch differentiates the mask (and takes its math path)
    case(2, 2, 6, 7, 4, 4, f32, mask=fmask(6, 7), mask_grad=True)
    case(2, 2, 5, 40, 4, 4, f64, mask=fmask(2, 2, 5, 40, dt=f64, q=True), mask_grad=True)
    case(1, 2, 8, 6, 4, 3, f32, mask=fmask(1, 1, 1, 6), mask_grad=True)
    # NaN: a NaN or +inf mask entry makes its row NaN; a NaN query makes its row NaN (and every
    # key / value gradient of that batch entry). The NaN query is float64 on purpose: PyTorch 2.13's
    # float32 CPU flash kernel returns 0 for that row (as for a fully masked one) while its float64
    # kernel and its math path return NaN, and its float32 gradients are NaN there all the same.
    m = randn(5, 6)
    m[1, 2] = np.nan
    case(1, 2, 5, 6, 4, 4, f32, mask=m)
    m = randn(4, 6, dtype=f64)
    m[3, 0] = np.inf
    case(2, 1, 4, 6, 4, 4, f64, mask=m)
    q = randn(2, 1, 5, 4, dtype=f64)
    q[1, 0, 2, 1] = np.nan
    case(2, 1, 5, 6, 4, 4, f64, q=q)
    # non-contiguous q / k / v (stored [B, L, H, E], transposed to [B, H, L, E])
    case(2, 2, 70, 12, 4, 4, f32, views=True, is_causal=True)


def isolated(gen):
    """Run a case generator on its own random stream (seeded by SEED and its name), so adding
    families leaves the inputs and r of the cases recorded before them byte-identical."""
    global rng
    saved = rng
    rng = np.random.default_rng([SEED, sum(map(ord, gen.__name__))])
    try:
        gen()
    finally:
        rng = saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "native_kernels.npz"))
    a = ap.parse_args()
    torch.manual_seed(SEED)
    for gen in (conv_cases, layer_norm_cases, gelu_cases, loss_cases, maxpool_cases, linear_cases,
                rnn_cases, softmax_cases, transpose_cases, sum_cases, empty_cases):
        gen()
    # later families: each on its own stream (their r are still drawn from rng, after the older cases')
    for gen in (batch_norm_cases, sdpa_cases):
        isolated(gen)
    store, metas = {}, []
    for meta, arrays in CASES:
        res = run(meta, arrays)
        for k, v in arrays.items():
            store[f"{meta['id']}__{k}"] = v
        for k, v in res.items():
            store[f"{meta['id']}__{k}"] = v
        metas.append(meta)
    store["meta"] = np.array(json.dumps(dict(torch_version=torch.__version__, seed=SEED, cases=metas)))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    np.savez_compressed(a.out, **store)
    fams = {}
    for m in metas:
        fams[m["family"]] = fams.get(m["family"], 0) + 1
    print(f"{len(metas)} cases -> {a.out} ({os.path.getsize(a.out) / 1024:.0f} KiB): {fams}")


if __name__ == "__main__":
    main()
