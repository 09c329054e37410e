//! Binary elementwise ops: promotion (tensor / zero-dim / scalar tiers), broadcasting,
//! one generic kernel per op, backward formulas, and the in-place forms.
use crate::autograd::{self, SaveItem};
use crate::dtype::{DType, Elem, ResultTypeState, Scalar};
use crate::error::{Error, Result};
use crate::ops::{broadcast_shapes, copy, reduce, unary};
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add, Sub, Mul, Div, FloorDiv, TruncDiv, Remainder, Fmod, Pow, Maximum, Minimum, Atan2, Hypot,
    Copysign, Xlogy, LogAddExp, BitAnd, BitOr, BitXor, Shl, Shr, LogicalAnd, LogicalOr, LogicalXor,
    Eq, Ne, Lt, Le, Gt, Ge,
    /// ReLU's backward in one pass: `b <= 0 ? 0 : a` (a the gradient, b the saved output;
    /// NaN in b lets the gradient through, as PyTorch's threshold_backward does). Internal: no
    /// derivative of its own, used only when backward does not record a graph.
    ReluGrad,
    /// tanh's backward in one pass: `a * (1 - b * b)` (a the gradient, b the saved output),
    /// the same operations as the composite. Internal, like `ReluGrad`; real dtypes only.
    TanhGrad,
}

impl BinOp {
    fn is_compare(self) -> bool { matches!(self, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge) }
    fn is_logical(self) -> bool { matches!(self, BinOp::LogicalAnd | BinOp::LogicalOr | BinOp::LogicalXor) }
    fn is_bitwise(self) -> bool { matches!(self, BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::Shl | BinOp::Shr) }
    /// Ops whose result is floating even for integer inputs.
    fn float_result(self) -> bool { matches!(self, BinOp::Div | BinOp::Atan2 | BinOp::Hypot | BinOp::Copysign | BinOp::Xlogy | BinOp::LogAddExp) }
    pub fn grad_name(self) -> &'static str {
        match self {
            BinOp::Add => "AddBackward0", BinOp::Sub => "SubBackward0", BinOp::Mul => "MulBackward0",
            BinOp::Div => "DivBackward0", BinOp::Pow => "PowBackward1", BinOp::Maximum => "MaximumBackward0",
            BinOp::Minimum => "MinimumBackward0", BinOp::Atan2 => "Atan2Backward0", BinOp::Hypot => "HypotBackward0",
            BinOp::Xlogy => "XlogyBackward0", BinOp::LogAddExp => "LogaddexpBackward0", BinOp::Remainder => "RemainderBackward0",
            BinOp::Fmod => "FmodBackward0", BinOp::Copysign => "CopysignBackward0", BinOp::FloorDiv | BinOp::TruncDiv => "DivBackward2",
            _ => "NotDifferentiable",
        }
    }
}

/// An operand: a tensor or a Python scalar (the lowest promotion tier).
#[derive(Clone)]
pub enum Operand { T(Tensor), S(Scalar) }

impl Operand {
    fn tensor(&self) -> Option<&Tensor> { if let Operand::T(t) = self { Some(t) } else { None } }
}

/// Materialises an operand as a tensor of `dtype` (scalars become 0-dim tensors).
pub(crate) fn as_dtype(x: &Operand, dtype: DType) -> Result<Tensor> {
    Ok(match x {
        Operand::T(t) if t.dtype() == dtype => t.clone(),
        Operand::T(t) => copy::contiguous_as(t, dtype)?,
        Operand::S(s) => {
            let t = Tensor::empty(&[], dtype)?;
            crate::backend::backend_of(&[&t])?.fill(&t, *s)?;
            t
        }
    })
}

pub fn result_type(a: &Operand, b: &Operand) -> DType {
    let mut st = ResultTypeState::default();
    for x in [a, b] {
        match x { Operand::T(t) => st.tensor(t.dtype(), t.ndim()), Operand::S(s) => st.scalar(*s) }
    }
    st.result()
}

fn op_symbol(op: BinOp) -> &'static str {
    match op { BinOp::Sub => "Subtraction, the `-` operator,", _ => "This operation" }
}

/// Result dtype and computation dtype of `op` on these operands.
fn dtypes(op: BinOp, a: &Operand, b: &Operand) -> Result<(DType, DType)> {
    let common = result_type(a, b);
    if op == BinOp::Sub && (a.tensor().is_some_and(|t| t.dtype() == DType::Bool) || b.tensor().is_some_and(|t| t.dtype() == DType::Bool)) {
        return Err(Error::Runtime(format!("{} with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.", op_symbol(op))));
    }
    if op.is_bitwise() && common.is_float() {
        return Err(Error::Runtime(format!("\"{}_cpu\" not implemented for '{}'", format!("{:?}", op).to_lowercase(), common.legacy_name())));
    }
    if common.is_complex() && !crate::ops::complex::binary_supported(op) {
        if matches!(op, BinOp::Maximum | BinOp::Minimum) {
            return Err(Error::Runtime(format!("{} not implemented for complex tensors.", if op == BinOp::Maximum { "maximum" } else { "minimum" })));
        }
        let name = match op { BinOp::FloorDiv => "div_floor".to_string(), BinOp::TruncDiv => "div_trunc".to_string(), o => format!("{:?}", o).to_lowercase() };
        return Err(Error::NotImplemented(format!("\"{}_cpu\" not implemented for '{}'", name, common.legacy_name())));
    }
    if op.is_compare() || op.is_logical() {
        return Ok((DType::Bool, if op.is_logical() { DType::Bool } else { common }));
    }
    let out = if op.float_result() && !common.is_float() && !common.is_complex() { crate::tensor::default_dtype() } else { common };
    let out = if out == DType::Bool && matches!(op, BinOp::Add | BinOp::Mul | BinOp::Maximum | BinOp::Minimum | BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor) { DType::Bool } else { out };
    Ok((out, out))
}

fn int_div_check(op: BinOp, b: &Tensor, b_is_scalar: bool) -> Result<()> {
    // PyTorch rejects only a negative *scalar* exponent; tensor exponents truncate
    if op == BinOp::Pow && b_is_scalar && !b.dtype().is_differentiable() && b.dtype() != DType::Bool {
        let neg = crate::dispatch!(b.dtype(), T => b.to_vec::<T>()?.iter().any(|v| v.to_f64() < 0.0));
        if neg { return Err(Error::Runtime("Integers to negative integer powers are not allowed.".into())); }
    }
    if matches!(op, BinOp::FloorDiv | BinOp::TruncDiv | BinOp::Remainder | BinOp::Fmod) && !b.dtype().is_float() {
        let zero = crate::dispatch!(b.dtype(), T => b.to_vec::<T>()?.iter().any(|v| v.to_f64() == 0.0));
        if zero { return Err(Error::Runtime("ZeroDivisionError".into())); }
    }
    Ok(())
}

/// Computes `op(a, b)` into a new tensor (or into `out`, already checked), without autograd.
fn compute(op: BinOp, a: &Operand, b: &Operand, alpha: f64, out_dtype: DType, compute_dtype: DType, out: Option<&Tensor>) -> Result<Tensor> {
    let sa = match a { Operand::T(t) => t.shape(), _ => Default::default() };
    let sb = match b { Operand::T(t) => t.shape(), _ => Default::default() };
    let shape = broadcast_shapes(&sa, &sb)?;
    if out.is_none() && out_dtype == compute_dtype {
        if let Some(res) = half_blocks(op, a, b, alpha, compute_dtype, &shape)? { return Ok(res); }
    }
    // bool arithmetic runs as logic; half types compute in f32
    let kd = if compute_dtype == DType::Bool && !op.is_logical() && !op.is_compare() { DType::Bool } else { compute_dtype.compute() };
    let ta = as_dtype(a, kd)?;
    let tb = as_dtype(b, kd)?;
    // an empty result divides nothing: no zero-division error (PyTorch)
    if shape.iter().product::<usize>() > 0 { int_div_check(op, &tb, matches!(b, Operand::S(_)))?; }
    let result_dtype = if op.is_compare() || op.is_logical() { DType::Bool } else { kd };
    let direct = out.filter(|o| o.dtype() == result_dtype && !shares(o, &ta, &tb));
    let res = match direct { Some(o) => o.clone(), None => Tensor::empty(&shape, result_dtype)? };
    let backend = crate::backend::backend_of(&[&ta, &tb, &res])?;
    if op.is_compare() || op.is_logical() {
        backend.compare(op, &res, &ta, &tb)?;
    } else if kd == DType::Bool {
        let o = Tensor::empty(&shape, DType::Bool)?;
        let op2 = match op { BinOp::Add | BinOp::BitOr | BinOp::Maximum => BinOp::LogicalOr, BinOp::Mul | BinOp::BitAnd | BinOp::Minimum => BinOp::LogicalAnd, BinOp::BitXor => BinOp::LogicalXor, _ => return Err(Error::Runtime(format!("{:?} is not supported for bool tensors", op))) };
        backend.compare(op2, &o, &ta, &tb)?;
        copy::copy_raw(&res, &o)?;
    } else {
        backend.binary(op, &res, &ta, &tb, alpha)?;
    }
    let _ = out_dtype;
    match out {
        Some(o) if !res.same(o) => { copy::copy_raw(o, &res)?; Ok(o.clone()) }
        Some(o) => Ok(o.clone()),
        None if res.dtype() != out_dtype => Ok(copy::contiguous_as(&res, out_dtype)?),
        None => Ok(res),
    }
}

/// float16/bfloat16 `+ - * / maximum minimum` of contiguous tensors of that dtype and the
/// result's shape (or numbers): the backend computes them in f32 a block at a time, instead of
/// widening each operand to a float32 tensor and narrowing the result (three more passes).
fn half_blocks(op: BinOp, a: &Operand, b: &Operand, alpha: f64, dtype: DType, shape: &[usize]) -> Result<Option<Tensor>> {
    if !matches!(dtype, DType::F16 | DType::BF16) || !matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Maximum | BinOp::Minimum) {
        return Ok(None);
    }
    let arg = |x: &Operand| -> Result<Option<Tensor>> {
        Ok(match x {
            // a number stays at f32 precision (PyTorch does not round it to the half type)
            Operand::S(_) => Some(as_dtype(x, DType::F32)?),
            Operand::T(t) if t.dtype() == dtype && t.is_contiguous() && t.shape().as_slice() == shape => Some(t.clone()),
            Operand::T(_) => None,
        })
    };
    let (Some(ta), Some(tb)) = (arg(a)?, arg(b)?) else { return Ok(None) };
    let res = Tensor::empty(shape, dtype)?;
    crate::backend::backend_of(&[&ta, &tb, &res])?.binary(op, &res, &ta, &tb, alpha)?;
    Ok(Some(res))
}

fn shares(o: &Tensor, a: &Tensor, b: &Tensor) -> bool {
    // writing into `o` while reading a differently-laid-out alias of it needs a temporary
    let ob = o.body_ref();
    [a, b].iter().any(|t| {
        let tb = t.body_ref();
        std::sync::Arc::ptr_eq(&tb.storage, &ob.storage) && !(tb.offset == ob.offset && tb.strides == ob.strides && tb.shape == ob.shape)
    })
}

/// `op(a, b)` with PyTorch semantics, recording backward.
pub fn binary(op: BinOp, a: &Operand, b: &Operand, alpha: f64) -> Result<Tensor> {
    let fast = match (a, b) { (Operand::T(x), Operand::T(y)) => same_layout_arith(op, x, y, alpha)?, _ => None };
    let out = match fast {
        Some(out) => out,
        None => { let (out_dtype, cd) = dtypes(op, a, b)?; compute(op, a, b, alpha, out_dtype, cd, None)? }
    };
    let out_dtype = out.dtype();
    let ins: smallvec::SmallVec<[&Tensor; 2]> = [a.tensor(), b.tensor()].into_iter().flatten().collect();
    if out_dtype.is_differentiable() && autograd::needs_grad(&ins) {
        record_binary(op, a, b, alpha, &out);
    }
    Ok(out)
}

/// `+ - * /` on two floating tensors of one dtype, shape and device: the common case in
/// training loops (and per-op overhead dominates small ones), so it skips promotion,
/// broadcasting and conversion. `None` sends everything else down the general path, which
/// gives the same result for these operands.
fn same_layout_arith(op: BinOp, a: &Tensor, b: &Tensor, alpha: f64) -> Result<Option<Tensor>> {
    if !matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div) { return Ok(None); }
    let (shape, dtype, device) = {
        let (x, y) = (a.body_ref(), b.body_ref());
        let plain_float = matches!(x.dtype, DType::F32 | DType::F64);
        if !plain_float || x.dtype != y.dtype || x.shape != y.shape || x.storage.device != y.storage.device { return Ok(None); }
        (x.shape.clone(), x.dtype, x.storage.device)
    };
    let out = Tensor::alloc_on(&shape, dtype, device, false)?;
    crate::backend::backend_for(device)?.binary(op, &out, a, b, alpha)?;
    Ok(Some(out))
}

/// torch.floor_divide and `//`: div(rounding_mode='floor')'s values, but PyTorch defines no
/// derivative for them, so backward through the result raises (div's floor mode gives zeros).
pub fn floor_divide(a: &Operand, b: &Operand) -> Result<Tensor> {
    let prev = autograd::set_grad_enabled(false);
    let out = binary(BinOp::FloorDiv, a, b, 1.0);
    autograd::set_grad_enabled(prev);
    let out = out?;
    let ins: Vec<&Tensor> = [a.tensor(), b.tensor()].into_iter().flatten().collect();
    if out.dtype().is_float() && autograd::needs_grad(&ins) {
        autograd::record("NotImplemented", &ins, &[&out], vec![], Box::new(|_, _| {
            Err(Error::Runtime("derivative for aten::floor_divide is not implemented".into()))
        }));
    }
    Ok(out)
}

fn record_binary(op: BinOp, a: &Operand, b: &Operand, alpha: f64, out: &Tensor) {
    // inputs: tensor operands only; the closure maps grads back by position
    let ta = a.tensor().cloned();
    let tb = b.tensor().cloned();
    let sa = match a { Operand::S(s) => Some(*s), _ => None };
    let sb = match b { Operand::S(s) => Some(*s), _ => None };
    let mut inputs: Vec<&Tensor> = vec![];
    if let Some(t) = &ta { inputs.push(t) }
    if let Some(t) = &tb { inputs.push(t) }
    let mut save = vec![];
    let needs_inputs = !matches!(op, BinOp::Add | BinOp::Sub);
    if needs_inputs { for t in &inputs { save.push(SaveItem::Input(t)); } }
    let saves_out = matches!(op, BinOp::Div | BinOp::Pow | BinOp::Hypot | BinOp::Copysign);
    if saves_out { save.push(SaveItem::Output(0)); }
    let (has_a, has_b) = (ta.is_some(), tb.is_some());
    let f = move |saved: &[Tensor], g: &[Option<Tensor>]| -> Result<Vec<Option<Tensor>>> {
        let Some(g) = &g[0] else { return Ok(vec![None; has_a as usize + has_b as usize]) };
        let mut it = saved.iter();
        let a: Operand = if needs_inputs && has_a { Operand::T(it.next().unwrap().clone()) } else if has_a { Operand::S(Scalar::Float(0.0)) } else { Operand::S(sa.unwrap()) };
        let b: Operand = if needs_inputs && has_b { Operand::T(it.next().unwrap().clone()) } else if has_b { Operand::S(Scalar::Float(0.0)) } else { Operand::S(sb.unwrap()) };
        let out = if saves_out { it.next().cloned() } else { None };
        let (ga, gb) = backward_conj(op, g, &a, &b, out.as_ref(), alpha)?;
        let mut r = vec![];
        if has_a { r.push(ga) }
        if has_b { r.push(gb) }
        Ok(r)
    };
    let name = match (op, &ta, &tb) {
        (BinOp::Pow, Some(_), None) => "PowBackward0",
        (BinOp::Pow, None, Some(_)) => "PowBackward2",
        _ => op.grad_name(),
    };
    autograd::record(name, &inputs, &[out], save, Box::new(f));
}

fn t(x: &Tensor) -> Operand { Operand::T(x.clone()) }
fn s(x: f64) -> Operand { Operand::S(Scalar::Float(x)) }

pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> { binary(BinOp::Add, &t(a), &t(b), 1.0) }
pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> { binary(BinOp::Sub, &t(a), &t(b), 1.0) }
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> { binary(BinOp::Mul, &t(a), &t(b), 1.0) }
pub fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> { binary(BinOp::Div, &t(a), &t(b), 1.0) }
pub fn mul_s(a: &Tensor, x: f64) -> Result<Tensor> { binary(BinOp::Mul, &t(a), &s(x), 1.0) }
pub fn add_s(a: &Tensor, x: f64) -> Result<Tensor> { binary(BinOp::Add, &t(a), &s(x), 1.0) }
pub fn rsub_s(x: f64, a: &Tensor) -> Result<Tensor> { binary(BinOp::Sub, &s(x), &t(a), 1.0) }
pub fn pow_s(a: &Tensor, x: f64) -> Result<Tensor> { binary(BinOp::Pow, &t(a), &s(x), 1.0) }
pub fn gt_s(a: &Tensor, x: f64) -> Result<Tensor> { binary(BinOp::Gt, &t(a), &s(x), 1.0) }
pub fn cmp(op: BinOp, a: &Tensor, b: &Operand) -> Result<Tensor> { binary(op, &t(a), b, 1.0) }
pub fn where_mask_fill(a: &Tensor, mask: &Tensor, v: f64) -> Result<Tensor> { crate::ops::index::masked_fill(a, mask, &Operand::S(Scalar::Float(v))) }

/// The backward for real or complex gradients: for complex ones PyTorch's grad_out * conj(df),
/// computed as conj(formula(conj(g))) since every formula is linear in g and holomorphic in
/// the operands.
fn backward_conj(op: BinOp, g: &Tensor, a: &Operand, b: &Operand, out: Option<&Tensor>, alpha: f64) -> Result<(Option<Tensor>, Option<Tensor>)> {
    if !g.dtype().is_complex() && !a.tensor().is_some_and(|t| t.dtype().is_complex()) && !b.tensor().is_some_and(|t| t.dtype().is_complex()) {
        return binary_backward(op, g, a, b, out, alpha);
    }
    use crate::ops::complex::conj;
    let (ga, gb) = binary_backward(op, &conj(g)?, a, b, out, alpha)?;
    Ok((ga.map(|x| conj(&x)).transpose()?, gb.map(|x| conj(&x)).transpose()?))
}

/// Sum of `g` broadcast back to operand `x`'s shape happens in the engine; here only formulas.
fn binary_backward(op: BinOp, g: &Tensor, a: &Operand, b: &Operand, out: Option<&Tensor>, alpha: f64) -> Result<(Option<Tensor>, Option<Tensor>)> {
    let at = a.tensor();
    let bt = b.tensor();
    let ta = |x: &Operand| -> Result<Tensor> { match x { Operand::T(t) => Ok(t.clone()), Operand::S(sc) => as_dtype(&Operand::S(*sc), g.dtype()) } };
    Ok(match op {
        BinOp::Add => (Some(g.clone()), Some(if alpha == 1.0 { g.clone() } else { mul_s(g, alpha)? })),
        BinOp::Sub => (Some(g.clone()), Some(mul_s(g, -alpha)?)),
        BinOp::Mul => (
            if at.is_some() { Some(binary(BinOp::Mul, &t(g), b, 1.0)?) } else { None },
            if bt.is_some() { Some(binary(BinOp::Mul, &t(g), a, 1.0)?) } else { None },
        ),
        BinOp::Div => {
            let ga = binary(BinOp::Div, &t(g), b, 1.0)?;
            let gb = if bt.is_some() { Some(unary::neg(&div(&mul(g, out.unwrap())?, &ta(b)?)?)?) } else { None };
            (Some(ga), gb)
        }
        BinOp::Pow => {
            let bb = ta(b)?;
            let aa = ta(a)?;
            let ga = if at.is_some() {
                // g * b * a^(b-1), zero where b == 0
                let e = binary(BinOp::Pow, &t(&aa), &t(&add_s(&bb, -1.0)?), 1.0)?;
                let r = mul(&mul(g, &bb)?, &e)?;
                let z = cmp(BinOp::Eq, &bb, &s(0.0))?;
                Some(where_mask_fill(&r, &z, 0.0)?)
            } else { None };
            let gb = if bt.is_some() {
                let r = mul(g, &mul(out.unwrap(), &unary::unary(unary::UnaryOp::Log, &aa)?)?)?;
                // (complex exponents compare their real part, as PyTorch's pow backward does)
                let bre = crate::ops::complex::real_view(&bb)?;
                let z = binary(BinOp::LogicalAnd, &t(&cmp(BinOp::Eq, &aa, &s(0.0))?), &t(&cmp(BinOp::Ge, &bre, &s(0.0))?), 1.0)?;
                Some(where_mask_fill(&r, &z, 0.0)?)
            } else { None };
            (ga, gb)
        }
        BinOp::Maximum | BinOp::Minimum => {
            let (aa, bb) = (ta(a)?, ta(b)?);
            // ties split the gradient evenly, like PyTorch
            let eq = cmp(BinOp::Eq, &aa, &t(&bb))?;
            let halfg = where_(&eq, &t(&mul_s(g, 0.5)?), &t(g))?;
            let pick = if op == BinOp::Maximum { BinOp::Lt } else { BinOp::Gt };
            let ga = where_mask_fill(&halfg, &cmp(pick, &aa, &t(&bb))?, 0.0)?;
            let gb = where_mask_fill(&halfg, &cmp(pick, &bb, &t(&aa))?, 0.0)?;
            (Some(ga), Some(gb))
        }
        BinOp::Atan2 => {
            let (aa, bb) = (ta(a)?, ta(b)?);
            let den = add(&mul(&aa, &aa)?, &mul(&bb, &bb)?)?;
            (Some(div(&mul(g, &bb)?, &den)?), Some(div(&mul(g, &unary::neg(&aa)?)?, &den)?))
        }
        BinOp::Hypot => {
            let (aa, bb) = (ta(a)?, ta(b)?);
            let o = out.unwrap();
            (Some(div(&mul(g, &aa)?, o)?), Some(div(&mul(g, &bb)?, o)?))
        }
        BinOp::Xlogy => {
            let (aa, bb) = (ta(a)?, ta(b)?);
            // PyTorch: xlogy(g, b), zeroed only where a == 0 and b <= 0
            let la = binary(BinOp::Xlogy, &t(g), &t(&bb), 1.0)?;
            let z = binary(BinOp::LogicalAnd, &t(&cmp(BinOp::Eq, &aa, &s(0.0))?), &t(&cmp(BinOp::Le, &bb, &s(0.0))?), 1.0)?;
            (Some(where_mask_fill(&la, &z, 0.0)?), Some(div(&mul(g, &aa)?, &bb)?))
        }
        BinOp::LogAddExp => {
            let (aa, bb) = (ta(a)?, ta(b)?);
            let ea = unary::unary(unary::UnaryOp::Sigmoid, &sub(&aa, &bb)?)?;
            let eb = unary::unary(unary::UnaryOp::Sigmoid, &sub(&bb, &aa)?)?;
            (Some(mul(g, &ea)?), Some(mul(g, &eb)?))
        }
        // comparisons and logical ops (only differentiable in place): zero gradients, like PyTorch
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::LogicalAnd | BinOp::LogicalOr | BinOp::LogicalXor =>
            (Some(unary::zeros_like_g(g)?), if bt.is_some() { Some(unary::zeros_like_g(g)?) } else { None }),
        // rounded division is piecewise constant: zero gradients, like PyTorch's DivBackward2
        BinOp::FloorDiv | BinOp::TruncDiv => (Some(unary::zeros_like_g(g)?), if bt.is_some() { Some(unary::zeros_like_g(g)?) } else { None }),
        BinOp::Copysign => {
            // d/da = result / a (sign flip), 0 where a == 0; b gets a zero gradient (not None)
            let aa = ta(a)?;
            let ratio = where_mask_fill(&div(out.unwrap(), &aa)?, &cmp(BinOp::Eq, &aa, &s(0.0))?, 0.0)?;
            (Some(mul(g, &ratio)?), if bt.is_some() { Some(unary::zeros_like_g(g)?) } else { None })
        }
        BinOp::Remainder | BinOp::Fmod => {
            let (aa, bb) = (ta(a)?, ta(b)?);
            let q = binary(if op == BinOp::Remainder { BinOp::FloorDiv } else { BinOp::TruncDiv }, &t(&aa), &t(&bb), 1.0)?;
            let q = if op == BinOp::Fmod { unary::unary(unary::UnaryOp::Trunc, &div(&aa, &bb)?)? } else { q };
            (Some(g.clone()), Some(unary::neg(&mul(g, &q)?)?))
        }
        _ => (None, None),
    })
}

/// In-place `a op= b`: result dtype must be castable to a's dtype; rebases a's history.
pub fn binary_(op: BinOp, a: &Tensor, b: &Operand, alpha: f64) -> Result<Tensor> {
    let (res_dtype, cd) = dtypes(op, &Operand::T(a.clone()), b)?;
    let target = a.dtype();
    if !crate::dtype::can_cast(res_dtype, target) {
        return Err(Error::Runtime(format!("result type {} can't be cast to the desired output type {}", res_dtype.legacy_name(), target.legacy_name())));
    }
    if let Operand::T(bt) = b {
        let shape = broadcast_shapes(&a.shape(), &bt.shape())?;
        if shape.as_slice() != a.shape().as_slice() {
            return Err(Error::Runtime(format!("output with shape {:?} doesn't match the broadcast shape {:?}", a.shape().as_slice(), shape.as_slice())));
        }
    }
    crate::ops::inplace_check(a)?;
    let b_t = b.tensor();
    let grad = target.is_differentiable() && crate::ops::inplace_needs_grad(a, &b_t.into_iter().collect::<Vec<_>>());
    // inputs saved for backward must be the values before the write
    let old_a = if grad && !matches!(op, BinOp::Add | BinOp::Sub) { Some(copy::contiguous_clone(a)?) } else { None };
    // comparisons compute in the operands' common dtype (not in bool), then cast into a
    compute(op, &Operand::T(a.clone()), b, alpha, target, cd, Some(a))?;
    a.bump_version();
    if grad {
        let saves_out = matches!(op, BinOp::Div | BinOp::Pow | BinOp::Hypot | BinOp::Copysign);
        let mut save = vec![];
        if let Some(o) = &old_a { save.push(SaveItem::Value(o.clone())); }
        if saves_out { save.push(SaveItem::Output(0)); }
        let has_old = old_a.is_some();
        let bt = b_t.cloned();
        let bs = if let Operand::S(sc) = b { Some(*sc) } else { None };
        let f = move |s: &[Tensor], g: &[Option<Tensor>]| -> Result<Vec<Option<Tensor>>> {
            let Some(g) = &g[0] else { return Ok(vec![None, None]) };
            let aa = Operand::T(if has_old { s[0].clone() } else { Tensor::zeros(&[], DType::F32)? });
            let out_after = if saves_out { s.last().cloned() } else { None };
            let bb = match (&bt, bs) { (Some(t), _) => Operand::T(t.clone()), (None, Some(s)) => Operand::S(s), _ => unreachable!() };
            let (ga, gb) = backward_conj(op, g, &aa, &bb, out_after.as_ref(), alpha)?;
            Ok(if bt.is_some() { vec![ga, gb] } else { vec![ga] })
        };
        let others: Vec<&Tensor> = b_t.into_iter().collect();
        crate::ops::rebase_inplace(a, &others, op.grad_name(), save, Box::new(f))?;
    }
    Ok(a.clone())
}

/// `p += g` on raw data (gradient accumulation), no autograd.
pub fn add_inplace_raw(p: &Tensor, g: &Tensor) -> Result<()> {
    compute(BinOp::Add, &Operand::T(p.clone()), &Operand::T(g.clone()), 1.0, p.dtype(), p.dtype(), Some(p))?;
    Ok(())
}

/// The three-operand pointwise ops PyTorch runs as one kernel (optimizer updates, EMAs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pointwise3 {
    /// `a + value * b * c`
    AddCMul,
    /// `a + value * b / c`
    AddCDiv,
    /// `lerp(a, b, weight c)`
    Lerp,
}

/// `op(a, b, c)` in one pass for float32/float64 operands of one dtype, broadcast, without
/// autograd (the Python layer composes the recorded form when a gradient is needed). With
/// `inplace` the result goes into `a`, whose shape must be the broadcast shape.
pub fn pointwise3(op: Pointwise3, a: &Tensor, b: &Tensor, c: &Operand, value: f64, inplace: bool) -> Result<Tensor> {
    let dt = a.dtype();
    let c = as_dtype(c, dt)?;
    if !matches!(dt, DType::F32 | DType::F64) || b.dtype() != dt {
        return Err(Error::Runtime(format!("internal: fused {:?} for {} and {}", op, dt.name(), b.dtype().name())));
    }
    let shape = broadcast_shapes(&broadcast_shapes(&a.shape(), &b.shape())?, &c.shape())?;
    if !inplace {
        let out = Tensor::empty(&shape, dt)?;
        crate::backend::backend_of(&[a, b, &c, &out])?.pointwise3(op, &out, a, b, &c, value)?;
        return Ok(out);
    }
    if shape.as_slice() != a.shape().as_slice() {
        return Err(Error::Runtime(format!("output with shape {:?} doesn't match the broadcast shape {:?}", a.shape().as_slice(), shape.as_slice())));
    }
    crate::ops::inplace_check(a)?;
    if shares(a, b, &c) {
        // an operand overlapping `a` in another layout: computed aside, then copied in
        let tmp = Tensor::empty(&shape, dt)?;
        crate::backend::backend_of(&[a, b, &c, &tmp])?.pointwise3(op, &tmp, a, b, &c, value)?;
        copy::copy_raw(a, &tmp)?;
    } else {
        crate::backend::backend_of(&[a, b, &c])?.pointwise3(op, a, a, b, &c, value)?;
    }
    a.bump_version();
    Ok(a.clone())
}

/// `torch.where(cond, a, b)`.
pub fn where_(cond: &Tensor, a: &Operand, b: &Operand) -> Result<Tensor> {
    let dt = result_type(a, b);
    let sa = a.tensor().map(|t| t.shape()).unwrap_or_default();
    let sb = b.tensor().map(|t| t.shape()).unwrap_or_default();
    let shape = broadcast_shapes(&broadcast_shapes(&sa, &sb)?, &cond.shape())?;
    let kd = dt;
    let ta = as_dtype(a, kd)?;
    let tb = as_dtype(b, kd)?;
    let c = copy::contiguous_as(cond, DType::Bool)?;
    let out = Tensor::empty(&shape, kd)?;
    crate::backend::backend_of(&[&c, &ta, &tb, &out])?.select(&out, &c, &ta, &tb)?;
    let ins: Vec<&Tensor> = [a.tensor(), b.tensor()].into_iter().flatten().collect();
    if kd.is_differentiable() && autograd::needs_grad(&ins) {
        let (ha, hb) = (a.tensor().is_some(), b.tensor().is_some());
        let c2 = c.clone();
        autograd::record("WhereBackward0", &ins, &[&out], vec![], Box::new(move |_, g| {
            let Some(g) = &g[0] else { return Ok(vec![None; ins_len(ha, hb)]) };
            let mut r = vec![];
            if ha { r.push(Some(where_mask_fill(g, &unary::logical_not(&c2)?, 0.0)?)); }
            if hb { r.push(Some(where_mask_fill(g, &c2, 0.0)?)); }
            Ok(r)
        }));
    }
    Ok(out)
}
fn ins_len(a: bool, b: bool) -> usize { a as usize + b as usize }

pub use reduce::sum_to_shape;
