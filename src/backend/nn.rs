//! The nn kernels of the device contract: the ops networks call in their inner loop, each one
//! native kernel forward and backward. Tensors arrive contiguous in one float dtype (f32 or
//! f64) unless a method says otherwise; outputs are fresh tensors of the sizes documented.
//! Rows are the contiguous last-dim slices of length `len`.
use crate::error::Result;
use crate::tensor::Tensor;

/// Sizes of one recurrent layer run (LSTM or GRU): `steps` x `batch` x `hidden`.
#[derive(Clone, Copy, Debug)]
pub struct LstmGeom { pub steps: usize, pub batch: usize, pub hidden: usize }

/// Sizes of one attention call: `b` flattened batch entries of q [L, E], k [S, E], v [S, Ev].
#[derive(Clone, Copy, Debug)]
pub struct AttnGeom {
    pub b: usize, pub l: usize, pub s: usize, pub e: usize, pub ev: usize, pub scale: f64, pub causal: bool,
    /// A query row with every key masked gives zeros (PyTorch's safe softmax) instead of NaN.
    pub masked_rows_zero: bool,
}

/// An additive attention mask: batch entry `i` adds the [L, S] matrix at element
/// `offsets[i]` of `data` (one dtype with q).
pub struct AttnMaskArg<'a> { pub data: &'a Tensor, pub offsets: &'a [usize] }

/// Batch norm's layout: x [n, c, p] (p = the spatial elements of one channel).
#[derive(Clone, Copy, Debug)]
pub struct BatchNormGeom { pub n: usize, pub c: usize, pub p: usize }

pub trait NnKernels {
    /// softmax (or log_softmax) of every row.
    fn softmax(&self, out: &Tensor, x: &Tensor, len: usize, log: bool) -> Result<()>;
    /// ln(sum(exp(row))) of every row into `out` [rows], shifted by the row's max (an infinite
    /// max shifts by 0), as the composite logsumexp. Rows have `len` > 0 elements.
    fn logsumexp_rows(&self, out: &Tensor, x: &Tensor, len: usize) -> Result<()>;
    /// The input gradient of softmax (log_softmax) from its output `y` and gradient `g`.
    fn softmax_backward(&self, gx: &Tensor, y: &Tensor, g: &Tensor, len: usize, log: bool) -> Result<()>;
    /// Layer norm of every row with optional affine `w`, `b` [len]; `mean` and `rstd` [rows].
    #[allow(clippy::too_many_arguments)]
    fn layer_norm(&self, y: &Tensor, mean: &Tensor, rstd: &Tensor, x: &Tensor, w: Option<&Tensor>, b: Option<&Tensor>, len: usize, eps: f64) -> Result<()>;
    /// Layer norm's gradients: each of `gx` (x-shaped), `gw`, `gb` ([len]) computed when given.
    #[allow(clippy::too_many_arguments)]
    fn layer_norm_backward(&self, gx: Option<&Tensor>, gw: Option<&Tensor>, gb: Option<&Tensor>, g: &Tensor, x: &Tensor, mean: &Tensor, rstd: &Tensor, w: Option<&Tensor>, len: usize) -> Result<()>;
    /// GELU (erf form, or the tanh approximation).
    fn gelu(&self, y: &Tensor, x: &Tensor, tanh: bool) -> Result<()>;
    fn gelu_backward(&self, gx: &Tensor, g: &Tensor, x: &Tensor, tanh: bool) -> Result<()>;
    /// SiLU, x / (1 + exp(-x)), and its backward g * s * (1 + x (1 - s)) with s = sigmoid(x),
    /// over contiguous float32/float64 tensors of one shape.
    fn silu(&self, y: &Tensor, x: &Tensor) -> Result<()>;
    fn silu_backward(&self, gx: &Tensor, g: &Tensor, x: &Tensor) -> Result<()>;
    /// nll_loss per row of x [rows, classes] with int64 `target` [rows]: `losses` and the row
    /// weights `row_weights` [rows] (class weight, 0 for ignore_index). A target outside
    /// [0, classes) other than ignore_index is PyTorch's IndexError.
    fn nll_loss(&self, losses: &Tensor, row_weights: &Tensor, x: &Tensor, target: &Tensor, weight: Option<&Tensor>, ignore_index: i64) -> Result<()>;
    /// d loss / d x for nll_loss: `coef` [rows, classes] = -row_weight * scale at each target.
    fn nll_grad_coef(&self, coef: &Tensor, target: &Tensor, row_weights: &Tensor, scale: f64) -> Result<()>;
    /// `y = x @ w^T + bias` for x [m, k], w [n, k], bias [n].
    fn linear(&self, y: &Tensor, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<()>;
    /// One RNN cell step: `y = act(x @ w_ih^T + h @ w_hh^T + b_ih + b_hh)`, act = relu or
    /// tanh; an absent bias counts as zeros.
    #[allow(clippy::too_many_arguments)]
    fn rnn_cell(&self, y: &Tensor, x: &Tensor, h: &Tensor, w_ih: &Tensor, w_hh: &Tensor, b_ih: Option<&Tensor>, b_hh: Option<&Tensor>, relu: bool) -> Result<()>;
    /// Scaled dot-product attention: `o` [b, L, Ev] and the rows' log-sum-exp `lse` [b * L].
    #[allow(clippy::too_many_arguments)]
    fn attention(&self, o: &Tensor, lse: &Tensor, q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&AttnMaskArg>, g: &AttnGeom) -> Result<()>;
    /// Attention's gradients `dq`, `dk`, `dv` from the forward's `o`, `lse` and `d_o`.
    #[allow(clippy::too_many_arguments)]
    fn attention_backward(&self, dq: &Tensor, dk: &Tensor, dv: &Tensor, q: &Tensor, k: &Tensor, v: &Tensor, o: &Tensor, lse: &Tensor, d_o: &Tensor, mask: Option<&AttnMaskArg>, g: &AttnGeom) -> Result<()>;
    /// Per-channel batch mean and biased variance of x, returned to the host (c values each).
    fn batch_norm_stats(&self, x: &Tensor, g: BatchNormGeom) -> Result<(Vec<f64>, Vec<f64>)>;
    /// `y = (x - mean[c]) * rstd[c] * w[c] + b[c]`.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm(&self, y: &Tensor, x: &Tensor, g: BatchNormGeom, mean: &[f64], rstd: &[f64], w: Option<&Tensor>, b: Option<&Tensor>) -> Result<()>;
    /// Batch norm's input gradient into `gx` when given (through the batch statistics when
    /// `train`); returns the weight and bias gradients per channel to the host.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_backward(&self, gx: Option<&Tensor>, g: &Tensor, x: &Tensor, geom: BatchNormGeom, mean: &[f64], rstd: &[f64], w: Option<&Tensor>, train: bool) -> Result<(Vec<f64>, Vec<f64>)>;
    /// One LSTM layer direction over the whole sequence: `xg` [T, B, 4H] (input projections
    /// with both biases), `h0`, `c0` [B, H], `w_hh` [4H, H]; writes every step's hidden state
    /// `hs` [T, B, H], gate activations `acts` [T, B, 4H] and cell state `cs` [T, B, H].
    #[allow(clippy::too_many_arguments)]
    fn lstm(&self, g: LstmGeom, hs: &Tensor, acts: &Tensor, cs: &Tensor, xg: &Tensor, h0: &Tensor, c0: &Tensor, w_hh: &Tensor) -> Result<()>;
    /// Backpropagation through time for `lstm`: `dxg` [T, B, 4H], `dh0`, `dc0` [B, H], `dw`
    /// [4H, H] from the output gradients `dhs` [T, B, H] and the final states' `dh_n`, `dc_n`.
    #[allow(clippy::too_many_arguments)]
    fn lstm_backward(&self, g: LstmGeom, dxg: &Tensor, dh0: &Tensor, dc0: &Tensor, dw: &Tensor, dhs: &Tensor, dh_n: Option<&Tensor>, dc_n: Option<&Tensor>,
        h0: &Tensor, c0: &Tensor, w_hh: &Tensor, hs: &Tensor, acts: &Tensor, cs: &Tensor) -> Result<()>;
    /// One GRU layer direction: `gi` [T, B, 3H] (input projections with b_ih), `h0` [B, H],
    /// `w_hh` [3H, H], `b_hh` [3H]; writes `hs` [T, B, H] and `saved` [T, B, 4H] for backward.
    #[allow(clippy::too_many_arguments)]
    fn gru(&self, g: LstmGeom, hs: &Tensor, saved: &Tensor, gi: &Tensor, h0: &Tensor, w_hh: &Tensor, b_hh: Option<&Tensor>) -> Result<()>;
    /// Backpropagation through time for `gru`: `dgi` [T, B, 3H], `dh0` [B, H], `dw` [3H, H]
    /// and, when given, `db` [3H].
    #[allow(clippy::too_many_arguments)]
    fn gru_backward(&self, g: LstmGeom, dgi: &Tensor, dh0: &Tensor, dw: &Tensor, db: Option<&Tensor>, dhs: &Tensor, dh_n: Option<&Tensor>,
        h0: &Tensor, w_hh: &Tensor, hs: &Tensor, saved: &Tensor) -> Result<()>;
    /// One Elman RNN layer direction (tanh, or ReLU when `relu`): `xg` [T, B, H] (input
    /// projections with both biases), `h0` [B, H], `w_hh` [H, H]; writes `hs` [T, B, H].
    fn rnn(&self, g: LstmGeom, relu: bool, hs: &Tensor, xg: &Tensor, h0: &Tensor, w_hh: &Tensor) -> Result<()>;
    /// Backpropagation through time for `rnn` from its outputs `hs`: `dxg` [T, B, H], `dh0`
    /// [B, H], `dw` [H, H].
    #[allow(clippy::too_many_arguments)]
    fn rnn_backward(&self, g: LstmGeom, relu: bool, dxg: &Tensor, dh0: &Tensor, dw: &Tensor, dhs: &Tensor, dh_n: Option<&Tensor>,
        h0: &Tensor, w_hh: &Tensor, hs: &Tensor) -> Result<()>;
}
