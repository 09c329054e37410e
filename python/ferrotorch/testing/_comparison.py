"""``torch.testing.assert_close``: PyTorch's comparison rules, tolerances and failure messages."""
import cmath
import collections.abc
import warnings

import ferrotorch as torch

_F16, _BF16, _F32, _F64 = torch.float16, torch.bfloat16, torch.float32, torch.float64
# default (rtol, atol) per dtype; the loosest of the two inputs' applies
_PRECISION = {_F16: (0.001, 1e-5), _BF16: (0.016, 1e-5), _F32: (1.3e-6, 1e-5), _F64: (1e-7, 1e-7)}
_PY_DTYPE = {int: torch.int64, float: _F64, complex: None}  # complex: complex128 (1e-7, 1e-7)


class _Failure(Exception):
    """A comparison failure: the exception type to raise, its message and the item path."""

    def __init__(self, type, msg, path=()):
        super().__init__(msg)
        self.type, self.msg, self.path = type, msg, path

    def to_error(self, msg=None):
        if not isinstance(msg, str):
            text = self.msg
            if self.path:
                text += f"\n\nThe failure occurred for item {''.join(str([p]) for p in self.path)}"
            msg = msg(text) if callable(msg) else text
        return self.type(msg)


class _Unsupported(Exception):
    pass


def _dtype_str(d):
    return "torch." + str(d).split(".")[-1]


def _tolerances(dtypes, rtol, atol, path):
    if (rtol is None) != (atol is None):
        raise _Failure(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, "
                                   f"but got no {'rtol' if rtol is None else 'atol'}.", path)
    if rtol is not None:
        return rtol, atol
    pairs = [(1e-7, 1e-7) if d is None else _PRECISION.get(d, (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _mismatch_msg(identifier, extra, abs_diff, abs_idx, atol, rel_diff, rel_idx, rtol):
    equality = rtol == 0 and atol == 0

    def line(kind, diff, idx, tol):
        if idx is None:
            s = f"{kind.title()} difference: {diff}"
        else:
            s = f"Greatest {kind} difference: {diff} at index {idx}"
        return s + ("" if equality else f" (up to {tol} allowed)") + "\n"
    ident = identifier
    msg = f"{ident} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += extra.strip() + "\n"
    msg += line("absolute", abs_diff, abs_idx, atol) + line("relative", rel_diff, rel_idx, rtol)
    return msg.strip()


def _scalar_msg(actual, expected, rtol, atol, identifier="Scalars"):
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_msg(identifier, f"Expected {expected} but got {actual}.", abs_diff, None, atol, rel_diff, None,
                         rtol)


def _unravel(flat, shape):
    if not shape:
        return ()
    out = []
    for size in reversed(shape):
        flat, r = divmod(flat, size)
        out.append(r)
    return tuple(reversed(out))


def _tensor_msg(actual, expected, matches, rtol, atol):
    n = matches.numel()
    bad = n - int(matches.sum())
    extra = f"Mismatched elements: {bad} / {n} ({bad / n:.1%})"
    a, e, m = actual.flatten(), expected.flatten(), matches.flatten()
    if not a.dtype.is_floating_point:
        a, e = a.to(torch.int64), e.to(torch.int64)
    abs_diff = torch.abs(a - e)
    abs_diff[m] = 0
    max_abs, abs_i = torch.max(abs_diff, 0)
    rel_diff = abs_diff / torch.abs(e)
    rel_diff[m] = 0
    max_rel, rel_i = torch.max(rel_diff, 0)
    return _mismatch_msg("Tensor-likes", extra, max_abs.item(), _unravel(int(abs_i), tuple(matches.shape)), atol,
                         max_rel.item(), _unravel(int(rel_i), tuple(matches.shape)), rtol)


class _Pair:
    def __init__(self, actual, expected, path):
        self.actual, self.expected, self.path = actual, expected, path

    def fail(self, msg, type=AssertionError):
        raise _Failure(type, msg, self.path)


class _NonePair(_Pair):
    def __init__(self, actual, expected, path, **opts):
        if not (actual is None or expected is None):
            raise _Unsupported
        super().__init__(actual, expected, path)

    def compare(self):
        if not (self.actual is None and self.expected is None):
            self.fail(f"None mismatch: {self.actual} is not {self.expected}")


def _np_types(*names):
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return ()
    return tuple(getattr(np, n) for n in names)


class _BoolPair(_Pair):
    def __init__(self, actual, expected, path, **opts):
        kinds = (bool,) + _np_types("bool_")
        if not (isinstance(actual, kinds) and isinstance(expected, kinds)):
            raise _Unsupported
        super().__init__(bool(actual), bool(expected), path)

    def compare(self):
        if self.actual is not self.expected:
            self.fail(f"Booleans mismatch: {self.actual} is not {self.expected}")


class _NumberPair(_Pair):
    def __init__(self, actual, expected, path, rtol=None, atol=None, equal_nan=False, check_dtype=False, **opts):
        kinds = (int, float, complex) + _np_types("number")
        if not (isinstance(actual, kinds) and isinstance(expected, kinds)) or isinstance(actual, bool) \
                or isinstance(expected, bool):
            raise _Unsupported
        actual, expected = (x.item() if hasattr(x, "item") else x for x in (actual, expected))
        super().__init__(actual, expected, path)
        self.rtol, self.atol = _tolerances([_PY_DTYPE[type(x)] for x in (actual, expected)], rtol, atol, path)
        self.equal_nan, self.check_dtype = equal_nan, check_dtype

    def compare(self):
        a, e = self.actual, self.expected
        if self.check_dtype and type(a) is not type(e):
            self.fail(f"The (d)types do not match: {type(a)} != {type(e)}.")
        if a == e:
            return
        if self.equal_nan and cmath.isnan(a) and cmath.isnan(e):
            return
        diff = abs(a - e)
        if cmath.isfinite(diff) and diff <= self.atol + self.rtol * abs(e):
            return
        self.fail(_scalar_msg(a, e, self.rtol, self.atol))


class _TensorPair(_Pair):
    def __init__(self, actual, expected, path, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, **opts):
        if not (isinstance(actual, type(expected)) or isinstance(expected, type(actual))):
            raise _Unsupported
        if not allow_subclasses and type(actual) is not type(expected):
            raise _Unsupported
        actual, expected = (self._tensor(x) for x in (actual, expected))
        super().__init__(actual, expected, path)
        self.rtol, self.atol = _tolerances([actual.dtype, expected.dtype], rtol, atol, path)
        self.equal_nan, self.check_device, self.check_dtype = equal_nan, check_device, check_dtype
        self.check_layout, self.check_stride = check_layout, check_stride

    @staticmethod
    def _tensor(x):
        if isinstance(x, torch.Tensor):
            return x
        try:
            return torch.as_tensor(x)
        except Exception:
            raise _Unsupported from None

    def compare(self):
        a, e = self.actual, self.expected

        def mismatch(attr, x, y):
            self.fail(f"The values for attribute '{attr}' do not match: {x} != {y}.")
        if a.shape != e.shape:
            mismatch("shape", a.shape, e.shape)
        if a.layout != e.layout:
            if self.check_layout:
                mismatch("layout", a.layout, e.layout)
        elif self.check_stride and a.stride() != e.stride():
            mismatch("stride()", a.stride(), e.stride())
        if self.check_device and a.device != e.device:
            mismatch("device", a.device, e.device)
        if self.check_dtype and a.dtype != e.dtype:
            mismatch("dtype", _dtype_str(a.dtype), _dtype_str(e.dtype))
        if a.device.type == "meta" or e.device.type == "meta":
            return
        if a.dtype != e.dtype:
            common = torch.promote_types(a.dtype, e.dtype)
            a, e = a.to(common), e.to(common)
        a, e = a.detach(), e.detach()
        matches = torch.isclose(a, e, rtol=self.rtol, atol=self.atol, equal_nan=self.equal_nan)
        if bool(matches.all()):
            return
        if a.ndim == 0:
            self.fail(_scalar_msg(a.item(), e.item(), self.rtol, self.atol))
        self.fail(_tensor_msg(a, e, matches, self.rtol, self.atol))


_PAIRS = (_NonePair, _BoolPair, _NumberPair, _TensorPair)


def _pairs(actual, expected, path, opts):
    seq, mapping = collections.abc.Sequence, collections.abc.Mapping
    if isinstance(actual, seq) and not isinstance(actual, str) and isinstance(expected, seq) \
            and not isinstance(expected, str):
        if len(actual) != len(expected):
            raise _Failure(AssertionError,
                           f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path)
        out = []
        for i in range(len(actual)):
            out.extend(_pairs(actual[i], expected[i], (*path, i), opts))
        return out
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        ak, ek = set(actual.keys()), set(expected.keys())
        if ak != ek:
            raise _Failure(AssertionError, "The keys of the mappings do not match:\n"
                                           f"Missing keys in the actual mapping: {sorted(ek - ak)}\n"
                                           f"Additional keys in the actual mapping: {sorted(ak - ek)}", path)
        keys = ak
        try:
            keys = sorted(keys)
        except Exception:
            pass
        out = []
        for k in keys:
            out.extend(_pairs(actual[k], expected[k], (*path, k), opts))
        return out
    for cls in _PAIRS:
        try:
            return [cls(actual, expected, path, **opts)]
        except _Unsupported:
            continue
    raise _Failure(TypeError,
                   f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.", path)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False, check_device=True,
                 check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Assert ``actual`` and ``expected`` are close: ``|actual - expected| <= atol + rtol * |expected|``.

    Accepts tensors, Python/NumPy scalars, and sequences/mappings of them (compared item by
    item). Default tolerances depend on the dtype (float32: rtol 1.3e-6, atol 1e-5). Raises
    AssertionError with PyTorch's message (mismatched element count, greatest absolute and
    relative difference); ``msg`` replaces it (a callable receives it and returns the new one).
    """
    __tracebackhide__ = True
    opts = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                check_device=check_device, check_dtype=check_dtype, check_layout=check_layout,
                check_stride=check_stride)
    try:
        pairs = _pairs(actual, expected, (), opts)
    except _Failure as f:
        raise f.to_error() from None
    for pair in pairs:
        try:
            pair.compare()
        except _Failure as f:
            raise f.to_error(msg) from None


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Deprecated since PyTorch 1.12: assert_close with looser defaults and no dtype check."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future release. "
                  "Please use `torch.testing.assert_close()` instead. You can find detailed upgrade instructions in "
                  "https://github.com/pytorch/pytorch/issues/61844.", FutureWarning, stacklevel=2)
    if not isinstance(actual, torch.Tensor):
        actual = torch.tensor(actual)
    if not isinstance(expected, torch.Tensor):
        expected = torch.tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        loose = {_F16: (1e-3, 1e-3), _F32: (1e-4, 1e-5), _F64: (1e-5, 1e-8)}
        pairs = [loose.get(d, (0.0, 0.0)) for d in (actual.dtype, expected.dtype)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True, check_dtype=False,
                 check_stride=False, msg=msg or None)
