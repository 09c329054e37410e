"""Prints the recorded-value block of tests/test_special.py: PyTorch 2.13 outputs and mpmath
references. Run with real PyTorch and mpmath installed (not part of the test suite)."""
import math, torch, mpmath as mp
mp.mp.dps = 50
S = torch.special
inf, nan = math.inf, math.nan
M = mp.mpf

def ref(fn, *a):
    try:
        v = fn(*[M(x) for x in a])
        if isinstance(v, mp.mpc):
            return None
        v = float(v)
        return v
    except Exception:
        return None

UN = {
 "erfcx": ([-26, -5, -1, -0.5, 0, 1e-8, 0.5, 1, 3, 11.9, 12.1, 30, 1e3, inf, -inf, nan], lambda x: mp.exp(x*x)*mp.erfc(x)),
 "ndtr": ([-8, -3, -1, 0, 0.5, 2, 8, inf, -inf, nan], lambda x: mp.ncdf(x)),
 "log_ndtr": ([-300, -40, -5, -1, 0, 1, 5, 10, inf, -inf, nan], lambda x: mp.log(mp.ncdf(x))),
 "ndtri": ([0, 1e-300, 1e-20, 1e-5, 0.025, 0.3, 0.5, 0.8, 0.975, 1 - 1e-10, 1, -0.5, 1.5, nan], None),
 "logit": ([0, 0.1, 0.5, 0.9, 1, -0.5, 1.5, nan], lambda x: mp.log(x/(1-x))),
 "sinc": ([-2.5, -1, -0.3, 0, 1e-10, 0.5, 1, 2, 7.25, inf, nan], lambda x: mp.sinpi(x)/(mp.pi*x) if x else 1),
 "entr": ([-1, 0, 1e-10, 0.5, 1, 2, 100, inf, nan], lambda x: -x*mp.log(x) if x > 0 else None),
 "expit": ([-800, -5, 0, 0.5, 40, inf, nan], lambda x: 1/(1+mp.exp(-x))),
 "i0": ([-800, -50, -31, -29, -5, -1, 0, 1e-6, 0.5, 3, 30.5, 100, 700, inf, -inf, nan], lambda x: mp.besseli(0, x)),
 "i0e": ([-800, -50, -31, -29, -5, -1, 0, 1e-6, 0.5, 3, 30.5, 100, 700, 1e5, inf, -inf, nan], lambda x: mp.besseli(0, x)*mp.exp(-abs(x))),
 "i1": ([-800, -50, -31, -29, -5, -1, 0, 1e-6, 0.5, 3, 30.5, 100, 700, inf, -inf, nan], lambda x: mp.besseli(1, x)),
 "i1e": ([-800, -50, -31, -29, -5, -1, 0, 1e-6, 0.5, 3, 30.5, 100, 700, 1e5, inf, -inf, nan], lambda x: mp.besseli(1, x)*mp.exp(-abs(x))),
 "modified_bessel_i0": ([-50, -1, 0, 0.5, 3, 30.5, 100, nan], lambda x: mp.besseli(0, x)),
 "modified_bessel_i1": ([-50, -1, 0, 0.5, 3, 30.5, 100, nan], lambda x: mp.besseli(1, x)),
 "modified_bessel_k0": ([0, 1e-8, 0.1, 1, 1.99, 2.01, 5, 25, 100, 700, inf, -1, nan], lambda x: mp.besselk(0, x) if x > 0 else None),
 "modified_bessel_k1": ([0, 1e-8, 0.1, 1, 1.99, 2.01, 5, 25, 100, 700, inf, -1, nan], lambda x: mp.besselk(1, x) if x > 0 else None),
 "scaled_modified_bessel_k0": ([0, 1e-8, 0.1, 1, 1.99, 2.01, 5, 25, 100, 700, 1e6, inf, -1, nan], lambda x: mp.besselk(0, x)*mp.exp(x) if x > 0 else None),
 "scaled_modified_bessel_k1": ([0, 1e-8, 0.1, 1, 1.99, 2.01, 5, 25, 100, 700, 1e6, inf, -1, nan], lambda x: mp.besselk(1, x)*mp.exp(x) if x > 0 else None),
 "bessel_j0": ([-30, -4, 0, 1e-5, 1, 2.404825557695773, 3.9, 4.1, 10, 24.9, 25.1, 60, 1e3, inf, -inf, nan], lambda x: mp.besselj(0, x)),
 "bessel_j1": ([-30, -4, 0, 1e-5, 1, 3.8317059702075125, 3.9, 4.1, 10, 24.9, 25.1, 60, 1e3, inf, -inf, nan], lambda x: mp.besselj(1, x)),
 "bessel_y0": ([0, 1e-10, 0.5, 0.8935769662791675, 1, 3.9, 4.1, 10, 24.9, 25.1, 60, 1e3, inf, -1, nan], lambda x: mp.bessely(0, x) if x > 0 else None),
 "bessel_y1": ([0, 1e-10, 0.5, 1, 2.197141326031017, 3.9, 4.1, 10, 24.9, 25.1, 60, 1e3, inf, -1, nan], lambda x: mp.bessely(1, x) if x > 0 else None),
 "spherical_bessel_j0": ([-10, -1, 0, 1e-6, 0.5, 3.14, 100, inf, -inf, nan], lambda x: mp.sin(x)/x if x else 1),
 "airy_ai": ([-200, -20, -10.6, -10.4, -3.3, -1, 0, 0.5, 1.4, 1.6, 5, 20, 100, inf, -inf, nan], lambda x: mp.airyai(x)),
}

def ndtri_ref(p):
    if not (0 < p < 1):
        return None
    return float(mp.findroot(lambda z: mp.ncdf(z) - p, float(S.ndtri(torch.tensor(p, dtype=torch.float64)))))

BIN = {
 "zeta": ([2, 3, 1, 0.5, 1.5, 10, 50, inf, inf, inf, nan, 2, 2, 3, 4.5, 2, 7], [1, 2, 3, 1, 0.5, 0.1, 2, 0.5, 1, 2, 1, -1, -1.5, -2.5, -0.5, inf, 1e3],
          lambda s, q: mp.zeta(s, q) if s > 1 and q > 0 else None),
 "gammainc": ([0.5, 1, 2, 5, 10, 100, 0, 0, 1, -1, 1, 3, inf, 2, 30, 0.1, 150, nan], [0.5, 2, 1, 20, 9, 110, 1, 0, 0, 1, -1, inf, 3, 1e-10, 31, 1e-5, 140, 1],
              lambda a, x: mp.gammainc(a, 0, x, regularized=True) if a > 0 and x > 0 and mp.isfinite(a) and mp.isfinite(x) else None),
 "gammaincc": ([0.5, 1, 2, 5, 10, 100, 0, 0, 1, -1, 1, 3, inf, 2, 30, 0.1, 150, nan], [0.5, 2, 1, 20, 9, 110, 1, 0, 0, 1, -1, inf, 3, 1e-10, 31, 1e-5, 140, 1],
               lambda a, x: mp.gammainc(a, x, mp.inf, regularized=True) if a > 0 and x > 0 and mp.isfinite(a) and mp.isfinite(x) else None),
 "xlog1py": ([0, 1, 2, -1, 0, 3, 0, 2, 0], [1, 2, -1, 0.5, nan, 0, -1, -0.5, inf], None),
 "xlogy": ([0, 1, 2, -1, 0, 3, 0], [1, 2, -1, 0.5, nan, 0, 0], None),
}

def fl(v):
    return "math.nan" if isinstance(v, float) and math.isnan(v) else ("math.inf" if v == inf else ("-math.inf" if v == -inf else repr(float(v))))

def lst(vs):
    return "[" + ", ".join(fl(v) if v is not None else "None" for v in vs) + "]"

out = []
out.append("UNARY = {")
for name, (xs, fn) in UN.items():
    t = getattr(S, name)(torch.tensor(xs, dtype=torch.float64)).tolist()
    if name == "ndtri":
        r = [ndtri_ref(x) for x in xs]
    else:
        r = [ref(fn, x) if math.isfinite(x) else None for x in xs]
    if name == "logit":
        r = [ref(fn, x) if 0 < x < 1 else None for x in xs]
    out.append(f"    {name!r}: ({lst(xs)},\n        {lst(t)},\n        {lst(r)}),")
out.append("}")
out.append("BINARY = {")
for name, (a, b, fn) in BIN.items():
    t = getattr(S, name)(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)).tolist()
    r = [ref(fn, x, y) if fn and math.isfinite(x) and math.isfinite(y) else None for x, y in zip(a, b)]
    out.append(f"    {name!r}: ({lst(a)}, {lst(b)},\n        {lst(t)},\n        {lst(r)}),")
out.append("}")
# polygamma
out.append("POLYGAMMA = {")
px = [0.5, 1, 2.5, 10, -0.5, -1.5, 1e-3, 100, 0, -1, inf, nan]
for n in (1, 2, 3):
    t = S.polygamma(n, torch.tensor(px, dtype=torch.float64)).tolist()
    r = [ref(lambda x: mp.psi(n, x), x) if math.isfinite(x) and not (x <= 0 and x == int(x)) else None for x in px]
    out.append(f"    {n}: ({lst(px)},\n        {lst(t)},\n        {lst(r)}),")
out.append("}")
mg = [2.5, 3, 10.5, 1.25]
out.append(f"MULTIGAMMALN = ({lst(mg)}, {lst(S.multigammaln(torch.tensor(mg, dtype=torch.float64), 3).tolist())}, {lst(S.multigammaln(torch.tensor(mg, dtype=torch.float64), 1).tolist())})")
# polynomials
PX = [-1.0, -0.5, 0.0, 0.3, 1.0, 2.0, 0.99, -0.7, 1.5]
out.append("POLY_X = " + lst(PX))
out.append("POLYS = {")
for f in ['chebyshev_polynomial_t', 'chebyshev_polynomial_u', 'chebyshev_polynomial_v', 'chebyshev_polynomial_w',
          'shifted_chebyshev_polynomial_t', 'shifted_chebyshev_polynomial_u', 'shifted_chebyshev_polynomial_v', 'shifted_chebyshev_polynomial_w',
          'hermite_polynomial_h', 'hermite_polynomial_he', 'laguerre_polynomial_l', 'legendre_polynomial_p']:
    rows = []
    for n in [-1, 0, 1, 2, 3, 5, 7, 8, 12]:
        rows.append(f"{n}: {lst(getattr(S, f)(torch.tensor(PX, dtype=torch.float64), n).tolist())}")
    out.append(f"    {f!r}: {{" + ",\n        ".join(rows) + "},")
out.append("}")
# gradients
G = {}
gx = [-3.0, -0.5, 0.2, 1.5, 5.0, 40.0]
for name, xs in [("erfcx", gx), ("ndtr", gx), ("log_ndtr", gx + [-40.0]), ("ndtri", [0.01, 0.3, 0.5, 0.9]), ("logit", [0.1, 0.5, 0.8]),
                 ("sinc", gx + [0.0]), ("entr", [0.5, 2.0]), ("i0", gx + [0.0]), ("i0e", gx + [0.0]), ("i1", gx + [0.0]), ("i1e", gx + [0.0]),
                 ("expit", gx), ("gammaln", [0.5, 2.0, 7.0]), ("digamma", [0.5, 2.0, 7.0]), ("erfinv", [-0.5, 0.2])]:
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    getattr(S, name)(x).sum().backward()
    G[name] = (xs, x.grad.tolist())
out.append("GRADS = {")
for k, (xs, gr) in G.items():
    out.append(f"    {k!r}: ({lst(xs)}, {lst(gr)}),")
out.append("}")
# polygamma, zeta(q), gammainc(x), xlog1py, multigammaln grads
x = torch.tensor([0.5, 2.0, 7.0], dtype=torch.float64, requires_grad=True)
S.polygamma(2, x).sum().backward(); pg = x.grad.tolist(); x.grad = None
S.zeta(torch.tensor([2.0, 3.0, 4.5], dtype=torch.float64), x).sum().backward(); zg = x.grad.tolist(); x.grad = None
S.gammainc(torch.tensor([2.0, 3.0, 4.5], dtype=torch.float64), x).sum().backward(); gg = x.grad.tolist(); x.grad = None
S.multigammaln(x + 2, 3).sum().backward(); mg_ = x.grad.tolist(); x.grad = None
xx = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64, requires_grad=True); yy = torch.tensor([1.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
S.xlog1py(xx, yy).sum().backward()
out.append(f"GRAD_POLYGAMMA2 = {lst(pg)}\nGRAD_ZETA_Q = {lst(zg)}\nGRAD_GAMMAINC_X = {lst(gg)}\nGRAD_MULTIGAMMALN = {lst(mg_)}")
out.append(f"GRAD_XLOG1PY = ({lst(xx.grad.tolist())}, {lst(yy.grad.tolist())})")
# float32
F32X = [-20.0, -3.0, -0.5, 0.0, 0.2, 1.5, 5.0, 20.0, 90.0]
out.append("F32_X = " + lst(F32X))
out.append("F32 = {")
for f in ['erfcx', 'ndtr', 'log_ndtr', 'i0', 'i0e', 'i1', 'i1e', 'sinc', 'entr', 'spherical_bessel_j0', 'bessel_j0', 'bessel_j1', 'airy_ai', 'bessel_y0', 'modified_bessel_k1', 'scaled_modified_bessel_k0']:
    out.append(f"    {f!r}: {lst(getattr(S, f)(torch.tensor(F32X, dtype=torch.float32)).tolist())},")
out.append("}")
print("\n".join(out))
