//! Convolution kernels (1-D/2-D/3-D, stride, padding, dilation, groups) by im2col + GEMM, one
//! sample at a time so the column buffer stays in cache, samples spread over the rayon pool.
//! A 1x1 convolution with stride 1 and no padding multiplies the input directly (no copy).
//! The transposed convolution is `input_grad` (its adjoint), so three kernels cover both.
//! A stride-1 f32 forward convolution skips the column matrix: `implicit` multiplies the
//! weights by the zero-padded input in place, B's rows addressed through a table of offsets.
use super::gemm::{gemm_checked, parallelism, Mat};
use rayon::prelude::*;

pub use crate::backend::conv::ConvGeom;

/// For one kernel tap offset along a dim: output positions [lo, hi) whose input index
/// `o * stride + off - pad` lies in [0, size).
#[inline]
fn valid_range(out: usize, size: usize, stride: usize, off: usize, pad: usize) -> (usize, usize) {
    // o * stride + off >= pad  <=>  o >= ceil((pad - off) / stride)
    let lo = if off >= pad { 0 } else { (pad - off).div_ceil(stride) };
    // o * stride + off - pad < size  <=>  o * stride < size + pad - off
    let lim = size + pad;
    let hi = if lim <= off { 0 } else { (lim - off).div_ceil(stride) };
    (lo.min(out), hi.min(out).max(lo.min(out)))
}

/// Element types the convolution kernels run on (the ops layer computes half types in f32).
pub trait ConvElem: 'static + Copy + Send + Sync + num_traits::Float {}
impl ConvElem for f32 {}
impl ConvElem for f64 {}

/// Calls `f(col_row, col_start, x_start, count, x_step)` for every contiguous run of one group's
/// column matrix [cg * taps, L] that maps to input elements `x_start + j * x_step`, j < count;
/// column entries not visited read padding. Indices are in bounds for a validated geometry:
/// valid_range keeps every input coordinate inside [0, size).
fn for_each_run(g: &ConvGeom, mut f: impl FnMut(usize, usize, usize, usize, usize)) {
    let [id, ih, iw] = g.in_sp;
    let [od, oh, ow] = g.out_sp;
    let [kd, kh, kw] = g.k;
    let mut row = 0;
    for c in 0..g.cg() {
        let xc = c * id * ih * iw;
        for a in 0..kd { for b in 0..kh { for e in 0..kw {
            let (d_lo, d_hi) = valid_range(od, id, g.stride[0], a * g.dil[0], g.pad[0]);
            let (h_lo, h_hi) = valid_range(oh, ih, g.stride[1], b * g.dil[1], g.pad[1]);
            let (w_lo, w_hi) = valid_range(ow, iw, g.stride[2], e * g.dil[2], g.pad[2]);
            if w_hi > w_lo {
                for zd in d_lo..d_hi {
                    let xd = zd * g.stride[0] + a * g.dil[0] - g.pad[0];
                    for zh in h_lo..h_hi {
                        let xh = zh * g.stride[1] + b * g.dil[1] - g.pad[1];
                        let x0 = xc + (xd * ih + xh) * iw + w_lo * g.stride[2] + e * g.dil[2] - g.pad[2];
                        f(row, (zd * oh + zh) * ow + w_lo, x0, w_hi - w_lo, g.stride[2]);
                    }
                }
            }
            row += 1;
        }}}
    }
}

/// The column matrix [cg * taps, L] of one group's channels x [cg, D, H, W], built in `buf`.
/// `buf` is one kernel call's scratch, only ever written here with the same geometry: entries
/// that fall into the padding are never visited, so the zeros of its first fill stay valid and
/// later samples skip the fill (a full memset per sample was ~5% of a padded 3x3 convolution).
fn columns<'a, T: ConvElem>(x: &[T], g: &ConvGeom, buf: &'a mut Vec<T>) -> &'a [T] {
    let len = g.rows() * g.out_plane();
    if buf.len() != len {
        buf.clear();
        buf.resize(len, T::zero());
    }
    im2col(x, g, buf);
    buf
}

/// cols [cg * taps, L] <- the input windows of x; entries in the padding are left as they are.
fn im2col<T: ConvElem>(x: &[T], g: &ConvGeom, cols: &mut [T]) {
    let l = g.out_plane();
    for_each_run(g, |row, c0, x0, n, step| {
        let dst = &mut cols[row * l + c0..row * l + c0 + n];
        if step == 1 { dst.copy_from_slice(&x[x0..x0 + n]); } else { for (j, d) in dst.iter_mut().enumerate() { *d = x[x0 + j * step]; } }
    });
}

/// x [cg, D, H, W] += the column entries of cols [cg * taps, L] at their input positions.
fn col2im_add<T: ConvElem>(cols: &[T], g: &ConvGeom, x: &mut [T]) {
    let l = g.out_plane();
    for_each_run(g, |row, c0, x0, n, step| {
        let src = &cols[row * l + c0..row * l + c0 + n];
        if step == 1 { for (d, &s) in x[x0..x0 + n].iter_mut().zip(src) { *d = *d + s; } } else { for (j, &s) in src.iter().enumerate() { x[x0 + j * step] = x[x0 + j * step] + s; } }
    });
}

/// Runs `f(sample_index, per-thread scratch)` for every sample: across the pool when there
/// are several samples (each product then single-threaded), else in order with threaded products.
fn over_samples<T: ConvElem, O: Send>(n: usize, flops_per_sample: usize, out: &mut [O], out_per: usize,
    f: impl Fn(usize, &mut [O], &mut Vec<T>, gemm::Parallelism) -> Result<(), String> + Sync + Send) -> Result<(), String> {
    if out_per == 0 { return Ok(()); }
    if n >= 2 && super::iter::parallel_ok() && flops_per_sample.saturating_mul(n) >= 1 << 20 {
        out.par_chunks_mut(out_per).enumerate().try_for_each_init(Vec::new, |buf, (s, o)| f(s, o, buf, gemm::Parallelism::None))
    } else {
        let mut buf = Vec::new();
        out.chunks_mut(out_per).enumerate().try_for_each(|(s, o)| f(s, o, &mut buf, parallelism(flops_per_sample)))
    }
}

fn check_len(what: &str, got: usize, want: usize) -> Result<(), String> {
    if got != want { return Err(format!("convolution: {} has {} elements, expected {}", what, got, want)); }
    Ok(())
}

/// y [N, O, *out] = conv(x [N, C, *in], w [O, C/groups, *k]) + bias [O].
pub fn forward<T: ConvElem>(x: &[T], w: &[T], bias: Option<&[T]>, g: &ConvGeom, y: &mut [T]) -> Result<(), String> {
    let (xn, wn, yn) = g.validate()?;
    check_len("input", x.len(), xn)?; check_len("weight", w.len(), wn)?; check_len("output", y.len(), yn)?;
    if let Some(b) = bias { check_len("bias", b.len(), g.o)?; }
    #[cfg(target_arch = "x86_64")]
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() && super::winograd::applies(g) {
        // SAFETY: T is f32 (TypeId), so these are the same slices under their own type
        let as_f32 = |s: &[T]| unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f32, s.len()) };
        let y32 = unsafe { std::slice::from_raw_parts_mut(y.as_mut_ptr() as *mut f32, y.len()) };
        return super::winograd::forward(as_f32(x), as_f32(w), bias.map(as_f32), g, y32);
    }
    forward_direct(x, w, bias, g, y)
}

/// `forward` without the Winograd path (which falls back to it for non-finite values: its
/// transforms would turn an inf into nan where the direct sum keeps it).
pub fn forward_direct<T: ConvElem>(x: &[T], w: &[T], bias: Option<&[T]>, g: &ConvGeom, y: &mut [T]) -> Result<(), String> {
    let (xn, wn, yn) = g.validate()?;
    check_len("input", x.len(), xn)?; check_len("weight", w.len(), wn)?; check_len("output", y.len(), yn)?;
    if let Some(b) = bias { check_len("bias", b.len(), g.o)?; }
    #[cfg(target_arch = "x86_64")]
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() && implicit::applies(g) {
        // SAFETY: T is f32 (TypeId), so these are the same slices under their own type
        let as_f32 = |s: &[T]| unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f32, s.len()) };
        let y32 = unsafe { std::slice::from_raw_parts_mut(y.as_mut_ptr() as *mut f32, y.len()) };
        return implicit::forward(as_f32(x), as_f32(w), bias.map(as_f32), g, y32);
    }
    let (cg, og, rows, l, ip) = (g.cg(), g.og(), g.rows(), g.out_plane(), g.in_plane());
    let pointwise = g.is_pointwise();
    over_samples::<T, T>(g.n, g.o * rows * l, y, g.o * l, |s, ys, buf, par| {
        let xs = &x[s * g.c * ip..(s + 1) * g.c * ip];
        match bias { Some(b) => for (oc, yr) in ys.chunks_mut(l).enumerate() { yr.fill(b[oc]); }, None => {} }
        for grp in 0..g.groups {
            let xg = &xs[grp * cg * ip..(grp + 1) * cg * ip];
            let cols: &[T] = if pointwise { xg } else { columns(xg, g, buf) };
            let wg = Mat::rm(&w[grp * og * rows..(grp + 1) * og * rows], og, rows);
            gemm_checked(&mut ys[grp * og * l..(grp + 1) * og * l], l, wg, Mat::rm(cols, rows, l), bias.is_some(), par)?;
        }
        Ok(())
    })
}

/// gx [N, C, *in] = the adjoint of `forward` applied to gy [N, O, *out] (no bias): the input
/// gradient of a convolution, and the forward of a transposed convolution.
pub fn input_grad<T: ConvElem>(gy: &[T], w: &[T], g: &ConvGeom, gx: &mut [T]) -> Result<(), String> {
    let (xn, wn, yn) = g.validate()?;
    check_len("grad_output", gy.len(), yn)?; check_len("weight", w.len(), wn)?; check_len("grad_input", gx.len(), xn)?;
    #[cfg(target_arch = "x86_64")]
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() {
        if let Some(gt) = implicit::adjoint(g) {
            // SAFETY: T is f32 (TypeId), so these are the same slices under their own type
            let as_f32 = |s: &[T]| unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f32, s.len()) };
            let gx32 = unsafe { std::slice::from_raw_parts_mut(gx.as_mut_ptr() as *mut f32, gx.len()) };
            return implicit::input_grad(as_f32(gy), as_f32(w), g, &gt, gx32);
        }
    }
    let (cg, og, rows, l, ip) = (g.cg(), g.og(), g.rows(), g.out_plane(), g.in_plane());
    let pointwise = g.is_pointwise();
    over_samples::<T, T>(g.n, g.o * rows * l, gx, g.c * ip, |s, gxs, buf, par| {
        let gys = &gy[s * g.o * l..(s + 1) * g.o * l];
        for grp in 0..g.groups {
            let wt = Mat::rm_t(&w[grp * og * rows..(grp + 1) * og * rows], og, rows);
            let gyg = Mat::rm(&gys[grp * og * l..(grp + 1) * og * l], og, l);
            let gxg = &mut gxs[grp * cg * ip..(grp + 1) * cg * ip];
            if pointwise {
                gemm_checked(gxg, l, wt, gyg, false, par)?;
            } else {
                buf.resize(rows * l, T::zero());
                gemm_checked(buf, l, wt, gyg, false, par)?;
                gxg.fill(T::zero());
                col2im_add(buf, g, gxg);
            }
        }
        Ok(())
    })
}

/// gw [O, C/groups, *k] = sum over samples of gy [N, O, *out] times the input windows of x.
pub fn weight_grad<T: ConvElem>(x: &[T], gy: &[T], g: &ConvGeom, gw: &mut [T]) -> Result<(), String> {
    let (xn, wn, yn) = g.validate()?;
    check_len("input", x.len(), xn)?; check_len("grad_output", gy.len(), yn)?; check_len("grad_weight", gw.len(), wn)?;
    let (cg, og, rows, l, ip) = (g.cg(), g.og(), g.rows(), g.out_plane(), g.in_plane());
    let pointwise = g.is_pointwise();
    // one sample's contribution, accumulated into acc [O, rows]
    let add_sample = |s: usize, acc: &mut [T], buf: &mut Vec<T>, par| -> Result<(), String> {
        let xs = &x[s * g.c * ip..(s + 1) * g.c * ip];
        let gys = &gy[s * g.o * l..(s + 1) * g.o * l];
        for grp in 0..g.groups {
            let xg = &xs[grp * cg * ip..(grp + 1) * cg * ip];
            let cols: &[T] = if pointwise { xg } else { columns(xg, g, buf) };
            let gyg = Mat::rm(&gys[grp * og * l..(grp + 1) * og * l], og, l);
            gemm_checked(&mut acc[grp * og * rows..(grp + 1) * og * rows], rows, gyg, Mat::rm_t(cols, rows, l), true, par)?;
        }
        Ok(())
    };
    gw.fill(T::zero());
    if g.n >= 2 && super::iter::parallel_ok() && (g.o * rows * l).saturating_mul(g.n) >= 1 << 20 {
        let total = (0..g.n).into_par_iter()
            .try_fold(|| (vec![T::zero(); wn], Vec::new()), |(mut acc, mut buf), s| {
                add_sample(s, &mut acc, &mut buf, gemm::Parallelism::None).map(|_| (acc, buf))
            })
            .map(|r| r.map(|(acc, _)| acc))
            .try_reduce(|| vec![T::zero(); wn], |mut a, b| { for (x, y) in a.iter_mut().zip(&b) { *x = *x + *y; } Ok(a) })?;
        gw.copy_from_slice(&total);
    } else {
        let mut buf = Vec::new();
        for s in 0..g.n { add_sample(s, gw, &mut buf, parallelism(g.o * rows * l))?; }
    }
    Ok(())
}

/// Stride-1 f32 convolution as an implicit GEMM on the small-matrix kernels.
///
/// One sample's group channels are copied, zero-padded, into `xp` [cg, Dp, Hp, Wp]. Output
/// position (od, oh, ow) then reads tap (a, b, e) of channel c at
/// `c·P + (od + a·dil_d)·Hp·Wp + (oh + b·dil_h)·Wp + (ow + e·dil_w)` (P = Dp·Hp·Wp): with the
/// output indexed "wide" as q = (od·Hp + oh)·Wp + ow, row r = (c, a, b, e) of the column
/// matrix is `xp[off[r] + q]`, a contiguous run of xp. So the product W [og, rows] @ cols
/// runs with B's rows at `off[r]`, no column matrix and no packing; the wide columns with
/// oh ≥ OH or ow ≥ OW are computed and dropped (a few percent for 3x3 kernels), and the valid
/// ones copied to y with the bias.
#[cfg(target_arch = "x86_64")]
mod implicit {
    use super::ConvGeom;
    use rayon::prelude::*;

    /// K rows per pass: B's 32-column panel (kc x 128 bytes) stays in L1/L2 across row tiles.
    /// 3x3 kernels over up to 42 channels (378 rows) take one pass (each further pass re-reads
    /// and re-writes C); the 36 KiB panel of 32 channels still fits a 48 KiB L1.
    const KC: usize = 384;

    /// Padded extents (Dp, Hp, Wp), and the wide column count: the last valid q, plus one.
    fn wide(g: &ConvGeom) -> ([usize; 3], usize) {
        let p: [usize; 3] = std::array::from_fn(|d| g.in_sp[d] + 2 * g.pad[d]);
        let [od, oh, ow] = g.out_sp;
        (p, ((od - 1) * p[1] + (oh - 1)) * p[2] + ow)
    }

    /// Stride 1 everywhere, outputs of the size stride 1 gives, not pointwise (which needs no
    /// copy at all), enough output channels to fill row tiles, and at most 1.5x wasted columns.
    pub fn applies(g: &ConvGeom) -> bool {
        if !crate::cpu::small_gemm::available() || g.stride != [1, 1, 1] || g.is_pointwise() || g.og() < 4 { return false; }
        let exact = (0..3).all(|d| g.in_sp[d] + 2 * g.pad[d] == g.out_sp[d] + g.dil[d] * (g.k[d] - 1));
        if !exact || g.out_plane() == 0 { return false; }
        let (p, n) = wide(g);
        p.iter().try_fold(1usize, |a, &b| a.checked_mul(b)).is_some_and(|pp| pp.checked_mul(g.cg()).is_some())
            && n * 2 <= g.out_plane() * 3
    }

    /// The geometry whose forward is `g`'s input gradient, when the implicit or Winograd path
    /// takes it. For stride 1, gx[c, i] = sum over o, t of w[o, c, t]·gy[o, i + pad - t·dil]: a stride-1
    /// convolution of gy, padded by dil·(k-1) - pad, with the weights flipped and their two
    /// channel axes swapped (per group).
    pub fn adjoint(g: &ConvGeom) -> Option<ConvGeom> {
        if g.stride != [1, 1, 1] || (0..3).any(|d| g.pad[d] > g.dil[d] * (g.k[d] - 1)) { return None; }
        let gt = ConvGeom {
            c: g.o, o: g.c, in_sp: g.out_sp, out_sp: g.in_sp,
            pad: std::array::from_fn(|d| g.dil[d] * (g.k[d] - 1) - g.pad[d]), ..g.clone()
        };
        (applies(&gt) || crate::cpu::winograd::applies(&gt)).then_some(gt)
    }

    /// gx = the forward of `gt` (from `adjoint(g)`, Winograd or implicit) on gy with the flipped,
    /// channel-swapped weights.
    pub fn input_grad(gy: &[f32], w: &[f32], g: &ConvGeom, gt: &ConvGeom, gx: &mut [f32]) -> Result<(), String> {
        let (cg, og, taps) = (g.cg(), g.og(), g.taps());
        let mut wt = vec![0.0f32; w.len()];
        for grp in 0..g.groups { for o in 0..og { for c in 0..cg {
            let src = &w[((grp * og + o) * cg + c) * taps..][..taps];
            let dst = &mut wt[((grp * cg + c) * og + o) * taps..][..taps];
            for (d, &s) in dst.iter_mut().zip(src.iter().rev()) { *d = s; }
        }}}
        super::forward(gy, &wt, None, gt, gx)
    }

    pub fn forward(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &ConvGeom, y: &mut [f32]) -> Result<(), String> {
        let (xn, wn, yn) = g.validate()?;
        if (x.len(), w.len(), y.len()) != (xn, wn, yn) || bias.is_some_and(|b| b.len() != g.o) {
            return Err(format!("convolution: operand sizes do not match {:?}", g));
        }
        let (cg, og, rows, l, ip) = (g.cg(), g.og(), g.rows(), g.out_plane(), g.in_plane());
        let ([dp, hp, wp], nw) = wide(g);
        let plane = dp * hp * wp;
        let [id, ih, iw] = g.in_sp;
        let [od, oh, ow] = g.out_sp;
        // B row offsets in the weight's order (c, a, b, e)
        let mut off = Vec::with_capacity(rows);
        for c in 0..cg { for a in 0..g.k[0] { for b in 0..g.k[1] { for e in 0..g.k[2] {
            off.push(c * plane + a * g.dil[0] * hp * wp + b * g.dil[1] * wp + e * g.dil[2]);
        }}}}
        // every B read is below cg·P: the largest offset plus the last wide column is
        // (cg-1)·P + (Dp-1)·Hp·Wp + (Hp-1)·Wp + Wp-1 (stride-1 extents, checked in `applies`)
        if off.last().map_or(true, |&o| o + nw > cg * plane) { return Err(format!("convolution: implicit geometry {:?}", g)); }
        let one_sample = |s: usize, ys: &mut [f32], (xp, wide_out): &mut (Vec<f32>, Vec<f32>), split: bool| {
            xp.resize(cg * plane, 0.0);
            wide_out.resize(og * nw, 0.0);
            for grp in 0..g.groups {
                let xg = &x[(s * g.c + grp * cg) * ip..(s * g.c + (grp + 1) * cg) * ip];
                // interior copy; the border stays zero (only interiors are ever written)
                for c in 0..cg { for d in 0..id { for h in 0..ih {
                    let src = &xg[((c * id + d) * ih + h) * iw..][..iw];
                    let dst = c * plane + ((d + g.pad[0]) * hp + h + g.pad[1]) * wp + g.pad[2];
                    xp[dst..dst + iw].copy_from_slice(src);
                }}}
                let wg = &w[grp * og * rows..(grp + 1) * og * rows];
                let (xpp, wo) = (xp.as_ptr() as usize, wide_out.as_mut_ptr() as usize);
                let columns = |j0: usize, j1: usize| {
                    for k0 in (0..rows).step_by(KC) {
                        let k1 = (k0 + KC).min(rows);
                        // SAFETY: A = wg rows [og, rows] at row stride rows, columns k0..k1 inside it;
                        // B rows xp[off[r] + j] for j < nw stay below cg·P = xp.len() (checked above);
                        // C = wide_out [og, nw] columns j0..j1, which no other call writes
                        unsafe {
                            crate::cpu::small_gemm::gemm_f32_offset_rows(og, j1 - j0, wg.as_ptr().add(k0), rows, 1,
                                (xpp as *const f32).add(j0), &off[k0..k1], (wo as *mut f32).add(j0), nw, k0 > 0);
                        }
                    }
                };
                if split {
                    let chunks = (rayon::current_num_threads() * 2).min(nw.div_ceil(32));
                    let per = nw.div_ceil(chunks).div_ceil(32) * 32;
                    (0..chunks).into_par_iter().for_each(|t| { let (j0, j1) = (t * per, ((t + 1) * per).min(nw)); if j0 < j1 { columns(j0, j1) } });
                } else {
                    columns(0, nw);
                }
                // the valid wide columns, plus the bias
                for o in 0..og {
                    let b = bias.map_or(0.0, |b| b[grp * og + o]);
                    let yo = &mut ys[(grp * og + o) * l..][..l];
                    for d in 0..od { for h in 0..oh {
                        let src = &wide_out[o * nw + (d * hp + h) * wp..][..ow];
                        for (t, &v) in yo[(d * oh + h) * ow..][..ow].iter_mut().zip(src) { *t = v + b; }
                    }}
                }
            }
        };
        let flops = og * rows * nw * g.groups;
        if g.n >= 2 && crate::cpu::iter::parallel_ok() && flops.saturating_mul(g.n) >= 1 << 20 {
            y.par_chunks_mut(g.o * l).enumerate().for_each_init(|| (Vec::new(), Vec::new()), |sc, (s, ys)| one_sample(s, ys, sc, false));
        } else {
            let split = crate::cpu::iter::parallel_ok() && rayon::current_num_threads() > 1 && flops >= 1 << 20;
            let mut sc = (Vec::new(), Vec::new());
            for (s, ys) in y.chunks_mut(g.o * l).enumerate() { one_sample(s, ys, &mut sc, split); }
        }
        Ok(())
    }
}

use super::{check_outputs, kernel_result, read, write};
use crate::tensor::Tensor;

impl crate::backend::conv::ConvKernels for super::Cpu {
    fn conv_forward(&self, y: &Tensor, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, g: &ConvGeom) -> crate::error::Result<()> {
        check_outputs(&[y], &[x, w])?;
        crate::dispatch_float!(x.dtype(), T => {
            let bs: Option<Vec<T>> = bias.map(|b| read::<T, _>(b, |v| v.to_vec())).transpose()?;
            read::<T, _>(x, |xs| read::<T, _>(w, |ws| write::<T, _>(y, |ys| kernel_result(forward(xs, ws, bs.as_deref(), g, ys)))))???
        })
    }

    fn conv_input_grad(&self, gx: &Tensor, gy: &Tensor, w: &Tensor, g: &ConvGeom) -> crate::error::Result<()> {
        check_outputs(&[gx], &[gy, w])?;
        crate::dispatch_float!(gy.dtype(), T => read::<T, _>(gy, |gs| read::<T, _>(w, |ws| write::<T, _>(gx, |xs| kernel_result(input_grad(gs, ws, g, xs)))))???)
    }

    fn conv_weight_grad(&self, gw: &Tensor, x: &Tensor, gy: &Tensor, g: &ConvGeom) -> crate::error::Result<()> {
        check_outputs(&[gw], &[x, gy])?;
        crate::dispatch_float!(x.dtype(), T => read::<T, _>(x, |xs| read::<T, _>(gy, |gs| write::<T, _>(gw, |ws| kernel_result(weight_grad(xs, gs, g, ws)))))???)
    }
}
