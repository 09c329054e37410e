"""Older PyTorch spellings that real programs still use: the typed tensor classes
(torch.FloatTensor(...), isinstance(x, torch.LongTensor), x.type(torch.LongTensor)),
Tensor.new, torch.typename, set_default_tensor_type, and top-level aliases of functions that
PyTorch also exposes under torch.linalg / torch.nn.functional / torch.special."""
import builtins
import contextlib
import math
import numbers

from . import _C, _core, _ops
from ._core import Tensor

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor",
           "CharTensor", "ByteTensor", "BoolTensor", "typename", "set_default_tensor_type",
           "svd", "qr", "pinverse", "logdet", "slogdet", "matrix_power", "cholesky", "chain_matmul",
           "addr", "tril_indices", "triu_indices", "quantile", "nanquantile", "cosine_similarity", "pairwise_distance",
           "conv1d", "conv2d", "conv3d", "max_pool1d", "max_pool2d", "avg_pool1d", "layer_norm", "batch_norm",
           "group_norm", "embedding", "pixel_shuffle", "pixel_unshuffle", "selu", "celu", "threshold", "logit",
           "sinc", "heaviside", "gcd", "lcm", "detach", "poisson", "range"]


def _legacy_ctor(dtype, args, kwargs):
    """torch.XTensor(...): sizes give an uninitialised tensor, a sequence or array gives data."""
    if kwargs.get("device") not in (None, "cpu"):
        _ops._check_device(kwargs["device"])
    if not args:
        return _C.empty([0], dtype)
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0].to(dtype)
    if len(args) == 1 and not isinstance(args[0], numbers.Integral):
        if isinstance(args[0], _core.Size):
            return _C.empty(list(args[0]), dtype)
        return _ops.tensor(args[0], dtype=dtype)
    return _C.empty([builtins.int(a) for a in args], dtype)


class _TypedTensorMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __call__(cls, *args, **kwargs):
        return _legacy_ctor(cls.dtype, args, kwargs)

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _typed(name, dtype):
    return _TypedTensorMeta(name, (), {"dtype": dtype, "is_cuda": False, "__module__": "torch"})


FloatTensor = _typed("FloatTensor", _core.float32)
DoubleTensor = _typed("DoubleTensor", _core.float64)
HalfTensor = _typed("HalfTensor", _core.float16)
BFloat16Tensor = _typed("BFloat16Tensor", _core.bfloat16)
LongTensor = _typed("LongTensor", _core.int64)
IntTensor = _typed("IntTensor", _core.int32)
ShortTensor = _typed("ShortTensor", _core.int16)
CharTensor = _typed("CharTensor", _core.int8)
ByteTensor = _typed("ByteTensor", _core.uint8)
BoolTensor = _typed("BoolTensor", _core.bool)
_BY_DTYPE = {c.dtype: c for c in (FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, LongTensor, IntTensor,
                                  ShortTensor, CharTensor, ByteTensor, BoolTensor)}


def typename(obj):
    if isinstance(obj, Tensor):
        cls = _BY_DTYPE.get(obj.dtype)
        return f"torch.{cls.__name__}" if cls else "torch.Tensor"
    module = getattr(type(obj), "__module__", "")
    return (module + "." if module and module != "builtins" else "") + type(obj).__qualname__


def set_default_tensor_type(t):
    """Only the default dtype changes: CPU is the one device here."""
    if isinstance(t, str):
        t = {"torch." + c.__name__: c for c in _BY_DTYPE.values()}[t.replace("ferrotorch.", "torch.")]
    if not t.dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _ops.set_default_dtype(t.dtype)


def _tensor_new(self, *args, **kwargs):
    """Tensor.new(...): like the legacy constructor, in self's dtype."""
    return _legacy_ctor(kwargs.pop("dtype", self.dtype), args, kwargs)


def _tensor_type(orig):
    def type_(self, dtype=None, non_blocking=False, **kwargs):
        if isinstance(dtype, _TypedTensorMeta):
            return self.to(dtype.dtype)
        return orig(self, dtype, non_blocking, **kwargs)
    return type_


def _array_wrap(self, array, context=None, return_scalar=False):
    """NumPy ufuncs on a tensor give a tensor (PyTorch's __array_wrap__)."""
    import numpy as np
    if return_scalar or np.ndim(array) == 0 and not isinstance(array, np.ndarray):
        return array
    if array.dtype == bool:
        array = array.astype(np.uint8)
    return _ops.from_numpy(np.ascontiguousarray(array))


# ---- top-level aliases of functions PyTorch exposes in several places

def _linalg():
    from . import linalg
    return linalg


def _F():
    from .nn import functional
    return functional


def svd(input, some=True, compute_uv=True, *, out=None):
    U, S, Vh = _linalg().svd(input, full_matrices=not some)
    if not compute_uv:
        return _core.return_types.svd(_ops.zeros_like(U), S, _ops.zeros_like(Vh.mT))
    return _core.return_types.svd(U, S, Vh.mH)


def qr(input, some=True, *, out=None):
    return _linalg().qr(input, mode="reduced" if some else "complete")


def pinverse(input, rcond=1e-15):
    return _linalg().pinv(input, rtol=rcond)


def logdet(input):
    sign, logabs = _linalg().slogdet(input)
    return _ops.where(sign < 0, _ops.full([], math.nan, dtype=logabs.dtype), logabs) if not input.is_complex() else logabs + _ops.log(sign)


def slogdet(input):
    return _linalg().slogdet(input)


def matrix_power(input, n):
    return _linalg().matrix_power(input, n)


def cholesky(input, upper=False, *, out=None):
    return _linalg().cholesky(input, upper=upper)


def chain_matmul(*matrices, out=None):
    return _linalg().multi_dot(list(matrices))


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    outer = _ops.outer(vec1, vec2)
    return (input if beta == 1 else input * beta) + (outer if alpha == 1 else outer * alpha)


def _tri_indices(row, col, offset, lower, dtype):
    r = _ops.arange(row).unsqueeze(1).expand(row, col)
    c = _ops.arange(col).unsqueeze(0).expand(row, col)
    keep = (c - r <= offset) if lower else (c - r >= offset)
    return _ops.stack([r[keep], c[keep]]).to(dtype)


def tril_indices(row, col, offset=0, *, dtype=_core.int64, device=None, layout=None):
    return _tri_indices(row, col, offset, True, dtype)


def triu_indices(row, col, offset=0, *, dtype=_core.int64, device=None, layout=None):
    return _tri_indices(row, col, offset, False, dtype)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None, _ignore_nan=False):
    """torch.quantile: sorts along dim and interpolates (linear/lower/higher/midpoint/nearest)."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"quantile() input tensor must be either float or double dtype")
    scalar_q = not isinstance(q, Tensor) or q.ndim == 0
    qt = q.to(input.dtype).reshape(-1) if isinstance(q, Tensor) else _ops.tensor([float(q)], dtype=input.dtype)
    if bool(((qt < 0) | (qt > 1)).any()):
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    x = input.reshape(-1) if dim is None else input.movedim(dim, -1)
    s = _ops.sort(x, -1).values
    n = s.shape[-1]
    if _ignore_nan:
        valid = (~_ops.isnan(s)).sum(-1, keepdim=True)
    else:
        valid = _ops.full(tuple(s.shape[:-1]) + (1,), n, dtype=_core.int64)
    pos = qt * (valid.to(input.dtype) - 1).clamp(min=0)  # [..., nq]
    lo, hi = _ops.floor(pos), _ops.ceil(pos)
    if interpolation == "lower":
        pos = lo
    elif interpolation == "higher":
        pos = hi
    elif interpolation == "nearest":
        pos = _ops.round(pos)
    lo_i, hi_i = _ops.floor(pos).long().clamp(0, max(n - 1, 0)), _ops.ceil(pos).long().clamp(0, max(n - 1, 0))
    a, b = _ops.gather(s, -1, lo_i), _ops.gather(s, -1, hi_i)
    frac = (pos - _ops.floor(pos)) if interpolation == "linear" else (_ops.full([], 0.5, dtype=input.dtype) * (hi_i != lo_i))
    r = a + (b - a) * frac if interpolation in ("linear", "midpoint") else a
    if not _ignore_nan:
        r = _ops.where(_ops.isnan(s).any(-1, keepdim=True), _ops.full([], math.nan, dtype=r.dtype), r)
    else:
        r = _ops.where(valid == 0, _ops.full([], math.nan, dtype=r.dtype), r)
    r = r.movedim(-1, 0)  # q first, like PyTorch
    if dim is not None and keepdim:
        r = r.unsqueeze(1 + dim % input.ndim)  # after the leading q dim
    elif dim is None and keepdim:
        r = r.reshape((r.shape[0],) + (1,) * input.ndim)
    return r[0] if scalar_q else r


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    return quantile(input, q, dim, keepdim, interpolation=interpolation, _ignore_nan=True)


def _f_alias(name):
    def f(*args, **kwargs):
        return getattr(_F(), name)(*args, **kwargs)
    f.__name__ = name
    return f


for _n in ("cosine_similarity", "pairwise_distance", "conv1d", "conv2d", "conv3d", "max_pool1d", "max_pool2d",
           "avg_pool1d", "layer_norm", "batch_norm", "group_norm", "embedding", "pixel_shuffle", "pixel_unshuffle",
           "selu", "celu", "threshold"):
    globals()[_n] = _f_alias(_n)
del _n


def logit(input, eps=None):
    from . import special
    return special.logit(input, eps)


def sinc(input):
    from . import special
    return special.sinc(input)


def heaviside(input, values):
    z = _ops.where(input > 0, _ops.ones_like(input), _ops.zeros_like(input))
    return _ops.where(input == 0, values.to(z.dtype) if isinstance(values, Tensor) else values, z)


def gcd(input, other):
    a, b = input.abs(), other.abs()
    a, b = _ops.broadcast_tensors(a, b)
    a, b = a.clone(), b.clone()
    while bool((b != 0).any()):
        nz = b != 0
        r = _ops.where(nz, _ops.remainder(a, _ops.where(nz, b, _ops.ones_like(b))), a)
        a, b = _ops.where(nz, b, a), _ops.where(nz, r, b)
    return a


def lcm(input, other):
    g = gcd(input, other)
    return _ops.where(g == 0, _ops.zeros_like(g), (input * other).abs() // _ops.where(g == 0, _ops.ones_like(g), g))


def detach(input):
    return input.detach()


def poisson(input, generator=None):
    from .distributions import Poisson
    return Poisson(input).sample()


def range(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):  # noqa: A001
    """Deprecated torch.range: like arange but includes `end`."""
    if end is None:
        start, end = 0, start
    n = builtins.int(math.floor((end - start) / step)) + 1
    r = _ops.arange(n, dtype=_core.float64) * step + start
    return _ops._finish(r.to(dtype or _ops.get_default_dtype()), requires_grad)


@contextlib.contextmanager
def _no_op_context(*a, **k):
    yield


def _install():
    from . import _spectral
    Tensor.stft = _spectral.stft
    Tensor.istft = _spectral.istft
    Tensor.new = _tensor_new
    Tensor.type = _tensor_type(Tensor.type)
    Tensor.__array_wrap__ = _array_wrap
    Tensor.is_signed = lambda self: self.dtype.is_signed
    Tensor.is_nonzero = lambda self: _ops.is_nonzero(self)
    Tensor.is_pinned = lambda self: False
    Tensor.is_inference = lambda self: False

    def fill_diagonal_(self, fill_value, wrap=False):
        from .autograd import no_grad
        if self.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        with no_grad():
            if self.ndim > 2:
                i = _ops.arange(self.shape[0])
                self[(i,) * self.ndim] = fill_value
                return self
            h, w = self.shape
            # diagonal positions in the row-major layout are k * (w + 1); `wrap` continues past
            # the square part of a tall matrix, as PyTorch's strided fill does
            limit = h * w if wrap else min(h, w) * w
            flat = _ops.arange(0, limit, w + 1)
            self[flat // w, flat % w] = fill_value
        return self
    Tensor.fill_diagonal_ = fill_diagonal_
