"""Core Python-side types: dtype aliases, finfo/iinfo, device, Size, return types."""
import collections
import numpy as np
from . import _C

Tensor = _C.Tensor
dtype = _C.dtype

bool = _C.bool  # noqa: A001 (torch.bool)
uint8 = _C.uint8
int8 = _C.int8
int16 = _C.int16
int32 = _C.int32
int64 = _C.int64
float16 = _C.float16
bfloat16 = _C.bfloat16
float32 = _C.float32
float64 = _C.float64
complex64 = _C.complex64
complex128 = _C.complex128
half, float, double = float16, float32, float64  # noqa: A001
cfloat, cdouble = complex64, complex128
short, int, long = int16, int32, int64  # noqa: A001

_ALL_DTYPES = [bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64, complex64, complex128]
_BY_NAME = {str(d).split(".")[-1]: d for d in _ALL_DTYPES}


def _dtype_from_name(name):
    return _BY_NAME[name]


_NP_OF = {bool: np.bool_, uint8: np.uint8, int8: np.int8, int16: np.int16, int32: np.int32, int64: np.int64,
          float16: np.float16, float32: np.float32, float64: np.float64, complex64: np.complex64, complex128: np.complex128}
_FROM_NP = {np.dtype(v): k for k, v in _NP_OF.items()}


class finfo:
    """Machine limits for floating dtypes (torch.finfo)."""

    def __init__(self, type=None):  # noqa: A002
        import ferrotorch
        type = type or ferrotorch.get_default_dtype()
        if isinstance(type, dtype) and type.is_complex:
            type = type.to_real()  # a complex dtype's limits are its parts'
        if not isinstance(type, dtype) or not type.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle 'torch.finfo'")
        if type == bfloat16:
            self.bits, self.eps, self.max, self.min = 16, 0.0078125, 3.3895313892515355e38, -3.3895313892515355e38
            self.tiny = self.smallest_normal = 1.1754943508222875e-38
            self.resolution = 0.01
        else:
            f = np.finfo(_NP_OF[type])
            self.bits, self.eps, self.max, self.min = f.bits, builtins_float(f.eps), builtins_float(f.max), builtins_float(f.min)
            self.tiny = self.smallest_normal = builtins_float(f.tiny)
            self.resolution = 10.0 ** -builtins_int(f.precision)
        self.dtype = str(type).split(".")[-1]

    def __repr__(self):
        return f"finfo(resolution={self.resolution}, min={self.min:e}, max={self.max:e}, eps={self.eps:e}, smallest_normal={self.smallest_normal:e}, tiny={self.tiny:e}, dtype={self.dtype})"


class iinfo:
    """Integer limits (torch.iinfo)."""

    def __init__(self, type):  # noqa: A002
        if not isinstance(type, dtype) or type == bool or type.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        i = np.iinfo(_NP_OF[type])
        self.bits, self.max, self.min = i.bits, builtins_int(i.max), builtins_int(i.min)
        self.dtype = str(type).split(".")[-1]

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


import builtins  # noqa: E402
builtins_float, builtins_int = builtins.float, builtins.int


class device:
    """torch.device('cpu' | 'cuda' | 'cuda:1', index=None)."""

    __slots__ = ("type", "index")

    def __enter__(self):
        """`with torch.device(...)`: the default device for factories inside the block."""
        from . import _default_device
        _default_device._push(self)
        return self

    def __exit__(self, *exc):
        from . import _default_device
        _default_device._pop()
        return False

    def __init__(self, type, index=None):  # noqa: A002
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, builtins.int):
            self.type, self.index = "cuda", type
            return
        s = str(type)
        if ":" in s:
            s, idx = s.split(":", 1)
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = builtins.int(idx)
        if s not in ("cpu", "cuda", "meta", "mps"):
            raise RuntimeError(f"Expected one of cpu, cuda, meta device type at start of device string: {type}")
        self.type, self.index = s, index

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


_cpu_device = device("cpu")


class Size(tuple):
    """torch.Size: a tuple of ints."""

    def __repr__(self):
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    __str__ = __repr__

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __reduce__(self):
        return (Size, (tuple(self),))


def _named(name, fields):
    cls = collections.namedtuple(name, fields)
    cls.__module__ = "torch.return_types"
    return cls


class return_types:
    max = _named("max", ["values", "indices"])
    min = _named("min", ["values", "indices"])
    sort = _named("sort", ["values", "indices"])
    topk = _named("topk", ["values", "indices"])
    kthvalue = _named("kthvalue", ["values", "indices"])
    median = _named("median", ["values", "indices"])
    nanmedian = _named("nanmedian", ["values", "indices"])
    mode = _named("mode", ["values", "indices"])
    cummax = _named("cummax", ["values", "indices"])
    cummin = _named("cummin", ["values", "indices"])
    var_mean = tuple
    aminmax = _named("aminmax", ["min", "max"])
    slogdet = _named("slogdet", ["sign", "logabsdet"])
    qr = _named("qr", ["Q", "R"])
    svd = _named("svd", ["U", "S", "Vh"])
    eigh = _named("eigh", ["eigenvalues", "eigenvectors"])
    linalg_eig = _named("linalg_eig", ["eigenvalues", "eigenvectors"])
