"""Window functions and the short-time Fourier transform (torch.stft / torch.istft), written
with torch.fft and differentiable tensor ops."""
import math
import warnings

from . import _C, _core, _ops
from ._core import Tensor

__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window", "stft", "istft"]


def _window(name, window_length, periodic, dtype, requires_grad, fn):
    dtype = dtype or _ops.get_default_dtype()
    if not dtype.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: TensorOptions(dtype={str(dtype).split('.')[-1]})")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    if window_length == 0:
        w = _ops.zeros([0], dtype=dtype)
    elif window_length == 1:
        w = _ops.ones([1], dtype=dtype)
    else:
        n = window_length + 1 if periodic else window_length
        k = _ops.arange(n, dtype=_core.float64)
        w = fn(k, n).to(dtype)
        if periodic:
            w = w[:-1].contiguous()
    if requires_grad:
        w.requires_grad_(True)
    return w


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return _window("hann_window", window_length, periodic, dtype, requires_grad,
                   lambda k, n: 0.5 - 0.5 * _ops.cos(k * (2 * math.pi / (n - 1))))


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False):
    return _window("hamming_window", window_length, periodic, dtype, requires_grad,
                   lambda k, n: alpha - beta * _ops.cos(k * (2 * math.pi / (n - 1))))


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return _window("blackman_window", window_length, periodic, dtype, requires_grad,
                   lambda k, n: 0.08 * _ops.cos(k * (4 * math.pi / (n - 1))) - 0.5 * _ops.cos(k * (2 * math.pi / (n - 1))) + 0.42)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return _window("bartlett_window", window_length, periodic, dtype, requires_grad,
                   lambda k, n: 1 - _ops.abs(k * (2.0 / (n - 1)) - 1))


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    from . import special

    def kaiser(k, n):
        r = k * (2.0 / (n - 1)) - 1
        return special.i0(beta * _ops.sqrt(_ops.clamp(1 - r * r, min=0))) / special.i0(_ops.tensor(beta, dtype=_core.float64))
    return _window("kaiser_window", window_length, periodic, dtype, requires_grad, kaiser)


def _padded_window(window, win_length, n_fft, dtype):
    if window is None:
        w = _ops.ones([win_length], dtype=dtype)
    else:
        if window.ndim != 1 or window.shape[0] != win_length:
            raise RuntimeError(f"stft: expected a 1D window tensor of size equal to win_length={win_length}, "
                               f"but got window with size {list(window.shape)}")
        w = window
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        w = _ops.cat([_ops.zeros([left], dtype=w.dtype), w, _ops.zeros([n_fft - win_length - left], dtype=w.dtype)])
    return w


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None):
    from . import fft as _fft
    from .nn import functional as F
    if return_complex is None:
        if not input.is_complex() and (window is None or not window.is_complex()):
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will further "
                               "require that return_complex=True in a future PyTorch release.")
        return_complex = True
    if not return_complex:
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will return "
                      "complex tensors for all inputs, and return_complex=False will raise an error.", UserWarning, stacklevel=2)
    if window is None:
        warnings.warn("A window was not provided. A rectangular window will be applied,which is known to cause "
                      "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
                      "recommended to reduce spectral leakage.To suppress this warning and use a rectangular window, "
                      "explicitly set `window=torch.ones(n_fft, device=<device>)`.", UserWarning, stacklevel=2)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, but got {input.ndim}D tensor")
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if hop_length <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop_length}")
    if win_length <= 0 or win_length > n_fft:
        raise RuntimeError(f"stft: expected 0 < win_length <= n_fft, but got win_length={win_length}")
    x = input if input.ndim == 2 else input.unsqueeze(0)
    if center:
        p = n_fft // 2
        x = F.pad(x.unsqueeze(1), (p, p), mode=pad_mode).squeeze(1)
    length = x.shape[-1]
    if n_fft <= 0 or n_fft > length:
        raise RuntimeError(f"stft: expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    real_dtype = x.dtype.to_real() if x.is_complex() else (x.dtype if x.dtype.is_floating_point else _ops.get_default_dtype())
    w = _padded_window(window, win_length, n_fft, real_dtype)
    frames = x.unfold(-1, n_fft, hop_length) * w  # (B, n_frames, n_fft)
    if onesided is None:
        onesided = not x.is_complex() and not w.is_complex()
    if onesided:
        if x.is_complex() or w.is_complex():
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        spec = _fft.rfft(frames, dim=-1)
    else:
        spec = _fft.fft(frames, dim=-1)
    if normalized:
        spec = spec * (1.0 / math.sqrt(n_fft))
    spec = spec.transpose(-2, -1)  # (B, n_freq, n_frames)
    if input.ndim == 1:
        spec = spec.squeeze(0)
    return spec if return_complex else _C.view_as_real(spec.contiguous())


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    from . import fft as _fft
    if not input.is_complex():
        raise RuntimeError("istft requires a complex-valued input tensor.")
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if input.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor with 2 or 3 dimensions of complex dtype, but got {input.ndim}D")
    spec = input if input.ndim == 3 else input.unsqueeze(0)
    n_freq, n_frames = spec.shape[-2], spec.shape[-1]
    if onesided is None:
        onesided = n_freq != n_fft
    if onesided and n_freq != n_fft // 2 + 1:
        raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of the input tensor to match "
                           f"n_fft / 2 + 1 when onesided=True, but got {n_freq}")
    real_dtype = spec.dtype.to_real()
    w = _padded_window(window, win_length, n_fft, real_dtype)
    frames = spec.transpose(-2, -1)  # (B, n_frames, n_freq)
    if normalized:
        frames = frames * math.sqrt(n_fft)
    if onesided:
        if return_complex:
            raise RuntimeError("cannot have onesided output if window or input is complex")
        frames = _fft.irfft(frames, n=n_fft, dim=-1)
    else:
        frames = _fft.ifft(frames, n=n_fft, dim=-1)
        if not return_complex:
            frames = frames.real
    frames = frames * w
    expected = n_fft + hop_length * (n_frames - 1)
    # overlap-add of the frames and of the squared window (the normalizing envelope)
    batch = frames.shape[0]
    idx = (_ops.arange(n_frames).unsqueeze(1) * hop_length + _ops.arange(n_fft).unsqueeze(0)).reshape(-1)
    y = _ops.zeros([batch, expected], dtype=frames.dtype).index_add(1, idx, frames.reshape(batch, -1))
    env = _ops.zeros([expected], dtype=real_dtype).index_add(0, idx, (w * w).repeat(n_frames))
    start = n_fft // 2 if center else 0
    end = expected if length is None else start + length
    if length is None and center:
        end = expected - n_fft // 2
    y = y[:, start:_b_min(end, expected)]
    env = env[start:_b_min(end, expected)]
    if (env.abs() < 1e-11).any():
        raise RuntimeError("istft: window overlap add min: 0")
    y = y / env
    if length is not None and y.shape[-1] < length:
        y = _ops.cat([y, _ops.zeros([batch, length - y.shape[-1]], dtype=y.dtype)], -1)
    return y if input.ndim == 3 else y.squeeze(0)


_b_min = min
