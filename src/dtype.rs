//! Scalar types, PyTorch's promotion lattice and the element trait every kernel is generic over.
use half::{bf16, f16};

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
pub enum DType { Bool, U8, I8, I16, I32, I64, F16, BF16, F32, F64, C64, C128 }

pub const ALL_DTYPES: [DType; 12] = [
    DType::Bool, DType::U8, DType::I8, DType::I16, DType::I32, DType::I64,
    DType::F16, DType::BF16, DType::F32, DType::F64, DType::C64, DType::C128,
];

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Category { Bool, Int, Float, Complex }

impl DType {
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::I32 | DType::F32 => 4,
            DType::I64 | DType::F64 | DType::C64 => 8,
            DType::C128 => 16,
        }
    }
    pub fn is_float(self) -> bool { matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64) }
    pub fn is_int(self) -> bool { matches!(self, DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64) }
    pub fn is_complex(self) -> bool { matches!(self, DType::C64 | DType::C128) }
    /// Dtypes autograd differentiates (PyTorch: floating point and complex).
    pub fn is_differentiable(self) -> bool { self.is_float() || self.is_complex() }
    pub fn is_signed(self) -> bool { !matches!(self, DType::Bool | DType::U8) }
    pub fn category(self) -> Category {
        if self == DType::Bool { Category::Bool } else if self.is_float() { Category::Float } else if self.is_complex() { Category::Complex } else { Category::Int }
    }
    /// The real dtype of a complex one's parts (other dtypes map to themselves).
    pub fn to_real(self) -> DType { match self { DType::C64 => DType::F32, DType::C128 => DType::F64, d => d } }
    /// The complex dtype whose parts have this precision (float64 -> complex128, other floats -> complex64).
    pub fn to_complex(self) -> DType { match self { DType::F64 | DType::C128 => DType::C128, _ => DType::C64 } }
    /// torch name, e.g. "float32".
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool", DType::U8 => "uint8", DType::I8 => "int8", DType::I16 => "int16",
            DType::I32 => "int32", DType::I64 => "int64", DType::F16 => "float16", DType::BF16 => "bfloat16",
            DType::F32 => "float32", DType::F64 => "float64", DType::C64 => "complex64", DType::C128 => "complex128",
        }
    }
    /// Legacy type name used in error messages: "Float", "Long", ...
    pub fn legacy_name(self) -> &'static str {
        match self {
            DType::Bool => "Bool", DType::U8 => "Byte", DType::I8 => "Char", DType::I16 => "Short",
            DType::I32 => "Int", DType::I64 => "Long", DType::F16 => "Half", DType::BF16 => "BFloat16",
            DType::F32 => "Float", DType::F64 => "Double", DType::C64 => "ComplexFloat", DType::C128 => "ComplexDouble",
        }
    }
    pub fn from_name(s: &str) -> Option<DType> {
        ALL_DTYPES.iter().copied().find(|d| d.name() == s)
    }
    /// The dtype math on this dtype is carried out in (half types compute in f32).
    pub fn compute(self) -> DType {
        match self { DType::F16 | DType::BF16 => DType::F32, d => d }
    }
}

/// PyTorch's pairwise promotion table (same as NumPy's for these types, plus bf16+f16 -> f32).
pub fn promote(a: DType, b: DType) -> DType {
    use DType::*;
    if a == b { return a; }
    if a == Bool { return b; }
    if b == Bool { return a; }
    if a.is_complex() || b.is_complex() {
        // the parts take the wider floating precision of the two
        let wide = |d: DType| matches!(d, F64 | C128);
        return if wide(a) || wide(b) { C128 } else { C64 };
    }
    match (a.is_float(), b.is_float()) {
        (true, false) => a,
        (false, true) => b,
        (true, true) => {
            if (a == F16 && b == BF16) || (a == BF16 && b == F16) { F32 } else { a.max(b) }
        }
        (false, false) => {
            // integers: uint8 with a signed type needs the next wider signed type
            let (u, s) = if a == U8 { (a, b) } else if b == U8 { (b, a) } else { return a.max(b) };
            let _ = u;
            match s { I8 => I16, other => other }
        }
    }
}

/// A Python scalar's kind in promotion (the lowest tier).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar { Bool(bool), Int(i64), Float(f64), Complex(f64, f64) }

impl Scalar {
    pub fn to_f64(self) -> f64 {
        match self { Scalar::Bool(b) => b as i64 as f64, Scalar::Int(i) => i as f64, Scalar::Float(f) | Scalar::Complex(f, _) => f }
    }
    pub fn to_i64(self) -> i64 {
        match self { Scalar::Bool(b) => b as i64, Scalar::Int(i) => i, Scalar::Float(f) | Scalar::Complex(f, _) => f as i64 }
    }
    /// The imaginary part (0 for real scalars).
    pub fn imag(self) -> f64 { if let Scalar::Complex(_, i) = self { i } else { 0.0 } }
    /// PyTorch's checked conversion of a Python scalar into `dt` (fill, full, masked_fill,
    /// setitem): a value outside the dtype's range is an error, not a silent wrap; infinities
    /// and NaN may go into floating types only.
    pub fn check_fits(self, dt: DType) -> crate::error::Result<()> {
        let (lo, hi, cname): (f64, f64, &str) = match dt {
            DType::Bool => return Ok(()),
            DType::U8 => (0.0, 255.0, "uint8_t"),
            DType::I8 => (-128.0, 127.0, "int8_t"),
            DType::I16 => (-32768.0, 32767.0, "int16_t"),
            DType::I32 => (-2147483648.0, 2147483647.0, "int"),
            DType::I64 => (-9223372036854775808.0, 9223372036854775807.0, "int64_t"),
            DType::F16 => (-65504.0, 65504.0, "c10::Half"),
            DType::BF16 => (-3.3895313892515355e38, 3.3895313892515355e38, "c10::BFloat16"),
            DType::F32 => (-f32::MAX as f64, f32::MAX as f64, "float"),
            DType::F64 | DType::C64 | DType::C128 => return Ok(()),
        };
        let ok = match self {
            // a complex value has no real counterpart unless its imaginary part is 0
            Scalar::Complex(_, i) if i != 0.0 => false,
            Scalar::Complex(f, _) => f.is_nan() || (f >= lo && f <= hi),
            Scalar::Bool(_) => true,
            // exact for i64 (f64 bounds are only coarse there); uint8 takes -255..-1 from
            // Python ints and wraps them (c10::overflows without strict_unsigned)
            Scalar::Int(i) => if dt == DType::I64 { true } else if dt == DType::U8 { (-255..=255).contains(&i) } else { (i as f64) >= lo && (i as f64) <= hi },
            // c10::overflows: infinities and NaN fit floating types; otherwise lowest <= f <= max
            Scalar::Float(f) if dt.is_float() => !f.is_finite() || (f >= lo && f <= hi),
            Scalar::Float(f) => f >= lo && f <= hi,
        };
        if ok { Ok(()) } else {
            Err(crate::error::Error::Runtime(format!("value cannot be converted to type {} without overflow", cname)))
        }
    }
    /// `check_fits` as a fill of `numel` elements applies it: PyTorch's one-element fast path
    /// lets half types overflow to inf unchecked.
    pub fn check_fill(self, dt: DType, numel: usize) -> crate::error::Result<()> {
        if numel == 1 && matches!(dt, DType::F16 | DType::BF16) { Ok(()) } else { self.check_fits(dt) }
    }
    /// The dtype a wrapped Python scalar contributes (float -> default dtype).
    pub fn dtype(self) -> DType {
        match self { Scalar::Bool(_) => DType::Bool, Scalar::Int(_) => DType::I64, Scalar::Float(_) => crate::tensor::default_dtype(), Scalar::Complex(..) => crate::tensor::default_dtype().to_complex() }
    }
}

/// The three tiers of `torch.result_type`: dimensioned tensors, zero-dim tensors, wrapped scalars.
#[derive(Default, Clone, Copy)]
pub struct ResultTypeState { dim: Option<DType>, zero: Option<DType>, wrapped: Option<DType> }

fn promote_opt(a: Option<DType>, b: DType) -> Option<DType> { Some(match a { None => b, Some(a) => promote(a, b) }) }

impl ResultTypeState {
    pub fn tensor(&mut self, dtype: DType, ndim: usize) {
        if ndim == 0 { self.zero = promote_opt(self.zero, dtype) } else { self.dim = promote_opt(self.dim, dtype) }
    }
    pub fn scalar(&mut self, s: Scalar) { self.wrapped = promote_opt(self.wrapped, s.dtype()) }
    pub fn result(&self) -> DType {
        fn combine(higher: Option<DType>, lower: Option<DType>) -> Option<DType> {
            match (higher, lower) {
                (None, l) => l,
                (h, None) => h,
                // c10's combine_categories
                (Some(h), Some(l)) => Some(
                    if h.is_complex() { h }
                    // a complex lower tier keeps a floating higher tier's precision
                    else if l.is_complex() { if h.is_float() { h.to_complex() } else { l } }
                    else if h.is_float() { h }
                    else if h == DType::Bool || l.is_float() { promote(h, l) }
                    else { h }
                ),
            }
        }
        combine(self.dim, combine(self.zero, self.wrapped)).unwrap_or(DType::F32)
    }
}

/// `torch.can_cast(from, to)`: no casting to a lower category.
pub fn can_cast(from: DType, to: DType) -> bool { from.category() <= to.category() }

/// The element trait: every kernel is written once, generic over `T: Elem`.
pub trait Elem: Copy + Send + Sync + 'static + PartialOrd + Default + std::fmt::Debug {
    const DTYPE: DType;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn to_i64(self) -> i64;
    fn from_i64(v: i64) -> Self;
    /// The imaginary part (0 for real types).
    #[inline] fn im(self) -> f64 { 0.0 }
    /// A value from its parts; real types keep the real part, as PyTorch's casts do.
    #[inline] fn from_parts(re: f64, _im: f64) -> Self { Self::from_f64(re) }
    /// Conversion with PyTorch's semantics (float->int truncates, ->bool is != 0, complex->real
    /// keeps the real part; complex->bool is != 0 in either part).
    #[inline]
    fn cast<D: Elem>(self) -> D {
        if D::DTYPE.is_complex() { D::from_parts(self.to_f64(), self.im()) }
        else if D::DTYPE == DType::Bool && Self::DTYPE.is_complex() { D::from_i64((self.to_f64() != 0.0 || self.im() != 0.0) as i64) }
        else if Self::DTYPE.is_float() && !D::DTYPE.is_float() && D::DTYPE != DType::Bool { D::from_i64(float_to_int_x86(self.to_f64(), D::DTYPE.size())) }
        else if D::DTYPE.is_float() || Self::DTYPE.is_float() || Self::DTYPE.is_complex() { D::from_f64(self.to_f64()) } else { D::from_i64(self.to_i64()) }
    }
    /// `self + alpha * v`: floats through f64, integers exactly with wrapping (alpha truncated,
    /// like PyTorch's integral alpha), so int64 accumulation never loses bits past 2**53.
    #[inline]
    fn add_scaled(self, v: Self, alpha: f64) -> Self {
        if Self::DTYPE.is_complex() { Self::from_parts(self.to_f64() + alpha * v.to_f64(), self.im() + alpha * v.im()) }
        else if Self::DTYPE.is_float() { Self::from_f64(self.to_f64() + alpha * v.to_f64()) }
        else { Self::from_i64(self.to_i64().wrapping_add((alpha as i64).wrapping_mul(v.to_i64()))) }
    }
}

/// A float truncated to an integer type of `size` bytes as PyTorch's casts compute it on x86
/// (its compilers emit CVTTSS2SI/CVTTSD2SI): 8-byte types through the 64-bit conversion, the
/// others through the 32-bit one and then wrapped (`from_i64`); out of range or NaN gives the
/// conversion's "integer indefinite" value, the minimum of i64 or i32 (so 1e20 -> int64 is
/// -2^63, 2.5e9 -> int32 is -2^31 and -> int16 is 0; 70000.5 -> int16 wraps to 4464).
#[inline(always)]
pub fn float_to_int_x86(v: f64, size: usize) -> i64 {
    // (`to_int_unchecked` inside the checked ranges: `as` would add saturation fixups that kept
    // the cast loops scalar, 2.2x PyTorch's time for float32 -> int64)
    if size == 8 {
        // SAFETY: v is in [-2^63, 2^63), so its truncation fits i64 (NaN fails the test)
        if (-9.223_372_036_854_775_808e18..9.223_372_036_854_775_808e18).contains(&v) { unsafe { v.to_int_unchecked::<i64>() } } else { i64::MIN }
    } else if (-2_147_483_648.0..2_147_483_648.0).contains(&v) {
        // SAFETY: v is in [-2^31, 2^31), so its truncation fits i32
        unsafe { v.to_int_unchecked::<i32>() as i64 }
    } else {
        i32::MIN as i64
    }
}

macro_rules! int_elem {
    ($t:ty, $d:ident) => {
        impl Elem for $t {
            const DTYPE: DType = DType::$d;
            #[inline] fn to_f64(self) -> f64 { self as f64 }
            #[inline] fn from_f64(v: f64) -> Self { if v.is_nan() { 0 } else { (v as i64) as $t } }
            #[inline] fn to_i64(self) -> i64 { self as i64 }
            #[inline] fn from_i64(v: i64) -> Self { v as $t }
        }
    };
}
int_elem!(u8, U8);
int_elem!(i8, I8);
int_elem!(i16, I16);
int_elem!(i32, I32);
int_elem!(i64, I64);

impl Elem for bool {
    const DTYPE: DType = DType::Bool;
    #[inline] fn to_f64(self) -> f64 { self as i64 as f64 }
    #[inline] fn from_f64(v: f64) -> Self { v != 0.0 }
    #[inline] fn to_i64(self) -> i64 { self as i64 }
    #[inline] fn from_i64(v: i64) -> Self { v != 0 }
}
impl Elem for f32 {
    const DTYPE: DType = DType::F32;
    #[inline] fn to_f64(self) -> f64 { self as f64 }
    #[inline] fn from_f64(v: f64) -> Self { v as f32 }
    #[inline] fn to_i64(self) -> i64 { self as i64 }
    #[inline] fn from_i64(v: i64) -> Self { v as f32 }
}
impl Elem for f64 {
    const DTYPE: DType = DType::F64;
    #[inline] fn to_f64(self) -> f64 { self }
    #[inline] fn from_f64(v: f64) -> Self { v }
    #[inline] fn to_i64(self) -> i64 { self as i64 }
    #[inline] fn from_i64(v: i64) -> Self { v as f64 }
}
impl Elem for f16 {
    const DTYPE: DType = DType::F16;
    #[inline] fn to_f64(self) -> f64 { self.to_f64() }
    #[inline] fn from_f64(v: f64) -> Self { f16::from_f64(v) }
    #[inline] fn to_i64(self) -> i64 { self.to_f64() as i64 }
    #[inline] fn from_i64(v: i64) -> Self { f16::from_f64(v as f64) }
}
impl Elem for bf16 {
    const DTYPE: DType = DType::BF16;
    #[inline] fn to_f64(self) -> f64 { self.to_f64() }
    // through f32, as PyTorch converts doubles and integers to bfloat16
    #[inline] fn from_f64(v: f64) -> Self { bf16_from_f32(v as f32) }
    #[inline] fn to_i64(self) -> i64 { self.to_f64() as i64 }
    #[inline] fn from_i64(v: i64) -> Self { bf16_from_f32(v as f32) }
}

/// f32 -> bfloat16 as PyTorch rounds it: to nearest, ties to even, from all of the f32's bits
/// (`half`'s `bf16::from_f64` first drops the low 3 bits of an f32's mantissa, so
/// 1 + 2^-8 + 2^-23 rounded down instead of up); NaN becomes 0xFFFF, the pattern PyTorch's
/// vectorised conversions write. Branch-free, so loops over it vectorise.
#[inline(always)]
pub fn bf16_from_f32(x: f32) -> bf16 {
    let u = x.to_bits();
    let rounded = (u.wrapping_add(0x7FFF + ((u >> 16) & 1)) >> 16) as u16;
    bf16::from_bits(if x.is_nan() { 0xFFFF } else { rounded })
}

/// A complex element: PyTorch's c10::complex layout (real part first), ordered
/// lexicographically (NumPy's order for sorting; PyTorch refuses `<` on complex at op level).
#[repr(transparent)]
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub struct Cplx<F>(pub num_complex::Complex<F>);

impl<F: PartialOrd + Copy> PartialOrd for Cplx<F> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        match self.0.re.partial_cmp(&o.0.re)? { std::cmp::Ordering::Equal => self.0.im.partial_cmp(&o.0.im), ord => Some(ord) }
    }
}
#[allow(non_camel_case_types)]
pub type c64 = Cplx<f32>;
#[allow(non_camel_case_types)]
pub type c128 = Cplx<f64>;

macro_rules! complex_elem {
    ($t:ty, $f:ty, $d:ident) => {
        impl Elem for $t {
            const DTYPE: DType = DType::$d;
            #[inline] fn to_f64(self) -> f64 { self.0.re as f64 }
            #[inline] fn from_f64(v: f64) -> Self { Cplx(num_complex::Complex::new(v as $f, 0.0)) }
            #[inline] fn to_i64(self) -> i64 { self.0.re as i64 }
            #[inline] fn from_i64(v: i64) -> Self { Cplx(num_complex::Complex::new(v as $f, 0.0)) }
            #[inline] fn im(self) -> f64 { self.0.im as f64 }
            #[inline] fn from_parts(re: f64, im: f64) -> Self { Cplx(num_complex::Complex::new(re as $f, im as $f)) }
        }
    };
}
complex_elem!(c64, f32, C64);
complex_elem!(c128, f64, C128);

/// Runs `$body` with `$T` bound to the Rust type of `$dt` (all twelve dtypes).
#[macro_export]
macro_rules! dispatch {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::dtype::DType::Bool => { type $T = bool; $body }
            $crate::dtype::DType::U8 => { type $T = u8; $body }
            $crate::dtype::DType::I8 => { type $T = i8; $body }
            $crate::dtype::DType::I16 => { type $T = i16; $body }
            $crate::dtype::DType::I32 => { type $T = i32; $body }
            $crate::dtype::DType::I64 => { type $T = i64; $body }
            $crate::dtype::DType::F16 => { type $T = half::f16; $body }
            $crate::dtype::DType::BF16 => { type $T = half::bf16; $body }
            $crate::dtype::DType::F32 => { type $T = f32; $body }
            $crate::dtype::DType::F64 => { type $T = f64; $body }
            $crate::dtype::DType::C64 => { type $T = $crate::dtype::c64; $body }
            $crate::dtype::DType::C128 => { type $T = $crate::dtype::c128; $body }
        }
    };
}

/// Dispatch over the complex dtypes.
#[macro_export]
macro_rules! dispatch_complex {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::dtype::DType::C64 => { type $T = $crate::dtype::c64; $body }
            $crate::dtype::DType::C128 => { type $T = $crate::dtype::c128; $body }
            other => return Err($crate::rt_err!("internal: no complex kernel for {}", other.name())),
        }
    };
}

/// Dispatch over the dtypes arithmetic kernels are instantiated for (half types are
/// computed in f32 by the caller, bool handled by the caller).
#[macro_export]
macro_rules! dispatch_num {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::dtype::DType::U8 => { type $T = u8; $body }
            $crate::dtype::DType::I8 => { type $T = i8; $body }
            $crate::dtype::DType::I16 => { type $T = i16; $body }
            $crate::dtype::DType::I32 => { type $T = i32; $body }
            $crate::dtype::DType::I64 => { type $T = i64; $body }
            $crate::dtype::DType::F32 => { type $T = f32; $body }
            $crate::dtype::DType::F64 => { type $T = f64; $body }
            other => return Err($crate::rt_err!("\"{}\" not implemented for '{}'", "arith", other.legacy_name())),
        }
    };
}

#[macro_export]
macro_rules! dispatch_float {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::dtype::DType::F32 => { type $T = f32; $body }
            $crate::dtype::DType::F64 => { type $T = f64; $body }
            other => return Err($crate::rt_err!("\"{}\" not implemented for '{}'", "float_op", other.legacy_name())),
        }
    };
}

/// Rounds an f64 through `dt` and back (what storing it in a `dt` tensor gives).
pub fn round_through(dt: DType, v: f64) -> f64 { crate::dispatch!(dt, T => T::from_f64(v).to_f64()) }
