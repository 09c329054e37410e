"""torch.nn.parallel.distributed: where some scripts import DistributedDataParallel from."""
from . import DistributedDataParallel  # noqa: F401

__all__ = ["DistributedDataParallel"]
