"""torch.linalg: norms via differentiable ops; factorizations with NumPy forwards and analytic
backward formulas recorded as autograd Functions."""
import numpy as np

from . import _ops
from ._core import return_types
from .autograd.function import Function


class _LinAlgError(RuntimeError):
    """A singular or non-definite input (torch.linalg.LinAlgError, a RuntimeError)."""


LinAlgError = _LinAlgError


_NAMES = {_ops._core.float16: "Half", _ops._core.bfloat16: "BFloat16"}


def _check(A, name, square=True, float_only=True, kernel="lu_cpu"):
    """PyTorch's input checks for linalg functions (so NumPy never sees, or reports on, bad input)."""
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {A.shape[-2]} by {A.shape[-1]} matrices")
    if float_only and not A.dtype.is_floating_point:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {_ops._SCALAR_NAME[A.dtype]}")
    if A.dtype in _NAMES:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_NAMES[A.dtype]}'")


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    if isinstance(ord, str):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    if not x.dtype.is_floating_point and (dtype is None or not dtype.is_floating_point):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {_ops._SCALAR_NAME[x.dtype]}")
    return _ops.norm(x, float(ord), dim, keepdim, dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if ord == "fro":
        return _ops.norm(A, 2.0, dim, keepdim, dtype)
    if ord in (1, -1, float("inf"), float("-inf")):
        s = A.abs().sum(dim[0] if ord in (1, -1) else dim[1], keepdim=True)
        r = s.amax(dim, keepdim=keepdim) if ord > 0 else s.amin(dim, keepdim=keepdim)
        return r
    if ord in (2, -2, "nuc"):
        # singular values of the matrices spanned by `dim` (not differentiable: svdvals is a NumPy forward)
        d0, d1 = (_ops._wrap(d, A.ndim) for d in dim)
        sv = svdvals(_ops.movedim(A, (d0, d1), (-2, -1)))
        r = sv.sum(-1) if ord == "nuc" else (sv.amax(-1) if ord == 2 else sv.amin(-1))
        if keepdim:
            for d in sorted((d0, d1)):
                r = r.unsqueeze(d)
        return r
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    if ord is None or (dim is None and ord == "fro"):
        return _ops.norm(A, 2.0, dim, keepdim, dtype)
    if isinstance(dim, (tuple, list)) and len(dim) == 2 or (dim is None and A.ndim == 2):
        return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def _np(t):
    return t.detach().numpy()


def _np_call(fn, *args, **kw):
    """Runs a NumPy linalg routine, reporting its failure as PyTorch's LinAlgError."""
    try:
        return fn(*args, **kw)
    except np.linalg.LinAlgError as e:
        raise LinAlgError(f"linalg: {e}") from None


def _t(a, like):
    return _ops.tensor(np.array(a, copy=True), dtype=like.dtype)


class _Inv(Function):
    @staticmethod
    def forward(ctx, A):
        a = _np(A)
        if a.size and np.any(np.linalg.matrix_rank(a) < a.shape[-1]):
            raise LinAlgError("linalg.inv: The diagonal element 1 is zero, the inversion could not be completed because the input matrix is singular.")
        out = _t(np.linalg.inv(a), A)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (inv,) = ctx.saved_tensors
        it = inv.mT
        return -(it @ g @ it)


class _Det(Function):
    @staticmethod
    def forward(ctx, A):
        d = _t(np.asarray(_np_call(np.linalg.det, _np(A))), A)
        ctx.save_for_backward(A, d)
        return d

    @staticmethod
    def backward(ctx, g):
        A, d = ctx.saved_tensors
        return (g * d).unsqueeze(-1).unsqueeze(-1) * inv(A).mT


class _Solve(Function):
    @staticmethod
    def forward(ctx, A, B):
        vec = B.ndim == A.ndim - 1
        b = _np(B)[..., None] if vec else _np(B)
        try:
            X = np.linalg.solve(_np(A), b)
        except np.linalg.LinAlgError:
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is singular.") from None
        X = _t(X[..., 0] if vec else X, B)
        ctx.save_for_backward(A, X)
        ctx.vec = vec
        return X

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        gB = solve(A.mT, g)
        if ctx.vec:
            gA = -gB.unsqueeze(-1) @ X.unsqueeze(-2)
        else:
            gA = -gB @ X.mT
        return gA, gB


class _Cholesky(Function):
    @staticmethod
    def forward(ctx, A, upper):
        try:
            L = np.linalg.cholesky(_np(A))
        except np.linalg.LinAlgError:
            raise LinAlgError("linalg.cholesky: The factorization could not be completed because the input is not positive-definite.") from None
        L = _t(L, A)
        ctx.save_for_backward(L)
        ctx.upper = upper
        return L.mT.contiguous() if upper else L

    @staticmethod
    def backward(ctx, gL):
        (L,) = ctx.saved_tensors
        if ctx.upper:
            gL = gL.mT
        phi = L.mT @ gL
        phi = phi.tril() - 0.5 * _ops.diag_embed(_ops.diagonal(phi, 0, -2, -1))
        Linv = inv(L)
        gA = Linv.mT @ phi @ Linv
        return 0.5 * (gA + gA.mT), None


def inv(A):
    _check(A, "linalg.inv")
    return _Inv.apply(A)


def det(A):
    _check(A, "linalg.det")
    return _Det.apply(A)


def solve(A, B, *, left=True):
    _check(A, "linalg.solve")
    vec = B.ndim == 1 or B.ndim == A.ndim - 1
    if B.shape[-1 if vec else -2] != A.shape[-1]:
        k = 1 if vec else B.shape[-1]
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({A.shape[-2]}x{A.shape[-1]} and {B.shape[-1 if vec else -2]}x{k})")
    return _Solve.apply(A, B)


def cholesky(A, *, upper=False):
    _check(A, "linalg.cholesky", kernel="cholesky_cpu")
    return _Cholesky.apply(A, upper)


def slogdet(A):
    _check(A, "linalg.slogdet")
    s, l = _np_call(np.linalg.slogdet, _np(A))
    return return_types.slogdet(_t(s, A), _t(l, A))


def qr(A, mode="reduced"):
    _check(A, "linalg.qr", square=False, kernel="geqrf_cpu")
    q, r = _np_call(np.linalg.qr, _np(A), mode=mode)
    return return_types.qr(_t(q, A), _t(r, A))


def svd(A, full_matrices=True):
    _check(A, "linalg.svd", square=False, kernel="svd_cpu")
    u, s, vh = _np_call(np.linalg.svd, _np(A), full_matrices=full_matrices)
    return return_types.svd(_t(u, A), _t(s, A), _t(vh, A))


def svdvals(A):
    _check(A, "linalg.svd", square=False, kernel="svd_cpu")
    return _t(_np_call(np.linalg.svd, _np(A), compute_uv=False), A)


def eigh(A, UPLO="L"):
    _check(A, "linalg.eigh", kernel="linalg_eigh_cpu")
    w, v = _np_call(np.linalg.eigh, _np(A), UPLO=UPLO)
    return return_types.eigh(_t(w, A), _t(v, A))


def eigvalsh(A, UPLO="L"):
    _check(A, "linalg.eigh", kernel="linalg_eigh_cpu")
    return _t(_np_call(np.linalg.eigvalsh, _np(A), UPLO=UPLO), A)


def matrix_rank(A, tol=None, hermitian=False):
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions.")
    _check(A, "linalg.matrix_rank", square=False, kernel="svd_cpu")
    return _ops.tensor(_np_call(np.linalg.matrix_rank, _np(A), tol=tol, hermitian=hermitian))


def pinv(A, rcond=1e-15, hermitian=False):
    _check(A, "linalg.pinv", square=False, kernel="svd_cpu")
    return _t(_np_call(np.linalg.pinv, _np(A), rcond=rcond, hermitian=hermitian), A)


def matrix_power(A, n):
    _check(A, "linalg.matrix_power", float_only=False)
    if n == 0:
        return _ops.eye(A.shape[-1], dtype=A.dtype).expand(*A.shape)
    if n < 0:
        A, n = inv(A), -n
    r = A
    for _ in range(n - 1):
        r = r @ A
    return r


def cross(a, b, dim=-1):
    return _ops._cross(a, b, dim, "linalg.cross")


def vecdot(x, y, dim=-1):
    return (x * y).sum(dim)


def multi_dot(tensors):
    r = tensors[0]
    for t in tensors[1:]:
        r = r @ t
    return r


matmul = _ops.matmul
