//! Rust-level tests of the core: promotion, layout maths, kernels and the autograd engine.
//! Unit tests of the library rather than an integration test, so `cargo test --lib` compiles the
//! crate once (an integration test links a second, non-test build of it).
use crate::autograd;
use crate::dtype::{promote, DType, ResultTypeState, Scalar};
use crate::ops::binary::{self, BinOp, Operand};
use crate::ops::{reduce, shape};
use crate::tensor::Tensor;

#[test]
fn promotion_follows_torch_result_type() {
    assert_eq!(promote(DType::U8, DType::I8), DType::I16);
    assert_eq!(promote(DType::BF16, DType::F16), DType::F32);
    assert_eq!(promote(DType::Bool, DType::Bool), DType::Bool);
    assert_eq!(promote(DType::I64, DType::F16), DType::F16);
    // int32 tensor + python float -> default float; + python int -> int32
    let mut s = ResultTypeState::default();
    s.tensor(DType::I32, 1);
    s.scalar(Scalar::Float(2.5));
    assert_eq!(s.result(), DType::F32);
    let mut s = ResultTypeState::default();
    s.tensor(DType::I32, 1);
    s.scalar(Scalar::Int(5));
    assert_eq!(s.result(), DType::I32);
    // uint8 tensor + zero-dim int64 tensor stays uint8; int tensor + zero-dim f64 -> f64
    let mut s = ResultTypeState::default();
    s.tensor(DType::U8, 1);
    s.tensor(DType::I64, 0);
    assert_eq!(s.result(), DType::U8);
    let mut s = ResultTypeState::default();
    s.tensor(DType::I64, 2);
    s.tensor(DType::F64, 0);
    assert_eq!(s.result(), DType::F64);
}

#[test]
fn view_strides_match_pytorch_compute_stride() {
    // a contiguous [4, 6] split in halves along dim 1: each half views as [2, 2, 3] but not as [12]
    assert!(shape::compute_stride(&[4, 3], &[6, 1], &[2, 2, 3]).is_some());
    assert!(shape::compute_stride(&[4, 3], &[6, 1], &[12]).is_none());
    assert_eq!(shape::compute_stride(&[3, 4], &[4, 1], &[12]).unwrap().as_slice(), &[1]);
    // transposed [4, 3] (strides [1, 4]) cannot be flattened
    assert!(shape::compute_stride(&[4, 3], &[1, 4], &[12]).is_none());
}

#[test]
fn broadcast_add_and_reduce() {
    let a = Tensor::from_vec(vec![1f32, 2., 3.], &[3, 1]).unwrap();
    let b = Tensor::from_vec(vec![10f32, 20.], &[1, 2]).unwrap();
    let c = binary::add(&a, &b).unwrap();
    assert_eq!(c.shape().as_slice(), &[3, 2]);
    assert_eq!(c.to_vec::<f32>().unwrap(), vec![11., 21., 12., 22., 13., 23.]);
    let s = reduce::sum(&c, Some(&[0]), false, None).unwrap();
    assert_eq!(s.to_vec::<f32>().unwrap(), vec![36., 66.]);
    // strided (transposed) input gives the same sums
    let t = shape::transpose(&c, 0, 1).unwrap();
    assert_eq!(reduce::sum(&t, Some(&[1]), false, None).unwrap().to_vec::<f32>().unwrap(), vec![36., 66.]);
}

#[test]
fn large_parallel_elementwise_matches_serial() {
    let n = 1 << 20;
    let a = Tensor::from_vec((0..n).map(|i| i as f64).collect(), &[n]).unwrap();
    let c = binary::binary(BinOp::Mul, &Operand::T(a), &Operand::S(Scalar::Float(0.5)), 1.0).unwrap();
    let v = c.to_vec::<f64>().unwrap();
    assert!(v.iter().enumerate().all(|(i, &x)| x == i as f64 * 0.5));
}

#[test]
fn integer_division_by_zero_is_an_error_not_a_panic() {
    let a = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    let z = Tensor::from_vec(vec![0i64, 1], &[2]).unwrap();
    assert!(binary::binary(BinOp::FloorDiv, &Operand::T(a), &Operand::T(z), 1.0).is_err());
}

#[test]
fn second_order_gradient_of_cube() {
    // d/dx x^3 = 3x^2 ; d2/dx2 = 6x
    let x = Tensor::from_vec(vec![1.5f64, -2.0], &[2]).unwrap();
    x.0.meta.lock().requires_grad = true;
    let y = reduce::sum(&binary::pow_s(&x, 3.0).unwrap(), None, false, None).unwrap();
    let one = Tensor::from_vec(vec![1f64], &[]).unwrap();
    let g = autograd::run_backward(&[(y, one.clone())], true, true, Some(&[x.clone()]), None).unwrap()[0].clone().unwrap();
    assert_eq!(g.to_vec::<f64>().unwrap(), vec![3. * 1.5 * 1.5, 12.]);
    let gs = reduce::sum(&g, None, false, None).unwrap();
    let h = autograd::run_backward(&[(gs, one)], false, false, Some(&[x.clone()]), None).unwrap()[0].clone().unwrap();
    assert_eq!(h.to_vec::<f64>().unwrap(), vec![9., -12.]);
}

#[test]
fn deep_chain_backward_does_not_overflow_the_stack() {
    let x = Tensor::from_vec(vec![1f32], &[1]).unwrap();
    x.0.meta.lock().requires_grad = true;
    let mut h = x.clone();
    for _ in 0..20_000 {
        h = binary::mul_s(&h, 1.0).unwrap();
    }
    let s = reduce::sum(&h, None, false, None).unwrap();
    autograd::run_backward(&[(s, Tensor::from_vec(vec![1f32], &[]).unwrap())], false, false, None, None).unwrap();
    let g = x.0.meta.lock().grad.clone().unwrap();
    assert_eq!(g.to_vec::<f32>().unwrap(), vec![1.0]);
}

#[test]
fn sizes_are_checked_before_memory_is_touched() {
    use crate::tensor::{check_view_bounds, checked_nbytes, checked_numel};
    assert!(checked_numel(&[1 << 32, 1 << 32]).is_err());
    assert!(checked_nbytes(&[1 << 62], 4).is_err());
    assert_eq!(checked_nbytes(&[3, 0, 1 << 40], 8).unwrap(), 0);
    assert!(Tensor::empty(&[1 << 62], DType::F32).is_err());
    assert!(Tensor::zeros(&[1 << 40], DType::F32).is_err()); // 4 TB: refused, never an abort
    // views: every addressed element must lie in the storage; negative strides are rejected
    assert!(check_view_bounds(&[2, 2], &[2, 1], 0, 4, 16).is_ok());
    assert!(check_view_bounds(&[2, 2], &[2, 1], 1, 4, 16).is_err());
    assert!(check_view_bounds(&[1 << 62, 4], &[0, 0], 0, 4, 16).is_err());
    assert!(check_view_bounds(&[2], &[-1], 1, 4, 16).is_err());
    assert!(check_view_bounds(&[0, 5], &[100, 100], 0, 4, 0).is_ok());
}

#[test]
fn kernels_and_memory_come_through_the_device_contract() {
    use crate::backend::{backend_for, backend_of};
    use crate::ops::unary::UnaryOp;
    use crate::storage::Device;
    // the CPU backend allocates and runs kernels named by descriptor
    let cpu = backend_for(Device::Cpu).unwrap();
    let a = Tensor::from_vec(vec![1.0f32, -2.0, 3.0], &[3]).unwrap();
    let b = Tensor::from_vec(vec![10.0f32], &[1]).unwrap();
    let out = Tensor::alloc_on(&[3], DType::F32, Device::Cpu, false).unwrap();
    cpu.binary(BinOp::Sub, &out, &a, &b, 2.0).unwrap();
    assert_eq!(out.to_vec::<f32>().unwrap(), vec![-19.0, -22.0, -17.0]);
    let mask = Tensor::alloc_on(&[3], DType::Bool, Device::Cpu, true).unwrap();
    cpu.unary(UnaryOp::SignBit, &mask, &a).unwrap();
    assert_eq!(mask.to_vec::<bool>().unwrap(), vec![false, true, false]);
    let picked = Tensor::empty(&[3], DType::F32).unwrap();
    cpu.select(&picked, &mask, &a, &b).unwrap();
    assert_eq!(picked.to_vec::<f32>().unwrap(), vec![10.0, -2.0, 10.0]);
    // a bool-valued kernel never runs a non-bool op silently
    assert!(cpu.unary(UnaryOp::Neg, &mask, &a).is_err());
    // a device without a backend is an error, not a crash
    let e = Tensor::alloc_on(&[2], DType::F32, Device::Cuda(0), false).err().unwrap();
    assert!(e.to_string().contains("not compiled with CUDA"), "{}", e);
    assert!(backend_of(&[&a, &b]).is_ok());
}

#[test]
fn kernel_families_come_through_the_same_contract() {
    use crate::backend::backend_for;
    use crate::backend::reduce::{Extreme, RowReduce};
    use crate::storage::Device;
    let cpu = backend_for(Device::Cpu).unwrap();
    let x = Tensor::from_vec(vec![1.0f32, 5.0, 2.0, -1.0, f32::NAN, 0.0], &[2, 3]).unwrap();
    // reductions: one output per row, f64 accumulators for float sums
    let sums = Tensor::alloc_on(&[2], DType::F64, Device::Cpu, false).unwrap();
    cpu.reduce_rows(RowReduce::Sum, &sums, &x, 3).unwrap();
    let s = sums.to_vec::<f64>().unwrap();
    assert_eq!(s[0], 8.0);
    assert!(s[1].is_nan());
    let (vals, idx) = (Tensor::empty(&[2], DType::F32).unwrap(), Tensor::empty(&[2], DType::I64).unwrap());
    cpu.extreme_rows(&vals, &idx, &x, 3, Extreme::Max).unwrap();
    assert_eq!(idx.to_vec::<i64>().unwrap(), vec![1, 1]);
    // nn: softmax rows through the family trait
    let y = Tensor::empty(&[2, 3], DType::F32).unwrap();
    cpu.softmax(&y, &x, 3, false).unwrap();
    let row: f32 = y.to_vec::<f32>().unwrap()[..3].iter().sum();
    assert!((row - 1.0).abs() < 1e-6);
    // an output that aliases an input is refused before any slice is cut
    assert!(cpu.softmax(&x, &x, 3, false).is_err());
    assert!(cpu.reduce_rows(RowReduce::Sum, &x, &x, 3).is_err());
    // indexing: a gather at offsets outside the storage is an error, not a read
    let g = Tensor::empty(&[2], DType::F32).unwrap();
    cpu.gather_at(&g, &x, &[0, 5]).unwrap();
    assert_eq!(g.to_vec::<f32>().unwrap()[0], 1.0);
    assert!(cpu.gather_at(&g, &x, &[0, 6]).is_err());
    // sizes that do not match the tensors are refused
    let sel = Tensor::empty(&[2, 1], DType::F32).unwrap();
    let bad_idx = Tensor::from_vec(vec![7i64], &[1]).unwrap();
    // an index past the dim is reported (the ops layer words the error), and nothing is read
    assert_eq!(cpu.index_select(&sel, &x, &bad_idx, 2, 1).unwrap(), Some(7));
    assert!(cpu.index_select(&sel, &x, &bad_idx, 4, 1).is_err());
}
