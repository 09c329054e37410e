"""Regression tests for torch.linalg disagreements with PyTorch found by differential fuzzing
(issue 7): factorization outputs that must carry gradients (slogdet, eigh/eigvalsh, qr, svd/svdvals,
pinv, the spectral and nuclear norms), and the dtype/shape checks of the norms, vecdot, multi_dot,
matrix_power and friends.  Every expected value is a literal recorded from PyTorch 2.13."""
import math

import pytest

import ferrotorch as torch
from ferrotorch.autograd import gradcheck, gradgradcheck

L = torch.linalg
inf = math.inf

A3 = [[2.0, -0.5, 0.3], [0.4, 1.5, -0.7], [-0.2, 0.9, 3.1]]
S3 = [[4.0, 1.0, 0.5], [0.2, 3.0, -0.4], [0.7, -0.1, 2.0]]  # not symmetric: eigh reads the lower triangle
T42 = [[1.0, 2.0], [-0.5, 0.3], [0.8, -1.2], [0.1, 0.4]]
W25 = [[0.5, -1.0, 2.0, 0.3, 1.1], [1.4, 0.2, -0.6, 0.9, -0.3]]


def _sgn(u):
    """Column signs that make the first row of u non-negative (factorizations fix signs arbitrarily)."""
    return u[..., :1, :].sign()


def _svd_fixed(A):
    u, s, vh = L.svd(A, full_matrices=False)
    return u * _sgn(u), s, vh * _sgn(u).mT


def _eigh_fixed(A):
    w, v = L.eigh(A)
    return w, v * _sgn(v)


# name: (function, input, weights per output, PyTorch's outputs, PyTorch's gradient of sum(out * w))
GRAD_CASES = {
    "slogdet": (lambda A: L.slogdet(A)[1], A3, [1.0], [2.425510439831],
                [[0.466926070039, -0.097276264591, 0.058365758755], [0.160948001415, 0.553590378493, -0.150336045278],
                 [-0.008843296781, 0.134418111072, 0.282985496993]]),
    "eigvalsh": (L.eigvalsh, S3, [[1.0, -2.0, 0.5]], [[1.759682496433, 2.998701297279, 4.241616206288]],
                 [[0.528498803672, 0.191421693757, -0.178362191815], [0.191421693757, -1.91096890631, 0.449011524887],
                  [-0.178362191815, 0.449011524887, 0.882470102638]]),
    "eigh": (_eigh_fixed, S3, [[0.3, -1.0, 0.7], [[1.0, 0.5, -0.2], [0.3, -0.8, 0.1], [0.6, 0.4, -1.1]]],
             [[1.759682496433, 2.998701297279, 4.241616206288],
              [[0.306065926777, 0.085648986205, 0.948149724267], [-0.125439004411, -0.983633341896, 0.129346452919],
               [-0.94371007446, 0.158523499433, 0.290312926838]]],
             [[0.576099326286, 0.450853201242, 0.0698116478], [0.450853201242, -0.871294402926, 0.303235205058],
              [0.0698116478, 0.303235205058, 0.295195076639]]),
    "qr_tall": (lambda A: tuple(L.qr(A)), T42, [[[1.0, -0.5], [0.2, 0.7], [-0.3, 0.4], [0.9, 0.1]], [[0.5, 1.0], [0.0, -0.6]]],
                [[[-0.72547625011, -0.660204812203], [0.362738125055, -0.238087798129], [-0.580381000088, 0.695630436272],
                  [-0.072547625011, -0.153434358794]], [[-1.378404875209, -0.674692912602], [0.0, -2.287966230888]]],
                [[-2.260471405506, -0.35346312638], [-0.49499467904, 0.215085400598], [1.774846546823, -1.138655375598],
                 [-0.961056090771, -0.064747480518]]),
    "qr_wide": (lambda A: tuple(L.qr(A)), W25,
                [[[1.0, -0.5], [0.2, 0.7]], [[0.5, 1.0, -0.2, 0.3, 0.8], [0.0, -0.6, 0.4, 0.1, -0.9]]],
                [[[-0.336336396998, -0.941741911595], [-0.941741911595, 0.336336396998]],
                 [[-1.486606874732, 0.147988014679, -0.107627647039, -0.948468639535, -0.08744746322],
                  [0.0, 1.009009190994, -2.085285661389, 0.02018018382, -1.136817021854]]],
                [[0.013788270393, 0.228708749959, -0.309429485238, -0.195075110259, 0.578498602837],
                 [-0.535855408973, -1.143543749794, 0.322882941118, -0.248888933779, -1.056096286574]]),
    "svd": (_svd_fixed, T42, [[[1.0, -0.5], [0.2, 0.7], [-0.3, 0.4], [0.9, 0.1]], [0.6, -0.4], [[0.5, 1.0], [-0.7, 0.2]]],
            [[[0.894710280847, 0.402094139321], [0.073720777032, -0.427586241617], [-0.406549135996, 0.809605835671],
              [0.169636553847, 0.005357233631]], [2.430207028939, 1.297726395083],
             [[0.226142971514, 0.974094120932], [0.974094120932, -0.226142971514]]],
            [[0.31503253994, 0.615302049086], [0.670912392513, -0.235471995952], [-0.166331218267, 0.191885708311],
             [0.284003198103, 0.336055802594]]),
    "svdvals": (L.svdvals, W25, [[1.0, -0.5]], [[2.591732535771, 1.758670652234]],
                [[-0.019271967174, -0.38305427367, 0.79421509454, -0.019995144465, 0.432602319917],
                 [-0.425041895739, 0.089850517758, -0.129018817267, -0.270229802918, -0.078562682234]]),
    "pinv": (L.pinv, T42, [[[1.0, -0.5, 0.2, 0.7], [-0.3, 0.4, 0.9, 0.1]]],
             [[[0.385075557254, -0.31409296106, 0.569871607967, 0.019806758428],
               [0.288555313138, 0.104060888187, -0.304038768965, 0.067061461276]]],
             [[-0.407593952346, 0.024588813048], [-0.009617138353, 0.244493166293], [-0.366606955276, -0.15667156382],
              [0.261098571135, 0.003348830098]]),
    "nuc": (lambda A: L.matrix_norm(A, "nuc"), A3, [1.0], [7.004390450167],
            [[0.965680365152, -0.223871778065, 0.131692290379], [0.254554901942, 0.916494703115, -0.308608588765],
             [-0.05160653308, 0.331540172752, 0.942028598077]]),
    "ord2": (lambda A: L.matrix_norm(A, 2), A3, [1.0], [3.25072491074],
             [[-0.001036763941, 0.003444725726, 0.015344517813], [0.007689439994, -0.025548739427, -0.11380676386],
              [-0.06532298643, 0.217040507536, 0.966806125972]]),
    "ord-2": (lambda A: L.matrix_norm(A, -2), T42, [1.0], [1.297726395083],
              [[0.391677537174, -0.090930763494], [-0.41650924415, 0.096695623258], [0.788632284799, -0.183086669434],
               [0.005218449784, -0.001211500732]]),
    "norm_ord2": (lambda A: L.norm(A, 2), A3, [1.0], [3.25072491074],
                  [[-0.001036763941, 0.003444725726, 0.015344517813], [0.007689439994, -0.025548739427, -0.11380676386],
                   [-0.06532298643, 0.217040507536, 0.966806125972]]),
}


def _close(got, want, tol=1e-9):
    if isinstance(want, list):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _close(g, w, tol)
    else:
        assert abs(got - want) <= tol * (1 + abs(want)), (got, want)


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_outputs_carry_pytorch_gradients(name):
    fn, a, ws, outs, grad = GRAD_CASES[name]
    A = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    res = fn(A)
    res = res if isinstance(res, tuple) else (res,)
    assert all(o.requires_grad for o in res)
    for o, want in zip(res, outs):
        _close(o.tolist() if o.ndim else o.item(), want)
    sum((o * torch.tensor(w, dtype=torch.float64)).sum() for o, w in zip(res, ws)).backward()
    _close(A.grad.tolist(), grad)


def _rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, dtype=torch.float64, generator=g).requires_grad_()


def _sym(A):
    return A + A.mT


# well-conditioned random inputs; symmetric ones through A + A^T (eigh reads one triangle only)
GRADCHECK = {
    "slogdet": (lambda A: L.slogdet(A)[1], (2, 3, 3)),
    "eigvalsh": (lambda A: L.eigvalsh(_sym(A)), (2, 3, 3)),
    "eigh": (lambda A: _eigh_fixed(_sym(A)), (3, 3)),
    "qr_tall": (lambda A: tuple(L.qr(A)), (4, 3)),
    "qr_wide": (lambda A: tuple(L.qr(A)), (2, 3, 5)),
    "svd_tall": (_svd_fixed, (4, 3)),
    "svd_wide": (_svd_fixed, (2, 3, 5)),
    "svdvals": (L.svdvals, (2, 3, 4)),
    "pinv_tall": (L.pinv, (4, 3)),
    "pinv_wide": (L.pinv, (2, 3, 5)),
    "pinv_hermitian": (lambda A: L.pinv(_sym(A), hermitian=True), (3, 3)),
    "nuc": (lambda A: L.matrix_norm(A, "nuc"), (2, 3, 4)),
    "ord2": (lambda A: L.matrix_norm(A, 2), (2, 3, 4)),
    "ord-2": (lambda A: L.matrix_norm(A, -2), (2, 4, 3)),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck(name):
    fn, shape = GRADCHECK[name]
    A = _rand(*shape, seed=len(name))
    assert gradcheck(fn, (A,))
    assert gradgradcheck(fn, (A,))


class TestGradEdgeCases:
    def test_unused_outputs_do_not_divide_by_gaps(self):
        # repeated singular/eigen values: only S (or L) used, like PyTorch's svdvals/eigvalsh shortcut
        for f in (lambda A: L.svd(A)[1], lambda A: L.eigh(A)[0]):
            A = torch.eye(3, dtype=torch.float64, requires_grad=True)
            f(A).sum().backward()
            assert A.grad.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]

    def test_empty_slogdet_backward(self):
        A = torch.zeros(2, 0, 0, dtype=torch.float64, requires_grad=True)
        s, l = L.slogdet(A)
        assert s.tolist() == [1.0, 1.0] and l.tolist() == [0.0, 0.0]
        l.sum().backward()
        assert tuple(A.grad.shape) == (2, 0, 0)

    def test_matrix_power_zero_stays_in_graph(self):
        A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        r = L.matrix_power(A, 0)
        assert r.requires_grad and r.tolist() == [[1.0, 0.0], [0.0, 1.0]]
        r.sum().backward()
        assert A.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]

    def test_qr_modes_without_gradient(self):
        A = torch.ones(3, 3, dtype=torch.float64, requires_grad=True) + torch.eye(3, dtype=torch.float64)
        q, r = L.qr(A, mode="r")
        assert tuple(q.shape) == (0,)
        with pytest.raises(RuntimeError, match="The derivative of linalg.qr depends on Q"):
            r.sum().backward()
        B = torch.ones(4, 2, dtype=torch.float64, requires_grad=True)
        q, r = L.qr(B, mode="complete")
        assert tuple(q.shape) == (4, 4)
        with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
            q.sum().backward()

    def test_empty_max_norm_is_not_differentiable(self):
        A = torch.zeros(2, 0, requires_grad=True)
        assert not L.matrix_norm(A, ord=1).requires_grad
        assert L.matrix_norm(torch.zeros(2, 0, requires_grad=True), ord=inf).requires_grad


class TestChecks:
    @pytest.mark.parametrize("dt,name", [(torch.int64, "Long"), (torch.bool, "Bool"), (torch.uint8, "Byte")])
    def test_norms_reject_integer_input(self, dt, name):
        v, m = torch.zeros(3, dtype=dt), torch.zeros(2, 2, dtype=dt)
        for call, who in [(lambda: L.vector_norm(v), "vector_norm"), (lambda: L.norm(v), "vector_norm"),
                          (lambda: L.norm(v, ord=1), "vector_norm"), (lambda: L.norm(m, ord=1), "matrix_norm"),
                          (lambda: L.norm(m, ord="fro"), "matrix_norm"), (lambda: L.matrix_norm(m), "matrix_norm"),
                          (lambda: L.vector_norm(v, dtype=torch.float32), "vector_norm")]:
            with pytest.raises(RuntimeError, match=f"linalg.{who}: Expected a floating point or complex tensor as input. Got {name}"):
                call()

    def test_norm_dtype_argument(self):
        with pytest.raises(RuntimeError, match="linalg.vector_norm: dtype should be floating point or complex, but got Long"):
            L.vector_norm(torch.zeros(3), dtype=torch.int64)
        with pytest.raises(RuntimeError, match=r"the dtype of the input \(Double\) should be convertible without narrowing "
                                               r"to the specified dtype \(Float\)"):
            L.vector_norm(torch.zeros(3, dtype=torch.float64), dtype=torch.float32)
        assert L.matrix_norm(torch.ones(2, 2), 1, dtype=torch.float64).dtype == torch.float64

    def test_norm_shape_checks(self):
        with pytest.raises(RuntimeError, match="If dim is not specified but ord is, the input must be 1D or 2D. Got 3D."):
            L.norm(torch.zeros(3, 2, 2), ord=1)
        with pytest.raises(RuntimeError, match=r"If dim is specified, it must be of length 1 or 2. Got \[0, 1, 2\]"):
            L.norm(torch.zeros(3, 2), dim=(0, 1, 2))
        with pytest.raises(RuntimeError, match="linalg.matrix_norm: The input tensor A must have at least 2 dimensions."):
            L.norm(torch.zeros(3), ord="fro")
        with pytest.raises(RuntimeError, match=r"linalg.matrix_norm: dims must be different. Got \(1, 1\)"):
            L.matrix_norm(torch.zeros(3, 3), dim=(1, -1))
        with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order 3 not supported."):
            L.matrix_norm(torch.zeros(3, 3), ord=3)
        with pytest.raises(RuntimeError, match="linalg.matrix_norm: Low precision dtypes not supported. Got Half"):
            L.matrix_norm(torch.zeros(2, 2, dtype=torch.float16), ord=2)
        assert L.matrix_norm(torch.zeros(2, 2, dtype=torch.float16), ord=1).dtype == torch.float16

    def test_norms_of_empty_input(self):
        with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor because the operation does not have an identity"):
            L.vector_norm(torch.zeros(2, 0), ord=inf)
        with pytest.raises(RuntimeError, match="cannot compute the -inf norm on the dimension -1because this dimension is empty"):
            L.vector_norm(torch.zeros(2, 0), ord=-inf, dim=-1)
        with pytest.raises(RuntimeError, match="cannot compute the -1.5 norm on the dimension 0because"):
            L.vector_norm(torch.zeros(0), ord=-1.5, dim=0)
        assert L.vector_norm(torch.zeros(2, 0), ord=0, dim=1).tolist() == [0.0, 0.0]
        assert L.norm(torch.zeros(2, 0), ord=1).item() == 0.0
        assert L.norm(torch.zeros(2, 0), ord=2).item() == 0.0
        assert L.matrix_norm(torch.zeros(3, 2, 0), ord=inf, keepdim=True).shape == (3, 1, 1)
        with pytest.raises(IndexError, match="amin\\(\\): Expected reduction dim 1 to have non-zero size."):
            L.matrix_norm(torch.zeros(3, 2, 0), ord=-1)
        with pytest.raises(IndexError, match="amin\\(\\): Expected reduction dim -1 to have non-zero size."):
            L.matrix_norm(torch.zeros(0, 2), ord=-2)

    def test_vecdot_dtypes(self):
        with pytest.raises(RuntimeError, match="linalg.vecdot: Expected a floating point or complex tensor as input. Got Long"):
            L.vecdot(torch.ones(2, dtype=torch.int64), torch.ones(2, dtype=torch.int64))
        with pytest.raises(RuntimeError, match="Expected x and y to have the same dtype, but found x of type Float and y of type Double instead"):
            L.vecdot(torch.ones(2), torch.ones(2, dtype=torch.float64))
        assert L.vecdot(torch.ones(2, 3), torch.ones(3), dim=0).tolist() == [2.0, 2.0, 2.0]

    def test_multi_dot_checks(self):
        for ts, msg in [([torch.ones(2, 2)], "expected at least 2 tensors but got 1"),
                        ([torch.ones(2, 2, 2), torch.ones(2, 2)], "the first tensor must be 1D or 2D but got 3D"),
                        ([torch.ones(2, 2), torch.ones(2, 2, 2)], "the last tensor must be 1D or 2D but got 3D"),
                        ([torch.ones(2, 2), torch.ones(2), torch.ones(2, 2)], "tensor 1 must be 2D but got 1D"),
                        ([torch.ones(2, 2), torch.ones(3, 2)], r"tensors 0 and 1 with shapes \[2, 2\] and \[3, 2\] cannot be multiplied"),
                        ([torch.ones(2, 2), torch.ones(2, 2, dtype=torch.float64)],
                         "all tensors must have be the same dtype but tensor 0 is float and tensor 1 double")]:
            with pytest.raises(RuntimeError, match=msg):
                L.multi_dot(ts)
        assert L.multi_dot([torch.ones(2), torch.ones(2)]).item() == 2.0

    def test_multi_dot_order(self):
        # PyTorch multiplies a (1x0) @ (0x2 @ 2x3): the empty product first, so inf never meets a zero
        r = L.multi_dot([torch.zeros(0), torch.zeros(0, 2), torch.tensor([[1.0, inf, 2.0], [3.0, 4.0, inf]])])
        assert r.tolist() == [0.0, 0.0, 0.0]

    def test_matrix_power_dtypes(self):
        a = torch.tensor([[2.140625, 1.796875], [-0.453125, 2.984375]], dtype=torch.bfloat16)
        assert L.matrix_power(a, 2).tolist() == [[3.765625, 9.1875], [-2.328125, 8.0625]]
        assert L.matrix_power(torch.eye(2, dtype=torch.float16), 0).dtype == torch.float16
        with pytest.raises(RuntimeError, match="linalg.inv: Low precision dtypes not supported. Got BFloat16"):
            L.matrix_power(a, -1)
        with pytest.raises(RuntimeError, match="linalg.inv: Expected a floating point or complex tensor as input. Got Long"):
            L.matrix_power(torch.eye(2, dtype=torch.int64), -1)
        with pytest.raises(RuntimeError, match="linalg.matrix_power: A must be batches of square matrices"):
            L.matrix_power(torch.zeros(2, 3), 2)

    def test_empty_input_skips_kernel_dtype_checks(self):
        w, v = L.eigh(torch.zeros(0, 0, dtype=torch.int64))
        assert w.dtype == torch.int64 and tuple(v.shape) == (0, 0)
        with pytest.raises(NotImplementedError, match="\"linalg_eigh_cpu\" not implemented for 'Bool'"):
            L.eigh(torch.zeros(2, 2, dtype=torch.bool))
        assert L.solve(torch.zeros(0, 0, dtype=torch.bfloat16), torch.zeros(0, dtype=torch.bfloat16)).dtype == torch.bfloat16
        with pytest.raises(NotImplementedError, match="\"geqrf_cpu\" not implemented for 'Half'"):
            L.qr(torch.zeros(0, 0, dtype=torch.float16))
        with pytest.raises(RuntimeError, match="linalg.slogdet: Low precision dtypes not supported. Got Half"):
            L.slogdet(torch.zeros(0, 0, dtype=torch.float16))

    def test_pinv_and_matrix_rank_dtypes(self):
        with pytest.raises(RuntimeError, match=r"linalg.pinv\(Half\{\[0, 1\]\}\): expected a tensor with 2 or more dimensions "
                                               "of float, double, cfloat or cdouble types"):
            L.pinv(torch.zeros(0, 1, dtype=torch.float16))
        with pytest.raises(RuntimeError, match=r"linalg.pinv\(Float\{\[3\]\}\)"):
            L.pinv(torch.zeros(3))
        with pytest.raises(RuntimeError, match="This function doesn't handle types other than float and double"):
            L.matrix_rank(torch.zeros(2, 2, dtype=torch.int64))
