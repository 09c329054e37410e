"""torch.autograd.Function: user-defined forward/backward recorded as one graph node."""
import functools

from .. import _C
from .._core import Tensor
from .grad_mode import no_grad


class FunctionCtx:
    def __init__(self):
        self.to_save = ()
        self._saved_versions = ()
        self.needs_input_grad = ()
        self.dirty_tensors = ()
        self.non_differentiable = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        self.to_save = tensors
        self._saved_versions = tuple(t._version if isinstance(t, Tensor) else None for t in tensors)

    @property
    def saved_tensors(self):
        for t, v in zip(self.to_save, self._saved_versions):
            if isinstance(t, Tensor) and t._version != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace operation: "
                    f"[torch.{str(t.dtype).split('.')[-1]} {list(t.shape)}] is at version {t._version}; expected version {v} instead.")
        return self.to_save

    def save_for_forward(self, *tensors):
        self.saved_for_forward = tensors

    def mark_dirty(self, *args):
        self.dirty_tensors = args

    def mark_non_differentiable(self, *args):
        self.non_differentiable = args

    def set_materialize_grads(self, value):
        self.materialize_grads = value


class BackwardCFunction(FunctionCtx):
    pass


class FunctionMeta(type):
    pass


class Function(metaclass=FunctionMeta):
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grads)`; call `.apply`."""

    def __init__(self, *args, **kwargs):
        pass

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def setup_context(ctx, inputs, output):
        return NotImplemented

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = BackwardCFunction()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        uses_setup = cls.setup_context is not Function.setup_context and cls.__dict__.get("setup_context") is not None
        with no_grad():
            if uses_setup:
                out = cls.forward(*args, **kwargs)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        if uses_setup:
            cls.setup_context(ctx, args, out)
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        tensor_args = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor)]
        needs = _C.is_grad_enabled() and any(a.requires_grad for _, a in tensor_args)
        if not needs:
            return out
        dirty = {id(t) for t in ctx.dirty_tensors}
        for t in ctx.dirty_tensors:
            if t.is_leaf and t.requires_grad:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        non_diff = {id(t) for t in ctx.non_differentiable}
        arg_ids = {id(a) for _, a in tensor_args}
        new_outs = []
        for o in outs:
            if isinstance(o, Tensor) and id(o) in arg_ids and id(o) not in dirty:
                o = o.view_as(o)  # an input returned unchanged becomes a new alias with its own history
            new_outs.append(o)
        diff_outs = [o for o in new_outs if isinstance(o, Tensor) and id(o) not in non_diff and (o.dtype.is_floating_point or o.dtype.is_complex)]
        positions = [i for i, _ in tensor_args]

        def run_backward(*grads):
            # grads arrive for diff_outs in order; expand to all outputs
            it = iter(grads)
            full = []
            for o in new_outs:
                if isinstance(o, Tensor) and id(o) not in non_diff and (o.dtype.is_floating_point or o.dtype.is_complex):
                    full.append(next(it))
                else:
                    full.append(None)
            res = cls.backward(ctx, *full)
            if not isinstance(res, tuple):
                res = (res,)
            if len(res) < len(args):
                res = tuple(res) + (None,) * (len(args) - len(res))
            if len(res) > len(args) and any(r is not None for r in res[len(args):]):
                raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of gradients (expected {len(args)}, got {len(res)})")
            return tuple(res[i] for i in positions)

        name = cls.__name__ + "Backward"
        _C.record_function(name, [a for _, a in tensor_args], diff_outs, run_backward)
        for o in new_outs:
            if isinstance(o, Tensor) and id(o) in non_diff:
                pass
        return new_outs[0] if single else tuple(new_outs)


def once_differentiable(fn):
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)
    return wrapper


class InplaceFunction(Function):
    pass


class NestedIOFunction(Function):
    pass
