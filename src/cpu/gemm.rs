//! Matrix-multiply kernels on the `gemm` crate (runtime SIMD dispatch: AVX2/FMA, AVX-512 where
//! compiled in, baseline otherwise). Every caller goes through `gemm_checked`, which proves the
//! operands lie inside their slices before the crate reads raw pointers.

/// A strided matrix view over a slice: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub struct Mat<'a, T> { pub data: &'a [T], pub rows: usize, pub cols: usize, pub rs: usize, pub cs: usize }

impl<'a, T> Mat<'a, T> {
    /// Row-major (contiguous) `rows x cols` matrix.
    pub fn rm(data: &'a [T], rows: usize, cols: usize) -> Self { Mat { data, rows, cols, rs: cols, cs: 1 } }
    /// The transpose of a row-major `rows x cols` matrix, i.e. a `cols x rows` view.
    pub fn rm_t(data: &'a [T], rows: usize, cols: usize) -> Self { Mat { data, rows: cols, cols: rows, rs: 1, cs: cols } }
}

/// Largest index a `rows x cols` matrix with strides (rs, cs) touches, if it fits a usize.
fn last_index(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 { return Some(0); }
    (rows - 1).checked_mul(rs)?.checked_add((cols - 1).checked_mul(cs)?)
}

/// Whether a kernel may use the rayon pool for `flops` multiply-adds (small products run
/// faster on one thread than the pool's wake-up costs).
pub fn parallelism(flops: usize) -> gemm::Parallelism {
    if flops >= 1 << 21 && super::iter::parallel_ok() { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None }
}

/// dst (m x n, row-major with row stride `dst_rs`) = [dst if accumulate] + a (m x k) @ b (k x n).
/// Panics never: a size that does not fit its slice is reported as an error string.
pub fn gemm_checked<T: 'static + Copy + num_traits::Zero + num_traits::One>(
    dst: &mut [T], dst_rs: usize, a: Mat<T>, b: Mat<T>, accumulate: bool, par: gemm::Parallelism,
) -> Result<(), String> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k { return Err(format!("gemm: inner sizes differ ({} vs {})", k, b.rows)); }
    if m == 0 || n == 0 { return Ok(()); }
    let fits = |len: usize, r, c, rs, cs| last_index(r, c, rs, cs).is_some_and(|i| r == 0 || c == 0 || i < len);
    if !fits(dst.len(), m, n, dst_rs, 1) || !fits(a.data.len(), m, k, a.rs, a.cs) || !fits(b.data.len(), k, n, b.rs, b.cs) {
        return Err("gemm: operand outside its buffer".into());
    }
    if k == 0 {
        if !accumulate { for i in 0..m { dst[i * dst_rs..i * dst_rs + n].fill(T::zero()); } }
        return Ok(());
    }
    for s in [dst_rs, a.rs, a.cs, b.rs, b.cs] { if s > isize::MAX as usize { return Err("gemm: stride overflow".into()); } }
    // SAFETY: every element gemm touches, dst[(i, j)] for i < m, j < n and the a/b elements for
    // their index ranges, lies at an index at most the last_index checked against each slice's
    // length above; the strides fit isize; dst is borrowed mutably and cannot alias a or b.
    unsafe {
        gemm::gemm(
            m, n, k,
            dst.as_mut_ptr(), 1, dst_rs as isize, accumulate,
            a.data.as_ptr(), a.cs as isize, a.rs as isize,
            b.data.as_ptr(), b.cs as isize, b.rs as isize,
            if accumulate { T::one() } else { T::zero() }, T::one(), false, false, false, par,
        );
    }
    Ok(())
}
