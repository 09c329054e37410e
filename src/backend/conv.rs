//! Convolution in the device contract: three kernels cover convolution and transposed
//! convolution in 1-3 spatial dims (forward, input gradient = transposed forward, weight
//! gradient). Tensors arrive contiguous in one float dtype (f32 or f64), x [N, C, *in_sp],
//! w [O, C/groups, *k], y [N, O, *out_sp]; outputs are fresh.
use crate::error::Result;
use crate::tensor::Tensor;

pub trait ConvKernels {
    /// `y = conv(x, w) + bias` (bias [O] broadcast over each output plane).
    fn conv_forward(&self, y: &Tensor, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, g: &ConvGeom) -> Result<()>;
    /// `gx` = the adjoint of the convolution applied to `gy` (the transposed convolution).
    fn conv_input_grad(&self, gx: &Tensor, gy: &Tensor, w: &Tensor, g: &ConvGeom) -> Result<()>;
    /// `gw` = the weight gradient from the input `x` and the output gradient `gy`.
    fn conv_weight_grad(&self, gw: &Tensor, x: &Tensor, gy: &Tensor, g: &ConvGeom) -> Result<()>;
}

/// Geometry of a convolution from `c` input channels to `o` output channels. Spatial arrays are
/// [depth, height, width]; 1-D and 2-D convolutions pad the front with size-1 dims.
#[derive(Clone, Debug)]
pub struct ConvGeom {
    pub n: usize, pub c: usize, pub o: usize, pub groups: usize,
    pub in_sp: [usize; 3], pub out_sp: [usize; 3], pub k: [usize; 3],
    pub stride: [usize; 3], pub pad: [usize; 3], pub dil: [usize; 3],
}

impl ConvGeom {
    pub fn cg(&self) -> usize { self.c / self.groups }
    pub fn og(&self) -> usize { self.o / self.groups }
    pub fn taps(&self) -> usize { self.k.iter().product() }
    pub fn in_plane(&self) -> usize { self.in_sp.iter().product() }
    pub fn out_plane(&self) -> usize { self.out_sp.iter().product() }
    /// Rows of one group's column matrix (input channels of the group x kernel taps).
    pub fn rows(&self) -> usize { self.cg() * self.taps() }
    /// A 1x1 convolution with stride 1 and no padding: the input is already its column matrix.
    pub fn is_pointwise(&self) -> bool {
        self.k == [1, 1, 1] && self.stride == [1, 1, 1] && self.pad == [0, 0, 0] && self.in_sp == self.out_sp
    }
    /// Element counts of input, weight and output, all checked for overflow, plus a consistency
    /// check of every field (so the kernels may index freely inside these bounds).
    pub fn validate(&self) -> std::result::Result<(usize, usize, usize), String> {
        let bad = || format!("convolution: inconsistent geometry {:?}", self);
        if self.groups == 0 || self.c % self.groups != 0 || self.o % self.groups != 0 { return Err(bad()); }
        for d in 0..3 {
            if self.stride[d] == 0 || self.dil[d] == 0 || self.k[d] == 0 { return Err(bad()); }
            // every output position's window start must be representable; reads are bounds-tested per tap
            let last = (self.out_sp[d].max(1) - 1).checked_mul(self.stride[d]).and_then(|v| v.checked_add((self.k[d] - 1).checked_mul(self.dil[d])?));
            if last.is_none() { return Err(bad()); }
        }
        let mul = |v: &[usize]| v.iter().try_fold(1usize, |a, &b| a.checked_mul(b)).ok_or_else(bad);
        let x = mul(&[self.n, self.c, self.in_plane()])?;
        let w = mul(&[self.o, self.cg(), self.taps()])?;
        let y = mul(&[self.n, self.o, self.out_plane()])?;
        mul(&[self.rows(), self.out_plane()])?;
        Ok((x, w, y))
    }
}

