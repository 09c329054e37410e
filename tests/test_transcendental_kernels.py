"""The f32 kernels of exp, softmax, logsumexp, sigmoid, SiLU, sin/cos and layer norm (hand-
vectorised for AVX-512 where the CPU has it, compiler-vectorised otherwise) against float64
references computed with NumPy from the definitions: every length around the 16-lane vector
width, the special values, and the shapes and dims that take the row kernels or not."""
import math

import numpy as np
import pytest

import ferrotorch as torch
import ferrotorch.nn.functional as F

SPECIALS = [0.0, -0.0, 1e-30, -1e-30, 88.72, 88.73, 89.5, -87.4, -103.97, -104.5, 1e30, -1e30,
            math.inf, -math.inf, math.nan]


def f32_close(got, want, rtol=2e-6, atol=0.0):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    both_nan = np.isnan(got) & np.isnan(want)
    same = (got == want) | both_nan
    with np.errstate(invalid="ignore"):  # inf - inf where both are the same infinity
        near = np.abs(got - want) <= atol + rtol * np.abs(want)
    bad = ~(same | near)
    assert not bad.any(), f"{bad.sum()} differ, e.g. got {got[bad][:4]} want {want[bad][:4]}"


def ref(fn, x):
    with np.errstate(all="ignore"):
        return fn(np.asarray(x, np.float64)).astype(np.float32)


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 33, 1000])
def test_elementwise_lengths(n):
    x = np.random.default_rng(n).uniform(-20, 20, n).astype(np.float32)
    t = torch.from_numpy(x.copy())
    f32_close(torch.exp(t).numpy(), ref(np.exp, x))
    f32_close(torch.sigmoid(t).numpy(), ref(lambda v: 1 / (1 + np.exp(-v)), x))
    f32_close(F.silu(t).numpy(), ref(lambda v: v / (1 + np.exp(-v)), x), atol=1e-12)
    f32_close(torch.sin(t).numpy(), ref(np.sin, x), rtol=1.2e-7, atol=1e-12)
    f32_close(torch.cos(t).numpy(), ref(np.cos, x), rtol=1.2e-7, atol=1e-12)


def test_elementwise_specials():
    x = np.array(SPECIALS * 3, np.float32)  # 45 lanes: full vectors and a tail
    t = torch.from_numpy(x.copy())
    f32_close(torch.exp(t).numpy(), ref(np.exp, x), atol=1.5e-45)
    f32_close(torch.sigmoid(t).numpy(), ref(lambda v: 1 / (1 + np.exp(-v)), x), atol=1.5e-45)
    assert torch.exp(torch.tensor([-0.0])).item() == 1.0
    assert math.isnan(torch.exp(torch.tensor([math.nan])).item())


def test_sin_cos_wide_range():
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-1e4, 1e4, 5000), rng.uniform(-2e6, 2e6, 5000),
                        np.array([1048575.9, 1048576.0, 1048577.0, 3e7, -3e7, 0.0, -0.0, math.inf, math.nan])]).astype(np.float32)
    t = torch.from_numpy(x.copy())
    for f, g in ((torch.sin, np.sin), (torch.cos, np.cos)):
        got, want = f(t).numpy(), ref(g, x)
        f32_close(got, want, rtol=1.2e-7, atol=6e-8)
    assert str(torch.sin(torch.tensor([-0.0])).item()) == "-0.0"


@pytest.mark.parametrize("n", [1, 15, 16, 17, 64, 100])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_rows(n, log):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((5, n)) * 4).astype(np.float32)
    x[1, ::3] = -np.inf          # a causal-mask-like row
    x[2, :] = -np.inf            # all masked: NaN (0/0), as PyTorch
    x[3, n // 2] = np.nan        # a NaN row
    x[4, n // 2] = np.inf        # +inf max: NaN (inf - inf), as PyTorch
    t = torch.from_numpy(x.copy())
    got = (F.log_softmax if log else F.softmax)(t, dim=1).numpy()
    with np.errstate(all="ignore"):
        m = x.max(1, keepdims=True).astype(np.float64)
        m = np.where(m == -np.inf, 0.0, m)
        e = np.exp(x - m)
        want = (x - m - np.log(e.sum(1, keepdims=True))) if log else e / e.sum(1, keepdims=True)
    want = want.astype(np.float32)
    want[3] = np.nan
    # log_softmax is x - (max + ln sum) in f32, as PyTorch computes it: two roundings at the
    # row's magnitude (up to ~16 here), so a small result carries their absolute error
    f32_close(got, want, rtol=3e-6, atol=4e-6 if log else 1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_logsumexp_dims_and_values(dtype):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((3, 4, 37)) * 5).astype(np.float32)
    x[0, 1, :] = -np.inf
    x[1, 2, 5] = np.inf
    x[2, 3, 7] = np.nan
    t = torch.from_numpy(x.copy()).to(getattr(torch, dtype))
    xs = t.float().numpy().astype(np.float64)

    def want(dims, keepdim):
        with np.errstate(all="ignore"):
            m = np.max(xs, axis=dims, keepdims=True)
            m = np.where(np.isfinite(m), m, 0.0)
            r = np.log(np.exp(xs - m).sum(axis=dims, keepdims=True)) + m
        return r if keepdim else np.squeeze(r, axis=dims)

    tol = {"float32": 2e-6, "float64": 1e-12, "float16": 1e-3, "bfloat16": 8e-3}[dtype]
    for dims, keepdim in [((2,), False), ((-1,), True), ((1,), False), ((0,), True), ((0, 1, 2), False), ((0, 2), True)]:
        got = torch.logsumexp(t, dim=dims, keepdim=keepdim)
        assert got.dtype == t.dtype
        f32_close(got.double().numpy(), want(dims, keepdim), rtol=tol, atol=tol)


def test_logsumexp_grad_and_empty():
    x = torch.randn(4, 33, dtype=torch.float32, requires_grad=True)
    y = torch.logsumexp(x, dim=1)
    y.sum().backward()
    f32_close(x.grad.numpy(), torch.softmax(x.detach(), dim=1).numpy(), rtol=1e-5, atol=1e-7)
    # double backward goes through the composite backward
    x2 = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: torch.logsumexp(v, dim=1), (x2,))
    assert torch.autograd.gradgradcheck(lambda v: torch.logsumexp(v, dim=1), (x2,))
    e = torch.logsumexp(torch.zeros(2, 0), dim=1)
    assert e.shape == (2,) and bool((e == -math.inf).all())
    assert torch.logsumexp(torch.tensor(2.5), dim=0).item() == 2.5


@pytest.mark.parametrize("shape", [(7, 1), (5, 16), (3, 17), (64, 128), (2, 3, 40)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_f32(shape, affine):
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    x = (rng.standard_normal(shape) * 3 + 1000.0).astype(np.float32)  # a large mean loses nothing
    w = rng.standard_normal(shape[-1]).astype(np.float32) if affine else None
    b = rng.standard_normal(shape[-1]).astype(np.float32) if affine else None
    t = torch.from_numpy(x.copy())
    got = F.layer_norm(t, shape[-1:], torch.from_numpy(w) if affine else None, torch.from_numpy(b) if affine else None, eps=1e-5).numpy()
    xd = x.astype(np.float64)
    mu = xd.mean(-1, keepdims=True)
    z = (xd - mu) / np.sqrt(((xd - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
    if affine:
        z = z * w + b
    f32_close(got, z.astype(np.float32), rtol=4e-6, atol=4e-6)
