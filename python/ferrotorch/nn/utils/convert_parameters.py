import ferrotorch as torch

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _typename(obj):
    from ..modules.utils import _typename as tn

    return tn(obj)


def _check_param_device(param, old_param_device):
    if old_param_device is None:
        old_param_device = param.get_device() if param.is_cuda else -1
    else:
        warn = False
        if param.is_cuda:  # Check if in same GPU
            warn = param.get_device() != old_param_device
        else:  # Check if in CPU
            warn = old_param_device != -1
        if warn:
            raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return old_param_device


def parameters_to_vector(parameters):
    r"""Flatten an iterable of parameters into a single vector."""
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    vec = []
    for param in parameters:
        vec.append(param.view(-1))
    return torch.cat(vec)


def vector_to_parameters(vec, parameters):
    r"""Copy slices of a vector into an iterable of parameters."""
    if not isinstance(vec, torch.Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {_typename(vec)}")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    pointer = 0
    for param in parameters:
        num_param = param.numel()
        # Slice the vector, reshape it, and replace the old data of the parameter
        param.data = vec[pointer:pointer + num_param].view_as(param).data
        pointer += num_param
