"""Op table and case generator for scripts/fuzz_vs_torch.py (see its docstring).

A *case* is plain data (picklable, no torch objects) so that the same case can be built under
PyTorch and under ferrotorch:

    {"id": int, "op": display name, "call": "fn:nn.functional.pad" | "meth:add_" | "op:iadd" | "x:setitem",
     "args": [...], "kwargs": {...}, "random": bool, "post": None | name, "inplace": bool}

Tensor arguments are tuples ``("__T__", array, dtype, layout, requires_grad, shape)`` where layout is
"c" (contiguous), "t" (transposed view of a transposed copy), "s" (every other row of a larger
tensor) or "e" (array broadcast to ``shape`` with ``expand``, stride 0).  ``("__DT__", "float32")``
stands for a dtype.  Everything else (ints, floats, bools, str, None, slices, Ellipsis, lists,
tuples) is passed as is.

Each generator draws from ``G``; ``G.bad`` (50% of cases) asks it to produce a bad input (wrong
dim, wrong shape, wrong dtype, out-of-range index, ...).  Random values also produce NaN/inf,
-0.0, 1e30 and integer extremes, and some shapes are 0-size or 0-d, so the share of calls PyTorch
accepts ends up near 70%; the driver prints the measured share.
"""
import math
import random

import numpy as np

FLOATS = ["float32", "float64", "float16", "bfloat16"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
ALL = ["bool"] + INTS + FLOATS
_NP = {"bool": np.bool_, "uint8": np.uint8, "int8": np.int8, "int16": np.int16, "int32": np.int32,
       "int64": np.int64, "float16": np.float16, "bfloat16": np.float32, "float32": np.float32,
       "float64": np.float64}
SPECIAL = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e30, -1e30, 1e-30, 1e4, 88.7, -100.0, 6.0, 1.0]


def _bf16_round(a):
    """Round float32 values to bfloat16 (round-to-nearest-even) so both sides start exact."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    out = u.view(np.float32).copy()
    out[np.isnan(a)] = np.nan
    return out


def T_(arr, dtype, layout="c", grad=False, shape=None):
    return ("__T__", arr, dtype, layout, bool(grad), tuple(arr.shape) if shape is None else tuple(shape))


def is_T(x):
    return isinstance(x, tuple) and len(x) == 6 and x[0] == "__T__"


def DT(name):
    return ("__DT__", name)


class G:
    """Random source for one case; helpers return tensor specs, dims, shapes and scalars."""

    def __init__(self, seed, idx):
        self.r = random.Random(f"{seed}:{idx}")
        self.np = np.random.default_rng(self.r.getrandbits(64))
        self.bad = self.r.random() < 0.5

    # ------------------------------------------------------------ basic draws
    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq, w=None):
        return self.r.choices(seq, weights=w)[0] if w else self.r.choice(seq)

    def rint(self, a, b):
        return self.r.randint(a, b)

    def dtype(self, kind="any"):
        if self.bad and self.chance(0.15):
            kind = "any"
        if kind == "float":
            return self.pick(FLOATS, [5, 4, 1, 1])
        if kind == "float32+":
            return self.pick(["float32", "float64"], [3, 2])
        if kind == "int":
            return self.pick(INTS, [1, 1, 1, 2, 4])
        if kind == "num":
            return self.pick(INTS + FLOATS, [1, 1, 1, 1, 3, 5, 4, 1, 1])
        if kind == "intbool":
            return self.pick(["bool"] + INTS, [2, 1, 1, 1, 2, 4])
        return self.pick(ALL, [2, 1, 1, 1, 1, 3, 1, 1, 6, 4])

    def shape(self, nd=None, lo=0, hi=4, max_numel=64, zero_ok=True):
        if nd is None:
            nd = self.pick([0, 1, 2, 3, 4], [1, 3, 4, 2, 1])
            nd = max(lo, min(hi, nd))
        dims = []
        for _ in range(nd):
            if zero_ok and self.chance(0.04):
                dims.append(0)
            else:
                dims.append(self.pick([1, 2, 3, 4, 5], [2, 4, 4, 2, 1]))
        while _prod(dims) > max_numel:
            i = dims.index(max(dims))
            dims[i] = max(1, dims[i] // 2)
        return tuple(dims)

    def values(self, shape, dtype, mode=None):
        n = _prod(shape)
        g = self.np
        if dtype == "bool":
            return (g.random(n) < 0.5).reshape(shape)
        if dtype in INTS:
            info = np.iinfo(_NP[dtype])
            mode = mode or self.pick(["small", "wide", "extreme"], [8, 1, 1])
            if mode == "small":
                lo = 0 if dtype == "uint8" else -5
                v = g.integers(lo, 6, n)
            elif mode == "wide":
                v = g.integers(info.min, info.max, n, endpoint=True, dtype=np.int64 if dtype != "int64" else np.int64)
            else:
                v = np.array([self.pick([info.min, info.max, 0, 1, -1 if info.min < 0 else 2, info.max - 1])
                              for _ in range(n)], dtype=np.int64)
            return v.astype(_NP[dtype]).reshape(shape)
        mode = mode or self.pick(["normal", "ints", "unit", "special"], [5, 2, 1, 1])
        if mode == "normal":
            v = g.normal(0, 2, n)
        elif mode == "ints":
            v = g.integers(-4, 7, n).astype(np.float64)
        elif mode == "unit":
            v = g.uniform(-1, 1, n)
        elif mode == "pos":
            v = g.uniform(0.05, 3, n)
        elif mode == "unique":
            v = g.permutation(n).astype(np.float64) - n // 2 + g.uniform(-0.3, 0.3)
        else:
            v = g.normal(0, 2, n)
            for i in range(n):
                if self.chance(0.3):
                    v[i] = self.pick(SPECIAL)
        v = v.reshape(shape)
        if dtype == "bfloat16":
            return _bf16_round(v)
        with np.errstate(over="ignore"):  # 1e30 -> inf in float16 is intended
            return v.astype(_NP[dtype])

    def T(self, shape=None, dtype=None, kind="any", grad=None, layout=None, mode=None, vals=None, nd=None, **kw):
        """A tensor spec; `grad=None` means: requires grad sometimes when float32/float64."""
        if shape is None:
            shape = self.shape(nd=nd, **kw)
        shape = tuple(shape)
        if dtype is None:
            dtype = self.dtype(kind)
        if grad is None:
            grad = dtype in ("float32", "float64") and self.chance(0.35)
        grad = bool(grad) and dtype in FLOATS
        if layout is None:
            layout = self.pick(["c", "t", "s", "e"], [14, 2, 2, 1])
        if layout == "t" and len(shape) < 2:
            layout = "c"
        if layout == "s" and (len(shape) < 1 or shape[0] == 0):
            layout = "c"
        if layout == "e":
            big = [i for i, s in enumerate(shape) if s > 1]
            if not big or vals is not None:
                layout = "c"
            else:
                base = list(shape)
                for i in big:
                    if self.chance(0.6):
                        base[i] = 1
                if self.chance(0.3) and len(base) > 1:
                    base = base[1:]  # also a broadcast leading dim
                arr = vals if vals is not None else self.values(tuple(base), dtype, mode)
                return T_(arr, dtype, "e", grad, shape)
        arr = vals if vals is not None else self.values(shape, dtype, mode)
        return T_(np.asarray(arr).astype(_NP[dtype]) if dtype != "bfloat16" else _bf16_round(np.asarray(arr, dtype=np.float64)),
                  dtype, layout, grad, shape)

    def idx(self, n, shape=None, dtype="int64", neg=True):
        """Index tensor into a dim of size n (out of range / negative when bad)."""
        shape = shape if shape is not None else self.shape(hi=2, max_numel=8)
        cnt = _prod(shape)
        lo = -n if neg and self.chance(0.3) else 0
        hi = n - 1
        if n == 0:
            v = np.zeros(cnt, dtype=np.int64)
        else:
            v = self.np.integers(lo, hi + 1, cnt) if hi >= lo else np.zeros(cnt, dtype=np.int64)
        if self.bad and cnt and self.chance(0.5):
            v[self.rint(0, cnt - 1)] = self.pick([n, -n - 1, n + 3, -1 - 2 * n])
        if self.bad and self.chance(0.1):
            dtype = self.pick(["int32", "float32", "uint8", "bool"])
        return T_(v.reshape(shape).astype(_NP[dtype]), dtype, "c", False)

    def dim(self, nd):
        if self.bad and self.chance(0.3):
            return self.pick([nd, -nd - 1, nd + 2, 64]) if nd else self.pick([1, -2, 2])
        if nd == 0:
            return self.pick([0, -1])
        return self.rint(-nd, nd - 1)

    def dims(self, nd):
        """dim argument of a reduction: None, int, tuple (maybe empty, repeated, out of range)."""
        c = self.pick(["none", "int", "tuple", "empty"], [2, 5, 2, 1])
        if c == "none":
            return None
        if c == "int":
            return self.dim(nd)
        if c == "empty":
            return ()
        k = self.rint(1, max(1, nd))
        d = tuple(self.r.sample(range(-nd, nd), k)) if nd else (0,)
        if nd and self.bad and self.chance(0.3):
            d = d + (d[0] % nd,)  # duplicate
        return d

    def bshape(self, shape):
        """A shape broadcastable with `shape` (or, when bad, one that is not)."""
        s = list(shape)
        if self.bad and self.chance(0.4) and s:
            i = self.rint(0, len(s) - 1)
            s[i] = s[i] + self.rint(1, 2)
            return tuple(s)
        c = self.pick(["same", "ones", "drop", "scalar", "extra"], [5, 3, 2, 1, 1])
        if c == "ones":
            s = [1 if self.chance(0.5) else d for d in s]
        elif c == "drop" and s:
            s = s[self.rint(1, len(s)):]
        elif c == "scalar":
            s = []
        elif c == "extra" and len(s) < 4:
            s = [self.pick([1, 2])] + s
        return tuple(s)

    def scalar(self, kind="any"):
        k = self.pick(["int", "float", "bool", "special"], [4, 4, 1, 1]) if kind == "any" else kind
        if k == "int":
            return self.rint(-4, 6)
        if k == "float":
            return self.pick([0.5, -1.5, 2.5, 0.0, 3.0, -0.25, 1e-3])
        if k == "bool":
            return self.chance(0.5)
        return self.pick([math.nan, math.inf, -math.inf, -0.0, 1e30, 2 ** 63 - 1, -2 ** 63, 2 ** 31])

    # ------------------------------------------------------------ case builders
    def fn(self, path, *args, **kw):
        return {"call": "fn:" + path, "args": list(args), "kwargs": kw}

    def meth(self, name, *args, **kw):
        return {"call": "meth:" + name, "args": list(args), "kwargs": kw, "inplace": name.endswith("_")}

    def x(self, name, *args, **kw):
        return {"call": "x:" + name, "args": list(args), "kwargs": kw}

    def oper(self, name, *args):
        return {"call": "op:" + name, "args": list(args), "kwargs": {}, "inplace": name.startswith("i")}


def _has_dup(t):
    a = np.asarray(t[1]).ravel()
    return len(np.unique(a)) < a.size


def _prod(s):
    p = 1
    for d in s:
        p *= d
    return p


# ====================================================================== op table
OPS = []  # (name, weight, generator)


def op(name, w=1.0, **flags):
    def deco(f):
        OPS.append((name, w, f, flags))
        return f
    return deco


NO_INPLACE = {"fmax", "fmin", "logaddexp", "logaddexp2", "maximum", "minimum", "positive"}  # no x.name_ in torch


def pick_form(g, name, x, *rest, inplace_ok=True, **kw):
    """torch.name(x, ...), x.name(...) or x.name_(...)."""
    inplace_ok = inplace_ok and name not in NO_INPLACE
    f = g.pick(["fn", "meth", "inplace"], [5, 2, 2 if inplace_ok else 0])
    if f == "fn":
        c = g.fn(name, x, *rest, **kw)
    elif f == "meth":
        c = g.meth(name, x, *rest, **kw)
    else:
        c = g.meth(name + "_", x, *rest, **kw)
        c["op"] = name + "_"
    return c


UNARY_F = ["abs", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan",
           "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid", "erf", "erfc",
           "erfinv", "digamma", "lgamma", "reciprocal", "floor", "ceil", "trunc", "frac", "sign", "neg", "relu",
           "square", "round", "sgn", "logical_not", "deg2rad", "rad2deg", "positive"]
UNARY_PRED = ["isnan", "isinf", "isfinite", "signbit", "isposinf", "isneginf", "isreal"]


def _unary_gen(name):
    def gen(g):
        x = g.T()
        return pick_form(g, name, x, inplace_ok=name not in ("positive",))
    return gen


for _n in UNARY_F:
    op(_n)(_unary_gen(_n))


def _pred_gen(name):
    def gen(g):
        return pick_form(g, name, g.T(), inplace_ok=False)
    return gen


for _n in UNARY_PRED:
    op(_n, 0.5)(_pred_gen(_n))


@op("bitwise_not")
def _(g):
    return pick_form(g, "bitwise_not", g.T(kind="intbool"))


@op("nan_to_num")
def _(g):
    kw = {}
    if g.chance(0.5):
        kw = {"nan": g.pick([0.0, 1.5, -2.0]), "posinf": g.pick([None, 100.0, 1e30]), "neginf": g.pick([None, -7.0])}
    return pick_form(g, "nan_to_num", g.T(mode="special" if g.chance(0.6) else None), **kw)


@op("round_decimals", 0.5)
def _(g):
    c = g.fn("round", g.T(kind="float"), decimals=g.pick([1, 2, -1, 3]))
    return c


@op("polygamma", 0.3)
def _(g):
    return g.fn("polygamma", g.pick([0, 1]), g.T(kind="float32+"))


BINARY = ["add", "sub", "mul", "div", "remainder", "fmod", "pow", "maximum", "minimum", "fmax", "fmin", "atan2",
          "hypot", "copysign", "xlogy", "logaddexp", "logaddexp2", "bitwise_and", "bitwise_or", "bitwise_xor",
          "bitwise_left_shift", "bitwise_right_shift", "logical_and", "logical_or", "logical_xor", "eq", "ne",
          "lt", "le", "gt", "ge", "floor_divide", "true_divide", "float_power", "nextafter", "ldexp"]
_BITS = {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"}


def _binary_gen(name):
    def gen(g):
        kind = "intbool" if name in _BITS and not g.bad else "any"
        a = g.T(kind=kind)
        form = g.pick(["tt", "ts", "st"], [7, 3, 1])
        if form == "ts":
            b = g.scalar()
        else:
            b = g.T(shape=g.bshape(a[5]), kind=kind)
        if form == "st":
            a, b = g.scalar(), b
            return g.fn(name, a, b)
        kw = {}
        if name == "div" and g.chance(0.3):
            kw["rounding_mode"] = g.pick(["floor", "trunc", None] + (["bogus"] if g.bad else []))
        if name in ("add", "sub") and g.chance(0.2):
            kw["alpha"] = g.pick([2, 0.5, -1])
        return pick_form(g, name, a, b, **kw)
    return gen


for _n in BINARY:
    op(_n)(_binary_gen(_n))

OPERATORS = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and_", "or_", "xor", "lshift", "rshift",
             "lt", "le", "gt", "ge", "eq", "ne"]


@op("operator", 6)
def _(g):
    name = g.pick(OPERATORS)
    inplace = g.chance(0.3) and name not in ("lt", "le", "gt", "ge", "eq", "ne")
    a = g.T()
    b = g.scalar() if g.chance(0.3) else g.T(shape=g.bshape(a[5]))
    if not inplace and g.chance(0.15) and not is_T(b):
        a, b = b, a  # reflected: 2 - x
    c = g.oper(("i" + name.rstrip("_")) if inplace else name, a, b)
    c["op"] = "op." + c["call"][3:]
    return c


@op("unary_operator", 1)
def _(g):
    name = g.pick(["neg", "invert", "abs", "pos"])
    c = g.oper(name, g.T())
    c["op"] = "op." + name
    return c


@op("clamp", 3)
def _(g):
    x = g.T(kind="num")
    def bound():
        if g.chance(0.25):
            return g.T(shape=g.bshape(x[5]), kind="num")
        return g.pick([None, g.scalar("int"), g.scalar("float"), math.nan if g.chance(0.3) else 1])
    lo, hi = bound(), bound()
    name = g.pick(["clamp", "clip"])
    if g.chance(0.3) and not is_T(lo):
        return pick_form(g, g.pick(["clamp_min", "clamp_max"]), x, lo if lo is not None else 0)
    return pick_form(g, name, x, min=lo, max=hi)


@op("where", 2)
def _(g):
    x = g.T()
    cond = g.T(shape=g.bshape(x[5]), dtype="bool" if not g.bad else g.dtype())
    y = g.T(shape=g.bshape(x[5])) if g.chance(0.7) else g.scalar()
    if g.chance(0.2):
        x = g.scalar()
    if g.chance(0.1):
        return g.fn("where", cond)
    return g.fn("where", cond, x, y)


@op("isclose", 1.5)
def _(g):
    a = g.T(kind="num", mode="special" if g.chance(0.5) else None)
    b = g.T(shape=g.bshape(a[5]), dtype=a[2] if not g.bad else None, mode="special" if g.chance(0.5) else None)
    kw = {"equal_nan": g.chance(0.5)}
    if g.chance(0.3):
        kw["rtol"], kw["atol"] = g.pick([0.0, 0.1, 1e-5]), g.pick([0.0, 1.0, 1e-8])
    return g.fn(g.pick(["isclose", "isclose", "allclose"]), a, b, **kw)


@op("lerp_addc", 1.5)
def _(g):
    a = g.T(kind="float")
    b = g.T(shape=g.bshape(a[5]), dtype=a[2] if not g.bad else None)
    c = g.T(shape=g.bshape(a[5]), dtype=a[2] if not g.bad else None)
    which = g.pick(["lerp", "addcmul", "addcdiv"])
    if which == "lerp":
        return pick_form(g, "lerp", a, b, g.pick([0.5, 2.0]) if g.chance(0.6) else c)
    return pick_form(g, which, a, b, c, value=g.pick([1, 0.5, -2]))


@op("masked_fill", 2)
def _(g):
    x = g.T()
    m = g.T(shape=g.bshape(x[5]), dtype="bool" if not g.bad else g.dtype())
    v = g.scalar() if g.chance(0.8) else g.T(shape=(), dtype=g.dtype())
    return pick_form(g, "masked_fill", x, m, v)


# ---------------------------------------------------------------- reductions
@op("sum_mean_prod", 4)
def _(g):
    name = g.pick(["sum", "mean", "prod", "nansum", "nanmean"])
    x = g.T(kind="float" if name in ("mean", "nanmean") and not g.bad else "any")
    nd = len(x[5])
    d = g.dims(nd)
    kw = {}
    if g.chance(0.2):
        kw["dtype"] = DT(g.dtype())
    if name == "prod" and isinstance(d, tuple):
        d = g.dim(nd)
    if d is None:
        c = g.fn(name, x, **kw) if g.chance(0.6) else g.meth(name, x, **kw)
    else:
        c = g.fn(name, x, d, keepdim=g.chance(0.3), **kw)
    c["op"] = name
    return c


@op("amax_amin", 2)
def _(g):
    name = g.pick(["amax", "amin", "aminmax"])
    x = g.T()
    if name == "aminmax":
        kw = {"dim": g.dim(len(x[5]))} if g.chance(0.6) else {}
        return g.fn(name, x, keepdim=g.chance(0.3), **kw)
    return g.fn(name, x, g.dims(len(x[5])) or (), keepdim=g.chance(0.3))


@op("max_min", 3)
def _(g):
    name = g.pick(["max", "min"])
    x = g.T()
    f = g.pick(["all", "dim", "binary"], [3, 4, 1])
    if f == "all":
        return g.fn(name, x) if g.chance(0.5) else g.meth(name, x)
    if f == "binary":
        return g.fn(name, x, g.T(shape=g.bshape(x[5])))
    c = g.fn(name, x, g.dim(len(x[5])), keepdim=g.chance(0.3))
    return c


@op("argmax_argmin", 2)
def _(g):
    name = g.pick(["argmax", "argmin"])
    x = g.T()
    if g.chance(0.3):
        return g.fn(name, x)
    return g.fn(name, x, dim=g.dim(len(x[5])), keepdim=g.chance(0.3))


@op("all_any", 2)
def _(g):
    name = g.pick(["all", "any", "count_nonzero"])
    x = g.T()
    d = g.dims(len(x[5]))
    if name == "count_nonzero":
        return g.fn(name, x, dim=d)
    if d is None:
        return g.fn(name, x)
    return g.fn(name, x, d, keepdim=g.chance(0.3))


@op("std_var", 3)
def _(g):
    name = g.pick(["std", "var", "std_mean", "var_mean"])
    x = g.T(kind="float" if not g.bad else "any")
    d = g.dims(len(x[5]))
    if d == ():
        d = None  # PyTorch's own backward of std/var over dim=() is inf/nan (a PyTorch bug)
    kw = {}
    if g.chance(0.5):
        kw["correction"] = g.pick([0, 1, 2])
    elif g.chance(0.3):
        kw["unbiased"] = g.chance(0.5)
    return g.fn(name, x, d, keepdim=g.chance(0.3), **kw)


@op("norm", 2)
def _(g):
    x = g.T(kind="float" if not g.bad else "any", mode="special" if g.chance(0.2) else None)
    p = g.pick(["fro", 2, 1, math.inf, -math.inf, 0, 3, 0.5, "nuc"], [3, 3, 2, 1, 1, 1, 1, 1, 1])
    d = g.dims(len(x[5]))
    if p == "nuc":
        d = g.pick([None, (0, 1), (-2, -1)])
    return g.fn("norm", x, p=p, dim=d, keepdim=g.chance(0.3))


@op("logsumexp", 1.5)
def _(g):
    x = g.T(kind="float" if not g.bad else "any", mode="special" if g.chance(0.3) else None)
    return g.fn("logsumexp", x, g.dims(len(x[5])) or 0, keepdim=g.chance(0.3))


@op("median_mode", 2)
def _(g):
    name = g.pick(["median", "nanmedian", "mode", "kthvalue"])
    x = g.T(mode="unique" if g.chance(0.5) else None, kind="num")
    nd = len(x[5])
    ties = _has_dup(x) or x[3] == "e"
    post = None
    if name == "kthvalue":
        n = x[5][-1] if nd else 1
        k = g.rint(1, max(1, n)) if not g.bad else g.pick([0, n + 1, -1])
        c = g.fn(name, x, k, dim=g.dim(nd) if g.chance(0.5) else -1, keepdim=g.chance(0.3))
        post = "values"
    elif name == "mode" or g.chance(0.6):
        c = g.fn(name, x, g.dim(nd), keepdim=g.chance(0.3))
        post = "values"  # which index a tie reports is unspecified
    else:
        c = g.fn(name, x)
    c["post"] = post
    c["grad_unspecified"] = ties  # which tied element gets the gradient is unspecified
    c["value_unspecified"] = _prod(x[5]) == 0 and x[2] in INTS  # PyTorch returns garbage (INT_MIN)
    return c


@op("cumulative", 3)
def _(g):
    name = g.pick(["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"])
    x = g.T()
    kw = {}
    if name in ("cumsum", "cumprod") and g.chance(0.2):
        kw["dtype"] = DT(g.dtype())
    if name == "cumsum" and g.chance(0.2):
        c = g.meth("cumsum_", x, g.dim(len(x[5])), **kw)
        c["op"] = "cumsum_"
        return c
    return g.fn(name, x, g.dim(len(x[5])), **kw)


@op("softmax", 3)
def _(g):
    name = g.pick(["softmax", "log_softmax", "nn.functional.softmax", "nn.functional.log_softmax",
                   "nn.functional.softmin"])
    x = g.T(kind="float" if not g.bad else "any", mode="special" if g.chance(0.25) else None)
    kw = {}
    if g.chance(0.25):
        kw["dtype"] = DT(g.pick(["float32", "float64", "float16"] if not g.bad else ALL))
    return g.fn(name, x, g.dim(len(x[5])), **kw)


# ---------------------------------------------------------------- shape ops
@op("reshape_view", 3)
def _(g):
    x = g.T()
    n = _prod(x[5])
    cands = [(n,), (-1,), (1, n), (n, 1), (-1, 1)]
    for a in (2, 3, 4):
        if n and n % a == 0:
            cands += [(a, n // a), (a, -1), (-1, a)]
    s = g.pick(cands)
    if g.bad:
        s = g.pick([(n + 1,), (-1, -1), (0, -1), (-2, n), (max(n, 1) * 7 + 1, -1)])
    name = g.pick(["reshape", "view", "reshape_fn"])
    if name == "reshape_fn":
        return g.fn("reshape", x, s)
    return g.meth(name, x, *s) if g.chance(0.5) else g.meth(name, x, s)


@op("permute_transpose", 3)
def _(g):
    x = g.T()
    nd = len(x[5])
    which = g.pick(["permute", "transpose", "movedim", "t", "mT", "swapaxes", "flatten", "unflatten"])
    if which == "permute":
        p = list(range(nd))
        g.r.shuffle(p)
        if g.bad and g.chance(0.5):
            p = p + [0] if g.chance(0.5) else p[:-1] + [p[0]] if p else [0]
        return g.meth("permute", x, *p) if g.chance(0.5) else g.fn("permute", x, tuple(p))
    if which == "transpose":
        return g.fn("transpose", x, g.dim(nd), g.dim(nd))
    if which == "swapaxes":
        return g.meth("swapaxes", x, g.dim(nd), g.dim(nd))
    if which == "movedim":
        if g.chance(0.5):
            return g.fn("movedim", x, g.dim(nd), g.dim(nd))
        k = g.rint(1, max(1, nd))
        return g.fn("movedim", x, tuple(g.dim(nd) for _ in range(k)), tuple(g.dim(nd) for _ in range(k)))
    if which == "t":
        return g.fn("t", x)
    if which == "mT":
        c = g.x("attr", x, "mT")
        c["op"] = "mT"
        return c
    if which == "flatten":
        return g.fn("flatten", x, g.dim(nd), g.dim(nd)) if g.chance(0.7) else g.fn("flatten", x)
    d = g.dim(nd)
    s = x[5][d] if -nd <= d < nd and nd else 1
    sizes = g.pick([(s,), (1, s), (-1, 1), (s, -1), (2, -1), (-1, -1)])
    return g.fn("unflatten", x, d, sizes)


@op("flip_roll", 2)
def _(g):
    x = g.T()
    nd = len(x[5])
    w = g.pick(["flip", "roll", "rot90", "fliplr", "flipud"])
    if w == "flip":
        k = g.rint(0, nd)
        d = tuple(g.dim(nd) for _ in range(k))
        return g.fn("flip", x, d)
    if w == "roll":
        if g.chance(0.3):
            return g.fn("roll", x, g.rint(-7, 7))
        k = g.rint(1, 2)
        return g.fn("roll", x, tuple(g.rint(-5, 5) for _ in range(k)), tuple(g.dim(nd) for _ in range(k)))
    if w == "rot90":
        return g.fn("rot90", x, g.rint(-3, 5), (g.dim(nd), g.dim(nd)))
    return g.fn(w, x)


@op("squeeze_unsqueeze", 2)
def _(g):
    x = g.T(shape=g.pick([None, (1, 3, 1), (2, 1), (1,), ()]) or None)
    nd = len(x[5])
    if g.chance(0.5):
        return g.fn("unsqueeze", x, g.dim(nd + 1))
    if g.chance(0.3):
        return g.fn("squeeze", x)
    d = g.dim(nd) if g.chance(0.7) else tuple(g.dim(nd) for _ in range(g.rint(0, nd)))
    return g.fn("squeeze", x, d)


@op("cat_stack", 3)
def _(g):
    x = g.T()
    nd = len(x[5])
    which = g.pick(["cat", "stack", "hstack", "vstack", "dstack", "column_stack", "concat"])
    n = g.rint(1, 3)
    ts = [x]
    d = g.dim(nd + (1 if which == "stack" else 0))
    for _ in range(n - 1):
        s = list(x[5])
        if which in ("cat", "concat") and nd and -nd <= d < nd and g.chance(0.7):
            s[d] = g.rint(0, 3)
        if g.bad and s and g.chance(0.4):
            s[0] += 1
        if g.chance(0.05):
            s = [0]  # legacy empty 1-d tensor
        ts.append(g.T(shape=tuple(s), dtype=x[2] if g.chance(0.7) else None))
    if which in ("cat", "stack", "concat"):
        return g.fn(which, ts, d) if g.chance(0.7) else g.fn(which, ts, dim=d)
    return g.fn(which, ts)


@op("split_chunk", 3)
def _(g):
    x = g.T(nd=g.pick([1, 2, 3]))
    nd = len(x[5])
    d = g.dim(nd)
    n = x[5][d] if -nd <= d < nd else 3
    w = g.pick(["split", "split_list", "tensor_split", "tensor_split_idx", "chunk", "unbind", "narrow", "select"])
    if w == "split":
        return g.fn("split", x, g.rint(1 if not g.bad else 0, 4), d)
    if w == "split_list":
        parts = []
        r = n
        while r > 0:
            p = g.rint(0, r)
            parts.append(p)
            r -= p
        if g.bad or g.chance(0.1):
            parts.append(1)
        return g.fn("split", x, parts, d)
    if w == "tensor_split":
        return g.fn("tensor_split", x, g.rint(1 if not g.bad else 0, 5), dim=d)
    if w == "tensor_split_idx":
        k = g.rint(0, 3)
        return g.fn("tensor_split", x, [g.rint(-2, n + 2) for _ in range(k)], dim=d)
    if w == "chunk":
        return g.fn("chunk", x, g.rint(1 if not g.bad else 0, 5), d)
    if w == "unbind":
        return g.fn("unbind", x, d)
    if w == "narrow":
        s = g.rint(-n, n) if not g.bad else g.pick([n + 1, -n - 1])
        st = s if s >= 0 else s + n
        return g.fn("narrow", x, d, s, g.rint(0, max(0, n - st)) if not g.bad else g.pick([-1, n + 1]))
    return g.fn("select", x, d, g.rint(-n, n - 1) if n and not g.bad else g.pick([n, -n - 1]))


@op("expand_repeat", 3)
def _(g):
    x = g.T(shape=g.pick([None, (1, 3), (3, 1), (1,), ()]) or None, layout=g.pick(["c", "t"]))
    s = list(x[5])
    w = g.pick(["expand", "repeat", "tile", "broadcast_to", "repeat_interleave", "expand_as"])
    if w in ("expand", "broadcast_to"):
        t = [d if d != 1 else g.pick([1, 2, 3]) for d in s]
        if g.chance(0.3):
            t = [g.pick([2, 1])] + t
        if g.chance(0.2) and t:
            t[0] = -1
        if g.bad:
            t = t + [0] if g.chance(0.3) else [7] + [d + 1 for d in t]
        return g.meth("expand", x, *t) if w == "expand" else g.fn("broadcast_to", x, tuple(t))
    if w == "expand_as":
        return g.meth("expand_as", x, g.T(shape=tuple([2] + [d if d != 1 else 3 for d in s])))
    if w == "repeat":
        r = [g.rint(0, 3) for _ in range(len(s) + g.rint(0, 1))]
        if g.bad:
            r = r[:-1] if r else [-1]
        return g.meth("repeat", x, *r) if r else g.meth("repeat", x, ())
    if w == "tile":
        return g.fn("tile", x, tuple(g.rint(0, 3) for _ in range(g.rint(0, 3))))
    rep = g.rint(0, 3) if g.chance(0.5) else g.idx(4, shape=(x[5][0] if s else 1,), neg=False)
    if is_T(rep):
        rep = T_(np.abs(rep[1]), "int64")
    return g.fn("repeat_interleave", x, rep, dim=0 if s else None)


@op("tril_triu_diag", 2)
def _(g):
    x = g.T(nd=g.pick([1, 2, 2, 3]))
    w = g.pick(["tril", "triu", "diagonal", "diag", "diag_embed", "trace", "tril_", "triu_"])
    nd = len(x[5])
    if w in ("tril", "triu"):
        return g.fn(w, x, g.rint(-3, 3))
    if w in ("tril_", "triu_"):
        c = g.meth(w, x, g.rint(-3, 3))
        c["op"] = w
        return c
    if w == "diagonal":
        return g.fn("diagonal", x, offset=g.rint(-2, 2), dim1=g.dim(nd), dim2=g.dim(nd))
    if w == "diag":
        return g.fn("diag", x, g.rint(-2, 2))
    if w == "diag_embed":
        return g.fn("diag_embed", x, offset=g.rint(-1, 1))
    return g.fn("trace", x)


@op("unfold", 1)
def _(g):
    x = g.T(nd=g.pick([1, 2]))
    nd = len(x[5])
    return g.meth("unfold", x, g.dim(nd), g.rint(0 if g.bad else 1, 4), g.rint(-1 if g.bad else 1, 3))


@op("kron_meshgrid", 2)
def _(g):
    w = g.pick(["kron", "meshgrid", "cartesian_prod", "atleast"])
    if w == "kron":
        a = g.T(max_numel=12)
        return g.fn("kron", a, g.T(max_numel=12, dtype=a[2] if g.chance(0.7) else None))
    if w == "meshgrid":
        ts = [g.T(nd=g.pick([1, 1, 1, 0]), max_numel=5) for _ in range(g.rint(1, 3))]
        return g.fn("meshgrid", *ts, indexing=g.pick(["ij", "xy"]))
    if w == "cartesian_prod":
        return g.fn("cartesian_prod", *[g.T(nd=1, max_numel=4) for _ in range(g.rint(1, 3))])
    return g.fn(g.pick(["atleast_1d", "atleast_2d", "atleast_3d"]), g.T())


@op("copy_fill", 2)
def _(g):
    x = g.T()
    w = g.pick(["copy_", "fill_", "zero_", "clone", "contiguous", "to", "type_conv", "item", "tolist"])
    if w == "copy_":
        c = g.meth("copy_", x, g.T(shape=g.bshape(x[5])))
    elif w == "fill_":
        c = g.meth("fill_", x, g.scalar() if g.chance(0.8) else g.T(shape=()))
    elif w == "zero_":
        c = g.meth("zero_", x)
    elif w == "to":
        c = g.meth("to", x, DT(g.dtype()))
    elif w == "type_conv":
        c = g.meth(g.pick(["float", "double", "half", "bfloat16", "long", "int", "short", "bool", "byte", "char"]), x)
    elif w == "item":
        c = g.meth("item", g.T(shape=g.pick([(), (1,), (1, 1), (2,)])))
    else:
        c = g.meth(w, x)
    c["op"] = w
    return c


# ---------------------------------------------------------------- indexing
def _index(g, shape):
    nd = len(shape)
    parts = []
    k = g.rint(1, max(1, min(nd + (1 if g.bad else 0), 3)))
    used_adv = False
    for i in range(k):
        n = shape[i] if i < nd else 1
        c = g.pick(["int", "slice", "none", "ellipsis", "list", "tensor", "bool"], [4, 4, 1, 1, 2, 2, 2])
        if c == "int":
            parts.append(g.rint(-n, n - 1) if n and not (g.bad and g.chance(0.5)) else g.pick([n, -n - 1]))
        elif c == "slice":
            parts.append(slice(g.pick([None, 0, 1, -1, -7]), g.pick([None, 2, -1, 9]), g.pick([None, 1, 2, 3])))
        elif c == "none":
            parts.append(None)
        elif c == "ellipsis":
            parts.append(Ellipsis)
        elif c == "list" and not used_adv:
            used_adv = True
            parts.append([g.rint(-n, n - 1) if n else 0 for _ in range(g.rint(1, 3))])
        elif c == "tensor" and not used_adv:
            used_adv = True
            parts.append(g.idx(n, shape=g.pick([(2,), (), (2, 1)])))
        elif c == "bool" and not used_adv:
            used_adv = True
            if i < nd and g.chance(0.5):
                parts.append(T_(g.np.random(n) < 0.5, "bool"))
            else:
                parts.append(g.chance(0.5))
        else:
            parts.append(slice(None))
    if len(parts) == 1 and g.chance(0.5):
        return parts[0]
    if g.chance(0.2) and nd and not used_adv:  # a whole-shape bool mask
        return T_(g.np.random(shape) < 0.5, "bool")
    return tuple(parts)


@op("getitem", 5)
def _(g):
    x = g.T()
    return g.x("getitem", x, _index(g, x[5]))


@op("setitem", 4)
def _(g):
    x = g.T()
    idx = _index(g, x[5])
    v = g.scalar() if g.chance(0.5) else g.T(shape=g.pick([(), (1,), x[5][-1:] if x[5] else (), (2,)]),
                                               dtype=x[2] if g.chance(0.7) else None)
    c = g.x("setitem", x, idx, v)
    c["inplace"] = True
    return c


@op("gather_scatter", 5)
def _(g):
    x = g.T(nd=g.pick([1, 2, 2, 3]))
    nd = len(x[5])
    d = g.dim(nd)
    dd = d if -nd <= d < nd else 0
    n = x[5][dd] if nd else 1
    ishape = tuple(g.rint(0, s) if i != dd else g.rint(1, 4) for i, s in enumerate(x[5])) if nd else ()
    w = g.pick(["gather", "scatter", "scatter_value", "scatter_add", "scatter_reduce", "take_along_dim",
                "scatter_", "scatter_add_"])
    index = g.idx(n, shape=ishape, neg=False)
    if w == "gather":
        return g.fn("gather", x, d, index)
    if w == "take_along_dim":
        return g.fn("take_along_dim", x, index, dim=d)
    src = g.T(shape=ishape if g.chance(0.5) else x[5], dtype=x[2] if not g.bad else None)
    if w in ("scatter", "scatter_"):
        c = g.fn("scatter", x, d, index, src) if w == "scatter" else g.meth("scatter_", x, d, index, src)
    elif w == "scatter_value":
        c = g.fn("scatter", x, d, index, value=g.scalar())
    elif w in ("scatter_add", "scatter_add_"):
        c = g.fn("scatter_add", x, d, index, src) if w == "scatter_add" else g.meth("scatter_add_", x, d, index, src)
    else:
        c = g.fn("scatter_reduce", x, d, index, src, g.pick(["sum", "prod", "mean", "amax", "amin"]),
                 include_self=g.chance(0.5))
    c["op"] = w
    if w in ("scatter", "scatter_"):
        c["dup_unspecified"] = _has_dup(index)  # which duplicate write wins is unspecified
    return c


@op("index_ops", 5)
def _(g):
    x = g.T(nd=g.pick([1, 2, 2, 3]))
    nd = len(x[5])
    d = g.dim(nd)
    dd = d if -nd <= d < nd else 0
    n = x[5][dd] if nd else 1
    k = g.rint(0, 4)
    index = g.idx(n, shape=(k,) if not (g.bad and g.chance(0.2)) else (k, 1), neg=g.bad)
    w = g.pick(["index_select", "index_add", "index_copy", "index_fill", "take", "put_", "index_put",
                "masked_select", "masked_scatter", "nonzero", "argwhere"])
    sshape = list(x[5])
    if sshape:
        sshape[dd] = k
    src = g.T(shape=tuple(sshape), dtype=x[2] if not g.bad else None)
    if w == "index_select":
        return g.fn("index_select", x, d, index)
    if w == "index_add":
        return pick_form(g, "index_add", x, d, index, src, alpha=g.pick([1, 2]))
    if w == "index_copy":
        c = pick_form(g, "index_copy", x, d, index, src)
        c["dup_unspecified"] = _has_dup(index)
        return c
    if w == "index_fill":
        return pick_form(g, "index_fill", x, d, index, g.scalar())
    if w == "take":
        return g.fn("take", x, g.idx(_prod(x[5]), neg=True))
    if w == "put_":
        idx = g.idx(_prod(x[5]), neg=True)
        c = g.meth("put_", x, idx, g.T(shape=idx[5], dtype=x[2] if not g.bad else None), accumulate=g.chance(0.5))
        c["op"] = "put_"
        c["dup_unspecified"] = _has_dup(idx) and not c["kwargs"]["accumulate"]
        return c
    if w == "index_put":
        idxs = tuple(g.idx(s, shape=(2,), neg=True) for s in x[5][:g.rint(1, max(1, nd))]) if nd else (g.idx(1),)
        v = g.T(shape=g.pick([(), (2,), (1,)]), dtype=x[2] if not g.bad else None)
        c = pick_form(g, "index_put", x, idxs, v, accumulate=g.chance(0.5))
        c["dup_unspecified"] = not c["kwargs"]["accumulate"] and any(_has_dup(i) for i in idxs)
        return c
    if w == "masked_select":
        return g.fn("masked_select", x, g.T(shape=g.bshape(x[5]), dtype="bool" if not g.bad else None))
    if w == "masked_scatter":
        return g.fn("masked_scatter", x, g.T(shape=g.bshape(x[5]), dtype="bool"),
                    g.T(shape=x[5], dtype=x[2] if not g.bad else None))
    if w == "nonzero" and g.chance(0.3):
        return g.fn("nonzero", x, as_tuple=True)
    return g.fn(w, x)


# ---------------------------------------------------------------- matmul family
@op("matmul", 6)
def _(g):
    dt = g.pick(["float32", "float64", "int64", "int32", "float16", "bfloat16", "uint8", "bool"], [5, 3, 2, 1, 1, 1, 1, 1])
    w = g.pick(["mm", "bmm", "matmul", "addmm", "dot", "mv", "outer", "inner", "einsum", "baddbmm", "addmv",
                "tensordot", "@"])
    m, k, n, b = g.rint(0 if g.chance(0.1) else 1, 4), g.rint(0 if g.chance(0.1) else 1, 4), g.rint(1, 4), g.rint(1, 3)
    mode = "extreme" if dt in INTS and g.chance(0.2) else None
    k2 = k if not g.bad else k + 1

    def t(*s, d=None):
        return g.T(shape=s, dtype=d or (dt if not (g.bad and g.chance(0.3)) else None), mode=mode)
    if w == "mm":
        return g.fn("mm", t(m, k), t(k2, n))
    if w == "bmm":
        return g.fn("bmm", t(b, m, k), t(b, k2, n))
    if w in ("matmul", "@"):
        sa = g.pick([(k,), (m, k), (b, m, k), (1, m, k)])
        sb = g.pick([(k2,), (k2, n), (b, k2, n), (2, 1, k2, n)])
        if w == "@":
            c = g.oper("matmul", t(*sa), t(*sb))
            c["op"] = "op.matmul"
            return c
        return g.fn("matmul", t(*sa), t(*sb))
    if w == "addmm":
        return pick_form(g, "addmm", t(*g.pick([(m, n), (n,), (1, n), ()])), t(m, k), t(k2, n),
                         beta=g.pick([1, 0, 0.5, 2]), alpha=g.pick([1, 0.5, 2, -1]))
    if w == "baddbmm":
        return g.fn("baddbmm", t(b, m, n), t(b, m, k), t(b, k2, n), beta=g.pick([1, 0]), alpha=g.pick([1, 2]))
    if w == "addmv":
        return g.fn("addmv", t(m), t(m, k), t(k2), beta=g.pick([1, 0.5]), alpha=g.pick([1, 2]))
    if w == "dot":
        return g.fn(g.pick(["dot", "vdot"]), t(k), t(k2))
    if w == "mv":
        return g.fn("mv", t(m, k), t(k2))
    if w == "outer":
        return g.fn("outer", t(m), t(n))
    if w == "inner":
        return g.fn("inner", t(m, k), t(n, k2))
    if w == "tensordot":
        return g.fn("tensordot", t(m, k), t(k2, n), dims=1)
    eq, ops = g.pick([("ij,jk->ik", [(m, k), (k2, n)]), ("ij->ji", [(m, k)]), ("ii->i", [(k, k2)]),
                      ("bij,bjk->bik", [(b, m, k), (b, k2, n)]), ("i,i->", [(k,), (k2,)]), ("ij->", [(m, k)]),
                      ("i,j->ij", [(m,), (n,)]), ("...ij->...j", [(b, m, k)]), ("ij,ij->i", [(m, k), (m, k2)])])
    return g.fn("einsum", eq, *[t(*s) for s in ops])


@op("cross_cdist", 1.5)
def _(g):
    dt = g.dtype("float32+")
    if g.chance(0.5):
        s = g.pick([(3,), (2, 3), (3, 3)])
        s2 = s if not g.bad else g.pick([(2,), (1, 2, 3)])
        return g.fn(g.pick(["cross", "linalg.cross"]), g.T(shape=s, dtype=dt), g.T(shape=s2, dtype=dt), dim=-1)
    a, b = g.T(shape=(g.rint(1, 4), 3), dtype=dt), g.T(shape=(g.rint(1, 4), 3 if not g.bad else 2), dtype=dt)
    return g.fn("cdist", a, b, p=g.pick([2.0, 1.0, 0.0, math.inf, 3.0]))


# ---------------------------------------------------------------- linalg
@op("linalg", 4)
def _(g):
    n = g.rint(1, 4) if not g.chance(0.05) else 0
    dt = g.dtype("float32+") if not g.bad else g.dtype()
    s = g.pick([(n, n), (2, n, n)]) if not g.bad else g.pick([(n, n + 1), (n,), (n, n)])
    # well-conditioned square matrices: random + n*I
    arr = g.np.normal(0, 1, s) + (n * np.eye(n) if n and len(s) >= 2 and s[-1] == s[-2] else 0)
    A = g.T(shape=s, dtype=dt, vals=arr)
    w = g.pick(["det", "inv", "solve", "slogdet", "qr", "svdvals", "svd", "cholesky", "eigvalsh", "eigh",
                "matrix_norm", "vector_norm", "norm", "pinv", "matrix_rank", "matrix_power", "multi_dot", "vecdot"])
    if w == "det":
        return g.fn(g.pick(["det", "linalg.det"]), A)
    if w == "inv":
        return g.fn(g.pick(["inverse", "linalg.inv"]), A)
    if w == "solve":
        return g.fn("linalg.solve", A, g.T(shape=g.pick([s[:-1], s[:-1] + (2,), (n + 1,)]), dtype=dt))
    if w == "slogdet":
        return g.fn("linalg.slogdet", A)
    if w == "qr":
        c = g.fn("linalg.qr", A)
        c["post"] = "qr_sign"
        return c
    if w in ("svdvals", "svd"):
        c = g.fn("linalg." + w, A)
        if w == "svd":
            c["post"] = "svd_s"
        return c
    if w in ("cholesky", "eigvalsh", "eigh"):
        spd = arr @ np.swapaxes(arr, -1, -2) + (np.eye(n) if n else 0) if len(s) >= 2 and s[-1] == s[-2] else arr
        c = g.fn("linalg." + w, g.T(shape=s, dtype=dt, vals=spd))
        if w == "eigh":
            c["post"] = "values0"
        return c
    if w == "matrix_norm":
        return g.fn("linalg.matrix_norm", A, ord=g.pick(["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf]))
    if w == "vector_norm":
        return g.fn("linalg.vector_norm", g.T(kind="float"), ord=g.pick([2, 1, 0, math.inf, -math.inf, 3, 0.5]),
                    dim=g.pick([None, 0, -1]), keepdim=g.chance(0.3))
    if w == "norm":
        return g.fn("linalg.norm", A, ord=g.pick([None, "fro", 1, 2, math.inf]))
    if w == "pinv":
        return g.fn("linalg.pinv", A)
    if w == "matrix_rank":
        return g.fn("linalg.matrix_rank", A)
    if w == "matrix_power":
        return g.fn("linalg.matrix_power", A, g.rint(-2, 3))
    if w == "multi_dot":
        return g.fn("linalg.multi_dot", [A, g.T(shape=(n, 2), dtype=dt), g.T(shape=(2, 3), dtype=dt)])
    return g.fn("linalg.vecdot", A, g.T(shape=s, dtype=dt))


# ---------------------------------------------------------------- nn.functional
ACTS = ["relu", "relu6", "gelu", "silu", "logsigmoid", "softplus", "elu", "leaky_relu", "hardtanh", "hardsigmoid",
        "hardswish", "mish", "selu", "celu", "softsign", "tanhshrink", "softshrink", "hardshrink", "threshold",
        "glu", "sigmoid", "tanh"]


@op("activation", 8)
def _(g):
    name = g.pick(ACTS)
    x = g.T(kind="float" if not g.bad else "any", mode=g.pick([None, "ints", "special"], [5, 3, 1]))
    kw = {}
    args = []
    if name == "gelu" and g.chance(0.4):
        kw["approximate"] = g.pick(["tanh", "none"])
    if name == "softplus" and g.chance(0.5):
        kw = {"beta": g.pick([1.0, 2.0, 0.5]), "threshold": g.pick([20.0, 1.0])}
    if name in ("elu", "celu") and g.chance(0.5):
        kw["alpha"] = g.pick([1.0, 0.5, 2.0])
    if name == "leaky_relu" and g.chance(0.5):
        kw["negative_slope"] = g.pick([0.01, 0.2, -1.0])
    if name == "hardtanh" and g.chance(0.5):
        kw = {"min_val": g.pick([-1.0, -2.0, 0.0]), "max_val": g.pick([1.0, 2.0, -3.0])}
    if name in ("softshrink", "hardshrink") and g.chance(0.5):
        kw["lambd"] = g.pick([0.5, 1.0, 0.0])
    if name == "threshold":
        args = [g.pick([0.0, 1.0, -1.0]), g.pick([0.0, 5.0, -2.0])]
    if name == "glu":
        kw["dim"] = g.dim(len(x[5]))
    if name in ("relu", "elu", "leaky_relu", "hardtanh", "relu6", "selu", "celu", "threshold") and g.chance(0.2):
        kw["inplace"] = True
    c = g.fn("nn.functional." + name, x, *args, **kw)
    c["op"] = "F." + name
    c["inplace"] = bool(kw.get("inplace"))
    return c


def _loss_input(g, shape):
    return g.T(shape=shape, kind="float32+" if not g.bad else "any", mode=g.pick([None, "special"], [6, 1]))


@op("loss", 8)
def _(g):
    name = g.pick(["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                   "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "cosine_similarity",
                   "pairwise_distance", "soft_margin_loss", "poisson_nll_loss", "margin_ranking_loss",
                   "hinge_embedding_loss"])
    red = g.pick(["mean", "sum", "none"] + (["bogus"] if g.bad else []))
    if name in ("cross_entropy", "nll_loss"):
        N, C = g.rint(0 if g.chance(0.05) else 1, 4), g.rint(1, 5)
        extra = g.pick([(), (), (2,), (2, 3)])
        x = _loss_input(g, (N, C) + extra if g.chance(0.9) else (C,))
        probs = name == "cross_entropy" and g.chance(0.2)
        if probs:
            tgt = g.T(shape=x[5], dtype=x[2], vals=g.np.dirichlet(np.ones(C), _prod(x[5]) // max(C, 1) or 1).reshape(x[5]) if _prod(x[5]) else None)
        else:
            tshape = (N,) + extra if len(x[5]) > 1 else ()
            t = g.np.integers(0, C, _prod(tshape)).reshape(tshape)
            if g.chance(0.2) and t.size:
                t.flat[0] = -100
            if g.bad and t.size and g.chance(0.5):
                t.flat[-1] = g.pick([C, -1, -2])
            tgt = T_(t.astype(np.int64), "int64")
        kw = {"reduction": red}
        if g.chance(0.2):
            kw["weight"] = g.T(shape=(C,), dtype=x[2], mode="pos", grad=False)
        if g.chance(0.2):
            kw["ignore_index"] = g.pick([0, 1, -100])
        if name == "cross_entropy" and g.chance(0.2):
            kw["label_smoothing"] = g.pick([0.1, 0.5])
        c = g.fn("nn.functional." + name, x, tgt, **kw)
    elif name in ("binary_cross_entropy",):
        x = g.T(shape=g.shape(), kind="float32+", mode="unit")
        x = T_(np.abs(x[1]).astype(x[1].dtype), x[2], x[3], x[4], x[5])
        y = g.T(shape=x[5] if not g.bad else g.bshape(x[5]), dtype=x[2], mode="unit", grad=False)
        y = T_(np.abs(y[1]).astype(y[1].dtype), y[2], y[3], False, y[5])
        c = g.fn("nn.functional." + name, x, y, reduction=red)
    elif name == "binary_cross_entropy_with_logits":
        x = _loss_input(g, g.shape())
        y = g.T(shape=x[5], dtype=x[2], mode="unit")
        kw = {"reduction": red}
        if g.chance(0.3):
            kw["pos_weight"] = g.T(shape=x[5][-1:], dtype=x[2], mode="pos")
        c = g.fn("nn.functional." + name, x, y, **kw)
    elif name == "kl_div":
        x = _loss_input(g, g.shape())
        c = g.fn("nn.functional.kl_div", x, g.T(shape=x[5], dtype=x[2], mode="unit"),
                 reduction=g.pick(["mean", "sum", "none", "batchmean"]), log_target=g.chance(0.5))
    elif name in ("cosine_similarity", "pairwise_distance"):
        s = g.shape(lo=1)
        x = _loss_input(g, s)
        y = g.T(shape=g.bshape(s), dtype=x[2], mode=g.pick([None, "special"], [4, 1]))
        c = g.fn("nn.functional." + name, x, y, dim=g.dim(len(s))) if name == "cosine_similarity" else \
            g.fn("nn.functional." + name, x, y)
    elif name == "margin_ranking_loss":
        s = g.shape(nd=1)
        c = g.fn("nn.functional." + name, _loss_input(g, s), g.T(shape=s, dtype="float32"),
                 g.T(shape=s, dtype="float32", vals=np.sign(g.np.normal(size=s))), reduction=red)
    else:
        s = g.shape()
        x = _loss_input(g, s)
        y = g.T(shape=s if not g.bad else g.bshape(s), dtype=x[2] if g.chance(0.9) else None,
                grad=g.chance(0.1))
        kw = {"reduction": red}
        if name == "smooth_l1_loss" and g.chance(0.5):
            kw["beta"] = g.pick([1.0, 0.5, 0.0])
        if name == "huber_loss" and g.chance(0.5):
            kw["delta"] = g.pick([1.0, 0.5, 2.0])
        c = g.fn("nn.functional." + name, x, y, **kw)
    c["op"] = "F." + name
    return c


@op("pad", 3)
def _(g):
    x = g.T(nd=g.pick([1, 2, 3, 4]), kind="num")
    mode = g.pick(["constant", "reflect", "replicate", "circular"])
    k = g.pick([1, 2, 3]) * 2
    pads = tuple(g.rint(-2, 3) for _ in range(k if not g.bad else k - 1))
    kw = {"mode": mode}
    if mode == "constant" and g.chance(0.5):
        kw["value"] = g.pick([1.5, -2.0, 0.0, 3])
    c = g.fn("nn.functional.pad", x, pads, **kw)
    c["op"] = "F.pad." + mode
    return c


@op("pool", 5)
def _(g):
    nd = g.pick([1, 2])
    sp = tuple(g.rint(1, 5) for _ in range(nd))
    x = g.T(shape=(g.rint(1, 2), g.rint(1, 2)) + sp if g.chance(0.8) else (g.rint(1, 2),) + sp,
            kind="float" if g.chance(0.8) else "num", mode=g.pick([None, "special", "ints"], [5, 1, 2]))
    w = g.pick(["max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool", "lp_pool"])
    ks = g.rint(1, 3) if not g.bad else g.pick([0, 7, -1])
    if w == "max_pool":
        kw = {"stride": g.pick([None, 1, 2]), "padding": g.rint(0, ks // 2) if not g.bad else 2,
              "dilation": g.pick([1, 1, 2]), "ceil_mode": g.chance(0.3), "return_indices": g.chance(0.3)}
        c = g.fn(f"nn.functional.max_pool{nd}d", x, ks, **kw)
    elif w == "avg_pool":
        kw = {"stride": g.pick([None, 1, 2]), "padding": g.rint(0, ks // 2) if not g.bad else 2,
              "ceil_mode": g.chance(0.3), "count_include_pad": g.chance(0.5)}
        if nd == 2 and g.chance(0.2):
            kw["divisor_override"] = g.pick([1, 3])
        c = g.fn(f"nn.functional.avg_pool{nd}d", x, ks, **kw)
    elif w == "lp_pool":
        c = g.fn(f"nn.functional.lp_pool{nd}d", x, g.pick([1.0, 2.0]), ks)
    else:
        osz = g.rint(1, 4) if not g.bad else g.pick([0, -1])
        c = g.fn(f"nn.functional.{w}{nd}d", x, osz)
    c["op"] = f"F.{w}{nd}d"
    return c


@op("interpolate", 3)
def _(g):
    mode = g.pick(["nearest", "linear", "bilinear", "bicubic", "area", "nearest-exact"])
    nd = {"linear": 1, "bilinear": 2, "bicubic": 2}.get(mode, g.pick([1, 2]))
    if g.bad and g.chance(0.3):
        nd = 3 - nd
    sp = tuple(g.rint(1, 4) for _ in range(nd))
    x = g.T(shape=(1, g.rint(1, 2)) + sp, kind="float" if g.chance(0.85) else "num",
            mode=g.pick([None, "special"], [6, 1]))
    kw = {"mode": mode}
    if g.chance(0.5):
        kw["size"] = tuple(g.rint(1, 6) for _ in range(nd)) if g.chance(0.7) else g.rint(1, 6)
    else:
        kw["scale_factor"] = g.pick([2.0, 0.5, 1.5, 3, 0.7])
    if mode in ("linear", "bilinear", "bicubic") and g.chance(0.5):
        kw["align_corners"] = g.chance(0.5)
    c = g.fn("nn.functional.interpolate", x, **kw)
    c["op"] = "F.interpolate." + mode
    return c


@op("conv", 5)
def _(g):
    nd = g.pick([1, 2])
    w = g.pick(["conv", "conv_transpose"])
    groups = g.pick([1, 1, 2])
    cin, cout = groups * g.rint(1, 2), groups * g.rint(1, 2)
    k = tuple(g.rint(1, 3) for _ in range(nd))
    sp = tuple(g.rint(max(k), 5) for _ in range(nd))
    dt = g.dtype("float32+") if not g.bad else g.dtype()
    x = g.T(shape=(g.rint(1, 2), cin) + sp, dtype=dt, layout="c")
    if w == "conv":
        wt = g.T(shape=(cout, cin // groups) + k if not (g.bad and g.chance(0.4)) else (cout, cin + 1) + k, dtype=dt)
    else:
        wt = g.T(shape=(cin, cout // groups) + k, dtype=dt)
    kw = {"stride": g.pick([1, 2]) if not (g.bad and g.chance(0.3)) else 0,
          "padding": g.pick([0, 1]), "dilation": g.pick([1, 1, 2]), "groups": groups}
    if g.chance(0.5):
        kw["bias"] = g.T(shape=(cout,), dtype=dt)
    if w == "conv_transpose":
        kw["output_padding"] = g.pick([0, 0, 1])
        if kw["output_padding"] >= max(kw["stride"], kw["dilation"]) and not g.bad:
            kw["output_padding"] = 0
    elif g.chance(0.15):
        kw["padding"] = g.pick(["same", "valid"])
        if kw["padding"] == "same":
            kw["stride"] = 1
    c = g.fn(f"nn.functional.{w}{nd}d", x, wt, **kw)
    c["op"] = f"F.{w}{nd}d"
    return c


@op("embedding_linear", 2)
def _(g):
    if g.chance(0.5):
        V, D = g.rint(1, 6), g.rint(1, 4)
        wt = g.T(shape=(V, D), kind="float32+")
        ids = g.idx(V, shape=g.pick([(3,), (2, 2), ()]), neg=g.bad)
        kw = {}
        if g.chance(0.3):
            kw["padding_idx"] = g.pick([0, -1, V - 1] + ([V] if g.bad else []))
        c = g.fn("nn.functional.embedding", ids, wt, **kw)
        c["op"] = "F.embedding"
        return c
    fi, fo = g.rint(1, 4), g.rint(1, 4)
    x = g.T(shape=g.pick([(2, fi), (fi,), (2, 3, fi)]), kind="float32+")
    wt = g.T(shape=(fo, fi if not g.bad else fi + 1), dtype=x[2])
    c = g.fn("nn.functional.linear", x, wt, g.T(shape=(fo,), dtype=x[2]) if g.chance(0.5) else None)
    c["op"] = "F.linear"
    return c


@op("norm_layers", 4)
def _(g):
    w = g.pick(["layer_norm", "batch_norm", "group_norm", "instance_norm", "normalize", "rms_norm"])
    N, C = g.rint(1, 3), g.pick([1, 2, 4])
    sp = tuple(g.rint(1, 3) for _ in range(g.rint(0, 2)))
    dt = g.dtype("float32+") if not g.bad else g.dtype()
    x = g.T(shape=(N, C) + sp, dtype=dt, mode=g.pick([None, "special"], [8, 1]))
    if w in ("layer_norm", "rms_norm"):
        ns = x[5][-g.rint(1, len(x[5])):] if not g.bad else (7,)
        kw = {}
        if g.chance(0.5):
            kw["weight"] = g.T(shape=ns, dtype=dt)
            if w == "layer_norm" and g.chance(0.5):
                kw["bias"] = g.T(shape=ns, dtype=dt)
        c = g.fn("nn.functional." + w, x, ns, **kw)
    elif w == "batch_norm":
        training = g.chance(0.5)
        rm = g.T(shape=(C,), dtype=dt, grad=False) if not training or g.chance(0.5) else None
        rv = g.T(shape=(C,), dtype=dt, grad=False, mode="pos") if rm is not None else None
        kw = {"training": training, "momentum": 0.1, "eps": 1e-5}
        if g.chance(0.5):
            kw["weight"], kw["bias"] = g.T(shape=(C,), dtype=dt), g.T(shape=(C,), dtype=dt)
        c = g.fn("nn.functional.batch_norm", x, rm, rv, **kw)
        c["post"] = "with_args12"  # running stats are updated in place
    elif w == "group_norm":
        c = g.fn("nn.functional.group_norm", x, g.pick([1, C, 2]))
    elif w == "instance_norm":
        c = g.fn("nn.functional.instance_norm", x)
    else:
        c = g.fn("nn.functional.normalize", x, p=g.pick([2.0, 1.0, math.inf]), dim=g.dim(len(x[5])))
    c["op"] = "F." + w
    return c


@op("nn_misc", 2)
def _(g):
    w = g.pick(["one_hot", "pixel_shuffle", "unfold_F", "dropout", "cosine_embedding"])
    if w == "one_hot":
        t = g.idx(5, shape=g.pick([(3,), (2, 2), ()]), neg=g.bad)
        c = g.fn("nn.functional.one_hot", t, num_classes=g.pick([-1, 5, 6] + ([3] if g.bad else [])))
    elif w == "pixel_shuffle":
        c = g.fn("nn.functional.pixel_shuffle", g.T(shape=(1, g.pick([4, 8, 3]), 2, 2)), 2)
    elif w == "unfold_F":
        c = g.fn("nn.functional.unfold", g.T(shape=(1, 2, g.rint(2, 4), g.rint(2, 4)), kind="float32+"),
                 g.pick([1, 2, (2, 1)]), padding=g.pick([0, 1]), stride=g.pick([1, 2]))
    elif w == "dropout":
        p = g.pick([0.0, 0.5, 1.0] + ([1.5, -0.1] if g.bad else []))
        c = g.fn("nn.functional.dropout", g.T(kind="float"), p=p, training=g.chance(0.7))
        c["random"] = 0.0 < p < 1.0
    else:
        s = (g.rint(1, 3), 3)
        c = g.fn("nn.functional.cosine_embedding_loss", g.T(shape=s, dtype="float32"), g.T(shape=s, dtype="float32"),
                 T_(np.sign(g.np.normal(size=s[:1])).astype(np.float32), "float32"))
    c["op"] = "F." + w
    return c


# ---------------------------------------------------------------- sorting and counting
@op("sort_topk", 4)
def _(g):
    x = g.T(kind="num", mode=None if g.chance(0.3) else "unique")
    if x[2] in INTS and g.chance(0.7):
        x = g.T(shape=x[5], dtype="int64", vals=g.np.permutation(_prod(x[5])).reshape(x[5]) - 3)
    ties = _has_dup(x) or x[3] == "e"
    nd = len(x[5])
    w = g.pick(["sort", "argsort", "topk", "msort"])
    d = g.dim(nd)
    if w == "sort":
        stable = not ties or g.chance(0.5)
        c = g.fn("sort", x, dim=d, descending=g.chance(0.5), stable=stable)
        if not stable:
            c["post"] = "values"  # the order of equal elements is unspecified
    elif w == "argsort":
        c = g.fn("argsort", x, dim=d, descending=g.chance(0.5), stable=True)
    elif w == "msort":
        c = g.fn("msort", x)
    else:
        n = x[5][d] if nd and -nd <= d < nd else 1
        c = g.fn("topk", x, g.rint(0, n) if not g.bad else n + 1, dim=d, largest=g.chance(0.5))
        if ties:
            c["post"] = "values"
    c["grad_unspecified"] = ties and c.get("post") == "values"  # which tied element gets the gradient
    return c


@op("unique_count", 4)
def _(g):
    w = g.pick(["unique", "unique_consecutive", "bincount", "searchsorted", "bucketize", "histc"])
    if w in ("unique", "unique_consecutive"):
        x = g.T(kind="num", mode="ints" if g.chance(0.7) else None, grad=False)
        kw = {"return_inverse": g.chance(0.5), "return_counts": g.chance(0.5)}
        if g.chance(0.3):
            kw["dim"] = g.dim(len(x[5]))
        return g.fn(w, x, **kw)
    if w == "bincount":
        n = g.rint(0, 8)
        v = g.np.integers(0 if not g.bad else -2, 6, n)
        x = T_(v.astype(np.int64), g.pick(["int64", "int64", "int32", "uint8"]) if not g.bad else "float32")
        x = T_(v.astype(_NP[x[2]]), x[2])
        kw = {}
        if g.chance(0.4):
            kw["weights"] = g.T(shape=(n,), dtype=g.pick(["float32", "float64", "int64"]), grad=False)
        if g.chance(0.3):
            kw["minlength"] = g.pick([0, 3, 10] + ([-1] if g.bad else []))
        return g.fn("bincount", x, **kw)
    if w in ("searchsorted", "bucketize"):
        seq = np.sort(g.values((g.rint(0, 6),), "float32"))
        dt = g.pick(["float32", "float64", "int64"])
        s = T_(seq.astype(_NP[dt]) if dt != "int64" else np.sort(g.np.integers(-5, 6, seq.size)), dt)
        v = g.T(kind="num", grad=False)
        if w == "bucketize":
            return g.fn("bucketize", v, s, right=g.chance(0.5), out_int32=g.chance(0.2))
        kw = {"right": g.chance(0.5)} if g.chance(0.7) else {"side": g.pick(["left", "right"])}
        return g.fn("searchsorted", s, v if g.chance(0.8) else g.scalar("float"), **kw)
    x = g.T(kind="float" if not g.bad else "any", grad=False, mode=g.pick([None, "special"], [5, 1]))
    return g.fn("histc", x, bins=g.pick([1, 4, 10] + ([0, -1] if g.bad else [])), min=g.pick([0, -2, 1]),
                max=g.pick([0, 2, 1]))


# ---------------------------------------------------------------- creation
def _size_args(g):
    s = g.shape(zero_ok=True)
    if g.bad and g.chance(0.4):
        s = g.pick([(-1,), (2, -3), (2.5,)])
    return s


@op("creation", 5)
def _(g):
    w = g.pick(["zeros", "ones", "full", "empty", "arange", "linspace", "logspace", "eye", "zeros_like",
                "ones_like", "full_like", "empty_like", "scalar_tensor"])
    kw = {}
    if g.chance(0.5):
        kw["dtype"] = DT(g.dtype())
    rand = False
    if w in ("zeros", "ones", "empty"):
        s = _size_args(g)
        c = g.fn(w, *s, **kw) if g.chance(0.5) else g.fn(w, s, **kw)
        rand = w == "empty"
    elif w == "full":
        c = g.fn("full", _size_args(g), g.scalar(), **kw)
    elif w == "arange":
        a = [g.pick([0, 1, -3, 0.5, 2.5]), g.pick([5, 10, -2, 3.7, 0])]
        if g.chance(0.5):
            a.append(g.pick([1, 2, -1, 0.3, -0.7] + ([0] if g.bad else [])))
        c = g.fn("arange", *(a[1:2] if g.chance(0.2) else a), **kw)
    elif w in ("linspace", "logspace"):
        c = g.fn(w, g.pick([0, -1.5, 2]), g.pick([1, 10, -3.0]), g.pick([0, 1, 5, 7] + ([-1] if g.bad else [])), **kw)
    elif w == "eye":
        c = g.fn("eye", g.rint(0, 4), *([g.rint(0, 5)] if g.chance(0.5) else []), **kw)
    elif w == "scalar_tensor":
        c = g.fn("scalar_tensor", g.scalar(), **kw)
    elif w == "full_like":
        c = g.fn("full_like", g.T(grad=False), g.scalar(), **kw)
    else:
        c = g.fn(w, g.T(grad=False), **kw)
        rand = w == "empty_like"
    c["random"] = rand
    c["op"] = w
    return c


@op("tensor_literal", 2)
def _(g):
    w = g.pick(["ints", "floats", "mixed", "bools", "ragged", "big", "nested_empty", "scalar"])
    data = {"ints": [[1, 2], [3, -4]], "floats": [1.5, -2.0, math.inf], "mixed": [1, 2.5, True],
            "bools": [True, False], "ragged": [[1, 2], [3]], "big": [2 ** 63 - 1, -2 ** 63] if g.chance(0.5) else [2 ** 63],
            "nested_empty": [[], []], "scalar": g.scalar()}[w]
    kw = {"dtype": DT(g.dtype())} if g.chance(0.4) else {}
    c = g.fn("tensor", data, **kw)
    c["op"] = "tensor"
    return c


@op("random_ops", 2)
def _(g):
    w = g.pick(["rand", "randn", "randint", "randperm", "normal", "rand_like", "randn_like", "bernoulli",
                "multinomial", "uniform_", "normal_"])
    s = _size_args(g)
    if w in ("rand", "randn"):
        c = g.fn(w, *s, **({"dtype": DT(g.dtype())} if g.chance(0.3) else {}))
    elif w == "randint":
        c = g.fn("randint", g.pick([0, -3, 5]), g.pick([5, 10, 1]), s)
    elif w == "randperm":
        c = g.fn("randperm", g.pick([0, 1, 5] + ([-1] if g.bad else [])))
    elif w == "normal":
        c = g.fn("normal", g.pick([0.0, 2.0]), g.pick([1.0, 0.0] + ([-1.0] if g.bad else [])), size=s)
    elif w in ("rand_like", "randn_like"):
        c = g.fn(w, g.T(kind="float" if not g.bad else "any", grad=False))
    elif w == "bernoulli":
        c = g.fn("bernoulli", g.T(kind="float", mode="unit", grad=False))
    elif w == "multinomial":
        c = g.fn("multinomial", g.T(shape=g.pick([(4,), (2, 3)]), kind="float32+", mode="pos", grad=False),
                 g.rint(1, 3), replacement=g.chance(0.5))
    else:
        c = g.meth(w, g.T(kind="float", grad=False))
    c["random"] = True
    c["op"] = w
    return c


HUGE = [2 ** 62, 2 ** 40, 2 ** 63 - 1, 10 ** 12]


@op("huge_sizes", 0.7)
def _(g):
    """Sizes whose byte count overflows or exceeds ~1e12: both sides must reject them."""
    w = g.pick(["zeros", "ones", "empty", "full", "rand", "randn", "eye", "repeat", "arange", "linspace",
                "zeros2", "expand_reduce"])
    h = g.pick(HUGE)
    if w in ("zeros", "ones", "empty", "rand", "randn"):
        c = g.fn(w, h)
    elif w == "zeros2":
        c = g.fn("zeros", 2 ** 32, 2 ** 32, dtype=DT(g.pick(["uint8", "float32"])))
    elif w == "full":
        c = g.fn("full", (2 ** 32, 2 ** 32), 7.0)
    elif w == "eye":
        c = g.fn("eye", g.pick([2 ** 31, 2 ** 40]))
    elif w == "repeat":
        c = g.meth("repeat", g.T(shape=(3,), grad=False, layout="c"), g.pick([2 ** 40, 2 ** 62]))
    elif w == "arange":
        c = g.fn("arange", 0, g.pick([1e13, 2.0 ** 62]))
    elif w == "linspace":
        c = g.fn("linspace", 0, 1, 2 ** 40)
    else:
        c = g.x("expand_clone", g.T(shape=(1,), grad=False, layout="c"), h)
    c["op"] = "huge." + w
    return c


# ====================================================================== case generation
def make_case(seed, i, op_filter=None):
    """Deterministic case `i` of `seed` (regenerate any case from its id alone)."""
    g = G(seed, i)
    ops = OPS if op_filter is None else [o for o in OPS if op_filter(o[0])]
    name, _, gen, flags = g.r.choices(ops, weights=[o[1] for o in ops])[0]
    c = gen(g)
    c.setdefault("op", c["call"].split(":", 1)[1].replace("nn.functional.", "F."))
    c.setdefault("random", False)
    c.setdefault("post", None)
    c.setdefault("inplace", False)
    c["id"] = i
    c["family"] = name
    return c
