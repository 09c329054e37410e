"""``torch.backends.cusparselt``: not built into ferrotorch."""


def is_available():
    return False


def version():
    return None
