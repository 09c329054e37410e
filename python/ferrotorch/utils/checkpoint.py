"""``torch.utils.checkpoint``: trade compute for memory by recomputing a segment in backward.

A checkpointed segment keeps only its inputs (and the RNG/autocast state) after the forward
pass; backward reruns it with grad enabled and backpropagates through the recomputed graph.

* ``use_reentrant=True``: PyTorch's original variant. Forward runs under ``no_grad``; backward
  recomputes and calls ``torch.autograd.backward`` on the recomputed outputs, so parameters
  used inside get their ``.grad`` accumulated directly. At least one input must require grad.
* ``use_reentrant=False`` (recommended): gradients flow to every tensor the segment used
  (closure parameters too) through ``backward()`` and ``torch.autograd.grad`` alike, keyword
  arguments are allowed, and inputs need not require grad. Here the segment's graph leaves
  are found by walking the forward graph once; the graph is then dropped, and backward
  recomputes and differentiates with ``torch.autograd.grad``. A non-leaf tensor that the
  segment reads from a closure (not passed as an argument) gets no gradient through it.
"""
import contextlib
import warnings

import ferrotorch as torch
from ferrotorch.autograd.function import Function

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction", "check_backward_validity",
           "detach_variable", "get_device_states", "set_device_states", "noop_context_fn", "set_checkpoint_early_stop",
           "set_checkpoint_debug_enabled", "DefaultDeviceType"]

_DEFAULT_DETERMINISM_MODE = "default"


class CheckpointError(RuntimeError):
    pass


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


class DefaultDeviceType:
    """The device type whose RNG checkpoint preserves besides the CPU's (no GPUs here)."""
    _default_device_type = "cuda"

    @staticmethod
    def set_device_type(device="cuda"):
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type():
        return DefaultDeviceType._default_device_type


def detach_variable(inputs):
    if isinstance(inputs, tuple):
        out = []
        for inp in inputs:
            if not isinstance(inp, torch.Tensor):
                out.append(inp)
                continue
            x = inp.detach()
            x.requires_grad = inp.requires_grad
            out.append(x)
        return tuple(out)
    raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: ", type(inputs).__name__)


def check_backward_validity(inputs):
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, torch.Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)


def get_device_states(*args):
    """Per-GPU RNG states of the inputs' devices: none (CPU only)."""
    return [], []


def set_device_states(devices, states, *, device_type=None):
    pass


_early_stop = True
_debug = False


@contextlib.contextmanager
def set_checkpoint_early_stop(enable):
    global _early_stop
    prev, _early_stop = _early_stop, enable
    try:
        yield
    finally:
        _early_stop = prev


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled):
    global _debug
    prev, _debug = _debug, enabled
    try:
        yield
    finally:
        _debug = prev


def _autocast_state():
    from ferrotorch.amp import _state
    return dict(device_type="cpu", enabled=_state.is_autocast_enabled("cpu"), dtype=_state.get_autocast_dtype("cpu"),
                cache_enabled=_state.is_autocast_cache_enabled())


@contextlib.contextmanager
def _rng_restored(state):
    """Run with the CPU generator at ``state`` (None: untouched), then put the current state back."""
    if state is None:
        yield
        return
    now = torch.get_rng_state()
    torch.set_rng_state(state)
    try:
        yield
    finally:
        torch.set_rng_state(now)


class CheckpointFunction(Function):
    """The reentrant checkpoint node: forward without a graph, backward recomputes and backpropagates."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.autocast = _autocast_state()
        ctx.rng_state = torch.get_rng_state() if preserve_rng_state else None
        ctx.inputs = [None if isinstance(a, torch.Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor)]
        ctx.save_for_backward(*[a for a in args if isinstance(a, torch.Tensor)])
        with torch.no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        detached = detach_variable(tuple(inputs))
        from ferrotorch.amp import autocast
        with _rng_restored(ctx.rng_state), torch.enable_grad(), autocast(**ctx.autocast):
            outputs = ctx.run_function(*detached)
        if isinstance(outputs, torch.Tensor):
            outputs = (outputs,)
        outs, gouts = [], []
        for o, g in zip(outputs, grads):
            if isinstance(o, torch.Tensor) and o.requires_grad and g is not None:
                outs.append(o)
                gouts.append(g)
        if not outs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        torch.autograd.backward(outs, gouts)
        return (None, None) + tuple(x.grad if isinstance(x, torch.Tensor) else None for x in detached)


# ---------------------------------------------------------------- non-reentrant variant

def _flatten(obj, out):
    """The tensors of a (nested tuple/list/dict) output, and a function rebuilding it from new tensors."""
    if isinstance(obj, torch.Tensor):
        out.append(obj)
        return lambda it: next(it)
    if isinstance(obj, (tuple, list)):
        parts = [_flatten(o, out) for o in obj]
        kind = type(obj)
        if kind in (tuple, list):
            return lambda it: kind(p(it) for p in parts)
        return lambda it: kind(*(p(it) for p in parts))  # namedtuple
    if isinstance(obj, dict):
        keys = list(obj)
        parts = [_flatten(obj[k], out) for k in keys]
        return lambda it: type(obj)((k, p(it)) for k, p in zip(keys, parts))
    return lambda it: obj


def _graph_leaves(outputs, stop):
    """Leaf tensors requiring grad that ``outputs`` depend on, not looking past ``stop`` nodes."""
    leaves, seen = [], set()
    todo = [o.grad_fn for o in outputs if o.grad_fn is not None]
    while todo:
        node = todo.pop()
        if node is None or node in seen or node in stop:
            continue
        seen.add(node)
        var = getattr(node, "variable", None)
        if var is not None:
            leaves.append(var)
            continue
        todo.extend(n for n, _ in node.next_functions)
    return leaves


def _meta(t):
    return {"shape": t.shape, "dtype": t.dtype, "device": t.device}


class _Segment:
    """What backward needs to recompute one non-reentrant checkpoint."""

    def __init__(self, function, args, kwargs, rng_state, autocast, recompute_ctx, determinism_check, metas, n_args):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.rng_state, self.autocast, self.recompute_ctx = rng_state, autocast, recompute_ctx
        self.determinism_check, self.metas, self.n_args = determinism_check, metas, n_args

    def grads(self, inputs, grad_outputs):
        arg_pos = [i for i, a in enumerate(self.args) if isinstance(a, torch.Tensor)]
        args = list(self.args)
        for i, t in zip(arg_pos, inputs[:self.n_args]):
            args[i] = t.detach().requires_grad_(t.requires_grad)
        leaves = list(inputs[self.n_args:])
        from ferrotorch.amp import autocast
        with _rng_restored(self.rng_state), torch.enable_grad(), autocast(**self.autocast), self.recompute_ctx:
            out = self.function(*args, **self.kwargs)
        flat = []
        _flatten(out, flat)
        if self.determinism_check == _DEFAULT_DETERMINISM_MODE:
            bad = [(i, m, _meta(t)) for i, (m, t) in enumerate(zip(self.metas, flat)) if m != _meta(t)]
            if bad or len(flat) != len(self.metas):
                text = "".join(f"tensor at position {i}:\nsaved metadata: {m}\nrecomputed metadata: {r}\n"
                               for i, m, r in bad)
                raise CheckpointError("torch.utils.checkpoint: Recomputed values for the following tensors have "
                                      f"different metadata than during the forward pass.\n{text}")
        outs, gouts = [], []
        for o, g in zip(flat, grad_outputs):
            if o.requires_grad and g is not None:
                outs.append(o)
                gouts.append(g)
        wrt = [args[i] for i in arg_pos] + leaves
        need = [i for i, t in enumerate(wrt) if t.requires_grad]
        result = [None] * len(wrt)
        if outs and need:
            got = torch.autograd.grad(outs, [wrt[i] for i in need], gouts, allow_unused=True)
            for i, g in zip(need, got):
                result[i] = g
        return tuple(result)


class _CheckpointNode(Function):
    """Hands out the precomputed outputs; its backward recomputes the segment."""

    @staticmethod
    def forward(ctx, segment, outputs, *inputs):
        ctx.segment = segment
        ctx.save_for_backward(*inputs)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    @staticmethod
    def backward(ctx, *grads):
        return (None, None) + ctx.segment.grads(ctx.saved_tensors, grads)


def _checkpoint_without_reentrant(function, preserve_rng_state, context_fn, determinism_check, args, kwargs):
    if determinism_check not in (_DEFAULT_DETERMINISM_MODE, "none"):
        raise ValueError(f"determinism_check should be one of ['{_DEFAULT_DETERMINISM_MODE}', 'none'], "
                         f"but got {determinism_check}")
    forward_ctx, recompute_ctx = context_fn()
    rng_state = torch.get_rng_state() if preserve_rng_state else None
    autocast = _autocast_state()
    with forward_ctx:
        out = function(*args, **kwargs)
    if not torch.is_grad_enabled():
        return out
    flat = []
    rebuild = _flatten(out, flat)
    tracked = [t for t in flat if t.requires_grad]
    if not tracked:
        return out
    arg_tensors = [a for a in args if isinstance(a, torch.Tensor)]
    stop = {a.grad_fn for a in arg_tensors if a.grad_fn is not None}
    leaves = _graph_leaves(tracked, stop)
    segment = _Segment(function, args, kwargs, rng_state, autocast, recompute_ctx, determinism_check,
                       [_meta(t) for t in flat], len(arg_tensors))
    # the segment's graph goes with `out`; callers get fresh outputs hanging off one recompute node
    detached = [t.detach() for t in flat]
    del out, tracked
    res = _CheckpointNode.apply(segment, detached, *arg_tensors, *leaves)
    new = list(res) if isinstance(res, tuple) else [res]
    # outputs that did not require grad keep requires_grad=False (PyTorch)
    new = [n if o.requires_grad else d for n, o, d in zip(new, flat, detached)]
    return rebuild(iter(new))


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check=_DEFAULT_DETERMINISM_MODE, debug=False, early_stop=True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its intermediate activations; recompute
    them in backward. ``preserve_rng_state=True`` (a keyword) replays the RNG so dropout masks match.
    """
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in "
                      "PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. "
                      "use_reentrant=False is recommended, but if you need to preserve the current default behavior, "
                      "you can pass use_reentrant=True. Refer to docs for more details on the differences between "
                      "the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
        return CheckpointFunction.apply(function, preserve, *args)
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, args, kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Split ``functions`` (a Sequential or list of modules) into ``segments`` chunks and checkpoint
    all but the last."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
                      "explicitly. In version 2.9 we will raise an exception if use_reentrant is not passed. "
                      "use_reentrant=False is recommended, but if you need to preserve the current default behavior, "
                      "you can pass use_reentrant=True. Refer to docs for more details on the differences between "
                      "the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run(start, end, fns):
        def forward(x):
            for j in range(start, end + 1):
                x = fns[j](x)
            return x
        return forward

    if isinstance(functions, torch.nn.Sequential):
        functions = list(functions.children())
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end, functions), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1, functions)(input)
