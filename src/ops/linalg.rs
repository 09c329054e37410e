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
    let (sa, sc) = (a.shape(), c.shape());
    let kd = backend_of(&[a, c])?.matmul_dtype(dt, sa[1], sc[2], sa[2]);
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

/// A 2-D tensor as a batch of one for `bmm_raw`: a plain alias of its data with no autograd
/// history or view record (it never reaches the user). One tensor instead of the two that
/// `detach` + `unsqueeze` made, each with a view record: per-call overhead counts at 64x64.
fn batch_of_one(t: &Tensor) -> Tensor {
    let b = t.body();
    let (mut shape, mut strides) = (b.shape.clone(), b.strides.clone());
    let outer = strides[0].saturating_mul(shape[0] as isize);
    shape.insert(0, 1);
    strides.insert(0, outer);
    Tensor::from_body(crate::tensor::Body { shape, strides, ..b })
}

pub fn mm(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    // one read of each operand's geometry: per-call overhead counts at small sizes
    let (m, k, k2, n, dt, dt2) = {
        let (x, y) = (a.body_ref(), b.body_ref());
        if x.shape.len() != 2 { return Err(Error::Runtime(format!("self must be a matrix"))); }
        if y.shape.len() != 2 { return Err(Error::Runtime(format!("mat2 must be a matrix"))); }
        (x.shape[0], x.shape[1], y.shape[0], y.shape[1], x.dtype, y.dtype)
    };
    if k != k2 {
        return Err(Error::Runtime(format!("mat1 and mat2 shapes cannot be multiplied ({}x{} and {}x{})", m, k, k2, n)));
    }
    if dt != dt2 {
        return Err(Error::Runtime(format!("expected m1 and m2 to have the same dtype, but got: {} != {}", ctype(dt), ctype(dt2))));
    }
    if dt.is_complex() { return crate::ops::complex::bilinear(a, b, mm); }
    let out = if matches!(dt, DType::F32 | DType::F64) {
        // the backend's bmm takes 2-D operands as a batch of one: no batch views, no reshape
        let out = Tensor::empty(&[m, n], dt)?;
        if m * n > 0 {
            if k == 0 { copy::fill_raw(&out, 0.0)?; } else { crate::backend::backend_of(&[a, b])?.bmm(&out, a, b)?; }
        }
        out
    } else {
        let out = bmm_raw(&batch_of_one(a), &batch_of_one(b))?;
        // bmm_raw's output is a fresh contiguous [1, m, n]: drop the batch dim in place
        let ob = out.body();
        Tensor::from_body(crate::tensor::Body { shape: ob.shape[1..].into(), strides: ob.strides[1..].into(), ..ob })
    };
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
    if na == 2 && nb == 2 { return mm(a, b); }
    check_same_dtype(a, b)?;
    if a.dtype().is_complex() { return crate::ops::complex::bilinear(a, b, matmul); }
    let (sa, sb) = (a.shape(), b.shape());
    if na == 1 && nb == 1 {
        if sa[0] != sb[0] {
            return Err(Error::Runtime(format!("inconsistent tensor size, expected tensor [{}] and src [{}] to have the same number of elements, but got {} and {} elements respectively", sa[0], sb[0], sa[0], sb[0])));
        }
        return dot(a, b);
    }
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

// ---- dense factorizations (faer kernels in cpu::linalg), real (f64) or complex (c64)

use crate::cpu::linalg::Field;
use faer::c64 as Z;

/// Moves matrices between tensors and the factorizations' element types: real tensors compute
/// in f64, complex ones in complex128.
trait HostField: Field {
    fn read(t: &Tensor) -> Result<Vec<Self>>;
    fn tensor(v: Vec<Self>, shape: &[usize]) -> Result<Tensor>;
}

impl HostField for f64 {
    fn read(t: &Tensor) -> Result<Vec<f64>> { copy::contiguous_as(&t.detach(), DType::F64)?.to_vec::<f64>() }
    fn tensor(v: Vec<f64>, shape: &[usize]) -> Result<Tensor> { Tensor::from_vec(v, shape) }
}

impl HostField for Z {
    fn read(t: &Tensor) -> Result<Vec<Z>> {
        Ok(copy::contiguous_as(&t.detach(), DType::C128)?.to_vec::<crate::dtype::c128>()?.into_iter().map(|c| c.0).collect())
    }
    fn tensor(v: Vec<Z>, shape: &[usize]) -> Result<Tensor> { Tensor::from_vec(v.into_iter().map(crate::dtype::Cplx).collect::<Vec<_>>(), shape) }
}

/// Runs `$body` with `$E` = c64 for a complex tensor, f64 for a real one.
macro_rules! by_field {
    ($t:expr, $E:ident => $body:expr) => {
        if $t.dtype().is_complex() { type $E = Z; $body } else { type $E = f64; $body }
    };
}

/// A [..., m, n] tensor as row-major matrices of E: (data, batch count, m, n).
fn batches<E: HostField>(a: &Tensor) -> Result<(Vec<E>, usize, usize, usize)> {
    let sh = a.shape();
    if sh.len() < 2 { return Err(Error::Runtime(format!("linalg: expected a matrix or batch of matrices, got {}-D", sh.len()))); }
    if !a.dtype().is_float() && !a.dtype().is_complex() {
        return Err(Error::Runtime(format!("linalg: expected a floating point or complex tensor, got {}", a.dtype().legacy_name())));
    }
    let (m, n) = (sh[sh.len() - 2], sh[sh.len() - 1]);
    let batch: usize = sh[..sh.len() - 2].iter().product();
    Ok((E::read(a)?, batch, m, n))
}

/// Values computed in E as a tensor of `dtype` (the input's, or its real counterpart).
fn result<E: HostField>(v: Vec<E>, shape: &[usize], dtype: DType) -> Result<Tensor> {
    copy::contiguous_as(&E::tensor(v, shape)?, dtype)
}

fn info_tensor(info: Vec<usize>) -> Result<Tensor> {
    let n = info.len();
    Tensor::from_vec(info.into_iter().map(|i| i as i64).collect::<Vec<i64>>(), &[n])
}

fn zeroed<E: Field>(n: usize) -> Result<Vec<E>> { let mut v = crate::tensor::try_vec::<E>(n)?; v.resize(n, E::zero()); Ok(v) }

/// Runs `f(matrix, out)` on each of `batch` square n x n matrices of `v` with an n x n output
/// block each: (outputs, info per matrix).
fn per_square<E: Field>(v: &[E], batch: usize, n: usize, f: impl Fn(&[E], &mut [E]) -> usize) -> Result<(Vec<E>, Vec<usize>)> {
    let mut out = zeroed(v.len())?;
    if n == 0 { return Ok((out, vec![0; batch])); }
    let info = v.chunks(n * n).zip(out.chunks_mut(n * n)).take(batch).map(|(a, o)| f(a, o)).collect();
    Ok((out, info))
}

/// Batched inverse of square matrices: (inverse, info per matrix), no autograd.
pub fn inv_raw(a: &Tensor) -> Result<(Tensor, Tensor)> {
    by_field!(a, E => {
        let (v, batch, n, _) = batches::<E>(a)?;
        let (out, info) = per_square(&v, batch, n, |m, o| crate::cpu::linalg::inverse(m, n, o))?;
        Ok((result(out, &a.shape(), a.dtype())?, info_tensor(info)?))
    })
}

/// Batched solve of A X = B (A [..., n, n], B [..., n, k] with the same batch), no autograd.
pub fn solve_raw(a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    if a.dtype().is_complex() != b.dtype().is_complex() { return Err(Error::Runtime("linalg.solve: internal dtype mismatch".into())); }
    by_field!(a, E => {
        let (av, batch, n, _) = batches::<E>(a)?;
        let (bv, bbatch, bn, k) = batches::<E>(b)?;
        if bbatch != batch || bn != n { return Err(Error::Runtime("linalg.solve: internal batch mismatch".into())); }
        let mut out = zeroed(bv.len())?;
        let info: Vec<usize> = (0..batch).map(|i| crate::cpu::linalg::solve(&av[i * n * n..(i + 1) * n * n], n, &bv[i * n * k..(i + 1) * n * k], k, &mut out[i * n * k..(i + 1) * n * k])).collect();
        Ok((result(out, &b.shape(), b.dtype())?, info_tensor(info)?))
    })
}

/// Batched determinant, no autograd.
pub fn det_raw(a: &Tensor) -> Result<Tensor> {
    by_field!(a, E => {
        let (v, batch, n, _) = batches::<E>(a)?;
        let d: Vec<E> = (0..batch).map(|b| crate::cpu::linalg::det(&v[b * n * n..(b + 1) * n * n], n)).collect();
        let sh = a.shape();
        result(d, &sh[..sh.len() - 2], a.dtype())
    })
}

/// Batched (sign, log|det|), no autograd: the sign in the input's dtype (a phase for complex
/// input), log|det| in its real counterpart.
pub fn slogdet_raw(a: &Tensor) -> Result<(Tensor, Tensor)> {
    by_field!(a, E => {
        let (v, batch, n, _) = batches::<E>(a)?;
        let (s, l): (Vec<E>, Vec<f64>) = (0..batch).map(|b| crate::cpu::linalg::slogdet(&v[b * n * n..(b + 1) * n * n], n)).unzip();
        let sh = a.shape();
        Ok((result(s, &sh[..sh.len() - 2], a.dtype())?, result(l, &sh[..sh.len() - 2], a.dtype().to_real())?))
    })
}

/// Batched lower Cholesky factors: (L, info per matrix), no autograd.
pub fn cholesky_raw(a: &Tensor) -> Result<(Tensor, Tensor)> {
    by_field!(a, E => {
        let (v, batch, n, _) = batches::<E>(a)?;
        let (out, info) = per_square(&v, batch, n, |m, o| crate::cpu::linalg::cholesky(m, n, o))?;
        Ok((result(out, &a.shape(), a.dtype())?, info_tensor(info)?))
    })
}

/// Batched QR (mode "reduced", "complete" or "r"): (Q, R), Q empty for "r"; no autograd.
pub fn qr_raw(a: &Tensor, mode: &str) -> Result<(Tensor, Tensor)> {
    by_field!(a, E => {
        let (v, batch, m, n) = batches::<E>(a)?;
        let k = m.min(n);
        let complete = mode == "complete";
        let (qc, rr) = (if complete { m } else { k }, if complete { m } else { k });
        let want_q = mode != "r";
        let bs = &a.shape()[..a.shape().len() - 2];
        let sz = |r: usize, c: usize| -> Result<usize> { crate::tensor::checked_numel(&[batch, r, c]) };
        let mut q = zeroed::<E>(if want_q { sz(m, qc)? } else { 0 })?;
        let mut r = zeroed::<E>(sz(rr, n)?)?;
        for b in 0..batch {
            let qs = if want_q { &mut q[b * m * qc..(b + 1) * m * qc] } else { &mut [][..] };
            crate::cpu::linalg::qr(&v[b * m * n..(b + 1) * m * n], m, n, complete, qs, &mut r[b * rr * n..(b + 1) * rr * n]);
        }
        let shape = |r: usize, c: usize| -> Vec<usize> { let mut s = bs.to_vec(); s.extend([r, c]); s };
        let qt = if want_q { result(q, &shape(m, qc), a.dtype())? } else { result::<E>(vec![], &[0], a.dtype())? };
        Ok((qt, result(r, &shape(rr, n), a.dtype())?))
    })
}

/// Batched SVD: (U, S, Vh, info); U and Vh are empty unless `vectors`; S is real. No autograd.
pub fn svd_raw(a: &Tensor, full: bool, vectors: bool) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
    by_field!(a, E => {
        let (v, batch, m, n) = batches::<E>(a)?;
        let k = m.min(n);
        let (uc, vr) = if full { (m, n) } else { (k, k) };
        let bs = a.shape()[..a.shape().len() - 2].to_vec();
        let mut u = zeroed::<E>(if vectors { crate::tensor::checked_numel(&[batch, m, uc])? } else { 0 })?;
        let mut vh = zeroed::<E>(if vectors { crate::tensor::checked_numel(&[batch, vr, n])? } else { 0 })?;
        let mut s = zeroed::<f64>(batch * k)?;
        let info: Vec<usize> = (0..batch).map(|b| {
            let (us, vs) = if vectors { (&mut u[b * m * uc..(b + 1) * m * uc], &mut vh[b * vr * n..(b + 1) * vr * n]) } else { (&mut [][..], &mut [][..]) };
            crate::cpu::linalg::svd(&v[b * m * n..(b + 1) * m * n], m, n, full, vectors, us, &mut s[b * k..(b + 1) * k], vs)
        }).collect();
        let shape = |tail: &[usize]| -> Vec<usize> { let mut s = bs.clone(); s.extend_from_slice(tail); s };
        let (ut, vt) = if vectors {
            (result(u, &shape(&[m, uc]), a.dtype())?, result(vh, &shape(&[vr, n]), a.dtype())?)
        } else { (result::<E>(vec![], &[0], a.dtype())?, result::<E>(vec![], &[0], a.dtype())?) };
        Ok((ut, result(s, &shape(&[k]), a.dtype().to_real())?, vt, info_tensor(info)?))
    })
}

/// Batched symmetric (Hermitian) eigendecomposition: (real eigenvalues ascending, eigenvectors
/// or empty, info).
pub fn eigh_raw(a: &Tensor, upper: bool, vectors: bool) -> Result<(Tensor, Tensor, Tensor)> {
    by_field!(a, E => {
        let (v, batch, n, n2) = batches::<E>(a)?;
        if n != n2 { return Err(Error::Runtime("linalg.eigh: A must be batches of square matrices".into())); }
        let bs = a.shape()[..a.shape().len() - 2].to_vec();
        let mut w = zeroed::<f64>(batch * n)?;
        let mut vec_out = zeroed::<E>(if vectors { v.len() } else { 0 })?;
        let info: Vec<usize> = (0..batch).map(|b| {
            let vs = if vectors { &mut vec_out[b * n * n..(b + 1) * n * n] } else { &mut [][..] };
            crate::cpu::linalg::eigh(&v[b * n * n..(b + 1) * n * n], n, upper, &mut w[b * n..(b + 1) * n], vs)
        }).collect();
        let mut ws = bs.clone(); ws.push(n);
        let vt = if vectors { result(vec_out, &a.shape(), a.dtype())? } else { result::<E>(vec![], &[0], a.dtype())? };
        Ok((result(w, &ws, a.dtype().to_real())?, vt, info_tensor(info)?))
    })
}

/// Batched general eigendecomposition: (complex eigenvalues, complex eigenvectors as columns or
/// empty, info), in the complex counterpart of the input's dtype. No autograd.
pub fn eig_raw(a: &Tensor, vectors: bool) -> Result<(Tensor, Tensor, Tensor)> {
    by_field!(a, E => {
        let (v, batch, n, n2) = batches::<E>(a)?;
        if n != n2 { return Err(Error::Runtime("linalg.eig: A must be batches of square matrices".into())); }
        let bs = a.shape()[..a.shape().len() - 2].to_vec();
        let out_dt = a.dtype().to_complex();
        let mut w = zeroed::<Z>(batch * n)?;
        let mut vec_out = zeroed::<Z>(if vectors { v.len() } else { 0 })?;
        let info: Vec<usize> = (0..batch).map(|b| {
            let vs = if vectors { &mut vec_out[b * n * n..(b + 1) * n * n] } else { &mut [][..] };
            if n == 0 { 0 } else { crate::cpu::linalg::eig(&v[b * n * n..(b + 1) * n * n], n, &mut w[b * n..(b + 1) * n], vs) }
        }).collect();
        let mut ws = bs.clone(); ws.push(n);
        let vt = if vectors { result(vec_out, &a.shape(), out_dt)? } else { result::<Z>(vec![], &[0], out_dt)? };
        Ok((result(w, &ws, out_dt)?, vt, info_tensor(info)?))
    })
}
