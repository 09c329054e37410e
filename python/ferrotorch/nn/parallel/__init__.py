"""torch.nn.parallel: DistributedDataParallel (gradients averaged across ranks by MPI, see
ferrotorch.distributed) and a single-process DataParallel.

``DataParallel`` keeps PyTorch's structure (the wrapped model lives at ``.module`` so state_dict
keys carry the ``module.`` prefix) and runs the model on the caller's device without splitting the
batch."""
import warnings
from contextlib import contextmanager

from ..modules.module import Module

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]


class DataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))


def _sink():
    from ...autograd import Function

    class _DDPSink(Function):
        """Identity on the forward outputs: outputs left out of the loss then receive zero
        gradients, so the parameters behind them still report ready (find_unused_parameters)."""

        @staticmethod
        def forward(ctx, *tensors):
            return tuple(tensors)

        @staticmethod
        def backward(ctx, *grads):
            return grads
    return _DDPSink


class DistributedDataParallel(Module):
    """Data parallelism across processes (torch.nn.parallel.DistributedDataParallel).

    At construction the ranks check that they hold the same parameters, and rank 0's parameters
    and buffers are broadcast to all. During backward, gradients are averaged across ranks in
    buckets of about ``bucket_cap_mb`` MiB, each all-reduced (nonblocking MPI) as soon as its
    gradients are ready; when ``backward()`` returns, every ``.grad`` holds the average. Buffers
    are broadcast from rank 0 before each forward (``broadcast_buffers``). ``no_sync()`` skips the
    reduction and accumulates local gradients. ``find_unused_parameters=True`` lets parameters
    that did not take part in the forward contribute zeros."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=None, init_sync=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, delay_all_reduce_named_params=None,
                 param_to_hook_all_reduce=None, mixed_precision=None, device_mesh=None,
                 skip_all_reduce_unused_params=False, bucket_cap_mb_list=None, batched_grad_copy=False,
                 forward_sync_buffers=None):
        super().__init__()
        from ...distributed import distributed_c10d as c10d
        from ...distributed._reducer import Reducer
        if (delay_all_reduce_named_params is None) != (param_to_hook_all_reduce is None):
            raise ValueError("delay_all_reduce_named_params and param_to_hook_all_reduce need to be set at the same time.")
        if process_group is not None and device_mesh is not None:
            raise RuntimeError("Cannot specify both process_group and device_mesh arguments.")
        if device_mesh is not None:
            raise NotImplementedError("DistributedDataParallel(device_mesh=...) is not supported; pass process_group")
        self.process_group = c10d._group(process_group)
        if self.process_group is None:
            raise ValueError("DistributedDataParallel needs a process group this rank belongs to")
        ignore = set(getattr(module, "_ddp_params_and_buffers_to_ignore", ()))
        params = [p for n, p in module.named_parameters() if n not in ignore]
        if not any(p.requires_grad for p in params):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        if device_ids or output_device:
            devices = "{" + ", ".join(sorted({repr(p.device) for p in params})) + "}"
            raise ValueError("DistributedDataParallel device_ids and output_device arguments only work with "
                             "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                             f"{device_ids}, output_device {output_device}, and module parameters {devices}.")
        if broadcast_buffers is not None:
            if forward_sync_buffers is not None:
                warnings.warn("Both `broadcast_buffers` and `forward_sync_buffers` were specified. `broadcast_buffers` "
                              "is deprecated and its value is ignored when `forward_sync_buffers` is provided.",
                              FutureWarning, stacklevel=2)
            else:
                warnings.warn("`broadcast_buffers` is deprecated. Use `forward_sync_buffers` instead. IMPORTANT: "
                              "unlike `broadcast_buffers=False`, `forward_sync_buffers=False` still syncs buffers at "
                              "init. If you rely on buffers NOT being synced at init (e.g. rank-local buffers), keep "
                              "using `broadcast_buffers=False` until `init_sync_buffers` is available.",
                              FutureWarning, stacklevel=2)
        if forward_sync_buffers is not None:
            self.forward_sync_buffers, init_sync_buffers = forward_sync_buffers, True
        else:
            self.forward_sync_buffers = init_sync_buffers = broadcast_buffers if broadcast_buffers is not None else True
        if check_reduction:
            warnings.warn("The `check_reduction` argument in `DistributedDataParallel` module is deprecated. "
                          "Please avoid using it.", FutureWarning, stacklevel=2)
        self.module = module
        self.device_ids = None
        self.output_device = None
        self.dim = dim
        self.device = params[0].device
        self.device_type = self.device.type
        self.is_multi_device_module = False
        self.parameters_to_ignore = ignore
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.mixed_precision = mixed_precision
        self.broadcast_bucket_size = 250 * 1024 * 1024
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self.modules_buffers = [b for n, b in module.named_buffers() if n not in ignore]
        if init_sync:
            c10d._verify_params_across_processes(self.process_group, params)
            states = [p.detach() for p in params]
            if init_sync_buffers:
                states += [b.detach() for b in self.modules_buffers]
            c10d._broadcast_coalesced(self.process_group, states, 0)
        # PyTorch's first bucket is 1 MiB unless the cap is given (it fills first, so starts early)
        first = min(self.bucket_bytes_cap, 1024 * 1024) if bucket_cap_mb is None else self.bucket_bytes_cap
        self.reducer = Reducer([p for p in params if p.requires_grad], self.process_group, self.bucket_bytes_cap, first)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("process_group", None)  # MPI handles do not pickle; rebuilt on load
        state.pop("reducer", None)
        return state

    def __setstate__(self, state):
        from ...distributed import distributed_c10d as c10d
        from ...distributed._reducer import Reducer
        super().__setstate__(state)
        self.process_group = c10d._group(None)
        params = [p for n, p in self.module.named_parameters() if n not in self.parameters_to_ignore and p.requires_grad]
        self.reducer = Reducer(params, self.process_group, self.bucket_bytes_cap, self.bucket_bytes_cap)

    def _tracks_unused(self):
        return self.find_unused_parameters or self.static_graph

    def will_sync_module_buffers(self):
        return self.require_forward_param_sync and self.forward_sync_buffers and len(self.modules_buffers) > 0

    def _sync_buffers(self):
        from ...distributed import distributed_c10d as c10d
        self.modules_buffers = [b for n, b in self.module.named_buffers() if n not in self.parameters_to_ignore]
        c10d._broadcast_coalesced(self.process_group, [b.detach() for b in self.modules_buffers], 0)

    def forward(self, *inputs, **kwargs):
        from ... import is_grad_enabled
        from ...distributed._reducer import find_tensors, map_tensors
        sync = is_grad_enabled() and self.require_backward_grad_sync
        if sync:
            self.reducer.check_finished()
        if self.will_sync_module_buffers():
            self._sync_buffers()
        output = self.module(*inputs, **kwargs)
        if sync:
            self.require_forward_param_sync = True
            if self._tracks_unused():
                tensors = [t for t in find_tensors(output) if t.grad_fn is not None]
                if tensors:
                    routed = dict(zip(map(id, tensors), _sink().apply(*tensors)))
                    output = map_tensors(output, lambda t: routed.get(id(t), t))
                self.reducer.prepare(find_tensors(output))
            else:
                self.reducer.prepare()
        else:
            self.require_forward_param_sync = False
        return output

    @contextmanager
    def no_sync(self):
        """Within this context, backward accumulates local gradients without averaging them; the
        first synchronized backward after it averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def _set_static_graph(self):
        self.static_graph = True

    @staticmethod
    def _set_params_and_buffers_to_ignore_for_model(module, params_and_buffers_to_ignore):
        module._ddp_params_and_buffers_to_ignore = params_and_buffers_to_ignore

    def register_comm_hook(self, state, hook):
        raise NotImplementedError("DistributedDataParallel.register_comm_hook is not supported by ferrotorch yet")

    def join(self, *args, **kwargs):
        raise NotImplementedError("DistributedDataParallel.join (uneven inputs) is not supported by ferrotorch yet")
