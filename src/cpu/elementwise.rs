//! Elementwise kernels of the CPU backend: unary ops, arithmetic, comparisons, float-only
//! binary ops, selection and cast-copies, each one generic kernel per dtype class over strided
//! views (`strided::map1/2/3`), chosen by the op descriptor (`UnaryOp`, `BinOp`) that `src/ops`
//! passes through the device contract.
use super::strided;
use crate::dtype::{DType, Elem};
use crate::error::{Error, Result};
use crate::ops::binary::BinOp;
use crate::ops::unary::UnaryOp;
use crate::tensor::Tensor;
use num_complex::Complex;
use num_traits::Float;

/// Numeric kernel ops, instantiated for the integer types and f32/f64.
pub trait Arith: Elem {
    fn add(a: Self, b: Self) -> Self;
    fn sub(a: Self, b: Self) -> Self;
    fn mul(a: Self, b: Self) -> Self;
    fn div(a: Self, b: Self) -> Self;
    fn floordiv(a: Self, b: Self) -> Self;
    fn rem(a: Self, b: Self) -> Self;
    fn fmod(a: Self, b: Self) -> Self;
    fn pow(a: Self, b: Self) -> Self;
    fn maxv(a: Self, b: Self) -> Self;
    fn minv(a: Self, b: Self) -> Self;
    fn bits(a: Self, b: Self, op: BinOp) -> Self;
    fn is_zero(a: Self) -> bool;
}

macro_rules! int_arith {
    ($($t:ty),*) => {$(
        // sign tests are no-ops for uint8, which is fine
        #[allow(unused_comparisons)]
        impl Arith for $t {
            #[inline] fn add(a: Self, b: Self) -> Self { a.wrapping_add(b) }
            #[inline] fn sub(a: Self, b: Self) -> Self { a.wrapping_sub(b) }
            #[inline] fn mul(a: Self, b: Self) -> Self { a.wrapping_mul(b) }
            #[inline] fn div(a: Self, b: Self) -> Self { if b == 0 { 0 } else { a.wrapping_div(b) } }
            #[inline] fn floordiv(a: Self, b: Self) -> Self {
                if b == 0 { return 0 }
                // wrapping: MIN // -1 wraps to MIN like PyTorch instead of trapping
                let q = a.wrapping_div(b);
                if (a.wrapping_rem(b) != 0) && ((a < 0) != (b < 0)) { q.wrapping_sub(1) } else { q }
            }
            #[inline] fn rem(a: Self, b: Self) -> Self {
                if b == 0 { return 0 }
                let r = a.wrapping_rem(b);
                if r != 0 && ((r < 0) != (b < 0)) { r.wrapping_add(b) } else { r }
            }
            #[inline] fn fmod(a: Self, b: Self) -> Self { if b == 0 { 0 } else { a.wrapping_rem(b) } }
            #[inline] fn pow(a: Self, b: Self) -> Self {
                // negative powers truncate toward zero: only 1 and -1 survive
                let mut e = b as i64;
                if e < 0 { return if a == 1 { 1 } else if a == (0 as $t).wrapping_sub(1) { if e & 1 == 1 { a } else { 1 } } else { 0 } }
                let (mut base, mut r): ($t, $t) = (a, 1);
                while e > 0 { if e & 1 == 1 { r = r.wrapping_mul(base); } base = base.wrapping_mul(base); e >>= 1; }
                r
            }
            #[inline] fn maxv(a: Self, b: Self) -> Self { if a > b { a } else { b } }
            #[inline] fn minv(a: Self, b: Self) -> Self { if a < b { a } else { b } }
            #[inline] fn bits(a: Self, b: Self, op: BinOp) -> Self {
                match op {
                    BinOp::BitAnd => a & b, BinOp::BitOr => a | b, BinOp::BitXor => a ^ b,
                    BinOp::Shl => if (b as i64) < 0 || (b as i64) >= (8 * std::mem::size_of::<$t>()) as i64 { 0 } else { a.wrapping_shl(b as u32) },
                    BinOp::Shr => if (b as i64) < 0 || (b as i64) >= (8 * std::mem::size_of::<$t>()) as i64 { if a < 0 as $t { !0 } else { 0 } } else { a.wrapping_shr(b as u32) },
                    _ => 0,
                }
            }
            #[inline] fn is_zero(a: Self) -> bool { a == 0 }
        }
    )*};
}
int_arith!(u8, i8, i16, i32, i64);

macro_rules! float_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline] fn add(a: Self, b: Self) -> Self { a + b }
            #[inline] fn sub(a: Self, b: Self) -> Self { a - b }
            #[inline] fn mul(a: Self, b: Self) -> Self { a * b }
            #[inline] fn div(a: Self, b: Self) -> Self { a / b }
            #[inline] fn floordiv(a: Self, b: Self) -> Self {
                // PyTorch's div_floor: computed from fmod so that a == b*q + r stays consistent
                if b == 0.0 { return a / b }
                let m = a % b;
                let mut d = (a - m) / b;
                if m != 0.0 && ((b < 0.0) != (m < 0.0)) { d -= 1.0; }
                let fd = d.floor();
                if d - fd > 0.5 { fd + 1.0 } else if d == 0.0 { (0.0 as $t).copysign(a / b) } else { fd }
            }
            #[inline] fn rem(a: Self, b: Self) -> Self { let r = a % b; if r != 0.0 && ((r < 0.0) != (b < 0.0)) { r + b } else { r } }
            #[inline] fn fmod(a: Self, b: Self) -> Self { a % b }
            #[inline] fn pow(a: Self, b: Self) -> Self {
                if b == 2.0 { a * a } else if b == 0.5 { a.sqrt() } else if b == 1.0 { a } else if b == -1.0 { 1.0 / a } else { a.powf(b) }
            }
            #[inline] fn maxv(a: Self, b: Self) -> Self { if a.is_nan() || b.is_nan() { <$t>::NAN } else if a > b { a } else { b } }
            #[inline] fn minv(a: Self, b: Self) -> Self { if a.is_nan() || b.is_nan() { <$t>::NAN } else if a < b { a } else { b } }
            #[inline] fn bits(_: Self, _: Self, _: BinOp) -> Self { 0.0 }
            #[inline] fn is_zero(a: Self) -> bool { a == 0.0 }
        }
    )*};
}
float_arith!(f32, f64);

fn float_only<T: num_traits::Float>(op: BinOp, a: T, b: T) -> T {
    match op {
        BinOp::Atan2 => a.atan2(b),
        BinOp::Hypot => a.hypot(b),
        BinOp::Copysign => a.copysign(b),
        BinOp::Xlogy => if b.is_nan() { b } else if a == T::zero() { T::zero() } else { a * b.ln() },
        BinOp::LogAddExp => {
            if a.is_nan() || b.is_nan() { return T::nan(); }
            let m = a.max(b);
            // an infinite max is the answer (and avoids inf - inf)
            if m.is_infinite() { m } else { m + ((a - m).exp() + (b - m).exp()).ln() }
        }
        _ => T::nan(),
    }
}

pub fn arith_kernel<T: Arith>(op: BinOp, shape: &[usize], out: &Tensor, a: &Tensor, b: &Tensor, alpha: T) -> Result<()> {
    let (o, x, y) = (out.body_ref(), a.body_ref(), b.body_ref());
    macro_rules! go { ($f:expr) => { strided::map2::<T, T, T>(shape, &o, &x, &y, $f)? } }
    let one = T::from_f64(1.0);
    if op == BinOp::Pow && T::DTYPE.is_float() && b.numel() == 1 {
        // small integral exponents as products, as PyTorch computes them (x * x for 2, 1 / x
        // for -1, ...): a libm powf call per element ran at 2.3x PyTorch's time
        let done = match b.item_f64()? {
            1.0 => { go!(|a, _e| a); true }
            2.0 => { go!(|a, _e| T::mul(a, a)); true }
            3.0 => { go!(|a, _e| T::mul(T::mul(a, a), a)); true }
            -1.0 => { go!(move |a, _e| T::div(one, a)); true }
            -2.0 => { go!(move |a, _e| T::div(one, T::mul(a, a))); true }
            _ => false,
        };
        if done { return Ok(()); }
        // float32 to a finite power into a contiguous output: a vectorised kernel instead of libm
        // per element (a strided base is first copied into the output, so every layout gives
        // the same bits)
        let y = b.item_f64()?;
        if T::DTYPE == DType::F32 && y.is_finite() && o.is_contiguous() && o.shape == x.shape {
            let y = y as f32;
            let pow = move |s: &[f32], d: &mut [f32]| super::simd::powf_slice(s, y, d);
            if x.is_contiguous() { return super::simd::map_f32_in_place_or_into(&o, &x, pow); }
            if !std::ptr::eq(o.storage.as_ref(), x.storage.as_ref()) {
                strided::map1::<f32, f32>(&o.shape, &o, &x, |v| v)?;
                return super::simd::map_f32_in_place_or_into(&o, &o, pow);
            }
        }
    }
    // closures that use alpha or one take them by value (`move`): one read through a
    // reference kept the loop scalar
    match op {
        BinOp::Add if alpha == one => go!(|a, b| T::add(a, b)),
        BinOp::Add => go!(move |a, b| T::add(a, T::mul(alpha, b))),
        BinOp::Sub if alpha == one => go!(|a, b| T::sub(a, b)),
        BinOp::Sub => go!(move |a, b| T::sub(a, T::mul(alpha, b))),
        BinOp::Mul => go!(|a, b| T::mul(a, b)),
        BinOp::Div | BinOp::TruncDiv => go!(|a, b| T::div(a, b)),
        BinOp::FloorDiv => go!(|a, b| T::floordiv(a, b)),
        BinOp::Remainder => go!(|a, b| T::rem(a, b)),
        BinOp::Fmod => go!(|a, b| T::fmod(a, b)),
        BinOp::Pow => go!(|a, b| T::pow(a, b)),
        BinOp::Maximum => go!(|a, b| T::maxv(a, b)),
        BinOp::Minimum => go!(|a, b| T::minv(a, b)),
        BinOp::ReluGrad => go!(|a, b| if b <= T::default() { T::default() } else { a }),  // no captures, as Relu
        BinOp::TanhGrad => go!(move |a, b| T::mul(a, T::sub(one, T::mul(b, b)))),
        BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::Shl | BinOp::Shr => go!(|a, b| T::bits(a, b, op)),
        _ => return Err(Error::Runtime(format!("internal: {:?} has no arithmetic kernel", op))),
    }
    Ok(())
}

pub fn compare_kernel<T: Elem>(op: BinOp, shape: &[usize], out: &Tensor, a: &Tensor, b: &Tensor) -> Result<()> {
    let (o, x, y) = (out.body_ref(), a.body_ref(), b.body_ref());
    macro_rules! go { ($f:expr) => { strided::map2::<bool, T, T>(shape, &o, &x, &y, $f)? } }
    let z = T::default();
    match op {
        BinOp::Eq => go!(|a, b| a == b),
        BinOp::Ne => go!(|a, b| a != b),
        BinOp::Lt => go!(|a, b| a < b),
        BinOp::Le => go!(|a, b| a <= b),
        BinOp::Gt => go!(|a, b| a > b),
        BinOp::Ge => go!(|a, b| a >= b),
        BinOp::LogicalAnd => go!(|a, b| a != z && b != z),
        BinOp::LogicalOr => go!(|a, b| a != z || b != z),
        BinOp::LogicalXor => go!(|a, b| (a != z) != (b != z)),
        _ => return Err(Error::Runtime(format!("internal: {:?} has no comparison kernel", op))),
    }
    Ok(())
}

pub fn float_only_kernel<T: num_traits::Float + Elem>(op: BinOp, shape: &[usize], out: &Tensor, a: &Tensor, b: &Tensor) -> Result<()> {
    let (o, x, y) = (out.body_ref(), a.body_ref(), b.body_ref());
    strided::map2::<T, T, T>(shape, &o, &x, &y, |a, b| float_only(op, a, b))
}

/// `+ - * / maximum minimum` for float16/bfloat16 `out`, computed in f32 a block at a time
/// (`convert::half_binary`). Each of a and b is a contiguous tensor of out's dtype and shape, or
/// one element (a number, kept at f32 precision as PyTorch keeps scalars in half ops).
pub fn half_arith_kernel(op: BinOp, out: &Tensor, a: &Tensor, b: &Tensor, alpha: f64) -> Result<()> {
    match out.dtype() {
        DType::F16 => half_arith::<half::f16>(op, out, a, b, alpha),
        DType::BF16 => half_arith::<half::bf16>(op, out, a, b, alpha),
        dt => Err(Error::Runtime(format!("internal: half-precision arithmetic into {}", dt.name()))),
    }
}

fn half_arith<H: super::convert::HalfBlocks + Elem>(op: BinOp, out: &Tensor, a: &Tensor, b: &Tensor, alpha: f64) -> Result<()> {
    use super::convert::{half_binary, HalfArg};
    super::check_outputs(&[out], &[a, b])?;
    let n = out.numel();
    let alpha = alpha as f32;
    // an operand of n elements of H is read as a slice; one element of any dtype is a value
    let value = |t: &Tensor| -> Result<Option<f32>> { Ok(if t.numel() == 1 && (n != 1 || t.dtype() != H::DTYPE) { Some(t.item_f64()? as f32) } else { None }) };
    let (va, vb) = (value(a)?, value(b)?);
    let slices = |x: Option<&[H]>, y: Option<&[H]>| -> Result<()> {
        fn arg<H>(s: Option<&[H]>, v: Option<f32>) -> HalfArg<'_, H> {
            match (s, v) { (Some(s), None) => HalfArg::Slice(s), (_, v) => HalfArg::Value(v.unwrap_or(f32::NAN)) }
        }
        let (xa, xb) = (arg(x, va), arg(y, vb));
        super::write::<H, _>(out, |o| {
            macro_rules! go { ($f:expr) => {
                half_binary(o, xa, xb, #[inline(always)] move |p: &[f32], q: &[f32], r: &mut [f32]| {
                    super::simd::vectorized(#[inline(always)] || for ((r, &x), &y) in r.iter_mut().zip(p).zip(q) { *r = $f(x, y) })
                })
            } }
            match op {
                BinOp::Add if alpha == 1.0 => go!(|x: f32, y: f32| x + y),
                BinOp::Add => go!(move |x: f32, y: f32| x + alpha * y),
                BinOp::Sub if alpha == 1.0 => go!(|x: f32, y: f32| x - y),
                BinOp::Sub => go!(move |x: f32, y: f32| x - alpha * y),
                BinOp::Mul => go!(|x: f32, y: f32| x * y),
                BinOp::Div => go!(|x: f32, y: f32| x / y),
                BinOp::Maximum => go!(|x: f32, y: f32| <f32 as Arith>::maxv(x, y)),
                BinOp::Minimum => go!(|x: f32, y: f32| <f32 as Arith>::minv(x, y)),
                _ => Err(Error::Runtime(format!("internal: {:?} has no half-precision kernel", op))),
            }
        })?
    };
    match (va.is_some(), vb.is_some()) {
        (false, false) => super::read::<H, _>(a, |x| super::read::<H, _>(b, |y| slices(Some(x), Some(y))))???,
        (false, true) => super::read::<H, _>(a, |x| slices(Some(x), None))??,
        (true, false) => super::read::<H, _>(b, |y| slices(None, Some(y)))??,
        (true, true) => slices(None, None)?,
    }
    Ok(())
}

/// addcmul / addcdiv / lerp in one pass, in ATen's arithmetic (checked bit for bit against
/// PyTorch 2.13 on 10^5 random float32 values): `a + (value * b) * c` with one rounding of
/// the multiply-add, `a + (value * b) / c`, and lerp as a multiply-add from the start for
/// weights below 0.5 in magnitude, back from the end with the rounded `w - 1` otherwise
/// (exact at both ends of the interval).
pub fn pointwise3_kernel<T: Float + Elem>(op: crate::ops::binary::Pointwise3, out: &Tensor, a: &Tensor, b: &Tensor, c: &Tensor, value: f64) -> Result<()> {
    use crate::ops::binary::Pointwise3;
    let (o, x, y, z) = (out.body_ref(), a.body_ref(), b.body_ref(), c.body_ref());
    let v = T::from_f64(value);
    let (half, one) = (T::from_f64(0.5), T::one());
    macro_rules! go { ($f:expr) => { strided::map3::<T, T, T, T>(&o.shape, &o, &x, &y, &z, $f) } }
    match op {
        Pointwise3::AddCMul => go!(move |s, t1, t2| (v * t1).mul_add(t2, s)),
        Pointwise3::AddCDiv => go!(move |s, t1, t2| s + v * t1 / t2),
        // selects, not branches, so the loop vectorises (a branch per element ran scalar)
        Pointwise3::Lerp => go!(move |s, e, w| {
            let small = w.abs() < half;
            let (coeff, base) = (if small { w } else { w - one }, if small { s } else { e });
            coeff.mul_add(e - s, base)
        }),
    }
}

/// f32 exp/sigmoid/tanh/log/sin/erf... on contiguous data: vectorized kernels, split across threads. (libm's
/// tanhf, which the generic path calls, took 27 ns per element.)
fn unary_fast_f32(op: UnaryOp, out: &Tensor, x: &Tensor) -> Result<bool> {
    let (o, a) = (out.body_ref(), x.body_ref());
    let f: fn(&[f32], &mut [f32]) = match op {
        UnaryOp::Exp => super::simd::exp_slice,
        UnaryOp::Sigmoid => super::simd::sigmoid_slice,
        UnaryOp::Tanh => super::simd::tanh_slice,
        UnaryOp::Log => super::simd::log_slice,
        UnaryOp::Log1p => super::simd::log1p_slice,
        UnaryOp::Sin => super::simd::sin_slice,
        UnaryOp::Cos => super::simd::cos_slice,
        UnaryOp::Erf => super::simd::erf_slice,
        _ => return Ok(false),
    };
    if !(o.dtype == DType::F32 && a.dtype == DType::F32 && o.is_contiguous() && a.is_contiguous()) {
        return Ok(false);
    }
    super::simd::map_f32_in_place_or_into(&o, &a, f)?;
    Ok(true)
}

/// clamp with scalar bounds in one pass: comparisons that are false for NaN keep a NaN
/// element as it is, and x equal to a bound is x itself (so -0.0 against a 0.0 bound stays
/// -0.0, as PyTorch's max/min instructions leave it). The bounds are captured by value: a
/// closure reading them through a reference compiled to a scalar loop.
pub fn clamp_kernel<T: Float + Elem>(out: &Tensor, x: &Tensor, lo: Option<f64>, hi: Option<f64>) -> Result<()> {
    let (o, a) = (out.body_ref(), x.body_ref());
    let lo = lo.map_or(T::neg_infinity(), T::from_f64);
    let hi = hi.map_or(T::infinity(), T::from_f64);
    strided::map1::<T, T>(&a.shape, &o, &a, move |v: T| {
        let v = if v < lo { lo } else { v };
        if v > hi { hi } else { v }
    })
}

pub fn unary_float_kernel<T: Float + Elem>(op: UnaryOp, out: &Tensor, x: &Tensor) -> Result<()> {
    use UnaryOp::*;
    if unary_fast_f32(op, out, x)? { return Ok(()); }
    let (o, a) = (out.body_ref(), x.body_ref());
    let sh = &a.shape;
    macro_rules! go { ($f:expr) => { strided::map1::<T, T>(sh, &o, &a, $f)? } }
    macro_rules! via64 { ($f:expr) => { strided::map1::<T, T>(sh, &o, &a, |x: T| T::from_f64($f(x.to_f64())))? } }
    // the closures name T::zero()/T::one() rather than capture them: a captured value read
    // through a reference kept the loop scalar (rsqrt ran at a quarter of PyTorch's speed)
    match op {
        Neg => go!(|x: T| -x),
        Abs => go!(|x: T| x.abs()),
        // (0 < x) - (x < 0): NaN and -0.0 give +0, like PyTorch
        Sign => go!(|x: T| if x > T::zero() { T::one() } else if x < T::zero() { -T::one() } else { T::zero() }),
        Floor => go!(|x: T| x.floor()),
        Ceil => go!(|x: T| x.ceil()),
        Round => go!(|x: T| { let r = x.round(); if (x - x.trunc()).abs() == T::from_f64(0.5) { (x / T::from_f64(2.0)).round() * T::from_f64(2.0) } else { r } }),
        Trunc => go!(|x: T| x.trunc()),
        Frac => go!(|x: T| x - x.trunc()),
        Square => go!(|x: T| x * x),
        // clamp_min(x, 0) as PyTorch: NaN and -0.0 pass through. No captured values: a
        // closure reading `z` through a reference kept this loop scalar.
        Relu => go!(|x: T| if x < T::zero() { T::zero() } else { x }),
        Exp => go!(|x: T| x.exp()),
        Exp2 => go!(|x: T| x.exp2()),
        Expm1 => go!(|x: T| x.exp_m1()),
        Log => go!(|x: T| x.ln()),
        Log2 => go!(|x: T| x.log2()),
        Log10 => go!(|x: T| x.log10()),
        Log1p => go!(|x: T| x.ln_1p()),
        Sqrt => go!(|x: T| x.sqrt()),
        Rsqrt => go!(|x: T| T::one() / x.sqrt()),
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
        Sigmoid => go!(|x: T| T::one() / (T::one() + (-x).exp())),
        Reciprocal => go!(|x: T| T::one() / x),
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

pub fn unary_int_kernel<T: Elem + Arith + std::ops::Not<Output = T>>(op: UnaryOp, out: &Tensor, x: &Tensor) -> Result<()> {
    use UnaryOp::*;
    let (o, a) = (out.body_ref(), x.body_ref());
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

pub fn unary_bool_kernel<T: Elem>(op: UnaryOp, out: &Tensor, x: &Tensor) -> Result<()> {
    use UnaryOp::*;
    let (o, a) = (out.body_ref(), x.body_ref());
    let sh = &a.shape;
    macro_rules! go { ($f:expr) => { strided::map1::<bool, T>(sh, &o, &a, $f) } }
    match op {
        IsNan => go!(|x: T| x.to_f64().is_nan() || x.im().is_nan()),
        IsInf => go!(|x: T| x.to_f64().is_infinite() || x.im().is_infinite()),
        IsFinite => go!(|x: T| x.to_f64().is_finite() && x.im().is_finite()),
        SignBit => go!(|x: T| x.to_f64().is_sign_negative()),
        LogicalNot => go!(|x: T| x == T::default()),
        _ => Err(Error::Runtime(format!("internal: {:?} has no bool-valued kernel", op))),
    }
}

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

// ---- complex maps (`Backend::complex_map`): the maths runs in complex128 for both complex
// dtypes; complex64 results are rounded once at the end.

/// A holomorphic unary op on one complex value.
pub fn complex_unary(op: UnaryOp, z: Complex<f64>) -> Complex<f64> {
    use UnaryOp::*;
    let one = Complex::new(1.0, 0.0);
    match op {
        Neg => -z,
        Square => z * z,
        Exp => z.exp(),
        Exp2 => (z * std::f64::consts::LN_2).exp(),
        Expm1 => z.exp() - one,
        Log => z.ln(),
        Log2 => z.ln() / std::f64::consts::LN_2,
        Log10 => z.ln() / std::f64::consts::LN_10,
        Log1p => (z + one).ln(),
        Sqrt => z.sqrt(),
        Rsqrt => one / z.sqrt(),
        Sin => z.sin(),
        Cos => z.cos(),
        Tan => z.tan(),
        Asin => z.asin(),
        Acos => z.acos(),
        Atan => z.atan(),
        Sinh => z.sinh(),
        Cosh => z.cosh(),
        Tanh => z.tanh(),
        Asinh => z.asinh(),
        Acosh => z.acosh(),
        Atanh => z.atanh(),
        Sigmoid => one / (one + (-z).exp()),
        Reciprocal => one / z,
        _ => Complex::new(f64::NAN, f64::NAN),
    }
}


/// `out = f(z)` for complex z: complex out of z's dtype, or real out of its part dtype for
/// abs and angle.
pub fn complex_map_kernel(f: crate::ops::complex::ComplexMap, out: &Tensor, z: &Tensor) -> Result<()> {
    use crate::ops::complex::ComplexMap as M;
    let (o, a) = (out.body_ref(), z.body_ref());
    let holo = move |c: Complex<f64>| -> Complex<f64> {
        match f {
            M::Unary(op) => complex_unary(op, c),
            M::Conj => c.conj(),
            M::Sgn => { let r = c.norm(); if r == 0.0 { Complex::new(0.0, 0.0) } else { c / r } }
            M::Abs | M::Angle => Complex::new(f64::NAN, f64::NAN),
        }
    };
    let real = move |c: Complex<f64>| -> f64 { if f == M::Abs { c.norm() } else { c.arg() } };
    macro_rules! go { ($T:ty, $R:ty) => {
        if matches!(f, M::Abs | M::Angle) {
            super::strided::map1::<$R, $T>(&a.shape, &o, &a, |x: $T| real(Complex::new(x.to_f64(), x.im())) as $R)
        } else {
            super::strided::map1::<$T, $T>(&a.shape, &o, &a, |x: $T| { let r = holo(Complex::new(x.to_f64(), x.im())); <$T>::from_parts(r.re, r.im) })
        }
    } }
    match a.dtype {
        DType::C64 => go!(crate::dtype::c64, f32),
        DType::C128 => go!(crate::dtype::c128, f64),
        d => crate::bail!("internal: complex map of a {} tensor", d.name()),
    }
}

/// Complex elementwise arithmetic for the binary kernel (`Arith` for c64/c128).
macro_rules! complex_arith {
    ($t:ty, $f:ty) => {
        impl Arith for $t {
            #[inline] fn add(a: Self, b: Self) -> Self { crate::dtype::Cplx(a.0 + b.0) }
            #[inline] fn sub(a: Self, b: Self) -> Self { crate::dtype::Cplx(a.0 - b.0) }
            #[inline] fn mul(a: Self, b: Self) -> Self { crate::dtype::Cplx(a.0 * b.0) }
            #[inline] fn div(a: Self, b: Self) -> Self { crate::dtype::Cplx(a.0.fdiv(b.0)) }
            #[inline] fn floordiv(_: Self, _: Self) -> Self { crate::dtype::Cplx(num_complex::Complex::new(<$f>::NAN, <$f>::NAN)) }
            #[inline] fn rem(_: Self, _: Self) -> Self { crate::dtype::Cplx(num_complex::Complex::new(<$f>::NAN, <$f>::NAN)) }
            #[inline] fn fmod(_: Self, _: Self) -> Self { crate::dtype::Cplx(num_complex::Complex::new(<$f>::NAN, <$f>::NAN)) }
            #[inline] fn pow(a: Self, b: Self) -> Self {
                // integral real exponents multiply exactly (z**2 == z*z), like PyTorch's fast paths
                if b.0.im == 0.0 && b.0.re == 2.0 { return crate::dtype::Cplx(a.0 * a.0) }
                if b.0.im == 0.0 && b.0.re == 1.0 { return a }
                if b.0 == num_complex::Complex::new(0.0, 0.0) { return crate::dtype::Cplx(num_complex::Complex::new(1.0, 0.0)) }
                if a.0 == num_complex::Complex::new(0.0, 0.0) {
                    return if b.0.re > 0.0 { crate::dtype::Cplx(num_complex::Complex::new(0.0, 0.0)) } else { crate::dtype::Cplx(num_complex::Complex::new(<$f>::NAN, <$f>::NAN)) }
                }
                crate::dtype::Cplx(a.0.powc(b.0))
            }
            #[inline] fn maxv(a: Self, _: Self) -> Self { a }
            #[inline] fn minv(a: Self, _: Self) -> Self { a }
            #[inline] fn bits(a: Self, _: Self, _: BinOp) -> Self { a }
            #[inline] fn is_zero(a: Self) -> bool { a.0 == num_complex::Complex::new(0.0, 0.0) }
        }
    };
}
complex_arith!(crate::dtype::c64, f32);
complex_arith!(crate::dtype::c128, f64);

