"""``torch.backends``: flags for the kernel libraries PyTorch can use.

ferrotorch runs its own CPU kernels, so the CUDA/cuDNN/MPS/oneDNN/MKL/OpenMP back ends
report unavailable; their flags still exist, default as in PyTorch and can be set.
"""
import warnings

from . import cpu, cuda, cudnn, cusparselt, mkl, mkldnn, mps, nnpack, openmp, opt_einsum  # noqa: F401

__all__ = ["cpu", "cuda", "cudnn", "cusparselt", "mkl", "mkldnn", "mps", "nnpack", "openmp", "opt_einsum"]

# "none" until a program sets a precision (PyTorch's fp32_precision API)
fp32_precision = "none"

_PRECISIONS = ("highest", "high", "medium")
_matmul_precision = "highest"


def get_float32_matmul_precision():
    """``torch.get_float32_matmul_precision()``: 'highest' unless a program lowered it."""
    return _matmul_precision


def set_float32_matmul_precision(precision):
    """``torch.set_float32_matmul_precision('highest' | 'high' | 'medium')``.

    ferrotorch's float32 matmuls always run in full float32 ('highest'); the setting is kept
    so programs read back what they set, and it moves ``backends.cuda.matmul.allow_tf32``
    the way PyTorch's does. Other values warn and change nothing (PyTorch's behaviour).
    """
    global _matmul_precision
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", stacklevel=2)
        return
    _matmul_precision = precision
    object.__setattr__(cuda.matmul, "_fp32_precision", "ieee" if precision == "highest" else "tf32")
