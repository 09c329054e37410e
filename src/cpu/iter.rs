//! Strided iteration shared by every elementwise kernel: collapse dimensions, run the
//! innermost dimension as a tight loop, and split across rayon threads above a grain size.
use crate::tensor::Strides;
use rayon::prelude::*;

/// Elements below which kernels stay on the calling thread.
pub const GRAIN: usize = 1 << 15;

static SERIAL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `torch.set_num_threads(1)` (and every forked child: the parent's rayon threads do not
/// exist after fork) makes kernels run on the calling thread only.
pub fn set_serial(v: bool) { SERIAL.store(v, std::sync::atomic::Ordering::Relaxed) }
pub fn parallel_ok() -> bool { !SERIAL.load(std::sync::atomic::Ordering::Relaxed) }

/// Strides of a tensor with `shape`/`strides` broadcast to `out` (0 on broadcast dims).
pub fn broadcast_strides(shape: &[usize], strides: &[isize], out: &[usize]) -> Strides {
    let mut r: Strides = smallvec::smallvec![0; out.len()];
    let off = out.len() - shape.len();
    for i in 0..shape.len() {
        r[off + i] = if shape[i] == 1 && out[off + i] != 1 { 0 } else { strides[i] };
    }
    r
}

/// Drops size-1 dims and merges dims that are contiguous with each other for every operand.
fn collapse<const N: usize>(shape: &[usize], strides: [&[isize]; N]) -> (Vec<usize>, [Vec<isize>; N]) {
    let mut sh: Vec<usize> = Vec::with_capacity(shape.len());
    let mut st: [Vec<isize>; N] = std::array::from_fn(|_| Vec::with_capacity(shape.len()));
    for d in 0..shape.len() {
        if shape[d] == 1 { continue; }
        if let Some(&last) = sh.last() {
            let mergeable = (0..N).all(|k| *st[k].last().unwrap() == strides[k][d] * shape[d] as isize);
            if mergeable {
                let _ = last;
                *sh.last_mut().unwrap() *= shape[d];
                for k in 0..N { *st[k].last_mut().unwrap() = strides[k][d]; }
                continue;
            }
        }
        sh.push(shape[d]);
        for k in 0..N { st[k].push(strides[k][d]); }
    }
    (sh, st)
}

#[derive(Clone, Copy)]
struct SendPtr<T>(T);
// SAFETY: a raw pointer shared by the worker threads of one zip call; each run writes a
// disjoint set of output elements (for_each_run partitions the index space), so no two
// threads write the same location, and the buffers outlive the call.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

/// Calls `f(offsets, len, inner_strides)` for every innermost run of the index space.
/// Offsets and strides are in elements, relative to each operand's first element.
pub fn for_each_run<const N: usize, F>(shape: &[usize], strides: [&[isize]; N], f: F)
where
    F: Fn([isize; N], usize, [isize; N]) + Sync,
{
    let total: usize = shape.iter().product();
    if total == 0 { return; }
    let (sh, st) = collapse(shape, strides);
    if sh.is_empty() {
        f([0; N], 1, [0; N]);
        return;
    }
    let nd = sh.len();
    let inner = sh[nd - 1];
    let inner_st: [isize; N] = std::array::from_fn(|k| st[k][nd - 1]);
    let outer = &sh[..nd - 1];
    let runs: usize = outer.iter().product();
    let run_range = |start: usize, end: usize| {
        // multi-index of run `start`
        let mut idx = vec![0usize; outer.len()];
        let mut r = start;
        for d in (0..outer.len()).rev() {
            idx[d] = r % outer[d];
            r /= outer[d];
        }
        let mut off: [isize; N] = std::array::from_fn(|k| (0..outer.len()).map(|d| idx[d] as isize * st[k][d]).sum());
        for _ in start..end {
            f(off, inner, inner_st);
            for d in (0..outer.len()).rev() {
                idx[d] += 1;
                for k in 0..N { off[k] += st[k][d]; }
                if idx[d] < outer[d] { break; }
                for k in 0..N { off[k] -= st[k][d] * outer[d] as isize; }
                idx[d] = 0;
            }
        }
    };
    let threads = rayon::current_num_threads();
    if total < GRAIN || threads == 1 || !parallel_ok() {
        run_range(0, runs);
    } else if runs >= threads * 4 || runs > 1 && inner * 8 < GRAIN {
        let chunks = (threads * 4).min(runs);
        let per = runs.div_ceil(chunks);
        (0..chunks).into_par_iter().for_each(|c| {
            let s = c * per;
            let e = ((c + 1) * per).min(runs);
            if s < e { run_range(s, e) }
        });
    } else {
        // few long runs: split each run's inner dimension
        for r in 0..runs {
            let mut idx = vec![0usize; outer.len()];
            let mut rr = r;
            for d in (0..outer.len()).rev() { idx[d] = rr % outer[d]; rr /= outer[d]; }
            let base: [isize; N] = std::array::from_fn(|k| (0..outer.len()).map(|d| idx[d] as isize * st[k][d]).sum());
            let chunks = threads * 2;
            let per = inner.div_ceil(chunks);
            (0..chunks).into_par_iter().for_each(|c| {
                let s = c * per;
                let e = ((c + 1) * per).min(inner);
                if s < e {
                    let off: [isize; N] = std::array::from_fn(|k| base[k] + s as isize * inner_st[k]);
                    f(off, e - s, inner_st);
                }
            });
        }
    }
}

/// out[i] = f(a[i]) over a shared shape. Pointers are to element 0 of each view.
///
/// # Safety
/// Each pointer must address element 0 of a view whose every element, under `shape` and its
/// strides, lies inside one live allocation: callers pass tensors' `data_ptr()` with strides
/// from the tensor itself or from `broadcast_strides` (stride 0 on broadcast dims), and every
/// tensor view satisfies `check_view_bounds`. The output view must not overlap the inputs
/// except exactly (same offset and strides), which `binary::shares` and `copy_raw` arrange.
pub unsafe fn zip1<O: Copy, A: Copy>(shape: &[usize], o: (*mut O, &[isize]), a: (*const A, &[isize]), f: impl Fn(A) -> O + Sync) {
    let (po, pa) = (SendPtr(o.0), SendPtr(a.0));
    // SAFETY: off/n/s describe a run inside `shape`; the caller's zip contract bounds it
    for_each_run(shape, [o.1, a.1], |off, n, s| unsafe {
        let (po, pa) = (po, pa);
        let op = po.0.offset(off[0]);
        let ap = pa.0.offset(off[1]);
        if s[0] == 1 && s[1] == 1 {
            let os = std::slice::from_raw_parts_mut(op, n);
            let as_ = std::slice::from_raw_parts(ap, n);
            for (x, &y) in os.iter_mut().zip(as_) { *x = f(y); }
        } else {
            for i in 0..n as isize { *op.offset(i * s[0]) = f(*ap.offset(i * s[1])); }
        }
    });
}

/// out[i] = f(a[i], b[i]); see `zip1` for the safety contract.
///
/// # Safety
/// As for `zip1`.
pub unsafe fn zip2<O: Copy, A: Copy, B: Copy>(
    shape: &[usize], o: (*mut O, &[isize]), a: (*const A, &[isize]), b: (*const B, &[isize]), f: impl Fn(A, B) -> O + Sync,
) {
    let (po, pa, pb) = (SendPtr(o.0), SendPtr(a.0), SendPtr(b.0));
    // SAFETY: off/n/s describe a run inside `shape`; the caller's zip contract bounds it
    for_each_run(shape, [o.1, a.1, b.1], |off, n, s| unsafe {
        let (po, pa, pb) = (po, pa, pb);
        let op = po.0.offset(off[0]);
        let ap = pa.0.offset(off[1]);
        let bp = pb.0.offset(off[2]);
        if s[0] == 1 && s[1] == 1 && s[2] == 1 {
            let os = std::slice::from_raw_parts_mut(op, n);
            let as_ = std::slice::from_raw_parts(ap, n);
            let bs = std::slice::from_raw_parts(bp, n);
            for ((x, &y), &z) in os.iter_mut().zip(as_).zip(bs) { *x = f(y, z); }
        } else if s[0] == 1 && s[1] == 1 && s[2] == 0 {
            let os = std::slice::from_raw_parts_mut(op, n);
            let as_ = std::slice::from_raw_parts(ap, n);
            let z = *bp;
            for (x, &y) in os.iter_mut().zip(as_) { *x = f(y, z); }
        } else {
            for i in 0..n as isize { *op.offset(i * s[0]) = f(*ap.offset(i * s[1]), *bp.offset(i * s[2])); }
        }
    });
}

/// out[i] = f(a[i], b[i], c[i]); see `zip1` for the safety contract.
///
/// # Safety
/// As for `zip1`.
pub unsafe fn zip3<O: Copy, A: Copy, B: Copy, C: Copy>(
    shape: &[usize], o: (*mut O, &[isize]), a: (*const A, &[isize]), b: (*const B, &[isize]), c: (*const C, &[isize]),
    f: impl Fn(A, B, C) -> O + Sync,
) {
    let (po, pa, pb, pc) = (SendPtr(o.0), SendPtr(a.0), SendPtr(b.0), SendPtr(c.0));
    // SAFETY: off/n/s describe a run inside `shape`; the caller's zip contract bounds it
    for_each_run(shape, [o.1, a.1, b.1, c.1], |off, n, s| unsafe {
        let (po, pa, pb, pc) = (po, pa, pb, pc);
        let op = po.0.offset(off[0]);
        let ap = pa.0.offset(off[1]);
        let bp = pb.0.offset(off[2]);
        let cp = pc.0.offset(off[3]);
        if s == [1, 1, 1, 1] {
            // contiguous runs as slices, so the loop vectorises
            let os = std::slice::from_raw_parts_mut(op, n);
            let (as_, bs, cs) = (std::slice::from_raw_parts(ap, n), std::slice::from_raw_parts(bp, n), std::slice::from_raw_parts(cp, n));
            for (((x, &y), &z), &w) in os.iter_mut().zip(as_).zip(bs).zip(cs) { *x = f(y, z, w); }
        } else {
            for i in 0..n as isize {
                *op.offset(i * s[0]) = f(*ap.offset(i * s[1]), *bp.offset(i * s[2]), *cp.offset(i * s[3]));
            }
        }
    });
}
