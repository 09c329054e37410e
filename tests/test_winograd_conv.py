"""The Winograd F(2x2, 3x3) path of stride-1 3x3 float32 convolutions (src/cpu/winograd.rs).

It runs when cg * og >= 10 * (cg + og) (for example 16 -> 32 or 32 -> 64 channels per group) on a
CPU with AVX2+FMA; these shapes are chosen to take it. The reference is the same convolution in
float64, which runs on the im2col path, so both sides are computed independently: forward and
input gradient (the latter is the forward of the flipped weights, Winograd again) must agree
to float32 rounding, on shapes with partial tiles, every padding 0-2, groups, several samples
(threads) and one.
"""
import numpy as np
import pytest

import ferrotorch as torch
import ferrotorch.nn.functional as F


def _check(n, c, o, h, w, padding, groups=1, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = (rng.standard_normal((o, c // groups, 3, 3)) / np.sqrt(9 * c / groups)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32) if bias else None
    gy = rng.standard_normal((n, o, h + 2 * padding - 2, w + 2 * padding - 2)).astype(np.float32)

    def run(dtype):
        xt = torch.tensor(x.astype(dtype), requires_grad=True)
        wt_ = torch.tensor(wt.astype(dtype))
        bt = None if b is None else torch.tensor(b.astype(dtype))
        y = F.conv2d(xt, wt_, bt, padding=padding, groups=groups)
        y.backward(torch.tensor(gy.astype(dtype)))
        return y.detach().numpy().astype(np.float64), xt.grad.numpy().astype(np.float64)

    (y32, gx32), (y64, gx64) = run(np.float32), run(np.float64)
    assert y32.shape == y64.shape == gy.shape
    for got, want in ((y32, y64), (gx32, gx64)):
        scale = np.abs(want).max() + 1e-12
        assert np.abs(got - want).max() <= 2e-6 * scale, (n, c, o, h, w, padding, groups)


@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("hw", [(28, 28), (9, 6), (7, 13), (3, 3)])
def test_forward_and_input_grad_match_float64(padding, hw):
    _check(3, 16, 32, hw[0], hw[1], padding)


def test_benchmark_shape_and_wide_channels():
    _check(4, 32, 64, 28, 28, 1)
    _check(2, 40, 24, 10, 11, 1, seed=1)  # channel counts that are not multiples of 16


def test_single_sample_and_no_bias():
    _check(1, 32, 32, 14, 15, 1, bias=False)


def test_groups():
    _check(2, 64, 64, 8, 8, 1, groups=2)


def test_one_output_pixel():
    _check(2, 16, 32, 1, 1, 1)
    _check(2, 16, 32, 3, 3, 0)


def test_non_contiguous_input_and_weight():
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.standard_normal((2, 12, 12, 32)).astype(np.float32)).permute(0, 3, 1, 2)
    w = torch.tensor(rng.standard_normal((32, 3, 3, 32)).astype(np.float32)).permute(0, 3, 1, 2)
    got = F.conv2d(x, w, padding=1).numpy()
    want = F.conv2d(x.double(), w.double(), padding=1).numpy()
    assert np.abs(got - want).max() <= 2e-6 * np.abs(want).max()


def test_special_values_take_the_direct_sum():
    # Winograd's transforms subtract inputs, so an inf would become inf - inf = nan; samples
    # (or weights) holding inf or nan take the direct convolution, which keeps inf where the
    # window sums only +inf terms, as PyTorch does
    x = np.zeros((2, 16, 8, 8), np.float32)
    x[0, 3, 4, 4] = np.inf
    x[1, 5, 2, 6] = np.nan
    w = np.ones((32, 16, 3, 3), np.float32)
    y = F.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    hit = np.zeros((8, 8), bool)
    hit[3:6, 3:6] = True
    assert np.isposinf(y[0][:, hit]).all() and (y[0][:, ~hit] == 0).all()
    hit = np.zeros((8, 8), bool)
    hit[1:4, 5:8] = True
    assert np.isnan(y[1][:, hit]).all() and (y[1][:, ~hit] == 0).all()
    wi = w.copy()
    wi[0, 0, 1, 1] = np.inf
    ones = np.ones((1, 16, 4, 4), np.float32)
    y = F.conv2d(torch.tensor(ones), torch.tensor(wi), padding=1).numpy()
    want = F.conv2d(torch.tensor(ones).double(), torch.tensor(wi).double(), padding=1).numpy()
    assert np.isposinf(y[0, 0]).all() and np.array_equal(y, want)


def test_empty_spatial_input_raises_like_pytorch():
    # PyTorch takes an empty batch or channel axis, not an empty spatial one, even when the
    # padding makes room for the kernel
    with pytest.raises(RuntimeError, match=r"Only zero batch or zero channel inputs are supported, but got input shape: \[1, 16, 0, 5\]"):
        F.conv2d(torch.zeros(1, 16, 0, 5), torch.ones(32, 16, 3, 3), padding=2)
    with pytest.raises(RuntimeError, match=r"input shape: \[2, 3, 1, 0\]"):
        F.conv1d(torch.zeros(2, 3, 0), torch.ones(4, 3, 3), padding=2)
    with pytest.raises(RuntimeError, match=r"input shape: \[1, 4, 0, 3\]"):
        F.conv_transpose2d(torch.zeros(1, 4, 0, 3), torch.ones(4, 2, 3, 3))
    assert F.conv2d(torch.zeros(0, 16, 0, 5), torch.ones(32, 16, 3, 3), padding=2).shape == (0, 32, 2, 7)
