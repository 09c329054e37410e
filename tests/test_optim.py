"""Optimizers and LR schedulers against independent numpy implementations of
PyTorch's update rules, plus state_dict / hooks / API checks."""
import copy
import inspect
import json
import math
import os
import warnings

import numpy as np
import pytest

import ferrotorch as torch
from ferrotorch import optim
from ferrotorch.optim import lr_scheduler

CONF = "/work/shared/conformance"
f32 = np.float32


# --------------------------------------------------------------------------- harness
def _problem(seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal((3, 4)).astype(f32), rng.standard_normal(5).astype(f32)]
    targets = [rng.standard_normal((3, 4)).astype(f32), rng.standard_normal(5).astype(f32)]
    return init, targets


def _grad(p, t):
    """Gradient of sum((p - t)^2) + 0.025 * sum(p^4), in float32."""
    return (f32(2) * (p - t) + f32(0.1) * p * p * p).astype(f32)


def run_ferrotorch(make_opt, steps=12, seed=0):
    init, targets = _problem(seed)
    params = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = make_opt(params)
    hist = []
    for _ in range(steps):
        for p, t in zip(params, targets):
            p.grad = torch.tensor(_grad(p.detach().numpy(), t))
        opt.step()
        hist.append([p.detach().numpy().copy() for p in params])
    return hist, opt, params


def run_reference(update, steps=12, seed=0):
    init, targets = _problem(seed)
    params = [a.copy() for a in init]
    states = [dict() for _ in params]
    hist = []
    for _ in range(steps):
        for i, t in enumerate(targets):
            g = _grad(params[i], t)
            params[i] = update(params[i], g, states[i]).astype(f32)
        hist.append([p.copy() for p in params])
    return hist


def assert_trajectories_close(h1, h2, rtol=1e-4, atol=1e-6):
    assert len(h1) == len(h2)
    for step, (a, b) in enumerate(zip(h1, h2)):
        for i, (x, y) in enumerate(zip(a, b)):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"step {step} param {i}")


# --------------------------------------------------------------------------- numpy references
def lerp(a, b, w):
    return a + f32(w) * (b - a)


def sgd_ref(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    def upd(p, g, st):
        g = -g if maximize else g
        if weight_decay:
            g = g + f32(weight_decay) * p
        if momentum:
            if "buf" not in st:
                st["buf"] = g.copy()
            else:
                st["buf"] = st["buf"] * f32(momentum) + f32(1 - dampening) * g
            g = g + f32(momentum) * st["buf"] if nesterov else st["buf"]
        return p - f32(lr) * g
    return upd


def adam_ref(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False, decoupled=False):
    b1, b2 = betas

    def upd(p, g, st):
        g = -g if maximize else g
        st["step"] = st.get("step", 0) + 1
        m = st.setdefault("m", np.zeros_like(p))
        v = st.setdefault("v", np.zeros_like(p))
        if weight_decay:
            if decoupled:
                p = p * f32(1 - lr * weight_decay)
            else:
                g = g + f32(weight_decay) * p
        m = lerp(m, g, 1 - b1)
        v = v * f32(b2) + f32(1 - b2) * g * g
        st["m"], st["v"] = m, v
        step = st["step"]
        bc1 = 1 - b1 ** step
        bc2 = 1 - b2 ** step
        if amsgrad:
            vmax = np.maximum(st.get("vmax", np.zeros_like(p)), v)
            st["vmax"] = vmax
            denom = np.sqrt(vmax) / f32(bc2 ** 0.5) + f32(eps)
        else:
            denom = np.sqrt(v) / f32(bc2 ** 0.5) + f32(eps)
        return p - f32(lr / bc1) * (m / denom)
    return upd


def rmsprop_ref(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    def upd(p, g, st):
        g = -g if maximize else g
        if weight_decay:
            g = g + f32(weight_decay) * p
        sq = st.get("sq", np.zeros_like(p)) * f32(alpha) + f32(1 - alpha) * g * g
        st["sq"] = sq
        if centered:
            ga = lerp(st.get("ga", np.zeros_like(p)), g, 1 - alpha)
            st["ga"] = ga
            avg = np.sqrt(sq - ga * ga)
        else:
            avg = np.sqrt(sq)
        avg = avg + f32(eps)
        if momentum > 0:
            buf = st.get("buf", np.zeros_like(p)) * f32(momentum) + g / avg
            st["buf"] = buf
            return p - f32(lr) * buf
        return p - f32(lr) * (g / avg)
    return upd


def adagrad_ref(lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    def upd(p, g, st):
        st["step"] = st.get("step", 0) + 1
        g = -g if maximize else g
        if weight_decay:
            g = g + f32(weight_decay) * p
        clr = lr / (1 + (st["step"] - 1) * lr_decay)
        s = st.get("sum", np.full_like(p, initial_accumulator_value)) + g * g
        st["sum"] = s
        return p - f32(clr) * (g / (np.sqrt(s) + f32(eps)))
    return upd


def adadelta_ref(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    def upd(p, g, st):
        g = -g if maximize else g
        if weight_decay:
            g = g + f32(weight_decay) * p
        sq = st.get("sq", np.zeros_like(p)) * f32(rho) + f32(1 - rho) * g * g
        acc = st.get("acc", np.zeros_like(p))
        std = np.sqrt(sq + f32(eps))
        delta = np.sqrt(acc + f32(eps)) / std * g
        st["acc"] = acc * f32(rho) + f32(1 - rho) * delta * delta
        st["sq"] = sq
        return p - f32(lr) * delta
    return upd


def adamax_ref(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    b1, b2 = betas

    def upd(p, g, st):
        g = -g if maximize else g
        st["step"] = st.get("step", 0) + 1
        if weight_decay:
            g = g + f32(weight_decay) * p
        m = lerp(st.get("m", np.zeros_like(p)), g, 1 - b1)
        u = np.maximum(st.get("u", np.zeros_like(p)) * f32(b2), np.abs(g) + f32(eps))
        st["m"], st["u"] = m, u
        clr = lr / (1 - b1 ** st["step"])
        return p - f32(clr) * (m / u)
    return upd


def nadam_ref(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3, decoupled=False):
    b1, b2 = betas

    def upd(p, g, st):
        st["step"] = st.get("step", 0) + 1
        step = st["step"]
        bc2 = 1 - b2 ** step
        if weight_decay:
            if decoupled:
                p = p * f32(1 - lr * weight_decay)
            else:
                g = g + f32(weight_decay) * p
        mu = b1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        # mu_product is a float32 scalar tensor in PyTorch
        st["mu_prod"] = float(f32(st.get("mu_prod", 1.0)) * f32(mu))
        m = lerp(st.get("m", np.zeros_like(p)), g, 1 - b1)
        v = st.get("v", np.zeros_like(p)) * f32(b2) + f32(1 - b2) * g * g
        st["m"], st["v"] = m, v
        denom = np.sqrt(v / f32(bc2)) + f32(eps)
        mp = st["mu_prod"]
        p = p + f32(-lr * (1.0 - mu) / (1.0 - mp)) * (g / denom)
        return p + f32(-lr * mu_next / (1.0 - mp * mu_next)) * (m / denom)
    return upd


def radam_ref(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    b1, b2 = betas

    def upd(p, g, st):
        st["step"] = st.get("step", 0) + 1
        step = st["step"]
        if weight_decay:
            if decoupled:
                p = p * f32(1 - lr * weight_decay)
            else:
                g = g + f32(weight_decay) * p
        m = lerp(st.get("m", np.zeros_like(p)), g, 1 - b1)
        v = st.get("v", np.zeros_like(p)) * f32(b2) + f32(1 - b2) * g * g
        st["m"], st["v"] = m, v
        bc1 = 1 - b1 ** step
        bc2 = 1 - b2 ** step
        mhat = m / f32(bc1)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * step * (b2 ** step) / bc2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = f32(bc2 ** 0.5) / (np.sqrt(v) + f32(eps))
            return p - mhat * f32(lr) * adaptive * f32(rect)
        return p - mhat * f32(lr)
    return upd


CASES = [
    ("sgd", lambda P: optim.SGD(P, lr=0.05), sgd_ref(0.05)),
    ("sgd_momentum", lambda P: optim.SGD(P, lr=0.05, momentum=0.9), sgd_ref(0.05, momentum=0.9)),
    ("sgd_dampening_wd", lambda P: optim.SGD(P, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1),
     sgd_ref(0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    ("sgd_nesterov", lambda P: optim.SGD(P, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
     sgd_ref(0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("sgd_maximize", lambda P: optim.SGD(P, lr=0.01, momentum=0.5, maximize=True),
     sgd_ref(0.01, momentum=0.5, maximize=True)),
    ("adam", lambda P: optim.Adam(P, lr=0.01), adam_ref(0.01)),
    ("adam_wd_betas", lambda P: optim.Adam(P, lr=0.02, betas=(0.8, 0.9), weight_decay=0.1),
     adam_ref(0.02, betas=(0.8, 0.9), weight_decay=0.1)),
    ("adam_amsgrad_max", lambda P: optim.Adam(P, lr=0.01, amsgrad=True, maximize=True),
     adam_ref(0.01, amsgrad=True, maximize=True)),
    ("adam_decoupled", lambda P: optim.Adam(P, lr=0.01, weight_decay=0.2, decoupled_weight_decay=True),
     adam_ref(0.01, weight_decay=0.2, decoupled=True)),
    ("adamw", lambda P: optim.AdamW(P, lr=0.01), adam_ref(0.01, weight_decay=1e-2, decoupled=True)),
    ("adamw_amsgrad", lambda P: optim.AdamW(P, lr=0.01, weight_decay=0.3, amsgrad=True),
     adam_ref(0.01, weight_decay=0.3, amsgrad=True, decoupled=True)),
    ("rmsprop", lambda P: optim.RMSprop(P, lr=0.01), rmsprop_ref(0.01)),
    ("rmsprop_full", lambda P: optim.RMSprop(P, lr=0.01, alpha=0.9, momentum=0.9, centered=True, weight_decay=0.01),
     rmsprop_ref(0.01, alpha=0.9, momentum=0.9, centered=True, weight_decay=0.01)),
    ("adagrad", lambda P: optim.Adagrad(P, lr=0.1), adagrad_ref(0.1)),
    ("adagrad_full", lambda P: optim.Adagrad(P, lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5),
     adagrad_ref(0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("adadelta", lambda P: optim.Adadelta(P), adadelta_ref()),
    ("adadelta_full", lambda P: optim.Adadelta(P, lr=0.5, rho=0.8, weight_decay=0.1, maximize=True),
     adadelta_ref(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("adamax", lambda P: optim.Adamax(P, lr=0.01), adamax_ref(0.01)),
    ("adamax_wd", lambda P: optim.Adamax(P, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1),
     adamax_ref(0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("nadam", lambda P: optim.NAdam(P, lr=0.01), nadam_ref(0.01)),
    ("nadam_wd", lambda P: optim.NAdam(P, lr=0.01, weight_decay=0.1, momentum_decay=0.01),
     nadam_ref(0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("nadamw", lambda P: optim.NAdam(P, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
     nadam_ref(0.01, weight_decay=0.1, decoupled=True)),
    ("radam", lambda P: optim.RAdam(P, lr=0.01), radam_ref(0.01)),
    ("radam_wd", lambda P: optim.RAdam(P, lr=0.01, weight_decay=0.1), radam_ref(0.01, weight_decay=0.1)),
    ("radamw", lambda P: optim.RAdam(P, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
     radam_ref(0.01, weight_decay=0.1, decoupled=True)),
]


@pytest.mark.parametrize("name,make,ref", CASES, ids=[c[0] for c in CASES])
def test_trajectory_matches_reference(name, make, ref):
    got, opt, params = run_ferrotorch(make)
    want = run_reference(ref)
    assert_trajectories_close(got, want)


@pytest.mark.parametrize("name,make,ref", CASES, ids=[c[0] for c in CASES])
def test_state_step_is_float32_scalar_tensor(name, make, ref):
    _, opt, params = run_ferrotorch(make, steps=3)
    for p in params:
        st = opt.state[p]
        if "step" in st:
            assert isinstance(st["step"], torch.Tensor)
            assert st["step"].dtype == torch.float32
            assert st["step"].dim() == 0
            assert st["step"].item() == 3.0


def test_conformance_optim_trajectories_with_autograd():
    """The corpus' optimizer trajectories, recorded from PyTorch (uses autograd)."""
    mdata = json.load(open(os.path.join(CONF, "modules.json")))
    arrays = dict(np.load(os.path.join(CONF, "modules.npz")))
    for c in mdata["optims"]:
        P = [torch.tensor(arrays[k]).requires_grad_(True) for k in c["init"]]
        A = torch.tensor(arrays[c["A"]])
        opt = eval(c["ctor"], {"torch": torch, "P": P})
        for step, keys in enumerate(c["trajectory"]):
            opt.zero_grad()
            loss = eval(c["loss"], {"P": P, "A": A})
            loss.backward()
            opt.step()
            for i, (p, key) in enumerate(zip(P, keys)):
                np.testing.assert_allclose(p.detach().numpy(), arrays[key], rtol=1e-4, atol=1e-5,
                                           err_msg=f"{c['ctor']} step {step} param {i}")


# --------------------------------------------------------------------------- API behaviour
def test_param_groups_and_defaults():
    init, _ = _problem()
    a = torch.tensor(init[0], requires_grad=True)
    b = torch.tensor(init[1], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert len(opt.param_groups) == 2
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[1]["params"][0] is b
    assert opt.defaults["lr"] == 0.1
    c = torch.zeros(3, requires_grad=True)
    opt.add_param_group({"params": [c], "weight_decay": 0.3})
    assert opt.param_groups[2]["weight_decay"] == 0.3 and opt.param_groups[2]["lr"] == 0.1
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(TypeError, match="sets will change"):
        optim.SGD([{"params": {a}}], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam([a], lr=-1.0)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0"):
        optim.Adam([a], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([a], lr=0.1, nesterov=True)


def test_state_keyed_by_tensor_identity():
    a = torch.zeros(3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = torch.ones(3)
    b.grad = torch.ones(3)
    opt.step()
    assert set(map(id, opt.state.keys())) == {id(a), id(b)}
    assert opt.state[a]["exp_avg"] is not opt.state[b]["exp_avg"]
    assert sorted(opt.state[a].keys()) == ["exp_avg", "exp_avg_sq", "step"]


def test_param_without_grad_is_skipped():
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = torch.ones(2)
    opt.step()
    assert b.tolist() == [1.0, 1.0]
    assert b not in opt.state or len(opt.state[b]) == 0
    assert a.tolist() != [1.0, 1.0]


def test_zero_grad():
    a = torch.ones(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    a.grad = torch.full((2,), 3.0)
    g = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and a.grad.tolist() == [0.0, 0.0]
    assert g.tolist() == [0.0, 0.0]  # zeroed in place
    opt.zero_grad()
    assert a.grad is None


def test_closure_is_called_with_grad_enabled():
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    loss = opt.step(closure)
    assert calls == [5.0]
    assert loss.item() == 5.0
    np.testing.assert_allclose(w.detach().numpy(), [0.8, -1.6], rtol=1e-6)


def test_state_dict_format_like_torch():
    a = torch.zeros(2, 2, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = torch.ones(2, 2)
    b.grad = torch.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert set(sd.keys()) == {"state", "param_groups"}
    assert sorted(sd["state"].keys()) == [0, 1]
    assert sd["param_groups"][0]["params"] == [0]
    assert sd["param_groups"][1]["params"] == [1]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert list(sd["param_groups"][0].keys()) == [
        "lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable",
        "differentiable", "fused", "decoupled_weight_decay", "params"]
    assert sd["state"][0]["exp_avg"] is opt.state[a]["exp_avg"]


@pytest.mark.parametrize("name,make,ref", CASES, ids=[c[0] for c in CASES])
def test_state_dict_round_trip_continues_identically(name, make, ref):
    full, _, _ = run_ferrotorch(make, steps=8)

    init, targets = _problem()
    params = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = make(params)
    for _ in range(4):
        for p, t in zip(params, targets):
            p.grad = torch.tensor(_grad(p.detach().numpy(), t))
        opt.step()
    sd = copy.deepcopy(opt.state_dict())
    # fresh parameters / optimizer, restored from the state dict
    params2 = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params]
    opt2 = make(params2)
    opt2.load_state_dict(sd)
    for st in opt2.state.values():
        for k, v in st.items():
            if isinstance(v, torch.Tensor) and k != "step" and k != "mu_product":
                assert v.dtype == torch.float32
    for _ in range(4):
        for p, t in zip(params2, targets):
            p.grad = torch.tensor(_grad(p.detach().numpy(), t))
        opt2.step()
    for x, y in zip(full[-1], [p.detach().numpy() for p in params2]):
        np.testing.assert_array_equal(x, y)


def test_load_state_dict_casts_to_param_dtype():
    a = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    sd = {"state": {0: {"step": torch.tensor(2.0), "exp_avg": torch.ones(3), "exp_avg_sq": torch.ones(3)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(sd)
    assert opt.state[a]["exp_avg"].dtype == torch.float64
    assert opt.state[a]["step"].dtype == torch.float32
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})


def test_state_dict_save_load_through_serialization(tmp_path):
    init, targets = _problem()
    params = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = optim.AdamW(params, lr=0.01, amsgrad=True)
    for p, t in zip(params, targets):
        p.grad = torch.tensor(_grad(p.detach().numpy(), t))
    opt.step()
    torch.save(opt.state_dict(), tmp_path / "opt.pt")
    sd = torch.load(tmp_path / "opt.pt")
    opt2 = optim.AdamW([torch.tensor(p.detach().numpy(), requires_grad=True) for p in params], lr=0.01, amsgrad=True)
    opt2.load_state_dict(sd)
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    for i in range(2):
        for k in ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            np.testing.assert_array_equal(opt2.state_dict()["state"][i][k].numpy(), opt.state_dict()["state"][i][k].numpy())


def test_repr_like_torch():
    a = torch.zeros(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    assert repr(opt) == (
        "SGD (\n"
        "Parameter Group 0\n"
        "    dampening: 0\n"
        "    differentiable: False\n"
        "    foreach: None\n"
        "    fused: None\n"
        "    lr: 0.1\n"
        "    maximize: False\n"
        "    momentum: 0.9\n"
        "    nesterov: False\n"
        "    weight_decay: 0\n"
        ")"
    )


def test_signatures_accept_torch_keywords():
    sig = inspect.signature(optim.AdamW)
    for k in ("foreach", "fused", "capturable", "differentiable", "maximize", "amsgrad"):
        assert k in sig.parameters
        assert sig.parameters[k].kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    assert sig.parameters["weight_decay"].default == 1e-2
    assert inspect.signature(optim.Adadelta).parameters["lr"].default == 1.0
    a = torch.zeros(2, requires_grad=True)
    optim.Adam([a], foreach=False, fused=None, capturable=False, differentiable=False)
    optim.SGD([a], lr=0.1, foreach=None, fused=None, differentiable=False)


def test_step_hooks():
    a = torch.zeros(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    seen = []
    h1 = opt.register_step_pre_hook(lambda o, args, kwargs: seen.append("pre"))
    h2 = opt.register_step_post_hook(lambda o, args, kwargs: seen.append("post"))
    a.grad = torch.ones(2)
    opt.step()
    assert seen == ["pre", "post"]
    h1.remove()
    h2.remove()
    opt.step()
    assert seen == ["pre", "post"]


def test_fused_kernel_is_used_when_core_provides_it(monkeypatch):
    from ferrotorch.optim import _functional

    calls = []

    def fake(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, **kw):
        calls.append(kw)

    monkeypatch.setattr(_functional, "_kernel", lambda name: fake if name == "_adam_step" else None)
    a = torch.zeros(2, requires_grad=True)
    opt = optim.AdamW([a], lr=0.1)
    a.grad = torch.ones(2)
    opt.step()
    assert len(calls) == 1
    assert calls[0]["decoupled_weight_decay"] is True and calls[0]["lr"] == 0.1
    assert set(calls[0]) == {"amsgrad", "beta1", "beta2", "lr", "weight_decay", "eps", "maximize",
                             "decoupled_weight_decay"}


def test_lr_as_tensor():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([a], lr=torch.tensor(0.5))
    a.grad = torch.ones(2)
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [0.5, 1.5])


# --------------------------------------------------------------------------- schedulers
def _lrs(make_sched, n=12, lr=0.1, opt_cls=None):
    p = torch.zeros(2, requires_grad=True)
    opt = (opt_cls or (lambda ps: optim.SGD(ps, lr=lr)))([p])
    sched = make_sched(opt)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return out, opt, sched


def test_conformance_schedulers():
    mdata = json.load(open(os.path.join(CONF, "modules.json")))
    for c in mdata["scheds"]:
        got, _, _ = _lrs(lambda O: eval(c["ctor"], {"torch": torch, "O": O}), n=10)
        np.testing.assert_allclose(got, c["lrs"], rtol=1e-12, atol=1e-15, err_msg=c["ctor"])


def test_steplr_multistep_exponential_closed_forms():
    got, _, _ = _lrs(lambda o: lr_scheduler.StepLR(o, step_size=4, gamma=0.3))
    np.testing.assert_allclose(got, [0.1 * 0.3 ** (e // 4) for e in range(12)], rtol=1e-12)
    got, _, _ = _lrs(lambda o: lr_scheduler.MultiStepLR(o, milestones=[3, 3, 7], gamma=0.5))
    np.testing.assert_allclose(got, [0.1 * 0.5 ** (2 * (e >= 3) + (e >= 7)) for e in range(12)], rtol=1e-12)
    got, _, _ = _lrs(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.8))
    np.testing.assert_allclose(got, [0.1 * 0.8 ** e for e in range(12)], rtol=1e-12)


def test_cosine_annealing_recursive_matches_closed_form_within_first_period():
    T, eta = 8, 0.001
    got, _, _ = _lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=eta), n=T + 1)
    want = [eta + (0.1 - eta) * (1 + math.cos(math.pi * e / T)) / 2 for e in range(T + 1)]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_cosine_warm_restarts_tmult():
    got, _, _ = _lrs(lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=0.01), n=8)
    # periods: [0,2), [2,6), [6,14)
    tc = [0, 1, 0, 1, 2, 3, 0, 1]
    ti = [2, 2, 4, 4, 4, 4, 8, 8]
    want = [0.01 + 0.09 * (1 + math.cos(math.pi * c / i)) / 2 for c, i in zip(tc, ti)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_lambda_multiplicative_linear_constant_polynomial():
    got, _, _ = _lrs(lambda o: lr_scheduler.LambdaLR(o, lambda e: 0.9 ** e))
    np.testing.assert_allclose(got, [0.1 * 0.9 ** e for e in range(12)], rtol=1e-12)
    got, _, _ = _lrs(lambda o: lr_scheduler.MultiplicativeLR(o, lambda e: 0.5))
    np.testing.assert_allclose(got, [0.1 * 0.5 ** e for e in range(12)], rtol=1e-12)
    got, _, _ = _lrs(lambda o: lr_scheduler.LinearLR(o, start_factor=0.5, end_factor=1.0, total_iters=5))
    np.testing.assert_allclose(got, [0.1 * (0.5 + 0.5 * min(e, 5) / 5) for e in range(12)], rtol=1e-12)
    got, _, _ = _lrs(lambda o: lr_scheduler.ConstantLR(o, factor=0.25, total_iters=4))
    np.testing.assert_allclose(got, [0.025 if e < 4 else 0.1 for e in range(12)], rtol=1e-12)
    got, _, _ = _lrs(lambda o: lr_scheduler.PolynomialLR(o, total_iters=6, power=1.5))
    np.testing.assert_allclose(got, [0.1 * (1 - min(e, 6) / 6) ** 1.5 for e in range(12)], rtol=1e-10, atol=1e-15)


def test_one_cycle():
    total = 10
    got, opt, _ = _lrs(lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=total), n=total,
                       opt_cls=lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9))
    assert got[0] == pytest.approx(1.0 / 25)
    assert max(got) == pytest.approx(got[2]) and got[2] == pytest.approx(1.0)  # pct_start 0.3 -> peak at step 2
    # cosine annealing in phase 1: end_step = 0.3*10 - 1 = 2
    assert got[1] == pytest.approx(1.0 + (0.04 - 1.0) / 2 * (math.cos(math.pi * 0.5) + 1))
    assert got[-1] == pytest.approx(1.0 / 25 / 1e4)
    _, opt, sched = _lrs(lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=total), n=1,
                         opt_cls=lambda ps: optim.Adam(ps, lr=0.1))
    assert opt.param_groups[0]["betas"][0] < 0.95


def test_cyclic_lr_triangular():
    got, opt, _ = _lrs(lambda o: lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.05, step_size_up=4), n=12,
                       opt_cls=lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9))
    want = [0.01 + 0.04 * (1 - abs(e % 8 - 4) / 4) for e in range(12)]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_chained_and_sequential():
    got, _, _ = _lrs(lambda o: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ConstantLR(o, factor=0.5, total_iters=3), lr_scheduler.ExponentialLR(o, gamma=0.9)]))
    want = [0.1 * 0.9 ** e * (0.5 if e < 3 else 1.0) for e in range(12)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got, _, _ = _lrs(lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.ConstantLR(o, factor=0.1, total_iters=2), lr_scheduler.ExponentialLR(o, gamma=0.9)],
        milestones=[3]))
    want = [0.01, 0.01, 0.1, 0.1, 0.09, 0.081, 0.0729, 0.06561, 0.059049, 0.0531441, 0.04782969, 0.043046721]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_reduce_lr_on_plateau():
    p = torch.zeros(2, requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, cooldown=1, min_lr=0.1)
    lrs = []
    for metric in [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]:
        sched.step(metric)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]
    assert sched.get_last_lr() == [0.25]
    sched2 = lr_scheduler.ReduceLROnPlateau(opt, mode="max", threshold_mode="abs", threshold=0.1, patience=0)
    sched2.step(1.0)
    sched2.step(1.05)  # not better by > 0.1 -> reduce
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)  # default factor 0.1
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)


def test_scheduler_state_dict_and_initial_lr():
    p = torch.zeros(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    s = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    assert opt.param_groups[0]["initial_lr"] == 0.1
    assert s.base_lrs == [0.1] and s.last_epoch == 0 and s.get_last_lr() == [0.1]
    for _ in range(3):
        opt.step()
        s.step()
    sd = s.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 3 and sd["step_size"] == 2
    p2 = torch.zeros(2, requires_grad=True)
    opt2 = optim.SGD([p2], lr=0.1)
    s2 = lr_scheduler.StepLR(opt2, step_size=7, gamma=0.9)
    s2.load_state_dict(sd)
    assert s2.last_epoch == 3 and s2.step_size == 2 and s2.gamma == 0.5
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), step_size=1, last_epoch=3)


def test_scheduler_warns_when_stepped_before_optimizer():
    p = torch.zeros(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    s = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
