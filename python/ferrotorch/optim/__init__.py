"""``ferrotorch.optim``: optimizers and learning-rate schedulers with PyTorch's API.

Every optimizer's ``step()`` makes one call per parameter group into
:mod:`ferrotorch.optim._functional`, which uses a fused multi-tensor kernel from
``ferrotorch._C`` when the core provides one.
"""
from . import _functional, lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Adadelta",
    "Adagrad",
    "Adam",
    "Adamax",
    "AdamW",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "SGD",
    "lr_scheduler",
]
