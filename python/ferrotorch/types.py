"""``torch.types``: type aliases used in annotations."""
import builtins
from typing import Sequence, Union

from ._core import Size, Tensor
from ._core import device as _device
from ._core import dtype as _dtype  # noqa: F401

_int, _float, _bool, _complex = builtins.int, builtins.float, builtins.bool, builtins.complex
_size = Union[Size, list[builtins.int], tuple[builtins.int, ...]]
_dispatchkey = Union[builtins.str, builtins.int]
_TensorOrTensors = Union[Tensor, Sequence[Tensor]]
Number = Union[builtins.int, builtins.float, builtins.bool]
Device = Union[_device, builtins.str, builtins.int, None]
PySymType = Union[builtins.int, builtins.float, builtins.bool]
