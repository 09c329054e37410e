"""torch.cuda on a build without a usable GPU: queries answer honestly, allocation raises."""


def is_available():
    return False


def device_count():
    return 0


def manual_seed(seed):
    pass


def manual_seed_all(seed):
    pass


def synchronize(device=None):
    pass


def empty_cache():
    pass


def current_device():
    raise RuntimeError("Torch not compiled with CUDA enabled")


def is_bf16_supported():
    return False


def get_device_name(device=None):
    raise RuntimeError("Torch not compiled with CUDA enabled")


class amp:
    pass
