"""DLPack exchange (``Tensor.__dlpack__``, ``Tensor.__dlpack_device__``, ``torch.from_dlpack``).

ferrotorch tensors live in CPU memory that NumPy can view without a copy, so both directions go
through NumPy's own DLPack implementation. bfloat16, which NumPy cannot hold, travels as int16
with the DLPack dtype field rewritten in the capsule's ``DLTensor``.
"""
import ctypes
import enum

import numpy as np

from . import _C, _core

__all__ = ["DLDeviceType", "tensor_dlpack", "tensor_dlpack_device", "from_dlpack", "to_dlpack"]


class DLDeviceType(enum.IntEnum):
    """DLPack device codes (``torch.utils.dlpack.DLDeviceType``)."""
    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


# DLDataType codes and the byte offsets of DLTensor.dtype inside the two managed structs:
# DLTensor = {void* data; int32 device_type, device_id; int32 ndim; DLDataType dtype; ...}
# DLManagedTensorVersioned = {uint32 major, minor; void* ctx; void* deleter; uint64 flags; DLTensor}
_INT, _BFLOAT = 0, 4
_DTYPE_OFFSET = {b"dltensor": 20, b"dltensor_versioned": 32 + 20}

_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_get_name = ctypes.pythonapi.PyCapsule_GetName
_get_name.restype = ctypes.c_char_p
_get_name.argtypes = [ctypes.py_object]


def _dtype_field(capsule):
    """The capsule's DLDataType as a ctypes array of 4 bytes (code, bits, lanes lo, lanes hi)."""
    name = _get_name(capsule)
    if name not in _DTYPE_OFFSET:
        raise RuntimeError("from_dlpack received an invalid capsule. Note that DLTensor capsules can be consumed only "
                           "once, so you might have already constructed a tensor from it once.")
    ptr = _get_pointer(capsule, name)
    return (ctypes.c_uint8 * 4).from_address(ptr + _DTYPE_OFFSET[name])


def tensor_dlpack(t, *, stream=None, max_version=None, dl_device=None, copy=None):
    """``Tensor.__dlpack__``: a DLPack capsule sharing ``t``'s memory (a copy when ``copy=True``).

    A capsule named ``dltensor_versioned`` (DLPack 1.x) is returned when ``max_version`` allows
    it, else the legacy ``dltensor`` one, as PyTorch does."""
    if t.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    if stream is not None and type(stream) is not int:
        raise TypeError("stream must be ``int`` or ``none``")
    if stream is not None and stream != -1:
        raise AssertionError("stream should be None on cpu.")
    if dl_device is not None and tuple(int(d) for d in dl_device) != (DLDeviceType.kDLCPU, 0):
        raise BufferError(f"Can't export a CPU tensor to DLPack device {tuple(dl_device)}: only (kDLCPU, 0) is available")
    bf16 = t.dtype == _core.bfloat16
    arr = np.asarray(_C.view_dtype(t, _core.int16) if bf16 else t)
    if copy:
        arr = arr.copy()
    versioned = max_version is not None and max_version[0] >= 1
    capsule = arr.__dlpack__(max_version=(1, 0)) if versioned else arr.__dlpack__()
    if bf16:
        field = _dtype_field(capsule)
        field[0] = _BFLOAT
    return capsule


def tensor_dlpack_device(t):
    """``Tensor.__dlpack_device__``: always ``(DLDeviceType.kDLCPU, 0)``."""
    return (DLDeviceType.kDLCPU, 0)


def to_dlpack(t):
    """``torch.utils.dlpack.to_dlpack``: a legacy ``dltensor`` capsule sharing ``t``'s memory."""
    return tensor_dlpack(t)


class _Capsule:
    """Hands an already-made capsule to ``np.from_dlpack``."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (DLDeviceType.kDLCPU, 0)


def _capsule_of(ext):
    """A capsule from ``ext`` (an object with ``__dlpack__``, or a capsule itself)."""
    if not hasattr(ext, "__dlpack__"):
        if type(ext).__name__ != "PyCapsule":
            raise TypeError(f"from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got {type(ext).__name__}")
        return ext
    if hasattr(ext, "__dlpack_device__"):
        dev = tuple(int(d) for d in ext.__dlpack_device__())
        if dev[0] not in (DLDeviceType.kDLCPU, DLDeviceType.kDLCUDAHost):
            raise RuntimeError(f"from_dlpack: ferrotorch only holds CPU tensors, got DLPack device {dev}")
    try:
        return ext.__dlpack__(max_version=(1, 0))
    except TypeError:  # a producer that predates DLPack 1.0's keywords
        return ext.__dlpack__()


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """``torch.from_dlpack``: a tensor sharing the memory of ``ext_tensor``.

    ``ext_tensor`` is any object with ``__dlpack__`` (a NumPy array, a PyTorch/JAX/CuPy CPU
    tensor...) or a DLPack capsule. Writes through the result are seen by the producer.
    ``copy=True`` returns a copy instead."""
    from . import _ops
    if device is not None:
        _ops._check_device(device)
    capsule = _capsule_of(ext_tensor)
    field = _dtype_field(capsule)
    code, bits = field[0], field[1]
    bf16 = code == _BFLOAT and bits == 16
    if code == _BFLOAT and not bf16:
        raise BufferError(f"from_dlpack: unsupported DLPack dtype (bfloat, {bits} bits)")
    if bf16:
        field[0] = _INT  # NumPy reads it as int16; reinterpreted below
    arr = np.from_dlpack(_Capsule(capsule))
    if copy is False and any(s < 0 for s in arr.strides):
        raise BufferError("from_dlpack: negative strides need a copy, which copy=False forbids")
    if any(s < 0 for s in arr.strides):
        arr, copy = arr.copy(), False  # ferrotorch has no negative strides
    t = _C.from_numpy(arr)
    if bf16:
        t = _C.view_dtype(t, _core.bfloat16)
    if copy:
        t = _C.clone(t)
    return t
