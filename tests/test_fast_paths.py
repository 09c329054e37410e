"""The one-pass kernels behind common ops, against NumPy references: clamp with scalar bounds,
topk by selection, the vectorised float32 log, the float32 <-> float16 / bfloat16 slice
conversions, max/min by lanes, var/std from squared deviations, the 2-norm. Sizes straddle the
parallel thresholds (2**15 elements; 2**20 for a single long row)."""
import math

import numpy as np
import pytest

import ferrotorch as torch

SIZES = [1, 17, 40000, (1 << 20) + 3]


def _randn(n, seed, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(n).astype(dtype)


# ---------------------------------------------------------------- clamp


@pytest.mark.parametrize("n", SIZES[:3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clamp_scalar_bounds_values_and_gradient(n, dtype):
    a = _randn(n, 1, dtype)
    a[::7] = 0.5  # exactly on the upper bound
    a[1::11] = np.nan
    a[2::13] = -0.0
    x = torch.tensor(a, requires_grad=True)
    y = torch.clamp(x, -0.0 if n > 1 else -1.0, 0.5)
    lo = -0.0 if n > 1 else -1.0
    want = np.where(a < lo, lo, np.where(a > 0.5, 0.5, a))  # NaN stays NaN
    np.testing.assert_array_equal(y.detach().numpy(), want)
    assert np.array_equal(np.signbit(y.detach().numpy()), np.signbit(want))  # -0.0 stays
    assert "ClampBackward1" in str(y.grad_fn)
    y.backward(torch.ones(n, dtype=x.dtype))
    inside = (a >= lo) & (a <= 0.5)  # bounds included, NaN excluded
    np.testing.assert_array_equal(x.grad.numpy(), inside.astype(dtype))


def test_clamp_one_sided_inverted_and_nan_bounds():
    a = np.array([-3.0, -1.0, 0.0, 2.0, np.nan], dtype=np.float32)
    x = torch.tensor(a)
    np.testing.assert_array_equal(x.clamp(min=0.0).numpy(), np.where(a < 0, 0, a))
    np.testing.assert_array_equal(x.clamp(max=0.0).numpy(), np.where(a > 0, 0, a))
    np.testing.assert_array_equal(x.clamp(1.0, -1.0).numpy(), [-1, -1, -1, -1, np.nan])  # min > max: max (NaN stays)
    assert torch.isnan(x.clamp(min=float("nan"))).all().item()  # a NaN bound gives NaN (composed path)
    y = torch.tensor(a.copy())
    y.clamp_(-1.5, 1.5)
    np.testing.assert_array_equal(y.numpy(), np.clip(a, -1.5, 1.5))
    i = torch.tensor([-5, 0, 5])
    assert x.clamp(0, 1).dtype == torch.float32 and i.clamp(-1, 1).tolist() == [-1, 0, 1]
    assert i.clamp(-1.5, 1.5).dtype == torch.float32  # promotes: the composed path


def test_clamp_inplace_after_use_in_graph_keeps_gradient():
    a = torch.tensor([0.5, 2.0, -3.0], requires_grad=True)
    x = a * 2
    x.clamp_(-2.0, 2.0)
    x.sum().backward()
    assert a.grad.tolist() == [2.0, 0.0, 0.0]


# ---------------------------------------------------------------- topk


def _topk_ref(a, k, largest):
    """Stable order, NaN largest, ties by position."""
    key = np.where(np.isnan(a), np.inf, a)
    nan = np.isnan(a)
    idx = np.arange(a.size)
    if largest:
        order = sorted(idx, key=lambda i: (not nan[i], -key[i], i))
    else:
        order = sorted(idx, key=lambda i: (nan[i], key[i], i))
    return np.array(order[:k], dtype=np.int64)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_topk_matches_stable_order_with_ties_and_nan(largest, dtype):
    rng = np.random.default_rng(2)
    a = rng.integers(-20, 20, 3000).astype(dtype)  # many ties
    if dtype != np.int32:
        a[::97] = np.nan
    for k in (0, 1, 5, 100, 3000):
        v, i = torch.topk(torch.tensor(a), k, largest=largest)
        want = _topk_ref(a, k, largest)
        np.testing.assert_array_equal(i.numpy(), want)
        np.testing.assert_array_equal(v.numpy(), a[want])


def test_topk_along_a_dim_of_a_non_contiguous_tensor_and_gradient():
    a = _randn(6 * 50, 3).reshape(6, 50)
    x = torch.tensor(a, requires_grad=True)
    v, i = x.t().topk(3, dim=0)  # along the original dim 1
    want = np.argsort(-a, axis=1, kind="stable")[:, :3].T
    np.testing.assert_array_equal(i.numpy(), want)
    assert v.is_contiguous() and tuple(v.shape) == (3, 6)
    v.sum().backward()
    g = np.zeros_like(a)
    np.put_along_axis(g, want.T, 1.0, axis=1)
    np.testing.assert_array_equal(x.grad.numpy(), g)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        x.topk(51)


# ---------------------------------------------------------------- log


def test_log_float32_within_one_ulp_and_special_values():
    rng = np.random.default_rng(4)
    bits = rng.integers(1, 0x7F800000, 200000, dtype=np.uint32)
    a = bits.view(np.float32)  # positive floats of every exponent, subnormals included
    got = torch.tensor(a).log().numpy()
    want = np.log(a.astype(np.float64)).astype(np.float32)
    ulp = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    assert ulp.max() <= 1
    special = np.array([0.0, -0.0, 1.0, np.inf, -1.0, -np.inf, np.nan], dtype=np.float32)
    got = torch.tensor(special).log().numpy()
    assert got[0] == -np.inf and got[1] == -np.inf and got[2] == 0.0 and got[3] == np.inf
    assert np.isnan(got[4:]).all()
    x = torch.tensor(a[:50].copy())
    x.log_()
    np.testing.assert_array_equal(x.numpy(), torch.tensor(a[:50]).log().numpy())


# ---------------------------------------------------------------- 16-bit conversions


def _bf16_bits_ref(a):
    """PyTorch's float32 -> bfloat16: round to nearest even from all 32 bits; NaN -> 0xFFFF."""
    u = a.view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF
    return np.where(np.isnan(a), 0xFFFF, r).astype(np.uint16)


@pytest.mark.parametrize("n", SIZES)
def test_float32_to_bfloat16_rounds_like_pytorch(n):
    a = _randn(n, 5) * np.float32(1e3)
    a[::5] = np.float32(1 + 2**-8 + 2**-23)  # above the tie only in the last bits: rounds up
    a[1::9] = np.nan
    a[2::9] = np.float32(3.3961e38)  # rounds to inf
    b = torch.tensor(a).to(torch.bfloat16)
    np.testing.assert_array_equal(b.view(torch.int16).numpy().view(np.uint16), _bf16_bits_ref(a))
    back = b.float().numpy()
    np.testing.assert_array_equal(back.view(np.uint32), _bf16_bits_ref(a).astype(np.uint32) << 16)


@pytest.mark.parametrize("n", SIZES)
def test_float32_float16_round_trip_matches_numpy(n):
    a = _randn(n, 6) * np.float32(3e3)
    a[::7] = np.float32(65520.0)  # overflows to inf
    a[1::7] = np.float32(1e-6)  # subnormal in float16
    with np.errstate(over="ignore"):  # the reference's own cast of 65520
        ref = a.astype(np.float16)
    h = torch.tensor(a).half()
    np.testing.assert_array_equal(h.view(torch.int16).numpy(), ref.view(np.int16))
    np.testing.assert_array_equal(h.float().numpy(), ref.astype(np.float32))
    # a strided source takes the generic cast: the same values
    s = torch.tensor(a)[::2].half()
    np.testing.assert_array_equal(s.float().numpy(), ref[::2].astype(np.float32))


def test_double_and_int_to_bfloat16_go_through_float32():
    d = np.array([1 + 2**-8 + 2**-23, 1 + 2**-8 + 2**-40, 16777217.0], dtype=np.float64)
    b = torch.tensor(d).to(torch.bfloat16)
    want = _bf16_bits_ref(d.astype(np.float32))
    np.testing.assert_array_equal(b.view(torch.int16).numpy().view(np.uint16), want)
    i = torch.tensor([16777217, 257, -513]).to(torch.bfloat16)
    np.testing.assert_array_equal(i.float().numpy(), [16777216.0, 256.0, -512.0])


# ---------------------------------------------------------------- max / min


@pytest.mark.parametrize("n", SIZES)
def test_max_min_value_and_first_position(n):
    a = np.round(_randn(n, 7) * 4).astype(np.float32)  # ties
    x = torch.tensor(a)
    v, i = x.max(0)
    assert v.item() == a.max() and i.item() == int(np.argmax(a))
    v, i = x.min(0)
    assert v.item() == a.min() and i.item() == int(np.argmin(a))
    assert x.max().item() == a.max() and x.argmin().item() == int(np.argmin(a))
    if n > 3:
        b = a.copy()
        b[n // 2] = np.nan
        b[n - 1] = np.nan
        v, i = torch.tensor(b).max(0)
        assert math.isnan(v.item()) and i.item() == n // 2  # the first NaN
        assert torch.tensor(b).argmin().item() == n // 2


def test_max_zero_signs_rows_and_ints():
    z = torch.tensor([-0.0, 0.0, -0.0])
    v, i = z.max(0)
    assert i.item() == 0 and math.copysign(1, v.item()) == -1  # the first of the equal zeros
    m = np.random.default_rng(8).integers(-1000, 1000, (37, 129)).astype(np.int64)
    v, i = torch.tensor(m).max(1)
    np.testing.assert_array_equal(v.numpy(), m.max(1))
    np.testing.assert_array_equal(i.numpy(), m.argmax(1))
    r = _randn(300 * 70, 9).reshape(300, 70)
    v, i = torch.tensor(r).min(0)
    np.testing.assert_array_equal(i.numpy(), r.argmin(0))


# ---------------------------------------------------------------- var / std / norm


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_var_std_over_dims_with_corrections_and_gradient(dtype):
    a = (_randn(4 * 30 * 50, 10, np.float64) * 3 + 1e4).astype(dtype).reshape(4, 30, 50)
    x = torch.tensor(a, requires_grad=True)
    tol = dict(rtol=1e-6 if dtype == np.float64 else 2e-4)
    for dims, corr, keep in [(None, 1, False), ((1,), 0, True), ((0, 2), 1, False), ((2,), 2, True)]:
        ax = None if dims is None else tuple(dims)
        want = a.astype(np.float64).var(axis=ax, ddof=corr, keepdims=keep)
        got = torch.var(x, dim=dims, correction=corr, keepdim=keep)
        np.testing.assert_allclose(got.detach().numpy(), want, **tol)
        np.testing.assert_allclose(torch.std(x, dim=dims, correction=corr, keepdim=keep).detach().numpy(), np.sqrt(want), **tol)
        assert got.dtype == x.dtype
    v = x.var(dim=1)
    v.sum().backward()
    n = a.shape[1]
    want_g = 2 * (a - a.mean(axis=1, keepdims=True)) / (n - 1)
    np.testing.assert_allclose(x.grad.numpy(), want_g, rtol=1e-3, atol=1e-3)
    assert math.isnan(torch.tensor([1.0]).var().item())  # n - correction = 0


def test_norm_two_and_other_orders():
    a = _randn(5000, 11)
    x = torch.tensor(a, requires_grad=True)
    np.testing.assert_allclose(x.norm().item(), np.linalg.norm(a.astype(np.float64)), rtol=1e-6)
    np.testing.assert_allclose(x.norm(p=1).item(), np.abs(a.astype(np.float64)).sum(), rtol=1e-6)
    np.testing.assert_allclose(x.norm(p=float("inf")).item(), np.abs(a).max())
    x.norm().backward()
    np.testing.assert_allclose(x.grad.numpy(), a / np.linalg.norm(a.astype(np.float64)), rtol=1e-5)


# ---------------------------------------------------------------- silu, index_select


@pytest.mark.parametrize("n", SIZES[:3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_silu_one_pass_values_and_gradients(n, dtype):
    a = (_randn(n, 12, np.float64) * 6).astype(dtype)
    a[:3] = [-np.inf, np.inf, np.nan] if n >= 3 else a[:3]
    x = torch.tensor(a, requires_grad=True)
    y = torch.nn.functional.silu(x)
    a64 = a.astype(np.float64)
    with np.errstate(all="ignore"):
        s = 1 / (1 + np.exp(-a64))
        want = a64 / (1 + np.exp(-a64))  # PyTorch's formula: silu(-inf) is NaN
        want_g = s * (1 + a64 * (1 - s))
    # (the gradient crosses zero near x = -1.28, where float32 cancellation costs digits, in
    # PyTorch's formula as in this one)
    tol = dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(y.detach().numpy(), want, **tol)
    assert "SiluBackward0" in str(y.grad_fn)
    y.backward(torch.ones(n, dtype=x.dtype))
    np.testing.assert_allclose(x.grad.numpy(), want_g, **tol)
    # a graph through the backward (create_graph) takes the differentiable formula
    x2 = torch.tensor(a64[3:20] if n > 20 else a64, requires_grad=True)
    (g,) = torch.autograd.grad(torch.nn.functional.silu(x2).sum(), x2, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x2)
    v = x2.detach().numpy()
    sv = 1 / (1 + np.exp(-v))
    np.testing.assert_allclose(gg.numpy(), sv * (1 - sv) * (2 + v * (1 - 2 * sv)), rtol=1e-9)
    z = torch.tensor(a[:5].copy())
    assert torch.nn.functional.silu(z, inplace=True) is z


def test_index_select_single_elements_and_rows():
    a = _randn(7 * 1000, 13).reshape(7, 1000)
    idx = np.random.default_rng(14).integers(0, 1000, 5000)
    x, i = torch.tensor(a), torch.tensor(idx)
    np.testing.assert_array_equal(x.index_select(1, i).numpy(), a[:, idx])  # inner size 1
    np.testing.assert_array_equal(x.t().contiguous().index_select(0, i).numpy(), a.T[idx])
    np.testing.assert_array_equal(torch.tensor(a[0]).index_select(0, i).numpy(), a[0][idx])
    with pytest.raises(IndexError):
        torch.tensor(a[0]).index_select(0, torch.tensor([1000]))


# ---------------------------------------------------------------- pow by small integers, log1p


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_small_integral_exponents_are_products(dtype):
    a = (_randn(50000, 15, np.float64) * 3).astype(dtype)
    a[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e30]
    x = torch.tensor(a, requires_grad=True)
    with np.errstate(all="ignore"):
        refs = {1: a, 2: a * a, 3: a * a * a, -1: np.divide(1, a, dtype=dtype), -2: np.divide(1, a * a, dtype=dtype)}
    for e, want in refs.items():
        got = (x ** e).detach().numpy()
        np.testing.assert_array_equal(got, want.astype(dtype))
        assert np.array_equal(np.signbit(got), np.signbit(want))
    y = x ** 2
    y.sum().backward()
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(x.grad.numpy(), (2 * a).astype(dtype))
    np.testing.assert_allclose((x.detach() ** 2.5).numpy()[6:], np.abs(a[6:]) ** 2.5 * np.where(a[6:] < 0, np.nan, 1), rtol=1e-6)


def test_log1p_float32_within_two_ulp():
    rng = np.random.default_rng(16)
    mag = rng.integers(1, 0x7F800000, 200000, dtype=np.uint32).view(np.float32)
    a = np.concatenate([mag, -mag[mag < 1]])
    got = torch.tensor(a).log1p().numpy()
    want = np.log1p(a.astype(np.float64)).astype(np.float32)
    ulp = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    assert ulp.max() <= 2
    s = torch.tensor(np.array([-1.0, -0.0, np.inf, -2.0, np.nan], np.float32)).log1p().numpy()
    assert s[0] == -np.inf and s[1] == 0 and np.signbit(s[1]) and s[2] == np.inf and np.isnan(s[3:]).all()


# ---------------------------------------------------------------- sin / cos, 2-norm overflow


def test_sin_cos_float32_correctly_rounded_and_large_arguments():
    rng = np.random.default_rng(17)
    a = np.concatenate([rng.uniform(-10, 10, 100000), rng.uniform(-2e6, 2e6, 100000),
                        [0.0, -0.0, 1e-30, np.pi, 1e20, -3e38, np.inf, -np.inf, np.nan]]).astype(np.float32)
    for name in ("sin", "cos"):
        got = getattr(torch.tensor(a), name)().numpy()
        with np.errstate(invalid="ignore"):
            want = getattr(np, name)(a.astype(np.float64)).astype(np.float32)
        fin = np.isfinite(want)
        # up to 2^20 the vector kernel, correctly rounded; above it (and inf/NaN) libm, whose
        # sinf/cosf are within an ulp
        fast = fin & (np.abs(a) <= 2.0 ** 20)
        np.testing.assert_array_equal(got[fast], want[fast])
        np.testing.assert_allclose(got[fin & ~fast], want[fin & ~fast], rtol=2.5e-7, atol=1e-7)
        assert np.isnan(got[~fin]).all()
    assert np.signbit(torch.tensor([-0.0]).sin().numpy()[0])


def test_norm_squares_in_the_input_dtype_like_pytorch():
    # float32 squares overflow to inf and underflow to 0 in PyTorch's norm: the same here
    assert torch.tensor([1e30, 1e30]).norm().item() == float("inf")
    assert torch.tensor([1e-30, 1e-30]).norm().item() == 0.0
    assert torch.tensor([1e30, 1e30], dtype=torch.float64).norm().item() == pytest.approx(2 ** 0.5 * 1e30)
    m = _randn(40 * 30, 18).reshape(40, 30)
    np.testing.assert_allclose(torch.tensor(m).norm(dim=1, keepdim=True).numpy(), np.linalg.norm(m.astype(np.float64), axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(torch.linalg.vector_norm(torch.tensor(m), dim=0).numpy(), np.linalg.norm(m.astype(np.float64), axis=0), rtol=1e-6)
    z = torch.zeros(3, requires_grad=True)
    z.norm().backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]


def test_index_select_and_aminmax_errors_as_pytorch():
    # PyTorch raises IndexError from most layouts, RuntimeError from its dim-1 and empty-input kernels
    for shape, d, exc in [((4, 2, 4, 3), 0, IndexError), ((4, 2, 4, 3), 1, RuntimeError), ((4, 2, 4, 3), 3, IndexError),
                          ((5,), 0, IndexError), ((3, 0, 2), 2, RuntimeError), ((0, 3), 0, RuntimeError)]:
        with pytest.raises(exc):
            torch.index_select(torch.zeros(*shape), d, torch.tensor([9]))
    with pytest.raises(IndexError, match="aminmax: Expected reduction dim 1 to have non-zero size"):
        torch.aminmax(torch.zeros(3, 0), dim=1)
    with pytest.raises(RuntimeError, match="no identity"):
        torch.aminmax(torch.zeros(3, 0))
    assert tuple(torch.aminmax(torch.zeros(3, 0), dim=0).min.shape) == (0,)


# ---------------------------------------------------------------- erf, GELU


def _erf64(a):
    return np.array([math.erf(float(v)) for v in a])


def test_erf_float32_within_three_ulp():
    rng = np.random.default_rng(21)
    a = np.concatenate([rng.uniform(-5, 5, 60000), rng.standard_normal(20000) * 1e-3,
                        np.linspace(0.92, 0.94, 5000), [0.0, -0.0, 4.0, 4.5, 1e-30, 30.0]]).astype(np.float32)
    got = torch.tensor(a).erf().numpy()
    want = _erf64(a.astype(np.float64)).astype(np.float32)
    ulp = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    assert ulp.max() <= 3, a[ulp.argmax()]
    s = torch.tensor(np.array([np.inf, -np.inf, np.nan, -0.0], np.float32)).erf().numpy()
    assert s[0] == 1 and s[1] == -1 and np.isnan(s[2]) and s[3] == 0 and np.signbit(s[3])


@pytest.mark.parametrize("n", [15, 16, 40000, (1 << 16) + 5])
def test_gelu_values_and_gradient_in_and_out_of_the_fast_range(n):
    # most chunks of 16 lie in the fitted range; a few hold a far-tail value, inf or NaN
    x = _randn(n, 22) * 2
    x[::997] = -7.5
    x[5::1999] = np.inf
    x[7::2999] = np.nan
    x64 = x.astype(np.float64)
    cdf = 0.5 * np.array([math.erfc(-v / math.sqrt(2)) if np.isfinite(v) else (1.0 if v > 0 else np.nan) for v in x64])
    want = x64 * cdf
    pdf = np.exp(-0.5 * x64 * x64) / math.sqrt(2 * math.pi)
    gwant = cdf + x64 * pdf
    t = torch.tensor(x, requires_grad=True)
    y = torch.nn.functional.gelu(t)
    y.backward(torch.ones(n))
    for got, ref in ((y.detach().numpy(), want), (t.grad.numpy(), gwant)):
        fin = np.isfinite(ref)
        assert np.array_equal(np.isnan(got), np.isnan(ref)) or not fin.all()
        # relative, but absolute near the gradient's root (x = -0.7518), where it cancels
        err = np.abs(got[fin] - ref[fin]) - 5e-6 * np.abs(ref[fin])
        assert np.max(err) < 2e-7, x[fin][np.argmax(err)]
    assert np.isnan(y.detach().numpy()[7::2999]).all()
    assert (y.detach().numpy()[5::1999] == np.inf).all()
