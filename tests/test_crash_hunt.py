"""Crash hunt (issue 7), runs in CI without PyTorch.

Hypothesis draws random op calls (shapes from 0-d and 0-size up to 5 dims, all 10 dtypes,
NaN/inf/-0.0/extreme values, transposed/stepped/offset/expanded inputs, dims and indices in
and out of range, huge sizes) and crafted checkpoint files.  Every call is a line of Python
code, so a failure prints a reproducer you can paste.  Allowed outcomes: a result that can be
read back, or an exception of a type PyTorch raises (RuntimeError and subclasses, IndexError,
TypeError, ValueError, NotImplementedError; ``pickle.UnpicklingError`` for checkpoints) whose
message does not say "internal error".  A few rules are stricter where PyTorch's behaviour is
fixed (out-of-range index -> IndexError, huge size -> RuntimeError, ...).

Each hunt runs in a child process (address space capped, so a huge allocation fails rather
than swaps) so a segfault, an abort or a hang fails the test with the case that caused it
instead of killing pytest; after a crash the child restarts past that case, so one run lists
every problem, grouped by class.  Ops this build lacks (AttributeError naming the op) are
printed, not failed: the tables list PyTorch's ops so new ones get hunted.  The run is
reproducible: the seed is fixed (``CRASH_HUNT_SEED`` overrides it, ``CRASH_HUNT_EXAMPLES``
scales the number of examples per hunt) and printed with every failure.
"""
import io
import json
import os
import pickle
import re
import struct
import subprocess
import sys
import tempfile
import zipfile

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

import ferrotorch as torch
import ferrotorch.nn.functional as F

SEED = int(os.environ.get("CRASH_HUNT_SEED", "20261125"))
EXAMPLES = float(os.environ.get("CRASH_HUNT_EXAMPLES", "1"))  # multiplier
STALL_SECONDS = 15  # a case running this long is a hang, reported like a crash
MAX_RESTARTS = 12  # crashes collected per hunt before giving up
MEM_LIMIT = 16 << 30  # address-space limit of the child: a huge allocation must fail, not swap

ALLOWED = (RuntimeError, IndexError, TypeError, ValueError, NotImplementedError)
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
FLOAT_DTYPES = ["float16", "bfloat16", "float32", "float64"]
INT_RANGE = {"uint8": (0, 255), "int8": (-128, 127), "int16": (-(2 ** 15), 2 ** 15 - 1),
             "int32": (-(2 ** 31), 2 ** 31 - 1), "int64": (-(2 ** 63), 2 ** 63 - 1)}
HEADER = ("import ferrotorch as torch\nimport ferrotorch.nn.functional as F\n"
          "nan, inf = float('nan'), float('inf')\n")


# =========================================================================== outcome checks
def _exc_problem(e, allowed=ALLOWED):
    """Why an exception is not acceptable, or None."""
    t = type(e)
    name = f"{t.__module__}.{t.__qualname__}"
    if not isinstance(e, allowed):
        return f"raised {name} (not a type PyTorch raises here): {str(e)[:300]}"
    if t.__module__.split(".")[0] in ("numpy", "zipfile", "pyo3_runtime"):
        return f"raised {name} (a library's exception leaked): {str(e)[:300]}"
    if "internal error" in str(e).lower():
        return f"raised {name} with an internal error: {str(e)[:300]}"
    return None


def _read_back(r, what):
    """Read a result; return a problem string or None."""
    if isinstance(r, torch.Tensor):
        shape = tuple(int(s) for s in r.shape)
        n = 1
        for s in shape:
            n *= s
        if r.numel() != n:
            return f"{what}: numel() {r.numel()} != product of shape {shape}"
        if r.dim() != len(shape) or len(r.stride()) != len(shape):
            return f"{what}: dim() {r.dim()} / stride() {r.stride()} disagree with shape {shape}"
        if _list_cells(shape) <= 4096:
            lst = r.tolist()
            if not _list_matches(lst, shape):
                return f"{what}: tolist() gives {str(lst)[:80]}, which does not have shape {shape}"
        if n <= 1 << 20:
            r.sum()
        return None
    if isinstance(r, (tuple, list)):
        for i, v in enumerate(r[:64]):
            p = _read_back(v, f"{what}[{i}]")
            if p:
                return p
    return None


def _list_cells(shape):
    """How many list slots tolist() builds (a (2**31, 0) tensor is 2**31 empty lists)."""
    total, p = 0, 1
    for s in shape:
        p *= s
        total += p
        if p == 0:
            break
    return total


def _list_matches(lst, shape):
    if not shape:
        return isinstance(lst, (bool, int, float, complex))
    if not isinstance(lst, list) or len(lst) != shape[0]:
        return False
    return all(_list_matches(v, shape[1:]) for v in lst)


def check_case(case, ns=None, allowed=ALLOWED):
    """Run one case; return a problem string or None.

    A case is a dict: ``setup`` (statements building the inputs), ``expr`` (the call),
    ``expect``: None (any allowed outcome), "ok" (PyTorch returns a result) or the name(s) of
    the exception class PyTorch raises; optional ``equals`` (the value PyTorch returns) and
    ``pwned`` (a file that must not appear: code from a checkpoint ran)."""
    ns = dict(ns if ns is not None else _namespace())
    try:
        exec(case["setup"], ns)
    except BaseException as e:  # noqa: BLE001 - the setup uses plain ops and must work
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return f"building the inputs failed: {type(e).__name__}: {str(e)[:300]}"
    expect = case.get("expect")
    expect = [expect] if isinstance(expect, str) else expect
    try:
        r = eval(case["expr"], ns)
    except BaseException as e:  # noqa: BLE001 - a Rust panic (pyo3 PanicException) is a BaseException
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(e, AttributeError) and _missing_api(e, case["expr"]):
            return f"{MISSING}: {e}"
        if isinstance(e, AssertionError) and case["expr"].startswith("F."):
            allowed = allowed + (AssertionError,)  # PyTorch's nn.functional asserts some arguments
        if isinstance(e, OverflowError) and _beyond_int64(case["expr"]):
            allowed = allowed + (OverflowError,)  # PyTorch's argument parser raises it for such ints
        p = _exc_problem(e, allowed)
        if p is None and expect == ["ok"]:
            p = f"raised {type(e).__name__} where PyTorch returns a result: {str(e)[:200]}"
        elif p is None and expect and not any(c.__name__ in expect for c in type(e).__mro__):
            p = f"raised {type(e).__name__} where PyTorch raises {'/'.join(expect)}: {str(e)[:200]}"
        return p or _pwned(case)
    if expect and expect != ["ok"]:
        return f"returned a result where PyTorch raises {'/'.join(expect)}" + _summary(r)
    try:
        p = _read_back(r, "result")
        if p is None and isinstance(ns.get("x"), torch.Tensor):
            p = _read_back(ns["x"], "input x after the call")
        if p is None and "equals" in case and not _same(r, case["equals"]):
            p = f"returned {r!r}, PyTorch returns {case['equals']!r}"
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        p = f"reading the result raised {type(e).__name__}: {str(e)[:300]}"
    return p or _pwned(case)


MISSING = "missing API (not a crash)"


def _missing_api(e, expr):
    """An op this build lacks (the tables name ops PyTorch has, so they are hunted once added)."""
    m = re.search(r"(module '[\w.]+'|'[\w.]*Tensor' object) has no attribute '(\w+)'", str(e))
    return bool(m) and re.search(r"[.]%s\b" % m.group(2), expr) is not None


def _beyond_int64(code):
    return any(int(m) >= 2 ** 63 for m in re.findall(r"\d{19,}", code))


def _summary(r):
    if isinstance(r, torch.Tensor):
        return f" (shape {tuple(r.shape)}, stride {tuple(r.stride())}, dtype {r.dtype})"
    return f" ({type(r).__name__})"


def _same(a, b):
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)


def _pwned(case):
    if case.get("pwned") and os.path.exists(case["pwned"]):
        os.remove(case["pwned"])
        return "loading the checkpoint ran code from it"
    return None


def _namespace():
    return {"torch": torch, "F": F, "nan": float("nan"), "inf": float("inf"), "io": io, "struct": struct,
            "ckpt_tensor": ckpt_tensor, "ckpt_archive": ckpt_archive, "_pickle": _pickle, "_rebuild": _rebuild,
            "_G": _G, "_Call": _Call, "_PersId": _PersId, "F32_0_TO_5": F32_0_TO_5, "_valid_ckpt": _valid_ckpt,
            "CKPT_CODE_EXEC": CKPT_CODE_EXEC, "_write_tmp": _write_tmp}


# =========================================================================== input strategies
def _lit(v):
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
    return repr(v)


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


MAX_DIM_SIZE = {0: 1, 1: 8, 2: 5, 3: 4, 4: 3, 5: 2}


@st.composite
def shapes(draw, min_dims=0, max_dims=5, allow_zero=True):
    nd = draw(st.integers(min_dims, max_dims))
    lo = 0 if allow_zero and draw(st.integers(0, 5)) == 0 else 1
    return tuple(draw(st.integers(lo, MAX_DIM_SIZE[nd])) for _ in range(nd))


def values(dtype):
    if dtype == "bool":
        return st.booleans()
    if dtype in INT_RANGE:
        lo, hi = INT_RANGE[dtype]
        return st.one_of(st.integers(max(lo, -4), min(hi, 6)), st.sampled_from([lo, hi, lo + 1, hi - 1, 0]))
    big = {"float16": 65504.0, "bfloat16": 3.0e38, "float32": 3.4e38, "float64": 1.7e308}[dtype]
    return st.one_of(
        st.integers(-4, 6).map(float),
        st.floats(-10, 10, allow_nan=False, width=32).map(lambda v: round(v, 3)),
        st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 0.0, big, -big, 1e-30, 0.5, -2.5]),
    )


@st.composite
def tensors(draw, shape=None, dtype=None, name="x", layouts=True):
    """(code line, shape, dtype) of a tensor built from a literal, maybe as a strided view."""
    if shape is None:
        shape = draw(shapes())
    if dtype is None:
        dtype = draw(st.sampled_from(DTYPES))
    nd = len(shape)
    opts = ["contig"]
    if layouts and nd >= 1:
        opts += ["step", "offset", "expand"]
    if layouts and nd >= 2:
        opts += ["transpose"]
    if layouts and nd >= 3:
        opts += ["permute"]
    layout = draw(st.sampled_from(opts))
    base, suffix = list(shape), ""
    if layout == "transpose":
        base[0], base[-1] = base[-1], base[0]
        suffix = f".transpose(0, {nd - 1})"
    elif layout == "step":
        base[-1] *= 2
        suffix = "[..., ::2]"
    elif layout == "offset":
        base[0] += 1
        suffix = "[1:]"
    elif layout == "expand":
        k = draw(st.integers(0, nd - 1))
        base[k] = 1
        suffix = f".expand({tuple(shape)})"
    elif layout == "permute":
        base = base[::-1]
        suffix = f".permute({tuple(range(nd - 1, -1, -1))})"
    vals = draw(st.lists(values(dtype), min_size=_numel(base), max_size=_numel(base)))
    if nd == 0:
        code = f"torch.tensor({_lit(vals[0])}, dtype=torch.{dtype})"
    else:
        code = f"torch.tensor([{', '.join(_lit(v) for v in vals)}], dtype=torch.{dtype}).reshape({tuple(base)})"
    return f"{name} = {code}{suffix}", tuple(shape), dtype


def _bcast_shape(draw, shape):
    """A shape that broadcasts with ``shape``, or sometimes one that does not."""
    kind = draw(st.sampled_from(["same", "same", "ones", "drop", "scalar", "random"]))
    if kind == "same":
        return tuple(shape)
    if kind == "ones":
        return tuple(1 if draw(st.booleans()) else s for s in shape)
    if kind == "drop":
        return tuple(shape[draw(st.integers(0, len(shape))):])
    if kind == "scalar":
        return ()
    return draw(shapes())


def dims(draw, nd, out_of_range=True):
    """A dim, usually in range; PyTorch treats a 0-d tensor as having dims -1 and 0."""
    n = max(nd, 1)
    if out_of_range and draw(st.integers(0, 6)) == 0:
        return draw(st.sampled_from([n, -n - 1, n + 3, -(2 ** 31), 2 ** 31, 2 ** 63 - 1]))
    return draw(st.integers(-n, n - 1))


def dim_in_range(d, nd):
    n = max(nd, 1)
    return -n <= d < n


SCALARS = [0, 1, -1, 2, 3, 7, 0.5, -2.5, 1e-3, float("nan"), float("inf"), float("-inf"), -0.0, True, False,
           255, -129, 2 ** 31, 2 ** 62, 2 ** 63 - 1, -(2 ** 63), 1e308, 1e-310, 2 ** 64]


# =========================================================================== op families
UNARY = ["abs", "neg", "sign", "sgn", "sqrt", "rsqrt", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p",
         "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
         "sigmoid", "erf", "erfc", "erfinv", "lgamma", "digamma", "ceil", "floor", "round", "trunc", "frac",
         "reciprocal", "square", "bitwise_not", "logical_not", "isnan", "isinf", "isfinite", "signbit",
         "nan_to_num", "relu", "clone", "fix", "ravel", "msort", "count_nonzero", "nonzero", "argwhere",
         "atleast_1d", "atleast_2d", "atleast_3d", "numel", "flatten", "diag", "t", "trace", "unique",
         "floor_divide"]
UNARY_INPLACE = ["abs", "neg", "sign", "sqrt", "rsqrt", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p",
                 "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
                 "sigmoid", "erf", "erfc", "erfinv", "lgamma", "digamma", "ceil", "floor", "round", "trunc",
                 "frac", "reciprocal", "square", "bitwise_not", "logical_not", "relu", "fix", "zero"]
UNARY_EXTRA = ["torch.round(x, decimals={k})", "torch.nan_to_num(x, nan={s}, posinf={s}, neginf={s})",
               "torch.polygamma({k}, x)", "torch.clamp(x, min={s})", "torch.clamp(x, max={s})",
               "torch.clamp(x, {s}, {s})", "x.clamp_({s}, {s})", "x.fill_({s})", "torch.histc(x, bins={k})",
               "torch.bincount(x)", "torch.tril(x, {k})", "torch.triu(x, {k})", "x.tril_({k})",
               "torch.diag(x, {k})", "torch.diag_embed(x, {k})", "x.to(torch.{dt})", "x.type(torch.{dt})",
               "x.bernoulli_(0.5)", "x.uniform_()", "x.normal_()", "x.random_(0, {k})", "x.exponential_()",
               "torch.multinomial(x, {k})", "torch.bernoulli(x)", "x.item()", "x.tolist()", "bool(x)",
               "int(x)", "float(x)", "len(x)", "x.numpy()", "torch.is_nonzero(x)", "x.softmax({d})",
               "torch.renorm(x, 2, {d}, 1.0)", "x.new_tensor({s})",
               "torch.full_like(x, {s})", "torch.zeros_like(x, dtype=torch.{dt})", "torch.rand_like(x)",
               "x.view(torch.{dt})", "torch.logspace(0, {s}, {k})", "torch.tensor({s})",
               "torch.scalar_tensor({s})", "x.pow_({s})", "x ** {s}", "{s} ** x", "x // {s}", "x % {s}",
               "{s} / x", "{s} - x", "x << {s}", "x >> {s}", "x & {s}", "~x", "-x", "abs(x)"]

BINARY = ["add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow", "atan2",
          "hypot", "maximum", "minimum", "fmax", "fmin", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
          "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
          "bitwise_right_shift", "copysign", "xlogy", "logaddexp", "float_power", "rsub", "isclose",
          "equal", "allclose"]
BINARY_INPLACE = ["add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow", "atan2", "hypot",
                  "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "bitwise_and",
                  "bitwise_or", "bitwise_xor", "copysign", "xlogy", "bitwise_left_shift", "bitwise_right_shift",
                  "copy", "lerp", "clamp_min", "clamp_max"]
BINARY_EXTRA = ["torch.div(x, y, rounding_mode='floor')", "torch.div(x, y, rounding_mode='trunc')",
                "x.div_(y, rounding_mode='floor')", "torch.add(x, y, alpha={s})", "torch.sub(x, y, alpha={s})",
                "torch.lerp(x, y, {s})", "torch.where(x > 0, x, y)", "torch.where(y, x, {s})",
                "torch.addcmul(x, x, y, value={s})", "torch.addcdiv(x, x, y, value={s})",
                "torch.clamp(x, y, y)", "torch.clamp(x, max=y)", "x.masked_fill(y, {s})",
                "x.masked_fill_(y, {s})", "torch.masked_select(x, y)", "x.expand_as(y)", "x.view_as(y)",
                "x.reshape_as(y)", "x.type_as(y)", "torch.broadcast_tensors(x, y)", "x + y", "x - y", "x * y",
                "x / y", "x // y", "x % y", "x ** y", "x & y", "x | y", "x ^ y", "x << y", "x >> y",
                "x == y", "x < y", "x.__iadd__(y)", "x.__isub__(y)", "x.__imul__(y)",
                "x.__itruediv__(y)", "x.__ifloordiv__(y)", "x.__imod__(y)", "x.__ipow__(y)", "x.__iand__(y)",
                "torch.kron(x, y)", "torch.cross(x, y, dim={d})", "torch.dot(x, y)",
                "torch.vdot(x, y)", "torch.outer(x, y)", "torch.inner(x, y)", "torch.mm(x, y)",
                "torch.matmul(x, y)", "x @ y", "torch.bmm(x, y)", "torch.mv(x, y)", "torch.ger(x, y)",
                "torch.tensordot(x, y, dims={k})", "torch.cdist(x, y)", "torch.searchsorted(x, y)",
                "torch.bucketize(y, x)", "torch.take(x, y)", "torch.cat([x, y], {d})",
                "torch.stack([x, y], {d})", "torch.hstack([x, y])", "torch.vstack([x, y])",
                "torch.dstack([x, y])", "torch.column_stack([x, y])", "torch.cartesian_prod(x, y)",
                "torch.meshgrid(x, y, indexing='xy')", "torch.meshgrid(x, y, indexing='ij')",
                "x.copy_(y)", "x.masked_scatter(y > 0, x)", "torch.polar(x, y)",
                "torch.result_type(x, y)", "torch.promote_types(x.dtype, y.dtype)", "torch.can_cast(x.dtype, y.dtype)",
                "torch.addmm(x, x, y, beta={s}, alpha={s})", "torch.addmv(x, x, y)", "torch.baddbmm(x, x, y)",
                "torch.addbmm(x, x, y)", "torch.einsum('ij,jk->ik', x, y)", "torch.einsum('i,i->', x, y)",
                "torch.einsum('...i,...i->...', x, y)", "torch.linalg.vecdot(x, y)", "torch.linalg.solve(x, y)",
                "torch.linalg.cross(x, y)", "torch.linalg.multi_dot([x, y])"]

REDUCE = ["sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "all", "any", "std",
          "var", "logsumexp", "norm", "nansum", "nanmean", "median", "mode", "count_nonzero", "cumsum",
          "cumprod", "cummax", "cummin", "softmax", "log_softmax", "aminmax", "std_mean", "var_mean",
          "kthvalue", "topk", "sort", "argsort", "unique", "unique_consecutive", "logcumsumexp", "nanmedian"]
REDUCE_TEMPLATES = ["torch.{op}(x)", "torch.{op}(x, {d})", "torch.{op}(x, dim={d}, keepdim={b})",
                    "torch.{op}(x, dim={ds})", "torch.{op}(x, {ds}, {b})", "x.{op}(dim={d})"]
REDUCE_EXTRA = ["torch.kthvalue(x, {k}, {d})", "torch.topk(x, {k}, {d}, largest={b}, sorted={b})",
                "torch.sort(x, {d}, descending={b}, stable=True)", "torch.unique(x, sorted={b}, "
                "return_inverse={b}, return_counts={b}, dim={d})", "torch.std(x, {d}, correction={k})",
                "torch.var(x, dim={ds}, unbiased={b})", "torch.norm(x, p={s}, dim={ds})",
                "torch.norm(x, p='fro')", "torch.norm(x, p='nuc')", "torch.linalg.vector_norm(x, ord={s}, dim={ds})",
                "torch.linalg.matrix_norm(x)", "torch.linalg.norm(x, ord={s})",
                "torch.softmax(x, {d}, dtype=torch.{dt})",
                "torch.cumsum(x, {d}, dtype=torch.{dt})", "torch.sum(x, dtype=torch.{dt})",
                "torch.prod(x, {d}, dtype=torch.{dt})", "torch.mean(x, dtype=torch.{dt})", "x.cumsum_({d})",
                "torch.max(x, {d}, {b})", "torch.min(x, dim={d})", "torch.median(x, {d})", "torch.mode(x, {d})",
                "torch.quantile(x, 0.5)", "torch.linalg.det(x)",
                "torch.linalg.inv(x)", "torch.linalg.slogdet(x)", "torch.linalg.svdvals(x)",
                "torch.linalg.matrix_rank(x)", "torch.linalg.matrix_power(x, {k})", "torch.linalg.pinv(x)",
                "torch.linalg.qr(x)", "torch.linalg.eigh(x)", "torch.linalg.cholesky(x)", "torch.linalg.svd(x)",
                "torch.trace(x)", "torch.diagonal(x, {k}, {d}, {d2})", "torch.logsumexp(x, {ds})",
                "torch.all(x, dim={ds})", "torch.any(x, {d}, {b})"]

SHAPE_OPS = ["x.reshape({shape})", "x.view({shape})", "torch.reshape(x, {shape})", "x.view(-1)",
             "torch.flatten(x, {d}, {d2})", "x.unflatten({d}, {shape})", "torch.squeeze(x, {d})",
             "torch.squeeze(x, {ds})", "x.squeeze_({d})", "torch.unsqueeze(x, {d})", "x.unsqueeze_({d})",
             "torch.transpose(x, {d}, {d2})", "x.transpose_({d}, {d2})", "x.swapaxes({d}, {d2})",
             "torch.permute(x, {perm})", "torch.movedim(x, {d}, {d2})", "torch.movedim(x, {ds}, {ds})",
             "torch.flip(x, {ds})", "torch.flip(x, ({d}, {d}))", "torch.fliplr(x)", "torch.flipud(x)",
             "torch.roll(x, {k}, {d})", "torch.roll(x, ({k}, {k}), ({d}, {d2}))", "torch.roll(x, {k})",
             "torch.narrow(x, {d}, {k}, {k})", "torch.select(x, {d}, {k})", "torch.chunk(x, {k}, {d})",
             "torch.split(x, {k}, {d})", "torch.split(x, [{k}, {k}], {d})", "torch.tensor_split(x, {k}, {d})",
             "torch.tensor_split(x, [{k}, {k}], dim={d})", "torch.unbind(x, {d})", "x.expand({shape})",
             "x.expand(-1, {shape})", "torch.broadcast_to(x, {shape})", "x.repeat({shape})", "torch.tile(x, {shape})",
             "torch.repeat_interleave(x, {k}, {d})", "torch.repeat_interleave(x, {k})",
             "torch.diagonal(x, {k}, {d}, {d2})", "torch.rot90(x, {k}, ({d}, {d2}))", "x.unfold({d}, {k}, {k})",
             "torch.cat([x, x], {d})", "torch.cat([x], {d})", "torch.stack([x, x], {d})", "x.mT", "x.T",
             "x.t_()", "torch.moveaxis(x, {d}, {d2})", "x.contiguous()", "x.clone().resize_({shape})",
             "x.as_strided({shape}, {shape})", "torch.as_strided(x, {shape}, {shape}, {k})",
             "torch.as_strided(x.contiguous(), {shape}, {shape})", "torch.atleast_2d(x)",
             "torch.kron(x, x)", "torch.cartesian_prod(x)", "torch.tril_indices({k}, {k}, {k})",
             "torch.triu_indices({k}, {k})",
             "F.pad(x, {pads})", "F.pad(x, {pads}, mode='reflect')", "F.pad(x, {pads}, mode='replicate')",
             "F.pad(x, {pads}, mode='circular')", "F.pad(x, {pads}, value={s})", "F.pixel_shuffle(x, {k})",
             "F.pixel_unshuffle(x, {k})", "F.channel_shuffle(x, {k})", "F.one_hot(x, {k})", "F.one_hot(x)",
             "torch.meshgrid(x, x)", "torch.nonzero(x, as_tuple=True)", "torch.where(x)",
             "torch.empty_like(x).copy_(x)", "x.new_zeros({shape})", "x.new_empty({shape})",
             "x.new_full({shape}, {s})", "torch.zeros({shape})", "torch.ones({shape}, dtype=torch.{dt})",
             "torch.empty({shape})", "torch.full({shape}, {s})", "torch.randn({shape})", "torch.rand({shape})",
             "torch.randint(0, {k}, {shape})", "torch.eye({k}, {k})", "torch.arange({s})",
             "torch.arange({s}, {s}, {s})", "torch.linspace({s}, {s}, {k})", "torch.randperm({k})",
             "torch.full({shape}, {s}, dtype=torch.{dt})"]

F_OPS = ["F.relu(x)", "F.relu6(x)", "F.gelu(x)", "F.gelu(x, approximate='tanh')", "F.silu(x)", "F.elu(x, {s})",
         "F.selu(x)", "F.celu(x, {s})", "F.leaky_relu(x, {s})", "F.hardtanh(x, {s}, {s})", "F.hardsigmoid(x)",
         "F.hardswish(x)", "F.softplus(x, {s}, {s})", "F.softsign(x)", "F.mish(x)", "F.logsigmoid(x)",
         "F.tanhshrink(x)", "F.softshrink(x, {s})", "F.hardshrink(x, {s})", "F.threshold(x, {s}, {s})",
         "F.glu(x, {d})", "F.softmax(x, {d})", "F.log_softmax(x, {d})", "F.softmin(x, {d})",
         "F.normalize(x, p={s}, dim={d})", "F.dropout(x, {f})", "F.dropout(x, {f}, training=False)",
         "F.alpha_dropout(x, {f}, training=True)", "F.dropout2d(x, {f})", "F.relu_(x)", "F.elu_(x)",
         "F.leaky_relu_(x)", "F.hardtanh_(x)", "F.threshold_(x, {s}, {s})", "F.gumbel_softmax(x, dim={d})",
         "F.mse_loss(x, y)", "F.l1_loss(x, y, reduction='sum')", "F.smooth_l1_loss(x, y, beta={s})",
         "F.huber_loss(x, y, delta={s})", "F.binary_cross_entropy(torch.sigmoid(x), y)",
         "F.binary_cross_entropy(x, y)", "F.binary_cross_entropy_with_logits(x, y)",
         "F.binary_cross_entropy_with_logits(x, y, pos_weight=y)", "F.kl_div(x, y, reduction='batchmean')",
         "F.kl_div(x, y, log_target=True)", "F.cosine_similarity(x, y, {d})", "F.pairwise_distance(x, y)",
         "F.poisson_nll_loss(x, y)", "F.soft_margin_loss(x, y)", "F.hinge_embedding_loss(x, y)",
         "F.margin_ranking_loss(x, y, y)", "F.multilabel_soft_margin_loss(x, y)", "F.gaussian_nll_loss(x, y, y)",
         "F.cosine_embedding_loss(x, y, y)", "F.triplet_margin_loss(x, y, y)",
         "F.cross_entropy(x, idx)", "F.cross_entropy(x, idx, label_smoothing={f})",
         "F.cross_entropy(x, idx, ignore_index={k})", "F.cross_entropy(x, y)", "F.nll_loss(x, idx)",
         "F.nll_loss(x, idx, reduction='none')", "F.multi_margin_loss(x, idx)", "F.embedding(idx, x)",
         "F.embedding(idx, x, padding_idx={k})", "F.embedding(idx, x, max_norm={s})", "F.one_hot(idx, {k})",
         "F.max_pool1d(x, {k}, {k}, {k}, {k}, {b})", "F.max_pool2d(x, {k}, {k}, {k}, {k}, {b})",
         "F.max_pool2d(x, {k}, return_indices=True)", "F.max_pool3d(x, {k})", "F.avg_pool1d(x, {k}, {k}, {k}, {b})",
         "F.avg_pool2d(x, {k}, {k}, {k}, {b}, {b})", "F.avg_pool2d(x, {k}, divisor_override={k})",
         "F.avg_pool3d(x, {k})", "F.lp_pool1d(x, {s}, {k})", "F.lp_pool2d(x, {s}, {k})",
         "F.adaptive_avg_pool1d(x, {k})", "F.adaptive_avg_pool2d(x, ({k}, {k}))", "F.adaptive_avg_pool3d(x, {k})",
         "F.adaptive_max_pool1d(x, {k})", "F.adaptive_max_pool2d(x, {k}, True)", "F.adaptive_max_pool3d(x, {k})",
         "F.max_unpool1d(*F.max_pool1d(x, 2, return_indices=True), 2)",
         "F.max_unpool2d(x, idx, {k})", "F.interpolate(x, size={k})", "F.interpolate(x, scale_factor={s})",
         "F.interpolate(x, size={k}, mode='linear')", "F.interpolate(x, size=({k}, {k}), mode='bilinear')",
         "F.interpolate(x, scale_factor={f}, mode='bilinear', align_corners={b})",
         "F.interpolate(x, size={k}, mode='nearest-exact')", "F.interpolate(x, size={k}, mode='bicubic')",
         "F.interpolate(x, size={k}, mode='area')", "F.interpolate(x, size={k}, mode='trilinear')",
         "F.upsample_nearest(x, scale_factor={k})", "F.conv1d(x, y, stride={k}, padding={k}, dilation={k}, groups={k})",
         "F.conv2d(x, y, None, {k}, {k}, {k}, {k})", "F.conv2d(x, y, padding='same')", "F.conv3d(x, y)",
         "F.conv_transpose1d(x, y, stride={k}, padding={k}, output_padding={k}, groups={k}, dilation={k})",
         "F.conv_transpose2d(x, y, None, {k}, {k}, {k})", "F.conv_transpose3d(x, y)", "F.linear(x, y)",
         "F.linear(x, y, y)", "F.bilinear(x, x, y)", "F.unfold(x, {k}, {k}, {k}, {k})",
         "F.fold(x, ({k}, {k}), {k})", "F.layer_norm(x, {shape})", "F.layer_norm(x, x.shape[-1:], y, y)",
         "F.rms_norm(x, {shape})", "F.group_norm(x, {k})", "F.instance_norm(x)",
         "F.batch_norm(x, y, y, training={b})", "F.batch_norm(x, None, None, training=True)",
         "F.local_response_norm(x, {k})", "F.prelu(x, y)", "F.embedding_bag(idx, x)",
         "F.pdist(x)", "F.affine_grid(x, {shape})", "F.grid_sample(x, y)",
         "F.scaled_dot_product_attention(x, x, x)", "F.scaled_dot_product_attention(x, y, y)",
         "F.ctc_loss(x, idx, [1], [1])", "F.multilabel_margin_loss(x, idx)", "F.conv_tbc(x, y, y)"]

INDEX_OPS = ["x[{i}]", "x[{i}, {i}]", "x[{i}, ..., {i}]", "x[None, {i}]", "x[{sl}]", "x[{sl}, {sl}]",
             "x[::-1]", "x[..., {i}]", "x[idx]", "x[idx, idx]", "x[{i}, idx]", "x[mask]", "x[x > 0]",
             "x[[{i}, {i}]]", "x[torch.tensor({b})]", "x[{b}]", "x[{i}:{i}:{k}]",
             "x.__setitem__(({i},), {s})", "x.__setitem__((idx,), {s})", "x.__setitem__(({i}, idx), {s})",
             "x.__setitem__((mask,), {s})", "x.__setitem__(({sl},), y)", "x.__setitem__((idx,), y)",
             "x.__setitem__((Ellipsis, {i}), {s})", "x.__setitem__((torch.tensor({b}),), {s})",
             "torch.index_select(x, {d}, idx)", "torch.gather(x, {d}, idx)", "torch.take_along_dim(x, idx, {d})",
             "torch.take(x, idx)", "x.put_(idx, y)", "x.put_(idx, y, accumulate=True)",
             "torch.scatter(x, {d}, idx, y)", "torch.scatter(x, {d}, idx, {s})", "x.scatter_({d}, idx, y)",
             "torch.scatter_add(x, {d}, idx, y)", "x.scatter_add_({d}, idx, y)",
             "torch.scatter_reduce(x, {d}, idx, y, reduce='sum')",
             "torch.scatter_reduce(x, {d}, idx, y, 'amax', include_self={b})",
             "torch.scatter_reduce(x, {d}, idx, y, 'mean')", "torch.scatter_reduce(x, {d}, idx, y, 'prod')",
             "torch.index_add(x, {d}, idx, y)", "x.index_add_({d}, idx, y, alpha={s})",
             "torch.index_copy(x, {d}, idx, y)",
             "x.index_copy_({d}, idx, y)", "torch.index_fill(x, {d}, idx, {s})", "x.index_fill_({d}, idx, {s})",
             "torch.index_put(x, (idx,), y)", "x.index_put_((idx,), y, accumulate={b})",
             "x.index_put_((idx, idx), y)", "torch.masked_fill(x, mask, {s})", "torch.masked_select(x, mask)",
             "torch.masked_scatter(x, mask, y)", "torch.where(mask, x, y)", "torch.bincount(idx)",
             "torch.bincount(idx, y)", "torch.searchsorted(x, idx)", "torch.unique(idx, return_inverse=True)",
             "F.embedding(idx, x)", "F.one_hot(idx)", "torch.narrow(x, {d}, idx, {k})", "torch.select(x, {d}, {i})",
             "x.index_select({d}, idx.flatten())", "torch.diag(idx)", "x.repeat_interleave(idx)",
             "torch.repeat_interleave(idx)", "torch.multinomial(x, {k}, replacement={b})"]


def _fill(draw, template, ctx):
    """Fill {placeholders} of an op template; each one draws a fresh value."""
    out, i = [], 0
    while True:
        j = template.find("{", i)
        if j < 0:
            out.append(template[i:])
            break
        k = template.index("}", j)
        out.append(template[i:j])
        out.append(_draw_arg(draw, template[j + 1:k], ctx))
        i = k + 1
    return "".join(out).replace("\n", "")


def _draw_arg(draw, name, ctx):
    nd = ctx["nd"]
    if name in ("d", "d2"):
        return repr(dims(draw, nd))
    if name == "ds":
        kind = draw(st.integers(0, 3))
        if kind == 0:
            return "None"
        if kind == 1:
            return repr(dims(draw, nd))
        return repr(tuple(dims(draw, nd, out_of_range=draw(st.integers(0, 4)) == 0)
                          for _ in range(draw(st.integers(0, 3)))))
    if name == "b":
        return repr(draw(st.booleans()))
    if name == "k":
        # sizes too big for any machine (2**40): a legitimately huge (8 GB) call would only be slow
        return repr(draw(st.one_of(st.integers(-2, 6), st.sampled_from([0, 1, 2, 2 ** 40, 2 ** 63 - 1, -(2 ** 63)]))))
    if name == "f":
        return repr(draw(st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, -0.5, 2.0])))
    if name == "s":
        return _lit(draw(st.sampled_from(SCALARS)))
    if name == "dt":
        return draw(st.sampled_from(DTYPES))
    if name == "shape":
        sh = list(draw(shapes(max_dims=4)))
        if sh and draw(st.integers(0, 3)) == 0:
            sh[draw(st.integers(0, len(sh) - 1))] = draw(st.sampled_from([-1, -1, -2, 0, 2 ** 40, 2 ** 62]))
        return repr(tuple(sh))
    if name == "perm":
        p = draw(st.permutations(range(nd)))
        if draw(st.integers(0, 4)) == 0:
            p = list(p) + [dims(draw, nd)] if draw(st.booleans()) or not p else list(p[:-1]) + [p[0]]
        return repr(tuple(p))
    if name == "pads":
        return repr(tuple(draw(st.integers(-3, 3)) for _ in range(draw(st.sampled_from([0, 1, 2, 2, 4, 4, 6, 8])))))
    if name == "i":
        s0 = ctx["shape"][0] if nd else 0
        return repr(draw(st.one_of(st.integers(-s0 - 2, s0 + 1), st.sampled_from([2 ** 31, -(2 ** 63), 2 ** 63 - 1]))))
    if name == "sl":
        a = draw(st.one_of(st.none(), st.integers(-7, 7)))
        b = draw(st.one_of(st.none(), st.integers(-7, 7)))
        c = draw(st.one_of(st.none(), st.integers(1, 3)))
        return f"slice({a}, {b}, {c})"
    raise KeyError(name)


@st.composite
def _aux_tensors(draw, shape, dtype, nd):
    """Setup lines for the auxiliary inputs y, idx, mask used by templates."""
    lines = []
    yshape = _bcast_shape(draw, shape)
    ydtype = dtype if draw(st.integers(0, 2)) else draw(st.sampled_from(DTYPES))
    lines.append(draw(tensors(shape=yshape, dtype=ydtype, name="y"))[0])
    n = max(shape[0], 1) if nd else 1
    ishape = draw(st.sampled_from([tuple(shape), (), (draw(st.integers(0, 5)),), _bcast_shape(draw, shape)]))
    ivals = st.one_of(st.integers(0, n - 1), st.integers(-n - 2, n + 2))
    idt = draw(st.sampled_from(["int64", "int64", "int64", "int32", "uint8", "float32", "bool"]))
    vals = draw(st.lists(ivals, min_size=_numel(ishape), max_size=_numel(ishape)))
    if idt == "bool":
        vals = [bool(v % 2) for v in vals]
    elif idt == "uint8":
        vals = [v % 256 for v in vals]
    elif idt == "float32":
        vals = [float(v) for v in vals]
    lines.append(f"idx = torch.tensor({vals if ishape else vals[0]!r}, dtype=torch.{idt})"
                 + (f".reshape({ishape})" if ishape else ""))
    mshape = tuple(shape) if draw(st.integers(0, 3)) else _bcast_shape(draw, shape)
    mvals = draw(st.lists(st.booleans(), min_size=_numel(mshape), max_size=_numel(mshape)))
    lines.append(f"mask = torch.tensor({mvals if mshape else mvals[0]!r}).reshape({mshape})")
    return lines


def _op_case(templates, dtypes=None):
    """Cases calling one of ``templates`` on a random x (and y, idx, mask where named)."""
    @st.composite
    def strat(draw):
        xline, shape, dtype = draw(tensors(dtype=draw(st.sampled_from(dtypes)) if dtypes else None))
        ctx = {"nd": len(shape), "shape": shape, "dtype": dtype}
        template = draw(st.sampled_from(templates))
        expr = _fill(draw, template, ctx)
        lines = [xline]
        if re.search(r"\b(y|idx|mask)\b", template):
            lines += draw(_aux_tensors(shape, dtype, len(shape)))
        return {"setup": "\n".join(lines), "expr": expr, "expect": None}
    return strat()


FAMILIES = {
    "unary": _op_case(["torch.%s(x)" % o for o in UNARY] + ["x.%s_()" % o for o in UNARY_INPLACE] + UNARY_EXTRA),
    "binary": _op_case(["torch.%s(x, y)" % o for o in BINARY] + ["torch.%s(x, {s})" % o for o in BINARY]
                       + ["x.%s_(y)" % o for o in BINARY_INPLACE] + ["x.%s_({s})" % o for o in BINARY_INPLACE]
                       + BINARY_EXTRA),
    "reduce": _op_case([t.replace("{op}", o) for o in REDUCE for t in REDUCE_TEMPLATES] + REDUCE_EXTRA),
    "shape": _op_case(SHAPE_OPS),
    "functional": _op_case(F_OPS, dtypes=FLOAT_DTYPES * 3 + DTYPES),
    "index": _op_case(INDEX_OPS),
}


# --------------------------------------------------------------------------- rules PyTorch fixes
DIM_OPS = ["torch.sum(x, {d})", "torch.prod(x, {d})", "torch.amax(x, {d})", "torch.argmax(x, {d})",
           "torch.cumsum(x, {d})", "torch.all(x, {d})", "torch.any(x, {d})", "torch.flip(x, ({d},))",
           "torch.squeeze(x, {d})", "torch.count_nonzero(x, {d})", "torch.sort(x, {d})", "torch.max(x, {d})",
           "torch.argsort(x, dim={d})", "torch.logsumexp(x, {d})",
           "torch.narrow(x, {d}, 0, 0)", "torch.transpose(x, {d}, 0)",
           "torch.unbind(x, {d})", "torch.chunk(x, 1, {d})", "torch.roll(x, 1, {d})", "torch.select(x, {d}, 0)"]


def _draw_index_values(draw, n, count):
    vals = draw(st.lists(st.one_of(st.integers(0, max(n - 1, 0)), st.integers(-n - 2, n + 2)),
                         min_size=count, max_size=count))
    return vals


def _index_error(bad, xline, n):
    """embedding: IndexError; PyTorch's strided and empty-dim paths say RuntimeError."""
    if not bad:
        return "ok"
    strided = any(v in xline for v in (".expand(", "[1:]", "::2", ".transpose(", ".permute("))
    return ["IndexError", "RuntimeError"] if strided or n == 0 else "IndexError"


@st.composite
def strict_cases(draw):
    """Calls whose accept/reject PyTorch fixes: out-of-range dims and indices, repeated flip dims."""
    kind = draw(st.sampled_from(["getitem", "setitem", "dim", "dim", "index_select", "gather", "embedding",
                                 "flip_dup", "index_tensor", "index_copy", "index_add", "scatter_add",
                                 "take"]))
    min_dims = 0 if kind in ("getitem", "setitem", "dim") else 1
    xline, shape, dtype = draw(tensors(shape=draw(shapes(min_dims=min_dims))))
    nd = len(shape)
    lines = [xline]
    if kind in ("getitem", "setitem"):
        s0 = shape[0] if nd else 0
        i = draw(st.one_of(st.integers(-s0 - 3, s0 + 2), st.sampled_from([2 ** 31, 2 ** 63 - 1, -(2 ** 63)])))
        bad = nd == 0 or not -s0 <= i < s0
        expr = f"x[{i}]" if kind == "getitem" else f"x.__setitem__({i}, 1)"
        # writing into an expanded tensor is refused whatever the index
        ok = None if kind == "setitem" and ".expand(" in xline else "ok"
        return {"setup": xline, "expr": expr, "expect": "IndexError" if bad else ok}
    if kind == "dim":
        template = draw(st.sampled_from(DIM_OPS))
        d = dims(draw, nd)
        expr = template.replace("{d}", repr(d))
        # ops that need a dim (narrow, chunk...) reject a 0-d x with RuntimeError
        bad = ["IndexError", "RuntimeError"] if nd == 0 else "IndexError"
        return {"setup": xline, "expr": expr, "expect": None if dim_in_range(d, nd) else bad}
    d = draw(st.integers(-nd, nd - 1))
    n = shape[d]
    if kind == "flip_dup":
        d2 = d - nd if d >= 0 else d + nd
        return {"setup": xline, "expr": f"torch.flip(x, ({d}, {draw(st.sampled_from([d, d2]))}))",
                "expect": "RuntimeError"}
    if kind == "take":
        total = _numel(shape)
        vals = draw(st.lists(st.integers(-total - 2, total + 2), min_size=0, max_size=4))
        bad = any(not -total <= v < total for v in vals)
        lines.append(f"idx = torch.tensor({vals!r}, dtype=torch.int64)")
        return {"setup": "\n".join(lines), "expr": "torch.take(x, idx)", "expect": "IndexError" if bad else "ok"}
    if kind == "gather":
        ishape = list(shape)
        ishape[d] = draw(st.integers(0, 3))
        vals = _draw_index_values(draw, n, _numel(ishape))
        lines.append(f"idx = torch.tensor({vals!r}, dtype=torch.int64).reshape({tuple(ishape)})")
        bad = any(not 0 <= v < n for v in vals)
        return {"setup": "\n".join(lines), "expr": f"torch.gather(x, {d}, idx)",
                "expect": "RuntimeError" if bad else "ok"}
    if kind == "embedding":
        ishape = draw(shapes(max_dims=3))
        vals = _draw_index_values(draw, shape[0], _numel(ishape))
        lines = [draw(tensors(shape=(shape[0], 3), dtype="float32", name="x"))[0],
                 f"idx = torch.tensor({vals!r}, dtype=torch.int64).reshape({tuple(ishape)})"]
        bad = any(not 0 <= v < shape[0] for v in vals)
        return {"setup": "\n".join(lines), "expr": "F.embedding(idx, x)",
                "expect": _index_error(bad, lines[0], shape[0])}
    count = draw(st.integers(0, 4))
    vals = _draw_index_values(draw, n, count)
    lines.append(f"idx = torch.tensor({vals!r}, dtype=torch.int64)")
    if kind == "index_select":
        bad = any(not 0 <= v < n for v in vals)
        # PyTorch's kernels disagree on the type ("INDICES element is out of DATA bounds")
        return {"setup": "\n".join(lines), "expr": f"torch.index_select(x, {d}, idx)",
                "expect": ["IndexError", "RuntimeError"] if bad else "ok"}
    if kind == "index_tensor":
        # PyTorch checks the indices of an empty x only when the indexed dim itself is empty
        bad = (n == 0 and len(vals) > 0) or (_numel(shape) > 0 and any(not -n <= v < n for v in vals))
        unchecked = _numel(shape) == 0 and n > 0  # rejecting those anyway is fine
        return {"setup": "\n".join(lines), "expr": "x[(slice(None),) * %d + (idx,)]" % (d % nd),
                "expect": "IndexError" if bad else None if unchecked else "ok"}
    # index_copy / index_add / scatter_add with a source of the right shape and dtype
    sshape = list(shape)
    sshape[d] = count
    lines.append(draw(tensors(shape=tuple(sshape), dtype=dtype, name="src"))[0])
    # PyTorch checks no index when x is empty
    bad = _numel(shape) > 0 and any(not 0 <= v < n for v in vals)
    if kind == "scatter_add":
        lines[-2] = f"idx = torch.tensor({vals!r}, dtype=torch.int64)"
        ishape = [1] * nd
        ishape[d] = count
        lines[-2] += f".reshape({tuple(ishape)})"
        lines[-1] = draw(tensors(shape=tuple(ishape), dtype=dtype, name="src"))[0]
        return {"setup": "\n".join(lines), "expr": f"torch.scatter_add(x, {d}, idx, src)",
                "expect": "RuntimeError" if bad else None}
    if kind == "index_copy":
        return {"setup": "\n".join(lines), "expr": f"torch.index_copy(x, {d}, idx, src)",
                "expect": "IndexError" if bad else None}
    return {"setup": "\n".join(lines), "expr": f"torch.index_add(x, {d}, idx, src)",
            "expect": ["RuntimeError", "IndexError"] if bad else None}


# --------------------------------------------------------------------------- huge sizes
# Each must raise RuntimeError (overflow, negative size or allocation failure), never allocate.
HUGE_FIXED = [
    "torch.empty(2**62)", "torch.empty(2**63 - 1)", "torch.zeros(2**40)", "torch.ones(2**62, 4)",
    "torch.ones(2**62, 4)[123456789, 3].item()", "torch.full((2**32, 2**32), 7.)",
    "torch.full((2**32, 2**32), 7.)[5, 5]", "torch.eye(2**31)", "torch.eye(3, 2**62)", "torch.empty(2**62).sum()",
    "torch.zeros(2**32, 2**32, dtype=torch.uint8)", "torch.empty(2**31, 2**31, 2**31)",
    "torch.zeros(2**21, 2**21, 2**21)", "torch.empty(0, 2**62, 2**62)", "torch.ones(3).repeat(2**40)",
    "torch.ones(3).repeat(2**32, 2**32)", "torch.ones(3).repeat(-1)", "torch.arange(0, 1e13)",
    "torch.arange(2**62)", "torch.arange(0, float('inf'))", "torch.arange(0, float('nan'))",
    "torch.arange(0, 10, 0)", "torch.arange(10, 0)", "torch.linspace(0, 1, 2**40)", "torch.linspace(0, 1, -1)",
    "torch.logspace(0, 1, 2**40)", "torch.randn(10**12)", "torch.rand(2**40)", "torch.randint(0, 5, (2**40,))",
    "torch.randperm(2**40)", "torch.randperm(-1)", "torch.empty(-1)", "torch.zeros(3, -2)", "torch.eye(-1)",
    "torch.eye(3, -1)", "torch.full((-1,), 1.)", "torch.randn(-1)", "torch.ones(1).expand(2**62, 4)",
    "torch.ones(1).expand(-2)", "torch.ones(1).expand(2**40).contiguous()",
    "torch.ones(1).expand(2**40).clone()", "torch.ones(1).expand(2**40) + 1",
    "torch.ones(4).view(2**62, -1)", "torch.ones(4).view(2**62, 4)", "torch.ones(4).reshape(2**32, 2**32)",
    "torch.ones(4).reshape(-2, -2)", "torch.ones(1).new_empty(2**62)", "torch.ones(1).new_zeros(2**40)",
    "torch.ones(1).new_full((2**40,), 1.)", "torch.empty_like(torch.ones(1).expand(2**40))",
    "torch.zeros_like(torch.ones(1).expand(2**40, 2**20))", "torch.tril_indices(2**31, 2**31)",
    "torch.as_strided(torch.ones(4), (2**62,), (1,))", "torch.as_strided(torch.ones(4), (2,), (1,), 10)",
    "torch.as_strided(torch.ones(4), (2,), (-1,), 3)", "torch.as_strided(torch.ones(4), (3, 3), (1, 1))",
    "torch.as_strided(torch.ones(4), (2**62, 4), (0, 0))", "torch.as_strided(torch.ones(4), (-1,), (1,))",
    "torch.as_strided(torch.ones(4), (1,), (1,), -1)", "torch.ones(4).as_strided((2**31, 2**31), (1, 1))",
    "torch.ones(2, 2).unfold(0, 2**62, 1)", "torch.ones(3).repeat_interleave(2**40)",
    "torch.zeros(2, 3).resize_(2**62)", "torch.zeros(2, 3).resize_(2**40)", "torch.zeros(2, 3).resize_(-1)",
    "F.pad(torch.ones(1, 2), (0, 2**40))", "torch.empty(0).set_(torch.ones(4), 0, (2**62,), (1,))",
"torch.empty(0).set_(torch.ones(4), 0, (2**62, 4), (0, 0))",
    "torch.empty(0).set_(torch.ones(4).untyped_storage(), 0, (2**62,), (1,))", "F.one_hot(torch.tensor([1]), 2**40)",
    "torch.ones(2, 2).tile((2**32, 2**32))", "torch.ones(2**20).outer(torch.ones(2**20))",
    "torch.kron(torch.ones(2**20), torch.ones(2**20))",
]
HUGE = [2 ** 31, 2 ** 32, 2 ** 40, 2 ** 62, 2 ** 63 - 1]
CREATORS = ["torch.empty({sz})", "torch.zeros({sz})", "torch.ones({sz}, dtype=torch.{dt})", "torch.full({sz}, 7.)",
            "torch.randn({sz})", "torch.rand({sz})", "torch.randint(0, 5, {sz})", "torch.empty({sz}, dtype=torch.{dt})",
            "torch.ones(3).new_zeros({sz})", "torch.ones(3).new_empty({sz})", "torch.zeros(2, 3).new_ones({sz})",
            "torch.ones(3).repeat({sz})", "torch.ones(1, 1).repeat({sz})", "torch.ones(4).view({sz})",
            "torch.ones(4).reshape({sz})", "torch.ones(1, 1).tile({sz})", "torch.zeros(2).resize_({sz})"]


def _overflows(vals):
    """True when the product of ``vals`` (computed left to right) leaves int64."""
    p = 1
    for v in vals:
        p *= v
        if not -(2 ** 63) <= p < 2 ** 63:
            return True
    return False


@st.composite
def huge_cases(draw):
    """Creation/repeat/view calls with huge, negative or overflowing sizes (PyTorch: RuntimeError)."""
    nd = draw(st.integers(1, 4))
    sz = [draw(st.one_of(st.sampled_from(HUGE), st.integers(1, 4), st.sampled_from([0, -1, -(2 ** 31), -(2 ** 63)])))
          for _ in range(nd)]
    if any(s < 0 for s in sz):
        sz = [1 if s == 0 else s for s in sz]  # PyTorch accepts a negative size next to a 0
    if all(s > 0 for s in sz) and _numel(sz) < 2 ** 40:
        sz[0] = 2 ** 40  # no legitimately huge (slow) allocation: every positive size is too big
    template = draw(st.sampled_from(CREATORS))
    dt = draw(st.sampled_from(DTYPES))
    expr = template.replace("{sz}", repr(tuple(sz))).replace("{dt}", dt)
    item = {"bool": 1, "uint8": 1, "int8": 1, "int16": 2, "float16": 2, "bfloat16": 2, "int32": 4,
            "float32": 4, "int64": 8, "float64": 8}[dt if "{dt}" in template else "float32"]
    if "randint" in template:
        item = 8  # int64 by default
    n = _numel(sz)
    if "view" in template or "reshape" in template:
        # 4 elements never fill a shape with a 0 or a huge size; -1 is inferred
        expect = "RuntimeError" if any(s == 0 or s >= 2 ** 31 or s < -1 for s in sz) else None
    elif any(s < 0 for s in sz):
        expect = "RuntimeError"
    elif n == 0:
        # an empty tensor is fine unless computing its contiguous strides overflows
        expect = "RuntimeError" if _overflows([max(s, 1) for s in sz[1:]]) else None
    elif _overflows(sz + [item]) or n * item >= 2 ** 40:
        expect = "RuntimeError"
    else:
        expect = None
    if "repeat" in template or "tile" in template:
        expect = None if not any(s < 0 for s in sz) and n * 12 < 2 ** 40 else "RuntimeError"
    return {"setup": "", "expr": expr, "expect": expect}


@st.composite
def as_strided_cases(draw):
    """as_strided views of a small storage: sizes, strides, offsets in and out of bounds."""
    n = draw(st.integers(0, 12))
    nd = draw(st.integers(0, 3))
    size = [draw(st.one_of(st.integers(0, 4), st.sampled_from([-1, 2 ** 31, 2 ** 62, 2 ** 63 - 1]))) for _ in range(nd)]
    stride = [draw(st.one_of(st.integers(0, 4), st.sampled_from([-1, -3, 2 ** 31, 2 ** 62, 2 ** 63 - 1])))
              for _ in range(nd + (1 if draw(st.integers(0, 9)) == 0 else 0))]
    offset = draw(st.one_of(st.none(), st.integers(0, 14), st.sampled_from([-1, 2 ** 62, 2 ** 63 - 1])))
    dt = draw(st.sampled_from(["float32", "int64", "uint8", "bool", "float16"]))
    form = draw(st.sampled_from(["torch.as_strided(x, {a})", "x.as_strided({a})", "x[1:].as_strided({a})",
                                 "torch.as_strided(x, {a}).contiguous()"]))
    if "x[1:]" in form and n == 0:
        form = "x.as_strided({a})"
    if any(s < 0 for s in size):
        size = [max(s, 1) for s in size]  # PyTorch itself accepts a negative size next to a 0
        size[0] = -1
    args = f"{tuple(size)}, {tuple(stride)}" + ("" if offset is None else f", {offset}")
    setup = f"x = torch.arange({n}).to(torch.{dt})"
    off = offset if offset is not None else (1 if "x[1:]" in form else 0)  # default: the view's offset
    item = {"float32": 4, "int64": 8, "uint8": 1, "bool": 1, "float16": 2}[dt]
    if len(size) != len(stride):
        expect = "RuntimeError"
    elif 0 in size:
        expect = None  # PyTorch skips the bounds checks of an empty view
    elif any(s < 0 for s in size) or any(s < 0 for s in stride) or off < 0:
        expect = "RuntimeError"
    else:
        extent = off + sum((s - 1) * t for s, t in zip(size, stride)) + 1
        expect = "RuntimeError" if _overflows(size) or extent * item >= 2 ** 63 or extent > n else "ok"
        if expect == "ok" and "contiguous" in form and _numel(size) * item >= 2 ** 40:
            expect = "RuntimeError"  # the copy cannot be allocated
    return {"setup": setup, "expr": form.replace("{a}", args), "expect": expect}


# --------------------------------------------------------------------------- crafted checkpoints
class _G:
    def __init__(self, module, name):
        self.module, self.name = module, name


class _Call:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args


class _PersId:
    def __init__(self, obj):
        self.obj = obj


def _enc(o):
    """Pickle (protocol 2) opcodes for plain values, globals, calls and persistent ids."""
    if isinstance(o, bool):
        return b"\x88" if o else b"\x89"
    if isinstance(o, int):
        n = (o.bit_length() + 8) // 8
        return b"\x8a" + bytes([n]) + o.to_bytes(n, "little", signed=True)  # LONG1: any size
    if isinstance(o, float):
        return b"G" + struct.pack(">d", o)
    if isinstance(o, str):
        b = o.encode()
        return b"X" + struct.pack("<I", len(b)) + b
    if o is None:
        return b"N"
    if isinstance(o, tuple):
        return b"(" + b"".join(_enc(x) for x in o) + b"t"
    if isinstance(o, dict):
        return b"}(" + b"".join(_enc(k) + _enc(v) for k, v in o.items()) + b"u"
    if isinstance(o, _G):
        return b"c" + f"{o.module}\n{o.name}\n".encode()
    if isinstance(o, _Call):
        return _enc(o.fn) + _enc(tuple(o.args)) + b"R"
    if isinstance(o, _PersId):
        return _enc(o.obj) + b"Q"
    raise TypeError(o)


def _pickle(o):
    return b"\x80\x02" + _enc(o) + b"."


def _rebuild(key, size, stride, offset=0, storage="FloatStorage", numel=6, location="cpu"):
    st_ = _PersId(("storage", _G("torch", storage), key, location, numel))
    return _Call(_G("torch._utils", "_rebuild_tensor_v2"), st_, offset, size, stride, False,
                 _Call(_G("collections", "OrderedDict")))


def ckpt_archive(pkl, records):
    """A zip laid out like torch.save's: archive/data.pkl, archive/data/<key>, byteorder, version."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", b"little")
        for k, v in records.items():
            z.writestr(f"archive/data/{k}", v)
        z.writestr("archive/version", b"3\n")
    return buf.getvalue()


F32_0_TO_5 = struct.pack("<6f", 0, 1, 2, 3, 4, 5)


def ckpt_tensor(size, stride, offset=0, numel=6, data=F32_0_TO_5, storage="FloatStorage", location="cpu"):
    """A checkpoint {'w': tensor} over one storage (float32 0..5 unless told otherwise)."""
    return ckpt_archive(_pickle({"w": _rebuild("0", size, stride, offset, storage, numel, location)}), {"0": data})


def _valid_ckpt():
    return ckpt_tensor((2, 3), (3, 1))


CKPT_OK = [  # loads in PyTorch with these values
    ("ckpt_tensor((2, 3), (3, 1))", [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]),
    ("ckpt_tensor((3, 2), (1, 3))", [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]),
    ("ckpt_tensor((2, 3), (0, 1))", [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]),
    ("ckpt_tensor((0,), (1,), offset=100)", []),
    ("ckpt_tensor((1,), (2**63 - 1,))", [0.0]),
    ("ckpt_tensor((2**63 - 1,), (0,))", None),  # a huge stride-0 view of one element is valid
    ("ckpt_tensor((2,), (1,), offset=4)", [4.0, 5.0]),
]
CKPT_BAD = [  # (file bytes expression, exception type PyTorch raises)
    ("ckpt_tensor((2**62, 4), (0, 0))", "RuntimeError"),
    ("ckpt_tensor((2**62,), (1,))", "RuntimeError"),
    ("ckpt_tensor((2**31, 2**31), (2**31, 1))", "RuntimeError"),
    ("ckpt_tensor((2**32, 2**32, 2**32), (0, 0, 0))", "RuntimeError"),
    ("ckpt_tensor((2,), (1,), offset=10)", "RuntimeError"),
    ("ckpt_tensor((1,), (1,), offset=6)", "RuntimeError"),
    ("ckpt_tensor((2,), (1,), offset=-1)", "RuntimeError"),
    ("ckpt_tensor((1,), (1,), offset=2**63 - 1)", "RuntimeError"),
    ("ckpt_tensor((-1,), (1,))", "RuntimeError"),
    ("ckpt_tensor((-2, -3), (1, 1))", "RuntimeError"),
    ("ckpt_tensor((3,), (-1,), offset=5)", "RuntimeError"),
    ("ckpt_tensor((2,), (2**62,))", "RuntimeError"),
    ("ckpt_tensor((3,), (2**62,))", "RuntimeError"),
    ("ckpt_tensor((2, 4), (4, 1))", "RuntimeError"),
    ("ckpt_tensor((2, 3), (1,))", "RuntimeError"),
    ("ckpt_tensor((2, 3), (3, 1), data=F32_0_TO_5[:8])", "RuntimeError"),  # storage shorter than declared
    ("ckpt_tensor((2,), (1,), data=F32_0_TO_5[:8])", "RuntimeError"),  # ... even if the view fits
    ("ckpt_tensor((2,), (1,), numel=2, data=bytes(5))", "RuntimeError"),
    ("ckpt_tensor((2,), (1,), numel=7)", "RuntimeError"),  # storage longer than declared
    ("ckpt_tensor((2, 3), (3, 1), numel=2**62)", ("RuntimeError", "TypeError")),
    ("ckpt_tensor((2,), (1,), numel=-1)", ("RuntimeError", "TypeError")),
    ("ckpt_tensor((2,), (1,), location='nowhere')", "RuntimeError"),
    ("ckpt_archive(_pickle({'w': _rebuild('0', (2,), (1,))}), {})", "RuntimeError"),  # missing record
    ("ckpt_tensor((2,), (1,), storage='NotAStorage')", "UnpicklingError"),
    ("ckpt_archive(_pickle(_Call(_G('torch._utils', '_rebuild_tensor_v3'), _PersId(('storage', "
     "_G('torch', 'UntypedStorage'), '0', 'cpu', 24)), 0, (2,), (1,), False, _Call(_G('collections', "
     "'OrderedDict')), _G('torch', 'notadtype'))), {'0': F32_0_TO_5})", "UnpicklingError"),
    ("ckpt_tensor(('a',), (1,))", ("TypeError", "ValueError", "RuntimeError")),
    ("ckpt_tensor((2.5,), (1,))", ("TypeError", "ValueError", "RuntimeError")),
    ("ckpt_tensor(None, None)", ("TypeError", "ValueError", "RuntimeError")),
    ("ckpt_tensor((2**70,), (1,))", ("TypeError", "ValueError", "RuntimeError")),
    ("ckpt_tensor((1,), (1,), offset=2**70)", ("TypeError", "ValueError", "RuntimeError")),
    ("ckpt_archive(_pickle(_rebuild(_rebuild('0', (1,), (1,)), (1,), (1,))), {'0': F32_0_TO_5})",
     ("RuntimeError", "UnpicklingError")),
    ("ckpt_archive(_pickle(_PersId('storage')), {})", "UnpicklingError"),
    ("ckpt_archive(_pickle(_PersId(('storage', 1))), {})", ("UnpicklingError", "ValueError")),
    ("ckpt_archive(_pickle({'w': _rebuild('0', (2,), (1,))})[:-9], {'0': F32_0_TO_5})", "UnpicklingError"),
    ("ckpt_archive(b'\\x80\\x02\\xff\\xfe', {})", "UnpicklingError"),
    ("ckpt_archive(b'', {}).replace(b'data.pkl', b'nota.pkl')", "RuntimeError"),
    ("_valid_ckpt()[:len(_valid_ckpt()) // 2]", "RuntimeError"),
    ("_valid_ckpt()[:-10]", "RuntimeError"),
    ("_valid_ckpt()[:4]", "RuntimeError"),
    ("b''", "EOFError"),
]
PWNED = os.path.join(tempfile.gettempdir(), "ferrotorch_crash_hunt_ran_code")
CKPT_CODE_EXEC = [  # globals that run code: refused under the default weights_only=True
    _Call(_G("os", "system"), f"touch {PWNED}"),
    _Call(_G("posix", "system"), f"touch {PWNED}"),
    _Call(_G("subprocess", "call"), ("touch", PWNED)),
    _Call(_G("builtins", "eval"), f"open({PWNED!r}, 'w')"),
    _Call(_G("builtins", "exec"), f"open({PWNED!r}, 'w')"),
    _Call(_G("builtins", "getattr"), _G("os", "system"), "__call__"),
    _Call(_G("torch", "load"), PWNED),
    _Call(_G("torch.serialization", "os"),),
    _Call(_G("torch._utils", "os.system"), f"touch {PWNED}"),
    _Call(_G("collections", "OrderedDict.__class__.__subclasses__"),),
    {"w": _Call(_G("torch.nn.modules.module", "Module"))},
]


def _ckpt_fixed_cases():
    cases = []
    for expr, values in CKPT_OK:
        case = {"setup": f"data = {expr}", "expr": "torch.load(io.BytesIO(data))['w']", "expect": "ok"}
        if values is not None:
            case["expr"] += ".tolist()"
            case["equals"] = values
        cases.append(case)
    for expr, exc in CKPT_BAD:
        cases.append({"setup": f"data = {expr}", "expr": "torch.load(io.BytesIO(data))",
                      "expect": exc if isinstance(exc, str) else list(exc)})
    for i, obj in enumerate(CKPT_CODE_EXEC):
        cases.append({"setup": f"data = ckpt_archive(_pickle(CKPT_CODE_EXEC[{i}]), {{}})",
                      "expr": "torch.load(io.BytesIO(data))", "expect": "UnpicklingError", "pwned": PWNED})
    # the same files from a path, as users load them
    cases.append({"setup": "p = _write_tmp(ckpt_tensor((2**62, 4), (0, 0)))", "expr": "torch.load(p)",
                  "expect": "RuntimeError"})
    cases.append({"setup": "p = _write_tmp(ckpt_archive(_pickle(CKPT_CODE_EXEC[0]), {}))", "expr": "torch.load(p)",
                  "expect": "UnpicklingError", "pwned": PWNED})
    return cases


def _write_tmp(data):
    fd, p = tempfile.mkstemp(suffix=".pt")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return p


@st.composite
def ckpt_geometry_cases(draw):
    """One float32 tensor over a storage of ``m`` elements with random geometry; PyTorch's
    outcome is computed here, values included."""
    m = draw(st.integers(0, 8))
    declared = m if draw(st.integers(0, 5)) else draw(st.sampled_from([m + 1, max(m - 1, 0), 0, 2 ** 40]))
    nd = draw(st.integers(0, 3))
    big = st.sampled_from([-1, 2 ** 31, 2 ** 62, 2 ** 63 - 1])
    size = tuple(draw(st.one_of(st.integers(0, 4), big)) for _ in range(nd))
    if any(s < 0 for s in size):
        size = tuple(max(s, 1) if s != -1 else s for s in size)  # PyTorch accepts -1 next to a 0
    stride = tuple(draw(st.one_of(st.integers(0, 4), big, st.just(-2))) for _ in range(nd))
    offset = draw(st.one_of(st.integers(0, 9), st.sampled_from([-1, 2 ** 62])))
    data = "struct.pack('<%df', *range(%d))" % (m, m)
    setup = f"data = ckpt_tensor({size}, {stride}, offset={offset}, numel={declared}, data={data})"
    case = {"setup": setup, "expr": "torch.load(io.BytesIO(data))['w']"}
    if declared != m:
        case["expect"] = ["RuntimeError", "TypeError"] if declared >= 2 ** 40 else "RuntimeError"
    elif 0 in size:
        case["expect"] = None  # PyTorch skips the bounds checks of an empty view
    elif (any(s < 0 for s in size) or any(t < 0 and s > 1 for s, t in zip(size, stride)) or offset < 0
          or _overflows(size)):
        case["expect"] = "RuntimeError"
    else:
        extent = offset + sum((s - 1) * t for s, t in zip(size, stride)) + 1
        if extent * 4 >= 2 ** 63 or extent > m:
            case["expect"] = "RuntimeError"
        elif _numel(size) <= 64:
            case["expect"] = "ok"
            case["expr"] += ".tolist()"
            case["equals"] = _strided_values(list(range(m)), size, stride, offset)
        else:
            case["expect"] = "ok"
    return case


def _strided_values(storage, size, stride, offset):
    if not size:
        return float(storage[offset])
    return [_strided_values(storage, size[1:], stride[1:], offset + i * stride[0]) for i in range(size[0])]


@st.composite
def ckpt_corrupt_cases(draw):
    """A valid checkpoint with bytes flipped, cut or inserted: load or raise, never crash."""
    n = len(_valid_ckpt())
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        pos = draw(st.integers(0, n - 1))
        if kind == "flip":
            edits.append(f"if d: d[{pos} % len(d)] ^= {draw(st.integers(1, 255))}")
        elif kind == "cut":
            edits.append(f"del d[{pos}:{pos + draw(st.integers(1, 16))}]")
        elif kind == "insert":
            edits.append(f"d[{pos}:{pos}] = {bytes(draw(st.lists(st.integers(0, 255), min_size=1, max_size=8)))!r}")
        else:
            edits.append(f"del d[{pos}:]")
    setup = "d = bytearray(_valid_ckpt())\n" + "\n".join(edits) + "\ndata = bytes(d)"
    return {"setup": setup, "expr": "torch.load(io.BytesIO(data))", "expect": None}


CKPT_ALLOWED = ALLOWED + (pickle.UnpicklingError, EOFError)


# =========================================================================== hunts and the child runner
# name -> (cases: a strategy or a list, examples, exception types allowed); about 2.5 minutes in all
HUNTS = {
    "unary": (FAMILIES["unary"], 500, ALLOWED),
    "binary": (FAMILIES["binary"], 450, ALLOWED),
    "reduce": (FAMILIES["reduce"], 500, ALLOWED),
    "shape": (FAMILIES["shape"], 600, ALLOWED),
    "functional": (FAMILIES["functional"], 450, ALLOWED),
    "index": (FAMILIES["index"], 500, ALLOWED),
    "strict": (strict_cases(), 600, ALLOWED),
    "huge_fixed": ([{"setup": "", "expr": e, "expect": "RuntimeError"} for e in HUGE_FIXED], None, ALLOWED),
    "huge": (huge_cases(), 300, ALLOWED),
    "as_strided": (as_strided_cases(), 400, ALLOWED),
    "ckpt_fixed": (None, None, CKPT_ALLOWED),  # built in the child (needs the builders above)
    "ckpt_geometry": (ckpt_geometry_cases(), 300, CKPT_ALLOWED),
    "ckpt_corrupt": (ckpt_corrupt_cases(), 300, CKPT_ALLOWED),
}


def _case_key(case):
    return case["setup"] + "\n>>> " + case["expr"]


def _child_main(hunt, skip_path, log_path):
    """Runs in the child: every case is logged before it runs, so a crash names its case."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
    except (ImportError, ValueError, OSError):
        pass
    import faulthandler

    faulthandler.enable()  # a segfault prints the Python stack into the captured output
    torch.manual_seed(0)
    with open(skip_path) as f:
        skip = set(json.load(f))
    cases, examples, allowed = HUNTS[hunt]
    if hunt == "ckpt_fixed":
        cases = _ckpt_fixed_cases()
    log = open(log_path, "a")

    def one(case):
        if _case_key(case) in skip:
            return
        log.write(json.dumps({"case": case}) + "\n")
        log.flush()
        problem = check_case(case, allowed=allowed)
        if problem:
            log.write(json.dumps({"problem": problem}) + "\n")
            log.flush()

    if isinstance(cases, list):
        for c in cases:
            one(c)
    else:
        # Failures are collected, not raised, so one run reports every problem (no shrinking:
        # the cases are small by construction).
        run = seed(SEED)(settings(max_examples=max(1, int(examples * EXAMPLES)), deadline=None, database=None,
                                  phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                                  print_blob=False)(given(cases)(one)))
        run()
    log.write(json.dumps({"done": True}) + "\n")
    log.flush()


def run_hunt(hunt):
    """Run a hunt in child processes, restarting past any case that crashes or hangs.
    Returns a report string ('' when every case behaved)."""
    problems, crashes = [], []
    skip = []
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(MAX_RESTARTS + 1):
            skip_path = os.path.join(tmp, "skip.json")
            log_path = os.path.join(tmp, f"log{attempt}.jsonl")
            err_path = os.path.join(tmp, f"err{attempt}.txt")
            with open(skip_path, "w") as f:
                json.dump(skip, f)
            code = ("import sys; sys.path.insert(0, %r); import test_crash_hunt as m; m._child_main(%r, %r, %r)"
                    % (os.path.dirname(os.path.abspath(__file__)), hunt, skip_path, log_path))
            with open(err_path, "wb") as err:
                proc = subprocess.Popen([sys.executable, "-c", code], stdout=err, stderr=subprocess.STDOUT)
                rc = _wait_with_progress(proc, log_path)
            entries = _read_log(log_path)
            problems = [(c, p) for c, p in entries if p]  # the last full run lists them all
            if entries and entries[-1] == ("done", None):
                break
            with open(err_path, "rb") as f:
                tail = f.read()[-1500:].decode("utf-8", "replace")
            last = next((c for c, _ in reversed(entries) if isinstance(c, dict)), None)
            how = "hung (killed)" if rc is None else _describe_rc(rc)
            if last is None:
                crashes.append((None, f"child {how} before running a case:\n{tail}"))
                break
            crashes.append((last, f"process {how}; its output ended with:\n{tail.strip()[-800:]}"))
            skip.append(_case_key(last))
        else:
            crashes.append((None, f"gave up after {MAX_RESTARTS} crashes"))
    missing = sorted({p.split(": ", 1)[1] for c, p in problems if p.startswith(MISSING)})
    if missing:  # the op tables name PyTorch ops; absent ones are hunted once they exist
        print(f"crash hunt '{hunt}': not in this build, so not hunted: " + "; ".join(missing))
    problems = [(c, p) for c, p in problems if c != "done" and not p.startswith(MISSING)]
    if not problems and not crashes:
        return ""
    out = [f"hunt '{hunt}' (seed {SEED}, CRASH_HUNT_EXAMPLES={EXAMPLES}): "
           f"{len(crashes)} crash(es)/hang(s), {len(problems)} problem(s); by class, shortest reproducers first:"]
    groups = {}
    for case, why in crashes + problems:
        groups.setdefault(_problem_class(case, why), []).append((case, why))
    for cls, items in groups.items():
        items.sort(key=lambda cw: len(_reproducer(cw[0])) if isinstance(cw[0], dict) else 0)
        out.append("=" * 70)
        out.append(f"[{len(items)} case(s)] {cls}")
        for case, why in items[:2]:
            out.append("-" * 70)
            out.append(why)
            if isinstance(case, dict):
                out.append(_reproducer(case))
    return "\n".join(out)


def _problem_class(case, why):
    op = re.match(r"[\w.]*", case["expr"]).group(0) if isinstance(case, dict) else ""
    msg = re.sub(r"'[^']*'|\(shape .*|\d+", "", why.splitlines()[0])[:90]
    return f"{op}: {msg}"


def _wait_with_progress(proc, log_path, stall=STALL_SECONDS):
    """Wait for the child; kill it when no new case starts for ``stall`` seconds (a hang)."""
    import time

    last_size, last_change = -1, time.monotonic()
    while True:
        try:
            return proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        size = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        now = time.monotonic()
        if size != last_size:
            last_size, last_change = size, now
        elif now - last_change > stall:
            proc.kill()
            proc.wait()
            return None


def _read_log(path):
    entries = []
    if not os.path.exists(path):
        return entries
    with open(path) as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut by the crash
            if "case" in rec:
                entries.append((rec["case"], None))
            elif "problem" in rec and entries:
                entries[-1] = (entries[-1][0], rec["problem"])
            elif rec.get("done"):
                entries.append(("done", None))
    return entries


def _describe_rc(rc):
    if rc < 0:
        import signal

        try:
            return f"was killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"was killed by signal {-rc}"
    return f"exited with status {rc}"


def _reproducer(case):
    head = HEADER
    if "ckpt" in case["setup"] or "_valid_ckpt" in case["setup"]:
        head += "import io, struct, sys; sys.path.insert(0, 'tests'); from test_crash_hunt import *\n"
    body = case["setup"] + ("\n" if case["setup"] else "") + case["expr"]
    exp = case.get("expect")
    note = f"  # PyTorch: {'returns a result' if exp == 'ok' else exp}" if exp else ""
    return head + body + note


def _assert_hunt(hunt):
    report = run_hunt(hunt)
    print(f"crash hunt '{hunt}': seed {SEED}")
    if report:
        pytest.fail(report, pytrace=False)


# =========================================================================== tests
def test_unary_ops_survive_random_inputs():
    _assert_hunt("unary")


def test_binary_ops_survive_random_inputs():
    _assert_hunt("binary")


def test_reductions_survive_random_inputs():
    _assert_hunt("reduce")


def test_shape_ops_survive_random_inputs():
    _assert_hunt("shape")


def test_functional_ops_survive_random_inputs():
    _assert_hunt("functional")


def test_indexing_survives_random_inputs():
    _assert_hunt("index")


def test_out_of_range_dims_and_indices_raise_like_pytorch():
    _assert_hunt("strict")


def test_huge_sizes_raise_runtime_error():
    _assert_hunt("huge_fixed")


def test_random_huge_sizes_raise_runtime_error():
    _assert_hunt("huge")


def test_as_strided_is_validated_against_storage():
    _assert_hunt("as_strided")


def test_crafted_checkpoints_raise():
    _assert_hunt("ckpt_fixed")


def test_checkpoint_geometry_is_validated():
    _assert_hunt("ckpt_geometry")


def test_corrupt_checkpoints_do_not_crash():
    _assert_hunt("ckpt_corrupt")
