"""Kernels of stop 31: float32 pow with a scalar exponent (vectorised 2^(y log2 x) in float64
lanes), mse_loss's mean/sum as one squared-sum reduction with one MseLossBackward0 node, and
index_select reading its index once (the range check in the kernel). Each against a NumPy
reference, with the special values and the error messages of PyTorch."""
import math

import numpy as np
import pytest

import ferrotorch as torch
import ferrotorch.nn.functional as F


def ulps(got, want):
    """Distance in units in the last place between float32 arrays of the same sign."""
    g = np.asarray(got, np.float32).view(np.int32).astype(np.int64)
    w = np.asarray(want, np.float32).view(np.int32).astype(np.int64)
    return np.abs(g - w)


BASES = np.concatenate([
    np.random.default_rng(3).uniform(0, 10, 5000), np.random.default_rng(4).uniform(0, 1e-3, 500),
    np.exp(np.random.default_rng(5).uniform(-100, 88, 2000)),
    np.array([1e-45, 1.2e-38, 1.0, 2.0, 4.0, 0.25, 3.4e38]),
]).astype(np.float32)
SPECIAL = np.array([0.0, -0.0, -1.0, -2.5, np.inf, -np.inf, np.nan], np.float32)


@pytest.mark.parametrize("y", [1.5, -0.5, 0.3, 2.5, -3.7, 1e-3, 40.0, -40.0, 7.0])
def test_pow_scalar_exponent_within_one_ulp_of_float64(y):
    x = np.concatenate([BASES, SPECIAL, BASES[:13]])  # 16-lane vectors and a partial one
    got = (torch.tensor(x) ** y).numpy()
    with np.errstate(all="ignore"):
        want = np.power(x.astype(np.float64), np.float64(np.float32(y))).astype(np.float32)
        libm = np.power(x, np.float32(y))  # the bases a vector lane does not take
    pos = (x > 0) & np.isfinite(x)
    assert ulps(got[pos], want[pos]).max() <= 1
    # near-halfway cases only: almost every value is the correctly rounded one
    assert (ulps(got[pos], want[pos]) != 0).mean() < 1e-3
    sp = ~pos
    assert np.array_equal(np.isnan(got[sp]), np.isnan(libm[sp]))
    assert np.array_equal(got[sp][~np.isnan(libm[sp])], libm[sp][~np.isnan(libm[sp])])


def test_pow_exact_results_and_in_place():
    t = torch.tensor([4.0, 9.0, 2.25, 1.0, 0.0, 16.0])
    assert (t ** 1.5).tolist() == [8.0, 27.0, 3.375, 1.0, 0.0, 64.0]
    assert (t ** 0.25).tolist()[3:] == [1.0, 0.0, 2.0]
    u = t.clone()
    u.pow_(2.5)
    assert np.array_equal(u.numpy(), (t ** 2.5).numpy())
    # a non-contiguous base takes the general loop, with the same values
    m = torch.rand(64, 33) + 0.5
    assert np.array_equal((m.t() ** 1.7).numpy(), (m.t().contiguous() ** 1.7).numpy())
    # float64 and exponents that are not finite keep libm
    assert (torch.tensor([2.0], dtype=torch.float64) ** 0.5).item() == math.sqrt(2.0)
    assert (torch.tensor([2.0, 0.5]) ** math.inf).tolist() == [math.inf, 0.0]
    assert math.isnan((torch.tensor([2.0]) ** math.nan).item())


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mse_loss_value_and_gradients(reduction, dtype):
    g = np.random.default_rng(8)
    npdt = np.float32 if dtype == torch.float32 else np.float64
    x, y = g.standard_normal((33, 17)).astype(npdt), g.standard_normal((33, 17)).astype(npdt)
    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    loss = F.mse_loss(tx, ty, reduction=reduction)
    d = x.astype(np.float64) - y
    want = (d * d).sum() / (d.size if reduction == "mean" else 1)
    assert loss.dtype == dtype and loss.shape == ()
    assert abs(loss.item() - want) <= 1e-6 * abs(want)
    assert loss.grad_fn.name() == "MseLossBackward0"
    loss.backward()
    scale = 2 / (d.size if reduction == "mean" else 1)
    np.testing.assert_allclose(tx.grad.numpy(), scale * d, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ty.grad.numpy(), -scale * d, rtol=1e-5, atol=1e-7)
    # the second derivative: d/dx sum(d loss/dx) = scale per element
    tx.grad = None
    (gx,) = torch.autograd.grad(F.mse_loss(tx, ty, reduction=reduction), tx, create_graph=True)
    gx.sum().backward()
    np.testing.assert_allclose(tx.grad.numpy(), np.full(x.shape, scale), rtol=1e-6)


def test_mse_loss_edge_cases():
    assert math.isnan(F.mse_loss(torch.zeros(0), torch.zeros(0)).item())
    assert F.mse_loss(torch.zeros(0), torch.zeros(0), reduction="sum").item() == 0.0
    assert F.mse_loss(torch.tensor([np.inf]), torch.tensor([0.0])).item() == math.inf
    assert math.isnan(F.mse_loss(torch.tensor([np.nan, 1.0]), torch.tensor([0.0, 1.0])).item())
    # 'none', float16 and integer-promoting inputs keep the elementwise form
    none = F.mse_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0]), reduction="none")
    assert none.tolist() == [1.0, 4.0]
    half = F.mse_loss(torch.tensor([1.0, 3.0], dtype=torch.float16), torch.tensor([0.0, 1.0], dtype=torch.float16))
    assert half.dtype == torch.float16 and half.item() == 2.5
    with pytest.raises(ValueError):
        F.mse_loss(torch.zeros(2), torch.zeros(2), reduction="avg")


def test_index_select_values_and_errors():
    g = np.random.default_rng(11)
    x = g.standard_normal(1 << 14).astype(np.float32)
    idx = g.integers(0, x.size, 5000)
    got = torch.tensor(x).index_select(0, torch.tensor(idx))
    assert np.array_equal(got.numpy(), x[idx])
    m = g.standard_normal((7, 9)).astype(np.float32)
    for dim, i in ((0, [6, 0, 6]), (1, [8, 1])):
        assert np.array_equal(torch.tensor(m).index_select(dim, torch.tensor(i)).numpy(), np.take(m, i, axis=dim))
    bad = idx.copy()
    bad[4321] = x.size
    with pytest.raises(IndexError, match="index out of range in self"):
        torch.tensor(x).index_select(0, torch.tensor(bad))
    with pytest.raises(IndexError, match="index out of range in self"):
        torch.tensor(x).index_select(0, torch.tensor([-1]))
    with pytest.raises(RuntimeError, match="INDICES element is out of DATA bounds, id=9 axis_dim=9"):
        torch.tensor(m).index_select(1, torch.tensor([0, 9]))
    # an empty input still checks its indices against the dim's size
    with pytest.raises(RuntimeError, match="INDICES element is out of DATA bounds, id=5 axis_dim=5"):
        torch.zeros(0, 5).index_select(1, torch.tensor([5]))
    assert torch.zeros(0, 5).index_select(1, torch.tensor([4, 0])).shape == (0, 2)


def test_index_add_checks_indices_only_for_a_nonempty_self():
    # PyTorch reads no index value when self has no elements
    assert torch.index_add(torch.zeros(0, 2), 0, torch.tensor([5]), torch.ones(1, 2)).shape == (0, 2)
    assert torch.index_add(torch.zeros(3, 0), 1, torch.tensor([0]), torch.ones(3, 1)).shape == (3, 0)
    with pytest.raises(IndexError, match="index out of range in self"):
        torch.zeros(4).index_add_(0, torch.tensor([1, 4]), torch.ones(2))
    with pytest.raises(RuntimeError, match="index 3 is out of bounds for dimension 0 with size 3"):
        torch.index_add(torch.zeros(3, 2), 0, torch.tensor([3]), torch.ones(1, 2))
    x = torch.zeros(5)
    x.index_add_(0, torch.tensor([1, 1, 4]), torch.tensor([1.0, 2.0, 0.5]))
    assert x.tolist() == [0.0, 3.0, 0.0, 0.0, 0.5]
    y = torch.zeros(5)
    y.index_add_(0, torch.tensor([1, 1, 4]), torch.tensor([1.0, 2.0, 0.5]), alpha=-2)
    assert y.tolist() == [0.0, -6.0, 0.0, 0.0, -1.0]
