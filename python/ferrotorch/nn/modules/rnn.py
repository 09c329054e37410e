"""Recurrent layers: RNN, LSTM, GRU and their cells.

The input projection ``x @ W_ih^T + b_ih`` of a layer is computed for all time steps at once.
The recurrence then runs as one native op per layer direction (the time loop in Rust, see
FUSED_* below), or, for what those ops do not take (packed sequences, projections, half
precision, autocast, double backward), as a Python loop over time steps built from tensor ops.
"""
import math
import numbers
import warnings

import ferrotorch as torch

from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module
from .utils import _factory_kwargs

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

# nn.LSTM (without projections), nn.GRU and nn.RNN run each unpacked layer direction as one
# native op (the time loop and backpropagation through time in Rust); LSTMCell and GRUCell run
# as a one-step layer. Those ops have no double backward; set these to False to run the
# recurrence as tensor ops (create_graph=True needs it).
FUSED_LSTM = True
FUSED_GRU = True
FUSED_RNN = True


def _apply_permutation(tensor, permutation, dim=1):
    return tensor.index_select(dim, permutation)


def _lstm_cell(gates, c, w_hr):
    i, f, g, o = gates.chunk(4, 1)
    i = torch.sigmoid(i)
    f = torch.sigmoid(f)
    g = torch.tanh(g)
    o = torch.sigmoid(o)
    c = f * c + i * g
    h = o * torch.tanh(c)
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_cell(gi, h, w_hh, b_hh):
    gh = F.linear(h, w_hh, b_hh)
    i_r, i_z, i_n = gi.chunk(3, 1)
    h_r, h_z, h_n = gh.chunk(3, 1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (h - n) * z + n


class RNNBase(Module):
    r"""Base class for RNN modules (RNN, LSTM, GRU)."""

    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                     "bidirectional", "proj_size"]

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        factory_kwargs = _factory_kwargs(device, dtype)
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1

        if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool)):
            raise ValueError("dropout should be a number in range [0, 1] "
                             "representing the probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last "
                          "recurrent layer, so non-zero dropout expects "
                          f"num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")

        if mode == "LSTM":
            gate_size = 4 * hidden_size
        elif mode == "GRU":
            gate_size = 3 * hidden_size
        elif mode == "RNN_TANH":
            gate_size = hidden_size
        elif mode == "RNN_RELU":
            gate_size = hidden_size
        else:
            raise ValueError("Unrecognized RNN mode: " + mode)

        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                real_hidden_size = proj_size if proj_size > 0 else hidden_size
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions

                w_ih = Parameter(torch.empty((gate_size, layer_input_size), **factory_kwargs))
                w_hh = Parameter(torch.empty((gate_size, real_hidden_size), **factory_kwargs))
                b_ih = Parameter(torch.empty(gate_size, **factory_kwargs))
                b_hh = Parameter(torch.empty(gate_size, **factory_kwargs))
                if self.proj_size == 0:
                    layer_params = (w_ih, w_hh, b_ih, b_hh) if bias else (w_ih, w_hh)
                else:
                    w_hr = Parameter(torch.empty((proj_size, hidden_size), **factory_kwargs))
                    layer_params = (w_ih, w_hh, b_ih, b_hh, w_hr) if bias else (w_ih, w_hh, w_hr)

                suffix = "_reverse" if direction == 1 else ""
                param_names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    param_names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if self.proj_size > 0:
                    param_names += ["weight_hr_l{}{}"]
                param_names = [x.format(layer, suffix) for x in param_names]

                for name, param in zip(param_names, layer_params):
                    setattr(self, name, param)
                self._flat_weights_names.extend(param_names)
                self._all_weights.append(param_names)

        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, wn) if hasattr(self, wn) else None for wn in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, weight) for weight in weights] for weights in self._all_weights]

    def flatten_parameters(self):
        """No-op (there is no cuDNN weight buffer to compact)."""
        return None

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def check_input(self, input, batch_sizes):
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(f"input must have {expected_input_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input, batch_sizes):
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        if self.proj_size > 0:
            return (self.num_layers * num_directions, mini_batch, self.proj_size)
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_hidden_size(self, hx, expected_hidden_size, msg="Expected hidden size {}, got {}"):
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        expected_hidden_size = self.get_expected_hidden_size(input, batch_sizes)
        self.check_hidden_size(hidden, expected_hidden_size)

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return _apply_permutation(hx, permutation)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def __setstate__(self, d):
        super().__setstate__(d)
        if "proj_size" not in d:
            self.proj_size = 0

    # ------------------------------------------------------------------ recurrence
    def _layer_weights(self, idx):
        names = self._all_weights[idx]
        w = {n.split("_l")[0]: getattr(self, n) for n in names}
        return (w["weight_ih"], w["weight_hh"], w.get("bias_ih"), w.get("bias_hh"), w.get("weight_hr"))

    def _run_direction(self, x_proj, batch_sizes, h0, c0, w_hh, b_hh, w_hr, reverse):
        """Runs one direction of one layer.

        x_proj: the input projection, (T, B, G) when batch_sizes is None, else packed (N, G).
        Returns (output, h_n, c_n) with output (T, B, H) or packed (N, H)."""
        mode = self.mode
        packed = batch_sizes is not None
        if mode == "LSTM" and not packed and _fused_lstm_ok(x_proj, h0, c0, w_hh, b_hh, w_hr):
            gates = x_proj if b_hh is None else x_proj + b_hh
            if reverse:
                gates = gates.flip(0)
            output, h_n, c_n = torch._C.lstm_layer(gates, h0, c0, w_hh)
            return (output.flip(0) if reverse else output), h_n, c_n
        if mode in ("RNN_TANH", "RNN_RELU") and not packed and FUSED_RNN and _fused_rnn_ok(x_proj, h0, w_hh, b_hh):
            gates = x_proj if b_hh is None else x_proj + b_hh
            if reverse:
                gates = gates.flip(0)
            output, h_n = torch._C.rnn_layer(gates, h0, w_hh, mode == "RNN_RELU")
            return (output.flip(0) if reverse else output), h_n, None
        if mode == "GRU" and not packed and FUSED_GRU and _fused_rnn_ok(x_proj, h0, w_hh, b_hh):
            gates = x_proj.flip(0) if reverse else x_proj
            output, h_n = torch._C.gru_layer(gates, h0, w_hh, b_hh)
            return (output.flip(0) if reverse else output), h_n, None
        if packed:
            steps = []
            off = 0
            for bs in batch_sizes:
                steps.append(x_proj[off:off + bs])
                off += bs
            T = len(batch_sizes)
        else:
            T = x_proj.size(0)
            steps = [x_proj[t] for t in range(T)]
            B = x_proj.size(1)
            batch_sizes = [B] * T
        outs = [None] * T
        is_lstm = mode == "LSTM"

        def step(t, h, c):
            gi = steps[t]
            if mode == "GRU":
                return _gru_cell(gi, h, w_hh, b_hh), None
            gates = gi + F.linear(h, w_hh, b_hh)
            if is_lstm:
                return _lstm_cell(gates, c, w_hr)
            if mode == "RNN_TANH":
                return torch.tanh(gates), None
            return torch.relu(gates), None

        if not reverse:
            h, c = h0, c0
            last_bs = batch_sizes[0] if T > 0 else h0.size(0)
            if last_bs != h0.size(0):
                h = h[:last_bs]
                if c is not None:
                    c = c[:last_bs]
            final_h, final_c = [], []
            for t in range(T):
                bs = batch_sizes[t]
                if bs < last_bs:
                    # these sequences ended at the previous step: keep their final state
                    final_h.append(h[bs:last_bs])
                    h = h[:bs]
                    if c is not None:
                        final_c.append(c[bs:last_bs])
                        c = c[:bs]
                last_bs = bs
                h, c_new = step(t, h, c)
                if is_lstm:
                    c = c_new
                outs[t] = h
            final_h.append(h)
            final_c.append(c)
            if len(final_h) == 1:
                h_n, c_n = h, c
            else:
                h_n = torch.cat(final_h[::-1], 0)
                c_n = torch.cat(final_c[::-1], 0) if is_lstm else None
        else:
            h, c = h0, c0
            cur = batch_sizes[-1] if T > 0 else h0.size(0)
            if cur != h0.size(0):
                h = h0[:cur]
                if c0 is not None:
                    c = c0[:cur]
            for t in range(T - 1, -1, -1):
                bs = batch_sizes[t]
                if bs > cur:
                    # sequences starting (in reverse time) at this step take their initial state
                    h = torch.cat([h, h0[cur:bs]], 0)
                    if c is not None:
                        c = torch.cat([c, c0[cur:bs]], 0)
                    cur = bs
                h, c_new = step(t, h, c)
                if is_lstm:
                    c = c_new
                outs[t] = h
            h_n, c_n = h, c
        if packed:
            output = torch.cat(outs, 0) if T > 0 else x_proj.new_zeros((0, h0.size(-1)))
        else:
            output = torch.stack(outs, 0)
        return output, h_n, c_n

    def _run(self, input, hx, cx, batch_sizes):
        """input: (T, B, I) or packed (N, I); hx: (L*D, B, H); cx (LSTM only) or None."""
        num_directions = 2 if self.bidirectional else 1
        layer_input = input
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            dir_outputs = []
            for direction in range(num_directions):
                idx = layer * num_directions + direction
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_weights(idx)
                x_proj = F.linear(layer_input, w_ih, b_ih)
                out, h_last, c_last = self._run_direction(
                    x_proj, batch_sizes, hx[idx], cx[idx] if cx is not None else None,
                    w_hh, b_hh, w_hr, reverse=(direction == 1))
                dir_outputs.append(out)
                h_n.append(h_last)
                if cx is not None:
                    c_n.append(c_last)
            layer_output = dir_outputs[0] if num_directions == 1 else torch.cat(dir_outputs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_output = F.dropout(layer_output, self.dropout, True)
            layer_input = layer_output
        h_n = torch.stack(h_n, 0)
        c_n = torch.stack(c_n, 0) if cx is not None else None
        return layer_input, h_n, c_n

    def _prepare_input(self, input):
        """Returns (input, batch_sizes list or None, sorted_indices, unsorted_indices, is_batched, batch_dim)."""
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            return data, [int(b) for b in batch_sizes.tolist()], sorted_indices, unsorted_indices, True, None
        if input.dim() not in (2, 3):
            raise ValueError(f"{self._get_name()}: Expected input to be 2D or 3D, got {input.dim()}D tensor instead")
        is_batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not is_batched:
            input = input.unsqueeze(batch_dim)
        return input, None, None, None, is_batched, batch_dim

    def _zeros(self, input, batch, size):
        num_directions = 2 if self.bidirectional else 1
        return torch.zeros(self.num_layers * num_directions, batch, size, dtype=input.dtype, device=input.device)

    def _forward_impl(self, input, hx):
        """Shared forward for RNN and GRU (single hidden state)."""
        orig_input = input
        input, batch_sizes, sorted_indices, unsorted_indices, is_batched, batch_dim = self._prepare_input(input)
        packed = batch_sizes is not None
        if packed:
            max_batch_size = batch_sizes[0]
        else:
            max_batch_size = input.size(0) if self.batch_first else input.size(1)
            if hx is not None:
                if not is_batched:
                    if hx.dim() != 2:
                        raise RuntimeError(
                            f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor")
                    hx = hx.unsqueeze(1)
                elif hx.dim() != 3:
                    raise RuntimeError(
                        f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
        if hx is None:
            hx = self._zeros(input, max_batch_size, self.hidden_size)
        else:
            hx = self.permute_hidden(hx, sorted_indices)

        self.check_forward_args(input, hx, batch_sizes if packed else None)
        x = input
        if not packed and self.batch_first:
            x = x.transpose(0, 1)
        output, hidden, _ = self._run(x, hx, None, batch_sizes)
        if packed:
            return (PackedSequence(output, orig_input.batch_sizes, sorted_indices, unsorted_indices),
                    self.permute_hidden(hidden, unsorted_indices))
        if self.batch_first:
            output = output.transpose(0, 1)
        if not is_batched:
            output = output.squeeze(batch_dim)
            hidden = hidden.squeeze(1)
        return output, self.permute_hidden(hidden, unsorted_indices)


class RNN(RNNBase):
    r"""Applies a multi-layer Elman RNN with tanh or ReLU non-linearity."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_impl(input, hx)


class LSTM(RNNBase):
    r"""Applies a multi-layer long short-term memory (LSTM) RNN to an input sequence."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes):
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return _apply_permutation(hx[0], permutation), _apply_permutation(hx[1], permutation)

    def forward(self, input, hx=None):
        orig_input = input
        input, batch_sizes, sorted_indices, unsorted_indices, is_batched, batch_dim = self._prepare_input(input)
        packed = batch_sizes is not None
        real_hidden_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        if packed:
            max_batch_size = batch_sizes[0]
        else:
            max_batch_size = input.size(0) if self.batch_first else input.size(1)
            if hx is not None:
                if not is_batched:
                    if hx[0].dim() != 2 or hx[1].dim() != 2:
                        msg = ("For unbatched 2-D input, hx and cx should "
                               f"also be 2-D but got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
                        raise RuntimeError(msg)
                    hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
                elif hx[0].dim() != 3 or hx[1].dim() != 3:
                    msg = ("For batched 3-D input, hx and cx should "
                           f"also be 3-D but got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
                    raise RuntimeError(msg)
        if hx is None:
            hx = (self._zeros(input, max_batch_size, real_hidden_size),
                  self._zeros(input, max_batch_size, self.hidden_size))
        else:
            hx = self.permute_hidden(hx, sorted_indices)

        self.check_forward_args(input, hx, batch_sizes if packed else None)
        x = input
        if not packed and self.batch_first:
            x = x.transpose(0, 1)
        output, h_n, c_n = self._run(x, hx[0], hx[1], batch_sizes)
        hidden = (h_n, c_n)
        if packed:
            return (PackedSequence(output, orig_input.batch_sizes, sorted_indices, unsorted_indices),
                    self.permute_hidden(hidden, unsorted_indices))
        if self.batch_first:
            output = output.transpose(0, 1)
        if not is_batched:
            output = output.squeeze(batch_dim)
            hidden = (hidden[0].squeeze(1), hidden[1].squeeze(1))
        return output, self.permute_hidden(hidden, unsorted_indices)


class GRU(RNNBase):
    r"""Applies a multi-layer gated recurrent unit (GRU) RNN to an input sequence."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_impl(input, hx)


class RNNCellBase(Module):
    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        factory_kwargs = _factory_kwargs(device, dtype)
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(torch.empty((num_chunks * hidden_size, input_size), **factory_kwargs))
        self.weight_hh = Parameter(torch.empty((num_chunks * hidden_size, hidden_size), **factory_kwargs))
        if bias:
            self.bias_ih = Parameter(torch.empty(num_chunks * hidden_size, **factory_kwargs))
            self.bias_hh = Parameter(torch.empty(num_chunks * hidden_size, **factory_kwargs))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)


_amp_policy = None


def _autocast_on():
    """Whether autocast is active (amp imports nn, so its module is looked up on first use
    and kept: cells call this every time step)."""
    global _amp_policy
    if _amp_policy is None:
        from ...amp import _policy
        _amp_policy = _policy
    return _amp_policy.active()


def _fused_lstm_ok(x_proj, h0, c0, w_hh, b_hh, w_hr):
    """The fused LSTM layer: no projection, and what `_fused_rnn_ok` asks."""
    return FUSED_LSTM and w_hr is None and _fused_rnn_ok(x_proj, h0, c0, w_hh, b_hh)


def _fused_rnn_ok(x_proj, *others):
    """The fused layers take float32/float64 operands of one dtype and a non-empty sequence,
    and run outside autocast; anything else keeps the composite recurrence."""
    if _autocast_on():
        return False
    dt = x_proj.dtype
    if dt not in (torch.float32, torch.float64) or x_proj.dim() != 3 or int(x_proj.shape[0]) == 0:
        return False
    return all(t is None or t.dtype == dt for t in others)


_FUSED_DTYPES = (torch.float32, torch.float64)
_CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _native_cell_ok(cell, input, hx):
    """The fused cell kernel takes float32/float64 operands of one dtype with matching shapes;
    anything else keeps the composite path and its PyTorch errors. Runs once per time step,
    so it reads the parameters from the module's dict and shapes as plain tuples."""
    dt = input.dtype
    if dt not in _FUSED_DTYPES or hx.dtype != dt or input.dim() != 2 or hx.dim() != 2:
        return False
    n, i = input.shape
    if i != cell.input_size or hx.shape != (n, cell.hidden_size):
        return False
    ps = cell._parameters
    for name in _CELL_PARAMS:
        p = ps.get(name)
        if (p is None and name[0] == "w") or (p is not None and p.dtype != dt):
            return False
    return not _autocast_on()  # autocast casts the composite path's matmuls, like PyTorch's


class RNNCell(RNNCellBase):
    __constants__ = ["input_size", "hidden_size", "bias", "nonlinearity"]

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"RNNCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"RNNCell: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            hx = torch.zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)
        else:
            hx = hx.unsqueeze(0) if not is_batched else hx
        nonlinearity = self.nonlinearity
        if (nonlinearity == "tanh" or nonlinearity == "relu") and _native_cell_ok(self, input, hx):
            ps = self._parameters
            ret = torch._C.rnn_cell(input, hx, ps["weight_ih"], ps["weight_hh"], ps["bias_ih"], ps["bias_hh"],
                                    nonlinearity == "relu")
            return ret if is_batched else ret.squeeze(0)
        pre = F.linear(input, self.weight_ih, self.bias_ih) + F.linear(hx, self.weight_hh, self.bias_hh)
        if self.nonlinearity == "tanh":
            ret = torch.tanh(pre)
        elif self.nonlinearity == "relu":
            ret = torch.relu(pre)
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        if not is_batched:
            ret = ret.squeeze(0)
        return ret


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"LSTMCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(
                        f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got {value.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = torch.zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)
            hx = (zeros, zeros)
        else:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0)) if not is_batched else hx
        if FUSED_LSTM and _native_cell_ok(self, input, hx[0]) and hx[1].dtype == input.dtype \
                and tuple(hx[1].shape) == tuple(hx[0].shape):
            # one step of the fused layer: gates from the input projection, the rest native
            gates = F.linear(input, self.weight_ih, self.bias_ih)
            if self.bias_hh is not None:
                gates = gates + self.bias_hh
            _, h, c = torch._C.lstm_layer(gates.unsqueeze(0), hx[0], hx[1], self.weight_hh)
        else:
            gates = F.linear(input, self.weight_ih, self.bias_ih) + F.linear(hx[0], self.weight_hh, self.bias_hh)
            h, c = _lstm_cell(gates, hx[1], None)
        if not is_batched:
            h, c = h.squeeze(0), c.squeeze(0)
        return h, c


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"GRUCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"GRUCell: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            hx = torch.zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)
        else:
            hx = hx.unsqueeze(0) if not is_batched else hx
        gi = F.linear(input, self.weight_ih, self.bias_ih)
        if FUSED_GRU and _native_cell_ok(self, input, hx):
            _, ret = torch._C.gru_layer(gi.unsqueeze(0), hx, self.weight_hh, self.bias_hh)
        else:
            ret = _gru_cell(gi, hx, self.weight_hh, self.bias_hh)
        if not is_batched:
            ret = ret.squeeze(0)
        return ret
