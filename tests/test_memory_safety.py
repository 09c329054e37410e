"""Regression tests for issue 7's core classes: checked sizes, fallible allocation, views that
stay inside their storage, checkpoints that cannot reach foreign memory, and the Rust-level value
and gradient fixes (in-place comparisons, integer matmul, index bounds, copysign/xlogy grads).

Every expectation is PyTorch 2.13's behaviour, recorded as literals.
"""
import io
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

import ferrotorch as torch

HUGE = [
    # (expression, PyTorch's message fragment)
    ("torch.empty(2**62)", "Storage size calculation overflowed"),
    ("torch.ones(2**62, 4)", "Storage size calculation overflowed"),
    ("torch.full((2**32, 2**32), 7.)", "Storage size calculation overflowed"),
    ("torch.zeros(2**32, 2**32, dtype=torch.uint8)", "Storage size calculation overflowed"),
    ("torch.eye(2**31)", "overflow"),
    ("torch.empty(2**62).sum()", "Storage size calculation overflowed"),
    ("torch.zeros(2**40)", "can't allocate memory"),
    ("torch.randn(10**12)", "can't allocate memory"),
    ("torch.ones(3).repeat(2**40)", "can't allocate memory"),
    ("torch.arange(0, 1e13)", "can't allocate memory"),
    ("torch.linspace(0, 1, 2**40)", "can't allocate memory"),
    ("torch.randperm(2**62)", ""),
    ("torch.ones(1).expand(2**32, 2**32)", "overflow"),
    ("torch.zeros(0).view(2**32, 2**32)", ""),
    ("torch.ones(3).repeat(2**62, 2**62)", "overflow"),
    ("torch.arange(0, float('inf'))", "unsupported range"),
    ("torch.randperm(-1)", "negative dimension"),
    ("torch.ones(3).repeat(-1)", "negative dimension"),
    ("torch.ones(3).unfold(0, 1, -1)", "step is -1 but must be > 0"),
]


@pytest.mark.parametrize("expr,msg", HUGE, ids=[e for e, _ in HUGE])
def test_huge_or_negative_sizes_raise_runtime_error(expr, msg):
    with pytest.raises(RuntimeError, match=msg.replace("(", r"\(") or None):
        eval(expr)


def test_allocator_recovers_after_a_failed_allocation():
    with pytest.raises(RuntimeError):
        torch.zeros(2**40)
    x = torch.ones(1 << 20)
    assert x.sum().item() == float(1 << 20)


def test_flip_with_repeated_dim_is_rejected():
    x = torch.arange(1e6).reshape(1000, 1000)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        x.flip((0, 0))
    with pytest.raises(RuntimeError, match="appears multiple times"):
        x.flip((1, -1))


@pytest.mark.parametrize("size,stride,offset,msg", [
    ((5,), (1,), None, "out of bounds for storage"),
    ((2,), (-1,), None, "Negative strides"),
    ((2,), (1,), -1, "invalid storage offset"),
    ((2**62, 4), (0, 0), None, "overflow"),
    ((2, 2), (1,), None, "mismatch in length of strides and shape"),
    ((2,), (3,), 1, "out of bounds for storage"),
])
def test_as_strided_views_are_checked_against_the_storage(size, stride, offset, msg):
    x = torch.ones(4)
    with pytest.raises(RuntimeError, match=msg):
        torch.as_strided(x, size, stride, offset)


def test_as_strided_inside_the_storage_still_works():
    x = torch.arange(6.)
    assert torch.as_strided(x, (2, 2), (1, 2), 1).tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert torch.as_strided(x, (0, 5), (100, 100)).shape == (0, 5)


def _crafted_checkpoint(size, stride, offset=0, numel=4, data_numel=None):
    """A torch.save-format zip whose tensor has the given geometry, written with a stand-in
    `torch` module so the pickle names PyTorch's real globals."""
    fake_torch = types.ModuleType("torch")
    fake_utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while saving")

    class FloatStorage:
        pass

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    fake_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    fake_torch.FloatStorage = FloatStorage
    fake_torch._utils = fake_utils

    class Crafted:
        def __reduce__(self):
            from collections import OrderedDict
            return _rebuild_tensor_v2, (("storage", FloatStorage, "0", "cpu", numel), offset, size, stride,
                                        False, OrderedDict())

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return obj if isinstance(obj, tuple) and obj and obj[0] == "storage" else None

    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = fake_torch, fake_utils
    try:
        pkl = io.BytesIO()
        P(pkl, protocol=2).dump({"w": Crafted()})
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pkl.getvalue())
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/data/0", np.arange(numel if data_numel is None else data_numel, dtype=np.float32).tobytes())
        z.writestr("archive/version", "3\n")
    buf.seek(0)
    return buf


def test_crafted_checkpoint_geometry_is_rejected():
    # the file: size (2**62, 4) with strides (0, 0) over a 4-element storage
    with pytest.raises(RuntimeError):
        torch.load(_crafted_checkpoint((2**62, 4), (0, 0)))
    for size, stride, offset in [((5,), (1,), 0), ((2,), (1,), 3), ((2,), (-1,), 1), ((-1,), (1,), 0),
                                 ((2**70,), (1,), 0), ((2, 2), (1,), 0)]:
        with pytest.raises(RuntimeError):
            torch.load(_crafted_checkpoint(size, stride, offset))


def test_crafted_checkpoint_with_valid_geometry_loads():
    sd = torch.load(_crafted_checkpoint((2, 2), (1, 2)))
    assert sd["w"].tolist() == [[0.0, 2.0], [1.0, 3.0]]


class _Pickled:
    """A user class saved whole with torch.save (needs weights_only=False, like PyTorch)."""

    def __init__(self, w):
        self.w = w


def test_weights_only_false_is_full_unpickling_and_documented():
    buf = io.BytesIO()
    torch.save(_Pickled(torch.ones(2)), buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(buf)
    buf.seek(0)
    obj = torch.load(buf, weights_only=False)
    assert isinstance(obj, _Pickled) and obj.w.tolist() == [1.0, 1.0]
    assert "arbitrary code" in torch.load.__doc__


# ---------------------------------------------------------------- values computed in Rust

def test_inplace_comparisons_compute_in_the_operands_dtype():
    x = torch.tensor([1., 2., 3.])
    assert x.ge_(torch.tensor([2., 2., 2.])).tolist() == [0.0, 1.0, 1.0]
    y = torch.tensor([-2, 4, 3, 0])
    assert y.gt_(-1.5).tolist() == [0, 1, 1, 1]
    z = torch.tensor([0.5, 1.5])
    assert z.lt_(1).tolist() == [1.0, 0.0] and z.dtype == torch.float32


def test_integer_matmul_wraps_like_pytorch():
    a = torch.full((2, 2), 2**62, dtype=torch.int64)
    assert torch.mm(a, a).tolist() == [[0, 0], [0, 0]]
    b = torch.full((2, 2), 100, dtype=torch.int8)
    r = torch.mm(b, b)
    assert r.dtype == torch.int8 and r.tolist() == [[32, 32], [32, 32]]
    big = torch.tensor([[2**53 + 1]], dtype=torch.int64)
    assert torch.matmul(big, torch.tensor([[1]])).item() == 2**53 + 1
    assert torch.matmul(torch.ones(3, dtype=torch.int64), torch.ones(3, dtype=torch.int64)).item() == 3
    bb = torch.ones(2, 3, 4, dtype=torch.int32)
    assert torch.bmm(bb, bb.transpose(1, 2)).tolist() == [[[4, 4, 4]] * 3] * 2
    with pytest.raises(NotImplementedError):
        torch.mm(torch.ones(2, 2, dtype=torch.bool), torch.ones(2, 2, dtype=torch.bool))


def test_int64_min_floor_divide_minus_one_wraps():
    m = torch.tensor([-2**63])
    assert (m // -1).tolist() == [-2**63]
    assert torch.remainder(m, -1).tolist() == [0]


@pytest.mark.parametrize("expr,exc", [
    ("x.gather(1, torch.tensor([[-1, 0]]))", RuntimeError),
    ("x.index_select(0, torch.tensor([-1]))", IndexError),
    ("x.index_select(1, torch.tensor([-1]))", RuntimeError),
    ("x.index_select(1, torch.tensor([3]))", RuntimeError),
    ("x.index_add(1, torch.tensor([-1]), torch.ones(2, 1))", RuntimeError),
    ("x.scatter_add(1, torch.tensor([[-1, 0]]), torch.ones(1, 2))", RuntimeError),
    ("x.scatter(1, torch.tensor([[-1, 0]]), torch.ones(1, 2))", RuntimeError),
])
def test_negative_indices_are_out_of_range_not_wrapped(expr, exc):
    x = torch.arange(6.).reshape(2, 3)
    with pytest.raises(exc):
        eval(expr)


def test_copysign_connects_both_inputs():
    a = torch.tensor([1., -2., 0.], requires_grad=True)
    b = torch.tensor([-1., -1., 1.], requires_grad=True)
    torch.copysign(a, b).sum().backward()
    assert a.grad.tolist() == [-1.0, 1.0, 0.0]
    assert b.grad.tolist() == [0.0, 0.0, 0.0]


def test_xlogy_gradient_at_x_zero():
    x = torch.tensor([0., 0., 1.], requires_grad=True)
    y = torch.tensor([2., 0., 3.], requires_grad=True)
    torch.xlogy(x, y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [np.log(2.0), 0.0, np.log(3.0)], rtol=1e-6)


def test_inplace_through_data_is_invisible_to_autograd():
    x = torch.ones(3, requires_grad=True)
    y = x * 2
    z = (y * y).sum()
    y.data.add_(1)  # PyTorch: .data has its own version counter
    z.backward()
    assert x.grad.tolist() == [12.0, 12.0, 12.0]
    w = x * 1
    v = w.detach()  # detach shares the version counter: still an error
    u = (w * w).sum()
    v.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        u.backward()


# ---------------------------------------------------------------- second round (fuzz findings)

def test_softmax_rows_with_inf_and_integer_input():
    assert all(v != v for v in torch.softmax(torch.tensor([1., float("inf"), 2.]), 0).tolist())
    assert all(v != v for v in torch.log_softmax(torch.tensor([1., float("inf")]), 0).tolist())
    with pytest.raises(NotImplementedError, match="softmax_lastdim_kernel_impl"):
        torch.softmax(torch.ones(2, 3, dtype=torch.long), 1)
    with pytest.raises(NotImplementedError, match="log_softmax_kernel_impl"):
        torch.log_softmax(torch.ones(2, 3, dtype=torch.long), 0)


def test_overwritten_values_get_zero_gradients():
    a = torch.ones(3, requires_grad=True)
    x = a * 2
    x.zero_()
    x.sum().backward()
    assert a.grad.tolist() == [0.0, 0.0, 0.0]
    x = torch.ones(3, requires_grad=True)
    y = x * 1
    y.ge_(0.5)
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_setitem_gradients_through_views():
    a = torch.arange(9.).reshape(3, 3).requires_grad_()
    x = a * 1
    x[1, [0, 2]] = 0.5
    x.sum().backward()
    assert a.grad.tolist() == [[1.0, 1.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    # a write through a view reaches the other views of the same base
    a = torch.arange(6., requires_grad=True)
    x = (a * 1)[::2]
    x[0] = 1.0
    x.sum().backward()
    assert a.grad.tolist() == [0.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    a = torch.randn(6, 5, 3, requires_grad=True)
    x = (a * 1)[::2]
    x[torch.tensor([True, False, True]), :, :9] = torch.ones(2, 5, 3)
    x.sum().backward()
    assert [a.grad[i].sum().item() for i in range(6)] == [0.0, 0.0, 15.0, 0.0, 0.0, 0.0]


def test_zero_dim_bool_mask_indexing():
    a = torch.zeros(2, 3)
    a[torch.tensor(True)] = 0.5
    assert a.tolist() == [[0.5] * 3] * 2
    assert a[torch.tensor(True)].shape == (1, 2, 3)
    assert a[torch.tensor(False)].shape == (0, 2, 3)


@pytest.mark.parametrize("red,include_self,ga,gb", [
    ("sum", True, [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]),
    ("sum", False, [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]),
    ("prod", True, [10.0, 1.0, 0.0], [5.0, 2.0, 3.0]),
    ("prod", False, [0.0, 1.0, 0.0], [5.0, 2.0, 1.0]),
    ("mean", True, [1 / 3, 1.0, 0.5], [1 / 3, 1 / 3, 0.5]),
    ("mean", False, [0.0, 1.0, 0.0], [0.5, 0.5, 1.0]),
    ("amax", True, [0.0, 1.0, 1.0], [0.0, 1.0, 0.0]),
    ("amax", False, [0.0, 1.0, 0.0], [0.0, 1.0, 1.0]),
    ("amin", True, [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]),
    ("amin", False, [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]),
])
def test_scatter_reduce_gradients(red, include_self, ga, gb):
    a = torch.tensor([1., 0., 3.], requires_grad=True)
    b = torch.tensor([2., 5., 0.], requires_grad=True)
    torch.scatter_reduce(a, 0, torch.tensor([0, 0, 2]), b, red, include_self=include_self).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ga, rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), gb, rtol=1e-6)


@pytest.mark.parametrize("expr,msg", [
    ("torch.full((2,), 300, dtype=torch.uint8)", "uint8_t"),
    ("torch.zeros(2, dtype=torch.float16).fill_(1e10)", "c10::Half"),
    ("torch.zeros(2, dtype=torch.int8).masked_fill(torch.tensor([True, False]), 200)", "int8_t"),
    ("torch.full((1,), float('nan'), dtype=torch.int32)", "type int without overflow"),
    ("torch.empty(0, 2**62, 2**62)", "Stride calculation overflowed"),
])
def test_out_of_range_values_and_strides_raise(expr, msg):
    with pytest.raises(RuntimeError, match=msg):
        eval(expr)


def test_reductions_match_pytorch_rounding_and_range():
    assert torch.mean(torch.tensor([1., 2., 4.])).item() == np.float32(7) / np.float32(3)
    assert torch.sum(torch.tensor([-1.1, 5.04]), dtype=torch.int16).item() == 4
    assert abs(torch.std(torch.tensor([[1e30, -1e30]])).item() / 1.4142e30 - 1) < 1e-4
    a = torch.tensor([3.], requires_grad=True)
    torch.std(a, correction=0).backward()
    assert a.grad.tolist() == [0.0]
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        torch.ones(2, 2).sum(dim=(0, 0))


def test_binary_edge_cases():
    assert torch.logaddexp(torch.tensor([1.]), torch.tensor([float("inf")])).tolist() == [float("inf")]
    assert (torch.tensor([2, 1, -1]) ** torch.tensor([-1, -2, -3])).tolist() == [0, 1, -1]
    with pytest.raises(RuntimeError, match="negative integer powers"):
        torch.tensor([2]) ** -1
    assert torch.floor_divide(torch.zeros(0, 3, dtype=torch.long), torch.zeros(3, dtype=torch.long)).shape == (0, 3)
    assert torch.masked_fill(torch.zeros(2), torch.tensor([[True, False], [False, True]]), 1.).tolist() == [[1., 0.], [0., 1.]]
    x = torch.zeros(3, dtype=torch.float16)
    with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match"):
        x[[0, 1]] = torch.tensor([1., 2.])


def test_checkpoint_record_size_and_corrupt_zip():
    buf = _crafted_checkpoint((2,), (1,), numel=7, data_numel=4)  # declares 7 floats, the record holds 4
    with pytest.raises(RuntimeError, match="does not match expected size"):
        torch.load(buf)
    data = bytearray(_crafted_checkpoint((2, 2), (1, 2)).getvalue())
    for pos in range(30, len(data), 97):
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        try:
            torch.load(io.BytesIO(bytes(bad)))
        except (RuntimeError, pickle.UnpicklingError, EOFError):
            pass


def test_cdist_inf_gives_ties_the_full_gradient():
    a = torch.tensor([[1., -1.], [2., 0.5]], requires_grad=True)
    b = torch.tensor([[0., 0.]], requires_grad=True)
    out = torch.cdist(a, b, p=float("inf"))
    out.sum().backward()
    assert out.tolist() == [[1.0], [2.0]]
    assert a.grad.tolist() == [[1.0, -1.0], [1.0, 0.0]]
    assert b.grad.tolist() == [[-2.0, 1.0]]


def test_index_add_and_kthvalue_check_order():
    x = torch.zeros(3, 2, dtype=torch.long)
    with pytest.raises(IndexError, match="Index is supposed to be a vector"):
        x.index_add(0, torch.zeros(1, 1, dtype=torch.long), torch.ones(1, 2, dtype=torch.bfloat16))
    with pytest.raises(RuntimeError, match="must have the same scalar type"):
        torch.zeros(3, dtype=torch.half).index_add(0, torch.tensor([5]), torch.ones(1, dtype=torch.uint8))
    with pytest.raises(IndexError, match="Expected reduction dim 0 to have non-zero size"):
        torch.kthvalue(torch.zeros(0, 3), 1, 0)
