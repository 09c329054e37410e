"""Complex-number API: views of the parts, conjugation, polar form, and the Tensor
properties `.real` / `.imag`. The maths lives in the Rust core (`src/ops/complex.rs`);
conjugation is eager, so `is_conj()` is always False and `resolve_conj()` is the identity."""
import builtins

from . import _C, _core
from ._core import Tensor
from ._ops import method

__all__ = ["view_as_real", "view_as_complex", "real", "imag", "complex", "polar", "conj", "conj_physical",
           "resolve_conj", "resolve_neg", "is_conj", "is_neg", "angle", "vdot", "adjoint"]


def _need_tensor(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")


def view_as_real(input):
    _need_tensor("view_as_real", input)
    return _C.view_as_real(input)


def view_as_complex(input):
    _need_tensor("view_as_complex", input)
    return _C.view_as_complex(input)


@method()
def real(input):
    _need_tensor("real", input)
    return _C.real(input)


@method()
def imag(input):
    _need_tensor("imag", input)
    return _C.imag(input)


def complex(real, imag, *, out=None):
    r = _C.complex(real, imag)
    if out is not None:
        out.copy_(r)
        return out
    return r


def polar(abs, angle, *, out=None):
    if isinstance(abs, Tensor) and isinstance(angle, Tensor):
        if abs.dtype != angle.dtype and abs.dtype.is_floating_point and angle.dtype.is_floating_point:
            n = {_core.float16: "Half", _core.float32: "Float", _core.float64: "Double"}
            raise RuntimeError(f"Expected object of scalar type {n.get(abs.dtype, abs.dtype)} but got scalar type "
                               f"{n.get(angle.dtype, angle.dtype)} for second argument")
        if not abs.dtype.is_floating_point or not angle.dtype.is_floating_point:
            from ._ops import _SCALAR_NAME
            raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                               f"{_SCALAR_NAME[abs.dtype]} and {_SCALAR_NAME[angle.dtype]}")
    r = _C.polar(abs, angle)
    if out is not None:
        out.copy_(r)
        return out
    return r


@method()
def conj(input):
    return _C.conj(input) if input.is_complex() else input


@method()
def conj_physical(input):
    return _C.conj(input)


@method("conj_physical_")
def conj_physical_(input):
    if input.is_complex():
        input.copy_(_C.conj(input.detach()) if input.requires_grad else _C.conj(input))
    return input


@method()
def resolve_conj(input):
    return input


@method()
def resolve_neg(input):
    return input


@method()
def is_conj(input):
    return False


@method()
def is_neg(input):
    return False


@method()
def angle(input):
    if input.is_complex():
        return _C.angle_complex(input)
    # real input: 0 for x >= 0, pi for x < 0, NaN kept (PyTorch's angle on reals)
    from . import _ops
    x = input if input.dtype.is_floating_point else input.to(_ops.get_default_dtype())
    zero = _ops.where(_ops.isnan(x), x, _ops.zeros([], dtype=x.dtype))
    return _ops.where(x < 0, _ops.full([], 3.141592653589793, dtype=x.dtype), zero)


def vdot(input, other, *, out=None):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    r = _C.conj(input).dot(other) if input.is_complex() else input.dot(other)
    if out is not None:
        out.copy_(r)
        return out
    return r


@method()
def adjoint(input):
    return _C.conj(input.transpose(-2, -1))


def _set_part(self, part, value):
    view = _C.real(self) if part == "real" else _C.imag(self)
    if isinstance(value, Tensor):
        view.copy_(value)
    else:
        view.fill_(value)


def _install():
    T = Tensor
    T.real = property(lambda self: _C.real(self), lambda self, v: _set_part(self, "real", v))
    T.imag = property(lambda self: _C.imag(self), lambda self, v: _set_part(self, "imag", v))
    T.cfloat = lambda self, memory_format=None: self.to(_core.complex64)
    T.cdouble = lambda self, memory_format=None: self.to(_core.complex128)
    T.H = property(lambda self: _C.conj(self.t()) if self.ndim == 2 else self if self.ndim == 0 and not self.is_complex() else _bad_h(self))
    T.mH = property(lambda self: _C.conj(self.transpose(-2, -1)) if self.ndim >= 2 else _bad_mh(self))
    _tolist = T.tolist

    def tolist(self):
        if not self.is_complex():
            return _tolist(self)
        parts = _tolist(_C.view_as_real(self.detach()))

        def build(x, depth):
            return _pycomplex(x[0], x[1]) if depth == 0 else [build(y, depth - 1) for y in x]
        return build(parts, self.ndim)
    T.tolist = tolist


_pycomplex = builtins.complex


def _bad_h(self):
    if self.ndim == 0:
        return _C.conj(self)
    raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.")


def _bad_mh(self):
    raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
