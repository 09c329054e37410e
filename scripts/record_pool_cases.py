"""Records PyTorch's pooling results as test data (tests/data/pool_cases.npz), read by
tests/test_pool_native.py: max, average and adaptive pools in 1-3 dims with random geometry
(stride, padding, dilation, ceil_mode, count_include_pad, divisor_override, unbatched inputs,
NaNs and ties), in float32, float64 and int64. Per case it stores the call, the input, the
output gradient, and PyTorch's values, indices, input gradient and grad_fn name, or the
exception it raised.

Run with a real PyTorch (never a dependency of ferrotorch):
    ~/tref/bin/python scripts/record_pool_cases.py
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "pool_cases.npz")


def windows_all_in_padding(sp, ks, st, pd, dl, ceil):
    """PyTorch 2.13 reads out of bounds (and may crash) when a max-pool window holds no input."""
    for n, k, s, p, d in zip(sp, ks, st, pd, dl):
        num = n + 2 * p - d * (k - 1) - 1 + ((s - 1) if ceil else 0)
        o = num // s + 1
        if ceil and (o - 1) * s >= n + p:
            o -= 1
        for z in range(o):
            if not any(0 <= z * s - p + t * d < n for t in range(k)):
                return True
    return False


def cases(rng):
    for nd in (1, 2, 3):
        for trial in range(36):
            sp = [int(rng.integers(1, 9)) for _ in range(nd)]
            ks = [int(rng.integers(1, 4)) for _ in range(nd)]
            st = [int(rng.integers(1, 4)) for _ in range(nd)]
            pd = [int(rng.integers(0, k // 2 + 1)) for k in ks]
            dl = [int(rng.integers(1, 3)) for _ in range(nd)]
            ceil = bool(rng.integers(0, 2))
            cip = bool(rng.integers(0, 2))
            dov = [None, None, 3][int(rng.integers(0, 3))] if nd > 1 else None
            shape = ([2, 3] if rng.integers(0, 2) else [3]) + sp
            x = rng.standard_normal(shape)
            if trial % 5 == 0:
                x.flat[int(rng.integers(0, x.size))] = np.nan
            if trial % 7 == 0:
                x = np.round(x)  # ties
            osz = [int(rng.integers(1, 6)) for _ in range(nd)]
            for dt in ("float32", "float64", "int64"):
                xs = np.nan_to_num(x * 10).astype(np.int64) if dt == "int64" else x.astype(dt)
                if not windows_all_in_padding(sp, ks, st, pd, dl, ceil):
                    yield f"max_pool{nd}d", xs, [ks, st, pd, dl, ceil], {"return_indices": True}
                avg_args = [ks, st, pd, ceil, cip] + ([dov] if nd > 1 else [])
                yield f"avg_pool{nd}d", xs, avg_args, {}
                yield f"adaptive_avg_pool{nd}d", xs, [osz], {}
                yield f"adaptive_max_pool{nd}d", xs, [osz], {"return_indices": True}


def main():
    rng = np.random.default_rng(20261126)
    data = {}
    for i, (fn, xs, args, kw) in enumerate(cases(rng)):
        data[f"p{i}"] = np.array(json.dumps([fn, args, kw]))
        data[f"x{i}"] = xs
        x = torch.tensor(xs)
        if x.is_floating_point():
            x.requires_grad_(True)
        try:
            y = getattr(F, fn)(x, *args, **kw)
        except Exception as e:  # noqa: BLE001 - the exception is the recorded result
            data[f"e{i}"] = np.array(json.dumps([type(e).__name__, str(e)]))
            continue
        vals = y[0] if isinstance(y, tuple) else y
        data[f"y{i}"] = vals.detach().numpy()
        if isinstance(y, tuple):
            data[f"i{i}"] = y[1].numpy()
        if x.requires_grad:
            g = rng.standard_normal(tuple(vals.shape)).astype(xs.dtype)
            data[f"g{i}"] = g
            vals.backward(torch.tensor(g))
            data[f"gx{i}"] = x.grad.numpy()
            data[f"fn{i}"] = np.array(vals.grad_fn.name())
    np.savez_compressed(OUT, **data)
    print(f"{sum(1 for k in data if k.startswith('p'))} cases -> {OUT}")


if __name__ == "__main__":
    main()
