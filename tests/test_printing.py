"""Tensor printing: every `prints` case recorded from PyTorch, plus set_printoptions."""
import json
import os

import numpy as np
import pytest

import ferrotorch as torch
from ferrotorch import _tensor_str

CONF = "/work/shared/conformance"
_PRINTS = json.load(open(os.path.join(CONF, "modules.json")))["prints"]


def _norm(s):
    return s.replace(torch.__name__ + ".", "torch.")


@pytest.fixture(autouse=True)
def _restore_printoptions():
    old = _tensor_str.get_printoptions()
    yield
    _tensor_str.set_printoptions(**old)


@pytest.mark.parametrize("case", _PRINTS, ids=[c["expr"] for c in _PRINTS])
def test_conformance_print(case):
    v = eval(case["expr"], {"torch": torch})
    assert _norm(repr(v)) == case["repr"]
    assert _norm(str(v)) == case["str"]


def t(values, dtype=None):
    return torch.tensor(values, dtype=dtype) if dtype is not None else torch.tensor(values)


def test_dtype_suffix_uses_package_name():
    r = repr(t([1, 2], torch.int16))
    assert r == f"tensor([1, 2], dtype=torch.int16)"


def test_float_styles():
    assert repr(t([0.5, 0.25])) == "tensor([0.5000, 0.2500])"
    assert repr(t([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"
    assert repr(t([1e9, 2e9])) == "tensor([1.0000e+09, 2.0000e+09])"  # int mode but > 1e8
    assert repr(t([-1.0, 0.0, 2.0])) == "tensor([-1.,  0.,  2.])"
    assert repr(t([0.0, 0.0])) == "tensor([0., 0.])"
    assert repr(t([float("nan")])) == "tensor([nan])"
    assert repr(t([float("inf"), 1.5])) == "tensor([   inf, 1.5000])"
    assert repr(t([-0.5, 123.25])) == "tensor([ -0.5000, 123.2500])"


def test_linewidth_wrapping_1d():
    x = torch.arange(30, dtype=torch.float32) / 7
    want = (
        "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
        "        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n"
        "        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,\n"
        "        3.8571, 4.0000, 4.1429])"
    )
    assert repr(x) == want


def test_summarized_3d():
    x = torch.arange(8 * 8 * 20).reshape(8, 8, 20)
    r = repr(x)
    lines = r.split("\n")
    assert lines[0] == "tensor([[[   0,    1,    2,  ...,   17,   18,   19],"
    assert lines[1] == "         [  20,   21,   22,  ...,   37,   38,   39],"
    assert "         ...," in lines
    assert r.endswith("[1260, 1261, 1262,  ..., 1277, 1278, 1279]]])")
    # blocks of the first dimension are separated by one blank line, plus the '...' block
    assert r.count("\n\n") == 6


def test_set_printoptions_precision_and_sci_mode():
    _tensor_str.set_printoptions(precision=2)
    assert repr(t([1.23456, 2.5])) == "tensor([1.23, 2.50])"
    # sci_mode does not reset the precision
    _tensor_str.set_printoptions(sci_mode=True)
    assert repr(t([1.5, 2.5])) == "tensor([1.50e+00, 2.50e+00])"
    _tensor_str.set_printoptions(profile="default", sci_mode=True)
    assert repr(t([1.5, 2.5])) == "tensor([1.5000e+00, 2.5000e+00])"
    # forced fixed notation keeps the width computed for scientific notation (PyTorch quirk)
    _tensor_str.set_printoptions(sci_mode=False)
    assert repr(t([1e-6, 1.0])) == "tensor([    0.0000,     1.0000])"
    _tensor_str.set_printoptions(profile="default")
    assert _tensor_str.get_printoptions() == {
        "precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def test_set_printoptions_threshold_edgeitems_linewidth():
    _tensor_str.set_printoptions(threshold=5, edgeitems=2)
    assert repr(torch.arange(10)) == "tensor([0, 1,  ..., 8, 9])"
    _tensor_str.set_printoptions(profile="full")
    assert repr(torch.arange(1200)).count("...") == 0
    _tensor_str.set_printoptions(profile="default", linewidth=30)
    assert repr(torch.arange(12)) == "tensor([ 0,  1,  2,  3,  4,\n         5,  6,  7,  8,  9,\n        10, 11])"
    _tensor_str.set_printoptions(profile="short")
    assert _tensor_str.get_printoptions()["precision"] == 2


def test_printoptions_context_manager_restores():
    with _tensor_str.printoptions(precision=1):
        assert repr(t([1.25])) == "tensor([1.2])"
    assert repr(t([1.25])) == "tensor([1.2500])"


def test_top_level_set_printoptions_if_exported():
    if not hasattr(torch, "set_printoptions"):
        pytest.skip("torch.set_printoptions is exported by the package __init__")
    torch.set_printoptions(precision=3)
    assert repr(t([1.0, 2.5])) == "tensor([1.000, 2.500])"


def test_empty_and_scalar_variants():
    assert repr(torch.zeros(0, dtype=torch.int64)) == f"tensor([], dtype=torch.int64)"
    assert repr(torch.zeros(2, 0, 3)) == "tensor([], size=(2, 0, 3))"
    assert repr(t(True)) == "tensor(True)"
    assert repr(t(2.0, torch.float64)) == f"tensor(2., dtype=torch.float64)"


def test_requires_grad_suffix_wraps_to_new_line():
    x = torch.full((1, 9), 1.5, requires_grad=True)
    assert repr(x) == (
        "tensor([[1.5000, 1.5000, 1.5000, 1.5000, 1.5000, 1.5000, 1.5000, 1.5000, 1.5000]],\n"
        "       requires_grad=True)"
    )


def test_big_tensor_is_fast():
    import time

    x = torch.zeros(2000, 2000)
    t0 = time.perf_counter()
    r = repr(x)
    assert time.perf_counter() - t0 < 0.5
    assert r.startswith("tensor([[0., 0., 0.,  ..., 0., 0., 0.],")


def test_views_and_noncontiguous():
    x = torch.arange(6).reshape(2, 3).t()
    assert repr(x) == "tensor([[0, 3],\n        [1, 4],\n        [2, 5]])"
    y = torch.arange(10.0)[::3]
    assert repr(y) == "tensor([0., 3., 6., 9.])"
