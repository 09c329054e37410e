//! Sorting-and-counting ops (unique, searchsorted, bincount, histc, mode, cummax/cummin):
//! dtype handling, layout and output shapes here. They are host algorithms: the input comes
//! to host memory through the device contract (`Tensor::to_vec`) and the sorting and
//! counting run there (`cpu::counting`, pure functions on slices).
//! Values that autograd needs (mode, cummax) are gathered from the input by the caller, so
//! these ops return indices and stay non-differentiable themselves.
use crate::cpu::counting as k;
use crate::dtype::{promote, DType};
use crate::error::{wrap_dim, Error, Result};
use crate::ops::{copy, index, shape};
use crate::tensor::{try_vec, Tensor};

fn reject_complex(x: &Tensor, name: &str) -> Result<()> {
    if x.dtype().is_complex() {
        return Err(Error::NotImplemented(format!("\"{}\" not implemented for '{}'", name, x.dtype().legacy_name())));
    }
    Ok(())
}

fn i64_tensor(v: Vec<i64>, shape: &[usize]) -> Result<Tensor> { Tensor::from_vec(v, shape) }

/// `x` with `dim` moved last, contiguous, as (rows, row length).
fn rows_last(x: &Tensor, dim: usize) -> Result<(Tensor, usize, usize)> {
    let nd = x.ndim();
    let moved = copy::contiguous_clone(&shape::movedim_raw(&x.detach(), dim, nd - 1))?;
    let len = x.shape()[dim];
    let rows = if len == 0 { 0 } else { x.numel() / len };
    Ok((moved, rows, len))
}

/// torch.unique: sorted unique values (or slices along `dim`), inverse indices and counts.
pub fn unique(x: &Tensor, dim: Option<i64>) -> Result<(Tensor, Tensor, Tensor)> {
    reject_complex(x, "unique")?;
    let x = x.detach();
    match dim {
        None => {
            let flat = copy::contiguous_clone(&shape::reshape_raw(&copy::contiguous(&x)?, &[x.numel()]))?;
            let n = flat.numel();
            let (reps, inv, counts) = crate::dispatch!(x.dtype(), T => k::unique_rows(&flat.to_vec::<T>()?, n, 1));
            let idx = i64_tensor(reps.iter().map(|&i| i as i64).collect(), &[reps.len()])?;
            let values = index::index_select(&flat, 0, &idx)?;
            let nc = counts.len();
            Ok((values, i64_tensor(inv, &x.shape())?, i64_tensor(counts, &[nc])?))
        }
        Some(d) => {
            let nd = x.ndim();
            let d = wrap_dim(d, nd)?;
            let rows = x.shape()[d];
            let slices = copy::contiguous_clone(&shape::movedim_raw(&x, d, 0))?;
            let width = if rows == 0 { 0 } else { x.numel() / rows };
            let (reps, inv, counts) = crate::dispatch!(x.dtype(), T => k::unique_rows(&slices.to_vec::<T>()?, rows, width));
            let idx = i64_tensor(reps.iter().map(|&i| i as i64).collect(), &[reps.len()])?;
            let values = index::index_select(&x, d as i64, &idx)?;
            let nc = counts.len();
            Ok((values, i64_tensor(inv, &[rows])?, i64_tensor(counts, &[nc])?))
        }
    }
}

/// torch.searchsorted on checked arguments: `sorted` is 1-D or has `values`' leading dims.
pub fn searchsorted(sorted: &Tensor, values: &Tensor, right: bool, sorter: Option<&Tensor>, out_int32: bool) -> Result<Tensor> {
    reject_complex(sorted, "searchsorted_cpu")?;
    let dt = promote(sorted.dtype(), values.dtype());
    let s = copy::contiguous_as(&sorted.detach(), dt)?;
    let v = copy::contiguous_as(&values.detach(), dt)?;
    let n = *s.shape().last().unwrap_or(&0);
    let m = if values.ndim() == 0 { 1 } else { *values.shape().last().unwrap_or(&0) };
    let srt = sorter.map(|t| copy::contiguous_as(&t.detach(), DType::I64)).transpose()?;
    if let Some(t) = &srt {
        if t.shape() != s.shape() { return Err(Error::Runtime("torch.searchsorted(): boundary and sorter must have the same size, but got boundary tensor and sorter tensor".into())); }
        let bad = t.to_vec::<i64>()?.iter().any(|&i| i < 0 || i as usize >= n);
        if bad { return Err(Error::Runtime("torch.searchsorted(): sorter index out of range".into())); }
    }
    let one_row = sorted.ndim() == 1;
    let total = v.numel();
    let mut out = try_vec::<i64>(total)?;
    crate::dispatch!(dt, T => {
        let sv = s.to_vec::<T>()?;
        let vv = v.to_vec::<T>()?;
        let order = srt.as_ref().map(|t| t.to_vec::<i64>()).transpose()?;
        for (i, &x) in vv.iter().enumerate() {
            let r = if one_row || m == 0 { 0 } else { i / m };
            let row = &sv[r * n..(r + 1) * n];
            let so = order.as_ref().map(|o| &o[r * n..(r + 1) * n]);
            out.push(k::search_row::<T>(row, so, x, right));
        }
    });
    let r = i64_tensor(out, &values.shape())?;
    if out_int32 { copy::contiguous_as(&r, DType::I32) } else { Ok(r) }
}

/// torch.bincount on a checked 1-D non-negative integer tensor.
pub fn bincount(x: &Tensor, weights: Option<&Tensor>, minlength: usize) -> Result<Tensor> {
    let v = copy::contiguous_as(&x.detach(), DType::I64)?.to_vec::<i64>()?;
    let len = v.iter().copied().max().map_or(0, |m| m as usize + 1).max(minlength);
    let w = weights.map(|t| copy::contiguous_as(&t.detach(), DType::F64)?.to_vec::<f64>()).transpose()?;
    let mut out = try_vec::<f64>(len)?;
    out.resize(len, 0.0);
    k::bincount(&v, w.as_deref(), &mut out);
    let r = Tensor::from_vec(out, &[len])?;
    // PyTorch keeps float32 weights' dtype and sums every other dtype in float64
    let dt = match weights { None => DType::I64, Some(t) if t.dtype() == DType::F32 => DType::F32, Some(_) => DType::F64 };
    copy::contiguous_as(&r, dt)
}

/// torch.histc on checked arguments (finite lo < hi): counts in x's dtype.
pub fn histc(x: &Tensor, bins: usize, lo: f64, hi: f64) -> Result<Tensor> {
    let mut out = try_vec::<f64>(bins)?;
    out.resize(bins, 0.0);
    match x.dtype() {
        DType::F64 => k::histc(&copy::contiguous_as(&x.detach(), DType::F64)?.to_vec::<f64>()?, lo, hi, &mut out),
        _ => k::histc(&copy::contiguous_as(&x.detach(), DType::F32)?.to_vec::<f32>()?, lo as f32, hi as f32, &mut out),
    }
    copy::contiguous_as(&Tensor::from_vec(out, &[bins])?, x.dtype())
}

/// Indices of the running max (or min) along `dim` (cummax/cummin), shaped like `x`.
pub fn cum_extreme_indices(x: &Tensor, dim: i64, is_max: bool) -> Result<Tensor> {
    reject_complex(x, if is_max { "cummax_cpu" } else { "cummin_cpu" })?;
    if x.ndim() == 0 { return Tensor::zeros(&[], DType::I64); }
    let d = wrap_dim(dim, x.ndim())?;
    let (moved, rows, len) = rows_last(x, d)?;
    let mut idx = try_vec::<i64>(rows * len)?;
    idx.resize(rows * len, 0);
    crate::dispatch!(x.dtype(), T => {
        let v = moved.to_vec::<T>()?;
        for (r, out) in idx.chunks_mut(len.max(1)).enumerate().take(rows) { k::running_extreme::<T>(&v[r * len..(r + 1) * len], is_max, out); }
    });
    let msh = moved.shape();
    let last = msh.len() - 1;
    let t = i64_tensor(idx, &msh)?;
    Ok(copy::contiguous_clone(&shape::movedim_raw(&t, last, d))?)
}

/// Indices of each row's mode along `dim` (the dim removed), for a non-empty reduction.
pub fn mode_indices(x: &Tensor, dim: i64) -> Result<Tensor> {
    reject_complex(x, "mode_cpu")?;
    if x.ndim() == 0 { return Tensor::zeros(&[], DType::I64); }
    let d = wrap_dim(dim, x.ndim())?;
    let (moved, rows, len) = rows_last(x, d)?;
    let mut idx = try_vec::<i64>(rows)?;
    crate::dispatch!(x.dtype(), T => {
        let v = moved.to_vec::<T>()?;
        for r in 0..rows { idx.push(k::mode_row::<T>(&v[r * len..(r + 1) * len]).1); }
    });
    let mut sh = x.shape();
    sh.remove(d);
    i64_tensor(idx, &sh)
}
