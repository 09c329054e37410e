"""The fused recurrent layers (nn.LSTM, nn.GRU, nn.RNN, and LSTMCell/GRUCell as one-step layers:
the time loop and backpropagation through time in Rust) against values recorded from PyTorch
2.13 and against the composite recurrence they replace."""
import json
import math

import pytest

import ferrotorch as torch
from ferrotorch.nn.modules import rnn as rnn_mod

# recorded with PyTorch 2.13 (seed 0, LSTM(5, 7, num_layers=2, bidirectional=True,
# batch_first=True).double(), x [3, 4, 5], h0/c0 [4, 3, 7] drawn after it)
REF = json.loads('''{"out_sum": 10.726474817561742, "out_00": [0.49258397500031104, -0.13174942889883678, 0.1593395855924997, -0.029585796177579195, -0.27998807204040466, -0.283777568541735, 0.25219856014115183, -0.11275684425382389, 0.2816808209328348, 0.004951921284945919, 0.10591063559956661, -0.012508620255578914, 0.05931168810231929, 0.26596326976258716], "hn_sum": 4.821667359551915, "cn_sum": 10.45533237326478, "xg": [0.05026583404627374, 0.0023412100802286534, 0.026812564569702504, -0.184736441367405, -0.2134313896266642], "h0g": [0.2449672523240467, 0.04135433443853952, -0.003935148612830803, -0.039741005292937864, -0.20307737412470767, -0.12282640772818847, -0.5522531807843529], "c0g": [-0.00910264064717374, -0.054582534311188965, 0.2153701128132397, -0.06324436209068397, -0.2197841862858527, -0.005833878387965048, 0.2617872047502803], "grads": {"weight_ih_l0": 2.7019503888794922, "weight_hh_l0": 7.53946926832451, "bias_ih_l0": 8.401341585471377, "bias_hh_l0": 8.401341585471375, "weight_ih_l0_reverse": -16.12250858512749, "weight_hh_l0_reverse": 1.7115374723251051, "bias_ih_l0_reverse": 7.976941872866642, "bias_hh_l0_reverse": 7.976941872866642, "weight_ih_l1": 19.219283250766395, "weight_hh_l1": 20.688032820165763, "bias_ih_l1": 33.81211252301311, "bias_hh_l1": 33.81211252301311, "weight_ih_l1_reverse": 21.75721850101487, "weight_hh_l1_reverse": 31.654955455388585, "bias_ih_l1_reverse": 38.20270997452384, "bias_hh_l1_reverse": 38.20270997452384}}''')


def _run(fused, dtype=torch.float64, layers=2, bidirectional=True, batch_first=True):
    saved = rnn_mod.FUSED_LSTM
    rnn_mod.FUSED_LSTM = fused
    try:
        torch.manual_seed(0)
        m = torch.nn.LSTM(5, 7, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first).to(dtype)
        d = 2 if bidirectional else 1
        x = torch.randn(3, 4, 5, dtype=dtype, requires_grad=True)
        b = 3 if batch_first else 4
        h0 = torch.randn(layers * d, b, 7, dtype=dtype, requires_grad=True)
        c0 = torch.randn(layers * d, b, 7, dtype=dtype, requires_grad=True)
        out, (hn, cn) = m(x, (h0, c0))
        (out.sin().sum() + hn.cos().sum() + (cn * cn).sum()).backward()
        return m, x, h0, c0, out, hn, cn
    finally:
        rnn_mod.FUSED_LSTM = saved


def test_fused_lstm_matches_pytorch():
    m, x, h0, c0, out, hn, cn = _run(True)
    assert out.grad_fn is not None
    close = lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    assert close(out.sum().item(), REF["out_sum"])
    assert all(close(a, b) for a, b in zip(out[0, 0].tolist(), REF["out_00"]))
    assert close(hn.sum().item(), REF["hn_sum"]) and close(cn.sum().item(), REF["cn_sum"])
    assert all(close(a, b) for a, b in zip(x.grad[1, 2].tolist(), REF["xg"]))
    assert all(close(a, b) for a, b in zip(h0.grad[3, 1].tolist(), REF["h0g"]))
    assert all(close(a, b) for a, b in zip(c0.grad[0, 2].tolist(), REF["c0g"]))
    for name, p in m.named_parameters():
        assert close(p.grad.sum().item(), REF["grads"][name]), name


_FLAG = {"LSTM": "FUSED_LSTM", "GRU": "FUSED_GRU", "RNN": "FUSED_RNN", "RNN_relu": "FUSED_RNN"}


def _outputs_and_grads(kind, fused, dtype, layers, bidirectional, batch_first=False, bias=True):
    """nn.LSTM, nn.GRU or nn.RNN (tanh, or "RNN_relu") forward + backward with the fused layer on or off: every output and
    every gradient (input, initial states, parameters)."""
    flag = _FLAG[kind]
    saved = getattr(rnn_mod, flag)
    setattr(rnn_mod, flag, fused)
    try:
        torch.manual_seed(0)
        extra = {"nonlinearity": "relu"} if kind == "RNN_relu" else {}
        m = getattr(torch.nn, kind.split("_")[0])(5, 7, num_layers=layers, bidirectional=bidirectional,
                                                  batch_first=batch_first, bias=bias, **extra).to(dtype)
        x = torch.randn(3, 4, 5, dtype=dtype, requires_grad=True)
        states = [torch.randn(layers * (2 if bidirectional else 1), 3 if batch_first else 4, 7, dtype=dtype,
                              requires_grad=True) for _ in range(2 if kind == "LSTM" else 1)]
        out, hidden = m(x, tuple(states) if kind == "LSTM" else states[0])
        finals = list(hidden) if kind == "LSTM" else [hidden]
        loss = out.sin().sum() + finals[0].cos().sum() + sum((c * c).sum() for c in finals[1:])
        loss.backward()
        return [out, *finals, x.grad] + [s.grad for s in states] + [p.grad for p in m.parameters()]
    finally:
        setattr(rnn_mod, flag, saved)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 2e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("kind,layers,bidirectional,batch_first,bias", [
    ("LSTM", 1, False, False, True), ("LSTM", 2, True, False, True), ("LSTM", 1, True, True, True),
    ("GRU", 1, False, False, True), ("GRU", 2, True, False, True), ("GRU", 1, True, False, False),
    ("RNN", 1, False, False, True), ("RNN", 2, True, True, True), ("RNN_relu", 2, True, False, False),
])
def test_fused_layer_matches_composite(kind, layers, bidirectional, batch_first, bias, dtype, tol):
    fused = _outputs_and_grads(kind, True, dtype, layers, bidirectional, batch_first, bias)
    composite = _outputs_and_grads(kind, False, dtype, layers, bidirectional, batch_first, bias)
    assert len(fused) == len(composite)
    for u, v in zip(fused, composite):
        assert u.dtype == v.dtype == dtype and u.shape == v.shape
        assert float((u - v).abs().max()) <= tol * (1 + float(v.abs().max()))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_fused_layer_double_backward_raises_and_composite_serves_it(kind):
    flag = _FLAG[kind]
    torch.manual_seed(0)
    m = getattr(torch.nn, kind)(3, 4).double()
    x = torch.randn(2, 1, 3, dtype=torch.float64, requires_grad=True)
    out, _ = m(x)
    with pytest.raises(RuntimeError, match="double backward"):
        torch.autograd.grad(out.sum(), x, create_graph=True)
    setattr(rnn_mod, flag, False)
    try:
        out, _ = m(x)
        (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        assert g.grad_fn is not None
    finally:
        setattr(rnn_mod, flag, True)


def test_fused_gru_matches_pytorch():
    # recorded with PyTorch 2.13: seed 0, GRU(5, 7, num_layers=2, bidirectional=True).double(),
    # x [3, 4, 5] and h0 [4, 4, 7] drawn after it, loss out.sin().sum() + hn.cos().sum()
    torch.manual_seed(0)
    m = torch.nn.GRU(5, 7, num_layers=2, bidirectional=True).double()
    x = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 4, 7, dtype=torch.float64, requires_grad=True)
    out, hn = m(x, h0)
    (out.sin().sum() + hn.cos().sum()).backward()
    got = [out.sum().item(), hn.sum().item(), x.grad.sum().item(), h0.grad.sum().item()]
    got += [p.grad.sum().item() for p in list(m.parameters())[:3]]
    want = [-2.440270326266949, -2.848282891626113, 7.241341646569466, 54.53502080423651,
            3.1558166874906206, -3.651255851595004, 3.5632192135421423]
    assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(got, want)), (got, want)


# recorded with PyTorch 2.13: seed 0, RNN(5, 7, num_layers=2, bidirectional=True,
# nonlinearity=...).double(), x [3, 4, 5] and h0 [4, 4, 7] drawn after it, loss
# out.sin().sum() + hn.cos().sum(); [out, hn, x.grad, h0.grad] sums then every parameter's grad sum
RNN_REF = {
    "tanh": [16.61451560091261, 1.5891689961920639, 8.1538677638895, 7.38914022374605, -9.994826700474666,
             4.023825221805321, 2.7347801786155745, 2.7347801786155763, 28.033347358751076, -3.789793109294238,
             -0.05606453613000362, -0.05606453613000273, 17.726800299282115, -14.649915149591038,
             71.58780840964589, 71.58780840964589, 3.507606406050357, 61.031457638639964, 52.1084866725128,
             52.10848667251279],
    "relu": [68.61751655807385, 35.04584170829782, 4.854447498188415, 1.7150120924225645, 4.867060806878641,
             -16.02143146609111, -7.1146297938655945, -7.114629793865594, 17.174497131979802, -9.143650615125598,
             -4.23026413180915, -4.23026413180915, 182.55218700213842, 48.46610875576835, 42.97132774900838,
             42.97132774900838, 130.37686947987552, 86.74173483583468, 28.08214153632881, 28.082141536328805],
}


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_fused_rnn_matches_pytorch(nonlinearity):
    torch.manual_seed(0)
    m = torch.nn.RNN(5, 7, num_layers=2, bidirectional=True, nonlinearity=nonlinearity).double()
    x = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 4, 7, dtype=torch.float64, requires_grad=True)
    out, hn = m(x, h0)
    (out.sin().sum() + hn.cos().sum()).backward()
    got = [out.sum().item(), hn.sum().item(), x.grad.sum().item(), h0.grad.sum().item()]
    got += [p.grad.sum().item() for p in m.parameters()]
    want = RNN_REF[nonlinearity]
    assert len(got) == len(want)
    assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(got, want)), (got, want)


def test_fused_cells_match_pytorch():
    # recorded with PyTorch 2.13: seed 0, LSTMCell(5, 6).double() / GRUCell(5, 6).double(), then
    # x [3, 5], h [3, 6] (and c [3, 6]) drawn after it
    lstm_want = [-0.6629517803921852, -0.5753647468532179, 2.6909574016107647, 0.014235776312542123,
                 3.088443285433093, 1.7466490775959858, -9.941846657556418, 4.175744133392522, 4.175744133392522]
    gru_want = [-0.30184734867722096, 1.0100881850772336, 6.969082678007954, 2.4421881954239004,
                -0.45361961103235005, 4.695646016692389, 1.4546000218686674]
    torch.manual_seed(0)
    c = torch.nn.LSTMCell(5, 6).double()
    x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    h = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    cc = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    h1, c1 = c(x, (h, cc))
    (h1.sin().sum() + (c1 * c1).sum()).backward()
    got = [h1.sum().item(), c1.sum().item(), x.grad.sum().item(), h.grad.sum().item(), cc.grad.sum().item()]
    got += [p.grad.sum().item() for p in c.parameters()]
    assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(got, lstm_want)), (got, lstm_want)
    torch.manual_seed(0)
    c = torch.nn.GRUCell(5, 6).double()
    x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    h = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    h1 = c(x, h)
    h1.sin().sum().backward()
    got = [h1.sum().item(), x.grad.sum().item(), h.grad.sum().item()] + [p.grad.sum().item() for p in c.parameters()]
    assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(got, gru_want)), (got, gru_want)


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched,bias", [(True, True), (False, True), (True, False)])
def test_fused_cells_match_composite(kind, batched, bias):
    """A cell's fused one-step layer against its composite path: outputs and every gradient, in
    float32, unbatched input and no bias included."""
    flag = "FUSED_LSTM" if kind == "LSTMCell" else "FUSED_GRU"

    def run(fused):
        saved = getattr(rnn_mod, flag)
        setattr(rnn_mod, flag, fused)
        try:
            torch.manual_seed(1)
            cell = getattr(torch.nn, kind)(4, 5, bias=bias)
            shape = (3,) if not batched else (2, 3)
            x = torch.randn(*shape[:-1], 4, requires_grad=True)
            h = torch.randn(*shape[:-1], 5, requires_grad=True)
            if kind == "LSTMCell":
                c = torch.randn(*shape[:-1], 5, requires_grad=True)
                h1, c1 = cell(x, (h, c))
                (h1.sin().sum() + (c1 * c1).sum()).backward()
                return [h1, c1, x.grad, h.grad, c.grad] + [p.grad for p in cell.parameters()]
            h1 = cell(x, h)
            h1.sin().sum().backward()
            return [h1, x.grad, h.grad] + [p.grad for p in cell.parameters()]
        finally:
            setattr(rnn_mod, flag, saved)

    fused, composite = run(True), run(False)
    for u, v in zip(fused, composite):
        assert u.shape == v.shape and float((u - v).abs().max()) <= 2e-6
