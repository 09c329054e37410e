"""Tensor printing, character-for-character like ``torch/_tensor_str.py``.

``tensor_repr(t)`` is used as ``Tensor.__repr__`` and ``Tensor.__str__``.

The formatting rules are PyTorch's (precision 4, threshold 1000 elements,
3 edge items, line width 80; integer-valued floats print as ``1.``; scientific
notation when max/min > 1000, max > 1e8 or min < 1e-4; right alignment to the
widest element; nested brackets with ``dim - 1`` blank lines between blocks).
For speed the tensor is summarised *before* anything is converted to Python:
every dimension longer than ``2 * edgeitems`` is cut down to its edge items with
``narrow`` + ``cat``, so at most ``(2 * edgeitems) ** ndim`` values ever reach
``tolist()``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Dict, List, Optional

import ferrotorch as torch

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr", "PRINT_OPTS"]


@dataclasses.dataclass
class __PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: Optional[bool] = None


PRINT_OPTS = __PrinterOptions()


# We could use **kwargs, but this will give better docs
def set_printoptions(
    precision=None,
    threshold=None,
    edgeitems=None,
    linewidth=None,
    profile=None,
    sci_mode=None,
):
    r"""Set options for printing. Items shamelessly taken from NumPy

    Args:
        precision: Number of digits of precision for floating point output
            (default = 4).
        threshold: Total number of array elements which trigger summarization
            rather than full `repr` (default = 1000).
        edgeitems: Number of array items in summary at beginning and end of
            each dimension (default = 3).
        linewidth: The number of characters per line for the purpose of
            inserting line breaks (default = 80). Thresholded matrices will
            ignore this parameter.
        profile: Sane defaults for pretty printing. Can override with any of
            the above options. (any one of `default`, `short`, `full`)
        sci_mode: Enable (True) or disable (False) scientific notation. If
            None (default) is specified, the value is defined by the formatter.
    """
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80
        elif profile == "short":
            PRINT_OPTS.precision = 2
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 2
            PRINT_OPTS.linewidth = 80
        elif profile == "full":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = math.inf
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80

    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> Dict[str, Any]:
    r"""Gets the current options for printing, as a dictionary that
    can be passed as ``**kwargs`` to set_printoptions()."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    r"""Context manager that temporarily changes the print options."""
    old_kwargs = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old_kwargs)


# --------------------------------------------------------------------------- helpers
def _dtype_name(dtype) -> str:
    return str(dtype).split(".")[-1]


def _dtype_str(dtype) -> str:
    return f"torch.{_dtype_name(dtype)}"  # printed as PyTorch prints it


_FLOAT_NAMES = {"float16", "bfloat16", "float32", "float64", "float8_e4m3fn", "float8_e5m2",
                "float8_e4m3fnuz", "float8_e5m2fnuz", "half", "float", "double"}
_COMPLEX_NAMES = {"complex32", "complex64", "complex128", "cfloat", "cdouble", "chalf"}


def _is_floating(dtype) -> bool:
    v = getattr(dtype, "is_floating_point", None)
    if v is not None:
        return bool(v)
    return _dtype_name(dtype) in _FLOAT_NAMES


def _is_complex(dtype) -> bool:
    v = getattr(dtype, "is_complex", None)
    if v is not None:
        return bool(v)
    return _dtype_name(dtype) in _COMPLEX_NAMES


def _flatten(data, ndim: int, out: list) -> list:
    if ndim == 0:
        out.append(data)
    elif ndim == 1:
        out.extend(data)
    else:
        for row in data:
            _flatten(row, ndim - 1, out)
    return out


class _Formatter:
    """Decides the common width and style of all (summarised) elements."""

    def __init__(self, values: List, floating_dtype: bool):
        self.floating_dtype = floating_dtype
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        if not self.floating_dtype:
            for value in values:
                value_str = f"{value}"
                self.max_width = max(self.max_width, len(value_str))
        else:
            nonzero_finite_vals = [v for v in values if math.isfinite(v) and v != 0]

            if len(nonzero_finite_vals) == 0:
                # no valid number, do nothing
                pass
            else:
                # Convert to double for easy calculation.
                nonzero_finite_abs = [abs(v) for v in nonzero_finite_vals]
                nonzero_finite_min = min(nonzero_finite_abs)
                nonzero_finite_max = max(nonzero_finite_abs)

                for value in nonzero_finite_vals:
                    if value != math.ceil(value):
                        self.int_mode = False
                        break

                if self.int_mode:
                    # in int_mode for floats, all numbers are integers, and we append a decimal to nonfinites
                    # to indicate that the tensor is of floating type. add 1 to the len to account for this.
                    if nonzero_finite_max / nonzero_finite_min > 1000.0 or nonzero_finite_max > 1.0e8:
                        self.sci_mode = True
                        for value in nonzero_finite_vals:
                            value_str = f"{{:.{PRINT_OPTS.precision}e}}".format(value)
                            self.max_width = max(self.max_width, len(value_str))
                    else:
                        for value in nonzero_finite_vals:
                            value_str = f"{value:.0f}"
                            self.max_width = max(self.max_width, len(value_str) + 1)
                else:
                    # Check if scientific representation should be used.
                    if (
                        nonzero_finite_max / nonzero_finite_min > 1000.0
                        or nonzero_finite_max > 1.0e8
                        or nonzero_finite_min < 1.0e-4
                    ):
                        self.sci_mode = True
                        for value in nonzero_finite_vals:
                            value_str = f"{{:.{PRINT_OPTS.precision}e}}".format(value)
                            self.max_width = max(self.max_width, len(value_str))
                    else:
                        for value in nonzero_finite_vals:
                            value_str = f"{{:.{PRINT_OPTS.precision}f}}".format(value)
                            self.max_width = max(self.max_width, len(value_str))

        if PRINT_OPTS.sci_mode is not None:
            self.sci_mode = PRINT_OPTS.sci_mode

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        if self.floating_dtype:
            if self.sci_mode:
                ret = f"{{:{self.max_width}.{PRINT_OPTS.precision}e}}".format(value)
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{{:.{PRINT_OPTS.precision}f}}".format(value)
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _complex_str(val, formatter1, formatter2) -> str:
    real_str = formatter1.format(val.real)
    imag_str = (formatter2.format(val.imag) + "j").lstrip()
    # handles negative numbers, +0.0, -0.0
    if imag_str[0] == "+" or imag_str[0] == "-":
        return real_str + imag_str
    return real_str + "+" + imag_str


def _vector_str(data, indent, summarized, formatter1, formatter2=None) -> str:
    # length includes spaces and comma between elements
    element_length = formatter1.width() + 2
    if formatter2 is not None:
        # width for imag_formatter + an extra j for complex
        element_length += formatter2.width() + 1

    elements_per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / (element_length))))

    if formatter2 is not None:
        def _val_formatter(val):
            return _complex_str(val, formatter1, formatter2)
    else:
        _val_formatter = formatter1.format

    if summarized:
        half = len(data) // 2
        items = [_val_formatter(v) for v in data[:half]] + [" ..."] + [_val_formatter(v) for v in data[half:]]
    else:
        items = [_val_formatter(v) for v in data]

    data_lines = [items[i: i + elements_per_line] for i in range(0, len(items), elements_per_line)]
    lines = [", ".join(line) for line in data_lines]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(data, dim_flags, depth, indent, formatter1, formatter2=None) -> str:
    ndim = len(dim_flags) - depth
    if ndim == 1:
        return _vector_str(data, indent, dim_flags[depth], formatter1, formatter2)
    if dim_flags[depth]:
        half = len(data) // 2
        slices = (
            [_nested_str(r, dim_flags, depth + 1, indent + 1, formatter1, formatter2) for r in data[:half]]
            + ["..."]
            + [_nested_str(r, dim_flags, depth + 1, indent + 1, formatter1, formatter2) for r in data[half:]]
        )
    else:
        slices = [_nested_str(r, dim_flags, depth + 1, indent + 1, formatter1, formatter2) for r in data]
    tensor_str = ("," + "\n" * (ndim - 1) + " " * (indent + 1)).join(slices)
    return "[" + tensor_str + "]"


def _summarize(t, summarize: bool):
    """Cut every dimension longer than 2*edgeitems down to its edge items.

    Returns the (small) tensor and, per dimension, whether it was cut."""
    e = PRINT_OPTS.edgeitems
    flags = []
    shape = tuple(t.shape)
    for d, n in enumerate(shape):
        if summarize and n > 2 * e:
            t = torch.cat([t.narrow(d, 0, e), t.narrow(d, n - e, e)], d)
            flags.append(True)
        else:
            flags.append(False)
    return t, flags


def _tensor_str(self, indent: int) -> str:
    if self.numel() == 0:
        return "[]"

    summarize = self.numel() > PRINT_OPTS.threshold
    ndim = self.dim()

    if summarize and ndim >= 1 and not PRINT_OPTS.edgeitems:
        # PyTorch prints just the ellipsis when edgeitems == 0
        return "[...]"

    t = self
    if hasattr(t, "resolve_conj") and _is_complex(t.dtype):
        t = t.resolve_conj()
    t, flags = _summarize(t, summarize)

    name = _dtype_name(t.dtype)
    if name in ("float16", "bfloat16") or name.startswith("float8"):
        t = t.float()
    elif name == "complex32":
        t = t.cfloat()

    data = t.tolist()
    values = _flatten(data, ndim, [])

    if _is_complex(t.dtype):
        real_formatter = _Formatter([v.real for v in values], True)
        imag_formatter = _Formatter([v.imag for v in values], True)
        if ndim == 0:
            return _complex_str(data, real_formatter, imag_formatter)
        return _nested_str(data, flags, 0, indent, real_formatter, imag_formatter)

    formatter = _Formatter(values, _is_floating(t.dtype))
    if ndim == 0:
        return formatter.format(data)
    return _nested_str(data, flags, 0, indent, formatter)


def _add_suffixes(tensor_str, suffixes, indent, force_newline):
    tensor_strs = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        suffix_len = len(suffix)
        if force_newline or last_line_len + suffix_len + 2 > PRINT_OPTS.linewidth:
            tensor_strs.append(",\n" + " " * indent + suffix)
            last_line_len = indent + suffix_len
            force_newline = False
        else:
            tensor_strs.append(", " + suffix)
            last_line_len += suffix_len + 2
    tensor_strs.append(")")
    return "".join(tensor_strs)


def _default_dtype():
    f = getattr(torch, "get_default_dtype", None)
    return f() if f is not None else torch.float32


def _is_plain_tensor(inp) -> bool:
    tp = type(inp)
    if tp is torch.Tensor:
        return True
    nn = getattr(torch, "nn", None)
    param_cls = getattr(nn, "Parameter", None) if nn is not None else None
    if param_cls is not None and tp is param_cls:
        return True
    return tp.__name__ == "Parameter"


def _grad_fn_name(inp) -> Optional[str]:
    try:
        grad_fn = inp.grad_fn
    except RuntimeError:
        return "Invalid"
    if grad_fn is None:
        return None
    name_fn = getattr(grad_fn, "name", None)
    if callable(name_fn):
        name = name_fn()
    else:
        name = type(grad_fn).__name__
    return str(name).rsplit("::", 1)[-1]


def _str_intern(inp, *, tensor_contents=None) -> str:
    is_plain_tensor = _is_plain_tensor(inp)
    if getattr(inp, "is_nested", False):
        prefix = "nested_tensor("
    elif is_plain_tensor:
        prefix = "tensor("
    else:
        prefix = f"{type(inp).__name__}("
    indent = len(prefix)
    suffixes = []
    custom_contents_provided = tensor_contents is not None
    if custom_contents_provided:
        tensor_str = tensor_contents

    self = inp.detach()

    device = self.device
    device_type = getattr(device, "type", None) or str(device).split(":")[0]
    if device_type != "cpu":
        suffixes.append("device='" + str(device) + "'")
        self = self.cpu()

    dtype = self.dtype
    default_dtype = _default_dtype()
    default_name = _dtype_name(default_dtype)
    dtype_name = _dtype_name(dtype)
    default_complex = "complex128" if default_name == "float64" else "complex64"
    has_default_dtype = dtype_name in (default_name, default_complex, "int64", "bool")

    if self.numel() == 0:
        # Explicitly print the shape if it is not (0,), to match NumPy behavior
        if self.dim() != 1:
            suffixes.append("size=" + str(tuple(self.shape)))

        # In an empty tensor, there are no elements to infer if the dtype
        # should be int64, so it must be shown explicitly.
        if dtype_name != default_name:
            suffixes.append("dtype=" + _dtype_str(dtype))
        if not custom_contents_provided:
            tensor_str = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(self.shape)))

        if not has_default_dtype:
            suffixes.append("dtype=" + _dtype_str(dtype))

        if not custom_contents_provided:
            tensor_str = _tensor_str(self, indent)

    grad_fn_name = _grad_fn_name(inp)
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif inp.requires_grad:
        suffixes.append("requires_grad=True")

    return _add_suffixes(prefix + tensor_str, suffixes, indent, force_newline=False)


def _str(self, *, tensor_contents=None) -> str:
    with torch.no_grad():
        return _str_intern(self, tensor_contents=tensor_contents)


def tensor_repr(t) -> str:
    """``repr(t)`` / ``str(t)`` exactly as PyTorch prints it."""
    return _str(t)
