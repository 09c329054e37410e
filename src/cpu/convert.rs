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
        (F32, F16) => read::<f32, _>(s, |src| write::<f16, _>(d, |dst| chunked(src, dst, to_f16)))???,
        (F16, F32) => read::<f16, _>(s, |src| write::<f32, _>(d, |dst| chunked(src, dst, from_f16)))???,
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

/// float16 -> f32 (exact). AVX-512 converts 16 per instruction; elsewhere `half`'s slice
/// conversion (F16C, 4 or 8 at a time, when the CPU has it): 2^19 values took 238 µs through
/// `half` on the AVX-512 Xeon, PyTorch 112.
pub fn from_f16(src: &[f16], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::has_avx512() && src.len() == dst.len() {
        // SAFETY: AVX-512 was detected; the lengths are equal
        unsafe { from_f16_avx512(src, dst) };
        return;
    }
    src.convert_to_f32_slice(dst)
}

/// f32 -> float16, rounding to nearest even (overflow to inf, NaN kept), as PyTorch's.
pub fn to_f16(src: &[f32], dst: &mut [f16]) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::has_avx512() && src.len() == dst.len() {
        // SAFETY: AVX-512 was detected; the lengths are equal
        unsafe { to_f16_avx512(src, dst) };
        return;
    }
    dst.convert_from_f32_slice(src)
}

/// # Safety
/// AVX-512F present; `src.len() == dst.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn from_f16_avx512(src: &[f16], dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = src.len();
    let (s, d) = (src.as_ptr() as *const u16, dst.as_mut_ptr());
    let full = n / 16 * 16;
    let mut i = 0;
    while i < full {
        _mm512_storeu_ps(d.add(i), _mm512_cvtph_ps(_mm256_loadu_si256(s.add(i) as *const __m256i)));
        i += 16;
    }
    if i < n {
        // the last piece under a lane mask: loads and stores touch only elements < n
        let mask: u16 = (1u16 << (n - i)) - 1;
        let h = _mm256_maskz_loadu_epi16(mask, s.add(i) as *const i16);
        _mm512_mask_storeu_ps(d.add(i), mask, _mm512_cvtph_ps(h));
    }
}

/// # Safety
/// AVX-512F present; `src.len() == dst.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn to_f16_avx512(src: &[f32], dst: &mut [f16]) {
    use std::arch::x86_64::*;
    let n = src.len();
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr() as *mut u16);
    const RNE: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    let full = n / 16 * 16;
    let mut i = 0;
    while i < full {
        _mm256_storeu_si256(d.add(i) as *mut __m256i, _mm512_cvtps_ph::<RNE>(_mm512_loadu_ps(s.add(i))));
        i += 16;
    }
    if i < n {
        // the last piece under a lane mask: loads and stores touch only elements < n
        let mask: u16 = (1u16 << (n - i)) - 1;
        let h = _mm512_cvtps_ph::<RNE>(_mm512_maskz_loadu_ps(mask, s.add(i)));
        _mm256_mask_storeu_epi16(d.add(i) as *mut i16, mask, h);
    }
}

/// Elements per block of a float16/bfloat16 binary op: its three f32 blocks (12 KiB) stay in L1.
const HALF_BLOCK: usize = 1024;

/// A 16-bit float type whose slices convert to and from f32 a block at a time.
pub trait HalfBlocks: Copy + Send + Sync + 'static {
    fn widen(src: &[Self], dst: &mut [f32]);
    fn narrow(src: &[f32], dst: &mut [Self]);
}
impl HalfBlocks for f16 {
    fn widen(src: &[Self], dst: &mut [f32]) { from_f16(src, dst) }
    fn narrow(src: &[f32], dst: &mut [Self]) { to_f16(src, dst) }
}
impl HalfBlocks for bf16 {
    fn widen(src: &[Self], dst: &mut [f32]) { from_bf16(src, dst) }
    fn narrow(src: &[f32], dst: &mut [Self]) { to_bf16(src, dst) }
}

/// One operand of `half_binary`: a contiguous slice as long as the output, or one value.
#[derive(Clone, Copy)]
pub enum HalfArg<'a, H> { Slice(&'a [H]), Value(f32) }

/// out = f(a, b) for float16/bfloat16 operands computed in f32 and rounded once, as PyTorch
/// computes them: blocks of each operand are widened, `f` runs over the f32 block, and the
/// result is narrowed. (Widening whole tensors first cost three passes and two temporaries:
/// float16 `a + b` at 6.6x PyTorch's time.) `f` writes its third slice from the first two.
pub fn half_binary<H: HalfBlocks>(out: &mut [H], a: HalfArg<H>, b: HalfArg<H>, f: impl Fn(&[f32], &[f32], &mut [f32]) + Sync) -> Result<()> {
    let n = out.len();
    for arg in [a, b] {
        if let HalfArg::Slice(s) = arg { if s.len() != n { crate::bail!("internal: half-precision operand of {} elements for {}", s.len(), n); } }
    }
    let block = |bufs: &mut Vec<f32>, start: usize, dst: &mut [H]| {
        let len = dst.len();
        let (xa, rest) = bufs.split_at_mut(HALF_BLOCK);
        let (xb, xo) = rest.split_at_mut(HALF_BLOCK);
        let (xa, xb, xo) = (&mut xa[..len], &mut xb[..len], &mut xo[..len]);
        for (arg, buf) in [(a, &mut *xa), (b, &mut *xb)] {
            match arg { HalfArg::Slice(s) => H::widen(&s[start..start + len], buf), HalfArg::Value(v) => buf.fill(v) }
        }
        f(xa, xb, xo);
        H::narrow(xo, dst);
    };
    // each task's three blocks are allocated once
    let bufs = || vec![0f32; 3 * HALF_BLOCK];
    if n >= super::iter::GRAIN && super::iter::parallel_ok() {
        out.par_chunks_mut(HALF_BLOCK).enumerate().for_each_init(bufs, |b, (i, d)| block(b, i * HALF_BLOCK, d));
    } else {
        let mut b = bufs();
        for (i, d) in out.chunks_mut(HALF_BLOCK).enumerate() { block(&mut b, i * HALF_BLOCK, d) }
    }
    Ok(())
}
