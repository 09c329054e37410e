"""bfloat16 matrix products (src/cpu/bf16_gemm.rs on AMX or AVX512-BF16, the f32 GEMM
elsewhere): products summed in f32 and rounded to bfloat16 once, as PyTorch does. Integer-valued
operands keep every product and sum exact in f32, so the rounded result is known exactly
whichever path runs; random operands are checked to one bfloat16 rounding step. On a CPU with
AMX, the cases from 32^3 multiply-adds run the AMX kernel (`FERROTORCH_BF16_MATMUL=amx|
avx512_bf16|f32` picks a kernel for the whole file), and each kernel the CPU has is compared
with the f32 path in a child process."""
import os
import subprocess
import sys

import numpy as np
import pytest
import ferrotorch as torch
import ferrotorch.nn.functional as F

SHAPES = [(1, 40, 1), (33, 32, 31), (64, 64, 64), (17, 300, 130), (129, 257, 160), (256, 512, 48)]


def ints(rng, shape):
    return rng.integers(-8, 9, size=shape).astype(np.float32)


def bf16(x):
    return torch.from_numpy(np.ascontiguousarray(x)).to(torch.bfloat16)


def exact(want):
    """float64 results that are exact in f32, rounded once to bfloat16 (as float32 numbers)."""
    return torch.from_numpy(want.astype(np.float32)).to(torch.bfloat16).float().numpy()


@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("a_t,b_t", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_layouts_exact(m, k, n, a_t, b_t):
    rng = np.random.default_rng(m * 131 + k * 7 + n)
    a, b = ints(rng, (m, k)), ints(rng, (k, n))
    ta = bf16(a.T).t() if a_t else bf16(a)
    tb = bf16(b.T).t() if b_t else bf16(b)
    got = ta @ tb
    assert got.dtype == torch.bfloat16 and tuple(got.shape) == (m, n)
    np.testing.assert_array_equal(got.float().numpy(), exact(a.astype(np.float64) @ b))


def test_strided_and_batched_exact():
    rng = np.random.default_rng(5)
    a, b = ints(rng, (3, 70, 2 * 90)), ints(rng, (90, 2 * 50))
    ta, tb = bf16(a)[:, :, ::2], bf16(b)[:, 1::2]
    # a B broadcast over the batch, both operands with a step in their last dimension
    got = torch.matmul(ta, tb)
    np.testing.assert_array_equal(got.float().numpy(), exact(a[:, :, ::2].astype(np.float64) @ b[:, 1::2]))
    x, y = ints(rng, (4, 33, 65)), ints(rng, (4, 65, 40))
    np.testing.assert_array_equal(torch.bmm(bf16(x), bf16(y)).float().numpy(), exact(x.astype(np.float64) @ y))


def test_random_within_one_rounding():
    rng = np.random.default_rng(11)
    for m, k, n in [(96, 384, 200), (1, 512, 64), (300, 64, 1)]:
        a = bf16(rng.standard_normal((m, k)).astype(np.float32))
        b = bf16(rng.standard_normal((k, n)).astype(np.float32))
        want = a.float().numpy().astype(np.float64) @ b.float().numpy().astype(np.float64)
        got = (a @ b).float().numpy()
        # one bfloat16 rounding (2^-8 relative) plus f32 summation error
        assert np.all(np.abs(got - want) <= 2.0 ** -8 * np.abs(want) + 1e-5 * np.sqrt(k) * np.abs(a.float().numpy()) @ np.abs(b.float().numpy()))


def test_linear_and_backward_in_bf16():
    rng = np.random.default_rng(3)
    x, w, bias = ints(rng, (48, 96)), ints(rng, (80, 96)), ints(rng, (80,))
    tx, tw, tb = bf16(x).requires_grad_(), bf16(w).requires_grad_(), bf16(bias)
    y = F.linear(tx, tw, tb)
    assert y.dtype == torch.bfloat16
    # the bias joins the f32 sums: one rounding, as PyTorch's addmm
    np.testing.assert_array_equal(y.detach().float().numpy(), exact(x.astype(np.float64) @ w.T + bias))
    g = ints(rng, (48, 80))
    y.backward(bf16(g))
    assert tx.grad.dtype == torch.bfloat16 and tw.grad.dtype == torch.bfloat16
    np.testing.assert_array_equal(tx.grad.float().numpy(), exact(g.astype(np.float64) @ w))
    np.testing.assert_array_equal(tw.grad.float().numpy(), exact(g.T.astype(np.float64) @ x))


def test_empty_and_mismatched():
    z = torch.zeros(40, 0, dtype=torch.bfloat16) @ torch.zeros(0, 50, dtype=torch.bfloat16)
    assert z.dtype == torch.bfloat16 and tuple(z.shape) == (40, 50) and not z.float().abs().sum().item()
    assert tuple((torch.zeros(0, 64, dtype=torch.bfloat16) @ torch.zeros(64, 64, dtype=torch.bfloat16)).shape) == (0, 64)
    with pytest.raises(RuntimeError, match=r"cannot be multiplied \(40x64 and 63x64\)"):
        torch.zeros(40, 64, dtype=torch.bfloat16) @ torch.zeros(63, 64, dtype=torch.bfloat16)
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.mm(torch.zeros(40, 64, dtype=torch.bfloat16), torch.zeros(64, 64))


KERNEL_FLAGS = {"amx": {"amx_bf16", "amx_tile"}, "avx512_bf16": {"avx512_bf16", "avx512f"}}


def test_kernel_choice_is_reported():
    assert torch._C._bf16_matmul_kernel() in (None, "amx", "avx512_bf16")
    assert torch.cpu._init_amx() == (torch._C._bf16_matmul_kernel() == "amx")


@pytest.mark.parametrize("kernel", sorted(KERNEL_FLAGS))
def test_bf16_kernel_matches_f32_path(kernel):
    """Each bf16 kernel this CPU has against the f32 GEMM (`FERROTORCH_BF16_MATMUL=f32`), on the
    same random products, each in its own process."""
    if not KERNEL_FLAGS[kernel] <= torch.cpu._flags():
        pytest.skip(f"this CPU lacks {sorted(KERNEL_FLAGS[kernel])}: the {kernel} kernel cannot run here")
    code = (
        "import sys, numpy as np, ferrotorch as torch\n"
        "rng = np.random.default_rng(1)\n"
        "out = []\n"
        "for m, k, n in [(100, 300, 200), (1024, 1024, 1024), (3, 4096, 5), (250, 70, 1000)]:\n"
        "    a = torch.from_numpy(rng.standard_normal((m, k)).astype(np.float32)).bfloat16()\n"
        "    b = torch.from_numpy(rng.standard_normal((k, n)).astype(np.float32)).bfloat16()\n"
        "    out.append((a @ b).float().numpy())\n"
        "np.savez(sys.argv[1], *out)\n"
        "print(torch._C._bf16_matmul_kernel())\n")
    results = []
    for flag in (kernel, "f32"):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"ft_bf16_{os.getpid()}_{flag}.npz")
        done = subprocess.run([sys.executable, "-c", code, path], check=True, capture_output=True, text=True,
                              env={**os.environ, "FERROTORCH_BF16_MATMUL": flag})
        if flag == kernel and done.stdout.strip() != kernel:
            os.remove(path)
            pytest.skip(f"{kernel} is not usable here (the OS refused AMX's tile state?): {done.stdout.strip()}")
        assert done.stdout.strip() == ("None" if flag == "f32" else kernel)
        with np.load(path) as z:
            results.append([z[f] for f in z.files])
        os.remove(path)
    for fast, f32 in zip(*results):
        # both sum in f32 (in different orders) and round once: at most one bfloat16 step apart
        assert np.all(np.abs(fast - f32) <= 2.0 ** -7 * np.abs(f32) + 1e-3), float(np.max(np.abs(fast - f32)))
