"""``torch.testing.make_tensor``: random tensors for tests, with PyTorch's value ranges and checks."""
import collections.abc
import functools
import math
import warnings

import ferrotorch as torch

_INTEGRAL = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]
_FLOATING = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
_BOOL_OR_INT = [torch.bool, *_INTEGRAL]


def _uniform_(t, low, high):
    # a span past the dtype's max would overflow: draw half the range and double it
    if high - low >= torch.finfo(t.dtype).max:
        return t.uniform_(low / 2, high / 2).mul_(2)
    return t.uniform_(low, high)


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """A tensor of ``shape`` filled with values drawn uniformly from ``[low, high)``.

    Defaults: ``[-9, 10)`` for integers, ``[-9, 9)`` for floats, ``[0, 2)`` for bool; bounds are
    clamped to the dtype's range. ``noncontiguous`` returns a strided view, ``exclude_zero``
    replaces zeros by 1 (integers) or the dtype's smallest normal (floats).
    """
    def bounds(low, high, lowest, highest, default_low, default_high):
        low = default_low if low is None else low
        high = default_high if high is None else high
        if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
            raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
        if low == high and dtype in _FLOATING:
            warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or complex types "
                          "is deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` instead.",
                          FutureWarning, stacklevel=3)
        elif low >= high:
            raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
        elif high < lowest or low >= highest:
            raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), "
                             f"but {_name(dtype)} only supports [{lowest}, {highest})")
        low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
        if dtype in _BOOL_OR_INT:
            return math.ceil(low), math.ceil(high)
        return low, high

    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, "
                         f"but got noncontiguous={noncontiguous} and memory_format={memory_format}")
    if requires_grad and dtype in _BOOL_OR_INT:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, "
                         f"but got dtype={_name(dtype)}")
    noncontiguous = noncontiguous and functools.reduce(lambda x, y: x * y, shape, 1) > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])
    if dtype == torch.bool:
        low, high = bounds(low, high, 0, 2, 0, 2)
        result = torch.randint(low, high, shape, device=device, dtype=dtype)
    elif dtype in _INTEGRAL:
        info = torch.iinfo(dtype)
        low, high = bounds(low, high, info.min, info.max + (1 if dtype != torch.int64 else 0), -9, 10)
        result = torch.randint(low, high, shape, device=device, dtype=dtype)
    elif dtype in _FLOATING:
        info = torch.finfo(dtype)
        low, high = bounds(low, high, info.min, info.max, -9, 9)
        result = torch.empty(shape, device=device, dtype=dtype)
        _uniform_(result, low, high)
    else:
        raise TypeError(f"The requested dtype '{_name(dtype)}' is not supported by torch.testing.make_tensor()."
                        " To request support, file an issue at: https://github.com/pytorch/pytorch/issues")
    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = 1 if dtype in _BOOL_OR_INT else torch.finfo(dtype).tiny
    if dtype in _FLOATING:
        result.requires_grad = requires_grad
    return result


def _name(dtype):
    return "torch." + str(dtype).split(".")[-1]
