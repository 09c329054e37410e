"""``torch.distributed`` on MPI (mpi4py): process groups, collectives, object collectives.

Start ranks with ``python -m ferrotorch.distributed.run --nproc-per-node N script.py`` (torchrun's
command line) or ``mpiexec -n N python script.py``; then ``init_process_group("gloo")`` as with
PyTorch. Needs ``pip install ferrotorch[distributed]``; importing this module does not start MPI."""
from . import constants
from .distributed_c10d import *  # noqa: F401,F403
from .distributed_c10d import (  # noqa: F401
    Backend, DistBackendError, DistError, DistNetworkError, DistStoreError, GroupMember, P2POp, ProcessGroup,
    ReduceOp, Work, group, is_available, init_process_group,
)

reduce_op = ReduceOp
