"""torch.multiprocessing: the standard library's multiprocessing plus `spawn`. Tensors cross
process boundaries by pickling (copies): `share_memory_()` does not place them in shared memory,
so Hogwild-style updates from children are not seen by the parent."""
import multiprocessing as _mp
from multiprocessing import *  # noqa: F401,F403

__all__ = [n for n in dir(_mp) if not n.startswith("_")] + ["spawn", "start_processes", "get_all_sharing_strategies",
                                                             "get_sharing_strategy", "set_sharing_strategy"]


class ProcessRaisedException(Exception):
    pass


def _wrap(fn, i, args, error_queue):
    try:
        fn(i, *args)
    except BaseException as e:  # reported to the parent, which raises
        import traceback
        error_queue.put(traceback.format_exc())
        raise SystemExit(1) from e


class ProcessContext:
    def __init__(self, processes, error_queue):
        self.processes, self.error_queue = processes, error_queue

    def pids(self):
        return [p.pid for p in self.processes]

    def join(self, timeout=None):
        for p in self.processes:
            p.join(timeout)
        if not self.error_queue.empty():
            raise ProcessRaisedException(self.error_queue.get())
        bad = [p for p in self.processes if p.exitcode not in (0, None)]
        if bad:
            raise ProcessRaisedException(f"process {self.processes.index(bad[0])} terminated with exit code {bad[0].exitcode}")
        return all(not p.is_alive() for p in self.processes)


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    ctx = _mp.get_context(start_method)
    error_queue = ctx.SimpleQueue()
    procs = []
    for i in range(nprocs):
        p = ctx.Process(target=_wrap, args=(fn, i, args, error_queue), daemon=daemon)
        p.start()
        procs.append(p)
    pc = ProcessContext(procs, error_queue)
    if join:
        pc.join()
        return None
    return pc


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    return start_processes(fn, args, nprocs, join, daemon, start_method)


_strategy = "file_system"


def get_all_sharing_strategies():
    return {"file_system"}


def get_sharing_strategy():
    return _strategy


def set_sharing_strategy(new_strategy):
    global _strategy
    _strategy = new_strategy
