"""``torch.backends.cpu``: the host CPU's vector capability."""

__all__ = ["get_cpu_capability"]


def get_cpu_capability():
    """"AVX512", "AVX2" or "DEFAULT" (x86), from the CPU's feature flags, as PyTorch names them."""
    import platform
    from ..cpu import _flags
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return "DEFAULT"
    f = _flags()
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= f:
        return "AVX512"
    if "avx2" in f:
        return "AVX2"
    return "DEFAULT"
