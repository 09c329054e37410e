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

/// Writes the n x n identity into `out` (row-major; an empty `out` is left alone).
fn identity(out: &mut [f64], n: usize) {
    if out.len() < n * n { return; }
    out[..n * n].fill(0.0);
    for i in 0..n { out[i * n + i] = 1.0; }
}

/// Runs `f` with faer's parallelism following `torch.set_num_threads` (serial at 1 thread).
fn with_threads<R>(f: impl FnOnce() -> R) -> R {
    faer::set_global_parallelism(if super::iter::parallel_ok() { faer::Par::rayon(0) } else { faer::Par::Seq });
    f()
}

/// Householder QR of an m x n matrix (LAPACK's sign convention: R's diagonal has the opposite
/// sign of each reflected column's leading element). Reduced: Q m x k, R k x n (k = min(m, n));
/// complete: Q m x m, R m x n with zero rows below k. `q` is empty when Q is not wanted.
pub fn qr(a: &[f64], m: usize, n: usize, complete: bool, q: &mut [f64], r: &mut [f64]) {
    if m.min(n) == 0 {
        // nothing to reflect: a complete Q is the identity (as LAPACK's orgqr gives)
        if complete { identity(q, m) }
        return;
    }
    let f = with_threads(|| mat(a, m, n).qr());
    // thin_R is k x n: written row-major it fills the first k rows of a complete R
    write_row_major(f.thin_R(), r);
    if q.is_empty() { return; }
    if complete { write_row_major(f.compute_Q().as_ref(), q) } else { write_row_major(f.compute_thin_Q().as_ref(), q) }
}

/// Singular values (descending) and, when `vectors`, the singular vectors
/// (thin: U m x k, Vh k x n; full: U m x m, Vh n x n). info 1 when the iteration did not
/// converge (faer reports it for non-finite input).
pub fn svd(a: &[f64], m: usize, n: usize, full: bool, vectors: bool, u: &mut [f64], s: &mut [f64], vh: &mut [f64]) -> usize {
    if m.min(n) == 0 {
        // no singular values: full factors are identities, as LAPACK gives
        if full && vectors { identity(u, m); identity(vh, n); }
        return 0;
    }
    let a = mat(a, m, n);
    if !vectors {
        return match with_threads(|| a.singular_values()) { Ok(v) => { s.copy_from_slice(&v); 0 } Err(_) => 1 };
    }
    let f = match with_threads(|| if full { a.svd() } else { a.thin_svd() }) { Ok(f) => f, Err(_) => return 1 };
    for (d, v) in s.iter_mut().zip(f.S().column_vector().iter()) { *d = *v; }
    write_row_major(f.U(), u);
    write_row_major(f.V().transpose(), vh);
    0
}

/// Eigenvalues (ascending) of a symmetric matrix read from its lower (or upper) triangle and,
/// when `v` is non-empty, its eigenvectors as columns. info 1 when the iteration did not converge.
pub fn eigh(a: &[f64], n: usize, upper: bool, w: &mut [f64], v: &mut [f64]) -> usize {
    let (a, side) = (mat(a, n, n), if upper { Side::Upper } else { Side::Lower });
    if v.is_empty() {
        return match with_threads(|| a.self_adjoint_eigenvalues(side)) { Ok(x) => { w.copy_from_slice(&x); 0 } Err(_) => 1 };
    }
    let f = match with_threads(|| a.self_adjoint_eigen(side)) { Ok(f) => f, Err(_) => return 1 };
    for (d, x) in w.iter_mut().zip(f.S().column_vector().iter()) { *d = *x; }
    write_row_major(f.U(), v);
    0
}
