//! Strided iteration shared by every elementwise kernel: collapse dimensions; a strided or
//! broadcast layout that collapses to two dims runs ndarray's `Zip` over views of the operands
//! (non-negative strides, an output whose elements are distinct), in parallel above a grain
//! size. Contiguous runs (one collapsed dim), other ranks, negative strides, in-place calls and
//! self-overlapping outputs walk innermost runs by hand (`for_each_run`). `cargo bench --bench kernels -- strided_vs_ndarray` measured the
//! two on the same tensors (README).
use super::simd::vectorized;
use crate::tensor::{Shape, Strides};
use ndarray::{ArrayView, ArrayViewMut, Dimension, Ix2, IxDyn, ShapeBuilder, Zip};
use rayon::prelude::*;

/// Elements below which kernels stay on the calling thread.
pub const GRAIN: usize = 1 << 15;

pub use super::threads::{parallel_ok, set_serial};

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
fn collapse<const N: usize>(shape: &[usize], strides: [&[isize]; N]) -> (Shape, [Strides; N]) {
    // inline vectors: no heap traffic per elementwise call for ranks up to 6
    let mut sh = Shape::new();
    let mut st: [Strides; N] = std::array::from_fn(|_| Strides::new());
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
    runs_of_collapsed(&sh, &st, total, f)
}

/// `for_each_run` on an index space `collapse` already produced (`total` elements, > 0).
fn runs_of_collapsed<const N: usize, F>(sh: &[usize], st: &[Strides; N], total: usize, f: F)
where
    F: Fn([isize; N], usize, [isize; N]) + Sync,
{
    if sh.is_empty() {
        f([0; N], 1, [0; N]);
        return;
    }
    let nd = sh.len();
    let inner = sh[nd - 1];
    let inner_st: [isize; N] = std::array::from_fn(|k| st[k][nd - 1]);
    let outer = &sh[..nd - 1];
    let runs: usize = outer.iter().product();
    // each range of runs as AVX2 code (`vectorized`): walk_runs, `f` and the op closure inside
    // it must be inlined (inline(always)); a call would run baseline code
    let run_range = |start: usize, end: usize| vectorized(#[inline(always)] || walk_runs(outer, st, inner, inner_st, &f, start, end));
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
            let mut idx: Shape = smallvec::smallvec![0usize; outer.len()];
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
                    vectorized(#[inline(always)] || f(off, e - s, inner_st));
                }
            });
        }
    }
}

/// Calls `f` on runs `start..end` of the index space `outer` x `inner` (see `runs_of_collapsed`).
#[inline(always)]
fn walk_runs<const N: usize, F>(outer: &[usize], st: &[Strides; N], inner: usize, inner_st: [isize; N], f: &F, start: usize, end: usize)
where
    F: Fn([isize; N], usize, [isize; N]),
{
    // multi-index of run `start`
    let mut idx: Shape = smallvec::smallvec![0usize; outer.len()];
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
}

/// `zip1` by hand: the innermost runs of the collapsed layout `lay` (`total` elements).
///
/// # Safety
/// As for `zip1`, with `lay` from `collapse` of its shape and strides.
unsafe fn zip1_runs<O: Copy, A: Copy>(lay: &(Shape, [Strides; 2]), total: usize, o: *mut O, a: *const A, f: impl Fn(A) -> O + Sync) {
    let (po, pa) = (SendPtr(o), SendPtr(a));
    // SAFETY: off/n/s describe a run inside the collapsed shape; the caller's zip contract bounds it
    runs_of_collapsed(&lay.0, &lay.1, total, #[inline(always)] |off, n, s| unsafe {
        let (po, pa) = (po, pa);
        let op = po.0.offset(off[0]);
        let ap = pa.0.offset(off[1]);
        if s[0] == 1 && s[1] == 1 && same(op, ap) {
            // in place: one pointer, each element read then written (see `same`)
            for i in 0..n { let p = op.add(i); *p = f(*(p as *const A)); }
        } else if s[0] == 1 && s[1] == 1 {
            let os = std::slice::from_raw_parts_mut(op, n);
            let as_ = std::slice::from_raw_parts(ap, n);
            for (x, &y) in os.iter_mut().zip(as_) { *x = f(y); }
        } else if s[0] == 1 && s[1] == 0 {
            // one input value for the whole run (fill_, a broadcast scalar): the output is
            // written, never read, so it cannot alias the value read once before the loop
            let (os, y) = (std::slice::from_raw_parts_mut(op, n), *ap);
            for x in os.iter_mut() { *x = f(y); }
        } else {
            for i in 0..n as isize { *op.offset(i * s[0]) = f(*ap.offset(i * s[1])); }
        }
    });
}

/// `zip2` by hand (see `zip1_runs`).
///
/// # Safety
/// As for `zip1_runs`.
unsafe fn zip2_runs<O: Copy, A: Copy, B: Copy>(
    lay: &(Shape, [Strides; 3]), total: usize, o: *mut O, a: *const A, b: *const B, f: impl Fn(A, B) -> O + Sync,
) {
    let (po, pa, pb) = (SendPtr(o), SendPtr(a), SendPtr(b));
    // SAFETY: off/n/s describe a run inside the collapsed shape; the caller's zip contract bounds it
    runs_of_collapsed(&lay.0, &lay.1, total, #[inline(always)] |off, n, s| unsafe {
        let (po, pa, pb) = (po, pa, pb);
        let op = po.0.offset(off[0]);
        let ap = pa.0.offset(off[1]);
        let bp = pb.0.offset(off[2]);
        let (in_a, in_b) = (same(op, ap), same(op, bp));
        if s[0] == 1 && s[1] == 1 && s[2] == 1 && (in_a || in_b) {
            // in place (see `same`): the output and the input(s) it is are read and written
            // through one pointer; another input is disjoint from the output
            match (in_a, in_b) {
                (true, false) => { let bs = std::slice::from_raw_parts(bp, n); for (i, &z) in bs.iter().enumerate() { let p = op.add(i); *p = f(*(p as *const A), z); } }
                (false, true) => { let as_ = std::slice::from_raw_parts(ap, n); for (i, &y) in as_.iter().enumerate() { let p = op.add(i); *p = f(y, *(p as *const B)); } }
                _ => for i in 0..n { let p = op.add(i); *p = f(*(p as *const A), *(p as *const B)); },
            }
        } else if s[0] == 1 && s[1] == 1 && s[2] == 1 {
            let os = std::slice::from_raw_parts_mut(op, n);
            let as_ = std::slice::from_raw_parts(ap, n);
            let bs = std::slice::from_raw_parts(bp, n);
            for ((x, &y), &z) in os.iter_mut().zip(as_).zip(bs) { *x = f(y, z); }
        } else if s[0] == 1 && s[1] == 1 && s[2] == 0 {
            // b is one value for the run, read before the loop
            let z = *bp;
            if in_a {
                for i in 0..n { let p = op.add(i); *p = f(*(p as *const A), z); }
            } else {
                let os = std::slice::from_raw_parts_mut(op, n);
                let as_ = std::slice::from_raw_parts(ap, n);
                for (x, &y) in os.iter_mut().zip(as_) { *x = f(y, z); }
            }
        } else {
            for i in 0..n as isize { *op.offset(i * s[0]) = f(*ap.offset(i * s[1]), *bp.offset(i * s[2])); }
        }
    });
}

/// `zip3` by hand (see `zip1_runs`).
///
/// # Safety
/// As for `zip1_runs`.
unsafe fn zip3_runs<O: Copy, A: Copy, B: Copy, C: Copy>(
    lay: &(Shape, [Strides; 4]), total: usize, o: *mut O, a: *const A, b: *const B, c: *const C,
    f: impl Fn(A, B, C) -> O + Sync,
) {
    let (po, pa, pb, pc) = (SendPtr(o), SendPtr(a), SendPtr(b), SendPtr(c));
    // SAFETY: off/n/s describe a run inside the collapsed shape; the caller's zip contract bounds it
    runs_of_collapsed(&lay.0, &lay.1, total, #[inline(always)] |off, n, s| unsafe {
        let (po, pa, pb, pc) = (po, pa, pb, pc);
        let op = po.0.offset(off[0]);
        let ap = pa.0.offset(off[1]);
        let bp = pb.0.offset(off[2]);
        let cp = pc.0.offset(off[3]);
        if s == [1, 1, 1, 1] && same(op, ap) && !same(op, bp) && !same(op, cp) {
            // in place into the first input (addcmul_, lerp_): see `same`
            let (bs, cs) = (std::slice::from_raw_parts(bp, n), std::slice::from_raw_parts(cp, n));
            for (i, (&z, &w)) in bs.iter().zip(cs).enumerate() { let p = op.add(i); *p = f(*(p as *const A), z, w); }
        } else if s == [1, 1, 1, 1] && !same(op, ap) && !same(op, bp) && !same(op, cp) {
            // contiguous runs as slices, so the loop vectorises
            let os = std::slice::from_raw_parts_mut(op, n);
            let (as_, bs, cs) = (std::slice::from_raw_parts(ap, n), std::slice::from_raw_parts(bp, n), std::slice::from_raw_parts(cp, n));
            for (((x, &y), &z), &w) in os.iter_mut().zip(as_).zip(bs).zip(cs) { *x = f(y, z, w); }
        } else if s == [1, 1, 1, 0] && !same(op, bp) && !same(op, cp) {
            // c is one value for the run (lerp's scalar weight), read before the loop; a is the
            // output itself (lerp_) or disjoint from it
            let (bs, w) = (std::slice::from_raw_parts(bp, n), *cp);
            if same(op, ap) {
                for (i, &z) in bs.iter().enumerate() { let p = op.add(i); *p = f(*(p as *const A), z, w); }
            } else {
                let (os, as_) = (std::slice::from_raw_parts_mut(op, n), std::slice::from_raw_parts(ap, n));
                for ((x, &y), &z) in os.iter_mut().zip(as_).zip(bs) { *x = f(y, z, w); }
            }
        } else {
            for i in 0..n as isize {
                *op.offset(i * s[0]) = f(*ap.offset(i * s[1]), *bp.offset(i * s[2]), *cp.offset(i * s[3]));
            }
        }
    });
}

/// The collapsed layout of one call as ndarray dimensions of type `D` (shape, then each
/// operand's strides), when ndarray views can describe it: every stride non-negative and the
/// output's elements pairwise distinct (no zero stride, no overlap). `None` otherwise.
fn nd_layout<D: Dimension, const N: usize>(sh: &[usize], st: &[Strides; N]) -> Option<(D, [D; N])> {
    if st.iter().any(|s| s.iter().any(|&x| x < 0)) || !distinct_elements(sh, &st[0]) { return None; }
    let dim = D::from_dimension(&IxDyn(sh))?;
    let mut strides: [D; N] = std::array::from_fn(|_| D::zeros(sh.len()));
    for k in 0..N {
        let s: Shape = st[k].iter().map(|&x| x as usize).collect();
        strides[k] = D::from_dimension(&IxDyn(&s))?;
    }
    Some((dim, strides))
}

/// Whether a view with these (non-negative) strides addresses each element once: sorted by
/// stride, every stride exceeds the span of the dims below it.
fn distinct_elements(sh: &[usize], st: &[isize]) -> bool {
    let mut dims: smallvec::SmallVec<[(isize, usize); 6]> = st.iter().copied().zip(sh.iter().copied()).collect();
    dims.sort_unstable();
    let mut span: isize = 0;
    for (s, n) in dims {
        if s <= span { return false; }
        span = span.saturating_add(s.saturating_mul(n as isize - 1));
    }
    true
}

fn go_parallel(total: usize) -> bool { total >= GRAIN && rayon::current_num_threads() > 1 && parallel_ok() }

/// Runs `$zip` (a function generic over the ndarray dimension) when the collapsed index space
/// has two dims (strided or broadcast layouts); evaluates to whether it ran. One collapsed dim
/// is a contiguous or single-stride run, which `for_each_run`'s slice loops cover as fast, and
/// each further rank would instantiate every map closure again (compile time doubled with
/// ranks 1-3 for no measured gain).
macro_rules! by_rank {
    ($sh:expr, $f:ident::<$($t:ty),*>($($arg:expr),*)) => {
        if $sh.len() == 2 { $f::<Ix2, $($t),*>($($arg),*) } else { false }
    };
}

unsafe fn zip1_nd<D: Dimension, O: Copy + Send + Sync, A: Copy + Send + Sync>(
    sh: &[usize], st: &[Strides; 2], o: *mut O, a: *const A, f: &(impl Fn(A) -> O + Sync),
) -> bool {
    let Some((dim, [so, sa])) = nd_layout::<D, 2>(sh, st) else { return false };
    // SAFETY (the three zip*_nd): the caller's zip contract puts every element of each view
    // inside a live allocation; nd_layout admitted only non-negative strides and an output
    // whose elements are distinct, and the callers never pass an output that is one of the
    // inputs, so no element is reached through a &mut and another reference at once.
    let z = Zip::from(ArrayViewMut::from_shape_ptr(dim.clone().strides(so), o)).and(ArrayView::from_shape_ptr(dim.strides(sa), a));
    let total = sh.iter().product();
    if go_parallel(total) { z.par_for_each(|o, &a| *o = f(a)) } else { vectorized(#[inline(always)] || z.for_each(|o, &a| *o = f(a))) }
    true
}

unsafe fn zip2_nd<D: Dimension, O: Copy + Send + Sync, A: Copy + Send + Sync, B: Copy + Send + Sync>(
    sh: &[usize], st: &[Strides; 3], o: *mut O, a: *const A, b: *const B, f: &(impl Fn(A, B) -> O + Sync),
) -> bool {
    let Some((dim, [so, sa, sb])) = nd_layout::<D, 3>(sh, st) else { return false };
    let z = Zip::from(ArrayViewMut::from_shape_ptr(dim.clone().strides(so), o))
        .and(ArrayView::from_shape_ptr(dim.clone().strides(sa), a))
        .and(ArrayView::from_shape_ptr(dim.strides(sb), b));
    let total = sh.iter().product();
    if go_parallel(total) { z.par_for_each(|o, &a, &b| *o = f(a, b)) } else { vectorized(#[inline(always)] || z.for_each(|o, &a, &b| *o = f(a, b))) }
    true
}

#[allow(clippy::type_complexity)]
unsafe fn zip3_nd<D: Dimension, O: Copy + Send + Sync, A: Copy + Send + Sync, B: Copy + Send + Sync, C: Copy + Send + Sync>(
    sh: &[usize], st: &[Strides; 4], o: *mut O, a: *const A, b: *const B, c: *const C, f: &(impl Fn(A, B, C) -> O + Sync),
) -> bool {
    let Some((dim, [so, sa, sb, sc])) = nd_layout::<D, 4>(sh, st) else { return false };
    let z = Zip::from(ArrayViewMut::from_shape_ptr(dim.clone().strides(so), o))
        .and(ArrayView::from_shape_ptr(dim.clone().strides(sa), a))
        .and(ArrayView::from_shape_ptr(dim.clone().strides(sb), b))
        .and(ArrayView::from_shape_ptr(dim.strides(sc), c));
    let total = sh.iter().product();
    if go_parallel(total) { z.par_for_each(|o, &a, &b, &c| *o = f(a, b, c)) } else { vectorized(#[inline(always)] || z.for_each(|o, &a, &b, &c| *o = f(a, b, c))) }
    true
}

/// Whether the output pointer is one of the inputs' (an in-place call, which the zip contract
/// allows only as an exact overlap): such calls stay on raw pointers.
fn in_place(o: usize, inputs: &[usize]) -> bool { inputs.contains(&o) }

/// Whether a run's output starts where an input's does: the zip contract then makes them the
/// same elements (an output overlaps an input only exactly), and of one element type, as only
/// a dtype-preserving in-place op writes into its input. The runs read and write such an input
/// through the output's pointer, never as a shared slice beside a mutable one (that aliasing
/// is undefined behaviour, and the compiler's overlap checks then sent every in-place op
/// through a scalar loop: `relu_` and `add_` ran 2-3x slower than PyTorch).
#[inline(always)]
fn same<O, A>(o: *mut O, a: *const A) -> bool { o as usize == a as usize && std::mem::size_of::<O>() == std::mem::size_of::<A>() }

/// out[i] = f(a[i]) over a shared shape. Pointers are to element 0 of each view.
///
/// # Safety
/// Each pointer must address element 0 of a view whose every element, under `shape` and its
/// strides, lies inside one live allocation: callers pass tensors' `data_ptr()` with strides
/// from the tensor itself or from `broadcast_strides` (stride 0 on broadcast dims), and every
/// tensor view satisfies `check_view_bounds`. The output view must not overlap the inputs
/// except exactly (same offset and strides), which `binary::shares` and `copy_raw` arrange.
pub unsafe fn zip1<O: Copy + Send + Sync, A: Copy + Send + Sync>(shape: &[usize], o: (*mut O, &[isize]), a: (*const A, &[isize]), f: impl Fn(A) -> O + Sync) {
    let total: usize = shape.iter().product();
    if total == 0 { return; }
    let lay = collapse(shape, [o.1, a.1]);
    if !in_place(o.0 as usize, &[a.0 as usize]) && by_rank!(lay.0, zip1_nd::<O, A>(&lay.0, &lay.1, o.0, a.0, &f)) { return; }
    zip1_runs(&lay, total, o.0, a.0, f)
}

/// out[i] = f(a[i], b[i]); see `zip1` for the safety contract.
///
/// # Safety
/// As for `zip1`.
pub unsafe fn zip2<O: Copy + Send + Sync, A: Copy + Send + Sync, B: Copy + Send + Sync>(
    shape: &[usize], o: (*mut O, &[isize]), a: (*const A, &[isize]), b: (*const B, &[isize]), f: impl Fn(A, B) -> O + Sync,
) {
    let total: usize = shape.iter().product();
    if total == 0 { return; }
    let lay = collapse(shape, [o.1, a.1, b.1]);
    if !in_place(o.0 as usize, &[a.0 as usize, b.0 as usize]) && by_rank!(lay.0, zip2_nd::<O, A, B>(&lay.0, &lay.1, o.0, a.0, b.0, &f)) { return; }
    zip2_runs(&lay, total, o.0, a.0, b.0, f)
}

/// out[i] = f(a[i], b[i], c[i]); see `zip1` for the safety contract.
///
/// # Safety
/// As for `zip1`.
pub unsafe fn zip3<O: Copy + Send + Sync, A: Copy + Send + Sync, B: Copy + Send + Sync, C: Copy + Send + Sync>(
    shape: &[usize], o: (*mut O, &[isize]), a: (*const A, &[isize]), b: (*const B, &[isize]), c: (*const C, &[isize]),
    f: impl Fn(A, B, C) -> O + Sync,
) {
    let total: usize = shape.iter().product();
    if total == 0 { return; }
    let lay = collapse(shape, [o.1, a.1, b.1, c.1]);
    if !in_place(o.0 as usize, &[a.0 as usize, b.0 as usize, c.0 as usize]) && by_rank!(lay.0, zip3_nd::<O, A, B, C>(&lay.0, &lay.1, o.0, a.0, b.0, c.0, &f)) { return; }
    zip3_runs(&lay, total, o.0, a.0, b.0, c.0, f)
}
