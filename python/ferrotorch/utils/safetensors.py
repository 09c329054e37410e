"""safetensors files for ferrotorch tensors, with ``safetensors.torch``'s API and errors.

``safetensors.torch`` imports PyTorch itself, so this module drives the ``safetensors``
package's framework-free core instead: tensors are written straight from their memory
(``safetensors.serialize_file`` with ``TensorSpec`` pointers) and ``load_file`` maps the file
copy-on-write, so loaded tensors share the mapping until written to. Files interoperate with
PyTorch's ``safetensors.torch`` both ways.

Needs the ``safetensors`` package, 0.8 or later (its ``TensorSpec`` pointer API).
"""
import json
import os
import struct
from collections import defaultdict

import numpy as np

import ferrotorch as torch
from ferrotorch import _C

__all__ = ["save", "save_file", "load", "load_file", "save_model", "load_model"]

# header dtype -> (ferrotorch dtype name, numpy dtype holding the raw bytes)
_TYPES = {
    "F64": ("float64", "<f8"), "F32": ("float32", "<f4"), "F16": ("float16", "<f2"),
    "BF16": ("bfloat16", "<i2"), "I64": ("int64", "<i8"), "I32": ("int32", "<i4"),
    "I16": ("int16", "<i2"), "I8": ("int8", "i1"), "U8": ("uint8", "u1"), "BOOL": ("bool", "?"),
}


def _st():
    import safetensors
    return safetensors


def _name(dtype):
    return str(dtype).split(".")[-1]


# ---------------------------------------------------------------- shared tensors
def _storage_ptr(t):
    """Start of the storage ``t`` views (its data pointer less its offset)."""
    return t.data_ptr() - t.storage_offset() * t.element_size()


def _end_ptr(t):
    if t.numel():
        return t.data_ptr() + (sum((s - 1) * st for s, st in zip(t.shape, t.stride())) + 1) * t.element_size()
    return t.data_ptr()


def _find_shared(tensors):
    """Groups of names whose tensors overlap in memory (``safetensors.torch._find_shared_tensors``)."""
    groups = defaultdict(set)
    for k, v in tensors.items():
        if v.numel():
            groups[_storage_ptr(v)].add(k)
    out = []
    for shared in sorted(groups.values(), key=sorted):
        if len(shared) < 2:
            out.append(shared)
            continue
        areas = sorted((tensors[n].data_ptr(), _end_ptr(tensors[n]), n) for n in shared)
        _, last_stop, first = areas[0]
        out.append({first})
        for start, stop, n in areas[1:]:
            if start >= last_stop:
                out.append({n})
            else:
                out[-1].add(n)
            last_stop = max(last_stop, stop)
    return out


def _remove_duplicate_names(state_dict, *, preferred_names=None, discard_names=None):
    """{kept name: [names dropped because they alias it]} as ``safetensors.torch`` decides.

    ferrotorch does not expose a storage's size, so a storage is taken to end where the last
    of the state dict's tensors viewing it ends."""
    preferred_names = set(preferred_names or [])
    discard_names = set(discard_names or [])
    to_remove = defaultdict(list)
    for shared in _find_shared(state_dict):
        if len(shared) < 2:
            continue
        start = min(_storage_ptr(state_dict[n]) for n in shared)
        stop = max(_end_ptr(state_dict[n]) for n in shared)
        complete = {n for n in shared if state_dict[n].data_ptr() == start and _end_ptr(state_dict[n]) == stop
                    and state_dict[n].is_contiguous()}
        if not complete:
            raise RuntimeError(
                "Error while trying to find names to remove to save state dict, but found no suitable name to keep"
                f" for saving amongst: {shared}. None is covering the entire storage.Refusing to save/load the model"
                " since you could be storing much more memory than needed. Please refer to"
                " https://huggingface.co/docs/safetensors/torch_shared_tensors for more information. Or open an"
                " issue.")
        keep = sorted(complete)[0]
        preferred = complete - discard_names
        if preferred:
            keep = sorted(preferred)[0]
        if preferred_names & complete:
            keep = sorted(preferred_names & complete)[0]
        for n in sorted(shared):
            if n != keep:
                to_remove[keep].append(n)
    return to_remove


# ---------------------------------------------------------------- saving
def _specs(tensors):
    """``TensorSpec`` per tensor, pointing at its memory (checked like ``safetensors.torch``)."""
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, torch.Tensor] but received {type(tensors)}")
    for k, v in tensors.items():
        if not isinstance(v, torch.Tensor):
            raise ValueError(f"Key `{k}` is invalid, expected torch.Tensor but received {type(v)}")
    failing = [names for names in _find_shared(tensors) if len(names) > 1]
    if failing:
        raise RuntimeError(
            f"""
            Some tensors share memory, this will lead to duplicate memory on disk and potential differences when loading them again: {failing}.
            A potential way to correctly save your model is to use `save_model`.
            More information at https://huggingface.co/docs/safetensors/torch_shared_tensors
            """)
    st = _st()
    specs = {}
    for k, v in tensors.items():
        if not v.is_contiguous():
            raise ValueError(
                f"You are trying to save a non contiguous tensor: `{k}` which is not allowed. It either means you"
                " are trying to save tensors which are reference of each other in which case it's recommended to save"
                " only the full tensors, and reslice at load time, or simply call `.contiguous()` on your tensor to"
                " pack it before saving.")
        n = v.numel() * v.element_size()
        specs[k] = st.TensorSpec(dtype=_name(v.dtype), shape=list(v.shape), data_ptr=v.data_ptr() if n else 0, data_len=n)
    return specs


def save(tensors, metadata=None):
    """The safetensors bytes of ``tensors`` (a dict of contiguous, non-aliasing tensors)."""
    return bytes(_st().serialize(_specs(tensors), metadata=metadata))


def save_file(tensors, filename, metadata=None):
    """Write ``tensors`` (a dict of contiguous, non-aliasing tensors) to ``filename``.

    ``metadata`` is an optional dict of str to str kept in the header."""
    _st().serialize_file(_specs(tensors), filename, metadata=metadata)


# ---------------------------------------------------------------- loading
def _tensor(arr, dtype_name):
    """A ferrotorch tensor over ``arr``'s memory (bfloat16 arrives as int16 bits)."""
    if arr.ctypes.data % arr.dtype.itemsize:
        arr = arr.copy()  # misaligned in the file: ferrotorch needs aligned elements
    t = _C.from_numpy(arr)
    return _C.view_dtype(t, torch.bfloat16) if dtype_name == "bfloat16" else t


def _dtype_of(code):
    if code not in _TYPES:
        raise TypeError(f"safetensors dtype {code} has no ferrotorch equivalent")
    return _TYPES[code]


def _check_device(device):
    if isinstance(device, int) or torch.device(device).type != "cpu":
        raise RuntimeError(f"ferrotorch only has the cpu device, cannot load to {device!r}")


def load_file(filename, device="cpu", *, backend="mmap"):
    """Load a safetensors file as ``{name: tensor}``.

    The file is memory-mapped copy-on-write: tensors share the mapping (no read into memory)
    and writing to one does not change the file."""
    _check_device(device)
    # safetensors validates the header (offsets in bounds, no overlaps, known dtypes)
    with _st().safe_open(filename, framework="numpy") as f:
        keys = list(f.keys())
    with open(filename, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n))
    size = os.path.getsize(filename)
    mm = np.memmap(filename, dtype=np.uint8, mode="c") if size > 8 + n else None
    out = {}
    for k in keys:
        info = header[k]
        name, npd = _dtype_of(info["dtype"])
        begin, end = info["data_offsets"]
        if end == begin:
            out[k] = torch.empty(info["shape"], dtype=getattr(torch, name))
            continue
        raw = mm[8 + n + begin: 8 + n + end]
        out[k] = _tensor(raw.view(npd).reshape(info["shape"]), name)
    return out


def load(data):
    """Load safetensors ``bytes`` as ``{name: tensor}`` (the tensors own copies of the data)."""
    out = {}
    for k, info in _st().deserialize(data):
        name, npd = _dtype_of(info["dtype"])
        arr = np.frombuffer(bytearray(info["data"]), dtype=npd).reshape(info["shape"])
        out[k] = _tensor(arr, name)
    return out


# ---------------------------------------------------------------- whole models
def save_model(model, filename, metadata=None, force_contiguous=True):
    """Save ``model.state_dict()`` to ``filename``, dropping names that alias another tensor
    (tied weights); each dropped name is recorded in the metadata as ``{dropped: kept}``."""
    state_dict = model.state_dict()
    for kept, dropped in _remove_duplicate_names(state_dict).items():
        for name in dropped:
            if metadata is None:
                metadata = {}
            metadata.setdefault(name, kept)
            del state_dict[name]
    if force_contiguous:
        state_dict = {k: v.contiguous() for k, v in state_dict.items()}
    try:
        save_file(state_dict, filename, metadata=metadata)
    except ValueError as e:
        raise ValueError(str(e) + " Or use save_model(..., force_contiguous=True), read the docs for potential caveats.")


def load_model(model, filename, strict=True, device="cpu", *, backend="mmap"):
    """Load a file written by :func:`save_model` (or ``safetensors.torch.save_model``) into
    ``model``. Returns ``(missing, unexpected)`` names; with ``strict`` either being non-empty
    raises RuntimeError."""
    state_dict = load_file(filename, device=device)
    to_removes = _remove_duplicate_names(model.state_dict(), preferred_names=state_dict.keys())
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    missing, unexpected = set(missing), list(unexpected)
    for group in to_removes.values():
        for name in group:
            if name not in missing:
                unexpected.append(name)
            else:
                missing.remove(name)
    if strict and (missing or unexpected):
        error = f"Error(s) in loading state_dict for {model.__class__.__name__}:"
        if missing:
            error += "\n    Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in sorted(missing))
        if unexpected:
            error += "\n    Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in sorted(unexpected))
        raise RuntimeError(error)
    return missing, unexpected
