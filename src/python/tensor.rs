//! The Python `Tensor` class: data access, protocols, operators and indexing. Most named
//! methods are attached in Python (`ferrotorch/_tensor.py`) on top of `_C` functions.
use crate::autograd;
use crate::dtype::{DType, Scalar};
use crate::ops::binary::{self, BinOp, Operand};
use crate::ops::{copy, index, linalg, shape, unary};
use crate::python::convert::{heavy, operand, operand_numel};
use pyo3::BoundObject;
use crate::python::{dtype_obj, helper, make_size, wrap};
use crate::tensor::Tensor;
use pyo3::exceptions::{PyIndexError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyEllipsis, PyList, PySlice, PyTuple};

#[pyclass(name = "Tensor", module = "ferrotorch", subclass, frozen, weakref, dict)]
pub struct PyTensor { pub t: Tensor }

type R<T> = PyResult<T>;

fn binop(py: Python<'_>, op: BinOp, a: &Operand, b: &Operand) -> R<Py<PyAny>> {
    let n = operand_numel(a).max(operand_numel(b));
    let r = heavy(py, n, || binary::binary(op, a, b, 1.0))?;
    Ok(wrap(py, r)?.into_any())
}

enum Item { Int(i64), Slice(Option<i64>, Option<i64>, Option<i64>), NewAxis, Ellipsis, Adv(Tensor), Bool(bool) }

fn parse_items(py: Python<'_>, idx: &Bound<'_, PyAny>) -> R<Vec<Item>> {
    // a list holding sequences/slices/tensors is read as a tuple (NumPy's legacy rule, kept by PyTorch)
    let list_as_tuple = idx.cast::<PyList>().is_ok_and(|l| l.iter().any(|x| x.is_instance_of::<PyList>() || x.is_instance_of::<PyTuple>() || x.is_instance_of::<PySlice>() || x.is_none() || x.cast::<PyTensor>().is_ok()));
    let parts: Vec<Bound<'_, PyAny>> = if let Ok(t) = idx.cast::<PyTuple>() { t.iter().collect() } else if list_as_tuple { idx.try_iter()?.collect::<PyResult<_>>()? } else { vec![idx.clone()] };
    let mut out = vec![];
    for p in parts {
        if p.is_none() { out.push(Item::NewAxis); continue; }
        if p.is(&PyEllipsis::get(py)) { out.push(Item::Ellipsis); continue; }
        if let Ok(s) = p.cast::<PySlice>() {
            let g = |n: &str| -> R<Option<i64>> { let v = s.getattr(n)?; if v.is_none() { Ok(None) } else { Ok(Some(crate::python::convert::int_of(&v)?)) } };
            out.push(Item::Slice(g("start")?, g("stop")?, g("step")?));
            continue;
        }
        if let Ok(t) = p.cast::<PyTensor>() {
            let t = &t.get().t;
            if t.ndim() == 0 && t.dtype() == DType::Bool { out.push(Item::Bool(t.item_i64()? != 0)); }  // a 0-d mask acts like a Python bool
            else if t.ndim() == 0 && !t.dtype().is_float() { out.push(Item::Int(t.item_i64()?)); } else { out.push(Item::Adv(t.clone())); }
            continue;
        }
        if p.is_instance_of::<pyo3::types::PyBool>() {
            out.push(Item::Bool(p.extract()?));
            continue;
        }
        if let Ok(i) = p.extract::<i64>() { out.push(Item::Int(i)); continue; }
        if p.is_instance_of::<PyList>() || p.is_instance_of::<PyTuple>() || p.is_instance_of::<pyo3::types::PyRange>() || p.hasattr("__array_interface__")? {
            // a range indexes like the list of its values (d2l's y_hat[range(n), y])
            let p = if p.is_instance_of::<pyo3::types::PyRange>() { PyList::new(py, p.try_iter()?.collect::<PyResult<Vec<_>>>()?)?.into_any() } else { p };
            let t = helper(py, "tensor")?.call1((p,))?;
            let t = t.cast::<PyTensor>()?.get().t.clone();
            out.push(Item::Adv(t));
            continue;
        }
        return Err(PyIndexError::new_err("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got ".to_string() + &p.get_type().name()?.to_string() + ")"));
    }
    Ok(out)
}

/// Applies basic indexing (views) and collects advanced indices by dim of the result.
fn apply_basic(x: &Tensor, items: &[Item]) -> R<(Tensor, Vec<(usize, Tensor)>)> {
    let consumed: usize = items.iter().map(|i| match i {
        Item::Int(_) | Item::Slice(..) => 1,
        Item::Adv(t) if t.dtype() == DType::Bool => t.ndim(),
        Item::Adv(_) => 1,
        _ => 0,
    }).sum();
    let nd = x.ndim();
    if consumed > nd {
        return Err(PyIndexError::new_err(format!("too many indices for tensor of dimension {}", nd)));
    }
    let mut t = x.clone();
    let mut d = 0usize;
    let mut adv = vec![];
    let too_many = || PyIndexError::new_err(format!("too many indices for tensor of dimension {}", nd));
    for it in items {
        // several ellipses each skip the unindexed dims (PyTorch's rule), so a later index may
        // point past the last dim
        if matches!(it, Item::Int(_) | Item::Slice(..)) && d >= t.ndim() { return Err(too_many()); }
        match it {
            Item::Int(i) => {
                let n = t.shape()[d] as i64;
                if *i < -n || *i >= n {
                    return Err(PyIndexError::new_err(format!("index {} is out of bounds for dimension {} with size {}", i, d, n)));
                }
                t = shape::select(&t, d as i64, *i)?;
            }
            Item::Slice(a, b, s) => {
                let n = t.shape()[d] as i64;
                let step = s.unwrap_or(1);
                if step <= 0 { return Err(PyValueError::new_err("step must be greater than zero")); }
                let clamp = |v: i64| -> i64 { let v = if v < 0 { v + n } else { v }; v.clamp(0, n) };
                let start = a.map(clamp).unwrap_or(0);
                let stop = b.map(clamp).unwrap_or(n).max(start);
                t = shape::slice(&t, d, start as usize, stop as usize, step as usize)?;
                d += 1;
            }
            Item::NewAxis => { t = shape::unsqueeze(&t, d as i64)?; d += 1; }
            Item::Ellipsis => d += nd - consumed,
            Item::Bool(b) => {
                // a Python bool adds a dim of size 1 (True) or 0 (False), like a mask on a new axis
                t = shape::unsqueeze(&t, d as i64)?;
                adv.push((d, Tensor::from_vec(vec![*b], &[1])?));
                d += 1;
            }
            Item::Adv(a) => {
                adv.push((d, a.clone()));
                d += if a.dtype() == DType::Bool { a.ndim() } else { 1 };
            }
        }
    }
    Ok((t, adv))
}

fn adv_list(t: &Tensor, adv: Vec<(usize, Tensor)>) -> R<Vec<Option<Tensor>>> {
    let nd = t.ndim();
    let mut v: Vec<Option<Tensor>> = vec![];
    let mut d = 0;
    let mut it = adv.into_iter().peekable();
    while d < nd {
        if let Some((pos, _)) = it.peek() {
            if *pos == d {
                let (_, a) = it.next().unwrap();
                let k = if a.dtype() == DType::Bool { a.ndim().max(1) } else { 1 };
                v.push(Some(a));
                d += k;
                continue;
            }
        }
        v.push(None);
        d += 1;
    }
    // a 0-dim-consuming mask at the end
    for (_, a) in it { v.push(Some(a)); }
    Ok(index::expand_masks(v, &t.shape())?)
}

fn to_py_list(py: Python<'_>, t: &Tensor) -> R<Py<PyAny>> {
    let shape = t.shape();
    let dt = t.dtype();
    fn nest<'py, T: Clone + IntoPyObject<'py>>(py: Python<'py>, v: &[T], shape: &[usize]) -> R<Bound<'py, PyAny>> {
        crate::python::convert::guard(|| {
        if shape.is_empty() { return Ok(v[0].clone().into_pyobject(py).map_err(Into::into)?.into_any().into_bound()); }
        let step: usize = shape[1..].iter().product();
        let mut items = vec![];
        for i in 0..shape[0] { items.push(nest(py, &v[i * step..(i + 1) * step], &shape[1..])?); }
        Ok(PyList::new(py, items)?.into_any())
        })
    }
    Ok(if dt == DType::Bool { nest(py, &t.to_vec::<bool>()?, &shape)? }
       else if dt.is_float() { nest(py, &t.to_vec::<f64>()?, &shape)? }
       else { nest(py, &t.to_vec::<i64>()?, &shape)? }.unbind())
}

#[pymethods]
impl PyTensor {
    #[new]
    #[pyo3(signature = (*args, **kwargs))]
    fn py_new(py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> R<Self> {
        crate::python::convert::guard(|| {
        if let Some(k) = kwargs {
            if k.get_item("_internal_alias")?.is_some() {
                let t = args.get_item(0)?.cast::<PyTensor>()?.get().t.detach();
                return Ok(PyTensor { t });
            }
        }
        // legacy constructor torch.Tensor(data) / torch.Tensor(*sizes)
        let r = helper(py, "_legacy_new")?.call(args, kwargs)?;
        Ok(PyTensor { t: r.cast::<PyTensor>()?.get().t.clone() })
        })
    }

    #[getter] fn shape<'py>(&self, py: Python<'py>) -> R<Bound<'py, PyAny>> { make_size(py, &self.t.shape()) }
    #[getter] fn dtype(&self, py: Python<'_>) -> Py<crate::python::PyDType> { dtype_obj(py, self.t.dtype()) }
    #[getter] fn device<'py>(&self, py: Python<'py>) -> R<Bound<'py, PyAny>> { helper(py, "_cpu_device") }
    #[getter] fn is_cuda(&self) -> bool { false }
    #[getter] fn is_cpu(&self) -> bool { true }
    #[getter] fn ndim(&self) -> usize { self.t.ndim() }
    #[getter] fn _version(&self) -> u64 { self.t.version() }
    #[getter] fn is_leaf(&self) -> bool { self.t.is_leaf() }
    #[getter] fn output_nr(&self) -> usize { self.t.output_nr() }
    #[getter] fn requires_grad(&self) -> bool { self.t.requires_grad() }
    #[setter] fn set_requires_grad(&self, v: bool) -> R<()> { set_requires_grad(&self.t, v) }
    #[getter] fn is_param(&self) -> bool { self.t.0.meta.lock().is_param }
    #[getter] fn retains_grad(&self) -> bool { self.t.0.meta.lock().retains_grad }
    #[getter] fn grad(&self, py: Python<'_>) -> R<Option<Py<PyTensor>>> {
        let g = self.t.0.meta.lock().grad.clone();
        g.map(|g| wrap(py, g)).transpose()
    }
    #[setter] fn set_grad(&self, g: Option<&Bound<'_, PyAny>>) -> R<()> {
        let g = match g {
            None => None,
            Some(o) if o.is_none() => None,
            Some(o) => {
                let Ok(t) = o.cast::<PyTensor>() else {
                    return Err(PyTypeError::new_err(format!("assigned grad expected to be a Tensor or None but got grad of type {}", o.get_type().name()?)));
                };
                let t = t.get().t.clone();
                if t.shape() != self.t.shape() { return Err(PyRuntimeError::new_err("assigned grad has data of a different size")); }
                if t.dtype() != self.t.dtype() { return Err(PyRuntimeError::new_err("assigned grad has data of a different type")); }
                Some(t)
            }
        };
        self.t.0.meta.lock().grad = g;
        Ok(())
    }
    #[getter] fn grad_fn(&self, py: Python<'_>) -> R<Option<Py<PyAny>>> {
        match self.t.grad_fn() {
            None => Ok(None),
            Some(n) => Ok(Some(Py::new(py, super::functions::PyNode { node: n })?.into_any())),
        }
    }
    #[getter] fn data(&self, py: Python<'_>) -> R<Py<PyTensor>> { wrap(py, self.t.data_alias()) }
    #[setter] fn set_data(&self, other: &Bound<'_, PyTensor>) -> R<()> {
        // swap in new data/geometry, keep identity and autograd flags
        let b = other.get().t.body();
        *self.t.0.body.write() = b;
        Ok(())
    }
    #[getter] fn _base(&self, py: Python<'_>) -> R<Option<Py<PyTensor>>> {
        self.t.0.meta.lock().base.clone().map(|b| wrap(py, b)).transpose()
    }
    #[getter] fn __array_interface__<'py>(&self, py: Python<'py>) -> R<Bound<'py, PyDict>> {
        let b = self.t.body();
        let ty = match b.dtype {
            DType::Bool => "|b1", DType::U8 => "|u1", DType::I8 => "|i1", DType::I16 => "<i2", DType::I32 => "<i4",
            DType::I64 => "<i8", DType::F16 => "<f2", DType::F32 => "<f4", DType::F64 => "<f8", DType::C64 => "<c8", DType::C128 => "<c16",
            DType::BF16 => return Err(PyTypeError::new_err("Got unsupported ScalarType BFloat16")),
        };
        let d = PyDict::new(py);
        d.set_item("shape", PyTuple::new(py, b.shape.iter())?)?;
        d.set_item("typestr", ty)?;
        d.set_item("data", (b.data_ptr() as usize, false))?;
        let es = b.dtype.size() as isize;
        d.set_item("strides", PyTuple::new(py, b.strides.iter().map(|s| s * es))?)?;
        d.set_item("version", 3)?;
        Ok(d)
    }

    #[pyo3(signature = (dim=None))]
    fn size<'py>(&self, py: Python<'py>, dim: Option<i64>) -> R<Bound<'py, PyAny>> {
        crate::python::convert::guard(|| {
        match dim {
            None => make_size(py, &self.t.shape()),
            Some(d) => { let dd = crate::error::wrap_dim(d, self.t.ndim())?; Ok(self.t.shape().get(dd).copied().unwrap_or(1).into_pyobject(py)?.into_any()) }
        }
        })
    }
    #[pyo3(signature = (dim=None))]
    fn stride<'py>(&self, py: Python<'py>, dim: Option<i64>) -> R<Bound<'py, PyAny>> {
        crate::python::convert::guard(|| {
        let s = self.t.strides();
        match dim {
            None => Ok(PyTuple::new(py, s.iter())?.into_any()),
            Some(d) => { let dd = crate::error::wrap_dim(d, self.t.ndim())?; Ok(s.get(dd).copied().unwrap_or(1).into_pyobject(py)?.into_any()) }
        }
        })
    }
    fn dim(&self) -> usize { self.t.ndim() }
    fn ndimension(&self) -> usize { self.t.ndim() }
    fn numel(&self) -> usize { self.t.numel() }
    fn nelement(&self) -> usize { self.t.numel() }
    fn element_size(&self) -> usize { self.t.dtype().size() }
    fn storage_offset(&self) -> usize { self.t.offset() }
    fn data_ptr(&self) -> usize { self.t.body().data_ptr() as usize }
    fn is_contiguous(&self) -> bool { self.t.is_contiguous() }
    fn is_floating_point(&self) -> bool { self.t.dtype().is_float() }
    fn is_complex(&self) -> bool { self.t.dtype().is_complex() }
    fn __complex__(&self, py: Python<'_>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        if self.t.numel() != 1 { return Err(PyValueError::new_err("only one element tensors can be converted to Python scalars")); }
        let (re, im) = self.t.item_complex()?;
        Ok(pyo3::types::PyComplex::from_doubles(py, re, im).into_any().unbind())
        })
    }
    fn _same_tensor(&self, other: &PyTensor) -> bool { self.t.same(&other.t) }

    fn item(&self, py: Python<'_>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        let t = &self.t;
        if t.numel() != 1 { return Err(PyRuntimeError::new_err(format!("a Tensor with {} elements cannot be converted to Scalar", t.numel()))); }
        Ok(match t.dtype() {
            DType::Bool => (t.item_i64()? != 0).into_pyobject(py)?.to_owned().into_any().unbind(),
            d if d.is_complex() => { let (re, im) = t.item_complex()?; pyo3::types::PyComplex::from_doubles(py, re, im).into_any().unbind() }
            d if d.is_float() => t.item_f64()?.into_pyobject(py)?.into_any().unbind(),
            _ => t.item_i64()?.into_pyobject(py)?.into_any().unbind(),
        })
        })
    }
    fn tolist(&self, py: Python<'_>) -> R<Py<PyAny>> { crate::python::convert::guard(|| { to_py_list(py, &self.t) }) }
    fn __len__(&self) -> R<usize> {
        crate::python::convert::guard(|| {
        let s = self.t.shape();
        if s.is_empty() { return Err(PyTypeError::new_err("len() of a 0-d tensor")); }
        Ok(s[0])
        })
    }
    fn __bool__(&self) -> R<bool> {
        crate::python::convert::guard(|| {
        if self.t.numel() != 1 {
            return Err(PyRuntimeError::new_err(format!("Boolean value of Tensor with {} values is ambiguous", if self.t.numel() == 0 { "no".to_string() } else { "more than one".to_string() })));
        }
        let (re, im) = self.t.item_complex()?;
        Ok(re != 0.0 || im != 0.0)
        })
    }
    fn __float__(&self) -> R<f64> {
        crate::python::convert::guard(|| {
        if self.t.numel() != 1 { return Err(PyValueError::new_err("only one element tensors can be converted to Python scalars")); }
        if self.t.dtype().is_complex() { return Err(PyRuntimeError::new_err("value cannot be converted to type double without overflow")); }
        Ok(self.t.item_f64()?)
        })
    }
    fn __int__(&self) -> R<i64> {
        crate::python::convert::guard(|| {
        if self.t.numel() != 1 { return Err(PyValueError::new_err("only one element tensors can be converted to Python scalars")); }
        Ok(if self.t.dtype().is_float() { self.t.item_f64()?.trunc() as i64 } else { self.t.item_i64()? })
        })
    }
    fn __index__(&self) -> R<i64> {
        crate::python::convert::guard(|| {
        if self.t.numel() != 1 || self.t.dtype().is_float() || self.t.dtype() == DType::Bool && false {
            return Err(PyTypeError::new_err("only integer tensors of a single element can be converted to an index"));
        }
        Ok(self.t.item_i64()?)
        })
    }
    fn __hash__(slf: &Bound<'_, Self>) -> isize { slf.as_ptr() as isize }

    fn __add__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Add, &Operand::T(slf.get().t.clone()), &o), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __radd__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Add, &o, &Operand::T(slf.get().t.clone())), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __sub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Sub, &Operand::T(slf.get().t.clone()), &o), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __rsub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Sub, &o, &Operand::T(slf.get().t.clone())), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __mul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Mul, &Operand::T(slf.get().t.clone()), &o), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __rmul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Mul, &o, &Operand::T(slf.get().t.clone())), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __truediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Div, &Operand::T(slf.get().t.clone()), &o), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __rtruediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Div, &o, &Operand::T(slf.get().t.clone())), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __floordiv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => Ok(wrap(slf.py(), binary::floor_divide(&Operand::T(slf.get().t.clone()), &o)?)?.into_any()), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __rfloordiv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => Ok(wrap(slf.py(), binary::floor_divide(&o, &Operand::T(slf.get().t.clone()))?)?.into_any()), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __mod__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Remainder, &Operand::T(slf.get().t.clone()), &o), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __rmod__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Remainder, &o, &Operand::T(slf.get().t.clone())), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __and__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::BitAnd, &Operand::T(slf.get().t.clone()), &o), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __rand__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::BitAnd, &o, &Operand::T(slf.get().t.clone())), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __or__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::BitOr, &Operand::T(slf.get().t.clone()), &o), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __ror__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::BitOr, &o, &Operand::T(slf.get().t.clone())), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __xor__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::BitXor, &Operand::T(slf.get().t.clone()), &o), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __rxor__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::BitXor, &o, &Operand::T(slf.get().t.clone())), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __lshift__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Shl, &Operand::T(slf.get().t.clone()), &o), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __rshift__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        match operand(other) { Ok(o) => binop(slf.py(), BinOp::Shr, &Operand::T(slf.get().t.clone()), &o), Err(_) => Ok(slf.py().NotImplemented()) }
        })
    }
    fn __iadd__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> R<()> {
        crate::python::convert::guard(|| {
        binary::binary_(BinOp::Add, &slf.get().t, &operand(other)?, 1.0)?;
        Ok(())
        })
    }
    fn __isub__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> R<()> {
        crate::python::convert::guard(|| {
        binary::binary_(BinOp::Sub, &slf.get().t, &operand(other)?, 1.0)?;
        Ok(())
        })
    }
    fn __imul__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> R<()> {
        crate::python::convert::guard(|| {
        binary::binary_(BinOp::Mul, &slf.get().t, &operand(other)?, 1.0)?;
        Ok(())
        })
    }
    fn __itruediv__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> R<()> {
        crate::python::convert::guard(|| {
        binary::binary_(BinOp::Div, &slf.get().t, &operand(other)?, 1.0)?;
        Ok(())
        })
    }
    fn __ifloordiv__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> R<()> {
        crate::python::convert::guard(|| {
        binary::binary_(BinOp::FloorDiv, &slf.get().t, &operand(other)?, 1.0)?;
        Ok(())
        })
    }
    fn __imod__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> R<()> {
        crate::python::convert::guard(|| {
        binary::binary_(BinOp::Remainder, &slf.get().t, &operand(other)?, 1.0)?;
        Ok(())
        })
    }
    fn __ipow__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>, _modulo: Option<&Bound<'py, PyAny>>) -> R<()> {
        crate::python::convert::guard(|| {
        binary::binary_(BinOp::Pow, &slf.get().t, &operand(other)?, 1.0)?;
        Ok(())
        })
    }
    fn __iand__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> R<()> {
        crate::python::convert::guard(|| {
        binary::binary_(BinOp::BitAnd, &slf.get().t, &operand(other)?, 1.0)?;
        Ok(())
        })
    }
    fn __ior__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> R<()> {
        crate::python::convert::guard(|| {
        binary::binary_(BinOp::BitOr, &slf.get().t, &operand(other)?, 1.0)?;
        Ok(())
        })
    }
    fn __ixor__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> R<()> {
        crate::python::convert::guard(|| {
        binary::binary_(BinOp::BitXor, &slf.get().t, &operand(other)?, 1.0)?;
        Ok(())
        })
    }

    fn __pow__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, _modulo: Option<&Bound<'_, PyAny>>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        let py = slf.py();
        match operand(other) { Ok(o) => binop(py, BinOp::Pow, &Operand::T(slf.get().t.clone()), &o), Err(_) => Ok(py.NotImplemented()) }
        })
    }
    fn __rpow__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, _modulo: Option<&Bound<'_, PyAny>>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        let py = slf.py();
        match operand(other) { Ok(o) => binop(py, BinOp::Pow, &o, &Operand::T(slf.get().t.clone())), Err(_) => Ok(py.NotImplemented()) }
        })
    }
    fn __matmul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        let py = slf.py();
        let Ok(o) = other.cast::<PyTensor>() else { return Ok(py.NotImplemented()) };
        Ok(wrap(py, linalg::matmul(&slf.get().t, &o.get().t)?)?.into_any())
        })
    }
    fn __rmatmul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        let py = slf.py();
        let Ok(o) = other.cast::<PyTensor>() else { return Ok(py.NotImplemented()) };
        Ok(wrap(py, linalg::matmul(&o.get().t, &slf.get().t)?)?.into_any())
        })
    }
    fn __neg__(&self, py: Python<'_>) -> R<Py<PyTensor>> { crate::python::convert::guard(|| { wrap(py, unary::neg(&self.t)?) }) }
    fn __pos__(slf: Bound<'_, Self>) -> Bound<'_, Self> { slf }
    fn __abs__(&self, py: Python<'_>) -> R<Py<PyTensor>> { crate::python::convert::guard(|| { wrap(py, unary::unary(unary::UnaryOp::Abs, &self.t)?) }) }
    fn __invert__(&self, py: Python<'_>) -> R<Py<PyTensor>> {
        crate::python::convert::guard(|| {
        let op = if self.t.dtype() == DType::Bool { unary::UnaryOp::LogicalNot } else { unary::UnaryOp::BitwiseNot };
        wrap(py, unary::unary(op, &self.t)?)
        })
    }
    fn __richcmp__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, op: pyo3::basic::CompareOp) -> R<Py<PyAny>> {
        crate::python::convert::guard(|| {
        let py = slf.py();
        let Ok(o) = operand(other) else { return Ok(py.NotImplemented()) };
        use pyo3::basic::CompareOp::*;
        let bop = match op { Lt => BinOp::Lt, Le => BinOp::Le, Eq => BinOp::Eq, Ne => BinOp::Ne, Gt => BinOp::Gt, Ge => BinOp::Ge };
        binop(py, bop, &Operand::T(slf.get().t.clone()), &o)
        })
    }

    fn __getitem__(&self, py: Python<'_>, idx: &Bound<'_, PyAny>) -> R<Py<PyTensor>> {
        crate::python::convert::guard(|| {
        let items = parse_items(py, idx)?;
        let (t, adv) = apply_basic(&self.t, &items)?;
        if adv.is_empty() {
            let t = if t.same(&self.t) { shape::alias(&t) } else { t };
            return wrap(py, t);
        }
        let list = adv_list(&t, adv)?;
        wrap(py, index::index(&t, &list)?)
        })
    }

    fn __setitem__(&self, py: Python<'_>, idx: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> R<()> {
        crate::python::convert::guard(|| {
        let items = parse_items(py, idx)?;
        let val = match operand(value)? {
            Operand::T(v) => v,
            Operand::S(s) => {
                let t = Tensor::empty(&[], self.t.dtype())?;
                if let Scalar::Complex(..) = s { copy::copy_raw(&t, &crate::ops::binary::as_dtype(&Operand::S(s), self.t.dtype())?)?; }
                else { copy::fill_raw(&t, match s { Scalar::Float(f) => f, other => other.to_f64() })?; }
                if !self.t.dtype().is_float() { if let Scalar::Int(i) = s { let tt = Tensor::from_vec(vec![i], &[])?; copy::copy_raw(&t, &tt)?; } }
                t
            }
        };
        // the basic-indexing view keeps its history, so the part of the old values the write
        // leaves in place (an int plus a list index) still reaches the base in backward
        let (target, adv) = apply_basic(&self.t, &items)?;
        // a scalar must fit the dtype; PyTorch writes it through a one-element tensor, so half
        // types overflow to inf unchecked whatever the target's size
        if let Ok(Operand::S(s)) = operand(value) { s.check_fill(self.t.dtype(), 1)?; }
        if adv.is_empty() {
            copy::copy_(&target, &val)?;
        } else {
            // integer-index writes take the value's dtype as is (PyTorch's index_put_ rule; bool
            // masks cast). Index errors come first, so the plan is validated before the check.
            let int_index = adv.iter().any(|(_, t)| !matches!(t.dtype(), DType::Bool | DType::U8));
            let list = adv_list(&target, adv)?;
            if int_index && val.dtype() != target.dtype() && value.cast::<PyTensor>().is_ok() {
                index::adv_plan(&target.shape(), &list)?;
                return Err(PyRuntimeError::new_err(format!("Index put requires the source and destination dtypes match, got {} for the destination and {} for the source.", target.dtype().legacy_name(), val.dtype().legacy_name())));
            }
            index::index_put_(&target, &list, &val, false)?;
        }
        Ok(())
        })
    }

    #[pyo3(signature = (requires_grad=true))]
    fn requires_grad_<'py>(slf: &Bound<'py, Self>, requires_grad: Option<bool>) -> R<Bound<'py, Self>> {
        crate::python::convert::guard(|| {
        set_requires_grad(&slf.get().t, requires_grad.unwrap_or(true))?;
        Ok(slf.clone())
        })
    }
    fn retain_grad(&self) -> R<()> {
        crate::python::convert::guard(|| {
        let t = &self.t;
        if t.is_leaf() { return Ok(()); }
        let mut m = t.0.meta.lock();
        if m.retains_grad { return Ok(()); }
        m.retains_grad = true;
        let (f, nr) = (m.grad_fn.clone(), m.output_nr);
        drop(m);
        if let Some(f) = f { f.pre_hooks.lock().push((nr, autograd::retain_grad_hook(t))); }
        Ok(())
        })
    }
    fn detach(&self, py: Python<'_>) -> R<Py<PyTensor>> { crate::python::convert::guard(|| { wrap(py, self.t.detach()) }) }
    fn detach_<'py>(slf: &Bound<'py, Self>) -> Bound<'py, Self> {
        let mut m = slf.get().t.0.meta.lock();
        m.grad_fn = None;
        m.requires_grad = false;
        slf.clone()
    }
    fn _set_is_param(&self, v: bool) { self.t.0.meta.lock().is_param = v; }
}

pub fn set_requires_grad(t: &Tensor, v: bool) -> R<()> {
    if !t.is_leaf() {
        if !v { return Err(PyRuntimeError::new_err("you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().")); }
        return Ok(());
    }
    if v && !t.dtype().is_differentiable() {
        return Err(PyRuntimeError::new_err("only Tensors of floating point and complex dtype can require gradients"));
    }
    t.0.meta.lock().requires_grad = v;
    Ok(())
}

