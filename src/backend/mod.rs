//! The device contract. `src/ops` decides what an op means (checks, dtype promotion,
//! broadcasting, autograd recording) and then asks the backend of its operands' device for
//! memory and kernels through this one trait. `src/cpu` implements it (`cpu::Cpu`); a CUDA
//! backend implements the same trait in `src/cuda/` and adds its arm to `backend_for`, without
//! touching the ops.
//!
//! Kernels are named by op descriptors (`UnaryOp`, `BinOp`), never by closures, so a device
//! can compile or look up its own kernel for each. Outputs arrive allocated by the caller (with
//! `Backend::alloc` of the same device) in the shape and dtype the op decided; inputs arrive
//! already converted to the compute dtype.
//!
//! The contract is `Backend` (allocation, host transfers, elementwise and complex maps, bmm,
//! FFT rows) plus one trait per kernel family, each in its own file here: `conv` (convolution
//! and its adjoints), `index` (gathers, scatters, index_select/add, sort), `nn` (softmax,
//! norms, losses, linear, attention, RNN layers), `pool` (max, average and adaptive pooling)
//! and `reduce` (row reductions). A backend implements every family; the ops layer reaches
//! each through `backend_of(&[tensors])`. Host algorithms (the faer factorizations, unique,
//! searchsorted, bincount, histc, mode, the random generators) read and write tensors only
//! through the host transfers (`Tensor::to_vec`, `Tensor::copy_from_host`).
pub mod conv;
pub mod index;
pub mod nn;
pub mod pool;
pub mod reduce;

use crate::dtype::Scalar;
use crate::error::{Error, Result};
use crate::ops::binary::BinOp;
use crate::ops::unary::UnaryOp;
use crate::storage::{Device, Storage};
use crate::tensor::Tensor;

pub trait Backend: Sync + conv::ConvKernels + index::IndexKernels + nn::NnKernels + pool::PoolKernels + reduce::ReduceKernels {
    fn device(&self) -> Device;
    /// Fresh storage of `nbytes` bytes on this device (zero-filled when `zeroed`); fails with
    /// PyTorch's out-of-memory message, never aborts.
    fn alloc(&self, nbytes: usize, zeroed: bool) -> Result<Storage>;
    /// `out = op(x)` elementwise, same shape. Bool-valued ops (isnan, logical_not, ...) write a
    /// bool `out` from `x` of any dtype; the others take `out` and `x` in one compute dtype.
    fn unary(&self, op: UnaryOp, out: &Tensor, x: &Tensor) -> Result<()>;
    /// `out = a op (alpha * b)` (alpha only for add/sub), a and b broadcast to out's shape, all
    /// three in one dtype.
    fn binary(&self, op: BinOp, out: &Tensor, a: &Tensor, b: &Tensor, alpha: f64) -> Result<()>;
    /// `out = f(z)` elementwise for complex z (see `ComplexMap`).
    fn complex_map(&self, f: crate::ops::complex::ComplexMap, out: &Tensor, z: &Tensor) -> Result<()>;
    /// Comparisons and logical ops: a bool `out` from a and b of one dtype.
    fn compare(&self, op: BinOp, out: &Tensor, a: &Tensor, b: &Tensor) -> Result<()>;
    /// `out = a + value * b * c`, `a + value * b / c` or `lerp(a, b, c)` (see `Pointwise3`),
    /// broadcast to out's shape, all float32 or all float64; `out` may be `a` itself.
    fn pointwise3(&self, op: crate::ops::binary::Pointwise3, out: &Tensor, a: &Tensor, b: &Tensor, c: &Tensor, value: f64) -> Result<()>;
    /// `out = cond ? a : b`, broadcast to out's shape; cond is bool, a, b and out one dtype.
    fn select(&self, out: &Tensor, cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<()>;
    /// `out = min(max(x, lo), hi)` elementwise (a missing bound does not apply), for float32 or
    /// float64 x and out of one shape and dtype; NaN elements stay NaN. The bounds are not NaN.
    fn clamp(&self, out: &Tensor, x: &Tensor, lo: Option<f64>, hi: Option<f64>) -> Result<()>;
    /// Every element of `t` set to `v`, converted to t's dtype.
    fn fill(&self, t: &Tensor, v: Scalar) -> Result<()>;
    /// `dst = src` broadcast to dst's shape and converted to dst's dtype; the ops layer has
    /// already routed overlapping copies through a temporary.
    fn copy(&self, dst: &Tensor, src: &Tensor) -> Result<()>;
    /// `out[i] = a[i] @ c[i]` for 3-D a [B,m,k] and c [B,k,n] of one dtype: f32, f64, i64
    /// (products and sums wrapping, PyTorch's integer matmul), or another float dtype that
    /// `matmul_dtype` returned for this size; out is a fresh contiguous [B,m,n] tensor.
    fn bmm(&self, out: &Tensor, a: &Tensor, c: &Tensor) -> Result<()>;
    /// The dtype a product of (m x k) @ (k x n) float operands of dtype `dt` is computed in
    /// (`bmm` then receives operands and output in it): f32 and f64 as they are, float16 and
    /// bfloat16 in f32 unless this backend has a kernel of their own for that size (the CPU's
    /// AMX kernel for bfloat16).
    fn matmul_dtype(&self, dt: crate::dtype::DType, m: usize, n: usize, k: usize) -> crate::dtype::DType {
        use crate::dtype::DType;
        let _ = (m, n, k);
        match dt { DType::F32 | DType::F64 => dt, _ => DType::F32 }
    }
    /// The DFT of every row of length `n` of the contiguous complex tensor `z`, in place: sign
    /// -1 (+1 when `inverse`), times `scale`.
    fn fft_rows(&self, z: &Tensor, n: usize, inverse: bool, scale: f64) -> Result<()>;
    /// Copies the elements of contiguous `t` into host memory `dst`, exactly t's byte size.
    fn to_host(&self, t: &Tensor, dst: &mut [u8]) -> Result<()>;
    /// Copies host bytes `src`, exactly t's byte size, into contiguous `t`.
    fn from_host(&self, t: &Tensor, src: &[u8]) -> Result<()>;
}

pub fn device_name(d: Device) -> String {
    match d { Device::Cpu => "cpu".into(), Device::Cuda(i) => format!("cuda:{}", i) }
}

/// The backend of `device`.
pub fn backend_for(device: Device) -> Result<&'static dyn Backend> {
    match device {
        Device::Cpu => Ok(&crate::cpu::Cpu),
        Device::Cuda(_) => Err(Error::Runtime("Torch not compiled with CUDA enabled".into())),
    }
}

/// The backend of the device every tensor in `tensors` lives on; PyTorch's error when they
/// live on different devices.
pub fn backend_of(tensors: &[&Tensor]) -> Result<&'static dyn Backend> {
    let first = tensors.first().map_or(Device::Cpu, |t| t.device());
    if let Some(other) = tensors.iter().map(|t| t.device()).find(|&d| d != first) {
        return Err(Error::Runtime(format!(
            "Expected all tensors to be on the same device, but found at least two devices, {} and {}!",
            device_name(first), device_name(other))));
    }
    backend_for(first)
}
