"""Recurrent layers and cells, ferrotorch vs PyTorch side by side (not part of the 17-row table).

Usage (from the repository root; ~/tref is a Python with PyTorch installed):

  PYTHONPATH=python ~/tref/bin/python benches/recurrent.py --threads 1,2

Layers: 2 layers, input 64, hidden 128, T=50, batch 32, forward + backward (nn.LSTM, nn.GRU,
nn.RNN tanh). Cells: 50 steps of LSTMCell / GRUCell (input 64, hidden 128, batch 32), forward
+ backward. Both modules run in one process, alternating per workload, median of 7 calls after
2 warm-up calls; ratio = PyTorch time / ferrotorch time (above 1: ferrotorch is faster).
"""
import argparse, importlib, os, statistics, sys, time


def timeit(fn, reps=7, warm=2):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def layer(kind):
    def build(torch):
        torch.manual_seed(0)
        m = getattr(torch.nn, kind)(64, 128, num_layers=2)
        x = torch.randn(50, 32, 64, requires_grad=True)

        def run():
            out = m(x)[0]
            out.sum().backward()
        return run
    return build


def cell(kind):
    def build(torch):
        torch.manual_seed(0)
        c = getattr(torch.nn, kind)(64, 128)
        xs = torch.randn(50, 32, 64)

        def run():
            h = torch.zeros(32, 128)
            state = (h, torch.zeros(32, 128)) if kind == "LSTMCell" else h
            loss = 0
            for t in range(50):
                state = c(xs[t], state)
                loss = loss + (state[0] if kind == "LSTMCell" else state).sum()
            loss.backward()
        return run
    return build


WORKLOADS = {"LSTM": layer("LSTM"), "GRU": layer("GRU"), "RNN": layer("RNN"),
             "LSTMCell x50": cell("LSTMCell"), "GRUCell x50": cell("GRUCell")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
    import ferrotorch
    try:
        import torch
    except ImportError:
        torch = None
    print("| workload | threads | PyTorch ms | ferrotorch ms | ratio |")
    print("|:---|---:|---:|---:|---:|")
    for th in [int(t) for t in args.threads.split(",")]:
        for mod in (torch, ferrotorch):
            if mod is not None:
                mod.set_num_threads(th)
        for name, build in WORKLOADS.items():
            tt = timeit(build(torch)) * 1e3 if torch is not None else float("nan")
            tf = timeit(build(ferrotorch)) * 1e3
            print(f"| {name} | {th} | {tt:.1f} | {tf:.1f} | {tt / tf:.2f} |", flush=True)


if __name__ == "__main__":
    main()
