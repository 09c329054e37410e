"""Tests for ferrotorch.nn.functional against independent NumPy reference implementations,
hand-computed loss values and finite-difference gradients."""
import itertools
import math
import os

import numpy as np
import pytest

import ferrotorch as torch
import ferrotorch.nn.functional as F

# Set FT_FORWARD_ONLY=1 to skip the autograd checks (e.g. against a forward-only build).
FORWARD_ONLY = os.environ.get("FT_FORWARD_ONLY") == "1"
needs_grad = pytest.mark.skipif(FORWARD_ONLY, reason="autograd checks disabled")

RNG = np.random.default_rng(1234)


def T(a, dtype=None, grad=False):
    t = torch.tensor(np.asarray(a))
    if dtype is not None:
        t = t.to(dtype)
    if grad:
        t.requires_grad_(True)
    return t


def N(t):
    if isinstance(t, np.ndarray):
        return t
    return np.asarray(t.detach().numpy())


def rnd(*shape, dtype=np.float64, lo=-1.0, hi=1.0):
    return RNG.uniform(lo, hi, size=shape).astype(dtype)


def close(t, ref, rtol=1e-6, atol=1e-7):
    got = N(t)
    ref = np.asarray(ref)
    assert got.shape == ref.shape, f"shape {got.shape} != {ref.shape}"
    np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=rtol, atol=atol)


def fd_check(fn, arrays, rtol=1e-4, atol=1e-6, eps=1e-6, which=None):
    """Compare autograd gradients of sum(fn(*inputs) * r) with central finite differences (float64)."""
    if FORWARD_ONLY:
        return
    which = list(range(len(arrays))) if which is None else which
    ins = [T(a, grad=(i in which)) for i, a in enumerate(arrays)]
    out = fn(*ins)
    r = RNG.standard_normal(tuple(out.shape))
    out.backward(T(r))
    for i in which:
        g = N(ins[i].grad) if ins[i].grad is not None else np.zeros_like(arrays[i])
        num = np.zeros_like(arrays[i], dtype=np.float64)
        flat = arrays[i].reshape(-1)
        for j in range(flat.size):
            vals = []
            for sgn in (1, -1):
                a2 = [a.copy() for a in arrays]
                a2[i].reshape(-1)[j] = flat[j] + sgn * eps
                with torch.no_grad():
                    o = fn(*[T(a) for a in a2])
                vals.append(float((N(o) * r).sum()))
            num.reshape(-1)[j] = (vals[0] - vals[1]) / (2 * eps)
        np.testing.assert_allclose(g, num, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")


# ---------------------------------------------------------------------------
# NumPy references
# ---------------------------------------------------------------------------

def conv_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    nd = x.ndim - 2
    st = (stride,) * nd if isinstance(stride, int) else tuple(stride)
    dl = (dilation,) * nd if isinstance(dilation, int) else tuple(dilation)
    if isinstance(padding, str):
        ks = w.shape[2:]
        if padding == "valid":
            pads = [(0, 0)] * nd
        else:
            pads = []
            for d, k in zip(dl, ks):
                tot = d * (k - 1)
                pads.append((tot // 2, tot - tot // 2))
    else:
        p = (padding,) * nd if isinstance(padding, int) else tuple(padding)
        pads = [(v, v) for v in p]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    Nn, C = x.shape[:2]
    O = w.shape[0]
    ks = w.shape[2:]
    outs = [(xp.shape[2 + i] - dl[i] * (ks[i] - 1) - 1) // st[i] + 1 for i in range(nd)]
    out = np.zeros((Nn, O, *outs))
    Cg, Og = C // groups, O // groups
    for g in range(groups):
        for koff in itertools.product(*[range(k) for k in ks]):
            sl = tuple(slice(koff[i] * dl[i], koff[i] * dl[i] + (outs[i] - 1) * st[i] + 1, st[i]) for i in range(nd))
            patch = xp[(slice(None), slice(g * Cg, (g + 1) * Cg)) + sl]  # [N, Cg, *outs]
            wk = w[(slice(g * Og, (g + 1) * Og), slice(None)) + tuple(koff)]  # [Og, Cg]
            out[:, g * Og:(g + 1) * Og] += np.einsum("nc...,oc->no...", patch, wk)
    if b is not None:
        out += b.reshape(1, -1, *([1] * nd))
    return out


def conv_transpose_ref(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    nd = x.ndim - 2
    st = (stride,) * nd if isinstance(stride, int) else tuple(stride)
    pd = (padding,) * nd if isinstance(padding, int) else tuple(padding)
    op = (output_padding,) * nd if isinstance(output_padding, int) else tuple(output_padding)
    dl = (dilation,) * nd if isinstance(dilation, int) else tuple(dilation)
    Nn, Cin = x.shape[:2]
    ks = w.shape[2:]
    Og = w.shape[1]
    O = Og * groups
    Cg = Cin // groups
    sp = x.shape[2:]
    outs = [(sp[i] - 1) * st[i] - 2 * pd[i] + dl[i] * (ks[i] - 1) + op[i] + 1 for i in range(nd)]
    full = [outs[i] + 2 * pd[i] for i in range(nd)]
    out = np.zeros((Nn, O, *full))
    for pos in itertools.product(*[range(s) for s in sp]):
        for koff in itertools.product(*[range(k) for k in ks]):
            tgt = tuple(pos[i] * st[i] + koff[i] * dl[i] for i in range(nd))
            for g in range(groups):
                xv = x[(slice(None), slice(g * Cg, (g + 1) * Cg)) + pos]  # [N, Cg]
                wv = w[(slice(g * Cg, (g + 1) * Cg), slice(None)) + koff]  # [Cg, Og]
                out[(slice(None), slice(g * Og, (g + 1) * Og)) + tgt] += xv @ wv
    out = out[(slice(None), slice(None)) + tuple(slice(pd[i], pd[i] + outs[i]) for i in range(nd))]
    if b is not None:
        out = out + b.reshape(1, -1, *([1] * nd))
    return out


def pool_out(size, k, s, p, d, ceil):
    num = size + 2 * p - d * (k - 1) - 1 + ((s - 1) if ceil else 0)
    o = num // s + 1
    if ceil and (o - 1) * s >= size + p:
        o -= 1
    return o


def maxpool_ref(x, k, s, p, d, ceil):
    nd = len(k)
    sp = x.shape[2:]
    outs = [pool_out(sp[i], k[i], s[i], p[i], d[i], ceil) for i in range(nd)]
    vals = np.full(x.shape[:2] + tuple(outs), -np.inf)
    idx = np.zeros(x.shape[:2] + tuple(outs), dtype=np.int64)
    for o in itertools.product(*[range(v) for v in outs]):
        for koff in itertools.product(*[range(v) for v in k]):
            c = [o[i] * s[i] - p[i] + koff[i] * d[i] for i in range(nd)]
            if any(c[i] < 0 or c[i] >= sp[i] for i in range(nd)):
                continue
            v = x[(slice(None), slice(None)) + tuple(c)]
            flat = int(np.ravel_multi_index(c, sp))
            cur = vals[(slice(None), slice(None)) + o]
            better = v > cur
            cur[better] = v[better]
            idx[(slice(None), slice(None)) + o][better] = flat
            vals[(slice(None), slice(None)) + o] = cur
    return vals, idx


def avgpool_ref(x, k, s, p, ceil, include_pad, divisor=None):
    nd = len(k)
    sp = x.shape[2:]
    outs = [pool_out(sp[i], k[i], s[i], p[i], 1, ceil) for i in range(nd)]
    out = np.zeros(x.shape[:2] + tuple(outs))
    for o in itertools.product(*[range(v) for v in outs]):
        starts = [o[i] * s[i] - p[i] for i in range(nd)]
        ends = [min(starts[i] + k[i], sp[i] + p[i]) for i in range(nd)]
        pool = np.prod([ends[i] - starts[i] for i in range(nd)])
        cs = [max(v, 0) for v in starts]
        ce = [min(ends[i], sp[i]) for i in range(nd)]
        region = x[(slice(None), slice(None)) + tuple(slice(cs[i], ce[i]) for i in range(nd))]
        tot = region.sum(axis=tuple(range(2, 2 + nd)))
        if divisor is not None:
            dv = divisor
        elif include_pad:
            dv = pool
        else:
            dv = np.prod([ce[i] - cs[i] for i in range(nd)])
        out[(slice(None), slice(None)) + o] = tot / dv
    return out


def adaptive_ref(x, outs, op):
    nd = len(outs)
    sp = x.shape[2:]
    out = np.zeros(x.shape[:2] + tuple(outs))
    for o in itertools.product(*[range(v) for v in outs]):
        sl = []
        for i in range(nd):
            st = (o[i] * sp[i]) // outs[i]
            en = -(-((o[i] + 1) * sp[i]) // outs[i])
            sl.append(slice(st, en))
        region = x[(slice(None), slice(None)) + tuple(sl)]
        out[(slice(None), slice(None)) + o] = op(region, axis=tuple(range(2, 2 + nd)))
    return out


def linear_src(n_in, n_out, align, scale=None):
    if align:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        return np.arange(n_out) * s
    s = 1.0 / scale if scale else n_in / n_out
    return np.maximum((np.arange(n_out) + 0.5) * s - 0.5, 0.0)


def bilinear_ref(x, size, align, scale=None):
    H, W = x.shape[2:]
    oh, ow = size
    sy = linear_src(H, oh, align, scale)
    sx = linear_src(W, ow, align, scale)
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        y0 = min(int(np.floor(sy[i])), H - 1)
        y1 = min(y0 + 1, H - 1)
        ly = sy[i] - y0
        for j in range(ow):
            x0 = min(int(np.floor(sx[j])), W - 1)
            x1 = min(x0 + 1, W - 1)
            lx = sx[j] - x0
            out[:, :, i, j] = ((1 - ly) * ((1 - lx) * x[:, :, y0, x0] + lx * x[:, :, y0, x1])
                               + ly * ((1 - lx) * x[:, :, y1, x0] + lx * x[:, :, y1, x1]))
    return out


def cubic_w(t, A=-0.75):
    def c1(v):
        return ((A + 2) * v - (A + 3)) * v * v + 1

    def c2(v):
        return ((A * v - 5 * A) * v + 8 * A) * v - 4 * A
    return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]


def bicubic_ref(x, size, align):
    H, W = x.shape[2:]
    oh, ow = size

    def src(n_in, n_out):
        if align:
            s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
            return np.arange(n_out) * s
        return (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5

    sy, sx = src(H, oh), src(W, ow)
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        fy = int(np.floor(sy[i]))
        wy = cubic_w(sy[i] - fy)
        for j in range(ow):
            fx = int(np.floor(sx[j]))
            wx = cubic_w(sx[j] - fx)
            acc = 0
            for a in range(4):
                yy = min(max(fy - 1 + a, 0), H - 1)
                for b in range(4):
                    xx = min(max(fx - 1 + b, 0), W - 1)
                    acc = acc + wy[a] * wx[b] * x[:, :, yy, xx]
            out[:, :, i, j] = acc
    return out


def ctc_ref(lp, target, T_len):
    """Negative log likelihood of one sequence (lp: [T, C] log-probs), blank=0."""
    ext = [0]
    for c in target:
        ext += [c, 0]
    S = len(ext)
    alpha = np.full(S, -np.inf)
    alpha[0] = lp[0, 0]
    if S > 1:
        alpha[1] = lp[0, ext[1]]
    for t in range(1, T_len):
        new = np.full(S, -np.inf)
        for s in range(S):
            cands = [alpha[s]]
            if s >= 1:
                cands.append(alpha[s - 1])
            if s >= 2 and ext[s] != 0 and ext[s] != ext[s - 2]:
                cands.append(alpha[s - 2])
            m = max(cands)
            new[s] = (m + np.log(sum(np.exp(c - m) for c in cands)) if m > -np.inf else -np.inf) + lp[t, ext[s]]
        alpha = new
    ends = [alpha[S - 1]] + ([alpha[S - 2]] if S > 1 else [])
    m = max(ends)
    return -(m + np.log(sum(np.exp(e - m) for e in ends)))


def log_softmax_np(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------------------
# linear / conv
# ---------------------------------------------------------------------------

def test_linear_bilinear():
    x, w, b = rnd(3, 4), rnd(5, 4), rnd(5)
    close(F.linear(T(x), T(w), T(b)), x @ w.T + b)
    x3 = rnd(2, 3, 4)
    close(F.linear(T(x3), T(w)), x3 @ w.T)
    x1, x2, W3 = rnd(3, 2), rnd(3, 4), rnd(5, 2, 4)
    close(F.bilinear(T(x1), T(x2), T(W3), T(b)), np.einsum("ni,oij,nj->no", x1, W3, x2) + b)
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        F.linear(T(rnd(3, 4)), T(rnd(5, 3)))
    fd_check(lambda a, b_, c: F.linear(a, b_, c), [rnd(3, 4), rnd(2, 4), rnd(2)])
    fd_check(lambda a, b_, c: F.bilinear(a, b_, c), [rnd(2, 2), rnd(2, 3), rnd(2, 2, 3)])


@pytest.mark.parametrize("cfg", [
    dict(x=(2, 3, 7, 6), w=(4, 3, 3, 2), kw=dict()),
    dict(x=(1, 2, 7, 7), w=(3, 2, 3, 3), kw=dict(dilation=2, padding=2)),
    dict(x=(1, 2, 6, 5), w=(2, 2, 3, 3), kw=dict(padding="same")),
    dict(x=(1, 2, 6, 5), w=(2, 2, 4, 2), kw=dict(padding="same", dilation=(1, 2))),
    dict(x=(1, 2, 7, 6), w=(2, 2, 3, 2), kw=dict(stride=(2, 1), padding=(0, 1))),
    dict(x=(2, 4, 6, 6), w=(4, 1, 3, 3), kw=dict(groups=4)),
    dict(x=(2, 4, 6, 6), w=(8, 1, 3, 3), kw=dict(groups=4, stride=2)),
    dict(x=(1, 6, 5, 5), w=(4, 3, 2, 2), kw=dict(groups=2, padding=1, dilation=2)),
])
def test_conv2d_matches_reference(cfg):
    x, w, b = rnd(*cfg["x"]), rnd(*cfg["w"]), rnd(cfg["w"][0])
    close(F.conv2d(T(x), T(w), T(b), **cfg["kw"]), conv_ref(x, w, b, **cfg["kw"]), rtol=1e-10, atol=1e-12)


# stride-1 float32 convolutions with >= 4 output channels per group take the implicit-GEMM
# kernels (forward and input gradient); float64 takes im2col + GEMM. The two must agree.
@pytest.mark.parametrize("x,w,kw", [
    ((2, 3, 9, 11), (8, 3, 3, 3), dict(padding=1)),
    ((3, 8, 7, 5), (16, 8, 3, 1), dict(padding=(1, 0))),
    ((2, 4, 10, 10), (8, 4, 3, 3), dict(padding=2, dilation=2)),
    ((1, 8, 12, 12), (8, 4, 3, 3), dict(padding=1, groups=2)),
    ((2, 6, 8, 8), (12, 2, 5, 5), dict(padding=2, groups=3)),
    ((1, 40, 6, 6), (8, 40, 3, 3), dict(padding=1)),       # 360 rows: one K pass
    ((1, 50, 5, 5), (4, 50, 3, 3), dict(padding=1)),       # 450 rows: two K passes
    ((2, 2, 5, 7), (40, 2, 2, 2), dict()),
    ((4, 1, 28, 28), (32, 1, 3, 3), dict()),
    ((2, 5, 6, 6), (6, 5, 3, 3), dict(padding="same")),
    ((1, 4, 6, 6), (4, 4, 3, 3), dict(padding=3)),         # pad > dil*(k-1): input grad keeps im2col
])
def test_conv2d_float32_implicit_matches_float64(x, w, kw):
    xs, ws, bs = rnd(*x), rnd(*w), rnd(w[0])
    gy = None
    grads = {}
    for dt in (np.float32, np.float64):
        X, W, B = T(xs.astype(dt), grad=True), T(ws.astype(dt), grad=True), T(bs.astype(dt), grad=True)
        y = F.conv2d(X, W, B, **kw)
        if gy is None:
            gy = np.cos(np.arange(y.numel())).reshape(tuple(y.shape))
        y.backward(torch.tensor(gy.astype(dt)))
        grads[dt] = (y.detach().numpy(), X.grad.numpy(), W.grad.numpy(), B.grad.numpy())
    for a, b in zip(grads[np.float32], grads[np.float64]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5 * (1 + np.abs(b).max()))


def test_conv1d_conv3d_float32_implicit_matches_float64():
    for fn, x, w, kw in [(F.conv1d, (2, 4, 30), (8, 4, 5), dict(padding=2, dilation=2)),
                         (F.conv3d, (2, 4, 5, 6, 7), (8, 4, 3, 3, 3), dict(padding=1))]:
        xs, ws = rnd(*x), rnd(*w)
        y32 = fn(T(xs.astype(np.float32)), T(ws.astype(np.float32)), **kw).numpy()
        y64 = fn(T(xs), T(ws), **kw).numpy()
        np.testing.assert_allclose(y32, y64, rtol=2e-5, atol=2e-5 * (1 + np.abs(y64).max()))


def test_conv1d_conv3d_and_unbatched():
    x, w, b = rnd(2, 3, 10), rnd(4, 3, 3), rnd(4)
    close(F.conv1d(T(x), T(w), T(b), padding=1), conv_ref(x, w, b, padding=1), atol=1e-12)
    close(F.conv1d(T(x), T(w), stride=2), conv_ref(x, w, stride=2), atol=1e-12)
    close(F.conv1d(T(x[0]), T(w), T(b), padding=1), conv_ref(x[:1], w, b, padding=1)[0], atol=1e-12)
    x3, w3 = rnd(1, 2, 4, 4, 4), rnd(3, 2, 3, 3, 3)
    close(F.conv3d(T(x3), T(w3), padding=1), conv_ref(x3, w3, padding=1), atol=1e-12)
    x32 = rnd(2, 3, 8, 8).astype(np.float32)
    w32 = rnd(4, 3, 3, 3).astype(np.float32)
    out = F.conv2d(T(x32), T(w32))
    assert str(out.dtype).endswith("float32")
    close(out, conv_ref(x32.astype(np.float64), w32.astype(np.float64)), rtol=1e-5, atol=1e-5)


def test_conv_errors():
    with pytest.raises(RuntimeError, match="expected input\\[1, 3, 5, 5\\] to have 2 channels"):
        F.conv2d(T(rnd(1, 3, 5, 5)), T(rnd(4, 2, 3, 3)))
    with pytest.raises(RuntimeError):
        F.conv2d(T(rnd(1, 2, 5, 5)), T(rnd(4, 2, 3, 3)), stride=2, padding="same")
    with pytest.raises(RuntimeError):
        F.conv2d(T(rnd(1, 2, 2, 2)), T(rnd(4, 2, 3, 3)))


@needs_grad
def test_conv_gradients():
    fd_check(lambda a, w, b: F.conv2d(a, w, b, stride=2, padding=1), [rnd(1, 2, 5, 4), rnd(3, 2, 3, 2), rnd(3)])
    fd_check(lambda a, w: F.conv2d(a, w, padding="same", groups=2, dilation=2), [rnd(1, 4, 5, 5), rnd(4, 2, 2, 3)])
    fd_check(lambda a, w: F.conv1d(a, w, groups=3), [rnd(2, 3, 6), rnd(3, 1, 3)])


@pytest.mark.parametrize("cfg", [
    dict(x=(1, 4, 5, 5), w=(4, 2, 3, 3), kw=dict(stride=2)),
    dict(x=(2, 3, 4, 4), w=(3, 2, 3, 3), kw=dict(stride=2, padding=1, output_padding=1)),
    dict(x=(1, 4, 3, 4), w=(4, 3, 2, 3), kw=dict(stride=(1, 2), groups=2, dilation=(2, 1))),
    dict(x=(1, 2, 3, 3), w=(2, 1, 3, 3), kw=dict(stride=3, padding=1, output_padding=2)),
])
def test_conv_transpose2d_matches_reference(cfg):
    x, w, b = rnd(*cfg["x"]), rnd(*cfg["w"]), rnd(cfg["w"][1] * cfg["kw"].get("groups", 1))
    close(F.conv_transpose2d(T(x), T(w), T(b), **cfg["kw"]), conv_transpose_ref(x, w, b, **cfg["kw"]), atol=1e-12)


def test_conv_transpose1d_3d():
    x, w = rnd(2, 3, 5), rnd(3, 2, 3)
    close(F.conv_transpose1d(T(x), T(w), stride=2, padding=1), conv_transpose_ref(x, w, stride=2, padding=1),
          atol=1e-12)
    x3, w3 = rnd(1, 2, 2, 3, 2), rnd(2, 2, 2, 2, 2)
    close(F.conv_transpose3d(T(x3), T(w3), stride=2), conv_transpose_ref(x3, w3, stride=2), atol=1e-12)


@needs_grad
def test_conv_transpose_gradient():
    fd_check(lambda a, w, b: F.conv_transpose2d(a, w, b, stride=2, padding=1, output_padding=1),
             [rnd(1, 2, 3, 3), rnd(2, 3, 3, 3), rnd(3)])


def test_unfold_fold():
    x = rnd(2, 3, 5, 6)
    cols = F.unfold(T(x), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    xp = np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)])
    oh = (7 - 2) // 2 + 1
    ow = (8 - 5) // 1 + 1
    ref = np.zeros((2, 3 * 6, oh * ow))
    for c in range(3):
        for ki in range(2):
            for kj in range(3):
                row = c * 6 + ki * 3 + kj
                for i in range(oh):
                    for j in range(ow):
                        ref[:, row, i * ow + j] = xp[:, c, i * 2 + ki, j + kj * 2]
    close(cols, ref)
    # fold is the adjoint of unfold: <unfold(x), y> == <x, fold(y)>
    y = rnd(*ref.shape)
    back = F.fold(T(y), (5, 6), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    np.testing.assert_allclose((ref * y).sum(), (x * N(back)).sum(), rtol=1e-10)
    # fold of ones counts the overlaps
    ones = F.fold(T(np.ones((1, 4, 9))), (4, 4), 2)
    close(ones[0, 0], np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]], dtype=np.float64))
    with pytest.raises(RuntimeError):
        F.fold(T(np.ones((1, 4, 8))), (4, 4), 2)


# ---------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("k,s,p,d,ceil", [
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 3), (2, 2), (1, 1), (1, 1), False),
    ((2, 3), (2, 3), (0, 0), (1, 1), True),
    ((3, 2), (2, 1), (1, 1), (2, 1), True),
])
def test_max_pool2d(k, s, p, d, ceil):
    x = rnd(2, 3, 7, 7)
    v, i = F.max_pool2d(T(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    rv, ri = maxpool_ref(x, k, s, p, d, ceil)
    close(v, rv)
    np.testing.assert_array_equal(N(i), ri)
    assert str(i.dtype).endswith("int64")


def test_max_pool1d_3d_and_unpool():
    x = rnd(2, 3, 9)
    v, i = F.max_pool1d(T(x), 3, 2, 1, return_indices=True)
    rv, ri = maxpool_ref(x, (3,), (2,), (1,), (1,), False)
    close(v, rv)
    np.testing.assert_array_equal(N(i), ri)
    x3 = rnd(1, 2, 4, 5, 4)
    close(F.max_pool3d(T(x3), 2), maxpool_ref(x3, (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), False)[0])
    x2 = rnd(1, 2, 4, 4)
    v, i = F.max_pool2d(T(x2), 2, return_indices=True)
    up = F.max_unpool2d(v, i, 2)
    ref = np.zeros_like(x2)
    np.put_along_axis(ref.reshape(1, 2, -1), N(i).reshape(1, 2, -1), N(v).reshape(1, 2, -1), axis=2)
    close(up, ref)


@pytest.mark.parametrize("k,s,p,ceil,inc,div", [
    ((2, 2), (2, 2), (0, 0), False, True, None),
    ((3, 3), (2, 2), (1, 1), False, True, None),
    ((3, 3), (2, 2), (1, 1), False, False, None),
    ((3, 2), (2, 2), (1, 1), True, True, None),
    ((3, 2), (2, 2), (1, 0), True, False, None),
    ((2, 2), (1, 1), (1, 1), False, True, 3),
])
def test_avg_pool2d(k, s, p, ceil, inc, div):
    x = rnd(1, 2, 9, 8)
    got = F.avg_pool2d(T(x), k, s, p, ceil_mode=ceil, count_include_pad=inc, divisor_override=div)
    close(got, avgpool_ref(x, k, s, p, ceil, inc, div))


def test_avg_pool1d_lp_pool():
    x = rnd(2, 3, 9)
    close(F.avg_pool1d(T(x), 3, 2, 1), avgpool_ref(x, (3,), (2,), (1,), False, True))
    xp = rnd(1, 2, 6, 6, lo=0.1, hi=1.0)
    ref = avgpool_ref(xp ** 2, (2, 2), (2, 2), (0, 0), False, True) * 4
    close(F.lp_pool2d(T(xp), 2, 2), np.sqrt(ref))


@pytest.mark.parametrize("outs", [(1, 1), (3, 3), (2, 4), (4, 3), (5, 7)])
def test_adaptive_pools(outs):
    x = rnd(2, 3, 7, 5)
    close(F.adaptive_avg_pool2d(T(x), outs), adaptive_ref(x, outs, np.mean), rtol=1e-10, atol=1e-12)
    v, i = F.adaptive_max_pool2d(T(x), outs, return_indices=True)
    close(v, adaptive_ref(x, outs, np.max))
    flat = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, N(i).reshape(2, 3, -1), 2).reshape(N(v).shape), N(v))


def test_adaptive_1d_none_size():
    x = rnd(2, 3, 9)
    close(F.adaptive_avg_pool1d(T(x), 4), adaptive_ref(x, (4,), np.mean))
    close(F.adaptive_max_pool1d(T(x), 4), adaptive_ref(x, (4,), np.max))
    x2 = rnd(1, 2, 6, 5)
    close(F.adaptive_avg_pool2d(T(x2), (None, 2)), adaptive_ref(x2, (6, 2), np.mean))


@needs_grad
def test_pool_gradients():
    fd_check(lambda a: F.max_pool2d(a, 3, 2, 1), [rnd(1, 2, 5, 5)])
    fd_check(lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False), [rnd(1, 1, 6, 5)])
    fd_check(lambda a: F.adaptive_avg_pool2d(a, (3, 2)), [rnd(1, 2, 5, 5)])
    fd_check(lambda a: F.adaptive_max_pool2d(a, (2, 3)), [rnd(1, 2, 5, 5)])


# ---------------------------------------------------------------------------
# activations / softmax
# ---------------------------------------------------------------------------

def test_activations_values():
    x = np.array([-25.0, -3.5, -1.0, -0.25, 0.0, 0.3, 1.0, 2.9, 3.5, 25.0])
    t = T(x)
    erf = np.vectorize(math.erf)
    sig = 1 / (1 + np.exp(-x))
    sp = np.log1p(np.exp(x))
    close(F.relu(t), np.maximum(x, 0))
    close(F.relu6(T(x * 4)), np.clip(x * 4, 0, 6))
    close(F.elu(t, 0.7), np.where(x > 0, x, 0.7 * np.expm1(x)))
    a, s = 1.6732632423543772, 1.0507009873554805
    close(F.selu(t), s * np.where(x > 0, x, a * np.expm1(x)))
    close(F.celu(t, 2.0), np.maximum(x, 0) + np.minimum(0, 2.0 * np.expm1(x / 2.0)))
    close(F.gelu(t), 0.5 * x * (1 + erf(x / np.sqrt(2))))
    close(F.gelu(t, approximate="tanh"), 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))))
    close(F.silu(t), x * sig)
    close(F.mish(t), x * np.tanh(sp))
    close(F.softplus(t), np.where(x > 20, x, sp))
    close(F.softplus(t, beta=2, threshold=1), np.where(2 * x > 1, x, np.log1p(np.exp(2 * x)) / 2))
    close(F.softsign(t), x / (1 + np.abs(x)))
    close(F.tanhshrink(t), x - np.tanh(x))
    close(F.hardtanh(t, -2, 2), np.clip(x, -2, 2))
    close(F.hardsigmoid(t), np.clip(x / 6 + 0.5, 0, 1))
    close(F.hardswish(t), x * np.clip(x + 3, 0, 6) / 6)
    close(F.hardshrink(t, 0.5), np.where(np.abs(x) > 0.5, x, 0))
    close(F.softshrink(t, 0.5), np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)))
    close(F.threshold(t, 0.1, 20.0), np.where(x > 0.1, x, 20.0))
    close(F.leaky_relu(t, 0.2), np.where(x > 0, x, 0.2 * x))
    close(F.rrelu(t), np.where(x > 0, x, x * (1 / 8 + 1 / 3) / 2))
    close(F.logsigmoid(t), np.log(sig))
    close(F.sigmoid(t), sig)
    close(F.tanh(t), np.tanh(x))
    x2 = rnd(3, 4)
    close(F.glu(T(x2), dim=-1), x2[:, :2] / (1 + np.exp(-x2[:, 2:])))
    with pytest.raises(RuntimeError):
        F.glu(T(rnd(3, 5)))
    w = rnd(3)
    x3 = rnd(2, 3, 4)
    close(F.prelu(T(x3), T(w)), np.where(x3 > 0, x3, w.reshape(1, 3, 1) * x3))


def test_inplace_activations():
    x = rnd(3, 4)
    t = T(x)
    r = F.relu(t, inplace=True)
    close(t, np.maximum(x, 0))
    assert r is t or np.array_equal(N(r), N(t))
    t = T(x)
    F.leaky_relu(t, 0.1, inplace=True)
    close(t, np.where(x > 0, x, 0.1 * x))
    t = T(x)
    F.hardtanh(t, -0.5, 0.5, inplace=True)
    close(t, np.clip(x, -0.5, 0.5))
    t = T(x)
    F.elu(t, inplace=True)
    close(t, np.where(x > 0, x, np.expm1(x)))
    t = T(x)
    F.threshold(t, 0.0, -1.0, inplace=True)
    close(t, np.where(x > 0, x, -1.0))


def test_softmax_family():
    x = rnd(3, 4)
    e = np.exp(x - x.max(1, keepdims=True))
    sm = e / e.sum(1, keepdims=True)
    close(F.softmax(T(x), dim=1), sm)
    close(F.log_softmax(T(x), dim=1), np.log(sm))
    close(F.softmin(T(x), 1), F.softmax(T(-x), 1).detach().numpy())
    x3 = rnd(2, 3, 4)
    e3 = np.exp(x3 - x3.max(0, keepdims=True))
    close(F.softmax(T(x3)), e3 / e3.sum(0, keepdims=True))  # legacy implicit dim=0 for 3-D
    out = F.softmax(T(x.astype(np.float32)), 1, dtype=torch.float64)
    assert str(out.dtype).endswith("float64")


@needs_grad
def test_activation_gradients():
    x = rnd(2, 5) * 3
    for fn in (F.gelu, lambda a: F.gelu(a, approximate="tanh"), F.silu, F.mish, F.softplus, F.elu, F.selu,
               F.logsigmoid, F.softsign, F.tanhshrink, lambda a: F.celu(a, 1.5), F.hardswish,
               lambda a: F.leaky_relu(a, 0.3), lambda a: F.glu(a, 0)):
        fd_check(fn, [x.copy()])
    fd_check(lambda a, w: F.prelu(a, w), [rnd(2, 3, 2), rnd(3)])
    fd_check(lambda a: F.log_softmax(a, 1), [rnd(3, 4)])
    # large inputs must not produce NaN gradients through the unused branch
    big = T(np.array([-200.0, 100.0, 200.0]), grad=True)
    (F.elu(big).sum() + F.softplus(big).sum() + F.mish(big).sum() + F.logsigmoid(big).sum()).backward()
    assert np.all(np.isfinite(N(big.grad)))


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------

def test_dropout():
    x = T(rnd(3, 4))
    assert F.dropout(x, 0.5, training=False) is x
    torch.manual_seed(0)
    y = F.dropout(torch.ones(100000), p=0.25, training=True)
    yn = N(y)
    assert abs((yn == 0).mean() - 0.25) < 0.01
    np.testing.assert_allclose(yn.max(), np.float32(1) / np.float32(0.75), rtol=1e-6)
    with pytest.raises(ValueError):
        F.dropout(x, 1.5)
    z = F.dropout(x, 1.0, training=True)
    assert np.all(N(z) == 0)
    y2 = N(F.dropout2d(torch.ones(8, 16, 5, 5), 0.5, training=True))
    per_channel = y2.reshape(8, 16, 25)
    assert np.all((per_channel == per_channel[..., :1]))  # whole channels dropped
    ya = F.alpha_dropout(torch.ones(1000), 0.2, training=True)
    assert ya.shape[0] == 1000


# ---------------------------------------------------------------------------
# normalization
# ---------------------------------------------------------------------------

def test_batch_norm_train_eval_and_running_stats():
    x = rnd(4, 3, 5)
    rm, rv = np.zeros(3), np.ones(3)
    w, b = rnd(3), rnd(3)
    trm, trv = T(rm.copy()), T(rv.copy())
    out = F.batch_norm(T(x), trm, trv, T(w), T(b), training=True, momentum=0.1, eps=1e-3)
    mean = x.mean((0, 2))
    var = x.var((0, 2))
    ref = (x - mean[None, :, None]) / np.sqrt(var[None, :, None] + 1e-3) * w[None, :, None] + b[None, :, None]
    close(out, ref)
    close(trm, 0.9 * rm + 0.1 * mean)
    close(trv, 0.9 * rv + 0.1 * var * 20 / 19)
    out = F.batch_norm(T(x), T(mean), T(var), T(w), T(b), training=False)
    close(out, (x - mean[None, :, None]) / np.sqrt(var[None, :, None] + 1e-5) * w[None, :, None] + b[None, :, None])
    with pytest.raises(ValueError):
        F.batch_norm(T(rnd(1, 3)), None, None, training=True)


def test_layer_group_instance_rms_norm():
    x = rnd(2, 3, 4)
    w, b = rnd(3, 4), rnd(3, 4)
    m = x.mean((1, 2), keepdims=True)
    v = x.var((1, 2), keepdims=True)
    close(F.layer_norm(T(x), (3, 4), T(w), T(b)), (x - m) / np.sqrt(v + 1e-5) * w + b)
    with pytest.raises(RuntimeError):
        F.layer_norm(T(x), (5,))
    xg = rnd(2, 4, 3)
    g = xg.reshape(2, 2, 6)
    ref = ((g - g.mean(2, keepdims=True)) / np.sqrt(g.var(2, keepdims=True) + 1e-5)).reshape(2, 4, 3)
    wg, bg = rnd(4), rnd(4)
    close(F.group_norm(T(xg), 2, T(wg), T(bg)), ref * wg[None, :, None] + bg[None, :, None])
    xi = rnd(2, 3, 4, 4)
    mi = xi.mean((2, 3), keepdims=True)
    vi = xi.var((2, 3), keepdims=True)
    close(F.instance_norm(T(xi)), (xi - mi) / np.sqrt(vi + 1e-5))
    xr, wr = rnd(3, 4), rnd(4)
    close(F.rms_norm(T(xr), (4,), T(wr)),
          xr / np.sqrt((xr ** 2).mean(-1, keepdims=True) + np.finfo(np.float64).eps) * wr)
    xn = rnd(3, 4)
    close(F.normalize(T(xn), p=1, dim=0), xn / np.maximum(np.abs(xn).sum(0, keepdims=True), 1e-12))


def test_local_response_norm():
    x = rnd(1, 4, 3, 3)
    size, alpha, beta, k = 2, 1e-4, 0.75, 1.0
    sq = np.pad(x ** 2, [(0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)])
    div = np.stack([sq[:, c:c + size].sum(1) / size for c in range(4)], 1)
    close(F.local_response_norm(T(x), size), x / (k + alpha * div) ** beta)


@needs_grad
def test_norm_gradients():
    fd_check(lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True), [rnd(4, 3), rnd(3), rnd(3)])
    fd_check(lambda a, w, b: F.layer_norm(a, (4,), w, b), [rnd(2, 4), rnd(4), rnd(4)])
    fd_check(lambda a, w, b: F.group_norm(a, 2, w, b), [rnd(2, 4, 2), rnd(4), rnd(4)])
    fd_check(lambda a, w: F.rms_norm(a, (3,), w), [rnd(2, 3), rnd(3)])


# ---------------------------------------------------------------------------
# embeddings, one_hot, pad
# ---------------------------------------------------------------------------

def test_embedding_and_padding_idx():
    w = rnd(10, 3)
    idx = np.array([[8, 0, 8, 1], [0, 6, 7, 9]])
    close(F.embedding(T(idx), T(w)), w[idx])
    with pytest.raises(RuntimeError):
        F.embedding(T(idx.astype(np.float32)), T(w))
    if not FORWARD_ONLY:
        tw = T(w, grad=True)
        F.embedding(T(idx), tw, padding_idx=0).sum().backward()
        g = N(tw.grad)
        ref = np.zeros_like(w)
        np.add.at(ref, idx.reshape(-1), 1.0)
        ref[0] = 0
        close(g, ref)
    wm = T(w * 10)
    F.embedding(T(np.array([1, 2])), wm, max_norm=1.0)
    norms = np.linalg.norm(N(wm)[[1, 2]], axis=1)
    assert np.all(norms <= 1.0 + 1e-6)


def test_embedding_bag():
    w = rnd(10, 3)
    inp = np.array([1, 2, 4, 5, 4, 3, 2, 9])
    offs = np.array([0, 4])
    for mode, op in (("sum", np.sum), ("mean", np.mean), ("max", np.max)):
        ref = np.stack([op(w[inp[0:4]], 0), op(w[inp[4:]], 0)])
        close(F.embedding_bag(T(inp), T(w), T(offs), mode=mode), ref)
    close(F.embedding_bag(T(inp.reshape(2, 4)), T(w), mode="mean"), w[inp.reshape(2, 4)].mean(1))
    psw = rnd(8)
    close(F.embedding_bag(T(inp), T(w), T(offs), mode="sum", per_sample_weights=T(psw)),
          np.stack([(w[inp[:4]] * psw[:4, None]).sum(0), (w[inp[4:]] * psw[4:, None]).sum(0)]))
    # empty bag and include_last_offset
    close(F.embedding_bag(T(inp), T(w), T(np.array([0, 3, 3, 8])), mode="sum", include_last_offset=True),
          np.stack([w[inp[:3]].sum(0), np.zeros(3), w[inp[3:]].sum(0)]))


def test_one_hot():
    a = np.array([4, 2, 2, 2, 1, 3])
    oh = F.one_hot(T(a), 5)
    assert str(oh.dtype).endswith("int64")
    np.testing.assert_array_equal(N(oh), np.eye(5, dtype=np.int64)[a])
    b = np.array([[3, 3, 2], [2, 1, 0]])
    np.testing.assert_array_equal(N(F.one_hot(T(b))), np.eye(4, dtype=np.int64)[b])
    with pytest.raises(RuntimeError):
        F.one_hot(T(a), 3)


def test_pad_modes():
    x = rnd(1, 2, 3, 4)
    close(F.pad(T(x), (1, 2)), np.pad(x, [(0, 0), (0, 0), (0, 0), (1, 2)]))
    close(F.pad(T(x), (1, 2, 0, 1), value=3.5), np.pad(x, [(0, 0), (0, 0), (0, 1), (1, 2)], constant_values=3.5))
    close(F.pad(T(x), (-1, 1)), np.pad(x, [(0, 0), (0, 0), (0, 0), (0, 1)])[..., 1:])
    close(F.pad(T(x), (1, 1, 2, 2), mode="reflect"), np.pad(x, [(0, 0), (0, 0), (2, 2), (1, 1)], mode="reflect"))
    close(F.pad(T(x), (2, 1, 1, 0), mode="replicate"), np.pad(x, [(0, 0), (0, 0), (1, 0), (2, 1)], mode="edge"))
    # PyTorch pads one dim circularly only for 2D or 3D input (4D input: NotImplementedError)
    close(F.pad(T(x[0]), (1, 3), mode="circular"), np.pad(x[0], [(0, 0), (0, 0), (1, 3)], mode="wrap"))
    with pytest.raises(RuntimeError):
        F.pad(T(x), (4, 0), mode="reflect")
    fd_check(lambda a: F.pad(a, (1, 2, 1, 0), mode="reflect"), [rnd(1, 1, 3, 4)])


# ---------------------------------------------------------------------------
# resampling
# ---------------------------------------------------------------------------

def test_interpolate_nearest_and_linear():
    x = rnd(1, 2, 3, 4)
    close(F.interpolate(T(x), size=(6, 8)), x.repeat(2, 2).repeat(2, 3))
    idx_h = np.minimum(np.floor(np.arange(5) * (3 / 5)).astype(int), 2)
    idx_w = np.minimum(np.floor(np.arange(7) * (4 / 7)).astype(int), 3)
    close(F.interpolate(T(x), size=(5, 7)), x[:, :, idx_h][:, :, :, idx_w])
    close(F.interpolate(T(x), size=(5, 4), mode="bilinear", align_corners=False), bilinear_ref(x, (5, 4), False),
          rtol=1e-6, atol=1e-6)
    close(F.interpolate(T(x), size=(5, 5), mode="bilinear", align_corners=True), bilinear_ref(x, (5, 5), True),
          rtol=1e-6, atol=1e-6)
    close(F.interpolate(T(x), scale_factor=2.5, mode="bilinear"), bilinear_ref(x, (7, 10), False, 2.5),
          rtol=1e-6, atol=1e-6)
    close(F.interpolate(T(x), size=(6, 5), mode="bicubic", align_corners=False), bicubic_ref(x, (6, 5), False),
          rtol=1e-6, atol=1e-6)
    close(F.interpolate(T(x), size=(6, 5), mode="bicubic", align_corners=True), bicubic_ref(x, (6, 5), True),
          rtol=1e-6, atol=1e-6)
    x1 = rnd(2, 3, 5)
    src = linear_src(5, 8, False)
    i0 = np.minimum(np.floor(src).astype(int), 4)
    i1 = np.minimum(i0 + 1, 4)
    lam = src - i0
    close(F.interpolate(T(x1), size=8, mode="linear"), x1[..., i0] * (1 - lam) + x1[..., i1] * lam, atol=1e-7)
    close(F.interpolate(T(x), size=(1, 2), mode="area"), adaptive_ref(x, (1, 2), np.mean))
    with pytest.raises(ValueError):
        F.interpolate(T(x), size=(4, 4), align_corners=True)
    fd_check(lambda a: F.interpolate(a, size=(4, 5), mode="bilinear", align_corners=False), [rnd(1, 1, 3, 3)])


def test_pixel_shuffle_roundtrip():
    x = rnd(2, 8, 3, 2)
    y = F.pixel_shuffle(T(x), 2)
    ref = x.reshape(2, 2, 2, 2, 3, 2).transpose(0, 1, 4, 2, 5, 3).reshape(2, 2, 6, 4)
    close(y, ref)
    close(F.pixel_unshuffle(y, 2), x)


def test_affine_grid_and_grid_sample_identity():
    x = rnd(1, 2, 4, 5)
    theta = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    grid = F.affine_grid(T(theta), (1, 2, 4, 5), align_corners=False)
    assert tuple(grid.shape) == (1, 4, 5, 2)
    out = F.grid_sample(T(x), grid, align_corners=False)
    close(out, x, atol=1e-10)
    grid_t = F.affine_grid(T(theta), (1, 2, 4, 5), align_corners=True)
    close(F.grid_sample(T(x), grid_t, mode="nearest", align_corners=True), x, atol=1e-10)
    # a shift by one pixel to the right with zero padding
    th = np.array([[[1.0, 0.0, 2.0 / 4], [0.0, 1.0, 0.0]]])
    g = F.affine_grid(T(th), (1, 2, 4, 5), align_corners=True)
    out = N(F.grid_sample(T(x), g, align_corners=True))
    np.testing.assert_allclose(out[..., :4], x[..., 1:], atol=1e-10)
    np.testing.assert_allclose(out[..., 4], 0, atol=1e-10)


# ---------------------------------------------------------------------------
# distances / attention
# ---------------------------------------------------------------------------

def test_distances():
    a, b = rnd(3, 4), rnd(3, 4)
    close(F.cosine_similarity(T(a), T(b)),
          (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))
    close(F.pairwise_distance(T(a), T(b)), np.linalg.norm(a - b + 1e-6, axis=1))
    close(F.pdist(T(a)), np.array([np.linalg.norm(a[i] - a[j]) for i in range(3) for j in range(i + 1, 3)]))
    c = rnd(5, 4)
    ref = np.linalg.norm(a[:, None] - c[None], axis=-1)
    close(F._cdist(T(a), T(c)), ref)
    close(F._cdist(T(a), T(c), p=1.0), np.abs(a[:, None] - c[None]).sum(-1))
    big1, big2 = rnd(30, 4), rnd(27, 4)
    close(F._cdist(T(big1), T(big2)), np.linalg.norm(big1[:, None] - big2[None], axis=-1), rtol=1e-6, atol=1e-7)
    fd_check(lambda x, y: F.cosine_similarity(x, y), [rnd(3, 4), rnd(3, 4)])
    fd_check(lambda x, y: F._cdist(x, y), [rnd(3, 2), rnd(4, 2)])


def sdpa_ref(q, k, v, mask=None, causal=False):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    L, S = s.shape[-2:]
    if causal:
        s = np.where(np.tril(np.ones((L, S), bool)), s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    e = np.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)) @ v


def test_scaled_dot_product_attention():
    q, k, v = rnd(2, 2, 4, 8), rnd(2, 2, 5, 8), rnd(2, 2, 5, 8)
    close(F.scaled_dot_product_attention(T(q), T(k), T(v)), sdpa_ref(q, k, v))
    q2, k2, v2 = rnd(1, 2, 4, 8), rnd(1, 2, 4, 8), rnd(1, 2, 4, 8)
    close(F.scaled_dot_product_attention(T(q2), T(k2), T(v2), is_causal=True), sdpa_ref(q2, k2, v2, causal=True))
    m = RNG.random((4, 4)) > 0.3
    m[:, 0] = True
    close(F.scaled_dot_product_attention(T(q2), T(k2), T(v2), attn_mask=T(m)), sdpa_ref(q2, k2, v2, m))
    fm = rnd(4, 4)
    close(F.scaled_dot_product_attention(T(q2), T(k2), T(v2), attn_mask=T(fm)), sdpa_ref(q2, k2, v2, fm))
    # grouped-query attention
    kq, vq = rnd(1, 1, 4, 8), rnd(1, 1, 4, 8)
    close(F.scaled_dot_product_attention(T(q2), T(kq), T(vq), enable_gqa=True),
          sdpa_ref(q2, np.repeat(kq, 2, 1), np.repeat(vq, 2, 1)))
    fd_check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True),
             [rnd(1, 1, 3, 2), rnd(1, 1, 3, 2), rnd(1, 1, 3, 2)])


def test_multi_head_attention_forward():
    L, S, Bn, E, H = 3, 4, 2, 8, 2
    q, k, v = rnd(L, Bn, E), rnd(S, Bn, E), rnd(S, Bn, E)
    w_in, b_in = rnd(3 * E, E), rnd(3 * E)
    w_out, b_out = rnd(E, E), rnd(E)
    out, attw = F.multi_head_attention_forward(T(q), T(k), T(v), E, H, T(w_in), T(b_in), None, None, False, 0.0,
                                               T(w_out), T(b_out), training=False)
    Q = q @ w_in[:E].T + b_in[:E]
    K = k @ w_in[E:2 * E].T + b_in[E:2 * E]
    V = v @ w_in[2 * E:].T + b_in[2 * E:]
    hd = E // H

    def heads(X, n):
        return X.reshape(n, Bn, H, hd).transpose(1, 2, 0, 3)  # [B, H, n, hd]
    s = heads(Q, L) @ heads(K, S).transpose(0, 1, 3, 2) / np.sqrt(hd)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = (p @ heads(V, S)).transpose(2, 0, 1, 3).reshape(L, Bn, E) @ w_out.T + b_out
    close(out, o)
    close(attw, p.mean(1))
    out2, none = F.multi_head_attention_forward(T(q), T(k), T(v), E, H, T(w_in), T(b_in), None, None, False, 0.0,
                                                T(w_out), T(b_out), training=False, need_weights=False)
    assert none is None
    close(out2, o)
    # key_padding_mask (True = ignore)
    kpm = np.zeros((Bn, S), bool)
    kpm[:, -1] = True
    out3, w3 = F.multi_head_attention_forward(T(q), T(k), T(v), E, H, T(w_in), T(b_in), None, None, False, 0.0,
                                              T(w_out), T(b_out), training=False, key_padding_mask=T(kpm))
    assert np.allclose(N(w3)[..., -1], 0)


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------

def test_regression_losses():
    a, b = rnd(3, 4), rnd(3, 4)
    d = a - b
    close(F.mse_loss(T(a), T(b), reduction="sum"), (d ** 2).sum())
    close(F.mse_loss(T(a), T(b)), (d ** 2).mean())
    close(F.l1_loss(T(a), T(b), reduction="none"), np.abs(d))
    z = np.abs(d)
    close(F.smooth_l1_loss(T(a), T(b), beta=0.5), np.where(z < 0.5, 0.5 * z ** 2 / 0.5, z - 0.25).mean())
    close(F.huber_loss(T(a), T(b), delta=0.5), np.where(z < 0.5, 0.5 * z ** 2, 0.5 * (z - 0.25)).mean())
    # hand-computed
    close(F.mse_loss(T(np.array([1.0, 2.0])), T(np.array([0.0, 0.0]))), np.array(2.5))
    close(F.l1_loss(T(np.array([1.0, -3.0])), T(np.array([0.0, 0.0])), reduction="sum"), np.array(4.0))


def test_cross_entropy_and_nll():
    x = rnd(6, 5) * 2
    t = np.array([0, 4, 1, 1, 3, 2])
    lp = log_softmax_np(x, 1)
    picked = -lp[np.arange(6), t]
    close(F.cross_entropy(T(x), T(t)), picked.mean())
    close(F.cross_entropy(T(x), T(t), reduction="none"), picked)
    close(F.cross_entropy(T(x), T(t), reduction="sum"), picked.sum())
    w = rnd(5, lo=0.1, hi=2.0)
    close(F.cross_entropy(T(x), T(t), weight=T(w)), (picked * w[t]).sum() / w[t].sum())
    keep = t != 1
    close(F.cross_entropy(T(x), T(t), ignore_index=1), picked[keep].mean())
    close(F.cross_entropy(T(x), T(t), weight=T(w), ignore_index=1), (picked * w[t])[keep].sum() / w[t][keep].sum())
    ls = 0.1
    smooth = -lp.sum(1)
    close(F.cross_entropy(T(x), T(t), label_smoothing=ls), (1 - ls) * picked.mean() + ls / 5 * smooth.mean())
    smooth_w = -(lp * w).sum(1)
    close(F.cross_entropy(T(x), T(t), weight=T(w), label_smoothing=ls),
          (1 - ls) * (picked * w[t]).sum() / w[t].sum() + ls / 5 * smooth_w.sum() / w[t].sum())
    smooth_i = np.where(keep, smooth, 0)
    close(F.cross_entropy(T(x), T(t), ignore_index=1, label_smoothing=ls),
          (1 - ls) * picked[keep].mean() + ls / 5 * smooth_i.sum() / keep.sum())
    # probability targets
    p = np.exp(log_softmax_np(rnd(6, 5), 1))
    close(F.cross_entropy(T(x), T(p)), -(lp * p).sum(1).mean())
    close(F.cross_entropy(T(x), T(p), label_smoothing=ls), -(lp * (p * (1 - ls) + ls / 5)).sum(1).mean())
    # N-d input
    x4 = rnd(2, 5, 3, 3)
    t4 = RNG.integers(0, 5, (2, 3, 3))
    lp4 = log_softmax_np(x4, 1)
    ref4 = -np.take_along_axis(lp4, t4[:, None], 1)[:, 0]
    close(F.cross_entropy(T(x4), T(t4)), ref4.mean())
    close(F.nll_loss(T(lp4), T(t4), reduction="none"), ref4)
    # unbatched
    close(F.cross_entropy(T(x[0]), T(np.array(t[0]))), np.array(picked[0]))
    # errors
    with pytest.raises(IndexError, match="Target 7 is out of bounds."):
        F.cross_entropy(T(x), T(np.array([0, 1, 7, 1, 1, 1])))
    with pytest.raises(IndexError):
        F.nll_loss(T(lp), T(np.array([0, 1, -1, 1, 1, 1])))
    with pytest.raises(ValueError):
        F.nll_loss(T(lp), T(t[:4]))
    # all-ignored mean is nan, like PyTorch
    assert np.isnan(N(F.cross_entropy(T(x[:2]), T(np.array([-100, -100])))))


@needs_grad
def test_cross_entropy_gradients():
    t = np.array([0, 2, 1, 2])
    fd_check(lambda a: F.cross_entropy(a, T(t)), [rnd(4, 3)])
    # class weights are constants (PyTorch refuses a weight that requires grad)
    fd_check(lambda a, w: F.cross_entropy(a, T(t), weight=w, ignore_index=1, label_smoothing=0.2),
             [rnd(4, 3), rnd(3, lo=0.5)], which=[0])
    fd_check(lambda a, p: F.cross_entropy(a, p), [rnd(4, 3), rnd(4, 3, lo=0, hi=1)])


def test_binary_losses():
    p = rnd(3, 4, lo=0.05, hi=0.95)
    y = (rnd(3, 4) > 0).astype(np.float64)
    w = rnd(4, lo=0.5, hi=1.5)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    close(F.binary_cross_entropy(T(p), T(y)), bce.mean())
    close(F.binary_cross_entropy(T(p), T(y), weight=T(w), reduction="sum"), (bce * w).sum())
    # log clamped at -100
    close(F.binary_cross_entropy(T(np.array([0.0, 1.0])), T(np.array([1.0, 0.0])), reduction="none"),
          np.array([100.0, 100.0]))
    with pytest.raises(ValueError):
        F.binary_cross_entropy(T(p), T(y[:, :2]))
    x = rnd(3, 4) * 4
    pw = rnd(4, lo=0.5, hi=3)
    sig = 1 / (1 + np.exp(-x))
    close(F.binary_cross_entropy_with_logits(T(x), T(y)), (-(y * np.log(sig) + (1 - y) * np.log(1 - sig))).mean())
    close(F.binary_cross_entropy_with_logits(T(x), T(y), pos_weight=T(pw)),
          (-(pw * y * np.log(sig) + (1 - y) * np.log(1 - sig))).mean())
    # numerically stable for huge logits
    big = F.binary_cross_entropy_with_logits(T(np.array([1000.0, -1000.0])), T(np.array([0.0, 1.0])),
                                             reduction="none")
    close(big, np.array([1000.0, 1000.0]))
    ms = F.multilabel_soft_margin_loss(T(x), T(y))
    close(ms, (-(y * np.log(sig) + (1 - y) * np.log(1 - sig))).mean(1).mean())
    fd_check(lambda a: F.binary_cross_entropy_with_logits(a, T(y), pos_weight=T(pw)), [x.copy()])
    fd_check(lambda a: F.binary_cross_entropy(a, T(y)), [p.copy()])


def test_other_losses():
    a, b = rnd(3, 4), rnd(3, 4)
    lq = log_softmax_np(a, 1)
    pt = np.exp(log_softmax_np(b, 1))
    close(F.kl_div(T(lq), T(pt), reduction="batchmean"), (pt * (np.log(pt) - lq)).sum() / 3)
    close(F.kl_div(T(lq), T(np.log(pt)), reduction="sum", log_target=True), (pt * (np.log(pt) - lq)).sum())
    s = np.sign(b)
    close(F.soft_margin_loss(T(a), T(s)), np.log1p(np.exp(-s * a)).mean())
    x1, x2, y = rnd(5), rnd(5), np.sign(rnd(5))
    close(F.margin_ranking_loss(T(x1), T(x2), T(y), margin=0.1), np.maximum(0, -y * (x1 - x2) + 0.1).mean())
    close(F.hinge_embedding_loss(T(x1), T(y)), np.where(y == 1, x1, np.maximum(0, 1 - x1)).mean())
    c = np.sign(rnd(3))
    cos = (a * b).sum(1) / np.sqrt(((a * a).sum(1) + 1e-12) * ((b * b).sum(1) + 1e-12))
    close(F.cosine_embedding_loss(T(a), T(b), T(c)), np.where(c == 1, 1 - cos, np.maximum(cos, 0)).mean())
    tgt = rnd(3, 4, lo=0, hi=3)
    close(F.poisson_nll_loss(T(a), T(tgt)), (np.exp(a) - tgt * a).mean())
    pa = rnd(3, 4, lo=0.1, hi=2)
    stir = np.where(tgt > 1, tgt * np.log(tgt) - tgt + 0.5 * np.log(2 * np.pi * tgt), 0)
    close(F.poisson_nll_loss(T(pa), T(tgt), log_input=False, full=True),
          (pa - tgt * np.log(pa + 1e-8) + stir).mean())
    var = rnd(3, 4, lo=0.1, hi=2)
    close(F.gaussian_nll_loss(T(a), T(b), T(var)), (0.5 * (np.log(var) + (a - b) ** 2 / var)).mean())
    close(F.gaussian_nll_loss(T(a), T(b), T(var[:, :1]), full=True),
          (0.5 * (np.log(var[:, :1]) + (a - b) ** 2 / var[:, :1]) + 0.5 * np.log(2 * np.pi)).mean())
    with pytest.raises(ValueError):
        F.gaussian_nll_loss(T(a), T(b), T(-var))
    n = rnd(3, 4)
    dp = np.linalg.norm(a - b + 1e-6, axis=1)
    dn = np.linalg.norm(a - n + 1e-6, axis=1)
    close(F.triplet_margin_loss(T(a), T(b), T(n)), np.maximum(1 + dp - dn, 0).mean())
    # multi-class margin losses
    xm = rnd(3, 4)
    tm = np.array([1, 0, 3])
    ref = np.array([sum(max(0, 1 - xm[i, tm[i]] + xm[i, j]) for j in range(4) if j != tm[i]) / 4 for i in range(3)])
    close(F.multi_margin_loss(T(xm), T(tm)), ref.mean())
    ref2 = np.array([sum(max(0, 1 - xm[i, tm[i]] + xm[i, j]) ** 2 for j in range(4) if j != tm[i]) / 4
                     for i in range(3)])
    close(F.multi_margin_loss(T(xm), T(tm), p=2, reduction="none"), ref2)
    tl = np.array([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 1, 1, 1]])
    refs = []
    for i in range(3):
        ys = []
        for v in tl[i]:
            if v == -1:
                break
            ys.append(v)
        tot = 0
        for yj in ys:
            for j in range(4):
                if j not in ys:
                    tot += max(0, 1 - (xm[i, yj] - xm[i, j]))
        refs.append(tot / 4)
    close(F.multilabel_margin_loss(T(xm), T(tl), reduction="none"), np.array(refs))


@needs_grad
def test_loss_gradients():
    y = np.sign(rnd(5))
    fd_check(lambda a, b: F.margin_ranking_loss(a, b, T(y), margin=0.2), [rnd(5), rnd(5)])
    fd_check(lambda a, b, v: F.gaussian_nll_loss(a, b, v), [rnd(3, 2), rnd(3, 2), rnd(3, 2, lo=0.5, hi=2)])
    fd_check(lambda a, b, c: F.triplet_margin_loss(a, b, c, margin=3.0), [rnd(3, 4), rnd(3, 4), rnd(3, 4)])
    fd_check(lambda a: F.multi_margin_loss(a, T(np.array([1, 0, 2]))), [rnd(3, 4)])
    fd_check(lambda a, b: F.kl_div(F.log_softmax(a, 1), F.softmax(b, 1), reduction="batchmean"),
             [rnd(3, 4), rnd(3, 4)])


def test_ctc_loss():
    Tn, Nb, C = 6, 3, 5
    logits = rnd(Tn, Nb, C) * 2
    lp = log_softmax_np(logits, 2)
    targets = np.array([[3, 4, 1], [2, 2, 0], [1, 0, 0]])
    in_lens = [6, 5, 6]
    tg_lens = [3, 2, 1]
    refs = np.array([ctc_ref(lp[:in_lens[i], i], list(targets[i, :tg_lens[i]]), in_lens[i]) for i in range(Nb)])
    close(F.ctc_loss(T(lp), T(targets), T(np.array(in_lens)), T(np.array(tg_lens)), reduction="none"), refs,
          rtol=1e-8, atol=1e-10)
    close(F.ctc_loss(T(lp), T(targets), T(np.array(in_lens)), T(np.array(tg_lens))),
          (refs / np.array(tg_lens)).mean(), rtol=1e-8)
    concat = np.concatenate([targets[i, :tg_lens[i]] for i in range(Nb)])
    close(F.ctc_loss(T(lp), T(concat), in_lens, tg_lens, reduction="sum"), refs.sum(), rtol=1e-8)
    # impossible alignment -> inf, or 0 with zero_infinity
    imp = F.ctc_loss(T(lp[:2]), T(np.array([[1, 1, 1]])[:, :3].repeat(3, 0)), [2, 2, 2], [3, 3, 3],
                     reduction="none")
    assert np.all(np.isinf(N(imp)))
    zi = F.ctc_loss(T(lp[:2]), T(np.array([[1, 1, 1]]).repeat(3, 0)), [2, 2, 2], [3, 3, 3], reduction="sum",
                    zero_infinity=True)
    assert float(N(zi)) == 0.0
    fd_check(lambda a: F.ctc_loss(F.log_softmax(a, 2), T(targets), T(np.array(in_lens)),
                                  T(np.array(tg_lens))), [logits.copy()], rtol=1e-4, atol=1e-6)


def grid_sample_ref(x, grid, align, padding="zeros"):
    Nn, C, H, W = x.shape
    _, Ho, Wo, _ = grid.shape
    out = np.zeros((Nn, C, Ho, Wo))

    def unnorm(c, size):
        return ((c + 1) / 2) * (size - 1) if align else ((c + 1) * size - 1) / 2

    for n in range(Nn):
        for i in range(Ho):
            for j in range(Wo):
                ix = unnorm(grid[n, i, j, 0], W)
                iy = unnorm(grid[n, i, j, 1], H)
                if padding == "border":
                    ix = min(max(ix, 0), W - 1)
                    iy = min(max(iy, 0), H - 1)
                x0, y0 = int(np.floor(ix)), int(np.floor(iy))
                acc = np.zeros(C)
                for yy, wy in ((y0, y0 + 1 - iy), (y0 + 1, iy - y0)):
                    for xx, wx in ((x0, x0 + 1 - ix), (x0 + 1, ix - x0)):
                        if 0 <= yy < H and 0 <= xx < W:
                            acc += wy * wx * x[n, :, yy, xx]
                out[n, :, i, j] = acc
    return out


@pytest.mark.parametrize("align,padding", [(False, "zeros"), (True, "zeros"), (False, "border"), (True, "border")])
def test_grid_sample_bilinear_reference(align, padding):
    x = rnd(2, 3, 4, 5)
    grid = rnd(2, 3, 4, 2, lo=-1.3, hi=1.3)
    close(F.grid_sample(T(x), T(grid), padding_mode=padding, align_corners=align),
          grid_sample_ref(x, grid, align, padding), atol=1e-10)
    fd_check(lambda a, g: F.grid_sample(a, g, padding_mode=padding, align_corners=align),
             [rnd(1, 1, 3, 3), rnd(1, 2, 2, 2, lo=-0.9, hi=0.9)])


@needs_grad
def test_max_ties_route_gradient_to_first_element():
    # PyTorch's pooling kernels send the whole gradient to the first maximum of each window
    x = T(np.zeros((1, 1, 4, 4)), grad=True)
    F.max_pool2d(x, 2).sum().backward()
    ref = np.zeros((4, 4))
    ref[0::2, 0::2] = 1
    close(x.grad[0, 0], ref)
    y = T(np.zeros((1, 1, 5)), grad=True)
    F.adaptive_max_pool1d(y, 2).sum().backward()
    close(y.grad[0, 0], np.array([1.0, 0, 1, 0, 0]))
    w = T(np.ones((4, 2)), grad=True)
    F.embedding_bag(T(np.array([[0, 1], [2, 3]])), w, mode="max").sum().backward()
    close(w.grad, np.array([[1.0, 1], [0, 0], [1, 1], [0, 0]]))


def test_misc_small_functions():
    g = N(F.gumbel_softmax(T(rnd(4, 5)), hard=True))
    assert np.allclose(g.sum(1), 1) and set(np.unique(g)) <= {0.0, 1.0}
    s = F.gumbel_softmax(T(rnd(4, 5)), tau=0.5)
    np.testing.assert_allclose(N(s).sum(1), 1, rtol=1e-6)
    r = N(F.rrelu(T(-np.ones(1000)), 0.1, 0.3, training=True))
    assert np.all((r <= -0.1 + 1e-9) & (r >= -0.3 - 1e-9))
    x = rnd(1, 6, 2, 2)
    close(F.channel_shuffle(T(x), 3), x.reshape(1, 3, 2, 2, 2).transpose(0, 2, 1, 3, 4).reshape(1, 6, 2, 2))
    if not FORWARD_ONLY:
        w = T(rnd(4, 2), grad=True)
        F.embedding(T(np.array([1, 1, 2])), w, scale_grad_by_freq=True).sum().backward()
        close(w.grad, np.array([[0.0, 0], [1, 1], [1, 1], [0, 0]]))
