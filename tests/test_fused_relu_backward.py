"""ReLU's backward runs as one fused kernel when no graph is recorded; values recorded from
PyTorch 2.13 (threshold_backward: a NaN output lets the gradient through)."""
import ferrotorch as torch


def test_relu_backward_values_nan_and_signed_zero():
    x = torch.tensor([-1.0, 0.0, 2.0, float("nan"), -0.0], requires_grad=True)
    torch.relu(x).backward(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert x.grad.tolist() == [0.0, 0.0, 3.0, 4.0, 0.0]


def test_relu_backward_broadcast_gradient_and_float64():
    xb = torch.tensor([[-1.0, 2.0], [3.0, -4.0]], dtype=torch.float64, requires_grad=True)
    torch.relu(xb).backward(torch.tensor([5.0, 6.0], dtype=torch.float64).expand(2, 2))
    assert xb.grad.dtype == torch.float64
    assert xb.grad.tolist() == [[0.0, 6.0], [5.0, 0.0]]


def test_relu_double_backward_keeps_the_composite_graph():
    x = torch.tensor([-1.0, 0.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(torch.relu(x).pow(2).sum(), x, create_graph=True)
    assert g.tolist() == [0.0, 0.0, 4.0, 6.0]
    assert g.grad_fn is not None
    (gg,) = torch.autograd.grad(g.sum(), x)
    assert gg.tolist() == [0.0, 0.0, 2.0, 2.0]
