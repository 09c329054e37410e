//! Kernel benchmarks (`cargo bench`): elementwise, reductions, matmul, softmax on the Rust core.
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ferrotorch::dtype::Scalar;
use ferrotorch::ops::binary::{self, BinOp, Operand};
use ferrotorch::ops::{linalg, nn, reduce, shape, unary};
use ferrotorch::tensor::Tensor;

fn randn(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = 0x2545F4914F6CDD1Du64;
    let v: Vec<f32> = (0..n).map(|_| { s ^= s << 13; s ^= s >> 7; s ^= s << 17; (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5 }).collect();
    Tensor::from_vec(v, shape).unwrap()
}

fn bench(c: &mut Criterion) {
    let a = randn(&[1 << 20]);
    let b = randn(&[1 << 20]);
    c.bench_function("add_f32_1M", |x| x.iter(|| binary::add(black_box(&a), black_box(&b)).unwrap()));
    c.bench_function("mul_scalar_f32_1M", |x| x.iter(|| binary::binary(BinOp::Mul, &Operand::T(a.clone()), &Operand::S(Scalar::Float(2.5)), 1.0).unwrap()));
    c.bench_function("exp_f32_1M", |x| x.iter(|| unary::unary(unary::UnaryOp::Exp, black_box(&a)).unwrap()));
    c.bench_function("sum_f32_1M", |x| x.iter(|| reduce::sum(black_box(&a), None, false, None).unwrap()));
    let m = randn(&[1024, 1024]);
    c.bench_function("sum_dim1_1024", |x| x.iter(|| reduce::sum(black_box(&m), Some(&[1]), false, None).unwrap()));
    c.bench_function("softmax_1024", |x| x.iter(|| nn::softmax(black_box(&m), 1, false, None).unwrap()));
    c.bench_function("transpose_contiguous_1024", |x| x.iter(|| ferrotorch::ops::copy::contiguous(&shape::t(&m).unwrap()).unwrap()));
    let p = randn(&[256, 256]);
    let q = randn(&[256, 256]);
    c.bench_function("matmul_f32_256", |x| x.iter(|| linalg::matmul(black_box(&p), black_box(&q)).unwrap()));
    let s1 = randn(&[8]);
    let s2 = randn(&[8]);
    c.bench_function("small_add_f32_8", |x| x.iter(|| binary::add(black_box(&s1), black_box(&s2)).unwrap()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
