//! Bindings of the native nn kernels (convolution, fused losses and norms): argument parsing
//! and error mapping only.
use crate::ops::conv::{self, ConvShapes};
use crate::python::convert::{guard, heavy};
use crate::python::functions::tt;
use crate::python::{wrap, PyTensor};
use crate::tensor::Tensor;
use pyo3::prelude::*;

type R<T> = PyResult<T>;
type PT = Py<PyTensor>;

fn opt_t(o: Option<&Bound<'_, PyAny>>) -> R<Option<Tensor>> {
    match o { Some(b) if !b.is_none() => Ok(Some(tt(b)?)), _ => Ok(None) }
}

/// Convolution on a batched input [N, C, *sp] (1 to 3 spatial dims); the Python layer has
/// checked the arguments with PyTorch's messages. `padding` is the leading pad per dim and
/// `out_size` the output's spatial size (which carries asymmetric 'same' padding and a
/// transposed convolution's output_padding).
#[pyfunction]
#[pyo3(signature = (input, weight, bias, stride, padding, dilation, groups, transposed, out_size))]
#[allow(clippy::too_many_arguments)]
fn convolution(py: Python<'_>, input: &Bound<'_, PyAny>, weight: &Bound<'_, PyAny>, bias: Option<&Bound<'_, PyAny>>,
    stride: Vec<usize>, padding: Vec<usize>, dilation: Vec<usize>, groups: usize, transposed: bool, out_size: Vec<usize>) -> R<PT> {
    guard(|| {
        let (x, w, b) = (tt(input)?, tt(weight)?, opt_t(bias)?);
        let xs = x.shape();
        let out = if transposed {
            // the transposed convolution is the adjoint of the convolution from its output
            // [N, w[1] * groups, *out_size] to its input
            let mut conv_in: Vec<usize> = vec![xs[0], w.shape()[1].saturating_mul(groups)];
            conv_in.extend_from_slice(&out_size);
            let s = ConvShapes::new(&conv_in, &w.shape(), &xs[2..], &stride, &padding, &dilation, groups)?;
            heavy(py, x.numel() + s.g.n * s.g.c * s.g.in_plane(), || conv::conv_input_grad(&x, &w, b.as_ref(), &s))?
        } else {
            let s = ConvShapes::new(&xs, &w.shape(), &out_size, &stride, &padding, &dilation, groups)?;
            heavy(py, x.numel() + s.g.n * s.g.o * s.g.out_plane(), || conv::conv(&x, &w, b.as_ref(), &s))?
        };
        wrap(py, out)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(convolution, m)?)?;
    Ok(())
}
