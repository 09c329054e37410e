"""torch-namespace functions built from ferrotorch tensor ops: constants, asarray/frombuffer,
isin, cov/corrcoef, histogram(dd), block_diag, combinations, vander, trapezoid rules, frexp,
h/v/dsplit, unravel_index, the deterministic-algorithms flags, vmap."""
import builtins
import collections.abc
import itertools
import math
import numbers
import warnings
from collections import namedtuple
from fractions import Fraction

import numpy as np

from . import _C, _core, _ops
from ._core import Tensor, return_types
from ._ops import METHODS, _is_t, _SCALAR_NAME, _CPP_NAME

__all__ = ["dist", "e", "pi", "inf", "nan", "newaxis", "asarray", "frombuffer", "isin", "cov", "corrcoef", "histogram",
           "histogramdd", "block_diag", "combinations", "vander", "trapezoid", "trapz", "cumulative_trapezoid",
           "frexp", "dsplit", "hsplit", "vsplit", "unravel_index", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
           "set_deterministic_debug_mode", "get_deterministic_debug_mode", "vmap"]

e = math.e
pi = math.pi
inf = math.inf
nan = math.nan
newaxis = None

_int, _float, _bool, _range = builtins.int, builtins.float, builtins.bool, builtins.range
_f32, _f64, _i64 = _core.float32, _core.float64, _core.int64


# ---------------------------------------------------------------- helpers

def _rtype(name, fields):
    """A torch.return_types structseq look-alike: a namedtuple with PyTorch's multi-line repr."""
    base = namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{k}={v!r}" for k, v in zip(self._fields, self))
        return f"torch.return_types.{name}(\n{body})"
    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__str__": __repr__})
    cls.__module__ = "torch.return_types"
    # torch.return_types.<name> should resolve too (only where the core lacks it)
    if not hasattr(return_types, name):
        setattr(return_types, name, cls)
    return cls


_histogram_rt = _rtype("histogram", ["hist", "bin_edges"])
_histogramdd_rt = _rtype("histogramdd", ["hist", "bin_edges"])
_frexp_rt = _rtype("frexp", ["mantissa", "exponent"])

_warned = set()


def _warn_once(key, msg):
    """PyTorch's TORCH_WARN_ONCE: a UserWarning the first time only."""
    if key not in _warned:
        _warned.add(key)
        warnings.warn(msg, UserWarning, stacklevel=3)


def _tname(x):
    return "Tensor" if _is_t(x) else type(x).__name__


def _bad_args(name, sigs, args, kwargs):
    """PyTorch's argument-parser TypeError (keywords listed last-given first, as it does)."""
    got = [_tname(a) for a in args] + [f"{k}={_tname(v)}" for k, v in reversed(list(kwargs.items()))]
    lines = "".join(f" * ({s})\n" for s in sigs)
    return TypeError(f"{name}() received an invalid combination of arguments - got ({', '.join(got)}), "
                     f"but expected one of:\n{lines}")


def _is_int(x):
    return isinstance(x, numbers.Integral) and not isinstance(x, _bool)


def _is_num(x):
    return isinstance(x, numbers.Number)


def _wrap(dim, ndim):
    """maybe_wrap_dim without the 0-d leniency (PyTorch's message for a 0-d tensor)."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _ops._wrap(dim, ndim)


def _gfmt(v):
    """A double as C++ streams print it (6 significant digits)."""
    return f"{v:g}"


def _method(*names):
    """Registers a Tensor method (also when the Tensor class was set up before this import)."""
    def deco(f):
        for n in names or (f.__name__,):
            METHODS[n] = f
            setattr(Tensor, n, f)
        return f
    return deco


# ---------------------------------------------------------------- asarray / frombuffer

_NP_BUF = dict(_core._NP_OF)
_NP_BUF[_core.bfloat16] = np.int16  # read as int16, reinterpreted below


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """torch.frombuffer: a 1-D tensor sharing memory with an object that has the buffer protocol."""
    try:
        mv = memoryview(buffer)
    except TypeError:
        raise ValueError("object does not implement Python buffer protocol.") from None
    n, size = mv.nbytes, dtype.itemsize
    if n == 0 or count == 0:
        raise ValueError(f"both buffer length ({n}) and count ({count}) must not be 0")
    if offset < 0 or offset >= n:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length ({n} bytes) minus 1")
    if count < 0:
        if (n - offset) % size:
            raise ValueError(f"buffer length ({n - offset} bytes) after offset ({offset} bytes) must be a multiple "
                             f"of element size ({size})")
        count = (n - offset) // size
    elif offset + count * size > n:
        raise ValueError(f"requested buffer length ({count} * {size} bytes) after offset ({offset} bytes) must not "
                         f"be greater than actual buffer length ({n} bytes)")
    if mv.readonly:
        _warn_once("frombuffer", "The given buffer is not writable, and PyTorch does not support non-writable tensors. "
                   "This means you can write to the underlying (supposedly non-writable) buffer using the tensor. "
                   "You may want to copy the buffer to protect its data or make it writable before converting it to "
                   "a tensor. This type of warning will be suppressed for the rest of this program.")
    arr = np.frombuffer(mv.cast("B") if mv.ndim != 1 or mv.format != "B" else mv, dtype=_NP_BUF[dtype],
                        count=count, offset=offset)
    t = _C.from_numpy(arr)
    if dtype == _core.bfloat16:
        t = _C.view_dtype(t, dtype)
    if requires_grad:
        _require_float(t)
        t.requires_grad_(True)
    return t


def _require_float(t):
    if not t.dtype.is_floating_point:
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")


def _scalarize(data):
    """Tensors nested in a sequence convert like Python scalars (one element each)."""
    if _is_t(data):
        if data.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return data.item()
    if isinstance(data, (list, tuple)):
        return [_scalarize(x) for x in data]
    return data


def _has_tensor(data):
    return _is_t(data) or (isinstance(data, (list, tuple)) and builtins.any(_has_tensor(x) for x in data))


def _is_buffer(obj):
    try:
        memoryview(obj)
        return True
    except TypeError:
        return False


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """torch.asarray: shares memory with a tensor, NumPy array, DLPack object or buffer when it can
    (and copy is not True); copy=False raises ValueError where a copy is needed."""
    _ops._check_device(device)
    src_grad = _is_t(obj) and obj.requires_grad
    if _is_t(obj) or isinstance(obj, np.ndarray) or (hasattr(obj, "__dlpack__") and not isinstance(obj, np.generic)):
        if _is_t(obj):
            t = obj
        elif isinstance(obj, np.ndarray):
            t = _ops.from_numpy(obj)
        else:
            from ._dlpack import from_dlpack
            t = from_dlpack(obj)
        if dtype is not None and dtype != t.dtype:
            if copy is False:
                if _is_t(obj) or isinstance(obj, np.ndarray):
                    raise ValueError(f"can't alias tensor with dtype '{_SCALAR_NAME[t.dtype]}' into dtype "
                                     f"'{_SCALAR_NAME[dtype]}'.")
                raise ValueError("can't alias arbitrary sequence into a tensor.")
            t = t.to(dtype)
        elif copy:
            t = t.clone()
    elif isinstance(obj, np.generic):
        if copy is False:
            raise RuntimeError("can't alias NumPy scalars. Either remove copy=False or transform it in a ndarray. ")
        t = _ops.tensor(obj, dtype=dtype)
    elif _is_buffer(obj) and not isinstance(obj, (list, tuple)):
        t = frombuffer(obj, dtype=dtype or _ops.get_default_dtype())
        if copy:
            t = t.clone()
    else:
        if copy is False:
            raise ValueError("can't alias arbitrary sequence into a tensor.")
        if isinstance(obj, str):
            raise TypeError("new(): invalid data type 'str'")
        if isinstance(obj, collections.abc.Sequence) and not isinstance(obj, (list, tuple)):
            obj = list(obj)  # range and other sequence types
        if not isinstance(obj, (list, tuple, numbers.Number)):
            raise RuntimeError(f"Could not infer dtype of {type(obj).__name__}")
        if isinstance(obj, (list, tuple)) and _has_none(obj):
            raise RuntimeError("Could not infer dtype of NoneType")
        if _has_tensor(obj):
            obj = _scalarize(obj)
        t = _ops.tensor(obj, dtype=dtype)
    if requires_grad is None:
        if src_grad:
            _warn_once("asarray", "torch.asarray: unspecified requires_grad now defaults to obj.requires_grad instead "
                       "of False. Pass requires_grad=False explicitly to get the old behavior and silence this warning.")
    elif requires_grad:
        _require_float(t)
        if not t.requires_grad:
            t.requires_grad_(True)
    elif t.requires_grad:
        t = t.detach()
    return t


def _has_none(x):
    return x is None or (isinstance(x, (list, tuple)) and builtins.any(_has_none(v) for v in x))


# ---------------------------------------------------------------- isin

_ISIN_SIGS = ["Tensor elements, Tensor test_elements, *, bool assume_unique = False, bool invert = False, Tensor out = None",
              "Number element, Tensor test_elements, *, bool assume_unique = False, bool invert = False, Tensor out = None",
              "Tensor elements, Number test_element, *, bool assume_unique = False, bool invert = False, Tensor out = None"]


def _as_dtype(x, dtype):
    """A tensor or Python scalar in `dtype` (integers wrap like a C cast, as PyTorch's scalar args)."""
    if _is_t(x):
        return x.detach().to(dtype)
    if isinstance(x, numbers.Integral) and not dtype.is_floating_point:
        return _ops.full((), _int(x), dtype=_i64).to(dtype)
    return _ops.full((), x, dtype=dtype)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element of `elements` is in `test_elements` (NaN matches nothing)."""
    e_ok = _is_t(elements) or _is_num(elements)
    t_ok = _is_t(test_elements) or _is_num(test_elements)
    if not (e_ok and t_ok and (_is_t(elements) or _is_t(test_elements))):
        raise _bad_args("isin", _ISIN_SIGS, (elements, test_elements), {})
    for x in (elements, test_elements):
        if isinstance(x, _bool) or (_is_t(x) and x.dtype == _core.bool):
            raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    dt = _ops.result_type(elements, test_elements) if _is_t(elements) else _ops.result_type(test_elements, elements)
    el, te = _as_dtype(elements, dt), _as_dtype(test_elements, dt).reshape(-1)
    if dt.is_floating_point:
        te = te[te == te]  # a NaN matches nothing, and would break the binary search's order
    if te.numel() == 0:
        return _ops.full(tuple(el.shape), _bool(invert), dtype=_core.bool)
    if dt in (_core.float16, _core.bfloat16):
        el, te = el.to(_f32), te.to(_f32)  # exact; the search kernel wants 32 bits
    s = _ops.sort(te).values
    flat = el.reshape(-1)
    pos = _ops.clamp(_ops.searchsorted(s, flat), max=s.shape[0] - 1)
    found = (_ops.index_select(s, 0, pos) == flat).reshape(tuple(el.shape))
    return _ops.logical_not(found) if invert else found


# ---------------------------------------------------------------- cov / corrcoef

def _check_weights(name, w, n, floating):
    if w.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with {w.ndim} dimensions")
    if floating and not w.dtype.is_floating_point:
        raise RuntimeError(f"cov(): expected {name} to have floating point dtype but got {name} with "
                           f"{_SCALAR_NAME[w.dtype]} dtype")
    if not floating and (w.dtype.is_floating_point or w.dtype == _core.bool):
        raise RuntimeError(f"cov(): expected {name} to have integral dtype but got {name} with {_SCALAR_NAME[w.dtype]} dtype")
    if w.numel() != n:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the input "
                           f"but got {w.numel()} != {n}")
    if w.numel() and _bool((w.detach().min() < 0).item()):
        raise RuntimeError(f"cov(): {name} cannot be negative")


@_method()
def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the variables in the rows of `input` (observations in columns)."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with {input.ndim} dimensions")
    if input.dtype == _core.bool:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    if not _is_int(correction) and not isinstance(correction, _bool):
        raise TypeError(f"cov(): argument 'correction' must be int, not {type(correction).__name__}")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    n = x.shape[1]
    if fweights is not None:
        _check_weights("fweights", fweights, n, False)
    if aweights is not None:
        _check_weights("aweights", aweights, n, True)
    w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        w_sum = _ops.tensor(n, dtype=_i64)
    else:
        w_sum = w.sum()
        if not _bool((w_sum != 0).item()):
            raise RuntimeError("cov(): weights sum to zero, can't be normalized")
    avg = (x if w is None else x * w).sum(1) / w_sum
    if w is not None and correction != 0 and aweights is not None:
        norm = w_sum - correction * (w * aweights).sum() / w_sum
    else:
        norm = w_sum - correction
    if _bool((norm <= 0).item()):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=2)
        norm = _ops.zeros_like(norm)
    xc = x - avg.unsqueeze(1)
    c = _ops.mm(xc, _C.conj((xc if w is None else xc * w).t()))  # conj: Hermitian for complex rows
    return (c / norm).squeeze()


@_method()
def corrcoef(input):
    """Pearson correlation coefficients of the rows of `input`, clamped to [-1, 1]."""
    if input.ndim > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with {input.ndim} dimensions")
    c = cov(input)
    if c.ndim == 0:
        return c / c
    sd = _ops.sqrt(_ops.diagonal(c, 0, 0, 1))
    c = c / sd.unsqueeze(1)
    c = c / sd.unsqueeze(0)
    return _ops.clamp(c, -1, 1)


# ---------------------------------------------------------------- histogram / histogramdd

_HIST_KERNEL = (_f32, _f64, _core.float16, _core.bfloat16)


def _fma_linspace(lo, hi, n, dtype):
    """PyTorch's CPU linspace as its AVX2 kernel rounds it: start + step*i (fused) for the first
    half, end - step*(n-1-i) for the rest, with step computed in the output dtype."""
    if dtype == _f64:
        step = (hi - lo) / (n - 1) if n > 1 else 0.0
        half = n // 2
        vals = [_float(Fraction(step) * i + Fraction(lo)) if i < half else
                _float(Fraction(hi) - Fraction(step) * (n - 1 - i)) for i in _range(n)]
        return _ops.tensor(vals, dtype=_f64)
    ends = _ops.tensor([lo, hi], dtype=_f64).to(dtype)
    s, t = ends[0], ends[1]
    i = _ops.arange(n, dtype=_f64)
    if dtype in (_core.float16, _core.bfloat16):
        step = (t - s) / _ops.tensor(n - 1, dtype=dtype) if n > 1 else _ops.zeros((), dtype=dtype)
        # c10::Half/BFloat16 arithmetic rounds after every operation (no fused multiply-add)
        lo_v = s + step * i.to(dtype)
        hi_v = t - step * (n - 1 - i).to(dtype)
        return _ops.where(i < n // 2, lo_v, hi_v)
    # float32: the fused product-sum is exact in float64 and rounds once, to float32
    step = (t - s) / (n - 1) if n > 1 else _ops.zeros((), dtype=dtype)
    step, s64, t64 = step.to(_f64), s.to(_f64), t.to(_f64)
    return _ops.where(i < n // 2, s64 + step * i, t64 - step * (n - 1 - i)).to(dtype)


def _check_hist_weight(x2, weight):
    if weight.dtype != x2.dtype:
        raise RuntimeError(f"torch.histogramdd: if weight tensor is provided, input tensor and weight tensor should have "
                           f"the same dtype, but got input({_CPP_NAME[x2.dtype]}), and weight({_CPP_NAME[weight.dtype]})")
    want = list(x2.shape[:-1])
    got = list(weight.shape) or [1]
    if got != want:
        raise RuntimeError("torch.histogramdd: if weight tensor is provided it should have the same shape as the input "
                           f"tensor excluding its innermost dimension, but got input with shape {list(x2.shape)} and "
                           f"weight with shape {list(weight.shape)}")


def _check_kernel(dtype):
    if dtype not in _HIST_KERNEL:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_SCALAR_NAME[dtype]}'")


def _outer_edges(x2, rng):
    """Per-dimension (leftmost, rightmost) edges from `range` or the data (PyTorch's checks)."""
    D = x2.shape[-1]
    if rng is not None:
        rng = list(rng)
        if len(rng) != 2 * D:
            raise RuntimeError(f"torch.histogramdd: for a {D}-dimensional histogram range should have {2 * D} "
                               f"elements, but got {len(rng)}")
        lo, hi = [_float(v) for v in rng[0::2]], [_float(v) for v in rng[1::2]]
    elif x2.numel():
        if x2.dtype not in (_f32, _f64):
            raise NotImplementedError(f"\"histogramdd\" not implemented for '{_SCALAR_NAME[x2.dtype]}'")
        d = x2.detach()
        lo, hi = d.amin(0).tolist(), d.amax(0).tolist()
    else:
        lo, hi = [0.0] * D, [1.0] * D
    for k in _range(D):
        if not (math.isfinite(lo[k]) and math.isfinite(hi[k])):
            raise RuntimeError(f"torch.histogramdd: dimension {k}'s range [{_gfmt(lo[k])}, {_gfmt(hi[k])}] is not finite")
        if lo[k] > hi[k]:
            raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {_gfmt(lo[k])} max "
                               f"{_gfmt(hi[k])} for dimension {k}")
        if lo[k] == hi[k]:
            lo[k], hi[k] = lo[k] - 0.5, hi[k] + 0.5
    if x2.dtype in (_f32, _core.float16, _core.bfloat16):
        big = _core.finfo(x2.dtype).max
        if builtins.any(abs(v) > big for v in lo + hi):
            raise RuntimeError(f"value cannot be converted to type {_CPP_NAME[x2.dtype].replace('c10::', 'at::')} without overflow")
    return lo, hi


def _upper_bound(seq, vals, first=None, last=None):
    """std::upper_bound of each value in seq[first:last] (the same binary search, so it agrees
    with PyTorch's kernel even for unsorted or NaN edges)."""
    n = seq.shape[0]
    first = _ops.zeros(vals.shape, dtype=_i64) if first is None else first
    count = (_ops.full(vals.shape, n, dtype=_i64) if last is None else last) - first
    count = _ops.clamp(count, min=0)
    steps = _int(count.max().item()).bit_length() + 1 if count.numel() else 0
    for _ in _range(steps):
        step = count // 2
        it = first + step
        at = _ops.index_select(seq, 0, _ops.clamp(it, 0, n - 1).reshape(-1)).reshape(vals.shape)
        right = (count > 0) & _ops.logical_not(vals < at)
        first = _ops.where(right, it + 1, first)
        count = _ops.where(right, count - step - 1, _ops.where(count > 0, step, count))
    return first


def _hist_core(x2, edges, weight, density, linear=False):
    """Counts (or weight sums) of the rows of x2 (N, D) in the bins between `edges` (one 1-D
    tensor per dimension); the last bin of each dimension includes its right edge. With
    `linear` (equal-width bins), the bin is first estimated by interpolation in the input's
    dtype and then searched for among its neighbours, as PyTorch's kernel does."""
    D = x2.shape[-1]
    counts = [e.shape[0] - 1 for e in edges]
    xs = x2.detach().reshape(-1, D)
    search = _f32 if x2.dtype in (_core.float16, _core.bfloat16) else x2.dtype
    keep = _ops.ones(xs.shape[0], dtype=_core.bool)
    flat = _ops.zeros(xs.shape[0], dtype=_i64)
    for k, e in enumerate(edges):
        col = xs[:, k].to(search)
        es = e.detach().to(search)
        keep = keep & (col >= es[0]) & (col <= es[-1])
        if linear:
            # the bin estimated by interpolation in the input's dtype, then searched for among
            # its neighbours (C++ converts the integer factor to the dtype: 256 for 257 in bfloat16)
            x, ed = xs[:, k], e.detach()
            guess = ((x - ed[0]) * _ops.tensor(counts[k], dtype=x.dtype)) / (ed[-1] - ed[0])
            guess = _ops.where(_ops.isfinite(guess), guess, _ops.zeros_like(guess))
            guess = _ops.clamp(guess.to(_f64), -1.0, counts[k] + 2.0).to(_i64)
            ub = _upper_bound(es, col, _ops.clamp(guess - 1, min=0), _ops.clamp(guess + 2, max=counts[k] + 1))
        else:
            ub = _upper_bound(es, col)
        pos = _ops.clamp(ub - 1, 0, counts[k] - 1)
        flat = flat * counts[k] + pos
    total = 1
    for c in counts:
        total *= c
    # half-precision counts accumulate in float32 (as PyTorch's kernel does)
    acc = _f32 if x2.dtype in (_core.float16, _core.bfloat16) else x2.dtype
    w = _ops.ones(xs.shape[0], dtype=acc) if weight is None else weight.detach().reshape(-1).to(acc)
    idx = _ops.masked_select(flat, keep)
    hist = _ops.zeros(total, dtype=acc).index_add_(0, idx, _ops.masked_select(w, keep))
    hist = hist.to(x2.dtype).reshape(*counts)
    if density:
        hist = hist / hist.sum()
        for k, e in enumerate(edges):
            shape = [1] * D
            shape[k] = counts[k]
            hist = hist / _ops.diff(e.detach()).reshape(*shape)
    return hist


_HIST_SIGS = ["Tensor input, Tensor bins, *, Tensor weight = None, bool density = False, tuple of Tensors out = None",
              "Tensor input, int bins = 100, *, tuple of floats range = None, Tensor weight = None, bool density = False, tuple of Tensors out = None"]


@_method()
def histogram(input, bins=100, *args, range=None, weight=None, density=False):
    """Histogram of the values of `input`: `bins` equal-width bins over `range` (default: the data's
    min and max) or bins between the edges in a 1-D tensor. Returns (hist, bin_edges)."""
    kw = {k: v for k, v in (("range", range), ("weight", weight), ("density", density)) if v is not None and v is not False}
    if args or not _is_t(input) or not (_is_t(bins) or _is_int(bins)) or (_is_t(bins) and range is not None) or \
            (range is not None and not (isinstance(range, (list, tuple)) and builtins.all(_is_num(v) and not _is_t(v) for v in range))):
        raise _bad_args("histogram", _HIST_SIGS, (input, bins) + args, kw)
    x2 = input.reshape(-1, 1)
    if weight is not None:
        weight = weight.reshape(-1)
    if _is_t(bins):
        edges = _check_bin_tensors(x2, [bins], weight)
    else:
        if bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
        lo, hi = _outer_edges(x2, range)
        edges = [_fma_linspace(lo[0], hi[0], bins + 1, x2.dtype)]
        if weight is not None:
            _check_hist_weight(x2, weight)
    _check_kernel(input.dtype)
    return _histogram_rt(_hist_core(x2, edges, weight, density, not _is_t(bins)), edges[0])


def _check_bin_tensors(x2, bins, weight):
    for k, b in enumerate(bins):
        if b.dtype != x2.dtype:
            raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, but got "
                               f"input with dtype {_CPP_NAME[x2.dtype]} and bins for dimension {k} with dtype {_CPP_NAME[b.dtype]}")
        if b.ndim != 1:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got {b.ndim} dimensions "
                               f"in the bins tensor for dimension {k}")
        if b.numel() == 0:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have at least 1 element, but got 0 elements in "
                               f"the bins tensor for dimension {k}")
    if weight is not None:
        _check_hist_weight(x2, weight)
    for k, b in enumerate(bins):
        if b.numel() - 1 <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {b.numel() - 1} for dimension {k}")
    return [b.detach().clone() for b in bins]


_HISTDD_SIGS = ["Tensor input, int bins, tuple of floats range = None, Tensor weight = None, bool density = False",
                "Tensor input, tuple of ints bins, tuple of floats range = None, Tensor weight = None, bool density = False",
                "Tensor input, tuple of Tensors bins, tuple of floats range = None, Tensor weight = None, bool density = False"]


def histogramdd(input, bins, *, range=None, weight=None, density=False):
    """Multi-dimensional histogram of the points in the last dimension of `input`; `bins` is an int,
    a sequence of ints (one per dimension) or a sequence of 1-D edge tensors."""
    kw = {"bins": bins}
    for k, v in (("range", range), ("weight", weight), ("density", density)):
        if v is not None and v is not False:
            kw[k] = v
    if _is_t(bins) or not (_is_int(bins) or (isinstance(bins, (list, tuple)) and
                                              (builtins.all(_is_int(b) for b in bins) or builtins.all(_is_t(b) for b in bins)))):
        raise _bad_args("histogramdd", _HISTDD_SIGS, (input,), kw)
    if input.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    D = input.shape[-1]
    x2 = input.reshape(-1, D)
    if _is_int(bins):
        bins = [bins] * D
    bins = list(bins)
    if len(bins) != D:
        raise RuntimeError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    if weight is not None:
        _check_hist_weight(input, weight)
    if bins and _is_t(bins[0]):
        edges = _check_bin_tensors(x2, bins, None)
    else:
        for k, b in enumerate(bins):
            if b <= 0:
                raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {b} for dimension {k}")
        lo, hi = _outer_edges(x2, range)
        edges = [_fma_linspace(lo[k], hi[k], bins[k] + 1, x2.dtype) for k in _range(D)]
    _check_kernel(input.dtype)
    return _histogramdd_rt(_hist_core(x2, edges, weight, density, not _is_t(bins[0])), tuple(edges))


# ---------------------------------------------------------------- construction helpers

def block_diag(*tensors):
    """A block-diagonal matrix of the given 0-D, 1-D (one row) and 2-D blocks."""
    for i, t in enumerate(tensors):
        if not _is_t(t):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has {t.ndim} dimensions")
    if not tensors:
        return _ops.empty((1, 0), dtype=_ops.get_default_dtype())
    dt = _ops._result_type_n(*tensors)
    mats = [t.reshape(1, -1) if t.ndim < 2 else t for t in tensors]
    cols = builtins.sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        r, c = m.shape
        rows.append(_ops.cat([_ops.zeros(r, left, dtype=dt), m.to(dt), _ops.zeros(r, cols - left - c, dtype=dt)], 1))
        left += c
    return _ops.cat(rows, 0)


def combinations(input, r=2, with_replacement=False):
    """All length-r combinations of the elements of a 1-D tensor (itertools order), one per row."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return _ops.empty((0,), dtype=input.dtype)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = [i for combo in pick(_range(input.shape[0]), r) for i in combo]
    if not idx:
        return _ops.empty((0, r), dtype=input.dtype)
    return _ops.index_select(input, 0, _ops.tensor(idx, dtype=_i64)).reshape(-1, r)


def vander(x, N=None, increasing=False):
    """Vandermonde matrix: columns are powers of `x` (decreasing unless `increasing`)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dt = _ops.promote_types(x.dtype, _i64)
    xs = x.to(dt)
    if n == 0:
        return _ops.empty((x.shape[0], 0), dtype=dt)
    ones = _ops.ones(x.shape[0], 1, dtype=dt)
    out = ones if n == 1 else _ops.cat([ones, _ops.cumprod(xs.unsqueeze(1).expand(x.shape[0], n - 1), 1)], 1)
    return out if increasing else _ops.flip(out, 1)


# ---------------------------------------------------------------- trapezoid rules

_TRAP_SIGS = ["Tensor y, Tensor x, *, int dim = -1", "Tensor y, *, Number dx = 1, int dim = -1"]


def _trap_args(name, y, x, dx, dim, extra):
    if _is_t(dx) and dx.ndim == 0:
        dx = dx.item()  # a 0-d tensor parses as a Number
    if x is None:
        raise _bad_args(name, _TRAP_SIGS, (y, x) + extra, {k: v for k, v in (("dim", dim), ("dx", dx))
                                                          if v is not None and not (k == "dim" and v == -1)})
    x = None if x is _NOX else x
    kw = {k: v for k, v in (("dim", dim), ("x", x), ("dx", dx)) if v is not None and not (k == "dim" and v == -1)}
    if extra or not _is_t(y) or (x is not None and (dx is not None or not _is_t(x))) or \
            (dx is not None and not _is_num(dx)) or not _is_int(dim):
        pos = (y,) + extra
        if x is not None and "x" in kw and not _is_t(x):
            pos, kw = pos + (x,), {k: v for k, v in kw.items() if k != "x"}
        raise _bad_args(name, _TRAP_SIGS, pos, kw)
    if isinstance(dx, _bool):
        raise RuntimeError(f"{name}: Currently, we only support dx as a real number.")
    return dx


def _view_x(name, x, y, d):
    """x laid out against y's dims: 1-D along `d`, fewer dims padded in front."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        shape = [1] * y.ndim
        shape[d] = x.shape[0]
        return x.reshape(shape)
    if x.ndim < y.ndim:
        return x.reshape([1] * (y.ndim - x.ndim) + list(x.shape))
    return x


_NOX = object()


def trapezoid(y, x=_NOX, *args, dx=None, dim=-1):
    """Integral of y along `dim` by the trapezoidal rule, at sample points `x` or spacing `dx`."""
    dx = _trap_args("trapezoid", y, x, dx, dim, args)
    x = None if x is _NOX else x
    d = _wrap(dim, y.ndim)
    if y.shape[d] == 0:
        shape = list(y.shape)
        del shape[d]
        return _ops.zeros(shape, dtype=y.dtype)
    if x is None:
        if y.dtype == _core.bool:
            raise RuntimeError("trapezoid: received a bool input for `y`, but bool is not supported")
        n = y.shape[d]
        return (y.sum(d) - (_ops.select(y, d, 0) + _ops.select(y, d, n - 1)) * 0.5) * (1 if dx is None else dx)
    if y.dtype == _core.bool or x.dtype == _core.bool:
        raise RuntimeError("trapezoid: received a bool input for `x` or `y`, but bool is not supported")
    xv = _view_x("trapezoid", x, y, d)
    m = xv.shape[d]
    dxs = _ops.narrow(xv, d, 1, m - 1) - _ops.narrow(xv, d, 0, m - 1)
    n = y.shape[d]
    return (dxs * (_ops.narrow(y, d, 1, n - 1) + _ops.narrow(y, d, 0, n - 1))).sum(d) / 2.0


def trapz(y, x=_NOX, *args, dx=None, dim=-1):
    """torch.trapz: trapezoid under its older name."""
    return trapezoid(y, x, *args, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=_NOX, *args, dx=None, dim=-1):
    """Running trapezoidal integral of y along `dim` (one fewer element than y there)."""
    dx = _trap_args("cumulative_trapezoid", y, x, dx, dim, args)
    x = None if x is _NOX else x
    if x is None:
        if y.dtype == _core.bool:
            raise RuntimeError("cumulative_trapezoid: received a bool input for `y`, but bool is not supported")
        if y.ndim == 0:
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        d = _ops._wrap(dim, y.ndim)
        step = (1 if dx is None else dx) / 2.0
    else:
        d = _wrap(dim, y.ndim)
        if y.dtype == _core.bool or x.dtype == _core.bool:
            raise RuntimeError("cumulative_trapezoid: received a bool input for `x` or `y`, but bool is not supported")
        xv = _view_x("cumulative_trapezoid", x, y, d)
        m = xv.shape[d]
        step = (_ops.narrow(xv, d, 1, m - 1) - _ops.narrow(xv, d, 0, m - 1)) / 2.0
    n = y.shape[d]
    if n == 0:
        return y.to(_ops.promote_types(y.dtype, _ops.get_default_dtype()) if not y.dtype.is_floating_point else y.dtype)
    return _ops.cumsum(step * (_ops.narrow(y, d, 0, n - 1) + _ops.narrow(y, d, 1, n - 1)), d)


# ---------------------------------------------------------------- frexp

def _pow2(k):
    """Two float64 factors whose product is 2**k (each stays in range for any float's exponent)."""
    k1 = _ops.floor_divide(k, 2)
    return _ops.exp2(k1.to(_f64)), _ops.exp2((k - k1).to(_f64))


@_method()
def frexp(input):
    """Splits `input` into mantissa in [0.5, 1) (by magnitude) and int32 exponent: input = m * 2**e."""
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    a = input.detach().to(_f64).abs()
    ok = _ops.isfinite(a) & (a != 0)
    safe = _ops.where(ok, a, _ops.ones_like(a))
    ex = _ops.floor(_ops.log2(safe)).to(_i64) + 1
    # log2 may round across a power of two: fix the exponent so that 0.5 <= |m| < 1
    s1, s2 = _pow2(-ex)
    m = safe * s1 * s2
    ex = ex + (m >= 1).to(_i64) - (m < 0.5).to(_i64)
    ex = _ops.where(ok, ex, _ops.zeros_like(ex))
    s1, s2 = _pow2(-ex)
    # scaling by a power of two is exact; the gradient is that power (PyTorch's FrexpBackward)
    return _frexp_rt((input.to(_f64) * s1 * s2).to(input.dtype), ex.to(_core.int32))


# ---------------------------------------------------------------- h/v/dsplit

_SPLIT_SIGS = ["Tensor input, int sections", "Tensor input, tuple of ints indices"]


def _nsplit(name, input, parts, dim, min_dims, extra):
    if extra or not (_is_int(parts) or (isinstance(parts, (list, tuple)) and builtins.all(_is_int(p) for p in parts))):
        raise _bad_args(name, _SPLIT_SIGS, (input, parts) + extra, {})
    if input.ndim < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a tensor with "
                           f"{input.ndim} dimensions!")
    if _is_int(parts):
        n = input.shape[dim]
        if parts == 0 or n % parts:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                               f"{n} is not divisible by the split_size {parts}!")
        return _ops.tensor_split(input, parts, dim)
    return _ops.tensor_split(input, list(parts), dim)


@_method()
def hsplit(input, indices_or_sections, *args):
    """Splits along dim 1 (dim 0 for 1-D tensors), like numpy.hsplit."""
    return _nsplit("hsplit", input, indices_or_sections, 0 if input.ndim == 1 else 1, 1, args)


@_method()
def vsplit(input, indices_or_sections, *args):
    """Splits along dim 0 of a tensor with at least 2 dims, like numpy.vsplit."""
    return _nsplit("vsplit", input, indices_or_sections, 0, 2, args)


@_method()
def dsplit(input, indices_or_sections, *args):
    """Splits along dim 2 of a tensor with at least 3 dims, like numpy.dsplit."""
    return _nsplit("dsplit", input, indices_or_sections, 2, 3, args)


# ---------------------------------------------------------------- unravel_index

def unravel_index(indices, shape):
    """Flat indices into a tensor of `shape` as a tuple of coordinate tensors (wrapping like %)."""
    if not _is_t(indices):
        raise AttributeError(f"'{type(indices).__name__}' object has no attribute 'is_complex'")
    if indices.dtype.is_floating_point or indices.dtype == _core.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got torch.{str(indices.dtype).split('.')[-1]}")
    if isinstance(shape, numbers.Integral):
        shape = [_int(shape)]
    elif isinstance(shape, (list, tuple)):
        for s in shape:
            if not isinstance(s, numbers.Integral):
                raise TypeError(f"expected 'shape' sequence to only contain ints, but got {type(s)}")
        shape = [_int(s) for s in shape]
    else:
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {type(shape)}")
    if builtins.any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {tuple(shape)}")
    coefs, c = [], 1
    for s in reversed(shape):
        coefs.append(c)
        c *= s
    coefs.reverse()
    q = _ops.floor_divide(indices.unsqueeze(-1), _ops.tensor(coefs, dtype=_i64))
    return (q % _ops.tensor(shape, dtype=_i64)).unbind(-1)


# ---------------------------------------------------------------- global flags

_det = {"on": False, "warn_only": False}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Records the deterministic-algorithms flag (ferrotorch's CPU kernels are deterministic)."""
    if not isinstance(mode, _bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'mode' (position 1) must be bool, not {type(mode).__name__}")
    if not isinstance(warn_only, _bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'warn_only' must be bool, not {type(warn_only).__name__}")
    _det["on"], _det["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled():
    return _det["on"]


def is_deterministic_algorithms_warn_only_enabled():
    return _det["warn_only"]


def set_deterministic_debug_mode(debug_mode):
    """'default'/0: off; 'warn'/1: on, warn only; 'error'/2: on."""
    if isinstance(debug_mode, str):
        modes = {"default": 0, "warn": 1, "error": 2}
        if debug_mode not in modes:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got {debug_mode}")
        debug_mode = modes[debug_mode]
    elif isinstance(debug_mode, _int):
        if debug_mode not in (0, 1, 2):
            raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    else:
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    return 0 if not _det["on"] else (1 if _det["warn_only"] else 2)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """torch.vmap (see ferrotorch.func.vmap)."""
    from .func import vmap as _vmap
    return _vmap(func, in_dims, out_dims, randomness, chunk_size=chunk_size)


@_method()
def dist(input, other, p=2):
    """torch.dist: the p-norm of input - other (broadcast)."""
    return _ops.norm(input - other, p)
