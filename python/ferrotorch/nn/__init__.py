"""ferrotorch.nn: neural-network building blocks with torch.nn's API."""
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter
from . import functional
from . import init
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from . import modules
from . import utils
from . import parallel
from .parallel import DataParallel
from .modules.module import (
    register_module_buffer_registration_hook,
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
    register_module_module_registration_hook,
    register_module_parameter_registration_hook,
)


def factory_kwargs(kwargs):
    r"""Return a canonicalized dict of factory kwargs (device, dtype, memory_format)."""
    if kwargs is None:
        return {}
    simple_keys = {"device", "dtype", "memory_format"}
    expected_keys = simple_keys | {"factory_kwargs"}
    if not kwargs.keys() <= expected_keys:
        raise TypeError(f"unexpected kwargs {kwargs.keys() - expected_keys}")
    r = dict(kwargs.get("factory_kwargs", {}))
    for k in simple_keys:
        if k in kwargs:
            if k in r:
                raise TypeError(f"{k} specified twice, in **kwargs and in factory_kwargs")
            r[k] = kwargs[k]
    return r


__all__ = list(_modules_all) + [
    "Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "DataParallel",
    "functional", "init", "utils", "modules", "parallel", "factory_kwargs",
]
