"""torch.cuda on a build without a usable GPU: queries answer honestly, allocation raises."""


def is_available():
    return False


def device_count():
    return 0


def manual_seed(seed):
    pass


def manual_seed_all(seed):
    pass


def synchronize(device=None):
    pass


def empty_cache():
    pass


def current_device():
    raise RuntimeError("Torch not compiled with CUDA enabled")


def is_bf16_supported():
    return False


def get_device_name(device=None):
    raise RuntimeError("Torch not compiled with CUDA enabled")



def _amp_module():
    """``torch.cuda.amp``: PyTorch's deprecated CUDA spellings of autocast and GradScaler.

    Without CUDA, autocast warns and disables itself and GradScaler disables itself (PyTorch's
    warnings), so programs written for a GPU run unchanged in float32.
    """
    import functools
    import importlib.machinery
    import sys
    import types
    import warnings

    from . import _core
    from .amp import autocast_mode as _am
    from .amp import grad_scaler as _gs

    def _deprecated(old, new):
        warnings.warn(f"`torch.cuda.amp.{old}(args...)` is deprecated. Please use `{new}` instead.",
                      FutureWarning, stacklevel=3)

    class autocast(_am.autocast):
        """``torch.cuda.amp.autocast(enabled=True, dtype=torch.float16, cache_enabled=True)``."""

        def __init__(self, enabled=True, dtype=_core.float16, cache_enabled=True):
            _deprecated("autocast", "torch.amp.autocast('cuda', args...)")
            super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)

    class GradScaler(_gs.GradScaler):
        """``torch.cuda.amp.GradScaler(init_scale=2.**16, ...)``: disabled (with a warning) without CUDA."""

        def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                     enabled=True):
            _deprecated("GradScaler", "torch.amp.GradScaler('cuda', args...)")
            super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                             backoff_factor=backoff_factor, growth_interval=growth_interval, enabled=enabled)

    def custom_fwd(fwd=None, *, cast_inputs=None):
        _deprecated("custom_fwd", "torch.amp.custom_fwd(args..., device_type='cuda')")
        return functools.partial(_am.custom_fwd, device_type="cuda")(fwd=fwd, cast_inputs=cast_inputs)

    def custom_bwd(bwd):
        _deprecated("custom_bwd", "torch.amp.custom_bwd(args..., device_type='cuda')")
        return functools.partial(_am.custom_bwd, device_type="cuda")(bwd)

    def amp_definitely_not_available():
        return True

    mod = types.ModuleType(__name__ + ".amp", _amp_module.__doc__)
    common = types.ModuleType(__name__ + ".amp.common")
    common.amp_definitely_not_available = amp_definitely_not_available
    for obj in (autocast, GradScaler, custom_fwd, custom_bwd):
        obj.__module__ = mod.__name__
        setattr(mod, obj.__name__, obj)
    mod.amp_definitely_not_available = amp_definitely_not_available
    mod.common = common
    mod.autocast_mode = mod.grad_scaler = mod
    mod.__path__ = []
    mod.__spec__ = importlib.machinery.ModuleSpec(mod.__name__, None, is_package=True)
    common.__spec__ = importlib.machinery.ModuleSpec(common.__name__, None)
    mod.__all__ = ["autocast", "custom_bwd", "custom_fwd", "GradScaler"]
    sys.modules[mod.__name__] = mod
    sys.modules[common.__name__] = common
    sys.modules[mod.__name__ + ".autocast_mode"] = sys.modules[mod.__name__ + ".grad_scaler"] = mod
    return mod


# a package path, so `import torch.cuda.amp` finds the sub-module registered in sys.modules
__path__ = []
amp = _amp_module()
