//! Complex tensors: the real/imaginary views every composite complex op is built from, the
//! complex-only ops (conj, abs, angle, polar), and the holomorphic elementwise kernels.
//!
//! Gradients follow PyTorch's convention for a real loss L of z = x + iy:
//! grad = dL/dx + i dL/dy. Ops written as compositions of `real_view`/`imag_view` and real ops
//! get exactly that gradient from the real ops' own backward formulas; holomorphic kernels use
//! grad_in = grad_out * conj(f'(z)).
use crate::autograd;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::binary::{self, BinOp, Operand};
use crate::ops::unary::UnaryOp;
use crate::ops::{copy, shape};
use crate::tensor::{Shape, Strides, Tensor};

fn not_complex(name: &str, dt: DType) -> Error {
    Error::Runtime(format!("{} is only supported for complex tensors, but got a tensor of scalar type: {}", name, dt.legacy_name()))
}

/// `torch.view_as_real`: a float view [..., 2] of a complex tensor (same storage).
pub fn view_as_real(z: &Tensor) -> Result<Tensor> {
    let b = z.body();
    if !b.dtype.is_complex() { return Err(Error::Runtime("view_as_real is only supported for complex tensors".into())); }
    let mut sh: Shape = b.shape.clone();
    sh.push(2);
    let mut st: Strides = b.strides.iter().map(|s| s * 2).collect();
    st.push(1);
    let out = z.view_as_dtype(sh, st, b.offset * 2, b.dtype.to_real());
    if autograd::needs_grad(&[z]) {
        autograd::record("ViewAsRealBackward0", &[z], &[&out], vec![], Box::new(|_, g| {
            Ok(vec![g[0].as_ref().map(|g| view_as_complex(&copy::contiguous(g)?)).transpose()?])
        }));
    }
    Ok(out)
}

/// `torch.view_as_complex`: a complex view of a float tensor whose last dim is (re, im).
pub fn view_as_complex(x: &Tensor) -> Result<Tensor> {
    let b = x.body();
    if !matches!(b.dtype, DType::F32 | DType::F64) {
        return Err(Error::Runtime(format!("view_as_complex is only supported for float and double tensors, but got a tensor of scalar type: {}", b.dtype.legacy_name())));
    }
    let nd = b.shape.len();
    if nd == 0 { return Err(Error::Runtime("Input tensor must have one or more dimensions".into())); }
    if b.shape[nd - 1] != 2 { return Err(Error::Runtime("Tensor must have a last dimension of size 2".into())); }
    if b.strides[nd - 1] != 1 { return Err(Error::Runtime("Tensor must have a last dimension with stride 1".into())); }
    if b.strides[..nd - 1].iter().any(|s| s % 2 != 0) {
        return Err(Error::Runtime("Tensor must have a stride divisible by 2 for all but last dimension".into()));
    }
    if b.offset % 2 != 0 { return Err(Error::Runtime("Tensor must have a storage_offset divisible by 2".into())); }
    let sh: Shape = b.shape[..nd - 1].into();
    let st: Strides = b.strides[..nd - 1].iter().map(|s| s / 2).collect();
    let out = x.view_as_dtype(sh, st, b.offset / 2, b.dtype.to_complex());
    if autograd::needs_grad(&[x]) {
        autograd::record("ViewAsComplexBackward0", &[x], &[&out], vec![], Box::new(|_, g| {
            Ok(vec![g[0].as_ref().map(view_as_real).transpose()?])
        }));
    }
    Ok(out)
}

/// `torch.real`: a view of the real parts (the tensor itself for real dtypes).
pub fn real_view(z: &Tensor) -> Result<Tensor> {
    if !z.dtype().is_complex() { return Ok(z.clone()); }
    shape::select(&view_as_real(z)?, -1, 0)
}

/// `torch.imag`: a view of the imaginary parts.
pub fn imag_view(z: &Tensor) -> Result<Tensor> {
    if !z.dtype().is_complex() { return Err(Error::Runtime("imag is not implemented for tensors with non-complex dtypes.".into())); }
    shape::select(&view_as_real(z)?, -1, 1)
}

/// `torch.complex(real, imag)`: broadcasts the parts into a new complex tensor.
pub fn complex(re: &Tensor, im: &Tensor) -> Result<Tensor> {
    let (a, b) = (re.dtype(), im.dtype());
    if a != b || !matches!(a, DType::F32 | DType::F64 | DType::F16) {
        return Err(Error::Runtime(format!("Expected both inputs to be Half, Float or Double tensors but got {} and {}", a.legacy_name(), b.legacy_name())));
    }
    let (re, im) = if a == DType::F16 { (copy::to_dtype(re, DType::F32)?, copy::to_dtype(im, DType::F32)?) } else { (re.clone(), im.clone()) };
    let sh = crate::ops::broadcast_shapes(&re.shape(), &im.shape())?;
    let shi: Vec<i64> = sh.iter().map(|&n| n as i64).collect();
    let parts = shape::stack(&[shape::expand(&re, &shi)?, shape::expand(&im, &shi)?], -1)?;
    view_as_complex(&parts)
}

/// `torch.polar(abs, angle)`.
pub fn polar(abs: &Tensor, angle: &Tensor) -> Result<Tensor> {
    let re = binary::mul(abs, &crate::ops::unary::unary(UnaryOp::Cos, angle)?)?;
    let im = binary::mul(abs, &crate::ops::unary::unary(UnaryOp::Sin, angle)?)?;
    complex(&re, &im)
}

/// Complex conjugate: the tensor itself for real dtypes (PyTorch returns `self` there too).
pub fn conj(z: &Tensor) -> Result<Tensor> {
    if !z.dtype().is_complex() { return Ok(z.clone()); }
    let out = complex_map(ComplexMap::Conj, z)?;
    if autograd::needs_grad(&[z]) {
        autograd::record("ConjBackward0", &[z], &[&out], vec![], Box::new(|_, g| Ok(vec![g[0].as_ref().map(conj).transpose()?])));
    }
    Ok(out)
}

/// `out = f(z)` through the device's complex map kernel: complex `out` of z's dtype for the
/// holomorphic maps, real `out` of its part dtype for `Abs` and `Angle`.
fn complex_map(f: ComplexMap, z: &Tensor) -> Result<Tensor> {
    if !z.dtype().is_complex() { return Err(not_complex("internal complex map", z.dtype())); }
    let real_out = matches!(f, ComplexMap::Abs | ComplexMap::Angle);
    let be = crate::backend::backend_of(&[z])?;
    let out = Tensor::alloc_on(&z.shape(), if real_out { z.dtype().to_real() } else { z.dtype() }, be.device(), false)?;
    be.complex_map(f, &out, z)?;
    Ok(out)
}

/// The elementwise maps of complex tensors a backend provides (`Backend::complex_map`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComplexMap {
    /// A holomorphic unary op (`has_unary_kernel`), complex to complex.
    Unary(UnaryOp),
    Conj,
    /// z / |z|, 0 at 0.
    Sgn,
    /// |z| into the part dtype.
    Abs,
    /// arg(z) into the part dtype.
    Angle,
}

/// `|z|` for complex input (real result); gradient g * sgn(z).
pub fn abs(z: &Tensor) -> Result<Tensor> {
    let out = complex_map(ComplexMap::Abs, z)?;
    if autograd::needs_grad(&[z]) {
        autograd::record("AbsBackward0", &[z], &[&out], vec![autograd::SaveItem::Input(z)], Box::new(|s, g| {
            Ok(vec![g[0].as_ref().map(|g| binary::mul(g, &sgn(&s[0])?)).transpose()?])
        }));
    }
    Ok(out)
}

/// `torch.angle` for complex input; gradient g * i z / |z|^2 (0 at z = 0).
pub fn angle(z: &Tensor) -> Result<Tensor> {
    let out = complex_map(ComplexMap::Angle, z)?;
    if autograd::needs_grad(&[z]) {
        autograd::record("AngleBackward0", &[z], &[&out], vec![autograd::SaveItem::Input(z)], Box::new(|s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let z = &s[0];
            let iz = binary::binary(BinOp::Mul, &Operand::T(z.clone()), &Operand::S(crate::dtype::Scalar::Complex(0.0, 1.0)), 1.0)?;
            let r2 = binary::mul(&abs(z)?, &abs(z)?)?;
            let q = binary::div(&iz, &r2)?;
            let zero = binary::cmp(BinOp::Eq, &r2, &Operand::S(crate::dtype::Scalar::Float(0.0)))?;
            Ok(vec![Some(binary::mul(g, &binary::where_mask_fill(&q, &zero, 0.0)?)?)])
        }));
    }
    Ok(out)
}

/// `torch.sgn`: z / |z| (0 at 0), holomorphic-style backward as PyTorch's sgn_backward.
pub fn sgn(z: &Tensor) -> Result<Tensor> {
    let out = complex_map(ComplexMap::Sgn, z)?;
    if autograd::needs_grad(&[z]) {
        autograd::record("SgnBackward0", &[z], &[&out], vec![autograd::SaveItem::Input(z), autograd::SaveItem::Output(0)], Box::new(|s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            // (g - Re(g * conj(sgn)) * sgn) / |z|, zero where z == 0
            let (z, sg) = (&s[0], &s[1]);
            let a = abs(z)?;
            let proj = real_view(&binary::mul(g, &conj(sg)?)?)?;
            let num = binary::sub(g, &binary::mul(&copy::to_dtype(&proj, z.dtype())?, sg)?)?;
            let q = binary::div(&num, &copy::to_dtype(&a, z.dtype())?)?;
            let zero = binary::cmp(BinOp::Eq, &a, &Operand::S(crate::dtype::Scalar::Float(0.0)))?;
            Ok(vec![Some(binary::where_mask_fill(&q, &zero, 0.0)?)])
        }));
    }
    Ok(out)
}

/// Whether `op` has a complex kernel (holomorphic functions and the arithmetic helpers).
pub fn has_unary_kernel(op: UnaryOp) -> bool {
    use UnaryOp::*;
    matches!(op, Neg | Square | Exp | Exp2 | Expm1 | Log | Log2 | Log10 | Log1p | Sqrt | Rsqrt | Sin | Cos | Tan | Asin | Acos | Atan
        | Sinh | Cosh | Tanh | Asinh | Acosh | Atanh | Sigmoid | Reciprocal)
}

/// The complex kernel of a unary op into `out` (same complex dtype), no autograd.
pub fn unary_into(op: UnaryOp, z: &Tensor, out: &Tensor) -> Result<()> {
    if !has_unary_kernel(op) {
        let name = format!("{:?}", op).to_lowercase();
        return Err(Error::NotImplemented(format!("\"{}_cpu\" not implemented for '{}'", name, z.dtype().legacy_name())));
    }
    crate::backend::backend_of(&[z, out])?.complex_map(ComplexMap::Unary(op), out, z)
}

/// Binary ops defined on complex operands.
pub fn binary_supported(op: BinOp) -> bool {
    matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Pow | BinOp::Eq | BinOp::Ne
        | BinOp::LogicalAnd | BinOp::LogicalOr | BinOp::LogicalXor)
}

/// A bilinear real op `f` (matmul, mm, bmm, ...) applied to complex operands as
/// (ar + i ai) f (br + i bi); autograd flows through the real products.
pub fn bilinear(a: &Tensor, b: &Tensor, f: impl Fn(&Tensor, &Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let (ar, ai, br, bi) = (real_view(a)?, imag_view(a)?, real_view(b)?, imag_view(b)?);
    let re = binary::sub(&f(&ar, &br)?, &f(&ai, &bi)?)?;
    let im = binary::add(&f(&ar, &bi)?, &f(&ai, &br)?)?;
    complex(&re, &im)
}

/// A linear real reduction `f` (sum, mean over dims given for the complex tensor) applied to
/// both parts at once through the [..., 2] real view.
pub fn linear_reduce(z: &Tensor, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    view_as_complex(&copy::contiguous(&f(&view_as_real(z)?)?)?)
}
