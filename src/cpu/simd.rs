//! Vectorizable math kernels with runtime CPU dispatch (no `target-cpu=native` in the wheel):
//! each loop is compiled three times, baseline SSE2, AVX2+FMA and AVX-512, and picked per call.

/// (exp(x) / 2^n, n) for finite x with x·log2(e) in i32 range: n = round(x·log2 e), and the
/// degree-7 polynomial of the remainder (x - n·ln 2 in two fused steps). Shared by `exp_f32` and
/// the clamp-free `exp_of_fit`.
#[inline(always)]
fn exp_reduced(x: f32) -> (f32, f32) {
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    let r = n.mul_add(-EXP_LN2_LO, n.mul_add(-EXP_LN2_HI, x));
    let mut p = EXP_POLY[0];
    for &c in &EXP_POLY[1..] { p = p.mul_add(r, c); }
    (p, n)
}

/// ln 2 in two parts for the range reduction (the high part has trailing zero bits, so n·HI is
/// exact), and the polynomial of exp(r) on [-ln2/2, ln2/2], highest degree first. Shared by the
/// scalar form above and `avx512::exp16`, so both give the same bits wherever the result is
/// a normal number.
const EXP_LN2_HI: f32 = 0.693_359_4;
const EXP_LN2_LO: f32 = -2.121_944_4e-4;
const EXP_POLY: [f32; 8] = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1, 1.0, 1.0];
/// exp_f32's input range: above the top the result overflows to inf, below the bottom it is 0.
const EXP_CLAMP_HI: f32 = 89.0;
const EXP_ZERO_BELOW: f32 = -104.0;

/// exp(x) for f32 (Cephes-style range reduction + degree-7 polynomial in Horner form, < 1 ulp
/// measured against f64 exp over [-110, 90]), written branch-free so LLVM vectorizes the loop.
/// The polynomials (here and in `erfc_f32`) use `mul_add`: one fused instruction in the
/// AVX2/AVX-512 builds, a correctly rounded libm call in the baseline build, so every CPU gives
/// the same bits. Round-to-nearest for n and fused reduction steps cut the vector loop from ~33
/// to ~27 instructions: 1.5 -> 1.9 G elements/s with AVX-512, 0.9 -> 1.3 with AVX2 (262k
/// floats in cache, one thread, scratch benchmark).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // Above 89 the clamped value still overflows to inf; NaN becomes 89 (f32::min ignores it)
    // so the int conversion below is defined, and is restored at the end. Below -104 (result
    // 0) the input is replaced by 0 and the result by 0: scaling down to 0 took a microcode
    // assist per lane on Intel cores (10x slower loops, measured), and softmax rows under a
    // causal mask are half -inf.
    let xc = if x < EXP_ZERO_BELOW { 0.0 } else { x.min(EXP_CLAMP_HI) };
    let (y, n) = exp_reduced(xc);
    // SAFETY: n is finite and within [-151, 129] after the clamp; the unchecked conversion
    // (unlike `as`, which saturates) vectorizes to cvtps2dq
    let ni: i32 = unsafe { n.to_int_unchecked() };
    // 2^n as two normal halves, so results near overflow and in the subnormal range are exact
    let (n1, n2) = (ni >> 1, ni - (ni >> 1));
    let v = y * f32::from_bits(((n1 + 127) as u32) << 23) * f32::from_bits(((n2 + 127) as u32) << 23);
    let v = if x < EXP_ZERO_BELOW { 0.0 } else { v };
    if x.is_nan() { x } else { v }
}

macro_rules! multiversion {
    ($(#[$m:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        $(#[$m])*
        pub fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                // SAFETY (of calling them): only after the runtime feature checks below
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                unsafe fn wide($($arg: $ty),*) -> $ret $body
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fast($($arg: $ty),*) -> $ret $body
                if $crate::cpu::simd::has_avx512() {
                    // SAFETY: the features were detected on this CPU
                    return unsafe { wide($($arg),*) };
                }
                if $crate::cpu::simd::has_avx2_fma() {
                    // SAFETY: the features were detected on this CPU
                    return unsafe { fast($($arg),*) };
                }
            }
            $body
        }
    };
    ($(#[$m:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$m])*
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                // SAFETY (of calling them): only after the runtime feature checks below
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                unsafe fn wide($($arg: $ty),*) $body
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fast($($arg: $ty),*) $body
                if $crate::cpu::simd::has_avx512() {
                    // SAFETY: the features were detected on this CPU
                    return unsafe { wide($($arg),*) };
                }
                if $crate::cpu::simd::has_avx2_fma() {
                    // SAFETY: the features were detected on this CPU
                    return unsafe { fast($($arg),*) };
                }
            }
            $body
        }
    };
}
pub(crate) use multiversion;

/// Runs `f` compiled for AVX2+FMA when the CPU has them, for generic loops that
/// `multiversion!` cannot name: the elementwise drivers in `iter` and `strided` instantiate one
/// loop per op closure, and `f` and the closures it calls must be inlined into it
/// (`#[inline(always)]` on those closures), or they would run as calls to baseline code. Without
/// it those loops ran 4-lane SSE2 code on every CPU. A scratch benchmark of a 16k-element
/// select: 10.1 µs baseline, 3.1 AVX2, 2.9 AVX-512. So there is one extra version: an AVX-512
/// one as well lengthened the build by a third (5.5 -> 7.5 minutes) for no measured gain on
/// these mostly memory-bound loops. A GPT train step at one thread: 1-6% faster (three
/// interleaved pairs). No version changes float semantics.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY (of calling it): only after the runtime feature check below
        #[target_feature(enable = "avx2,fma")]
        unsafe fn fast<R>(f: impl FnOnce() -> R) -> R { f() }
        if has_avx2_fma() {
            // SAFETY: the features were detected on this CPU
            return unsafe { fast(f) };
        }
    }
    f()
}

/// AVX2 with FMA: the `fast` versions' features, the one check for every AVX2+FMA path
/// (`multiversion!`, `vectorized`, the small-matrix kernel, the normal sampler).
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    { std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") }
    #[cfg(not(target_arch = "x86_64"))]
    { false }
}

/// AVX-512 (F, BW, DQ, VL) with AVX2 and FMA: the `wide` versions' features.
#[inline]
pub fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512dq") && std::is_x86_feature_detected!("avx512vl")
            && has_avx2_fma()
    }
    #[cfg(not(target_arch = "x86_64"))]
    { false }
}

/// dst[i] = exp(src[i]): the AVX-512 kernel where the CPU has it, else `exp_slice_auto`.
pub fn exp_slice(src: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the features were detected on this CPU
        return unsafe { avx512::exp_slice(src, dst) };
    }
    exp_slice_auto(src, dst)
}

multiversion! {
    /// dst[i] = exp(src[i]), the compiler's vectorisation of `exp_f32`.
    pub fn exp_slice_auto(src: &[f32], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d = exp_f32(s); }
    }
}

/// Hand-vectorised AVX-512 forms of the exponential, for the loops it bounds (exp, softmax,
/// sigmoid, SiLU).
///
/// The compiler's vectorisation of `exp_f32` spends 27 instructions per 16 lanes: 2^n is
/// applied as two halves (so results near overflow and in the subnormal range stay exact),
/// and NaN and the clamps take selects of their own. VSCALEFPS applies 2^n in one instruction
/// with one rounding, overflow to inf and subnormal results included, and VMINPS with the
/// constant first lets NaN through, so `exp16` is 16 instructions. Measured on a 2-vCPU Xeon
/// (AVX-512, one thread, floats in cache): exp 2.8 -> 4.3 G elements/s (PyTorch 2.13: 4.6-4.8),
/// softmax over rows of 64 ([16, 4, 64, 64]) 253 -> 159 µs (PyTorch 205-211).
#[cfg(target_arch = "x86_64")]
pub mod avx512 {
    use std::arch::x86_64::*;
    use super::{EXP_CLAMP_HI, EXP_LN2_HI, EXP_LN2_LO, EXP_POLY, EXP_ZERO_BELOW};

    /// exp of 16 lanes: `exp_f32`'s reduction and polynomial, bit-equal to it wherever the
    /// result is a normal number (a subnormal result is rounded once here, twice there).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub fn exp16(x: __m512) -> __m512 {
        // min(HI, x) returns x when x is NaN (VMINPS returns its second operand then)
        let xc = _mm512_min_ps(_mm512_set1_ps(EXP_CLAMP_HI), x);
        // lanes below the range give 0; they compute on 0 meanwhile (no subnormal assists)
        let zero = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_set1_ps(EXP_ZERO_BELOW));
        let xc = _mm512_mask_mov_ps(xc, zero, _mm512_setzero_ps());
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_mul_ps(xc, _mm512_set1_ps(std::f32::consts::LOG2_E)));
        let r = _mm512_fmadd_ps(n, _mm512_set1_ps(-EXP_LN2_HI), xc);
        let r = _mm512_fmadd_ps(n, _mm512_set1_ps(-EXP_LN2_LO), r);
        let mut p = _mm512_set1_ps(EXP_POLY[0]);
        for &c in &EXP_POLY[1..] { p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c)); }
        _mm512_maskz_scalef_ps(!zero, p, n)
    }

    /// Lanes `0..len` of a 16-lane mask (len < 16).
    #[inline]
    fn head_mask(len: usize) -> __mmask16 { ((1u32 << len) - 1) as __mmask16 }

    /// dst[i] = f(src[i]) over the common length, 16 lanes at a time.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn map_slice(src: &[f32], dst: &mut [f32], f: impl Fn(__m512) -> __m512) {
        let n = src.len().min(dst.len());
        let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: lanes i..i+16 lie inside both slices (i + 16 <= n)
            unsafe { _mm512_storeu_ps(d.add(i), f(_mm512_loadu_ps(s.add(i)))) };
            i += 16;
        }
        if i < n {
            let k = head_mask(n - i);
            // SAFETY: the mask enables only lanes i..n, inside both slices; masked-off lanes
            // are neither read nor written
            unsafe { _mm512_mask_storeu_ps(d.add(i), k, f(_mm512_maskz_loadu_ps(k, s.add(i)))) };
        }
    }

    /// 1 / (1 + exp(-x)) of 16 lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn sigmoid16(x: __m512) -> __m512 {
        let one = _mm512_set1_ps(1.0);
        _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))))
    }

    /// dst[i] = exp(src[i]) over the common length.
    #[target_feature(enable = "avx512f")]
    pub fn exp_slice(src: &[f32], dst: &mut [f32]) { map_slice(src, dst, #[inline(always)] |x| exp16(x)) }

    /// dst[i] = 1 / (1 + exp(-src[i])) over the common length.
    #[target_feature(enable = "avx512f")]
    pub fn sigmoid_slice(src: &[f32], dst: &mut [f32]) { map_slice(src, dst, #[inline(always)] |x| sigmoid16(x)) }

    /// SiLU: dst[i] = src[i] / (1 + exp(-src[i])) over the common length.
    #[target_feature(enable = "avx512f")]
    pub fn silu_slice(src: &[f32], dst: &mut [f32]) {
        map_slice(src, dst, #[inline(always)] |x| {
            let one = _mm512_set1_ps(1.0);
            _mm512_div_ps(x, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))))
        })
    }

    /// Lanes i..min(i + 16, n) of `p` (the rest 0), and their mask.
    ///
    /// # Safety
    /// `p` must be valid for reads of `n` floats and `i < n`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load_part(p: *const f32, i: usize, n: usize) -> (__m512, __mmask16) {
        // SAFETY: a full vector when lanes i..i+16 lie below n, else only lanes i..n (masked)
        unsafe {
            if i + 16 <= n { (_mm512_loadu_ps(p.add(i)), 0xffff) } else { let k = head_mask(n - i); (_mm512_maskz_loadu_ps(k, p.add(i)), k) }
        }
    }

    /// The max of a row (-inf when empty) and whether it holds a NaN.
    #[target_feature(enable = "avx512f")]
    fn row_max_nan(src: &[f32]) -> (f32, bool) {
        let n = src.len();
        let mut mx = _mm512_set1_ps(f32::NEG_INFINITY);
        let mut nan: __mmask16 = 0;
        for i in (0..n).step_by(16) {
            // SAFETY: i < n = src.len()
            let (v, k) = unsafe { load_part(src.as_ptr(), i, n) };
            nan |= _mm512_mask_cmp_ps_mask::<_CMP_UNORD_Q>(k, v, v);
            mx = _mm512_mask_max_ps(mx, k, mx, v);
        }
        (_mm512_reduce_max_ps(mx), nan != 0)
    }

    /// The sum of exp(src - m), writing each exp to `dst` (of src's length) when given.
    #[target_feature(enable = "avx512f")]
    fn exp_sum(src: &[f32], m: f32, mut dst: Option<&mut [f32]>) -> f32 {
        let n = src.len();
        if dst.as_ref().is_some_and(|d| d.len() != n) { return f32::NAN; }
        let m = _mm512_set1_ps(m);
        let mut acc = _mm512_setzero_ps();
        for i in (0..n).step_by(16) {
            // SAFETY: i < n = src.len() (= dst.len(), checked above); the store writes only
            // the lanes the load read
            let (v, k) = unsafe { load_part(src.as_ptr(), i, n) };
            let e = exp16(_mm512_sub_ps(v, m));
            acc = _mm512_mask_add_ps(acc, k, acc, e);
            if let Some(d) = dst.as_deref_mut() { unsafe { _mm512_mask_storeu_ps(d.as_mut_ptr().add(i), k, e) } }
        }
        _mm512_reduce_add_ps(acc)
    }

    /// `super::softmax_row_into` for one row: the max (and whether a NaN is present), then
    /// dst = exp(src - max) with its sum, then the scaling (or, for log, src - max - ln sum).
    #[target_feature(enable = "avx512f")]
    pub fn softmax_row_into(src: &[f32], dst: &mut [f32], log: bool) {
        let n = src.len().min(dst.len());
        let (src, dst) = (&src[..n], &mut dst[..n]);
        let (m, nan) = row_max_nan(src);
        if nan { dst.fill(f32::NAN); return; }
        // a row whose max is +inf is all NaN (inf - inf), like PyTorch; only -inf is shifted
        let m = if m == f32::NEG_INFINITY { 0.0 } else { m };
        let d = dst.as_mut_ptr();
        if log {
            let shift = _mm512_set1_ps(m + exp_sum(src, m, None).ln());
            for i in (0..n).step_by(16) {
                // SAFETY: i < n, within both slices; the store writes only the lanes loaded
                let (v, k) = unsafe { load_part(src.as_ptr(), i, n) };
                unsafe { _mm512_mask_storeu_ps(d.add(i), k, _mm512_sub_ps(v, shift)) };
            }
        } else {
            let inv = _mm512_set1_ps(1.0 / exp_sum(src, m, Some(&mut *dst)));
            for i in (0..n).step_by(16) {
                // SAFETY: as above
                let (v, k) = unsafe { load_part(d, i, n) };
                unsafe { _mm512_mask_storeu_ps(d.add(i), k, _mm512_mul_ps(v, inv)) };
            }
        }
    }

    /// ln(sum(exp(row))) with the max shift (see `super::logsumexp_row`).
    #[target_feature(enable = "avx512f")]
    pub fn logsumexp_row(src: &[f32]) -> f32 {
        let (m, nan) = row_max_nan(src);
        if nan { return f32::NAN; }
        let m = if m.is_finite() { m } else { 0.0 };
        exp_sum(src, m, None).ln() + m
    }
}

/// ln(x) for f32 (Cephes-style: x = 2^e m with m in [sqrt(1/2), sqrt(2)), a degree-8
/// polynomial in m - 1, ln 2 split in two parts), branch-free so loops over it vectorise;
/// within 2 ulp of the exact value (a Rust test sweeps every exponent against f64 ln). Glibc's
/// logf, called per element, ran 12x slower than PyTorch's vectorised log.
#[inline(always)]
pub fn log_f32(x: f32) -> f32 {
    // subnormals are scaled into the normal range first (2^23), and the exponent corrected
    let tiny = x < f32::MIN_POSITIVE;
    let xs = if tiny { x * 8_388_608.0 } else { x };
    let bits = xs.to_bits();
    // m in [0.5, 1), xs = m * 2^e
    let e = ((bits >> 23) & 0xff) as i32 - 126 - if tiny { 23 } else { 0 };
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let below = m < std::f32::consts::FRAC_1_SQRT_2;
    let e = (if below { e - 1 } else { e }) as f32;
    let f = if below { m + m - 1.0 } else { m - 1.0 };
    let z = f * f;
    let mut p = 7.037_683_6e-2f32;
    p = p.mul_add(f, -1.151_461e-1);
    p = p.mul_add(f, 1.167_699_9e-1);
    p = p.mul_add(f, -1.242_014_1e-1);
    p = p.mul_add(f, 1.424_932_3e-1);
    p = p.mul_add(f, -1.666_805_8e-1);
    p = p.mul_add(f, 2.000_071_4e-1);
    p = p.mul_add(f, -2.499_999_4e-1);
    p = p.mul_add(f, 3.333_333_1e-1);
    let y = (p * f * z).mul_add(1.0, e * -2.121_944_4e-4);
    let y = (-0.5f32).mul_add(z, y);
    let r = e.mul_add(0.693_359_4, f + y);
    // ln(0) = -inf, ln(inf) = inf, ln(negative or NaN) = NaN
    if x == 0.0 { f32::NEG_INFINITY } else if x == f32::INFINITY { x } else if x < 0.0 || x.is_nan() { f32::NAN } else { r }
}

/// ln(1 + x) for f32: log_f32(1 + x) scaled by x / ((1 + x) - 1), which cancels the rounding
/// of 1 + x (Goldberg's method), and x itself where 1 + x rounds to 1; within 2 ulp (tested).
#[inline(always)]
pub fn log1p_f32(x: f32) -> f32 {
    let u = 1.0 + x;
    let d = u - 1.0;
    let r = log_f32(u) * (x / d);
    if d == 0.0 { x } else if u == f32::INFINITY { u } else { r }
}

/// Inputs up to this magnitude take `sincos_f32`; larger ones (and inf, NaN) libm's sinf/cosf.
pub const SINCOS_FAST_MAX: f32 = 1_048_576.0;

/// sin and cos of an f32 with |x| <= SINCOS_FAST_MAX, in f64: the quadrant j = round(x * 2/pi),
/// the remainder x - j pi/2 with pi/2 in two parts (exact enough at every f32 up to 2^20), and
/// fdlibm's kernel polynomials on [-pi/4, pi/4], rounded to f32 once: the correctly rounded
/// result but in rare near-halfway cases (an f32 polynomial was within 2 ulp, which moved
/// recorded PyTorch values). Branch-free, so loops over it vectorise; libm's sinf, called per
/// element, ran 17x slower than PyTorch.
#[inline(always)]
pub fn sincos_f32(x: f32) -> (f32, f32) {
    let xd = x as f64;
    let j = (xd * std::f64::consts::FRAC_2_PI).round_ties_even();
    let r = j.mul_add(-6.123_233_995_736_766e-17, j.mul_add(-std::f64::consts::FRAC_PI_2, xd));
    // lanes past SINCOS_FAST_MAX (and inf, NaN) are redone by the caller: their quadrant is
    // replaced by 0 first, so the unchecked conversion below is defined for every lane. (`as`
    // saturates instead, which LLVM turned into one scalar conversion per lane: sin and cos
    // ran at 0.35 G elements/s, a sixth of PyTorch's speed.)
    let j_in_range = if j.abs() <= 4.0e6 { j } else { 0.0 };
    // SAFETY: j_in_range is an integer-valued f64 in [-4e6, 4e6], inside i32's range
    let q: i32 = unsafe { j_in_range.to_int_unchecked() };
    let z = r * r;
    let mut sp = 1.589_690_995_211_550_1e-10f64;
    sp = sp.mul_add(z, -2.505_076_025_340_686_3e-8);
    sp = sp.mul_add(z, 2.755_731_370_707_006_8e-6);
    sp = sp.mul_add(z, -1.984_126_982_985_795e-4);
    sp = sp.mul_add(z, 8.333_333_333_322_49e-3);
    sp = sp.mul_add(z, -1.666_666_666_666_663_2e-1);
    let s = (sp * z).mul_add(r, r);
    let mut cp = -1.135_964_755_778_819_5e-11f64;
    cp = cp.mul_add(z, 2.087_572_321_298_175e-9);
    cp = cp.mul_add(z, -2.755_731_435_139_066_3e-7);
    cp = cp.mul_add(z, 2.480_158_728_947_673e-5);
    cp = cp.mul_add(z, -1.388_888_888_887_411e-3);
    cp = cp.mul_add(z, 4.166_666_666_666_66e-2);
    let c = (cp * z).mul_add(z, (-0.5f64).mul_add(z, 1.0));
    let (s, c) = (s as f32, c as f32);
    // quadrant q: sin = s, c, -s, -c and cos = c, -s, -c, s
    let (sv, cv) = if q & 1 != 0 { (c, s) } else { (s, c) };
    let sv = if q & 2 != 0 { -sv } else { sv };
    let cv = if (q + 1) & 2 != 0 { -cv } else { cv };
    // sin(-0.0) is -0.0 (the remainder above comes out +0.0)
    (if x == 0.0 { x } else { sv }, cv)
}

multiversion! {
    /// dst[i] = sin(src[i])
    pub fn sin_slice(src: &[f32], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d = sincos_f32(s).0; }
        for (d, &s) in dst.iter_mut().zip(src) { if !(s.abs() <= SINCOS_FAST_MAX) { *d = s.sin(); } }
    }
}

multiversion! {
    /// dst[i] = cos(src[i])
    pub fn cos_slice(src: &[f32], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d = sincos_f32(s).1; }
        for (d, &s) in dst.iter_mut().zip(src) { if !(s.abs() <= SINCOS_FAST_MAX) { *d = s.cos(); } }
    }
}

multiversion! {
    /// dst[i] = ln(1 + src[i])
    pub fn log1p_slice(src: &[f32], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d = log1p_f32(s); }
    }
}

multiversion! {
    /// dst[i] = ln(src[i])
    pub fn log_slice(src: &[f32], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d = log_f32(s); }
    }
}

/// dst[i] = 1 / (1 + exp(-src[i])): the AVX-512 kernel where the CPU has it.
pub fn sigmoid_slice(src: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the features were detected on this CPU
        return unsafe { avx512::sigmoid_slice(src, dst) };
    }
    sigmoid_slice_auto(src, dst)
}

multiversion! {
    /// dst[i] = 1 / (1 + exp(-src[i])), the compiler's vectorisation.
    pub fn sigmoid_slice_auto(src: &[f32], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d = 1.0 / (1.0 + exp_f32(-s)); }
    }
}

/// dst = f(src) for contiguous f32 views, in chunks across the pool for large inputs. `dst`
/// may be `src` itself (an in-place op): each chunk then goes through a stack buffer so no
/// two slices alias.
pub fn map_f32_in_place_or_into(dst: &crate::tensor::Body, src: &crate::tensor::Body, f: fn(&[f32], &mut [f32])) -> crate::error::Result<()> {
    use rayon::prelude::*;
    let n = src.numel();
    let par = n >= super::iter::GRAIN && super::iter::parallel_ok();
    let chunk = if par { n.div_ceil(rayon::current_num_threads() * 4).max(4096) } else { n.max(1) };
    if std::ptr::eq(dst.storage.as_ref(), src.storage.as_ref()) {
        if dst.offset != src.offset || dst.shape != src.shape { crate::bail!("internal: partially overlapping in-place map"); }
        let in_place = |c: &mut [f32]| for part in c.chunks_mut(1024) {
            let mut tmp = [0f32; 1024];
            tmp[..part.len()].copy_from_slice(part);
            f(&tmp[..part.len()], part);
        };
        return super::strided::write::<f32, _>(dst, |d| if par { d.par_chunks_mut(chunk).for_each(in_place) } else { in_place(d) });
    }
    super::strided::read::<f32, _>(src, |s| super::strided::write::<f32, _>(dst, |d| {
        if par { d.par_chunks_mut(chunk).zip(s.par_chunks(chunk)).for_each(|(d, s)| f(s, d)) } else { f(s, d) }
    }))?
}

/// Independent accumulators in the row reductions: one zmm register with AVX-512, two ymm with
/// AVX2 (eight lanes kept the AVX-512 build at ymm width).
const LANES: usize = 16;

/// Max and sum reductions with independent lanes (vectorizes without fast-math).
#[inline(always)]
fn row_max(row: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let rem = chunks.remainder();
    for c in chunks { for i in 0..LANES { acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] }; } }
    let mut m = acc.iter().fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    for &v in rem { m = if v > m { v } else { m }; }
    m
}

#[inline(always)]
fn row_sum(row: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let rem = chunks.remainder();
    for c in chunks { for i in 0..LANES { acc[i] += c[i]; } }
    acc.iter().sum::<f32>() + rem.iter().sum::<f32>()
}

multiversion! {
    /// In-place softmax of one row: exp(row - max) / sum.
    pub fn softmax_row(row: &mut [f32]) {
        if row.iter().any(|v| v.is_nan()) { for v in row.iter_mut() { *v = f32::NAN; } return; }
        let m = row_max(row);
        // a row whose max is +inf is all NaN (inf - inf), like PyTorch; only -inf is shifted
        let m = if m == f32::NEG_INFINITY { 0.0 } else { m };
        for v in row.iter_mut() { *v = exp_f32(*v - m); }
        let inv = 1.0 / row_sum(row);
        for v in row.iter_mut() { *v *= inv; }
    }
}

multiversion! {
    /// In-place log_softmax of one row: row - max - log(sum(exp(row - max))).
    pub fn log_softmax_row(row: &mut [f32]) {
        if row.iter().any(|v| v.is_nan()) { for v in row.iter_mut() { *v = f32::NAN; } return; }
        let m = row_max(row);
        // a row whose max is +inf is all NaN (inf - inf), like PyTorch; only -inf is shifted
        let m = if m == f32::NEG_INFINITY { 0.0 } else { m };
        for v in row.iter_mut() { *v -= m; }
        let mut s = [0f32; LANES];
        let chunks = row.chunks_exact(LANES);
        let rem = chunks.remainder();
        for c in chunks { for i in 0..LANES { s[i] += exp_f32(c[i]); } }
        let total = s.iter().sum::<f32>() + rem.iter().map(|&v| exp_f32(v)).sum::<f32>();
        let ls = total.ln();
        for v in row.iter_mut() { *v -= ls; }
    }
}
#[cfg(test)]
mod tests {
    #[test]
    fn exp_matches_libm_within_2_ulp() {
        // the whole range, subnormal results and overflow included
        let mut x = -110.0f32;
        while x < 90.0 {
            let (a, b) = (super::exp_f32(x), x.exp());
            let ulp = (a.to_bits() as i64 - b.to_bits() as i64).abs();
            assert!(ulp <= 2 || (a - b).abs() < f32::MIN_POSITIVE, "x={x} got {a} want {b}");
            x += 0.0137;
        }
        assert_eq!(super::exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(super::exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(super::exp_f32(f32::NAN).is_nan());
        for x in [-103.97f32, -103.98, -104.0, -87.4, 88.72, 88.722_84, 88.73, 1e-30, -0.0] {
            let (a, b) = (super::exp_f32(x), x.exp());
            assert!((a.to_bits() as i64 - b.to_bits() as i64).abs() <= 1, "x={x} got {a} want {b}");
        }
    }

    /// The AVX-512 exp gives exp_f32's bits wherever the result is normal, within 1 ulp of a
    /// subnormal one, and the same specials; every slice length around the vector width.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_exp_matches_exp_f32() {
        if !super::has_avx512() { return; }
        let mut xs: Vec<f32> = (0..30_000).map(|i| -110.0 + i as f32 * 0.0067).collect();
        xs.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -103.97, -103.98, -104.0, 88.72, 88.722_84, 88.73, 1e30, -1e30, -0.0, 0.0]);
        let mut got = vec![0f32; xs.len()];
        // SAFETY: the features were detected on this CPU
        unsafe { super::avx512::exp_slice(&xs, &mut got) };
        for (&x, &g) in xs.iter().zip(&got) {
            let want = super::exp_f32(x);
            if want.is_nan() { assert!(g.is_nan(), "x={x}"); continue; }
            let ulp = (g.to_bits() as i64 - want.to_bits() as i64).abs();
            assert!(ulp == 0 || (ulp <= 1 && want < f32::MIN_POSITIVE), "x={x} got {g} want {want}");
        }
        let (mut a, mut b) = (vec![0f32; xs.len()], vec![0f32; xs.len()]);
        // SAFETY: as above
        unsafe { super::avx512::sigmoid_slice(&xs, &mut a) };
        super::sigmoid_slice_auto(&xs, &mut b);
        for i in 0..xs.len() { assert!(a[i] == b[i] || (a[i].is_nan() && b[i].is_nan()), "sigmoid x={} {} vs {}", xs[i], a[i], b[i]); }
        // SAFETY: as above
        unsafe { super::avx512::silu_slice(&xs, &mut a) };
        super::silu_f32_auto(&xs, &mut b);
        for i in 0..xs.len() { assert!(a[i] == b[i] || (a[i].is_nan() && b[i].is_nan()), "silu x={} {} vs {}", xs[i], a[i], b[i]); }
        for len in 0..40 {
            let src: Vec<f32> = (0..len).map(|i| i as f32 * 0.25 - 3.0).collect();
            let mut dst = vec![-7f32; len + 3];
            // SAFETY: as above
            unsafe { super::avx512::exp_slice(&src, &mut dst[..len]) };
            for i in 0..len { assert_eq!(dst[i], super::exp_f32(src[i]), "len {len} lane {i}"); }
            assert_eq!(&dst[len..], &[-7.0; 3], "wrote past the slice");
        }
    }

    /// Rows for the row-kernel tests: 0 finite, 1 a third -inf (a causal mask) beside values
    /// near exp's overflow, 2 all -inf, 3 one +inf, 4 one NaN.
    fn test_row(len: usize, case: usize) -> Vec<f32> {
        (0..len).map(|i| match case {
            0 => ((i * 37 % 11) as f32 - 5.0) * 1.7,
            1 => if i % 3 == 0 { f32::NEG_INFINITY } else { i as f32 * 0.1 + 80.0 },
            2 => f32::NEG_INFINITY,
            3 => if i == len / 2 { f32::INFINITY } else { i as f32 },
            _ => if i == len / 2 { f32::NAN } else { i as f32 },
        }).collect()
    }

    /// The AVX-512 logsumexp rows against the compiler-vectorised ones and f64.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_logsumexp_rows_match() {
        if !super::has_avx512() { return; }
        for len in 0..50usize {
            for case in 0..5 {
                let row = test_row(len, case);
                // SAFETY: the features were detected on this CPU
                let a = unsafe { super::avx512::logsumexp_row(&row) };
                let b = super::logsumexp_row_auto(&row);
                let m = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
                let m = if m.is_finite() { m } else { 0.0 };
                let want = (row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln() + m) as f32;
                let want = if row.iter().any(|v| v.is_nan()) { f32::NAN } else { want };
                for (got, what) in [(a, "avx512"), (b, "auto")] {
                    let close = (got.is_nan() && want.is_nan()) || got == want || (got - want).abs() <= 2e-6 * want.abs().max(1.0);
                    assert!(close, "{what} len {len} case {case}: {got} vs {want}");
                }
            }
        }
    }

    /// The AVX-512 softmax rows against the compiler-vectorised ones: every length around the
    /// vector width and each `test_row` case.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_softmax_rows_match() {
        if !super::has_avx512() { return; }
        for len in 0..50usize {
            for case in 0..5 {
                let row = test_row(len, case);
                for log in [false, true] {
                    let (mut a, mut b) = (vec![9f32; len + 2], vec![9f32; len + 2]);
                    // SAFETY: the features were detected on this CPU
                    unsafe { super::avx512::softmax_row_into(&row, &mut a[..len], log) };
                    super::softmax_row_into_auto(&row, &mut b[..len], log);
                    // the two sum the exps in different orders: the shift of log_softmax
                    // (max + ln sum) may differ by an ulp at the row's magnitude, which a
                    // small result carries as absolute error
                    let scale = row.iter().filter(|v| v.is_finite()).fold(1f32, |m, v| m.max(v.abs()));
                    let atol = if log { 4e-7 * scale } else { 0.0 };
                    for (i, (&x, &y)) in a.iter().zip(&b).enumerate() {
                        let close = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= atol + 2e-6 * y.abs();
                        assert!(close, "len {len} case {case} log {log} lane {i}: {x} vs {y}");
                    }
                }
            }
        }
    }

    #[test]
    fn log_within_1_ulp_of_f64_ln() {
        // every 1009th bit pattern of the positive floats, subnormals included (a sweep of
        // every 7th measured 1 ulp at most)
        let mut b: u32 = 1;
        while b < 0x7f80_0000 {
            let x = f32::from_bits(b);
            let (a, want) = (super::log_f32(x), (x as f64).ln() as f32);
            assert!((a.to_bits() as i64 - want.to_bits() as i64).abs() <= 1 && (a < 0.0) == (want < 0.0), "x={x:e} got {a} want {want}");
            b += 1009;
        }
        assert_eq!(super::log_f32(0.0), f32::NEG_INFINITY);
        assert_eq!(super::log_f32(-0.0), f32::NEG_INFINITY);
        assert_eq!(super::log_f32(1.0), 0.0);
        assert_eq!(super::log_f32(f32::INFINITY), f32::INFINITY);
        for x in [-1.0f32, -1e-40, f32::NEG_INFINITY, f32::NAN] { assert!(super::log_f32(x).is_nan(), "{x}"); }
    }

    #[test]
    fn sincos_within_1_ulp_of_f64_up_to_2_pow_20() {
        let ulps = |a: f32, w: f32| if a == w { 0 } else if (a < 0.0) != (w < 0.0) { i64::MAX } else { (a.to_bits() as i64 - w.to_bits() as i64).abs() };
        let mut b: u32 = 1;
        while f32::from_bits(b) <= super::SINCOS_FAST_MAX {
            for x in [f32::from_bits(b), -f32::from_bits(b)] {
                let (s, c) = super::sincos_f32(x);
                let (ws, wc) = ((x as f64).sin() as f32, (x as f64).cos() as f32);
                assert!(ulps(s, ws) <= 1 && ulps(c, wc) <= 1, "x={x:e}: sin {s} vs {ws}, cos {c} vs {wc}");
            }
            b += 1009;
        }
        assert!(super::sincos_f32(-0.0).0.is_sign_negative() && super::sincos_f32(0.0).1 == 1.0);
    }

    #[test]
    fn log1p_within_2_ulp_of_f64() {
        // both signs: every 1009th bit pattern from tiny magnitudes up to -1 and to f32::MAX
        for sign in [0u32, 0x8000_0000] {
            let mut b: u32 = 1;
            while b < 0x7f80_0000 {
                let x = f32::from_bits(b | sign);
                if x > -1.0 {
                    let (a, want) = (super::log1p_f32(x), (x as f64).ln_1p() as f32);
                    let ulp = (a.to_bits() as i64 - want.to_bits() as i64).abs();
                    assert!(ulp <= 2 && (a < 0.0) == (want < 0.0), "x={x:e} got {a} want {want}");
                }
                b += 1009;
            }
        }
        assert_eq!(super::log1p_f32(-1.0), f32::NEG_INFINITY);
        assert_eq!(super::log1p_f32(f32::INFINITY), f32::INFINITY);
        assert!(super::log1p_f32(-0.0).is_sign_negative());
        for x in [-2.0f32, f32::NEG_INFINITY, f32::NAN] { assert!(super::log1p_f32(x).is_nan(), "{x}"); }
    }
}

/// Sum of f32 values for reductions, more accurate than PyTorch's cascade sum: with AVX2,
/// blocks of 1024 elements are summed in four 8-lane f32 accumulators (32 additions per lane)
/// and the block totals in f64; without it, every element in f64.
pub fn sum_f32_in_f64(src: &[f32]) -> f64 { blocked_sum::<false>(src) }

/// Σ x² of f32 values (the 2-norm's sum) as `sum_f32_in_f64` sums: each square added to an
/// f32 block accumulator by one multiply-add, block totals in f64. 2^19 floats took 110 µs
/// with every square summed in f64, PyTorch 55 (one thread, AVX-512 Xeon).
pub fn sum_squares_f32_in_f64(src: &[f32]) -> f64 { blocked_sum::<true>(src) }

fn blocked_sum<const SQUARES: bool>(src: &[f32]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            // SAFETY: AVX2 and FMA were detected on this CPU; the kernel reads only inside `src`
            return unsafe { sum_f32_blocked_avx::<SQUARES>(src) };
        }
    }
    let term = |v: f32| if SQUARES { (v * v) as f64 } else { v as f64 };
    let mut acc = [0f64; 8];
    let chunks = src.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks { for i in 0..8 { acc[i] += term(c[i]); } }
    acc.iter().sum::<f64>() + rem.iter().map(|&v| term(v)).sum::<f64>()
}

/// Elements per f32 block of `sum_f32_blocked_avx`. Converting every element to f64 instead
/// measured 12-15% slower on a Zen 3 VM, at one thread and at two (a 10M-element sum).
const SUM_BLOCK: usize = 1024;

/// How far ahead (in elements) `sum_f32_blocked_avx` asks for data: 2048 measured best of 512
/// to 4096 (all within a few percent).
const SUM_PREFETCH: usize = 2048;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sum_f32_blocked_avx<const SQUARES: bool>(src: &[f32]) -> f64 {
    use std::arch::x86_64::*;
    let (mut lo, mut hi) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let mut tail = 0f64;
    for blk in src.chunks(SUM_BLOCK) {
        let mut acc = [_mm256_setzero_ps(); 4];
        let n32 = blk.len() / 32 * 32;
        let p = blk.as_ptr();
        let mut i = 0;
        while i < n32 {
            // a hint for the data 8 KiB ahead (may point past the slice: prefetches never fault
            // and the pointer is not dereferenced); the hardware prefetcher alone left ~5% of a
            // 10M-element sum from L3 on the table (Xeon, one thread, scratch benchmark)
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(i + SUM_PREFETCH) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(i + SUM_PREFETCH + 16) as *const i8);
            // four independent add chains, 32 floats per step
            for (j, a) in acc.iter_mut().enumerate() {
                let v = _mm256_loadu_ps(p.add(i + 8 * j));
                *a = if SQUARES { _mm256_fmadd_ps(v, v, *a) } else { _mm256_add_ps(*a, v) };
            }
            i += 32;
        }
        let t = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(t)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(t)));
        for &v in &blk[n32..] { tail += if SQUARES { (v * v) as f64 } else { v as f64 }; }
    }
    let mut lanes = [0f64; 4];
    _mm256_storeu_pd(lanes.as_mut_ptr(), _mm256_add_pd(lo, hi));
    lanes.iter().sum::<f64>() + tail
}

multiversion! {
    /// dst[i] += src[i] for f32 (rows of a column-wise reduction).
    pub fn add_assign_f32(dst: &mut [f32], src: &[f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d += s; }
    }
}

/// erfc(z) for f32, branch-free (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7
/// in exact arithmetic), so loops over it vectorise; exp_f32 does the exponential. The
/// polynomial is evaluated in Estrin's form: a chain of 5 dependent steps instead of Horner's
/// 10, which is what bounds the vectorised loops (same accuracy, measured against f64 erfc).
#[inline(always)]
pub fn erfc_f32(z: f32) -> f32 {
    let a = z.abs();
    let t = 1.0 / (1.0 + 0.5 * a);
    let t2 = t * t;
    let t4 = t2 * t2;
    let t8 = t4 * t4;
    let p01 = (1.000_023_68f32).mul_add(t, -1.265_512_23f32);
    let p23 = (0.096_784_18f32).mul_add(t, 0.374_091_96f32);
    let p45 = (0.278_868_07f32).mul_add(t, -0.186_288_06f32);
    let p67 = (1.488_515_87f32).mul_add(t, -1.135_203_98f32);
    let p89 = (0.170_872_77f32).mul_add(t, -0.822_152_23f32);
    let p = p89.mul_add(t8, p67.mul_add(t2, p45).mul_add(t4, p23.mul_add(t2, p01)));
    let r = t * exp_f32(-a * a + p);
    if z >= 0.0 { r } else { 2.0 - r }
}

/// tanh(u) for f32 as a rational function of u (a 13/6 minimax fit, within ~4e-7 relative
/// of the exact value everywhere, measured over [-10, 10]); branch-free, so loops vectorise.
#[inline(always)]
pub fn tanh_f32(u: f32) -> f32 {
    let x = u.clamp(-7.905_311, 7.905_311);
    let x2 = x * x;
    let mut p = -2.760_768_5e-16f32;
    p = p * x2 + 2.000_187_9e-13;
    p = p * x2 - 8.604_671_5e-11;
    p = p * x2 + 5.122_297e-8;
    p = p * x2 + 1.485_722_4e-5;
    p = p * x2 + 6.372_619_3e-4;
    p = p * x2 + 4.893_524_6e-3;
    let mut q = 1.198_258_4e-6f32;
    q = q * x2 + 1.185_347_1e-4;
    q = q * x2 + 2.268_434_6e-3;
    q = q * x2 + 4.893_525_2e-3;
    let r = x * p / q;
    // tiny inputs: tanh(u) = u to f32 precision (and keeps -0.0 and NaN as they are)
    if u.abs() < 4e-4 || u.is_nan() { u } else { r }
}

multiversion! {
    /// dst[i] = tanh(src[i]) for f32.
    pub fn tanh_slice(src: &[f32], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d = tanh_f32(s); }
    }
}

/// Where `erf_f32` changes from its near-zero polynomial to its tail fit.
const ERF_SPLIT: f32 = 0.9277;

/// erf(z) for |z| <= ERF_SPLIT as z + z·Q(z²), Q a degree-5 least-squares fit of erf(z)/z - 1
/// (within 1.01 ulp of the correctly rounded value over the range, measured with mpmath).
#[inline(always)]
fn erf_near_zero(z: f32) -> f32 {
    let s = z * z;
    let mut q = -5.982_483_2e-4f32;
    q = q.mul_add(s, 4.991_962_3e-3);
    q = q.mul_add(s, -2.676_614e-2);
    q = q.mul_add(s, 1.128_181_5e-1);
    q = q.mul_add(s, -3.761_249_5e-1);
    q = q.mul_add(s, 1.283_791_5e-1);
    q.mul_add(z, z)
}

/// erfc(a) for ERF_SPLIT <= a <= 4: exp of a degree-9 fit of ln erfc in u = (a - 2.46385) /
/// 1.53615 (relative error below 2.6e-6, so 1 - erfc is erf within 2.1 ulp).
#[inline(always)]
fn erfc_mid(a: f32) -> f32 {
    let u = (a - 2.463_85) * (1.0 / 1.536_15);
    let mut r = -2.001_649_3e-6f32;
    r = r.mul_add(u, 5.003_536_2e-5);
    r = r.mul_add(u, -2.735_706_1e-4);
    r = r.mul_add(u, 1.062_036e-3);
    r = r.mul_add(u, -3.744_045_6e-3);
    r = r.mul_add(u, 1.248_802_2e-2);
    r = r.mul_add(u, -4.051_561_1e-2);
    r = r.mul_add(u, -2.224_540_1);
    r = r.mul_add(u, -8.117_754_3);
    r = r.mul_add(u, -7.614_548_9);
    exp_of_fit(r)
}

/// exp(r) for r in [-17, 0] (erfc_mid's range: ln erfc(4) = -16.7), as `exp_f32` without its
/// clamps and special cases, which a fitted argument never needs: 2^n is one exponent field.
#[inline(always)]
fn exp_of_fit(r: f32) -> f32 {
    let (y, n) = exp_reduced(r);
    // SAFETY: r lies in [-17, 0] (the callers clamp a), so n is an integer in [-25, 0]
    let ni: i32 = unsafe { n.to_int_unchecked() };
    y * f32::from_bits(((ni + 127) as u32) << 23)
}

/// erf(z) for f32 within 2.1 ulp, branch-free (both pieces computed, one selected) so loops
/// over it vectorise; past |z| = 4 it is ±1 (erf(4) rounds to 1 in f32). NaN stays NaN.
#[inline(always)]
pub fn erf_f32(z: f32) -> f32 {
    let a = z.abs();
    let far = (1.0 - erfc_mid(a.clamp(ERF_SPLIT, 4.0))).copysign(z);
    if a > ERF_SPLIT { far } else { erf_near_zero(z) }
}

/// The standard normal CDF Φ(x) for x >= GELU_FAST_MIN, where erfc(-x/√2) stays inside
/// erfc_mid's range: relative error below 3e-6 in the lower tail, 1.1e-7 elsewhere. NaN gives NaN.
#[inline(always)]
fn normal_cdf_fast(x: f32) -> f32 {
    let z = x * INV_SQRT_2;
    let a = z.abs();
    let e = 0.5 * erfc_mid(a.clamp(ERF_SPLIT, 4.0));
    let far = if z > 0.0 { 1.0 - e } else { e };
    if a > ERF_SPLIT { far } else { 0.5f32.mul_add(erf_near_zero(z), 0.5) }
}

/// -4√2: below it the GELU kernels take the erfc path (a NaN fails the test as well).
const GELU_FAST_MIN: f32 = -5.656_854;

/// Whether every element of a chunk lies where `normal_cdf_fast` holds.
#[inline(always)]
fn gelu_fast_chunk(xs: &[f32]) -> bool { xs.iter().fold(true, |ok, &x| ok & (x >= GELU_FAST_MIN)) }

multiversion! {
    /// dst[i] = erf(src[i])
    pub fn erf_slice(src: &[f32], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d = erf_f32(s); }
    }
}

const INV_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
const INV_SQRT_2PI: f32 = 0.398_942_3;
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

multiversion! {
    /// GELU forward, exact (erf) form: 0.5 x erfc(-x / sqrt 2).
    pub fn gelu_erf_f32(src: &[f32], dst: &mut [f32]) {
        // chunks of 16 inside the fitted range take the fits (13% faster than the erfc form,
        // which needs a division); others (far lower tail, NaN) the erfc form
        let n = src.len().min(dst.len());
        let full = n / 16 * 16;
        let slow = |d: &mut [f32], s: &[f32]| for (d, &x) in d.iter_mut().zip(s) { *d = 0.5 * x * erfc_f32(-x * INV_SQRT_2); };
        for (s, d) in src[..full].chunks_exact(16).zip(dst[..full].chunks_exact_mut(16)) {
            if gelu_fast_chunk(s) {
                for (d, &x) in d.iter_mut().zip(s) { *d = x * normal_cdf_fast(x); }
            } else {
                slow(d, s);
            }
        }
        slow(&mut dst[full..n], &src[full..n]);
    }
}

multiversion! {
    /// GELU forward, tanh approximation.
    pub fn gelu_tanh_f32(src: &[f32], dst: &mut [f32]) {
        for (d, &x) in dst.iter_mut().zip(src) {
            let inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
            *d = 0.5 * x * (1.0 + tanh_f32(inner));
        }
    }
}

/// SiLU forward: x / (1 + exp(-x)), the AVX-512 kernel where the CPU has it.
pub fn silu_f32(src: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the features were detected on this CPU
        return unsafe { avx512::silu_slice(src, dst) };
    }
    silu_f32_auto(src, dst)
}

multiversion! {
    /// SiLU forward: x / (1 + exp(-x)), the compiler's vectorisation.
    pub fn silu_f32_auto(src: &[f32], dst: &mut [f32]) {
        for (d, &x) in dst.iter_mut().zip(src) { *d = x / (1.0 + exp_f32(-x)); }
    }
}

multiversion! {
    /// SiLU backward: g * s * (1 + x (1 - s)), s = sigmoid(x).
    pub fn silu_bwd_f32(g: &[f32], x: &[f32], dst: &mut [f32]) {
        for ((d, &gv), &v) in dst.iter_mut().zip(g).zip(x) {
            let s = 1.0 / (1.0 + exp_f32(-v));
            *d = gv * s * (1.0 + v * (1.0 - s));
        }
    }
}

multiversion! {
    /// GELU backward, exact form: g * (cdf(x) + x pdf(x)).
    pub fn gelu_erf_bwd_f32(g: &[f32], x: &[f32], dst: &mut [f32]) {
        let slow = |d: &mut [f32], g: &[f32], x: &[f32]| for ((d, &gv), &v) in d.iter_mut().zip(g).zip(x) {
            let cdf = 0.5 * erfc_f32(-v * INV_SQRT_2);
            let pdf = exp_f32(-0.5 * v * v) * INV_SQRT_2PI;
            *d = gv * (cdf + v * pdf);
        };
        let n = x.len().min(g.len()).min(dst.len());
        let full = n / 16 * 16;
        for ((d, g), x) in dst[..full].chunks_exact_mut(16).zip(g[..full].chunks_exact(16)).zip(x[..full].chunks_exact(16)) {
            if gelu_fast_chunk(x) {
                for ((d, &gv), &v) in d.iter_mut().zip(g).zip(x) {
                    let pdf = exp_f32(-0.5 * v * v) * INV_SQRT_2PI;
                    *d = gv * v.mul_add(pdf, normal_cdf_fast(v));
                }
            } else {
                slow(d, g, x);
            }
        }
        slow(&mut dst[full..n], &g[full..n], &x[full..n]);
    }
}

multiversion! {
    /// GELU backward, tanh approximation.
    pub fn gelu_tanh_bwd_f32(g: &[f32], x: &[f32], dst: &mut [f32]) {
        for ((d, &gv), &v) in dst.iter_mut().zip(g).zip(x) {
            let inner = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
            let t = tanh_f32(inner);
            let dinner = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * v * v);
            *d = gv * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * dinner);
        }
    }
}

multiversion! {
    /// Softmax backward over one row: gx = y * (g - sum(g * y)); log-softmax: gx = g - exp(y) sum(g).
    pub fn softmax_bwd_row(y: &[f32], g: &[f32], gx: &mut [f32], log: bool) {
        // sums in LANES lanes: one serial chain of adds would not vectorise
        if log {
            let s = row_sum(g);
            for ((d, &yv), &gv) in gx.iter_mut().zip(y).zip(g) { *d = gv - exp_f32(yv) * s; }
        } else {
            let mut acc = [0f32; LANES];
            let (yc, gc) = (y.chunks_exact(LANES), g.chunks_exact(LANES));
            let tail: f32 = yc.remainder().iter().zip(gc.remainder()).map(|(&a, &b)| a * b).sum();
            for (a, b) in yc.zip(gc) { for i in 0..LANES { acc[i] += a[i] * b[i]; } }
            let s = acc.iter().sum::<f32>() + tail;
            for ((d, &yv), &gv) in gx.iter_mut().zip(y).zip(g) { *d = yv * (gv - s); }
        }
    }
}

/// Max of a row and whether it holds a NaN, in one vectorisable pass.
#[inline(always)]
fn row_max_nan(row: &[f32]) -> (f32, bool) {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut nan = [false; LANES];
    let chunks = row.chunks_exact(LANES);
    let rem = chunks.remainder();
    for c in chunks { for i in 0..LANES { acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] }; nan[i] |= c[i].is_nan(); } }
    let mut m = acc.iter().fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    let mut any = nan.iter().any(|&b| b);
    for &v in rem { m = if v > m { v } else { m }; any |= v.is_nan(); }
    (m, any)
}

/// ln(sum(exp(row))) of one f32 row, shifted by the row's max as the composite form
/// (amax, exp, sum, log) does: an infinite max shifts by 0 (all -inf gives -inf, any +inf
/// gives +inf), a NaN gives NaN. The AVX-512 kernel where the CPU has it.
pub fn logsumexp_row(src: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the features were detected on this CPU
        return unsafe { avx512::logsumexp_row(src) };
    }
    logsumexp_row_auto(src)
}

multiversion! {
    /// `logsumexp_row`, the compiler's vectorisation.
    pub fn logsumexp_row_auto(src: &[f32]) -> f32 {
        let (m, nan) = row_max_nan(src);
        if nan { return f32::NAN; }
        let m = if m.is_finite() { m } else { 0.0 };
        let mut acc = [0f32; LANES];
        let chunks = src.chunks_exact(LANES);
        let rem = chunks.remainder();
        for c in chunks { for i in 0..LANES { acc[i] += exp_f32(c[i] - m); } }
        (acc.iter().sum::<f32>() + rem.iter().map(|&v| exp_f32(v - m)).sum::<f32>()).ln() + m
    }
}

/// dst = softmax(src) (or log_softmax) for one row: the AVX-512 kernel where the CPU has it,
/// else `softmax_row_into_auto`.
pub fn softmax_row_into(src: &[f32], dst: &mut [f32], log: bool) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the features were detected on this CPU
        return unsafe { avx512::softmax_row_into(src, dst, log) };
    }
    softmax_row_into_auto(src, dst, log)
}

multiversion! {
    /// dst = softmax(src) (or log_softmax) for one row, in three passes over cached data. A row
    /// with a NaN is all NaN; a row whose max is +inf is NaN (inf - inf), like PyTorch.
    pub fn softmax_row_into_auto(src: &[f32], dst: &mut [f32], log: bool) {
        let (m, nan) = row_max_nan(src);
        if nan { dst.fill(f32::NAN); return; }
        let m = if m == f32::NEG_INFINITY { 0.0 } else { m };
        let mut acc = [0f32; LANES];
        if log {
            let chunks = src.chunks_exact(LANES);
            let rem = chunks.remainder();
            for c in chunks { for i in 0..LANES { acc[i] += exp_f32(c[i] - m); } }
            let total = acc.iter().sum::<f32>() + rem.iter().map(|&v| exp_f32(v - m)).sum::<f32>();
            let shift = m + total.ln();
            for (d, &v) in dst.iter_mut().zip(src) { *d = v - shift; }
        } else {
            let n8 = src.len() / LANES * LANES;
            for (dc, sc) in dst[..n8].chunks_exact_mut(LANES).zip(src[..n8].chunks_exact(LANES)) {
                for i in 0..LANES { let e = exp_f32(sc[i] - m); dc[i] = e; acc[i] += e; }
            }
            let mut total = acc.iter().sum::<f32>();
            for (d, &v) in dst[n8..].iter_mut().zip(&src[n8..]) { let e = exp_f32(v - m); *d = e; total += e; }
            let inv = 1.0 / total;
            for d in dst.iter_mut() { *d *= inv; }
        }
    }
}
