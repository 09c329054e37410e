//! LSTM, GRU and Elman RNN layer kernels: the whole time loop of one direction of one layer, forward and
//! backward through time. Per step the hidden projection is one GEMM and the gate maths one
//! pass; the input projection (x @ W_ih^T + biases) arrives precomputed for all steps.
//!
//! Layout (row-major, contiguous): `xg` [T, B, 4H] gate pre-activations from the input, in
//! PyTorch's gate order (input, forget, cell, output); `w_hh` [4H, H]; `h0`, `c0` [B, H].
use super::gemm::{gemm_checked, parallelism, Mat};
use super::nn::{relu_in_place, sigmoid_in_place, tanh_in_place, NnElem};

/// Parallelism for the per-step products: each is small (tens of microseconds) and runs once
/// per time step, so splitting it across the pool only pays for larger ones (measured: a
/// 32x512x128 step product was slower on two threads than on one).
fn step_parallelism(flops: usize) -> gemm::Parallelism {
    if flops >= 1 << 23 { parallelism(flops) } else { gemm::Parallelism::None }
}

pub use crate::backend::nn::LstmGeom;

impl LstmGeom {
    fn gates(&self) -> usize { 4 * self.hidden }
    /// Element counts of one step's gate block and state block, and of the whole run's.
    fn sizes(&self) -> Option<(usize, usize, usize, usize)> {
        let g = self.batch.checked_mul(self.hidden)?.checked_mul(4)?;
        let s = self.batch.checked_mul(self.hidden)?;
        Some((g, s, g.checked_mul(self.steps)?, s.checked_mul(self.steps)?))
    }
}

fn check(what: &str, got: usize, want: usize) -> Result<(), String> {
    if got != want { return Err(format!("lstm {}: {} elements, expected {}", what, got, want)); }
    Ok(())
}

/// Forward. Writes `hs` [T, B, H] (every step's hidden state), `acts` [T, B, 4H] (the gates
/// after their nonlinearities, saved for backward) and `cs` [T, B, H] (every step's cell state).
#[allow(clippy::too_many_arguments)]
pub fn lstm_fwd<T: NnElem + num_traits::Zero + num_traits::One>(
    g: LstmGeom, xg: &[T], h0: &[T], c0: &[T], w_hh: &[T], hs: &mut [T], acts: &mut [T], cs: &mut [T],
) -> Result<(), String> {
    let (gs, ss, gall, sall) = g.sizes().ok_or("lstm: size overflow")?;
    check("input gates", xg.len(), gall)?; check("acts", acts.len(), gall)?;
    check("h0", h0.len(), ss)?; check("c0", c0.len(), ss)?;
    check("hidden states", hs.len(), sall)?; check("cell states", cs.len(), sall)?;
    check("weight_hh", w_hh.len(), g.gates().checked_mul(g.hidden).ok_or("lstm: size overflow")?)?;
    let (b, h, g4) = (g.batch, g.hidden, g.gates());
    if gs == 0 { return Ok(()); }
    let par = step_parallelism(b.saturating_mul(g4).saturating_mul(h));
    for t in 0..g.steps {
        let (done_h, rest_h) = hs.split_at_mut(t * ss);
        let (done_c, rest_c) = cs.split_at_mut(t * ss);
        let h_prev: &[T] = if t == 0 { h0 } else { &done_h[(t - 1) * ss..] };
        let c_prev: &[T] = if t == 0 { c0 } else { &done_c[(t - 1) * ss..] };
        let a = &mut acts[t * gs..(t + 1) * gs];
        a.copy_from_slice(&xg[t * gs..(t + 1) * gs]);
        gemm_checked(a, g4, Mat::rm(h_prev, b, h), Mat::rm_t(w_hh, g4, h), true, par)?;
        let (h_out, c_out) = (&mut rest_h[..ss], &mut rest_c[..ss]);
        for r in 0..b {
            // gate nonlinearities over whole runs (vectorised for f32), then the cell update
            let ar = &mut a[r * g4..(r + 1) * g4];
            sigmoid_in_place(&mut ar[..2 * h]);
            tanh_in_place(&mut ar[2 * h..3 * h]);
            sigmoid_in_place(&mut ar[3 * h..]);
            let (ig, rest) = ar.split_at(h);
            let (fg, rest) = rest.split_at(h);
            let (gg, og) = rest.split_at(h);
            let (cp, co, ho) = (&c_prev[r * h..(r + 1) * h], &mut c_out[r * h..(r + 1) * h], &mut h_out[r * h..(r + 1) * h]);
            for ((((c, &cp), &i), &f), &g) in co.iter_mut().zip(cp).zip(ig).zip(fg).zip(gg) { *c = f * cp + i * g; }
            ho.copy_from_slice(co);
            tanh_in_place(ho);
            for (hv, &o) in ho.iter_mut().zip(og) { *hv = o * *hv; }
        }
    }
    Ok(())
}

/// Backward through time. `dhs` [T, B, H] is the gradient of every step's output, `dh_last`
/// and `dc_last` [B, H] those of the final states. Writes `dxg` [T, B, 4H] (gradient of the
/// gate pre-activations, hence of the input projection), `dh0`, `dc0` [B, H] and `dw_hh` [4H, H].
#[allow(clippy::too_many_arguments)]
pub fn lstm_bwd<T: NnElem + num_traits::Zero + num_traits::One>(
    g: LstmGeom, dhs: &[T], dh_last: Option<&[T]>, dc_last: Option<&[T]>, h0: &[T], c0: &[T], w_hh: &[T],
    hs: &[T], acts: &[T], cs: &[T], dxg: &mut [T], dh0: &mut [T], dc0: &mut [T], dw_hh: &mut [T],
) -> Result<(), String> {
    let (gs, ss, gall, sall) = g.sizes().ok_or("lstm: size overflow")?;
    check("output grad", dhs.len(), sall)?; check("hidden states", hs.len(), sall)?; check("cell states", cs.len(), sall)?;
    check("acts", acts.len(), gall)?; check("input gate grad", dxg.len(), gall)?;
    for (n, v) in [("h0", h0.len()), ("c0", c0.len()), ("h0 grad", dh0.len()), ("c0 grad", dc0.len())] { check(n, v, ss)?; }
    if let Some(d) = dh_last { check("h_n grad", d.len(), ss)?; }
    if let Some(d) = dc_last { check("c_n grad", d.len(), ss)?; }
    let (b, h, g4) = (g.batch, g.hidden, g.gates());
    check("weight_hh", w_hh.len(), g4.checked_mul(h).ok_or("lstm: size overflow")?)?;
    check("weight_hh grad", dw_hh.len(), g4 * h)?;
    dw_hh.fill(T::zero());
    // running gradients of the hidden and cell state flowing into step t from step t + 1
    let mut dh_next: Vec<T> = dh_last.map_or_else(|| vec![T::zero(); ss], |d| d.to_vec());
    let mut dc_next: Vec<T> = dc_last.map_or_else(|| vec![T::zero(); ss], |d| d.to_vec());
    if gs == 0 { dh0.copy_from_slice(&dh_next); dc0.copy_from_slice(&dc_next); return Ok(()); }
    let par = step_parallelism(b.saturating_mul(g4).saturating_mul(h));
    for t in (0..g.steps).rev() {
        let h_prev = if t == 0 { h0 } else { &hs[(t - 1) * ss..t * ss] };
        let c_prev = if t == 0 { c0 } else { &cs[(t - 1) * ss..t * ss] };
        let (a, c_t, dh_t) = (&acts[t * gs..(t + 1) * gs], &cs[t * ss..(t + 1) * ss], &dhs[t * ss..(t + 1) * ss]);
        let dgates = &mut dxg[t * gs..(t + 1) * gs];
        let mut tc = vec![T::zero(); h];
        for r in 0..b {
            let (ar, dr) = (&a[r * g4..(r + 1) * g4], &mut dgates[r * g4..(r + 1) * g4]);
            tc.copy_from_slice(&c_t[r * h..(r + 1) * h]);
            tanh_in_place(&mut tc);
            for j in 0..h {
                let k = r * h + j;
                let (i, f, gg, o) = (ar[j], ar[h + j], ar[2 * h + j], ar[3 * h + j]);
                let tc = tc[j];
                let dh = dh_t[k] + dh_next[k];
                let dc = dc_next[k] + dh * o * (T::one() - tc * tc);
                dr[j] = dc * gg * i * (T::one() - i);
                dr[h + j] = dc * c_prev[k] * f * (T::one() - f);
                dr[2 * h + j] = dc * i * (T::one() - gg * gg);
                dr[3 * h + j] = dh * tc * o * (T::one() - o);
                dc_next[k] = dc * f;
            }
        }
        // dh_{t-1} = dgates @ W_hh; dW_hh += dgates^T @ h_{t-1}
        gemm_checked(&mut dh_next, h, Mat::rm(&*dgates, b, g4), Mat::rm(w_hh, g4, h), false, par)?;
        gemm_checked(dw_hh, h, Mat::rm_t(&*dgates, b, g4), Mat::rm(h_prev, b, h), true, par)?;
    }
    dh0.copy_from_slice(&dh_next);
    dc0.copy_from_slice(&dc_next);
    Ok(())
}

/// GRU forward. `gi` [T, B, 3H] holds the input projections with b_ih (gate order reset,
/// update, new), `w_hh` [3H, H], `b_hh` [3H] or none. Writes `hs` [T, B, H] and `saved`
/// [T, B, 4H]: r, z, n and the hidden projection of the new gate (h W_hn^T + b_hn), which
/// backward needs.
#[allow(clippy::too_many_arguments)]
pub fn gru_fwd<T: NnElem + num_traits::Zero + num_traits::One>(
    g: LstmGeom, gi: &[T], h0: &[T], w_hh: &[T], b_hh: Option<&[T]>, hs: &mut [T], saved: &mut [T],
) -> Result<(), String> {
    let (b, h) = (g.batch, g.hidden);
    let g3 = h.checked_mul(3).ok_or("gru: size overflow")?;
    let ss = b.checked_mul(h).ok_or("gru: size overflow")?;
    let gs = ss.checked_mul(3).ok_or("gru: size overflow")?;
    check("input gates", gi.len(), gs.checked_mul(g.steps).ok_or("gru: size overflow")?)?;
    check("saved gates", saved.len(), ss.checked_mul(4 * g.steps).ok_or("gru: size overflow")?)?;
    check("h0", h0.len(), ss)?; check("hidden states", hs.len(), ss * g.steps)?;
    check("weight_hh", w_hh.len(), g3.checked_mul(h).ok_or("gru: size overflow")?)?;
    if let Some(bb) = b_hh { check("bias_hh", bb.len(), g3)?; }
    if ss == 0 { return Ok(()); }
    let par = step_parallelism(b.saturating_mul(g3).saturating_mul(h));
    let mut gh = vec![T::zero(); gs];
    for t in 0..g.steps {
        let (done, rest) = hs.split_at_mut(t * ss);
        let h_prev: &[T] = if t == 0 { h0 } else { &done[(t - 1) * ss..] };
        for row in gh.chunks_mut(g3) { match b_hh { Some(bb) => row.copy_from_slice(bb), None => row.fill(T::zero()) } }
        gemm_checked(&mut gh, g3, Mat::rm(h_prev, b, h), Mat::rm_t(w_hh, g3, h), true, par)?;
        let (h_out, sv) = (&mut rest[..ss], &mut saved[t * 4 * ss..(t + 1) * 4 * ss]);
        for r in 0..b {
            let (gir, ghr) = (&gi[(t * b + r) * g3..(t * b + r + 1) * g3], &gh[r * g3..(r + 1) * g3]);
            let s = &mut sv[r * 4 * h..(r + 1) * 4 * h];
            for j in 0..2 * h { s[j] = gir[j] + ghr[j]; }
            sigmoid_in_place(&mut s[..2 * h]);
            for j in 0..h { s[3 * h + j] = ghr[2 * h + j]; s[2 * h + j] = gir[2 * h + j] + s[j] * ghr[2 * h + j]; }
            tanh_in_place(&mut s[2 * h..3 * h]);
            let (hp, ho) = (&h_prev[r * h..(r + 1) * h], &mut h_out[r * h..(r + 1) * h]);
            for j in 0..h { let (z, n) = (s[h + j], s[2 * h + j]); ho[j] = (hp[j] - n) * z + n; }
        }
    }
    Ok(())
}

/// GRU backward through time: writes `dgi` [T, B, 3H], `dh0` [B, H], `dw_hh` [3H, H] and,
/// when given, `db_hh` [3H].
#[allow(clippy::too_many_arguments)]
pub fn gru_bwd<T: NnElem + num_traits::Zero + num_traits::One>(
    g: LstmGeom, dhs: &[T], dh_last: Option<&[T]>, h0: &[T], w_hh: &[T], hs: &[T], saved: &[T],
    dgi: &mut [T], dh0: &mut [T], dw_hh: &mut [T], mut db_hh: Option<&mut [T]>,
) -> Result<(), String> {
    let (b, h) = (g.batch, g.hidden);
    let g3 = h.checked_mul(3).ok_or("gru: size overflow")?;
    let ss = b.checked_mul(h).ok_or("gru: size overflow")?;
    let gs = ss.checked_mul(3).ok_or("gru: size overflow")?;
    let sall = ss.checked_mul(g.steps).ok_or("gru: size overflow")?;
    check("output grad", dhs.len(), sall)?; check("hidden states", hs.len(), sall)?;
    check("saved gates", saved.len(), sall.checked_mul(4).ok_or("gru: size overflow")?)?;
    check("input gate grad", dgi.len(), gs.checked_mul(g.steps).ok_or("gru: size overflow")?)?;
    check("h0", h0.len(), ss)?; check("h0 grad", dh0.len(), ss)?;
    check("weight_hh", w_hh.len(), g3.checked_mul(h).ok_or("gru: size overflow")?)?;
    check("weight_hh grad", dw_hh.len(), g3 * h)?;
    if let Some(d) = dh_last { check("h_n grad", d.len(), ss)?; }
    if let Some(d) = db_hh.as_deref() { check("bias_hh grad", d.len(), g3)?; }
    dw_hh.fill(T::zero());
    if let Some(d) = db_hh.as_deref_mut() { d.fill(T::zero()); }
    let mut dh_next: Vec<T> = dh_last.map_or_else(|| vec![T::zero(); ss], |d| d.to_vec());
    if ss == 0 { dh0.copy_from_slice(&dh_next); return Ok(()); }
    let par = step_parallelism(b.saturating_mul(g3).saturating_mul(h));
    let mut dgh = vec![T::zero(); gs];
    for t in (0..g.steps).rev() {
        let h_prev = if t == 0 { h0 } else { &hs[(t - 1) * ss..t * ss] };
        let (sv, dh_t) = (&saved[t * 4 * ss..(t + 1) * 4 * ss], &dhs[t * ss..(t + 1) * ss]);
        let dgi_t = &mut dgi[t * gs..(t + 1) * gs];
        for r in 0..b {
            let s = &sv[r * 4 * h..(r + 1) * 4 * h];
            let (di, dg) = (&mut dgi_t[r * g3..(r + 1) * g3], &mut dgh[r * g3..(r + 1) * g3]);
            for j in 0..h {
                let k = r * h + j;
                let (rr, z, n, ghn) = (s[j], s[h + j], s[2 * h + j], s[3 * h + j]);
                let dh = dh_t[k] + dh_next[k];
                let dn_pre = dh * (T::one() - z) * (T::one() - n * n);
                let dz_pre = dh * (h_prev[k] - n) * z * (T::one() - z);
                let dr_pre = dn_pre * ghn * rr * (T::one() - rr);
                di[j] = dr_pre; di[h + j] = dz_pre; di[2 * h + j] = dn_pre;
                dg[j] = dr_pre; dg[h + j] = dz_pre; dg[2 * h + j] = dn_pre * rr;
                dh_next[k] = dh * z;
            }
        }
        // dh_{t-1} = dh * z + dgh @ W_hh; dW_hh += dgh^T @ h_{t-1}; db_hh += column sums of dgh
        gemm_checked(&mut dh_next, h, Mat::rm(&dgh, b, g3), Mat::rm(w_hh, g3, h), true, par)?;
        gemm_checked(dw_hh, h, Mat::rm_t(&dgh, b, g3), Mat::rm(h_prev, b, h), true, par)?;
        if let Some(d) = db_hh.as_deref_mut() {
            for row in dgh.chunks(g3) { for (o, &v) in d.iter_mut().zip(row) { *o = *o + v; } }
        }
    }
    dh0.copy_from_slice(&dh_next);
    Ok(())
}

/// Elman RNN forward (`nn.RNN`, tanh or ReLU): `xg` [T, B, H] holds the input projections
/// with both biases, `w_hh` [H, H]; writes `hs` [T, B, H], h_t = act(xg_t + h_{t-1} W_hh^T).
pub fn rnn_fwd<T: NnElem + num_traits::Zero + num_traits::One>(
    g: LstmGeom, relu: bool, xg: &[T], h0: &[T], w_hh: &[T], hs: &mut [T],
) -> Result<(), String> {
    let (b, h) = (g.batch, g.hidden);
    let ss = b.checked_mul(h).ok_or("rnn: size overflow")?;
    let sall = ss.checked_mul(g.steps).ok_or("rnn: size overflow")?;
    check("input gates", xg.len(), sall)?; check("hidden states", hs.len(), sall)?; check("h0", h0.len(), ss)?;
    check("weight_hh", w_hh.len(), h.checked_mul(h).ok_or("rnn: size overflow")?)?;
    if ss == 0 { return Ok(()); }
    let par = step_parallelism(b.saturating_mul(h).saturating_mul(h));
    for t in 0..g.steps {
        let (done, rest) = hs.split_at_mut(t * ss);
        let h_prev: &[T] = if t == 0 { h0 } else { &done[(t - 1) * ss..] };
        let out = &mut rest[..ss];
        out.copy_from_slice(&xg[t * ss..(t + 1) * ss]);
        gemm_checked(out, h, Mat::rm(h_prev, b, h), Mat::rm_t(w_hh, h, h), true, par)?;
        if relu { relu_in_place(out) } else { tanh_in_place(out) }
    }
    Ok(())
}

/// Elman RNN backward through time from the saved outputs `hs`: writes `dxg` [T, B, H] (the
/// gradient of the pre-activations), `dh0` [B, H] and `dw_hh` [H, H].
#[allow(clippy::too_many_arguments)]
pub fn rnn_bwd<T: NnElem + num_traits::Zero + num_traits::One>(
    g: LstmGeom, relu: bool, dhs: &[T], dh_last: Option<&[T]>, h0: &[T], w_hh: &[T], hs: &[T],
    dxg: &mut [T], dh0: &mut [T], dw_hh: &mut [T],
) -> Result<(), String> {
    let (b, h) = (g.batch, g.hidden);
    let ss = b.checked_mul(h).ok_or("rnn: size overflow")?;
    let sall = ss.checked_mul(g.steps).ok_or("rnn: size overflow")?;
    check("output grad", dhs.len(), sall)?; check("hidden states", hs.len(), sall)?; check("input gate grad", dxg.len(), sall)?;
    check("h0", h0.len(), ss)?; check("h0 grad", dh0.len(), ss)?;
    let hh = h.checked_mul(h).ok_or("rnn: size overflow")?;
    check("weight_hh", w_hh.len(), hh)?; check("weight_hh grad", dw_hh.len(), hh)?;
    if let Some(d) = dh_last { check("h_n grad", d.len(), ss)?; }
    dw_hh.fill(T::zero());
    let mut dh_next: Vec<T> = dh_last.map_or_else(|| vec![T::zero(); ss], |d| d.to_vec());
    if ss == 0 { dh0.copy_from_slice(&dh_next); return Ok(()); }
    let par = step_parallelism(b.saturating_mul(h).saturating_mul(h));
    for t in (0..g.steps).rev() {
        let h_prev = if t == 0 { h0 } else { &hs[(t - 1) * ss..t * ss] };
        let (h_t, dh_t) = (&hs[t * ss..(t + 1) * ss], &dhs[t * ss..(t + 1) * ss]);
        let dpre = &mut dxg[t * ss..(t + 1) * ss];
        for k in 0..ss {
            let dh = dh_t[k] + dh_next[k];
            // the derivative from the output: tanh' = 1 - h²; relu's passes the gradient unless
            // h <= 0 (so at 0 it is 0 and a NaN output passes it, as PyTorch's threshold_backward)
            dpre[k] = if relu { if h_t[k] <= T::zero() { T::zero() } else { dh } } else { dh * (T::one() - h_t[k] * h_t[k]) };
        }
        // dh_{t-1} = dpre @ W_hh; dW_hh += dpre^T @ h_{t-1}
        gemm_checked(&mut dh_next, h, Mat::rm(&*dpre, b, h), Mat::rm(w_hh, h, h), false, par)?;
        gemm_checked(dw_hh, h, Mat::rm_t(&*dpre, b, h), Mat::rm(h_prev, b, h), true, par)?;
    }
    dh0.copy_from_slice(&dh_next);
    Ok(())
}
