"""Loads mpi4py on demand. Importing ferrotorch.distributed must not start MPI: only
init_process_group does (MPI_Init is slow and, outside mpiexec, starts a singleton)."""
import os
import sys

INSTALL_HINT = ("ferrotorch.distributed runs its collectives on MPI, which is not available here: "
                "pip install ferrotorch[distributed]  (installs mpi4py and Open MPI)")

_state = {}


def module():
    """mpi4py.MPI with the MPI library loaded (not initialised), or None when either is missing."""
    if "mod" not in _state:
        try:
            import mpi4py
            if "mpi4py.MPI" not in sys.modules:
                mpi4py.rc.initialize = False  # initialise lazily, in init_process_group
                mpi4py.rc.finalize = True     # but still finalise at exit once initialised
            from mpi4py import MPI
            MPI.Get_library_version()
            _state["mod"] = MPI
        except Exception as e:  # ImportError, or the shared library failing to load
            _state["mod"], _state["err"] = None, e
    return _state["mod"]


def require(singleton=False):
    """mpi4py.MPI, initialised (thread level MULTIPLE); RuntimeError with the install hint if missing.
    A `singleton` (a process no launcher started) has no peers: Open MPI then needs only its
    'self' transport, and skipping the network probes saves about a second of MPI_Init."""
    MPI = module()
    if MPI is None:
        raise RuntimeError(f"{INSTALL_HINT} ({type(_state['err']).__name__}: {_state['err']})")
    if not MPI.Is_initialized():
        added = {}
        if singleton:  # only while MPI starts: child processes must not inherit it
            added = {k: v for k, v in (("OMPI_MCA_pml", "ob1"), ("OMPI_MCA_btl", "self")) if k not in os.environ}
            os.environ.update(added)
        try:
            MPI.Init_thread(MPI.THREAD_MULTIPLE)
        finally:
            for k in added:
                os.environ.pop(k, None)
    return MPI


def initialized():
    MPI = sys.modules.get("mpi4py.MPI")
    return MPI is not None and MPI.Is_initialized() and not MPI.Is_finalized()
