"""nn.Parameter, nn.Buffer and the lazy (uninitialized) parameter classes."""
from collections import OrderedDict

import ferrotorch as torch

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


def _make_subclass(cls, data, requires_grad):
    """``torch.Tensor._make_subclass(cls, data, requires_grad)``: an instance of ``cls`` sharing
    ``data``'s storage, a leaf with ``requires_grad`` set."""
    try:
        return torch.Tensor._make_subclass(cls, data, requires_grad)
    except TypeError:
        # the core may expose it as a classmethod of the target class instead
        return cls._make_subclass(data, requires_grad)


def _rebuild_parameter(data, requires_grad, backward_hooks=None):
    """Unpickling helper: rebuilds a Parameter around the unpickled tensor."""
    param = Parameter(data, requires_grad)
    return param


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    param = Parameter(data, requires_grad)
    if state:
        try:
            param.__dict__.update(state)
        except Exception:
            pass
    return param


class Parameter(torch.Tensor):
    r"""A kind of Tensor that is to be considered a module parameter.

    Parameters are Tensor subclasses that, when assigned as Module attributes,
    are automatically added to the module's list of parameters.
    """

    _is_param_class = True  # hint for the core (Tensor.__deepcopy__)

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = torch.empty(0)
        if isinstance(data, Parameter) or type(data) is torch.Tensor or isinstance(data, torch.Tensor):
            return _make_subclass(cls, data, requires_grad)
        raise TypeError(
            f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")

    def __init__(self, *args, **kwargs):  # all the work is in __new__
        pass

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), self.requires_grad)
        memo[id(self)] = result
        return result

    def __copy__(self):
        return type(self)(self.data, self.requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + torch.Tensor.__repr__(self)

    def __reduce_ex__(self, proto):
        state = getattr(self, "__dict__", None)
        if state:
            return (_rebuild_parameter_with_state, (self.data, self.requires_grad, OrderedDict(), dict(state)))
        return (_rebuild_parameter, (self.data, self.requires_grad, OrderedDict()))


class _BufferMeta(type(torch.Tensor)):
    # Make `isinstance(t, Buffer)` return True for tensors created by Buffer(...)
    def __instancecheck__(cls, instance):
        if cls is Buffer:
            return isinstance(instance, torch.Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(torch.Tensor, metaclass=_BufferMeta):
    r"""A kind of Tensor that should not be considered a model parameter
    (for example BatchNorm's ``running_mean``). Assigning a ``Buffer`` as a
    module attribute registers it as a buffer."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = torch.empty(0)
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t


class UninitializedTensorMixin:
    def materialize(self, shape, device=None, dtype=None):
        if device is None:
            device = self.data.device
        if dtype is None:
            dtype = self.data.dtype
        self.data = torch.empty(shape, device=device, dtype=dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. "
            "This error usually happens in `load_state_dict` when trying to load "
            "an uninitialized parameter into an initialized one. "
            "Call `forward` to initialize the parameters before accessing their attributes.")

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. "
            "Call `forward` to initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{self.__class__.__name__}>"

    def __reduce_ex__(self, proto):
        return (self.__class__, (self.requires_grad,))


def is_lazy(param):
    return isinstance(param, UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        kw = {}
        if device is not None:
            kw["device"] = device
        if dtype is not None:
            kw["dtype"] = dtype
        data = torch.empty(0, **kw)
        return _make_subclass(cls, data, requires_grad)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.requires_grad, self.data.device, self.data.dtype)
        memo[id(self)] = result
        return result


class UninitializedBuffer(UninitializedTensorMixin, torch.Tensor):
    cls_to_become = torch.Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None):
        kw = {}
        if device is not None:
            kw["device"] = device
        if dtype is not None:
            kw["dtype"] = dtype
        data = torch.empty(0, **kw)
        return _make_subclass(cls, data, requires_grad)
