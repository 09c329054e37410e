"""In-place elementwise ops (the output is one of the inputs) against NumPy, on both sides of
the kernels' parallel threshold (2**15 elements) and for each way the output can be an input:
the first input, the second, both, with a broadcast scalar, and through `out=`. These runs
read and write the shared input through one pointer (cpu::iter `same`)."""
import numpy as np
import pytest

import ferrotorch as torch

SIZES = [7, 1000, 40000, 70001]


def _data(n, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype in (np.float32, np.float64):
        return rng.standard_normal(n).astype(dtype)
    return rng.integers(-50, 50, n).astype(dtype)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_binary_in_place_into_first_input(n, dtype):
    a, b = _data(n, dtype, 1), _data(n, dtype, 2)
    x, y = torch.from_numpy(a.copy()), torch.from_numpy(b.copy())
    x.add_(y)
    np.testing.assert_array_equal(x.numpy(), a + b)
    x.mul_(y)
    np.testing.assert_array_equal(x.numpy(), (a + b) * b)
    x.sub_(y, alpha=2)
    np.testing.assert_array_equal(x.numpy(), (a + b) * b - 2 * b)
    np.testing.assert_array_equal(y.numpy(), b)  # the other input is untouched


@pytest.mark.parametrize("n", SIZES)
def test_binary_in_place_into_second_input_and_both(n):
    a, b = _data(n, np.float32, 3), _data(n, np.float32, 4)
    x, y = torch.from_numpy(a.copy()), torch.from_numpy(b.copy())
    torch.sub(x, y, out=y)  # the output is the second input
    np.testing.assert_array_equal(y.numpy(), a - b)
    np.testing.assert_array_equal(x.numpy(), a)
    x.add_(x)  # the output is both inputs
    np.testing.assert_array_equal(x.numpy(), a + a)
    torch.mul(x, x, out=x)
    np.testing.assert_array_equal(x.numpy(), (a + a) * (a + a))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_in_place_with_broadcast_scalar_and_fill(n, dtype):
    a = _data(n, dtype, 5)
    x = torch.from_numpy(a.copy())
    s = torch.tensor(3, dtype=x.dtype)  # 0-dim: a stride-0 input over the whole run
    x.add_(s)
    np.testing.assert_array_equal(x.numpy(), a + 3)
    x.mul_(2)
    np.testing.assert_array_equal(x.numpy(), (a + 3) * 2)
    x.fill_(7)
    np.testing.assert_array_equal(x.numpy(), np.full(n, 7, dtype))


@pytest.mark.parametrize("n", SIZES)
def test_unary_in_place(n):
    a = _data(n, np.float32, 6)
    a[::5] = -0.0
    a[1::7] = np.nan
    x = torch.from_numpy(a.copy())
    x.relu_()
    want = np.where(a < 0, np.float32(0), a)  # NaN and -0.0 pass through, as in PyTorch
    np.testing.assert_array_equal(x.numpy(), want)
    assert np.array_equal(np.signbit(x.numpy()), np.signbit(want))
    x.neg_().abs_()
    np.testing.assert_array_equal(x.numpy(), np.abs(want))
    y = torch.from_numpy(np.abs(_data(n, np.float64, 7)))
    y.sqrt_()
    np.testing.assert_allclose(y.numpy(), np.sqrt(np.abs(_data(n, np.float64, 7))), rtol=1e-15)


@pytest.mark.parametrize("n", SIZES)
def test_in_place_on_non_contiguous_views(n):
    a = _data(2 * n, np.float32, 8).reshape(2, n)
    b = _data(n, np.float32, 9)
    x = torch.from_numpy(a.copy())
    col = x[1]  # contiguous row of a larger tensor
    col.add_(torch.from_numpy(b))
    want = a.copy()
    want[1] += b
    np.testing.assert_array_equal(x.numpy(), want)
    t = torch.from_numpy(a.copy()).t()  # strided: every run has stride 2
    t.mul_(3).relu_()
    np.testing.assert_array_equal(t.numpy(), np.maximum(a.T * 3, 0))


@pytest.mark.parametrize("n", SIZES)
def test_ternary_in_place(n):
    a, b, c = (_data(n, np.float32, s) for s in (10, 11, 12))
    x = torch.from_numpy(a.copy())
    x.lerp_(torch.from_numpy(b), torch.from_numpy(np.abs(c) / 10))
    w = np.abs(c) / 10
    np.testing.assert_allclose(x.numpy(), a + w * (b - a), rtol=1e-5, atol=1e-6)
    y = torch.from_numpy(a.copy())
    torch.where(torch.from_numpy(c > 0), y, torch.from_numpy(b), out=y)
    np.testing.assert_array_equal(y.numpy(), np.where(c > 0, a, b))


def test_in_place_gradient_still_recorded():
    x = torch.randn(50000, requires_grad=True)
    y = x * 2
    y.relu_()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.where(x.detach().numpy() * 2 > 0, 2.0, 0.0).astype(np.float32))
