//! The CPU side of the indexing contract (`backend::index::IndexKernels`). Every size and
//! index is re-checked here before a slice is cut, so a bad argument is an error, never a
//! panic or an out-of-bounds access.
use super::{check_outputs, read, strided, write, Cpu};
use crate::backend::index::{IndexKernels, Reduce};
use crate::dtype::Elem;
use crate::error::Result;
use crate::tensor::Tensor;
use rayon::prelude::*;

fn geometry_err(what: &str) -> crate::error::Error { crate::rt_err!("internal: {} got inconsistent sizes", what) }

/// `a * b * c` or an error on overflow.
fn product(v: &[usize], what: &str) -> Result<usize> {
    v.iter().try_fold(1usize, |a, &b| a.checked_mul(b)).ok_or_else(|| geometry_err(what))
}

/// The combined value of a scatter with a reduction: `base` (None at a position's first write
/// without include_self) combined with `v`.
fn combine<T: Elem>(red: Reduce, base: Option<T>, v: T) -> T {
    match (red, base) {
        (_, None) | (Reduce::None, _) => v,
        (Reduce::Add | Reduce::Mean, Some(c)) => c.add_scaled(v, 1.0),
        // integers multiply wrapping in int64 (truncated to the element type), as PyTorch's do
        (Reduce::Mul, Some(c)) => {
            if T::DTYPE.is_float() { T::from_f64(c.to_f64() * v.to_f64()) }
            else if T::DTYPE.is_complex() {
                let (a, b, x, y) = (c.to_f64(), c.im(), v.to_f64(), v.im());
                T::from_parts(a * x - b * y, a * y + b * x)
            } else { T::from_i64(c.to_i64().wrapping_mul(v.to_i64())) }
        }
        (Reduce::Amax, Some(c)) => if v > c || v.to_f64().is_nan() { v } else { c },
        (Reduce::Amin, Some(c)) => if v < c || v.to_f64().is_nan() { v } else { c },
    }
}

fn scatter_reduce_at<T: Elem>(dst: &Tensor, offsets: &[isize], vals: &[T], red: Reduce, include_self: bool) -> Result<()> {
    let db = dst.body();
    if red == Reduce::None || (red == Reduce::Add && include_self) {
        // in order, each write seeing the previous ones (repeated offsets accumulate)
        let add = red == Reduce::Add;
        // float32 sums in f32, as PyTorch's (add_scaled rounds through f64)
        if let (Some(vals), true) = (super::nn::as_f32(vals), add) { return strided::scatter_at::<f32>(&db, offsets, vals, |cur, v| cur + v); }
        return strided::scatter_at(&db, offsets, vals, move |cur, v| if add { cur.add_scaled(v, 1.0) } else { v });
    }
    let mut old = vec![T::default(); offsets.len()];
    strided::gather_at(&db, offsets, &mut old)?;
    // each position's running value and count, in first-seen order
    let mut slot: std::collections::HashMap<isize, usize> = Default::default();
    let mut state: Vec<(isize, T, usize)> = Vec::new();
    for (i, &o) in offsets.iter().enumerate() {
        match slot.get(&o) {
            Some(&s) => { let (_, cur, n) = state[s]; state[s] = (o, combine(red, Some(cur), vals[i]), n + 1); }
            None => {
                slot.insert(o, state.len());
                let base = include_self.then_some(old[i]);
                state.push((o, combine(red, base, vals[i]), if include_self { 2 } else { 1 }));
            }
        }
    }
    if red == Reduce::Mean {
        for (_, v, n) in state.iter_mut() {
            let q = v.to_f64() / *n as f64;
            *v = T::from_f64(if T::DTYPE.is_float() { q } else { q.floor() });
        }
    }
    let (offs, finals): (Vec<isize>, Vec<T>) = state.into_iter().map(|(o, v, _)| (o, v)).unzip();
    strided::scatter_at(&db, &offs, &finals, |_, v| v)
}

/// (k, n) for an index kernel between `full` [outer, n, inner] and `picked` [outer, k, inner]
/// with k = idx.numel(); errors unless both sizes match exactly.
fn index_rows(full: &Tensor, picked: &Tensor, idx: &Tensor, outer: usize, inner: usize, what: &str) -> Result<(usize, usize)> {
    let k = idx.numel();
    let n = if outer == 0 || inner == 0 { 0 } else { full.numel() / outer / inner };
    if product(&[outer, n, inner], what)? != full.numel() || product(&[outer, k, inner], what)? != picked.numel() {
        return Err(geometry_err(what));
    }
    Ok((k, n))
}

/// A key whose unsigned order is the sort order of a row's values: floats by value with every
/// NaN above +inf and -0.0 equal to 0.0, integers by value; complemented when descending. Two
/// elements tie exactly when their keys are equal, and ties keep their positions' order (the
/// sorts below are stable), so (key, position) orders a row totally, as a stable sort of the
/// values would.
#[inline(always)]
fn order_key<T: Elem>(x: T, descending: bool) -> u64 {
    let key = if T::DTYPE.is_float() {
        let v = x.to_f64();
        if v.is_nan() {
            u64::MAX
        } else {
            // + 0.0 turns -0.0 into 0.0; negative values' bits are flipped so they count down
            let bits = (v + 0.0).to_bits();
            if bits >> 63 == 1 { !bits } else { bits | 1 << 63 }
        }
    } else {
        (x.to_i64() as u64) ^ 1 << 63
    };
    if descending { !key } else { key }
}

/// Rows up to this length are sorted by comparison (the radix sort's fixed passes cost more).
const RADIX_MIN_LEN: usize = 256;

/// Sorts one row's positions: stable, NaN largest. Long rows by a stable radix sort of the
/// keys (8-bit digits, passes whose digit is the same for every key skipped: a float32's low
/// mantissa bytes, an int's high ones): 2^19 float32 in one row took 105 ms by comparison
/// sort, twice PyTorch's time.
fn sort_row<T: Elem>(row: &[T], descending: bool, out: &mut [i64]) {
    let mut keyed: Vec<(u64, usize)> = row.iter().enumerate().map(|(i, &x)| (order_key(x, descending), i)).collect();
    if keyed.len() < RADIX_MIN_LEN {
        // (key, position) pairs are distinct, so the unstable sort gives the stable order
        keyed.sort_unstable();
    } else {
        radsort::sort_by_key(&mut keyed, |p| p.0);
    }
    for (o, &(_, p)) in out.iter_mut().zip(&keyed) { *o = p as i64; }
}

/// Elements `topk_row` tests against the k-th best at once.
const TOPK_CHUNK: usize = 64;

/// Largest k that `topk_row` selects in one pass over the row.
const TOPK_SCAN_MAX_K: usize = 64;

/// The first out.len() (k, 0 < k <= row.len()) positions of `sort_row`'s order. A small k is
/// kept in one pass, best first, where almost every element is rejected by one comparison
/// with the k-th best so far (2^19 float32, k = 10: 9.6 ms by selection, 6x PyTorch's time);
/// otherwise the k-th is selected in linear time and only the k before it are sorted.
fn topk_row<T: Elem>(row: &[T], descending: bool, out: &mut [i64]) {
    let k = out.len();
    if k <= TOPK_SCAN_MAX_K && k * 4 <= row.len() {
        let mut best: Vec<(u64, usize)> = Vec::with_capacity(k + 1);
        super::simd::vectorized(#[inline(always)] || {
            for (c, chunk) in row.chunks(TOPK_CHUNK).enumerate() {
                // a chunk with no key below the k-th best's is skipped after one vector pass
                // (a later position enters only when strictly before the k-th: ties keep the
                // earlier one)
                if best.len() == k {
                    let worst = best[k - 1].0;
                    if !chunk.iter().fold(false, |hit, &x| hit | (order_key(x, descending) < worst)) { continue; }
                }
                for (j, &x) in chunk.iter().enumerate() {
                    let key = order_key(x, descending);
                    if best.len() == k && key >= best[k - 1].0 { continue; }
                    let at = best.partition_point(|&(b, _)| b <= key);
                    best.insert(at, (key, c * TOPK_CHUNK + j));
                    best.truncate(k);
                }
            }
        });
        for (o, &(_, p)) in out.iter_mut().zip(&best) { *o = p as i64; }
        return;
    }
    let mut keyed: Vec<(u64, usize)> = row.iter().enumerate().map(|(i, &x)| (order_key(x, descending), i)).collect();
    if k < keyed.len() { keyed.select_nth_unstable(k - 1); }
    keyed[..k].sort_unstable();
    for (o, &(_, p)) in out.iter_mut().zip(&keyed[..k]) { *o = p as i64; }
}

impl IndexKernels for Cpu {
    fn gather_at(&self, out: &Tensor, src: &Tensor, offsets: &[isize]) -> Result<()> {
        check_outputs(&[out], &[src])?;
        let sb = src.body();
        crate::dispatch!(src.dtype(), T => write::<T, _>(out, |d| strided::gather_at(&sb, offsets, d))?)
    }

    fn scatter_at(&self, dst: &Tensor, offsets: &[isize], vals: &Tensor, red: Reduce, include_self: bool) -> Result<()> {
        if std::sync::Arc::ptr_eq(&dst.storage(), &vals.storage()) { crate::bail!("internal: scatter values share the destination's storage"); }
        crate::dispatch!(dst.dtype(), T => read::<T, _>(vals, |v| {
            if v.len() != offsets.len() { return Err(geometry_err("scatter")); }
            scatter_reduce_at::<T>(dst, offsets, v, red, include_self)
        })?)
    }

    fn index_select(&self, out: &Tensor, x: &Tensor, idx: &Tensor, outer: usize, inner: usize) -> Result<Option<i64>> {
        check_outputs(&[out], &[x, idx])?;
        let (k, n) = index_rows(x, out, idx, outer, inner, "index_select")?;
        read::<i64, _>(idx, |iv| {
            if outer * inner > 0 && iv.iter().fold(false, |bad, &v| bad | (v as u64 >= n as u64)) {
                return Ok(iv.iter().copied().find(|&v| v as u64 >= n as u64));
            }
            crate::dispatch!(x.dtype(), T => read::<T, _>(x, |src| write::<T, _>(out, |dst| {
                if inner == 1 {
                    // single elements: a plain gather (a slice copy per element was a memcpy
                    // call each, 5x PyTorch's time)
                    for o in 0..outer {
                        let (d, s) = (&mut dst[o * k..(o + 1) * k], &src[o * n..(o + 1) * n]);
                        for (x, &v) in d.iter_mut().zip(iv) { *x = s[v as usize]; }
                    }
                    return;
                }
                for o in 0..outer {
                    for (j, &v) in iv.iter().enumerate() {
                        let (d0, s0) = ((o * k + j) * inner, (o * n + v as usize) * inner);
                        dst[d0..d0 + inner].copy_from_slice(&src[s0..s0 + inner]);
                    }
                }
            }))?)?;
            Ok(None)
        })?
    }

    fn index_add(&self, out: &Tensor, src: &Tensor, idx: &Tensor, outer: usize, inner: usize, alpha: f64) -> Result<Option<i64>> {
        check_outputs(&[out], &[src, idx])?;
        let (k, n) = index_rows(out, src, idx, outer, inner, "index_add")?;
        read::<i64, _>(idx, |iv| {
            if outer * inner > 0 && iv.iter().fold(false, |bad, &v| bad | (v as u64 >= n as u64)) {
                return Ok(iv.iter().copied().find(|&v| v as u64 >= n as u64));
            }
            crate::dispatch!(out.dtype(), T => read::<T, _>(src, |s| write::<T, _>(out, |d| {
                if inner == 1 {
                    // single elements: no slice pair per index; float32 with alpha 1 adds in
                    // f32 as PyTorch does (add_scaled rounds through f64)
                    if let (Some(d), Some(s), true) = (super::nn::as_f32_mut(d), super::nn::as_f32(s), alpha == 1.0) {
                        for o in 0..outer {
                            let (dr, sr) = (&mut d[o * n..(o + 1) * n], &s[o * k..(o + 1) * k]);
                            for (&v, &x) in iv.iter().zip(sr) { dr[v as usize] += x; }
                        }
                        return;
                    }
                    for o in 0..outer {
                        let (dr, sr) = (&mut d[o * n..(o + 1) * n], &s[o * k..(o + 1) * k]);
                        for (&v, &x) in iv.iter().zip(sr) { let p = &mut dr[v as usize]; *p = p.add_scaled(x, alpha); }
                    }
                    return;
                }
                for o in 0..outer {
                    for (j, &v) in iv.iter().enumerate() {
                        let (d0, s0) = ((o * n + v as usize) * inner, (o * k + j) * inner);
                        for (p, &x) in d[d0..d0 + inner].iter_mut().zip(&s[s0..s0 + inner]) { *p = p.add_scaled(x, alpha); }
                    }
                }
            }))?)?;
            Ok(None)
        })?
    }

    fn sort_rows(&self, idx: &Tensor, x: &Tensor, len: usize, descending: bool) -> Result<()> {
        check_outputs(&[idx], &[x])?;
        if idx.numel() != x.numel() || (len == 0 && x.numel() != 0) || (len > 0 && x.numel() % len != 0) { return Err(geometry_err("sort")); }
        if len == 0 { return Ok(()); }
        crate::dispatch!(x.dtype(), T => read::<T, _>(x, |src| write::<i64, _>(idx, |ip| {
            let run = |(row, out): (&[T], &mut [i64])| sort_row(row, descending, out);
            if x.numel() >= super::iter::GRAIN && super::iter::parallel_ok() {
                src.par_chunks(len).zip(ip.par_chunks_mut(len)).for_each(run)
            } else {
                src.chunks(len).zip(ip.chunks_mut(len)).for_each(run)
            }
        }))?)
    }

    fn topk_rows(&self, idx: &Tensor, x: &Tensor, len: usize, k: usize, descending: bool) -> Result<()> {
        check_outputs(&[idx], &[x])?;
        if k == 0 || k > len || x.numel() % len != 0 || product(&[x.numel() / len, k], "topk")? != idx.numel() { return Err(geometry_err("topk")); }
        crate::dispatch!(x.dtype(), T => read::<T, _>(x, |src| write::<i64, _>(idx, |ip| {
            let run = |(row, out): (&[T], &mut [i64])| topk_row(row, descending, out);
            if x.numel() >= super::iter::GRAIN && super::iter::parallel_ok() {
                src.par_chunks(len).zip(ip.par_chunks_mut(k)).for_each(run)
            } else {
                src.chunks(len).zip(ip.chunks_mut(k)).for_each(run)
            }
        }))?)
    }

    fn unfold_backward(&self, z: &Tensor, g: &Tensor, n: usize, inner: usize, size: usize, step: usize) -> Result<()> {
        check_outputs(&[z], &[g])?;
        let nwin = if n >= size && step > 0 { (n - size) / step + 1 } else { 0 };
        let zrow = product(&[n, inner], "unfold_backward")?;
        let grow = product(&[nwin, inner, size], "unfold_backward")?;
        if zrow == 0 || grow == 0 { return Ok(()); }
        let rows = z.numel() / zrow;
        if rows * zrow != z.numel() || product(&[rows, grow], "unfold_backward")? != g.numel() { return Err(geometry_err("unfold_backward")); }
        // row o of z is [n, inner], of g [nwin, inner, size]: each task owns one row of z
        crate::dispatch_float!(z.dtype(), T => read::<T, _>(g, |gs| write::<T, _>(z, |zs| {
            let row = |(zr, gr): (&mut [T], &[T])| {
                for w in 0..nwin {
                    for i in 0..inner {
                        let src = &gr[(w * inner + i) * size..(w * inner + i + 1) * size];
                        for (k, &v) in src.iter().enumerate() { zr[(w * step + k) * inner + i] += v; }
                    }
                }
            };
            if g.numel() >= super::iter::GRAIN && super::iter::parallel_ok() {
                zs.par_chunks_mut(zrow).zip(gs.par_chunks(grow)).for_each(row);
            } else {
                zs.chunks_mut(zrow).zip(gs.chunks(grow)).for_each(row);
            }
        }))?)
    }
}
