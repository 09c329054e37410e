"""Per-op side-by-side timings against PyTorch: ~70 common ops (unary math, binary, reductions,
casts, indexing, sorting, norms, losses) on 2**19-element float32 inputs, both libraries in one
process, three alternating rounds, the best median of each; sorted by ratio (PyTorch time /
ferrotorch time, below 1: ferrotorch slower). Finds the ops a workload table does not cover.

    PYTHONPATH=python ~/tref/bin/python benches/op_sweep.py [THREADS [N]]
"""
import os, sys, time, statistics
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import ferrotorch as ft, torch
th = int(sys.argv[1]) if len(sys.argv) > 1 else 1; N = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 19
def cases(L):
    F = L.nn.functional
    x = L.randn(N); y = L.randn(N); p = L.rand(N) + 0.1; m = L.randn(512, N // 512); m2 = L.randn(N // 512, 512)
    i = L.randint(0, N, (N // 4,)); b = x > 0
    h = x.to(L.float16); d = x.to(L.float64); it = L.randint(-100, 100, (N,))
    w = L.randn(512); bb = L.randn(512)
    return [
        ("exp", lambda: x.exp()), ("log", lambda: p.log()), ("sqrt", lambda: p.sqrt()), ("sigmoid", lambda: x.sigmoid()),
        ("tanh", lambda: x.tanh()), ("gelu", lambda: F.gelu(x)), ("gelu_tanh", lambda: F.gelu(x, approximate="tanh")), ("silu", lambda: F.silu(x)),
        ("sin", lambda: x.sin()), ("cos", lambda: x.cos()), ("abs", lambda: x.abs()), ("neg", lambda: -x), ("pow2", lambda: x ** 2), ("powf", lambda: p ** 1.5),
        ("rsqrt", lambda: p.rsqrt()), ("log1p", lambda: p.log1p()), ("erf", lambda: x.erf()), ("clamp", lambda: x.clamp(-0.5, 0.5)),
        ("add", lambda: x + y), ("mul", lambda: x * y), ("div", lambda: x / p), ("sub_s", lambda: x - 1.5), ("maximum", lambda: L.maximum(x, y)),
        ("where", lambda: L.where(b, x, y)), ("gt", lambda: x > y), ("eq_s", lambda: x == 0.5), ("add_bcast", lambda: m2 + w),
        ("sum", lambda: x.sum()), ("mean", lambda: x.mean()), ("max", lambda: x.max()), ("argmax", lambda: x.argmax()), ("var", lambda: x.var()),
        ("std", lambda: x.std()), ("norm", lambda: x.norm()), ("sum_d0", lambda: m.sum(0)), ("sum_d1", lambda: m.sum(1)), ("max_d1", lambda: m.max(1)),
        ("lse_d1", lambda: m.logsumexp(1)), ("softmax", lambda: m2.softmax(1)), ("log_softmax", lambda: m2.log_softmax(1)), ("cumsum", lambda: x.cumsum(0)),
        ("to_f16", lambda: x.to(L.float16)), ("f16_to_f32", lambda: h.float()), ("to_f64", lambda: x.double()), ("f64_add", lambda: d + d), ("i64_add", lambda: it + it),
        ("f16_add", lambda: h + h), ("to_i64", lambda: x.long()),
        ("index_select", lambda: x.index_select(0, i)), ("gather", lambda: x.gather(0, i)), ("idx", lambda: x[i]), ("masked_fill", lambda: x.masked_fill(b, 0.0)),
        ("bool_idx", lambda: x[b]), ("scatter_add", lambda: L.zeros(N).scatter_add_(0, i, x[:N // 4])), ("index_add", lambda: L.zeros(N).index_add_(0, i, x[:N // 4])),
        ("cat", lambda: L.cat([x, y])), ("stack", lambda: L.stack([x, y])), ("t_contig", lambda: m.t().contiguous()), ("clone", lambda: x.clone()),
        ("sort", lambda: x.sort()), ("topk", lambda: x.topk(10)), ("layer_norm", lambda: F.layer_norm(m2, (512,), w, bb)),
        ("dropout", lambda: F.dropout(x, 0.1)), ("randn", lambda: L.randn(N)), ("rand", lambda: L.rand(N)), ("zeros", lambda: L.zeros(N)),
        ("nonzero", lambda: b.nonzero()), ("any", lambda: b.any()), ("addcmul_", lambda: d.addcmul_(d, d, value=0.0)), ("lerp", lambda: x.lerp(y, 0.3)),
        ("mse", lambda: F.mse_loss(x, y)), ("relu_", lambda: y.relu_()), ("add_", lambda: y.add_(x)),
        ("mul_", lambda: y.mul_(0.5)), ("fill_", lambda: p.fill_(0.5)), ("xent", lambda: F.cross_entropy(m2, L.zeros(N // 512, dtype=L.int64))),
    ]
res = {}
T = {"torch": cases(torch), "ft": cases(ft)}
torch.set_num_threads(th); ft.set_num_threads(th)
for rnd in range(3):
    for lib in ("torch", "ft"):
        for name, f in T[lib]:
            try:
                for _ in range(2): f()
                ts = []; t_end = time.perf_counter() + 0.15
                while len(ts) < 5 or time.perf_counter() < t_end:
                    t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
                    if len(ts) > 200: break
                res.setdefault((name, lib), []).append(statistics.median(ts))
            except Exception as e:
                res[(name, lib)] = [float("nan")]
out = []
for name, _ in T["torch"]:
    a, b = min(res[(name, "torch")]), min(res[(name, "ft")])
    out.append((a / b, name, a, b))
for r, name, a, b in sorted(out):
    print("%-13s torch %9.1f us  ft %9.1f us  ratio %.2f" % (name, a * 1e6, b * 1e6, r))
