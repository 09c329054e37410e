//! Matrix products on the `gemm` crate (runtime SIMD dispatch, rayon threads). Every matmul
//! variant reduces to one batched kernel; backward formulas are matmuls themselves.
use crate::autograd::{self, SaveItem};
use crate::backend::backend_of;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::{copy, shape};
use crate::tensor::{Shape, Tensor};

/// out[b] = a[b] @ c[b] for 3-D a [B,m,k], c [B,k,n] (any strides), no autograd.
fn bmm_raw(a: &Tensor, c: &Tensor) -> Result<Tensor> {
    let dt = a.dtype();
    if dt == DType::Bool {
        // an empty inner dim needs no arithmetic: PyTorch returns all-False
        if a.shape()[2] == 0 { return Tensor::zeros(&[a.shape()[0], a.shape()[1], c.shape()[2]], DType::Bool); }
        return Err(Error::NotImplemented("\"addmm_impl_cpu_\" not implemented for 'Bool'".into()));
    }
    if !dt.is_float() { return bmm_int(a, c); }
    let kd = match dt { DType::F32 | DType::F64 => dt, _ => DType::F32 };
    let a2 = if a.dtype() == kd { a.clone() } else { copy::contiguous_as(a, kd)? };
    let c2 = if c.dtype() == kd { c.clone() } else { copy::contiguous_as(c, kd)? };
    let (ab, cb) = (a2.body(), c2.body());
    let (bsz, m, k, n) = (ab.shape[0], ab.shape[1], ab.shape[2], cb.shape[2]);
    let out = Tensor::empty(&[bsz, m, n], kd)?;
    if m * n == 0 { return Ok(if kd == dt { out } else { copy::contiguous_as(&out, dt)? }); }
    if k == 0 { copy::fill_raw(&out, 0.0)?; return Ok(copy::contiguous_as(&out, dt)?); }
    crate::backend::backend_of(&[&a2, &c2, &out])?.bmm(&out, &a2, &c2)?;
    Ok(if kd == dt { out } else { copy::contiguous_as(&out, dt)? })
}

/// Integer batched matmul with PyTorch's wrapping semantics: products and sums wrap in the
/// tensor's own width, which equals computing in wrapping i64 and truncating.
fn bmm_int(a: &Tensor, c: &Tensor) -> Result<Tensor> {
    let dt = a.dtype();
    let a2 = copy::contiguous_as(a, DType::I64)?;
    let c2 = copy::contiguous_as(c, DType::I64)?;
    let (ash, csh) = (a2.shape(), c2.shape());
    let be = backend_of(&[&a2, &c2])?;
    let out = Tensor::alloc_on(&[ash[0], ash[1], csh[2]], DType::I64, be.device(), false)?;
    be.bmm(&out, &a2, &c2)?;
    copy::contiguous_as(&out, dt)
}

fn check_same_dtype(a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(Error::Runtime(format!("expected m1 and m2 to have the same dtype, but got: {} != {}", ctype(a.dtype()), ctype(b.dtype()))));
    }
    Ok(())
}
fn ctype(d: DType) -> &'static str {
    match d { DType::F32 => "float", DType::F64 => "double", DType::I64 => "long int", DType::I32 => "int", DType::F16 => "c10::Half", DType::BF16 => "c10::BFloat16", DType::Bool => "bool", DType::U8 => "unsigned char", DType::I8 => "signed char", DType::I16 => "short int", DType::C64 => "c10::complex<float>", DType::C128 => "c10::complex<double>" }
}

/// Batched matmul of [B,m,k] x [B,k,n] with autograd (BmmBackward0 / MmBackward0).
fn bmm_grad(a: &Tensor, c: &Tensor, name: &'static str) -> Result<Tensor> {
    let out = bmm_raw(a, c)?;
    if out.dtype().is_float() && autograd::needs_grad(&[a, c]) {
        autograd::record(name, &[a, c], &[&out], vec![SaveItem::Input(a), SaveItem::Input(c)], Box::new(|s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None, None]) };
            let ga = bmm_grad(g, &shape::transpose(&s[1], 1, 2)?, "BmmBackward0")?;
            let gc = bmm_grad(&shape::transpose(&s[0], 1, 2)?, g, "BmmBackward0")?;
            Ok(vec![Some(ga), Some(gc)])
        }));
    }
    Ok(out)
}

pub fn mm(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.ndim() != 2 { return Err(Error::Runtime(format!("self must be a matrix"))); }
    if b.ndim() != 2 { return Err(Error::Runtime(format!("mat2 must be a matrix"))); }
    let (sa, sb) = (a.shape(), b.shape());
    if sa[1] != sb[0] {
        return Err(Error::Runtime(format!("mat1 and mat2 shapes cannot be multiplied ({}x{} and {}x{})", sa[0], sa[1], sb[0], sb[1])));
    }
    check_same_dtype(a, b)?;
    if a.dtype().is_complex() { return crate::ops::complex::bilinear(a, b, mm); }
    let out = bmm_raw(&shape::unsqueeze(&a.detach(), 0)?, &shape::unsqueeze(&b.detach(), 0)?)?;
    let out = shape::reshape_raw(&out, &[sa[0], sb[1]]);
    if out.dtype().is_float() && autograd::needs_grad(&[a, b]) {
        autograd::record("MmBackward0", &[a, b], &[&out], vec![SaveItem::Input(a), SaveItem::Input(b)], Box::new(|s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None, None]) };
            Ok(vec![Some(mm(g, &shape::t(&s[1])?)?), Some(mm(&shape::t(&s[0])?, g)?)])
        }));
    }
    Ok(out)
}

pub fn bmm(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.ndim() != 3 { return Err(Error::Runtime(format!("batch1 must be a 3D tensor"))); }
    if b.ndim() != 3 { return Err(Error::Runtime(format!("batch2 must be a 3D tensor"))); }
    let (sa, sb) = (a.shape(), b.shape());
    if sb[0] != sa[0] || sb[1] != sa[2] {
        return Err(Error::Runtime(format!("Expected size for first two dimensions of batch2 tensor to be: [{}, {}] but got: [{}, {}].", sa[0], sa[2], sb[0], sb[1])));
    }
    check_same_dtype(a, b)?;
    if a.dtype().is_complex() { return crate::ops::complex::bilinear(a, b, bmm); }
    bmm_grad(a, b, "BmmBackward0")
}

/// Matrix-vector product (MvBackward0).
pub fn mv(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.dtype().is_complex() || b.dtype().is_complex() { check_same_dtype(a, b)?; return crate::ops::complex::bilinear(a, b, mv); }
    let r = bmm_raw(&shape::unsqueeze(&a.detach(), 0)?, &shape::reshape_raw(&copy::contiguous(&b.detach())?, &[1, b.numel(), 1]))?;
    let out = shape::reshape_raw(&r, &[a.shape()[0]]);
    if out.dtype().is_float() && autograd::needs_grad(&[a, b]) {
        autograd::record("MvBackward0", &[a, b], &[&out], vec![SaveItem::Input(a), SaveItem::Input(b)], Box::new(|s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None, None]) };
            let ga = mm(&shape::unsqueeze(g, 1)?, &shape::unsqueeze(&s[1], 0)?)?;
            Ok(vec![Some(ga), Some(mv(&shape::t(&s[0])?, g)?)])
        }));
    }
    Ok(out)
}

/// Inner product of two vectors (DotBackward0).
pub fn dot(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.dtype().is_complex() || b.dtype().is_complex() { check_same_dtype(a, b)?; return crate::ops::complex::bilinear(a, b, dot); }
    let r = bmm_raw(&shape::reshape_raw(&a.detach(), &[1, 1, a.numel()]), &shape::reshape_raw(&copy::contiguous(&b.detach())?, &[1, b.numel(), 1]))?;
    let out = shape::reshape_raw(&r, &[]);
    if out.dtype().is_float() && autograd::needs_grad(&[a, b]) {
        autograd::record("DotBackward0", &[a, b], &[&out], vec![SaveItem::Input(a), SaveItem::Input(b)], Box::new(|s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None, None]) };
            Ok(vec![Some(crate::ops::binary::mul(g, &s[1])?), Some(crate::ops::binary::mul(g, &s[0])?)])
        }));
    }
    Ok(out)
}

/// torch.matmul with all its broadcasting cases.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (na, nb) = (a.ndim(), b.ndim());
    if na == 0 || nb == 0 {
        return Err(Error::Runtime(format!("both arguments to matmul need to be at least 1D, but they are {}D and {}D", na, nb)));
    }
    check_same_dtype(a, b)?;
    if a.dtype().is_complex() { return crate::ops::complex::bilinear(a, b, matmul); }
    let (sa, sb) = (a.shape(), b.shape());
    if na == 1 && nb == 1 {
        if sa[0] != sb[0] {
            return Err(Error::Runtime(format!("inconsistent tensor size, expected tensor [{}] and src [{}] to have the same number of elements, but got {} and {} elements respectively", sa[0], sb[0], sa[0], sb[0])));
        }
        return dot(a, b);
    }
    if na == 2 && nb == 2 { return mm(a, b); }
    if na == 2 && nb == 1 {
        if sa[1] != sb[0] { return Err(Error::Runtime(format!("size mismatch, got input ({}), mat ({}x{}), vec ({})", sa[0], sa[0], sa[1], sb[0]))); }
        return mv(a, b);
    }
    if na == 1 && nb == 2 {
        if sa[0] != sb[0] { return Err(Error::Runtime(format!("mat1 and mat2 shapes cannot be multiplied (1x{} and {}x{})", sa[0], sb[0], sb[1]))); }
        return shape::squeeze_dims(&mm(&shape::unsqueeze(a, 0)?, b)?, &[0]);
    }
    // batched: promote 1-D operands, broadcast batch dims, run as [B, m, k] x [B, k, n]
    let a2 = if na == 1 { shape::unsqueeze(a, 0)? } else { a.clone() };
    let b2 = if nb == 1 { shape::unsqueeze(b, 1)? } else { b.clone() };
    let (s2a, s2b) = (a2.shape(), b2.shape());
    let (m, k) = (s2a[s2a.len() - 2], s2a[s2a.len() - 1]);
    let (k2, n) = (s2b[s2b.len() - 2], s2b[s2b.len() - 1]);
    if k != k2 {
        return Err(Error::Runtime(format!("Expected size for first two dimensions of batch2 tensor to be: [{}, {}] but got: [{}, {}].", 1, k, 1, k2)));
    }
    let batch = crate::ops::broadcast_shapes(&s2a[..s2a.len() - 2], &s2b[..s2b.len() - 2])?;
    let bsz: usize = batch.iter().product();
    let to_i = |v: &[usize]| v.iter().map(|&x| x as i64).collect::<Vec<_>>();
    let mut ea: Vec<usize> = batch.to_vec(); ea.extend([m, k]);
    let mut eb: Vec<usize> = batch.to_vec(); eb.extend([k, n]);
    let a3 = shape::reshape(&shape::expand(&a2, &to_i(&ea))?, &[bsz as i64, m as i64, k as i64])?;
    let b3 = shape::reshape(&shape::expand(&b2, &to_i(&eb))?, &[bsz as i64, k as i64, n as i64])?;
    let r = bmm_grad(&a3, &b3, "BmmBackward0")?;
    let mut os: Shape = batch.clone();
    if na > 1 { os.push(m); }
    if nb > 1 { os.push(n); }
    shape::reshape(&r, &to_i(&os))
}

// ---- dense factorizations (faer kernels in cpu::linalg) for real matrices

/// A real [..., m, n] tensor as row-major f64 matrices: (data, batch count, m, n).
fn real_batches(a: &Tensor) -> Result<(Vec<f64>, usize, usize, usize)> {
    let sh = a.shape();
    if sh.len() < 2 { return Err(Error::Runtime(format!("linalg: expected a matrix or batch of matrices, got {}-D", sh.len()))); }
    if !a.dtype().is_float() { return Err(Error::Runtime(format!("linalg: expected a real floating point tensor, got {}", a.dtype().legacy_name()))); }
    let (m, n) = (sh[sh.len() - 2], sh[sh.len() - 1]);
    let batch: usize = sh[..sh.len() - 2].iter().product();
    Ok((copy::contiguous_as(&a.detach(), DType::F64)?.to_vec::<f64>()?, batch, m, n))
}

fn f64_result(v: Vec<f64>, shape: &[usize], dtype: DType) -> Result<Tensor> {
    copy::contiguous_as(&Tensor::from_vec(v, shape)?, dtype)
}

fn info_tensor(info: Vec<usize>) -> Result<Tensor> {
    let n = info.len();
    Tensor::from_vec(info.into_iter().map(|i| i as i64).collect::<Vec<i64>>(), &[n])
}

fn zeroed(n: usize) -> Result<Vec<f64>> { let mut v = crate::tensor::try_vec::<f64>(n)?; v.resize(n, 0.0); Ok(v) }

/// Runs `f(matrix, out)` on each of `batch` square n x n matrices of `v` with an n x n output
/// block each: (outputs, info per matrix).
fn per_square(v: &[f64], batch: usize, n: usize, f: impl Fn(&[f64], &mut [f64]) -> usize) -> Result<(Vec<f64>, Vec<usize>)> {
    let mut out = zeroed(v.len())?;
    if n == 0 { return Ok((out, vec![0; batch])); }
    let info = v.chunks(n * n).zip(out.chunks_mut(n * n)).take(batch).map(|(a, o)| f(a, o)).collect();
    Ok((out, info))
}

/// Batched inverse of square matrices: (inverse, info per matrix), no autograd.
pub fn inv_raw(a: &Tensor) -> Result<(Tensor, Tensor)> {
    let (v, batch, n, _) = real_batches(a)?;
    let (out, info) = per_square(&v, batch, n, |m, o| crate::cpu::linalg::inverse(m, n, o))?;
    Ok((f64_result(out, &a.shape(), a.dtype())?, info_tensor(info)?))
}

/// Batched solve of A X = B (A [..., n, n], B [..., n, k] with the same batch), no autograd.
pub fn solve_raw(a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    let (av, batch, n, _) = real_batches(a)?;
    let (bv, bbatch, bn, k) = real_batches(b)?;
    if bbatch != batch || bn != n { return Err(Error::Runtime("linalg.solve: internal batch mismatch".into())); }
    let mut out = zeroed(bv.len())?;
    let info: Vec<usize> = (0..batch).map(|i| crate::cpu::linalg::solve(&av[i * n * n..(i + 1) * n * n], n, &bv[i * n * k..(i + 1) * n * k], k, &mut out[i * n * k..(i + 1) * n * k])).collect();
    Ok((f64_result(out, &b.shape(), b.dtype())?, info_tensor(info)?))
}

/// Batched determinant, no autograd.
pub fn det_raw(a: &Tensor) -> Result<Tensor> {
    let (v, batch, n, _) = real_batches(a)?;
    let d: Vec<f64> = (0..batch).map(|b| crate::cpu::linalg::det(&v[b * n * n..(b + 1) * n * n], n)).collect();
    let sh = a.shape();
    f64_result(d, &sh[..sh.len() - 2], a.dtype())
}

/// Batched (sign, log|det|), no autograd.
pub fn slogdet_raw(a: &Tensor) -> Result<(Tensor, Tensor)> {
    let (v, batch, n, _) = real_batches(a)?;
    let (s, l): (Vec<f64>, Vec<f64>) = (0..batch).map(|b| crate::cpu::linalg::slogdet(&v[b * n * n..(b + 1) * n * n], n)).unzip();
    let sh = a.shape();
    Ok((f64_result(s, &sh[..sh.len() - 2], a.dtype())?, f64_result(l, &sh[..sh.len() - 2], a.dtype())?))
}

/// Batched lower Cholesky factors: (L, info per matrix), no autograd.
pub fn cholesky_raw(a: &Tensor) -> Result<(Tensor, Tensor)> {
    let (v, batch, n, _) = real_batches(a)?;
    let (out, info) = per_square(&v, batch, n, |m, o| crate::cpu::linalg::cholesky(m, n, o))?;
    Ok((f64_result(out, &a.shape(), a.dtype())?, info_tensor(info)?))
}

/// Batched QR (mode "reduced", "complete" or "r"): (Q, R), Q empty for "r"; no autograd.
pub fn qr_raw(a: &Tensor, mode: &str) -> Result<(Tensor, Tensor)> {
    let (v, batch, m, n) = real_batches(a)?;
    let k = m.min(n);
    let complete = mode == "complete";
    let (qc, rr) = (if complete { m } else { k }, if complete { m } else { k });
    let want_q = mode != "r";
    let bs = &a.shape()[..a.shape().len() - 2];
    let sz = |r: usize, c: usize| -> Result<usize> { crate::tensor::checked_numel(&[batch, r, c]) };
    let mut q = zeroed(if want_q { sz(m, qc)? } else { 0 })?;
    let mut r = zeroed(sz(rr, n)?)?;
    for b in 0..batch {
        let qs = if want_q { &mut q[b * m * qc..(b + 1) * m * qc] } else { &mut [][..] };
        crate::cpu::linalg::qr(&v[b * m * n..(b + 1) * m * n], m, n, complete, qs, &mut r[b * rr * n..(b + 1) * rr * n]);
    }
    let shape = |r: usize, c: usize| -> Vec<usize> { let mut s = bs.to_vec(); s.extend([r, c]); s };
    let qt = if want_q { f64_result(q, &shape(m, qc), a.dtype())? } else { f64_result(vec![], &[0], a.dtype())? };
    Ok((qt, f64_result(r, &shape(rr, n), a.dtype())?))
}

/// Batched SVD: (U, S, Vh, info); U and Vh are empty unless `vectors`. No autograd.
pub fn svd_raw(a: &Tensor, full: bool, vectors: bool) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
    let (v, batch, m, n) = real_batches(a)?;
    let k = m.min(n);
    let (uc, vr) = if full { (m, n) } else { (k, k) };
    let bs = a.shape()[..a.shape().len() - 2].to_vec();
    let mut u = zeroed(if vectors { crate::tensor::checked_numel(&[batch, m, uc])? } else { 0 })?;
    let mut vh = zeroed(if vectors { crate::tensor::checked_numel(&[batch, vr, n])? } else { 0 })?;
    let mut s = zeroed(batch * k)?;
    let info: Vec<usize> = (0..batch).map(|b| {
        let (us, vs) = if vectors { (&mut u[b * m * uc..(b + 1) * m * uc], &mut vh[b * vr * n..(b + 1) * vr * n]) } else { (&mut [][..], &mut [][..]) };
        crate::cpu::linalg::svd(&v[b * m * n..(b + 1) * m * n], m, n, full, vectors, us, &mut s[b * k..(b + 1) * k], vs)
    }).collect();
    let shape = |tail: &[usize]| -> Vec<usize> { let mut s = bs.clone(); s.extend_from_slice(tail); s };
    let (ut, vt) = if vectors {
        (f64_result(u, &shape(&[m, uc]), a.dtype())?, f64_result(vh, &shape(&[vr, n]), a.dtype())?)
    } else { (f64_result(vec![], &[0], a.dtype())?, f64_result(vec![], &[0], a.dtype())?) };
    Ok((ut, f64_result(s, &shape(&[k]), a.dtype())?, vt, info_tensor(info)?))
}

/// Batched symmetric eigendecomposition: (eigenvalues ascending, eigenvectors or empty, info).
pub fn eigh_raw(a: &Tensor, upper: bool, vectors: bool) -> Result<(Tensor, Tensor, Tensor)> {
    let (v, batch, n, n2) = real_batches(a)?;
    if n != n2 { return Err(Error::Runtime("linalg.eigh: A must be batches of square matrices".into())); }
    let bs = a.shape()[..a.shape().len() - 2].to_vec();
    let mut w = zeroed(batch * n)?;
    let mut vec_out = zeroed(if vectors { v.len() } else { 0 })?;
    let info: Vec<usize> = (0..batch).map(|b| {
        let vs = if vectors { &mut vec_out[b * n * n..(b + 1) * n * n] } else { &mut [][..] };
        crate::cpu::linalg::eigh(&v[b * n * n..(b + 1) * n * n], n, upper, &mut w[b * n..(b + 1) * n], vs)
    }).collect();
    let mut ws = bs.clone(); ws.push(n);
    let vt = if vectors { f64_result(vec_out, &a.shape(), a.dtype())? } else { f64_result(vec![], &[0], a.dtype())? };
    Ok((f64_result(w, &ws, a.dtype())?, vt, info_tensor(info)?))
}
