//! Dense factorizations on faer, one row-major matrix at a time, real (f64) or complex (c64):
//! the op layer batches, converts dtypes and raises PyTorch's errors from the returned `info`
//! (LAPACK's convention: 0 = success, k > 0 = the 1-based index where the method failed).
use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{c64, MatRef, Side};

/// The element types the factorizations run in: f64 for real tensors, c64 for complex ones.
pub trait Field: faer::traits::ComplexField<Real = f64> + faer::traits::Conjugate<Canonical = Self> + Copy + PartialEq
    + num_traits::Zero + num_traits::One + std::ops::Add<Output = Self> + std::ops::Sub<Output = Self> + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self> + std::ops::Neg<Output = Self> + Send + Sync + 'static {
    /// |x|
    fn modulus(self) -> f64;
    /// x / |x| (the sign of a real), 1 at 0
    fn phase(self) -> Self;
    fn real(self) -> f64;
    fn imag(self) -> f64;
    fn conj(self) -> Self;
    fn from_real(x: f64) -> Self;
    fn to_c64(self) -> c64;
    const COMPLEX: bool;
}

impl Field for f64 {
    fn modulus(self) -> f64 { self.abs() }
    fn phase(self) -> Self { if self < 0.0 { -1.0 } else { 1.0 } }
    fn real(self) -> f64 { self }
    fn imag(self) -> f64 { 0.0 }
    fn conj(self) -> Self { self }
    fn from_real(x: f64) -> Self { x }
    fn to_c64(self) -> c64 { c64::new(self, 0.0) }
    const COMPLEX: bool = false;
}

impl Field for c64 {
    fn modulus(self) -> f64 { self.norm() }
    fn phase(self) -> Self { let r = self.norm(); if r == 0.0 { c64::new(1.0, 0.0) } else { self / r } }
    fn real(self) -> f64 { self.re }
    fn imag(self) -> f64 { self.im }
    fn conj(self) -> Self { num_complex::Complex::conj(&self) }
    fn from_real(x: f64) -> Self { c64::new(x, 0.0) }
    fn to_c64(self) -> c64 { self }
    const COMPLEX: bool = true;
}

fn mat<E: Field>(a: &[E], m: usize, n: usize) -> MatRef<'_, E> { MatRef::from_row_major_slice(a, m, n) }

fn write_row_major<E: Field>(src: MatRef<'_, E>, out: &mut [E]) {
    let n = src.ncols();
    for i in 0..src.nrows() { for j in 0..n { out[i * n + j] = src[(i, j)]; } }
}

/// First exactly-zero pivot of an LU factorization (1-based), or 0.
fn singular_pivot<E: Field>(u: MatRef<'_, E>) -> usize {
    (0..u.nrows().min(u.ncols())).find(|&k| u[(k, k)] == E::zero()).map_or(0, |k| k + 1)
}

/// Inverse of an n x n matrix into `out`; info = first zero pivot of its LU.
pub fn inverse<E: Field>(a: &[E], n: usize, out: &mut [E]) -> usize {
    let lu = mat(a, n, n).partial_piv_lu();
    let info = singular_pivot(lu.U());
    if info == 0 { write_row_major(lu.inverse().as_ref(), out); }
    info
}

/// Solves A X = B (A n x n, B n x k) into `out`; info = first zero pivot of A's LU.
pub fn solve<E: Field>(a: &[E], n: usize, b: &[E], k: usize, out: &mut [E]) -> usize {
    let lu = mat(a, n, n).partial_piv_lu();
    let info = singular_pivot(lu.U());
    if info == 0 { write_row_major(lu.solve(mat(b, n, k)).as_ref(), out); }
    info
}

/// (sign, log|det|) of an n x n matrix from its LU (sign 0 and -inf for a singular one); the
/// sign of a complex determinant is its phase det/|det|.
pub fn slogdet<E: Field>(a: &[E], n: usize) -> (E, f64) {
    if n == 0 { return (E::one(), 0.0); }
    let lu = mat(a, n, n).partial_piv_lu();
    let u = lu.U();
    // the permutation's parity: count the cycles of the row permutation
    let perm = lu.P().arrays().0;
    let mut seen = vec![false; n];
    let mut sign = E::one();
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
        if d == E::zero() { return (E::zero(), f64::NEG_INFINITY); }
        sign = sign * d.phase();
        logabs += d.modulus().ln();
    }
    (sign, logabs)
}

/// Determinant of an n x n matrix.
pub fn det<E: Field>(a: &[E], n: usize) -> E {
    if n == 0 { return E::one(); }
    mat(a, n, n).determinant()
}

/// Lower Cholesky factor of a symmetric (Hermitian) positive-definite matrix (its lower triangle
/// is read); info = order of the first leading minor that is not positive-definite.
pub fn cholesky<E: Field>(a: &[E], n: usize, out: &mut [E]) -> usize {
    match mat(a, n, n).llt(Side::Lower) {
        Ok(llt) => { write_row_major(llt.L(), out); 0 }
        Err(_) => {
            // faer does not report where: find the first failing leading minor like LAPACK
            (1..=n).find(|&k| {
                let sub: Vec<E> = (0..k).flat_map(|i| (0..k).map(move |j| (i, j))).map(|(i, j)| a[i * n + j]).collect();
                mat(&sub, k, k).llt(Side::Lower).is_err()
            }).unwrap_or(n.max(1))
        }
    }
}

/// Writes the n x n identity into `out` (row-major; an empty `out` is left alone).
fn identity<E: Field>(out: &mut [E], n: usize) {
    if out.len() < n * n { return; }
    out[..n * n].fill(E::zero());
    for i in 0..n { out[i * n + i] = E::one(); }
}

/// Runs `f` with faer's parallelism following `torch.set_num_threads` (serial at 1 thread).
fn with_threads<R>(f: impl FnOnce() -> R) -> R {
    faer::set_global_parallelism(if super::iter::parallel_ok() { faer::Par::rayon(0) } else { faer::Par::Seq });
    f()
}

/// Householder QR of an m x n matrix (LAPACK's sign convention: R's diagonal has the opposite
/// sign of each reflected column's leading element). Reduced: Q m x k, R k x n (k = min(m, n));
/// complete: Q m x m, R m x n with zero rows below k. `q` is empty when Q is not wanted.
pub fn qr<E: Field>(a: &[E], m: usize, n: usize, complete: bool, q: &mut [E], r: &mut [E]) {
    if m.min(n) == 0 {
        // nothing to reflect: a complete Q is the identity (as LAPACK's orgqr gives)
        if complete { identity(q, m) }
        return;
    }
    if E::COMPLEX {
        // faer's complex reflectors leave R's diagonal complex, and their choice changes every
        // later column: LAPACK's algorithm, run as such, gives PyTorch's (and NumPy's) factors
        return householder_qr(a, m, n, complete, q, r);
    }
    let f = with_threads(|| mat(a, m, n).qr());
    // thin_R is k x n: written row-major it fills the first k rows of a complete R
    write_row_major(f.thin_R(), r);
    if q.is_empty() { return; }
    if complete { write_row_major(f.compute_Q().as_ref(), q) } else { write_row_major(f.compute_thin_Q().as_ref(), q) }
}

/// Unblocked Householder QR as LAPACK's geqr2 + ung2r compute it (larfg's reflectors:
/// beta = -sign(Re alpha) |x|, a real R diagonal), for the complex case, where faer's
/// reflectors differ. Same outputs as `qr`. O(m n min(m, n)) without blocking: fine for the
/// sizes complex QR is asked for here, and exact agreement with PyTorch is the point.
fn householder_qr<E: Field>(a: &[E], m: usize, n: usize, complete: bool, q: &mut [E], r: &mut [E]) {
    let k = m.min(n);
    let mut w = a[..m * n].to_vec();
    let mut taus = vec![E::zero(); k];
    for j in 0..k {
        let alpha = w[j * n + j];
        let xnorm = (j + 1..m).map(|i| { let v = w[i * n + j].modulus(); v * v }).sum::<f64>().sqrt();
        if xnorm == 0.0 && alpha.imag() == 0.0 { continue; } // H = I (tau = 0)
        let norm = alpha.modulus().hypot(xnorm);
        let beta = if alpha.real().is_sign_negative() { norm } else { -norm };
        let inv_beta = E::from_real(1.0 / beta);
        taus[j] = (E::from_real(beta) - alpha) * inv_beta;
        let scale = E::one() / (alpha - E::from_real(beta));
        for i in j + 1..m { w[i * n + j] = w[i * n + j] * scale; }
        w[j * n + j] = E::from_real(beta);
        // A[j.., c] = (I - conj(tau) v v^H) A[j.., c] for the columns to the right (v_j = 1)
        let ct = taus[j].conj();
        for c in j + 1..n {
            let mut s = w[j * n + c];
            for i in j + 1..m { s = s + w[i * n + j].conj() * w[i * n + c]; }
            let s = s * ct;
            w[j * n + c] = w[j * n + c] - s;
            for i in j + 1..m { let v = w[i * n + j]; w[i * n + c] = w[i * n + c] - v * s; }
        }
    }
    for i in 0..k { for c in i..n { r[i * n + c] = w[i * n + c]; } }
    if q.is_empty() { return; }
    // Q = H_1 ... H_k applied to the identity's first qc columns, last reflector first
    let qc = if complete { m } else { k };
    q[..m * qc].fill(E::zero());
    for i in 0..qc { q[i * qc + i] = E::one(); }
    for j in (0..k).rev() {
        let tau = taus[j];
        if tau == E::zero() { continue; }
        for c in 0..qc {
            let mut s = q[j * qc + c];
            for i in j + 1..m { s = s + w[i * n + j].conj() * q[i * qc + c]; }
            let s = s * tau;
            q[j * qc + c] = q[j * qc + c] - s;
            for i in j + 1..m { let v = w[i * n + j]; q[i * qc + c] = q[i * qc + c] - v * s; }
        }
    }
}

/// Singular values (descending) and, when `vectors`, the singular vectors
/// (thin: U m x k, Vh k x n; full: U m x m, Vh n x n). info 1 when the iteration did not
/// converge (faer reports it for non-finite input).
pub fn svd<E: Field>(a: &[E], m: usize, n: usize, full: bool, vectors: bool, u: &mut [E], s: &mut [f64], vh: &mut [E]) -> usize {
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
    for (d, v) in s.iter_mut().zip(f.S().column_vector().iter()) { *d = v.real(); }
    write_row_major(f.U(), u);
    // Vh is V's conjugate transpose
    let vt = f.V().transpose();
    for i in 0..vt.nrows() { for j in 0..vt.ncols() { vh[i * vt.ncols() + j] = vt[(i, j)].conj(); } }
    0
}

/// Eigenvalues (ascending) of a symmetric (Hermitian) matrix read from its lower (or upper) triangle and,
/// when `v` is non-empty, its eigenvectors as columns. info 1 when the iteration did not converge.
pub fn eigh<E: Field>(a: &[E], n: usize, upper: bool, w: &mut [f64], v: &mut [E]) -> usize {
    let (a, side) = (mat(a, n, n), if upper { Side::Upper } else { Side::Lower });
    if v.is_empty() {
        return match with_threads(|| a.self_adjoint_eigenvalues(side)) { Ok(x) => { w.copy_from_slice(&x); 0 } Err(_) => 1 };
    }
    let f = match with_threads(|| a.self_adjoint_eigen(side)) { Ok(f) => f, Err(_) => return 1 };
    for (d, x) in w.iter_mut().zip(f.S().column_vector().iter()) { *d = x.real(); }
    write_row_major(f.U(), v);
    0
}

/// Eigenvalues and, when `v` is non-empty, eigenvectors (as columns) of a general n x n matrix,
/// both complex. Each eigenvector is scaled to unit norm with its largest component real, as
/// LAPACK's geev gives them. info 1 when the iteration did not converge (non-finite input).
pub fn eig<E: Field>(a: &[E], n: usize, w: &mut [c64], v: &mut [c64]) -> usize {
    // PyTorch refuses non-finite input up front; the iteration is never started on it
    if a.iter().any(|x| { let z = x.to_c64(); !(z.re.is_finite() && z.im.is_finite()) }) { return 1; }
    let a = mat(a, n, n);
    if v.is_empty() {
        return match with_threads(|| a.eigenvalues()) { Ok(x) => { w.copy_from_slice(&x); 0 } Err(_) => 1 };
    }
    let f = match with_threads(|| a.eigen()) { Ok(f) => f, Err(_) => return 1 };
    for (d, x) in w.iter_mut().zip(f.S().column_vector().iter()) { *d = *x; }
    let u = f.U();
    for j in 0..n {
        let norm = (0..n).map(|i| u[(i, j)].norm_sqr()).sum::<f64>().sqrt();
        // the first component of largest modulus
        let mut big = 0;
        for i in 1..n { if u[(i, j)].norm() > u[(big, j)].norm() { big = i; } }
        // rotate the largest component onto the positive real axis (a real vector keeps its sign)
        let lead = u[(big, j)];
        let rot = if lead.im == 0.0 || lead.norm() == 0.0 { c64::new(1.0, 0.0) } else { lead.conj() / lead.norm() };
        let scale = if norm > 0.0 { rot / norm } else { rot };
        for i in 0..n { v[i * n + j] = u[(i, j)] * scale; }
    }
    0
}
