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

/// The order of two positions of a row: by value (NaN largest; -0.0 and 0.0 equal), reversed
/// when descending, then by position, which makes it a total order that gives a stable sort's
/// result from any sorting or selection algorithm.
fn row_order<T: Elem>(row: &[T], descending: bool, a: usize, b: usize) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let isnan = |i: usize| T::DTYPE.is_float() && row[i].to_f64().is_nan();
    let o = match (isnan(a), isnan(b)) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ => if T::DTYPE.is_float() { row[a].to_f64().partial_cmp(&row[b].to_f64()).unwrap_or(Equal) } else { row[a].to_i64().cmp(&row[b].to_i64()) },
    };
    (if descending { o.reverse() } else { o }).then(a.cmp(&b))
}

/// Sorts one row's positions: stable, NaN largest.
fn sort_row<T: Elem>(row: &[T], descending: bool, out: &mut [i64]) {
    let mut ord: Vec<usize> = (0..row.len()).collect();
    ord.sort_unstable_by(|&a, &b| row_order(row, descending, a, b));
    for (j, &o) in ord.iter().enumerate() { out[j] = o as i64; }
}

/// The first out.len() (k, 0 < k <= row.len()) positions of `sort_row`'s order: the k-th is
/// selected in linear time, then only the k before it are sorted.
fn topk_row<T: Elem>(row: &[T], descending: bool, out: &mut [i64]) {
    let k = out.len();
    let mut ord: Vec<usize> = (0..row.len()).collect();
    if k < ord.len() { ord.select_nth_unstable_by(k - 1, |&a, &b| row_order(row, descending, a, b)); }
    ord[..k].sort_unstable_by(|&a, &b| row_order(row, descending, a, b));
    for (o, &p) in out.iter_mut().zip(&ord[..k]) { *o = p as i64; }
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

    fn index_select(&self, out: &Tensor, x: &Tensor, idx: &Tensor, outer: usize, inner: usize) -> Result<()> {
        check_outputs(&[out], &[x, idx])?;
        let (k, n) = index_rows(x, out, idx, outer, inner, "index_select")?;
        read::<i64, _>(idx, |iv| {
            if outer * inner > 0 && iv.iter().any(|&v| v < 0 || v as usize >= n) { return Err(crate::index_err!("index out of range in self")); }
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
            }))?)
        })?
    }

    fn index_add(&self, out: &Tensor, src: &Tensor, idx: &Tensor, outer: usize, inner: usize, alpha: f64) -> Result<()> {
        check_outputs(&[out], &[src, idx])?;
        let (k, n) = index_rows(out, src, idx, outer, inner, "index_add")?;
        read::<i64, _>(idx, |iv| {
            if outer * inner > 0 && iv.iter().any(|&v| v < 0 || v as usize >= n) { return Err(geometry_err("index_add")); }
            crate::dispatch!(out.dtype(), T => read::<T, _>(src, |s| write::<T, _>(out, |d| {
                for o in 0..outer {
                    for (j, &v) in iv.iter().enumerate() {
                        let (d0, s0) = ((o * n + v as usize) * inner, (o * k + j) * inner);
                        for (p, &x) in d[d0..d0 + inner].iter_mut().zip(&s[s0..s0 + inner]) { *p = p.add_scaled(x, alpha); }
                    }
                }
            }))?)
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
