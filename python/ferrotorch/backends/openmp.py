"""``torch.backends.openmp``: ferrotorch parallelises with its own thread pool, not OpenMP."""


def is_available():
    return False
