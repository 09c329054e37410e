"""Run an unchanged PyTorch program on ferrotorch.

    python -m ferrotorch.run script.py [args...]
    python -m ferrotorch.run -m package.module [args...]
    python -m ferrotorch.run -c "code" [args...]

Every ``import torch`` / ``import torch.x.y`` in the program (and in the libraries it uses)
binds ferrotorch's module of the same path. ``__name__``, ``sys.argv`` and ``sys.path[0]`` are
set the way ``python script.py`` / ``python -m`` / ``python -c`` would set them.
"""
import os
import runpy
import sys
import types

_USAGE = "usage: python -m ferrotorch.run (script.py | -m module | -c code) [args...]"


def _run_code(code, argv):
    sys.argv = ["-c", *argv]
    sys.path[0] = ""
    main = types.ModuleType("__main__")
    main.__builtins__ = __builtins__
    old = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(compile(code, "<string>", "exec"), main.__dict__)
    finally:
        if old is not None:
            sys.modules["__main__"] = old


def main(argv=None):
    """Entry point: install the torch alias, then run the program as ``__main__``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_USAGE, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    from ._torch_alias import SHIM_DIR, install_as_torch
    install_as_torch()
    # processes the program starts (spawned workers, subprocess Pythons) alias torch too
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (SHIM_DIR, os.environ.get("PYTHONPATH")) if p)
    sys.path.insert(1, SHIM_DIR)
    if argv[0] == "-m":
        if len(argv) < 2:
            print("Argument expected for the -m option\n" + _USAGE, file=sys.stderr)
            return 2
        sys.argv = [argv[1], *argv[2:]]  # run_module replaces argv[0] with the module's file
        sys.path[0] = os.getcwd()
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv[0] == "-c":
        if len(argv) < 2:
            print("Argument expected for the -c option\n" + _USAGE, file=sys.stderr)
            return 2
        _run_code(argv[1], argv[2:])
    else:
        path = argv[0]
        if not os.path.exists(path):
            print(f"{sys.executable}: can't open file {os.path.abspath(path)!r}: "
                  "[Errno 2] No such file or directory", file=sys.stderr)
            return 2
        sys.argv = argv
        where = path if os.path.isdir(path) else os.path.dirname(os.path.realpath(path))
        sys.path[0] = os.path.abspath(where)
        runpy.run_path(path, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
