//! Pooling ops over the last 1 to 3 dims of [N, C, *sp] (or [C, *sp]): max pooling with
//! indices, average pooling and the adaptive pools. Each is one autograd node; the Python
//! layer has checked the arguments with PyTorch's messages and computed the output sizes
//! (ceil_mode), so these only re-check what the kernels rely on.
use crate::autograd::{self, SaveItem};
use crate::backend::backend_of;
use crate::backend::pool::{Divisor, MaxPoolGeom, Windows};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::{copy, shape};
use crate::tensor::Tensor;
use std::sync::Arc;

fn not_implemented(what: &str, dt: DType) -> Error {
    Error::NotImplemented(format!("\"{}\" not implemented for '{}'", what, dt.legacy_name()))
}

/// `v` (one entry per pooled dim) left-padded to 3 dims with `fill`.
fn pad3(v: &[usize], fill: usize) -> [usize; 3] {
    let mut a = [fill; 3];
    a[3 - v.len()..].copy_from_slice(v);
    a
}

/// The pooled dims of `x`: (input spatial size padded to 3 dims, output shape).
fn geometry(x: &Tensor, nd: usize, out_sp: &[usize], what: &str) -> Result<([usize; 3], Vec<usize>)> {
    let sh = x.shape();
    if !(1..=3).contains(&nd) || sh.len() < nd || out_sp.len() != nd {
        crate::bail!("{}: bad arguments for input of size {:?}", what, sh);
    }
    let mut oshape: Vec<usize> = sh[..sh.len() - nd].to_vec();
    oshape.extend_from_slice(out_sp);
    crate::tensor::checked_numel(&oshape)?;
    Ok((pad3(&sh[sh.len() - nd..], 1), oshape))
}

fn plane(sp: &[usize; 3]) -> usize { sp.iter().product() }

/// Max pooling with stride, padding and dilation: values and flat argmax indices into each
/// input plane. Every real dtype but bool (half types are computed in float by the caller).
#[allow(clippy::too_many_arguments)]
pub fn max_pool(x: &Tensor, nd: usize, ks: &[usize], stride: &[usize], pad: &[usize], dil: &[usize], out_sp: &[usize]) -> Result<(Tensor, Tensor)> {
    let dt = x.dtype();
    if matches!(dt, DType::Bool | DType::F16 | DType::BF16 | DType::C64 | DType::C128) {
        return Err(not_implemented(&format!("max_pool{}d", nd), dt));
    }
    let (in3, oshape) = geometry(x, nd, out_sp, "max_pool")?;
    if [ks.len(), stride.len(), pad.len(), dil.len()].iter().any(|&l| l != nd) {
        crate::bail!("max_pool: bad arguments for input of size {:?}", x.shape());
    }
    let (out3, k3, s3, pd3, d3) = (pad3(out_sp, 1), pad3(ks, 1), pad3(stride, 1), pad3(pad, 0), pad3(dil, 1));
    let xc = copy::contiguous_as(x, dt)?;
    let be = backend_of(&[x])?;
    let (y, idx) = (Tensor::alloc_on(&oshape, dt, be.device(), false)?, Tensor::alloc_on(&oshape, DType::I64, be.device(), false)?);
    be.max_pool(&y, &idx, &xc, &MaxPoolGeom { in_sp: in3, out_sp: out3, k: k3, stride: s3, pad: pd3, dil: d3 })?;
    if autograd::needs_grad(&[x]) {
        let name = if nd == 3 { "MaxPool3DWithIndicesBackward0" } else { "MaxPool2DWithIndicesBackward0" };
        record_index_backward(name, x, &y, &idx, plane(&in3), plane(&out3));
    }
    Ok((y, idx))
}

/// Records the backward of a pool that picked one input per output (max and adaptive max):
/// the gradient scatters to the recorded indices; its own derivative gathers from them.
fn record_index_backward(name: &'static str, x: &Tensor, y: &Tensor, idx: &Tensor, in_plane: usize, out_plane: usize) {
    autograd::record(name, &[x], &[y], vec![SaveItem::Value(idx.clone()), SaveItem::Input(x)], Box::new(move |s, g| {
        let Some(g) = &g[0] else { return Ok(vec![None]) };
        let (idx, x) = (&s[0], &s[1]);
        let xs = x.shape();
        let planes = if in_plane == 0 { 0 } else { x.numel() / in_plane };
        let dt = g.dtype();
        let gc = copy::contiguous_as(g, dt)?;
        let be = backend_of(&[&gc, idx])?;
        let gx = Tensor::alloc_on(&xs, dt, be.device(), false)?;
        be.max_pool_backward(&gx, &gc, idx, in_plane, out_plane)?;
        if autograd::needs_grad(&[g, x]) {
            // linear in g (a gather at the argmax positions); zero in x, like PyTorch
            let (idx2, gshape) = (shape::reshape_raw(idx, &[planes, out_plane]), g.shape());
            autograd::record(name.replace("Backward0", "BackwardBackward0"), &[g, x], &[&gx], vec![], Box::new(move |_, h| {
                let Some(h) = &h[0] else { return Ok(vec![None, None]) };
                let hf = shape::reshape(h, &[planes as i64, in_plane as i64])?;
                let gg = crate::ops::index::gather(&hf, 1, &idx2)?;
                Ok(vec![Some(shape::reshape_raw(&gg, &gshape)), None])
            }));
        }
        Ok(vec![Some(gx)])
    }));
}

/// The windows of an adaptive pool from `n_in` to `n_out` positions: PyTorch's
/// [floor(o * n_in / n_out), ceil((o + 1) * n_in / n_out)).
fn adaptive_windows(n_in: usize, n_out: usize) -> (Vec<usize>, Vec<usize>) {
    let (i, o) = (n_in as u128, n_out.max(1) as u128);
    (0..n_out).map(|z| {
        let z = z as u128;
        ((z * i / o) as usize, ((z + 1) * i).div_ceil(o) as usize)
    }).unzip()
}

/// Window average pooling as one node: the forward kernel, and a backward that spreads each
/// output's gradient over its window (linear in the gradient, so its own derivative is the
/// forward pool again).
fn window_avg(x: &Tensor, in3: [usize; 3], oshape: Vec<usize>, win: Windows, div: Divisor, name: &'static str) -> Result<Tensor> {
    let dt = x.dtype();
    if !matches!(dt, DType::F32 | DType::F64 | DType::I64) { return Err(not_implemented(name, dt)); }
    let xc = copy::contiguous_as(x, dt)?;
    let be = backend_of(&[x])?;
    let y = Tensor::alloc_on(&oshape, dt, be.device(), false)?;
    be.avg_pool(&y, &xc, in3, &win, &div)?;
    if autograd::needs_grad(&[x]) {
        record_avg_backward(name, x, &y, in3, Arc::new((win, div)));
    }
    Ok(y)
}

fn record_avg_backward(name: &'static str, x: &Tensor, y: &Tensor, in3: [usize; 3], geo: Arc<(Windows, Divisor)>) {
    let xshape = x.shape();
    autograd::record(name, &[x], &[y], vec![], Box::new(move |_, g| {
        let Some(g) = &g[0] else { return Ok(vec![None]) };
        let dt = g.dtype();
        let gc = copy::contiguous_as(g, dt)?;
        let be = backend_of(&[&gc])?;
        let gx = Tensor::alloc_on(&xshape, dt, be.device(), false)?;
        be.avg_pool_backward(&gx, &gc, in3, &geo.0, &geo.1)?;
        if autograd::needs_grad(&[g]) {
            let (geo2, gshape) = (geo.clone(), g.shape());
            autograd::record(name.replace("Backward0", "BackwardBackward0"), &[g], &[&gx], vec![], Box::new(move |_, h| {
                let Some(h) = &h[0] else { return Ok(vec![None]) };
                let hc = copy::contiguous_as(h, h.dtype())?;
                let be = backend_of(&[&hc])?;
                let gg = Tensor::alloc_on(&gshape, h.dtype(), be.device(), false)?;
                be.avg_pool(&gg, &hc, in3, &geo2.0, &geo2.1)?;
                Ok(vec![Some(gg)])
            }));
        }
        Ok(vec![Some(gx)])
    }));
}

/// `avg_pool{2,3}d` (1-D runs as 2-D on the caller's unsqueezed input): float32, float64 and
/// int64 (sums in int64, division truncating toward zero).
#[allow(clippy::too_many_arguments)]
pub fn avg_pool(x: &Tensor, nd: usize, ks: &[usize], stride: &[usize], pad: &[usize], out_sp: &[usize], count_include_pad: bool, divisor_override: Option<i64>) -> Result<Tensor> {
    let (in3, oshape) = geometry(x, nd, out_sp, "avg_pool")?;
    if [ks.len(), stride.len(), pad.len()].iter().any(|&l| l != nd) {
        crate::bail!("avg_pool: bad arguments for input of size {:?}", x.shape());
    }
    let (out3, k3, s3, p3) = (pad3(out_sp, 1), pad3(ks, 1), pad3(stride, 1), pad3(pad, 0));
    let mut win = Windows { lo: Default::default(), hi: Default::default() };
    let mut factors: [Vec<i64>; 3] = Default::default();
    for d in 0..3 {
        for o in 0..out3[d] {
            // PyTorch's window: the pool size counts the padding up to in + pad, then clips
            let start = (o as i128) * s3[d] as i128 - p3[d] as i128;
            let end = (start + k3[d] as i128).min(in3[d] as i128 + p3[d] as i128);
            let (lo, hi) = (start.max(0).min(in3[d] as i128), end.min(in3[d] as i128).max(0));
            let hi = hi.max(lo);
            win.lo[d].push(lo as usize);
            win.hi[d].push(hi as usize);
            factors[d].push(if count_include_pad { (end - start).max(0) as i64 } else { (hi - lo) as i64 });
        }
    }
    let div = match divisor_override {
        Some(0) => crate::bail!("divisor must be not zero"),
        Some(c) => Divisor::Constant(c),
        None => Divisor::Product(factors),
    };
    window_avg(x, in3, oshape, win, div, if nd == 3 { "AvgPool3DBackward0" } else { "AvgPool2DBackward0" })
}

fn adaptive_geometry(in3: [usize; 3], out3: [usize; 3]) -> Windows {
    let mut win = Windows { lo: Default::default(), hi: Default::default() };
    for d in 0..3 {
        let (lo, hi) = adaptive_windows(in3[d], out3[d]);
        win.lo[d] = lo;
        win.hi[d] = hi;
    }
    win
}

/// `adaptive_avg_pool{2,3}d` on float32/float64: window sum / kd / kh / kw, like PyTorch.
pub fn adaptive_avg_pool(x: &Tensor, nd: usize, out_sp: &[usize]) -> Result<Tensor> {
    let name = if nd == 3 { "adaptive_avg_pool3d_cpu" } else { "adaptive_avg_pool2d" };
    if !matches!(x.dtype(), DType::F32 | DType::F64) { return Err(not_implemented(name, x.dtype())); }
    let (in3, oshape) = geometry(x, nd, out_sp, "adaptive_avg_pool")?;
    let out3 = pad3(out_sp, 1);
    if (0..3).any(|d| in3[d] == 0 && out3[d] > 0) && crate::tensor::checked_numel(&oshape)? > 0 {
        crate::bail!("adaptive_avg_pool: empty input dims for non-empty output");
    }
    let win = adaptive_geometry(in3, out3);
    window_avg(x, in3, oshape, win, Divisor::Extents, if nd == 3 { "AdaptiveAvgPool3DBackward0" } else { "AdaptiveAvgPool2DBackward0" })
}

/// `adaptive_max_pool{2,3}d` on float32/float64: values and flat indices into each input plane.
pub fn adaptive_max_pool(x: &Tensor, nd: usize, out_sp: &[usize]) -> Result<(Tensor, Tensor)> {
    let dt = x.dtype();
    if !matches!(dt, DType::F32 | DType::F64) {
        return Err(not_implemented(if nd == 3 { "adaptive_max_pool3d_cpu" } else { "adaptive_max_pool2d" }, dt));
    }
    let (in3, oshape) = geometry(x, nd, out_sp, "adaptive_max_pool")?;
    let out3 = pad3(out_sp, 1);
    if (0..3).any(|d| in3[d] == 0) && crate::tensor::checked_numel(&oshape)? > 0 {
        crate::bail!("adaptive_max_pool: empty input dims for non-empty output");
    }
    let win = adaptive_geometry(in3, out3);
    let xc = copy::contiguous_as(x, dt)?;
    let be = backend_of(&[x])?;
    let (y, idx) = (Tensor::alloc_on(&oshape, dt, be.device(), false)?, Tensor::alloc_on(&oshape, DType::I64, be.device(), false)?);
    be.window_max(&y, &idx, &xc, in3, &win)?;
    if autograd::needs_grad(&[x]) {
        let name = if nd == 3 { "AdaptiveMaxPool3DBackward0" } else { "AdaptiveMaxPool2DBackward0" };
        record_index_backward(name, x, &y, &idx, plane(&in3), plane(&out3));
    }
    Ok((y, idx))
}
