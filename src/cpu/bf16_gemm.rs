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
//! only after `kernel()` saw the CPU's AMX-TILE and AMX-BF16 bits and Linux granted the
//! process the tile state (`arch_prctl(ARCH_REQ_XCOMP_PERM)`). A VDPBF16PS (AVX512-BF16) kernel
//! over the same packed operands runs when asked for (`FERROTORCH_BF16_MATMUL`, see `kernel`).
//! A portable emulation of the microkernel lets the packing and blocking be tested on any
//! machine (`tests` below).

use crate::error::Result;
use crate::tensor::Body;
use std::mem::MaybeUninit;

/// Elements of k per tile (64 bytes of bf16 per tile row).
const TK: usize = 32;
/// Rows (of A) or columns (of B) per tile.
const TR: usize = 16;
/// u16 elements per tile (1 KiB).
const TILE: usize = TR * TK;
/// Rows and columns of C per task (a multiple of 2 * TR); `FERROTORCH_AMX_BLOCK` sets another
/// (32 to 512) for tuning.
const BLOCK: usize = 64;
/// k tiles per microkernel call (`FERROTORCH_AMX_STEPS` sets another for tuning): C stays in
/// the tile registers across up to 2048 of k, and B's tiles are prefetched two steps ahead.
const KC_STEPS: usize = 64;
// Chosen on the lent H200 host's 16-core Sapphire Rapids-class Xeon (best of 3 runs, ms, for
// 1024³ / 2048³ / 2048x64x2048 / 256³ bf16 products): one thread, block 128 with 8 steps and no
// prefetch 4.47 / 34.0 / 2.55 / 0.101, 64 steps 3.95 / 29.0 / 2.64 / 0.096, with prefetch
// 3.68 / 26.2 / 2.68 / 0.096, block 64 3.60 / 27.9 / 2.16 / 0.104; 16 threads: 1.13 / 5.07 /
// 0.38 / 0.094, 1.03 / 4.62 / 0.37 / 0.095, 1.03 / 4.46 / 0.37 / 0.097, block 64: 0.90 / 3.99 /
// 0.32 / 0.083. Through f32 instead: 13.8 / 111 / 4.29 / 0.225 (one thread), 2.08 / 12.1 / 0.59
// / 0.116 (16). (Measured before the packed operands came from the caching allocator.)

/// (C block side, k tiles per microkernel call): the constants above unless the environment
/// sets others (read once).
fn blocking() -> (usize, usize) {
    static BLOCKING: std::sync::OnceLock<(usize, usize)> = std::sync::OnceLock::new();
    *BLOCKING.get_or_init(|| {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<usize>().ok());
        let block = var("FERROTORCH_AMX_BLOCK").map_or(BLOCK, |b| (b.clamp(32, 512) / (2 * TR)) * 2 * TR);
        (block, var("FERROTORCH_AMX_STEPS").map_or(KC_STEPS, |s| s.clamp(1, 1 << 16)))
    })
}

/// Below this many multiply-adds the f32 path is as fast (packing and setup dominate).
const MIN_WORK: usize = 32 * 32 * 32;
/// From this many multiply-adds the blocks spread over the pool.
const PARALLEL_WORK: usize = 1 << 22;

/// The bf16 product kernels, fastest first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Bf16Kernel {
    /// AMX tiles (TDPBF16PS): Sapphire Rapids and later Xeons.
    Amx,
    /// AVX512-BF16 (VDPBF16PS): Cooper Lake, Zen 4 and later, and the AMX Xeons; only when
    /// `FERROTORCH_BF16_MATMUL=avx512_bf16` asks for it.
    Avx512,
}

impl Bf16Kernel {
    pub fn name(self) -> &'static str { match self { Bf16Kernel::Amx => "amx", Bf16Kernel::Avx512 => "avx512_bf16" } }
}

/// Whether a bf16 product of (m x k) @ (k x n) runs in bf16 here (a kernel of its own), not
/// through f32.
pub fn matmul_in_bf16(m: usize, n: usize, k: usize) -> bool {
    m.saturating_mul(n).saturating_mul(k) >= MIN_WORK && kernel().is_some()
}

/// The bf16 kernel this process runs (decided once): AMX where the CPU has AMX-TILE and
/// AMX-BF16 and Linux grants the tile state, else none (bf16 products go through the f32 GEMM).
/// `FERROTORCH_BF16_MATMUL` = `amx`, `avx512_bf16` or `f32` asks for one (one this CPU cannot
/// run, or `f32`, leaves the f32 GEMM). The AVX512-BF16 kernel runs only when asked for: on
/// the one CPU it was measured on (the AMX Xeon above, one thread) it took 25.4 ms for 1024³
/// where the f32 GEMM took 13.8; CPUs without AMX but with AVX512-BF16 (Zen 4, Cooper Lake)
/// were not available to measure it.
pub fn kernel() -> Option<Bf16Kernel> {
    static KERNEL: std::sync::OnceLock<Option<Bf16Kernel>> = std::sync::OnceLock::new();
    *KERNEL.get_or_init(|| {
        match std::env::var("FERROTORCH_BF16_MATMUL").ok().as_deref() {
            None | Some("amx") => detect_amx().then_some(Bf16Kernel::Amx),
            Some("avx512_bf16") => detect_avx512_bf16().then_some(Bf16Kernel::Avx512),
            Some(_) => None,
        }
    })
}

/// Whether bf16 products run on AMX tiles here (`torch.cpu._init_amx()`).
pub fn amx_available() -> bool { kernel() == Some(Bf16Kernel::Amx) }

fn detect_avx512_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    { super::simd::has_avx512() && std::is_x86_feature_detected!("avx512bf16") }
    #[cfg(not(target_arch = "x86_64"))]
    { false }
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

/// A strided bf16 matrix inside a view's memory: element (r, c) at `base + r*rs + c*cs`.
#[derive(Clone, Copy)]
struct Strided { base: usize, rows: usize, cols: usize, rs: isize, cs: isize }

/// Packs A's pairs of 16-row tiles, from pair `first_pair` on, into `dst` (2 * kt tiles each),
/// writing only the elements inside A: `dst` arrives zeroed, which pads the edge tiles.
///
/// # Safety
/// Every element of `a` (r < rows, c < cols) lies inside one live allocation of u16.
unsafe fn pack_a(dst: &mut [u16], a: Strided, first_pair: usize, kt: usize) {
    let base = a.base as *const u16;
    for (q, chunk) in dst.chunks_mut(2 * kt * TILE).enumerate() {
        let i0 = (first_pair + q) * 2 * TR;
        let rows = (2 * TR).min(a.rows - i0);
        for t in 0..kt {
            let (p0, len) = (t * TK, TK.min(a.cols - t * TK));
            // rows i0 + ii: tile ii / 16 of the pair, row ii % 16 of it
            let slot = |ii: usize, e: usize| 2 * t * TILE + ii / TR * TILE + ii % TR * TK + e;
            // SAFETY (all three arms): i0 + ii < rows and p0 + e < cols (the caller's contract)
            unsafe {
                if a.cs == 1 {
                    // rows contiguous: 64-byte runs
                    for ii in 0..rows {
                        let src = base.offset((i0 + ii) as isize * a.rs + p0 as isize);
                        std::ptr::copy_nonoverlapping(src, chunk[slot(ii, 0)..][..len].as_mut_ptr(), len);
                    }
                } else if a.rs == 1 {
                    // columns contiguous (a transposed operand): read down each column
                    for e in 0..len {
                        let col = base.offset((p0 + e) as isize * a.cs + i0 as isize);
                        for ii in 0..rows { chunk[slot(ii, e)] = *col.add(ii); }
                    }
                } else {
                    for ii in 0..rows {
                        for e in 0..len { chunk[slot(ii, e)] = *base.offset((i0 + ii) as isize * a.rs + (p0 + e) as isize * a.cs); }
                    }
                }
            }
        }
    }
}

/// Packs B's pairs of 16-column tiles, from pair `first_pair` on, into `dst` (2 * kt tiles
/// each): tile row r holds rows 2r and 2r + 1 of B interleaved column by column (VNNI). Writes
/// only the elements inside B: `dst` arrives zeroed, which pads the edge tiles.
///
/// # Safety
/// Every element of `b` (r < rows, c < cols) lies inside one live allocation of u16.
unsafe fn pack_b(dst: &mut [u16], b: Strided, first_pair: usize, kt: usize) {
    let base = b.base as *const u16;
    for (q, chunk) in dst.chunks_mut(2 * kt * TILE).enumerate() {
        let j0 = (first_pair + q) * 2 * TR;
        let width = (2 * TR).min(b.cols - j0);
        // element (p, j0 + jj): tile p/32 (and jj/16 of the pair), row p%32/2, slot p%2
        let slot = |p: usize, jj: usize| (p / TK * 2 + jj / TR) * TILE + p % TK / 2 * TK + jj % TR * 2 + p % 2;
        // SAFETY (all three arms): p < rows and j0 + jj < cols (the caller's contract)
        unsafe {
            if b.cs == 1 {
                // rows contiguous: interleave pairs of rows, 16 columns at a time
                for p0 in (0..b.rows).step_by(2) {
                    let r0 = base.offset(p0 as isize * b.rs + j0 as isize);
                    let r1 = (p0 + 1 < b.rows).then(|| r0.offset(b.rs));
                    for g in 0..width.div_ceil(TR) {
                        let w = TR.min(width - g * TR);
                        let d = &mut chunk[slot(p0, g * TR)..][..2 * w];
                        let s0 = std::slice::from_raw_parts(r0.add(g * TR), w);
                        match r1 {
                            Some(r1) => {
                                let s1 = std::slice::from_raw_parts(r1.add(g * TR), w);
                                for ((pair, &x), &y) in d.chunks_exact_mut(2).zip(s0).zip(s1) { pair[0] = x; pair[1] = y; }
                            }
                            None => for (pair, &x) in d.chunks_exact_mut(2).zip(s0) { pair[0] = x; },
                        }
                    }
                }
            } else if b.rs == 1 {
                // columns contiguous (`x @ W.t()`): a column's pairs of rows lie next to each other
                // already, so each pair moves as one u32 into its two adjacent slots
                for jj in 0..width {
                    let col = base.offset((j0 + jj) as isize * b.cs);
                    for p in (0..b.rows & !1).step_by(2) {
                        let pair = (col.add(p) as *const u32).read_unaligned().to_le_bytes();
                        let at = slot(p, jj);
                        chunk[at] = u16::from_le_bytes([pair[0], pair[1]]);
                        chunk[at + 1] = u16::from_le_bytes([pair[2], pair[3]]);
                    }
                    if b.rows % 2 == 1 { chunk[slot(b.rows - 1, jj)] = *col.add(b.rows - 1); }
                }
            } else {
                for p in 0..b.rows {
                    for jj in 0..width { chunk[slot(p, jj)] = *base.offset(p as isize * b.rs + (j0 + jj) as isize * b.cs); }
                }
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

/// The AMX microkernel (see `Microkernel`), with the B tiles of two steps ahead prefetched
/// into L1 (B streams from L2: each pair is used once per pair of A rows).
///
/// # Safety
/// A `TilesConfigured` is alive on this thread; `steps >= 1`; a and b hold `steps * 2 * TILE`
/// u16 each; c's 32 rows of 32 floats, `ldc` floats apart, lie inside one allocation.
#[cfg(target_arch = "x86_64")]
unsafe fn amx_microkernel(a: *const u16, b: *const u16, c: *mut f32, ldc: usize, steps: usize) {
    // SAFETY: the caller's contract: every tile load reads 16 rows of 64 bytes at 64-byte
    // strides inside a's and b's 2 KiB per step, and C's loads and stores stay inside its 32
    // rows of 128 bytes at `ldc * 4`-byte strides; the loop runs `steps` >= 1 times. Prefetches
    // (past the end of b, too) never fault and change no architectural state.
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
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tileloadd tmm7, [{b} + {s}*1 + 1024]",
            "tdpbf16ps tmm1, tmm4, tmm7",
            "tileloadd tmm5, [{a} + {s}*1 + 1024]",
            "tdpbf16ps tmm2, tmm5, tmm6",
            "tdpbf16ps tmm3, tmm5, tmm7",
            "prefetcht0 [{b} + 4096]",
            "prefetcht0 [{b} + 4160]",
            "prefetcht0 [{b} + 4224]",
            "prefetcht0 [{b} + 4288]",
            "prefetcht0 [{b} + 4352]",
            "prefetcht0 [{b} + 4416]",
            "prefetcht0 [{b} + 4480]",
            "prefetcht0 [{b} + 4544]",
            "prefetcht0 [{b} + 4608]",
            "prefetcht0 [{b} + 4672]",
            "prefetcht0 [{b} + 4736]",
            "prefetcht0 [{b} + 4800]",
            "prefetcht0 [{b} + 4864]",
            "prefetcht0 [{b} + 4928]",
            "prefetcht0 [{b} + 4992]",
            "prefetcht0 [{b} + 5056]",
            "prefetcht0 [{b} + 5120]",
            "prefetcht0 [{b} + 5184]",
            "prefetcht0 [{b} + 5248]",
            "prefetcht0 [{b} + 5312]",
            "prefetcht0 [{b} + 5376]",
            "prefetcht0 [{b} + 5440]",
            "prefetcht0 [{b} + 5504]",
            "prefetcht0 [{b} + 5568]",
            "prefetcht0 [{b} + 5632]",
            "prefetcht0 [{b} + 5696]",
            "prefetcht0 [{b} + 5760]",
            "prefetcht0 [{b} + 5824]",
            "prefetcht0 [{b} + 5888]",
            "prefetcht0 [{b} + 5952]",
            "prefetcht0 [{b} + 6016]",
            "prefetcht0 [{b} + 6080]",
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

/// The microkernel on AVX512-BF16 (see `Microkernel`): the 32x32 piece of C in four passes of
/// 8 rows x 32 columns (16 accumulators); each VDPBF16PS adds, for 16 columns, one A row's pair
/// of k elements (broadcast) times the matching pair of B rows (one row of a VNNI tile).
///
/// # Safety
/// The CPU has AVX-512F and AVX512-BF16; the pointers as for `amx_microkernel`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn avx512_microkernel(a: *const u16, b: *const u16, c: *mut f32, ldc: usize, steps: usize) {
    use std::arch::x86_64::*;
    const ROWS: usize = 8;
    for pass in 0..2 * TR / ROWS {
        let (h, r0) = (pass * ROWS / TR, pass * ROWS % TR);
        // SAFETY: rows h*16 + r0 .. + 8 and columns 0..32 of the 32x32 piece lie inside c's
        // rows (the caller's contract); A and B reads stay inside the `steps` pairs of tiles
        unsafe {
            let crow = |r: usize| c.add((h * TR + r0 + r) * ldc);
            let mut acc = [[_mm512_setzero_ps(); 2]; ROWS];
            for (r, pair) in acc.iter_mut().enumerate() {
                *pair = [_mm512_loadu_ps(crow(r)), _mm512_loadu_ps(crow(r).add(TR))];
            }
            for st in 0..steps {
                let at = a.add((st * 2 + h) * TILE + r0 * TK);
                let (b0, b1) = (b.add(st * 2 * TILE), b.add((st * 2 + 1) * TILE));
                for kp in 0..TK / 2 {
                    let bv0: __m512bh = std::mem::transmute(_mm512_loadu_si512(b0.add(kp * TK) as *const _));
                    let bv1: __m512bh = std::mem::transmute(_mm512_loadu_si512(b1.add(kp * TK) as *const _));
                    for (r, pair) in acc.iter_mut().enumerate() {
                        let av: __m512bh = std::mem::transmute(_mm512_set1_epi32((at.add(r * TK + 2 * kp) as *const i32).read_unaligned()));
                        pair[0] = _mm512_dpbf16_ps(pair[0], av, bv0);
                        pair[1] = _mm512_dpbf16_ps(pair[1], av, bv1);
                    }
                }
            }
            for (r, pair) in acc.iter().enumerate() {
                _mm512_storeu_ps(crow(r), pair[0]);
                _mm512_storeu_ps(crow(r).add(TR), pair[1]);
            }
        }
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
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `kernel()` returns a kernel only where the CPU runs it (and, for AMX, the OS
        // granted the tile state); the AMX kernel gets its tile configuration
        match kernel() {
            Some(Bf16Kernel::Amx) => unsafe { bmm_with(out, a, c, bias, amx_microkernel, true) },
            Some(Bf16Kernel::Avx512) => unsafe { bmm_with(out, a, c, bias, avx512_microkernel, false) },
            None => crate::bail!("internal: bf16 matmul kernel on a CPU without one"),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    { let _ = (out, a, c, bias); crate::bail!("internal: bf16 matmul kernel on a CPU without one") }
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
    let mut a_packed = pack_buffer(a_len.checked_mul(bsz))?;
    let mut b_packed = pack_buffer(b_len.checked_mul(bsz))?;
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
    let pack_a_pair = |(t, chunk): (usize, &mut [MaybeUninit<u16>])| unsafe { pack_a(zeroed(chunk), products[t / mp].a, t % mp, kt) };
    let pack_b_pair = |(t, chunk): (usize, &mut [MaybeUninit<u16>])| unsafe { pack_b(zeroed(chunk), products[t / np].b, t % np, kt) };
    if parallel {
        // one parallel region for both operands
        use rayon::iter::Either;
        let a_pairs = a_packed.uninit_mut().par_chunks_mut(2 * kt * TILE).enumerate().map(Either::Left);
        let b_pairs = b_packed.uninit_mut().par_chunks_mut(2 * kt * TILE).enumerate().map(Either::Right);
        a_pairs.chain(b_pairs).with_max_len(1).for_each(|pair| match pair {
            Either::Left(a_pair) => pack_a_pair(a_pair),
            Either::Right(b_pair) => pack_b_pair(b_pair),
        });
    } else {
        a_packed.uninit_mut().chunks_mut(2 * kt * TILE).enumerate().for_each(pack_a_pair);
        b_packed.uninit_mut().chunks_mut(2 * kt * TILE).enumerate().for_each(pack_b_pair);
    }
    let (block_side, kc_steps) = blocking();
    let (row_blocks, col_blocks) = (m.div_ceil(block_side), n.div_ceil(block_side));
    // SAFETY: every element of both buffers was written above (each chunk zeroed, then packed)
    let (a_packed, b_packed) = unsafe { (a_packed.assume_init(), b_packed.assume_init()) };
    let (ap, bp) = (a_packed.as_slice().as_ptr() as usize, b_packed.as_slice().as_ptr() as usize);
    let block = |t: usize| {
        let (batch, rb, cb) = (t / (row_blocks * col_blocks), t / col_blocks % row_blocks, t % col_blocks);
        let (i0, j0) = (rb * block_side, cb * block_side);
        let (rows, cols) = (block_side.min(m - i0), block_side.min(n - j0));
        let mut acc = vec![0f32; block_side * block_side];
        if let Some(v) = bias {
            for row in acc.chunks_mut(block_side).take(rows) { row[..cols].copy_from_slice(&v[j0..j0 + cols]); }
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AMX is present when `configure` is asked (this function's contract)
        let _tiles = configure.then(|| unsafe { TilesConfigured::new() });
        #[cfg(not(target_arch = "x86_64"))]
        let _ = configure;
        for q0 in (0..kt).step_by(kc_steps) {
            let steps = kc_steps.min(kt - q0);
            for ip in 0..rows.div_ceil(2 * TR) {
                let a_pair = ap + 2 * (batch * a_len + ((i0 / (2 * TR) + ip) * kt + q0) * 2 * TILE);
                for jp in 0..cols.div_ceil(2 * TR) {
                    let b_pair = bp + 2 * (batch * b_len + ((j0 / (2 * TR) + jp) * kt + q0) * 2 * TILE);
                    // SAFETY: pair i0/32 + ip < mp (rows <= m - i0) and q0 + steps <= kt, so the
                    // A tiles read lie inside this batch's a_len; likewise B's inside b_len; the
                    // 32x32 piece at (32 ip, 32 jp) of the block x block accumulator lies inside
                    // it (32 (ip + 1) <= block_side as rows <= block_side, a multiple of 32). The kernel runs
                    // here (this function's contract), with the tiles configured when AMX.
                    unsafe {
                        kernel(a_pair as *const u16, b_pair as *const u16, acc.as_mut_ptr().add(2 * TR * (ip * block_side + jp)), block_side, steps);
                    }
                }
            }
        }
        // round once to bf16 and store this block's rows of C
        let c_base = products[batch].c as *mut u16;
        for r in 0..rows {
            let src = &acc[r * block_side..r * block_side + cols];
            // SAFETY: out is a contiguous [B, m, n] view inside its storage; (batch, i0 + r, j0..j0
            // + cols) lies inside it (i0 + r < m, j0 + cols <= n); blocks never share an element,
            // so no two tasks write the same memory; out does not share storage with a or c.
            let dst = unsafe { std::slice::from_raw_parts_mut(c_base.add((i0 + r) * n + j0) as *mut half::bf16, cols) };
            super::convert::to_bf16(src, dst);
        }
    };
    let tasks = bsz * row_blocks * col_blocks;
    if parallel { (0..tasks).into_par_iter().with_max_len(1).for_each(block) } else { (0..tasks).for_each(block) }
    Ok(())
}

/// Memory for `len` packed u16 elements (`None`: the size overflowed) from the caching allocator,
/// reused across calls, so a product does not fault in fresh pages each time (dear in VMs);
/// each packing task zeroes its chunk (`zeroed`) before writing it.
fn pack_buffer(len: Option<usize>) -> Result<super::transpose::UninitBlock<u16>> {
    let len = len.filter(|&l| l <= isize::MAX as usize / 2).ok_or_else(|| crate::rt_err!("bf16 matmul: operand too large"))?;
    super::transpose::UninitBlock::new(len)
        .ok_or_else(|| crate::rt_err!("DefaultCPUAllocator: not enough memory: you tried to allocate {} bytes.", 2 * len))
}

/// Zeroes a chunk of packed memory and returns it initialised.
fn zeroed(chunk: &mut [MaybeUninit<u16>]) -> &mut [u16] {
    for x in chunk.iter_mut() { x.write(0); }
    // SAFETY: every element was just written; MaybeUninit<u16> has u16's layout
    unsafe { &mut *(chunk as *mut [MaybeUninit<u16>] as *mut [u16]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::tensor::Tensor;

    fn to_bf16(x: &Tensor) -> Tensor { crate::ops::copy::to_dtype(x, DType::BF16).unwrap() }

    /// a @ b [+ bias] through the packing and blocking with the emulated microkernel, as f32.
    fn emulated_product(a: &Tensor, b: &Tensor, bias: Option<&[f32]>, out_shape: &[usize]) -> Vec<f32> {
        let out = Tensor::empty(out_shape, DType::BF16).unwrap();
        // SAFETY: the emulated kernel runs on every CPU and needs no configuration
        unsafe { bmm_with(&out.body_ref(), &a.body_ref(), &b.body_ref(), bias, emulated_microkernel, false).unwrap() };
        crate::ops::copy::to_dtype(&out, DType::F32).unwrap().to_vec::<f32>().unwrap()
    }

    /// Operands with a step in both dimensions (neither rows nor columns contiguous).
    #[test]
    fn stepped_views() {
        let (m, k, n) = (37, 45, 33);
        let av: Vec<f32> = (0..m * 2 * k).map(|i| (i % 9) as f32 - 4.0).collect();
        let bv: Vec<f32> = (0..k * 2 * n).map(|i| (i % 7) as f32 - 3.0).collect();
        let a = crate::ops::shape::slice(&to_bf16(&Tensor::from_vec(av.clone(), &[m, 2 * k]).unwrap()), 1, 1, 2 * k, 2).unwrap();
        let b = crate::ops::shape::slice(&to_bf16(&Tensor::from_vec(bv.clone(), &[k, 2 * n]).unwrap()), 1, 0, 2 * n, 2).unwrap();
        let got = emulated_product(&a, &b, None, &[m, n]);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = (0..k).map(|p| av[i * 2 * k + 2 * p + 1] * bv[p * 2 * n + 2 * j]).sum();
                assert_eq!(got[i * n + j], half::bf16::from_f32(want).to_f32(), "({i},{j})");
            }
        }
    }

    /// A bias joins the f32 sums (rounded once), also with k = 0.
    #[test]
    fn bias_rounds_once() {
        for k in [0usize, 40] {
            let (m, n) = (35, 50);
            let av: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32).collect();
            let bv: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 - 2.0).collect();
            let bias: Vec<f32> = (0..n).map(|j| 1000.5 + j as f32).collect();
            let (a, b) = (to_bf16(&Tensor::from_vec(av.clone(), &[m, k]).unwrap()), to_bf16(&Tensor::from_vec(bv.clone(), &[k, n]).unwrap()));
            let got = emulated_product(&a, &b, Some(&bias), &[m, n]);
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
                to_bf16(&x)
            };
            let got = emulated_product(&make(&av, m, k, a_t), &make(&bv, k, n, b_t), None, &[bsz, m, n]);
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
