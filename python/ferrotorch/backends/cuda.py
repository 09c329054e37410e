"""``torch.backends.cuda``: cuBLAS / SDPA flags. This build has no CUDA (``is_built()`` is False)."""
import contextlib
import enum
import warnings

__all__ = ["is_built", "cuBLASModule", "matmul", "preferred_linalg_library", "preferred_blas_library",
           "SDPBackend", "flash_sdp_enabled", "enable_flash_sdp", "mem_efficient_sdp_enabled",
           "enable_mem_efficient_sdp", "math_sdp_enabled", "enable_math_sdp", "cudnn_sdp_enabled", "enable_cudnn_sdp",
           "allow_fp16_bf16_reduction_math_sdp", "fp16_bf16_reduction_math_sdp_allowed", "is_flash_attention_available",
           "can_use_flash_attention", "can_use_efficient_attention", "can_use_cudnn_attention", "sdp_kernel"]


def is_built():
    """Whether this build supports CUDA: it does not."""
    return False


class cuBLASModule:
    """``torch.backends.cuda.matmul``: cuBLAS flags, with PyTorch's defaults and its attribute errors."""

    _DEFAULTS = {"allow_fp16_reduced_precision_reduction": True, "allow_bf16_reduced_precision_reduction": True,
                 "allow_fp16_accumulation": False}

    def __init__(self):
        object.__setattr__(self, "_flags", dict(self._DEFAULTS))
        object.__setattr__(self, "_fp32_precision", "none")

    def __getattr__(self, name):
        if name == "allow_tf32":
            return self._fp32_precision == "tf32"
        if name == "fp32_precision":
            return self._fp32_precision
        if name in self._flags:
            return self._flags[name]
        raise AttributeError("Unknown attribute " + name)

    def __setattr__(self, name, value):
        from .. import backends as b
        if name == "allow_tf32":
            b._matmul_precision = "high" if value else "highest"
            object.__setattr__(self, "_fp32_precision", "tf32" if value else "ieee")
        elif name == "fp32_precision":
            if value not in ("none", "ieee", "tf32"):
                raise RuntimeError(f"Invalid precision {value!r} for cuBLAS matmul: expected 'none', 'ieee' or 'tf32'")
            object.__setattr__(self, "_fp32_precision", value)
            if value != "none":
                b._matmul_precision = "high" if value == "tf32" else "highest"
        elif name in self._flags:
            self._flags[name] = value
        else:
            raise AttributeError("Unknown attribute " + name)


matmul = cuBLASModule()


class _Backend(str):
    """A stand-in for PyTorch's ``_LinalgBackend`` / ``_BlasBackend`` enum values."""

    def __repr__(self):
        return str(self)


_linalg_library = _Backend("_LinalgBackend.Default")
_blas_library = _Backend("_BlasBackend.Cublas")


def preferred_linalg_library(backend=None):
    """The preferred CUDA linear-algebra library ('default', 'cusolver' or 'magma'); no effect here."""
    global _linalg_library
    if backend is not None:
        names = {"default": "Default", "cusolver": "Cusolver", "magma": "Magma"}
        key = str(backend).split(".")[-1].lower()
        if key not in names:
            raise RuntimeError(f"Unknown input value. Choose from: {', '.join(names)}.")
        _linalg_library = _Backend("_LinalgBackend." + names[key])
    return _linalg_library


def preferred_blas_library(backend=None):
    """The preferred CUDA BLAS library ('cublas', 'cublaslt', 'ck'); no effect here."""
    global _blas_library
    if backend is not None:
        names = {"cublas": "Cublas", "cublaslt": "Cublaslt", "hipblaslt": "Cublaslt", "ck": "Ck"}
        key = str(backend).split(".")[-1].lower()
        if key not in names:
            raise RuntimeError(f"Unknown input value. Choose from: {', '.join(names)}.")
        _blas_library = _Backend("_BlasBackend." + names[key])
    return _blas_library


class SDPBackend(enum.IntEnum):
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True, "fp16_bf16_reduction": True}


def flash_sdp_enabled():
    return _sdp["flash"]


def enable_flash_sdp(enabled):
    _sdp["flash"] = bool(enabled)


def mem_efficient_sdp_enabled():
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled):
    _sdp["mem_efficient"] = bool(enabled)


def math_sdp_enabled():
    return _sdp["math"]


def enable_math_sdp(enabled):
    _sdp["math"] = bool(enabled)


def cudnn_sdp_enabled():
    return _sdp["cudnn"]


def enable_cudnn_sdp(enabled):
    _sdp["cudnn"] = bool(enabled)


def allow_fp16_bf16_reduction_math_sdp(enabled):
    _sdp["fp16_bf16_reduction"] = bool(enabled)


def fp16_bf16_reduction_math_sdp_allowed():
    return _sdp["fp16_bf16_reduction"]


def is_flash_attention_available():
    return False


def can_use_flash_attention(params=None, debug=False):
    return False


def can_use_efficient_attention(params=None, debug=False):
    return False


def can_use_cudnn_attention(params=None, debug=False):
    return False


@contextlib.contextmanager
def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True, enable_cudnn=True):
    """Deprecated: set the SDPA back-end flags inside a ``with`` block."""
    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will be "
                  "removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with updated "
                  "signature.", FutureWarning, stacklevel=3)
    old = dict(_sdp)
    _sdp.update(flash=bool(enable_flash), math=bool(enable_math), mem_efficient=bool(enable_mem_efficient),
                cudnn=bool(enable_cudnn))
    try:
        yield
    finally:
        _sdp.update(old)
