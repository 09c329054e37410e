"""All-reduce bandwidth: ferrotorch's dist.all_reduce beside MPI's own Allreduce.

Usage (from the repository root, 2 local ranks):

  PYTHONPATH=python .venv/bin/python -m ferrotorch.distributed.run --nproc-per-node 2 benches/allreduce.py
  PYTHONPATH=python .venv/bin/mpiexec -n 2 .venv/bin/python benches/allreduce.py      # or by hand

Options: --min-kb K --max-mb M (message sizes K KiB .. M MiB, x4 each step; default 1 KiB .. 64 MiB),
--budget S (seconds of timed calls per size and engine; default 0.4).

For each float32 message size, both engines sum a buffer of that size across the ranks, in place:
ferrotorch through ``dist.all_reduce(tensor)`` (argument checks, the ranks' metadata agreement
under the group's timeout, then MPI's blocking Allreduce on the tensor's own memory) and raw
mpi4py through ``comm.Allreduce(MPI.IN_PLACE, array, MPI.SUM)`` on a NumPy array: the figure of
the engine underneath. Each call is timed alone after a barrier, on every rank; a call's time
is its slowest rank's. After warm-up calls, rounds of one call of each engine (in alternating
order) run until the time budget is spent (at least 5, at most 2000 rounds), and each engine's
median call is reported.
GB/s = message bytes / median time (algorithm bandwidth; with 2 ranks it equals nccl-tests' bus
bandwidth). overhead = ferrotorch time / MPI time (1.00: none)."""
import argparse
import platform
import statistics
import time

import numpy as np

import ferrotorch as torch
import ferrotorch.distributed as dist


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(comm, MPI, calls, warm, budget):
    """For each of `calls`: the median, over the timed rounds, of its slowest rank's time (seconds),
    and the number of rounds. Each round times every call once, in turn (alternating the order), so
    that load from other processes and cache effects fall on all of them alike."""
    for call in calls:
        for _ in range(warm):
            call()
    times = [[] for _ in calls]
    stop = time.perf_counter() + budget * len(calls)
    go = np.ones(1, np.int32)
    while True:
        order = list(zip(calls, times))
        for call, ts in order if len(times[0]) % 2 else order[::-1]:  # alternate which goes first
            comm.Barrier()
            t0 = time.perf_counter()
            call()
            ts.append(time.perf_counter() - t0)
        # every rank must run the same number of rounds: rank 0 decides when to stop
        go[0] = len(times[0]) < 5 or (time.perf_counter() < stop and len(times[0]) < 2000)
        comm.Bcast(go, 0)
        if not go[0]:
            break
    out = []
    for ts in times:
        worst = np.array(ts)
        comm.Allreduce(MPI.IN_PLACE, worst, MPI.MAX)
        out.append(statistics.median(worst.tolist()))
    return out, len(times[0])


def size_name(n):
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n // 2**10} KB"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--min-kb", type=int, default=1)
    p.add_argument("--max-mb", type=int, default=64)
    p.add_argument("--budget", type=float, default=0.4)
    args = p.parse_args()
    dist.init_process_group("gloo")
    from mpi4py import MPI
    comm = MPI.COMM_WORLD.Dup()  # the raw engine's own communicator
    rank, world = dist.get_rank(), dist.get_world_size()
    sizes, n = [], args.min_kb * 1024
    while n <= args.max_mb * 2**20:
        sizes.append(n)
        n *= 4
    rows = []
    for nbytes in sizes:
        count = nbytes // 4
        t = torch.zeros(count)
        a = np.zeros(count, np.float32)
        warm = 10 if nbytes < 2**20 else 3
        (ft, mp), rounds = timed(comm, MPI, [lambda: dist.all_reduce(t),
                                             lambda: comm.Allreduce(MPI.IN_PLACE, a, MPI.SUM)], warm, args.budget)
        rows.append((nbytes, ft, mp, rounds))
        if rank == 0:
            print(f"# {size_name(nbytes):>6}: ferrotorch {ft * 1e6:10.1f} us, MPI {mp * 1e6:10.1f} us "
                  f"({rounds} rounds)", flush=True)
    if rank == 0:
        print(f"\nall_reduce (SUM, float32, in place), {world} ranks on one host; CPU: {cpu_model()}; "
              f"{MPI.Get_library_version().splitlines()[0].strip()}; mpi4py over NumPy = the engine's own figure\n")
        print("| size | ferrotorch GB/s | MPI GB/s | ferrotorch us | MPI us | overhead (time ratio) | rounds |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for nbytes, ft, mp, rounds in rows:
            print(f"| {size_name(nbytes)} | {nbytes / ft / 1e9:.3f} | {nbytes / mp / 1e9:.3f} | {ft * 1e6:.1f} | "
                  f"{mp * 1e6:.1f} | {ft / mp:.2f} | {rounds} |")
    comm.Free()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
