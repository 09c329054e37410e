"""``torch.overrides``: the ``__torch_function__`` protocol helpers.

ferrotorch's own ops do not dispatch to ``__torch_function__``; these helpers let library code
that follows the protocol (``if has_torch_function(args): return handle_torch_function(...)``)
run, dispatching to tensor-like argument types that define ``__torch_function__``.
"""
from ._core import Tensor

__all__ = ["get_ignored_functions", "get_overridable_functions", "get_testing_overrides", "handle_torch_function",
           "has_torch_function", "has_torch_function_unary", "has_torch_function_variadic", "is_tensor_like",
           "is_tensor_method_or_property", "wrap_torch_function"]

_BASE = getattr(Tensor, "__torch_function__", None)


def _overloads(t):
    f = getattr(type(t), "__torch_function__", None)
    return f is not None and f is not _BASE and type(t) is not Tensor


def is_tensor_like(inp):
    """True for tensors and for objects whose type defines ``__torch_function__``."""
    return type(inp) is Tensor or hasattr(inp, "__torch_function__")


def has_torch_function(relevant_args):
    return any(_overloads(a) for a in relevant_args)


def has_torch_function_unary(arg):
    return _overloads(arg)


def has_torch_function_variadic(*args):
    return any(_overloads(a) for a in args)


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """Call the ``__torch_function__`` overrides of ``relevant_args`` (subclasses first) until one
    does not return NotImplemented."""
    found = []
    for a in relevant_args:
        if _overloads(a) and type(a) not in found:
            i = next((k for k, t in enumerate(found) if issubclass(type(a), t)), len(found))
            found.insert(i, type(a))
    for t in found:
        r = t.__torch_function__(public_api, tuple(found), args, kwargs)
        if r is not NotImplemented:
            return r
    name = getattr(public_api, "__module__", "torch") + "." + getattr(public_api, "__name__", str(public_api))
    raise TypeError(f"no implementation found for '{name}' on types that implement __torch_function__: "
                    f"{[t for t in found]}")


def wrap_torch_function(dispatcher):
    def decorator(fn):
        return fn
    return decorator


def is_tensor_method_or_property(func):
    return getattr(Tensor, getattr(func, "__name__", ""), None) is func


def get_ignored_functions():
    return set()


def get_overridable_functions():
    return {}


def get_testing_overrides():
    return {}
