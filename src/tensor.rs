//! The tensor: shared storage + layout (shape, signed strides, offset) + dtype, plus autograd
//! metadata. `Tensor` is a cheap handle (an `Arc`); views are new handles on the same storage.
use crate::autograd::{Hook, Node};
use crate::dtype::{DType, Elem};
use crate::error::Result;
use crate::storage::{Device, Storage};
use parking_lot::{Mutex, RwLock};
use smallvec::SmallVec;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

pub type Shape = SmallVec<[usize; 6]>;
pub type Strides = SmallVec<[isize; 6]>;

static DEFAULT_DTYPE: AtomicU8 = AtomicU8::new(8); // index into ALL_DTYPES: F32
pub fn default_dtype() -> DType { crate::dtype::ALL_DTYPES[DEFAULT_DTYPE.load(Ordering::Relaxed) as usize] }
pub fn set_default_dtype(d: DType) {
    let i = crate::dtype::ALL_DTYPES.iter().position(|x| *x == d).unwrap_or(8);
    DEFAULT_DTYPE.store(i as u8, Ordering::Relaxed)
}

#[derive(Clone)]
pub struct Body {
    pub storage: Arc<Storage>,
    pub shape: Shape,
    pub strides: Strides,
    pub offset: usize,
    pub dtype: DType,
    /// In-place version counter, shared by every view and `detach()` of the same data but not
    /// by `.data` (PyTorch's rule), which is why it lives here and not in the storage.
    pub version: Arc<AtomicU64>,
}

impl Body {
    pub fn numel(&self) -> usize { self.shape.iter().product() }
    pub fn is_contiguous(&self) -> bool { is_contiguous(&self.shape, &self.strides) }
    /// Pointer to element 0 of this view. Callers dereference it only for numel > 0, when
    /// `check_view_bounds` holds for this view (every view constructor keeps it), so offset
    /// lies inside the storage; `wrapping_add` keeps an empty view's pointer arithmetic defined.
    #[inline]
    pub fn data_ptr(&self) -> *mut u8 { self.storage.ptr().wrapping_add(self.offset * self.dtype.size()) }
}

pub fn contiguous_strides(shape: &[usize]) -> Strides {
    let mut s: Strides = SmallVec::from_elem(0, shape.len());
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        s[i] = acc;
        acc *= shape[i].max(1) as isize;
    }
    s
}

pub fn is_contiguous(shape: &[usize], strides: &[isize]) -> bool {
    let mut expected = 1isize;
    for i in (0..shape.len()).rev() {
        if shape[i] == 1 { continue; }
        if shape[i] == 0 { return true; }
        if strides[i] != expected { return false; }
        expected *= shape[i] as isize;
    }
    true
}

fn overflow_err(shape: &[usize]) -> crate::error::Error {
    crate::rt_err!("Storage size calculation overflowed with sizes=[{}]", crate::ops::shape::join(shape))
}

/// Element count of `shape`; like PyTorch, a count past i64::MAX is an error, not a wrap.
pub fn checked_numel(shape: &[usize]) -> Result<usize> {
    shape.iter().try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .filter(|&n| n <= i64::MAX as usize)
        .ok_or_else(|| overflow_err(shape))
}

/// Bytes of a contiguous buffer for `shape`, checked for overflow.
pub fn checked_nbytes(shape: &[usize], itemsize: usize) -> Result<usize> {
    checked_numel(shape)?.checked_mul(itemsize)
        .filter(|&n| n <= i64::MAX as usize)
        .ok_or_else(|| overflow_err(shape))
}

/// PyTorch's factory check: contiguous strides (products of max(size, 1) over the trailing
/// dims) must fit in i64 even when a 0 makes the tensor empty. Only factories apply it; an
/// op on an existing empty tensor never needs those strides.
pub fn check_contiguous_strides(shape: &[usize]) -> Result<()> {
    shape.iter().skip(1).try_fold(1usize, |acc, &n| acc.checked_mul(n.max(1)))
        .filter(|&n| n <= i64::MAX as usize)
        .map(|_| ())
        .ok_or_else(|| crate::rt_err!("Stride calculation overflowed with sizes=[{}]", crate::ops::shape::join(shape)))
}

/// Checks that every element a strided view can address lies inside `storage_nbytes`:
/// the one guard between user-supplied geometry (as_strided, set_, checkpoints) and memory.
/// Negative strides are rejected like PyTorch's as_strided.
pub fn check_view_bounds(shape: &[usize], strides: &[isize], offset: usize, itemsize: usize, storage_nbytes: usize) -> Result<()> {
    let j = |v: &[isize]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ");
    if shape.len() != strides.len() {
        crate::bail!("mismatch in length of strides and shape");
    }
    if let Some(s) = strides.iter().find(|&&s| s < 0) {
        crate::bail!("as_strided: Negative strides are not supported at the moment, got strides: [{}] ({})", j(strides), s);
    }
    checked_numel(shape)?;
    if shape.contains(&0) { return Ok(()); }
    // the last addressed element: offset + sum((n - 1) * stride), computed without overflow
    let mut last: u128 = offset as u128;
    for (&n, &st) in shape.iter().zip(strides) {
        last = last.checked_add((n as u128 - 1) * st as u128).ok_or_else(|| overflow_err(shape))?;
    }
    let need = (last + 1).checked_mul(itemsize as u128).ok_or_else(|| overflow_err(shape))?;
    if need > storage_nbytes as u128 {
        crate::bail!("setStorage: sizes [{}], strides [{}], storage offset {}, and itemsize {} requiring a storage size of {} are out of bounds for storage of size {}",
            crate::ops::shape::join(shape), j(strides), offset, itemsize, need, storage_nbytes);
    }
    Ok(())
}

#[derive(Default)]
pub struct AutogradMeta {
    pub requires_grad: bool,
    pub grad: Option<Tensor>,
    pub grad_fn: Option<Arc<Node>>,
    pub output_nr: usize,
    pub retains_grad: bool,
    /// Hooks on a leaf's gradient (non-leaf hooks live on the grad_fn).
    pub leaf_hooks: Vec<Hook>,
    /// The tensor this one is a view of (root of the view chain), like `._base`.
    pub base: Option<Tensor>,
    pub is_param: bool,
    /// For views: the version of the shared data when this view's grad_fn was last derived
    /// from its base; a later in-place write makes autograd re-derive it (see `edge_of`).
    pub view_version: u64,
}

pub struct TensorImpl {
    pub body: RwLock<Body>,
    pub meta: Mutex<AutogradMeta>,
}

#[derive(Clone)]
pub struct Tensor(pub Arc<TensorImpl>);

impl Tensor {
    pub fn from_body(body: Body) -> Tensor {
        Tensor(Arc::new(TensorImpl { body: RwLock::new(body), meta: Mutex::new(AutogradMeta::default()) }))
    }
    /// Uninitialised contiguous tensor. Fails with PyTorch's errors when the byte count
    /// overflows or the memory cannot be had.
    pub fn empty(shape: &[usize], dtype: DType) -> Result<Tensor> { Tensor::alloc_on(shape, dtype, Device::Cpu, false) }
    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Tensor> { Tensor::alloc_on(shape, dtype, Device::Cpu, true) }
    /// A contiguous tensor whose storage comes from `device`'s backend (zero-filled when `zeroed`).
    pub fn alloc_on(shape: &[usize], dtype: DType, device: Device, zeroed: bool) -> Result<Tensor> {
        let storage = Arc::new(crate::backend::backend_for(device)?.alloc(checked_nbytes(shape, dtype.size())?, zeroed)?);
        Ok(Tensor::from_body(Body { storage, shape: shape.into(), strides: contiguous_strides(shape), offset: 0, dtype, version: Default::default() }))
    }
    pub fn from_vec<T: Elem>(v: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        let t = Tensor::empty(shape, T::DTYPE)?;
        if v.len() != t.numel() {
            crate::bail!("from_vec: {} values for shape [{}]", v.len(), crate::ops::shape::join(shape));
        }
        t.copy_from_host(&v)?;
        Ok(t)
    }
    /// Overwrites the elements of this contiguous tensor of element type `T` with host values,
    /// through its device's backend.
    pub fn copy_from_host<T: Elem>(&self, src: &[T]) -> Result<()> {
        if self.dtype() != T::DTYPE || src.len() != self.numel() || !self.is_contiguous() {
            crate::bail!("internal: {} {} values for a {} tensor of size [{}]", src.len(), T::DTYPE.name(), self.dtype().name(), crate::ops::shape::join(&self.shape()));
        }
        // SAFETY: Elem types are plain data (numbers, bool, repr(C) complex pairs) with no
        // padding, so src's initialised elements are readable as bytes.
        let bytes = unsafe { std::slice::from_raw_parts(src.as_ptr() as *const u8, std::mem::size_of_val(src)) };
        crate::backend::backend_of(&[self])?.from_host(self, bytes)
    }
    pub fn scalar_tensor<T: Elem>(v: T) -> Result<Tensor> { Tensor::from_vec(vec![v], &[]) }

    #[inline] pub fn body(&self) -> Body { self.0.body.read().clone() }
    /// The geometry without cloning it (no Arc count traffic): for kernels that only read it
    /// while they run. Recursive, so holding several (an in-place op's output is an input)
    /// cannot deadlock behind a queued writer.
    #[inline] pub fn body_ref(&self) -> parking_lot::RwLockReadGuard<'_, Body> { self.0.body.read_recursive() }
    #[inline] pub fn dtype(&self) -> DType { self.0.body.read().dtype }
    #[inline] pub fn shape(&self) -> Shape { self.0.body.read().shape.clone() }
    #[inline] pub fn strides(&self) -> Strides { self.0.body.read().strides.clone() }
    #[inline] pub fn ndim(&self) -> usize { self.0.body.read().shape.len() }
    #[inline] pub fn numel(&self) -> usize { self.0.body.read().numel() }
    pub fn offset(&self) -> usize { self.0.body.read().offset }
    pub fn device(&self) -> Device { self.0.body.read().storage.device }
    pub fn is_contiguous(&self) -> bool { self.0.body.read().is_contiguous() }
    pub fn storage(&self) -> Arc<Storage> { self.0.body.read().storage.clone() }
    pub fn version(&self) -> u64 { self.0.body.read().version.load(Ordering::Relaxed) }
    pub fn bump_version(&self) { self.0.body.read().version.fetch_add(1, Ordering::Relaxed); }
    pub fn same(&self, o: &Tensor) -> bool { Arc::ptr_eq(&self.0, &o.0) }

    pub fn requires_grad(&self) -> bool {
        {
            // only a view can have stale history (refresh_view_history); others take one lock
            let m = self.0.meta.lock();
            if m.base.is_none() { return m.requires_grad || m.grad_fn.is_some(); }
        }
        crate::autograd::refresh_view_history(self);
        let m = self.0.meta.lock();
        m.requires_grad || m.grad_fn.is_some()
    }
    pub fn grad_fn(&self) -> Option<Arc<Node>> {
        crate::autograd::refresh_view_history(self);
        self.0.meta.lock().grad_fn.clone()
    }
    pub fn is_leaf(&self) -> bool { self.0.meta.lock().grad_fn.is_none() }
    pub fn output_nr(&self) -> usize { self.0.meta.lock().output_nr }

    /// A new handle on the same data with no autograd history (`detach()`).
    pub fn detach(&self) -> Tensor { Tensor::from_body(self.body()) }
    /// `.data`: like detach, but with its own version counter, so in-place writes through it
    /// are invisible to autograd's saved-tensor checks (PyTorch's documented behaviour).
    pub fn data_alias(&self) -> Tensor { Tensor::from_body(Body { version: Default::default(), ..self.body() }) }

    /// A view: same storage, new geometry. Records the view base for in-place-through-view.
    pub fn view_of(&self, shape: Shape, strides: Strides, offset: usize) -> Tensor {
        let b = self.body();
        let t = Tensor::from_body(Body { storage: b.storage, shape, strides, offset, dtype: b.dtype, version: b.version });
        let base = self.0.meta.lock().base.clone().unwrap_or_else(|| self.clone());
        let version = t.version();
        let mut m = t.0.meta.lock();
        m.base = Some(base);
        m.view_version = version;
        drop(m);
        t
    }

    /// A view reinterpreting the same bytes as another dtype (view_as_real / view_as_complex);
    /// callers give geometry that `check_view_bounds` accepts for the new item size.
    pub fn view_as_dtype(&self, shape: Shape, strides: Strides, offset: usize, dtype: DType) -> Tensor {
        let t = self.view_of(shape, strides, offset);
        t.0.body.write().dtype = dtype;
        t
    }

    /// Reads the single element of a one-element tensor as f64.
    pub fn item_f64(&self) -> Result<f64> {
        Ok(crate::dispatch!(self.dtype(), T => self.single::<T>()?.to_f64()))
    }
    /// Reads the single element as (real, imaginary) parts.
    pub fn item_complex(&self) -> Result<(f64, f64)> {
        Ok(crate::dispatch!(self.dtype(), T => { let v = self.single::<T>()?; (v.to_f64(), v.im()) }))
    }
    pub fn item_i64(&self) -> Result<i64> {
        Ok(crate::dispatch!(self.dtype(), T => self.single::<T>()?.to_i64()))
    }
    /// The one element of a one-element tensor of element type `T`, through the device's backend.
    fn single<T: Elem>(&self) -> Result<T> {
        let n = self.numel();
        if n != 1 { crate::bail!("a Tensor with {} elements cannot be converted to Scalar", n); }
        Ok(self.to_vec::<T>()?[0])
    }

    /// Copies the elements out in logical (row-major) order, through the device's backend.
    pub fn to_vec<T: Elem>(&self) -> Result<Vec<T>> {
        let c = crate::ops::copy::contiguous_as(self, T::DTYPE)?;
        let n = c.numel();
        let mut v = try_vec::<T>(n)?;
        v.resize(n, T::default());
        // SAFETY: Elem types are plain data with no padding, so v's n initialised elements may
        // be viewed as bytes; the bytes written are the elements of a tensor of dtype T, each
        // a valid T.
        let bytes = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, std::mem::size_of_val(v.as_slice())) };
        crate::backend::backend_of(&[&c])?.to_host(&c, bytes)?;
        Ok(v)
    }
}

/// An empty Vec with room for `n` items, or PyTorch's out-of-memory error (a plain
/// `Vec::with_capacity` would abort the process when `n` comes from a user's huge shape).
pub fn try_vec<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| crate::rt_err!("DefaultCPUAllocator: can't allocate memory: you tried to allocate {} bytes.", n.saturating_mul(std::mem::size_of::<T>())))?;
    Ok(v)
}
