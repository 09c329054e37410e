"""``torch.backends.opt_einsum``: contraction-order optimisation through the opt_einsum package."""
import contextlib
import importlib.util


def is_available():
    """Whether the opt_einsum package is installed."""
    return importlib.util.find_spec("opt_einsum") is not None


def get_opt_einsum():
    """The opt_einsum module if installed, else None."""
    if not is_available():
        return None
    import opt_einsum
    return opt_einsum


enabled = is_available()
strategy = "auto" if enabled else None


@contextlib.contextmanager
def flags(enabled=None, strategy=None):
    g = globals()
    old = (g["enabled"], g["strategy"])
    if enabled is not None:
        g["enabled"] = enabled
    if strategy is not None:
        g["strategy"] = strategy
    try:
        yield
    finally:
        g["enabled"], g["strategy"] = old
