"""Regression tests for tensor-op disagreements with PyTorch found by differential fuzzing
(issue 7): out= arguments, NaN/inf and dtype rules, shapes, gradients, exception types and
index checks.  Every expected value is a literal recorded from PyTorch 2.13."""
import math
import warnings

import pytest

import ferrotorch as torch

nan, inf = math.nan, math.inf


def same(t, values, dtype=None):
    """t holds `values` (NaN equal to NaN) with `dtype`."""
    if dtype is not None:
        assert t.dtype == dtype, (t.dtype, dtype)
    got = t.tolist()

    def eq(a, b):
        if isinstance(a, list):
            return len(a) == len(b) and all(eq(x, y) for x, y in zip(a, b))
        if isinstance(a, float) and math.isnan(a):
            return isinstance(b, float) and math.isnan(b)
        return a == b
    assert eq(got, values), (got, values)


# --------------------------------------------------------------------------- out=

class TestOut:
    def test_writes_and_returns_out(self):
        a = torch.tensor([1., 2., 3.])
        o = torch.zeros(3)
        r = torch.add(a, 1, out=o)
        assert r is o
        same(o, [2., 3., 4.], torch.float32)

    def test_cast_rule(self):
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            torch.add(torch.tensor([1., 2.]), 1, out=torch.zeros(2, dtype=torch.int64))
        same(torch.add(torch.tensor([1., 2.]), 1, out=torch.zeros(2, dtype=torch.float64)), [2., 3.], torch.float64)
        same(torch.exp(torch.tensor([0, 0]), out=torch.zeros(2, dtype=torch.float64)), [1., 1.], torch.float64)
        # a bool result casts to anything
        same(torch.eq(torch.tensor([1., 2.]), 1, out=torch.zeros(2, dtype=torch.int64)), [1, 0], torch.int64)

    def test_same_dtype_rule(self):
        with pytest.raises(RuntimeError, match="Found dtype Double but expected Float"):
            torch.abs(torch.tensor([1., 2.]), out=torch.zeros(2, dtype=torch.float64))
        with pytest.raises(RuntimeError, match="Found dtype Double but expected Float"):
            torch.clamp(torch.tensor([1., 5.]), 0, 2, out=torch.zeros(2, dtype=torch.float64))

    def test_exact_dtype_rule(self):
        with pytest.raises(RuntimeError, match="Expected out tensor to have dtype float, but got double instead"):
            torch.mm(torch.ones(2, 2), torch.ones(2, 2), out=torch.zeros(2, 2, dtype=torch.float64))

    def test_resize_warns_when_not_empty(self):
        a = torch.tensor([1., 2., 3.])
        o = torch.zeros(2)
        with pytest.warns(UserWarning, match="An output with one or more elements was resized"):
            torch.add(a, 1, out=o)
        same(o, [2., 3., 4.])
        o = torch.zeros(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            torch.add(a, 1, out=o)
        same(o, [2., 3., 4.])

    def test_non_contiguous_out_writes_through(self):
        x = torch.zeros(6)
        torch.add(torch.tensor([1., 2., 3.]), 1, out=x[::2])
        same(x, [2., 0., 3., 0., 4., 0.])

    def test_autograd_rejected(self):
        msg = r"add\(\): functions with out=... arguments don't support automatic differentiation, but one of the arguments requires grad."
        with pytest.raises(RuntimeError, match=msg):
            torch.add(torch.tensor([1., 2.], requires_grad=True), 1, out=torch.zeros(2))
        with pytest.raises(RuntimeError, match=msg):
            torch.add(torch.tensor([1., 2.]), 1, out=torch.zeros(2, requires_grad=True))
        with torch.no_grad():
            same(torch.add(torch.tensor([1., 2.], requires_grad=True), 1, out=torch.zeros(2)), [2., 3.])

    def test_reductions_take_out_dtype(self):
        same(torch.sum(torch.tensor([1., 2., 3.]), 0, out=torch.zeros((), dtype=torch.int64)), 6, torch.int64)
        same(torch.mean(torch.tensor([1., 2.]), out=torch.zeros((), dtype=torch.float64)), 1.5, torch.float64)

    def test_factories_take_out_dtype(self):
        o = torch.zeros(1, dtype=torch.int64)
        torch.zeros(2, 3, out=o)
        assert o.dtype == torch.int64 and tuple(o.shape) == (2, 3)
        o = torch.zeros(0)
        same(torch.arange(3, out=o), [0., 1., 2.], torch.float32)

    def test_tuple_out(self):
        x = torch.tensor([[1., 5.], [3., 2.]])
        v, i = torch.zeros(0), torch.zeros(0, dtype=torch.int64)
        r = torch.max(x, 1, out=(v, i))
        assert r.values is v and r.indices is i
        same(v, [5., 3.])
        same(i, [1, 0])
        with pytest.raises(RuntimeError, match="Expected out tensor to have dtype long int, but got float instead"):
            torch.max(x, 1, out=(torch.zeros(2), torch.zeros(2)))
        v, i = torch.zeros(0), torch.zeros(0, dtype=torch.int64)
        torch.sort(x, 1, out=(v, i))
        same(v, [[1., 5.], [2., 3.]])
        same(i, [[0, 1], [1, 0]])

    def test_methods_reject_out(self):
        with pytest.raises(TypeError):
            torch.tensor([1.]).add(1, out=torch.zeros(1))


# --------------------------------------------------------------------------- values and dtypes

def test_fmax_fmin_ignore_nan():
    a, b = torch.tensor([1., nan, nan, 2.]), torch.tensor([nan, 2., nan, 1.])
    same(torch.fmax(a, b), [1., 2., nan, 2.])
    same(torch.fmin(a, b), [1., 2., nan, 1.])
    same(torch.fmax(torch.tensor([1, 5]), torch.tensor([3., 2.], dtype=torch.float64)), [3., 5.], torch.float64)
    with pytest.raises(TypeError):
        torch.fmax(torch.tensor([1., 5.]), 2)


def test_fmax_gradient_ties_go_to_input():
    a = torch.tensor([1., 2.], requires_grad=True)
    b = torch.tensor([1., nan], requires_grad=True)
    torch.fmax(a, b).sum().backward()
    same(a.grad, [1., 1.])
    same(b.grad, [0., 0.])


def test_clamp_nan_bounds_propagate():
    x = torch.tensor([1., 2., 3.])
    same(torch.clamp(x, max=nan), [nan, nan, nan])
    same(torch.clamp(x, min=nan), [nan, nan, nan])
    same(torch.clamp(x, min=torch.tensor([nan, 1., 1.])), [nan, 2., 3.])
    same(torch.clamp(torch.tensor([1., nan, 3.]), min=2.), [2., nan, 3.])


def test_clamp_result_dtype_promotes():
    same(torch.clamp(torch.tensor([1, 2, 3]), min=2.5), [2.5, 2.5, 3.0], torch.float32)
    same(torch.clamp(torch.tensor([1, 2, 3]), max=2.5), [1.0, 2.0, 2.5], torch.float32)
    same(torch.clamp(torch.tensor([1, 2, 3], dtype=torch.uint8), min=2.5), [2.5, 2.5, 3.0], torch.float32)
    same(torch.clamp(torch.tensor([1, 2, 3]), min=2), [2, 2, 3], torch.int64)
    same(torch.clamp(torch.tensor([True, False]), min=0), [1, 0], torch.int64)
    same(torch.clamp(torch.tensor([True, False]), min=0.5), [1.0, 0.5], torch.float32)
    same(torch.clamp_min(torch.tensor([1, 2, 3]), 2.5), [2.5, 2.5, 3.0], torch.float32)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type long int"):
        torch.tensor([1, 2, 3]).clamp_(min=2.5)


def test_clamp_gradient_at_bounds_goes_to_input():
    x = torch.tensor([1., 2., 3.], requires_grad=True)
    torch.clamp(x, 1., 3.).sum().backward()
    same(x.grad, [1., 1., 1.])


def test_isclose_infinities_and_checks():
    same(torch.isclose(torch.tensor([inf, -inf, inf, 1.]), torch.tensor([inf, -inf, -inf, inf])), [True, True, False, False])
    same(torch.isclose(torch.tensor([inf]), torch.tensor([1e38]), atol=inf), [False])
    same(torch.isclose(torch.tensor([inf, nan, 1.]), torch.tensor([inf, nan, 1.]), equal_nan=True), [True, True, True])
    same(torch.isclose(torch.tensor([True, False]), torch.tensor([True, True])), [True, False])
    with pytest.raises(RuntimeError, match="Long did not match Float"):
        torch.isclose(torch.tensor([1, 2]), torch.tensor([1., 2.]))
    with pytest.raises(RuntimeError, match="rtol must be greater than or equal to zero, but got -1"):
        torch.isclose(torch.tensor([1.]), torch.tensor([1.]), rtol=-1)
    with pytest.raises(TypeError):
        torch.isclose(torch.tensor([1., 2.]), 1.)


def test_norm_half_accumulates_in_float32():
    same(torch.norm(torch.tensor([300., 300.], dtype=torch.float16)), 424.25, torch.float16)
    same(torch.norm(torch.tensor([1e30, 1e30])), inf)  # float32 overflows in PyTorch too
    same(torch.norm(torch.tensor([3., 4.]), p=0), 2.0)


def test_square_bool_and_nansum_int_dtypes():
    same(torch.square(torch.tensor([True, False])), [1, 0], torch.int64)
    same(torch.nansum(torch.tensor([1, 2, 3], dtype=torch.int32)), 6, torch.int64)
    same(torch.nansum(torch.tensor([True, True])), 2, torch.int64)
    same(torch.nansum(torch.tensor([[1, 2], [3, 4]], dtype=torch.uint8), 0), [4, 6], torch.int64)
    with pytest.raises(RuntimeError, match="nanmean\\(\\): expected input to have floating point"):
        torch.nanmean(torch.tensor([1, 2]))


# --------------------------------------------------------------------------- shapes

def test_tensor_split_non_monotonic_indices():
    r = torch.tensor_split(torch.arange(5), [3, 1])
    assert [t.tolist() for t in r] == [[0, 1, 2], [], [1, 2, 3, 4]]
    r = torch.tensor_split(torch.arange(5), [-1, 2])
    assert [t.tolist() for t in r] == [[0, 1, 2, 3], [], [2, 3, 4]]
    with pytest.raises(RuntimeError, match="to have dtype of long"):
        torch.tensor_split(torch.arange(5), torch.tensor([2.]))


def test_all_any_empty_dim_list():
    same(torch.all(torch.tensor([[1, 0], [2, 3]]), dim=()), [[True, False], [True, True]], torch.bool)
    same(torch.any(torch.tensor([[1., 0.], [2., 3.]]), dim=()), [[True, False], [True, True]], torch.bool)
    same(torch.all(torch.tensor([]), dim=()), [], torch.bool)


def test_kron_different_ndims():
    same(torch.kron(torch.tensor([1, 2]), torch.tensor([[1, 10], [100, 1000]])), [[1, 10, 2, 20], [100, 1000, 200, 2000]])
    same(torch.kron(torch.tensor([1, 2]), torch.tensor([3, 4])), [3, 4, 6, 8])
    same(torch.kron(torch.tensor(2), torch.tensor(3.)), 6.0, torch.float32)
    r = torch.kron(torch.ones(2, 1, 2), torch.tensor([[1, 2]]))
    assert tuple(r.shape) == (2, 1, 4)


def test_meshgrid_xy():
    x, y = torch.meshgrid(torch.tensor([1, 2, 3]), torch.tensor([4, 5]), indexing="xy")
    same(x, [[1, 2, 3], [1, 2, 3]])
    same(y, [[4, 4, 4], [5, 5, 5]])
    g = torch.meshgrid(torch.tensor([1, 2]), torch.tensor([4, 5, 6]), torch.tensor([7, 8, 9, 10]), indexing="xy")
    assert all(tuple(t.shape) == (3, 2, 4) for t in g)
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.meshgrid(torch.tensor([1, 2]), torch.tensor([3.]))


# --------------------------------------------------------------------------- gradients

def test_mode_and_median_values_are_differentiable():
    a = torch.tensor([1., 2., 2., 3.], requires_grad=True)
    torch.mode(a).values.backward()
    same(a.grad, [0., 0., 1., 0.])
    a = torch.tensor([[3., 1., 2.]], requires_grad=True)
    torch.median(a, 1).values.sum().backward()
    same(a.grad, [[0., 0., 1.]])


def test_norm_p0_is_in_the_graph():
    a = torch.tensor([1., 0., 2.], requires_grad=True)
    r = torch.norm(a, p=0)
    assert r.requires_grad
    r.backward()
    assert a.grad is None


def test_prod_of_empty_backward():
    a = torch.tensor([], requires_grad=True)
    r = torch.prod(a)
    same(r, 1.0)
    r.backward()
    same(a.grad, [])
    a = torch.zeros(0, 3, requires_grad=True)
    torch.prod(a, 0).sum().backward()
    assert tuple(a.grad.shape) == (0, 3)


@pytest.mark.parametrize("op, grad", [
    (lambda x: x.cumsum_(0), [20.0, 18.0, 12.0]),
    (lambda x: x.round_(decimals=1), [0.0, 0.0, 0.0]),
    (lambda x: x.clamp_(1.5, 2.5), [0.0, 4.0, 0.0]),
])
def test_python_inplace_ops_no_false_version_error(op, grad):
    a = torch.tensor([1., 2., 3.], requires_grad=True)
    x = a * 1
    op(x)
    (x * x).sum().backward()
    same(a.grad, grad)


# --------------------------------------------------------------------------- exception types

@pytest.mark.parametrize("f, exc, msg", [
    (lambda: torch.cross(torch.ones(3), torch.ones(2, 3)), RuntimeError, "same number of dimensions"),
    (lambda: torch.cross(torch.ones(2, 4), torch.ones(2, 4)), RuntimeError, "no dimension of size 3 in input"),
    (lambda: torch.cross(torch.ones(2, 3), torch.ones(2, 3), dim=0), RuntimeError, "must have length 3. Got 2 and 2"),
    (lambda: torch.randperm(-1), RuntimeError, "negative dimension -1"),
    (lambda: torch.arange(6.).unfold(0, 1, -1), RuntimeError, "step is -1 but must be > 0"),
    (lambda: torch.arange(6.).unfold(0, -1, 1), RuntimeError, "size is -1 but must be >= 0"),
    (lambda: torch.linalg.det(torch.ones(2, 3)), RuntimeError, "A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: torch.linalg.det(torch.ones(3)), RuntimeError, "must have at least 2 dimensions"),
    (lambda: torch.linalg.det(torch.ones(2, 2, dtype=torch.int64)), RuntimeError, "Expected a floating point or complex tensor as input. Got Long"),
    (lambda: torch.linalg.inv(torch.zeros(2, 2)), RuntimeError, "singular"),
    (lambda: torch.linalg.solve(torch.zeros(2, 2), torch.ones(2)), RuntimeError, "singular"),
    (lambda: torch.linalg.solve(torch.eye(2), torch.ones(3)), RuntimeError, "Incompatible shapes"),
    (lambda: torch.linalg.qr(torch.ones(3)), RuntimeError, "at least 2 dimensions"),
    (lambda: torch.linalg.vector_norm(torch.tensor([3, 4])), RuntimeError, "Expected a floating point"),
    (lambda: torch.linalg.norm(torch.ones(2, 2), ord=3), RuntimeError, "Order 3 not supported"),
    (lambda: torch.narrow(torch.ones(3), 0, 5, 1), IndexError, "start out of range"),
    (lambda: torch.narrow(torch.ones(3), 0, 0, -1), RuntimeError, "length must be non-negative"),
    (lambda: torch.ones(3).mT, RuntimeError, "only supported on matrices"),
    (lambda: torch.trace(torch.ones(3)), RuntimeError, "expected a matrix, but got tensor with dim 1"),
    (lambda: torch.maximum(torch.ones(2), 2), TypeError, "must be Tensor"),
    (lambda: torch.hypot(2., torch.ones(2)), TypeError, "must be Tensor"),
    (lambda: torch.logical_and(torch.ones(2), True), TypeError, "must be Tensor"),
    (lambda: torch.where(torch.tensor([1, 0]), torch.ones(2), torch.zeros(2)), RuntimeError, "boolean tensor"),
    (lambda: torch.index_put(torch.zeros(3), (torch.tensor([0]),), torch.tensor([1])), RuntimeError, "source and destination dtypes match"),
    (lambda: torch.scatter(torch.zeros(3), 0, torch.tensor([0]), torch.tensor([1])), RuntimeError, "self.dtype to be equal to src.dtype"),
    (lambda: torch.index_add(torch.zeros(3), 0, torch.tensor([0]), torch.ones(1, dtype=torch.float64)), RuntimeError, "same scalar type"),
    (lambda: torch.zeros(3).put_(torch.tensor([0]), torch.tensor([1])), RuntimeError, "same dtype"),
    (lambda: torch.normal(0., -1., (2,)), RuntimeError, "normal expects std >= 0.0"),
    (lambda: torch.normal(torch.zeros(2), torch.tensor([-1., 1.])), RuntimeError, "all elements of std"),
    (lambda: torch.median(torch.zeros(2, 0), 1), IndexError, "reduction dim 1 to have non-zero size"),
    (lambda: torch.mode(torch.zeros(0)), IndexError, "reduction dim 0 to have non-zero size"),
    (lambda: torch.repeat_interleave(torch.tensor([1, 2]), torch.tensor([-1, 2])), RuntimeError, "repeats can not be negative"),
    (lambda: torch.take(torch.arange(6), torch.tensor([6])), IndexError, "tried to access index 6 on a tensor of 6 elements"),
    (lambda: torch.take(torch.arange(6), torch.tensor([-7])), IndexError, "tried to access index -7"),
    (lambda: torch.index_copy(torch.zeros(3), 0, torch.tensor([-1]), torch.ones(1)), IndexError, "index -1 is out of bounds"),
])
def test_exception_types(f, exc, msg):
    with pytest.raises(exc, match=msg):
        f()


# --------------------------------------------------------------------------- valid input accepted

def test_cummax_of_empty_dim():
    v, i = torch.cummax(torch.zeros(2, 0), 1)
    assert tuple(v.shape) == (2, 0) and i.dtype == torch.int64


def test_logsumexp_and_median_of_empty():
    same(torch.logsumexp(torch.zeros(0), 0), -inf)
    same(torch.logsumexp(torch.zeros(2, 0), 1), [-inf, -inf])
    same(torch.median(torch.zeros(0)), nan)


def test_median_nan_and_nanmedian():
    r = torch.median(torch.tensor([1., nan, 3.]), 0)
    same(r.values, nan)
    same(r.indices, 1)
    same(torch.nanmedian(torch.tensor([1., nan, 3.])), 1.0)
    r = torch.nanmedian(torch.tensor([[nan, nan], [1., nan], [4., 3.]]), 1)
    same(r.values, [nan, 1., 3.])


def test_put_non_contiguous_and_negative_index():
    a = torch.zeros(3, 3).t()
    a.put_(torch.tensor([1]), torch.tensor([5.]))
    same(a, [[0., 5., 0.], [0., 0., 0.], [0., 0., 0.]])
    same(torch.take(torch.arange(6).reshape(2, 3), torch.tensor([-1, 0])), [5, 0])


def test_linalg_matrix_norms():
    same(torch.linalg.matrix_norm(torch.ones(2, 2), ord=2), 2.0)
    same(torch.linalg.matrix_norm(torch.ones(2, 2), ord="nuc"), 2.0)


# --------------------------------------------------------------------------- NumPy-forward ops: PyTorch's checks and values

def test_histc_rules():
    same(torch.histc(torch.tensor([1., 2.]), bins=4, min=1, max=1), [1., 0., 0., 1.])
    same(torch.histc(torch.tensor([]), bins=4), [0., 0., 0., 0.])
    with pytest.raises(NotImplementedError, match="histogram_cpu"):
        torch.histc(torch.tensor([1, 2, 1]), bins=4, min=0, max=3)
    with pytest.raises(RuntimeError, match="bins must be > 0"):
        torch.histc(torch.tensor([1., 2.]), bins=0)
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        torch.histc(torch.tensor([1., 2.]), bins=4, min=3, max=1)
    with pytest.raises(RuntimeError, match="is not finite"):
        torch.histc(torch.tensor([1., inf]), bins=2)


def test_bincount_checks_and_dtype():
    with pytest.raises(RuntimeError, match="minlength should be >= 0"):
        torch.bincount(torch.tensor([0, 1]), minlength=-1)
    with pytest.raises(RuntimeError, match="weights should be 1-d and have the same length as input"):
        torch.bincount(torch.tensor([0, 1, 1, 3]), weights=torch.tensor([1., 1., 1.]))
    same(torch.bincount(torch.tensor([0, 1]), weights=torch.tensor([1., 2.], dtype=torch.float16)), [1., 2.], torch.float64)
    same(torch.bincount(torch.tensor([0, 1]), weights=torch.tensor([1., 2.])), [1., 2.], torch.float32)


def test_searchsorted_checks():
    with pytest.raises(RuntimeError, match="side can only be 'left' or 'right'"):
        torch.searchsorted(torch.tensor([1, 3, 5]), torch.tensor([3]), side="middle")
    with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
        torch.searchsorted(torch.tensor([1, 3, 5]), torch.tensor([3]), side="left", right=True)
    with pytest.raises(RuntimeError, match="positive dimension"):
        torch.searchsorted(torch.tensor(1), torch.tensor([3]))
    with pytest.raises(RuntimeError, match="boundaries tensor must be 1 dimension"):
        torch.bucketize(torch.tensor([0, 3]), torch.tensor([[1, 3, 5]]))


def test_unique_nan_and_dims():
    same(torch.unique(torch.tensor([nan, 1., nan])), [1.0, nan, nan])
    with pytest.raises(IndexError):
        torch.unique(torch.tensor([[1, 2], [1, 2]]), dim=2)
    same(torch.unique_consecutive(torch.tensor([[1, 1], [1, 1], [2, 2]]), dim=0), [[1, 1], [2, 2]])
    r = torch.mode(torch.tensor([1., nan, nan]))
    same(r.values, 1.0)
    same(r.indices, 0)


def test_nonzero_as_tuple_of_0d():
    r = torch.nonzero(torch.tensor(3.), as_tuple=True)
    assert len(r) == 1
    same(r[0], [0], torch.int64)


def test_diff():
    same(torch.diff(torch.tensor([1, 3, 6])), [2, 3])
    same(torch.diff(torch.tensor([1, 3, 6]), n=2), [1])
    same(torch.diff(torch.tensor([True, False, True])), [True, True])


# --------------------------------------------------------------------------- more checks and values

@pytest.mark.parametrize("f, exc, msg", [
    (lambda: torch.topk(torch.tensor([1., 3., 2.]), -1), RuntimeError, "selected index k out of range"),
    (lambda: torch.arange(0, inf), RuntimeError, "unsupported range: 0 -> inf"),
    (lambda: torch.eye(-1), RuntimeError, "n must be greater or equal to 0, got -1"),
    (lambda: torch.rand(2, dtype=torch.int64), NotImplementedError, "not implemented for 'Long'"),
    (lambda: torch.roll(torch.arange(4), 1, 1), IndexError, "Dimension out of range"),
    (lambda: torch.roll(torch.arange(4), (1, 2), 0), RuntimeError, "shifts and dimensions must align"),
    (lambda: torch.diag(torch.ones(2, 2, 2)), RuntimeError, "Supports 1D or 2D tensors. Got 3D"),
    (lambda: torch.diag_embed(torch.ones(2), dim1=0, dim2=0), RuntimeError, "diagonal dimensions cannot be identical"),
    (lambda: torch.ones(2, 3).movedim((0, 1), (1, 1)), RuntimeError, "repeated dim in `destination`"),
    (lambda: torch.cat([]), ValueError, "expected a non-empty list of Tensors"),
    (lambda: torch.addcdiv(torch.tensor([1, 2]), torch.tensor([1, 2]), torch.tensor([3, 4])), RuntimeError, "Integer division with addcdiv"),
    (lambda: torch.lerp(torch.tensor([1, 2]), torch.tensor([3, 4]), 0.5), NotImplementedError, "lerp_kernel_scalar"),
    (lambda: torch.lerp(torch.tensor([1.]), torch.tensor([3.], dtype=torch.float64), 0.5), RuntimeError, "expected dtype float for `end` but got dtype double"),
    (lambda: torch.logaddexp(torch.tensor([1, 2]), torch.tensor([1, 2])), NotImplementedError, "logaddexp_cpu"),
    (lambda: torch.hypot(torch.tensor([3, 4]), torch.tensor([4, 3])), NotImplementedError, "hypot_cpu"),
    (lambda: torch.bitwise_and(torch.tensor([1., 2.]), torch.tensor([1., 2.])), NotImplementedError, "bitwise_and_cpu"),
    (lambda: torch.div(torch.tensor([True]), torch.tensor([True]), rounding_mode="trunc"), NotImplementedError, "div_trunc_cpu"),
    (lambda: torch.inner(torch.ones(2, 3), torch.ones(2)), RuntimeError, "the last dimension must match"),
    (lambda: torch.outer(torch.ones(2, 2), torch.ones(2)), RuntimeError, "Expected 1-D argument self, but got 2-D"),
    (lambda: torch.tensordot(torch.ones(2, 3), torch.ones(2, 2), 1), RuntimeError, "contracted dimensions need to match"),
    (lambda: torch.tensordot(torch.ones(2, 3), torch.ones(3, 2), -1), RuntimeError, "tensordot expects dims >= 0"),
    (lambda: torch.tensordot(torch.ones(2, 3), torch.ones(3, 2), ([1, 0], [0])), RuntimeError, "same length"),
    (lambda: torch.cdist(torch.ones(2, 3), torch.zeros(4, 2)), RuntimeError, "same number of columns"),
    (lambda: torch.cdist(torch.ones(3), torch.zeros(4, 3)), RuntimeError, "at least 2D tensors"),
    (lambda: torch.cdist(torch.ones(2, 3), torch.zeros(4, 3), p=-1), RuntimeError, "non-negative p values"),
    (lambda: torch.einsum("ij,jk->ik", torch.ones(2, 3), torch.ones(2, 2)), RuntimeError, "does not broadcast with previously seen size 3"),
    (lambda: torch.einsum("ii->i", torch.ones(2, 3)), RuntimeError, "repeated for operand 0 but the sizes don't match"),
    (lambda: torch.einsum("ij->iij", torch.ones(2, 3)), RuntimeError, "appears more than once in the output"),
    (lambda: torch.einsum("i1", torch.ones(2, 3)), RuntimeError, "invalid subscript given at index 1"),
    (lambda: torch.einsum("ij,jk", torch.ones(2, 3), torch.ones(3, 2, dtype=torch.float64)), RuntimeError, "expected scalar type Float but found Double"),
    (lambda: torch.multinomial(torch.ones(3), -1), RuntimeError, "cannot sample n_sample <= 0 samples"),
    (lambda: torch.multinomial(torch.tensor([1, 2]), 1), RuntimeError, "only supports floating-point dtypes"),
    (lambda: torch.equal(torch.ones(2), 2), TypeError, "must be Tensor"),
    (lambda: torch.masked_select(torch.tensor([1, 2, 3]), torch.tensor([1, 0, 1])), RuntimeError, "expected BoolTensor for mask"),
    (lambda: torch.scatter(torch.zeros(3), 0, torch.tensor([0, 1]), torch.tensor([1., 2.]), reduce="mean"), RuntimeError, "either add or multiply"),
    (lambda: torch.masked_scatter(torch.zeros(3), torch.tensor([True, False, True]), torch.tensor([1.])), RuntimeError, "Number of elements of source"),
    (lambda: torch.aminmax(torch.tensor([])), RuntimeError, "cannot compute aminmax over an empty dimension"),
    (lambda: torch.squeeze(torch.ones(1, 2, 1), (0, 0)), RuntimeError, "dim 0 appears multiple times"),
    (lambda: torch.unbind(torch.tensor(3.)), IndexError, "tensor has no dimensions"),
    (lambda: torch.round(torch.tensor([12, 15]), decimals=-1), NotImplementedError, "round_cpu"),
    (lambda: torch.take_along_dim(torch.arange(6).reshape(2, 3), torch.tensor([0]), 1), RuntimeError, "same number of dimensions"),
])
def test_more_exception_types(f, exc, msg):
    with pytest.raises(exc, match=msg):
        f()


def test_diag_embed_dims():
    same(torch.diag_embed(torch.arange(6).reshape(2, 3), dim1=0, dim2=2),
         [[[0, 0, 0], [3, 0, 0]], [[0, 1, 0], [0, 4, 0]], [[0, 0, 2], [0, 0, 5]]])
    same(torch.diag_embed(torch.arange(2), 1, dim1=1, dim2=0), [[0, 0, 0], [0, 0, 0], [0, 1, 0]])


def test_integer_arithmetic_dtypes():
    same(torch.addcmul(torch.tensor([1, 2]), torch.tensor([1, 2]), torch.tensor([3, 4]), value=0.5), [1, 2], torch.int64)
    same(torch.div(-3, torch.tensor([2, 2]), rounding_mode="trunc"), [-1, -1], torch.int64)


def test_beta_zero_ignores_nan_input():
    same(torch.addmv(torch.tensor([nan, 1.]), torch.ones(2, 3), torch.ones(3), beta=0), [3., 3.])
    same(torch.baddbmm(torch.tensor([nan, 1.]), torch.ones(1, 2, 3), torch.ones(1, 3, 2), beta=0), [[[3., 3.], [3., 3.]]])
    same(torch.addbmm(torch.tensor([nan, 1.]), torch.ones(1, 2, 3), torch.ones(1, 3, 2), beta=0), [[3., 3.], [3., 3.]])


def test_einsum_broadcasts_size_one_subscripts():
    same(torch.einsum("bij,bjk->bik", torch.ones(2, 1, 3), torch.ones(1, 3, 2)), [[[3., 3.]], [[3., 3.]]])


# --------------------------------------------------------------------------- fuzz round 2: missing ops

class TestNewElementwiseOps:
    def test_logaddexp2(self):
        same(torch.logaddexp2(torch.tensor([1., 2.]), torch.tensor([3, 4])), [3.321928024291992, 4.321928024291992], torch.float32)
        same(torch.logaddexp2(torch.tensor([inf, -inf, nan]), torch.tensor([inf, -inf, 1.])), [inf, -inf, nan])
        assert torch.logaddexp2(torch.tensor([1.], dtype=torch.float16), torch.tensor([2])).dtype == torch.float16
        a, b = torch.tensor([1.], requires_grad=True), torch.tensor([3.], requires_grad=True)
        torch.logaddexp2(a, b).sum().backward()
        assert abs(a.grad.item() - 0.2) < 1e-6 and abs(b.grad.item() - 0.8) < 1e-6
        with pytest.raises(NotImplementedError, match="logaddexp2_cpu"):
            torch.logaddexp2(torch.tensor([1]), torch.tensor([2]))
        with pytest.raises(TypeError, match="must be Tensor"):
            torch.logaddexp2(torch.tensor([1.]), 2.0)

    def test_positive(self):
        x = torch.tensor([1, 2])
        assert torch.positive(x) is x and +x is x
        for f in (lambda: torch.positive(torch.tensor([True])), lambda: +torch.tensor([True])):
            with pytest.raises(RuntimeError, match="The `\\+` operator, on a bool tensor is not supported."):
                f()

    def test_nextafter(self):
        same(torch.nextafter(torch.tensor([0., -0., 0., nan, 1.]), torch.tensor([-1., 1, 0, 1, nan])),
             [-1.401298464324817e-45, 1.401298464324817e-45, 0.0, nan, nan], torch.float32)
        same(torch.nextafter(torch.tensor([inf, -inf, 3.4028234663852886e+38]), torch.tensor([0., 0, inf])),
             [3.4028234663852886e+38, -3.4028234663852886e+38, inf])
        same(torch.nextafter(torch.tensor([1., 1.]), torch.tensor([1., -0.])), [1.0, 0.9999999403953552])
        same(torch.nextafter(torch.tensor([-0., 0.]), torch.tensor([0., -0.])), [0.0, -0.0])
        same(torch.nextafter(torch.tensor([1.], dtype=torch.float16), torch.tensor([2])), [1.0009765625], torch.float16)
        same(torch.nextafter(torch.tensor([1.], dtype=torch.bfloat16), torch.tensor([2.], dtype=torch.bfloat16)), [1.0078125], torch.bfloat16)
        same(torch.nextafter(torch.tensor([1.]), torch.tensor([2.], dtype=torch.float64)), [1.0000000000000002], torch.float64)
        # in place: computed in the promoted dtype, then cast back
        same(torch.tensor([1., 2.]).nextafter_(torch.tensor([3., 3.], dtype=torch.float64)), [1.0, 2.0], torch.float32)
        a, b = torch.tensor([1.], requires_grad=True), torch.tensor([3.], requires_grad=True)
        torch.nextafter(a, b).sum().backward()
        same(a.grad, [1.0]); same(b.grad, [0.0])
        with pytest.raises(NotImplementedError, match="nextafter_cpu"):
            torch.nextafter(torch.tensor([1]), torch.tensor([2]))
        with pytest.raises(TypeError, match="must be Tensor"):
            torch.tensor([1.]).nextafter_(True)

    def test_ldexp(self):
        same(torch.ldexp(torch.tensor([1]), torch.tensor([2])), [4.0], torch.float32)
        same(torch.ldexp(torch.tensor([1.], dtype=torch.float16), torch.tensor([2], dtype=torch.int32)), [4.0], torch.float16)
        same(torch.ldexp(torch.tensor([0.5], dtype=torch.float16), torch.tensor([16])), [32768.0], torch.float16)
        same(torch.ldexp(torch.tensor([2.]), torch.tensor([-150])), [1.401298464324817e-45])
        same(torch.ldexp(torch.tensor([1e30]), torch.tensor([-200])), [6.223015371501754e-31])
        same(torch.ldexp(torch.tensor([0.]), torch.tensor([200])), [0.0])
        same(torch.ldexp(torch.tensor([0.]), torch.tensor([200.])), [nan])
        same(torch.ldexp(torch.tensor([0], dtype=torch.int8), torch.tensor([2147483646], dtype=torch.int32)), [nan])
        same(torch.ldexp(torch.tensor([0.5], dtype=torch.float64), torch.tensor([1024])), [8.98846567431158e+307], torch.float64)
        same(torch.ldexp(torch.tensor([1.]), torch.tensor([2.5])), [5.656854152679443])
        same(torch.ldexp(torch.tensor([True]), torch.tensor([True])), [2.0], torch.float32)
        # the exponent's power keeps its dtype (bfloat16 here)
        same(torch.ldexp(torch.tensor([3.], dtype=torch.float16), torch.tensor([-0.0859375], dtype=torch.bfloat16)), [2.82421875], torch.float32)
        # the input's gradient is grad * 2**k in k's integer dtype (0 for negative k)
        a = torch.tensor([4., 1., 1.], requires_grad=True)
        torch.ldexp(a, torch.tensor([-3, 0, 4], dtype=torch.int16)).sum().backward()
        same(a.grad, [0.0, 1.0, 16.0])
        with pytest.raises(NotImplementedError, match="ldexp_cpu_exp"):
            torch.ldexp(torch.tensor([1.]), torch.tensor([True]))
        with pytest.raises(RuntimeError, match="ldexp can't be cast to the desired output type Long"):
            torch.tensor([1, 2]).ldexp_(torch.tensor([3, 3]))

    def test_angles_and_predicates(self):
        same(torch.rad2deg(torch.tensor([1])), [57.295780181884766], torch.float32)
        same(torch.deg2rad(torch.tensor([True])), [0.01745329238474369], torch.float32)
        same(torch.rad2deg(torch.tensor([1.], dtype=torch.float16)), [57.28125], torch.float16)
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            torch.tensor([1]).rad2deg_()
        same(torch.isposinf(torch.tensor([inf, -inf, nan])), [True, False, False], torch.bool)
        same(torch.isneginf(torch.tensor([inf, -inf, nan])), [False, True, False], torch.bool)
        same(torch.isposinf(torch.tensor(2)), False, torch.bool)
        same(torch.isreal(torch.tensor(-2.5)), True, torch.bool)

    def test_logcumsumexp(self):
        same(torch.logcumsumexp(torch.tensor([1., 2, -inf, inf, nan]), 0), [1.0, 2.3132617473602295, 2.3132617473602295, inf, nan])
        same(torch.logcumsumexp(torch.tensor([-inf, -inf]), 0), [-inf, -inf])
        same(torch.logcumsumexp(torch.tensor([inf, -inf]), 0), [inf, inf])
        same(torch.logcumsumexp(torch.tensor([1., 2], dtype=torch.float16), 0), [1.0, 2.3125], torch.float16)
        same(torch.logcumsumexp(torch.tensor([-100., 100.]), 0), [-100.0, 100.0])  # no underflow
        same(torch.logcumsumexp(torch.tensor(1.), 0), 1.0)
        a = torch.tensor([1., 2, -inf, 3], requires_grad=True)
        torch.logcumsumexp(a, 0).sum().backward()
        g = a.grad.tolist()
        assert all(abs(x - y) < 1e-4 for x, y in zip(g, [1.6279, 1.7068, 0.0, 0.6652])), g
        with pytest.raises(NotImplementedError, match="logcumsumexp_out_cpu"):
            torch.logcumsumexp(torch.tensor([1, 2]), 0)
        with pytest.raises(IndexError):
            torch.logcumsumexp(torch.tensor(1.), 1)

    def test_inplace_variants(self):
        same(torch.tensor([1., -2, 0]).sgn_(), [1.0, -1.0, 0.0])
        same(torch.tensor([nan, inf]).nan_to_num_(), [0.0, 3.4028234663852886e+38])
        same(torch.tensor([1., 2], dtype=torch.float64).float_power_(2), [1.0, 4.0], torch.float64)
        with pytest.raises(RuntimeError, match="the base given to float_power_ has dtype Float but the operation's result requires dtype Double"):
            torch.tensor([1., 2]).float_power_(2)
        same(torch.tensor([1., 2]).clamp_min_(1.5), [1.5, 2.0])
        same(torch.tensor([1., 2]).clamp_max_(torch.tensor([1.5, 1])), [1.0, 1.0])
        with pytest.raises(RuntimeError, match="result type Float can't be cast"):
            torch.tensor([1, 2]).clamp_min_(1.5)
        same(torch.tensor([1., 2]).ldexp_(torch.tensor([3, 3])), [8.0, 16.0])

    def test_det_inverse(self):
        assert abs(torch.det(torch.tensor([[1., 2], [3, 4]])).item() + 2.0) < 1e-5
        inv = torch.inverse(torch.tensor([[1., 2], [3, 4]])).tolist()
        assert all(abs(x - y) < 1e-5 for r, e in zip(inv, [[-2., 1.], [1.5, -0.5]]) for x, y in zip(r, e))
        with pytest.raises(RuntimeError):
            torch.det(torch.tensor([[1, 2], [3, 4]]))


# --------------------------------------------------------------------------- fuzz round 2: dtype checks

@pytest.mark.parametrize("f, exc, msg", [
    (lambda: torch.abs(torch.tensor([True])), NotImplementedError, '"abs_cpu" not implemented for \'Bool\''),
    (lambda: torch.floor(torch.tensor([True])), NotImplementedError, '"floor_vml_cpu" not implemented for \'Bool\''),
    (lambda: torch.ceil(torch.tensor([True])), NotImplementedError, '"ceil_vml_cpu"'),
    (lambda: torch.trunc(torch.tensor([True])), NotImplementedError, '"trunc_vml_cpu"'),
    (lambda: torch.round(torch.tensor([True])), NotImplementedError, '"round_vml_cpu"'),
    (lambda: torch.tensor([True]).round_(), NotImplementedError, '"round_vml_cpu"'),
    (lambda: abs(torch.tensor([True])), NotImplementedError, '"abs_cpu"'),
    (lambda: torch.frac(torch.tensor([1], dtype=torch.int16)), NotImplementedError, '"frac_cpu" not implemented for \'Short\''),
    (lambda: torch.relu(torch.tensor([True])), RuntimeError, "Boolean inputs not supported for relu"),
    (lambda: torch.tensor([True]).square_(), RuntimeError, "result type Long can't be cast to the desired output type Bool"),
    (lambda: torch.argmax(torch.tensor([True])), RuntimeError, r"argmax\(\): does not support bool input"),
    (lambda: torch.argmin(torch.tensor([]), 0), IndexError, r"argmin\(\): Expected reduction dim 0 to have non-zero size."),
    (lambda: torch.amax(torch.tensor([])), RuntimeError, r"amax\(\): Expected reduction dim to be specified"),
    (lambda: torch.amin(torch.tensor([[]]), 1), IndexError, r"amin\(\): Expected reduction dim 1 to have non-zero size."),
    (lambda: torch.norm(torch.tensor([1])), RuntimeError, "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: torch.nanmean(torch.tensor([1.]), dtype=torch.int32), RuntimeError, "could not infer output dtype"),
    (lambda: torch.arange(3, dtype=torch.bool), NotImplementedError, '"arange_cpu" not implemented for \'Bool\''),
    (lambda: torch.linspace(0, 1, 3, dtype=torch.bool), NotImplementedError, '"linspace_cpu"'),
    (lambda: torch.logspace(0, 1, 3, dtype=torch.bool), NotImplementedError, '"logspace_cpu"'),
    (lambda: torch.tensor([1, 2]).uniform_(), NotImplementedError, '"check_uniform_bounds" not implemented for \'Long\''),
    (lambda: torch.tensor([1]).normal_(), NotImplementedError, '"normal_kernel_cpu"'),
    (lambda: torch.add(torch.tensor([1]), torch.tensor([2]), alpha=0.5), RuntimeError, "For integral input tensors, argument alpha must not be a floating point number."),
    (lambda: torch.sub(torch.tensor([3]), 1, alpha=True), RuntimeError, "Boolean alpha only supported for Boolean results."),
    (lambda: torch.sub(torch.tensor([3]), False), RuntimeError, "Subtraction, the `-` operator, with a bool tensor is not supported."),
    (lambda: torch.tensor([3]) - False, RuntimeError, "Subtraction, the `-` operator"),
    (lambda: torch.cumsum(torch.tensor([1]), 0, dtype=torch.bool), NotImplementedError, '"cumsum_out_cpu" not implemented for \'Bool\''),
    (lambda: torch.tensor([True]).cumsum_(0), NotImplementedError, '"cumsum_out_cpu"'),
    (lambda: torch.tensor([1]).cumsum_(0, dtype=torch.int8), RuntimeError, "Bad in-place call: input tensor dtype long int and output tensor dtype signed char should match"),
    (lambda: ~torch.tensor([1.]), TypeError, r"~ \(operator.invert\) is only implemented on integer and Boolean-type tensors"),
    (lambda: torch.fliplr(torch.tensor([1.])), RuntimeError, "Input must be >= 2-d."),
    (lambda: torch.flipud(torch.tensor(1.)), RuntimeError, "Input must be >= 1-d."),
    (lambda: torch.narrow(torch.tensor([1., 2]), 2, 0, -1), RuntimeError, "narrow\\(\\): length must be non-negative."),
    (lambda: torch.tensor([1., 2, 3]).unfold(1, 5, 0), IndexError, "Dimension out of range"),
    (lambda: torch.tensor([1., 2, 3]).unfold(0, 5, 0), RuntimeError, "maximum size for tensor at dimension 0 is 3 but size is 5"),
    (lambda: torch.tensor([1., 2, 3]).unfold(0, -1, 0), RuntimeError, "size is -1 but must be >= 0"),
    (lambda: torch.scatter_add(torch.zeros(2), 3, torch.tensor([0]), torch.zeros(1, dtype=torch.float64)), IndexError, "Dimension out of range"),
    (lambda: torch.index_copy(torch.zeros(2), 0, torch.tensor([[0]]), torch.zeros(1, dtype=torch.float64)), IndexError, "Index should have dimension 1 or 0"),
])
def test_round2_exceptions(f, exc, msg):
    with pytest.raises(exc, match=msg):
        f()


def test_arange_integral_dtypes():
    same(torch.arange(2.5, 3.7, dtype=torch.int64), [2], torch.int64)
    same(torch.arange(2.5, 3.7, dtype=torch.int32), [2, 3], torch.int32)
    same(torch.arange(0, 10, 1.7, dtype=torch.int64), list(range(10)))
    same(torch.arange(0, 10, 1.7, dtype=torch.int32), [0, 1, 2, 3, 4, 5])
    same(torch.arange(10.5, 0, -2.5, dtype=torch.uint8), [10, 8, 6, 4, 2])
    same(torch.arange(0, 3, 0.7, dtype=torch.int32), [0, 0, 0, 0, 0])
    same(torch.arange(1, 10, 3), [1, 4, 7])
    with pytest.raises(ValueError, match="step must be nonzero"):
        torch.arange(0, 10, 0.7, dtype=torch.int64)
    with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent with step sign"):
        torch.arange(0.5, -0.7, 1, dtype=torch.int32)


class TestClampBounds:
    def test_tensor_and_number_bounds(self):
        with pytest.raises(TypeError, match="invalid combination of arguments"):
            torch.clamp(torch.tensor([1.]), min=torch.tensor([0.]), max=2.)
        with pytest.raises(TypeError, match="invalid combination of arguments"):
            torch.tensor([1.]).clamp_(min=torch.tensor([0.]), max=2.)
        # a 0-d tensor next to a number binds as a Scalar
        same(torch.clamp(torch.tensor([1]), min=torch.tensor(1.5, dtype=torch.float64), max=3), [1.5], torch.float32)
        same(torch.clamp(torch.tensor([1]), min=torch.tensor(1.5, dtype=torch.float64)), [1.5], torch.float64)

    def test_scalar_range_and_bool(self):
        with pytest.raises(RuntimeError, match="value cannot be converted to type int8_t without overflow"):
            torch.clamp(torch.tensor([1], dtype=torch.int8), 1000, 0)
        with pytest.raises(RuntimeError, match="value cannot be converted to type c10::Half without overflow"):
            torch.clamp(torch.tensor([1.], dtype=torch.float16), 70000.)
        same(torch.clamp(torch.tensor([1], dtype=torch.uint8), -1), [255], torch.uint8)
        same(torch.clamp(torch.tensor([1], dtype=torch.int8), 1000.5), [1000.5], torch.float32)
        with pytest.raises(NotImplementedError, match='"clamp_min_scalar_cpu" not implemented for \'Bool\''):
            torch.clamp(torch.tensor([True]), False)


class TestScalarRange:
    @pytest.mark.parametrize("f, msg", [
        (lambda: torch.full((2,), 300, dtype=torch.uint8), "uint8_t"),
        (lambda: torch.full((2,), -256, dtype=torch.uint8), "uint8_t"),
        (lambda: torch.full((2,), 2 ** 31, dtype=torch.int32), "type int without"),
        (lambda: torch.full((2,), 2 ** 63), "int64_t"),
        (lambda: torch.full((2,), nan, dtype=torch.int64), "int64_t"),
        (lambda: torch.full((2,), 65505.0, dtype=torch.float16), "c10::Half"),
        (lambda: torch.full((2,), 1e39, dtype=torch.float32), "type float without"),
        (lambda: torch.full_like(torch.tensor([1], dtype=torch.int8), 200), "int8_t"),
        (lambda: torch.tensor([1], dtype=torch.int8).fill_(200), "int8_t"),
        (lambda: torch.tensor([1.]).fill_(1e39), "type float without"),
        (lambda: torch.tensor([1], dtype=torch.int8).masked_fill(torch.tensor([True]), torch.tensor(200)), "int8_t"),
        (lambda: torch.tensor([1.], dtype=torch.float16).masked_fill(torch.tensor([True]), 1e10), "c10::Half"),
        (lambda: torch.scalar_tensor(300, dtype=torch.uint8), "uint8_t"),
        (lambda: torch.where(torch.tensor([True]), torch.tensor([1], dtype=torch.int8), 1000), "int8_t"),
        (lambda: torch.index_fill(torch.zeros(2, dtype=torch.int8), 0, torch.tensor([0]), 1000), "int8_t"),
        (lambda: torch.tensor([300], dtype=torch.uint8), "type uint8 without"),
        (lambda: torch.tensor([1.5, -2.0, inf], dtype=torch.int64), "type int64 without"),
        (lambda: torch.tensor(2 ** 62, dtype=torch.int32), "type int32 without"),
    ])
    def test_overflow(self, f, msg):
        with pytest.raises(RuntimeError, match="value cannot be converted to type .* without overflow") as e:
            f()
        assert msg in str(e.value)

    def test_rust_fill_checks(self):
        same(torch.tensor([1.], dtype=torch.float16).fill_(1e10), [inf], torch.float16)
        same(torch.full_like(torch.tensor([1.], dtype=torch.float16), 1e10), [inf], torch.float16)
        same(torch.full((2,), -1, dtype=torch.uint8), [255, 255], torch.uint8)
        same(torch.tensor([1], dtype=torch.uint8).fill_(-255), [1], torch.uint8)
        same(torch.tensor([1], dtype=torch.uint8).masked_fill(torch.tensor([True]), -1), [255], torch.uint8)
        a = torch.tensor([1, 2], dtype=torch.uint8)
        a[0] = -1
        same(a, [255, 2], torch.uint8)

    def test_unchecked_and_accepted(self):
        same(torch.zeros(2, dtype=torch.int8).fill_(torch.tensor(200)), [-56, -56], torch.int8)
        same(torch.scalar_tensor(2 ** 63), 9.223372036854776e+18, torch.float32)
        same(torch.tensor([-255], dtype=torch.uint8), [1], torch.uint8)

    def test_tensor_big_ints(self):
        for data, dtype in (([2 ** 63], None), (2 ** 63, None), ([-2 ** 63 - 1], None), ([2 ** 63], torch.uint8)):
            with pytest.raises(ValueError, match="Overflow when unpacking long long"):
                torch.tensor(data, dtype=dtype)
        same(torch.tensor([2 ** 63], dtype=torch.float16), [inf], torch.float16)
        same(torch.tensor([2 ** 63], dtype=torch.float32), [9.223372036854776e+18], torch.float32)
        same(torch.tensor([2 ** 63], dtype=torch.bool), [True], torch.bool)


def test_round2_shapes_and_values():
    same(torch.bucketize(torch.tensor(1), torch.tensor([1, 2])), 0, torch.int64)
    assert torch.searchsorted(torch.tensor([1, 2]), torch.tensor(1), right=True).shape == ()
    with pytest.raises(RuntimeError, match="input value can be a scalar only when boundaries tensor dimension is 1"):
        torch.searchsorted(torch.tensor([[1, 2]]), torch.tensor(1))
    assert [tuple(c.shape) for c in torch.chunk(torch.zeros(0, 2), 3, 0)] == [(0, 2)] * 3
    # integer closeness is measured in the default float dtype (no wrap-around)
    same(torch.isclose(torch.tensor([-1, -1]), torch.tensor([-9223372036854775808, 9223372036854775807])), [False, False])
    same(torch.isclose(torch.tensor([100], dtype=torch.uint8), torch.tensor([200], dtype=torch.uint8), rtol=0.6), [True])
    same(torch.tensordot(torch.zeros(2, 0), torch.zeros(0, 3), dims=1), [[0.0] * 3] * 2)
    x = torch.tensor([1., 2.])
    same(torch.masked_fill(x, torch.tensor([[True, False], [False, False]]), 0.), [[0.0, 2.0], [1.0, 2.0]])
    same(torch.tensor([1, 2]).logical_not_(), [0, 0], torch.int64)
    same(torch.tensor([1., 0.], dtype=torch.float16).logical_not_(), [0.0, 1.0], torch.float16)
    a = torch.tensor([1, 2])
    a[torch.tensor([True, False])] = torch.tensor(4.)
    same(a, [4, 2], torch.int64)
    with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match"):
        b = torch.tensor([1, 2], dtype=torch.int16)
        b[torch.tensor([0, 1])] = torch.tensor([2.5, 1.], dtype=torch.float16)
    assert abs(torch.norm(torch.tensor([[1., 2], [3, 4]]), p='nuc').item() - 5.830951690673828) < 1e-5
    same(torch.norm(torch.tensor([[]]), p='nuc', dim=(-2, -1), keepdim=True), [[0.0]])


def test_round2_promotion_and_coefficients():
    # int64 exponents wrap to a C int: 2**63-1 -> -1, -2**63 -> 0
    same(torch.ldexp(torch.tensor([-1.6337890625, 2.025390625], dtype=torch.float16),
                     torch.tensor([9223372036854775807, -9223372036854775808])), [-0.81689453125, 2.025390625], torch.float16)
    # addcmul/addcdiv compute in the common dtype (dimensioned tensors first)
    same(torch.addcdiv(torch.tensor(4.0), torch.tensor(4545759293087076896), torch.tensor(2.0, dtype=torch.float16), value=0.5),
         torch.tensor(1.1364398e+18).item(), torch.float32)
    assert torch.addcdiv(torch.tensor(-1.0, dtype=torch.float16), torch.tensor(1, dtype=torch.uint8),
                         torch.tensor([-0.39257812], dtype=torch.bfloat16), value=0.5).dtype == torch.bfloat16
    # integral add*mm results cast beta/alpha to integers
    same(torch.addmm(torch.tensor(3, dtype=torch.uint8), torch.tensor([[3, 2]], dtype=torch.uint8),
                     torch.tensor([[4, 3, 5], [5, 3, 3]], dtype=torch.uint8), beta=2, alpha=0.5), [[6, 6, 6]], torch.uint8)
    same(torch.addmv(torch.tensor([-2147483648], dtype=torch.int32), torch.tensor([[1, 1, 1, 0]], dtype=torch.int32),
                     torch.tensor([-1, 2147483647, 1, -1], dtype=torch.int32), beta=0.5, alpha=1), [2147483647], torch.int32)
    # einsum promotes products but a real contraction (bmm) needs equal dtypes
    same(torch.einsum('i,j->ij', torch.tensor([-5, -4], dtype=torch.int32), torch.tensor([-1, 3], dtype=torch.int16)),
         [[5, -15], [4, -12]], torch.int32)
    assert torch.einsum('ij,jk->ik', torch.tensor([[5.0], [5.0]]), torch.tensor([[0, 3]])).dtype == torch.float32
    with pytest.raises(RuntimeError, match="expected scalar type Int but found Short"):
        torch.einsum('ij,jk->ik', torch.ones(2, 2, dtype=torch.int32), torch.ones(2, 2, dtype=torch.int16))
    assert tuple(torch.unflatten(torch.zeros(3, 0, dtype=torch.int32), -2, (3, -1)).shape) == (3, 1, 0)
    same(torch.linspace(2, -3.0, 0, dtype=torch.bool), [], torch.bool)


@pytest.mark.parametrize("f, exc, msg", [
    (lambda: torch.scatter_reduce(torch.zeros(3), 0, torch.tensor([2, 1, 0, 1]), torch.zeros(3), 'amin'), RuntimeError,
     r"Expected index \[4\] to be no larger than self \[3\] apart from dimension 0 and to be no larger size than src \[3\]"),
    (lambda: torch.stack([torch.zeros(2), torch.zeros(3)], 5), IndexError, "Dimension out of range"),
    (lambda: torch.zeros(2).index_copy(0, torch.tensor([], dtype=torch.bool), torch.zeros(0)), RuntimeError,
     "index_copy_\\(\\): Expected a long tensor for index, but got Bool"),
    (lambda: torch.masked_fill(torch.zeros(2, dtype=torch.uint8), torch.tensor(True), torch.tensor(-1.0048828125, dtype=torch.float16)),
     RuntimeError, "value cannot be converted to type uint8_t without overflow"),
    (lambda: torch.tensor(5).permute(), TypeError, "permute\\(\\) missing 1 required positional arguments"),
])
def test_round2_more_exceptions(f, exc, msg):
    with pytest.raises(exc, match=msg):
        f()


def test_sum_to_bool_casts_first():
    # PyTorch 2.13: sum(dtype=bool) casts the input to bool before summing (so it says whether
    # any element is nonzero; 5 - 5 - 3 + 3 is True), nansum zeroes NaNs first
    a = torch.tensor([[5, -5, -3, 3], [0, 0, 0, 0], [1, 2, 3, 4]])
    assert torch.sum(a, 1, dtype=torch.bool).tolist() == [True, False, True]
    assert torch.nansum(a, 1, dtype=torch.bool).tolist() == [True, False, True]
    assert a.sum(dtype=torch.bool).item() is True
    nan = float("nan")
    assert torch.sum(torch.tensor([nan, 0.0]), dtype=torch.bool).item() is True
    assert torch.nansum(torch.tensor([nan, 0.0]), dtype=torch.bool).item() is False
    assert torch.sum(torch.tensor([0.5, -0.5]), dtype=torch.bool).item() is True
    assert torch.sum(torch.tensor([], dtype=torch.int64), dtype=torch.bool).item() is False
    assert torch.sum(a * 100, 1, dtype=torch.uint8).tolist() == [0, 0, 232]  # other dtypes wrap


def test_cumsum_checks_the_dimension_before_the_dtype():
    # PyTorch 2.13: an out-of-range dim is an IndexError even when the dtype is also refused
    a = torch.tensor([4, 0, 3], dtype=torch.uint8)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 64\)"):
        torch.cumsum(a, 64, dtype=torch.bool)
    with pytest.raises(NotImplementedError, match="cumprod_out_cpu"):
        torch.cumprod(a, 0, dtype=torch.bool)


def test_cat_skips_empty_1d_inputs_but_promotes_and_differentiates_them():
    # PyTorch 2.13: the legacy skip of 1-D empty inputs keeps their dtype in the result type and
    # still gives them (empty) gradients
    e16, ebf = torch.tensor([], dtype=torch.float16), torch.tensor([], dtype=torch.bfloat16)
    assert torch.cat([torch.tensor([1.0, 2.0], dtype=torch.float16), ebf]).dtype == torch.float32
    assert torch.cat([e16, ebf]).dtype == torch.float32 and torch.cat([e16, ebf]).shape == (0,)
    assert torch.cat([torch.zeros(2, 3, dtype=torch.int16), ebf]).dtype == torch.bfloat16
    assert torch.hstack([torch.tensor([[1, 2]], dtype=torch.uint8), torch.tensor([], dtype=torch.int32)]).dtype == torch.int32
    x, z = torch.tensor([], requires_grad=True), torch.zeros(2, 3, requires_grad=True)
    (torch.cat([z, x], 1) * 2).sum().backward()
    assert x.grad is not None and x.grad.shape == (0,) and z.grad.tolist() == [[2.0] * 3] * 2
    x, w = torch.tensor([], requires_grad=True), torch.tensor([], dtype=torch.float64, requires_grad=True)
    out = torch.cat([x, w])
    assert out.dtype == torch.float64 and out.requires_grad
    out.sum().backward()
    assert x.grad.shape == (0,) and x.grad.dtype == torch.float32 and w.grad.dtype == torch.float64


def test_inplace_cumsum_checks_the_dimension_before_the_dtype():
    a = torch.zeros(5, 3, dtype=torch.float16)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got -3"):
        a.cumsum_(-3, dtype=torch.bfloat16)
    with pytest.raises(RuntimeError, match="Bad in-place call"):
        a.cumsum_(0, dtype=torch.bfloat16)
