"""ONNXProgram: the result of `torch.onnx.export(..., dynamo=True)`."""
import os

import numpy as np

import ferrotorch as torch


class ONNXProgram:
    """An exported ONNX model, callable with ferrotorch tensors (runs in onnxruntime)."""

    def __init__(self, model_proto, exported_program=None):
        self._proto = model_proto
        self.exported_program = exported_program
        self._session = None

    def __repr__(self):
        return f"ONNXProgram(\n    model=\n{self._proto.graph.name}: {len(self._proto.graph.node)} nodes\n)"

    @property
    def model_proto(self):
        """The ONNX ModelProto."""
        return self._proto

    @property
    def model(self):
        return self._proto

    def optimize(self):
        """No-op: the exporter already folds parameter-only computations."""

    def save(self, destination, *, include_initializers=True, keep_initializers_as_inputs=False, external_data=None):
        """Writes the model to a path or a binary file-like object."""
        import onnx
        proto = self._proto
        if not include_initializers or keep_initializers_as_inputs:
            proto = onnx.ModelProto()
            proto.CopyFrom(self._proto)
            if keep_initializers_as_inputs:
                have = {i.name for i in proto.graph.input}
                for tp in proto.graph.initializer:
                    if tp.name not in have:
                        proto.graph.input.append(
                            onnx.helper.make_tensor_value_info(tp.name, tp.data_type, list(tp.dims)))
            if not include_initializers:
                del proto.graph.initializer[:]
        if isinstance(destination, (str, os.PathLike)):
            onnx.save_model(proto, os.fspath(destination), save_as_external_data=bool(external_data))
        else:
            destination.write(proto.SerializeToString())

    def initialize_inference_session(self, initializer=None):
        """Creates the onnxruntime session used by __call__."""
        if initializer is not None:
            self._session = initializer(self._proto.SerializeToString())
            return
        import onnxruntime as ort
        self._session = ort.InferenceSession(self._proto.SerializeToString(), providers=["CPUExecutionProvider"])

    def release(self):
        """Drops the inference session."""
        self._session = None

    def __call__(self, *args, **kwargs):
        """Runs the model in onnxruntime; returns a list of tensors."""
        if self._session is None:
            self.initialize_inference_session()
        flat = []

        def walk(x):
            if isinstance(x, torch.Tensor):
                flat.append(x)
            elif isinstance(x, (list, tuple)):
                for v in x:
                    walk(v)
            elif isinstance(x, dict):
                for v in x.values():
                    walk(v)
        walk(list(args))
        walk(kwargs)
        feeds = {i.name: np.asarray(t.detach()) for i, t in zip(self._session.get_inputs(), flat)}
        return [torch.from_numpy(np.array(o, copy=True)) for o in self._session.run(None, feeds)]
