//! FFT kernels on rustfft: batched 1-D complex transforms over the rows of a contiguous buffer.
use crate::dtype::Cplx;
use num_complex::Complex;
use rayon::prelude::*;
use rustfft::{FftNum, FftPlanner};

/// Transforms each length-`n` row of `rows` in place (forward: exp(-2 pi i jk/n); inverse:
/// exp(+2 pi i jk/n), unnormalized), then multiplies by `scale` unless it is 1.
pub fn c2c_rows<F: FftNum + num_traits::Float>(rows: &mut [Cplx<F>], n: usize, inverse: bool, scale: F) {
    if n == 0 || rows.is_empty() { return; }
    // SAFETY: Cplx<F> is repr(transparent) over Complex<F>, so the slices have the same layout.
    let data: &mut [Complex<F>] = unsafe { std::slice::from_raw_parts_mut(rows.as_mut_ptr() as *mut Complex<F>, rows.len()) };
    let plan = if inverse { FftPlanner::<F>::new().plan_fft_inverse(n) } else { FftPlanner::<F>::new().plan_fft_forward(n) };
    let nrows = data.len() / n;
    let scale_rows = |chunk: &mut [Complex<F>]| {
        if scale != F::one() { for v in chunk.iter_mut() { *v = *v * scale; } }
    };
    if nrows > 1 && data.len() >= crate::cpu::iter::GRAIN / 4 && crate::cpu::iter::parallel_ok() {
        // a few rows per task, each with its own scratch
        let per = nrows.div_ceil(rayon::current_num_threads() * 4).max(1);
        data.par_chunks_mut(per * n).for_each(|chunk| {
            let mut scratch = vec![Complex::new(F::zero(), F::zero()); plan.get_inplace_scratch_len()];
            plan.process_with_scratch(chunk, &mut scratch);
            scale_rows(chunk);
        });
    } else {
        let mut scratch = vec![Complex::new(F::zero(), F::zero()); plan.get_inplace_scratch_len()];
        plan.process_with_scratch(data, &mut scratch);
        scale_rows(data);
    }
}
