"""Converters: one per ferrotorch entry point, emitting the ONNX nodes for one eager call.

A converter is `conv(st, out, a)`: `st` is the Tracer, `out` the eager result, `a` the call's
arguments bound to the entry point's signature (`a[0]` is self/input). It maps every result tensor
to a value name with `st.set(result, name)` (or marks it constant). Keys are attribute names
(`add`, `__add__`, `view`), `F.<name>` for nn.functional, `Tensor.where` for the method form.
"""
import math
import numbers

import numpy as np

import ferrotorch as torch

from ._trace import SymInt, eager_shape, np_dtype, onnx_type, has_sym
from .errors import UnsupportedOperatorError

CONV = {}
INT64_MAX = 2 ** 63 - 1
INT64_MIN = -2 ** 63


def reg(*names):
    def deco(f):
        for n in names:
            CONV[n] = f
        return f
    return deco


def _t(x):
    return isinstance(x, torch.Tensor)


def _unsupported(st, name, detail):
    return UnsupportedOperatorError(f"aten::{name}", st.opset, None, detail)


def _wrap(d, n):
    n = max(n, 1)
    return int(d) % n


def _seq(x):
    """Normalizes `(*sizes)` / `(sizes,)` varargs into a list."""
    if len(x) == 1 and isinstance(x[0], (list, tuple)):
        return list(x[0])
    return list(x)


# ---------------------------------------------------------------------------------------- helpers

def cast(st, name, src, dst):
    if src == dst:
        return name
    return st.op("Cast", name, to=onnx_type(dst))


def operand(st, x, dtype):
    """A tensor, SymInt or Python scalar as a value of `dtype`."""
    if _t(x):
        return cast(st, st.v(x), x.dtype, dtype)
    if isinstance(x, SymInt):
        return cast(st, st.sym_scalar(x), torch.int64, dtype)
    if isinstance(x, bool) and dtype != torch.bool:
        x = int(x)
    return st.scalar(x, dtype)


def reduce(st, op, x, axes, keepdims):
    kd = 1 if keepdims else 0
    if axes is None:
        return st.op(op, x, keepdims=kd)
    axes = list(axes)
    if op == "ReduceSum" or st.opset >= 18:
        return st.op(op, x, st.ints(axes), keepdims=kd)
    return st.op(op, x, axes=axes, keepdims=kd)


def unsqueeze(st, x, axes):
    return st.op("Unsqueeze", x, st.ints(list(axes)))


def squeeze(st, x, axes):
    return st.op("Squeeze", x, st.ints(list(axes)))


def identity(st, out, x):
    """Maps `out` to the same value as `x` (no node)."""
    if out is x and st.is_traced(x):
        return
    st.set(out, st.v(x))


def _dims_arg(dim, n):
    """A reduction's `dim` argument as wrapped axes, or None for all axes."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        return [_wrap(d, n) for d in dim]
    return [_wrap(dim, n)]


def _set_dims(st, name, dtype, dims):
    """Records a value's dims (None = dynamic) when the exporter tracks dynamic shapes."""
    if st.dynamic:
        st.info[name] = (onnx_type(dtype), tuple(dims))


# ---------------------------------------------------------------------------------------- identity / casts

@reg("detach", "detach_", "contiguous", "clone", "requires_grad_", "cpu", "pin_memory", "share_memory_", "data",
     "positive", "__pos__", "alias", "resolve_conj", "resolve_neg", "conj")
def _identity(st, out, a):
    identity(st, out, a[0])


@reg("to", "type", "type_as", "float", "double", "half", "bfloat16", "int", "long", "short", "char", "byte", "bool")
def _to(st, out, a):
    x = a[0]
    if out is not x:
        st.set(out, cast(st, st.v(x), x.dtype, out.dtype))


# ---------------------------------------------------------------------------------------- elementwise

_UNARY = {"abs": "Abs", "absolute": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "sin": "Sin", "cos": "Cos",
          "tan": "Tan", "asin": "Asin", "arcsin": "Asin", "acos": "Acos", "arccos": "Acos", "atan": "Atan",
          "arctan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "tanh": "Tanh", "asinh": "Asinh", "arcsinh": "Asinh",
          "acosh": "Acosh", "arccosh": "Acosh", "atanh": "Atanh", "arctanh": "Atanh", "sigmoid": "Sigmoid",
          "erf": "Erf", "reciprocal": "Reciprocal", "floor": "Floor", "ceil": "Ceil", "neg": "Neg", "negative": "Neg",
          "relu": "Relu", "sign": "Sign", "sgn": "Sign", "isnan": "IsNaN", "round": "Round",
          "__neg__": "Neg", "__abs__": "Abs"}


def _unary_conv(onnx_op):
    def conv(st, out, a):
        x = a[0]
        st.set(out, st.op(onnx_op, cast(st, st.v(x), x.dtype, out.dtype if onnx_op != "IsNaN" else x.dtype)))
    return conv


for _n, _o in _UNARY.items():
    reg(_n)(_unary_conv(_o))
    if not _n.startswith("__") and _n not in ("isnan",):
        reg(_n + "_")(_unary_conv(_o))


@reg("isnan")
def _isnan(st, out, a):
    x = a[0]
    xv = st.v(x)
    st.set(out, st.op("IsNaN", xv) if x.dtype.is_floating_point else st.op("Not", st.op("Equal", xv, xv)))


@reg("round", "round_")
def _round(st, out, a):
    x, dec = a[0], a.get("decimals", 0)
    xv = st.v(x)
    if not x.dtype.is_floating_point:
        identity(st, out, x)
        return
    if dec:
        f = st.scalar(10.0 ** dec, x.dtype)
        st.set(out, st.op("Div", st.op("Round", st.op("Mul", xv, f)), f))
    else:
        st.set(out, st.op("Round", xv))
reg("F.tanh")(_unary_conv("Tanh"))
reg("F.sigmoid")(_unary_conv("Sigmoid"))
reg("F.softsign")(_unary_conv("Softsign"))


def _float_in(st, x, out):
    return cast(st, st.v(x), x.dtype, out.dtype)


def _one(st, dtype):
    return st.scalar(1, dtype)


@reg("rsqrt", "rsqrt_")
def _rsqrt(st, out, a):
    st.set(out, st.op("Reciprocal", st.op("Sqrt", _float_in(st, a[0], out))))


@reg("square", "square_")
def _square(st, out, a):
    x = _float_in(st, a[0], out)
    st.set(out, st.op("Mul", x, x))


@reg("exp2", "exp2_")
def _exp2(st, out, a):
    st.set(out, st.op("Pow", st.scalar(2.0, out.dtype), _float_in(st, a[0], out)))


@reg("expm1", "expm1_")
def _expm1(st, out, a):
    st.set(out, st.op("Sub", st.op("Exp", _float_in(st, a[0], out)), _one(st, out.dtype)))


@reg("log1p", "log1p_")
def _log1p(st, out, a):
    st.set(out, st.op("Log", st.op("Add", _float_in(st, a[0], out), _one(st, out.dtype))))


def _logbase(b):
    def conv(st, out, a):
        st.set(out, st.op("Div", st.op("Log", _float_in(st, a[0], out)), st.scalar(math.log(b), out.dtype)))
    return conv


for _n, _b in (("log2", 2.0), ("log10", 10.0)):
    reg(_n, _n + "_")(_logbase(_b))


def _trunc_name(st, x, dtype):
    if not dtype.is_floating_point:
        return x
    zero = st.scalar(0, dtype)
    return st.op("Where", st.op("Less", x, zero), st.op("Ceil", x), st.op("Floor", x))


@reg("trunc", "trunc_", "fix", "fix_")
def _trunc(st, out, a):
    st.set(out, _trunc_name(st, st.v(a[0]), out.dtype))


@reg("frac", "frac_")
def _frac(st, out, a):
    x = st.v(a[0])
    st.set(out, st.op("Sub", x, _trunc_name(st, x, out.dtype)))


@reg("isinf")
def _isinf(st, out, a):
    x = a[0]
    st.set(out, st.op("IsInf", st.v(x)) if x.dtype.is_floating_point else st.op(
        "Cast", st.op("Mul", st.v(x), st.scalar(0, x.dtype)), to=onnx_type(torch.bool)))


@reg("isfinite")
def _isfinite(st, out, a):
    x = a[0]
    if not x.dtype.is_floating_point:
        st.set(out, st.op("Not", st.op("Cast", st.op("Mul", st.v(x), st.scalar(0, x.dtype)), to=onnx_type(torch.bool))))
        return
    n = st.v(x)
    st.set(out, st.op("Not", st.op("Or", st.op("IsNaN", n), st.op("IsInf", n))))


@reg("logical_not", "logical_not_")
def _logical_not(st, out, a):
    x = a[0]
    r = st.op("Not", cast(st, st.v(x), x.dtype, torch.bool))
    st.set(out, cast(st, r, torch.bool, out.dtype))


@reg("__invert__", "bitwise_not", "bitwise_not_")
def _invert(st, out, a):
    x = a[0]
    if x.dtype == torch.bool:
        st.set(out, st.op("Not", st.v(x)))
    else:
        st.set(out, st.op("BitwiseNot", st.v(x)))


# binary ops: (onnx op or builder, kind)

def _arith(st, op, x, y, dtype):
    return st.op(op, operand(st, x, dtype), operand(st, y, dtype))


def _floor_div(st, x, y, dtype):
    if dtype.is_floating_point:
        return st.op("Floor", st.op("Div", x, y))
    m = st.op("Mod", x, y, fmod=0)  # Python-style remainder for integers
    return st.op("Div", st.op("Sub", x, m), y)


def _binary(kind, rev=False):
    def conv(st, out, a):
        x, y = a[0], a[1]
        if rev:
            x, y = y, x
        dt = out.dtype
        if kind in ("add", "sub"):
            alpha = a.get("alpha", 1)
            yv = operand(st, y, dt)
            if alpha != 1:
                yv = st.op("Mul", yv, st.scalar(alpha, dt))
            if dt == torch.bool:
                r = st.op("Or" if kind == "add" else "Xor", operand(st, x, dt), yv)
            else:
                r = st.op("Add" if kind == "add" else "Sub", operand(st, x, dt), yv)
        elif kind == "mul":
            r = _arith(st, "And" if dt == torch.bool else "Mul", x, y, dt)
        elif kind == "div":
            mode = a.get("rounding_mode")
            xv, yv = operand(st, x, dt), operand(st, y, dt)
            if mode is None:
                r = st.op("Div", xv, yv)
            elif mode == "trunc":
                r = _trunc_name(st, st.op("Div", xv, yv), dt)
            else:
                r = _floor_div(st, xv, yv, dt)
        elif kind == "floor_divide":
            r = _floor_div(st, operand(st, x, dt), operand(st, y, dt), dt)
        elif kind == "remainder":
            xv, yv = operand(st, x, dt), operand(st, y, dt)
            if dt.is_floating_point:
                r = st.op("Sub", xv, st.op("Mul", st.op("Floor", st.op("Div", xv, yv)), yv))
            else:
                r = st.op("Mod", xv, yv, fmod=0)
        elif kind == "fmod":
            r = st.op("Mod", operand(st, x, dt), operand(st, y, dt), fmod=1)
        elif kind == "pow":
            r = _arith(st, "Pow", x, y, dt)
        elif kind in ("maximum", "minimum"):
            r = _arith(st, "Max" if kind == "maximum" else "Min", x, y, dt)
        elif kind in ("eq", "ne", "lt", "le", "gt", "ge"):
            ct = torch.result_type(x, y) if _t(x) else torch.result_type(y, x)
            xv, yv = operand(st, x, ct), operand(st, y, ct)
            op = {"eq": "Equal", "ne": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater",
                  "ge": "GreaterOrEqual"}[kind]
            r = st.op(op, xv, yv)
            if kind == "ne":
                r = st.op("Not", r)
        elif kind in ("logical_and", "logical_or", "logical_xor"):
            op = {"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}[kind]
            r = cast(st, st.op(op, operand(st, x, torch.bool), operand(st, y, torch.bool)), torch.bool, dt)
        elif kind in ("bitwise_and", "bitwise_or", "bitwise_xor"):
            if dt == torch.bool:
                op = {"bitwise_and": "And", "bitwise_or": "Or", "bitwise_xor": "Xor"}[kind]
            else:
                op = {"bitwise_and": "BitwiseAnd", "bitwise_or": "BitwiseOr", "bitwise_xor": "BitwiseXor"}[kind]
            r = _arith(st, op, x, y, dt)
        elif kind == "matmul":
            r = st.op("MatMul", operand(st, x, dt), operand(st, y, dt))
        else:  # pragma: no cover
            raise AssertionError(kind)
        st.set(out, r)
    return conv


_BIN_NAMES = {
    "add": "add", "sub": "sub", "subtract": "sub", "mul": "mul", "multiply": "mul", "div": "div", "divide": "div",
    "true_divide": "div", "floor_divide": "floor_divide", "remainder": "remainder", "fmod": "fmod", "pow": "pow",
    "maximum": "maximum", "minimum": "minimum", "eq": "eq", "ne": "ne", "not_equal": "ne", "lt": "lt",
    "less": "lt", "le": "le", "less_equal": "le", "gt": "gt", "greater": "gt", "ge": "ge", "greater_equal": "ge",
    "logical_and": "logical_and", "logical_or": "logical_or", "logical_xor": "logical_xor",
    "bitwise_and": "bitwise_and", "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor",
}
for _n, _k in _BIN_NAMES.items():
    reg(_n, _n + "_")(_binary(_k))
for _d, _k in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div"), ("floordiv", "floor_divide"),
               ("mod", "remainder"), ("pow", "pow"), ("and", "bitwise_and"), ("or", "bitwise_or"),
               ("xor", "bitwise_xor"), ("matmul", "matmul")):
    reg(f"__{_d}__", f"__i{_d}__")(_binary(_k))
    reg(f"__r{_d}__")(_binary(_k, rev=True))
for _d in ("eq", "ne", "lt", "le", "gt", "ge"):
    reg(f"__{_d}__")(_binary(_d))
reg("rsub")(_binary("sub", rev=True))


@reg("matmul", "mm", "bmm", "mv", "dot", "inner")
def _matmul(st, out, a):
    st.set(out, st.op("MatMul", st.v(a[0]), st.v(a[1])))


@reg("addmm")
def _addmm(st, out, a):
    inp, m1, m2 = a[0], a[1], a[2]
    st.set(out, st.op("Gemm", st.v(m1), st.v(m2), st.v(inp), alpha=float(a.get("alpha", 1)),
                      beta=float(a.get("beta", 1))))


@reg("baddbmm")
def _baddbmm(st, out, a):
    inp, b1, b2 = a[0], a[1], a[2]
    dt = out.dtype
    r = st.op("MatMul", st.v(b1), st.v(b2))
    alpha, beta = a.get("alpha", 1), a.get("beta", 1)
    if alpha != 1:
        r = st.op("Mul", r, st.scalar(alpha, dt))
    if beta != 0:
        i = st.v(inp)
        if beta != 1:
            i = st.op("Mul", i, st.scalar(beta, dt))
        r = st.op("Add", i, r)
    st.set(out, r)


@reg("einsum")
def _einsum(st, out, a):
    eq = a[0].replace(" ", "")
    ops = list(a[1])
    if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
        ops = list(ops[0])
    st.set(out, st.op("Einsum", *[st.v(o) for o in ops], equation=eq))


@reg("F.linear")
def _linear(st, out, a):
    x, w, b = a[0], a[1], a[2]
    xv, wv = st.v(x), st.v(w)
    if x.dim() == 2 and w.dim() == 2:
        st.set(out, st.op("Gemm", xv, wv, None if b is None else st.v(b), transB=1))
        return
    r = st.op("MatMul", xv, st.op("Transpose", wv, perm=[1, 0]) if w.dim() == 2 else wv)
    if b is not None:
        r = st.op("Add", r, st.v(b))
    st.set(out, r)


# ---------------------------------------------------------------------------------------- where / masks / clamp

@reg("where")
def _where(st, out, a):
    cond, x, y = a[0], a[1], a[2]
    if x is None:
        raise _unsupported(st, "nonzero", "torch.where(condition) has a data-dependent shape")
    dt = out.dtype
    st.set(out, st.op("Where", operand(st, cond, torch.bool), operand(st, x, dt), operand(st, y, dt)))


@reg("Tensor.where")
def _tensor_where(st, out, a):
    x, cond, y = a[0], a[1], a[2]
    dt = out.dtype
    st.set(out, st.op("Where", operand(st, cond, torch.bool), operand(st, x, dt), operand(st, y, dt)))


@reg("masked_fill", "masked_fill_")
def _masked_fill(st, out, a):
    x, mask, value = a[0], a[1], a[2]
    dt = out.dtype
    st.set(out, st.op("Where", operand(st, mask, torch.bool), operand(st, value, dt), st.v(x)))


def _clip(st, out, x, lo, hi):
    dt = out.dtype
    xv = cast(st, st.v(x), x.dtype, dt)
    if not _t(lo) and not _t(hi):
        r = st.op("Clip", xv, None if lo is None else operand(st, lo, dt), None if hi is None else operand(st, hi, dt))
    else:
        r = xv
        if lo is not None:
            r = st.op("Max", r, operand(st, lo, dt))
        if hi is not None:
            r = st.op("Min", r, operand(st, hi, dt))
    st.set(out, r)


@reg("clamp", "clamp_", "clip", "clip_")
def _clamp(st, out, a):
    _clip(st, out, a[0], a[1], a[2])


@reg("clamp_min", "clamp_min_")
def _clamp_min(st, out, a):
    _clip(st, out, a[0], a[1], None)


@reg("clamp_max", "clamp_max_")
def _clamp_max(st, out, a):
    _clip(st, out, a[0], None, a[1])


def _trilu_conv(upper):
    def conv(st, out, a):
        x, k = a[0], a[1]
        xv = st.v(x)
        if x.dtype in (torch.uint8, torch.int8, torch.int16):  # onnxruntime has no Trilu kernel for these
            r = st.op("Trilu", st.op("Cast", xv, to=onnx_type(torch.int32)), st.const(np.array(k, np.int64)),
                      upper=upper)
            r = st.op("Cast", r, to=onnx_type(x.dtype))
        else:
            r = st.op("Trilu", xv, st.const(np.array(k, np.int64)), upper=upper)
        st.set(out, r)
    return conv


reg("tril", "tril_")(_trilu_conv(0))
reg("triu", "triu_")(_trilu_conv(1))


# ---------------------------------------------------------------------------------------- reductions

def _reduce_conv(op, cast_out=True):
    def conv(st, out, a):
        x = a[0]
        dim = a.get("dim") if "dim" in a.d else None
        keep = bool(a.get("keepdim", False))
        xv = cast(st, st.v(x), x.dtype, out.dtype) if cast_out else st.v(x)
        axes = _dims_arg(dim, x.dim())
        if x.dim() == 0:
            st.set(out, xv)
            return
        st.set(out, reduce(st, op, xv, axes, keep))
    return conv


reg("sum")(_reduce_conv("ReduceSum"))
reg("mean")(_reduce_conv("ReduceMean"))
reg("prod")(_reduce_conv("ReduceProd"))
reg("amax")(_reduce_conv("ReduceMax"))
reg("amin")(_reduce_conv("ReduceMin"))
reg("logsumexp")(_reduce_conv("ReduceLogSumExp"))


def _max_min(is_max):
    op, arg = ("ReduceMax", "ArgMax") if is_max else ("ReduceMin", "ArgMin")

    def conv(st, out, a):
        x, dim, keep = a[0], a[1], bool(a[2])
        if _t(dim):  # torch.max(a, b)
            st.set(out, st.op("Max" if is_max else "Min", operand(st, x, out.dtype), operand(st, dim, out.dtype)))
            return
        xv = st.v(x)
        if dim is None:
            st.set(out, reduce(st, op, xv, None, False) if x.dim() else xv)
            return
        d = _wrap(dim, x.dim())
        if x.dim() == 0:
            st.set(out[0], xv)
            st.set(out[1], st.const(np.array(0, np.int64)))
            return
        st.set(out[0], reduce(st, op, xv, [d], keep))
        st.set(out[1], st.op(arg, xv, axis=d, keepdims=1 if keep else 0))
    return conv


reg("max")(_max_min(True))
reg("min")(_max_min(False))


def _arg_conv(op):
    def conv(st, out, a):
        x, dim, keep = a[0], a[1], bool(a[2])
        xv = st.v(x)
        if dim is None:
            r = st.op(op, st.op("Reshape", xv, st.ints([-1])), axis=0, keepdims=0)
            if keep:
                r = st.op("Reshape", r, st.ints([1] * x.dim()))
        else:
            r = st.op(op, xv, axis=_wrap(dim, x.dim()), keepdims=1 if keep else 0)
        st.set(out, r)
    return conv


reg("argmax")(_arg_conv("ArgMax"))
reg("argmin")(_arg_conv("ArgMin"))


def _all_any(op):
    def conv(st, out, a):
        x = a[0]
        axes = _dims_arg(a.get("dim"), x.dim())
        b = st.op("Cast", cast(st, st.v(x), x.dtype, torch.bool), to=onnx_type(torch.int32))
        r = reduce(st, op, b, axes, bool(a.get("keepdim", False))) if x.dim() else b
        st.set(out, st.op("Cast", r, to=onnx_type(out.dtype)))
    return conv


reg("all")(_all_any("ReduceMin"))
reg("any")(_all_any("ReduceMax"))


def _count(st, x, axes):
    """The number of reduced elements, as a 0-d value of x's dtype (dynamic dims stay dynamic)."""
    dims = st.dims(x)
    sel = dims if axes is None else [dims[i] for i in axes]
    n = 1
    for d in sel:
        n = n * d
    return n


def _var(st, out, a, sqrt):
    x = a[0]
    dim, keep = a.get("dim"), bool(a.get("keepdim", False))
    unbiased, corr = a.get("unbiased"), a.get("correction")
    c = (1 if unbiased is None or unbiased else 0) if corr is None else corr
    if isinstance(dim, bool):  # var(x, unbiased) positional form
        c, dim = (1 if dim else 0), None
    axes = _dims_arg(dim, x.dim())
    dt = out.dtype
    xv = st.v(x)
    mean = reduce(st, "ReduceMean", xv, axes, True)
    d = st.op("Sub", xv, mean)
    ss = reduce(st, "ReduceSum", st.op("Mul", d, d), axes, keep)
    n = _count(st, x, axes) - c
    den = operand(st, n if isinstance(n, SymInt) else max(n, 0), dt)
    r = st.op("Div", ss, den)
    st.set(out, st.op("Sqrt", r) if sqrt else r)


reg("var")(lambda st, out, a: _var(st, out, a, False))
reg("std")(lambda st, out, a: _var(st, out, a, True))


@reg("norm")
def _norm(st, out, a):
    x, p, dim, keep = a[0], a[1], a[2], bool(a[3])
    axes = _dims_arg(dim, x.dim())
    xv = cast(st, st.v(x), x.dtype, out.dtype)
    if p in ("fro", 2, 2.0):
        r = reduce(st, "ReduceL2", xv, axes, keep)
    elif p in (1, 1.0):
        r = reduce(st, "ReduceL1", xv, axes, keep)
    elif p == math.inf:
        r = reduce(st, "ReduceMax", st.op("Abs", xv), axes, keep)
    elif p == -math.inf:
        r = reduce(st, "ReduceMin", st.op("Abs", xv), axes, keep)
    elif isinstance(p, numbers.Number) and p != 0:
        s = reduce(st, "ReduceSum", st.op("Pow", st.op("Abs", xv), st.scalar(p, out.dtype)), axes, keep)
        r = st.op("Pow", s, st.scalar(1.0 / p, out.dtype))
    else:
        raise _unsupported(st, "norm", f"p={p!r}")
    st.set(out, r)


@reg("cumsum", "cumsum_")
def _cumsum(st, out, a):
    x, dim = a[0], a[1]
    xv = cast(st, st.v(x), x.dtype, out.dtype)
    st.set(out, st.op("CumSum", xv, st.const(np.array(_wrap(dim, x.dim()), np.int64))))


@reg("topk")
def _topk(st, out, a):
    x, k, dim, largest = a[0], a[1], a[2], a[3]
    d = _wrap(dim, x.dim())
    v, i = st.op("TopK", st.v(x), st.sym(k), axis=d, largest=1 if largest else 0, sorted=1, outputs=2)
    st.set(out[0], v)
    st.set(out[1], i)


def _sort_nodes(st, x, dim, descending):
    d = _wrap(dim, x.dim())
    if x.dim() == 0:
        return st.v(x), st.const(np.array(0, np.int64))
    return st.op("TopK", st.v(x), st.sym(st.dims(x)[d]), axis=d, largest=1 if descending else 0, sorted=1,
                 outputs=2)


@reg("sort")
def _sort(st, out, a):
    v, i = _sort_nodes(st, a[0], a[1], a[2])
    st.set(out[0], v)
    st.set(out[1], i)


@reg("argsort")
def _argsort(st, out, a):
    st.set(out, _sort_nodes(st, a[0], a[1], a[2])[1])


@reg("nonzero")
def _nonzero(st, out, a):
    x = a[0]
    r = st.op("NonZero", st.v(x))
    if a.get("as_tuple"):
        for j, o in enumerate(out):
            st.set(o, st.op("Gather", r, st.const(np.array(j, np.int64)), axis=0))
        return
    st.set(out, st.op("Transpose", r, perm=[1, 0]))


@reg("roll")
def _roll(st, out, a):
    x, shifts, dims = a[0], a[1], a[2]
    xv = st.v(x)
    if dims is None:
        flat = st.op("Reshape", xv, st.ints([-1]))
        shifts, dims, xv = [shifts] if not isinstance(shifts, (list, tuple)) else shifts, [0], flat
        n = [x.numel()]
    else:
        shifts = list(shifts) if isinstance(shifts, (list, tuple)) else [shifts]
        dims = [_wrap(d, x.dim()) for d in (dims if isinstance(dims, (list, tuple)) else [dims])]
        n = [eager_shape(x)[d] for d in dims]
    if any(st.dyn(x)[d] for d in dims) and a[2] is not None:
        raise _unsupported(st, "roll", "rolling along a dynamic axis")
    for s_, d, size in zip(shifts, dims, n):
        s_ = int(s_) % size if size else 0
        if s_:
            tail = _slice(st, xv, [size - s_], [INT64_MAX], [d])
            head = _slice(st, xv, [0], [size - s_], [d])
            xv = st.op("Concat", tail, head, axis=d)
    if a[2] is None:
        xv = st.op("Reshape", xv, st.ints(st.dims(x)))
    st.set(out, xv)


@reg("repeat_interleave")
def _repeat_interleave(st, out, a):
    x, reps, dim = a[0], a[1], a[2]
    if _t(reps) and reps.numel() != 1:
        raise _unsupported(st, "repeat_interleave", "per-element repeats")
    r = int(reps.item()) if _t(reps) else int(reps)
    xv = st.v(x)
    if dim is None:
        xv, d, dims = st.op("Reshape", xv, st.ints([-1])), 0, [x.numel()]
    else:
        d = _wrap(dim, x.dim())
        dims = st.dims(x)
    e = unsqueeze(st, xv, [d + 1])
    e = st.op("Expand", e, st.ints([1] * (d + 1) + [r] + [1] * (len(dims) - d - 1)))
    st.set(out, st.op("Reshape", e, st.ints(list(dims[:d]) + [dims[d] * r] + list(dims[d + 1:]))))


# ---------------------------------------------------------------------------------------- softmax

def _softmax(st, out, x, dim, dtype, log, neg=False):
    xv = st.v(x)
    if dtype is not None:
        xv = cast(st, xv, x.dtype, dtype)
    if neg:
        xv = st.op("Neg", xv)
    if x.dim() == 0:
        # a 0-d softmax is 1 (log: 0)
        st.set(out, st.op("Mul", st.op("Mul", xv, st.scalar(0, out.dtype)),
                          st.scalar(0, out.dtype)) if log else st.op(
            "Add", st.op("Mul", xv, st.scalar(0, out.dtype)), st.scalar(1, out.dtype)))
        return
    st.set(out, st.op("LogSoftmax" if log else "Softmax", xv, axis=_wrap(dim, x.dim())))


@reg("softmax")
def _softmax_t(st, out, a):
    _softmax(st, out, a[0], a[1], a.get("dtype"), False)


@reg("log_softmax")
def _log_softmax_t(st, out, a):
    _softmax(st, out, a[0], a[1], a.get("dtype"), True)


def _implicit_dim(x, dim):
    if dim is not None:
        return dim
    return 0 if x.dim() in (0, 1, 3) else 1


@reg("F.softmax")
def _f_softmax(st, out, a):
    _softmax(st, out, a[0], _implicit_dim(a[0], a[1]), a.get("dtype"), False)


@reg("F.log_softmax")
def _f_log_softmax(st, out, a):
    _softmax(st, out, a[0], _implicit_dim(a[0], a[1]), a.get("dtype"), True)


@reg("F.softmin")
def _f_softmin(st, out, a):
    _softmax(st, out, a[0], _implicit_dim(a[0], a[1]), a.get("dtype"), False, neg=True)


# ---------------------------------------------------------------------------------------- activations

@reg("F.relu", "F.relu_", "relu_")
def _f_relu(st, out, a):
    st.set(out, st.op("Relu", st.v(a[0])))


def _clip_const(st, out, x, lo, hi):
    dt = out.dtype
    st.set(out, st.op("Clip", st.v(x), st.scalar(lo, dt), st.scalar(hi, dt)))


@reg("F.relu6")
def _relu6(st, out, a):
    _clip_const(st, out, a[0], 0.0, 6.0)


@reg("F.hardtanh", "F.hardtanh_")
def _hardtanh(st, out, a):
    _clip_const(st, out, a[0], a[1], a[2])


@reg("F.leaky_relu", "F.leaky_relu_")
def _leaky_relu(st, out, a):
    st.set(out, st.op("LeakyRelu", st.v(a[0]), alpha=float(a[1])))


@reg("F.elu", "F.elu_")
def _elu(st, out, a):
    st.set(out, st.op("Elu", st.v(a[0]), alpha=float(a[1])))


@reg("F.selu", "F.selu_")
def _selu(st, out, a):
    st.set(out, st.op("Selu", st.v(a[0]), alpha=1.6732632423543772, gamma=1.0507009873554805))


@reg("F.celu", "F.celu_")
def _celu(st, out, a):
    st.set(out, st.op("Celu", st.v(a[0]), alpha=float(a[1])))


@reg("F.gelu")
def _gelu(st, out, a):
    x, approx = a[0], a[1]
    xv, dt = st.v(x), out.dtype
    if st.opset >= 20:
        st.set(out, st.op("Gelu", xv, approximate=approx))
        return
    half = st.op("Mul", xv, st.scalar(0.5, dt))
    if approx == "tanh":
        cube = st.op("Mul", st.op("Mul", xv, xv), xv)
        inner = st.op("Mul", st.op("Add", xv, st.op("Mul", cube, st.scalar(0.044715, dt))),
                      st.scalar(0.7978845608028654, dt))
        t = st.op("Tanh", inner)
    else:
        t = st.op("Erf", st.op("Mul", xv, st.scalar(0.7071067811865476, dt)))
    st.set(out, st.op("Mul", half, st.op("Add", t, st.scalar(1.0, dt))))


@reg("F.silu")
def _silu(st, out, a):
    xv = st.v(a[0])
    st.set(out, st.op("Mul", xv, st.op("Sigmoid", xv)))


@reg("F.mish")
def _mish(st, out, a):
    xv = st.v(a[0])
    st.set(out, st.op("Mul", xv, st.op("Tanh", st.op("Softplus", xv))))


@reg("F.softplus")
def _softplus(st, out, a):
    x, beta, thr = a[0], float(a[1]), float(a[2])
    xv, dt = st.v(x), out.dtype
    bx = st.op("Mul", xv, st.scalar(beta, dt)) if beta != 1 else xv
    sp = st.op("Softplus", bx)
    if beta != 1:
        sp = st.op("Div", sp, st.scalar(beta, dt))
    # PyTorch returns x itself above the threshold
    st.set(out, st.op("Where", st.op("Greater", bx, st.scalar(thr, dt)), xv, sp))


@reg("F.hardsigmoid")
def _hardsigmoid(st, out, a):
    st.set(out, st.op("HardSigmoid", st.v(a[0]), alpha=1.0 / 6, beta=0.5))


@reg("F.hardswish")
def _hardswish(st, out, a):
    st.set(out, st.op("HardSwish", st.v(a[0])))


@reg("F.logsigmoid")
def _logsigmoid(st, out, a):
    st.set(out, st.op("Neg", st.op("Softplus", st.op("Neg", st.v(a[0])))))


@reg("F.tanhshrink")
def _tanhshrink(st, out, a):
    xv = st.v(a[0])
    st.set(out, st.op("Sub", xv, st.op("Tanh", xv)))


@reg("F.hardshrink")
def _hardshrink(st, out, a):
    st.set(out, st.op("Shrink", st.v(a[0]), lambd=float(a[1]), bias=0.0))


@reg("F.softshrink")
def _softshrink(st, out, a):
    st.set(out, st.op("Shrink", st.v(a[0]), lambd=float(a[1]), bias=float(a[1])))


@reg("F.threshold", "F.threshold_")
def _threshold(st, out, a):
    x, thr, val = a[0], a[1], a[2]
    xv, dt = st.v(x), out.dtype
    st.set(out, st.op("Where", st.op("Greater", xv, st.scalar(thr, dt)), xv, st.scalar(val, dt)))


@reg("F.glu")
def _glu(st, out, a):
    x, dim = a[0], a[1]
    d = _wrap(dim, x.dim())
    h = eager_shape(x)[d] // 2
    p, q = st.op("Split", st.v(x), st.ints([h, h]), axis=d, outputs=2)
    st.set(out, st.op("Mul", p, st.op("Sigmoid", q)))


@reg("F.prelu")
def _prelu(st, out, a):
    x, w = a[0], a[1]
    wv = st.v(w)
    if x.dim() >= 2 and w.numel() > 1:
        wv = st.op("Reshape", wv, st.ints([-1] + [1] * (x.dim() - 2)))
    st.set(out, st.op("PRelu", st.v(x), wv))


def _dropout_conv(train_arg):
    def conv(st, out, a):
        x, p = a[0], a[1]
        train = a.get(train_arg, True)
        if train and p > 0:
            raise _unsupported(st, "dropout", "dropout in training mode is random; export the model in eval mode")
        identity(st, out, x)
    return conv


for _n in ("F.dropout", "F.dropout1d", "F.dropout2d", "F.dropout3d", "F.alpha_dropout", "F.feature_alpha_dropout"):
    reg(_n)(_dropout_conv("training"))
reg("dropout", "dropout_", "alpha_dropout", "feature_dropout")(_dropout_conv("train"))


# ---------------------------------------------------------------------------------------- normalization

@reg("F.layer_norm")
def _layer_norm(st, out, a):
    x, ns, w, b, eps = a[0], a[1], a[2], a[3], float(a[4])
    k = 1 if isinstance(ns, numbers.Integral) else len(ns)
    dt = out.dtype
    xv = st.v(x)
    if st.opset >= 17:
        wv = st.v(w) if w is not None else st.const(np.ones(eager_shape(x)[-k:], np_dtype(dt)))
        st.set(out, st.op("LayerNormalization", xv, wv, None if b is None else st.v(b), axis=-k, epsilon=eps))
        return
    axes = list(range(x.dim() - k, x.dim()))
    mean = reduce(st, "ReduceMean", xv, axes, True)
    d = st.op("Sub", xv, mean)
    var = reduce(st, "ReduceMean", st.op("Mul", d, d), axes, True)
    r = st.op("Div", d, st.op("Sqrt", st.op("Add", var, st.scalar(eps, dt))))
    if w is not None:
        r = st.op("Mul", r, st.v(w))
    if b is not None:
        r = st.op("Add", r, st.v(b))
    st.set(out, r)


@reg("F.rms_norm")
def _rms_norm(st, out, a):
    x, ns, w, eps = a[0], a[1], a[2], a[3]
    k = 1 if isinstance(ns, numbers.Integral) else len(ns)
    dt = out.dtype
    if eps is None:
        eps = torch.finfo(dt).eps
    xv = st.v(x)
    axes = list(range(x.dim() - k, x.dim()))
    ms = reduce(st, "ReduceMean", st.op("Mul", xv, xv), axes, True)
    r = st.op("Mul", xv, st.op("Reciprocal", st.op("Sqrt", st.op("Add", ms, st.scalar(eps, dt)))))
    if w is not None:
        r = st.op("Mul", r, st.v(w))
    st.set(out, r)


def _channel(st, x, t, dt, fill):
    c = eager_shape(x)[1]
    return st.v(t) if t is not None else st.const(np.full([c], fill, np_dtype(dt)))


@reg("F.batch_norm")
def _batch_norm(st, out, a):
    x, rm, rv, w, b, training, eps = a[0], a[1], a[2], a[3], a[4], a[5], float(a[7])
    if training or rm is None or rv is None:
        raise _unsupported(st, "batch_norm", "batch statistics (training mode); export the model in eval mode")
    dt = out.dtype
    xv = st.v(x)
    if x.dim() == 2:
        xv = unsqueeze(st, xv, [2])
    r = st.op("BatchNormalization", xv, _channel(st, x, w, dt, 1.0), _channel(st, x, b, dt, 0.0), st.v(rm), st.v(rv),
              epsilon=eps)
    if x.dim() == 2:
        r = squeeze(st, r, [2])
    st.set(out, r)


@reg("F.instance_norm")
def _instance_norm(st, out, a):
    x, rm, rv, w, b, use_input_stats, eps = a[0], a[1], a[2], a[3], a[4], a[5], float(a[7])
    if not use_input_stats and rm is not None and rv is not None:
        raise _unsupported(st, "instance_norm", "running statistics")
    dt = out.dtype
    st.set(out, st.op("InstanceNormalization", st.v(x), _channel(st, x, w, dt, 1.0), _channel(st, x, b, dt, 0.0),
                      epsilon=eps))


@reg("F.group_norm")
def _group_norm(st, out, a):
    x, g, w, b, eps = a[0], int(a[1]), a[2], a[3], float(a[4])
    dt = out.dtype
    dims = st.dims(x)
    xv = st.v(x)
    y = st.op("Reshape", xv, st.ints([dims[0], g, -1]) if isinstance(dims[0], SymInt) else st.ints([0, g, -1]))
    mean = reduce(st, "ReduceMean", y, [2], True)
    d = st.op("Sub", y, mean)
    var = reduce(st, "ReduceMean", st.op("Mul", d, d), [2], True)
    y = st.op("Div", d, st.op("Sqrt", st.op("Add", var, st.scalar(eps, dt))))
    r = st.op("Reshape", y, st.op("Shape", xv))
    view = st.ints([-1] + [1] * (x.dim() - 2))
    if w is not None:
        r = st.op("Mul", r, st.op("Reshape", st.v(w), view))
    if b is not None:
        r = st.op("Add", r, st.op("Reshape", st.v(b), view))
    st.set(out, r)


@reg("F.normalize")
def _normalize(st, out, a):
    x, p, dim, eps = a[0], a[1], a[2], float(a[3])
    dt = out.dtype
    xv = st.v(x)
    d = [_wrap(dim, x.dim())]
    if p in (2, 2.0):
        n = reduce(st, "ReduceL2", xv, d, True)
    elif p in (1, 1.0):
        n = reduce(st, "ReduceL1", xv, d, True)
    else:
        s = reduce(st, "ReduceSum", st.op("Pow", st.op("Abs", xv), st.scalar(p, dt)), d, True)
        n = st.op("Pow", s, st.scalar(1.0 / p, dt))
    st.set(out, st.op("Div", xv, st.op("Max", n, st.scalar(eps, dt))))


@reg("F.cosine_similarity")
def _cosine_similarity(st, out, a):
    x1, x2, dim, eps = a[0], a[1], a[2], float(a[3])
    dt = out.dtype
    v1, v2 = cast(st, st.v(x1), x1.dtype, dt), cast(st, st.v(x2), x2.dtype, dt)
    n = max(x1.dim(), x2.dim())
    d = [_wrap(dim, n)]
    e = st.scalar(eps, dt)
    n1 = st.op("Max", reduce(st, "ReduceL2", v1, d if x1.dim() == n else [d[0] - n + x1.dim()], True), e)
    n2 = st.op("Max", reduce(st, "ReduceL2", v2, d if x2.dim() == n else [d[0] - n + x2.dim()], True), e)
    st.set(out, reduce(st, "ReduceSum", st.op("Mul", st.op("Div", v1, n1), st.op("Div", v2, n2)), d, False))


@reg("F.pairwise_distance")
def _pairwise_distance(st, out, a):
    x1, x2, p, eps, keep = a[0], a[1], a[2], a[3], bool(a[4])
    dt = out.dtype
    diff = st.op("Add", st.op("Sub", st.v(x1), st.v(x2)), st.scalar(eps, dt))
    d = [max(x1.dim(), x2.dim()) - 1]
    if p in (2, 2.0):
        r = reduce(st, "ReduceL2", diff, d, keep)
    elif p in (1, 1.0):
        r = reduce(st, "ReduceL1", diff, d, keep)
    else:
        s = reduce(st, "ReduceSum", st.op("Pow", st.op("Abs", diff), st.scalar(p, dt)), d, keep)
        r = st.op("Pow", s, st.scalar(1.0 / p, dt))
    st.set(out, r)


# ---------------------------------------------------------------------------------------- conv / pool

def _tuple(v, n):
    if isinstance(v, (list, tuple)):
        v = list(v)
        return v * n if len(v) == 1 else v
    return [int(v)] * n


def _batched(st, x, nd):
    """(name, unbatched): conv/pool kernels need a batch dim."""
    xv = st.v(x)
    if x.dim() == nd + 1:
        return unsqueeze(st, xv, [0]), True
    return xv, False


def _conv(nd):
    def conv(st, out, a):
        x, w, b, stride, padding, dilation, groups = (a[i] for i in range(7))
        k = list(eager_shape(w)[2:])
        s, d = _tuple(stride, nd), _tuple(dilation, nd)
        if isinstance(padding, str):
            if padding == "valid":
                pads = [0] * (2 * nd)
            else:  # same: PyTorch puts the odd extra pad at the end
                tot = [d[i] * (k[i] - 1) for i in range(nd)]
                pads = [t // 2 for t in tot] + [t - t // 2 for t in tot]
        else:
            p = _tuple(padding, nd)
            pads = p + p
        xv, unb = _batched(st, x, nd)
        r = st.op("Conv", xv, st.v(w), None if b is None else st.v(b), kernel_shape=k, strides=s, pads=pads,
                  dilations=d, group=int(groups))
        st.set(out, squeeze(st, r, [0]) if unb else r)
    return conv


for _i in (1, 2, 3):
    reg(f"F.conv{_i}d")(_conv(_i))


def _conv_t(nd):
    def conv(st, out, a):
        x, w, b, stride, padding, output_padding, groups, dilation = (a[i] for i in range(8))
        k = list(eager_shape(w)[2:])
        p = _tuple(padding, nd)
        xv, unb = _batched(st, x, nd)
        r = st.op("ConvTranspose", xv, st.v(w), None if b is None else st.v(b), kernel_shape=k,
                  strides=_tuple(stride, nd), pads=p + p, output_padding=_tuple(output_padding, nd),
                  dilations=_tuple(dilation, nd), group=int(groups))
        st.set(out, squeeze(st, r, [0]) if unb else r)
    return conv


for _i in (1, 2, 3):
    reg(f"F.conv_transpose{_i}d")(_conv_t(_i))


def _check_pool_shape(st, x, out, k, s, p, d, ceil, nd, name):
    """ONNX and PyTorch size ceil-mode pools differently when the last window would start in the
    padding; such a pool is refused rather than exported with another output size."""
    if not ceil:
        return
    sp = eager_shape(x)[-nd:]
    got = [-(-(sp[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i]) + 1 for i in range(nd)]
    if list(got) != list(eager_shape(out)[-nd:]):
        raise _unsupported(st, name, "ceil_mode with a last window starting in the padding")


def _max_pool(nd):
    def conv(st, out, a):
        x, ks, stride, padding, dilation, ceil, ret_idx = (a[i] for i in range(7))
        if ret_idx:
            raise _unsupported(st, f"max_pool{nd}d_with_indices", "return_indices=True")
        k = _tuple(ks, nd)
        s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else _tuple(stride, nd)
        p, d = _tuple(padding, nd), _tuple(dilation, nd)
        _check_pool_shape(st, x, out, k, s, p, d, ceil, nd, f"max_pool{nd}d")
        xv, unb = _batched(st, x, nd)
        r = st.op("MaxPool", xv, kernel_shape=k, strides=s, pads=p + p, dilations=d, ceil_mode=1 if ceil else 0)
        st.set(out, squeeze(st, r, [0]) if unb else r)
    return conv


for _i in (1, 2, 3):
    reg(f"F.max_pool{_i}d")(_max_pool(_i))


def _avg_pool(nd):
    def conv(st, out, a):
        x, ks, stride, padding, ceil, cip = (a[i] for i in range(6))
        if a.get("divisor_override") is not None:
            raise _unsupported(st, f"avg_pool{nd}d", "divisor_override")
        k = _tuple(ks, nd)
        s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else _tuple(stride, nd)
        p = _tuple(padding, nd)
        _check_pool_shape(st, x, out, k, s, p, [1] * nd, ceil, nd, f"avg_pool{nd}d")
        xv, unb = _batched(st, x, nd)
        r = st.op("AveragePool", xv, kernel_shape=k, strides=s, pads=p + p, ceil_mode=1 if ceil else 0,
                  count_include_pad=1 if cip else 0)
        st.set(out, squeeze(st, r, [0]) if unb else r)
    return conv


for _i in (1, 2, 3):
    reg(f"F.avg_pool{_i}d")(_avg_pool(_i))


def _adaptive(nd, is_max):
    def conv(st, out, a):
        x = a[0]
        if is_max and a.get("return_indices"):
            raise _unsupported(st, f"adaptive_max_pool{nd}d", "return_indices=True")
        xv, unb = _batched(st, x, nd)
        sp = eager_shape(x)[-nd:]
        o = eager_shape(out)[-nd:]
        dyn = st.dyn(x)[-nd:]
        if all(v == 1 for v in o):
            r = st.op("GlobalMaxPool" if is_max else "GlobalAveragePool", xv)
        elif not any(dyn) and all(sp[i] % o[i] == 0 for i in range(nd)):
            k = [sp[i] // o[i] for i in range(nd)]
            r = st.op("MaxPool" if is_max else "AveragePool", xv, kernel_shape=k, strides=k)
        else:
            raise _unsupported(st, f"adaptive_{'max' if is_max else 'avg'}_pool{nd}d",
                               "output size must divide the input size (or be 1)")
        st.set(out, squeeze(st, r, [0]) if unb else r)
    return conv


for _i in (1, 2, 3):
    reg(f"F.adaptive_avg_pool{_i}d")(_adaptive(_i, False))
    reg(f"F.adaptive_max_pool{_i}d")(_adaptive(_i, True))


@reg("F.pad")
def _pad(st, out, a):
    x, pad, mode, value = a[0], list(a[1]), a[2], a[3]
    n = x.dim()
    m = len(pad) // 2
    begins, ends = [0] * n, [0] * n
    for i in range(m):
        begins[n - 1 - i], ends[n - 1 - i] = pad[2 * i], pad[2 * i + 1]
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    if mode not in modes or (mode == "circular" and st.opset < 19):
        raise _unsupported(st, "pad", f"mode={mode!r}")
    xv = st.v(x)
    if mode == "constant":
        r = st.op("Pad", xv, st.ints(begins + ends), operand(st, 0 if value is None else value, out.dtype),
                  mode="constant")
    else:
        r = st.op("Pad", xv, st.ints(begins + ends), mode=modes[mode])
    st.set(out, r)


@reg("F.embedding")
def _embedding(st, out, a):
    idx, w = a[0], a[1]
    if a.get("max_norm") is not None:
        raise _unsupported(st, "embedding_renorm", "max_norm")
    st.set(out, st.op("Gather", st.v(w), st.v(idx), axis=0))


@reg("F.one_hot")
def _one_hot(st, out, a):
    x = a[0]
    depth = eager_shape(out)[-1]
    r = st.op("OneHot", st.v(x), st.const(np.array(depth, np.int64)), st.const(np.array([0, 1], np.int64)), axis=-1)
    st.set(out, r)


@reg("F.pixel_shuffle")
def _pixel_shuffle(st, out, a):
    x, r = a[0], int(a[1])
    if x.dim() != 4:
        raise _unsupported(st, "pixel_shuffle", "only 4-D inputs")
    st.set(out, st.op("DepthToSpace", st.v(x), blocksize=r, mode="CRD"))


@reg("F.interpolate", "F.upsample")
def _interpolate(st, out, a):
    x, size, scale, mode, align = a[0], a[1], a[2], a[3], a[4]
    if a.get("antialias"):
        raise _unsupported(st, "upsample", "antialias=True")
    nd = x.dim() - 2
    xv = st.v(x)
    modes = {"nearest": "nearest", "linear": "linear", "bilinear": "linear", "trilinear": "linear",
             "bicubic": "cubic", "nearest-exact": "nearest"}
    if mode not in modes:
        raise _unsupported(st, "upsample", f"mode={mode!r}")
    kw = dict(mode=modes[mode])
    if mode == "nearest":
        kw.update(coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    elif mode == "nearest-exact":
        kw.update(coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_ceil")
    else:
        kw.update(coordinate_transformation_mode="align_corners" if align else "pytorch_half_pixel")
        if mode == "bicubic":
            kw.update(cubic_coeff_a=-0.75)
    rec = a.get("recompute_scale_factor")
    if size is None and scale is not None and not rec:
        sc = [float(v) for v in scale] if isinstance(scale, (list, tuple)) else [float(scale)] * nd
        scales = st.const(np.array([1.0, 1.0] + sc, np.float32))
        r = st.op("Resize", xv, None, scales, **kw)
    else:
        if size is None and any(st.dyn(x)[2:]):
            raise _unsupported(st, "upsample", "recompute_scale_factor with dynamic spatial axes")
        sizes = list(st.dims(x)[:2]) + list(eager_shape(out)[2:])
        r = st.op("Resize", xv, None, None, st.ints(sizes), **kw)
    st.set(out, r)


# ---------------------------------------------------------------------------------------- attention

def _causal(st, L, S):
    if not isinstance(L, SymInt) and not isinstance(S, SymInt):
        return st.const(np.tril(np.ones((int(L), int(S)), dtype=bool)))
    ones = st.op("ConstantOfShape", st.ints([L, S]), value=_value_attr(True, torch.bool))
    return st.op("Trilu", ones, upper=0)


def _value_attr(v, dtype):
    from onnx import numpy_helper
    return numpy_helper.from_array(np.array([v], dtype=np_dtype(dtype)))


@reg("F.scaled_dot_product_attention")
def _sdpa(st, out, a):
    q, k, v, mask, p, causal, scale = (a[i] for i in range(7))
    if p and p > 0:
        raise _unsupported(st, "scaled_dot_product_attention", "dropout_p > 0")
    if a.get("enable_gqa") and eager_shape(q)[-3] != eager_shape(k)[-3]:
        raise _unsupported(st, "scaled_dot_product_attention", "enable_gqa with grouped heads")
    dt = out.dtype
    E = eager_shape(q)[-1]
    sf = (1.0 / math.sqrt(E) if E > 0 else 1.0) if scale is None else scale
    kt = st.op("Transpose", st.v(k), perm=list(range(k.dim() - 2)) + [k.dim() - 1, k.dim() - 2])
    s = st.op("Mul", st.op("MatMul", st.v(q), kt), st.scalar(sf, dt))
    masked = False
    if causal:
        L, S = st.dims(q)[-2], st.dims(k)[-2]
        s = st.op("Where", _causal(st, L, S), s, st.scalar(-math.inf, dt))
        masked = True
    if mask is not None:
        if mask.dtype == torch.bool:
            s = st.op("Where", st.v(mask), s, st.scalar(-math.inf, dt))
        else:
            s = st.op("Add", s, cast(st, st.v(mask), mask.dtype, dt))
        masked = True
    w = st.op("Softmax", s, axis=-1)
    if masked:
        # a row with every key masked attends to nothing (PyTorch's safe softmax gives zeros)
        live = st.op("Not", st.op("Equal", s, st.scalar(-math.inf, dt)))
        any_live = reduce(st, "ReduceMax", st.op("Cast", live, to=onnx_type(torch.int32)), [-1], True)
        dead = st.op("Equal", any_live, st.const(np.array(0, np.int32)))
        w = st.op("Where", dead, st.scalar(0.0, dt), w)
    st.set(out, st.op("MatMul", w, st.v(v)))


def _lin(st, x, w, b):
    r = st.op("MatMul", x, st.op("Transpose", w, perm=[1, 0]))
    return r if b is None else st.op("Add", r, b)


def _mha_accepts(st, a):
    return (a["bias_k"] is None and a["bias_v"] is None and not a["add_zero_attn"] and a["static_k"] is None
            and a["static_v"] is None)


def _float_mask(st, m, dt):
    """MHA's canonical mask: a bool mask is -inf where True, a float mask is added as is."""
    if m.dtype == torch.bool:
        return st.op("Where", st.v(m), st.scalar(-math.inf, dt), st.scalar(0.0, dt))
    return cast(st, st.v(m), m.dtype, dt)


@reg("F.multi_head_attention_forward")
def _mha(st, out, a):
    """nn.MultiheadAttention's math in (L, N*H, hd) layout, reshaped with ONNX's 0/-1 codes so
    batch and sequence lengths stay dynamic."""
    query, key, value = a["query"], a["key"], a["value"]
    H, E = int(a["num_heads"]), int(a["embed_dim_to_check"])
    hd = E // H
    dt = out[0].dtype
    if a["training"] and a["dropout_p"] > 0:
        raise _unsupported(st, "multi_head_attention_forward", "attention dropout in training mode")
    batched = query.dim() == 3
    qv, kv_, vv = st.v(query), st.v(key), st.v(value)
    if not batched:
        qv, kv_, vv = (unsqueeze(st, n, [1]) for n in (qv, kv_, vv))
    if a["use_separate_proj_weight"]:
        ws = [st.v(a["q_proj_weight"]), st.v(a["k_proj_weight"]), st.v(a["v_proj_weight"])]
    else:
        ws = None
    b = a["in_proj_bias"]
    bs = st.op("Split", st.v(b), st.ints([E, E, E]), axis=0, outputs=3) if b is not None else [None] * 3
    if ws is None and query is key and key is value:
        proj = _lin(st, qv, st.v(a["in_proj_weight"]), None if b is None else st.v(b))
        q, k, v = st.op("Split", proj, st.ints([E, E, E]), axis=-1, outputs=3)
    else:
        if ws is None:
            ws = st.op("Split", st.v(a["in_proj_weight"]), st.ints([E, E, E]), axis=0, outputs=3)
        q, k, v = (_lin(st, x, w, bb) for x, w, bb in zip((qv, kv_, vv), ws, bs))
    # (L, N, E) -> (N*H, L, hd)
    q, k, v = (st.op("Transpose", st.op("Reshape", t, st.ints([0, -1, hd])), perm=[1, 0, 2]) for t in (q, k, v))
    mask = a["attn_mask"]
    kpm = a["key_padding_mask"]
    need = a["need_weights"]
    causal = bool(a["is_causal"]) and kpm is None and not need
    m = None
    if mask is not None and not causal:
        m = _float_mask(st, mask, dt)
        if mask.dim() == 2:
            m = unsqueeze(st, m, [0])
    if kpm is not None:
        p = _float_mask(st, kpm, dt)
        if not batched:
            p = unsqueeze(st, p, [0])
        # (N, S) -> (N, H, S) -> (N*H, 1, S)
        p = st.op("Expand", unsqueeze(st, p, [1]), st.ints([1, H, 1]))
        p = st.op("Reshape", p, st.ints([-1, 1, 0]))
        m = p if m is None else st.op("Add", m, p)
    kt = st.op("Transpose", k, perm=[0, 2, 1])
    if need:
        s = st.op("MatMul", st.op("Mul", q, st.scalar(math.sqrt(1.0 / hd), dt)), kt)
        if m is not None:
            s = st.op("Add", m, s)
        w = st.op("Softmax", s, axis=-1)
    else:
        s = st.op("Mul", st.op("MatMul", q, kt), st.scalar(1.0 / math.sqrt(hd), dt))
        if causal:
            L, S = st.dims(query)[0], st.dims(key)[0]
            s = st.op("Where", _causal(st, L, S), s, st.scalar(-math.inf, dt))
        elif m is not None:
            s = st.op("Add", s, m)
        w = st.op("Softmax", s, axis=-1)
        if causal or m is not None:
            live = st.op("Not", st.op("Equal", s, st.scalar(-math.inf, dt)))
            any_live = reduce(st, "ReduceMax", st.op("Cast", live, to=onnx_type(torch.int32)), [-1], True)
            w = st.op("Where", st.op("Equal", any_live, st.const(np.array(0, np.int32))), st.scalar(0.0, dt), w)
    o = st.op("MatMul", w, v)  # (N*H, L, hd)
    o = st.op("Reshape", st.op("Transpose", o, perm=[1, 0, 2]), st.ints([0, -1, E]))  # (L, N, E)
    ob = a["out_proj_bias"]
    o = _lin(st, o, st.v(a["out_proj_weight"]), None if ob is None else st.v(ob))
    if not batched:
        o = squeeze(st, o, [1])
    st.set(out[0], o)
    if need:
        L, S = st.dims(query)[0], st.dims(key)[0]
        ww = st.op("Reshape", w, st.ints([-1, H, L, S]))
        if a["average_attn_weights"]:
            ww = reduce(st, "ReduceMean", ww, [1], False)
        if not batched:
            ww = squeeze(st, ww, [0])
        st.set(out[1], ww)


_mha.accepts = _mha_accepts


# ---------------------------------------------------------------------------------------- shapes

def _reshape_to(st, out, x, target):
    """Reshape `x` to `target` (ints/SymInts/-1). A SymInt that is x's own dim at the same
    position becomes ONNX's 0 (copy the input dim), which needs no Shape node."""
    target = list(target)
    dims_in = st.dims(x)
    literal_zero = any((not isinstance(t, SymInt)) and int(t) == 0 for t in target)
    spec = []
    for j, t in enumerate(target):
        if (isinstance(t, SymInt) and not literal_zero and j < len(dims_in) and dims_in[j] is t):
            spec.append(0)
        else:
            spec.append(t)
    r = st.op("Reshape", st.v(x), st.ints(spec), allowzero=1 if literal_zero else None)
    if st.dynamic:
        out_shape = eager_shape(out)
        anydyn = any(st.dyn(x))
        dims = [None if isinstance(t, SymInt) or (int(t) == -1 and anydyn) else out_shape[j]
                for j, t in enumerate(target)]
        _set_dims(st, r, out.dtype, dims)
    st.set(out, r)


@reg("view", "reshape")
def _view(st, out, a):
    x = a[0]
    shape = _seq(a[1])
    if len(shape) == 1 and isinstance(shape[0], torch.dtype):
        raise _unsupported(st, "view", "view(dtype)")
    _reshape_to(st, out, x, shape)


@reg("view_as", "reshape_as")
def _view_as(st, out, a):
    x, other = a[0], a[1]
    if st.is_traced(other) and any(st.dyn(other)):
        r = st.op("Reshape", st.v(x), st.op("Shape", st.v(other)))
        st.set(out, r)
        return
    _reshape_to(st, out, x, eager_shape(other))


@reg("flatten")
def _flatten(st, out, a):
    x, s, e = a[0], a[1], a[2]
    n = x.dim()
    if n == 0:
        _reshape_to(st, out, x, [1])
        return
    s, e = _wrap(s, n), _wrap(e, n)
    if s == e:
        identity(st, out, x)
        return
    if e == n - 1 and s == 1:
        st.set(out, st.op("Flatten", st.v(x), axis=1))
        if st.dynamic:
            _set_dims(st, st.vals[id(out)][1], out.dtype,
                      [None if st.dyn(x)[0] else eager_shape(out)[0],
                       None if any(st.dyn(x)[1:]) else eager_shape(out)[1]])
        return
    dims = st.dims(x)
    _reshape_to(st, out, x, dims[:s] + [-1] + dims[e + 1:])


@reg("unflatten")
def _unflatten(st, out, a):
    x, dim, sizes = a[0], a[1], list(a[2])
    d = _wrap(dim, x.dim())
    dims = st.dims(x)
    _reshape_to(st, out, x, dims[:d] + sizes + dims[d + 1:])


@reg("squeeze", "squeeze_")
def _squeeze(st, out, a):
    x, dim = a[0], a[1]
    shp = eager_shape(x)
    n = x.dim()
    cand = range(n) if dim is None else [_wrap(d, n) for d in (dim if isinstance(dim, (list, tuple)) else [dim])]
    axes = sorted({d for d in cand if n and shp[d] == 1})
    if not axes:
        if out is x:
            return
        identity(st, out, x)
        return
    st.set(out, squeeze(st, st.v(x), axes))


@reg("unsqueeze", "unsqueeze_")
def _unsqueeze(st, out, a):
    x, dim = a[0], a[1]
    st.set(out, unsqueeze(st, st.v(x), [_wrap(dim, x.dim() + 1)]))


def _transpose_to(st, out, x, perm):
    if list(perm) == list(range(len(perm))):
        identity(st, out, x)
        return
    st.set(out, st.op("Transpose", st.v(x), perm=[int(p) for p in perm]))


@reg("permute")
def _permute(st, out, a):
    x = a[0]
    _transpose_to(st, out, x, [_wrap(d, x.dim()) for d in _seq(a[1])])


@reg("transpose", "transpose_", "swapaxes", "swapaxes_", "swapdims", "swapdims_")
def _transpose(st, out, a):
    x = a[0]
    n = x.dim()
    perm = list(range(n))
    if n:
        i, j = _wrap(a[1], n), _wrap(a[2], n)
        perm[i], perm[j] = perm[j], perm[i]
    _transpose_to(st, out, x, perm)


@reg("t", "t_", "H")
def _t_conv(st, out, a):
    x = a[0]
    _transpose_to(st, out, x, [1, 0] if x.dim() == 2 else list(range(x.dim())))


@reg("T")
def _T(st, out, a):
    x = a[0]
    _transpose_to(st, out, x, list(range(x.dim()))[::-1])


@reg("mT", "mH")
def _mT(st, out, a):
    x = a[0]
    n = x.dim()
    perm = list(range(n))
    if n >= 2:
        perm[-1], perm[-2] = perm[-2], perm[-1]
    _transpose_to(st, out, x, perm)


@reg("movedim", "moveaxis")
def _movedim(st, out, a):
    x, src, dst = a[0], a[1], a[2]
    n = x.dim()
    src = [_wrap(s, n) for s in (src if isinstance(src, (list, tuple)) else [src])]
    dst = [_wrap(d, n) for d in (dst if isinstance(dst, (list, tuple)) else [dst])]
    perm = [None] * n
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(i for i in range(n) if i not in src)
    _transpose_to(st, out, x, [p if p is not None else next(rest) for p in perm])


def _expand_to(st, out, x, sizes):
    xs = eager_shape(x)
    off = len(sizes) - len(xs)
    spec = []
    for j, s in enumerate(sizes):
        jx = j - off
        if isinstance(s, SymInt):
            spec.append(s)
        elif int(s) == -1 or (jx >= 0 and xs[jx] == int(s)):
            spec.append(1)  # Expand keeps the input's (possibly dynamic) dim for 1
        else:
            spec.append(int(s))
    r = st.op("Expand", st.v(x), st.ints(spec))
    if st.dynamic:
        dx = st.dyn(x)
        osh = eager_shape(out)
        dims = []
        for j, s in enumerate(spec):
            jx = j - off
            dyn = isinstance(s, SymInt) or (s == 1 and jx >= 0 and dx[jx])
            dims.append(None if dyn else osh[j])
        _set_dims(st, r, out.dtype, dims)
    st.set(out, r)


@reg("expand")
def _expand(st, out, a):
    _expand_to(st, out, a[0], _seq(a[1]))


@reg("expand_as")
def _expand_as(st, out, a):
    x, other = a[0], a[1]
    _expand_to(st, out, x, st.dims(other))


@reg("broadcast_to")
def _broadcast_to(st, out, a):
    _expand_to(st, out, a[0], list(a[1]))


@reg("repeat", "tile")
def _repeat(st, out, a):
    x = a[0]
    reps = a[1]
    reps = _seq(reps) if isinstance(reps, (list, tuple)) else [reps]
    n = x.dim()
    xv = st.v(x)
    if len(reps) < n:  # tile: leading ones
        reps = [1] * (n - len(reps)) + reps
    if len(reps) > n:
        xv = unsqueeze(st, xv, list(range(len(reps) - n)))
    st.set(out, st.op("Tile", xv, st.ints(reps)))


@reg("cat", "concat", "concatenate")
def _cat(st, out, a):
    ts = [t for t in a[0] if not (t.dim() == 1 and t.numel() == 0 and out.dim() != 1)]
    d = _wrap(a[1], out.dim())
    names = [cast(st, st.v(t), t.dtype, out.dtype) for t in ts]
    st.set(out, names[0] if len(names) == 1 else st.op("Concat", *names, axis=d))


@reg("stack")
def _stack(st, out, a):
    ts = list(a[0])
    d = _wrap(a[1], out.dim())
    names = [unsqueeze(st, cast(st, st.v(t), t.dtype, out.dtype), [d]) for t in ts]
    st.set(out, names[0] if len(names) == 1 else st.op("Concat", *names, axis=d))


@reg("hstack")
def _hstack(st, out, a):
    ts = list(a[0])
    d = 0 if ts[0].dim() == 1 else 1
    names = [cast(st, st.v(t), t.dtype, out.dtype) for t in ts]
    st.set(out, st.op("Concat", *names, axis=d))


def _split_into(st, x, outs, d, squeeze_dim=False):
    if st.dyn(x)[d]:
        raise _unsupported(st, "split", "splitting along a dynamic axis")
    sizes = [eager_shape(o)[d] if not squeeze_dim else 1 for o in outs]
    xv = st.v(x)
    if len(outs) == 1:
        names = [xv]
    else:
        names = st.op("Split", xv, st.ints(sizes), axis=d, outputs=len(outs))
    for o, n in zip(outs, names):
        st.set(o, squeeze(st, n, [d]) if squeeze_dim else n)


@reg("split", "chunk", "tensor_split", "split_with_sizes")
def _split(st, out, a):
    x = a[0]
    d = _wrap(a.get("dim", 0), x.dim())
    _split_into(st, x, list(out), d)


@reg("unbind")
def _unbind(st, out, a):
    x = a[0]
    d = _wrap(a.get("dim", 0), x.dim())
    _split_into(st, x, list(out), d, squeeze_dim=True)


@reg("__iter__")
def _iter(st, out, a):
    x = a[0]
    items = list(out)
    _split_into(st, x, items, 0, squeeze_dim=True)
    return iter(items)


def _slice(st, xv, starts, ends, axes, steps=None):
    ins = [xv, st.ints(starts), st.ints(ends), st.ints(axes)]
    if steps is not None:
        ins.append(st.ints(steps))
    return st.op("Slice", *ins)


def _as_index(st, v):
    """A start/length argument that may be a 0-d tensor: its eager int (PyTorch bakes it too)."""
    if _t(v):
        return int(v.item())
    return v


@reg("narrow")
def _narrow(st, out, a):
    x, dim, start, length = a[0], a[1], _as_index(st, a[2]), _as_index(st, a[3])
    d = _wrap(dim, x.dim())
    if not isinstance(start, SymInt) and int(start) < 0:
        start = start + st.dims(x)[d]
    st.set(out, _slice(st, st.v(x), [start], [start + length], [d]))


@reg("select")
def _select(st, out, a):
    x, dim, index = a[0], a[1], a[2]
    d = _wrap(dim, x.dim())
    st.set(out, st.op("Gather", st.v(x), st.sym_scalar(index) if not _t(index) else st.v(index), axis=d))


@reg("flip")
def _flip(st, out, a):
    x = a[0]
    dims = [_wrap(d, x.dim()) for d in _seq(a[1])]
    n = len(dims)
    st.set(out, _slice(st, st.v(x), [-1] * n, [INT64_MIN] * n, dims, [-1] * n))


@reg("index_select")
def _index_select(st, out, a):
    x, dim, idx = a[0], a[1], a[2]
    iv = st.v(idx)
    if idx.dim() == 0:
        iv = unsqueeze(st, iv, [0])
    st.set(out, st.op("Gather", st.v(x), iv, axis=_wrap(dim, x.dim())))


@reg("gather")
def _gather(st, out, a):
    x, dim, idx = a[0], a[1], a[2]
    st.set(out, st.op("GatherElements", st.v(x), st.v(idx), axis=_wrap(dim, x.dim())))


@reg("__getitem__")
def _getitem(st, out, a):
    x, idx = a[0], a[1]
    items = list(idx) if isinstance(idx, tuple) else [idx]
    items = [torch.tensor(i) if isinstance(i, list) else i for i in items]
    if any(isinstance(i, bool) for i in items):
        raise _unsupported(st, "index", "a bool index")
    bool_masks = [i for i in items if _t(i) and i.dtype == torch.bool]
    n = x.dim()
    if bool_masks:
        if len(items) != 1:
            raise _unsupported(st, "index", "a bool mask combined with other indices")
        m = items[0]
        xv = st.v(x)
        if m.dim() == 1:
            r = st.op("Compress", xv, st.v(m), axis=0)
        else:
            flat = st.op("Reshape", xv, st.ints([-1] + list(st.dims(x)[m.dim():])))
            r = st.op("Compress", flat, st.op("Reshape", st.v(m), st.ints([-1])), axis=0)
        st.set(out, r)
        return
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    if Ellipsis in [i for i in items if not _t(i)]:
        k = next(j for j, i in enumerate(items) if not _t(i) and i is Ellipsis)
        items = items[:k] + [slice(None)] * (n - consumed) + items[k + 1:]
    else:
        items = items + [slice(None)] * (n - consumed)
    if len([i for i in items if i is not None]) != n:
        raise _unsupported(st, "index", "too many indices")
    if sum(1 for i in items if _t(i) and i.dim() > 0) > 1:
        raise _unsupported(st, "index", "more than one tensor index")
    xv = st.v(x)
    # 1) slices (axes keep their numbers)
    starts, ends, axes, steps = [], [], [], []
    ax = 0
    plan = []  # (axis, item) for selects / tensor indices
    for i in items:
        if i is None:
            continue
        if isinstance(i, slice):
            s0, s1, s2 = (_as_index(st, v) for v in (i.start, i.stop, i.step))
            if not (s0 in (None, 0) and s1 is None and s2 in (None, 1)):
                starts.append(0 if s0 is None else s0)
                ends.append(INT64_MAX if s1 is None else s1)
                axes.append(ax)
                steps.append(1 if s2 is None else s2)
        else:
            plan.append((ax, i))
        ax += 1
    r = _slice(st, xv, starts, ends, axes, steps) if axes else xv
    # 2) selects and tensor indices, last axis first so earlier axes keep their numbers
    for axis, i in reversed(plan):
        if _t(i):
            r = st.op("Gather", r, st.v(i), axis=axis)
        else:
            r = st.op("Gather", r, st.sym_scalar(i), axis=axis)
    # 3) new axes (None) at their output positions
    pos, new_axes = 0, []
    for i in items:
        if i is None:
            new_axes.append(pos)
            pos += 1
        elif isinstance(i, slice):
            pos += 1
        elif _t(i):
            pos += i.dim()
    if new_axes:
        r = unsqueeze(st, r, new_axes)
    if pos != out.dim():
        raise _unsupported(st, "index", "this mix of tensor and integer indices")
    st.set(out, r)


def _np_index(st, idx):
    """An index expression with constant tensors as NumPy arrays (None when it involves traced values)."""
    items = list(idx) if isinstance(idx, tuple) else [idx]
    res = []
    for i in items:
        if _t(i):
            if st.is_traced(i):
                return None
            res.append(np.asarray(i.detach()))
        elif isinstance(i, SymInt) or (isinstance(i, slice) and has_sym([i.start, i.stop, i.step])):
            return None
        else:
            res.append(i)
    return tuple(res)


@reg("__setitem__")
def _setitem(st, out, a):
    """x[idx] = value as a ScatterElements over x flattened (static shapes, constant indices)."""
    x, idx, value = a[0], a[1], a[2]
    if _t(idx) and idx.dtype == torch.bool and (not _t(value) or value.dim() == 0) and \
            eager_shape(idx) == eager_shape(x)[:idx.dim()]:
        # x[mask] = scalar: a Where, dynamic shapes welcome
        m = st.v(idx)
        if idx.dim() < x.dim():
            m = unsqueeze(st, m, list(range(idx.dim(), x.dim())))
        st.set(x, st.op("Where", m, operand(st, value, x.dtype), st.v(x)))
        return
    if any(st.dyn(x)):
        raise _unsupported(st, "index_put", "writing into a tensor with dynamic axes")
    npi = _np_index(st, idx)
    if npi is None:
        raise _unsupported(st, "index_put", "indices computed from the inputs")
    shp = eager_shape(x)
    sel = np.arange(int(np.prod(shp)), dtype=np.int64).reshape(shp)[npi]
    upd = st.op("Reshape", st.op("Expand", operand(st, value, x.dtype), st.ints(list(sel.shape))), st.ints([-1]))
    flat = st.op("Reshape", st.v(x), st.ints([-1]))
    r = st.op("ScatterElements", flat, st.const(sel.reshape(-1)), upd, axis=0)
    st.set(x, st.op("Reshape", r, st.ints(list(shp))))


@reg("copy_")
def _copy_(st, out, a):
    x, src = a[0], a[1]
    st.set(x, st.op("Expand", operand(st, src, x.dtype), st.ints(st.dims(x))))


@reg("fill_", "zero_")
def _fill_(st, out, a):
    x = a[0]
    value = a[1] if len(a) > 1 else 0
    st.set(x, st.op("Expand", operand(st, value, x.dtype), st.ints(st.dims(x))))


# ---------------------------------------------------------------------------------------- factories

def _fill(st, out, sizes, value, dtype):
    shape = st.ints(sizes)
    r = st.op("ConstantOfShape", shape, value=_value_attr(value, dtype))
    if st.dynamic:
        _set_dims(st, r, dtype, [None if isinstance(s, SymInt) else int(s) for s in sizes])
    st.set(out, r)


def _factory(value):
    def conv(st, out, a):
        sizes = _seq(a[0])
        if not has_sym(sizes):
            st.constant_result(out)
            return
        _fill(st, out, sizes, value, out.dtype)
    return conv


reg("zeros")(_factory(0))
reg("empty")(_factory(0))
reg("ones")(_factory(1))


@reg("full")
def _full(st, out, a):
    sizes, value = list(a[0]), a[1]
    if _t(value) or isinstance(value, SymInt) or not has_sym(sizes):
        if not has_sym(sizes) and not st.involved(value):
            st.constant_result(out)
            return
        raise _unsupported(st, "full", "a traced fill value")
    _fill(st, out, sizes, value, out.dtype)


def _like(value_arg):
    """zeros_like & co: a constant unless the input has dynamic dims (then ConstantOfShape(Shape(x)))."""
    def conv(st, out, a):
        x = a[0]
        value = a[1] if value_arg is None else value_arg
        if st.involved(value):
            raise _unsupported(st, "full_like", "a traced fill value")
        if not any(st.dyn(x)):
            st.constant_result(out)
            return
        st.set(out, st.op("ConstantOfShape", st.op("Shape", st.v(x)), value=_value_attr(value, out.dtype)))
    return conv


reg("zeros_like", "empty_like")(_like(0))
reg("ones_like")(_like(1))
reg("full_like")(_like(None))


def _new(value):
    def conv(st, out, a):
        sizes = _seq(a[1])
        v = a[2] if value is None else value
        if not has_sym(sizes):
            st.constant_result(out)
            return
        _fill(st, out, sizes, v, out.dtype)
    return conv


reg("new_zeros", "new_empty")(_new(0))
reg("new_ones")(_new(1))
reg("new_full")(_new(None))


@reg("new_tensor", "tensor", "as_tensor", "scalar_tensor")
def _tensor(st, out, a):
    data = a[1] if a.names and a.names[0] == "self" else a[0]
    if _t(data):
        if st.is_traced(data):
            st.set(out, cast(st, st.v(data), data.dtype, out.dtype))
        else:
            st.constant_result(out)
        return
    if isinstance(data, SymInt):
        st.set(out, cast(st, st.sym_scalar(data), torch.int64, out.dtype))
        return
    if isinstance(data, (list, tuple)) and all(isinstance(d, int) for d in data):
        st.set(out, cast(st, st.ints(data), torch.int64, out.dtype))
        return
    raise _unsupported(st, "tensor", "a tensor built from traced values")


@reg("arange")
def _arange(st, out, a):
    start, end, step = a[0], a[1], a[2]
    if end is None:
        start, end = 0, start
    dt = out.dtype
    if not has_sym([start, end, step]):
        st.constant_result(out)
        return
    r = st.op("Range", operand(st, start, dt), operand(st, end, dt), operand(st, step, dt))
    if st.dynamic:
        _set_dims(st, r, dt, [None])
    st.set(out, r)


# ---------------------------------------------------------------------------------------- modules

def _rnn_weights(mod, layer, direction, blocks):
    """ONNX W, R, B (one direction) from PyTorch's weights, gates reordered by `blocks`."""
    sfx = "_reverse" if direction else ""

    def reorder(t):
        arr = np.asarray(t.detach())
        parts = np.split(arr, len(blocks), axis=0)
        return np.concatenate([parts[i] for i in blocks], axis=0)
    w = reorder(getattr(mod, f"weight_ih_l{layer}{sfx}"))
    r = reorder(getattr(mod, f"weight_hh_l{layer}{sfx}"))
    if mod.bias:
        b = np.concatenate([reorder(getattr(mod, f"bias_ih_l{layer}{sfx}")),
                            reorder(getattr(mod, f"bias_hh_l{layer}{sfx}"))])
    else:
        b = None
    return w, r, b


def _rnn(kind):
    blocks = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN": [0]}[kind]

    def conv(st, out, a):
        mod, inp, hx = a[0], a[1], a[2]
        from ferrotorch.nn.utils.rnn import PackedSequence
        if isinstance(inp, PackedSequence):
            raise _unsupported(st, kind.lower(), "PackedSequence inputs")
        if getattr(mod, "proj_size", 0):
            raise _unsupported(st, "lstm", "proj_size > 0")
        if mod.training and mod.dropout > 0 and mod.num_layers > 1:
            raise _unsupported(st, kind.lower(), "dropout between layers in training mode")
        L, H = mod.num_layers, mod.hidden_size
        D = 2 if mod.bidirectional else 1
        prefix = st.module_names.get(id(mod), kind.lower())
        batched = inp.dim() == 3
        x = st.v(inp)
        if not batched:
            x = unsqueeze(st, x, [0 if mod.batch_first else 1])
        if mod.batch_first:
            x = st.op("Transpose", x, perm=[1, 0, 2])
        h0 = c0 = None
        if hx is not None:
            if kind == "LSTM":
                h0, c0 = st.v(hx[0]), st.v(hx[1])
            else:
                h0 = st.v(hx)
            if not batched:
                h0 = unsqueeze(st, h0, [1])
                c0 = unsqueeze(st, c0, [1]) if c0 is not None else None
        hs, cs = [], []
        dt = inp.dtype
        for layer in range(L):
            ws = [_rnn_weights(mod, layer, d, blocks) for d in range(D)]
            W = st.const(np.stack([w[0] for w in ws]).astype(np_dtype(dt)), f"{prefix}.onnx_W_l{layer}")
            R = st.const(np.stack([w[1] for w in ws]).astype(np_dtype(dt)), f"{prefix}.onnx_R_l{layer}")
            B = st.const(np.stack([w[2] for w in ws]).astype(np_dtype(dt)), f"{prefix}.onnx_B_l{layer}") \
                if mod.bias else None
            ih = _slice(st, h0, [layer * D], [(layer + 1) * D], [0]) if h0 is not None else None
            attrs = dict(hidden_size=H, direction="bidirectional" if D == 2 else "forward")
            if kind == "LSTM":
                ic = _slice(st, c0, [layer * D], [(layer + 1) * D], [0]) if c0 is not None else None
                y, yh, yc = st.op("LSTM", x, W, R, B, None, ih, ic, outputs=3, **attrs)
                cs.append(yc)
            else:
                if kind == "GRU":
                    attrs["linear_before_reset"] = 1
                else:
                    act = "Tanh" if mod.mode == "RNN_TANH" else "Relu"
                    attrs["activations"] = [act] * D
                y, yh = st.op(kind, x, W, R, B, None, ih, outputs=2, **attrs)
            hs.append(yh)
            # Y: [T, D, B, H] -> [T, B, D*H]
            if D == 1:
                x = squeeze(st, y, [1])
            else:
                x = st.op("Reshape", st.op("Transpose", y, perm=[0, 2, 1, 3]), st.ints([0, 0, -1]))
        y = x
        if mod.batch_first:
            y = st.op("Transpose", y, perm=[1, 0, 2])
        hn = hs[0] if L == 1 else st.op("Concat", *hs, axis=0)
        cn = (cs[0] if L == 1 else st.op("Concat", *cs, axis=0)) if kind == "LSTM" else None
        if not batched:
            y = squeeze(st, y, [0 if mod.batch_first else 1])
            hn = squeeze(st, hn, [1])
            cn = squeeze(st, cn, [1]) if cn is not None else None
        o, state = out
        st.set(o, y)
        if kind == "LSTM":
            st.set(state[0], hn)
            st.set(state[1], cn)
        else:
            st.set(state, hn)
    return conv


MODULE_CONV = {"LSTM": _rnn("LSTM"), "GRU": _rnn("GRU"), "RNN": _rnn("RNN")}
