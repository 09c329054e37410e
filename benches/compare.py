"""ferrotorch vs PyTorch, side by side, on the 17 workloads the project is judged on.

Usage (from the repository root; ~/tref is a Python with PyTorch installed):

  PYTHONPATH=python ~/tref/bin/python benches/compare.py                  # full table, default threads
  PYTHONPATH=python ~/tref/bin/python benches/compare.py --threads 1,2    # one table per thread count
  PYTHONPATH=python ~/tref/bin/python benches/compare.py --threads 1,2 --markdown   # for the README
  PYTHONPATH=python ~/tref/bin/python benches/compare.py --only matmul_f32_64,small_add_x1000
  .venv/bin/python benches/compare.py            # no torch: ferrotorch alone, no ratios
  python benches/compare.py --list               # the workload names and their targets

Options:
  --threads N[,N...]   for each N: set_num_threads(N) on both modules, then run the table
                       (default: leave both at their own defaults)
  --only NAME[,NAME]   run only these workloads (repeatable)
  --rounds R           measure each workload R times, alternating the modules each round, and
                       report each module's median over the rounds (default 1; shared,
                       noisy machines give steadier ratios with 3)
  --settle S           seconds of sleep before each module's measurement (default 0.1; 0 for
                       none, as ../shared/bench/workloads.py runs)
  --markdown           print markdown (header as a list, one table per thread count)
  --list               print the workload names with their targets and exit

Both modules run in ONE process, alternating per workload (PyTorch, then ferrotorch), each
built after manual_seed(0) on its own module. Timing: 2 warm-up calls (at least 20 ms of
them after a pause), then up to 7 timed calls within a ~3 s budget (at least 3), and the median
is reported in milliseconds.

Before each module's measurement the process sleeps `--settle` seconds, so the other module's
idle worker threads have gone to sleep: PyTorch's OpenMP workers spin for milliseconds after
every parallel region, and ferrotorch's for 5 ms (cpu/threads.rs). On a 2-vCPU machine a
spinning thread of one module takes a core from the other: 256² matmul at two threads measured
0.19 ms in ferrotorch right after PyTorch and 0.10 ms after a pause (PyTorch: 0.107 / 0.101).

ratio = PyTorch time / ferrotorch time: above 1 means ferrotorch is faster. "target" is the
ratio the project aims for on that workload, and "meets" says whether this run reaches it.
A workload a module cannot run shows ERROR and the rest of the table goes on.

If ferrotorch is not importable through PYTHONPATH, the in-tree package (python/ next to
benches/) is tried. If torch is not importable, ferrotorch runs alone and the output says so.
"""
import argparse, gc, importlib, os, platform, statistics, sys, time

REPS, WARM, BUDGET = 7, 2, 3.0

# workload -> target ratio (PyTorch time / ferrotorch time), in table order
TARGETS = {
    "matmul_f32_64": 1.5,
    "matmul_f32_256": 1.0,
    "matmul_f32_1024": 1.0,
    "matmul_f32_2048": 1.0,
    "add_f32_10M": 2.0,
    "mul_scalar_f32_10M": 2.0,
    "exp_f32_10M": 2.0,
    "sum_f32_10M": 1.0,
    "sum_dim1_4096": 1.0,
    "softmax_4096": 2.0,
    "transpose_contig_4096": 2.0,
    "small_add_x1000": 2.0,
    "conv2d_fwd_64x32x28x28": 1.0,
    "mlp_train_step_b128": 1.2,
    "cnn_train_step_b64": 1.0,
    "rnncell_50steps_fwd_bwd": 2.0,
    "gpt_train_step_b16": 1.0,
}


# ---------------------------------------------------------------------------------------------
# workloads: each builder takes the module (torch or ferrotorch) and returns
# (callable, amount of work per call, unit)

def _matmul(n):
    def build(torch):
        a, b = torch.randn(n, n), torch.randn(n, n)
        return (lambda: torch.matmul(a, b)), 2 * n ** 3, "flop"
    return build


def _big(fn_of, bytes_per_elem):
    def build(torch):
        x, y = torch.randn(10_000_000), torch.randn(10_000_000)
        return (lambda: fn_of(torch, x, y)), bytes_per_elem * 10_000_000, "byte"
    return build


def _square(fn_of, bytes_total):
    def build(torch):
        m = torch.randn(4096, 4096)
        return (lambda: fn_of(torch, m)), bytes_total, "byte"
    return build


def _small_add(torch):
    s1, s2 = torch.randn(8), torch.randn(8)

    def run():
        for _ in range(1000):
            s1 + s2
    return run, 1000, "op"


def _conv(torch):
    img, layer = torch.randn(64, 32, 28, 28), torch.nn.Conv2d(32, 64, 3, padding=1)

    def run():
        with torch.no_grad():
            layer(img)
    return run, 2 * 64 * 64 * 28 * 28 * 32 * 9, "flop"


def _mlp(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(),
                          nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xb, yb = torch.randn(128, 1, 28, 28), torch.randint(0, 10, (128,))
    lossf = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        lossf(model(xb), yb).backward()
        opt.step()
    return step, 1, "step"


def _cnn(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):  # the seed documents' MNIST network
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return F.log_softmax(self.fc2(x), dim=1)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    cx, cy = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))

    def step():
        opt.zero_grad()
        F.nll_loss(net(cx), cy).backward()
        opt.step()
    return step, 1, "step"


def _rnn(torch):
    cell, seq = torch.nn.RNNCell(32, 64), torch.randn(50, 16, 32)

    def run():
        h = torch.zeros(16, 64)
        for t in range(50):
            h = cell(seq[t], h)
        h.sum().backward()
    return run, 1, "seq"


def _gpt(torch):
    nn, F = torch.nn, torch.nn.functional
    V, T, D, H, L = 256, 64, 128, 4, 2

    class Block(nn.Module):  # a GPT block written as such programs write it
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
            self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
            self.fc, self.out = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
            self.register_buffer("mask", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

        def forward(self, x):
            B_, T_, C = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
            q, k, v = (z.view(B_, T_, H, C // H).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / (C // H) ** 0.5)
            att = F.softmax(att.masked_fill(self.mask[:, :, :T_, :T_] == 0, float("-inf")), dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B_, T_, C)
            x = x + self.proj(y)
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(T, D)
            self.blocks = nn.ModuleList(Block() for _ in range(L))
            self.ln, self.head = nn.LayerNorm(D), nn.Linear(D, V, bias=False)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for b in self.blocks:
                x = b(x)
            return self.head(self.ln(x))

    model = GPT()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    xb, yb = torch.randint(0, V, (16, T)), torch.randint(0, V, (16, T))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(xb).view(-1, V), yb.view(-1)).backward()
        opt.step()
    return step, 1, "step"


WORKLOADS = {
    "matmul_f32_64": _matmul(64),
    "matmul_f32_256": _matmul(256),
    "matmul_f32_1024": _matmul(1024),
    "matmul_f32_2048": _matmul(2048),
    "add_f32_10M": _big(lambda t, x, y: x + y, 12),
    "mul_scalar_f32_10M": _big(lambda t, x, y: x * 2.5, 8),
    "exp_f32_10M": _big(lambda t, x, y: t.exp(x), 8),
    "sum_f32_10M": _big(lambda t, x, y: x.sum(), 4),
    "sum_dim1_4096": _square(lambda t, m: m.sum(1), 4 * 4096 * 4096),
    "softmax_4096": _square(lambda t, m: t.softmax(m, dim=1), 8 * 4096 * 4096),
    "transpose_contig_4096": _square(lambda t, m: m.t().contiguous(), 8 * 4096 * 4096),
    "small_add_x1000": _small_add,
    "conv2d_fwd_64x32x28x28": _conv,
    "mlp_train_step_b128": _mlp,
    "cnn_train_step_b64": _cnn,
    "rnncell_50steps_fwd_bwd": _rnn,
    "gpt_train_step_b16": _gpt,
}
assert list(WORKLOADS) == list(TARGETS)


# ---------------------------------------------------------------------------------------------
# timing

def timeit(fn, reps=REPS, warm=WARM, budget=BUDGET):
    """Median seconds per call: `warm` untimed calls (and, after a pause, as many more as fit
    in WARM_MIN_S), then up to `reps` timed ones, stopping early once `budget` seconds have
    passed (but never before three timed calls)."""
    warm_end = time.perf_counter() + (WARM_MIN_S if SETTLE > 0 else 0.0)
    done = 0
    while done < warm or time.perf_counter() < warm_end:
        fn()
        done += 1
    ts, t_end = [], time.perf_counter() + budget
    for i in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        if time.perf_counter() > t_end and i >= 2:
            break
    return statistics.median(ts)


SETTLE = 0.1
# After a pause the first calls of either module run slow (cold caches, a vCPU back from halt):
# 64² matmul took 70-700 µs for the first call and 8-20 µs for the next eight, against 4.5 / 7.5
# µs (ferrotorch / PyTorch) in a loop. So a pause is followed by 20 ms of untimed calls.
WARM_MIN_S = 0.02


def measure(mod, name):
    """(seconds, throughput text) or raises. Seeds the module before building, after sleeping
    SETTLE seconds (see the module docstring)."""
    if SETTLE > 0:
        time.sleep(SETTLE)
    mod.manual_seed(0)
    fn, work, unit = WORKLOADS[name](mod)
    try:
        t = timeit(fn)
    finally:
        del fn
        gc.collect()
    rate = work / t
    shown = f"{rate / 1e9:.2f} G{unit}/s" if unit in ("flop", "byte") else f"{rate:,.0f} {unit}/s"
    return t, shown


# ---------------------------------------------------------------------------------------------
# environment

def cpu_info():
    """(model name, [flags of interest present]); degrades to platform data off Linux."""
    want = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
    model, flags = None, None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip()
                if model is None and key in ("model name", "Model", "cpu model", "Hardware"):
                    model = val.strip()
                elif flags is None and key in ("flags", "Features"):
                    flags = set(val.split())
                if model is not None and flags is not None:
                    break
    except OSError:
        pass
    model = model or platform.processor() or platform.machine() or "unknown CPU"
    if flags is None:
        return model, None
    return model, [f for f in want if f in flags]


def import_ferrotorch():
    try:
        return importlib.import_module("ferrotorch")
    except ImportError as first:
        here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python")
        if os.path.isdir(os.path.join(here, "ferrotorch")) and here not in sys.path:
            sys.path.insert(0, here)
            try:
                return importlib.import_module("ferrotorch")
            except ImportError:
                pass
        raise SystemExit(f"cannot import ferrotorch ({first}); run with PYTHONPATH=python from the repo root")


def import_torch():
    try:
        return importlib.import_module("torch"), None
    except Exception as e:  # ImportError, or a broken install
        return None, f"{type(e).__name__}: {e}"


def threads_of(mod):
    try:
        return mod.get_num_threads()
    except Exception:
        return "?"


# ---------------------------------------------------------------------------------------------
# output

def fmt_ms(t):
    return f"{t * 1e3:.3f}"


def short_err(e):
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg[:100]}"


class Table:
    """Prints rows as they are measured, either as aligned text or as markdown."""

    def __init__(self, markdown, with_torch):
        self.md, self.with_torch = markdown, with_torch
        if with_torch:
            self.cols = ["workload", "PyTorch ms", "ferrotorch ms", "ratio", "target", "meets", "ferrotorch rate"]
            self.widths = [24, 11, 14, 6, 7, 5, 16]
        else:
            self.cols = ["workload", "ferrotorch ms", "ferrotorch rate", "target"]
            self.widths = [24, 14, 16, 7]
        self.notes = []

    def head(self):
        if self.md:
            print("| " + " | ".join(self.cols) + " |")
            print("|" + "|".join([":---"] + ["---:"] * (len(self.cols) - 1)) + "|")
        else:
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(self.cols, self.widths))))
        sys.stdout.flush()

    def row(self, cells, notes=()):
        if self.md:
            print("| " + " | ".join(cells) + " |")
            self.notes.extend(notes)
        else:
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(cells, self.widths))))
            for n in notes:
                print(f"    {n}")
        sys.stdout.flush()

    def tail(self, summary):
        if self.md:
            print()
            for n in self.notes:
                print(f"- {n}")
            if self.notes:
                print()
            print(summary)
        else:
            print(summary)
        self.notes = []
        sys.stdout.flush()


def run_table(names, ft, torch, md, rounds=1):
    table = Table(md, torch is not None)
    table.head()
    met = compared = 0
    for name in names:
        target = TARGETS[name]
        if torch is None:
            try:
                t, shown = measure(ft, name)
                table.row([name, fmt_ms(t), shown, f">={target:g}"])
            except Exception as e:
                table.row([name, "ERROR", "", f">={target:g}"], [f"{name}: ferrotorch {short_err(e)}"])
            continue
        runs, notes = {"PyTorch": [], "ferrotorch": []}, []
        for _ in range(rounds):
            for label, mod in (("PyTorch", torch), ("ferrotorch", ft)):  # alternate per workload
                if runs[label] is None:
                    continue
                try:
                    runs[label].append(measure(mod, name))
                except Exception as e:  # a missing feature is reported, the rest still runs
                    runs[label] = None
                    notes.append(f"{name}: {label} {short_err(e)}")
        # each module's median over the rounds (by time; its throughput text goes with it)
        res = {k: (sorted(v)[len(v) // 2] if v else None) for k, v in runs.items()}
        pt, fr = res["PyTorch"], res["ferrotorch"]
        if pt and fr:
            ratio = pt[0] / fr[0]
            meets = "yes" if ratio >= target else "no"
            compared += 1
            met += ratio >= target
            ratio_s = f"{ratio:.2f}"
        else:
            ratio_s, meets = "-", "n/a"
        table.row([name, fmt_ms(pt[0]) if pt else "ERROR", fmt_ms(fr[0]) if fr else "ERROR",
                   ratio_s, f">={target:g}", meets, fr[1] if fr else ""], notes)
    if torch is None:
        table.tail(f"{len(names)} workload(s) run, ferrotorch only (torch not importable: no ratios).")
    else:
        table.tail(f"{met} of {compared} compared workloads meet their target"
                   + (f" ({len(names) - compared} not compared)" if compared < len(names) else "") + ".")


def main(argv=None):
    ap = argparse.ArgumentParser(description="ferrotorch vs PyTorch, side by side (see the module docstring).")
    ap.add_argument("--threads", default=None,
                    help="comma-separated thread counts; one table per count (default: the modules' defaults)")
    ap.add_argument("--only", action="append", default=[], help="comma-separated workload names (repeatable)")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    ap.add_argument("--rounds", type=int, default=1, help="alternating measurement rounds per workload (median reported)")
    ap.add_argument("--list", action="store_true", help="list the workloads and their targets, then exit")
    ap.add_argument("--settle", type=float, default=0.1,
                    help="seconds of sleep before each module's measurement, so the other module's worker threads are idle (default 0.1)")
    args = ap.parse_args(argv)
    globals()["SETTLE"] = max(0.0, args.settle)

    if args.list:
        for name, target in TARGETS.items():
            print(f"{name:<26} target ratio >= {target:g}")
        return

    names = list(WORKLOADS)
    if args.only:
        wanted = [n.strip() for part in args.only for n in part.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in WORKLOADS]
        if unknown:
            ap.error(f"unknown workload(s): {', '.join(unknown)}; --list shows the names")
        names = [n for n in names if n in wanted]

    threads = None
    if args.threads:
        try:
            threads = [int(x) for x in args.threads.split(",") if x.strip()]
        except ValueError:
            ap.error("--threads takes comma-separated integers, e.g. --threads 1,2")
        if not threads or min(threads) < 1:
            ap.error("--threads takes positive integers")

    ft = import_ferrotorch()
    torch, why = import_torch()

    model, flags = cpu_info()
    flags_s = ", ".join(flags) if flags else ("none of avx2/fma/avx512f/avx512_bf16/amx_tile" if flags is not None
                                              else "flags unavailable")
    lines = [
        f"CPU: {model} ({os.cpu_count()} logical CPUs); flags: {flags_s}",
        f"ferrotorch {getattr(ft, '__version__', '?')} (default threads {threads_of(ft)})"
        + (f"; PyTorch {torch.__version__} (default threads {threads_of(torch)})" if torch is not None else ""),
        f"Python {platform.python_version()}; timing: {WARM} warm-up calls, median of up to {REPS} "
        f"within ~{BUDGET:g} s per workload per module"
        + (f", {args.rounds} alternating rounds (median of the rounds)" if args.rounds > 1 else "")
        + (f", {args.settle:g} s pause then at least {WARM_MIN_S * 1e3:g} ms of warm-up calls before each measurement" if args.settle > 0 else ", no pause")
        + "; ratio = PyTorch ms / ferrotorch ms (>1: ferrotorch faster)",
    ]
    if torch is None:
        lines.append(f"torch is not importable ({why}): running ferrotorch alone, no ratios")
    if args.markdown:
        for ln in lines:
            print(f"- {ln}")
        print()
    else:
        for ln in lines:
            print(ln)
    sys.stdout.flush()

    for i, n in enumerate(threads or [None]):
        if n is not None:
            ft.set_num_threads(n)
            if torch is not None:
                torch.set_num_threads(n)
        label = (f"threads: ferrotorch {threads_of(ft)}"
                 + (f", PyTorch {threads_of(torch)}" if torch is not None else "")
                 + (" (set_num_threads(%d))" % n if n is not None else " (defaults)"))
        if args.markdown:
            print(f"#### {label}\n")
        else:
            print(f"\n== {label}")
        run_table(names, ft, torch, args.markdown, max(1, args.rounds))
        if args.markdown:
            print()


if __name__ == "__main__":
    main()
