"""torch.autograd.functional: jacobian, hessian, vjp, jvp, hvp, vhp (reverse mode)."""
from .._core import Tensor


def _tuple(x):
    return (x,) if isinstance(x, Tensor) else tuple(x)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    import ferrotorch as torch
    single = isinstance(inputs, Tensor)
    ins = tuple(x.detach().requires_grad_() for x in _tuple(inputs))
    out = func(*ins)
    g = torch.autograd.grad(out, ins, v, create_graph=create_graph, allow_unused=True)
    g = tuple(torch.zeros_like(i) if x is None else x for x, i in zip(g, ins))
    return out.detach() if not create_graph else out, (g[0] if single else g)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    import ferrotorch as torch
    single = isinstance(inputs, Tensor)
    ins = tuple(x.detach().requires_grad_() for x in _tuple(inputs))
    out = func(*ins)
    flat = out.reshape(-1)
    rows = [[] for _ in ins]
    for j in range(flat.numel()):
        g = torch.autograd.grad(flat[j], ins, retain_graph=True, create_graph=create_graph, allow_unused=True)
        for k, (gi, x) in enumerate(zip(g, ins)):
            rows[k].append(torch.zeros_like(x) if gi is None else gi)
    jac = tuple(torch.stack(r).reshape(*out.shape, *x.shape) for r, x in zip(rows, ins))
    return jac[0] if single else jac


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    import ferrotorch as torch
    single = isinstance(inputs, Tensor)

    def grad_fn(*xs):
        y = func(*xs)
        g = torch.autograd.grad(y, xs, create_graph=True)
        return g[0] if single else torch.cat([t.reshape(-1) for t in g])
    return jacobian(grad_fn, inputs, create_graph=create_graph)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    import ferrotorch as torch
    single = isinstance(inputs, Tensor)
    ins = tuple(x.detach().requires_grad_() for x in _tuple(inputs))
    out = func(*ins)
    g = torch.autograd.grad(out, ins, create_graph=True)
    vs = _tuple(v)
    dot = sum((gi * vi).sum() for gi, vi in zip(g, vs))
    h = torch.autograd.grad(dot, ins, create_graph=create_graph)
    return out.detach(), (h[0] if single else h)


vhp = hvp
