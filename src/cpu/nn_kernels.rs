//! The CPU side of the nn contract (`backend::nn::NnKernels`): each method checks that its
//! outputs are fresh, takes its tensors as slices and runs the kernels in `nn`, `attention`,
//! `rnn` and `gemm`.
use super::attention::{self, AttnMask};
use super::gemm::{gemm_checked, linear_checked, parallelism, Mat};
use super::nn::{self as k, NnElem};
use super::{check_outputs, kernel_result, read, rnn, write, Cpu};
use crate::backend::nn::{AttnGeom, AttnMaskArg, BatchNormGeom, LstmGeom, NnKernels};
use crate::dtype::{DType, Elem};
use crate::error::Result;
use crate::tensor::Tensor;
use num_traits::Zero;

/// A small optional operand (weights, biases, a GRU's b_hh) copied out of its tensor.
fn opt_vec<T: Elem>(t: Option<&Tensor>) -> Result<Option<Vec<T>>> {
    t.map(|t| read::<T, _>(t, |v| v.to_vec())).transpose()
}

fn same_len(a: &Tensor, b: &Tensor, what: &str) -> Result<()> {
    if a.numel() != b.numel() { crate::bail!("internal: {} got {} and {} elements", what, a.numel(), b.numel()); }
    Ok(())
}

impl NnKernels for Cpu {
    fn softmax(&self, out: &Tensor, x: &Tensor, len: usize, log: bool) -> Result<()> {
        check_outputs(&[out], &[x])?;
        same_len(out, x, "softmax")?;
        if len == 0 { return Ok(()); }
        crate::dispatch_float!(x.dtype(), T => read::<T, _>(x, |sv| write::<T, _>(out, |o| k::softmax_rows::<T>(sv, o, len, log)))??);
        Ok(())
    }

    fn logsumexp_rows(&self, out: &Tensor, x: &Tensor, len: usize) -> Result<()> {
        check_outputs(&[out], &[x])?;
        if len == 0 || out.numel().checked_mul(len) != Some(x.numel()) {
            crate::bail!("internal: logsumexp_rows of {} elements in rows of {} into {}", x.numel(), len, out.numel());
        }
        crate::dispatch_float!(x.dtype(), T => read::<T, _>(x, |sv| write::<T, _>(out, |o| k::logsumexp_rows::<T>(sv, o, len)))??);
        Ok(())
    }

    fn softmax_backward(&self, gx: &Tensor, y: &Tensor, g: &Tensor, len: usize, log: bool) -> Result<()> {
        check_outputs(&[gx], &[y, g])?;
        crate::dispatch_float!(y.dtype(), T => read::<T, _>(y, |ys| read::<T, _>(g, |gs| write::<T, _>(gx, |o| kernel_result(k::softmax_bwd(ys, gs, len, log, o))))))???
    }

    fn layer_norm(&self, y: &Tensor, mean: &Tensor, rstd: &Tensor, x: &Tensor, w: Option<&Tensor>, b: Option<&Tensor>, len: usize, eps: f64) -> Result<()> {
        check_outputs(&[y, mean, rstd], &[x])?;
        crate::dispatch_float!(x.dtype(), T => {
            let (wv, bv) = (opt_vec::<T>(w)?, opt_vec::<T>(b)?);
            read::<T, _>(x, |xs| write::<T, _>(y, |ys| write::<T, _>(mean, |mv| write::<T, _>(rstd, |rv|
                kernel_result(k::layer_norm_fwd(xs, len, wv.as_deref(), bv.as_deref(), eps, ys, mv, rv))))))????
        })
    }

    fn layer_norm_backward(&self, gx: Option<&Tensor>, gw: Option<&Tensor>, gb: Option<&Tensor>, g: &Tensor, x: &Tensor, mean: &Tensor, rstd: &Tensor, w: Option<&Tensor>, len: usize) -> Result<()> {
        let outs: Vec<&Tensor> = [gx, gw, gb].into_iter().flatten().collect();
        check_outputs(&outs, &[g, x, mean, rstd])?;
        crate::dispatch_float!(x.dtype(), T => {
            let wv = opt_vec::<T>(w)?;
            let (mut gwv, mut gbv) = (gw.map(|_| vec![T::zero(); len]), gb.map(|_| vec![T::zero(); len]));
            read::<T, _>(g, |gs| read::<T, _>(x, |xs| read::<T, _>(mean, |mv| read::<T, _>(rstd, |rv| {
                let mut run = |gxs: Option<&mut [T]>| k::layer_norm_bwd(gs, xs, len, mv, rv, wv.as_deref(), gxs, gwv.as_deref_mut(), gbv.as_deref_mut());
                match gx {
                    Some(t) => write::<T, _>(t, |o| kernel_result(run(Some(o))))?,
                    None => kernel_result(run(None)),
                }
            }))))?????;
            if let (Some(t), Some(v)) = (gw, &gwv) { super::write_from(t, v)?; }
            if let (Some(t), Some(v)) = (gb, &gbv) { super::write_from(t, v)?; }
            Ok(())
        })
    }

    fn gelu(&self, y: &Tensor, x: &Tensor, tanh: bool) -> Result<()> {
        check_outputs(&[y], &[x])?;
        crate::dispatch_float!(x.dtype(), T => read::<T, _>(x, |xs| write::<T, _>(y, |ys| kernel_result(k::gelu_fwd(xs, tanh, ys)))))??
    }

    fn gelu_backward(&self, gx: &Tensor, g: &Tensor, x: &Tensor, tanh: bool) -> Result<()> {
        check_outputs(&[gx], &[g, x])?;
        crate::dispatch_float!(x.dtype(), T => read::<T, _>(x, |xs| read::<T, _>(g, |gs| write::<T, _>(gx, |o| kernel_result(k::gelu_bwd(gs, xs, tanh, o))))))???
    }

    fn silu(&self, y: &Tensor, x: &Tensor) -> Result<()> {
        check_outputs(&[y], &[x])?;
        crate::dispatch_float!(x.dtype(), T => read::<T, _>(x, |xs| write::<T, _>(y, |ys| kernel_result(k::silu_fwd(xs, ys)))))??
    }

    fn silu_backward(&self, gx: &Tensor, g: &Tensor, x: &Tensor) -> Result<()> {
        check_outputs(&[gx], &[g, x])?;
        crate::dispatch_float!(x.dtype(), T => read::<T, _>(x, |xs| read::<T, _>(g, |gs| write::<T, _>(gx, |o| kernel_result(k::silu_bwd(gs, xs, o))))))???
    }

    fn nll_loss(&self, losses: &Tensor, row_weights: &Tensor, x: &Tensor, target: &Tensor, weight: Option<&Tensor>, ignore_index: i64) -> Result<()> {
        check_outputs(&[losses, row_weights], &[x, target])?;
        let rows = row_weights.numel();
        let classes = if rows == 0 { x.shape().last().copied().unwrap_or(0) } else { x.numel() / rows };
        crate::dispatch_float!(x.dtype(), T => {
            let wv = opt_vec::<T>(weight)?;
            read::<i64, _>(target, |tv| write::<T, _>(row_weights, |rw| {
                if let Err(Some(t)) = k::nll_row_weights(tv, classes, wv.as_deref(), ignore_index, rw) {
                    return Err(crate::index_err!("Target {} is out of bounds.", t));
                }
                read::<T, _>(x, |xs| write::<T, _>(losses, |lv| kernel_result(k::nll_fwd(xs, classes, tv, rw, lv))))??
            }))??
        })
    }

    fn nll_grad_coef(&self, coef: &Tensor, target: &Tensor, row_weights: &Tensor, scale: f64) -> Result<()> {
        check_outputs(&[coef], &[target, row_weights])?;
        let classes = if row_weights.numel() == 0 { 0 } else { coef.numel() / row_weights.numel() };
        crate::dispatch_float!(coef.dtype(), T => read::<i64, _>(target, |tv| read::<T, _>(row_weights, |rw| write::<T, _>(coef, |o|
            kernel_result(k::nll_grad_coef(classes, tv, rw, T::of(scale), o))))))???
    }

    fn linear(&self, y: &Tensor, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<()> {
        check_outputs(&[y], &[x, w])?;
        let (xs, ws) = (x.shape(), w.shape());
        if xs.len() != 2 || ws.len() != 2 || xs[1] != ws[1] || y.shape().as_slice() != [xs[0], ws[0]] {
            crate::bail!("internal: linear of {:?} and {:?} into {:?}", xs, ws, y.shape());
        }
        let (m, kk, n) = (xs[0], xs[1], ws[0]);
        if x.dtype() == DType::BF16 {
            // bf16 arrives only where `matmul_dtype` chose it (the AMX kernel): w's transpose as a
            // view, the bias in f32 so the result is rounded once
            let bias = opt_vec::<half::bf16>(bias)?.map(|v| v.iter().map(|b| b.to_f32()).collect::<Vec<f32>>());
            let wb = w.body_ref();
            let wt = crate::tensor::Body { shape: [kk, n][..].into(), strides: [wb.strides[1], wb.strides[0]][..].into(), ..wb.clone() };
            return super::bf16_gemm::bmm_bf16(&y.body_ref(), &x.body_ref(), &wt, bias.as_deref());
        }
        crate::dispatch_float!(x.dtype(), T => {
            let bv = opt_vec::<T>(bias)?;
            read::<T, _>(x, |xv| read::<T, _>(w, |wv| write::<T, _>(y, |yv| {
                let par = parallelism(m.saturating_mul(n).saturating_mul(kk));
                linear_checked(yv, Mat::rm(xv, m, kk), Mat::rm_t(wv, n, kk), bv.as_deref(), par).map_err(|e| crate::rt_err!("internal: linear: {}", e))
            })))???
        })
    }

    fn rnn_cell(&self, y: &Tensor, x: &Tensor, h: &Tensor, w_ih: &Tensor, w_hh: &Tensor, b_ih: Option<&Tensor>, b_hh: Option<&Tensor>, relu: bool) -> Result<()> {
        let mut ins = vec![x, h, w_ih, w_hh];
        ins.extend(b_ih.into_iter().chain(b_hh));
        check_outputs(&[y], &ins)?;
        let (xs, hs) = (x.shape(), h.shape());
        if xs.len() != 2 || hs.len() != 2 || xs[0] != hs[0] || [b_ih, b_hh].into_iter().flatten().any(|b| b.numel() != hs[1]) || y.shape().as_slice() != [xs[0], hs[1]] {
            crate::bail!("internal: rnn_cell of {:?} and {:?} into {:?}", xs, hs, y.shape());
        }
        let (m, ki, kh, n) = (xs[0], xs[1], hs[1], hs[1]);
        crate::dispatch_float!(x.dtype(), T => {
            // both biases summed once per call (absent ones are zeros), then copied to each row
            let mut bv = vec![T::zero(); n];
            for b in [b_ih, b_hh].into_iter().flatten() {
                read::<T, _>(b, |v| for (s, &x) in bv.iter_mut().zip(v) { *s = *s + x })?;
            }
            read::<T, _>(x, |xv| read::<T, _>(h, |hv| read::<T, _>(w_ih, |wiv| read::<T, _>(w_hh, |whv| write::<T, _>(y, |yv| {
                for row in yv.chunks_mut(n.max(1)) { row.copy_from_slice(&bv); }
                let par = parallelism(m.saturating_mul(n).saturating_mul(ki + kh));
                gemm_checked(yv, n, Mat::rm(xv, m, ki), Mat::rm_t(wiv, n, ki), true, par)?;
                gemm_checked(yv, n, Mat::rm(hv, m, kh), Mat::rm_t(whv, n, kh), true, par)?;
                if relu { k::relu_in_place(yv) } else { k::tanh_in_place(yv) }
                Ok::<(), String>(())
            }).map(kernel_result)))))?????
        })
    }

    fn attention(&self, o: &Tensor, lse: &Tensor, q: &Tensor, kt: &Tensor, v: &Tensor, mask: Option<&AttnMaskArg>, g: &AttnGeom) -> Result<()> {
        let mut ins = vec![q, kt, v];
        ins.extend(mask.map(|m| m.data));
        check_outputs(&[o, lse], &ins)?;
        crate::dispatch_float!(q.dtype(), T => {
            let mv: Option<Vec<T>> = opt_vec::<T>(mask.map(|m| m.data))?;
            let am = mv.as_ref().zip(mask).map(|(d, m)| AttnMask { data: d, offsets: m.offsets });
            read::<T, _>(q, |qv| read::<T, _>(kt, |kv| read::<T, _>(v, |vv| write::<T, _>(o, |ov| write::<T, _>(lse, |lv|
                kernel_result(attention::forward(g, qv, kv, vv, am.as_ref(), ov, lv)))))))?????
        })
    }

    fn attention_backward(&self, dq: &Tensor, dk: &Tensor, dv: &Tensor, q: &Tensor, kt: &Tensor, v: &Tensor, o: &Tensor, lse: &Tensor, d_o: &Tensor, mask: Option<&AttnMaskArg>, g: &AttnGeom) -> Result<()> {
        let mut ins = vec![q, kt, v, o, lse, d_o];
        ins.extend(mask.map(|m| m.data));
        check_outputs(&[dq, dk, dv], &ins)?;
        crate::dispatch_float!(q.dtype(), T => {
            let r = |t: &Tensor| read::<T, _>(t, |x| x.to_vec());
            let (qv, kv, vv, ov, dov, lv) = (r(q)?, r(kt)?, r(v)?, r(o)?, r(d_o)?, r(lse)?);
            let mv: Option<Vec<T>> = opt_vec::<T>(mask.map(|m| m.data))?;
            let am = mv.as_ref().zip(mask).map(|(d, m)| AttnMask { data: d, offsets: m.offsets });
            write::<T, _>(dq, |dqv| write::<T, _>(dk, |dkv| write::<T, _>(dv, |dvv| {
                dqv.fill(T::zero()); dkv.fill(T::zero()); dvv.fill(T::zero());
                kernel_result(attention::backward(g, &qv, &kv, &vv, am.as_ref(), &ov, &lv, &dov, dqv, dkv, dvv))
            })))???
        })
    }

    fn batch_norm_stats(&self, x: &Tensor, g: BatchNormGeom) -> Result<(Vec<f64>, Vec<f64>)> {
        let (mut m, mut v) = (vec![0.0; g.c], vec![0.0; g.c]);
        crate::dispatch_float!(x.dtype(), T => read::<T, _>(x, |xs| kernel_result(k::batch_norm_stats(xs, g.n, g.c, g.p, &mut m, &mut v)))??);
        Ok((m, v))
    }

    fn batch_norm(&self, y: &Tensor, x: &Tensor, g: BatchNormGeom, mean: &[f64], rstd: &[f64], w: Option<&Tensor>, b: Option<&Tensor>) -> Result<()> {
        check_outputs(&[y], &[x])?;
        crate::dispatch_float!(x.dtype(), T => {
            let (wv, bv) = (opt_vec::<T>(w)?, opt_vec::<T>(b)?);
            read::<T, _>(x, |xs| write::<T, _>(y, |ys| kernel_result(k::batch_norm_apply(xs, g.c, g.p, mean, rstd, wv.as_deref(), bv.as_deref(), ys))))??
        })
    }

    fn batch_norm_backward(&self, gx: Option<&Tensor>, g: &Tensor, x: &Tensor, geom: BatchNormGeom, mean: &[f64], rstd: &[f64], w: Option<&Tensor>, train: bool) -> Result<(Vec<f64>, Vec<f64>)> {
        if let Some(o) = gx { check_outputs(&[o], &[g, x])?; }
        let BatchNormGeom { n, c, p } = geom;
        let (mut sw, mut sb) = (vec![0.0; c], vec![0.0; c]);
        crate::dispatch_float!(x.dtype(), T => {
            let wv = opt_vec::<T>(w)?;
            read::<T, _>(x, |xv| read::<T, _>(g, |gv| {
                let mut run = |o: Option<&mut [T]>| kernel_result(k::batch_norm_bwd(gv, xv, n, c, p, mean, rstd, wv.as_deref(), train, o, &mut sw, &mut sb));
                match gx { Some(t) => write::<T, _>(t, |o| run(Some(o)))?, None => run(None) }
            }))???;
        });
        Ok((sw, sb))
    }

    fn lstm(&self, g: LstmGeom, hs: &Tensor, acts: &Tensor, cs: &Tensor, xg: &Tensor, h0: &Tensor, c0: &Tensor, w_hh: &Tensor) -> Result<()> {
        check_outputs(&[hs, acts, cs], &[xg, h0, c0, w_hh])?;
        crate::dispatch_float!(xg.dtype(), T => {
            let kernel = |xv: &[T], h0v: &[T], c0v: &[T], wv: &[T]| -> Result<()> {
                write::<T, _>(hs, |hv| write::<T, _>(acts, |av| write::<T, _>(cs, |cv|
                    kernel_result(rnn::lstm_fwd(g, xv, h0v, c0v, wv, hv, av, cv)))))???
            };
            read::<T, _>(xg, |xv| read::<T, _>(h0, |h0v| read::<T, _>(c0, |c0v| read::<T, _>(w_hh, |wv| kernel(xv, h0v, c0v, wv)))))????
        })
    }

    fn lstm_backward(&self, g: LstmGeom, dxg: &Tensor, dh0: &Tensor, dc0: &Tensor, dw: &Tensor, dhs: &Tensor, dh_n: Option<&Tensor>, dc_n: Option<&Tensor>,
        h0: &Tensor, c0: &Tensor, w_hh: &Tensor, hs: &Tensor, acts: &Tensor, cs: &Tensor) -> Result<()> {
        let mut ins = vec![dhs, h0, c0, w_hh, hs, acts, cs];
        ins.extend(dh_n);
        ins.extend(dc_n);
        check_outputs(&[dxg, dh0, dc0, dw], &ins)?;
        crate::dispatch_float!(hs.dtype(), T => {
            let r = |t: &Tensor| read::<T, _>(t, |v| v.to_vec());
            // the small [B, H] pieces are copied; the [T, B, *] ones are read in place
            let (h0v, c0v, wv) = (r(h0)?, r(c0)?, r(w_hh)?);
            let (dhn, dcn) = (opt_vec::<T>(dh_n)?, opt_vec::<T>(dc_n)?);
            let kernel = |hv: &[T], av: &[T], cv: &[T], dhv: &[T]| -> Result<()> {
                write::<T, _>(dxg, |dxv| write::<T, _>(dw, |dwv| write::<T, _>(dh0, |dh0v| write::<T, _>(dc0, |dc0v|
                    kernel_result(rnn::lstm_bwd(g, dhv, dhn.as_deref(), dcn.as_deref(), &h0v, &c0v, &wv, hv, av, cv, dxv, dh0v, dc0v, dwv))))))????
            };
            read::<T, _>(hs, |hv| read::<T, _>(acts, |av| read::<T, _>(cs, |cv| read::<T, _>(dhs, |dhv| kernel(hv, av, cv, dhv)))))????
        })
    }

    fn gru(&self, g: LstmGeom, hs: &Tensor, saved: &Tensor, gi: &Tensor, h0: &Tensor, w_hh: &Tensor, b_hh: Option<&Tensor>) -> Result<()> {
        check_outputs(&[hs, saved], &[gi, h0, w_hh])?;
        crate::dispatch_float!(gi.dtype(), T => {
            let bv = opt_vec::<T>(b_hh)?;
            let kernel = |xv: &[T], h0v: &[T], wv: &[T]| -> Result<()> {
                write::<T, _>(hs, |hv| write::<T, _>(saved, |sv| kernel_result(rnn::gru_fwd(g, xv, h0v, wv, bv.as_deref(), hv, sv))))??
            };
            read::<T, _>(gi, |xv| read::<T, _>(h0, |h0v| read::<T, _>(w_hh, |wv| kernel(xv, h0v, wv))))???
        })
    }

    fn gru_backward(&self, g: LstmGeom, dgi: &Tensor, dh0: &Tensor, dw: &Tensor, db: Option<&Tensor>, dhs: &Tensor, dh_n: Option<&Tensor>,
        h0: &Tensor, w_hh: &Tensor, hs: &Tensor, saved: &Tensor) -> Result<()> {
        let mut outs = vec![dgi, dh0, dw];
        outs.extend(db);
        let mut ins = vec![dhs, h0, w_hh, hs, saved];
        ins.extend(dh_n);
        check_outputs(&outs, &ins)?;
        crate::dispatch_float!(hs.dtype(), T => {
            let r = |t: &Tensor| read::<T, _>(t, |v| v.to_vec());
            let (h0v, wv) = (r(h0)?, r(w_hh)?);
            let dhn = opt_vec::<T>(dh_n)?;
            let mut dbv = db.map(|t| vec![T::zero(); t.numel()]);
            let mut kernel = |hv: &[T], sv: &[T], dhv: &[T]| -> Result<()> {
                write::<T, _>(dgi, |dgv| write::<T, _>(dw, |dwv| write::<T, _>(dh0, |dh0v|
                    kernel_result(rnn::gru_bwd(g, dhv, dhn.as_deref(), &h0v, &wv, hv, sv, dgv, dh0v, dwv, dbv.as_deref_mut())))))???
            };
            read::<T, _>(hs, |hv| read::<T, _>(saved, |sv| read::<T, _>(dhs, |dhv| kernel(hv, sv, dhv))))????;
            if let (Some(t), Some(v)) = (db, &dbv) { super::write_from(t, v)?; }
            Ok(())
        })
    }

    fn rnn(&self, g: LstmGeom, relu: bool, hs: &Tensor, xg: &Tensor, h0: &Tensor, w_hh: &Tensor) -> Result<()> {
        check_outputs(&[hs], &[xg, h0, w_hh])?;
        crate::dispatch_float!(xg.dtype(), T => {
            let kernel = |xv: &[T], h0v: &[T], wv: &[T]| -> Result<()> {
                write::<T, _>(hs, |hv| kernel_result(rnn::rnn_fwd(g, relu, xv, h0v, wv, hv)))?
            };
            read::<T, _>(xg, |xv| read::<T, _>(h0, |h0v| read::<T, _>(w_hh, |wv| kernel(xv, h0v, wv))))???
        })
    }

    fn rnn_backward(&self, g: LstmGeom, relu: bool, dxg: &Tensor, dh0: &Tensor, dw: &Tensor, dhs: &Tensor, dh_n: Option<&Tensor>,
        h0: &Tensor, w_hh: &Tensor, hs: &Tensor) -> Result<()> {
        let mut ins = vec![dhs, h0, w_hh, hs];
        ins.extend(dh_n);
        check_outputs(&[dxg, dh0, dw], &ins)?;
        crate::dispatch_float!(hs.dtype(), T => {
            let r = |t: &Tensor| read::<T, _>(t, |v| v.to_vec());
            let (h0v, wv) = (r(h0)?, r(w_hh)?);
            let dhn = opt_vec::<T>(dh_n)?;
            let kernel = |hv: &[T], dhv: &[T]| -> Result<()> {
                write::<T, _>(dxg, |dxv| write::<T, _>(dw, |dwv| write::<T, _>(dh0, |dh0v|
                    kernel_result(rnn::rnn_bwd(g, relu, dhv, dhn.as_deref(), &h0v, &wv, hv, dxv, dh0v, dwv)))))???
            };
            read::<T, _>(hs, |hv| read::<T, _>(dhs, |dhv| kernel(hv, dhv)))??
        })
    }
}
