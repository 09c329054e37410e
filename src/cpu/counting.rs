//! Sorting-and-counting kernels on contiguous slices: unique, searchsorted, bincount, histc,
//! mode and the running extremes (cummax/cummin). Comparisons follow PyTorch's: NaN is never
//! equal to anything (each NaN is its own unique value) and sorts after every number.
use crate::dtype::Elem;
use std::cmp::Ordering;

/// Total order for sorting: numbers ascending, NaN (x != x) last.
#[inline]
pub fn order<T: Elem>(a: &T, b: &T) -> Ordering {
    match (a != a, b != b) {
        (false, false) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
    }
}

/// Lexicographic order of two rows of equal length under `order`.
fn row_order<T: Elem>(a: &[T], b: &[T]) -> Ordering {
    a.iter().zip(b).map(|(x, y)| order(x, y)).find(|o| *o != Ordering::Equal).unwrap_or(Ordering::Equal)
}

/// Sorted unique rows of a [rows, width] buffer (width 1 for plain values): the index of one
/// representative row per group, the group of each input row, and each group's size.
/// Rows are equal when all elements compare `==` (so a row with a NaN is unique).
pub fn unique_rows<T: Elem>(data: &[T], rows: usize, width: usize) -> (Vec<usize>, Vec<i64>, Vec<i64>) {
    let row = |i: usize| &data[i * width..(i + 1) * width];
    let mut perm: Vec<usize> = (0..rows).collect();
    perm.sort_by(|&a, &b| row_order(row(a), row(b)));
    let (mut reps, mut inverse, mut counts) = (Vec::new(), vec![0i64; rows], Vec::new());
    for (k, &i) in perm.iter().enumerate() {
        let new_group = k == 0 || row(perm[k - 1]).iter().zip(row(i)).any(|(a, b)| a != b);
        if new_group { reps.push(i); counts.push(0); }
        inverse[i] = reps.len() as i64 - 1;
        *counts.last_mut().expect("a group exists") += 1;
    }
    (reps, inverse, counts)
}

/// PyTorch's binary search on one sorted row (lower bound: first i with !(row[i] < v) in its
/// `mid >= v` form; upper bound: first i with row[i] > v), through `sorter` when given.
pub fn search_row<T: Elem>(row: &[T], sorter: Option<&[i64]>, v: T, right: bool) -> i64 {
    let at = |i: usize| match sorter { Some(s) => row[s[i] as usize], None => row[i] };
    let (mut lo, mut hi) = (0usize, row.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let m = at(mid);
        let go_right = if right { !(m > v) } else { !(m >= v) };
        if go_right { lo = mid + 1 } else { hi = mid }
    }
    lo as i64
}

/// Counts of each value in `x` (all >= 0) into `out`, weighted when `weights` is given.
pub fn bincount(x: &[i64], weights: Option<&[f64]>, out: &mut [f64]) {
    for (i, &v) in x.iter().enumerate() {
        out[v as usize] += weights.map_or(1.0, |w| w[i]);
    }
}

/// Histogram of the values in [lo, hi] into `bins` equal bins, PyTorch's linear bin rule
/// (computed in the element's precision; the top edge belongs to the last bin).
pub fn histc<F: num_traits::Float>(x: &[F], lo: F, hi: F, out: &mut [f64]) {
    let bins = out.len();
    let nb = F::from(bins).unwrap_or(F::one());
    for &v in x {
        if !(v >= lo && v <= hi) { continue; }
        let pos = ((v - lo) * nb / (hi - lo)).to_i64().unwrap_or(0).clamp(0, bins as i64);
        let pos = if pos as usize == bins { bins - 1 } else { pos as usize };
        out[pos] += 1.0;
    }
}

/// Index of the running max (or min) along a row; ties take the later index and a NaN sticks.
pub fn running_extreme<T: Elem>(row: &[T], is_max: bool, idx: &mut [i64]) {
    let mut best: Option<(T, usize)> = None;
    for (j, &v) in row.iter().enumerate() {
        let take = match best {
            None => true,
            Some((b, _)) => v != v || (b == b && if is_max { v >= b } else { v <= b }),
        };
        if take { best = Some((v, j)); }
        idx[j] = best.map_or(0, |(_, i)| i as i64);
    }
}

/// The most frequent value of a row (the smallest on ties) and the last index holding it.
pub fn mode_row<T: Elem>(row: &[T]) -> (T, i64) {
    let mut sorted: Vec<T> = row.to_vec();
    sorted.sort_by(order);
    let (mut best, mut best_n, mut k) = (sorted[0], 0usize, 0usize);
    while k < sorted.len() {
        let mut j = k + 1;
        while j < sorted.len() && sorted[j] == sorted[k] { j += 1; }
        if j - k > best_n { best = sorted[k]; best_n = j - k; }
        k = j;
    }
    let last = row.iter().rposition(|&v| v == best || (best != best && v != v)).unwrap_or(0);
    (best, last as i64)
}
