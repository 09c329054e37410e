"""``ferrotorch.utils`` (PyTorch's ``torch.utils``): data loading and helpers.

Sub-modules are imported lazily on attribute access, so ``torch.utils.data``
works after a plain ``import ferrotorch as torch``.
"""
import importlib as _importlib

from . import data  # noqa: F401


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return _importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"{__name__}.{name}":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        raise
