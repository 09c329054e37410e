//! The worker pool's policy: who runs kernels and how long idle workers stay awake.
//!
//! Two things made parallel kernels slow on small VMs (measured on a 2-vCPU Xeon): rayon's
//! default pool injects every job from the Python thread and blocks it until a worker wakes,
//! and a worker that has slept takes 40 µs to 4 ms to wake (the hypervisor descheduled its
//! vCPU). Kernels shorter than that ran at one thread's speed or slower.
//!
//! So the pool is built on the importing (Python) thread with `use_current_thread`: that thread
//! is worker 0 and runs its own jobs, with the other workers stealing halves as they come. And
//! after each parallel kernel the other workers stay awake for `spin_window()` (a spinning job
//! that takes any new work at once), as OpenMP runtimes do; then they sleep as before. The
//! first parallel kernel after they slept waits (up to the same window) until they run, as an
//! OpenMP fork does: without it, on the 2-vCPU Xeon right after PyTorch's OpenMP workers had
//! run (they spin ~5 ms on the other core), 256² matmul ran at one thread's speed in most calls
//! (`shared/bench/workloads.py`, panel GEMM in small tasks: ratio to PyTorch 0.56-1.05 in five
//! runs; with the wait 1.01-1.15 in eleven, though only about half the runs on a busier host).
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static SERIAL: AtomicBool = AtomicBool::new(false);

/// `torch.set_num_threads(1)` (and every forked child: the parent's workers do not exist after
/// fork) makes kernels run on the calling thread only.
pub fn set_serial(v: bool) { SERIAL.store(v, Relaxed) }

/// Whether kernels may split across the pool, without keeping workers awake.
pub fn threads_allowed() -> bool { !SERIAL.load(Relaxed) }

/// Whether a kernel about to run may split across the pool. Callers ask this only when they
/// are about to go parallel, so a `true` also keeps the other workers awake for the next
/// kernels (`keep_workers_awake`).
pub fn parallel_ok() -> bool {
    if SERIAL.load(Relaxed) { return false; }
    keep_workers_awake();
    true
}

/// How long idle workers keep polling for work after a parallel kernel (default 5 ms;
/// `FERROTORCH_SPIN_US` sets it in microseconds, 0 turns spinning off).
fn spin_window() -> Duration {
    static WINDOW: OnceLock<Duration> = OnceLock::new();
    *WINDOW.get_or_init(|| {
        let us = std::env::var("FERROTORCH_SPIN_US").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(5_000);
        Duration::from_micros(us.min(1_000_000))
    })
}

fn clock() -> &'static Instant { static T0: OnceLock<Instant> = OnceLock::new(); T0.get_or_init(Instant::now) }
fn now_ns() -> u64 { clock().elapsed().as_nanos() as u64 }

/// Until when (ns on `clock`) spinning workers keep polling; spinning jobs in flight.
static AWAKE_UNTIL: AtomicU64 = AtomicU64::new(0);
static SPINNING: AtomicUsize = AtomicUsize::new(0);
static POOL_HAS_CALLER: AtomicBool = AtomicBool::new(false);
/// Spinning jobs that have started on a worker (so that worker is on a CPU now).
static SPINNERS_RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Builds the global pool with the calling thread as worker 0 (once, at import, on Python's
/// main thread: a member thread must outlive the pool). Without at least one other worker the
/// pool is left to rayon's default, which has one.
pub fn init_pool() {
    let n = std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if n < 2 { return; }
    if rayon::ThreadPoolBuilder::new().num_threads(n).use_current_thread().build_global().is_ok() {
        POOL_HAS_CALLER.store(true, Relaxed);
    }
}

/// Extends the awake window and starts one spinning job per other worker that lacks one.
fn keep_workers_awake() {
    let window = spin_window();
    if window.is_zero() || !POOL_HAS_CALLER.load(Relaxed) { return; }
    // only worker 0 (the Python thread) arms spinners; a worker doing it would spin itself
    if rayon::current_thread_index() != Some(0) { return; }
    AWAKE_UNTIL.store(now_ns() + window.as_nanos() as u64, Relaxed);
    let others = rayon::current_num_threads().saturating_sub(1);
    let mut armed = false;
    while SPINNING.load(Relaxed) < others {
        SPINNING.fetch_add(1, Relaxed);
        rayon::spawn(spin_for_work);
        armed = true;
    }
    if armed { wait_for_spinners(others, window) }
}

/// Waits (up to `limit`) until the other workers run, as an OpenMP fork does: a kernel split
/// while they still sleep runs whole on this thread, and on a busy VM waking one takes ms.
fn wait_for_spinners(others: usize, limit: Duration) {
    let start = Instant::now();
    while SPINNERS_RUNNING.load(Relaxed) < others && start.elapsed() < limit {
        // let a worker queued on this CPU run
        std::thread::yield_now();
    }
}

/// A job that keeps one worker polling the pool until the awake window ends. Worker 0 can pop
/// one of these from its own queue while it waits inside a parallel kernel; it returns at once
/// there, so the Python thread never spins.
fn spin_for_work() {
    if rayon::current_thread_index() != Some(0) {
        SPINNERS_RUNNING.fetch_add(1, Relaxed);
        while now_ns() < AWAKE_UNTIL.load(Relaxed) {
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                // a few PAUSEs between polls: one takes ~140 cycles on Skylake-and-later Xeons,
                // so 64 of them (as before) left new work unseen for up to ~3 µs
                for _ in 0..4 { std::hint::spin_loop(); }
            }
        }
        SPINNERS_RUNNING.fetch_sub(1, Relaxed);
    }
    SPINNING.fetch_sub(1, Relaxed);
}
