"""``torch.backends.mkl``: ferrotorch is not built with oneMKL (``is_available()`` is False)."""

VERBOSE_OFF = 0
VERBOSE_ON = 1


def is_available():
    return False


class verbose:
    """On-demand oneMKL verbose logging: a no-op context manager here."""

    def __init__(self, enable):
        self.enable = enable

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
