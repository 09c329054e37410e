"""The vectorised f32 kernels (exp, tanh, sigmoid, softmax and its backward), the elementwise
drivers compiled for AVX2, the SGD update, and the row-block path of large products, against
NumPy in float64."""
import math

import numpy as np
import pytest

import ferrotorch as torch


def ulps(got, want64):
    """Distance in float32 units in the last place between got and the float64 reference."""
    want = want64.astype(np.float32)
    spacing = np.spacing(np.abs(want)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want64) / spacing


def test_exp_whole_range_within_two_ulp():
    # every region: subnormal results, underflow to 0, overflow to inf, around 0
    x = np.concatenate([np.linspace(-110, 90, 200_001, dtype=np.float32),
                        np.float32([-104.0, -103.97, -87.4, 88.72, 88.7228, 88.73, 1e-30, -0.0, 0.0])])
    got = torch.from_numpy(x).exp().numpy()
    want = np.exp(x.astype(np.float64))
    finite = np.isfinite(want.astype(np.float32)) & (want.astype(np.float32) != 0) & (np.abs(want) >= np.finfo(np.float32).tiny)
    assert ulps(got[finite], want[finite]).max() <= 2
    # subnormal results to within one subnormal step; results that round to 0 or inf exactly
    sub = (np.abs(want) < np.finfo(np.float32).tiny)
    assert np.abs(got[sub].astype(np.float64) - want[sub]).max() <= 2 ** -149
    assert np.all(got[want > np.finfo(np.float32).max * (1 + 2 ** -25)] == np.inf)


def test_exp_special_values():
    x = torch.tensor([float("inf"), float("-inf"), float("nan"), -1e30, 1e30])
    got = x.exp().numpy()
    assert got[0] == np.inf and got[1] == 0.0 and np.isnan(got[2]) and got[3] == 0.0 and got[4] == np.inf


def test_exp_masked_rows_are_exact_zeros():
    # softmax rows under a causal mask: half -inf; the -inf lanes give exactly 0
    x = np.full((8, 64), -np.inf, dtype=np.float32)
    x[:, ::2] = np.random.RandomState(0).randn(8, 32)
    got = torch.from_numpy(x).exp().numpy()
    assert np.all(got[:, 1::2] == 0.0)
    np.testing.assert_allclose(got[:, ::2], np.exp(x[:, ::2].astype(np.float64)), rtol=3e-7)


def test_tanh_vectorised_matches_float64():
    x = np.concatenate([np.random.RandomState(1).randn(100_000).astype(np.float32) * 4,
                        np.float32([0.0, -0.0, 1e-5, 4e-4, 5e-4, 7.9, 8.0, 20.0, -20.0, 1e-40])])
    got = torch.from_numpy(x).tanh().numpy()
    want = np.tanh(x.astype(np.float64))
    assert np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-38)) < 1e-6
    assert np.signbit(got[100_001])  # tanh(-0.0) = -0.0
    edge = torch.tensor([float("inf"), float("-inf"), float("nan")]).tanh().numpy()
    assert edge[0] == 1.0 and edge[1] == -1.0 and np.isnan(edge[2])


def test_tanh_in_place_and_strided():
    a = np.random.RandomState(2).randn(64, 48).astype(np.float32)
    t = torch.from_numpy(a.copy())
    t.tanh_()
    np.testing.assert_allclose(t.numpy(), np.tanh(a), rtol=1e-6, atol=1e-7)
    s = torch.from_numpy(a).t()  # not contiguous: the generic driver
    np.testing.assert_allclose(s.tanh().numpy(), np.tanh(a.T), rtol=1e-6, atol=1e-7)


def test_tanh_gradient():
    a = np.random.RandomState(3).randn(300).astype(np.float32)
    x = torch.from_numpy(a).requires_grad_()
    x.tanh().sum().backward()
    # 1 - t² cancels where |t| is near 1: a few float32 ulps of t, absolutely
    np.testing.assert_allclose(x.grad.numpy(), 1 - np.tanh(a.astype(np.float64)) ** 2, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("cols", [1, 7, 16, 17, 100, 4096])
def test_softmax_rows_and_backward(cols):
    rs = np.random.RandomState(cols)
    a = (rs.randn(5, cols) * 10).astype(np.float32)
    if cols > 2:
        a[1, cols // 2:] = -np.inf  # a masked row
    x = torch.from_numpy(a).requires_grad_()
    y = torch.softmax(x, dim=1)
    a64 = a.astype(np.float64)
    e = np.exp(a64 - a64.max(axis=1, keepdims=True))
    want = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=2e-6, atol=1e-7)
    g = rs.randn(5, cols).astype(np.float32)
    y.backward(torch.from_numpy(g))
    gwant = want * (g - (g * want).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(x.grad.numpy(), gwant, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cols", [3, 16, 33, 1000])
def test_log_softmax_backward(cols):
    rs = np.random.RandomState(100 + cols)
    a = rs.randn(4, cols).astype(np.float32)
    x = torch.from_numpy(a).requires_grad_()
    y = torch.log_softmax(x, dim=1)
    g = rs.randn(4, cols).astype(np.float32)
    y.backward(torch.from_numpy(g))
    a64 = a.astype(np.float64)
    sm = np.exp(a64 - a64.max(axis=1, keepdims=True))
    sm /= sm.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), g - sm * g.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_generic_drivers_every_layout():
    # masked_fill, comparisons and where go through the generic map drivers: contiguous,
    # broadcast and transposed operands, small (flat loop) and large (runs, ndarray) sizes
    rs = np.random.RandomState(4)
    for shape in [(7, 5), (300, 257)]:
        a = rs.randn(*shape).astype(np.float32)
        b = rs.randn(shape[1]).astype(np.float32)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        np.testing.assert_array_equal((ta > tb).numpy(), a > b)
        np.testing.assert_array_equal(ta.t().lt(0.5).numpy(), a.T < 0.5)
        np.testing.assert_array_equal(torch.where(ta > 0, ta, tb).numpy(), np.where(a > 0, a, b))
        np.testing.assert_array_equal(ta.masked_fill(ta < 0, -1.5).numpy(), np.where(a < 0, np.float32(-1.5), a))
        np.testing.assert_array_equal((ta.t() * 3).numpy(), a.T * np.float32(3))
        i = rs.randint(-50, 50, size=shape).astype(np.int64)
        ti = torch.from_numpy(i)
        np.testing.assert_array_equal((ti.t() >= 0).numpy(), i.T >= 0)
        np.testing.assert_array_equal((ti * 3 - 1).numpy(), i * 3 - 1)


@pytest.mark.parametrize("nesterov,wd", [(False, 0.0), (True, 0.01)])
def test_sgd_momentum_matches_formula(nesterov, wd):
    rs = np.random.RandomState(5)
    p0 = rs.randn(70_000).astype(np.float32)  # above the parallel split
    grads = [rs.randn(70_000).astype(np.float32) for _ in range(3)]
    p = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=nesterov, weight_decay=wd)
    ref, buf = p0.astype(np.float64), None
    for g in grads:
        p.grad = torch.from_numpy(g)
        opt.step()
        d = g.astype(np.float64) + wd * ref
        buf = d if buf is None else 0.9 * buf + d
        ref = ref - 0.1 * (d + 0.9 * buf if nesterov else buf)
    np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("m,n,k", [(1024, 256, 256), (1100, 300, 257), (2048, 512, 300)])
def test_large_products_in_row_blocks(m, n, k):
    # m >= 1024 rows at two threads: row blocks, one thread each
    rs = np.random.RandomState(m + n + k)
    a, b = rs.randn(m, k).astype(np.float32), rs.randn(k, n).astype(np.float32)
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        got = (torch.from_numpy(a) @ torch.from_numpy(b)).numpy()
        acc = torch.from_numpy(np.ones((m, n), np.float32))
        got_add = torch.addmm(acc, torch.from_numpy(a), torch.from_numpy(b)).numpy()
    finally:
        torch.set_num_threads(old)
    want = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-4 * math.sqrt(k)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=tol)
    np.testing.assert_allclose(got_add, want + 1, rtol=1e-4, atol=tol)
