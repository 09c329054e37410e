"""bfloat16 (and float16) matrix products, ferrotorch vs PyTorch, side by side.

Usage (from the repository root; `python` has ferrotorch installed, PyTorch optional):

  python benches/bf16_matmul.py                       # default threads, sizes 256..2048
  python benches/bf16_matmul.py --threads 1,16 --sizes 512,1024,4096
  python benches/bf16_matmul.py --cases "matmul bf16,linear bf16" --skip-f16

For each thread count and square size n it times `a @ b` (n x n) in bfloat16, float16 and
float32, and `F.linear` in bfloat16 (n rows, n -> n features, with bias), in each module: 2
warm-up calls, then up to 9 timed calls within ~2 s (at least 3), and prints the medians in
milliseconds, GFLOP/s, and ratio = PyTorch time / ferrotorch time (above 1: ferrotorch faster).
On a CPU with AMX-BF16, ferrotorch's bfloat16 products run on AMX tiles (`torch.cpu._init_amx()`
says whether they do here); `FERROTORCH_BF16_MATMUL=f32` in the environment sends them through
the f32 GEMM instead, for comparison. PyTorch runs its bf16 products through oneDNN (AMX there
too). PyTorch's CPU float16 GEMM can be very slow (1-2 GFLOP/s on a 2-vCPU Xeon): `--skip-f16`.
"""
import argparse
import statistics
import sys
import time


def median_ms(fn, budget=2.0):
    for _ in range(2):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < 3 or (len(times) < 9 and time.perf_counter() - start < budget):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def cases(mod, n):
    gen = mod.manual_seed(0)
    del gen
    a32, b32, bias32 = mod.randn(n, n), mod.randn(n, n), mod.randn(n)
    out = {}
    for name, dt in (("bf16", mod.bfloat16), ("f16", mod.float16), ("f32", mod.float32)):
        a, b = a32.to(dt), b32.to(dt)
        out[f"matmul {name}"] = (lambda a=a, b=b: a @ b)
    a, w, bias = a32.to(mod.bfloat16), b32.to(mod.bfloat16), bias32.to(mod.bfloat16)
    lin = mod.nn.functional.linear
    out["linear bf16"] = lambda: lin(a, w, bias)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", default="")
    p.add_argument("--sizes", default="256,512,1024,2048")
    p.add_argument("--skip-f16", action="store_true", help="leave out float16 (PyTorch's CPU float16 GEMM can be very slow)")
    p.add_argument("--cases", default="", help="comma-separated case names to run (default: all)")
    args = p.parse_args()
    import ferrotorch
    try:
        import torch
    except ImportError:
        torch = None
    print(f"ferrotorch bf16 on AMX: {ferrotorch.cpu._init_amx()}; PyTorch: {torch.__version__ if torch else 'not installed'}")
    threads = [int(t) for t in args.threads.split(",") if t] or [None]
    for nt in threads:
        mods = [m for m in (torch, ferrotorch) if m is not None]
        if nt is not None:
            for m in mods:
                m.set_num_threads(nt)
        print(f"\n## threads: {nt or 'default'}")
        print(f"{'case':<14}{'n':>6}{'torch ms':>11}{'ft ms':>11}{'ft GFLOP/s':>12}{'ratio':>8}")
        for n in (int(s) for s in args.sizes.split(",")):
            per_mod = [cases(m, n) for m in mods]
            for name in per_mod[0]:
                if (args.skip_f16 and name == "matmul f16") or (args.cases and name not in args.cases.split(",")):
                    continue
                ms = [median_ms(c[name]) for c in per_mod]
                ft = ms[-1]
                gflops = 2 * n ** 3 / (ft * 1e-3) / 1e9
                tms = f"{ms[0]:11.3f}" if torch else f"{'-':>11}"
                ratio = f"{ms[0] / ft:8.2f}" if torch else f"{'-':>8}"
                print(f"{name:<14}{n:>6}{tms}{ft:11.3f}{gflops:12.1f}{ratio}")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
