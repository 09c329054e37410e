//! Module-level `_C` functions: thin wrappers that parse arguments and call `ops`.
use crate::autograd::{self, Edge, Node};
use crate::dtype::{promote, DType, ResultTypeState, Scalar};
use crate::ops::binary::{self, BinOp, Operand};
use crate::ops::index::Reduce;
use crate::ops::{copy, index, linalg, nn, random, reduce, shape, unary};
use crate::python::convert::{dtype_of, heavy, int_list, operand, operand_numel, opt_dims, opt_dtype, scalar_of, usize_shape};
use crate::python::{dtype_obj, wrap, PyDType, PyTensor};
use crate::storage::Storage;
use crate::tensor::{contiguous_strides, Body, Tensor};
use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::sync::Arc;

type R<T> = PyResult<T>;
type PT = Py<PyTensor>;

pub(crate) fn tt(o: &Bound<'_, PyAny>) -> R<Tensor> {
    crate::python::convert::guard(|| {
    o.cast::<PyTensor>().map(|t| t.get().t.clone()).map_err(|_| PyTypeError::new_err(format!("expected Tensor as argument, but got {}", o.get_type().name().map(|n| n.to_string()).unwrap_or_default())))
    })
}
fn tensors(o: &Bound<'_, PyAny>) -> R<Vec<Tensor>> {
    crate::python::convert::guard(|| {
    let mut v = vec![];
    for x in o.try_iter()? { v.push(tt(&x?)?); }
    Ok(v)
    })
}

#[pyclass(name = "Generator", module = "ferrotorch", subclass)]
pub struct PyGenerator { pub rng: Arc<Mutex<random::Rng>> }

#[pymethods]
impl PyGenerator {
    #[new]
    #[pyo3(signature = (device=None))]
    fn new(device: Option<&Bound<'_, PyAny>>) -> Self { let _ = device; PyGenerator { rng: Arc::new(Mutex::new(random::Rng::new(random::DEFAULT_SEED))) } }
    fn manual_seed(slf: PyRef<'_, Self>, seed: i64) -> PyRef<'_, Self> { *slf.rng.lock() = random::Rng::new(seed as u64); slf }
    fn seed(&self) -> u64 { let r = random::Rng::nondeterministic(); let s = r.seed(); *self.rng.lock() = r; s }
    fn initial_seed(&self) -> u64 { self.rng.lock().seed() }
    fn get_state(&self, py: Python<'_>) -> R<PT> { crate::python::convert::guard(|| { let b = self.rng.lock().state(); let n = b.len(); wrap(py, Tensor::from_vec(b, &[n])?) }) }
    fn set_state(slf: PyRef<'_, Self>, state: &Bound<'_, PyAny>) -> R<()> { crate::python::convert::guard(|| { let v = tt(state)?.to_vec::<u8>()?; slf.rng.lock().set_state(&v)?; Ok(()) }) }
    #[getter] fn device<'py>(&self, py: Python<'py>) -> R<Bound<'py, PyAny>> { crate::python::helper(py, "_cpu_device") }
}

fn gen_of(g: Option<&Bound<'_, PyAny>>) -> R<Option<Arc<Mutex<random::Rng>>>> {
    crate::python::convert::guard(|| {
    match g {
        None => Ok(None),
        Some(x) if x.is_none() => Ok(None),
        Some(x) => Ok(Some(x.cast::<PyGenerator>()?.borrow().rng.clone())),
    }
    })
}

/// Python view of an autograd node (`grad_fn`).
#[pyclass(name = "Node", module = "ferrotorch.autograd.graph", frozen)]
pub struct PyNode { pub node: Arc<Node> }

#[pymethods]
impl PyNode {
    fn name(&self) -> String { self.node.name.to_string() }
    fn __repr__(&self) -> String { format!("<{} object at {:p}>", self.node.name, Arc::as_ptr(&self.node)) }
    #[getter] fn __name__(&self) -> String { self.node.name.to_string() }
    #[getter] fn next_functions<'py>(&self, py: Python<'py>) -> R<Bound<'py, PyTuple>> {
        let mut v: Vec<Bound<'py, PyAny>> = vec![];
        for e in &self.node.next {
            let item: Bound<'py, PyAny> = match e {
                None => (py.None(), 0usize).into_pyobject(py)?.into_any(),
                Some(Edge::Node(n, nr)) => (Py::new(py, PyNode { node: n.clone() })?, *nr).into_pyobject(py)?.into_any(),
                Some(Edge::Leaf(t)) => {
                    let acc = crate::python::helper(py, "AccumulateGrad")?.call1((wrap(py, t.clone())?,))?;
                    (acc, 0usize).into_pyobject(py)?.into_any()
                }
            };
            v.push(item);
        }
        PyTuple::new(py, v)
    }
    fn register_hook(&self, _hook: Py<PyAny>) -> R<()> { crate::python::convert::guard(|| { Err(PyRuntimeError::new_err("Node.register_hook is not supported yet; use Tensor.register_hook")) }) }
    fn __eq__(&self, o: &Bound<'_, PyAny>) -> bool { o.cast::<PyNode>().map(|n| Arc::ptr_eq(&n.get().node, &self.node)).unwrap_or(false) }
    fn __hash__(&self) -> isize { Arc::as_ptr(&self.node) as isize }
}

fn op_of(name: &str) -> R<BinOp> {
    crate::python::convert::guard(|| {
    Ok(match name {
        "add" => BinOp::Add, "sub" => BinOp::Sub, "mul" => BinOp::Mul, "div" => BinOp::Div,
        "floor_divide" => BinOp::FloorDiv, "trunc_divide" => BinOp::TruncDiv, "remainder" => BinOp::Remainder, "fmod" => BinOp::Fmod,
        "pow" => BinOp::Pow, "maximum" => BinOp::Maximum, "minimum" => BinOp::Minimum, "atan2" => BinOp::Atan2, "hypot" => BinOp::Hypot,
        "copysign" => BinOp::Copysign, "xlogy" => BinOp::Xlogy, "logaddexp" => BinOp::LogAddExp,
        "bitwise_and" => BinOp::BitAnd, "bitwise_or" => BinOp::BitOr, "bitwise_xor" => BinOp::BitXor,
        "bitwise_left_shift" => BinOp::Shl, "bitwise_right_shift" => BinOp::Shr,
        "logical_and" => BinOp::LogicalAnd, "logical_or" => BinOp::LogicalOr, "logical_xor" => BinOp::LogicalXor,
        "eq" => BinOp::Eq, "ne" => BinOp::Ne, "lt" => BinOp::Lt, "le" => BinOp::Le, "gt" => BinOp::Gt, "ge" => BinOp::Ge,
        _ => return Err(PyValueError::new_err(format!("unknown binary op {}", name))),
    })
    })
}

fn uop_of(name: &str) -> R<unary::UnaryOp> {
    crate::python::convert::guard(|| {
    use unary::UnaryOp::*;
    Ok(match name {
        "neg" => Neg, "abs" => Abs, "sign" => Sign, "floor" => Floor, "ceil" => Ceil, "round" => Round, "trunc" => Trunc,
        "square" => Square, "relu" => Relu, "frac" => Frac, "exp" => Exp, "exp2" => Exp2, "expm1" => Expm1, "log" => Log,
        "log2" => Log2, "log10" => Log10, "log1p" => Log1p, "sqrt" => Sqrt, "rsqrt" => Rsqrt, "sin" => Sin, "cos" => Cos,
        "tan" => Tan, "asin" => Asin, "acos" => Acos, "atan" => Atan, "sinh" => Sinh, "cosh" => Cosh, "tanh" => Tanh,
        "asinh" => Asinh, "acosh" => Acosh, "atanh" => Atanh, "sigmoid" => Sigmoid, "erf" => Erf, "erfc" => Erfc,
        "erfinv" => Erfinv, "digamma" => Digamma, "lgamma" => Lgamma, "reciprocal" => Reciprocal, "isnan" => IsNan,
        "isinf" => IsInf, "isfinite" => IsFinite, "logical_not" => LogicalNot, "signbit" => SignBit, "bitwise_not" => BitwiseNot,
        "polygamma1" => Trigamma,
        _ => return Err(PyValueError::new_err(format!("unknown unary op {}", name))),
    })
    })
}

#[pyfunction]
#[pyo3(signature = (op, a, b, alpha=1.0))]
fn binary_op(py: Python<'_>, op: &str, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>, alpha: f64) -> R<PT> {
    crate::python::convert::guard(|| {
    let (x, y) = (operand(a)?, operand(b)?);
    let op = op_of(op)?;
    let n = operand_numel(&x).max(operand_numel(&y));
    wrap(py, heavy(py, n, || binary::binary(op, &x, &y, alpha))?)
    })
}
#[pyfunction]
fn floor_divide(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    let (x, y) = (operand(a)?, operand(b)?);
    let n = operand_numel(&x).max(operand_numel(&y));
    wrap(py, heavy(py, n, || binary::floor_divide(&x, &y))?)
    })
}
#[pyfunction]
#[pyo3(signature = (op, a, b, alpha=1.0))]
fn binary_op_<'py>(op: &str, a: &Bound<'py, PyAny>, b: &Bound<'py, PyAny>, alpha: f64) -> R<Bound<'py, PyAny>> {
    crate::python::convert::guard(|| {
    binary::binary_(op_of(op)?, &tt(a)?, &operand(b)?, alpha)?;
    Ok(a.clone())
    })
}
#[pyfunction]
fn unary_op(py: Python<'_>, op: &str, a: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
        let (op, x) = (uop_of(op)?, tt(a)?);
        wrap(py, heavy(py, x.numel(), || unary::unary(op, &x))?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, lo=None, hi=None))]
fn clamp_scalar(py: Python<'_>, x: &Bound<'_, PyAny>, lo: Option<f64>, hi: Option<f64>) -> R<PT> {
    crate::python::convert::guard(|| {
        let x = tt(x)?;
        wrap(py, heavy(py, x.numel(), || unary::clamp_scalar(&x, lo, hi))?)
    })
}
#[pyfunction]
fn unary_op_<'py>(op: &str, a: &Bound<'py, PyAny>) -> R<Bound<'py, PyAny>> { crate::python::convert::guard(|| { unary::unary_(uop_of(op)?, &tt(a)?)?; Ok(a.clone()) }) }

#[pyfunction]
fn where_op(py: Python<'_>, cond: &Bound<'_, PyAny>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    wrap(py, binary::where_(&tt(cond)?, &operand(a)?, &operand(b)?)?)
    })
}

// ---- reductions
#[pyfunction]
#[pyo3(signature = (x, dims=None, keepdim=false, dtype=None))]
fn sum(py: Python<'_>, x: &Bound<'_, PyAny>, dims: Option<&Bound<'_, PyAny>>, keepdim: bool, dtype: Option<&Bound<'_, PyAny>>) -> R<PT> {
    crate::python::convert::guard(|| {
    let (d, t, dt) = (opt_dims(dims)?, tt(x)?, opt_dtype(dtype)?);
    wrap(py, heavy(py, t.numel(), || reduce::sum(&t, d.as_deref(), keepdim, dt))?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, dims=None, keepdim=false, dtype=None))]
fn mean(py: Python<'_>, x: &Bound<'_, PyAny>, dims: Option<&Bound<'_, PyAny>>, keepdim: bool, dtype: Option<&Bound<'_, PyAny>>) -> R<PT> {
    crate::python::convert::guard(|| {
    let d = opt_dims(dims)?;
    wrap(py, reduce::mean(&tt(x)?, d.as_deref(), keepdim, opt_dtype(dtype)?)?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, dims=None, keepdim=false, dtype=None))]
fn prod(py: Python<'_>, x: &Bound<'_, PyAny>, dims: Option<&Bound<'_, PyAny>>, keepdim: bool, dtype: Option<&Bound<'_, PyAny>>) -> R<PT> {
    crate::python::convert::guard(|| {
    let d = opt_dims(dims)?;
    wrap(py, reduce::prod(&tt(x)?, d.as_deref(), keepdim, opt_dtype(dtype)?)?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, dims=None, keepdim=false, is_max=true, full=false))]
fn amax(py: Python<'_>, x: &Bound<'_, PyAny>, dims: Option<&Bound<'_, PyAny>>, keepdim: bool, is_max: bool, full: bool) -> R<PT> {
    crate::python::convert::guard(|| {
    let d = opt_dims(dims)?;
    let w = if is_max { reduce::Extreme::Max } else { reduce::Extreme::Min };
    let name = match (is_max, full) { (true, false) => "AmaxBackward0", (false, false) => "AminBackward0", (true, true) => "MaxBackward1", (false, true) => "MinBackward1" };
    wrap(py, reduce::amax(&tt(x)?, d.as_deref(), keepdim, w, name)?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, dim, keepdim=false, is_max=true))]
fn max_dim(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, keepdim: bool, is_max: bool) -> R<(PT, PT)> {
    crate::python::convert::guard(|| {
    let (v, i) = reduce::max_dim(&tt(x)?, dim, keepdim, if is_max { reduce::Extreme::Max } else { reduce::Extreme::Min })?;
    Ok((wrap(py, v)?, wrap(py, i)?))
    })
}
#[pyfunction]
#[pyo3(signature = (x, dim=None, keepdim=false, is_max=true))]
fn argmax(py: Python<'_>, x: &Bound<'_, PyAny>, dim: Option<i64>, keepdim: bool, is_max: bool) -> R<PT> {
    crate::python::convert::guard(|| {
    wrap(py, reduce::argmax(&tt(x)?, dim, keepdim, if is_max { reduce::Extreme::Max } else { reduce::Extreme::Min })?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, dims=None, correction=1.0, keepdim=false, take_sqrt=false))]
fn var(py: Python<'_>, x: &Bound<'_, PyAny>, dims: Option<&Bound<'_, PyAny>>, correction: f64, keepdim: bool, take_sqrt: bool) -> R<PT> {
    crate::python::convert::guard(|| {
    let d = opt_dims(dims)?;
    wrap(py, reduce::var(&tt(x)?, d.as_deref(), correction, keepdim, take_sqrt)?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, dims, keepdim=false))]
fn logsumexp(py: Python<'_>, x: &Bound<'_, PyAny>, dims: &Bound<'_, PyAny>, keepdim: bool) -> R<PT> {
    crate::python::convert::guard(|| {
    wrap(py, reduce::logsumexp(&tt(x)?, &int_list(dims)?, keepdim)?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, dim, prod=false, dtype=None))]
fn cumulative(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, prod: bool, dtype: Option<&Bound<'_, PyAny>>) -> R<PT> {
    crate::python::convert::guard(|| {
    wrap(py, reduce::cumulative(&tt(x)?, dim, prod, opt_dtype(dtype)?)?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, dims=None, keepdim=false, any=false))]
fn all_any(py: Python<'_>, x: &Bound<'_, PyAny>, dims: Option<&Bound<'_, PyAny>>, keepdim: bool, any: bool) -> R<PT> {
    crate::python::convert::guard(|| {
    let d = opt_dims(dims)?;
    wrap(py, reduce::all_any(&tt(x)?, d.as_deref(), keepdim, any)?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, p=2.0, dims=None, keepdim=false))]
fn norm(py: Python<'_>, x: &Bound<'_, PyAny>, p: f64, dims: Option<&Bound<'_, PyAny>>, keepdim: bool) -> R<PT> {
    crate::python::convert::guard(|| {
    let d = opt_dims(dims)?;
    wrap(py, reduce::norm(&tt(x)?, p, d.as_deref(), keepdim)?)
    })
}
#[pyfunction]
fn sum_to_size(py: Python<'_>, x: &Bound<'_, PyAny>, size: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    let s = usize_shape(&int_list(size)?)?;
    wrap(py, reduce::sum_to_shape(&tt(x)?, &s)?)
    })
}

// ---- shape
#[pyfunction]
fn view(py: Python<'_>, x: &Bound<'_, PyAny>, shape_: Vec<i64>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::view(&tt(x)?, &shape_)?) }) }
#[pyfunction]
fn reshape(py: Python<'_>, x: &Bound<'_, PyAny>, shape_: Vec<i64>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::reshape(&tt(x)?, &shape_)?) }) }
#[pyfunction]
fn permute(py: Python<'_>, x: &Bound<'_, PyAny>, dims: Vec<i64>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::permute(&tt(x)?, &dims)?) }) }
#[pyfunction]
fn transpose(py: Python<'_>, x: &Bound<'_, PyAny>, d0: i64, d1: i64) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::transpose(&tt(x)?, d0, d1)?) }) }
#[pyfunction]
fn t(py: Python<'_>, x: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::t(&tt(x)?)?) }) }
#[pyfunction]
fn expand(py: Python<'_>, x: &Bound<'_, PyAny>, sizes: Vec<i64>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::expand(&tt(x)?, &sizes)?) }) }
#[pyfunction]
#[pyo3(signature = (x, dims=None))]
fn squeeze(py: Python<'_>, x: &Bound<'_, PyAny>, dims: Option<&Bound<'_, PyAny>>) -> R<PT> {
    crate::python::convert::guard(|| {
    let d = opt_dims(dims)?;
    let t = tt(x)?;
    let nd = t.ndim();
    let name = match dims { None => "SqueezeBackward0", Some(o) if o.is_instance_of::<pyo3::types::PyInt>() => "SqueezeBackward1", Some(_) => "SqueezeBackward2" };
    let ds: Vec<usize> = match &d { None => (0..nd).collect(), Some(v) => v.iter().map(|&i| crate::error::wrap_dim(i, nd)).collect::<crate::error::Result<_>>()? };
    wrap(py, shape::squeeze_dims_as(&t, &ds, name)?)
    })
}
#[pyfunction]
fn unsqueeze(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::unsqueeze(&tt(x)?, dim)?) }) }
#[pyfunction]
fn narrow(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, start: i64, length: i64) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::narrow(&tt(x)?, dim, start, length)?) }) }
#[pyfunction]
fn select(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, index_: i64) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::select(&tt(x)?, dim, index_)?) }) }
#[pyfunction]
fn slice_op(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, start: i64, end: i64, step: i64) -> R<PT> {
    crate::python::convert::guard(|| {
    let t = tt(x)?;
    let d = crate::error::wrap_dim(dim, t.ndim())?;
    let n = t.shape()[d] as i64;
    let cl = |v: i64| (if v < 0 { v + n } else { v }).clamp(0, n);
    let (s, e) = (cl(start), cl(end));
    wrap(py, shape::slice(&t, d, s as usize, e.max(s) as usize, step.max(1) as usize)?)
    })
}
#[pyfunction]
fn diagonal(py: Python<'_>, x: &Bound<'_, PyAny>, offset: i64, d1: i64, d2: i64) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::diagonal(&tt(x)?, offset, d1, d2)?) }) }
#[pyfunction]
fn unfold(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, size: i64, step: i64) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::unfold(&tt(x)?, dim, size, step)?) }) }
#[pyfunction]
fn flip(py: Python<'_>, x: &Bound<'_, PyAny>, dims: Vec<i64>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::flip(&tt(x)?, &dims)?) }) }
#[pyfunction]
fn cat(py: Python<'_>, ts: &Bound<'_, PyAny>, dim: i64) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::cat(&tensors(ts)?, dim)?) }) }
#[pyfunction]
fn stack(py: Python<'_>, ts: &Bound<'_, PyAny>, dim: i64) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::stack(&tensors(ts)?, dim)?) }) }
#[pyfunction]
fn repeat(py: Python<'_>, x: &Bound<'_, PyAny>, reps: Vec<i64>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::repeat(&tt(x)?, &reps)?) }) }
#[pyfunction]
fn tri(py: Python<'_>, x: &Bound<'_, PyAny>, diag: i64, upper: bool) -> R<PT> { crate::python::convert::guard(|| { wrap(py, shape::tri(&tt(x)?, diag, upper)?) }) }
#[pyfunction]
#[pyo3(signature = (x, size, stride, storage_offset=None))]
fn as_strided(py: Python<'_>, x: &Bound<'_, PyAny>, size: Vec<i64>, stride: Vec<i64>, storage_offset: Option<i64>) -> R<PT> {
    crate::python::convert::guard(|| {
    let t = tt(x)?;
    let s = usize_shape(&size)?;
    if stride.len() != s.len() {
        return Err(PyRuntimeError::new_err(format!("mismatch in length of strides and shape")));
    }
    let st: Vec<isize> = stride.iter().map(|&v| v as isize).collect();
    let b = t.body();
    let off = match storage_offset {
        Some(o) if o < 0 => return Err(PyRuntimeError::new_err(format!("Tensor: invalid storage offset {}", o))),
        Some(o) => o as usize,
        None => b.offset,
    };
    // the view must stay inside the storage: the only check between user geometry and memory
    crate::tensor::check_view_bounds(&s, &st, off, b.dtype.size(), b.storage.nbytes())?;
    let rel = off as isize - b.offset as isize;
    if rel < 0 {
        return wrap(py, t.view_of(s.into(), st.into(), off));
    }
    wrap(py, shape::as_strided(&t, &s, &st, rel as usize)?)
    })
}
#[pyfunction]
fn contiguous(py: Python<'_>, x: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
    crate::python::convert::guard(|| {
    let t = tt(x)?;
    if t.is_contiguous() { return Ok(x.clone().unbind()); }
    Ok(wrap(py, copy::contiguous(&t)?)?.into_any())
    })
}
#[pyfunction]
fn clone(py: Python<'_>, x: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, copy::clone(&tt(x)?)?) }) }
#[pyfunction]
fn to_dtype(py: Python<'_>, x: &Bound<'_, PyAny>, dtype: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
    crate::python::convert::guard(|| {
    let t = tt(x)?;
    let d = dtype_of(dtype)?;
    if t.dtype() == d { return Ok(x.clone().unbind()); }
    Ok(wrap(py, copy::to_dtype(&t, d)?)?.into_any())
    })
}
/// Reinterprets the bytes as another dtype of the same size (`view(dtype)`).
#[pyfunction]
fn view_dtype(py: Python<'_>, x: &Bound<'_, PyAny>, dtype: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    let t = tt(x)?;
    let d = dtype_of(dtype)?;
    let b = t.body();
    if d.size() != b.dtype.size() {
        if b.is_contiguous() && b.shape.last().is_some_and(|&l| (l * b.dtype.size()) % d.size() == 0) {
            let mut shape = b.shape.clone();
            let last = shape.len() - 1;
            shape[last] = shape[last] * b.dtype.size() / d.size();
            let off = b.offset * b.dtype.size() / d.size();
            return wrap(py, Tensor::from_body(Body { storage: b.storage.clone(), strides: contiguous_strides(&shape), shape, offset: off, dtype: d, version: b.version.clone() }));
        }
        return Err(PyRuntimeError::new_err(format!("self.size(-1) must be divisible by {} to view {} as {} (different element sizes), but got {}", d.size() / b.dtype.size().max(1), b.dtype.name(), d.name(), b.shape.last().copied().unwrap_or(0))));
    }
    wrap(py, Tensor::from_body(Body { dtype: d, ..b }))
    })
}
#[pyfunction]
fn copy_<'py>(dst: &Bound<'py, PyAny>, src: &Bound<'py, PyAny>) -> R<Bound<'py, PyAny>> { crate::python::convert::guard(|| { copy::copy_(&tt(dst)?, &tt(src)?)?; Ok(dst.clone()) }) }
#[pyfunction]
fn fill_<'py>(dst: &Bound<'py, PyAny>, value: &Bound<'py, PyAny>) -> R<Bound<'py, PyAny>> {
    crate::python::convert::guard(|| {
    let t = tt(dst)?;
    let v = match operand(value)? { Operand::T(v) => v, Operand::S(s) => { s.check_fill(t.dtype(), t.numel())?; let x = Tensor::empty(&[], t.dtype())?; fill_scalar(&x, s)?; x } };
    copy::copy_(&t, &v)?;
    Ok(dst.clone())
    })
}
fn fill_scalar(t: &Tensor, s: Scalar) -> R<()> {
    crate::python::convert::guard(|| {
    match s {
        Scalar::Int(i) if !t.dtype().is_float() => copy::copy_raw(t, &Tensor::from_vec(vec![i], &[])?)?,
        Scalar::Complex(..) => copy::copy_raw(t, &crate::ops::binary::as_dtype(&Operand::S(s), t.dtype())?)?,
        other => copy::fill_raw(t, other.to_f64())?,
    }
    Ok(())
    })
}

// ---- indexing
#[pyfunction]
fn masked_fill(py: Python<'_>, x: &Bound<'_, PyAny>, mask: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    wrap(py, index::masked_fill(&tt(x)?, &tt(mask)?, &operand(value)?)?)
    })
}
#[pyfunction]
fn gather(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, idx: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, index::gather(&tt(x)?, dim, &tt(idx)?)?) }) }
fn reduce_of(s: Option<&str>) -> R<Reduce> {
    crate::python::convert::guard(|| {
    Ok(match s {
        None => Reduce::None, Some("add") | Some("sum") => Reduce::Add, Some("multiply") | Some("prod") => Reduce::Mul,
        Some("amax") => Reduce::Amax, Some("amin") => Reduce::Amin, Some("mean") => Reduce::Mean,
        Some(o) => return Err(PyValueError::new_err(format!("reduce argument must be either sum, prod, mean, amax or amin, got {}", o))),
    })
    })
}
#[pyfunction]
#[pyo3(signature = (x, dim, idx, src, reduce=None, inplace=false))]
fn scatter(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, idx: &Bound<'_, PyAny>, src: &Bound<'_, PyAny>, reduce: Option<&str>, inplace: bool) -> R<PT> {
    crate::python::convert::guard(|| {
    let f = if inplace { index::scatter_inplace } else { index::scatter };
    wrap(py, f(&tt(x)?, dim, &tt(idx)?, &operand(src)?, reduce_of(reduce)?)?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, dim, idx, src, reduce, include_self=true))]
fn scatter_reduce(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, idx: &Bound<'_, PyAny>, src: &Bound<'_, PyAny>, reduce: &str, include_self: bool) -> R<PT> {
    crate::python::convert::guard(|| {
    wrap(py, index::scatter_reduce(&tt(x)?, dim, &tt(idx)?, &tt(src)?, reduce_of(Some(reduce))?, include_self)?)
    })
}
/// `mse_loss`'s mean or sum of squares of a float difference (one node, MseLossBackward0).
#[pyfunction]
fn mse_reduce(py: Python<'_>, d: &Bound<'_, PyAny>, mean: bool) -> R<PT> { crate::python::convert::guard(|| { wrap(py, reduce::sum_squares(&tt(d)?, mean, "MseLossBackward0")?) }) }
#[pyfunction]
fn index_select(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, idx: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, index::index_select(&tt(x)?, dim, &tt(idx)?)?) }) }
#[pyfunction]
#[pyo3(signature = (x, dim, idx, src, alpha=1.0, inplace=false))]
fn index_add(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, idx: &Bound<'_, PyAny>, src: &Bound<'_, PyAny>, alpha: f64, inplace: bool) -> R<PT> {
    crate::python::convert::guard(|| {
    let f = if inplace { index::index_add_inplace } else { index::index_add };
    wrap(py, f(&tt(x)?, dim, &tt(idx)?, &tt(src)?, alpha)?)
    })
}
/// addcmul / addcdiv / lerp in one kernel (float32/float64, no autograd), into `a` when
/// `inplace`.
#[pyfunction]
fn pointwise3(py: Python<'_>, op: &str, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>, c: &Bound<'_, PyAny>, value: f64, inplace: bool) -> R<PT> {
    crate::python::convert::guard(|| {
    let op = match op {
        "addcmul" => binary::Pointwise3::AddCMul,
        "addcdiv" => binary::Pointwise3::AddCDiv,
        "lerp" => binary::Pointwise3::Lerp,
        other => return Err(PyValueError::new_err(format!("internal: no fused pointwise op {other}"))),
    };
    wrap(py, binary::pointwise3(op, &tt(a)?, &tt(b)?, &operand(c)?, value, inplace)?)
    })
}
fn opt_tensors(o: &Bound<'_, PyAny>) -> R<Vec<Option<Tensor>>> {
    crate::python::convert::guard(|| {
    let mut v = vec![];
    for x in o.try_iter()? { let x = x?; v.push(if x.is_none() { None } else { Some(tt(&x)?) }); }
    Ok(v)
    })
}
#[pyfunction]
fn index_op(py: Python<'_>, x: &Bound<'_, PyAny>, indices: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    let t = tt(x)?;
    let idx = index::expand_masks(opt_tensors(indices)?, &t.shape())?;
    wrap(py, index::index(&t, &idx)?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, indices, values, accumulate=false, inplace=false))]
fn index_put(py: Python<'_>, x: &Bound<'_, PyAny>, indices: &Bound<'_, PyAny>, values: &Bound<'_, PyAny>, accumulate: bool, inplace: bool) -> R<Py<PyAny>> {
    crate::python::convert::guard(|| {
    let t = tt(x)?;
    let idx = index::expand_masks(opt_tensors(indices)?, &t.shape())?;
    let v = match operand(values)? { Operand::T(v) => v, Operand::S(s) => { let x = Tensor::empty(&[], t.dtype())?; fill_scalar(&x, s)?; x } };
    if inplace { index::index_put_(&t, &idx, &v, accumulate)?; return Ok(x.clone().unbind()); }
    Ok(wrap(py, index::index_put(&t, &idx, &v, accumulate)?)?.into_any())
    })
}
#[pyfunction]
fn nonzero(py: Python<'_>, x: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, index::nonzero(&tt(x)?)?) }) }
#[pyfunction]
#[pyo3(signature = (x, dim=-1, descending=false))]
fn sort(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, descending: bool) -> R<(PT, PT)> {
    crate::python::convert::guard(|| {
    let (v, i) = index::sort(&tt(x)?, dim, descending)?;
    Ok((wrap(py, v)?, wrap(py, i)?))
    })
}

#[pyfunction]
#[pyo3(signature = (x, k, dim=-1, largest=true))]
fn topk(py: Python<'_>, x: &Bound<'_, PyAny>, k: usize, dim: i64, largest: bool) -> R<(PT, PT)> {
    crate::python::convert::guard(|| {
    let (v, i) = index::topk(&tt(x)?, k, dim, largest)?;
    Ok((wrap(py, v)?, wrap(py, i)?))
    })
}

// ---- linalg / nn
#[pyfunction]
fn mm(py: Python<'_>, input: &Bound<'_, PyAny>, mat2: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, linalg::mm(&tt(input)?, &tt(mat2)?)?) }) }
#[pyfunction]
fn bmm(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| { wrap(py, linalg::bmm(&tt(a)?, &tt(b)?)?) }) }
#[pyfunction]
fn matmul(py: Python<'_>, input: &Bound<'_, PyAny>, other: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    let (x, y) = (tt(input)?, tt(other)?);
    let big = x.numel() * y.numel() > 1 << 16;
    let r = if big { py.detach(|| linalg::matmul(&x, &y)) } else { linalg::matmul(&x, &y) };
    wrap(py, r?)
    })
}
#[pyfunction]
#[pyo3(signature = (x, dim, log=false, dtype=None))]
fn softmax(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, log: bool, dtype: Option<&Bound<'_, PyAny>>) -> R<PT> {
    crate::python::convert::guard(|| {
    let (t, dt) = (tt(x)?, opt_dtype(dtype)?);
    wrap(py, heavy(py, t.numel(), || nn::softmax(&t, dim, log, dt))?)
    })
}

// ---- creation
#[pyfunction]
fn empty(py: Python<'_>, shape_: Vec<i64>, dtype: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| { let s = usize_shape(&shape_)?; crate::tensor::check_contiguous_strides(&s)?; wrap(py, Tensor::empty(&s, dtype_of(dtype)?)?) }) }
#[pyfunction]
fn zeros(py: Python<'_>, shape_: Vec<i64>, dtype: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| { let s = usize_shape(&shape_)?; crate::tensor::check_contiguous_strides(&s)?; wrap(py, Tensor::zeros(&s, dtype_of(dtype)?)?) }) }
#[pyfunction]
fn full(py: Python<'_>, shape_: Vec<i64>, value: &Bound<'_, PyAny>, dtype: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    let shape = usize_shape(&shape_)?;
    crate::tensor::check_contiguous_strides(&shape)?;
    let t = Tensor::empty(&shape, dtype_of(dtype)?)?;
    let s = scalar_of(value).ok_or_else(|| PyTypeError::new_err("full(): fill_value must be a number"))?;
    s.check_fill(t.dtype(), t.numel())?;
    let one = Tensor::empty(&[], t.dtype())?;
    fill_scalar(&one, s)?;
    copy::copy_raw(&t, &one)?;
    wrap(py, t)
    })
}
/// A float64 vector of `n` values `f(i)`, allocated fallibly (n comes from the user).
fn f64_sequence(n: usize, f: impl Fn(usize) -> f64) -> crate::error::Result<Tensor> {
    let t = Tensor::empty(&[n], DType::F64)?;
    // SAFETY: t is a fresh contiguous buffer of exactly n f64 values.
    let out = unsafe { std::slice::from_raw_parts_mut(t.body().data_ptr() as *mut f64, n) };
    for (i, o) in out.iter_mut().enumerate() { *o = f(i); }
    Ok(t)
}
#[pyfunction]
fn arange(py: Python<'_>, start: f64, end: f64, step: f64, dtype: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    let d = dtype_of(dtype)?;
    if step == 0.0 { return Err(PyRuntimeError::new_err("step must be nonzero")); }
    if (step > 0.0 && end < start) || (step < 0.0 && end > start) {
        return Err(PyRuntimeError::new_err("upper bound and larger bound inconsistent with step sign"));
    }
    if !start.is_finite() || !end.is_finite() {
        return Err(PyRuntimeError::new_err(format!("unsupported range: {} -> {}", start, end)));
    }
    let n = ((end - start) / step).ceil().max(0.0);
    if n >= i64::MAX as f64 { return Err(PyRuntimeError::new_err(format!("Storage size calculation overflowed with sizes=[{}]", n))); }
    wrap(py, copy::contiguous_as(&f64_sequence(n as usize, |i| start + i as f64 * step)?, d)?)
    })
}
#[pyfunction]
fn linspace(py: Python<'_>, start: f64, end: f64, steps: i64, dtype: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    if steps < 0 { return Err(PyRuntimeError::new_err("number of steps must be non-negative")); }
    let n = steps as usize;
    let step = if n > 1 { (end - start) / (n - 1) as f64 } else { 0.0 };
    if n == 1 { return wrap(py, copy::contiguous_as(&Tensor::from_vec(vec![start], &[1])?, dtype_of(dtype)?)?); }
    // symmetric evaluation like PyTorch: first half from start, second half from end
    let v = f64_sequence(n, |i| if i < n / 2 { start + step * i as f64 } else { end - step * (n - 1 - i) as f64 })?;
    wrap(py, copy::contiguous_as(&v, dtype_of(dtype)?)?)
    })
}

/// Shares a NumPy array's memory (via its `__array_interface__`), keeping the array alive.
#[pyfunction]
fn from_numpy(py: Python<'_>, arr: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    let ai = arr.getattr("__array_interface__")?;
    let ai = ai.cast::<PyDict>()?;
    let shape: Vec<usize> = ai.get_item("shape")?.ok_or_else(|| PyValueError::new_err("no shape"))?.extract()?;
    let typestr: String = ai.get_item("typestr")?.ok_or_else(|| PyValueError::new_err("no typestr"))?.extract()?;
    let (ptr, _ro): (usize, bool) = ai.get_item("data")?.ok_or_else(|| PyValueError::new_err("no data"))?.extract()?;
    let dt = match &typestr[1..] {
        "b1" => DType::Bool, "u1" => DType::U8, "i1" => DType::I8, "i2" => DType::I16, "i4" => DType::I32, "i8" => DType::I64,
        "f2" => DType::F16, "f4" => DType::F32, "f8" => DType::F64, "c8" => DType::C64, "c16" => DType::C128,
        other => return Err(PyTypeError::new_err(format!("can't convert np.ndarray of type numpy.{}. The only supported types are: float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint8, and bool.", other))),
    };
    if typestr.starts_with('>') { return Err(PyValueError::new_err("given numpy array has byte order different from the native byte order")); }
    let es = dt.size() as isize;
    let strides: Vec<isize> = match ai.get_item("strides")? {
        Some(s) if !s.is_none() => {
            let b: Vec<isize> = s.extract()?;
            if b.iter().any(|x| x % es != 0) { return Err(PyValueError::new_err("given numpy array strides not a multiple of the element byte size. Copy the numpy array to reallocate the memory.")); }
            b.iter().map(|x| x / es).collect()
        }
        _ => contiguous_strides(&shape).to_vec(),
    };
    // storage spans from the lowest to the highest addressed element
    let lo: isize = shape.iter().zip(&strides).map(|(&n, &s)| if s < 0 && n > 0 { s * (n as isize - 1) } else { 0 }).sum();
    let hi: isize = shape.iter().zip(&strides).map(|(&n, &s)| if s > 0 && n > 0 { s * (n as isize - 1) } else { 0 }).sum();
    let n = if shape.iter().any(|&x| x == 0) { 0 } else { (hi - lo + 1) as usize };
    let base = (ptr as isize + lo * es) as *mut u8;
    let owner: Py<PyAny> = arr.clone().unbind();
    let storage = Arc::new(Storage::from_external(base, n * dt.size(), Box::new(owner)));
    wrap(py, Tensor::from_body(Body { storage, shape: shape.into(), strides: strides.into(), offset: (-lo) as usize, dtype: dt, version: Default::default() }))
    })
}

// ---- random
#[pyfunction]
fn manual_seed(seed: i64) { random::manual_seed(seed as u64) }
#[pyfunction]
fn initial_seed() -> u64 { random::with_rng(None, |r| r.seed()) }
#[pyfunction]
fn default_rng_state(py: Python<'_>) -> R<PT> { crate::python::convert::guard(|| { let b = random::with_rng(None, |r| r.state()); let n = b.len(); wrap(py, Tensor::from_vec(b, &[n])?) }) }
#[pyfunction]
fn set_default_rng_state(state: &Bound<'_, PyAny>) -> R<()> { crate::python::convert::guard(|| { let v = tt(state)?.to_vec::<u8>()?; random::with_rng(None, |r| r.set_state(&v))?; Ok(()) }) }
#[pyfunction]
#[pyo3(signature = (t, lo, hi, generator=None))]
fn uniform_<'py>(t: &Bound<'py, PyAny>, lo: f64, hi: f64, generator: Option<&Bound<'py, PyAny>>) -> R<Bound<'py, PyAny>> {
    crate::python::convert::guard(|| {
    let g = gen_of(generator)?;
    random::uniform_(&tt(t)?, lo, hi, g.as_deref())?;
    Ok(t.clone())
    })
}
#[pyfunction]
#[pyo3(signature = (t, mean, std, generator=None))]
fn normal_<'py>(t: &Bound<'py, PyAny>, mean: f64, std: f64, generator: Option<&Bound<'py, PyAny>>) -> R<Bound<'py, PyAny>> {
    crate::python::convert::guard(|| {
    let g = gen_of(generator)?;
    random::normal_(&tt(t)?, mean, std, g.as_deref())?;
    Ok(t.clone())
    })
}
#[pyfunction]
#[pyo3(signature = (t, lo, hi, generator=None))]
fn randint_<'py>(t: &Bound<'py, PyAny>, lo: i64, hi: i64, generator: Option<&Bound<'py, PyAny>>) -> R<Bound<'py, PyAny>> {
    crate::python::convert::guard(|| {
    let g = gen_of(generator)?;
    random::randint_(&tt(t)?, lo, hi, g.as_deref())?;
    Ok(t.clone())
    })
}
#[pyfunction]
#[pyo3(signature = (t, generator=None))]
fn random_full_<'py>(t: &Bound<'py, PyAny>, generator: Option<&Bound<'py, PyAny>>) -> R<Bound<'py, PyAny>> {
    crate::python::convert::guard(|| {
    let g = gen_of(generator)?;
    random::random_full_(&tt(t)?, g.as_deref())?;
    Ok(t.clone())
    })
}
#[pyfunction]
#[pyo3(signature = (t, lambd, generator=None))]
fn exponential_<'py>(t: &Bound<'py, PyAny>, lambd: f64, generator: Option<&Bound<'py, PyAny>>) -> R<Bound<'py, PyAny>> {
    crate::python::convert::guard(|| {
    let g = gen_of(generator)?;
    random::exponential_(&tt(t)?, lambd, g.as_deref())?;
    Ok(t.clone())
    })
}
#[pyfunction]
#[pyo3(signature = (t, p, generator=None))]
fn bernoulli_scalar_<'py>(t: &Bound<'py, PyAny>, p: f64, generator: Option<&Bound<'py, PyAny>>) -> R<Bound<'py, PyAny>> {
    crate::python::convert::guard(|| {
    let g = gen_of(generator)?;
    random::bernoulli_scalar_(&tt(t)?, p, g.as_deref())?;
    Ok(t.clone())
    })
}
#[pyfunction]
#[pyo3(signature = (n, dtype, generator=None))]
fn randperm(py: Python<'_>, n: usize, dtype: &Bound<'_, PyAny>, generator: Option<&Bound<'_, PyAny>>) -> R<PT> {
    crate::python::convert::guard(|| {
    let g = gen_of(generator)?;
    wrap(py, random::randperm(n, dtype_of(dtype)?, g.as_deref())?)
    })
}
#[pyfunction]
#[pyo3(signature = (p, generator=None))]
fn bernoulli(py: Python<'_>, p: &Bound<'_, PyAny>, generator: Option<&Bound<'_, PyAny>>) -> R<PT> {
    crate::python::convert::guard(|| {
    let g = gen_of(generator)?;
    wrap(py, random::bernoulli(&tt(p)?, g.as_deref())?)
    })
}
#[pyfunction]
#[pyo3(signature = (p, n, replacement=false, generator=None))]
fn multinomial(py: Python<'_>, p: &Bound<'_, PyAny>, n: usize, replacement: bool, generator: Option<&Bound<'_, PyAny>>) -> R<PT> {
    crate::python::convert::guard(|| {
    let g = gen_of(generator)?;
    wrap(py, random::multinomial(&tt(p)?, n, replacement, g.as_deref())?)
    })
}

// ---- dtypes
#[pyfunction]
fn result_type(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> R<Py<PyDType>> {
    crate::python::convert::guard(|| {
    let mut st = ResultTypeState::default();
    for x in [a, b] {
        match operand(x)? { Operand::T(t) => st.tensor(t.dtype(), t.ndim()), Operand::S(s) => st.scalar(s) }
    }
    Ok(dtype_obj(py, st.result()))
    })
}
#[pyfunction]
fn promote_types(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> R<Py<PyDType>> { crate::python::convert::guard(|| { Ok(dtype_obj(py, promote(dtype_of(a)?, dtype_of(b)?))) }) }
#[pyfunction]
fn can_cast(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> R<bool> { crate::python::convert::guard(|| { Ok(crate::dtype::can_cast(dtype_of(a)?, dtype_of(b)?)) }) }
#[pyfunction]
fn set_default_dtype(d: &Bound<'_, PyAny>) -> R<()> {
    crate::python::convert::guard(|| {
    let dt = dtype_of(d)?;
    if !dt.is_float() { return Err(PyTypeError::new_err("only floating-point types are supported as the default type")); }
    crate::tensor::set_default_dtype(dt);
    Ok(())
    })
}
#[pyfunction]
fn get_default_dtype(py: Python<'_>) -> Py<PyDType> { dtype_obj(py, crate::tensor::default_dtype()) }

// ---- autograd
#[pyfunction]
fn is_grad_enabled() -> bool { autograd::is_grad_enabled() }
#[pyfunction]
fn set_grad_enabled(v: bool) -> bool { autograd::set_grad_enabled(v) }

fn grads_for(outs: &[Tensor], grads: &Bound<'_, PyAny>) -> R<Vec<(Tensor, Tensor)>> {
    crate::python::convert::guard(|| {
    let gl: Vec<Option<Tensor>> = if grads.is_none() { vec![None; outs.len()] } else { opt_tensors(grads)? };
    let mut roots = vec![];
    for (i, o) in outs.iter().enumerate() {
        let g = match gl.get(i).cloned().flatten() {
            Some(g) => {
                if g.shape() != o.shape() {
                    return Err(PyRuntimeError::new_err(format!("Mismatch in shape: grad_output[{}] has a shape of torch.Size([{}]) and output[{}] has a shape of torch.Size([{}]).", i, shape::join(&g.shape()), i, shape::join(&o.shape()))));
                }
                g
            }
            None => {
                if o.numel() != 1 { return Err(PyRuntimeError::new_err("grad can be implicitly created only for scalar outputs")); }
                if !o.dtype().is_float() { return Err(PyRuntimeError::new_err(format!("grad can be implicitly created only for real scalar outputs but got torch.{}", o.dtype().name()))); }
                let g = Tensor::empty(&o.shape(), o.dtype())?;
                copy::fill_raw(&g, 1.0)?;
                g
            }
        };
        if !o.requires_grad() {
            return Err(PyRuntimeError::new_err(format!("element {} of tensors does not require grad and does not have a grad_fn", i)));
        }
        roots.push((o.clone(), g));
    }
    Ok(roots)
    })
}

#[pyfunction]
#[pyo3(signature = (tensors_, grads, retain_graph, create_graph, inputs=None))]
fn run_backward(py: Python<'_>, tensors_: &Bound<'_, PyAny>, grads: &Bound<'_, PyAny>, retain_graph: bool, create_graph: bool, inputs: Option<&Bound<'_, PyAny>>) -> R<()> {
    crate::python::convert::guard(|| {
    let outs = tensors(tensors_)?;
    let roots = grads_for(&outs, grads)?;
    let ins = match inputs { Some(i) if !i.is_none() => Some(tensors(i)?), _ => None };
    let _ = py;
    match ins {
        // backward(inputs=...): gradients flow only into these tensors (leaves or not)
        Some(ins) => {
            let grads = autograd::run_backward(&roots, retain_graph, create_graph, Some(&ins), None)?;
            for (t, g) in ins.iter().zip(grads) {
                if let Some(g) = g { autograd::accumulate_into_leaf(t, g, create_graph)?; }
            }
        }
        None => { autograd::run_backward(&roots, retain_graph, create_graph, None, None)?; }
    }
    Ok(())
    })
}

#[pyfunction]
#[pyo3(signature = (outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused))]
fn run_grad(py: Python<'_>, outputs: &Bound<'_, PyAny>, inputs: &Bound<'_, PyAny>, grad_outputs: &Bound<'_, PyAny>, retain_graph: bool, create_graph: bool, allow_unused: bool) -> R<Py<PyTuple>> {
    crate::python::convert::guard(|| {
    let outs = tensors(outputs)?;
    let ins = tensors(inputs)?;
    let roots = grads_for(&outs, grad_outputs)?;
    let res = autograd::run_backward(&roots, retain_graph, create_graph, Some(&ins), None)?;
    let mut v = vec![];
    for (i, r) in res.into_iter().enumerate() {
        match r {
            Some(t) => v.push(wrap(py, t)?.into_any()),
            None => {
                if !allow_unused {
                    return Err(PyRuntimeError::new_err("One of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior."));
                }
                let _ = i;
                v.push(py.None());
            }
        }
    }
    Ok(PyTuple::new(py, v)?.unbind())
    })
}

/// Registers a Python hook on a tensor's gradient.
#[pyfunction]
fn register_hook(t: &Bound<'_, PyAny>, hook: Py<PyAny>) -> R<()> {
    crate::python::convert::guard(|| {
    let t = tt(t)?;
    let h: autograd::Hook = Arc::new(move |g: &Tensor| {
        Python::attach(|py| {
            let r = hook.call1(py, (wrap(py, g.clone()).map_err(|e| crate::error::Error::Runtime(e.to_string()))?,)).map_err(|e| crate::error::Error::Runtime(format!("hook raised: {}", e)))?;
            if r.is_none(py) { return Ok(None); }
            Ok(Some(r.bind(py).cast::<PyTensor>().map_err(|_| crate::error::Error::Type("hook must return a Tensor or None".into()))?.get().t.clone()))
        })
    });
    if t.is_leaf() {
        if !t.requires_grad() { return Err(PyRuntimeError::new_err("cannot register a hook on a tensor that doesn't require gradient")); }
        t.0.meta.lock().leaf_hooks.push(h);
    } else {
        let (f, nr) = { let m = t.0.meta.lock(); (m.grad_fn.clone(), m.output_nr) };
        if let Some(f) = f { f.pre_hooks.lock().push((nr, h)); }
    }
    Ok(())
    })
}

/// Records a custom `autograd.Function` node: `backward(*grads) -> tuple of grads per input`.
#[pyfunction]
fn record_function(name: String, inputs: &Bound<'_, PyAny>, outputs: &Bound<'_, PyAny>, backward: Py<PyAny>) -> R<()> {
    crate::python::convert::guard(|| {
    let ins = tensors(inputs)?;
    let outs = tensors(outputs)?;
    let n_in = ins.len();
    let out_meta: Vec<(Vec<usize>, DType)> = outs.iter().map(|o| (o.shape().to_vec(), o.dtype())).collect();
    let f = move |_: &[Tensor], g: &[Option<Tensor>]| -> crate::error::Result<Vec<Option<Tensor>>> {
        Python::attach(|py| {
            let err = |e: PyErr| crate::python::convert::stash_py_err(py, e);
            let gs: Vec<Py<PyAny>> = g.iter().enumerate().map(|(i, x)| match x {
                Some(t) => wrap(py, t.clone()).map(|p| p.into_any()),
                None => wrap(py, Tensor::zeros(&out_meta[i].0, out_meta[i].1)?).map(|p| p.into_any()),
            }).collect::<PyResult<_>>().map_err(err)?;
            let r = backward.call1(py, PyTuple::new(py, gs).map_err(err)?).map_err(err)?;
            let r = r.bind(py);
            let items: Vec<Bound<'_, PyAny>> = if let Ok(t) = r.cast::<PyTuple>() { t.iter().collect() } else { vec![r.clone()] };
            let mut v = vec![];
            for i in 0..n_in {
                let x = items.get(i);
                v.push(match x { Some(x) if !x.is_none() => Some(x.cast::<PyTensor>().map_err(|_| crate::error::Error::Type("backward must return Tensors or None".into()))?.get().t.clone()), _ => None });
            }
            Ok(v)
        })
    };
    let in_refs: Vec<&Tensor> = ins.iter().collect();
    let out_refs: Vec<&Tensor> = outs.iter().collect();
    // record() reads the inputs' edges before re-pointing the outputs, so an output that is a
    // dirty (in-place modified) input keeps its old history as this node's predecessor
    autograd::record(name, &in_refs, &out_refs, vec![], Box::new(f));
    Ok(())
    })
}

/// `torch.set_num_threads`: 1 runs every kernel serially; n > 1 runs them on the worker pool,
/// which import built with one worker per CPU (`RAYON_NUM_THREADS` sets another count; a
/// running pool cannot be resized, so the build below only matters where import built none).
#[pyfunction]
fn set_num_threads(n: usize) {
    crate::cpu::iter::set_serial(n <= 1);
    if n > 1 { let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global(); }
}
#[pyfunction]
fn get_num_threads() -> usize { if crate::cpu::threads::threads_allowed() { rayon::current_num_threads() } else { 1 } }

/// `torch.cpu._init_amx`: whether bfloat16 matmuls run on AMX tiles here (the CPU has AMX-BF16
/// and the OS granted the tile state).
#[pyfunction]
fn _init_amx() -> bool { crate::cpu::bf16_gemm::amx_available() }
/// The kernel bfloat16 matmuls run on here: "amx", "avx512_bf16", or None (through f32).
#[pyfunction]
fn _bf16_matmul_kernel() -> Option<&'static str> { crate::cpu::bf16_gemm::kernel().map(|k| k.name()) }

fn opt_list(o: &Bound<'_, PyAny>) -> R<Vec<Option<Tensor>>> { crate::python::convert::guard(|| { opt_tensors(o) }) }

#[pyfunction]
#[pyo3(signature = (params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, *, amsgrad, beta1, beta2, lr, weight_decay, eps, maximize, decoupled_weight_decay=false))]
#[allow(clippy::too_many_arguments)]
fn _adam_step(py: Python<'_>, params: &Bound<'_, PyAny>, grads: &Bound<'_, PyAny>, exp_avgs: &Bound<'_, PyAny>, exp_avg_sqs: &Bound<'_, PyAny>,
              max_exp_avg_sqs: &Bound<'_, PyAny>, state_steps: &Bound<'_, PyAny>, amsgrad: bool, beta1: f64, beta2: f64, lr: f64,
              weight_decay: f64, eps: f64, maximize: bool, decoupled_weight_decay: bool) -> R<()> {
    let (p, g, m, v, x, s) = (tensors(params)?, tensors(grads)?, tensors(exp_avgs)?, tensors(exp_avg_sqs)?, tensors(max_exp_avg_sqs)?, tensors(state_steps)?);
    py.detach(|| crate::cpu::optim::adam_step(&p, &g, &m, &v, &x, &s, amsgrad, beta1, beta2, lr, weight_decay, eps, maximize, decoupled_weight_decay))?;
    Ok(())
}

#[pyfunction]
#[pyo3(signature = (params, grads, momentum_buffer_list, *, lr, weight_decay, momentum, dampening, nesterov, maximize))]
#[allow(clippy::too_many_arguments)]
fn _sgd_step(py: Python<'_>, params: &Bound<'_, PyAny>, grads: &Bound<'_, PyAny>, momentum_buffer_list: &Bound<'_, PyList>, lr: f64,
             weight_decay: f64, momentum: f64, dampening: f64, nesterov: bool, maximize: bool) -> R<()> {
    let (p, g) = (tensors(params)?, tensors(grads)?);
    let bufs = opt_list(momentum_buffer_list.as_any())?;
    let created = py.detach(|| crate::cpu::optim::sgd_step(&p, &g, &bufs, lr, weight_decay, momentum, dampening, nesterov, maximize))?;
    for (i, c) in created.into_iter().enumerate() {
        if let Some(t) = c { momentum_buffer_list.set_item(i, wrap(py, t)?)?; }
    }
    Ok(())
}

#[pyfunction]
#[pyo3(signature = (params, grads, square_avgs, grad_avgs, momentum_buffer_list, state_steps, *, lr, alpha, eps, weight_decay, momentum, centered, maximize))]
#[allow(clippy::too_many_arguments)]
fn _rmsprop_step(py: Python<'_>, params: &Bound<'_, PyAny>, grads: &Bound<'_, PyAny>, square_avgs: &Bound<'_, PyAny>, grad_avgs: &Bound<'_, PyAny>,
                 momentum_buffer_list: &Bound<'_, PyAny>, state_steps: &Bound<'_, PyAny>, lr: f64, alpha: f64, eps: f64, weight_decay: f64,
                 momentum: f64, centered: bool, maximize: bool) -> R<()> {
    crate::python::convert::guard(|| {
        let (p, g, sa, ga, b, s) = (tensors(params)?, tensors(grads)?, tensors(square_avgs)?, tensors(grad_avgs)?, tensors(momentum_buffer_list)?, tensors(state_steps)?);
        py.detach(|| crate::cpu::optim::rmsprop_step(&p, &g, &sa, &ga, &b, &s, lr, alpha, eps, weight_decay, momentum, centered, maximize))?;
        Ok(())
    })
}

#[pyfunction]
#[pyo3(signature = (params, grads, state_sums, state_steps, *, lr, weight_decay, lr_decay, eps, maximize))]
#[allow(clippy::too_many_arguments)]
fn _adagrad_step(py: Python<'_>, params: &Bound<'_, PyAny>, grads: &Bound<'_, PyAny>, state_sums: &Bound<'_, PyAny>, state_steps: &Bound<'_, PyAny>,
                 lr: f64, weight_decay: f64, lr_decay: f64, eps: f64, maximize: bool) -> R<()> {
    crate::python::convert::guard(|| {
        let (p, g, ss, s) = (tensors(params)?, tensors(grads)?, tensors(state_sums)?, tensors(state_steps)?);
        py.detach(|| crate::cpu::optim::adagrad_step(&p, &g, &ss, &s, lr, weight_decay, lr_decay, eps, maximize))?;
        Ok(())
    })
}

#[pyfunction]
#[pyo3(signature = (params, grads, square_avgs, acc_deltas, state_steps, *, lr, rho, eps, weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn _adadelta_step(py: Python<'_>, params: &Bound<'_, PyAny>, grads: &Bound<'_, PyAny>, square_avgs: &Bound<'_, PyAny>, acc_deltas: &Bound<'_, PyAny>,
                  state_steps: &Bound<'_, PyAny>, lr: f64, rho: f64, eps: f64, weight_decay: f64, maximize: bool) -> R<()> {
    crate::python::convert::guard(|| {
        let (p, g, sa, ad, s) = (tensors(params)?, tensors(grads)?, tensors(square_avgs)?, tensors(acc_deltas)?, tensors(state_steps)?);
        py.detach(|| crate::cpu::optim::adadelta_step(&p, &g, &sa, &ad, &s, lr, rho, eps, weight_decay, maximize))?;
        Ok(())
    })
}

#[pyfunction]
#[pyo3(signature = (params, grads, exp_avgs, exp_infs, state_steps, *, lr, beta1, beta2, eps, weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn _adamax_step(py: Python<'_>, params: &Bound<'_, PyAny>, grads: &Bound<'_, PyAny>, exp_avgs: &Bound<'_, PyAny>, exp_infs: &Bound<'_, PyAny>,
                state_steps: &Bound<'_, PyAny>, lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, maximize: bool) -> R<()> {
    crate::python::convert::guard(|| {
        let (p, g, m, ei, s) = (tensors(params)?, tensors(grads)?, tensors(exp_avgs)?, tensors(exp_infs)?, tensors(state_steps)?);
        py.detach(|| crate::cpu::optim::adamax_step(&p, &g, &m, &ei, &s, lr, beta1, beta2, eps, weight_decay, maximize))?;
        Ok(())
    })
}

#[pyfunction]
#[pyo3(signature = (params, grads, exp_avgs, exp_avg_sqs, mu_products, state_steps, *, beta1, beta2, lr, weight_decay, momentum_decay, eps, decoupled_weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn _nadam_step(py: Python<'_>, params: &Bound<'_, PyAny>, grads: &Bound<'_, PyAny>, exp_avgs: &Bound<'_, PyAny>, exp_avg_sqs: &Bound<'_, PyAny>,
               mu_products: &Bound<'_, PyAny>, state_steps: &Bound<'_, PyAny>, beta1: f64, beta2: f64, lr: f64, weight_decay: f64,
               momentum_decay: f64, eps: f64, decoupled_weight_decay: bool, maximize: bool) -> R<()> {
    crate::python::convert::guard(|| {
        let (p, g, m, v, mp, s) = (tensors(params)?, tensors(grads)?, tensors(exp_avgs)?, tensors(exp_avg_sqs)?, tensors(mu_products)?, tensors(state_steps)?);
        py.detach(|| crate::cpu::optim::nadam_step(&p, &g, &m, &v, &mp, &s, beta1, beta2, lr, weight_decay, momentum_decay, eps, decoupled_weight_decay, maximize))?;
        Ok(())
    })
}

#[pyfunction]
#[pyo3(signature = (params, grads, exp_avgs, exp_avg_sqs, state_steps, *, beta1, beta2, lr, weight_decay, eps, decoupled_weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn _radam_step(py: Python<'_>, params: &Bound<'_, PyAny>, grads: &Bound<'_, PyAny>, exp_avgs: &Bound<'_, PyAny>, exp_avg_sqs: &Bound<'_, PyAny>,
               state_steps: &Bound<'_, PyAny>, beta1: f64, beta2: f64, lr: f64, weight_decay: f64, eps: f64, decoupled_weight_decay: bool, maximize: bool) -> R<()> {
    crate::python::convert::guard(|| {
        let (p, g, m, v, s) = (tensors(params)?, tensors(grads)?, tensors(exp_avgs)?, tensors(exp_avg_sqs)?, tensors(state_steps)?);
        py.detach(|| crate::cpu::optim::radam_step(&p, &g, &m, &v, &s, beta1, beta2, lr, weight_decay, eps, decoupled_weight_decay, maximize))?;
        Ok(())
    })
}

// ---- complex
#[pyfunction]
fn view_as_real(py: Python<'_>, x: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| wrap(py, crate::ops::complex::view_as_real(&tt(x)?)?)) }
#[pyfunction]
fn view_as_complex(py: Python<'_>, x: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| wrap(py, crate::ops::complex::view_as_complex(&tt(x)?)?)) }
#[pyfunction]
fn real(py: Python<'_>, x: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| wrap(py, crate::ops::complex::real_view(&tt(x)?)?)) }
#[pyfunction]
fn imag(py: Python<'_>, x: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| wrap(py, crate::ops::complex::imag_view(&tt(x)?)?)) }
#[pyfunction]
fn complex(py: Python<'_>, re: &Bound<'_, PyAny>, im: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| wrap(py, crate::ops::complex::complex(&tt(re)?, &tt(im)?)?)) }
#[pyfunction]
fn polar(py: Python<'_>, abs: &Bound<'_, PyAny>, angle: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| wrap(py, crate::ops::complex::polar(&tt(abs)?, &tt(angle)?)?)) }
#[pyfunction]
fn conj(py: Python<'_>, x: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| wrap(py, crate::ops::complex::conj(&tt(x)?)?)) }
#[pyfunction]
fn angle_complex(py: Python<'_>, x: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| wrap(py, crate::ops::complex::angle(&tt(x)?)?)) }
#[pyfunction]
fn sgn_complex(py: Python<'_>, x: &Bound<'_, PyAny>) -> R<PT> { crate::python::convert::guard(|| wrap(py, crate::ops::complex::sgn(&tt(x)?)?)) }
#[pyfunction]
fn fft_c2c(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, inverse: bool, scale: f64) -> R<PT> {
    crate::python::convert::guard(|| { let t = tt(x)?; wrap(py, heavy(py, t.numel(), || crate::ops::fft::fft_c2c(&t, dim, inverse, scale))?) })
}

// ---- dense factorizations (real matrices; results plus LAPACK-style info)
#[pyfunction]
fn linalg_inv(py: Python<'_>, a: &Bound<'_, PyAny>) -> R<(PT, PT)> {
    crate::python::convert::guard(|| { let t = tt(a)?; let (x, i) = py.detach(|| linalg::inv_raw(&t))?; Ok((wrap(py, x)?, wrap(py, i)?)) })
}
#[pyfunction]
fn linalg_solve(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> R<(PT, PT)> {
    crate::python::convert::guard(|| { let (ta, tb) = (tt(a)?, tt(b)?); let (x, i) = py.detach(|| linalg::solve_raw(&ta, &tb))?; Ok((wrap(py, x)?, wrap(py, i)?)) })
}
#[pyfunction]
fn linalg_det(py: Python<'_>, a: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| { let t = tt(a)?; wrap(py, py.detach(|| linalg::det_raw(&t))?) })
}
#[pyfunction]
fn linalg_slogdet(py: Python<'_>, a: &Bound<'_, PyAny>) -> R<(PT, PT)> {
    crate::python::convert::guard(|| { let t = tt(a)?; let (s, l) = py.detach(|| linalg::slogdet_raw(&t))?; Ok((wrap(py, s)?, wrap(py, l)?)) })
}
#[pyfunction]
fn linalg_cholesky(py: Python<'_>, a: &Bound<'_, PyAny>) -> R<(PT, PT)> {
    crate::python::convert::guard(|| { let t = tt(a)?; let (x, i) = py.detach(|| linalg::cholesky_raw(&t))?; Ok((wrap(py, x)?, wrap(py, i)?)) })
}

#[pyfunction]
fn linalg_qr(py: Python<'_>, a: &Bound<'_, PyAny>, mode: String) -> R<(PT, PT)> {
    crate::python::convert::guard(|| { let t = tt(a)?; let (q, r) = py.detach(|| linalg::qr_raw(&t, &mode))?; Ok((wrap(py, q)?, wrap(py, r)?)) })
}
#[pyfunction]
fn linalg_svd(py: Python<'_>, a: &Bound<'_, PyAny>, full_matrices: bool, vectors: bool) -> R<(PT, PT, PT, PT)> {
    crate::python::convert::guard(|| {
        let t = tt(a)?;
        let (u, s, vh, i) = py.detach(|| linalg::svd_raw(&t, full_matrices, vectors))?;
        Ok((wrap(py, u)?, wrap(py, s)?, wrap(py, vh)?, wrap(py, i)?))
    })
}
#[pyfunction]
fn linalg_eigh(py: Python<'_>, a: &Bound<'_, PyAny>, upper: bool, vectors: bool) -> R<(PT, PT, PT)> {
    crate::python::convert::guard(|| {
        let t = tt(a)?;
        let (w, v, i) = py.detach(|| linalg::eigh_raw(&t, upper, vectors))?;
        Ok((wrap(py, w)?, wrap(py, v)?, wrap(py, i)?))
    })
}
#[pyfunction]
fn linalg_eig(py: Python<'_>, a: &Bound<'_, PyAny>, vectors: bool) -> R<(PT, PT, PT)> {
    crate::python::convert::guard(|| {
        let t = tt(a)?;
        let (w, v, i) = py.detach(|| linalg::eig_raw(&t, vectors))?;
        Ok((wrap(py, w)?, wrap(py, v)?, wrap(py, i)?))
    })
}

// ---- sorting and counting
#[pyfunction]
#[pyo3(signature = (x, dim=None))]
fn unique_op(py: Python<'_>, x: &Bound<'_, PyAny>, dim: Option<i64>) -> R<(PT, PT, PT)> {
    crate::python::convert::guard(|| { let (v, i, c) = crate::ops::counting::unique(&tt(x)?, dim)?; Ok((wrap(py, v)?, wrap(py, i)?, wrap(py, c)?)) })
}
#[pyfunction]
#[pyo3(signature = (sorted, values, right, sorter, out_int32))]
fn searchsorted_op(py: Python<'_>, sorted: &Bound<'_, PyAny>, values: &Bound<'_, PyAny>, right: bool, sorter: Option<&Bound<'_, PyAny>>, out_int32: bool) -> R<PT> {
    crate::python::convert::guard(|| { let so = sorter.map(tt).transpose()?; wrap(py, crate::ops::counting::searchsorted(&tt(sorted)?, &tt(values)?, right, so.as_ref(), out_int32)?) })
}
#[pyfunction]
#[pyo3(signature = (x, weights, minlength))]
fn bincount_op(py: Python<'_>, x: &Bound<'_, PyAny>, weights: Option<&Bound<'_, PyAny>>, minlength: usize) -> R<PT> {
    crate::python::convert::guard(|| { let w = weights.map(tt).transpose()?; wrap(py, crate::ops::counting::bincount(&tt(x)?, w.as_ref(), minlength)?) })
}
#[pyfunction]
fn histc_op(py: Python<'_>, x: &Bound<'_, PyAny>, bins: usize, lo: f64, hi: f64) -> R<PT> {
    crate::python::convert::guard(|| wrap(py, crate::ops::counting::histc(&tt(x)?, bins, lo, hi)?))
}
#[pyfunction]
fn cum_extreme_indices(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64, is_max: bool) -> R<PT> {
    crate::python::convert::guard(|| wrap(py, crate::ops::counting::cum_extreme_indices(&tt(x)?, dim, is_max)?))
}
#[pyfunction]
fn mode_indices(py: Python<'_>, x: &Bound<'_, PyAny>, dim: i64) -> R<PT> {
    crate::python::convert::guard(|| wrap(py, crate::ops::counting::mode_indices(&tt(x)?, dim)?))
}

#[pyfunction]
fn _empty_cache() { crate::storage::empty_cache() }

#[pyfunction]
fn tensor_from_list(py: Python<'_>, data: &Bound<'_, PyList>, shape_: Vec<usize>, dtype: &Bound<'_, PyAny>) -> R<PT> {
    crate::python::convert::guard(|| {
    // flat list of python numbers -> tensor (fast path for torch.tensor on plain lists)
    let d = dtype_of(dtype)?;
    let v: Vec<f64> = data.extract()?;
    wrap(py, copy::contiguous_as(&Tensor::from_vec(v, &shape_)?, d)?)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    crate::python::convert::guard(|| {
    macro_rules! add { ($($f:ident),*) => { $( m.add_function(wrap_pyfunction!($f, m)?)?; )* } }
    add!(binary_op, binary_op_, floor_divide, unary_op, unary_op_, where_op, sum, mean, prod, amax, max_dim, argmax, var, logsumexp,
         cumulative, all_any, norm, sum_to_size, view, reshape, permute, transpose, t, expand, squeeze, unsqueeze, narrow, select,
         slice_op, diagonal, unfold, flip, cat, stack, repeat, tri, as_strided, contiguous, clone, to_dtype, view_dtype, copy_, fill_,
         masked_fill, pointwise3, gather, scatter, scatter_reduce, mse_reduce, index_select, index_add, index_op, index_put, nonzero, sort, topk, mm, bmm,
         matmul, softmax, empty, zeros, full, arange, linspace, from_numpy, manual_seed, initial_seed, default_rng_state,
         set_default_rng_state, uniform_, normal_, randint_, random_full_, exponential_, bernoulli_scalar_, randperm, bernoulli, multinomial, result_type, promote_types,
         can_cast, set_default_dtype, get_default_dtype, is_grad_enabled, set_grad_enabled, run_backward, run_grad,
         register_hook, record_function, _empty_cache, clamp_scalar, tensor_from_list, set_num_threads, get_num_threads, _init_amx, _bf16_matmul_kernel, _adam_step, _sgd_step, _rmsprop_step, _adagrad_step, _adadelta_step, _adamax_step, _nadam_step, _radam_step,
         view_as_real, view_as_complex, real, imag, complex, polar, conj, angle_complex, sgn_complex, fft_c2c,
         unique_op, searchsorted_op, bincount_op, histc_op, cum_extreme_indices, mode_indices,
         linalg_inv, linalg_solve, linalg_det, linalg_slogdet, linalg_cholesky, linalg_qr, linalg_svd, linalg_eigh, linalg_eig);
    Ok(())
    })
}
