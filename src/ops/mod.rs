//! Ops, one family per file. Each op is defined once: checks, dtype/broadcast, kernel
//! dispatch, and its backward (written with differentiable ops).
pub mod binary;
pub mod complex;
pub mod conv;
pub mod copy;
pub mod counting;
pub mod fft;
pub mod index;
pub mod linalg;
pub mod nn;
pub mod pool;
pub mod random;
pub mod reduce;
pub mod shape;
pub mod unary;

use crate::autograd::{self, BackwardFn};
use crate::error::{Error, Result};
use crate::tensor::{Shape, Tensor};

/// Checks shared by every in-place op.
pub fn inplace_check(t: &Tensor) -> Result<()> {
    if autograd::is_grad_enabled() {
        let m = t.0.meta.lock();
        if m.grad_fn.is_none() && m.requires_grad {
            return Err(Error::Runtime("a leaf Variable that requires grad is being used in an in-place operation.".into()));
        }
        if let Some(base) = &m.base {
            if base.is_leaf() && base.requires_grad() {
                return Err(Error::Runtime("a view of a leaf Variable that requires grad is being used in an in-place operation.".into()));
            }
        }
    }
    let b = t.body();
    // a written-to tensor must not have several elements on one memory location (expand);
    // an empty one writes nothing
    if b.numel() > 0 && b.shape.iter().zip(&b.strides).any(|(&n, &s)| n > 1 && s == 0) {
        return Err(Error::Runtime("unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation.".into()));
    }
    Ok(())
}

/// PyTorch's check before an in-place write that reads `src`: both dense (contiguous here) and
/// sharing memory is an error; other layouts, which PyTorch cannot decide cheaply, pass.
pub fn assert_no_overlap(dst: &Tensor, src: &Tensor) -> Result<()> {
    let (d, s) = (dst.body_ref(), src.body_ref());
    if !std::sync::Arc::ptr_eq(&d.storage, &s.storage) || d.numel() == 0 || s.numel() == 0 || !d.is_contiguous() || !s.is_contiguous() {
        return Ok(());
    }
    let span = |b: &crate::tensor::Body| (b.offset * b.dtype.size(), (b.offset + b.numel()) * b.dtype.size());
    let ((d0, d1), (s0, s1)) = (span(&d), span(&s));
    if d0 < s1 && s0 < d1 {
        return Err(Error::Runtime("unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory location. Please clone() the tensor before performing the operation.".into()));
    }
    Ok(())
}

/// Whether an in-place op on `dst` must record history: grad mode is on and `dst`, the base
/// it views, or another operand requires grad.
pub fn inplace_needs_grad(dst: &Tensor, others: &[&Tensor]) -> bool {
    if !autograd::is_grad_enabled() { return false; }
    if dst.requires_grad() || others.iter().any(|o| o.requires_grad()) { return true; }
    let base = dst.0.meta.lock().base.clone();
    base.is_some_and(|b| b.requires_grad())
}

/// Broadcast two shapes (PyTorch's message on mismatch).
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Shape> {
    let n = a.len().max(b.len());
    let mut out: Shape = smallvec::smallvec![0; n];
    // PyTorch walks from the trailing dim, so the reported mismatch is the rightmost one
    for i in (0..n).rev() {
        let x = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let y = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = if x == y || y == 1 { x } else if x == 1 { y } else {
            return Err(Error::Runtime(format!(
                "The size of tensor a ({}) must match the size of tensor b ({}) at non-singleton dimension {}", x, y, i
            )));
        };
    }
    Ok(out)
}

/// The geometry of view `v` over the contiguous base `b` in `b`'s element units, checked to lie
/// inside it, and whether `v` is a complex view of a real base (then the geometry is that of
/// its [..., 2] real view). Base and view of different dtypes only arise from view_as_real /
/// view_as_complex.
pub fn view_geometry(b: &crate::tensor::Body, v: &crate::tensor::Body) -> Result<((Shape, crate::tensor::Strides, usize), bool)> {
    let complex_view = v.dtype.is_complex() && !b.dtype.is_complex();
    if !complex_view && v.dtype != b.dtype {
        return Err(Error::NotImplemented(format!("in-place operation on a {} view of a {} tensor that requires grad", v.dtype.name(), b.dtype.name())));
    }
    let (mut shape, mut strides, offset) = (v.shape.clone(), v.strides.clone(), if complex_view { v.offset * 2 } else { v.offset });
    if complex_view {
        strides.iter_mut().for_each(|s| *s *= 2);
        shape.push(2);
        strides.push(1);
    }
    let rel = offset.checked_sub(b.offset).ok_or_else(|| Error::Runtime("internal: view starts before its base".into()))?;
    crate::tensor::check_view_bounds(&shape, &strides, offset, b.dtype.size(), b.storage.nbytes())?;
    Ok(((shape, strides, rel), complex_view))
}

/// After an in-place op has written `dst`'s data, makes `dst`'s autograd history the new op.
/// `f` returns gradients for [dst's old value, others...]; `SaveItem::Output(0)` saves dst's new
/// value with its version, so a later in-place write makes backward raise like PyTorch. Writing through a view rebases
/// the view's base (PyTorch's CopySlices) so gradients reach everything upstream.
pub fn rebase_inplace(dst: &Tensor, others: &[&Tensor], name: impl Into<std::borrow::Cow<'static, str>>, save: Vec<autograd::SaveItem>, f: BackwardFn) -> Result<()> {
    let name = name.into();
    let base = dst.0.meta.lock().base.clone();
    let mut inputs: Vec<&Tensor> = vec![dst];
    inputs.extend_from_slice(others);
    match base {
        Some(b) if b.requires_grad() || others.iter().any(|o| o.requires_grad()) => {
            // value of the view after the op, as its own node
            let val = dst.detach();
            autograd::record(name.clone(), &inputs, &[&val], save, f);
            let vb = dst.body();
            // a real view of a complex base works on the base's [..., 2] real view
            let complex_base = b.dtype().is_complex() && !vb.dtype.is_complex();
            let bu = if complex_base { complex::view_as_real(&b)? } else { b.clone() };
            let bb = bu.body();
            if !bb.is_contiguous() {
                return Err(Error::NotImplemented("in-place operation on a view of a non-contiguous tensor that requires grad".into()));
            }
            let (geom, complex_view) = view_geometry(&bb, &vb)?;
            let base_shape = bb.shape.clone();
            // mask of the base positions the view does not cover
            let mask = Tensor::empty(&base_shape, bu.dtype())?;
            copy::fill_raw(&mask, 1.0)?;
            let region = shape::as_strided_raw(&mask, &geom.0, &geom.1, geom.2);
            copy::fill_raw(&region, 0.0)?;
            let g2 = geom.clone();
            autograd::record("CopySlices", &[&bu, &val], &[&bu], vec![], Box::new(move |_, g| {
                let Some(g) = &g[0] else { return Ok(vec![None, None]) };
                let gb = binary::mul(g, &mask)?;
                let gc = copy::contiguous(g)?;
                let gv = shape::as_strided(&gc, &g2.0, &g2.1, g2.2)?;
                let gv = if complex_view { complex::view_as_complex(&copy::contiguous(&gv)?)? } else { gv };
                Ok(vec![Some(gb), Some(gv)])
            }));
            if complex_base { autograd::set_history(&b, &complex::view_as_complex(&bu)?); }
            // the view now reads from the rebased base
            let v2 = shape::as_strided(&bu, &geom.0, &geom.1, geom.2)?;
            let v2 = if complex_view { complex::view_as_complex(&v2)? } else { v2 };
            autograd::set_history(dst, &v2);
            let now = dst.version();
            dst.0.meta.lock().view_version = now;
            Ok(())
        }
        _ => {
            autograd::record(name, &inputs, &[dst], save, f);
            Ok(())
        }
    }
}
