//! Fused nn kernels: softmax, layer norm, GELU, negative log-likelihood. Each works on
//! contiguous slices whose lengths the caller derived from one shape; every entry point
//! re-checks those lengths and returns an error string instead of indexing out of range.
use rayon::prelude::*;

use super::iter::{parallel_ok, GRAIN};

fn len_err(what: &str, got: usize, want: usize) -> String { format!("{}: {} elements, expected {}", what, got, want) }

/// Float element types of these kernels; statistics accumulate in f64.
pub trait NnElem: 'static + Copy + Send + Sync + num_traits::Float {
    fn f(self) -> f64;
    fn of(v: f64) -> Self;
}
impl NnElem for f32 { #[inline] fn f(self) -> f64 { self as f64 } #[inline] fn of(v: f64) -> Self { v as f32 } }
impl NnElem for f64 { #[inline] fn f(self) -> f64 { self } #[inline] fn of(v: f64) -> Self { v } }

fn par_rows(total: usize) -> bool { total >= GRAIN && parallel_ok() }

/// The slice as f32 when T is f32 (for the vectorised f32 kernels).
pub(crate) fn as_f32<T: 'static>(v: &[T]) -> Option<&[f32]> {
    // SAFETY: T is f32 (checked), so the layout is identical
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>()).then(|| unsafe { std::slice::from_raw_parts(v.as_ptr() as *const f32, v.len()) })
}
pub(crate) fn as_f32_mut<T: 'static>(v: &mut [T]) -> Option<&mut [f32]> {
    // SAFETY: T is f32 (checked), so the layout is identical; the borrow is moved into the result
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>()).then(|| unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut f32, v.len()) })
}

/// dst rows = softmax (or log_softmax) of the src rows of length `len`; each row is copied and
/// normalised while it is in cache.
pub fn softmax_rows<T: num_traits::Float + Send + Sync + 'static>(src: &[T], data: &mut [T], len: usize, log: bool) {
    if let (Some(s), Some(d)) = (as_f32(src), as_f32_mut(data)) {
        let row = |(o, i): (&mut [f32], &[f32])| super::simd::softmax_row_into(i, o, log);
        if d.len() >= GRAIN && parallel_ok() { d.par_chunks_mut(len).zip(s.par_chunks(len)).for_each(row) } else { d.chunks_mut(len).zip(s.chunks(len)).for_each(row) }
        return;
    }
    let work = |(row, i): (&mut [T], &[T])| {
        row.copy_from_slice(i);
        let m = row.iter().fold(T::neg_infinity(), |a, &b| if b > a || b.is_nan() { b } else { a });
        // a row whose max is +inf is all NaN (inf - inf), like PyTorch; only -inf is shifted
        let m = if m == T::neg_infinity() { T::zero() } else { m };
        if log {
            let s = row.iter().fold(T::zero(), |a, &v| a + (v - m).exp());
            let ls = s.ln() + m;
            for v in row.iter_mut() { *v = *v - ls; }
        } else {
            let mut s = T::zero();
            for v in row.iter_mut() { *v = (*v - m).exp(); s = s + *v; }
            let inv = T::one() / s;
            for v in row.iter_mut() { *v = *v * inv; }
        }
    };
    if data.len() >= GRAIN && parallel_ok() { data.par_chunks_mut(len).zip(src.par_chunks(len)).for_each(work) } else { data.chunks_mut(len).zip(src.chunks(len)).for_each(work) }
}

/// out[r] = ln(sum(exp(row r))) over the src rows of length `len` (> 0, out.len() rows), with
/// the max shift of `simd::logsumexp_row`.
pub fn logsumexp_rows<T: num_traits::Float + Send + Sync + 'static>(src: &[T], out: &mut [T], len: usize) {
    let par = src.len() >= GRAIN && out.len() > 1 && parallel_ok();
    if let (Some(s), Some(o)) = (as_f32(src), as_f32_mut(out)) {
        let row = |(o, r): (&mut f32, &[f32])| *o = super::simd::logsumexp_row(r);
        if par { o.par_iter_mut().zip(s.par_chunks(len)).for_each(row) } else { o.iter_mut().zip(s.chunks(len)).for_each(row) }
        return;
    }
    let row = |(o, r): (&mut T, &[T])| {
        let m = r.iter().fold(T::neg_infinity(), |a, &b| if b > a || b.is_nan() { b } else { a });
        *o = if m.is_nan() { m } else {
            let m = if m.is_finite() { m } else { T::zero() };
            r.iter().fold(T::zero(), |a, &v| a + (v - m).exp()).ln() + m
        };
    };
    if par { out.par_iter_mut().zip(src.par_chunks(len)).for_each(row) } else { out.iter_mut().zip(src.chunks(len)).for_each(row) }
}

/// Runs an elementwise f32 kernel over matching chunks, across the pool for large inputs.
fn chunked2(x: &[f32], y: &mut [f32], f: fn(&[f32], &mut [f32])) {
    const CH: usize = 1 << 14;
    if par_rows(x.len()) { y.par_chunks_mut(CH).zip(x.par_chunks(CH)).for_each(|(o, i)| f(i, o)) } else { f(x, y) }
}

/// Softmax / log-softmax backward over contiguous rows of length `len` (y is the forward output).
pub fn softmax_bwd<T: NnElem>(y: &[T], g: &[T], len: usize, log: bool, gx: &mut [T]) -> Result<(), String> {
    if y.len() != g.len() || gx.len() != y.len() || len == 0 || y.len() % len != 0 { return Err(len_err("softmax grad", gx.len(), y.len())); }
    if let (Some(ys), Some(gs), Some(os)) = (as_f32(y), as_f32(g), as_f32_mut(gx)) {
        let f = |(o, (a, b)): (&mut [f32], (&[f32], &[f32]))| super::simd::softmax_bwd_row(a, b, o, log);
        if par_rows(ys.len()) { os.par_chunks_mut(len).zip(ys.par_chunks(len).zip(gs.par_chunks(len))).for_each(f) } else { os.chunks_mut(len).zip(ys.chunks(len).zip(gs.chunks(len))).for_each(f) }
        return Ok(());
    }
    let f = |(o, (yr, gr)): (&mut [T], (&[T], &[T]))| {
        if log {
            let s = gr.iter().fold(0.0, |a, &v| a + v.f());
            for j in 0..len { o[j] = T::of(gr[j].f() - yr[j].f().exp() * s); }
        } else {
            let s = yr.iter().zip(gr).fold(0.0, |a, (&yv, &gv)| a + yv.f() * gv.f());
            for j in 0..len { o[j] = T::of(yr[j].f() * (gr[j].f() - s)); }
        }
    };
    if par_rows(y.len()) { gx.par_chunks_mut(len).zip(y.par_chunks(len).zip(g.par_chunks(len))).for_each(f) } else { gx.chunks_mut(len).zip(y.chunks(len).zip(g.chunks(len))).for_each(f) }
    Ok(())
}

/// Independent f64 accumulators in the row sums: four zmm registers with AVX-512 (eight ymm
/// with AVX2). With eight (one zmm) each sum was one chain of dependent adds, 4 cycles per
/// 8 elements, which bounded layer norm's rows (with the one-pass f32 statistics below: 1024
/// rows of 128 at one thread 127 -> 76 µs on the 2-vCPU Xeon of stop 29, PyTorch 78-107).
const SUM_LANES: usize = 32;

/// The sum of the accumulators as a tree: the four vectors added lane-wise, then 8 -> 4 -> 2
/// -> 1 (a sequential sum of 32 lanes was a chain of 31 dependent adds per row, longer than
/// the row's loop for rows of 128).
#[inline(always)]
fn sum_lanes(acc: &[f64; SUM_LANES]) -> f64 {
    let mut a = [0f64; 8];
    for i in 0..8 { a[i] = (acc[i] + acc[i + 8]) + (acc[i + 16] + acc[i + 24]); }
    let b = [a[0] + a[4], a[1] + a[5], a[2] + a[6], a[3] + a[7]];
    (b[0] + b[2]) + (b[1] + b[3])
}

/// Sum over SUM_LANES independent f64 lanes of `f(x[i])`: the chains overlap and vectorise,
/// and accumulating in f64 keeps the statistics as accurate as a sequential f64 sum.
#[inline(always)]
fn lane_sum<T: Copy>(x: &[T], f: impl Fn(T) -> f64) -> f64 {
    let mut acc = [0f64; SUM_LANES];
    let chunks = x.chunks_exact(SUM_LANES);
    let rem = chunks.remainder();
    for c in chunks { for i in 0..SUM_LANES { acc[i] += f(c[i]); } }
    sum_lanes(&acc) + rem.iter().map(|&v| f(v)).sum::<f64>()
}

/// The same over two slices of equal length.
#[inline(always)]
fn lane_sum2<T: Copy>(a: &[T], b: &[T], f: impl Fn(T, T) -> f64) -> f64 {
    let mut acc = [0f64; SUM_LANES];
    let (ca, cb) = (a.chunks_exact(SUM_LANES), b.chunks_exact(SUM_LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) { for i in 0..SUM_LANES { acc[i] += f(x[i], y[i]); } }
    sum_lanes(&acc) + ra.iter().zip(rb).map(|(&x, &y)| f(x, y)).sum::<f64>()
}

/// The same over three slices of equal length.
#[inline(always)]
fn lane_sum3<T: Copy>(a: &[T], b: &[T], c: &[T], f: impl Fn(T, T, T) -> f64) -> f64 {
    let mut acc = [0f64; SUM_LANES];
    let (ca, cb, cc) = (a.chunks_exact(SUM_LANES), b.chunks_exact(SUM_LANES), c.chunks_exact(SUM_LANES));
    let (ra, rb, rc) = (ca.remainder(), cb.remainder(), cc.remainder());
    for ((x, y), z) in ca.zip(cb).zip(cc) { for i in 0..SUM_LANES { acc[i] += f(x[i], y[i], z[i]); } }
    sum_lanes(&acc) + ra.iter().zip(rb).zip(rc).map(|((&x, &y), &z)| f(x, y, z)).sum::<f64>()
}

/// Mean and 1 / sqrt(var + eps) of one row, in f64, in one pass: the sums of d = x - x[0] and
/// d², then mean = x[0] + S1/n and var = (S2 - S1²/n)/n. Shifting by a member of the row
/// bounds (mean - x[0])² by n·var (and d² of an f32 is exact in f64), so the subtraction loses at most a factor n of f64's
/// precision: far below the element type's for any row length. (Two passes, the second over
/// (x - mean)², took twice as long: LLVM vectorised it two doubles at a time.) Like PyTorch, a
/// row where some x*x overflows the element type gets a NaN rstd.
#[inline(always)]
fn ln_row_stats<T: NnElem>(xr: &[T], eps: f64) -> (f64, f64) {
    let n = xr.len() as f64;
    let k = xr[0].f();
    let (mut s1, mut s2) = ([0f64; SUM_LANES], [0f64; SUM_LANES]);
    let chunks = xr.chunks_exact(SUM_LANES);
    let rem = chunks.remainder();
    for c in chunks {
        for i in 0..SUM_LANES { let d = c[i].f() - k; s1[i] += d; s2[i] += d * d; }
    }
    let (mut t1, mut t2) = (sum_lanes(&s1), sum_lanes(&s2));
    for &v in rem { let d = v.f() - k; t1 += d; t2 += d * d; }
    // rounding can leave a constant row's variance a hair below 0; a NaN stays NaN
    let var = (t2 - t1 * t1 / n) / n;
    let var = if var < 0.0 { 0.0 } else { var };
    // a vectorised any() of comparisons (false for NaN): a max-fold reduced its lanes through
    // a chain of NaN-checked scalar maxes, per row
    let big = T::max_value().sqrt();
    let overflows = xr.iter().fold(false, |o, &v| o | (v.abs() > big));
    (k + t1 / n, if overflows { f64::NAN } else { 1.0 / (var + eps).sqrt() })
}

/// Layer norm of a block of whole rows (see `layer_norm_fwd`), for element types other than
/// f32 (which takes `ln_block_fwd_f32`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn ln_block_fwd<T: NnElem>(x: &[T], len: usize, w: Option<&[T]>, b: Option<&[T]>, eps: f64, y: &mut [T], mean: &mut [T], rstd: &mut [T]) {
    for (((xr, yr), m), r) in x.chunks_exact(len).zip(y.chunks_exact_mut(len)).zip(mean.iter_mut()).zip(rstd.iter_mut()) {
        let (mu, rs) = ln_row_stats(xr, eps);
        *m = T::of(mu); *r = T::of(rs);
        let z = xr.iter().map(|&v| (v.f() - mu) * rs);
        match (w, b) {
            (Some(w), Some(b)) => for (((o, z), &wj), &bj) in yr.iter_mut().zip(z).zip(w).zip(b) { *o = T::of(z * wj.f() + bj.f()) },
            (Some(w), None) => for ((o, z), &wj) in yr.iter_mut().zip(z).zip(w) { *o = T::of(z * wj.f()) },
            (None, Some(b)) => for ((o, z), &bj) in yr.iter_mut().zip(z).zip(b) { *o = T::of(z + bj.f()) },
            (None, None) => for (o, z) in yr.iter_mut().zip(z) { *o = T::of(z) },
        }
    }
}

super::simd::multiversion! {
    /// `ln_block_fwd` for f32: the statistics in f64 as there, the normalisation in f32
    /// (x - mean with the mean as two f32 parts, so a large mean loses nothing; within 3 ulp of
    /// the f64 form), which runs at twice the vector width and without conversions.
    #[allow(clippy::too_many_arguments)]
    pub fn ln_block_fwd_f32(x: &[f32], len: usize, w: Option<&[f32]>, b: Option<&[f32]>, eps: f64, y: &mut [f32], mean: &mut [f32], rstd: &mut [f32]) {
        for (((xr, yr), m), r) in x.chunks_exact(len).zip(y.chunks_exact_mut(len)).zip(mean.iter_mut()).zip(rstd.iter_mut()) {
            let (mu, rs) = ln_row_stats(xr, eps);
            *m = mu as f32; *r = rs as f32;
            let (mh, rs) = (mu as f32, rs as f32);
            let ml = (mu - mh as f64) as f32;
            let z = xr.iter().map(|&v| ((v - mh) - ml) * rs);
            match (w, b) {
                (Some(w), Some(b)) => for (((o, z), &wj), &bj) in yr.iter_mut().zip(z).zip(w).zip(b) { *o = z.mul_add(wj, bj) },
                (Some(w), None) => for ((o, z), &wj) in yr.iter_mut().zip(z).zip(w) { *o = z * wj },
                (None, Some(b)) => for ((o, z), &bj) in yr.iter_mut().zip(z).zip(b) { *o = z + bj },
                (None, None) => for (o, z) in yr.iter_mut().zip(z) { *o = z },
            }
        }
    }
}

/// Rows per parallel task of the layer-norm kernels.
const LN_BLOCK_ROWS: usize = 32;

/// Layer norm over rows of length `len`: y = (x - mean) * rstd * w + b, also writing each
/// row's mean and rstd for backward. Like PyTorch, a row where some x*x overflows the element
/// type gets a NaN variance. Statistics and the normalisation are computed in f64.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_fwd<T: NnElem>(x: &[T], len: usize, w: Option<&[T]>, b: Option<&[T]>, eps: f64, y: &mut [T], mean: &mut [T], rstd: &mut [T]) -> Result<(), String> {
    let rows = mean.len();
    if x.len() != rows.checked_mul(len).ok_or("layer_norm: size overflow")? { return Err(len_err("layer_norm input", x.len(), rows * len)); }
    if y.len() != x.len() || rstd.len() != rows { return Err(len_err("layer_norm output", y.len(), x.len())); }
    if w.is_some_and(|w| w.len() != len) || b.is_some_and(|b| b.len() != len) { return Err(len_err("layer_norm weight", len, len)); }
    if len == 0 { mean.fill(T::nan()); rstd.fill(T::nan()); return Ok(()); }
    let block = |(((xb, yb), mb), rb): (((&[T], &mut [T]), &mut [T]), &mut [T])| {
        if let (Some(xf), Some(yf), Some(mf), Some(rf)) = (as_f32(xb), as_f32_mut(yb), as_f32_mut(mb), as_f32_mut(rb)) {
            ln_block_fwd_f32(xf, len, w.and_then(as_f32), b.and_then(as_f32), eps, yf, mf, rf)
        } else {
            ln_block_fwd(xb, len, w, b, eps, yb, mb, rb)
        }
    };
    let step = LN_BLOCK_ROWS * len;
    if par_rows(x.len()) {
        x.par_chunks(step).zip(y.par_chunks_mut(step)).zip(mean.par_chunks_mut(LN_BLOCK_ROWS)).zip(rstd.par_chunks_mut(LN_BLOCK_ROWS)).for_each(block)
    } else {
        block((((x, y), mean), rstd))
    }
    Ok(())
}

/// grad_input of layer norm for a block of whole rows (see `layer_norm_bwd`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn ln_block_bwd<T: NnElem>(g: &[T], x: &[T], len: usize, mean: &[T], rstd: &[T], w: Option<&[T]>, gx: &mut [T]) {
    let n = len as f64;
    for ((((gr, xr), gxr), &m), &r) in g.chunks_exact(len).zip(x.chunks_exact(len)).zip(gx.chunks_exact_mut(len)).zip(mean).zip(rstd) {
        let (mu, rs) = (m.f(), r.f());
        let (s1, s2) = match w {
            Some(w) => (lane_sum2(gr, w, |gv, wv| gv.f() * wv.f()), lane_sum3(gr, w, xr, |gv, wv, xv| gv.f() * wv.f() * (xv.f() - mu) * rs)),
            None => (lane_sum(gr, |gv| gv.f()), lane_sum2(gr, xr, |gv, xv| gv.f() * (xv.f() - mu) * rs)),
        };
        let (s1, s2) = (s1 / n, s2 / n);
        match w {
            Some(w) => for (((o, &gv), &wv), &xv) in gxr.iter_mut().zip(gr).zip(w).zip(xr) { *o = T::of(rs * (gv.f() * wv.f() - s1 - (xv.f() - mu) * rs * s2)) },
            None => for ((o, &gv), &xv) in gxr.iter_mut().zip(gr).zip(xr) { *o = T::of(rs * (gv.f() - s1 - (xv.f() - mu) * rs * s2)) },
        }
    }
}

/// Column sums for grad_weight (sum of g * xhat) and grad_bias (sum of g) over a block of rows.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn ln_block_param_grads<T: NnElem>(g: &[T], x: &[T], len: usize, mean: &[T], rstd: &[T], sw: &mut [f64], sb: &mut [f64]) {
    for (((gr, xr), &m), &r) in g.chunks_exact(len).zip(x.chunks_exact(len)).zip(mean).zip(rstd) {
        let (mu, rs) = (m.f(), r.f());
        for (((w, b), &gv), &xv) in sw.iter_mut().zip(sb.iter_mut()).zip(gr).zip(xr) {
            *w += gv.f() * (xv.f() - mu) * rs;
            *b += gv.f();
        }
    }
}

super::simd::multiversion! {
    #[allow(clippy::too_many_arguments)]
    /// `ln_block_bwd` for f32: the two row sums in f64 as there, the per-element pass in f32
    /// (the mean and rstd it reads are f32 already), at twice the vector width and without
    /// conversions.
    pub fn ln_block_bwd_f32(g: &[f32], x: &[f32], len: usize, mean: &[f32], rstd: &[f32], w: Option<&[f32]>, gx: &mut [f32]) {
        let n = len as f64;
        for ((((gr, xr), gxr), &mu), &rs) in g.chunks_exact(len).zip(x.chunks_exact(len)).zip(gx.chunks_exact_mut(len)).zip(mean).zip(rstd) {
            let (mud, rsd) = (mu as f64, rs as f64);
            let (s1, s2) = match w {
                Some(w) => (lane_sum2(gr, w, |gv, wv| gv as f64 * wv as f64), lane_sum3(gr, w, xr, |gv, wv, xv| gv as f64 * wv as f64 * (xv as f64 - mud) * rsd)),
                None => (lane_sum(gr, |gv| gv as f64), lane_sum2(gr, xr, |gv, xv| gv as f64 * (xv as f64 - mud) * rsd)),
            };
            let (s1, s2) = ((s1 / n) as f32, (s2 / n) as f32);
            match w {
                Some(w) => for (((o, &gv), &wv), &xv) in gxr.iter_mut().zip(gr).zip(w).zip(xr) { *o = rs * (gv.mul_add(wv, -s1) - (xv - mu) * rs * s2) },
                None => for ((o, &gv), &xv) in gxr.iter_mut().zip(gr).zip(xr) { *o = rs * (gv - s1 - (xv - mu) * rs * s2) },
            }
        }
    }
}

super::simd::multiversion! {
    pub fn ln_block_param_grads_f32(g: &[f32], x: &[f32], len: usize, mean: &[f32], rstd: &[f32], sw: &mut [f64], sb: &mut [f64]) {
        ln_block_param_grads(g, x, len, mean, rstd, sw, sb)
    }
}

/// Layer norm backward: gx = rstd * (g*w - mean(g*w) - xhat * mean(g*w*xhat)), gw = sum g*xhat,
/// gb = sum g (sums over rows). Any of the outputs may be skipped.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_bwd<T: NnElem>(g: &[T], x: &[T], len: usize, mean: &[T], rstd: &[T], w: Option<&[T]>,
    gx: Option<&mut [T]>, gw: Option<&mut [T]>, gb: Option<&mut [T]>) -> Result<(), String> {
    let rows = mean.len();
    if x.len() != rows.checked_mul(len).ok_or("layer_norm: size overflow")? || g.len() != x.len() || rstd.len() != rows {
        return Err(len_err("layer_norm backward input", x.len(), rows * len));
    }
    if w.is_some_and(|w| w.len() != len) { return Err(len_err("layer_norm weight", 0, len)); }
    if len == 0 { return Ok(()); }
    let step = LN_BLOCK_ROWS * len;
    if let Some(gx) = gx {
        if gx.len() != x.len() { return Err(len_err("layer_norm grad_input", gx.len(), x.len())); }
        let block = |(((gb, xb), (mb, rb)), ob): (((&[T], &[T]), (&[T], &[T])), &mut [T])| {
            if let (Some(gf), Some(xf), Some(mf), Some(rf), Some(of)) = (as_f32(gb), as_f32(xb), as_f32(mb), as_f32(rb), as_f32_mut(ob)) {
                ln_block_bwd_f32(gf, xf, len, mf, rf, w.and_then(as_f32), of)
            } else {
                ln_block_bwd(gb, xb, len, mb, rb, w, ob)
            }
        };
        if par_rows(x.len()) {
            g.par_chunks(step).zip(x.par_chunks(step)).zip(mean.par_chunks(LN_BLOCK_ROWS).zip(rstd.par_chunks(LN_BLOCK_ROWS))).zip(gx.par_chunks_mut(step)).for_each(block)
        } else {
            block((((g, x), (mean, rstd)), gx))
        }
    }
    if gw.is_some() || gb.is_some() {
        // per-task column sums over row blocks, then added together
        let acc = |lo: usize, hi: usize| {
            let (mut sw, mut sb) = (vec![0f64; len], vec![0f64; len]);
            let (gs, xs) = (&g[lo * len..hi * len], &x[lo * len..hi * len]);
            if let (Some(gf), Some(xf), Some(mf), Some(rf)) = (as_f32(gs), as_f32(xs), as_f32(&mean[lo..hi]), as_f32(&rstd[lo..hi])) {
                ln_block_param_grads_f32(gf, xf, len, mf, rf, &mut sw, &mut sb)
            } else {
                ln_block_param_grads(gs, xs, len, &mean[lo..hi], &rstd[lo..hi], &mut sw, &mut sb)
            }
            (sw, sb)
        };
        let blocks = if par_rows(x.len()) { 8.min(rows) } else { 1 };
        let per = rows.div_ceil(blocks.max(1));
        let (sw, sb) = (0..blocks).into_par_iter().map(|k| acc((k * per).min(rows), ((k + 1) * per).min(rows)))
            .reduce(|| (vec![0f64; len], vec![0f64; len]), |mut a, b| { for j in 0..len { a.0[j] += b.0[j]; a.1[j] += b.1[j]; } a });
        if let Some(gw) = gw { if gw.len() != len { return Err(len_err("layer_norm grad_weight", gw.len(), len)); } for j in 0..len { gw[j] = T::of(sw[j]); } }
        if let Some(gb) = gb { if gb.len() != len { return Err(len_err("layer_norm grad_bias", gb.len(), len)); } for j in 0..len { gb[j] = T::of(sb[j]); } }
    }
    Ok(())
}

const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

#[inline]
fn erf<T: NnElem>(v: T) -> T {
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() { T::of(libm::erff(v.f() as f32) as f64) } else { T::of(libm::erf(v.f())) }
}

/// GELU forward (`tanh`: the tanh approximation) elementwise.
pub fn gelu_fwd<T: NnElem>(x: &[T], tanh: bool, y: &mut [T]) -> Result<(), String> {
    if x.len() != y.len() { return Err(len_err("gelu output", y.len(), x.len())); }
    if let (Some(xs), Some(ys)) = (as_f32(x), as_f32_mut(y)) {
        let f = if tanh { super::simd::gelu_tanh_f32 } else { super::simd::gelu_erf_f32 };
        chunked2(xs, ys, f);
        return Ok(());
    }
    let half = T::of(0.5);
    let f = |(o, &v): (&mut T, &T)| {
        *o = if tanh {
            let inner = T::of(SQRT_2_OVER_PI) * (v + T::of(0.044715) * v * v * v);
            half * v * (T::one() + inner.tanh())
        } else {
            v * half * (T::one() + erf(v * T::of(FRAC_1_SQRT_2)))
        };
    };
    if par_rows(x.len()) { y.par_iter_mut().zip(x.par_iter()).with_min_len(4096).for_each(f) } else { y.iter_mut().zip(x).for_each(f) }
    Ok(())
}

/// SiLU forward, x / (1 + exp(-x)) (PyTorch's formula: -inf gives NaN as there).
pub fn silu_fwd<T: NnElem>(x: &[T], y: &mut [T]) -> Result<(), String> {
    if x.len() != y.len() { return Err(len_err("silu output", y.len(), x.len())); }
    if let (Some(xs), Some(ys)) = (as_f32(x), as_f32_mut(y)) {
        chunked2(xs, ys, super::simd::silu_f32);
        return Ok(());
    }
    let f = |(o, &v): (&mut T, &T)| *o = v / (T::one() + (-v).exp());
    if par_rows(x.len()) { y.par_iter_mut().zip(x.par_iter()).with_min_len(4096).for_each(f) } else { y.iter_mut().zip(x).for_each(f) }
    Ok(())
}

/// SiLU backward: gx = g * s * (1 + x (1 - s)), s = sigmoid(x).
pub fn silu_bwd<T: NnElem>(g: &[T], x: &[T], gx: &mut [T]) -> Result<(), String> {
    if x.len() != gx.len() || g.len() != x.len() { return Err(len_err("silu grad", gx.len(), x.len())); }
    if let (Some(gs), Some(xs), Some(os)) = (as_f32(g), as_f32(x), as_f32_mut(gx)) {
        const CH: usize = 1 << 14;
        let f = super::simd::silu_bwd_f32;
        if par_rows(xs.len()) { os.par_chunks_mut(CH).zip(gs.par_chunks(CH).zip(xs.par_chunks(CH))).for_each(|(o, (a, b))| f(a, b, o)) } else { f(gs, xs, os) }
        return Ok(());
    }
    let f = |(o, (&gv, &v)): (&mut T, (&T, &T))| {
        let s = T::one() / (T::one() + (-v).exp());
        *o = gv * s * (T::one() + v * (T::one() - s));
    };
    if par_rows(x.len()) { gx.par_iter_mut().zip(g.par_iter().zip(x.par_iter())).with_min_len(4096).for_each(f) } else { gx.iter_mut().zip(g.iter().zip(x)).for_each(f) }
    Ok(())
}

/// GELU backward: gx = g * gelu'(x).
pub fn gelu_bwd<T: NnElem>(g: &[T], x: &[T], tanh: bool, gx: &mut [T]) -> Result<(), String> {
    if x.len() != gx.len() || g.len() != x.len() { return Err(len_err("gelu grad", gx.len(), x.len())); }
    if let (Some(gs), Some(xs), Some(os)) = (as_f32(g), as_f32(x), as_f32_mut(gx)) {
        let f = if tanh { super::simd::gelu_tanh_bwd_f32 } else { super::simd::gelu_erf_bwd_f32 };
        const CH: usize = 1 << 14;
        if par_rows(xs.len()) { os.par_chunks_mut(CH).zip(gs.par_chunks(CH).zip(xs.par_chunks(CH))).for_each(|(o, (a, b))| f(a, b, o)) } else { f(gs, xs, os) }
        return Ok(());
    }
    let f = |(o, (&gv, &v)): (&mut T, (&T, &T))| {
        let d = if tanh {
            let (kb, kk) = (T::of(SQRT_2_OVER_PI), T::of(0.044715));
            let inner = kb * (v + kk * v * v * v);
            let t = inner.tanh();
            let half = T::of(0.5);
            half * (T::one() + t) + half * v * (T::one() - t * t) * kb * (T::one() + T::of(3.0) * kk * v * v)
        } else {
            let cdf = T::of(0.5) * (T::one() + erf(v * T::of(FRAC_1_SQRT_2)));
            let pdf = (-(v * v) * T::of(0.5)).exp() * T::of(0.398_942_280_401_432_7);
            cdf + v * pdf
        };
        *o = gv * d;
    };
    if par_rows(x.len()) { gx.par_iter_mut().zip(g.par_iter().zip(x.par_iter())).with_min_len(4096).for_each(f) } else { gx.iter_mut().zip(g.iter().zip(x)).for_each(f) }
    Ok(())
}

/// Per-row weight of the picked class (0 for ignored rows), checking every target. Returns
/// the first out-of-range target as Err(Some(t)).
pub fn nll_row_weights<T: NnElem>(target: &[i64], c: usize, weight: Option<&[T]>, ignore_index: i64, out: &mut [T]) -> Result<(), Option<i64>> {
    for (o, &t) in out.iter_mut().zip(target) {
        if t == ignore_index { *o = T::zero(); continue; }
        if t < 0 || t as u64 >= c as u64 { return Err(Some(t)); }
        *o = weight.map_or(T::one(), |w| w[t as usize]);
    }
    Ok(())
}

/// loss[i] = -rw[i] * x[i, target[i]] over rows of x [N, C] (rw from nll_row_weights).
pub fn nll_fwd<T: NnElem>(x: &[T], c: usize, target: &[i64], rw: &[T], loss: &mut [T]) -> Result<(), String> {
    let n = loss.len();
    if x.len() != n.checked_mul(c).ok_or("nll: size overflow")? || target.len() != n || rw.len() != n { return Err(len_err("nll_loss input", x.len(), n * c)); }
    for i in 0..n {
        loss[i] = if rw[i] == T::zero() { T::zero() } else { -rw[i] * x[i * c + target[i] as usize] };
    }
    Ok(())
}

/// coef [N, C]: -rw[i] * scale at (i, target[i]), zero elsewhere (nll's gradient per unit g).
pub fn nll_grad_coef<T: NnElem>(c: usize, target: &[i64], rw: &[T], scale: T, coef: &mut [T]) -> Result<(), String> {
    let n = target.len();
    if coef.len() != n.checked_mul(c).ok_or("nll: size overflow")? || rw.len() != n { return Err(len_err("nll_loss grad", coef.len(), n * c)); }
    coef.fill(T::zero());
    for i in 0..n {
        let t = target[i];
        if rw[i] != T::zero() && t >= 0 && (t as u64) < c as u64 { coef[i * c + t as usize] = -rw[i] * scale; }
    }
    Ok(())
}

/// v = f(v) in place: through the vectorised f32 slice kernel `simd` (which maps a source
/// slice into a distinct destination, hence the chunked copy), else `scalar` per element.
fn map_in_place<T: NnElem>(v: &mut [T], simd: fn(&[f32], &mut [f32]), scalar: impl Fn(T) -> T) {
    if let Some(f) = as_f32_mut(v) {
        for c in f.chunks_mut(1024) {
            let mut tmp = [0f32; 1024];
            tmp[..c.len()].copy_from_slice(c);
            simd(&tmp[..c.len()], c);
        }
        return;
    }
    for x in v.iter_mut() { *x = scalar(*x); }
}

/// v = sigmoid(v) = 1 / (1 + exp(-v)): the vectorised kernel for f32, libm's exp otherwise.
pub fn sigmoid_in_place<T: NnElem>(v: &mut [T]) { map_in_place(v, super::simd::sigmoid_slice, |x| T::one() / (T::one() + (-x).exp())) }

/// v = max(v, 0), keeping NaN (PyTorch's relu).
pub fn relu_in_place<T: NnElem>(v: &mut [T]) { for x in v.iter_mut() { if !(*x > T::zero() || x.is_nan()) { *x = T::zero(); } } }

/// v = tanh(v): the vectorised rational kernel for f32, the libm one otherwise.
pub fn tanh_in_place<T: NnElem>(v: &mut [T]) { map_in_place(v, super::simd::tanh_slice, |x| x.tanh()) }

/// Per-channel mean and biased variance of x [N, C, P] (P = product of spatial dims), in f64.
pub fn batch_norm_stats<T: NnElem>(x: &[T], n: usize, c: usize, p: usize, mean: &mut [f64], var: &mut [f64]) -> Result<(), String> {
    if x.len() != n.checked_mul(c).and_then(|v| v.checked_mul(p)).ok_or("batch_norm: size overflow")? || mean.len() != c || var.len() != c {
        return Err(len_err("batch_norm input", x.len(), n * c * p));
    }
    let m = (n * p) as f64;
    let chan = |(ci, (mu, va)): (usize, (&mut f64, &mut f64))| {
        let mut s = 0.0;
        for b in 0..n { for &v in &x[(b * c + ci) * p..(b * c + ci + 1) * p] { s += v.f(); } }
        let mean_c = s / m;
        let mut q = 0.0;
        for b in 0..n { for &v in &x[(b * c + ci) * p..(b * c + ci + 1) * p] { let d = v.f() - mean_c; q += d * d; } }
        *mu = mean_c;
        *va = q / m;
    };
    if par_rows(x.len()) && c > 1 { mean.par_iter_mut().zip(var.par_iter_mut()).enumerate().for_each(chan) } else { mean.iter_mut().zip(var.iter_mut()).enumerate().for_each(chan) }
    Ok(())
}

/// y = (x - mean_c) * rstd_c * w_c + b_c over x [N, C, P].
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_apply<T: NnElem>(x: &[T], c: usize, p: usize, mean: &[f64], rstd: &[f64], w: Option<&[T]>, b: Option<&[T]>, y: &mut [T]) -> Result<(), String> {
    if y.len() != x.len() || mean.len() != c || rstd.len() != c || p == 0 || c == 0 || x.len() % (c * p) != 0 { return Err(len_err("batch_norm output", y.len(), x.len())); }
    if w.is_some_and(|w| w.len() != c) || b.is_some_and(|b| b.len() != c) { return Err("batch_norm: weight or bias size".into()); }
    let plane = |(idx, (yo, xi)): (usize, (&mut [T], &[T]))| {
        let ci = idx % c;
        let scale = rstd[ci] * w.map_or(1.0, |w| w[ci].f());
        let shift = b.map_or(0.0, |b| b[ci].f()) - mean[ci] * scale;
        for (o, &v) in yo.iter_mut().zip(xi) { *o = T::of(v.f() * scale + shift); }
    };
    if par_rows(x.len()) { y.par_chunks_mut(p).zip(x.par_chunks(p)).enumerate().for_each(plane) } else { y.chunks_mut(p).zip(x.chunks(p)).enumerate().for_each(plane) }
    Ok(())
}

/// Batch norm backward over x [N, C, P]: with batch statistics (`train`) gx carries the
/// statistics' terms, with running statistics gx = g * w * rstd. gw = sum g*xhat, gb = sum g.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_bwd<T: NnElem>(g: &[T], x: &[T], n: usize, c: usize, p: usize, mean: &[f64], rstd: &[f64], w: Option<&[T]>, train: bool,
    gx: Option<&mut [T]>, gw: &mut [f64], gb: &mut [f64]) -> Result<(), String> {
    if x.len() != n.checked_mul(c).and_then(|v| v.checked_mul(p)).ok_or("batch_norm: size overflow")? || g.len() != x.len() || mean.len() != c || rstd.len() != c || gw.len() != c || gb.len() != c {
        return Err(len_err("batch_norm grad", g.len(), x.len()));
    }
    if w.is_some_and(|w| w.len() != c) { return Err("batch_norm: weight size".into()); }
    // per-channel sums of g and g * xhat
    let sums = |(ci, (sw, sb)): (usize, (&mut f64, &mut f64))| {
        let (mut a, mut s) = (0.0, 0.0);
        for b in 0..n {
            let r = (b * c + ci) * p..(b * c + ci + 1) * p;
            for (&gv, &xv) in g[r.clone()].iter().zip(&x[r]) { s += gv.f(); a += gv.f() * (xv.f() - mean[ci]) * rstd[ci]; }
        }
        *sw = a; *sb = s;
    };
    if par_rows(x.len()) && c > 1 { gw.par_iter_mut().zip(gb.par_iter_mut()).enumerate().for_each(sums) } else { gw.iter_mut().zip(gb.iter_mut()).enumerate().for_each(sums) }
    if let Some(gx) = gx {
        if gx.len() != x.len() { return Err(len_err("batch_norm grad_input", gx.len(), x.len())); }
        let m = (n * p) as f64;
        let plane = |(idx, (o, (gi, xi))): (usize, (&mut [T], (&[T], &[T])))| {
            let ci = idx % c;
            let k = rstd[ci] * w.map_or(1.0, |w| w[ci].f());
            if train {
                let (mg, mgx) = (gb[ci] / m, gw[ci] / m);
                for ((ov, &gv), &xv) in o.iter_mut().zip(gi).zip(xi) {
                    let xhat = (xv.f() - mean[ci]) * rstd[ci];
                    *ov = T::of(k * (gv.f() - mg - xhat * mgx));
                }
            } else {
                for (ov, &gv) in o.iter_mut().zip(gi) { *ov = T::of(k * gv.f()); }
            }
        };
        if p > 0 {
            if par_rows(x.len()) { gx.par_chunks_mut(p).zip(g.par_chunks(p).zip(x.par_chunks(p))).enumerate().for_each(plane) } else { gx.chunks_mut(p).zip(g.chunks(p).zip(x.chunks(p))).enumerate().for_each(plane) }
        }
    }
    Ok(())
}
