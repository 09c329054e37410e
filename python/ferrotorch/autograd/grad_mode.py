"""Grad-mode context managers, usable as decorators too."""
import functools

from .. import _C


class _Mode:
    _enable = True

    def __new__(cls, orig_func=None, *args, **kwargs):
        # `@torch.no_grad` without parentheses decorates directly (PyTorch 2.x)
        if cls is not set_grad_enabled and callable(orig_func) and not isinstance(orig_func, bool):
            return cls()(orig_func)
        return super().__new__(cls)

    def __call__(self, fn):
        enable = self._enable

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = _C.set_grad_enabled(enable)
            try:
                return fn(*args, **kwargs)
            finally:
                _C.set_grad_enabled(prev)
        return wrapper

    def __enter__(self):
        self._prev = _C.set_grad_enabled(self._enable)
        return self

    def __exit__(self, *exc):
        _C.set_grad_enabled(self._prev)
        return False


class no_grad(_Mode):
    _enable = False

    def __init__(self, orig_func=None):
        pass


class enable_grad(_Mode):
    _enable = True

    def __init__(self, orig_func=None):
        pass


class set_grad_enabled(_Mode):
    """Works as a function (`set_grad_enabled(False)`) and as a context manager."""

    def __init__(self, mode):
        self._enable = bool(mode)
        self._prev = _C.set_grad_enabled(self._enable)

    def __call__(self, fn):
        # as a decorator it must not change the mode at definition time
        _C.set_grad_enabled(self._prev)
        return super().__call__(fn)

    def __enter__(self):
        return self


class inference_mode(_Mode):
    """Inference mode behaves as no_grad here (no separate inference tensors)."""

    def __init__(self, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            mode = True
        self._enable = not mode
        self._mode = bool(mode)

    def __enter__(self):
        self._prev_inf = _inference[0]
        _inference[0] = self._mode
        return super().__enter__()

    def __exit__(self, *exc):
        _inference[0] = self._prev_inf
        return super().__exit__(*exc)


_inference = [False]


def is_grad_enabled():
    return _C.is_grad_enabled()


def is_inference_mode_enabled():
    return _inference[0]
