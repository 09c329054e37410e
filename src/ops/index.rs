//! Indexing ops: gather/scatter family, advanced indexing, masks, sorting.
use crate::autograd;
use crate::dtype::{DType, Scalar};
use crate::error::{wrap_dim, Error, Result};
use crate::ops::binary::{self, Operand};
use crate::backend::backend_of;
use crate::ops::{broadcast_shapes, copy, reduce, shape};
use crate::tensor::{Shape, Tensor};

fn check_index_dtype(idx: &Tensor, what: &str) -> Result<()> {
    // PyTorch checks nothing about an empty index (dtype, rank or sizes): the op is a no-op
    if idx.numel() > 0 && idx.dtype() != DType::I64 && idx.dtype() != DType::I32 {
        return Err(Error::Runtime(format!("{}(): Expected dtype int64 for index", what)));
    }
    Ok(())
}

/// `masked_fill(x, mask, value)` (mask broadcasts to x).
pub fn masked_fill(x: &Tensor, mask: &Tensor, value: &Operand) -> Result<Tensor> {
    if mask.dtype() != DType::Bool {
        return Err(Error::Runtime(format!("masked_fill_ only supports boolean masks, but got mask with dtype {}", mask.dtype().name())));
    }
    let v = match value {
        Operand::S(s) => { s.check_fits(x.dtype())?; Operand::S(*s) }
        Operand::T(t) => {
            if t.ndim() != 0 { return Err(Error::Runtime(format!("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {} dimension(s).", t.ndim()))); }
            Operand::T(copy::to_dtype(t, x.dtype())?)
        }
    };
    let vv = match &v { Operand::T(t) => Operand::T(t.clone()), Operand::S(s) => Operand::S(*s) };
    let out = {
        let _g = autograd::GradMode::set(false);
        let vt = match &vv { Operand::T(t) => t.clone(), Operand::S(s) => crate::ops::binary::as_dtype(&Operand::S(*s), x.dtype())? };
        binary::where_(mask, &Operand::T(vt), &Operand::T(x.clone()))?
    };
    // out-of-place masked_fill takes the broadcast shape of input and mask (PyTorch)
    let out = if out.dtype() != x.dtype() { copy::contiguous_as(&out, x.dtype())? } else { out };
    let mut ins = vec![x];
    if let Operand::T(t) = value { ins.push(t) }
    if x.dtype().is_differentiable() && autograd::needs_grad(&ins) {
        let m = mask.clone();
        let has_v = ins.len() == 2;
        autograd::record("MaskedFillBackward0", &ins, &[&out], vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None; 1 + has_v as usize]) };
            let gx = masked_fill(g, &m, &Operand::S(Scalar::Float(0.0)))?;
            let mut r = vec![Some(gx)];
            if has_v {
                let inv = crate::ops::unary::logical_not(&m)?;
                r.push(Some(reduce::sum(&masked_fill(g, &inv, &Operand::S(Scalar::Float(0.0)))?, None, false, None)?));
            }
            Ok(r)
        }));
    }
    Ok(out)
}

/// The first index outside [0, n) (n >= 0), if any: one pass the compiler vectorises (an
/// unsigned comparison catches negative indices too), and a search only after a miss.
fn first_out_of_range(iv: &[i64], n: i64) -> Option<i64> {
    let bound = n.max(0) as u64;
    if !iv.iter().fold(false, |bad, &v| bad | (v as u64 >= bound)) { return None; }
    iv.iter().copied().find(|&v| v as u64 >= bound)
}

/// Offsets of x's elements addressed along `dim` by each element of idx (gather/scatter layout).
fn gather_offsets(x: &Tensor, dim: usize, idx: &Tensor, what: &str) -> Result<Vec<isize>> {
    let xb = x.body();
    let ish = idx.shape();
    let iv = idx.to_vec::<i64>()?;
    let n = xb.shape.get(dim).copied().unwrap_or(1) as i64;
    if iv.is_empty() { return Ok(vec![]); }
    if ish.len() != xb.shape.len() && !(xb.shape.is_empty() && ish.len() <= 1) {
        return Err(Error::Runtime(format!("Index tensor must have the same number of dimensions as {} tensor", if what == "gather" { "input" } else { "self" })));
    }
    for k in 0..ish.len() {
        if k != dim && ish[k] > xb.shape[k] {
            return Err(Error::Runtime(format!("Size does not match at dimension {} expected index [{}] to be smaller than self [{}] apart from dimension {}", k, shape::join(&ish), shape::join(&xb.shape), dim)));
        }
    }
    // PyTorch does not wrap negative indices here: they are out of bounds like any other
    if let Some(v) = first_out_of_range(&iv, n) {
        return Err(Error::Runtime(format!("index {} is out of bounds for dimension {} with size {}", v, dim, n)));
    }
    let stride = |k: usize| if k == dim { 0 } else { xb.strides.get(k).copied().unwrap_or(0) };
    let dim_stride = xb.strides.get(dim).copied().unwrap_or(0);
    if ish.len() <= 1 && dim_stride == 1 {
        // a vector index along a unit-stride dim: the offsets are the indices themselves (the
        // collect reuses iv's buffer, i64 and isize being the same size)
        return Ok(iv.into_iter().map(|v| v as isize).collect());
    }
    let mut offs = Vec::with_capacity(iv.len());
    // idx's last dim is one run (its offset steps by that dim's stride, or by the index along
    // `dim`); the dims before it advance as an odometer, `base` their offset outside `dim`
    let (outer, last) = match ish.len() { 0 => (&ish[..0], 1), l => (&ish[..l - 1], ish[l - 1]) };
    let step = if ish.is_empty() { 0 } else { stride(ish.len() - 1) };
    let mut ctr = vec![0usize; outer.len()];
    let mut base = 0isize;
    for run in iv.chunks(last.max(1)) {
        offs.extend(run.iter().enumerate().map(|(j, &v)| base + j as isize * step + v as isize * dim_stride));
        for k in (0..outer.len()).rev() {
            ctr[k] += 1;
            base += stride(k);
            if ctr[k] < outer[k] { break; }
            base -= outer[k] as isize * stride(k);
            ctr[k] = 0;
        }
    }
    Ok(offs)
}

pub fn gather(x: &Tensor, dim: i64, idx: &Tensor) -> Result<Tensor> {
    check_index_dtype(idx, "gather")?;
    if x.ndim() == 0 {
        // a 0-dim input behaves as a one-element vector
        return gather(&shape::reshape(x, &[1])?, dim, &shape::reshape(idx, &[-1])?).and_then(|r| shape::reshape(&r, &idx.shape().iter().map(|&v| v as i64).collect::<Vec<_>>()));
    }
    let d = wrap_dim(dim, x.ndim())?;
    let offs = gather_offsets(x, d, idx, "gather")?;
    let be = backend_of(&[x, idx])?;
    let out = Tensor::alloc_on(&idx.shape(), x.dtype(), be.device(), false)?;
    be.gather_at(&out, x, &offs)?;
    if x.dtype().is_differentiable() && autograd::needs_grad(&[x]) {
        let (ish, id) = (x.shape(), idx.clone());
        autograd::record("GatherBackward0", &[x], &[&out], vec![], Box::new(move |_, g| {
            Ok(vec![g[0].as_ref().map(|g| scatter_add(&Tensor::zeros(&ish, g.dtype())?, d as i64, &id, g)).transpose()?])
        }));
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Reduce { None, Add, Mul, Amax, Amin, Mean }

/// out = x.clone(); out[idx positions along dim] (op)= src.
fn scatter_impl(x: &Tensor, d: usize, idx: &Tensor, src: &Operand, red: Reduce, include_self: bool) -> Result<Tensor> {
    let out = copy::contiguous_clone(x)?;
    scatter_into(&out, d, idx, src, red, include_self)?;
    Ok(out)
}

/// Scatters `src` (values of `out`'s dtype, or a number) into `out` at `idx` along dim `d`.
fn scatter_into(out: &Tensor, d: usize, idx: &Tensor, src: &Operand, red: Reduce, include_self: bool) -> Result<()> {
    let x = out;
    let offs = gather_offsets(out, d, idx, "scatter")?;
    let ish = idx.shape();
    let n = offs.len();
    let be = backend_of(&[x, idx])?;
    // src values in idx's iteration order
    let vals = match src {
        Operand::S(sc) => { let v = Tensor::alloc_on(&[n], x.dtype(), be.device(), false)?; be.fill(&v, *sc)?; v }
        // a contiguous src of idx's shape is already in that order (and must not be `out`)
        Operand::T(t) if t.is_contiguous() && t.shape() == ish && !std::sync::Arc::ptr_eq(&t.storage(), &out.storage()) => t.clone(),
        Operand::T(t) => {
            let st = t.body().strides;
            let mut toffs: Vec<isize> = Vec::with_capacity(n);
            let mut ctr = vec![0usize; ish.len()];
            for _ in 0..n {
                toffs.push((0..ish.len()).map(|k| ctr[k] as isize * st.get(k).copied().unwrap_or(0)).sum());
                for k in (0..ish.len()).rev() { ctr[k] += 1; if ctr[k] < ish[k] { break; } ctr[k] = 0; }
            }
            let v = Tensor::alloc_on(&[n], x.dtype(), be.device(), false)?;
            be.gather_at(&v, t, &toffs)?;
            v
        }
    };
    be.scatter_at(out, &offs, &vals, red, include_self)
}

/// scatter's checks: the dim wrapped, and src in x's dtype and no smaller than idx.
fn scatter_args(x: &Tensor, dim: i64, idx: &Tensor, src: &Operand) -> Result<(usize, Operand)> {
    let d = wrap_dim(dim, x.ndim())?;
    let src = match src { Operand::T(t) if t.dtype() != x.dtype() => Operand::T(copy::to_dtype(t, x.dtype())?), o => o.clone() };
    // (an empty index is not checked against src, as in PyTorch)
    if let (Operand::T(t), true) = (&src, idx.numel() > 0) {
        let (ts, is) = (t.shape(), idx.shape());
        if ts.len() != is.len() || is.iter().zip(ts.iter()).any(|(i, s)| i > s) {
            return Err(Error::Runtime(format!("Expected index [{}] to be smaller than self [{}] apart from dimension {} and to be smaller size than src [{}]", shape::join(&is), shape::join(&x.shape()), d, shape::join(&ts))));
        }
    }
    Ok((d, src))
}

/// `x.scatter_(dim, idx, src)` (or scatter_add_) written into x itself, without autograd: the
/// Python layer takes it when no gradient is recorded (else the out-of-place form and a copy).
pub fn scatter_inplace(x: &Tensor, dim: i64, idx: &Tensor, src: &Operand, reduce_: Reduce) -> Result<Tensor> {
    check_index_dtype(idx, "scatter")?;
    if x.ndim() == 0 {
        let src1 = match src { Operand::T(t) => Operand::T(shape::reshape(t, &[-1])?), o => o.clone() };
        scatter_inplace(&shape::reshape(x, &[1])?, dim, &shape::reshape(idx, &[-1])?, &src1, reduce_)?;
        return Ok(x.clone());
    }
    let (d, src) = scatter_args(x, dim, idx, src)?;
    crate::ops::inplace_check(x)?;
    if let Operand::T(t) = &src { crate::ops::assert_no_overlap(x, t)?; }
    scatter_into(x, d, idx, &src, reduce_, true)?;
    x.bump_version();
    Ok(x.clone())
}

pub fn scatter(x: &Tensor, dim: i64, idx: &Tensor, src: &Operand, reduce_: Reduce) -> Result<Tensor> {
    check_index_dtype(idx, "scatter")?;
    if x.ndim() == 0 {
        let src1 = match src { Operand::T(t) => Operand::T(shape::reshape(t, &[-1])?), o => o.clone() };
        let r = scatter(&shape::reshape(x, &[1])?, dim, &shape::reshape(idx, &[-1])?, &src1, reduce_)?;
        return shape::reshape(&r, &[]);
    }
    let (d, src) = scatter_args(x, dim, idx, src)?;
    let out = scatter_impl(x, d, idx, &src, reduce_, true)?;
    let mut ins = vec![x];
    if let Operand::T(t) = &src { ins.push(t) }
    if x.dtype().is_differentiable() && autograd::needs_grad(&ins) {
        let id = idx.clone();
        let has_src = ins.len() == 2;
        let add = reduce_ == Reduce::Add;
        let name = if add { "ScatterAddBackward0" } else if has_src { "ScatterBackward0" } else { "ScatterBackward1" };
        autograd::record(name, &ins, &[&out], vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None; 1 + has_src as usize]) };
            let gx = if add { g.clone() } else { scatter(g, d as i64, &id, &Operand::S(Scalar::Float(0.0)), Reduce::None)? };
            let mut r = vec![Some(gx)];
            if has_src { r.push(Some(gather(g, d as i64, &id)?)); }
            Ok(r)
        }));
    }
    Ok(out)
}

pub fn scatter_add(x: &Tensor, dim: i64, idx: &Tensor, src: &Tensor) -> Result<Tensor> {
    scatter(x, dim, idx, &Operand::T(src.clone()), Reduce::Add)
}

/// scatter_reduce with PyTorch's backward for every reduction (ScatterReduceBackward0).
pub fn scatter_reduce(x: &Tensor, dim: i64, idx: &Tensor, src: &Tensor, red: Reduce, include_self: bool) -> Result<Tensor> {
    if x.ndim() == 0 {
        let r = scatter_reduce(&shape::reshape(x, &[1])?, dim, &shape::reshape(idx, &[-1])?, &shape::reshape(src, &[-1])?, red, include_self)?;
        return shape::reshape(&r, &[]);
    }
    let d = wrap_dim(dim, x.ndim())?;
    let src = copy::to_dtype(src, x.dtype())?;
    let out = scatter_impl(x, d, idx, &Operand::T(src.clone()), red, include_self)?;
    if x.dtype().is_differentiable() && autograd::needs_grad(&[x, &src]) {
        let id = idx.clone();
        let save = vec![autograd::SaveItem::Input(x), autograd::SaveItem::Input(&src), autograd::SaveItem::Output(0)];
        autograd::record("ScatterReduceBackward0", &[x, &src], &[&out], save, Box::new(move |s, g| {
            let Some(g) = &g[0] else { return Ok(vec![None, None]) };
            let (gx, gs) = scatter_reduce_backward(g, &s[0], &s[1], &s[2], d, &id, red, include_self)?;
            Ok(vec![Some(gx), Some(gs)])
        }));
    }
    Ok(out)
}

/// PyTorch's scatter_reduce gradients: sum/mean spread evenly, amax/amin split among ties,
/// prod divides out each factor (exactly, with zeros handled by masking).
#[allow(clippy::too_many_arguments)]
fn scatter_reduce_backward(g: &Tensor, x: &Tensor, src: &Tensor, result: &Tensor, d: usize, id: &Tensor, red: Reduce, include_self: bool) -> Result<(Tensor, Tensor)> {
    use crate::ops::binary::{cmp, div, mul, where_mask_fill, BinOp};
    let di = d as i64;
    let zero = Operand::S(Scalar::Float(0.0));
    let ones_like = |t: &Tensor| -> Result<Tensor> { let o = Tensor::empty(&t.shape(), t.dtype())?; copy::fill_raw(&o, 1.0)?; Ok(o) };
    let (gx, gs) = match red {
        Reduce::Add | Reduce::None => (g.clone(), gather(g, di, id)?),
        Reduce::Mean => {
            let base = if include_self { ones_like(x)? } else { Tensor::zeros(&x.shape(), x.dtype())? };
            let n = scatter(&base, di, id, &Operand::T(ones_like(src)?), Reduce::Add)?;
            let n = where_mask_fill(&n, &cmp(BinOp::Eq, &n, &zero)?, 1.0)?;
            let gn = div(g, &n)?;
            (gn.clone(), gather(&gn, di, id)?)
        }
        Reduce::Amax | Reduce::Amin => {
            let value = gather(result, di, id)?;
            let self_is = copy::to_dtype(&cmp(BinOp::Eq, x, &Operand::T(result.clone()))?, x.dtype())?;
            let src_is = copy::to_dtype(&cmp(BinOp::Eq, src, &Operand::T(value))?, x.dtype())?;
            let n = scatter(&self_is, di, id, &Operand::T(src_is.clone()), Reduce::Add)?;
            let gd = div(g, &n)?;
            (mul(&self_is, &gd)?, mul(&src_is, &gather(&gd, di, id)?)?)
        }
        Reduce::Mul => {
            let _ng = autograd::GradMode::set(false);
            let masked_x = where_mask_fill(x, &cmp(BinOp::Eq, x, &zero)?, 1.0)?;
            let masked_x_result = scatter_impl(&masked_x, d, id, &Operand::T(src.clone()), red, include_self)?;
            let gx = div(&mul(g, &masked_x_result)?, &masked_x)?;
            let src_zero = cmp(BinOp::Eq, src, &zero)?;
            let nz = gather(&scatter(&Tensor::zeros(&x.shape(), x.dtype())?, di, id, &Operand::T(copy::to_dtype(&src_zero, x.dtype())?), Reduce::Add)?, di, id)?;
            let single = crate::ops::binary::binary(BinOp::LogicalAnd, &Operand::T(src_zero.clone()), &Operand::T(cmp(BinOp::Eq, &nz, &Operand::S(Scalar::Float(1.0)))?), 1.0)?;
            let masked_src = where_mask_fill(src, &single, 1.0)?;
            let masked_src_result = scatter_impl(x, d, id, &Operand::T(masked_src), red, include_self)?;
            let via_single = gather(&mul(g, &masked_src_result)?, di, id)?;
            let via_div = div(&gather(&mul(g, result)?, di, id)?, &where_mask_fill(src, &src_zero, 1.0)?)?;
            (gx, crate::ops::binary::where_(&single, &Operand::T(via_single), &Operand::T(via_div))?)
        }
    };
    // without include_self, the scattered-to positions' old values did not enter the result
    let gx = if include_self { gx } else { scatter(&gx, di, id, &zero, Reduce::None)? };
    Ok((gx, gs))
}

/// zeros(shape) with g scattered at idx along d (backward of max(dim)/sort/topk).
pub fn scatter_new(shape: &[usize], d: usize, idx: &Tensor, g: &Tensor) -> Result<Tensor> {
    scatter(&Tensor::zeros(shape, g.dtype())?, d as i64, idx, &Operand::T(g.clone()), Reduce::Add)
}

pub fn index_select(x: &Tensor, dim: i64, idx: &Tensor) -> Result<Tensor> {
    // PyTorch's order: the dim, then the index's rank, then its dtype
    let d = wrap_dim(dim, x.ndim())?;
    if idx.ndim() > 1 { return Err(Error::Index("index_select(): Index is supposed to be a vector".into())); }
    if idx.dtype() != DType::I64 && idx.dtype() != DType::I32 {
        return Err(Error::Runtime(format!("index_select(): Expected dtype int32 or int64 for index")));
    }
    let xb = x.body();
    let n = if xb.shape.is_empty() { 1 } else { xb.shape[d] } as i64;
    // no negative wrapping (PyTorch's rule); the error depends on the layout like PyTorch's
    // (its kernel for dim 1, and for empty inputs, raises the RuntimeError; the others IndexError)
    let out_of_range = |v: i64| {
        let multi = xb.shape.len() > 1;
        if multi && n == 0 { return Error::Runtime("index_select(): self indexing axis dim should be positive".into()); }
        if multi && (d == 1 || x.numel() == 0) {
            return Error::Runtime(format!("INDICES element is out of DATA bounds, id={} axis_dim={}", v, n));
        }
        Error::Index("index out of range in self".into())
    };
    let ic = copy::contiguous_as(idx, DType::I64)?;
    // the kernel checks the indices as it reads them, except where it copies nothing
    if x.numel() == 0 {
        if let Some(v) = first_out_of_range(&ic.to_vec::<i64>()?, n) { return Err(out_of_range(v)); }
    }
    let mut oshape = xb.shape.clone();
    if !oshape.is_empty() { oshape[d] = ic.numel(); }
    let out = Tensor::empty(&oshape, xb.dtype)?;
    let outer: usize = xb.shape[..d.min(xb.shape.len())].iter().product();
    let inner: usize = if xb.shape.is_empty() { 1 } else { xb.shape[d + 1..].iter().product() };
    let xc = copy::contiguous_as(x, xb.dtype)?;
    if let Some(v) = backend_of(&[x, idx])?.index_select(&out, &xc, &ic, outer, inner)? { return Err(out_of_range(v)); }
    if xb.dtype.is_differentiable() && autograd::needs_grad(&[x]) {
        let (ish, id) = (x.shape(), idx.clone());
        autograd::record("IndexSelectBackward0", &[x], &[&out], vec![], Box::new(move |_, g| {
            Ok(vec![g[0].as_ref().map(|g| index_add(&Tensor::zeros(&ish, g.dtype())?, d as i64, &id, g, 1.0)).transpose()?])
        }));
    }
    Ok(out)
}

/// out = x.clone(); out.index_add_(dim, idx, src * alpha).
pub fn index_add(x: &Tensor, dim: i64, idx: &Tensor, src: &Tensor, alpha: f64) -> Result<Tensor> {
    let d = wrap_dim(dim, x.ndim())?;
    let out = copy::contiguous_clone(x)?;
    index_add_raw(&out, d, idx, src, alpha)?;
    if x.dtype().is_differentiable() && autograd::needs_grad(&[x, src]) {
        let id = idx.clone();
        autograd::record("IndexAddBackward0", &[x, src], &[&out], vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None, None]) };
            let gs = index_select(g, d as i64, &id)?;
            Ok(vec![Some(g.clone()), Some(if alpha == 1.0 { gs } else { binary::mul_s(&gs, alpha)? })])
        }));
    }
    Ok(out)
}

/// `x.index_add_(dim, idx, src, alpha=alpha)` into a contiguous x itself, without autograd (the
/// Python layer takes it when no gradient is recorded).
pub fn index_add_inplace(x: &Tensor, dim: i64, idx: &Tensor, src: &Tensor, alpha: f64) -> Result<Tensor> {
    let d = wrap_dim(dim, x.ndim())?;
    if !x.is_contiguous() { return Err(Error::Runtime("internal: in-place index_add into a non-contiguous tensor".into())); }
    crate::ops::inplace_check(x)?;
    crate::ops::assert_no_overlap(x, src)?;
    index_add_raw(x, d, idx, src, alpha)?;
    x.bump_version();
    Ok(x.clone())
}

/// In-place accumulate along dim at idx (out must be contiguous).
pub fn index_add_raw(out: &Tensor, d: usize, idx: &Tensor, src: &Tensor, alpha: f64) -> Result<()> {
    let ob = out.body();
    let n = if ob.shape.is_empty() { 1 } else { ob.shape[d] };
    let ic = copy::contiguous_as(idx, DType::I64)?;
    let outer: usize = ob.shape[..d.min(ob.shape.len())].iter().product();
    let inner: usize = if ob.shape.is_empty() { 1 } else { ob.shape[d + 1..].iter().product() };
    let mut want = ob.shape.clone();
    if !want.is_empty() { want[d] = ic.numel(); }
    let out_of_range = |v: i64| {
        // PyTorch's 0-d/1-D kernel raises IndexError; n-D inputs get the core's RuntimeError
        if ob.shape.len() <= 1 { return crate::index_err!("index out of range in self"); }
        Error::Runtime(format!("index {} is out of bounds for dimension {} with size {}", v, d, n))
    };
    let sc = copy::contiguous_as(&shape::expand(&src.detach(), &want.iter().map(|&v| v as i64).collect::<Vec<_>>())?, ob.dtype)?;
    // an empty self is never indexed, and PyTorch checks no index value then (fuzz seed
    // 28112032); otherwise the kernel checks them as it reads them
    if ob.numel() == 0 { return Ok(()); }
    // out is contiguous [outer, n, inner] (index_add's contract), sc is [outer, k, inner]
    let sc = if std::sync::Arc::ptr_eq(&sc.body().storage, &ob.storage) { copy::contiguous_clone(&sc)? } else { sc };
    if let Some(v) = backend_of(&[out, &sc, &ic])?.index_add(out, &sc, &ic, outer, inner, alpha)? { return Err(out_of_range(v)); }
    Ok(())
}

/// Advanced indexing. `indices[d]` indexes dim d (None = whole dim); bool masks expanded already.
/// Returns the result in PyTorch's placement (adjacent index dims stay in place, else go first).
pub struct AdvPlan {
    pub dims: Vec<usize>,
    pub bshape: Shape,
    pub idx: Vec<Vec<i64>>, // broadcast, flattened, wrapped
    pub rest: Vec<usize>,
    pub adjacent_at: Option<usize>,
}

pub fn adv_plan(xshape: &[usize], indices: &[Option<Tensor>]) -> Result<AdvPlan> {
    if indices.len() > xshape.len() {
        return Err(Error::Index(format!("too many indices for tensor of dimension {}", xshape.len())));
    }
    let dims: Vec<usize> = indices.iter().enumerate().filter(|(_, t)| t.is_some()).map(|(i, _)| i).collect();
    let mut bshape: Shape = Shape::new();
    for d in &dims {
        let t = indices[*d].as_ref().unwrap();
        bshape = broadcast_shapes(&bshape, &t.shape()).map_err(|_| {
            let shapes: Vec<String> = dims.iter().map(|d| format!("[{}]", shape::join(&indices[*d].as_ref().unwrap().shape()))).collect();
            Error::Index(format!("shape mismatch: indexing tensors could not be broadcast together with shapes {}", shapes.join(", ")))
        })?;
    }
    let mut idx = vec![];
    for d in &dims {
        let t = indices[*d].as_ref().unwrap();
        if t.dtype().is_float() {
            return Err(Error::Index("tensors used as indices must be long, int, byte or bool tensors".into()));
        }
        let e = shape::expand(&t.detach(), &bshape.iter().map(|&v| v as i64).collect::<Vec<_>>())?;
        let n = xshape[*d] as i64;
        let mut v = e.to_vec::<i64>()?;
        for x in v.iter_mut() {
            if *x < -n || *x >= n {
                return Err(Error::Index(format!("index {} is out of bounds for dimension {} with size {}", x, d, n)));
            }
            if *x < 0 { *x += n; }
        }
        idx.push(v);
    }
    let rest: Vec<usize> = (0..xshape.len()).filter(|d| !dims.contains(d)).collect();
    let adjacent = dims.windows(2).all(|w| w[1] == w[0] + 1);
    let adjacent_at = if adjacent { dims.first().copied() } else { None };
    Ok(AdvPlan { dims, bshape, idx, rest, adjacent_at })
}

impl AdvPlan {
    /// Output shape in canonical order [B..., rest...].
    fn canon_shape(&self, xshape: &[usize]) -> Shape {
        let mut s = self.bshape.clone();
        s.extend(self.rest.iter().map(|&d| xshape[d]));
        s
    }
    /// Permutation from canonical order to PyTorch's placement.
    fn placement(&self) -> Vec<usize> {
        let nb = self.bshape.len();
        let nr = self.rest.len();
        match self.adjacent_at {
            Some(p) => {
                // rest dims before p, then B, then the remaining rest dims
                let before = self.rest.iter().filter(|&&d| d < p).count();
                let mut perm: Vec<usize> = (nb..nb + before).collect();
                perm.extend(0..nb);
                perm.extend(nb + before..nb + nr);
                perm
            }
            None => (0..nb + nr).collect(),
        }
    }
    /// Element offsets (relative to x's first element) in canonical order.
    fn offsets(&self, xshape: &[usize], xstrides: &[isize]) -> Result<Vec<isize>> {
        let nb: usize = self.bshape.iter().product();
        let rshape: Vec<usize> = self.rest.iter().map(|&d| xshape[d]).collect();
        let rstr: Vec<isize> = self.rest.iter().map(|&d| xstrides[d]).collect();
        let nr: usize = rshape.iter().product();
        // sizes come from (possibly expanded, huge) user tensors: reserve fallibly
        let mut roffs = crate::tensor::try_vec(nr)?;
        let mut ctr = vec![0usize; rshape.len()];
        for _ in 0..nr {
            roffs.push((0..rshape.len()).map(|k| ctr[k] as isize * rstr[k]).sum::<isize>());
            for k in (0..rshape.len()).rev() { ctr[k] += 1; if ctr[k] < rshape[k] { break; } ctr[k] = 0; }
        }
        let mut out = crate::tensor::try_vec(crate::tensor::checked_numel(&[nb, nr])?)?;
        let dstr: Vec<isize> = self.dims.iter().map(|&d| xstrides[d]).collect();
        if let ([s], [iv], [r]) = (dstr.as_slice(), self.idx.as_slice(), roffs.as_slice()) {
            // one index tensor picking single elements (x[i] on a vector): one offset each
            out.extend(iv.iter().take(nb).map(|&v| v as isize * s + r));
        } else {
            for b in 0..nb {
                let base: isize = dstr.iter().zip(&self.idx).map(|(&s, iv)| iv[b] as isize * s).sum();
                out.extend(roffs.iter().map(|&r| base + r));
            }
        }
        Ok(out)
    }
}

pub fn index(x: &Tensor, indices: &[Option<Tensor>]) -> Result<Tensor> {
    let xb = x.body();
    let plan = adv_plan(&xb.shape, indices)?;
    let cshape = plan.canon_shape(&xb.shape);
    let offs = plan.offsets(&xb.shape, &xb.strides)?;
    let be = backend_of(&[x])?;
    let canon = Tensor::alloc_on(&cshape, xb.dtype, be.device(), false)?;
    be.gather_at(&canon, x, &offs)?;
    let perm = plan.placement();
    let out = copy::contiguous_clone(&shape::permute_raw(&canon, &perm))?;
    if xb.dtype.is_differentiable() && autograd::needs_grad(&[x]) {
        let (ish, idx) = (xb.shape.clone(), indices.to_vec());
        autograd::record("IndexBackward0", &[x], &[&out], vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None]) };
            Ok(vec![Some(index_put(&Tensor::zeros(&ish, g.dtype())?, &idx, g, true)?)])
        }));
    }
    Ok(out)
}

/// Writes (or accumulates) `values` at the indexed positions of `x` in place, no autograd.
pub fn index_put_raw(x: &Tensor, indices: &[Option<Tensor>], values: &Tensor, accumulate: bool) -> Result<()> {
    let xb = x.body();
    let plan = adv_plan(&xb.shape, indices)?;
    let cshape = plan.canon_shape(&xb.shape);
    let perm = plan.placement();
    let pshape: Vec<i64> = perm.iter().map(|&p| cshape[p] as i64).collect();
    // values broadcast to the placed shape, then viewed in canonical order
    let vexp = shape::expand(&values.detach(), &pshape).map_err(|_| Error::Runtime(format!(
        "shape mismatch: value tensor of shape [{}] cannot be broadcast to indexing result of shape [{}]", shape::join(&values.shape()), pshape.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "))))?;
    let mut inv = vec![0usize; perm.len()];
    for (i, &p) in perm.iter().enumerate() { inv[p] = i; }
    let vcanon = copy::contiguous_as(&shape::permute_raw(&vexp, &inv), xb.dtype)?;
    let offs = plan.offsets(&xb.shape, &xb.strides)?;
    // values that live in x's own storage are copied first, so no slice aliases the writes
    let vcanon = if std::sync::Arc::ptr_eq(&vcanon.body().storage, &xb.storage) { copy::contiguous_clone(&vcanon)? } else { vcanon };
    backend_of(&[x, &vcanon])?.scatter_at(x, &offs, &vcanon, if accumulate { Reduce::Add } else { Reduce::None }, true)?;
    Ok(())
}

/// Out-of-place index_put (differentiable).
pub fn index_put(x: &Tensor, indices: &[Option<Tensor>], values: &Tensor, accumulate: bool) -> Result<Tensor> {
    let out = copy::contiguous_clone(x)?;
    let values = if values.dtype() != x.dtype() { copy::to_dtype(values, x.dtype())? } else { values.clone() };
    index_put_raw(&out, indices, &values, accumulate)?;
    if x.dtype().is_differentiable() && autograd::needs_grad(&[x, &values]) {
        let idx = indices.to_vec();
        autograd::record("IndexPutBackward0", &[x, &values], &[&out], vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None, None]) };
            let gx = if accumulate { g.clone() } else { index_put(g, &idx, &Tensor::zeros(&[], g.dtype())?, false)? };
            Ok(vec![Some(gx), Some(index(g, &idx)?)])
        }));
    }
    Ok(out)
}

/// In-place index_put_ with history rebase (x[idx] = v on a tensor in a graph).
pub fn index_put_(x: &Tensor, indices: &[Option<Tensor>], values: &Tensor, accumulate: bool) -> Result<()> {
    crate::ops::inplace_check(x)?;
    let values = if values.dtype() != x.dtype() { copy::to_dtype(values, x.dtype())? } else { values.clone() };
    index_put_raw(x, indices, &values, accumulate)?;
    x.bump_version();
    if x.dtype().is_differentiable() && crate::ops::inplace_needs_grad(x, &[&values]) {
        let idx = indices.to_vec();
        crate::ops::rebase_inplace(x, &[&values], "IndexPutBackward0", vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None, None]) };
            let gx = if accumulate { g.clone() } else { index_put(g, &idx, &Tensor::zeros(&[], g.dtype())?, false)? };
            Ok(vec![Some(gx), Some(index(g, &idx)?)])
        }))?;
    }
    Ok(())
}

/// Indices of non-zero elements, shape [n, ndim] (int64).
pub fn nonzero(x: &Tensor) -> Result<Tensor> {
    let sh = x.shape();
    let nd = sh.len();
    let v = crate::dispatch!(x.dtype(), T => x.to_vec::<T>()?.iter().map(|e| *e != T::default()).collect::<Vec<bool>>());
    let mut out: Vec<i64> = vec![];
    let mut ctr = vec![0usize; nd];
    for &nz in &v {
        if nz { out.extend(ctr.iter().map(|&c| c as i64)); }
        for k in (0..nd).rev() { ctr[k] += 1; if ctr[k] < sh[k] { break; } ctr[k] = 0; }
    }
    let n = out.len() / nd.max(1);
    if nd == 0 { return Ok(Tensor::from_vec(vec![0i64; 0], &[if v[0] { 1 } else { 0 }, 0])?); }
    Ok(Tensor::from_vec(out, &[n, nd])?)
}

/// Expands bool masks into integer index tensors (one per masked dim).
pub fn expand_masks(indices: Vec<Option<Tensor>>, xshape: &[usize]) -> Result<Vec<Option<Tensor>>> {
    let mut out = vec![];
    let mut d = 0;
    for t in indices {
        match t {
            Some(m) if m.dtype() == DType::Bool || m.dtype() == DType::U8 => {
                let ms = m.shape();
                for (k, &s) in ms.iter().enumerate() {
                    if d + k >= xshape.len() || xshape[d + k] != s {
                        return Err(Error::Index(format!("The shape of the mask [{}] at index {} does not match the shape of the indexed tensor [{}] at index {}", shape::join(&ms), k, shape::join(xshape), d + k)));
                    }
                }
                let nz = nonzero(&m)?;
                for k in 0..ms.len() {
                    out.push(Some(shape::select(&nz, 1, k as i64)?.detach()));
                    let _ = k;
                }
                if ms.is_empty() {
                    // 0-dim mask: adds a dim of size 0/1 (rare); treat as unsqueeze-select
                    return Err(Error::NotImplemented("indexing with a 0-dim boolean mask".into()));
                }
                d += ms.len();
            }
            other => { out.push(other); d += 1; }
        }
    }
    Ok(out)
}

/// The k largest (or smallest) elements along dim, in `sort`'s order: (values, indices), each
/// with k along dim. The caller has checked 0 <= k <= the size of dim (x has at least one dim).
pub fn topk(x: &Tensor, k: usize, dim: i64, largest: bool) -> Result<(Tensor, Tensor)> {
    let nd = x.ndim();
    let d = wrap_dim(dim, nd)?;
    if x.dtype().is_complex() { return Err(Error::Runtime("\"topk_cpu\" not implemented for 'Complex'".into())); }
    if x.dtype() == DType::Bool { return Err(Error::Runtime("topk does not support bool dtypes on CPU".into())); }
    if nd == 0 || k > x.shape()[d] { return Err(Error::Runtime("selected index k out of range".into())); }
    let moved = shape::movedim_raw(&x.detach(), d, nd - 1);
    let c = copy::contiguous_as(&moved, x.dtype())?;
    let mut ish = c.shape();
    let len = ish[nd - 1];
    ish[nd - 1] = k;
    let idx = Tensor::alloc_on(&ish, DType::I64, x.device(), false)?;
    if k > 0 && idx.numel() > 0 { backend_of(&[&c])?.topk_rows(&idx, &c, len, k, largest)?; }
    let idx = copy::contiguous_clone(&shape::movedim_raw(&idx, nd - 1, d))?;
    let vals = gather(x, d as i64, &idx)?;
    Ok((vals, idx))
}

/// Stable sort along dim: (values, indices). NaN sorts as the largest value.
pub fn sort(x: &Tensor, dim: i64, descending: bool) -> Result<(Tensor, Tensor)> {
    let nd = x.ndim();
    let d = wrap_dim(dim, nd)?;
    if x.dtype().is_complex() { return Err(Error::Runtime(" Sort does not support complex dtypes on CPU".into())); }
    if nd == 0 { return Ok((x.clone(), Tensor::zeros(&[], DType::I64)?)); }
    let moved = shape::movedim_raw(&x.detach(), d, nd - 1);
    let c = copy::contiguous_as(&moved, x.dtype())?;
    let msh = c.shape();
    let len = msh[nd - 1];
    let idx = Tensor::alloc_on(&msh, DType::I64, x.device(), false)?;
    backend_of(&[&c])?.sort_rows(&idx, &c, len, descending)?;
    let idx = copy::contiguous_clone(&shape::movedim_raw(&idx, nd - 1, d))?;
    let vals = gather(x, d as i64, &idx)?;
    Ok((vals, idx))
}

