//! Matrix-multiply dispatch: the `gemm` crate (runtime SIMD dispatch: AVX2/FMA, AVX-512 where
//! compiled in, baseline otherwise), and for f32 our small-matrix kernel (`small_gemm`) and
//! AVX-512 panel kernel (`panel_gemm`) where they were measured faster. Every caller goes
//! through `gemm_checked` / `linear_checked` / `bmm_views`, which prove the operands lie inside
//! their slices before any kernel reads raw pointers.

/// A strided matrix view over a slice: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub struct Mat<'a, T> { pub data: &'a [T], pub rows: usize, pub cols: usize, pub rs: usize, pub cs: usize }

impl<'a, T> Mat<'a, T> {
    /// Row-major (contiguous) `rows x cols` matrix.
    pub fn rm(data: &'a [T], rows: usize, cols: usize) -> Self { Mat { data, rows, cols, rs: cols, cs: 1 } }
    /// The transpose of a row-major `rows x cols` matrix, i.e. a `cols x rows` view.
    pub fn rm_t(data: &'a [T], rows: usize, cols: usize) -> Self { Mat { data, rows: cols, cols: rows, rs: 1, cs: cols } }
}

/// Largest index a `rows x cols` matrix with strides (rs, cs) touches, if it fits a usize.
fn last_index(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 { return Some(0); }
    (rows - 1).checked_mul(rs)?.checked_add((cols - 1).checked_mul(cs)?)
}

/// Whether a kernel may use the rayon pool for `flops` multiply-adds (small products run
/// faster on one thread than the pool's wake-up costs).
pub fn parallelism(flops: usize) -> gemm::Parallelism {
    if flops >= 1 << 21 && super::iter::parallel_ok() { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None }
}

/// Whether an (m x k) @ (k x n) product of element type T takes the small-matrix kernel: f32,
/// B's rows contiguous (`b_rows_contiguous`), at most `small_gemm::max_work()` multiply-adds, and the CPU
/// has AVX2+FMA.
fn small_f32<T: 'static>(m: usize, n: usize, k: usize, b_rows_contiguous: bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() && b_rows_contiguous
            && small_enough(m, n, k) && super::small_gemm::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    { let _ = (m, n, k, b_rows_contiguous); false }
}

/// Whether the small kernel beats the crate: m·n·k up to `max_work()`, or a narrow output
/// (n up to 16 columns, one zmm), which the crate pads to its 16-row tiles and runs on its
/// narrowest, load-bound microkernel, up to `NARROW_MAX_WORK`.
fn small_enough(m: usize, n: usize, k: usize) -> bool {
    let work = m.saturating_mul(n).saturating_mul(k);
    work <= super::small_gemm::max_work() || (n <= 16 && work <= NARROW_MAX_WORK)
}
const NARROW_MAX_WORK: usize = 1 << 23;

/// Tasks for the panel kernel (`panel_gemm`) when it is the fastest for an f32 (m x k) @ (k x n)
/// product on this CPU, else `None`: AVX-512, above the small kernel's sizes, at most
/// `max_rows` rows (`PANEL_MAX_ROWS`, or any for a Linear with bias); as many tasks as pool
/// threads when `par` allows the pool.
fn panel_parts<T: 'static>(m: usize, n: usize, k: usize, par: gemm::Parallelism, max_rows: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::any::TypeId::of::<T>() != std::any::TypeId::of::<f32>() || !super::panel_gemm::available() || small_enough(m, n, k) || m > max_rows { return None; }
        Some(match par { gemm::Parallelism::Rayon(_) => rayon::current_num_threads().max(1), _ => 1 })
    }
    #[cfg(not(target_arch = "x86_64"))]
    { let _ = (m, n, k, par, max_rows); None }
}
/// Above this many rows the crate's packed A wins (2-vCPU Xeon, square products, one thread:
/// 512² 169 vs 175 GFLOP/s, 1024² 146 vs 174; two threads: ties at 512² and 768², 1024² 304-309
/// vs 341-345). Up to it the panel kernel ties or wins: 256² 175-181 vs 177, 128 rows by
/// 784x512 163-169 vs 122-160 (one thread).
const PANEL_MAX_ROWS: usize = 512;

/// Rows of A from which a column-major B is first copied row-major (`gemm_checked`, when the
/// column-major product would copy more, and `bmm_views`). Measured on the 2-vCPU Xeon
/// (AVX-512) at two threads, `F.linear` of 128x512 by 512x512 (which now takes the
/// column-major product): 0.67 -> 0.51 ms; 128x512 by 10x512: 48 -> 39 µs (the copy also opens
/// the small-matrix kernel); 1024x128 by 384x128: unchanged (0.63 / 0.61 ms).
const TRANSPOSE_B_MIN_ROWS: usize = 16;

/// Whether a B with row stride `rs` and column stride `cs` is column-major and the product
/// (m rows, n columns) large enough for the layout handling of `gemm_checked` / `bmm_views`.
fn handle_column_major_b(rs: isize, cs: isize, m: usize, n: usize) -> bool {
    rs == 1 && cs > 1 && m >= TRANSPOSE_B_MIN_ROWS && n > 1
}

/// dst (m x n, row-major with row stride `dst_rs`) = [dst if accumulate] + a (m x k) @ b (k x n).
/// Panics never: a size that does not fit its slice is reported as an error string.
pub fn gemm_checked<T: 'static + Copy + Send + Sync + num_traits::Zero + num_traits::One>(
    dst: &mut [T], dst_rs: usize, a: Mat<T>, b: Mat<T>, accumulate: bool, par: gemm::Parallelism,
) -> Result<(), String> {
    gemm_with_bias(dst, dst_rs, a, b, accumulate, None, par)
}

/// dst (m x n, row stride n) = a (m x k) @ b (k x n) [+ bias (n) on every row]: a Linear's
/// output, written once where the panel kernel runs (it adds the bias as it stores), else filled
/// with the bias and the product accumulated onto it.
pub fn linear_checked<T: 'static + Copy + Send + Sync + num_traits::Zero + num_traits::One>(
    dst: &mut [T], a: Mat<T>, b: Mat<T>, bias: Option<&[T]>, par: gemm::Parallelism,
) -> Result<(), String> {
    gemm_with_bias(dst, b.cols, a, b, false, bias, par)
}

fn gemm_with_bias<T: 'static + Copy + Send + Sync + num_traits::Zero + num_traits::One>(
    dst: &mut [T], dst_rs: usize, a: Mat<T>, b: Mat<T>, accumulate: bool, bias: Option<&[T]>, par: gemm::Parallelism,
) -> Result<(), String> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k { return Err(format!("gemm: inner sizes differ ({} vs {})", k, b.rows)); }
    if bias.is_some_and(|v| v.len() != n || accumulate) { return Err(format!("gemm: bias of {} for {} columns", bias.map_or(0, |v| v.len()), n)); }
    if m == 0 || n == 0 { return Ok(()); }
    let fits = |len: usize, r, c, rs, cs| last_index(r, c, rs, cs).is_some_and(|i| r == 0 || c == 0 || i < len);
    if !fits(dst.len(), m, n, dst_rs, 1) || !fits(a.data.len(), m, k, a.rs, a.cs) || !fits(b.data.len(), k, n, b.rs, b.cs) {
        return Err("gemm: operand outside its buffer".into());
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                let row = &mut dst[i * dst_rs..i * dst_rs + n];
                if let Some(v) = bias { row.copy_from_slice(v) } else { row.fill(T::zero()) }
            }
        }
        return Ok(());
    }
    for s in [dst_rs, a.rs, a.cs, b.rs, b.cs] { if s > isize::MAX as usize { return Err("gemm: stride overflow".into()); } }
    // a Linear with bias takes the panel kernel at every size (it writes the output once)
    let panel = panel_parts::<T>(m, n, k, par, if bias.is_some() { usize::MAX } else { PANEL_MAX_ROWS });
    if let Some(parts) = panel.filter(|_| dst_rs >= n) {
        // SAFETY: T is f32 (panel_parts checked its TypeId) and the kernel's CPU features are
        // present; it touches exactly the elements whose bounds were checked above; dst is a
        // distinct mutable borrow, overlapping neither a nor b, and its rows do not overlap
        // each other (dst_rs >= n), so tasks writing different rows or columns never alias.
        unsafe {
            super::panel_gemm::gemm_f32(m, n, k, a.data.as_ptr() as *const f32, a.rs, a.cs, b.data.as_ptr() as *const f32, b.rs, b.cs,
                                        dst.as_mut_ptr() as *mut f32, dst_rs, accumulate, bias.map_or(std::ptr::null(), |v| v.as_ptr() as *const f32), parts);
        }
        return Ok(());
    }
    // elsewhere the bias is the initial value of an accumulating product
    let accumulate = match bias {
        Some(v) => { for i in 0..m { dst[i * dst_rs..i * dst_rs + n].copy_from_slice(v); } true }
        None => accumulate,
    };
    // A column-major B (x @ W.t() in every Linear) makes the crate repack it with scalar
    // gathers, in each thread. With few rows, computing the column-major product copies the
    // least; otherwise B is copied row-major first (see TRANSPOSE_B_MIN_ROWS). Without memory
    // for the copies, the product runs as it is.
    let b_col_major = handle_column_major_b(b.rs as isize, b.cs as isize, m, n);
    if b_col_major && dst_rs == n && through_column_major(&mut dst[..m * n], a, b, accumulate, par).is_some() { return Ok(()); }
    let b_rows = if b_col_major {
        super::transpose::to_row_major(b.data, k, n, b.cs)
    } else { None };
    let b = match &b_rows { Some(copy) => Mat::rm(copy.as_slice(), k, n), None => b };
    if small_f32::<T>(m, n, k, b.cs == 1) {
        // SAFETY: T is f32 (small_f32 checked its TypeId), the kernel's CPU features are present,
        // and it touches exactly the elements whose bounds were checked above; dst is a distinct
        // mutable borrow, so it overlaps neither a nor b.
        unsafe {
            super::small_gemm::gemm_f32(m, n, k, a.data.as_ptr() as *const f32, a.rs, a.cs, b.data.as_ptr() as *const f32, b.rs,
                                        dst.as_mut_ptr() as *mut f32, dst_rs, accumulate);
        }
        return Ok(());
    }
    if let Some(rows_per) = row_blocks(m, n, k, dst_rs, par) {
        use rayon::prelude::*;
        let used = (m - 1) * dst_rs + n;
        dst[..used].par_chunks_mut(rows_per * dst_rs).enumerate().for_each(|(c, d)| {
            let r0 = c * rows_per;
            let block = Mat { data: &a.data[r0 * a.rs..], rows: rows_per.min(m - r0), ..a };
            // SAFETY: rows r0.. of a start at r0 * a.rs (< a's checked length, as r0 < m) and keep
            // a's strides; this chunk of dst holds rows r0..r0 + block.rows at stride dst_rs
            // (the last chunk ends at the checked (m-1) * dst_rs + n); b is unchanged.
            unsafe { crate_gemm(d, dst_rs, block, b, accumulate, gemm::Parallelism::None) }
        });
        return Ok(());
    }
    // SAFETY: the bounds of dst, a and b were checked above
    unsafe { crate_gemm(dst, dst_rs, a, b, accumulate, par) };
    Ok(())
}

/// Rows per block when a large product runs as row blocks, one thread each (each packs its own
/// B), instead of the crate's threading, which synchronises its threads at every cache block.
/// On the 2-vCPU Xeon (AVX-512), 2048² f32 at two threads (a scratch benchmark, modes
/// interleaved, medians of four runs): 97-106 ms with the crate's threading, 69-79 ms in two
/// or four row blocks; 256² to 1024² were ties. So: at least 1024 rows and 256 columns and
/// inner size, and blocks of at least 256 rows, two per thread for balance. Rows must not
/// overlap (dst_rs >= n), so each block's rows lie inside its own chunk of dst.
fn row_blocks(m: usize, n: usize, k: usize, dst_rs: usize, par: gemm::Parallelism) -> Option<usize> {
    let threads = rayon::current_num_threads();
    if !matches!(par, gemm::Parallelism::Rayon(_)) || threads < 2 || m < 1024 || n < 256 || k < 256 || dst_rs < n { return None; }
    Some(m.div_ceil(2 * threads).max(256))
}

/// The `gemm` crate's product dst (m x n, row stride `dst_rs`) = [dst +] a @ b.
///
/// # Safety
/// Every dst[(i, j)] (i < a.rows, j < b.cols) at i * dst_rs + j, and every element of a and b
/// under their strides, must lie inside its slice; strides must fit isize; a.cols == b.rows.
unsafe fn crate_gemm<T: 'static + Copy + num_traits::Zero + num_traits::One>(
    dst: &mut [T], dst_rs: usize, a: Mat<T>, b: Mat<T>, accumulate: bool, par: gemm::Parallelism,
) {
    // SAFETY: the caller's bounds (above) cover every element gemm touches; dst is borrowed
    // mutably and cannot alias a or b.
    unsafe {
        gemm::gemm(
            a.rows, b.cols, a.cols,
            dst.as_mut_ptr(), 1, dst_rs as isize, accumulate,
            a.data.as_ptr(), a.cs as isize, a.rs as isize,
            b.data.as_ptr(), b.cs as isize, b.rs as isize,
            if accumulate { T::one() } else { T::zero() }, T::one(), false, false, false, par,
        );
    }
}

/// dst (m x n, contiguous) = [dst +] a @ b for a column-major b, computed as the column-major
/// product: a is copied column-major (unless it is), dst's transpose is the crate's output, and
/// one transposing copy writes it back. On the 2-vCPU Xeon the crate alone (a scratch
/// benchmark, copies excluded) ran 128x512 by 512x512 (x @ W.t()) in 0.29 ms this way, against
/// 0.37-0.42 ms with B row-major and 0.56 ms with B column-major (two threads; one: 0.42-0.48 /
/// 0.53 / 0.79 ms); `F.linear` of that shape went from 0.47 to 0.33 ms. Taken when these copies
/// (m·k + m·n, twice m·n to accumulate) are fewer than B's k·n elements; `None`, with dst
/// untouched, otherwise or when memory for them is short.
fn through_column_major<T: 'static + Copy + Send + Sync + num_traits::Zero + num_traits::One>(
    dst: &mut [T], a: Mat<T>, b: Mat<T>, accumulate: bool, par: gemm::Parallelism,
) -> Option<()> {
    use super::transpose::{to_row_major, transpose_into, UninitBlock};
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let a_copy = if a.rs == 1 { 0 } else if a.cs == 1 { m * k } else { return None };
    if a_copy + m * n * (1 + accumulate as usize) >= k * n { return None; }
    // A column-major: element (i, p) at i + p * lhs_cs (its transpose, row-major, is that copy)
    let a_cm = if a.rs == 1 { None } else { Some(to_row_major(a.data, k, m, a.rs)?) };
    let (lhs, lhs_cs) = match &a_cm { Some(c) => (c.as_slice(), m), None => (a.data, a.cs) };
    // the product's transpose: element (i, j) at j * m + i
    let ct = if accumulate {
        to_row_major(dst, n, m, n)?
    } else {
        let block = UninitBlock::<T>::new(m * n)?;
        // SAFETY: the crate writes every (i, j), i < m, j < n, of the m x n column-major block
        // (j * m + i < m * n, its length), reads none of it (read_dst = false), and reads lhs and
        // b inside their slices: a's were checked by gemm_checked, a copy is m x k exactly.
        unsafe {
            gemm::gemm(m, n, k, block.ptr(), m as isize, 1, false, lhs.as_ptr(), lhs_cs as isize, 1,
                       b.data.as_ptr(), b.cs as isize, 1, T::zero(), T::one(), false, false, false, par);
            block.assume_init()
        }
    };
    if accumulate {
        // SAFETY: as above; the block was initialised from dst and is read and written in place.
        unsafe {
            gemm::gemm(m, n, k, ct.ptr(), m as isize, 1, true, lhs.as_ptr(), lhs_cs as isize, 1,
                       b.data.as_ptr(), b.cs as isize, 1, T::one(), T::one(), false, false, false, par);
        }
    }
    transpose_into(dst, ct.as_slice(), m, n, m).then_some(())
}

/// A bmm operand's shape and strides as [B, rows, cols]: a 3-D view as it is, a 2-D view as a
/// batch of one (its batch stride is never used); `None` for other ranks.
pub fn batched_geometry(b: &crate::tensor::Body) -> Option<([usize; 3], [isize; 3])> {
    match (b.shape.as_slice(), b.strides.as_slice()) {
        (&[bs, r, c], &[sb, sr, sc]) => Some(([bs, r, c], [sb, sr, sc])),
        (&[r, c], &[sr, sc]) => Some(([1, r, c], [0, sr, sc])),
        _ => None,
    }
}

/// out[b] = a[b] @ c[b] for views a [B, m, k] and c [B, k, n] (any strides, as views of their
/// storages; 2-D views count as a batch of one) into the contiguous [B, m, n] (or [m, n]) view
/// `out`. Each product uses `par`, or, with `across_batch`, the batches spread over the pool
/// one per task.
pub fn bmm_views<T: crate::dtype::Elem + num_traits::Zero + num_traits::One>(
    out: &crate::tensor::Body, a: &crate::tensor::Body, c: &crate::tensor::Body, across_batch: bool, par: gemm::Parallelism,
) -> crate::error::Result<()> {
    use crate::storage::Device;
    let ok = |b: &crate::tensor::Body| b.shape.len() == a.shape.len() && b.dtype == T::DTYPE && b.storage.device == Device::Cpu;
    let (Some((ash, sa)), Some((csh, sc)), Some((osh, _))) = (batched_geometry(a), batched_geometry(c), batched_geometry(out)) else {
        crate::bail!("internal: bmm_views expects 2-D or 3-D CPU views of {}", T::DTYPE.name());
    };
    if !ok(out) || !ok(a) || !ok(c) || !out.is_contiguous() {
        crate::bail!("internal: bmm_views expects 2-D or 3-D CPU views of {}", T::DTYPE.name());
    }
    let (bsz, m, k, n) = (ash[0], ash[1], ash[2], csh[2]);
    if csh[0] != bsz || csh[1] != k || osh != [bsz, m, n] {
        crate::bail!("internal: bmm_views shapes {:?} @ {:?} -> {:?}", a.shape, c.shape, out.shape);
    }
    if std::ptr::eq(out.storage.as_ref(), a.storage.as_ref()) || std::ptr::eq(out.storage.as_ref(), c.storage.as_ref()) {
        crate::bail!("internal: bmm_views output shares memory with an input");
    }
    if bsz == 0 || m == 0 || n == 0 { return Ok(()); }
    if k == 0 { return super::strided::fill::<T>(out, T::zero()); }
    let (ap, mut cp, op) = (a.data_ptr() as usize, c.data_ptr() as usize, out.data_ptr() as usize);
    let mut sc = sc;
    let nonneg = |s: &[isize]| s.iter().all(|&x| x >= 0);
    let panel = if nonneg(&sa) && nonneg(&sc) { panel_parts::<T>(m, n, k, par, PANEL_MAX_ROWS) } else { None };
    // a column-major B goes row-major first, as in gemm_checked (it also lets small products
    // take the small-matrix kernel), unless the panel kernel runs: it packs B itself
    let c_rows;
    if panel.is_none() && handle_column_major_b(sc[1], sc[2], m, n) {
        // a B broadcast over the batch (stride 0) is copied once
        let copies = if sc[0] == 0 { 1 } else { bsz };
        let offsets: Vec<isize> = (0..copies).map(|b| b as isize * sc[0]).collect();
        // SAFETY: c is a view inside its storage (check_view_bounds), and (b, p, j) is its
        // element at offsets[b] + j * sc[2] + p.
        c_rows = unsafe { super::transpose::batch_to_row_major(c.data_ptr() as *const T, &offsets, k, n, sc[2]) };
        if let Some(copy) = &c_rows {
            cp = copy.as_slice().as_ptr() as usize;
            sc = [if copies == 1 { 0 } else { (k * n) as isize }, n as isize, 1];
        }
    }
    // SAFETY: a [B,m,k] and c [B,k,n] are views inside their storages (check_view_bounds holds for
    // every view, whatever its strides), or c was replaced by its contiguous copy (`c_rows`, alive
    // until the end of this function), so every element gemm reads for batch b lies inside
    // them (a 2-D view has B = 1, so its placeholder batch stride is multiplied by 0 only);
    // out is a contiguous [B,m,n] view, batch b writes only its own [m,n] block, so
    // parallel batches never alias; the output's storage is not an input's (checked above). The
    // small-matrix and panel kernels, taken only for f32 (TypeId) with non-negative strides, read
    // and write the same elements as gemm would.
    let small = small_f32::<T>(m, n, k, sc[2] == 1) && nonneg(&sa) && nonneg(&sc);
    let one = |b: usize| unsafe {
        if let Some(parts) = panel {
            #[cfg(target_arch = "x86_64")]
            super::panel_gemm::gemm_f32(m, n, k, (ap as *const f32).add(b * sa[0] as usize), sa[1] as usize, sa[2] as usize,
                                        (cp as *const f32).add(b * sc[0] as usize), sc[1] as usize, sc[2] as usize,
                                        (op as *mut f32).add(b * m * n), n, false, std::ptr::null(), if across_batch { 1 } else { parts });
            return;
        }
        if small {
            #[cfg(target_arch = "x86_64")]
            super::small_gemm::gemm_f32(m, n, k, (ap as *const f32).add(b * sa[0] as usize), sa[1] as usize, sa[2] as usize,
                                        (cp as *const f32).add(b * sc[0] as usize), sc[1] as usize,
                                        (op as *mut f32).add(b * m * n), n, false);
            return;
        }
        gemm::gemm(
            m, n, k,
            (op as *mut T).add(b * m * n), 1, n as isize, false,
            (ap as *const T).offset(b as isize * sa[0]), sa[2], sa[1],
            (cp as *const T).offset(b as isize * sc[0]), sc[2], sc[1],
            T::zero(), T::one(), false, false, false, par,
        );
    };
    if across_batch { use rayon::prelude::*; (0..bsz).into_par_iter().for_each(one) } else { (0..bsz).for_each(one) }
    Ok(())
}
