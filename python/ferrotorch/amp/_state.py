"""Autocast state (thread-local, like PyTorch's) and the ``torch.*autocast*`` query/set functions.

Only CPU autocast changes how ops run here (every ferrotorch tensor lives on the CPU); the
other device types keep their flags and dtypes so programs can set and read them.
"""
import threading
import warnings

from .. import _core

# every device type string torch.device accepts, in PyTorch's error-message order
_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                 "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")
# device types with an autocast dispatch key, and their default lower-precision dtype
_DEFAULT_DTYPE = {"cpu": _core.bfloat16, "cuda": _core.float16, "xpu": _core.float16, "mps": _core.float16,
                  "hpu": _core.bfloat16, "ipu": _core.float16, "xla": _core.bfloat16, "mtia": _core.float16,
                  "maia": _core.bfloat16, "privateuseone": _core.float16}


class _Local(threading.local):
    def __init__(self):
        self.enabled = {}
        self.dtype = dict(_DEFAULT_DTYPE)
        self.cache_enabled = True
        self.nesting = 0
        self.excluded = False  # inside an autocast op: nested ops run as called (PyTorch's key exclusion)
        self.cache = {}


local = _Local()
# how many threads have CPU autocast on: op wrappers skip all state lookups while it is 0
armed = 0
_armed_lock = threading.Lock()


def _device_type(device_type):
    """The device type of a device string, with torch.device's error for unknown ones."""
    s = str(device_type)
    base = s.split(":", 1)[0]
    if base not in _DEVICE_TYPES:
        raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device string: {s}")
    return base


def _autocast_key(device_type, err):
    d = _device_type(device_type)
    if d not in _DEFAULT_DTYPE:
        raise RuntimeError(err)
    return d


_NO_KEY = "unknown device type for autocast in get_autocast_dispatch_key_from_device_type"


def _deprecated(old, new):
    warnings.warn(f"{old} is deprecated. Please use {new} instead.", DeprecationWarning, stacklevel=3)


def is_autocast_available(device_type):
    """Whether autocast has a mode for ``device_type`` (cpu, cuda, xpu, mps, ...)."""
    return _device_type(device_type) in _DEFAULT_DTYPE


def is_autocast_enabled(device_type=None):
    """Autocast flag of ``device_type`` in this thread (``None`` means cuda, as in PyTorch)."""
    d = "cuda" if device_type is None else _autocast_key(device_type, _NO_KEY)
    return local.enabled.get(d, False)


def set_autocast_enabled(device_type, enabled=None):
    """``set_autocast_enabled(device_type, enabled)``; the one-argument form sets cuda's flag."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    d = _autocast_key(device_type, _NO_KEY)
    enabled = bool(enabled)
    was = local.enabled.get(d, False)
    local.enabled[d] = enabled
    if d == "cpu" and was != enabled:
        global armed
        with _armed_lock:
            armed += 1 if enabled else -1


def get_autocast_dtype(device_type):
    """The lower-precision dtype autocast uses for ``device_type`` in this thread."""
    return local.dtype[_autocast_key(device_type, "unsupported scalarType")]


def set_autocast_dtype(device_type, dtype):
    local.dtype[_autocast_key(device_type, "unsupported scalarType")] = dtype


def is_autocast_cache_enabled():
    return local.cache_enabled


def set_autocast_cache_enabled(enabled):
    local.cache_enabled = bool(enabled)


def autocast_increment_nesting():
    local.nesting += 1
    return local.nesting


def autocast_decrement_nesting():
    local.nesting -= 1
    return local.nesting


def clear_autocast_cache():
    local.cache.clear()


# deprecated per-device spellings PyTorch still exports


def is_autocast_cpu_enabled():
    _deprecated("torch.is_autocast_cpu_enabled()", "torch.is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled):
    _deprecated("torch.set_autocast_cpu_enabled(enabled)", "torch.set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype():
    _deprecated("torch.get_autocast_cpu_dtype()", "torch.get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype):
    _deprecated("torch.set_autocast_cpu_dtype(dtype)", "torch.set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype():
    _deprecated("torch.get_autocast_gpu_dtype()", "torch.get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype):
    _deprecated("torch.set_autocast_gpu_dtype(dtype)", "torch.set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


def _device_fns(dev):
    def is_enabled():
        _deprecated(f"torch.is_autocast_{dev}_enabled()", f"torch.is_autocast_enabled('{dev}')")
        return is_autocast_enabled(dev)

    def set_enabled(enabled):
        _deprecated(f"torch.set_autocast_{dev}_enabled(enabled)", f"torch.set_autocast_enabled('{dev}', enabled)")
        set_autocast_enabled(dev, enabled)

    def get_dtype():
        _deprecated(f"torch.get_autocast_{dev}_dtype()", f"torch.get_autocast_dtype('{dev}')")
        return get_autocast_dtype(dev)

    def set_dtype(dtype):
        _deprecated(f"torch.set_autocast_{dev}_dtype(dtype)", f"torch.set_autocast_dtype('{dev}', dtype)")
        set_autocast_dtype(dev, dtype)
    for f, n in ((is_enabled, f"is_autocast_{dev}_enabled"), (set_enabled, f"set_autocast_{dev}_enabled"),
                 (get_dtype, f"get_autocast_{dev}_dtype"), (set_dtype, f"set_autocast_{dev}_dtype")):
        f.__name__ = f.__qualname__ = n
    return is_enabled, set_enabled, get_dtype, set_dtype


is_autocast_ipu_enabled, set_autocast_ipu_enabled, get_autocast_ipu_dtype, set_autocast_ipu_dtype = _device_fns("ipu")
is_autocast_xla_enabled, set_autocast_xla_enabled, get_autocast_xla_dtype, set_autocast_xla_dtype = _device_fns("xla")

# the names ferrotorch's top level re-exports (torch.is_autocast_enabled, ...)
TOP_LEVEL = ("is_autocast_enabled", "set_autocast_enabled", "get_autocast_dtype", "set_autocast_dtype",
             "is_autocast_cache_enabled", "set_autocast_cache_enabled", "autocast_increment_nesting",
             "autocast_decrement_nesting", "clear_autocast_cache", "is_autocast_cpu_enabled",
             "set_autocast_cpu_enabled", "get_autocast_cpu_dtype", "set_autocast_cpu_dtype", "get_autocast_gpu_dtype",
             "set_autocast_gpu_dtype", "is_autocast_ipu_enabled", "set_autocast_ipu_enabled", "get_autocast_ipu_dtype",
             "set_autocast_ipu_dtype", "is_autocast_xla_enabled", "set_autocast_xla_enabled", "get_autocast_xla_dtype",
             "set_autocast_xla_dtype")
