//! Small f32 matrix products (up to ~96³ multiply-adds) on AVX2+FMA or AVX-512, without
//! packing.
//!
//! For such sizes the operands already sit in L1/L2, so the `gemm` crate's packing and
//! blocking are pure overhead: these kernels read A and B in place and keep a tile of C in
//! registers (6x16 in ymm, 8x32 in zmm). Measured on one Zen 3 core (AVX2,
//! `cargo bench --bench kernels -- small_matmul`): 64³ 5.8 µs vs 6.3-7.5 µs through `gemm`,
//! 16³ 0.13 vs 0.25 µs, 8x50x20 0.32 vs 0.65 µs; from 128³ on `gemm` is as fast or faster.
//! On a Xeon with AVX-512 the ymm kernel took 6.9 µs for 64³ where `gemm` took 3.3-4.5; the
//! zmm kernel ties `gemm` there (3.3-4.6 µs, same run) and is 2-3x faster below 32³, so
//! AVX-512 CPUs stop at 64³ (`max_work`).
//! B must have unit column stride (rows of B are contiguous), A any strides. B's rows sit a
//! fixed stride apart (`gemm_f32`) or at offsets from a table (`gemm_f32_offset_rows`: the
//! implicit-GEMM convolution reads its input windows in place that way).

/// Products with m·n·k above this go to the `gemm` crate (AVX2 kernel).
pub const SMALL_MAX: usize = 96 * 96 * 96;
/// The same for the AVX-512 kernel.
pub const SMALL_MAX_AVX512: usize = 64 * 64 * 64;

/// The largest m·n·k this CPU's small kernel takes.
pub fn max_work() -> usize { if super::simd::has_avx512() { SMALL_MAX_AVX512 } else { SMALL_MAX } }

/// Whether this CPU runs the kernel (std caches the feature bits; cheap after the first call).
pub fn available() -> bool {
    super::simd::has_avx2_fma()
}

/// c (m x n, row stride crs) = [c +] a (m x k, strides ars, acs) @ b (k x n, row stride brs,
/// column stride 1), on the widest kernel this CPU runs.
///
/// # Safety
/// `available()` is true; a[i*ars + p*acs] (i < m, p < k), b[p*brs + j] (p < k, j < n) and
/// c[i*crs + j] (i < m, j < n) are in bounds of their allocations; c overlaps neither a nor b.
#[cfg(target_arch = "x86_64")]
pub unsafe fn gemm_f32(
    m: usize, n: usize, k: usize, a: *const f32, ars: usize, acs: usize, b: *const f32, brs: usize,
    c: *mut f32, crs: usize, accumulate: bool,
) {
    let rows = StridedRows { base: b, stride: brs };
    // SAFETY: the caller's contract is both kernels' contract; each one's features are checked
    if super::simd::has_avx512() { gemm_f32_avx512(m, n, k, a, ars, acs, rows, c, crs, accumulate) } else { gemm_f32_avx2(m, n, k, a, ars, acs, rows, c, crs, accumulate) }
}

/// `gemm_f32` with row p of B starting at `b + b_rows[p]` (k = `b_rows.len()`).
///
/// # Safety
/// As `gemm_f32`, with b[b_rows[p] + j] (p < k, j < n) in bounds instead of b[p*brs + j].
#[cfg(target_arch = "x86_64")]
pub unsafe fn gemm_f32_offset_rows(
    m: usize, n: usize, a: *const f32, ars: usize, acs: usize, b: *const f32, b_rows: &[usize],
    c: *mut f32, crs: usize, accumulate: bool,
) {
    let (k, rows) = (b_rows.len(), OffsetRows { base: b, offsets: b_rows.as_ptr() });
    // SAFETY: as gemm_f32; the table has exactly k entries
    if super::simd::has_avx512() { gemm_f32_avx512(m, n, k, a, ars, acs, rows, c, crs, accumulate) } else { gemm_f32_avx2(m, n, k, a, ars, acs, rows, c, crs, accumulate) }
}

/// Where row p of B starts. Generic rather than an enum so each kernel is compiled per
/// addressing scheme and the inner loop carries no branch.
pub trait RowsOfB: Copy {
    /// # Safety
    /// p < k, for the k the kernel was called with.
    unsafe fn row(self, p: usize) -> *const f32;
}

/// Rows a fixed stride apart.
#[derive(Clone, Copy)]
pub struct StridedRows { base: *const f32, stride: usize }
impl RowsOfB for StridedRows {
    #[inline(always)]
    unsafe fn row(self, p: usize) -> *const f32 { self.base.add(p * self.stride) }
}

/// Rows at element offsets from a table of k entries.
#[derive(Clone, Copy)]
pub struct OffsetRows { base: *const f32, offsets: *const usize }
impl RowsOfB for OffsetRows {
    #[inline(always)]
    unsafe fn row(self, p: usize) -> *const f32 { self.base.add(*self.offsets.add(p)) }
}

/// `gemm_f32` in ymm registers.
///
/// # Safety
/// As `gemm_f32`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemm_f32_avx2<B: RowsOfB>(
    m: usize, n: usize, k: usize, a: *const f32, ars: usize, acs: usize, b: B,
    c: *mut f32, crs: usize, accumulate: bool,
) {
    use std::arch::x86_64::*;
    let mut j = 0;
    while j < n {
        // a block of up to 16 columns: two 8-lane vectors, the last one masked when partial
        let w = (n - j).min(NR);
        let lanes = (w - 1) % 8 + 1;
        let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        let t = Tile { k, a, ars, acs, b, j, c: c.add(j), crs, mask, accumulate };
        match (w > 8, lanes == 8) {
            (true, true) => column_block::<B, 2, false>(m, &t),
            (true, false) => column_block::<B, 2, true>(m, &t),
            (false, true) => column_block::<B, 1, false>(m, &t),
            (false, false) => column_block::<B, 1, true>(m, &t),
        }
        j += w;
    }
}

/// 6 rows x 16 columns: 12 accumulators, two B vectors and one broadcast fit the 16 ymm registers.
const MR: usize = 6;
const NR: usize = 16;

#[cfg(target_arch = "x86_64")]
struct Tile<B> {
    k: usize,
    a: *const f32, ars: usize, acs: usize,
    /// B's rows, and the first column of this block
    b: B, j: usize,
    c: *mut f32, crs: usize,
    mask: std::arch::x86_64::__m256i,
    accumulate: bool,
}

/// One column block, all of its row tiles (B's k x 16 panel stays in L1 across them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn column_block<B: RowsOfB, const V: usize, const MASKED: bool>(m: usize, t: &Tile<B>) {
    let mut i = 0;
    while i < m {
        let r = (m - i).min(MR);
        let (a, c) = (t.a.add(i * t.ars), t.c.add(i * t.crs));
        match r {
            6 => tile::<B, 6, V, MASKED>(t, a, c),
            5 => tile::<B, 5, V, MASKED>(t, a, c),
            4 => tile::<B, 4, V, MASKED>(t, a, c),
            3 => tile::<B, 3, V, MASKED>(t, a, c),
            2 => tile::<B, 2, V, MASKED>(t, a, c),
            _ => tile::<B, 1, V, MASKED>(t, a, c),
        }
        i += r;
    }
}

/// R rows x V vectors of C, accumulated over all of k. A masked last vector touches only the
/// columns `mask` selects (masked-off lanes are neither read nor written, so they cannot fault).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile<B: RowsOfB, const R: usize, const V: usize, const MASKED: bool>(t: &Tile<B>, a: *const f32, c: *mut f32) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_ps(); V]; R];
    let step = |p: usize, acc: &mut [[__m256; V]; R]| {
        let bp = t.b.row(p).add(t.j);
        let mut bv = [_mm256_setzero_ps(); V];
        for (v, x) in bv.iter_mut().enumerate() {
            *x = if MASKED && v == V - 1 { _mm256_maskload_ps(bp.add(8 * v), t.mask) } else { _mm256_loadu_ps(bp.add(8 * v)) };
        }
        let ap = a.add(p * t.acs);
        for (r, row) in acc.iter_mut().enumerate() {
            let av = _mm256_broadcast_ss(&*ap.add(r * t.ars));
            for v in 0..V { row[v] = _mm256_fmadd_ps(av, bv[v], row[v]); }
        }
    };
    // unrolled by 4: the loop overhead is a visible share of a 64-deep product
    let mut p = 0;
    while p + 4 <= t.k { step(p, &mut acc); step(p + 1, &mut acc); step(p + 2, &mut acc); step(p + 3, &mut acc); p += 4; }
    while p < t.k { step(p, &mut acc); p += 1; }
    for (r, row) in acc.iter().enumerate() {
        let cr = c.add(r * t.crs);
        for (v, &x) in row.iter().enumerate() {
            let last = MASKED && v == V - 1;
            let mut x = x;
            if t.accumulate {
                let old = if last { _mm256_maskload_ps(cr.add(8 * v), t.mask) } else { _mm256_loadu_ps(cr.add(8 * v)) };
                x = _mm256_add_ps(old, x);
            }
            if last { _mm256_maskstore_ps(cr.add(8 * v), t.mask, x) } else { _mm256_storeu_ps(cr.add(8 * v), x) }
        }
    }
}

/// 8 rows x 32 columns of C: 16 zmm accumulators, two B vectors and a broadcast (of 32 registers).
const MR512: usize = 8;
const NR512: usize = 32;

#[cfg(target_arch = "x86_64")]
struct Tile512<B> {
    k: usize,
    a: *const f32, ars: usize, acs: usize,
    b: B, j: usize,
    c: *mut f32, crs: usize,
    mask: u16,
    accumulate: bool,
}

/// `gemm_f32` in zmm registers.
///
/// # Safety
/// As `gemm_f32`, on a CPU with AVX-512 (`has_avx512`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn gemm_f32_avx512<B: RowsOfB>(
    m: usize, n: usize, k: usize, a: *const f32, ars: usize, acs: usize, b: B,
    c: *mut f32, crs: usize, accumulate: bool,
) {
    let mut j = 0;
    while j < n {
        let w = (n - j).min(NR512);
        let lanes = (w - 1) % 16 + 1;
        let mask: u16 = if lanes == 16 { u16::MAX } else { (1u16 << lanes) - 1 };
        let t = Tile512 { k, a, ars, acs, b, j, c: c.add(j), crs, mask, accumulate };
        match (w > 16, lanes == 16) {
            (true, true) => column_block512::<B, 2, false>(m, &t),
            (true, false) => column_block512::<B, 2, true>(m, &t),
            (false, true) => column_block512::<B, 1, false>(m, &t),
            (false, false) => column_block512::<B, 1, true>(m, &t),
        }
        j += w;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn column_block512<B: RowsOfB, const V: usize, const MASKED: bool>(m: usize, t: &Tile512<B>) {
    let mut i = 0;
    while i < m {
        let r = (m - i).min(MR512);
        let (a, c) = (t.a.add(i * t.ars), t.c.add(i * t.crs));
        match r {
            8 => tile512::<B, 8, V, MASKED>(t, a, c),
            7 => tile512::<B, 7, V, MASKED>(t, a, c),
            6 => tile512::<B, 6, V, MASKED>(t, a, c),
            5 => tile512::<B, 5, V, MASKED>(t, a, c),
            4 => tile512::<B, 4, V, MASKED>(t, a, c),
            3 => tile512::<B, 3, V, MASKED>(t, a, c),
            2 => tile512::<B, 2, V, MASKED>(t, a, c),
            _ => tile512::<B, 1, V, MASKED>(t, a, c),
        }
        i += r;
    }
}

/// R rows x V 16-lane vectors of C over all of k; a masked last vector reads and writes only
/// the lanes `mask` selects (AVX-512 masked accesses do not fault on masked-off lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn tile512<B: RowsOfB, const R: usize, const V: usize, const MASKED: bool>(t: &Tile512<B>, a: *const f32, c: *mut f32) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    let step = |p: usize, acc: &mut [[__m512; V]; R]| {
        let bp = t.b.row(p).add(t.j);
        let mut bv = [_mm512_setzero_ps(); V];
        for (v, x) in bv.iter_mut().enumerate() {
            *x = if MASKED && v == V - 1 { _mm512_maskz_loadu_ps(t.mask, bp.add(16 * v)) } else { _mm512_loadu_ps(bp.add(16 * v)) };
        }
        let ap = a.add(p * t.acs);
        for (r, row) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*ap.add(r * t.ars));
            for v in 0..V { row[v] = _mm512_fmadd_ps(av, bv[v], row[v]); }
        }
    };
    let mut p = 0;
    while p + 4 <= t.k { step(p, &mut acc); step(p + 1, &mut acc); step(p + 2, &mut acc); step(p + 3, &mut acc); p += 4; }
    while p < t.k { step(p, &mut acc); p += 1; }
    for (r, row) in acc.iter().enumerate() {
        let cr = c.add(r * t.crs);
        for (v, &x) in row.iter().enumerate() {
            let last = MASKED && v == V - 1;
            let mut x = x;
            if t.accumulate {
                let old = if last { _mm512_maskz_loadu_ps(t.mask, cr.add(16 * v)) } else { _mm512_loadu_ps(cr.add(16 * v)) };
                x = _mm512_add_ps(old, x);
            }
            if last { _mm512_mask_storeu_ps(cr.add(16 * v), t.mask, x) } else { _mm512_storeu_ps(cr.add(16 * v), x) }
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every tile shape (rows 1-6, full, masked and single-vector column blocks), strided A,
    /// accumulate on and off, against a plain triple loop.
    #[test]
    fn matches_reference_for_every_tile_shape() {
        if !super::available() { return; }
        for &(m, n, k) in &[(1, 1, 1), (7, 13, 5), (6, 16, 3), (13, 33, 17), (64, 64, 64), (5, 8, 0), (2, 24, 9), (9, 47, 6), (17, 32, 4)] {
            for &(a_t, acc) in &[(false, false), (true, false), (false, true), (true, true)] {
                let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.25).collect();
                let b: Vec<f32> = (0..k * n + 3).map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.5).collect();
                // a stored row-major (rs=k, cs=1) or column-major (rs=1, cs=m)
                let (ars, acs) = if a_t { (1, m) } else { (k, 1) };
                let crs = n + 2;
                let c: Vec<f32> = (0..m * crs).map(|i| i as f32 * 0.125).collect();
                let mut want = c.clone();
                for i in 0..m { for j in 0..n {
                    let s: f32 = (0..k).map(|p| a[i * ars + p * acs] * b[p * n + j]).sum();
                    want[i * crs + j] = if acc { want[i * crs + j] + s } else { s };
                } }
                // the same B rows through a table of offsets (as the implicit-GEMM convolution reads them)
                let offsets: Vec<usize> = (0..k).map(|p| p * n).collect();
                let strided = super::StridedRows { base: b.as_ptr(), stride: n };
                let table = super::OffsetRows { base: b.as_ptr(), offsets: offsets.as_ptr() };
                for (kernel, by_table) in [(0, false), (1, false), (0, true), (1, true)] {
                    if kernel == 1 && !super::super::simd::has_avx512() { continue; }
                    let mut c = c.clone();
                    let cp = c.as_mut_ptr();
                    // SAFETY: available() holds (and has_avx512() for the zmm kernel); every index
                    // above is inside a, b and c (c's padding columns n..n+2 must stay untouched,
                    // which the comparison checks); the table holds k offsets
                    unsafe {
                        match (kernel, by_table) {
                            (0, false) => super::gemm_f32_avx2(m, n, k, a.as_ptr(), ars, acs, strided, cp, crs, acc),
                            (0, true) => super::gemm_f32_avx2(m, n, k, a.as_ptr(), ars, acs, table, cp, crs, acc),
                            (_, false) => super::gemm_f32_avx512(m, n, k, a.as_ptr(), ars, acs, strided, cp, crs, acc),
                            (_, true) => super::gemm_f32_avx512(m, n, k, a.as_ptr(), ars, acs, table, cp, crs, acc),
                        }
                    }
                    for (x, y) in c.iter().zip(&want) { assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{m}x{n}x{k}: {x} vs {y}"); }
                }
            }
        }
    }
}
