"""``torch.set_default_device`` / ``torch.get_default_device`` (per thread, as in PyTorch).

Factory functions called without ``device=`` use :func:`current`; with a CUDA default they
raise "Torch not compiled with CUDA enabled", as a CPU-only PyTorch build does.
"""
import threading

from ._core import device as _device

_local = threading.local()


def current():
    """The device set with set_default_device in this thread, or None (the CPU)."""
    return getattr(_local, "device", None)


def set_default_device(device):
    """Make ``device`` the default for tensors created without ``device=`` (None resets to the CPU).

    Setting succeeds for any valid device string, as in PyTorch; creating a tensor on a
    device this build lacks raises then.
    """
    _local.device = None if device is None else _device(device)


def get_default_device():
    """The default device: ``device(type='cpu')`` unless set_default_device chose another."""
    d = current()
    if d is None:
        return _device("cpu")
    if d.index is None and d.type != "cpu":
        # PyTorch finds the index by creating an empty tensor there, which raises without that device
        from ._ops import _check_device
        _check_device(d)
    return d


def _push(device):
    """``torch.device.__enter__``: make ``device`` the default until the matching :func:`_pop`."""
    _local.__dict__.setdefault("stack", []).append(current())
    _local.device = _device(device)


def _pop():
    """``torch.device.__exit__``: restore the default from before the matching :func:`_push`."""
    _local.device = _local.stack.pop()
