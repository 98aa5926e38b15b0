"""Engine options that reproduce official MoE code (tutel, as DAMEX uses it),
pinned on tiny tensors."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from mmdet_dynmoe.moe import (MoELayer, TopKRouter, importance_load_loss,
                              upcycle_dense_mlp)
from helpers.moe_reference import tutel_importance_load


def _clean_logits(router: TopKRouter, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, router.gate.weight)


def test_gate_noise_chooses_the_experts_but_the_loss_reads_clean_logits():
    torch.manual_seed(0)
    router = TopKRouter(
        8, 4, 1, normalize=False, noise_std=2.0, noise_in_loss=False).train()
    x = torch.randn(200, 8)
    route = router(x)
    clean = _clean_logits(router, x)
    torch.testing.assert_close(route.logits, clean)
    torch.testing.assert_close(route.probs, clean.softmax(-1))
    # the choice and its weight come from the noisy scores
    assert (route.indices[:, 0] != clean.argmax(-1)).float().mean() > 0.2
    chosen_clean = clean.softmax(-1).gather(1, route.indices)
    assert not torch.allclose(route.weights, chosen_clean)
    # our default: the noisy logits are what the losses read
    noisy = TopKRouter(8, 4, 1, noise_std=2.0).train()
    noisy.load_state_dict(router.state_dict())
    assert not torch.allclose(noisy(x).logits, clean)
    # no noise at test time either way
    router.eval()
    torch.testing.assert_close(router(x).logits, clean)
    assert torch.equal(router(x).indices[:, 0], clean.argmax(-1))


def test_preset_noise_std_is_tutels_gate_noise_over_the_expert_count():
    # tutel: logits + gate_noise * randn / E; DAMEX's gate_noise is 1.0
    torch.manual_seed(0)
    E = 8
    router = TopKRouter(
        8, E, E, normalize=False, noise_std=1.0 / E,
        noise_in_loss=False).train()
    with torch.no_grad():
        router.gate.weight.zero_()  # clean logits 0: the scores are noise
    route = router(torch.randn(20000, 8))
    assert route.logits.abs().max() == 0
    # top-E weights = all noisy probabilities: their log differences are
    # the noise's, std s * sqrt((E - 1) / E) around each token's mean
    log_w = route.weights.log()
    spread = (log_w - log_w.mean(-1, keepdim=True)).std().item()
    assert spread == pytest.approx(1.0 / E * math.sqrt((E - 1) / E), rel=0.02)


def _reference_per_expert_bias(layer: MoELayer, x: torch.Tensor):
    """sum_j w_j (expert_{i_j}(x) + b_{i_j}), token by token."""
    route = layer.router(x)
    ex = layer.experts
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        for w, e in zip(route.weights[t], route.indices[t]):
            h = ex.activation(x[t] @ ex.w1[e] + ex.b1[e])
            out[t] += w * (h @ ex.w2[e] + layer.bias[e])
    return out


@pytest.mark.parametrize('bias', ['per_expert', 'per_expert_frozen'])
def test_per_expert_output_bias_is_gate_weighted(bias):
    torch.manual_seed(0)
    layer = MoELayer(8, 16, 4, 2, output_bias=bias).eval()
    with torch.no_grad():
        layer.bias.normal_()
    assert layer.bias.shape == (4, 8)
    x = torch.randn(9, 8)
    torch.testing.assert_close(layer(x), _reference_per_expert_bias(layer, x))
    assert layer.bias.requires_grad == (bias == 'per_expert')


def test_frozen_per_expert_bias_is_not_trained():
    # DAMEX: mlp_fc2_bias=False -> batched_fc2_bias.requires_grad = False
    torch.manual_seed(0)
    layer = MoELayer(8, 16, 4, 1, output_bias='per_expert_frozen').train()
    with torch.no_grad():
        layer.bias.normal_()
    before = layer.bias.detach().clone()
    opt = torch.optim.AdamW([p for p in layer.parameters() if p.requires_grad],
                            lr=0.1)
    layer(torch.randn(30, 8)).square().sum().backward()
    opt.step()
    assert layer.bias.grad is None and torch.equal(layer.bias, before)
    assert layer.experts.w2.grad is not None


def test_a_dropped_slot_adds_no_per_expert_bias():
    torch.manual_seed(0)
    layer = MoELayer(
        8, 16, 2, 1, capacity_factor=0.5, output_bias='per_expert').train()
    with torch.no_grad():
        layer.router.gate.weight.zero_()
        layer.router.gate.weight[0, 0] = 10.0  # every token prefers expert 0
        layer.experts.w2.zero_()  # outputs are bias only
        layer.bias.copy_(torch.tensor([[1.0] * 8, [5.0] * 8]))
    x = torch.randn(8, 8).abs()
    out = layer(x)
    kept = (out.abs().sum(-1) > 0)
    assert kept.sum() == math.ceil(0.5 * 8 * 1 / 2)  # capacity 2
    assert torch.all(out[~kept] == 0)


def test_xavier_init_draws_over_tutels_tensor_shapes():
    # tutel stacks w1, w2 as (E, H, C); xavier: fan_in H*C, fan_out E*C
    torch.manual_seed(0)
    E, C, H = 4, 64, 256
    layer = MoELayer(C, H, E, 1, init='xavier', output_bias='per_expert')
    for w in (layer.experts.w1, layer.experts.w2):
        assert w.std().item() == pytest.approx(
            math.sqrt(2 / (H * C + E * C)), rel=0.03)
    assert layer.experts.b1.std().item() == pytest.approx(
        math.sqrt(2 / (H + E)), rel=0.05)
    assert layer.bias.std().item() == pytest.approx(
        math.sqrt(2 / (C + E)), rel=0.1)
    assert layer.router.gate.weight.std().item() == pytest.approx(
        math.sqrt(2 / (C + E)), rel=0.1)
    # ours: each expert like an nn.Linear pair
    ours = MoELayer(C, H, E, 1)
    assert ours.experts.w1.std().item() == pytest.approx(
        1 / math.sqrt(3 * C), rel=0.03)
    # and a reset keeps the chosen init
    layer.reset_parameters()
    assert layer.experts.w1.std().item() == pytest.approx(
        math.sqrt(2 / (H * C + E * C)), rel=0.03)


def test_capacity_applies_at_test_time_only_when_asked():
    torch.manual_seed(0)
    kw = dict(capacity_factor=1.0)
    x = torch.randn(12, 8)
    ours = MoELayer(8, 16, 4, 1, **kw)
    official = MoELayer(8, 16, 4, 1, capacity_at_test=True, **kw)
    official.load_state_dict(ours.state_dict())
    with torch.no_grad():
        for layer in (ours, official):
            layer.router.gate.weight.zero_()
            layer.router.gate.weight[0, 0] = 10.0
    x = x.abs()  # every token prefers expert 0: capacity 3 of 12
    ours.eval()
    official.eval()
    dropped = (official(x) - official.bias).abs().sum(-1) == 0
    assert dropped.sum() == 12 - 3
    assert not ((ours(x) - ours.bias).abs().sum(-1) == 0).any()
    with pytest.raises(ValueError, match='capacity_at_test=True needs'):
        MoELayer(8, 16, 4, 1, capacity_at_test=True)


def test_importance_load_loss_is_tutels_formula():
    torch.manual_seed(0)
    logits = torch.randn(50, 8) * 2
    indices = (logits + torch.randn_like(logits) * 0.125).topk(2, -1).indices
    loss = importance_load_loss(logits, indices, 0.125)
    assert loss.item() == pytest.approx(
        tutel_importance_load(logits, indices, 0.125).item(), rel=1e-5)
    # uniform routing: no importance imbalance, load term only
    flat = importance_load_loss(
        torch.zeros(40, 4), torch.zeros(40, 1, dtype=torch.long), 0.25)
    assert flat.item() == pytest.approx(0.0, abs=1e-6)
    skewed = torch.zeros(40, 4)
    skewed[:, 0] = 3.0
    assert importance_load_loss(skewed, skewed.topk(1, -1).indices, 0.25) > 0.5
    logits.requires_grad_(True)
    importance_load_loss(logits, indices, 0.125).backward()
    assert logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='noise_std > 0'):
        importance_load_loss(logits, indices, 0.0)


def test_upcycling_needs_the_shared_output_bias():
    layer = MoELayer(8, 16, 2, 1, output_bias='per_expert')
    with pytest.raises(ValueError, match="output_bias='shared'"):
        upcycle_dense_mlp(layer, torch.randn(16, 8), torch.randn(16),
                          torch.randn(8, 16), torch.randn(8), 2, 1)


def test_unknown_output_bias_and_init_name_the_allowed_values():
    with pytest.raises(ValueError, match=r"allowed: \['shared'"):
        MoELayer(8, 8, 2, 1, output_bias='expert')
    with pytest.raises(ValueError, match=r"allowed: \['linear', 'xavier'\]"):
        MoELayer(8, 8, 2, 1, init='kaiming')
