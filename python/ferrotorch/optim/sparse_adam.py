"""SparseAdam, like ``torch.optim.SparseAdam``.

PyTorch's SparseAdam updates only the entries a sparse-layout gradient holds (the rows an
``nn.Embedding(sparse=True)`` looked up).  ferrotorch has no sparse layout: such modules
produce dense gradients, so here a gradient's "materialised" rows are its rows along
dim 0 that hold a nonzero value; every other row of the moments and parameter is left
untouched, exactly as PyTorch leaves the rows a sparse gradient does not hold.
"""
from __future__ import annotations

import math
from typing import List

import ferrotorch as torch

from .optimizer import Optimizer, _to_scalar

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    r"""Masked version of Adam for sparse gradients (e.g. from ``nn.Embedding(sparse=True)``).

    Moments and parameters are updated only at the rows the gradient touches.

    Args:
        params (iterable): iterable of parameters or named_parameters to optimize
            or iterable of dicts defining parameter groups
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        betas (Tuple[float, float], optional): coefficients used for computing
            running averages of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve
            numerical stability (default: 1e-8)
        maximize (bool, optional): maximize the objective (default: False)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8, maximize: bool = False):
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")

        defaults = dict(lr=lr, betas=betas, eps=eps, maximize=maximize)
        super().__init__(params, defaults)

        sparse_params, complex_params = [], []
        for index, group in enumerate(self.param_groups):
            for d_index, p in enumerate(group["params"]):
                if getattr(p, "is_sparse", False):
                    sparse_params.append([index, d_index])
                if p.is_complex():
                    complex_params.append([index, d_index])
        if sparse_params:
            raise ValueError(
                f"Sparse params at indices {sparse_params}: SparseAdam requires dense parameter tensors"
            )
        if complex_params:
            raise ValueError(
                f"Complex params at indices {complex_params}: SparseAdam does not support complex parameters"
            )

    def step(self, closure=None):
        """Perform a single optimization step.

        Args:
            closure (Callable, optional): A closure that reevaluates the model
                and returns the loss.
        """
        loss = self._closure_loss(closure)
        with torch.no_grad():
            for group in self.param_groups:
                params_with_grad: List = []
                grads: List = []
                exp_avgs: List = []
                exp_avg_sqs: List = []
                state_steps: List[int] = []
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    params_with_grad.append(p)
                    grads.append(p.grad)
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        state["exp_avg"] = torch.zeros_like(p)
                        state["exp_avg_sq"] = torch.zeros_like(p)
                    exp_avgs.append(state["exp_avg"])
                    exp_avg_sqs.append(state["exp_avg_sq"])
                    state["step"] += 1
                    state_steps.append(state["step"])

                sparse_adam(params_with_grad, grads, exp_avgs, exp_avg_sqs, state_steps,
                            eps=group["eps"], beta1=beta1, beta2=beta2,
                            lr=_to_scalar(group["lr"]), maximize=group.get("maximize", False))
        return loss


def _touched_rows(grad):
    """Boolean mask, broadcastable to ``grad``, of the rows (dim 0) holding a nonzero value."""
    nz = grad.ne(0)
    if grad.dim() <= 1:
        return nz
    return nz.reshape(grad.shape[0], -1).any(dim=1).reshape([grad.shape[0]] + [1] * (grad.dim() - 1))


def sparse_adam(params, grads, exp_avgs, exp_avg_sqs, state_steps, *, eps, beta1, beta2, lr, maximize):
    """Functional API that performs Sparse Adam algorithm computation."""
    for param, grad, exp_avg, exp_avg_sq, step in zip(params, grads, exp_avgs, exp_avg_sqs, state_steps):
        grad = grad if not maximize else -grad
        rows = _touched_rows(grad)
        if not bool(rows.any()):
            continue  # nothing materialised: nothing to update
        keep = rows.logical_not()

        # moments move only on touched rows: m += (g - m) * (1 - beta1), v += (g^2 - v) * (1 - beta2)
        exp_avg.add_(grad.sub(exp_avg).mul_(1 - beta1).masked_fill_(keep, 0))
        exp_avg_sq.add_(grad.pow(2).sub_(exp_avg_sq).mul_(1 - beta2).masked_fill_(keep, 0))

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr * math.sqrt(bias_correction2) / bias_correction1
        update = exp_avg.div(exp_avg_sq.sqrt().add_(eps)).mul_(-step_size)
        param.add_(update.masked_fill_(keep, 0))
