"""ferrotorch.nn.functional: PyTorch's ``torch.nn.functional``.

Every function here is composed from ferrotorch tensor ops (views, gathers,
matmul, elementwise math, reductions), so autograd -- including double
backward -- comes for free from the core.  The small *index* / *weight*
tables that depend on shapes alone (padding sources, im2col offsets,
interpolation taps) are built with ferrotorch tensor ops too, directly on the
input's device: no NumPy in any op's forward.

Each public function is a single clean definition so the core can swap in a
fused kernel later without touching callers.
"""

import functools
import itertools
import math
import numbers
import struct
import warnings

import ferrotorch as torch
from ferrotorch import _C

__all__ = []  # filled at the bottom


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------

def _wrap_dim(dim, ndim):
    """PyTorch's maybe_wrap_dim: IndexError when out of range (0-d tensors accept -1 and 0)."""
    n = max(ndim, 1)
    if dim < -n or dim >= n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _prod(xs):
    p = 1
    for x in xs:
        p *= int(x)
    return p


def _shape(t):
    return tuple(int(s) for s in t.shape)


def _is_tensor(x):
    return isinstance(x, torch.Tensor)


def _dtype_name(dt):
    return str(dt).split(".")[-1]


def _device_of(t):
    return t.device


def _is_cpu(dev):
    return getattr(dev, "type", str(dev)).startswith("cpu")


def _to_dev(t, like):
    dev = like.device
    if not _is_cpu(dev):
        t = t.to(dev)
    return t


def _dev_key(t):
    """Hashable device key for the cached index tables (tables live on the device that uses them)."""
    return str(t.device)


def _arange(start, stop, dev, dtype=None):
    """int64 (or ``dtype``) arange on device ``dev``; an empty range where ``stop < start``."""
    t = torch.arange(start, max(stop, start), device=dev)
    return t if dtype is None else t.to(dtype)


def _round_scalar(v, fname):
    """A Python float rounded to ``fname``'s precision (what a C++ ``(float)`` cast does): float32 scalar
    math done in Python stays exact this way (a double op on two float32 values, rounded once to float32,
    is the float32 op)."""
    v = float(v)
    if fname == "float64":
        return v
    try:
        return struct.unpack("f", struct.pack("f", v))[0]
    except OverflowError:
        return math.copysign(math.inf, v)


def _ntuple(x, n, name="argument"):
    if isinstance(x, (list, tuple)) or (hasattr(x, "__len__") and not isinstance(x, str)):
        x = tuple(x)
        if len(x) == 1 and n > 1:
            return tuple(int(x[0]) for _ in range(n))
        if len(x) != n:
            raise RuntimeError(
                f"expected {name} to be a single integer value or a list of {n} values to match "
                f"the convolution dimensions, but got {name}={list(x)}")
        return tuple(int(v) for v in x)
    return (int(x),) * n


def _single(x):
    return _ntuple(x, 1)


def _pair(x):
    return _ntuple(x, 2)


def _triple(x):
    return _ntuple(x, 3)


class _Reduction:
    @staticmethod
    def get_enum(reduction):
        if reduction == "none":
            return 0
        if reduction in ("mean", "elementwise_mean"):
            return 1
        if reduction == "sum":
            return 2
        raise ValueError(f"{reduction} is not a valid value for reduction")

    @staticmethod
    def legacy_get_string(size_average, reduce, emit_warning=True):
        warning = "size_average and reduce args will be deprecated, please use reduction='{}' instead."
        if size_average is None:
            size_average = True
        if reduce is None:
            reduce = True
        if size_average and reduce:
            ret = "mean"
        elif reduce:
            ret = "sum"
        else:
            ret = "none"
        if emit_warning:
            warnings.warn(warning.format(ret), stacklevel=3)
        return ret

    @staticmethod
    def legacy_get_enum(size_average, reduce, emit_warning=True):
        return _Reduction.get_enum(_Reduction.legacy_get_string(size_average, reduce, emit_warning))


def _reduction_arg(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        return _Reduction.legacy_get_string(size_average, reduce)
    return reduction


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _scale_grad(x, s):
    """Value of x exactly, gradient multiplied by ``s``."""
    xd = x.detach()
    return xd + (x - xd) * s


def _inplace_result(input, out):
    """Write ``out`` into ``input`` for functions without a native in-place kernel.

    When autograd is recording through ``input`` the out-of-place result is
    returned instead (an in-place copy would invalidate tensors saved for
    backward)."""
    if input.requires_grad and torch.is_grad_enabled():
        return out
    with torch.no_grad():
        input.copy_(out)
    return input


def _check_loss_sizes(input, target, name):
    if _shape(input) != _shape(target):
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
            "This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", stacklevel=3)


def _broadcast_shapes(*shapes):
    ndim = max(len(s) for s in shapes)
    out = []
    for i in range(ndim):
        size = 1
        for s in shapes:
            j = i - (ndim - len(s))
            if j < 0:
                continue
            d = s[j]
            if d == 1:
                continue
            if size != 1 and d != size:
                raise RuntimeError(
                    f"The size of tensor a ({shapes[0][j] if j < len(shapes[0]) else 1}) must match the size of "
                    f"tensor b ({d}) at non-singleton dimension {i}")
            size = d
        out.append(size)
    return tuple(out)


# ---------------------------------------------------------------------------
# padding
# ---------------------------------------------------------------------------

def _constant_pad(x, pads, value):
    """pads: list of (left, right) starting from the LAST dimension."""
    nd = x.dim()
    for i, (l, r) in enumerate(pads):
        d = nd - 1 - i
        size = int(x.shape[d])
        new_size = size + l + r
        if new_size < 0:
            raise RuntimeError(
                f"The input size {size}, plus negative padding {l} and {r} resulted in a negative output size, "
                f"which is invalid. Check dimension {d} of your input.")
        if l < 0 or r < 0:
            start = -l if l < 0 else 0
            stop = size + r if r < 0 else size
            x = x.narrow(d, start, max(stop - start, 0))
            l = max(l, 0)
            r = max(r, 0)
        if l == 0 and r == 0:
            continue
        parts = []
        if l > 0:
            shp = list(x.shape)
            shp[d] = l
            parts.append(torch.full(shp, value, dtype=x.dtype, device=x.device))
        parts.append(x)
        if r > 0:
            shp = list(x.shape)
            shp[d] = r
            parts.append(torch.full(shp, value, dtype=x.dtype, device=x.device))
        x = torch.cat(parts, d)
    return x


@functools.lru_cache(maxsize=512)
def _pad_index(size, l, r, mode, dev):
    """Source index (int64 tensor on ``dev``; cached, never mutated) along one dim for
    reflect/replicate/circular padding by (l, r).

    Negative pads crop first (PyTorch's kernels read from the cropped range)."""
    if mode == "circular":
        # PyTorch copies the cropped centre, then wraps the positive pads around it
        lo, hi = max(-l, 0), size - max(-r, 0)
        c = hi - lo
        j = _arange(-max(l, 0), c + max(r, 0), dev)
        return (j % c) + lo if c > 0 else torch.zeros_like(j)
    j = _arange(-l, size + r, dev)
    if mode == "reflect":
        period = 2 * (size - 1)
        if period == 0:
            return torch.zeros_like(j)
        j = j.abs() % period
        j = torch.where(j >= size, period - j, j)
    elif mode == "replicate":
        j = j.clamp(0, size - 1)
    return j


_PAD_DIMS_MSG = ("Supported combinations for non-constant padding:\n"
                 "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                 "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                 "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def pad(input, pad, mode="constant", value=None):
    r"""Pads tensor (PyTorch's ``torch.nn.functional.pad``)."""
    for i, p in enumerate(pad):
        if not isinstance(p, numbers.Integral) and not (_is_tensor(p) and not p.is_floating_point()):
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type "
                            f"{type(p).__name__} at pos {i}")
    pad = [int(p) for p in pad]
    if len(pad) % 2 != 0:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError(
            f"Padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(pad)} and input of dimension {input.dim()}")
    pads = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]
    if mode == "constant":
        return _constant_pad(input, pads, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument.')
    nd = input.dim()
    k = len(pads)
    if k not in (1, 2, 3) or nd not in (k + 1, k + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {nd}D input tensor.\n"
                                  + _PAD_DIMS_MSG)
    shp = _shape(input)
    if mode != "circular":
        if _dtype_name(input.dtype) == "bool":
            kname = ("reflection" if mode == "reflect" else "replication") + f"_pad{k}d"
            raise NotImplementedError(f'"{kname}" not implemented for \'Bool\'')
        # non-batch dims must be non-empty (the leading dim of an unbatched input counts as channels)
        if any(v == 0 for v in shp[1:]):
            raise RuntimeError(
                f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and other non-zero "
                f"dimensions for input, but got: {list(shp)}")
    x = input
    for i, (l, r) in enumerate(pads):
        d = nd - 1 - i
        size = int(x.shape[d])
        out = size + l + r
        if mode == "reflect" and (l >= size or r >= size):
            raise RuntimeError(
                f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding input dimension, but "
                f"got: padding ({l}, {r}) at dimension {d} of input {list(input.shape)}")
        if mode == "circular":
            if l > size or r > size:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if out < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
        elif out < 1 and (k == 1 or out < 0):
            name = "WHD"[i]
            raise RuntimeError(f"input ({name}: {size}) is too small. Calculated output {name}: {out}")
        if l == 0 and r == 0:
            continue
        x = x.index_select(d, _pad_index(size, l, r, mode, _dev_key(x)))
    return x


# ---------------------------------------------------------------------------
# linear / bilinear
# ---------------------------------------------------------------------------

def linear(input, weight, bias=None):
    r"""y = x A^T + b"""
    if weight.dim() == 2 and input.dim() >= 1 and int(input.shape[-1]) != int(weight.shape[1]):
        rows = _prod(input.shape[:-1]) if input.dim() > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{int(input.shape[-1])} and "
            f"{int(weight.shape[1])}x{int(weight.shape[0])})")
    if (weight.dim() == 2 and input.dim() >= 2 and _dtype_name(input.dtype) in ("float32", "float64", "bfloat16", "float16")
            and weight.dtype == input.dtype and (bias is None or (bias.dtype == input.dtype and bias.dim() <= 1))
            and (input.dim() == 2 or bias is not None)):
        # one AddmmBackward0 / MmBackward0 node; a batched input is folded to 2-D and viewed back
        # (float16 / bfloat16 add the bias before their one rounding, as PyTorch's addmm does)
        if input.dim() == 2:
            return _C.linear(input, weight, bias)
        lead = _shape(input)[:-1]
        out = _C.linear(input.reshape(-1, int(input.shape[-1])), weight, bias)
        return out.view(*lead, int(weight.shape[0]))
    out = input.matmul(weight.t() if weight.dim() == 2 else weight)
    if bias is not None:
        out = out + bias
    return out


def bilinear(input1, input2, weight, bias=None):
    r"""y = x1^T A x2 + b"""
    if weight.dim() != 3:
        raise RuntimeError(f"bilinear(): weight must be 3D, but got {weight.dim()}D")
    O, I, J = _shape(weight)
    if int(input1.shape[-1]) != I:
        raise RuntimeError(
            f"bilinear(): input1 size does not match weight size: got {int(input1.shape[-1])} but expected {I}")
    if int(input2.shape[-1]) != J:
        raise RuntimeError(
            f"bilinear(): input2 size does not match weight size: got {int(input2.shape[-1])} but expected {J}")
    if _shape(input1)[:-1] != _shape(input2)[:-1]:
        raise RuntimeError(
            f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} and "
            f"{list(input2.shape[:-1])}")
    # t[..., o, j] = sum_i x1[..., i] W[o, i, j]
    w = weight.permute(1, 0, 2).reshape(I, O * J)
    t = input1.matmul(w)
    t = t.reshape(*_shape(input1)[:-1], O, J)
    out = (t * input2.unsqueeze(-2)).sum(-1)
    if bias is not None:
        out = out + bias
    return out


# ---------------------------------------------------------------------------
# convolution
# ---------------------------------------------------------------------------

def _windows(x, ks, stride, dilation):
    """x: [..., *spatial] (already padded) -> [..., *out, *ks] as views (Tensor.unfold)."""
    nd = len(ks)
    base = x.dim() - nd
    for i in range(nd):
        k, s, d = ks[i], stride[i], dilation[i]
        eff = d * (k - 1) + 1
        x = x.unfold(base + i, eff, s)
        if d > 1:
            x = x.unfold(x.dim() - 1, 1, d).squeeze(-1)
    return x


def _im2col(x, ks, stride, dilation, out_sp):
    """x: padded [N, C, *spatial] -> per-sample columns [N, C*K, L] (output positions innermost,
    so the copy is fast and a matmul with the weight gives [N, O, L] directly)."""
    nd = len(ks)
    N, C = int(x.shape[0]), int(x.shape[1])
    K, L = _prod(ks), _prod(out_sp)
    if x.requires_grad and torch.is_grad_enabled() and all(s == 1 for s in stride):
        # stack of shifted views: its backward (narrow/stack) is cheaper than Tensor.unfold's
        pieces = []
        for koff in itertools.product(*[range(k) for k in ks]):
            v = x
            for i in range(nd):
                v = v.narrow(2 + i, koff[i] * dilation[i], out_sp[i])
            pieces.append(v)
        return torch.stack(pieces, 2).reshape(N, C * K, L)
    win = _windows(x, ks, stride, dilation)  # [N, C, *out, *ks] (views)
    perm = [0, 1] + list(range(2 + nd, 2 + 2 * nd)) + list(range(2, 2 + nd))
    return win.permute(perm).reshape(N, C * K, L)


def _flat_pads(pads):
    """[(l, r) per spatial dim, first spatial dim first] -> F.pad list (last dim first)."""
    flat = []
    for l, r in reversed(pads):
        flat += [l, r]
    return flat


def _conv_padding(padding, nd, ks, stride, dilation):
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = []
            for d, k in zip(dilation, ks):
                total = d * (k - 1)
                left = total // 2
                pads.append((left, total - left))
            return pads
        raise RuntimeError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
    p = _ntuple(padding, nd, "padding")
    if any(v < 0 for v in p):
        raise RuntimeError("negative padding is not supported")
    return [(v, v) for v in p]


def _native_conv_ok(input, weight, bias):
    """float32/float64 inputs of one dtype run the native kernel (one autograd node); the rest keep
    the composite path, which gives PyTorch's integer and half-precision results (its half kernels
    round intermediate products) and its dtype-mismatch errors."""
    return (_dtype_name(input.dtype) in ("float32", "float64") and weight.dtype == input.dtype
            and (bias is None or bias.dtype == input.dtype) and input.device == weight.device)


def _check_empty_spatial(shp):
    """PyTorch's convolutions take an empty batch or channel axis, not an empty spatial one
    (its message shows 1-d inputs as the 2-d ones it computes them as)."""
    if shp[0] and shp[1] and any(s == 0 for s in shp[2:]):
        shown = [shp[0], shp[1], 1, shp[2]] if len(shp) == 3 else list(shp)
        raise RuntimeError(f"Only zero batch or zero channel inputs are supported, but got input shape: {shown}")


def _conv_nd(input, weight, bias, stride, padding, dilation, groups, nd, name):
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got input of size: "
            f"{list(input.shape)}")
    unbatched = input.dim() == nd + 1
    if unbatched:
        input = input.unsqueeze(0)
    if weight.dim() != nd + 2:
        raise RuntimeError(
            f"weight should have at least three dimensions" if weight.dim() < 3 else
            f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional input {list(input.shape)}, but got "
            f"{weight.dim()}-dimensional weight of size {list(weight.shape)} instead")
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    stride = _ntuple(stride, nd, "stride")
    dilation = _ntuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    shp = _shape(input)
    N, C = shp[0], shp[1]
    O, Cg = int(weight.shape[0]), int(weight.shape[1])
    ks = _shape(weight)[2:]
    if C != Cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(input.shape)} to have "
            f"{Cg * groups} channels, but got {C} channels instead")
    if O < 1:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, but got "
                           f"weight of size {list(weight.shape)} instead")
    if O % groups != 0:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight of "
            f"size {list(weight.shape)} instead")
    if bias is not None and (bias.dim() != 1 or int(bias.shape[0]) != O):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with {O} elements, "
            f"but got bias of size {list(bias.shape)} instead")
    pads = _conv_padding(padding, nd, ks, stride, dilation)
    if not input.is_floating_point():
        # PyTorch's CPU kernels: dilated ones take floats and int64 only, the others any type but bool
        if any(d > 1 for d in dilation) and _dtype_name(input.dtype) != "int64":
            raise _not_implemented("slow_conv_dilated<>", input.dtype)
        if _dtype_name(input.dtype) == "bool" and nd < 3:
            raise _not_implemented("slow_conv2d_cpu", input.dtype)
    sp = shp[2:]
    padded = [sp[i] + pads[i][0] + pads[i][1] for i in range(nd)]
    eff = [dilation[i] * (ks[i] - 1) + 1 for i in range(nd)]
    if any(padded[i] < eff[i] for i in range(nd)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(str(p) for p in padded)}). "
            f"Kernel size: ({' x '.join(str(e) for e in eff)}). Kernel size can't be greater than actual input size")
    _check_empty_spatial(shp)
    if _native_conv_ok(input, weight, bias):
        out_sp = [(padded[i] - eff[i]) // stride[i] + 1 for i in range(nd)]
        out = _C.convolution(input, weight, bias, list(stride), [l for l, _ in pads], list(dilation), groups, False,
                             out_sp)
        return out.squeeze(0) if unbatched else out
    x = input
    if any(l or r for l, r in pads):
        x = _constant_pad(x, [(l, r) for l, r in reversed(pads)], 0.0)
    if all(k == 1 for k in ks) and all(st == 1 for st in stride) and not any(l or r for l, r in pads):
        out_sp = sp
        cols = x.reshape(N, C, _prod(sp))  # 1x1 convolution: no im2col copy
    else:
        out_sp = tuple((padded[i] - eff[i]) // stride[i] + 1 for i in range(nd))
        cols = _im2col(x, ks, stride, dilation, out_sp)
    L = _prod(out_sp)
    Kk = _prod(ks)
    if groups == 1:
        out = weight.reshape(O, C * Kk).matmul(cols)  # [N, O, L]
    elif Cg == 1 and O == groups:
        # depthwise: multiply by the taps and reduce over them
        out = (cols.reshape(N, C, Kk, L) * weight.reshape(O, Kk, 1)).sum(2)
    else:
        w = weight.reshape(groups, O // groups, Cg * Kk)
        out = w.matmul(cols.reshape(N, groups, Cg * Kk, L)).reshape(N, O, L)
    if bias is not None:
        out = out + bias.reshape(O, 1)
    out = out.reshape(N, O, *out_sp)
    if not input.is_floating_point() and out.dtype != input.dtype:
        out = out.to(input.dtype)  # integer sums promote; PyTorch keeps the input's dtype
    if unbatched:
        out = out.squeeze(0)
    return out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


@functools.lru_cache(maxsize=256)
def _col2im_index(padded, ks, dilation, stride, blocks, dev):
    """Flat index (int64 tensor on ``dev``; cached, never mutated) into the padded output plane for every
    (k..., l...) column entry."""
    nd = len(ks)
    strides = [_prod(padded[i + 1:]) for i in range(nd)]
    total = None
    for i in range(nd):
        k = _arange(0, ks[i], dev) * dilation[i]
        l = _arange(0, blocks[i], dev) * stride[i]
        c = k.unsqueeze(1) + l.unsqueeze(0)  # [k_i, L_i]
        shape = [1] * (2 * nd)
        shape[i] = ks[i]
        shape[nd + i] = blocks[i]
        term = c.reshape(shape) * strides[i]
        total = term if total is None else total + term  # broadcasts to [*ks, *blocks]
    return total.reshape(-1)


def _col2im(cols, out_sp, ks, dilation, padding, stride, blocks=None):
    """cols: [N, C, K, L] -> [N, C, *out_sp] summing overlapping entries (index_add).

    ``blocks``: the block grid (a transposed conv's input size, which an output_padding of at least the
    stride would otherwise enlarge); by default all the blocks that fit."""
    nd = len(ks)
    N, C = int(cols.shape[0]), int(cols.shape[1])
    padded = tuple(out_sp[i] + 2 * padding[i] for i in range(nd))
    if blocks is None:
        blocks = tuple((padded[i] - dilation[i] * (ks[i] - 1) - 1) // stride[i] + 1 for i in range(nd))
    idx = _col2im_index(padded, tuple(ks), tuple(dilation), tuple(stride), tuple(blocks), _dev_key(cols))
    src = cols.reshape(N, C, _prod(_shape(cols)[2:]))
    out = torch.zeros(N, C, _prod(padded), dtype=cols.dtype, device=cols.device).index_add(2, idx, src)
    out = out.reshape(N, C, *padded)
    for i in range(nd):
        if padding[i]:
            out = out.narrow(2 + i, padding[i], out_sp[i])
    return out


def _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, nd, name):
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got input of size: "
            f"{list(input.shape)}")
    unbatched = input.dim() == nd + 1
    if unbatched:
        input = input.unsqueeze(0)
    if weight.dim() != nd + 2:
        raise RuntimeError(
            f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional input, but got "
            f"{weight.dim()}-dimensional weight of size {list(weight.shape)} instead")
    if isinstance(padding, str):
        raise RuntimeError(f"{name}: padding must be an int or a tuple, got '{padding}'")
    groups = int(groups)
    stride = _ntuple(stride, nd, "stride")
    padding = _ntuple(padding, nd, "padding")
    output_padding = _ntuple(output_padding, nd, "output_padding")
    dilation = _ntuple(dilation, nd, "dilation")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    shp = _shape(input)
    N, Cin = shp[0], shp[1]
    sp = shp[2:]
    Cw, Og = int(weight.shape[0]), int(weight.shape[1])
    ks = _shape(weight)[2:]
    if Cin != Cw:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(input.shape)} to have "
            f"{Cw} channels, but got {Cin} channels instead")
    if Cin % groups != 0:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight of "
            f"size {list(weight.shape)} instead")
    for i in range(nd):
        if not (output_padding[i] < stride[i] or output_padding[i] < dilation[i]):
            raise RuntimeError(
                f"output padding must be smaller than either stride or dilation, but got output_padding: "
                f"{list(output_padding)} stride: {list(stride)} dilation: {list(dilation)}")
    if not (input.is_floating_point() or _dtype_name(input.dtype) == "int64"):
        raise _not_implemented(f"slow_conv_transpose{3 if nd == 3 else 2}d_out_cpu", input.dtype)
    O = Og * groups
    out_sp = tuple((sp[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (ks[i] - 1) + output_padding[i] + 1
                   for i in range(nd))
    if any(o < 0 for o in out_sp):
        raise RuntimeError(f"Given input size per channel: {list(sp)}. Calculated output size per channel: "
                           f"{list(out_sp)}. Output size is too small")
    _check_empty_spatial(shp)
    if _native_conv_ok(input, weight, bias):
        out = _C.convolution(input, weight, bias, list(stride), list(padding), list(dilation), groups, True,
                             list(out_sp))
        return out.squeeze(0) if unbatched else out
    L = _prod(sp)
    Kk = _prod(ks)
    Cg = Cin // groups
    if groups == 1:
        x = input.reshape(N, Cin, L)
        w = weight.reshape(Cin, O * Kk).t()  # [O*K, Cin]
        cols = w.matmul(x)  # [N, O*K, L]
    else:
        x = input.reshape(N, groups, Cg, L)
        w = weight.reshape(groups, Cg, Og * Kk).transpose(1, 2)  # [G, Og*K, Cg]
        cols = w.matmul(x)  # [N, G, Og*K, L]
    cols = cols.reshape(N, O, Kk, L)
    out = _col2im(cols, out_sp, ks, dilation, padding, stride, tuple(sp))
    if bias is not None:
        out = out + bias.reshape(O, *([1] * nd))
    if unbatched:
        out = out.squeeze(0)
    return out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                              "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                              "conv_transpose2d")


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                              "conv_transpose3d")


def conv_tbc(input, weight, bias, pad=0):
    """Time-batch-channel 1-D convolution: input [T, B, C], weight [K, C, O]."""
    x = input.permute(1, 2, 0)  # [B, C, T]
    w = weight.permute(2, 1, 0)  # [O, C, K]
    out = conv1d(x, w, bias, padding=pad)
    return out.permute(2, 0, 1)


def _check_im2col_args(ks, dil, pd, st):
    if ks[0] <= 0 or ks[1] <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: {ks[0]} "
                           f"kernel_width: {ks[1]}")
    if st[0] <= 0 or st[1] <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {st[0]} "
                           f"stride_width: {st[1]}")
    if dil[0] <= 0 or dil[1] <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: {dil[0]} "
                           f"dilation_width: {dil[1]}")
    if pd[0] < 0 or pd[1] < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {pd[0]} pad_width: {pd[1]}")


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    r"""Extract sliding local blocks (im2col): [N, C, H, W] -> [N, C*kh*kw, L]."""
    if input.dim() not in (3, 4):
        raise NotImplementedError(
            f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    unbatched = input.dim() == 3
    if unbatched:
        input = input.unsqueeze(0)
    ks = _pair(kernel_size)
    dil = _pair(dilation)
    pd = _pair(padding)
    st = _pair(stride)
    _check_im2col_args(ks, dil, pd, st)
    if not input.is_floating_point() and _dtype_name(input.dtype) != "bool":
        raise _not_implemented("im2col_out_cpu", input.dtype)
    x = input
    if any(pd):
        x = _constant_pad(x, [(pd[1], pd[1]), (pd[0], pd[0])], 0.0)
    N, C = int(x.shape[0]), int(x.shape[1])
    for i in range(2):
        if int(x.shape[2 + i]) < dil[i] * (ks[i] - 1) + 1:
            raise RuntimeError(
                f"Given input with spatial size ({int(input.shape[2])}, {int(input.shape[3])}), "
                f"kernel_size=({ks[0]}, {ks[1]}), dilation=({dil[0]}, {dil[1]}), padding=({pd[0]}, {pd[1]}), "
                f"calculated shape of the array of sliding blocks as (0, 0), but its components must be at least one.")
    win = _windows(x, ks, st, dil)  # [N, C, oH, oW, kh, kw]
    oH, oW = int(win.shape[2]), int(win.shape[3])
    out = win.permute(0, 1, 4, 5, 2, 3).reshape(N, C * ks[0] * ks[1], oH * oW)
    if unbatched:
        out = out.squeeze(0)
    return out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    r"""Combine sliding local blocks into a tensor (col2im): [N, C*kh*kw, L] -> [N, C, H, W]."""
    if input.dim() not in (2, 3):
        raise NotImplementedError(
            f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported (got {input.dim()}D)")
    unbatched = input.dim() == 2
    if unbatched:
        input = input.unsqueeze(0)
    os_ = _pair(output_size)
    ks = _pair(kernel_size)
    dil = _pair(dilation)
    pd = _pair(padding)
    st = _pair(stride)
    _check_im2col_args(ks, dil, pd, st)
    N, CK, L = _shape(input)
    K = ks[0] * ks[1]
    if CK % K != 0:
        raise RuntimeError(
            f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but got "
            f"input.size(1)={CK} and kernel_size=({ks[0]}, {ks[1]})")
    blocks = [(os_[i] + 2 * pd[i] - dil[i] * (ks[i] - 1) - 1) // st[i] + 1 for i in range(2)]
    if blocks[0] * blocks[1] != L or blocks[0] < 1 or blocks[1] < 1:
        raise RuntimeError(
            f"Given output_size=({os_[0]}, {os_[1]}), kernel_size=({ks[0]}, {ks[1]}), "
            f"dilation=({dil[0]}, {dil[1]}), padding=({pd[0]}, {pd[1]}), stride=({st[0]}, {st[1]}), expected size "
            f"of input's dimension 2 to match the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{blocks[0] * blocks[1]}, but got input.size(2)={L}.")
    cols = input.reshape(N, CK // K, K, L)
    out = _col2im(cols, os_, ks, dil, pd, st)
    if unbatched:
        out = out.squeeze(0)
    return out


# ---------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------

def _pool_out_size(size, k, s, pl, pr, d, ceil_mode):
    num = size + pl + pr - d * (k - 1) - 1 + ((s - 1) if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + pl:
        out -= 1
    return out


def _pool_setup(input, kernel_size, stride, padding, dilation, nd, name):
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{name}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor for input, but got: "
            f"{list(input.shape)}" if nd > 1 else
            f"{name}() Expected 2D or 3D input tensor, but got {list(input.shape)}")
    ks = _ntuple(kernel_size, nd, "kernel_size")
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        st = ks
    else:
        st = _ntuple(stride, nd, "stride")
    pd = _ntuple(padding, nd, "padding")
    dl = _ntuple(dilation, nd, "dilation")
    if any(k <= 0 for k in ks):
        raise RuntimeError(f"{name}: kernel_size must be greater than zero, but got {list(ks)}")
    if any(s <= 0 for s in st):
        raise RuntimeError(f"{name}: stride must be greater than zero, but got {list(st)}")
    if any(d <= 0 for d in dl):
        raise RuntimeError(f"{name}: dilation must be greater than zero, but got {list(dl)}")
    for p in pd:
        if p < 0:
            if name == "max_pool1d":
                raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
    return ks, st, pd, dl


def _pool_geometry(sp, ks, st, pd, dl, ceil_mode, name):
    nd = len(ks)
    outs, pads = [], []
    for i in range(nd):
        o = _pool_out_size(sp[i], ks[i], st[i], pd[i], pd[i], dl[i], ceil_mode)
        if o <= 0:
            raise RuntimeError(
                f"Given input size: ({'x'.join(str(v) for v in sp)}). Calculated output size: "
                f"({'x'.join(str(_pool_out_size(sp[j], ks[j], st[j], pd[j], pd[j], dl[j], ceil_mode)) for j in range(nd))}). "
                f"Output size is too small")
        right = (o - 1) * st[i] + dl[i] * (ks[i] - 1) + 1 - sp[i] - pd[i]
        outs.append(o)
        pads.append((pd[i], right))
    return outs, pads


def _not_implemented(kernel, dtype):
    dn = _dtype_name(dtype)
    return NotImplementedError(f'"{kernel}" not implemented for \'{_TYPE_NAMES.get(dn, dn)}\'')


def _max_last(win):
    """Max over the last dim -> (values, argmax) with PyTorch's max rules: the first maximum wins,
    except that the last NaN wins over everything.

    The values are gathered at the argmax, so the gradient flows to that single element."""
    K = int(win.shape[-1])
    with torch.no_grad():
        arg = win.argmax(-1)
        if win.is_floating_point():
            nan = win.isnan()
            if bool(nan.any()):
                pos = torch.arange(1, K + 1, device=win.device)
                last = (nan.to(torch.int64) * pos).amax(-1) - 1
                arg = torch.where(last >= 0, last, arg)
    values = win.gather(-1, arg.unsqueeze(-1)).squeeze(-1)
    return values, arg


def _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd, name):
    ks, st, pd, dl = _pool_setup(input, kernel_size, stride, padding, dilation, nd, name)
    if _dtype_name(input.dtype) == "bool":
        raise _not_implemented(f"max_pool{nd}d", input.dtype)
    if nd == 1 and not return_indices and not input.is_floating_point():
        raise _not_implemented("max_pool1d_impl", input.dtype)
    for i in range(nd):
        if nd == 1 and pd[i] > (dl[i] * (ks[i] - 1) + 1) // 2:
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={pd[i]}, "
                f"kernel_size={ks[i]} and dilation={dl[i]}")
        if nd > 1 and pd[i] > ks[i] // 2:
            raise RuntimeError(
                f"pad should be smaller than or equal to half of kernel size, but got padW = {pd[-1]}, "
                f"padH = {pd[-2]}, kW = {ks[-1]}, kH = {ks[-2]}")
    if any(v == 0 for v in _shape(input)[1:]):
        raise RuntimeError(
            f"{name}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with optional 0 dim batch size for input, "
            f"but got:{list(input.shape)}")
    sp = _shape(input)[-nd:]
    outs, _ = _pool_geometry(sp, ks, st, pd, dl, ceil_mode, name)
    if _is_half(input):  # max is exact in float32; the result rounds back without loss
        values, indices = _max_pool_nd(input.float(), ks, st, pd, dl, ceil_mode, True, nd, name)
        values = values.to(input.dtype)
        return (values, indices) if return_indices else values
    if nd == 1:  # PyTorch's 1-D pools are 2-D pools of a height-1 input
        values, indices = _C.max_pool(input.unsqueeze(-2), 2, [1, ks[0]], [1, st[0]], [0, pd[0]], [1, dl[0]],
                                      [1, outs[0]])
        values, indices = values.squeeze(-2), indices.squeeze(-2)
    else:
        # leading dims are planes to the kernel, so an unbatched input needs no squeeze node
        values, indices = _C.max_pool(input, nd, list(ks), list(st), list(pd), list(dl), list(outs))
    return (values, indices) if return_indices else values


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, True, 1, "max_pool1d")


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, True, 2, "max_pool2d")


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, True, 3, "max_pool3d")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3, "max_pool3d")


def _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, nd, name):
    ks = _ntuple(kernel_size, nd, "kernel_size")
    st = ks if stride is None else _ntuple(stride, nd, "stride")
    pd = _ntuple(padding, nd, "padding")
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    idx = indices.unsqueeze(0) if unbatched else indices
    sp = _shape(x)[2:]
    default = [(sp[i] - 1) * st[i] + ks[i] - 2 * pd[i] for i in range(nd)]
    if output_size is None:
        out_sp = default
    else:
        out_sp = [int(v) for v in output_size]
        if len(out_sp) == nd + 2:
            out_sp = out_sp[2:]
        elif len(out_sp) == nd + 1:
            out_sp = out_sp[1:]
        if len(out_sp) != nd:
            raise ValueError(
                f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a length of "
                f"'{len(out_sp)}'")
        for i in range(nd):
            lo = default[i] - st[i]
            hi = default[i] + st[i]
            if not (lo < out_sp[i] < hi):
                raise ValueError(
                    f'invalid output_size "{out_sp}" (dim {i} must be between {lo} and {hi})')
    N, C = int(x.shape[0]), int(x.shape[1])
    flat = x.reshape(N, C, -1)
    fidx = idx.reshape(N, C, -1)
    total = _prod(out_sp)
    if fidx.numel() > 0:
        bad = (fidx < 0) | (fidx >= total)
        if bool(bad.any()):
            first = int(fidx.masked_select(bad)[0].item())
            dims = list(out_sp) if nd > 1 else [out_sp[0], 1]
            raise RuntimeError(f"Found an invalid max index: {first} (output volumes are of size "
                               f"{'x'.join(str(v) for v in dims)})")
    out = torch.zeros(N, C, _prod(out_sp), dtype=x.dtype, device=x.device).scatter(2, fidx, flat)
    out = out.reshape(N, C, *out_sp)
    if unbatched:
        out = out.squeeze(0)
    return out


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 3, "max_unpool3d")


def _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd, name):
    ks, st, pd, dl = _pool_setup(input, kernel_size, stride, padding, 1, nd, name)
    if nd == 3 and any(s < k for s, k in zip(_shape(input)[-3:], ks)):
        t, h, w = _shape(input)[-3:]
        raise RuntimeError(f"input image (T: {t} H: {h} W: {w}) smaller than kernel size "
                           f"(kT: {ks[0]} kH: {ks[1]} kW: {ks[2]})")
    for i in range(nd):
        if pd[i] > ks[i] // 2:
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={pd[i]}, kernel_size={ks[i]} "
                f"and dilation=1" if nd == 1 else
                f"pad should be smaller than or equal to half of kernel size, but got padW = {pd[-1]}, "
                f"padH = {pd[0]}, kW = {ks[-1]}, kH = {ks[0]}")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    # CPU kernels: floats, plus int64 (integer division truncating toward zero); avg_pool3d has no half kernels
    dn = _dtype_name(input.dtype)
    if dn not in ("float32", "float64", "int64") and (nd == 3 or dn not in ("float16", "bfloat16")):
        raise _not_implemented("avg_pool3d_out_frame" if nd == 3 else "avg_pool2d", input.dtype)
    if _is_half(input):  # accumulate and divide in float32, round once
        return _avg_pool_nd(input.float(), kernel_size, stride, padding, ceil_mode, count_include_pad,
                            divisor_override, nd, name).to(input.dtype)
    sp = _shape(input)[-nd:]
    outs, _ = _pool_geometry(sp, ks, st, pd, dl, ceil_mode, name)
    div = None if divisor_override is None else int(divisor_override)
    if nd == 1:  # PyTorch's 1-D pools are 2-D pools of a height-1 input
        out = _C.avg_pool(input.unsqueeze(-2), 2, [1, ks[0]], [1, st[0]], [0, pd[0]], [1, outs[0]],
                          bool(count_include_pad), div)
        return out.squeeze(-2)
    return _C.avg_pool(input, nd, list(ks), list(st), list(pd), list(outs), bool(count_include_pad), div)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2,
                        "avg_pool2d")


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3,
                        "avg_pool3d")


def _lp_pool_nd(input, norm_type, kernel_size, stride, ceil_mode, nd):
    ks = _ntuple(kernel_size, nd, "kernel_size")
    if nd == 1:
        out = avg_pool1d(input.pow(norm_type), ks, stride, 0, ceil_mode)
    elif nd == 2:
        out = avg_pool2d(input.pow(norm_type), ks, stride, 0, ceil_mode)
    else:
        out = avg_pool3d(input.pow(norm_type), ks, stride, 0, ceil_mode)
    return (torch.sign(out) * relu(torch.abs(out))).mul(_prod(ks)).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool_nd(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool_nd(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool_nd(input, norm_type, kernel_size, stride, ceil_mode, 3)


def _adaptive_out(input, output_size, nd, name):
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got {list(input.shape)}")
    sp = _shape(input)[-nd:]
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != nd:
            raise RuntimeError(f"{name}: internal error: output_size.size() must be {nd}")
        outs = [sp[i] if output_size[i] is None else int(output_size[i]) for i in range(nd)]
    else:
        outs = [int(output_size)] * nd
    if any(o < 0 for o in outs):
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 but received "
                           f"{outs}")
    for i in range(nd):
        if sp[i] == 0 and outs[i] > 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but "
                               f"input has sizes {list(input.shape)} with dimension {input.dim() - nd + i} being "
                               f"empty")
    # the output must be allocatable before any index table is built for it (huge output_size
    # raises PyTorch's RuntimeError here instead of a NumPy MemoryError below)
    torch.empty(tuple(_shape(input)[:-nd]) + tuple(outs), dtype=input.dtype)
    return sp, outs


class _RaiseInBackward(torch.autograd.Function):
    """Identity whose backward raises: PyTorch's adaptive-pool backward kernels reject an empty grad_output."""

    @staticmethod
    def forward(ctx, x, msg):
        ctx.msg = msg
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(ctx.msg)


def _adaptive_backward_guard(out, nd, kind):
    """Make backward through an adaptive pool with an empty non-batch output dim raise like PyTorch."""
    if not (out.requires_grad and torch.is_grad_enabled()) or out.numel() != 0:
        return out
    shp = list(_shape(out))
    if nd == 1:  # the 1d pools run as 2d pools on input.unsqueeze(-2)
        shp = shp[:-1] + [1] + shp[-1:]
    empty = [i for i in range(1, len(shp)) if shp[i] == 0]
    if not empty:
        return out
    name = f"adaptive_{kind}_pool{3 if nd == 3 else 2}d_backward()"
    return _RaiseInBackward.apply(out, f"{name}: Expected grad_output to have non-zero size for non-batch "
                                       f"dimensions, but grad_output has sizes {shp} with dimension {empty[0]} "
                                       f"being empty")


def _adaptive_avg_pool_nd(input, output_size, nd, name):
    return _adaptive_backward_guard(_adaptive_avg_pool_impl(input, output_size, nd, name), nd, "avg")


def _adaptive_avg_pool_impl(input, output_size, nd, name):
    sp, outs = _adaptive_out(input, output_size, nd, name)
    x = input
    base = x.dim() - nd
    if nd == 1:  # PyTorch's 1-D pools are 2-D pools of a height-1 input
        return _adaptive_avg_pool_impl(x.unsqueeze(-2), [1, outs[0]], 2, name).squeeze(-2)
    if all(o == 1 for o in outs):
        return x.mean(dim=tuple(range(base, base + nd)), keepdim=True)
    if not input.is_floating_point():
        if nd < 3 and _prod(_shape(x)[:base]) * _prod(outs) == 0:
            # the 1d/2d kernels return an empty output before dispatching on the dtype
            return x.new_empty(tuple(_shape(x)[:base]) + tuple(outs))
        raise _not_implemented("adaptive_avg_pool3d_cpu" if nd == 3 else "adaptive_avg_pool2d", input.dtype)
    if _is_half(x):  # accumulate and divide in float32, round once
        return _adaptive_avg_pool_impl(x.float(), outs, nd, name).to(x.dtype)
    return _C.adaptive_avg_pool(x, nd, list(outs))


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg_pool_nd(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    return _adaptive_avg_pool_nd(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input, output_size):
    return _adaptive_avg_pool_nd(input, output_size, 3, "adaptive_avg_pool3d")


def _adaptive_max_pool_nd(input, output_size, return_indices, nd, name):
    sp, outs = _adaptive_out(input, output_size, nd, name)
    shp = list(_shape(input.unsqueeze(-2) if nd == 1 else input))
    empty = [i for i in range(1, len(shp)) if shp[i] == 0]
    if empty:
        raise RuntimeError(f"adaptive_max_pool{3 if nd == 3 else 2}d(): Expected input to have non-zero size for "
                           f"non-batch dimensions, but input has sizes {shp} with dimension {empty[0]} being empty")
    if not input.is_floating_point():
        raise _not_implemented("adaptive_max_pool3d_cpu" if nd == 3 else "adaptive_max_pool2d", input.dtype)
    if _is_half(input):  # max is exact in float32; the result rounds back without loss
        values, indices = _adaptive_max_pool_nd(input.float(), outs, True, nd, name)
        values = values.to(input.dtype)
        return (values, indices) if return_indices else values
    if nd == 1:  # PyTorch's 1-D pools are 2-D pools of a height-1 input
        values, indices = _C.adaptive_max_pool(input.unsqueeze(-2), 2, [1, outs[0]])
        values, indices = values.squeeze(-2), indices.squeeze(-2)
    else:
        values, indices = _C.adaptive_max_pool(input, nd, list(outs))
    values = _adaptive_backward_guard(values, nd, "max")
    return (values, indices) if return_indices else values


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive_max_pool_nd(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max_pool_nd(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d(input, output_size, return_indices=False):
    return _adaptive_max_pool_nd(input, output_size, return_indices, 3, "adaptive_max_pool3d")


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max_pool_nd(input, output_size, True, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max_pool_nd(input, output_size, True, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max_pool_nd(input, output_size, True, 3, "adaptive_max_pool3d")


# ---------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------

def _threshold(input, thr, value, inplace):
    """y = x if x > thr else value"""
    if _dtype_name(input.dtype) == "bool":
        raise _not_implemented("threshold_cpu", input.dtype)
    mask = input <= thr
    if inplace:
        return input.masked_fill_(mask, value)
    return input.masked_fill(mask, value)


def threshold(input, threshold, value, inplace=False):
    return _threshold(input, threshold, value, inplace)


def threshold_(input, threshold, value):
    return _threshold(input, threshold, value, True)


def relu(input, inplace=False):
    if _dtype_name(input.dtype) == "bool":
        raise RuntimeError("Boolean inputs not supported for relu")
    if inplace:
        return torch.relu_(input)
    return torch.relu(input)


def relu_(input):
    return torch.relu_(input)


def _is_half(t):
    return _dtype_name(t.dtype) in ("float16", "bfloat16")


def _in_float(input, fn):
    """fn(input), computed in float32 for half types and rounded once (PyTorch's opmath kernels)."""
    if _is_half(input):
        return fn(input.float()).to(input.dtype)
    return fn(input)


def _open_clamp(x, lo, hi, nan_gradient=False):
    """clamp(x, lo, hi) whose gradient is zero at the bounds too: it passes for x strictly
    inside, and with ``nan_gradient`` for NaN as well (PyTorch's hardtanh backward; its
    hardsigmoid backward gives NaN none)."""
    y = torch.clamp(x, lo, hi)
    if not (y.requires_grad and torch.is_grad_enabled()):
        return y
    # where the gradient passes, y equals x (NaN included): take x itself, whose gradient is 1
    # (clamp's own gives NaN none, as PyTorch's ClampBackward1)
    if nan_gradient:
        return torch.where((x <= lo) | (x >= hi), y.detach(), x)
    return torch.where((x > lo) & (x < hi), x, y.detach())


def _require_float(input, kernel):
    if not input.is_floating_point():
        raise _not_implemented(kernel, input.dtype)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if not input.is_floating_point():
        # integer kernels cast the bounds to the input's type (truncating)
        if _dtype_name(input.dtype) == "bool":
            raise _not_implemented("hardtanh", input.dtype)
        min_val, max_val = int(min_val), int(max_val)
    if inplace:
        if not (input.requires_grad and torch.is_grad_enabled()):
            return input.clamp_(min_val, max_val)
        # hardtanh_'s backward reads the result: no gradient where it sits on a bound, which
        # is where the input is on or past one; NaN passes
        return input.copy_(_open_clamp(input, min_val, max_val, nan_gradient=True))
    return _open_clamp(input, min_val, max_val, nan_gradient=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, True)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def _elu_impl(input, alpha, scale, input_scale):
    _require_float(input, "elu_cpu")
    if _is_half(input):
        return _in_float(input, lambda x: _elu_impl(x, alpha, scale, input_scale))
    # negative branch evaluated on min(x, 0) so the unused branch can never overflow
    neg = torch.expm1(input.clamp(max=0.0) * input_scale if input_scale != 1 else input.clamp(max=0.0)) * (alpha * scale)
    pos = input * scale if scale != 1 else input
    return torch.where(input > 0, pos, neg)


def elu(input, alpha=1.0, inplace=False):
    out = _elu_impl(input, alpha, 1.0, 1.0)
    return _inplace_result(input, out) if inplace else out


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    out = _elu_impl(input, _SELU_ALPHA, _SELU_SCALE, 1.0)
    return _inplace_result(input, out) if inplace else out


def selu_(input):
    return selu(input, True)


def celu(input, alpha=1.0, inplace=False):
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    out = _elu_impl(input, alpha, 1.0, 1.0 / alpha)
    return _inplace_result(input, out) if inplace else out


def celu_(input, alpha=1.0):
    return celu(input, alpha, True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _require_float(input, "leaky_relu_cpu")
    if inplace:
        with torch.no_grad():
            factor = torch.where(input > 0, torch.ones_like(input), torch.full_like(input, negative_slope))
        return input.mul_(factor)
    return torch.where(input > 0, input, input * negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def prelu(input, weight):
    if not _is_tensor(weight):
        raise TypeError("prelu(): argument 'weight' must be Tensor")
    n = weight.numel()
    if n != 1:
        channels = int(input.shape[1]) if input.dim() >= 2 else 1
        if n != channels:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter numbers = {n} and "
                f"channel size = {channels}.")
        w = weight.reshape(channels, *([1] * (input.dim() - 2)))
    else:
        w = weight if input.dim() >= weight.dim() else weight.reshape(())
    return torch.where(input > 0, input, input * w)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    if training:
        with torch.no_grad():
            r = torch.empty_like(input).uniform_(lower, upper)
            factor = torch.where(input <= 0, r, torch.ones_like(input))
        if inplace:
            return input.mul_(factor)
        return input * factor
    return leaky_relu(input, (lower + upper) / 2.0, inplace)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, True)


def glu(input, dim=-1):
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _wrap_dim(dim, input.dim())
    n = int(input.shape[d])
    if n % 2 != 0:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    _require_float(input, "glu_cpu")
    a = input.narrow(d, 0, n // 2)
    b = input.narrow(d, n // 2, n // 2)
    return a * torch.sigmoid(b)


def gelu(input, approximate="none"):
    _require_float(input, "GeluKernelImpl")
    if _is_half(input):
        return _in_float(input, lambda x: gelu(x, approximate))
    if approximate in ("none", "tanh") and _dtype_name(input.dtype) in ("float32", "float64"):
        return _C.gelu(input, approximate == "tanh")
    if approximate == "none":
        return input * 0.5 * (1.0 + torch.erf(input * 0.7071067811865476))
    if approximate == "tanh":
        k_beta = 0.7978845608028654  # sqrt(2/pi)
        inner = k_beta * (input + 0.044715 * (input * input * input))
        return 0.5 * input * (1.0 + torch.tanh(inner))
    raise RuntimeError("approximate argument must be either none or tanh.")


def logsigmoid(input):
    _require_float(input, "log_sigmoid_cpu")
    # min(x, 0) - log1p(exp(-|x|)), one branch per sign so the gradient at 0 is sigmoid(-0) = 0.5
    def f(x):
        neg = x.clamp(max=0.0)
        pos = x.clamp(min=0.0)
        return torch.where(x < 0, neg - torch.log1p(torch.exp(neg)), -torch.log1p(torch.exp(-pos)))
    return _in_float(input, f)


def hardshrink(input, lambd=0.5):
    _require_float(input, "hardshrink_cpu")
    return input.masked_fill((input >= -lambd) & (input <= lambd), 0.0)


def tanhshrink(input):
    return input - torch.tanh(input)


def softsign(input):
    # input / (input.abs() + 1): an integer |x| + 1 stays integral (and wraps) before the division
    return input / (_abs(input) + 1)


def softplus(input, beta=1.0, threshold=20.0):
    _require_float(input, "softplus_cpu")
    if _is_half(input):
        return _in_float(input, lambda x: softplus(x, beta, threshold))
    xb = input * beta if beta != 1 else input
    soft = torch.log1p(torch.exp(xb.clamp(max=threshold)))
    if beta != 1:
        soft = soft / beta
    return torch.where(xb > threshold, input, soft)


def softshrink(input, lambd=0.5):
    _require_float(input, "softshrink_check")
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return input - torch.clamp(input, -lambd, lambd)


def tanh(input):
    return torch.tanh(input)


def sigmoid(input):
    return torch.sigmoid(input)


def hardsigmoid(input, inplace=False):
    _require_float(input, "hardsigmoid_cpu")
    out = _in_float(input, lambda x: _open_clamp(x + 3.0, 0.0, 6.0) / 6.0)
    return _inplace_result(input, out) if inplace else out


def silu(input, inplace=False):
    _require_float(input, "silu_cpu")
    if _dtype_name(input.dtype) in ("float32", "float64"):
        out = _C.silu(input)  # one pass each way (x * sigmoid(x) took two, and five backward)
    else:
        out = _in_float(input, lambda x: x * torch.sigmoid(x))
    return _inplace_result(input, out) if inplace else out


def mish(input, inplace=False):
    _require_float(input, "mish_cpu")
    out = _in_float(input, lambda x: x * torch.tanh(softplus(x)))
    return _inplace_result(input, out) if inplace else out


def hardswish(input, inplace=False):
    _require_float(input, "hardswish_cpu")
    # open clamp: PyTorch's gradient is 0 at x = -3 and 1 at x = 3
    out = _in_float(input, lambda x: x * _open_clamp(x + 3.0, 0.0, 6.0) / 6.0)
    return _inplace_result(input, out) if inplace else out


# ---------------------------------------------------------------------------
# softmax family
# ---------------------------------------------------------------------------

def _get_softmax_dim(name, ndim, stacklevel):
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an "
        "argument.", stacklevel=stacklevel)
    if ndim in (0, 1, 3):
        return 0
    return 1


def _softmax_impl(input, dim, dtype, log):
    # at::softmax: convert to dtype, wrap dim (IndexError), an empty tensor of any dtype returns as is,
    # then the kernel needs a floating type
    if dtype is not None:
        input = input.to(dtype)
    _wrap_dim(dim, input.dim())
    if input.numel() == 0 and not input.is_floating_point():
        return input.clone()
    return (torch.log_softmax if log else torch.softmax)(input, dim)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    return _softmax_impl(input, dim, dtype, False)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmin", input.dim(), _stacklevel)
    return _softmax_impl(-input, dim, dtype, False)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    return _softmax_impl(input, dim, dtype, True)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    gumbels = -torch.empty_like(logits).exponential_().log()
    gumbels = (logits + gumbels) / tau
    y_soft = torch.softmax(gumbels, dim)
    if hard:
        index = y_soft.max(dim, keepdim=True)[1]
        y_hard = torch.zeros_like(logits).scatter_(dim, index, 1.0)
        return y_hard - y_soft.detach() + y_soft
    return y_soft


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------

def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_impl(input, p, train, inplace, feature, alpha):
    if p == 0 or not train or input.numel() == 0:
        return input
    if p == 1:
        z = torch.zeros((), dtype=input.dtype, device=input.device)
        return input.mul_(z) if inplace else input * z
    with torch.no_grad():
        if feature:
            if input.dim() < 2:
                raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
            shp = [int(input.shape[0]), int(input.shape[1])] + [1] * (input.dim() - 2)
            noise = torch.empty(shp, dtype=input.dtype, device=input.device)
        else:
            noise = torch.empty_like(input)
        noise.bernoulli_(1 - p)
        b = None
        if alpha:
            a_const = 1.7580993408473766
            a = 1.0 / math.sqrt((a_const * a_const * p + 1) * (1 - p))
            b = (noise - 1.0) * (a_const * a) + a_const * a * p
            noise.mul_(a)
        else:
            noise.div_(1 - p)
    if alpha:
        if inplace:
            return input.mul_(noise).add_(b)
        return input * noise + b
    if inplace:
        return input.mul_(noise)
    return input * noise


def dropout(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, False, False)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, False, True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, True, True)


def _feature_dropout_nd(input, p, training, inplace, nd, name):
    _check_p(p)
    inp_dim = input.dim()
    if inp_dim not in (nd + 1, nd + 2):
        if nd == 1:
            raise RuntimeError(
                f"dropout1d: Expected 2D or 3D input, but received a {inp_dim}D input. Note that dropout1d "
                "exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel "
                "dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
        warnings.warn(f"{name}: Received a {inp_dim}-D input to {name}, which is deprecated and will result in "
                      f"an error in a future release.")
    if nd == 2:
        # PyTorch treats a 3-D input to dropout2d as batched (N, C, L)
        return _dropout_impl(input, p, training, inplace, True, False)
    is_batched = inp_dim == nd + 2
    x = input if is_batched else input.unsqueeze(0)
    out = _dropout_impl(x, p, training, inplace and is_batched, True, False)
    if not is_batched:
        out = out.squeeze(0)
        if inplace:
            return _inplace_result(input, out)
    return out


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout_nd(input, p, training, inplace, 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout_nd(input, p, training, inplace, 2, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout_nd(input, p, training, inplace, 3, "dropout3d")


# ---------------------------------------------------------------------------
# normalization
# ---------------------------------------------------------------------------

def _verify_batch_size(size):
    size_prods = size[0]
    for i in range(len(size) - 2):
        size_prods *= size[i + 2]
    if size_prods == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(size)}")


def _channel_view(t, ndim):
    """[C] -> [1, C, 1, ...] for broadcasting against an ndim tensor with channels at dim 1."""
    return t.reshape(1, -1, *([1] * (ndim - 2))) if ndim >= 2 else t


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    if input.dim() < 2:
        raise ValueError(f"Expected 2D or 3D input (got {input.dim()}D input)")
    if training:
        _verify_batch_size(_shape(input))
    nd = input.dim()
    C = int(input.shape[1])
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != C:
            raise RuntimeError(f"{name} should contain {C} elements not {t.numel()}")
    if not input.is_floating_point():
        raise _not_implemented("batch_norm", input.dtype)
    use_batch_stats = training or running_mean is None or running_var is None
    if _dtype_name(input.dtype) in ("float32", "float64") and all(
            t is None or t.dtype == input.dtype for t in (weight, bias)) and (use_batch_stats or all(
            _dtype_name(t.dtype) in ("float32", "float64") for t in (running_mean, running_var))):
        out, mean, var = _C.batch_norm(input, weight, bias, None if use_batch_stats else running_mean,
                                       None if use_batch_stats else running_var, float(eps))
        if training and mean is not None and (running_mean is not None or running_var is not None):
            m = 0.0 if momentum is None else momentum
            with torch.no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - m).add_(mean * m)
                if running_var is not None:
                    running_var.mul_(1 - m).add_(var * m)
        return out
    if use_batch_stats:
        dims = (0,) + tuple(range(2, nd))
        mean = input.mean(dim=dims, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(dim=dims, keepdim=True)
        out = centered * torch.rsqrt(var + eps)
        if training and (running_mean is not None or running_var is not None):
            n = input.numel() // C
            m = 0.0 if momentum is None else momentum
            with torch.no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - m).add_(mean.detach().reshape(C) * m)
                if running_var is not None:
                    unbiased = var.detach().reshape(C) * (n / (n - 1) if n > 1 else float("nan"))
                    running_var.mul_(1 - m).add_(unbiased * m)
    else:
        rm = _channel_view(running_mean, nd)
        rv = _channel_view(running_var, nd)
        out = (input - rm) * torch.rsqrt(rv + eps)
    if weight is not None:
        out = out * _channel_view(weight, nd)
    if bias is not None:
        out = out + _channel_view(bias, nd)
    return out


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    if use_input_stats:
        size = _shape(input)
        size_prods = 1
        for s in size[2:]:
            size_prods *= s
        if size_prods == 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size {list(size)}")
    nd = input.dim()
    if nd < 3:
        raise ValueError(f"Expected 3D or higher input (got {nd}D input)")
    C = int(input.shape[1])
    if use_input_stats or running_mean is None or running_var is None:
        dims = tuple(range(2, nd))
        mean = input.mean(dim=dims, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(dim=dims, keepdim=True)
        out = centered * torch.rsqrt(var + eps)
        if use_input_stats and running_mean is not None and running_var is not None:
            n = _prod(_shape(input)[2:])
            m = 0.1 if momentum is None else momentum
            with torch.no_grad():
                bm = mean.detach().reshape(int(input.shape[0]), C).mean(0)
                bv = (var.detach() * (n / (n - 1))).reshape(int(input.shape[0]), C).mean(0)
                running_mean.mul_(1 - m).add_(bm * m)
                running_var.mul_(1 - m).add_(bv * m)
    else:
        out = (input - _channel_view(running_mean, nd)) * torch.rsqrt(_channel_view(running_var, nd) + eps)
    if weight is not None:
        out = out * _channel_view(weight, nd)
    if bias is not None:
        out = out + _channel_view(bias, nd)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    ns = tuple(int(s) for s in normalized_shape)
    k = len(ns)
    shp = _shape(input)
    if k == 0 or len(shp) < k or shp[len(shp) - k:] != ns:
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape [*, {', '.join(str(s) for s in ns)}], "
            f"but got input of size{list(shp)}")
    if weight is not None and _shape(weight) != ns:
        raise RuntimeError(
            f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
            f"{list(weight.shape)} and normalized_shape = {list(ns)}")
    if bias is not None and _shape(bias) != ns:
        raise RuntimeError(
            f"Expected bias to be of same shape as normalized_shape, but got bias of shape "
            f"{list(bias.shape)} and normalized_shape = {list(ns)}")
    dims = tuple(range(len(shp) - k, len(shp)))
    if _is_half(input):
        # PyTorch's half kernels normalise and apply the affine in float32, rounding once
        f32 = lambda t: None if t is None else t.float()
        return layer_norm(input.float(), ns, f32(weight), f32(bias), eps).to(input.dtype)
    if _dtype_name(input.dtype) in ("float32", "float64") and all(
            p is None or p.dtype == input.dtype for p in (weight, bias)):
        return _C.layer_norm(input, k, weight, bias, float(eps))
    mean = input.mean(dim=dims, keepdim=True)
    centered = input - mean
    var = _overflow_nan((centered * centered).mean(dim=dims, keepdim=True), input, dims)
    out = centered * torch.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def rms_norm(input, normalized_shape, weight=None, eps=None):
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    ns = tuple(int(s) for s in normalized_shape)
    k = len(ns)
    shp = _shape(input)
    if len(shp) < k or shp[len(shp) - k:] != ns:
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape [*, {', '.join(str(s) for s in ns)}], "
            f"but got input of size{list(shp)}")
    if eps is None:
        eps = torch.finfo(input.dtype).eps
    dims = tuple(range(len(shp) - k, len(shp)))
    x = input
    low = _dtype_name(input.dtype) in ("float16", "bfloat16")
    if low:
        x = x.float()
    r = torch.rsqrt((x * x).mean(dim=dims, keepdim=True) + eps)
    out = x * r
    if low:
        out = out.to(input.dtype)
    if weight is not None:
        out = out * weight
    return out


def _overflow_nan(var, x, dims):
    """NaN variance where some x*x overflows: PyTorch's layer/group-norm moments square the raw inputs."""
    with torch.no_grad():
        over = torch.isinf(x * x).any(dim=dims, keepdim=True)
    return torch.where(over, torch.full_like(var, float("nan")), var)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    shp = _shape(input)
    N, C = shp[0], shp[1]
    _verify_batch_size([N * C // num_groups, num_groups] + list(shp[2:]))
    if C % num_groups != 0:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got input of shape "
            f"{list(shp)} and num_groups={num_groups}")
    if _is_half(input):
        f32 = lambda t: None if t is None else t.float()
        return group_norm(input.float(), num_groups, f32(weight), f32(bias), eps).to(input.dtype)
    x = input.reshape(N, num_groups, _prod(shp[1:]) // num_groups if num_groups else 0)
    if x.numel() and input.dtype in (torch.float32, torch.float64):
        # each (sample, group) is a row of the native layer-norm kernel: one fused node
        out = _C.layer_norm(x, 1, None, None, float(eps)).reshape(shp)
    else:
        mean = x.mean(dim=-1, keepdim=True)
        centered = x - mean
        var = _overflow_nan((centered * centered).mean(dim=-1, keepdim=True), x, (-1,))
        out = (centered * torch.rsqrt(var + eps)).reshape(shp)
    nd = len(shp)
    if weight is not None:
        out = out * _channel_view(weight, nd)
    if bias is not None:
        out = out + _channel_view(bias, nd)
    return out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    div = input * input
    if dim == 3:
        div = div.unsqueeze(1)
        div = pad(div, (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = _shape(input)
        div = div.reshape(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1)
        div = div.reshape(sizes)
    div = (div * alpha + k).pow(beta)
    return input / div


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    # input.norm(p, dim) is linalg.vector_norm, which checks the dtype before the dim
    if not (input.is_floating_point() or input.is_complex()):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_TYPE_NAMES.get(_dtype_name(input.dtype))}")
    denom = input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
    res = input / denom
    if out is not None:
        out.copy_(res)
        return out
    return res


# ---------------------------------------------------------------------------
# embeddings
# ---------------------------------------------------------------------------

def _check_index_dtype(t, name="embedding"):
    dn = _dtype_name(t.dtype)
    if dn not in ("int64", "int32"):
        tname = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
                 "bfloat16": "torch.BFloat16Tensor", "bool": "torch.BoolTensor", "uint8": "torch.ByteTensor",
                 "int8": "torch.CharTensor", "int16": "torch.ShortTensor"}.get(dn, dn)
        raise RuntimeError(
            f"Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but "
            f"got {tname} instead (while checking arguments for {name})")


def _embedding_renorm_(weight, input, max_norm, norm_type):
    with torch.no_grad():
        idx = torch.unique(input.reshape(-1))
        rows = weight.index_select(0, idx)
        norms = rows.norm(norm_type, 1, keepdim=True)
        scale = torch.where(norms > max_norm, max_norm / (norms + 1e-7), torch.ones_like(norms))
        weight[idx] = rows * scale
    return weight


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    num = int(weight.shape[0])
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= num:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = num + padding_idx
    _check_index_dtype(input)
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    flat = input.reshape(-1)
    if flat.numel() > 0 and bool(((flat < 0) | (flat >= num)).any()):
        raise IndexError("index out of range in self")  # a negative id must never wrap to another row
    out = weight.index_select(0, flat)
    if padding_idx is not None:
        mask = (flat == padding_idx).unsqueeze(-1)
        out = torch.where(mask, out.detach(), out)
    if scale_grad_by_freq:
        with torch.no_grad():
            counts = torch.zeros(num, dtype=weight.dtype, device=weight.device).index_add(
                0, flat, torch.ones(flat.shape[0], dtype=weight.dtype, device=weight.device))
            s = (1.0 / counts.index_select(0, flat)).unsqueeze(-1)
        out = _scale_grad(out, s)
    return out.reshape(*_shape(input), int(weight.shape[1]))


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}")
    if per_sample_weights is not None and _shape(input) != _shape(per_sample_weights):
        raise ValueError(
            f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it must have the "
            f"same shape as the input ({input.shape})")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for mode='sum' "
            f"(got mode='{mode}'). Please open a feature request on the Pytorch GitHub.")
    _check_index_dtype(input, "embedding_bag")
    num, D = _shape(weight)
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= num:
                raise AssertionError("padding_idx must be within the number of embeddings")
        elif padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("padding_idx must be within the number of embeddings")
            padding_idx = num + padding_idx
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed length "
                f"sequences. However, found offsets of type {type(offsets)}")
        B, Lb = _shape(input)
        dense = input
        valid = None
        psw = per_sample_weights
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        n = int(input.shape[0])
        offs = [int(v) for v in offsets.tolist()]
        if include_last_offset and not offs:
            raise RuntimeError("include_last_offset: number of offset should be at least 1")
        if offs and offs[0] != 0:
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                               f"from position 0. However, got {offs[0]}")
        if offs and offs[-1] > n:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got offsets[-1] of "
                               f"{offs[-1]}")
        if any(b < a for a, b in zip(offs, offs[1:])):
            raise RuntimeError("Expected i < index_size to be true, but got false.  (Could this error message be "
                               "improved?  If so, please report an enhancement request to PyTorch.)")
        K = len(offs)
        if include_last_offset:
            starts = offs[:-1]
            ends = offs[1:]
        else:
            starts = offs
            ends = offs[1:] + [n]
        B = len(starts)
        lens = [max(e - s, 0) for s, e in zip(starts, ends)]
        Lb = max(lens) if lens else 0
        Lb = max(Lb, 1)
        # bag b reads input[starts[b] + j] for j < lens[b] (the padding slots read index 0, masked below);
        # the table is built on the device from the offsets tensor itself
        offs_t = _to_dev(offsets.reshape(-1).to(torch.int64), input)
        if K == 0:
            starts_t = ends_t = offs_t
        elif include_last_offset:
            starts_t = offs_t.narrow(0, 0, K - 1)
            ends_t = offs_t.narrow(0, 1, K - 1)
        else:
            starts_t = offs_t
            ends_t = torch.cat([offs_t.narrow(0, 1, K - 1),
                                torch.full((1,), n, dtype=torch.int64, device=offs_t.device)])
        lens_t = ends_t - starts_t  # non-negative: the offsets were checked to be sorted and within the input
        j = _arange(0, Lb, offs_t.device)
        vm_t = j.unsqueeze(0) < lens_t.unsqueeze(1)  # [B, Lb]
        pos_t = ((starts_t.unsqueeze(1) + j.unsqueeze(0)) * vm_t).reshape(-1)
        if n == 0:
            dense = torch.zeros(B, Lb, dtype=input.dtype, device=input.device)
        else:
            dense = input.index_select(0, pos_t).reshape(B, Lb)
        valid = vm_t
        psw = None
        if per_sample_weights is not None:
            psw = per_sample_weights.index_select(0, pos_t).reshape(B, Lb)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    flat_in = input.reshape(-1)
    if flat_in.numel() > 0:
        bad = (flat_in < 0) | (flat_in >= num)
        if bool(bad.any()):
            i = int(bad.to(torch.int64).argmax().item())
            raise RuntimeError(f"Index {i} of input takes value {int(flat_in[i].item())} which is not in the valid "
                               f"range [0, {num})")
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    if padding_idx is not None:
        pv = dense != padding_idx
        valid = pv if valid is None else (valid & pv)
    if valid is not None:
        dense = dense.masked_fill(~valid, 0)
    rows = weight.index_select(0, dense.reshape(-1)).reshape(B, Lb, D)
    if scale_grad_by_freq:
        flat = dense.reshape(-1)
        with torch.no_grad():
            ones = torch.ones(flat.shape[0], dtype=weight.dtype, device=weight.device)
            if valid is not None:
                ones = ones * valid.reshape(-1).to(weight.dtype)
            counts = torch.zeros(num, dtype=weight.dtype, device=weight.device).index_add(0, flat, ones)
            s = (1.0 / counts.index_select(0, flat).clamp(min=1.0)).reshape(B, Lb, 1)
        rows = _scale_grad(rows, s)
    if mode == "max":
        if valid is not None:
            rows = rows.masked_fill(~valid.unsqueeze(-1), float("-inf"))
        out = _max_last(rows.transpose(1, 2))[0]
        if valid is not None:
            empty = valid.to(torch.int64).sum(1) == 0
            out = out.masked_fill(empty.unsqueeze(-1), 0.0)
        return out
    if psw is not None:
        rows = rows * psw.unsqueeze(-1)
    if valid is not None:
        rows = rows.masked_fill(~valid.unsqueeze(-1), 0.0)
    out = rows.sum(1)
    if mode == "mean":
        if valid is None:
            out = out / float(Lb) if Lb > 0 else out
        else:
            cnt = valid.sum(1).to(out.dtype).clamp(min=1.0).unsqueeze(-1)
            out = out / cnt
    return out


def one_hot(tensor, num_classes=-1):
    if _dtype_name(tensor.dtype) != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel() == 0:
        if num_classes <= 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
    else:
        mn = int(tensor.min().item())
        if mn < 0:
            raise RuntimeError("Class values must be non-negative.")
        mx = int(tensor.max().item())
        if num_classes == -1:
            num_classes = mx + 1
        elif mx >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = torch.arange(num_classes, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).to(torch.int64)


# ---------------------------------------------------------------------------
# distances
# ---------------------------------------------------------------------------

def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    output_dim = max(x1.dim(), x2.dim())
    innermost = output_dim - 1
    return (x1 - x2 + eps).norm(p, innermost, keepdim=keepdim)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    common = torch.result_type(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{_TYPE_NAMES.get(_dtype_name(common), common)}")
    if not x1.is_floating_point():
        x1 = x1.to(common)
    if not x2.is_floating_point():
        x2 = x2.to(common)
    shp = _broadcast_shapes(_shape(x1), _shape(x2))
    if _shape(x1) != shp:
        x1 = x1.expand(*shp)
    if _shape(x2) != shp:
        x2 = x2.expand(*shp)
    # like PyTorch: clamp clones of the norms in place under no_grad (value clamped, gradient of the
    # unclamped norm); composing the clamp as n + (clamp(n) - n).detach() would turn an inf norm into NaN
    n1 = x1.norm(2, dim, keepdim=True).clone()
    n2 = x2.norm(2, dim, keepdim=True).clone()
    with torch.no_grad():
        n1.clamp_(min=eps)
        n2.clamp_(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


@functools.lru_cache(maxsize=128)
def _triu_pairs(n, dev):
    """Row / column indices (int64 tensors on ``dev``; cached, never mutated) of the pairs i < j."""
    ij = torch.triu_indices(n, n, 1, device=dev)
    return ij[0], ij[1]


def pdist(input, p=2):
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = int(input.shape[0])
    i, j = _triu_pairs(n, _dev_key(input))
    a = input.index_select(0, i)
    b = input.index_select(0, j)
    return (a - b).norm(p, 1)


def _cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    if x1.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.dim()}D")
    if x2.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {x2.dim()}D")
    c1, c2 = int(x1.shape[-1]), int(x2.shape[-1])
    if c1 != c2:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {c1} X2: {c2}")
    if not x1.is_floating_point() or not x2.is_floating_point():
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    r1, r2 = int(x1.shape[-2]), int(x2.shape[-2])
    if compute_mode == "use_mm_for_euclid_dist_if_necessary":
        use_mm = p == 2 and (r1 > 25 or r2 > 25)
    elif compute_mode == "use_mm_for_euclid_dist":
        use_mm = p == 2
    elif compute_mode == "donot_use_mm_for_euclid_dist":
        use_mm = False
    else:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if use_mm:
        x1n = (x1 * x1).sum(-1, keepdim=True)
        x2n = (x2 * x2).sum(-1, keepdim=True)
        x1_ = torch.cat([x1 * -2.0, x1n, torch.ones_like(x1n)], -1)
        x2_ = torch.cat([x2, torch.ones_like(x2n), x2n], -1)
        return x1_.matmul(x2_.transpose(-1, -2)).clamp(min=1e-30).sqrt()
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return diff.norm(p, -1)


cdist = _cdist


# ---------------------------------------------------------------------------
# resampling: interpolate / upsample / grid_sample / pixel shuffle
# ---------------------------------------------------------------------------

def _area_scale(n_in, n_out, align_corners, scale, fname):
    """PyTorch's area_pixel_compute_scale in opmath (float32 unless float64), as a Python float holding
    exactly that precision's value."""
    rnd = functools.partial(_round_scalar, fname=fname)
    if align_corners:
        return rnd(rnd(n_in - 1) / rnd(n_out - 1)) if n_out > 1 else 0.0
    if scale is not None and scale > 0:
        return rnd(1.0 / scale)
    return rnd(rnd(n_in) / rnd(n_out))


def _opmath_dtype(fname):
    return torch.float64 if fname == "float64" else torch.float32


def _source_positions(n_in, n_out, align_corners, scale, fname, dev, cubic):
    """area_pixel_compute_source_index for every output position, in opmath (each op rounds once, like the
    C++ kernels: the scalars are exact opmath values)."""
    s = _area_scale(n_in, n_out, align_corners, scale, fname)
    i = _arange(0, n_out, dev, _opmath_dtype(fname))
    if align_corners:
        return i * s
    src = (i + 0.5) * s - 0.5
    return src if cubic else src.clamp(min=0.0)


def _linear_coeffs(n_in, n_out, align_corners, scale, fname, dev):
    src = _source_positions(n_in, n_out, align_corners, scale, fname, dev, False)
    i0 = src.floor().to(torch.int64).clamp(max=n_in - 1)
    lam = (src - i0.to(src.dtype)).clamp(0.0, 1.0)
    i1 = i0 + (i0 < n_in - 1).to(torch.int64)
    return (i0, i1), (1.0 - lam, lam)


def _cubic_conv1(x, A):
    return ((A + 2) * x - (A + 3)) * x * x + 1


def _cubic_conv2(x, A):
    return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A


def _cubic_coeffs(n_in, n_out, align_corners, scale, fname, dev):
    src = _source_positions(n_in, n_out, align_corners, scale, fname, dev, True)
    fl = src.floor()
    i0 = fl.to(torch.int64)
    t = src - fl
    A = -0.75
    ws = (_cubic_conv2(t + 1.0, A), _cubic_conv1(t, A), _cubic_conv1(1.0 - t, A), _cubic_conv2((1.0 - t) + 1.0, A))
    idxs = tuple((i0 + (k - 1)).clamp(0, n_in - 1) for k in range(4))
    return idxs, ws


def _fixed_point_weights(ws):
    """Weights as PyTorch's uint8 kernels use them: int16 fixed point with the most precision that fits
    (float64 tensors).  The precision search runs on the device: no host sync."""
    w = torch.stack(ws).to(torch.float64)  # [taps, n_out], n_out >= 1
    w_max = w.max()
    dev = w.device
    # precision = number of leading p in 0..21 with int(0.5 + w_max * 2^(p+1)) < 2^15; one = 2^precision
    pow2 = torch.tensor([float(1 << (p + 1)) for p in range(22)], dtype=torch.float64, device=dev)
    ok = torch.trunc(w_max * pow2 + 0.5) < float(1 << 15)
    ok = ok.to(torch.int64).cumprod(0).to(torch.bool)
    one = torch.where(ok, pow2, torch.ones_like(pow2)).max()
    half = (w >= 0).to(torch.float64) - 0.5  # +0.5 / -0.5: round half away from zero
    w = torch.trunc(w * one + half) / one
    return tuple(w.unbind(0))


@functools.lru_cache(maxsize=512)
def _interp_coeffs(cubic, n_in, n_out, align_corners, scale, fname, fixed_point, dev):
    """(index tensors, weight tensors) of the separable linear / cubic taps along one dim, on ``dev``
    (cached, never mutated)."""
    idxs, ws = (_cubic_coeffs if cubic else _linear_coeffs)(n_in, n_out, align_corners, scale, fname, dev)
    if fixed_point:
        ws = _fixed_point_weights(ws)
    return idxs, ws


@functools.lru_cache(maxsize=512)
def _nearest_index(n_in, n_out, scale, exact, dev):
    """Source index (int64 tensor on ``dev``; cached, never mutated) of nearest / nearest-exact."""
    j = _arange(0, n_out, dev)
    if not exact:
        if n_out == n_in:
            return j
        if n_out == 2 * n_in:
            return j >> 1
    s = _round_scalar(1.0 / scale, "float32") if (scale is not None and scale > 0) else \
        _round_scalar(_round_scalar(n_in, "float32") / _round_scalar(n_out, "float32"), "float32")
    i = j.to(torch.float32)
    src = ((i + 0.5) * s) if exact else (i * s)
    return src.floor().to(torch.int64).clamp(max=n_in - 1)


def _nearest_is_identity(n_in, n_out, scale, exact):
    """Whether _nearest_index is arange(n_in), decided without looking at the table."""
    if n_out != n_in:
        return False
    if not exact:
        return True
    # nearest-exact: scale 1 exactly, and (i + 0.5) is exact in float32
    return (scale is None or not scale > 0) and n_in <= (1 << 23)


def _interp_taps(x, d, idxs, ws):
    n_out = int(idxs[0].shape[0])
    shape = [1] * x.dim()
    shape[d] = n_out
    out = None
    for idx, w in zip(idxs, ws):
        if w.dtype != x.dtype:
            w = w.to(x.dtype)
        term = x.index_select(d, idx) * w.reshape(shape)
        out = term if out is None else out + term
    return out


def _scaled_size(n, scale):
    v = math.floor(float(n) * scale) if math.isfinite(float(n) * scale) else None
    if v is None or not (-2 ** 63 <= v < 2 ** 63):
        raise RuntimeError("value cannot be converted to type int64_t without overflow")
    return int(v)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | "
                "trilinear")
    else:
        if align_corners is None:
            align_corners = False
    dim = input.dim() - 2
    if dim < 1 or dim > 3:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for the modes: nearest | "
            f"linear | bilinear | bicubic | trilinear | area | nearest-exact (got {mode})")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    elif size is not None:
        scale_factors = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    f"Input and output must have the same number of spatial dimensions, but got input with spatial "
                    f"dimensions of {list(input.shape[2:])} and output size of {size}. Please provide input tensor "
                    "in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
            output_size = [int(s) for s in size]
        else:
            output_size = [int(size)] * dim
    elif scale_factor is not None:
        output_size = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    f"Input and scale_factor must have the same number of spatial dimensions, but got input with "
                    f"spatial dimensions of {list(input.shape[2:])} and scale_factor of shape {scale_factor}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in "
                    "(s1, s2, ...,sK) format.")
            scale_factors = [float(s) for s in scale_factor]
        else:
            scale_factors = [float(scale_factor)] * dim
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor is not None and recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and output_size is None:
        recompute_scale_factor = True
    sp = _shape(input)[2:]
    if recompute_scale_factor is not None and recompute_scale_factor:
        output_size = [_scaled_size(sp[i], scale_factors[i]) for i in range(dim)]
        scale_factors = None
    if output_size is None:
        output_size = [_scaled_size(sp[i], scale_factors[i]) for i in range(dim)]
    if antialias and not (mode in ("bilinear", "bicubic") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D tensor "
                         "as input")
    if antialias:
        raise NotImplementedError("interpolate(antialias=True) is not supported by ferrotorch")
    # area mode is adaptive average pooling, which allows an empty output
    area_empty = mode == "area" and all(o >= 0 for o in output_size) and all(v > 0 for v in sp)
    if (any(o <= 0 for o in output_size) or any(v <= 0 for v in sp)) and not area_empty:
        names = ["D", "H", "W"][3 - dim:]
        raise RuntimeError(
            f"Input and output sizes should be greater than 0, but got input "
            f"({', '.join(f'{n}: {v}' for n, v in zip(names, sp))}) and output "
            f"({', '.join(f'{n}: {v}' for n, v in zip(names, output_size))})")
    if _prod(_shape(input)[1:]) == 0:
        raise RuntimeError(f"Non-empty {input.dim()}D data tensor expected but got a tensor with sizes "
                           f"{list(input.shape)}")
    scales = scale_factors if scale_factors is not None else [None] * dim
    need = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}
    if mode in need and input.dim() != need[mode]:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {need[mode]}D input")
    dn = _dtype_name(input.dtype)
    if not input.is_floating_point() and not (dn == "uint8" and mode in ("nearest", "nearest-exact", "bilinear",
                                                                         "bicubic")):
        kernel = {"bilinear": "upsample_bilinear2d_channels_last", "bicubic": "compute_indices_weights_cubic",
                  "area": "adaptive_avg_pool2d"}.get(mode, "compute_indices_weights_linear")
        if mode in ("nearest", "nearest-exact"):
            kernel = "upsample_nearest2d_channels_last" if dim == 2 else "compute_indices_weights_nearest"
        raise _not_implemented(kernel, input.dtype)
    u8 = dn == "uint8" and mode in ("bilinear", "bicubic")
    if u8:
        # PyTorch's uint8 kernels are separable: each dim (last first) is interpolated and rounded to uint8
        input = input.double()
    fname = "float64" if dn == "float64" else "float32"
    x = input
    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"
        for i in reversed(range(dim)):
            if _nearest_is_identity(sp[i], output_size[i], scales[i], exact):
                continue
            x = x.index_select(2 + i, _nearest_index(sp[i], output_size[i], scales[i], exact, _dev_key(x)))
        return input.clone() if x is input else x
    if mode == "area":
        # an empty output keeps its graph, whose backward raises like PyTorch's
        return _adaptive_avg_pool_nd(input, output_size, dim, "adaptive_avg_pool")
    if mode in ("linear", "bilinear", "trilinear", "bicubic"):
        for i in reversed(range(dim)):
            if u8 and output_size[i] == sp[i]:
                continue  # PyTorch's uint8 kernels skip a dim whose size doesn't change, whatever the scale
            idxs, ws = _interp_coeffs(mode == "bicubic", sp[i], output_size[i], bool(align_corners), scales[i],
                                      fname, u8, _dev_key(x))
            x = _interp_taps(x, 2 + i, idxs, ws)
            if u8:
                x = (x + 0.5).floor().clamp(0, 255)  # fixed-point rounding: halves go up
        return x.to(torch.uint8) if u8 else x
    raise NotImplementedError(
        f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for the modes: nearest | "
        f"linear | bilinear | bicubic | trilinear | area | nearest-exact (got {mode})")


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _grid_unnormalize(coord, size, align_corners):
    if align_corners:
        return ((coord + 1) / 2) * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect_coordinates(coord, twice_low, twice_high):
    if twice_low == twice_high:
        return torch.zeros_like(coord)
    mn = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = torch.abs(coord - mn)
    extra = torch.fmod(c, span)
    flips = torch.floor(c / span)
    even = torch.fmod(flips, 2) == 0
    return torch.where(even, extra + mn, (span - extra) + mn)


def _grid_source_index(coord, size, padding_mode, align_corners):
    coord = _grid_unnormalize(coord, size, align_corners)
    if padding_mode == "border":
        coord = coord.clamp(0, size - 1)
    elif padding_mode == "reflection":
        if align_corners:
            coord = _reflect_coordinates(coord, 0, 2 * (size - 1))
        else:
            coord = _reflect_coordinates(coord, -1, 2 * size - 1)
        coord = coord.clamp(0, size - 1)
    return coord


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or 'reflection', but got: "
            f"'{padding_mode}'")
    if align_corners is None:
        warnings.warn(
            "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. Please "
            "specify align_corners=True if the old behavior is desired. See the documentation of grid_sample for "
            "details.")
        align_corners = False
    if input.dim() != 4:
        raise NotImplementedError("grid_sample: only 4-D input is supported by ferrotorch")
    if grid.dim() != 4 or int(grid.shape[-1]) != 2:
        raise RuntimeError(
            f"grid_sampler(): expected grid to have size 2 in last dimension, but got grid with sizes "
            f"{list(grid.shape)}")
    N, C, H, W = _shape(input)
    Ng, Ho, Wo, _ = _shape(grid)
    if Ng != N:
        raise RuntimeError(
            f"grid_sampler(): expected grid and input to have same batch size, but got input with sizes "
            f"{list(input.shape)} and grid with sizes {list(grid.shape)}")
    ix = _grid_source_index(grid.select(-1, 0), W, padding_mode, align_corners)
    iy = _grid_source_index(grid.select(-1, 1), H, padding_mode, align_corners)
    flat = input.reshape(N, C, H * W)

    def gather(xc, yc):
        valid = (xc >= 0) & (xc <= W - 1) & (yc >= 0) & (yc <= H - 1)
        xi = xc.clamp(0, W - 1).to(torch.int64)
        yi = yc.clamp(0, H - 1).to(torch.int64)
        idx = (yi * W + xi).reshape(N, 1, Ho * Wo).expand(N, C, Ho * Wo)
        vals = flat.gather(2, idx).reshape(N, C, Ho, Wo)
        return vals, valid

    if mode == "nearest":
        xr = torch.round(ix.detach())
        yr = torch.round(iy.detach())
        vals, valid = gather(xr, yr)
        return vals * valid.unsqueeze(1).to(input.dtype)
    if mode == "bilinear":
        x0 = torch.floor(ix.detach())
        y0 = torch.floor(iy.detach())
        x1 = x0 + 1
        y1 = y0 + 1
        nw = (x1 - ix) * (y1 - iy)
        ne = (ix - x0) * (y1 - iy)
        sw = (x1 - ix) * (iy - y0)
        se = (ix - x0) * (iy - y0)
        out = None
        for (xc, yc, w) in ((x0, y0, nw), (x1, y0, ne), (x0, y1, sw), (x1, y1, se)):
            vals, valid = gather(xc, yc)
            term = vals * (w * valid.to(w.dtype)).unsqueeze(1)
            out = term if out is None else out + term
        return out
    # bicubic
    ix = _grid_unnormalize(grid.select(-1, 0), W, align_corners)
    iy = _grid_unnormalize(grid.select(-1, 1), H, align_corners)
    x0 = torch.floor(ix.detach())
    y0 = torch.floor(iy.detach())
    tx = ix - x0
    ty = iy - y0
    A = -0.75

    def coeffs(t):
        return (_cubic_conv2(t + 1, A), _cubic_conv1(t, A), _cubic_conv1(1 - t, A), _cubic_conv2(2 - t, A))

    cx = coeffs(tx)
    cy = coeffs(ty)

    def bounded(xc, yc):
        if padding_mode == "zeros":
            return gather(xc, yc)
        xs = _grid_source_index_abs(xc, W, padding_mode, align_corners)
        ys = _grid_source_index_abs(yc, H, padding_mode, align_corners)
        vals, _ = gather(xs, ys)
        return vals, None

    out = None
    for j in range(4):
        row = None
        for i in range(4):
            vals, valid = bounded(x0 - 1 + i, y0 - 1 + j)
            w = cx[i]
            if valid is not None:
                w = w * valid.to(w.dtype)
            term = vals * w.unsqueeze(1)
            row = term if row is None else row + term
        term = row * cy[j].unsqueeze(1)
        out = term if out is None else out + term
    return out


def _grid_source_index_abs(coord, size, padding_mode, align_corners):
    if padding_mode == "border":
        return coord.clamp(0, size - 1)
    if align_corners:
        c = _reflect_coordinates(coord, 0, 2 * (size - 1))
    else:
        c = _reflect_coordinates(coord, -1, 2 * size - 1)
    return c.clamp(0, size - 1)


def _linspace_from_neg_one(n, align_corners, like):
    return _linspace_table(n, bool(align_corners), _dev_key(like))


@functools.lru_cache(maxsize=128)
def _linspace_table(n, align_corners, dev):
    """float64 base-grid coordinates on ``dev`` (cached, never mutated), with NumPy's linspace arithmetic
    (i * step + start, the last one exactly 1)."""
    if n <= 1:
        return torch.zeros(max(n, 1), dtype=torch.float64, device=dev)
    i = _arange(0, n, dev, torch.float64)
    arr = i * (2.0 / (n - 1)) + (-1.0)
    arr = torch.where(i == float(n - 1), torch.ones_like(arr), arr)
    if not align_corners:
        arr = (arr * float(n - 1)) / float(n)
    return arr


def _base_grid(coords, like):
    """[1, prod(sizes), len(coords) + 1] grid of (x, y[, z], 1) rows, the last coordinate varying slowest;
    float64 coordinates rounded to ``like``'s dtype (through float32, as the NumPy tables were)."""
    k = len(coords)
    sizes = [int(c.shape[0]) for c in reversed(coords)]  # (D,) H, W
    cols = []
    for a, c in enumerate(coords):  # x varies along the last axis, y the one before, ...
        shape = [1] * k
        shape[k - 1 - a] = sizes[k - 1 - a]
        cols.append(c.reshape(shape).expand(*sizes))
    cols.append(torch.ones(sizes, dtype=torch.float64, device=like.device))
    base = torch.stack(cols, -1).reshape(1, _prod(sizes), k + 1)
    name = _dtype_name(like.dtype)
    if name != "float64":
        base = base.to(torch.float32)
        if name != "float32":
            base = base.to(like.dtype)
    return base


def _affine_grid_check_span(size, spatial, align_corners, given):
    """PyTorch's empty-span check (the base grid tables need every size positive)."""
    if align_corners and min(spatial) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when align_corners=True. "
            "This is not an intended use case of affine_grid. See the documentation of affine_grid for details.",
            stacklevel=3)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {given}")


def affine_grid(theta, size, align_corners=None):
    if align_corners is None:
        warnings.warn(
            "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. Please "
            "specify align_corners=True if the old behavior is desired. See the documentation of grid_sample for "
            "details.")
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    given = size
    size = [int(s) for s in size]
    if len(size) == 4:
        if theta.dim() != 3 or int(theta.shape[-2]) != 2 or int(theta.shape[-1]) != 3:
            raise ValueError(
                f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. Got {list(theta.shape)}.")
        _affine_grid_check_span(size, size[-2:], align_corners, given)
        N, C, H, W = size
        xs = _linspace_from_neg_one(W, align_corners, theta)
        ys = _linspace_from_neg_one(H, align_corners, theta)
        b = _base_grid([xs, ys], theta)
        grid = b.matmul(theta.transpose(1, 2))  # [N, H*W, 2]
        return grid.reshape(N, H, W, 2)
    if len(size) == 5:
        if theta.dim() != 3 or int(theta.shape[-2]) != 3 or int(theta.shape[-1]) != 4:
            raise ValueError(
                f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. Got {list(theta.shape)}.")
        _affine_grid_check_span(size, size[-3:], align_corners, given)
        N, C, D, H, W = size
        xs = _linspace_from_neg_one(W, align_corners, theta)
        ys = _linspace_from_neg_one(H, align_corners, theta)
        zs = _linspace_from_neg_one(D, align_corners, theta)
        b = _base_grid([xs, ys, zs], theta)
        grid = b.matmul(theta.transpose(1, 2))
        return grid.reshape(N, D, H, W, 3)
    raise NotImplementedError(
        f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, respectively. Got size {size}.")


def pixel_shuffle(input, upscale_factor):
    r = int(upscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    if input.dim() < 3:
        raise RuntimeError(
            f"pixel_shuffle expects input to have at least 3 dimensions, but got input with {input.dim()} dimension(s)")
    shp = _shape(input)
    C, H, W = shp[-3:]
    if C % (r * r) != 0:
        raise RuntimeError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, "
            f"but input.size(-3)={C} is not divisible by {r * r}")
    lead = list(shp[:-3])
    oc = C // (r * r)
    x = input.reshape(*lead, oc, r, r, H, W)
    n = len(lead)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, oc, H * r, W * r)


def pixel_unshuffle(input, downscale_factor):
    r = int(downscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    if input.dim() < 3:
        raise RuntimeError(
            f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with {input.dim()} "
            "dimension(s)")
    shp = _shape(input)
    C, H, W = shp[-3:]
    if H % r != 0:
        raise RuntimeError(
            f"pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)={H} is not "
            f"divisible by {r}")
    if W % r != 0:
        raise RuntimeError(
            f"pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)={W} is not "
            f"divisible by {r}")
    lead = list(shp[:-3])
    n = len(lead)
    x = input.reshape(*lead, C, H // r, r, W // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, C * r * r, H // r, W // r)


def channel_shuffle(input, groups):
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    shp = _shape(input)
    N, C = shp[0], shp[1]
    if C % groups != 0:
        raise RuntimeError(
            f"Number of channels must be divisible by groups. Got {C} channels and {groups} groups.")
    x = input.reshape(N, groups, C // groups, *shp[2:]).transpose(1, 2)
    return x.reshape(shp)


native_channel_shuffle = channel_shuffle


# ---------------------------------------------------------------------------
# attention
# ---------------------------------------------------------------------------

def _causal_mask(L, S, like):
    rows = torch.arange(L, device=like.device).unsqueeze(1)
    cols = torch.arange(S, device=like.device).unsqueeze(0)
    return cols <= rows  # True = attend (lower triangle incl. diagonal)


def _repeat_heads(t, rep):
    """[..., Hk, S, E] -> [..., Hk*rep, S, E] (repeat_interleave on dim -3)."""
    if rep == 1:
        return t
    shp = _shape(t)
    x = t.unsqueeze(-3).expand(*shp[:-2], rep, *shp[-2:])
    return x.reshape(*shp[:-3], shp[-3] * rep, *shp[-2:])


def _native_sdpa_ok(q, k, v, mask, dropout_p):
    """4-D float32/float64 q/k/v with equal batch and head dims, non-empty, no dropout: the fused
    kernel. Everything else (dropout, broadcasting batches, other ranks) keeps the composite path."""
    if dropout_p > 0.0 or q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        return False
    if _dtype_name(q.dtype) not in ("float32", "float64") or k.dtype != q.dtype or v.dtype != q.dtype:
        return False
    qs, ks, vs = _shape(q), _shape(k), _shape(v)
    if qs[:2] != ks[:2] or qs[:2] != vs[:2] or ks[2] != vs[2] or 0 in qs or 0 in ks or 0 in vs:
        return False
    if mask is not None:
        # PyTorch takes its math path for a 3-D mask, and a mask that requires grad needs it
        if not (_dtype_name(mask.dtype) == "bool" or mask.dtype == q.dtype) or mask.dim() in (3,) or mask.dim() > 4:
            return False
        if mask.requires_grad and torch.is_grad_enabled():
            return False
        ms = [1] * (4 - mask.dim()) + list(_shape(mask))
        want = [qs[0], qs[1], qs[2], ks[2]]
        if any(m not in (1, w) for m, w in zip(ms, want)):
            return False
    return True


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    L, S = int(query.shape[-2]), int(key.shape[-2])
    E = int(query.shape[-1])
    if int(key.shape[-1]) != E:
        raise RuntimeError(
            f"Expected query, key, and value to have the same embedding dimension for query and key, but got "
            f"query.size(-1)={E} and key.size(-1)={int(key.shape[-1])}")
    # empty head dim: every score is an empty dot product (0), whatever the scale
    scale_factor = (1.0 / math.sqrt(E) if E > 0 else 1.0) if scale is None else scale
    if enable_gqa and query.dim() >= 3:
        hq, hk, hv = int(query.shape[-3]), int(key.shape[-3]), int(value.shape[-3])
        if hq % hk != 0 or hq % hv != 0:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in query")
        key = _repeat_heads(key, hq // hk)
        value = _repeat_heads(value, hq // hv)
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                           "is_causal=True")
    if _native_sdpa_ok(query, key, value, attn_mask, dropout_p):
        mask = attn_mask
        if mask is not None and _dtype_name(mask.dtype) == "bool":
            mask = torch.zeros(_shape(mask), dtype=query.dtype).masked_fill(mask.logical_not(), float("-inf"))
        return _C.sdpa(query, key, value, mask, bool(is_causal), float(scale_factor))
    attn = query.matmul(key.transpose(-2, -1)) * scale_factor
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        attn = attn.masked_fill(_causal_mask(L, S, query).logical_not(), float("-inf"))
    if attn_mask is not None:
        if _dtype_name(attn_mask.dtype) == "bool":
            attn = attn.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            attn = attn + attn_mask
    # PyTorch's safe softmax: a row with every key masked (all -inf) attends to nothing (zeros)
    masked_rows = (attn == float("-inf")).all(-1, keepdim=True)
    attn = torch.softmax(attn, -1)
    attn = attn.masked_fill(masked_rows, 0.0)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return attn.matmul(value)


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    if mask is not None:
        dn = _dtype_name(mask.dtype)
        is_float = mask.is_floating_point()
        if dn != "bool" and not is_float:
            raise AssertionError(f"only bool and floating types of {mask_name} are supported")
        if check_other and other_type is not None:
            if _dtype_name(other_type) != dn:
                warnings.warn(
                    f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                    "instead.")
        if not is_float:
            mask = torch.zeros(_shape(mask), dtype=target_type, device=mask.device).masked_fill(
                mask, float("-inf"))
    return mask


def _none_or_dtype(input):
    if input is None:
        return None
    if _is_tensor(input):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    if query.dim() == 3:
        is_batched = True
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but found "
                f"{key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                f"{attn_mask.dim()}-D tensor instead")
    elif query.dim() == 2:
        is_batched = False
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but found "
                f"{key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                    f"{attn_mask.dim()}-D tensor instead")
            if attn_mask.dim() == 3:
                expected = (num_heads, int(query.shape[0]), int(key.shape[0]))
                if _shape(attn_mask) != expected:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {_shape(attn_mask)}")
    else:
        raise AssertionError(
            f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D query tensor")
    return is_batched


def _in_projection_packed(q, k, v, w, b=None):
    E = int(q.shape[-1])
    if k is v:
        if q is k:
            proj = linear(q, w, b)
            return proj.narrow(-1, 0, E), proj.narrow(-1, E, E), proj.narrow(-1, 2 * E, E)
        w_q, w_kv = w.narrow(0, 0, E), w.narrow(0, E, 2 * E)
        if b is None:
            b_q = b_kv = None
        else:
            b_q, b_kv = b.narrow(0, 0, E), b.narrow(0, E, 2 * E)
        q_proj = linear(q, w_q, b_q)
        kv = linear(k, w_kv, b_kv)
        return q_proj, kv.narrow(-1, 0, E), kv.narrow(-1, E, E)
    w_q, w_k, w_v = w.chunk(3)
    if b is None:
        b_q = b_k = b_v = None
    else:
        b_q, b_k, b_v = b.chunk(3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query = query.unsqueeze(1)
        key = key.unsqueeze(1)
        value = value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = _shape(query)
    src_len = int(key.shape[0])
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
            "`generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if _shape(key)[:2] != _shape(value)[:2]:
            raise AssertionError(
                f"key's sequence and batch dims {_shape(key)[:2]} do not match value's {_shape(value)[:2]}")
    else:
        if _shape(key) != _shape(value):
            raise AssertionError(f"key shape {_shape(key)} does not match value shape {_shape(value)}")
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    else:
        if in_proj_bias is None:
            b_q = b_k = b_v = None
        else:
            b_q, b_k, b_v = in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, b_q, b_k, b_v)
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if _shape(attn_mask) != (tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if _shape(attn_mask) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                    f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key/value.")
        k = torch.cat([k, bias_k.repeat(1, bsz, 1)])
        v = torch.cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    else:
        if bias_k is not None or bias_v is not None:
            raise AssertionError("bias_k and bias_v must both be set or both be None")
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    if static_k is None:
        k = k.reshape(int(k.shape[0]), bsz * num_heads, head_dim).transpose(0, 1)
    else:
        k = static_k
    if static_v is None:
        v = v.reshape(int(v.shape[0]), bsz * num_heads, head_dim).transpose(0, 1)
    else:
        v = static_v
    if add_zero_attn:
        zshape = (bsz * num_heads, 1, head_dim)
        k = torch.cat([k, torch.zeros(zshape, dtype=k.dtype, device=k.device)], dim=1)
        v = torch.cat([v, torch.zeros(zshape, dtype=v.dtype, device=v.device)], dim=1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = int(k.shape[1])
    if key_padding_mask is not None:
        if _shape(key_padding_mask) != (bsz, src_len):
            raise AssertionError(
                f"expecting key_padding_mask shape of {(bsz, src_len)}, but got {_shape(key_padding_mask)}")
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len) \
            .reshape(bsz * num_heads, 1, src_len)
        if attn_mask is None:
            attn_mask = key_padding_mask
        else:
            attn_mask = attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0
    if need_weights:
        B, Nt, E = _shape(q)
        q_scaled = q * math.sqrt(1.0 / float(E))
        if is_causal and attn_mask is None:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        if attn_mask is not None:
            attn_weights = attn_mask + q_scaled.matmul(k.transpose(-2, -1))
        else:
            attn_weights = q_scaled.matmul(k.transpose(-2, -1))
        attn_weights = torch.softmax(attn_weights, -1)
        if dropout_p > 0.0:
            attn_weights = dropout(attn_weights, p=dropout_p)
        attn_output = attn_weights.matmul(v)
        attn_output = attn_output.transpose(0, 1).contiguous().reshape(tgt_len * bsz, embed_dim)
        attn_output = linear(attn_output, out_proj_weight, out_proj_bias)
        attn_output = attn_output.reshape(tgt_len, bsz, int(attn_output.shape[1]))
        attn_weights = attn_weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            attn_weights = attn_weights.mean(dim=1)
        if not is_batched:
            attn_output = attn_output.squeeze(1)
            attn_weights = attn_weights.squeeze(0)
        return attn_output, attn_weights
    if attn_mask is not None:
        if int(attn_mask.shape[0]) == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    attn_output = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    attn_output = attn_output.permute(2, 0, 1, 3).contiguous().reshape(bsz * tgt_len, embed_dim)
    attn_output = linear(attn_output, out_proj_weight, out_proj_bias)
    attn_output = attn_output.reshape(tgt_len, bsz, int(attn_output.shape[1]))
    if not is_batched:
        attn_output = attn_output.squeeze(1)
    return attn_output, None


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------

def _weighted(loss, weight):
    return loss if weight is None else loss * weight


def _reduction_name(size_average, reduce, reduction):
    """PyTorch's legacy_get_enum / get_enum as a name: ValueError for an unknown reduction."""
    if size_average is not None or reduce is not None:
        return _Reduction.legacy_get_string(size_average, reduce)
    _Reduction.get_enum(reduction)
    return "mean" if reduction == "elementwise_mean" else reduction


def _broadcast_pair(input, target):
    """torch.broadcast_tensors(input, target), with PyTorch's message for mismatched sizes."""
    shape = _broadcast_shapes(_shape(input), _shape(target))
    return input.expand(shape), target.expand(shape)


def _weighted_reduce(loss, weight, reduction):
    """The ``weight=`` branch of l1/mse loss: the mean divides by the sum of the weights."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def _check_weight_size(weight, input):
    if _shape(weight) != _shape(input):
        raise ValueError("Weights and input must have the same size.")


def _common_float(x, t, kernel):
    """Cast both operands to their promoted type, which a binary loss kernel requires to be floating."""
    rt = torch.result_type(x, t)
    if not rt.is_floating_point:
        raise _not_implemented(kernel, rt)
    return x.to(rt), t.to(rt)


def _soft_clamp_max(z, hi):
    """(min(z, hi), the rest): split so that neither branch multiplies an infinite z by a zero gradient."""
    zc = z.clamp(max=hi)
    return zc, z - zc


def _clamp_min(x, lo):
    """x.clamp(min=lo) whose gradient is PyTorch's: ``grad * (x >= lo)``, so 0 at NaN."""
    y = x.clamp(min=lo)
    if not (y.requires_grad and torch.is_grad_enabled()):
        return y
    return torch.where(x >= lo, y, y.detach())


def _l1_core(x, t, reduction):
    # at::l1_loss = (input - target).abs(), then the reduction (an integer mean raises in mean())
    return _reduce(_abs(x - t), reduction)


def _abs(x):
    """|x| with PyTorch's gradient sgn(x), which is 0 at NaN."""
    if _dtype_name(x.dtype) == "bool":
        raise _not_implemented("abs_cpu", x.dtype)
    y = torch.abs(x)
    if not (y.requires_grad and torch.is_grad_enabled()):
        return y
    return torch.where(torch.isnan(x), y.detach(), y)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _check_loss_sizes(input, target, "l1_loss")
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    x, t = _broadcast_pair(input, target)
    if weight is not None:
        _check_weight_size(weight, input)
        return _weighted_reduce(_abs(x - t) * weight, weight, reduction)
    return _l1_core(x, t, _reduction_name(None, None, reduction))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _check_loss_sizes(input, target, "mse_loss")
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    x, t = _broadcast_pair(input, target)
    if weight is not None:
        _check_weight_size(weight, input)
        d = x - t
        return _weighted_reduce(d * d * weight, weight, reduction)
    reduction = _reduction_name(None, None, reduction)
    x, t = _common_float(x, t, "mse_cpu")
    d = x - t
    if reduction in ("mean", "sum") and d.dtype in (torch.float32, torch.float64):
        # the squares summed in one pass, one MseLossBackward0 node
        return _C.mse_reduce(d, reduction == "mean")
    return _reduce(d * d, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _check_loss_sizes(input, target, "smooth_l1_loss")
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    x, t = _broadcast_pair(input, target)
    reduction = _reduction_name(None, None, reduction)
    if beta == 0.0:
        return _l1_core(x, t, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    x, t = _common_float(x, t, "smooth_l1_cpu")
    # 0.5 z^2 / beta below beta, z - 0.5 beta above
    zc, rest = _soft_clamp_max(_abs(x - t), beta)
    return _reduce(0.5 * zc * zc / beta + rest, reduction)


def _huber(x, t, delta):
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    x, t = _common_float(x, t, "huber_cpu")
    # 0.5 z^2 below delta, delta (z - 0.5 delta) above
    d = x - t
    zc, rest = _soft_clamp_max(_abs(d), delta)
    # PyTorch's backward takes the quadratic branch at NaN (gradient d = NaN), not sgn(NaN) = 0
    nan = torch.isnan(d)
    dn = torch.where(nan, d, torch.zeros_like(d))  # finite elsewhere, so the unused branch has no inf * 0
    return torch.where(nan, 0.5 * dn * dn, 0.5 * zc * zc + delta * rest)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    _check_loss_sizes(input, target, "huber_loss")
    x, t = _broadcast_pair(input, target)
    if weight is None:
        reduction = _reduction_name(None, None, reduction)
        return _reduce(_huber(x, t, delta), reduction)
    _check_weight_size(weight, input)
    loss = _huber(x, t, delta) * weight
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")
    return _reduce(loss, reduction)


def _inplace_like(res, dest):
    """``res`` as the result of an in-place op on ``dest``: PyTorch's shape and can_cast checks, dest's dtype."""
    if _shape(res) != _shape(dest):
        raise RuntimeError(
            f"output with shape {list(dest.shape)} doesn't match the broadcast shape {list(res.shape)}")
    rt, dt = res.dtype, dest.dtype
    if rt != dt:
        if (rt.is_floating_point and not dt.is_floating_point) or _dtype_name(dt) == "bool":
            raise RuntimeError(f"result type {_TYPE_NAMES.get(_dtype_name(rt))} can't be cast to the desired "
                               f"output type {_TYPE_NAMES.get(_dtype_name(dt))}")
        res = res.to(dt)
    return res


def _check_no_requires_grad(t, arg, fn):
    if t is not None and t.requires_grad and torch.is_grad_enabled():
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument '{arg}'. "
                           "This input cannot have requires_grad True.")


_REDUCTION_ENUM = {"none": 0, "mean": 1, "sum": 2}


def _nll_core(input, target, weight, ignore_index, reduction):
    """input: log-probabilities with classes at dim 1 ([C] unbatched allowed)."""
    dim = input.dim()
    if dim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {dim})")
    dn = _dtype_name(target.dtype)
    if not input.is_floating_point():
        raise _not_implemented("nll_loss_out_frame", input.dtype)
    if weight is not None and weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {_TYPE_NAMES.get(_dtype_name(input.dtype))} but found "
                           f"{_TYPE_NAMES.get(_dtype_name(weight.dtype))}")
    unbatched = dim == 1
    if unbatched:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target.dim() == 1 and int(target.shape[0]) != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                             f"{int(target.shape[0])}")
        x = input.unsqueeze(0)
        t = target.reshape(1)
    else:
        tb = int(target.shape[0]) if target.dim() > 0 else 0
        if int(input.shape[0]) != tb:
            raise ValueError(
                f"Expected input batch_size ({int(input.shape[0])}) to match target batch_size "
                f"({tb}).")
        x = input
        t = target
        if dim > 2 and _shape(target) != _shape(input)[:1] + _shape(input)[2:]:
            raise RuntimeError(
                f"Expected target size {list(_shape(input)[:1] + _shape(input)[2:])}, got {list(target.shape)}")
        if dim == 2 and target.dim() != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if dn not in ("int64", "uint8"):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_TYPE_NAMES.get(dn, dn)}")
    C = int(x.shape[1])
    if weight is not None and weight.numel() != C:
        raise RuntimeError(
            f"weight tensor should be defined either for all {C} classes or no classes but got weight tensor of "
            f"shape: {list(weight.shape)}")
    if dn != "int64":
        t = t.to(torch.int64)
    if weight is not None and weight.requires_grad and torch.is_grad_enabled():
        raise RuntimeError("The function 'nll_loss_forward' is not differentiable with respect to argument 'weight'. "
                           "This input cannot have requires_grad True.")
    if _dtype_name(x.dtype) in ("float32", "float64") and reduction in _REDUCTION_ENUM:
        out = _C.nll_loss(x, t, weight, int(ignore_index), _REDUCTION_ENUM[reduction])
        return out.squeeze(0) if unbatched and reduction == "none" else out
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= C))
    if bool(bad.any()):
        first = next(v for v, b in zip(t.reshape(-1).tolist(), bad.reshape(-1).tolist()) if b)
        raise IndexError(f"Target {first} is out of bounds.")
    safe_t = t.masked_fill(valid.logical_not(), 0)
    picked = x.gather(1, safe_t.unsqueeze(1)).squeeze(1)
    if weight is not None:
        w = weight.index_select(0, safe_t.reshape(-1)).reshape(_shape(safe_t)).to(x.dtype)
        w = w.masked_fill(valid.logical_not(), 0.0)
        loss = (-(picked * w)).masked_fill(valid.logical_not(), 0.0)
    else:
        w = None
        loss = (-picked).masked_fill(valid.logical_not(), 0.0)
    if reduction == "none":
        return loss.squeeze(0) if unbatched else loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        if w is None:
            denom = valid.sum().to(x.dtype)
        else:
            denom = w.sum()
        return loss.sum() / denom
    raise ValueError(f"{reduction} is not a valid value for reduction")


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    reduction = _reduction_name(size_average, reduce, reduction)
    return _nll_core(input, target, weight, ignore_index, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    reduction = _reduction_name(size_average, reduce, reduction)
    # at::cross_entropy_loss: only label_smoothing > 1 is an error; a negative one means none
    class_dim = 0 if input.dim() == 1 else 1
    if _shape(input) == _shape(target):
        # class probabilities (a float target of another shape goes down the class-index path, like PyTorch)
        if not target.is_floating_point():
            raise RuntimeError(f"Expected floating point type for target with class probabilities, got "
                               f"{_TYPE_NAMES.get(_dtype_name(target.dtype))}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if label_smoothing > 1.0:
            raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
        logp = log_softmax(input, class_dim)
        C = int(input.shape[class_dim])
        if weight is not None and weight.numel() != C:
            raise RuntimeError(
                f"weight tensor should be defined either for all {C} classes or no classes but got weight tensor "
                f"of shape: {list(weight.shape)}")
        if label_smoothing > 0.0:
            target = target * (1 - label_smoothing) + (label_smoothing / C)
        prod = logp * target
        if weight is not None:
            wshape = [1] * input.dim()
            wshape[class_dim] = C
            prod = prod * weight.reshape(wshape)
        if reduction == "none":
            return -prod.sum(class_dim)
        if reduction == "sum":
            return -prod.sum()
        if reduction == "mean":
            n = input.numel() // C if C > 0 else 0
            return -prod.sum() / float(n) if n > 0 else -prod.sum() * float("nan")
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    logp = log_softmax(input, class_dim)
    nll = _nll_core(logp, target, weight, ignore_index, reduction)
    if label_smoothing <= 0.0:
        return nll
    C = int(input.shape[class_dim])
    if weight is not None:
        wshape = [1] * logp.dim()
        wshape[class_dim] = C
        smooth = -(logp * weight.reshape(wshape)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    ignore_mask = target == ignore_index
    smooth = smooth.masked_fill(ignore_mask, 0.0)
    if reduction == "mean":
        if weight is not None:
            safe_t = target.masked_fill(ignore_mask, 0)
            wsum = weight.index_select(0, safe_t.reshape(-1)).masked_fill(ignore_mask.reshape(-1), 0.0).sum()
            ret = smooth.sum() / wsum
        else:
            ret = smooth.sum() / ignore_mask.logical_not().sum().to(smooth.dtype)
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return (1 - label_smoothing) * nll + ret * (label_smoothing / C)


class _BinaryCrossEntropy(torch.autograd.Function):
    """Elementwise BCE with PyTorch's backward: logs clamped at -100 in the value only, and
    d/dinput = (x - t) / max((1 - x) x, 1e-12), so inputs of exactly 0 or 1 get finite gradients."""

    @staticmethod
    def forward(ctx, input, target):
        ctx.save_for_backward(input, target)
        return (target - 1) * torch.log1p(-input).clamp(min=-100.0) - target * torch.log(input).clamp(min=-100.0)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = grad * (x - t) / ((1 - x) * x).clamp(min=1e-12)
        if ctx.needs_input_grad[1]:
            gt = grad * (torch.log1p(-x) - torch.log(x))
        return gx, gt


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_name(size_average, reduce, reduction)
    if _shape(target) != _shape(input):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) is "
            "deprecated. Please ensure they have the same size.")
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {_TYPE_NAMES.get(_dtype_name(target.dtype))} but expected "
                           f"{_TYPE_NAMES.get(_dtype_name(input.dtype))}")
    with torch.no_grad():
        ok_in = ((input >= 0) & (input <= 1)).all()
        ok_t = ((target >= 0) & (target <= 1)).all()
    if not bool(ok_in):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if not bool(ok_t):
        raise RuntimeError("all elements of target should be between 0 and 1")
    loss = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    reduction = _reduction_name(size_average, reduce, reduction)
    if _shape(target) != _shape(input):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    _check_no_requires_grad(weight, "weight", "binary_cross_entropy_with_logits")
    _check_no_requires_grad(pos_weight, "pos_weight", "binary_cross_entropy_with_logits")
    # at::binary_cross_entropy_with_logits, whose in-place steps fix the result's dtype to the target's:
    # log_sig = log_sigmoid(input); log_sig.mul_(1 + (pos_weight - 1) * target);
    # loss = (1 - target).mul_(input).sub_(log_sig); loss.mul_(weight)
    log_sig = logsigmoid(input)
    if pos_weight is not None:
        log_sig = _inplace_like(log_sig * ((pos_weight - 1) * target + 1), log_sig)
    one_minus = 1 - target
    loss = _inplace_like(one_minus * input, one_minus)
    loss = _inplace_like(loss - log_sig, loss)
    if weight is not None:
        loss = _inplace_like(loss * weight, loss)
    return _reduce(loss, reduction)


def _xlogy(x, y):
    """x * log(y) with 0 where x == 0 (composed so that gradients stay finite)."""
    zero = x == 0
    y_safe = torch.where(zero, torch.full_like(y, 1), y)
    return (x * torch.log(y_safe)).masked_fill(zero, 0.0)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    else:
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support size."
                "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                "'mean' will be changed to behave the same as 'batchmean' in the next major release.")
        if reduction != "batchmean":
            reduction = _reduction_name(None, None, reduction)
    if not (input.is_floating_point() and target.is_floating_point()):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = torch.exp(target) * (target - input)
    else:
        loss = _xlogy(target, target) - target * input
    if reduction == "batchmean":
        red = loss.sum()
        if input.dim() != 0:
            red = red / int(input.shape[0])
        return red
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    reduction = _reduction_arg(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    if log_input:
        loss = torch.exp(input) - target * input
    else:
        loss = input - target * torch.log(input + eps)
    if full:
        t_safe = torch.where(target > 1, target, torch.ones_like(target))
        stirling = t_safe * torch.log(t_safe) - t_safe + 0.5 * torch.log(2 * math.pi * t_safe)
        loss = loss + stirling.masked_fill(target <= 1, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    if not _is_tensor(var):
        var = torch.full_like(input, float(var))
    if _shape(var) != _shape(input):
        if _shape(input)[:-1] == _shape(var):
            var = var.unsqueeze(-1)
        elif _shape(input)[:-1] == _shape(var)[:-1] and int(var.shape[-1]) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    # like PyTorch: clamp a clone in place under no_grad (an inf variance must not become NaN)
    var = var.clone()
    with torch.no_grad():
        var.clamp_(min=eps)
    d = input - target
    loss = 0.5 * (torch.log(var) + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_name(size_average, reduce, reduction)
    _check_no_requires_grad(target, "target", "soft_margin_loss")
    # at::soft_margin_loss works in place in a tensor of input's dtype and shape:
    # neg_out(out, input).mul_(target).exp_().log1p_()
    z = _inplace_like(-input * target, input)
    if not z.is_floating_point():
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_TYPE_NAMES.get(_dtype_name(z.dtype))}")
    return _reduce(torch.log1p(torch.exp(z)), reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_name(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: "
            f"{input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    loss = _clamp_min(-target * (input1 - input2) + margin, 0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_name(size_average, reduce, reduction)
    # at::hinge_embedding_loss computes margin - input in input's dtype (an integer margin is truncated)
    margin_clamp = _clamp_min(torch.full_like(input, margin) - input, 0)
    zeros = torch.full_like(input, 0)
    output_margin = torch.where(target != 1, margin_clamp, zeros)
    output_self = torch.where(target != -1, input, zeros)
    return _reduce(output_margin + output_self, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_arg(size_average, reduce, reduction)
    targ_dim = target.dim()
    if targ_dim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if targ_dim == 1:
        if input1.dim() != 2 or input2.dim() != 2:
            raise RuntimeError(
                f"1D target tensor expects 2D input tensors, but found inputs with sizes {list(input1.shape)} and "
                f"{list(input2.shape)}.")
    else:
        if input1.dim() != 1 or input2.dim() != 1:
            raise RuntimeError(
                f"0D target tensor expects 1D input tensors, but found inputs with sizes {list(input1.shape)} and "
                f"{list(input2.shape)}.")
    EPS = 1e-12
    prod_sum = (input1 * input2).sum(targ_dim)
    mag1 = (input1 * input1).sum(targ_dim) + EPS
    mag2 = (input2 * input2).sum(targ_dim) + EPS
    denom = torch.sqrt(mag1 * mag2)
    cos = prod_sum / denom
    zero = torch.zeros_like(cos)
    pos = torch.where(target == 1, 1 - cos, zero)  # where (not masked_fill): target broadcasts like PyTorch
    neg = torch.where(target == -1, (cos - margin).clamp(min=0), zero)
    return _reduce(pos + neg, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    reduction = _reduction_arg(size_average, reduce, reduction)
    a, pdim, n = anchor.dim(), positive.dim(), negative.dim()
    if not (a == pdim and pdim == n):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number of dimensions, but "
            f"got: anchor {a}D, positive {pdim}D, and negative {n}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        d_neg = torch.minimum(d_neg, d_swap)
    loss = (margin + d_pos - d_neg).clamp(min=0)
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    if margin <= 0:
        raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} instead")
    a, pdim, n = anchor.dim(), positive.dim(), negative.dim()
    if not (a == pdim and pdim == n):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number of dimensions, but "
            f"got: anchor {a}D, positive {pdim}D, and negative {n}D inputs")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = torch.minimum(d_neg, dist(positive, negative))
    loss = (margin + d_pos - d_neg).clamp(min=0)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_arg(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    C = int(input.shape[class_dim])
    loss = loss.sum(dim=class_dim) / C
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(reduction + " is not valid")


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_arg(size_average, reduce, reduction)
    nd = input.dim()
    if nd > 2:
        raise RuntimeError(
            f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: {list(input.shape)}")
    if _shape(target) != _shape(input):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}")
    x = input.reshape(1, -1) if nd < 2 else input
    y = target.reshape(1, -1) if nd < 2 else target
    N, C = _shape(x)
    bad = (y < -1) | (y >= C)
    if bool(bad.any()):
        raise RuntimeError("multilabel_margin_loss: target out of range")
    valid = (y == -1).to(torch.int64).cumsum(1) == 0  # entries before the first -1
    y_safe = y.masked_fill(valid.logical_not(), 0)
    classes = torch.arange(C, device=x.device)
    hit = (y_safe.unsqueeze(2) == classes.reshape(1, 1, C)) & valid.unsqueeze(2)  # [N, J, C]
    is_target = hit.to(torch.int64).sum(1) > 0  # [N, C]
    x_y = x.gather(1, y_safe)  # [N, J]
    margins = (1 - x_y.unsqueeze(2) + x.unsqueeze(1)).clamp(min=0)  # [N, J, C]
    mask = valid.unsqueeze(2) & is_target.logical_not().unsqueeze(1)
    loss = margins.masked_fill(mask.logical_not(), 0.0).sum(2).sum(1) / C
    if nd < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    reduction = _reduction_arg(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    nd = input.dim()
    if nd > 2:
        raise RuntimeError(
            f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: {list(input.shape)}")
    x = input.reshape(1, -1) if nd < 2 else input
    t = target.reshape(-1)
    N, C = _shape(x)
    if int(t.shape[0]) != N:
        raise RuntimeError(
            f"inconsistent target size, expected {N} but got {list(target.shape)}")
    bad = (t < 0) | (t >= C)
    if bool(bad.any()):
        raise RuntimeError("target out of range")
    x_y = x.gather(1, t.unsqueeze(1))  # [N, 1]
    z = (margin - x_y + x).clamp(min=0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.index_select(0, t).unsqueeze(1)
    classes = torch.arange(C, device=x.device).unsqueeze(0)
    z = z.masked_fill(classes == t.unsqueeze(1), 0.0)
    loss = z.sum(1) / C
    if nd < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """Connectionist Temporal Classification loss.

    Forward recursion over time in log space (``logsumexp`` of tensors), so autograd
    produces the gradient.  Unreachable states hold a large finite negative number
    instead of -inf so that the backward pass never forms ``inf - inf``."""
    unbatched = log_probs.dim() == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.dim() != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs to be 2-D or 3-D, but got {log_probs.dim()}-D")
    T, N, C = _shape(lp)

    def _lengths(v, name):
        if _is_tensor(v):
            vals = [int(a) for a in v.reshape(-1).tolist()]
        elif isinstance(v, numbers.Integral):
            vals = [int(v)]
        else:
            vals = [int(a) for a in v]
        if len(vals) != N:
            raise RuntimeError(f"{name} must be of size batch_size")
        return vals

    in_lens = _lengths(input_lengths, "input_lengths")
    tg_lens = _lengths(target_lengths, "target_lengths")
    # PyTorch's order: blank, then target lengths, then input lengths
    if not (0 <= blank < C):
        raise RuntimeError("blank must be in label range")
    for tl_n in tg_lens:
        if tl_n < 0:
            raise RuntimeError(
                f"Expected target_lengths to have value at least 0, but got value {tl_n} (while checking arguments "
                "for ctc_loss_allocate_outputs)")
    for il in in_lens:
        if il > T:
            raise RuntimeError(
                f"Expected input_lengths to have value at most {T}, but got value {il} (while checking arguments "
                "for ctc_loss_cpu)")
    S = max(tg_lens) if tg_lens else 0
    # padded targets [N, S]
    tg = targets
    if unbatched and tg.dim() == 1 and not (tg.dim() == 2):
        tg = tg.reshape(1, -1)
        if int(tg.shape[1]) < S:
            raise RuntimeError("target too short")
        tg = tg.narrow(1, 0, S) if S > 0 else tg.narrow(1, 0, 0)
    elif tg.dim() == 2:
        if int(tg.shape[1]) < S:
            raise RuntimeError(
                f"Expected tensor to have size at least {S} at dimension 1, but got size {int(tg.shape[1])} for "
                "argument #2 'targets' (while checking arguments for ctc_loss_cpu)")
        tg = tg.narrow(1, 0, S)
    else:
        total = int(tg.shape[0])
        if sum(tg_lens) > total:
            raise RuntimeError("ctc_loss: targets shorter than sum of target_lengths")
        if total == 0:
            tg = torch.zeros(N, S, dtype=torch.int64, device=lp.device)
        else:
            # sample n's targets are the concatenated targets[start_n : start_n + L_n]; the padding slots read
            # index 0 (and are replaced by the blank below)
            lens_t = _to_dev(torch.tensor(tg_lens, dtype=torch.int64), tg)
            starts_t = lens_t.cumsum(0) - lens_t
            j = _arange(0, S, tg.device)
            pos = (starts_t.unsqueeze(1) + j.unsqueeze(0)) * (j.unsqueeze(0) < lens_t.unsqueeze(1))
            tg = tg.index_select(0, pos.reshape(-1)).reshape(N, S)
    tg = tg.to(torch.int64)
    dev = lp.device
    tl = torch.tensor(tg_lens, dtype=torch.int64)
    tl = _to_dev(tl, lp)
    if S > 0:
        spos = _to_dev(torch.arange(S), lp).unsqueeze(0)
        tg = tg.masked_fill(spos >= tl.unsqueeze(1), blank)
    Lx = 2 * S + 1
    blank_col = torch.full((N, S), blank, dtype=torch.int64, device=dev)
    if S > 0:
        ext = torch.cat([torch.stack([blank_col, tg], 2).reshape(N, 2 * S),
                         torch.full((N, 1), blank, dtype=torch.int64, device=dev)], 1)
    else:
        ext = torch.full((N, 1), blank, dtype=torch.int64, device=dev)
    work_dtype = lp.dtype if _dtype_name(lp.dtype) in ("float32", "float64") else torch.float32
    cast = _dtype_name(work_dtype) != _dtype_name(lp.dtype)
    x = lp.to(work_dtype) if cast else lp
    NEG = -1e30
    # emissions for the extended label sequence: [T, N, Lx]
    em = x.gather(2, ext.unsqueeze(0).expand(T, N, Lx))
    # transitions allowed from s-2
    if Lx > 2:
        e2 = ext.narrow(1, 2, Lx - 2)
        e0 = ext.narrow(1, 0, Lx - 2)
        skip = (e2 != blank) & (e2 != e0)
        skip = torch.cat([torch.zeros(N, 2, dtype=torch.bool, device=dev), skip], 1)
    else:
        skip = torch.zeros(N, Lx, dtype=torch.bool, device=dev)
    noskip = skip.logical_not()
    sidx = _to_dev(torch.arange(Lx), lp).unsqueeze(0)
    alpha = em[0].masked_fill(sidx >= 2, NEG)
    neg1 = torch.full((N, 1), NEG, dtype=work_dtype, device=dev)
    neg2 = torch.full((N, 2), NEG, dtype=work_dtype, device=dev)
    vary = any(il != T for il in in_lens)
    if vary:
        il_t = _to_dev(torch.tensor(in_lens, dtype=torch.int64), lp)
    for t in range(1, T):
        a1 = torch.cat([neg1, alpha.narrow(1, 0, Lx - 1)], 1)
        if Lx > 2:
            a2 = torch.cat([neg2, alpha.narrow(1, 0, Lx - 2)], 1).masked_fill(noskip, NEG)
        else:
            a2 = torch.full((N, Lx), NEG, dtype=work_dtype, device=dev)
        new = torch.logsumexp(torch.stack([alpha, a1, a2], 0), 0) + em[t]
        if vary:
            alpha = torch.where((il_t > t).unsqueeze(1), new, alpha)
        else:
            alpha = new
    end1 = alpha.gather(1, (2 * tl).unsqueeze(1))
    end2 = alpha.gather(1, (2 * tl - 1).clamp(min=0).unsqueeze(1)).masked_fill((tl == 0).unsqueeze(1), NEG)
    loss = -torch.logsumexp(torch.cat([end1, end2], 1), 1)
    # feasibility: need input_length >= target_length + number of repeated neighbours
    if S > 1:
        rep_mask = (tg.narrow(1, 1, S - 1) == tg.narrow(1, 0, S - 1)) & \
                   (_to_dev(torch.arange(1, S), lp).unsqueeze(0) < tl.unsqueeze(1))
        reps = rep_mask.to(torch.int64).sum(1)
    else:
        reps = torch.zeros(N, dtype=torch.int64, device=dev)
    il_all = _to_dev(torch.tensor(in_lens, dtype=torch.int64), lp)
    feasible = il_all >= (tl + reps)
    infeasible = feasible.logical_not()
    if zero_infinity:
        loss = loss.masked_fill(infeasible, 0.0)
    else:
        loss = torch.where(infeasible, torch.full_like(loss, float("inf")), loss)
    if cast:
        loss = loss.to(lp.dtype)
    if reduction == "none":
        return loss.squeeze(0) if unbatched else loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return (loss / tl.clamp(min=1).to(loss.dtype)).mean()
    raise ValueError(f"{reduction} is not a valid value for reduction")


nll_loss2d = nll_loss


__all__ = [name for name in dir() if not name.startswith("_") and name not in (
    "functools", "math", "numbers", "struct", "warnings", "torch")]


# autocast: ops on PyTorch's lower-precision and float32 lists cast their inputs while a region is on
from ..amp._policy import install as _amp_install  # noqa: E402
_amp_install(globals(), "torch.nn.functional")
