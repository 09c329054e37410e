//! Pooling kernels over planes [P, D, H, W] (1-D and 2-D pools see D = 1 and H = 1):
//! max pooling with stride, padding and dilation, and window pooling, where every output
//! position's window along each dim is a range [lo, hi) of input positions (average pooling
//! and the adaptive pools). Planes spread over the rayon pool. Each entry point checks the
//! slice lengths and window ranges against the plane geometry and returns an error string
//! instead of indexing out of range.
use rayon::prelude::*;

use super::iter::{parallel_ok, GRAIN};

fn len_err(what: &str, got: usize, want: usize) -> String { format!("{}: {} elements, expected {}", what, got, want) }

fn plane_size(sp: &[usize; 3], what: &str) -> Result<usize, String> {
    sp.iter().try_fold(1usize, |a, &b| a.checked_mul(b)).ok_or_else(|| format!("{}: size overflow", what))
}

/// Whether a pooling pass over `elems` elements in `planes` planes should use the pool.
fn go_parallel(elems: usize, planes: usize) -> bool { elems >= GRAIN && planes > 1 && parallel_ok() }

/// Runs `f` on each plane of `x` (`ip` elements) with its output planes in `y` and `z`
/// (`op` elements each), across the pool when the work pays for it.
fn per_plane_idx<A: Sync, B: Send>(x: &[A], ip: usize, y: &mut [B], z: &mut [i64], op: usize, f: impl Fn(&[A], &mut [B], &mut [i64]) + Sync + Send) {
    let work = |(xp, (yp, zp)): (&[A], (&mut [B], &mut [i64]))| f(xp, yp, zp);
    if go_parallel(x.len() + y.len(), y.len() / op) {
        x.par_chunks(ip).zip(y.par_chunks_mut(op).zip(z.par_chunks_mut(op))).for_each(work)
    } else {
        x.chunks(ip).zip(y.chunks_mut(op).zip(z.chunks_mut(op))).for_each(work)
    }
}

/// Runs `f` on each plane of `x` (`ip` elements) with its output plane in `y` (`op` elements).
fn per_plane<A: Sync, B: Send>(x: &[A], ip: usize, y: &mut [B], op: usize, f: impl Fn(&[A], &mut [B]) + Sync + Send) {
    let work = |(xp, yp): (&[A], &mut [B])| f(xp, yp);
    if go_parallel(x.len() + y.len(), y.len() / op) { x.par_chunks(ip).zip(y.par_chunks_mut(op)).for_each(work) } else { x.chunks(ip).zip(y.chunks_mut(op)).for_each(work) }
}

/// Element types of max pooling: every real dtype; `is_nan` is false for integers.
pub trait MaxElem: 'static + Copy + Send + Sync + PartialOrd {
    fn is_nan(self) -> bool;
    /// `if take { a } else { b }` computed with bit masks, so the compiler emits no branch
    fn pick(take: bool, a: Self, b: Self) -> Self;
}
/// `if take { a } else { b }` on an integer's bits, through a mask.
macro_rules! pick_bits { ($t:ty, $take:expr, $a:expr, $b:expr) => {{ let m = ($take as $t).wrapping_neg(); $b ^ (($a ^ $b) & m) }} }
macro_rules! max_elem_int { ($($t:ty),*) => { $(impl MaxElem for $t {
    #[inline] fn is_nan(self) -> bool { false }
    #[inline] fn pick(take: bool, a: Self, b: Self) -> Self { pick_bits!($t, take, a, b) }
})* } }
max_elem_int!(u8, i8, i16, i32, i64);
impl MaxElem for f32 {
    #[inline] fn is_nan(self) -> bool { f32::is_nan(self) }
    #[inline] fn pick(take: bool, a: Self, b: Self) -> Self { f32::from_bits(pick_bits!(u32, take, a.to_bits(), b.to_bits())) }
}
impl MaxElem for f64 {
    #[inline] fn is_nan(self) -> bool { f64::is_nan(self) }
    #[inline] fn pick(take: bool, a: Self, b: Self) -> Self { f64::from_bits(pick_bits!(u64, take, a.to_bits(), b.to_bits())) }
}

/// Max pooling over planes [P, D, H, W] -> [P, OD, OH, OW] with flat argmax indices into
/// each input plane (PyTorch's `indices`). Window positions in the padding are skipped; the
/// first maximum wins, except that the last NaN in a window wins over everything, like PyTorch.
#[allow(clippy::too_many_arguments)]
pub fn max_pool_fwd<T: MaxElem>(x: &[T], in_sp: [usize; 3], out_sp: [usize; 3], k: [usize; 3], stride: [usize; 3], pad: [usize; 3], dil: [usize; 3], y: &mut [T], idx: &mut [i64]) -> Result<(), String> {
    let ip = plane_size(&in_sp, "max_pool")?;
    let op = plane_size(&out_sp, "max_pool")?;
    if ip == 0 || op == 0 { return Ok(()); }
    let planes = x.len() / ip;
    if x.len() != planes * ip || y.len() != planes * op || idx.len() != y.len() { return Err(len_err("max_pool output", y.len(), planes * op)); }
    if stride.contains(&0) || dil.contains(&0) { return Err("max_pool: zero stride or dilation".into()); }
    // taps of kernel dim `d` that land inside the input for output position `o`, computed
    // once per call: the divisions cost more than the window itself when done per output
    let taps: [Vec<(usize, usize)>; 3] = std::array::from_fn(|d| (0..out_sp[d]).map(|o| {
        let start = o * stride[d];
        let lo = if start >= pad[d] { 0 } else { (pad[d] - start).div_ceil(dil[d]) };
        let lim = in_sp[d] + pad[d];
        let hi = if lim <= start { 0 } else { (lim - start).div_ceil(dil[d]) };
        (lo.min(k[d]), hi.min(k[d]))
    }).collect());
    let full_2d_windows = in_sp[0] == 1 && out_sp[0] == 1 && k[0] == 1 && pad == [0, 0, 0] && dil == [1, 1, 1]
        && (1..3).all(|d| (out_sp[d] - 1) * stride[d] + k[d] <= in_sp[d]);
    if full_2d_windows {
        let ([_, oh, ow], iw) = (out_sp, in_sp[2]);
        if k == [1, 2, 2] && stride == [1, 2, 2] {
            per_plane_idx(x, ip, y, idx, op, |xp, yp, ip_| super::simd::vectorized(#[inline(always)] || max_pool_plane_2x2(xp, iw, [oh, ow], yp, ip_)));
        } else {
            per_plane_idx(x, ip, y, idx, op, |xp, yp, ip_| super::simd::vectorized(#[inline(always)] || max_pool_plane_2d(xp, iw, [oh, ow], [k[1], k[2]], [stride[1], stride[2]], yp, ip_)));
        }
        return Ok(());
    }
    per_plane_idx(x, ip, y, idx, op, |xp, yp, ip_| {
        let mut o = 0;
        for zd in 0..out_sp[0] {
            let (a0, a1) = taps[0][zd];
            for zh in 0..out_sp[1] {
                let (b0, b1) = taps[1][zh];
                for zw in 0..out_sp[2] {
                    let (e0, e1) = taps[2][zw];
                    let (mut best, mut bi) = (xp[0], -1i64);
                    for a in a0..a1 {
                        let d = zd * stride[0] + a * dil[0] - pad[0];
                        for b in b0..b1 {
                            let h = zh * stride[1] + b * dil[1] - pad[1];
                            let row = (d * in_sp[1] + h) * in_sp[2];
                            let w_start = zw * stride[2];
                            for e in e0..e1 {
                                // e >= e0 puts w_start + e * dil at or past the left padding
                                let j = row + (w_start + e * dil[2] - pad[2]);
                                let v = xp[j];
                                if bi < 0 || v > best || v.is_nan() { best = v; bi = j as i64; }
                            }
                        }
                    }
                    yp[o] = best; ip_[o] = bi; o += 1;
                }
            }
        }
    });
    Ok(())
}

/// One plane of a 2-D max pooling whose windows all lie inside the input (no padding, no
/// dilation): tap by tap over a whole output row, with selects the compiler vectorises. The
/// per-output loop branched on data (which tap wins), and mispredictions made it ~25 cycles
/// per tap. Same rule: the first maximum wins, a NaN wins over everything after it.
#[inline(always)]
fn max_pool_plane_2d<T: MaxElem>(xp: &[T], iw: usize, [oh, ow]: [usize; 2], [kh, kw]: [usize; 2], [sh, sw]: [usize; 2], yp: &mut [T], ip: &mut [i64]) {
    for zh in 0..oh {
        let (yr, ir) = (&mut yp[zh * ow..][..ow], &mut ip[zh * ow..][..ow]);
        for b in 0..kh {
            let h = zh * sh + b;
            let xr = &xp[h * iw..][..iw];
            for e in 0..kw {
                let base = (h * iw + e) as i64;
                // the caller checked (ow - 1)·sw + kw <= iw, so this yields ow taps
                let taps = xr[e..].iter().step_by(sw);
                if b == 0 && e == 0 {
                    for (zw, ((y, i), &v)) in yr.iter_mut().zip(ir.iter_mut()).zip(taps).enumerate() { *y = v; *i = base + (zw * sw) as i64; }
                    continue;
                }
                for (zw, ((y, i), &v)) in yr.iter_mut().zip(ir.iter_mut()).zip(taps).enumerate() {
                    let take = (v > *y) | v.is_nan();
                    *y = T::pick(take, v, *y);
                    *i = i64::pick(take, base + (zw * sw) as i64, *i);
                }
            }
        }
    }
}

/// `max_pool_plane_2d` for 2x2 windows at stride 2 (`max_pool2d(x, 2)`), the common case: each
/// output reads a pair from two rows, which the compiler vectorises (de-interleaving the
/// pairs); the general version's strided taps stayed scalar (~20 ns per output on the Xeon).
#[inline(always)]
fn max_pool_plane_2x2<T: MaxElem>(xp: &[T], iw: usize, [oh, ow]: [usize; 2], yp: &mut [T], ip: &mut [i64]) {
    for zh in 0..oh {
        let (yr, ir) = (&mut yp[zh * ow..][..ow], &mut ip[zh * ow..][..ow]);
        // the caller checked 2·ow <= iw and 2·oh <= ih
        let (top, bottom) = (&xp[2 * zh * iw..][..2 * ow], &xp[(2 * zh + 1) * iw..][..2 * ow]);
        let first = (2 * zh * iw) as i64;
        for (zw, ((y, i), (t, b))) in yr.iter_mut().zip(ir.iter_mut()).zip(top.chunks_exact(2).zip(bottom.chunks_exact(2))).enumerate() {
            let at = first + 2 * zw as i64;
            let (mut best, mut arg) = (t[0], at);
            for (v, j) in [(t[1], at + 1), (b[0], at + iw as i64), (b[1], at + iw as i64 + 1)] {
                let take = (v > best) | v.is_nan();
                best = T::pick(take, v, best);
                arg = i64::pick(take, j, arg);
            }
            *y = best;
            *i = arg;
        }
    }
}

/// Max pooling backward: gx[plane, idx] += g for every output position.
pub fn max_pool_bwd<T: AvgElem>(g: &[T], idx: &[i64], in_plane: usize, out_plane: usize, gx: &mut [T]) -> Result<(), String> {
    gx.fill(T::zero());
    if in_plane == 0 || out_plane == 0 { return Ok(()); }
    let planes = gx.len() / in_plane;
    if gx.len() != planes * in_plane || g.len() != planes * out_plane || idx.len() != g.len() { return Err(len_err("max_pool grad", g.len(), planes * out_plane)); }
    let plane = |(gxp, (gp, ip)): (&mut [T], (&[T], &[i64]))| {
        for (&gv, &j) in gp.iter().zip(ip) {
            if j >= 0 && (j as u64) < in_plane as u64 { gxp[j as usize] = gxp[j as usize].add(gv); }
        }
    };
    if go_parallel(gx.len(), planes) { gx.par_chunks_mut(in_plane).zip(g.par_chunks(out_plane).zip(idx.par_chunks(out_plane))).for_each(plane) } else { gx.chunks_mut(in_plane).zip(g.chunks(out_plane).zip(idx.chunks(out_plane))).for_each(plane) }
    Ok(())
}

pub use crate::backend::pool::{Divisor, MaxPoolGeom, Windows};

/// Element types of average pooling and their accumulators: floats accumulate in their own
/// type (PyTorch's opmath for f32/f64), int64 in int64 with division truncating toward zero.
pub trait AvgElem: 'static + Copy + Send + Sync {
    fn zero() -> Self;
    fn add(self, o: Self) -> Self;
    fn div_count(self, n: i64) -> Self;
}
impl AvgElem for f32 { fn zero() -> Self { 0.0 } #[inline] fn add(self, o: Self) -> Self { self + o } #[inline] fn div_count(self, n: i64) -> Self { self / n as f32 } }
impl AvgElem for f64 { fn zero() -> Self { 0.0 } #[inline] fn add(self, o: Self) -> Self { self + o } #[inline] fn div_count(self, n: i64) -> Self { self / n as f64 } }
impl AvgElem for i64 {
    fn zero() -> Self { 0 }
    #[inline] fn add(self, o: Self) -> Self { self.wrapping_add(o) }
    // wrapping: i64::MIN / -1 wraps instead of trapping; a zero count is refused by the caller
    #[inline] fn div_count(self, n: i64) -> Self { if n == 0 { 0 } else { self.wrapping_div(n) } }
}

/// The divisor of output (zd, zh, zw) for the Product and Constant modes.
fn product_divisor(div: &Divisor, z: [usize; 3]) -> i64 {
    match div {
        Divisor::Product(f) => f[0][z[0]].saturating_mul(f[1][z[1]]).saturating_mul(f[2][z[2]]),
        Divisor::Constant(c) => *c,
        Divisor::Extents => 1,
    }
}

/// `v` divided as `div` says for the output at `z` with window `r` (a window never counts as
/// empty here: callers skip empty windows or have no taps to give to).
fn divide<T: AvgElem>(v: T, div: &Divisor, z: [usize; 3], r: [(usize, usize); 3]) -> T {
    let extent = |(a, b): (usize, usize)| (b - a).max(1) as i64;
    match div {
        Divisor::Extents => v.div_count(extent(r[0])).div_count(extent(r[1])).div_count(extent(r[2])),
        _ => v.div_count(product_divisor(div, z)),
    }
}

fn check_divisor(div: &Divisor, out_sp: &[usize; 3]) -> Result<(), String> {
    match div {
        Divisor::Product(f) if (0..3).any(|d| f[d].len() != out_sp[d]) => Err("avg_pool: divisor table does not match the output".into()),
        Divisor::Constant(0) => Err("divisor must be not zero".into()),
        _ => Ok(()),
    }
}

/// Checks an average pool's geometry against buffers of `input_len` elements (planes of the
/// input) and `output_len` (planes of the output): (input plane, output plane) sizes, or None
/// when either plane is empty (nothing to compute).
fn avg_planes(in_sp: [usize; 3], win: &Windows, div: &Divisor, input_len: usize, output_len: usize) -> Result<Option<(usize, usize)>, String> {
    let out_sp = win.out_sp();
    let (ip, op) = (plane_size(&in_sp, "avg_pool")?, plane_size(&out_sp, "avg_pool")?);
    if ip == 0 || op == 0 { return Ok(None); }
    let planes = input_len / ip;
    if input_len != planes * ip || output_len != planes * op { return Err(len_err("avg_pool", output_len, planes * op)); }
    win.check(&in_sp)?;
    check_divisor(div, &out_sp)?;
    Ok(Some((ip, op)))
}

/// Window average pooling over planes [P, D, H, W] -> [P, *out]: each output is its window's
/// sum (in the order d, h, w) divided as `div` says; an empty window gives zero.
pub fn avg_pool_fwd<T: AvgElem>(x: &[T], in_sp: [usize; 3], win: &Windows, div: &Divisor, y: &mut [T]) -> Result<(), String> {
    let Some((ip, op)) = avg_planes(in_sp, win, div, x.len(), y.len())? else { return Ok(()) };
    per_plane(x, ip, y, op, |xp, yp| win.each(|o, z, r| {
        let [(d0, d1), (h0, h1), (w0, w1)] = r;
        if d0 >= d1 || h0 >= h1 || w0 >= w1 { yp[o] = T::zero(); return; }
        let mut s = T::zero();
        for d in d0..d1 {
            for h in h0..h1 {
                let row = (d * in_sp[1] + h) * in_sp[2];
                for &v in &xp[row + w0..row + w1] { s = s.add(v); }
            }
        }
        yp[o] = divide(s, div, z, r);
    }));
    Ok(())
}

/// Backward of `avg_pool_fwd`: every tap of a window receives its output's gradient divided
/// the same way (computed once per window, like PyTorch).
pub fn avg_pool_bwd<T: AvgElem>(g: &[T], in_sp: [usize; 3], win: &Windows, div: &Divisor, gx: &mut [T]) -> Result<(), String> {
    gx.fill(T::zero());
    let Some((ip, op)) = avg_planes(in_sp, win, div, gx.len(), g.len())? else { return Ok(()) };
    per_plane(g, op, gx, ip, |gp, gxp| win.each(|o, z, r| {
        let [(d0, d1), (h0, h1), (w0, w1)] = r;
        let delta = divide(gp[o], div, z, r);
        for d in d0..d1 {
            for h in h0..h1 {
                let row = (d * in_sp[1] + h) * in_sp[2];
                for v in &mut gxp[row + w0..row + w1] { *v = v.add(delta); }
            }
        }
    }));
    Ok(())
}

/// Adaptive max pooling over planes: the maximum of each window and its flat index in the
/// input plane. Like PyTorch, a later NaN replaces the running maximum; an all -inf window
/// reports its first tap.
pub fn window_max_fwd<T: MaxElem>(x: &[T], in_sp: [usize; 3], win: &Windows, y: &mut [T], idx: &mut [i64]) -> Result<(), String> {
    let out_sp = win.out_sp();
    let (ip, op) = (plane_size(&in_sp, "adaptive_max_pool")?, plane_size(&out_sp, "adaptive_max_pool")?);
    if ip == 0 || op == 0 { return Ok(()); }
    let planes = x.len() / ip;
    if x.len() != planes * ip || y.len() != planes * op || idx.len() != y.len() { return Err(len_err("adaptive_max_pool output", y.len(), planes * op)); }
    win.check(&in_sp)?;
    if (0..3).any(|d| win.lo[d].iter().zip(&win.hi[d]).any(|(l, h)| l >= h)) { return Err("adaptive_max_pool: empty window".into()); }
    per_plane_idx(x, ip, y, idx, op, |xp, yp, ip_| win.each(|o, _, r| {
        let [(d0, d1), (h0, h1), (w0, w1)] = r;
        let (mut best, mut bi) = (xp[0], -1i64);
        for d in d0..d1 {
            for h in h0..h1 {
                let row = (d * in_sp[1] + h) * in_sp[2];
                for j in row + w0..row + w1 {
                    let v = xp[j];
                    if bi < 0 || v > best || v.is_nan() { best = v; bi = j as i64; }
                }
            }
        }
        yp[o] = best;
        ip_[o] = bi;
    }));
    Ok(())
}

use super::{check_outputs, kernel_result, read, write};
use crate::dtype::DType;
use crate::tensor::Tensor;

fn pool_dtype_err(what: &str, dt: DType) -> crate::error::Error {
    crate::error::Error::NotImplemented(format!("\"{}\" not implemented for '{}'", what, dt.legacy_name()))
}

impl crate::backend::pool::PoolKernels for super::Cpu {
    fn max_pool(&self, y: &Tensor, idx: &Tensor, x: &Tensor, g: &MaxPoolGeom) -> crate::error::Result<()> {
        check_outputs(&[y, idx], &[x])?;
        crate::dispatch_num!(x.dtype(), T => read::<T, _>(x, |xs| write::<T, _>(y, |ys| write::<i64, _>(idx, |is|
            kernel_result(max_pool_fwd(xs, g.in_sp, g.out_sp, g.k, g.stride, g.pad, g.dil, ys, is))))))???
    }

    fn max_pool_backward(&self, gx: &Tensor, g: &Tensor, idx: &Tensor, in_plane: usize, out_plane: usize) -> crate::error::Result<()> {
        check_outputs(&[gx], &[g, idx])?;
        crate::dispatch_float!(g.dtype(), T => read::<T, _>(g, |gs| read::<i64, _>(idx, |is| write::<T, _>(gx, |o|
            kernel_result(max_pool_bwd(gs, is, in_plane, out_plane, o))))))???
    }

    fn avg_pool(&self, y: &Tensor, x: &Tensor, in_sp: [usize; 3], win: &Windows, div: &Divisor) -> crate::error::Result<()> {
        check_outputs(&[y], &[x])?;
        match x.dtype() {
            DType::F32 => read::<f32, _>(x, |xs| write::<f32, _>(y, |ys| kernel_result(avg_pool_fwd(xs, in_sp, win, div, ys))))???,
            DType::F64 => read::<f64, _>(x, |xs| write::<f64, _>(y, |ys| kernel_result(avg_pool_fwd(xs, in_sp, win, div, ys))))???,
            DType::I64 => read::<i64, _>(x, |xs| write::<i64, _>(y, |ys| kernel_result(avg_pool_fwd(xs, in_sp, win, div, ys))))???,
            d => return Err(pool_dtype_err("avg_pool", d)),
        }
        Ok(())
    }

    fn avg_pool_backward(&self, gx: &Tensor, g: &Tensor, in_sp: [usize; 3], win: &Windows, div: &Divisor) -> crate::error::Result<()> {
        check_outputs(&[gx], &[g])?;
        crate::dispatch_float!(g.dtype(), T => read::<T, _>(g, |gs| write::<T, _>(gx, |o| kernel_result(avg_pool_bwd(gs, in_sp, win, div, o)))))??
    }

    fn window_max(&self, y: &Tensor, idx: &Tensor, x: &Tensor, in_sp: [usize; 3], win: &Windows) -> crate::error::Result<()> {
        check_outputs(&[y, idx], &[x])?;
        crate::dispatch_float!(x.dtype(), T => read::<T, _>(x, |xs| write::<T, _>(y, |ys| write::<i64, _>(idx, |is|
            kernel_result(window_max_fwd(xs, in_sp, win, ys, is))))))???
    }
}
