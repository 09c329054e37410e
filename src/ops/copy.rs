//! Copies and dtype conversion: the one strided cast-copy kernel everything else reuses.
use crate::autograd;
use crate::dtype::DType;
use crate::error::Result;
use crate::cpu::iter::broadcast_strides;
use crate::tensor::{Body, Tensor};


/// Writes `src` (broadcast to dst's shape, converted to dst's dtype) into `dst`'s memory.
/// No autograd, no version bump: callers own those.
pub fn copy_raw(dst: &Tensor, src: &Tensor) -> Result<()> {
    let d = dst.body();
    let s = src.body();
    broadcast_checked(&s.shape, &s.strides, &d.shape)?;
    if d.storage.ptr() == s.storage.ptr() && overlaps(&d, &s) && !(d.offset == s.offset && d.strides == s.strides) {
        // overlapping copy: go through a temporary
        let tmp = contiguous_as(src, src.dtype())?;
        return copy_raw(dst, &tmp);
    }
    crate::backend::backend_of(&[dst, src])?.copy(dst, src)
}

fn overlaps(a: &Body, b: &Body) -> bool {
    let span = |x: &Body| {
        let lo: isize = x.offset as isize + x.shape.iter().zip(&x.strides).map(|(&n, &s)| if s < 0 && n > 0 { s * (n as isize - 1) } else { 0 }).sum::<isize>();
        let hi: isize = x.offset as isize + x.shape.iter().zip(&x.strides).map(|(&n, &s)| if s > 0 && n > 0 { s * (n as isize - 1) } else { 0 }).sum::<isize>();
        (lo, hi)
    };
    let (a0, a1) = span(a);
    let (b0, b1) = span(b);
    a.numel() > 0 && b.numel() > 0 && a0 <= b1 && b0 <= a1
}

/// Broadcast strides of src into `out`, with PyTorch's error when impossible.
pub fn broadcast_checked(shape: &[usize], strides: &[isize], out: &[usize]) -> Result<crate::tensor::Strides> {
    if shape.len() > out.len() || shape.iter().rev().zip(out.iter().rev()).any(|(&s, &o)| s != o && s != 1) {
        crate::bail!(
            "The expanded size of the tensor ({}) must match the existing size ({}) at non-singleton dimension {}.  Target sizes: {:?}.  Tensor sizes: {:?}",
            out.last().copied().unwrap_or(0), shape.last().copied().unwrap_or(0), out.len().saturating_sub(1), out, shape
        );
    }
    Ok(broadcast_strides(shape, strides, out))
}

/// A contiguous tensor with `t`'s values in `dtype` (returns `t`'s data itself when possible).
pub fn contiguous_as(t: &Tensor, dtype: DType) -> Result<Tensor> {
    let b = t.body();
    if b.dtype == dtype && b.is_contiguous() {
        return Ok(t.detach());
    }
    let out = Tensor::empty(&b.shape, dtype)?;
    copy_raw(&out, t)?;
    Ok(out)
}

/// A fresh contiguous copy, never aliasing `t` (no autograd).
pub fn contiguous_clone(t: &Tensor) -> Result<Tensor> {
    let out = Tensor::empty(&t.shape(), t.dtype())?;
    copy_raw(&out, t)?;
    Ok(out)
}

/// `t.to(dtype)`: differentiable between float dtypes.
pub fn to_dtype(t: &Tensor, dtype: DType) -> Result<Tensor> {
    if t.dtype() == dtype { return Ok(t.clone()); }
    let out = Tensor::empty(&t.shape(), dtype)?;
    copy_raw(&out, t)?;
    if dtype.is_differentiable() && autograd::needs_grad(&[t]) {
        let src = t.dtype();
        autograd::record("ToCopyBackward0", &[t], &[&out], vec![], Box::new(move |_, g| Ok(vec![g[0].as_ref().map(|g| to_dtype(g, src)).transpose()?])));
    }
    Ok(out)
}

/// `t.contiguous()`: returns `t` itself when already contiguous.
pub fn contiguous(t: &Tensor) -> Result<Tensor> {
    if t.is_contiguous() { return Ok(t.clone()); }
    clone(t)
}

/// `t.clone()`: differentiable copy.
pub fn clone(t: &Tensor) -> Result<Tensor> {
    let out = contiguous_clone(t)?;
    if autograd::needs_grad(&[t]) {
        autograd::record("CloneBackward0", &[t], &[&out], vec![], Box::new(|_, g| Ok(vec![g[0].clone()])));
    }
    Ok(out)
}

/// `dst.copy_(src)`: in place, differentiable w.r.t. src (and rebases dst's history).
pub fn copy_(dst: &Tensor, src: &Tensor) -> Result<()> {
    crate::ops::inplace_check(dst)?;
    copy_raw(dst, src)?;
    dst.bump_version();
    if dst.dtype().is_differentiable() && crate::ops::inplace_needs_grad(dst, &[src]) {
        let src_dtype = src.dtype();
        crate::ops::rebase_inplace(dst, &[src], "CopyBackwards", vec![], Box::new(move |_, g| {
            let g = g[0].as_ref();
            // the overwritten values get a zero gradient (not None), like PyTorch's CopyBackwards
            Ok(vec![g.map(crate::ops::unary::zeros_like_g).transpose()?, g.map(|g| to_dtype(g, src_dtype)).transpose()?])
        }))?;
    }
    Ok(())
}

/// Fills with a scalar value (no autograd).
pub fn fill_raw(t: &Tensor, v: f64) -> Result<()> {
    crate::backend::backend_of(&[t])?.fill(t, crate::dtype::Scalar::Float(v))
}
