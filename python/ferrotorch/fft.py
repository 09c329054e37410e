"""torch.fft: discrete Fourier transforms.

Every transform is built on one Rust primitive, `_C.fft_c2c` (a complex transform along one
dim on rustfft, with its adjoint as backward): lengths (`n=`/`s=`) pad or trim, the real-input
transforms slice the one-sided half, the real-output ones rebuild the Hermitian spectrum, and
multi-dim transforms apply one dim after another. Gradients follow from those compositions.
"""
import math

from . import _C, _core
from ._core import Tensor

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
           "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_NORMS = (None, "backward", "ortho", "forward")
_SWAP = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}


def _check_norm(norm):
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _scale(norm, n, inverse):
    """The factor a transform of length n carries under `norm`."""
    if norm == "ortho":
        return 1.0 / math.sqrt(n)
    if norm == "forward":
        return 1.0 if inverse else 1.0 / n
    return 1.0 / n if inverse else 1.0


def _need_tensor(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")


def _check_float(name, x):
    if x.dtype in (_core.float16, _core.bfloat16):
        raise RuntimeError(f"Unsupported dtype {_core_name(x.dtype)}")


def _core_name(dt):
    return {_core.float16: "Half", _core.bfloat16: "BFloat16"}.get(dt, str(dt))


def _as_complex(name, x):
    _need_tensor(name, x)
    _check_float(name, x)
    if x.is_complex():
        return x
    if not x.dtype.is_floating_point:
        from . import _ops
        x = x.to(_ops.get_default_dtype())
    return x.to(x.dtype.to_complex())


def _as_real(name, x):
    _need_tensor(name, x)
    _check_float(name, x)
    if x.is_complex():
        raise RuntimeError(f"{name} expects a real input tensor, but got {'ComplexFloat' if x.dtype == _core.complex64 else 'ComplexDouble'}")
    if not x.dtype.is_floating_point:
        from . import _ops
        x = x.to(_ops.get_default_dtype())
    return x


def _dtype_name(dt):
    from ._ops import _SCALAR_NAME
    return _SCALAR_NAME.get(dt, str(dt))


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"fft_fft(): argument 'n' must be int, not {type(n).__name__}")
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _wrap_dim(dim, ndim):
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {dim})")
    return dim % ndim


def _resize(x, n, dim):
    """Trims or zero-pads `x` along `dim` to length n (the `n=` argument)."""
    size = x.shape[dim]
    if n == size:
        return x
    if n < size:
        return x.narrow(dim, 0, n)
    from . import _ops
    pad_shape = list(x.shape)
    pad_shape[dim] = n - size
    return _ops.cat([x, _ops.zeros(pad_shape, dtype=x.dtype)], dim)


def _c2c(x, n, dim, norm, inverse):
    dim = _wrap_dim(dim, x.ndim)
    n = x.shape[dim] if n is None else n
    _check_n(n)
    _check_n(n)
    x = _resize(x, n, dim)
    return _C.fft_c2c(x, dim, inverse, _scale(norm, n, inverse))


def _out(r, out, name="fft"):
    if out is None:
        return r
    if r.is_complex() and not out.is_complex():
        raise RuntimeError(f"{name} expects a complex output tensor, but got {_dtype_name(out.dtype)}")
    if not r.is_complex() and out.is_complex():
        raise RuntimeError(f"{name} expects a floating point output tensor, but got {_dtype_name(out.dtype)}")
    if r.requires_grad:
        raise RuntimeError("_fft_r2c(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    out.resize_(tuple(r.shape))
    out.copy_(r)
    return out


def fft(input, n=None, dim=-1, norm=None, *, out=None):
    _check_norm(norm)
    return _out(_c2c(_as_complex("fft_fft", input), n, dim, norm, False), out)


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    _check_norm(norm)
    return _out(_c2c(_as_complex("fft_ifft", input), n, dim, norm, True), out)


def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    _check_norm(norm)
    x = _as_real("rfft", input)
    d = _wrap_dim(dim, x.ndim)
    full = _c2c(x.to(x.dtype.to_complex()), n, d, norm, False)
    return _out(full.narrow(d, 0, full.shape[d] // 2 + 1), out)


def _hermitian_full(x, n, dim):
    """The length-n spectrum whose first n//2+1 bins are `x` and the rest their conjugate mirror."""
    from . import _ops
    half = _resize(x, n // 2 + 1, dim)
    m = n - n // 2 - 1
    if m == 0:
        return half
    mirror = _C.conj(_ops.flip(half.narrow(dim, 1, m), [dim]))
    return _ops.cat([half, mirror], dim)


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    _check_norm(norm)
    x = _as_complex("irfft", input)
    d = _wrap_dim(dim, x.ndim)
    n = 2 * (x.shape[d] - 1) if n is None else n
    _check_n(n)
    full = _hermitian_full(x, n, d)
    return _out(_C.real(_C.fft_c2c(full, d, True, _scale(norm, n, True))).contiguous(), out, "irfft")


def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    _check_norm(norm)
    return _out(irfft(_C.conj(_as_complex("hfft", input)), n, dim, _SWAP[norm]), out, "hfft")


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    _check_norm(norm)
    return _out(_C.conj(rfft(_as_real("ihfft", input), n, dim, _SWAP[norm])), out)


def _dims_and_sizes(x, s, dim):
    """PyTorch's (s, dim) resolution: dim defaults to the last len(s) dims, or all dims."""
    if dim is not None and not isinstance(dim, (list, tuple)):
        dim = [dim]
    if s is not None and not isinstance(s, (list, tuple)):
        s = [s]
    if dim is None:
        dim = list(range(x.ndim - len(s), x.ndim)) if s is not None else list(range(x.ndim))
    dim = [_wrap_dim(d, x.ndim) for d in dim]
    if len(set(dim)) != len(dim):
        raise RuntimeError("FFT dims must be unique")
    if s is None:
        s = [None] * len(dim)
    elif len(s) != len(dim):
        raise RuntimeError(f"When given, dim and shape arguments must have the same length")
    # -1 in s means "this dim's own size"
    return [None if n == -1 else n for n in s], dim


def _c2c_dims(x, s, dim, norm, inverse):
    """One 1-D transform per (length, dim) pair: an n-D transform is their composition."""
    for n, d in zip(s, dim):
        x = _c2c(x, n, d, norm, inverse)
    return x


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    _check_norm(norm)
    x = _as_complex("fft_fftn", input)
    s, dim = _dims_and_sizes(x, s, dim)
    return _out(_c2c_dims(x, s, dim, norm, False), out)


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    _check_norm(norm)
    x = _as_complex("fft_ifftn", input)
    s, dim = _dims_and_sizes(x, s, dim)
    return _out(_c2c_dims(x, s, dim, norm, True), out)


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    _check_norm(norm)
    x = _as_real("rfftn", input)
    s, dim = _dims_and_sizes(x, s, dim)
    if not dim:
        raise RuntimeError("rfftn must transform at least one axis")
    x = rfft(x, s[-1], dim[-1], norm)
    return _out(_c2c_dims(x, s[:-1], dim[:-1], norm, False), out)


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    _check_norm(norm)
    x = _as_complex("irfftn", input)
    s, dim = _dims_and_sizes(x, s, dim)
    if not dim:
        raise RuntimeError("irfftn must transform at least one axis")
    x = _c2c_dims(x, s[:-1], dim[:-1], norm, True)
    return _out(irfft(x, s[-1], dim[-1], norm), out, "irfftn")


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    _check_norm(norm)
    return _out(irfftn(_C.conj(_as_complex("hfftn", input)), s, dim, _SWAP[norm]), out, "hfftn")


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    _check_norm(norm)
    return _out(_C.conj(rfftn(_as_real("ihfftn", input), s, dim, _SWAP[norm])), out)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return fftn(input, s, dim, norm, out=out)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return ifftn(input, s, dim, norm, out=out)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return rfftn(input, s, dim, norm, out=out)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return irfftn(input, s, dim, norm, out=out)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return hfftn(input, s, dim, norm, out=out)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return ihfftn(input, s, dim, norm, out=out)


def _freq(values, n, d, dtype, device, requires_grad):
    from . import _ops
    t = _ops.tensor(values, dtype=dtype or _ops.get_default_dtype())
    t = t / (d * n) if n else t
    if requires_grad:
        t.requires_grad_(True)
    return t


def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    if n < 0:
        raise RuntimeError(f"fftfreq: n must be non-negative, got {n}")
    if dtype is not None and not dtype.is_floating_point and not dtype.is_complex:
        raise RuntimeError("fftfreq requires a floating point or complex dtype")
    vals = list(range(0, (n - 1) // 2 + 1)) + list(range(-(n // 2), 0))
    return _out(_freq([float(v) for v in vals], n, d, dtype, device, requires_grad), out)


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    if n < 0:
        raise RuntimeError(f"rfftfreq: n must be non-negative, got {n}")
    if dtype is not None and not dtype.is_floating_point and not dtype.is_complex:
        raise RuntimeError("rfftfreq requires a floating point or complex dtype")
    return _out(_freq([float(v) for v in range(n // 2 + 1)], n, d, dtype, device, requires_grad), out)


def _shift(input, dim, sign):
    from . import _ops
    if dim is None:
        dim = list(range(input.ndim))
    elif not isinstance(dim, (list, tuple)):
        dim = [dim]
    if not dim:
        raise RuntimeError("`shifts` required")
    shifts = [sign * (input.shape[d] // 2) if sign > 0 else -(input.shape[d] // 2) for d in dim]
    return _ops.roll(input, shifts, list(dim))


def fftshift(input, dim=None):
    return _shift(input, dim, 1)


def ifftshift(input, dim=None):
    return _shift(input, dim, -1)


def _axis_alias(f):
    """PyTorch's argument parser takes NumPy's `axis=` for `dim=` (the Array API spells it so)."""
    import functools

    @functools.wraps(f)
    def g(*args, **kwargs):
        if "axis" in kwargs:
            if "dim" in kwargs:
                raise TypeError(f"{f.__name__}() got multiple values for argument 'dim'")
            kwargs["dim"] = kwargs.pop("axis")
        return f(*args, **kwargs)
    return g


for _name in ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
              "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftshift", "ifftshift"]:
    globals()[_name] = _axis_alias(globals()[_name])
del _name
