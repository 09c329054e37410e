//! Reductions: reduced dims are moved last so every output element reduces one contiguous row.
use crate::backend::backend_of;
use crate::backend::reduce::RowReduce;
use crate::autograd::{self, SaveItem};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::binary::{self, div, mul, mul_s, sub, BinOp, Operand};
use crate::ops::{copy, index, shape, unary};
use crate::tensor::{Shape, Tensor};

/// Normalised, sorted, deduplicated reduction dims (None or empty = all dims).
pub fn norm_dims(dims: Option<&[i64]>, ndim: usize) -> Result<Vec<usize>> {
    let mut v: Vec<usize> = match dims {
        None => (0..ndim).collect(),
        Some(d) if d.is_empty() => (0..ndim).collect(),
        Some(d) => d.iter().map(|&x| crate::error::wrap_dim(x, ndim)).collect::<Result<_>>()?,
    };
    v.sort();
    if let Some(w) = v.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::Runtime(format!("dim {} appears multiple times in the list of dims", w[0])));
    }
    if ndim == 0 { v.clear(); }
    Ok(v)
}

/// (output shape with keepdim, output shape without, rows, row length, contiguous input laid out as rows)
struct Plan { keep: Shape, drop: Shape, rows: usize, len: usize, data: Tensor }

fn plan(x: &Tensor, dims: &[usize]) -> Result<Plan> {
    let sh = x.shape();
    let nd = sh.len();
    let mut perm: Vec<usize> = (0..nd).filter(|d| !dims.contains(d)).collect();
    perm.extend_from_slice(dims);
    let keep: Shape = (0..nd).map(|d| if dims.contains(&d) { 1 } else { sh[d] }).collect();
    let drop: Shape = (0..nd).filter(|d| !dims.contains(d)).map(|d| sh[d]).collect();
    let len: usize = dims.iter().map(|&d| sh[d]).product();
    let rows: usize = drop.iter().product();
    let p = shape::permute_raw(x, &perm);
    let data = copy::contiguous_as(&p, x.dtype())?;
    Ok(Plan { keep, drop, rows, len, data })
}

enum PlanOrColumns { Plan(Plan), Columns { keep: Shape, drop: Shape, rows: usize, cols: usize } }

/// A contiguous f32 input reduced over its leading dims sums whole rows into the output
/// (no transposing copy); anything else goes through `plan`.
fn plan_or_columns(x: &Tensor, dims: &[usize], f32_out: bool) -> Result<PlanOrColumns> {
    let sh = x.shape();
    let k = dims.len();
    if f32_out && x.dtype() == DType::F32 && x.is_contiguous() && k > 0 && k < sh.len() && dims.iter().enumerate().all(|(i, &d)| d == i) {
        let rows: usize = sh[..k].iter().product();
        let cols: usize = sh[k..].iter().product();
        if rows > 1 && cols > 1 {
            let keep: Shape = (0..sh.len()).map(|d| if d < k { 1 } else { sh[d] }).collect();
            return Ok(PlanOrColumns::Columns { keep, drop: sh[k..].into(), rows, cols });
        }
    }
    Ok(PlanOrColumns::Plan(plan(x, dims)?))
}

/// One output per row of the plan, of dtype `out_dt`, from the device's row-reduction kernel.
fn row_reduce(p: &Plan, op: RowReduce, out_dt: DType) -> Result<Tensor> {
    let be = backend_of(&[&p.data])?;
    let out = Tensor::alloc_on(&p.drop, out_dt, be.device(), false)?;
    be.reduce_rows(op, &out, &p.data, p.len)?;
    Ok(out)
}

/// Sums accumulate in f64 for floats and wrapping int64 otherwise, then take the output dtype.
fn sum_kernel(p: &Plan, in_dt: DType, out_dt: DType) -> Result<Tensor> {
    let r = row_reduce(p, RowReduce::Sum, if in_dt.is_float() { DType::F64 } else { DType::I64 })?;
    copy::contiguous_as(&r, out_dt)
}

fn expand_grad(g: &Tensor, keep: &[usize], input_shape: &[usize]) -> Result<Tensor> {
    let g = shape::reshape(g, &keep.iter().map(|&x| x as i64).collect::<Vec<_>>())?;
    shape::expand(&g, &input_shape.iter().map(|&x| x as i64).collect::<Vec<_>>())
}

/// `torch.sum(x, dims, keepdim, dtype)`.
/// The dims of complex `z` as explicit non-negative dims, valid on its [..., 2] real view.
fn complex_dims(z: &Tensor, dims: Option<&[i64]>) -> Result<Vec<i64>> {
    Ok(norm_dims(dims, z.ndim())?.into_iter().map(|d| d as i64).collect())
}

pub fn sum(x: &Tensor, dims: Option<&[i64]>, keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    if x.dtype().is_complex() || dtype.is_some_and(|d| d.is_complex()) {
        let z = match dtype { Some(d) if d != x.dtype() => copy::to_dtype(x, d)?, _ => x.clone() };
        if !z.dtype().is_complex() { return Err(Error::Runtime(format!("sum(): complex input needs a complex dtype, got {}", z.dtype().legacy_name()))); }
        let d = complex_dims(&z, dims)?;
        if d.is_empty() { return copy::clone(&z); }
        return crate::ops::complex::linear_reduce(&z, |r| sum(r, Some(&d), keepdim, None));
    }
    let nd = norm_dims(dims, x.ndim())?;
    let out_dt = dtype.unwrap_or(if x.dtype().is_float() { x.dtype() } else { DType::I64 });
    // an integer dtype= casts the elements first (PyTorch), so 5.04 counts as 5
    let cast_first = x.dtype().is_float() && !out_dt.is_float();
    let xin = if cast_first { copy::contiguous_as(x, out_dt)? } else { x.clone() };
    let (out, keep) = match plan_or_columns(&xin, &nd, out_dt == DType::F32)? {
        PlanOrColumns::Columns { keep, drop, rows, cols } => {
            let be = backend_of(&[&xin])?;
            let out = Tensor::alloc_on(&drop, DType::F32, be.device(), false)?;
            be.column_sums(&out, &xin, rows, cols)?;
            (out, keep)
        }
        PlanOrColumns::Plan(p) => (sum_kernel(&p, xin.dtype(), out_dt)?, p.keep),
    };
    let out = if keepdim { shape::reshape_raw(&out, &keep) } else { out };
    if out_dt.is_float() && autograd::needs_grad(&[x]) {
        let ishape = x.shape();
        let name = if dims.is_none() { "SumBackward0" } else { "SumBackward1" };
        autograd::record(name, &[x], &[&out], vec![], Box::new(move |_, g| {
            Ok(vec![g[0].as_ref().map(|g| expand_grad(g, &keep, &ishape)).transpose()?])
        }));
    }
    Ok(out)
}

pub fn mean(x: &Tensor, dims: Option<&[i64]>, keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    let dt = dtype.unwrap_or(x.dtype());
    if dt.is_complex() {
        let z = if dt != x.dtype() { copy::to_dtype(x, dt)? } else { x.clone() };
        let d = complex_dims(&z, dims)?;
        if d.is_empty() { return copy::clone(&z); }
        return crate::ops::complex::linear_reduce(&z, |r| mean(r, Some(&d), keepdim, None));
    }
    if !dt.is_float() {
        return Err(Error::Runtime(format!("mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: {}", dt.legacy_name())));
    }
    let nd = norm_dims(dims, x.ndim())?;
    let sh = x.shape();
    let n: usize = nd.iter().map(|&d| sh[d]).product();
    let s = {
        let _g = autograd::GradMode::set(false);
        sum(x, dims, keepdim, Some(dt))?
    };
    let out = {
        let _g = autograd::GradMode::set(false);
        // divide (not multiply by 1/n): PyTorch's rounding
        binary::binary(BinOp::Div, &Operand::T(s), &Operand::S(crate::dtype::Scalar::Float(n as f64)), 1.0)?
    };
    if autograd::needs_grad(&[x]) {
        let keep: Shape = (0..sh.len()).map(|d| if nd.contains(&d) { 1 } else { sh[d] }).collect();
        let name = if dims.is_none() { "MeanBackward0" } else { "MeanBackward1" };
        autograd::record(name, &[x], &[&out], vec![], Box::new(move |_, g| {
            Ok(vec![g[0].as_ref().map(|g| expand_grad(&mul_s(g, 1.0 / n as f64)?, &keep, &sh)).transpose()?])
        }));
    }
    Ok(out)
}

/// Product of complex numbers: the reduced dims flattened last, then halved by elementwise
/// products (log2(n) differentiable steps, so autograd needs no formula of its own).
fn complex_prod(x: &Tensor, dims: Option<&[i64]>, keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    let z = match dtype { Some(d) if d != x.dtype() => copy::to_dtype(x, d)?, _ => x.clone() };
    if !z.dtype().is_complex() { return Err(Error::NotImplemented(format!("\"prod_cpu\" not implemented for '{}'", z.dtype().legacy_name()))); }
    let nd = norm_dims(dims, z.ndim())?;
    let sh = z.shape();
    let kept: Vec<usize> = (0..sh.len()).filter(|d| !nd.contains(d)).collect();
    let perm: Vec<i64> = kept.iter().chain(nd.iter()).map(|&d| d as i64).collect();
    let len: usize = nd.iter().map(|&d| sh[d]).product();
    let mut flat_shape: Vec<i64> = kept.iter().map(|&d| sh[d] as i64).collect();
    flat_shape.push(len as i64);
    let mut r = shape::reshape(&shape::permute(&z, &perm)?, &flat_shape)?;
    if len == 0 {
        let ones = binary::as_dtype(&Operand::S(crate::dtype::Scalar::Float(1.0)), z.dtype())?;
        r = shape::reshape(&ones, &[1])?;
        let e: Vec<i64> = kept.iter().map(|&d| sh[d] as i64).chain([1]).collect();
        r = copy::contiguous(&shape::expand(&r, &e)?)?;
    }
    let mut n = r.shape()[r.ndim() - 1];
    while n > 1 {
        let half = n / 2;
        let last = r.ndim() as i64 - 1;
        let prod = binary::mul(&shape::narrow(&r, last, 0, half as i64)?, &shape::narrow(&r, last, half as i64, half as i64)?)?;
        r = if n % 2 == 1 { shape::cat(&[prod, shape::narrow(&r, last, 2 * half as i64, 1)?], last)? } else { prod };
        n = r.shape()[r.ndim() - 1];
    }
    let out = shape::squeeze_dims(&r, &[r.ndim() - 1])?;
    if !keepdim { return Ok(out); }
    let keep_shape: Vec<i64> = (0..sh.len()).map(|d| if nd.contains(&d) { 1 } else { sh[d] as i64 }).collect();
    shape::reshape(&out, &keep_shape)
}

/// Ordering reductions have no meaning on complex numbers (PyTorch refuses them too).
fn reject_complex(x: &Tensor, name: &str) -> Result<()> {
    if x.dtype().is_complex() { return Err(Error::NotImplemented(format!("\"{}\" not implemented for '{}'", name, x.dtype().legacy_name()))); }
    Ok(())
}

pub fn prod(x: &Tensor, dims: Option<&[i64]>, keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    if x.dtype().is_complex() || dtype.is_some_and(|d| d.is_complex()) { return complex_prod(x, dims, keepdim, dtype); }
    let nd = norm_dims(dims, x.ndim())?;
    let out_dt = dtype.unwrap_or(if x.dtype().is_float() { x.dtype() } else { DType::I64 });
    let p = plan(x, &nd)?;
    let r = row_reduce(&p, RowReduce::Prod, if x.dtype().is_float() { DType::F64 } else { DType::I64 })?;
    let out = copy::contiguous_as(&r, out_dt)?;
    let out = if keepdim { shape::reshape_raw(&out, &p.keep) } else { out };
    if out_dt.is_float() && autograd::needs_grad(&[x]) {
        let (keep, ishape) = (p.keep.clone(), x.shape());
        let name = if dims.is_none() { "ProdBackward0" } else { "ProdBackward1" };
        let red: Vec<usize> = nd.clone();
        autograd::record(name, &[x], &[&out], vec![SaveItem::Input(x)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let ge = expand_grad(g, &keep, &ishape)?;
            Ok(vec![Some(mul(&ge, &prod_of_others(&s[0], &red)?)?)])
        }));
    }
    Ok(out)
}

/// For each element, the product of the other elements in its reduction group: exclusive
/// cumulative products from both sides, exact when inputs contain zeros (unlike prod / x).
fn prod_of_others(x: &Tensor, red: &[usize]) -> Result<Tensor> {
    let sh = x.shape();
    let nd = sh.len();
    if nd == 0 { return Tensor::zeros(&[], x.dtype())?.detach_ones(); }
    let mut perm: Vec<i64> = (0..nd).filter(|d| !red.contains(d)).map(|d| d as i64).collect();
    perm.extend(red.iter().map(|&d| d as i64));
    let xp = shape::permute(x, &perm)?;
    let kept: Vec<i64> = perm[..nd - red.len()].iter().map(|&d| sh[d as usize] as i64).collect();
    let r: usize = red.iter().map(|&d| sh[d]).product();
    let mut flat_shape = kept.clone();
    flat_shape.push(r as i64);
    let xr = shape::reshape(&xp, &flat_shape)?;
    let last = flat_shape.len() as i64 - 1;
    let mut ones_shape: Vec<usize> = kept.iter().map(|&v| v as usize).collect();
    ones_shape.push(1);
    let ones = Tensor::empty(&ones_shape, x.dtype())?;
    copy::fill_raw(&ones, 1.0)?;
    let excl = |t: &Tensor| -> Result<Tensor> {
        let head = shape::narrow(t, last, 0, r as i64 - 1)?;
        shape::cat(&[ones.clone(), cumulative(&head, last, true, None)?], last)
    };
    let left = excl(&xr)?;
    let right = shape::flip(&excl(&shape::flip(&xr, &[last])?)?, &[last])?;
    let others = mul(&left, &right)?;
    let back = shape::reshape(&others, &perm.iter().map(|&d| sh[d as usize] as i64).collect::<Vec<_>>())?;
    let mut inv = vec![0i64; nd];
    for (i, &p) in perm.iter().enumerate() { inv[p as usize] = i as i64; }
    shape::permute(&back, &inv)
}

trait OnesLike { fn detach_ones(self) -> Result<Tensor>; }
impl OnesLike for Tensor {
    fn detach_ones(self) -> Result<Tensor> { copy::fill_raw(&self, 1.0)?; Ok(self) }
}

#[derive(Clone, Copy, PartialEq)]
pub enum Extreme { Max, Min }

/// Values and indices of the max/min along the reduced dims (row-wise).
fn extreme_kernel(x: &Tensor, nd: &[usize], which: Extreme, name: &str) -> Result<(Plan, Tensor, Tensor)> {
    let p = plan(x, nd)?;
    if p.len == 0 {
        return Err(Error::Index(format!("{}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.", name)));
    }
    let be = backend_of(&[&p.data])?;
    let vals = Tensor::alloc_on(&p.drop, x.dtype(), be.device(), false)?;
    let idx = Tensor::alloc_on(&p.drop, DType::I64, be.device(), false)?;
    be.extreme_rows(&vals, &idx, &p.data, p.len, which)?;
    Ok((p, vals, idx))
}

/// amax/amin (gradient split evenly among ties), and the no-dim `max()`/`min()`.
pub fn amax(x: &Tensor, dims: Option<&[i64]>, keepdim: bool, which: Extreme, name: &'static str) -> Result<Tensor> {
    reject_complex(x, if which == Extreme::Max { "max_all" } else { "min_all" })?;
    let nd = norm_dims(dims, x.ndim())?;
    let (p, vals, _) = extreme_kernel(x, &nd, which, if which == Extreme::Max { "max" } else { "min" })?;
    let out = if keepdim { shape::reshape_raw(&vals, &p.keep) } else { vals };
    if x.dtype().is_float() && autograd::needs_grad(&[x]) {
        let (keep, ishape) = (p.keep.clone(), x.shape());
        let di: Vec<i64> = nd.iter().map(|&d| d as i64).collect();
        autograd::record(name, &[x], &[&out], vec![SaveItem::Input(x), SaveItem::Output(0)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let o = expand_grad(&s[1], &keep, &ishape)?;
            let mask = copy::to_dtype(&binary::cmp(BinOp::Eq, &s[0], &Operand::T(o))?, g.dtype())?;
            let cnt = expand_grad(&sum(&mask, Some(&di), true, None)?, &keep, &ishape)?;
            let ge = expand_grad(g, &keep, &ishape)?;
            Ok(vec![Some(div(&mul(&ge, &mask)?, &cnt)?)])
        }));
    }
    Ok(out)
}

/// `max(dim)`/`min(dim)`: (values, indices), gradient routed to the selected index.
pub fn max_dim(x: &Tensor, dim: i64, keepdim: bool, which: Extreme) -> Result<(Tensor, Tensor)> {
    if x.dtype().is_complex() { return Err(Error::Runtime(format!("{}(): does not support complex input", if which == Extreme::Max { "max" } else { "min" }))); }
    let d = crate::error::wrap_dim(dim, x.ndim())?;
    let nd = if x.ndim() == 0 { vec![] } else { vec![d] };
    let (p, vals, idx) = extreme_kernel(x, &nd, which, if which == Extreme::Max { "max" } else { "min" })?;
    let (vals, idx) = if keepdim { (shape::reshape_raw(&vals, &p.keep), shape::reshape_raw(&idx, &p.keep)) } else { (vals, idx) };
    if x.dtype().is_float() && autograd::needs_grad(&[x]) {
        let (keep, ishape) = (p.keep.clone(), x.shape());
        let idx2 = shape::reshape_raw(&idx, &keep);
        let name = if which == Extreme::Max { "MaxBackward0" } else { "MinBackward0" };
        autograd::record(name, &[x], &[&vals], vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let g = shape::reshape(g, &keep.iter().map(|&v| v as i64).collect::<Vec<_>>())?;
            Ok(vec![Some(index::scatter_new(&ishape, d, &idx2, &g)?)])
        }));
    }
    Ok((vals, idx))
}

pub fn argmax(x: &Tensor, dim: Option<i64>, keepdim: bool, which: Extreme) -> Result<Tensor> {
    if x.dtype().is_complex() { return Err(Error::Runtime(format!("{}(): does not support complex input", if which == Extreme::Max { "argmax" } else { "argmin" }))); }
    match dim {
        None => {
            let flat = shape::reshape(&x.detach(), &[-1])?;
            let (_, _, idx) = extreme_kernel(&flat, &[0], which, if which == Extreme::Max { "argmax" } else { "argmin" })?;
            if keepdim { return Ok(shape::reshape_raw(&idx, &vec![1; x.ndim()])); }
            Ok(idx)
        }
        Some(d) => Ok(max_dim(&x.detach(), d, keepdim, which)?.1),
    }
}

/// var with `correction` (std = sqrt(var)), recorded as one node.
pub fn var(x: &Tensor, dims: Option<&[i64]>, correction: f64, keepdim: bool, take_sqrt: bool) -> Result<Tensor> {
    if x.dtype().is_complex() {
        // E|z - Ez|^2 = var(re) + var(im), a real result
        let v = binary::add(&var(&crate::ops::complex::real_view(x)?, dims, correction, keepdim, false)?,
                            &var(&crate::ops::complex::imag_view(x)?, dims, correction, keepdim, false)?)?;
        return if take_sqrt { unary::unary(unary::UnaryOp::Sqrt, &v) } else { Ok(v) };
    }
    if !x.dtype().is_float() {
        return Err(Error::Runtime(format!("std and var only support floating point and complex dtypes")));
    }
    let nd = norm_dims(dims, x.ndim())?;
    let sh = x.shape();
    let n: usize = nd.iter().map(|&d| sh[d]).product();
    let dims_i: Vec<i64> = nd.iter().map(|&d| d as i64).collect();
    let out = if matches!(x.dtype(), DType::F32 | DType::F64) {
        // one kernel: the row's mean and its squared deviations in f64 (the composition below
        // made five passes over an f64 copy: 3x PyTorch's time)
        let _g = autograd::GradMode::set(false);
        let p = plan(x, &nd)?;
        let ss = row_reduce(&p, RowReduce::SquaredDeviations, DType::F64)?;
        let v = binary::binary(BinOp::Div, &Operand::T(ss), &Operand::S(crate::dtype::Scalar::Float((n as f64 - correction).max(0.0))), 1.0)?;
        let v = if take_sqrt { unary::unary(unary::UnaryOp::Sqrt, &v)? } else { v };
        let v = copy::to_dtype(&v, x.dtype())?;
        if keepdim { shape::reshape_raw(&v, &p.keep) } else { v }
    } else {
        let _g = autograd::GradMode::set(false);
        // accumulate in float64 like PyTorch: squares of large float32 values must not overflow
        let xf = copy::to_dtype(x, DType::F64)?;
        let m = mean(&xf, Some(&dims_i), true, None)?;
        let c = sub(&xf, &m)?;
        let ss = sum(&mul(&c, &c)?, Some(&dims_i), keepdim, None)?;
        let v = binary::binary(BinOp::Div, &Operand::T(ss), &Operand::S(crate::dtype::Scalar::Float((n as f64 - correction).max(0.0))), 1.0)?;
        let v = if take_sqrt { unary::unary(unary::UnaryOp::Sqrt, &v)? } else { v };
        copy::to_dtype(&v, x.dtype())?
    };
    if autograd::needs_grad(&[x]) {
        let keep: Shape = (0..sh.len()).map(|d| if nd.contains(&d) { 1 } else { sh[d] }).collect();
        let name = if take_sqrt { "StdBackward0" } else { "VarBackward0" };
        let di = dims_i.clone();
        autograd::record(name, &[x], &[&out], vec![SaveItem::Input(x), SaveItem::Output(0)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let m = mean(&s[0], Some(&di), true, None)?;
            let c = sub(&s[0], &m)?;
            let mut ge = mul_s(&expand_grad(g, &keep, &sh)?, 2.0 / (n as f64 - correction))?;
            if take_sqrt {
                // PyTorch's std_backward: zero where the std itself is zero (not 0/0)
                let sd = expand_grad(&s[1], &keep, &sh)?;
                ge = binary::where_mask_fill(&div(&mul_s(&ge, 0.5)?, &sd)?, &binary::cmp(BinOp::Eq, &sd, &Operand::S(crate::dtype::Scalar::Float(0.0)))?, 0.0)?;
            }
            Ok(vec![Some(mul(&ge, &c)?)])
        }));
    }
    Ok(out)
}

/// logsumexp's forward (keepdim shape) by the backend's row kernel, one pass over each row,
/// when the reduction is one non-empty dim or all of them; None for the composite form.
fn logsumexp_rows(x: &Tensor, nd: &[usize]) -> Result<Option<Tensor>> {
    let n = x.ndim();
    if n == 0 || x.numel() == 0 { return Ok(None); }
    let (src, len) = match nd {
        [d] => (shape::movedim_raw(&x.detach(), *d, n - 1), x.shape()[*d]),
        _ if nd.len() == n => (x.detach(), x.numel()),
        _ => return Ok(None),
    };
    let kd = x.dtype().compute();
    let src = copy::contiguous_as(&src, kd)?;
    let be = backend_of(&[&src])?;
    let out = Tensor::alloc_on(&[x.numel() / len], kd, be.device(), false)?;
    be.logsumexp_rows(&out, &src, len)?;
    // the rows come in the order of the dims kept, which is the keepdim shape's order
    let keep: Vec<i64> = (0..n).map(|d| if nd.contains(&d) { 1 } else { x.shape()[d] as i64 }).collect();
    Ok(Some(copy::contiguous_as(&shape::reshape(&out, &keep)?, x.dtype())?))
}

/// logsumexp: forward with the max shift, backward g * exp(x - out) (differentiable again).
pub fn logsumexp(x: &Tensor, dims: &[i64], keepdim: bool) -> Result<Tensor> {
    let x = if x.dtype().is_float() { x.clone() } else { copy::to_dtype(x, crate::tensor::default_dtype())? };
    let nd = norm_dims(Some(dims), x.ndim())?;
    let di: Vec<i64> = nd.iter().map(|&d| d as i64).collect();
    let out_keep = {
        let _g = autograd::GradMode::set(false);
        if let Some(t) = logsumexp_rows(&x, &nd)? { t } else {
            let m = amax(&x, Some(&di), true, Extreme::Max, "AmaxBackward0")?;
            // guard infinite maxima (all -inf rows)
            let m = binary::where_mask_fill(&m, &unary::logical_not(&unary::unary(unary::UnaryOp::IsFinite, &m)?)?, 0.0)?;
            let e = unary::unary(unary::UnaryOp::Exp, &sub(&x, &m)?)?;
            binary::add(&unary::unary(unary::UnaryOp::Log, &sum(&e, Some(&di), true, None)?)?, &m)?
        }
    };
    let out = if keepdim { out_keep.clone() } else { shape::squeeze_dims(&out_keep, &nd)? };
    if autograd::needs_grad(&[&x]) {
        let sh = x.shape();
        let keep: Shape = (0..sh.len()).map(|d| if nd.contains(&d) { 1 } else { sh[d] }).collect();
        autograd::record("LogsumexpBackward0", &[&x], &[&out], vec![SaveItem::Input(&x), SaveItem::Output(0)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let o = expand_grad(&s[1], &keep, &sh)?;
            let p = unary::unary(unary::UnaryOp::Exp, &sub(&s[0], &o)?)?;
            Ok(vec![Some(mul(&expand_grad(g, &keep, &sh)?, &p)?)])
        }));
    }
    Ok(out)
}

/// cumsum / cumprod along `dim`.
pub fn cumulative(x: &Tensor, dim: i64, prod: bool, dtype: Option<DType>) -> Result<Tensor> {
    let d = crate::error::wrap_dim(dim, x.ndim())?;
    if x.dtype().is_complex() || dtype.is_some_and(|t| t.is_complex()) {
        let z = match dtype { Some(t) if t != x.dtype() => copy::to_dtype(x, t)?, _ => x.clone() };
        if !z.dtype().is_complex() { return Err(Error::NotImplemented(format!("\"cumprod_cpu\" not implemented for '{}'", z.dtype().legacy_name()))); }
        if z.ndim() == 0 { return copy::clone(&z); }
        if prod {
            // Hillis-Steele scan: log2(n) differentiable complex products
            let n = z.shape()[d];
            let mut r = z.clone();
            let mut shift = 1;
            while shift < n {
                let (keep, rest) = (shape::narrow(&r, d as i64, 0, shift as i64)?, shape::narrow(&r, d as i64, shift as i64, (n - shift) as i64)?);
                let prev = shape::narrow(&r, d as i64, 0, (n - shift) as i64)?;
                r = shape::cat(&[keep, binary::mul(&rest, &prev)?], d as i64)?;
                shift *= 2;
            }
            return Ok(r);
        }
        return crate::ops::complex::linear_reduce(&z, |r| cumulative(r, d as i64, false, None));
    }
    let out_dt = dtype.unwrap_or(if x.dtype().is_float() { x.dtype() } else { DType::I64 });
    let nd = if x.ndim() == 0 { vec![] } else { vec![d] };
    let p = plan(x, &nd)?;
    let out_rows = Tensor::empty(&[p.rows, p.len], out_dt.compute())?;
    let len = p.len;
    backend_of(&[&p.data])?.cumulative_rows(&out_rows, &p.data, len, prod)?;
    // rows are laid out [other dims..., dim]: move dim back
    let mut sh_perm: Vec<usize> = (0..x.ndim()).filter(|&i| !nd.contains(&i)).map(|i| x.shape()[i]).collect();
    if !nd.is_empty() { sh_perm.push(x.shape()[d]); }
    let r = shape::reshape_raw(&out_rows, &sh_perm);
    let r = if nd.is_empty() { r } else { shape::movedim_raw(&r, x.ndim() - 1, d) };
    let out = copy::contiguous_as(&r, out_dt)?;
    if out_dt.is_float() && autograd::needs_grad(&[x]) {
        let name = if prod { "CumprodBackward0" } else { "CumsumBackward0" };
        let di = d as i64;
        autograd::record(name, &[x], &[&out], vec![SaveItem::Input(x), SaveItem::Output(0)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let rev = |t: &Tensor| -> Result<Tensor> {
                let f = shape::flip(t, &[di])?;
                shape::flip(&cumulative(&f, di, false, None)?, &[di])
            };
            if prod {
                let has_zero = binary::cmp(BinOp::Eq, &s[0], &Operand::S(crate::dtype::Scalar::Float(0.0)))?.to_vec::<bool>()?.into_iter().any(|z| z);
                if has_zero { return Ok(vec![Some(cumprod_backward_exact(&s[0], g, di)?)]); }
                Ok(vec![Some(div(&rev(&mul(g, &s[1])?)?, &s[0])?)])
            } else {
                Ok(vec![Some(rev(g)?)])
            }
        }));
    }
    Ok(out)
}

/// cumprod backward without dividing by the input (exact when it holds zeros):
/// grad_i = sum_{j>=i} g_j * prod_{l<i} x_l * prod_{i<l<=j} x_l, built as an [.., n, n] matrix.
fn cumprod_backward_exact(x: &Tensor, g: &Tensor, dim: i64) -> Result<Tensor> {
    let nd = x.ndim() as i64;
    let last = nd - 1;
    let d = crate::error::wrap_dim(dim, x.ndim())?;
    // differentiable moves (this backward is itself differentiated under create_graph)
    let mut to_last: Vec<i64> = (0..nd).filter(|&k| k != d as i64).collect();
    to_last.push(d as i64);
    let mut back = vec![0i64; nd as usize];
    for (i, &p) in to_last.iter().enumerate() { back[p as usize] = i as i64; }
    let xm = shape::permute(x, &to_last)?;
    let gm = shape::permute(g, &to_last)?;
    let n = *xm.shape().last().unwrap_or(&1);
    // L_i = prod_{l<i} x_l
    let mut ones_shape = xm.shape().to_vec();
    *ones_shape.last_mut().unwrap() = 1;
    let ones = Tensor::empty(&ones_shape, x.dtype())?;
    copy::fill_raw(&ones, 1.0)?;
    let left = if n > 1 { shape::cat(&[ones, cumulative(&shape::narrow(&xm, last, 0, n as i64 - 1)?, last, true, None)?], last)? } else { ones };
    // T[i, j] = x_j for j > i else 1; its cumprod over j gives prod_{i<l<=j} x_l
    let mut mshape: Vec<usize> = vec![1; x.ndim() - 1];
    mshape.extend([n, n]);
    let strict_upper: Vec<bool> = (0..n * n).map(|k| k % n > k / n).collect();
    let upper_eq: Vec<bool> = (0..n * n).map(|k| k % n >= k / n).collect();
    let su = Tensor::from_vec(strict_upper, &mshape)?;
    let ue = copy::to_dtype(&Tensor::from_vec(upper_eq, &mshape)?, x.dtype())?;
    let xe = shape::unsqueeze(&xm, nd - 1)?;
    let t = binary::where_(&su, &Operand::T(xe), &Operand::S(crate::dtype::Scalar::Float(1.0)))?;
    let inner = cumulative(&t, nd, true, None)?;
    let m = mul(&mul(&shape::unsqueeze(&left, nd)?, &inner)?, &ue)?;
    let gi = sum(&mul(&m, &shape::unsqueeze(&gm, nd - 1)?)?, Some(&[nd]), false, None)?;
    shape::permute(&gi, &back)
}

/// all / any (bool results; uint8 inputs keep uint8 like PyTorch).
pub fn all_any(x: &Tensor, dims: Option<&[i64]>, keepdim: bool, any: bool) -> Result<Tensor> {
    let nd = norm_dims(dims, x.ndim())?;
    let p = plan(x, &nd)?;
    let r = row_reduce(&p, if any { RowReduce::Any } else { RowReduce::All }, DType::Bool)?;
    let r = if x.dtype() == DType::U8 { copy::contiguous_as(&r, DType::U8)? } else { r };
    Ok(if keepdim { shape::reshape_raw(&r, &p.keep) } else { r })
}

/// Sums `g` down to `shape` (reverse of broadcasting).
pub fn sum_to_shape(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let gs = g.shape();
    if gs.as_slice() == shape { return Ok(g.clone()); }
    let lead = gs.len() - shape.len();
    let mut dims: Vec<i64> = (0..lead as i64).collect();
    for (i, &s) in shape.iter().enumerate() {
        if s == 1 && gs[lead + i] != 1 { dims.push((lead + i) as i64); }
    }
    let r = if dims.is_empty() { g.clone() } else { sum(g, Some(&dims), true, None)? };
    shape::reshape(&r, &shape.iter().map(|&x| x as i64).collect::<Vec<_>>())
}

/// Vector p-norm over dims, composed from differentiable ops.
pub fn norm(x: &Tensor, p: f64, dims: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
    if p == 2.0 && matches!(x.dtype(), DType::F32 | DType::F64) {
        return norm2(x, dims, keepdim);
    }
    if p == 2.0 {
        // (|x| is not needed for the squares: one pass fewer)
        let s = sum(&mul(x, x)?, dims, keepdim, None)?;
        return norm2_sqrt(&s);
    }
    let a = unary::unary(unary::UnaryOp::Abs, x)?;
    if p.is_infinite() {
        return amax(&a, dims, keepdim, if p > 0.0 { Extreme::Max } else { Extreme::Min }, "AmaxBackward0");
    }
    if p == 1.0 { return sum(&a, dims, keepdim, None); }
    if p == 0.0 { return sum(&copy::to_dtype(&binary::cmp(BinOp::Ne, x, &Operand::S(crate::dtype::Scalar::Float(0.0)))?, x.dtype())?, dims, keepdim, None); }
    let s = sum(&binary::pow_s(&a, p)?, dims, keepdim, None)?;
    binary::pow_s(&s, 1.0 / p)
}

/// The 2-norm of float32/float64 x over dims: the squares summed in one row kernel (a
/// product, a sum and a square root took 4x PyTorch's time), one autograd node whose gradient
/// is g x / norm, 0 where the norm is 0 (PyTorch's LinalgVectorNormBackward0).
fn norm2(x: &Tensor, dims: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
    let nd = norm_dims(dims, x.ndim())?;
    let sh = x.shape();
    let keep: Shape = (0..sh.len()).map(|d| if nd.contains(&d) { 1 } else { sh[d] }).collect();
    let out = {
        let _g = autograd::GradMode::set(false);
        let p = plan(x, &nd)?;
        let ss = row_reduce(&p, RowReduce::SumSquares, DType::F64)?;
        // the sum is rounded to x's dtype before the square root, as PyTorch sums in it
        let v = unary::unary(unary::UnaryOp::Sqrt, &copy::to_dtype(&ss, x.dtype())?)?;
        if keepdim { shape::reshape_raw(&v, &p.keep) } else { v }
    };
    if autograd::needs_grad(&[x]) {
        autograd::record("LinalgVectorNormBackward0", &[x], &[&out], vec![SaveItem::Input(x), SaveItem::Output(0)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let n = expand_grad(&s[1], &keep, &sh)?;
            let r = div(&mul(&expand_grad(g, &keep, &sh)?, &s[0])?, &n)?;
            let z = binary::cmp(BinOp::Eq, &n, &Operand::S(crate::dtype::Scalar::Float(0.0)))?;
            Ok(vec![Some(binary::where_mask_fill(&r, &z, 0.0)?)])
        }));
    }
    Ok(out)
}

/// The sum of x² over every element of a float32/float64 tensor, divided by the element count
/// when `mean` (0/0 = NaN for an empty x, as PyTorch's mean): `mse_loss`'s reduction of the
/// difference in one row-kernel pass summed in f64 (a squared temporary and a sum took two
/// passes and an allocation more). One `name` node whose gradient is 2 x g [/ N], built from
/// recorded products so a second derivative flows through x.
pub fn sum_squares(x: &Tensor, mean: bool, name: &'static str) -> Result<Tensor> {
    if !matches!(x.dtype(), DType::F32 | DType::F64) { crate::bail!("sum_squares: float32 or float64 expected, got {}", x.dtype().name()); }
    let n = x.numel();
    let out = {
        let _g = autograd::GradMode::set(false);
        let p = plan(x, &(0..x.ndim()).collect::<Vec<_>>())?;
        let total = row_reduce(&p, RowReduce::SumSquares, DType::F64)?.to_vec::<f64>()?.first().copied().unwrap_or(0.0);
        copy::contiguous_as(&Tensor::scalar_tensor(if mean { total / n as f64 } else { total })?, x.dtype())?
    };
    if autograd::needs_grad(&[x]) {
        let scale = if mean { 2.0 / n as f64 } else { 2.0 };
        autograd::record(name, &[x], &[&out], vec![SaveItem::Input(x)], Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            Ok(vec![Some(mul(&mul_s(&s[0], scale)?, g)?)])
        }));
    }
    Ok(out)
}

/// sqrt for norms with a zero-safe gradient (0 instead of inf*0 = nan at the origin).
fn norm2_sqrt(s: &Tensor) -> Result<Tensor> {
    let out = { let _g = autograd::GradMode::set(false); unary::unary(unary::UnaryOp::Sqrt, s)? };
    if autograd::needs_grad(&[s]) {
        autograd::record("LinalgVectorNormBackward0", &[s], &[&out], vec![SaveItem::Output(0)], Box::new(|sv, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let o = &sv[0];
            let r = div(g, &mul_s(o, 2.0)?)?;
            let z = binary::cmp(BinOp::Eq, o, &Operand::S(crate::dtype::Scalar::Float(0.0)))?;
            Ok(vec![Some(binary::where_mask_fill(&r, &z, 0.0)?)])
        }));
    }
    Ok(out)
}

