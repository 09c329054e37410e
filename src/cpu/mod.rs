//! The CPU backend: every kernel that reads or writes host memory through raw pointers or
//! typed slices lives here, behind the device boundary. `src/ops` keeps op semantics (checks,
//! dtype promotion, broadcasting, autograd) and calls these kernels; a CUDA backend provides
//! the same families under `src/cuda/`.
//!
//! `Cpu` is this backend's implementation of the device contract (`crate::backend::Backend`).
//!
//! Families: `iter` (strided elementwise iteration, dimension collapsing, rayon split),
//! `simd` (runtime-dispatched vector math), `gemm` (matrix products), `conv` (im2col
//! convolution), `reduce` (row reductions), `nn` (fused softmax, losses and norms), `pool` (max, average
//! and adaptive pooling).
pub mod attention;
pub mod bf16_gemm;
pub mod conv;
pub mod convert;
pub mod counting;
pub mod elementwise;
pub mod fft;
pub mod gemm;
pub mod index;
pub mod iter;
pub mod linalg;
pub mod nn;
pub mod nn_kernels;
pub mod optim;
pub mod panel_gemm;
pub mod pool;
pub mod random;
pub mod rnn;
pub mod reduce;
pub mod simd;
pub mod small_gemm;
pub mod strided;
pub mod threads;
pub mod transpose;
#[cfg(target_arch = "x86_64")]
pub mod winograd;

use crate::backend::Backend;
use crate::dtype::{DType, Elem, Scalar};
use crate::error::{Error, Result};
use crate::ops::binary::BinOp;
use crate::ops::unary::UnaryOp;
use crate::storage::{Device, Storage};
use crate::tensor::Tensor;

/// The CPU backend.
pub struct Cpu;

impl Backend for Cpu {
    fn device(&self) -> Device { Device::Cpu }

    fn alloc(&self, nbytes: usize, zeroed: bool) -> Result<Storage> {
        if zeroed { Storage::new_zeroed(nbytes) } else { Storage::new_uninit(nbytes) }
    }

    fn unary(&self, op: UnaryOp, out: &Tensor, x: &Tensor) -> Result<()> {
        use elementwise::*;
        if out.dtype() == DType::Bool {
            return crate::dispatch!(x.dtype(), T => unary_bool_kernel::<T>(op, out, x));
        }
        match out.dtype() {
            DType::F32 => unary_float_kernel::<f32>(op, out, x),
            DType::F64 => unary_float_kernel::<f64>(op, out, x),
            DType::U8 => unary_int_kernel::<u8>(op, out, x),
            DType::I8 => unary_int_kernel::<i8>(op, out, x),
            DType::I16 => unary_int_kernel::<i16>(op, out, x),
            DType::I32 => unary_int_kernel::<i32>(op, out, x),
            DType::I64 => unary_int_kernel::<i64>(op, out, x),
            dt => Err(Error::Runtime(format!("internal: no CPU unary kernel for {}", dt.name()))),
        }
    }

    fn binary(&self, op: BinOp, out: &Tensor, a: &Tensor, b: &Tensor, alpha: f64) -> Result<()> {
        use elementwise::*;
        let ob = out.body_ref();
        let (kd, shape) = (ob.dtype, &ob.shape[..]);
        if matches!(op, BinOp::Atan2 | BinOp::Hypot | BinOp::Copysign | BinOp::Xlogy | BinOp::LogAddExp) {
            return crate::dispatch_float!(kd, T => float_only_kernel::<T>(op, shape, out, a, b));
        }
        if matches!(kd, DType::F16 | DType::BF16) {
            return half_arith_kernel(op, out, a, b, alpha);
        }
        if kd.is_complex() {
            return crate::dispatch_complex!(kd, T => arith_kernel::<T>(op, shape, out, a, b, T::from_f64(alpha)));
        }
        crate::dispatch_num!(kd, T => arith_kernel::<T>(op, shape, out, a, b, T::from_f64(alpha)))
    }

    fn complex_map(&self, f: crate::ops::complex::ComplexMap, out: &Tensor, z: &Tensor) -> Result<()> {
        elementwise::complex_map_kernel(f, out, z)
    }

    fn compare(&self, op: BinOp, out: &Tensor, a: &Tensor, b: &Tensor) -> Result<()> {
        crate::dispatch!(a.dtype(), T => elementwise::compare_kernel::<T>(op, &out.shape(), out, a, b))
    }

    fn pointwise3(&self, op: crate::ops::binary::Pointwise3, out: &Tensor, a: &Tensor, b: &Tensor, c: &Tensor, value: f64) -> Result<()> {
        crate::dispatch_float!(out.dtype(), T => elementwise::pointwise3_kernel::<T>(op, out, a, b, c, value))
    }

    fn select(&self, out: &Tensor, cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<()> {
        let (o, c, x, y) = (out.body(), cond.body(), a.body(), b.body());
        crate::dispatch!(o.dtype, T => strided::map3::<T, bool, T, T>(&o.shape, &o, &c, &x, &y, |c, a, b| if c { a } else { b }))
    }

    fn clamp(&self, out: &Tensor, x: &Tensor, lo: Option<f64>, hi: Option<f64>) -> Result<()> {
        match out.dtype() {
            DType::F32 => elementwise::clamp_kernel::<f32>(out, x, lo, hi),
            DType::F64 => elementwise::clamp_kernel::<f64>(out, x, lo, hi),
            dt => Err(Error::Runtime(format!("internal: no CPU clamp kernel for {}", dt.name()))),
        }
    }

    fn fill(&self, t: &Tensor, v: Scalar) -> Result<()> {
        let b = t.body();
        crate::dispatch!(b.dtype, T => {
            let v: T = match v {
                Scalar::Float(f) => T::from_f64(f),
                Scalar::Complex(re, im) => T::from_parts(re, im),
                other => if b.dtype.is_float() { T::from_f64(other.to_f64()) } else { T::from_i64(other.to_i64()) },
            };
            strided::fill::<T>(&b, v)
        })
    }

    fn copy(&self, dst: &Tensor, src: &Tensor) -> Result<()> {
        let (d, s) = (dst.body(), src.body());
        let ss = iter::broadcast_strides(&s.shape, &s.strides, &d.shape);
        if s.dtype == d.dtype && transpose::copy_views(&d, &s, &ss) { return Ok(()); }
        if convert::halves(&d, &s)? { return Ok(()); }
        crate::dispatch!(s.dtype, S => crate::dispatch!(d.dtype, D => strided::map1::<D, S>(&d.shape, &d, &s, |x| x.cast::<D>())))
    }

    fn bmm(&self, out: &Tensor, a: &Tensor, c: &Tensor) -> Result<()> {
        let (ob, ab, cb) = (out.body_ref(), a.body_ref(), c.body_ref());
        let (Some(ga), Some(gc)) = (gemm::batched_geometry(&ab), gemm::batched_geometry(&cb)) else {
            crate::bail!("internal: bmm expects 2-D or 3-D operands, got {:?} and {:?}", ab.shape, cb.shape);
        };
        let (bsz, m, k, n) = (ga.0[0], ga.0[1], ga.0[2], gc.0[2]);
        let flops = m * n * k;
        // many small products: one product per task; otherwise each product uses the pool itself
        let across_batch = bsz >= 2 && flops < 1 << 21 && flops.saturating_mul(bsz) >= 1 << 18 && iter::parallel_ok();
        let par = if across_batch { ::gemm::Parallelism::None } else { gemm::parallelism(flops) };
        if ob.dtype == DType::I64 { drop((ob, ab, cb)); return bmm_wrapping_i64(out, a, c); }
        if ob.dtype == DType::BF16 { return bf16_gemm::bmm_bf16(&ob, &ab, &cb, None); }
        crate::dispatch_float!(ob.dtype, T => gemm::bmm_views::<T>(&ob, &ab, &cb, across_batch, par))
    }

    fn matmul_dtype(&self, dt: DType, m: usize, n: usize, k: usize) -> DType {
        match dt {
            DType::F32 | DType::F64 => dt,
            DType::BF16 if bf16_gemm::matmul_in_bf16(m, n, k) => dt,
            _ => DType::F32,
        }
    }

    fn fft_rows(&self, z: &Tensor, n: usize, inverse: bool, scale: f64) -> Result<()> {
        use crate::dtype::{c128, c64};
        if n == 0 || z.numel() % n != 0 { crate::bail!("internal: fft over rows of {} in {} elements", n, z.numel()); }
        match z.dtype() {
            DType::C64 => strided::write::<c64, _>(&z.body(), |v| fft::c2c_rows(v, n, inverse, scale as f32)),
            DType::C128 => strided::write::<c128, _>(&z.body(), |v| fft::c2c_rows(v, n, inverse, scale)),
            d => crate::bail!("internal: fft of a {} tensor", d.name()),
        }
    }

    fn to_host(&self, t: &Tensor, dst: &mut [u8]) -> Result<()> {
        let b = t.body();
        if b.storage.device != Device::Cpu || !b.is_contiguous() || b.numel().checked_mul(b.dtype.size()) != Some(dst.len()) {
            crate::bail!("internal: to_host of {} bytes from a {} tensor of {} elements", dst.len(), b.dtype.name(), b.numel());
        }
        if dst.is_empty() { return Ok(()); }
        // SAFETY: the view is CPU memory, contiguous and inside its storage (check_view_bounds),
        // which `b` keeps alive; it spans exactly dst.len() bytes (checked above); dst is host memory
        // borrowed exclusively, so the ranges cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(b.data_ptr() as *const u8, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    fn from_host(&self, t: &Tensor, src: &[u8]) -> Result<()> {
        let b = t.body();
        if b.storage.device != Device::Cpu || !b.is_contiguous() || b.numel().checked_mul(b.dtype.size()) != Some(src.len()) {
            crate::bail!("internal: from_host of {} bytes into a {} tensor of {} elements", src.len(), b.dtype.name(), b.numel());
        }
        if src.is_empty() { return Ok(()); }
        // SAFETY: as in to_host, with the tensor as destination; `src` is a shared borrow of
        // separate host memory, so the ranges cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), b.data_ptr() as *mut u8, src.len()) };
        Ok(())
    }
}

/// Integer batched matmul with PyTorch's wrapping semantics: products and sums wrap in the
/// tensor's own width, which equals computing in wrapping i64 and truncating.
fn bmm_wrapping_i64(out: &Tensor, a: &Tensor, c: &Tensor) -> Result<()> {
    use rayon::prelude::*;
    check_outputs(&[out], &[a, c])?;
    let (ash, csh) = (a.shape(), c.shape());
    if ash.len() != 3 || csh.len() != 3 || ash[0] != csh[0] || ash[2] != csh[1] || out.shape().as_slice() != [ash[0], ash[1], csh[2]] {
        crate::bail!("internal: bmm of {:?} and {:?} into {:?}", ash, csh, out.shape());
    }
    let (bsz, m, k, n) = (ash[0], ash[1], ash[2], csh[2]);
    read::<i64, _>(a, |ap| read::<i64, _>(c, |cp| write::<i64, _>(out, |op| {
        op.fill(0);
        if bsz == 0 || m == 0 || n == 0 || k == 0 { return; }
        let row = |(r, orow): (usize, &mut [i64])| {
            let (b, i) = (r / m, r % m);
            for p in 0..k {
                let x = ap[(b * m + i) * k + p];
                let crow = &cp[(b * k + p) * n..(b * k + p + 1) * n];
                for (o, &y) in orow.iter_mut().zip(crow) { *o = o.wrapping_add(x.wrapping_mul(y)); }
            }
        };
        if bsz.saturating_mul(m).saturating_mul(n).saturating_mul(k) >= 1 << 18 && iter::parallel_ok() { op.par_chunks_mut(n).enumerate().for_each(row) } else { op.chunks_mut(n).enumerate().for_each(row) }
    })))??
}

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

/// Calls `f` with the elements of a contiguous tensor of element type `T` as a mutable slice.
/// For a kernel's outputs, after `check_outputs` has ruled out any other reference to them.
pub fn write<T: Elem, R>(t: &Tensor, f: impl FnOnce(&mut [T]) -> R) -> Result<R> {
    strided::write::<T, R>(&t.body(), f)
}

/// The device contract hands a kernel fresh outputs; checked here because the slices the CPU
/// kernels take must not alias: no output shares its storage with another output or an input.
pub fn check_outputs(outs: &[&Tensor], ins: &[&Tensor]) -> Result<()> {
    for (i, o) in outs.iter().enumerate() {
        let s = o.storage();
        let clash = outs[i + 1..].iter().chain(ins.iter()).any(|t| std::sync::Arc::ptr_eq(&t.storage(), &s));
        if clash { crate::bail!("internal: a kernel output shares its storage with another argument"); }
    }
    Ok(())
}

/// A kernel's own error (a geometry or length it rejects) as a RuntimeError.
pub fn kernel_result(r: std::result::Result<(), String>) -> Result<()> {
    r.map_err(|e| crate::rt_err!("{}", e))
}
