//! Transposing copies: dst [batch, rows, cols] (contiguous) from a source whose rows walk
//! memory with stride 1 down the destination's columns. Square tiles keep both sides in cache;
//! 4-byte elements move as 8x8 blocks transposed in AVX registers (pure bit shuffles).
use rayon::prelude::*;

/// Source geometry: element (b, r, c) of the destination is `src[batch_off(b) + c * col_stride + r]`.
pub struct TransposeSrc<'a> { pub base: usize, pub col_stride: isize, pub batch_offsets: &'a [isize] }

/// Copies the view `s` (strides `ss`, broadcast to d's shape) into the contiguous view `d` when
/// the source walks memory across the destination's rows (a transpose), in square tiles so
/// both sides stay in cache; false (nothing written) when the geometry does not fit or the two
/// share a storage. Handles [.., rows, cols] with src strides (1, k).
pub fn copy_views(d: &crate::tensor::Body, s: &crate::tensor::Body, ss: &[isize]) -> bool {
    let nd = d.shape.len();
    if nd < 2 || !d.is_contiguous() || ss.len() != nd || d.storage.device != crate::storage::Device::Cpu || s.storage.device != crate::storage::Device::Cpu
        || d.dtype != s.dtype || std::ptr::eq(d.storage.as_ref(), s.storage.as_ref()) { return false; }
    let (rows, cols) = (d.shape[nd - 2], d.shape[nd - 1]);
    if ss[nd - 2] != 1 || ss[nd - 1] == 1 || rows < 32 || cols < 32 { return false; }
    let bshape: Vec<usize> = d.shape[..nd - 2].to_vec();
    // element offset of each leading (batch) index in the source
    let mut offs: Vec<isize> = vec![0];
    for (k, &n) in bshape.iter().enumerate() {
        offs = offs.iter().flat_map(|&o| (0..n).map(move |i| o + i as isize * ss[k])).collect();
    }
    let src = TransposeSrc { base: s.data_ptr() as usize, col_stride: ss[nd - 1], batch_offsets: &offs };
    let dst = d.data_ptr() as usize;
    // SAFETY: s and d are views inside their storages (check_view_bounds holds for every view),
    // so every (b, r, c) element address the kernel forms lies inside them; d is contiguous with
    // shape [.., rows, cols]; the two live in different storages, so they cannot overlap.
    unsafe {
        match d.dtype.size() {
            1 => transpose_copy::<u8>(&src, dst, rows, cols),
            2 => transpose_copy::<u16>(&src, dst, rows, cols),
            4 => transpose_copy::<u32>(&src, dst, rows, cols),
            8 => transpose_copy::<u64>(&src, dst, rows, cols),
            _ => return false,
        }
    }
    true
}


/// A row-major matrix copied into a block of the caching allocator (64-byte aligned and with
/// its pages already faulted when reused, unlike a fresh Vec of the same size).
pub struct RowMajorCopy<T> { storage: crate::storage::Storage, len: usize, _elem: std::marker::PhantomData<T> }

impl<T> RowMajorCopy<T> {
    /// The block's address, for writes in place (no reference to it is live meanwhile).
    pub fn ptr(&self) -> *mut T { self.storage.ptr() as *mut T }
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: the storage holds at least len * size_of::<T>() bytes, aligned to 16 or more
        // (every element type's alignment), all initialised before this value was built:
        // `batch_to_row_major` writes every element, and `UninitBlock::assume_init`'s caller
        // guarantees the same.
        unsafe { std::slice::from_raw_parts(self.storage.ptr() as *const T, self.len) }
    }
}

/// A block of the caching allocator for `len` elements that nothing has written yet: it is
/// only written through `ptr`, and read after `assume_init`.
pub struct UninitBlock<T> { storage: crate::storage::Storage, len: usize, _elem: std::marker::PhantomData<T> }

impl<T> UninitBlock<T> {
    pub fn new(len: usize) -> Option<Self> {
        if len == 0 { return None; }
        let storage = crate::storage::Storage::new_uninit(len.checked_mul(std::mem::size_of::<T>())?).ok()?;
        Some(UninitBlock { storage, len, _elem: std::marker::PhantomData })
    }
    pub fn ptr(&self) -> *mut T { self.storage.ptr() as *mut T }
    /// The block as uninitialised elements, for safe writes from parallel chunks.
    pub fn uninit_mut(&mut self) -> &mut [std::mem::MaybeUninit<T>] {
        // SAFETY: the storage holds at least len * size_of::<T>() bytes, aligned to 16 or more
        // (every element type's alignment), borrowed mutably through self; MaybeUninit needs
        // no initialised contents.
        unsafe { std::slice::from_raw_parts_mut(self.storage.ptr() as *mut std::mem::MaybeUninit<T>, self.len) }
    }
    /// # Safety
    /// All `len` elements have been written through `ptr` or `uninit_mut`.
    pub unsafe fn assume_init(self) -> RowMajorCopy<T> { RowMajorCopy { storage: self.storage, len: self.len, _elem: std::marker::PhantomData } }
}

/// `dst[r * cols + c] = src[c * col_stride + r]` for r < rows, c < cols (the transpose of a
/// row-major `cols x rows` matrix, rows `col_stride` apart, into a contiguous one). False,
/// nothing written, when either side is too short or the shape is empty.
pub fn transpose_into<T: Copy + Send + Sync + 'static>(dst: &mut [T], src: &[T], rows: usize, cols: usize, col_stride: usize) -> bool {
    if rows == 0 || cols == 0 || col_stride > isize::MAX as usize || rows.checked_mul(cols).is_none_or(|len| len > dst.len()) { return false; }
    if (cols - 1).checked_mul(col_stride).and_then(|x| x.checked_add(rows)).is_none_or(|end| end > src.len()) { return false; }
    let geometry = TransposeSrc { base: src.as_ptr() as usize, col_stride: col_stride as isize, batch_offsets: &[0] };
    // SAFETY: reads end at (cols-1) * col_stride + rows - 1 < src.len() and writes at
    // rows * cols - 1 < dst.len() (both checked above); dst is a mutable borrow, so it does
    // not overlap src.
    unsafe { transpose_copy::<T>(&geometry, dst.as_mut_ptr() as usize, rows, cols) };
    true
}

/// `out[r * cols + c] = src[c * col_stride + r]` for r < rows, c < cols: the row-major copy of
/// a `rows x cols` matrix stored column by column, columns `col_stride` apart. `None` when the
/// matrix does not fit `src`, is empty, or the allocation fails.
pub fn to_row_major<T: Copy + Send + Sync + 'static>(src: &[T], rows: usize, cols: usize, col_stride: usize) -> Option<RowMajorCopy<T>> {
    if rows == 0 || cols == 0 || col_stride > isize::MAX as usize { return None; }
    if (cols - 1).checked_mul(col_stride)?.checked_add(rows)? > src.len() { return None; }
    // SAFETY: element (r, c) is read at c * col_stride + r <= (cols-1) * col_stride + rows - 1,
    // inside `src` (checked above).
    unsafe { batch_to_row_major(src.as_ptr(), &[0], rows, cols, col_stride as isize) }
}

/// The contiguous [batch, rows, cols] copy of matrices stored column by column: element
/// (b, r, c) from `src + batch_offsets[b] + c * col_stride + r`. `None` when empty or when the
/// allocation fails.
///
/// # Safety
/// Every such source address lies inside one live allocation.
pub unsafe fn batch_to_row_major<T: Copy + Send + Sync + 'static>(src: *const T, batch_offsets: &[isize], rows: usize, cols: usize, col_stride: isize) -> Option<RowMajorCopy<T>> {
    let len = batch_offsets.len().checked_mul(rows)?.checked_mul(cols)?;
    if len == 0 { return None; }
    let storage = crate::storage::Storage::new_uninit(len.checked_mul(std::mem::size_of::<T>())?).ok()?;
    let geometry = TransposeSrc { base: src as usize, col_stride, batch_offsets };
    // SAFETY: the reads are inside the source (the caller's contract); the storage is a fresh
    // block of batch * rows * cols elements, so it overlaps nothing, and transpose_copy
    // writes each of its elements exactly once (whole blocks plus the scalar edges).
    transpose_copy::<T>(&geometry, storage.ptr() as usize, rows, cols);
    Some(RowMajorCopy { storage, len, _elem: std::marker::PhantomData })
}

const TILE: usize = 64;
/// Outputs at least this large use streaming stores (well past this VM's 2 MiB L2 per core).
const STREAM_MIN_BYTES: usize = 16 << 20;

/// Copies with elements of `E` (1, 2, 4 or 8 bytes). `src`/`dst` are raw addresses.
///
/// # Safety
/// For every b < batch, r < rows, c < cols: `src.base + (batch_offsets[b] + c * col_stride + r)`
/// elements of E is inside the source allocation, and `dst + (b * rows + r) * cols + c` inside
/// the destination, which does not overlap the source.
pub unsafe fn transpose_copy<E: Copy + Send + Sync + 'static>(src: &TransposeSrc, dst: usize, rows: usize, cols: usize) {
    let batch = src.batch_offsets.len();
    let (tr, tc) = (rows.div_ceil(TILE), cols.div_ceil(TILE));
    let avx = std::mem::size_of::<E>() == 4 && src.col_stride > 0 && has_avx2();
    let avx512 = avx && super::simd::has_avx512();
    // 16x16 blocks on AVX-512: each block reads 16 whole source lines and writes 16 whole
    // destination lines at once. With a power-of-two row stride every line of a tile falls
    // in one L1 set, so 8x8 blocks (half lines) lost each line between its two halves.
    let blk = if avx512 { 16 } else { 8 };
    // Outputs far larger than the caches are written with streaming stores, which skip
    // reading each destination line before overwriting it (a third of the memory traffic).
    // They need 64-byte aligned rows: an aligned base and a row pitch of whole lines.
    let stream = avx512 && rows * cols * batch * 4 >= STREAM_MIN_BYTES && dst % 64 == 0 && cols % 16 == 0;
    let work = |job: usize| {
        let (b, t) = (job / (tr * tc), job % (tr * tc));
        let (r0, c0) = ((t / tc) * TILE, (t % tc) * TILE);
        let (r1, c1) = ((r0 + TILE).min(rows), (c0 + TILE).min(cols));
        let s = (src.base as *const E).offset(src.batch_offsets[b]);
        let d = (dst as *mut E).add(b * rows * cols);
        let (mut rb, mut cb) = (r0, c0);
        if avx {
            // whole 8x8 blocks in registers; the ragged right and bottom edges go scalar below
            rb = r0 + (r1 - r0) / blk * blk;
            cb = c0 + (c1 - c0) / blk * blk;
            for c in (c0..cb).step_by(blk) {
                for r in (r0..rb).step_by(blk) {
                    let (sp, dp) = (s.offset(c as isize * src.col_stride + r as isize) as *const f32, d.add(r * cols + c) as *mut f32);
                    #[cfg(target_arch = "x86_64")]
                    if avx512 {
                        if stream { block16x16_avx512::<true>(sp, src.col_stride as usize, dp, cols) } else { block16x16_avx512::<false>(sp, src.col_stride as usize, dp, cols) }
                        continue;
                    }
                    block8x8(sp, src.col_stride as usize, dp, cols);
                }
            }
        }
        let scalar = |ra: usize, rz: usize, ca: usize, cz: usize| {
            for c in ca..cz {
                let sc = s.offset(c as isize * src.col_stride);
                for r in ra..rz { *d.add(r * cols + c) = *sc.add(r); }
            }
        };
        if avx { scalar(rb, r1, c0, c1); scalar(r0, rb, cb, c1); } else { scalar(r0, r1, c0, c1); }
        // streaming stores are weakly ordered: fence them before this job counts as done
        #[cfg(target_arch = "x86_64")]
        if stream { std::arch::x86_64::_mm_sfence(); }
    };
    let jobs = batch * tr * tc;
    if rows * cols * batch >= super::iter::GRAIN && super::iter::parallel_ok() { (0..jobs).into_par_iter().for_each(work) } else { (0..jobs).for_each(work) }
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    { std::is_x86_feature_detected!("avx2") }
    #[cfg(not(target_arch = "x86_64"))]
    { false }
}

/// Transposes one 8x8 block of 4-byte elements: dst row j, column i = src row i, column j.
///
/// # Safety
/// 8 rows of 8 elements at `src + i * src_stride` and at `dst + j * dst_stride` are valid, and
/// the CPU has AVX2 (checked by the caller through `has_avx2`).
#[inline]
unsafe fn block8x8(src: *const f32, src_stride: usize, dst: *mut f32, dst_stride: usize) {
    #[cfg(target_arch = "x86_64")]
    { block8x8_avx(src, src_stride, dst, dst_stride) }
    #[cfg(not(target_arch = "x86_64"))]
    { for i in 0..8 { for j in 0..8 { *dst.add(j * dst_stride + i) = *src.add(i * src_stride + j); } } }
}

/// `block16x16_avx512` with ordinary stores, for other kernels (the panel GEMM's packing).
///
/// # Safety
/// As `block16x16_avx512` without `STREAM`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub unsafe fn block16x16_f32(src: *const f32, ss: usize, dst: *mut f32, ds: usize) { block16x16_avx512::<false>(src, ss, dst, ds) }

/// Transposes one 16x16 block of 4-byte elements in zmm registers; `STREAM` writes with
/// non-temporal stores.
///
/// # Safety
/// As `block8x8` with 16 rows of 16 elements, on a CPU with AVX-512F (`has_avx512`); with
/// `STREAM`, every destination row start is 64-byte aligned.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block16x16_avx512<const STREAM: bool>(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
    use std::arch::x86_64::*;
    let r: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(src.add(i * ss)));
    // pairs of rows interleaved, then 4x4 transposes inside each 128-bit lane:
    // q[g][m] lane j holds column 4j + m of rows 4g..4g+3
    let t: [__m512; 16] = std::array::from_fn(|i| {
        let (a, b) = (r[i / 2 * 2], r[i / 2 * 2 + 1]);
        if i % 2 == 0 { _mm512_unpacklo_ps(a, b) } else { _mm512_unpackhi_ps(a, b) }
    });
    let q: [[__m512; 4]; 4] = std::array::from_fn(|g| {
        let (t0, t1, t2, t3) = (t[4 * g], t[4 * g + 1], t[4 * g + 2], t[4 * g + 3]);
        [_mm512_shuffle_ps::<0x44>(t0, t2), _mm512_shuffle_ps::<0xEE>(t0, t2), _mm512_shuffle_ps::<0x44>(t1, t3), _mm512_shuffle_ps::<0xEE>(t1, t3)]
    });
    // a macro, not a closure, so the stores are compiled with this function's features
    macro_rules! store { ($p:expr, $v:expr) => { if STREAM { _mm512_stream_ps($p, $v) } else { _mm512_storeu_ps($p, $v) } } }
    // gather lane j of q[0..4][m] into output row 4j + m
    for m in 0..4 {
        let a01 = _mm512_shuffle_f32x4::<0x44>(q[0][m], q[1][m]);
        let b01 = _mm512_shuffle_f32x4::<0x44>(q[2][m], q[3][m]);
        let a23 = _mm512_shuffle_f32x4::<0xEE>(q[0][m], q[1][m]);
        let b23 = _mm512_shuffle_f32x4::<0xEE>(q[2][m], q[3][m]);
        store!(dst.add(m * ds), _mm512_shuffle_f32x4::<0x88>(a01, b01));
        store!(dst.add((4 + m) * ds), _mm512_shuffle_f32x4::<0xDD>(a01, b01));
        store!(dst.add((8 + m) * ds), _mm512_shuffle_f32x4::<0x88>(a23, b23));
        store!(dst.add((12 + m) * ds), _mm512_shuffle_f32x4::<0xDD>(a23, b23));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn block8x8_avx(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
    use std::arch::x86_64::*;
    let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(src.add(i * ss)));
    let t0 = _mm256_unpacklo_ps(r[0], r[1]); let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]); let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]); let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]); let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2); let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3); let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6); let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7); let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    let o = [
        _mm256_permute2f128_ps::<0x20>(s0, s4), _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6), _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4), _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6), _mm256_permute2f128_ps::<0x31>(s3, s7),
    ];
    for (j, v) in o.iter().enumerate() { _mm256_storeu_ps(dst.add(j * ds), *v); }
}
