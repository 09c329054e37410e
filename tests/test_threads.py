"""The kernel pool (src/cpu/threads.rs): the importing thread is worker 0 and idle workers spin
for a few milliseconds after a parallel kernel. Parallel kernels must give the serial answer
from any thread, from several threads at once, and in a forked child (which has no workers)."""
import multiprocessing as mp
import threading

import numpy as np
import pytest

import ferrotorch as torch

N = 1 << 20  # above the parallel grain of every kernel used here


def _work(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, generator=g, dtype=torch.float64)
    a = torch.randn(300, 300, generator=g, dtype=torch.float64)
    return float(x.sum()), (x * 2 + 1).exp().mean().item(), (a @ a).numpy(), torch.softmax(a, 1).numpy()


def _expected(seed):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _work(seed)
    finally:
        torch.set_num_threads(old)


def _same(got, want):
    assert got[0] == pytest.approx(want[0], rel=1e-12)
    assert got[1] == pytest.approx(want[1], rel=1e-12)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(got[3], want[3], rtol=1e-12)


def test_parallel_kernels_match_serial_on_the_main_thread():
    _same(_work(1), _expected(1))


def test_parallel_kernels_from_other_threads_at_once():
    want = {s: _expected(s) for s in range(4)}
    got, errors = {}, []

    def run(seed):
        try:
            for _ in range(3):
                got[seed] = _work(seed)
        except Exception as e:  # reported below: an assert here would be lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for _ in range(3):  # the main thread (worker 0) works at the same time
        _same(_work(9), _expected(9))
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a worker thread hung"
    assert not errors, errors
    for s in range(4):
        _same(got[s], want[s])


def _child(q):
    q.put((torch.get_num_threads(), _work(3)))


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")
def test_forked_child_runs_kernels_serially():
    _work(0)  # the parent's workers are running (and spinning) when it forks
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    threads, got = q.get(timeout=120)
    p.join(timeout=60)
    assert p.exitcode == 0
    assert threads == 1
    _same(got, _expected(3))


def test_set_num_threads_one_then_back():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    assert torch.get_num_threads() == 1
    torch.set_num_threads(old)
    assert torch.get_num_threads() == old


def test_import_from_a_thread_that_exits(tmp_path):
    # only the main thread joins the pool; a pool built on a short-lived thread would lose a
    # member when it ends
    import subprocess, sys, os
    script = tmp_path / "imp.py"
    script.write_text(
        "import threading\n"
        "box = {}\n"
        "def imp():\n"
        "    import ferrotorch\n"
        "    box['t'] = ferrotorch\n"
        "t = threading.Thread(target=imp); t.start(); t.join()\n"
        "torch = box['t']\n"
        "x = torch.ones(1 << 20)\n"
        "for _ in range(5):\n"
        "    assert float(x.sum()) == float(1 << 20)\n"
        "    a = torch.ones(300, 300); assert float((a @ a)[0, 0]) == 300.0\n"
        "print('ok')\n")
    env = dict(os.environ)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
