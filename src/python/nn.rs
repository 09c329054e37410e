//! Bindings of the native nn kernels (convolution, fused losses and norms): argument parsing
//! and error mapping only.
use crate::ops::conv::{self, ConvShapes};
use crate::ops::nn;
use crate::ops::pool;
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

#[pyfunction]
#[pyo3(signature = (input, k_dims, weight, bias, eps))]
fn layer_norm(py: Python<'_>, input: &Bound<'_, PyAny>, k_dims: usize, weight: Option<&Bound<'_, PyAny>>, bias: Option<&Bound<'_, PyAny>>, eps: f64) -> R<PT> {
    guard(|| {
        let (x, w, b) = (tt(input)?, opt_t(weight)?, opt_t(bias)?);
        wrap(py, heavy(py, x.numel(), || nn::layer_norm(&x, k_dims, w.as_ref(), b.as_ref(), eps))?)
    })
}

#[pyfunction]
fn gelu(py: Python<'_>, input: &Bound<'_, PyAny>, tanh: bool) -> R<PT> {
    guard(|| { let x = tt(input)?; wrap(py, heavy(py, x.numel(), || nn::gelu(&x, tanh))?) })
}

#[pyfunction]
fn silu(py: Python<'_>, input: &Bound<'_, PyAny>) -> R<PT> {
    guard(|| { let x = tt(input)?; wrap(py, heavy(py, x.numel(), || nn::silu(&x))?) })
}

/// reduction: 0 none, 1 mean, 2 sum (PyTorch's enum).
#[pyfunction]
fn nll_loss(py: Python<'_>, input: &Bound<'_, PyAny>, target: &Bound<'_, PyAny>, weight: Option<&Bound<'_, PyAny>>, ignore_index: i64, reduction: u8) -> R<PT> {
    guard(|| {
        let (x, t, w) = (tt(input)?, tt(target)?, opt_t(weight)?);
        let red = match reduction { 0 => nn::Reduction::None, 1 => nn::Reduction::Mean, _ => nn::Reduction::Sum };
        wrap(py, heavy(py, x.numel(), || nn::nll_loss(&x, &t, w.as_ref(), ignore_index, red))?)
    })
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn max_pool(py: Python<'_>, input: &Bound<'_, PyAny>, nd: usize, kernel: Vec<usize>, stride: Vec<usize>, padding: Vec<usize>, dilation: Vec<usize>, out_size: Vec<usize>) -> R<(PT, PT)> {
    guard(|| {
        let x = tt(input)?;
        let (y, i) = heavy(py, x.numel(), || pool::max_pool(&x, nd, &kernel, &stride, &padding, &dilation, &out_size))?;
        Ok((wrap(py, y)?, wrap(py, i)?))
    })
}

#[pyfunction]
#[pyo3(signature = (input, nd, kernel, stride, padding, out_size, count_include_pad, divisor_override=None))]
#[allow(clippy::too_many_arguments)]
fn avg_pool(py: Python<'_>, input: &Bound<'_, PyAny>, nd: usize, kernel: Vec<usize>, stride: Vec<usize>, padding: Vec<usize>, out_size: Vec<usize>, count_include_pad: bool, divisor_override: Option<i64>) -> R<PT> {
    guard(|| {
        let x = tt(input)?;
        wrap(py, heavy(py, x.numel(), || pool::avg_pool(&x, nd, &kernel, &stride, &padding, &out_size, count_include_pad, divisor_override))?)
    })
}

#[pyfunction]
fn adaptive_avg_pool(py: Python<'_>, input: &Bound<'_, PyAny>, nd: usize, out_size: Vec<usize>) -> R<PT> {
    guard(|| { let x = tt(input)?; wrap(py, heavy(py, x.numel(), || pool::adaptive_avg_pool(&x, nd, &out_size))?) })
}

#[pyfunction]
fn adaptive_max_pool(py: Python<'_>, input: &Bound<'_, PyAny>, nd: usize, out_size: Vec<usize>) -> R<(PT, PT)> {
    guard(|| {
        let x = tt(input)?;
        let (y, i) = heavy(py, x.numel(), || pool::adaptive_max_pool(&x, nd, &out_size))?;
        Ok((wrap(py, y)?, wrap(py, i)?))
    })
}

#[pyfunction]
#[pyo3(signature = (input, weight, bias=None))]
fn linear(py: Python<'_>, input: &Bound<'_, PyAny>, weight: &Bound<'_, PyAny>, bias: Option<&Bound<'_, PyAny>>) -> R<PT> {
    guard(|| {
        let (x, w, b) = (tt(input)?, tt(weight)?, opt_t(bias)?);
        wrap(py, heavy(py, x.numel().saturating_mul(w.shape().first().copied().unwrap_or(1)), || nn::linear(&x, &w, b.as_ref()))?)
    })
}

#[pyfunction]
#[pyo3(signature = (input, hx, w_ih, w_hh, b_ih, b_hh, relu))]
#[allow(clippy::too_many_arguments)]
fn rnn_cell(py: Python<'_>, input: &Bound<'_, PyAny>, hx: &Bound<'_, PyAny>, w_ih: &Bound<'_, PyAny>, w_hh: &Bound<'_, PyAny>,
    b_ih: Option<&Bound<'_, PyAny>>, b_hh: Option<&Bound<'_, PyAny>>, relu: bool) -> R<PT> {
    guard(|| {
        let (x, h, wi, wh, bi, bh) = (tt(input)?, tt(hx)?, tt(w_ih)?, tt(w_hh)?, opt_t(b_ih)?, opt_t(b_hh)?);
        wrap(py, heavy(py, x.numel().saturating_mul(wi.shape().first().copied().unwrap_or(1)), || nn::rnn_cell(&x, &h, &wi, &wh, bi.as_ref(), bh.as_ref(), relu))?)
    })
}

/// One LSTM layer direction over a whole sequence: (outputs, h_n, c_n).
#[pyfunction]
fn lstm_layer(py: Python<'_>, gates: &Bound<'_, PyAny>, h0: &Bound<'_, PyAny>, c0: &Bound<'_, PyAny>, w_hh: &Bound<'_, PyAny>) -> R<(PT, PT, PT)> {
    guard(|| {
        let (x, h, c, w) = (tt(gates)?, tt(h0)?, tt(c0)?, tt(w_hh)?);
        let (o, hn, cn) = heavy(py, x.numel().saturating_mul(h.shape().last().copied().unwrap_or(1)), || nn::lstm_layer(&x, &h, &c, &w))?;
        Ok((wrap(py, o)?, wrap(py, hn)?, wrap(py, cn)?))
    })
}

/// One GRU layer direction over a whole sequence: (outputs, h_n).
/// One Elman RNN layer direction (tanh, or ReLU when `relu`) over a whole sequence: (outputs, h_n).
#[pyfunction]
fn rnn_layer(py: Python<'_>, gates: &Bound<'_, PyAny>, h0: &Bound<'_, PyAny>, w_hh: &Bound<'_, PyAny>, relu: bool) -> R<(PT, PT)> {
    guard(|| {
        let (x, h, w) = (tt(gates)?, tt(h0)?, tt(w_hh)?);
        let (o, hn) = heavy(py, x.numel().saturating_mul(h.shape().last().copied().unwrap_or(1)), || nn::rnn_layer(&x, &h, &w, relu))?;
        Ok((wrap(py, o)?, wrap(py, hn)?))
    })
}

#[pyfunction]
#[pyo3(signature = (gates, h0, w_hh, b_hh))]
fn gru_layer(py: Python<'_>, gates: &Bound<'_, PyAny>, h0: &Bound<'_, PyAny>, w_hh: &Bound<'_, PyAny>, b_hh: Option<&Bound<'_, PyAny>>) -> R<(PT, PT)> {
    guard(|| {
        let (x, h, w, bh) = (tt(gates)?, tt(h0)?, tt(w_hh)?, opt_t(b_hh)?);
        let (o, hn) = heavy(py, x.numel().saturating_mul(h.shape().last().copied().unwrap_or(1)), || nn::gru_layer(&x, &h, &w, bh.as_ref()))?;
        Ok((wrap(py, o)?, wrap(py, hn)?))
    })
}

#[pyfunction]
#[pyo3(signature = (query, key, value, attn_mask, is_causal, scale))]
fn sdpa(py: Python<'_>, query: &Bound<'_, PyAny>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>, attn_mask: Option<&Bound<'_, PyAny>>, is_causal: bool, scale: f64) -> R<PT> {
    guard(|| {
        let (q, k, v, m) = (tt(query)?, tt(key)?, tt(value)?, opt_t(attn_mask)?);
        wrap(py, heavy(py, q.numel() + k.numel(), || nn::sdpa(&q, &k, &v, m.as_ref(), is_causal, scale))?)
    })
}

/// Returns (output, batch mean, unbiased batch variance); the statistics are None when the
/// running ones were used.
#[pyfunction]
#[pyo3(signature = (input, weight, bias, running_mean, running_var, eps))]
#[allow(clippy::type_complexity)]
fn batch_norm(py: Python<'_>, input: &Bound<'_, PyAny>, weight: Option<&Bound<'_, PyAny>>, bias: Option<&Bound<'_, PyAny>>,
    running_mean: Option<&Bound<'_, PyAny>>, running_var: Option<&Bound<'_, PyAny>>, eps: f64) -> R<(PT, Option<PT>, Option<PT>)> {
    guard(|| {
        let (x, w, b, rm, rv) = (tt(input)?, opt_t(weight)?, opt_t(bias)?, opt_t(running_mean)?, opt_t(running_var)?);
        let running = match (&rm, &rv) { (Some(a), Some(b)) => Some((a, b)), _ => None };
        let (y, stats) = heavy(py, x.numel(), || nn::batch_norm(&x, w.as_ref(), b.as_ref(), running, eps))?;
        let (m, v) = match stats { Some((m, v)) => (Some(wrap(py, m)?), Some(wrap(py, v)?)), None => (None, None) };
        Ok((wrap(py, y)?, m, v))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(batch_norm, m)?)?;
    m.add_function(wrap_pyfunction!(sdpa, m)?)?;
    m.add_function(wrap_pyfunction!(rnn_cell, m)?)?;
    m.add_function(wrap_pyfunction!(lstm_layer, m)?)?;
    m.add_function(wrap_pyfunction!(gru_layer, m)?)?;
    m.add_function(wrap_pyfunction!(rnn_layer, m)?)?;
    m.add_function(wrap_pyfunction!(convolution, m)?)?;
    m.add_function(wrap_pyfunction!(layer_norm, m)?)?;
    m.add_function(wrap_pyfunction!(gelu, m)?)?;
    m.add_function(wrap_pyfunction!(silu, m)?)?;
    m.add_function(wrap_pyfunction!(nll_loss, m)?)?;
    m.add_function(wrap_pyfunction!(max_pool, m)?)?;
    m.add_function(wrap_pyfunction!(avg_pool, m)?)?;
    m.add_function(wrap_pyfunction!(adaptive_avg_pool, m)?)?;
    m.add_function(wrap_pyfunction!(adaptive_max_pool, m)?)?;
    m.add_function(wrap_pyfunction!(linear, m)?)?;
    Ok(())
}
