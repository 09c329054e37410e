"""Finite-difference checks of analytic gradients (float64 inputs, like torch)."""
import numpy as np

from .._core import Tensor


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _numerical_jacobian(fn, inputs, i, eps):
    import ferrotorch as torch
    x = inputs[i]
    # a non-contiguous input is perturbed element by element (reshape(-1) would copy it)
    xd = x.detach()
    flat = xd.reshape(-1) if xd.is_contiguous() else None
    shape = tuple(x.shape)

    def at(k):
        return k if flat is not None else tuple(int(j) for j in np.unravel_index(k, shape))
    outs0 = _as_tuple(fn(*inputs))
    n_out = sum(o.numel() for o in outs0 if isinstance(o, Tensor))
    J = np.zeros((x.numel(), n_out))

    def evaluate():
        # grad mode stays on: the function may itself differentiate (gradgradcheck)
        return np.concatenate([o.detach().reshape(-1).to(torch.float64).numpy() for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor)])

    def poke(k, v):
        with torch.no_grad():
            (flat if flat is not None else xd)[at(k)] = v
    for k in range(x.numel()):
        orig = (flat if flat is not None else xd)[at(k)].item()
        poke(k, orig + eps)
        plus = evaluate()
        poke(k, orig - eps)
        minus = evaluate()
        poke(k, orig)
        J[k] = (plus - minus) / (2 * eps)
    return J


def _analytic_jacobian(fn, inputs, i, create_graph=False):
    import ferrotorch as torch
    outs = [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor)]
    n_out = sum(o.numel() for o in outs)
    J = np.zeros((inputs[i].numel(), n_out))
    col = 0
    for o in outs:
        flat = o.reshape(-1)
        for j in range(o.numel()):
            if not o.requires_grad:
                col += 1
                continue
            g = torch.autograd.grad(flat[j], [inputs[i]], retain_graph=True, allow_unused=True)[0]
            if g is not None:
                J[:, col] = g.detach().reshape(-1).to(torch.float64).numpy()
            col += 1
    return J


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False, fast_mode=False, masked=None, **kw):
    inputs = _as_tuple(inputs)
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        num = _numerical_jacobian(func, inputs, i, eps)
        ana = _analytic_jacobian(func, inputs, i)
        if not np.allclose(ana, num, rtol=rtol, atol=atol):
            if raise_exception:
                raise GradcheckError(f"Jacobian mismatch for output 0 with respect to input {i},\nnumerical:{num}\nanalytical:{ana}\n")
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, gen_non_contig_grad_outputs=False,
                  raise_exception=True, **kw):
    import ferrotorch as torch
    inputs = _as_tuple(inputs)
    outs = _as_tuple(func(*inputs))
    if grad_outputs is None:
        torch.manual_seed(0)
        grad_outputs = tuple(torch.randn(tuple(o.shape), dtype=o.dtype).requires_grad_() for o in outs if isinstance(o, Tensor))
    grad_outputs = _as_tuple(grad_outputs)
    diff_in = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]

    def first_grad(*args):
        ins = args[:len(inputs)]
        gos = args[len(inputs):]
        o = [t for t in _as_tuple(func(*ins)) if isinstance(t, Tensor)]
        dins = [x for x in ins if isinstance(x, Tensor) and x.requires_grad]
        return torch.autograd.grad(o, dins, gos, create_graph=True, allow_unused=True)
    del diff_in
    return gradcheck(first_grad, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
