"""torch.linalg: norms via differentiable ops; factorizations with Rust forwards (faer, real and
complex) and analytic backward formulas recorded as autograd Functions. NumPy remains only for
empty integer inputs, where PyTorch answers with shapes alone."""
import numpy as np

from . import _C, _ops
from ._core import return_types
from .autograd.function import Function


class _LinAlgError(RuntimeError):
    """A singular or non-definite input (torch.linalg.LinAlgError, a RuntimeError)."""


LinAlgError = _LinAlgError


_NAMES = {_ops._core.float16: "Half", _ops._core.bfloat16: "BFloat16"}


def _check(A, name, square=True, float_only=True, kernel="lu_cpu", always=False):
    """PyTorch's input checks for linalg functions (so NumPy never sees, or reports on, bad input)."""
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {A.shape[-2]} by {A.shape[-1]} matrices")
    if float_only and not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {_ops._SCALAR_NAME[A.dtype]}")
    # most of PyTorch's kernels reject these dtypes only when they run, i.e. on non-empty input
    if kernel is not None and (A.numel() or always) and (A.dtype in _NAMES or not (A.dtype.is_floating_point or A.dtype.is_complex)):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_ops._SCALAR_NAME[A.dtype]}'")


def _ord_str(ord):
    """A norm order as PyTorch prints it (a C++ Scalar: 1, -1.5, inf)."""
    o = float(ord)
    return str(int(o)) if o.is_integer() else str(o)


def _check_norm_dtype(dtype, in_dtype, name):
    """PyTorch's check_linalg_norm_dtype: a float dtype the input converts to without narrowing."""
    if dtype is None:
        return
    if not dtype.is_floating_point:
        raise RuntimeError(f"{name}: dtype should be floating point or complex, but got {_ops._SCALAR_NAME[dtype]}")
    if _ops.promote_types(in_dtype, dtype) != dtype:
        raise RuntimeError(f"{name}: the dtype of the input ({_ops._SCALAR_NAME[in_dtype]}) should be convertible "
                           f"without narrowing to the specified dtype ({_ops._SCALAR_NAME[dtype]})")


def _check_float(A, name, low_precision=True):
    if not A.dtype.is_floating_point and not A.dtype.is_complex:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {_ops._SCALAR_NAME[A.dtype]}")
    if not low_precision and A.dtype in _NAMES:
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got {_NAMES[A.dtype]}")


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    # PyTorch's argument parser also takes NumPy's spellings
    dim = axis if axis is not None else dim
    keepdim = keepdims if keepdims is not None else keepdim
    if isinstance(ord, str):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    _check_float(x, "linalg.vector_norm")
    _check_norm_dtype(dtype, x.dtype, "linalg.vector_norm")
    o = float(ord)
    if (o < 0 or o == float("inf")) and x.numel() == 0:
        # min/max-like norms have no identity: PyTorch rejects an empty reduction
        dims = [] if dim is None else ([dim] if isinstance(dim, int) else list(dim))
        if not dims:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {_ord_str(o)} norm on an empty tensor "
                               "because the operation does not have an identity")
        for d in dims:
            if x.shape[_ops._wrap(d, x.ndim)] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {_ord_str(o)} norm on the dimension {d}"
                                   "because this dimension is empty and the operation does not have an identity")
    return _ops.norm(x, o, dim, keepdim, dtype)


def _max_min(x, maximum, dim, keepdim):
    """amax/amin over one dim; the max of the (non-negative) sums of an empty dim is 0 like in PyTorch."""
    if x.shape[dim] == 0:
        if not maximum:
            raise IndexError(f"amin(): Expected reduction dim {dim} to have non-zero size.")
        return x.detach().sum(dim, keepdim=keepdim)  # not part of the graph, as in PyTorch
    return x.amax(dim, keepdim=keepdim) if maximum else x.amin(dim, keepdim=keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    if isinstance(ord, str):
        if ord not in ("fro", "nuc"):
            raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
        low = ord == "fro"
    else:
        if abs(float(ord)) not in (1.0, 2.0, float("inf")):
            raise RuntimeError(f"linalg.matrix_norm: Order {_ord_str(ord)} not supported.")
        low = abs(float(ord)) != 2.0
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    _check_float(A, "linalg.matrix_norm", low_precision=low)
    dim = [dim] if isinstance(dim, int) else list(dim)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(str(d) for d in dim)}")
    d0, d1 = (_ops._wrap(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    _check_norm_dtype(dtype, A.dtype, "linalg.matrix_norm")
    if ord == "fro":
        return _ops.norm(A, 2.0, (d0, d1), keepdim, dtype)
    if ord in ("nuc", 2, -2):
        # singular values of the matrices spanned by `dim` (differentiable through svdvals)
        B = A if dtype is None else A.to(dtype)
        sv = svdvals(_ops.movedim(B, (d0, d1), (-2, -1)))
        if ord == "nuc":
            r = sv.sum(-1)
        elif sv.shape[-1] == 0 and ord == -2:
            raise IndexError("amin(): Expected reduction dim -1 to have non-zero size.")
        else:
            r = _max_min(sv, ord == 2, -1, False)
        if keepdim:
            for d in sorted((d0, d1)):
                r = r.unsqueeze(d)
        return r
    # 1 / inf: max (or min) over one dim of the absolute sums over the other (PyTorch's order)
    if abs(float(ord)) == float("inf"):
        d0, d1 = d1, d0
    if not keepdim and d0 < d1:
        d1 -= 1
    return _max_min(vector_norm(A, 1.0, d0, keepdim, dtype=dtype), float(ord) > 0, d1, keepdim)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    if dim is not None:
        dims = [dim] if isinstance(dim, int) else list(dim)
        if len(dims) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {dims}")
    elif ord is not None and A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {A.ndim}D.")
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if isinstance(ord, str) or (dim is not None and len(dims) == 2) or (dim is None and A.ndim == 2):
        return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def _np(t):
    if t.numel() == 0 and t.dtype not in (_ops._core.float32, _ops._core.float64):
        # empty input of a dtype NumPy's linalg lacks (half, integer): shapes are all that matter
        return np.zeros(tuple(t.shape))
    return t.detach().numpy()


def _np_call(fn, *args, **kw):
    """Runs a NumPy linalg routine, reporting its failure as PyTorch's LinAlgError."""
    try:
        return fn(*args, **kw)
    except np.linalg.LinAlgError as e:
        raise LinAlgError(f"linalg: {e}") from None


def _t(a, like):
    return _ops.tensor(np.array(a, copy=True), dtype=like.dtype)


def _real_only(name, saved):
    # these backward formulas are derived for real matrices; refuse rather than give a wrong gradient
    if any(t.is_complex() for t in saved):
        raise NotImplementedError(f"the derivative of {name} for complex inputs is not implemented")


def _vector_rhs(A, B):
    """PyTorch's rule for solve's B: a vector when 1-D, or when it has A's shape minus the last dim."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def _native(*ts):
    """Floating-point and complex matrices of one dtype go to the Rust kernels (faer, computing
    in float64 / complex128; half precision only arrives here empty, past the dtype checks)."""
    return len({t.dtype for t in ts}) == 1 and (ts[0].dtype.is_floating_point or ts[0].dtype.is_complex)


def _raise_info(info, A, message):
    """PyTorch's LinAlgError for the first failed matrix of a batch (LAPACK-style info > 0)."""
    bad = _ops.nonzero(info).reshape(-1)
    if bad.numel():
        i = int(bad[0])
        prefix = f"(Batch element {i}): " if A.ndim > 2 else ""
        raise LinAlgError(message(prefix, int(info[i])))


class _Inv(Function):
    @staticmethod
    def forward(ctx, A):
        if _native(A):
            out, info = _C.linalg_inv(A)
            _raise_info(info, A, lambda p, k: f"linalg.inv: {p}The diagonal element {k} is zero, the inversion could not be "
                                               "completed because the input matrix is singular.")
            ctx.save_for_backward(out)
            return out
        a = _np(A)
        try:
            out = _t(np.linalg.inv(a), A)
        except np.linalg.LinAlgError:
            raise LinAlgError("linalg.inv: The diagonal element 1 is zero, the inversion could not be completed because the input matrix is singular.") from None
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (inv,) = ctx.saved_tensors
        it = inv.mH
        return -(it @ g @ it)


class _Det(Function):
    @staticmethod
    def forward(ctx, A):
        d = _C.linalg_det(A) if _native(A) else _t(np.asarray(_np_call(np.linalg.det, _np(A))), A)
        ctx.save_for_backward(A, d)
        return d

    @staticmethod
    def backward(ctx, g):
        A, d = ctx.saved_tensors
        return (g * d.conj()).unsqueeze(-1).unsqueeze(-1) * inv(A).mH


class _Solve(Function):
    @staticmethod
    def forward(ctx, A, B):
        vec = _vector_rhs(A, B)
        if _native(A, B):
            Bm = B.unsqueeze(-1) if vec else B
            batch = _ops.broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2]))
            Ab = A.expand(*batch, *A.shape[-2:]).contiguous()
            Bb = Bm.expand(*batch, *Bm.shape[-2:]).contiguous()
            X, info = _C.linalg_solve(Ab, Bb)
            _raise_info(info, Ab, lambda p, k: f"torch.linalg.solve: {p}The solver failed because the input matrix is singular.")
            X = X.squeeze(-1) if vec else X
            ctx.save_for_backward(A, X)
            ctx.vec = vec
            return X
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
        gB = solve(A.mH, g)
        if ctx.vec:
            gA = -gB.unsqueeze(-1) @ X.unsqueeze(-2)
        else:
            gA = -gB @ X.mH
        return gA, gB


class _Cholesky(Function):
    @staticmethod
    def forward(ctx, A, upper):
        if _native(A):
            L, info = _C.linalg_cholesky(A)
            _raise_info(info, A, lambda p, k: f"linalg.cholesky: {p}The factorization could not be completed because the input "
                                               f"is not positive-definite (the leading minor of order {k} is not positive-definite).")
        else:
            try:
                L = np.linalg.cholesky(_np(A))
            except np.linalg.LinAlgError:
                raise LinAlgError("linalg.cholesky: The factorization could not be completed because the input is not positive-definite.") from None
            L = _t(L, A)
        ctx.save_for_backward(L)
        ctx.upper = upper
        return L.mH.contiguous() if upper else L

    @staticmethod
    def backward(ctx, gL):
        (L,) = ctx.saved_tensors
        if ctx.upper:
            gL = gL.mH
        phi = L.mH @ gL
        phi = phi.tril() - 0.5 * _ops.diag_embed(_ops.diagonal(phi, 0, -2, -1))
        Linv = inv(L)
        gA = Linv.mH @ phi @ Linv
        return 0.5 * (gA + gA.mH), None


def inv(A):
    _check(A, "linalg.inv", kernel=None)
    _check_float(A, "linalg.inv", low_precision=False)
    return _Inv.apply(A)


def det(A):
    _check(A, "linalg.det")
    return _Det.apply(A)


def solve(A, B, *, left=True):
    _check(A, "linalg.solve")
    vec = _vector_rhs(A, B)
    if B.shape[-1 if vec else -2] != A.shape[-1]:
        k = 1 if vec else B.shape[-1]
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({A.shape[-2]}x{A.shape[-1]} and {B.shape[-1 if vec else -2]}x{k})")
    return _Solve.apply(A, B)


def cholesky(A, *, upper=False):
    _check(A, "linalg.cholesky", kernel="cholesky_cpu")
    return _Cholesky.apply(A, upper)


def _defined(g):
    """Gradients of unused outputs arrive as zeros; PyTorch treats them as undefined (skipping
    terms that divide by eigen/singular-value gaps, which are 0/0 for repeated values)."""
    return g is not None and g.numel() > 0 and bool(g.any())


def _solve_right_t(B, R):
    """B @ R^{-T} for square R (differentiable: linalg.solve records its own backward)."""
    return solve(R, B.mT).mT


class _Slogdet(Function):
    @staticmethod
    def forward(ctx, A):
        if _native(A):
            ctx.save_for_backward(A)
            return _C.linalg_slogdet(A)
        s, l = _np_call(np.linalg.slogdet, _np(A))
        ctx.save_for_backward(A)
        # the sign has A's dtype (a phase for complex A); log|det| is always real
        return _t(s, A), _ops.tensor(np.array(l, copy=True), dtype=A.dtype.to_real())

    @staticmethod
    def backward(ctx, gsign, glogabs):
        (A,) = ctx.saved_tensors
        # d log|det A| = tr(A^{-1} dA): gA = g * A^{-T} (the real sign is piecewise constant)
        return glogabs.unsqueeze(-1).unsqueeze(-1) * _InvNoCheck.apply(A).mH


class _InvNoCheck(Function):
    """inv for backward formulas: singular matrices give inf/nan (like PyTorch's LU solve) instead of raising."""
    @staticmethod
    def forward(ctx, A):
        if _native(A):
            out, info = _C.linalg_inv(A)
            if bool(info.any()):
                bad = (info != 0).reshape(tuple(A.shape[:-2]) + (1, 1))
                out = _ops.where(bad, _ops.full([], float("nan"), dtype=out.dtype), out)
            ctx.save_for_backward(out)
            return out
        a = _np(A)
        try:
            out = np.linalg.inv(a) if a.size else a.copy()
        except np.linalg.LinAlgError:
            out = np.empty_like(a)
            flat_a, flat_o = a.reshape(-1, *a.shape[-2:]), out.reshape(-1, *a.shape[-2:])
            for i in range(flat_a.shape[0]):
                try:
                    flat_o[i] = np.linalg.inv(flat_a[i])
                except np.linalg.LinAlgError:
                    flat_o[i] = np.nan
        out = _t(out, A)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (inv_,) = ctx.saved_tensors
        return -(inv_.mH @ g @ inv_.mH)


def slogdet(A):
    _check(A, "linalg.slogdet", kernel=None)
    _check_float(A, "linalg.slogdet", low_precision=False)
    return return_types.slogdet(*_Slogdet.apply(A))


def _qr_backward_tall(gQ, gR, Q, R):
    """PyTorch's linalg_qr_backward for m >= n (reduced): gA = [gQ + Q copyltu(M)] R^{-T},
    M = gR R^T - Q^T gQ, copyltu(M) = triu(M) + triu(M, 1)^T."""
    M = gR @ R.mT - Q.mT @ gQ
    M = M.triu() + M.triu(1).mT
    return _solve_right_t(gQ + Q @ M, R)


class _QR(Function):
    @staticmethod
    def forward(ctx, A, mode):
        if _native(A):
            q, r = _C.linalg_qr(A, mode)
            ctx.save_for_backward(q, r)
            ctx.mode = mode
            return q, r
        a = _np(A)
        if mode == "r":
            q, r = np.zeros((0,), dtype=a.dtype), _np_call(np.linalg.qr, a, mode="r")
        else:
            q, r = _np_call(np.linalg.qr, a, mode=mode)
        q, r = _t(q, A), _t(r, A)
        ctx.save_for_backward(q, r)
        ctx.mode = mode
        return q, r

    @staticmethod
    def backward(ctx, gQ, gR):
        _real_only("linalg.qr", ctx.saved_tensors)
        Q, R = ctx.saved_tensors
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
        m, n = Q.shape[-2], R.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        if Q.numel() == 0 or R.numel() == 0:
            return _ops.zeros(*Q.shape[:-1], n, dtype=Q.dtype), None
        if m >= n:
            return _qr_backward_tall(gQ, gR, Q, R), None
        # wide A = Q [R1 R2]: R2 = Q^T A2 adds A2 gR2^T = Q R2 gR2^T to Q's gradient
        R1, R2, gR1, gR2 = R[..., :m], R[..., m:], gR[..., :m], gR[..., m:]
        gA1 = _qr_backward_tall(gQ + Q @ (R2 @ gR2.mT), gR1, Q, R1)
        return _ops.cat([gA1, Q @ gR2], -1), None


def qr(A, mode="reduced"):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or 'complete'")
    _check(A, "linalg.qr", square=False, kernel="geqrf_cpu", always=True)
    return return_types.qr(*_QR.apply(A, mode))


def _native_svd(A, full_matrices, vectors):
    """SVD on faer: (U, S, Vh), U and Vh empty unless `vectors`. Singular vectors are unique
    only up to sign; faer's signs can differ from LAPACK's, as LAPACK builds differ among themselves."""
    u, s, vh, info = _C.linalg_svd(A, full_matrices, vectors)
    _raise_info(info, A, lambda p, k: f"linalg.svd: {p}The algorithm failed to converge because the input matrix "
                                      "contained non-finite values.")
    return u, s, vh


def _native_eigh(A, UPLO, vectors):
    w, v, info = _C.linalg_eigh(A, UPLO == "U", vectors)
    _raise_info(info, A, lambda p, k: f"linalg.eigh: {p}The algorithm failed to converge because the input matrix is "
                                      f"ill-conditioned or has too many repeated eigenvalues (error code: {k}).")
    return w, v


class _SVD(Function):
    @staticmethod
    def forward(ctx, A, full_matrices):
        if _native(A):
            u, s, vh = _native_svd(A, full_matrices, True)
        else:
            u, s, vh = _np_call(np.linalg.svd, _np(A), full_matrices=full_matrices)
            u, s, vh = _t(u, A), _t(s, A), _t(vh, A)
        # the outputs themselves are saved: they join the graph, so the backward is differentiable
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        _real_only("linalg.svd", ctx.saved_tensors)
        # PyTorch's svd_backward on the reduced factors (full_matrices: the extra columns get no gradient)
        U, S, Vh = ctx.saved_tensors
        m, n, k = U.shape[-2], Vh.shape[-1], S.shape[-1]
        U, Vh = U[..., :k], Vh[..., :k, :]
        if k == 0:
            return _ops.zeros(*U.shape[:-1], n, dtype=U.dtype), None
        gU = gU[..., :k] if _defined(gU) else None
        gVh = gVh[..., :k, :] if _defined(gVh) else None
        if gU is None and gVh is None:
            # svdvals: U diag(gS) Vh
            return (U * gS.unsqueeze(-2)) @ Vh, None
        skew = lambda X: X - X.mT  # noqa: E731
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + _ops.eye(k, dtype=S.dtype)
        if gU is not None and gVh is not None:
            gA = (skew(U.mT @ gU) * S.unsqueeze(-2) + S.unsqueeze(-1) * skew(Vh @ gVh.mT)) / E
        elif gU is not None:
            gA = skew(U.mT @ gU) * (S.unsqueeze(-2) / E)
        else:
            gA = S.unsqueeze(-1) * (skew(Vh @ gVh.mT) / E)
        gA = gA + _ops.diag_embed(gS)
        if m > n and gU is not None:
            # the part of gU outside span(U): (I - U U^T) gU S^{-1}
            gUSinv = gU / S.unsqueeze(-2)
            gA = (U @ gA + gUSinv - U @ (U.mT @ gUSinv)) @ Vh
        elif m < n and gVh is not None:
            SinvgVh = gVh / S.unsqueeze(-1)
            gA = U @ (gA @ Vh + SinvgVh - (SinvgVh @ Vh.mT) @ Vh)
        else:
            gA = U @ gA @ Vh
        return gA, None


def svd(A, full_matrices=True, *, driver=None):
    _check(A, "linalg.svd", square=False, kernel="svd_cpu")
    return return_types.svd(*_SVD.apply(A, full_matrices))


def svdvals(A, *, driver=None):
    _check(A, "linalg.svd", square=False, kernel="svd_cpu")
    return _SVD.apply(A, False)[1]


class _Eigh(Function):
    @staticmethod
    def forward(ctx, A, UPLO):
        if _native(A):
            w, v = _native_eigh(A, UPLO, True)
        else:
            w, v = _np_call(np.linalg.eigh, _np(A), UPLO=UPLO)
            w, v = _t(w, A), _t(v, A)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gL, gV):
        _real_only("linalg.eigh", ctx.saved_tensors)
        # PyTorch's linalg_eig_backward (hermitian): gA = V (diag(gL) + skew(V^T gV) / E) V^T, E_ij = L_j - L_i
        L, V = ctx.saved_tensors
        if not _defined(gV):
            return (V * gL.unsqueeze(-2)) @ V.mT, None
        n = L.shape[-1]
        VhgV = V.mT @ gV
        VhgV = 0.5 * (VhgV - VhgV.mT)
        E = L.unsqueeze(-2) - L.unsqueeze(-1) + _ops.eye(n, dtype=L.dtype)
        return V @ (VhgV / E + _ops.diag_embed(gL)) @ V.mT, None


def _check_uplo(UPLO):
    if UPLO not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A, UPLO="L"):
    _check(A, "linalg.eigh", float_only=False, kernel="linalg_eigh_cpu")
    _check_uplo(UPLO)
    return return_types.eigh(*_Eigh.apply(A, UPLO.upper()))


def eigvalsh(A, UPLO="L"):
    _check(A, "linalg.eigh", float_only=False, kernel="linalg_eigh_cpu")
    _check_uplo(UPLO)
    return _Eigh.apply(A, UPLO.upper())[0]


def _native_eig(A, vectors):
    w, v, info = _C.linalg_eig(A, vectors)
    _raise_info(info, A, lambda p, k: "torch.linalg.eig: input tensor should not contain infs or NaNs.")
    return w, v


def _check_eig(A, name):
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise RuntimeError(f"Unknown Complex ScalarType for {_ops._SCALAR_NAME[A.dtype]}")
    if A.dtype in _NAMES:
        raise NotImplementedError(f"\"linalg_eig_out_cpu\" not implemented for '{_NAMES[A.dtype]}'")


class _Eig(Function):
    @staticmethod
    def forward(ctx, A):
        w, v = _native_eig(A, True)
        ctx.save_for_backward(w, v)
        ctx.real_input = not A.is_complex()
        return w, v

    @staticmethod
    def backward(ctx, gL, gV):
        # PyTorch's linalg_eig_backward: gA = V^{-H} (diag(gL) + (V^H gV - V^H V diag(re(V^H gV))) / conj(E)) V^H,
        # E_ij = L_j - L_i off the diagonal
        L, V = ctx.saved_tensors
        n = L.shape[-1]
        Vh = V.mH
        if _defined(gV):
            VhgV = Vh @ gV
            d = _ops.diagonal(VhgV, 0, -2, -1)
            if bool((d.imag.abs() > 1e-2).any()):  # allclose(imag, 0, rtol=1e-2, atol=1e-2)
                raise RuntimeError("linalg_eig_backward: The eigenvectors in the complex case are specified up to "
                                   "multiplication by e^{i phi}. The specified loss function depends on this quantity, "
                                   "so it is ill-defined.")
            ret = VhgV - Vh @ (V * d.real.to(V.dtype).unsqueeze(-2))
            Lc = L.conj()
            E = Lc.unsqueeze(-2) - Lc.unsqueeze(-1) + _ops.eye(n, dtype=L.dtype)
            ret = ret / E
            if _defined(gL):
                ret = ret - _ops.diag_embed(_ops.diagonal(ret, 0, -2, -1)) + _ops.diag_embed(gL)
        else:
            ret = _ops.diag_embed(gL)
        gA = solve(Vh, ret @ Vh)
        return gA.real if ctx.real_input else gA


def eig(A):
    """Eigenvalues and eigenvectors (as columns) of general square matrices, both complex; each
    eigenvector has unit norm and its largest component real (LAPACK's convention). The order of
    the eigenvalues is the solver's, as with PyTorch (not sorted)."""
    _check_eig(A, "linalg.eig")
    return return_types.linalg_eig(*_Eig.apply(A))


def eigvals(A):
    """The eigenvalues of general square matrices (complex); differentiable through eig."""
    _check_eig(A, "linalg.eigvals")
    if A.requires_grad and _C.is_grad_enabled():
        return _Eig.apply(A)[0]
    return _native_eig(A, False)[0]


def matrix_rank(A, tol=None, hermitian=False):
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions.")
    if A.dtype not in (_ops._core.float32, _ops._core.float64):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if hermitian:
        s = _native_eigh(A, "L", False)[0].abs()
    else:
        s = _native_svd(A, False, False)[1]
    m, n = A.shape[-2], A.shape[-1]
    if tol is None:  # NumPy's and PyTorch's default: largest singular value * max(m, n) * eps
        smax = s.amax(-1, keepdim=True) if s.shape[-1] else _ops.zeros(*s.shape[:-1], 1, dtype=s.dtype)
        cut = smax * (max(m, n) * _ops._core.finfo(A.dtype).eps)
    else:
        cut = _ops.as_tensor(tol, dtype=s.dtype)
        cut = cut.unsqueeze(-1) if cut.ndim else cut
    return (s > cut).sum(-1)


class _Pinv(Function):
    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        m, n = A.shape[-2], A.shape[-1]
        if rtol is None:
            # PyTorch's default: rtol = eps * max(m, n) unless atol is given
            rtol = 0.0 if atol is not None and atol > 0 else _ops._core.finfo(A.dtype).eps * max(m, n)
        atol = 0.0 if atol is None else atol
        if A.numel() == 0:
            out = _ops.zeros(*A.shape[:-2], n, m, dtype=A.dtype)
        elif hermitian:
            w, v = _native_eigh(A, "L", True)
            cut = (w.abs().amax(-1, keepdim=True) * rtol).clamp(min=atol)
            winv = _ops.where(w.abs() > cut, 1 / _ops.where(w == 0, _ops.ones_like(w), w), _ops.zeros_like(w))
            out = (v * winv.unsqueeze(-2)) @ v.mT
        else:
            u, s, vh = _native_svd(A, False, True)
            cut = (s.amax(-1, keepdim=True) * rtol).clamp(min=atol)
            sinv = _ops.where(s > cut, 1 / _ops.where(s == 0, _ops.ones_like(s), s), _ops.zeros_like(s))
            out = vh.mT @ (sinv.unsqueeze(-1) * u.mT)
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx, g):
        _real_only("linalg.pinv", ctx.saved_tensors)
        # PyTorch's pinv_backward
        A, P = ctx.saved_tensors
        m, n = A.shape[-2], A.shape[-1]
        Ph, gh = P.mT, g.mT
        if m <= n:
            K = gh @ P
            KPh = K @ Ph
            gA = -(P @ K).mT + KPh - (A @ P) @ KPh + (Ph @ P) @ (gh - K @ A)
        else:
            K = P @ gh
            PhK = Ph @ K
            gA = -(K @ P).mT + (gh - A @ K) @ P @ Ph + PhK - PhK @ P @ A
        return gA, None, None, None


def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    if A.ndim < 2 or A.dtype not in (_ops._core.float32, _ops._core.float64):
        raise RuntimeError(f"linalg.pinv({_ops._SCALAR_NAME[A.dtype]}{{{list(A.shape)}}}): expected a tensor with 2 or more "
                           "dimensions of float, double, cfloat or cdouble types")
    if hermitian:
        _check(A, "linalg.eigh", kernel="svd_cpu")
    if rcond is not None:
        rtol = rcond
    return _Pinv.apply(A, atol, rtol, hermitian)


def matrix_power(A, n):
    _check(A, "linalg.matrix_power", float_only=False, kernel=None)
    if n == 0:
        # a copy of the identity that stays in the graph (zero gradient), as in PyTorch
        return A.clone().copy_(_ops.eye(A.shape[-1], dtype=A.dtype).expand(*A.shape))
    if n < 0:
        A, n = inv(A), -n
    r = A.clone() if n == 1 else A
    for _ in range(n - 1):
        r = r @ A
    return r


def cross(a, b, dim=-1):
    return _ops._cross(a, b, dim, "linalg.cross")


def vecdot(x, y, *, dim=-1):
    _check_float(x, "linalg.vecdot")
    if x.dtype != y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
                           f"{_ops._SCALAR_NAME[x.dtype]} and y of type {_ops._SCALAR_NAME[y.dtype]} instead")
    return (x * y).sum(dim)


def _chain(mats):
    """Multiplies in PyTorch's order (least-cost matrix chain; the order changes results with inf/nan)."""
    n = len(mats)
    if n == 2:
        return mats[0] @ mats[1]
    p = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    if n == 3:
        a, b, c, d = p
        if a * c * (b + d) > b * d * (a + c):
            return mats[0] @ (mats[1] @ mats[2])
        return (mats[0] @ mats[1]) @ mats[2]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for ln in range(1, n):
        for i in range(n - ln):
            j = i + ln
            cost[i][j] = None
            for k in range(i, j):
                q = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if cost[i][j] is None or q < cost[i][j]:
                    cost[i][j], split[i][j] = q, k

    def mult(i, j):
        if i == j:
            return mats[i]
        k = split[i][j]
        return mult(i, k) @ mult(k + 1, j)
    return mult(0, n - 1)


_DT_SHORT = {_ops._core.float32: "float", _ops._core.float64: "double"}


def multi_dot(tensors):
    """PyTorch's checks: 2+ tensors of one dtype, 1-D/2-D at the ends and 2-D inside, chained shapes."""
    tensors = list(tensors)
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    for i, t in enumerate(tensors):
        where = "the first tensor" if i == 0 else ("the last tensor" if i == n - 1 else f"tensor {i}")
        if 0 < i < n - 1:
            if t.ndim != 2:
                raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
        elif t.ndim not in (1, 2):
            raise RuntimeError(f"multi_dot(): {where} must be 1D or 2D but got {t.ndim}D")
        if t.dtype != tensors[0].dtype:
            name = lambda d: _DT_SHORT.get(d, str(d).rsplit(".", 1)[-1])  # noqa: E731
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{name(tensors[0].dtype)} and tensor {i} {name(t.dtype)}")
    mats = [tensors[0].unsqueeze(0) if tensors[0].ndim == 1 else tensors[0]] + tensors[1:-1] + \
        [tensors[-1].unsqueeze(-1) if tensors[-1].ndim == 1 else tensors[-1]]
    for i in range(n - 1):
        if mats[i].shape[-1] != mats[i + 1].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(mats[i].shape)} and "
                               f"{list(mats[i + 1].shape)} cannot be multiplied")
    r = _chain(mats)
    if tensors[0].ndim == 1:
        r = r.squeeze(0)
    if tensors[-1].ndim == 1:
        r = r.squeeze(-1)
    return r


matmul = _ops.matmul



# ---------------------------------------------------------------- diagonal, lstsq (issue 10)

def linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """torch.linalg.diagonal: the diagonals of the matrices in the last two dims (a view)."""
    return _ops.diagonal(A, offset, dim1, dim2)


diagonal = linalg_diagonal

_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _lstsq_result(*values):
    from ._extra_ops import _rtype
    global _lstsq_rt
    if _lstsq_rt is None:
        _lstsq_rt = _rtype("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
    return _lstsq_rt(*values)


_lstsq_rt = None


def _batch_broadcast(a, b):
    """Broadcast batch shapes, with PyTorch's error message on a mismatch."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return tuple(out)


def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of A X = B, as (solution, residuals, rank, singular_values) with the
    fields PyTorch's CPU drivers fill: gelsy (default) gives rank; gelsd/gelss give rank and
    singular values; residuals only for tall full-rank systems with gels/gelsd/gelss. The
    solution is the minimum-norm one (pinv), differentiable through pinv."""
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if B.ndim < 1:
        raise RuntimeError("torch.linalg.lstsq: other must have at least 1 dimension.")
    if A.dtype != B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's dtype "
                           f"{_ops._SCALAR_NAME[A.dtype]} and other's dtype {_ops._SCALAR_NAME[B.dtype]}")
    diff = A.ndim - B.ndim
    if not 0 <= diff <= 1:
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    vec = B.ndim == 1 or (diff == 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if A.shape[-2] != B.shape[-1 if vec else -2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size({-1 if vec else -2})")
    if driver is not None and driver not in _LSTSQ_DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    # one dim fewer: a batch of vectors (PyTorch reads it so even when it is not shaped like one)
    Bm = B.unsqueeze(-1) if diff == 1 else B
    m, n = A.shape[-2], A.shape[-1]
    batch = _batch_broadcast(tuple(A.shape[:-2]), tuple(Bm.shape[:-2]))
    if Bm.shape[-2] != m:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    if A.dtype not in (_ops._core.float32, _ops._core.float64):
        raise RuntimeError("This function doesn't handle types other than float and double")
    driver = driver or "gelsy"
    eps = _ops._core.finfo(A.dtype).eps
    rcond = eps * max(m, n) if rcond is None else float(rcond)
    if rcond < 0:
        rcond = eps  # LAPACK: a negative rcond means machine precision
    A_ = A.expand(*batch, m, n)
    Bm = Bm.expand(*batch, m, Bm.shape[-1])
    k = min(m, n)
    Ad = A_.detach()
    sv = svdvals(Ad) if k else _ops.zeros(*batch, 0, dtype=A.dtype)
    rank = (sv > rcond * sv.amax(-1, keepdim=True)).sum(-1) if k else _ops.zeros(batch, dtype=_ops._core.int64)
    zero_a = Ad.reshape(*batch, m * n).abs().amax(-1) == 0 if A_.numel() else _ops.ones(batch, dtype=_ops._core.bool)
    if driver == "gels" and k:
        # LAPACK's gels fails on a singular triangular factor (unless A is all zeros); R's
        # diagonal is tested with a relative tolerance as rounding may leave it tiny, not 0
        R = qr(Ad if m >= n else Ad.mT).R
        d = _ops.diagonal(R, 0, -2, -1).abs().reshape(-1, k)
        tiny = d <= eps * max(m, n) * d.amax(-1, keepdim=True)
        for b, z in enumerate(zero_a.reshape(-1).tolist()):
            bad = tiny[b].nonzero()
            if not z and bad.numel():
                raise LinAlgError("torch.linalg.lstsq: The least squares solution could not be computed because the "
                                  f"input matrix does not have full rank (error code: {int(bad[0, 0]) + 1}).")
    X = (pinv(A_, rtol=rcond) @ Bm) if A_.numel() else _ops.zeros(*batch, n, Bm.shape[-1], dtype=A.dtype)
    empty = _ops.zeros(0, dtype=A.dtype)
    if m > n and driver != "gelsy" and (driver == "gels" or bool((rank == n).all())):
        residuals = ((A_ @ X - Bm) ** 2).sum(-2)
        # gels on an all-zero A returns zero residuals
        residuals = _ops.where(zero_a.unsqueeze(-1), _ops.zeros_like(residuals), residuals)
    else:
        residuals = empty
    return _lstsq_result(X.squeeze(-1) if diff == 1 else X, residuals,
                         _ops.zeros(0, dtype=_ops._core.int64) if driver == "gels" else rank,
                         sv if driver in ("gelsd", "gelss") else empty.clone())


# autocast: linalg ops on PyTorch's float32 list run in float32 inside an autocast region
# (keep this the last statement, after every function definition)
from .amp._policy import install as _amp_install  # noqa: E402
_amp_install(globals(), "torch.linalg")
