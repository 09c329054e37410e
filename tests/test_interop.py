"""Interop: DLPack (both ways, shared memory), safetensors files (PyTorch-written file in
tests/data/torch_tensors.safetensors) and whole pickled modules (tests/data/torch_whole_model.pt)."""
import json
import os
import pickle

import numpy as np
import pytest

import ferrotorch as torch
from ferrotorch import _dlpack

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.fixture(autouse=True)
def dlpack_methods():
    """Tensor.__dlpack__/__dlpack_device__ (installed here until _tensor.py installs them)."""
    T = torch.Tensor
    added = [k for k in ("__dlpack__", "__dlpack_device__") if not hasattr(T, k)]
    if "__dlpack__" in added:
        T.__dlpack__ = _dlpack.tensor_dlpack
    if "__dlpack_device__" in added:
        T.__dlpack_device__ = _dlpack.tensor_dlpack_device
    yield
    for k in added:
        delattr(T, k)


# ------------------------------------------------------------------ DLPack
@pytest.mark.parametrize("dt", [torch.float32, torch.float64, torch.float16, torch.int64, torch.int32,
                                torch.int16, torch.int8, torch.uint8, torch.bool])
def test_dlpack_to_numpy_shares_memory(dt):
    t = torch.tensor([[1, 0, 3], [4, 5, 0]]).to(dt)
    a = np.from_dlpack(t)
    assert a.dtype == np.asarray(t).dtype and a.shape == (2, 3)
    assert a.tolist() == t.tolist()
    a[0, 1] = 1
    assert t[0, 1].item() == 1


def test_dlpack_non_contiguous_keeps_strides():
    t = torch.arange(6.0).reshape(2, 3)
    a = np.from_dlpack(t.t())
    assert a.strides == (4, 12) and a.tolist() == [[0, 3], [1, 4], [2, 5]]
    s = np.from_dlpack(t[:, ::2])
    assert s.strides == (12, 8) and s.tolist() == [[0, 2], [3, 5]]
    s[1, 1] = -1
    assert t[1, 2].item() == -1


def test_dlpack_from_numpy_shares_memory():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    t = torch.from_dlpack(a) if hasattr(torch, "from_dlpack") else _dlpack.from_dlpack(a)
    assert t.dtype == torch.int32 and t.shape == (2, 3)
    t[1, 2] = 42
    assert a[1, 2] == 42
    a[0, 0] = -7
    assert t[0, 0].item() == -7
    v = _dlpack.from_dlpack(a.T)
    assert v.stride() == (1, 3) and v.tolist() == a.T.tolist()


def test_dlpack_capsules_and_versions():
    t = torch.arange(4.0)
    legacy = t.__dlpack__()
    assert "dltensor" in repr(legacy) and "versioned" not in repr(legacy)
    versioned = t.__dlpack__(max_version=(1, 0))
    assert "dltensor_versioned" in repr(versioned)
    for cap in (legacy, versioned):
        u = _dlpack.from_dlpack(cap)
        u[0] = 9
    assert t[0].item() == 9
    assert t.__dlpack_device__() == (1, 0)
    assert t.__dlpack_device__()[0] is _dlpack.DLDeviceType.kDLCPU


def test_dlpack_round_trip_self():
    t = torch.arange(6.0).reshape(3, 2)
    u = _dlpack.from_dlpack(t)
    u[2, 1] = 100
    assert t[2, 1].item() == 100
    c = _dlpack.from_dlpack(t, copy=True)
    c[0, 0] = -1
    assert t[0, 0].item() == 0


def test_dlpack_bfloat16_both_ways():
    t = torch.tensor([1.5, -2.0, 3.140625]).to(torch.bfloat16)
    u = _dlpack.from_dlpack(t)  # through a bfloat16 capsule
    assert u.dtype == torch.bfloat16 and u.tolist() == [1.5, -2.0, 3.140625]
    u[0] = 8
    assert t[0].item() == 8
    u = _dlpack.from_dlpack(t.__dlpack__(max_version=(1, 0)))
    assert u.dtype == torch.bfloat16 and u.tolist() == [8.0, -2.0, 3.140625]
    with pytest.raises(RuntimeError, match="Unsupported dtype"):
        np.from_dlpack(t)  # NumPy has no bfloat16, as with PyTorch's bf16 tensors


def test_dlpack_errors():
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(BufferError, match="Can't export tensors that require gradient, use tensor.detach()"):
        x.__dlpack__()
    assert np.from_dlpack(x.detach()).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="stream must be"):
        torch.ones(2).__dlpack__(stream="x")
    with pytest.raises(AssertionError, match="stream should be None on cpu"):
        torch.ones(2).__dlpack__(stream=3)
    torch.ones(2).__dlpack__(stream=-1)
    with pytest.raises(BufferError):
        torch.ones(2).__dlpack__(dl_device=(2, 0))
    with pytest.raises(TypeError):
        _dlpack.from_dlpack([1, 2])
    cap = torch.ones(2).__dlpack__()
    _dlpack.from_dlpack(cap)
    with pytest.raises(RuntimeError, match="consumed only once"):
        _dlpack.from_dlpack(cap)  # a capsule is used once


def test_dlpack_copy_and_negative_strides():
    a = np.arange(5.0)[::-1]
    t = _dlpack.from_dlpack(a)  # ferrotorch has no negative strides: copied
    assert t.tolist() == [4, 3, 2, 1, 0]
    with pytest.raises(BufferError):
        _dlpack.from_dlpack(a, copy=False)
    t = torch.arange(3.0)
    c = np.from_dlpack(t, copy=True)
    c[0] = 5
    assert t[0].item() == 0


def test_dlpack_zero_dim_and_empty():
    assert np.from_dlpack(torch.tensor(2.5)).shape == ()
    assert np.from_dlpack(torch.zeros(0, 3)).shape == (0, 3)
    assert _dlpack.from_dlpack(np.zeros((0, 2))).shape == (0, 2)


# ------------------------------------------------------------------ safetensors
from ferrotorch.utils import safetensors as fst  # noqa: E402

try:
    import safetensors as st
except ImportError:  # the safetensors tests need the package; the others do not
    st = None
needs_safetensors = pytest.mark.skipif(st is None, reason="needs the safetensors package")

TORCH_FILE = os.path.join(DATA, "torch_tensors.safetensors")
# what safetensors.torch.save_file wrote from PyTorch 2.13 (with metadata {"format": "pt", "by": "torch 2.13"})
TORCH_VALUES = {
    "f32": ("float32", [[-0.5, -0.25, 0.0], [0.25, 0.5, 0.75]]),
    "f64": ("float64", [1e-300, -2.5, float("inf")]),
    "f16": ("float16", [0.0999755859375, -65504.0, 3.0]),
    "bf16": ("bfloat16", [[1.0, -2.5], [3.140625, 1.0002555517425873e+30]]),
    "i64": ("int64", [-4611686018427387904, 7]),
    "i32": ("int32", [-5, 2147483647]),
    "i16": ("int16", [-300]),
    "i8": ("int8", [-128, 127]),
    "u8": ("uint8", [0, 255]),
    "bool": ("bool", [True, False, True]),
    "scalar": ("float32", 2.5),
    "empty": ("float32", []),
}


@needs_safetensors
def test_safetensors_load_pytorch_file():
    got = fst.load_file(TORCH_FILE)
    assert sorted(got) == sorted(TORCH_VALUES)
    for k, (dt, vals) in TORCH_VALUES.items():
        assert got[k].dtype == getattr(torch, dt), k
        assert got[k].tolist() == vals, k
    assert got["empty"].shape == (0, 4) and got["scalar"].shape == ()
    with open(TORCH_FILE, "rb") as f:
        raw = f.read()
    assert {k: v.tolist() for k, v in fst.load(raw).items()} == {k: v.tolist() for k, v in got.items()}
    # written again (with the same metadata) it has the same header and the same data bytes
    # (the header's metadata order is not fixed)
    again = fst.save(got, metadata={"format": "pt", "by": "torch 2.13"})
    n, m = (int.from_bytes(b[:8], "little") for b in (raw, again))
    assert json.loads(again[8:8 + m]) == json.loads(raw[8:8 + n])
    assert again[8 + m:] == raw[8 + n:]


@needs_safetensors
def test_safetensors_round_trip(tmp_path):
    p = str(tmp_path / "t.safetensors")
    t = {"w": torch.arange(12.0).reshape(3, 4) / 3, "bf": torch.tensor([1.0, -2.5]).to(torch.bfloat16),
         "b": torch.tensor([True, False]), "i": torch.tensor([-7, 2 ** 40]), "z": torch.zeros(0)}
    fst.save_file(t, p, metadata={"k": "v"})
    with st.safe_open(p, framework="numpy") as f:
        assert f.metadata() == {"k": "v"}
        assert f.get_tensor("w").tolist() == t["w"].tolist()
    back = fst.load_file(p)
    for k in t:
        assert back[k].dtype == t[k].dtype and back[k].tolist() == t[k].tolist()
    # loaded tensors map the file copy-on-write: writing one leaves the file alone
    back["w"][0, 0] = 100
    assert fst.load_file(p)["w"][0, 0].item() == 0
    assert {k: v.tolist() for k, v in fst.load(fst.save(t)).items()} == {k: v.tolist() for k, v in t.items()}


@needs_safetensors
def test_safetensors_errors(tmp_path):
    p = str(tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="non contiguous tensor: `a`"):
        fst.save_file({"a": torch.zeros(2, 3).t()}, p)
    x = torch.arange(4.0)
    with pytest.raises(RuntimeError, match="Some tensors share memory"):
        fst.save({"a": x, "b": x})
    with pytest.raises(RuntimeError, match="Some tensors share memory"):
        fst.save({"a": x, "b": x[1:3]})
    fst.save({"a": x[:2].contiguous(), "b": x[2:].contiguous()})
    with pytest.raises(ValueError, match="Expected a dict"):
        fst.save([x])
    with pytest.raises(ValueError, match="expected torch.Tensor"):
        fst.save({"a": np.zeros(2)})
    with pytest.raises(Exception):
        fst.load_file(str(tmp_path / "missing.safetensors"))


class _Tied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(3, 2)
        self.b = torch.nn.Linear(3, 2)
        self.b.weight = self.a.weight


@needs_safetensors
def test_safetensors_model_with_tied_weights(tmp_path):
    p = str(tmp_path / "m.safetensors")
    m = _Tied()
    fst.save_model(m, p)
    with st.safe_open(p, framework="numpy") as f:
        assert sorted(f.keys()) == ["a.bias", "a.weight", "b.bias"]
        assert f.metadata() == {"b.weight": "a.weight"}
    m2 = _Tied()
    assert fst.load_model(m2, p) == (set(), [])
    assert m2.a.weight.tolist() == m.a.weight.tolist() and m2.b.bias.tolist() == m.b.bias.tolist()
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "0.bias", "0.weight"'):
        fst.load_model(torch.nn.Sequential(torch.nn.Linear(3, 2)), p)
    missing, unexpected = fst.load_model(torch.nn.Sequential(torch.nn.Linear(3, 2)), p, strict=False)
    assert missing == {"0.weight", "0.bias"} and sorted(unexpected) == ["a.bias", "a.weight", "b.bias"]


# ------------------------------------------------------------------ whole pickled modules
MODEL_FILE = os.path.join(DATA, "torch_whole_model.pt")
# torch.manual_seed(0); Sequential(Linear(3, 4), ReLU(), Linear(4, 2)) applied to this input, in PyTorch 2.13
MODEL_INPUT = [[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]
MODEL_OUTPUT = [[-0.18213798105716705, 0.22740711271762848], [-0.3142385482788086, 0.08567839115858078]]


def test_load_pytorch_whole_model_full_unpickle():
    m = torch.load(MODEL_FILE, weights_only=False)
    assert type(m) is torch.nn.Sequential
    assert [type(c) for c in m] == [torch.nn.Linear, torch.nn.ReLU, torch.nn.Linear]
    assert isinstance(m[0].weight, torch.nn.Parameter) and m[0].weight.requires_grad
    out = m(torch.tensor(MODEL_INPUT))
    assert out.reshape(-1).tolist() == pytest.approx(sum(MODEL_OUTPUT, []), abs=1e-6)


def test_load_pytorch_whole_model_weights_only():
    from ferrotorch import serialization
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(MODEL_FILE)
    safe = [torch.nn.Sequential, torch.nn.Linear, torch.nn.ReLU]
    with serialization.safe_globals(safe):
        m = torch.load(MODEL_FILE, weights_only=True)
    assert [type(c) for c in m] == [torch.nn.Linear, torch.nn.ReLU, torch.nn.Linear]
    assert m(torch.tensor(MODEL_INPUT)).reshape(-1).tolist() == pytest.approx(sum(MODEL_OUTPUT, []), abs=1e-6)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)
        self.act = torch.nn.Tanh()

    def forward(self, x):
        return self.act(self.fc(x))


def test_save_load_whole_ferrotorch_model(tmp_path):
    from ferrotorch import serialization
    p = str(tmp_path / "net.pt")
    net = Net()
    torch.save(net, p)
    x = torch.tensor([[0.5, -1.0]])
    back = torch.load(p, weights_only=False)
    assert type(back) is Net and back(x).tolist() == net(x).tolist()
    with pytest.raises(pickle.UnpicklingError):
        torch.load(p)
    with serialization.safe_globals([Net, torch.nn.Linear, torch.nn.Tanh]):
        back = torch.load(p, weights_only=True)
    assert type(back) is Net and back(x).tolist() == net(x).tolist()


def test_saved_module_names_pytorch_classes(tmp_path):
    """Whole modules are pickled under PyTorch's class paths, so real PyTorch loads them
    (checked by hand with PyTorch 2.13: equal outputs, also under safe_globals)."""
    import zipfile
    p = str(tmp_path / "seq.pt")
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())
    torch.save({"model": m, "fn": torch.nn.functional.relu}, p)
    with zipfile.ZipFile(p) as z:
        pkl = z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])
    assert b"torch.nn.modules.container\nSequential\n" in pkl
    assert b"torch.nn.modules.linear\nLinear\n" in pkl
    assert b"torch.nn.functional\nrelu\n" in pkl
    assert b"ferrotorch" not in pkl
    back = torch.load(p, weights_only=False)
    assert type(back["model"][0]) is torch.nn.Linear and back["fn"] is torch.nn.functional.relu


def test_load_docstring_warns_about_code_execution():
    from ferrotorch import serialization
    doc = serialization.load.__doc__
    assert "weights_only" in doc and "arbitrary code" in doc
