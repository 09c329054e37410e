"""Packed sequences for RNNs, mirroring torch.nn.utils.rnn."""
import warnings
from collections import namedtuple

import ferrotorch as torch

__all__ = [
    "PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
    "unpad_sequence", "pack_sequence", "unpack_sequence",
]

_PackedSequenceBase = namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


def bind(optional, fn):
    if optional is None:
        return None
    return fn(optional)


class PackedSequence(_PackedSequenceBase):
    r"""Holds the data and list of ``batch_sizes`` of a packed sequence.

    Instances should be created with :func:`pack_padded_sequence` or :func:`pack_sequence`."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        return super().__new__(cls, *_packed_sequence_init_args(data, batch_sizes, sorted_indices,
                                                                unsorted_indices))

    # the "type conversion" methods only change the data, like PyTorch's
    def pin_memory(self):
        return type(self)(self.data.pin_memory(), self.batch_sizes, bind(self.sorted_indices, lambda t: t.pin_memory()),
                          bind(self.unsorted_indices, lambda t: t.pin_memory()))

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        device = data.device
        sorted_indices = bind(self.sorted_indices, lambda t: t.to(device))
        unsorted_indices = bind(self.unsorted_indices, lambda t: t.to(device))
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, *args, **kwargs):
        return self.to("cuda", *args, **kwargs)

    def cpu(self, *args, **kwargs):
        return self.to("cpu", *args, **kwargs)

    def double(self):
        return self.to(dtype=torch.double)

    def float(self):
        return self.to(dtype=torch.float)

    def half(self):
        return self.to(dtype=torch.half)

    def long(self):
        return self.to(dtype=torch.long)

    def int(self):
        return self.to(dtype=torch.int)

    def short(self):
        return self.to(dtype=torch.short)

    def char(self):
        return self.to(dtype=torch.int8)

    def byte(self):
        return self.to(dtype=torch.uint8)

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return self.data.is_pinned()


def _packed_sequence_init_args(data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
    # NB: if unsorted_indices is provided, it should be the inverse permutation to sorted_indices.
    if unsorted_indices is None:
        unsorted_indices = invert_permutation(sorted_indices)
    # support being called as `PackedSequence(data, batch_sizes, sorted_indices)`
    if batch_sizes is not None:
        dev = getattr(batch_sizes, "device", None)
        if dev is not None and getattr(dev, "type", "cpu") != "cpu":
            raise ValueError(
                "batch_sizes should always be on CPU. "
                "Instances of PackedSequence should never be created manually. "
                "They should be instantiated by functions like pack_sequence "
                "and pack_padded_sequences in nn.utils.rnn. "
                "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        return data, batch_sizes, sorted_indices, unsorted_indices
    # support being called as `PackedSequence((data, batch_sizes), *, sorted_indices)`
    assert isinstance(data, (list, tuple)) and len(data) == 2
    return data[0], data[1], sorted_indices, unsorted_indices


def _packed_sequence_init(data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
    data, batch_sizes, sorted_indices, unsorted_indices = _packed_sequence_init_args(
        data, batch_sizes, sorted_indices, unsorted_indices)
    return PackedSequence(data, batch_sizes, sorted_indices, unsorted_indices)


def invert_permutation(permutation):
    """Returns the inverse of a permutation (a 1-D int64 tensor), or None."""
    if permutation is None:
        return None
    return torch.argsort(permutation)


def _pack_padded(input, lengths, batch_first):
    """input: (T, B, *) (or (B, T, *) if batch_first), lengths: python list sorted decreasingly."""
    if batch_first:
        input = input.transpose(0, 1)
    B = input.size(1)
    if len(lengths) != B:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} (batch_size={B})")
    if len(lengths) == 0 or lengths[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0")
    for i in range(len(lengths) - 1):
        if lengths[i] < lengths[i + 1]:
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can "
                "pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this "
                "requirement if you do not need ONNX exportability.")
    T = lengths[0]
    if T > input.size(0):
        raise RuntimeError(
            f"Expected sequence length to be larger than or equal to the max length {T}, "
            f"but got {input.size(0)}")
    batch_sizes = []
    steps = []
    for t in range(T):
        bs = sum(1 for L in lengths if L > t)
        batch_sizes.append(bs)
        steps.append(input[t, :bs] if bs != B else input[t])
    data = torch.cat(steps, 0)
    return data, torch.tensor(batch_sizes, dtype=torch.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    r"""Packs a Tensor containing padded sequences of variable length."""
    if isinstance(lengths, torch.Tensor):
        lengths_list = [int(v) for v in lengths.detach().cpu().tolist()]
    else:
        lengths_list = [int(v) for v in lengths]
    if enforce_sorted:
        sorted_indices = None
    else:
        order = sorted(range(len(lengths_list)), key=lambda i: -lengths_list[i])  # stable
        sorted_indices = torch.tensor(order, dtype=torch.int64)
        if getattr(input.device, "type", "cpu") != "cpu":
            sorted_indices = sorted_indices.to(input.device)
        lengths_list = [lengths_list[i] for i in order]
        batch_dim = 0 if batch_first else 1
        input = input.index_select(batch_dim, sorted_indices)
    data, batch_sizes = _pack_padded(input, lengths_list, batch_first)
    return _packed_sequence_init(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    r"""Pads a packed batch of variable length sequences (the inverse of pack_padded_sequence).

    Returns (padded, lengths) where lengths is an int64 tensor."""
    batch_sizes = [int(b) for b in sequence.batch_sizes.tolist()]
    max_seq_length = len(batch_sizes)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in input, but got "
                f"total_length={total_length} and max sequence length being {max_seq_length}")
        max_seq_length = total_length
    data = sequence.data
    B = batch_sizes[0] if batch_sizes else 0
    feat = tuple(data.shape[1:])
    steps = []
    off = 0
    for bs in batch_sizes:
        chunk = data[off:off + bs]
        off += bs
        if bs < B:
            pad = torch.full((B - bs,) + feat, padding_value, dtype=data.dtype, device=data.device)
            chunk = torch.cat([chunk, pad], 0)
        steps.append(chunk)
    for _ in range(max_seq_length - len(batch_sizes)):
        steps.append(torch.full((B,) + feat, padding_value, dtype=data.dtype, device=data.device))
    padded = torch.stack(steps, 0)  # (T, B, *)
    lengths = [sum(1 for bs in batch_sizes if bs > b) for b in range(B)]
    lengths = torch.tensor(lengths, dtype=torch.int64)
    if batch_first:
        padded = padded.transpose(0, 1)
    unsorted_indices = sequence.unsorted_indices
    if unsorted_indices is not None:
        batch_dim = 0 if batch_first else 1
        return padded.index_select(batch_dim, unsorted_indices), lengths[unsorted_indices.cpu()]
    return padded, lengths


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    r"""Pad a list of variable length Tensors with ``padding_value``."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, torch.Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if len(sequences) == 0:
        raise RuntimeError("received an empty list of sequences")
    max_len = max(s.size(0) for s in sequences)
    padded = []
    for s in sequences:
        n = max_len - s.size(0)
        if n > 0:
            pad = torch.full((n,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = torch.cat([s, pad], 0) if padding_side == "right" else torch.cat([pad, s], 0)
        padded.append(s)
    return torch.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    r"""Unpad padded Tensor into a list of variable length Tensors."""
    unpadded_sequences = []
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = [int(v) for v in (lengths.tolist() if isinstance(lengths, torch.Tensor) else lengths)]
    for seq, length in zip(padded_sequences, lengths):
        unpadded_sequences.append(seq[:length])
    return unpadded_sequences


def pack_sequence(sequences, enforce_sorted=True):
    r"""Packs a list of variable length Tensors."""
    lengths = torch.tensor([v.size(0) for v in sequences], dtype=torch.int64)
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    r"""Unpack PackedSequence into a list of variable length Tensors."""
    padded_sequences, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded_sequences, lengths, batch_first=True)
