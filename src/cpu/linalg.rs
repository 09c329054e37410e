//! Dense factorizations on faer, one square (or m x n) row-major f64 matrix at a time; the op
//! layer batches, converts dtypes and raises PyTorch's errors from the returned `info`
//! (LAPACK's convention: 0 = success, k > 0 = the 1-based index where the method failed).
use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{MatRef, Side};

fn mat(a: &[f64], m: usize, n: usize) -> MatRef<'_, f64> { MatRef::from_row_major_slice(a, m, n) }

fn write_row_major(src: MatRef<'_, f64>, out: &mut [f64]) {
    let n = src.ncols();
    for i in 0..src.nrows() { for j in 0..n { out[i * n + j] = src[(i, j)]; } }
}

/// First exactly-zero pivot of an LU factorization (1-based), or 0.
fn singular_pivot(u: MatRef<'_, f64>) -> usize {
    (0..u.nrows().min(u.ncols())).find(|&k| u[(k, k)] == 0.0).map_or(0, |k| k + 1)
}

/// Inverse of an n x n matrix into `out`; info = first zero pivot of its LU.
pub fn inverse(a: &[f64], n: usize, out: &mut [f64]) -> usize {
    let lu = mat(a, n, n).partial_piv_lu();
    let info = singular_pivot(lu.U());
    if info == 0 { write_row_major(lu.inverse().as_ref(), out); }
    info
}

/// Solves A X = B (A n x n, B n x k) into `out`; info = first zero pivot of A's LU.
pub fn solve(a: &[f64], n: usize, b: &[f64], k: usize, out: &mut [f64]) -> usize {
    let lu = mat(a, n, n).partial_piv_lu();
    let info = singular_pivot(lu.U());
    if info == 0 { write_row_major(lu.solve(mat(b, n, k)).as_ref(), out); }
    info
}

/// (sign, log|det|) of an n x n matrix from its LU (sign 0 and -inf for a singular one).
pub fn slogdet(a: &[f64], n: usize) -> (f64, f64) {
    if n == 0 { return (1.0, 0.0); }
    let lu = mat(a, n, n).partial_piv_lu();
    let u = lu.U();
    // the permutation's parity: count the cycles of the row permutation
    let perm = lu.P().arrays().0;
    let mut seen = vec![false; n];
    let mut sign = 1.0;
    for s in 0..n {
        if seen[s] { continue; }
        let mut len = 0;
        let mut j = s;
        while !seen[j] { seen[j] = true; j = perm[j]; len += 1; }
        if len % 2 == 0 { sign = -sign; }
    }
    let mut logabs = 0.0;
    for k in 0..n {
        let d = u[(k, k)];
        if d == 0.0 { return (0.0, f64::NEG_INFINITY); }
        if d < 0.0 { sign = -sign; }
        logabs += d.abs().ln();
    }
    (sign, logabs)
}

/// Determinant of an n x n matrix.
pub fn det(a: &[f64], n: usize) -> f64 {
    if n == 0 { return 1.0; }
    mat(a, n, n).determinant()
}

/// Lower Cholesky factor of a symmetric positive-definite matrix (its lower triangle is read);
/// info = order of the first leading minor that is not positive-definite.
pub fn cholesky(a: &[f64], n: usize, out: &mut [f64]) -> usize {
    match mat(a, n, n).llt(Side::Lower) {
        Ok(llt) => { write_row_major(llt.L(), out); 0 }
        Err(_) => {
            // faer does not report where: find the first failing leading minor like LAPACK
            (1..=n).find(|&k| {
                let sub: Vec<f64> = (0..k).flat_map(|i| (0..k).map(move |j| (i, j))).map(|(i, j)| a[i * n + j]).collect();
                mat(&sub, k, k).llt(Side::Lower).is_err()
            }).unwrap_or(n.max(1))
        }
    }
}
