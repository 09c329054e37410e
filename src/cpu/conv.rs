//! Convolution kernels (1-D/2-D/3-D, stride, padding, dilation, groups) by im2col + GEMM, one
//! sample at a time so the column buffer stays in cache, samples spread over the rayon pool.
//! A 1x1 convolution with stride 1 and no padding multiplies the input directly (no copy).
//! The transposed convolution is `input_grad` (its adjoint), so three kernels cover both.
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
