"""ferrotorch: PyTorch's API on a Rust engine. `import ferrotorch as torch`."""
import importlib as _importlib

from . import _C
from ._core import (Tensor, dtype, device, Size, finfo, iinfo, return_types, _dtype_from_name,
                    bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
                    half, float, double, short, int, long, complex64, complex128, cfloat, cdouble)
from ._ops import *  # noqa: F401,F403
from ._extra_ops import *  # noqa: F401,F403
from ._complex import *  # noqa: F401,F403
from ._spectral import *  # noqa: F401,F403
from ._legacy import *  # noqa: F401,F403
from . import _legacy as _legacy_mod
from . import _complex as _complex_mod
from ._ops import (max, min, sum, all, any, abs, round, pow, tensor, zeros, ones, empty, full, arange, linspace,  # noqa: F401
                   logspace, eye, rand, randn, randint, randperm, manual_seed, normal, where, clamp, clip, cat, stack,
                   einsum, get_default_dtype, set_default_dtype, default_generator, Generator, cdist, relu_,
                   _legacy_new, _is_t)
from . import _tensor as _tensor_mod
from .autograd import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled, is_inference_mode_enabled
from . import autograd, linalg, cuda
from .amp._state import (is_autocast_enabled, set_autocast_enabled, get_autocast_dtype, set_autocast_dtype,  # noqa: F401
    is_autocast_cache_enabled, set_autocast_cache_enabled, autocast_increment_nesting, autocast_decrement_nesting,
    clear_autocast_cache, is_autocast_cpu_enabled, set_autocast_cpu_enabled, get_autocast_cpu_dtype,
    set_autocast_cpu_dtype, get_autocast_gpu_dtype, set_autocast_gpu_dtype, is_autocast_ipu_enabled,
    set_autocast_ipu_enabled, get_autocast_ipu_dtype, set_autocast_ipu_dtype, is_autocast_xla_enabled,
    set_autocast_xla_enabled, get_autocast_xla_dtype, set_autocast_xla_dtype)
from .amp import autocast  # noqa: F401
from ._default_device import set_default_device, get_default_device  # noqa: F401
from .backends import get_float32_matmul_precision, set_float32_matmul_precision  # noqa: F401
from ._torch_alias import install_as_torch  # noqa: F401
from ._dlpack import from_dlpack  # noqa: F401

from .version import __version__  # noqa: E402  (PyTorch API level + ferrotorch release)
from . import version  # noqa: F401
strided = "torch.strided"
contiguous_format = "torch.contiguous_format"
channels_last = "torch.channels_last"
preserve_format = "torch.preserve_format"


class _Helpers:
    """Objects the Rust core constructs (Size, the cpu device, nested tensor creation)."""
    Size = Size
    _cpu_device = device("cpu")
    tensor = staticmethod(tensor)
    _legacy_new = staticmethod(_legacy_new)

    @staticmethod
    def AccumulateGrad(t):
        from .autograd.graph import AccumulateGrad
        return AccumulateGrad(t)


_C._register_helpers(_Helpers)
_tensor_mod._install()
_complex_mod._install()
_legacy_mod._install()


def is_inference(t):
    return False


def set_printoptions(*args, **kwargs):
    from ._tensor_str import set_printoptions as _s
    _s(*args, **kwargs)


def compile(model=None, **kwargs):
    """No graph compiler: returns the model unchanged (like torch.compile's eager fallback)."""
    return model if model is not None else (lambda m: m)




def get_num_threads():
    return _C.get_num_threads()


def set_num_threads(n):
    """1 runs every kernel on the calling thread; more uses the shared rayon pool."""
    _C.set_num_threads(n)


# a forked child has no rayon worker threads: keep it on the calling thread (like PyTorch)
import os as _os
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=lambda: _C.set_num_threads(1))


_LAZY = ("nn", "optim", "multiprocessing", "random", "utils", "serialization", "amp", "testing", "distributions", "distributed", "backends", "jit", "fft",
         "special", "overrides", "types", "hub", "onnx", "accelerator", "cpu", "func")


def __getattr__(name):
    if name in _LAZY:
        try:
            return _importlib.import_module("." + name, __name__)
        except ModuleNotFoundError as e:
            # a submodule not built yet is a missing attribute (hasattr() is False), not an import error
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'ferrotorch' has no attribute '{name}'") from None
    if name in ("save", "load"):
        return getattr(_importlib.import_module(".serialization", __name__), name)
    raise AttributeError(f"module 'ferrotorch' has no attribute '{name}'")
