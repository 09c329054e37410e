//! Unary elementwise ops: one enum, one generic kernel per dtype class, one backward table.
use crate::autograd::{self, SaveItem};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::binary::{self, add_s, div, mul, mul_s, BinOp, Operand};
use crate::ops::copy;
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    // keep the dtype (work on integers too)
    Neg, Abs, Sign, Floor, Ceil, Round, Trunc, Square, Relu,
    // floating results
    Frac, Exp, Exp2, Expm1, Log, Log2, Log10, Log1p, Sqrt, Rsqrt, Sin, Cos, Tan, Asin, Acos, Atan,
    Sinh, Cosh, Tanh, Asinh, Acosh, Atanh, Sigmoid, Erf, Erfc, Erfinv, Digamma, Trigamma, Lgamma, Reciprocal,
    // boolean results
    IsNan, IsInf, IsFinite, LogicalNot, SignBit,
    BitwiseNot,
}

impl UnaryOp {
    fn keeps_dtype(self) -> bool { use UnaryOp::*; matches!(self, Neg | Abs | Sign | Floor | Ceil | Round | Trunc | Square | Relu | BitwiseNot) }
    fn bool_out(self) -> bool { use UnaryOp::*; matches!(self, IsNan | IsInf | IsFinite | LogicalNot | SignBit) }
    pub fn grad_name(self) -> String {
        let n = format!("{:?}", self);
        format!("{}Backward0", match self { UnaryOp::Square => "Pow".to_string(), _ => n })
    }
}

/// Output dtype of a unary op on `dt` (errors follow PyTorch's).
fn out_dtype(op: UnaryOp, dt: DType) -> Result<DType> {
    if op == UnaryOp::SignBit && dt.is_complex() { return Err(Error::NotImplemented("signbit is not implemented for complex tensors.".into())); }
    if op.bool_out() { return Ok(DType::Bool); }
    if op == UnaryOp::BitwiseNot {
        if dt.is_float() { return Err(Error::Runtime(format!("\"bitwise_not_cpu\" not implemented for '{}'", dt.legacy_name()))); }
        return Ok(dt);
    }
    if dt == DType::Bool && op == UnaryOp::Neg {
        return Err(Error::Runtime("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.".into()));
    }
    if dt.is_complex() {
        use UnaryOp::*;
        let name = format!("{:?}", op).to_lowercase();
        match op {
            Sign => return Err(Error::NotImplemented("Unlike NumPy, torch.sign is not intended to support complex numbers. Please use torch.sgn instead.".into())),
            Floor | Ceil | Round | Trunc | Frac => return Err(Error::NotImplemented(format!("{} is not supported for complex inputs", name))),
            Relu => return Err(Error::NotImplemented("clamp is not supported for complex types".into())),
            _ if op == SignBit || !crate::ops::complex::has_unary_kernel(op) =>
                return Err(Error::NotImplemented(format!("\"{}_cpu\" not implemented for '{}'", name, dt.legacy_name()))),
            _ => {}
        }
        return Ok(dt);
    }
    if op.keeps_dtype() { return Ok(dt); }
    Ok(if dt.is_float() { dt } else { crate::tensor::default_dtype() })
}

/// Computes op(x) into `out` (same shape, dtype `out_dtype(op, x)`), no autograd.
fn compute_into(op: UnaryOp, x: &Tensor, out: &Tensor) -> Result<()> {
    let dt = out.dtype();
    let backend = crate::backend::backend_of(&[x, out])?;
    if op.bool_out() {
        return backend.unary(op, out, x);
    }
    if dt == DType::Bool {
        // abs/relu/... on bool are identities; bitwise_not is logical not
        let t = if op == UnaryOp::BitwiseNot { let o = Tensor::empty(&x.shape(), DType::Bool)?; backend.unary(UnaryOp::LogicalNot, &o, x)?; o } else { x.clone() };
        return copy::copy_raw(out, &t);
    }
    if dt.is_complex() { return crate::ops::complex::unary_into(op, x, out); }
    let kd = dt.compute();
    let xin = if x.dtype() == kd { x.clone() } else { copy::contiguous_as(x, kd)? };
    let target = if out.dtype() == kd { out.clone() } else { Tensor::empty(&x.shape(), kd)? };
    backend.unary(op, &target, &xin)?;
    if !target.same(out) { copy::copy_raw(out, &target)?; }
    Ok(())
}

/// Ops whose backward is written in terms of their output.
fn saves_output(op: UnaryOp) -> bool {
    use UnaryOp::*;
    matches!(op, Exp | Exp2 | Expm1 | Sqrt | Rsqrt | Tanh | Sigmoid | Reciprocal | Relu | Tan | Erfinv)
}

pub fn unary(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
    if op == UnaryOp::Abs && x.dtype().is_complex() { return crate::ops::complex::abs(x); }
    let dt = out_dtype(op, x.dtype())?;
    let out = Tensor::empty(&x.shape(), dt)?;
    compute_into(op, x, &out)?;
    if dt.is_differentiable() && autograd::needs_grad(&[x]) {
        let save = if saves_output(op) { vec![SaveItem::Output(0)] } else { vec![SaveItem::Input(x)] };
        autograd::record(op.grad_name(), &[x], &[&out], save, Box::new(move |s, g| {
            Ok(vec![match &g[0] { Some(g) => backward_conj(op, g, &s[0])?, None => None }])
        }));
    }
    Ok(out)
}

/// clamp(x, lo, hi) with scalar bounds in one pass, for float32/float64 x (the Python layer
/// takes this path when neither bound is NaN and the result keeps x's dtype; it composes
/// the other cases). The gradient is g where lo <= x <= hi and 0 elsewhere, NaN x included,
/// as PyTorch's ClampBackward1.
pub fn clamp_scalar(x: &Tensor, lo: Option<f64>, hi: Option<f64>) -> Result<Tensor> {
    if !matches!(x.dtype(), DType::F32 | DType::F64) || lo.is_some_and(f64::is_nan) || hi.is_some_and(f64::is_nan) {
        return Err(Error::Runtime(format!("internal: clamp_scalar takes float32/float64 and bounds that are not NaN, got {}", x.dtype().name())));
    }
    let out = Tensor::empty(&x.shape(), x.dtype())?;
    crate::backend::backend_of(&[x, &out])?.clamp(&out, x, lo, hi)?;
    if autograd::needs_grad(&[x]) {
        // the mask of where the gradient passes is saved rather than x, which clamp_ then
        // overwrites with the result; NaN compares false both ways, so it is outside
        let scalar = |v: f64| Operand::S(crate::dtype::Scalar::Float(v));
        let inside = {
            let _g = autograd::GradMode::set(false);
            let within = |op: BinOp, b: Option<f64>| match b { Some(b) => binary::cmp(op, x, &scalar(b)).map(Some), None => Ok(None) };
            match (within(BinOp::Ge, lo)?, within(BinOp::Le, hi)?) {
                (Some(a), Some(b)) => binary::binary(BinOp::LogicalAnd, &Operand::T(a), &Operand::T(b), 1.0)?,
                (Some(m), None) | (None, Some(m)) => m,
                (None, None) => binary::cmp(BinOp::Eq, x, &Operand::T(x.clone()))?,
            }
        };
        autograd::record("ClampBackward1", &[x], &[&out], vec![SaveItem::Value(inside)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            Ok(vec![Some(binary::where_(&s[0], &Operand::T(g.clone()), &scalar(0.0))?)])
        }));
    }
    Ok(out)
}

/// Real formulas give g * f'(x); for complex gradients PyTorch's g * conj(f'(z)) is
/// conj(formula(conj(g))), the formulas being holomorphic in z and linear in g.
fn backward_conj(op: UnaryOp, g: &Tensor, s: &Tensor) -> Result<Option<Tensor>> {
    if !g.dtype().is_complex() { return unary_backward(op, g, s); }
    use crate::ops::complex::conj;
    unary_backward(op, &conj(g)?, s)?.map(|x| conj(&x)).transpose()
}

/// In-place unary op; `r is a` holds in Python because the binding returns self.
pub fn unary_(op: UnaryOp, x: &Tensor) -> Result<()> {
    let dt = out_dtype(op, x.dtype())?;
    if dt != x.dtype() {
        return Err(Error::Runtime(format!("result type {} can't be cast to the desired output type {}", dt.legacy_name(), x.dtype().legacy_name())));
    }
    crate::ops::inplace_check(x)?;
    let grad = dt.is_differentiable() && crate::ops::inplace_needs_grad(x, &[]);
    let saves_out = saves_output(op);
    let old = if grad && !saves_out { Some(copy::contiguous_clone(x)?) } else { None };
    compute_into(op, x, x)?;
    x.bump_version();
    if grad {
        let save = match old { Some(o) => vec![SaveItem::Value(o)], None => vec![SaveItem::Output(0)] };
        crate::ops::rebase_inplace(x, &[], op.grad_name(), save, Box::new(move |s, g| {
            Ok(vec![match &g[0] { Some(g) => backward_conj(op, g, &s[0])?, None => None }])
        }))?;
    }
    Ok(())
}

/// d op / dx, given the saved input (or output, for ops that save their result).
fn unary_backward(op: UnaryOp, g: &Tensor, s: &Tensor) -> Result<Option<Tensor>> {
    use UnaryOp::*;
    let u = |o: UnaryOp, t: &Tensor| unary(o, t);
    let sq = |t: &Tensor| mul(t, t);
    Ok(Some(match op {
        Neg => neg(g)?,
        Abs | Sign if op == Sign => zeros_like_g(g)?,
        Abs => mul(g, &u(Sign, s)?)?,
        Floor | Ceil | Round | Trunc => zeros_like_g(g)?,
        Frac => g.clone(),
        Square => mul(g, &mul_s(s, 2.0)?)?,
        // one fused pass unless backward records a graph (create_graph needs the composite)
        Relu if !autograd::is_grad_enabled() && g.dtype() == s.dtype() => binary::binary(BinOp::ReluGrad, &Operand::T(g.clone()), &Operand::T(s.clone()), 1.0)?,
        Relu => binary::where_mask_fill(g, &binary::cmp(BinOp::Le, s, &Operand::S(crate::dtype::Scalar::Float(0.0)))?, 0.0)?,
        Exp => mul(g, s)?,
        Exp2 => mul(g, &mul_s(s, std::f64::consts::LN_2)?)?,
        Expm1 => mul(g, &add_s(s, 1.0)?)?,
        Log => div(g, s)?,
        Log2 => div(g, &mul_s(s, std::f64::consts::LN_2)?)?,
        Log10 => div(g, &mul_s(s, std::f64::consts::LN_10)?)?,
        Log1p => div(g, &add_s(s, 1.0)?)?,
        Sqrt => div(g, &mul_s(s, 2.0)?)?,
        Rsqrt => mul(g, &mul_s(&mul(&sq(s)?, s)?, -0.5)?)?,
        Sin => mul(g, &u(Cos, s)?)?,
        Cos => mul(g, &neg(&u(Sin, s)?)?)?,
        Tan => mul(g, &add_s(&sq(s)?, 1.0)?)?,
        Asin => div(g, &u(Sqrt, &binary::rsub_s(1.0, &sq(s)?)?)?)?,
        Acos => neg(&div(g, &u(Sqrt, &binary::rsub_s(1.0, &sq(s)?)?)?)?)?,
        Atan => div(g, &add_s(&sq(s)?, 1.0)?)?,
        Sinh => mul(g, &u(Cosh, s)?)?,
        Cosh => mul(g, &u(Sinh, s)?)?,
        Tanh if !autograd::is_grad_enabled() && g.dtype() == s.dtype() && g.dtype().is_float() => binary::binary(BinOp::TanhGrad, &Operand::T(g.clone()), &Operand::T(s.clone()), 1.0)?,
        Tanh => mul(g, &binary::rsub_s(1.0, &sq(s)?)?)?,
        Asinh => div(g, &u(Sqrt, &add_s(&sq(s)?, 1.0)?)?)?,
        Acosh => div(g, &u(Sqrt, &add_s(&sq(s)?, -1.0)?)?)?,
        Atanh => div(g, &binary::rsub_s(1.0, &sq(s)?)?)?,
        Sigmoid => mul(g, &mul(s, &binary::rsub_s(1.0, s)?)?)?,
        Reciprocal => mul(g, &neg(&sq(s)?)?)?,
        Erf => mul(g, &mul_s(&u(Exp, &neg(&sq(s)?)?)?, 2.0 / std::f64::consts::PI.sqrt())?)?,
        Erfc => mul(g, &mul_s(&u(Exp, &neg(&sq(s)?)?)?, -2.0 / std::f64::consts::PI.sqrt())?)?,
        Erfinv => mul(g, &mul_s(&u(Exp, &sq(s)?)?, std::f64::consts::PI.sqrt() / 2.0)?)?,
        Digamma => mul(g, &u(Trigamma, s)?)?,
        Lgamma => mul(g, &u(Digamma, s)?)?,
        _ => return Ok(None),
    }))
}

pub fn neg(x: &Tensor) -> Result<Tensor> { unary(UnaryOp::Neg, x) }
pub fn logical_not(x: &Tensor) -> Result<Tensor> { unary(UnaryOp::LogicalNot, x) }
pub fn isnan(x: &Tensor) -> Result<Tensor> { unary(UnaryOp::IsNan, x) }
/// Zeros shaped like a gradient (constant; no history).
pub fn zeros_like_g(g: &Tensor) -> Result<Tensor> { Ok(Tensor::zeros(&g.shape(), g.dtype())?) }

pub use crate::cpu::elementwise::{digamma, erfinv, trigamma};
