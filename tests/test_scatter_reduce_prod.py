"""scatter_reduce(..., 'prod') multiplies integers wrapping in their own width and complex
numbers as complex numbers, as PyTorch does (values recorded from PyTorch 2.13)."""
import ferrotorch as torch


def test_int64_products_wrap():
    a = torch.tensor([3490017379359391437, -2074793383282153538, -6566344053267114629], dtype=torch.int64)
    out = torch.scatter_reduce(a, 0, torch.tensor([0]), torch.tensor([9223372036854775806]), "prod", include_self=True)
    assert out.tolist() == [2243337278135992934, -2074793383282153538, -6566344053267114629]


def test_uint8_products_wrap():
    a = torch.tensor([2, 3], dtype=torch.uint8)
    out = torch.scatter_reduce(a, 0, torch.tensor([0, 0]), torch.tensor([200, 3], dtype=torch.uint8), "prod", include_self=True)
    assert out.tolist() == [176, 3]


def test_complex_products():
    z = torch.tensor([1 + 2j, 3 - 1j])
    out = torch.scatter_reduce(z, 0, torch.tensor([0, 0]), torch.tensor([2 - 1j, 1j]), "prod", include_self=True)
    assert out.tolist() == [-3 + 4j, 3 - 1j]
