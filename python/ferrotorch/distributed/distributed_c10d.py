"""torch.distributed's process groups and collectives, carried by MPI (mpi4py).

Each collective first exchanges one small metadata row per rank (which collective, dtype, shape,
root, reduce op) with a nonblocking allgather, polled under the group's timeout: ranks that
disagree raise instead of hanging or corrupting memory, and a rank that stops taking part makes
the others fail with DistBackendError. Once every rank has entered the collective, its payload
travels on the tensors' own memory: a synchronous call makes MPI's blocking call (Open MPI's
blocking collectives use tuned algorithms, about twice as fast for megabytes as its nonblocking
ones); async_op=True starts the nonblocking call in a Work, except a large all_reduce, which a
worker thread of the group runs as a blocking Allreduce on a communicator of its own."""
import atexit
import enum
import os
import pickle
import queue
import sys
import threading
import time
import urllib.parse
import warnings
from datetime import timedelta

import numpy as np

import ferrotorch as torch
from .. import _C
from .._core import Tensor
from . import _mpi
from .constants import default_pg_timeout

__all__ = [
    "Backend", "DistBackendError", "DistError", "DistNetworkError", "DistStoreError", "GroupMember", "P2POp",
    "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce",
    "all_to_all", "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast", "broadcast_object_list",
    "destroy_process_group", "gather", "gather_object", "get_backend", "get_global_rank", "get_group_rank",
    "get_node_local_rank", "get_process_group_ranks", "get_rank", "get_world_size", "group", "init_process_group",
    "irecv", "is_available", "is_backend_available", "is_gloo_available", "is_initialized", "is_mpi_available",
    "is_nccl_available", "is_torchelastic_launched", "is_ucc_available", "is_xccl_available", "isend",
    "monitored_barrier", "new_group", "recv", "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter",
    "scatter_object_list", "send",
]

_NOT_INIT = "Default process group has not been initialized, please make sure to call init_process_group."


class DistError(RuntimeError):
    """Base of distributed errors (torch.distributed.DistError)."""


class DistBackendError(DistError):
    """A collective failed or timed out in the communication backend."""


class DistNetworkError(DistError):
    pass


class DistStoreError(DistError):
    pass


for _cls in (DistError, DistBackendError, DistNetworkError, DistStoreError):
    _cls.__module__ = "ferrotorch.distributed"


def is_available():
    """True when mpi4py imports and an MPI library loads (needed by every collective)."""
    return _mpi.module() is not None


is_mpi_available = is_gloo_available = is_available


def is_nccl_available():
    return False


def is_ucc_available():
    return False


def is_xccl_available():
    return False


def is_backend_available(backend):
    return str(backend).lower() in ("gloo", "mpi") and is_available()


def is_torchelastic_launched():
    """True under torchrun or ferrotorch.distributed.run (both set TORCHELASTIC_RUN_ID)."""
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def get_node_local_rank(fallback_rank=None):
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
                       "`get_node_local_rank` to work, assuming you are not running in a multi-device context "
                       "and want the code to run locally instead.")


class Backend(str):
    """Backend names; 'gloo' and 'mpi' are both served by MPI here."""
    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"
    XCCL = "xccl"
    FAKE = "fake"
    backend_list = [UNDEFINED, GLOO, NCCL, UCC, MPI, XCCL, FAKE]
    default_device_backend_map = {"cpu": GLOO, "cuda": NCCL}

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError("Backend constructor parameter must be string-ish")
        value = getattr(Backend, name.upper(), Backend.UNDEFINED)
        return name.lower() if value == Backend.UNDEFINED else value


def _check_backend(backend):
    """The name get_backend() reports; raises like PyTorch for backends that cannot run here."""
    if backend is None:
        return Backend.UNDEFINED
    text = str(backend).lower()
    for part in text.split(","):
        name = part.strip().rpartition(":")[2]
        if name == "nccl":
            raise ValueError("ProcessGroupNCCL is only supported with GPUs, no GPUs found!")
        if name in ("ucc", "xccl"):
            raise AssertionError(f"Unknown c10d backend type {name.upper()}")
        if name not in ("gloo", "mpi", "undefined"):
            raise AssertionError(f"Unknown backend type {name}")
    return Backend(text) if ":" not in text else text


class ReduceOp:
    """Reduction operators; ReduceOp.SUM etc. are RedOpType members, as in PyTorch."""

    class RedOpType(enum.Enum):
        SUM = 0
        AVG = 1
        PRODUCT = 2
        MIN = 3
        MAX = 4
        BAND = 5
        BOR = 6
        BXOR = 7
        PREMUL_SUM = 8
        UNUSED = 9

    def __init__(self, op=RedOpType.SUM):
        self.op = op.op if isinstance(op, ReduceOp) else ReduceOp.RedOpType(op)

    def __eq__(self, other):
        return _red(other) is self.op if isinstance(other, (ReduceOp, ReduceOp.RedOpType)) else NotImplemented

    def __hash__(self):
        return hash(self.op)

    def __repr__(self):
        return repr(self.op)


for _m in ReduceOp.RedOpType:
    setattr(ReduceOp, _m.name, _m)


def _red(op):
    if isinstance(op, ReduceOp):
        return op.op
    if isinstance(op, ReduceOp.RedOpType):
        return op
    raise TypeError(f"op must be a torch.distributed.ReduceOp, got {op!r}")


class ProcessGroup:
    """A set of ranks with its own MPI communicator (torch.distributed.ProcessGroup)."""

    def __init__(self, comm, ranks, backend, timeout, name=""):
        self._comm = comm
        self._ranks = list(ranks)
        self._backend = backend
        self._timeout = timeout
        self._name = name
        self._broken = None
        self._worker = None  # made by the first large async all_reduce
        self._inflight = []  # async Works not known to be complete (they hold their buffers)

    def rank(self):
        return self._comm.Get_rank()

    def size(self):
        return len(self._ranks)

    @property
    def group_name(self):
        return self._name

    def name(self):
        return self._backend

    def _get_backend_name(self):
        return self._backend

    def __repr__(self):
        return f"<ferrotorch.distributed.ProcessGroup ranks={self._ranks} backend={self._backend!r}>"


_world = None      # the default group
_groups = []       # groups made by new_group, freed with the world
_exit_hooked = False


class _WorldMeta(type):
    @property
    def WORLD(cls):
        return _world


class GroupMember(metaclass=_WorldMeta):
    """GroupMember.WORLD is the default group (None before init); NON_GROUP_MEMBER marks groups a
    rank is not part of."""
    NON_GROUP_MEMBER = -100


class group(metaclass=_WorldMeta):
    """torch.distributed.group.WORLD."""


def _non_member(g):
    return isinstance(g, int) and not isinstance(g, bool) and g == GroupMember.NON_GROUP_MEMBER


def _group(g, what=None):
    """The ProcessGroup meant by `g` (None: the default), or None for a group this rank is not in."""
    if g is None:
        if _world is None:
            raise ValueError(_NOT_INIT)
        return _check_alive(_world)
    if isinstance(g, ProcessGroup):
        if g._comm is None:
            raise ValueError("This process group has been destroyed.")
        return _check_alive(g)
    if _non_member(g):
        if _world is None:
            raise ValueError(_NOT_INIT)
        if what:
            warnings.warn(f"Running {what} on global rank {get_rank()} which does not belong to the given group.")
        return None
    raise ValueError(f"Process group {g} is not initialized in the world group map. Please initialize the group first.")


def _check_alive(pg):
    if pg._broken:
        raise DistBackendError(f"The process group can no longer be used after an earlier failure: {pg._broken}")
    return pg


def is_initialized():
    return _world is not None


def get_rank(group=None):
    """This process's rank in `group` (the default group when None); -1 if not a member."""
    if _non_member(group):
        return -1
    return _group(group).rank()


def get_world_size(group=None):
    if _non_member(group):
        return -1
    return _group(group).size()


def get_backend(group=None):
    if _non_member(group):
        raise ValueError("Invalid process group specified")
    return _group(group)._backend


def get_process_group_ranks(group):
    pg = _group(group)
    return list(pg._ranks)


def get_global_rank(group, group_rank):
    pg = _group(group)
    if not 0 <= group_rank < pg.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
    return pg._ranks[group_rank]


def get_group_rank(group, global_rank):
    pg = _group(group)
    if global_rank not in pg._ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg}")
    return pg._ranks.index(global_rank)


# ---------------------------------------------------------------------------------------------
# initialisation


def _launched_by_mpi():
    """Whether an MPI launcher (mpiexec, or ferrotorch.distributed.run) started this process."""
    if any(k in os.environ for k in ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS")):
        return True
    return _mpi.initialized() and sys.modules["mpi4py.MPI"].COMM_WORLD.Get_size() > 1


def _rendezvous(init_method, rank, world_size, launched):
    """(rank, world_size) from init_method / arguments / environment, with PyTorch's errors."""
    url = urllib.parse.urlparse(init_method)
    scheme = url.scheme
    if scheme == "env":
        def need(var):
            raise ValueError(f"Error initializing torch.distributed using env:// rendezvous: "
                             f"environment variable {var} expected, but not set")
        if rank < 0:
            if "RANK" in os.environ:
                rank = int(os.environ["RANK"])
            elif not launched:
                need("RANK")
        if world_size < 0:
            if "WORLD_SIZE" in os.environ:
                world_size = int(os.environ["WORLD_SIZE"])
            elif not launched:
                need("WORLD_SIZE")
        if not launched:  # MPI does the rendezvous; outside a launcher keep PyTorch's checks
            for var in ("MASTER_ADDR", "MASTER_PORT"):
                if var not in os.environ:
                    need(var)
        return rank, world_size
    if scheme in ("tcp", "file"):
        query = dict(urllib.parse.parse_qsl(url.query))
        rank = int(query.get("rank", rank))
        world_size = int(query.get("world_size", world_size))
        if rank < 0:
            raise ValueError(f"Error initializing torch.distributed using {scheme}:// rendezvous: rank parameter missing")
        if world_size < 0:
            raise ValueError(f"Error initializing torch.distributed using {scheme}:// rendezvous: "
                             "world size parameter missing")
        return rank, world_size
    raise RuntimeError(f"No rendezvous handler for {scheme}://")


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Joins the default process group.

    Ranks come from MPI: start them with ``python -m ferrotorch.distributed.run --nproc-per-node N``
    or ``mpiexec -n N``. ``init_method`` (env://, tcp://, file://) and ``rank``/``world_size`` are
    checked like PyTorch's and must agree with MPI; a single process (world_size 1) needs no
    launcher. Backends 'gloo' and 'mpi' (CPU tensors) both run on MPI; 'nccl' needs CUDA, which
    ferrotorch does not have. ``timeout`` bounds every wait for the other ranks to join a
    collective (and async work): a rank that stops taking part makes the others raise
    DistBackendError."""
    global _world
    if _world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if timeout is None:
        timeout = default_pg_timeout
    if not isinstance(timeout, timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {timeout}")
    if store is not None and init_method is not None:
        raise ValueError("Cannot specify both init_method and store.")
    name = _check_backend(backend)
    launched = _launched_by_mpi()
    if store is not None:
        if rank < 0:
            raise ValueError("rank must be set when store is given")
        if world_size <= 0:
            raise ValueError("world_size must be positive when store is given")
    else:
        rank, world_size = _rendezvous(init_method or "env://", rank, world_size, launched)
    if not launched and world_size > 1:
        raise RuntimeError(
            f"init_process_group: world_size={world_size}, but this process was not started by an MPI "
            f"launcher, which ferrotorch.distributed needs to connect ranks. Start the ranks with "
            f"`python -m ferrotorch.distributed.run --nproc-per-node {world_size} script.py` "
            f"or `mpiexec -n {world_size} python script.py`.")
    MPI = _mpi.require(singleton=not launched)
    size, me = MPI.COMM_WORLD.Get_size(), MPI.COMM_WORLD.Get_rank()
    if world_size >= 0 and world_size != size:
        raise RuntimeError(f"init_process_group: world_size={world_size}, but MPI started {size} ranks")
    if rank >= 0 and rank != me:
        raise RuntimeError(f"init_process_group: rank={rank}, but MPI gave this process rank {me} "
                           "(ranks follow MPI's order)")
    seconds = timeout.total_seconds()
    boot = ProcessGroup(MPI.COMM_WORLD, range(size), name, seconds)
    comm, req = MPI.COMM_WORLD.Idup()  # own communicator; completes once every rank has joined
    _poll(boot, [req], "init_process_group")
    _world = ProcessGroup(comm, range(size), name, seconds, group_name or "0")
    _install_exit_guard(size)


def _install_exit_guard(size):
    """A rank that dies of an uncaught exception must not wait in MPI_Finalize for ranks blocked in a
    collective: it exits at once (like `python -m mpi4py`), and the launcher stops the others."""
    global _exit_hooked
    if _exit_hooked:
        return
    _exit_hooked = True
    previous = sys.excepthook

    def hook(tp, value, tb):
        previous(tp, value, tb)
        if _world is not None and _world.size() > 1:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
    if size > 1:
        sys.excepthook = hook

    def at_exit():  # after a timeout the peers may never finalize: abort instead of hanging
        for pg in [_world, *_groups]:
            if pg is not None and pg._broken and pg.size() > 1:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(1)
    atexit.register(at_exit)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A group of the given global ranks (sorted). Every rank of the default group must call it;
    non-members get GroupMember.NON_GROUP_MEMBER."""
    world = _group(None)
    if timeout is not None and not isinstance(timeout, timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {timeout}")
    ranks = sorted(ranks) if ranks else list(range(world.size()))
    if len(ranks) > world.size():
        raise ValueError("the new group's world size should be less or equal to the world size set by init_process_group")
    err = None
    for r in ranks:
        if not 0 <= r < world.size():
            err = ValueError("The new group's rank should be within the world_size set by init_process_group")
    _agree(world, "new_group", None, (len(ranks), hash(tuple(ranks))), err)
    MPI = _mpi.module()
    me = world.rank()
    member = me in ranks
    comm = world._comm.Split(0 if member else MPI.UNDEFINED, ranks.index(me) if member else 0)
    if not member:
        return GroupMember.NON_GROUP_MEMBER
    name = _check_backend(backend) if backend is not None else world._backend
    pg = ProcessGroup(comm, ranks, name, timeout.total_seconds() if timeout else world._timeout, str(len(_groups) + 1))
    _groups.append(pg)
    return pg


def destroy_process_group(group=None):
    """Frees `group`, or every group (and leaves the process free to init again) when None."""
    global _world
    if group is None or group is _world:
        if _world is None:
            raise AssertionError("Process group cannot be None")
        for pg in [*_groups, _world]:
            _free(pg)
        _groups.clear()
        _world = None
        return
    if _non_member(group):
        return
    _free(group)
    if group in _groups:
        _groups.remove(group)


def _free(pg):
    if pg._worker is not None:
        pg._worker.stop(free=not pg._broken)
        pg._worker = None
    if pg._comm is not None and not pg._broken:
        pg._comm.Free()
    pg._comm = None


class _Worker:
    """A thread running one group's blocking MPI collectives, in submission order, on a communicator
    of its own (so their order cannot interleave with the group's nonblocking operations)."""

    def __init__(self, comm):
        self.comm = comm
        self.jobs = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="ferrotorch-mpi-worker", daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            job = self.jobs.get()
            if job is None:
                return
            try:
                job.fn(self.comm)
            except BaseException as e:  # noqa: BLE001 (handed to the waiting caller)
                job.error = e
            job.done.set()

    def submit(self, fn):
        job = _Job(fn)
        self.jobs.put(job)
        return job

    def stop(self, free):
        """Ends the thread once its queued jobs are done; frees the communicator unless the group
        broke (a job may then never return)."""
        self.jobs.put(None)
        if free:
            self.thread.join()
            self.comm.Free()


class _Job:
    def __init__(self, fn):
        self.fn, self.done, self.error = fn, threading.Event(), None


_THREAD_MIN_BYTES = 256 * 1024  # from here on the worker's blocking Allreduce is the faster (benches/allreduce.py)
_thread_level = []


def _worker(pg):
    """The group's worker, or None where MPI cannot take calls from several threads."""
    if pg._worker is None:
        if not _thread_level:
            MPI = _mpi.module()
            _thread_level.append(MPI.Query_thread() == MPI.THREAD_MULTIPLE)
        if not _thread_level[0]:
            return None
        comm, req = pg._comm.Idup()  # a collective: every rank takes this path for the same call
        _poll(pg, [req], "all_reduce")
        pg._worker = _Worker(comm)
    return pg._worker


# ---------------------------------------------------------------------------------------------
# waiting, work handles


_yield = getattr(os, "sched_yield", lambda: time.sleep(0))  # no sched_yield on Windows


def _backoff(waited):
    """Between bursts of tests: yield the core (ranks often share cores, and spinning would keep the
    peer we wait for from running), and after a second of waiting, sleep. time.sleep(0) is no
    yield: Linux's timer slack makes any sleep last about 50 us, stalling MPI's progress."""
    if waited < 1.0:
        _yield()
    else:
        time.sleep(1e-3)


def _poll(pg, reqs, what, timeout=None, statuses=None):
    """Waits for MPI requests; DistBackendError past the timeout or when MPI reports an error."""
    MPI = _mpi.module()
    limit = pg._timeout if timeout is None else timeout
    start = time.monotonic()
    n = 0
    try:
        while not MPI.Request.Testall(reqs, statuses):
            n += 1
            if n % 32:
                continue
            waited = time.monotonic() - start
            if waited > limit:
                pg._broken = f"{what} timed out after {limit:g} s"
                raise _timed_out(what, limit)
            _backoff(waited)
    except MPI.Exception as e:
        pg._broken = f"{what} failed: {e}"
        raise DistBackendError(f"{what} failed in MPI: {e}") from None


def _timed_out(what, limit):
    return DistBackendError(
        f"[Rank {_mpi.module().COMM_WORLD.Get_rank()}] {what} timed out after {limit:g} s waiting for the other "
        f"ranks of the group (a rank may have died, hung, or not called {what}); "
        "the process group can no longer be used.")


class Work:
    """Handle of an asynchronous operation (torch.distributed.Work): wait(), is_completed()."""

    def __init__(self, pg, reqs, what, finish=None, result=(), statuses=None, job=None):
        self._pg, self._reqs, self._what, self._statuses = pg, reqs, what, statuses
        self._job = job  # a _Job of the group's worker thread, instead of MPI requests
        self._finish, self._result = finish, list(result)
        self._done = False
        self._exc = None
        self._keep = None  # what keeps the operation's buffers alive until it completes

    def _complete(self):
        self._done, self._keep = True, None
        if self._finish is not None:
            f, self._finish = self._finish, None
            f()

    def is_completed(self):
        if not self._done:
            if self._job is not None:
                if self._job.done.is_set():
                    self._end_job()
                return self._done
            MPI = _mpi.module()
            try:
                if MPI.Request.Testall(self._reqs, self._statuses):
                    self._complete()
            except MPI.Exception as e:
                self._done, self._exc = True, DistBackendError(f"{self._what} failed in MPI: {e}")
        return self._done

    def _end_job(self):
        if self._job.error is not None:
            self._pg._broken = f"{self._what} failed: {self._job.error}"
            self._done, self._exc = True, DistBackendError(f"{self._what} failed in MPI: {self._job.error}")
        else:
            self._complete()

    def wait(self, timeout=None):
        """Blocks until done (DistBackendError after `timeout`, default the group's); returns True."""
        if not self._done and self._job is not None:
            limit = self._pg._timeout if timeout is None else _seconds(timeout)
            if not self._job.done.wait(limit):
                self._pg._broken = f"{self._what} timed out after {limit:g} s"
                self._done, self._exc = True, _timed_out(self._what, limit)
            else:
                self._end_job()
        if not self._done:
            try:
                _poll(self._pg, self._reqs, self._what, None if timeout is None else _seconds(timeout), self._statuses)
            except DistBackendError as e:
                self._done, self._exc = True, e
                raise
            self._complete()
        if self._exc is not None:
            raise self._exc
        return True

    synchronize = wait

    def is_success(self):
        return self.is_completed() and self._exc is None

    def exception(self):
        return self._exc

    def result(self):
        self.wait()
        return self._result

    def get_future(self):
        return _Future(self)

    def source_rank(self):
        return self._result[-1] if self._what == "recv" else -1


class _Future:
    """The part of torch.futures.Future that a finished collective needs."""

    def __init__(self, work):
        self._work = work

    def done(self):
        return self._work.is_completed()

    def wait(self):
        return self._work.result()

    value = wait

    def then(self, callback):
        out = _Future(self._work)
        res = callback(self)
        out.wait = out.value = lambda: res
        return out


def _seconds(t):
    return t.total_seconds() if isinstance(t, timedelta) else float(t)


def _collective(pg, what, call, args, finish=None, async_op=False, result=()):
    """Runs MPI collective `call` ("Allreduce", "Bcast", ...) with `args`, once the ranks agreed.
    Synchronous: the blocking call. Every rank has entered this collective, so only a rank dying
    (which ends an MPI job) could keep it waiting, and Open MPI's blocking collectives are its
    fastest (the nonblocking ones take about twice as long for megabytes). async_op: the
    nonblocking form, in a Work that waits under the group's timeout."""
    comm = pg._comm
    if async_op:
        start = getattr(comm, "I" + call[0].lower() + call[1:])
        return _launch(pg, what, lambda: [start(*args)], finish, True, result)
    MPI = _mpi.module()
    try:
        getattr(comm, call)(*args)
    except MPI.Exception as e:
        pg._broken = f"{what} failed: {e}"
        raise DistBackendError(f"{what} failed in MPI: {e}") from None
    if finish is not None:
        finish()
    return None


def _launch(pg, what, start, finish=None, async_op=False, result=()):
    """Starts nonblocking MPI operations (`start()` returns their requests) in a Work. mpi4py does not
    keep the buffers of a nonblocking operation alive, so the Work holds `start` (whose closure
    holds them), and the group holds its async Works until they complete, even if dropped."""
    MPI = _mpi.module()
    if pg._inflight:
        pg._inflight = [w for w in pg._inflight if not w.is_completed()]
    try:
        reqs = start()
    except MPI.Exception as e:
        raise DistBackendError(f"{what} failed in MPI: {e}") from None
    work = Work(pg, reqs, what, finish, result)
    work._keep = start
    if async_op:
        pg._inflight.append(work)
        return work
    work.wait()
    return None


# ---------------------------------------------------------------------------------------------
# buffers and agreement

_DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
           torch.float16, torch.bfloat16, torch.float32, torch.float64]
_NP = {torch.bool: np.bool_, torch.uint8: np.uint8, torch.int8: np.int8, torch.int16: np.int16,
       torch.int32: np.int32, torch.int64: np.int64, torch.float16: np.float16,
       torch.bfloat16: np.int16, torch.float32: np.float32, torch.float64: np.float64}
# reductions run in a wider type: MPI has no half types, and Open MPI's AVX kernels saturate
# 8- and 16-bit integer sums (127 + 1 gives 127) where PyTorch wraps; casting back wraps
_WIDEN = {torch.float16: torch.float32, torch.bfloat16: torch.float32, torch.int8: torch.int32,
          torch.uint8: torch.int32, torch.int16: torch.int32}


def _buffer(t, reduce=False):
    """(array, writeback): a flat C-contiguous NumPy array holding t's values. It is t's own memory
    when t is contiguous; otherwise (and, for reductions, for the types of _WIDEN) it is a staged
    copy that writeback() stores into t once the operation has filled it."""
    d = t.detach()
    if reduce and d.dtype in _WIDEN:
        w = d.to(_WIDEN[d.dtype]).contiguous()
        return w.numpy().reshape(-1), lambda: d.copy_(w)
    c = d if d.is_contiguous() else d.contiguous()
    a = np.asarray(_C.view_dtype(c, torch.int16) if c.dtype == torch.bfloat16 else c).reshape(-1)
    if a.size and a.ctypes.data != c.data_ptr():  # NumPy holds a copy: write it back through a tensor
        return a, lambda: d.copy_(_tensor(a, d.dtype, d.shape))
    if c is d:
        return a, None
    return a, lambda: d.copy_(c)


def _tensor(a, dtype, shape):
    """A tensor over NumPy array `a` (raw values of `dtype`)."""
    t = torch.from_numpy(np.ascontiguousarray(a).view(_NP[dtype]).reshape(tuple(shape)))
    return _C.view_dtype(t, torch.bfloat16) if dtype == torch.bfloat16 else t


def _bytes(a):
    return a.view(np.uint8)


def _store(outs, raw):
    """Copies consecutive equal-sized chunks of the byte array `raw` into the tensors `outs`."""
    if not outs:
        return
    n = len(raw) // len(outs)
    for i, o in enumerate(outs):
        o.detach().copy_(_tensor(raw[i * n:(i + 1) * n], o.dtype, o.shape))


def _packed(tensors):
    """The tensors' bytes, concatenated (a fresh array)."""
    parts = [_bytes(_buffer(t)[0]) for t in tensors]
    return np.concatenate(parts) if parts else np.empty(0, np.uint8)


_MPI_OPS = {"SUM": "SUM", "AVG": "SUM", "PRODUCT": "PROD", "MIN": "MIN", "MAX": "MAX",
            "BAND": "BAND", "BOR": "BOR", "BXOR": "BXOR"}
_BOOL_OPS = {"SUM": "LOR", "MAX": "LOR", "BOR": "LOR", "PRODUCT": "LAND", "MIN": "LAND",
             "BAND": "LAND", "BXOR": "LXOR"}


_op_checked = {}  # (op, dtype) -> the RedOpType, once checked


def _check_op(op, dtype):
    red = op.op if isinstance(op, ReduceOp) else op
    if not isinstance(red, ReduceOp.RedOpType):
        return _check_op_uncached(op, dtype)  # raises PyTorch's TypeError
    key = (id(red), dtype)  # members are singletons; hashing an enum member runs Python code
    if key not in _op_checked:
        _op_checked[key] = _check_op_uncached(op, dtype)  # raises for a bad pair: never cached
    return _op_checked[key]


def _check_op_uncached(op, dtype):
    op = _red(op)
    if op.name not in _MPI_OPS:
        raise ValueError(f"Cannot use ReduceOp.{op.name} with the MPI-based backend")
    if op.name in ("BAND", "BOR", "BXOR") and dtype.is_floating_point:
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")
    if op.name == "AVG" and not dtype.is_floating_point:
        raise RuntimeError(f"result type Float can't be cast to the desired output type {_SCALAR[dtype]}")
    return op


_SCALAR = {torch.bool: "Bool", torch.uint8: "Byte", torch.int8: "Char", torch.int16: "Short", torch.int32: "Int",
           torch.int64: "Long"}


_mpi_ops = {}


def _mpi_op(op, a):
    key = (id(op), a.dtype == np.bool_)
    if key not in _mpi_ops:
        _mpi_ops[key] = getattr(_mpi.module(), (_BOOL_OPS if key[1] else _MPI_OPS)[op.name])
    return _mpi_ops[key]


def _average(op, tensors, n):
    if op is ReduceOp.AVG:
        for t in tensors:
            if t.dtype.is_floating_point:
                t.detach().div_(n)


def _check_tensor(t, name="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type torch.Tensor\n"
                        f"             but got {type(t)} instead.")
    if t.dtype not in _NP:
        raise TypeError(f"Unsupported dtype {t.dtype} for a collective")


def _check_list(ts, name):
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type List[torch.Tensor]\n"
                        f"             but got {type(ts)} instead.")


def _catch(fn):
    try:
        fn()
    except Exception as e:
        return e
    return None


_OPCODES = ["all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter",
            "reduce_scatter_tensor", "reduce", "gather", "scatter", "barrier", "new_group", "all_to_all",
            "all_to_all_single", "broadcast_object_list", "all_gather_object", "gather_object",
            "scatter_object_list", "monitored_barrier", "ddp_init"]
_ROW = 26  # [op, error, dtype, ndim, 16 dims, 6 extras]


_OPCODE = {name: i for i, name in enumerate(_OPCODES)}
_DTYPE_CODE = {dt: i for i, dt in enumerate(_DTYPES)}


def _agree(pg, what, t=None, extra=(), err=None):
    """Exchanges (collective, dtype, shape, extra args) with every rank of `pg`; raises on this
    rank's own error `err`, or a RuntimeError on every rank when ranks disagree. The exchange is
    one small allgather; when every rank sent the same row (the usual case) one comparison of
    bytes accepts it, and only a mismatch pays for working out what differs."""
    row = [-1] * _ROW
    row[0] = _OPCODE[what]
    row[1] = 0 if err is None else 1
    if t is not None and err is None:
        shape = t.shape
        row[2] = _DTYPE_CODE[t.dtype]
        row[3] = len(shape)
        dims = list(shape) if len(shape) <= 16 else [hash(tuple(shape))]
        row[4:4 + len(dims)] = dims
    row[20:20 + len(extra)] = extra
    row = np.array(row, np.int64)
    n = pg.size()
    if n == 1:
        if err is not None:
            raise err
        return
    table = np.empty((n, _ROW), np.int64)
    _poll(pg, [pg._comm.Iallgather(row, table)], what)
    if err is not None:
        raise err
    if table.tobytes() == row.tobytes() * n:
        return
    ranks = pg._ranks
    for i in range(n):
        if table[i, 1]:
            raise RuntimeError(f"{what}: rank {ranks[i]} failed its argument checks (see the error on that rank)")
    for i in range(n):
        if table[i, 0] != row[0]:
            raise RuntimeError(f"Ranks called different collectives: rank {ranks[i]} called "
                               f"{_OPCODES[table[i, 0]]} while rank {ranks[pg.rank()]} called {what}")
    if t is not None and (table[:, 2:20] != row[2:20]).any():
        desc = ", ".join(f"rank {ranks[i]}: {_describe(table[i])}" for i in range(n))
        raise RuntimeError(f"{what}: the tensors' shapes or dtypes differ across ranks ({desc})")
    if (table[:, 20:] != row[20:]).any():
        desc = ", ".join(f"rank {ranks[i]}: {[int(x) for x in table[i, 20:20 + len(extra)]]}" for i in range(n))
        raise RuntimeError(f"{what}: ranks passed different arguments (root rank, reduce op or sizes: {desc})")


def _describe(row):
    shape = [int(x) for x in row[4:4 + min(int(row[3]), 16)]]
    return f"{str(_DTYPES[row[2]]).split('.')[-1]} {shape}"


def _root(pg, rank, group_rank, arg):
    """The group rank of a root given as a global rank (`rank`) or a group rank."""
    if group_rank is not None:
        if rank is not None:
            raise ValueError(f"Can not specify both {arg} and group_{arg}")
        if not 0 <= group_rank < pg.size():
            raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
        return group_rank
    rank = 0 if rank is None else rank
    if rank not in pg._ranks:
        if pg is _world:
            raise RuntimeError(f"invalid root rank: {rank}")
        raise ValueError(f"Global rank {rank} is not part of group {pg}")
    return pg._ranks.index(rank)


def _prepare(pg, what, tensor, extra_fn=None, check=None):
    """Validates locally, then agrees with every rank; returns the extras."""
    box = {}

    def run():
        _check_tensor(tensor)
        if check is not None:
            check()
        box["extra"] = extra_fn() if extra_fn else ()
    err = _catch(run)
    _agree(pg, what, None if err else tensor, box.get("extra", ()), err)
    return box["extra"]


# ---------------------------------------------------------------------------------------------
# collectives


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduces `tensor` across ranks in place (SUM, AVG, PRODUCT, MIN, MAX, BAND, BOR, BXOR)."""
    pg = _group(group, "all_reduce")
    if pg is None:
        return None
    (code,) = _prepare(pg, "all_reduce", tensor, lambda: (_check_op(op, tensor.dtype).value,))
    rop = _red(op)
    a, back = _buffer(tensor, reduce=True)
    MPI = _mpi.module()

    def finish():
        if back:
            back()
        _average(rop, [tensor], pg.size())
    mop = _mpi_op(rop, a)
    worker = _worker(pg) if async_op and a.nbytes >= _THREAD_MIN_BYTES and pg.size() > 1 else None
    if worker is not None:  # MPI's fast blocking Allreduce, off the caller's thread
        return Work(pg, [], "all_reduce", finish, [tensor],
                    job=worker.submit(lambda comm: comm.Allreduce(MPI.IN_PLACE, a, mop)))
    return _collective(pg, "all_reduce", "Allreduce", (MPI.IN_PLACE, a, mop), finish, async_op, [tensor])


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copies `tensor` from rank `src` to every rank, in place."""
    pg = _group(group, "broadcast")
    if pg is None:
        return None
    (root,) = _prepare(pg, "broadcast", tensor, lambda: (_root(pg, src, group_src, "src"),))
    a, back = _buffer(tensor)
    return _collective(pg, "broadcast", "Bcast", (_bytes(a), root), back if pg.rank() != root else None, async_op,
                       [tensor])


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fills tensor_list[i] with rank i's `tensor`."""
    pg = _group(group, "all_gather")
    if pg is None:
        return None

    def check():
        _check_list(tensor_list, "tensor_list")
        if len(tensor_list) != pg.size():
            raise RuntimeError(f"all_gather: invalid output tensor list at index 0 (expected length {pg.size()}, "
                               f"got {len(tensor_list)})")
        for i, o in enumerate(tensor_list):
            if o.dtype != tensor.dtype:
                raise RuntimeError(f"all_gather: invalid tensor type at index {i} (expected {tensor.dtype}, got {o.dtype})")
            if o.shape != tensor.shape:
                raise RuntimeError(f"all_gather: invalid tensor size at index {i} (expected {tuple(tensor.shape)}, "
                                   f"got {tuple(o.shape)})")
    _prepare(pg, "all_gather", tensor, check=check)
    send = _bytes(_buffer(tensor)[0])
    recv = np.empty(len(send) * pg.size(), np.uint8)
    return _collective(pg, "all_gather", "Allgather", (send, recv), lambda: _store(tensor_list, recv), async_op,
                       [list(tensor_list)])


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Concatenates every rank's `input_tensor` (along dim 0, or stacked) into `output_tensor`."""
    pg = _group(group, "all_gather_into_tensor")
    if pg is None:
        return None

    def check():
        _check_tensor(output_tensor, "output_tensor")
        if output_tensor.dtype != input_tensor.dtype:
            raise RuntimeError(f"all_gather_into_tensor: invalid tensor type (expected {input_tensor.dtype}, "
                               f"got {output_tensor.dtype})")
        if output_tensor.numel() != input_tensor.numel() * pg.size():
            raise RuntimeError(f"all_gather_into_tensor: output tensor must have {pg.size()} times the input's "
                               f"elements (input {tuple(input_tensor.shape)}, output {tuple(output_tensor.shape)})")
    _prepare(pg, "all_gather_into_tensor", input_tensor, check=check)
    send = _bytes(_buffer(input_tensor)[0])
    out, back = _buffer(output_tensor)
    return _collective(pg, "all_gather_into_tensor", "Allgather", (send, _bytes(out)), back, async_op, [output_tensor])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduces input_list[i] across ranks into rank i's `output`."""
    pg = _group(group, "reduce_scatter")
    if pg is None:
        return None

    def check():
        _check_list(input_list, "input_list")
        if len(input_list) != pg.size():
            raise RuntimeError("invalid input tensor list size, must be world size")
        for t in input_list:
            if t.shape != output.shape or t.dtype != output.dtype:
                raise RuntimeError("reduce_scatter: every input must have the output's shape and dtype")
    (code,) = _prepare(pg, "reduce_scatter", output, lambda: (_check_op(op, output.dtype).value,), check)
    rop = _red(op)
    send = np.concatenate([_buffer(t, reduce=True)[0] for t in input_list])
    out, back = _buffer(output, reduce=True)
    return _reduce_scatter(pg, "reduce_scatter", send, out, back, rop, output, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduces `input` (world_size chunks along dim 0) across ranks; rank i gets chunk i."""
    pg = _group(group, "reduce_scatter_tensor")
    if pg is None:
        return None

    def check():
        _check_tensor(input, "input")
        if input.dtype != output.dtype:
            raise RuntimeError("reduce_scatter_tensor: input and output must have the same dtype")
        if input.numel() != output.numel() * pg.size():
            raise RuntimeError(f"reduce_scatter_tensor: input tensor must have {pg.size()} times the output's "
                               f"elements (input {tuple(input.shape)}, output {tuple(output.shape)})")
    (code,) = _prepare(pg, "reduce_scatter_tensor", output, lambda: (_check_op(op, output.dtype).value,), check)
    rop = _red(op)
    send = _buffer(input, reduce=True)[0]
    out, back = _buffer(output, reduce=True)
    return _reduce_scatter(pg, "reduce_scatter_tensor", send, out, back, rop, output, async_op)


def _reduce_scatter(pg, what, send, out, back, rop, output, async_op):
    def finish():
        if back:
            back()
        _average(rop, [output], pg.size())
    return _collective(pg, what, "Reduce_scatter_block", (send, out, _mpi_op(rop, out)), finish, async_op, [output])


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduces `tensor` across ranks into rank `dst`'s `tensor`."""
    pg = _group(group, "reduce")
    if pg is None:
        return None
    code, root = _prepare(pg, "reduce", tensor,
                          lambda: (_check_op(op, tensor.dtype).value, _root(pg, dst, group_dst, "dst")))
    rop = _red(op)
    a, back = _buffer(tensor, reduce=True)
    MPI = _mpi.module()
    mine = pg.rank() == root

    def finish():
        if mine:
            if back:
                back()
            _average(rop, [tensor], pg.size())
    send = MPI.IN_PLACE if mine else a
    return _collective(pg, "reduce", "Reduce", (send, a if mine else None, _mpi_op(rop, a), root), finish, async_op,
                       [tensor])


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Collects every rank's `tensor` into `gather_list` on rank `dst`."""
    pg = _group(group, "gather")
    if pg is None:
        return None
    box = {}

    def check():
        root = box["root"] = _root(pg, dst, group_dst, "dst")
        if pg.rank() == root:
            if not gather_list:
                raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
            _check_list(gather_list, "gather_list")
            if len(gather_list) != pg.size():
                raise RuntimeError(f"gather: gather_list must have {pg.size()} tensors, got {len(gather_list)}")
            for t in gather_list:
                if t.shape != tensor.shape or t.dtype != tensor.dtype:
                    raise RuntimeError("gather: every tensor of gather_list must have the input's shape and dtype")
        elif gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    (root,) = _prepare(pg, "gather", tensor, lambda: (box["root"],), check)
    send = _bytes(_buffer(tensor)[0])
    mine = pg.rank() == root
    recv = np.empty(len(send) * pg.size(), np.uint8) if mine else None
    finish = (lambda: _store(gather_list, recv)) if mine else None
    return _collective(pg, "gather", "Gather", (send, recv, root), finish, async_op, [list(gather_list)] if mine else [])


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Rank `src` sends scatter_list[i] to rank i's `tensor`."""
    pg = _group(group, "scatter")
    if pg is None:
        return None
    box = {}

    def check():
        root = box["root"] = _root(pg, src, group_src, "src")
        if pg.rank() == root:
            if not scatter_list:
                raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
            _check_list(scatter_list, "scatter_list")
            if len(scatter_list) != pg.size():
                raise RuntimeError(f"scatter: scatter_list must have {pg.size()} tensors, got {len(scatter_list)}")
            for t in scatter_list:
                if t.shape != tensor.shape or t.dtype != tensor.dtype:
                    raise RuntimeError("scatter: every tensor of scatter_list must have the output's shape and dtype")
        elif scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    (root,) = _prepare(pg, "scatter", tensor, lambda: (box["root"],), check)
    mine = pg.rank() == root
    send = _packed(scatter_list) if mine else None
    out, back = _buffer(tensor)
    return _collective(pg, "scatter", "Scatter", (send, _bytes(out), root), back, async_op, [tensor])


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None, async_op=False):
    """Rank i sends its j-th slice (dim 0) of `input` to rank j, which stores it as its i-th slice."""
    pg = _group(group, "all_to_all_single")
    if pg is None:
        return None
    n = pg.size()
    box = {}

    def check():
        _check_tensor(input, "input")
        _check_tensor(output, "output")
        if output.dtype != input.dtype:
            raise RuntimeError("all_to_all_single: input and output must have the same dtype")
        box["send"] = _splits(input, input_split_sizes, n)
        box["recv"] = _splits(output, output_split_sizes, n)
    err = _catch(check)
    _agree(pg, "all_to_all_single", None, (_DTYPES.index(input.dtype) if err is None else 0,), err)
    _check_counts(pg, "all_to_all_single", box["send"][0], box["recv"][0])
    send = _bytes(_buffer(input)[0])
    out, back = _buffer(output)
    return _collective(pg, "all_to_all_single", "Alltoallv", ([send, box["send"]], [_bytes(out), box["recv"]]),
                       back, async_op, [output])


def _splits(t, sizes, n):
    """(byte counts, byte displacements) of `t` split along dim 0."""
    rows = t.shape[0] if t.ndim else 1
    row = (t.numel() // rows if rows else 0) * t.element_size()
    if sizes is None or len(sizes) == 0:
        if rows % n:
            raise RuntimeError(f"all_to_all_single: dim 0 ({rows}) must be divisible by the world size {n}")
        sizes = [rows // n] * n
    if len(sizes) != n or sum(sizes) != rows:
        raise RuntimeError(f"all_to_all_single: split sizes {list(sizes)} must have {n} entries summing to {rows}")
    counts = [s * row for s in sizes]
    return counts, _displs(counts)


def _displs(counts):
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64).tolist()


def _check_counts(pg, what, send_counts, recv_counts):
    """Every rank learns what the others will send it; any mismatch raises on all ranks."""
    got = np.empty(pg.size(), np.int64)
    _poll(pg, [pg._comm.Ialltoall(np.asarray(send_counts, np.int64), got)], what)
    bad = np.array([int((got != np.asarray(recv_counts, np.int64)).any())], np.int64)
    flags = np.empty(pg.size(), np.int64)
    _poll(pg, [pg._comm.Iallgather(bad, flags)], what)
    if bad[0]:
        raise RuntimeError(f"{what}: this rank expects {list(recv_counts)} bytes from the ranks, "
                           f"but they send {got.tolist()}")
    if flags.any():
        k = pg._ranks[int(np.argmax(flags))]
        raise RuntimeError(f"{what}: the sizes sent to rank {k} differ from what it expects (see its error)")


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """Rank i sends input_tensor_list[j] to rank j, which stores it in output_tensor_list[i]."""
    pg = _group(group, "all_to_all")
    if pg is None:
        return None

    def check():
        _check_list(output_tensor_list, "output_tensor_list")
        _check_list(input_tensor_list, "input_tensor_list")
        if len(output_tensor_list) != pg.size() or len(input_tensor_list) != pg.size():
            raise RuntimeError(f"all_to_all: both tensor lists must have {pg.size()} tensors")
        for a, b in zip(output_tensor_list, input_tensor_list):
            if a.dtype != b.dtype:
                raise RuntimeError("all_to_all: input and output tensors must have the same dtype")
    err = _catch(check)
    _agree(pg, "all_to_all", None, (), err)
    scount = [t.numel() * t.element_size() for t in input_tensor_list]
    rcount = [t.numel() * t.element_size() for t in output_tensor_list]
    _check_counts(pg, "all_to_all", scount, rcount)
    send = _packed(input_tensor_list)
    recv = np.empty(sum(rcount), np.uint8)

    def finish():
        for o, lo, c in zip(output_tensor_list, _displs(rcount), rcount):
            o.detach().copy_(_tensor(recv[lo:lo + c], o.dtype, o.shape))
    return _collective(pg, "all_to_all", "Alltoallv",
                       ([send, (scount, _displs(scount))], [recv, (rcount, _displs(rcount))]), finish, async_op,
                       [list(output_tensor_list)])


def barrier(group=None, async_op=False, device_ids=None):
    """Blocks until every rank of the group has reached the barrier."""
    pg = _group(group, "barrier")
    if pg is None:
        return None
    _agree(pg, "barrier")  # an allgather: no rank leaves it before every rank has entered
    if not async_op:
        return None
    return _launch(pg, "barrier", lambda: [pg._comm.Ibarrier()], None, True)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A barrier that raises DistBackendError after `timeout` (default: the group's)."""
    pg = _group(group, "monitored_barrier")
    if pg is None:
        return None
    _agree(pg, "monitored_barrier")
    work = Work(pg, [pg._comm.Ibarrier()], "monitored_barrier")
    work.wait(timeout)


# ---------------------------------------------------------------------------------------------
# point to point


def _peer(pg, rank, group_rank, arg):
    if group_rank is not None:
        return group_rank
    if rank is None:
        raise ValueError(f"{arg} rank must be given")
    if rank not in pg._ranks:
        raise ValueError(f"Global rank {rank} is not part of group {pg}")
    return pg._ranks.index(rank)


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Sends `tensor` to rank `dst` without waiting; returns a Work."""
    pg = _group(group, "isend")
    if pg is None:
        return None
    _check_tensor(tensor)
    peer = _peer(pg, dst, group_dst, "destination")
    if peer == pg.rank():
        raise ValueError("Invalid destination rank: destination rank should not be the same as the rank of the "
                         "current process.")
    data = _bytes(_buffer(tensor)[0])
    return _launch(pg, "send", lambda: [pg._comm.Isend(data, peer, tag)], None, True)


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Sends `tensor` to rank `dst` (waits until MPI has taken the data)."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receives into `tensor` without waiting (src None: any rank); returns a Work."""
    pg = _group(group, "irecv")
    if pg is None:
        return None
    _check_tensor(tensor)
    MPI = _mpi.module()
    peer = MPI.ANY_SOURCE if src is None and group_src is None else _peer(pg, src, group_src, "source")
    a, back = _buffer(tensor)
    work = Work(pg, [pg._comm.Irecv(_bytes(a), peer, tag)], "recv", None, [tensor], statuses=[MPI.Status()])

    def finish():  # the status names the sender of an any-source receive
        if back:
            back()
        work._result.append(pg._ranks[work._statuses[0].Get_source()])
    work._finish = finish
    return work


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receives into `tensor` from rank `src` (any rank when None); returns the sender's rank.
    A message of a different size raises instead of being truncated."""
    pg = _group(group, "recv")
    if pg is None:
        return -1
    _check_tensor(tensor)
    MPI = _mpi.module()
    peer = MPI.ANY_SOURCE if src is None and group_src is None else _peer(pg, src, group_src, "source")
    status = MPI.Status()
    start, limit = time.monotonic(), pg._timeout
    while not pg._comm.Iprobe(peer, tag, status):
        waited = time.monotonic() - start
        if waited > limit:
            pg._broken = f"recv timed out after {limit:g} s"
            raise DistBackendError(f"recv timed out after {limit:g} s waiting for a message from rank "
                                   f"{'any' if src is None else src}; the process group can no longer be used.")
        _backoff(waited)
    sender = status.Get_source()
    a, back = _buffer(tensor)
    size = status.Get_count(MPI.BYTE)
    if size != a.nbytes:
        pg._comm.Recv(np.empty(size, np.uint8), sender, status.Get_tag())
        raise RuntimeError(f"recv: rank {pg._ranks[sender]} sent {size} bytes but the receiving tensor "
                           f"({str(tensor.dtype).split('.')[-1]}, {list(tensor.shape)}) holds {a.nbytes}")
    _poll(pg, [pg._comm.Irecv(_bytes(a), sender, status.Get_tag())], "recv")
    if back:
        back()
    return pg._ranks[sender]


class P2POp:
    """One isend/irecv for batch_isend_irecv."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv, send, recv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                             "``torch.distributed.irecv``.")
        self.op, self.tensor, self.peer, self.group, self.tag, self.group_peer = op, tensor, peer, group, tag, group_peer


def batch_isend_irecv(p2p_op_list):
    """Starts every operation of the list; returns their Work handles."""
    works = []
    for p in p2p_op_list:
        fn = isend if p.op in (isend, send) else irecv
        works.append(fn(p.tensor, p.peer, p.group, p.tag, p.group_peer))
    return works


# ---------------------------------------------------------------------------------------------
# Python objects (pickled)


def _obj_bytes(obj):
    return np.frombuffer(pickle.dumps(obj), np.uint8).copy()


def _unpickle(a):
    return pickle.loads(a.tobytes())


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Replaces object_list's items on every rank with those of rank `src` (pickled)."""
    pg = _group(group, "broadcast_object_list")
    if pg is None:
        return
    box = {}
    err = _catch(lambda: box.update(root=_root(pg, src, group_src, "src")))
    _agree(pg, "broadcast_object_list", None, (box.get("root", -1),), err)
    root = box["root"]
    mine = pg.rank() == root
    data = _obj_bytes(list(object_list)) if mine else None
    size = np.array([len(data) if mine else 0], np.int64)
    _poll(pg, [pg._comm.Ibcast(size, root)], "broadcast_object_list")
    if not mine:
        data = np.empty(int(size[0]), np.uint8)
    _poll(pg, [pg._comm.Ibcast(data, root)], "broadcast_object_list")
    if not mine:
        objs = _unpickle(data)
        for i in range(len(object_list)):
            object_list[i] = objs[i]


def _sizes_and_displs(pg, data, what):
    sizes = np.empty(pg.size(), np.int64)
    _poll(pg, [pg._comm.Iallgather(np.array([len(data)], np.int64), sizes)], what)
    displs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return sizes, displs


def all_gather_object(object_list, obj, group=None):
    """object_list[i] becomes rank i's `obj` (pickled)."""
    pg = _group(group, "all_gather_object")
    if pg is None:
        return
    _agree(pg, "all_gather_object")
    data = _obj_bytes(obj)
    sizes, displs = _sizes_and_displs(pg, data, "all_gather_object")
    recv = np.empty(int(sizes.sum()), np.uint8)
    _poll(pg, [pg._comm.Iallgatherv(data, [recv, (sizes.tolist(), displs.tolist())])], "all_gather_object")
    for i in range(pg.size()):
        object_list[i] = _unpickle(recv[displs[i]:displs[i] + sizes[i]])


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """object_gather_list[i] on rank `dst` becomes rank i's `obj`."""
    pg = _group(group, "gather_object")
    if pg is None:
        return
    box = {}

    def check():
        box["root"] = _root(pg, dst, group_dst, "dst")
        if pg.rank() == box["root"] and (object_gather_list is None or len(object_gather_list) != pg.size()):
            raise ValueError(f"Argument ``object_gather_list`` must be a list of {pg.size()} items on the "
                             "destination rank.")
    err = _catch(check)
    _agree(pg, "gather_object", None, (box.get("root", -1),), err)
    root = box["root"]
    data = _obj_bytes(obj)
    sizes = np.empty(pg.size(), np.int64)
    _poll(pg, [pg._comm.Igather(np.array([len(data)], np.int64), sizes, root)], "gather_object")
    mine = pg.rank() == root
    displs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    recv = np.empty(int(sizes.sum()), np.uint8) if mine else None
    spec = [recv, (sizes.tolist(), displs.tolist())] if mine else None
    _poll(pg, [pg._comm.Igatherv(data, spec, root)], "gather_object")
    if mine:
        for i in range(pg.size()):
            object_gather_list[i] = _unpickle(recv[displs[i]:displs[i] + sizes[i]])


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None, group=None,
                        group_src=None):
    """scatter_object_output_list[0] on rank i becomes scatter_object_input_list[i] of rank `src`."""
    pg = _group(group, "scatter_object_list")
    if pg is None:
        return
    box = {}

    def check():
        box["root"] = _root(pg, src, group_src, "src")
        if pg.rank() == box["root"] and (scatter_object_input_list is None
                                         or len(scatter_object_input_list) != pg.size()):
            raise ValueError(f"Argument ``scatter_object_input_list`` must be a list of {pg.size()} items on "
                             "the source rank.")
        if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
            raise ValueError("Expected argument scatter_object_output_list to be a list of size at least 1.")
    err = _catch(check)
    _agree(pg, "scatter_object_list", None, (box.get("root", -1),), err)
    root = box["root"]
    mine = pg.rank() == root
    parts = [_obj_bytes(o) for o in scatter_object_input_list] if mine else []
    sizes = np.array([len(p) for p in parts], np.int64) if mine else None
    size = np.empty(1, np.int64)
    _poll(pg, [pg._comm.Iscatter(sizes, size, root)], "scatter_object_list")
    recv = np.empty(int(size[0]), np.uint8)
    spec = None
    if mine:
        displs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        spec = [np.concatenate(parts), (sizes.tolist(), displs.tolist())]
    _poll(pg, [pg._comm.Iscatterv(spec, recv, root)], "scatter_object_list")
    scatter_object_output_list[0] = _unpickle(recv)


# ---------------------------------------------------------------------------------------------
# helpers for DistributedDataParallel


def _verify_params_across_processes(pg, params):
    """RuntimeError on every rank unless all ranks hold parameters of the same count, shapes and dtypes."""
    sig = hash(tuple((tuple(p.shape), _DTYPES.index(p.dtype)) for p in params))
    row = np.array([len(params), sig], np.int64)
    table = np.empty((pg.size(), 2), np.int64)
    _agree(pg, "ddp_init")
    _poll(pg, [pg._comm.Iallgather(row, table)], "DistributedDataParallel")
    me = pg.rank()
    for r in range(pg.size()):
        if table[r, 0] != row[0]:
            raise RuntimeError(f"DDP expects same model across all ranks, but Rank {pg._ranks[me]} has {row[0]} params, "
                               f"while rank {pg._ranks[r]} has inconsistent {table[r, 0]} params.")
        if table[r, 1] != row[1]:
            raise RuntimeError(f"DDP expects same model across all ranks, but the parameter shapes or dtypes of rank "
                               f"{pg._ranks[me]} differ from those of rank {pg._ranks[r]}.")


def _broadcast_coalesced(pg, tensors, src=0):
    """Broadcasts `tensors` (in place) from group rank `src` as one message."""
    if not tensors or pg.size() == 1:
        return
    total = sum(t.numel() * t.element_size() for t in tensors)
    _agree(pg, "broadcast", None, (src, len(tensors), total))
    mine = pg.rank() == src
    data = _packed(tensors) if mine else np.empty(total, np.uint8)
    _collective(pg, "broadcast", "Bcast", (data, src))
    if not mine:
        off = 0
        for t in tensors:
            n = t.numel() * t.element_size()
            t.detach().copy_(_tensor(data[off:off + n], t.dtype, t.shape))
            off += n
