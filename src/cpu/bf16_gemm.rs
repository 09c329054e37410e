//! bfloat16 matrix products on Intel AMX (Sapphire Rapids and later), as PyTorch runs them
//! through oneDNN: bf16 operands, products summed in f32, the result rounded to bf16 once.
//! Elsewhere (`matmul_in_bf16` false) the ops layer converts bf16 operands to f32 and runs the
//! f32 GEMM, which rounds the same way; only AMX's flushing of subnormal inputs and outputs
//! to zero, which oneDNN's AMX path shares, tells the two apart.
//!
//! Operands are packed into AMX's tile layouts (zero-padded to whole tiles): A in 16-row x
//! 32-element tiles, B in "VNNI" tiles of 16 pairs of rows x 16 columns with each column's two
//! elements adjacent. Pairs of tiles lie next to each other so one pointer walks both. Each
//! task owns a block of C (`BLOCK` x `BLOCK`) kept in f32 while k advances in steps of
//! `KC_STEPS` tiles; the microkernel keeps a 32x32 piece of C in four tile registers.
//!
//! The tile instructions are written with `asm!` (Rust's AMX intrinsics are unstable) and run
//! only after `amx_available()` saw the CPU's AMX-TILE and AMX-BF16 bits and Linux granted the
//! process the tile state (`arch_prctl(ARCH_REQ_XCOMP_PERM)`); `FERROTORCH_AMX=0` turns the
//! path off. A portable emulation of the same microkernel lets the packing and blocking be
//! tested on any machine (`tests` below).

use crate::error::Result;
use crate::tensor::Body;

/// Elements of k per tile (64 bytes of bf16 per tile row).
const TK: usize = 32;
/// Rows (of A) or columns (of B) per tile.
const TR: usize = 16;
/// u16 elements per tile (1 KiB).
const TILE: usize = TR * TK;
/// Rows and columns of C per task (a multiple of 2 * TR).
const BLOCK: usize = 128;
/// k tiles per microkernel call: a pair of A tiles and a pair of B tiles over 8 k tiles are
/// 16 KiB each, so the A pair stays in L1 while the B pairs of the block come from L2.
const KC_STEPS: usize = 8;
/// Below this many multiply-adds the f32 path is as fast (packing and setup dominate).
const MIN_WORK: usize = 32 * 32 * 32;
/// From this many multiply-adds the blocks spread over the pool.
const PARALLEL_WORK: usize = 1 << 22;

/// Whether a bf16 product of (m x k) @ (k x n) runs in bf16 here (AMX), not through f32.
pub fn matmul_in_bf16(m: usize, n: usize, k: usize) -> bool {
    m.saturating_mul(n).saturating_mul(k) >= MIN_WORK && amx_available()
}

/// AMX-TILE and AMX-BF16 present and the tile state granted to this process (checked once).
pub fn amx_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| std::env::var("FERROTORCH_AMX").map_or(true, |v| v != "0") && detect_amx())
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn detect_amx() -> bool {
    use std::arch::x86_64::__cpuid_count;
    // SAFETY: cpuid exists on every x86_64 CPU; leaf 7 is read only when leaf 0 reports it.
    #[allow(unused_unsafe)]
    let (max_leaf, edx7) = unsafe {
        let max_leaf = __cpuid_count(0, 0).eax;
        (max_leaf, if max_leaf >= 7 { __cpuid_count(7, 0).edx } else { 0 })
    };
    let (amx_bf16, amx_tile) = (edx7 >> 22 & 1 == 1, edx7 >> 24 & 1 == 1);
    if max_leaf < 7 || !amx_bf16 || !amx_tile { return false; }
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: this arch_prctl request takes a feature number, touches no memory, and only
    // enables the tile state for this process (an error return leaves AMX off).
    unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn detect_amx() -> bool { false }

/// A's tiles for one matrix: element (i, p) at `((i/32 * kt + p/32) * 2 + i%32/16) * TILE +
/// i%16 * 32 + p%32`, zero outside m x k.
fn a_index(i: usize, p: usize, kt: usize) -> usize {
    ((i / (2 * TR) * kt + p / TK) * 2 + i % (2 * TR) / TR) * TILE + i % TR * TK + p % TK
}
/// B's VNNI tiles for one matrix: element (p, j) at `((j/32 * kt + p/32) * 2 + j%32/16) * TILE
/// + p%32/2 * 32 + j%16 * 2 + p%2`, zero outside k x n.
fn b_index(p: usize, j: usize, kt: usize) -> usize {
    ((j / (2 * TR) * kt + p / TK) * 2 + j % (2 * TR) / TR) * TILE + p % TK / 2 * TK + j % TR * 2 + p % 2
}

/// A strided bf16 matrix inside a view's memory: element (r, c) at `base + r*rs + c*cs`.
#[derive(Clone, Copy)]
struct Strided { base: usize, rows: usize, cols: usize, rs: isize, cs: isize }

/// Packs A's pairs of 16-row tiles, from pair `first_pair` on, into `dst` (2 * kt tiles each).
///
/// # Safety
/// Every element of `a` (r < rows, c < cols) lies inside one live allocation of u16.
unsafe fn pack_a(dst: &mut [u16], a: Strided, first_pair: usize, kt: usize) {
    let base = a.base as *const u16;
    for (q, chunk) in dst.chunks_mut(2 * kt * TILE).enumerate() {
        let i0 = (first_pair + q) * 2 * TR;
        chunk.fill(0);
        for i in i0..(i0 + 2 * TR).min(a.rows) {
            let row_in_pair = a_index(i, 0, kt) - a_index(i0, 0, kt);
            for t in 0..kt {
                let (p0, len) = (t * TK, TK.min(a.cols - t * TK));
                let d = &mut chunk[row_in_pair + 2 * t * TILE..][..len];
                // SAFETY: i < rows and p0 + e < cols (the caller's contract)
                unsafe {
                    if a.cs == 1 {
                        std::ptr::copy_nonoverlapping(base.offset(i as isize * a.rs + p0 as isize), d.as_mut_ptr(), len);
                    } else {
                        for (e, v) in d.iter_mut().enumerate() { *v = *base.offset(i as isize * a.rs + (p0 + e) as isize * a.cs); }
                    }
                }
            }
        }
    }
}

/// Packs B's pairs of 16-column tiles, from pair `first_pair` on, into `dst` (2 * kt tiles each).
///
/// # Safety
/// Every element of `b` (r < rows, c < cols) lies inside one live allocation of u16.
unsafe fn pack_b(dst: &mut [u16], b: Strided, first_pair: usize, kt: usize) {
    let base = b.base as *const u16;
    for (q, chunk) in dst.chunks_mut(2 * kt * TILE).enumerate() {
        let j0 = (first_pair + q) * 2 * TR;
        let width = (2 * TR).min(b.cols - j0);
        chunk.fill(0);
        for p in 0..b.rows {
            // row p of B within the pair: tile p/32 (then /16 columns), pair row p%32/2, slot p%2
            let row_start = b_index(p, j0, kt) - b_index(0, j0, kt);
            for jj in 0..width {
                let slot = row_start + jj / TR * TILE + jj % TR * 2;
                // SAFETY: p < rows and j0 + jj < cols (the caller's contract)
                chunk[slot] = unsafe { *base.offset(p as isize * b.rs + (j0 + jj) as isize * b.cs) };
            }
        }
    }
}

/// The microkernel: the 32x32 f32 piece of C at `c` (row stride `ldc` floats) += the pair of A
/// tiles at `a` times the pair of B tiles at `b`, over `steps` k tiles (pairs `2 * TILE`
/// apart). C's tiles: rows 0-15 x columns 0-15, rows 0-15 x 16-31, rows 16-31 x 0-15,
/// rows 16-31 x 16-31.
type Microkernel = unsafe fn(a: *const u16, b: *const u16, c: *mut f32, ldc: usize, steps: usize);

/// AMX's tile configuration: palette 1, tiles 0-7 all 16 rows of 64 bytes.
#[cfg(target_arch = "x86_64")]
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

#[cfg(target_arch = "x86_64")]
impl TileConfig {
    fn all_full() -> Self {
        let mut cfg = [0u8; 64];
        cfg[0] = 1;
        for t in 0..8 {
            cfg[16 + 2 * t..18 + 2 * t].copy_from_slice(&64u16.to_le_bytes());
            cfg[48 + t] = 16;
        }
        TileConfig(cfg)
    }
}

/// Loads the tile configuration on this thread and releases the tiles when dropped.
#[cfg(target_arch = "x86_64")]
struct TilesConfigured;

#[cfg(target_arch = "x86_64")]
impl TilesConfigured {
    /// # Safety
    /// `amx_available()` is true.
    unsafe fn new() -> Self {
        let cfg = TileConfig::all_full();
        // SAFETY: AMX is present and granted (the caller's contract); ldtilecfg reads the 64
        // bytes of `cfg` and changes no memory or general register.
        unsafe { std::arch::asm!("ldtilecfg [{0}]", in(reg) cfg.0.as_ptr(), options(nostack, readonly)) };
        TilesConfigured
    }
}

#[cfg(target_arch = "x86_64")]
impl Drop for TilesConfigured {
    fn drop(&mut self) {
        // SAFETY: the tiles were configured by `new`, so AMX is present and granted.
        unsafe { std::arch::asm!("tilerelease", options(nostack, nomem)) };
    }
}

/// The AMX microkernel (see `Microkernel`).
///
/// # Safety
/// A `TilesConfigured` is alive on this thread; `steps >= 1`; a and b hold `steps * 2 * TILE`
/// u16 each; c's 32 rows of 32 floats, `ldc` floats apart, lie inside one allocation.
#[cfg(target_arch = "x86_64")]
unsafe fn amx_microkernel(a: *const u16, b: *const u16, c: *mut f32, ldc: usize, steps: usize) {
    // SAFETY: the caller's contract: every tile load reads 16 rows of 64 bytes at 64-byte
    // strides inside a's and b's 2 KiB per step, and C's loads and stores stay inside its 32
    // rows of 128 bytes at `ldc * 4`-byte strides; the loop runs `steps` >= 1 times.
    unsafe {
        std::arch::asm!(
            "lea {c1}, [{c} + {ldc}*8]",
            "lea {c1}, [{c1} + {ldc}*8]",
            "tileloadd tmm0, [{c} + {ldc}*1]",
            "tileloadd tmm1, [{c} + {ldc}*1 + 64]",
            "tileloadd tmm2, [{c1} + {ldc}*1]",
            "tileloadd tmm3, [{c1} + {ldc}*1 + 64]",
            "2:",
            "tileloadd tmm4, [{a} + {s}*1]",
            "tileloadd tmm6, [{b} + {s}*1]",
            "tileloadd tmm5, [{a} + {s}*1 + 1024]",
            "tileloadd tmm7, [{b} + {s}*1 + 1024]",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tdpbf16ps tmm1, tmm4, tmm7",
            "tdpbf16ps tmm2, tmm5, tmm6",
            "tdpbf16ps tmm3, tmm5, tmm7",
            "add {a}, 2048",
            "add {b}, 2048",
            "dec {n}",
            "jnz 2b",
            "tilestored [{c} + {ldc}*1], tmm0",
            "tilestored [{c} + {ldc}*1 + 64], tmm1",
            "tilestored [{c1} + {ldc}*1], tmm2",
            "tilestored [{c1} + {ldc}*1 + 64], tmm3",
            a = inout(reg) a => _,
            b = inout(reg) b => _,
            n = inout(reg) steps => _,
            c = in(reg) c,
            ldc = in(reg) ldc * 4,
            s = in(reg) 64usize,
            c1 = out(reg) _,
            out("tmm0") _, out("tmm1") _, out("tmm2") _, out("tmm3") _,
            out("tmm4") _, out("tmm5") _, out("tmm6") _, out("tmm7") _,
            options(nostack),
        );
    }
}

/// The microkernel's arithmetic in portable code (products and sums in f32, pairs summed as
/// TDPBF16PS does), for testing the packing and blocking on any CPU.
///
/// # Safety
/// As `amx_microkernel`, without the tile configuration.
#[cfg_attr(not(test), allow(dead_code))]
unsafe fn emulated_microkernel(a: *const u16, b: *const u16, c: *mut f32, ldc: usize, steps: usize) {
    let f = |bits: u16| f32::from_bits((bits as u32) << 16);
    for s in 0..steps {
        for h in 0..2 {
            for g in 0..2 {
                // SAFETY: the caller's contract bounds these reads and writes
                unsafe {
                    let (at, bt) = (a.add((s * 2 + h) * TILE), b.add((s * 2 + g) * TILE));
                    for r in 0..TR {
                        for col in 0..TR {
                            let cp = c.add((h * TR + r) * ldc + g * TR + col);
                            let mut acc = *cp;
                            for kp in 0..TK / 2 {
                                let (a0, a1) = (*at.add(r * TK + 2 * kp), *at.add(r * TK + 2 * kp + 1));
                                let (b0, b1) = (*bt.add(kp * TK + col * 2), *bt.add(kp * TK + col * 2 + 1));
                                acc += f(a0) * f(b0) + f(a1) * f(b1);
                            }
                            *cp = acc;
                        }
                    }
                }
            }
        }
    }
}

/// One matrix product's operands and output: A (m x k) and B (k x n) strided, C (m x n)
/// contiguous, all bf16 as u16 bits.
#[derive(Clone, Copy)]
struct Product { a: Strided, b: Strided, c: usize }

/// out[b] = a[b] @ c[b] [+ bias] in bf16 for 3-D (or 2-D, a batch of one) bf16 views (any
/// strides) into the contiguous [B, m, n] view `out`, on AMX; the f32 `bias` (n values, on every
/// row) joins the f32 sums, so the result is rounded once, as PyTorch's addmm does. Errors when
/// AMX is absent: the ops layer asks `matmul_in_bf16` first.
pub fn bmm_bf16(out: &Body, a: &Body, c: &Body, bias: Option<&[f32]>) -> Result<()> {
    if !amx_available() { crate::bail!("internal: bf16 matmul kernel without AMX"); }
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: AMX is available (checked above)
        unsafe { bmm_with(out, a, c, bias, amx_microkernel, true) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    { let _ = (out, a, c, bias); crate::bail!("internal: bf16 matmul kernel without AMX") }
}

/// `bmm_bf16` with a given microkernel (`configure`: load the AMX tile configuration in each
/// task).
///
/// # Safety
/// `kernel` runs on this CPU (with `configure` when it is the AMX kernel).
unsafe fn bmm_with(out: &Body, a: &Body, c: &Body, bias: Option<&[f32]>, kernel: Microkernel, configure: bool) -> Result<()> {
    use crate::dtype::DType;
    use crate::storage::Device;
    use rayon::prelude::*;
    let ok = |t: &Body| t.dtype == DType::BF16 && t.storage.device == Device::Cpu;
    let (Some((ash, sa)), Some((csh, sc)), Some((osh, _))) =
        (super::gemm::batched_geometry(a), super::gemm::batched_geometry(c), super::gemm::batched_geometry(out)) else {
        crate::bail!("internal: bf16 bmm expects 2-D or 3-D views, got {:?} and {:?}", a.shape, c.shape);
    };
    if !ok(out) || !ok(a) || !ok(c) || !out.is_contiguous() {
        crate::bail!("internal: bf16 bmm expects CPU bf16 views and a contiguous output");
    }
    let (bsz, m, k, n) = (ash[0], ash[1], ash[2], csh[2]);
    if csh[0] != bsz || csh[1] != k || osh != [bsz, m, n] {
        crate::bail!("internal: bf16 bmm shapes {:?} @ {:?} -> {:?}", a.shape, c.shape, out.shape);
    }
    if std::ptr::eq(out.storage.as_ref(), a.storage.as_ref()) || std::ptr::eq(out.storage.as_ref(), c.storage.as_ref()) {
        crate::bail!("internal: bf16 bmm output shares memory with an input");
    }
    if bias.is_some_and(|v| v.len() != n) { crate::bail!("internal: bf16 bmm bias of {} for {} columns", bias.map_or(0, |v| v.len()), n); }
    if bsz == 0 || m == 0 || n == 0 { return Ok(()); }
    if k == 0 && bias.is_none() { return super::strided::fill::<half::bf16>(out, half::bf16::ZERO); }
    // k = 0 (with a bias) packs one tile of zeros: the microkernel runs at least one step
    let (mp, np, kt) = (m.div_ceil(2 * TR), n.div_ceil(2 * TR), k.div_ceil(TK).max(1));
    // packed sizes: pairs of tiles per matrix, per batch
    let a_len = mp.checked_mul(2 * kt * TILE).ok_or_else(|| crate::rt_err!("bf16 matmul: operand too large"))?;
    let b_len = np.checked_mul(2 * kt * TILE).ok_or_else(|| crate::rt_err!("bf16 matmul: operand too large"))?;
    let mut a_packed = try_zeroed(a_len.checked_mul(bsz))?;
    let mut b_packed = try_zeroed(b_len.checked_mul(bsz))?;
    let work = bsz.saturating_mul(m).saturating_mul(n).saturating_mul(k);
    let parallel = work >= PARALLEL_WORK && super::iter::parallel_ok();
    let products: Vec<Product> = (0..bsz).map(|b| Product {
        a: Strided { base: a.data_ptr().wrapping_offset(2 * b as isize * sa[0]) as usize, rows: m, cols: k, rs: sa[1], cs: sa[2] },
        b: Strided { base: c.data_ptr().wrapping_offset(2 * b as isize * sc[0]) as usize, rows: k, cols: n, rs: sc[1], cs: sc[2] },
        c: out.data_ptr() as usize + 2 * b * m * n,
    }).collect();
    // Pack every operand, one pair of tiles per task.
    // SAFETY (both packs): a [B,m,k] and c [B,k,n] are views inside their storages
    // (check_view_bounds holds for every view, whatever its strides), so every element
    // (b, r, col) read at base + 2 * (b*sb + r*rs + col*cs) bytes lies inside them; a
    // 2-D view has B = 1, so its placeholder batch stride is multiplied by 0 only.
    let pack_a_pair = |(t, chunk): (usize, &mut [u16])| unsafe { pack_a(chunk, products[t / mp].a, t % mp, kt) };
    let pack_b_pair = |(t, chunk): (usize, &mut [u16])| unsafe { pack_b(chunk, products[t / np].b, t % np, kt) };
    if parallel {
        a_packed.par_chunks_mut(2 * kt * TILE).enumerate().for_each(pack_a_pair);
        b_packed.par_chunks_mut(2 * kt * TILE).enumerate().for_each(pack_b_pair);
    } else {
        a_packed.chunks_mut(2 * kt * TILE).enumerate().for_each(pack_a_pair);
        b_packed.chunks_mut(2 * kt * TILE).enumerate().for_each(pack_b_pair);
    }
    let (row_blocks, col_blocks) = (m.div_ceil(BLOCK), n.div_ceil(BLOCK));
    let (ap, bp) = (a_packed.as_ptr() as usize, b_packed.as_ptr() as usize);
    let block = |t: usize| {
        let (batch, rb, cb) = (t / (row_blocks * col_blocks), t / col_blocks % row_blocks, t % col_blocks);
        let (i0, j0) = (rb * BLOCK, cb * BLOCK);
        let (rows, cols) = (BLOCK.min(m - i0), BLOCK.min(n - j0));
        let mut acc = vec![0f32; BLOCK * BLOCK];
        if let Some(v) = bias {
            for row in acc.chunks_mut(BLOCK).take(rows) { row[..cols].copy_from_slice(&v[j0..j0 + cols]); }
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AMX is present when `configure` is asked (this function's contract)
        let _tiles = configure.then(|| unsafe { TilesConfigured::new() });
        #[cfg(not(target_arch = "x86_64"))]
        let _ = configure;
        for q0 in (0..kt).step_by(KC_STEPS) {
            let steps = KC_STEPS.min(kt - q0);
            for ip in 0..rows.div_ceil(2 * TR) {
                let a_pair = ap + 2 * (batch * a_len + ((i0 / (2 * TR) + ip) * kt + q0) * 2 * TILE);
                for jp in 0..cols.div_ceil(2 * TR) {
                    let b_pair = bp + 2 * (batch * b_len + ((j0 / (2 * TR) + jp) * kt + q0) * 2 * TILE);
                    // SAFETY: pair i0/32 + ip < mp (rows <= m - i0) and q0 + steps <= kt, so the
                    // A tiles read lie inside this batch's a_len; likewise B's inside b_len; the
                    // 32x32 piece at (32 ip, 32 jp) of the BLOCK x BLOCK accumulator lies inside
                    // it (32 (ip + 1) <= BLOCK as rows <= BLOCK, a multiple of 32). The kernel runs
                    // here (this function's contract), with the tiles configured when AMX.
                    unsafe {
                        kernel(a_pair as *const u16, b_pair as *const u16, acc.as_mut_ptr().add(2 * TR * (ip * BLOCK + jp)), BLOCK, steps);
                    }
                }
            }
        }
        // round once to bf16 and store this block's rows of C
        let c_base = products[batch].c as *mut u16;
        for r in 0..rows {
            let src = &acc[r * BLOCK..r * BLOCK + cols];
            // SAFETY: out is a contiguous [B, m, n] view inside its storage; (batch, i0 + r, j0..j0
            // + cols) lies inside it (i0 + r < m, j0 + cols <= n); blocks never share an element,
            // so no two tasks write the same memory; out does not share storage with a or c.
            let dst = unsafe { std::slice::from_raw_parts_mut(c_base.add((i0 + r) * n + j0), cols) };
            for (d, &v) in dst.iter_mut().zip(src) { *d = half::bf16::from_f32(v).to_bits(); }
        }
    };
    let tasks = bsz * row_blocks * col_blocks;
    if parallel { (0..tasks).into_par_iter().with_max_len(1).for_each(block) } else { (0..tasks).for_each(block) }
    Ok(())
}

/// A zero-filled u16 buffer of `len` elements (`None`: the size overflowed), or PyTorch's
/// out-of-memory error.
fn try_zeroed(len: Option<usize>) -> Result<Vec<u16>> {
    let len = len.filter(|&l| l <= isize::MAX as usize / 2).ok_or_else(|| crate::rt_err!("bf16 matmul: operand too large"))?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| crate::rt_err!("DefaultCPUAllocator: not enough memory: you tried to allocate {} bytes.", 2 * len))?;
    v.resize(len, 0);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::tensor::Tensor;

    /// A bias joins the f32 sums (rounded once), also with k = 0.
    #[test]
    fn bias_rounds_once() {
        for k in [0usize, 40] {
            let (m, n) = (35, 50);
            let av: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32).collect();
            let bv: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 - 2.0).collect();
            let bias: Vec<f32> = (0..n).map(|j| 1000.5 + j as f32).collect();
            let to_bf16 = |v: Vec<f32>, s: &[usize]| crate::ops::copy::to_dtype(&Tensor::from_vec(v, s).unwrap(), DType::BF16).unwrap();
            let (a, b) = (to_bf16(av.clone(), &[m, k]), to_bf16(bv.clone(), &[k, n]));
            let out = Tensor::empty(&[m, n], DType::BF16).unwrap();
            // SAFETY: the emulated kernel runs on every CPU and needs no configuration
            unsafe { bmm_with(&out.body_ref(), &a.body_ref(), &b.body_ref(), Some(&bias), emulated_microkernel, false).unwrap() };
            let got = crate::ops::copy::to_dtype(&out, DType::F32).unwrap().to_vec::<f32>().unwrap();
            for i in 0..m {
                for j in 0..n {
                    let want = bias[j] + (0..k).map(|p| av[i * k + p] * bv[p * n + j]).sum::<f32>();
                    assert_eq!(got[i * n + j], half::bf16::from_f32(want).to_f32(), "k={k} ({i},{j})");
                }
            }
        }
    }

    /// The packed product (emulated microkernel) against f32 sums, over shapes that cover
    /// partial tiles, pairs and blocks, transposed (column-major) operands and batches.
    #[test]
    fn packed_product_matches_f32() {
        for &(bsz, m, k, n, a_t, b_t) in &[(1, 1, 1, 1, false, false), (1, 17, 33, 15, false, true), (2, 40, 70, 130, true, false),
                                           (1, 129, 300, 140, true, true), (3, 31, 32, 33, false, false)] {
            let av: Vec<f32> = (0..bsz * m * k).map(|i| ((i * 7 % 23) as f32 - 11.0) / 8.0).collect();
            let bv: Vec<f32> = (0..bsz * k * n).map(|i| ((i * 5 % 19) as f32 - 9.0) / 4.0).collect();
            let make = |v: &[f32], r: usize, c: usize, t: bool| {
                let x = if t {
                    let d: Vec<f32> = (0..bsz).flat_map(|b| (0..c).flat_map(move |j| (0..r).map(move |i| v[b * r * c + i * c + j]))).collect();
                    crate::ops::shape::transpose(&Tensor::from_vec(d, &[bsz, c, r]).unwrap(), 1, 2).unwrap()
                } else { Tensor::from_vec(v.to_vec(), &[bsz, r, c]).unwrap() };
                crate::ops::copy::to_dtype(&x, DType::BF16).unwrap()
            };
            let (a, b) = (make(&av, m, k, a_t), make(&bv, k, n, b_t));
            let out = Tensor::empty(&[bsz, m, n], DType::BF16).unwrap();
            // SAFETY: the emulated kernel runs on every CPU and needs no configuration
            unsafe { bmm_with(&out.body_ref(), &a.body_ref(), &b.body_ref(), None, emulated_microkernel, false).unwrap() };
            let got: Vec<f32> = crate::ops::copy::to_dtype(&out, DType::F32).unwrap().to_vec::<f32>().unwrap();
            for bb in 0..bsz {
                for i in 0..m {
                    for j in 0..n {
                        // the values are exact in bf16, and their sums exact in f32
                        let want: f32 = (0..k).map(|p| av[bb * m * k + i * k + p] * bv[bb * k * n + p * n + j]).sum();
                        let g = got[bb * m * n + i * n + j];
                        assert_eq!(g, half::bf16::from_f32(want).to_f32(), "{bsz}x{m}x{k}x{n} at ({bb},{i},{j})");
                    }
                }
            }
        }
    }
}
