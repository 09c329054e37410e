"""Failure cases on 2 ranks (run through ferrotorch.distributed.run).

raise:   rank 1 raises while rank 0 waits in a barrier; the launcher must stop rank 0 and report.
timeout: rank 1 never joins the all_reduce; rank 0 must raise DistBackendError after the 2 s timeout."""
import os
import sys
import time
from datetime import timedelta

import ferrotorch as torch
import ferrotorch.distributed as dist

mode = sys.argv[1]
dist.init_process_group("gloo", timeout=timedelta(seconds=2 if mode == "timeout" else 600))
rank = dist.get_rank()
if rank == 1:
    if mode == "raise":
        raise ValueError("boom from rank 1")
    time.sleep(120)  # hangs: never takes part in the collective
    sys.exit(0)
start = time.time()
try:
    if mode == "raise":
        dist.barrier()
    else:
        dist.all_reduce(torch.ones(4))
finally:
    print(f"rank 0 left the collective after {time.time() - start:.1f} s", flush=True)
