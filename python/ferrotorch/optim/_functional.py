r"""Functional optimizer steps: one function per algorithm, over lists of tensors.

Each optimizer's ``step()`` gathers, for one parameter group, the parameters that
have a gradient, their gradients and their state buffers into parallel Python
lists and makes ONE call into this module.  Every function here:

1. looks for a fused multi-tensor kernel with the same name on ``ferrotorch._C``
   (e.g. ``ferrotorch._C._adam_step``).  When present (and the call is not
   ``differentiable`` and no parameter is complex), it is called as::

       torch._C._adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
                           state_steps, amsgrad=..., beta1=..., beta2=..., lr=...,
                           weight_decay=..., eps=..., maximize=...,
                           decoupled_weight_decay=...)

   i.e. the tensor lists positionally, in the order of the Python signature,
   and every scalar option as a keyword argument with the same name (the
   ``differentiable`` flag is never passed).  Scalars are Python floats/bools.
   The kernel must update the tensors in place exactly like the reference
   code below (including incrementing the float32 0-dim ``state_steps`` and,
   for SGD, *replacing* ``None`` entries of ``momentum_buffer_list`` by new
   tensors, since the caller stores them back into the optimizer state);

2. otherwise runs the reference implementation with in-place tensor ops under
   ``torch.no_grad()``.  The reference implementations follow PyTorch's
   ``_single_tensor_*`` code paths operation by operation (PyTorch uses them on
   CPU), so that float32 results agree bit-for-bit where the core's elementwise
   kernels round like PyTorch's.

Python-scalar arithmetic (bias corrections, step sizes) is done in double
precision exactly as PyTorch does it; the step counter is read with ``.item()``.
"""
from __future__ import annotations

from typing import List, Optional

import ferrotorch as torch

__all__ = [
    "_sgd_step",
    "_adam_step",
    "_adamw_step",
    "_rmsprop_step",
    "_adagrad_step",
    "_adadelta_step",
    "_adamax_step",
    "_nadam_step",
    "_radam_step",
]

Tensor = object  # annotation alias only (the core's Tensor class is looked up lazily)


# --------------------------------------------------------------------------- helpers
def _kernel(name: str):
    """Return ``ferrotorch._C.<name>`` if the core provides a fused kernel."""
    C = getattr(torch, "_C", None)
    if C is None:
        return None
    return getattr(C, name, None)


def _is_complex(t) -> bool:
    return bool(getattr(t.dtype, "is_complex", False))


def _any_complex(tensors) -> bool:
    return any(_is_complex(t) for t in tensors)


def _view_as_real(t):
    return torch.view_as_real(t) if _is_complex(t) else t


def _value(x):
    """``x.item()`` for tensors (PyTorch's ``_get_value``), ``x`` otherwise."""
    if isinstance(x, torch.Tensor):
        return x.item()
    return x


class _grad_ctx:
    """``torch.no_grad()`` unless ``differentiable``."""

    def __init__(self, differentiable: bool):
        self.ctx = None if differentiable else torch.no_grad()

    def __enter__(self):
        if self.ctx is not None:
            self.ctx.__enter__()
        return self

    def __exit__(self, *exc):
        if self.ctx is not None:
            return self.ctx.__exit__(*exc)
        return False


def _try_fused(name, params, differentiable, args, kwargs) -> bool:
    if differentiable or not params:
        return False
    fn = _kernel(name)
    if fn is None or _any_complex(params):
        return False
    try:
        fn(*args, **kwargs)
    except NotImplementedError:
        return False  # dtype/layout the fused kernel does not cover: use the reference path
    return True


# --------------------------------------------------------------------------- SGD
def _sgd_step(
    params: List,
    grads: List,
    momentum_buffer_list: List[Optional[object]],
    *,
    lr: float,
    weight_decay: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    maximize: bool,
    differentiable: bool = False,
) -> None:
    r"""SGD with momentum / dampening / Nesterov / weight decay.

    ``momentum_buffer_list[i]`` is ``None`` before the first step with momentum;
    it is then replaced (in the list) by ``clone(grad)``.
    """
    if not params:
        return
    kw = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, dampening=dampening,
              nesterov=nesterov, maximize=maximize)
    if _try_fused("_sgd_step", params, differentiable, (params, grads, momentum_buffer_list), kw):
        return
    with _grad_ctx(differentiable):
        for i, param in enumerate(params):
            grad = grads[i] if not maximize else -grads[i]
            if weight_decay != 0:
                grad = grad.add(param, alpha=weight_decay)
            if momentum != 0:
                buf = momentum_buffer_list[i]
                if buf is None:
                    buf = grad.clone().detach()
                    momentum_buffer_list[i] = buf
                else:
                    buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                if nesterov:
                    grad = grad.add(buf, alpha=momentum)
                else:
                    grad = buf
            param.add_(grad, alpha=-lr)


# --------------------------------------------------------------------------- Adam / AdamW
def _adam_step(
    params: List,
    grads: List,
    exp_avgs: List,
    exp_avg_sqs: List,
    max_exp_avg_sqs: List,
    state_steps: List,
    *,
    amsgrad: bool,
    beta1: float,
    beta2: float,
    lr: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
    decoupled_weight_decay: bool = False,
    differentiable: bool = False,
) -> None:
    r"""Adam (``decoupled_weight_decay=False``) and AdamW (``True``).

    ``max_exp_avg_sqs`` is empty unless ``amsgrad``.  ``state_steps`` are
    float32 0-dim tensors incremented in place.
    """
    if not params:
        return
    kw = dict(amsgrad=amsgrad, beta1=beta1, beta2=beta2, lr=lr, weight_decay=weight_decay,
              eps=eps, maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
    if _try_fused("_adam_step", params, differentiable,
                  (params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps), kw):
        return
    with _grad_ctx(differentiable):
        for i, param in enumerate(params):
            grad = grads[i] if not maximize else -grads[i]
            exp_avg = exp_avgs[i]
            exp_avg_sq = exp_avg_sqs[i]
            step_t = state_steps[i]

            step_t.add_(1)

            if weight_decay != 0:
                if decoupled_weight_decay:
                    # Perform stepweight decay
                    param.mul_(1 - lr * weight_decay)
                else:
                    grad = grad.add(param, alpha=weight_decay)

            max_sq = max_exp_avg_sqs[i] if amsgrad else None
            if _is_complex(param):
                grad = _view_as_real(grad)
                exp_avg = _view_as_real(exp_avg)
                exp_avg_sq = _view_as_real(exp_avg_sq)
                if amsgrad:
                    max_sq = _view_as_real(max_sq)
                param = _view_as_real(param)

            # Decay the first and second moment running average coefficient
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

            step = _value(step_t)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2 ** 0.5

            if amsgrad:
                # Maintains the maximum of all 2nd moment running avg. till now
                max_sq.copy_(torch.maximum(max_sq, exp_avg_sq))
                # Use the max. for normalizing running avg. of gradient
                denom = (max_sq.sqrt() / bias_correction2_sqrt).add_(eps)
            else:
                denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)

            param.addcdiv_(exp_avg, denom, value=-step_size)


def _adamw_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, *,
                amsgrad, beta1, beta2, lr, weight_decay, eps, maximize, differentiable=False):
    """AdamW = :func:`_adam_step` with ``decoupled_weight_decay=True``."""
    _adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps,
               amsgrad=amsgrad, beta1=beta1, beta2=beta2, lr=lr, weight_decay=weight_decay,
               eps=eps, maximize=maximize, decoupled_weight_decay=True,
               differentiable=differentiable)


# --------------------------------------------------------------------------- RMSprop
def _rmsprop_step(
    params: List,
    grads: List,
    square_avgs: List,
    grad_avgs: List,
    momentum_buffer_list: List,
    state_steps: List,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
    differentiable: bool = False,
) -> None:
    r"""RMSprop.  ``grad_avgs`` is empty unless ``centered``;
    ``momentum_buffer_list`` is empty unless ``momentum > 0``."""
    if not params:
        return
    kw = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
              centered=centered, maximize=maximize)
    if _try_fused("_rmsprop_step", params, differentiable,
                  (params, grads, square_avgs, grad_avgs, momentum_buffer_list, state_steps), kw):
        return
    with _grad_ctx(differentiable):
        for i, param in enumerate(params):
            step = state_steps[i]
            grad = grads[i]
            grad = grad if not maximize else -grad
            square_avg = square_avgs[i]

            step.add_(1)

            if weight_decay != 0:
                grad = grad.add(param, alpha=weight_decay)

            is_complex_param = _is_complex(param)
            if is_complex_param:
                param = _view_as_real(param)
                grad = _view_as_real(grad)
                square_avg = _view_as_real(square_avg)

            square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)

            if centered:
                grad_avg = grad_avgs[i]
                if is_complex_param:
                    grad_avg = _view_as_real(grad_avg)
                grad_avg.lerp_(grad, 1 - alpha)
                avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
            else:
                avg = square_avg.sqrt()

            if differentiable:
                avg = avg.add(eps)
            else:
                avg = avg.add_(eps)

            if momentum > 0:
                buf = momentum_buffer_list[i]
                if is_complex_param:
                    buf = _view_as_real(buf)
                buf.mul_(momentum).addcdiv_(grad, avg)
                param.add_(buf, alpha=-lr)
            else:
                param.addcdiv_(grad, avg, value=-lr)


# --------------------------------------------------------------------------- Adagrad
def _adagrad_step(
    params: List,
    grads: List,
    state_sums: List,
    state_steps: List,
    *,
    lr: float,
    weight_decay: float,
    lr_decay: float,
    eps: float,
    maximize: bool,
    differentiable: bool = False,
) -> None:
    r"""Adagrad (dense gradients)."""
    if not params:
        return
    kw = dict(lr=lr, weight_decay=weight_decay, lr_decay=lr_decay, eps=eps, maximize=maximize)
    if _try_fused("_adagrad_step", params, differentiable,
                  (params, grads, state_sums, state_steps), kw):
        return
    with _grad_ctx(differentiable):
        for param, grad, state_sum, step_t in zip(params, grads, state_sums, state_steps):
            step_t.add_(1)
            step = _value(step_t)
            grad = grad if not maximize else -grad

            if weight_decay != 0:
                grad = grad.add(param, alpha=weight_decay)

            clr = lr / (1 + (step - 1) * lr_decay)

            if _is_complex(param):
                grad = _view_as_real(grad)
                state_sum = _view_as_real(state_sum)
                param = _view_as_real(param)
            state_sum.addcmul_(grad, grad, value=1)
            if differentiable:
                std = state_sum.sqrt() + eps
            else:
                std = state_sum.sqrt().add_(eps)
            param.addcdiv_(grad, std, value=-clr)


# --------------------------------------------------------------------------- Adadelta
def _adadelta_step(
    params: List,
    grads: List,
    square_avgs: List,
    acc_deltas: List,
    state_steps: List,
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
    differentiable: bool = False,
) -> None:
    r"""Adadelta."""
    if not params:
        return
    kw = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
    if _try_fused("_adadelta_step", params, differentiable,
                  (params, grads, square_avgs, acc_deltas, state_steps), kw):
        return
    with _grad_ctx(differentiable):
        for param, grad, square_avg, acc_delta, step in zip(
            params, grads, square_avgs, acc_deltas, state_steps
        ):
            step.add_(1)
            grad = grad if not maximize else -grad

            if weight_decay != 0:
                grad = grad.add(param, alpha=weight_decay)

            if _is_complex(param):
                square_avg = _view_as_real(square_avg)
                acc_delta = _view_as_real(acc_delta)
                grad = _view_as_real(grad)

            square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
            std = square_avg.add(eps).sqrt_()
            delta = acc_delta.add(eps).sqrt_()
            if differentiable:
                delta = delta.clone()
            delta.div_(std).mul_(grad)
            acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)

            if _is_complex(param):
                delta = torch.view_as_complex(delta)
            param.add_(delta, alpha=-lr)


# --------------------------------------------------------------------------- Adamax
def _adamax_step(
    params: List,
    grads: List,
    exp_avgs: List,
    exp_infs: List,
    state_steps: List,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
    differentiable: bool = False,
) -> None:
    r"""Adamax (infinity-norm Adam)."""
    if not params:
        return
    kw = dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
              maximize=maximize)
    if _try_fused("_adamax_step", params, differentiable,
                  (params, grads, exp_avgs, exp_infs, state_steps), kw):
        return
    with _grad_ctx(differentiable):
        for i, param in enumerate(params):
            grad = grads[i]
            grad = grad if not maximize else -grad
            exp_avg = exp_avgs[i]
            exp_inf = exp_infs[i]
            step_t = state_steps[i]

            step_t.add_(1)

            if weight_decay != 0:
                grad = grad.add(param, alpha=weight_decay)

            if _is_complex(param):
                param = _view_as_real(param)
                grad = _view_as_real(grad)
                exp_avg = _view_as_real(exp_avg)
                exp_inf = _view_as_real(exp_inf)

            # Update biased first moment estimate.
            exp_avg.lerp_(grad, 1 - beta1)
            # Update the exponentially weighted infinity norm.
            exp_inf.mul_(beta2)
            exp_inf.copy_(torch.maximum(exp_inf, grad.abs().add_(eps)))

            bias_correction = 1 - beta1 ** _value(step_t)
            clr = lr / bias_correction
            param.addcdiv_(exp_avg, exp_inf, value=-clr)


# --------------------------------------------------------------------------- NAdam
def _nadam_step(
    params: List,
    grads: List,
    exp_avgs: List,
    exp_avg_sqs: List,
    mu_products: List,
    state_steps: List,
    *,
    beta1: float,
    beta2: float,
    lr: float,
    weight_decay: float,
    momentum_decay: float,
    eps: float,
    decoupled_weight_decay: bool,
    maximize: bool,
    differentiable: bool = False,
) -> None:
    r"""NAdam.  ``mu_products`` are float32 0-dim tensors updated in place."""
    if not params:
        return
    kw = dict(beta1=beta1, beta2=beta2, lr=lr, weight_decay=weight_decay,
              momentum_decay=momentum_decay, eps=eps,
              decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
    if _try_fused("_nadam_step", params, differentiable,
                  (params, grads, exp_avgs, exp_avg_sqs, mu_products, state_steps), kw):
        return
    with _grad_ctx(differentiable):
        for i, param in enumerate(params):
            grad = grads[i] if not maximize else -grads[i]
            exp_avg = exp_avgs[i]
            exp_avg_sq = exp_avg_sqs[i]
            mu_product = mu_products[i]
            step_t = state_steps[i]

            if _is_complex(param):
                param = _view_as_real(param)
                grad = _view_as_real(grad)
                exp_avg = _view_as_real(exp_avg)
                exp_avg_sq = _view_as_real(exp_avg_sq)

            step_t.add_(1)
            step = _value(step_t)

            bias_correction2 = 1 - beta2 ** step

            if weight_decay != 0:
                if decoupled_weight_decay:
                    param.mul_(1 - lr * weight_decay)
                else:
                    grad = grad.add(param, alpha=weight_decay)

            # calculate the momentum cache \mu^{t} and \mu^{t+1}
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))

            # update mu_product
            mu_product.mul_(mu)

            # decay the first and second moment running average coefficient
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = exp_avg_sq.div(bias_correction2).sqrt()

            mu_product_value = _value(mu_product)
            mu_product_next = mu_product_value * mu_next
            denom.add_(eps)
            param.addcdiv_(grad, denom, value=(-lr * (1.0 - mu) / (1.0 - mu_product_value)))
            param.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product_next))


# --------------------------------------------------------------------------- RAdam
def _radam_step(
    params: List,
    grads: List,
    exp_avgs: List,
    exp_avg_sqs: List,
    state_steps: List,
    *,
    beta1: float,
    beta2: float,
    lr: float,
    weight_decay: float,
    eps: float,
    decoupled_weight_decay: bool,
    maximize: bool,
    differentiable: bool = False,
) -> None:
    r"""RAdam (rectified Adam)."""
    if not params:
        return
    kw = dict(beta1=beta1, beta2=beta2, lr=lr, weight_decay=weight_decay, eps=eps,
              decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
    if _try_fused("_radam_step", params, differentiable,
                  (params, grads, exp_avgs, exp_avg_sqs, state_steps), kw):
        return
    with _grad_ctx(differentiable):
        for i, param in enumerate(params):
            grad = grads[i] if not maximize else -grads[i]
            exp_avg = exp_avgs[i]
            exp_avg_sq = exp_avg_sqs[i]
            step_t = state_steps[i]

            if _is_complex(param):
                param = _view_as_real(param)
                grad = _view_as_real(grad)
                exp_avg = _view_as_real(exp_avg)
                exp_avg_sq = _view_as_real(exp_avg_sq)

            step_t.add_(1)
            step = _value(step_t)

            if weight_decay != 0:
                if decoupled_weight_decay:
                    param.mul_(1 - lr * weight_decay)
                else:
                    grad = grad.add(param, alpha=weight_decay)

            # Decay the first and second moment running average coefficient
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step

            # correcting bias for the first moving moment
            bias_corrected_exp_avg = exp_avg / bias_correction1

            # maximum length of the approximated SMA
            rho_inf = 2 / (1 - beta2) - 1
            # compute the length of the approximated SMA
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2

            if rho_t > 5.0:
                rect = (
                    (rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                ) ** 0.5
                exp_avg_sq_sqrt = exp_avg_sq.sqrt()
                if differentiable:
                    exp_avg_sq_sqrt = exp_avg_sq_sqrt.add(eps)
                else:
                    exp_avg_sq_sqrt = exp_avg_sq_sqrt.add_(eps)
                # PyTorch computes ``scalar / tensor`` as ``tensor.reciprocal() * scalar``
                adaptive_lr = exp_avg_sq_sqrt.reciprocal() * (bias_correction2 ** 0.5)
                param.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
            else:
                param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
