"""torch.distributed on MPI, DistributedDataParallel, DistributedSampler and the launcher.

Multi-rank checks run 2 ranks in subprocesses (tests/dist_scripts/*.py) through
``python -m ferrotorch.distributed.run`` or plain ``mpiexec``, each under a timeout; the scripts
write their results as JSON and the tests compare them. Expected values follow PyTorch 2.13 with
the gloo backend (checked against it for the collectives, errors and DDP messages)."""
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

import ferrotorch as torch
import ferrotorch.distributed as dist
import ferrotorch.nn as nn
from ferrotorch.distributed import _mpi, run as launcher
from ferrotorch.utils.data import DistributedSampler
from ferrotorch.utils.data.distributed import DistributedSampler as DistributedSampler2

SCRIPTS = Path(__file__).resolve().parent / "dist_scripts"
PKG_ROOT = str(Path(torch.__file__).resolve().parents[1])
NOT_INIT = "Default process group has not been initialized, please make sure to call init_process_group."
needs_mpi = pytest.mark.skipif(not dist.is_available(), reason="needs mpi4py and MPI (ferrotorch[distributed])")

_RDZV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "GROUP_RANK",
         "TORCHELASTIC_RUN_ID")


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in _RDZV and not k.startswith(("OMPI_", "PMIX_", "PMI_", "PRTE_"))}
    env["PYTHONPATH"] = PKG_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _run(cmd, timeout=60, env=None):
    """(returncode, stdout, stderr, seconds); kills the whole process group on timeout."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or _env(),
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        pytest.fail(f"{cmd} did not finish in {timeout} s\nstdout:\n{out}\nstderr:\n{err}")
    return p.returncode, out, err, time.monotonic() - start


def _launch(*args, nproc_flag="--nproc-per-node", timeout=60):
    return _run([sys.executable, "-m", "ferrotorch.distributed.run", nproc_flag, "2", *map(str, args)], timeout)


def _results(out_dir, rc, out, err):
    assert rc == 0, f"ranks failed (exit {rc})\nstdout:\n{out}\nstderr:\n{err}"
    return [json.loads((out_dir / f"rank{r}.json").read_text()) for r in range(2)]


# ---------------------------------------------------------------------------------------------
# collectives (2 ranks through the launcher)


@pytest.fixture(scope="module")
def coll(tmp_path_factory):
    if not dist.is_available():
        pytest.skip("needs mpi4py and MPI (ferrotorch[distributed])")
    out_dir = tmp_path_factory.mktemp("collectives")
    rc, out, err, _ = _launch(SCRIPTS / "collectives.py", out_dir)
    return _results(out_dir, rc, out, err)


def _ok(res, name):
    entry = res[name]
    assert "ok" in entry, f"{name} raised {entry.get('error')}"
    return entry["ok"]


def _t(values, dtype="float32", shape=None):
    if shape is None:
        shape = [len(values)] if isinstance(values, list) else []
    return {"dtype": dtype, "shape": shape, "values": values}


# name -> (rank 0 result, rank 1 result); rank r's inputs are written in the script
SAME = {
    "all_reduce_SUM": _t([3.0, -3.0, 7.0, 9.0]),
    "all_reduce_AVG": _t([1.5, -1.5, 3.5, 4.5]),
    "all_reduce_MAX": _t([2.0, -1.0, 4.0, 5.0]),
    "all_reduce_MIN": _t([1.0, -2.0, 3.0, 4.0]),
    "all_reduce_PRODUCT": _t([2.0, 2.0, 12.0, 20.0]),
    "all_reduce_int64_sum": _t([9, 12], "int64"),
    "all_reduce_int32_max": _t([3, 4], "int32"),
    "all_reduce_bxor": _t([3, 1], "int64"),
    "all_reduce_bool": _t([True, False, True], "bool"),
    "all_reduce_bf16": _t([4.5, 6.0], "bfloat16"),
    "all_reduce_f16_avg": _t([1.5, 4.5], "float16"),
    "all_reduce_f64": _t([0.1 + 0.2, 0.2 + 0.4], "float64"),
    "all_reduce_0d": _t(6.0),
    "all_reduce_noncontig": _t([[10.0, 16.0], [12.0, 18.0], [14.0, 20.0]], shape=[3, 2]),
    "all_reduce_param": _t([3.0, 3.0, 3.0]),
    "broadcast": _t([[8.0, 8.0], [8.0, 8.0]], shape=[2, 2]),
    "all_gather": [_t([[0.0, 1.0], [2.0, 3.0]], shape=[2, 2]), _t([[1.0, 2.0], [3.0, 4.0]], shape=[2, 2])],
    "all_gather_int": [_t([0, 0], "int64"), _t([1, 10], "int64")],
    "all_gather_into_tensor": _t([1.0, 2.0, 11.0, 12.0]),
    "all_gather_into_tensor_stacked": _t([[1.0, 2.0], [11.0, 12.0]], shape=[2, 2]),
    "after_errors": _t([3.0, 3.0]),
}
PER_RANK = {
    "reduce_scatter": (_t([3.0, 6.0]), _t([9.0, 12.0])),
    "reduce_scatter_tensor": (_t([1.0, 3.0]), _t([5.0, 7.0])),
    "reduce_scatter_tensor_max": (_t([1.0, 2.0]), _t([3.0, 4.0])),
    "scatter": (_t([5.0, 6.0]), _t([7.0, 8.0])),
    "send_recv": ([1, _t([42, 43], "int64")], [0, _t([1.0, 2.0, 3.0])]),
    "isend_irecv": ([_t([1.0, 11.0]), [True, True]], [_t([0.0, 10.0]), [True, True]]),
    "batch_isend_irecv": (_t([101.0]), _t([100.0])),
    "all_to_all_single": (_t([0.0, 1.0, 10.0, 11.0]), _t([2.0, 3.0, 12.0, 13.0])),
    "all_to_all": ([_t([0.0]), _t([1.0])], [_t([10.0, 20.0]), _t([11.0, 21.0])]),
    "gather": ([_t([0.0, 1.0, 2.0]), _t([0.0, 2.0, 4.0])], None),
}


@needs_mpi
@pytest.mark.parametrize("name", sorted(SAME))
def test_collective_values(coll, name):
    for r in range(2):
        assert _ok(coll[r], name) == SAME[name], f"rank {r}"


@needs_mpi
@pytest.mark.parametrize("name", sorted(PER_RANK))
def test_collective_values_per_rank(coll, name):
    for r in range(2):
        assert _ok(coll[r], name) == PER_RANK[name][r], f"rank {r}"


@needs_mpi
def test_reduce_root(coll):
    assert _ok(coll[1], "reduce") == _t([3.0, 6.0])      # dst=1 gets the sum
    assert _ok(coll[0], "reduce_avg") == _t([1.5, 3.0])  # dst=0 gets the mean


@needs_mpi
def test_async_work(coll):
    for r in range(2):
        ok, completed, success, t, result = _ok(coll[r], "all_reduce_async")
        assert (ok, completed, success) == (True, True, True)
        assert t == result[0] == _t([3.0, -3.0, 7.0, 9.0])
        assert _ok(coll[r], "barrier") == [None, True]


@needs_mpi
def test_process_state_and_env(coll):
    for r in range(2):
        assert _ok(coll[r], "info") == [True, r, 2, "gloo", True, True, str(r), str(r), "2", "2", "0", True, True, True]
        assert coll[r]["destroyed"]["error"] == ["ValueError", NOT_INIT]


@needs_mpi
def test_object_collectives(coll):
    gathered = [{"rank": 0, "t": _t([0.0])}, {"rank": 1, "t": _t([1.0])}]
    assert _ok(coll[0], "objects") == [gathered, [0, "x", None], None, [{"to": 0}]]
    assert _ok(coll[1], "objects") == [gathered, [0, "x", None], [["from", 0], ["from", 1]], [{"to": 1}]]


@needs_mpi
def test_new_group(coll):
    # rank 0 is outside [1]: NON_GROUP_MEMBER, rank -1, and its all_reduce returns untouched
    assert _ok(coll[0], "new_group") == [True, -1, -1, [0, 1], _t([3.0]), _t([5.0]), None]
    assert _ok(coll[1], "new_group") == [False, 0, 1, [0, 1], _t([3.0]), _t([5.0]), None, 0]


@needs_mpi
def test_collective_errors_raise_on_every_rank(coll):
    for r in range(2):
        def err(name):
            return coll[r][name]["error"]
        assert err("err_shape") == ["RuntimeError", "all_reduce: the tensors' shapes or dtypes differ across ranks "
                                                    "(rank 0: float32 [3], rank 1: float32 [4])"]
        assert err("err_dtype")[0] == "RuntimeError" and "float64 [3]" in err("err_dtype")[1]
        assert err("err_collective")[0] == "RuntimeError" and "called different collectives" in err("err_collective")[1]
        assert err("err_root")[0] == "RuntimeError" and "different arguments" in err("err_root")[1]
        assert err("err_avg_int") == ["RuntimeError", "result type Float can't be cast to the desired output type Long"]
        assert err("err_band_float") == ["RuntimeError", "Cannot use ReduceOp.BAND with non-integral dtype"]
        assert err("err_not_tensor") == ["TypeError", "Invalid function argument. Expected parameter `tensor` of type "
                                                      "torch.Tensor\n             but got <class 'list'> instead."]
        assert err("err_src_range")[0] == "RuntimeError" and "invalid root rank: 3" in err("err_src_range")[1]
        assert err("err_send_self") == ["ValueError", "Invalid destination rank: destination rank should not be the "
                                                      "same as the rank of the current process."]
        assert err("err_a2a_splits")[0] == "RuntimeError"
        assert _ok(coll[r], "after_errors_barrier") is None  # the group still works
    # a rank whose own arguments are wrong raises its error; the others learn that it failed
    assert coll[1]["err_list"]["error"] == ["RuntimeError", "all_gather: invalid output tensor list at index 0 "
                                                            "(expected length 2, got 3)"]
    assert coll[0]["err_list"]["error"] == ["RuntimeError", "all_gather: rank 1 failed its argument checks "
                                                            "(see the error on that rank)"]
    assert coll[1]["err_gather_list"]["error"] == ["ValueError", "Argument ``gather_list`` must NOT be specified on "
                                                                 "non-destination ranks."]
    assert coll[0]["err_scatter_missing"]["error"] == ["ValueError", "Argument ``scatter_list`` must be specified on "
                                                                     "source rank."]
    assert coll[1]["err_recv_size"]["error"] == ["RuntimeError", "recv: rank 0 sent 20 bytes but the receiving tensor "
                                                                 "(float32, [3]) holds 12"]


# ---------------------------------------------------------------------------------------------
# every collective on every dtype, against NumPy (inputs: dist_scripts/_data.py)

sys.path.insert(0, str(SCRIPTS))
import _data  # noqa: E402

_INT_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long"}
_REDUCTIONS = ("all_reduce", "all_reduce_strided", "all_reduce_async", "all_reduce_large", "all_reduce_large_async",
               "reduce", "reduce_scatter", "reduce_scatter_tensor", "reduce_async", "reduce_scatter_async",
               "reduce_scatter_tensor_async")
# dtypes.py runs these both ways: name (synchronous, MPI's blocking call) and name_async (async_op=True)
_BOTH = ("reduce", "reduce_scatter", "reduce_scatter_tensor", "broadcast", "all_gather", "all_gather_into_tensor",
         "gather", "scatter", "all_to_all", "all_to_all_uneven", "all_to_all_single", "all_to_all_single_uneven")


def _np_reduce(op, d, a, b):
    """Rank 0's `a` reduced with rank 1's `b` by `op`, in NumPy (bfloat16 as float32 values), or
    the (type, message) PyTorch's gloo raises for that op and dtype."""
    if d == "bool":  # gloo reduces bools as bytes: the logical ops
        if op == "AVG":
            return ("RuntimeError", "result type Float can't be cast to the desired output type Bool")
        return {"SUM": a | b, "PRODUCT": a & b, "MIN": a & b, "MAX": a | b, "BAND": a & b, "BOR": a | b,
                "BXOR": a ^ b}[op]
    if d in _INT_NAMES:
        if op == "AVG":
            return ("RuntimeError", f"result type Float can't be cast to the desired output type {_INT_NAMES[d]}")
        return {"SUM": a + b, "PRODUCT": a * b, "MIN": np.minimum(a, b), "MAX": np.maximum(a, b), "BAND": a & b,
                "BOR": a | b, "BXOR": a ^ b}[op]  # NumPy integer arrays wrap around like MPI's C types
    if op in ("BAND", "BOR", "BXOR"):
        return ("RuntimeError", f"Cannot use ReduceOp.{op} with non-integral dtype")
    rnd = _data.bf16_round if d == "bfloat16" else (lambda x: x)  # float16: NumPy rounds each result
    with np.errstate(over="ignore"):
        if op == "AVG":  # the sum in the dtype, then divided by the world size
            return rnd(rnd(a + b) / a.dtype.type(2))
        return rnd({"SUM": a + b, "PRODUCT": a * b, "MIN": np.minimum(a, b), "MAX": np.maximum(a, b)}[op])


def _raw(d, x):
    """Values as dtypes.py records them (bfloat16 as its bit patterns)."""
    return _data.bf16_bits(x) if d == "bfloat16" else np.asarray(x)


def _dtype_expectations():
    """{(rank, name): expected raw array}, {name: (type, message)} from NumPy alone."""
    want, errs, h = {}, {}, _data.N // 2
    for d in _data.DTYPES:
        x0, x1 = _data.inputs(d, 0), _data.inputs(d, 1)
        for op in _data.OPS:
            red = _np_reduce(op, d, x0, x1)
            if isinstance(red, tuple):
                errs.update({f"{c}/{d}/{op}": list(red) for c in _REDUCTIONS})
                continue
            for r in range(2):
                want[r, f"all_reduce/{d}/{op}"] = want[r, f"all_reduce_async/{d}/{op}"] = _raw(d, red)
                want[r, f"all_reduce_strided/{d}/{op}"] = _raw(d, red).reshape(4, -1).T
                want[r, f"all_reduce_large/{d}/{op}"] = want[r, f"all_reduce_large_async/{d}/{op}"] = \
                    np.tile(_raw(d, red), 656)
                want[r, f"reduce_scatter/{d}/{op}"] = want[r, f"reduce_scatter_tensor/{d}/{op}"] = \
                    _raw(d, red[h * r:h * (r + 1)])
            want[1, f"reduce/{d}/{op}"] = _raw(d, red)  # dst=1
        xs = [_raw(d, x0), _raw(d, x1)]
        for r in range(2):
            want[r, f"broadcast/{d}"] = xs[1]
            want[r, f"all_gather/{d}/0"], want[r, f"all_gather/{d}/1"] = xs
            want[r, f"all_gather_into_tensor/{d}"] = np.concatenate(xs)
            want[r, f"scatter/{d}"] = xs[1][h * r:h * (r + 1)]
            want[r, f"all_to_all/{d}/0"], want[r, f"all_to_all/{d}/1"] = (x[h * r:h * (r + 1)] for x in xs)
            want[r, f"all_to_all_uneven/{d}/0"], want[r, f"all_to_all_uneven/{d}/1"] = \
                (xs[0][:2], xs[1][:3]) if r == 0 else (xs[0][2:], xs[1][3:])
            want[r, f"all_to_all_single/{d}"] = np.concatenate([xs[0][h * r:h * (r + 1)], xs[1][h * r:h * (r + 1)]])
            want[r, f"all_to_all_single_uneven/{d}"] = np.concatenate(
                [xs[0][:2], xs[1][:3]] if r == 0 else [xs[0][2:], xs[1][3:]])
            want[r, f"send_recv/{d}"] = want[r, f"isend_irecv/{d}"] = xs[1 - r]
        want[0, f"gather/{d}/0"], want[0, f"gather/{d}/1"] = xs  # dst=0
    for (r, name), v in list(want.items()):
        c, rest = name.split("/", 1)
        if c in _BOTH:
            want[r, f"{c}_async/{rest}"] = v
    return want, errs


@pytest.fixture(scope="module")
def by_dtype(tmp_path_factory):
    if not dist.is_available():
        pytest.skip("needs mpi4py and MPI (ferrotorch[distributed])")
    out_dir = tmp_path_factory.mktemp("dtypes")
    rc, out, err, _ = _launch(SCRIPTS / "dtypes.py", out_dir)
    assert rc == 0, f"ranks failed (exit {rc})\nstdout:\n{out}\nstderr:\n{err}"
    info = [json.loads((out_dir / f"rank{r}.json").read_text()) for r in range(2)]
    assert [i["worker"] for i in info] == [True, True]
    return [(dict(np.load(out_dir / f"rank{r}.npz")), i["errors"]) for r, i in enumerate(info)]


@needs_mpi
@pytest.mark.parametrize("d", _data.DTYPES)
def test_collectives_every_dtype_match_numpy(by_dtype, d):
    """all_reduce (also strided, async, and large: async runs on the group's worker thread), and reduce,
    reduce_scatter(_tensor) with every ReduceOp, broadcast, all_gather(_into_tensor), gather, scatter,
    all_to_all(_single, even and uneven), each synchronous (MPI's blocking call) and async_op=True
    (nonblocking), and send/recv, isend/irecv, bit for bit against NumPy; unsupported op/dtype
    pairs raise gloo's errors. The NumPy model was checked against PyTorch 2.13's gloo on these
    inputs (all equal). Beyond gloo, as in PyTorch's MPI backend: int16 (gloo: "Invalid scalar
    type" in every collective but send/recv) and all_to_all with tensors of different sizes (gloo:
    "invalid tensor size")."""
    want, errs = _dtype_expectations()
    for r in range(2):
        values, errors = by_dtype[r]
        mine = {k[1]: v for k, v in want.items() if k[0] == r and f"/{d}" in k[1]}
        got = {k: v for k, v in values.items() if f"/{d}" in k}
        assert sorted(got) == sorted(mine), f"rank {r}"
        for name, expected in mine.items():
            assert got[name].dtype == expected.dtype and got[name].shape == expected.shape, (r, name)
            assert np.array_equal(got[name], expected), (r, name, got[name], expected)
        assert {k: v for k, v in errors.items() if f"/{d}/" in k} == {k: v for k, v in errs.items() if f"/{d}/" in k}


# ---------------------------------------------------------------------------------------------
# DistributedDataParallel (2 ranks through plain mpiexec: MPI alone supplies the ranks)


@pytest.fixture(scope="module")
def ddp(tmp_path_factory):
    if not dist.is_available():
        pytest.skip("needs mpi4py and MPI (ferrotorch[distributed])")
    out_dir = tmp_path_factory.mktemp("ddp")
    mpiexec = launcher._find_mpiexec(None)
    cmd = [mpiexec, "-n", "2"]
    env = _env()
    if launcher._is_open_mpi(mpiexec):
        cmd += (["--allow-run-as-root"] if os.geteuid() == 0 else []) + ["--oversubscribe"]
        env.update(OMPI_MCA_pml="ob1", OMPI_MCA_btl="self,sm")
    rc, out, err, _ = _run(cmd + [sys.executable, str(SCRIPTS / "ddp.py"), str(out_dir)], 90, env)
    return _results(out_dir, rc, out, err)


@needs_mpi
@pytest.mark.parametrize("dtype,atol", [("float32", 1e-6), ("float64", 1e-12)])
@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_ddp_matches_single_process(ddp, net, dtype, atol):
    """50 SGD+momentum steps of DDP on 2 ranks (each on half of every global batch of 16) give the
    parameters of one process training on the whole batch: within 1e-6 in float32 (the halves'
    gradient sums round differently from the whole batch's), 1e-12 in float64."""
    for r in range(2):
        info = ddp[r][f"{net}_{dtype}"]
        assert (info["dtype"], info["steps"]) == (dtype, 50)
        assert info["init_spread"] == 0.0     # rank 0's parameters were broadcast
        assert info["rank_spread"] == 0.0     # identical parameters on every rank after training
        assert info["vs_single"] <= atol      # = whole-batch training in one process, after step 50
        assert info["vs_single_worst"] <= atol  # and after every step before it
        assert info["moved"] > 0.05           # training went somewhere
        first, last = info["loss"]
        assert last < 0.5 * first             # and learned the teacher
    assert ddp[0][f"cnn_{dtype}"]["buckets"] >= 3  # several buckets all-reduced as they fill


@needs_mpi
def test_ddp_no_sync(ddp):
    for r in range(2):
        info = ddp[r]["no_sync"]
        assert info["local_spread"] > 0.1     # inside no_sync the ranks keep their own gradients
        assert info["rank_spread"] == 0.0
        assert info["vs_single"] < 1e-5       # the sync step averages all accumulated gradients


@needs_mpi
def test_ddp_find_unused_parameters(ddp):
    for r in range(2):
        info = ddp[r]["find_unused"]
        assert info["c_grad_none"]            # unused on every rank: .grad stays None
        assert info["vs_single"] < 1e-6 and info["rank_spread"] == 0.0


@needs_mpi
def test_ddp_buffers_and_state_dict(ddp):
    for r in range(2):
        info = ddp[r]["buffers"]
        assert info["after_init"] == 0.0 and info["local"] > 0 and info["synced"] == 0.0
        assert info["keys"] == ["module.0.weight", "module.0.bias", "module.1.weight", "module.1.bias",
                                "module.1.running_mean", "module.1.running_var", "module.1.num_batches_tracked"]
        assert info["reload"] == 0.0 and info["module_is"]
        assert info["deepcopy"] == [True, 0.0]


@needs_mpi
def test_ddp_errors(ddp):
    for r in range(2):
        e = ddp[r]["errors"]
        assert e["device_ids"] == ["ValueError", "DistributedDataParallel device_ids and output_device arguments only "
                                   "work with single-device/multiple-device GPU modules or CPU modules, but got "
                                   "device_ids [0], output_device None, and module parameters {device(type='cpu')}."]
        assert e["no_params"] == ["RuntimeError", "DistributedDataParallel is not needed when a module doesn't have "
                                  "any parameter that requires a gradient."]
        assert e["two_devices"] == ["ValueError", "device_ids can only be None or contain a single element."]
        assert e["deprecation"] == ["FutureWarning"]
        assert e["unfinished"].startswith("Expected to have finished reduction in the prior iteration")
        assert f"Parameter indices which did not receive grad for rank {r}: 4 5 6 7\n" in e["unfinished"]


# ---------------------------------------------------------------------------------------------
# failures, timeouts, the launcher


@needs_mpi
def test_launcher_stops_all_ranks_when_one_fails():
    rc, out, err, seconds = _launch(SCRIPTS / "fail.py", "raise", nproc_flag="--nproc_per_node")
    assert rc == 1
    assert seconds < 30                                   # rank 0 (in a 10-minute barrier) was stopped
    assert "rank 0 left the collective" not in out
    assert "ValueError: boom from rank 1" in err
    assert "fail.py FAILED" in err and "Root Cause (first observed failure):" in err
    assert "rank      : 1 (local_rank: 1)" in err


@needs_mpi
def test_crash_mid_training_ends_the_job():
    """DDP training on 2 ranks; at step 5 rank 1 raises while rank 0 goes on into backward and waits
    in the gradient all-reduce (30-minute default timeout): the launcher ends the job in < 30 s
    and shows rank 1's error."""
    rc, out, err, seconds = _launch(SCRIPTS / "fail.py", "train")
    assert rc == 1
    assert seconds < 30, seconds
    assert "rank 0 finished step 4" in out and "rank 0 finished step 5" not in out  # stopped mid-training
    assert "RuntimeError: rank 1 crashed at step 5" in err
    assert "fail.py FAILED" in err and "rank      : 1 (local_rank: 1)" in err
    root = err[err.index("Root Cause (first observed failure):"):]
    assert 'raise RuntimeError(f"rank 1 crashed at step {step}")' in root  # the failing rank's traceback


@needs_mpi
def test_killed_rank_ends_the_job():
    """A rank that dies without a Python error (SIGKILL mid-training) ends the job too."""
    rc, out, err, seconds = _launch(SCRIPTS / "fail.py", "kill")
    assert rc == 1 and seconds < 30, seconds
    assert "rank 0 finished step 4" in out and "rank 0 finished step 5" not in out
    assert "mpiexec exited with code 137 (a rank died of signal 9, SIGKILL); no rank recorded an error" in err


@needs_mpi
def test_torchrun_script_runs_unchanged(tmp_path):
    """The DDP tutorial's torchrun script (plain `import torch`, init_process_group("gloo"),
    DistributedSampler + DataLoader, 3 epochs, snapshots from rank 0) runs under the launcher and
    trains exactly like one process on the same global batches."""
    snap = tmp_path / "snapshot.pt"
    rc, out, err, _ = _launch(SCRIPTS / "torchrun_style_ddp.py", 3, 1, "--snapshot_path", snap)
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err}"
    for r in range(2):
        for epoch in range(3):
            assert f"[rank{r}] Epoch {epoch} | Batchsize: 32 | Steps: 4" in out
    assert f"Epoch 2 | Training snapshot saved at {snap}" in out
    snapshot = torch.load(snap)
    assert snapshot["EPOCHS_RUN"] == 2
    # one process: step k of an epoch trains on both ranks' k-th batches of the sampler's split
    torch.manual_seed(0)
    data = [(torch.rand(20), torch.rand(1)) for _ in range(256)]
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(3):
        parts = []
        for r in range(2):
            sampler = DistributedSampler(data, num_replicas=2, rank=r)
            sampler.set_epoch(epoch)
            parts.append(list(sampler))
        for k in range(0, 128, 32):
            idx = parts[0][k:k + 32] + parts[1][k:k + 32]
            x, y = torch.stack([data[i][0] for i in idx]), torch.stack([data[i][1] for i in idx])
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()
    got, want = snapshot["MODEL_STATE"], model.state_dict()
    assert list(got) == list(want) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert max(float((got[k] - want[k]).abs().max()) for k in want) <= 1e-6


@needs_mpi
@pytest.mark.parametrize("mode", ["timeout", "timeout_worker"])
def test_hung_rank_times_out(mode):
    rc, out, err, seconds = _launch(SCRIPTS / "fail.py", mode)
    assert rc == 1 and seconds < 30
    assert "rank 0 left the collective after 2." in out  # init_process_group(timeout=2 s)
    assert "ferrotorch.distributed.DistBackendError: [Rank 0] all_reduce timed out after 2 s" in err
    assert "rank      : 0 (local_rank: 0)" in err


@needs_mpi
def test_single_process_without_launcher():
    env = _env(RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT="29500")
    rc, out, err, _ = _run([sys.executable, str(SCRIPTS / "single.py")], 60, env)
    assert rc == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert res["env"] == [0, 1, "gloo"]
    assert res["ops"] == [[1.0, 2.0], [1.0, 2.0], [{"x": 1}], None]
    assert res["twice"] == ["ValueError", "trying to initialize the default process group twice!"]
    assert res["ddp"] == 0.0
    assert res["tcp"] == [1, "mpi", True]
    assert res["file"] == [1, "undefined"]  # backend=None reports 'undefined', as in PyTorch 2.13
    assert res["no_launcher"][0] == "RuntimeError" and "python -m ferrotorch.distributed.run --nproc-per-node 2" \
        in res["no_launcher"][1]
    assert res["bad_rank"][0] == "RuntimeError"
    assert res["after"] is False


def test_launcher_arguments():
    a = launcher.parse_args(["--nproc_per_node", "4", "--master_addr", "10.0.0.1", "--master_port", "1234",
                             "train.py", "--lr", "0.1"])
    assert (a.nproc_per_node, a.master_addr, a.master_port) == ("4", "10.0.0.1", 1234)
    assert (a.training_script, a.training_script_args) == ("train.py", ["--lr", "0.1"])
    b = launcher.parse_args(["--standalone", "--nnodes", "1", "--node-rank", "0", "--nproc-per-node=2", "-m", "pkg.mod"])
    assert (b.standalone, b.nnodes, b.node_rank, b.nproc_per_node, b.module) == (True, "1", 0, "2", True)
    with pytest.raises(ValueError, match="mpiexec --hostfile"):
        launcher.run(launcher.parse_args(["--nnodes", "2", "x.py"]))


# ---------------------------------------------------------------------------------------------
# in this process (no MPI start needed)


@pytest.fixture
def clean_env(monkeypatch):
    for k in _RDZV:
        monkeypatch.delenv(k, raising=False)
    for k in list(os.environ):
        if k.startswith(("OMPI_", "PMIX_", "PMI_")):
            monkeypatch.delenv(k)
    return monkeypatch


def test_before_init_process_group(clean_env):
    assert not dist.is_initialized() and dist.group.WORLD is None and dist.GroupMember.WORLD is None
    for fn in (dist.get_rank, dist.get_world_size, dist.get_backend, dist.barrier, lambda: dist.new_group([0]),
               lambda: dist.all_reduce(torch.ones(2)), lambda: dist.broadcast(torch.ones(2), src=0),
               lambda: dist.all_gather_object([None], 1), lambda: nn.parallel.DistributedDataParallel(nn.Linear(2, 2))):
        with pytest.raises(ValueError) as e:
            fn()
        assert str(e.value) == NOT_INIT
    with pytest.raises(AssertionError, match="Process group cannot be None"):
        dist.destroy_process_group()
    assert dist.get_rank(dist.GroupMember.NON_GROUP_MEMBER) == -1


def test_init_argument_errors(clean_env):
    tcp = "tcp://127.0.0.1:29531"
    cases = [
        (dict(backend="nccl", init_method=tcp, rank=0, world_size=1), ValueError,
         "ProcessGroupNCCL is only supported with GPUs, no GPUs found!"),
        (dict(backend="foo", init_method=tcp, rank=0, world_size=1), AssertionError, "Unknown backend type foo"),
        (dict(backend="gloo", init_method=tcp, rank=0, world_size=1, timeout=5), TypeError,
         "Expected timeout argument to be of type datetime.timedelta, got 5"),
        (dict(backend="gloo", init_method=tcp, world_size=1), ValueError,
         "Error initializing torch.distributed using tcp:// rendezvous: rank parameter missing"),
        (dict(backend="gloo", init_method=tcp, rank=0), ValueError,
         "Error initializing torch.distributed using tcp:// rendezvous: world size parameter missing"),
        (dict(backend="gloo", init_method="file:///tmp/x", world_size=1), ValueError,
         "Error initializing torch.distributed using file:// rendezvous: rank parameter missing"),
        (dict(backend="gloo", init_method="foo://x", rank=0, world_size=1), RuntimeError,
         "No rendezvous handler for foo://"),
        (dict(backend="gloo", init_method=tcp, rank=0, world_size=2, timeout=timedelta(seconds=1)), RuntimeError,
         "init_process_group: world_size=2, but this process was not started by an MPI launcher"),
    ]
    for kwargs, exc, msg in cases:
        with pytest.raises(exc) as e:
            dist.init_process_group(**kwargs)
        assert str(e.value).startswith(msg), kwargs
    # env:// asks for the variables one by one, like PyTorch
    for var, value in (("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29500")):
        with pytest.raises(ValueError) as e:
            dist.init_process_group("gloo")
        assert str(e.value) == ("Error initializing torch.distributed using env:// rendezvous: environment variable "
                                f"{var} expected, but not set")
        clean_env.setenv(var, value)
    with pytest.raises(RuntimeError, match="--nproc-per-node 2"):
        dist.init_process_group("gloo")
    assert not dist.is_initialized() and not _mpi.initialized()


def test_without_mpi(clean_env):
    clean_env.setattr(_mpi, "_state", {"mod": None, "err": ImportError("No module named 'mpi4py'")})
    assert dist.is_available() is False
    with pytest.raises(RuntimeError, match=r"pip install ferrotorch\[distributed\]"):
        dist.init_process_group("gloo", init_method="tcp://127.0.0.1:29532", rank=0, world_size=1)
    with pytest.raises(RuntimeError, match="Requires distributed package to be available"):
        DistributedSampler(list(range(4)))
    assert not dist.is_initialized()


@needs_mpi
def test_is_available_does_not_start_mpi():
    assert dist.is_available() is True and dist.is_mpi_available() and dist.is_gloo_available()
    assert not dist.is_nccl_available()
    assert not _mpi.initialized()


def test_reduce_op_and_backend():
    assert repr(dist.ReduceOp.SUM) == "<RedOpType.SUM: 0>" and str(dist.ReduceOp.AVG) == "RedOpType.AVG"
    assert [m.name for m in dist.ReduceOp.RedOpType][:8] == ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]
    assert dist.ReduceOp(dist.ReduceOp.MAX) == dist.ReduceOp.MAX and dist.ReduceOp.MAX != dist.ReduceOp.MIN
    assert dist.Backend("GLOO") == "gloo" and dist.Backend.NCCL == "nccl" and dist.Backend.MPI == "mpi"
    assert dist.Backend("custom") == "custom"
    assert issubclass(dist.DistBackendError, RuntimeError)
    assert dist.get_node_local_rank(fallback_rank=3) == 3 or "LOCAL_RANK" in os.environ


# ---------------------------------------------------------------------------------------------
# DistributedSampler. ferrotorch's randperm stream differs from PyTorch's today, so the shuffled
# cases feed PyTorch's recorded permutation (torch.randperm(n, generator seeded seed+epoch)) and
# compare the partition against PyTorch's recorded output.

# (n, num_replicas, shuffle, drop_last, seed, epoch, PyTorch's permutation, PyTorch's per-rank indices)
SAMPLER_CASES = [
    (10, 3, False, False, 0, 0, None, [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]),
    (10, 3, False, True, 0, 0, None, [[0, 3, 6], [1, 4, 7], [2, 5, 8]]),
    (2, 5, False, False, 0, 0, None, [[0], [1], [0], [1], [0]]),
    (11, 4, True, False, 0, 0, [10, 0, 4, 3, 5, 8, 2, 1, 9, 7, 6], [[10, 5, 9], [0, 8, 7], [4, 2, 6], [3, 1, 10]]),
    (11, 4, True, True, 7, 3, [10, 6, 8, 0, 1, 3, 2, 7, 9, 5, 4], [[10, 1], [6, 3], [8, 2], [0, 7]]),
    (3, 4, True, False, 1, 1, [0, 2, 1], [[0], [2], [1], [0]]),
]


@pytest.mark.parametrize("case", SAMPLER_CASES)
def test_distributed_sampler_matches_pytorch(case, monkeypatch):
    n, replicas, shuffle, drop_last, seed, epoch, perm, expected = case
    seeds = []

    def recorded_randperm(size, generator=None, **kw):
        assert size == n
        seeds.append(generator.initial_seed())
        return torch.tensor(perm)
    monkeypatch.setattr(torch, "randperm", recorded_randperm)
    for r in range(replicas):
        s = DistributedSampler(list(range(n)), num_replicas=replicas, rank=r, shuffle=shuffle, seed=seed,
                               drop_last=drop_last)
        s.set_epoch(epoch)
        assert list(s) == expected[r] and len(s) == len(expected[r])
    assert seeds == ([seed + epoch] * replicas if shuffle else [])


def test_distributed_sampler_shuffle_stream():
    data = list(range(23))
    parts = [list(DistributedSampler(data, num_replicas=3, rank=r, seed=5)) for r in range(3)]
    g = torch.Generator()
    g.manual_seed(5)
    perm = torch.randperm(23, generator=g).tolist()
    perm += perm[:1]
    assert parts == [perm[r::3] for r in range(3)]   # ferrotorch's own randperm, same partition
    s = DistributedSampler(data, num_replicas=3, rank=0, seed=5)
    s.set_epoch(1)
    assert list(s) != parts[0] and DistributedSampler is DistributedSampler2
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        DistributedSampler(data, num_replicas=3, rank=3)
