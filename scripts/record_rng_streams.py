"""Records PyTorch's seeded CPU random streams as test data (tests/data/rng_streams.npz).

Run with a real PyTorch (never a dependency of ferrotorch):
    ~/tref/bin/python scripts/record_rng_streams.py
Each case is (seed, a source snippet run with `torch`, `nn`, `F` in scope); tests/test_rng_streams.py
runs the same snippet on ferrotorch and wants the same bits.
"""
import json
import os
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CASES = {
    "rand_5": (0, "torch.rand(5)"),
    "rand_1000": (1, "torch.rand(1000)"),
    "rand_f64": (2, "torch.rand(3, 7, dtype=torch.float64)"),
    "rand_like": (3, "torch.rand_like(torch.zeros(4, 5))"),
    "randn_7": (4, "torch.randn(7)"),
    "randn_16": (5, "torch.randn(16)"),
    "randn_37": (6, "torch.randn(37)"),
    "randn_3x50": (7, "torch.randn(3, 50)"),
    "randn_10000": (8, "torch.randn(10000)"),
    "randn_f64_5": (9, "torch.randn(5, dtype=torch.float64)"),
    "randn_f64_100": (10, "torch.randn(100, dtype=torch.float64)"),
    "randn_size_kw": (11, "torch.randn(size=(2, 9))"),
    "randint_10": (12, "torch.randint(0, 10, (20,))"),
    "randint_big": (13, "torch.randint(-5, 2**40, (10,))"),
    "randint_high_only": (14, "torch.randint(3, (4, 4))"),
    "randint_i32": (15, "torch.randint(-100, 100, (30,), dtype=torch.int32)"),
    "randperm_10": (16, "torch.randperm(10)"),
    "randperm_1000": (17, "torch.randperm(1000)"),
    "normal_50": (18, "torch.empty(50).normal_(0.5, 0.02)"),
    "normal_10": (19, "torch.empty(10).normal_(2.0, 3.0)"),
    "normal_f64_40": (20, "torch.empty(40, dtype=torch.float64).normal_(-1.0, 0.3)"),
    "normal_tensors": (21, "torch.normal(torch.arange(20.), torch.linspace(0.1, 2, 20))"),
    "uniform_range": (22, "torch.empty(1000).uniform_(-0.0123, 0.0456)"),
    "uniform_f64_range": (23, "torch.empty(100, dtype=torch.float64).uniform_(-3.5, 1e-3)"),
    "bernoulli_tensor": (24, "torch.bernoulli(torch.linspace(0, 1, 64))"),
    "bernoulli_scalar": (25, "torch.empty(100).bernoulli_(0.3)"),
    "exponential": (26, "torch.empty(30).exponential_(2.5)"),
    "exponential_f64": (27, "torch.empty(30, dtype=torch.float64).exponential_()"),
    "multinomial_1": (28, "torch.multinomial(torch.tensor([0.1, 0.2, 0.3, 0.4]), 1)"),
    "multinomial_norep": (29, "torch.multinomial(torch.tensor([[1., 2., 3., 4., 5.], [5., 0., 1., 1., 2.]]), 3)"),
    "multinomial_rep": (30, "torch.multinomial(torch.tensor([[1., 2., 3., 4., 5.], [5., 0., 1., 1., 2.]]), 20, replacement=True)"),
    "dropout": (31, "F.dropout(torch.ones(4, 25), 0.3)"),
    "dropout_module": (32, "nn.Dropout(0.5)(torch.ones(40))"),
    "linear_init": (33, "torch.cat([p.detach().reshape(-1) for p in nn.Linear(20, 30).parameters()])"),
    "conv2d_init": (34, "torch.cat([p.detach().reshape(-1) for p in nn.Conv2d(3, 8, 3).parameters()])"),
    "embedding_init": (35, "nn.Embedding(10, 4).weight.detach()"),
    "sequence": (36, "torch.cat([torch.randn(3), torch.rand(4), torch.randn(20), torch.randn(1), torch.randint(0, 5, (3,)).float()])"),
    "generator": (37, "torch.randn(20, generator=torch.Generator().manual_seed(123))"),
    "generator_rand": (38, "torch.rand(6, generator=torch.Generator().manual_seed(7))"),
    "neg_seed": (-1, "torch.rand(4)"),
    "big_seed": (2**40 + 3, "torch.randn(18)"),
    "randn_like": (39, "torch.randn_like(torch.zeros(3, 6))"),
    "xavier_normal": (40, "nn.init.xavier_normal_(torch.empty(8, 6))"),
    "kaiming_normal": (41, "nn.init.kaiming_normal_(torch.empty(8, 6))"),
    "random_int64": (43, "torch.empty(6, dtype=torch.int64).random_()"),
    "random_float": (44, "torch.empty(6).random_()"),
    "random_to": (45, "torch.empty(6, dtype=torch.int32).random_(7)"),
    "random_sampler": (46, "torch.tensor(list(torch.utils.data.RandomSampler(range(12))))"),
    "dataloader_shuffle": (47, "torch.cat([b for b in torch.utils.data.DataLoader(torch.arange(10), batch_size=4, shuffle=True)])"),
    "random_split": (48, "torch.tensor(torch.utils.data.random_split(range(10), [7, 3])[0].indices)"),
    "lstm_init": (49, "torch.cat([p.detach().reshape(-1) for p in nn.LSTM(6, 5, num_layers=2).parameters()])"),
    "gru_init": (50, "torch.cat([p.detach().reshape(-1) for p in nn.GRU(4, 3, bidirectional=True).parameters()])"),
    "mha_init": (51, "torch.cat([p.detach().reshape(-1) for p in nn.MultiheadAttention(8, 2).parameters()])"),
    "transformer_layer_init": (52, "torch.cat([p.detach().reshape(-1) for p in nn.TransformerEncoderLayer(8, 2, 16).parameters()])"),
    "conv1d_transpose_init": (53, "torch.cat([p.detach().reshape(-1) for p in [*nn.Conv1d(2, 4, 3).parameters(), *nn.ConvTranspose2d(3, 2, 2).parameters()]])"),
    "embedding_padding": (54, "nn.Embedding(6, 3, padding_idx=0).weight.detach()"),
    "trunc_normal": (55, "nn.init.trunc_normal_(torch.empty(40), std=0.02)"),
    "trunc_normal_tail": (60, "nn.init.trunc_normal_(torch.empty(50), mean=0.0, std=1.0, a=2.0, b=3.0)"),
    "state_after_rand": (61, "(torch.rand(700), torch.get_rng_state())[1]"),
    "state_after_randn": (62, "(torch.randn(3), torch.get_rng_state())[1]"),
    "orthogonal": (56, "nn.init.orthogonal_(torch.empty(5, 3))"),
    "randint_like": (57, "torch.randint_like(torch.zeros(3, 3), 10)"),
    "bernoulli_p_kw": (58, "torch.bernoulli(torch.zeros(30), p=0.4)"),
    "normal_scalar_size": (59, "torch.normal(2.0, 0.5, size=(20,))"),
    "mlp_init": (42, "torch.cat([p.detach().reshape(-1) for p in nn.Sequential(nn.Linear(100, 64), nn.ReLU(), nn.Linear(64, 10)).parameters()])"),
}


def main():
    out = {"__cases__": np.array(json.dumps(CASES))}
    for name, (seed, src) in CASES.items():
        torch.manual_seed(seed)
        out[name] = eval(src).numpy()
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "rng_streams.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {len(out)} cases to {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
