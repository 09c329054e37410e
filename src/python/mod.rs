//! The PyO3 binding: argument parsing and error mapping only; no maths here.
pub mod convert;
pub(crate) mod functions;
mod nn;
mod tensor;

use crate::dtype::{DType, ALL_DTYPES};
use crate::tensor::Tensor;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::sync::OnceLock;

pub use tensor::PyTensor;

#[pyclass(name = "dtype", module = "ferrotorch", frozen, eq, hash)]
#[derive(PartialEq, Hash)]
pub struct PyDType { pub dt: DType }

#[pymethods]
impl PyDType {
    #[getter] fn is_floating_point(&self) -> bool { self.dt.is_float() }
    #[getter] fn is_signed(&self) -> bool { self.dt.is_signed() }
    #[getter] fn is_complex(&self) -> bool { self.dt.is_complex() }
    #[getter] fn itemsize(&self) -> usize { self.dt.size() }
    fn to_real(&self, py: Python<'_>) -> Py<PyDType> { dtype_obj(py, self.dt.to_real()) }
    fn to_complex(&self, py: Python<'_>) -> PyResult<Py<PyDType>> {
        if self.dt.is_float() || self.dt.is_complex() { Ok(dtype_obj(py, self.dt.to_complex())) }
        else { Err(pyo3::exceptions::PyRuntimeError::new_err(format!("to_complex is only supported for floating point dtypes, got {}", self.dt.name()))) }
    }
    fn __repr__(&self) -> String { format!("torch.{}", self.dt.name()) }
    fn __str__(&self) -> String { self.__repr__() }
    fn __reduce__(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, (String,))> {
        let m = py.import("ferrotorch")?;
        Ok((m.getattr("_dtype_from_name")?.unbind(), (self.dt.name().to_string(),)))
    }
    #[getter] fn _name(&self) -> &'static str { self.dt.name() }
}

static DTYPES: OnceLock<Vec<Py<PyDType>>> = OnceLock::new();
static HELPERS: OnceLock<Py<PyAny>> = OnceLock::new();

/// The canonical Python object for a dtype.
pub fn dtype_obj(py: Python<'_>, d: DType) -> Py<PyDType> {
    let v = DTYPES.get().expect("dtypes initialised");
    let i = ALL_DTYPES.iter().position(|x| *x == d).unwrap_or(0);
    v[i].clone_ref(py)
}

/// Python-side helpers registered at import (Size, device objects).
pub fn helper<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let h = HELPERS.get().ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("ferrotorch not initialised"))?;
    h.bind(py).getattr(name)
}

pub fn make_size<'py>(py: Python<'py>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    helper(py, "Size")?.call1((PyTuple::new(py, shape)?,))
}

pub fn wrap(py: Python<'_>, t: Tensor) -> PyResult<Py<PyTensor>> { Py::new(py, PyTensor { t }) }

#[pyfunction]
fn _register_helpers(obj: Py<PyAny>) { let _ = HELPERS.set(obj); }

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // panics are reported through `convert::guard` as RuntimeError; don't also print them
    std::panic::set_hook(Box::new(|_| {}));
    // the importing thread becomes worker 0 of the kernel pool (cpu::threads) when it is the
    // main thread, which lives as long as the process; any other keeps rayon's default pool
    let threading = py.import("threading")?;
    if threading.call_method0("current_thread")?.is(&threading.call_method0("main_thread")?) {
        crate::cpu::threads::init_pool();
    }
    m.add_class::<PyDType>()?;
    m.add_class::<PyTensor>()?;
    m.add_class::<functions::PyGenerator>()?;
    m.add_class::<functions::PyNode>()?;
    let objs: Vec<Py<PyDType>> = ALL_DTYPES.iter().map(|&d| Py::new(py, PyDType { dt: d })).collect::<PyResult<_>>()?;
    for (d, o) in ALL_DTYPES.iter().zip(&objs) { m.add(d.name(), o.clone_ref(py))?; }
    let _ = DTYPES.set(objs);
    m.add_function(wrap_pyfunction!(_register_helpers, m)?)?;
    functions::register(m)?;
    nn::register(m)?;
    Ok(())
}
