"""``torch.cpu``: the CPU device module (always available, one device, no-op streams)."""
from . import amp  # noqa: F401

__all__ = ["Event", "Stream", "StreamContext", "current_device", "current_stream", "device_count",
           "is_available", "set_device", "stream", "synchronize", "get_capabilities"]


def is_available():
    """The CPU is always available."""
    return True


def is_initialized():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def set_device(device):
    """A no-op, as in PyTorch: there is one CPU device."""


def synchronize(device=None):
    """A no-op: CPU ops finish before they return."""


class Stream:
    """PyTorch's placeholder CPU stream: every method is a no-op."""

    def __init__(self, priority=-1):
        pass

    def wait_stream(self, stream):
        pass

    def record_event(self):
        pass

    def wait_event(self, event):
        pass


class Event:
    def query(self):
        return True

    def record(self, stream=None):
        pass

    def synchronize(self):
        pass

    def wait(self, stream=None):
        pass


_default_cpu_stream = Stream()
_current_stream = _default_cpu_stream


def current_stream(device=None):
    return _current_stream


class StreamContext:
    """Makes ``stream`` the current CPU stream inside a ``with`` block (None: unchanged)."""

    def __init__(self, stream):
        self.stream = stream
        self.prev_stream = _default_cpu_stream

    def __enter__(self):
        global _current_stream
        if self.stream is not None:
            self.prev_stream, _current_stream = _current_stream, self.stream

    def __exit__(self, *exc):
        global _current_stream
        if self.stream is not None:
            _current_stream = self.prev_stream


def stream(stream):
    return StreamContext(stream)


def _flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _is_avx2_supported():
    return "avx2" in _flags()


def _is_avx512_supported():
    return "avx512f" in _flags()


def _is_avx512_bf16_supported():
    return "avx512_bf16" in _flags()


def _is_vnni_supported():
    return "avx512_vnni" in _flags()


def _is_amx_tile_supported():
    return "amx_tile" in _flags()


def _is_amx_fp16_supported():
    return "amx_fp16" in _flags()


def _init_amx():
    """Whether bfloat16 matrix products run on AMX tiles (asks the OS for the tile state once)."""
    from .. import _C
    return bool(_C._init_amx())


def get_capabilities():
    """CPU feature flags (from /proc/cpuinfo), architecture and core count."""
    import os
    import platform
    flags = _flags()
    caps = {name: name in flags for name in ("sse", "sse2", "sse3", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma",
                                            "f16c", "bmi1", "bmi2", "popcnt", "aes", "avx512f", "avx512bw",
                                            "avx512vl", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")}
    caps["architecture"] = platform.machine()
    caps["num_logical_cores"] = os.cpu_count()
    return caps
