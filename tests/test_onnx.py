"""torch.onnx.export: trace ferrotorch models to ONNX, run them in onnxruntime, and compare with
ferrotorch's own outputs."""
import io
import math
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import ferrotorch as torch  # noqa: E402
import ferrotorch.nn as nn  # noqa: E402
import ferrotorch.nn.functional as F  # noqa: E402
from ferrotorch import _C  # noqa: E402


def export(model, args, **kw):
    """Exports to bytes (through a file-like object) and checks the model."""
    buf = io.BytesIO()
    torch.onnx.export(model, args, buf, **kw)
    data = buf.getvalue()
    m = onnx.load_from_string(data)
    onnx.checker.check_model(m)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)  # types agree node to node
    return data


def run(data, *inputs):
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    feeds = {i.name: np.asarray(x) for i, x in zip(sess.get_inputs(), inputs)}
    return sess.run(None, feeds)


def flat(x):
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in flat(v)]
    return [x]


def assert_same(got, expect):
    expect = flat(expect)
    assert len(got) == len(expect)
    for g, e in zip(got, expect):
        e = np.asarray(e.detach())
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)


def op_types(data):
    return [n.op_type for n in onnx.load_from_string(data).graph.node]


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)


# ---------------------------------------------------------------------------------------- models

def test_mlp():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3), nn.Softmax(dim=-1))
    assert model.training
    x = torch.randn(2, 4)
    data = export(model, (x,))
    assert model.training  # exported in eval mode, then restored
    model.eval()
    assert_same(run(data, x), model(x))
    assert op_types(data) == ["Gemm", "Relu", "Gemm", "Softmax"]


def _cnn():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                          nn.Conv2d(8, 6, 3, stride=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5))
    with torch.no_grad():
        model[1].running_mean.copy_(torch.randn(8))
        model[1].running_var.copy_(torch.rand(8) + 0.5)
        model[1].weight.copy_(torch.randn(8))
    return model.eval()


def test_cnn():
    model = _cnn()
    x = torch.randn(2, 3, 12, 12)
    data = export(model, (x,))
    assert_same(run(data, x), model(x))
    assert {"Conv", "BatchNormalization", "MaxPool", "GlobalAveragePool", "Flatten", "Gemm"} <= set(op_types(data))


def test_cnn_dynamic_batch():
    model = _cnn()
    data = export(model, (torch.randn(2, 3, 12, 12),), input_names=["images"], output_names=["logits"],
                  dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    g = onnx.load_from_string(data).graph
    assert g.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert g.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    x5 = torch.randn(5, 3, 12, 12)
    assert_same(run(data, x5), model(x5))


class LSTMHead(nn.Module):
    def __init__(self, cell=nn.LSTM, **kw):
        super().__init__()
        self.rnn = cell(4, 8, batch_first=True, **kw)
        self.fc = nn.Linear(8 * (2 if kw.get("bidirectional") else 1), 3)

    def forward(self, x):
        out, state = self.rnn(x)
        return (self.fc(out[:, -1]),) + (tuple(state) if isinstance(state, tuple) else (state,))


@pytest.mark.parametrize("layers", [1, 2])
def test_lstm(layers):
    torch.manual_seed(2)
    model = LSTMHead(num_layers=layers).eval()
    data = export(model, (torch.randn(2, 6, 4),), input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    assert op_types(data).count("LSTM") == layers
    x = torch.randn(5, 6, 4)
    assert_same(run(data, x), model(x))


def test_lstm_initial_state_unbatched_bidirectional():
    torch.manual_seed(3)
    lstm = nn.LSTM(3, 5, bidirectional=True).eval()
    x, h0, c0 = torch.randn(7, 2, 3), torch.randn(2, 2, 5), torch.randn(2, 2, 5)
    data = export(lstm, (x, (h0, c0)))
    assert_same(run(data, x, h0, c0), lstm(x, (h0, c0)))
    lstm2 = nn.LSTM(3, 5, num_layers=2).eval()
    xu = torch.randn(7, 3)
    assert_same(run(export(lstm2, (xu,)), xu), lstm2(xu))


def test_gru_and_rnn():
    torch.manual_seed(4)
    model = LSTMHead(nn.GRU, num_layers=2, bidirectional=True).eval()
    data = export(model, (torch.randn(2, 6, 4),), input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    assert op_types(data).count("GRU") == 2
    x = torch.randn(3, 6, 4)
    assert_same(run(data, x), model(x))
    rnn = nn.RNN(4, 6, nonlinearity="relu", batch_first=True).eval()
    x, h0 = torch.randn(2, 5, 4), torch.randn(1, 2, 6)
    assert_same(run(export(rnn, (x, h0)), x, h0), rnn(x, h0))


class TinyTransformer(nn.Module):
    """Embedding + nn.TransformerEncoderLayer (GELU, residuals, LayerNorm) with a causal mask."""

    def __init__(self, vocab=20, d=16, heads=4):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.enc = nn.TransformerEncoderLayer(d, heads, 32, dropout=0.1, batch_first=True, activation="gelu")
        self.head = nn.Linear(d, vocab)

    def forward(self, idx):
        mask = nn.Transformer.generate_square_subsequent_mask(idx.size(1))
        return self.head(self.enc(self.emb(idx), src_mask=mask, is_causal=True))


def test_transformer_encoder_layer():
    torch.manual_seed(5)
    model = TinyTransformer().eval()
    idx = torch.randint(0, 20, (2, 6))
    data = export(model, (idx,), input_names=["idx"], output_names=["logits"],
                  dynamic_axes={"idx": {0: "batch", 1: "seq"}})
    assert_same(run(data, idx), model(idx))
    idx2 = torch.randint(0, 20, (3, 9))  # other batch and sequence lengths
    assert_same(run(data, idx2), model(idx2))


class Block(nn.Module):
    """A GPT-style block: manual q/k/v attention with a causal-mask buffer, GELU MLP, residuals."""

    def __init__(self, vocab=20, d=16, heads=4, ctx=8):
        super().__init__()
        self.heads = heads
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(1, ctx, d))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.register_buffer("bias", torch.tril(torch.ones(ctx, ctx)).view(1, 1, ctx, ctx))

    def forward(self, idx):
        B, T = idx.shape
        h = self.emb(idx) + self.pos[:, :T]
        C = h.size(-1)
        q, k, v = self.qkv(self.ln1(h)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C)
        h = h + self.proj(y)
        return h + self.mlp(self.ln2(h))


def test_handwritten_attention_block():
    torch.manual_seed(6)
    model = Block().eval()
    idx = torch.randint(0, 20, (2, 6))
    data = export(model, (idx,), input_names=["idx"], dynamic_axes={"idx": [0, 1]})
    assert "LayerNormalization" in op_types(data)
    assert_same(run(data, idx), model(idx))
    idx2 = torch.randint(0, 20, (5, 8))
    assert_same(run(data, idx2), model(idx2))


def test_multihead_attention_with_weights_and_padding_mask():
    torch.manual_seed(7)
    mha = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 8)
    pad = torch.tensor([[False] * 5 + [True], [False] * 6])
    data = export(mha, (q, k, v, pad))
    assert_same(run(data, q, k, v, pad), mha(q, k, v, key_padding_mask=pad))


def test_scaled_dot_product_attention():
    torch.manual_seed(8)
    q, k, v = torch.randn(2, 2, 5, 4), torch.randn(2, 2, 5, 4), torch.randn(2, 2, 5, 4)
    m = Fn(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert_same(run(export(m, (q, k, v)), q, k, v), m(q, k, v))


# ---------------------------------------------------------------------------------------- options

def test_names_path_and_file_like(tmp_path):
    torch.manual_seed(9)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh()).eval()
    x = torch.randn(2, 3)
    path = tmp_path / "model.onnx"
    torch.onnx.export(model, (x,), str(path), input_names=["features"], output_names=["scores"])
    m = onnx.load(str(path))
    assert [i.name for i in m.graph.input] == ["features"]
    assert [o.name for o in m.graph.output] == ["scores"]
    assert {i.name for i in m.graph.initializer} == {"0.weight", "0.bias"}
    with open(path, "rb") as fh:
        assert_same(run(fh.read(), x), model(x))
    buf = io.BytesIO()
    torch.onnx.export(model, x, buf, input_names=["features"], output_names=["scores"])
    assert buf.getvalue() == path.read_bytes()


def test_dynamic_shape_arithmetic():
    """Sizes read from a dynamic axis stay symbolic through arithmetic, views and factories."""
    def f(x):
        b = x.size(0)
        flat = x.view(b, -1)
        pad = x.new_zeros(b, 2)
        pos = torch.arange(x.shape[1]).float()
        return torch.cat([flat, pad], 1), x.reshape(b * x.size(1), -1), x[:, :, None] * pos[:, None]
    m = Fn(f)
    data = export(m, (torch.randn(2, 3, 4),), input_names=["x"], dynamic_axes={"x": {0: "b", 1: "t"}})
    assert "Shape" in op_types(data)
    x = torch.randn(5, 7, 4)
    assert_same(run(data, x), m(x))


def test_static_shapes_by_default():
    m = Fn(lambda x: x.view(x.size(0), -1))
    data = export(m, (torch.randn(2, 3, 4),))
    assert "Shape" not in op_types(data)
    dims = onnx.load_from_string(data).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [2, 3, 4]


def test_opset_versions():
    torch.manual_seed(10)
    model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 2)).eval()
    x = torch.randn(3, 4)
    for opset in (14, 17, 18):
        data = export(model, (x,), opset_version=opset)
        assert onnx.load_from_string(data).opset_import[0].version == opset
        assert ("LayerNormalization" in op_types(data)) == (opset >= 17)
        assert_same(run(data, x), model(x))
    with pytest.raises(ValueError):
        torch.onnx.export(model, (x,), io.BytesIO(), opset_version=7)


def test_export_params_false():
    torch.manual_seed(11)
    model = nn.Linear(3, 2).eval()
    x = torch.randn(4, 3)
    data = export(model, (x,), export_params=False, input_names=["x"])
    g = onnx.load_from_string(data).graph
    assert [i.name for i in g.input] == ["x", "weight", "bias"]
    assert len(g.initializer) == 0
    assert_same(run(data, x, model.weight.detach(), model.bias.detach()), model(x))


def test_dynamo_flag_and_onnx_program():
    torch.manual_seed(12)
    model = nn.Sequential(nn.Linear(3, 3), nn.Sigmoid()).eval()
    x = torch.randn(2, 3)
    with pytest.warns(DeprecationWarning):
        assert torch.onnx.export(model, (x,), io.BytesIO(), dynamo=False) is None
    prog = torch.onnx.export(model, (x,))
    assert isinstance(prog, torch.onnx.ONNXProgram)
    assert isinstance(prog.model_proto, onnx.ModelProto)
    (y,) = prog(x)
    np.testing.assert_allclose(y.numpy(), model(x).detach().numpy(), rtol=1e-5, atol=1e-5)
    buf = io.BytesIO()
    prog.save(buf)
    assert_same(run(buf.getvalue(), x), model(x))


def test_dynamic_shapes_argument():
    model = Fn(lambda x: x.sum(1))
    prog = torch.onnx.export(model, (torch.randn(2, 3),), dynamic_shapes=({0: "n"},))
    g = prog.model_proto.graph
    assert g.input[0].type.tensor_type.shape.dim[0].dim_param == "n"
    x = torch.randn(6, 3)
    assert_same(run(prog.model_proto.SerializeToString(), x), model(x))


def test_is_in_onnx_export_and_training_mode():
    seen = []

    class M(nn.Module):
        def forward(self, x):
            seen.append((torch.onnx.is_in_onnx_export(), self.training))
            return x * 2
    m = M()
    export(m, (torch.randn(2),))
    export(m, (torch.randn(2),), training=torch.onnx.TrainingMode.PRESERVE)
    assert seen == [(True, False), (True, True)]
    assert m.training and not torch.onnx.is_in_onnx_export()
    assert int(torch.onnx.TrainingMode.EVAL) == 0 and int(torch.onnx.TrainingMode.TRAINING) == 2


# ---------------------------------------------------------------------------------------- ops

def test_op_battery():
    torch.manual_seed(13)
    x = torch.randn(3, 4, 5)

    def f(x):
        return (x[:, 1:3, ::2], x[0, :, -1], x[..., None, 2], x[:, torch.tensor([0, 2, 3])], x[x > 0],
                x.sum(1), x.mean((0, 2), keepdim=True), x.amax(-1), x.max(1)[1], x.argmax(), x.var(1), x.std(),
                x.norm(), x.logsumexp(1), (x > 0).all(1), (x > 0).any(),
                x + 1, 2 - x, x / 3, 2 ** x, x // 0.7, x % 0.7, torch.maximum(x, x.flip(0)), x.clamp(-0.5, 0.5),
                torch.where(x > 0, x, 0.0), x != x.flip(1), (x > 0) & (x < 1), ~(x > 0),
                x.exp(), x.abs().sqrt(), x.sigmoid(), x.erf(), x.trunc(), x.round(), x.square(),
                x.permute(2, 0, 1), x.flatten(1), x[:, :1].squeeze(1), x.mT, x[:, :1].expand(-1, 4, -1),
                x.repeat(1, 2, 1), x.chunk(2, 1)[1], x.unbind(0)[2], x.narrow(2, 1, 3), torch.stack([x, x], 1),
                x.movedim(0, -1), x.unflatten(2, (5, 1)), x.triu(1), x.index_select(1, torch.tensor([3, 0])),
                x.cumsum(1), x.masked_fill(x > 0, -1.0), x.long(), x.topk(2, 1)[0], x.sort(-1, descending=True)[1],
                x.roll(1, 2), x.repeat_interleave(2, dim=1), torch.einsum("bij,bkj->bik", x, x), x @ x.mT,
                F.gelu(x, approximate="tanh"), F.silu(x), F.leaky_relu(x, 0.2), F.elu(x), F.softplus(x),
                F.hardswish(x), F.log_softmax(x, 1), F.normalize(x, dim=1), F.group_norm(x, 2),
                F.pad(x, (1, 2)), F.pad(x, (1, 1, 2, 0), mode="reflect"))
    m = Fn(f)
    assert_same(run(export(m, (x,)), x), m(x))


def test_setitem_and_inplace():
    def f(x):
        y = torch.zeros(3, 6)
        y[:, 1:5] = x
        z = x.clone()
        z[z > 0] = 0.0
        w = x * 2
        w.relu_()
        w += 1
        return y, z, F.relu(w - 2, inplace=True)
    m = Fn(f)
    x = torch.randn(3, 4)
    assert_same(run(export(m, (x,)), x), m(x))


def test_conv_pool_upsample_variants():
    torch.manual_seed(14)
    model = nn.Sequential(nn.Conv2d(3, 4, 4, padding="same", dilation=2), nn.AvgPool2d(3, 2, padding=1),
                          nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
                          nn.Upsample(scale_factor=2, mode="nearest"), nn.AdaptiveMaxPool2d((2, 2))).eval()
    x = torch.randn(2, 3, 8, 8)
    assert_same(run(export(model, (x,)), x), model(x))


# ---------------------------------------------------------------------------------------- errors

def test_unsupported_op_raises_and_restores():
    before = (torch.Tensor.__dict__["cumprod"], torch.Tensor.__dict__["shape"], torch.matmul, F.linear)
    m = Fn(lambda x: x.cumprod(1) + 1)
    with pytest.raises(torch.onnx.errors.UnsupportedOperatorError, match="cumprod"):
        torch.onnx.export(m, (torch.randn(2, 3),), io.BytesIO())
    assert issubclass(torch.onnx.errors.UnsupportedOperatorError, torch.onnx.OnnxExporterError)
    assert issubclass(torch.onnx.OnnxExporterError, RuntimeError)
    after = (torch.Tensor.__dict__["cumprod"], torch.Tensor.__dict__["shape"], torch.matmul, F.linear)
    assert all(a is b for a, b in zip(before, after))
    assert not torch.onnx.is_in_onnx_export()
    assert torch.randn(2, 3).cumprod(1).shape == (2, 3)


def test_training_dropout_raises():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    with pytest.raises(torch.onnx.errors.UnsupportedOperatorError, match="dropout"):
        torch.onnx.export(model, (torch.randn(2, 2),), io.BytesIO(), training=torch.onnx.TrainingMode.TRAINING)


def test_unrecorded_computation_raises():
    m = Fn(lambda x: _C.unary_op("exp", x) + 1)  # bypasses ferrotorch's Python entry points
    with pytest.raises(torch.onnx.OnnxExporterError, match="did not record"):
        torch.onnx.export(m, (torch.randn(2, 3),), io.BytesIO())


def test_inplace_through_view_raises():
    def f(x):
        y = x * 2
        y[:, 1].add_(1)  # also changes y: the graph could not follow
        return y
    with pytest.raises(torch.onnx.OnnxExporterError, match="in place"):
        torch.onnx.export(Fn(f), (torch.randn(2, 3),), io.BytesIO())


def test_python_value_from_tensor_warns():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        export(Fn(lambda x: x * 2 if x.sum() > 0 else x), (torch.randn(3),))
    assert any(issubclass(i.category, torch.onnx.errors.OnnxExporterWarning) for i in w)
