"""torch.autograd: backward/grad entry points, grad modes, Function, gradcheck."""
from .. import _C
from .._core import Tensor
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled, is_inference_mode_enabled
from .function import Function, FunctionCtx, once_differentiable, InplaceFunction
from .gradcheck import gradcheck, gradgradcheck
from . import graph, functional

__all__ = ["backward", "grad", "Function", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "gradcheck", "gradgradcheck"]


def _tensor_list(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    tensors = _tensor_list(tensors)
    grads = _tensor_list(grad_tensors if grad_tensors is not None else grad_variables)
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _tensor_list(inputs)
    _C.run_backward(tensors, grads, bool(retain_graph), bool(create_graph), inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    outs = _tensor_list(outputs)
    single = isinstance(inputs, Tensor)
    ins = _tensor_list(inputs)
    gos = _tensor_list(grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    res = _C.run_grad(outs, ins, gos, bool(retain_graph), bool(create_graph), bool(allow_unused))
    if materialize_grads:
        from .. import _ops
        res = tuple(_ops.zeros_like(i) if r is None else r for r, i in zip(res, ins))
    return res


class Variable:
    def __new__(cls, data, requires_grad=False, volatile=False):
        return data.detach().requires_grad_(requires_grad) if requires_grad else data


class detect_anomaly:
    """Anomaly mode is accepted and does nothing extra: backward already names the op and
    saved tensor when an in-place write invalidates it."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        return fn


class set_detect_anomaly(detect_anomaly):
    def __init__(self, mode, check_nan=True):
        super().__init__(check_nan)
        _anomaly["on"] = bool(mode)


_anomaly = {"on": False}


def is_anomaly_enabled():
    return _anomaly["on"]


def is_anomaly_check_nan_enabled():
    return _anomaly["on"]
