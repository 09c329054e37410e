"""Matrix products whose right operand is column-major (x @ W.t(), F.linear, batched k^T):
the CPU backend copies such operands row-major first, and narrow outputs take the small-matrix
kernel. Every layout must give NumPy's product."""
import numpy as np
import pytest

import ferrotorch as torch
import ferrotorch.nn.functional as F

SHAPES = [(16, 8, 5), (128, 512, 10), (128, 512, 64), (40, 300, 17), (15, 33, 7), (200, 64, 1), (64, 9216 // 16, 10)]


def _rand(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape).astype(dtype)


def _tol(dtype, k):
    return dict(rtol=1e-4, atol=1e-4 * np.sqrt(k)) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10 * np.sqrt(k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", SHAPES)
def test_linear_and_transposed_matmul(m, k, n, dtype):
    x, w, b = _rand(m, k, dtype=dtype), _rand(n, k, dtype=dtype, seed=1), _rand(n, dtype=dtype, seed=2)
    tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
    want = x.astype(np.float64) @ w.T.astype(np.float64)
    np.testing.assert_allclose(F.linear(tx, tw).numpy(), want, **_tol(dtype, k))
    np.testing.assert_allclose(F.linear(tx, tw, tb).numpy(), want + b, **_tol(dtype, k))
    np.testing.assert_allclose((tx @ tw.t()).numpy(), want, **_tol(dtype, k))
    np.testing.assert_allclose(torch.mm(tx, tw.t()).numpy(), want, **_tol(dtype, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_column_major_right_operand(dtype):
    q, kk = _rand(6, 64, 32, dtype=dtype), _rand(6, 64, 32, dtype=dtype, seed=3)
    tq, tk = torch.from_numpy(q), torch.from_numpy(kk)
    want = np.einsum("bik,bjk->bij", q.astype(np.float64), kk.astype(np.float64))
    np.testing.assert_allclose((tq @ tk.transpose(-2, -1)).numpy(), want, **_tol(dtype, 32))
    np.testing.assert_allclose(torch.bmm(tq, tk.transpose(1, 2)).numpy(), want, **_tol(dtype, 32))


def test_batched_input_with_shared_transposed_weight():
    # a 3-D input against one weight: the weight's transpose is broadcast over the batch
    x, w = _rand(4, 48, 20), _rand(24, 20, seed=5)
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    want = np.einsum("bik,jk->bij", x.astype(np.float64), w.astype(np.float64))
    np.testing.assert_allclose((tx @ tw.t()).numpy(), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(torch.matmul(tx, tw.t().expand(4, 20, 24)).numpy(), want, rtol=1e-4, atol=1e-4)


def test_linear_gradients_through_copied_weight():
    x = torch.randn(32, 40, requires_grad=True)
    w = torch.randn(12, 40, requires_grad=True)
    b = torch.randn(12, requires_grad=True)
    F.linear(x, w, b).pow(2).sum().backward()
    xn, wn, bn = (t.detach().numpy().astype(np.float64) for t in (x, w, b))
    g = 2 * (xn @ wn.T + bn)
    np.testing.assert_allclose(x.grad.numpy(), g @ wn, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(w.grad.numpy(), g.T @ xn, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(b.grad.numpy(), g.sum(0), rtol=1e-4, atol=1e-3)
