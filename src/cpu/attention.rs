//! Memory-efficient scaled dot-product attention: queries in blocks of `BQ` rows, so only a
//! [BQ, S] score block exists at a time; forward keeps each row's log-sum-exp and backward
//! recomputes the probabilities from it. Batches (batch x heads) spread over the pool.
use super::gemm::{gemm_checked, Mat};
use super::nn::NnElem;
use rayon::prelude::*;

const BQ: usize = 64;

pub use crate::backend::nn::AttnGeom;

impl AttnGeom {
    fn check(&self, q: usize, k: usize, v: usize) -> Result<(), String> {
        let m = |a: usize, b: usize, c: usize| a.checked_mul(b).and_then(|x| x.checked_mul(c));
        if m(self.b, self.l, self.e) != Some(q) || m(self.b, self.s, self.e) != Some(k) || m(self.b, self.s, self.ev) != Some(v) {
            return Err(format!("attention: buffer sizes do not match {:?}", self));
        }
        m(BQ, self.s, 1).ok_or("attention: size overflow")?;
        Ok(())
    }
}

/// Additive mask: batch entry `i` uses the [L, S] matrix at `data[offsets[i]..]`.
pub struct AttnMask<'a, T> { pub data: &'a [T], pub offsets: &'a [usize] }

/// Scores of query rows [i0, i0 + bq) of batch entry `bi` into `sc` [bq, S]: scale * q k^T + mask,
/// -inf above the diagonal when causal.
#[allow(clippy::too_many_arguments)]
fn scores<T: NnElem>(g: &AttnGeom, qb: &[T], kb: &[T], mask: Option<(&[T], usize)>, i0: usize, bq: usize, sc: &mut [T]) -> Result<(), String> {
    gemm_checked(sc, g.s, Mat::rm(&qb[i0 * g.e..(i0 + bq) * g.e], bq, g.e), Mat::rm_t(kb, g.s, g.e), false, gemm::Parallelism::None)?;
    let scale = T::of(g.scale);
    for r in 0..bq {
        let row = &mut sc[r * g.s..(r + 1) * g.s];
        for v in row.iter_mut() { *v = *v * scale; }
        if let Some((m, off)) = mask {
            let mr = &m[off + (i0 + r) * g.s..off + (i0 + r + 1) * g.s];
            for (v, &a) in row.iter_mut().zip(mr) { *v = *v + a; }
        }
        if g.causal { for v in row.iter_mut().skip(i0 + r + 1) { *v = T::neg_infinity(); } }
    }
    Ok(())
}

/// o [B, L, Ev] = softmax(scores) v, and lse [B, L] the log-sum-exp of every score row.
pub fn forward<T: NnElem>(g: &AttnGeom, q: &[T], k: &[T], v: &[T], mask: Option<&AttnMask<T>>, o: &mut [T], lse: &mut [T]) -> Result<(), String> {
    g.check(q.len(), k.len(), v.len())?;
    if o.len() != g.b * g.l * g.ev || lse.len() != g.b * g.l { return Err("attention: output sizes".into()); }
    if let Some(m) = mask {
        if m.offsets.len() != g.b || m.offsets.iter().any(|&off| off.checked_add(g.l * g.s).is_none_or(|e| e > m.data.len())) { return Err("attention: mask outside its buffer".into()); }
    }
    let one = |(bi, (ob, lb)): (usize, (&mut [T], &mut [T]))| -> Result<(), String> {
        let (qb, kb, vb) = (&q[bi * g.l * g.e..(bi + 1) * g.l * g.e], &k[bi * g.s * g.e..(bi + 1) * g.s * g.e], &v[bi * g.s * g.ev..(bi + 1) * g.s * g.ev]);
        let mut sc = vec![T::zero(); BQ.min(g.l) * g.s];
        for i0 in (0..g.l).step_by(BQ) {
            let bq = BQ.min(g.l - i0);
            let sc = &mut sc[..bq * g.s];
            scores(g, qb, kb, mask.map(|m| (m.data, m.offsets[bi])), i0, bq, sc)?;
            for r in 0..bq {
                let row = &mut sc[r * g.s..(r + 1) * g.s];
                let mut mx = T::neg_infinity();
                let mut nan = false;
                for &x in row.iter() { if x > mx { mx = x; } nan |= x.is_nan(); }
                if mx == T::neg_infinity() && !nan && g.masked_rows_zero {
                    // no visible key: zero probabilities, and an lse of +inf keeps them zero in backward
                    row.fill(T::zero());
                    lb[i0 + r] = T::infinity();
                    continue;
                }
                let shift = if mx == T::neg_infinity() { T::zero() } else { mx };
                let mut sum = T::zero();
                for x in row.iter_mut() { *x = (*x - shift).exp(); sum = sum + *x; }
                let inv = T::one() / sum;
                for x in row.iter_mut() { *x = if nan { T::nan() } else { *x * inv }; }
                lb[i0 + r] = if nan { T::nan() } else { shift + sum.ln() };
            }
            gemm_checked(&mut ob[i0 * g.ev..(i0 + bq) * g.ev], g.ev, Mat::rm(sc, bq, g.s), Mat::rm(vb, g.s, g.ev), false, gemm::Parallelism::None)?;
        }
        Ok(())
    };
    let work = o.par_chunks_mut(g.l * g.ev.max(1)).zip(lse.par_chunks_mut(g.l.max(1))).enumerate();
    if g.l == 0 || g.ev == 0 { return Ok(()); }
    if g.b > 1 && super::iter::parallel_ok() { work.try_for_each(one) } else { o.chunks_mut(g.l * g.ev).zip(lse.chunks_mut(g.l)).enumerate().try_for_each(one) }
}

/// Gradients of q, k, v from do [B, L, Ev], recomputing probabilities from lse.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: NnElem>(g: &AttnGeom, q: &[T], k: &[T], v: &[T], mask: Option<&AttnMask<T>>, o: &[T], lse: &[T], d_o: &[T],
    dq: &mut [T], dk: &mut [T], dv: &mut [T]) -> Result<(), String> {
    g.check(q.len(), k.len(), v.len())?;
    if o.len() != g.b * g.l * g.ev || d_o.len() != o.len() || lse.len() != g.b * g.l || dq.len() != q.len() || dk.len() != k.len() || dv.len() != v.len() {
        return Err("attention: gradient sizes".into());
    }
    if let Some(m) = mask {
        if m.offsets.len() != g.b || m.offsets.iter().any(|&off| off.checked_add(g.l * g.s).is_none_or(|e| e > m.data.len())) { return Err("attention: mask outside its buffer".into()); }
    }
    dq.fill(T::zero()); dk.fill(T::zero()); dv.fill(T::zero());
    if g.l == 0 || g.s == 0 { return Ok(()); }
    let scale = T::of(g.scale);
    let one = |(bi, ((dqb, dkb), dvb)): (usize, ((&mut [T], &mut [T]), &mut [T]))| -> Result<(), String> {
        let (qb, kb, vb) = (&q[bi * g.l * g.e..(bi + 1) * g.l * g.e], &k[bi * g.s * g.e..(bi + 1) * g.s * g.e], &v[bi * g.s * g.ev..(bi + 1) * g.s * g.ev]);
        let (ob, dob, lb) = (&o[bi * g.l * g.ev..(bi + 1) * g.l * g.ev], &d_o[bi * g.l * g.ev..(bi + 1) * g.l * g.ev], &lse[bi * g.l..(bi + 1) * g.l]);
        let n = BQ.min(g.l) * g.s;
        let (mut p, mut dp) = (vec![T::zero(); n], vec![T::zero(); n]);
        for i0 in (0..g.l).step_by(BQ) {
            let bq = BQ.min(g.l - i0);
            let (p, dp) = (&mut p[..bq * g.s], &mut dp[..bq * g.s]);
            scores(g, qb, kb, mask.map(|m| (m.data, m.offsets[bi])), i0, bq, p)?;
            for r in 0..bq {
                let l = lb[i0 + r];
                for x in p[r * g.s..(r + 1) * g.s].iter_mut() { *x = (*x - l).exp(); }
            }
            let dob_blk = &dob[i0 * g.ev..(i0 + bq) * g.ev];
            // dv += p^T do; dp = do v^T
            gemm_checked(dvb, g.ev, Mat::rm_t(p, bq, g.s), Mat::rm(dob_blk, bq, g.ev), true, gemm::Parallelism::None)?;
            gemm_checked(dp, g.s, Mat::rm(dob_blk, bq, g.ev), Mat::rm_t(vb, g.s, g.ev), false, gemm::Parallelism::None)?;
            // ds = p * (dp - rowsum(do * o)), scaled (kept in dp)
            for r in 0..bq {
                let d: T = (0..g.ev).fold(T::zero(), |a, j| a + dob_blk[r * g.ev + j] * ob[(i0 + r) * g.ev + j]);
                for j in 0..g.s { let x = r * g.s + j; dp[x] = p[x] * (dp[x] - d) * scale; }
            }
            gemm_checked(&mut dqb[i0 * g.e..(i0 + bq) * g.e], g.e, Mat::rm(dp, bq, g.s), Mat::rm(kb, g.s, g.e), false, gemm::Parallelism::None)?;
            gemm_checked(dkb, g.e, Mat::rm_t(dp, bq, g.s), Mat::rm(&qb[i0 * g.e..(i0 + bq) * g.e], bq, g.e), true, gemm::Parallelism::None)?;
        }
        Ok(())
    };
    let (lq, lk, lv) = ((g.l * g.e).max(1), (g.s * g.e).max(1), (g.s * g.ev).max(1));
    if g.b > 1 && super::iter::parallel_ok() {
        dq.par_chunks_mut(lq).zip(dk.par_chunks_mut(lk)).zip(dv.par_chunks_mut(lv)).enumerate().try_for_each(one)
    } else {
        dq.chunks_mut(lq).zip(dk.chunks_mut(lk)).zip(dv.chunks_mut(lv)).enumerate().try_for_each(one)
    }
}
