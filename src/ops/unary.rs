//! Unary elementwise ops: one enum, one generic kernel per dtype class, one backward table.
use crate::autograd::{self, SaveItem};
use crate::dtype::{DType, Elem};
use crate::error::{Error, Result};
use crate::cpu::strided;
use crate::ops::binary::{self, add_s, div, mul, mul_s, BinOp, Operand};
use crate::ops::copy;
use crate::tensor::Tensor;
use num_traits::Float;

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

/// f32 exp/sigmoid on contiguous data: vectorized kernels, split across threads.
fn fast_f32(op: UnaryOp, out: &Tensor, x: &Tensor) -> Result<bool> {
    let (o, a) = (out.body(), x.body());
    if !(matches!(op, UnaryOp::Exp | UnaryOp::Sigmoid) && o.dtype == DType::F32 && a.dtype == DType::F32 && o.is_contiguous() && a.is_contiguous()) {
        return Ok(false);
    }
    let f = if op == UnaryOp::Exp { crate::cpu::simd::exp_slice } else { crate::cpu::simd::sigmoid_slice };
    crate::cpu::simd::map_f32_in_place_or_into(&o, &a, f)?;
    Ok(true)
}

fn float_kernel<T: Float + Elem>(op: UnaryOp, out: &Tensor, x: &Tensor) -> Result<()> {
    use UnaryOp::*;
    if fast_f32(op, out, x)? { return Ok(()); }
    let (o, a) = (out.body(), x.body());
    let sh = &a.shape;
    macro_rules! go { ($f:expr) => { strided::map1::<T, T>(sh, &o, &a, $f)? } }
    macro_rules! via64 { ($f:expr) => { strided::map1::<T, T>(sh, &o, &a, |x: T| T::from_f64($f(x.to_f64())))? } }
    let z = T::zero();
    let one = T::one();
    match op {
        Neg => go!(|x: T| -x),
        Abs => go!(|x: T| x.abs()),
        // (0 < x) - (x < 0): NaN and -0.0 give +0, like PyTorch
        Sign => go!(|x: T| if x > z { one } else if x < z { -one } else { z }),
        Floor => go!(|x: T| x.floor()),
        Ceil => go!(|x: T| x.ceil()),
        Round => go!(|x: T| { let r = x.round(); if (x - x.trunc()).abs() == T::from_f64(0.5) { (x / T::from_f64(2.0)).round() * T::from_f64(2.0) } else { r } }),
        Trunc => go!(|x: T| x.trunc()),
        Frac => go!(|x: T| x - x.trunc()),
        Square => go!(|x: T| x * x),
        Relu => go!(|x: T| if x > z { x } else if x.is_nan() { x } else { z }),
        Exp => go!(|x: T| x.exp()),
        Exp2 => go!(|x: T| x.exp2()),
        Expm1 => go!(|x: T| x.exp_m1()),
        Log => go!(|x: T| x.ln()),
        Log2 => go!(|x: T| x.log2()),
        Log10 => go!(|x: T| x.log10()),
        Log1p => go!(|x: T| x.ln_1p()),
        Sqrt => go!(|x: T| x.sqrt()),
        Rsqrt => go!(|x: T| one / x.sqrt()),
        Sin => go!(|x: T| x.sin()),
        Cos => go!(|x: T| x.cos()),
        Tan => go!(|x: T| x.tan()),
        Asin => go!(|x: T| x.asin()),
        Acos => go!(|x: T| x.acos()),
        Atan => go!(|x: T| x.atan()),
        Sinh => go!(|x: T| x.sinh()),
        Cosh => go!(|x: T| x.cosh()),
        Tanh => go!(|x: T| x.tanh()),
        Asinh => go!(|x: T| x.asinh()),
        Acosh => go!(|x: T| x.acosh()),
        Atanh => go!(|x: T| x.atanh()),
        Sigmoid => go!(|x: T| one / (one + (-x).exp())),
        Reciprocal => go!(|x: T| one / x),
        Erf => via64!(libm::erf),
        Erfc => via64!(libm::erfc),
        Erfinv => via64!(erfinv),
        Digamma => via64!(digamma),
        Trigamma => via64!(trigamma),
        Lgamma => via64!(libm::lgamma),
        _ => return Err(Error::Runtime(format!("internal: {:?} is not a float op", op))),
    }
    Ok(())
}

fn int_kernel<T: Elem + binary::Arith + std::ops::Not<Output = T>>(op: UnaryOp, out: &Tensor, x: &Tensor) -> Result<()> {
    use UnaryOp::*;
    let (o, a) = (out.body(), x.body());
    let sh = &a.shape;
    macro_rules! go { ($f:expr) => { strided::map1::<T, T>(sh, &o, &a, $f)? } }
    let z = T::default();
    match op {
        Neg => go!(|x: T| T::sub(z, x)),
        Abs => go!(|x: T| if x < z { T::sub(z, x) } else { x }),
        Sign => go!(|x: T| if x > z { T::from_i64(1) } else if x < z { T::from_i64(-1) } else { z }),
        Floor | Ceil | Round | Trunc => go!(|x: T| x),
        Square => go!(|x: T| T::mul(x, x)),
        Relu => go!(|x: T| if x > z { x } else { z }),
        BitwiseNot => go!(|x: T| !x),
        _ => return Err(Error::Runtime(format!("internal: {:?} is not an integer op", op))),
    }
    Ok(())
}

fn bool_kernel<T: Elem>(op: UnaryOp, out: &Tensor, x: &Tensor) -> Result<()> {
    use UnaryOp::*;
    let (o, a) = (out.body(), x.body());
    let sh = &a.shape;
    macro_rules! go { ($f:expr) => { strided::map1::<bool, T>(sh, &o, &a, $f) } }
    match op {
        IsNan => go!(|x: T| x.to_f64().is_nan() || x.im().is_nan()),
        IsInf => go!(|x: T| x.to_f64().is_infinite() || x.im().is_infinite()),
        IsFinite => go!(|x: T| x.to_f64().is_finite() && x.im().is_finite()),
        SignBit => go!(|x: T| x.to_f64().is_sign_negative()),
        _ => go!(|x: T| x == T::default()), // LogicalNot
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
    if op.bool_out() {
        return crate::dispatch!(x.dtype(), T => bool_kernel::<T>(op, out, x));
    }
    if dt == DType::Bool {
        // abs/relu/... on bool are identities; bitwise_not is logical not
        let t = if op == UnaryOp::BitwiseNot { let o = Tensor::empty(&x.shape(), DType::Bool)?; bool_kernel::<bool>(UnaryOp::LogicalNot, &o, x)?; o } else { x.clone() };
        return copy::copy_raw(out, &t);
    }
    if dt.is_complex() { return crate::ops::complex::unary_into(op, x, out); }
    let kd = dt.compute();
    let xin = if x.dtype() == kd { x.clone() } else { copy::contiguous_as(x, kd)? };
    let target = if out.dtype() == kd { out.clone() } else { Tensor::empty(&x.shape(), kd)? };
    match kd {
        DType::F32 => float_kernel::<f32>(op, &target, &xin)?,
        DType::F64 => float_kernel::<f64>(op, &target, &xin)?,
        DType::U8 => int_kernel::<u8>(op, &target, &xin)?,
        DType::I8 => int_kernel::<i8>(op, &target, &xin)?,
        DType::I16 => int_kernel::<i16>(op, &target, &xin)?,
        DType::I32 => int_kernel::<i32>(op, &target, &xin)?,
        DType::I64 => int_kernel::<i64>(op, &target, &xin)?,
        _ => unreachable!(),
    }
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

/// Inverse error function: Giles' single-precision-friendly approximation refined by Newton steps.
pub fn erfinv(y: f64) -> f64 {
    if y <= -1.0 { return if y == -1.0 { f64::NEG_INFINITY } else { f64::NAN } }
    if y >= 1.0 { return if y == 1.0 { f64::INFINITY } else { f64::NAN } }
    let w = -((1.0 - y) * (1.0 + y)).ln();
    let mut x = if w < 5.0 {
        let w = w - 2.5;
        let mut p = 2.81022636e-08;
        for c in [3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941] { p = c + p * w; }
        p * y
    } else {
        let w = w.sqrt() - 3.0;
        let mut p = -0.000200214257;
        for c in [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682] { p = c + p * w; }
        p * y
    };
    for _ in 0..2 {
        let err = libm::erf(x) - y;
        x -= err / (2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp());
    }
    x
}

pub fn digamma(mut x: f64) -> f64 {
    if x == 0.0 { return if x.is_sign_negative() { f64::INFINITY } else { f64::NEG_INFINITY } }
    if x < 0.0 {
        if x == x.floor() { return f64::NAN; }
        // reflection
        return digamma(1.0 - x) - std::f64::consts::PI / (std::f64::consts::PI * x).tan();
    }
    let mut r = 0.0;
    while x < 6.0 { r -= 1.0 / x; x += 1.0; }
    let f = 1.0 / (x * x);
    r + x.ln() - 0.5 / x - f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f / 132.0))))
}

pub fn trigamma(mut x: f64) -> f64 {
    let mut r = 0.0;
    if x < 0.0 {
        let s = std::f64::consts::PI / (std::f64::consts::PI * x).sin();
        return -trigamma(1.0 - x) + s * s;
    }
    while x < 6.0 { r += 1.0 / (x * x); x += 1.0; }
    let f = 1.0 / (x * x);
    r + 1.0 / x + f / 2.0 + f / x * (1.0 / 6.0 - f * (1.0 / 30.0 - f * (1.0 / 42.0 - f / 30.0)))
}
