"""ferrotorch.save / ferrotorch.load: PyTorch's zip format both ways, real PyTorch
checkpoints, storage sharing, restricted unpickling, atomic writes."""
import collections
import io
import os
import pickle
import pickletools
import zipfile

import numpy as np
import pytest

import ferrotorch as torch
from ferrotorch import serialization

CKPT = "/work/shared/checkpoints"
MARKER = "/tmp/ferrotorch_checkpoint_ran_code"


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(os.path.join(CKPT, "expected.npz")))


def _np(t):
    t = t.detach()
    if str(t.dtype).endswith("bfloat16"):
        t = t.float()
    return t.numpy()


# --------------------------------------------------------------------------- real PyTorch files
def test_load_seed_cnn_state_dict(expected):
    sd = torch.load(os.path.join(CKPT, "seed_cnn_state_dict.pt"))
    assert isinstance(sd, collections.OrderedDict)
    keys = [k[3:] for k in expected if k.startswith("sd.")]
    assert list(sd.keys()) == keys
    for k in keys:
        assert isinstance(sd[k], torch.Tensor)
        assert sd[k].dtype == torch.float32
        assert tuple(sd[k].shape) == expected["sd." + k].shape
        np.testing.assert_array_equal(_np(sd[k]), expected["sd." + k])
        assert not sd[k].requires_grad
    # the module metadata attribute (used by nn.Module.load_state_dict) survives
    assert sd._metadata[""] == {"version": 1}
    assert sd._metadata["conv1"] == {"version": 1}


def test_seed_cnn_forward_matches_pytorch(expected):
    F = getattr(getattr(torch, "nn", None), "functional", None)
    if F is None or not all(hasattr(F, n) for n in ("conv2d", "relu", "max_pool2d", "linear", "log_softmax")):
        pytest.skip("needs torch.nn.functional")
    sd = torch.load(os.path.join(CKPT, "seed_cnn_state_dict.pt"))
    x = torch.tensor(expected["input"])
    with torch.no_grad():
        h = F.relu(F.conv2d(x, sd["conv1.weight"], sd["conv1.bias"]))
        h = F.relu(F.conv2d(h, sd["conv2.weight"], sd["conv2.bias"]))
        h = F.max_pool2d(h, 2).flatten(1)
        h = F.relu(F.linear(h, sd["fc1.weight"], sd["fc1.bias"]))
        out = F.log_softmax(F.linear(h, sd["fc2.weight"], sd["fc2.bias"]), dim=1)
    np.testing.assert_allclose(out.numpy(), expected["output"], rtol=1e-4, atol=1e-5)


def test_load_lstm_state_dict(expected):
    sd = torch.load(os.path.join(CKPT, "lstm_state_dict.pt"), map_location="cpu")
    keys = [k[5:] for k in expected if k.startswith("lstm.")]
    assert sorted(sd.keys()) == sorted(keys)
    for k in keys:
        np.testing.assert_array_equal(_np(sd[k]), expected["lstm." + k])


def test_load_mixed_checkpoint(expected):
    ck = torch.load(os.path.join(CKPT, "mixed_checkpoint.pt"), weights_only=True)
    assert ck["epoch"] == 7 and isinstance(ck["epoch"], int)
    assert ck["loss"] == 0.25 and ck["name"] == "mlp"
    assert ck["tuple"] == (1, 2.0, "three")
    assert isinstance(ck["nested"], list) and ck["nested"][0]["a"].tolist() == [1.0, 1.0]

    model = ck["model"]
    assert list(model.keys()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert tuple(model["0.weight"].shape) == (3, 4) and tuple(model["2.weight"].shape) == (2, 3)
    np.testing.assert_array_equal(_np(model["2.bias"]), expected["mixed.model.2.bias"])

    opt = ck["optimizer"]
    assert sorted(opt["state"].keys()) == [0, 1, 2, 3]
    st0 = opt["state"][0]
    assert st0["step"].dtype == torch.float32 and st0["step"].dim() == 0 and st0["step"].item() == 1.0
    np.testing.assert_array_equal(_np(st0["exp_avg"]), expected["mixed.optimizer.state.0.exp_avg"])
    g = opt["param_groups"][0]
    assert g["params"] == [0, 1, 2, 3] and g["lr"] == 0.001 and g["betas"] == (0.9, 0.999)
    assert g["amsgrad"] is False and g["foreach"] is None

    bn = ck["bn"]
    np.testing.assert_array_equal(_np(bn["running_mean"]), expected["mixed.bn.running_mean"])
    assert bn["num_batches_tracked"].dtype == torch.int64 and bn["num_batches_tracked"].dim() == 0

    assert ck["ints"].dtype == torch.int64 and ck["ints"].tolist() == [0, 1, 2, 3, 4]
    assert ck["half"].dtype == torch.float16 and ck["half"].tolist() == [1.5, -2.0]
    assert ck["bf16"].dtype == torch.bfloat16 and ck["bf16"].float().tolist() == [1.5, -2.0]
    assert ck["mask"].dtype == torch.bool and ck["mask"].tolist() == [True, False]

    view = ck["view"]
    assert tuple(view.shape) == (3, 2) and tuple(view.stride()) == (4, 1) and view.storage_offset() == 1
    assert not view.is_contiguous()
    np.testing.assert_array_equal(_np(view), expected["mixed.view"])


def test_mixed_checkpoint_loads_into_optimizer():
    ck = torch.load(os.path.join(CKPT, "mixed_checkpoint.pt"))
    params = [t.clone().requires_grad_(True) for t in ck["model"].values()]
    opt = torch.optim.Adam(params, lr=0.001)
    opt.load_state_dict(ck["optimizer"])
    assert opt.state[params[0]]["step"].item() == 1.0
    assert opt.param_groups[0]["params"][0] is params[0]


def test_malicious_checkpoint_is_refused_and_runs_nothing():
    if os.path.exists(MARKER):
        os.remove(MARKER)
    path = os.path.join(CKPT, "malicious_checkpoint.pt")
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(path)
    assert not os.path.exists(MARKER)
    with open(path, "rb") as f:
        with pytest.raises(pickle.UnpicklingError, match="posix.system"):
            torch.load(f)
    assert not os.path.exists(MARKER)


def test_other_forbidden_globals():
    for module, name in [("builtins", "eval"), ("os", "system"), ("subprocess", "Popen"), ("builtins", "getattr")]:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("archive/data.pkl", b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X\x01\x00\x00\x001\x85R.")
            z.writestr("archive/version", b"3\n")
        buf.seek(0)
        with pytest.raises(pickle.UnpicklingError, match=f"{module}.{name}"):
            torch.load(buf)


# --------------------------------------------------------------------------- round trips
def _mixed_object():
    base = torch.tensor(np.arange(24, dtype=np.float32)).reshape(4, 6)
    obj = {
        "base": base,
        "t": base.t(),  # non-contiguous view of the same storage
        "row": base[2],  # view with storage offset
        "narrow": base.narrow(1, 1, 3),
        "bf16": torch.tensor([1.5, -2.25, 3.0]).to(torch.bfloat16),
        "f16": torch.tensor([0.5, 65504.0]).to(torch.float16),
        "f64": torch.tensor([1.0 / 3.0], dtype=torch.float64),
        "i64": torch.tensor([-(2 ** 40), 7]),
        "i32": torch.tensor([1, -2], dtype=torch.int32),
        "i16": torch.tensor([300], dtype=torch.int16),
        "i8": torch.tensor([-5], dtype=torch.int8),
        "u8": torch.tensor([250], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
        "grad": torch.tensor([1.0, 2.0], requires_grad=True),
        "dtype": torch.float16,
        "size": torch.Size([2, 3]),
        "device": torch.device("cpu"),
        "py": [1, 2.5, "s", None, True, (1, "x"), {"k": b"bytes"}, {1, 2}, frozenset([3]), complex(1, 2)],
        "od": collections.OrderedDict([("b", 1), ("a", 2)]),
    }
    return obj


def _check_mixed(r):
    assert r["base"].tolist() == np.arange(24).reshape(4, 6).tolist()
    assert r["t"].tolist() == np.arange(24).reshape(4, 6).T.tolist()
    assert r["row"].tolist() == list(range(12, 18))
    assert r["narrow"].tolist() == np.arange(24).reshape(4, 6)[:, 1:4].tolist()
    assert r["bf16"].dtype == torch.bfloat16 and r["bf16"].float().tolist() == [1.5, -2.25, 3.0]
    assert r["f16"].dtype == torch.float16 and r["f16"].tolist() == [0.5, 65504.0]
    assert r["f64"].dtype == torch.float64 and r["f64"].item() == 1.0 / 3.0
    assert r["i64"].tolist() == [-(2 ** 40), 7] and r["i64"].dtype == torch.int64
    assert r["i32"].dtype == torch.int32 and r["i32"].tolist() == [1, -2]
    assert r["i16"].dtype == torch.int16 and r["i16"].tolist() == [300]
    assert r["i8"].dtype == torch.int8 and r["i8"].tolist() == [-5]
    assert r["u8"].dtype == torch.uint8 and r["u8"].tolist() == [250]
    assert r["bool"].dtype == torch.bool and r["bool"].tolist() == [True, False, True]
    assert r["scalar"].dim() == 0 and r["scalar"].item() == 3.5
    assert tuple(r["empty"].shape) == (0, 3)
    assert r["grad"].requires_grad and r["grad"].is_leaf and not r["base"].requires_grad
    assert r["dtype"] == torch.float16
    assert r["size"] == torch.Size([2, 3]) and isinstance(r["size"], torch.Size)
    assert str(r["device"]) == "cpu"
    assert r["py"] == [1, 2.5, "s", None, True, (1, "x"), {"k": b"bytes"}, {1, 2}, frozenset([3]), complex(1, 2)]
    assert isinstance(r["od"], collections.OrderedDict) and list(r["od"].items()) == [("b", 1), ("a", 2)]
    # views keep sharing one storage after loading
    assert tuple(r["t"].stride()) == (1, 6)
    assert r["row"].storage_offset() == 12
    r["base"].add_(100)
    assert r["t"][0, 1].item() == 106.0
    assert r["row"].tolist()[0] == 112.0
    assert r["narrow"][0, 0].item() == 101.0


def test_round_trip_path(tmp_path):
    p = tmp_path / "mixed.pt"
    torch.save(_mixed_object(), p)
    _check_mixed(torch.load(p))
    _check_mixed(torch.load(str(p), map_location="cpu"))


def test_round_trip_file_objects(tmp_path):
    buf = io.BytesIO()
    torch.save(_mixed_object(), buf)
    buf.seek(0)
    _check_mixed(torch.load(buf))
    with open(tmp_path / "f.pt", "wb") as f:
        torch.save({"x": torch.ones(3)}, f)
    with open(tmp_path / "f.pt", "rb") as f:
        assert torch.load(f)["x"].tolist() == [1.0, 1.0, 1.0]


def test_shared_storage_written_once(tmp_path):
    base = torch.zeros(1000)
    torch.save({"a": base[:10], "b": base[500:], "c": base}, tmp_path / "s.pt")
    z = zipfile.ZipFile(tmp_path / "s.pt")
    data = [n for n in z.namelist() if "/data/" in n]
    assert len(data) == 1 and z.getinfo(data[0]).file_size == 4000
    r = torch.load(tmp_path / "s.pt")
    r["c"].fill_(2.0)
    assert r["a"].tolist() == [2.0] * 10 and r["b"][0].item() == 2.0


def test_file_layout_is_pytorch_compatible(tmp_path):
    t = torch.tensor(np.arange(6, dtype=np.float32)).reshape(2, 3)
    obj = {"w": t, "wt": t.t(), "i": torch.tensor([1, 2]), "bf": torch.ones(2).to(torch.bfloat16)}
    torch.save(obj, tmp_path / "c.pt")
    z = zipfile.ZipFile(tmp_path / "c.pt")
    names = z.namelist()
    prefix = names[0].split("/")[0]
    assert names[0] == f"{prefix}/data.pkl"
    assert z.read(f"{prefix}/byteorder") == b"little"
    assert z.read(f"{prefix}/version").strip() == b"3"
    for info in z.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
    # storage records are 64-byte aligned inside the file, like PyTorch writes them
    for info in z.infolist():
        if "/data/" in info.filename:
            offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            assert offset % 64 == 0
    pkl = z.read(f"{prefix}/data.pkl")
    assert pkl[:2] == b"\x80\x02"  # protocol 2
    globals_seen = set()
    pids = []
    for op, arg, _ in pickletools.genops(pkl):
        if op.name == "GLOBAL":
            globals_seen.add(arg)
    assert "torch._utils _rebuild_tensor_v2" in globals_seen
    assert "torch FloatStorage" in globals_seen
    assert "torch LongStorage" in globals_seen
    assert "torch BFloat16Storage" in globals_seen
    assert "collections OrderedDict" in globals_seen

    # decode the persistent ids with a plain unpickler (as torch.load would)
    class Stub:
        def __init__(self, module, name):
            self.module, self.name = module, name

        def __call__(self, *args):
            return (self.name, args)

    class Reader(pickle.Unpickler):
        def find_class(self, module, name):
            return Stub(module, name)

        def persistent_load(self, pid):
            pids.append(pid)
            return pid

    out = Reader(io.BytesIO(pkl)).load()
    itemsize = {"FloatStorage": 4, "LongStorage": 8, "BFloat16Storage": 2}
    for typename, storage_type, key, location, numel in pids:
        assert typename == "storage" and location == "cpu"
        assert len(z.read(f"{prefix}/data/{key}")) == numel * itemsize[storage_type.name]
    name, args = out["wt"]
    assert name == "_rebuild_tensor_v2"
    storage, offset, size, stride, requires_grad, hooks = args
    assert size == (3, 2) and stride == (1, 3) and offset == 0 and requires_grad is False
    assert storage == out["w"][1][0]  # same storage record as "w"


def test_parameter_round_trip(tmp_path):
    nn = getattr(torch, "nn", None)
    if nn is None or not hasattr(nn, "Parameter"):
        pytest.skip("needs torch.nn.Parameter")
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    torch.save({"p": p}, tmp_path / "p.pt")
    z = zipfile.ZipFile(tmp_path / "p.pt")
    pkl = z.read(z.namelist()[0])
    assert b"_rebuild_parameter" in pkl
    r = torch.load(tmp_path / "p.pt")["p"]
    assert isinstance(r, nn.Parameter) and r.requires_grad and r.tolist() == [1.0, 2.0]


def test_module_state_dict_round_trip(tmp_path):
    nn = getattr(torch, "nn", None)
    if nn is None or not hasattr(nn, "Linear"):
        pytest.skip("needs torch.nn")
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    torch.save(m.state_dict(), tmp_path / "m.pt")
    sd = torch.load(tmp_path / "m.pt")
    m2 = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    m2.load_state_dict(sd)
    for (k1, v1), (k2, v2) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert k1 == k2 and v1.tolist() == v2.tolist()


def test_map_location_variants(tmp_path):
    p = tmp_path / "m.pt"
    torch.save({"x": torch.tensor([1.0, 2.0]), "y": torch.tensor([3])}, p)
    assert torch.load(p, map_location=torch.device("cpu"))["x"].tolist() == [1.0, 2.0]
    assert torch.load(p, map_location={"cpu": "cpu"})["y"].tolist() == [3]
    seen = []

    def fn(storage, location):
        seen.append(location)
        return storage

    assert torch.load(p, map_location=fn)["x"].tolist() == [1.0, 2.0]
    assert seen == ["cpu", "cpu"]
    assert torch.load(p, mmap=True, weights_only=True)["y"].tolist() == [3]


def test_cuda_location_without_cuda_needs_map_location(tmp_path):
    cuda = getattr(torch, "cuda", None)
    if cuda is not None and cuda.is_available():
        pytest.skip("CUDA is available")
    # rewrite a checkpoint so that its storage claims to live on cuda:0
    buf = io.BytesIO()
    torch.save({"x": torch.tensor([1.0, 2.0])}, buf)
    zin = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zout:
        for n in zin.namelist():
            data = zin.read(n)
            if n.endswith("data.pkl"):
                data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
            zout.writestr(n, data)
    out.seek(0)
    with pytest.raises(RuntimeError, match="torch.cuda.is_available\\(\\) is False"):
        torch.load(out)
    out.seek(0)
    assert torch.load(out, map_location="cpu")["x"].tolist() == [1.0, 2.0]


class Custom:
    def __init__(self, v=0):
        self.v = v

    def __eq__(self, other):
        return isinstance(other, Custom) and other.v == self.v


def test_safe_globals(tmp_path):
    p = tmp_path / "c.pt"
    torch.save({"c": Custom(5)}, p)
    with pytest.raises(pickle.UnpicklingError, match="Custom"):
        torch.load(p)
    with serialization.safe_globals([Custom, (__import__("copyreg")._reconstructor, "copyreg._reconstructor"),
                                     (object, "builtins.object")]):
        assert torch.load(p)["c"] == Custom(5)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(p)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    p = tmp_path / "ckpt.pt"
    torch.save({"x": torch.tensor([1.0])}, p)
    before = p.read_bytes()

    class Boom:
        def __reduce__(self):
            raise RuntimeError("cannot pickle this")

    with pytest.raises(RuntimeError, match="cannot pickle this"):
        torch.save({"x": torch.tensor([2.0]), "bad": Boom()}, p)
    assert p.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.pt"]  # no temporary file left behind
    torch.save({"x": torch.tensor([3.0])}, p)
    assert torch.load(p)["x"].tolist() == [3.0]
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_not_a_zip_checkpoint(tmp_path):
    p = tmp_path / "legacy.pt"
    p.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(RuntimeError):
        torch.load(p)
