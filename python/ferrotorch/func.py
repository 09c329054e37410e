"""torch.func: function transforms built on ferrotorch's autograd.

vmap runs the function once per batch element and stacks the results (correct, not fast);
grad / jacrev / jacfwd / vjp / jvp / hessian call autograd.grad. Gradients come back connected
to the caller's graph when the inputs require grad, so transforms nest (grad(grad(f)), jacrev of
grad, vmap of grad)."""
import functools
import numbers

from . import _C, _ops
from ._core import Tensor
from .autograd import grad as _autograd_grad
from .autograd.grad_mode import enable_grad

__all__ = ["vmap", "grad", "grad_and_value", "jacrev", "jacfwd", "hessian", "vjp", "jvp", "functional_call",
           "stack_module_state", "functionalize"]


# ---------------------------------------------------------------- pytrees (tuple, list, dict, namedtuple)

class _Leaf:
    def __repr__(self):
        return "*"


_LEAF = _Leaf()


def _is_nt(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _flatten(x):
    """(leaves, spec) for nested tuples/lists/dicts; spec is (kind, meta, children) or _LEAF."""
    if isinstance(x, (tuple, list)):
        kind = type(x) if _is_nt(x) else (tuple if isinstance(x, tuple) else list)
        leaves, specs = [], []
        for v in x:
            lv, sp = _flatten(v)
            leaves += lv
            specs.append(sp)
        return leaves, (kind, None, specs)
    if isinstance(x, dict):
        leaves, specs = [], []
        for v in x.values():
            lv, sp = _flatten(v)
            leaves += lv
            specs.append(sp)
        return leaves, (dict, list(x.keys()), specs)
    return [x], _LEAF


def _unflatten(leaves, spec):
    it = iter(leaves)

    def build(sp):
        if sp is _LEAF:
            return next(it)
        kind, meta, kids = sp
        vals = [build(k) for k in kids]
        if kind is dict:
            return dict(zip(meta, vals))
        if kind in (tuple, list):
            return kind(vals)
        return kind(*vals)
    return build(spec)


def _spec_str(sp, indent=0):
    """A structure as PyTorch's pytree TreeSpec prints it."""
    if sp is _LEAF:
        return "*"
    kind, meta, kids = sp
    ctx = meta if kind is dict else (None if kind in (tuple, list) else kind)
    body = ""
    if kids:
        indent += 2
        body = _spec_str(kids[0], indent) + ("," if len(kids) > 1 else "")
        body += ",".join("\n" + " " * indent + _spec_str(k, indent) for k in kids[1:])
    return f"TreeSpec({kind.__name__}, {ctx}, [{body}])"


def _broadcast(prefix, sp):
    """Leaves of a prefix tree (ints/None) broadcast over the structure `sp`, or None if they do not fit."""
    if prefix is None or isinstance(prefix, numbers.Number):
        return [prefix] * _count(sp)
    if sp is _LEAF:
        return None
    kind, meta, kids = sp
    if isinstance(prefix, dict):
        if kind is not dict or list(prefix.keys()) != meta:
            return None
        parts = list(prefix.values())
    elif isinstance(prefix, (tuple, list)):
        pk = type(prefix) if _is_nt(prefix) else (tuple if isinstance(prefix, tuple) else list)
        if pk is not kind or len(prefix) != len(kids):
            return None
        parts = list(prefix)
    else:
        return None
    out = []
    for p, k in zip(parts, kids):
        r = _broadcast(p, k)
        if r is None:
            return None
        out += r
    return out


def _count(sp):
    return 1 if sp is _LEAF else sum(_count(k) for k in sp[2])


def _name(f):
    return getattr(f, "__name__", repr(f))


# ---------------------------------------------------------------- vmap

def _rng_state():
    return _ops.get_rng_state()


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Maps `func` over dimension `in_dims` of its inputs, stacking results at `out_dims`.

    in_dims/out_dims: an int, None (not mapped) or a tuple (nested like the inputs/outputs).
    randomness: 'error' (random ops raise), 'different' or 'same' (every element sees the same
    random numbers)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        fname = _name(func)
        where = f"vmap({fname}, in_dims={in_dims}, ...)(<inputs>)"
        if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
            raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
                             f"structure of inputs, got: {type(in_dims)}.")
        if not args:
            raise ValueError(f"vmap({fname})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying "
                             "to vmap over a function with no inputs. The latter is unsupported.")
        leaves, spec = _flatten(args)
        dims = _broadcast(in_dims, spec)
        if dims is None:
            dspec = _flatten(in_dims)[1] if not isinstance(in_dims, int) else _LEAF
            raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has structure "
                             f"{_spec_str(dspec)} but inputs has structure {_spec_str(spec)}.")
        sizes = []
        for leaf, d in zip(leaves, dims):
            if d is None:
                continue
            if not isinstance(d, int) or isinstance(d, bool):
                raise ValueError(f"{where}: Got in_dim={d} for an input but in_dim must be either an integer dimension or None.")
            if not isinstance(leaf, Tensor):
                raise ValueError(f"{where}: Got in_dim={d} for an input but the input is of type {type(leaf)}. We cannot "
                                 "vmap over non-Tensor arguments, please use None as the respective in_dim")
            n = leaf.ndim
            if not -n <= d < n:
                raise ValueError(f"{where}: Got in_dim={d} for some input, but that input is a Tensor of dimensionality "
                                 f"{n} so expected in_dim to satisfy -{n} <= in_dim < {n}.")
            sizes.append(leaf.shape[d])
        if not sizes:
            raise ValueError("vmap: Expected at least one Tensor to vmap over")
        if len(set(sizes)) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                             f"{sizes} for the mapped dimension")
        B = sizes[0]

        def sample(i):
            if i is None:  # an empty batch: zeros shaped like one element, to learn the output structure
                return [leaf if d is None else _ops.zeros(*(s for k, s in enumerate(leaf.shape) if k != d % leaf.ndim),
                                                         dtype=leaf.dtype) for leaf, d in zip(leaves, dims)]
            return [leaf if d is None else _ops.select(leaf, d, i) for leaf, d in zip(leaves, dims)]

        state = _rng_state() if randomness in ("same", "error") else None
        outs = []
        for i in (range(B) if B else [None]):
            if randomness == "same":
                _ops.set_rng_state(state)
            outs.append(func(*_unflatten(sample(i), spec), **kwargs))
            if randomness == "error" and not _ops.equal(_rng_state(), state):
                _ops.set_rng_state(state)
                raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use the "
                                   "'same' or 'different' randomness flags on vmap or perform the randomness operation "
                                   "out of vmap")
        return _stack_outputs(fname, outs, out_dims, B)
    return wrapped


def _check_out_dims(out_dims, fname):
    leaves = _flatten(out_dims)[0] if isinstance(out_dims, (tuple, list, dict)) else [out_dims]
    for d in leaves:
        if d is not None and (not isinstance(d, int) or isinstance(d, bool)):
            raise ValueError(f"vmap({fname}, ..., out_dims={out_dims}): `out_dims` must be an int, None or a python "
                             "collection of ints representing where in the outputs the vmapped dimension should appear.")


def _stack_outputs(fname, outs, out_dims, B):
    _check_out_dims(out_dims, fname)
    flat = [_flatten(o) for o in outs]
    spec = flat[0][1]
    dims = _broadcast(out_dims, spec)
    if dims is None:
        dspec = _flatten(out_dims)[1]
        raise ValueError(f"vmap({fname}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the "
                         f"structure of `outputs`. out_dims has structure {_spec_str(dspec)} but outputs has structure "
                         f"{_spec_str(spec)}.")
    result = []
    for j, d in enumerate(dims):
        col = [f[0][j] for f in flat]
        if d is None:
            first = col[0]
            if isinstance(first, Tensor) and B and any(not (isinstance(c, Tensor) and c.shape == first.shape and
                                                         _ops.equal(c, first)) for c in col[1:]):
                raise ValueError(f"vmap({fname}, ...): `{fname}` can not return a BatchedTensor when out_dim is None")
            result.append(first)
            continue
        for c in col:
            if not isinstance(c, Tensor):
                raise ValueError(f"vmap({fname}, ...): `{fname}` must only return Tensors, got type {type(c)}. "
                                 "Did you mean to set out_dims= to None for output?")
        s = _ops.stack(col, d)
        result.append(s if B else _ops.narrow(s, d % s.ndim, 0, 0))
    return _unflatten(result, spec)


# ---------------------------------------------------------------- grad and friends

def _check_argnums(argnums, nargs):
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        nums, single = (argnums,), True
    elif isinstance(argnums, tuple) and all(isinstance(a, int) and not isinstance(a, bool) for a in argnums):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        nums, single = argnums, False
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for a in nums:
        if not -nargs <= a < nargs:
            raise RuntimeError(f"Got argnum={a}, but only {nargs} positional inputs")
    return [a % nargs for a in nums], single


def _track(x):
    """A version of x that autograd can differentiate with respect to; it stays connected to
    the caller's graph when x already requires grad (so transforms nest)."""
    if not isinstance(x, Tensor):
        return x
    if not x.dtype.is_floating_point:
        raise RuntimeError("only Tensors of floating point dtype can require gradients")
    return x.view_as(x) if x.requires_grad else x.detach().requires_grad_(True)


def _prepare(args, argnums):
    """Tracked copies of the selected args; returns (new args, tracked trees, their leaves, outer)."""
    nums, single = _check_argnums(argnums, len(args))
    args = list(args)
    trees, outer = [], False
    for a in nums:
        leaves, spec = _flatten(args[a])
        outer = outer or any(isinstance(v, Tensor) and v.requires_grad for v in leaves)
        tracked = [_track(v) for v in leaves]
        trees.append((tracked, spec))
        args[a] = _unflatten(tracked, spec)
    return args, trees, single, outer


def _grads(outputs, inputs, grad_outputs, outer):
    """autograd.grad with zeros for inputs the outputs do not depend on."""
    outs = [o for o in outputs if o.requires_grad]
    gos = None if grad_outputs is None else [g for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    ins = [i for i in inputs if isinstance(i, Tensor)]
    res = [None] * len(ins)
    if outs and ins:
        res = list(_autograd_grad(outs, ins, gos, retain_graph=True, create_graph=outer and _C.is_grad_enabled(),
                                  allow_unused=True))
    res = iter(_ops.zeros_like(i) if r is None else (r if outer else r.detach()) for r, i in zip(res, ins))
    return [next(res) if isinstance(i, Tensor) else None for i in inputs]


def _detach_tree(x, outer):
    if outer:
        return x
    leaves, spec = _flatten(x)
    return _unflatten([v.detach() if isinstance(v, Tensor) else v for v in leaves], spec)


def grad_and_value(func, argnums=0, has_aux=False):
    """Like grad, returning (gradient, value) — ((gradient), (value, aux)) with has_aux."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with enable_grad():
            args, trees, single, outer = _prepare(args, argnums)
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should be a tuple: (output, aux) "
                                       "if has_aux is True")
                out, aux = out
            if not isinstance(out, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got {type(out)}")
            if out.ndim != 0:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor "
                                   f"with {out.ndim} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
            flat = [v for leaves, _ in trees for v in leaves]
            gs = iter(_grads([out], flat, None, outer))
        res = tuple(_unflatten([next(gs) for _ in leaves], spec) for leaves, spec in trees)
        res = res[0] if single else res
        value = out if outer else out.detach()
        return (res, (value, _detach_tree(aux, outer))) if has_aux else (res, value)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of a scalar-valued `func` with respect to its argument(s) `argnums`."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, v = gv(*args, **kwargs)
        return (g, v[1]) if has_aux else g
    return wrapper


def _jacobian(func, argnums, has_aux, name):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with enable_grad():
            args, trees, single, outer = _prepare(args, argnums)
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    where = "vjp(f, *primals)" if name == "jacrev" else "jvp(f, primals, tangents)"
                    raise RuntimeError(f"{where}: output of function f should be a tuple: (output, aux) if has_aux is True")
                out, aux = out
            outs, ospec = _flatten(out)
            for o in outs:
                if not isinstance(o, Tensor):
                    raise RuntimeError(f"vjp(f, *primals): expected f(*primals) to return only tensors, got unsupported "
                                       f"type {type(o)}")
            flat = [v for leaves, _ in trees for v in leaves]
            jac_leaves = []
            for o in outs:
                rows = []
                of = o.reshape(-1)
                for k in range(of.numel()):
                    rows.append(_grads([of[k]], flat, None, outer))
                per_in = []
                for j, v in enumerate(flat):
                    if rows:
                        J = _ops.stack([r[j] for r in rows], 0)
                    else:
                        J = _ops.zeros(0, *v.shape, dtype=o.dtype)
                    per_in.append(J.reshape(*o.shape, *v.shape))
                it = iter(per_in)
                by_arg = tuple(_unflatten([next(it) for _ in leaves], spec) for leaves, spec in trees)
                jac_leaves.append(by_arg[0] if single else by_arg)
        jac = _unflatten(jac_leaves, ospec)
        return (jac, _detach_tree(aux, outer)) if has_aux else jac
    return wrapper


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """Jacobian of `func` with respect to argument(s) `argnums` (one backward pass per output element)."""
    return _jacobian(func, argnums, has_aux, "jacrev")


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """Jacobian of `func` (computed by reverse mode here; same values as forward mode)."""
    return _jacobian(func, argnums, has_aux, "jacfwd")


def hessian(func, argnums=0):
    """Hessian of a scalar `func`: the Jacobian of its gradient."""
    return jacfwd(jacrev(func, argnums), argnums)


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn): vjp_fn(cotangents) returns the vector-Jacobian products, one per primal."""
    with enable_grad():
        args, trees, _, outer = _prepare(primals, tuple(range(len(primals)))) if primals else ([], [], False, False)
        out = func(*args)
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError("vjp(f, *primals): output of function f should be a tuple: (output, aux) if has_aux is True")
            out, aux = out
    outs, ospec = _flatten(out)
    for o in outs:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"vjp(f, *primals): expected f(*primals) to return only tensors, got unsupported type {type(o)}")
    flat = [v for leaves, _ in trees for v in leaves]

    def vjp_fn(cotangents):
        cots, cspec = _flatten(cotangents)
        if len(cots) != len(outs):
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of outputs "
                               f"to the function. cotangents: {_spec_str(cspec)}, primal output: {_spec_str(ospec)}")
        for k, (c, o) in enumerate(zip(cots, outs)):
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[{k}] has a shape of {c.shape} and output[{k}] has a "
                                   f"shape of {o.shape}.")
        with enable_grad():
            gs = iter(_grads(outs, flat, cots, outer))
        return tuple(_unflatten([next(gs) for _ in leaves], spec) for leaves, spec in trees)
    res = _detach_tree(out, outer)
    return (res, vjp_fn, _detach_tree(aux, outer)) if has_aux else (res, vjp_fn)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), Jacobian-vector product with `tangents`), by the double-vjp trick."""
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    if not isinstance(tangents, tuple) or len(tangents) != len(primals):
        raise RuntimeError("jvp(f, primals, tangents): Expected tangents to be a tuple with the same structure as primals.")
    with enable_grad():
        args, trees, _, outer = _prepare(primals, tuple(range(len(primals))))
        out = func(*args)
        aux = None
        if has_aux:
            out, aux = out
        outs, ospec = _flatten(out)
        flat = [v for leaves, _ in trees for v in leaves]
        tans = _flatten(tangents)[0]
        for p, t in zip(flat, tans):
            if tuple(t.shape) != tuple(p.shape):
                raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                                   f"Tensor, this is not supported. Tensor is of size {list(p.shape)} while the given "
                                   f"forward gradient is of size {list(t.shape)}.")
        # u -> J^T u is linear in u; its vjp with the tangents is J t
        us = [_ops.zeros_like(o).requires_grad_(True) for o in outs]
        gs = _grads(outs, flat, us, True)
        pairs = [(g, t) for g, t in zip(gs, tans) if g is not None and g.requires_grad]
        jv = [None] * len(us)
        if pairs:
            jv = list(_autograd_grad([g for g, _ in pairs], us, [t for _, t in pairs], retain_graph=True,
                                     create_graph=outer, allow_unused=True))
        jv = [_ops.zeros_like(o) if j is None else (j if outer else j.detach()) for j, o in zip(jv, outs)]
    res = (_detach_tree(out, outer), _unflatten(jv, ospec))
    return res + (_detach_tree(aux, outer),) if has_aux else res


# ---------------------------------------------------------------- functional_call

def _resolve(module, name):
    parts = name.split(".")
    mod = module
    for p in parts[:-1]:
        if p not in mod._modules:
            raise AttributeError(f"{type(mod).__name__} has no attribute `{p}`")
        mod = mod._modules[p]
    return mod, parts[-1]


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """Calls `module` with some parameters/buffers (dotted names) replaced by the given tensors,
    restoring the originals afterwards."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        values = dict(dicts)
    else:
        values, seen = {}, set()
        for d in dicts:
            dup = sorted(seen & set(d))
            if dup:
                raise ValueError(f"{dup} appeared in multiple dictionaries; behavior of functional call is ambiguous")
            seen |= set(d)
            values.update(d)
    for v in values.values():
        if not isinstance(v, Tensor):
            raise TypeError(f"{v} is not an instance of torch.Tensor")
    known = dict(module.named_parameters(remove_duplicate=False))
    known.update(module.named_buffers(remove_duplicate=False))
    if tie_weights:
        # names sharing one tensor take the value given for any of them
        groups = {}
        for n, t in known.items():
            groups.setdefault(id(t), []).append(n)
        for names in groups.values():
            given = [n for n in names if n in values]
            if len(given) > 1 and any(values[n] is not values[given[0]] for n in given[1:]):
                raise ValueError(f"functional_call got multiple values for keys {names}, which are tied. "
                                 "Consider using tie_weights=False")
            if given:
                for n in names:
                    values.setdefault(n, values[given[0]])
    if strict:
        unexpected = [k for k in values if k not in known]
        missing = [k for k in known if k not in values]
        if unexpected or missing:
            msg = f"Error(s) in reparametrizing for {type(module).__name__}:\n"
            if unexpected:
                msg += f"\tUnexpected key(s): {', '.join(repr(k) for k in unexpected)}.\n"
            if missing:
                msg += f"\tMissing key(s): {', '.join(repr(k) for k in missing)}.\n"
            raise RuntimeError(msg.rstrip("\n"))
    undo = []
    try:
        for name, t in values.items():
            mod, leaf = _resolve(module, name)
            for store in (mod._parameters, mod._buffers):
                if leaf in store:
                    undo.append((store, leaf, store[leaf]))
                    store[leaf] = t
                    break
            else:
                old = mod.__dict__.get(leaf, _LEAF)
                undo.append((mod.__dict__, leaf, old))
                mod.__dict__[leaf] = t
        if args is None:
            args = ()
        elif not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for store, leaf, old in reversed(undo):
            if old is _LEAF:
                store.pop(leaf, None)
            else:
                store[leaf] = old


def stack_module_state(models):
    """(params, buffers) of identical models, each entry stacked along a new leading dim (for
    ensembling with vmap over functional_call); stacked parameters are new leaves."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named, name):
        ts = [n[name] for n in named]
        grads = [t.requires_grad for t in ts]
        if any(grads) and not all(grads):
            raise RuntimeError("Expected all tensors to have the same requires_grad, but got a mix of True and False "
                               f"for {name}")
        r = _ops.stack([t.detach() for t in ts])
        return r.requires_grad_(True) if all(grads) else r
    named_p = [dict(m.named_parameters()) for m in models]
    named_b = [dict(m.named_buffers()) for m in models]
    return ({k: stacked(named_p, k) for k in named_p[0]}, {k: stacked(named_b, k) for k in named_b[0]})


def functionalize(func, *, remove="mutations"):
    """Eager ferrotorch has no graph to rewrite: the function itself computes the same values."""
    return func
