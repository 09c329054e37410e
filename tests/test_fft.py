"""torch.fft: the 1-D, 2-D and n-D transforms (fft/ifft/rfft/irfft/hfft/ihfft and their 2/n
forms) with n/s/dim/norm, padding and trimming, dtype promotion, fftfreq/rfftfreq/fftshift/
ifftshift, gradients and errors.

Values are checked against NumPy's np.fft (an independent oracle) and against PyTorch 2.13's
recorded results and gradients (the `fft*` cases of tests/data/complex_cases.npz, written by
scripts/record_complex_cases.py and replayed with the harness of tests/test_complex.py);
gradients also against finite differences.
"""
import math

import numpy as np
import pytest

import ferrotorch as torch
from test_complex import CASES, ERRORS, _is_fft, assert_values, check_case, check_error

NORMS = [None, "backward", "ortho", "forward"]
NP_DT = {"complex64": np.complex64, "complex128": np.complex128, "float32": np.float32, "float64": np.float64}


def _tag(a):
    return "torch." + a.dtype.name


def _input(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(NP_DT[dtype])


def _want(np_fn, a, out_dtype, **kw):
    return np_fn(a.astype(np.complex128 if np.iscomplexobj(a) else np.float64), **kw).astype(out_dtype)


# ------------------------------------------------------------------------------------------------
# PyTorch-recorded values, gradients and errors
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n for n in CASES if _is_fft(n)])
def test_matches_pytorch(name):
    check_case(name)


@pytest.mark.parametrize("name", [n for n in ERRORS if _is_fft(n)])
def test_error_matches_pytorch(name):
    check_error(name)


# ------------------------------------------------------------------------------------------------
# 1-D transforms against NumPy
# ------------------------------------------------------------------------------------------------

ONE_D = {
    # name: (input kind, complex output?)
    "fft": ("complex", True), "ifft": ("complex", True), "rfft": ("real", True),
    "irfft": ("complex", False), "hfft": ("complex", False), "ihfft": ("real", True),
}


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("length", [5, 8])
@pytest.mark.parametrize("n", [None, 3, 11, 16])
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("fn", sorted(ONE_D))
def test_1d_vs_numpy(fn, norm, n, length, precision):
    kind, complex_out = ONE_D[fn]
    in_dt = {"complex": {"single": "complex64", "double": "complex128"}, "real": {"single": "float32", "double": "float64"}}[kind][precision]
    out_dt = ("complex64" if precision == "single" else "complex128") if complex_out else ("float32" if precision == "single" else "float64")
    a = _input((3, length), in_dt, seed=length)
    got = getattr(torch.fft, fn)(torch.from_numpy(a.copy()), n=n, norm=norm)
    assert str(got.dtype) == "torch." + out_dt
    want = _want(getattr(np.fft, fn), a, NP_DT[out_dt], n=n, norm=norm)
    assert tuple(got.shape) == want.shape
    assert_values(got.resolve_conj().numpy(), want, "torch." + out_dt)


@pytest.mark.parametrize("fn", sorted(ONE_D))
@pytest.mark.parametrize("dim", [0, 1, -2])
def test_1d_along_dim_vs_numpy(fn, dim):
    kind, _ = ONE_D[fn]
    a = _input((4, 6, 3), "complex128" if kind == "complex" else "float64", seed=1)
    got = getattr(torch.fft, fn)(torch.from_numpy(a.copy()), dim=dim)
    want = getattr(np.fft, fn)(a, axis=dim)
    assert_values(got.resolve_conj().numpy(), want, _tag(want))


@pytest.mark.parametrize("length", [1, 2, 3, 7, 97, 128, 1000, 1009])
def test_fft_lengths_including_primes(length):
    a = _input((2, length), "complex128", seed=length)
    assert_values(torch.fft.fft(torch.from_numpy(a.copy())).resolve_conj().numpy(), np.fft.fft(a), "torch.complex128")
    assert_values(torch.fft.ifft(torch.from_numpy(a.copy())).resolve_conj().numpy(), np.fft.ifft(a), "torch.complex128")
    b = a.astype(np.complex64)
    assert_values(torch.fft.fft(torch.from_numpy(b)).resolve_conj().numpy(), np.fft.fft(b.astype(np.complex128)).astype(np.complex64), "torch.complex64")


def test_large_batched_transforms_vs_numpy():
    # enough rows to take the multithreaded path
    a = _input((256, 96), "float64", seed=2)
    x = torch.from_numpy(a.copy())
    assert_values(torch.fft.rfft(x).resolve_conj().numpy(), np.fft.rfft(a), "torch.complex128")
    assert_values(torch.fft.fft(x, dim=0).resolve_conj().numpy(), np.fft.fft(a, axis=0), "torch.complex128")
    assert_values(torch.fft.irfft(torch.fft.rfft(x), n=96).resolve_conj().numpy(), a, "torch.float64")
    c = _input((300, 64), "complex64", seed=3)
    assert_values(torch.fft.ifft(torch.from_numpy(c)).resolve_conj().numpy(), np.fft.ifft(c.astype(np.complex128)).astype(np.complex64), "torch.complex64")


def test_noncontiguous_inputs():
    a = _input((6, 10), "complex128", seed=4)
    x = torch.from_numpy(a.copy())
    assert_values(torch.fft.fft(x[:, ::2]).resolve_conj().numpy(), np.fft.fft(a[:, ::2]), "torch.complex128")
    assert_values(torch.fft.fft(x.t()).resolve_conj().numpy(), np.fft.fft(a.T), "torch.complex128")
    assert_values(torch.fft.ifft(x[1:, 2:7], dim=0).resolve_conj().numpy(), np.fft.ifft(a[1:, 2:7], axis=0), "torch.complex128")
    r = torch.from_numpy(a.real.copy())
    assert_values(torch.fft.rfft(r.t(), dim=0).resolve_conj().numpy(), np.fft.rfft(a.real.T, axis=0), "torch.complex128")


def test_input_is_not_modified():
    a = _input((3, 8), "complex64", seed=5)
    x = torch.from_numpy(a.copy())
    for fn in (torch.fft.fft, torch.fft.ifft, torch.fft.irfft, torch.fft.hfft, torch.fft.fftn):
        fn(x)
    np.testing.assert_array_equal(x.resolve_conj().numpy(), a)


# ------------------------------------------------------------------------------------------------
# dtypes
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("in_dtype,c2c,r2c,c2r", [
    ("float32", "complex64", "complex64", None),
    ("float64", "complex128", "complex128", None),
    ("int64", "complex64", "complex64", None),
    ("int32", "complex64", "complex64", None),
    ("bool", "complex64", "complex64", None),
    ("complex64", "complex64", None, "float32"),
    ("complex128", "complex128", None, "float64"),
])
def test_output_dtypes(in_dtype, c2c, r2c, c2r):
    x = torch.ones(4, dtype=getattr(torch, in_dtype))
    for fn in (torch.fft.fft, torch.fft.ifft, torch.fft.fftn, torch.fft.ifftn):
        assert str(fn(x).dtype) == "torch." + c2c
    if r2c:
        for fn in (torch.fft.rfft, torch.fft.ihfft, torch.fft.rfftn, torch.fft.ihfftn):
            assert str(fn(x).dtype) == "torch." + r2c
        assert str(torch.fft.irfft(x).dtype) == "torch." + ("float64" if in_dtype == "float64" else "float32")
    if c2r:
        for fn in (torch.fft.irfft, torch.fft.hfft, torch.fft.irfftn, torch.fft.hfftn):
            assert str(fn(x).dtype) == "torch." + c2r


def test_integer_input_uses_default_dtype():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert torch.fft.fft(torch.arange(4)).dtype == torch.complex128
        assert torch.fft.rfft(torch.arange(4)).dtype == torch.complex128
        assert torch.fft.fft(torch.ones(4, dtype=torch.float32)).dtype == torch.complex64
    finally:
        torch.set_default_dtype(old)
    np.testing.assert_allclose(torch.fft.fft(torch.arange(4)).resolve_conj().numpy(), np.fft.fft(np.arange(4)), rtol=1e-6)


# ------------------------------------------------------------------------------------------------
# n-D transforms against NumPy
# ------------------------------------------------------------------------------------------------

ND_ARGS = [
    {}, {"s": (4, 5)}, {"s": (2, 3)}, {"dim": (0, 2)}, {"dim": (2, 0)}, {"s": (3,), "dim": (1,)},
    {"s": (5, 2, 7)}, {"dim": (-1,)}, {"s": (6,), "dim": (0,)}, {"dim": (1, 0, 2)},
]


def _np_axes(kw, ndim, two_d):
    s, dim = kw.get("s"), kw.get("dim")
    if dim is None:
        if two_d:
            dim = (-2, -1)
        elif s is not None:
            dim = tuple(range(ndim - len(s), ndim))
    return {"s": s, "axes": dim}


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("kw", ND_ARGS, ids=[str(k) for k in ND_ARGS])
@pytest.mark.parametrize("fn", ["fftn", "ifftn", "rfftn", "irfftn"])
def test_nd_vs_numpy(fn, kw, norm):
    real_in = fn == "rfftn"
    a = _input((3, 4, 5), "float64" if real_in else "complex128", seed=6)
    got = getattr(torch.fft, fn)(torch.from_numpy(a.copy()), norm=norm, **kw)
    want = getattr(np.fft, fn)(a, norm=norm, **_np_axes(kw, 3, False))
    assert tuple(got.shape) == want.shape
    assert_values(got.resolve_conj().numpy(), want, _tag(want))


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("kw", [{}, {"s": (3, 6)}, {"dim": (0, 2)}, {"s": (2, 2), "dim": (1, 0)}], ids=["default", "s", "dim", "s_dim"])
@pytest.mark.parametrize("fn", ["fft2", "ifft2", "rfft2", "irfft2"])
def test_2d_vs_numpy(fn, kw, norm):
    real_in = fn == "rfft2"
    a = _input((2, 4, 5), "float32" if real_in else "complex64", seed=7)
    got = getattr(torch.fft, fn)(torch.from_numpy(a.copy()), norm=norm, **kw)
    out_dt = np.float32 if fn == "irfft2" else np.complex64
    want = _want(getattr(np.fft, fn), a, out_dt, norm=norm, **_np_axes(kw, 3, True))
    assert tuple(got.shape) == want.shape
    assert_values(got.resolve_conj().numpy(), want, _tag(want))


def _hfftn_oracle(a, s, axes, norm):
    """hfftn(x) = n-D FFT of the Hermitian-extended spectrum whose half along the last axis is x:
    the forward transform on all axes but the last, then NumPy's 1-D hfft on the last."""
    axes = list(range(a.ndim)) if axes is None else list(axes)
    s = [None] * len(axes) if s is None else list(s)
    for n, ax in zip(s[:-1], axes[:-1]):
        a = np.fft.fft(a, n=n, axis=ax, norm=norm)
    return np.fft.hfft(a, n=s[-1], axis=axes[-1], norm=norm)


def _ihfftn_oracle(a, s, axes, norm):
    axes = list(range(a.ndim)) if axes is None else list(axes)
    s = [None] * len(axes) if s is None else list(s)
    a = np.fft.ihfft(a, n=s[-1], axis=axes[-1], norm=norm)
    for n, ax in zip(s[:-1], axes[:-1]):
        a = np.fft.ifft(a, n=n, axis=ax, norm=norm)
    return a


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("s,dim", [(None, None), ((3, 6), None), (None, (0, 2)), ((4, 5), (2, 0)), ((2, 3, 4), None)])
def test_hfftn_ihfftn_vs_numpy(s, dim, norm):
    a = _input((3, 4, 5), "complex128", seed=8)
    got = torch.fft.hfftn(torch.from_numpy(a.copy()), s=s, dim=dim, norm=norm)
    axes = dim if dim is not None else (None if s is None else tuple(range(3 - len(s), 3)))
    want = _hfftn_oracle(a, s, axes, norm)
    assert got.dtype == torch.float64 and tuple(got.shape) == want.shape
    assert_values(got.resolve_conj().numpy(), want, "torch.float64")
    r = a.real.copy()
    got = torch.fft.ihfftn(torch.from_numpy(r), s=s, dim=dim, norm=norm)
    want = _ihfftn_oracle(r, s, axes, norm)
    assert got.dtype == torch.complex128 and tuple(got.shape) == want.shape
    assert_values(got.resolve_conj().numpy(), want, "torch.complex128")


def test_hfft2_ihfft2_defaults():
    a = _input((2, 3, 4), "complex128", seed=9)
    assert_values(torch.fft.hfft2(torch.from_numpy(a.copy())).resolve_conj().numpy(), _hfftn_oracle(a, None, (1, 2), None), "torch.float64")
    r = a.real.copy()
    assert_values(torch.fft.ihfft2(torch.from_numpy(r), norm="ortho").resolve_conj().numpy(), _ihfftn_oracle(r, None, (1, 2), "ortho"), "torch.complex128")


def test_round_trips():
    a = _input((4, 9), "float64", seed=10)
    x = torch.from_numpy(a.copy())
    assert_values(torch.fft.irfft(torch.fft.rfft(x), n=9).resolve_conj().numpy(), a, "torch.float64")
    assert_values(torch.fft.ifft(torch.fft.fft(x)).real.resolve_conj().numpy(), a, "torch.float64")
    assert_values(torch.fft.irfftn(torch.fft.rfftn(x), s=(4, 9)).resolve_conj().numpy(), a, "torch.float64")
    assert_values(torch.fft.hfft(torch.fft.ihfft(x), n=9).resolve_conj().numpy(), a, "torch.float64")
    for norm in NORMS:
        assert_values(torch.fft.ifftn(torch.fft.fftn(x, norm=norm), norm=norm).real.resolve_conj().numpy(), a, "torch.float64")


def test_parseval_with_ortho():
    a = _input((1000,), "complex128", seed=11)
    X = torch.fft.fft(torch.from_numpy(a.copy()), norm="ortho")
    assert math.isclose((X.abs() ** 2).sum().item(), float((np.abs(a) ** 2).sum()), rel_tol=1e-12)


# ------------------------------------------------------------------------------------------------
# helpers: fftfreq, rfftfreq, fftshift, ifftshift
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 5, 8, 11])
@pytest.mark.parametrize("d", [1.0, 0.1, 2.5])
def test_fftfreq_vs_numpy(n, d):
    got = torch.fft.fftfreq(n, d)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.resolve_conj().numpy(), np.fft.fftfreq(n, d), rtol=1e-6)
    got = torch.fft.rfftfreq(n, d=d, dtype=torch.float64)
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.resolve_conj().numpy(), np.fft.rfftfreq(n, d), rtol=1e-14)


def test_fftfreq_options():
    assert torch.fft.fftfreq(0).numel() == 0
    assert torch.fft.fftfreq(4, requires_grad=True).requires_grad
    out = torch.empty(3)
    r = torch.fft.rfftfreq(4, out=out)
    assert r is out and out.tolist() == [0.0, 0.25, 0.5]


@pytest.mark.parametrize("shape", [(7,), (6,), (3, 4), (5, 2, 3)])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, -1)])
def test_fftshift_vs_numpy(shape, dim):
    a = np.arange(int(np.prod(shape))).reshape(shape)
    x = torch.from_numpy(a.copy())
    np.testing.assert_array_equal(torch.fft.fftshift(x, dim=dim).resolve_conj().numpy(), np.fft.fftshift(a, axes=dim))
    np.testing.assert_array_equal(torch.fft.ifftshift(x, dim=dim).resolve_conj().numpy(), np.fft.ifftshift(a, axes=dim))
    np.testing.assert_array_equal(torch.fft.ifftshift(torch.fft.fftshift(x, dim=dim), dim=dim).resolve_conj().numpy(), a)


def test_fftshift_of_complex_and_frequencies():
    z = torch.fft.fft(torch.arange(5.0))
    np.testing.assert_allclose(torch.fft.fftshift(z).resolve_conj().numpy(), np.fft.fftshift(np.fft.fft(np.arange(5.0))), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(torch.fft.fftshift(torch.fft.fftfreq(6)).resolve_conj().numpy(), np.fft.fftshift(np.fft.fftfreq(6)), rtol=1e-7)


# ------------------------------------------------------------------------------------------------
# gradients against finite differences (float64 / complex128)
# ------------------------------------------------------------------------------------------------

def _fd(f, a, eps=1e-6):
    g = np.zeros_like(a)
    units = (1.0, 1j) if np.iscomplexobj(a) else (1.0,)
    for idx in np.ndindex(a.shape):
        for u in units:
            p, m = a.copy(), a.copy()
            p[idx] += eps * u
            m[idx] -= eps * u
            g[idx] += (f(p) - f(m)) / (2 * eps) * u
    return g


GRAD_CASES = {
    # name: (input kind, torch fn, numpy fn) ; the loss weights the output by fixed cosines
    "fft": ("complex", lambda x: torch.fft.fft(x, n=7), lambda a: np.fft.fft(a, n=7)),
    "ifft_ortho_trim": ("complex", lambda x: torch.fft.ifft(x, n=4, norm="ortho"), lambda a: np.fft.ifft(a, n=4, norm="ortho")),
    "rfft": ("real", lambda x: torch.fft.rfft(x), lambda a: np.fft.rfft(a)),
    "rfft_pad_forward": ("real", lambda x: torch.fft.rfft(x, n=9, norm="forward"), lambda a: np.fft.rfft(a, n=9, norm="forward")),
    "irfft": ("complex", lambda x: torch.fft.irfft(x), lambda a: np.fft.irfft(a)),
    "irfft_odd": ("complex", lambda x: torch.fft.irfft(x, n=7), lambda a: np.fft.irfft(a, n=7)),
    "irfft_trim_ortho": ("complex", lambda x: torch.fft.irfft(x, n=5, norm="ortho"), lambda a: np.fft.irfft(a, n=5, norm="ortho")),
    "hfft": ("complex", lambda x: torch.fft.hfft(x), lambda a: np.fft.hfft(a)),
    "hfft_odd_forward": ("complex", lambda x: torch.fft.hfft(x, n=9, norm="forward"), lambda a: np.fft.hfft(a, n=9, norm="forward")),
    "ihfft": ("real", lambda x: torch.fft.ihfft(x), lambda a: np.fft.ihfft(a)),
    "fftn": ("complex", lambda x: torch.fft.fftn(x.reshape(2, 3), s=(3, 4)), lambda a: np.fft.fftn(a.reshape(2, 3), s=(3, 4), axes=(0, 1))),
    "rfft2": ("real", lambda x: torch.fft.rfft2(x.reshape(2, 3)), lambda a: np.fft.rfft2(a.reshape(2, 3))),
    "irfftn": ("complex", lambda x: torch.fft.irfftn(x.reshape(2, 3), s=(2, 5)), lambda a: np.fft.irfftn(a.reshape(2, 3), s=(2, 5), axes=(0, 1))),
    "hfftn": ("complex", lambda x: torch.fft.hfftn(x.reshape(2, 3)), lambda a: _hfftn_oracle(a.reshape(2, 3), None, None, None)),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradient_vs_finite_differences(name):
    kind, f_t, f_np = GRAD_CASES[name]
    a = _input((6,), "complex128" if kind == "complex" else "float64", seed=12)

    def weights(shape):
        return np.cos(np.arange(int(np.prod(shape)), dtype=np.float64)).reshape(shape) + 0.5j * np.sin(np.arange(int(np.prod(shape))) + 1).reshape(shape)

    def loss_np(v):
        y = f_np(v)
        return float((y * weights(y.shape)).real.sum())

    x = torch.from_numpy(a.copy()).requires_grad_(True)
    y = f_t(x)
    w = weights(tuple(y.shape))
    wt = torch.from_numpy(w if y.is_complex() else w.real.copy())
    loss = (y * wt).real.sum() if y.is_complex() else (y * wt).sum()
    assert math.isclose(loss.item(), loss_np(a), rel_tol=1e-10, abs_tol=1e-10)
    loss.backward()
    assert x.grad.dtype == x.dtype
    np.testing.assert_allclose(x.grad.resolve_conj().numpy(), _fd(loss_np, a), rtol=1e-6, atol=1e-8)


def test_gradient_of_spectral_filter():
    # a real signal filtered in the frequency domain: y = irfft(rfft(x) * h); dL/dx = irfft(rfft(g) * conj(h))-ish
    rng = np.random.default_rng(13)
    a = rng.standard_normal(16)
    h = rng.standard_normal(9) + 1j * rng.standard_normal(9)
    x = torch.from_numpy(a.copy()).requires_grad_(True)
    H = torch.from_numpy(h.copy()).requires_grad_(True)
    y = torch.fft.irfft(torch.fft.rfft(x) * H, n=16)

    def loss(av, hv):
        return float((np.fft.irfft(np.fft.rfft(av) * hv, n=16) ** 2).sum())
    np.testing.assert_allclose(y.detach().resolve_conj().numpy(), np.fft.irfft(np.fft.rfft(a) * h, n=16), rtol=1e-12, atol=1e-12)
    (y ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.resolve_conj().numpy(), _fd(lambda v: loss(v, h), a), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H.grad.resolve_conj().numpy(), _fd(lambda v: loss(a, v), h), rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call,exc,msg", [
    (lambda: torch.fft.fft(torch.ones(4), n=0), RuntimeError, "Invalid number of data points (0) specified"),
    (lambda: torch.fft.rfft(torch.ones(4), n=-2), RuntimeError, "Invalid number of data points (-2) specified"),
    (lambda: torch.fft.irfft(torch.ones(1, dtype=torch.complex64)), RuntimeError, "Invalid number of data points (0) specified"),
    (lambda: torch.fft.rfft(torch.ones(4, dtype=torch.complex64)), RuntimeError, "rfft expects a real input tensor, but got ComplexFloat"),
    (lambda: torch.fft.ihfft(torch.ones(4, dtype=torch.complex128)), RuntimeError, "ihfft expects a real input tensor, but got ComplexDouble"),
    (lambda: torch.fft.fft(torch.ones(4), norm="bad"), RuntimeError, 'Invalid normalization mode: "bad"'),
    (lambda: torch.fft.irfftn(torch.ones(2, 2, dtype=torch.complex64), norm="ORTHO"), RuntimeError, 'Invalid normalization mode: "ORTHO"'),
    (lambda: torch.fft.fft(torch.tensor(1.0)), IndexError, "Dimension specified as -1 but tensor has no dimensions"),
    (lambda: torch.fft.fft(torch.ones(4), dim=1), IndexError, "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    (lambda: torch.fft.fftn(torch.ones(2, 2), dim=(0, 0)), RuntimeError, "FFT dims must be unique"),
    (lambda: torch.fft.fftn(torch.ones(2, 2), s=(2,), dim=(0, 1)), RuntimeError, "When given, dim and shape arguments must have the same length"),
    (lambda: torch.fft.rfftn(torch.ones(2, 2), dim=()), RuntimeError, "rfftn must transform at least one axis"),
    (lambda: torch.fft.fft(torch.ones(2, dtype=torch.float16)), RuntimeError, "Unsupported dtype Half"),
], ids=["n0", "n_negative", "irfft_n0", "rfft_complex", "ihfft_complex", "bad_norm", "bad_norm_case", "0d", "dim_range",
        "dup_dims", "s_dim_len", "no_dims", "half"])
def test_errors(call, exc, msg):
    with pytest.raises(exc) as info:
        call()
    assert type(info.value) is exc
    assert str(info.value).split("\n")[0] == msg


def test_out_argument():
    out = torch.empty(0, dtype=torch.complex64)
    r = torch.fft.fft(torch.arange(4.0), out=out)
    assert r is out and tuple(out.shape) == (4,)
    np.testing.assert_allclose(out.resolve_conj().numpy(), np.fft.fft(np.arange(4.0)), rtol=1e-6)
    with pytest.raises(RuntimeError, match="fft expects a complex output tensor, but got Float"):
        torch.fft.fft(torch.arange(4.0), out=torch.empty(4))
    with pytest.raises(RuntimeError, match="irfft expects a floating point output tensor, but got ComplexFloat"):
        torch.fft.irfft(torch.ones(3, dtype=torch.complex64), out=torch.empty(4, dtype=torch.complex64))
