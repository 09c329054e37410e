//! Argument conversion between Python objects and core types, and error mapping.
use crate::dtype::{DType, Scalar};
use crate::error::Error;
use crate::ops::binary::Operand;
use crate::python::{PyDType, PyTensor};
use pyo3::exceptions::{PyIndexError, PyNotImplementedError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyTuple};

thread_local! {
    /// A Python exception raised inside a Python callback (a custom Function's backward) that
    /// the Rust engine carried as an `Error`; re-raised as itself when that error reaches Python.
    static PENDING_PY_ERR: std::cell::RefCell<Option<(String, PyErr)>> = const { std::cell::RefCell::new(None) };
}

/// Keeps `e` to re-raise with its own type and returns the engine-side error for it.
pub fn stash_py_err(py: Python<'_>, e: PyErr) -> Error {
    let msg = format!("{}", e);
    PENDING_PY_ERR.with(|p| *p.borrow_mut() = Some((msg.clone(), e.clone_ref(py))));
    Error::Runtime(msg)
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        if let Error::Runtime(m) = &e {
            let pending = PENDING_PY_ERR.with(|p| p.borrow_mut().take());
            if let Some((msg, err)) = pending { if &msg == m { return err; } }
        }
        match e {
            Error::Runtime(m) => PyRuntimeError::new_err(m),
            Error::Index(m) => PyIndexError::new_err(m),
            Error::Type(m) => PyTypeError::new_err(m),
            Error::Value(m) => PyValueError::new_err(m),
            Error::NotImplemented(m) => PyNotImplementedError::new_err(m),
        }
    }
}

/// A Python number as a core scalar (bool before int: bool subclasses int).
pub fn scalar_of(o: &Bound<'_, PyAny>) -> Option<Scalar> {
    if o.is_instance_of::<PyBool>() { return o.extract::<bool>().ok().map(Scalar::Bool); }
    if o.is_instance_of::<PyInt>() { return o.extract::<i64>().ok().map(Scalar::Int); }
    if o.is_instance_of::<PyFloat>() { return o.extract::<f64>().ok().map(Scalar::Float); }
    if let Ok(c) = o.cast::<pyo3::types::PyComplex>() { return Some(Scalar::Complex(c.real(), c.imag())); }
    // numpy scalars and other numbers
    if let Ok(t) = o.cast::<PyTensor>() { let _ = t; return None; }
    if o.hasattr("__index__").unwrap_or(false) && !o.hasattr("dtype").unwrap_or(false) {
        return o.extract::<i64>().ok().map(Scalar::Int);
    }
    if let Ok(dt) = o.getattr("dtype") {
        if let Ok(kind) = dt.getattr("kind").and_then(|k| k.extract::<String>()) {
            return match kind.as_str() {
                "b" => o.extract::<bool>().ok().map(Scalar::Bool),
                "i" | "u" => o.extract::<i64>().ok().map(Scalar::Int),
                "f" => o.extract::<f64>().ok().map(Scalar::Float),
                "c" => o.cast::<pyo3::types::PyComplex>().ok().map(|c| Scalar::Complex(c.real(), c.imag()))
                    .or_else(|| Some(Scalar::Complex(o.getattr("real").ok()?.extract().ok()?, o.getattr("imag").ok()?.extract().ok()?))),
                _ => None,
            };
        }
    }
    o.extract::<f64>().ok().map(Scalar::Float)
}

/// A tensor or Python scalar operand (TypeError otherwise, so Python can try the reflected op).
pub fn operand(o: &Bound<'_, PyAny>) -> PyResult<Operand> {
    if let Ok(t) = o.cast::<PyTensor>() { return Ok(Operand::T(t.get().t.clone())); }
    if let Some(s) = scalar_of(o) { return Ok(Operand::S(s)); }
    // a NumPy array operand becomes a tensor (PyTorch: tensor + ndarray is a tensor)
    if o.get_type().name().is_ok_and(|n| n == "ndarray") {
        let t = crate::python::helper(o.py(), "tensor")?.call1((o,))?;
        return Ok(Operand::T(t.cast::<PyTensor>()?.get().t.clone()));
    }
    Err(PyTypeError::new_err(format!("unsupported operand type: '{}'", o.get_type().name()?)))
}

pub fn dtype_of(o: &Bound<'_, PyAny>) -> PyResult<DType> {
    if let Ok(d) = o.cast::<PyDType>() { return Ok(d.get().dt); }
    // Python types: float -> default, int -> int64, bool -> bool
    if let Ok(name) = o.getattr("__name__").and_then(|n| n.extract::<String>()) {
        match name.as_str() {
            "float" => return Ok(crate::tensor::default_dtype()),
            "int" => return Ok(DType::I64),
            "bool" => return Ok(DType::Bool),
            "complex" => return Ok(crate::tensor::default_dtype().to_complex()),
            _ => {}
        }
    }
    if let Ok(s) = o.extract::<String>() {
        let s = s.trim_start_matches("torch.").trim_start_matches("ferrotorch.");
        if let Some(d) = DType::from_name(s) { return Ok(d); }
    }
    Err(PyTypeError::new_err(format!("expected a dtype, got {}", o.repr()?)))
}

pub fn opt_dtype(o: Option<&Bound<'_, PyAny>>) -> PyResult<Option<DType>> {
    match o { None => Ok(None), Some(x) if x.is_none() => Ok(None), Some(x) => dtype_of(x).map(Some) }
}

/// A shape from `(2, 3)`, `[2, 3]`, `2, 3` (varargs), a Size, or a 1-D tensor.
pub fn shape_args(args: &Bound<'_, PyTuple>) -> PyResult<Vec<i64>> {
    if args.len() == 1 {
        let a = args.get_item(0)?;
        if a.is_instance_of::<PyTuple>() || a.is_instance_of::<PyList>() { return int_list(&a); }
        if let Ok(t) = a.cast::<PyTensor>() {
            if t.get().t.ndim() == 1 { return Ok(t.get().t.to_vec::<i64>()?); }
        }
    }
    let mut v = vec![];
    for a in args.iter() { v.push(int_of(&a)?); }
    Ok(v)
}

pub fn int_of(o: &Bound<'_, PyAny>) -> PyResult<i64> {
    if let Ok(t) = o.cast::<PyTensor>() {
        let t = &t.get().t;
        if t.numel() == 1 && !t.dtype().is_float() { return Ok(t.item_i64()?); }
    }
    o.extract::<i64>().map_err(|_| PyTypeError::new_err(format!("expected an integer, got {}", o.get_type().name().map(|n| n.to_string()).unwrap_or_default())))
}

pub fn int_list(o: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
    if let Ok(i) = int_of(o) { return Ok(vec![i]); }
    let mut v = vec![];
    for x in o.try_iter()? { v.push(int_of(&x?)?); }
    Ok(v)
}

/// dims argument: None, an int, or a sequence of ints.
pub fn opt_dims(o: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<i64>>> {
    match o { None => Ok(None), Some(x) if x.is_none() => Ok(None), Some(x) => int_list(x).map(Some) }
}

pub fn usize_shape(v: &[i64]) -> PyResult<Vec<usize>> {
    v.iter().map(|&x| if x < 0 {
        Err(PyRuntimeError::new_err(format!("Trying to create tensor with negative dimension {}: [{}]", x, v.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "))))
    } else { Ok(x as usize) }).collect()
}

/// Runs a binding body, turning a Rust panic (a bug) into a RuntimeError instead of pyo3's
/// PanicException, which is a BaseException that `except Exception` would miss.
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(e) => {
            let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            Err(PyRuntimeError::new_err(format!("internal error in ferrotorch (please report): {}", msg)))
        }
    }
}

/// Elements above which a kernel runs with the GIL released (other Python threads proceed).
pub const DETACH_NUMEL: usize = 1 << 16;

/// Runs `f` without the GIL when the work is large enough to be worth the hand-off.
pub fn heavy<T: Send>(py: Python<'_>, numel: usize, f: impl FnOnce() -> T + Send) -> T {
    if numel >= DETACH_NUMEL { py.detach(f) } else { f() }
}

pub fn operand_numel(o: &Operand) -> usize { if let Operand::T(t) = o { t.numel() } else { 1 } }
