"""Autograd graph node types."""
from .. import _C

Node = _C.Node


class AccumulateGrad:
    """The node that accumulates into a leaf's `.grad` (shown in `next_functions`)."""

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "torch::autograd::AccumulateGrad"

    next_functions = ()

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"
