"""One rank started by ferrotorch.distributed.run (through mpiexec).

Sets PyTorch's per-rank environment (RANK, LOCAL_RANK, ...) from MPI's, makes ``import torch``
resolve to ferrotorch (scripts written for torchrun run unchanged), runs the training script as
``__main__``, and on an uncaught exception prints it, records it in TORCHELASTIC_ERROR_FILE for
the launcher and exits at once: waiting in MPI_Finalize could hang on ranks blocked in a
collective, while an early exit makes mpiexec stop them."""
import json
import os
import runpy
import socket
import sys
import time
import traceback


def _mpi_ranks():
    """(rank, local_rank) as the MPI launcher assigned them."""
    env = os.environ
    for r, lr in (("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK"), ("PMIX_RANK", None),
                  ("PMI_RANK", "MPI_LOCALRANKID")):
        if r in env:
            rank = int(env[r])
            return rank, int(env[lr]) if lr and lr in env else rank % int(env.get("LOCAL_WORLD_SIZE", "1"))
    from mpi4py import MPI  # unknown launcher: ask MPI itself
    rank = MPI.COMM_WORLD.Get_rank()
    return rank, rank % int(env.get("LOCAL_WORLD_SIZE", "1"))


def _set_env():
    rank, local = _mpi_ranks()
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(local), ROLE_RANK=str(rank))
    run_dir = os.environ.pop("FERROTORCH_DIST_RUN_DIR", None)
    if run_dir:
        path = os.path.join(run_dir, str(rank), "error.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.environ["TORCHELASTIC_ERROR_FILE"] = path
    return rank, local


def _user_tb(tb):
    """The traceback from the first frame of the user's code (skips this module and runpy)."""
    while tb is not None and (tb.tb_frame.f_code.co_filename in (__file__, "<frozen runpy>")
                              or tb.tb_frame.f_code.co_filename.endswith("runpy.py")):
        tb = tb.tb_next
    return tb


def write_error_file(exc, rank=None, local_rank=None, exitcode=1):
    """Records an exception where the launcher looks for it (torchelastic's JSON layout)."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not path or os.path.exists(path):
        return
    tb = "".join(traceback.format_exception(type(exc), exc, _user_tb(exc.__traceback__)))
    data = {"message": {"message": f"{type(exc).__name__}: {exc}",
                        "extraInfo": {"py_callstack": tb, "timestamp": str(int(time.time()))}},
            "rank": int(os.environ.get("RANK", rank or 0)), "local_rank": int(os.environ.get("LOCAL_RANK", local_rank or 0)),
            "pid": os.getpid(), "host": socket.gethostname(), "exitcode": exitcode, "time": time.time()}
    try:
        with open(path, "w") as f:
            json.dump(data, f)
    except OSError:
        pass


def _exit(code):
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv):
    module = no_python = False
    while argv and argv[0] in ("--module", "--no-python"):
        module |= argv[0] == "--module"
        no_python |= argv[0] == "--no-python"
        argv = argv[1:]
    target, args = argv[0], argv[1:]
    rank, local = _set_env()
    if no_python:
        os.execvp(target, [target, *args])
    from .._torch_alias import install_as_torch
    install_as_torch()  # the launcher also put ferrotorch's stand-in torch on PYTHONPATH for subprocesses
    try:
        if module:
            sys.argv = [target, *args]
            sys.path[0] = os.getcwd()
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = [target, *args]
            sys.path[0] = os.path.dirname(os.path.abspath(target))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        if e.code is None or e.code == 0:
            return
        if not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
        code = e.code if isinstance(e.code, int) else 1
        write_error_file(e, rank, local, code)
        _exit(code)
    except BaseException as e:  # noqa: BLE001 (KeyboardInterrupt too: the rank is going down)
        traceback.print_exception(type(e), e, _user_tb(e.__traceback__))
        write_error_file(e, rank, local, 1)
        _exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
