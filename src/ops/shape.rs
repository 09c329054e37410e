//! Shape and view ops. Views share storage; their backward scatters the gradient into zeros
//! shaped like the input through the same view (so double backward reuses the view op).
use crate::autograd;
use crate::error::{wrap_dim, Error, Result};
use crate::ops::{binary, copy, reduce};
use crate::tensor::{contiguous_strides, Shape, Strides, Tensor};
use std::sync::Arc;

pub type ViewFn = Arc<dyn Fn(&Tensor) -> Result<Tensor> + Send + Sync>;

/// zeros(in_shape) with `view_fn(zeros) = g`: the backward of any non-overlapping view.
pub fn scatter_into_zeros(g: &Tensor, in_shape: &[usize], view_fn: ViewFn, name: &'static str) -> Result<Tensor> {
    let z = Tensor::zeros(in_shape, g.dtype())?;
    {
        let _ng = autograd::GradMode::set(false);
        let v = view_fn(&z)?;
        copy::copy_raw(&v, g)?;
    }
    if autograd::needs_grad(&[g]) {
        autograd::record(name, &[g], &[&z], vec![], Box::new(move |_, gg| Ok(vec![gg[0].as_ref().map(|gg| view_fn(gg)).transpose()?])));
    }
    Ok(z)
}

/// Records a view op: backward scatters through the same view.
fn record_view(x: &Tensor, out: &Tensor, name: &'static str, view_fn: ViewFn) {
    if autograd::needs_grad(&[x]) {
        let ishape = x.shape();
        autograd::record(name, &[x], &[out], vec![], Box::new(move |_, g| {
            Ok(vec![g[0].as_ref().map(|g| scatter_into_zeros(g, &ishape, view_fn.clone(), "ViewScatterBackward")).transpose()?])
        }));
    }
}

pub fn as_strided_raw(x: &Tensor, shape: &[usize], strides: &[isize], rel_offset: usize) -> Tensor {
    let off = x.offset() + rel_offset;
    x.view_of(shape.into(), strides.into(), off)
}

/// as_strided with the offset relative to `x`'s own offset.
pub fn as_strided(x: &Tensor, shape: &[usize], strides: &[isize], rel_offset: usize) -> Result<Tensor> {
    let out = as_strided_raw(x, shape, strides, rel_offset);
    let (s2, st2) = (shape.to_vec(), strides.to_vec());
    let ishape = x.shape();
    if autograd::needs_grad(&[x]) {
        // gradient of as_strided over a contiguous input: accumulate into zeros at the same geometry
        autograd::record("AsStridedBackward0", &[x], &[&out], vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            let (s3, st3) = (s2.clone(), st2.clone());
            Ok(vec![Some(scatter_into_zeros(g, &ishape, Arc::new(move |z: &Tensor| as_strided(&copy::contiguous(z)?, &s3, &st3, rel_offset)), "AsStridedScatterBackward")?)])
        }));
    }
    Ok(out)
}

pub fn permute_raw(x: &Tensor, perm: &[usize]) -> Tensor {
    let b = x.body();
    let shape: Shape = perm.iter().map(|&p| b.shape[p]).collect();
    let strides: Strides = perm.iter().map(|&p| b.strides[p]).collect();
    x.view_of(shape, strides, b.offset)
}

pub fn permute(x: &Tensor, dims: &[i64]) -> Result<Tensor> {
    let nd = x.ndim();
    if dims.len() != nd {
        return Err(Error::Runtime(format!("permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = {} is not equal to len(dims) = {}", nd, dims.len())));
    }
    let perm: Vec<usize> = dims.iter().map(|&d| wrap_dim(d, nd)).collect::<Result<_>>()?;
    let mut seen = vec![false; nd];
    for &p in &perm {
        if seen[p] { return Err(Error::Runtime("permute(): duplicate dims are not allowed.".into())); }
        seen[p] = true;
    }
    let out = permute_raw(x, &perm);
    if autograd::needs_grad(&[x]) {
        let mut inv = vec![0i64; nd];
        for (i, &p) in perm.iter().enumerate() { inv[p] = i as i64; }
        autograd::record("PermuteBackward0", &[x], &[&out], vec![], Box::new(move |_, g| Ok(vec![g[0].as_ref().map(|g| permute(g, &inv)).transpose()?])));
    }
    Ok(out)
}

pub fn transpose(x: &Tensor, d0: i64, d1: i64) -> Result<Tensor> {
    let nd = x.ndim();
    if nd == 0 { return Ok(alias(x)); }
    let (a, b) = (wrap_dim(d0, nd)?, wrap_dim(d1, nd)?);
    let mut perm: Vec<usize> = (0..nd).collect();
    perm.swap(a, b);
    let out = permute_raw(x, &perm);
    if autograd::needs_grad(&[x]) {
        autograd::record("TransposeBackward0", &[x], &[&out], vec![], Box::new(move |_, g| Ok(vec![g[0].as_ref().map(|g| transpose(g, a as i64, b as i64)).transpose()?])));
    }
    Ok(out)
}

/// `t.t()` with PyTorch's check.
pub fn t(x: &Tensor) -> Result<Tensor> {
    if x.ndim() > 2 { return Err(Error::Runtime(format!("t() expects a tensor with <= 2 dimensions, but self is {}D", x.ndim()))); }
    if x.ndim() < 2 { return Ok(alias(x)); }
    let out = permute_raw(x, &[1, 0]);
    if autograd::needs_grad(&[x]) {
        autograd::record("TBackward0", &[x], &[&out], vec![], Box::new(|_, g| Ok(vec![g[0].as_ref().map(t).transpose()?])));
    }
    Ok(out)
}

/// A differentiable alias (same data, identity gradient).
pub fn alias(x: &Tensor) -> Tensor {
    let b = x.body();
    let out = x.view_of(b.shape.clone(), b.strides.clone(), b.offset);
    if autograd::needs_grad(&[x]) {
        autograd::record("AliasBackward0", &[x], &[&out], vec![], Box::new(|_, g| Ok(vec![g[0].clone()])));
    }
    out
}

pub fn movedim_raw(x: &Tensor, src: usize, dst: usize) -> Tensor {
    let mut order: Vec<usize> = (0..x.ndim()).filter(|&d| d != src).collect();
    order.insert(dst, src);
    permute_raw(x, &order)
}

/// Resolves -1 and checks the element count.
pub fn infer_shape(shape: &[i64], numel: usize) -> Result<Shape> {
    let mut out: Shape = Shape::new();
    let mut infer = None;
    for (i, &s) in shape.iter().enumerate() {
        if s == -1 {
            if infer.is_some() { return Err(Error::Runtime("only one dimension can be inferred".into())); }
            infer = Some(i);
            out.push(1);
        } else if s < 0 {
            return Err(Error::Runtime(format!("invalid shape dimension {}", s)));
        } else {
            out.push(s as usize);
        }
    }
    let bad = || Error::Runtime(format!("shape '[{}]' is invalid for input of size {}", shape.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "), numel));
    // an overflowing product can never equal a real tensor's numel
    let prod = crate::tensor::checked_numel(&out).map_err(|_| bad())?;
    if let Some(i) = infer {
        if prod == 0 || numel % prod != 0 { return Err(bad()); }
        out[i] = numel / prod;
    } else if prod != numel {
        return Err(bad());
    }
    Ok(out)
}

/// Strides for viewing (shape, strides) as `new` without copying, if possible (PyTorch's computeStride).
pub fn compute_stride(old: &[usize], olds: &[isize], new: &[usize]) -> Option<Strides> {
    if old.is_empty() || old.iter().product::<usize>() == 0 { return Some(contiguous_strides(new)); }
    let mut ns: Strides = smallvec::smallvec![0; new.len()];
    let mut view_d = new.len() as isize - 1;
    let mut chunk = *olds.last().unwrap();
    let mut tnumel = 1usize;
    let mut vnumel = 1usize;
    for td in (0..old.len()).rev() {
        tnumel *= old[td];
        if td == 0 || (old[td - 1] != 1 && olds[td - 1] != tnumel as isize * chunk) {
            while view_d >= 0 && (vnumel < tnumel || new[view_d as usize] == 1) {
                ns[view_d as usize] = vnumel as isize * chunk;
                vnumel *= new[view_d as usize];
                view_d -= 1;
            }
            if vnumel != tnumel { return None; }
            if td > 0 {
                chunk = olds[td - 1];
                tnumel = 1;
                vnumel = 1;
            }
        }
    }
    if view_d != -1 { return None; }
    Some(ns)
}

/// A view with a new shape over contiguous data (internal, no autograd).
pub fn reshape_raw(x: &Tensor, shape: &[usize]) -> Tensor {
    let b = x.body();
    let st = compute_stride(&b.shape, &b.strides, shape).expect("reshape_raw on incompatible layout");
    x.view_of(shape.into(), st, b.offset)
}

fn record_reshape(x: &Tensor, out: &Tensor, name: &'static str) {
    if autograd::needs_grad(&[x]) {
        let ishape: Vec<i64> = x.shape().iter().map(|&v| v as i64).collect();
        autograd::record(name, &[x], &[out], vec![], Box::new(move |_, g| Ok(vec![g[0].as_ref().map(|g| reshape(g, &ishape)).transpose()?])));
    }
}

pub fn view(x: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let b = x.body();
    let ns = infer_shape(shape, b.numel())?;
    let st = compute_stride(&b.shape, &b.strides, &ns).ok_or_else(|| Error::Runtime(
        "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.".into()))?;
    let out = x.view_of(ns, st, b.offset);
    record_reshape(x, &out, "ViewBackward0");
    Ok(out)
}

pub fn reshape(x: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let b = x.body();
    let ns = infer_shape(shape, b.numel())?;
    if let Some(st) = compute_stride(&b.shape, &b.strides, &ns) {
        let out = x.view_of(ns, st, b.offset);
        record_reshape(x, &out, "ViewBackward0");
        return Ok(out);
    }
    let c = copy::clone(x)?;
    let cb = c.body();
    let out = c.view_of(ns.clone(), contiguous_strides(&ns), cb.offset);
    record_reshape(&c, &out, "UnsafeViewBackward0");
    Ok(out)
}

pub fn expand(x: &Tensor, sizes: &[i64]) -> Result<Tensor> {
    let b = x.body();
    let nd = sizes.len();
    if nd < b.shape.len() {
        return Err(Error::Runtime(format!("expand(torch.FloatTensor{{[{}]}}, size=[{}]): the number of sizes provided ({}) must be greater or equal to the number of dimensions in the tensor ({})",
            join(&b.shape), sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "), nd, b.shape.len())));
    }
    let off = nd - b.shape.len();
    let mut shape: Shape = Shape::new();
    let mut strides: Strides = Strides::new();
    for i in 0..nd {
        let s = sizes[i];
        if i < off {
            if s < 0 { return Err(Error::Runtime(format!("The expanded size of the tensor ({}) isn't allowed in a leading, non-existing dimension {}", s, i))); }
            shape.push(s as usize);
            strides.push(0);
        } else {
            let (cur, cst) = (b.shape[i - off], b.strides[i - off]);
            if s == -1 || s as usize == cur {
                shape.push(cur);
                strides.push(cst);
            } else if cur == 1 && s >= 0 {
                shape.push(s as usize);
                strides.push(0);
            } else {
                return Err(Error::Runtime(format!("The expanded size of the tensor ({}) must match the existing size ({}) at non-singleton dimension {}.  Target sizes: [{}].  Tensor sizes: [{}]",
                    s, cur, i, sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "), join(&b.shape))));
            }
        }
    }
    crate::tensor::checked_numel(&shape)?;
    let out = x.view_of(shape, strides, b.offset);
    if autograd::needs_grad(&[x]) {
        let ishape = b.shape.clone();
        autograd::record("ExpandBackward0", &[x], &[&out], vec![], Box::new(move |_, g| Ok(vec![g[0].as_ref().map(|g| reduce::sum_to_shape(g, &ishape)).transpose()?])));
    }
    Ok(out)
}

pub fn join(s: &[usize]) -> String { s.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ") }

pub fn squeeze_dims(x: &Tensor, dims: &[usize]) -> Result<Tensor> { squeeze_dims_as(x, dims, "SqueezeBackward0") }

/// `squeeze` recording PyTorch's overload name (0: all dims, 1: one int dim, 2: a dim list).
pub fn squeeze_dims_as(x: &Tensor, dims: &[usize], name: &'static str) -> Result<Tensor> {
    let b = x.body();
    let (mut shape, mut strides) = (Shape::new(), Strides::new());
    for i in 0..b.shape.len() {
        if dims.contains(&i) && b.shape[i] == 1 { continue; }
        shape.push(b.shape[i]);
        strides.push(b.strides[i]);
    }
    let out = x.view_of(shape, strides, b.offset);
    record_reshape(x, &out, name);
    Ok(out)
}

pub fn squeeze(x: &Tensor, dims: Option<&[i64]>) -> Result<Tensor> {
    let nd = x.ndim();
    let ds: Vec<usize> = match dims {
        None => (0..nd).collect(),
        Some(d) => d.iter().map(|&v| wrap_dim(v, nd)).collect::<Result<_>>()?,
    };
    squeeze_dims(x, &ds)
}

pub fn unsqueeze(x: &Tensor, dim: i64) -> Result<Tensor> {
    let b = x.body();
    let d = wrap_dim(dim, b.shape.len() + 1)?;
    let mut shape = b.shape.clone();
    let mut strides = b.strides.clone();
    let st = if d < b.shape.len() { b.strides[d] * b.shape[d] as isize } else { 1 };
    shape.insert(d, 1);
    strides.insert(d, st);
    let out = x.view_of(shape, strides, b.offset);
    record_reshape(x, &out, "UnsqueezeBackward0");
    Ok(out)
}

/// x[start:end:step] along dim (a view).
pub fn slice(x: &Tensor, dim: usize, start: usize, end: usize, step: usize) -> Result<Tensor> {
    let b = x.body();
    let len = if end > start { (end - start).div_ceil(step) } else { 0 };
    let mut shape = b.shape.clone();
    let mut strides = b.strides.clone();
    let off = (b.offset as isize + start as isize * b.strides[dim]) as usize;
    shape[dim] = len;
    strides[dim] *= step as isize;
    let out = x.view_of(shape, strides, off);
    record_view(x, &out, "SliceBackward0", Arc::new(move |z| slice(z, dim, start, end, step)));
    Ok(out)
}

pub fn narrow(x: &Tensor, dim: i64, start: i64, length: i64) -> Result<Tensor> {
    if x.ndim() == 0 { return Err(Error::Runtime("narrow() cannot be applied to a 0-dim tensor.".into())); }
    let d = wrap_dim(dim, x.ndim())?;
    let n = x.shape()[d] as i64;
    let s = if start < 0 { start + n } else { start };
    if s < 0 || length < 0 || s + length > n {
        return Err(Error::Runtime(format!("start ({}) + length ({}) exceeds dimension size ({}).", start, length, n)));
    }
    slice(x, d, s as usize, (s + length) as usize, 1)
}

/// x.select(dim, i): removes dim.
pub fn select(x: &Tensor, dim: i64, index: i64) -> Result<Tensor> {
    let nd = x.ndim();
    if nd == 0 { return Err(Error::Index("select() cannot be applied to a 0-dim tensor.".into())); }
    let d = wrap_dim(dim, nd)?;
    let b = x.body();
    let n = b.shape[d] as i64;
    if index < -n || index >= n {
        return Err(Error::Index(format!("index {} is out of bounds for dimension {} with size {}", index, d, n)));
    }
    let i = if index < 0 { index + n } else { index } as usize;
    let off = (b.offset as isize + i as isize * b.strides[d]) as usize;
    let mut shape = b.shape.clone();
    let mut strides = b.strides.clone();
    shape.remove(d);
    strides.remove(d);
    let out = x.view_of(shape, strides, off);
    record_view(x, &out, "SelectBackward0", Arc::new(move |z| select(z, d as i64, i as i64)));
    Ok(out)
}

pub fn diagonal(x: &Tensor, offset: i64, d1: i64, d2: i64) -> Result<Tensor> {
    let nd = x.ndim();
    let (a, c) = (wrap_dim(d1, nd)?, wrap_dim(d2, nd)?);
    if a == c { return Err(Error::Runtime(format!("diagonal dimensions cannot be identical {}, {}", d1, d2))); }
    let b = x.body();
    let (na, nc) = (b.shape[a] as i64, b.shape[c] as i64);
    let len = if offset >= 0 { (na).min(nc - offset).max(0) } else { (na + offset).min(nc).max(0) } as usize;
    let mut off = b.offset as isize;
    if len > 0 {
        off += if offset >= 0 { offset as isize * b.strides[c] } else { -offset as isize * b.strides[a] };
    }
    let (mut shape, mut strides) = (Shape::new(), Strides::new());
    for i in 0..nd {
        if i != a && i != c { shape.push(b.shape[i]); strides.push(b.strides[i]); }
    }
    shape.push(len);
    strides.push(b.strides[a] + b.strides[c]);
    let out = x.view_of(shape, strides, off as usize);
    record_view(x, &out, "DiagonalBackward0", Arc::new(move |z| diagonal(z, offset, a as i64, c as i64)));
    Ok(out)
}

/// Tensor.unfold(dim, size, step): windows as a new last dim (overlapping view).
pub fn unfold(x: &Tensor, dim: i64, size: i64, step: i64) -> Result<Tensor> {
    let nd = x.ndim();
    let d = if nd == 0 { 0 } else { wrap_dim(dim, nd)? };
    if size < 0 { return Err(Error::Runtime(format!("size is {} but must be >= 0", size))); }
    if step <= 0 { return Err(Error::Runtime(format!("step is {} but must be > 0", step))); }
    let (size, step) = (size as usize, step as usize);
    let b = x.body();
    let n = if nd == 0 { 1 } else { b.shape[d] };
    if size > n { return Err(Error::Runtime(format!("maximum size for tensor at dimension {} is {} but size is {}", d, n, size))); }
    if step == 0 { return Err(Error::Runtime("step is 0 but must be > 0".into())); }
    let mut shape = b.shape.clone();
    let mut strides = b.strides.clone();
    let st = if nd == 0 { 1 } else { b.strides[d] };
    if nd > 0 {
        shape[d] = (n - size) / step + 1;
        strides[d] = st * step as isize;
    }
    shape.push(size);
    strides.push(st);
    let out = x.view_of(shape, strides, b.offset);
    if autograd::needs_grad(&[x]) {
        let ishape = b.shape.clone();
        autograd::record("UnfoldBackward0", &[x], &[&out], vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            Ok(vec![Some(unfold_backward(g, &ishape, d, size, step)?)])
        }));
    }
    Ok(out)
}

/// Sums each window's gradient back onto the positions it covers: one pass over the gradient,
/// parallel over the dims before `d` (windows of different rows never overlap).
fn unfold_backward(g: &Tensor, ishape: &[usize], d: usize, size: usize, step: usize) -> Result<Tensor> {
    let dt = g.dtype();
    let kd = dt.compute();
    let gc = copy::contiguous_as(g, kd)?;
    let z = Tensor::alloc_on(ishape, kd, g.device(), true)?;
    let nd = ishape.len();
    let (n, inner) = if nd == 0 { (1, 1) } else { (ishape[d], ishape[d + 1..].iter().product::<usize>()) };
    crate::backend::backend_of(&[g])?.unfold_backward(&z, &gc, n, inner, size, step)?;
    let z = if kd != dt { copy::contiguous_as(&z, dt)? } else { z };
    if autograd::needs_grad(&[g]) {
        autograd::record("UnfoldBackwardBackward0", &[g], &[&z], vec![], Box::new(move |_, gg| {
            Ok(vec![gg[0].as_ref().map(|gg| unfold(gg, d as i64, size as i64, step as i64)).transpose()?])
        }));
    }
    Ok(z)
}

pub fn flip(x: &Tensor, dims: &[i64]) -> Result<Tensor> {
    let nd = x.ndim();
    if nd == 0 {
        for &d in dims { wrap_dim(d, 0)?; }
        return copy::clone(x);
    }
    let ds: Vec<usize> = dims.iter().map(|&d| wrap_dim(d, nd)).collect::<Result<_>>()?;
    // flipping a dim twice would move the offset past the view's last element
    for (i, &d) in ds.iter().enumerate() {
        if ds[..i].contains(&d) { return Err(Error::Runtime(format!("dim {} appears multiple times in the list of dims", d))); }
    }
    let b = x.body();
    let mut off = b.offset as isize;
    let mut strides = b.strides.clone();
    for &d in &ds {
        if b.shape[d] > 0 { off += (b.shape[d] as isize - 1) * b.strides[d]; }
        strides[d] = -strides[d];
    }
    let v = x.view_of(b.shape.clone(), strides, off as usize);
    let out = copy::contiguous_clone(&v)?;
    if autograd::needs_grad(&[x]) {
        let dd = dims.to_vec();
        autograd::record("FlipBackward0", &[x], &[&out], vec![], Box::new(move |_, g| Ok(vec![g[0].as_ref().map(|g| flip(g, &dd)).transpose()?])));
    }
    Ok(out)
}

pub fn cat(ts: &[Tensor], dim: i64) -> Result<Tensor> {
    if ts.is_empty() { return Err(Error::Runtime("torch.cat(): expected a non-empty list of Tensors".into())); }
    // legacy: 1-D empty tensors are skipped, but their dtypes still take part in the result type
    // and they still get (empty) gradients
    let skipped = |t: &Tensor| t.ndim() == 1 && t.numel() == 0;
    let dt = ts.iter().skip(1).fold(ts[0].dtype(), |a, t| crate::dtype::promote(a, t.dtype()));
    let parts: Vec<&Tensor> = ts.iter().filter(|t| !skipped(t)).collect();
    let (out, d, sizes) = if parts.is_empty() {
        (Tensor::empty(&[0], dt)?, 0, vec![None; ts.len()])
    } else {
        let nd = parts[0].ndim();
        if nd == 0 { return Err(Error::Runtime("zero-dimensional tensor (at position 0) cannot be concatenated".into())); }
        let d = wrap_dim(dim, nd)?;
        let s0 = parts[0].shape();
        let mut total = 0;
        for (i, t) in parts.iter().enumerate() {
            let s = t.shape();
            if s.len() != nd {
                return Err(Error::Runtime(format!("Tensors must have same number of dimensions: got {} and {}", nd, s.len())));
            }
            for k in 0..nd {
                if k != d && s[k] != s0[k] {
                    return Err(Error::Runtime(format!("Sizes of tensors must match except in dimension {}. Expected size {} but got size {} for tensor number {} in the list.", d, s0[k], s[k], i)));
                }
            }
            total += s[d];
        }
        let mut shape = s0.clone();
        shape[d] = total;
        let out = Tensor::empty(&shape, dt)?;
        let mut pos = 0;
        for t in &parts {
            let n = t.shape()[d];
            let dst = slice(&out.detach(), d, pos, pos + n, 1)?;
            copy::copy_raw(&dst, t)?;
            pos += n;
        }
        // each input's extent along d; None for the skipped ones
        let sizes: Vec<Option<usize>> = ts.iter().map(|t| (!skipped(t)).then(|| t.shape()[d])).collect();
        (out, d, sizes)
    };
    let refs: Vec<&Tensor> = ts.iter().collect();
    if dt.is_differentiable() && autograd::needs_grad(&refs) {
        let dtypes: Vec<crate::dtype::DType> = ts.iter().map(|t| t.dtype()).collect();
        autograd::record("CatBackward0", &refs, &[&out], vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None; sizes.len()]) };
            let mut p = 0;
            let mut r = vec![];
            for (size, &dt) in sizes.iter().zip(&dtypes) {
                match *size {
                    Some(n) => { r.push(Some(slice(g, d, p, p + n, 1)?)); p += n; }
                    None => r.push(Some(Tensor::zeros(&[0], dt)?)),
                }
            }
            Ok(r)
        }));
    }
    Ok(out)
}

pub fn stack(ts: &[Tensor], dim: i64) -> Result<Tensor> {
    if ts.is_empty() { return Err(Error::Runtime("stack expects a non-empty TensorList".into())); }
    let s0 = ts[0].shape();
    for (i, t) in ts.iter().enumerate() {
        if t.shape() != s0 {
            return Err(Error::Runtime(format!("stack expects each tensor to be equal size, but got [{}] at entry 0 and [{}] at entry {}", join(&s0), join(&t.shape()), i)));
        }
    }
    let d = wrap_dim(dim, s0.len() + 1)? as i64;
    let out = {
        let _g = autograd::GradMode::set(false);
        let us: Vec<Tensor> = ts.iter().map(|t| unsqueeze(t, d)).collect::<Result<_>>()?;
        cat(&us, d)?
    };
    let refs: Vec<&Tensor> = ts.iter().collect();
    if out.dtype().is_differentiable() && autograd::needs_grad(&refs) {
        let n = ts.len();
        autograd::record("StackBackward0", &refs, &[&out], vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None; n]) };
            (0..n).map(|i| select(g, d, i as i64).map(Some)).collect()
        }));
    }
    Ok(out)
}

/// repeat via unsqueeze/expand/reshape so the gradient sums over repeats automatically.
pub fn repeat(x: &Tensor, reps: &[i64]) -> Result<Tensor> {
    let nd = x.ndim();
    if reps.len() < nd {
        return Err(Error::Runtime("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor".into()));
    }
    if let Some(&r) = reps.iter().find(|&&r| r < 0) {
        return Err(Error::Runtime(format!("Trying to create tensor with negative dimension {}: [{}]", r, reps.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "))));
    }
    let lead = reps.len() - nd;
    let mut shape: Vec<i64> = vec![1; lead];
    shape.extend(x.shape().iter().map(|&v| v as i64));
    let xr = reshape(x, &shape)?;
    // [1, s0, 1, s1, ...] -> expand [r0, s0, r1, s1, ...] -> reshape [r0*s0, ...]
    let mut inter = vec![];
    let mut exp = vec![];
    let mut fin = vec![];
    for (i, &s) in shape.iter().enumerate() {
        inter.push(1); inter.push(s);
        exp.push(reps[i]); exp.push(s);
        fin.push(reps[i].checked_mul(s).ok_or_else(|| Error::Runtime(format!("Storage size calculation overflowed with sizes=[{}]", exp.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "))))?);
    }
    // the result must be allocatable before the (huge) expanded view is formed
    crate::tensor::checked_nbytes(&fin.iter().map(|&v| v as usize).collect::<Vec<_>>(), x.dtype().size())?;
    let y = reshape(&xr, &inter)?;
    let y = expand(&y, &exp)?;
    let y = copy::contiguous(&y)?;
    reshape(&y, &fin)
}

/// tril/triu: zero the other triangle of the last two dims.
pub fn tri(x: &Tensor, diag: i64, upper: bool) -> Result<Tensor> {
    let nd = x.ndim();
    if nd < 2 { return Err(Error::Runtime(format!("{}: input tensor must have at least 2 dimensions", if upper { "triu" } else { "tril" }))); }
    let sh = x.shape();
    let (r, c) = (sh[nd - 2], sh[nd - 1]);
    let mut mask = vec![false; r * c];
    for i in 0..r {
        for j in 0..c {
            let keep = if upper { (j as i64 - i as i64) >= diag } else { (j as i64 - i as i64) <= diag };
            mask[i * c + j] = !keep;
        }
    }
    let m = Tensor::from_vec(mask, &[r, c])?;
    let out = {
        let _g = autograd::GradMode::set(false);
        crate::ops::index::masked_fill(x, &m, &binary::Operand::S(crate::dtype::Scalar::Int(0)))?
    };
    if x.dtype().is_differentiable() && autograd::needs_grad(&[x]) {
        autograd::record(if upper { "TriuBackward0" } else { "TrilBackward0" }, &[x], &[&out], vec![], Box::new(move |_, g| Ok(vec![g[0].as_ref().map(|g| tri(g, diag, upper)).transpose()?])));
    }
    Ok(out)
}

