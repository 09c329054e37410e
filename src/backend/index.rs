//! Indexing in the device contract: gathers and scatters at element offsets the ops layer
//! computed (and bounds-checked) from index tensors, plus the row kernels of index_select,
//! index_add, sort and unfold's backward. Offsets are in elements from a view's first element
//! along its own strides; a backend re-checks that each lands inside the storage.
use crate::error::Result;
pub use crate::ops::index::Reduce;
use crate::tensor::Tensor;

pub trait IndexKernels {
    /// `out[i] = src[offsets[i]]`; out is contiguous with one element per offset.
    fn gather_at(&self, out: &Tensor, src: &Tensor, offsets: &[isize]) -> Result<()>;
    /// Combines contiguous `vals[i]` into `dst[offsets[i]]` in order: `Reduce::None` writes,
    /// `Add`/`Mul`/`Amax`/`Amin` combine (NaN wins for the extremes), `Mean` averages; without
    /// `include_self` a position's old value is ignored at its first write.
    fn scatter_at(&self, dst: &Tensor, offsets: &[isize], vals: &Tensor, red: Reduce, include_self: bool) -> Result<()>;
    /// `out [outer, k, inner] = x [outer, n, inner]` at the k int64 `idx` along the middle dim;
    /// when x has elements, the first index outside [0, n) is returned instead, nothing written
    /// (the ops layer words the error), so the index is read once.
    fn index_select(&self, out: &Tensor, x: &Tensor, idx: &Tensor, outer: usize, inner: usize) -> Result<Option<i64>>;
    /// `out [outer, n, inner] += alpha * src [outer, k, inner]` at the k int64 `idx`, in place;
    /// when out has elements, the first index outside [0, n) is returned instead, nothing added.
    fn index_add(&self, out: &Tensor, src: &Tensor, idx: &Tensor, outer: usize, inner: usize, alpha: f64) -> Result<Option<i64>>;
    /// `idx [rows, len]` = the stable ascending (or descending) order of each row of x, NaN
    /// sorting as the largest value.
    fn sort_rows(&self, idx: &Tensor, x: &Tensor, len: usize, descending: bool) -> Result<()>;
    /// The first `k` positions of each contiguous row of `len` elements of `x` in the order
    /// `sort_rows` gives (0 < k <= len), written to the contiguous int64 `idx` (k per row):
    /// a selection, then a sort of the k selected, instead of sorting whole rows.
    fn topk_rows(&self, idx: &Tensor, x: &Tensor, len: usize, k: usize, descending: bool) -> Result<()>;
    /// unfold's backward: z [outer, n, inner] (zeroed) += every window of g
    /// [outer, nwin, inner, size] at its position `w * step`.
    fn unfold_backward(&self, z: &Tensor, g: &Tensor, n: usize, inner: usize, size: usize, step: usize) -> Result<()>;
}
