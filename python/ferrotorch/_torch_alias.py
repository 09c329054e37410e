"""Resolve every ``torch`` / ``torch.x.y`` import to ferrotorch's own module objects.

After :func:`install_as_torch`, ``sys.modules['torch']`` is ``ferrotorch`` and
``import torch.nn.functional`` binds ``ferrotorch.nn.functional`` itself (one module object
under both names), so ``isinstance`` checks and pickled class paths agree whichever name a
program uses. Sub-modules are aliased lazily, on first import under the ``torch`` name.
"""
import importlib
import importlib.abc
import importlib.machinery
import os
import sys

_ALIAS = "torch"
_REAL = "ferrotorch"


def _real_name(name):
    return _REAL + name[len(_ALIAS):]


class _AliasLoader(importlib.abc.Loader):
    """Hands the already-imported ferrotorch module to the import system under its torch name."""

    def __init__(self, module):
        self.module = module
        self.spec = getattr(module, "__spec__", None)

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        # module_from_spec replaced __spec__ with the alias spec: keep the module's real one
        if self.spec is not None:
            module.__spec__ = self.spec

    def get_code(self, fullname):
        # runpy (`python -m torch.x` under the alias, e.g. torchrun) runs the real module's code
        real = self.spec.loader if self.spec is not None else None
        return real.get_code(_real_name(fullname)) if hasattr(real, "get_code") else None


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Meta path finder mapping ``torch[.x.y]`` to ``ferrotorch[.x.y]``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _ALIAS and not fullname.startswith(_ALIAS + "."):
            return None
        real = _real_name(fullname)
        try:
            module = importlib.import_module(real)
        except ModuleNotFoundError as e:
            # only "this module does not exist" means no alias; other import errors propagate
            if e.name is not None and (real == e.name or real.startswith(e.name + ".")):
                return None
            raise
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module),
                                              is_package=hasattr(module, "__path__"))

    def __repr__(self):
        return "<ferrotorch torch-alias finder>"


_finder = _AliasFinder()
# a directory holding a stand-in `torch` package; on a child process's path it installs the alias
SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_shim")


def install_as_torch():
    """Make ``import torch`` (and ``torch.*``) resolve to ferrotorch in this interpreter.

    Idempotent. Raises RuntimeError if the real PyTorch was already imported, since the
    two libraries' objects cannot be mixed.
    """
    import ferrotorch
    current = sys.modules.get(_ALIAS)
    # the stand-in package of ferrotorch/_shim (child processes) hands over to the alias
    if current is not None and current is not ferrotorch and not getattr(current, "_ferrotorch_shim", False):
        raise RuntimeError("install_as_torch(): the real 'torch' is already imported in this process; "
                           "call it before anything imports torch")
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    sys.modules[_ALIAS] = ferrotorch
    # ferrotorch modules imported so far get their torch names now; later ones on first use
    for name, module in list(sys.modules.items()):
        if name.startswith(_REAL + ".") and module is not None:
            sys.modules.setdefault(_ALIAS + name[len(_REAL):], module)
    return ferrotorch


def uninstall_as_torch():
    """Undo :func:`install_as_torch` (drops the ``torch`` names that point at ferrotorch)."""
    import ferrotorch
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name, module in list(sys.modules.items()):
        if (name == _ALIAS or name.startswith(_ALIAS + ".")) and module is not None:
            real = sys.modules.get(_real_name(name))
            if module is real or module is ferrotorch:
                del sys.modules[name]
