//! Fused kernels for the ops every network calls: softmax and log_softmax over one dim.
use crate::autograd::{self, SaveItem};
use crate::dtype::DType;
use crate::error::{wrap_dim, Result};
use crate::ops::binary::{mul, sub};
use crate::ops::{copy, reduce, shape, unary};
use crate::tensor::Tensor;

/// softmax / log_softmax along `dim` (computed in f32 for half types).
pub fn softmax(x: &Tensor, dim: i64, log: bool, dtype: Option<DType>) -> Result<Tensor> {
    let x = match dtype { Some(d) => copy::to_dtype(x, d)?, None => x.clone() };
    let nd = x.ndim();
    let d = wrap_dim(dim, nd)?;
    if !x.dtype().is_float() {
        // PyTorch's kernel names: the last-dim kernel serves a last (or 0-d) dim
        let kernel = if d + 1 >= nd { "_lastdim_kernel_impl" } else { "_kernel_impl" };
        return Err(crate::error::Error::NotImplemented(format!("\"{}{}\" not implemented for '{}'", if log { "log_softmax" } else { "softmax" }, kernel, x.dtype().legacy_name())));
    }
    let kd = x.dtype().compute();
    let moved = if nd == 0 { x.detach() } else { shape::movedim_raw(&x.detach(), d, nd - 1) };
    let src = copy::contiguous_as(&moved, kd)?;
    let len = if nd == 0 { 1 } else { x.shape()[d] };
    let be = backend_of(&[&src])?;
    let work = Tensor::alloc_on(&src.shape(), kd, be.device(), false)?;
    be.softmax(&work, &src, len, log)?;
    let back = if nd == 0 { work } else { shape::movedim_raw(&work, nd - 1, d) };
    let out = copy::contiguous_as(&back, x.dtype())?;
    let out = if out.is_contiguous() { out } else { copy::contiguous_clone(&out)? };
    if autograd::needs_grad(&[&x]) {
        let di = d as i64;
        autograd::record(if log { "LogSoftmaxBackward0" } else { "SoftmaxBackward0" }, &[&x], &[&out], vec![SaveItem::Output(0)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let y = &s[0];
            let nd = y.ndim();
            if !autograd::is_grad_enabled() && nd > 0 && di as usize == nd - 1 && matches!(y.dtype(), DType::F32 | DType::F64) && g.dtype() == y.dtype() {
                // fused row kernel over the last dim
                let len = y.shape()[nd - 1];
                if len > 0 {
                    let dt = y.dtype();
                    let (yc, gc) = (copy::contiguous_as(y, dt)?, copy::contiguous_as(g, dt)?);
                    let sh = y.shape();
                    let be = backend_of(&[&yc, &gc])?;
                    let gx = Tensor::alloc_on(&sh, dt, be.device(), false)?;
                    be.softmax_backward(&gx, &yc, &gc, len, log)?;
                    return Ok(vec![Some(gx)]);
                }
            }
            let gi = if log {
                // g - softmax * sum(g)
                let sm = unary::unary(unary::UnaryOp::Exp, y)?;
                sub(g, &mul(&sm, &reduce::sum(g, Some(&[di]), true, None)?)?)?
            } else {
                let gy = mul(g, y)?;
                sub(&gy, &mul(y, &reduce::sum(&gy, Some(&[di]), true, None)?)?)?
            };
            Ok(vec![Some(gi)])
        }));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Native nn ops: one autograd node each. A backward closure runs its fused kernel when grad
// mode is off (the usual backward) and a composite of differentiable ops under
// `create_graph=True`, so higher-order gradients stay exact.

use crate::backend::backend_of;
use crate::backend::nn::{AttnGeom, AttnMaskArg, BatchNormGeom, LstmGeom};
use crate::error::Error;
use crate::ops::binary::{add, add_s, mul_s, BinOp, Operand};

fn float_kernel_dtype(x: &Tensor, what: &str) -> Result<DType> {
    match x.dtype() {
        DType::F32 | DType::F64 => Ok(x.dtype()),
        d => Err(Error::NotImplemented(format!("\"{}\" not implemented for '{}'", what, d.legacy_name()))),
    }
}

fn same_dtype(a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        crate::bail!("expected scalar type {} but found {}", a.dtype().legacy_name(), b.dtype().legacy_name());
    }
    Ok(())
}

/// Sums `g` over its leading `lead` dims.
fn sum_leading(g: &Tensor, lead: usize) -> Result<Tensor> {
    if lead == 0 { return Ok(g.clone()); }
    let dims: Vec<i64> = (0..lead as i64).collect();
    reduce::sum(g, Some(&dims), false, None)
}

/// `F.layer_norm` over the last `k` dims (f32/f64; the Python layer routes half types through f32).
pub fn layer_norm(x: &Tensor, k_dims: usize, w: Option<&Tensor>, b: Option<&Tensor>, eps: f64) -> Result<Tensor> {
    let dt = float_kernel_dtype(x, "LayerNormKernelImpl")?;
    for p in [w, b].into_iter().flatten() { same_dtype(x, p)?; }
    let sh = x.shape();
    if k_dims == 0 || k_dims > sh.len() { crate::bail!("layer_norm: bad normalized ndim {} for input of size {:?}", k_dims, sh); }
    let len: usize = sh[sh.len() - k_dims..].iter().product();
    let rows: usize = sh[..sh.len() - k_dims].iter().product();
    let xc = copy::contiguous_as(x, dt)?;
    let (wc, bc) = (w.map(|t| copy::contiguous_as(t, dt)).transpose()?, b.map(|t| copy::contiguous_as(t, dt)).transpose()?);
    let be = backend_of(&[x])?;
    let alloc = |shape: &[usize]| Tensor::alloc_on(shape, dt, be.device(), false);
    let (mean, rstd, y) = (alloc(&[rows])?, alloc(&[rows])?, alloc(&sh)?);
    be.layer_norm(&y, &mean, &rstd, &xc, wc.as_ref(), bc.as_ref(), len, eps)?;
    let mut inputs = vec![x];
    inputs.extend(w);
    inputs.extend(b);
    if autograd::needs_grad(&inputs) {
        let (has_w, has_b) = (w.is_some(), b.is_some());
        let need: Vec<bool> = inputs.iter().map(|t| t.requires_grad()).collect();
        let mut save = vec![SaveItem::Input(x), SaveItem::Value(mean), SaveItem::Value(rstd)];
        if let Some(w) = w { save.push(SaveItem::Input(w)); }
        autograd::record("NativeLayerNormBackward0", &inputs, &[&y], save, Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None; need.len()]) };
            let (x, mean, rstd) = (&s[0], &s[1], &s[2]);
            let w = if has_w { Some(&s[3]) } else { None };
            let lead = x.ndim() - k_dims;
            let (gx, gw, gb) = if autograd::is_grad_enabled() {
                layer_norm_backward_composite(g, x, w, k_dims, eps, need[0])?
            } else {
                let dt = x.dtype();
                let (xc, gc) = (copy::contiguous_as(x, dt)?, copy::contiguous_as(g, dt)?);
                let wc = w.map(|t| copy::contiguous_as(t, dt)).transpose()?;
                let xs = x.shape();
                let wshape: Vec<usize> = xs[lead..].to_vec();
                let want_w = has_w && need[1];
                let want_b = has_b && need[if has_w { 2 } else { 1 }];
                let be = backend_of(&[&xc, &gc])?;
                let alloc = |want: bool, shape: &[usize]| want.then(|| Tensor::alloc_on(shape, dt, be.device(), false)).transpose();
                let (gx, gw, gb) = (alloc(need[0], &xs)?, alloc(want_w, &wshape)?, alloc(want_b, &wshape)?);
                be.layer_norm_backward(gx.as_ref(), gw.as_ref(), gb.as_ref(), &gc, &xc, mean, rstd, wc.as_ref(), len)?;
                (gx, gw, gb)
            };
            let mut r = vec![gx];
            if has_w { r.push(gw); }
            if has_b { r.push(gb); }
            Ok(r)
        }));
    }
    Ok(y)
}

/// Layer norm's first derivative written with differentiable ops (used under create_graph).
fn layer_norm_backward_composite(g: &Tensor, x: &Tensor, w: Option<&Tensor>, k_dims: usize, eps: f64, want_x: bool) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
    let nd = x.ndim();
    let dims: Vec<i64> = ((nd - k_dims) as i64..nd as i64).collect();
    let mu = reduce::mean(x, Some(&dims), true, None)?;
    let xc = sub(x, &mu)?;
    let var = reduce::mean(&mul(&xc, &xc)?, Some(&dims), true, None)?;
    let rs = unary::unary(unary::UnaryOp::Rsqrt, &add_s(&var, eps)?)?;
    let xhat = mul(&xc, &rs)?;
    let gh = match w { Some(w) => mul(g, w)?, None => g.clone() };
    let gx = if want_x {
        let m1 = reduce::mean(&gh, Some(&dims), true, None)?;
        let m2 = reduce::mean(&mul(&gh, &xhat)?, Some(&dims), true, None)?;
        Some(mul(&rs, &sub(&sub(&gh, &m1)?, &mul(&xhat, &m2)?)?)?)
    } else { None };
    let lead = nd - k_dims;
    Ok((gx, Some(sum_leading(&mul(g, &xhat)?, lead)?), Some(sum_leading(g, lead)?)))
}

/// `F.gelu(x, approximate)` for f32/f64.
pub fn gelu(x: &Tensor, tanh: bool) -> Result<Tensor> {
    let dt = float_kernel_dtype(x, "GeluKernelImpl")?;
    let xc = copy::contiguous_as(x, dt)?;
    let sh = x.shape();
    let be = backend_of(&[x])?;
    let y = Tensor::alloc_on(&sh, dt, be.device(), false)?;
    be.gelu(&y, &xc, tanh)?;
    if autograd::needs_grad(&[x]) {
        autograd::record("GeluBackward0", &[x], &[&y], vec![SaveItem::Input(x)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let x = &s[0];
            if autograd::is_grad_enabled() {
                return Ok(vec![Some(mul(g, &gelu_derivative_composite(x, tanh)?)?)]);
            }
            let dt = x.dtype();
            let (xc, gc) = (copy::contiguous_as(x, dt)?, copy::contiguous_as(g, dt)?);
            let sh = x.shape();
            let be = backend_of(&[&xc, &gc])?;
            let gx = Tensor::alloc_on(&sh, dt, be.device(), false)?;
            be.gelu_backward(&gx, &gc, &xc, tanh)?;
            Ok(vec![Some(gx)])
        }));
    }
    Ok(y)
}

/// SiLU in one pass forward and backward (float32/float64; the Python layer composes the
/// rest); a backward that records a graph (create_graph) uses differentiable ops.
pub fn silu(x: &Tensor) -> Result<Tensor> {
    let dt = float_kernel_dtype(x, "silu_cpu")?;
    let xc = copy::contiguous_as(x, dt)?;
    let sh = x.shape();
    let be = backend_of(&[x])?;
    let y = Tensor::alloc_on(&sh, dt, be.device(), false)?;
    be.silu(&y, &xc)?;
    if autograd::needs_grad(&[x]) {
        autograd::record("SiluBackward0", &[x], &[&y], vec![SaveItem::Input(x)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let x = &s[0];
            if autograd::is_grad_enabled() {
                use unary::{unary as u, UnaryOp as U};
                let sg = u(U::Sigmoid, x)?;
                let d = mul(&sg, &add_s(&mul(x, &crate::ops::binary::rsub_s(1.0, &sg)?)?, 1.0)?)?;
                return Ok(vec![Some(mul(g, &d)?)]);
            }
            let dt = x.dtype();
            let (xc, gc) = (copy::contiguous_as(x, dt)?, copy::contiguous_as(g, dt)?);
            let be = backend_of(&[&xc, &gc])?;
            let gx = Tensor::alloc_on(&x.shape(), dt, be.device(), false)?;
            be.silu_backward(&gx, &gc, &xc)?;
            Ok(vec![Some(gx)])
        }));
    }
    Ok(y)
}

/// gelu'(x) with differentiable ops.
fn gelu_derivative_composite(x: &Tensor, tanh: bool) -> Result<Tensor> {
    use unary::{unary as u, UnaryOp as U};
    if tanh {
        let (kb, kk) = (0.797_884_560_802_865_4, 0.044715);
        let x2 = mul(x, x)?;
        let inner = mul_s(&add(x, &mul_s(&mul(&x2, x)?, kk)?)?, kb)?;
        let t = u(U::Tanh, &inner)?;
        let left = mul_s(&add_s(&t, 1.0)?, 0.5)?;
        let sech2 = crate::ops::binary::rsub_s(1.0, &mul(&t, &t)?)?;
        let right = mul(&mul_s(&mul(x, &sech2)?, 0.5 * kb)?, &add_s(&mul_s(&x2, 3.0 * kk)?, 1.0)?)?;
        add(&left, &right)
    } else {
        let cdf = mul_s(&add_s(&u(U::Erf, &mul_s(x, std::f64::consts::FRAC_1_SQRT_2)?)?, 1.0)?, 0.5)?;
        let pdf = mul_s(&u(U::Exp, &mul_s(&mul(x, x)?, -0.5)?)?, 0.398_942_280_401_432_7)?;
        add(&cdf, &mul(x, &pdf)?)
    }
}

/// Reduction of a loss: PyTorch's enum order (none, mean, sum).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reduction { None, Mean, Sum }

/// `F.nll_loss` on log-probabilities x [N, C] or [N, C, *rest] (classes at dim 1) with int64
/// class targets [N] / [N, *rest].
pub fn nll_loss(x: &Tensor, target: &Tensor, weight: Option<&Tensor>, ignore_index: i64, red: Reduction) -> Result<Tensor> {
    let dt = float_kernel_dtype(x, "nll_loss_out_frame")?;
    if let Some(w) = weight { same_dtype(x, w)?; }
    let sh = x.shape();
    if sh.len() < 2 { crate::bail!("nll_loss: expected input of at least 2 dims, got {:?}", sh); }
    let c = sh[1];
    let rows = sh[0] * sh[2..].iter().product::<usize>();
    if target.dtype() != DType::I64 || target.numel() != rows {
        crate::bail!("nll_loss: expected an int64 target with {} elements, got {} {:?}", rows, target.dtype().name(), target.shape());
    }
    // rows of class scores: [N * rest, C]
    let x2 = if sh.len() == 2 { copy::contiguous_as(x, dt)? } else {
        let m = shape::movedim_raw(&x.detach(), 1, sh.len() - 1);
        copy::contiguous_clone(&copy::contiguous_as(&m, dt)?)?
    };
    let tc = copy::contiguous_as(target, DType::I64)?;
    let wc = weight.map(|w| copy::contiguous_as(w, dt)).transpose()?;
    if wc.as_ref().is_some_and(|w| w.numel() != c) { crate::bail!("weight tensor should be defined either for all {} classes or no classes", c); }
    let be = backend_of(&[x, target])?;
    let (lv, rw_t) = (Tensor::alloc_on(&[rows], dt, be.device(), false)?, Tensor::alloc_on(&[rows], dt, be.device(), false)?);
    be.nll_loss(&lv, &rw_t, &x2, &tc, wc.as_ref(), ignore_index)?;
    // the reductions in f64, as PyTorch accumulates them
    let total = |t: &Tensor| -> Result<f64> { Ok(reduce::sum(t, None, false, Some(DType::F64))?.to_vec::<f64>()?[0]) };
    let denom = total(&rw_t)?;
    let loss = match red {
        Reduction::None => { let mut ls: Vec<usize> = vec![sh[0]]; ls.extend_from_slice(&sh[2..]); shape::reshape_raw(&lv, &ls) }
        Reduction::Sum => copy::contiguous_as(&Tensor::scalar_tensor(total(&lv)?)?, dt)?,
        Reduction::Mean => copy::contiguous_as(&Tensor::scalar_tensor(total(&lv)? / denom)?, dt)?,
    };
    if autograd::needs_grad(&[x]) {
        let name = if sh.len() == 2 { "NllLossBackward0" } else { "NllLoss2DBackward0" };
        let xshape = sh.clone();
        autograd::record(name, &[x], &[&loss], vec![SaveItem::Value(rw_t), SaveItem::Input(x)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let rw = &s[0];
            let dt = rw.dtype();
            let scale = if red == Reduction::Mean { 1.0 / denom } else { 1.0 };
            // d loss / d x as a constant coefficient tensor times g: linear in g, so the
            // product stays differentiable under create_graph
            let be = backend_of(&[rw, &tc])?;
            let coef = Tensor::alloc_on(&[rows, c], dt, be.device(), false)?;
            be.nll_grad_coef(&coef, &tc, rw, scale)?;
            let coef = if xshape.len() == 2 { coef } else {
                let mut rs: Vec<usize> = vec![xshape[0]]; rs.extend_from_slice(&xshape[2..]); rs.push(c);
                copy::contiguous_clone(&shape::movedim_raw(&shape::reshape_raw(&coef, &rs), xshape.len() - 1, 1))?
            };
            let gb = if red == Reduction::None { shape::unsqueeze(g, 1)? } else { g.clone() };
            let gx = { let _off = autograd::GradMode::set(false); mul(&coef, &gb)? };
            if autograd::needs_grad(&[g, &s[1]]) {
                // linear in g; its derivative in x is zero (PyTorch's nll_loss_double_backward)
                let gshape = g.shape();
                autograd::record("NllLossBackwardBackward0", &[g, &s[1]], &[&gx], vec![], Box::new(move |_, h| {
                    let Some(h) = &h[0] else { return Ok(vec![None, None]) };
                    let p = mul(h, &coef)?;
                    let gg = if red == Reduction::None { reduce::sum(&p, Some(&[1]), false, None)? } else { reduce::sum(&p, None, false, None)? };
                    Ok(vec![Some(shape::reshape_raw(&gg, &gshape)), None])
                }));
            }
            Ok(vec![Some(gx)])
        }));
    }
    Ok(loss)
}

use std::sync::Arc;


/// `F.linear` on a 2-D input: y = x @ w^T (+ b) as one node (AddmmBackward0 / MmBackward0),
/// with gradients computed as products that need no transposed copies.
pub fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    // float16 / bfloat16 run in the dtype the backend computes their products in (f32, or
    // bf16 on AMX), then round once, as PyTorch's addmm does
    let dt = match x.dtype() { DType::F16 | DType::BF16 => x.dtype(), _ => float_kernel_dtype(x, "addmm_impl_cpu_")? };
    same_dtype(x, w)?;
    if let Some(b) = b { same_dtype(x, b)?; }
    let (xs, ws) = (x.shape(), w.shape());
    if xs.len() != 2 || ws.len() != 2 || xs[1] != ws[1] {
        crate::bail!("mat1 and mat2 shapes cannot be multiplied ({}x{} and {}x{})", xs.first().copied().unwrap_or(0), xs.get(1).copied().unwrap_or(0), ws.get(1).copied().unwrap_or(0), ws.first().copied().unwrap_or(0));
    }
    let (m, n) = (xs[0], ws[0]);
    if let Some(b) = b { if b.numel() != n || b.ndim() > 1 { crate::bail!("linear: bias of size {:?} for {} outputs", b.shape(), n); } }
    let be = backend_of(&[x, w])?;
    let kd = be.matmul_dtype(dt, m, n, xs[1]);
    let (xc, wc) = (copy::contiguous_as(x, kd)?, copy::contiguous_as(w, kd)?);
    let bc = b.map(|t| copy::contiguous_as(t, kd)).transpose()?;
    let yk = Tensor::alloc_on(&[m, n], kd, be.device(), false)?;
    be.linear(&yk, &xc, &wc, bc.as_ref())?;
    let y = if kd == dt { yk } else { copy::contiguous_as(&yk, dt)? };
    let mut inputs = vec![x, w];
    inputs.extend(b);
    if autograd::needs_grad(&inputs) {
        let need: Vec<bool> = inputs.iter().map(|t| t.requires_grad()).collect();
        let name = if b.is_some() { "AddmmBackward0" } else { "MmBackward0" };
        autograd::record(name, &inputs, &[&y], vec![SaveItem::Input(x), SaveItem::Input(w)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None; need.len()]) };
            let (x, w) = (&s[0], &s[1]);
            let mut r = vec![
                if need[0] { Some(crate::ops::linalg::mm(g, w)?) } else { None },
                if need[1] { Some(crate::ops::linalg::mm(&shape::t(g)?, x)?) } else { None },
            ];
            if need.len() > 2 { r.push(if need[2] { Some(reduce::sum(g, Some(&[0]), false, None)?) } else { None }); }
            Ok(r)
        }));
    }
    Ok(y)
}

/// `nn.RNNCell` step as one node: y = act(x @ w_ih^T + b_ih + h @ w_hh^T + b_hh), act = tanh or
/// relu. Backward (written with differentiable ops): gpre = g * act'(y), then the four products.
#[allow(clippy::too_many_arguments)]
pub fn rnn_cell(x: &Tensor, h: &Tensor, w_ih: &Tensor, w_hh: &Tensor, b_ih: Option<&Tensor>, b_hh: Option<&Tensor>, relu: bool) -> Result<Tensor> {
    let dt = float_kernel_dtype(x, "addmm_impl_cpu_")?;
    for t in [h, w_ih, w_hh].into_iter().chain(b_ih).chain(b_hh) { same_dtype(x, t)?; }
    let (xs, hs, wis, whs) = (x.shape(), h.shape(), w_ih.shape(), w_hh.shape());
    if xs.len() != 2 || hs.len() != 2 || wis.len() != 2 || whs.len() != 2 || xs[0] != hs[0] || wis[1] != xs[1] || whs[1] != hs[1] || wis[0] != hs[1] || whs[0] != hs[1] {
        crate::bail!("rnn_cell: incompatible shapes input {:?}, hidden {:?}, weight_ih {:?}, weight_hh {:?}", xs, hs, wis, whs);
    }
    let (m, n) = (xs[0], hs[1]);
    for b in [b_ih, b_hh].into_iter().flatten() { if b.numel() != n { crate::bail!("rnn_cell: bias of size {:?} for hidden size {}", b.shape(), n); } }
    let cs: Vec<Tensor> = [x, h, w_ih, w_hh].iter().map(|t| copy::contiguous_as(t, dt)).collect::<Result<_>>()?;
    let bias = |b: Option<&Tensor>| b.map(|t| copy::contiguous_as(t, dt)).transpose();
    let (bi, bh) = (bias(b_ih)?, bias(b_hh)?);
    let be = backend_of(&[x, h, w_ih, w_hh])?;
    let y = Tensor::alloc_on(&[m, n], dt, be.device(), false)?;
    be.rnn_cell(&y, &cs[0], &cs[1], &cs[2], &cs[3], bi.as_ref(), bh.as_ref(), relu)?;
    let mut inputs = vec![x, h, w_ih, w_hh];
    inputs.extend(b_ih);
    inputs.extend(b_hh);
    if autograd::needs_grad(&inputs) {
        let need: Vec<bool> = inputs.iter().map(|t| t.requires_grad()).collect();
        let n_bias = need.len() - 4;
        autograd::record(if relu { "ReluBackward0" } else { "TanhBackward0" }, &inputs, &[&y],
            vec![SaveItem::Input(x), SaveItem::Input(h), SaveItem::Input(w_ih), SaveItem::Input(w_hh), SaveItem::Output(0)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None; need.len()]) };
            let (x, h, wi, wh, y) = (&s[0], &s[1], &s[2], &s[3], &s[4]);
            let gpre = if !autograd::is_grad_enabled() && g.dtype() == y.dtype() {
                // one fused pass each unless backward records a graph
                let op = if relu { BinOp::ReluGrad } else { BinOp::TanhGrad };
                crate::ops::binary::binary(op, &Operand::T(g.clone()), &Operand::T(y.clone()), 1.0)?
            } else if relu {
                let mask = crate::ops::binary::gt_s(y, 0.0)?;
                mul(g, &copy::to_dtype(&mask, g.dtype())?)?
            } else {
                mul(g, &crate::ops::binary::rsub_s(1.0, &mul(y, y)?)?)?
            };
            let mm = crate::ops::linalg::mm;
            let gt = shape::t(&gpre)?;
            let mut r = vec![
                if need[0] { Some(mm(&gpre, wi)?) } else { None },
                if need[1] { Some(mm(&gpre, wh)?) } else { None },
                if need[2] { Some(mm(&gt, x)?) } else { None },
                if need[3] { Some(mm(&gt, h)?) } else { None },
            ];
            // both biases get the same row sum: computed once
            let gb = if need[4..].iter().any(|&b| b) { Some(reduce::sum(&gpre, Some(&[0]), false, None)?) } else { None };
            for i in 0..n_bias { r.push(if need[4 + i] { gb.clone() } else { None }); }
            Ok(r)
        }));
    }
    Ok(y)
}

/// `F.scaled_dot_product_attention` on 4-D q [B, H, L, E], k [B, H, S, E], v [B, H, S, Ev]
/// (f32/f64, no dropout) with an optional additive float mask broadcastable to [B, H, L, S]:
/// one node (PyTorch's name for its CPU flash kernel), memory-efficient kernels in
/// the device's `NnKernels::attention`, composite backward under create_graph.
pub fn sdpa(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, causal: bool, scale: f64) -> Result<Tensor> {
    let dt = float_kernel_dtype(q, "scaled_dot_product_attention")?;
    for t in [k, v].into_iter().chain(mask) { same_dtype(q, t)?; }
    let (qs, ks, vs) = (q.shape(), k.shape(), v.shape());
    if qs.len() != 4 || ks.len() != 4 || vs.len() != 4 || qs[..2] != ks[..2] || qs[..2] != vs[..2] || qs[3] != ks[3] || ks[2] != vs[2] {
        crate::bail!("scaled_dot_product_attention: incompatible shapes query {:?}, key {:?}, value {:?}", qs, ks, vs);
    }
    let g = AttnGeom { b: qs[0] * qs[1], l: qs[2], s: ks[2], e: qs[3], ev: vs[3], scale, causal, masked_rows_zero: true };
    // mask: full [L, S] matrices, one offset per (batch, head) through broadcast strides
    let (mask_t, offsets) = match mask {
        None => (None, vec![]),
        Some(m) => {
            let ms = m.shape();
            if ms.len() > 4 { crate::bail!("scaled_dot_product_attention: attn_mask of size {:?}", ms); }
            let mut full: Vec<usize> = vec![1; 4 - ms.len()];
            full.extend_from_slice(&ms);
            let lead = [if full[0] == 1 { 1 } else { qs[0] }, if full[1] == 1 { 1 } else { qs[1] }];
            if (full[0] != 1 && full[0] != qs[0]) || (full[1] != 1 && full[1] != qs[1]) || (full[2] != 1 && full[2] != g.l) || (full[3] != 1 && full[3] != g.s) {
                crate::bail!("The size of tensor a ({:?}) must match the size of tensor b ([{}, {}, {}, {}])", ms, qs[0], qs[1], g.l, g.s);
            }
            let m4 = shape::reshape_raw(&m.detach(), &full);
            let e = shape::expand(&m4, &[lead[0] as i64, lead[1] as i64, g.l as i64, g.s as i64])?;
            let mc = copy::contiguous_clone(&copy::contiguous_as(&e, dt)?)?;
            let plane = g.l * g.s;
            let offs: Vec<usize> = (0..g.b).map(|i| {
                let (bb, hh) = (i / qs[1], i % qs[1]);
                ((if lead[0] == 1 { 0 } else { bb }) * lead[1] + if lead[1] == 1 { 0 } else { hh }) * plane
            }).collect();
            (Some(mc), offs)
        }
    };
    let cs: Vec<Tensor> = [q, k, v].iter().map(|t| copy::contiguous_as(t, dt)).collect::<Result<_>>()?;
    let be = backend_of(&[q, k, v])?;
    let (o, lse) = (Tensor::alloc_on(&[qs[0], qs[1], g.l, g.ev], dt, be.device(), false)?, Tensor::alloc_on(&[g.b * g.l], dt, be.device(), false)?);
    let am = mask_t.as_ref().map(|d| AttnMaskArg { data: d, offsets: &offsets });
    be.attention(&o, &lse, &cs[0], &cs[1], &cs[2], am.as_ref(), &g)?;
    if autograd::needs_grad(&[q, k, v]) {
        let need = [q.requires_grad(), k.requires_grad(), v.requires_grad()];
        let mut save = vec![SaveItem::Input(q), SaveItem::Input(k), SaveItem::Input(v), SaveItem::Output(0), SaveItem::Value(lse)];
        if let Some(m) = &mask_t { save.push(SaveItem::Value(m.clone())); }
        let offsets = Arc::new(offsets);
        // PyTorch runs its flash kernel when the value and query head dims agree, the math path
        // (whose last node is a view) otherwise
        let name = if g.e == g.ev { "ScaledDotProductFlashAttentionForCpuBackward0" } else { "UnsafeViewBackward0" };
        autograd::record(name, &[q, k, v], &[&o], save, Box::new(move |s, gr| {
            let Some(d_o) = &gr[0] else { return Ok(vec![None, None, None]) };
            let (q, k, v, o, lse) = (&s[0], &s[1], &s[2], &s[3], &s[4]);
            let m = s.get(5);
            if autograd::is_grad_enabled() {
                let (gq, gk, gv) = sdpa_backward_composite(q, k, v, m, causal, scale, d_o)?;
                return Ok(vec![need[0].then_some(gq), need[1].then_some(gk), need[2].then_some(gv)]);
            }
            let dt = q.dtype();
            let cs: Vec<Tensor> = [q, k, v, o, d_o].iter().map(|t| copy::contiguous_as(t, dt)).collect::<Result<_>>()?;
            let be = backend_of(&[q, k, v, d_o])?;
            let alloc = |t: &Tensor| Tensor::alloc_on(&t.shape(), dt, be.device(), false);
            let (gq, gk, gv) = (alloc(q)?, alloc(k)?, alloc(v)?);
            let am = m.map(|d| AttnMaskArg { data: d, offsets: &offsets });
            be.attention_backward(&gq, &gk, &gv, &cs[0], &cs[1], &cs[2], &cs[3], lse, &cs[4], am.as_ref(), &g)?;
            Ok(vec![need[0].then_some(gq), need[1].then_some(gk), need[2].then_some(gv)])
        }));
    }
    Ok(o)
}

/// Attention gradients written with differentiable ops (used under create_graph).
#[allow(clippy::too_many_arguments)]
fn sdpa_backward_composite(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, causal: bool, scale: f64, d_o: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    use crate::ops::linalg::matmul;
    let kt = shape::transpose(k, -2, -1)?;
    let mut sc = mul_s(&matmul(q, &kt)?, scale)?;
    let (l, s) = (q.shape()[2], k.shape()[2]);
    if let Some(m) = mask { sc = add(&sc, m)?; }
    if causal {
        let cm: Vec<f64> = (0..l * s).map(|x| if x % s > x / s { f64::NEG_INFINITY } else { 0.0 }).collect();
        let cm = copy::contiguous_as(&Tensor::from_vec(cm, &[l, s])?, q.dtype())?;
        sc = add(&sc, &cm)?;
    }
    // safe softmax, as in the forward kernel: a row with every key masked attends to nothing
    let dead = {
        let _off = autograd::GradMode::set(false);
        let mx = reduce::amax(&sc.detach(), Some(&[-1]), true, reduce::Extreme::Max, "amax")?;
        crate::ops::binary::binary(crate::ops::binary::BinOp::Eq, &crate::ops::binary::Operand::T(mx), &crate::ops::binary::Operand::S(crate::dtype::Scalar::Float(f64::NEG_INFINITY)), 1.0)?
    };
    let p = crate::ops::binary::where_mask_fill(&softmax(&sc, -1, false, None)?, &dead, 0.0)?;
    let gv = matmul(&shape::transpose(&p, -2, -1)?, d_o)?;
    let dp = matmul(d_o, &shape::transpose(v, -2, -1)?)?;
    let ds = mul(&p, &sub(&dp, &reduce::sum(&mul(&dp, &p)?, Some(&[-1]), true, None)?)?)?;
    let gq = mul_s(&matmul(&ds, k)?, scale)?;
    let gk = mul_s(&matmul(&shape::transpose(&ds, -2, -1)?, q)?, scale)?;
    Ok((gq, gk, gv))
}

/// `F.batch_norm` on x [N, C, *sp] (f32/f64): batch statistics when `running` is None (and
/// returns them: mean and unbiased variance, for the caller's running-stat update), else the
/// given running mean and variance. One NativeBatchNormBackward0 node.
pub fn batch_norm(x: &Tensor, w: Option<&Tensor>, b: Option<&Tensor>, running: Option<(&Tensor, &Tensor)>, eps: f64) -> Result<(Tensor, Option<(Tensor, Tensor)>)> {
    let dt = float_kernel_dtype(x, "batch_norm")?;
    for t in [w, b].into_iter().flatten() { same_dtype(x, t)?; }
    let sh = x.shape();
    if sh.len() < 2 { crate::bail!("batch_norm: expected at least 2 dims, got {:?}", sh); }
    let (n, c) = (sh[0], sh[1]);
    let p: usize = sh[2..].iter().product();
    for t in [w, b].into_iter().flatten().chain(running.into_iter().flat_map(|(a, b)| [a, b])) {
        if t.numel() != c { crate::bail!("batch_norm: expected {} elements, got {:?}", c, t.shape()); }
    }
    let train = running.is_none();
    let geom = BatchNormGeom { n, c, p };
    let xc = copy::contiguous_as(x, dt)?;
    let (mean, var): (Vec<f64>, Vec<f64>) = match running {
        Some((rm, rv)) => (copy::contiguous_as(rm, DType::F64)?.to_vec::<f64>()?, copy::contiguous_as(rv, DType::F64)?.to_vec::<f64>()?),
        None => backend_of(&[x])?.batch_norm_stats(&xc, geom)?,
    };
    let rstd: Vec<f64> = var.iter().map(|&v| 1.0 / (v + eps).sqrt()).collect();
    let (wc, bc) = (w.map(|t| copy::contiguous_as(t, dt)).transpose()?, b.map(|t| copy::contiguous_as(t, dt)).transpose()?);
    let y = if c == 0 || p == 0 || n == 0 { Tensor::alloc_on(&sh, dt, x.device(), true)? } else {
        let be = backend_of(&[x])?;
        let y = Tensor::alloc_on(&sh, dt, be.device(), false)?;
        be.batch_norm(&y, &xc, geom, &mean, &rstd, wc.as_ref(), bc.as_ref())?;
        y
    };
    let stats = if train {
        let m = (n * p) as f64;
        let unbiased: Vec<f64> = var.iter().map(|&v| if m > 1.0 { v * m / (m - 1.0) } else { f64::NAN }).collect();
        Some((copy::contiguous_as(&Tensor::from_vec(mean.clone(), &[c])?, dt)?, copy::contiguous_as(&Tensor::from_vec(unbiased, &[c])?, dt)?))
    } else { None };
    let mut inputs = vec![x];
    inputs.extend(w);
    inputs.extend(b);
    if autograd::needs_grad(&inputs) {
        let (has_w, has_b) = (w.is_some(), b.is_some());
        let need: Vec<bool> = inputs.iter().map(|t| t.requires_grad()).collect();
        let mut save = vec![SaveItem::Input(x)];
        if let Some(w) = w { save.push(SaveItem::Input(w)); }
        let (mean, rstd) = (Arc::new(mean), Arc::new(rstd));
        autograd::record("NativeBatchNormBackward0", &inputs, &[&y], save, Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None; need.len()]) };
            let (x, w) = (&s[0], if has_w { Some(&s[1]) } else { None });
            let (gx, gw, gb) = if autograd::is_grad_enabled() {
                batch_norm_backward_composite(g, x, w, train, &mean, &rstd, eps, need[0])?
            } else {
                let dt = x.dtype();
                let xs = x.shape();
                let (xc, gc) = (copy::contiguous_as(x, dt)?, copy::contiguous_as(g, dt)?);
                let wc = w.map(|t| copy::contiguous_as(t, dt)).transpose()?;
                let be = backend_of(&[&xc, &gc])?;
                let gx = need[0].then(|| Tensor::alloc_on(&xs, dt, be.device(), false)).transpose()?;
                let (sw, sb) = be.batch_norm_backward(gx.as_ref(), &gc, &xc, geom, &mean, &rstd, wc.as_ref(), train)?;
                let to = |v: Vec<f64>| -> Result<Tensor> { copy::contiguous_as(&Tensor::from_vec(v, &[c])?, dt) };
                (gx, Some(to(sw)?), Some(to(sb)?))
            };
            let mut r = vec![gx];
            if has_w { r.push(if need[1] { gw } else { None }); }
            if has_b { r.push(if need[r.len()] { gb } else { None }); }
            Ok(r)
        }));
    }
    Ok((y, stats))
}

/// Batch norm's first derivative with differentiable ops (used under create_graph).
#[allow(clippy::too_many_arguments)]
fn batch_norm_backward_composite(g: &Tensor, x: &Tensor, w: Option<&Tensor>, train: bool, mean: &[f64], rstd: &[f64], eps: f64, want_x: bool) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
    let nd = x.ndim();
    let c = x.shape()[1];
    let dims: Vec<i64> = std::iter::once(0).chain(2..nd as i64).collect();
    let mut cshape = vec![1i64; nd];
    cshape[1] = c as i64;
    let dt = x.dtype();
    let (xc, rs) = if train {
        let mu = reduce::mean(x, Some(&dims), true, None)?;
        let xc = sub(x, &mu)?;
        let var = reduce::mean(&mul(&xc, &xc)?, Some(&dims), true, None)?;
        (xc, unary::unary(unary::UnaryOp::Rsqrt, &add_s(&var, eps)?)?)
    } else {
        let mu = shape::reshape(&copy::contiguous_as(&Tensor::from_vec(mean.to_vec(), &[c])?, dt)?, &cshape)?;
        (sub(x, &mu)?, shape::reshape(&copy::contiguous_as(&Tensor::from_vec(rstd.to_vec(), &[c])?, dt)?, &cshape)?)
    };
    let xhat = mul(&xc, &rs)?;
    let wb = w.map(|w| shape::reshape(w, &cshape)).transpose()?;
    let gh = match &wb { Some(w) => mul(g, w)?, None => g.clone() };
    let gx = if !want_x { None } else if train {
        let m1 = reduce::mean(&gh, Some(&dims), true, None)?;
        let m2 = reduce::mean(&mul(&gh, &xhat)?, Some(&dims), true, None)?;
        Some(mul(&rs, &sub(&sub(&gh, &m1)?, &mul(&xhat, &m2)?)?)?)
    } else { Some(mul(&gh, &rs)?) };
    Ok((gx, Some(reduce::sum(&mul(g, &xhat)?, Some(&dims), false, None)?), Some(reduce::sum(g, Some(&dims), false, None)?)))
}

/// A fresh copy of the last step of a [T, B, H] sequence (T > 0): the layer's final state,
/// an output of its own (no view of the sequence output).
fn last_step(seq: &Tensor, t_len: usize) -> Result<Tensor> {
    copy::contiguous_clone(&shape::select(seq, 0, t_len as i64 - 1)?)
}

/// What a fused recurrent layer's backward starts from: every step's output gradient [T, B, H]
/// (zeros when absent), h_n's gradient and the saved tensors, contiguous in the saved dtype.
/// Refuses double backward (the kernels record no graph), naming the flag that avoids them.
fn layer_grads(layer: &str, flag: &str, s: &[Tensor], g: &[Option<Tensor>], seq: [usize; 3]) -> Result<(Tensor, Option<Tensor>, Vec<Tensor>)> {
    if autograd::is_grad_enabled() {
        return Err(Error::Runtime(format!("double backward through nn.{layer}'s fused layer is not supported; set ferrotorch.nn.modules.rnn.{flag} = False to run the recurrence as tensor ops")));
    }
    let dt = s[0].dtype();
    let dhs = match &g[0] { Some(d) => copy::contiguous_as(d, dt)?, None => Tensor::alloc_on(&seq, dt, s[0].device(), true)? };
    let dh_n = g[1].as_ref().map(|d| copy::contiguous_as(d, dt)).transpose()?;
    let saved = s.iter().map(|t| copy::contiguous_as(t, dt)).collect::<Result<_>>()?;
    Ok((dhs, dh_n, saved))
}

/// One direction of one `nn.LSTM` layer over the whole sequence as one node, the time loop in
/// Rust (the device's `NnKernels::lstm`). `xg` [T, B, 4H] holds the input projections with both biases, `h0`, `c0`
/// [B, H], `w_hh` [4H, H]. Returns (every step's hidden state [T, B, H], h_n, c_n). Backward
/// runs backpropagation through time natively; it records no graph, so double backward raises
/// (as PyTorch's fused cuDNN LSTM does).
pub fn lstm_layer(xg: &Tensor, h0: &Tensor, c0: &Tensor, w_hh: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    let dt = float_kernel_dtype(xg, "lstm")?;
    for t in [h0, c0, w_hh] { same_dtype(xg, t)?; }
    let (xs, hs0, cs0, ws) = (xg.shape(), h0.shape(), c0.shape(), w_hh.shape());
    let ok = xs.len() == 3 && hs0.len() == 2 && ws.len() == 2 && cs0 == hs0 && xs[1] == hs0[0]
        && ws[1] == hs0[1] && ws[0] == 4 * hs0[1] && xs[2] == ws[0];
    if !ok {
        crate::bail!("lstm: incompatible shapes gates {:?}, h0 {:?}, c0 {:?}, weight_hh {:?}", xs, hs0, cs0, ws);
    }
    let geom = LstmGeom { steps: xs[0], batch: xs[1], hidden: hs0[1] };
    let (t_len, b, h) = (geom.steps, geom.batch, geom.hidden);
    let cs_in: Vec<Tensor> = [xg, h0, c0, w_hh].iter().map(|t| copy::contiguous_as(t, dt)).collect::<Result<_>>()?;
    let be = backend_of(&[xg, h0, c0, w_hh])?;
    let alloc = |shape: &[usize]| Tensor::alloc_on(shape, dt, be.device(), false);
    let (hs, acts, cs) = (alloc(&[t_len, b, h])?, alloc(&[t_len, b, 4 * h])?, alloc(&[t_len, b, h])?);
    be.lstm(geom, &hs, &acts, &cs, &cs_in[0], &cs_in[1], &cs_in[2], &cs_in[3])?;
    let (h_n, c_n) = if t_len == 0 {
        (copy::contiguous_clone(h0)?, copy::contiguous_clone(c0)?)
    } else {
        (last_step(&hs, t_len)?, last_step(&cs, t_len)?)
    };
    if autograd::needs_grad(&[xg, h0, c0, w_hh]) {
        // PyTorch's names: its oneDNN layer for float32, a stack of per-step outputs otherwise
        let name = if dt == DType::F32 { "MkldnnRnnLayerBackward0" } else { "StackBackward0" };
        autograd::record(name, &[xg, h0, c0, w_hh], &[&hs, &h_n, &c_n],
            vec![SaveItem::Input(h0), SaveItem::Input(c0), SaveItem::Input(w_hh), SaveItem::Output(0), SaveItem::Value(acts), SaveItem::Value(cs)],
            Box::new(move |s, g| {
                let (dhs, dh_n, saved) = layer_grads("LSTM", "FUSED_LSTM", s, g, [t_len, b, h])?;
                let dt = dhs.dtype();
                let dc_n = g[2].as_ref().map(|d| copy::contiguous_as(d, dt)).transpose()?;
                let be = backend_of(&[&saved[0], &dhs])?;
                let alloc = |shape: &[usize]| Tensor::alloc_on(shape, dt, be.device(), false);
                let (dxg, dh0, dc0, dw) = (alloc(&[t_len, b, 4 * h])?, alloc(&[b, h])?, alloc(&[b, h])?, alloc(&[4 * h, h])?);
                be.lstm_backward(geom, &dxg, &dh0, &dc0, &dw, &dhs, dh_n.as_ref(), dc_n.as_ref(), &saved[0], &saved[1], &saved[2], &saved[3], &saved[4], &saved[5])?;
                Ok(vec![Some(dxg), Some(dh0), Some(dc0), Some(dw)])
            }));
    }
    Ok((hs, h_n, c_n))
}

/// One direction of one `nn.RNN` layer (tanh, or ReLU when `relu`) over the whole sequence as
/// one node (see `lstm_layer`). `xg` [T, B, H] holds the input projections with both biases,
/// `h0` [B, H], `w_hh` [H, H]. Returns (every step's hidden state [T, B, H], h_n).
pub fn rnn_layer(xg: &Tensor, h0: &Tensor, w_hh: &Tensor, relu: bool) -> Result<(Tensor, Tensor)> {
    let dt = float_kernel_dtype(xg, "rnn")?;
    for t in [h0, w_hh] { same_dtype(xg, t)?; }
    let (xs, hs0, ws) = (xg.shape(), h0.shape(), w_hh.shape());
    let ok = xs.len() == 3 && hs0.len() == 2 && ws.len() == 2 && xs[1] == hs0[0] && ws[1] == hs0[1] && ws[0] == hs0[1] && xs[2] == ws[0];
    if !ok {
        crate::bail!("rnn: incompatible shapes gates {:?}, h0 {:?}, weight_hh {:?}", xs, hs0, ws);
    }
    let geom = LstmGeom { steps: xs[0], batch: xs[1], hidden: hs0[1] };
    let (t_len, b, h) = (geom.steps, geom.batch, geom.hidden);
    let cs_in: Vec<Tensor> = [xg, h0, w_hh].iter().map(|t| copy::contiguous_as(t, dt)).collect::<Result<_>>()?;
    let be = backend_of(&[xg, h0, w_hh])?;
    let hs = Tensor::alloc_on(&[t_len, b, h], dt, be.device(), false)?;
    be.rnn(geom, relu, &hs, &cs_in[0], &cs_in[1], &cs_in[2])?;
    let h_n = if t_len == 0 { copy::contiguous_clone(h0)? } else { last_step(&hs, t_len)? };
    if autograd::needs_grad(&[xg, h0, w_hh]) {
        // PyTorch's CPU RNN stacks per-step outputs
        autograd::record("StackBackward0", &[xg, h0, w_hh], &[&hs, &h_n],
            vec![SaveItem::Input(h0), SaveItem::Input(w_hh), SaveItem::Output(0)],
            Box::new(move |s, g| {
                let (dhs, dh_n, sv) = layer_grads("RNN", "FUSED_RNN", s, g, [t_len, b, h])?;
                let dt = dhs.dtype();
                let be = backend_of(&[&sv[0], &dhs])?;
                let alloc = |shape: &[usize]| Tensor::alloc_on(shape, dt, be.device(), false);
                let (dxg, dh0, dw) = (alloc(&[t_len, b, h])?, alloc(&[b, h])?, alloc(&[h, h])?);
                be.rnn_backward(geom, relu, &dxg, &dh0, &dw, &dhs, dh_n.as_ref(), &sv[0], &sv[1], &sv[2])?;
                Ok(vec![Some(dxg), Some(dh0), Some(dw)])
            }));
    }
    Ok((hs, h_n))
}

/// One direction of one `nn.GRU` layer over the whole sequence as one node (see `lstm_layer`).
/// `gi` [T, B, 3H] holds the input projections with b_ih, `h0` [B, H], `w_hh` [3H, H], `b_hh`
/// [3H]. Returns (every step's hidden state [T, B, H], h_n).
pub fn gru_layer(gi: &Tensor, h0: &Tensor, w_hh: &Tensor, b_hh: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
    let dt = float_kernel_dtype(gi, "gru")?;
    for t in [h0, w_hh].into_iter().chain(b_hh) { same_dtype(gi, t)?; }
    let (xs, hs0, ws) = (gi.shape(), h0.shape(), w_hh.shape());
    let ok = xs.len() == 3 && hs0.len() == 2 && ws.len() == 2 && xs[1] == hs0[0] && ws[1] == hs0[1]
        && ws[0] == 3 * hs0[1] && xs[2] == ws[0] && b_hh.is_none_or(|bb| bb.shape().as_slice() == [ws[0]]);
    if !ok {
        crate::bail!("gru: incompatible shapes gates {:?}, h0 {:?}, weight_hh {:?}, bias_hh {:?}", xs, hs0, ws, b_hh.map(|bb| bb.shape()));
    }
    let geom = LstmGeom { steps: xs[0], batch: xs[1], hidden: hs0[1] };
    let (t_len, b, h) = (geom.steps, geom.batch, geom.hidden);
    let cs_in: Vec<Tensor> = [gi, h0, w_hh].iter().map(|t| copy::contiguous_as(t, dt)).collect::<Result<_>>()?;
    let bias = b_hh.map(|t| copy::contiguous_as(t, dt)).transpose()?;
    let be = backend_of(&[gi, h0, w_hh])?;
    let (hs, saved) = (Tensor::alloc_on(&[t_len, b, h], dt, be.device(), false)?, Tensor::alloc_on(&[t_len, b, 4 * h], dt, be.device(), false)?);
    be.gru(geom, &hs, &saved, &cs_in[0], &cs_in[1], &cs_in[2], bias.as_ref())?;
    let h_n = if t_len == 0 { copy::contiguous_clone(h0)? } else { last_step(&hs, t_len)? };
    let mut inputs = vec![gi, h0, w_hh];
    inputs.extend(b_hh);
    if autograd::needs_grad(&inputs) {
        let with_bias = b_hh.is_some();
        // PyTorch's CPU GRU stacks per-step outputs
        autograd::record("StackBackward0", &inputs, &[&hs, &h_n],
            vec![SaveItem::Input(h0), SaveItem::Input(w_hh), SaveItem::Output(0), SaveItem::Value(saved)],
            Box::new(move |s, g| {
                let (dhs, dh_n, sv) = layer_grads("GRU", "FUSED_GRU", s, g, [t_len, b, h])?;
                let dt = dhs.dtype();
                let be = backend_of(&[&sv[0], &dhs])?;
                let alloc = |shape: &[usize]| Tensor::alloc_on(shape, dt, be.device(), false);
                let (dgi, dh0, dw) = (alloc(&[t_len, b, 3 * h])?, alloc(&[b, h])?, alloc(&[3 * h, h])?);
                let db = if with_bias { Some(alloc(&[3 * h])?) } else { None };
                be.gru_backward(geom, &dgi, &dh0, &dw, db.as_ref(), &dhs, dh_n.as_ref(), &sv[0], &sv[1], &sv[2], &sv[3])?;
                let mut out = vec![Some(dgi), Some(dh0), Some(dw)];
                if with_bias { out.push(db); }
                Ok(out)
            }));
    }
    Ok((hs, h_n))
}
