"""The tracer behind torch.onnx.export.

Export runs the model's forward once on the example inputs while ferrotorch's Python entry points
(top-level ops, Tensor methods and operators, nn.functional, and the RNN modules) are temporarily
wrapped. A wrapped call at the outermost level whose arguments involve a traced value runs eagerly,
then its converter (in `_symbolic`) emits the matching ONNX nodes from the arguments and the eager
result. Calls made inside an op run untouched, so each user-level op maps to one converter. A
tensor that is neither traced nor a parameter/buffer is a constant of the graph.

Dynamic axes: dims of traced values are tracked as static or dynamic (ONNX shape inference on each
node). `x.shape` / `x.size()` return a `SymInt` for a dynamic dim: an int that remembers how to
compute itself in the graph (Shape -> Gather, plus the arithmetic done on it), so
`x.view(x.size(0), -1)` stays dynamic. A size turned into a plain int (`int(n)`) is a constant.
"""
import inspect
import operator
import threading
import types
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx import shape_inference

import ferrotorch as torch
from ferrotorch import _C

from .errors import OnnxExporterError, OnnxExporterWarning, UnsupportedOperatorError

_STATE = None  # the active tracer while export runs

_ONNX_TYPE = {torch.float32: TensorProto.FLOAT, torch.float64: TensorProto.DOUBLE, torch.float16: TensorProto.FLOAT16,
              torch.bfloat16: TensorProto.BFLOAT16, torch.int64: TensorProto.INT64, torch.int32: TensorProto.INT32,
              torch.int16: TensorProto.INT16, torch.int8: TensorProto.INT8, torch.uint8: TensorProto.UINT8,
              torch.bool: TensorProto.BOOL}
_NP = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16, torch.int64: np.int64,
       torch.int32: np.int32, torch.int16: np.int16, torch.int8: np.int8, torch.uint8: np.uint8, torch.bool: np.bool_}

_T = torch.Tensor
_SHAPE = _T.__dict__["shape"]
_SIZE = _T.__dict__["size"]


def active():
    return _STATE


def onnx_type(dtype):
    try:
        return _ONNX_TYPE[dtype]
    except KeyError:
        raise OnnxExporterError(f"dtype {dtype} has no ONNX equivalent") from None


def np_dtype(dtype):
    try:
        return _NP[dtype]
    except KeyError:
        raise OnnxExporterError(f"constants of dtype {dtype} are not supported by the ONNX exporter") from None


def eager_shape(t):
    """A tensor's concrete shape as plain ints (bypasses the tracing `shape` property)."""
    return tuple(_SHAPE.__get__(t, _T))


# ---------------------------------------------------------------------------------------- SymInt

class SymInt(int):
    """A traced tensor dimension: behaves as its int value, and records how to compute it."""

    def __new__(cls, value, expr):
        o = int.__new__(cls, value)
        o.expr = expr
        return o

    def __neg__(self):
        return SymInt(-int(self), ("Neg", self))

    def __pos__(self):
        return self

    def __abs__(self):
        return self if int(self) >= 0 else -self


def _sym_binop(name, fn, swap=False):
    def f(self, other):
        if isinstance(other, bool) or not isinstance(other, int):
            return fn(other, int(self)) if swap else fn(int(self), other)
        a, b = (other, self) if swap else (self, other)
        return SymInt(fn(int(a), int(b)), (name, a, b))
    return f


for _name, _fn, _op in (("add", operator.add, "Add"), ("sub", operator.sub, "Sub"), ("mul", operator.mul, "Mul"),
                        ("floordiv", operator.floordiv, "FloorDiv"), ("mod", operator.mod, "Mod")):
    setattr(SymInt, f"__{_name}__", _sym_binop(_op, _fn))
    setattr(SymInt, f"__r{_name}__", _sym_binop(_op, _fn, True))


def has_sym(x):
    if isinstance(x, SymInt):
        return True
    if isinstance(x, (list, tuple)):
        return any(has_sym(i) for i in x)
    return False


# ---------------------------------------------------------------------------------------- args

class Args:
    """A converter's view of one call: arguments bound to the entry point's signature.
    `a[i]` is the i-th parameter (self/input first), `a["name"]` by name, `a.get(name, default)`."""

    def __init__(self, sig, args, kwargs):
        self.raw_args, self.raw_kwargs = args, kwargs
        if sig is None:
            self.names, self.values = [], list(args)
            self.d = dict(kwargs)
            return
        b = sig.bind(*args, **kwargs)
        b.apply_defaults()
        self.d = dict(b.arguments)
        self.names = list(sig.parameters)
        self.values = [self.d.get(n) for n in self.names]

    def __getitem__(self, k):
        if isinstance(k, int):
            return self.values[k]
        return self.d[k]

    def get(self, k, default=None):
        return self.d.get(k, default)

    def __len__(self):
        return len(self.values)


_SIGS = {}


def _signature(fn):
    key = id(fn)
    if key not in _SIGS:
        try:
            _SIGS[key] = (fn, inspect.signature(fn))
        except (TypeError, ValueError):
            _SIGS[key] = (fn, None)
    return _SIGS[key][1]


def iter_tensors(x, depth=0):
    if isinstance(x, _T):
        yield x
    elif depth < 4 and isinstance(x, (list, tuple)):
        for i in x:
            yield from iter_tensors(i, depth + 1)
    elif depth < 4 and isinstance(x, dict):
        for i in x.values():
            yield from iter_tensors(i, depth + 1)


# ---------------------------------------------------------------------------------------- tracer

class Tracer:
    """Graph under construction plus the mapping from live tensors to ONNX value names."""

    def __init__(self, opset, dynamic, export_params, params):
        self.opset = opset
        self.dynamic = dynamic  # any dynamic axis: track dims, hand out SymInts
        self.export_params = export_params
        self.depth = 0
        self.nodes = []
        self.inits = {}  # name -> TensorProto
        self.param_inputs = []  # (name, tensor) when export_params=False
        self.params = params  # id -> (tensor, qualified name)
        self.param_names = {}  # id -> value name, once used
        self.vals = {}  # id -> (tensor, value name): traced tensors
        self.consts = {}  # (id, version) -> (tensor, name)
        self.const_ok = set()  # ids of converter outputs that are constants
        self.keep = []
        self.info = {}  # value name -> (elem type, dims with None for a dynamic dim) in dynamic mode
        self.const_data = {}  # small int64 constants, given to shape inference
        self.used = set()
        self.count = 0
        self.sym_memo = {}
        self.sym_dims = {}
        self.input_leaves = set()
        self.module_names = {}
        self.stale = set()  # ids of traced tensors changed in place through an alias
        self.thread = threading.get_ident()  # other threads run untraced

    # ------------------------------------------------------------------ names and nodes
    def fresh(self, hint):
        self.count += 1
        name = f"{hint}_{self.count}"
        while name in self.used:
            self.count += 1
            name = f"{hint}_{self.count}"
        self.used.add(name)
        return name

    def reserve(self, name):
        self.used.add(name)
        return name

    def op(self, op_type, *inputs, outputs=1, **attrs):
        """Appends a node; returns its output name (or a list when outputs > 1)."""
        outs = [self.fresh(op_type) for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        inputs = ["" if i is None else i for i in inputs]
        while inputs and not inputs[-1]:
            inputs.pop()  # trailing optional inputs are left out
        node = helper.make_node(op_type, inputs, outs,
                                name=f"/{op_type}_{self.count}", **attrs)
        self.nodes.append(node)
        if self.dynamic:
            self._infer(node)
        return outs[0] if outputs == 1 else outs

    def _infer(self, node):
        types_ = {}
        for i in node.input:
            if not i:
                continue
            inf = self.info.get(i)
            if inf is None:
                return
            types_[i] = _type_proto(*inf)
        try:
            schema = onnx.defs.get_schema(node.op_type, self.opset, "")
            data = {i: self.const_data[i] for i in node.input if i in self.const_data}
            res = shape_inference.infer_node_outputs(
                schema, node, types_, data, opset_imports=[helper.make_opsetid("", self.opset)])
        except Exception:  # noqa: BLE001 -- no inference: the outputs' dims stay unknown (dynamic)
            return
        for name, tp in res.items():
            tt = tp.tensor_type
            if not tt.HasField("shape"):
                continue
            dims = tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)
            self.info[name] = (tt.elem_type, dims)

    # ------------------------------------------------------------------ constants
    def const(self, arr, name=None):
        """An initializer holding a NumPy array (or TensorProto)."""
        name = self.reserve(name) if name and name not in self.used else self.fresh(name or "const")
        if isinstance(arr, TensorProto):
            tp = arr
            tp.name = name
        else:
            tp = numpy_helper.from_array(np.asarray(arr), name)
        self.inits[name] = tp
        dims = tuple(tp.dims)
        self.info[name] = (tp.data_type, dims)
        if tp.data_type == TensorProto.INT64 and len(dims) <= 1 and int(np.prod(dims)) <= 64:
            self.const_data[name] = tp
        return name

    def scalar(self, value, dtype):
        """A 0-d constant of a ferrotorch dtype."""
        return self.const(np.array(value, dtype=np_dtype(dtype)))

    def ints(self, values):
        """A 1-D int64 tensor from ints and SymInts (a Concat when any is dynamic)."""
        values = list(values)
        if not any(isinstance(v, SymInt) for v in values):
            return self.const(np.array([int(v) for v in values], dtype=np.int64))
        parts, run = [], []
        for v in values:
            if isinstance(v, SymInt):
                if run:
                    parts.append(self.const(np.array(run, dtype=np.int64)))
                    run = []
                parts.append(self.sym(v))
            else:
                run.append(int(v))
        if run:
            parts.append(self.const(np.array(run, dtype=np.int64)))
        return parts[0] if len(parts) == 1 else self.op("Concat", *parts, axis=0)

    def sym(self, s):
        """A SymInt (or int) as a 1-D int64 tensor of one element."""
        if not isinstance(s, SymInt):
            return self.const(np.array([int(s)], dtype=np.int64))
        key = id(s)
        if key in self.sym_memo:
            return self.sym_memo[key][1]
        e = s.expr
        if e[0] == "dim":
            if self.opset >= 15:
                r = self.op("Shape", e[1], start=e[2], end=e[2] + 1)
            else:
                r = self.op("Gather", self.op("Shape", e[1]), self.const(np.array([e[2]], dtype=np.int64)), axis=0)
        elif e[0] == "Neg":
            r = self.op("Neg", self.sym(e[1]))
        elif e[0] == "FloorDiv":
            a, b = e[1], e[2]
            if int(a) >= 0 and int(b) > 0:
                r = self.op("Div", self.sym(a), self.sym(b))  # truncation == floor for these signs
            else:
                sa, sb = self.sym(a), self.sym(b)
                r = self.op("Div", self.op("Sub", sa, self.op("Mod", sa, sb)), sb)
        else:
            r = self.op(e[0], self.sym(e[1]), self.sym(e[2]))
        self.sym_memo[key] = (s, r)
        return r

    def sym_scalar(self, s):
        """A SymInt (or int) as a 0-d int64 tensor."""
        if not isinstance(s, SymInt):
            return self.const(np.array(int(s), dtype=np.int64))
        return self.op("Squeeze", self.sym(s), self.const(np.array([0], dtype=np.int64)))

    # ------------------------------------------------------------------ tensors
    def is_traced(self, t):
        e = self.vals.get(id(t))
        return e is not None and e[0] is t

    def v(self, t):
        """The ONNX value name of a tensor: traced value, parameter, or a new constant."""
        e = self.vals.get(id(t))
        if e is not None and e[0] is t:
            if id(t) in self.stale:
                raise OnnxExporterError(
                    "a tensor was modified in place through another tensor sharing its memory (a view or a "
                    "detached alias); the exporter cannot follow that aliasing. Use out-of-place ops instead.")
            return e[1]
        p = self.params.get(id(t))
        if p is not None and p[0] is t:
            return self._param(t, p[1])
        return self._const(t)

    def _param(self, t, qual):
        name = self.param_names.get(id(t))
        if name is not None:
            return name
        name = self.reserve(qual if qual not in self.used else self.fresh(qual))
        self.param_names[id(t)] = name
        if self.export_params:
            self.inits[name] = tensor_proto(t, name)
        else:
            self.param_inputs.append((name, t))
        self.info[name] = (onnx_type(t.dtype), eager_shape(t))
        return name

    def _const(self, t):
        key = (id(t), t._version)
        e = self.consts.get(key)
        if e is not None and e[0] is t:
            return e[1]
        if t.grad_fn is not None and self._from_inputs(t):
            raise OnnxExporterError(
                "a tensor computed from the model inputs reached the exporter through an operation it did "
                "not record (a direct call into ferrotorch._C or a function captured before export). "
                "The graph would treat it as a constant, so export stops here.")
        name = self.fresh("const")
        self.inits[name] = tensor_proto(t, name)
        self.info[name] = (onnx_type(t.dtype), eager_shape(t))
        if t.dtype == torch.int64 and t.dim() <= 1 and t.numel() <= 64:
            self.const_data[name] = self.inits[name]
        self.consts[key] = (t, name)
        self.keep.append(t)
        return name

    def _from_inputs(self, t):
        """Whether autograd history links `t` to a traced input (so it is no constant)."""
        seen, stack = set(), [t.grad_fn]
        while stack and len(seen) < 200000:
            n = stack.pop()
            if n is None or n in seen:
                continue
            seen.add(n)
            var = getattr(n, "variable", None)
            if var is not None and var.data_ptr() in self.input_leaves:
                return True
            for nxt, _ in n.next_functions:
                stack.append(nxt)
        return False

    def set(self, t, name):
        """Binds a result tensor to a value name (rebinding a tensor changed in place)."""
        self.vals[id(t)] = (t, name)
        self.stale.discard(id(t))
        self.keep.append(t)

    def _mark_aliases(self, t):
        """After `t` changed in place, traced tensors sharing its memory hold stale values."""
        lo, hi = _span(t)
        if lo == hi:
            return
        for k, (u, _) in self.vals.items():
            if u is not t:
                a, b = _span(u)
                if a < hi and lo < b:
                    self.stale.add(k)

    def constant_result(self, t):
        """Marks a converter result as a constant (its value does not depend on traced data)."""
        self.const_ok.add(id(t))

    def dyn(self, t):
        """Per-dim flags: whether each dim of traced `t` may change at run time."""
        shp = eager_shape(t)
        if not self.dynamic or not self.is_traced(t):
            return (False,) * len(shp)
        inf = self.info.get(self.vals[id(t)][1])
        if inf is None or len(inf[1]) != len(shp):
            return (True,) * len(shp)
        return tuple(d is None or d != s for d, s in zip(inf[1], shp))

    def dims(self, t):
        """The shape of `t` as ints, with a SymInt for each dynamic dim."""
        shp = eager_shape(t)
        if not self.dynamic or not self.is_traced(t):
            return list(shp)
        name = self.vals[id(t)][1]
        out = []
        for i, (s, d) in enumerate(zip(shp, self.dyn(t))):
            if d:
                k = (name, i)
                if k not in self.sym_dims:
                    self.sym_dims[k] = SymInt(s, ("dim", name, i))
                out.append(self.sym_dims[k])
            else:
                out.append(s)
        return out

    def involved(self, x, depth=0):
        if isinstance(x, _T):
            return self.is_traced(x)
        if isinstance(x, SymInt):
            return True
        if depth < 4 and isinstance(x, (list, tuple)):
            return any(self.involved(i, depth + 1) for i in x)
        if isinstance(x, slice):
            return any(isinstance(i, SymInt) for i in (x.start, x.stop, x.step))
        if depth < 4 and isinstance(x, dict):
            return any(self.involved(i, depth + 1) for i in x.values())
        return False

    # ------------------------------------------------------------------ calls
    def call(self, orig, key, args, kwargs, conv):
        x = args[0] if args and isinstance(args[0], _T) else None
        ver = x._version if x is not None else None
        if x is not None and conv is not None and _inplace(key, kwargs) and not self.is_traced(x):
            # a constant written in place with traced data: its old value is captured first
            self.set(x, self.v(x))
        self.depth += 1
        try:
            out = orig(*args, **kwargs)
        finally:
            self.depth -= 1
        if conv is None:
            if not any(True for _ in iter_tensors(out)) and not isinstance(out, types.GeneratorType):
                if key in _BAKED and x is not None:
                    warnings.warn(f"Converting a tensor to a Python value ({key}) might cause the trace to be "
                                  "incorrect. We can't record the data flow of Python values, so this value will be "
                                  "treated as a constant in the future. This means that the trace might not "
                                  "generalize to other inputs!", OnnxExporterWarning, stacklevel=3)
                return out  # a Python value (a size, a bool): baked into the graph like PyTorch's tracer
            raise UnsupportedOperatorError(f"aten::{key.split('.')[-1]}", self.opset, None,
                                           f"ferrotorch's ONNX exporter has no conversion for '{key}'")
        if x is not None and x._version != ver:
            self._mark_aliases(x)
        a = Args(_signature(orig), args, kwargs)
        self.depth += 1
        try:
            res = conv(self, out, a)
        finally:
            self.depth -= 1
        if res is not None:
            out = res
        for t in iter_tensors(out):
            if not self.is_traced(t) and id(t) not in self.const_ok:
                raise OnnxExporterError(f"internal error: the converter for '{key}' left a result unmapped")
        return out


_INPLACE_DUNDERS = {"__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__", "__ipow__",
                    "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__", "__imatmul__", "__setitem__"}
_BAKED = {"__bool__", "item", "tolist", "__int__", "__float__", "__index__"}


def _inplace(key, kwargs):
    name = key.split(".")[-1]
    return (name.endswith("_") and not name.startswith("__")) or name in _INPLACE_DUNDERS or bool(
        kwargs.get("inplace"))


def _span(t):
    """[start, end) byte range a tensor can touch."""
    n = t.numel()
    if n == 0:
        return 0, 0
    start = t.data_ptr()
    ext = sum((s - 1) * abs(st) for s, st in zip(eager_shape(t), t.stride())) + 1
    return start, start + ext * t.element_size()


def _type_proto(elem, dims):
    return helper.make_tensor_type_proto(elem, [d if d is not None else None for d in dims])


def tensor_proto(t, name):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        raw = np.asarray(_C.view_dtype(t, torch.int16)).tobytes()
        return helper.make_tensor(name, TensorProto.BFLOAT16, eager_shape(t), raw, raw=True)
    return numpy_helper.from_array(np.array(np.asarray(t), copy=True), name)


# ---------------------------------------------------------------------------------------- patching

def _wrapper(orig, key, conv):
    accepts = getattr(conv, "accepts", None)  # a composite's converter may decline: its body is traced then

    def wrapper(*args, **kwargs):
        st = _STATE
        if st is None or st.depth or st.thread != threading.get_ident():
            return orig(*args, **kwargs)
        if not (st.involved(args) or (kwargs and st.involved(kwargs))):
            st.depth += 1
            try:
                return orig(*args, **kwargs)
            finally:
                st.depth -= 1
        if accepts is not None and not accepts(st, Args(_signature(orig), args, kwargs)):
            return orig(*args, **kwargs)
        return st.call(orig, key, args, kwargs, conv)
    for attr in ("__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attr, getattr(orig, attr))
        except (AttributeError, TypeError):
            pass
    wrapper.__wrapped__ = orig
    return wrapper


_TENSOR_SKIP = {"__new__", "__init__", "__repr__", "__str__", "__format__", "__hash__", "__reduce_ex__", "__reduce__",
                "__deepcopy__", "__array__", "__array_interface__", "__getattribute__", "__setattr__", "__delattr__",
                "__init_subclass__", "__subclasshook__", "__dir__", "__sizeof__", "__getstate__", "__setstate__",
                "__class__", "__doc__", "__module__", "__dict__", "__array_priority__", "size", "shape", "dim",
                "_make_subclass", "_set_is_param", "_same_tensor", "data_ptr", "numel", "ndimension", "nelement",
                "element_size", "stride", "storage_offset", "is_contiguous", "is_floating_point", "is_complex",
                "get_device", "register_hook", "backward", "__len__", "numpy", "retain_grad"}
_TORCH_SKIP = {"compile", "set_num_threads", "get_num_threads", "is_inference", "set_printoptions", "manual_seed",
               "seed", "initial_seed", "get_rng_state", "set_rng_state", "set_default_dtype", "get_default_dtype",
               "use_deterministic_algorithms", "is_grad_enabled", "is_inference_mode_enabled", "is_tensor",
               "is_floating_point", "is_complex", "numel", "result_type", "promote_types", "can_cast",
               "broadcast_shapes", "get_default_device"}
# composite nn.functional entry points traced through (their bodies only call wrapped entry
# points) unless a converter accepts the call
_TRACE_THROUGH = {"multi_head_attention_forward"}


class Patches:
    """Temporarily replaces attributes; `restore` puts every original back (in reverse order)."""

    def __init__(self):
        self.saved = []
        self.wrappers = {}  # id(original function) -> wrapper

    def set(self, obj, name, value):
        self.saved.append((obj, name, obj.__dict__[name] if isinstance(obj, type) else getattr(obj, name)))
        setattr(obj, name, value)

    def restore(self):
        while self.saved:
            obj, name, old = self.saved.pop()
            setattr(obj, name, old)


def _shape_prop(self):
    s = _SHAPE.__get__(self, _T)
    st = _STATE
    if st is None or st.depth or not st.dynamic or st.thread != threading.get_ident() or not st.is_traced(self):
        return s
    return torch.Size(st.dims(self))


def _size_method(self, *args, **kwargs):
    s = _SIZE(self, *args, **kwargs)
    st = _STATE
    if st is None or st.depth or not st.dynamic or st.thread != threading.get_ident() or not st.is_traced(self):
        return s
    dims = st.dims(self)
    if isinstance(s, tuple):
        return torch.Size(dims)
    d = args[0] if args else kwargs.get("dim")
    return dims[int(d) % len(dims)] if dims else s


def _data_get(self):
    return _T.__dict__["detach"](self)


def install(tracer, model, converters, module_converters):
    """Wraps the entry points for one export; returns the Patches to restore."""
    from ferrotorch.nn import functional as F
    from ferrotorch import nn
    p = Patches()
    data_desc = _T.__dict__["data"]
    try:
        for name, v in list(vars(_T).items()):
            if name in _TENSOR_SKIP:
                continue
            key = "Tensor.where" if name == "where" else name
            if isinstance(v, property):
                if v.fget is None:
                    continue
                w = _wrapper(v.fget, key, converters.get(key))
                p.set(_T, name, property(w, v.fset, v.fdel, v.__doc__))
            elif isinstance(v, (staticmethod, classmethod)):
                continue
            elif callable(v):
                w = _wrapper(v, key, converters.get(key))
                p.wrappers.setdefault(id(v), w)
                p.set(_T, name, w)
        p.set(_T, "shape", property(_shape_prop))
        p.set(_T, "size", _size_method)
        wdata = _wrapper(_data_get, "data", converters.get("data"))
        p.set(_T, "data", property(wdata, lambda self, val: data_desc.__set__(self, val)))
        for name, v in list(vars(torch).items()):
            if name.startswith("_") or name in _TORCH_SKIP or isinstance(v, type):
                continue
            if isinstance(v, (types.FunctionType, types.BuiltinFunctionType)):
                w = _wrapper(v, name, converters.get(name))
                p.wrappers.setdefault(id(v), w)
                p.set(torch, name, w)
        for name, v in list(vars(F).items()):
            if name.startswith("_") or not isinstance(v, types.FunctionType):
                continue
            key = "F." + name
            if name in _TRACE_THROUGH and not hasattr(converters.get(key), "accepts"):
                continue
            w = _wrapper(v, key, converters.get(key))
            p.wrappers[id(v)] = w  # a module holding F.relu itself (an activation attribute) gets this one
            p.set(F, name, w)
        p.set(F, "_shape", lambda t: tuple(t.shape))  # keeps SymInts in the traced-through composites
        for cls_name, conv in module_converters.items():
            cls = getattr(nn, cls_name)
            p.set(cls, "forward", _wrapper(cls.__dict__["forward"], "nn." + cls_name, conv))
        if isinstance(model, nn.Module):
            for m in model.modules():
                for k, val in list(vars(m).items()):
                    if isinstance(val, types.FunctionType) and id(val) in p.wrappers:
                        p.set(m, k, p.wrappers[id(val)])
    except BaseException:
        p.restore()
        raise
    return p


def set_state(st):
    global _STATE
    _STATE = st
