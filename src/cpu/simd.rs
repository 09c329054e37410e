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
    use super::{EXP_CLAMP_HI, EXP_LN2_HI, EXP_LN2_LO, EXP_POLY, EXP_ZERO_BELOW, LOG_POLY};

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
        let (p, n) = exp_reduced16(xc);
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

    /// exp of 16 lanes known to lie in [-87, 88] (normal results): `exp16` without its clamps.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn exp16_in_range(x: __m512) -> __m512 {
        let (p, n) = exp_reduced16(x);
        _mm512_scalef_ps(p, n)
    }

    /// `super::exp_reduced` of 16 finite lanes: (exp(x) / 2^n, n).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn exp_reduced16(x: __m512) -> (__m512, __m512) {
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E)));
        let r = _mm512_fmadd_ps(n, _mm512_set1_ps(-EXP_LN2_HI), x);
        let r = _mm512_fmadd_ps(n, _mm512_set1_ps(-EXP_LN2_LO), r);
        let mut p = _mm512_set1_ps(EXP_POLY[0]);
        for &c in &EXP_POLY[1..] { p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c)); }
        (p, n)
    }

    /// ln of 16 lanes, bit-equal to `super::log_f32`: VGETMANTPS and VGETEXPPS split x into
    /// m in [0.5, 1) and its exponent (subnormals included) where the scalar form takes bits
    /// apart, then the same reduction to [√½, √2) and the same polynomial.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn log16(x: __m512) -> __m512 {
        let one = _mm512_set1_ps(1.0);
        let m = _mm512_getmant_ps::<_MM_MANT_NORM_P5_1, _MM_MANT_SIGN_ZERO>(x);
        // VGETEXPPS gives floor(log2 |x|), one below the exponent of m in [0.5, 1)
        let e = _mm512_add_ps(_mm512_getexp_ps(x), one);
        let below = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(m, _mm512_set1_ps(std::f32::consts::FRAC_1_SQRT_2));
        let e = _mm512_mask_sub_ps(e, below, e, one);
        let f = _mm512_sub_ps(_mm512_mask_add_ps(m, below, m, m), one);
        let z = _mm512_mul_ps(f, f);
        let mut p = _mm512_set1_ps(LOG_POLY[0]);
        for &c in &LOG_POLY[1..] { p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(c)); }
        let y = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(p, f), z), _mm512_mul_ps(e, _mm512_set1_ps(EXP_LN2_LO)));
        let y = _mm512_fmadd_ps(_mm512_set1_ps(-0.5), z, y);
        let r = _mm512_fmadd_ps(e, _mm512_set1_ps(EXP_LN2_HI), _mm512_add_ps(f, y));
        // ln(±0) = -inf, ln(inf) = inf, ln(negative or NaN) = NaN
        let zero = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, _mm512_setzero_ps());
        let inf = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, _mm512_set1_ps(f32::INFINITY));
        let bad = _mm512_cmp_ps_mask::<_CMP_NGE_UQ>(x, _mm512_setzero_ps());
        let r = _mm512_mask_mov_ps(r, zero, _mm512_set1_ps(f32::NEG_INFINITY));
        let r = _mm512_mask_mov_ps(r, inf, x);
        _mm512_mask_mov_ps(r, bad, _mm512_set1_ps(f32::NAN))
    }

    /// dst[i] = ln(src[i]) over the common length.
    #[target_feature(enable = "avx512f")]
    pub fn log_slice(src: &[f32], dst: &mut [f32]) { map_slice(src, dst, #[inline(always)] |x| log16(x)) }

    /// sin (COS false) or cos of 8 f64 lanes: `super::sincos_f32`'s reduction and polynomials,
    /// the quadrant's selection and sign applied before the rounding to f32 (they commute with
    /// it). Lanes with |x| > SINCOS_FAST_MAX (inf, NaN) give garbage, for the caller to redo.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq")]
    fn sincos8<const COS: bool>(x: __m512d) -> __m512d {
        let j = _mm512_roundscale_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_mul_pd(x, _mm512_set1_pd(std::f64::consts::FRAC_2_PI)));
        let r = _mm512_fmadd_pd(j, _mm512_set1_pd(-super::PIO2_LO), _mm512_fmadd_pd(j, _mm512_set1_pd(-std::f64::consts::FRAC_PI_2), x));
        // the quadrant as an integer (out-of-range lanes convert to the integer indefinite)
        let q = _mm512_cvtpd_epi64(j);
        let z = _mm512_mul_pd(r, r);
        let mut sp = _mm512_set1_pd(super::SIN_POLY[0]);
        for &k in &super::SIN_POLY[1..] { sp = _mm512_fmadd_pd(sp, z, _mm512_set1_pd(k)); }
        let s = _mm512_fmadd_pd(_mm512_mul_pd(sp, z), r, r);
        let mut cp = _mm512_set1_pd(super::COS_POLY[0]);
        for &k in &super::COS_POLY[1..] { cp = _mm512_fmadd_pd(cp, z, _mm512_set1_pd(k)); }
        let c = _mm512_fmadd_pd(_mm512_mul_pd(cp, z), z, _mm512_fmadd_pd(_mm512_set1_pd(-0.5), z, _mm512_set1_pd(1.0)));
        // quadrant q: sin = s, c, -s, -c and cos = c, -s, -c, s
        let odd = _mm512_test_epi64_mask(q, _mm512_set1_epi64(1));
        let (v, negate) = if COS {
            (_mm512_mask_blend_pd(odd, c, s), _mm512_test_epi64_mask(_mm512_add_epi64(q, _mm512_set1_epi64(1)), _mm512_set1_epi64(2)))
        } else {
            (_mm512_mask_blend_pd(odd, s, c), _mm512_test_epi64_mask(q, _mm512_set1_epi64(2)))
        };
        let sign = _mm512_set1_epi64(i64::MIN);
        _mm512_castsi512_pd(_mm512_mask_xor_epi64(_mm512_castpd_si512(v), negate, _mm512_castpd_si512(v), sign))
    }

    /// sin (COS false) or cos of 16 f32 lanes, in two f64 halves; lanes past SINCOS_FAST_MAX
    /// (inf, NaN) through libm, and sin(±0) = ±0.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq")]
    fn sincos16<const COS: bool>(x: __m512) -> __m512 {
        let v = in_f64_halves(x, #[inline(always)] |h| sincos8::<COS>(h));
        let v = if COS { v } else { _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, _mm512_setzero_ps()), x) };
        let far = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(_mm512_abs_ps(x), _mm512_set1_ps(super::SINCOS_FAST_MAX));
        redo_lanes(x, v, far, |s| if COS { s.cos() } else { s.sin() })
    }

    /// f of 16 f32 lanes computed as two 8-lane f64 halves, each rounded to f32 once.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq")]
    fn in_f64_halves(x: __m512, f: impl Fn(__m512d) -> __m512d) -> __m512 {
        let lo = f(_mm512_cvtps_pd(_mm512_castps512_ps256(x)));
        let hi = f(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(x)))));
        _mm512_insertf32x8::<1>(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi))
    }

    /// v with the lanes set in `redo` replaced by the scalar `f` of x's lanes (the rare inputs
    /// a vector kernel leaves to libm).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn redo_lanes(x: __m512, v: __m512, redo: __mmask16, f: impl Fn(f32) -> f32) -> __m512 {
        if redo == 0 { return v; }
        let (mut xs, mut vs) = ([0f32; 16], [0f32; 16]);
        // SAFETY: both arrays hold 16 floats
        unsafe { _mm512_storeu_ps(xs.as_mut_ptr(), x); _mm512_storeu_ps(vs.as_mut_ptr(), v) };
        for l in (0..16).filter(|l| redo >> l & 1 != 0) { vs[l] = f(xs[l]); }
        // SAFETY: as above
        unsafe { _mm512_loadu_ps(vs.as_ptr()) }
    }

    /// dst[i] = sin(src[i]) (COS false) or cos(src[i]) over the common length.
    #[target_feature(enable = "avx512f,avx512dq")]
    pub fn sincos_slice<const COS: bool>(src: &[f32], dst: &mut [f32]) {
        map_slice(src, dst, #[inline(always)] |x| sincos16::<COS>(x))
    }

    /// Where the GELU kernels' tail formula stops: past |x|/√2 = 9 the normal CDF is 0 or 1 to
    /// f32 precision in the sum, and erfc(9) = 4e-37 is still a normal float.
    const GELU_TAIL_MAX: f32 = 9.0;

    /// (Φ(x), a = |x|/√2 clamped to GELU_TAIL_MAX, and whether |x|/√2 is past it) for GELU:
    /// Φ = 1 - h for x > 0 and h otherwise, h = erfc(a)/2 in Numerical Recipes' form
    /// t·exp(-a² + P(t)), t = 1/(1 + a/2), fractional error below 1.2e-7 for every a (ln 2 is
    /// folded into P's constant term for the halving). One formula over the whole range, so no
    /// lane takes a second path; t from VRCP14PS and one Newton step. NaN stays NaN.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn normal_cdf16(x: __m512) -> (__m512, __m512, __mmask16) {
        let one = _mm512_set1_ps(1.0);
        let a_full = _mm512_abs_ps(_mm512_mul_ps(x, _mm512_set1_ps(super::INV_SQRT_2)));
        let past = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(a_full, _mm512_set1_ps(GELU_TAIL_MAX));
        let a = _mm512_min_ps(a_full, _mm512_set1_ps(GELU_TAIL_MAX));
        let d = _mm512_fmadd_ps(a, _mm512_set1_ps(0.5), one);
        let t0 = _mm512_rcp14_ps(d);
        let t = _mm512_fmadd_ps(t0, _mm512_fnmadd_ps(d, t0, one), t0);
        let mut p = _mm512_set1_ps(ERFC_POLY[0]);
        for &c in &ERFC_POLY[1..] { p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(c)); }
        let h = _mm512_mul_ps(t, exp16_in_range(_mm512_fnmadd_ps(a, a, p)));
        let h = _mm512_mask_mov_ps(h, past, _mm512_setzero_ps());
        let pos = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, _mm512_setzero_ps());
        (_mm512_mask_sub_ps(h, pos, one, h), a, past)
    }

    /// Numerical Recipes' erfcc polynomial in t (highest degree first), its constant term less
    /// ln 2 so that t·exp(-a² + P(t)) is erfc(a)/2.
    const ERFC_POLY: [f32; 10] = [0.170_872_77, -0.822_152_23, 1.488_515_87, -1.135_203_98, 0.278_868_07,
                                  -0.186_288_06, 0.096_784_18, 0.374_091_96, 1.000_023_68, -1.265_512_23 - std::f32::consts::LN_2];

    /// GELU (exact form) over the common length: x Φ(x).
    #[target_feature(enable = "avx512f")]
    pub fn gelu_slice(src: &[f32], dst: &mut [f32]) {
        map_slice(src, dst, #[inline(always)] |x| _mm512_mul_ps(x, normal_cdf16(x).0))
    }

    /// GELU backward (exact form) over the common length: g (Φ(x) + x φ(x)), φ(x) =
    /// exp(-a² - ln √(2π)); φ is 0 past the tail bound, so ±inf gives NaN (inf·0) as PyTorch.
    #[target_feature(enable = "avx512f")]
    pub fn gelu_bwd_slice(g: &[f32], x: &[f32], dst: &mut [f32]) {
        let n = g.len().min(x.len()).min(dst.len());
        let (gp, xp, d) = (g.as_ptr(), x.as_ptr(), dst.as_mut_ptr());
        for i in (0..n).step_by(16) {
            // SAFETY: i < n, inside all three slices; load_part reads only lanes below n
            let ((gv, k), (xv, _)) = unsafe { (load_part(gp, i, n), load_part(xp, i, n)) };
            let (cdf, a, past) = normal_cdf16(xv);
            let pdf = _mm512_maskz_mov_ps(!past, exp16_in_range(_mm512_fnmadd_ps(a, a, _mm512_set1_ps(-LN_SQRT_2PI))));
            // SAFETY: the mask k enables only lanes below n
            unsafe { _mm512_mask_storeu_ps(d.add(i), k, _mm512_mul_ps(gv, _mm512_fmadd_ps(xv, pdf, cdf))) };
        }
    }

    /// ln √(2π).
    const LN_SQRT_2PI: f32 = 0.918_938_5;

    /// 2/ln 2 / (2k + 1) for k = 8 down to 0: log2 m = s Q(s²) with s = (m - 1)/(m + 1) (the
    /// series of 2 atanh s / ln 2; the first term left out is below 2e-14 relative for |s| <= 0.2).
    const LOG2_ATANH: [f64; 9] = [0.169_728_828_339_878_04, 0.192_359_338_785_195_12, 0.221_953_083_213_686_67,
                                  0.262_308_189_252_538_8, 0.320_598_897_975_325_2, 0.412_198_583_111_132_4,
                                  0.577_078_016_355_585_3, 0.961_796_693_925_975_6, 2.885_390_081_777_926_8];
    /// (ln 2)^k / k! for k = 11 down to 0: 2^r on [-1/2, 1/2] (Taylor; the rest is below 3e-15).
    const EXP2_TAYLOR: [f64; 12] = [4.445_538_271_870_81e-10, 7.054_911_620_801_12e-9, 1.017_808_600_923_969_7e-7,
                                    1.321_548_679_014_430_5e-6, 1.525_273_380_405_983_8e-5, 1.540_353_039_338_161e-4,
                                    1.333_355_814_642_844_1e-3, 9.618_129_107_628_475e-3, 5.550_410_866_482_157e-2,
                                    0.240_226_506_959_100_7, 0.693_147_180_559_945_3, 1.0];

    /// x^y for 8 f64 lanes holding positive finite f32 values (other lanes give garbage, for
    /// the caller to redo) and a finite y, as 2^(y log2 x): log2 x = e + log2 m with m in
    /// [0.75, 1.5) from VGETMANTPD, then 2^n times a polynomial of the remainder, applied by
    /// VSCALEFPD (overflow to inf and underflow to 0 included). About 1e-13 relative before
    /// the rounding to f32, so the result is the correctly rounded one but in near-halfway cases.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn pow8(x: __m512d, y: __m512d) -> __m512d {
        let one = _mm512_set1_pd(1.0);
        let m = _mm512_getmant_pd::<_MM_MANT_NORM_P75_1P5, _MM_MANT_SIGN_ZERO>(x);
        // VGETEXPPD gives floor(log2 x); m < 1 where the mantissa was at least 1.5 and halved
        let e = _mm512_getexp_pd(x);
        let e = _mm512_mask_add_pd(e, _mm512_cmp_pd_mask::<_CMP_LT_OQ>(m, one), e, one);
        // 1/(m + 1) from VRCP14PD and two Newton steps (14 -> 28 -> ~53 bits): VDIVPD's
        // throughput (one per 16 cycles) bounded the loop
        let d = _mm512_add_pd(m, one);
        let t = _mm512_rcp14_pd(d);
        let t = _mm512_fmadd_pd(t, _mm512_fnmadd_pd(d, t, one), t);
        let t = _mm512_fmadd_pd(t, _mm512_fnmadd_pd(d, t, one), t);
        let s = _mm512_mul_pd(_mm512_sub_pd(m, one), t);
        let z = _mm512_mul_pd(s, s);
        let mut q = _mm512_set1_pd(LOG2_ATANH[0]);
        for &c in &LOG2_ATANH[1..] { q = _mm512_fmadd_pd(q, z, _mm512_set1_pd(c)); }
        let w = _mm512_mul_pd(y, _mm512_fmadd_pd(s, q, e));
        let n = _mm512_roundscale_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(w);
        let r = _mm512_sub_pd(w, n);
        let mut p = _mm512_set1_pd(EXP2_TAYLOR[0]);
        for &c in &EXP2_TAYLOR[1..] { p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c)); }
        _mm512_scalef_pd(p, n)
    }

    /// dst[i] = src[i]^y over the common length for a finite y; lanes whose base is not a
    /// positive finite number (0, negative, inf, NaN) through libm's powf.
    #[target_feature(enable = "avx512f,avx512dq")]
    pub fn powf_slice(src: &[f32], y: f32, dst: &mut [f32]) {
        let yv = _mm512_set1_pd(y as f64);
        map_slice(src, dst, #[inline(always)] |x| {
            let v = in_f64_halves(x, #[inline(always)] |h| pow8(h, yv));
            let good = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, _mm512_setzero_ps())
                & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_set1_ps(f32::INFINITY));
            redo_lanes(x, v, !good, |s| s.powf(y))
        })
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
    let mut p = LOG_POLY[0];
    for &c in &LOG_POLY[1..] { p = p.mul_add(f, c); }
    let y = (p * f * z).mul_add(1.0, e * EXP_LN2_LO);
    let y = (-0.5f32).mul_add(z, y);
    let r = e.mul_add(EXP_LN2_HI, f + y);
    // ln(0) = -inf, ln(inf) = inf, ln(negative or NaN) = NaN
    if x == 0.0 { f32::NEG_INFINITY } else if x == f32::INFINITY { x } else if x < 0.0 || x.is_nan() { f32::NAN } else { r }
}

/// ln(1 + m) - m + m²/2 = m³ P(m) on [√½ - 1, √2 - 1], P's coefficients highest first (Cephes).
const LOG_POLY: [f32; 9] = [7.037_683_6e-2, -1.151_461e-1, 1.167_699_9e-1, -1.242_014_1e-1, 1.424_932_3e-1,
                            -1.666_805_8e-1, 2.000_071_4e-1, -2.499_999_4e-1, 3.333_333_1e-1];

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

/// The low part of pi/2 (pi/2 - FRAC_PI_2 as f64).
const PIO2_LO: f64 = 6.123_233_995_736_766e-17;
/// fdlibm's kernel polynomials on [-pi/4, pi/4] (highest degree first): sin r = r + r z S(z),
/// cos r = 1 - z/2 + z² C(z), z = r².
const SIN_POLY: [f64; 6] = [1.589_690_995_211_550_1e-10, -2.505_076_025_340_686_3e-8, 2.755_731_370_707_006_8e-6,
                            -1.984_126_982_985_795e-4, 8.333_333_333_322_49e-3, -1.666_666_666_666_663_2e-1];
const COS_POLY: [f64; 6] = [-1.135_964_755_778_819_5e-11, 2.087_572_321_298_175e-9, -2.755_731_435_139_066_3e-7,
                            2.480_158_728_947_673e-5, -1.388_888_888_887_411e-3, 4.166_666_666_666_66e-2];

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
    let r = j.mul_add(-PIO2_LO, j.mul_add(-std::f64::consts::FRAC_PI_2, xd));
    // lanes past SINCOS_FAST_MAX (and inf, NaN) are redone by the caller: their quadrant is
    // replaced by 0 first, so the unchecked conversion below is defined for every lane. (`as`
    // saturates instead, which LLVM turned into one scalar conversion per lane: sin and cos
    // ran at 0.35 G elements/s, a sixth of PyTorch's speed.)
    let j_in_range = if j.abs() <= 4.0e6 { j } else { 0.0 };
    // SAFETY: j_in_range is an integer-valued f64 in [-4e6, 4e6], inside i32's range
    let q: i32 = unsafe { j_in_range.to_int_unchecked() };
    let z = r * r;
    let mut sp = SIN_POLY[0];
    for &k in &SIN_POLY[1..] { sp = sp.mul_add(z, k); }
    let s = (sp * z).mul_add(r, r);
    let mut cp = COS_POLY[0];
    for &k in &COS_POLY[1..] { cp = cp.mul_add(z, k); }
    let c = (cp * z).mul_add(z, (-0.5f64).mul_add(z, 1.0));
    let (s, c) = (s as f32, c as f32);
    // quadrant q: sin = s, c, -s, -c and cos = c, -s, -c, s
    let (sv, cv) = if q & 1 != 0 { (c, s) } else { (s, c) };
    let sv = if q & 2 != 0 { -sv } else { sv };
    let cv = if (q + 1) & 2 != 0 { -cv } else { cv };
    // sin(-0.0) is -0.0 (the remainder above comes out +0.0)
    (if x == 0.0 { x } else { sv }, cv)
}

/// dst[i] = sin(src[i]): the AVX-512 kernel where the CPU has it (bit-equal to `sincos_f32`).
pub fn sin_slice(src: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the features were detected on this CPU
        return unsafe { avx512::sincos_slice::<false>(src, dst) };
    }
    sin_slice_auto(src, dst)
}

/// dst[i] = cos(src[i]): the AVX-512 kernel where the CPU has it (bit-equal to `sincos_f32`).
pub fn cos_slice(src: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the features were detected on this CPU
        return unsafe { avx512::sincos_slice::<true>(src, dst) };
    }
    cos_slice_auto(src, dst)
}

multiversion! {
    /// dst[i] = sin(src[i]), the compiler's vectorisation.
    pub fn sin_slice_auto(src: &[f32], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d = sincos_f32(s).0; }
        for (d, &s) in dst.iter_mut().zip(src) { if !(s.abs() <= SINCOS_FAST_MAX) { *d = s.sin(); } }
    }
}

multiversion! {
    /// dst[i] = cos(src[i]), the compiler's vectorisation.
    pub fn cos_slice_auto(src: &[f32], dst: &mut [f32]) {
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

/// dst[i] = src[i]^y for a finite y: the AVX-512 kernel where the CPU has it (libm's powf per
/// element, which ran at 0.44x PyTorch's vectorised pow, elsewhere).
pub fn powf_slice(src: &[f32], y: f32, dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() && y.is_finite() {
        // SAFETY: the features were detected on this CPU
        return unsafe { avx512::powf_slice(src, y, dst) };
    }
    for (d, &s) in dst.iter_mut().zip(src) { *d = s.powf(y); }
}

/// dst[i] = ln(src[i]): the AVX-512 kernel where the CPU has it (bit-equal to `log_f32`).
pub fn log_slice(src: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the features were detected on this CPU
        return unsafe { avx512::log_slice(src, dst) };
    }
    log_slice_auto(src, dst)
}

multiversion! {
    /// dst[i] = ln(src[i]), the compiler's vectorisation.
    pub fn log_slice_auto(src: &[f32], dst: &mut [f32]) {
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
pub fn map_f32_in_place_or_into(dst: &crate::tensor::Body, src: &crate::tensor::Body, f: impl Fn(&[f32], &mut [f32]) + Sync) -> crate::error::Result<()> {
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

    /// Bit patterns for the AVX-512 sweeps: every 1009th positive float (subnormals
    /// included), both signs, the special values, and a length with a partial last vector.
    fn sweep_inputs() -> Vec<f32> {
        let mut xs = vec![];
        let mut b: u32 = 1;
        while b < 0x7f80_0000 { xs.push(f32::from_bits(b)); xs.push(-f32::from_bits(b)); b += 1009; }
        xs.extend([0.0, -0.0, 1.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::MIN_POSITIVE, super::SINCOS_FAST_MAX, 3e7, -3e7]);
        xs
    }

    #[test]
    fn avx512_log_and_sincos_bit_equal_to_scalar() {
        if !super::has_avx512() { return; }
        let xs = sweep_inputs();
        let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        let mut got = vec![0f32; xs.len()];
        // SAFETY: the features were detected on this CPU
        unsafe { super::avx512::log_slice(&xs, &mut got) };
        for (&x, &g) in xs.iter().zip(&got) { assert!(same(g, super::log_f32(x)), "log x={x:e} got {g}"); }
        let mut want = vec![0f32; xs.len()];
        // SAFETY: as above
        unsafe { super::avx512::sincos_slice::<false>(&xs, &mut got) };
        super::sin_slice_auto(&xs, &mut want);
        for i in 0..xs.len() { assert!(same(got[i], want[i]), "sin x={:e} got {} want {}", xs[i], got[i], want[i]); }
        // SAFETY: as above
        unsafe { super::avx512::sincos_slice::<true>(&xs, &mut got) };
        super::cos_slice_auto(&xs, &mut want);
        for i in 0..xs.len() { assert!(same(got[i], want[i]), "cos x={:e} got {} want {}", xs[i], got[i], want[i]); }
        for len in 0..40 {
            let src: Vec<f32> = (0..len).map(|i| i as f32 * 0.75 + 0.1).collect();
            let mut dst = vec![-7f32; len + 3];
            // SAFETY: as above
            unsafe { super::avx512::log_slice(&src, &mut dst[..len]) };
            for i in 0..len { assert_eq!(dst[i], super::log_f32(src[i]), "len {len} lane {i}"); }
            // SAFETY: as above
            unsafe { super::avx512::sincos_slice::<false>(&src, &mut dst[..len]) };
            for i in 0..len { assert_eq!(dst[i], super::sincos_f32(src[i]).0, "len {len} lane {i}"); }
            assert_eq!(&dst[len..], &[-7.0; 3], "wrote past the slice");
        }
    }

    #[test]
    fn avx512_powf_correctly_rounded_but_near_halfway() {
        if !super::has_avx512() { return; }
        let xs = sweep_inputs();
        let mut got = vec![0f32; xs.len()];
        for y in [1.5f32, -0.5, 0.3, 2.5, -3.7, 1e-3, 40.0, -40.0, 0.0, 1e30] {
            // SAFETY: the features were detected on this CPU
            unsafe { super::avx512::powf_slice(&xs, y, &mut got) };
            let mut off = 0;
            for (&x, &g) in xs.iter().zip(&got) {
                if !(x > 0.0 && x < f32::INFINITY) {
                    let w = x.powf(y);
                    assert!(g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()), "x={x:e} y={y} got {g} want {w}");
                    continue;
                }
                let w = (x as f64).powf(y as f64) as f32;
                let ulps = (g.to_bits() as i64 - w.to_bits() as i64).abs();
                assert!(ulps <= 1, "x={x:e} y={y} got {g:e} want {w:e}");
                off += ulps as usize;
            }
            // off by one only where the exact value is within ~1e-13 of halfway
            assert!(off * 10_000 <= xs.len(), "y={y}: {off} of {} off by one ulp", xs.len());
        }
    }

    #[test]
    fn avx512_gelu_matches_f64() {
        if !super::has_avx512() { return; }
        // Φ and φ in f64 from libm's erfc/exp
        let cdf = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
        let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mut xs: Vec<f32> = (0..40_000).map(|i| -20.0 + i as f32 * 0.001).collect();
        xs.extend([0.0, -0.0, 1e-30, -1e-30, 1e30, -1e30, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 12.72, -12.72, 12.73, -12.73]);
        let g: Vec<f32> = xs.iter().enumerate().map(|(i, _)| 0.5 + (i % 7) as f32 * 0.25).collect();
        let (mut y, mut gx) = (vec![0f32; xs.len()], vec![0f32; xs.len()]);
        // SAFETY: the features were detected on this CPU
        unsafe { super::avx512::gelu_slice(&xs, &mut y); super::avx512::gelu_bwd_slice(&g, &xs, &mut gx) };
        for i in 0..xs.len() {
            let x = xs[i] as f64;
            let (wy, wg) = (x * cdf(x), g[i] as f64 * (cdf(x) + x * pdf(x)));
            if x.is_nan() { assert!(y[i].is_nan() && gx[i].is_nan()); continue; }
            if x == f64::NEG_INFINITY { assert!(y[i].is_nan() && gx[i].is_nan(), "-inf: {} {}", y[i], gx[i]); continue; }
            if x == f64::INFINITY { assert!(y[i] == f32::INFINITY && gx[i].is_nan(), "inf: {} {}", y[i], gx[i]); continue; }
            // relative 1e-6, plus on the negative side the rounding of a = |x|/√2 carried into
            // exp(-a²) (2a² ulps of a: 1.2e-7 a², bounded here by 2e-7 a²; 1.5e-5 at x = -12.5,
            // where PyTorch's float erf has given 0 since x = -5.5); below x = -9√2 the kernel
            // gives 0 for values under 3e-36
            let tol = |w: f64| 3e-36 + w.abs() * (1e-6 + if x < 0.0 { 2e-7 * (x * x / 2.0) } else { 0.0 });
            assert!((y[i] as f64 - wy).abs() <= tol(wy), "gelu x={x} got {} want {wy}", y[i]);
            assert!((gx[i] as f64 - wg).abs() <= tol(wg) + 1e-7 * (g[i] as f64), "gelu grad x={x} got {} want {wg}", gx[i]);
        }
        for len in 0..40 {
            let src: Vec<f32> = (0..len).map(|i| i as f32 * 0.25 - 3.0).collect();
            let mut dst = vec![-7f32; len + 3];
            // SAFETY: as above
            unsafe { super::avx512::gelu_bwd_slice(&src, &src, &mut dst[..len]) };
            assert_eq!(&dst[len..], &[-7.0; 3], "wrote past the slice");
        }
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

/// GELU forward, exact (erf) form: the AVX-512 kernel where the CPU has it.
pub fn gelu_erf_f32(src: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the features were detected on this CPU
        return unsafe { avx512::gelu_slice(src, dst) };
    }
    gelu_erf_f32_auto(src, dst)
}

multiversion! {
    /// GELU forward, exact (erf) form: 0.5 x erfc(-x / sqrt 2), the compiler's vectorisation.
    pub fn gelu_erf_f32_auto(src: &[f32], dst: &mut [f32]) {
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

/// GELU backward, exact form: the AVX-512 kernel where the CPU has it.
pub fn gelu_erf_bwd_f32(g: &[f32], x: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the features were detected on this CPU
        return unsafe { avx512::gelu_bwd_slice(g, x, dst) };
    }
    gelu_erf_bwd_f32_auto(g, x, dst)
}

multiversion! {
    /// GELU backward, exact form: g * (cdf(x) + x pdf(x)), the compiler's vectorisation.
    pub fn gelu_erf_bwd_f32_auto(g: &[f32], x: &[f32], dst: &mut [f32]) {
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
