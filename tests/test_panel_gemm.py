"""The AVX-512 panel GEMM (src/cpu/panel_gemm.rs) behind matmul, mm and F.linear: products
above the small-matrix sizes, in every operand layout, with and without bias, on one and two
threads, against NumPy in float64. On CPUs without AVX-512 the same calls take the `gemm`
crate and must give the same answers."""
import numpy as np
import pytest
import ferrotorch as torch
import ferrotorch.nn.functional as F

SHAPES = [(128, 784, 512), (130, 70, 33), (12, 300, 64), (511, 64, 100), (600, 40, 48), (1024, 128, 130), (37, 513, 17)]


@pytest.fixture(params=[1, 2])
def threads(request):
    old = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(old)


def close(got, want, k):
    got = got.numpy().astype(np.float64)
    tol = 1e-5 * np.sqrt(k) * (1 + np.abs(want))
    assert got.shape == want.shape
    assert np.all(np.abs(got - want) <= tol), float(np.max(np.abs(got - want)))


@pytest.mark.parametrize("m,k,n", SHAPES)
def test_linear_with_and_without_bias(threads, m, k, n):
    rng = np.random.default_rng(m * 7 + k)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((m, k), (n, k), (n,)))
    want = x.astype(np.float64) @ w.T.astype(np.float64)
    tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
    close(F.linear(tx, tw), want, k)
    close(F.linear(tx, tw, tb), want + b, k)


@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("a_t,b_t", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_layouts(threads, m, k, n, a_t, b_t):
    rng = np.random.default_rng(m + 3 * n)
    a = rng.standard_normal((k, m) if a_t else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if b_t else (k, n)).astype(np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    ta, tb = (ta.t() if a_t else ta), (tb.t() if b_t else tb)
    want = (a.T if a_t else a).astype(np.float64) @ (b.T if b_t else b).astype(np.float64)
    close(ta @ tb, want, k)


def test_linear_backward_matches_numpy(threads):
    rng = np.random.default_rng(5)
    x, w, b, g = (rng.standard_normal(s).astype(np.float32) for s in ((128, 784), (512, 784), (512,), (128, 512)))
    tx, tw, tb = (torch.from_numpy(v).requires_grad_() for v in (x, w, b))
    F.linear(tx, tw, tb).backward(torch.from_numpy(g))
    g64 = g.astype(np.float64)
    close(tx.grad, g64 @ w.astype(np.float64), 512)
    close(tw.grad, g64.T @ x.astype(np.float64), 128)
    close(tb.grad, g64.sum(0), 128)


def test_non_finite_values_propagate(threads):
    x = torch.ones(100, 300)
    w = torch.ones(64, 300)
    x[3, 7] = float("nan")
    x[50, 0] = float("inf")
    y = F.linear(x, w, torch.zeros(64)).numpy()
    assert np.isnan(y[3]).all() and np.isposinf(y[50]).all()
    assert np.isfinite(np.delete(y, [3, 50], axis=0)).all()
