//! Fused kernels for the ops every network calls: softmax and log_softmax over one dim.
use crate::autograd::{self, SaveItem};
use crate::dtype::DType;
use crate::error::{wrap_dim, Result};
use crate::ops::binary::{mul, sub};
use crate::ops::{copy, reduce, shape, unary};
use crate::tensor::Tensor;
use num_traits::Float;
use rayon::prelude::*;

fn softmax_rows<T: Float + Send + Sync + 'static>(data: &mut [T], len: usize, log: bool) {
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() {
        // SAFETY: T is f32 (checked above)
        let d: &mut [f32] = unsafe { std::slice::from_raw_parts_mut(data.as_mut_ptr() as *mut f32, data.len()) };
        let f = if log { crate::cpu::simd::log_softmax_row } else { crate::cpu::simd::softmax_row };
        if d.len() >= crate::cpu::iter::GRAIN && crate::cpu::iter::parallel_ok() { d.par_chunks_mut(len).for_each(f) } else { d.chunks_mut(len).for_each(f) }
        return;
    }
    let work = |row: &mut [T]| {
        let m = row.iter().fold(T::neg_infinity(), |a, &b| if b > a || b.is_nan() { b } else { a });
        // a row whose max is +inf is all NaN (inf - inf), like PyTorch; only -inf is shifted
        let m = if m == T::neg_infinity() { T::zero() } else { m };
        if log {
            let s = row.iter().fold(T::zero(), |a, &v| a + (v - m).exp());
            let ls = s.ln() + m;
            for v in row.iter_mut() { *v = *v - ls; }
        } else {
            let mut s = T::zero();
            for v in row.iter_mut() { *v = (*v - m).exp(); s = s + *v; }
            let inv = T::one() / s;
            for v in row.iter_mut() { *v = *v * inv; }
        }
    };
    if data.len() >= crate::cpu::iter::GRAIN && crate::cpu::iter::parallel_ok() { data.par_chunks_mut(len).for_each(work) } else { data.chunks_mut(len).for_each(work) }
}

/// softmax / log_softmax along `dim` (computed in f32 for half types).
pub fn softmax(x: &Tensor, dim: i64, log: bool, dtype: Option<DType>) -> Result<Tensor> {
    let x = match dtype { Some(d) => copy::to_dtype(x, d)?, None => x.clone() };
    let nd = x.ndim();
    let d = wrap_dim(dim, nd)?;
    if !x.dtype().is_float() {
        // PyTorch's kernel names: the last-dim kernel serves a last (or 0-d) dim
        let kernel = if d + 1 >= nd { "_lastdim_kernel_impl" } else { "_kernel_impl" };
        return Err(crate::error::Error::NotImplemented(format!("\"{}{}\" not implemented for '{}'", if log { "log_softmax" } else { "softmax" }, kernel, x.dtype().legacy_name())));
    }
    let kd = x.dtype().compute();
    let moved = if nd == 0 { x.detach() } else { shape::movedim_raw(&x.detach(), d, nd - 1) };
    let work = copy::contiguous_clone(&copy::contiguous_as(&moved, kd)?)?;
    let len = if nd == 0 { 1 } else { x.shape()[d] };
    if len > 0 {
        // SAFETY: work is a fresh contiguous clone; numel elements of T
        crate::dispatch_float!(kd, T => unsafe {
            let b = work.body();
            let s = std::slice::from_raw_parts_mut(b.data_ptr() as *mut T, b.numel());
            softmax_rows::<T>(s, len, log);
        });
    }
    let back = if nd == 0 { work } else { shape::movedim_raw(&work, nd - 1, d) };
    let out = copy::contiguous_as(&back, x.dtype())?;
    let out = if out.is_contiguous() { out } else { copy::contiguous_clone(&out)? };
    if autograd::needs_grad(&[&x]) {
        let di = d as i64;
        autograd::record(if log { "LogSoftmaxBackward0" } else { "SoftmaxBackward0" }, &[&x], &[&out], vec![SaveItem::Output(0)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let y = &s[0];
            let gi = if log {
                // g - softmax * sum(g)
                let sm = unary::unary(unary::UnaryOp::Exp, y)?;
                sub(g, &mul(&sm, &reduce::sum(g, Some(&[di]), true, None)?)?)?
            } else {
                let gy = mul(g, y)?;
                sub(&gy, &mul(y, &reduce::sum(&gy, Some(&[di]), true, None)?)?)?
            };
            Ok(vec![Some(gi)])
        }));
    }
    Ok(out)
}
