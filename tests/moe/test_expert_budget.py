"""Fewer experts per token at test time (test_top_k / test_top_p)."""
from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from mmdet_dynmoe.moe import MoELayer


def _layer(**kw) -> MoELayer:
    torch.manual_seed(0)
    layer = MoELayer(16, 32, 8, 4, dispatch='loop', **kw)
    with torch.no_grad():
        layer.router.gate.weight.normal_(std=0.5)  # a router with opinions
        layer.bias.normal_()
    return layer.eval()


def _reference(layer: MoELayer, x: torch.Tensor, keep_counts) -> torch.Tensor:
    """Token by token: the first n chosen experts, weights rescaled to the
    full top-k sum."""
    route = layer.router(x)
    ex = layer.experts
    out = torch.zeros_like(x)
    for t, n in enumerate(keep_counts):
        w = route.weights[t]
        kept = w[:n] * (w.sum() / w[:n].sum())
        for weight, e in zip(kept, route.indices[t, :n]):
            h = ex.activation(x[t] @ ex.w1[e] + ex.b1[e])
            out[t] += weight * (h @ ex.w2[e])
    return out + layer.bias


def test_full_budget_equals_the_layer_without_knobs():
    x = torch.randn(2, 30, 16)
    plain = _layer()
    for kw in (dict(test_top_k=4), dict(test_top_p=1.0),
               dict(test_top_k=4, test_top_p=1.0)):
        knob = _layer(**kw)
        torch.testing.assert_close(knob(x), plain(x), rtol=0, atol=1e-6)


def test_fixed_smaller_top_k_runs_each_tokens_best_experts():
    x = torch.randn(40, 16)
    for k in (1, 2, 3):
        layer = _layer(test_top_k=k)
        torch.testing.assert_close(layer(x), _reference(layer, x, [k] * 40))


def test_top_p_keeps_the_fewest_experts_reaching_p_per_token():
    x = torch.randn(40, 16)
    layer = _layer(test_top_p=0.5)
    route = layer.router(x)
    chosen = route.probs.gather(1, route.indices)
    counts = [min(int((c.cumsum(0) < 0.5).sum()) + 1, 4)
              for c in chosen]  # fewest first slots whose mass reaches 0.5
    assert len(set(counts)) > 1  # it varies per token
    torch.testing.assert_close(layer(x), _reference(layer, x, counts))
    # one token alone gets what it gets in the batch
    torch.testing.assert_close(layer(x[7:8]), layer(x)[7:8])


def test_skipped_experts_are_not_computed():

    def flops(layer, x):
        with FlopCounterMode(display=False) as counter:
            layer(x)
        return counter.get_total_flops()

    x = torch.randn(200, 16)
    full, one = flops(_layer(), x), flops(_layer(test_top_k=1), x)
    expert = 2 * 2 * 16 * 32  # two matmuls per token and expert
    assert full - one == pytest.approx(200 * 3 * expert, rel=0.02)


def test_the_budget_is_for_test_time_only():
    x = torch.randn(30, 16)
    torch.manual_seed(1)
    trained = _layer(test_top_k=1).train()(x)
    torch.manual_seed(1)
    torch.testing.assert_close(trained, _layer().train()(x))


def test_budget_out_of_range_names_the_key_and_range():
    with pytest.raises(ValueError, match=r'test_top_k=5 .* \[1, top_k=4\]'):
        _layer(test_top_k=5)
    with pytest.raises(ValueError, match=r'test_top_p=0 .* \(0, 1\]'):
        _layer(test_top_p=0)
    layer = _layer()
    layer.test_top_k = 0  # set after training, checked when used
    with pytest.raises(ValueError, match='test_top_k=0'):
        layer(torch.randn(3, 16))
