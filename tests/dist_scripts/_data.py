"""Per-rank inputs of the dtype checks, in NumPy alone: dtypes.py builds its tensors from them on the
ranks, and tests/test_distributed.py computes every expected result from them with NumPy."""
import numpy as np

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]
N = 100  # elements per rank: enough for the MPI library's vector kernels, and a tail


def bf16_bits(x):
    """float32 values rounded to bfloat16 (nearest, ties to even), as uint16 bit patterns."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_round(x):
    """float32 values rounded to the nearest bfloat16, as float32."""
    return (bf16_bits(x).astype(np.uint32) << 16).view(np.float32)


def inputs(dtype, rank):
    """Rank `rank`'s N values of `dtype` (bfloat16 as exactly representable float32 values).
    Integers span the whole range (sums and products wrap); floats mix signs and magnitudes."""
    rng = np.random.default_rng([DTYPES.index(dtype), rank])
    if dtype == "bool":  # the first four pairs cover every (rank 0, rank 1) combination
        return np.concatenate([[True, True, False, False] if rank == 0 else [True, False, True, False],
                               rng.integers(0, 2, N - 4).astype(bool)])
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        v = rng.integers(info.min, info.max, N, dtype=dtype, endpoint=True)
        v[:3] = [info.max, info.min, 3] if rank == 0 else [2, info.max, -3 if info.min else 5]
        return v
    scale = 10.0 ** rng.integers(-2, 3, N)
    v = (rng.standard_normal(N) * scale).astype(np.float32 if dtype == "bfloat16" else dtype)
    v[0] = 1.5 if rank == 0 else -1.5  # an exact zero sum
    return bf16_round(v) if dtype == "bfloat16" else v
