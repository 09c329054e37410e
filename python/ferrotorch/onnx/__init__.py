"""torch.onnx: export a ferrotorch model to an ONNX graph by tracing.

`export` runs the model once on example inputs while recording each ferrotorch op it calls, and
writes the matching ONNX graph (opset 14 and up, default 20 like PyTorch 2.13). Both PyTorch paths
(`dynamo=True`, the default, and the legacy `dynamo=False`) use this tracer; only the return value
(an `ONNXProgram` or None) and the warning differ.

Tracing semantics (as PyTorch's tracer): Python control flow and Python numbers read from tensors
(`.item()`, `bool(t)`, `int(x.size(0))`) are baked into the graph (with an OnnxExporterWarning
for the tensor-to-Python conversions). Without `dynamic_axes` every shape is static. With it,
`x.shape` / `x.size()` return, for each dim that depends on a dynamic axis, an int subclass that
records how to compute it (Shape/Gather): it stays symbolic through `+ - * // %` and in
view/reshape/expand/zeros/arange/slicing; `int(n)`, `/` or other uses bake the example value.
Parameters and buffers become initializers named after the module attributes; ops on parameters
alone are folded into constants. nn.LSTM/GRU/RNN export as the ONNX LSTM/GRU/RNN ops,
nn.MultiheadAttention as a decomposition that keeps batch and sequence dynamic.

Never a wrong graph: an op without a conversion raises `errors.UnsupportedOperatorError` naming
it; a value computed from the inputs outside ferrotorch's Python entry points (seen through its
autograd history) or a tensor changed in place through a view raises `OnnxExporterError`.
"""
import enum
import inspect
import os
import sys
import warnings

import ferrotorch as torch

from . import errors
from .errors import OnnxExporterError, UnsupportedOperatorError  # noqa: F401
from ._program import ONNXProgram

__all__ = ["errors", "export", "is_in_onnx_export", "OnnxExporterError", "ONNXProgram", "TrainingMode",
           "OperatorExportTypes"]

DEFAULT_OPSET = 20
MIN_OPSET = 14
producer_name = "ferrotorch"
producer_version = torch.__version__


class TrainingMode(enum.IntEnum):
    """Mode the model is exported in (deprecated in PyTorch; set model.train()/eval() instead)."""
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.IntEnum):
    """Only ONNX is supported."""
    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


def is_in_onnx_export():
    """Returns whether it is in the middle of ONNX export."""
    tr = sys.modules.get(__name__ + "._trace")
    return tr is not None and tr.active() is not None


def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None, output_names=None,
           opset_version=None, dynamo=True, external_data=True, dynamic_shapes=None, custom_translation_table=None,
           report=False, optimize=True, verify=False, profile=False, dump_exported_program=False,
           artifacts_dir=".", export_params=True, keep_initializers_as_inputs=False, dynamic_axes=None,
           training=TrainingMode.EVAL, operator_export_type=OperatorExportTypes.ONNX, do_constant_folding=True,
           custom_opsets=None, export_modules_as_functions=False, autograd_inlining=True):
    r"""Exports a model (an nn.Module or a function of tensors) into ONNX format.

    Args:
        model: the model to trace.
        args: example positional inputs (a tensor or a tuple). Tensors become graph inputs in
            order (nested lists/tuples are flattened); other values are baked in. A trailing dict
            holds keyword inputs (legacy form).
        f: a path or a binary file-like object to write the model to (optional when dynamo=True).
        kwargs: example keyword inputs.
        verbose: print the graph.
        input_names / output_names: names of the graph inputs / outputs, in order.
        opset_version: ONNX opset (14 and up; default 20).
        dynamo: True returns an `ONNXProgram`; False (legacy exporter) returns None.
        dynamic_shapes: per input, {axis: name} (or a list/tuple of per-axis names, None for a
            static axis); only with dynamo=True.
        export_params: False makes parameters graph inputs instead of initializers.
        keep_initializers_as_inputs: also list the initializers as graph inputs.
        dynamic_axes: {input or output name: {axis: dim name} or [axes]}: those axes are symbolic.
        training: TrainingMode.EVAL (default) exports in eval mode, PRESERVE keeps the model's
            mode, TRAINING exports in training mode (dropout in training mode is not supported).
        do_constant_folding: accepted; ops on parameters only are always folded.

    Returns:
        An `ONNXProgram` when dynamo=True, else None.
    """
    if not dynamo:
        warnings.warn(
            "You are using the legacy TorchScript-based ONNX export. Starting in PyTorch 2.9, the new "
            "torch.export-based ONNX exporter has become the default. Learn more about the new export logic: "
            "https://docs.pytorch.org/docs/stable/onnx_export.html. For exporting control flow: "
            "https://pytorch.org/tutorials/beginner/onnx/export_control_flow_model_to_onnx_tutorial.html",
            category=DeprecationWarning, stacklevel=2)
        if dynamic_shapes:
            raise ValueError(
                "The exporter only supports dynamic shapes through parameter dynamic_axes when dynamo=False.")
    import onnx  # the exporter needs the `onnx` package (pip install onnx)
    if operator_export_type != OperatorExportTypes.ONNX:
        raise ValueError("Only OperatorExportTypes.ONNX is supported")
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"Unsupported ONNX opset version: {opset} "
                         f"(ferrotorch exports opsets {MIN_OPSET} to {onnx.defs.onnx_opset_version()})")
    if isinstance(args, torch.Tensor):
        args = (args,)
    elif not isinstance(args, (tuple, list)):
        args = (args,)
    args = tuple(args)
    if kwargs is None and args and isinstance(args[-1], dict):
        args, kwargs = args[:-1], args[-1]
    kwargs = dict(kwargs or {})

    proto = _export(model, args, kwargs, input_names, output_names, opset, dynamic_axes, dynamic_shapes,
                    export_params, keep_initializers_as_inputs, training)
    if verbose:
        print(onnx.printer.to_text(proto.graph))
    if f is not None:
        if isinstance(f, (str, os.PathLike)):
            onnx.save_model(proto, os.fspath(f))
        else:
            f.write(proto.SerializeToString())
    return ONNXProgram(proto) if dynamo else None


# ---------------------------------------------------------------------------------------- internals

def _arg_names(fn, n):
    """Default input names: the forward's parameter names (`args_0`, `args_1`... for *args)."""
    try:
        ps = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        ps = []
    names = []
    for p in ps:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            names += [f"{p.name}_{k}" for k in range(n - len(names))]
            break
    return names + [f"input_{i}" for i in range(len(names), n)]


def _map_tensors(x, fn, path):
    """Rebuilds a nested argument with each tensor replaced by fn(tensor, path)."""
    if isinstance(x, torch.Tensor):
        return fn(x, path)
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_map_tensors(v, fn, f"{path}_{i}") for i, v in enumerate(x))
    if isinstance(x, tuple):  # namedtuple
        return type(x)(*(_map_tensors(v, fn, f"{path}_{i}") for i, v in enumerate(x)))
    if isinstance(x, dict):
        return {k: _map_tensors(v, fn, f"{path}_{k}") for k, v in x.items()}
    return x


def _flat_outputs(x, acc):
    if isinstance(x, torch.Tensor):
        acc.append(x)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _flat_outputs(v, acc)
    elif isinstance(x, dict):
        for v in x.values():
            _flat_outputs(v, acc)
    return acc


def _axes_spec(name, spec):
    """dynamic_axes value -> {axis: dim name}."""
    if isinstance(spec, dict):
        return {int(k): str(v) for k, v in spec.items()}
    return {int(ax): f"{name}_dynamic_axes_{i + 1}" for i, ax in enumerate(spec)}


def _shapes_to_axes(dynamic_shapes, names_by_arg):
    """dynamo's dynamic_shapes (by argument name or position) -> dynamic_axes by input name."""
    out = {}
    items = dynamic_shapes.items() if isinstance(dynamic_shapes, dict) else enumerate(dynamic_shapes)
    for key, spec in items:
        name = names_by_arg.get(key)
        if name is None or spec is None:
            continue
        if isinstance(spec, (list, tuple)):
            spec = {i: s for i, s in enumerate(spec) if s is not None}
        axes = {}
        for ax, s in spec.items():
            if s is None:
                continue
            axes[int(ax)] = s if isinstance(s, str) else getattr(s, "__name__", None) or f"{name}_dim_{ax}"
        out[name] = axes
    return out


def _export(model, args, kwargs, input_names, output_names, opset, dynamic_axes, dynamic_shapes, export_params,
            keep_inits, training):
    from onnx import helper
    from ferrotorch import nn
    from . import _trace
    from ._symbolic import CONV, MODULE_CONV

    if _trace.active() is not None:
        raise OnnxExporterError("torch.onnx.export cannot run while another export is tracing")
    is_module = isinstance(model, nn.Module)
    fwd = model.forward if is_module else model
    pnames = _arg_names(fwd, len(args))

    # graph inputs: every tensor in args/kwargs, in order
    flat = []  # (tensor, default name)

    def collect(t, path):
        flat.append((t, path))
        return t
    for i, a in enumerate(args):
        _map_tensors(a, collect, pnames[i])
    for k, v in kwargs.items():
        _map_tensors(v, collect, k)
    names = list(input_names or [])[:len(flat)]
    names += [p for _, p in flat[len(names):]]
    if len(set(names)) != len(names):
        raise ValueError(f"input names must be unique, got {names}")
    axes = {}
    if dynamic_shapes:
        by_arg = {}
        for i, (t, p) in enumerate(flat):
            by_arg.setdefault(p, names[i])
        for i, a in enumerate(args):
            if isinstance(a, torch.Tensor):
                by_arg[i] = names[[j for j, (t, _) in enumerate(flat) if t is a][0]]
        axes.update(_shapes_to_axes(dynamic_shapes, by_arg))
    for k, spec in (dynamic_axes or {}).items():
        axes[k] = _axes_spec(k, spec)
    out_names = list(output_names or [])

    params = {}
    module_names = {}
    if is_module:
        for qual, p in list(model.named_parameters()) + list(model.named_buffers()):
            params.setdefault(id(p), (p, qual))
        for qual, m in model.named_modules():
            module_names.setdefault(id(m), qual or type(m).__name__.lower())
    dynamic = any(axes.get(n) for n in names)
    st = _trace.Tracer(opset, dynamic, export_params, params)
    st.module_names = module_names
    for n in names + out_names:
        st.reserve(n)

    # traced copies of the inputs: float ones require grad so autograd history can tell a value
    # computed from the inputs by an unrecorded op from a true constant
    prepared = {}
    input_infos = []
    with torch.enable_grad():
        for (t, _), name in zip(flat, names):
            leaf = t.detach().clone()
            if leaf.dtype.is_floating_point:
                leaf.requires_grad_(True)
                st.input_leaves.add(leaf.data_ptr())
                x = leaf.clone()
            else:
                x = leaf
            shp = _trace.eager_shape(x)
            ax = axes.get(name, {})
            for a_ in ax:
                if not 0 <= a_ < len(shp):
                    raise ValueError(f"dynamic axis {a_} is out of range for input '{name}' of rank {len(shp)}")
            st.set(x, name)
            st.keep.append(leaf)
            st.info[name] = (_trace.onnx_type(x.dtype), tuple(None if i in ax else s for i, s in enumerate(shp)))
            prepared[id(t)] = x
            input_infos.append(helper.make_tensor_value_info(
                name, _trace.onnx_type(x.dtype), [ax[i] if i in ax else s for i, s in enumerate(shp)]))

    def swap(t, path):
        return prepared[id(t)]
    targs = tuple(_map_tensors(a, swap, "") for a in args)
    tkwargs = {k: _map_tensors(v, swap, "") for k, v in kwargs.items()}

    modes = [(m, m.training) for m in model.modules()] if is_module else []
    if is_module and training == TrainingMode.EVAL:
        model.train(False)
    elif is_module and training == TrainingMode.TRAINING:
        model.train(True)
    _trace.set_state(st)
    patches = None
    try:
        patches = _trace.install(st, model, CONV, MODULE_CONV)
        with torch.enable_grad():
            result = model(*targs, **tkwargs)
        outs = _flat_outputs(result, [])
        out_vals = [st.v(t) for t in outs]
    finally:
        if patches is not None:
            patches.restore()
        _trace.set_state(None)
        for m, mode in modes:
            m.training = mode
    return _assemble(st, names, input_infos, outs, out_vals, out_names, axes, keep_inits)


def _assemble(st, in_names, input_infos, outs, out_vals, out_names, axes, keep_inits):
    """The ModelProto: outputs named, dead nodes dropped, only used initializers kept."""
    import onnx
    from onnx import helper
    from . import _trace
    names = list(out_names[:len(outs)])
    names += [f"output_{i}" if len(outs) > 1 else "output" for i in range(len(names), len(outs))]
    for i, n in enumerate(names):
        if n in st.used and n not in out_names and n not in in_names:
            names[i] = st.fresh(n)
    for k in axes:
        if k not in in_names and k not in names:
            warnings.warn(f"Provided key {k} for dynamic axes is not a valid input/output name")
    produced = {o for node in st.nodes for o in node.output}
    rename, taken = {}, set()
    nodes = list(st.nodes)
    for val, name in zip(out_vals, names):
        if val in produced and val not in taken and val not in rename and name not in in_names:
            rename[val] = name
            taken.add(val)
        else:  # an input, an initializer or a repeated value: an Identity gives it its own name
            nodes.append(helper.make_node("Identity", [val], [name], name=f"/Identity_{name}"))
    if rename:
        for node in nodes:
            for seq in (node.input, node.output):
                for j, v in enumerate(seq):
                    if v in rename:
                        seq[j] = rename[v]
    # drop dead nodes
    need = set(names)
    live = []
    for node in reversed(nodes):
        if any(o in need for o in node.output):
            live.append(node)
            need.update(i for i in node.input if i)
    live.reverse()
    inits = [tp for n, tp in st.inits.items() if n in need]
    param_infos = [helper.make_tensor_value_info(n, _trace.onnx_type(t.dtype), list(_trace.eager_shape(t)))
                   for n, t in st.param_inputs if n in need]
    outputs = []
    for t, val, name in zip(outs, out_vals, names):
        dyn = st.dyn(t) if st.is_traced(t) else (False,) * t.dim()
        ax = axes.get(name, {})
        shp = _trace.eager_shape(t)
        dims = [ax[i] if i in ax else (f"{name}_dim_{i}" if dyn[i] else shp[i]) for i in range(len(shp))]
        outputs.append(helper.make_tensor_value_info(name, _trace.onnx_type(t.dtype), dims))
    extra = []
    if keep_inits:
        extra = [helper.make_tensor_value_info(tp.name, tp.data_type, list(tp.dims)) for tp in inits]
    graph = helper.make_graph(live, "main_graph", input_infos + param_infos + extra, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", st.opset)],
                              producer_name=producer_name, producer_version=producer_version)
    model.ir_version = min(model.ir_version, _IR_FOR_OPSET.get(st.opset, model.ir_version))
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:  # pragma: no cover -- an exporter bug
        raise OnnxExporterError(f"the exported graph failed onnx.checker: {e}") from e
    return model


# the IR version each opset shipped with, so older runtimes accept the file
_IR_FOR_OPSET = {14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11, 24: 11, 25: 12}
