"""Upcycled MoE in bf16 autocast: error vs the fp32 dense FFN, fp32 vs bf16 routing.

    python tools/dev/bf16_routing.py

Prints the max error of the dense FFN and of the upcycled MoE layer (N=4,
k=2, 1,200 tokens, 64 -> 256 -> 64) under CPU bf16 autocast, once with the
layer's fp32 routing and once with routing left to autocast (the behaviour
before the layer disabled autocast around its router).
"""
import contextlib
import types

import torch

import mmdet_dynmoe.moe.layer as L
from mmdet_dynmoe.moe import MoELayer, upcycle_dense_mlp

torch.manual_seed(0)
dims, hidden, N, k = 64, 256, 4, 2
fc1, fc2 = torch.nn.Linear(dims, hidden), torch.nn.Linear(hidden, dims)
layer = MoELayer(dims, hidden // k, N * k, k).eval()
upcycle_dense_mlp(layer, fc1.weight.data, fc1.bias.data, fc2.weight.data,
                  fc2.bias.data, N, k)
x = torch.randn(1200, dims)


def dense(t):
    return fc2(torch.relu(fc1(t)))


def errs():
    with torch.no_grad():
        exact = dense(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            d, m = dense(x), layer(x)
    return (d.float() - exact).abs().max().item(), (m.float() -
                                                    exact).abs().max().item()


print('fp32 routing: dense bf16 err %.4f, upcycled MoE bf16 err %.4f' % errs())
real = L.torch
L.torch = types.SimpleNamespace(
    **{n: getattr(real, n)
       for n in dir(real) if not n.startswith('__')})
L.torch.autocast = lambda *a, **kw: contextlib.nullcontext()
print('bf16 routing: dense bf16 err %.4f, upcycled MoE bf16 err %.4f' % errs())
