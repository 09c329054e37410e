//! Vectorizable math kernels with runtime CPU dispatch (no `target-cpu=native` in the wheel):
//! each loop is compiled twice, baseline SSE2 and AVX2+FMA, and picked once per call.

/// exp(x) for f32 (Cephes-style range reduction + degree-6 polynomial, ~1 ulp), written
/// branch-free so LLVM vectorizes the loop.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // NaN is mapped to 0 here (and restored at the end) so the int conversion below is defined
    let xc = if x.is_nan() { 0.0 } else { x.clamp(-104.0, 88.722_84) };
    let n = (xc * LOG2E + 0.5).floor();
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let y = p * r * r + r + 1.0;
    // SAFETY: n is finite and within [-151, 128] after the clamp; the unchecked conversion
    // (unlike `as`, which saturates) vectorizes to cvttps2dq
    let ni: i32 = unsafe { n.to_int_unchecked() };
    // 2^n as two normal halves, so results near overflow and in the subnormal range are exact
    let (n1, n2) = (ni >> 1, ni - (ni >> 1));
    let v = y * f32::from_bits(((n1 + 127) as u32) << 23) * f32::from_bits(((n2 + 127) as u32) << 23);
    // restore the IEEE edge cases the clamp removed
    let v = if x > 88.722_84 { f32::INFINITY } else { v };
    let v = if x < -103.972_08 { 0.0 } else { v };
    if x.is_nan() { x } else { v }
}

macro_rules! multiversion {
    ($(#[$m:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        $(#[$m])*
        pub fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                // SAFETY (of calling it): only after the runtime feature check below
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fast($($arg: $ty),*) -> $ret $body
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
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
                // SAFETY (of calling it): only after the runtime feature check below
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fast($($arg: $ty),*) $body
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the features were detected on this CPU
                    return unsafe { fast($($arg),*) };
                }
            }
            $body
        }
    };
}

multiversion! {
    /// dst[i] = exp(src[i])
    pub fn exp_slice(src: &[f32], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d = exp_f32(s); }
    }
}

multiversion! {
    /// dst[i] = 1 / (1 + exp(-src[i]))
    pub fn sigmoid_slice(src: &[f32], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d = 1.0 / (1.0 + exp_f32(-s)); }
    }
}

/// Max and sum reductions with eight independent lanes (vectorizes without fast-math).
#[inline(always)]
fn row_max(row: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = row.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks { for i in 0..8 { acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] }; } }
    let mut m = acc.iter().fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    for &v in rem { m = if v > m { v } else { m }; }
    m
}

#[inline(always)]
fn row_sum(row: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = row.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks { for i in 0..8 { acc[i] += c[i]; } }
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
        let mut s = [0f32; 8];
        let chunks = row.chunks_exact(8);
        let rem = chunks.remainder();
        for c in chunks { for i in 0..8 { s[i] += exp_f32(c[i]); } }
        let total = s.iter().sum::<f32>() + rem.iter().map(|&v| exp_f32(v)).sum::<f32>();
        let ls = total.ln();
        for v in row.iter_mut() { *v -= ls; }
    }
}
#[cfg(test)]
mod tests {
    #[test]
    fn exp_matches_libm_within_2_ulp() {
        let mut x = -100.0f32;
        while x < 89.0 {
            let (a, b) = (super::exp_f32(x), x.exp());
            let ulp = (a.to_bits() as i64 - b.to_bits() as i64).abs();
            assert!(ulp <= 2 || (a - b).abs() < f32::MIN_POSITIVE, "x={x} got {a} want {b}");
            x += 0.0137;
        }
        assert_eq!(super::exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(super::exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(super::exp_f32(f32::NAN).is_nan());
    }
}

multiversion! {
    /// Sum of f32 values accumulated in f64 (16 independent lanes, so it vectorises and keeps
    /// rounding error below PyTorch's cascade sum).
    pub fn sum_f32_in_f64(src: &[f32]) -> f64 {
        let mut acc = [0f64; 16];
        let chunks = src.chunks_exact(16);
        let rem = chunks.remainder();
        for c in chunks { for i in 0..16 { acc[i] += c[i] as f64; } }
        let mut s = 0.0;
        for a in acc { s += a; }
        for &v in rem { s += v as f64; }
        s
    }
}

multiversion! {
    /// dst[i] += src[i] for f32 (rows of a column-wise reduction).
    pub fn add_assign_f32(dst: &mut [f32], src: &[f32]) {
        for (d, &s) in dst.iter_mut().zip(src) { *d += s; }
    }
}
