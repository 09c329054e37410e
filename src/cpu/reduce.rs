//! Reduction kernels over contiguous rows.
use rayon::prelude::*;

/// out[j] = sum_i x[i * cols + j] for a contiguous rows x cols f32 matrix: whole rows are added
/// into the accumulator (vectorised), column blocks spread over the pool. Accumulates in f32
/// blocks of 64 rows summed in f64, so long columns keep PyTorch-level accuracy.
pub fn column_sums_f32(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) -> Result<(), String> {
    if out.len() != cols || x.len() != rows.checked_mul(cols).ok_or("column_sums: size overflow")? {
        return Err(format!("column_sums: {} values for a {}x{} matrix", x.len(), rows, cols));
    }
    const BLOCK: usize = 64;
    let work = |(c0, o): (usize, &mut [f32])| {
        let w = o.len();
        let mut total = vec![0f64; w];
        let mut part = vec![0f32; w];
        for r0 in (0..rows).step_by(BLOCK) {
            part.fill(0.0);
            for r in r0..(r0 + BLOCK).min(rows) {
                super::simd::add_assign_f32(&mut part, &x[r * cols + c0..r * cols + c0 + w]);
            }
            for (t, &p) in total.iter_mut().zip(&part) { *t += p as f64; }
        }
        for (o, t) in o.iter_mut().zip(&total) { *o = *t as f32; }
    };
    let chunk = 1024usize;
    if rows * cols >= super::iter::GRAIN && cols > chunk && super::iter::parallel_ok() {
        out.par_chunks_mut(chunk).enumerate().map(|(i, o)| (i * chunk, o)).for_each(work);
    } else {
        out.chunks_mut(chunk).enumerate().map(|(i, o)| (i * chunk, o)).for_each(work);
    }
    Ok(())
}
