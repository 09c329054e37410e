//! Winograd F(2x2, 3x3) for stride-1, undilated 3x3 f32 convolutions (2-D, any groups): each
//! 2x2 output tile costs 16 multiply-adds per (input, output) channel pair instead of 36.
//!
//! Per sample and group, the input is copied channels-last and zero-padded (`xp`
//! [Hp, Wp, Cp], Cp = channels rounded up to whole 16-lane blocks), so both transforms run
//! on contiguous 16-channel vectors with no edge cases:
//! - weights, once per call: U[ξ] [cg, og] = (G w[o, c] G^T)[ξ] for the 16 positions ξ;
//! - input, per block of tiles: V[t, ξ, c] = (B^T d B)[ξ] of the tile's 4x4 window d;
//! - 16 products per block, M[t, ξ, :] = V[t, ξ, :] @ U[ξ] on the small-matrix kernel;
//! - output: y[2ty + a, 2tx + b, o] = (A^T M A)[a, b] + bias (channels-last, `yt`), then one
//!   transposing copy to the [og, OH·OW] output planes.
use super::conv::ConvGeom;
use rayon::prelude::*;

/// Channels per vector block.
const L: usize = 16;
type Lanes = [f32; L];

/// Whether the 16 products per tile pay for the transforms, whose cost grows with cg + og
/// while the products' grows with cg·og. On the 2-vCPU Xeon (AVX-512, one thread, 32x28x28
/// inputs, padding 1), Winograd against the implicit GEMM: cg 16 / og 32 1.14x faster,
/// 24 / 32 1.11x, 32 / 16 1.04x, 16 / 64 1.05x, 32 / 64 1.41x; slower for 16 / 16 (0.83x),
/// 24 / 16 (0.78x), 8 / 64 (0.90x). So cg·og / (cg + og) of at least 10.
fn channels_pay(cg: usize, og: usize) -> bool {
    cg.saturating_mul(og) >= cg.saturating_add(og).saturating_mul(10)
}

/// Tiles per block: the block's V (16·Cp floats per tile) and M (16·Op) stay near L1 while
/// the 16 products run over them. On the Xeon, 16 to 32 tiles ran alike for 32 to 128
/// channels and 8 was slower; larger blocks were slower by up to 10%.
fn tiles_per_block(cp: usize, op: usize) -> usize {
    ((96 << 10) / (64 * (cp + op))).clamp(16, 64) / 8 * 8
}

/// Stride 1, no dilation, a 3x3 kernel over a 2-D input, outputs of the size that gives, enough
/// channels, and an AVX2+FMA CPU (the products run on the small-matrix kernel).
pub fn applies(g: &ConvGeom) -> bool {
    crate::cpu::small_gemm::available()
        && g.k == [1, 3, 3] && g.in_sp[0] == 1 && g.out_sp[0] == 1 && g.pad[0] == 0
        && g.stride == [1, 1, 1] && g.dil == [1, 1, 1]
        && channels_pay(g.cg(), g.og())
        && (1..3).all(|d| g.out_sp[d] >= 1 && g.pad[d].checked_mul(2).and_then(|p| g.in_sp[d].checked_add(p)) == g.out_sp[d].checked_add(2))
        && Plan::new(g).is_some()
}

/// Sizes of one sample's buffers, all checked for overflow.
struct Plan {
    /// channel blocks of 16 (input, output) and the padded channel counts
    cb: usize, ob: usize, cp: usize, op: usize,
    /// tiles down and across, and the padded input's extent
    th: usize, tw: usize, hp: usize, wp: usize,
    tiles_per_block: usize,
}

impl Plan {
    fn new(g: &ConvGeom) -> Option<Plan> {
        let (cb, ob) = (g.cg().div_ceil(L), g.og().div_ceil(L));
        let (cp, op) = (cb * L, ob * L);
        let ([_, oh, ow], [_, h, w], [_, ph, pw]) = (g.out_sp, g.in_sp, g.pad);
        let (th, tw) = (oh.div_ceil(2), ow.div_ceil(2));
        // tile (ty, tx) reads padded rows 2ty..2ty+3 and columns 2tx..2tx+3; the input sits at
        // row ph, column pw (2th + 2 >= OH + 2 = H + 2ph covers it)
        let (hp, wp) = (2 * th + 2, 2 * tw + 2);
        if h + ph > hp || w + pw > wp { return None; }
        let plan = Plan { cb, ob, cp, op, th, tw, hp, wp, tiles_per_block: tiles_per_block(cp, op) };
        // every buffer's length must fit
        hp.checked_mul(wp)?.checked_mul(cp)?;
        oh.checked_mul(ow)?.checked_mul(op)?;
        th.checked_mul(tw)?;
        16usize.checked_mul(cp.max(op))?.checked_mul(plan.tiles_per_block)?;
        g.groups.checked_mul(16)?.checked_mul(cp)?.checked_mul(op)?;
        Some(plan)
    }
}

/// U[grp][ξ][c][o] (c < Cp, o < Op; zero outside the group's channels) = (G w[o, c] G^T)[ξ],
/// G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]].
fn transform_weights(w: &[f32], g: &ConvGeom, p: &Plan) -> Vec<f32> {
    let (cg, og) = (g.cg(), g.og());
    let mut u = vec![0f32; g.groups * 16 * p.cp * p.op];
    let g_of = |a: f32, b: f32, c: f32| [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c];
    for grp in 0..g.groups { for o in 0..og { for c in 0..cg {
        let k = &w[((grp * og + o) * cg + c) * 9..][..9];
        // G k (4x3): the columns of k through G
        let cols: [[f32; 4]; 3] = std::array::from_fn(|j| g_of(k[j], k[3 + j], k[6 + j]));
        for i in 0..4 {
            let row = g_of(cols[0][i], cols[1][i], cols[2][i]);
            for (j, &v) in row.iter().enumerate() { u[((grp * 16 + i * 4 + j) * p.cp + c) * p.op + o] = v; }
        }
    }}}
    u
}

/// A 16-lane f32 register value: one zmm, or two ymm on AVX2. The transforms are written once
/// over this trait and compiled per instruction set (`transform_input`, `transform_output`).
///
/// # Safety
/// Implementations use SIMD instructions unconditionally: their methods may run only inside a
/// function compiled with those features, on a CPU that has them.
unsafe trait Vec16: Copy {
    fn load(x: &Lanes) -> Self;
    fn store(self, to: &mut Lanes);
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
}

#[derive(Clone, Copy)]
struct Zmm(std::arch::x86_64::__m512);
// SAFETY: only instantiated inside `#[target_feature(enable = "avx512f")]` functions, which
// are called after `has_avx512()`; loads and stores go through references to 16 floats.
unsafe impl Vec16 for Zmm {
    #[inline(always)] fn load(x: &Lanes) -> Self { unsafe { Zmm(std::arch::x86_64::_mm512_loadu_ps(x.as_ptr())) } }
    #[inline(always)] fn store(self, to: &mut Lanes) { unsafe { std::arch::x86_64::_mm512_storeu_ps(to.as_mut_ptr(), self.0) } }
    #[inline(always)] fn add(self, o: Self) -> Self { unsafe { Zmm(std::arch::x86_64::_mm512_add_ps(self.0, o.0)) } }
    #[inline(always)] fn sub(self, o: Self) -> Self { unsafe { Zmm(std::arch::x86_64::_mm512_sub_ps(self.0, o.0)) } }
}

#[derive(Clone, Copy)]
struct Ymm2(std::arch::x86_64::__m256, std::arch::x86_64::__m256);
// SAFETY: only instantiated inside `#[target_feature(enable = "avx2,fma")]` functions, called
// after `has_avx2_fma()` (`applies`); loads and stores stay inside the 16 floats referenced.
unsafe impl Vec16 for Ymm2 {
    #[inline(always)] fn load(x: &Lanes) -> Self {
        use std::arch::x86_64::_mm256_loadu_ps;
        unsafe { Ymm2(_mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(x.as_ptr().add(8))) }
    }
    #[inline(always)] fn store(self, to: &mut Lanes) {
        use std::arch::x86_64::_mm256_storeu_ps;
        unsafe { _mm256_storeu_ps(to.as_mut_ptr(), self.0); _mm256_storeu_ps(to.as_mut_ptr().add(8), self.1) }
    }
    #[inline(always)] fn add(self, o: Self) -> Self { unsafe { Ymm2(std::arch::x86_64::_mm256_add_ps(self.0, o.0), std::arch::x86_64::_mm256_add_ps(self.1, o.1)) } }
    #[inline(always)] fn sub(self, o: Self) -> Self { unsafe { Ymm2(std::arch::x86_64::_mm256_sub_ps(self.0, o.0), std::arch::x86_64::_mm256_sub_ps(self.1, o.1)) } }
}

/// Column of B^T d for the four input rows at `at`, `at + stride`, ...
#[inline(always)]
fn input_column<V: Vec16>(xp: &[Lanes], at: usize, stride: usize) -> [V; 4] {
    let (d0, d1, d2, d3) = (V::load(&xp[at]), V::load(&xp[at + stride]), V::load(&xp[at + 2 * stride]), V::load(&xp[at + 3 * stride]));
    [d0.sub(d2), d1.add(d2), d2.sub(d1), d1.sub(d3)]
}

/// Column of A^T M (rows 0 + 1 + 2 and 1 - 2 - 3) for the four products at `at`, `at + stride`, ...
#[inline(always)]
fn output_column<V: Vec16>(tile: &[Lanes], at: usize, stride: usize) -> [V; 2] {
    let (q0, q1, q2, q3) = (V::load(&tile[at]), V::load(&tile[at + stride]), V::load(&tile[at + 2 * stride]), V::load(&tile[at + 3 * stride]));
    [q1.add(q2).add(q0), q1.sub(q2).sub(q3)]
}

/// V[t - t0][ξ][:] for tiles t0..t1 (t = ty·tw + tx) of the padded channels-last input `xp`
/// (as 16-channel blocks: pixel q's block k at q·cb + k). B^T = [[1, 0, -1, 0], [0, 1, 1, 0],
/// [0, -1, 1, 0], [0, 1, 0, -1]].
fn transform_input(xp: &[Lanes], p: &Plan, t0: usize, t1: usize, v: &mut [Lanes]) {
    #[target_feature(enable = "avx512f")]
    fn zmm(xp: &[Lanes], p: &Plan, t0: usize, t1: usize, v: &mut [Lanes]) { input_tiles::<Zmm>(xp, p, t0, t1, v) }
    #[target_feature(enable = "avx2,fma")]
    fn ymm(xp: &[Lanes], p: &Plan, t0: usize, t1: usize, v: &mut [Lanes]) { input_tiles::<Ymm2>(xp, p, t0, t1, v) }
    // SAFETY: the features each version is compiled with are present (`applies` checked AVX2+FMA)
    unsafe { if super::simd::has_avx512() { zmm(xp, p, t0, t1, v) } else { ymm(xp, p, t0, t1, v) } }
}

#[inline(always)]
fn input_tiles<V: Vec16>(xp: &[Lanes], p: &Plan, t0: usize, t1: usize, v: &mut [Lanes]) {
    let cb = p.cb;
    for t in t0..t1 {
        let (ty, tx) = (t / p.tw, t % p.tw);
        let corner = (2 * ty * p.wp + 2 * tx) * cb;
        let out = &mut v[(t - t0) * 16 * cb..][..16 * cb];
        for k in 0..cb {
            // columns of B^T d (no closures here: they would not inherit the caller's features)
            let (at, rs) = (corner + k, p.wp * cb);
            let (c0, c1, c2, c3): ([V; 4], [V; 4], [V; 4], [V; 4]) =
                (input_column(xp, at, rs), input_column(xp, at + cb, rs), input_column(xp, at + 2 * cb, rs), input_column(xp, at + 3 * cb, rs));
            // (B^T d) B: the same combination along each row i
            for i in 0..4 {
                c0[i].sub(c2[i]).store(&mut out[(i * 4) * cb + k]);
                c1[i].add(c2[i]).store(&mut out[(i * 4 + 1) * cb + k]);
                c2[i].sub(c1[i]).store(&mut out[(i * 4 + 2) * cb + k]);
                c1[i].sub(c3[i]).store(&mut out[(i * 4 + 3) * cb + k]);
            }
        }
    }
}

/// yt[(2ty + a)·OW + 2tx + b][:] = (A^T M A)[a][b] + bias for tiles t0..t1, A^T = [[1, 1, 1, 0],
/// [0, 1, -1, -1]]; a tile past the output's last row or column writes only its inside.
fn transform_output(m: &[Lanes], p: &Plan, t0: usize, t1: usize, oh: usize, ow: usize, bias: &[Lanes], yt: &mut [Lanes]) {
    #[target_feature(enable = "avx512f")]
    fn zmm(m: &[Lanes], p: &Plan, t0: usize, t1: usize, oh: usize, ow: usize, bias: &[Lanes], yt: &mut [Lanes]) { output_tiles::<Zmm>(m, p, t0, t1, oh, ow, bias, yt) }
    #[target_feature(enable = "avx2,fma")]
    fn ymm(m: &[Lanes], p: &Plan, t0: usize, t1: usize, oh: usize, ow: usize, bias: &[Lanes], yt: &mut [Lanes]) { output_tiles::<Ymm2>(m, p, t0, t1, oh, ow, bias, yt) }
    // SAFETY: as in transform_input
    unsafe { if super::simd::has_avx512() { zmm(m, p, t0, t1, oh, ow, bias, yt) } else { ymm(m, p, t0, t1, oh, ow, bias, yt) } }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn output_tiles<V: Vec16>(m: &[Lanes], p: &Plan, t0: usize, t1: usize, oh: usize, ow: usize, bias: &[Lanes], yt: &mut [Lanes]) {
    let ob = p.ob;
    for t in t0..t1 {
        let (ty, tx) = (t / p.tw, t % p.tw);
        let tile = &m[(t - t0) * 16 * ob..][..16 * ob];
        let (x, last_col) = (2 * tx, 2 * tx + 1 >= ow);
        for (k, b) in bias.iter().enumerate() {
            let b = V::load(b);
            let (c0, c1, c2, c3): ([V; 2], [V; 2], [V; 2], [V; 2]) =
                (output_column(tile, k, 4 * ob), output_column(tile, ob + k, 4 * ob), output_column(tile, 2 * ob + k, 4 * ob), output_column(tile, 3 * ob + k, 4 * ob));
            for a in 0..2 {
                let y = 2 * ty + a;
                if y >= oh { break; }
                c0[a].add(c1[a]).add(c2[a]).add(b).store(&mut yt[(y * ow + x) * ob + k]);
                if !last_col { c1[a].sub(c2[a]).sub(c3[a]).add(b).store(&mut yt[(y * ow + x + 1) * ob + k]); }
            }
        }
    }
}

/// Whether no value is inf or nan (exponent bits all set), as one vectorisable max over the
/// magnitudes' bit patterns.
fn all_finite(v: &[f32]) -> bool {
    let largest = super::simd::vectorized(#[inline(always)] || v.iter().fold(0u32, |m, x| m.max(x.to_bits() & 0x7fff_ffff)));
    largest < 0x7f80_0000
}

/// Per-thread buffers: padded input, transformed input, products, channels-last output.
#[derive(Default)]
struct Scratch { xp: Vec<Lanes>, v: Vec<Lanes>, m: Vec<Lanes>, yt: Vec<Lanes>, planes: Vec<f32> }

/// y [N, O, OH, OW] = conv(x [N, C, H, W], w [O, C/groups, 3, 3]) + bias, for `applies(g)`.
pub fn forward(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &ConvGeom, y: &mut [f32]) -> Result<(), String> {
    let (xn, wn, yn) = g.validate()?;
    let plan = if applies(g) { Plan::new(g) } else { None };
    let Some(p) = plan else { return Err(format!("convolution: not a Winograd geometry {:?}", g)) };
    if (x.len(), w.len(), y.len()) != (xn, wn, yn) || bias.is_some_and(|b| b.len() != g.o) {
        return Err(format!("convolution: operand sizes do not match {:?}", g));
    }
    if !all_finite(w) { return super::conv::forward_direct(x, w, bias, g, y); }
    let (cg, og) = (g.cg(), g.og());
    let ([_, h, wd], [_, oh, ow], [_, ph, pw]) = (g.in_sp, g.out_sp, g.pad);
    let (in_plane, out_plane, tiles) = (h * wd, oh * ow, p.th * p.tw);
    let u = transform_weights(w, g, &p);
    // the bias in 16-channel blocks per group (zero past the group's channels)
    let mut bias_blocks = vec![[0f32; L]; g.groups * p.ob];
    if let Some(b) = bias {
        for (o, &v) in b.iter().enumerate() { bias_blocks[(o / og) * p.ob + (o % og) / L][(o % og) % L] = v; }
    }
    let one_sample = |s: usize, ys: &mut [f32], sc: &mut Scratch| -> Result<(), String> {
        let xs = &x[s * g.c * in_plane..][..g.c * in_plane];
        if !all_finite(xs) {
            return super::conv::forward_direct(xs, w, bias, &ConvGeom { n: 1, ..g.clone() }, ys);
        }
        // borders and channels past cg are never written, so the first fill's zeros stay valid
        if sc.xp.len() != p.hp * p.wp * p.cb { sc.xp = vec![[0f32; L]; p.hp * p.wp * p.cb]; }
        sc.v.resize(p.tiles_per_block * 16 * p.cb, [0f32; L]);
        sc.m.resize(p.tiles_per_block * 16 * p.ob, [0f32; L]);
        sc.yt.resize(out_plane * p.ob, [0f32; L]);
        sc.planes.resize(in_plane * cg, 0.0);
        for grp in 0..g.groups {
            let xg = &xs[grp * cg * in_plane..][..cg * in_plane];
            // channels-last copy of the group's input, then into the padded interior (an empty
            // input leaves only padding)
            if in_plane > 0 {
                if !super::transpose::transpose_into(&mut sc.planes, xg, in_plane, cg, in_plane) {
                    return Err("convolution: Winograd input copy".into());
                }
                if cg == p.cp {
                    // whole blocks: each input row is one run of the padded buffer
                    let xf = sc.xp.as_flattened_mut();
                    for (iy, src) in sc.planes.chunks_exact(wd * cg).enumerate() {
                        let first = ((iy + ph) * p.wp + pw) * p.cp;
                        xf[first..first + wd * cg].copy_from_slice(src);
                    }
                } else {
                    for (q, src) in sc.planes.chunks_exact(cg).enumerate() {
                        let (iy, ix) = (q / wd, q % wd);
                        let first = ((iy + ph) * p.wp + ix + pw) * p.cb;
                        for (blk, part) in sc.xp[first..first + p.cb].iter_mut().zip(src.chunks(L)) { blk[..part.len()].copy_from_slice(part); }
                    }
                }
            }
            let ug = &u[grp * 16 * p.cp * p.op..][..16 * p.cp * p.op];
            for t0 in (0..tiles).step_by(p.tiles_per_block) {
                let t1 = (t0 + p.tiles_per_block).min(tiles);
                transform_input(&sc.xp, &p, t0, t1, &mut sc.v);
                let (vp, mp) = (sc.v.as_ptr() as *const f32, sc.m.as_mut_ptr() as *mut f32);
                for xi in 0..16 {
                    // SAFETY: A = V[.., xi, ..c_g]: row t at (t·16 + xi)·Cp, t < t1 - t0 <=
                    // tiles_per_block, inside v (tiles_per_block·16·Cp floats); B = U[xi] [cg, og]
                    // at row stride Op inside ug (16·Cp·Op floats); C = M[.., xi, ..og] likewise
                    // inside m (tiles_per_block·16·Op floats), a buffer distinct from v and u.
                    // The small kernel's CPU features were checked in `applies`.
                    unsafe {
                        crate::cpu::small_gemm::gemm_f32(t1 - t0, og, cg, vp.add(xi * p.cp), 16 * p.cp, 1,
                            ug.as_ptr().add(xi * p.cp * p.op), p.op, mp.add(xi * p.op), 16 * p.op, false);
                    }
                }
                transform_output(&sc.m, &p, t0, t1, oh, ow, &bias_blocks[grp * p.ob..][..p.ob], &mut sc.yt);
            }
            // yt [OH·OW, Op] -> the group's output planes [og, OH·OW]
            let yt_flat = sc.yt.as_flattened();
            if !super::transpose::transpose_into(&mut ys[grp * og * out_plane..][..og * out_plane], yt_flat, og, out_plane, p.op) {
                return Err("convolution: Winograd output copy".into());
            }
        }
        Ok(())
    };
    let per_sample = g.o * out_plane;
    if g.n >= 2 && crate::cpu::iter::parallel_ok() {
        y.par_chunks_mut(per_sample).enumerate().try_for_each_init(Scratch::default, |sc, (s, ys)| one_sample(s, ys, sc))
    } else {
        let mut sc = Scratch::default();
        y.chunks_mut(per_sample).enumerate().try_for_each(|(s, ys)| one_sample(s, ys, &mut sc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(n: usize, c: usize, o: usize, h: usize, w: usize, pad: usize) -> ConvGeom {
        ConvGeom { n, c, o, groups: 1, in_sp: [1, h, w], out_sp: [1, h + 2 * pad - 2, w + 2 * pad - 2], k: [1, 3, 3],
                   stride: [1, 1, 1], pad: [0, pad, pad], dil: [1, 1, 1] }
    }

    /// The direct sum in f64.
    fn reference(x: &[f32], wt: &[f32], bias: &[f32], g: &ConvGeom) -> Vec<f64> {
        let ([_, h, w], [_, oh, ow], p) = (g.in_sp, g.out_sp, g.pad[1] as isize);
        let mut y = vec![0f64; g.n * g.o * oh * ow];
        for s in 0..g.n { for o in 0..g.o { for i in 0..oh { for j in 0..ow {
            let mut acc = bias[o] as f64;
            for c in 0..g.c { for a in 0..3 { for b in 0..3 {
                let (r, q) = (i as isize + a as isize - p, j as isize + b as isize - p);
                if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < w {
                    acc += x[((s * g.c + c) * h + r as usize) * w + q as usize] as f64 * wt[((o * g.c + c) * 3 + a) * 3 + b] as f64;
                }
            }}}
            y[((s * g.o + o) * oh + i) * ow + j] = acc;
        }}}}
        y
    }

    #[test]
    fn matches_the_direct_sum() {
        if !crate::cpu::small_gemm::available() { return; }
        for (n, c, o, h, w, pad) in [(2, 20, 24, 7, 9, 1), (1, 16, 40, 5, 4, 0), (3, 32, 32, 3, 3, 2)] {
            let g = geom(n, c, o, h, w, pad);
            assert!(applies(&g));
            let (xn, wn, yn) = g.validate().unwrap();
            let x: Vec<f32> = (0..xn).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
            let wt: Vec<f32> = (0..wn).map(|i| ((i * 104_729 % 1000) as f32 / 5000.0) - 0.1).collect();
            let bias: Vec<f32> = (0..o).map(|i| i as f32 * 0.25).collect();
            let mut y = vec![0f32; yn];
            forward(&x, &wt, Some(&bias), &g, &mut y).unwrap();
            let want = reference(&x, &wt, &bias, &g);
            let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
            for (a, b) in y.iter().zip(&want) { assert!((*a as f64 - b).abs() <= 1e-5 * scale, "{a} vs {b}"); }
        }
    }

    #[test]
    fn empty_input_gives_the_bias() {
        if !crate::cpu::small_gemm::available() { return; }
        let g = geom(1, 16, 32, 0, 5, 2);
        assert!(applies(&g));
        let (xn, wn, yn) = g.validate().unwrap();
        let bias: Vec<f32> = (0..32).map(|i| i as f32).collect();
        let mut y = vec![f32::NAN; yn];
        forward(&vec![0f32; xn], &vec![1f32; wn], Some(&bias), &g, &mut y).unwrap();
        for (o, plane) in y.chunks(yn / 32).enumerate() { assert!(plane.iter().all(|&v| v == o as f32)); }
    }
}
