"""linalg.qr / svd / svdvals / eigh / eigvalsh / pinv / matrix_rank / lstsq on faer kernels
(src/cpu/linalg.rs), checked against NumPy's LAPACK. Singular vectors and eigenvectors are unique
only up to sign (LAPACK builds differ among themselves), so those are compared through
sign-free quantities: reconstructions, projections and orthogonality."""
import numpy as np
import pytest

import ferrotorch as torch

SHAPES = [(4, 4), (6, 3), (3, 6), (2, 5, 5), (3, 2, 4), (1, 1)]


def rand(shape, dtype, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return a, torch.tensor(a, dtype=dtype)


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_matches_lapack_signs(shape, dtype, mode):
    # Householder QR has one sign convention (R's diagonal opposes each column's leading element)
    a, A = rand(shape, dtype)
    q, r = torch.linalg.qr(A, mode=mode)
    if mode == "r":
        assert q.numel() == 0
        np.testing.assert_allclose(r.numpy(), np.linalg.qr(a, mode="r"), **tol(dtype))
        return
    nq, nr = np.linalg.qr(a, mode=mode)
    assert q.dtype == dtype and tuple(q.shape) == nq.shape and tuple(r.shape) == nr.shape
    np.testing.assert_allclose(q.numpy(), nq, **tol(dtype))
    np.testing.assert_allclose(r.numpy(), nr, **tol(dtype))


@pytest.mark.parametrize("shape", SHAPES + [(0, 3), (3, 0)])
@pytest.mark.parametrize("full", [True, False])
def test_svd_reconstructs_and_matches_singular_values(shape, full):
    a, A = rand(shape, torch.float64, 1)
    u, s, vh = torch.linalg.svd(A, full_matrices=full)
    nu, ns, nvh = np.linalg.svd(a, full_matrices=full)
    assert tuple(u.shape) == nu.shape and tuple(s.shape) == ns.shape and tuple(vh.shape) == nvh.shape
    np.testing.assert_allclose(s.numpy(), ns, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(torch.linalg.svdvals(A).numpy(), ns, rtol=1e-12, atol=1e-12)
    k = min(shape[-2:])
    us, vhs = u.numpy()[..., :k], vh.numpy()[..., :k, :]
    np.testing.assert_allclose((us * ns[..., None, :]) @ vhs, a, atol=1e-12)
    eye = lambda n: np.broadcast_to(np.eye(n), u.shape[:-2] + (n, n))  # noqa: E731
    np.testing.assert_allclose(u.mT.numpy() @ u.numpy(), eye(u.shape[-1]), atol=1e-12)
    np.testing.assert_allclose(vh.numpy() @ vh.mT.numpy(), eye(vh.shape[-2]), atol=1e-12)


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_eigh_reads_one_triangle(uplo, dtype):
    a, A = rand((3, 5, 5), dtype, 2)  # not symmetric: only the UPLO triangle counts
    w, v = torch.linalg.eigh(A, UPLO=uplo)
    nw, _ = np.linalg.eigh(a, UPLO=uplo)
    np.testing.assert_allclose(w.numpy(), nw, **tol(dtype))
    np.testing.assert_allclose(torch.linalg.eigvalsh(A, UPLO=uplo).numpy(), nw, **tol(dtype))
    tri = np.tril(a) if uplo == "L" else np.triu(a)
    sym = tri + np.swapaxes(tri, -1, -2) - np.eye(5) * np.diagonal(a, 0, -2, -1)[..., None, :]
    vv = v.numpy().astype(np.float64)
    np.testing.assert_allclose(vv @ (nw[..., :, None] * np.swapaxes(vv, -1, -2)), sym, **tol(dtype))


def test_pinv_rank_and_lstsq_match_numpy():
    a = np.random.default_rng(3).standard_normal((2, 6, 4))
    a[1, :, 3] = a[1, :, 0] - a[1, :, 2]  # rank 3
    A = torch.tensor(a)
    np.testing.assert_allclose(torch.linalg.pinv(A).numpy(), np.linalg.pinv(a), atol=1e-10)
    assert torch.linalg.matrix_rank(A).tolist() == np.linalg.matrix_rank(a).tolist() == [4, 3]
    s = a[0] + a[0].T[:, :6][:4, :4] if False else a[0][:4] @ a[0][:4].T
    np.testing.assert_allclose(torch.linalg.pinv(torch.tensor(s), hermitian=True).numpy(),
                               np.linalg.pinv(s, hermitian=True), atol=1e-8)
    b = np.random.default_rng(4).standard_normal((2, 6, 2))
    x = torch.linalg.lstsq(A, torch.tensor(b), driver="gelsd")
    np.testing.assert_allclose(x.solution.numpy(), np.linalg.pinv(a) @ b, atol=1e-10)
    assert x.rank.tolist() == [4, 3]


@pytest.mark.parametrize("fn", [
    lambda A: torch.linalg.svdvals(A),
    lambda A: torch.linalg.eigvalsh(A + A.mT),
    lambda A: torch.linalg.pinv(A),
    lambda A: sum(t.sum() for t in torch.linalg.qr(A)),
    lambda A: (lambda u, s, vh: (u @ vh).sum() + s.sum())(*torch.linalg.svd(A, full_matrices=False)),
    lambda A: (lambda w, v: (v @ v.mT * w.sum()).sum())(*torch.linalg.eigh(A + A.mT)),
])
def test_gradients_of_native_factorizations(fn):
    A = torch.tensor(np.random.default_rng(5).standard_normal((4, 4)), requires_grad=True)
    assert torch.autograd.gradcheck(fn, (A,))


def test_non_finite_svd_raises_linalg_error():
    with pytest.raises(torch.linalg.LinAlgError, match="failed to converge because the input matrix contained non-finite"):
        torch.linalg.svd(torch.tensor([[float("nan"), 1.0], [1.0, 1.0]]))


def test_factorizations_serial_when_one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, A = rand((64, 64), torch.float64, 6)
        np.testing.assert_allclose(torch.linalg.svdvals(A).numpy(), np.linalg.svd(a, compute_uv=False), rtol=1e-10)
    finally:
        torch.set_num_threads(old)
