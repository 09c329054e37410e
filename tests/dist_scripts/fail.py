"""Failure cases on 2 ranks (run through ferrotorch.distributed.run).

raise:   rank 1 raises while rank 0 waits in a barrier; the launcher must stop rank 0 and report.
timeout: rank 1 never joins the all_reduce; rank 0 must raise DistBackendError after the 2 s timeout.
train:   DDP training; at step 5 rank 1 raises in its forward while rank 0 goes on into backward and
         waits for the gradient all-reduce (default 30-minute timeout): the launcher must stop it.
kill:    as train, but rank 1 dies of SIGKILL (no Python error, no error file).
timeout_worker: as timeout, for a large async all_reduce (run by the group's worker thread): rank 1
         agrees to it but its worker never runs it."""
import os
import signal
import sys
import time
from datetime import timedelta

import ferrotorch as torch
import ferrotorch.distributed as dist
import ferrotorch.nn as nn
from ferrotorch.nn.parallel import DistributedDataParallel as DDP

mode = sys.argv[1]
dist.init_process_group("gloo", timeout=timedelta(seconds=2) if mode.startswith("timeout") else None)
rank = dist.get_rank()


def train():
    model = DDP(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(50):
        if rank == 1 and step == 5:
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"rank 1 crashed at step {step}")
        opt.zero_grad()
        model(torch.randn(4, 8)).pow(2).mean().backward()
        opt.step()
        print(f"rank {rank} finished step {step}", flush=True)


if mode in ("train", "kill"):
    train()
    sys.exit(0)
big = torch.ones(2**18)  # 1 MiB: all_reduce(async_op=True) runs it on the group's worker thread
if mode == "timeout_worker":
    dist.all_reduce(big, async_op=True).wait()  # starts the workers
if rank == 1:
    if mode == "raise":
        raise ValueError("boom from rank 1")
    if mode == "timeout_worker":  # take part in the agreement, then never run the all-reduce
        dist.group.WORLD._worker.submit = lambda fn: dist.distributed_c10d._Job(fn)
        dist.all_reduce(big, async_op=True)
    time.sleep(120)  # hangs: never takes part in the collective
    sys.exit(0)
start = time.time()
try:
    if mode == "raise":
        dist.barrier()
    else:
        if mode == "timeout_worker":
            dist.all_reduce(big, async_op=True).wait()
        else:
            dist.all_reduce(torch.ones(4))
finally:
    print(f"rank 0 left the collective after {time.time() - start:.1f} s", flush=True)
