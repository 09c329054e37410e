//! The CPU backend's entry points on tensor views: elementwise maps over strided (and
//! broadcast) operands, fills, and gathers/scatters at element offsets. `src/ops` calls
//! these instead of touching raw pointers; every call checks dtypes, shapes and offsets
//! against the views before the one `unsafe` block that walks them.
use crate::dtype::Elem;
use crate::error::Result;
use crate::storage::Device;
use crate::tensor::{Body, Strides};

use super::iter::{broadcast_strides, zip1, zip2, zip3, GRAIN};

fn on_cpu(b: &Body) -> Result<()> {
    if b.storage.device != Device::Cpu { crate::bail!("internal: a CPU kernel got a tensor on {:?}", b.storage.device); }
    Ok(())
}

/// The output of an elementwise map: of dtype `T`, on the CPU, shaped exactly `shape`.
fn out_view<T: Elem>(o: &Body, shape: &[usize]) -> Result<()> {
    on_cpu(o)?;
    if o.dtype != T::DTYPE || o.shape.as_slice() != shape {
        crate::bail!("internal: kernel output is {} {:?}, expected {} {:?}", o.dtype.name(), o.shape, T::DTYPE.name(), shape);
    }
    Ok(())
}

/// An input of an elementwise map: of dtype `T` and on the CPU.
fn in_dtype<T: Elem>(a: &Body) -> Result<()> {
    on_cpu(a)?;
    if a.dtype != T::DTYPE { crate::bail!("internal: kernel input is {}, expected {}", a.dtype.name(), T::DTYPE.name()); }
    Ok(())
}

/// An input of an elementwise map: of dtype `T`, on the CPU, broadcastable to `shape`; its
/// strides broadcast (0 on broadcast dims).
fn in_view<T: Elem>(a: &Body, shape: &[usize]) -> Result<Strides> {
    in_dtype::<T>(a)?;
    if a.shape.len() > shape.len() || a.shape.iter().rev().zip(shape.iter().rev()).any(|(&s, &o)| s != o && s != 1) {
        crate::bail!("internal: kernel input of shape {:?} does not broadcast to {:?}", a.shape, shape);
    }
    Ok(broadcast_strides(&a.shape, &a.strides, shape))
}

/// Whether a small map's output and inputs (already checked by out_view / in_view) are all
/// dense row-major views of exactly `shape`: then element i of each is at offset i, and one
/// flat loop replaces the stride machinery, whose setup dominates tiny tensors. Large maps
/// keep the general path, which splits work across the pool (and handles empty views).
fn flat_small(shape: &[usize], views: &[&Body]) -> Option<usize> {
    let n: usize = shape.iter().product();
    (n > 0 && n < GRAIN && views.iter().all(|v| v.shape.as_slice() == shape && v.is_contiguous())).then_some(n)
}

// SAFETY (all maps): each operand is a view checked above to have the map's dtype and a shape
// equal (output) or broadcastable (inputs, stride 0 on broadcast dims) to `shape`; every view
// satisfies check_view_bounds, so each element the zip visits lies inside its live storage,
// which the Body's Arc keeps alive for the call. The ops layer writes in place only when the
// output is exactly an input (same offset and strides) or disjoint from the inputs
// (`copy_raw` routes overlapping copies through a temporary), which the zip contract allows.

/// out[i] = f(a[i]) over `shape`, `a` broadcast.
pub fn map1<O: Elem, A: Elem>(shape: &[usize], o: &Body, a: &Body, f: impl Fn(A) -> O + Sync) -> Result<()> {
    out_view::<O>(o, shape)?;
    if let Some(n) = flat_small(shape, &[o, a]) {
        in_dtype::<A>(a)?;
        let (op, ap) = (o.data_ptr() as *mut O, a.data_ptr() as *const A);
        // SAFETY: as below, and flat_small found every view dense over `shape`, so offsets
        // 0..n address its elements; an in-place call (op == ap) reads each element before
        // writing it, through raw pointers; otherwise the views are disjoint and slices (which
        // the compiler vectorises without alias checks) are sound. `vectorized` runs the loop
        // as AVX2 code where the CPU has it.
        super::simd::vectorized(#[inline(always)] || unsafe {
            if op as usize == ap as usize && std::mem::size_of::<O>() == std::mem::size_of::<A>() {
                // through one pointer, so the loop vectorises (two equal pointers made the
                // compiler's overlap check fail at run time and take its scalar loop)
                for i in 0..n { let p = op.add(i); *p = f(*(p as *const A)) }
            } else if op as usize == ap as usize {
                for i in 0..n { *op.add(i) = f(*ap.add(i)) }
            } else {
                let (os, as_) = (std::slice::from_raw_parts_mut(op, n), std::slice::from_raw_parts(ap, n));
                for (x, &y) in os.iter_mut().zip(as_) { *x = f(y) }
            }
        });
        return Ok(());
    }
    let sa = in_view::<A>(a, shape)?;
    unsafe { zip1::<O, A>(shape, (o.data_ptr() as *mut O, &o.strides), (a.data_ptr() as *const A, &sa), f) };
    Ok(())
}

/// out[i] = f(a[i], b[i]) over `shape`, inputs broadcast.
pub fn map2<O: Elem, A: Elem, B: Elem>(shape: &[usize], o: &Body, a: &Body, b: &Body, f: impl Fn(A, B) -> O + Sync) -> Result<()> {
    out_view::<O>(o, shape)?;
    if let Some(n) = flat_small(shape, &[o, a, b]) {
        in_dtype::<A>(a)?;
        in_dtype::<B>(b)?;
        let (op, ap, bp) = (o.data_ptr() as *mut O, a.data_ptr() as *const A, b.data_ptr() as *const B);
        // SAFETY: as for map1's flat loop.
        super::simd::vectorized(#[inline(always)] || unsafe {
            let same_size = std::mem::size_of::<O>() == std::mem::size_of::<A>() && std::mem::size_of::<O>() == std::mem::size_of::<B>();
            if same_size && (op as usize == ap as usize || op as usize == bp as usize) {
                // in place through the output's pointer (as in map1); the other input, if
                // distinct, is disjoint from the output
                let (in_a, in_b) = (op as usize == ap as usize, op as usize == bp as usize);
                for i in 0..n {
                    let p = op.add(i);
                    let y = if in_a { *(p as *const A) } else { *ap.add(i) };
                    let z = if in_b { *(p as *const B) } else { *bp.add(i) };
                    *p = f(y, z)
                }
            } else if op as usize == ap as usize || op as usize == bp as usize {
                for i in 0..n { *op.add(i) = f(*ap.add(i), *bp.add(i)) }
            } else {
                let os = std::slice::from_raw_parts_mut(op, n);
                let (as_, bs) = (std::slice::from_raw_parts(ap, n), std::slice::from_raw_parts(bp, n));
                for ((x, &y), &z) in os.iter_mut().zip(as_).zip(bs) { *x = f(y, z) }
            }
        });
        return Ok(());
    }
    let (sa, sb) = (in_view::<A>(a, shape)?, in_view::<B>(b, shape)?);
    unsafe { zip2::<O, A, B>(shape, (o.data_ptr() as *mut O, &o.strides), (a.data_ptr() as *const A, &sa), (b.data_ptr() as *const B, &sb), f) };
    Ok(())
}

/// out[i] = f(a[i], b[i], c[i]) over `shape`, inputs broadcast.
pub fn map3<O: Elem, A: Elem, B: Elem, C: Elem>(shape: &[usize], o: &Body, a: &Body, b: &Body, c: &Body, f: impl Fn(A, B, C) -> O + Sync) -> Result<()> {
    out_view::<O>(o, shape)?;
    let (sa, sb, sc) = (in_view::<A>(a, shape)?, in_view::<B>(b, shape)?, in_view::<C>(c, shape)?);
    unsafe {
        zip3::<O, A, B, C>(shape, (o.data_ptr() as *mut O, &o.strides), (a.data_ptr() as *const A, &sa), (b.data_ptr() as *const B, &sb), (c.data_ptr() as *const C, &sc), f)
    };
    Ok(())
}

/// Every element of the view `o` set to `v`.
pub fn fill<T: Elem>(o: &Body, v: T) -> Result<()> {
    out_view::<T>(o, &o.shape.clone())?;
    let zeros: Strides = smallvec::smallvec![0; o.shape.len()];
    // SAFETY: o is checked as map outputs are; the source is one local value read with all-zero strides
    unsafe { zip1::<T, T>(&o.shape, (o.data_ptr() as *mut T, &o.strides), (&v as *const T, &zeros), |x| x) };
    Ok(())
}

/// The element offsets (relative to the view's first element) that stay inside `b`'s storage.
fn storage_span(b: &Body) -> (isize, isize) {
    let total = (b.storage.nbytes() / b.dtype.size().max(1)) as isize;
    (-(b.offset as isize), total - b.offset as isize)
}

fn check_offsets(b: &Body, offs: &[isize]) -> Result<()> {
    let (lo, hi) = storage_span(b);
    // one pass the compiler vectorises (a short-circuiting find ran element by element, a
    // third of a 1-D scatter_add_'s time), the search only after a miss
    if !offs.iter().fold(false, |bad, &o| bad | (o < lo) | (o >= hi)) { return Ok(()); }
    if let Some(o) = offs.iter().find(|&&o| o < lo || o >= hi) {
        crate::bail!("internal: element offset {} outside the tensor's storage", o);
    }
    Ok(())
}

/// dst[i] = src[offs[i]] for element offsets into the view `src` (every offset is checked to
/// lie inside its storage).
pub fn gather_at<T: Elem>(src: &Body, offs: &[isize], dst: &mut [T]) -> Result<()> {
    on_cpu(src)?;
    if src.dtype != T::DTYPE || dst.len() != offs.len() { crate::bail!("internal: gather_at got mismatched operands"); }
    check_offsets(src, offs)?;
    let p = src.data_ptr() as *const T;
    // SAFETY: every offset was checked to address an element inside src's live storage
    for (d, &o) in dst.iter_mut().zip(offs) { *d = unsafe { *p.offset(o) }; }
    Ok(())
}

/// dst[offs[i]] = f(dst[offs[i]], vals[i]) in order, for element offsets into the view `dst`
/// (every offset is checked to lie inside its storage; repeated offsets accumulate in order).
pub fn scatter_at<T: Elem>(dst: &Body, offs: &[isize], vals: &[T], f: impl Fn(T, T) -> T) -> Result<()> {
    on_cpu(dst)?;
    if dst.dtype != T::DTYPE || vals.len() != offs.len() { crate::bail!("internal: scatter_at got mismatched operands"); }
    check_offsets(dst, offs)?;
    let p = dst.data_ptr() as *mut T;
    // SAFETY: every offset was checked to address an element inside dst's live storage; `vals`
    // is a separate slice the caller read before the writes, so no reference aliases them
    for (&o, &v) in offs.iter().zip(vals) { unsafe { *p.offset(o) = f(*p.offset(o), v) }; }
    Ok(())
}

/// Runs `f` on the elements of a contiguous view as a mutable slice. For buffers the calling op
/// owns for the call (fresh outputs, optimizer state): nothing else may read or write the same
/// storage while `f` runs.
pub fn write<T: Elem, R>(b: &Body, f: impl FnOnce(&mut [T]) -> R) -> Result<R> {
    on_cpu(b)?;
    if b.dtype != T::DTYPE || !b.is_contiguous() {
        crate::bail!("internal: kernel expected a contiguous {} tensor, got {} with strides {:?}", T::DTYPE.name(), b.dtype.name(), b.strides);
    }
    let n = b.numel();
    if n == 0 { return Ok(f(&mut [])); }
    // SAFETY: contiguous with n > 0 elements of T, inside the storage by check_view_bounds; the
    // caller's contract above rules out another live reference to these elements
    Ok(f(unsafe { std::slice::from_raw_parts_mut(b.data_ptr() as *mut T, n) }))
}

/// Runs `f` on the elements of a contiguous view as a slice.
pub fn read<T: Elem, R>(b: &Body, f: impl FnOnce(&[T]) -> R) -> Result<R> {
    on_cpu(b)?;
    if b.dtype != T::DTYPE || !b.is_contiguous() {
        crate::bail!("internal: kernel expected a contiguous {} tensor, got {} with strides {:?}", T::DTYPE.name(), b.dtype.name(), b.strides);
    }
    let n = b.numel();
    if n == 0 { return Ok(f(&[])); }
    // SAFETY: contiguous with n > 0 elements of T, inside the storage by check_view_bounds
    Ok(f(unsafe { std::slice::from_raw_parts(b.data_ptr() as *const T, n) }))
}
