"""CPU autocast op policies: which ops run in the autocast dtype, which in float32.

The op lists follow PyTorch 2.13's CPU autocast as observed (output dtypes of each op under
``torch.autocast('cpu')``). :func:`install` wraps the listed functions of one namespace
(``torch``, ``torch.nn.functional``, ``torch.linalg``, ``torch.fft``) and
:func:`install_tensor` the Tensor methods. A wrapped op, while CPU autocast is on in the
calling thread, casts its floating tensor arguments (never float64) and runs with autocast
excluded, so the ops it calls internally run as called - as PyTorch's dispatcher does.
"""
import functools

from .. import _core
from . import _state

_Tensor = _core.Tensor
_f32, _f64 = _core.float32, _core.float64


def _eligible(x):
    return isinstance(x, _Tensor) and x.dtype.is_floating_point and x.dtype != _f64


def _cast(x, dtype, st):
    """``x`` in ``dtype`` if autocast may cast it; leaf weights' casts are cached per region."""
    if not _eligible(x) or x.dtype == dtype:
        return x
    if st.cache_enabled and dtype != _f32 and x.dtype == _f32 and x.requires_grad and x.is_leaf:
        hit = st.cache.get(id(x))
        if hit is not None and hit[0] is x:
            return hit[1]
        y = x.to(dtype)
        st.cache[id(x)] = (x, y)
        return y
    return x.to(dtype)


def _cast_all(args, kwargs, dtype, st):
    def one(a):
        if isinstance(a, (list, tuple)) and a and any(isinstance(e, _Tensor) for e in a):
            return type(a)(_cast(e, dtype, st) for e in a)
        return _cast(a, dtype, st)
    return tuple(one(a) for a in args), {k: one(v) for k, v in kwargs.items()}


def _lower(args, kwargs, st):
    return _cast_all(args, kwargs, st.dtype["cpu"], st)


def _fp32(args, kwargs, st):
    return _cast_all(args, kwargs, _f32, st)


def _promote(args, kwargs, st):
    """The widest floating type among the arguments (float32 over the autocast dtype)."""
    found = []
    for a in (*args, *kwargs.values()):
        found.extend(a if isinstance(a, (list, tuple)) else (a,))
    wide = _f32 if any(_eligible(t) and t.dtype == _f32 for t in found) else st.dtype["cpu"]
    return _cast_all(args, kwargs, wide, st)


def _pad(args, kwargs, st):
    """F.pad: the reflection (1-D, 2-D) and replication (1-D to 3-D) kernels run in float32."""
    pad = args[1] if len(args) > 1 else kwargs.get("pad", ())
    mode = args[2] if len(args) > 2 else kwargs.get("mode", "constant")
    n = len(pad)
    if (mode == "reflect" and n in (2, 4)) or (mode == "replicate" and n in (2, 4, 6)):
        return _fp32(args, kwargs, st)
    return args, kwargs


LOWER, FP32, PROMOTE = _lower, _fp32, _promote

_CONV = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv_tbc")
# ops that reach PyTorch's lower-precision kernels (mm/bmm) by composition are listed too
_TORCH = {
    **dict.fromkeys(("matmul", "mm", "bmm", "addmm", "baddbmm", "addbmm", "einsum", "tensordot", "inner",
                     "chain_matmul", "matrix_power", "prelu", "_convolution", "convolution") + _CONV, LOWER),
    **dict.fromkeys(("prod", "trace", "cdist", "inverse", "pinverse", "cholesky", "cholesky_inverse",
                     "cholesky_solve", "lu_solve", "orgqr", "ormqr", "geqrf", "polar", "quantile", "nanquantile",
                     "stft", "view_as_complex", "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss",
                     "hinge_embedding_loss", "margin_ranking_loss", "poisson_nll_loss", "triplet_margin_loss",
                     "ctc_loss", "grid_sampler", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d",
                     "adaptive_max_pool3d"), FP32),
    **dict.fromkeys(("cat", "concat", "concatenate", "stack", "index_copy"), PROMOTE),
}
_FUNCTIONAL = {
    **dict.fromkeys(("linear", "prelu", "scaled_dot_product_attention") + _CONV, LOWER),
    **dict.fromkeys(("avg_pool3d", "max_pool3d", "max_pool3d_with_indices", "adaptive_avg_pool3d",
                     "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices", "max_unpool1d", "max_unpool2d",
                     "max_unpool3d", "fractional_max_pool2d", "fractional_max_pool3d", "grid_sample", "mse_loss",
                     "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
                     "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss", "hinge_embedding_loss",
                     "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss",
                     "multilabel_margin_loss", "poisson_nll_loss", "ctc_loss"), FP32),
    "pad": _pad,
}
_LINALG = {
    **dict.fromkeys(("vecdot", "multi_dot", "matrix_power"), LOWER),
    **dict.fromkeys(("cholesky", "cholesky_ex", "inv", "inv_ex", "solve", "solve_ex", "eigh", "eigvalsh", "svd",
                     "svdvals", "qr", "cond", "lstsq", "tensorinv", "tensorsolve", "householder_product", "eig",
                     "eigvals"), FP32),
}
_FFT = dict.fromkeys(("fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn",
                      "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn"), FP32)
_TENSOR = {
    **dict.fromkeys(("__matmul__", "__rmatmul__", "matmul", "mm", "bmm", "addmm", "baddbmm", "addbmm", "inner",
                     "matrix_power", "prelu"), LOWER),
    **dict.fromkeys(("prod", "trace", "inverse", "pinverse", "cholesky", "cholesky_inverse", "cholesky_solve",
                     "lu_solve", "orgqr", "ormqr", "geqrf", "quantile", "nanquantile", "stft"), FP32),
    **dict.fromkeys(("index_copy",), PROMOTE),
}
TABLES = {"torch": _TORCH, "torch.nn.functional": _FUNCTIONAL, "torch.linalg": _LINALG, "torch.fft": _FFT,
          "Tensor": _TENSOR}


def wrap(fn, policy):
    """``fn`` under an autocast policy (LOWER, FP32, PROMOTE or a custom ``policy(args, kwargs, state)``)."""
    if getattr(fn, "_autocast_policy", None) is not None:
        return fn

    direct = getattr(fn, "_without_out", None) or fn

    @functools.wraps(fn)
    def op(*args, **kwargs):
        # out= calls are not autocast (PyTorch); nothing to do unless some thread has CPU autocast on
        if not _state.armed:
            return direct(*args, **kwargs) if "out" not in kwargs else fn(*args, **kwargs)
        if kwargs.get("out") is not None:
            return fn(*args, **kwargs)
        st = _state.local
        if st.excluded or not st.enabled.get("cpu", False):
            return fn(*args, **kwargs)
        args, kwargs = policy(args, kwargs, st)
        st.excluded = True
        try:
            return fn(*args, **kwargs)
        finally:
            st.excluded = False
    op._autocast_policy = policy
    return op


def install(namespace, where="torch"):
    """Wrap the listed ops found in ``namespace`` (a module's ``globals()``) in place.

    ``where`` names the table: "torch", "torch.nn.functional", "torch.linalg" or "torch.fft".
    """
    for name, policy in TABLES[where].items():
        f = namespace.get(name)
        if callable(f) and not isinstance(f, type):
            namespace[name] = wrap(f, policy)


def install_tensor(cls):
    """Wrap the listed Tensor methods (``@`` included) of ``cls`` in place."""
    for name, policy in _TENSOR.items():
        f = cls.__dict__.get(name)
        if f is not None and callable(f):
            setattr(cls, name, wrap(f, policy))


def excluded(fn):
    """Run ``fn`` with autocast excluded and no casting (ops whose kernel PyTorch does not autocast,
    such as the fused GRU and LSTM cells, keep their input dtype)."""
    return wrap(fn, lambda args, kwargs, st: (args, kwargs))


def cast(policy, *args, **kwargs):
    """``(args, kwargs)`` cast as ``policy`` would under the current autocast state (no exclusion)."""
    st = _state.local
    if not _state.armed or st.excluded or not st.enabled.get("cpu", False):
        return args, kwargs
    return policy(args, kwargs, st)


def active():
    """Whether an op called now would be autocast (CPU autocast on in this thread, not inside an op)."""
    st = _state.local
    return bool(_state.armed) and not st.excluded and st.enabled.get("cpu", False)
