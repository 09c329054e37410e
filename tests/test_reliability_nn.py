"""nn.functional edge cases (issue 7): values, dtypes, gradients and exceptions that must match PyTorch.

Every expected value below was produced by PyTorch 2.13 (CPU) and is recorded as a literal."""
import math

import pytest

import ferrotorch as torch
import ferrotorch.nn.functional as F

inf, nan = float("inf"), float("nan")


def same(t, expected, dtype=None):
    if dtype is not None:
        assert t.dtype == dtype, (t.dtype, dtype)
    got = t.tolist()

    def eq(a, b):
        if isinstance(b, list):
            assert isinstance(a, list) and len(a) == len(b), (a, b)
            for x, y in zip(a, b):
                eq(x, y)
        elif isinstance(b, float) and math.isnan(b):
            assert math.isnan(a), (a, b)
        else:
            assert a == pytest.approx(b, rel=1e-6, abs=1e-12), (a, b)
    eq(got, expected)


def grad_of(fn, values, dtype=torch.float64):
    x = torch.tensor(values, dtype=dtype, requires_grad=True)
    (g,) = torch.autograd.grad(fn(x).sum(), [x])
    return g


# ---- cosine_similarity: norms clamped in place, never NaN from an overflowing norm

def test_cosine_similarity_extremes():
    same(F.cosine_similarity(torch.tensor([[1e30, 1e30]]), torch.tensor([[1e30, 1e30]])), [0.0])
    same(F.cosine_similarity(torch.tensor([[1e30, 1e30]]), torch.tensor([[1.0, 2.0]])), [0.0])
    same(F.cosine_similarity(torch.tensor([[1e-30, 1e-30]]), torch.tensor([[1.0, 2.0]])), [1.3416e-22])
    same(F.cosine_similarity(torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 1.0]])), [0.0])
    x = torch.tensor([[1e-30, 1e-30], [3.0, 4.0]], requires_grad=True)
    y = torch.tensor([[1.0, 2.0], [1e30, 1e30]], requires_grad=True)
    gx, gy = torch.autograd.grad(F.cosine_similarity(x, y).sum(), [x, y])
    same(gx, [[44721360.0, 89442720.0], [0.0, 0.0]])
    same(gy, [[1.7889e-23, -8.9443e-24], [0.0, 0.0]])
    with pytest.raises(RuntimeError, match="floating point"):
        F.cosine_similarity(torch.tensor([[1, 2]]), torch.tensor([[1, 2]]))


# ---- softmax family on integer tensors

@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax, F.softmin])
def test_softmax_rejects_integers(fn):
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        fn(torch.tensor([1, 2]), 0)
    with pytest.raises(NotImplementedError):
        fn(torch.tensor([1.0, 2.0]), 0, dtype=torch.int64)
    same(fn(torch.tensor([1, 2]), 0, dtype=torch.float64)[0:0], [], torch.float64)


def test_cross_entropy_integer_logits_rejected():
    with pytest.raises(NotImplementedError):
        F.cross_entropy(torch.tensor([[1, 0, 2]]), torch.tensor([1]))


# ---- pad: negative pads, supported ranks, size checks

def test_pad_circular_negative():
    x = torch.arange(12.0).reshape(1, 2, 6)
    same(F.pad(x, (-1, 2), mode="circular"), [[[1, 2, 3, 4, 5, 1, 2], [7, 8, 9, 10, 11, 7, 8]]])
    same(F.pad(x, (2, -1), mode="circular"), [[[3, 4, 0, 1, 2, 3, 4], [9, 10, 6, 7, 8, 9, 10]]])
    x4 = torch.arange(24.0).reshape(1, 2, 3, 4)
    same(F.pad(x4, (-1, 2, 1, -1), mode="circular"),
         [[[[5, 6, 7, 5, 6], [1, 2, 3, 1, 2], [5, 6, 7, 5, 6]],
           [[17, 18, 19, 17, 18], [13, 14, 15, 13, 14], [17, 18, 19, 17, 18]]]])
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(x, (7, 0), mode="circular")


def test_pad_reflect_replicate_checks():
    x = torch.arange(12.0).reshape(1, 2, 6)
    same(F.pad(x, (-1, 2), mode="replicate"), [[[1, 2, 3, 4, 5, 5, 5], [7, 8, 9, 10, 11, 11, 11]]])
    with pytest.raises(RuntimeError, match=r"input \(W: 6\) is too small. Calculated output W: 0"):
        F.pad(x, (-3, -3), mode="replicate")
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 1D input tensor"):
        F.pad(torch.arange(4.0), (1, 1), mode="reflect")
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 4D input tensor"):
        F.pad(torch.zeros(1, 1, 2, 3), (1, 1), mode="circular")
    with pytest.raises(RuntimeError, match="non-zero dimensions"):
        F.pad(torch.zeros(2, 0, 3), (1, 1), mode="reflect")
    with pytest.raises(NotImplementedError, match="reflection_pad1d"):
        F.pad(torch.tensor([[True, False]]), (1, 1), mode="reflect")
    with pytest.raises(TypeError):
        F.pad(x, (1.5, 1))


# ---- pooling: dtypes, padding value, NaN and tie rules

def test_max_pool_keeps_integer_dtype_and_pads_with_lowest():
    x = torch.tensor([[[-5, -2], [-5, -3]]], dtype=torch.int32)
    same(F.max_pool2d(x, 2, padding=1), [[[-5, -2], [-5, -3]]], torch.int32)
    same(F.max_pool2d(torch.tensor([[[1, 2], [5, 3]]], dtype=torch.uint8), 2), [[[5]]], torch.uint8)
    v, i = F.max_pool1d(torch.tensor([[[-128, -128, -128]]], dtype=torch.int8), 2, padding=1, return_indices=True)
    same(v, [[[-128, -128]]], torch.int8)
    same(i, [[[0, 1]]])
    with pytest.raises(NotImplementedError, match="max_pool1d_impl"):
        F.max_pool1d(torch.tensor([[[1, 2]]]), 2)
    with pytest.raises(NotImplementedError, match="max_pool2d"):
        F.max_pool2d(torch.tensor([[[True, False]]]), 1)


def test_max_pool_nan_and_padding_indices():
    v, i = F.max_pool1d(torch.tensor([[[nan, 2.0, nan, 3.0]]]), 4, return_indices=True)
    same(v, [[[nan]]])
    same(i, [[[2]]])  # the last NaN
    v, i = F.max_pool1d(torch.tensor([[[-inf, -inf, 3.0, -inf]]]), 3, padding=1, stride=1, return_indices=True)
    same(v, [[[-inf, 3.0, 3.0, 3.0]]])
    same(i, [[[0, 2, 2, 2]]])  # never a padding position
    v, i = F.adaptive_max_pool1d(torch.tensor([[[nan, 2.0, nan, 3.0]]]), 1, return_indices=True)
    same(i, [[[2]]])


def test_avg_pool_integer():
    same(F.avg_pool2d(torch.tensor([[[1, 2], [5, 3]]]), 2), [[[2]]], torch.int64)
    same(F.avg_pool2d(torch.tensor([[[-1, -2], [-5, -4]]]), 2, padding=1), [[[0, 0], [-1, -1]]], torch.int64)
    same(F.avg_pool1d(torch.tensor([[[1, 2, 5, 4]]]), 2), [[[1, 4]]], torch.int64)
    same(F.avg_pool2d(torch.tensor([[[1, 2], [5, 4]]]), 2, divisor_override=3), [[[4]]], torch.int64)
    with pytest.raises(NotImplementedError, match="avg_pool2d"):
        F.avg_pool2d(torch.tensor([[[1, 2], [5, 4]]], dtype=torch.int32), 2)
    with pytest.raises(NotImplementedError, match="avg_pool3d_out_frame"):
        F.avg_pool3d(torch.zeros(1, 1, 2, 2, 2, dtype=torch.float16), 2)


def test_adaptive_pools_inf_nan_and_dtypes():
    same(F.adaptive_avg_pool1d(torch.tensor([[[1.0, inf, 2.0, -inf, 5.0]]]), 3), [[[inf, nan, -inf]]])
    same(F.adaptive_avg_pool1d(torch.tensor([[[1.0, nan, 2.0, 4.0, 5.0]]]), 3), [[[nan, nan, 4.5]]])
    same(F.adaptive_avg_pool1d(torch.tensor([[[1.0, inf, 2.0, 4.0, 5.0]]]), 3), [[[inf, inf, 4.5]]])
    with pytest.raises(NotImplementedError, match="adaptive_avg_pool2d"):
        F.adaptive_avg_pool1d(torch.tensor([[[1, 2, 3]]]), 2)
    with pytest.raises(NotImplementedError, match="adaptive_max_pool2d"):
        F.adaptive_max_pool1d(torch.tensor([[[1, 2, 3]]], dtype=torch.uint8), 2)


def test_max_unpool_rejects_bad_index():
    with pytest.raises(RuntimeError, match="invalid max index: -1"):
        F.max_unpool1d(torch.tensor([[[5.0, 4.0]]]), torch.tensor([[[-1, 3]]]), 2)


# ---- interpolate

def test_interpolate_uint8_bilinear_bicubic():
    xu = (torch.arange(48) * 37 % 256).reshape(1, 3, 4, 4).to(torch.uint8)
    out = F.interpolate(xu, size=(3, 7), mode="bilinear")
    assert out.dtype == torch.uint8
    same(out[0, 0], [[25, 38, 59, 81, 98, 95, 93], [94, 107, 128, 150, 162, 110, 77],
                     [163, 176, 197, 113, 27, 48, 61]])
    same(F.interpolate(xu, size=(3, 7), mode="bilinear", align_corners=True)[0, 0],
         [[0, 19, 37, 56, 74, 93, 111], [94, 113, 131, 150, 168, 123, 77], [188, 207, 225, 116, 6, 25, 43]])
    same(F.interpolate(xu, size=(5, 3), mode="bicubic")[0, 0],
         [[0, 46, 110], [124, 195, 43], [99, 176, 94], [76, 87, 127], [206, 117, 27]])


def test_interpolate_checks():
    with pytest.raises(NotImplementedError, match="compute_indices_weights_linear"):
        F.interpolate(torch.tensor([[[1, 2]]], dtype=torch.uint8), size=3, mode="linear")
    with pytest.raises(NotImplementedError, match="upsample_nearest2d_channels_last"):
        F.interpolate(torch.zeros(1, 1, 2, 2, dtype=torch.int64), size=3)
    with pytest.raises(RuntimeError, match=r"input \(W: 0\) and output \(W: 4\)"):
        F.interpolate(torch.zeros(2, 2, 0), size=4, mode="linear")
    with pytest.raises(RuntimeError, match="Non-empty 3D data tensor expected"):
        F.interpolate(torch.zeros(2, 0, 3), size=4, mode="linear")


# ---- activations: gradients at kinks, integer inputs

def test_activation_kink_gradients():
    same(grad_of(F.logsigmoid, [0.0, -1.0, 1.0, -100.0, 100.0, -inf, inf]),
         [0.5, 0.7310585786300049, 0.2689414213699951, 1.0, 3.720075976020836e-44, 1.0, 0.0])
    same(grad_of(F.relu6, [0.0, 6.0, 3.0, -1.0, 7.0]), [0.0, 0.0, 1.0, 0.0, 0.0])
    same(grad_of(F.relu6, [0.0, 6.0], torch.float32), [0.0, 0.0])
    same(grad_of(F.hardtanh, [-1.0, 1.0, 0.0, -2.0, 2.0]), [0.0, 0.0, 1.0, 0.0, 0.0])
    same(grad_of(F.hardswish, [0.0, -3.0, 3.0, 1.0, -4.0, 4.0]), [0.5, 0.0, 1.0, 0.8333333333333333, 0.0, 1.0])
    same(grad_of(F.hardsigmoid, [0.0, -3.0, 3.0, 1.0, -4.0, 4.0]),
         [0.1666666716337204, 0.0, 0.0, 0.1666666716337204, 0.0, 0.0])
    same(F.hardswish(torch.tensor([-inf, inf, nan])), [nan, inf, nan])


def test_activation_dtypes():
    same(F.relu6(torch.tensor([1, -2, 7])), [1, 0, 6], torch.int64)
    same(F.relu6(torch.tensor([1, 254, 7], dtype=torch.uint8)), [1, 6, 6], torch.uint8)
    same(F.hardtanh(torch.tensor([1, -2, 7]), -1.5, 2.5), [1, -1, 2], torch.int64)
    for fn, kernel in [(F.leaky_relu, "leaky_relu_cpu"), (F.elu, "elu_cpu"), (F.gelu, "GeluKernelImpl"),
                       (F.silu, "silu_cpu"), (F.logsigmoid, "log_sigmoid_cpu"), (F.softplus, "softplus_cpu"),
                       (F.hardswish, "hardswish_cpu"), (F.hardsigmoid, "hardsigmoid_cpu"),
                       (F.mish, "mish_cpu"), (F.selu, "elu_cpu")]:
        with pytest.raises(NotImplementedError, match=kernel):
            fn(torch.tensor([1, -2, 7]))
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        F.relu(torch.tensor([True, False]))
    # half types are computed in float32 and rounded once
    same(F.gelu(torch.tensor([1.0, -2.0, 7.0], dtype=torch.bfloat16)).float(), [0.83984375, -0.04541015625, 7.0])


# ---- exceptions and indices

def test_conv_transpose_argument_checks():
    x, w = torch.zeros(1, 1, 4), torch.zeros(1, 1, 2)
    with pytest.raises(RuntimeError, match="non-positive stride is not supported"):
        F.conv_transpose1d(x, w, stride=0)
    with pytest.raises(RuntimeError, match="dilation should be greater than zero"):
        F.conv_transpose1d(x, w, dilation=0)
    with pytest.raises(RuntimeError, match="negative padding is not supported"):
        F.conv_transpose1d(x, w, padding=-1)
    with pytest.raises(RuntimeError, match="non-positive groups is not supported"):
        F.conv_transpose1d(x, w, groups=0)


def test_embedding_rejects_out_of_range_ids():
    w = torch.arange(6.0).reshape(3, 2)
    for ids in ([0, -1], [3], [-4]):
        with pytest.raises(IndexError, match="index out of range in self"):
            F.embedding(torch.tensor(ids), w)
    same(F.embedding(torch.tensor([2, 0]), w), [[4.0, 5.0], [0.0, 1.0]])


def test_nll_target_out_of_bounds():
    with pytest.raises(IndexError, match="Target -3 is out of bounds."):
        F.nll_loss(torch.tensor([[1.0, 0.0, 2.0]]), torch.tensor([-3]))
    with pytest.raises(IndexError, match="Target 3 is out of bounds."):
        F.cross_entropy(torch.tensor([[1.0, 0.0, 2.0]]), torch.tensor([3]))


def test_loss_argument_checks():
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        F.nll_loss(torch.tensor([[1.0, 0.0, 2.0]]), torch.tensor([1], dtype=torch.int32))
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Long"):
        F.nll_loss(torch.tensor([[1.0, 0.0, 2.0]]), torch.tensor([1]), weight=torch.tensor([1, 2, 3]))
    with pytest.raises(NotImplementedError, match="nll_loss_out_frame"):
        F.nll_loss(torch.tensor([[1, 0, 2]]), torch.tensor([1]))
    same(F.nll_loss(torch.tensor([1.0, 0.5, 2.0]), torch.tensor([1])), -0.5)  # 1D input, target of size 1
    with pytest.raises(ValueError, match="1D target must have size 1"):
        F.nll_loss(torch.tensor([1.0, 0.0, 2.0]), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(1\) to match target batch_size \(3\)"):
        F.cross_entropy(torch.tensor([[1.0, 0.0, 2.0]]), torch.tensor([0.2, 0.3, 0.5]))
    with pytest.raises(NotImplementedError, match="mse_cpu"):
        F.mse_loss(torch.tensor([1, 2]), torch.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="Found dtype Long but expected Float"):
        F.binary_cross_entropy(torch.tensor([0.5, 0.2]), torch.tensor([1, 0]))
    same(F.cosine_embedding_loss(torch.tensor([[0.5, 0.2]]), torch.tensor([[1.0, 0.0]]), torch.tensor([1.0, -1.0])),
         0.5)


def test_binary_cross_entropy_gradient_at_0_and_1():
    x = torch.tensor([0.0, 1.0, 0.5, 0.2], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.0, 1.0, 1.0, 0.3], dtype=torch.float64, requires_grad=True)
    gx, gt = torch.autograd.grad(F.binary_cross_entropy(x, t, reduction="sum"), [x, t])
    same(gx, [0.0, 0.0, -2.0, -0.625])
    same(gt, [inf, -inf, 0.0, 1.3862943611198906])


def test_embedding_bag_checks():
    w = torch.ones(3, 2)
    with pytest.raises(RuntimeError, match=r"Index 1 of input takes value -1 which is not in the valid range \[0, 3\)"):
        F.embedding_bag(torch.tensor([0, -1]), w, torch.tensor([0]))
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(torch.tensor([0, 1]), w, torch.tensor([1]))
    with pytest.raises(RuntimeError, match="can not be greater than input's length 2"):
        F.embedding_bag(torch.tensor([0, 1]), w, torch.tensor([0, 5]))


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: F.unfold(torch.ones(1, 2, 5, 5), 0), RuntimeError, "kernel size should be greater than zero"),
    (lambda: F.unfold(torch.ones(1, 2, 5, 5), 2, padding=-1), RuntimeError, "padding should be non-negative"),
    (lambda: F.fold(torch.ones(1, 4, 4), 3, 2, stride=0), RuntimeError, "stride should be greater than zero"),
    (lambda: F.pixel_shuffle(torch.ones(1, 4, 2, 2), 0), RuntimeError, "positive upscale_factor"),
    (lambda: F.pixel_unshuffle(torch.ones(1, 4, 2, 2), 0), RuntimeError, "positive downscale_factor"),
    (lambda: F.channel_shuffle(torch.ones(1, 4, 2, 2), 0), RuntimeError, "must be positive"),
    (lambda: F.avg_pool1d(torch.ones(1, 2, 5), 2, padding=-1), RuntimeError, "pad must be non-negative"),
    (lambda: F.max_pool1d(torch.ones(1, 2, 5), 2, padding=-1), RuntimeError, "padding must be non-negative"),
    (lambda: F.conv1d(torch.ones(1, 2, 5), torch.zeros(0, 2, 2)), RuntimeError, "expected weight to be at least 1"),
    (lambda: F.interpolate(torch.ones(1, 1, 2, 2), scale_factor=inf), RuntimeError, "without overflow"),
    (lambda: F.interpolate(torch.ones(1, 1, 2, 2), scale_factor=nan), RuntimeError, "without overflow"),
])
def test_argument_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_zero_batch():
    assert tuple(F.conv_transpose2d(torch.zeros(0, 3, 4, 5), torch.ones(3, 2, 2, 2)).shape) == (0, 2, 5, 6)
    assert tuple(F.group_norm(torch.zeros(0, 3, 4, 5), 3).shape) == (0, 3, 4, 5)


def test_norm_modules_bias_flag():
    bn = torch.nn.BatchNorm2d(3, bias=False)
    assert bn.bias is None and list(bn.state_dict().keys()) == [
        "weight", "running_mean", "running_var", "num_batches_tracked"]
    assert repr(bn) == "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=False, track_running_stats=True)"
    with pytest.raises(ValueError, match="input_size must be greater than zero"):
        torch.nn.GRU(0, 4)


def test_half_activations_compute_in_float32():
    vals = [0.1, -1.3, 2.7, -5.5, 7.9, 0.0, -0.7, 3.3, 11.1, -20.2]
    xb = torch.tensor(vals, dtype=torch.bfloat16)
    xh = torch.tensor(vals, dtype=torch.float16)
    same(F.silu(xb).float(), [0.052490234375, -0.279296875, 2.53125, -0.0223388671875, 7.90625, 0.0, -0.232421875,
                              3.171875, 11.125, -3.259629011154175e-08])
    same(F.softplus(xh, 2.0).float(), [0.399169921875, 0.03582763671875, 2.701171875, 8.344650268554688e-06,
                                       7.8984375, 0.3466796875, 0.11016845703125, 3.30078125, 11.1015625, 0.0])
    same(F.selu(xb)[6:7].float(), [-0.8828125])
    same(F.hardswish(xb)[8:9].float(), [11.125])
    same(F.layer_norm(xb, (10,)).float(), [0.044921875, -0.12890625, 0.369140625, -0.65234375, 1.015625,
                                           0.032470703125, -0.054443359375, 0.443359375, 1.4140625, -2.484375])
    same(F.avg_pool1d(xb.reshape(1, 1, 10), 3).float(), [[[0.50390625, 0.80078125, 4.5625]]])


def test_sdpa_empty_head_dim():
    q = torch.ones(1, 2, 0)
    same(F.scaled_dot_product_attention(q, q, torch.ones(1, 2, 3)), [[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]])
    x = torch.zeros(0, 0, 0, 0, dtype=torch.bfloat16)
    assert tuple(F.scaled_dot_product_attention(x, x, x).shape) == (0, 0, 0, 0)


def test_gaussian_nll_inf_and_clamped_variance():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    v = torch.tensor([inf, 0.0, 1e-9], dtype=torch.float64, requires_grad=True)
    loss = F.gaussian_nll_loss(x, torch.zeros(3, dtype=torch.float64), v, reduction="none")
    same(loss, [inf, 1999993.092244721, 4499993.092244721])
    gx, gv = torch.autograd.grad(loss.sum(), [x, v])
    same(gx, [0.0, 2000000.0, 3000000.0])
    same(gv, [0.0, -1999999500000.0, -4499999500000.0])


def _raises(exc, match, f):
    with pytest.raises(exc, match=match):
        f()


def test_loss_reduction_validated_first_and_dtype_rules():
    # an unknown reduction is a ValueError before any dtype check (after broadcasting for l1/mse)
    _raises(ValueError, "bogus is not a valid", lambda: F.l1_loss(
        torch.tensor([True]), torch.tensor([False]), reduction="bogus"))
    _raises(ValueError, "bogus is not a valid", lambda: F.cross_entropy(
        torch.tensor([[1.0]]), torch.tensor([-2]), reduction="bogus"))
    _raises(RuntimeError, "must match the size", lambda: F.mse_loss(
        torch.tensor([1, 2]), torch.tensor([1, 1, 1]), reduction="bogus"))
    _raises(RuntimeError, "result type Float can't be cast to the desired output type Long",
            lambda: F.soft_margin_loss(torch.tensor([1, 2]), torch.tensor([1, 1])))
    _raises(RuntimeError, "kl_div: Integral inputs not supported",
            lambda: F.kl_div(torch.tensor([1, 2]), torch.tensor([1, 2])))
    _raises(RuntimeError, "ignore_index is not supported for floating point target",
            lambda: F.cross_entropy(torch.zeros(2, 3), torch.zeros(2, 3), ignore_index=0))
    _raises(RuntimeError, "not differentiable with respect to argument 'pos_weight'",
            lambda: F.binary_cross_entropy_with_logits(torch.tensor([0.5]), torch.tensor([1.0]),
                                                       pos_weight=torch.ones(1, requires_grad=True)))
    # soft margin keeps the input's dtype; mse broadcasts first (a 0-d float64 input wins)
    same(F.soft_margin_loss(torch.tensor([1.0, 2.0], dtype=torch.float16), torch.tensor([1.0, -1.0]),
                            reduction="sum"), 2.439453125, torch.float16)
    same(F.mse_loss(torch.tensor(-1.0, dtype=torch.float64), torch.tensor([-0.5], dtype=torch.bfloat16)),
         0.25, torch.float64)
    # BCE with logits takes the target's dtype; integer l1 / hinge losses stay integral
    same(F.binary_cross_entropy_with_logits(torch.tensor([0.5]), torch.tensor([1.0], dtype=torch.float64)),
         0.4740769863128662, torch.float64)
    same(F.smooth_l1_loss(torch.tensor([1, -4]), torch.tensor([3, 5]), reduction="sum", beta=0.0),
         11, torch.int64)
    same(F.hinge_embedding_loss(torch.tensor([-3, 5]), torch.tensor([5, -1]), reduction="none"),
         [1, 0], torch.int64)


def test_loss_gradients_at_inf_and_nan():
    a = torch.tensor([nan, -inf, 2.0], requires_grad=True)
    F.huber_loss(a, torch.tensor([0.0, 0.0, 0.0]), reduction="sum", delta=0.5).backward()
    same(a.grad, [nan, -0.5, 0.5])
    b = torch.tensor([nan, 3.0], requires_grad=True)
    F.hinge_embedding_loss(b, torch.tensor([4.0, -1.0]), reduction="sum").backward()
    same(b.grad, [1.0, 0.0])


def test_functional_dtype_and_dim_checks():
    _raises(RuntimeError, "linalg.vector_norm: Expected a floating point", lambda: F.normalize(
        torch.tensor([[3, 4]]), dim=5))
    _raises(IndexError, "Dimension out of range", lambda: F.log_softmax(
        torch.tensor([1, 2], dtype=torch.int32), 3))
    same(F.softmax(torch.zeros(0, 3, dtype=torch.int8), 1), [], torch.int8)
    _raises(NotImplementedError, '"glu_cpu" not implemented for \'Int\'', lambda: F.glu(
        torch.zeros(4, dtype=torch.int32), 0))
    _raises(IndexError, "Dimension out of range", lambda: F.glu(torch.zeros(3), -2))
    _raises(NotImplementedError, "threshold_cpu", lambda: F.threshold(torch.tensor([True]), 0.5, 1.0))
    _raises(NotImplementedError, "slow_conv_transpose2d_out_cpu", lambda: F.conv_transpose1d(
        torch.ones(1, 1, 2, dtype=torch.int32), torch.ones(1, 1, 1, dtype=torch.int32)))
    # |x| + 1 wraps for the integer extremes before the division
    same(F.softsign(torch.tensor([2 ** 63 - 1, -2 ** 63, 3])), [-1.0, 1.0, 0.75], torch.float32)


def test_group_norm_checks_and_overflow():
    _raises(ValueError, "Expected more than 1 value per channel", lambda: F.group_norm(
        torch.tensor([[0.5], [0.0]]).t()[:, :1].expand(1, 2), 2))
    out = F.group_norm(torch.tensor([[1e20, 1e20, 1.1e20, 1e20], [1.0, 2.0, 3.0, 4.0]]), 1)
    same(out[0], [nan, nan, nan, nan])
    assert abs(out[1, 0].item() + 1.3416354656219482) < 1e-5


def test_conv_transpose_output_padding_beyond_stride():
    out = F.conv_transpose1d(torch.tensor([[[-0.75]]]), torch.tensor([[[4.0], [-1.0]]]),
                             torch.tensor([0.5, 2.0]), dilation=2, output_padding=1)
    same(out, [[[-2.5, 0.5], [2.75, 2.0]]], torch.float32)


def test_adaptive_pool_empty_output():
    same(F.adaptive_avg_pool1d(torch.ones(1, 1, 3, dtype=torch.int64), 0), [[[]]], torch.int64)
    x = torch.ones(1, 2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"adaptive_avg_pool2d_backward\(\): Expected grad_output"):
        F.adaptive_avg_pool1d(x, 0).sum().backward()


@pytest.mark.parametrize("inplace", [False, True])
def test_hardtanh_gradient_at_bounds_and_nan(inplace):
    # PyTorch 2.13: no gradient at or past a bound (hardtanh_ reads its result, so an input
    # clamped onto a bound gets none either), and NaN passes its gradient through
    nan = float("nan")
    a = torch.tensor([0.0, -2.0, nan, 1.0, 2.0, 3.0], requires_grad=True)
    x = a * 1
    y = torch.nn.functional.hardtanh(x, 0.0, 2.0, inplace=inplace)
    y.backward(torch.ones(6))
    assert a.grad.tolist() == [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    assert (y is x) == inplace
    if inplace:
        assert x[3].item() == 1.0 and x[5].item() == 2.0 and x[1].item() == 0.0
    b = torch.tensor([0.0, nan, 6.0, 3.0], requires_grad=True)
    torch.nn.functional.relu6(b * 1, inplace=True).sum().backward()
    assert b.grad.tolist() == [0.0, 1.0, 0.0, 1.0]
    c = torch.tensor([-3.0, 3.0, nan, 1.0], requires_grad=True)
    torch.nn.functional.hardsigmoid(c).sum().backward()
    assert c.grad.tolist()[:3] == [0.0, 0.0, 0.0]
