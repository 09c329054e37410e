"""Rprop (resilient backpropagation), like ``torch.optim.Rprop``."""
from __future__ import annotations

from typing import List, Optional

import ferrotorch as torch

from ._functional import _grad_ctx, _view_as_real
from .optimizer import Optimizer, _get_scalar_dtype, _to_scalar, _use_grad_for_differentiable

__all__ = ["Rprop", "rprop"]


class Rprop(Optimizer):
    r"""Implements the resilient backpropagation algorithm.

    Args:
        params (iterable): iterable of parameters or named_parameters to optimize
            or iterable of dicts defining parameter groups
        lr (float, Tensor, optional): learning rate (default: 1e-2)
        etas (Tuple[float, float], optional): pair of (etaminus, etaplus), that
            are multiplicative increase and decrease factors (default: (0.5, 1.2))
        step_sizes (Tuple[float, float], optional): a pair of minimal and
            maximal allowed step sizes (default: (1e-6, 50))
        capturable, foreach, maximize, differentiable: as in PyTorch.
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        etas=(0.5, 1.2),
        step_sizes=(1e-6, 50),
        *,
        capturable: bool = False,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")

        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0 and not isinstance(p_state["step"], torch.Tensor):
                    p_state["step"] = torch.tensor(float(p_state["step"]), dtype=_get_scalar_dtype())

    def _init_group(self, group, params, grads, prevs, step_sizes, state_steps):
        has_complex = False
        for p in group["params"]:
            if p.grad is None:
                continue
            has_complex |= bool(p.is_complex())
            params.append(p)
            grad = p.grad
            if getattr(grad, "is_sparse", False):
                raise RuntimeError("Rprop does not support sparse gradients")
            grads.append(grad)

            state = self.state[p]
            if len(state) == 0:
                state["step"] = torch.zeros((), dtype=_get_scalar_dtype())
                state["prev"] = torch.zeros_like(p)
                lr = _to_scalar(group["lr"])
                # complex entries are two independent reals: both parts get the initial step size
                state["step_size"] = torch.full_like(grad, complex(lr, lr) if p.is_complex() else lr)

            prevs.append(state["prev"])
            step_sizes.append(state["step_size"])
            state_steps.append(state["step"])
        return has_complex

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step.

        Args:
            closure (Callable, optional): A closure that reevaluates the model
                and returns the loss.
        """
        self._cuda_graph_capture_health_check()
        loss = self._closure_loss(closure)

        for group in self.param_groups:
            params: List = []
            grads: List = []
            prevs: List = []
            step_sizes: List = []
            state_steps: List = []
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            self._init_group(group, params, grads, prevs, step_sizes, state_steps)
            rprop(params, grads, prevs, step_sizes, state_steps,
                  step_size_min=step_size_min, step_size_max=step_size_max,
                  etaminus=etaminus, etaplus=etaplus, maximize=group["maximize"],
                  differentiable=group["differentiable"])
        return loss


def rprop(params, grads, prevs, step_sizes, state_steps, foreach=None, capturable=False,
          maximize=False, differentiable=False, has_complex=False, *, step_size_min,
          step_size_max, etaminus, etaplus):
    """Functional API that performs rprop algorithm computation (PyTorch's single-tensor path)."""
    with _grad_ctx(differentiable):
        for i, param in enumerate(params):
            grad = grads[i] if not maximize else -grads[i]
            prev, step_size = prevs[i], step_sizes[i]
            state_steps[i] += 1
            if param.is_complex():
                grad, prev = _view_as_real(grad), _view_as_real(prev)
                param, step_size = _view_as_real(param), _view_as_real(step_size)

            trend = grad.mul(prev.clone() if differentiable else prev).sign()
            grow, shrink = trend.gt(0), trend.lt(0)
            # same sign: grow the step; sign flip: shrink it; a zero: keep it
            factor = torch.where(grow, torch.full_like(trend, etaplus),
                                 torch.where(shrink, torch.full_like(trend, etaminus),
                                             torch.ones_like(trend)))
            step_size.mul_(factor).clamp_(step_size_min, step_size_max)

            # after a sign flip the gradient is treated as zero (no step, and no flip next time)
            grad = torch.where(shrink, torch.zeros_like(grad), grad)
            param.addcmul_(grad.sign(), step_size, value=-1)
            prev.copy_(grad)
