"""Every optimizer's step runs as one fused Rust call, and it tracks the reference
(in-place tensor ops) implementation of the same update to float32 rounding."""
import pytest

import ferrotorch as torch
import ferrotorch.optim._functional as F

CASES = [
    ("Adam", dict(lr=0.01, amsgrad=True), "_adam_step"),
    ("AdamW", dict(lr=0.01, weight_decay=0.1), "_adam_step"),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01), "_sgd_step"),
    ("SGD", dict(lr=0.01), "_sgd_step"),
    # every branch of the SGD kernel: momentum with and without decay, dampening, maximize
    ("SGD", dict(lr=0.01, momentum=0.9), "_sgd_step"),
    ("SGD", dict(lr=0.01, momentum=0.8, dampening=0.3, weight_decay=0.05), "_sgd_step"),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True), "_sgd_step"),
    ("SGD", dict(lr=0.01, weight_decay=0.1, maximize=True), "_sgd_step"),
    ("SGD", dict(lr=0.01, momentum=0.5, maximize=True), "_sgd_step"),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01), "_rmsprop_step"),
    ("RMSprop", dict(lr=0.01), "_rmsprop_step"),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01), "_adagrad_step"),
    ("Adadelta", dict(weight_decay=0.01), "_adadelta_step"),
    ("Adamax", dict(lr=0.01), "_adamax_step"),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), "_nadam_step"),
    ("RAdam", dict(lr=0.01, weight_decay=0.1), "_radam_step"),
]


def _trajectory(cls, kw, fused, monkeypatch):
    torch.manual_seed(0)
    P = [torch.randn(30, 20, requires_grad=True), torch.randn(20, requires_grad=True)]
    A = torch.randn(30, 20)
    with monkeypatch.context() as m:
        if not fused:
            m.setattr(F, "_kernel", lambda name: None)
        opt = cls(P, **kw)
        for _ in range(15):
            opt.zero_grad()
            loss = ((P[0] - A) ** 2).sum() + (P[1] ** 3).sum() * 0.1 + (P[0].sum(0) * P[1]).sum()
            loss.backward()
            opt.step()
    return [p.detach().clone() for p in P]


@pytest.mark.parametrize("name,kw,kernel", CASES)
def test_fused_step_matches_reference(name, kw, kernel, monkeypatch):
    cls = getattr(torch.optim, name)
    calls = []
    real = getattr(torch._C, kernel)
    monkeypatch.setattr(torch._C, kernel, lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    fused = _trajectory(cls, kw, True, monkeypatch)
    assert calls, f"{kernel} was not used"
    ref = _trajectory(cls, kw, False, monkeypatch)
    for f, r in zip(fused, ref):
        assert float((f - r).abs().max()) < 1e-5


def test_fused_step_falls_back_for_other_dtypes():
    # float16 parameters are not covered by the fused kernels: the reference path runs instead
    p = torch.ones(4, dtype=torch.float16, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.1)
    p.sum().backward()
    opt.step()
    assert p.dtype == torch.float16 and float(p[0]) < 1.0
