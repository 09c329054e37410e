//! Kernel benchmarks (`cargo bench`), one group per kernel family, each reporting throughput:
//! elementwise and reductions in bytes/s, matrix products, convolution and attention in
//! elements/s of multiply-adds (criterion prints "Melem/s"; x2 for GFLOP/s), nn kernels in bytes/s.
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrotorch::dtype::Scalar;
use ferrotorch::ops::binary::{self, BinOp, Operand};
use ferrotorch::ops::conv::{self, ConvShapes};
use ferrotorch::ops::{linalg, nn, reduce, shape, unary};
use ferrotorch::tensor::Tensor;

fn randn(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = 0x2545F4914F6CDD1Du64;
    let v: Vec<f32> = (0..n).map(|_| { s ^= s << 13; s ^= s >> 7; s ^= s << 17; (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5 }).collect();
    Tensor::from_vec(v, shape).unwrap()
}

fn elementwise(c: &mut Criterion) {
    let mut g = c.benchmark_group("elementwise");
    let n = 1usize << 22;
    let (a, b) = (randn(&[n]), randn(&[n]));
    g.throughput(Throughput::Bytes((12 * n) as u64));
    g.bench_function("add_f32_4M", |x| x.iter(|| binary::add(black_box(&a), black_box(&b)).unwrap()));
    g.throughput(Throughput::Bytes((8 * n) as u64));
    g.bench_function("mul_scalar_f32_4M", |x| x.iter(|| binary::binary(BinOp::Mul, &Operand::T(a.clone()), &Operand::S(Scalar::Float(2.5)), 1.0).unwrap()));
    g.bench_function("exp_f32_4M", |x| x.iter(|| unary::unary(unary::UnaryOp::Exp, black_box(&a)).unwrap()));
    let (s1, s2) = (randn(&[8]), randn(&[8]));
    g.throughput(Throughput::Elements(1));
    g.bench_function("small_add_f32_8", |x| x.iter(|| binary::add(black_box(&s1), black_box(&s2)).unwrap()));
    g.finish();
}

fn reductions_and_copies(c: &mut Criterion) {
    let mut g = c.benchmark_group("reduce_copy");
    let a = randn(&[1 << 22]);
    g.throughput(Throughput::Bytes(4 << 22));
    g.bench_function("sum_f32_4M", |x| x.iter(|| reduce::sum(black_box(&a), None, false, None).unwrap()));
    let m = randn(&[2048, 2048]);
    g.throughput(Throughput::Bytes(4 * 2048 * 2048));
    g.bench_function("sum_dim1_2048", |x| x.iter(|| reduce::sum(black_box(&m), Some(&[1]), false, None).unwrap()));
    g.bench_function("sum_dim0_2048", |x| x.iter(|| reduce::sum(black_box(&m), Some(&[0]), false, None).unwrap()));
    g.throughput(Throughput::Bytes(8 * 2048 * 2048));
    g.bench_function("transpose_contiguous_2048", |x| x.iter(|| ferrotorch::ops::copy::contiguous(&shape::t(&m).unwrap()).unwrap()));
    g.finish();
}

fn matmul(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul");
    for n in [64usize, 256, 1024] {
        let (p, q) = (randn(&[n, n]), randn(&[n, n]));
        g.throughput(Throughput::Elements((n * n * n) as u64));
        g.bench_with_input(BenchmarkId::new("f32", n), &n, |x, _| x.iter(|| linalg::matmul(black_box(&p), black_box(&q)).unwrap()));
    }
    let (xb, w, b) = (randn(&[128, 784]), randn(&[512, 784]), randn(&[512]));
    g.throughput(Throughput::Elements(128 * 784 * 512));
    g.bench_function("linear_128x784x512", |x| x.iter(|| nn::linear(black_box(&xb), &w, Some(&b)).unwrap()));
    let (ba, bb) = (randn(&[64, 64, 32]), randn(&[64, 32, 64]));
    g.throughput(Throughput::Elements(64 * 64 * 32 * 64));
    g.bench_function("bmm_64x(64x32x64)", |x| x.iter(|| linalg::matmul(black_box(&ba), black_box(&bb)).unwrap()));
    g.finish();
}

/// bfloat16 products: on AMX tiles where the CPU has AMX-BF16 (`cpu::bf16_gemm`), through the
/// f32 GEMM elsewhere (`FERROTORCH_BF16_MATMUL=f32` forces that route for comparison).
fn bf16_matmul(c: &mut Criterion) {
    use ferrotorch::dtype::DType;
    let mut g = c.benchmark_group(format!("bf16_matmul_{}", ferrotorch::cpu::bf16_gemm::kernel().map_or("via_f32", |k| k.name())));
    let bf16 = |t: Tensor| ferrotorch::ops::copy::to_dtype(&t, DType::BF16).unwrap();
    for n in [256usize, 1024] {
        let (p, q) = (bf16(randn(&[n, n])), bf16(randn(&[n, n])));
        g.throughput(Throughput::Elements((n * n * n) as u64));
        g.bench_with_input(BenchmarkId::new("square", n), &n, |x, _| x.iter(|| linalg::matmul(black_box(&p), black_box(&q)).unwrap()));
    }
    let (xb, w, b) = (bf16(randn(&[128, 784])), bf16(randn(&[512, 784])), bf16(randn(&[512])));
    g.throughput(Throughput::Elements(128 * 784 * 512));
    g.bench_function("linear_128x784x512", |x| x.iter(|| nn::linear(black_box(&xb), &w, Some(&b)).unwrap()));
    g.finish();
}

/// The small-matrix f32 kernel against the `gemm` crate on the same buffers (one thread, no
/// allocation): the sizes where `cpu::small_gemm` takes over, and 128³ where it stops.
fn small_matmul(c: &mut Criterion) {
    use ferrotorch::cpu::small_gemm;
    let mut g = c.benchmark_group("small_matmul");
    for n in [16usize, 32, 64, 96, 128] {
        let (a, b) = (randn(&[n, n]).to_vec::<f32>().unwrap(), randn(&[n, n]).to_vec::<f32>().unwrap());
        let mut out = vec![0f32; n * n];
        g.throughput(Throughput::Elements((n * n * n) as u64));
        g.bench_with_input(BenchmarkId::new("gemm_crate", n), &n, |x, _| x.iter(|| unsafe {
            // SAFETY: a, b and out are n x n row-major buffers; out is distinct from both
            gemm::gemm(n, n, n, out.as_mut_ptr(), 1, n as isize, false, a.as_ptr(), 1, n as isize, b.as_ptr(), 1, n as isize,
                       0.0, 1.0, false, false, false, gemm::Parallelism::None)
        }));
        if small_gemm::available() {
            g.bench_with_input(BenchmarkId::new("small_kernel", n), &n, |x, _| x.iter(|| unsafe {
                // SAFETY: available() holds; same buffers and bounds as above
                #[cfg(target_arch = "x86_64")]
                small_gemm::gemm_f32(n, n, n, a.as_ptr(), n, 1, b.as_ptr(), n, out.as_mut_ptr(), n, false)
            }));
        }
    }
    g.finish();
}

/// The panel kernel against the crate on an MLP's product shapes (one thread): x @ W.t()
/// (column-major B, as in every Linear) and x @ W (row-major B).
fn panel_matmul(c: &mut Criterion) {
    use ferrotorch::cpu::panel_gemm;
    let mut g = c.benchmark_group("panel_matmul");
    for (m, k, n) in [(128usize, 784usize, 512usize), (128, 512, 512), (256, 256, 256)] {
        let (a, b) = (randn(&[m, k]).to_vec::<f32>().unwrap(), randn(&[k, n]).to_vec::<f32>().unwrap());
        let mut out = vec![0f32; m * n];
        g.throughput(Throughput::Elements((2 * m * n * k) as u64));
        for (layout, brs, bcs) in [("b_row_major", n, 1usize), ("b_col_major", 1, k)] {
            let id = format!("{m}x{k}x{n}_{layout}");
            g.bench_with_input(BenchmarkId::new("gemm_crate", &id), &m, |x, _| x.iter(|| unsafe {
                // SAFETY: a is m x k row-major, b holds k * n elements read as k x n with strides
                // (brs, bcs) in either layout, out is m x n row-major and distinct from both
                gemm::gemm(m, n, k, out.as_mut_ptr(), 1, n as isize, false, a.as_ptr(), 1, k as isize, b.as_ptr(), bcs as isize, brs as isize,
                           0.0, 1.0, false, false, false, gemm::Parallelism::None)
            }));
            if panel_gemm::available() {
                g.bench_with_input(BenchmarkId::new("panel_kernel", &id), &m, |x, _| x.iter(|| unsafe {
                    // SAFETY: available() holds; same buffers and bounds as above
                    #[cfg(target_arch = "x86_64")]
                    panel_gemm::gemm_f32(m, n, k, a.as_ptr(), k, 1, b.as_ptr(), brs, bcs, out.as_mut_ptr(), n, false, std::ptr::null(), 1)
                }));
            }
        }
    }
    g.finish();
}

fn convolution(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv");
    g.sample_size(10);
    let (x, w, b) = (randn(&[64, 32, 28, 28]), randn(&[64, 32, 3, 3]), randn(&[64]));
    let s = ConvShapes::new(&[64, 32, 28, 28], &[64, 32, 3, 3], &[28, 28], &[1, 1], &[1, 1], &[1, 1], 1).unwrap();
    g.throughput(Throughput::Elements(64 * 64 * 28 * 28 * 32 * 9));
    g.bench_function("conv2d_fwd_64x32x28x28_3x3_64", |it| it.iter(|| conv::conv(black_box(&x), &w, Some(&b), &s).unwrap()));
    let gy = randn(&[64, 64, 28, 28]);
    g.bench_function("conv2d_input_grad", |it| it.iter(|| conv::conv_input_grad(black_box(&gy), &w, None, &s).unwrap()));
    g.bench_function("conv2d_weight_grad", |it| it.iter(|| conv::conv_weight_grad(black_box(&x), &gy, &s).unwrap()));
    g.finish();
}

fn nn_kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("nn");
    let m = randn(&[2048, 2048]);
    g.throughput(Throughput::Bytes(8 * 2048 * 2048));
    g.bench_function("softmax_2048", |x| x.iter(|| nn::softmax(black_box(&m), 1, false, None).unwrap()));
    g.bench_function("gelu_4M", |x| x.iter(|| nn::gelu(black_box(&m), false).unwrap()));
    let (h, w, b) = (randn(&[4096, 512]), randn(&[512]), randn(&[512]));
    g.throughput(Throughput::Bytes(8 * 4096 * 512));
    g.bench_function("layer_norm_4096x512", |x| x.iter(|| nn::layer_norm(black_box(&h), 1, Some(&w), Some(&b), 1e-5).unwrap()));
    let img = randn(&[64, 32, 24, 24]);
    g.throughput(Throughput::Bytes(4 * 64 * 32 * 24 * 24));
    g.bench_function("max_pool2d_64x32x24x24_2", |x| x.iter(|| ferrotorch::ops::pool::max_pool(black_box(&img), 2, &[2, 2], &[2, 2], &[0, 0], &[1, 1], &[12, 12]).unwrap()));
    let (q, k, v) = (randn(&[16, 4, 256, 32]), randn(&[16, 4, 256, 32]), randn(&[16, 4, 256, 32]));
    g.throughput(Throughput::Elements(2 * 16 * 4 * 256 * 256 * 32));
    g.bench_function("sdpa_causal_16x4x256x32", |x| x.iter(|| nn::sdpa(black_box(&q), &k, &v, None, true, 0.17).unwrap()));
    g.finish();
}

/// An ndarray view of a 2-D float32 tensor with non-negative strides (the bench's own tensors).
fn view(t: &Tensor) -> ndarray::ArrayView2<'_, f32> {
    use ndarray::ShapeBuilder;
    let (sh, st) = (t.shape(), t.strides());
    let dims: Vec<usize> = sh.to_vec();
    let strides: Vec<usize> = st.iter().map(|&s| s as usize).collect();
    let shape = (dims[0], *dims.get(1).unwrap_or(&1)).strides((strides[0], *strides.get(1).unwrap_or(&1)));
    // SAFETY: the tensor's view lies inside its live storage (check_view_bounds) and the bench
    // only reads through it while `t` is alive
    unsafe { ndarray::ArrayView2::from_shape_ptr(shape, t.body().data_ptr() as *const f32) }
}

fn row_view(t: &Tensor) -> ndarray::ArrayView1<'_, f32> {
    // SAFETY: a contiguous 1-D tensor alive for the call, only read
    unsafe { ndarray::ArrayView1::from_shape_ptr(t.numel(), t.body().data_ptr() as *const f32) }
}

fn view_mut(t: &Tensor) -> ndarray::ArrayViewMut2<'_, f32> {
    use ndarray::ShapeBuilder;
    let sh = t.shape();
    // SAFETY: a fresh contiguous output tensor that nothing else reads or writes during the call
    unsafe { ndarray::ArrayViewMut2::from_shape_ptr((sh[0], sh[1]).strides((sh[1], 1)), t.body().data_ptr() as *mut f32) }
}

/// The hand-written strided iteration (`cpu::strided::map2` over `cpu::iter`) beside ndarray's
/// `Zip`, one thread each, on three layouts (contiguous, one operand transposed, a broadcast
/// row): `ndarray_views` runs Zip over views of the very same tensors (same memory, the fair
/// comparison), `ndarray` over ndarray-owned arrays.
fn strided_vs_ndarray(c: &mut Criterion) {
    use ferrotorch::cpu::strided;
    use ndarray::{Array2, Zip};
    let n = 2048usize;
    let mut g = c.benchmark_group("strided_vs_ndarray");
    g.throughput(Throughput::Bytes((12 * n * n) as u64));
    ferrotorch::cpu::iter::set_serial(true);
    let (a, b, row) = (randn(&[n, n]), randn(&[n, n]), randn(&[n]));
    let at = shape::transpose(&a, 0, 1).unwrap();
    let out = Tensor::empty(&[n, n], ferrotorch::dtype::DType::F32).unwrap();
    let (ob, ab, bb, atb, rb) = (out.body(), a.body(), b.body(), at.body(), row.body());
    let sh = [n, n];
    let na = Array2::from_shape_vec((n, n), a.to_vec::<f32>().unwrap()).unwrap();
    let nb = Array2::from_shape_vec((n, n), b.to_vec::<f32>().unwrap()).unwrap();
    let nrow = ndarray::Array1::from_vec(row.to_vec::<f32>().unwrap());
    let mut nout = Array2::<f32>::zeros((n, n));
    g.bench_function("contiguous/ferrotorch", |x| x.iter(|| strided::map2::<f32, f32, f32>(&sh, &ob, &ab, &bb, |p, q| p + q).unwrap()));
    g.bench_function("contiguous/ndarray_views", |x| x.iter(|| Zip::from(view_mut(&out)).and(view(&a)).and(view(&b)).for_each(|o, &p, &q| *o = p + q)));
    g.bench_function("contiguous/ndarray", |x| x.iter(|| Zip::from(&mut nout).and(&na).and(&nb).for_each(|o, &p, &q| *o = p + q)));
    g.bench_function("transposed/ferrotorch", |x| x.iter(|| strided::map2::<f32, f32, f32>(&sh, &ob, &atb, &bb, |p, q| p + q).unwrap()));
    g.bench_function("transposed/ndarray_views", |x| x.iter(|| Zip::from(view_mut(&out)).and(view(&at)).and(view(&b)).for_each(|o, &p, &q| *o = p + q)));
    g.bench_function("transposed/ndarray", |x| x.iter(|| Zip::from(&mut nout).and(na.t()).and(&nb).for_each(|o, &p, &q| *o = p + q)));
    g.bench_function("broadcast_row/ferrotorch", |x| x.iter(|| strided::map2::<f32, f32, f32>(&sh, &ob, &bb, &rb, |p, q| p + q).unwrap()));
    g.bench_function("broadcast_row/ndarray_views", |x| x.iter(|| Zip::from(view_mut(&out)).and(view(&b)).and_broadcast(row_view(&row)).for_each(|o, &p, &q| *o = p + q)));
    g.bench_function("broadcast_row/ndarray", |x| x.iter(|| Zip::from(&mut nout).and(&nb).and_broadcast(&nrow).for_each(|o, &p, &q| *o = p + q)));
    ferrotorch::cpu::iter::set_serial(false);
    g.finish();
}

criterion_group!(benches, elementwise, reductions_and_copies, matmul, bf16_matmul, small_matmul, panel_matmul, convolution, nn_kernels, strided_vs_ndarray);
criterion_main!(benches);
