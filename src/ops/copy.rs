//! Copies and dtype conversion: the one strided cast-copy kernel everything else reuses.
use crate::autograd;
use crate::dtype::{DType, Elem};
use crate::error::Result;
use crate::cpu::iter::{broadcast_strides, zip1};
use crate::tensor::{Body, Tensor};

fn cast_kernel<S: Elem, D: Elem>(shape: &[usize], dst: &Body, dst_strides: &[isize], src: &Body, src_strides: &[isize]) {
    // SAFETY: dst and src are views of `shape` (src strides broadcast by copy_raw's check), zip contract
    unsafe { zip1::<D, S>(shape, (dst.data_ptr() as *mut D, dst_strides), (src.data_ptr() as *const S, src_strides), |x| x.cast::<D>()) };
}

/// Writes `src` (broadcast to dst's shape, converted to dst's dtype) into `dst`'s memory.
/// No autograd, no version bump: callers own those.
pub fn copy_raw(dst: &Tensor, src: &Tensor) -> Result<()> {
    let d = dst.body();
    let s = src.body();
    let ss = broadcast_checked(&s.shape, &s.strides, &d.shape)?;
    if d.storage.ptr() == s.storage.ptr() && overlaps(&d, &s) && !(d.offset == s.offset && d.strides == s.strides) {
        // overlapping copy: go through a temporary
        let tmp = contiguous_as(src, src.dtype())?;
        return copy_raw(dst, &tmp);
    }
    if s.dtype == d.dtype && transpose_copy(&d, &s, &ss) { return Ok(()); }
    crate::dispatch!(s.dtype, S => crate::dispatch!(d.dtype, D => cast_kernel::<S, D>(&d.shape, &d, &d.strides, &s, &ss)));
    Ok(())
}

/// Copy where the source walks memory across the destination's rows (a transpose): done in
/// square tiles so both sides stay in cache. Handles [.., rows, cols] with src strides (1, k).
fn transpose_copy(d: &Body, s: &Body, ss: &[isize]) -> bool {
    let nd = d.shape.len();
    if nd < 2 || !d.is_contiguous() { return false; }
    let (rows, cols) = (d.shape[nd - 2], d.shape[nd - 1]);
    if ss[nd - 2] != 1 || ss[nd - 1] == 1 || rows < 32 || cols < 32 { return false; }
    let bshape: Vec<usize> = d.shape[..nd - 2].to_vec();
    // element offset of each leading (batch) index in the source
    let mut offs: Vec<isize> = vec![0];
    for (k, &n) in bshape.iter().enumerate() {
        offs = offs.iter().flat_map(|&o| (0..n).map(move |i| o + i as isize * ss[k])).collect();
    }
    let src = crate::cpu::transpose::TransposeSrc { base: s.data_ptr() as usize, col_stride: ss[nd - 1], batch_offsets: &offs };
    let dst = d.data_ptr() as usize;
    // SAFETY: s and d are views inside their storages (check_view_bounds holds for every view),
    // so every (b, r, c) element address the kernel forms lies inside them; d is contiguous with
    // shape [.., rows, cols]; the caller checked that the two do not overlap.
    unsafe {
        match d.dtype.size() {
            1 => crate::cpu::transpose::transpose_copy::<u8>(&src, dst, rows, cols),
            2 => crate::cpu::transpose::transpose_copy::<u16>(&src, dst, rows, cols),
            4 => crate::cpu::transpose::transpose_copy::<u32>(&src, dst, rows, cols),
            8 => crate::cpu::transpose::transpose_copy::<u64>(&src, dst, rows, cols),
            _ => return false,
        }
    }
    true
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
pub fn fill_raw(t: &Tensor, v: f64) {
    let b = t.body();
    crate::dispatch!(b.dtype, T => {
        let x = T::from_f64(v);
        let p = b.data_ptr() as *mut T;
        let dummy = [0isize; 0];
        let _ = dummy;
        // SAFETY: p is t's own view; the source is one local value read with all-zero strides
        unsafe { zip1::<T, T>(&b.shape, (p, &b.strides), (&x as *const T, &vec![0; b.shape.len()]), |v| v) };
    });
}
