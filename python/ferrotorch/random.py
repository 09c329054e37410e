"""torch.random: the default CPU generator's seed and state, and fork_rng."""
import contextlib

from . import _ops

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "fork_rng", "default_generator"]

default_generator = _ops.default_generator


def manual_seed(seed):
    return _ops.manual_seed(seed)


def seed():
    return _ops.seed()


def initial_seed():
    return _ops.initial_seed()


def get_rng_state():
    return _ops.get_rng_state()


def set_rng_state(new_state):
    _ops.set_rng_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type="cuda"):
    """Restores the CPU generator's state on exit (there are no CUDA generators here)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
