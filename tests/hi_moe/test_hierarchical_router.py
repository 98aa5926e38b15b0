"""HI-MoE's router in the engine: scene -> instance routing over groups."""
from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from mmdet_dynmoe.hi_moe import HierarchicalRouter
from mmdet_dynmoe.moe import MoELayer

C, HIDDEN = 16, 24


def _layer(num_experts=8, num_groups=4, top_groups=2, top_k=2, **router):
    torch.manual_seed(0)
    router.setdefault('group_balance_loss_weight', 0.01)
    layer = MoELayer(
        C,
        HIDDEN,
        num_experts,
        top_k,
        router_cfg=dict(
            type='HierarchicalRouter',
            num_groups=num_groups,
            top_groups=top_groups,
            **router),
        balance_loss_weight=0.01)
    layer.reset_parameters()
    with torch.no_grad():  # a router with opinions: bigger logits
        layer.router.scene_gate.weight.normal_(std=1.0)
        layer.router.gate.weight.normal_(std=1.0)
        layer.bias.normal_()
    return layer


def _reference(layer: MoELayer, x, valid, context):
    """Per image, per token, in float64: the routing the docs describe."""
    r: HierarchicalRouter = layer.router
    ex = layer.experts
    w1, b1, w2 = (p.detach().double() for p in (ex.w1, ex.b1, ex.w2))
    wg, wi = r.scene_gate.weight.double(), r.gate.weight.double()
    B, N, _ = x.shape
    out = layer.bias.detach().double().repeat(B, N, 1)
    for b in range(B):
        ctx = [n for n in range(N) if valid[b, n] and context[b, n]]
        summary = x[b, ctx].double().mean(0)
        gp = torch.softmax(wg @ summary / r.temperature, 0)
        top = sorted(range(r.num_groups), key=lambda g: -gp[g])[:r.top_groups]
        gate = {g: gp[g] / sum(gp[h] for h in top) for g in top}
        allowed = [
            e for e in range(r.num_experts) if e // r.experts_per_group in top
        ]
        for n in range(N):
            if not valid[b, n]:
                continue
            source = torch.cat([x[b, n].double(), gp]) \
                if r.scene_to_instance else x[b, n].double()
            logits = wi @ source
            p = torch.softmax(logits[allowed], 0)
            best = sorted(range(len(allowed)), key=lambda i: -p[i])[:r.top_k]
            total = sum(p[i] for i in best) if r.normalize else 1.0
            weights = {
                allowed[i]:
                p[i] / total * gate[allowed[i] // r.experts_per_group]
                for i in best
            }
            combined = sum(weights.values())
            for e, w in weights.items():
                if r.renormalize_combined:
                    w = w / combined
                h = ex.activation(x[b, n].double() @ w1[e] + b1[e])
                out[b, n] += w * (h @ w2[e])
    return out


@pytest.mark.parametrize('options', [
    dict(),
    dict(renormalize_combined=True),
    dict(temperature=0.5),
    dict(scene_to_instance=False),
    dict(normalize=False),
])
@pytest.mark.parametrize('dispatch', ['loop', 'dense'])
def test_hierarchical_moe_matches_a_slow_per_image_reference(
        dispatch, options):
    layer = _layer(**options)
    layer.dispatch = dispatch
    layer.eval()
    x = torch.randn(3, 7, C)
    valid = torch.ones(3, 7, dtype=torch.bool)
    valid[1, 5:] = False  # padding of image 1
    context = torch.ones(3, 7, dtype=torch.bool)
    context[:, :2] = False  # e.g. two denoising queries per image
    out = layer(x, valid=valid, context=context)
    ref = _reference(layer, x, valid, context)
    assert torch.allclose(out.double(), ref, atol=1e-5)


def test_tokens_use_only_experts_of_their_images_chosen_groups():
    router = HierarchicalRouter(
        C, num_experts=16, top_k=3, num_groups=4, top_groups=2)
    layer = MoELayer(C, HIDDEN, 16, 3)
    x = torch.randn(5, 40, C)
    from mmdet_dynmoe.moe import flatten_tokens
    flat, layout, _ = flatten_tokens(x)
    route = router(flat, layout=layout)
    assert route.group_indices.shape == (5, 2)
    groups_of_token = route.group_indices[layout.image_index]  # (T, 2)
    expert_group = route.indices // 4
    assert (expert_group.unsqueeze(-1) == groups_of_token.unsqueeze(1)
            ).any(-1).all()
    # images do not all agree: the scene level is per image
    assert len({tuple(sorted(g.tolist())) for g in route.group_indices}) > 1
    del layer


def test_padding_and_denoising_tokens_do_not_change_other_tokens_routing():
    layer = _layer()
    layer.eval()
    x = torch.randn(2, 9, C)
    valid = torch.ones(2, 9, dtype=torch.bool)
    valid[0, 7:] = False
    context = torch.ones(2, 9, dtype=torch.bool)
    context[:, :3] = False
    out = layer(x, valid=valid, context=context)
    y = x.clone()
    y[0, 7:] = 100 * torch.randn(2, C)  # padding
    y[:, :3] = 100 * torch.randn(2, 3, C)  # denoising queries
    out2 = layer(y, valid=valid, context=context)
    real = valid & context
    assert torch.allclose(out[real], out2[real], atol=1e-6)
    assert torch.equal(out[0, 7:], layer.bias.detach().expand(2, C))


def test_renormalized_combined_weights_sum_to_one_and_still_train_scenes():
    layer = _layer(renormalize_combined=True)
    layer.balance_loss_weight = layer.router.group_balance_loss_weight = 0.0
    layer.train()
    x = torch.randn(3, 10, C)
    route = layer.router(x.flatten(0, 1), layout=None)
    torch.testing.assert_close(
        route.weights.sum(-1), torch.ones(len(route.weights)))
    plain = _layer().router(x.flatten(0, 1), layout=None).weights.sum(-1)
    assert (plain < 1 - 1e-3).all()  # the damping it removes
    # Tokens whose two experts lie in different groups keep the scene
    # router in the detection loss's gradient.
    layer(x).square().sum().backward()
    assert layer.router.scene_gate.weight.grad.abs().sum() > 0


def test_both_routing_levels_get_gradients_from_the_output():
    layer = _layer()
    layer.balance_loss_weight = layer.router.group_balance_loss_weight = 0.0
    layer.train()
    layer(torch.randn(3, 10, C)).square().sum().backward()
    assert layer.router.scene_gate.weight.grad.abs().sum() > 0
    assert layer.router.gate.weight.grad.abs().sum() > 0


def test_group_expert_and_diversity_losses_are_recorded_and_train_routers():
    layer = _layer()
    layer.router.diversity_loss_weight = 0.001
    layer.train()
    layer(torch.randn(4, 10, C))
    aux = layer.pop_aux_losses()
    assert set(aux) == {
        'loss_moe_balance', 'loss_moe_group_balance', 'loss_moe_diversity'
    }
    aux['loss_moe_group_balance'].backward(retain_graph=True)
    assert layer.router.scene_gate.weight.grad.abs().sum() > 0
    layer.router.gate.weight.grad = None
    aux['loss_moe_balance'].backward()
    assert layer.router.gate.weight.grad.abs().sum() > 0
    # eval passes record nothing
    layer.eval()
    layer(torch.randn(2, 5, C))
    assert layer.pop_aux_losses() == {}


def _flops(layer, x) -> int:
    with FlopCounterMode(display=False) as counter:
        layer(x)
    return counter.get_total_flops()


def test_flops_scale_with_active_not_total_experts():
    x = torch.randn(4, 64, C)
    small = _layer(num_experts=8, num_groups=4).eval()
    large = _layer(num_experts=64, num_groups=4).eval()
    small.dispatch = large.dispatch = 'loop'
    f_small, f_large = _flops(small, x), _flops(large, x)
    tokens, groups = 4 * 64, 4
    expert_flops = tokens * 2 * (2 * 2 * C * HIDDEN)  # T * k * two matmuls
    assert f_small >= expert_flops
    # 8x the experts: only the instance router's (T, C + G) x (C + G, E)
    # scores grow; the experts' compute stays T * k
    router_growth = 2 * tokens * (C + groups) * (64 - 8)
    assert f_large - f_small == router_growth


def test_ablation_variants_route_as_named():
    x = torch.randn(3, 12, C)
    scene_only = _layer(expert_routing='image').eval()
    from mmdet_dynmoe.moe import flatten_tokens
    flat, layout, _ = flatten_tokens(x)
    route = scene_only.router(flat, layout=layout)
    per_image = route.indices.view(3, 12, -1)
    assert (per_image == per_image[:, :1]).all()  # one expert set per image
    instance_only = _layer(group_routing='token').eval()
    route = instance_only.router(flat, layout=layout)
    assert route.group_indices.shape == (36, 2)  # groups per token


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_experts=10, num_groups=4, top_groups=2), 'must divide'),
    (dict(num_experts=8, num_groups=4, top_groups=5), 'top_groups=5'),
    (dict(num_experts=8, num_groups=4, top_groups=1,
          top_k=3), 'larger than the experts in the selected groups'),
    (dict(
        num_experts=8,
        num_groups=4,
        top_groups=2,
        group_routing='token',
        expert_routing='image'), 'needs'),
    (dict(num_experts=8, num_groups=4, top_groups=2,
          group_routing='scene'), "allowed: ['image', 'token']"),
])
def test_bad_hierarchical_router_configs_fail_at_build(kwargs, message):
    num_experts = kwargs.pop('num_experts')
    top_k = kwargs.pop('top_k', 2)
    with pytest.raises(ValueError, match=message.replace('[', r'\[')):
        MoELayer(
            C,
            HIDDEN,
            num_experts,
            top_k,
            router_cfg=dict(type='HierarchicalRouter', **kwargs))


def test_router_noise_changes_training_routing_only():
    layer = _layer(noise_std=1.0)
    x = torch.randn(3, 10, C)
    layer.eval()
    torch.testing.assert_close(layer(x), layer(x))  # eval: no noise
    clean = _layer()
    clean.eval()
    torch.testing.assert_close(layer(x), clean(x))
    layer.train()
    torch.manual_seed(1)
    first = layer.router(x.flatten(0, 1)).indices
    torch.manual_seed(2)
    assert not torch.equal(first, layer.router(x.flatten(0, 1)).indices)


def test_instance_combination_is_a_softmax_over_the_chosen_logits():
    # the prototype (himoe_ffn.py): softmax(topk(masked instance logits))
    torch.manual_seed(0)
    ours = _layer(num_experts=16, group_balance_loss_weight=0.0)
    proto = _layer(
        num_experts=16, group_balance_loss_weight=0.0, combine='instance')
    proto.load_state_dict(ours.state_dict())
    x = torch.randn(3, 10, C)
    layout_x = x.reshape(-1, C)
    from mmdet_dynmoe.moe import TokenLayout
    layout = TokenLayout(torch.arange(3).repeat_interleave(10), 3)
    route = proto.router(layout_x, layout)
    chosen = route.logits.gather(1, route.indices)
    torch.testing.assert_close(route.weights, chosen.softmax(-1))
    torch.testing.assert_close(route.weights.sum(-1), torch.ones(30))
    # ours: the group gate enters; two groups -> weights sum to about 1/2
    mine = ours.router(layout_x, layout)
    assert torch.equal(mine.indices, route.indices)
    assert mine.weights.sum(-1).max() < 0.999
    with pytest.raises(ValueError, match="allowed: \\['group_gate'"):
        _layer(combine='scene')


def test_router_biases_are_optional_and_start_at_zero():
    layer = _layer(bias=True)
    layer.router.reset_parameters()
    assert torch.equal(layer.router.gate.bias, torch.zeros(8))
    assert torch.equal(layer.router.scene_gate.bias, torch.zeros(4))
    assert _layer().router.gate.bias is None
