"""ONNX exporter exceptions (torch.onnx.errors)."""

__all__ = ["OnnxExporterWarning", "OnnxExporterError", "SymbolicValueError", "UnsupportedOperatorError"]


class OnnxExporterWarning(UserWarning):
    """Warnings in the ONNX exporter."""


class OnnxExporterError(RuntimeError):
    """Errors raised by the ONNX exporter. This is the base class for all exporter errors."""


class UnsupportedOperatorError(OnnxExporterError):
    """Raised when an operator is unsupported by the exporter."""

    def __init__(self, name, version, supported_version=None, detail=None):
        if supported_version is not None:
            msg = (f"Exporting the operator '{name}' to ONNX opset version {version} is not supported. "
                   f"Support for this operator was added in version {supported_version}, "
                   "try exporting with this version")
        elif name.startswith(("aten::", "prim::", "quantized::")):
            msg = f"Exporting the operator '{name}' to ONNX opset version {version} is not supported"
        else:
            msg = (f"ONNX export failed on an operator with unrecognized namespace {name}. "
                   "If you are trying to export a custom operator, make sure you registered it with "
                   "the right domain and version.")
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)
        self.name = name


class SymbolicValueError(OnnxExporterError):
    """Errors around traced values (a value the exporter cannot express in the graph)."""

    def __init__(self, msg, value=None):
        super().__init__(msg if value is None else f"{msg}  [Caused by the value '{value}']")
