//! Contiguous conversions between float32 and the 16-bit floats (`.half()`, `.bfloat16()`,
//! `.float()`, autocast's casts). The generic cast goes through f64 one element at a time
//! (0.72 ms for 512K floats to float16, PyTorch 0.12); these loops convert slices: float16
//! with the F16C instructions through `half` (which checks the CPU at run time), bfloat16 with
//! integer arithmetic the compiler vectorises.
use crate::dtype::{bf16_from_f32, DType};
use crate::error::Result;
use crate::tensor::Body;
use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use rayon::prelude::*;

/// Converts `s` into `d` when both are contiguous views of one shape and the pair is one of
/// f32 <-> f16 / bf16; `Ok(false)` leaves every other pair to the generic cast. The views
/// must not overlap (the ops layer copies overlapping operands through a temporary).
pub fn halves(d: &Body, s: &Body) -> Result<bool> {
    use super::strided::{read, write};
    use DType::*;
    if d.shape != s.shape || !d.is_contiguous() || !s.is_contiguous() { return Ok(false); }
    match (s.dtype, d.dtype) {
        (F32, F16) => read::<f32, _>(s, |src| write::<f16, _>(d, |dst| chunked(src, dst, |a, b| b.convert_from_f32_slice(a))))???,
        (F16, F32) => read::<f16, _>(s, |src| write::<f32, _>(d, |dst| chunked(src, dst, |a, b| a.convert_to_f32_slice(b))))???,
        (F32, BF16) => read::<f32, _>(s, |src| write::<bf16, _>(d, |dst| chunked(src, dst, to_bf16)))???,
        (BF16, F32) => read::<bf16, _>(s, |src| write::<f32, _>(d, |dst| chunked(src, dst, from_bf16)))???,
        _ => return Ok(false),
    }
    Ok(true)
}

/// `f` over matching chunks of `src` and `dst` (equal lengths), across the pool when large.
fn chunked<S: Sync, D: Send>(src: &[S], dst: &mut [D], f: impl Fn(&[S], &mut [D]) + Sync) -> Result<()> {
    if src.len() != dst.len() { crate::bail!("internal: conversion of {} elements into {}", src.len(), dst.len()); }
    if src.len() >= super::iter::GRAIN && super::iter::parallel_ok() {
        let chunk = src.len().div_ceil(rayon::current_num_threads() * 4).max(4096);
        dst.par_chunks_mut(chunk).zip(src.par_chunks(chunk)).for_each(|(d, s)| f(s, d));
    } else {
        f(src, dst);
    }
    Ok(())
}

super::simd::multiversion! {
    pub fn to_bf16(src: &[f32], dst: &mut [bf16]) {
        for (d, &x) in dst.iter_mut().zip(src) { *d = bf16_from_f32(x); }
    }
}

super::simd::multiversion! {
    /// Exact: a bfloat16 is the top half of an f32's bits.
    pub fn from_bf16(src: &[bf16], dst: &mut [f32]) {
        for (d, &x) in dst.iter_mut().zip(src) { *d = f32::from_bits((x.to_bits() as u32) << 16); }
    }
}
