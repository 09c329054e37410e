"""torch.linalg: norms via differentiable ops; factorizations with NumPy forwards and analytic
backward formulas recorded as autograd Functions."""
import numpy as np

from . import _ops
from ._core import return_types
from .autograd.function import Function


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    return _ops.norm(x, float(ord), dim, keepdim, dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    if ord == "fro":
        return _ops.norm(A, 2.0, dim, keepdim, dtype)
    if ord in (1, -1, float("inf"), float("-inf")):
        s = A.abs().sum(dim[0] if ord in (1, -1) else dim[1], keepdim=True)
        r = s.amax(dim, keepdim=keepdim) if ord > 0 else s.amin(dim, keepdim=keepdim)
        return r
    raise NotImplementedError(f"matrix_norm ord={ord}")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    if ord is None or (dim is None and ord == "fro"):
        return _ops.norm(A, 2.0, dim, keepdim, dtype)
    if isinstance(dim, (tuple, list)) and len(dim) == 2 or (dim is None and A.ndim == 2 and isinstance(ord, str)):
        return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def _np(t):
    return t.detach().numpy()


def _t(a, like):
    return _ops.tensor(np.array(a, copy=True), dtype=like.dtype)


class _Inv(Function):
    @staticmethod
    def forward(ctx, A):
        a = _np(A)
        if np.any(np.linalg.matrix_rank(a) < a.shape[-1]):
            raise RuntimeError("linalg.inv: The diagonal element 1 is zero, the inversion could not be completed because the input matrix is singular.")
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
        d = _t(np.asarray(np.linalg.det(_np(A))), A)
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
        X = np.linalg.solve(_np(A), b)
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
            raise RuntimeError("linalg.cholesky: The factorization could not be completed because the input is not positive-definite.") from None
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
    return _Inv.apply(A)


def det(A):
    return _Det.apply(A)


def solve(A, B, *, left=True):
    return _Solve.apply(A, B)


def cholesky(A, *, upper=False):
    return _Cholesky.apply(A, upper)


def slogdet(A):
    s, l = np.linalg.slogdet(_np(A))
    return return_types.slogdet(_t(s, A), _t(l, A))


def qr(A, mode="reduced"):
    q, r = np.linalg.qr(_np(A), mode=mode)
    return return_types.qr(_t(q, A), _t(r, A))


def svd(A, full_matrices=True):
    u, s, vh = np.linalg.svd(_np(A), full_matrices=full_matrices)
    return return_types.svd(_t(u, A), _t(s, A), _t(vh, A))


def svdvals(A):
    return _t(np.linalg.svd(_np(A), compute_uv=False), A)


def eigh(A, UPLO="L"):
    w, v = np.linalg.eigh(_np(A), UPLO=UPLO)
    return return_types.eigh(_t(w, A), _t(v, A))


def eigvalsh(A, UPLO="L"):
    return _t(np.linalg.eigvalsh(_np(A), UPLO=UPLO), A)


def matrix_rank(A, tol=None, hermitian=False):
    return _ops.tensor(np.linalg.matrix_rank(_np(A), tol=tol, hermitian=hermitian))


def pinv(A, rcond=1e-15, hermitian=False):
    return _t(np.linalg.pinv(_np(A), rcond=rcond, hermitian=hermitian), A)


def matrix_power(A, n):
    if n == 0:
        return _ops.eye(A.shape[-1], dtype=A.dtype).expand(*A.shape)
    if n < 0:
        A, n = inv(A), -n
    r = A
    for _ in range(n - 1):
        r = r @ A
    return r


def cross(a, b, dim=-1):
    return _ops.cross(a, b, dim)


def vecdot(x, y, dim=-1):
    return (x * y).sum(dim)


def multi_dot(tensors):
    r = tensors[0]
    for t in tensors[1:]:
        r = r @ t
    return r


matmul = _ops.matmul
