"""``torch.backends.nnpack``: not built into ferrotorch."""
import contextlib

enabled = True


def is_available():
    return False


def set_flags(_enabled):
    global enabled
    orig, enabled = enabled, _enabled
    return (orig,)


@contextlib.contextmanager
def flags(enabled=False):
    orig = set_flags(enabled)
    try:
        yield
    finally:
        set_flags(orig[0])
