//! The tensor: shared storage + layout (shape, signed strides, offset) + dtype, plus autograd
//! metadata. `Tensor` is a cheap handle (an `Arc`); views are new handles on the same storage.
use crate::autograd::{Hook, Node};
use crate::dtype::{DType, Elem};
use crate::error::Result;
use crate::storage::{Device, Storage};
use parking_lot::{Mutex, RwLock};
use smallvec::SmallVec;
use std::sync::atomic::{AtomicU8, Ordering};
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
}

impl Body {
    pub fn numel(&self) -> usize { self.shape.iter().product() }
    pub fn is_contiguous(&self) -> bool { is_contiguous(&self.shape, &self.strides) }
    /// Pointer to element 0 of this view.
    #[inline]
    pub fn data_ptr(&self) -> *mut u8 { unsafe { self.storage.ptr().add(self.offset * self.dtype.size()) } }
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
    /// Uninitialised contiguous tensor.
    pub fn empty(shape: &[usize], dtype: DType) -> Tensor {
        let n: usize = shape.iter().product();
        let storage = Arc::new(Storage::new_uninit(n * dtype.size()));
        Tensor::from_body(Body { storage, shape: shape.into(), strides: contiguous_strides(shape), offset: 0, dtype })
    }
    pub fn zeros(shape: &[usize], dtype: DType) -> Tensor {
        let n: usize = shape.iter().product();
        let storage = Arc::new(Storage::new_zeroed(n * dtype.size()));
        Tensor::from_body(Body { storage, shape: shape.into(), strides: contiguous_strides(shape), offset: 0, dtype })
    }
    pub fn from_vec<T: Elem>(v: Vec<T>, shape: &[usize]) -> Tensor {
        let t = Tensor::empty(shape, T::DTYPE);
        debug_assert_eq!(v.len(), t.numel());
        unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), t.body().data_ptr() as *mut T, v.len()) };
        t
    }
    pub fn scalar_tensor<T: Elem>(v: T) -> Tensor { Tensor::from_vec(vec![v], &[]) }

    #[inline] pub fn body(&self) -> Body { self.0.body.read().clone() }
    #[inline] pub fn dtype(&self) -> DType { self.0.body.read().dtype }
    #[inline] pub fn shape(&self) -> Shape { self.0.body.read().shape.clone() }
    #[inline] pub fn strides(&self) -> Strides { self.0.body.read().strides.clone() }
    #[inline] pub fn ndim(&self) -> usize { self.0.body.read().shape.len() }
    #[inline] pub fn numel(&self) -> usize { self.0.body.read().numel() }
    pub fn offset(&self) -> usize { self.0.body.read().offset }
    pub fn device(&self) -> Device { self.0.body.read().storage.device }
    pub fn is_contiguous(&self) -> bool { self.0.body.read().is_contiguous() }
    pub fn storage(&self) -> Arc<Storage> { self.0.body.read().storage.clone() }
    pub fn version(&self) -> u64 { self.0.body.read().storage.version() }
    pub fn bump_version(&self) { self.0.body.read().storage.bump_version() }
    pub fn same(&self, o: &Tensor) -> bool { Arc::ptr_eq(&self.0, &o.0) }

    pub fn requires_grad(&self) -> bool {
        let m = self.0.meta.lock();
        m.requires_grad || m.grad_fn.is_some()
    }
    pub fn grad_fn(&self) -> Option<Arc<Node>> { self.0.meta.lock().grad_fn.clone() }
    pub fn is_leaf(&self) -> bool { self.0.meta.lock().grad_fn.is_none() }
    pub fn output_nr(&self) -> usize { self.0.meta.lock().output_nr }

    /// A new handle on the same data with no autograd history (`detach()`).
    pub fn detach(&self) -> Tensor { Tensor::from_body(self.body()) }

    /// A view: same storage, new geometry. Records the view base for in-place-through-view.
    pub fn view_of(&self, shape: Shape, strides: Strides, offset: usize) -> Tensor {
        let b = self.body();
        let t = Tensor::from_body(Body { storage: b.storage, shape, strides, offset, dtype: b.dtype });
        let base = self.0.meta.lock().base.clone().unwrap_or_else(|| self.clone());
        t.0.meta.lock().base = Some(base);
        t
    }

    /// Reads the single element of a one-element tensor as f64.
    pub fn item_f64(&self) -> Result<f64> {
        let b = self.body();
        if b.numel() != 1 {
            crate::bail!("a Tensor with {} elements cannot be converted to Scalar", b.numel());
        }
        Ok(crate::dispatch!(b.dtype, T => unsafe { (*(b.data_ptr() as *const T)).to_f64() }))
    }
    pub fn item_i64(&self) -> Result<i64> {
        let b = self.body();
        if b.numel() != 1 {
            crate::bail!("a Tensor with {} elements cannot be converted to Scalar", b.numel());
        }
        Ok(crate::dispatch!(b.dtype, T => unsafe { (*(b.data_ptr() as *const T)).to_i64() }))
    }

    /// Copies the elements out in logical (row-major) order.
    pub fn to_vec<T: Elem>(&self) -> Vec<T> {
        let c = crate::ops::copy::contiguous_as(self, T::DTYPE);
        let b = c.body();
        let n = b.numel();
        let mut v = Vec::with_capacity(n);
        unsafe {
            std::ptr::copy_nonoverlapping(b.data_ptr() as *const T, v.as_mut_ptr(), n);
            v.set_len(n);
        }
        v
    }
}
