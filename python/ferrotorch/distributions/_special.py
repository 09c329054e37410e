"""Special functions and samplers the distributions need but the core does not provide
(``torch.special.gammainc``, ``torch._standard_gamma`` with its reparameterization gradient,
``torch.poisson``, ``torch.binomial``), written with ferrotorch tensor ops.

All internal arithmetic is float64; results are cast back to the input's dtype.
"""
from __future__ import annotations

import math

import ferrotorch as torch

__all__ = ["gammainc", "standard_gamma", "poisson", "binomial"]

_EPS = 1e-16  # series: relative size of the last term
_CF_EPS = 1e-15  # continued fraction: |delta - 1| (a few float64 ulps: it need not reach 0)
_TINY = 1e-300
_MAX_ITER = 100000


def _where(cond, a, b):
    return torch.where(cond, a, b)


# --------------------------------------------------------------------------- incomplete gamma
def _log_gammainc_lower_series(a, x):
    """log P(a, x) by the power series P = x^a e^-x / Gamma(a+1) * sum_n x^n / ((a+1)...(a+n));
    converges for all x, quickly when x < a + 1."""
    term = torch.ones_like(x)
    total = torch.ones_like(x)
    n = 0
    while n < _MAX_ITER:
        for _ in range(8):  # check convergence every few terms (each check syncs)
            n += 1
            term = term * x / (a + n)
            total = total + term
        if not bool((term > total * _EPS).any()):
            break
    return a * torch.log(x) - x - torch.lgamma(a + 1) + torch.log(total)


def _log_gammainc_upper_cf(a, x):
    """log Q(a, x) = log(1 - P(a, x)) by the Legendre continued fraction (modified Lentz);
    converges quickly when x > a + 1."""
    b = x + 1 - a
    c = torch.full_like(x, 1 / _TINY)
    d = 1 / _where(b.abs() < _TINY, torch.full_like(b, _TINY), b)
    h = d
    i = 0
    while i < _MAX_ITER:
        for _ in range(4):
            i += 1
            an = -i * (i - a)
            b = b + 2
            d = an * d + b
            d = 1 / _where(d.abs() < _TINY, torch.full_like(d, _TINY), d)
            c = b + an / c
            c = _where(c.abs() < _TINY, torch.full_like(c, _TINY), c)
            delta = d * c
            h = h * delta
        if not bool(((delta - 1).abs() > _CF_EPS).any()):
            break
    return a * torch.log(x) - x - torch.lgamma(a) + torch.log(h)


def _split(a, x):
    """Flattened float64 copies and the mask of elements computed by the lower series."""
    a, x = torch.broadcast_tensors(a.double(), x.double())
    shape = a.shape
    a, x = a.reshape(-1), x.reshape(-1)
    return a, x, x < a + 1, shape


def gammainc(a, x):
    """Regularised lower incomplete gamma function P(a, x) (``torch.special.gammainc``)."""
    dtype = torch.promote_types(a.dtype, x.dtype) if hasattr(torch, "promote_types") else a.dtype
    a_, x_, low, shape = _split(a, x)
    out = torch.zeros_like(x_)
    pos = x_ > 0
    lo, hi = low & pos, (~low) & pos
    if bool(lo.any()):
        out[lo] = torch.exp(_log_gammainc_lower_series(a_[lo], x_[lo]))
    if bool(hi.any()):
        out[hi] = -torch.expm1(_log_gammainc_upper_cf(a_[hi], x_[hi]))
    out = _where(x_ == math.inf, torch.ones_like(out), out)
    out = _where(torch.isnan(x_) | torch.isnan(a_), torch.full_like(out, math.nan), out)
    return out.reshape(shape).to(dtype)


def _standard_gamma_grad(alpha, x):
    """d x / d alpha for x ~ Gamma(alpha, 1) under the implicit reparameterization
    ``F(x; alpha) = u``: ``-(dF/dalpha) / (dF/dx)``. dF/dalpha is a central difference of
    log P (or log Q in the upper tail, for relative accuracy) in float64."""
    a, x, low, shape = _split(alpha, x)
    x = x.clamp(min=_TINY)
    h = a * 1e-4
    log_pdf = (a - 1) * torch.log(x) - x - torch.lgamma(a)
    out = torch.zeros_like(x)
    if bool(low.any()):
        al, xl, hl = a[low], x[low], h[low]
        dlog = (_log_gammainc_lower_series(al + hl, xl) - _log_gammainc_lower_series(al - hl, xl)) / (2 * hl)
        logp = _log_gammainc_lower_series(al, xl)
        out[low] = -torch.exp(logp - log_pdf[low]) * dlog
    up = ~low
    if bool(up.any()):
        au, xu, hu = a[up], x[up], h[up]
        dlog = (_log_gammainc_upper_cf(au + hu, xu) - _log_gammainc_upper_cf(au - hu, xu)) / (2 * hu)
        logq = _log_gammainc_upper_cf(au, xu)
        out[up] = torch.exp(logq - log_pdf[up]) * dlog
    return out.reshape(shape)


# --------------------------------------------------------------------------- gamma sampler
def _sample_standard_gamma(alpha):
    """Gamma(alpha, 1) draws by Marsaglia & Tsang's squeeze/rejection method (alpha < 1 is
    boosted: X_alpha = X_{alpha+1} * U^(1/alpha)), vectorised with a rejection loop."""
    a = alpha.double()
    boosted = a < 1
    a1 = _where(boosted, a + 1, a)
    d = a1 - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    out = torch.zeros_like(a)
    todo = torch.ones_like(a, dtype=torch.bool) & (a > 0)
    while bool(todo.any()):
        z = torch.randn(a.shape, dtype=torch.float64)
        u = torch.rand(a.shape, dtype=torch.float64)
        v = (1 + c * z) ** 3
        vpos = v > 0
        v_safe = _where(vpos, v, torch.ones_like(v))
        accept = vpos & (torch.log(u) < 0.5 * z * z + d - d * v_safe + d * torch.log(v_safe))
        take = todo & accept
        out = _where(take, d * v_safe, out)
        todo = todo & ~accept
    u = torch.rand(a.shape, dtype=torch.float64)
    log_out = torch.log(out) + _where(boosted, torch.log(u) / a, torch.zeros_like(a))
    out = torch.exp(log_out)
    out = _where(a > 0, out, torch.full_like(out, math.nan))
    return out.to(alpha.dtype)


class _StandardGamma(torch.autograd.Function):
    """Gamma(alpha, 1) sample with the implicit reparameterization gradient."""

    @staticmethod
    def forward(ctx, alpha):
        x = _sample_standard_gamma(alpha.detach())
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx, grad_output):
        alpha, x = ctx.saved_tensors
        return grad_output * _standard_gamma_grad(alpha.detach(), x.detach()).to(grad_output.dtype)


def standard_gamma(alpha):
    """``torch._standard_gamma``: Gamma(alpha, 1) draws, differentiable in ``alpha``."""
    if alpha.requires_grad and torch.is_grad_enabled():
        return _StandardGamma.apply(alpha)
    return _sample_standard_gamma(alpha)


# --------------------------------------------------------------------------- poisson sampler
def poisson(rate):
    """``torch.poisson``: Poisson(rate) draws (as floats of rate's dtype). Multiplication of
    uniforms for rate < 10, Hoermann's PTRS transformed rejection otherwise."""
    lam = rate.detach().double()
    out = torch.zeros_like(lam)
    small = lam < 10
    # small rates: count uniforms until their running log-product drops below -rate
    todo = small & (lam > 0)
    logprod = torch.zeros_like(lam)
    count = torch.zeros_like(lam)
    while bool(todo.any()):
        logprod = logprod + torch.log(torch.rand(lam.shape, dtype=torch.float64))
        still = todo & (logprod >= -lam)
        count = count + still.double()
        todo = still
    out = _where(small, count, out)
    big = ~small
    if bool(big.any()):
        out = _where(big, _ptrs(_where(big, lam, torch.full_like(lam, 10.0)), big), out)
    out = _where(torch.isnan(lam), torch.full_like(out, math.nan), out)
    return out.to(rate.dtype)


def _ptrs(lam, todo):
    """Transformed rejection with squeeze (Hoermann 1993) for lam >= 10."""
    slam = torch.sqrt(lam)
    loglam = torch.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)
    out = torch.zeros_like(lam)
    todo = todo.clone()
    while bool(todo.any()):
        u = torch.rand(lam.shape, dtype=torch.float64) - 0.5
        v = torch.rand(lam.shape, dtype=torch.float64)
        us = 0.5 - u.abs()
        k = torch.floor((2 * a / us + b) * u + lam + 0.43)
        quick = (us >= 0.07) & (v <= v_r)
        bad = (k < 0) | ((us < 0.013) & (v > us))
        k_safe = k.clamp(min=0)
        slow = (torch.log(v) + torch.log(inv_alpha) - torch.log(a / (us * us) + b)
                <= -lam + k_safe * loglam - torch.lgamma(k_safe + 1))
        accept = quick | (~bad & slow)
        out = _where(todo & accept, k_safe, out)
        todo = todo & ~accept
    return out


# --------------------------------------------------------------------------- binomial sampler
def binomial(count, prob):
    """``torch.binomial``: Binomial(count, prob) draws (as floats). Waiting times between
    successes when count * min(p, 1-p) < 10, Hoermann's BTRS transformed rejection otherwise."""
    n, p = torch.broadcast_tensors(count.detach().double(), prob.detach().double())
    flip = p > 0.5
    q = _where(flip, 1 - p, p)
    out = torch.zeros_like(n)
    small = n * q < 10
    # small mean: jump from success to success with geometric waiting times
    todo = small & (q > 0) & (n > 0)
    pos = torch.zeros_like(n)
    hits = torch.zeros_like(n)
    log1mq = torch.log1p(-_where(todo, q, torch.zeros_like(q)))
    log1mq = _where(log1mq == 0, torch.full_like(log1mq, -1.0), log1mq)
    while bool(todo.any()):
        u = torch.rand(n.shape, dtype=torch.float64)
        gap = torch.floor(torch.log(u) / log1mq) + 1
        pos = pos + gap
        got = todo & (pos <= n)
        hits = hits + got.double()
        todo = got
    out = _where(small, hits, out)
    big = ~small
    if bool(big.any()):
        n_b = _where(big, n, torch.full_like(n, 100.0))
        q_b = _where(big, q, torch.full_like(q, 0.5))
        out = _where(big, _btrs(n_b, q_b, big), out)
    out = _where(flip, n - out, out)
    out = _where(torch.isnan(p) | torch.isnan(n), torch.full_like(out, math.nan), out)
    return out.to(prob.dtype)


def _btrs(n, p, todo):
    """Transformed rejection (Hoermann 1993) for n * p >= 10, p <= 0.5."""
    q = 1 - p
    spq = torch.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = torch.log(p / q)
    m = torch.floor((n + 1) * p)
    h = torch.lgamma(m + 1) + torch.lgamma(n - m + 1)
    out = torch.zeros_like(n)
    todo = todo.clone()
    while bool(todo.any()):
        u = torch.rand(n.shape, dtype=torch.float64) - 0.5
        v = torch.rand(n.shape, dtype=torch.float64)
        us = 0.5 - u.abs()
        k = torch.floor((2 * a / us + b) * u + c)
        inside = (k >= 0) & (k <= n)
        quick = (us >= 0.07) & (v <= v_r)
        k_safe = k.clamp(min=0)
        k_safe = torch.minimum(k_safe, n)
        log_v = torch.log(v * alpha / (a / (us * us) + b))
        slow = log_v <= h - torch.lgamma(k_safe + 1) - torch.lgamma(n - k_safe + 1) + (k_safe - m) * lpq
        accept = inside & (quick | slow)
        out = _where(todo & accept, k_safe, out)
        todo = todo & ~accept
    return out
