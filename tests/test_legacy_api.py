"""Older or alternative PyTorch spellings that third-party programs use, with PyTorch 2.13's
values and messages: typed tensor classes, Tensor.new, range and ndarray operands, top-level
aliases (quantile, tril_indices, gcd, ...), torch.random / torch.multiprocessing, and the
faer-backed linalg errors."""
import numpy as np
import pytest

import ferrotorch as torch


def test_typed_tensor_classes():
    assert torch.LongTensor([1, 2]).tolist() == [1, 2] and torch.LongTensor([1, 2]).dtype == torch.int64
    assert torch.FloatTensor(3).shape == (3,) and torch.FloatTensor(2, 3).dtype == torch.float32
    assert torch.DoubleTensor().shape == (0,)
    assert isinstance(torch.ones(2), torch.FloatTensor) and not isinstance(torch.ones(2), torch.LongTensor)
    assert torch.ones(2).type(torch.LongTensor).dtype == torch.int64
    assert torch.typename(torch.ones(1)) == "torch.FloatTensor"
    x = torch.ones(2, dtype=torch.float64)
    assert x.new(3).shape == (3,) and x.new(3).dtype == torch.float64
    assert x.new([1, 2]).tolist() == [1.0, 2.0] and x.new().shape == (0,)


def test_range_and_ndarray_operands():
    y = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    assert y[range(2), torch.tensor([0, 2])].tolist() == pytest.approx([0.1, 0.5])
    r = torch.ones(2) + np.ones(2)
    assert isinstance(r, torch.Tensor) and r.dtype == torch.float64 and r.tolist() == [2.0, 2.0]
    assert isinstance(np.exp(torch.ones(2)), torch.Tensor)
    assert torch.tensor([torch.tensor([1.0]), torch.tensor([2.0])]).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError):
        torch.tensor([torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])])


def test_top_level_aliases():
    assert torch.tril_indices(3, 3).tolist() == [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    assert torch.triu_indices(3, 4, 1).tolist() == [[0, 0, 0, 1, 1, 2], [1, 2, 3, 2, 3, 3]]
    assert torch.gcd(torch.tensor([12, 18]), torch.tensor([8, 27])).tolist() == [4, 9]
    assert torch.lcm(torch.tensor([4, 6]), torch.tensor([6, 4])).tolist() == [12, 12]
    assert torch.range(0, 4, 2).tolist() == [0.0, 2.0, 4.0]
    assert torch.heaviside(torch.tensor([-1.0, 0, 2]), torch.tensor(0.5)).tolist() == [0.0, 0.5, 1.0]
    x = torch.zeros(7, 3)
    x.fill_diagonal_(5, wrap=True)
    assert x.nonzero().tolist() == [[0, 0], [1, 1], [2, 2], [4, 0], [5, 1], [6, 2]]
    assert torch.logdet(torch.eye(2) * 2).item() == pytest.approx(1.3862944)


@pytest.mark.parametrize("how,want", [
    ("linear", [1.3, 0.9, 3.5, 3.0, 7.1, 7.2]), ("lower", [1.0, 0.0, 2.0, 3.0, 5.0, 3.0]),
    ("higher", [2.0, 3.0, 5.0, 3.0, 8.0, 9.0]), ("midpoint", [1.5, 1.5, 3.5, 3.0, 6.5, 6.0]),
    ("nearest", [1.0, 0.0, 5.0, 3.0, 8.0, 9.0])])
def test_quantile_matches_pytorch(how, want):
    x = torch.tensor([[1.0, 5, 2, 8], [3, 3, 9, 0]])
    r = torch.quantile(x, torch.tensor([0.1, 0.5, 0.9]), dim=1, keepdim=True, interpolation=how)
    assert r.shape == (3, 2, 1) and r.flatten().tolist() == pytest.approx(want, abs=1e-5)
    assert torch.nanquantile(torch.tensor([1.0, float("nan"), 3.0]), 0.5).item() == 2.0


def test_random_and_multiprocessing_modules():
    import ferrotorch.multiprocessing as mp
    assert callable(mp.spawn) and mp.get_sharing_strategy() == "file_system"
    with torch.random.fork_rng():
        a = torch.rand(1)
    assert torch.equal(a, torch.rand(1))
    with torch.autograd.detect_anomaly():
        pass


@pytest.mark.parametrize("expr,msg", [
    ("torch.linalg.inv(torch.tensor([[1., 2], [2, 4]]))", "linalg.inv: The diagonal element 2 is zero, the inversion could not be completed because the input matrix is singular."),
    ("torch.linalg.inv(torch.stack([torch.eye(2), torch.zeros(2, 2)]))", "linalg.inv: (Batch element 1): The diagonal element 1 is zero, the inversion could not be completed because the input matrix is singular."),
    ("torch.linalg.cholesky(torch.tensor([[1., 2], [2, 1]]))", "linalg.cholesky: The factorization could not be completed because the input is not positive-definite (the leading minor of order 2 is not positive-definite)."),
    ("torch.linalg.solve(torch.stack([torch.eye(2), torch.zeros(2, 2)]), torch.ones(2, 2))", "torch.linalg.solve: (Batch element 1): The solver failed because the input matrix is singular."),
])
def test_linalg_errors_match_pytorch(expr, msg):
    with pytest.raises(RuntimeError) as e:
        eval(expr)
    assert str(e.value) == msg and type(e.value).__name__ == "_LinAlgError"


def test_faer_linalg_values():
    A = torch.tensor([[4.0, 2.0], [2.0, 3.0]], dtype=torch.float64)
    assert np.allclose(torch.linalg.cholesky(A).numpy(), [[2.0, 0.0], [1.0, 2.0 ** 0.5]])
    assert np.allclose(torch.linalg.inv(A).numpy(), [[0.375, -0.25], [-0.25, 0.5]])
    assert torch.linalg.det(A).item() == pytest.approx(8.0)
    s, l = torch.linalg.slogdet(torch.tensor([[0.0, 1], [1, 0]]))
    assert (s.item(), l.item()) == (-1.0, 0.0)
    B = torch.randn(3, 2, 2, dtype=torch.float64) + 3 * torch.eye(2, dtype=torch.float64)
    b = torch.randn(3, 2, dtype=torch.float64)
    x = torch.linalg.solve(B, b)
    assert np.allclose((B @ x.unsqueeze(-1)).squeeze(-1).numpy(), b.numpy())
    assert np.allclose(torch.linalg.det(B).numpy(), np.linalg.det(B.numpy()))


def test_stft_methods():
    x = torch.randn(400)
    w = torch.hann_window(64)
    S = x.stft(64, window=w, return_complex=True)
    assert S.shape == (33, 26) and torch.equal(S, torch.stft(x, 64, window=w, return_complex=True))
    assert torch.allclose(S.istft(64, window=w), x, atol=1e-5)
