//! Pooling in the device contract: max pooling with indices, window average pooling (avg_pool
//! and the adaptive average pools) and window max pooling (the adaptive max pools), each with
//! the geometry the ops layer computed. Tensors arrive contiguous, [planes, *in_sp] in, fresh
//! [planes, *out_sp] outputs; indices are int64 flat positions in each input plane.
use crate::error::Result;
use crate::tensor::Tensor;

/// Max pooling's geometry, every field padded to 3 spatial dims (1 for absent leading dims).
#[derive(Clone, Copy, Debug)]
pub struct MaxPoolGeom { pub in_sp: [usize; 3], pub out_sp: [usize; 3], pub k: [usize; 3], pub stride: [usize; 3], pub pad: [usize; 3], pub dil: [usize; 3] }

pub trait PoolKernels {
    /// `y` and `idx` (int64) from `x`: each output the max over its window (NaN wins), every
    /// real dtype but bool.
    fn max_pool(&self, y: &Tensor, idx: &Tensor, x: &Tensor, g: &MaxPoolGeom) -> Result<()>;
    /// `gx` (x-shaped) = the gradient `g` summed into the positions `idx` recorded (float types).
    fn max_pool_backward(&self, gx: &Tensor, g: &Tensor, idx: &Tensor, in_plane: usize, out_plane: usize) -> Result<()>;
    /// `y` = each window's sum divided as `div` says (f32, f64, i64).
    fn avg_pool(&self, y: &Tensor, x: &Tensor, in_sp: [usize; 3], win: &Windows, div: &Divisor) -> Result<()>;
    /// `gx` (x-shaped) = each output's gradient spread over its window, divided as in the forward.
    fn avg_pool_backward(&self, gx: &Tensor, g: &Tensor, in_sp: [usize; 3], win: &Windows, div: &Divisor) -> Result<()>;
    /// `y` and `idx` = each window's max and its flat position (f32, f64).
    fn window_max(&self, y: &Tensor, idx: &Tensor, x: &Tensor, in_sp: [usize; 3], win: &Windows) -> Result<()>;
}

/// Per-dim input ranges [lo, hi) of every output position, for window pooling.
pub struct Windows { pub lo: [Vec<usize>; 3], pub hi: [Vec<usize>; 3] }

impl Windows {
    pub fn out_sp(&self) -> [usize; 3] { [self.lo[0].len(), self.lo[1].len(), self.lo[2].len()] }
    /// Calls `f(o, z, ranges)` for every output position: `o` its index in the output plane
    /// (row-major), `z` its (d, h, w) coordinates, `ranges` its window along each dim.
    pub fn each(&self, mut f: impl FnMut(usize, [usize; 3], [(usize, usize); 3])) {
        let out = self.out_sp();
        let mut o = 0;
        for zd in 0..out[0] {
            for zh in 0..out[1] {
                for zw in 0..out[2] {
                    f(o, [zd, zh, zw], [(self.lo[0][zd], self.hi[0][zd]), (self.lo[1][zh], self.hi[1][zh]), (self.lo[2][zw], self.hi[2][zw])]);
                    o += 1;
                }
            }
        }
    }
    /// Every window lies inside the input and every dim has matching lo/hi lists.
    pub fn check(&self, in_sp: &[usize; 3]) -> std::result::Result<(), String> {
        for d in 0..3 {
            if self.lo[d].len() != self.hi[d].len() || self.lo[d].iter().zip(&self.hi[d]).any(|(&l, &h)| l > h || h > in_sp[d]) {
                return Err("pool: window outside the input".into());
            }
        }
        Ok(())
    }
}

/// How an average pool divides a window's sum.
pub enum Divisor {
    /// One division by the product of per-dim factors (avg_pool: pool size with or without padding).
    Product([Vec<i64>; 3]),
    /// One division by a user's `divisor_override`.
    Constant(i64),
    /// Successive divisions by the window's extent along each dim (the adaptive pools: sum / kd / kh / kw).
    Extents,
}

