"""Native pooling kernels against PyTorch 2.13: max, average and adaptive pools in 1-3 dims,
replaying the calls recorded by scripts/record_pool_cases.py (tests/data/pool_cases.npz) with
the same input bits, and comparing values, indices, input gradients, grad_fn names and errors."""
import json
import os

import numpy as np
import pytest

import ferrotorch as torch
import ferrotorch.nn.functional as F

DATA = np.load(os.path.join(os.path.dirname(__file__), "data", "pool_cases.npz"))
N = sum(1 for k in DATA.files if k.startswith("p"))


@pytest.mark.parametrize("i", range(N))
def test_pool_case_matches_pytorch(i):
    fn, args, kw = json.loads(str(DATA[f"p{i}"]))
    xs = DATA[f"x{i}"]
    x = torch.tensor(xs)
    if x.is_floating_point():
        x.requires_grad_(True)
    if f"e{i}" in DATA.files:
        etype, msg = json.loads(str(DATA[f"e{i}"]))
        with pytest.raises(Exception) as info:
            getattr(F, fn)(x, *args, **kw)
        assert type(info.value).__name__ == etype, (fn, args, str(info.value), msg)
        return
    y = getattr(F, fn)(x, *args, **kw)
    vals = y[0] if isinstance(y, tuple) else y
    want = DATA[f"y{i}"]
    tol = dict(rtol=1e-6, atol=1e-6) if xs.dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    assert vals.dtype == x.dtype and tuple(vals.shape) == want.shape
    np.testing.assert_allclose(vals.detach().numpy(), want, equal_nan=True, **tol)
    if f"i{i}" in DATA.files:
        np.testing.assert_array_equal(y[1].numpy(), DATA[f"i{i}"])
    if f"gx{i}" in DATA.files:
        vals.backward(torch.tensor(DATA[f"g{i}"]))
        np.testing.assert_allclose(x.grad.numpy(), DATA[f"gx{i}"], equal_nan=True, **tol)
        assert vals.grad_fn.name() == str(DATA[f"fn{i}"])


@pytest.mark.parametrize("fn,args", [("avg_pool2d", (2,)), ("adaptive_avg_pool2d", ((3, 2),)),
                                     ("avg_pool3d", (2, 1, 1, False, False))])
def test_average_pools_second_order(fn, args):
    # the backward is linear in the gradient: its own derivative is the forward pool again
    x = torch.randn(2, 3, 5, 4, 4 if fn.endswith("3d") else 1, dtype=torch.float64).squeeze(-1) \
        if fn.endswith("2d") else torch.randn(2, 3, 5, 4, 4, dtype=torch.float64)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: getattr(F, fn)(t, *args), (x,))
    assert torch.autograd.gradgradcheck(lambda t: getattr(F, fn)(t, *args), (x,))


def test_max_pool_window_in_padding_is_safe():
    # PyTorch 2.13 reads out of bounds here; ferrotorch must not crash and must not scatter grads
    x = torch.randn(3, 1, requires_grad=True)
    y = F.max_pool1d(x, 3, 3, 1, 2, True)
    y.sum().backward()
    assert x.grad.shape == (3, 1)


def test_integer_max_pool_native_matches_float_path():
    x = torch.randint(-50, 50, (2, 3, 9, 7))
    v, i = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    vf, i_f = F.max_pool2d(x.double(), 3, 2, 1, return_indices=True)
    assert v.dtype == torch.int64
    assert torch.equal(v.double(), vf) and torch.equal(i, i_f)


def _max_pool_2x2_reference(x):
    """Windows in row-major order; the first maximum wins, a NaN wins over everything after it."""
    n, c, h, w = x.shape
    oh, ow = h // 2, w // 2
    y = np.empty((n, c, oh, ow), x.dtype)
    idx = np.empty((n, c, oh, ow), np.int64)
    for p in np.ndindex(n, c):
        for i in range(oh):
            for j in range(ow):
                best, arg = None, -1
                for a in range(2):
                    for b in range(2):
                        v = x[p][2 * i + a, 2 * j + b]
                        if best is None or v > best or (isinstance(v, np.floating) and np.isnan(v)):
                            best, arg = v, (2 * i + a) * w + 2 * j + b
                y[p][i, j], idx[p][i, j] = best, arg
    return y, idx


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8])
@pytest.mark.parametrize("hw", [(24, 24), (7, 9), (2, 2), (5, 34)])
def test_max_pool_2x2_stride_2_values_and_indices(dtype, hw):
    # the vectorised 2x2 / stride-2 kernel: ties keep the first position, NaN wins, odd sizes
    # drop the last row and column
    rng = np.random.default_rng(hw[0] * 100 + hw[1])
    x = rng.integers(0, 4, (2, 3) + hw).astype(dtype)  # small integers: many ties
    if np.issubdtype(dtype, np.floating):
        x[0, 0, 0, 1] = np.nan
        x[1, 2, -1, -1] = np.nan
        x[0, 1, 1, 0] = -np.inf
    want, want_idx = _max_pool_2x2_reference(x)
    got, got_idx = F.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(got.numpy(), want)
    np.testing.assert_array_equal(got_idx.numpy(), want_idx)
