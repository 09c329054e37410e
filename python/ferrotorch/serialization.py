"""``save`` / ``load`` in PyTorch's zip checkpoint format.

Files written by :func:`save` load in real PyTorch (``torch.load``), and files
written by ``torch.save`` (format version 3, PyTorch >= 1.6) load here.

Layout of the archive (``<name>/`` is any directory prefix; we write ``archive/``)::

    archive/data.pkl                 pickle (protocol 2) of the object
    archive/.format_version          "1"
    archive/.storage_alignment       "64"
    archive/byteorder                "little"
    archive/data/<key>               raw little-endian bytes of storage <key>
    archive/version                  "3\\n"
    archive/.data/serialization_id   40 decimal digits

Inside ``data.pkl`` every tensor is
``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
requires_grad, OrderedDict())`` where ``storage`` is a persistent id
``('storage', torch.FloatStorage, '<key>', 'cpu', numel)``.  Views that share
memory share one storage record, and after loading they share memory again.

Loading never runs code from the file: the unpickler resolves globals through an
allowlist (PyTorch's ``weights_only=True`` set: OrderedDict, the tensor/parameter
rebuild functions, storage classes, dtypes, ``torch.Size``, ``torch.device``,
``_codecs.encode``, set/frozenset/slice/complex/bytearray, plus plain numpy
array reconstruction); any other global raises :class:`pickle.UnpicklingError`.
"""
from __future__ import annotations

import _compat_pickle
import collections
import io
import os
import pickle
import struct
import sys
import tempfile
import threading
import types
import zipfile
import zlib
from contextlib import contextmanager
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

import ferrotorch as torch

__all__ = [
    "save",
    "load",
    "add_safe_globals",
    "get_safe_globals",
    "clear_safe_globals",
    "safe_globals",
    "default_restore_location",
    "DEFAULT_PROTOCOL",
    "SourceChangeWarning",
]

DEFAULT_PROTOCOL = 2
_STORAGE_ALIGNMENT = 64
_ZIP_MAGIC = b"PK\x03\x04"


class SourceChangeWarning(Warning):
    pass


# --------------------------------------------------------------------------- dtype tables
# storage class name -> dtype name
_STORAGE_CLASS_TO_DTYPE = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}
_DTYPE_TO_STORAGE_CLASS = {v: k for k, v in _STORAGE_CLASS_TO_DTYPE.items()}

# dtype name -> numpy dtype used for the raw bytes (little endian)
_DTYPE_TO_NUMPY = {
    "float64": "<f8",
    "float32": "<f4",
    "float16": "<f2",
    "bfloat16": "<i2",  # reinterpreted with Tensor.view(torch.bfloat16)
    "int64": "<i8",
    "int32": "<i4",
    "int16": "<i2",
    "int8": "i1",
    "uint8": "u1",
    "bool": "?",
    "complex64": "<c8",
    "complex128": "<c16",
    "uint16": "<u2",
    "uint32": "<u4",
    "uint64": "<u8",
}

_ITEMSIZE = {k: np.dtype(v).itemsize for k, v in _DTYPE_TO_NUMPY.items()}

_DTYPE_NAMES = [
    "float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
    "bool", "complex64", "complex128", "uint16", "uint32", "uint64", "complex32",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
    # aliases PyTorch may pickle
    "float", "double", "half", "long", "int", "short", "cfloat", "cdouble", "chalf",
]


def _dtype_name(dtype) -> str:
    return str(dtype).split(".")[-1]




# --------------------------------------------------------------------------- safe globals
_safe_globals_lock = threading.Lock()
_user_safe_globals: Dict[str, Any] = {}


def _global_name(obj) -> str:
    if isinstance(obj, tuple):
        obj, name = obj
        return name
    return f"{obj.__module__}.{obj.__qualname__}"


def add_safe_globals(safe_globals: List[Any]) -> None:
    """Mark the given globals as safe for loading (like ``torch.serialization.add_safe_globals``).

    Entries are objects (classes/functions) or ``(object, "module.name")`` tuples."""
    with _safe_globals_lock:
        for g in safe_globals:
            if isinstance(g, tuple):
                obj, name = g
                _user_safe_globals[name] = obj
            else:
                _user_safe_globals[_global_name(g)] = g


def get_safe_globals() -> List[Any]:
    """Return the list of user-added safe globals."""
    with _safe_globals_lock:
        return list(_user_safe_globals.values())


def clear_safe_globals() -> None:
    """Clear the user-added safe globals."""
    with _safe_globals_lock:
        _user_safe_globals.clear()


@contextmanager
def safe_globals(safe_globals: List[Any]):
    """Context manager that adds certain globals as safe for loading."""
    with _safe_globals_lock:
        saved = dict(_user_safe_globals)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        with _safe_globals_lock:
            _user_safe_globals.clear()
            _user_safe_globals.update(saved)


# --------------------------------------------------------------------------- saving
class _Global:
    """Stands for ``module.name`` in the pickle (written as a raw GLOBAL opcode)."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str):
        self.module = module
        self.name = name

    def __call__(self, *args, **kwargs):  # pragma: no cover - only needs to be callable
        raise RuntimeError("placeholder")

    def __repr__(self):
        return f"<global {self.module}.{self.name}>"


_GLOBALS_CACHE: Dict[Tuple[str, str], _Global] = {}


def _G(module: str, name: str) -> _Global:
    key = (module, name)
    g = _GLOBALS_CACHE.get(key)
    if g is None:
        g = _GLOBALS_CACHE[key] = _Global(module, name)
    return g


class _StorageRef:
    __slots__ = ("pid",)

    def __init__(self, pid):
        self.pid = pid


class _StorageRecord:
    __slots__ = ("key", "dtype_name", "device", "source", "numel", "untyped")

    def __init__(self, key, dtype_name, device, source, numel, untyped):
        self.key = key
        self.dtype_name = dtype_name
        self.device = device
        self.source = source  # a tensor whose storage this is
        self.numel = numel  # elements needed from the storage start
        self.untyped = untyped


def _nbytes_per(dtype_name: str) -> int:
    if dtype_name not in _ITEMSIZE:
        raise RuntimeError(f"ferrotorch.save: unsupported dtype {dtype_name}")
    return _ITEMSIZE[dtype_name]


def _device_str(t) -> str:
    d = t.device
    s = str(d)
    typ = getattr(d, "type", s.split(":")[0])
    if typ == "cuda" and ":" not in s:
        idx = getattr(d, "index", None)
        s = f"cuda:{idx if idx is not None else 0}"
    return s


def _is_parameter(t) -> bool:
    nn = getattr(torch, "nn", None)
    pcls = getattr(nn, "Parameter", None) if nn is not None else None
    if pcls is not None and isinstance(t, pcls):
        return True
    return type(t).__name__ == "Parameter"


class _TorchPickler(pickle._Pickler):  # type: ignore[misc]
    """Pure-Python pickler writing PyTorch's reduce forms for tensors."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def __init__(self, file, protocol, storages=None, records=None):
        super().__init__(file, protocol)
        self.storages: Dict[Any, _StorageRecord] = storages if storages is not None else {}
        self.records: List[_StorageRecord] = records if records is not None else []

    # raw GLOBAL opcodes for our placeholders
    def _save_global_ref(self, obj: _Global):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch[_Global] = _save_global_ref

    def save_global(self, obj, name=None):
        # ferrotorch's classes and functions are written under PyTorch's names (torch.nn.modules
        # .linear.Linear...), so whole pickled modules load in PyTorch; load maps them back
        mod, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        root = torch.__name__
        if (name is None and isinstance(mod, str) and isinstance(qual, str) and "." not in qual and "<" not in qual
                and (mod == root or mod.startswith(root + "."))):
            self.write(pickle.GLOBAL + f"torch{mod[len(root):]}\n{qual}\n".encode("utf-8"))
            self.memoize(obj)
            return
        super().save_global(obj, name)

    dispatch[types.FunctionType] = save_global

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            return obj.pid
        return None

    def save(self, obj, save_persistent_id=True):  # noqa: C901
        if type(obj) is not _Global and type(obj) is not _StorageRef:
            # dtypes are pickled as the global torch.<name>
            dtype_cls = getattr(torch, "dtype", None)
            if dtype_cls is not None and isinstance(obj, dtype_cls):
                return super().save(_G("torch", _dtype_name(obj)), save_persistent_id)
        return super().save(obj, save_persistent_id)

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor):
            if _is_parameter(obj):
                return (
                    _G("torch._utils", "_rebuild_parameter"),
                    (obj.detach(), bool(obj.requires_grad), collections.OrderedDict()),
                )
            return self._reduce_tensor(obj)
        size_cls = getattr(torch, "Size", None)
        if size_cls is not None and type(obj) is size_cls:
            return (_G("torch", "Size"), (tuple(int(s) for s in obj),))
        device_cls = getattr(torch, "device", None)
        if isinstance(device_cls, type) and isinstance(obj, device_cls):
            idx = getattr(obj, "index", None)
            args = (obj.type,) if idx is None else (obj.type, idx)
            return (_G("torch", "device"), args)
        return NotImplemented

    def _reduce_tensor(self, t):
        requires_grad = bool(t.requires_grad)
        t = t.detach()
        dtype_name = _dtype_name(t.dtype)
        itemsize = _nbytes_per(dtype_name)
        size = tuple(int(s) for s in t.shape)
        stride = tuple(int(s) for s in t.stride())
        offset = int(t.storage_offset())
        numel = 1
        for s in size:
            numel *= s
        if any(st < 0 for st in stride):
            t = t.contiguous()
            stride = tuple(int(s) for s in t.stride())
            offset = int(t.storage_offset())
        device = _device_str(t)
        if numel == 0:
            # all empty tensors of a dtype/device can share one zero-length storage
            key = ("empty", device, dtype_name)
            extent = 0
            offset = 0
        else:
            base_ptr = int(t.data_ptr()) - offset * itemsize
            key = (base_ptr, device, dtype_name)
            extent = offset + sum((s - 1) * st for s, st in zip(size, stride)) + 1
        rec = self.storages.get(key)
        if rec is None:
            untyped = dtype_name not in _DTYPE_TO_STORAGE_CLASS
            rec = _StorageRecord(str(len(self.records)), dtype_name, device, t, extent, untyped)
            self.storages[key] = rec
            self.records.append(rec)
        elif extent > rec.numel:
            rec.numel = extent
            rec.source = t
        if rec.untyped:
            storage_cls = _G("torch", "UntypedStorage")
        else:
            storage_cls = _G("torch", _DTYPE_TO_STORAGE_CLASS[dtype_name])
        ref = _StorageRef(None)
        ref.pid = _LazyPid(rec, storage_cls)
        args = (ref, offset, size, stride, requires_grad, collections.OrderedDict())
        if rec.untyped:
            return (_G("torch._utils", "_rebuild_tensor_v3"), args + (_G("torch", dtype_name),))
        return (_G("torch._utils", "_rebuild_tensor_v2"), args)

    def save_pers(self, pid):
        if isinstance(pid, _LazyPid):
            pid = pid.materialize()
        return super().save_pers(pid)


class _LazyPid:
    """Persistent id of a storage record, built when it is written (by then the
    first pickling pass has fixed the record's final extent)."""

    __slots__ = ("rec", "storage_cls")

    def __init__(self, rec, storage_cls):
        self.rec = rec
        self.storage_cls = storage_cls

    def materialize(self):
        rec = self.rec
        numel = rec.numel * (_ITEMSIZE[rec.dtype_name] if rec.untyped else 1)
        return ("storage", self.storage_cls, rec.key, rec.device, numel)


def _storage_bytes(rec: _StorageRecord) -> bytes:
    if rec.numel == 0:
        return b""
    t = rec.source.detach()
    flat = torch.as_strided(t, (rec.numel,), (1,), 0)
    if rec.device != "cpu":
        flat = flat.cpu()
    if rec.dtype_name == "bfloat16":
        flat = flat.view(torch.int16)
    arr = np.ascontiguousarray(flat.numpy())
    if sys.byteorder != "little":
        arr = arr.byteswap()
    return arr.tobytes()


def _write_record(zf: zipfile.ZipFile, name: str, data: bytes, align: bool) -> None:
    zinfo = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    zinfo.compress_type = zipfile.ZIP_STORED
    zinfo.create_system = 0
    zinfo.external_attr = 0o600 << 16
    zinfo.file_size = len(data)
    if align:
        zip64 = zinfo.file_size * 1.05 > zipfile.ZIP64_LIMIT
        start = zf.start_dir if zf._seekable else zf.fp.tell()  # type: ignore[attr-defined]
        header = 30 + len(name.encode("utf-8")) + (20 if zip64 else 0) + 4
        pad = (-(start + header)) % _STORAGE_ALIGNMENT
        zinfo.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # 'FB' padding like PyTorch
    zf.writestr(zinfo, data)


def _serialization_id() -> str:
    return "".join(str(b % 10) for b in os.urandom(40))


def _save_to_zip(obj, f, pickle_protocol: int) -> None:
    # Pass 1 discovers every tensor (through the real pickling logic, whatever
    # the containers) and the extent of every storage; pass 2 writes the pickle
    # with final storage sizes in the persistent ids.
    probe = _TorchPickler(io.BytesIO(), pickle_protocol)
    probe.dump(obj)
    buf = io.BytesIO()
    pickler = _TorchPickler(buf, pickle_protocol, storages=probe.storages, records=probe.records)
    pickler.dump(obj)
    data_pkl = buf.getvalue()

    prefix = "archive"
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        _write_record(zf, f"{prefix}/data.pkl", data_pkl, align=True)
        _write_record(zf, f"{prefix}/.format_version", b"1", align=True)
        _write_record(zf, f"{prefix}/.storage_alignment", str(_STORAGE_ALIGNMENT).encode(), align=True)
        _write_record(zf, f"{prefix}/byteorder", b"little", align=True)
        for rec in pickler.records:
            if rec.key is None:
                continue
            _write_record(zf, f"{prefix}/data/{rec.key}", _storage_bytes(rec), align=True)
        _write_record(zf, f"{prefix}/version", b"3\n", align=True)
        _write_record(zf, f"{prefix}/.data/serialization_id", _serialization_id().encode(), align=True)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save(obj, f, pickle_module=pickle, pickle_protocol: int = DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False) -> None:
    """Save an object to a disk file in PyTorch's zip format.

    Args:
        obj: saved object (tensors, state dicts, nested containers, numbers, strings...)
        f: a file-like object (has ``write``) or a string / ``os.PathLike`` file name.
            Paths are written atomically: to a temporary file in the same
            directory, then renamed over ``f`` with ``os.replace``.
    """
    if isinstance(f, (str, bytes, os.PathLike)):
        path = os.fspath(f)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise RuntimeError(f"Parent directory {directory} does not exist.")
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                _save_to_zip(obj, fh, pickle_protocol)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o666 & ~_current_umask()
                os.chmod(tmp, mode)
            except OSError:
                pass
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    else:
        if not hasattr(f, "write"):
            raise AttributeError(f"expected 'f' to be string, path, or a file-like object with a 'write' attribute")
        seekable = False
        try:
            seekable = f.seekable()
        except Exception:
            seekable = False
        if seekable:
            _save_to_zip(obj, f, pickle_protocol)
        else:
            buf = io.BytesIO()
            _save_to_zip(obj, buf, pickle_protocol)
            f.write(buf.getvalue())
        if hasattr(f, "flush"):
            f.flush()


# --------------------------------------------------------------------------- loading
class _StorageType:
    """What ``torch.FloatStorage`` etc. resolve to while unpickling."""

    def __init__(self, name: str, dtype_name: Optional[str]):
        self.name = name
        self.dtype_name = dtype_name  # None for UntypedStorage (bytes)

    def __repr__(self):
        return f"<storage type torch.{self.name}>"

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError(f"constructing torch.{self.name} from a checkpoint is not supported")


class _LoadedStorage:
    """One storage record of the archive, materialised lazily per dtype."""

    def __init__(self, loader, key: str, dtype_name: Optional[str], location: str, numel: int):
        self.loader = loader
        self.key = key
        self.dtype_name = dtype_name
        self.location = location
        self.numel = numel
        self._bases: Dict[str, Any] = {}

    def base(self, dtype_name: Optional[str] = None):
        """1-D tensor over the whole storage, interpreted as ``dtype_name``."""
        name = dtype_name or self.dtype_name or "uint8"
        b = self._bases.get(name)
        if b is None:
            raw = self.loader.read_record(self.key)
            # the record must hold exactly the declared storage (PyTorch checks the same)
            own = _DTYPE_TO_NUMPY.get(self.dtype_name or "uint8")
            if own is not None:
                if not isinstance(self.numel, int) or isinstance(self.numel, bool) or self.numel < 0:
                    raise RuntimeError(f"ferrotorch.load: invalid storage size {self.numel!r} for record data/{self.key}")
                expected = self.numel * np.dtype(own).itemsize
                if len(raw) != expected:
                    raise RuntimeError(f"PytorchStreamReader: record data/{self.key} size ({len(raw)} bytes) does not "
                                       f"match expected size ({expected} bytes)")
            b = self.loader.make_base(raw, name, self.location)
            self._bases[name] = b
        return b


def default_restore_location(storage, location):
    return storage




class _Loader:
    def __init__(self, zf: zipfile.ZipFile, prefix: str, map_location, big_endian: bool):
        self.zf = zf
        self.prefix = prefix
        self.map_location = map_location
        self.big_endian = big_endian
        self.storages: Dict[str, _LoadedStorage] = {}

    def read_record(self, key: str) -> bytes:
        try:
            return _read_member(self.zf, f"{self.prefix}/data/{key}")
        except KeyError:
            raise RuntimeError(f"PytorchStreamReader failed locating file data/{key}: file not found") from None

    def _target_device(self, location: str):
        ml = self.map_location
        if ml is None:
            return location
        if isinstance(ml, dict):
            return ml.get(location, location)
        if isinstance(ml, str):
            return ml
        device_cls = getattr(torch, "device", None)
        if isinstance(device_cls, type) and isinstance(ml, device_cls):
            return ml
        return location

    def make_base(self, raw: bytes, dtype_name: str, location: str):
        np_dtype = _DTYPE_TO_NUMPY.get(dtype_name)
        if np_dtype is None:
            raise RuntimeError(f"ferrotorch.load: unsupported storage dtype {dtype_name}")
        npdt = np.dtype(np_dtype)
        if self.big_endian and npdt.itemsize > 1:
            npdt = npdt.newbyteorder(">")
        n = len(raw) // npdt.itemsize
        arr = np.frombuffer(raw, dtype=npdt, count=n)
        arr = arr.astype(npdt.newbyteorder("<") if npdt.itemsize > 1 else npdt, copy=True)
        base = torch.from_numpy(arr)
        if dtype_name == "bfloat16":
            base = base.view(torch.bfloat16)
        return self._place(base, location)

    def _place(self, base, location: str):
        ml = self.map_location
        if callable(ml) and not isinstance(ml, (str, dict)) and not _is_device(ml):
            res = ml(base, location)
            if res is not None:
                return res
            return self._to_location(base, location)
        target = self._target_device(location)
        return self._to_location(base, target)

    def _to_location(self, base, target):
        tstr = str(target)
        if tstr.startswith("cuda"):
            cuda = getattr(torch, "cuda", None)
            if cuda is None or not cuda.is_available():
                raise RuntimeError(
                    "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                    "is False. If you are running on a CPU-only machine, please use torch.load with "
                    "map_location=torch.device('cpu') to map your storages to the CPU."
                )
            return base.to(target)
        if tstr == "cpu":
            return base
        return base.to(target)


def _is_device(x) -> bool:
    device_cls = getattr(torch, "device", None)
    return isinstance(device_cls, type) and isinstance(x, device_cls)


def _rebuild_from_storage(storage, storage_offset, size, stride, dtype_name=None):
    if not isinstance(storage, _LoadedStorage):
        raise pickle.UnpicklingError("tensor rebuild expected a storage from this archive")
    base = storage.base(dtype_name)
    def _is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    try:
        if not (all(_is_int(v) for v in (*size, *stride)) and _is_int(storage_offset)):
            raise TypeError
        size, stride = tuple(size), tuple(stride)
    except TypeError:
        raise RuntimeError(f"ferrotorch.load: malformed tensor geometry size={size!r}, stride={stride!r}, "
                           f"offset={storage_offset!r}") from None
    if len(size) != len(stride) or any(not -2**63 <= v < 2**63 for v in (*size, *stride, storage_offset)):
        raise RuntimeError(f"ferrotorch.load: malformed tensor geometry size={list(size)}, stride={list(stride)}, "
                           f"offset={storage_offset}")
    numel = 1
    for s in size:
        numel *= s
    base_numel = base.numel()
    if numel > 0:
        extent = storage_offset + sum((s - 1) * st for s, st in zip(size, stride)) + 1
        if storage_offset < 0 or any(st < 0 for st in stride) or extent > base_numel:
            raise RuntimeError(
                f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {storage_offset} "
                f"require more elements than the storage has ({base_numel})"
            )
    if numel > 0 and storage_offset == 0 and numel == base_numel and _is_contiguous(size, stride):
        return base.view(size)
    return torch.as_strided(base, size, stride, storage_offset)


def _is_contiguous(size, stride) -> bool:
    expected = 1
    for s, st in zip(reversed(size), reversed(stride)):
        if s != 1 and st != expected:
            return False
        expected *= s
    return True


def _finish_tensor(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _rebuild_from_storage(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    t = _rebuild_from_storage(storage, storage_offset, size, stride)
    return _finish_tensor(t, requires_grad)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    t = _rebuild_from_storage(storage, storage_offset, size, stride, dtype_name=_dtype_name(dtype))
    return _finish_tensor(t, requires_grad)


def _make_parameter(data, requires_grad):
    nn = getattr(torch, "nn", None)
    pcls = getattr(nn, "Parameter", None) if nn is not None else None
    if pcls is not None:
        return pcls(data, requires_grad)
    data.requires_grad_(bool(requires_grad))
    return data


def _rebuild_parameter(data, requires_grad, backward_hooks):
    return _make_parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    param = _make_parameter(data, requires_grad)
    if state:
        for k, v in dict(state).items():
            try:
                setattr(param, k, v)
            except Exception:
                pass
    return param


def _rebuild_from_type_v2(func, new_type, args, state):
    ret = func(*args)
    nn = getattr(torch, "nn", None)
    pcls = getattr(nn, "Parameter", None) if nn is not None else None
    if new_type is not None and pcls is not None and new_type is pcls and not isinstance(ret, pcls):
        ret = pcls(ret, ret.requires_grad)
    if state:
        if isinstance(state, tuple) and len(state) == 2:
            state, slots = state
        if isinstance(state, dict):
            for k, v in state.items():
                try:
                    setattr(ret, k, v)
                except Exception:
                    pass
    return ret


def _get_layout(name):
    short = str(name).split(".")[-1]
    return getattr(torch, short, name)




def _allowed_global(module: str, name: str, weights_only: bool):
    """Resolve an allowed global, or return None."""
    full = f"{module}.{name}"
    if full in _user_safe_globals:
        return _user_safe_globals[full]
    # a file written by PyTorch (or by ferrotorch.save, which writes PyTorch's names) names
    # torch.X where the allowlisted class is ferrotorch.X
    if module == "torch" or module.startswith("torch."):
        ours = f"{torch.__name__}{module[len('torch'):]}.{name}"
        if ours in _user_safe_globals:
            return _user_safe_globals[ours]
    if module == "collections" and name == "OrderedDict":
        return collections.OrderedDict
    if module == "collections" and name == "Counter":
        return collections.Counter
    if module == "torch._utils":
        fn = {
            "_rebuild_tensor": _rebuild_tensor,
            "_rebuild_tensor_v2": _rebuild_tensor_v2,
            "_rebuild_tensor_v3": _rebuild_tensor_v3,
            "_rebuild_parameter": _rebuild_parameter,
            "_rebuild_parameter_with_state": _rebuild_parameter_with_state,
        }.get(name)
        if fn is not None:
            return fn
    if module == "torch._tensor" and name == "_rebuild_from_type_v2":
        return _rebuild_from_type_v2
    if module == "torch.serialization" and name == "_get_layout":
        return _get_layout
    if module in ("torch", "torch.storage"):
        if name in _STORAGE_CLASS_TO_DTYPE:
            return _StorageType(name, _STORAGE_CLASS_TO_DTYPE[name])
        if name in ("UntypedStorage", "_UntypedStorage", "ByteStorage_untyped"):
            return _StorageType(name, None)
    if module == "torch":
        if name in _DTYPE_NAMES and hasattr(torch, name):
            return getattr(torch, name)
        if name == "Size":
            return torch.Size
        if name == "device":
            return torch.device
        if name == "Tensor":
            return torch.Tensor
        if name in ("strided", "sparse_coo", "sparse_csr") and hasattr(torch, name):
            return getattr(torch, name)
    if module == "torch.nn.parameter" and name == "Parameter":
        nn = getattr(torch, "nn", None)
        p = getattr(nn, "Parameter", None) if nn is not None else None
        if p is not None:
            return p
    if module == "builtins" and name in ("set", "frozenset", "slice", "complex", "bytearray", "range"):
        return {"set": set, "frozenset": frozenset, "slice": slice, "complex": complex,
                "bytearray": bytearray, "range": range}[name]
    if module == "_codecs" and name == "encode":
        import codecs

        return codecs.encode
    if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in ("_reconstruct", "scalar"):
        core = getattr(np, "_core", None)
        ma = getattr(core, "multiarray", None) if core is not None else None
        if ma is None:
            ma = np.core.multiarray
        return getattr(ma, name)
    if module == "numpy" and name in ("ndarray", "dtype"):
        return getattr(np, name)
    if module == "numpy.dtypes" and name.endswith("DType"):
        dtypes = getattr(np, "dtypes", None)
        if dtypes is not None and hasattr(dtypes, name):
            return getattr(dtypes, name)
    if not weights_only:
        return _full_unpickle_global(module, name)
    return None


def _full_unpickle_global(module: str, name: str):
    """``weights_only=False``: PyTorch's full unpickling. ``torch.*`` names resolve to the same
    path under ferrotorch; every other global resolves as plain :mod:`pickle` would, which
    imports modules and can run arbitrary code from the file."""
    import importlib

    if module == "torch" or module.startswith("torch."):
        module = torch.__name__ + module[len("torch"):]
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, loader: _Loader, weights_only: bool):
        super().__init__(file, encoding="utf-8")
        self._loader = loader
        self._weights_only = weights_only

    def find_class(self, module, name):
        # protocol-2 pickles name Python 2 modules (``__builtin__.set``, ``copy_reg``...)
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        obj = _allowed_global(module, name, self._weights_only)
        if obj is None:
            raise pickle.UnpicklingError(_weights_only_error(module, name, self._weights_only))
        return obj

    def persistent_load(self, saved_id):
        if not isinstance(saved_id, tuple) or len(saved_id) < 1:
            raise pickle.UnpicklingError(f"Unsupported persistent id {saved_id!r}")
        typename = saved_id[0]
        if typename != "storage":
            raise pickle.UnpicklingError(
                f"Unknown typename for persistent_load, expected 'storage' but got '{typename}'"
            )
        if len(saved_id) != 5:
            raise pickle.UnpicklingError(f"Malformed storage persistent id {saved_id!r}")
        _, storage_type, key, location, numel = saved_id
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"Unsupported storage type {storage_type!r}")
        key = str(key)
        st = self._loader.storages.get(key)
        if st is None:
            st = _LoadedStorage(self._loader, key, storage_type.dtype_name, str(location), int(numel))
            self._loader.storages[key] = st
        return st


def _weights_only_error(module: str, name: str, weights_only: bool) -> str:
    full = f"{module}.{name}"
    if weights_only:
        return (
            "Weights only load failed. This file can still be loaded, to do so you have two options, "
            "do those steps only if you trust the source of the checkpoint. \n"
            "\t(1) In PyTorch 2.6, we changed the default value of the `weights_only` argument in "
            "`torch.load` from `False` to `True`. Re-running `torch.load` with `weights_only` set to "
            "`False` will likely succeed, but it can result in arbitrary code execution. Do it only if "
            "you got the file from a trusted source.\n"
            "\t(2) Alternatively, to load with `weights_only=True` please check the recommended steps in "
            "the following error message.\n"
            f"\tWeightsUnpickler error: Unsupported global: GLOBAL {full} was not an allowed global by "
            f"default. Please use `torch.serialization.add_safe_globals([{name}])` or the "
            f"`torch.serialization.safe_globals([{name}])` context manager to allowlist this global if "
            "you trust this class/function.\n\n"
            "Check the documentation of torch.load to learn more about types accepted by default with "
            "weights_only https://pytorch.org/docs/stable/generated/torch.load.html."
        )
    return (
        f"ferrotorch.load refuses to resolve the global {full}: ferrotorch never executes code from "
        "a checkpoint. If you trust this global, allowlist it with "
        f"`ferrotorch.serialization.add_safe_globals([{name}])`."
    )


def _open_zip(f):
    """Return (ZipFile, owned_file_or_None)."""
    if isinstance(f, (str, bytes, os.PathLike)):
        path = os.fsdecode(os.fspath(f))
        fh = open(path, "rb")
        owned = fh
    else:
        fh = f
        owned = None
        if not hasattr(fh, "read"):
            raise AttributeError("expected 'f' to be string, path, or a file-like object with a 'read' attribute")
        seekable = False
        try:
            seekable = fh.seekable()
        except Exception:
            seekable = False
        if not seekable:
            fh = io.BytesIO(fh.read())
    start = fh.tell()
    magic = fh.read(4)
    fh.seek(start)
    if magic != _ZIP_MAGIC:
        if owned is not None:
            owned.close()
        if len(magic) == 0:
            raise EOFError("Ran out of input")
        raise RuntimeError(
            "Invalid checkpoint: ferrotorch.load only reads PyTorch's zip checkpoint format "
            "(written by torch.save in PyTorch >= 1.6 or by ferrotorch.save); legacy (non-zip) "
            "files are not supported."
        )
    try:
        zf = zipfile.ZipFile(fh, "r")
    except zipfile.BadZipFile as e:
        if owned is not None:
            owned.close()
        raise RuntimeError(f"PytorchStreamReader failed reading zip archive: {e}") from None
    return zf, owned


def _read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    """A zip member's bytes; a corrupt archive raises PyTorch's RuntimeError, not zipfile's."""
    try:
        return zf.read(name)
    except KeyError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as e:
        raise RuntimeError(f"PytorchStreamReader failed reading zip archive: {e}") from None


def load(f, map_location=None, pickle_module=None, *, weights_only: Optional[bool] = None,
         mmap: Optional[bool] = None, **pickle_load_args: Any) -> Any:
    """Load an object saved with :func:`ferrotorch.save` or ``torch.save``.

    Args:
        f: a file-like object (``read``/``seek``) or a path.
        map_location: ``None`` (restore where saved), a device string or
            ``torch.device``, a dict mapping saved locations to new ones, or a
            callable ``fn(storage, location)``.
        weights_only: PyTorch's flag (default ``True``). ``True`` unpickles only tensors,
            storages, containers and an allowlist of plain types; nothing from the file is
            called except those rebuild functions, and every tensor view is checked against
            its storage. ``False`` is PyTorch's full unpickling: any global the file names
            is imported and may be called, so **a file from an untrusted source can run
            arbitrary code**; use it only for files you trust (e.g. whole pickled modules
            you saved yourself).
        mmap: accepted for compatibility (the file is read into memory).
    """
    if weights_only is None:
        weights_only = True
    zf, owned = _open_zip(f)
    try:
        names = zf.namelist()
        if not names:
            raise RuntimeError("PytorchStreamReader failed reading zip archive: empty archive")
        pkl_names = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pkl_names:
            pkl_names = [n for n in names if n.endswith("data.pkl")]
        if not pkl_names:
            raise RuntimeError("PytorchStreamReader failed locating file data.pkl: file not found")
        pkl_name = pkl_names[0]
        prefix = pkl_name[: -len("/data.pkl")] if "/" in pkl_name else ""
        big_endian = False
        try:
            bo = _read_member(zf, f"{prefix}/byteorder").decode("utf-8", "replace").strip()
            big_endian = bo == "big"
        except KeyError:
            pass
        loader = _Loader(zf, prefix, map_location, big_endian)
        data = _read_member(zf, pkl_name)
        unpickler = _RestrictedUnpickler(io.BytesIO(data), loader, weights_only)
        with torch.no_grad():
            result = unpickler.load()
        return result
    finally:
        zf.close()
        if owned is not None:
            owned.close()
