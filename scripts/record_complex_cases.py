"""Records PyTorch's behaviour on complex tensors and torch.fft as test data
(tests/data/complex_cases.npz), read by tests/test_complex.py and tests/test_fft.py.

Run with a real PyTorch (never a dependency of ferrotorch):
    ~/tref/bin/python scripts/record_complex_cases.py

Each case is a snippet of Python run with `torch`, `F` (torch.nn.functional), `np`, `math` and
`cx` in scope; it leaves its result in `R` (a tensor, a dtype, a Python value, or a list/tuple of
them). `cx(*shape, ...)` draws an input from NumPy; the recorder stores every drawn input, and
the tests hand the stored arrays back in the same order, so both libraries see identical bits.
The recorder stores, per case, each result leaf (a tensor's dtype, shape and values with the
conjugate/negative bits resolved, or a plain Python value) or the exception PyTorch raised.
"""
import json
import math
import os
import textwrap
import zlib

import numpy as np
import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# The cases. Names start with the group they belong to; test_fft.py takes the `fft` ones,
# test_complex.py the rest. Results compared with the dtype's tolerance unless the name has
# "exact" in it (then bit for bit).
# ---------------------------------------------------------------------------------------------
CASES = {
    # --- creation -----------------------------------------------------------------------------
    "create_tensor_list": "R = torch.tensor([1 + 2j, 3.5 - 1j])",
    "create_tensor_nested_mixed": "R = torch.tensor([[1, 2j], [3.0, 4]])",
    "create_tensor_0d": "R = torch.tensor(1.5 - 2j)",
    "create_tensor_c128": "R = torch.tensor([1j, 2], dtype=torch.complex128)",
    "create_tensor_reals_as_c64": "R = torch.tensor([1.5, 2], dtype=torch.complex64)",
    "create_tensor_ints_as_c128": "R = torch.tensor([[1, 2], [3, -4]], dtype=torch.complex128)",
    "create_tensor_bool_as_c64": "R = torch.tensor([True, False], dtype=torch.complex64)",
    "create_tensor_scalar_as_c64": "R = torch.tensor(2.0, dtype=torch.complex64)",
    "create_tensor_default_f64": """
        torch.set_default_dtype(torch.float64)
        try:
            R = [torch.tensor([1j, 2]), torch.tensor(3j), torch.full((2,), 1 + 2j), torch.tensor([1, 2]) * 1j]
        finally:
            torch.set_default_dtype(torch.float32)
    """,
    "create_tensor_np_scalar": "R = [torch.tensor(np.complex128(1 + 2j)), torch.tensor(np.complex64(3 - 1j))]",
    "create_tensor_np_array": "R = [torch.tensor(np.array([1 + 2j, 3j], dtype=np.complex64)), torch.tensor(np.array([[1 + 2j], [-3j]]))]",
    "create_as_tensor": "R = torch.as_tensor([1j, 2])",
    "create_zeros_ones": "R = [torch.zeros(2, dtype=torch.cfloat), torch.ones(2, 3, dtype=torch.cdouble), torch.zeros_like(torch.tensor([1j])), torch.ones_like(torch.tensor([1.0]), dtype=torch.complex64)]",
    "create_full": "R = [torch.full((2,), 1 + 2j), torch.full((2, 1), 1 + 2j, dtype=torch.complex128), torch.full((2,), 3.0, dtype=torch.complex64), torch.full((), -1j)]",
    "create_full_like": "R = [torch.full_like(torch.tensor([1j, 2j]), 2 - 1j), torch.full_like(torch.zeros(2), 2 - 1j, dtype=torch.complex128)]",
    "create_new_methods": "z = torch.tensor([1j]); R = [z.new_zeros(2), z.new_ones(1), z.new_full((2,), 1.5), torch.zeros(1).new_full((2,), 1.5j, dtype=torch.complex64)]",
    "create_new_tensor": "R = torch.tensor([1j]).new_tensor([2.0, 3.0])",
    "create_empty": "R = [tuple(torch.empty(3, 2, dtype=torch.complex64).shape), torch.empty(3, dtype=torch.complex128).dtype, torch.empty_like(torch.tensor([1j])).dtype]",
    "create_eye": "R = torch.eye(2, dtype=torch.complex64)",
    "create_linspace": "R = torch.linspace(0, 1, 3, dtype=torch.complex64)",
    "create_randn_c64_exact": "torch.manual_seed(0); R = torch.randn(5, dtype=torch.cfloat)",
    "create_randn_c128_exact": "torch.manual_seed(1); R = torch.randn(2, 3, dtype=torch.cdouble)",
    "create_randn_c64_odd_exact": "torch.manual_seed(4); R = torch.randn(17, dtype=torch.complex64)",
    "create_randn_c64_long_exact": "torch.manual_seed(10); R = torch.randn(40, dtype=torch.complex64)",
    "create_rand_c64_exact": "torch.manual_seed(2); R = torch.rand(5, dtype=torch.cfloat)",
    "create_rand_c128_exact": "torch.manual_seed(3); R = torch.rand(4, dtype=torch.complex128)",
    "create_randn_like_exact": "torch.manual_seed(5); R = torch.randn_like(torch.zeros(3, dtype=torch.complex64))",
    "create_randn_mixed_stream_exact": "torch.manual_seed(6); R = torch.cat([torch.randn(3, dtype=torch.cfloat), torch.randn(2).to(torch.cfloat), torch.rand(2, dtype=torch.cfloat)])",
    "create_normal_inplace_exact": "torch.manual_seed(8); R = torch.empty(4, dtype=torch.complex64).normal_()",
    "create_uniform_inplace_exact": "torch.manual_seed(9); R = torch.empty(4, dtype=torch.complex64).uniform_()",
    "create_uniform_range_exact": "torch.manual_seed(3); R = torch.zeros(4, dtype=torch.complex64).uniform_(-1, 1)",
    "create_normal_mean_std_exact": "torch.manual_seed(3); R = torch.empty(3, dtype=torch.complex128).normal_(1.0, 2.0)",
    "create_normal_fn_exact": "torch.manual_seed(3); R = torch.normal(torch.zeros(3, dtype=torch.complex64), 1.0)",
    "create_randn_generator_exact": "g = torch.Generator().manual_seed(5); R = torch.randn(4, dtype=torch.complex64, generator=g)",
    "create_linspace_complex_ends": "R = [torch.linspace(0, 1j, 3), torch.linspace(1 + 1j, 2 - 1j, 4, dtype=torch.complex128), torch.logspace(0, 1j, 3)]",
    # --- promotion ----------------------------------------------------------------------------
    "promote_types": """R = [torch.promote_types(a, b) for a, b in [
        (torch.complex64, torch.float64), (torch.complex64, torch.complex128), (torch.int64, torch.complex64),
        (torch.bool, torch.complex128), (torch.float32, torch.complex64), (torch.uint8, torch.complex128),
        (torch.complex128, torch.float32)]]""",
    "promote_result_type": """R = [
        torch.result_type(torch.tensor([1j]), torch.tensor([1.0], dtype=torch.float64)),
        torch.result_type(torch.tensor([1.0]), 1j), torch.result_type(torch.tensor([1]), 1j),
        torch.result_type(torch.tensor([1.0], dtype=torch.float64), 1j), torch.result_type(1j, 1.0),
        torch.result_type(torch.tensor(1j, dtype=torch.complex128), torch.tensor([1.0])),
        torch.result_type(torch.tensor(1j), torch.tensor([1.0], dtype=torch.float64)),
        torch.result_type(torch.tensor(1j, dtype=torch.complex128), torch.tensor([1])),
        torch.result_type(torch.tensor([1j]), 2.5)]""",
    "promote_default_f64_scalar": """
        torch.set_default_dtype(torch.float64)
        try:
            R = [torch.result_type(torch.tensor([1.0], dtype=torch.float32), 1j),
                 (torch.tensor([1.0], dtype=torch.float32) * 1j).dtype, (torch.tensor([1]) * 1j).dtype]
        finally:
            torch.set_default_dtype(torch.float32)
    """,
    "promote_c64_f64": "R = torch.tensor([1 + 1j]) + torch.tensor([0.1], dtype=torch.float64)",
    "promote_int_times_j": "R = torch.tensor([1, 2]) * 1j",
    "promote_bool_times_j": "R = torch.tensor([True, False]) * 1j",
    "promote_f64_times_j": "R = torch.tensor([1.0, 2.0], dtype=torch.float64) * 1j",
    "promote_0d_c64_dim_f64": "R = torch.tensor(1j) * torch.tensor([1.0, 2.0], dtype=torch.float64)",
    "promote_0d_c128_dim_f32": "R = torch.tensor(1j, dtype=torch.complex128) * torch.tensor([1.0, 2.0])",
    "promote_0d_c128_dim_int": "R = torch.tensor(1j, dtype=torch.complex128) * torch.tensor([1, 2])",
    "promote_0d_f64_dim_c64": "R = torch.tensor(1.5, dtype=torch.float64) * torch.tensor([1j, 2])",
    "promote_dim_c64_dim_f64": "R = torch.tensor([1j, 2]) * torch.tensor([1.5, 2.0], dtype=torch.float64)",
    "promote_can_cast": """R = [torch.can_cast(a, b) for a, b in [
        (torch.complex64, torch.float32), (torch.float64, torch.complex64), (torch.complex128, torch.complex64),
        (torch.int32, torch.complex64), (torch.complex64, torch.int64), (torch.complex64, torch.complex128),
        (torch.bool, torch.complex64)]]""",
    # --- casts, numpy, python values, printing -------------------------------------------------
    "cast_real_to_complex": "R = [torch.tensor([1.5, -2.0]).to(torch.complex64), torch.tensor([1, 2]).to(torch.complex128), torch.tensor([True, False]).to(torch.complex64), torch.tensor([1.5, 2]).cfloat(), torch.tensor([1.5, 2]).cdouble()]",
    "cast_complex_to_real": "z = torch.tensor([1.5 + 2j, -3.7 - 1j, 0.5j]); R = [z.to(torch.float32), z.to(torch.float64), z.float(), z.double(), z.to(torch.int64), z.to(torch.int32), z.to(torch.bool), torch.tensor([0j, 0.5j, 0.25]).bool()]",
    "cast_complex_to_complex": "R = [torch.tensor([1.5 + 2j]).to(torch.complex128), torch.tensor([1 + 1e-10j], dtype=torch.complex128).to(torch.complex64), torch.tensor([1 + 2j], dtype=torch.complex128).cfloat()]",
    "cast_type_method": "R = [torch.tensor([1 + 2j]).type(torch.complex128), torch.tensor([1 + 2j]).type()]",
    "py_tolist": "R = [torch.tensor([1 + 2j, 3 - 4j]).tolist(), torch.tensor([[1 + 2j], [3 - 4j]], dtype=torch.complex128).tolist(), torch.tensor(1 + 2j).tolist(), torch.zeros(0, dtype=torch.complex64).tolist()]",
    "py_item": "R = [torch.tensor(1.5 + 2j).item(), torch.tensor([1 + 2j])[0].item(), type(torch.tensor(1j).item()).__name__, complex(torch.tensor(1 + 2j)), complex(torch.tensor(3.0)), bool(torch.tensor(1j)), bool(torch.tensor(0j))]",
    "py_dtype_props": """R = [torch.complex64.is_complex, torch.complex64.is_floating_point, torch.complex64.itemsize, torch.complex128.itemsize,
        torch.tensor([1j]).element_size(), torch.tensor([1j]).is_complex(), torch.tensor([1.0]).is_complex(),
        torch.is_complex(torch.tensor([1j])), torch.tensor([1j]).is_floating_point(), torch.complex64.to_real(),
        torch.float64.to_complex(), torch.cfloat is torch.complex64, torch.cdouble is torch.complex128, str(torch.complex64),
        torch.tensor([1j, 2j, 3j]).nbytes]""",
    "py_finfo": "R = [torch.finfo(torch.complex64).eps, torch.finfo(torch.complex128).bits, torch.finfo(torch.complex64).max]",
    "repr_1d": "R = repr(torch.tensor([1 + 2j, 3.5 - 1j]))",
    "repr_2x2_c128": "R = repr(torch.tensor([[1 + 2j, 3.5 - 1j], [0.25j, -7]], dtype=torch.complex128))",
    "repr_0d": "R = [repr(torch.tensor(1.5 - 2j)), repr(torch.tensor(1.5 - 2j, dtype=torch.complex128)), repr(torch.tensor(-1j))]",
    "repr_sci": "R = [repr(torch.tensor([1e10 + 1j, 1e-10j])), repr(torch.tensor([123456.789 + 0.001j]))]",
    "repr_nonfinite": "R = repr(torch.tensor([float('nan') + 1j, complex(float('inf'), -1)]))",
    "repr_grad_and_empty": "R = [repr(torch.tensor([1 + 1j, 2 + 2j], requires_grad=True)), repr(torch.zeros(0, dtype=torch.complex64)), repr(torch.zeros(2, 2, dtype=torch.cdouble))]",
    "repr_ints_in_complex": "R = [repr(torch.tensor([1 + 0j, 2, 3j])), repr(torch.tensor([[1, 2j], [30, -4]])), str(torch.tensor([0.5 + 0.25j]))]",
    "repr_long": "R = repr(torch.arange(1000.0).to(torch.complex64) * (1 - 1j))",
    "repr_precision": """
        torch.set_printoptions(precision=2)
        try:
            R = [repr(torch.tensor([1.23456 + 2.5j, -1e-3j])), repr(torch.tensor([1e-5 + 1e5j]))]
        finally:
            torch.set_printoptions(precision=4)
    """,
    "repr_sci_mode_off": """
        torch.set_printoptions(sci_mode=False)
        try:
            R = [repr(torch.tensor([1e-5 + 1e5j])), repr(torch.tensor([1.5 + 1e-6j, 3]))]
        finally:
            torch.set_printoptions(sci_mode=None)
    """,
    "repr_misc": """R = [repr(torch.tensor([[1e-5 + 1e5j, 1], [2, 3j]], dtype=torch.complex128)), repr(torch.tensor([complex(1, float('nan')), complex(float('-inf'), 2)], dtype=torch.complex128)),
        repr(torch.arange(2000.0).reshape(2, 1000).to(torch.complex64) * 1j), repr(torch.tensor([-0.0 - 0.0j, 0.0j])), str(torch.tensor([[1.5 + 2j]]).t()),
        repr(torch.tensor([100 + 2j, 1e-3 - 1e-3j])), f"{torch.tensor(1.5 + 2j)}", repr(torch.nn.Parameter(torch.tensor([1j])))]""",
    "repr_parts": "z = torch.tensor([1 + 2j, 3.5 - 1j]); R = [repr(z.real), repr(z.imag), repr(torch.view_as_real(z))]",
    # --- elementwise ops ------------------------------------------------------------------------
    "ops_arith_c64": """
        z = torch.tensor([1 + 2j, -3 + 0.5j, 0.25 - 4j]); w = torch.tensor([2 - 1j, 1j, -1.5 + 1.5j])
        R = [z + w, z - w, z * w, z / w, z ** w, z ** 2, z ** 0.5, z ** -1, z ** 3, 2 ** z, z + 1, 1 - z,
             z * (2 - 3j), (2 - 3j) / z, z / (1 + 1j), z ** (1 + 1j), (1 + 1j) ** z, -z, z * 2.5, z / 4]
    """,
    "ops_arith_c128": """
        z = cx(6, dtype=torch.complex128); w = cx(6, dtype=torch.complex128)
        R = [z + w, z - w, z * w, z / w, z ** w, z ** 2, z ** 0.5, z * (2 - 3j), (2 - 3j) / z, z ** (1 + 1j)]
    """,
    "ops_arith_mixed_real": """
        z = torch.tensor([1 + 2j, -3 + 0.5j]); x = torch.tensor([2.0, -0.5]); i = torch.tensor([3, -2])
        R = [z + x, x - z, z * x, x / z, z / i, i * z, z ** x, x ** z, torch.tensor([2.0, 3.0]).pow(1j)]
    """,
    "ops_pow_special": "R = [torch.tensor([1 + 1j, 0]).pow(0), torch.tensor([0j, 0]).pow(torch.tensor([1j, 2])), torch.tensor([1 + 1j, 2]).pow(torch.tensor([2, 3])), torch.tensor([1 + 1j, 2]).pow(2.5)]",
    "ops_inplace": """
        z = torch.zeros(3, dtype=torch.complex64); z.add_(1j); z.mul_(2); z.sub_(torch.tensor([1.0, 2.0, 3.0])); z.div_(1 + 1j)
        z2 = torch.tensor([1 + 2j, 3j]); z2 *= 1j; z2.pow_(2)
        z3 = torch.tensor([1 + 2j, 3j]); z3.sqrt_(); z3.exp_()
        R = [z, z2, z3]
    """,
    "ops_compare": """
        z = torch.tensor([1 + 2j, -3 + 0.5j, 0.25 - 4j])
        R = [z == z, z != z.conj(), z == (1 + 2j), z.eq(torch.tensor(1 + 2j)), z.ne(1), torch.tensor([1 + 0j]) == 1,
             torch.tensor([1 + 0j]) == torch.tensor([1.0]), torch.equal(z, z.clone()), torch.equal(z, z.conj())]
    """,
    "ops_unary_c64": """
        z = torch.tensor([1 + 2j, -3 + 0.5j, 0.25 - 4j, 0.5 + 0.1j])
        R = [z.exp(), z.log(), z.sqrt(), z.sin(), z.cos(), z.tanh(), z.sigmoid(), z.reciprocal(), z.rsqrt(), z.tan(),
             z.sinh(), z.cosh(), z.asin(), z.acos(), z.atan(), z.asinh(), z.acosh(), z.atanh(), z.log2(), z.log10(),
             z.log1p(), z.expm1(), z.square(), z.neg(), z.exp2(), torch.exp(z), torch.sigmoid(z), torch.rsqrt(z)]
    """,
    "ops_unary_c128": """
        z = cx(8, dtype=torch.complex128)
        R = [z.exp(), z.log(), z.sqrt(), z.sin(), z.cos(), z.tanh(), z.sigmoid(), z.reciprocal(), z.rsqrt(), z.tan(),
             z.asin(), z.acos(), z.atan(), z.asinh(), z.acosh(), z.atanh(), z.log1p(), z.expm1()]
    """,
    "ops_unary_large": """
        z = torch.tensor([50 + 1j, -50 + 1j, 80 + 1j, 1e-20 + 1e-20j, 1e20 + 1e20j])
        R = [z.exp(), z.tanh(), z.sigmoid(), z.abs(), z / z, z.sqrt(), z.log()]
    """,
    "ops_branch_cuts": """
        z = torch.tensor([complex(-4, -0.0), complex(-4, 0.0), complex(-1, -0.0), complex(2, -0.0), complex(-0.5, -0.0)], dtype=torch.complex128)
        R = [z.sqrt(), z.log(), z.angle(), z.asin(), z.acos(), z.atanh(), z.asinh(), z.acosh()]
    """,
    "ops_zero_reciprocal": "R = [torch.tensor([0j]).reciprocal(), torch.tensor([0j]).rsqrt(), torch.tensor([1 + 1j]) / torch.tensor([0j]), torch.tensor([0j]) / 0]",
    "ops_abs_angle_sgn": """
        z = torch.tensor([1 + 2j, -3 + 0.5j, 0j, 3 + 0j, -2 - 2j, complex(-1, -0.0)])
        R = [z.abs(), z.angle(), z.sgn(), torch.abs(z), torch.angle(z), torch.sgn(z), z.absolute(), z.abs().dtype,
             torch.tensor([1j], dtype=torch.complex128).abs().dtype]
    """,
    "ops_angle_real": "R = [torch.angle(torch.tensor([1.0, -2.0, 0.0, float('nan'), float('inf'), -float('inf'), -0.0])), torch.angle(torch.tensor([1, -2, 0])), torch.sgn(torch.tensor([1.0, -2.0, 0.0]))]",
    "ops_conj": """
        z = torch.tensor([1 + 2j, -3 + 0.5j])
        R = [z.conj(), torch.conj(z), z.conj_physical(), torch.conj_physical(z), z.resolve_conj(), z.conj().resolve_conj(), z.conj().conj()]
    """,
    "ops_conj_flags": """
        z = torch.tensor([1 + 2j, -3 + 0.5j])
        R = [z.is_conj(), z.conj().is_conj(), z.conj().resolve_conj().is_conj(), torch.is_conj(z.conj()), z.conj_physical().is_conj()]
    """,
    "ops_conj_is_view": "z = torch.tensor([1 + 2j, -3 + 0.5j]); c = z.conj(); c[0] = 5 + 5j; R = z",
    "ops_conj_real_is_self": "x = torch.tensor([1.0, 2.0]); R = [x.conj() is x, x.is_conj(), x.resolve_conj() is x]",
    "ops_conj_physical_inplace": "z = torch.tensor([1 + 2j, -3 + 0.5j]); z.conj_physical_(); R = z",
    "ops_real_imag": """
        z = torch.tensor([[1 + 2j, -3 + 0.5j], [2j, 4]])
        R = [z.real, z.imag, torch.real(z), torch.imag(z), z.real.dtype, z.real.is_contiguous(), z.real.stride(),
             z.imag.stride(), z.imag.storage_offset(), z[1:].real.storage_offset(), torch.real(torch.tensor([1.0, 2.0]))]
    """,
    "ops_real_imag_write_through": """
        z = torch.tensor([1 + 2j, -3 + 0.5j, 1j])
        r = z.real; r[0] = 10; z.imag[1] = -7; z.real[2:].mul_(3); z.imag[2:].add_(0.5)
        R = z
    """,
    "ops_real_setter": "z = torch.tensor([1 + 2j, -3 + 0.5j]); z.real = torch.tensor([5.0, 6.0]); z.imag = 0.5; R = z",
    "ops_real_setter_broadcast": "z = torch.zeros(2, 2, dtype=torch.complex128); z.imag = torch.tensor([1.0, 2.0], dtype=torch.float64); z.real = 3; R = z",
    "ops_imag_zero": "z = torch.tensor([1 + 2j, -3 + 0.5j]); z.imag.zero_(); R = z",
    "ops_view_as_real": """
        z = torch.tensor([[1 + 2j, -3 + 0.5j]], dtype=torch.complex128)
        R = [torch.view_as_real(z), torch.view_as_real(z).stride(), torch.view_as_real(torch.tensor(1 + 2j)),
             torch.view_as_real(z.t()), torch.view_as_real(z.t()).stride(), torch.view_as_real(torch.tensor([1j, 2j, 3j])[1:]).storage_offset()]
    """,
    "ops_view_as_real_write": "z = torch.tensor([1 + 2j, -3 + 0.5j]); v = torch.view_as_real(z); v[1, 1] = 9; v[0].mul_(2); R = z",
    "ops_view_as_complex": """
        x = torch.arange(12.0).reshape(3, 2, 2)
        R = [torch.view_as_complex(x), torch.view_as_complex(x).stride(), torch.view_as_complex(torch.tensor([1.0, 2.0], dtype=torch.float64)),
             torch.view_as_complex(torch.arange(8.0)[2:6].reshape(2, 2)), torch.view_as_complex(x[:, 1]), torch.view_as_complex(torch.zeros(3, 0, 2)).shape]
    """,
    "ops_view_as_complex_write": "x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]); c = torch.view_as_complex(x); c[0] = 7j; c[1].mul_(1j); R = x",
    "ops_view_roundtrip": "z = torch.tensor([[1 + 2j, 3j], [1, 2]]).t(); R = [torch.view_as_complex(torch.view_as_real(z)), torch.view_as_complex(torch.view_as_real(z)).stride()]",
    "ops_complex_ctor": """
        R = [torch.complex(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])),
             torch.complex(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([3.0], dtype=torch.float64)),
             torch.complex(torch.tensor([[1.0], [2.0]]), torch.tensor([3.0, 4.0, 5.0])),
             torch.complex(torch.tensor(1.0), torch.tensor([2.0, 3.0]))]
    """,
    "ops_polar": """
        R = [torch.polar(torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.0, math.pi / 2, -3.0])),
             torch.polar(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([0.5, -1.0], dtype=torch.float64)),
             torch.polar(torch.tensor([-1.0]), torch.tensor([0.5])), torch.polar(torch.tensor([[1.0], [2.0]]), torch.tensor([0.1, 0.2]))]
    """,
    "ops_matmul": """
        a = torch.tensor([[1 + 2j, 3j], [1, -1j]]); b = torch.tensor([[2 - 1j, 1], [0.5j, 4]])
        R = [a @ b, torch.mm(a, b), torch.matmul(a, b[:, 0]), torch.mv(a, b[0]), torch.dot(a[0], b[0]), torch.vdot(a[0], b[0]),
             torch.bmm(a[None], b[None]), a.t() @ b, torch.inner(a[0], b[0]), torch.outer(a[0], b[0]), a[0] @ b[0], a.mH, a.mT, a.H, a.adjoint()]
    """,
    "ops_matmul_c128_batched": """
        a = cx(3, 4, 5, dtype=torch.complex128); b = cx(5, 2, dtype=torch.complex128); v = cx(5, dtype=torch.complex128)
        R = [a @ b, torch.matmul(a, v), torch.bmm(a, b.expand(3, 5, 2)), torch.einsum('bij,jk->bik', a, b), torch.vdot(v, v), torch.dot(v, v.conj())]
    """,
    "ops_vdot_real": "R = torch.vdot(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]))",
    "ops_reductions": """
        a = torch.arange(24.0).reshape(2, 3, 4) * (1 - 0.5j) + torch.arange(24.0).reshape(2, 3, 4).cos() * 1j
        R = [a.sum(), a.sum(0), a.sum(-1), a.sum((0, 2)), a.sum(-1, keepdim=True), a.sum((-1, -3), keepdim=True),
             a.mean(), a.mean(1), a.mean(-1, keepdim=True), a.mean((-1, -2)), a.cumsum(0), a.cumsum(-1), torch.cumsum(a, 1),
             a.sum(dtype=torch.complex128), a.mean(dtype=torch.complex128), torch.sum(a, 0, True), a[0, 0].diff()]
    """,
    "ops_reductions_real_to_complex": "R = [torch.tensor([1.0, 2.0]).sum(dtype=torch.complex64), torch.tensor([1, 2]).mean(dtype=torch.complex64), torch.tensor([1.0, 2.0]).cumsum(0, dtype=torch.complex128)]",
    "ops_reductions_empty": "R = [torch.zeros(0, dtype=torch.complex64).sum(), torch.zeros(0, 3, dtype=torch.complex64).sum(0), torch.tensor(1 + 2j).cumsum(0)]",
    "ops_sum_complex_to_real_dtype": "R = torch.tensor([1 + 1j, 2]).sum(dtype=torch.float32)",
    "ops_prod": "R = [torch.tensor([1 + 1j, 2, -1j]).prod(), torch.tensor([[1 + 1j, 2], [3j, 1]]).prod(1), torch.tensor([1 + 1j, 2, 1j]).cumprod(0)]",
    "ops_var_std": """
        a = torch.arange(24.0).reshape(2, 3, 4) * (1 - 0.5j) + torch.arange(24.0).reshape(2, 3, 4).cos() * 1j
        R = [a.var(), a.std(), a.var(0), a.std(-1, keepdim=True), a.var(1, correction=0), a.var(1, unbiased=False),
             torch.var_mean(a, -1), torch.std_mean(a, 0), a.var().dtype, torch.var(torch.tensor([1 + 2j]))]
    """,
    "ops_cov": "x = cx(2, 4); R = [torch.cov(x), torch.cov(x, correction=0)]",
    "ops_corrcoef": "R = torch.corrcoef(cx(2, 4))",
    "ops_nonfinite": """
        z = torch.tensor([complex(float('nan'), 1), complex(1, float('inf')), 1 + 1j, complex(float('-inf'), float('nan')), complex(0, float('nan'))])
        R = [z.isnan(), z.isinf(), z.isfinite(), torch.isreal(z), torch.isreal(torch.tensor([1 + 0j, 1j, -0.0j])),
             torch.isreal(torch.tensor([1.0])), torch.nan_to_num(torch.tensor([complex(float('nan'), 1), complex(float('inf'), float('-inf'))]))]
    """,
    "ops_isclose": """
        a = torch.tensor([1j, 1 + 0j, 1 + 1j, 0j, complex(float('nan'), 0)])
        b = torch.tensor([1.00001j, 1 + 0.5j, 2 + 1j, 1e-9 + 1e-9j, complex(float('nan'), 0)])
        R = [torch.isclose(a, b), torch.isclose(a, b, equal_nan=True), torch.isclose(a, b, rtol=0.6, atol=0),
             torch.allclose(a[:1], b[:1]), torch.allclose(torch.tensor([1 + 0j]), torch.tensor([1 + 0.5j])),
             torch.allclose(torch.tensor([1 + 1j]), torch.tensor([1 + 1.000001j]))]
    """,
    "ops_logsumexp": "R = torch.tensor([1j, 2]).logsumexp(0)",
    "ops_norm": "z = torch.tensor([3j, 4, 1 - 1j]); R = [z.norm(), torch.linalg.vector_norm(z), torch.linalg.vector_norm(z, ord=1), torch.linalg.norm(z), torch.norm(z, p=2), torch.linalg.vector_norm(z, ord=float('inf'))]",
    "ops_lerp": "R = [torch.tensor([1 + 1j, 2]).lerp(torch.tensor([1j, 1]), 0.3), torch.lerp(torch.tensor([1 + 1j]), torch.tensor([3j]), torch.tensor([0.5 + 0.5j]))]",
    "ops_addcmul": "R = [torch.tensor([1 + 1j, 2]).addcmul(torch.tensor([1j, 1]), torch.tensor([1j, 2]), value=2), torch.addcdiv(torch.tensor([1 + 1j]), torch.tensor([1j]), torch.tensor([2 - 1j]), value=0.5)]",
    "ops_shape": """
        z = torch.arange(12.0).reshape(3, 4) * (1 + 2j) - 1j
        R = [z[1], z[:, 1:3], z[z.real > 4], z[[0, 2]], z[1, 2], z[..., -1], z.reshape(4, 3), z.view(2, 6), z.t(), z.transpose(0, 1).contiguous(),
             z.clone(), torch.cat([z, z]), torch.stack([z, z], 1), z.flatten(), z.unsqueeze(0), z.flip(0), z.roll(1, 1), z.T,
             z.narrow(1, 1, 2), torch.where(z.real > 2, z, 0), torch.where(z.real > 2, z, 1j), z.masked_fill(z.real > 2, 1j),
             z.index_select(0, torch.tensor([2, 0])), torch.gather(z, 1, torch.tensor([[0], [1], [2]])), z.repeat(2, 1),
             z.expand(2, 3, 4), z.chunk(2, 1), z.split(1, 0), z.tril(), torch.diag(z[0]), torch.trace(z[:, :3]), z.permute(1, 0),
             z.squeeze(), torch.tensordot(z, z.t(), 1), torch.kron(z[0, :2], z[1, :2])]
    """,
    "ops_add_alpha_float": "z = cx(3); w = cx(3); y = z.clone(); y.add_(w, alpha=-0.1); R = [torch.add(z, w, alpha=2.5), z.sub(w, alpha=0.5), y, torch.add(z, torch.ones(3), alpha=-1.5), z.add(w, alpha=2)]",
    "ops_add_alpha_complex": "R = [torch.add(torch.tensor([1 + 1j]), torch.tensor([1j]), alpha=1j), torch.sub(torch.tensor([1 + 1j]), torch.tensor([2.0]), alpha=0.5j)]",
    "ops_cat_promote": "R = [torch.cat([torch.tensor([1j]), torch.tensor([2.0])]), torch.cat([torch.tensor([1j]), torch.tensor([2.0], dtype=torch.float64)]), torch.stack([torch.tensor([1j]), torch.tensor([2])]), torch.where(torch.tensor([True, False]), torch.tensor([1j, 2j]), torch.tensor([1.0, 2.0], dtype=torch.float64))]",
    "ops_setitem": """
        z = torch.arange(12.0).reshape(3, 4) * (1 + 2j)
        z[0, 0] = 5 - 5j; z[1] = torch.tensor(2j); z[2, 1:3] = 1; z[2, 3] = 0.5j; z[0, 1:3] = torch.tensor([1 - 1j, 2 + 2j])
        z[z.imag > 20] = -1j; z[..., 0] += 1j
        R = z
    """,
    "ops_fill": """
        a = torch.zeros(3, dtype=torch.complex64); a.fill_(1 + 1j)
        b = torch.zeros(3, dtype=torch.complex128); b.index_fill_(0, torch.tensor([1]), 1 + 1j)
        c = torch.zeros(3, dtype=torch.complex64); c.masked_fill_(torch.tensor([True, False, True]), 2 - 1j)
        d = torch.zeros(2, dtype=torch.complex64); d.copy_(torch.tensor([1.0, 2.0]))
        e = torch.zeros(2, dtype=torch.complex64); e.fill_(torch.tensor(3 - 3j))
        f = torch.ones(2, dtype=torch.complex64); f.zero_()
        R = [a, b, c, d, e, f]
    """,
    "ops_copy_complex_into_real": "x = torch.zeros(3); x.copy_(torch.tensor([1 + 1j, 2, 3j])); R = x",
    "ops_misc_where_scalars": "R = [torch.where(torch.tensor([True, False]), 1j, 2.0), torch.where(torch.tensor([True, False]), torch.tensor([1.0, 2.0]), 1j)]",
    # --- autograd (real losses of complex graphs) ----------------------------------------------
    "grad_mul_abs": "z = cx(3, grad=True); w = cx(3, grad=True); (z * w).abs().sum().backward(); R = [z.grad, w.grad]",
    "grad_conj_mul_real": "z = cx(4, grad=True); (z.conj() * z).real.sum().backward(); R = z.grad",
    "grad_exp_real": "z = cx(4, grad=True); torch.exp(z).real.sum().backward(); R = z.grad",
    "grad_exp_imag": "z = cx(4, grad=True); torch.exp(z).imag.sum().backward(); R = z.grad",
    "grad_matmul_abs_pow": "z = cx(3, 4, grad=True); w = cx(4, 2, grad=True); (z @ w).abs().pow(2).sum().backward(); R = [z.grad, w.grad]",
    "grad_matmul_c128": "z = cx(2, 3, 4, dtype=torch.complex128, grad=True); w = cx(4, 3, dtype=torch.complex128, grad=True); (z @ w).abs().sum().backward(); R = [z.grad, w.grad]",
    "grad_view_as_complex": "x = cx(3, 2, real=True, grad=True); c = torch.view_as_complex(x); (c * c).abs().sum().backward(); R = x.grad",
    "grad_view_as_real": "z = cx(3, grad=True); r = torch.view_as_real(z); (r ** 3 * torch.tensor([1.0, -2.0])).sum().backward(); R = z.grad",
    "grad_view_chain": "z = cx(4, grad=True); r = torch.view_as_complex(torch.view_as_real(z) * torch.tensor([2.0, -1.0])); (r * r).real.sum().backward(); R = z.grad",
    "grad_view_chain_reshape": """
        x = cx(2, 6, real=True, grad=True)
        c = torch.view_as_complex(x.reshape(2, 3, 2)) * torch.tensor([1j, 2, 1 - 1j])
        y = torch.view_as_real(c).flatten(-2)
        (y * torch.arange(12.0).reshape(2, 6)).sum().backward()
        R = [y, x.grad]
    """,
    "grad_polar": "a = cx(3, real=True, grad=True, positive=True); t = cx(3, real=True, grad=True); (torch.polar(a, t) * torch.tensor([1 + 1j, 2, -1j])).real.sum().backward(); R = [a.grad, t.grad]",
    "grad_polar_sq_abs": "a = cx(3, real=True, grad=True, positive=True); t = cx(3, real=True, grad=True); (torch.polar(a, t) ** 2 + torch.polar(a, t)).abs().sum().backward(); R = [a.grad, t.grad]",
    "grad_angle": "z = cx(4, grad=True); (z.angle() * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward(); R = z.grad",
    "grad_angle_at_zero": "z = torch.tensor([1 + 2j, -3 + 0.5j, 0j], requires_grad=True); z.angle().sum().backward(); R = z.grad",
    "grad_abs_at_zero": "z = torch.tensor([1 + 2j, -3 + 0.5j, 0j], requires_grad=True); z.abs().sum().backward(); R = z.grad",
    "grad_sgn": "z = torch.tensor([1 + 2j, -3 + 0.5j, 0j], requires_grad=True); (z.sgn() * torch.tensor([1 - 1j, 2j, 3])).real.sum().backward(); R = z.grad",
    "grad_sgn_imag": "z = cx(3, grad=True); (z.sgn() * torch.tensor([1 - 1j, 2j, 0.5])).imag.sum().backward(); R = z.grad",
    "grad_complex_ctor": "re = cx(3, real=True, grad=True); im = cx(3, real=True, grad=True); c = torch.complex(re, im); (c * c * torch.tensor([1 + 1j, 2 - 1j, 0.5j])).abs().sum().backward(); R = [re.grad, im.grad]",
    "grad_complex_ctor_broadcast": "re = cx(2, 1, real=True, grad=True); im = cx(3, real=True, grad=True); (torch.complex(re, im).abs() ** 2).sum().backward(); R = [re.grad, im.grad]",
    "grad_sum_dim": "z = cx(2, 3, grad=True); (z.sum(0) * torch.tensor([1 - 1j, 2j, 1])).real.sum().backward(); R = z.grad",
    "grad_mean_dim": "z = cx(2, 3, grad=True); (z.mean(-1) * torch.tensor([1 - 1j, 2j])).imag.sum().backward(); R = z.grad",
    "grad_sum_abs": "z = cx(2, 3, grad=True); z.sum().abs().backward(); R = z.grad",
    "grad_mean_abs": "z = cx(2, 3, grad=True); z.mean().abs().backward(); R = z.grad",
    "grad_sum_keepdim": "z = cx(2, 3, grad=True); (z.sum(1, keepdim=True) * z).abs().sum().backward(); R = z.grad",
    "grad_cumsum": "z = cx(2, 3, grad=True); (z.cumsum(1) * torch.tensor([1 - 1j, 2j, 1])).real.sum().backward(); R = z.grad",
    "grad_var_std": "z = cx(3, 4, grad=True); (z.var() + z.std(0).sum()).backward(); R = z.grad",
    "grad_mixed_real_complex": "z = cx(3, grad=True); x = cx(3, real=True, grad=True); (z * x).abs().sum().backward(); R = [z.grad, x.grad]",
    "grad_mixed_div": "z = cx(3, grad=True); x = cx(3, real=True, grad=True); (z / x + x / z).abs().sum().backward(); R = [z.grad, x.grad]",
    "grad_mixed_f64": "z = cx(3, grad=True); x = cx(3, real=True, dtype=torch.float64, grad=True); (z * x).abs().sum().backward(); R = [z.grad, x.grad]",
    "grad_real_times_j": "x = cx(3, real=True, grad=True); (x * (1 + 2j)).abs().sum().backward(); R = x.grad",
    "grad_real_to_complex_cast": "x = cx(3, real=True, grad=True); (x.to(torch.complex64) * (1 + 2j)).imag.sum().backward(); R = x.grad",
    "grad_complex_to_real_cast": "z = cx(3, grad=True); (z.to(torch.float32) * torch.tensor([1.0, 2.0, 3.0])).sum().backward(); R = z.grad",
    "grad_pow_int": "z = cx(3, grad=True); (z ** 3).abs().sum().backward(); R = z.grad",
    "grad_pow_complex_scalar": "z = cx(3, grad=True); (z ** (0.5 + 1j)).real.sum().backward(); R = z.grad",
    "grad_pow_tensor_tensor": "z = cx(3, grad=True); w = cx(3, grad=True); (z ** w).real.sum().backward(); R = [z.grad, w.grad]",
    "grad_pow_scalar_base": "z = cx(3, grad=True); ((2 - 1j) ** z).imag.sum().backward(); R = z.grad",
    "grad_pow_real_base": "z = cx(3, grad=True); (2 ** z).real.sum().backward(); R = z.grad",
    "grad_pow_complex_base_real_exp": "x = cx(3, real=True, grad=True); (torch.tensor([1 + 1j, 2j, -1 + 0.5j]) ** x).real.sum().backward(); R = x.grad",
    "grad_unary_chain_a": "z = cx(4, grad=True); (z.sigmoid() + z.tanh() + z.log() + z.sqrt() + z.sin() + z.cos() + z.reciprocal() + z.rsqrt()).abs().sum().backward(); R = z.grad",
    "grad_unary_chain_b": "z = cx(4, grad=True); (z.tan() + z.asin() + z.atan() + z.sinh() + z.expm1() + z.log1p() + z.square() + z.exp2() + z.log2() + z.cosh() + z.acos() + z.asinh()).abs().sum().backward(); R = z.grad",
    "grad_unary_c128": "z = cx(4, dtype=torch.complex128, grad=True); (z.exp() * z.log() / z.sqrt()).abs().sum().backward(); R = z.grad",
    "grad_conj": "z = cx(3, grad=True); (z.conj() * torch.tensor([1j, 2, 1 - 1j])).real.sum().backward(); R = z.grad",
    "grad_conj_physical": "z = cx(3, grad=True); (z.conj_physical() * torch.tensor([1j, 2, 1 - 1j])).real.sum().backward(); R = z.grad",
    "grad_mH_matmul": "z = cx(2, 2, grad=True); (z.mH @ z).abs().sum().backward(); R = z.grad",
    "grad_vdot": "a = cx(3, grad=True); b = cx(3, grad=True); torch.vdot(a, b).abs().backward(); R = [a.grad, b.grad]",
    "grad_dot": "a = cx(3, grad=True); b = cx(3, grad=True); torch.dot(a, b).real.backward(); R = [a.grad, b.grad]",
    "grad_mv": "a = cx(2, 3, grad=True); b = cx(3, grad=True); torch.mv(a, b).abs().sum().backward(); R = [a.grad, b.grad]",
    "grad_bmm": "a = cx(2, 2, 3, grad=True); b = cx(2, 3, 1, grad=True); torch.bmm(a, b).abs().sum().backward(); R = [a.grad, b.grad]",
    "grad_real_imag_product": "z = cx(3, grad=True); (z.real * z.imag).sum().backward(); R = z.grad",
    "grad_cat_reshape_slice": "z = cx(1, 2, grad=True); (torch.cat([z, z * 2j]).reshape(-1)[1:3] * torch.tensor([1, 1j])).real.sum().backward(); R = z.grad",
    "grad_where": "z = torch.tensor([1 + 2j, -3 + 0.5j, 2], requires_grad=True); torch.where(z.real > 0, z, z * 1j).imag.sum().backward(); R = z.grad",
    "grad_slice_abs": "z = cx(4, grad=True); z[1:].abs().sum().backward(); R = z.grad",
    "grad_abs_sq": "z = cx(4, grad=True); (z.abs() ** 2).sum().backward(); R = z.grad",
    "grad_autograd_grad": "z = cx(3, grad=True); R = list(torch.autograd.grad((z * z).sum().abs(), z))",
    "grad_backward_complex_seed": "z = cx(3, grad=True); (z * z).backward(torch.tensor([1j, 1, 2 - 1j])); R = z.grad",
    "grad_accumulate": "z = cx(3, grad=True); (z * 2j).real.sum().backward(); (z * z).abs().sum().backward(); R = z.grad",
    "grad_normalize_view": "z = cx(3, grad=True); F.normalize(torch.view_as_real(z), dim=-1).sum().backward(); R = z.grad",
    "grad_linear_complex_weight": "x = cx(2, 3, grad=True); w = cx(4, 3, grad=True); F.linear(x, w).abs().sum().backward(); R = [x.grad, w.grad]",
    "grad_mse_on_parts": "z = cx(5, grad=True); t = cx(5); F.mse_loss(torch.view_as_real(z), torch.view_as_real(t)).backward(); R = z.grad",
    "grad_inplace_real_view": "z0 = cx(3, grad=True); z = z0.clone(); z.real.mul_(2); z.abs().sum().backward(); R = [z, z0.grad]",
    "grad_inplace_imag_setitem": "z0 = cx(3, grad=True); z = z0 * 1; z.imag[0] = 5; z.abs().sum().backward(); R = [z, z0.grad]",
    "grad_inplace_view_as_real": "z0 = cx(3, grad=True); z = z0 * 1; torch.view_as_real(z)[:, 0] *= 3; (z * z).real.sum().backward(); R = [z, z0.grad]",
    "grad_inplace_view_as_real_whole": "z0 = cx(3, grad=True); z = z0 * 1; torch.view_as_real(z).mul_(2); (z * z).real.sum().backward(); R = [z, z0.grad]",
    "grad_inplace_view_as_complex": "x0 = cx(2, 2, real=True, grad=True); x = x0 * 1; torch.view_as_complex(x).mul_(1j); (x ** 2 * torch.tensor([1.0, 3.0])).sum().backward(); R = [x, x0.grad]",
    "grad_inplace_real_setter": "z0 = cx(3, grad=True); w = cx(3, real=True, grad=True); z = z0 * 1; z.real = w * 2; z.abs().sum().backward(); R = [z, z0.grad, w.grad]",
    "grad_inplace_whole_complex": "z0 = cx(3, grad=True); z = z0 * 1; z.mul_(2j); z.add_(1); (z * z).real.sum().backward(); R = [z, z0.grad]",
    "grad_add_alpha_complex": "z = cx(2, grad=True); w = cx(2, grad=True); torch.add(z, w, alpha=1j).abs().sum().backward(); R = [z.grad, w.grad]",
    "grad_double_backward_view": "x = cx(4, real=True, grad=True); c = torch.view_as_complex(x.view(2, 2)); g, = torch.autograd.grad((c * c).abs().sum(), x, create_graph=True); g.sum().backward(); R = [g, x.grad]",
    "grad_double_backward_cubic": "z = cx(2, grad=True); g, = torch.autograd.grad((z * z * z).abs().sum(), z, create_graph=True); (g.abs() ** 2).sum().backward(); R = [g, z.grad]",
    "grad_double_backward_exp": "z = cx(2, grad=True); g, = torch.autograd.grad(z.exp().real.sum(), z, create_graph=True); g.imag.sum().backward(); R = [g, z.grad]",
    "grad_index_ops": """
        z = cx(2, 3, grad=True)
        y = (z.index_select(0, torch.tensor([1, 1, 0])) * torch.tensor([1j, 2, -1])).real.sum()
        y = y + (torch.gather(z, 1, torch.tensor([[2], [0]])) * 1j).real.sum() + (z[z.real > 0] * 1j).imag.sum()
        y = y + (z.expand(3, 2, 3) * torch.tensor([1j, 2, 0.5])).real.sum() + F.pad(z, (1, 1)).abs().sum()
        y.backward()
        R = z.grad
    """,
    "grad_scalar_ops": "z = cx(3, grad=True); ((z / 2 - 1j).abs() + (1j - z).abs() + (1j / z).real + torch.sub(z, torch.tensor([1j, 1, 2]), alpha=2).abs()).sum().backward(); R = z.grad",
    "grad_vector_norm": "z = cx(3, grad=True); torch.linalg.vector_norm(z).backward(); R = z.grad",
    "grad_gradcheck_c128": "z = cx(3, dtype=torch.complex128, grad=True); R = torch.autograd.gradcheck(lambda z: (z * z.conj() + z.exp() * z.sin()).abs(), (z,))",
    "grad_gradcheck_c128_complex_out": "z = cx(3, dtype=torch.complex128, grad=True); R = torch.autograd.gradcheck(lambda z: z.tanh() / (1 + z * z), (z,))",
    # --- nn / optim with complex parameters ----------------------------------------------------
    "nn_functional_complex": """
        x = cx(2, 3); w = cx(4, 3); b = cx(4)
        R = [F.linear(x, w, b), F.conv1d(cx(1, 2, 5), cx(3, 2, 2)), F.embedding(torch.tensor([1, 0, 1]), cx(2, 3)), torch.tanh(x), F.silu(x),
             F.normalize(x, dim=-1), F.dropout(x, 0.0), torch.nn.Linear(3, 2, dtype=torch.complex64).weight.dtype]
    """,
    "optim_sgd_momentum": """
        p = torch.nn.Parameter(cx(3)); t = cx(3); opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
        for _ in range(3):
            opt.zero_grad(); (p * t).abs().sum().backward(); opt.step()
        R = p
    """,
    "optim_sgd_plain": """
        p = torch.nn.Parameter(cx(3)); t = cx(3); opt = torch.optim.SGD([p], lr=0.1)
        for _ in range(3):
            opt.zero_grad(); (p * t).abs().sum().backward(); opt.step()
        R = p
    """,
    "optim_adam": """
        p = torch.nn.Parameter(cx(3)); t = cx(3); opt = torch.optim.Adam([p], lr=0.1)
        for _ in range(3):
            opt.zero_grad(); (p * t).abs().sum().backward(); opt.step()
        R = p
    """,
    "optim_adamw_amsgrad": """
        p = torch.nn.Parameter(cx(3)); t = cx(3); opt = torch.optim.AdamW([p], lr=0.1, weight_decay=0.1, amsgrad=True)
        for _ in range(3):
            opt.zero_grad(); (p * t).abs().sum().backward(); opt.step()
        R = p
    """,
    "optim_rmsprop_adagrad": """
        p = torch.nn.Parameter(cx(3)); q = torch.nn.Parameter(cx(3)); t = cx(3)
        o1 = torch.optim.RMSprop([p], lr=0.1, momentum=0.5); o2 = torch.optim.Adagrad([q], lr=0.1)
        for _ in range(3):
            o1.zero_grad(); o2.zero_grad(); ((p + q) * t).abs().sum().backward(); o1.step(); o2.step()
        R = [p, q]
    """,
    "optim_clip_grad_norm": "p = torch.nn.Parameter(cx(3)); (p * 1j).abs().sum().backward(); n = torch.nn.utils.clip_grad_norm_([p], 0.5); R = [n, p.grad]",
    # --- RoPE as in LLaMA -------------------------------------------------------------------------
    "rope_llama": """
        def precompute_freqs_cis(dim, end, theta=10000.0):
            freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
            t = torch.arange(end, device=freqs.device)
            freqs = torch.outer(t, freqs).float()
            return torch.polar(torch.ones_like(freqs), freqs)

        def reshape_for_broadcast(freqs_cis, x):
            ndim = x.ndim
            shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
            return freqs_cis.view(*shape)

        def apply_rotary_emb(xq, xk, freqs_cis):
            xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
            xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
            freqs_cis = reshape_for_broadcast(freqs_cis, xq_)
            xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
            xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
            return xq_out.type_as(xq), xk_out.type_as(xk)

        xq = cx(2, 5, 3, 8, real=True, grad=True); xk = cx(2, 5, 3, 8, real=True, grad=True)
        fc = precompute_freqs_cis(8, 5)
        q, k = apply_rotary_emb(xq, xk, fc)
        scores = (q.transpose(1, 2) @ k.transpose(1, 2).transpose(-1, -2)).softmax(-1)
        (scores * torch.arange(25.0).reshape(5, 5)).sum().backward()
        R = [fc, q, k, xq.grad, xk.grad]
    """,
    "rope_freqs_grad": """
        x = cx(4, 6, real=True)
        theta = cx(4, 3, real=True, grad=True)
        fc = torch.polar(torch.ones_like(theta), theta)
        y = torch.view_as_real(torch.view_as_complex(x.reshape(4, 3, 2)) * fc).flatten(-2)
        (y ** 2 * torch.arange(24.0).reshape(4, 6).cos()).sum().backward()
        R = [y, theta.grad]
    """,
    # --- fft: values (NumPy is the oracle in test_fft.py; these pin dtypes and PyTorch's results)
    "fft_1d_real_input": "x = cx(2, 8, real=True); R = [torch.fft.fft(x), torch.fft.ifft(x), torch.fft.rfft(x), torch.fft.irfft(x), torch.fft.hfft(x), torch.fft.ihfft(x)]",
    "fft_1d_lengths": """
        x = cx(3, 5, real=True)
        R = [torch.fft.fft(x, dim=0), torch.fft.fft(x, n=8), torch.fft.fft(x, n=3), torch.fft.rfft(x, n=7, dim=0), torch.fft.irfft(x, n=9),
             torch.fft.irfft(x, n=4), torch.fft.hfft(x, n=7), torch.fft.ihfft(x, n=3), torch.fft.irfft(x, n=1), torch.fft.hfft(x, n=2)]
    """,
    "fft_1d_norms_complex": """
        x = cx(3, 5); norms = [None, 'backward', 'ortho', 'forward']
        R = ([torch.fft.fft(x, norm=n) for n in norms] + [torch.fft.ifft(x, norm=n) for n in norms]
             + [torch.fft.irfft(x, norm=n) for n in norms] + [torch.fft.hfft(x, norm=n) for n in norms]
             + [torch.fft.irfft(x, n=7, norm=n) for n in norms] + [torch.fft.hfft(x, n=9, norm=n) for n in norms])
    """,
    "fft_1d_norms_real": """
        x = cx(3, 6, real=True); norms = [None, 'backward', 'ortho', 'forward']
        R = [torch.fft.rfft(x, norm=n) for n in norms] + [torch.fft.ihfft(x, norm=n) for n in norms] + [torch.fft.rfft(x, n=5, norm=n) for n in norms]
    """,
    "fft_nd_defaults": """
        x = cx(2, 3, 4, real=True)
        R = [torch.fft.fft2(x), torch.fft.ifft2(x), torch.fft.fftn(x), torch.fft.ifftn(x), torch.fft.rfft2(x), torch.fft.irfft2(x),
             torch.fft.rfftn(x), torch.fft.irfftn(x), torch.fft.hfftn(x), torch.fft.ihfftn(x), torch.fft.hfft2(x), torch.fft.ihfft2(x)]
    """,
    "fft_nd_s_dim": """
        x = cx(2, 3, 4, real=True)
        R = [torch.fft.fftn(x, s=(4, 5)), torch.fft.fftn(x, dim=(0, 2)), torch.fft.fftn(x, s=(3,), dim=(1,)), torch.fft.rfftn(x, s=(2, 6)),
             torch.fft.irfftn(x, s=(2, 6)), torch.fft.irfftn(x, s=(3, 5), dim=(0, 1)), torch.fft.hfftn(x, s=(4, 5)), torch.fft.ihfftn(x, s=(2, 5)),
             torch.fft.fftn(x, s=(-1, 6)), torch.fft.rfftn(x, dim=(2, 0)), torch.fft.irfftn(x, dim=(2, 1)), torch.fft.hfftn(x, dim=(-1, 0)),
             torch.fft.ihfftn(x, dim=(1, 2, 0)), torch.fft.fftn(x, s=(3, 2), dim=(2, 0)), torch.fft.rfft2(x, s=(5, 3)), torch.fft.irfft2(x, s=(1, 1)),
             torch.fft.rfftn(x, s=[-1, -1, 5]), torch.fft.fftn(x, dim=2), torch.fft.fftn(x, s=7, dim=-1)]
    """,
    "fft_nd_norms": """
        x = cx(2, 3, 4); r = x.real.contiguous()
        R = [torch.fft.fftn(x, norm='ortho'), torch.fft.ifftn(x, norm='forward'), torch.fft.irfftn(x, norm='forward'), torch.fft.hfftn(x, norm='ortho'),
             torch.fft.irfftn(x, s=(3, 7)), torch.fft.hfftn(x, dim=(0, 2), s=(3, 3)), torch.fft.fft2(r, norm='ortho'), torch.fft.rfft2(r, norm='forward'),
             torch.fft.irfft2(x, norm='ortho'), torch.fft.hfft2(x, norm='forward'), torch.fft.ihfft2(r, norm='ortho'), torch.fft.ihfftn(r, norm='forward')]
    """,
    "fft_dtypes": """
        d = torch.arange(6, dtype=torch.float64); i = torch.arange(6); b = torch.tensor([True, False, True])
        R = [torch.fft.fft(d), torch.fft.rfft(d).dtype, torch.fft.irfft(d).dtype, torch.fft.hfft(d.to(torch.complex128)).dtype,
             torch.fft.fft(i), torch.fft.rfft(i), torch.fft.irfft(i), torch.fft.hfft(i), torch.fft.ihfft(i), torch.fft.fftn(i), torch.fft.fft(b),
             torch.fft.ifft(torch.arange(4, dtype=torch.int32)).dtype, torch.fft.rfft2(torch.ones(2, 2, dtype=torch.float64)).dtype]
    """,
    "fft_default_f64": """
        torch.set_default_dtype(torch.float64)
        try:
            R = [torch.fft.fftfreq(3).dtype, torch.fft.fft(torch.arange(3)).dtype, torch.fft.rfft(torch.arange(3)).dtype, torch.fft.fft(torch.ones(2, dtype=torch.float32)).dtype]
        finally:
            torch.set_default_dtype(torch.float32)
    """,
    "fft_c128": "z = cx(3, 7, dtype=torch.complex128); R = [torch.fft.fft(z), torch.fft.ifft(z, n=10), torch.fft.irfft(z), torch.fft.hfft(z, n=5), torch.fft.fftn(z), torch.fft.irfftn(z)]",
    "fft_noncontiguous": "x = cx(4, 6, real=True); R = [torch.fft.fft(x[:, ::2]), torch.fft.fft(x.t()), torch.fft.rfft(x.t(), dim=0), torch.fft.fftn(x[1:, 1:]), torch.fft.ifft(torch.view_as_complex(x.reshape(4, 3, 2)).t())]",
    "fft_roundtrip": "x = cx(8, real=True); y = cx(7, real=True); R = [torch.fft.irfft(torch.fft.rfft(x)), torch.fft.irfft(torch.fft.rfft(y), n=7), torch.fft.ifft(torch.fft.fft(y)), torch.fft.hfft(torch.fft.ihfft(y), n=7)]",
    "fft_irfft_nonhermitian_input": "z = torch.tensor([1 + 1j, 2 + 2j, 3 + 3j]); R = [torch.fft.irfft(z), torch.fft.irfft(z, n=5), torch.fft.hfft(z), torch.fft.irfft(z, n=4)]",
    "fft_freq": """
        R = [torch.fft.fftfreq(1), torch.fft.fftfreq(4), torch.fft.fftfreq(5), torch.fft.fftfreq(5, d=0.1), torch.fft.fftfreq(4, dtype=torch.float64),
             torch.fft.rfftfreq(6, 2.0), torch.fft.rfftfreq(7), torch.fft.fftfreq(0), torch.fft.rfftfreq(1), torch.fft.fftfreq(3, 1e-3, dtype=torch.float64),
             torch.fft.fftfreq(3, requires_grad=True).requires_grad, torch.fft.fftfreq(6, d=0.5)]
    """,
    "fft_shift": """
        x = torch.arange(12).reshape(3, 4)
        R = [torch.fft.fftshift(x), torch.fft.ifftshift(x), torch.fft.fftshift(x, dim=0), torch.fft.ifftshift(x, dim=(1,)), torch.fft.fftshift(x, dim=-1),
             torch.fft.fftshift(torch.fft.fftfreq(5)), torch.fft.ifftshift(torch.fft.fftshift(torch.arange(7))), torch.fft.ifftshift(torch.arange(7)),
             torch.fft.fftshift(torch.arange(5) * 1j), torch.fft.fftshift(x, dim=(0, 1)), torch.fft.ifftshift(x, dim=-2)]
    """,
    "fft_out": """
        o = torch.empty(0, dtype=torch.complex64); r = torch.fft.fft(torch.arange(4.0), out=o)
        o2 = torch.empty(3, dtype=torch.complex128); torch.fft.fft(torch.arange(4.0), out=o2)
        o3 = torch.empty(2); torch.fft.irfft(torch.tensor([1 + 1j, 2j]), out=o3)
        R = [r is o, o, o2, o3]
    """,
    # --- fft gradients --------------------------------------------------------------------------
    "fftgrad_rfft": "x = cx(5, real=True, grad=True); (torch.fft.rfft(x) * torch.tensor([1 + 1j, 2, -1j])).real.sum().backward(); R = x.grad",
    "fftgrad_rfft_abs_even": "x = cx(6, real=True, grad=True); torch.fft.rfft(x).abs().sum().backward(); R = x.grad",
    "fftgrad_rfft_pad_ortho": "x = cx(6, real=True, grad=True); torch.fft.rfft(x, n=9, norm='ortho').abs().pow(2).sum().backward(); R = x.grad",
    "fftgrad_rfft_trim_forward": "x = cx(2, 7, real=True, grad=True); (torch.fft.rfft(x, n=4, norm='forward') * torch.tensor([1j, 2, 3 - 1j])).imag.sum().backward(); R = x.grad",
    "fftgrad_rfft_dim0_f64": "x = cx(3, 4, real=True, dtype=torch.float64, grad=True); (torch.fft.rfft(x, dim=0) * torch.arange(8.0, dtype=torch.float64).reshape(2, 4)).real.sum().backward(); R = x.grad",
    "fftgrad_irfft": "z = cx(4, grad=True); (torch.fft.irfft(z) * torch.tensor([1.0, -2.0, 3.0, 0.5, 1.0, 2.0])).sum().backward(); R = z.grad",
    "fftgrad_irfft_odd_forward": "z = cx(4, grad=True); (torch.fft.irfft(z, n=5, norm='forward') * torch.tensor([1.0, -2.0, 3.0, 0.5, 1.0])).sum().backward(); R = z.grad",
    "fftgrad_irfft_sq": "z = cx(4, grad=True); (torch.fft.irfft(z, n=4) ** 2).sum().backward(); R = z.grad",
    "fftgrad_irfft_pad": "z = cx(4, grad=True); (torch.fft.irfft(z, n=10, norm='ortho') ** 2).sum().backward(); R = z.grad",
    "fftgrad_irfft_trim": "z = cx(5, grad=True); (torch.fft.irfft(z, n=3) * torch.tensor([1.0, -2.0, 3.0])).sum().backward(); R = z.grad",
    "fftgrad_irfft_n1_n2": "z = cx(3, grad=True); (torch.fft.irfft(z, n=1) * 3 + torch.fft.irfft(z, n=2) @ torch.tensor([3.0, 1.5])).sum().backward(); R = z.grad",
    "fftgrad_fft": "z = cx(4, grad=True); (torch.fft.fft(z) * torch.tensor([1, 2j, 3, -1])).real.sum().backward(); R = z.grad",
    "fftgrad_fft_pad_ortho": "z = cx(4, grad=True); torch.fft.fft(z, n=6, norm='ortho').abs().sum().backward(); R = z.grad",
    "fftgrad_ifft_trim_forward": "z = cx(4, grad=True); torch.fft.ifft(z, n=3, norm='forward').abs().sum().backward(); R = z.grad",
    "fftgrad_fft_real_input": "x = cx(2, 5, real=True, grad=True); (torch.fft.fft(x, dim=0) * torch.arange(10.0).reshape(2, 5)).imag.sum().backward(); R = x.grad",
    "fftgrad_fftn": "z = cx(2, 3, grad=True); torch.fft.fftn(z).abs().sum().backward(); R = z.grad",
    "fftgrad_fft2_pad": "z = cx(2, 3, grad=True); (torch.fft.fft2(z, s=(3, 4)) * torch.arange(12.0).reshape(3, 4)).imag.sum().backward(); R = z.grad",
    "fftgrad_ifftn_c128": "z = cx(2, 3, 4, dtype=torch.complex128, grad=True); torch.fft.ifftn(z, dim=(0, 2), norm='ortho').abs().sum().backward(); R = z.grad",
    "fftgrad_hfft": "z = cx(4, grad=True); (torch.fft.hfft(z) * torch.tensor([1.0, -2.0, 3.0, 0.5, 1.0, 2.0])).sum().backward(); R = z.grad",
    "fftgrad_hfft_ortho": "z = cx(4, grad=True); (torch.fft.hfft(z, n=7, norm='ortho') ** 2).sum().backward(); R = z.grad",
    "fftgrad_hfft_n2": "z = cx(3, grad=True); (torch.fft.hfft(z, n=2) * torch.tensor([1.0, -2.0])).sum().backward(); R = z.grad",
    "fftgrad_ihfft": "x = cx(5, real=True, grad=True); (torch.fft.ihfft(x) * torch.tensor([1 + 1j, 2, -1j])).real.sum().backward(); R = x.grad",
    "fftgrad_rfft2": "x = cx(3, 4, real=True, grad=True); torch.fft.rfft2(x).abs().sum().backward(); R = x.grad",
    "fftgrad_rfftn_s": "x = cx(3, 4, real=True, grad=True); (torch.fft.rfftn(x, s=(2, 6)) * torch.arange(8.0).reshape(2, 4)).imag.sum().backward(); R = x.grad",
    "fftgrad_irfft2_from_real": "x = cx(3, 4, real=True, grad=True); (torch.fft.irfft2(x.to(torch.complex64)) ** 2).sum().backward(); R = x.grad",
    "fftgrad_irfftn_s": "z = cx(3, 4, grad=True); (torch.fft.irfftn(z, s=(3, 5)) * torch.arange(15.0).reshape(3, 5)).sum().backward(); R = z.grad",
    "fftgrad_irfft2_ortho": "z = cx(2, 3, grad=True); (torch.fft.irfft2(z, s=(3, 5), norm='ortho') * torch.arange(15.0).reshape(3, 5)).sum().backward(); R = z.grad",
    "fftgrad_hfftn": "z = cx(3, 4, grad=True); (torch.fft.hfftn(z) * torch.arange(18.0).reshape(3, 6)).sum().backward(); R = z.grad",
    "fftgrad_hfft2_forward": "z = cx(2, 3, grad=True); (torch.fft.hfft2(z, norm='forward') * torch.arange(8.0).reshape(2, 4)).sum().backward(); R = z.grad",
    "fftgrad_ihfftn": "x = cx(3, 4, real=True, grad=True); (torch.fft.ihfftn(x) * torch.arange(9.0).reshape(3, 3)).imag.sum().backward(); R = x.grad",
    "fftgrad_ihfft2_ortho": "x = cx(3, 4, real=True, grad=True); (torch.fft.ihfft2(x, norm='ortho') * torch.arange(9.0).reshape(3, 3)).real.sum().backward(); R = x.grad",
    "fftgrad_fftshift": "x = cx(3, 4, real=True, grad=True); (torch.fft.fftshift(torch.fft.fft(x)) * torch.arange(12.0).reshape(3, 4)).real.sum().backward(); R = x.grad",
    "fftgrad_noncontiguous": "x = cx(4, 6, real=True, grad=True); (torch.fft.rfft(x.t()[1:], dim=0).abs() + torch.fft.fft(x[:, ::2], n=4).real.sum()).sum().backward(); R = x.grad",
    "fftgrad_view_as_complex_input": "x = cx(3, 4, 2, real=True, grad=True); torch.fft.ifft2(torch.view_as_complex(x), norm='ortho').abs().pow(2).mul(torch.arange(12.0).reshape(3, 4)).sum().backward(); R = x.grad",
    "fftgrad_spectral_conv": """
        x = cx(2, 16, real=True, grad=True); w = cx(9, grad=True)
        y = torch.fft.irfft(torch.fft.rfft(x) * w, n=16)
        (y ** 2).sum().backward()
        R = [y, x.grad, w.grad]
    """,
    "fftgrad_gradcheck": "x = cx(2, 5, real=True, dtype=torch.float64, grad=True); R = [torch.autograd.gradcheck(lambda x: torch.fft.rfft(x).abs(), (x,)), torch.autograd.gradcheck(lambda x: torch.fft.irfft(torch.fft.fft(x), n=7), (x,))]",
}

# Errors: the snippet must raise; the exception's type is recorded (and its message, matched
# by the tests where the name ends in "_msg").
ERRORS = {
    # creation / casts
    "err_tensor_complex_into_float": "torch.tensor([1j], dtype=torch.float32)",
    "err_randint_complex": "torch.randint(0, 5, (3,), dtype=torch.complex64)",
    "err_arange_complex": "torch.arange(3, dtype=torch.complex64)",
    "err_inplace_real_add_complex": "torch.zeros(3).add_(1j)",
    "err_inplace_real_mul_complex_tensor": "x = torch.zeros(3); x *= torch.tensor([1j, 1, 1])",
    # ops with no complex kernel (PyTorch raises NotImplementedError unless noted)
    "err_max": "torch.max(torch.tensor([1j, 2]))",
    "err_min": "torch.min(torch.tensor([1j, 2]))",
    "err_max_dim": "torch.tensor([1j, 2]).max(0)",
    "err_argmax": "torch.tensor([1j, 2]).argmax()",
    "err_amax": "torch.tensor([1j, 2]).amax()",
    "err_lt_msg": "torch.tensor([1j, 2]) < torch.tensor([1j, 2])",
    "err_gt_scalar_msg": "torch.tensor([1j, 2]) > 1",
    "err_le_msg": "torch.tensor([1j, 2]).le(1)",
    "err_sign_msg": "torch.tensor([1j, 2]).sign()",
    "err_sort": "torch.sort(torch.tensor([1j, 2]))",
    "err_topk": "torch.tensor([1j, 2]).topk(1)",
    "err_clamp": "torch.tensor([1j, 2]).clamp(0, 1)",
    "err_floor": "torch.tensor([1j, 2]).floor()",
    "err_trunc": "torch.tensor([1j, 2]).trunc()",
    "err_round": "torch.tensor([1j, 2]).round()",
    "err_floordiv": "torch.tensor([1j, 2]) // 2",
    "err_remainder_msg": "torch.tensor([1j, 2]) % 2",
    "err_div_floor": "torch.tensor([1 + 1j, 2]).div(2, rounding_mode='floor')",
    "err_relu": "torch.tensor([1j, 2]).relu()",
    "err_erf": "torch.tensor([1j, 2]).erf()",
    "err_atan2_msg": "torch.tensor([1j, 2]).atan2(torch.tensor([1j, 2]))",
    "err_maximum": "torch.maximum(torch.tensor([1j, 2]), torch.tensor([1j, 2]))",
    "err_bitwise_not": "torch.tensor([1j, 2]).bitwise_not()",
    "err_signbit": "torch.tensor([1j, 2]).signbit()",
    "err_cummax": "torch.tensor([1j, 2]).cummax(0)",
    "err_median": "torch.tensor([1j, 2]).median()",
    "err_unique": "torch.tensor([1j, 0]).unique()",
    "err_nansum_msg": "torch.nansum(torch.tensor([1 + 2j, 3j]))",
    "err_isposinf_msg": "torch.isposinf(torch.tensor([1j]))",
    "err_isneginf_msg": "torch.isneginf(torch.tensor([1j]))",
    "err_imag_of_real_msg": "torch.imag(torch.tensor([1.0, 2.0]))",
    # complex views and constructors
    "err_view_as_complex_last_dim_msg": "torch.view_as_complex(torch.tensor([1.0, 2.0, 3.0]))",
    "err_view_as_complex_stride_msg": "torch.view_as_complex(torch.tensor([[1.0, 2.0], [3.0, 4.0]]).t())",
    "err_view_as_complex_0d_msg": "torch.view_as_complex(torch.tensor(1.0))",
    "err_view_as_complex_int": "torch.view_as_complex(torch.tensor([1, 2]))",
    "err_view_as_complex_offset_msg": "torch.view_as_complex(torch.arange(6.0)[1:5].reshape(2, 2))",
    "err_view_as_complex_offset_2d_msg": "torch.view_as_complex(torch.arange(12.0).reshape(3, 4)[:, 1:3])",
    "err_view_as_complex_inner_stride_msg": "torch.view_as_complex(torch.arange(9.0).reshape(3, 3)[:, :2])",
    "err_view_as_real_real_msg": "torch.view_as_real(torch.tensor([1.0]))",
    "err_view_as_real_arg": "torch.view_as_real([1j])",
    "err_complex_dtype_mismatch": "torch.complex(torch.tensor([1.0, 2.0]), torch.tensor([3.0], dtype=torch.float64))",
    "err_complex_int_msg": "torch.complex(torch.tensor([1, 2]), torch.tensor([3, 4]))",
    "err_complex_broadcast": "torch.complex(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0, 3.0]))",
    "err_polar_int_msg": "torch.polar(torch.tensor([1, 2]), torch.tensor([0, 1]))",
    "err_polar_dtype_mismatch": "torch.polar(torch.tensor([1.0]), torch.tensor([1.0], dtype=torch.float64))",
    "err_H_1d_msg": "torch.tensor([1 + 2j, 3j]).H",
    "err_mH_1d": "torch.tensor([1 + 2j, 3j]).mH",
    "err_backward_complex_scalar_msg": "z = torch.tensor([1 + 2j], requires_grad=True); (z * z).sum().backward()",
    "err_grad_complex_scalar_msg": "z = torch.tensor([1 + 2j], requires_grad=True); torch.autograd.grad((z * z).sum(), z)",
    "err_matmul_dtype_mismatch": "torch.tensor([[1 + 2j, 3j]]) @ torch.tensor([[1.0], [2.0]], dtype=torch.complex128)",
    "err_vdot_2d_msg": "torch.vdot(torch.ones(2, 2, dtype=torch.complex64), torch.ones(2, 2, dtype=torch.complex64))",
    "err_vdot_dtype_mismatch": "torch.vdot(torch.tensor([1 + 2j, 3j]), torch.tensor([1.0, 2.0]))",
    "err_matmul_mixed_dtype": "torch.tensor([[1 + 2j, 3j]]) @ torch.tensor([[1.0], [2.0]])",
    "err_mm_mixed_dtype": "torch.mm(torch.tensor([[1 + 2j, 3j]]), torch.tensor([[1.0], [2.0]]))",
    "err_dot_mixed_dtype": "torch.dot(torch.tensor([1 + 2j, 3j]), torch.tensor([1.0, 2.0]))",
    "err_vdot_mixed_dtype": "torch.vdot(torch.tensor([1 + 2j, 3j]), torch.tensor([1 + 2j, 3j], dtype=torch.complex128))",
    "err_add_alpha_complex_real_msg": "torch.add(torch.tensor([1.0]), torch.tensor([1.0]), alpha=1j)",
    "err_inplace_leaf_real_view_msg": "z = torch.tensor([1 + 2j], requires_grad=True); z.real.mul_(2)",
    "err_inplace_leaf_view_as_real_msg": "z = torch.tensor([1 + 2j], requires_grad=True); torch.view_as_real(z).add_(1)",
    "err_isclose_dtype_mismatch": "torch.isclose(torch.tensor([1j]), torch.tensor([1.0]))",
    # fft
    "err_fft_n0_msg": "torch.fft.fft(torch.arange(4.0), n=0)",
    "err_fft_n_negative_msg": "torch.fft.fft(torch.arange(4.0), n=-1)",
    "err_fft_empty_msg": "torch.fft.fft(torch.zeros(0))",
    "err_fft_rfft_complex_msg": "torch.fft.rfft(torch.arange(4.0) * 1j)",
    "err_fft_ihfft_complex_msg": "torch.fft.ihfft(torch.arange(4.0) * 1j)",
    "err_fft_rfftn_complex": "torch.fft.rfftn(torch.arange(4.0) * 1j)",
    "err_fft_rfft2_complex": "torch.fft.rfft2(torch.ones(2, 2, dtype=torch.complex64))",
    "err_fft_ihfftn_complex": "torch.fft.ihfftn(torch.ones(2, 2, dtype=torch.complex64))",
    "err_fft_bad_norm_msg": "torch.fft.fft(torch.arange(4.0), norm='bad')",
    "err_fft_bad_norm_case_msg": "torch.fft.ifft(torch.arange(4.0), norm='Ortho')",
    "err_fft_rfft_bad_norm_msg": "torch.fft.rfft(torch.arange(4.0), norm='fwd')",
    "err_fft2_bad_norm_msg": "torch.fft.fft2(torch.ones(2, 2), norm='none')",
    "err_fft_0d_msg": "torch.fft.fft(torch.tensor(1.0))",
    "err_fft_dim_range_msg": "torch.fft.fft(torch.arange(4.0), dim=1)",
    "err_fft2_1d_msg": "torch.fft.fft2(torch.ones(3))",
    "err_irfft_n0_msg": "torch.fft.irfft(torch.zeros(1, dtype=torch.complex64))",
    "err_hfft_n0_msg": "torch.fft.hfft(torch.ones(1, dtype=torch.complex64))",
    "err_irfft_explicit_n0_msg": "torch.fft.irfft(torch.ones(3, dtype=torch.complex64), n=0)",
    "err_fftn_dup_dims_msg": "torch.fft.fftn(torch.ones(2, 2), dim=(0, 0))",
    "err_fftn_s_dim_len_msg": "torch.fft.fftn(torch.ones(2, 2), s=(2,), dim=(0, 1))",
    "err_fftn_s_zero_msg": "torch.fft.fftn(torch.ones(2, 2), s=(0, 2))",
    "err_rfftn_no_dims_msg": "torch.fft.rfftn(torch.ones(2, 2), dim=())",
    "err_irfftn_no_dims": "torch.fft.irfftn(torch.ones(2, 2, dtype=torch.complex64), dim=())",
    "err_fft_half_msg": "torch.fft.fft(torch.ones(2, dtype=torch.float16))",
    "err_fft_n_float": "torch.fft.fft(torch.arange(4.0), n=2.5)",
    "err_fft_not_tensor": "torch.fft.fft([1.0, 2.0])",
    "err_fft_out_real_msg": "torch.fft.fft(torch.arange(4.0), out=torch.empty(4))",
    "err_irfft_out_complex_msg": "torch.fft.irfft(torch.tensor([1 + 1j, 2j]), out=torch.empty(2, dtype=torch.complex64))",
    "err_fft_out_requires_grad": "torch.fft.fft(torch.arange(4.0, requires_grad=True), out=torch.empty(4, dtype=torch.complex64))",
    "err_fftfreq_int_dtype_msg": "torch.fft.fftfreq(4, dtype=torch.int64)",
    "err_fftfreq_negative": "torch.fft.fftfreq(-1)",
    "err_fftshift_0d": "torch.fft.fftshift(torch.tensor(3.0))",
    "err_fftshift_dim_range": "torch.fft.fftshift(torch.arange(6).reshape(2, 3), dim=2)",
}


class Inputs:
    """`cx(*shape, dtype=, real=, grad=, positive=)`: a NumPy-drawn input (uniform in [-2, 2), or
    [0.1, 2) when `positive`; complex unless `real`), stored for the tests."""

    def __init__(self, name):
        self.name, self.arrays = name, []

    def __call__(self, *shape, dtype=None, real=False, grad=False, positive=False):
        rng = np.random.default_rng([zlib.crc32(self.name.encode()), len(self.arrays)])
        if dtype is None:
            dtype = torch.float32 if real else torch.complex64
        np_dt = {torch.float32: np.float32, torch.float64: np.float64, torch.complex64: np.complex64, torch.complex128: np.complex128}[dtype]
        a = rng.uniform(0.1, 2, shape) if positive else rng.uniform(-2, 2, shape)
        if not real:
            a = a + 1j * rng.uniform(-2, 2, shape)
        a = np.round(a, 3).astype(np_dt)  # short decimals: easy to read back, same bits everywhere
        self.arrays.append(a)
        t = torch.from_numpy(a.copy())
        return t.requires_grad_(True) if grad else t


def _leaves(v, path, out):
    """Flattens a result into (path, leaf) pairs."""
    if isinstance(v, (list, tuple)) and not isinstance(v, torch.Size):
        for i, x in enumerate(v):
            _leaves(x, f"{path}.{i}", out)
    else:
        out.append((path, v))


def _encode(v):
    if isinstance(v, torch.Tensor):
        t = v.detach().resolve_conj().resolve_neg()
        return {"kind": "tensor", "dtype": str(t.dtype), "shape": list(t.shape)}, t.numpy().copy()
    if isinstance(v, torch.dtype):
        return {"kind": "dtype", "value": str(v)}, None
    if isinstance(v, torch.Size):
        return {"kind": "py", "value": list(v)}, None
    if isinstance(v, complex):
        return {"kind": "complex", "value": [v.real, v.imag]}, None
    if isinstance(v, float):
        return {"kind": "float", "value": repr(v)}, None
    if isinstance(v, (bool, int, str)) or v is None:
        return {"kind": "py", "value": v}, None
    if isinstance(v, list):
        return {"kind": "py", "value": v}, None
    raise TypeError(f"cannot record {type(v)}")


class Pool:
    """All arrays of one dtype in one flat buffer (one npz member per dtype keeps the file small);
    an array is found again by (dtype, offset, shape)."""

    def __init__(self):
        self.parts, self.size = {}, {}

    def add(self, a):
        key = a.dtype.name
        off = self.size.get(key, 0)
        self.parts.setdefault(key, []).append(a.reshape(-1))
        self.size[key] = off + a.size
        return [key, off, list(a.shape)]

    def arrays(self):
        return {f"pool{k}": np.concatenate(v) for k, v in self.parts.items()}


def run(src, cx):
    g = {"torch": torch, "F": F, "np": np, "math": math, "cx": cx}
    exec(textwrap.dedent(src).strip(), g)
    return g["R"]


def main():
    meta = {"cases": {}, "errors": {}}
    pool = Pool()
    failed = []
    out = {}
    for name, src in CASES.items():
        cx = Inputs(name)
        try:
            R = run(src, cx)
        except Exception as e:
            failed.append(f"{name}: {type(e).__name__}: {e}")
            continue
        leaves = []
        # tolist() results (nested lists of complex) are kept whole as one leaf
        if isinstance(R, list) and name == "py_tolist":
            leaves = [(f".{i}", x) for i, x in enumerate(R)]
        else:
            _leaves(R, "", leaves)
        entries = []
        for path, v in leaves:
            if name == "py_tolist":
                e = {"kind": "py", "value": json.loads(json.dumps(v, default=lambda c: {"complex": [c.real, c.imag]}))}
                arr = None
            else:
                e, arr = _encode(v)
            if arr is not None:
                e["at"] = pool.add(arr)
            e["path"] = path
            entries.append(e)
        meta["cases"][name] = {"src": textwrap.dedent(src).strip(), "leaves": entries, "inputs": [pool.add(a) for a in cx.arrays],
                               "single": not isinstance(R, (list, tuple))}
    for name, src in ERRORS.items():
        try:
            run(src if "R =" in src or ";" in src else f"R = {src}", Inputs(name))
        except Exception as e:  # noqa: BLE001 - recording whatever PyTorch raises
            meta["errors"][name] = {"src": src, "type": type(e).__name__, "msg": str(e).split("\n")[0]}
        else:
            failed.append(f"{name}: PyTorch raised nothing")
    if failed:
        raise SystemExit("\n".join(failed))
    out.update(pool.arrays())
    out["__meta__"] = np.array(json.dumps(meta))
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "complex_cases.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {len(CASES)} cases, {len(ERRORS)} errors, {len(out)} arrays to {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
