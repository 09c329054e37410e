"""One-kernel forms of ops that were compositions: addcmul/addcdiv/lerp (fused, in place or
not), float16/bfloat16 arithmetic computed a block at a time, float16 conversions, sort by
radix keys, topk in one pass, and scatter_add_/index_add_ written in place. Each is checked
against a NumPy reference of PyTorch's definition, including the layouts and special values
where a fast path could differ from the general one."""
import numpy as np
import pytest

import ferrotorch as torch


def f32_bits_to_bf16_round(x):
    """float32 array -> bfloat16 values (as float32), rounding to nearest even, NaN kept."""
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16
    out = r.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), np.float32(np.nan), out)


# ---------------------------------------------------------------- addcmul / addcdiv / lerp

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("value", [1, 0.5, -2.0])
def test_addcmul_addcdiv_match_reference(dtype, value):
    g = np.random.default_rng(0)
    npdt = np.float32 if dtype == torch.float32 else np.float64
    a, b, c = (g.standard_normal((37, 129)).astype(npdt) for _ in range(3))
    c[c == 0] = 1
    ta, tb, tc = (torch.tensor(v, dtype=dtype) for v in (a, b, c))
    v = npdt(value)
    # ATen's order: the scalar multiplies tensor1 first; addcmul's product and sum round once
    # (a fused multiply-add), so against NumPy's two roundings it is within an ulp
    tol = dict(rtol=3e-7, atol=1e-7) if dtype == torch.float32 else dict(rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(torch.addcmul(ta, tb, tc, value=value).numpy(), a + v * b * c, **tol)
    if dtype == torch.float32:
        exact = (a.astype(np.float64) + (v * b).astype(np.float64) * c.astype(np.float64)).astype(np.float32)
        assert (torch.addcmul(ta, tb, tc, value=value).numpy() == exact).mean() > 0.999
    np.testing.assert_array_equal(torch.addcdiv(ta, tb, tc, value=value).numpy(), a + v * b / c)
    x = ta.clone()
    assert x.addcmul_(tb, tc, value=value) is x
    np.testing.assert_allclose(x.numpy(), a + v * b * c, **tol)
    x = ta.clone()
    x.addcdiv_(tb, tc, value=value)
    np.testing.assert_array_equal(x.numpy(), a + v * b / c)


def test_addcmul_broadcasts_and_checks_inplace_shape():
    a = torch.zeros(4, 5)
    b = torch.arange(5.0)
    c = torch.full((4, 1), 2.0)
    np.testing.assert_array_equal(torch.addcmul(a, b, c).numpy(), np.broadcast_to(np.arange(5.0) * 2, (4, 5)))
    np.testing.assert_array_equal(torch.addcmul(torch.zeros(5), b, c, value=3).numpy(), np.broadcast_to(np.arange(5.0) * 6, (4, 5)))
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        torch.zeros(5).addcmul_(b, c)


def test_addcmul_inplace_with_aliased_operands():
    base = np.linspace(-2, 2, 50).astype(np.float32)
    x = torch.tensor(base)
    x.addcmul_(x, x, value=0.5)  # every operand is x itself
    np.testing.assert_allclose(x.numpy(), base + np.float32(0.5) * base * base, rtol=3e-7, atol=1e-7)
    x = torch.tensor(base)
    x.addcmul_(x.flip(0), x)  # an operand overlapping x in another order
    np.testing.assert_allclose(x.numpy(), base + base[::-1] * base, rtol=3e-7, atol=1e-7)
    y = torch.tensor(base.reshape(5, 10)).t()  # a non-contiguous destination
    y.addcdiv_(torch.ones(10, 5), torch.full((10, 5), 4.0), value=2)
    np.testing.assert_array_equal(y.numpy(), base.reshape(5, 10).T + np.float32(0.5))


def test_addcmul_keeps_other_dtypes_and_autograd():
    ai = torch.tensor([1, 2, 3])
    assert torch.addcmul(ai, ai, ai, value=2).tolist() == [3, 10, 21]
    a = torch.randn(6, requires_grad=True)
    b, c = torch.randn(6), torch.randn(6)
    out = torch.addcmul(a, b, c, value=0.5)
    assert out.grad_fn is not None
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.ones(6))
    with torch.no_grad():
        assert torch.addcdiv(a, b, c).grad_fn is None


def lerp_reference(s, e, w):
    """ATen's lerp, in float64: from the start below 0.5 in weight, back from the end otherwise."""
    s, e, w = (np.asarray(v, np.float64) for v in (s, e, w))
    return np.where(np.abs(w) < 0.5, s + w * (e - s), e - (e - s) * (1 - w))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lerp_matches_reference(dtype):
    g = np.random.default_rng(1)
    npdt = np.float32 if dtype == torch.float32 else np.float64
    s, e = (g.standard_normal(300).astype(npdt) for _ in range(2))
    w = np.concatenate([np.linspace(-1.5, 2.5, 280), [0.0, 1.0, 0.5, -0.5, 0.4999, 0.5001] * 3, [0.25, 0.75]]).astype(npdt)
    ts, te, tw = (torch.tensor(v, dtype=dtype) for v in (s, e, w))
    tol = dict(rtol=2e-7, atol=2e-7) if dtype == torch.float32 else dict(rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(torch.lerp(ts, te, tw).numpy(), lerp_reference(s, e, w), **tol)
    for weight in (0.0, 0.3, 0.5, 1.0, 1.7):
        got = torch.lerp(ts, te, weight).numpy()
        np.testing.assert_allclose(got, lerp_reference(s, e, np.full_like(s, weight)), **tol)
    # exact at both ends
    np.testing.assert_array_equal(torch.lerp(ts, te, 0.0).numpy(), s)
    np.testing.assert_array_equal(torch.lerp(ts, te, 1.0).numpy(), e)
    x = ts.clone()
    assert x.lerp_(te, 0.9) is x
    np.testing.assert_allclose(x.numpy(), lerp_reference(s, e, np.full_like(s, 0.9)), **tol)


def test_lerp_ema_inplace_and_grad_path():
    p = torch.zeros(3, 4)
    ema = torch.ones(3, 4)
    with torch.no_grad():
        ema.lerp_(p, 0.1)
    np.testing.assert_allclose(ema.numpy(), np.full((3, 4), 0.9), rtol=1e-7)
    a = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
    b = torch.tensor([4.0, 4.0, 4.0], requires_grad=True)
    w = torch.tensor([0.25, 0.5, 0.75], requires_grad=True)
    torch.lerp(a, b, w).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.75, 0.5, 0.25])
    np.testing.assert_allclose(b.grad.numpy(), [0.25, 0.5, 0.75])
    np.testing.assert_allclose(w.grad.numpy(), [4.0, 3.0, 2.0])
    with pytest.raises(RuntimeError, match="expected dtype"):
        torch.lerp(torch.zeros(2), torch.zeros(2, dtype=torch.float64), 0.5)


def test_optimizers_using_addcmul_and_lerp_still_step():
    # RMSprop (addcmul_), Adagrad (addcmul_), Adadelta (addcmul_): one step each against the
    # formulas written out
    for make, expect in [
        (lambda p: torch.optim.Adagrad([p], lr=0.1), lambda g: -0.1 * g / (np.sqrt(g * g) + 1e-10)),
        (lambda p: torch.optim.RMSprop([p], lr=0.01, alpha=0.9), lambda g: -0.01 * g / (np.sqrt(0.1 * g * g) + 1e-8)),
    ]:
        p = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
        opt = make(p)
        (p * p).sum().backward()
        g = 2 * np.array([1.0, -2.0, 3.0])
        opt.step()
        np.testing.assert_allclose(p.detach().numpy(), np.array([1.0, -2.0, 3.0]) + expect(g), rtol=1e-5)


# ---------------------------------------------------------------- float16 / bfloat16 arithmetic

SPECIALS = np.array([0.0, -0.0, 1.0, -1.0, 65504.0, 65520.0, 1e-7, -3e-8, 6e-5, np.inf, -np.inf, np.nan, 1e5], np.float32)


def half_values(n, seed):
    g = np.random.default_rng(seed)
    v = (g.standard_normal(n) * 3).astype(np.float32)
    v[: min(n, len(SPECIALS))] = SPECIALS[: min(n, len(SPECIALS))]
    return v


@pytest.mark.parametrize("n", [1, 15, 16, 17, 1023, 1024, 1025, 4097, 70000])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum", "add_alpha", "add_scalar", "rsub_scalar"])
def test_float16_arith_rounds_once_from_float32(n, op):
    with np.errstate(over="ignore"):
        a16 = half_values(n, 1).astype(np.float16)
        b16 = half_values(n, 2)[::-1].copy().astype(np.float16)
    a, b = a16.astype(np.float32), b16.astype(np.float32)
    ta, tb = torch.tensor(a16), torch.tensor(b16)
    assert ta.dtype == torch.float16
    with np.errstate(all="ignore"):
        got, want = {
            "add": (ta + tb, a + b), "sub": (ta - tb, a - b), "mul": (ta * tb, a * b), "div": (ta / tb, a / b),
            "maximum": (torch.maximum(ta, tb), np.maximum(a, b)), "minimum": (torch.minimum(ta, tb), np.minimum(a, b)),
            "add_alpha": (torch.add(ta, tb, alpha=0.3), a + np.float32(0.3) * b),
            # the number keeps float32 precision: 0.1 is not first rounded to float16
            "add_scalar": (ta + 0.1, a + np.float32(0.1)), "rsub_scalar": (2.5 - ta, np.float32(2.5) - a),
        }[op]
    assert got.dtype == torch.float16 and tuple(got.shape) == (n,)
    with np.errstate(over="ignore"):
        want = want.astype(np.float16)
    np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("n", [3, 4097, 70000])
def test_bfloat16_arith_rounds_once_from_float32(n):
    a = f32_bits_to_bf16_round(half_values(n, 3))
    b = f32_bits_to_bf16_round(half_values(n, 4)[::-1].copy())
    ta = torch.tensor(a).to(torch.bfloat16)
    tb = torch.tensor(b).to(torch.bfloat16)
    with np.errstate(all="ignore"):
        for got, want in [(ta + tb, a + b), (ta * tb, a * b), (ta / tb, a / b), (ta - 0.3 * 1, a - np.float32(0.3)),
                          (torch.maximum(ta, tb), np.maximum(a, b))]:
            assert got.dtype == torch.bfloat16
            np.testing.assert_array_equal(got.float().numpy(), f32_bits_to_bf16_round(want))


def test_half_arith_other_layouts_and_autograd():
    a = torch.randn(64, 33).half()
    b = torch.randn(33).half()
    ref = (a.float() + b.float()).half()
    np.testing.assert_array_equal((a + b).numpy(), ref.numpy())  # broadcast: the general path
    at = a.t()
    np.testing.assert_array_equal((at * at).numpy(), (at.float() * at.float()).half().numpy())
    x = torch.randn(10).half()
    x.add_(torch.ones(10).half())  # in place
    assert x.dtype == torch.float16
    w = torch.randn(8, dtype=torch.float16, requires_grad=True)
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.float().numpy(), 2 * w.detach().float().numpy(), rtol=1e-3)
    assert (torch.ones(4).half() + torch.ones(4, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 33, 100001])
def test_float16_conversions_round_to_nearest_even(n):
    v = half_values(n, 5) if n else np.zeros(0, np.float32)
    if n > 20:
        # values halfway between float16 neighbours round to even; subnormals too
        v[20:24] = [1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 2.0 ** -24 * 1.5, 2.0 ** -24 * 0.5]
    h = torch.tensor(v).half()
    with np.errstate(over="ignore"):  # 65520 and 1e5 overflow to inf, as they should
        want = v.astype(np.float16)
    np.testing.assert_array_equal(h.numpy().view(np.uint16), want.view(np.uint16))
    np.testing.assert_array_equal(h.float().numpy(), want.astype(np.float32))


# ---------------------------------------------------------------- sort / topk

def stable_order(x, descending):
    """The positions of x in a stable sort, NaN largest, -0.0 equal to 0.0."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        key = np.where(np.isnan(x), np.inf, x).astype(np.float64)
        nan_rank = np.isnan(x).astype(np.int8)
        keys = (-key, -nan_rank) if descending else (key, nan_rank)
        # lexsort: the last key is the primary one; position breaks the remaining ties
        return np.lexsort((np.arange(len(x)), keys[0], keys[1]))
    k = x.astype(np.int64)
    # ~k reverses the order of int64 without overflowing at -2**63
    return np.lexsort((np.arange(len(x)), ~k if descending else k))


def row_cases():
    g = np.random.default_rng(7)
    f = g.standard_normal(3000).astype(np.float32)
    f[::7] = np.round(f[::7])  # many ties
    f[5::97] = np.nan
    f[11::113] = -0.0
    f[13::127] = 0.0
    f[17::131] = np.inf
    f[19::137] = -np.inf
    return {
        "f32_long": f, "f32_short": f[:100], "f64": f.astype(np.float64),
        "f16": f.astype(np.float16), "i64": g.integers(-2**62, 2**62, 2000) // (2**55),
        "i64_extremes": np.array([2**63 - 1, -2**63, 0, -1, 1, 2**63 - 1, -2**63] * 50),
        "u8": g.integers(0, 256, 1000).astype(np.uint8), "bool": g.integers(0, 2, 600).astype(np.bool_),
        "i32": g.integers(-5, 5, 5000).astype(np.int32),
    }


@pytest.mark.parametrize("case", list(row_cases()))
@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_stable_nan_largest(case, descending):
    x = row_cases()[case]
    t = torch.tensor(x)
    vals, idx = torch.sort(t, descending=descending, stable=True)
    want = stable_order(x, descending)
    np.testing.assert_array_equal(idx.numpy(), want)
    got_v = vals.numpy() if t.dtype != torch.bfloat16 else vals.float().numpy()
    np.testing.assert_array_equal(got_v, x[want])


def test_sort_along_inner_and_outer_dims():
    g = np.random.default_rng(3)
    x = g.integers(0, 20, (6, 700)).astype(np.float32)
    t = torch.tensor(x)
    _, i1 = t.sort(dim=1)
    np.testing.assert_array_equal(i1.numpy(), np.stack([stable_order(r, False) for r in x]))
    _, i0 = t.sort(dim=0, descending=True)
    np.testing.assert_array_equal(i0.numpy(), np.stack([stable_order(c, True) for c in x.T]).T)


@pytest.mark.parametrize("case", ["f32_long", "f64", "f16", "i64", "i64_extremes", "u8", "i32"])
@pytest.mark.parametrize("k", [1, 3, 10, 64, 65, 200])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_is_the_stable_sorts_prefix(case, k, largest):
    x = row_cases()[case]
    t = torch.tensor(x)
    vals, idx = torch.topk(t, k, largest=largest)
    want = stable_order(x, largest)[:k]
    np.testing.assert_array_equal(idx.numpy(), want)
    np.testing.assert_array_equal(vals.numpy(), x[want])


def test_topk_rejects_bool():
    with pytest.raises(RuntimeError, match="topk does not support bool"):
        torch.tensor([True, False]).topk(1)


def test_topk_adversarial_orders_and_rows():
    up = torch.arange(5000.0)
    np.testing.assert_array_equal(up.topk(5).indices.numpy(), [4999, 4998, 4997, 4996, 4995])
    np.testing.assert_array_equal(up.topk(5, largest=False).indices.numpy(), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(up.flip(0).topk(3).indices.numpy(), [0, 1, 2])
    same = torch.zeros(1000)
    np.testing.assert_array_equal(same.topk(4).indices.numpy(), [0, 1, 2, 3])
    m = torch.tensor(np.random.default_rng(0).standard_normal((7, 300)).astype(np.float32))
    v, i = m.topk(4, dim=1)
    np.testing.assert_array_equal(i.numpy(), np.stack([stable_order(r, True)[:4] for r in m.numpy()]))
    v0, i0 = m.topk(2, dim=0, largest=False)
    assert tuple(v0.shape) == (2, 300)
    np.testing.assert_array_equal(i0.numpy(), np.stack([stable_order(c, False)[:2] for c in m.numpy().T]).T)


# ---------------------------------------------------------------- scatter_add_ / index_add_ in place

def test_scatter_add_inplace_accumulates_and_keeps_identity():
    g = np.random.default_rng(2)
    idx = g.integers(0, 50, 400)
    src = g.standard_normal(400).astype(np.float32)
    x = torch.zeros(50)
    before = x
    out = x.scatter_add_(0, torch.tensor(idx), torch.tensor(src))
    assert out is before
    want = np.zeros(50, np.float32)
    np.add.at(want, idx, src)
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-5, atol=1e-6)
    # 2-D, along dim 1, a src larger than the index, and a non-contiguous destination
    y = torch.zeros(8, 3).t()
    i2 = torch.tensor(g.integers(0, 8, (3, 5)))
    s2 = torch.ones(3, 6)
    y.scatter_add_(1, i2, s2)
    want2 = np.zeros((3, 8), np.float32)
    for r in range(3):
        np.add.at(want2[r], i2.numpy()[r], 1.0)
    np.testing.assert_array_equal(y.numpy(), want2)
    # a src sharing the destination's memory is PyTorch's error; disjoint parts are fine
    z = torch.arange(4.0)
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        z.scatter_add_(0, torch.tensor([3, 2, 1, 0]), z)
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        z[:3].scatter_add_(0, torch.tensor([1, 0]), z[1:3])
    z[:2].scatter_add_(0, torch.tensor([1, 0]), z[2:])
    np.testing.assert_array_equal(z.numpy(), [3.0, 3.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="out of bounds"):
        torch.zeros(3).scatter_add_(0, torch.tensor([3]), torch.ones(1))


def test_index_add_inplace_and_autograd_fallback():
    g = np.random.default_rng(4)
    idx = g.integers(0, 30, 200)
    src = g.standard_normal(200).astype(np.float32)
    x = torch.ones(30)
    assert x.index_add_(0, torch.tensor(idx), torch.tensor(src), alpha=2) is x
    want = np.ones(30, np.float32)
    np.add.at(want, idx, 2 * src)
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-5, atol=1e-5)
    m = torch.zeros(4, 5)
    m.index_add_(1, torch.tensor([0, 4, 0]), torch.ones(4, 3))
    np.testing.assert_array_equal(m.numpy()[0], [2, 0, 0, 0, 1])
    with pytest.raises(IndexError, match="index out of range"):
        torch.zeros(3).index_add_(0, torch.tensor([5]), torch.ones(1))
    z = torch.arange(4.0)
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        z.index_add_(0, torch.tensor([3, 2, 1, 0]), z)
    # a leaf that requires grad cannot be written in place; a non-leaf records the add
    w = torch.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.index_add_(0, torch.tensor([0]), torch.ones(1))
    h = w * 1
    s = torch.ones(2, requires_grad=True)
    h.index_add_(0, torch.tensor([0, 2]), s)
    h.sum().backward()
    np.testing.assert_array_equal(s.grad.numpy(), [1, 1])


# ---------------------------------------------------------------- 2-norm of float32

@pytest.mark.parametrize("n", [0, 1, 31, 32, 33, 1024, 1025, 100003])
def test_float32_norm_sums_squares_in_blocks(n):
    x = (np.random.default_rng(n).standard_normal(n) * 3).astype(np.float32)
    got = torch.tensor(x).norm().item()
    np.testing.assert_allclose(got, np.sqrt((x.astype(np.float64) ** 2).sum()), rtol=2e-7)
    rows = np.resize(x, (7, max(n, 1) // 7 + 1)).astype(np.float32)
    np.testing.assert_allclose(torch.tensor(rows).norm(dim=1).numpy(),
                               np.sqrt((rows.astype(np.float64) ** 2).sum(axis=1)), rtol=2e-7)


def test_float32_norm_overflow_and_underflow_as_pytorch():
    # squares are float32: one past 1.8e19 overflows (PyTorch: inf), 1e-30 squared underflows to 0
    for n in (2, 64):
        big = np.ones(n, np.float32)
        big[n // 2] = 3e19
        assert torch.tensor(big).norm().item() == np.inf
        assert torch.tensor(np.full(n, 1e-30, np.float32)).norm().item() == 0.0
    np.testing.assert_allclose(torch.tensor(np.full(40, 1e-20, np.float32)).norm().item(), 6.324538306814634e-20, rtol=1e-6)
    np.testing.assert_allclose(torch.tensor(np.full(4000, 1e-20, np.float32)).norm().item(), np.sqrt(4000) * 1e-20, rtol=1e-5)


# ---------------------------------------------------------------- float -> integer casts

CAST_IN = [1e20, float("nan"), -1e20, 3.7, -3.7, 300.0, -300.0, 70000.5, 2.5e9, -2.5e9, float("inf"), 255.9, 256.0, -1.0]
# recorded from PyTorch 2.13 (x86): out-of-range and NaN give the truncating conversion's
# "integer indefinite" value; types narrower than 32 bits wrap the 32-bit result
CAST_OUT = {
    torch.int64: [-9223372036854775808, -9223372036854775808, -9223372036854775808, 3, -3, 300, -300, 70000, 2500000000, -2500000000, -9223372036854775808, 255, 256, -1],
    torch.int32: [-2147483648, -2147483648, -2147483648, 3, -3, 300, -300, 70000, -2147483648, -2147483648, -2147483648, 255, 256, -1],
    torch.int16: [0, 0, 0, 3, -3, 300, -300, 4464, 0, 0, 0, 255, 256, -1],
    torch.int8: [0, 0, 0, 3, -3, 44, -44, 112, 0, 0, 0, -1, 0, -1],
    torch.uint8: [0, 0, 0, 3, 253, 44, 212, 112, 0, 0, 0, 255, 0, 255],
}


@pytest.mark.parametrize("src", [torch.float32, torch.float64])
@pytest.mark.parametrize("dst", list(CAST_OUT))
@pytest.mark.parametrize("reps", [1, 100])
def test_float_to_int_casts_as_pytorch_on_x86(src, dst, reps):
    t = torch.tensor(CAST_IN * reps, dtype=src)
    assert t.to(dst).tolist() == CAST_OUT[dst] * reps
    assert torch.tensor([True, False]).float().long().tolist() == [1, 0]
    assert torch.tensor([float("nan"), 0.0, -0.0]).bool().tolist() == [True, False, False]


# ---------------------------------------------------------------- max / argmax positions

@pytest.mark.parametrize("n", [1, 63, 64, 65, 1000, 100000])
def test_max_argmax_first_position(n):
    g = np.random.default_rng(n)
    x = g.integers(-50, 50, n).astype(np.float32)
    t = torch.tensor(x)
    assert t.max().item() == x.max() and t.min().item() == x.min()
    assert t.argmax().item() == int(np.argmax(x)) and t.argmin().item() == int(np.argmin(x))
    v, i = t.max(dim=0)
    assert i.item() == int(np.argmax(x))
    if n > 2:
        x[n // 2] = np.nan
        x[-1] = np.nan
        t = torch.tensor(x)
        assert np.isnan(t.max().item()) and t.argmax().item() == n // 2
    # (which zero PyTorch's max() returns among -0.0 and 0.0 depends on its reduction order;
    # only the value is compared)
    z = torch.tensor(np.array([-0.0, 0.0] * (n // 2 + 1), np.float32))
    assert z.max().item() == 0.0 and z.argmax().item() == 0


def test_lerp_recorded_form_is_atens():
    # with a gradient recorded, lerp is composed in ATen's form: lerp(inf, b, 0.5) is inf (the
    # start form gave inf - inf = nan), and no 0 * inf reaches the weight's gradient (PyTorch
    # 2.13's values)
    a = torch.tensor([1e30, -1.3157188, 1.8055893, float("inf")], requires_grad=True)
    b = torch.tensor([4.412251, 3.2452164, 0.16026126, -0.6768151], requires_grad=True)
    out = torch.lerp(a, b, 0.5)
    assert out.tolist()[3] == float("inf")
    with torch.no_grad():
        np.testing.assert_array_equal(out.detach().numpy(), torch.lerp(a, b, 0.5).numpy())
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5] * 4)
    a.grad = b.grad = None
    w = torch.tensor([0.2, 0.7, 0.5, 0.5], requires_grad=True)
    torch.lerp(a, b, w).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.8, 0.3, 0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), [0.2, 0.7, 0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), [-1e30, 4.5609352, -1.6453280, -np.inf], rtol=1e-6)


def test_empty_index_skips_the_index_checks():
    # PyTorch 2.13: an empty index is not checked for dtype, rank or sizes (the op is a no-op
    # for scatter, an empty result of the index's shape for gather); dim and src dtype still are
    x = torch.zeros(2, 2)
    assert tuple(torch.gather(x, 1, torch.empty(2, 0)).shape) == (2, 0)
    assert tuple(torch.gather(x, 1, torch.empty(0, dtype=torch.long)).shape) == (0,)
    assert tuple(torch.gather(x, 1, torch.empty(3, 0, dtype=torch.long)).shape) == (3, 0)
    for f in (lambda: x.clone().scatter_(1, torch.empty(2, 0), torch.ones(2, 2)),
              lambda: x.clone().scatter_(1, torch.empty(0, dtype=torch.long), torch.ones(2, 2)),
              lambda: x.clone().scatter_(0, torch.empty(3, 0, dtype=torch.long), torch.ones(2, 2)),
              lambda: x.clone().scatter_add(0, torch.empty(3, 0, dtype=torch.long), torch.ones(1, 0)),
              lambda: x.clone().scatter_add_(0, torch.empty(3, 0, dtype=torch.long), torch.ones(1, 0)),
              lambda: x.clone().scatter_(0, torch.empty(3, 0, dtype=torch.long), 1.0),
              lambda: x.clone().scatter_reduce(0, torch.empty(4, 0, dtype=torch.long), torch.ones(2, 2), "sum"),
              lambda: x.clone().scatter_reduce(0, torch.empty(4, 0, dtype=torch.long), torch.ones(2, 2), "amax")):
        out = f()
        assert tuple(out.shape) == (2, 2) and out.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.clone().scatter_(5, torch.empty(0, 0, dtype=torch.long), torch.ones(2, 2))
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        x.clone().scatter_(0, torch.empty(1, 0, dtype=torch.long), torch.ones(2, 2, dtype=torch.float64))
