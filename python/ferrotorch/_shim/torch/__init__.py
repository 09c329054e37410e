"""A stand-in ``torch`` package for the processes a program under ``python -m ferrotorch.run``
starts (multiprocessing spawn workers, ``subprocess`` Pythons): ``ferrotorch.run`` puts this
directory on their path, and the first ``import torch`` installs the alias and hands back
ferrotorch itself."""
_ferrotorch_shim = True

from ferrotorch._torch_alias import install_as_torch  # noqa: E402

install_as_torch()
