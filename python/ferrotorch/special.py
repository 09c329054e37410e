"""``torch.special``: special functions built from ferrotorch tensor ops.

Functions without a kernel of their own are evaluated in float64 (float16/bfloat16/float32
inputs are cast back at the end; integer and bool inputs give the default float dtype). The ones
PyTorch differentiates carry their analytic derivative through an autograd Function; the ones
PyTorch does not (Bessel J/Y/K, Airy, orthogonal polynomials) return tensors without grad.

Methods:
- Bessel J0/J1/Y0/Y1: power series for |x| <= 4, Miller's backward recurrence with the Neumann
  series for Y on (4, 25], Hankel's asymptotic expansion beyond.
- Modified Bessel I: power series for |x| <= 30, asymptotic expansion beyond.
- Modified Bessel K: series for x <= 2; beyond, the trapezoid rule on
  K_nu(x) = integral_0^inf exp(-x cosh t) cosh(nu t) dt (exponentially convergent).
- Airy Ai: the trapezoid rule on Ai's K_{1/3} integral for x >= 1.5; Taylor series of the Airy
  equation about the integer centres -10..1 on [-10.5, 1.5) (centre values from a 50-digit
  Decimal integration of the equation); asymptotic expansion for x < -10.5.
- Hurwitz zeta: Euler-Maclaurin summation. Incomplete gamma: power series / continued fraction.
"""
import math
from decimal import Decimal, localcontext

import ferrotorch as torch
from ferrotorch import Tensor

__all__ = [
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
    "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma", "entr", "erf",
    "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln",
    "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e", "laguerre_polynomial_l",
    "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "modified_bessel_i0",
    "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri",
    "polygamma", "psi", "round", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
    "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta",
]

_F64 = torch.float64
_EULER = 0.57721566490153286061
_SQRT2 = math.sqrt(2.0)
_SQRTPI = math.sqrt(math.pi)
_NAN, _INF = math.nan, math.inf


# ------------------------------------------------------------------ plumbing
def _input(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    return x


def _f64(x):
    return x.to(_F64) if isinstance(x, Tensor) else torch.tensor(float(x), dtype=_F64)


def _done(r, dtype, out):
    r = r.to(dtype)
    if out is not None:
        out.copy_(r)
        return out
    return r


class _Op(torch.autograd.Function):
    """y = f(*xs) (float64, evaluated without grad) with dy/dxs from grads(xs, y): a callable
    per input returning the partial derivative, or None where PyTorch has none."""

    @staticmethod
    def forward(ctx, f, grads, *xs):
        y = f(*xs)
        ctx.save_for_backward(*xs, y)
        ctx.grads = grads
        return y

    @staticmethod
    def backward(ctx, g):
        *xs, y = ctx.saved_tensors
        out = [None, None]
        for i, d in enumerate(ctx.grads):
            if not ctx.needs_input_grad[i + 2]:
                out.append(None)
            elif isinstance(d, str):
                raise NotImplementedError(f"the derivative for '{d}' is not implemented.")
            else:
                out.append(_unbroadcast(g * d(*xs, y), xs[i].shape))
        return tuple(out)


def _unbroadcast(g, shape):
    """Sum a broadcast gradient back to an input's shape."""
    while g.ndim > len(shape):
        g = g.sum(0)
    for i, s in enumerate(shape):
        if s == 1 and g.shape[i] != 1:
            g = g.sum(i, keepdim=True)
    return g


def _apply(f, grads, *xs):
    """f over float64 copies of xs; through _Op when a derivative is wanted."""
    xs = [_f64(x) for x in xs]
    if grads is not None and torch.is_grad_enabled() and any(x.requires_grad for x in xs):
        return _Op.apply(f, grads, *xs)
    with torch.no_grad():
        return f(*[x.detach() for x in xs])


def _unary(name, f, grad=None):
    """A torch.special unary function: f on float64, derivative grad(x, y) (None: no grad)."""
    def fn(input, *, out=None):
        x = _input(name, input)
        dt = x.dtype if x.dtype.is_floating_point else torch.get_default_dtype()
        if grad is None:
            with torch.no_grad():
                return _done(f(_f64(x.detach())), dt, out)
        return _done(_apply(f, (grad,), x), dt, out)
    fn.__name__ = name
    return fn


def _where(c, a, b):
    return torch.where(c, a, b)


def _full(x, v):
    """A tensor like x filled with v (zeros_like/ones_like reject 0-d tensors here)."""
    return torch.full_like(x, v)


# ------------------------------------------------------------------ aliases
expit = torch.sigmoid
erf = torch.erf
erfc = torch.erfc
erfinv = torch.erfinv
exp2 = torch.exp2
expm1 = torch.expm1
log1p = torch.log1p
gammaln = torch.lgamma
digamma = torch.digamma
psi = torch.digamma
xlogy = torch.xlogy
logsumexp = torch.logsumexp
round = torch.round


def softmax(input, dim, *, dtype=None):
    """Softmax along ``dim`` (``torch.softmax``)."""
    return torch.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    """Log-softmax along ``dim`` (``torch.log_softmax``)."""
    return torch.log_softmax(input, dim, dtype=dtype)


# ------------------------------------------------------------------ error-function family
def _erfcx(x):
    """exp(x^2) erfc(x): x^2 split exactly (x = hi + lo) so exp loses nothing; asymptotic for x >= 12."""
    big = x >= 12
    xs = _where(big, _full(x, 0.0), x)
    hi = torch.floor(xs * 4096) / 4096
    lo = xs - hi
    near = torch.exp(hi * hi) * torch.exp((2 * hi + lo) * lo) * torch.erfc(xs)
    xb = _where(big, x, _full(x, 12.0))
    z = 1 / (2 * xb * xb)
    s, term = _full(x, 1.0), _full(x, 1.0)
    for k in range(1, 15):
        term = term * (-(2 * k - 1)) * z
        s = s + term
    return _where(x == -_INF, _full(x, _INF), _where(big, s / (xb * _SQRTPI), near))


def _erfcx_grad(x, y):
    """2 x erfcx(x) - 2/sqrt(pi), from the asymptotic series where that difference cancels."""
    big = x >= 12
    xb = _where(big, x, _full(x, 12.0))
    z = 1 / (2 * xb * xb)
    s, term = _full(x, 1.0), _full(x, 1.0)  # d/dx sum c_k x^(-2k-1) = -sum (2k+1) c_k x^(-2k-2)
    for k in range(1, 15):
        term = term * (-(2 * k - 1)) * z
        s = s + (2 * k + 1) * term
    return _where(big, -s / (xb * xb * _SQRTPI), 2 * x * y - 2 / _SQRTPI)


erfcx = _unary("erfcx", _erfcx, _erfcx_grad)
erfcx.__doc__ = "Scaled complementary error function exp(x^2) * erfc(x)."


def _ndtr(x):
    return 0.5 * torch.erfc(-x / _SQRT2)


def ndtr(input, *, out=None):
    """Standard normal CDF: 0.5 * erfc(-x / sqrt(2))."""
    x = _input("ndtr", input)
    dt = x.dtype if x.dtype.is_floating_point else torch.get_default_dtype()
    return _done(_ndtr(_f64(x)), dt, out)


def _log_ndtr(x):
    pos = x > 0
    xp = _where(pos, x, _full(x, 0.0))
    xn = _where(pos, _full(x, 0.0), x)
    right = torch.log1p(-0.5 * torch.erfc(xp / _SQRT2))
    left = torch.log(0.5 * _erfcx(-xn / _SQRT2)) - xn * xn / 2
    return _where(pos, right, left)


def _log_ndtr_grad(x, y):
    # phi(x) / ndtr(x), from erfcx on the left tail where both underflow
    xn = torch.clamp(x, max=0.0)
    left = math.sqrt(2 / math.pi) / _erfcx(-xn / _SQRT2)
    right = torch.exp(-x * x / 2 - y) / math.sqrt(2 * math.pi)
    return _where(x > 0, right, left)


log_ndtr = _unary("log_ndtr", _log_ndtr, _log_ndtr_grad)
log_ndtr.__doc__ = "log of the standard normal CDF, accurate in both tails."


def _ndtri(p):
    """Inverse normal CDF: erfinv guess, then Newton steps on log_ndtr (accurate in the tails)."""
    upper = p > 0.5
    q = _where(upper, 1 - p, p)  # exact for p in [0.5, 1]
    qs = _where((q > 0) & (q <= 0.5), q, _full(q, 0.25))  # nan, 0 and out of range are fixed up below
    guess = _SQRT2 * torch.erfinv(2 * qs - 1)
    t = -2 * torch.log(qs)
    tail = -torch.sqrt(t - torch.log(t) - math.log(2 * math.pi))
    z = _where(qs < 1e-8, tail, guess)
    lq = torch.log(qs)
    for _ in range(4):
        lz = _log_ndtr(z)
        z = z - (lz - lq) / _log_ndtr_grad(z, lz)
    z = _where(qs == 0.5, _full(z, 0.0), z)
    z = _where(q == 0, _full(z, -_INF), z)
    z = _where(upper, -z, z)
    return _where((p < 0) | (p > 1) | torch.isnan(p), _full(z, _NAN), z)


ndtri = _unary("ndtri", _ndtri, lambda p, y: math.sqrt(2 * math.pi) * torch.exp(y * y / 2))
ndtri.__doc__ = "Inverse of the standard normal CDF (the argument x with ndtr(x) = p)."


def logit(input, eps=None, *, out=None):
    """log(p / (1 - p)); with ``eps``, p is first clamped to [eps, 1 - eps]."""
    x = _input("logit", input)
    dt = x.dtype if x.dtype.is_floating_point else torch.get_default_dtype()
    def grad(z, y):
        d = 1 / (z * (1 - z))
        return d if eps is None else _where((z < eps) | (z > 1 - eps), _full(z, 0.0), d)

    def f(z):
        if eps is not None:
            z = torch.clamp(z, eps, 1 - eps)
        return torch.log(z / (1 - z))
    return _done(_apply(f, (grad,), x), dt, out)


def sinc(input, *, out=None):
    """sin(pi x) / (pi x), 1 at 0."""
    x = _input("sinc", input)
    dt = x.dtype if x.dtype.is_floating_point else torch.get_default_dtype()
    z = _f64(x)
    zero = z == 0
    safe = _where(zero, _full(z, 1.0), z)
    return _done(_where(zero, _full(z, 1.0), _sinpi(safe) / (math.pi * safe)), dt, out)


def _sinpi(x):
    """sin(pi x) with exact argument reduction (exactly 0 at integers)."""
    r = x - 2 * torch.round(x / 2)  # exact, in [-1, 1]
    r = _where(r > 0.5, 1 - r, _where(r < -0.5, -1 - r, r))  # sin(pi r) = sin(pi (+-1 - r)), exact
    return torch.sin(math.pi * r)


def _entr(x):
    safe = _where(x > 0, x, _full(x, 1.0))
    r = _where(x > 0, -safe * torch.log(safe), _where(x == 0, _full(x, 0.0), _full(x, -_INF)))
    return _where(torch.isnan(x), x, r)


entr = _unary("entr", _entr, lambda x, y: -(1 + torch.log(x)))
entr.__doc__ = "Elementwise entropy: -x ln x for x > 0, 0 at 0, -inf below."


def _xlog1py(x, y):
    r = _where(x == 0, _full(x * y, 0.0), x * torch.log1p(y))
    return _where(torch.isnan(y), _full(r, _NAN), r)


def xlog1py(input, other, *, out=None):
    """x * log1p(y), 0 where x == 0 (unless y is nan)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlog1py(): expected at least one Tensor argument")
    dt = _binary_dtype(input, other)
    grads = (lambda x, y, r: torch.log1p(y) + 0 * x, lambda x, y, r: x / (1 + y))
    return _done(_apply(_xlog1py, grads, input, other), dt, out)


def _binary_dtype(a, b):
    dt = torch.result_type(a, b)
    return dt if dt.is_floating_point else torch.get_default_dtype()


# ------------------------------------------------------------------ gamma family
def multigammaln(input, p, *, out=None):
    """Multivariate log-gamma of dimension ``p``:
    sum_{j<p} lgamma(a - j/2) + p (p - 1) / 4 * log(pi)."""
    a = _input("multigammaln", input)
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    if not bool((a > 0.5 * (p - 1)).all()):
        raise RuntimeError("All elements must be greater than (p-1)/2")
    dt = a.dtype if a.dtype.is_floating_point else torch.get_default_dtype()
    z = _f64(a)
    shifts = torch.arange(p, dtype=_F64) / 2
    r = torch.lgamma(z.unsqueeze(-1) - shifts).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
    return _done(r, dt, out)


# Bernoulli numbers B_2..B_26 over (2j)!: the Euler-Maclaurin tail coefficients
_BERN = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330,
         854513 / 138, -236364091 / 2730, 8553103 / 6]
_EM = [b / math.factorial(2 * j + 2) for j, b in enumerate(_BERN)]


def _zeta(s, q):
    """Hurwitz zeta sum_{k>=0} (q + k)^-s by Euler-Maclaurin with the first N terms summed."""
    qmin = float(torch.nan_to_num(q, nan=0.0, neginf=0.0).min()) if q.numel() else 0.0
    n = max(9, min(int(math.ceil(9 - qmin)) + 1, 100000))
    ok = (s > 1) & ~((q <= 0) & ((q == torch.floor(q)) | (s != torch.floor(s))))
    ss = _where(ok, s, _full(s, 2.0))
    qs = _where(ok, q, _full(q, 1.0))
    total = _full(ss * qs, 0.0)
    for k in range(n):
        total = total + torch.pow(qs + k, -ss)
    a = qs + n
    total = total + torch.pow(a, 1 - ss) / (ss - 1) + 0.5 * torch.pow(a, -ss)
    fac = ss * torch.pow(a, -ss - 1)  # s (s+1)...(s+2j-2) a^(-s-2j+1), j = 1
    inv_a2 = 1 / (a * a)
    for j, c in enumerate(_EM):
        total = total + c * fac
        fac = fac * (ss + 2 * j + 1) * (ss + 2 * j + 2) * inv_a2
    r = _where(ok, total, _full(total, _NAN))
    r = _where((s == 1) | ((q <= 0) & (q == torch.floor(q)) & (s > 1)), _full(r, _INF), r)
    r = _where(torch.isinf(q), _full(r, _NAN), r)  # PyTorch: nan for q = +-inf
    # s = inf: PyTorch gives 1 at q = 1, inf below, nan above
    r = _where(s == _INF, _where(q == 1, _full(r, 1.0), _where((q < 1) & (q > 0), _full(r, _INF), _full(r, _NAN))), r)
    return _where(torch.isnan(s) | torch.isnan(q), _full(r, _NAN), r)


def zeta(input, other, *, out=None):
    """Hurwitz zeta function sum_{k>=0} (other + k)^-input (Riemann zeta at other = 1)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("zeta(): expected at least one Tensor argument")
    dt = _binary_dtype(input, other)
    grads = ("zeta", lambda s, q, y: -s * _zeta(s + 1, q))
    return _done(_apply(_zeta, grads, input, other), dt, out)


def _polygamma(n, x):
    if n == 1:  # PyTorch's trigamma is 0 at +inf where the zeta route gives nan
        return _where(x == _INF, _full(x, 0.0), _zeta(_full(x, 2.0), x))
    # n! overflows a double past 170 (and an exact factorial of a huge n would take forever)
    fact = float(math.factorial(n)) if n <= 170 else math.inf
    return (1.0 if n % 2 else -1.0) * fact * _zeta(_full(x, n + 1.0), x)


def polygamma(n, input, *, out=None):
    """n-th derivative of the digamma function."""
    x = _input("polygamma", input)
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return _done(torch.digamma(x if x.dtype.is_floating_point else x.to(torch.get_default_dtype())),
                     x.dtype if x.dtype.is_floating_point else torch.get_default_dtype(), out)
    dt = x.dtype if x.dtype.is_floating_point else torch.get_default_dtype()
    return _done(_apply(lambda z: _polygamma(n, z), (lambda z, y: _polygamma(n + 1, z),), x), dt, out)


def _igam_parts(a, x):
    """(P, Q) regularized incomplete gamma for valid a > 0, x > 0: series where x < a + 1,
    Lentz continued fraction elsewhere."""
    lead = a * torch.log(x) - x  # log of x^a e^-x
    use_series = x < a + 1
    # series: P = x^a e^-x / Gamma(a+1) * sum x^n / ((a+1)...(a+n))
    xs = _where(use_series, x, _full(x, 0.0))
    term = _full(x, 1.0)
    s = _full(x, 1.0)
    for k in range(1, 500):
        term = term * xs / (a + k)
        s = s + term
    p_series = torch.exp(lead - torch.lgamma(a + 1)) * s
    # continued fraction for Q (modified Lentz)
    xc = _where(use_series, a + 2, x)
    tiny = 1e-300
    b = xc + 1 - a
    c = _full(x, 1 / tiny)
    d = 1 / b
    h = d
    for k in range(1, 500):
        an = -k * (k - a)
        b = b + 2
        d = an * d + b
        d = _where(d.abs() < tiny, _full(d, tiny), d)
        c = b + an / c
        c = _where(c.abs() < tiny, _full(c, tiny), c)
        d = 1 / d
        h = h * d * c
    q_cf = torch.exp(xc.log() * a - xc - torch.lgamma(a)) * h
    p = _where(use_series, p_series, 1 - q_cf)
    q = _where(use_series, 1 - p_series, q_cf)
    return p, q


def _igam(a, x, upper):
    nan = torch.isnan(a) | torch.isnan(x) | (a < 0) | (x < 0) | (torch.isinf(a) & torch.isinf(x)) | ((a == 0) & (x == 0))
    ok = (a > 0) & (x > 0) & torch.isfinite(a) & torch.isfinite(x)
    aa = _where(ok, a, _full(a, 1.0))
    xx = _where(ok, x, _full(x, 1.0))
    p, q = _igam_parts(aa, xx)
    r = q if upper else p
    lo, hi = (_full(r, 1.0), _full(r, 0.0)) if upper else (_full(r, 0.0), _full(r, 1.0))
    r = _where(ok, r, _where((x == 0) | torch.isinf(a), lo, hi))  # x = 0 or a = inf: P = 0; a = 0 or x = inf: P = 1
    return _where(nan, _full(r, _NAN), r)


def _igam_dx(a, x, y):
    return torch.exp((a - 1) * torch.log(x) - x - torch.lgamma(a))


def gammainc(input, other, *, out=None):
    """Regularized lower incomplete gamma P(a, x) (a = input, x = other)."""
    dt = _binary_dtype(input, other)
    grads = ("igamma: input", _igam_dx)
    return _done(_apply(lambda a, x: _igam(a, x, False), grads, input, other), dt, out)


def gammaincc(input, other, *, out=None):
    """Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x)."""
    dt = _binary_dtype(input, other)
    grads = ("igammac: input", lambda a, x, y: -_igam_dx(a, x, y))
    return _done(_apply(lambda a, x: _igam(a, x, True), grads, input, other), dt, out)


# ------------------------------------------------------------------ modified Bessel I and K
def _i_series(x, nu):
    """I_nu(x) for nu in {0, 1} by its power series (no cancellation: all terms share a sign)."""
    q = x * x / 4
    term = _full(x, 1.0) if nu == 0 else x / 2
    s = term
    for k in range(1, 60):
        term = term * q / (k * (k + nu))
        s = s + term
    return s


def _i_asym_scaled(x, nu):
    """exp(-x) I_nu(x) for large x > 0 by the asymptotic expansion."""
    mu = 4 * nu * nu
    term = _full(x, 1.0)
    s = term
    for k in range(1, 30):
        term = term * (-(mu - (2 * k - 1) ** 2)) / (k * 8 * x)
        s = s + term
    return s / torch.sqrt(2 * math.pi * x)


def _i_scaled(x, nu):
    """exp(-|x|) I_nu(x)."""
    ax = x.abs()
    big = ax > 30
    small = _where(big, _full(x, 0.0), x)
    s = _i_series(small, nu) * torch.exp(-small.abs())
    a = _i_asym_scaled(_where(big, ax, _full(x, 31.0)), nu)
    if nu == 1:
        a = a * torch.sign(x)
    r = _where(big, a, s)
    return _where(torch.isinf(x), _full(x, 0.0) if nu == 0 else _full(x, 0.0), r)


def _i0e(x):
    return _where(torch.isnan(x), x, _i_scaled(x, 0))


def _i1e(x):
    return _where(torch.isnan(x), x, _i_scaled(x, 1))


def _i0(x):
    r = _i_scaled(x, 0) * torch.exp(x.abs())
    return _where(torch.isinf(x), _full(x, _NAN), _where(torch.isnan(x), x, r))  # nan at inf, as PyTorch


def _i1(x):
    r = _i_scaled(x, 1) * torch.exp(x.abs())
    return _where(torch.isinf(x), _full(x, _NAN), _where(torch.isnan(x), x, r))  # nan at inf, as PyTorch


def _safe_div_x(y, x, at0):
    xs = _where(x == 0, _full(x, 1.0), x)
    return _where(x == 0, _full(x, at0), y / xs)


i0 = _unary("i0", _i0, lambda x, y: _i1(x))
i0.__doc__ = "Modified Bessel function of the first kind, order 0."
i0e = _unary("i0e", _i0e, lambda x, y: _i1e(x) - torch.sign(x) * y)
i0e.__doc__ = "Exponentially scaled i0: exp(-|x|) * i0(x)."
i1 = _unary("i1", _i1, lambda x, y: _i0(x) - _safe_div_x(y, x, 0.5))
i1.__doc__ = "Modified Bessel function of the first kind, order 1."
i1e = _unary("i1e", _i1e, lambda x, y: _i0e(x) - y * torch.sign(x) - _safe_div_x(y, x, 0.5))
i1e.__doc__ = "Exponentially scaled i1: exp(-|x|) * i1(x)."
modified_bessel_i0 = _unary("modified_bessel_i0", _i0)
modified_bessel_i1 = _unary("modified_bessel_i1", _i1)


def _k_small(x, nu):
    """K_nu(x), nu in {0, 1}, by the series with logarithm (for 0 < x <= 2)."""
    q = x * x / 4
    log_half = torch.log(x / 2)
    if nu == 0:
        term = _full(x, 1.0)
        s = _full(x, 0.0)
        h = 0.0
        for k in range(1, 30):
            h += 1.0 / k
            term = term * q / (k * k)
            s = s + h * term
        return -(log_half + _EULER) * _i_series(x, 0) + s
    # K1 = 1/x + ln(x/2) I1 - (x/4) sum (psi(k+1) + psi(k+2)) q^k / (k! (k+1)!)
    term = _full(x, 1.0)
    h = 0.0  # harmonic number H_k
    s = (-2 * _EULER + 1.0) * term
    for k in range(1, 30):
        h += 1.0 / k
        term = term * q / (k * (k + 1))
        s = s + (-2 * _EULER + 2 * h + 1.0 / (k + 1)) * term
    return 1 / x + log_half * _i_series(x, 1) - x / 4 * s


def _trapezoid_k(x, nu):
    """exp(x) K_nu(x) for x >= 0.6 by the trapezoid rule on
    integral_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt, with steps shrinking like 1/sqrt(x) as
    the integrand narrows (the rule converges exponentially for this analytic integrand)."""
    h = 0.2 * torch.sqrt(torch.clamp(2 / x, max=1.0)).unsqueeze(-1)
    t = torch.arange(40, dtype=x.dtype) * h
    w = torch.cosh(nu * t) * h
    w = torch.cat([w[..., :1] / 2, w[..., 1:]], -1)
    c = 2 * torch.sinh(t / 2) ** 2  # cosh t - 1 without cancellation
    return (torch.exp(-x.unsqueeze(-1) * c) * w).sum(-1)


def _k_scaled(x, nu):
    """exp(x) K_nu(x)."""
    big = x > 2
    xs = _where(big | ~(x > 0), _full(x, 1.0), x)
    small = _k_small(xs, nu) * torch.exp(xs)
    large = _trapezoid_k(_where(big & torch.isfinite(x), x, _full(x, 3.0)), nu)
    r = _where(big, large, small)
    r = _where(x == _INF, _full(x, 0.0), r)
    r = _where(x == 0, _full(x, _INF), r)
    return _where((x < 0) | torch.isnan(x), _full(x, _NAN), r)


def _k(x, nu):
    r = _k_scaled(x, nu) * torch.exp(-torch.clamp(x, min=0.0))
    return _where(x == 0, _full(x, _INF), r)


modified_bessel_k0 = _unary("modified_bessel_k0", lambda x: _k(x, 0))
modified_bessel_k1 = _unary("modified_bessel_k1", lambda x: _k(x, 1))
scaled_modified_bessel_k0 = _unary("scaled_modified_bessel_k0", lambda x: _k_scaled(x, 0))
scaled_modified_bessel_k1 = _unary("scaled_modified_bessel_k1", lambda x: _k_scaled(x, 1))


# ------------------------------------------------------------------ Bessel J and Y
def _jy_series(x):
    """(J0, J1, Y0, Y1) at 0 < x <= 4 from the power series."""
    q = x * x / 4
    t0 = _full(x, 1.0)
    t1 = x / 2
    j0, j1 = t0, t1
    y0s = _full(x, 0.0)
    y1s = (-2 * _EULER + 1.0) * t1  # (psi(1) + psi(2)) (x/2)
    h = 0.0
    for k in range(1, 30):
        h += 1.0 / k
        t0 = t0 * (-q) / (k * k)
        t1 = t1 * (-q) / (k * (k + 1))
        j0 = j0 + t0
        j1 = j1 + t1
        y0s = y0s - h * t0  # (-1)^(k+1) H_k q^k / k!^2
        y1s = y1s + (-2 * _EULER + 2 * h + 1.0 / (k + 1)) * t1
    lg = torch.log(x / 2)
    y0 = 2 / math.pi * ((lg + _EULER) * j0 + y0s)
    y1 = -2 / (math.pi * x) + 2 / math.pi * lg * j1 - y1s / math.pi
    return j0, j1, y0, y1


def _jy_miller(x, top=70):
    """(J0, J1, Y0, Y1) for 4 <= x <= 25: backward recurrence f_{m-1} = (2m/x) f_m - f_{m+1},
    normalised by J0 + 2 sum J_2k = 1; Y from the Neumann series in J_2k."""
    f_next = _full(x, 0.0)  # f_{m+1}
    f = _full(x, 1e-30)  # f_m, m = top
    norm = 2 * f if top % 2 == 0 else _full(x, 0.0)
    s0 = _full(x, 0.0)  # sum (-1)^k f_2k / k
    s1 = _full(x, 0.0)  # sum over odd j of c_j f_j (Y1's Neumann series)

    def odd_coef(j):
        c = (-1) ** ((j + 1) // 2) / ((j + 1) // 2)
        if j >= 3:
            c -= (-1) ** ((j - 1) // 2) / ((j - 1) // 2)
        return c

    if top % 2 == 0:
        s0 = s0 + (-1) ** (top // 2) * f / (top // 2)
    for m in range(top, 0, -1):
        f_prev = (2 * m / x) * f - f_next
        f_next, f = f, f_prev
        i = m - 1
        if i == 0:
            break
        if i % 2 == 0:
            norm = norm + 2 * f
            s0 = s0 + (-1) ** (i // 2) * f / (i // 2)
        else:
            s1 = s1 + odd_coef(i) * f
    f0, f1 = f, f_next
    norm = norm + f0
    j0, j1 = f0 / norm, f1 / norm
    lg = torch.log(x / 2) + _EULER
    y0 = 2 / math.pi * lg * j0 - 4 / math.pi * s0 / norm
    y1 = -2 / (math.pi * x) * j0 + 2 / math.pi * lg * j1 + 2 / math.pi * s1 / norm
    return j0, j1, y0, y1


def _jy_hankel(x):
    """(J0, J1, Y0, Y1) for x > 25 from Hankel's expansion P cos(w) - Q sin(w), w = x - (2 nu + 1) pi / 4."""
    out = []
    for nu in (0, 1):
        mu = 4 * nu * nu
        p, q = _full(x, 1.0), _full(x, 0.0)
        term = _full(x, 1.0)
        for k in range(1, 27):
            term = term * (mu - (2 * k - 1) ** 2) / (k * 8 * x)
            if k % 2:
                q = q + (-1) ** (k // 2) * term
            else:
                p = p + (-1) ** (k // 2) * term
        s, c = torch.sin(x), torch.cos(x)
        if nu == 0:  # w = x - pi/4
            cw, sw = (c + s) / _SQRT2, (s - c) / _SQRT2
        else:  # w = x - 3 pi/4
            cw, sw = (s - c) / _SQRT2, -(s + c) / _SQRT2
        amp = torch.sqrt(2 / (math.pi * x))
        out.append((amp * (p * cw - q * sw), amp * (p * sw + q * cw)))
    (j0, y0), (j1, y1) = out
    return j0, j1, y0, y1


def _jy(x):
    """(J0, J1, Y0, Y1) of |x| (J1 odd in x is applied by the callers)."""
    ax = x.abs()
    lo, mid = ax <= 4, (ax > 4) & (ax <= 25)
    a = _jy_series(_where(lo & (ax > 0), ax, _full(ax, 1.0)))
    b = _jy_miller(_where(mid, ax, _full(ax, 10.0)))
    c = _jy_hankel(_where(~lo & ~mid & torch.isfinite(ax), ax, _full(ax, 30.0)))
    return [_where(lo, u, _where(mid, v, w)) for u, v, w in zip(a, b, c)]


# PyTorch gives nan (not the limit 0) at +-inf for J0, J1, Y0 and Y1
def _j0(x):
    r = _where(x == 0, _full(x, 1.0), _jy(x)[0])
    return _where(torch.isinf(x) | torch.isnan(x), _full(x, _NAN), r)


def _j1(x):
    r = _jy(x)[1] * torch.sign(x)
    return _where(torch.isinf(x) | torch.isnan(x), _full(x, _NAN), r)


def _y(x, i):
    r = _where(x == 0, _full(x, -_INF), _jy(x)[i])
    return _where((x < 0) | torch.isnan(x) | torch.isinf(x), _full(x, _NAN), r)


bessel_j0 = _unary("bessel_j0", _j0)
bessel_j1 = _unary("bessel_j1", _j1)
bessel_y0 = _unary("bessel_y0", lambda x: _y(x, 2))
bessel_y1 = _unary("bessel_y1", lambda x: _y(x, 3))


def _spherical_j0(x):
    zero = x == 0
    safe = _where(zero, _full(x, 1.0), x)
    r = _where(zero, _full(x, 1.0), torch.sin(safe) / safe)
    return _where(torch.isinf(x), _full(x, 0.0), r)


spherical_bessel_j0 = _unary("spherical_bessel_j0", _spherical_j0)


# ------------------------------------------------------------------ Airy Ai
_AIRY_CENTRES = list(range(-10, 2))
_airy_table = None


def _airy_centre_values():
    """Ai and Ai' at the integer centres -10..1, integrating Ai'' = x Ai from x = 0 with
    50-digit Taylor steps (Ai(0), Ai'(0) from the Gamma function)."""
    global _airy_table
    if _airy_table is None:
        with localcontext() as ctx:
            ctx.prec = 50
            y = Decimal(1) / (Decimal(3) ** (Decimal(2) / 3) * Decimal(repr(math.gamma(2 / 3))))
            dy = -Decimal(1) / (Decimal(3) ** (Decimal(1) / 3) * Decimal(repr(math.gamma(1 / 3))))
            vals = {0: (y, dy)}
            for direction in (-1, 1):
                c, (a0, a1) = 0, vals[0]
                while (c > _AIRY_CENTRES[0]) if direction < 0 else (c < _AIRY_CENTRES[-1]):
                    a = [a0, a1, Decimal(c) * a0 / 2]
                    for n in range(1, 120):
                        a.append((Decimal(c) * a[n] + a[n - 1]) / ((n + 2) * (n + 1)))
                    h = Decimal(direction)
                    a0 = sum(ak * h ** k for k, ak in enumerate(a))
                    a1 = sum(k * ak * h ** (k - 1) for k, ak in enumerate(a) if k)
                    c += direction
                    vals[c] = (a0, a1)
            _airy_table = ([float(vals[c][0]) for c in _AIRY_CENTRES], [float(vals[c][1]) for c in _AIRY_CENTRES])
    return _airy_table


def _airy_taylor(x):
    """Ai(x) on [-10.5, 1.5) from the Taylor series of Ai'' = x Ai about the nearest integer."""
    ai, dai = _airy_centre_values()
    c = torch.clamp(torch.round(x), _AIRY_CENTRES[0], _AIRY_CENTRES[-1])
    idx = (c - _AIRY_CENTRES[0]).to(torch.int64)
    a_prev2 = _full(x, 0.0)
    a0 = torch.tensor(ai, dtype=x.dtype)[idx]
    a1 = torch.tensor(dai, dtype=x.dtype)[idx]
    h = x - c
    # coefficients a_n of sum a_n h^n: (n+2)(n+1) a_{n+2} = c a_n + a_{n-1}
    s = a0 + a1 * h
    hp = h * h
    prev2, prev, cur = a_prev2, a0, a1  # a_{n-1}, a_n, a_{n+1} with n = 0
    for n in range(0, 45):
        nxt = (c * prev + prev2) / ((n + 2) * (n + 1))
        s = s + nxt * hp
        hp = hp * h
        prev2, prev, cur = prev, cur, nxt
    return s


def _airy_pos(x):
    """Ai(x) for x >= 1: sqrt(x/3)/pi K_{1/3}(zeta), zeta = 2/3 x^1.5, K by the trapezoid rule."""
    zeta = 2.0 / 3.0 * x * torch.sqrt(x)
    return torch.sqrt(x / 3) / math.pi * _trapezoid_k(zeta, 1 / 3) * torch.exp(-zeta)


def _airy_neg(x):
    """Ai(x) for x < -10.5 from the asymptotic expansion in zeta = 2/3 |x|^1.5."""
    z = -x
    zeta = 2.0 / 3.0 * z * torch.sqrt(z)
    u = 1.0
    even, odd = _full(x, 1.0), _full(x, 0.0)
    term = _full(x, 1.0)
    for k in range(1, 20):
        u = u * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216 * k)
        term = term / zeta
        if k % 2:
            odd = odd + (-1) ** (k // 2) * u * term
        else:
            even = even + (-1) ** (k // 2) * u * term
    ang = zeta + math.pi / 4
    return (torch.sin(ang) * even - torch.cos(ang) * odd) / (_SQRTPI * torch.pow(z, 0.25))


def _airy(x):
    fin = torch.isfinite(x)
    pos = (x >= 1.5) & fin
    neg = (x < -10.5) & fin
    mid = ~pos & ~neg
    r = _where(pos, _airy_pos(_where(pos, x, _full(x, 2.0))),
               _where(neg, _airy_neg(_where(neg, x, _full(x, -11.0))),
                      _airy_taylor(_where(mid & fin, x, _full(x, 0.0)))))
    return _where(torch.isinf(x) | torch.isnan(x), _full(x, _NAN), r)  # PyTorch: nan at +-inf


airy_ai = _unary("airy_ai", _airy)
airy_ai.__doc__ = "Airy function Ai(x)."


# ------------------------------------------------------------------ orthogonal polynomials
def _poly_args(name, input, n):
    if not isinstance(input, Tensor) and not isinstance(n, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    dt = _binary_dtype(input, n)
    x, nn = _f64(input), _f64(n)
    x, nn = torch.broadcast_tensors(x, nn)
    return x, torch.trunc(nn), dt


def _recurrence(x, n, p0, p1, step):
    """p_n(x) for each element's degree n from p_{k+1} = step(k, p_k, p_{k-1}); n < 0 gives 0."""
    nmax = int(n.max()) if n.numel() else 0
    r = _where(n == 0, p0, _full(x, 0.0))
    prev, cur = p0, p1
    if nmax >= 1:
        r = _where(n == 1, cur, r)
    for k in range(1, nmax):
        prev, cur = cur, step(k, cur, prev)
        r = _where(n == k + 1, cur, r)
    return r


def _chebyshev(kind, x, n):
    one = _full(x, 1.0)
    first = {"t": x, "u": 2 * x, "v": 2 * x - 1, "w": 2 * x + 1}[kind]
    r = _recurrence(x, n, one, first, lambda k, p, q: 2 * x * p - q)
    ax = x.abs()
    # |x| < 1 and n > 6: trigonometric forms
    th = torch.acos(torch.clamp(x, -1.0, 1.0))
    trig = {
        "t": lambda: torch.cos(n * th),
        "u": lambda: torch.sin((n + 1) * th) / torch.sin(th),
        "v": lambda: torch.cos((n + 0.5) * th) / torch.cos(th / 2),
        "w": lambda: torch.sin((n + 0.5) * th) / torch.sin(th / 2),
    }[kind]()
    r = _where((ax < 1) & (n > 6), trig, r)
    odd = torch.remainder(n, 2) == 1
    at1 = {  # x = +-1
        "t": (one, _where(odd, -one, one)),
        "u": (n + 1, _where(odd, -(n + 1), n + 1)),
        "v": (one, _where(odd, -(2 * n + 1), 2 * n + 1)),
        "w": (2 * n + 1, _where(odd, -one, one)),
    }[kind]
    r = _where((x == 1) & (n >= 0), at1[0], _where((x == -1) & (n >= 0), at1[1], r))
    return _where(n < 0, _full(x, 0.0), r)


def _make_chebyshev(kind, shifted):
    name = f"{'shifted_' if shifted else ''}chebyshev_polynomial_{kind}"

    def fn(input, n, *, out=None):
        x, nn, dt = _poly_args(name, input, n)
        with torch.no_grad():
            r = _chebyshev(kind, 2 * x - 1 if shifted else x, nn)
        return _done(r, dt, out)
    fn.__name__ = name
    fn.__doc__ = f"{'Shifted ' if shifted else ''}Chebyshev polynomial of the {kind.upper()} kind of degree n."
    return fn


chebyshev_polynomial_t = _make_chebyshev("t", False)
chebyshev_polynomial_u = _make_chebyshev("u", False)
chebyshev_polynomial_v = _make_chebyshev("v", False)
chebyshev_polynomial_w = _make_chebyshev("w", False)
shifted_chebyshev_polynomial_t = _make_chebyshev("t", True)
shifted_chebyshev_polynomial_u = _make_chebyshev("u", True)
shifted_chebyshev_polynomial_v = _make_chebyshev("v", True)
shifted_chebyshev_polynomial_w = _make_chebyshev("w", True)


def hermite_polynomial_h(input, n, *, out=None):
    """Physicists' Hermite polynomial H_n(x)."""
    x, nn, dt = _poly_args("hermite_polynomial_h", input, n)
    with torch.no_grad():
        r = _recurrence(x, nn, _full(x, 1.0), 2 * x, lambda k, p, q: 2 * x * p - 2 * k * q)
    return _done(r, dt, out)


def hermite_polynomial_he(input, n, *, out=None):
    """Probabilists' Hermite polynomial He_n(x)."""
    x, nn, dt = _poly_args("hermite_polynomial_he", input, n)
    with torch.no_grad():
        r = _recurrence(x, nn, _full(x, 1.0), x.clone(), lambda k, p, q: x * p - k * q)
    return _done(r, dt, out)


def laguerre_polynomial_l(input, n, *, out=None):
    """Laguerre polynomial L_n(x)."""
    x, nn, dt = _poly_args("laguerre_polynomial_l", input, n)
    with torch.no_grad():
        r = _recurrence(x, nn, _full(x, 1.0), 1 - x, lambda k, p, q: ((2 * k + 1 - x) * p - k * q) / (k + 1))
        r = _where((x == 0) & (nn >= 0), _full(x, 1.0), r)
    return _done(r, dt, out)


def legendre_polynomial_p(input, n, *, out=None):
    """Legendre polynomial P_n(x)."""
    x, nn, dt = _poly_args("legendre_polynomial_p", input, n)
    with torch.no_grad():
        r = _recurrence(x, nn, _full(x, 1.0), x.clone(), lambda k, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1))
        odd = torch.remainder(nn, 2) == 1
        one = _full(x, 1.0)
        r = _where((x == 1) & (nn >= 0), one, _where((x == -1) & (nn >= 0), _where(odd, -one, one), r))
    return _done(r, dt, out)
