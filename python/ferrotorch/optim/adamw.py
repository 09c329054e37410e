"""AdamW, like ``torch.optim.AdamW`` (Adam with decoupled weight decay)."""
from __future__ import annotations

from typing import Optional

from . import _functional as F
from .adam import Adam
from .optimizer import _to_scalar

__all__ = ["AdamW", "adamw"]


class AdamW(Adam):
    r"""Implements AdamW algorithm (Adam with decoupled weight decay).

    Args:
        params (iterable): iterable of parameters or named_parameters to optimize
            or iterable of dicts defining parameter groups
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        betas (Tuple[float, float], optional): (default: (0.9, 0.999))
        eps (float, optional): (default: 1e-8)
        weight_decay (float, optional): weight decay coefficient (default: 1e-2)
        amsgrad (bool, optional): use the AMSGrad variant (default: False)
        maximize, foreach, capturable, differentiable, fused: as in PyTorch.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: Optional[bool] = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True


def adamw(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, foreach=None,
          capturable=False, differentiable=False, fused=None, grad_scale=None, found_inf=None,
          has_complex=False, *, amsgrad, beta1, beta2, lr, weight_decay, eps, maximize):
    """Functional API that performs AdamW algorithm computation."""
    F._adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps,
                 amsgrad=amsgrad, beta1=_to_scalar(beta1), beta2=_to_scalar(beta2),
                 lr=_to_scalar(lr), weight_decay=weight_decay, eps=eps, maximize=maximize,
                 decoupled_weight_decay=True, differentiable=differentiable)
