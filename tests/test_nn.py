"""Tests of ferrotorch.nn: Module machinery, containers, layers, init, utils.

Expected values are computed by hand or with NumPy."""
import copy
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ferrotorch as torch
import ferrotorch.nn as nn
import ferrotorch.nn.functional as F
from ferrotorch.nn.utils.rnn import (
    PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence, unpad_sequence,
)


def npy(t):
    return np.asarray(t.detach().numpy())


def T(a, dtype=np.float32, requires_grad=False):
    t = torch.tensor(np.asarray(a, dtype=dtype))
    if requires_grad:
        t.requires_grad_(True)
    return t


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------- registration

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2)
        self.scale = nn.Parameter(torch.ones(2))
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("tmp", torch.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


def test_registration_and_naming():
    m = Net()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "tmp"]
    assert list(m.state_dict().keys()) == ["scale", "steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert sum(p.numel() for p in m.parameters()) == 4 * 3 + 3 + 3 * 2 + 2 + 2
    assert isinstance(m.fc1.weight, nn.Parameter)
    assert isinstance(m.fc1.weight, torch.Tensor)
    assert m.fc1.weight.requires_grad
    assert not m.steps.requires_grad
    assert "fc1" in dir(m) and "scale" in dir(m)
    assert m.get_submodule("fc2") is m.fc2
    assert m.get_parameter("fc2.bias") is m.fc2.bias
    with pytest.raises(AttributeError):
        m.get_submodule("nothere")
    with pytest.raises(AttributeError):
        m.nothere


def test_parameter_assignment_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError):
        m.weight = torch.zeros(2, 2)  # plain tensor onto a parameter slot
    m.bias = None
    assert m.bias is None
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    m.bias = nn.Parameter(torch.zeros(2))
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    with pytest.raises(KeyError):
        m.register_parameter("a.b", nn.Parameter(torch.zeros(1)))
    with pytest.raises(TypeError):
        m.register_parameter("c", torch.zeros(1))
    with pytest.raises(KeyError):
        m.register_buffer("weight", torch.zeros(1))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(torch.zeros(1))

    with pytest.raises(AttributeError):
        Early()

    # deleting
    del m.bias
    assert "bias" not in dict(m.named_parameters())
    # buffers reassigned through setattr stay buffers
    bn = nn.BatchNorm1d(2)
    bn.running_mean = torch.ones(2)
    assert "running_mean" in dict(bn.named_buffers())
    np.testing.assert_array_equal(npy(bn.state_dict()["running_mean"]), [1, 1])


def test_parameter_basics():
    p = nn.Parameter(torch.zeros(2, 3))
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert tuple(p.shape) == (2, 3)
    q = nn.Parameter(torch.zeros(2), requires_grad=False)
    assert not q.requires_grad
    assert repr(nn.Parameter(torch.tensor([1.0, 2.0]))) == \
        "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    # shares storage with the source tensor
    src = torch.zeros(3)
    p2 = nn.Parameter(src)
    with torch.no_grad():
        p2.add_(1)
    np.testing.assert_array_equal(npy(src), [1, 1, 1])
    # deepcopy and pickle keep the type and values
    p3 = nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))
    c = copy.deepcopy(p3)
    assert type(c) is nn.Parameter and c.requires_grad
    np.testing.assert_array_equal(npy(c), [1, 2, 3])
    with torch.no_grad():
        c.mul_(2)
    np.testing.assert_array_equal(npy(p3), [1, 2, 3])
    u = pickle.loads(pickle.dumps(p3))
    assert type(u) is nn.Parameter and u.requires_grad
    np.testing.assert_array_equal(npy(u), [1, 2, 3])


def test_tied_weights():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3)
            self.out = nn.Linear(3, 5, bias=False)
            self.out.weight = self.emb.weight

    m = Tied()
    assert [n for n, _ in m.named_parameters()] == ["emb.weight"]
    assert [n for n, _ in m.named_parameters(remove_duplicate=False)] == ["emb.weight", "out.weight"]
    assert len(list(m.parameters())) == 1
    sd = m.state_dict()
    assert list(sd.keys()) == ["emb.weight", "out.weight"]
    # both entries alias the same storage
    with torch.no_grad():
        sd["emb.weight"].fill_(2.0)
    np.testing.assert_array_equal(npy(m.out.weight), np.full((5, 3), 2.0, np.float32))
    # shared submodule counted once
    lin = nn.Linear(2, 2)
    s = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(s.parameters())) == 2
    assert [n for n, _ in s.named_modules()] == ["", "0", "1"]
    assert list(s.state_dict().keys()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_state_dict_shares_storage_and_is_detached():
    m = nn.Linear(3, 2)
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict)
    assert not sd["weight"].requires_grad
    assert sd["weight"].grad_fn is None
    with torch.no_grad():
        sd["weight"].zero_()
    np.testing.assert_array_equal(npy(m.weight), np.zeros((2, 3), np.float32))
    kv = m.state_dict(keep_vars=True)
    assert kv["weight"] is m.weight
    sd2 = m.state_dict(prefix="enc.")
    assert list(sd2.keys()) == ["enc.weight", "enc.bias"]


def test_load_state_dict():
    m = nn.Linear(4, 3)
    w_id = id(m.weight)
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.array([1.0, -1.0, 0.5], np.float32)
    res = m.load_state_dict({"weight": T(w), "bias": T(b)})
    assert id(m.weight) == w_id  # copied in place
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    np.testing.assert_array_equal(npy(m.weight), w)
    np.testing.assert_array_equal(npy(m.bias), b)
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert tuple(res) == ([], [])

    # missing key
    with pytest.raises(RuntimeError) as ei:
        m.load_state_dict({"weight": T(w)})
    assert str(ei.value) == 'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". '
    # unexpected key
    with pytest.raises(RuntimeError) as ei:
        m.load_state_dict({"weight": T(w), "bias": T(b), "extra": T([1.0])})
    assert str(ei.value) == \
        'Error(s) in loading state_dict for Linear:\n\tUnexpected key(s) in state_dict: "extra". '
    # size mismatch
    with pytest.raises(RuntimeError) as ei:
        m.load_state_dict({"weight": T(np.zeros((4, 4))), "bias": T(b)})
    assert str(ei.value) == (
        "Error(s) in loading state_dict for Linear:\n\tsize mismatch for weight: copying a param with shape "
        "torch.Size([4, 4]) from checkpoint, the shape in current model is torch.Size([3, 4]).")
    # both missing and unexpected, both listed (missing first)
    with pytest.raises(RuntimeError) as ei:
        m.load_state_dict({"weight": T(w), "bias2": T(b)})
    assert str(ei.value) == (
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". '
        '\n\tUnexpected key(s) in state_dict: "bias2". ')
    # non-strict returns the lists
    res = m.load_state_dict({"weight": T(w * 2), "junk": T([0.0])}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["junk"]
    np.testing.assert_array_equal(npy(m.weight), w * 2)


def test_load_state_dict_nested_and_round_trip():
    a = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    b = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    b.load_state_dict(a.state_dict())
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(npy(va), npy(vb))
    # loading does not alias storage
    with torch.no_grad():
        a[0].weight.fill_(7.0)
    assert not np.allclose(npy(b[0].weight), 7.0)
    with pytest.raises(RuntimeError) as ei:
        b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "2.bias"})
    assert 'Missing key(s) in state_dict: "2.bias".' in str(ei.value)
    assert str(ei.value).startswith("Error(s) in loading state_dict for Sequential:")


def test_load_state_dict_assign():
    m = nn.Linear(2, 2)
    w = torch.ones(2, 2)
    m.load_state_dict({"weight": w, "bias": torch.zeros(2)}, assign=True)
    assert isinstance(m.weight, nn.Parameter)
    with torch.no_grad():
        w.fill_(3.0)
    np.testing.assert_array_equal(npy(m.weight), np.full((2, 2), 3.0, np.float32))


def test_batchnorm_state_dict_and_num_batches_tracked():
    bn = nn.BatchNorm1d(3)
    sd = bn.state_dict()
    assert list(sd.keys()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert sd["num_batches_tracked"].dtype == torch.int64
    assert sd["num_batches_tracked"].dim() == 0
    # old checkpoints without num_batches_tracked load (version < 2 metadata)
    old = OrderedDict((k, v.clone()) for k, v in sd.items() if k != "num_batches_tracked")
    old._metadata = OrderedDict({"": {"version": 1}})
    bn2 = nn.BatchNorm1d(3)
    bn2.load_state_dict(old)
    assert int(bn2.num_batches_tracked) == 0
    # a plain dict has no version metadata: also treated as an old checkpoint, like PyTorch
    res = bn2.load_state_dict({k: v for k, v in sd.items() if k != "num_batches_tracked"})
    assert res.missing_keys == []
    # a current-version state_dict must contain it
    cur = OrderedDict((k, v) for k, v in sd.items() if k != "num_batches_tracked")
    cur._metadata = sd._metadata
    with pytest.raises(RuntimeError) as ei:
        bn2.load_state_dict(cur)
    assert '"num_batches_tracked"' in str(ei.value)


# --------------------------------------------------------------------------- repr

def test_repr_strings():
    assert repr(nn.Linear(4, 3)) == "Linear(in_features=4, out_features=3, bias=True)"
    assert repr(nn.Linear(4, 3, bias=False)) == "Linear(in_features=4, out_features=3, bias=False)"
    assert repr(nn.Conv2d(1, 32, 3)) == "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=False)) == \
        "Conv2d(2, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)"
    assert repr(nn.Conv1d(4, 4, 3, padding="same", groups=2, padding_mode="reflect")) == \
        "Conv1d(4, 4, kernel_size=(3,), stride=(1,), padding=same, groups=2, padding_mode=reflect)"
    assert repr(nn.ConvTranspose2d(3, 2, 3, stride=2, output_padding=1)) == \
        "ConvTranspose2d(3, 2, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1))"
    assert repr(nn.BatchNorm2d(3)) == \
        "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True)"
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25, inplace=False)"
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    assert repr(nn.ReLU6()) == "ReLU6()"
    assert repr(nn.ELU()) == "ELU(alpha=1.0)"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.PReLU()) == "PReLU(num_parameters=1)"
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.AdaptiveAvgPool2d((1, 1))) == "AdaptiveAvgPool2d(output_size=(1, 1))"
    assert repr(nn.Embedding(10, 3, padding_idx=1)) == "Embedding(10, 3, padding_idx=1)"
    assert repr(nn.EmbeddingBag(10, 3)) == "EmbeddingBag(10, 3, mode=mean)"
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)) == \
        "LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)"
    assert repr(nn.GRU(3, 4)) == "GRU(3, 4)"
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity=relu)"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Unflatten(1, (2, 2))) == "Unflatten(dim=1, unflattened_size=(2, 2))"
    assert repr(nn.Identity()) == "Identity()"
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"
    assert repr(nn.ConstantPad1d(2, 3.5)) == "ConstantPad1d(padding=(2, 2), value=3.5)"
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    assert repr(nn.Bilinear(2, 3, 4)) == "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)"


def test_nested_repr():
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Sequential(nn.Flatten(), nn.Linear(8, 3)))
    assert repr(m) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Flatten(start_dim=1, end_dim=-1)\n"
        "    (1): Linear(in_features=8, out_features=3, bias=True)\n"
        "  )\n"
        ")")
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(ml) == (
        "ModuleList(\n"
        "  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n"
        "  (3): ReLU()\n"
        ")")
    assert repr(nn.ModuleList()) == "ModuleList()"
    mha = nn.MultiheadAttention(8, 2)
    assert repr(mha) == (
        "MultiheadAttention(\n"
        "  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)\n"
        ")")
    pl = nn.ParameterList([nn.Parameter(torch.zeros(2, 3))])
    assert repr(pl) == f"ParameterList(  (0): Parameter containing: [{torch.float32} of size 2x3])"

    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)

        def extra_repr(self):
            return "hello"

    assert repr(WithExtra()) == "WithExtra(\n  hello\n  (lin): Linear(in_features=1, out_features=1, bias=True)\n)"


# --------------------------------------------------------------------------- forward maths

def test_linear_forward_backward():
    m = nn.Linear(3, 2)
    w = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]], np.float32)
    b = np.array([0.1, -0.2], np.float32)
    m.load_state_dict({"weight": T(w), "bias": T(b)})
    x = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]], np.float32)
    xt = T(x, requires_grad=True)
    y = m(xt)
    np.testing.assert_allclose(npy(y), x @ w.T + b, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(npy(m.weight.grad), np.ones((2, 2)).T @ x, rtol=1e-6)
    np.testing.assert_allclose(npy(m.bias.grad), [2.0, 2.0])
    np.testing.assert_allclose(npy(xt.grad), np.ones((2, 2)) @ w, rtol=1e-6)


def test_default_init_ranges():
    torch.manual_seed(0)
    lin = nn.Linear(100, 50)
    bound = 1 / math.sqrt(100)
    w = npy(lin.weight)
    assert w.shape == (50, 100)
    assert np.abs(w).max() <= bound + 1e-7
    assert np.abs(w).max() > 0.9 * bound  # actually spans the interval
    assert np.abs(npy(lin.bias)).max() <= bound + 1e-7
    conv = nn.Conv2d(4, 8, 3)
    cb = 1 / math.sqrt(4 * 9)
    assert tuple(conv.weight.shape) == (8, 4, 3, 3)
    assert np.abs(npy(conv.weight)).max() <= cb + 1e-7
    assert np.abs(npy(conv.bias)).max() <= cb + 1e-7
    ct = nn.ConvTranspose2d(3, 6, 3, groups=3)
    assert tuple(ct.weight.shape) == (3, 2, 3, 3)
    bn = nn.BatchNorm2d(3)
    np.testing.assert_array_equal(npy(bn.weight), [1, 1, 1])
    np.testing.assert_array_equal(npy(bn.bias), [0, 0, 0])
    np.testing.assert_array_equal(npy(bn.running_var), [1, 1, 1])
    emb = nn.Embedding(10, 4, padding_idx=2)
    np.testing.assert_array_equal(npy(emb.weight)[2], np.zeros(4))
    assert np.abs(npy(emb.weight)).sum() > 0
    pr = nn.PReLU(3, init=0.1)
    np.testing.assert_allclose(npy(pr.weight), [0.1, 0.1, 0.1], rtol=1e-6)
    lstm = nn.LSTM(3, 4)
    k = 1 / math.sqrt(4)
    for p in lstm.parameters():
        assert np.abs(npy(p)).max() <= k + 1e-7
    mha = nn.MultiheadAttention(8, 2)
    np.testing.assert_array_equal(npy(mha.in_proj_bias), np.zeros(24))
    np.testing.assert_array_equal(npy(mha.out_proj.bias), np.zeros(8))


def test_conv_padding_modes_shapes():
    x = torch.randn(1, 2, 7, 7)
    assert tuple(nn.Conv2d(2, 3, 3, padding="same")(x).shape) == (1, 3, 7, 7)
    assert tuple(nn.Conv2d(2, 3, 3, padding="valid")(x).shape) == (1, 3, 5, 5)
    assert tuple(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect")(x).shape) == (1, 3, 7, 7)
    assert tuple(nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular")(x).shape) == (1, 3, 7, 7)
    assert tuple(nn.Conv2d(2, 4, 3, stride=2, dilation=2, groups=2)(x).shape) == (1, 4, 2, 2)
    ct = nn.ConvTranspose2d(2, 3, 3, stride=2)
    assert tuple(ct(x).shape) == (1, 3, 15, 15)
    assert tuple(ct(x, output_size=[16, 16]).shape) == (1, 3, 16, 16)
    with pytest.raises(ValueError):
        nn.Conv2d(2, 3, 3, stride=2, padding="same")
    with pytest.raises(ValueError):
        nn.Conv2d(3, 3, 3, groups=2)
    # circular padding equals wrapping manually
    conv = nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular", bias=False)
    conv.load_state_dict({"weight": T(np.array([[[1.0, 10.0, 100.0]]]))})
    out = npy(conv(T(np.array([[[1.0, 2.0, 3.0]]]))))
    # out[i] = x[i-1] + 10 x[i] + 100 x[i+1] with wrap-around
    np.testing.assert_allclose(out[0, 0], [3 + 10 + 200, 1 + 20 + 300, 2 + 30 + 100])


def test_batchnorm_training_updates_running_stats():
    bn = nn.BatchNorm1d(2, momentum=0.1)
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]], np.float32)
    y = npy(bn(T(x)))
    mean = x.mean(0)
    var_b = x.var(0)
    var_u = x.var(0, ddof=1)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var_b + 1e-5), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(bn.running_mean), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(npy(bn.running_var), 0.9 + 0.1 * var_u, rtol=1e-5)
    assert int(bn.num_batches_tracked) == 1
    bn(T(x))
    assert int(bn.num_batches_tracked) == 2
    # eval uses running stats
    bn.eval()
    rm, rv = npy(bn.running_mean), npy(bn.running_var)
    y = npy(bn(T(x)))
    np.testing.assert_allclose(y, (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-4, atol=1e-5)
    assert int(bn.num_batches_tracked) == 2

    # momentum=None: cumulative average
    bn = nn.BatchNorm1d(2, momentum=None, affine=False)
    x2 = x * 2
    bn(T(x))
    bn(T(x2))
    np.testing.assert_allclose(npy(bn.running_mean), (x.mean(0) + x2.mean(0)) / 2, rtol=1e-5)
    assert list(bn.state_dict().keys()) == ["running_mean", "running_var", "num_batches_tracked"]
    assert len(list(bn.parameters())) == 0

    # no running stats
    bn = nn.BatchNorm1d(2, track_running_stats=False)
    assert list(bn.state_dict().keys()) == ["weight", "bias"]
    bn.eval()
    np.testing.assert_allclose(npy(bn(T(x))), (x - mean) / np.sqrt(var_b + 1e-5), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError):
        nn.BatchNorm2d(2)(torch.zeros(2, 2))


def test_layernorm_groupnorm_rmsnorm():
    x = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, -2.0, 0.0, 1.0]], np.float32)
    y = npy(nn.LayerNorm(4)(T(x)))
    exp = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, exp, rtol=1e-4, atol=1e-5)
    ln = nn.LayerNorm([2, 4], elementwise_affine=False)
    assert len(list(ln.parameters())) == 0
    gn = nn.GroupNorm(2, 4)
    xg = x.reshape(2, 4, 1)
    yg = npy(gn(T(xg))).reshape(2, 4)
    g = x.reshape(2, 2, 2)
    expg = ((g - g.mean(2, keepdims=True)) / np.sqrt(g.var(2, keepdims=True) + 1e-5)).reshape(2, 4)
    np.testing.assert_allclose(yg, expg, rtol=1e-4, atol=1e-5)
    rms = nn.RMSNorm(4, eps=1e-6)
    yr = npy(rms(T(x)))
    np.testing.assert_allclose(yr, x / np.sqrt((x ** 2).mean(1, keepdims=True) + 1e-6), rtol=1e-4, atol=1e-5)


def test_activation_modules_match_numpy():
    x = np.array([-3.0, -1.0, -0.25, 0.0, 0.5, 2.0, 7.0], np.float32)
    t = T(x)
    checks = [
        (nn.ReLU(), np.maximum(x, 0)),
        (nn.ReLU6(), np.clip(x, 0, 6)),
        (nn.Tanh(), np.tanh(x)),
        (nn.Sigmoid(), sigmoid(x)),
        (nn.Hardtanh(), np.clip(x, -1, 1)),
        (nn.LeakyReLU(0.2), np.where(x > 0, x, 0.2 * x)),
        (nn.ELU(), np.where(x > 0, x, np.exp(x) - 1)),
        (nn.SiLU(), x * sigmoid(x)),
        (nn.Softplus(), np.log1p(np.exp(x))),
        (nn.Softsign(), x / (1 + np.abs(x))),
        (nn.Tanhshrink(), x - np.tanh(x)),
        (nn.Hardshrink(), np.where(np.abs(x) > 0.5, x, 0)),
        (nn.Softshrink(), np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0))),
        (nn.Threshold(0.1, 20.0), np.where(x > 0.1, x, 20.0)),
        (nn.Hardsigmoid(), np.clip(x / 6 + 0.5, 0, 1)),
        (nn.Hardswish(), x * np.clip(x + 3, 0, 6) / 6),
        (nn.Mish(), x * np.tanh(np.log1p(np.exp(x)))),
        (nn.LogSigmoid(), np.log(sigmoid(x))),
        (nn.PReLU(), np.where(x > 0, x, 0.25 * x)),
    ]
    for mod, exp in checks:
        np.testing.assert_allclose(npy(mod(t)), exp, rtol=1e-4, atol=1e-5, err_msg=repr(mod))
    m = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], np.float32)
    e = np.exp(m - m.max(1, keepdims=True))
    sm = e / e.sum(1, keepdims=True)
    np.testing.assert_allclose(npy(nn.Softmax(dim=1)(T(m))), sm, rtol=1e-5)
    np.testing.assert_allclose(npy(nn.LogSoftmax(dim=1)(T(m))), np.log(sm), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(npy(nn.GLU()(T(np.array([1.0, 2.0, 0.0, 3.0])))),
                               [1 * sigmoid(0.0), 2 * sigmoid(3.0)], rtol=1e-5)


def test_loss_modules():
    a = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, 1.5]], np.float32)
    b = np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 0.0]], np.float32)
    np.testing.assert_allclose(float(nn.MSELoss()(T(a), T(b))), ((a - b) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(float(nn.L1Loss(reduction="sum")(T(a), T(b))), np.abs(a - b).sum(), rtol=1e-5)
    np.testing.assert_allclose(npy(nn.MSELoss(reduction="none")(T(a), T(b))), (a - b) ** 2, rtol=1e-5)
    d = np.abs(a - b)
    np.testing.assert_allclose(float(nn.SmoothL1Loss()(T(a), T(b))),
                               np.where(d < 1, 0.5 * d ** 2, d - 0.5).mean(), rtol=1e-5)
    np.testing.assert_allclose(float(nn.HuberLoss(delta=0.5)(T(a), T(b))),
                               np.where(d < 0.5, 0.5 * d ** 2, 0.5 * (d - 0.25)).mean(), rtol=1e-5)
    target = np.array([2, 0])
    logp = a - np.log(np.exp(a).sum(1, keepdims=True))
    ce = -logp[np.arange(2), target].mean()
    tgt = torch.tensor(target)
    np.testing.assert_allclose(float(nn.CrossEntropyLoss()(T(a), tgt)), ce, rtol=1e-5)
    np.testing.assert_allclose(float(nn.NLLLoss()(T(logp), tgt)), ce, rtol=1e-5)
    w = np.array([1.0, 2.0, 3.0], np.float32)
    crit = nn.CrossEntropyLoss(weight=T(w))
    assert "weight" in dict(crit.named_buffers())
    wce = -(w[target] * logp[np.arange(2), target]).sum() / w[target].sum()
    np.testing.assert_allclose(float(crit(T(a), tgt)), wce, rtol=1e-5)
    p = sigmoid(a)
    y = (b > 0).astype(np.float32)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    np.testing.assert_allclose(float(nn.BCELoss()(T(p), T(y))), bce, rtol=1e-4)
    np.testing.assert_allclose(float(nn.BCEWithLogitsLoss()(T(a), T(y))), bce, rtol=1e-4)
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.MSELoss(reduce=False).reduction == "none"


def test_embedding_and_bag():
    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    emb = nn.Embedding.from_pretrained(T(w))
    assert not emb.weight.requires_grad
    idx = torch.tensor(np.array([[0, 3], [1, 1]]))
    np.testing.assert_array_equal(npy(emb(idx)), w[[[0, 3], [1, 1]]])
    emb2 = nn.Embedding.from_pretrained(T(w), freeze=False)
    assert emb2.weight.requires_grad
    bag = nn.EmbeddingBag.from_pretrained(T(w), mode="sum")
    out = bag(torch.tensor(np.array([0, 1, 2, 3])), torch.tensor(np.array([0, 1])))
    np.testing.assert_array_equal(npy(out), np.stack([w[0], w[1:].sum(0)]))


def test_dropout_train_eval():
    torch.manual_seed(0)
    d = nn.Dropout(0.5)
    x = torch.ones(1000)
    y = npy(d(x))
    assert set(np.unique(y).tolist()) <= {0.0, 2.0}
    assert 350 < (y == 0).sum() < 650
    d.eval()
    np.testing.assert_array_equal(npy(d(x)), np.ones(1000))
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


def test_train_eval_propagates():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.BatchNorm1d(2)))
    assert all(s.training for s in m.modules())
    assert m.eval() is m
    assert not any(s.training for s in m.modules())
    m.train()
    assert all(s.training for s in m.modules())
    m.train(False)
    assert not m[1][1].training
    with pytest.raises(ValueError):
        m.train("yes")


# --------------------------------------------------------------------------- containers

def test_sequential_indexing():
    l0, l1, l2 = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(l0, l1, l2)
    assert len(s) == 3
    assert s[0] is l0 and s[-1] is l2 and s[-3] is l0
    with pytest.raises(IndexError):
        s[3]
    sl = s[1:]
    assert isinstance(sl, nn.Sequential) and len(sl) == 2
    assert sl[0] is l1
    assert list(sl._modules.keys()) == ["1", "2"]
    assert list(iter(s)) == [l0, l1, l2]
    s.append(nn.Sigmoid())
    assert len(s) == 4 and isinstance(s[3], nn.Sigmoid)
    s.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in s] == ["Linear", "Tanh", "ReLU", "Linear", "Sigmoid"]
    popped = s.pop(1)
    assert isinstance(popped, nn.Tanh)
    assert [type(m).__name__ for m in s] == ["Linear", "ReLU", "Linear", "Sigmoid"]
    assert list(s._modules.keys()) == ["0", "1", "2", "3"]
    del s[-1]
    assert len(s) == 3
    s[1] = nn.Tanh()
    assert isinstance(s[1], nn.Tanh)
    s2 = s + nn.Sequential(nn.ReLU())
    assert len(s2) == 4 and isinstance(s2[3], nn.ReLU)
    s.extend([nn.ReLU(), nn.ReLU()])
    assert len(s) == 5
    od = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 1, 1)), ("act", nn.ReLU())]))
    assert list(od.state_dict().keys()) == ["conv.weight", "conv.bias"]
    assert od.conv is od[0]
    # forward chains
    seq = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU())
    seq[0].load_state_dict({"weight": T(np.array([[1.0, 0.0], [0.0, -1.0]]))})
    np.testing.assert_array_equal(npy(seq(T(np.array([[2.0, 3.0]])))), [[2.0, 0.0]])


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1), nn.ReLU()])
    ml.append(nn.Tanh())
    ml.extend([nn.Sigmoid()])
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "ReLU", "Tanh", "Sigmoid"]
    assert isinstance(ml[-1], nn.Sigmoid)
    assert len(ml[1:3]) == 2 and isinstance(ml[1:3], nn.ModuleList)
    del ml[0]
    assert list(ml._modules.keys()) == ["0", "1", "2", "3"]
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias"]
    md = nn.ModuleDict({"b": nn.Linear(3, 2), "a": nn.Linear(3, 3)})
    assert list(md.keys()) == ["b", "a"]
    assert "a" in md and len(md) == 2
    md["c"] = nn.ReLU()
    assert list(md) == ["b", "a", "c"]
    assert isinstance(md.pop("c"), nn.ReLU)
    md.update([("d", nn.Tanh())])
    assert list(md.keys()) == ["b", "a", "d"]
    assert list(md.state_dict().keys()) == ["b.weight", "b.bias", "a.weight", "a.bias"]


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(torch.zeros(2)), torch.ones(3)])
    assert len(pl) == 2
    assert isinstance(pl[1], nn.Parameter)  # plain tensors are wrapped
    pl.append(nn.Parameter(torch.zeros(1)))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    assert sum(p.numel() for p in pl.parameters()) == 6
    with pytest.raises(RuntimeError):
        pl()

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = nn.ParameterList([nn.Parameter(torch.zeros(2)) for _ in range(2)])

    assert list(M().state_dict().keys()) == ["ps.0", "ps.1"]
    pd = nn.ParameterDict({"b": nn.Parameter(torch.zeros(1)), "a": torch.ones(2)})
    assert list(pd.keys()) == ["a", "b"]  # a plain dict is sorted, like PyTorch
    assert isinstance(pd["a"], nn.Parameter)
    pd["c"] = nn.Parameter(torch.zeros(3))
    assert "c" in pd and len(pd) == 3
    assert [n for n, _ in pd.named_parameters()] == ["a", "b", "c"]
    assert pd.get("zz") is None
    pd.pop("b")
    assert list(pd.keys()) == ["a", "c"]


# --------------------------------------------------------------------------- hooks

def test_forward_hooks():
    lin = nn.Linear(2, 2, bias=False)
    lin.load_state_dict({"weight": T(np.eye(2))})
    calls = []

    def pre(mod, args):
        calls.append("pre")
        return (args[0] * 2,)

    def post(mod, args, out):
        calls.append("post")
        return out + 1

    h1 = lin.register_forward_pre_hook(pre)
    h2 = lin.register_forward_hook(post)
    x = T(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(npy(lin(x)), [[3.0, 5.0]])
    assert calls == ["pre", "post"]
    h1.remove()
    np.testing.assert_array_equal(npy(lin(x)), [[2.0, 3.0]])
    h2.remove()
    np.testing.assert_array_equal(npy(lin(x)), [[1.0, 2.0]])
    h2.remove()  # removing twice is harmless

    seen = {}

    def kw_hook(mod, args, kwargs, out):
        seen["kwargs"] = dict(kwargs)

    class K(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    k = K()
    k.register_forward_hook(kw_hook, with_kwargs=True)
    k(x, scale=3.0)
    assert seen["kwargs"] == {"scale": 3.0}

    # hooks as context managers
    m = nn.ReLU()
    with m.register_forward_hook(lambda mod, a, o: o * 0):
        assert float(m(T([1.0])).sum()) == 0.0
    assert float(m(T([1.0])).sum()) == 1.0


def test_full_backward_hook():
    lin = nn.Linear(2, 3, bias=False)
    w = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)
    lin.load_state_dict({"weight": T(w)})
    got = {}

    def hook(mod, grad_input, grad_output):
        got["gi"] = [None if g is None else npy(g) for g in grad_input]
        got["go"] = [None if g is None else npy(g) for g in grad_output]
        assert mod is lin

    h = lin.register_full_backward_hook(hook)
    x = T(np.array([[1.0, -1.0]]), requires_grad=True)
    go = np.array([[1.0, 2.0, 3.0]], np.float32)
    lin(x).backward(T(go))
    np.testing.assert_allclose(got["go"][0], go)
    np.testing.assert_allclose(got["gi"][0], go @ w)
    np.testing.assert_allclose(npy(x.grad), go @ w)

    # a hook can replace grad_input
    h.remove()
    lin.zero_grad()
    lin.register_full_backward_hook(lambda m, gi, go_: (gi[0] * 0,))
    x2 = T(np.array([[1.0, -1.0]]), requires_grad=True)
    lin(x2).sum().backward()
    np.testing.assert_array_equal(npy(x2.grad), [[0.0, 0.0]])
    # parameter grads are unaffected
    np.testing.assert_allclose(npy(lin.weight.grad)[0], [1.0, -1.0])


# --------------------------------------------------------------------------- conversion

def test_to_dtype_keeps_parameter_identity():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    w = m[0].weight
    m.double()
    assert m[0].weight is w
    assert w.dtype == torch.float64
    assert isinstance(w, nn.Parameter) and w.requires_grad
    assert m[1].running_mean.dtype == torch.float64
    assert m[1].num_batches_tracked.dtype == torch.int64  # integer buffers keep their dtype
    m.to(torch.float32)
    assert w.dtype == torch.float32
    m.to("cpu")
    m.to(torch.device("cpu"), torch.float64)
    assert w.dtype == torch.float64
    m.to(dtype=torch.float32)
    assert w.dtype == torch.float32
    m.to(torch.zeros(1, dtype=torch.float64))
    assert w.dtype == torch.float64
    m.float()
    assert w.dtype == torch.float32
    with pytest.raises(TypeError):
        m.to(torch.int64)
    out = m(torch.randn(3, 2))
    assert out.dtype == torch.float32


def test_zero_grad_and_requires_grad():
    m = nn.Linear(2, 1)
    m(torch.ones(1, 2)).sum().backward()
    assert m.weight.grad is not None
    m.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(npy(m.weight.grad), [[0.0, 0.0]])
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())


def test_apply_and_deepcopy():
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))

    def init_fn(mod):
        if isinstance(mod, nn.Linear):
            nn.init.constant_(mod.weight, 0.5)
            nn.init.zeros_(mod.bias)

    assert m.apply(init_fn) is m
    np.testing.assert_array_equal(npy(m[1].weight), np.full((2, 2), 0.5, np.float32))
    c = copy.deepcopy(m)
    assert c[0].weight is not m[0].weight
    np.testing.assert_array_equal(npy(c[0].weight), npy(m[0].weight))
    with torch.no_grad():
        c[0].weight.fill_(1.0)
    np.testing.assert_array_equal(npy(m[0].weight), np.full((2, 2), 0.5, np.float32))
    assert [n for n, _ in c.named_parameters()] == [n for n, _ in m.named_parameters()]


def test_custom_module_end_to_end_training():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    x = torch.randn(32, 3)
    y = (x[:, :1] * 2 - x[:, 1:2]).detach()
    loss_fn = nn.MSELoss()
    first = None
    for _ in range(150):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p.sub_(0.1 * p.grad)
        if first is None:
            first = float(loss)
    assert float(loss) < 0.2 * first


# --------------------------------------------------------------------------- init

def test_init_functions_statistics():
    torch.manual_seed(0)
    t = torch.empty(200, 300)
    nn.init.uniform_(t, -2.0, 3.0)
    a = npy(t)
    assert a.min() >= -2.0 and a.max() <= 3.0
    assert abs(a.mean() - 0.5) < 0.05
    assert abs(a.var() - 25 / 12) < 0.1
    nn.init.normal_(t, 1.0, 2.0)
    a = npy(t)
    assert abs(a.mean() - 1.0) < 0.05 and abs(a.std() - 2.0) < 0.05
    nn.init.xavier_uniform_(t)
    bound = math.sqrt(6 / (200 + 300))
    a = npy(t)
    assert np.abs(a).max() <= bound + 1e-6 and np.abs(a).max() > 0.95 * bound
    nn.init.xavier_normal_(t, gain=2.0)
    assert abs(npy(t).std() - 2.0 * math.sqrt(2 / 500)) < 0.005
    nn.init.kaiming_uniform_(t, mode="fan_in", nonlinearity="relu")
    kb = math.sqrt(2.0) * math.sqrt(3 / 300)
    assert np.abs(npy(t)).max() <= kb + 1e-6
    nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    assert abs(npy(t).std() - math.sqrt(2 / 200)) < 0.005
    nn.init.trunc_normal_(t, mean=0.0, std=1.0, a=-0.5, b=0.5)
    a = npy(t)
    assert a.min() >= -0.5 and a.max() <= 0.5 and a.std() > 0.2
    nn.init.constant_(t, 0.3)
    np.testing.assert_allclose(npy(t), 0.3, rtol=1e-6)
    nn.init.ones_(t)
    assert npy(t).min() == 1.0
    nn.init.zeros_(t)
    assert npy(t).max() == 0.0
    e = torch.empty(3, 5)
    nn.init.eye_(e)
    np.testing.assert_array_equal(npy(e), np.eye(3, 5))
    q = torch.empty(6, 4)
    nn.init.orthogonal_(q)
    qa = npy(q).astype(np.float64)
    np.testing.assert_allclose(qa.T @ qa, np.eye(4), atol=1e-5)
    q2 = torch.empty(3, 5)
    nn.init.orthogonal_(q2, gain=2.0)
    qa = npy(q2).astype(np.float64)
    np.testing.assert_allclose(qa @ qa.T, 4 * np.eye(3), atol=1e-4)
    d = torch.empty(4, 2, 3)
    nn.init.dirac_(d)
    exp = np.zeros((4, 2, 3))
    exp[0, 0, 1] = 1
    exp[1, 1, 1] = 1
    np.testing.assert_array_equal(npy(d), exp)
    s = torch.empty(10, 4)
    nn.init.sparse_(s, sparsity=0.3)
    assert ((npy(s) == 0).sum(0) >= 3).all()
    # init functions don't record autograd history and keep the leaf property
    p = nn.Parameter(torch.empty(3, 3))
    nn.init.kaiming_uniform_(p, a=math.sqrt(5))
    assert p.is_leaf and p.grad_fn is None


def test_calculate_gain_and_fans():
    assert nn.init.calculate_gain("linear") == 1
    assert nn.init.calculate_gain("sigmoid") == 1
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert nn.init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert nn.init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ValueError):
        nn.init.calculate_gain("nope")
    assert nn.init._calculate_fan_in_and_fan_out(torch.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError):
        nn.init._calculate_fan_in_and_fan_out(torch.empty(5))


# --------------------------------------------------------------------------- utils

def test_clip_grad_norm():
    p1 = nn.Parameter(torch.zeros(2))
    p2 = nn.Parameter(torch.zeros(2, 2))
    g1 = np.array([3.0, 4.0], np.float32)
    g2 = np.array([[1.0, 2.0], [2.0, 0.0]], np.float32)
    p1.grad = T(g1)
    p2.grad = T(g2)
    total = math.sqrt((g1 ** 2).sum() + (g2 ** 2).sum())
    norm = nn.utils.clip_grad_norm_((p for p in [p1, p2]), max_norm=1.0)  # a generator
    assert isinstance(norm, torch.Tensor) and norm.dim() == 0
    np.testing.assert_allclose(float(norm), total, rtol=1e-5)
    coef = 1.0 / (total + 1e-6)
    np.testing.assert_allclose(npy(p1.grad), g1 * coef, rtol=1e-5)
    np.testing.assert_allclose(npy(p2.grad), g2 * coef, rtol=1e-5)
    new_total = math.sqrt(float((npy(p1.grad) ** 2).sum() + (npy(p2.grad) ** 2).sum()))
    np.testing.assert_allclose(new_total, 1.0, rtol=1e-4)
    # below the threshold nothing changes; a single tensor is accepted
    p1.grad = T(g1)
    n = nn.utils.clip_grad_norm_(p1, max_norm=10.0)
    np.testing.assert_allclose(float(n), 5.0, rtol=1e-6)
    np.testing.assert_allclose(npy(p1.grad), g1, rtol=1e-6)
    # inf norm
    p1.grad = T(g1)
    n = nn.utils.clip_grad_norm_([p1], max_norm=2.0, norm_type=float("inf"))
    np.testing.assert_allclose(float(n), 4.0)
    np.testing.assert_allclose(npy(p1.grad), g1 * 2.0 / (4.0 + 1e-6), rtol=1e-5)
    # 1-norm
    p1.grad = T(g1)
    n = nn.utils.clip_grad_norm_([p1], max_norm=100.0, norm_type=1)
    np.testing.assert_allclose(float(n), 7.0, rtol=1e-6)
    # non-finite
    p1.grad = T([float("nan"), 1.0])
    with pytest.raises(RuntimeError):
        nn.utils.clip_grad_norm_([p1], 1.0, error_if_nonfinite=True)
    # no grads
    p3 = nn.Parameter(torch.zeros(2))
    assert float(nn.utils.clip_grad_norm_([p3], 1.0)) == 0.0


def test_clip_grad_value_and_vector_conversion():
    p = nn.Parameter(torch.zeros(4))
    p.grad = T([-3.0, -0.5, 0.5, 3.0])
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(npy(p.grad), [-1.0, -0.5, 0.5, 1.0])
    m = nn.Linear(2, 3)
    vec = nn.utils.parameters_to_vector(m.parameters())
    assert tuple(vec.shape) == (9,)
    np.testing.assert_array_equal(npy(vec)[:6], npy(m.weight).ravel())
    new = T(np.arange(9, dtype=np.float32))
    nn.utils.vector_to_parameters(new, m.parameters())
    np.testing.assert_array_equal(npy(m.weight), np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(npy(m.bias), [6, 7, 8])
    assert isinstance(m.weight, nn.Parameter)
    with pytest.raises(TypeError):
        nn.utils.vector_to_parameters([1, 2], m.parameters())


def test_pack_padded_round_trip():
    T_, B = 4, 3
    x = np.arange(T_ * B * 2, dtype=np.float32).reshape(T_, B, 2)
    lengths = [4, 2, 1]
    packed = pack_padded_sequence(T(x), lengths)
    assert isinstance(packed, PackedSequence)
    assert packed.batch_sizes.tolist() == [3, 2, 1, 1]
    assert packed.sorted_indices is None and packed.unsorted_indices is None
    exp = np.concatenate([x[0, :3], x[1, :2], x[2, :1], x[3, :1]])
    np.testing.assert_array_equal(npy(packed.data), exp)
    padded, lens = pad_packed_sequence(packed)
    assert lens.tolist() == lengths
    assert lens.dtype == torch.int64
    want = x.copy()
    for b, L in enumerate(lengths):
        want[L:, b] = 0
    np.testing.assert_array_equal(npy(padded), want)
    padded2, _ = pad_packed_sequence(packed, batch_first=True, padding_value=-1.0, total_length=6)
    assert tuple(padded2.shape) == (3, 6, 2)
    assert npy(padded2)[2, 1, 0] == -1.0
    np.testing.assert_array_equal(npy(padded2)[0, :4], x[:, 0])
    with pytest.raises(ValueError):
        pad_packed_sequence(packed, total_length=2)
    with pytest.raises(RuntimeError):
        pack_padded_sequence(T(x), [1, 2, 4])


def test_pack_unsorted_and_pack_sequence():
    xb = np.arange(3 * 4 * 1, dtype=np.float32).reshape(3, 4, 1)  # batch first
    lengths = torch.tensor(np.array([2, 4, 3]))
    packed = pack_padded_sequence(T(xb), lengths, batch_first=True, enforce_sorted=False)
    assert packed.sorted_indices.tolist() == [1, 2, 0]
    assert packed.unsorted_indices.tolist() == [2, 0, 1]
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1]
    padded, lens = pad_packed_sequence(packed, batch_first=True)
    assert lens.tolist() == [2, 4, 3]
    want = xb.copy()
    for b, L in enumerate([2, 4, 3]):
        want[b, L:] = 0
    np.testing.assert_array_equal(npy(padded), want)

    seqs = [T([1.0, 2.0, 3.0]), T([4.0, 5.0]), T([6.0])]
    ps = pack_sequence(seqs)
    np.testing.assert_array_equal(npy(ps.data), [1, 4, 6, 2, 5, 3])
    assert ps.batch_sizes.tolist() == [3, 2, 1]
    pad = pad_sequence(seqs, batch_first=True)
    np.testing.assert_array_equal(npy(pad), [[1, 2, 3], [4, 5, 0], [6, 0, 0]])
    pad_t = pad_sequence(seqs, padding_value=9.0)
    np.testing.assert_array_equal(npy(pad_t), [[1, 4, 6], [2, 5, 9], [3, 9, 9]])
    left = pad_sequence(seqs, batch_first=True, padding_side="left")
    np.testing.assert_array_equal(npy(left), [[1, 2, 3], [0, 4, 5], [0, 0, 6]])
    un = unpad_sequence(pad, torch.tensor(np.array([3, 2, 1])), batch_first=True)
    assert [npy(u).tolist() for u in un] == [[1, 2, 3], [4, 5], [6]]
    with pytest.raises(RuntimeError):
        pack_sequence([T([1.0]), T([1.0, 2.0])])
    ps2 = pack_sequence([T([1.0]), T([1.0, 2.0])], enforce_sorted=False)
    assert ps2.batch_sizes.tolist() == [2, 1]


# --------------------------------------------------------------------------- recurrent

def _np_rnn(x, h0, wih, whh, bih, bhh, act):
    h = h0
    outs = []
    for t in range(x.shape[0]):
        h = act(x[t] @ wih.T + bih + h @ whh.T + bhh)
        outs.append(h)
    return np.stack(outs), h


def _np_lstm(x, h0, c0, wih, whh, bih, bhh, reverse=False):
    h, c = h0, c0
    T_ = x.shape[0]
    outs = [None] * T_
    order = range(T_ - 1, -1, -1) if reverse else range(T_)
    for t in order:
        g = x[t] @ wih.T + bih + h @ whh.T + bhh
        i, f, gg, o = np.split(g, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(gg)
        h = sigmoid(o) * np.tanh(c)
        outs[t] = h
    return np.stack(outs), h, c


def _np_gru(x, h0, wih, whh, bih, bhh):
    h = h0
    outs = []
    for t in range(x.shape[0]):
        gi = x[t] @ wih.T + bih
        gh = h @ whh.T + bhh
        ir, iz, in_ = np.split(gi, 3, axis=1)
        hr, hz, hn = np.split(gh, 3, axis=1)
        r = sigmoid(ir + hr)
        z = sigmoid(iz + hz)
        n = np.tanh(in_ + r * hn)
        h = (1 - z) * n + z * h
        outs.append(h)
    return np.stack(outs), h


def _p(m, name):
    return npy(getattr(m, name)).astype(np.float64)


def test_rnn_shapes_and_names():
    rnn = nn.RNN(3, 5, num_layers=2)
    assert [n for n, _ in rnn.named_parameters()] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]
    assert tuple(rnn.weight_ih_l1.shape) == (5, 5)
    out, h = rnn(torch.randn(7, 2, 3))
    assert tuple(out.shape) == (7, 2, 5) and tuple(h.shape) == (2, 2, 5)
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    assert tuple(lstm.weight_ih_l0.shape) == (16, 3)
    assert tuple(lstm.weight_ih_l1_reverse.shape) == (16, 8)
    assert sum(p.numel() for p in lstm.parameters()) == 736
    out, (h, c) = lstm(torch.randn(2, 6, 3))
    assert tuple(out.shape) == (2, 6, 8)
    assert tuple(h.shape) == (4, 2, 4) and tuple(c.shape) == (4, 2, 4)
    gru = nn.GRU(3, 4, bias=False)
    assert [n for n, _ in gru.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    out, h = gru(torch.randn(5, 3))  # unbatched
    assert tuple(out.shape) == (5, 4) and tuple(h.shape) == (1, 4)
    out, h = gru(torch.randn(5, 3), torch.zeros(1, 4))
    assert tuple(h.shape) == (1, 4)
    lp = nn.LSTM(3, 6, proj_size=2)
    assert tuple(lp.weight_hr_l0.shape) == (2, 6) and tuple(lp.weight_hh_l0.shape) == (24, 2)
    out, (h, c) = lp(torch.randn(4, 2, 3))
    assert tuple(out.shape) == (4, 2, 2) and tuple(h.shape) == (1, 2, 2) and tuple(c.shape) == (1, 2, 6)
    with pytest.raises(RuntimeError):
        nn.LSTM(3, 4)(torch.randn(5, 2, 7))
    with pytest.raises(RuntimeError):
        nn.GRU(3, 4)(torch.randn(5, 2, 3), torch.zeros(1, 3, 4))


def test_rnn_matches_numpy():
    torch.manual_seed(1)
    rnn = nn.RNN(3, 4, nonlinearity="relu", batch_first=True)
    x = np.random.RandomState(0).randn(2, 5, 3).astype(np.float32)
    h0 = np.random.RandomState(1).randn(1, 2, 4).astype(np.float32)
    out, h = rnn(T(x), T(h0))
    eo, eh = _np_rnn(x.transpose(1, 0, 2).astype(np.float64), h0[0], _p(rnn, "weight_ih_l0"),
                     _p(rnn, "weight_hh_l0"), _p(rnn, "bias_ih_l0"), _p(rnn, "bias_hh_l0"),
                     lambda v: np.maximum(v, 0))
    np.testing.assert_allclose(npy(out), eo.transpose(1, 0, 2), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(h)[0], eh, rtol=1e-4, atol=1e-5)


def test_lstm_bidirectional_matches_numpy():
    torch.manual_seed(2)
    lstm = nn.LSTM(3, 4, bidirectional=True)
    x = np.random.RandomState(3).randn(5, 2, 3).astype(np.float64)
    out, (h, c) = lstm(T(x))
    z = np.zeros((2, 4))
    f_out, f_h, f_c = _np_lstm(x, z, z, _p(lstm, "weight_ih_l0"), _p(lstm, "weight_hh_l0"),
                               _p(lstm, "bias_ih_l0"), _p(lstm, "bias_hh_l0"))
    b_out, b_h, b_c = _np_lstm(x, z, z, _p(lstm, "weight_ih_l0_reverse"), _p(lstm, "weight_hh_l0_reverse"),
                               _p(lstm, "bias_ih_l0_reverse"), _p(lstm, "bias_hh_l0_reverse"), reverse=True)
    np.testing.assert_allclose(npy(out), np.concatenate([f_out, b_out], 2), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(h), np.stack([f_h, b_h]), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(c), np.stack([f_c, b_c]), rtol=1e-4, atol=1e-5)
    # gradients flow to every parameter and the input
    xt = T(x, requires_grad=True)
    o, _ = lstm(xt)
    o.sum().backward()
    assert xt.grad is not None and tuple(xt.grad.shape) == (5, 2, 3)
    assert all(p.grad is not None for p in lstm.parameters())


def test_gru_and_cells_match_numpy():
    torch.manual_seed(3)
    gru = nn.GRU(3, 4)
    x = np.random.RandomState(4).randn(6, 2, 3)
    h0 = np.random.RandomState(5).randn(1, 2, 4)
    out, h = gru(T(x), T(h0))
    eo, eh = _np_gru(x, h0[0], _p(gru, "weight_ih_l0"), _p(gru, "weight_hh_l0"), _p(gru, "bias_ih_l0"),
                     _p(gru, "bias_hh_l0"))
    np.testing.assert_allclose(npy(out), eo, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(h)[0], eh, rtol=1e-4, atol=1e-5)

    cell = nn.GRUCell(3, 4)
    hx = cell(T(x[0]), T(h0[0]))
    _, eh = _np_gru(x[:1], h0[0], _p(cell, "weight_ih"), _p(cell, "weight_hh"), _p(cell, "bias_ih"),
                    _p(cell, "bias_hh"))
    np.testing.assert_allclose(npy(hx), eh, rtol=1e-4, atol=1e-5)
    lc = nn.LSTMCell(3, 4)
    h1, c1 = lc(T(x[0]))
    _, eh, ec = _np_lstm(x[:1], np.zeros((2, 4)), np.zeros((2, 4)), _p(lc, "weight_ih"), _p(lc, "weight_hh"),
                         _p(lc, "bias_ih"), _p(lc, "bias_hh"))
    np.testing.assert_allclose(npy(h1), eh, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(c1), ec, rtol=1e-4, atol=1e-5)
    rc = nn.RNNCell(3, 4)
    r = rc(T(x[0][0]))  # unbatched
    assert tuple(r.shape) == (4,)
    exp = np.tanh(x[0][0] @ _p(rc, "weight_ih").T + _p(rc, "bias_ih") + _p(rc, "bias_hh"))
    np.testing.assert_allclose(npy(r), exp, rtol=1e-4, atol=1e-5)


def test_lstm_packed_equals_individual_runs():
    torch.manual_seed(4)
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True)
    rs = np.random.RandomState(6)
    lengths = [3, 5, 2]
    seqs = [rs.randn(L, 2).astype(np.float32) for L in lengths]
    padded = pad_sequence([T(s) for s in seqs])
    packed = pack_padded_sequence(padded, lengths, enforce_sorted=False)
    out_p, (h_p, c_p) = lstm(packed)
    assert isinstance(out_p, PackedSequence)
    out_pad, lens = pad_packed_sequence(out_p)
    assert lens.tolist() == lengths
    for b, s in enumerate(seqs):
        o, (h, c) = lstm(T(s[:, None, :]))
        np.testing.assert_allclose(npy(out_pad)[:lengths[b], b], npy(o)[:, 0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(npy(out_pad)[lengths[b]:, b], 0.0)
        np.testing.assert_allclose(npy(h_p)[:, b], npy(h)[:, 0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(npy(c_p)[:, b], npy(c)[:, 0], rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- attention / transformer

def test_multihead_attention_matches_numpy():
    torch.manual_seed(5)
    E, H, L, S, N = 8, 2, 3, 4, 2
    mha = nn.MultiheadAttention(E, H)
    rs = np.random.RandomState(7)
    q = rs.randn(L, N, E)
    k = rs.randn(S, N, E)
    v = rs.randn(S, N, E)
    out, w = mha(T(q), T(k), T(v))
    assert tuple(out.shape) == (L, N, E) and tuple(w.shape) == (N, L, S)
    W = _p(mha, "in_proj_weight")
    bias = _p(mha, "in_proj_bias")
    Wo, bo = npy(mha.out_proj.weight).astype(np.float64), npy(mha.out_proj.bias).astype(np.float64)
    qp = q @ W[:E].T + bias[:E]
    kp = k @ W[E:2 * E].T + bias[E:2 * E]
    vp = v @ W[2 * E:].T + bias[2 * E:]
    hd = E // H
    outs = np.zeros((L, N, E))
    weights = np.zeros((N, H, L, S))
    for n in range(N):
        for h in range(H):
            sl = slice(h * hd, (h + 1) * hd)
            sc = qp[:, n, sl] @ kp[:, n, sl].T / math.sqrt(hd)
            sc = np.exp(sc - sc.max(1, keepdims=True))
            a = sc / sc.sum(1, keepdims=True)
            weights[n, h] = a
            outs[:, n, sl] = a @ vp[:, n, sl]
    exp = outs @ Wo.T + bo
    np.testing.assert_allclose(npy(out), exp, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(w), weights.mean(1), rtol=1e-4, atol=1e-5)
    _, w_all = mha(T(q), T(k), T(v), average_attn_weights=False)
    assert tuple(w_all.shape) == (N, H, L, S)
    out2, w2 = mha(T(q), T(k), T(v), need_weights=False)
    assert w2 is None
    np.testing.assert_allclose(npy(out2), exp, rtol=1e-4, atol=1e-5)
    # batch_first gives the same numbers transposed
    mha_bf = nn.MultiheadAttention(E, H, batch_first=True)
    mha_bf.load_state_dict(mha.state_dict())
    out_bf, _ = mha_bf(T(q.transpose(1, 0, 2)), T(k.transpose(1, 0, 2)), T(v.transpose(1, 0, 2)))
    np.testing.assert_allclose(npy(out_bf), exp.transpose(1, 0, 2), rtol=1e-4, atol=1e-5)
    # key padding mask: masked keys get zero weight
    kpm = torch.tensor(np.array([[False, False, True, True], [False, False, False, False]]))
    _, wm = mha(T(q), T(k), T(v), key_padding_mask=kpm)
    np.testing.assert_allclose(npy(wm)[0, :, 2:], 0.0, atol=1e-7)


def test_transformer_layers_shapes_and_state_dict():
    enc_layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    assert list(enc_layer.state_dict().keys()) == [
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
        "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
        "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]
    enc = nn.TransformerEncoder(enc_layer, num_layers=2)
    assert enc.layers[0] is not enc.layers[1]
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    x = torch.randn(5, 3, 8)
    assert tuple(enc(x).shape) == (5, 3, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    m = npy(mask)
    assert m[0, 1] == -np.inf and m[1, 0] == 0 and m[2, 2] == 0
    assert tuple(enc(x, mask=mask).shape) == (5, 3, 8)
    dec_layer = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True,
                                           norm_first=True, activation="gelu")
    assert dec_layer.activation is F.gelu
    dec = nn.TransformerDecoder(dec_layer, num_layers=2, norm=nn.LayerNorm(8))
    tgt = torch.randn(3, 4, 8)
    mem = torch.randn(3, 5, 8)
    assert tuple(dec(tgt, mem).shape) == (3, 4, 8)
    tr = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16,
                        dropout=0.0)
    out = tr(torch.randn(5, 2, 8), torch.randn(4, 2, 8))
    assert tuple(out.shape) == (4, 2, 8)
    # the layer output equals the documented post-norm formula
    el = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    src = torch.randn(4, 2, 8)
    sa = el.self_attn(src, src, src, need_weights=False)[0]
    h = el.norm1(src + sa)
    exp = el.norm2(h + el.linear2(F.relu(el.linear1(h))))
    np.testing.assert_allclose(npy(el(src)), npy(exp), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- misc layers

def test_misc_layers():
    x = T(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert tuple(nn.Flatten()(x).shape) == (2, 12)
    assert tuple(nn.Flatten(0)(x).shape) == (24,)
    assert tuple(nn.Unflatten(2, (2, 2))(x).shape) == (2, 3, 2, 2)
    assert nn.Identity(3, foo=1)(x) is x
    img = T(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    np.testing.assert_array_equal(npy(nn.MaxPool2d(2)(img)), [[[[5, 7], [13, 15]]]])
    np.testing.assert_array_equal(npy(nn.AvgPool2d(2)(img)), [[[[2.5, 4.5], [10.5, 12.5]]]])
    np.testing.assert_array_equal(npy(nn.AdaptiveAvgPool2d(1)(img)), [[[[7.5]]]])
    out, idx = nn.MaxPool2d(2, return_indices=True)(img)
    np.testing.assert_array_equal(npy(idx), [[[[5, 7], [13, 15]]]])
    np.testing.assert_array_equal(npy(nn.ZeroPad2d((1, 0, 0, 0))(img))[0, 0, 0], [0, 0, 1, 2, 3])
    np.testing.assert_array_equal(npy(nn.ReflectionPad1d(1)(T([[[1.0, 2.0, 3.0]]]))), [[[2, 1, 2, 3, 2]]])
    np.testing.assert_array_equal(npy(nn.ReplicationPad1d(1)(T([[[1.0, 2.0, 3.0]]]))), [[[1, 1, 2, 3, 3]]])
    ps = nn.PixelShuffle(2)(T(np.arange(8, dtype=np.float32).reshape(1, 4, 1, 2)))
    assert tuple(ps.shape) == (1, 1, 2, 4)
    np.testing.assert_array_equal(npy(ps)[0, 0], [[0, 2, 1, 3], [4, 6, 5, 7]])
    np.testing.assert_array_equal(npy(nn.PixelUnshuffle(2)(ps)), np.arange(8).reshape(1, 4, 1, 2))
    up = nn.Upsample(scale_factor=2, mode="nearest")(T([[[1.0, 2.0]]]))
    np.testing.assert_array_equal(npy(up), [[[1, 1, 2, 2]]])
    a = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]], np.float32)
    b = np.array([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]], np.float32)
    np.testing.assert_allclose(npy(nn.CosineSimilarity()(T(a), T(b))), [0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(npy(nn.PairwiseDistance()(T(a), T(b))),
                               np.sqrt(((a - b + 1e-6) ** 2).sum(1)), rtol=1e-5)
    bil = nn.Bilinear(2, 3, 1, bias=False)
    W = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    bil.load_state_dict({"weight": T(W)})
    x1 = np.array([[1.0, 2.0]], np.float32)
    x2 = np.array([[1.0, 0.0, -1.0]], np.float32)
    np.testing.assert_allclose(npy(bil(T(x1), T(x2))), [[x1[0] @ W[0] @ x2[0]]])


def test_lazy_linear():
    m = nn.LazyLinear(3)
    y = m(torch.randn(2, 5))
    assert tuple(y.shape) == (2, 3)
    assert type(m) is nn.Linear
    assert tuple(m.weight.shape) == (3, 5) and m.in_features == 5
    assert type(m.weight) is nn.Parameter


# --------------------------------------------------------------------------- more module machinery

def test_named_members_options_and_buffers_none():
    m = Net()
    assert [n for n, _ in m.named_parameters(prefix="net")][:2] == ["net.scale", "net.fc1.weight"]
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in m.named_buffers(recurse=False)] == ["steps", "tmp"]
    m.register_buffer("nothing", None)
    assert "nothing" not in m.state_dict()
    assert m.nothing is None
    m.nothing = torch.ones(1)  # assigning a tensor to a registered buffer name keeps it a buffer
    assert "nothing" in m.state_dict()
    assert [n for n, _ in m.named_modules(prefix="root")] == ["root", "root.fc1", "root.act", "root.fc2"]

    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError):
        NoForward()(torch.ones(1))


def test_module_pickle_round_trip():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    m[1](torch.randn(4, 2))
    m2 = pickle.loads(pickle.dumps(m))
    assert repr(m2) == repr(m)
    for (k1, v1), (k2, v2) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert k1 == k2
        np.testing.assert_array_equal(npy(v1), npy(v2))
    assert isinstance(m2[0].weight, nn.Parameter) and m2[0].weight.requires_grad
    assert int(m2[1].num_batches_tracked) == 1
    out = m2(torch.randn(5, 3))
    assert tuple(out.shape) == (5, 2)


def test_backward_hooks_more():
    # two inputs: grad_input has one entry per positional input
    bil = nn.Bilinear(2, 2, 1, bias=False)
    bil.load_state_dict({"weight": T(np.array([[[1.0, 2.0], [3.0, 4.0]]]))})
    seen = {}
    bil.register_full_backward_hook(lambda m, gi, go: seen.update(gi=[npy(g) for g in gi], go=npy(go[0])))
    x1 = T([[1.0, 1.0]], requires_grad=True)
    x2 = T([[2.0, -1.0]], requires_grad=True)
    bil(x1, x2).sum().backward()
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(seen["gi"][0], [W @ np.array([2.0, -1.0])])
    np.testing.assert_allclose(seen["gi"][1], [np.array([1.0, 1.0]) @ W])
    np.testing.assert_allclose(seen["go"], [[1.0]])

    # input that does not require grad: grad_input is (None,)
    lin = nn.Linear(2, 1)
    got = []
    lin.register_full_backward_hook(lambda m, gi, go: got.append((gi, npy(go[0]))))
    lin(torch.ones(3, 2)).sum().backward()
    assert len(got) == 1 and got[0][0] == (None,)
    np.testing.assert_allclose(got[0][1], np.ones((3, 1)))

    # backward pre-hook can rescale grad_output
    lin2 = nn.Linear(2, 2, bias=False)
    lin2.load_state_dict({"weight": T(np.eye(2))})
    lin2.register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
    x = T([[1.0, 2.0]], requires_grad=True)
    lin2(x).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [[3.0, 3.0]])
    np.testing.assert_allclose(npy(lin2.weight.grad), [[3.0, 6.0], [3.0, 6.0]])


def test_global_forward_hook():
    calls = []
    h = nn.modules.module.register_module_forward_hook(lambda m, i, o: calls.append(type(m).__name__))
    try:
        nn.Sequential(nn.ReLU(), nn.Tanh())(torch.ones(2))
    finally:
        h.remove()
    assert calls == ["ReLU", "Tanh", "Sequential"]
    nn.ReLU()(torch.ones(2))
    assert len(calls) == 3


def test_conv_same_padding_even_kernel():
    conv = nn.Conv1d(1, 1, 4, padding="same", bias=False)
    w = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    conv.load_state_dict({"weight": T(w.reshape(1, 1, 4))})
    x = np.array([1.0, -1.0, 2.0, 0.5, 3.0], np.float32)
    out = npy(conv(T(x.reshape(1, 1, 5))))[0, 0]
    xp = np.concatenate([[0.0], x, [0.0, 0.0]])  # total padding 3: 1 left, 2 right
    exp = np.array([xp[i:i + 4] @ w for i in range(5)])
    np.testing.assert_allclose(out, exp, rtol=1e-6)


def test_instance_norm_and_embedding_bag_numpy():
    rs = np.random.RandomState(0)
    x = rs.randn(2, 3, 5).astype(np.float32)
    y = npy(nn.InstanceNorm1d(3)(T(x)))
    exp = (x - x.mean(2, keepdims=True)) / np.sqrt(x.var(2, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, exp, rtol=1e-4, atol=1e-5)
    assert list(nn.InstanceNorm1d(3).state_dict().keys()) == []
    assert list(nn.InstanceNorm1d(3, affine=True, track_running_stats=True).state_dict().keys()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    w = rs.randn(6, 2).astype(np.float32)
    idx = np.array([1, 2, 4, 5, 4, 3])
    off = np.array([0, 2, 5])
    bags = [idx[0:2], idx[2:5], idx[5:]]
    for mode, red in (("sum", np.sum), ("mean", np.mean), ("max", np.max)):
        bag = nn.EmbeddingBag.from_pretrained(T(w), mode=mode)
        out = npy(bag(torch.tensor(idx), torch.tensor(off)))
        np.testing.assert_allclose(out, np.stack([red(w[b], 0) for b in bags]), rtol=1e-5, err_msg=mode)


def test_more_loss_modules_numpy():
    rs = np.random.RandomState(1)
    a = rs.randn(3, 4).astype(np.float32)
    b = rs.randn(3, 4).astype(np.float32)
    s = np.sign(rs.randn(3, 4)).astype(np.float32)
    np.testing.assert_allclose(float(nn.SoftMarginLoss()(T(a), T(s))), np.log1p(np.exp(-s * a)).mean(), rtol=1e-5)
    np.testing.assert_allclose(float(nn.KLDivLoss(reduction="sum")(T(a), T(np.exp(b)))),
                               (np.exp(b) * (b - a)).sum(), rtol=1e-4)
    np.testing.assert_allclose(float(nn.KLDivLoss(reduction="batchmean", log_target=True)(T(a), T(b))),
                               (np.exp(b) * (b - a)).sum() / 3, rtol=1e-4)
    y = np.sign(rs.randn(4)).astype(np.float32)
    x1, x2 = rs.randn(4).astype(np.float32), rs.randn(4).astype(np.float32)
    np.testing.assert_allclose(float(nn.MarginRankingLoss(0.5)(T(x1), T(x2), T(y))),
                               np.maximum(0, -y * (x1 - x2) + 0.5).mean(), rtol=1e-5)
    np.testing.assert_allclose(float(nn.HingeEmbeddingLoss(margin=1.0)(T(x1), T(y))),
                               np.where(y == 1, x1, np.maximum(0, 1.0 - x1)).mean(), rtol=1e-5)
    cos = (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
    yy = np.array([1.0, -1.0, 1.0], np.float32)
    np.testing.assert_allclose(float(nn.CosineEmbeddingLoss(margin=0.1)(T(a), T(b), T(yy))),
                               np.where(yy == 1, 1 - cos, np.maximum(0, cos - 0.1)).mean(), rtol=1e-5)
    rate = np.abs(b) + 0.5
    np.testing.assert_allclose(float(nn.PoissonNLLLoss()(T(a), T(rate))), (np.exp(a) - rate * a).mean(), rtol=1e-5)
    var = np.abs(b) + 0.1
    np.testing.assert_allclose(float(nn.GaussianNLLLoss()(T(a), T(s), T(var))),
                               (0.5 * (np.log(var) + (a - s) ** 2 / var)).mean(), rtol=1e-5)
    c = rs.randn(3, 4).astype(np.float32)
    dp = np.sqrt(((a - b + 1e-6) ** 2).sum(1))
    dn = np.sqrt(((a - c + 1e-6) ** 2).sum(1))
    np.testing.assert_allclose(float(nn.TripletMarginLoss(margin=1.0)(T(a), T(b), T(c))),
                               np.maximum(dp - dn + 1.0, 0).mean(), rtol=1e-5)
    tgt = (s > 0).astype(np.float32)
    ml = -(tgt * np.log(sigmoid(a)) + (1 - tgt) * np.log(sigmoid(-a))).mean(1).mean()
    np.testing.assert_allclose(float(nn.MultiLabelSoftMarginLoss()(T(a), T(tgt))), ml, rtol=1e-5)
    t = np.array([0, 3, 1])
    mm = np.mean([np.sum([max(0, 1 - a[i, t[i]] + a[i, j]) for j in range(4) if j != t[i]]) / 4 for i in range(3)])
    np.testing.assert_allclose(float(nn.MultiMarginLoss()(T(a), torch.tensor(t))), mm, rtol=1e-5)
    with pytest.raises(ValueError):
        nn.MultiMarginLoss(p=3)


def test_gru_packed_bidirectional_equals_individual_runs():
    torch.manual_seed(7)
    gru = nn.GRU(2, 3, bidirectional=True, batch_first=True)
    rs = np.random.RandomState(8)
    lengths = [4, 4, 1]
    seqs = [rs.randn(L, 2).astype(np.float32) for L in lengths]
    h0 = rs.randn(2, 3, 3).astype(np.float32)
    packed = pack_sequence([T(s) for s in seqs])
    out_p, h_p = gru(packed, T(h0))
    out_pad, _ = pad_packed_sequence(out_p, batch_first=True)
    for b, s in enumerate(seqs):
        o, h = gru(T(s[None]), T(h0[:, b:b + 1]))
        np.testing.assert_allclose(npy(out_pad)[b, :lengths[b]], npy(o)[0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(npy(h_p)[:, b], npy(h)[:, 0], rtol=1e-4, atol=1e-5)


def test_rnn_dropout_between_layers():
    torch.manual_seed(9)
    rnn = nn.RNN(3, 8, num_layers=2, dropout=0.5)
    x = torch.randn(4, 2, 3)
    rnn.eval()
    a, _ = rnn(x)
    b, _ = rnn(x)
    np.testing.assert_array_equal(npy(a), npy(b))
    rnn.train()
    c, _ = rnn(x)
    assert not np.allclose(npy(a), npy(c))
    assert repr(rnn) == "RNN(3, 8, num_layers=2, dropout=0.5)"


def test_mha_separate_projections_names():
    mha = nn.MultiheadAttention(8, 2, kdim=5, vdim=6, add_bias_kv=True)
    assert list(mha.state_dict().keys()) == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "bias_k", "bias_v",
        "out_proj.weight", "out_proj.bias"]
    assert mha.in_proj_weight is None
    out, w = mha(torch.randn(3, 2, 8), torch.randn(4, 2, 5), torch.randn(4, 2, 6))
    assert tuple(out.shape) == (3, 2, 8) and tuple(w.shape) == (2, 3, 5)


def _shared_dir():
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "..", "..", "shared"), os.path.join(here, "..", "shared")):
        if os.path.isdir(os.path.join(cand, "checkpoints")):
            return cand
    return None


def test_pytorch_checkpoints_load_into_modules():
    import os

    shared = _shared_dir()
    if shared is None or not hasattr(torch, "load"):
        pytest.skip("shared/checkpoints not available")
    exp = np.load(os.path.join(shared, "checkpoints", "expected.npz"))

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return F.log_softmax(self.fc2(x), dim=1)

    net = CNN()
    sd = torch.load(os.path.join(shared, "checkpoints", "seed_cnn_state_dict.pt"), weights_only=True)
    res = net.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == []
    net.eval()
    with torch.no_grad():
        out = net(T(exp["input"]))
    np.testing.assert_allclose(npy(out), exp["output"], rtol=1e-4, atol=1e-4)

    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    lstm.load_state_dict(torch.load(os.path.join(shared, "checkpoints", "lstm_state_dict.pt"), weights_only=True))
    for k, v in lstm.state_dict().items():
        np.testing.assert_array_equal(npy(v), exp["lstm." + k])


def test_weight_norm():
    lin = nn.Linear(3, 2)
    w0 = npy(lin.weight).copy()
    nn.utils.weight_norm(lin)
    assert [n for n, _ in lin.named_parameters()] == ["bias", "weight_g", "weight_v"]
    assert tuple(lin.weight_g.shape) == (2, 1) and tuple(lin.weight_v.shape) == (2, 3)
    np.testing.assert_allclose(npy(lin.weight_g)[:, 0], np.linalg.norm(w0, axis=1), rtol=1e-5)
    with torch.no_grad():
        lin.weight_g.mul_(2.0)
    x = T(np.array([[1.0, 2.0, 3.0]]))
    out = lin(x)
    np.testing.assert_allclose(npy(out), x.numpy() @ (2 * w0).T + npy(lin.bias), rtol=1e-5)
    out.sum().backward()
    assert lin.weight_g.grad is not None and lin.weight_v.grad is not None
    nn.utils.remove_weight_norm(lin)
    assert [n for n, _ in lin.named_parameters()] == ["bias", "weight"]
    np.testing.assert_allclose(npy(lin.weight), 2 * w0, rtol=1e-5)
    assert len(lin._forward_pre_hooks) == 0


def test_buffer_class():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.b = nn.Buffer(torch.zeros(2))
            self.c = nn.Buffer(torch.ones(1), persistent=False)

    m = M()
    assert [n for n, _ in m.named_buffers()] == ["b", "c"]
    assert list(m.state_dict().keys()) == ["b"]
    assert isinstance(m.b, nn.Buffer) and not isinstance(torch.zeros(1), nn.Buffer)
    m.double()
    assert m.b.dtype == torch.float64
