//! Fused multi-tensor optimizer steps: one call updates every parameter of a group, with the
//! same float arithmetic order as PyTorch's single-tensor CPU path (so trajectories agree).
//! These are kernels on the parameters' and states' memory; `check` proves the slices they
//! take are contiguous, on the CPU and pairwise disjoint.
use crate::cpu::simd::vectorized;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use num_traits::Float;
use rayon::prelude::*;

fn slice_mut<T>(t: &Tensor) -> &mut [T] {
    let b = t.body();
    // SAFETY: `check` proved t contiguous, of T's dtype and on the CPU, so its numel elements lie
    // inside the storage (check_view_bounds), which the caller's tensor keeps alive for the step;
    // it also proved that no two tensors of the step share a storage, and each step function
    // takes one slice per tensor, so no two live slices alias.
    unsafe { std::slice::from_raw_parts_mut(b.data_ptr() as *mut T, b.numel()) }
}

/// All tensors contiguous, same shape as the parameter, one float dtype the kernels cover.
fn check(groups: &[&[Tensor]], dtype: DType) -> Result<()> {
    if !matches!(dtype, DType::F32 | DType::F64) {
        return Err(Error::NotImplemented(format!("fused optimizer step for {}", dtype.name())));
    }
    let mut storages = std::collections::HashSet::new();
    for g in groups {
        for t in g.iter() {
            let b = t.body();
            if b.dtype != dtype || !b.is_contiguous() || b.storage.device != crate::storage::Device::Cpu {
                return Err(Error::NotImplemented("fused optimizer step needs contiguous CPU tensors of one dtype".into()));
            }
            // tensors sharing memory (views of one buffer) take the reference path instead
            if b.numel() > 0 && !storages.insert(std::sync::Arc::as_ptr(&b.storage) as usize) {
                return Err(Error::NotImplemented("fused optimizer step needs tensors that do not share memory".into()));
            }
        }
    }
    Ok(())
}

const CHUNK: usize = 1 << 14;

/// Adam's loop-invariant coefficients, in the element type.
pub struct AdamConsts<T> {
    maximize: bool, weight_decay: bool, decoupled: bool, lerp_low: bool,
    decay: T, wd: T, w: T, b2: T, one_m_b2: T, step_size: T, bc2_sqrt: T, eps: T,
}

/// One element of Adam, in ATen's arithmetic order. The flags are loop invariant, so the loops
/// below are unswitched by the compiler and their bodies vectorise.
#[inline(always)]
fn adam_elem<T: Float>(k: &AdamConsts<T>, p: &mut T, g: T, m: &mut T, v: &mut T, vmax: Option<&mut T>) {
    let mut gk = if k.maximize { -g } else { g };
    if k.weight_decay {
        if k.decoupled { *p = *p * k.decay } else { gk = gk + k.wd * *p }
    }
    // lerp exactly as ATen: weight < 0.5 ? a + w (b - a) : b - (b - a)(1 - w)
    let d = gk - *m;
    *m = if k.lerp_low { *m + k.w * d } else { gk - d * (T::one() - k.w) };
    *v = *v * k.b2 + (k.one_m_b2 * gk) * gk;
    let s = match vmax {
        Some(x) => { if *v > *x || v.is_nan() { *x = *v } *x }
        None => *v,
    };
    let denom = s.sqrt() / k.bc2_sqrt + k.eps;
    *p = *p + (k.step_size * *m) / denom;
}

#[inline(always)]
fn adam_chunk<T: Float>(k: &AdamConsts<T>, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], vmax: Option<&mut [T]>) {
    match vmax {
        Some(x) => for ((((p, &g), m), v), x) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()).zip(x.iter_mut()) { adam_elem(k, p, g, m, v, Some(x)) },
        None => for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) { adam_elem(k, p, g, m, v, None) },
    }
}

crate::cpu::simd::multiversion! {
    pub fn adam_chunk_f32(k: &AdamConsts<f32>, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], vmax: Option<&mut [f32]>) {
        adam_chunk(k, p, g, m, v, vmax)
    }
}

/// The f32 instantiation with AVX2 where the CPU has it, else the generic one.
fn adam_chunk_dispatch<T: Float + 'static>(k: &AdamConsts<T>, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], vmax: Option<&mut [T]>) {
    use super::nn::{as_f32, as_f32_mut};
    let kf = (k as &dyn std::any::Any).downcast_ref::<AdamConsts<f32>>();
    if let (Some(kf), Some(pf), Some(gf), Some(mf), Some(vf)) = (kf, as_f32_mut(&mut *p), as_f32(g), as_f32_mut(&mut *m), as_f32_mut(&mut *v)) {
        return adam_chunk_f32(kf, pf, gf, mf, vf, vmax.and_then(as_f32_mut));
    }
    adam_chunk(k, p, g, m, v, vmax)
}

#[allow(clippy::too_many_arguments)]
fn adam_one<T: Float + Send + Sync + 'static>(
    p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], vmax: Option<&mut [T]>, step: f64,
    amsgrad: bool, beta1: f64, beta2: f64, lr: f64, wd: f64, eps: f64, maximize: bool, decoupled: bool,
) {
    let c = |x: f64| -> T { num_traits::cast::<f64, T>(x).unwrap_or_else(T::nan) };
    let bc1 = 1.0 - beta1.powf(step);
    let bc2 = 1.0 - beta2.powf(step);
    let k = AdamConsts {
        maximize, weight_decay: wd != 0.0, decoupled, lerp_low: c(1.0 - beta1) < c(0.5),
        decay: c(1.0 - lr * wd), wd: c(wd), w: c(1.0 - beta1), b2: c(beta2), one_m_b2: c(1.0 - beta2),
        step_size: c(-(lr / bc1)), bc2_sqrt: c(bc2.sqrt()), eps: c(eps),
    };
    let vmax = if amsgrad { vmax } else { None };
    let n = p.len();
    if n < CHUNK * 2 || !crate::cpu::iter::parallel_ok() {
        adam_chunk_dispatch(&k, p, g, m, v, vmax);
    } else {
        match vmax {
            Some(x) => p.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK)).zip(m.par_chunks_mut(CHUNK)).zip(v.par_chunks_mut(CHUNK)).zip(x.par_chunks_mut(CHUNK))
                .for_each(|((((a, b), c2), d), e)| adam_chunk_dispatch(&k, a, b, c2, d, Some(e))),
            None => p.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK)).zip(m.par_chunks_mut(CHUNK)).zip(v.par_chunks_mut(CHUNK))
                .for_each(|(((a, b), c2), d)| adam_chunk_dispatch(&k, a, b, c2, d, None)),
        }
    }
}

/// Adam / AdamW over parallel lists; `steps` are 0-dim float32 counters incremented here.
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    params: &[Tensor], grads: &[Tensor], exp_avgs: &[Tensor], exp_avg_sqs: &[Tensor], max_sqs: &[Tensor], steps: &[Tensor],
    amsgrad: bool, beta1: f64, beta2: f64, lr: f64, wd: f64, eps: f64, maximize: bool, decoupled: bool,
) -> Result<()> {
    let Some(first) = params.first() else { return Ok(()) };
    let dt = first.dtype();
    let mut groups: Vec<&[Tensor]> = vec![params, grads, exp_avgs, exp_avg_sqs];
    if amsgrad { groups.push(max_sqs); }
    check(&groups, dt)?;
    if groups.iter().any(|g| g.len() != params.len()) || steps.len() != params.len() {
        return Err(Error::Runtime("_adam_step: all tensor lists must have the same length".into()));
    }
    for (i, p) in params.iter().enumerate() {
        // the step counter: float32 add like `step_t.add_(1)`
        let st = &steps[i];
        let step = (st.item_f64()? as f32 + 1.0) as f64;
        crate::ops::copy::fill_raw(st, step)?;
        crate::dispatch_float!(dt, T => adam_one::<T>(
            slice_mut::<T>(p), slice_mut::<T>(&grads[i]), slice_mut::<T>(&exp_avgs[i]), slice_mut::<T>(&exp_avg_sqs[i]),
            if amsgrad { Some(slice_mut::<T>(&max_sqs[i])) } else { None }, step,
            amsgrad, beta1, beta2, lr, wd, eps, maximize, decoupled));
        for t in [p, &exp_avgs[i], &exp_avg_sqs[i]] { t.bump_version(); }
    }
    Ok(())
}

/// Loop invariants of one SGD update (`sign` is -1 under `maximize`; a new momentum buffer
/// runs with `mc_buf` 0 and `damp` 1).
struct SgdConsts<T> { sign: T, wdc: T, mc_buf: T, damp: T, mc: T, neg_lr: T }

/// p -= lr * g (g with maximize and weight decay applied). The flags are constants so each
/// variant is a branch-free loop that vectorises (with runtime flags it stayed scalar: 13% of
/// an MLP step).
#[inline(always)]
fn sgd_plain<T: Float, const WD: bool>(pp: &mut [T], gg: &[T], k: &SgdConsts<T>) {
    for (p, &g) in pp.iter_mut().zip(gg) {
        let mut g = k.sign * g;
        if WD { g = g + k.wdc * *p; }
        *p = *p + k.neg_lr * g;
    }
}

/// The momentum update: buf = buf * momentum + (1 - dampening) * g, then p -= lr * buf (or
/// lr * (g + momentum * buf) under Nesterov).
#[inline(always)]
fn sgd_momentum<T: Float, const WD: bool, const NESTEROV: bool>(pp: &mut [T], gg: &[T], bb: &mut [T], k: &SgdConsts<T>) {
    for ((p, &g), b) in pp.iter_mut().zip(gg).zip(bb.iter_mut()) {
        let mut g = k.sign * g;
        if WD { g = g + k.wdc * *p; }
        *b = *b * k.mc_buf + k.damp * g;
        let d = if NESTEROV { g + k.mc * *b } else { *b };
        *p = *p + k.neg_lr * d;
    }
}

/// SGD with momentum/dampening/nesterov; returns buffers for entries that had none.
#[allow(clippy::too_many_arguments)]
pub fn sgd_step(
    params: &[Tensor], grads: &[Tensor], bufs: &[Option<Tensor>], lr: f64, wd: f64, momentum: f64, dampening: f64,
    nesterov: bool, maximize: bool,
) -> Result<Vec<Option<Tensor>>> {
    let Some(first) = params.first() else { return Ok(vec![]) };
    let dt = first.dtype();
    let existing: Vec<Tensor> = bufs.iter().flatten().cloned().collect();
    check(&[params, grads, &existing], dt)?;
    if grads.len() != params.len() || (momentum != 0.0 && bufs.len() != params.len()) {
        return Err(Error::Runtime("_sgd_step: parameter, gradient and buffer lists must have the same length".into()));
    }
    let mut created = vec![];
    for (i, p) in params.iter().enumerate() {
        let (buf, is_new) = match bufs.get(i).cloned().flatten() {
            _ if momentum == 0.0 => (None, false),
            Some(b) => { check(&[std::slice::from_ref(&b)], dt)?; (Some(b), false) }
            None => (Some(Tensor::zeros(&p.shape(), dt)?), true),
        };
        crate::dispatch_float!(dt, T => {
            let c = |x: f64| -> T { num_traits::cast::<f64, T>(x).unwrap_or_else(T::nan) };
            let (pp, gg) = (slice_mut::<T>(p), slice_mut::<T>(&grads[i]));
            let (wdc, mc, damp, neg_lr) = (c(wd), c(momentum), c(1.0 - dampening), c(-lr));
            let bb = buf.as_ref().map(|b| slice_mut::<T>(b));
            // a new buffer starts at zero and takes g through the same update with momentum 0
            // and no dampening (0 * 0 + 1 * g == g), so one loop serves both
            let (mc_buf, damp) = if is_new { (c(0.0), c(1.0)) } else { (mc, damp) };
            let k = SgdConsts { sign: c(if maximize { -1.0 } else { 1.0 }), wdc, mc_buf, damp, mc, neg_lr };
            let (wd_on, par) = (wd != 0.0, pp.len() >= 1 << 16 && crate::cpu::iter::parallel_ok());
            // large parameters are split across the pool (the update is memory-bound); each
            // chunk runs as AVX2 code where the CPU has it (SSE2 took 10% of an MLP step)
            match bb {
                None => {
                    let run = |(pp, gg): (&mut [T], &[T])| vectorized(#[inline(always)] || if wd_on { sgd_plain::<T, true>(pp, gg, &k) } else { sgd_plain::<T, false>(pp, gg, &k) });
                    if par { pp.par_chunks_mut(CHUNK).zip(gg.par_chunks(CHUNK)).for_each(run) } else { run((pp, &gg[..])) }
                }
                Some(b) => {
                    let run = |((pp, gg), b): ((&mut [T], &[T]), &mut [T])| vectorized(#[inline(always)] || match (wd_on, nesterov) {
                        (false, false) => sgd_momentum::<T, false, false>(pp, gg, b, &k),
                        (false, true) => sgd_momentum::<T, false, true>(pp, gg, b, &k),
                        (true, false) => sgd_momentum::<T, true, false>(pp, gg, b, &k),
                        (true, true) => sgd_momentum::<T, true, true>(pp, gg, b, &k),
                    });
                    if par { pp.par_chunks_mut(CHUNK).zip(gg.par_chunks(CHUNK)).zip(b.par_chunks_mut(CHUNK)).for_each(run) } else { run(((pp, &gg[..]), b)) }
                }
            }
        });
        p.bump_version();
        created.push(if is_new { buf } else { None });
    }
    Ok(created)
}

/// Increments a float32 step counter like `step_t.add_(1)` and returns the new value.
fn bump_step(st: &Tensor) -> Result<f64> {
    let step = (st.item_f64()? as f32 + 1.0) as f64;
    crate::ops::copy::fill_raw(st, step)?;
    Ok(step)
}

/// Same-length lists of contiguous tensors in the parameters' dtype (step counters: length only).
fn check_lists(name: &str, params: &[Tensor], lists: &[&[Tensor]], steps: &[Tensor]) -> Result<DType> {
    let Some(first) = params.first() else { return Ok(DType::F32) };
    let dt = first.dtype();
    if lists.iter().any(|l| l.len() != params.len()) || steps.len() != params.len() {
        return Err(Error::Runtime(format!("{}: all tensor lists must have the same length", name)));
    }
    let mut groups: Vec<&[Tensor]> = vec![params];
    groups.extend_from_slice(lists);
    check(&groups, dt)?;
    Ok(dt)
}

/// RMSprop (centered, momentum) in one call; `square_avgs`, `grad_avgs` (centered),
/// `bufs` (momentum > 0) are updated in place.
#[allow(clippy::too_many_arguments)]
pub fn rmsprop_step(
    params: &[Tensor], grads: &[Tensor], square_avgs: &[Tensor], grad_avgs: &[Tensor], bufs: &[Tensor], steps: &[Tensor],
    lr: f64, alpha: f64, eps: f64, wd: f64, momentum: f64, centered: bool, maximize: bool,
) -> Result<()> {
    // grad_avgs are used only when centered, momentum buffers only with momentum
    let mut lists: Vec<&[Tensor]> = vec![grads, square_avgs];
    if centered { lists.push(grad_avgs); }
    if momentum > 0.0 { lists.push(bufs); }
    let dt = check_lists("_rmsprop_step", params, &lists, steps)?;
    for (i, p) in params.iter().enumerate() {
        bump_step(&steps[i])?;
        crate::dispatch_float!(dt, T => {
            let c = |x: f64| -> T { num_traits::cast::<f64, T>(x).unwrap_or_else(T::nan) };
            let (pp, gg, sa) = (slice_mut::<T>(p), slice_mut::<T>(&grads[i]), slice_mut::<T>(&square_avgs[i]));
            let mut ga = if centered { Some(slice_mut::<T>(&grad_avgs[i])) } else { None };
            let mut bb = if momentum > 0.0 { Some(slice_mut::<T>(&bufs[i])) } else { None };
            let (al, one_m_al, w, epsc, mc, neg_lr) = (c(alpha), c(1.0 - alpha), c(wd), c(eps), c(momentum), c(-lr));
            let half = c(0.5);
            for k in 0..pp.len() {
                let mut g = if maximize { -gg[k] } else { gg[k] };
                if wd != 0.0 { g = g + w * pp[k]; }
                sa[k] = sa[k] * al + (one_m_al * g) * g;
                let avg = match ga.as_deref_mut() {
                    Some(a) => {
                        let d = g - a[k];
                        a[k] = if one_m_al < half { a[k] + one_m_al * d } else { g - d * (<T as num_traits::One>::one() - one_m_al) };
                        (sa[k] + (-<T as num_traits::One>::one() * a[k]) * a[k]).sqrt()
                    }
                    None => sa[k].sqrt(),
                } + epsc;
                match bb.as_deref_mut() {
                    Some(b) => { b[k] = b[k] * mc + g / avg; pp[k] = pp[k] + neg_lr * b[k]; }
                    None => pp[k] = pp[k] + (neg_lr * g) / avg,
                }
            }
        });
        p.bump_version();
    }
    Ok(())
}

/// Adagrad in one call.
#[allow(clippy::too_many_arguments)]
pub fn adagrad_step(params: &[Tensor], grads: &[Tensor], sums: &[Tensor], steps: &[Tensor], lr: f64, wd: f64, lr_decay: f64, eps: f64, maximize: bool) -> Result<()> {
    let dt = check_lists("_adagrad_step", params, &[grads, sums], steps)?;
    for (i, p) in params.iter().enumerate() {
        let step = bump_step(&steps[i])?;
        let clr = lr / (1.0 + (step - 1.0) * lr_decay);
        crate::dispatch_float!(dt, T => {
            let c = |x: f64| -> T { num_traits::cast::<f64, T>(x).unwrap_or_else(T::nan) };
            let (pp, gg, ss) = (slice_mut::<T>(p), slice_mut::<T>(&grads[i]), slice_mut::<T>(&sums[i]));
            let (w, epsc, neg) = (c(wd), c(eps), c(-clr));
            for k in 0..pp.len() {
                let mut g = if maximize { -gg[k] } else { gg[k] };
                if wd != 0.0 { g = g + w * pp[k]; }
                ss[k] = ss[k] + (<T as num_traits::One>::one() * g) * g;
                pp[k] = pp[k] + (neg * g) / (ss[k].sqrt() + epsc);
            }
        });
        p.bump_version();
    }
    Ok(())
}

/// Adadelta in one call.
#[allow(clippy::too_many_arguments)]
pub fn adadelta_step(params: &[Tensor], grads: &[Tensor], square_avgs: &[Tensor], acc_deltas: &[Tensor], steps: &[Tensor], lr: f64, rho: f64, eps: f64, wd: f64, maximize: bool) -> Result<()> {
    let dt = check_lists("_adadelta_step", params, &[grads, square_avgs, acc_deltas], steps)?;
    for (i, p) in params.iter().enumerate() {
        bump_step(&steps[i])?;
        crate::dispatch_float!(dt, T => {
            let c = |x: f64| -> T { num_traits::cast::<f64, T>(x).unwrap_or_else(T::nan) };
            let (pp, gg, sa, ad) = (slice_mut::<T>(p), slice_mut::<T>(&grads[i]), slice_mut::<T>(&square_avgs[i]), slice_mut::<T>(&acc_deltas[i]));
            let (r, one_m_r, epsc, w, neg_lr) = (c(rho), c(1.0 - rho), c(eps), c(wd), c(-lr));
            for k in 0..pp.len() {
                let mut g = if maximize { -gg[k] } else { gg[k] };
                if wd != 0.0 { g = g + w * pp[k]; }
                sa[k] = sa[k] * r + (one_m_r * g) * g;
                let std = (sa[k] + epsc).sqrt();
                let delta = (ad[k] + epsc).sqrt() / std * g;
                ad[k] = ad[k] * r + (one_m_r * delta) * delta;
                pp[k] = pp[k] + neg_lr * delta;
            }
        });
        p.bump_version();
    }
    Ok(())
}

/// Adamax in one call.
#[allow(clippy::too_many_arguments)]
pub fn adamax_step(params: &[Tensor], grads: &[Tensor], exp_avgs: &[Tensor], exp_infs: &[Tensor], steps: &[Tensor], lr: f64, beta1: f64, beta2: f64, eps: f64, wd: f64, maximize: bool) -> Result<()> {
    let dt = check_lists("_adamax_step", params, &[grads, exp_avgs, exp_infs], steps)?;
    for (i, p) in params.iter().enumerate() {
        let step = bump_step(&steps[i])?;
        let clr = lr / (1.0 - beta1.powf(step));
        crate::dispatch_float!(dt, T => {
            let c = |x: f64| -> T { num_traits::cast::<f64, T>(x).unwrap_or_else(T::nan) };
            let (pp, gg, m, ei) = (slice_mut::<T>(p), slice_mut::<T>(&grads[i]), slice_mut::<T>(&exp_avgs[i]), slice_mut::<T>(&exp_infs[i]));
            let (w, wt, b2, epsc, neg, half) = (c(wd), c(1.0 - beta1), c(beta2), c(eps), c(-clr), c(0.5));
            for k in 0..pp.len() {
                let mut g = if maximize { -gg[k] } else { gg[k] };
                if wd != 0.0 { g = g + w * pp[k]; }
                let d = g - m[k];
                m[k] = if wt < half { m[k] + wt * d } else { g - d * (<T as num_traits::One>::one() - wt) };
                let decayed = ei[k] * b2;
                let cand = g.abs() + epsc;
                ei[k] = if decayed.is_nan() || cand.is_nan() { <T as Float>::nan() } else if cand > decayed { cand } else { decayed };
                pp[k] = pp[k] + (neg * m[k]) / ei[k];
            }
        });
        p.bump_version();
    }
    Ok(())
}

/// NAdam in one call; `mu_products` are 0-dim float32 tensors updated in place.
#[allow(clippy::too_many_arguments)]
pub fn nadam_step(
    params: &[Tensor], grads: &[Tensor], exp_avgs: &[Tensor], exp_avg_sqs: &[Tensor], mu_products: &[Tensor], steps: &[Tensor],
    beta1: f64, beta2: f64, lr: f64, wd: f64, momentum_decay: f64, eps: f64, decoupled: bool, maximize: bool,
) -> Result<()> {
    let dt = check_lists("_nadam_step", params, &[grads, exp_avgs, exp_avg_sqs], steps)?;
    if mu_products.len() != params.len() { return Err(Error::Runtime("_nadam_step: all tensor lists must have the same length".into())); }
    for (i, p) in params.iter().enumerate() {
        let step = bump_step(&steps[i])?;
        let bc2 = 1.0 - beta2.powf(step);
        let mu = beta1 * (1.0 - 0.5 * 0.96f64.powf(step * momentum_decay));
        let mu_next = beta1 * (1.0 - 0.5 * 0.96f64.powf((step + 1.0) * momentum_decay));
        // mu_product.mul_(mu) in the tensor's own dtype
        let mp_t = &mu_products[i];
        let mpv = crate::dtype::round_through(mp_t.dtype(), crate::dtype::round_through(mp_t.dtype(), mp_t.item_f64()?) * crate::dtype::round_through(mp_t.dtype(), mu));
        crate::ops::copy::fill_raw(mp_t, mpv)?;
        let mp_next = mpv * mu_next;
        let (c1, c2) = (-lr * (1.0 - mu) / (1.0 - mpv), (-lr * mu_next) / (1.0 - mp_next));
        crate::dispatch_float!(dt, T => {
            let c = |x: f64| -> T { num_traits::cast::<f64, T>(x).unwrap_or_else(<T as Float>::nan) };
            let (pp, gg, m, v) = (slice_mut::<T>(p), slice_mut::<T>(&grads[i]), slice_mut::<T>(&exp_avgs[i]), slice_mut::<T>(&exp_avg_sqs[i]));
            let (w, decay, wt, b2, one_m_b2, bc2c, epsc, k1, k2, half) = (c(wd), c(1.0 - lr * wd), c(1.0 - beta1), c(beta2), c(1.0 - beta2), c(bc2), c(eps), c(c1), c(c2), c(0.5));
            for k in 0..pp.len() {
                let mut g = if maximize { -gg[k] } else { gg[k] };
                if wd != 0.0 { if decoupled { pp[k] = pp[k] * decay } else { g = g + w * pp[k] } }
                let d = g - m[k];
                m[k] = if wt < half { m[k] + wt * d } else { g - d * (<T as num_traits::One>::one() - wt) };
                v[k] = v[k] * b2 + (one_m_b2 * g) * g;
                let denom = (v[k] / bc2c).sqrt() + epsc;
                pp[k] = pp[k] + (k1 * g) / denom;
                pp[k] = pp[k] + (k2 * m[k]) / denom;
            }
        });
        p.bump_version();
    }
    Ok(())
}

/// RAdam in one call (rectified adaptive step once the variance estimate is reliable).
#[allow(clippy::too_many_arguments)]
pub fn radam_step(
    params: &[Tensor], grads: &[Tensor], exp_avgs: &[Tensor], exp_avg_sqs: &[Tensor], steps: &[Tensor],
    beta1: f64, beta2: f64, lr: f64, wd: f64, eps: f64, decoupled: bool, maximize: bool,
) -> Result<()> {
    let dt = check_lists("_radam_step", params, &[grads, exp_avgs, exp_avg_sqs], steps)?;
    for (i, p) in params.iter().enumerate() {
        let step = bump_step(&steps[i])?;
        let (bc1, bc2) = (1.0 - beta1.powf(step), 1.0 - beta2.powf(step));
        let rho_inf = 2.0 / (1.0 - beta2) - 1.0;
        let rho_t = rho_inf - 2.0 * step * beta2.powf(step) / bc2;
        let rect = if rho_t > 5.0 { Some(((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)).sqrt()) } else { None };
        crate::dispatch_float!(dt, T => {
            let c = |x: f64| -> T { num_traits::cast::<f64, T>(x).unwrap_or_else(<T as Float>::nan) };
            let (pp, gg, m, v) = (slice_mut::<T>(p), slice_mut::<T>(&grads[i]), slice_mut::<T>(&exp_avgs[i]), slice_mut::<T>(&exp_avg_sqs[i]));
            let (w, decay, wt, b2, one_m_b2, bc1c, epsc, lrc, half) = (c(wd), c(1.0 - lr * wd), c(1.0 - beta1), c(beta2), c(1.0 - beta2), c(bc1), c(eps), c(lr), c(0.5));
            let (sq_bc2, rectc) = (c(bc2.sqrt()), c(rect.unwrap_or(0.0)));
            let one = <T as num_traits::One>::one();
            for k in 0..pp.len() {
                let mut g = if maximize { -gg[k] } else { gg[k] };
                if wd != 0.0 { if decoupled { pp[k] = pp[k] * decay } else { g = g + w * pp[k] } }
                let d = g - m[k];
                m[k] = if wt < half { m[k] + wt * d } else { g - d * (one - wt) };
                v[k] = v[k] * b2 + (one_m_b2 * g) * g;
                let bcm = m[k] / bc1c;
                let upd = if rect.is_some() {
                    let adaptive = (one / (v[k].sqrt() + epsc)) * sq_bc2;
                    bcm * lrc * adaptive * rectc
                } else {
                    bcm * lrc
                };
                pp[k] = pp[k] + (-one) * upd;
            }
        });
        p.bump_version();
    }
    Ok(())
}
