"""torchrun's command line on MPI.

    python -m ferrotorch.distributed.run --nproc-per-node 2 train.py --lr 0.1

starts the ranks through ``mpiexec`` with PyTorch's environment (RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_*). In the ranks (and the
Pythons they start), ``import torch`` binds ferrotorch, as under ``python -m ferrotorch.run``: a
script written for torchrun runs unchanged. When a rank fails,
mpiexec stops the others; the launcher then prints the failing rank's error and exits with 1.
One node per launch: for several hosts, run ``mpiexec --hostfile ...`` directly."""
import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

__all__ = ["get_args_parser", "parse_args", "run", "main"]


def get_args_parser():
    p = argparse.ArgumentParser(prog="python -m ferrotorch.distributed.run",
                                description="Start N ranks of a training script through mpiexec (torchrun's options).")
    p.add_argument("--nnodes", type=str, default="1:1", help="number of nodes (only 1 is supported; use mpiexec for more)")
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=str, default="1",
                   help="ranks per node: a number, 'cpu' or 'auto' (one per CPU core)")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0)
    p.add_argument("--master-addr", "--master_addr", type=str, default=None)
    p.add_argument("--master-port", "--master_port", type=int, default=None)
    p.add_argument("--standalone", action="store_true", help="single node, local address and a free port")
    p.add_argument("--rdzv-backend", "--rdzv_backend", type=str, default="static")
    p.add_argument("--rdzv-endpoint", "--rdzv_endpoint", type=str, default="")
    p.add_argument("--rdzv-id", "--rdzv_id", type=str, default="none")
    p.add_argument("--rdzv-conf", "--rdzv_conf", type=str, default="")
    p.add_argument("--max-restarts", "--max_restarts", type=int, default=0)
    p.add_argument("--monitor-interval", "--monitor_interval", type=float, default=0.1)
    p.add_argument("--start-method", "--start_method", type=str, default="spawn")
    p.add_argument("--role", type=str, default="default")
    p.add_argument("-m", "--module", action="store_true", help="run the target as a module (python -m)")
    p.add_argument("--no-python", "--no_python", action="store_true", help="run the target as an executable")
    p.add_argument("--run-path", "--run_path", action="store_true")
    p.add_argument("--log-dir", "--log_dir", type=str, default=None)
    p.add_argument("-r", "--redirects", type=str, default="0")
    p.add_argument("-t", "--tee", type=str, default="0")
    p.add_argument("--local-ranks-filter", "--local_ranks_filter", type=str, default="")
    p.add_argument("--mpiexec", type=str, default=None, help="mpiexec to use (default: next to Python, else PATH)")
    p.add_argument("--mpiexec-args", "--mpiexec_args", type=str, default="", help="extra mpiexec arguments")
    p.add_argument("training_script", type=str)
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return p


def parse_args(args):
    return get_args_parser().parse_args(args)


def _nproc(value):
    if value in ("cpu", "auto"):
        return os.cpu_count() or 1
    if value == "gpu":
        raise ValueError("--nproc-per-node=gpu needs GPUs; ferrotorch runs on CPU")
    n = int(value)
    if n < 1:
        raise ValueError(f"--nproc-per-node must be positive, got {n}")
    return n


def _nnodes(value):
    lo, _, hi = value.partition(":")
    return int(lo), int(hi or lo)


def _free_port():
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _find_mpiexec(explicit):
    if explicit:
        return explicit
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if not found:
        raise RuntimeError("mpiexec was not found: pip install ferrotorch[distributed] (installs Open MPI)")
    return found


def _is_open_mpi(mpiexec):
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "Open MPI" in out or "OpenRTE" in out or "prte" in out.lower()


def _command(args, nproc, env):
    mpiexec = _find_mpiexec(args.mpiexec)
    cmd = [mpiexec, "-n", str(nproc)]
    if _is_open_mpi(mpiexec):
        # one node: shared memory carries everything; skipping the network transports' device
        # probes (UCX, libfabric) saves about a second of MPI_Init per rank
        env.setdefault("OMPI_MCA_pml", "ob1")
        env.setdefault("OMPI_MCA_btl", "self,sm")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        cmd += ["--oversubscribe", "--bind-to", "none"]  # like torchrun: no pinning, any number of ranks
    cmd += shlex.split(args.mpiexec_args)
    cmd += [sys.executable, "-u", "-m", "ferrotorch.distributed._bootstrap"]
    if args.module:
        cmd.append("--module")
    if args.no_python:
        cmd.append("--no-python")
    return cmd + [args.training_script, *args.training_script_args]


def _environment(args, nproc, nnodes, run_id):
    env = dict(os.environ)
    addr, port = args.master_addr, args.master_port
    if args.standalone or (addr is None and port is None and not args.rdzv_endpoint):
        addr, port = "localhost", _free_port()
    elif args.rdzv_endpoint:
        host, _, p = args.rdzv_endpoint.rpartition(":")
        addr, port = host or args.rdzv_endpoint, int(p) if p.isdigit() else 29400
    env.update(
        MASTER_ADDR=addr or "127.0.0.1", MASTER_PORT=str(port or 29500), WORLD_SIZE=str(nproc * nnodes),
        LOCAL_WORLD_SIZE=str(nproc), GROUP_RANK=str(args.node_rank), GROUP_WORLD_SIZE=str(nnodes),
        ROLE_NAME=args.role, ROLE_WORLD_SIZE=str(nproc * nnodes), TORCHELASTIC_RUN_ID=run_id,
        TORCHELASTIC_MAX_RESTARTS=str(args.max_restarts), TORCHELASTIC_USE_AGENT_STORE="False",
        TORCHELASTIC_SIGNALS_TO_HANDLE="SIGTERM,SIGINT,SIGHUP,SIGQUIT")
    # ranks, and the processes they start (DataLoader workers, --no-python targets), alias torch
    from .._torch_alias import SHIM_DIR
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SHIM_DIR, env.get("PYTHONPATH")) if p)
    if nproc > 1 and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = "1"
        print("*****************************************\n"
              "Setting OMP_NUM_THREADS environment variable for each process to be 1 in default, to avoid your "
              "system being overloaded, please further tune the variable for optimal performance in your "
              "application as needed. \n*****************************************", file=sys.stderr)
    return env


def _wait(proc):
    """Waits for mpiexec; a signal to the launcher stops the ranks (mpiexec forwards SIGTERM)."""
    def stop(signum, frame):
        raise KeyboardInterrupt(signum)
    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _failures(run_dir):
    out = []
    if os.path.isdir(run_dir):
        for name in os.listdir(run_dir):
            path = os.path.join(run_dir, name, "error.json")
            try:
                with open(path) as f:
                    data = json.load(f)
            except (OSError, ValueError):
                continue
            data["error_file"] = path
            out.append(data)
    return sorted(out, key=lambda d: d.get("time", 0))


def _report(script, failures, code):
    """A torchrun-like summary of the failed run, root cause (first failure) last."""
    bar, thin = "=" * 60, "-" * 60
    lines = ["ChildFailedError: ", bar, f"{script} FAILED", thin, "Failures:"]

    def block(i, f):
        msg = f.get("message", {})
        tb = msg.get("extraInfo", {}).get("py_callstack") or msg.get("message", "")
        return [f"[{i}]:", f"  time      : {time.strftime('%Y-%m-%d_%H:%M:%S', time.localtime(f.get('time', 0)))}",
                f"  host      : {f.get('host', socket.gethostname())}",
                f"  rank      : {f.get('rank')} (local_rank: {f.get('local_rank')})",
                f"  exitcode  : {f.get('exitcode', 1)} (pid: {f.get('pid')})",
                f"  error_file: {f.get('error_file')}",
                "  traceback : " + tb.rstrip().replace("\n", "\n  ")]
    if len(failures) > 1:
        for i, f in enumerate(failures[1:], 1):
            lines += block(i, f)
    else:
        lines.append("  <NO_OTHER_FAILURES>")
    lines += [thin, "Root Cause (first observed failure):"]
    if failures:
        lines += block(0, failures[0])
    else:
        why = f"mpiexec exited with code {code}"
        if code > 128 and code - 128 in signal.valid_signals():  # a rank was killed (shells' 128 + N)
            names = {s.value: s.name for s in signal.Signals}
            why += f" (a rank died of signal {code - 128}{', ' + names[code - 128] if code - 128 in names else ''})"
        elif code < 0:
            why += f" (mpiexec itself died of signal {-code})"
        lines += ["[0]:", f"  {why}; no rank recorded an error (see the messages above)"]
    lines.append(bar)
    print("\n".join(lines), file=sys.stderr)


def run(args):
    """Runs the ranks (restarting the whole group up to --max-restarts times); returns the exit code."""
    nproc = _nproc(args.nproc_per_node)
    lo, hi = _nnodes(args.nnodes)
    if hi != 1 or args.node_rank != 0:
        raise ValueError("ferrotorch.distributed.run starts the ranks of one node; for several hosts start "
                         "all ranks with `mpiexec --hostfile HOSTS -n N python script.py` instead")
    run_id = str(uuid.uuid4()) if args.standalone or args.rdzv_id == "none" and args.master_port is None else args.rdzv_id
    env = _environment(args, nproc, 1, run_id)
    base = tempfile.mkdtemp(prefix="ferrotorch_dist_")
    try:
        for attempt in range(args.max_restarts + 1):
            run_dir = os.path.join(base, f"attempt_{attempt}")
            os.makedirs(run_dir)
            env.update(TORCHELASTIC_RESTART_COUNT=str(attempt), FERROTORCH_DIST_RUN_DIR=run_dir)
            proc = subprocess.Popen(_command(args, nproc, env), env=env)
            code = _wait(proc)
            if code == 0:
                return 0
            failures = _failures(run_dir)
            if attempt == args.max_restarts:
                _report(args.training_script, failures, code)
                return 1
            print(f"[ferrotorch.distributed.run] attempt {attempt} failed (exit code {code}); restarting "
                  f"({args.max_restarts - attempt} restarts left)", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main(args=None):
    parsed = parse_args(args if args is not None else sys.argv[1:])
    try:
        code = run(parsed)
    except (ValueError, RuntimeError) as e:  # bad options or no MPI: nothing was started
        print(f"python -m ferrotorch.distributed.run: error: {e}", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
