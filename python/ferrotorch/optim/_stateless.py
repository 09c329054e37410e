"""``torch.optim.swap_in_optimizer_params_and_state``: run optimizer APIs against other
parameter tensors and a ``state_dict()``-shaped state, restoring the live ones afterwards."""
from __future__ import annotations

import contextlib
from collections import defaultdict

import ferrotorch as torch

__all__ = ["swap_in_optimizer_params_and_state"]

_NAME = "swap_in_optimizer_params_and_state"


def _check_inputs(optimizer, swapin_parameters, swapin_optim_state):
    """Validate the swap-in state against the live optimizer; return (state, per-group plan)."""
    if not optimizer.state:
        raise RuntimeError(f"{_NAME} requires initialized optimizer state.")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(f"{_NAME} requires a DCP-style optimizer state_dict.")
    state = swapin_optim_state.get("state")
    if not isinstance(state, dict):
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['state'] to be a dict mapping packed parameter "
            f"ids to per-param state dicts, got {type(state).__name__}."
        )
    if any(isinstance(k, torch.Tensor) for k in state):
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style state keyed by packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError(f"{_NAME} requires per-parameter optimizer state entries to be dictionaries.")
    groups = swapin_optim_state.get("param_groups")
    if not isinstance(groups, list):
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['param_groups'] to be a list of param-group dicts, "
            f"got {type(groups).__name__}."
        )
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups than the live optimizer.")

    flat = list(swapin_parameters.values())
    offset, seen, plan = 0, set(), []
    for idx, (live, new) in enumerate(zip(optimizer.param_groups, groups)):
        if not isinstance(new, dict):
            raise RuntimeError(f"{_NAME} requires each optimizer param group to be a dictionary.")
        ids = new.get("params")
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise RuntimeError(
                f"{_NAME} requires optimizer.state_dict()-style param_groups[*]['params'] entries "
                "keyed by packed parameter ids."
            )
        if len(live["params"]) != len(ids):
            raise RuntimeError(
                f"swapin_optim_state param group {idx} has a different number of params than the live "
                "optimizer param group."
            )
        only_new = [k for k in new if k not in live]
        only_live = [k for k in live if k not in new]
        if only_new or only_live:
            raise RuntimeError(
                f"{_NAME} requires optimizer.state_dict()-style param group keys to exactly match the "
                f"live optimizer group keys for group {idx}. Keys only in swap-in: {only_new}. "
                f"Keys only in live: {only_live}."
            )
        seen.update(ids)
        if offset + len(ids) > len(flat):
            raise RuntimeError(
                f"{_NAME} requires the explicit parameter state to match optimizer.param_groups ordering."
            )
        plan.append((live, new, flat[offset:offset + len(ids)]))
        offset += len(ids)
    extra = [k for k in state if k not in seen]
    if extra:
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['state'] to be keyed only by packed parameter ids "
            f"from param_groups[*]['params']; got extra keys {extra!r}."
        )
    return state, plan


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer, swapin_parameters, swapin_optim_state):
    """Temporarily replace ``optimizer``'s parameters and state by ``swapin_parameters`` (in
    ``param_groups`` order, e.g. ``dict(model.named_parameters())``) and ``swapin_optim_state``
    (an ``optimizer.state_dict()``-shaped dict); both are restored on exit. In-place tensor
    updates made inside the context reach the supplied state's tensors."""
    state, plan = _check_inputs(optimizer, swapin_parameters, swapin_optim_state)
    live_state = optimizer.state
    snapshots = [dict(g) for g in optimizer.param_groups]
    try:
        new_state = defaultdict(dict)
        for live, new, params in plan:
            live["params"] = params
            live.update({k: v for k, v in new.items() if k != "params"})
            for p, pid in zip(params, new["params"]):
                new_state[p] = dict(state.get(pid, {}))  # shallow: tensors shared, dict local
        optimizer.state = new_state
        yield
    finally:
        for group, snap in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snap)
        optimizer.state = live_state
