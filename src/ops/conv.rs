//! Convolution and transposed convolution as single autograd nodes. Three differentiable ops
//! close under differentiation, so `create_graph=True` gives higher-order gradients:
//! `conv` (forward), `conv_input_grad` (its adjoint; also the transposed convolution's
//! forward) and `conv_weight_grad`. Kernels: the device's `backend::conv::ConvKernels`.
use crate::autograd::{self, SaveItem};
use crate::backend::{backend_of, conv::ConvGeom};
use crate::dtype::DType;
use crate::error::Result;
use crate::ops::{copy, reduce};
use crate::tensor::{Shape, Tensor};
use std::sync::Arc;

/// One convolution's geometry with the caller's N-d shapes: x [N, C, *in], w [O, C/g, *k],
/// y [N, O, *out]. For a transposed convolution, x is its output and y its input.
pub struct ConvShapes { pub g: ConvGeom, pub x: Shape, pub w: Shape, pub y: Shape }

fn pad3(v: &[usize], fill: usize) -> [usize; 3] {
    let mut a = [fill; 3];
    a[3 - v.len()..].copy_from_slice(v);
    a
}

impl ConvShapes {
    /// Geometry from shapes; `out_sp` is y's spatial size. Errors on any inconsistency.
    pub fn new(x: &[usize], w: &[usize], out_sp: &[usize], stride: &[usize], pad: &[usize], dil: &[usize], groups: usize) -> Result<Arc<ConvShapes>> {
        let nd = x.len().wrapping_sub(2);
        if !(1..=3).contains(&nd) || w.len() != nd + 2 || [out_sp.len(), stride.len(), pad.len(), dil.len()].iter().any(|&l| l != nd) {
            crate::bail!("convolution: expected {}-d spatial arguments, got input {:?}, weight {:?}", nd, x, w);
        }
        if groups == 0 || w[1].checked_mul(groups) != Some(x[1]) {
            crate::bail!("Given groups={}, weight of size {:?}, expected input{:?} to have {} channels, but got {} channels instead", groups, w, x, w[1].saturating_mul(groups), x[1]);
        }
        let g = ConvGeom {
            n: x[0], c: x[1], o: w[0], groups,
            in_sp: pad3(&x[2..], 1), out_sp: pad3(out_sp, 1), k: pad3(&w[2..], 1),
            stride: pad3(stride, 1), pad: pad3(pad, 0), dil: pad3(dil, 1),
        };
        g.validate().map_err(|e| crate::rt_err!("{}", e))?;
        let mut y: Shape = Shape::from_slice(&[x[0], w[0]]);
        y.extend_from_slice(out_sp);
        Ok(Arc::new(ConvShapes { g, x: x.into(), w: w.into(), y }))
    }
}

fn kernel_dtype(dt: DType) -> Result<DType> {
    match dt {
        DType::F64 => Ok(DType::F64),
        DType::F32 | DType::F16 | DType::BF16 => Ok(DType::F32),
        other => crate::bail!("\"slow_conv2d_cpu\" not implemented for '{}'", other.legacy_name()),
    }
}

fn check_dtypes(a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        crate::bail!("Input type ({}) and weight type ({}) should be the same", a.dtype().legacy_name(), b.dtype().legacy_name());
    }
    Ok(())
}

fn bias_grad(g: &Tensor) -> Result<Tensor> {
    let dims: Vec<i64> = (0..g.ndim() as i64).filter(|&d| d != 1).collect();
    reduce::sum(g, Some(&dims), false, None)
}

/// Which inputs need gradients (PyTorch's output_mask), decided when the node is recorded.
fn needs(ts: &[Option<&Tensor>]) -> Vec<bool> { ts.iter().map(|t| t.is_some_and(|t| t.requires_grad())).collect() }

/// y = conv(x, w) + bias.
pub fn conv(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, s: &Arc<ConvShapes>) -> Result<Tensor> {
    check_dtypes(x, w)?;
    if let Some(b) = bias { check_dtypes(x, b)?; }
    let dt = x.dtype();
    let kd = kernel_dtype(dt)?;
    let (xc, wc) = (copy::contiguous_as(x, kd)?, copy::contiguous_as(w, kd)?);
    let bc = bias.map(|b| copy::contiguous_as(b, kd)).transpose()?;
    let be = backend_of(&[x, w])?;
    let y = Tensor::alloc_on(&s.y, kd, be.device(), false)?;
    be.conv_forward(&y, &xc, &wc, bc.as_ref(), &s.g)?;
    let y = copy::contiguous_as(&y, dt)?;
    let mut inputs = vec![x, w];
    inputs.extend(bias);
    if autograd::needs_grad(&inputs) {
        let (s2, need) = (s.clone(), needs(&[Some(x), Some(w), bias]));
        autograd::record("ConvolutionBackward0", &inputs, &[&y], vec![SaveItem::Input(x), SaveItem::Input(w)], Box::new(move |sv, g| {
            let Some(g) = &g[0] else { return Ok(vec![None; need.len()]) };
            let mut r = vec![
                if need[0] { Some(conv_input_grad(g, &sv[1], None, &s2)?) } else { None },
                if need[1] { Some(conv_weight_grad(&sv[0], g, &s2)?) } else { None },
            ];
            if need.len() > 2 { r.push(if need[2] { Some(bias_grad(g)?) } else { None }); }
            Ok(r)
        }));
    }
    Ok(y)
}

/// x-shaped result of the adjoint of conv applied to gy (plus a per-channel bias): a
/// convolution's input gradient, and a transposed convolution's forward.
pub fn conv_input_grad(gy: &Tensor, w: &Tensor, bias: Option<&Tensor>, s: &Arc<ConvShapes>) -> Result<Tensor> {
    check_dtypes(gy, w)?;
    if let Some(b) = bias { check_dtypes(gy, b)?; }
    let dt = gy.dtype();
    let kd = kernel_dtype(dt)?;
    let (gc, wc) = (copy::contiguous_as(gy, kd)?, copy::contiguous_as(w, kd)?);
    let be = backend_of(&[gy, w])?;
    let x = Tensor::alloc_on(&s.x, kd, be.device(), false)?;
    be.conv_input_grad(&x, &gc, &wc, &s.g)?;
    let x = copy::contiguous_as(&x, dt)?;
    if let Some(b) = bias {
        let mut bshape = vec![b.numel() as i64];
        bshape.extend(std::iter::repeat(1).take(s.x.len() - 2));
        let bb = crate::ops::shape::reshape(&b.detach(), &bshape)?;
        crate::ops::binary::add_inplace_raw(&x, &bb)?;
    }
    let mut inputs = vec![gy, w];
    inputs.extend(bias);
    if autograd::needs_grad(&inputs) {
        let (s2, need) = (s.clone(), needs(&[Some(gy), Some(w), bias]));
        autograd::record("ConvolutionBackward0", &inputs, &[&x], vec![SaveItem::Input(gy), SaveItem::Input(w)], Box::new(move |sv, g| {
            let Some(h) = &g[0] else { return Ok(vec![None; need.len()]) };
            let mut r = vec![
                if need[0] { Some(conv(h, &sv[1], None, &s2)?) } else { None },
                if need[1] { Some(conv_weight_grad(h, &sv[0], &s2)?) } else { None },
            ];
            if need.len() > 2 { r.push(if need[2] { Some(bias_grad(h)?) } else { None }); }
            Ok(r)
        }));
    }
    Ok(x)
}

/// w-shaped gradient of conv's weight from its input x and output gradient gy.
pub fn conv_weight_grad(x: &Tensor, gy: &Tensor, s: &Arc<ConvShapes>) -> Result<Tensor> {
    check_dtypes(x, gy)?;
    let dt = x.dtype();
    let kd = kernel_dtype(dt)?;
    let (xc, gc) = (copy::contiguous_as(x, kd)?, copy::contiguous_as(gy, kd)?);
    let be = backend_of(&[x, gy])?;
    let gw = Tensor::alloc_on(&s.w, kd, be.device(), false)?;
    be.conv_weight_grad(&gw, &xc, &gc, &s.g)?;
    let gw = copy::contiguous_as(&gw, dt)?;
    if autograd::needs_grad(&[x, gy]) {
        let (s2, need) = (s.clone(), needs(&[Some(x), Some(gy)]));
        autograd::record("ConvolutionBackwardBackward0", &[x, gy], &[&gw], vec![SaveItem::Input(x), SaveItem::Input(gy)], Box::new(move |sv, g| {
            let Some(h) = &g[0] else { return Ok(vec![None, None]) };
            Ok(vec![
                if need[0] { Some(conv_input_grad(&sv[1], h, None, &s2)?) } else { None },
                if need[1] { Some(conv(&sv[0], h, None, &s2)?) } else { None },
            ])
        }));
    }
    Ok(gw)
}
