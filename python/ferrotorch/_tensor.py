"""Tensor methods that are Python protocol glue (conversion, printing, pickling, autograd entry
points). Maths methods come from `_ops.METHODS`, attached in `_install`."""
import builtins
import numbers

import numpy as np

from . import _C, _core, _ops
from ._core import Tensor, device as _device


def _parse_to(*args, **kwargs):
    """(device, dtype) from Tensor.to / Module.to arguments."""
    dev, dt = kwargs.get("device"), kwargs.get("dtype")
    for a in args:
        if isinstance(a, _core.dtype):
            dt = a
        elif isinstance(a, (str, _device)):
            dev = a
        elif isinstance(a, Tensor):
            dev, dt = a.device, a.dtype
        elif isinstance(a, numbers.Integral) and not isinstance(a, bool):
            dev = _device(a)
    if "other" in kwargs:
        dev, dt = kwargs["other"].device, kwargs["other"].dtype
    return (None if dev is None else _device(dev)), dt


def to(self, *args, copy=False, non_blocking=False, memory_format=None, **kwargs):
    dev, dt = _parse_to(*args, **kwargs)
    _ops._check_device(dev)
    if dt is not None and self.is_complex() and not dt.is_complex:
        import warnings
        warnings.warn("Casting complex values to real discards the imaginary part", UserWarning, stacklevel=2)
    r = self if dt is None or dt == self.dtype else _C.to_dtype(self, dt)
    if copy and r is self:
        r = _C.clone(self)
    return r


def cpu(self, memory_format=None):
    return self


def cuda(self, device=None, non_blocking=False, memory_format=None):
    raise RuntimeError("Torch not compiled with CUDA enabled")


_TYPE_NAMES = {"torch.FloatTensor": _core.float32, "torch.DoubleTensor": _core.float64, "torch.HalfTensor": _core.float16,
               "torch.BFloat16Tensor": _core.bfloat16, "torch.LongTensor": _core.int64, "torch.IntTensor": _core.int32,
               "torch.ComplexFloatTensor": _core.complex64, "torch.ComplexDoubleTensor": _core.complex128,
               "torch.ShortTensor": _core.int16, "torch.CharTensor": _core.int8, "torch.ByteTensor": _core.uint8,
               "torch.BoolTensor": _core.bool}
_TYPE_OF = {v: k for k, v in _TYPE_NAMES.items()}


def type_(self, dtype=None, non_blocking=False, **kwargs):
    if dtype is None:
        return _TYPE_OF[self.dtype]
    if isinstance(dtype, str):
        dtype = _TYPE_NAMES[dtype.replace("ferrotorch.", "torch.")]
    return to(self, dtype)


def type_as(self, other):
    return to(self, other.dtype)


def _conv(dt):
    def f(self, memory_format=None):
        return to(self, dt)
    return f


def numpy(self, *, force=False):
    if self.requires_grad and not force:
        raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
    if self.dtype == _core.bfloat16:
        raise TypeError("Got unsupported ScalarType BFloat16")
    return np.asarray(self)


def __array__(self, dtype=None, copy=None):
    a = np.asarray(self.detach() if self.requires_grad else self)
    return a if dtype is None else a.astype(dtype)


def __iter__(self):
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return iter(_ops.unbind(self, 0))


def __format__(self, spec):
    if self.ndim == 0:
        return self.item().__format__(spec)
    return object.__format__(self, spec)


def __contains__(self, element):
    if not isinstance(element, (Tensor, numbers.Number)):
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a {type(element)}.")
    return builtins.bool((self == element).any())


def __reversed__(self):
    return _ops.flip(self, 0)


def __deepcopy__(self, memo):
    if id(self) in memo:
        return memo[id(self)]
    if not self.is_leaf:
        raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the moment.  If you were attempting to deepcopy a module, this may be because of a torch.nn.utils.weight_norm usage, see https://github.com/pytorch/pytorch/pull/103001")
    new = _C.clone(self.detach())
    if type(self) is not Tensor:
        new = type(self)(new, self.requires_grad) if hasattr(type(self), "_is_param_class") else new
    else:
        new.requires_grad_(self.requires_grad)
    if self.grad is not None:
        new.grad = _C.clone(self.grad)
    memo[id(self)] = new
    return new


def _rebuild(arr, dtype_name, requires_grad):
    t = _C.from_numpy(arr)
    if dtype_name == "bfloat16":
        t = _C.view_dtype(t, _core.bfloat16)
    t = t.clone()
    if requires_grad:
        t.requires_grad_(True)
    return t


def __reduce_ex__(self, proto):
    t = self.detach().contiguous()
    name = str(self.dtype).split(".")[-1]
    arr = np.array(_C.view_dtype(t, _core.int16).numpy() if name == "bfloat16" else t.numpy(), copy=True)
    return (_rebuild, (arr, name, self.requires_grad))


def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    from . import autograd
    autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)


class _RemovableHandle:
    def __init__(self, hook_box):
        self._box = hook_box

    def remove(self):
        self._box[0] = None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.remove()


def register_hook(self, hook):
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    box = [hook]

    def call(g):
        h = box[0]
        return None if h is None else h(g)
    _C.register_hook(self, call)
    return _RemovableHandle(box)


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return _ops.tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _new(fn):
    def f(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        return fn(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)
    return f


def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return _ops.full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)


def fill_(self, value):
    if not isinstance(value, Tensor):
        _ops._check_scalar(value, self.dtype, half=False)
    elif value.dim() != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} dimensions.")
    return _C.fill_(self, value)


def zero_(self):
    return _C.fill_(self, 0)


def copy_(self, src, non_blocking=False):
    if not isinstance(src, Tensor):
        src = _ops.tensor(src)
    return _C.copy_(self, src)


def resize_(self, *sizes, memory_format=None):
    shape = _ops._shape(sizes)
    n = 1
    for s in shape:
        n *= s
    new = _C.empty(shape, self.dtype)
    flat = self.detach().reshape(-1)
    k = min(n, flat.numel())
    if k:
        _C.copy_(new.view(-1)[:k], flat[:k])
    self.data = new
    return self


def resize_as_(self, other):
    return resize_(self, *other.shape)


def _meta_inplace(fn):
    def f(self, *args):
        self.data = fn(self.detach(), *args)
        return self
    return f


def requires_grad_(self, requires_grad=True):
    return _C.Tensor.requires_grad_(self, requires_grad)


def __repr__(self, *, tensor_contents=None):
    from ._tensor_str import tensor_repr
    return tensor_repr(self)


def item_py(self):
    return _C.Tensor.item(self)


def share_memory_(self):
    return self


def pin_memory(self, device=None):
    return self


def get_device(self):
    return -1


def apply_(self, fn):
    v = [fn(x) for x in self.reshape(-1).tolist()]
    return self.copy_(_ops.tensor(v, dtype=self.dtype).reshape(self.shape))


def _matrix_t(t, attr):
    """Tensor.mT / mH: 1-D is an error; 0-D passes through (PyTorch's deprecated behaviour)."""
    if t.ndim == 0:
        return _ops.view_as(t, t)
    if t.ndim < 2:
        raise RuntimeError(f"tensor.{attr} is only supported on matrices or batches of matrices. Got {t.ndim}-D tensor.")
    return _ops.transpose(t, -2, -1)


_invert = Tensor.__invert__


def __invert__(self):
    if self.dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return _invert(self)


def _advanced(idx):
    """Whether an index expression uses advanced indexing (tensors with dims, sequences, bools)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(i, (bool, list)) or (isinstance(i, Tensor) and (i.ndim > 0 or i.dtype == _core.bool)) for i in items)


def _no_bool_sub(f):
    def g(self, other):
        if isinstance(other, bool):
            raise RuntimeError(_ops._SUB_BOOL)
        return f(self, other)
    return g


def _install():
    T = Tensor
    for name, f in _ops.METHODS.items():
        setattr(T, name, f)
    simple = dict(to=to, cpu=cpu, cuda=cuda, type=type_, type_as=type_as, numpy=numpy, __array__=__array__,
                  __iter__=__iter__, __format__=__format__, __contains__=__contains__, __reversed__=__reversed__,
                  __deepcopy__=__deepcopy__, __reduce_ex__=__reduce_ex__, backward=backward, register_hook=register_hook,
                  new_tensor=new_tensor, new_full=new_full, fill_=fill_, zero_=zero_, copy_=copy_, resize_=resize_,
                  resize_as_=resize_as_, __repr__=__repr__, __str__=lambda self: repr(self), share_memory_=share_memory_,
                  pin_memory=pin_memory, get_device=get_device, apply_=apply_)
    for k, v in simple.items():
        setattr(T, k, v)
    for k, fn in (("new_zeros", _ops.zeros), ("new_ones", _ops.ones), ("new_empty", _ops.empty)):
        setattr(T, k, _new(fn))
    for k, dt in (("float", _core.float32), ("double", _core.float64), ("half", _core.float16), ("bfloat16", _core.bfloat16),
                  ("int", _core.int32), ("long", _core.int64), ("short", _core.int16), ("char", _core.int8),
                  ("byte", _core.uint8), ("bool", _core.bool)):
        setattr(T, k, _conv(dt))
    T.unsqueeze_ = _meta_inplace(_ops.unsqueeze)
    T.squeeze_ = _meta_inplace(_ops.squeeze)
    T.transpose_ = _meta_inplace(_ops.transpose)
    T.t_ = _meta_inplace(_ops.t)
    T.swapaxes_ = T.transpose_
    T.__array_priority__ = 1000
    T.T = property(lambda self: _ops.permute(self, list(range(self.ndim))[::-1]))
    T.mT = property(lambda self: _matrix_t(self, "mT"))
    T.H = property(lambda self: _ops.t(self) if self.ndim == 2 else self)
    T.mH = property(lambda self: _matrix_t(self, "mH"))
    T.layout = property(lambda self: "torch.strided")
    T.is_sparse = False
    T.is_quantized = False
    T.is_meta = False
    T.itemsize = property(lambda self: self.element_size())
    T.nbytes = property(lambda self: self.element_size() * self.numel())
    for k in ("__sub__", "__rsub__", "__isub__"):
        setattr(T, k, _no_bool_sub(getattr(T, k)))
    T.__pos__ = _ops.positive
    T.__abs__ = _ops.abs
    T.__invert__ = __invert__
    _setitem = T.__setitem__

    def __setitem__(self, idx, value):
        # a Python scalar is converted (checked) to the tensor's dtype, like PyTorch
        if isinstance(value, numbers.Number):
            _ops._check_scalar(value, self.dtype, half=False)
        elif isinstance(value, Tensor) and value.dtype != self.dtype and isinstance(idx, Tensor) and idx.dtype == _core.bool and idx.ndim and value.ndim == 0:
            value = value.to(self.dtype)  # PyTorch writes a 0-d value through a mask with masked_fill_, which casts
        elif isinstance(value, Tensor) and value.dtype != self.dtype and _advanced(idx):
            # advanced indexing writes with index_put_, which does not cast; its index errors
            # (IndexError) come before the dtype check
            self[idx]
            raise RuntimeError(f"Index put requires the source and destination dtypes match, got {_ops._SCALAR_NAME[self.dtype]} "
                               f"for the destination and {_ops._SCALAR_NAME[value.dtype]} for the source.")
        if isinstance(value, Tensor) and value.dim() and value.shape[0] == 1:
            # PyTorch drops a value's leading size-1 dims before writing (x[0] = t of shape (1, n))
            lead = 0
            while lead < value.dim() and value.shape[lead] == 1:
                lead += 1
            value = value.reshape(tuple(value.shape[lead:]))
        return _setitem(self, idx, value)
    T.__setitem__ = __setitem__
    T.__rlshift__ = lambda self, o: _C.binary_op("bitwise_left_shift", o, self)
    T.__rrshift__ = lambda self, o: _C.binary_op("bitwise_right_shift", o, self)
    T.__ilshift__ = lambda self, o: _C.binary_op_("bitwise_left_shift", self, o)
    T.__irshift__ = lambda self, o: _C.binary_op_("bitwise_right_shift", self, o)

    def _make_subclass(cls, data, require_grad=False):
        """An instance of `cls` sharing `data`'s storage, a leaf (torch.Tensor._make_subclass)."""
        t = _C.Tensor.__new__(cls, data, _internal_alias=True)
        if require_grad:
            t.requires_grad_(True)
        return t
    T._make_subclass = staticmethod(_make_subclass)
    from . import _dlpack
    T.__dlpack__ = _dlpack.tensor_dlpack
    T.__dlpack_device__ = _dlpack.tensor_dlpack_device
    from .amp._policy import install_tensor
    install_tensor(T)
