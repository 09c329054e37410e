"""The torch-shaped op namespace. Each op is defined once here (a thin call into `_C`, or a
composition of differentiable ops) and attached both as `ferrotorch.<op>` and as a Tensor
method where PyTorch has one."""
import builtins
import math
import numbers
import os

import numpy as np

from . import _C
from ._core import Tensor, Size, return_types, _FROM_NP, _NP_OF, device as _device
from . import _core
from . import _default_device

_b_sum, _b_max, _b_min, _b_abs, _b_all, _b_any, _b_round = builtins.sum, builtins.max, builtins.min, builtins.abs, builtins.all, builtins.any, builtins.round
_b_float, _b_int, _b_bool, _b_complex = builtins.float, builtins.int, builtins.bool, builtins.complex

METHODS = {}


def method(*names):
    """Registers a function as Tensor method(s) too (same definition)."""
    def deco(f):
        for n in names or (f.__name__,):
            METHODS[n] = f
        return f
    return deco


def _is_t(x):
    return isinstance(x, Tensor)


def _wrap(dim, ndim):
    """PyTorch's dim wrapping (IndexError when out of range; 0-d tensors accept -1 and 0)."""
    n = _b_max(ndim, 1)
    d = _b_int(dim)
    if d < -n or d >= n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d % n


def _dims(dim):
    if dim is None:
        return None
    if isinstance(dim, (list, tuple, Size)):
        return [_b_int(d) for d in dim]
    return [_b_int(dim)]


def _as_int(s):
    if isinstance(s, numbers.Integral) or (_is_t(s) and not s.dtype.is_floating_point and s.numel() == 1):
        return _b_int(s)
    raise TypeError(f"expected a sequence of integers or a single integer, but got an element of type {type(s).__name__}")


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (list, tuple, Size)):
        return [_as_int(s) for s in size[0]]
    return [_as_int(s) for s in size]


def _check_device(device):
    if device is not None:
        d = _device(device)
        if d.type != "cpu":
            raise RuntimeError("Torch not compiled with CUDA enabled" if d.type == "cuda" else f"device {d} is not supported")


# ---------------------------------------------------------------- creation

def get_default_dtype():
    return _C.get_default_dtype()


def set_default_dtype(d):
    _C.set_default_dtype(d)


def _finish(t, requires_grad=False, device=None):
    _check_device(device if device is not None else _default_device.current())
    if requires_grad:
        t.requires_grad_(True)
    return t


def _first_leaf(data):
    while isinstance(data, (list, tuple)) and data:
        data = data[0]
    return data


def _infer_np(data, dtype):
    """A NumPy array for nested Python data, with torch's dtype inference."""
    if isinstance(data, np.ndarray):
        arr = data
    elif _is_t(data):
        return None
    else:
        try:
            arr = np.array(data)
        except ValueError as e:
            raise ValueError(f"expected sequence of length {e}") from None
        if arr.dtype == object or arr.dtype == np.uint64:
            try:
                # Python ints beyond int64 (NumPy made uint64 or object of them)
                return _check_data_range(arr, dtype, data)
            except (TypeError, ValueError) as e:
                if "Overflow" in str(e):
                    raise
                raise ValueError("expected a rectangular sequence of numbers") from None
    if dtype is None:
        k = arr.dtype.kind
        # Python numbers come out of NumPy as float64/int64: they take torch's defaults;
        # NumPy arrays and scalars (alone or in lists) keep their dtype
        if isinstance(_first_leaf(data), np.generic):
            pass
        elif k == "f":
            if not isinstance(data, (np.ndarray, np.generic)) and arr.dtype == np.float64:
                with np.errstate(over="ignore"):  # out-of-range floats become inf, as in PyTorch
                    arr = arr.astype(_NP_OF[get_default_dtype()])
        elif k == "c":
            if not isinstance(data, (np.ndarray, np.generic)) and arr.dtype == np.complex128:
                arr = arr.astype(_NP_OF[get_default_dtype().to_complex()])
        elif k in "iu" and not isinstance(data, (np.ndarray, np.generic)) and arr.dtype != np.int64:
            arr = arr.astype(np.int64)
        elif k == "U" or k == "S" or k == "O":
            raise TypeError(f"new(): invalid data type '{arr.dtype}'")
    return arr


def _from_np_copy(arr):
    if arr.dtype not in _FROM_NP:
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float64)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"can't convert np.ndarray of type {arr.dtype}")
    return _C.from_numpy(np.array(arr, copy=True, order="C"))


def _nested_tensors(data):
    if isinstance(data, (list, tuple)) and data and _b_any(_is_t(x) or isinstance(x, (list, tuple)) and x and _nested_has_tensor(x) for x in data):
        return True
    return False


def _nested_has_tensor(x):
    if _is_t(x):
        return True
    return isinstance(x, (list, tuple)) and _b_any(_nested_has_tensor(y) for y in x)


def _check_data_range(arr, dtype, data=None):
    """torch.tensor's checks on Python numbers: an int outside int64 does not unpack (unless the
    target is floating), and a value must fit an integral target dtype."""
    if arr.dtype == object or arr.dtype == np.uint64:
        floats = arr.dtype == object and _b_any(isinstance(x, _b_float) for x in arr.flat)
        if not (floats or (dtype is not None and (dtype.is_floating_point or dtype.is_complex or dtype == _core.bool))):
            raise ValueError("Overflow when unpacking long long")
        arr = np.array(data if data is not None else arr.tolist(), dtype=np.float64)
        if dtype is None:
            arr = arr.astype(_NP_OF[get_default_dtype()])
    if dtype is None or dtype.is_floating_point or dtype.is_complex or dtype == _core.bool or not arr.size or arr.dtype.kind not in "fiu":
        return arr
    ii = _core.iinfo(dtype)
    lo = -ii.max if dtype == _core.uint8 else ii.min
    if arr.dtype.kind == "f":
        bad = not np.isfinite(arr).all() or _b_float(arr.min()) < _b_float(lo) or _b_float(arr.max()) > _b_float(ii.max)
    else:
        bad = _b_int(arr.min()) < lo or _b_int(arr.max()) > ii.max
    if bad:
        raise RuntimeError(f"value cannot be converted to type {str(dtype).split('.')[-1]} without overflow")
    return arr


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    if _is_t(data):
        t = data.detach().clone()
        if dtype is not None:
            t = t.to(dtype)
        return _finish(t, requires_grad, device)
    if isinstance(data, (list, tuple)) and _nested_has_tensor(data):
        # tensors inside a sequence are scalars to PyTorch: each must hold one element
        def scalars(x):
            if _is_t(x):
                if x.numel() != 1:
                    raise ValueError("only one element tensors can be converted to Python scalars")
                return x.item()
            return [scalars(y) for y in x] if isinstance(x, (list, tuple)) else x
        return tensor(scalars(data), dtype=dtype, device=device, requires_grad=requires_grad)
    if isinstance(data, np.generic):
        t = _from_np_copy(np.asarray(data))
    elif isinstance(data, _b_bool) or isinstance(data, np.bool_):
        t = _C.full([], data, _core.bool)
    elif isinstance(data, _b_int) and not isinstance(data, _b_bool):
        if dtype is not None and dtype.is_floating_point:
            t = _C.full([], _b_float(data), dtype)
        else:
            _check_data_range(np.array([data]) if -2 ** 63 <= data < 2 ** 63 else np.array([data], dtype=object), dtype)
            t = _C.full([], data, dtype if dtype is not None else _core.int64)
    elif isinstance(data, _b_float):
        _check_data_range(np.array([data]), dtype)
        # torch.tensor narrows a Python float unchecked (1e39 -> inf in float32), unlike torch.full
        target = dtype if dtype is not None and (dtype.is_floating_point or dtype.is_complex) else get_default_dtype()
        t = _C.to_dtype(_C.full([], data, _core.float64), target)
    else:
        arr = _infer_np(data, dtype)
        if dtype is not None and not dtype.is_complex and not isinstance(data, np.ndarray) and getattr(arr, "dtype", None) is not None and arr.dtype.kind == "c":
            raise TypeError(f"can't convert complex to {'float' if dtype.is_floating_point else 'int' if dtype != _core.bool else 'bool'}")
        if not isinstance(data, np.ndarray):
            arr = _check_data_range(arr, dtype, data)
        if isinstance(arr, np.ndarray) and _b_any(st < 0 for st in arr.strides):
            raise ValueError("At least one stride in the given numpy array is negative, and tensors with negative strides are not currently supported. (You can probably work around this by making a copy of your array  with array.copy().) ")
        if arr.size == 0 and dtype is None and arr.dtype.kind not in "b" and not isinstance(data, np.ndarray):
            arr = arr.astype(_NP_OF[get_default_dtype()])
        t = _from_np_copy(arr)
    if dtype is not None and t.dtype != dtype:
        t = _C.to_dtype(t, dtype)
    return _finish(t, requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    if _is_t(data):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or _FROM_NP.get(data.dtype) == dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(arr):
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    if _b_any(st < 0 for st in arr.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors with negative strides are not currently supported. (You can probably work around this by making a copy of your array  with array.copy().) ")
    return _C.from_numpy(arr)


def _legacy_new(*args, **kwargs):
    """torch.Tensor(data) / torch.Tensor(*sizes): float32 by default."""
    if len(args) == 1 and not isinstance(args[0], numbers.Integral):
        return tensor(args[0], dtype=_core.float32)
    if not args:
        return _C.empty([0], _core.float32)
    return _C.empty(_shape(args), _core.float32)


def _mk(fn, size, dtype, device, requires_grad, *extra):
    shp = _shape(size)
    for s in shp:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {shp}")
    return _finish(fn(shp, *extra, dtype or get_default_dtype()), requires_grad, device)


def _size_arg(name, args, size):
    """Shape from `f(2, 3)`, `f((2, 3))` or `f(size=(2, 3))`, refusing none or both like PyTorch."""
    if size is not None:
        if args:
            raise TypeError(f"{name}() received an invalid combination of arguments - got both positional sizes and size=")
        return (size,)
    if not args:
        if name in ("rand", "randn"):
            raise TypeError(f"{name}() received an invalid combination of arguments - got (), but expected one of: (tuple of ints size, ...)")
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
    return args


def zeros(*args, size=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return _mk(_C.zeros, _size_arg("zeros", args, size), dtype, device, requires_grad)


def empty(*args, size=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False, memory_format=None):
    return _mk(_C.empty, _size_arg("empty", args, size), dtype, device, requires_grad)


def ones(*args, size=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return _mk(lambda s, d: _C.full(s, 1, d), _size_arg("ones", args, size), dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False, _half_check=True):
    if dtype is None:
        if isinstance(fill_value, _b_bool):
            dtype = _core.bool
        elif isinstance(fill_value, numbers.Integral):
            dtype = _core.int64
        elif _is_t(fill_value):
            dtype = fill_value.dtype
        elif isinstance(fill_value, numbers.Complex) and not isinstance(fill_value, numbers.Real):
            dtype = get_default_dtype().to_complex()
        else:
            dtype = get_default_dtype()
    if _is_t(fill_value):
        fill_value = fill_value.item()
    _check_scalar(fill_value, dtype, _half_check)
    if dtype.is_floating_point and isinstance(fill_value, _b_int):
        fill_value = _b_float(fill_value)
    return _finish(_C.full(_shape((size,)) if not isinstance(size, numbers.Integral) else [size], fill_value, dtype), requires_grad, device)


def _like(fn):
    def f(input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None, **kw):
        return fn(tuple(input.shape), dtype=dtype or input.dtype, device=device, requires_grad=requires_grad, **kw)
    return f


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(input, fill_value, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return full(tuple(input.shape), fill_value, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad, _half_check=False)


def rand_like(input, dtype=None, **kw):
    return rand(tuple(input.shape), dtype=dtype or input.dtype, **{k: v for k, v in kw.items() if k in ("device", "requires_grad", "generator")})


def randn_like(input, dtype=None, **kw):
    return randn(tuple(input.shape), dtype=dtype or input.dtype, **{k: v for k, v in kw.items() if k in ("device", "requires_grad", "generator")})


def randint_like(input, low=0, high=None, dtype=None, **kw):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype)


def arange(start=0, end=None, step=1, *, dtype=None, layout=None, device=None, requires_grad=False):
    if dtype is not None and dtype.is_complex:
        raise NotImplementedError(f"\"arange_cpu\" not implemented for '{_SCALAR_NAME[dtype]}'")
    if end is None:
        start, end = 0, start
    vals = [start, end, step]
    vals = [v.item() if _is_t(v) else v for v in vals]
    if not (math.isfinite(vals[0]) and math.isfinite(vals[1])):
        raise RuntimeError(f"unsupported range: {vals[0]:g} -> {vals[1]:g}")
    if dtype is None:
        dtype = get_default_dtype() if _b_any(isinstance(v, _b_float) for v in vals) else _core.int64
    if dtype == _core.bool:
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    s0, e0, st = vals
    if st == 0:
        raise RuntimeError("step must be nonzero")
    if (st > 0 and e0 < s0) or (st < 0 and e0 > s0):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if not dtype.is_floating_point:
        # integral dtypes step by the truncated start/step; int64 also counts in truncated integers
        xs, xe, xst = _b_int(s0), _b_int(e0), _b_int(st)
        if dtype == _core.int64:
            if xst == 0:
                raise ValueError("step must be nonzero")
            sgn = (xst > 0) - (xst < 0)
            num = xe - xs + xst - sgn
            n = (_b_abs(num) // _b_abs(xst)) * (1 if (num >= 0) == (xst > 0) else -1)  # C++ division
        else:
            n = math.ceil((_b_float(e0) - _b_float(s0)) / _b_float(st))
        n = _b_max(n, 0)
        if xst == 0:
            return _finish(full([n], xs, dtype=dtype), requires_grad, device)
        s0, e0, st = xs, xs + n * xst, xst
    return _finish(_C.arange(_b_float(s0), _b_float(e0), _b_float(st), dtype), requires_grad, device)


def _space_bounds(start, end, steps, dtype, name):
    """Integer dtypes convert the bounds to the dtype before stepping (PyTorch's kernels); bool
    only fills a single step."""
    if dtype == _core.bool and _b_int(steps) > 1:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")
    if dtype is not None and not dtype.is_floating_point:
        start, end = _b_float(_b_int(start)), _b_float(_b_int(end))
    return _b_float(start), _b_float(end)


def linspace(start, end, steps, *, dtype=None, layout=None, device=None, requires_grad=False):
    start, end = _space_bounds(start, end, steps, dtype, "linspace")
    if dtype == _core.bool:
        return _finish(full((_b_int(steps),), start != 0, dtype=dtype), requires_grad, device)
    return _finish(_C.linspace(start, end, _b_int(steps), dtype or get_default_dtype()), requires_grad, device)


def logspace(start, end, steps, base=10.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    start, end = _space_bounds(start, end, steps, dtype, "logspace")
    e = _C.linspace(start, end, _b_int(steps), _core.float64)
    return _finish(pow(base, e).to(dtype or get_default_dtype()), requires_grad, device)


def eye(n, m=None, *, dtype=None, layout=None, device=None, requires_grad=False):
    m = n if m is None else m
    for name, v in (("n", n), ("m", m)):
        if v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    t = _C.zeros([n, m], dtype or get_default_dtype())
    _C.fill_(_C.diagonal(t, 0, 0, 1), 1)
    return _finish(t, requires_grad, device)


def scalar_tensor(s, dtype=None, device=None, requires_grad=False):
    dtype = dtype or get_default_dtype()
    _check_scalar(s, dtype)
    if dtype.is_floating_point and isinstance(s, _b_int):
        s = _b_float(s)
    return _finish(_C.full([], s, dtype or get_default_dtype()), requires_grad, device)


# ---------------------------------------------------------------- random

def _seed_bits(seed):
    """PyTorch takes any seed in [-2**63, 2**64) and keeps its 64 bits."""
    seed = _b_int(seed)
    if not -(1 << 63) <= seed < (1 << 64):
        raise ValueError("Overflow when unpacking long long")
    return seed - (1 << 64) if seed >= 1 << 63 else seed


class Generator(_C.Generator):
    def manual_seed(self, seed):
        return super().manual_seed(_seed_bits(seed))


def manual_seed(seed):
    _C.manual_seed(_seed_bits(seed))
    return default_generator


def seed():
    """Seeds the default generator from the OS's randomness and returns the seed."""
    s = int.from_bytes(os.urandom(8), "little")
    _C.manual_seed(s - (1 << 64) if s >= 1 << 63 else s)
    return s


def initial_seed():
    return _C.initial_seed()


def get_rng_state():
    return _C.default_rng_state()


def set_rng_state(state):
    _C.set_default_rng_state(state)


class _DefaultGenerator:
    def manual_seed(self, s):
        manual_seed(s)
        return self

    def seed(self):
        return seed()

    def initial_seed(self):
        return initial_seed()

    def get_state(self):
        return get_rng_state()

    def set_state(self, s):
        set_rng_state(s)


default_generator = _DefaultGenerator()


def _gen(g):
    return None if g is None or isinstance(g, _DefaultGenerator) else g


def _float_only(dtype, what):
    if dtype is not None and not dtype.is_floating_point and not dtype.is_complex:
        raise NotImplementedError(f"\"{what}\" not implemented for '{_SCALAR_NAME[dtype]}'")


def rand(*args, size=None, generator=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    size = _size_arg("rand", args, size)
    _shape(size)  # a bad size is a TypeError before the dtype check
    _float_only(dtype, "check_uniform_bounds")
    t = _mk(_C.empty, size, dtype, device, False)
    # complex: both parts uniform, drawn as PyTorch does through the [..., 2] real view
    _C.uniform_(_C.view_as_real(t) if t.is_complex() else t, 0.0, 1.0, _gen(generator))
    return _finish(t, requires_grad)


def randn(*args, size=None, generator=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    size = _size_arg("randn", args, size)
    _shape(size)  # a bad size is a TypeError before the dtype check
    _float_only(dtype, "normal_kernel_cpu")
    t = _mk(_C.empty, size, dtype, device, False)
    if t.is_complex():
        # PyTorch: each part N(0, 1/2), drawn through the [..., 2] real view
        _C.normal_(_C.view_as_real(t), 0.0, 1.0 / math.sqrt(2), _gen(generator))
    else:
        _C.normal_(t, 0.0, 1.0, _gen(generator))
    return _finish(t, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False):
    if dtype is not None and dtype.is_complex:
        raise RuntimeError("check_random_bounds handles only integral, floating-point and boolean types")
    if size is None:  # randint(high, size) / randint(low, high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=size)
        low, high = 0, low
    t = _C.empty(_shape((size,)), dtype or _core.int64)
    _C.randint_(t, _b_int(low), _b_int(high), _gen(generator))
    return _finish(t, requires_grad, device)


def randperm(n, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    return _finish(_C.randperm(_b_int(n), dtype or _core.int64, _gen(generator)), requires_grad, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False):
    g = _gen(generator)
    if size is not None:
        _shape((size,))  # a bad size is a TypeError before the std check
    if _is_t(std):
        if std.numel() and _b_bool((std < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    if _is_t(mean) or _is_t(std):
        shape = broadcast_shapes(*(x.shape for x in (mean, std) if _is_t(x)))
        dt = mean.dtype if _is_t(mean) else std.dtype
        _float_only(dt, "normal_kernel_cpu")
        z = _C.empty(list(shape), dt)
        normal_(z, 0.0, 1.0, generator=generator)
        return z * std + mean
    t = _C.empty(_shape((size,)), dtype or get_default_dtype())
    normal_(t, _b_float(mean), _b_float(std), generator=generator)
    return _finish(t, requires_grad, device)


@method()
def bernoulli(input, p=None, *, generator=None):
    if p is not None:
        return _C.bernoulli(full_like(input, p, dtype=_core.float64), _gen(generator)).to(input.dtype)
    return _C.bernoulli(input.detach(), _gen(generator)).to(input.dtype)


@method()
def multinomial(input, num_samples, replacement=False, *, generator=None):
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {_SCALAR_NAME[input.dtype]}")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > input.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    return _C.multinomial(input.detach(), _b_int(num_samples), replacement, _gen(generator))


@method()
def uniform_(self, a=0.0, b=1.0, *, generator=None, **kw):
    a, b = kw.get("from", a), kw.get("to", b)
    _float_only(self.dtype, "check_uniform_bounds")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
    # complex: both parts drawn through the [..., 2] real view, as PyTorch does
    _C.uniform_(_C.view_as_real(self) if self.is_complex() else self, _b_float(a), _b_float(b), _gen(generator))
    return self


@method()
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    _float_only(self.dtype, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    if self.is_complex():
        # PyTorch: each part N(mean, std^2 / 2) through the [..., 2] real view
        _C.normal_(_C.view_as_real(self), _b_float(mean), _b_float(std) / math.sqrt(2), _gen(generator))
        return self
    return _C.normal_(self, _b_float(mean), _b_float(std), _gen(generator))


@method()
def bernoulli_(self, p=0.5, *, generator=None):
    if not _is_t(p):
        return _C.bernoulli_scalar_(self, _b_float(p), _gen(generator))
    pt = p if p.dtype.is_floating_point else p.to(_core.float32)  # float64 p draws doubles, others floats
    return _C.copy_(self, _C.bernoulli(pt.expand(*self.shape) if pt.shape != self.shape else pt, _gen(generator)))


@method()
def random_(self, a=0, b=None, *, generator=None, **kw):
    a, b = kw.get("from", a), kw.get("to", b)
    if b is None:
        if not a:
            return _C.random_full_(self, _gen(generator))
        a, b = 0, a
    return _C.randint_(self, _b_int(a), _b_int(b), _gen(generator))


@method()
def exponential_(self, lambd=1.0, *, generator=None):
    if not self.dtype.is_floating_point:
        raise RuntimeError(f"Exponential distribution is a continuous probability distribution. dtype must be a floating point but you specified {_SCALAR_NAME[self.dtype]}")
    if not lambd > 0 or lambd == math.inf:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _C.exponential_(self, _b_float(lambd), _gen(generator))


def _inplace(self, fn, *args, **kw):
    """self.copy_(fn(self, ...)) for in-place ops composed in Python. When autograd records, fn reads
    a clone: tensors fn saves for backward must not be the one copy_ then overwrites (PyTorch
    raises no "modified by an inplace operation" error for these ops)."""
    src = self.clone() if self.requires_grad and _C.is_grad_enabled() else self
    return self.copy_(fn(src, *args, **kw))


# ---------------------------------------------------------------- elementwise

_UNARY = ["abs", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan",
          "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid", "erf", "erfc",
          "erfinv", "digamma", "lgamma", "reciprocal", "floor", "ceil", "trunc", "frac", "sign", "neg", "relu",
          "square", "isnan", "isinf", "isfinite", "logical_not", "signbit", "bitwise_not"]
_ALIASES = {"absolute": "abs", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
            "arccosh": "acosh", "arctanh": "atanh", "negative": "neg", "fix": "trunc"}


# unary kernels PyTorch lacks for some input dtypes: name -> (kernel, predicate on the dtype)
_UNARY_KERNELS = {"abs": ("abs_cpu", "bool"), "floor": ("floor_vml_cpu", "bool"), "ceil": ("ceil_vml_cpu", "bool"),
                  "trunc": ("trunc_vml_cpu", "bool"), "round": ("round_vml_cpu", "bool"), "frac": ("frac_cpu", "int")}


def _check_unary(name, t):
    """PyTorch's dtype errors for unary kernels (NotImplementedError naming the kernel)."""
    if not _is_t(t):
        return
    k = _UNARY_KERNELS.get(name)
    if k is not None and (t.dtype == _core.bool if k[1] == "bool" else not t.dtype.is_floating_point):
        raise NotImplementedError(f"\"{k[0]}\" not implemented for '{_SCALAR_NAME[t.dtype]}'")
    if name == "relu" and t.dtype == _core.bool:
        raise RuntimeError("Boolean inputs not supported for relu")


def _unary(name):
    if name not in _UNARY_KERNELS and name != "relu":
        # no dtype restriction beyond the core's own: keep the per-call path to one binding call
        def f(input):
            return _C.unary_op(name, input)

        def f_(self):
            return _C.unary_op_(name, self)
    else:
        def f(input):
            _check_unary(name, input)
            return _C.unary_op(name, input)

        def f_(self):
            _check_unary(name, self)
            return _C.unary_op_(name, self)
    f.__name__, f_.__name__ = f.__qualname__, f_.__qualname__ = name, name + "_"
    return f, f_


_G = globals()
for _n in _UNARY:
    _G[_n], _G[_n + "_"] = _unary(_n)
    METHODS[_n] = _G[_n]
    if _n not in ("isnan", "isinf", "isfinite", "signbit"):
        METHODS[_n + "_"] = _G[_n + "_"]
for _a, _n in _ALIASES.items():
    _G[_a], _G[_a + "_"] = _G[_n], _G[_n + "_"]
    METHODS[_a], METHODS[_a + "_"] = _G[_n], _G[_n + "_"]


@method()
def square(input):
    # bool ** 2 promotes to int64 in PyTorch
    return _C.unary_op("square", input.to(_core.int64) if input.dtype == _core.bool else input)


@method()
def square_(self):
    if self.dtype == _core.bool:
        raise RuntimeError("result type Long can't be cast to the desired output type Bool")
    return _C.unary_op_("square", self)


@method()
def positive(input):
    if input.dtype == _core.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@method()
def logical_not_(self):
    if self.dtype == _core.bool:
        return _C.unary_op_("logical_not", self)
    # PyTorch writes 0/1 in self's dtype
    return _inplace(self, lambda x: logical_not(x).to(x.dtype))


@method()
def round(input, *, decimals=0):
    if decimals == 0:
        _check_unary("round", input)
        return _C.unary_op("round", input)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"round_cpu\" not implemented for '{_SCALAR_NAME[input.dtype]}'")
    s = 10.0 ** decimals
    return _C.unary_op("round", input * s) / s


@method()
def round_(self, *, decimals=0):
    if decimals == 0:
        _check_unary("round", self)
        return _C.unary_op_("round", self)
    return _inplace(self, round, decimals=decimals)


@method()
def sgn(input):
    return _C.sgn_complex(input) if input.is_complex() else _C.unary_op("sign", input)


@method()
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    if input.is_complex():
        from ._complex import complex as _complex
        return _complex(nan_to_num(input.real, nan, posinf, neginf), nan_to_num(input.imag, nan, posinf, neginf))
    if not input.dtype.is_floating_point:
        return input.clone()
    fi = _core.finfo(input.dtype)
    r = where(isnan(input), nan, input)
    r = where(r == math.inf, fi.max if posinf is None else posinf, r)
    return where(r == -math.inf, fi.min if neginf is None else neginf, r)


def polygamma(n, input):
    if n == 0:
        return digamma(input)
    if n == 1 and not (_is_t(input) and input.requires_grad and _C.is_grad_enabled()):
        return _C.unary_op("polygamma1", input)  # PyTorch's trigamma, finite garbage at poles included
    from . import special
    return special.polygamma(n, input)  # any order, differentiable (the derivative is order n + 1)


METHODS["polygamma"] = lambda self, n: polygamma(n, self)  # Tensor.polygamma(n) takes self first
METHODS["polygamma_"] = lambda self, n: self.copy_(polygamma(n, self))


@method()
def sgn_(self):
    return _C.unary_op_("sign", self)


@method()
def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
    if not self.dtype.is_floating_point:
        return self
    return _inplace(self, nan_to_num, nan, posinf, neginf)


def _float_result(input, other=None):
    """The result dtype of an int->float op: the promoted dtype, or the default float for ints/bool."""
    rt = input.dtype if other is None else _C.result_type(input, other)
    return rt if rt.is_floating_point else get_default_dtype()


def _cast_back(self, r, name=None):
    """In-place result check: PyTorch's "result type X can't be cast to the desired output type Y"."""
    if not _C.can_cast(r.dtype, self.dtype):
        raise RuntimeError(f"{name or 'result type ' + _SCALAR_NAME[r.dtype]} can't be cast to the desired output type {_SCALAR_NAME[self.dtype]}")
    return r


_M_180_PI = 57.295779513082320876798154814105170332405472466564
_M_PI_180 = 0.017453292519943295769236907684886127134428718885417


@method()
def rad2deg(input):
    x = input if input.dtype.is_floating_point else input.to(get_default_dtype())
    return x * _M_180_PI


@method()
def deg2rad(input):
    x = input if input.dtype.is_floating_point else input.to(get_default_dtype())
    return x * _M_PI_180


@method()
def rad2deg_(self):
    _cast_back(self, zeros((), dtype=_float_result(self)))
    return _inplace(self, rad2deg)


@method()
def deg2rad_(self):
    _cast_back(self, zeros((), dtype=_float_result(self)))
    return _inplace(self, deg2rad)


@method()
def isposinf(input):
    if input.is_complex():
        raise RuntimeError("isposinf does not support complex inputs.")
    if not input.dtype.is_floating_point:
        return zeros(tuple(input.shape), dtype=_core.bool)
    return input.detach() == math.inf


@method()
def isneginf(input):
    if input.is_complex():
        raise RuntimeError("isneginf does not support complex inputs.")
    if not input.dtype.is_floating_point:
        return zeros(tuple(input.shape), dtype=_core.bool)
    return input.detach() == -math.inf


@method()
def isreal(input):
    if input.is_complex():
        return _C.imag(input) == 0
    return ones(tuple(input.shape), dtype=_core.bool)


def _float_kernel(name, kernel, input, other):
    """Checks both arguments are tensors and their promoted dtype has a floating kernel."""
    _require_tensor(name, input, 1)
    _require_tensor(name, other, 2)
    rt = _C.result_type(input, other)
    if not rt.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_SCALAR_NAME[rt]}'")
    return rt


_LN2 = math.log(2.0)


@method()
def logaddexp2(input, other):
    rt = _float_kernel("logaddexp2", "logaddexp2_cpu", input, other)
    # computed in float64: the ln2 scalings then round once
    ct = _core.float64
    r = logaddexp(input.to(ct) * _LN2, other.to(ct) * _LN2) / _LN2
    return r.to(rt)


@method()
def logaddexp2_(self, other):
    _require_tensor("logaddexp2_", other, 1, "other")
    return self.copy_(_cast_back(self, logaddexp2(self.clone() if self.requires_grad else self, other)))


_NEXTAFTER = []


def _nextafter_fn():
    """nextafter as a graph node: gradient 1 to input and 0 to other, like PyTorch."""
    if not _NEXTAFTER:
        from .autograd.function import Function

        class _NextAfter(Function):
            @staticmethod
            def forward(ctx, x, y):
                return _nextafter_bits(x.detach(), y.detach())

            @staticmethod
            def backward(ctx, g):
                return g, zeros_like(g)
        _NEXTAFTER.append(_NextAfter)
    return _NEXTAFTER[0]


_BITS_OF = {_core.float16: _core.int16, _core.bfloat16: _core.int16, _core.float32: _core.int32, _core.float64: _core.int64}


def _nextafter_bits(x, y):
    """The float after x towards y: x's bit pattern +-1 (IEEE order is sign-magnitude)."""
    it = _BITS_OF[x.dtype]
    xb = _C.view_dtype(x.contiguous(), it)
    # away from zero (|x| grows) is +1 on the bit pattern, towards zero is -1
    step = where((y > x) == (x > 0), 1, -1).to(it)
    r = _C.view_dtype((xb + step).to(it), x.dtype)
    # from +-0: the smallest subnormal with y's sign
    tiny = _C.view_dtype(full([], 1, dtype=it), x.dtype)
    r = where(x == 0, where(y > 0, tiny, -tiny), r)
    r = where(x == y, y, r)
    return where(isnan(x) | isnan(y), math.nan, r)


@method()
def nextafter(input, other):
    rt = _float_kernel("nextafter", "nextafter_cpu", input, other)
    shp = list(broadcast_shapes(input.shape, other.shape))
    x, y = input.to(rt).expand(*shp), other.to(rt).expand(*shp)
    if (x.requires_grad or y.requires_grad) and _C.is_grad_enabled():
        return _nextafter_fn().apply(x, y)
    return _nextafter_bits(x, y)


@method()
def nextafter_(self, other):
    _require_tensor("nextafter_", other, 1, "other")
    return self.copy_(_cast_back(self, nextafter(self.detach(), other.detach())))


_LDEXP = []


def _ldexp_int_fn():
    """ldexp by an integral exponent as a graph node: PyTorch's backward multiplies the gradient by
    pow(2, other) in other's integer dtype (0 for negative exponents, wrapping for large ones)."""
    if not _LDEXP:
        from .autograd.function import Function

        class _LdexpInt(Function):
            @staticmethod
            def forward(ctx, x, k):
                ctx.save_for_backward(k)
                return _ldexp_exact(x.detach(), k)

            @staticmethod
            def backward(ctx, g):
                k, = ctx.saved_tensors
                bits = _core.iinfo(k.dtype).bits
                kk = k.to(_core.int64)
                p = pow(2.0, clamp(kk, 0, 62).to(_core.float64))
                # 2**k wrapped into k's dtype: the top bit is negative for signed dtypes, beyond is 0
                top = -p if k.dtype != _core.uint8 else p
                p = where((kk < 0) | (kk >= bits), 0.0, where(kk == bits - 1, top, p))
                return g * p.to(g.dtype), None
        _LDEXP.append(_LdexpInt)
    return _LDEXP[0]


def _ldexp_exact(x, k):
    """x * 2**k with the power taken exactly (as in extended precision: 2**k is inf beyond
    k > 16383 and 0 below -16445, so 0 * 2**huge is NaN like PyTorch), rounded once to x's dtype.
    PyTorch's kernel takes k as a C int: int64 exponents wrap to 32 bits first."""
    k = k.to(_core.int32).to(_core.int64)
    x64 = x.to(_core.float64)
    kc = clamp(k, -2200, 2200)
    k1 = clamp(kc, -1000, 1000)
    k2 = clamp(kc - k1, -1000, 1000)
    f = [pow(2.0, e.to(_core.float64)) for e in (k1, k2, kc - k1 - k2)]
    r = x64 * f[0] * f[1] * f[2]
    r = where(k > 16383, x64 * math.inf, r)
    r = where(k < -16445, x64 * 0.0, r)
    return r.to(x.dtype)


@method()
def ldexp(input, other):
    _require_tensor("ldexp", input, 1)
    _require_tensor("ldexp", other, 2)
    if other.dtype == _core.bool and input.dtype.is_floating_point:
        raise NotImplementedError("\"ldexp_cpu_exp\" not implemented for 'Bool'")
    if other.dtype.is_floating_point:
        # PyTorch's mul(input, pow(2, other)): the power keeps other's dtype
        return input * pow(2.0, other)
    x = input.to(_float_result(input, other))
    shp = list(broadcast_shapes(x.shape, other.shape))
    x, k = x.expand(*shp), other.expand(*shp)
    if x.requires_grad and _C.is_grad_enabled():
        return _ldexp_int_fn().apply(x, k)
    return _ldexp_exact(x, k)


@method()
def ldexp_(self, other):
    _require_tensor("ldexp_", other, 1, "other")
    r = ldexp(self.clone() if self.requires_grad else self, other)
    if not _C.can_cast(r.dtype, self.dtype):
        raise RuntimeError(f"ldexp can't be cast to the desired output type {_SCALAR_NAME[self.dtype]}")
    return self.copy_(r)


@method()
def logcumsumexp(input, dim):
    d = _wrap(dim, input.ndim)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{_SCALAR_NAME[input.dtype]}'")
    if input.ndim == 0 or input.numel() == 0:
        return input.clone()
    # a log-space inclusive scan by doubling (Hillis-Steele): stable (logaddexp shifts by the max)
    # and differentiable through logaddexp
    n = input.shape[d]
    r, k = input, 1
    while k < n:
        pad = full([k if i == d else s for i, s in enumerate(input.shape)], -math.inf, dtype=input.dtype)
        r = logaddexp(r, cat([pad, narrow(r, d, 0, n - k)], d))
        k *= 2
    return r


@method()
def float_power_(self, exponent):
    if self.dtype != _core.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {_SCALAR_NAME[self.dtype]} but the operation's result requires dtype Double")
    return _inplace(self, float_power, exponent)


def det(input):
    from . import linalg
    return linalg.det(input)


def inverse(input):
    from . import linalg
    return linalg.inv(input)


METHODS.update(det=det, inverse=inverse)


_BINARY = ["add", "sub", "mul", "div", "remainder", "fmod", "pow", "maximum", "minimum", "atan2", "hypot",
           "copysign", "xlogy", "logaddexp", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
           "bitwise_right_shift", "logical_and", "logical_or", "logical_xor", "eq", "ne", "lt", "le", "gt", "ge",
           "floor_divide"]


def _binary(name):
    if name in ("add", "sub"):
        def f(input, other, *, alpha=1):
            _check_add_args(name, input, other, alpha)
            if isinstance(alpha, _b_complex):
                return _C.binary_op(name, input, _C.binary_op("mul", other, alpha, 1.0), 1.0)
            return _C.binary_op(name, input, other, _b_float(alpha))

        def f_(self, other, *, alpha=1):
            _check_add_args(name, self, other, alpha)
            if isinstance(alpha, _b_complex):
                return _C.binary_op_(name, self, _C.binary_op("mul", other, alpha, 1.0), 1.0)
            return _C.binary_op_(name, self, other, _b_float(alpha))
    elif name == "div":
        def f(input, other, *, rounding_mode=None):
            if rounding_mode is None:
                return _C.binary_op("div", input, other)
            if rounding_mode == "floor":
                return _C.binary_op("floor_divide", input, other)
            if rounding_mode == "trunc":
                rt = _C.result_type(input, other) if _is_t(input) else _C.result_type(other, input)
                if rt == _core.bool:
                    raise NotImplementedError("\"div_trunc_cpu\" not implemented for 'Bool'")
                if rt.is_floating_point:
                    return trunc(_C.binary_op("div", input, other))
                return _C.binary_op("trunc_divide", input, other)
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")

        def f_(self, other, *, rounding_mode=None):
            if rounding_mode is None:
                return _C.binary_op_("div", self, other)
            return _inplace(self, f, other, rounding_mode=rounding_mode)
    elif name == "floor_divide":
        def f(input, other):
            return _C.floor_divide(input, other)  # no derivative: backward raises, like PyTorch

        def f_(self, other):
            return _C.binary_op_(name, self, other)
    else:
        def f(input, other):
            return _C.binary_op(name, input, other)

        def f_(self, other):
            return _C.binary_op_(name, self, other)
    if name in _KERNEL_DTYPES:
        f, f_ = _kernel_dtypes(f, name), _kernel_dtypes(f_, name)
    if name in _TENSOR_ARGS:
        f, f_ = _tensor_args(f, name, _TENSOR_ARGS[name]), _tensor_args(f_, name + "_", _TENSOR_ARGS[name])
    f.__name__, f_.__name__ = f.__qualname__, f_.__qualname__ = name, name + "_"
    return f, f_


_SUB_BOOL = ("Subtraction, the `-` operator, with a bool tensor is not supported. "
             "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def _check_add_args(name, input, other, alpha):
    """add/sub: a bool operand of sub, and alpha's type against the result dtype (PyTorch's checks)."""
    if name == "sub" and (isinstance(other, _b_bool) or isinstance(input, _b_bool)):
        raise RuntimeError(_SUB_BOOL)
    if isinstance(alpha, _b_complex):
        rt = _C.result_type(input, other) if _is_t(input) else _C.result_type(other, input)
        if not rt.is_complex:
            raise RuntimeError("For non-complex input tensors, argument alpha must not be a complex number.")
        return
    if not isinstance(alpha, (_b_bool, _b_float)):
        return
    rt = _C.result_type(input, other) if _is_t(input) else _C.result_type(other, input)
    if isinstance(alpha, _b_bool):
        if rt != _core.bool:
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
    elif not rt.is_floating_point and not rt.is_complex:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")


# binary ops whose PyTorch signature takes Tensors, not Python scalars: 2 = both arguments, 1 = the first
_TENSOR_ARGS = {"maximum": 2, "minimum": 2, "atan2": 2, "hypot": 2, "logaddexp": 2, "logical_and": 2, "logical_or": 2,
                "logical_xor": 2, "fmod": 1, "copysign": 1, "eq": 1, "ne": 1, "lt": 1, "le": 1, "gt": 1, "ge": 1}


# binary kernels PyTorch has only for floating (True) or only for integral/bool (False) result dtypes
_KERNEL_DTYPES = {"logaddexp": ("logaddexp_cpu", True), "hypot": ("hypot_cpu", True),
                  "bitwise_and": ("bitwise_and_cpu", False), "bitwise_or": ("bitwise_or_cpu", False),
                  "bitwise_xor": ("bitwise_xor_cpu", False), "bitwise_left_shift": ("lshift_cpu", False),
                  "bitwise_right_shift": ("rshift_cpu", False)}


def _kernel_dtypes(f, name):
    kernel, want_float = _KERNEL_DTYPES[name]

    def g(input, other, *args, **kw):
        rt = _C.result_type(input, other) if _is_t(input) else _C.result_type(other, input) if _is_t(other) else None
        if rt is not None and rt.is_floating_point != want_float:
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{_SCALAR_NAME[rt]}'")
        return f(input, other, *args, **kw)
    return g


def _require_tensor(name, x, pos, arg=None):
    if not _is_t(x):
        arg = arg or ("input" if pos == 1 else "other")
        raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _tensor_args(f, name, n):
    def g(input, other, *args, **kw):
        _require_tensor(name, input, 1)
        if n == 2:
            _require_tensor(name, other, 2)
        return f(input, other, *args, **kw)
    return g


for _n in _BINARY:
    _G[_n], _G[_n + "_"] = _binary(_n)
    METHODS[_n], METHODS[_n + "_"] = _G[_n], _G[_n + "_"]
for _a, _n in {"subtract": "sub", "multiply": "mul", "divide": "div", "true_divide": "div", "greater": "gt",
               "greater_equal": "ge", "less": "lt", "less_equal": "le", "not_equal": "ne", "arctan2": "atan2"}.items():
    _G[_a], _G[_a + "_"] = _G[_n], _G[_n + "_"]
    METHODS[_a], METHODS[_a + "_"] = _G[_n], _G[_n + "_"]


def _fextreme(is_max):
    name = "fmax" if is_max else "fmin"

    def f(input, other):
        # NaN loses to a number (unlike maximum/minimum); ties send the gradient to `input`, as PyTorch does
        _require_tensor(name, input, 1)
        _require_tensor(name, other, 2)
        pick = (input >= other if is_max else input <= other) | isnan(other)
        return where(pick, input, other)

    f.__name__ = f.__qualname__ = name
    return f


fmax = _fextreme(True)
fmin = _fextreme(False)
METHODS.update(fmax=fmax, fmin=fmin)


@method()
def float_power(input, exponent):
    """pow computed in float64, like torch.float_power."""
    e = exponent.to(_core.float64) if _is_t(exponent) else exponent
    return pow(input.to(_core.float64) if _is_t(input) else input, e)


@method()
def rsub(input, other, *, alpha=1):
    _check_add_args("sub", other, input, alpha)
    return _C.binary_op("sub", other, input, _b_float(alpha))


@method()
def equal(input, other):
    _require_tensor("equal", input, 1)
    _require_tensor("equal", other, 2)
    return tuple(input.shape) == tuple(other.shape) and _b_bool(all(eq(input, other)))


@method()
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    _require_tensor("isclose", input, 1)
    _require_tensor("isclose", other, 2)
    if input.dtype != other.dtype:
        raise RuntimeError(f"{_SCALAR_NAME[input.dtype]} did not match {_SCALAR_NAME[other.dtype]}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    close = input == other
    if equal_nan and (input.dtype.is_floating_point or input.dtype.is_complex):
        close = close | (isnan(input) & isnan(other))
    if rtol == 0 and atol == 0:
        return close
    a, b = input, other
    if not a.dtype.is_floating_point and not a.dtype.is_complex:
        # PyTorch measures integer errors in the default float dtype (no wrap-around)
        a, b = a.to(get_default_dtype()), b.to(get_default_dtype())
    # a finite error within tolerance (inf - inf is nan: equal infinities are caught by == above)
    err = abs(a - b)
    return close | (isfinite(err) & (err <= atol + abs(rtol * b)))


@method()
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _b_bool(all(isclose(input, other, rtol, atol, equal_nan)))


def where(condition, input=None, other=None):
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if condition.dtype not in (_core.bool, _core.uint8):
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {_SCALAR_NAME[condition.dtype]}")
    # a Python scalar next to a tensor is converted (checked) to the result dtype
    for a, b in ((input, other), (other, input)):
        if _is_t(a) and isinstance(b, numbers.Number):
            _check_scalar(b, _C.result_type(a, b), half=False)
    return _C.where_op(condition, input, other)


METHODS["where"] = lambda self, condition, other: where(condition, self, other)


_C_TYPE = {_core.bool: "bool", _core.uint8: "uint8_t", _core.int8: "int8_t", _core.int16: "int16_t", _core.int32: "int",
           _core.int64: "int64_t", _core.float16: "c10::Half", _core.bfloat16: "c10::BFloat16", _core.float32: "float",
           _core.float64: "double", _core.complex64: "c10::complex<float>", _core.complex128: "c10::complex<double>"}


def _scalar_overflows(v, dtype):
    """c10's checked Scalar conversion: integers must fit (unsigned also takes down to -max),
    floats must be within +-max unless inf/NaN; bool takes anything."""
    if dtype == _core.bool or isinstance(v, _b_bool) or dtype.is_complex:
        return False
    if isinstance(v, numbers.Complex) and not isinstance(v, numbers.Real):
        # a complex value converts to a real dtype only with a zero imaginary part
        if v.imag != 0:
            return True
        v = v.real
    if dtype.is_floating_point:
        try:
            f = _b_float(v)
        except OverflowError:
            return True
        return math.isfinite(f) and _b_abs(f) > _core.finfo(dtype).max
    ii = _core.iinfo(dtype)
    lo = -ii.max if dtype == _core.uint8 and not isinstance(v, _b_float) else ii.min
    if isinstance(v, _b_float):
        return not math.isfinite(v) or v < _b_float(lo) or v > _b_float(ii.max)
    return v < lo or v > ii.max


def _check_scalar(v, dtype, half=True):
    """RuntimeError for a Python scalar that does not fit `dtype` (PyTorch's checked conversion);
    a Python int outside [-2**63, 2**64) does not even parse as a Scalar."""
    if _is_t(v):
        if v.numel() != 1:
            return
        v = v.item()
    if isinstance(v, _b_int) and not isinstance(v, _b_bool) and not -2 ** 63 <= v < 2 ** 64:
        raise OverflowError("int too big to convert")
    # (fill_, setitem, full_like and where convert to half/bfloat16 unchecked: inf)
    if not half and dtype in (_core.float16, _core.bfloat16):
        return
    if isinstance(v, numbers.Number) and _scalar_overflows(v, dtype):
        raise RuntimeError(f"value cannot be converted to type {_C_TYPE[dtype]} without overflow")


def _bound(input, b):
    """A clamp bound as a tensor: Python scalars become 0-d tensors that promote like scalars."""
    if _is_t(b):
        return b
    if isinstance(b, _b_bool):
        return full([], b, dtype=_core.bool)
    if isinstance(b, numbers.Integral):
        return full([], b, dtype=_core.int64)
    return full([], b, dtype=_core.float64)


def _clamp_args(name, input, min, max):
    """PyTorch's overloads: (Scalar? min, Scalar? max) or (Tensor? min, Tensor? max). A 0-d tensor
    next to a Python number binds as a Scalar; a sized tensor next to a number is a TypeError."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    bs = [b for b in (min, max) if b is not None]
    if _b_any(_is_t(b) for b in bs) and not _b_all(_is_t(b) for b in bs):
        # (a tensor that requires grad does not convert to a Scalar either)
        if _b_any(_is_t(b) and (b.ndim > 0 or b.requires_grad) for b in bs):
            got = ", ".join(["Tensor"] + [f"{k}={type(v).__name__ if not _is_t(v) else 'Tensor'}" for k, v in (("max", max), ("min", min)) if v is not None])
            raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but expected one of:\n"
                            " * (Tensor input, Tensor min = None, Tensor max = None, *, Tensor out = None)\n"
                            " * (Tensor input, Number min = None, Number max = None, *, Tensor out = None)")
        min, max = (b.item() if _is_t(b) else b for b in (min, max))
    scalars = not _b_any(_is_t(b) for b in bs)
    if scalars:
        if input.dtype == _core.bool and _b_all(isinstance(b, _b_bool) for b in bs):
            k = "clamp_scalar_cpu" if len(bs) == 2 else "clamp_min_scalar_cpu" if min is not None else "clamp_max_scalar_cpu"
            raise NotImplementedError(f"\"{k}\" not implemented for 'Bool'")
    return min, max, scalars


@method("clamp", "clip")
def clamp(input, min=None, max=None):
    if input.is_complex():
        raise NotImplementedError("clamp is not supported for complex types")
    min, max, scalars = _clamp_args("clamp", input, min, max)
    # the result dtype promotes over input and bounds (int tensor, float bound -> float)
    dt = input.dtype
    for b in (min, max):
        if b is not None:
            dt = _C.result_type(input if dt == input.dtype else input.to(dt), b)
    if scalars:
        for b in (min, max):
            if b is not None:
                _check_scalar(b, dt)
    if scalars and dt == input.dtype and dt in (_core.float32, _core.float64) \
            and not _b_any(b is not None and b != b for b in (min, max)):
        # one fused pass (and PyTorch's ClampBackward1); the composition below costs six
        return _C.clamp_scalar(input, None if min is None else float(min), None if max is None else float(max))
    r = input if input.dtype == dt else input.to(dt)
    # a NaN bound gives NaN (PyTorch propagates it); at x == bound the gradient goes to x
    for b, above in ((min, False), (max, True)):
        if b is not None:
            b = _bound(input, b).to(dt)
            r = where(((r > b) if above else (r < b)) | isnan(b), b, r)
    return input.clone() if r is input else r


clip = clamp


@method("clamp_", "clip_")
def clamp_(self, min=None, max=None):
    _, _, scalars = _clamp_args("clamp_", self, min, max)
    r = clamp(self, min, max)
    if not _C.can_cast(r.dtype, self.dtype):
        raise RuntimeError(f"result type {_SCALAR_NAME[r.dtype]} can't be cast to the desired output type {(_CPP_NAME if scalars else _SCALAR_NAME)[self.dtype]}")
    return self.copy_(r)


def clamp_min(input, min):
    if min is None:
        raise TypeError("clamp_min() received an invalid combination of arguments - got (Tensor, NoneType)")
    return clamp(input, min=min)


def clamp_max(input, max):
    if max is None:
        raise TypeError("clamp_max() received an invalid combination of arguments - got (Tensor, NoneType)")
    return clamp(input, max=max)


def clamp_min_(self, min):
    if min is None:
        raise TypeError("clamp_min_() received an invalid combination of arguments - got (NoneType)")
    return clamp_(self, min=min)


def clamp_max_(self, max):
    if max is None:
        raise TypeError("clamp_max_() received an invalid combination of arguments - got (NoneType)")
    return clamp_(self, max=max)


METHODS.update(clamp_min=clamp_min, clamp_max=clamp_max, clamp_min_=clamp_min_, clamp_max_=clamp_max_)


@method()
def lerp(input, end, weight):
    if input.dtype != end.dtype or (_is_t(weight) and weight.dtype != input.dtype):
        bad = end if input.dtype != end.dtype else weight
        raise RuntimeError(f"expected dtype {_CPP_NAME[input.dtype]} for `{'end' if bad is end else 'weight'}` but got dtype {_CPP_NAME[bad.dtype]}")
    if not input.dtype.is_floating_point and not input.dtype.is_complex:
        raise NotImplementedError(f"\"lerp_kernel_{'tensor' if _is_t(weight) else 'scalar'}\" not implemented for '{_SCALAR_NAME[input.dtype]}'")
    if _fused3_ok(input, end, weight):
        return _C.pointwise3("lerp", input, end, weight, 0.0, False)
    # ATen's form (recorded for autograd): base + coeff * (end - input), from the start for
    # |w| < 0.5 and back from the end otherwise, so lerp(inf, b, 0.5) is inf as in PyTorch (the
    # start form gives inf - inf). Selecting the coefficient and the base, not two results,
    # keeps a 0 * inf out of the gradients.
    d = end - input
    if _is_t(weight):
        small = weight.abs() < 0.5
        return where(small, input, end) + where(small, weight, weight - 1) * d
    return input + weight * d if -0.5 < weight < 0.5 else end + (weight - 1) * d


@method()
def lerp_(self, end, weight):
    if _fused3_ok(self, end, weight):
        _C.pointwise3("lerp", self, end, weight, 0.0, True)
        return self
    return _inplace(self, lerp, end, weight)


_FUSED3_DTYPES = (_core.float32, _core.float64)


def _fused3_ok(a, b, c):
    """Whether addcmul/addcdiv/lerp may run as one kernel: float32/float64 operands of one
    dtype (c may be a number) and no gradient to record (the composed form records it)."""
    dt = a.dtype
    if dt not in _FUSED3_DTYPES or b.dtype != dt:
        return False
    c_t = _is_t(c)
    if c_t and c.dtype != dt:
        return False
    if not c_t and not isinstance(c, (int, float)):
        return False
    return not (_C.is_grad_enabled() and (a.requires_grad or b.requires_grad or (c_t and c.requires_grad)))


def _result_type_n(*tensors):
    """torch.result_type over several tensors: dimensioned tensors decide, unless the 0-d ones
    are of a higher category (c10's combine_categories)."""
    dim = zero = None
    for t in tensors:
        if t.ndim:
            dim = t.dtype if dim is None else _C.promote_types(dim, t.dtype)
        else:
            zero = t.dtype if zero is None else _C.promote_types(zero, t.dtype)
    if dim is None or zero is None:
        return dim or zero
    if dim.is_complex:
        return dim
    if zero.is_complex:
        return dim.to_complex() if dim.is_floating_point else zero
    if dim.is_floating_point:
        return dim
    if dim == _core.bool or zero.is_floating_point:
        return _C.promote_types(dim, zero)
    return dim


def _addc_common(input, tensor1, tensor2):
    """addcmul/addcdiv compute in the dtype common to all three tensors."""
    rt = _result_type_n(input, tensor1, tensor2)
    return rt, input.to(rt), tensor1.to(rt), tensor2.to(rt)


@method()
def addcmul(input, tensor1, tensor2, *, value=1):
    rt, input, tensor1, tensor2 = _addc_common(input, tensor1, tensor2)
    if not rt.is_floating_point and not rt.is_complex:
        value = _b_int(value)  # PyTorch casts the scalar to the (integral) result type
    if _fused3_ok(input, tensor1, tensor2) and isinstance(value, (int, float)):
        return _C.pointwise3("addcmul", input, tensor1, tensor2, value, False)
    return input + value * tensor1 * tensor2 if value != 1 else input + tensor1 * tensor2


@method()
def addcdiv(input, tensor1, tensor2, *, value=1):
    if not (tensor1.dtype.is_floating_point or tensor1.dtype.is_complex) and not (tensor2.dtype.is_floating_point or tensor2.dtype.is_complex):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform a true division of tensor1 and tensor2. "
                           "The historic addcdiv behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
                           "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter implementation: (input + value * tensor1 / tensor2), for all dtypes.")
    rt, input, tensor1, tensor2 = _addc_common(input, tensor1, tensor2)
    if not rt.is_floating_point and not rt.is_complex:
        rt = get_default_dtype()
        input, tensor1, tensor2 = input.to(rt), tensor1.to(rt), tensor2.to(rt)
    if _fused3_ok(input, tensor1, tensor2) and isinstance(value, (int, float)):
        return _C.pointwise3("addcdiv", input, tensor1, tensor2, value, False)
    return input + value * tensor1 / tensor2 if value != 1 else input + tensor1 / tensor2


@method()
def addcmul_(self, tensor1, tensor2, *, value=1):
    if _fused3_ok(self, tensor1, tensor2) and isinstance(value, (int, float)) and _is_t(tensor2):
        _C.pointwise3("addcmul", self, tensor1, tensor2, value, True)
        return self
    return self.add_(tensor1 * tensor2, alpha=value)


@method()
def addcdiv_(self, tensor1, tensor2, *, value=1):
    if _fused3_ok(self, tensor1, tensor2) and isinstance(value, (int, float)) and _is_t(tensor2):
        _C.pointwise3("addcdiv", self, tensor1, tensor2, value, True)
        return self
    return self.add_(tensor1 / tensor2, alpha=value)


@method()
def masked_fill(input, mask, value):
    _check_scalar(value, input.dtype)
    if _is_t(mask) and tuple(mask.shape) != tuple(input.shape):
        # out of place, the input also broadcasts to the mask's shape
        shp = list(broadcast_shapes(input.shape, mask.shape))
        if shp != list(input.shape):
            input = input.expand(*shp)
    return _C.masked_fill(input, mask, value)


@method()
def masked_fill_(self, mask, value):
    _check_scalar(value, self.dtype)
    return _inplace(self, _C.masked_fill, mask, value)


# ---------------------------------------------------------------- reductions

@method()
def sum(input, dim=None, keepdim=False, *, dtype=None):
    if dtype == _core.bool and isinstance(input, Tensor) and input.dtype != _core.bool:
        # PyTorch casts to bool first: a bool sum says whether any element is nonzero
        input = input.to(_core.bool)
    return _C.sum(input, _dims(dim), keepdim, dtype)


@method()
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    if input.is_complex():
        raise RuntimeError("nansum on CPU does not support complex inputs")
    if input.dtype.is_floating_point:
        input = where(isnan(input), 0.0, input)
    return sum(input, dim, keepdim, dtype=dtype)


@method()
def mean(input, dim=None, keepdim=False, *, dtype=None):
    return _C.mean(input, _dims(dim), keepdim, dtype)


@method()
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got {_SCALAR_NAME[input.dtype]}")
    if dtype is not None and not dtype.is_floating_point:
        raise RuntimeError(f"nanmean(): could not infer output dtype. Optional dtype must be either a floating point or complex dtype. Got: {_SCALAR_NAME[dtype]}")
    nn = logical_not(isnan(input))
    return nansum(input, dim, keepdim, dtype=dtype) / sum(nn, dim, keepdim)


@method()
def prod(input, dim=None, keepdim=False, *, dtype=None):
    if input.numel() == 0:
        # the empty product is 1; built from sum so that backward (an empty gradient) works
        return sum(input, dim, keepdim, dtype=dtype) * 0 + 1
    return _C.prod(input, _dims(dim), keepdim, dtype)


def _check_empty_reduction(name, input, dims):
    """Reductions without identity (amax, argmax, ...) on empty input: PyTorch's errors."""
    if input.numel() != 0:
        return
    if not dims:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
    for d in dims:
        d = _wrap(d, input.ndim)
        if input.ndim and input.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


@method()
def amax(input, dim=(), keepdim=False):
    dims = _dims(dim) if dim != () else None
    _check_empty_reduction("amax", input, dims)
    return _C.amax(input, dims, keepdim, True)


@method()
def amin(input, dim=(), keepdim=False):
    dims = _dims(dim) if dim != () else None
    _check_empty_reduction("amin", input, dims)
    return _C.amax(input, dims, keepdim, False)


def _extreme(is_max):
    rt = return_types.max if is_max else return_types.min
    other_fn = "maximum" if is_max else "minimum"

    def f(input, dim=None, keepdim=False):
        if _is_t(dim):
            return _C.binary_op(other_fn, input, dim)
        if dim is None:
            if input.numel() == 0:
                raise RuntimeError(f"{'max' if is_max else 'min'}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
            return _C.amax(input, None, False, is_max, True)
        v, i = _C.max_dim(input, _b_int(dim), keepdim, is_max)
        return rt(v, i)
    f.__name__ = "max" if is_max else "min"
    return f


max = _extreme(True)  # noqa: A001
min = _extreme(False)  # noqa: A001
METHODS["max"], METHODS["min"] = max, min


@method()
def aminmax(input, *, dim=None, keepdim=False):
    if input.numel() == 0 and dim is None:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no identity.")
    if input.numel() == 0 and input.ndim and input.shape[_wrap(dim, input.ndim)] == 0:
        d = _wrap(dim, input.ndim)
        raise IndexError(f"aminmax: Expected reduction dim {d} to have non-zero size.")
    return return_types.aminmax(amin(input, dim if dim is not None else (), keepdim), amax(input, dim if dim is not None else (), keepdim))


def _check_arg_extreme(name, input, dim):
    if input.dtype == _core.bool:
        raise RuntimeError(f"{name}(): does not support bool input")
    if input.numel() == 0:
        if dim is None:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        _check_empty_reduction(name, input, [dim])


@method()
def argmax(input, dim=None, keepdim=False):
    _check_arg_extreme("argmax", input, dim)
    return _C.argmax(input, dim, keepdim, True)


@method()
def argmin(input, dim=None, keepdim=False):
    _check_arg_extreme("argmin", input, dim)
    return _C.argmax(input, dim, keepdim, False)


def _correction(dim, unbiased, correction):
    if isinstance(dim, _b_bool):
        unbiased, dim = dim, None
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, _b_float(correction)


@method()
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, c = _correction(dim, unbiased, correction)
    return _C.var(input, _dims(dim), c, keepdim, False)


@method()
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, c = _correction(dim, unbiased, correction)
    return _C.var(input, _dims(dim), c, keepdim, True)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (var(input, dim, unbiased, keepdim, correction=correction), mean(input, _dims(_correction(dim, unbiased, correction)[0]), keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (std(input, dim, unbiased, keepdim, correction=correction), mean(input, _dims(_correction(dim, unbiased, correction)[0]), keepdim))


@method()
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    if p == "nuc":
        from . import linalg
        return linalg.matrix_norm(input, "nuc", tuple(range(input.ndim)) if dim is None else dim, keepdim, dtype=dtype)
    if p == "fro" or p is None:
        p = 2.0
    if input.is_complex():
        input = input.abs()  # every vector norm depends on the entries' moduli only
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {_SCALAR_NAME[input.dtype]}")
    x = input if dtype is None else input.to(dtype)
    if p in (math.inf, -math.inf) and x.numel() == 0:
        pn = "inf" if p > 0 else "-inf"
        if dim is None or _dims(dim) == []:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {pn} norm on an empty tensor because the operation does not have an identity")
        for d in _dims(dim):
            d = _wrap(d, x.ndim)
            if x.ndim and x.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {pn} norm on the dimension {d}because this dimension is empty and the operation does not have an identity")
    if x.dtype in (_core.float16, _core.bfloat16):
        # PyTorch accumulates half-precision norms in float32 (300**2 overflows float16)
        return norm(x.float(), p, dim, keepdim).to(x.dtype)
    if p == 0 and x.requires_grad and _C.is_grad_enabled():
        return _norm0_fn().apply(x, _dims(dim), keepdim)
    return _C.norm(x, _b_float(p), _dims(dim), keepdim)


_NORM0 = []


def _norm0_fn():
    """The 0-"norm" (a count) is part of the graph like in PyTorch, with no gradient to its input."""
    if not _NORM0:
        from .autograd.function import Function

        class _Norm0(Function):
            @staticmethod
            def forward(ctx, x, dim, keepdim):
                return _C.norm(x.detach(), 0.0, dim, keepdim)

            @staticmethod
            def backward(ctx, g):
                return None, None, None
        _NORM0.append(_Norm0)
    return _NORM0[0]


@method()
def logsumexp(input, dim, keepdim=False):
    if input.is_complex():
        # the max shift keeps real parts from overflowing; the imaginary parts ride along
        m = amax(input.real.detach(), _dims(dim), True) if input.numel() else zeros([1] * input.ndim, dtype=input.dtype.to_real())
        r = log(sum(exp(input - m), dim, True)) + m
        return r if keepdim else sum(r, dim, False)  # summing the kept size-1 dims drops them
    if input.numel() == 0:
        # log of an empty sum: -inf (the max-shift of the kernel needs an element)
        return log(sum(exp(input), dim, keepdim))
    return _C.logsumexp(input, _dims(dim), keepdim)


def _cum_dtype(name, input, dtype, dim):
    _wrap(dim, input.ndim)  # PyTorch checks the dimension first
    if (dtype or input.dtype) == _core.bool and (dtype is not None or name.endswith("_")):
        raise NotImplementedError(f"\"{name.rstrip('_')}_out_cpu\" not implemented for 'Bool'")


@method()
def cumsum(input, dim, *, dtype=None):
    _cum_dtype("cumsum", input, dtype, dim)
    return _C.cumulative(input, _b_int(dim), False, dtype)


@method()
def cumprod(input, dim, *, dtype=None):
    _cum_dtype("cumprod", input, dtype, dim)
    return _C.cumulative(input, _b_int(dim), True, dtype)


def _cum_inplace(name, self, dim, dtype):
    _wrap(dim, self.ndim)  # PyTorch checks the dimension first here too
    if dtype is not None and dtype != self.dtype:
        raise RuntimeError(f"Bad in-place call: input tensor dtype {_CPP_NAME[self.dtype]} and output tensor dtype {_CPP_NAME[dtype]} should match")
    _cum_dtype(name + "_", self, dtype, dim)
    return _inplace(self, cumsum if name == "cumsum" else cumprod, dim, dtype=self.dtype)


@method()
def cumsum_(self, dim, *, dtype=None):
    return _cum_inplace("cumsum", self, dim, dtype)


@method()
def cumprod_(self, dim, *, dtype=None):
    return _cum_inplace("cumprod", self, dim, dtype)


def _np_of(t):
    """NumPy copy of a tensor's values (bfloat16 via float32: NumPy has no bfloat16)."""
    t = t.detach()
    return t.float().numpy() if t.dtype == _core.bfloat16 else t.numpy()


def _cumext(input, dim, is_max):
    _wrap(dim, input.ndim)
    if input.numel() == 0:
        return (return_types.cummax if is_max else return_types.cummin)(input.clone(), empty(tuple(input.shape), dtype=_core.int64))
    iv = _C.cum_extreme_indices(input, _b_int(dim), is_max)
    v = gather(input, _b_int(dim), iv) if input.ndim else input.clone()
    return (return_types.cummax if is_max else return_types.cummin)(v, iv)


@method()
def cummax(input, dim):
    return _cumext(input, dim, True)


@method()
def cummin(input, dim):
    return _cumext(input, dim, False)


def _all_any(input, dim, keepdim, is_any):
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        # an empty dim list reduces nothing: elementwise truth (uint8 stays uint8, like PyTorch)
        r = ne(input, 0) if input.dtype != _core.bool else input.clone()
        return r.to(_core.uint8) if input.dtype == _core.uint8 else r
    return _C.all_any(input, _dims(dim), keepdim, is_any)


@method()
def all(input, dim=None, keepdim=False):  # noqa: A001
    return _all_any(input, dim, keepdim, False)


@method()
def any(input, dim=None, keepdim=False):  # noqa: A001
    return _all_any(input, dim, keepdim, True)


@method()
def count_nonzero(input, dim=None):
    return sum(ne(input, 0), dim)


@method()
def sort(input, dim=-1, descending=False, stable=False):
    v, i = _C.sort(input, _b_int(dim), descending)
    return return_types.sort(v, i)


@method()
def argsort(input, dim=-1, descending=False, stable=False):
    return _C.sort(input, _b_int(dim), descending)[1]


@method()
def msort(input):
    return sort(input, 0).values


@method()
def topk(input, k, dim=-1, largest=True, sorted=True):
    d = _wrap(dim, input.ndim)
    if input.ndim == 0:
        if k > 1:
            raise RuntimeError("selected index k out of range")
        return return_types.topk(input.clone(), zeros((), dtype=_core.int64))
    if not 0 <= k <= (input.shape[d] if input.ndim else 1):
        raise RuntimeError("selected index k out of range")
    v, i = _C.topk(input, k, d, largest)
    return return_types.topk(v, i)


@method()
def kthvalue(input, k, dim=-1, keepdim=False):
    d = _wrap(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if n == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {d} to have non-zero size.")
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if input.ndim == 0:
        return return_types.kthvalue(input.clone(), zeros((), dtype=_core.int64))
    v, i = _C.sort(input, d, False)
    v, i = select(v, d, k - 1), select(i, d, k - 1)
    if keepdim:
        v, i = unsqueeze(v, d), unsqueeze(i, d)
    return return_types.kthvalue(v, i)


def _median(input, dim, keepdim, ignore_nan, name):
    if dim is None:
        flat = reshape(input, (-1,))
        if flat.numel() == 0:
            return full([], math.nan, dtype=input.dtype)
        r = _median(flat, 0, False, ignore_nan, name)
        return r.values
    d = _wrap(dim, input.ndim)
    rt = return_types.median if name == "median" else return_types.nanmedian
    if input.ndim == 0:
        return rt(input.clone(), zeros((), dtype=_core.int64))
    n = input.shape[d]
    if n == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    v, i = _C.sort(input, d, False)  # NaN sorts last
    if input.dtype.is_floating_point:
        nan = isnan(input)
        if ignore_nan:
            # the lower median of the non-NaN values (NaN only when the whole slice is NaN)
            k = sum(logical_not(nan), d, keepdim=True)
            pos = clamp((k - 1) // 2, min=0)
        else:
            # any NaN makes the median NaN, reported at the first NaN's index
            first_nan = argmax(nan.to(_core.uint8), d, keepdim=True)
            pos = where(any(nan, d, keepdim=True), n, (n - 1) // 2)
            i = cat([i, first_nan], d)
        idx = gather(i, d, pos)
    else:
        idx = narrow(i, d, (n - 1) // 2, 1)
    # values gathered from the input at the chosen index: differentiable
    v = gather(input, d, idx)
    if not keepdim:
        v, idx = squeeze(v, d), squeeze(idx, d)
    return rt(v, idx)


@method()
def median(input, dim=None, keepdim=False):
    if input.is_complex():
        raise NotImplementedError(f"\"median_cpu\" not implemented for '{_SCALAR_NAME[input.dtype]}'")
    return _median(input, dim, keepdim, False, "median")


@method()
def nanmedian(input, dim=None, keepdim=False):
    if input.is_complex():
        raise NotImplementedError(f"\"nanmedian_cpu\" not implemented for '{_SCALAR_NAME[input.dtype]}'")
    return _median(input, dim, keepdim, True, "nanmedian")


@method()
def mode(input, dim=-1, keepdim=False):
    d = _wrap(dim, input.ndim)
    if input.ndim == 0:
        return return_types.mode(input.clone(), zeros((), dtype=_core.int64))
    if input.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    if input.numel() == 0:
        shp = [s for k, s in enumerate(input.shape) if k != d or keepdim]
        shp = [1 if k == d else s for k, s in enumerate(shp)] if keepdim else shp
        return return_types.mode(empty(tuple(shp), dtype=input.dtype), empty(tuple(shp), dtype=_core.int64))
    # values gathered from the input at the chosen index: differentiable, like PyTorch's
    i = _C.mode_indices(input, d).unsqueeze(d)
    v = gather(input, d, i)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return return_types.mode(v, i)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    if dim is not None and input.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    u, inv, cnt = _C.unique_op(input, None if dim is None else _wrap(dim, input.ndim))
    res = [u]
    if return_inverse:
        res.append(inv)
    if return_counts:
        res.append(cnt)
    return res[0] if len(res) == 1 else tuple(res)


METHODS["unique"] = unique


@method()
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    if dim is not None:
        d = _wrap(dim, input.ndim)
        n = input.shape[d] if input.ndim else 1
        x = movedim(input, d, 0).reshape(n, -1) if input.ndim else input.reshape(1, 1)
        # a slice starts a new group when it differs anywhere from the previous one
        keep = ones(n, dtype=_core.bool)
        if n > 1:
            keep[1:] = any(ne(x[1:], x[:-1]), 1)
        starts = nonzero(keep).reshape(-1)
        res = [index_select(input, d, starts) if input.ndim else input.clone()]
        if return_inverse:
            res.append(cumsum(keep.to(_core.int64), 0) - 1)
        if return_counts:
            res.append(diff(cat([starts, tensor([n])])))
        return res[0] if len(res) == 1 else tuple(res)
    a = input.detach().reshape(-1)
    if a.numel() == 0:
        res = [a.clone()]
        if return_inverse:
            res.append(zeros(tuple(input.shape), dtype=_core.int64))
        if return_counts:
            res.append(zeros(0, dtype=_core.int64))
        return res[0] if len(res) == 1 else tuple(res)
    # a value starts a new run when it differs from the previous one (NaN always does)
    keep = cat([ones(1, dtype=_core.bool), ne(a[1:], a[:-1])])
    res = [a[keep]]
    if return_inverse:
        res.append((cumsum(keep.to(_core.int64), 0) - 1).reshape(tuple(input.shape)))
    if return_counts:
        res.append(diff(cat([nonzero(keep).reshape(-1), tensor([a.numel()])])))
    return res[0] if len(res) == 1 else tuple(res)


@method()
def diff(input, n=1, dim=-1, prepend=None, append=None):
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _wrap(dim, input.ndim)
    if prepend is not None or append is not None:
        input = cat([x for x in (prepend, input, append) if x is not None], d)
    for _ in range(n):
        m = input.shape[d]
        if m == 0:
            break
        a, b = narrow(input, d, 1, m - 1), narrow(input, d, 0, m - 1)
        input = logical_xor(a, b) if input.dtype == _core.bool else a - b
    return input


@method()
def bincount(input, weights=None, minlength=0):
    if input.ndim != 1 or input.dtype.is_floating_point or input.dtype == _core.bool:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is not None and (weights.ndim != 1 or weights.shape[0] != input.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    if input.numel() and _b_int(input.min()) < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if input.numel() == 0:
        return zeros(_b_int(minlength), dtype=_core.int64)  # PyTorch: int64 even with weights
    return _C.bincount_op(input, weights, _b_int(minlength))


@method()
def histc(input, bins=100, min=0, max=0):
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_SCALAR_NAME[input.dtype]}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = _b_float(min), _b_float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    # an empty range means the data's range; a single point widens by 1 on each side
    if lo == hi and input.numel():
        lo, hi = _b_float(input.min()), _b_float(input.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
    return _C.histc_op(input, _b_int(bins), lo, hi)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    if side is not None and side not in ("left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
    if side == "left" and right:
        raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left while right was True")
    if sorted_sequence.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 dimension")
    side = side or ("right" if right else "left")
    scalar = not _is_t(input) or input.ndim == 0
    if scalar and sorted_sequence.ndim != 1:
        raise RuntimeError(f"torch.searchsorted(): input value can be a scalar only when boundaries tensor dimension is 1, but we got boundaries tensor dim({sorted_sequence.ndim}) and input value's dim(0) numel(1)")
    v = input if _is_t(input) else full([], input, dtype=sorted_sequence.dtype if isinstance(input, _b_float) and sorted_sequence.dtype.is_floating_point else None)
    if sorted_sequence.ndim > 1 and (v.ndim != sorted_sequence.ndim or tuple(v.shape[:-1]) != tuple(sorted_sequence.shape[:-1])):
        raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries tensor and input value tensor must match")
    return _C.searchsorted_op(sorted_sequence, v, side == "right", sorter, out_int32)


def bucketize(input, boundaries, *, out_int32=False, right=False):
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# ---------------------------------------------------------------- shapes and views

@method()
def view(self, *shape):
    if len(shape) == 1 and isinstance(shape[0], _core.dtype):
        return _C.view_dtype(self, shape[0])
    return _C.view(self, _shape(shape))


@method()
def view_as(self, other):
    return _C.view(self, list(other.shape))


@method()
def reshape(input, *shape):
    return _C.reshape(input, _shape(shape))


@method()
def reshape_as(self, other):
    return _C.reshape(self, list(other.shape))


@method()
def flatten(input, start_dim=0, end_dim=-1):
    nd = input.ndim
    s, e = _wrap(start_dim, nd), _wrap(end_dim, nd)
    if nd == 0:
        return reshape(input, (1,))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = list(input.shape)
    n = 1
    for x in shp[s:e + 1]:
        n *= x
    return reshape(input, shp[:s] + [n] + shp[e + 1:])


@method()
def unflatten(input, dim, sizes):
    d = _wrap(dim, input.ndim)
    if input.ndim == 0:
        raise RuntimeError("unflatten: Provided dimension is out of range for a 0-dim tensor")
    shp = list(input.shape)
    sizes = list(sizes)
    if sizes.count(-1) == 1:
        # infer -1 from the unflattened dim alone (a 0-size tensor elsewhere must not matter)
        rest = math.prod(x for x in sizes if x != -1)
        if rest:
            sizes[sizes.index(-1)] = shp[d] // rest
    return reshape(input, shp[:d] + list(sizes) + shp[d + 1:])


@method()
def ravel(input):
    return reshape(input, (-1,))


def _unique_dims(dims, ndim):
    seen = set()
    for d in dims:
        w = _wrap(d, ndim)
        if w in seen:
            raise RuntimeError(f"dim {w} appears multiple times in the list of dims")
        seen.add(w)


@method()
def squeeze(input, dim=None):
    if isinstance(dim, (list, tuple)):
        _unique_dims(dim, input.ndim)
        return _C.squeeze(input, _dims(dim))
    # an int dim is passed as such: its node is SqueezeBackward1 (a list gives SqueezeBackward2)
    return _C.squeeze(input, None if dim is None else _b_int(dim))


@method()
def unsqueeze(input, dim):
    return _C.unsqueeze(input, _b_int(dim))


@method()
def permute(input, *dims):
    if not dims:
        raise TypeError("permute() missing 1 required positional arguments: \"dims\"")
    return _C.permute(input, _shape(dims))


@method("transpose", "swapaxes", "swapdims")
def transpose(input, dim0, dim1):
    _wrap(dim0, input.ndim), _wrap(dim1, input.ndim)
    return _C.transpose(input, _b_int(dim0), _b_int(dim1))


swapaxes = swapdims = transpose


@method()
def t(input):
    return _C.t(input)


@method("movedim", "moveaxis")
def movedim(input, source, destination):
    src, dst = _dims(source), _dims(destination)
    nd = input.ndim
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain the same number of dims as destination ({dst} dims)")
    src = [_wrap(s, nd) for s in src]
    dst = [_wrap(d, nd) for d in dst]
    for name, ds, given in (("source", src, _dims(source)), ("destination", dst, _dims(destination))):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({given})")
    if nd == 0:
        return input.view_as(input)
    order = [None] * nd
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter([i for i in range(nd) if i not in src])
    order = [o if o is not None else next(rest) for o in order]
    return permute(input, order)


moveaxis = movedim


@method()
def expand(self, *sizes):
    return _C.expand(self, _shape(sizes))


@method()
def expand_as(self, other):
    return _C.expand(self, list(other.shape))


def broadcast_shapes(*shapes):
    out = []
    for s in shapes:
        s = [s] if isinstance(s, numbers.Integral) else list(s)
        n = _b_max(len(out), len(s))
        out = [1] * (n - len(out)) + out
        s = [1] * (n - len(s)) + s
        for i in range(n):
            if out[i] == 1:
                out[i] = s[i]
            elif s[i] != 1 and s[i] != out[i]:
                raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape.  Mismatch is between arg 0 and arg 1.")
    return Size(out)


def broadcast_to(input, size):
    return _C.expand(input, list(size))


METHODS["broadcast_to"] = broadcast_to


def broadcast_tensors(*tensors):
    shp = list(broadcast_shapes(*(t.shape for t in tensors)))
    return tuple(_C.expand(t, shp) for t in tensors)


@method()
def repeat(self, *sizes):
    return _C.repeat(self, _shape(sizes))


@method()
def tile(input, dims):
    dims = list(dims)
    if len(dims) < input.ndim:
        dims = [1] * (input.ndim - len(dims)) + dims
    return _C.repeat(input, dims)


@method()
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:
        # repeat_interleave(repeats): indices repeated by their own counts
        return repeat_interleave(arange(input.numel()), input)
    if dim is not None:
        dim = _wrap(dim, input.ndim)
    if dim is None:
        input = reshape(input, (-1,))
        dim = 0
    d = _b_int(dim) % _b_max(input.ndim, 1)
    n = input.shape[d]
    reps = repeats.tolist() if _is_t(repeats) else repeats
    if isinstance(reps, numbers.Integral):
        reps = [reps] * n
    if _b_any(r < 0 for r in reps):
        raise RuntimeError("repeats can not be negative" if _is_t(repeats) else "Repeats must be non-negative")
    if len(reps) != n:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = {len(reps)} and input.size({d}) = {n}")
    # the index vector and the result must be allocatable before any Python-level work
    total = _b_sum(reps)
    if total >= 2 ** 63:
        raise RuntimeError(f"Storage size calculation overflowed with sizes=[{total}]")
    _C.empty([total], _core.int64)
    _C.empty(list(input.shape[:d]) + [total] + list(input.shape[d + 1:]), input.dtype)
    idx = tensor([i for i, r in enumerate(reps) for _ in range(r)], dtype=_core.int64)
    return index_select(input, d, idx)


def cat(tensors, dim=0):
    if isinstance(tensors, (list, tuple)) and not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    return _C.cat(list(tensors), _b_int(dim))


concat = concatenate = cat


def stack(tensors, dim=0):
    if isinstance(tensors, (list, tuple)) and tensors and _is_t(tensors[0]):
        _wrap(dim, tensors[0].ndim + 1)
    return _C.stack(list(tensors), _b_int(dim))


def hstack(tensors):
    ts = [atleast_1d(t) for t in tensors]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def dstack(tensors):
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors):
    return hstack([t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors])


@method()
def split(tensor, split_size_or_sections, dim=0):
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = _wrap(dim, tensor.ndim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        s = _b_int(split_size_or_sections)
        if s < 0 or (s == 0 and n != 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [_b_min(s, n - i) for i in range(0, n, s)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if _b_sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at dimension {d}), but got split_sizes={sizes}")
    out, pos = [], 0
    for s in sizes:
        out.append(narrow(tensor, d, pos, s))
        pos += s
    return tuple(out)


@method()
def chunk(input, chunks, dim=0):
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = _wrap(dim, input.ndim)
    n = input.shape[d]
    if n == 0:
        return tuple(narrow(input, d, 0, 0) for _ in range(chunks))
    s = -(-n // chunks)
    return split(input, _b_max(s, 1), d)


@method()
def tensor_split(input, indices_or_sections, dim=0):
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = _wrap(dim, input.ndim)
    n = input.shape[d]
    if _is_t(indices_or_sections):
        t = indices_or_sections
        if t.dtype != _core.int64:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype of long, but got {_SCALAR_NAME[t.dtype]}")
        if t.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a zero-dimensional or one-dimensional tensor, but got a tensor with {t.ndim} dims")
        indices_or_sections = t.item() if t.ndim == 0 else t.tolist()
    if isinstance(indices_or_sections, numbers.Integral):
        k = indices_or_sections
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
    else:
        # piece i spans [idx[i-1], idx[i]) after wrapping and clamping to [0, n]; a decreasing
        # index gives an empty piece and the next one starts from it again (PyTorch's rule)
        idx = [0] + [_b_min(_b_max(i + n if i < 0 else i, 0), n) for i in map(_as_int, indices_or_sections)] + [n]
        return tuple(narrow(input, d, a, _b_max(b - a, 0)) for a, b in zip(idx[:-1], idx[1:]))
    return split(input, sizes, d)


@method()
def unbind(input, dim=0):
    if input.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    dim = _wrap(dim, input.ndim)
    return tuple(select(input, dim, i) for i in range(input.shape[dim]))


@method()
def narrow(input, dim, start, length):
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if input.ndim:
        n = input.shape[_wrap(dim, input.ndim)]
        if not -n <= start <= n:
            raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    return _C.narrow(input, _b_int(dim), _b_int(start), _b_int(length))


@method()
def select(input, dim, index):
    return _C.select(input, _b_int(dim), _b_int(index))


@method()
def flip(input, *dims):
    return _C.flip(input, _shape(dims))


@method()
def fliplr(input):
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


@method()
def flipud(input):
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


@method()
def roll(input, shifts, dims=None):
    if dims is None:
        return roll(reshape(input, (-1,)), shifts, 0).view(input.shape)
    shifts, dims = _dims(shifts), _dims(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    dims = [_wrap(d, input.ndim) for d in dims]
    r = input
    for s, d in zip(shifts, dims):
        n = r.shape[d]
        if n == 0:
            continue
        s = s % n
        if s:
            r = cat([narrow(r, d, n - s, s), narrow(r, d, 0, n - s)], d)
    return r


@method()
def rot90(input, k=1, dims=(0, 1)):
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = _wrap(dims[0], input.ndim), _wrap(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k = k % 4
    if k == 1:
        return flip(input, d1).transpose(d0, d1)
    if k == 2:
        return flip(input, d0, d1)
    if k == 3:
        return flip(input, d0).transpose(d0, d1)
    return input.clone()


@method()
def diagonal(input, offset=0, dim1=0, dim2=1):
    return _C.diagonal(input, _b_int(offset), _b_int(dim1), _b_int(dim2))


@method()
def diag(input, diagonal=0):
    if input.ndim not in (1, 2):
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    if input.ndim == 1:
        n = input.shape[0] + _b_abs(diagonal)
        z = zeros(n, n, dtype=input.dtype)
        idx = arange(input.shape[0])
        r, c = (idx, idx + diagonal) if diagonal >= 0 else (idx - diagonal, idx)
        return index_put(z, (r, c), input)
    return _C.diagonal(input, diagonal, 0, 1)


@method()
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    d1, d2 = _wrap(dim1, input.ndim + 1), _wrap(dim2, input.ndim + 1)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input.shape[-1] + _b_abs(offset)
    out = zeros(*input.shape[:-1], n, n, dtype=input.dtype)
    idx = arange(input.shape[-1])
    r, c = (idx, idx + offset) if offset >= 0 else (idx - offset, idx)
    out = _C.index_put(out, [None] * (input.ndim - 1) + [r, c], input, False, False)
    nd = input.ndim + 1
    return out if (d1, d2) == (nd - 2, nd - 1) else movedim(out, (nd - 2, nd - 1), (d1, d2))


@method()
def trace(input):
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input.dtype == _core.bool:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return sum(diagonal(input))


@method()
def tril(input, diagonal=0):
    return _C.tri(input, _b_int(diagonal), False)


@method()
def triu(input, diagonal=0):
    return _C.tri(input, _b_int(diagonal), True)


@method()
def tril_(self, diagonal=0):
    return _inplace(self, tril, diagonal)


@method()
def triu_(self, diagonal=0):
    return _inplace(self, triu, diagonal)


@method()
def unfold(self, dimension, size, step):
    d = _wrap(dimension, self.ndim)
    n = self.shape[d] if self.ndim else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return _C.unfold(self, _b_int(dimension), _b_int(size), _b_int(step))


def as_strided(input, size, stride, storage_offset=None):
    return _C.as_strided(input, list(size), list(stride), storage_offset)


METHODS["as_strided"] = as_strided


def atleast_1d(*ts):
    r = tuple(reshape(t, (1,)) if t.ndim == 0 else t for t in (ts[0] if len(ts) == 1 and isinstance(ts[0], (list, tuple)) else ts))
    return r[0] if len(r) == 1 else r


def atleast_2d(*ts):
    ts = ts[0] if len(ts) == 1 and isinstance(ts[0], (list, tuple)) else ts
    r = tuple(t.reshape(1, -1) if t.ndim < 2 else t for t in ts)
    return r[0] if len(r) == 1 else r


def atleast_3d(*ts):
    ts = ts[0] if len(ts) == 1 and isinstance(ts[0], (list, tuple)) else ts
    def one(t):
        if t.ndim == 0:
            return t.reshape(1, 1, 1)
        if t.ndim == 1:
            return t.reshape(1, -1, 1)
        if t.ndim == 2:
            return t.unsqueeze(-1)
        return t
    r = tuple(one(t) for t in ts)
    return r[0] if len(r) == 1 else r


def meshgrid(*tensors, indexing="ij"):
    ts = list(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else list(tensors)
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
        if t.dtype != ts[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    # "xy" is "ij" with the first two inputs (and outputs) swapped
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shp = [t.numel() for t in ts]
    out = []
    for i, t in enumerate(ts):
        v = [1] * len(ts)
        v[i] = -1
        out.append(t.reshape(v).expand(*shp))
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def cartesian_prod(*tensors):
    g = meshgrid(*tensors, indexing="ij")
    if len(tensors) == 1:
        return tensors[0]
    return stack([x.reshape(-1) for x in g], 1)


@method()
def contiguous(self, memory_format=None):
    return _C.contiguous(self)


@method()
def clone(input, *, memory_format=None):
    return _C.clone(input)


# ---------------------------------------------------------------- indexing

@method()
def gather(input, dim, index, *, sparse_grad=False):
    _wrap(dim, input.ndim)
    return _C.gather(input, _b_int(dim), index)


@method()
def take_along_dim(input, indices, dim=None):
    if indices.dtype != _core.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got {_SCALAR_NAME[indices.dtype]}")
    if dim is not None and input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, but got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    if dim is not None:
        dim = _wrap(dim, input.ndim)
        if input.ndim == 0:
            return gather(input, 0, indices)
    if dim is None:
        return gather(reshape(input, (-1,)), 0, reshape(indices, (-1,)))
    shp = list(broadcast_shapes(*[tuple(s if i != dim % input.ndim else 1 for i, s in enumerate(x.shape)) for x in (input, indices)]))
    ishp, jshp = list(shp), list(shp)
    ishp[dim] = input.shape[dim]
    jshp[dim] = indices.shape[dim]
    return gather(input.expand(*ishp), dim, indices.expand(*jshp))


def _same_dtype(self, src, msg):
    if _is_t(src) and src.dtype != self.dtype:
        raise RuntimeError(msg.format(a=_SCALAR_NAME[self.dtype], b=_SCALAR_NAME[src.dtype]))


@method()
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    src = value if src is None else src
    _wrap(dim, input.ndim)  # a bad dim is reported before the dtypes
    _same_dtype(input, src, "scatter(): Expected self.dtype to be equal to src.dtype")
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    red = reduce
    return _C.scatter(input, _b_int(dim), index, src, red)


@method()
def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
    return _inplace(self, scatter, dim, index, src, value=value, reduce=reduce)


@method()
def scatter_add(input, dim, index, src):
    _wrap(dim, input.ndim)
    _same_dtype(input, src, "scatter(): Expected self.dtype to be equal to src.dtype")
    return _C.scatter(input, _b_int(dim), index, src, "add")


@method()
def scatter_add_(self, dim, index, src):
    if _is_t(src) and not (_C.is_grad_enabled() and (self.requires_grad or src.requires_grad)):
        # written in place (no gradient to record)
        _wrap(dim, self.ndim)
        _same_dtype(self, src, "scatter(): Expected self.dtype to be equal to src.dtype")
        _C.scatter(self, _b_int(dim), index, src, "add", True)
        return self
    return _inplace(self, scatter_add, dim, index, src)


@method()
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    d = _wrap(dim, input.ndim)
    _same_dtype(input, src, "scatter(): Expected self.dtype to be equal to src.dtype")
    # (an empty index skips the size checks, as PyTorch's)
    if index.numel() and index.ndim and index.ndim == src.ndim == input.ndim and _b_any(
            index.shape[i] > src.shape[i] or (i != d and index.shape[i] > input.shape[i]) for i in range(index.ndim)):
        raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(input.shape)} apart from dimension {d} and to be no larger size than src {list(src.shape)}")
    if reduce == "sum":
        if include_self:
            return scatter_add(input, dim, index, src)
    return _C.scatter_reduce(input, _b_int(dim), index, src, reduce, include_self)


@method()
def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    return _inplace(self, scatter_reduce, dim, index, src, reduce, include_self=include_self)


@method()
def index_select(input, dim, index):
    return _C.index_select(input, _b_int(dim), index)


@method()
def index_add(input, dim, index, source, *, alpha=1):
    return _C.index_add(input, _index_add_checks(input, dim, index, source), index, source, _b_float(alpha), False)


def _index_add_checks(input, dim, index, source):
    """index_add's argument errors, in PyTorch's order; returns dim as an int."""
    _wrap(dim, input.ndim)
    # PyTorch's order: the index's rank, the dtypes, then the index values
    if index.ndim > 1:
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: {index.ndim} with type: "
                         f"{_SCALAR_NAME[index.dtype]} and size: {list(index.shape)}")
    _same_dtype(input, source, "index_add_(): self ({a}) and source ({b}) must have the same scalar type")
    # the index values are checked in the core (IndexError for 0-d/1-D input, as PyTorch's
    # kernel; negative indices never wrap)
    return _b_int(dim)


@method()
def index_add_(self, dim, index, source, *, alpha=1):
    if _is_t(source) and self.is_contiguous() and not (_C.is_grad_enabled() and (self.requires_grad or source.requires_grad)):
        # written in place (no gradient to record)
        _C.index_add(self, _index_add_checks(self, dim, index, source), index, source, _b_float(alpha), True)
        return self
    return _inplace(self, index_add, dim, index, source, alpha=alpha)


def _dim_index(ndim, dim, index):
    idx = [None] * ndim
    idx[dim % ndim] = index
    return idx


def _fill_value(value, index, input, dim):
    _wrap(dim, input.ndim)
    _check_scalar(value, input.dtype)
    if index.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if _is_t(value) and value.ndim != 0:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with {value.ndim} dimension(s).")


@method()
def index_fill(input, dim, index, value):
    _fill_value(value, index, input, dim)
    dim = _wrap(dim, input.ndim)
    if input.ndim == 0:
        return _C.index_put(input.reshape(1), [index], value, False, False).reshape(())
    return _C.index_put(input, _dim_index(input.ndim, dim, index), value, False, False)


@method()
def index_fill_(self, dim, index, value):
    _fill_value(value, index, self, dim)
    dim = _wrap(dim, self.ndim)
    if self.ndim == 0:
        _C.index_put(self.view(1), [index], value, False, True)
        return self
    return _C.index_put(self, _dim_index(self.ndim, dim, index), value, False, True)


@method()
def index_copy(input, dim, index, source):
    dim = _wrap(dim, input.ndim)
    n = input.shape[dim] if input.ndim else 1
    if index.ndim > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.ndim})")
    if index.dtype != _core.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got {_SCALAR_NAME[index.dtype]}")
    _same_dtype(input, source, "index_copy_(): self and source expected to have the same dtype, but got (self) {a} and (source) {b}")
    if source.ndim and index.numel() != source.shape[dim if source.ndim > dim else -1]:
        raise IndexError(f"index_copy_(): Number of indices ({index.numel()}) should be equal to source.size(dim) ({source.shape[dim]})")
    # unlike index_put, index_copy does not wrap negative indices
    if index.numel() and (_b_bool((index < 0).any()) or _b_bool((index >= n).any())):
        bad = _b_int(index.reshape(-1)[logical_or(index.reshape(-1) < 0, index.reshape(-1) >= n)][0])
        raise IndexError(f"index_copy_(): index {bad} is out of bounds for dimension {dim} with size {n}")
    if input.ndim == 0:
        return _C.index_put(input.reshape(1), [index], source.reshape(-1), False, False).reshape(())
    src = movedim(source, dim, 0)
    r = movedim(input, dim, 0)
    r = _C.index_put(r, [index], src, False, False)
    return movedim(r, 0, dim)


@method()
def index_copy_(self, dim, index, source):
    return _inplace(self, index_copy, dim, index, source)


def _idx_list(input, indices):
    return [None if i is None else (i if _is_t(i) else tensor(i)) for i in indices]


@method()
def index_put(input, indices, values, accumulate=False):
    _same_dtype(input, values, "Index put requires the source and destination dtypes match, got {a} for the destination and {b} for the source.")
    return _C.index_put(input, _idx_list(input, list(indices)), values, accumulate, False)


@method()
def index_put_(self, indices, values, accumulate=False):
    _same_dtype(self, values, "Index put requires the source and destination dtypes match, got {a} for the destination and {b} for the source.")
    return _C.index_put(self, _idx_list(self, list(indices)), values, accumulate, True)


@method()
def masked_select(input, mask):
    if mask.dtype != _core.bool:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shp = list(broadcast_shapes(input.shape, mask.shape))
    return _C.index_op(_C.expand(input, shp), [_C.expand(mask, shp)])


@method()
def masked_scatter(input, mask, source):
    _same_dtype(input, source, "masked_scatter: expected self and source to have same dtypes but got{a} and {b}")
    if mask.dtype != _core.bool:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype {_SCALAR_NAME[mask.dtype]}")
    shp = list(broadcast_shapes(input.shape, mask.shape))
    m = _C.expand(mask, shp)
    n = _b_int(sum(m))
    if source.numel() < n:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return _C.index_put(_C.expand(input, shp).clone(), [m], reshape(source, (-1,))[:n], False, False)


def _flat_index(input, index, name):
    """Flat (take/put_) indices: long only, negatives wrap, out-of-range raises IndexError."""
    if index.dtype != _core.int64:
        raise RuntimeError(f"{name}(): Expected a long tensor for index, but got {_SCALAR_NAME[index.dtype]}")
    n = input.numel()
    idx = index.reshape(-1)
    bad = logical_or(idx < -n, idx >= n)
    if idx.numel() and _b_bool(bad.any()):
        i = _b_int(idx[bad][0])
        raise IndexError(f"out of range: tried to access index {i} on a tensor of {n} elements.")
    return where(idx < 0, idx + n, idx)


@method()
def take(input, index):
    return reshape(index_select(reshape(input, (-1,)), 0, _flat_index(input, index, "take")), list(index.shape))


@method()
def put_(self, index, source, accumulate=False):
    _same_dtype(self, source, "put_(): self and source expected to have the same dtype, but got self.dtype = {a} and source.dtype = {b}")
    idx = _flat_index(self, index, "put")
    if self.is_contiguous():
        _C.index_put(self.view(-1), [idx], source.reshape(-1), accumulate, True)
        return self
    # a non-contiguous self: put into a flat copy, then write it back
    return self.copy_(_C.index_put(self.reshape(-1), [idx], source.reshape(-1), accumulate, False).view(self.shape))


@method()
def nonzero(input, *, as_tuple=False):
    nz = _C.nonzero(input)
    if as_tuple:
        if input.ndim == 0:
            # a 0-d tensor counts as one element, like PyTorch
            return (_C.nonzero(input.reshape(1)).reshape(-1),)
        return tuple(nz[:, i] for i in range(input.ndim))
    return nz


@method()
def argwhere(input):
    return _C.nonzero(input)


# ---------------------------------------------------------------- matmul family

@method("matmul")
def _matmul_method(self, other):
    return _C.matmul(self, other)


@method("mm")
def _mm_method(self, mat2):
    return _C.mm(self, mat2)


# the builtins themselves (same argument names): no Python frame per call, which counts for
# small matrices
matmul, mm = _C.matmul, _C.mm


@method()
def bmm(input, mat2):
    return _C.bmm(input, mat2)


@method()
def mv(input, vec):
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError("vector + matrix @ vector expected, got {}, {}".format(input.ndim, vec.ndim))
    return _C.matmul(input, vec)


@method()
def dot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype != other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {str(input.dtype).split('.')[-1].capitalize()} and {str(other.dtype).split('.')[-1].capitalize()}")
    return _C.matmul(input, other)


vdot = dot
METHODS["vdot"] = dot


@method()
def inner(input, other):
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([input.ndim - 1], [other.ndim - 1]))


@method("outer", "ger")
def outer(input, vec2):
    for name, v in (("self", input), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return unsqueeze(input, 1) * unsqueeze(vec2, 0)


ger = outer


def _int_coeffs(p, beta, alpha):
    """Integral results cast beta and alpha to integers (PyTorch's scalar conversion)."""
    if p.dtype.is_floating_point:
        return beta, alpha
    return _b_int(beta), _b_int(alpha)


@method()
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    p = _C.mm(mat1, mat2)
    beta, alpha = _int_coeffs(p, beta, alpha)
    p = p if alpha == 1 else p * alpha
    return p + _scaled_input(input, beta, p)


@method()
def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
    return _inplace(self, addmm, mat1, mat2, beta=beta, alpha=alpha)


def _scaled_input(input, beta, like):
    """beta * input for the add*mm family; beta == 0 ignores input's values (NaN included), like PyTorch."""
    if beta == 0:
        # zeros that stay in input's graph (a zero gradient, like PyTorch)
        return where(zeros_like(input, dtype=_core.bool), input, 0) if input.requires_grad else zeros_like(input, dtype=like.dtype)
    return input if beta == 1 else input * beta


@method()
def addmv(input, mat, vec, *, beta=1, alpha=1):
    p = mv(mat, vec)
    beta, alpha = _int_coeffs(p, beta, alpha)
    return _scaled_input(input, beta, p) + (p if alpha == 1 else p * alpha)


@method()
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    p = _C.bmm(batch1, batch2)
    beta, alpha = _int_coeffs(p, beta, alpha)
    return _scaled_input(input, beta, p) + (p if alpha == 1 else p * alpha)


@method()
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    p = _C.bmm(batch1, batch2).sum(0)
    beta, alpha = _int_coeffs(p, beta, alpha)
    return _scaled_input(input, beta, p) + (p if alpha == 1 else p * alpha)


def einsum(equation, *operands):
    from ._einsum import einsum as _e
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if len(operands) > 1 and _b_all(_is_t(o) for o in operands) and len({o.dtype for o in operands}) > 1 \
            and not _einsum_contracts(equation, operands):
        # without a real contraction PyTorch multiplies (promoting); a contraction goes through a
        # batched matmul that wants one dtype (the error comes from _e)
        dt = operands[0].dtype
        for o in operands[1:]:
            dt = _C.promote_types(dt, o.dtype)  # mixed operands promote, like PyTorch's einsum
        operands = tuple(o.to(dt) for o in operands)
    return _e(equation, *operands)


def _einsum_contracts(equation, operands):
    """Whether a label summed away appears in two operands with a size above 1."""
    eq = equation.replace(" ", "")
    if "..." in eq:
        return True
    lhs, _, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands) or _b_any(len(t) != o.ndim for t, o in zip(terms, operands)):
        return True  # malformed: let _e raise its error
    if not _:
        rhs = "".join(sorted(c for c in set(lhs) - {","} if lhs.count(c) == 1))
    sizes = {}
    for t, o in zip(terms, operands):
        for c, n in zip(t, o.shape):
            sizes[c] = _b_max(sizes.get(c, 1), n)
    return _b_any(c not in rhs and sizes[c] > 1 and len([t for t in terms if c in t]) > 1 for c in sizes)


def tensordot(a, b, dims=2):
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if isinstance(dims, numbers.Integral):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > _b_min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        da, db = [list(x) if isinstance(x, (list, tuple)) else [x] for x in dims]
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
        da, db = [_wrap(d, a.ndim) for d in da], [_wrap(d, b.ndim) for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j] and a.shape[i] != 1 and b.shape[j] != 1:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[i]} in dim {i - a.ndim if isinstance(dims, numbers.Integral) else i} and second has size {b.shape[j]} in dim {j}")
    ra = [i for i in range(a.ndim) if i not in da]
    rb = [i for i in range(b.ndim) if i not in db]
    ka = math.prod(a.shape[i] for i in da)
    kb = math.prod(b.shape[i] for i in db)
    pa = permute(a, ra + da).reshape(math.prod(a.shape[i] for i in ra), ka)
    pb = permute(b, db + rb).reshape(kb, math.prod(b.shape[i] for i in rb))
    return (pa @ pb).reshape([a.shape[i] for i in ra] + [b.shape[i] for i in rb])


@method()
def cross(input, other, dim=None):
    return _cross(input, other, dim, "cross")


def _cross(input, other, dim, name):
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if name == "cross" and input.dtype != other.dtype:
        raise RuntimeError(f"expected scalar type {_SCALAR_NAME[input.dtype]} but found {_SCALAR_NAME[other.dtype]}")
    shp = broadcast_shapes(input.shape, other.shape)
    if dim is None:
        dim = next((i for i, s in enumerate(shp) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    d = _wrap(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[d]} and {other.shape[d]}")
    a0, a1, a2 = unbind(input, d)
    b0, b1, b2 = unbind(other, d)
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def cdist(x1, x2, p=2.0, compute_mode=None):
    for name, x in (("X1", x1), ("X2", x2)):
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.ndim}D")
        if not x.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {_SCALAR_NAME[x.dtype]}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    d = unsqueeze(x1, -2) - unsqueeze(x2, -3)
    if p == math.inf and (x1.requires_grad or x2.requires_grad):
        # CdistBackward0 for p=inf gives every tied maximum the full gradient (not a split)
        ad = abs(d)
        m = amax(ad, -1, keepdim=True)
        tied = (ad == m).detach()
        return reshape(m, list(m.shape[:-1])).detach() + sum((ad - ad.detach()) * tied, -1)
    if p == 0 and (x1.requires_grad or x2.requires_grad) and _C.is_grad_enabled():
        # a count of nonzeros: PyTorch's backward gives zero gradients (not none); a fully masked
        # where keeps the value exact even for infinite differences
        return norm(d, p, dim=-1) + sum(where(zeros_like(d, dtype=_core.bool), d, 0.0), -1)
    return norm(d, p, dim=-1)


@method()
def kron(input, other):
    n = _b_max(input.ndim, other.ndim)
    sa = [1] * (n - input.ndim) + list(input.shape)
    sb = [1] * (n - other.ndim) + list(other.shape)
    # interleave dims: a as (a0, 1, a1, 1, ...), b as (1, b0, 1, b1, ...), then merge pairs
    a = input.reshape([x for s in sa for x in (s, 1)])
    b = other.reshape([x for s in sb for x in (1, s)])
    return (a * b).reshape([x * y for x, y in zip(sa, sb)])


# ---------------------------------------------------------------- nn-ish ops

@method()
def softmax(input, dim=None, dtype=None):
    return _C.softmax(input, _b_int(dim), False, dtype)


@method()
def log_softmax(input, dim=None, dtype=None):
    return _C.softmax(input, _b_int(dim), True, dtype)


def relu_(input):
    _check_unary("relu", input)
    return _C.unary_op_("relu", input)


def dropout(input, p=0.5, train=True):
    from .nn import functional as F
    return F.dropout(input, p, train)


# ---------------------------------------------------------------- dtype conversion & misc methods

def result_type(tensor1, tensor2):
    return _C.result_type(tensor1, tensor2)


def promote_types(type1, type2):
    return _C.promote_types(type1, type2)


def can_cast(from_, to):
    return _C.can_cast(from_, to)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input.dtype.is_floating_point


def is_complex(input):
    return input.is_complex()


def numel(input):
    return input.numel()


def is_nonzero(input):
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous" if input.numel() == 0 else "Boolean value of Tensor with more than one value is ambiguous")
    return _b_bool(input.item())


# ---------------------------------------------------------------- out= arguments

_SCALAR_NAME = {_core.bool: "Bool", _core.uint8: "Byte", _core.int8: "Char", _core.int16: "Short", _core.int32: "Int",
                _core.int64: "Long", _core.float16: "Half", _core.bfloat16: "BFloat16", _core.float32: "Float",
                _core.float64: "Double", _core.complex64: "ComplexFloat", _core.complex128: "ComplexDouble"}
_CPP_NAME = {_core.bool: "bool", _core.uint8: "unsigned char", _core.int8: "signed char", _core.int16: "short int",
             _core.int32: "int", _core.int64: "long int", _core.float16: "c10::Half", _core.bfloat16: "c10::BFloat16",
             _core.float32: "float", _core.float64: "double", _core.complex64: "c10::complex<float>",
             _core.complex128: "c10::complex<double>"}


def _any_requires_grad(x):
    if _is_t(x):
        return x.requires_grad
    if isinstance(x, (list, tuple)):
        return _b_any(_any_requires_grad(y) for y in x)
    return False


def _check_out_dtype(name, mode, res, o):
    """PyTorch's out= dtype rules: TensorIterator ops cast the result into out when the cast is safe;
    dtype-preserving kernels and multi-output ops need out's dtype to match exactly."""
    if res.dtype == o.dtype:
        return
    if mode == "cast":
        if not _C.can_cast(res.dtype, o.dtype):
            raise RuntimeError(f"result type {_SCALAR_NAME[res.dtype]} can't be cast to the desired output type {_SCALAR_NAME[o.dtype]}")
    elif mode == "same":
        raise RuntimeError(f"Found dtype {_SCALAR_NAME[o.dtype]} but expected {_SCALAR_NAME[res.dtype]}")
    elif mode != "reduce":
        raise RuntimeError(f"Expected out tensor to have dtype {_CPP_NAME[res.dtype]}, but got {_CPP_NAME[o.dtype]} instead")


def _write_out(o, res, warn=True):
    """Resizes `o` to `res`'s shape (warning when it had elements, like PyTorch) and copies `res` into it."""
    if tuple(o.shape) != tuple(res.shape):
        if o.numel() and warn:
            import warnings
            warnings.warn(f"An output with one or more elements was resized since it had shape {list(o.shape)}, which does not match the required output shape {list(res.shape)}. "
                          "This behavior is deprecated, and in a future PyTorch release outputs will not be resized unless they have zero elements. "
                          "You can explicitly reuse an out tensor t by resizing it, inplace, to zero elements with t.resize_(0).", UserWarning, stacklevel=4)
        o.resize_(*res.shape)
    prev = _C.is_grad_enabled()
    _C.set_grad_enabled(False)
    try:
        _C.copy_(o, res)
    finally:
        _C.set_grad_enabled(prev)


def _with_out(f, name, mode):
    """torch.<op>(..., out=t): computes the op, then writes the result into t (or each of a tuple of
    outputs) and returns t. `mode`: "cast" | "same" | "exact" dtype rule, "reduce" (out's dtype is the
    accumulation dtype), "factory" (out's dtype is the default dtype)."""
    def g(*args, out=None, **kw):
        if out is None:
            return f(*args, **kw)
        multi = isinstance(out, (tuple, list))
        outs = tuple(out) if multi else (out,)
        if not _b_all(_is_t(o) for o in outs):
            raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
        if _C.is_grad_enabled() and (_any_requires_grad(args) or _any_requires_grad(list(kw.values())) or _any_requires_grad(outs)):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, but one of the arguments requires grad.")
        if mode in ("reduce", "factory") and not multi and kw.get("dtype") is None:
            kw["dtype"] = out.dtype
        res = f(*args, **kw)
        ress = tuple(res) if multi else (res,)
        if len(ress) != len(outs):
            raise RuntimeError(f"{name}(): expected out to be a tuple of {len(ress)} tensors, got {len(outs)}")
        for o, r in zip(outs, ress):
            _check_out_dtype(name, "exact" if multi else mode, r, o)
        for o, r in zip(outs, ress):
            _write_out(o, r, warn=mode != "factory")
        if multi:
            return type(res)(*outs) if hasattr(res, "_fields") else tuple(outs)
        return out
    g.__name__ = g.__qualname__ = getattr(f, "__name__", name)
    g.__doc__ = f.__doc__
    g.__wrapped__ = f
    # without an out= keyword g(*args, **kw) is f(*args, **kw): wrappers around g (autocast)
    # call f directly then, one Python frame less per call
    g._without_out = f
    return g


# unary ops whose result dtype may differ from the input's (int -> float): TensorIterator's cast rule
_UNARY_OUT_CAST = [n for n in _UNARY + list(_ALIASES) if n not in (
    "abs", "absolute", "floor", "ceil", "trunc", "fix", "frac", "sign", "neg", "negative", "bitwise_not", "relu",
    "isnan", "isinf", "isfinite", "signbit", "logical_not")]

_OUT_MODES = {
    "cast": _UNARY_OUT_CAST + ["bernoulli", "logical_not", "polygamma", "isin", "where", "var", "std", "norm", "logsumexp", "nanmean",
             "all", "any", "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
             "column_stack", "take", "take_along_dim", "gather", "index_select", "masked_select", "index_add", "index_copy",
             "scatter", "scatter_add", "tril", "triu", "diag", "lerp", "addcmul", "addcdiv", "outer", "ger", "inner",
             "tensordot", "kron", "cross", "addmv", "baddbmm", "addbmm", "softmax", "log_softmax", "histc", "max", "min",
             "fmax", "fmin", "subtract", "multiply", "divide", "true_divide", "greater", "greater_equal", "less",
             "less_equal", "not_equal", "arctan2", "searchsorted", "bucketize"] + _BINARY,
    "same": ["abs", "absolute", "floor", "ceil", "trunc", "fix", "frac", "sign", "sgn", "neg", "negative", "bitwise_not",
             "round", "clamp", "clip", "clamp_min", "clamp_max", "nan_to_num"],
    "exact": ["mm", "bmm", "matmul", "mv", "dot", "vdot", "addmm", "nonzero", "float_power", "signbit", "amax", "amin",
              "argmax", "argmin", "msort", "multinomial", "median", "nanmedian", "mode", "sort", "topk", "kthvalue", "cummax", "cummin", "aminmax"],
    "reduce": ["sum", "nansum", "mean", "prod", "cumsum", "cumprod"],
    "factory": ["zeros", "ones", "empty", "full", "arange", "linspace", "logspace", "eye", "rand", "randn", "randint",
                "randperm", "normal"],
}
for _mode, _names in _OUT_MODES.items():
    for _n in _names:
        if _n in _G:
            _G[_n] = _with_out(_G[_n], _n, _mode)


# NumPy spellings PyTorch's argument parser accepts for its native ops: axis= for dim=,
# keepdims= for keepdim= (nn.functional and other Python-level functions do not take them).
_NUMPY_KW = {"axis": "dim", "keepdims": "keepdim"}
_ALIAS_BY_NAME = {"max", "min", "median", "nanmedian", "mode", "sort", "argsort", "topk", "kthvalue", "std", "var",
                  "std_mean", "var_mean", "aminmax", "cummax", "cummin", "logcumsumexp", "unbind", "split", "chunk"}


def _numpy_keywords(f, name):
    import functools

    @functools.wraps(f)
    def g(*args, **kw):
        if kw and ("axis" in kw or "keepdims" in kw):
            for np_name, pt_name in _NUMPY_KW.items():
                if np_name in kw:
                    if pt_name in kw:
                        raise TypeError(f"{name}() got multiple values for argument '{pt_name}'")
                    kw[pt_name] = kw.pop(np_name)
        return f(*args, **kw)
    return g


def _takes_dim(f, name):
    import inspect
    if name in _ALIAS_BY_NAME:
        return True
    try:
        params = inspect.signature(f).parameters
    except (TypeError, ValueError):
        return False
    return "dim" in params or "keepdim" in params


def _install_numpy_keywords():
    wrapped = {}
    for table in (_G, METHODS):
        for n, f in list(table.items()):
            if n.startswith("_") or not callable(f) or isinstance(f, type) or not _takes_dim(f, n):
                continue
            if id(f) not in wrapped:
                wrapped[id(f)] = _numpy_keywords(f, n)
            table[n] = wrapped[id(f)]


_install_numpy_keywords()


# autocast: ops on PyTorch's lower-precision and float32 lists cast their inputs while a region is on
from .amp._policy import install as _amp_install  # noqa: E402
_amp_install(globals(), "torch")
