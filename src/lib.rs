//! ferrotorch: a PyTorch-compatible tensor library with a Rust core.
pub mod autograd;
pub mod backend;
pub mod dtype;
pub mod error;
pub mod cpu;
pub mod ops;
pub mod python;
pub mod storage;
pub mod tensor;
#[cfg(test)]
mod core_tests;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_C")]
fn init_module(m: &Bound<'_, PyModule>) -> PyResult<()> { python::register(m) }
