//! Box-Muller kernels that turn uniform samples into normal ones exactly as PyTorch's CPU
//! `normal_` does, so seeded programs draw PyTorch's own numbers.
//!
//! PyTorch fills a contiguous float32 tensor of 16+ elements with uniforms, then transforms
//! each block of 16 with 8-lane AVX2 `log`/`sincos` polynomials (Cephes coefficients, the
//! "avx_mathfun" routines) compiled with FMA contraction. `normal_fill_16_f32` replays those
//! polynomials lane by lane with the same operation order and fused multiply-adds, which
//! reproduces its bits (checked against recorded PyTorch streams in tests/test_rng_streams.py).

/// Cephes-style natural log of a positive float, as PyTorch's 8-lane AVX2 kernel computes it.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn cephes_log_f32(x: f32) -> f32 {
    const P: [f32; 9] = [
        7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
        -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1,
    ];
    // NaN for x <= 0 or NaN is selected at the end (no early return, so lanes vectorise)
    let invalid = x.is_nan() || x <= 0.0;
    let x = x.max(f32::MIN_POSITIVE);
    let bits = x.to_bits();
    let mut e = ((bits >> 23) as i32 - 0x7f) as f32 + 1.0;
    let mut m = f32::from_bits((bits & !0x7f80_0000) | 0.5f32.to_bits());
    // m in [0.5, 1): below sqrt(1/2) use 2m - 1 and one less in the exponent
    let small = m < 0.707106781186547524;
    let tmp = if small { m } else { 0.0 };
    m -= 1.0;
    if small { e -= 1.0; }
    m += tmp;
    let z = m * m;
    let mut y = P[0];
    for &p in &P[1..] { y = y.mul_add(m, p); }
    y *= m;
    y = y.mul_add(z, e * -2.12194440e-4);
    y = z.mul_add(-0.5, y);
    m += y;
    let r = e.mul_add(0.693359375, m);
    if invalid { f32::NAN } else { r }
}

/// Cephes-style sine and cosine of a float in [0, 2*pi), as PyTorch's AVX2 `sincos256_ps`.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn cephes_sincos_f32(x: f32) -> (f32, f32) {
    let sign_sin = x.is_sign_negative();
    let mut x = x.abs();
    // octant j = (int(x * 4/pi) + 1) & ~1; x is reduced by j * pi/4 in three exact parts
    let j = ((x * 1.27323954473516) as i32 + 1) & !1;
    let y = j as f32;
    let swap_sign_sin = j & 4 != 0;
    let sin_poly_first = j & 2 == 0;
    x = y.mul_add(-0.78515625, x);
    x = y.mul_add(-2.4187564849853515625e-4, x);
    x = y.mul_add(-3.77489497744594108e-8, x);
    let cos_negative = (!(j.wrapping_sub(2))) & 4 != 0;
    let sin_negative = sign_sin ^ swap_sign_sin;
    let z = x * x;
    let mut yc = 2.443315711809948E-5f32;
    yc = yc.mul_add(z, -1.388731625493765E-3);
    yc = yc.mul_add(z, 4.166664568298827E-2);
    yc *= z;
    yc = yc.mul_add(z, -(z * 0.5));
    yc += 1.0;
    let mut ys = -1.9515295891E-4f32;
    ys = ys.mul_add(z, 8.3321608736E-3);
    ys = ys.mul_add(z, -1.6666654611E-1);
    ys *= z;
    ys = ys.mul_add(x, x);
    let (s, c) = if sin_poly_first { (ys, yc) } else { (yc, ys) };
    (if sin_negative { -s } else { s }, if cos_negative { -c } else { c })
}

/// Turns 16 uniforms in [0, 1) into 16 normals: lane j pairs data[j] (radius) with
/// data[j + 8] (angle), like PyTorch's AVX2 `normal_fill_16`.
#[inline(always)]
fn normal_block_f32(data: &mut [f32], mean: f32, std: f32) {
    let two_pi = (2.0 * std::f64::consts::PI) as f32;
    let Some((lo, hi)) = data.get_mut(..16).map(|b| b.split_at_mut(8)) else { return };
    for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
        let u1 = 1.0 - *a;
        let u2 = *b;
        let radius = (-2.0 * cephes_log_f32(u1)).sqrt();
        let (s, c) = cephes_sincos_f32(two_pi * u2);
        *a = (radius * c).mul_add(std, mean);
        *b = (radius * s).mul_add(std, mean);
    }
}

crate::cpu::simd::multiversion! {
    /// One block of 16 uniforms into normals (`normal_block_f32`).
    pub fn normal_fill_16_f32(data: &mut [f32], mean: f32, std: f32) {
        normal_block_f32(data, mean, std)
    }
}

crate::cpu::simd::multiversion! {
    /// Every full block of 16 of `data` into normals in one call (one feature dispatch for
    /// the tensor, not one per block).
    pub fn normal_fill_f32(data: &mut [f32], mean: f32, std: f32) {
        for block in data.chunks_exact_mut(16) { normal_block_f32(block, mean, std) }
    }
}

crate::cpu::simd::multiversion! {
    /// Uniforms in [lo, hi) from 32-bit draws as PyTorch's `uniform_` makes them for float32
    /// and narrower types: the low `digits` bits scaled to [0, 1), then one fused multiply-add.
    pub fn uniform_f32_from_bits(bits: &[u32], digits: u32, lo: f32, hi: f32, out: &mut [f32]) {
        let mask = (1u32 << digits) - 1;
        let scale = 1.0 / (1u32 << digits) as f32;
        for (o, &b) in out.iter_mut().zip(bits) { *o = ((b & mask) as f32 * scale).mul_add(hi - lo, lo); }
    }
}

/// The portable version PyTorch runs on CPUs without AVX2 (and for float64): libm maths.
pub fn normal_fill_16_f64(data: &mut [f64], mean: f64, std: f64) {
    for j in 0..8.min(data.len() / 2) {
        let u1 = 1.0 - data[j];
        let u2 = data[j + 8];
        let radius = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u2;
        data[j] = (radius * theta.cos()).mul_add(std, mean);
        data[j + 8] = (radius * theta.sin()).mul_add(std, mean);
    }
}

/// float32 without AVX2: PyTorch's scalar `normal_fill_16<float>` with libm log/cos/sin.
pub fn normal_fill_16_f32_portable(data: &mut [f32], mean: f32, std: f32) {
    for j in 0..8.min(data.len() / 2) {
        let u1 = 1.0 - data[j];
        let u2 = data[j + 8];
        let radius = (-2.0 * u1.ln()).sqrt();
        let theta = (2.0 * std::f64::consts::PI) as f32 * u2;
        data[j] = (radius * theta.cos()).mul_add(std, mean);
        data[j + 8] = (radius * theta.sin()).mul_add(std, mean);
    }
}

/// True when PyTorch on this CPU would take its AVX2 normal kernel.
pub fn has_avx2_normal() -> bool {
    super::simd::has_avx2_fma()
}
