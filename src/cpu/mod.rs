//! The CPU backend: every kernel that reads or writes host memory through raw pointers or
//! typed slices lives here, behind the device boundary. `src/ops` keeps op semantics (checks,
//! dtype promotion, broadcasting, autograd) and calls these kernels; a CUDA backend provides
//! the same families under `src/cuda/`.
//!
//! Families: `iter` (strided elementwise iteration, dimension collapsing, rayon split),
//! `simd` (runtime-dispatched vector math), `gemm` (matrix products), `conv` (im2col
//! convolution), `reduce` (row reductions), `nn` (fused softmax, losses and norms), `pool` (max, average
//! and adaptive pooling).
pub mod attention;
pub mod conv;
pub mod counting;
pub mod fft;
pub mod gemm;
pub mod iter;
pub mod linalg;
pub mod nn;
pub mod optim;
pub mod pool;
pub mod random;
pub mod reduce;
pub mod simd;
pub mod strided;
pub mod transpose;

use crate::dtype::Elem;
use crate::error::Result;
use crate::tensor::Tensor;

/// Calls `f` with the elements of a contiguous tensor of element type `T`. Errors (never
/// undefined behaviour) when `t` is not contiguous or `T` is not its dtype.
pub fn read<T: Elem, R>(t: &Tensor, f: impl FnOnce(&[T]) -> R) -> Result<R> {
    let b = t.body();
    if b.dtype != T::DTYPE || !b.is_contiguous() {
        crate::bail!("internal: kernel expected a contiguous {} tensor, got {} with strides {:?}", T::DTYPE.name(), b.dtype.name(), b.strides);
    }
    let n = b.numel();
    if n == 0 { return Ok(f(&[])); }
    // SAFETY: the view is contiguous with n > 0 elements of T, and check_view_bounds (kept by
    // every view constructor) puts [offset, offset + n) inside the storage; `b` holds the
    // storage alive for the call.
    Ok(f(unsafe { std::slice::from_raw_parts(b.data_ptr() as *const T, n) }))
}

/// Copies `src` into a contiguous tensor of element type `T` with `src.len()` elements. Errors
/// (never undefined behaviour) when the layout, dtype or length does not match.
pub fn write_from<T: Elem>(t: &Tensor, src: &[T]) -> Result<()> {
    let b = t.body();
    let n = b.numel();
    if b.dtype != T::DTYPE || !b.is_contiguous() || n != src.len() {
        crate::bail!("internal: write_from expected a contiguous {} tensor of {} elements", T::DTYPE.name(), src.len());
    }
    if n == 0 { return Ok(()); }
    // SAFETY: the view is contiguous with n elements of T and check_view_bounds (kept by every
    // view constructor) puts [offset, offset + n) inside the storage, which `b` keeps alive;
    // `src` is a separate Vec-backed slice, so the ranges cannot overlap.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), b.data_ptr() as *mut T, n) };
    Ok(())
}

/// Allocates a contiguous tensor (zero-filled when `zeroed`) and lets `f` fill its elements.
/// The buffer is new, so nothing else can read or write it while `f` runs.
pub fn new_with<T: Elem>(shape: &[usize], zeroed: bool, f: impl FnOnce(&mut [T]) -> std::result::Result<(), String>) -> Result<Tensor> {
    let t = if zeroed { Tensor::zeros(shape, T::DTYPE)? } else { Tensor::empty(shape, T::DTYPE)? };
    let b = t.body();
    let n = b.numel();
    let r = if n == 0 { f(&mut []) } else {
        // SAFETY: t was just allocated contiguous with n elements of T and is not shared yet.
        f(unsafe { std::slice::from_raw_parts_mut(b.data_ptr() as *mut T, n) })
    };
    r.map_err(|e| crate::rt_err!("{}", e))?;
    Ok(t)
}
