//! `torch.fft`'s primitive: a complex-to-complex transform along one dim with a real scale.
//! Lengths (`n=`), the real-input and Hermitian variants, multi-dim transforms and the norm
//! modes are compositions of it in `python/ferrotorch/fft.py`; autograd comes from its adjoint.
use crate::autograd;
use crate::error::{wrap_dim, Error, Result};
use crate::ops::{copy, shape};
use crate::tensor::Tensor;

/// DFT of `z` along `dim` (sign -1, or +1 when `inverse`), times `scale`. The adjoint of a
/// scaled DFT is the opposite-sign DFT with the same scale, which is the backward.
pub fn fft_c2c(z: &Tensor, dim: i64, inverse: bool, scale: f64) -> Result<Tensor> {
    let dt = z.dtype();
    if !dt.is_complex() {
        return Err(Error::Runtime(format!("fft_c2c expects a complex input tensor, but got {}", dt.legacy_name())));
    }
    let nd = z.ndim();
    if nd == 0 { return Err(Error::Index("Dimension specified as 0 but tensor has no dimensions".into())); }
    let d = wrap_dim(dim, nd)?;
    let n = z.shape()[d];
    // the transformed dim last and contiguous: each row is one transform
    let moved = copy::contiguous_clone(&shape::movedim_raw(&z.detach(), d, nd - 1))?;
    if n > 0 && moved.numel() > 0 { crate::backend::backend_of(&[&moved])?.fft_rows(&moved, n, inverse, scale)?; }
    let out = copy::contiguous_clone(&shape::movedim_raw(&moved, nd - 1, d))?;
    if autograd::needs_grad(&[z]) {
        autograd::record("FftC2CBackward0", &[z], &[&out], vec![], Box::new(move |_, g| {
            Ok(vec![g[0].as_ref().map(|g| fft_c2c(g, d as i64, !inverse, scale)).transpose()?])
        }));
    }
    Ok(out)
}
