//! Mid-size f32 matrix products on AVX-512: B packed in 32-column panels, A read in place.
//!
//! The `gemm` crate packs both operands and, for a column-major B (`x @ W.t()` in every
//! Linear), gathers B element by element. Products with a few hundred rows (an MLP's batch, a
//! 256² matmul, the halves of a product split over two threads) spend a large share of their
//! time in that packing. Here only B is packed, once per k block of 32 columns, into the
//! layout the microkernel reads (`kc` rows of 32 contiguous floats; 16x16 register transposes
//! for a column-major B), and reused by every row tile of A, which is broadcast from where it
//! lies (any strides: `dY.t()` in a weight gradient needs no copy either). The microkernel
//! keeps a 12x32 tile of C in 24 zmm registers.
//!
//! Where it is taken, with the measurements behind that: `gemm::panel_parts` and
//! `gemm::PANEL_MAX_ROWS`. AVX2-only CPUs keep the crate.

/// Rows of C per microkernel tile (24 accumulators + 2 B vectors + 1 broadcast of 32 zmm).
const MR: usize = 12;
/// Columns of C per tile and per packed panel: two zmm.
const NR: usize = 32;
/// Most rows of B per packed panel (the panel, 32 KiB, stays in L1 across A's row tiles).
const KC: usize = 256;
/// Most rows of A per pass over B's panels (an A block of MC x KC floats stays in L2).
const MC: usize = 512;

/// Whether this CPU runs the kernel.
pub fn available() -> bool { super::simd::has_avx512() }

/// c (m x n, row stride crs) = [c +] a (m x k, strides ars, acs) @ b (k x n, strides brs, bcs)
/// [+ bias (n) on every row, when `bias` is not null and `accumulate` is false], split over
/// `parts` tasks on the pool (1: the calling thread only). The bias enters where the first k
/// block is stored, so a Linear's output is written once (filling it with the bias first and
/// accumulating cost 70 µs of 590 for 1024x128 by 128x384 on one thread, 170 of 480 on two).
///
/// # Safety
/// `available()`; every a[i*ars + p*acs], b[p*brs + j*bcs], c[i*crs + j] and, unless null,
/// bias[j] (i < m, p < k, j < n) lies inside its allocation; c overlaps neither a, b nor bias,
/// and its rows do not overlap each other (crs >= n).
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_f32(
    m: usize, n: usize, k: usize, a: *const f32, ars: usize, acs: usize, b: *const f32, brs: usize, bcs: usize,
    c: *mut f32, crs: usize, accumulate: bool, bias: *const f32, parts: usize,
) {
    if m == 0 || n == 0 { return; }
    let bias = if accumulate { std::ptr::null() } else { bias };
    let panels = n.div_ceil(NR);
    let row_tiles = m.div_ceil(MR);
    // split the columns (each task packs only its own panels) unless there are too few of
    // them, then the rows (each task packs every panel)
    let by_cols = panels >= parts;
    // Columns go out a few panels at a time rather than one share per thread: a worker that
    // loses its CPU midway (another process's spinning threads, a busy VM) then leaves one
    // small piece for the others to wait on, not half the product.
    let parts = if parts == 1 { 1 } else if by_cols { panels.min(parts * TASKS_PER_THREAD) } else { parts.min(row_tiles) };
    if parts == 1 {
        serial(m, n, k, a, ars, acs, b, brs, bcs, c, crs, accumulate, bias);
        return;
    }
    // raw pointers as integers to cross threads; every task touches a disjoint block of c
    let (ap, bp, cp, biasp) = (a as usize, b as usize, c as usize, bias as usize);
    let task = |t: usize| {
        let (a, b, c, bias) = (ap as *const f32, bp as *const f32, cp as *mut f32, biasp as *const f32);
        if by_cols {
            let (j0, j1) = (panels * t / parts * NR, (panels * (t + 1) / parts * NR).min(n));
            let bias = if bias.is_null() { bias } else { bias.wrapping_add(j0) };
            // SAFETY: columns j0..j1 of b, c and bias are inside the caller's ranges (j1 <= n)
            unsafe { serial(m, j1 - j0, k, a, ars, acs, b.add(j0 * bcs), brs, bcs, c.add(j0), crs, accumulate, bias) }
        } else {
            let (i0, i1) = (row_tiles * t / parts * MR, (row_tiles * (t + 1) / parts * MR).min(m));
            // SAFETY: rows i0..i1 of a and c are inside the caller's ranges (i1 <= m)
            unsafe { serial(i1 - i0, n, k, a.add(i0 * ars), ars, acs, b, brs, bcs, c.add(i0 * crs), crs, accumulate, bias) }
        }
    };
    use rayon::prelude::*;
    (0..parts).into_par_iter().with_max_len(1).for_each(task);
}

/// Column tasks per pool thread when the columns are split.
const TASKS_PER_THREAD: usize = 4;

/// A packed panel: KC rows of NR floats, 64-byte aligned for the kernel's full-vector loads.
#[repr(C, align(64))]
struct Panel([f32; KC * NR]);

/// `gemm_f32` on the calling thread.
///
/// # Safety
/// As `gemm_f32`.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn serial(
    m: usize, n: usize, k: usize, a: *const f32, ars: usize, acs: usize, b: *const f32, brs: usize, bcs: usize,
    c: *mut f32, crs: usize, accumulate: bool, bias: *const f32,
) {
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                if bias.is_null() { std::ptr::write_bytes(c.add(i * crs), 0, n) } else { std::ptr::copy_nonoverlapping(bias, c.add(i * crs), n) }
            }
        }
        return;
    }
    // k blocks of equal depth, so the last one is not a sliver
    let kblocks = k.div_ceil(KC);
    let kc = k.div_ceil(kblocks);
    let mut panel = Box::new(Panel([0.0; KC * NR]));
    let pp = panel.0.as_mut_ptr();
    let mut p0 = 0;
    while p0 < k {
        let depth = kc.min(k - p0);
        let add = accumulate || p0 > 0;
        // the bias enters with the first k block's store
        let init = if p0 == 0 { bias } else { std::ptr::null() };
        let mut i0 = 0;
        while i0 < m {
            let rows = MC.min(m - i0);
            let mut j0 = 0;
            while j0 < n {
                let w = NR.min(n - j0);
                pack(b.add(p0 * brs + j0 * bcs), brs, bcs, depth, w, pp);
                let masks = [lanes_mask(w.min(16)), lanes_mask(w.saturating_sub(16))];
                let mut i = i0;
                while i < i0 + rows {
                    let r = MR.min(i0 + rows - i);
                    let init = if init.is_null() { init } else { init.add(j0) };
                    let t = Tile { k: depth, a: a.add(i * ars + p0 * acs), ars, acs, b: pp, c: c.add(i * crs + j0), crs, masks, add, init };
                    match r {
                        12 => tile::<12>(&t), 11 => tile::<11>(&t), 10 => tile::<10>(&t), 9 => tile::<9>(&t),
                        8 => tile::<8>(&t), 7 => tile::<7>(&t), 6 => tile::<6>(&t), 5 => tile::<5>(&t),
                        4 => tile::<4>(&t), 3 => tile::<3>(&t), 2 => tile::<2>(&t), _ => tile::<1>(&t),
                    }
                    i += r;
                }
                j0 += w;
            }
            i0 += rows;
        }
        p0 += depth;
    }
}

fn lanes_mask(lanes: usize) -> u16 { if lanes >= 16 { u16::MAX } else { (1u16 << lanes) - 1 } }

/// Copies b's `depth` x `w` block (w <= NR) into `dst` as `depth` rows of NR floats; columns w..NR
/// keep whatever they held (an earlier panel's values, or zeros): the kernel computes those
/// lanes but never stores them.
///
/// # Safety
/// b[p*brs + j*bcs] (p < depth, j < w) readable; dst holds KC * NR floats; depth <= KC.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn pack(b: *const f32, brs: usize, bcs: usize, depth: usize, w: usize, dst: *mut f32) {
    use std::arch::x86_64::*;
    if bcs == 1 {
        // rows of B are contiguous: two masked loads per row
        let (m0, m1) = (lanes_mask(w.min(16)), lanes_mask(w.saturating_sub(16)));
        for p in 0..depth {
            let (s, d) = (b.add(p * brs), dst.add(p * NR));
            _mm512_store_ps(d, _mm512_maskz_loadu_ps(m0, s));
            if m1 != 0 { _mm512_store_ps(d.add(16), _mm512_maskz_loadu_ps(m1, s.add(16))); }
        }
        return;
    }
    if brs == 1 {
        // columns of B are contiguous (B is a transposed row-major W): 16x16 transposes, the
        // ragged edges element by element
        let (full_p, full_j) = (depth / 16 * 16, w / 16 * 16);
        for j in (0..full_j).step_by(16) {
            for p in (0..full_p).step_by(16) {
                super::transpose::block16x16_f32(b.add(p + j * bcs), bcs, dst.add(p * NR + j), NR);
            }
        }
        for j in 0..w {
            let p_from = if j < full_j { full_p } else { 0 };
            for p in p_from..depth { *dst.add(p * NR + j) = *b.add(p + j * bcs); }
        }
        return;
    }
    for p in 0..depth {
        for j in 0..w { *dst.add(p * NR + j) = *b.add(p * brs + j * bcs); }
    }
}

/// One microkernel call: C[R rows x up to 32 columns] (+)= A[R x k] @ panel[k x 32].
struct Tile {
    k: usize,
    a: *const f32, ars: usize, acs: usize,
    b: *const f32,
    c: *mut f32, crs: usize,
    /// lanes of C's two column vectors that exist (the second is 0 for panels of <= 16 columns)
    masks: [u16; 2],
    /// add to C rather than overwrite it
    add: bool,
    /// when C is overwritten: the tile's first column of a bias added to every row, or null
    init: *const f32,
}

/// # Safety
/// A's R rows over t.k, the panel's t.k rows of NR floats and C's R rows under `masks` lie
/// inside their allocations (`serial`'s contract).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn tile<const R: usize>(t: &Tile) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    let mut ap = t.a;
    let mut bp = t.b;
    let step = |ap: *const f32, bp: *const f32, acc: &mut [[__m512; 2]; R]| {
        let (b0, b1) = (_mm512_load_ps(bp), _mm512_load_ps(bp.add(16)));
        for (r, row) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*ap.add(r * t.ars));
            row[0] = _mm512_fmadd_ps(av, b0, row[0]);
            row[1] = _mm512_fmadd_ps(av, b1, row[1]);
        }
    };
    let mut p = 0;
    while p + 4 <= t.k {
        step(ap, bp, &mut acc);
        step(ap.add(t.acs), bp.add(NR), &mut acc);
        step(ap.add(2 * t.acs), bp.add(2 * NR), &mut acc);
        step(ap.add(3 * t.acs), bp.add(3 * NR), &mut acc);
        ap = ap.add(4 * t.acs);
        bp = bp.add(4 * NR);
        p += 4;
    }
    while p < t.k {
        step(ap, bp, &mut acc);
        ap = ap.add(t.acs);
        bp = bp.add(NR);
        p += 1;
    }
    for (r, row) in acc.iter().enumerate() {
        let cr = t.c.add(r * t.crs);
        for (v, &x) in row.iter().enumerate() {
            let mask = t.masks[v];
            if mask == 0 { continue; }
            let x = if t.add {
                _mm512_add_ps(_mm512_maskz_loadu_ps(mask, cr.add(16 * v)), x)
            } else if !t.init.is_null() {
                _mm512_add_ps(_mm512_maskz_loadu_ps(mask, t.init.add(16 * v)), x)
            } else { x };
            _mm512_mask_storeu_ps(cr.add(16 * v), mask, x);
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    /// Every row-tile size, ragged panels, several k blocks, A and B in each layout, accumulate
    /// on and off, one and several tasks, against a plain triple loop.
    #[test]
    fn matches_reference() {
        if !super::available() { return; }
        for &(m, n, k) in &[(1, 1, 1), (13, 33, 17), (12, 32, 256), (25, 70, 300), (100, 17, 513), (7, 100, 5), (30, 64, 0), (490, 40, 20)] {
            for &(a_t, b_t, acc, parts) in &[(false, false, false, 1), (true, false, true, 2), (false, true, false, 2), (true, true, true, 1), (false, true, true, 3)] {
                let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.25).collect();
                let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.5).collect();
                let (ars, acs) = if a_t { (1, m) } else { (k, 1) };
                let (brs, bcs) = if b_t { (1, k) } else { (n, 1) };
                let crs = n + 3;
                let c: Vec<f32> = (0..m * crs).map(|i| (i % 17) as f32 * 0.125).collect();
                let mut want = c.clone();
                for i in 0..m { for j in 0..n {
                    let s: f32 = (0..k).map(|p| a[i * ars + p * acs] * b[p * brs + j * bcs]).sum();
                    want[i * crs + j] = if acc { want[i * crs + j] + s } else { s };
                } }
                // a bias applies only when C is overwritten
                let bias: Vec<f32> = (0..n).map(|j| j as f32 - 3.5).collect();
                for with_bias in [false, true] {
                    let mut want = want.clone();
                    if with_bias && !acc { for i in 0..m { for j in 0..n { want[i * crs + j] += bias[j]; } } }
                    let mut got = c.clone();
                    let bp = if with_bias { bias.as_ptr() } else { std::ptr::null() };
                    // SAFETY: available(); every index above lies inside a, b, bias and got; got's
                    // padding columns must stay untouched, which the comparison checks
                    unsafe { super::gemm_f32(m, n, k, a.as_ptr(), ars, acs, b.as_ptr(), brs, bcs, got.as_mut_ptr(), crs, acc, bp, parts) };
                    for (idx, (x, y)) in got.iter().zip(&want).enumerate() {
                        assert!((x - y).abs() <= 1e-3 * (1.0 + y.abs()), "{m}x{n}x{k} a_t={a_t} b_t={b_t} acc={acc} bias={with_bias} at {idx}: {x} vs {y}");
                    }
                }
            }
        }
    }
}
