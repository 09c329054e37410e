"""Tests of the autograd engine (issue "Autograd engine").

Every expected value is computed by hand, with NumPy, or by central finite differences done here in
the test (independently of ferrotorch's own `gradcheck` helper, which is exercised too).

Run:  cd tests && python -m pytest -q test_autograd.py        (add -s to see the memory numbers)
"""
import gc
import math
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import ferrotorch as torch
import ferrotorch.nn as nn
import ferrotorch.nn.functional as F
from ferrotorch.autograd import Function, gradcheck, gradgradcheck
from ferrotorch.autograd.function import once_differentiable

RNG = np.random.default_rng(20240607)
f64 = torch.float64


# --------------------------------------------------------------------------- helpers

def npy(t):
    return np.asarray(t.detach().numpy())


def leaf(*shape, lo=-1.0, hi=1.0, away=0.0, grad=True):
    """float64 leaf with entries uniform in [lo, hi]; |x| >= away when away > 0."""
    a = RNG.uniform(lo, hi, size=shape)
    if away > 0:
        a = np.where(np.abs(a) < away, np.sign(a + 1e-300) * away + a, a)
    t = torch.tensor(np.asarray(a, dtype=np.float64))
    return t.requires_grad_(grad)


def distinct(*shape, grad=True):
    """float64 leaf with pairwise well-separated entries (for max/min/sort-like ops)."""
    n = int(np.prod(shape)) if shape else 1
    a = (RNG.permutation(n) * 0.37 - 0.15 * n).reshape(shape) + RNG.uniform(-0.05, 0.05, size=shape)
    return torch.tensor(np.asarray(a, dtype=np.float64)).requires_grad_(grad)


def _outs(o):
    return [t for t in (o if isinstance(o, (tuple, list)) else (o,)) if isinstance(t, torch.Tensor)]


def fd_vjp_check(fn, inputs, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Independent check: autograd vector-Jacobian products of fn against central finite differences,
    evaluating fn on freshly built tensors (no in-place tricks)."""
    arrays = [npy(x).copy() if isinstance(x, torch.Tensor) else x for x in inputs]
    req = [isinstance(x, torch.Tensor) and x.requires_grad for x in inputs]

    def build(arrs):
        return [torch.tensor(a).requires_grad_(r) if isinstance(x, torch.Tensor) else a
                for a, r, x in zip(arrs, req, inputs)]

    ins = build(arrays)
    outs = [o for o in _outs(fn(*ins)) if o.requires_grad]
    rs = [RNG.standard_normal(tuple(o.shape)) for o in outs]
    diff_ins = [t for t, r in zip(ins, req) if r]
    grads = torch.autograd.grad(outs, diff_ins, [torch.tensor(r) for r in rs], allow_unused=True)

    def objective(arrs):
        with torch.no_grad():
            os_ = [o for o in _outs(fn(*build(arrs))) if o.dtype.is_floating_point]
        os_ = os_[:len(rs)]
        return sum(float((npy(o).astype(np.float64) * r).sum()) for o, r in zip(os_, rs))

    gi = iter(grads)
    for i, r in enumerate(req):
        if not r:
            continue
        g = next(gi)
        g = np.zeros_like(arrays[i]) if g is None else npy(g)
        assert g.shape == arrays[i].shape, f"grad shape {g.shape} != input shape {arrays[i].shape}"
        num = np.zeros(arrays[i].size)
        for k in range(arrays[i].size):
            plus = [a.copy() if isinstance(a, np.ndarray) else a for a in arrays]
            minus = [a.copy() if isinstance(a, np.ndarray) else a for a in arrays]
            plus[i].reshape(-1)[k] += eps
            minus[i].reshape(-1)[k] -= eps
            num[k] = (objective(plus) - objective(minus)) / (2 * eps)
        np.testing.assert_allclose(g.reshape(-1), num, rtol=rtol, atol=atol,
                                   err_msg=f"vjp mismatch for input {i}")


def check(fn, *inputs, atol=1e-5, rtol=1e-3):
    """torch.autograd.gradcheck plus the independent finite-difference VJP check."""
    assert gradcheck(fn, tuple(inputs), eps=1e-6, atol=atol, rtol=rtol)
    fd_vjp_check(fn, inputs)


def my_gradgradcheck(fn, inputs, eps=1e-6, rtol=1e-4, atol=1e-6):
    """Independent double-backward check: d/dx <grad_x <fn(x), v>, u> vs central differences of the
    first-order gradient (computed with autograd, create_graph=False)."""
    arrays = [npy(x).copy() for x in inputs]
    out_shape = tuple(fn(*[torch.tensor(a) for a in arrays]).shape)
    v = RNG.standard_normal(out_shape)
    us = [RNG.standard_normal(a.shape) for a in arrays]

    def first_grad(arrs, create_graph):
        xs = [torch.tensor(a).requires_grad_() for a in arrs]
        gs = torch.autograd.grad(fn(*xs), xs, torch.tensor(v), create_graph=create_graph, allow_unused=True)
        return xs, gs

    xs, gs = first_grad(arrays, True)
    s = sum((g * torch.tensor(u)).sum() for g, u in zip(gs, us) if g is not None)
    assert s.requires_grad, "first-order gradient does not require grad with create_graph=True"
    hs = torch.autograd.grad(s, xs, allow_unused=True)
    for i, a in enumerate(arrays):
        h = np.zeros_like(a) if hs[i] is None else npy(hs[i])
        num = np.zeros(a.size)
        for k in range(a.size):
            vals = []
            for sgn in (1, -1):
                arrs = [b.copy() for b in arrays]
                arrs[i].reshape(-1)[k] += sgn * eps
                _, g2 = first_grad(arrs, False)
                vals.append(sum(float((npy(g) * u).sum()) for g, u in zip(g2, us) if g is not None))
            num[k] = (vals[0] - vals[1]) / (2 * eps)
        np.testing.assert_allclose(h.reshape(-1), num, rtol=rtol, atol=atol, err_msg=f"second-order mismatch, input {i}")


def rss_kb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@pytest.fixture(autouse=True)
def _grad_mode_guard():
    """Every test starts (and must end) with grad mode enabled."""
    torch.set_grad_enabled(True)
    yield
    enabled = torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    assert enabled, "test leaked grad mode disabled"


# =========================================================================== second order

def test_second_derivative_of_cube():
    xs = np.array([-1.5, 0.5, 2.0])
    x = torch.tensor(xs).requires_grad_()
    y = (x ** 3).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(npy(g), 3 * xs ** 2, rtol=1e-12)
    assert g.requires_grad and g.grad_fn is not None
    (g2,) = torch.autograd.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(npy(g2), 6 * xs, rtol=1e-12)
    (g3,) = torch.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(npy(g3), [6.0, 6.0, 6.0], rtol=1e-12)


def test_scalar_float64_tensor_is_exact():
    # not an autograd bug, but it silently degrades every float64 scalar fed to gradcheck / grad
    assert torch.tensor(0.7, dtype=f64).item() == 0.7
    assert torch.tensor(0.7, dtype=f64, requires_grad=True).item() == 0.7


def test_second_derivative_scalar_via_backward():
    x = torch.tensor(2.0, dtype=f64, requires_grad=True)
    y = x ** 3
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    assert g.item() == pytest.approx(12.0)
    g.backward()
    assert x.grad.item() == pytest.approx(12.0)   # d/dx (3x^2) = 6x = 12


def test_mixed_partials():
    # f(x, y) = x^2 y + sin(x y); d2f/dxdy = 2x + cos(xy) - xy sin(xy)
    x = torch.tensor(np.array(0.7)).requires_grad_()
    y = torch.tensor(np.array(-1.3)).requires_grad_()
    f = x * x * y + torch.sin(x * y)
    gx, = torch.autograd.grad(f, x, create_graph=True)
    gxy, gxx = torch.autograd.grad(gx, [y, x])
    xv, yv = 0.7, -1.3
    assert gxy.item() == pytest.approx(2 * xv + math.cos(xv * yv) - xv * yv * math.sin(xv * yv), rel=1e-12)
    assert gxx.item() == pytest.approx(2 * yv - yv * yv * math.sin(xv * yv), rel=1e-12)


class _MLP:
    """Linear(3, 5) - tanh - Linear(5, 1) on float64 with parameters given as one flat vector."""
    shapes = [(5, 3), (5,), (1, 5), (1,)]

    def __init__(self):
        self.X = torch.tensor(RNG.standard_normal((4, 3)))
        self.Y = torch.tensor(RNG.standard_normal((4, 1)))
        self.n = sum(int(np.prod(s)) for s in self.shapes)

    def loss(self, theta):
        ps, off = [], 0
        for s in self.shapes:
            k = int(np.prod(s))
            ps.append(theta[off:off + k].view(*s))
            off += k
        w1, b1, w2, b2 = ps
        h = torch.tanh(F.linear(self.X, w1, b1))
        out = F.linear(h, w2, b2)
        return ((out - self.Y) ** 2).mean()

    def grad_np(self, theta_np):
        t = torch.tensor(theta_np).requires_grad_()
        (g,) = torch.autograd.grad(self.loss(t), t)
        return npy(g)


def test_hessian_vector_product_mlp_vs_finite_differences():
    mlp = _MLP()
    theta_np = RNG.standard_normal(mlp.n) * 0.5
    v_np = RNG.standard_normal(mlp.n)
    theta = torch.tensor(theta_np).requires_grad_()
    (g,) = torch.autograd.grad(mlp.loss(theta), theta, create_graph=True)
    (hv,) = torch.autograd.grad(g, theta, grad_outputs=torch.tensor(v_np))
    eps = 1e-5
    hv_fd = (mlp.grad_np(theta_np + eps * v_np) - mlp.grad_np(theta_np - eps * v_np)) / (2 * eps)
    np.testing.assert_allclose(npy(hv), hv_fd, rtol=1e-6, atol=1e-8)
    # the same product via a dot with v, and through torch.autograd.functional.hvp
    theta2 = torch.tensor(theta_np).requires_grad_()
    (g2,) = torch.autograd.grad(mlp.loss(theta2), theta2, create_graph=True)
    (hv2,) = torch.autograd.grad((g2 * torch.tensor(v_np)).sum(), theta2)
    np.testing.assert_allclose(npy(hv2), hv_fd, rtol=1e-6, atol=1e-8)
    _, hv3 = torch.autograd.functional.hvp(mlp.loss, torch.tensor(theta_np), torch.tensor(v_np))
    np.testing.assert_allclose(npy(hv3), hv_fd, rtol=1e-6, atol=1e-8)


def test_full_hessian_is_symmetric_and_matches_fd():
    mlp = _MLP()
    theta_np = RNG.standard_normal(mlp.n) * 0.5
    theta = torch.tensor(theta_np).requires_grad_()
    (g,) = torch.autograd.grad(mlp.loss(theta), theta, create_graph=True)
    H = np.stack([npy(torch.autograd.grad(g[i], theta, retain_graph=True)[0]) for i in range(mlp.n)])
    np.testing.assert_allclose(H, H.T, atol=1e-10)
    eps = 1e-5
    H_fd = np.stack([(mlp.grad_np(theta_np + eps * e) - mlp.grad_np(theta_np - eps * e)) / (2 * eps)
                     for e in np.eye(mlp.n)])
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-7)


def test_gradient_penalty():
    # critic D(x) = tanh(x @ w) . 1 ; penalty P = sum_i (||dD/dx_i|| - 1)^2, then backward to w
    x_np = RNG.standard_normal((3, 4))
    w_np = RNG.standard_normal((4, 2)) * 0.5

    def penalty(w_arr, create_graph):
        w = torch.tensor(w_arr).requires_grad_()
        x = torch.tensor(x_np).requires_grad_()
        d = torch.tanh(x @ w).sum()
        (gx,) = torch.autograd.grad(d, x, create_graph=create_graph)
        p = ((gx.norm(dim=1) - 1) ** 2).sum()
        return w, x, gx, p

    w, x, gx, p = penalty(w_np, True)
    # gx by hand: (1 - tanh^2(xw)) @ w^T
    np.testing.assert_allclose(npy(gx), (1 - np.tanh(x_np @ w_np) ** 2) @ w_np.T, rtol=1e-12)
    p.backward()
    assert x.grad is not None  # penalty also depends on x
    eps = 1e-6
    num = np.zeros_like(w_np)
    for idx in np.ndindex(*w_np.shape):
        wp, wm = w_np.copy(), w_np.copy()
        wp[idx] += eps
        wm[idx] -= eps
        num[idx] = (penalty(wp, False)[3].item() - penalty(wm, False)[3].item()) / (2 * eps)
    np.testing.assert_allclose(npy(w.grad), num, rtol=1e-6, atol=1e-8)


GG_FUNCS = {
    "tanh": (lambda x: torch.tanh(x), [(2, 3)]),
    "sigmoid": (lambda x: torch.sigmoid(x), [(2, 3)]),
    "mul": (lambda x, y: x * y, [(2, 3), (2, 3)]),
    "div": (lambda x, y: x / (y * y + 1), [(2, 3), (3,)]),
    "pow": (lambda x: (x * x + 0.5) ** 1.5, [(4,)]),
    "mm": (lambda a, b: a @ b, [(2, 3), (3, 2)]),
    "softmax": (lambda x: torch.softmax(x, dim=1), [(2, 3)]),
    "log_softmax": (lambda x: torch.log_softmax(x, dim=0), [(3, 2)]),
    "exp_sum": (lambda x: torch.exp(x).sum(dim=0), [(3, 2)]),
    "log": (lambda x: torch.log(x * x + 1), [(5,)]),
    "sin_cos": (lambda x: torch.sin(x) * torch.cos(x), [(5,)]),
    "norm": (lambda x: x.norm(dim=1), [(2, 3)]),
    "mean_var": (lambda x: x.var(dim=1) + x.mean(), [(2, 4)]),
    "layer_norm": (lambda x: F.layer_norm(x, (4,)), [(2, 4)]),
    "linear_tanh": (lambda x, w: torch.tanh(F.linear(x, w)), [(2, 3), (4, 3)]),
}


@pytest.mark.parametrize("name", list(GG_FUNCS))
def test_double_backward_vs_finite_differences(name):
    fn, shapes = GG_FUNCS[name]
    my_gradgradcheck(fn, [leaf(*s) for s in shapes])


@pytest.mark.parametrize("name", ["tanh", "mul", "mm", "softmax"])
def test_gradgradcheck(name):
    fn, shapes = GG_FUNCS[name]
    assert gradgradcheck(fn, tuple(leaf(*s) for s in shapes))


# =========================================================================== gradcheck per op family

UNARY = {
    "exp": (torch.exp, {}),
    "log": (torch.log, dict(lo=0.3, hi=2.0)),
    "log2": (torch.log2, dict(lo=0.3, hi=2.0)),
    "log10": (torch.log10, dict(lo=0.3, hi=2.0)),
    "log1p": (torch.log1p, dict(lo=-0.5, hi=2.0)),
    "expm1": (torch.expm1, {}),
    "sin": (torch.sin, {}),
    "cos": (torch.cos, {}),
    "tan": (torch.tan, {}),
    "asin": (torch.asin, dict(lo=-0.8, hi=0.8)),
    "acos": (torch.acos, dict(lo=-0.8, hi=0.8)),
    "atan": (torch.atan, dict(lo=-2, hi=2)),
    "sinh": (torch.sinh, {}),
    "cosh": (torch.cosh, {}),
    "tanh": (torch.tanh, {}),
    "asinh": (torch.asinh, dict(lo=-2, hi=2)),
    "acosh": (torch.acosh, dict(lo=1.2, hi=3)),
    "atanh": (torch.atanh, dict(lo=-0.8, hi=0.8)),
    "sigmoid": (torch.sigmoid, dict(lo=-3, hi=3)),
    "sqrt": (torch.sqrt, dict(lo=0.2, hi=2)),
    "rsqrt": (torch.rsqrt, dict(lo=0.2, hi=2)),
    "erf": (torch.erf, {}),
    "erfc": (torch.erfc, {}),
    "erfinv": (torch.erfinv, dict(lo=-0.8, hi=0.8)),
    "abs": (torch.abs, dict(away=0.1)),
    "neg": (torch.neg, {}),
    "reciprocal": (torch.reciprocal, dict(away=0.3)),
    "square": (torch.square, {}),
    "lgamma": (torch.lgamma, dict(lo=0.5, hi=3)),
    "digamma": (torch.digamma, dict(lo=0.5, hi=3)),
    "relu": (torch.relu, dict(away=0.1)),
    "pow_scalar": (lambda x: x ** 2.5, dict(lo=0.2, hi=2)),
    "rpow": (lambda x: 2.0 ** x, {}),
    "clamp": (lambda x: torch.clamp(x, -0.5, 0.5), dict(lo=-1, hi=1)),
    "gelu": (F.gelu, dict(lo=-2, hi=2)),
    "silu": (F.silu, dict(lo=-2, hi=2)),
    "softplus": (F.softplus, dict(lo=-2, hi=2)),
    "elu": (F.elu, dict(away=0.1)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), dict(away=0.1)),
    "logsigmoid": (F.logsigmoid, {}),
    "hardtanh_interior": (F.hardtanh, dict(lo=-0.9, hi=0.9)),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_gradcheck_unary(name):
    fn, kw = UNARY[name]
    x = leaf(2, 3, **kw)
    if name == "clamp":  # keep every entry away from the kinks at +-0.5
        with torch.no_grad():
            x.copy_(torch.tensor(np.array([[-0.9, -0.3, 0.1], [0.3, 0.7, -0.7]])))
    check(fn, x)


def test_gradcheck_detects_a_wrong_backward():
    class WrongSin(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x.cos() * 1.01          # 1% off

    x = leaf(3)
    assert gradcheck(WrongSin.apply, (x,), raise_exception=False) is False
    with pytest.raises(RuntimeError):
        gradcheck(WrongSin.apply, (x,))
    with pytest.raises(AssertionError):
        fd_vjp_check(WrongSin.apply, [x])


def test_unary_grad_values_by_hand():
    xs = np.array([0.3, 1.1, 2.0])
    for fn, d in [(torch.exp, np.exp), (torch.log, lambda a: 1 / a), (torch.sin, np.cos),
                  (torch.tanh, lambda a: 1 - np.tanh(a) ** 2), (torch.sqrt, lambda a: 0.5 / np.sqrt(a)),
                  (torch.sigmoid, lambda a: np.exp(-a) / (1 + np.exp(-a)) ** 2),
                  (torch.erf, lambda a: 2 / np.sqrt(np.pi) * np.exp(-a * a))]:
        x = torch.tensor(xs).requires_grad_()
        fn(x).sum().backward()
        np.testing.assert_allclose(npy(x.grad), d(xs), rtol=1e-12)


def _pos(x):
    return x.abs() + 0.5


BINARY = {
    "add": (lambda a, b: a + b, {}),
    "add_alpha": (lambda a, b: torch.add(a, b, alpha=-2.5), {}),
    "sub": (lambda a, b: a - b, {}),
    "rsub_scalar": (lambda a, b: 3.0 - a * b, {}),
    "mul": (lambda a, b: a * b, {}),
    "div": (lambda a, b: a / b, dict(away_b=0.4)),
    "rdiv_scalar": (lambda a, b: 2.0 / b + a, dict(away_b=0.4)),
    "pow": (lambda a, b: _pos(a) ** b, dict(away_a=0.05)),
    "maximum": (torch.maximum, dict(distinct=True)),
    "minimum": (torch.minimum, dict(distinct=True)),
    "atan2": (torch.atan2, dict(away_b=0.3)),
    "hypot": (torch.hypot, dict(away_b=0.3)),
    "where": (lambda a, b: torch.where(a > 0, a, b), dict(away_a=0.1)),
    "lerp": (lambda a, b: torch.lerp(a, b, 0.3), {}),
    "addcmul": (lambda a, b: torch.addcmul(a, a, b, value=0.5), {}),
}
SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((3,), (2, 2, 3)), ((2, 3), ())]


@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(BINARY))
def test_gradcheck_binary_broadcasting(name, shapes):
    fn, kw = BINARY[name]
    sa, sb = shapes
    if kw.get("distinct"):
        n = int(np.prod(sa)) + int(np.prod(sb))
        vals = RNG.permutation(n) * 0.31 - 0.15 * n
        a = torch.tensor(vals[:int(np.prod(sa))].reshape(sa)).requires_grad_()
        b = torch.tensor(vals[int(np.prod(sa)):].reshape(sb)).requires_grad_()
    else:
        a = leaf(*sa, away=kw.get("away_a", 0.0))
        b = leaf(*sb, away=kw.get("away_b", 0.0))
    out = fn(a, b)
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape   # reduced back to the input shape
    a.grad = None
    b.grad = None
    check(fn, a, b)


def test_broadcast_grad_reduction_by_hand():
    a = torch.ones(2, 3, dtype=f64, requires_grad=True)
    b = torch.tensor([1.0, 2.0, 3.0], dtype=f64, requires_grad=True)
    c = torch.tensor([[10.0], [20.0]], dtype=f64, requires_grad=True)
    s = torch.tensor(4.0, dtype=f64, requires_grad=True)
    ((a * b + c) * s).sum().backward()
    np.testing.assert_allclose(npy(b.grad), [8.0, 8.0, 8.0])        # sum over rows of a*s
    np.testing.assert_allclose(npy(c.grad), [[12.0], [12.0]])       # 3 columns * s
    np.testing.assert_allclose(npy(a.grad), np.tile([4.0, 8.0, 12.0], (2, 1)))
    assert s.grad.shape == () and s.grad.item() == pytest.approx(2 * (1 + 2 + 3) + 3 * (10 + 20))


REDUCTIONS = {
    "sum": (lambda x: x.sum(), {}),
    "sum_dim": (lambda x: x.sum(dim=1), {}),
    "sum_dims_keepdim": (lambda x: x.sum(dim=(0, 2), keepdim=True), {}),
    "mean": (lambda x: x.mean(), {}),
    "mean_dim": (lambda x: x.mean(dim=-1), {}),
    "prod": (lambda x: x.prod(), dict(away=0.3)),
    "prod_dim": (lambda x: x.prod(dim=1), dict(away=0.3)),
    "amax": (lambda x: x.amax(dim=1), dict(distinct=True)),
    "amax_multi": (lambda x: x.amax(dim=(0, 2)), dict(distinct=True)),
    "amin": (lambda x: x.amin(dim=0), dict(distinct=True)),
    "max_full": (lambda x: x.max(), dict(distinct=True)),
    "max_dim": (lambda x: x.max(dim=1).values, dict(distinct=True)),
    "max_dim_keepdim": (lambda x: x.max(dim=2, keepdim=True)[0], dict(distinct=True)),
    "min_dim": (lambda x: x.min(dim=0).values, dict(distinct=True)),
    "var": (lambda x: x.var(), {}),
    "var_dim": (lambda x: x.var(dim=1), {}),
    "var_biased": (lambda x: x.var(dim=2, unbiased=False), {}),
    "std": (lambda x: x.std(), {}),
    "std_dim": (lambda x: x.std(dim=0, keepdim=True), {}),
    "norm": (lambda x: x.norm(), {}),
    "norm_dim": (lambda x: x.norm(dim=1), {}),
    "norm_p3": (lambda x: x.norm(p=3, dim=2), dict(away=0.2)),
    "norm_p1": (lambda x: x.norm(p=1), dict(away=0.2)),
    "logsumexp": (lambda x: x.logsumexp(dim=1), {}),
    "logsumexp_all": (lambda x: torch.logsumexp(x, dim=(0, 1, 2)), {}),
    "cumsum": (lambda x: x.cumsum(dim=1), {}),
    "cumsum_last": (lambda x: torch.cumsum(x, -1), {}),
    "cumprod": (lambda x: x.cumprod(dim=2), dict(away=0.3)),
    "cumprod_dim1": (lambda x: torch.cumprod(x, 1), dict(away=0.3)),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_gradcheck_reductions(name):
    fn, kw = REDUCTIONS[name]
    if kw.get("distinct"):
        x = distinct(2, 3, 2)
    elif kw.get("zero"):
        a = RNG.uniform(0.5, 1.5, size=(2, 3, 2))
        a[0, 1, 0] = 0.0     # one zero in a product: gradient of the others is 0 there, of it the rest
        x = torch.tensor(a).requires_grad_()
    else:
        x = leaf(2, 3, 2, away=kw.get("away", 0.0))
    check(fn, x)




@pytest.mark.parametrize("op", ["prod", "prod_dim", "cumprod"])
def test_prod_and_cumprod_with_zero(op):
    x = torch.tensor(np.array([[2.0, 0.0, 3.0], [1.5, -0.5, 2.0]])).requires_grad_()
    fn = {"prod": lambda x: x.prod(), "prod_dim": lambda x: x.prod(dim=1), "cumprod": lambda x: x.cumprod(dim=1)}[op]
    fn(x).sum().backward()
    ref = {"prod": [[0, 2 * 3 * 1.5 * -0.5 * 2, 0], [0, 0, 0]], "prod_dim": [[0, 6, 0], [-1, 3, -0.75]],
           "cumprod": [[1 + 0 + 0, 2 + 6, 0], [1 - 0.5 - 1, 1.5 + 3, -0.75]]}[op]
    np.testing.assert_allclose(npy(x.grad), ref, rtol=1e-12)
    x.grad = None
    check(fn, x)


def test_reduction_grads_by_hand():
    a = np.array([[1.0, 2.0, 3.0], [4.0, 0.5, -2.0]])
    x = torch.tensor(a).requires_grad_()
    x.prod().backward()
    np.testing.assert_allclose(npy(x.grad), a.prod() / a)
    x.grad = None
    x.max(dim=1).values.sum().backward()
    np.testing.assert_allclose(npy(x.grad), [[0, 0, 1], [1, 0, 0]])
    x.grad = None
    x.var(dim=1).sum().backward()     # d var / dx_i = 2 (x_i - mean) / (n - 1)
    np.testing.assert_allclose(npy(x.grad), (a - a.mean(1, keepdims=True)), rtol=1e-12)
    x.grad = None
    x.cumsum(dim=1).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [[3, 2, 1], [3, 2, 1]])
    x.grad = None
    x.logsumexp(dim=1).sum().backward()
    e = np.exp(a - a.max(1, keepdims=True))
    np.testing.assert_allclose(npy(x.grad), e / e.sum(1, keepdims=True), rtol=1e-12)


VIEWS = {
    "view": (lambda x: x.view(6, 4), (2, 3, 4)),
    "view_infer": (lambda x: x.view(-1), (2, 3, 4)),
    "reshape": (lambda x: x.reshape(4, 6), (2, 3, 4)),
    "reshape_noncontig": (lambda x: x.transpose(0, 2).reshape(-1, 2), (2, 3, 4)),
    "flatten": (lambda x: x.flatten(1), (2, 3, 4)),
    "permute": (lambda x: x.permute(2, 0, 1) * torch.arange(2.0, dtype=f64).view(1, 2, 1), (2, 3, 4)),
    "transpose": (lambda x: x.transpose(0, 1), (2, 3, 4)),
    "t": (lambda x: x.t(), (3, 4)),
    "mT": (lambda x: x.mT, (2, 3, 4)),
    "expand": (lambda x: x.expand(3, 2, 4), (2, 1)),
    "expand_as_mul": (lambda x: x.expand(2, 3) * torch.tensor([1.0, 2.0, 3.0], dtype=f64), (2, 1)),
    "broadcast_to": (lambda x: torch.broadcast_to(x, (2, 3, 4)), (3, 1)),
    "squeeze": (lambda x: x.squeeze(), (2, 1, 3, 1)),
    "squeeze_dim": (lambda x: x.squeeze(1), (2, 1, 3, 1)),
    "unsqueeze": (lambda x: x.unsqueeze(1).unsqueeze(-1), (2, 3)),
    "narrow": (lambda x: x.narrow(1, 1, 2), (2, 4)),
    "slice": (lambda x: x[1:, ::2], (3, 5)),
    "slice_neg_step_free": (lambda x: x[..., 1], (2, 3, 4)),
    "select_int": (lambda x: x[1, :, 2], (2, 3, 4)),
    "index_none": (lambda x: x[None, :, 1:3], (2, 4)),
    "diagonal": (lambda x: x.diagonal(), (3, 3)),
    "diagonal_offset": (lambda x: torch.diagonal(x, offset=1), (3, 4)),
    "diagonal_dims": (lambda x: x.diagonal(0, 1, 2), (2, 3, 3)),
    "unfold": (lambda x: x.unfold(1, 3, 2), (2, 7)),
    "unfold_overlap": (lambda x: x.unfold(0, 2, 1), (4,)),
    "flip": (lambda x: x.flip(0) * torch.arange(6.0, dtype=f64).view(2, 3), (2, 3)),
    "flip_dims": (lambda x: torch.flip(x, (0, 2)), (2, 2, 3)),
    "roll": (lambda x: torch.roll(x, 1, 1), (2, 3)),
    "tril": (lambda x: x.tril(), (3, 3)),
    "triu": (lambda x: torch.triu(x, 1), (3, 4)),
    "repeat": (lambda x: x.repeat(2, 3), (2, 2)),
    "repeat_newdim": (lambda x: x.repeat(2, 1, 2), (2, 3)),
    "movedim": (lambda x: torch.movedim(x, 0, -1), (2, 3, 4)),
    "contiguous": (lambda x: x.t().contiguous(), (2, 3)),
    "as_strided_like_view": (lambda x: x.view(2, 3).t().reshape(6) * torch.arange(6.0, dtype=f64), (6,)),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_gradcheck_views(name):
    fn, shape = VIEWS[name]
    check(fn, leaf(*shape))


def test_gradcheck_cat_stack_split():
    a, b, c = leaf(2, 3), leaf(1, 3), leaf(2, 3)
    check(lambda a, b: torch.cat([a, b, a], dim=0), a, b)
    check(lambda a, c: torch.cat((a, c), dim=1), a, c)
    check(lambda a, c: torch.stack([a, c, a]), a, c)
    check(lambda a, c: torch.stack([a, c], dim=2), a, c)
    check(lambda a: a.split(1, dim=0), a)
    check(lambda a: torch.split(a, [1, 2], dim=1), a)
    check(lambda a: a.split([1, 2], dim=1)[1] * 2.0, a)    # only one piece used: others get zero grad
    check(lambda a: a.chunk(3, dim=1), a)
    check(lambda a: a.unbind(1), a)


def test_split_unused_piece_gets_zero_grad():
    a = leaf(2, 3)
    p0, p1 = a.split([1, 2], dim=1)
    (p1 * 3).sum().backward()
    np.testing.assert_allclose(npy(a.grad), [[0, 3, 3], [0, 3, 3]])


def test_view_of_view_grad_by_hand():
    x = torch.arange(12.0, dtype=f64).requires_grad_()
    y = x.view(3, 4).t()[1:3].reshape(-1)     # elements x[1,2,5,6,9,10] in some order
    (y * torch.arange(1.0, 7.0, dtype=f64)).sum().backward()
    g = np.zeros(12)
    ref = np.arange(12.0).reshape(3, 4).T[1:3].reshape(-1).astype(int)
    g[ref] = np.arange(1.0, 7.0)
    np.testing.assert_allclose(npy(x.grad), g)


# --------------------------------------------------------------------------- indexing

def test_gradcheck_indexing_family():
    x = leaf(3, 4)
    mask = torch.tensor(RNG.uniform(size=(3, 4)) > 0.5)
    idx = torch.tensor([2, 0, 2, 1])          # duplicates: gradients must accumulate
    check(lambda x: x[mask], x)
    check(lambda x: x[idx], x)
    check(lambda x: x[:, idx], x)
    check(lambda x: x[idx, torch.tensor([0, 1, 1, 3])], x)
    check(lambda x: x[torch.tensor([[0, 1], [2, 2]])], x)
    check(lambda x: x.index_select(1, idx), x)
    check(lambda x: torch.index_select(x, 0, torch.tensor([1, 1])), x)
    check(lambda x: x.masked_fill(mask, 3.0), x)
    check(lambda x: x.masked_fill(~mask, -1.0) * 2, x)
    gidx = torch.tensor([[0, 3, 3], [1, 1, 0], [2, 0, 1]])
    check(lambda x: torch.gather(x, 1, gidx), x)
    check(lambda x: x.gather(0, torch.tensor([[2, 0, 1, 1], [0, 0, 2, 1]])), x)
    check(lambda x: x.take_along_dim(gidx, dim=1), x)


def test_gradcheck_scatter_family():
    x = leaf(3, 4)
    src = leaf(2, 4)
    sidx = torch.tensor([[0, 1, 2, 0], [2, 0, 1, 1]])     # distinct per column: scatter is well defined
    check(lambda x, s: x.scatter(0, sidx, s), x, src)
    check(lambda x, s: torch.scatter(x, 0, sidx, s) * 2.0, x, src)
    check(lambda x, s: x.scatter_add(0, sidx, s), x, src)
    dup = torch.tensor([[0, 0, 2, 0], [0, 0, 1, 1]])
    check(lambda x, s: x.scatter_add(0, dup, s), x, src)
    check(lambda x: x.scatter(1, torch.tensor([[0], [3], [1]]), 7.0), x)
    v = leaf(2, 4)
    iadd = torch.tensor([2, 2])               # duplicate target rows
    check(lambda x, v: x.index_add(0, iadd, v), x, v)
    check(lambda x, v: torch.index_add(x, 0, torch.tensor([1, 0]), v, alpha=2.0), x, v)


def test_scatter_grads_by_hand():
    x = torch.zeros(2, 3, dtype=f64, requires_grad=True)
    s = torch.tensor([[1.0, 2.0, 3.0]], dtype=f64, requires_grad=True)
    idx = torch.tensor([[1, 0, 1]])
    y = x.scatter(0, idx, s)
    (y * torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=f64)).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [[1, 0, 3], [0, 5, 0]])   # overwritten positions get 0
    np.testing.assert_allclose(npy(s.grad), [[4, 2, 6]])


def test_gradcheck_setitem_on_nonleaf_clone():
    x = leaf(3, 4)
    v = leaf(2)
    w = leaf(4)

    def put_idx(x, v):
        y = x.clone()
        y[torch.tensor([0, 2]), torch.tensor([1, 3])] = v
        return y

    def put_slice(x, w):
        y = x * 2
        y[1] = w
        return y * y

    def put_mask(x):
        y = x.clone()
        y[x > 0] = 0.0
        return y

    def put_scalar_then_use(x):
        y = x.clone()
        y[0, 0] = 5.0
        return y.sum(dim=1) * y[:, 0]

    def index_put(x, v):
        return x.index_put((torch.tensor([1, 1]), torch.tensor([0, 2])), v)

    check(put_idx, x, v)
    check(put_slice, x, w)
    check(put_mask, x)
    check(put_scalar_then_use, x)
    check(index_put, x, v)
    check(lambda x, v: x.index_put((torch.tensor([1, 1]), torch.tensor([0, 0])), v, accumulate=True), x, v)


def test_setitem_grad_by_hand():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=f64, requires_grad=True)
    v = torch.tensor(10.0, dtype=f64, requires_grad=True)
    y = x.clone()
    y[1] = v * 2
    (y * torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=f64)).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [1, 0, 3, 4])
    assert v.grad.item() == pytest.approx(4.0)


def test_index_with_duplicates_accumulates():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=f64, requires_grad=True)
    x[torch.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_allclose(npy(x.grad), [3, 0, 1])


# --------------------------------------------------------------------------- matmul family

def test_gradcheck_matmul_family():
    a, b = leaf(2, 3), leaf(3, 4)
    check(torch.mm, a, b)
    check(lambda a, b: a.mm(b).t(), a, b)
    ba, bb = leaf(2, 2, 3), leaf(2, 3, 2)
    check(torch.bmm, ba, bb)
    check(torch.matmul, leaf(2, 1, 2, 3), leaf(3, 3, 2))      # batch broadcasting
    check(torch.matmul, leaf(3), leaf(2, 3, 2))               # vector @ batched matrix
    check(torch.matmul, leaf(2, 2, 3), leaf(3))               # batched matrix @ vector
    check(torch.matmul, leaf(3), leaf(3))                     # dot
    check(lambda a, b: a @ b, leaf(3, 2), leaf(2))
    check(torch.outer, leaf(3), leaf(2))
    check(lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=2.0), leaf(4), a, b)
    check(F.linear, leaf(2, 3), leaf(4, 3), leaf(4))
    check(lambda x, w: F.linear(x, w), leaf(2, 2, 3), leaf(4, 3))


def test_matmul_grad_by_hand():
    A = RNG.standard_normal((2, 3))
    B = RNG.standard_normal((3, 4))
    G = RNG.standard_normal((2, 4))
    a, b = torch.tensor(A).requires_grad_(), torch.tensor(B).requires_grad_()
    (a @ b).backward(torch.tensor(G))
    np.testing.assert_allclose(npy(a.grad), G @ B.T, rtol=1e-12)
    np.testing.assert_allclose(npy(b.grad), A.T @ G, rtol=1e-12)
    # broadcast batch matmul: the gradient of the broadcast operand is summed over the batch
    A = RNG.standard_normal((4, 2, 3))
    a, b = torch.tensor(A).requires_grad_(), torch.tensor(B).requires_grad_()
    (a @ b).sum().backward()
    np.testing.assert_allclose(npy(b.grad), A.sum(0).T @ np.ones((2, 4)), rtol=1e-12)


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 2)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i,j->ij", [(3,), (2,)]),
    ("i,i->", [(3,), (3,)]),
    ("ij,kj->ik", [(2, 3), (2, 3)]),
    ("bi,bij,bj->b", [(2, 2), (2, 2, 3), (2, 3)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
])
def test_gradcheck_einsum(eq, shapes):
    check(lambda *xs: torch.einsum(eq, *xs), *[leaf(*s) for s in shapes])


# --------------------------------------------------------------------------- softmax & nn.functional

def test_gradcheck_softmax_family():
    x = leaf(2, 3, 4)
    check(lambda x: torch.softmax(x, dim=-1), x)
    check(lambda x: x.softmax(0), x)
    check(lambda x: F.softmax(x, dim=1), x)
    check(lambda x: torch.log_softmax(x, dim=-1), x)
    check(lambda x: F.log_softmax(x, dim=1), x)
    check(lambda x: x.log_softmax(0), x)


def test_softmax_grad_by_hand():
    a = np.array([0.2, -1.0, 0.7])
    g = np.array([1.0, 2.0, -1.0])
    x = torch.tensor(a).requires_grad_()
    torch.softmax(x, 0).backward(torch.tensor(g))
    s = np.exp(a) / np.exp(a).sum()
    np.testing.assert_allclose(npy(x.grad), s * (g - (s * g).sum()), rtol=1e-12)
    x.grad = None
    torch.log_softmax(x, 0).backward(torch.tensor(g))
    np.testing.assert_allclose(npy(x.grad), g - s * g.sum(), rtol=1e-12)


def test_gradcheck_conv2d():
    x = leaf(1, 2, 4, 4)
    w = leaf(3, 2, 2, 2)
    b = leaf(3)
    check(lambda x, w, b: F.conv2d(x, w, b), x, w, b)
    check(lambda x, w: F.conv2d(x, w, stride=2, padding=1), x, w)
    check(lambda x, w: F.conv2d(x, w, padding=1, dilation=2), x, w)
    check(lambda x, w: F.conv2d(x, w, groups=2), leaf(2, 4, 3, 3), leaf(2, 2, 2, 2))


def test_gradcheck_max_pool2d():
    x = distinct(1, 2, 4, 4)
    check(lambda x: F.max_pool2d(x, 2), x)
    check(lambda x: F.max_pool2d(x, 3, stride=1, padding=1), x)   # overlapping windows accumulate
    check(lambda x: F.max_pool2d(x, (2, 1), stride=(1, 2)), x)
    check(lambda x: F.avg_pool2d(x, 2), leaf(1, 2, 4, 4))


def test_max_pool2d_grad_by_hand():
    a = np.array([[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 1.0], [0.5, 0.2, 0.3, 0.1], [0.0, 9.0, 0.4, 0.6]])
    x = torch.tensor(a).view(1, 1, 4, 4).requires_grad_()
    F.max_pool2d(x, 2).sum().backward()
    ref = np.zeros((4, 4))
    for i, j in [(0, 1), (1, 2), (3, 1), (3, 3)]:
        ref[i, j] = 1
    np.testing.assert_allclose(npy(x.grad)[0, 0], ref)


def test_gradcheck_layer_norm():
    x = leaf(2, 3, 4)
    check(lambda x: F.layer_norm(x, (4,)), x)
    check(lambda x, w, b: F.layer_norm(x, (3, 4), w, b, eps=1e-5), x, leaf(3, 4), leaf(3, 4))
    check(lambda x, w, b: F.layer_norm(x, (4,), w, b), x, leaf(4), leaf(4))


def test_gradcheck_cross_entropy():
    x = leaf(4, 3)
    t = torch.tensor([0, 2, 1, 2])
    check(lambda x: F.cross_entropy(x, t), x)
    check(lambda x: F.cross_entropy(x, t, reduction="sum"), x)
    check(lambda x: F.cross_entropy(x, t, reduction="none"), x)
    check(lambda x: F.cross_entropy(x, t, weight=torch.tensor([0.7, 1.2, 0.9], dtype=torch.float64)), x)
    # PyTorch: nll_loss is not differentiable with respect to its class weights
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        F.cross_entropy(x, t, weight=leaf(3).abs() + 0.5)
    check(lambda x: F.cross_entropy(x, t, label_smoothing=0.1), x)
    check(lambda x: F.cross_entropy(x, torch.tensor([0, -100, 1, 2]), ignore_index=-100), x)
    check(lambda x, p: F.cross_entropy(x, torch.softmax(p, 1)), x, leaf(4, 3))   # soft targets
    check(lambda x: F.cross_entropy(x, torch.tensor([[0, 1], [2, 2]])), leaf(2, 3, 2))  # (N, C, d)
    check(lambda x: F.nll_loss(F.log_softmax(x, 1), t), x)
    check(lambda x, y: F.mse_loss(x, y), x, leaf(4, 3))


def test_cross_entropy_grad_by_hand():
    a = RNG.standard_normal((3, 4))
    t = np.array([1, 0, 3])
    x = torch.tensor(a).requires_grad_()
    F.cross_entropy(x, torch.tensor(t)).backward()
    s = np.exp(a) / np.exp(a).sum(1, keepdims=True)
    s[np.arange(3), t] -= 1
    np.testing.assert_allclose(npy(x.grad), s / 3, rtol=1e-12)


# =========================================================================== engine semantics

def test_leaf_grads_accumulate_across_backward_calls():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    (x * 3).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [3, 3])
    (x * x).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [5, 7])
    (x * 1).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [6, 8])
    assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_grad_set_to_none_and_zero():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    assert x.grad is None
    (x * 2).sum().backward()
    x.grad = None
    assert x.grad is None
    (x * 5).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [5, 5])
    x.grad.zero_()
    np.testing.assert_allclose(npy(x.grad), [0, 0])
    (x * 2).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [2, 2])
    x.grad = torch.tensor([100.0, 200.0], dtype=f64)
    (x * 1).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [101, 201])
    # optimizer.zero_grad() semantics
    p = nn.Parameter(torch.ones(2, dtype=f64))
    opt = torch.optim.SGD([p], lr=0.1)
    (p * 3).sum().backward()
    opt.zero_grad()
    assert p.grad is None
    (p * 3).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_allclose(npy(p.grad), [0, 0])


def test_grad_of_wrong_shape_rejected():
    x = torch.ones(2, dtype=f64, requires_grad=True)
    with pytest.raises(RuntimeError):
        x.grad = torch.ones(3, dtype=f64)


def test_retain_graph():
    x = torch.tensor([0.5, -1.0], dtype=f64, requires_grad=True)
    y = (x.sin() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    ref = np.cos([0.5, -1.0]) * [0.5, -1.0] + np.sin([0.5, -1.0])
    np.testing.assert_allclose(npy(x.grad), 2 * ref, rtol=1e-12)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_second_backward_without_retain_raises():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    z = torch.tanh(x).sum()
    torch.autograd.grad(z, x)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        torch.autograd.grad(z, x)


def test_implicit_grad_only_for_scalars():
    x = torch.ones(2, 2, dtype=f64, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        torch.autograd.grad(y, x)
    z = (x * 3).sum(dim=(0, 1), keepdim=True)     # shape (1, 1): numel() == 1 is allowed
    z.backward()
    np.testing.assert_allclose(npy(x.grad), np.full((2, 2), 3.0))
    y.backward(torch.ones(2, 2, dtype=f64))        # explicit gradient works for non-scalars
    np.testing.assert_allclose(npy(x.grad), np.full((2, 2), 5.0))


def test_backward_on_tensor_without_grad_raises():
    x = torch.ones(2, dtype=f64)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()


def test_inplace_modification_of_saved_tensor_raises():
    x = torch.tensor([0.5, 1.0, 2.0], dtype=f64, requires_grad=True)
    a = x * 1
    b = a.sin()           # sin saves its input a
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()
    a = x * 1
    b = a * a
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()
    a = x * 1
    b = a.sigmoid()       # sigmoid saves its output
    b.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()
    # modifying through a view of the saved tensor also bumps the shared version counter
    a = x * 1
    b = a.sin()
    a[1:].mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_inplace_on_unsaved_tensor_is_fine():
    x = torch.tensor([0.5, 1.0, 2.0], dtype=f64, requires_grad=True)
    a = x * 2
    b = a + 1          # add does not save a
    a.mul_(10)
    (b * 3).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [6, 6, 6])
    # in-place op chains are differentiated correctly
    x.grad = None
    y = x * 1
    y.mul_(y.detach() + 1).exp_()
    y.sum().backward()
    xs = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(npy(x.grad), np.exp(xs * (xs + 1)) * (xs + 1), rtol=1e-12)


def test_inplace_on_leaf_requiring_grad_raises():
    x = torch.ones(3, dtype=f64, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.mul_(2)
    with pytest.raises(RuntimeError):
        x[0] = 5.0
    with pytest.raises(RuntimeError):
        x.zero_()
    # allowed under no_grad (this is how optimizers update parameters)
    with torch.no_grad():
        x.add_(1)
        x[0] = 7.0
    np.testing.assert_allclose(npy(x), [7, 2, 2])
    assert x.requires_grad and x.is_leaf


def test_detach_shares_storage_and_version_counter():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=f64, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert d.data_ptr() == x.data_ptr()
    v0 = x._version
    d.mul_(2)
    np.testing.assert_allclose(npy(x), [2, 4, 6])
    assert x._version == d._version == v0 + 1
    # the shared version counter makes autograd detect modification through the detached alias
    y = x * 1
    z = y.pow(2)
    y.detach().add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    # .data behaves like detach for storage sharing
    w = x.data
    assert w.data_ptr() == x.data_ptr() and not w.requires_grad


def test_detach_cuts_the_graph():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    y = x * x
    z = y.detach() * x          # d/dx = y (treated as constant) = x^2
    z.sum().backward()
    np.testing.assert_allclose(npy(x.grad), [1, 4])
    x.grad = None
    y = x * 3
    y.detach_()
    assert not y.requires_grad and y.grad_fn is None


def test_retain_grad():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    y = x * 3
    z = y * y
    assert not y.retains_grad
    y.retain_grad()
    assert y.retains_grad
    z.sum().backward(retain_graph=True)
    np.testing.assert_allclose(npy(y.grad), [6, 12])     # dz/dy = 2y
    np.testing.assert_allclose(npy(x.grad), [18, 36])
    z.sum().backward()
    np.testing.assert_allclose(npy(y.grad), [12, 24])    # non-leaf retained grads accumulate too
    w = x * 2
    (w * 2).sum().backward()
    assert w.grad is None                                  # non-leaf without retain_grad


def test_hooks_on_leaf_and_nonleaf():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    seen = []
    h1 = x.register_hook(lambda g: seen.append(npy(g).copy()))
    y = x * 3
    hy = y.register_hook(lambda g: g * 10)          # replaces the gradient flowing into y
    (y * y).sum().backward()
    np.testing.assert_allclose(seen[0], [180, 360])     # dL/dy = 2y = [6, 12], hooked * 10, times dy/dx = 3
    np.testing.assert_allclose(npy(x.grad), [180, 360])
    # a leaf hook that replaces the gradient changes what is accumulated
    x.grad = None
    h2 = x.register_hook(lambda g: g + 1)
    (x * 2).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [3, 3])
    # remove() detaches them
    h1.remove()
    h2.remove()
    x.grad = None
    n_seen = len(seen)
    (x * 2).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [2, 2])
    assert len(seen) == n_seen
    hy.remove()
    x.grad = None
    y = x * 3
    (y * y).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [18, 36])


def test_removed_nonleaf_hook_does_not_fire():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    y = x * 3
    h = y.register_hook(lambda g: g * 100)
    h.remove()
    (y * y).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [18, 36])


def test_hook_order_and_retain_grad_sees_hooked_gradient():
    x = torch.tensor([1.0], dtype=f64, requires_grad=True)
    y = x * 1
    calls = []
    y.register_hook(lambda g: (calls.append("a"), g * 2)[1])
    y.register_hook(lambda g: (calls.append("b"), g + 1)[1])
    y.retain_grad()
    (y * 5).sum().backward()
    assert calls == ["a", "b"]
    assert x.grad.item() == pytest.approx(11.0)     # (5 * 2) + 1


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError):
        torch.ones(2).register_hook(lambda g: g)


def test_grad_fn_names_and_next_functions():
    x = torch.randn(2, 3, dtype=f64, requires_grad=True)
    w = torch.randn(3, 2, dtype=f64, requires_grad=True)
    assert x.grad_fn is None
    assert (x + 1).grad_fn.name() == "AddBackward0"
    assert (x - 1).grad_fn.name() == "SubBackward0"
    assert (x * 2).grad_fn.name() == "MulBackward0"
    assert (x / 2).grad_fn.name() == "DivBackward0"
    assert x.mm(w).grad_fn.name() == "MmBackward0"
    assert x.sum().grad_fn.name() == "SumBackward0"
    assert x.sum(dim=1).grad_fn.name() == "SumBackward1"
    assert x.mean().grad_fn.name() == "MeanBackward0"
    assert x.view(6).grad_fn.name() == "ViewBackward0"
    assert x.exp().grad_fn.name() == "ExpBackward0"
    assert x.tanh().grad_fn.name() == "TanhBackward0"
    assert x.t().grad_fn.name() == "TBackward0"
    assert x.permute(1, 0).grad_fn.name() == "PermuteBackward0"
    assert x.unsqueeze(0).grad_fn.name() == "UnsqueezeBackward0"
    assert x.clone().grad_fn.name() == "CloneBackward0"
    assert torch.cat([x, x]).grad_fn.name() == "CatBackward0"

    y = x * 2
    z = y.mm(w)
    fn = z.grad_fn
    assert isinstance(fn.next_functions, tuple) and len(fn.next_functions) == 2
    (n0, i0), (n1, i1) = fn.next_functions
    assert n0.name() == "MulBackward0" and i0 == 0
    assert n1.name() == "torch::autograd::AccumulateGrad"
    assert n1.variable.data_ptr() == w.data_ptr()
    mul_next = n0.next_functions
    assert mul_next[0][0].name() == "torch::autograd::AccumulateGrad"
    assert mul_next[0][0].variable.data_ptr() == x.data_ptr()
    # an input that does not require grad shows up as None
    c = torch.ones(2, 3, dtype=f64)
    assert (x + c).grad_fn.next_functions[1][0] is None


_NAME_CASES = [
    ("x.max()", "MaxBackward1"),
    ("x.max(dim=1).values", "MaxBackward0"),
    ("x.amax(1)", "AmaxBackward0"),
    ("x.var()", "VarBackward0"),
    ("x.std()", "StdBackward0"),
    ("x.mean(1)", "MeanBackward1"),
    ("x.prod()", "ProdBackward0"),
    ("x.cumsum(1)", "CumsumBackward0"),
    ("x.softmax(1)", "SoftmaxBackward0"),
    ("x.log_softmax(1)", "LogSoftmaxBackward0"),
    ("x.transpose(0, 1)", "TransposeBackward0"),
    ("x[:1].expand(4, 3)", "ExpandBackward0"),
    ("x[0]", "SelectBackward0"),
    ("x[:, 1:]", "SliceBackward0"),
    ("x[torch.tensor([0])]", "IndexBackward0"),
    ("x.index_select(0, torch.tensor([0]))", "IndexSelectBackward0"),
    ("x.gather(1, torch.tensor([[0], [1]]))", "GatherBackward0"),
    ("x.masked_fill(x > 0, 1.0)", "MaskedFillBackward0"),
    ("torch.where(x > 0, x, x)", "WhereBackward0"),
    ("x.sigmoid()", "SigmoidBackward0"),
    ("x.relu()", "ReluBackward0"),
    ("x.neg()", "NegBackward0"),
    ("x.norm()", "LinalgVectorNormBackward0"),
    ("torch.bmm(x.unsqueeze(0), x.t().unsqueeze(0))", "BmmBackward0"),
    ("x.pow(2)", "PowBackward0"),
    ("x.pow(x)", "PowBackward1"),
    ("torch.stack([x, x])", "StackBackward0"),
    ("2.0 ** x", "PowBackward2"),
    ("x.logsumexp(1)", "LogsumexpBackward0"),
    ("x @ torch.ones(3, dtype=torch.float64)", "MvBackward0"),
]


@pytest.mark.parametrize("expr,name", _NAME_CASES)
def test_grad_fn_name_table(expr, name):
    x = torch.randn(2, 3, dtype=f64, requires_grad=True)
    assert eval(expr).grad_fn.name() == name


@pytest.mark.xfail(reason="(x * 2).grad_fn.next_functions has one entry; PyTorch's MulBackward0 for "
                          "Tensor * Python scalar lists the wrapped scalar as well: ((AccumulateGrad, 0), (None, 0))",
                   strict=True)
def test_next_functions_of_op_with_python_scalar():
    x = torch.randn(2, dtype=f64, requires_grad=True)
    nf = (x * 2).grad_fn.next_functions
    assert len(nf) == 2 and nf[1] == (None, 0)


def test_is_leaf_and_requires_grad_():
    a = torch.ones(2)
    assert a.is_leaf and not a.requires_grad
    b = a * 2
    assert b.is_leaf                  # no history: still a leaf
    a.requires_grad_()
    assert a.requires_grad and a.is_leaf
    c = a * 2
    assert not c.is_leaf and c.requires_grad
    a.requires_grad_(False)
    assert not a.requires_grad
    with pytest.raises(RuntimeError):
        c.requires_grad_(False)        # cannot turn off requires_grad of a non-leaf
    assert torch.ones(2, requires_grad=True).is_leaf
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).requires_grad_()   # only floating point tensors can require grad
    p = nn.Parameter(torch.ones(2))
    assert p.is_leaf and p.requires_grad


def test_no_grad_context_and_decorator():
    x = torch.ones(2, dtype=f64, requires_grad=True)
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        y = x * 2
        with torch.enable_grad():
            assert torch.is_grad_enabled()
            z = x * 2
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None

    @torch.no_grad()
    def f(t):
        return t * 2, torch.is_grad_enabled()

    out, mode = f(x)
    assert not out.requires_grad and mode is False
    assert torch.is_grad_enabled()

    @torch.enable_grad()
    def g(t):
        return t * 2

    with torch.no_grad():
        assert g(x).requires_grad
        assert not torch.is_grad_enabled()


def test_no_grad_restores_on_exception():
    with pytest.raises(ValueError):
        with torch.no_grad():
            raise ValueError
    assert torch.is_grad_enabled()


def test_no_grad_bare_decorator():
    @torch.no_grad
    def f(t):
        return t * 2

    assert not f(torch.ones(1, requires_grad=True)).requires_grad


def test_set_grad_enabled_function_and_context():
    x = torch.ones(2, dtype=f64, requires_grad=True)
    torch.set_grad_enabled(False)
    try:
        assert not torch.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        torch.set_grad_enabled(True)
    assert (x * 2).requires_grad
    with torch.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert torch.is_grad_enabled()
    with torch.no_grad():
        with torch.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not torch.is_grad_enabled()
    is_train = False
    with torch.set_grad_enabled(is_train):
        y = x * 2
    assert not y.requires_grad and torch.is_grad_enabled()


def test_set_grad_enabled_decorator():
    @torch.set_grad_enabled(False)
    def f(t):
        return t * 2

    still_enabled = torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    x = torch.ones(2, requires_grad=True)
    out = f(x)
    assert still_enabled, "decorating switched grad mode off"
    assert not out.requires_grad
    assert torch.is_grad_enabled()


def test_inference_mode_disables_grad():
    x = torch.ones(2, dtype=f64, requires_grad=True)
    with torch.inference_mode():
        y = x * 2
        assert not torch.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert torch.is_grad_enabled()
    with torch.inference_mode(False):
        assert (x * 2).requires_grad

    @torch.inference_mode()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert torch.is_grad_enabled()


@pytest.mark.xfail(reason="tensors are not flagged as inference tensors: torch.is_inference(t) is False and "
                          "Tensor.is_inference is missing for tensors created inside torch.inference_mode()", strict=True)
def test_inference_mode_flags():
    with torch.inference_mode():
        assert torch.is_inference_mode_enabled()
        y = torch.ones(2) * 2
    assert not torch.is_inference_mode_enabled()
    assert torch.is_inference(y)
    assert y.is_inference()


def test_inference_mode_bare_decorator():
    @torch.inference_mode
    def f(t):
        return t * 2

    out = f(torch.ones(2, requires_grad=True))
    assert isinstance(out, torch.Tensor) and not out.requires_grad


def test_autograd_grad_options():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    y = torch.tensor([3.0], dtype=f64, requires_grad=True)
    u = torch.tensor([5.0], dtype=f64, requires_grad=True)      # unused
    out = (x * x).sum() * y
    gx, gy = torch.autograd.grad(out.sum(), [x, y], retain_graph=True)
    np.testing.assert_allclose(npy(gx), [6, 12])
    np.testing.assert_allclose(npy(gy), [5])
    assert x.grad is None and y.grad is None          # grad() does not accumulate into .grad
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        torch.autograd.grad(out.sum(), [x, u], retain_graph=True)
    gx, gu = torch.autograd.grad(out.sum(), [x, u], allow_unused=True, retain_graph=True)
    assert gu is None
    np.testing.assert_allclose(npy(gx), [6, 12])
    gx, gu = torch.autograd.grad(out.sum(), [x, u], materialize_grads=True, retain_graph=True)
    np.testing.assert_allclose(npy(gu), [0])
    # grad_outputs for a non-scalar output
    v = x * torch.tensor([1.0, 10.0], dtype=f64)
    (g,) = torch.autograd.grad(v, x, grad_outputs=torch.tensor([2.0, 3.0], dtype=f64))
    np.testing.assert_allclose(npy(g), [2, 30])
    # several outputs with their own grad_outputs
    a = x * 2
    b = x * x
    (g,) = torch.autograd.grad([a, b], x, grad_outputs=[torch.ones(2, dtype=f64), torch.tensor([1.0, -1.0], dtype=f64)])
    np.testing.assert_allclose(npy(g), [2 + 2, 2 - 4])
    # a single tensor input returns a 1-tuple
    res = torch.autograd.grad((x * 3).sum(), x)
    assert isinstance(res, tuple) and len(res) == 1
    # a grad_output of the wrong shape is rejected
    with pytest.raises(RuntimeError):
        torch.autograd.grad(x * 2, x, grad_outputs=torch.ones(3, dtype=f64))


def test_autograd_grad_wrt_intermediate():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    h = x * 3
    out = (h * h).sum()
    gh, gx = torch.autograd.grad(out, [h, x])
    np.testing.assert_allclose(npy(gh), [6, 12])
    np.testing.assert_allclose(npy(gx), [18, 36])


def test_backward_inputs_accumulates_only_into_those():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    y = torch.tensor([3.0, 4.0], dtype=f64, requires_grad=True)
    out = (x * y).sum()
    out.backward(inputs=[x], retain_graph=True)
    np.testing.assert_allclose(npy(x.grad), [3, 4])
    assert y.grad is None
    out.backward(inputs=[y])
    np.testing.assert_allclose(npy(y.grad), [1, 2])
    np.testing.assert_allclose(npy(x.grad), [3, 4])
    # through an intermediate, via torch.autograd.backward
    x.grad = None
    y.grad = None
    h = x * 2
    torch.autograd.backward((h * y).sum(), inputs=[x])
    np.testing.assert_allclose(npy(x.grad), [6, 8])
    assert y.grad is None


def test_backward_inputs_nonleaf_gets_grad():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    y = torch.tensor([3.0, 4.0], dtype=f64, requires_grad=True)
    h = x * 2
    torch.autograd.backward((h * y).sum(), inputs=[h])
    assert x.grad is None and y.grad is None
    np.testing.assert_allclose(npy(h.grad), [3, 4])


def test_autograd_backward_several_tensors():
    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    a = x * 2
    b = (x * x).sum()
    torch.autograd.backward([a, b], [torch.tensor([1.0, 1.0], dtype=f64), None])
    np.testing.assert_allclose(npy(x.grad), [2 + 2, 2 + 4])


def test_requires_grad_propagation_and_dtypes():
    x = torch.ones(2, dtype=f64, requires_grad=True)
    c = torch.ones(2, dtype=f64)
    assert (x + c).requires_grad and not (c + c).requires_grad
    assert not (x > 0).requires_grad            # comparisons are not differentiable
    assert not x.argmax().requires_grad
    y = x.float()
    assert y.requires_grad and y.dtype == torch.float32
    y.sum().backward()
    assert x.grad.dtype == f64
    np.testing.assert_allclose(npy(x.grad), [1, 1])


def test_diamond_graph_accumulates_both_paths():
    x = torch.tensor(1.5, dtype=f64, requires_grad=True)
    a = x.exp()
    b = a * a          # both paths through the same node
    c = a.sin()
    (b + c).backward()
    e = math.exp(1.5)
    assert x.grad.item() == pytest.approx(2 * e * e + math.cos(e) * e, rel=1e-12)


def test_shared_weights_grads_add():
    w = torch.tensor([[0.5, -1.0], [2.0, 0.3]], dtype=f64, requires_grad=True)
    x = torch.tensor([[1.0, 2.0]], dtype=f64)
    h = x @ w
    y = h @ w
    y.sum().backward()
    W, X = npy(w), np.array([[1.0, 2.0]])
    G = np.ones((1, 2))
    ref = X.T @ (G @ W.T) + (X @ W).T @ G
    np.testing.assert_allclose(npy(w.grad), ref, rtol=1e-12)


# =========================================================================== custom Function

class ReLUF(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * (x > 0).to(grad_out.dtype)


class LinearF(Function):
    calls = {"weight": 0, "bias": 0, "input": 0}

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight, bias)
        out = x @ weight.t()
        if bias is not None:
            out = out + bias
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, bias = ctx.saved_tensors
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            LinearF.calls["input"] += 1
            gx = grad_out @ weight
        if ctx.needs_input_grad[1]:
            LinearF.calls["weight"] += 1
            gw = grad_out.t() @ x
        if bias is not None and ctx.needs_input_grad[2]:
            LinearF.calls["bias"] += 1
            gb = grad_out.sum(0)
        return gx, gw, gb


def test_custom_relu_function():
    a = np.array([-1.0, 0.5, 2.0, -0.3])
    x = torch.tensor(a).requires_grad_()
    y = ReLUF.apply(x)
    np.testing.assert_allclose(npy(y), np.maximum(a, 0))
    assert y.requires_grad and y.grad_fn is not None and "ReLUF" in y.grad_fn.name()
    (y * torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=f64)).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [0, 2, 3, 0])
    check(ReLUF.apply, leaf(2, 3, away=0.1))


def test_custom_linear_function_and_needs_input_grad():
    x = leaf(4, 3)
    w = leaf(2, 3)
    b = leaf(2)
    check(LinearF.apply, x, w, b)
    check(LinearF.apply, x, w)                               # bias=None
    out = LinearF.apply(x, w, b)
    ref = npy(x) @ npy(w).T + npy(b)
    np.testing.assert_allclose(npy(out), ref, rtol=1e-12)
    # only the weight needs a gradient: the input/bias branches are not computed
    xc = torch.tensor(npy(x))
    bc = torch.tensor(npy(b))
    wl = torch.tensor(npy(w)).requires_grad_()
    LinearF.calls.update(weight=0, bias=0, input=0)
    LinearF.apply(xc, wl, bc).sum().backward()
    assert LinearF.calls == {"weight": 1, "bias": 0, "input": 0}
    np.testing.assert_allclose(npy(wl.grad), np.ones((4, 2)).T @ npy(x), rtol=1e-12)
    # no input requires grad: the output has no history
    assert not LinearF.apply(xc, torch.tensor(npy(w))).requires_grad


def test_needs_input_grad_values():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, k, b):
            seen["fwd"] = tuple(ctx.needs_input_grad)
            return a * k + b

        @staticmethod
        def backward(ctx, g):
            return g * 1, None, None

    a = torch.ones(2, dtype=f64, requires_grad=True)
    b = torch.ones(2, dtype=f64)
    Probe.apply(a, 3.0, b).sum().backward()
    assert seen["fwd"] == (True, False, False)
    np.testing.assert_allclose(npy(a.grad), [1, 1])


def test_custom_function_rnn_trains():
    torch.manual_seed(0)
    rng = np.random.default_rng(7)
    n_in, n_h, T = 3, 5, 6
    Wx = torch.tensor(rng.standard_normal((n_h, n_in)) * 0.5).requires_grad_()
    Wh = torch.tensor(rng.standard_normal((n_h, n_h)) * 0.3).requires_grad_()
    b = torch.zeros(n_h, dtype=f64, requires_grad=True)
    Wo = torch.tensor(rng.standard_normal((1, n_h)) * 0.5).requires_grad_()
    xs = torch.tensor(rng.standard_normal((T, 4, n_in)))
    target = torch.tensor(rng.standard_normal((4, 1)))
    params = [Wx, Wh, b, Wo]

    def run(ps):
        Wx, Wh, b, Wo = ps
        h = torch.zeros(4, n_h, dtype=f64)
        for t in range(T):
            h = ReLUF.apply(LinearF.apply(xs[t], Wx, b) + LinearF.apply(h, Wh, None))
        return ((LinearF.apply(h, Wo) - target) ** 2).mean()

    # the gradient of the hand-written RNN matches finite differences of the loss
    loss = run(params)
    grads = torch.autograd.grad(loss, params)
    eps = 1e-6
    for p, g in zip(params, grads):
        flat = p.detach().view(-1)
        num = np.zeros(p.numel())
        for k in range(p.numel()):
            orig = flat[k].item()
            with torch.no_grad():
                flat[k] = orig + eps
                lp = run(params).item()
                flat[k] = orig - eps
                lm = run(params).item()
                flat[k] = orig
            num[k] = (lp - lm) / (2 * eps)
        np.testing.assert_allclose(npy(g).reshape(-1), num, rtol=1e-5, atol=1e-8)
    # a few SGD steps reduce the loss
    losses = []
    for step in range(30):
        for p in params:
            p.grad = None
        loss = run(params)
        loss.backward()
        losses.append(loss.item())
        with torch.no_grad():
            for p in params:
                p -= 0.05 * p.grad
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(np.isfinite(losses))


def test_mark_non_differentiable():
    class SortF(Function):
        @staticmethod
        def forward(ctx, x):
            vals, idx = x.sort()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            return vals, idx

        @staticmethod
        def backward(ctx, g_vals, g_idx):
            (idx,) = ctx.saved_tensors
            assert g_idx is None or float(g_idx.abs().sum()) == 0.0
            return torch.zeros_like(g_vals).scatter(0, idx, g_vals)

    class MaskF(Function):
        @staticmethod
        def forward(ctx, x):
            mask = (x > 0).to(x.dtype)           # floating point, but declared non-differentiable
            ctx.mark_non_differentiable(mask)
            return x * 2, mask

        @staticmethod
        def backward(ctx, g, g_mask):
            return g * 2

    x = torch.tensor([3.0, 1.0, 2.0], dtype=f64, requires_grad=True)
    vals, idx = SortF.apply(x)
    assert vals.requires_grad and not idx.requires_grad
    (vals * torch.tensor([1.0, 10.0, 100.0], dtype=f64)).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [100, 1, 10])
    y, mask = MaskF.apply(x)
    assert y.requires_grad and not mask.requires_grad
    np.testing.assert_allclose(npy(mask), [1, 1, 1])


def test_mark_dirty_inplace_function():
    class MulTwoInplace(Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    a = torch.tensor([1.0, -2.0], dtype=f64, requires_grad=True)
    y = a * 3
    v0 = y._version
    z = MulTwoInplace.apply(y)
    np.testing.assert_allclose(npy(z), [6, -12])
    np.testing.assert_allclose(npy(y), [6, -12])        # modified in place
    assert y._version > v0
    assert z.grad_fn is not None and "MulTwoInplace" in z.grad_fn.name()
    # the in-place function is caught when its input was saved by an earlier op
    y = a * 3
    s = y.sin()
    MulTwoInplace.apply(y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()


class _MulTwoInplace(Function):
    @staticmethod
    def forward(ctx, x):
        x.mul_(2)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_mark_dirty_gradient_flows_to_input_history():
    a = torch.tensor([1.0, -2.0], dtype=f64, requires_grad=True)
    y = a * 3
    z = _MulTwoInplace.apply(y)
    assert z.grad_fn.next_functions[0][0] is not None
    assert z.grad_fn.next_functions[0][0].name() == "MulBackward0"
    (z * torch.tensor([1.0, 5.0], dtype=f64)).sum().backward()
    np.testing.assert_allclose(npy(a.grad), [6, 30])


def test_mark_dirty_on_leaf_raises():
    class MulTwoInplace(Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    a = torch.tensor([1.0, -2.0], dtype=f64, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        MulTwoInplace.apply(a)


def test_custom_function_non_tensor_args():
    class ScaleShift(Function):
        @staticmethod
        def forward(ctx, x, scale, shift, name):
            assert isinstance(scale, float) and isinstance(shift, int) and name == "tag"
            ctx.scale = scale
            return x * scale + shift

        @staticmethod
        def backward(ctx, g):
            return g * ctx.scale, None, None, None

    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    y = ScaleShift.apply(x, 2.5, 3, "tag")
    np.testing.assert_allclose(npy(y), [5.5, 8.0])
    y.sum().backward()
    np.testing.assert_allclose(npy(x.grad), [2.5, 2.5])
    check(lambda x: ScaleShift.apply(x, -1.5, 0, "tag"), leaf(3))


def test_custom_function_multiple_outputs_and_partial_use():
    class SinCos(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return gs * x.cos() - gc * x.sin()

    xs = np.array([0.1, 0.7])
    x = torch.tensor(xs).requires_grad_()
    s, c = SinCos.apply(x)
    (s * 2).sum().backward()          # c unused: its gradient materializes as zeros
    np.testing.assert_allclose(npy(x.grad), 2 * np.cos(xs), rtol=1e-12)
    check(SinCos.apply, leaf(3))


def test_custom_function_returning_input_unchanged():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_allclose(npy(x.grad), [3, 3])


def test_custom_function_under_no_grad_has_no_history():
    x = torch.tensor([-1.0, 2.0], dtype=f64, requires_grad=True)
    with torch.no_grad():
        y = ReLUF.apply(x)
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_allclose(npy(y), [0, 2])


def test_custom_function_wrong_number_of_grads_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = torch.ones(2, dtype=f64, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(x).sum().backward()


def test_custom_function_saved_tensor_modified_inplace_raises():
    x = torch.tensor([-1.0, 2.0], dtype=f64, requires_grad=True)
    h = x * 1
    y = ReLUF.apply(h)
    h.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_once_differentiable():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    xs = np.array([0.5, -2.0])
    x = torch.tensor(xs).requires_grad_()
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(npy(x.grad), 3 * xs ** 2)
    check(Cube.apply, leaf(3))
    y = Cube.apply(x).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(npy(g), 3 * xs ** 2)
    with pytest.raises(RuntimeError):          # double backward through it is not allowed
        torch.autograd.grad(g.sum(), x)


def test_custom_function_double_backward():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g          # built from differentiable ops: supports create_graph

    xs = np.array([0.5, -2.0])
    x = torch.tensor(xs).requires_grad_()
    (g,) = torch.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(npy(g), 2 * xs)
    (g2,) = torch.autograd.grad((g * g).sum(), x)         # d/dx (2x)^2 = 8x
    np.testing.assert_allclose(npy(g2), 8 * xs)


def test_custom_function_setup_context_style():
    class Mul(Function):
        @staticmethod
        def forward(x, y):
            return x * y

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * x

    check(Mul.apply, leaf(2, 3), leaf(3))


def test_custom_function_inside_module_training():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.tensor(np.random.default_rng(3).standard_normal((4, 2)) * 0.5))
            self.b = nn.Parameter(torch.zeros(4, dtype=f64))

        def forward(self, x):
            return ReLUF.apply(LinearF.apply(x, self.w, self.b)).sum(1)

    net = Net()
    x = torch.tensor(np.random.default_rng(4).standard_normal((8, 2)))
    y = x[:, 0] * 2 - x[:, 1]
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    first = None
    for _ in range(40):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < first


# =========================================================================== deep graphs & memory

def test_long_recurrent_chain_10k_steps():
    """h = tanh(h @ W + x_t) over 10,000 steps: backward must not overflow the stack (~0.3 s)."""
    rng = np.random.default_rng(11)
    W = torch.tensor(rng.standard_normal((4, 4)) * 0.3).requires_grad_()
    xs = torch.tensor(rng.standard_normal((10_000, 1, 4)))
    h = torch.zeros(1, 4, dtype=f64)
    t0 = time.perf_counter()
    for t in range(10_000):
        h = torch.tanh(h @ W + xs[t])
    h.sum().backward()
    elapsed = time.perf_counter() - t0
    g = npy(W.grad)
    assert g.shape == (4, 4) and np.all(np.isfinite(g)) and np.abs(g).sum() > 0
    assert elapsed < 10, elapsed
    # the gradient of the last few steps matches a numpy reference of the truncated recurrence
    # (contributions from early steps vanish geometrically with the 0.3-scaled W)
    Wn, Xn = npy(W), npy(xs)
    hs = [np.zeros((1, 4))]
    for t in range(10_000):
        hs.append(np.tanh(hs[-1] @ Wn + Xn[t]))
    gW = np.zeros((4, 4))
    gh = np.ones((1, 4))
    for t in range(9_999, 9_999 - 200, -1):
        gz = gh * (1 - hs[t + 1] ** 2)
        gW += hs[t].T @ gz
        gh = gz @ Wn.T
    np.testing.assert_allclose(g, gW, rtol=1e-8, atol=1e-10)


def test_long_chain_graph_freed_without_backward():
    """Dropping a 10k-node graph without running backward must not crash (recursive destructor)."""
    W = torch.full((3, 3), 0.1, dtype=f64, requires_grad=True)
    h = torch.zeros(1, 3, dtype=f64)
    for _ in range(10_000):
        h = torch.tanh(h @ W + 1.0)
    del h
    gc.collect()
    x = W * 2
    assert x.requires_grad


_DEEP_SCRIPT = textwrap.dedent("""
    import sys
    import ferrotorch as torch
    n, mode = int(sys.argv[1]), sys.argv[2]
    W = torch.full((2, 2), 0.1, dtype=torch.float64, requires_grad=True)
    h = torch.zeros(1, 2, dtype=torch.float64)
    for _ in range(n):
        h = torch.tanh(h @ W + 1.0)
    if mode == "backward":
        h.sum().backward()
        assert bool(torch.isfinite(W.grad).all())
    del h
    print("done")
""")


@pytest.mark.parametrize("mode", ["backward", "drop"])
def test_very_long_chain_100k_in_subprocess(mode):
    r = subprocess.run([sys.executable, "-c", _DEEP_SCRIPT, "100000", mode], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "done" in r.stdout, f"rc={r.returncode} stderr={r.stderr[-500:]}"


def test_memory_flat_over_training_loop():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    X = torch.randn(64, 16)
    Y = X[:, :1] * 0.5 - X[:, 1:2]
    rss100 = rss1000 = None
    first = last = None
    for step in range(1, 1001):
        opt.zero_grad()
        out = model(X)
        loss = F.mse_loss(out, Y)
        # exercise retained graphs, hooks and autograd.grad each step too
        if step % 10 == 0:
            torch.autograd.grad(loss, [model[0].weight], retain_graph=True)
        loss.backward()
        opt.step()
        if step == 1:
            first = loss.item()
        if step == 100:
            gc.collect()
            rss100 = rss_kb()
        if step == 1000:
            gc.collect()
            rss1000 = rss_kb()
            last = loss.item()
    growth_mb = (rss1000 - rss100) / 1024
    print(f"\n[memory] VmRSS after step 100: {rss100 / 1024:.1f} MB, after step 1000: {rss1000 / 1024:.1f} MB, "
          f"growth {growth_mb:+.2f} MB (loss {first:.4f} -> {last:.4f})")
    assert growth_mb < 20, growth_mb
    assert last < first


def test_memory_flat_with_create_graph_loop():
    x = torch.randn(32, 8, dtype=f64)
    w = torch.randn(8, 8, dtype=f64, requires_grad=True)
    rss = []
    for step in range(1, 401):
        y = torch.tanh(x @ w)
        (g,) = torch.autograd.grad(y.sum(), w, create_graph=True)
        (g * g).sum().backward()
        w.grad = None
        if step in (50, 400):
            gc.collect()
            rss.append(rss_kb())
    growth_mb = (rss[1] - rss[0]) / 1024
    print(f"\n[memory] double-backward loop: {rss[0] / 1024:.1f} MB -> {rss[1] / 1024:.1f} MB ({growth_mb:+.2f} MB)")
    assert growth_mb < 10, growth_mb


def test_cumprod_double_backward_with_zero():
    # the exact (no division by the input) path must itself be differentiable
    z = torch.tensor(np.array([[0.5, 0.0, 2.0], [2.0, 3.0, 0.0]]), requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda t: t.cumprod(1), (z,))
    assert torch.autograd.gradgradcheck(lambda t: t.cumprod(0), (z,))


def test_leaf_grads_never_share_data_with_each_other_or_the_caller():
    # a leaf's .grad may take the incoming gradient's buffer only when nothing else holds it
    a = torch.randn(5, requires_grad=True)
    b = torch.randn(5, requires_grad=True)
    (a + b).sum().backward()  # AddBackward hands one gradient to both leaves
    a.grad.add_(1.0)
    assert torch.equal(b.grad, torch.ones(5))
    assert torch.equal(a.grad, torch.full((5,), 2.0))

    x = torch.randn(3, requires_grad=True)
    seed = torch.ones(3)
    (x * 1.0).backward(seed)  # the caller keeps `seed`
    x.grad.mul_(5.0)
    assert torch.equal(seed, torch.ones(3))

    w = torch.randn(4, 3, requires_grad=True)
    y = w @ torch.randn(3, 2)
    y.sum().backward()
    g1 = w.grad.clone()
    y2 = w @ torch.randn(3, 2)
    y2.sum().backward()  # accumulates into the stolen buffer of the first call
    assert not torch.equal(w.grad, g1)
