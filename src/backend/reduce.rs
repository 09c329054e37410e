//! Reductions in the device contract. The ops layer lays the reduced dims out last, so every
//! kernel reduces the contiguous rows of `x` viewed as [rows, len] (rows = out's numel).
use crate::error::Result;
pub use crate::ops::reduce::Extreme;
use crate::tensor::Tensor;

/// A row reduction with one output per row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowReduce {
    /// Sum: out f64 for float rows (eight independent accumulators), wrapping i64 otherwise.
    Sum,
    /// Product: out f64 for float rows, wrapping i64 otherwise.
    Prod,
    /// Every element non-zero: out bool.
    All,
    /// Any element non-zero: out bool.
    Any,
    /// The sum of squared deviations from the row's mean, for float32/float64 rows: out f64
    /// (two passes in f64, as var/std need).
    SquaredDeviations,
    /// The sum of squares of a float32/float64 row: out f64 (the 2-norm's square).
    SumSquares,
}

pub trait ReduceKernels {
    /// `out[r] = op(row r of x)`, out's dtype as `RowReduce` says; x any real dtype.
    fn reduce_rows(&self, op: RowReduce, out: &Tensor, x: &Tensor, len: usize) -> Result<()>;
    /// `vals[r]`, `idx[r]` (int64) = the max or min of row r and its first position, NaN
    /// winning (len > 0).
    fn extreme_rows(&self, vals: &Tensor, idx: &Tensor, x: &Tensor, len: usize, which: Extreme) -> Result<()>;
    /// `out[j] = sum_i x[i, j]` for float32 x [rows, cols] (a reduction over leading dims
    /// without a transposing copy).
    fn column_sums(&self, out: &Tensor, x: &Tensor, rows: usize, cols: usize) -> Result<()>;
    /// Row r of `out` = the running sum (or product) of row r of `x`, accumulated in f64 for a
    /// float `out` and in wrapping i64 otherwise; out [rows, len] in its own dtype.
    fn cumulative_rows(&self, out: &Tensor, x: &Tensor, len: usize, prod: bool) -> Result<()>;
}
