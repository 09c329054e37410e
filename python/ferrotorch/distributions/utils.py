"""Helpers shared by the distributions (like ``torch.distributions.utils``)."""
from __future__ import annotations

import numbers
from functools import update_wrapper

import ferrotorch as torch
import ferrotorch.nn.functional as F

__all__ = [
    "broadcast_all",
    "logits_to_probs",
    "clamp_probs",
    "probs_to_logits",
    "lazy_property",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant

_Number = (numbers.Number,)


def broadcast_all(*values):
    """Broadcast tensors and Python numbers to a common shape. Numbers become tensors of the
    first tensor argument's dtype (or the default dtype when there is none)."""
    if not all(isinstance(v, (torch.Tensor, numbers.Number)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of Number, torch.Tensor or objects implementing "
            "__torch_function__."
        )
    if not all(isinstance(v, torch.Tensor) for v in values):
        dtype = torch.get_default_dtype()
        for v in values:
            if isinstance(v, torch.Tensor):
                dtype = v.dtype
                break
        values = [v if isinstance(v, torch.Tensor) else torch.tensor(v, dtype=dtype) for v in values]
    return tuple(torch.broadcast_tensors(*values))


def _standard_normal(shape, dtype, device=None):
    """N(0, 1) draws of ``shape`` (the same stream as ``torch.empty(shape).normal_()``)."""
    return torch.empty(tuple(shape), dtype=dtype).normal_()


def _sum_rightmost(value, dim: int):
    """Sum out the ``dim`` rightmost dimensions."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[: value.dim() - dim]) + (-1,)).sum(-1)


def logits_to_probs(logits, is_binary: bool = False):
    """Logits to probabilities: sigmoid (binary) or softmax over the last dimension."""
    if is_binary:
        return torch.sigmoid(logits)
    return F.softmax(logits, dim=-1)


def clamp_probs(probs):
    """Clamp probabilities into the open interval (0, 1) by the dtype's eps."""
    eps = torch.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary: bool = False):
    """Probabilities to logits (log-odds when binary, log-probabilities otherwise)."""
    ps = clamp_probs(probs)
    if is_binary:
        return torch.log(ps) - torch.log1p(-ps)
    return torch.log(ps)


class lazy_property:
    """A property computed once on first access (with grad enabled) and then cached on the
    instance, so an explicitly given parameter (e.g. ``probs``) can stand in for it."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with torch.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    """What ``lazy_property`` returns on the class, so tools treating it as a property work."""

    def __init__(self, wrapped):
        property.__init__(self, wrapped)


def _tril_mask(n: int, diag: int):
    idx = torch.arange(n)
    return idx < idx.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat, diag: int = 0):
    """The lower-triangular part (below diagonal ``diag``) of ``mat`` as a vector, row by row."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat[..., _tril_mask(n, diag)]


def vec_to_tril_matrix(vec, diag: int = 0):
    """Inverse of :func:`tril_matrix_to_vec`."""
    m = vec.shape[-1]
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    eps = torch.finfo(vec.dtype).eps
    if round(n) - n > eps:
        raise ValueError(
            f"The size of last dimension is {m} which cannot be expressed as "
            "the lower triangular part of a square D x D matrix."
        )
    n = round(n)
    mat = vec.new_zeros(tuple(vec.shape[:-1]) + (n, n))
    mat[..., _tril_mask(n, diag)] = vec
    return mat


# --------------------------------------------------------------------------- probs-or-logits families
def set_probs_or_logits(dist, probs, logits, *others):
    """Stores whichever of `probs`/`logits` is given (exactly one must be) on `dist` as that
    attribute and as `dist._param`, broadcast with `others`; returns (param, broadcast others)."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    name, given = ("probs", probs) if probs is not None else ("logits", logits)
    *rest, param = broadcast_all(*others, given)
    setattr(dist, name, param)
    dist._param = param
    return param, rest


def expand_probs_or_logits(src, new, shape):
    """`Distribution.expand` for these families: each of probs/logits `src` holds (given or
    already derived), expanded onto `new`."""
    for name in ("probs", "logits"):
        if name in src.__dict__:
            setattr(new, name, src.__dict__[name].expand(shape))
            new._param = new.__dict__[name]


def param_new(dist, *size, **kwargs):
    """``dist._param.new(*size)`` (a distribution's `_new`): an uninitialised tensor of the
    parameter's dtype."""
    shape = size[0] if len(size) == 1 and not isinstance(size[0], int) else size
    return torch.empty(tuple(shape), dtype=dist._param.dtype)


# --------------------------------------------------------------------------- small op shims
def _new_empty(like, shape):
    """``like.new(shape)``: an uninitialised tensor with ``like``'s dtype."""
    return torch.empty(tuple(shape), dtype=like.dtype)


def _logit(p):
    return torch.log(p) - torch.log1p(-p)


def _is_all_true(t) -> bool:
    return bool(t.all()) if isinstance(t, torch.Tensor) else bool(t)


def _solve_tril(L, B):
    """Solve ``L X = B`` for lower-triangular ``L`` (batched)."""
    return torch.linalg.solve(L, B)


def _cholesky_inverse(L):
    """``(L L^T)^-1`` from a Cholesky factor."""
    eye = torch.eye(L.shape[-1], dtype=L.dtype).expand(L.shape)
    L_inv = _solve_tril(L, eye)
    return L_inv.mT @ L_inv
