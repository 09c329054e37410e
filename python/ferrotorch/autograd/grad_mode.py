"""Grad-mode context managers, usable as decorators too."""
import functools

from .. import _C


class _Mode:
    _enable = True

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__.__new__(self.__class__).__init_copy__(self):
                return fn(*args, **kwargs)
        return wrapper

    def __init_copy__(self, other):
        self.__dict__.update(other.__dict__)
        return self

    def __enter__(self):
        self._prev = _C.set_grad_enabled(self._enable)
        return self

    def __exit__(self, *exc):
        _C.set_grad_enabled(self._prev)
        return False


class no_grad(_Mode):
    _enable = False

    def __init__(self):
        pass


class enable_grad(_Mode):
    _enable = True

    def __init__(self):
        pass


class set_grad_enabled(_Mode):
    """Works as a function (`set_grad_enabled(False)`) and as a context manager."""

    def __init__(self, mode):
        self._enable = bool(mode)
        self._prev = _C.set_grad_enabled(self._enable)

    def __enter__(self):
        return self


class inference_mode(_Mode):
    def __init__(self, mode=True):
        self._enable = not mode

    def __call__(self, fn=None):
        if fn is None or isinstance(fn, bool):
            return self
        return super().__call__(fn)


_inference = [False]


def is_grad_enabled():
    return _C.is_grad_enabled()


def is_inference_mode_enabled():
    return False
