"""``torch.accelerator``: the device-generic accelerator API, as PyTorch behaves in a build
without an accelerator: queries answer None / 0 / False, everything else raises."""
import warnings
from collections import OrderedDict

__all__ = ["current_accelerator", "current_device_idx", "current_device_index", "get_device_capability",
           "current_stream", "device_count", "device_index", "empty_cache", "empty_host_cache", "get_memory_info",
           "is_available", "max_memory_allocated", "max_memory_reserved", "memory_allocated", "memory_reserved",
           "memory_stats", "reset_accumulated_memory_stats", "reset_peak_memory_stats", "set_device_idx",
           "set_device_index", "set_stream", "synchronize"]

_NONE = "Cannot access accelerator device when none is available."


def _no_accelerator(*args, **kwargs):
    raise RuntimeError(_NONE)


def current_accelerator(check_available=False):
    """The accelerator this build was compiled for: None (CPU only)."""
    return None


def is_available():
    """Whether an accelerator is usable: False."""
    return False


def device_count():
    """Number of accelerator devices: 0."""
    return 0


def current_device_index():
    _no_accelerator()


def current_device_idx():
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_index(device, /):
    _no_accelerator()


def set_device_idx(device, /):
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    return set_device_index(device)


def get_device_capability(device=None, /):
    _no_accelerator()


def current_stream(device=None, /):
    _no_accelerator()


def set_stream(stream):
    _no_accelerator()


def synchronize(device=None, /):
    _no_accelerator()


class device_index:
    """``with torch.accelerator.device_index(i):`` - None is a no-op; an index needs an accelerator."""

    def __init__(self, device, /):
        self.idx = device
        self.prev_idx = -1

    def __enter__(self):
        if self.idx is not None:
            _no_accelerator()

    def __exit__(self, *exc_info):
        return False


# memory queries: PyTorch checks for the accelerator's allocator first, which raises here
empty_cache = empty_host_cache = get_memory_info = _no_accelerator


def memory_stats(device_index=None, /):
    _no_accelerator()
    return OrderedDict()


def memory_allocated(device_index=None, /):
    return memory_stats(device_index).get("allocated_bytes.all.current", 0)


def max_memory_allocated(device_index=None, /):
    return memory_stats(device_index).get("allocated_bytes.all.peak", 0)


def memory_reserved(device_index=None, /):
    return memory_stats(device_index).get("reserved_bytes.all.current", 0)


def max_memory_reserved(device_index=None, /):
    return memory_stats(device_index).get("reserved_bytes.all.peak", 0)


def reset_accumulated_memory_stats(device_index=None, /):
    _no_accelerator()


def reset_peak_memory_stats(device_index=None, /):
    _no_accelerator()
