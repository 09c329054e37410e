"""Muon (momentum + Newton-Schulz orthogonalised updates), like ``torch.optim.Muon``."""
from __future__ import annotations

import math
from typing import List

import ferrotorch as torch

from .optimizer import Optimizer, _to_scalar

__all__ = ["Muon"]

EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5


def _bf16_addmm(c, m1, m2, beta=1.0, alpha=1.0):
    """``beta*c + alpha*(m1 @ m2)`` for bfloat16 operands, accumulated in float32 and rounded to
    bfloat16 once at the end, as PyTorch's bfloat16 GEMM does."""
    if c is None:
        return (m1.float() @ m2.float()).bfloat16()
    return torch.addmm(c.float(), m1.float(), m2.float(), beta=beta, alpha=alpha).bfloat16()


def _zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps: int, eps: float):
    """Approximately orthogonalise a 2-D matrix with a quintic Newton-Schulz iteration, in
    bfloat16 like PyTorch (the result is roughly U S' V^T with S' near 1, not exactly U V^T)."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    x = grad.bfloat16()
    tall = grad.size(0) > grad.size(1)
    if tall:  # iterate on the wide orientation: the Gram matrix is the smaller one
        x = x.T
    x = x.div(x.norm().clamp(min=eps))
    for _ in range(ns_steps):
        gram = _bf16_addmm(None, x, x.T)
        poly = _bf16_addmm(gram, gram, gram, beta=b, alpha=c)  # b*G + c*G@G
        x = _bf16_addmm(x, poly, x, beta=a)  # a*X + (b*G + c*G^2) @ X
    return x.T if tall else x


def _adjust_lr(lr: float, adjust_lr_fn, param_shape) -> float:
    """Scale lr so updates of rectangular matrices have a comparable RMS."""
    rows, cols = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        ratio = 1.0
    return lr * ratio


class Muon(Optimizer):
    r"""Implements Muon: SGD with (Nesterov) momentum whose update is orthogonalised by
    Newton-Schulz iterations. Only for 2-D parameters (hidden-layer weight matrices).

    Args:
        params (iterable): iterable of 2-D parameters or named_parameters to optimize
            or iterable of dicts defining parameter groups
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        weight_decay (float, optional): decoupled weight decay (default: 0.1)
        momentum (float, optional): momentum factor (default: 0.95)
        nesterov (bool, optional): enables Nesterov momentum (default: True)
        ns_coefficients (tuple of three floats, optional): coefficients (a, b, c) of the
            Newton-Schulz polynomial (default: (3.4445, -4.7750, 2.0315))
        eps (float, optional): floor of the norm used to normalise the update (default: 1e-7)
        ns_steps (int, optional): number of Newton-Schulz steps (default: 5)
        adjust_lr_fn (str, optional): "original" or "match_rms_adamw" (default: None, i.e. original)
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C),
        eps: float = EPS,
        ns_steps: int = DEFAULT_NS_STEPS,
        adjust_lr_fn=None,
    ):
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        f"Muon only supports 2D parameters whereas we found a parameter with size: {p.size()}"
                    )

    def _init_group(self, group, params_with_grad, grads, bufs):
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.is_complex():
                raise RuntimeError("Muon does not support complex parameters")
            if getattr(p.grad, "is_sparse", False):
                raise RuntimeError("Muon does not support sparse gradients")
            params_with_grad.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(p.grad)
            bufs.append(state["momentum_buffer"])
        return False

    def step(self, closure=None):
        """Performs a single optimization step."""
        loss = self._closure_loss(closure)
        with torch.no_grad():
            for group in self.param_groups:
                params_with_grad: List = []
                grads: List = []
                bufs: List = []
                self._init_group(group, params_with_grad, grads, bufs)
                muon(params_with_grad, grads, bufs, lr=group["lr"],
                     weight_decay=group["weight_decay"], momentum=group["momentum"],
                     nesterov=group["nesterov"], ns_coefficients=group["ns_coefficients"],
                     eps=group["eps"], ns_steps=group["ns_steps"],
                     adjust_lr_fn=group["adjust_lr_fn"])
        return loss


def muon(params, grads, muon_momentum_bufs, *, foreach=None, lr, weight_decay, momentum,
         nesterov, ns_coefficients, eps, ns_steps, adjust_lr_fn, has_complex=False):
    """Functional API that performs Muon algorithm computation."""
    if foreach:
        raise RuntimeError("Foreach is not supported for Muon yet")
    if has_complex:
        raise ValueError("Complex parameters are not supported")
    lr = _to_scalar(lr)
    for param, grad, buf in zip(params, grads, muon_momentum_bufs):
        if grad.ndim != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        buf.lerp_(grad, 1 - momentum)
        update = grad.lerp(buf, momentum) if nesterov else buf
        update = _zeropower_via_newtonschulz(update, ns_coefficients, ns_steps, eps)
        adjusted_lr = _adjust_lr(lr, adjust_lr_fn, param.shape)
        param.mul_(1 - lr * weight_decay)
        param.add_(update, alpha=-adjusted_lr)
