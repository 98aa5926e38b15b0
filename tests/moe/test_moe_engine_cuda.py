"""The MoE engine on CUDA: every dispatch path against the per-token
reference, the same results as on CPU, no host sync, bitwise repeatable.

Skipped without a GPU (CI has none); run on a lent GPU machine with
``python -m pytest -q -m cuda tests/moe/test_moe_engine_cuda.py``
(docs/moe_engine.md; ``-m cuda`` keeps the GPU visible to the tests).
"""
from __future__ import annotations

import copy

import pytest
import torch

import mmdet_dynmoe.hi_moe  # noqa: F401  (registers HierarchicalRouter)
from helpers.moe_reference import PATHS, TOL, assert_close_to_reference
from helpers.moe_reference import make_layer as make_small_layer
from helpers.moe_reference import reference_moe

pytestmark = pytest.mark.cuda  # skipped without a GPU (tests/conftest.py)

DTYPES = tuple(TOL)
CUDA = torch.device('cuda')


def make_layer(num_experts=16, embed=64, hidden=128, **kw):
    """Detection-like sizes: 16 experts, so that sorting and grouping work."""
    return make_small_layer(
        num_experts=num_experts, embed=embed, hidden=hidden, **kw)


@pytest.mark.parametrize('path', PATHS)
@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('num_tokens', [1, 300, 1800])
def test_every_cuda_dispatch_path_matches_per_token_reference(
        path, dtype, num_tokens):
    layer = make_layer(dispatch=path).to(CUDA)
    x = torch.randn(num_tokens, 64, device=CUDA).to(dtype)
    assert_close_to_reference(layer, x, dtype)


@pytest.mark.parametrize('path', PATHS)
def test_cuda_handles_idle_experts_top_k_equal_to_experts_and_shared_expert(
        path):
    layer = make_layer(
        num_experts=4, top_k=4, num_shared_experts=1, dispatch=path).to(CUDA)
    x = torch.randn(3, 33, 64, device=CUDA)
    torch.testing.assert_close(
        layer(x).double(), reference_moe(layer, x), rtol=1e-5, atol=1e-5)
    biased = make_layer(
        dispatch=path, router_cfg=dict(type='TopKRouter', bias=True))
    with torch.no_grad():  # experts 0 and 1 always win: 2..15 get nothing
        biased.router.gate.bias.copy_(torch.tensor([50., 40] + [0.] * 14))
    biased = biased.to(CUDA)
    torch.testing.assert_close(
        biased(x).double(), reference_moe(biased, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('path', ('auto', ) + PATHS)
def test_cuda_gives_the_cpu_result_value_and_gradient(path):
    cpu_layer = make_layer(dispatch=path).train()
    cuda_layer = copy.deepcopy(cpu_layer).to(CUDA)
    x = torch.randn(4, 450, 64)
    results = []
    for layer, xi in ((cpu_layer, x.clone()), (cuda_layer, x.to(CUDA))):
        xi.requires_grad_()
        out = layer(xi)
        loss = out.pow(2).mean() + sum(layer.pop_aux_losses().values())
        loss.backward()
        results.append([
            t.detach().cpu()
            for t in (out, xi.grad, layer.experts.w1.grad,
                      layer.experts.b1.grad, layer.router.gate.weight.grad)
        ])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('path', ('grouped_mm', 'dense'))
@pytest.mark.parametrize('router', ('TopKRouter', 'HierarchicalRouter'))
def test_cuda_layer_forward_makes_no_host_sync(path, router):
    router_cfg = dict(type=router)
    if router == 'HierarchicalRouter':
        router_cfg.update(num_groups=4, top_groups=2)
    layer = make_layer(dispatch=path, router_cfg=router_cfg).to(CUDA)
    x = torch.randn(8, 900, 64, device=CUDA, dtype=torch.bfloat16)
    layer(x)  # warm-up: lazy CUDA/cuBLAS initialisation may sync once
    layer.train()
    layer(x)  # warm-up of the training forward; its losses are dropped
    layer.pop_aux_losses()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        with torch.no_grad():
            layer.eval()(x)
        layer.train()
        out = layer(x)  # training forward, routing losses included
        aux = layer.pop_aux_losses()
    finally:
        torch.cuda.set_sync_debug_mode('default')
    assert set(aux) >= {'loss_moe_balance', 'loss_moe_z'}
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('path', ('auto', ) + PATHS)
def test_cuda_forward_is_bitwise_repeatable(path):
    layer = make_layer(dispatch=path).to(CUDA)
    x = torch.randn(8, 900, 64, device=CUDA, dtype=torch.bfloat16)
    with torch.no_grad():
        first, second = layer(x), layer(x)
    assert torch.equal(first, second)
