"""``torch.jit`` without a TorchScript compiler: scripting and tracing return working callables.

``script(obj)`` returns ``obj`` itself and ``trace(fn, example_inputs)`` runs ``fn`` once on the
example inputs (as tracing does) and returns ``fn``, so ``torch.jit.script(model)(x)`` and
decorated functions run eagerly with the same results. Saving/loading TorchScript archives is
not supported and raises NotImplementedError.
"""
import typing
import warnings

__all__ = ["Attribute", "Error", "Final", "ScriptFunction", "ScriptModule", "annotate", "export", "fork", "freeze",
           "ignore", "interface", "is_scripting", "is_tracing", "isinstance", "load", "optimize_for_inference", "save",
           "script", "script_if_tracing", "trace", "trace_module", "unused", "wait"]

Final = typing.Final
_builtin_isinstance = isinstance


class Error(RuntimeError):
    pass


class ScriptModule:
    """Marker base: scripted modules here are ordinary ``nn.Module`` objects."""


class ScriptFunction:
    """Marker base: scripted functions here are ordinary Python functions."""


RecursiveScriptModule = TopLevelTracedModule = TracedModule = ScriptModule


def _deprecated(name):
    warnings.warn(f"`torch.jit.{name}` is deprecated. Please switch to `torch.compile` or `torch.export`.",
                  DeprecationWarning, stacklevel=2)


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """Return ``obj`` (module, function or class) unchanged: it runs eagerly."""
    _deprecated("script")
    return obj


def _as_tuple(x):
    if x is None:
        return tuple(x)  # TypeError, as PyTorch's trace gives without example inputs
    return x if _builtin_isinstance(x, tuple) else (x,)


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
          strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None, example_kwarg_inputs=None,
          _store_inputs=True):
    """Run ``func`` once on the example inputs (tracing does) and return ``func`` itself."""
    _deprecated("trace")
    if example_kwarg_inputs is not None:
        if not _builtin_isinstance(example_kwarg_inputs, dict):
            raise RuntimeError("example_kwarg_inputs should be a dict")
        func(**example_kwarg_inputs)
    else:
        func(*_as_tuple(example_inputs))
    return func


def trace_module(mod, inputs, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5, strict=True,
                 _force_outplace=False, _module_class=None, _compilation_unit=None, example_inputs_is_kwarg=False,
                 _store_inputs=True):
    """Run each ``mod.<method>`` named in ``inputs`` once on its example inputs; return ``mod``."""
    for name, args in inputs.items():
        method = getattr(mod, name) if name != "forward" else mod
        method(**args) if example_inputs_is_kwarg else method(*_as_tuple(args))
    return mod


def script_if_tracing(fn):
    return fn


def ignore(drop=False, **kwargs):
    """``@torch.jit.ignore`` / ``@torch.jit.ignore(drop=...)``: leaves the function as Python."""
    if callable(drop):
        return drop

    def decorator(fn):
        return fn
    return decorator


def unused(fn):
    """``@torch.jit.unused``: the method stays callable from Python."""
    return fn


def export(fn):
    """``@torch.jit.export``: marks a method for compilation; a no-op here."""
    return fn


def interface(obj):
    return obj


def _overload(fn):
    return fn


def _overload_method(fn):
    return fn


def is_scripting():
    """False: code always runs as Python."""
    return False


def is_tracing():
    """False: tracing runs the function eagerly."""
    return False


def annotate(the_type, the_value):
    """Return ``the_value`` (a type hint for the TorchScript compiler)."""
    return the_value


def isinstance(obj, target_type):
    """``torch.jit.isinstance``: isinstance that understands ``List[int]``, ``Dict[str, T]``, ``Optional[T]``..."""
    origin = typing.get_origin(target_type)
    if origin is None:
        return _builtin_isinstance(obj, target_type)
    args = typing.get_args(target_type)
    if origin is typing.Union:
        return any(isinstance(obj, a) for a in args)
    if not _builtin_isinstance(obj, origin):
        return False
    if origin in (list, set, frozenset):
        return all(isinstance(x, args[0]) for x in obj) if args else True
    if origin is dict:
        return all(isinstance(k, args[0]) and isinstance(v, args[1]) for k, v in obj.items()) if args else True
    if origin is tuple:
        if not args:
            return True
        if len(args) == 2 and args[1] is Ellipsis:
            return all(isinstance(x, args[0]) for x in obj)
        return len(obj) == len(args) and all(isinstance(x, a) for x, a in zip(obj, args))
    return True


class Attribute:
    """``torch.jit.Attribute(value, type)``: the value, annotated."""

    def __new__(cls, value, type=None):
        return value


class _Future:
    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    def value(self):
        return self._value

    def done(self):
        return True


def fork(func, *args, **kwargs):
    """Run ``func`` now; the returned future's ``wait()`` gives its result."""
    return _Future(func(*args, **kwargs))


def wait(future):
    return future.wait()


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    return mod


def optimize_for_inference(mod, other_methods=None):
    return mod


def enable_onednn_fusion(enabled):
    pass


def onednn_fusion_enabled():
    return False


def set_fusion_strategy(strategy):
    return []


class optimized_execution:
    def __init__(self, should_optimize):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class fuser(optimized_execution):
    pass


class strict_fusion(optimized_execution):
    def __init__(self):
        pass


def save(m, f, _extra_files=None):
    raise NotImplementedError("torch.jit.save: ferrotorch has no TorchScript; save the model with torch.save(model) "
                              "or its state_dict instead")


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    raise NotImplementedError("torch.jit.load: ferrotorch cannot read TorchScript archives; load a torch.save() "
                              "checkpoint with torch.load instead")
