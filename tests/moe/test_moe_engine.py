"""The plain-PyTorch MoE engine (mmdet_dynmoe.moe) on bare tensors."""
from __future__ import annotations

import ast
import glob
import os.path as osp

import pytest
import torch

import mmdet_dynmoe.hi_moe  # noqa: F401  (registers HierarchicalRouter)
from mmdet_dynmoe.moe import (MoELayer, load_balancing_loss, router_z_loss,
                              select_dispatch, split_dense_mlp,
                              upcycle_dense_mlp)
from helpers import REPO_ROOT
from helpers.moe_reference import (PATHS, TOL, assert_close_to_reference,
                                   make_layer)


@pytest.mark.parametrize('path', PATHS)
@pytest.mark.parametrize('num_tokens', [1, 7, 300])
def test_every_dispatch_path_matches_per_token_reference(path, num_tokens):
    layer = make_layer(dispatch=path)
    x = torch.randn(num_tokens, 16)
    assert_close_to_reference(layer, x)


@pytest.mark.parametrize('path', PATHS)
def test_dispatch_with_experts_that_receive_no_token(path):
    layer = make_layer(
        dispatch=path, router_cfg=dict(type='TopKRouter', bias=True))
    with torch.no_grad():  # experts 0 and 1 always win: 2..5 get nothing
        layer.router.gate.bias.copy_(torch.tensor([50., 40, 0, 0, 0, 0]))
    x = torch.randn(2, 50, 16)
    assert_close_to_reference(layer, x)
    layer.train()
    layer(x).sum().backward()
    grad = layer.experts.w1.grad
    assert grad is not None and grad[:2].abs().sum() > 0
    assert grad[2:].abs().sum() == 0  # present in the graph, zero gradient


@pytest.mark.parametrize('path', PATHS)
def test_dispatch_with_top_k_equal_to_num_experts_and_shared_expert(path):
    layer = make_layer(
        num_experts=4, top_k=4, dispatch=path, num_shared_experts=1)
    assert_close_to_reference(layer, torch.randn(3, 33, 16))


@pytest.mark.parametrize('path', PATHS)
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_dispatch_in_half_precision_matches_reference(path, dtype):
    layer = make_layer(dispatch=path)
    x = torch.randn(2, 40, 16).to(dtype)
    assert_close_to_reference(layer, x, dtype)


def test_dispatch_paths_agree_in_value_and_gradient():
    x = torch.randn(2, 70, 16)
    results = []
    for path in PATHS:
        layer = make_layer(dispatch=path).train()
        layer.z_loss_weight = layer.balance_loss_weight = 0
        xi = x.clone().requires_grad_()
        out = layer(xi)
        out.pow(2).sum().backward()
        results.append((out.detach(), xi.grad, layer.experts.w1.grad,
                        layer.router.gate.weight.grad))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_eval_output_of_a_token_does_not_depend_on_the_batch():
    layer = make_layer(
        capacity_factor=0.5,
        router_cfg=dict(type='TopKRouter', noise_std=1.0, jitter_eps=0.1))
    x = torch.randn(400, 16)
    with torch.no_grad():
        full = layer(x)
        alone = torch.cat([layer(x[i:i + 1]) for i in range(0, 400, 37)])
    torch.testing.assert_close(full[::37], alone, rtol=1e-5, atol=1e-5)


def test_same_input_gives_bitwise_same_output_and_gradient():
    layer = make_layer(dispatch='loop').train()
    x = torch.randn(2, 90, 16)
    runs = []
    for _ in range(2):
        layer.zero_grad()
        out = layer(x)
        out.sum().backward()
        runs.append((out, layer.experts.w2.grad.clone()))
    assert torch.equal(runs[0][0], runs[1][0])
    assert torch.equal(runs[0][1], runs[1][1])


def test_capacity_factor_drops_and_counts_slots_only_in_training():
    layer = make_layer(
        num_experts=4,
        top_k=1,
        capacity_factor=1.0,
        router_cfg=dict(type='TopKRouter', bias=True))
    with torch.no_grad():
        layer.router.gate.bias.copy_(torch.tensor([3., 0, 0, 0]))
    x = torch.randn(40, 16)
    layer.train()
    for path in PATHS:
        layer.dispatch = path
        out = layer(x)
        aux = layer.pop_aux_losses()
        # Capacity ceil(1.0 * 40 * 1 / 4) = 10 slots for expert 0; the
        # tokens it drops get no routed output: just the bias.
        probs = layer.router(x).probs
        on_0 = probs.argmax(-1) == 0
        dropped = (out - layer.bias).abs().sum(-1) == 0
        assert aux['moe_dropped_slots'].item() == on_0.sum().item() - 10
        assert dropped.sum().item() == on_0.sum().item() - 10
        # ... the ones expert 0 scores lowest
        kept = on_0 & ~dropped
        assert probs[kept, 0].min() > probs[on_0 & dropped, 0].max()
    layer.eval()
    layer(x)
    assert layer.pop_aux_losses() == {}


def test_auto_dispatch_uses_the_loop_on_cpu_at_every_size():
    cpu = torch.device('cpu')
    for num_tokens in (1, 1800, 40000):  # the loop is fastest on CPU
        for dtype in (torch.float32, torch.bfloat16):
            assert select_dispatch(num_tokens, 16, cpu, dtype) == 'loop'
    if torch.cuda.is_available():
        cuda = torch.device('cuda')
        assert select_dispatch(64, 16, cuda, torch.float32) == 'dense'
        assert select_dispatch(40000, 16, cuda, torch.float32) == 'loop'


@pytest.mark.parametrize('path,dtype', [('dense', torch.float32),
                                        ('grouped_mm', torch.bfloat16)])
@pytest.mark.parametrize('router', ['TopKRouter', 'HierarchicalRouter'])
def test_dense_and_grouped_paths_compile_into_one_graph_with_losses(
        path, dtype, router):
    # fullgraph=True errors on a graph break, e.g. Python control flow on
    # expert counts (the loop path's split sizes break it). Users can
    # torch.compile a model with MoE layers without splitting it there.
    # (Host syncs proper are checked on CUDA: test_moe_engine_cuda.py.)
    router_cfg = dict(type=router)
    if router == 'HierarchicalRouter':
        router_cfg.update(num_groups=3, top_groups=2)
    layer = make_layer(dispatch=path, router_cfg=router_cfg).to(dtype)
    x = torch.randn(2, 40, 16).to(dtype)
    for training in (False, True):
        layer.train(training)
        torch._dynamo.reset()
        compiled = torch.compile(layer, backend='aot_eager', fullgraph=True)
        out = compiled(x)
        aux = layer.pop_aux_losses()
        torch.testing.assert_close(
            out, layer(x), rtol=TOL[dtype], atol=TOL[dtype])
        expected = {'loss_moe_balance', 'loss_moe_z'} if training else set()
        assert expected <= set(aux) and (training or not aux)
        layer.pop_aux_losses()


def test_load_balancing_loss_is_one_when_uniform_and_e_over_k_at_worst():
    num_experts, top_k = 4, 2
    probs = torch.full((8, num_experts), 0.25)
    indices = torch.tensor([[0, 1], [2, 3]] * 4)
    assert load_balancing_loss(probs, indices).item() == pytest.approx(1.0)
    collapsed = torch.tensor([[1.0, 0, 0, 0]] * 8)
    worst = load_balancing_loss(collapsed, torch.tensor([[0, 1]] * 8))
    assert worst.item() == pytest.approx(num_experts / top_k)


def test_router_z_loss_is_mean_squared_logsumexp():
    logits = torch.tensor([[0.0, 0.0], [1.0, 3.0]])
    expected = (torch.logsumexp(logits, -1)**2).mean()
    assert router_z_loss(logits).item() == pytest.approx(expected.item())


def test_routing_losses_are_recorded_weighted_in_training_only():
    layer = make_layer(balance_loss_weight=0.5, z_loss_weight=0.25).train()
    x = torch.randn(30, 16)
    layer(x)
    layer(x)  # two passes accumulate
    aux = layer.pop_aux_losses()
    route = layer.router(x)
    balance = load_balancing_loss(route.probs, route.indices)
    torch.testing.assert_close(aux['loss_moe_balance'], 2 * 0.5 * balance)
    torch.testing.assert_close(aux['loss_moe_z'],
                               2 * 0.25 * router_z_loss(route.logits))
    assert aux['loss_moe_balance'].requires_grad
    assert layer.pop_aux_losses() == {}
    layer.eval()
    layer(x)
    assert layer.pop_aux_losses() == {}


def test_stats_count_load_coactivation_and_per_image_when_enabled():
    layer = make_layer(num_experts=5, top_k=2)
    x = torch.randn(3, 20, 16)
    layer(x)
    assert layer.stats.load is None  # off by default
    layer.stats.enable(per_image=True)
    layer(x)
    idx = layer.router(x.reshape(-1, 16)).indices
    stats = layer.stats.as_dict()
    assert stats['num_tokens'] == 60 and len(stats['images']) == 3
    assert torch.equal(stats['load'],
                       torch.bincount(idx.flatten(), minlength=5))
    pair = ((idx[:, 0] == 1) & (idx[:, 1] == 3)) | ((idx[:, 0] == 3) &
                                                    (idx[:, 1] == 1))
    assert stats['coactivation'][1, 3] == pair.sum()
    assert torch.equal(stats['coactivation'].diagonal(), stats['load'])
    img1 = idx[20:40]
    assert torch.equal(stats['images'][1]['load'],
                       torch.bincount(img1.flatten(), minlength=5))


@pytest.mark.parametrize('num_copies,granularity', [(1, 1), (4, 2), (3, 4)])
def test_upcycled_layer_reproduces_the_dense_mlp(num_copies, granularity):
    torch.manual_seed(1)
    embed, hidden = 16, 48
    fc1, fc2 = torch.nn.Linear(embed, hidden), torch.nn.Linear(hidden, embed)
    layer = MoELayer(embed, hidden // granularity, num_copies * granularity,
                     granularity)
    upcycle_dense_mlp(layer, fc1.weight, fc1.bias, fc2.weight, fc2.bias,
                      num_copies, granularity)
    for shape in [(1, embed), (3000, embed), (2, 17, embed)]:
        x = torch.randn(shape)
        dense = fc2(torch.relu(fc1(x)))
        for mode in (True, False):
            layer.train(mode)
            torch.testing.assert_close(layer(x), dense, rtol=0, atol=1e-5)
    layer.pop_aux_losses()


def test_split_dense_mlp_slices_sum_back_to_the_dense_output():
    w1, b1, w2 = torch.randn(12, 5), torch.randn(12), torch.randn(5, 12)
    e_w1, e_b1, e_w2 = split_dense_mlp(w1, b1, w2, num_copies=2, granularity=3)
    assert e_w1.shape == (6, 5, 4) and e_w2.shape == (6, 4, 5)
    x = torch.randn(7, 5)
    dense = torch.relu(x @ w1.t() + b1) @ w2.t()
    for copy in range(2):
        parts = [
            torch.relu(x @ e_w1[e] + e_b1[e]) @ e_w2[e]
            for e in range(3 * copy, 3 * copy + 3)
        ]
        torch.testing.assert_close(sum(parts), dense)


def test_bad_layer_config_raises_with_key_and_allowed_values():
    with pytest.raises(ValueError, match='top_k=5.*num_experts=4'):
        MoELayer(8, 8, num_experts=4, top_k=5)
    with pytest.raises(KeyError, match="'Nope'.*allowed.*TopKRouter"):
        MoELayer(8, 8, 4, 2, router_cfg=dict(type='Nope'))
    with pytest.raises(ValueError, match="dispatch='fast'.*allowed"):
        MoELayer(8, 8, 4, 2, dispatch='fast')
    with pytest.raises(ValueError, match='capacity_factor'):
        MoELayer(8, 8, 4, 2, capacity_factor=0)
    with pytest.raises(ValueError, match='not divisible by granularity=5'):
        split_dense_mlp(
            torch.randn(12, 4), torch.randn(12), torch.randn(4, 12), 2, 5)


def test_engine_imports_nothing_from_openmmlab():
    for path in glob.glob(osp.join(REPO_ROOT, 'mmdet_dynmoe', 'moe', '*.py')):
        tree = ast.parse(open(path).read())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split('.')[0] not in ('mmdet', 'mmcv', 'mmengine',
                                                  'mmdet_dynmoe'), (path, name)


def test_engine_layer_takes_only_generic_keys():
    import inspect
    assert set(inspect.signature(MoELayer).parameters) == {
        'embed_dims', 'hidden_channels', 'num_experts', 'top_k', 'router_cfg',
        'activation', 'dropout', 'num_shared_experts', 'routed_scale',
        'capacity_factor', 'dispatch', 'balance_loss_weight', 'z_loss_weight',
        'loss_scope', 'check_finite', 'capacity_at_test', 'output_bias',
        'init', 'test_top_k', 'test_top_p'
    }


def test_optional_losses_are_off_by_default():
    layer = MoELayer(8, 8, 4, 2).train()
    layer(torch.randn(2, 5, 8))
    assert layer.pop_aux_losses() == {}


def test_a_router_with_losses_of_its_own_returns_them_to_the_layer():
    from mmdet_dynmoe.moe import ROUTERS, TopKRouter, register_router

    @register_router
    class ToyLossRouter(TopKRouter):

        def losses(self, route, scope):
            return {'loss_moe_toy': route.probs[:, 0].mean()}

    try:
        layer = make_layer(router_cfg=dict(type='ToyLossRouter')).train()
        x = torch.randn(2, 5, 16)
        layer(x)
        aux = layer.pop_aux_losses()
        assert set(aux) == {'loss_moe_balance', 'loss_moe_z', 'loss_moe_toy'}
        layer.eval()
        layer(x)
        assert layer.pop_aux_losses() == {}  # eval passes compute none
    finally:
        ROUTERS.pop('ToyLossRouter')
    with pytest.raises(TypeError, match='must subclass Router'):
        register_router(torch.nn.Linear)


def test_routing_records_are_kept_only_when_asked_and_in_training():
    layer = make_layer().train()
    x = torch.randn(2, 5, 16)
    layer(x)
    assert layer.pop_routing() == []
    layer.keep_routing = True
    valid = torch.ones(2, 5, dtype=torch.bool)
    valid[1, 3:] = False
    layer(x, valid=valid)
    (record, ) = layer.pop_routing()
    assert record.route.logits.shape == (8, 6)  # the 8 valid tokens
    assert record.layout.image_index.tolist() == [0] * 5 + [1] * 3
    assert tuple(record.token_shape) == (2, 5)
    mask = torch.zeros(2, 5, dtype=torch.bool)
    mask[1, 4] = mask[1, 0] = True
    assert record.routed(mask).tolist() == [False] * 5 + [True, False, False]
    layer.eval()
    layer(x)
    assert layer.pop_routing() == []


def test_pop_moe_aux_losses_sums_or_averages_over_layers():
    from mmdet_dynmoe.moe import pop_moe_aux_losses
    model = torch.nn.Sequential(make_layer(), make_layer()).train()
    x = torch.randn(10, 16)
    model(x)
    losses = [layer.pop_aux_losses()['loss_moe_balance'] for layer in model]
    model(x)
    total = pop_moe_aux_losses(model)['loss_moe_balance']
    torch.testing.assert_close(total, losses[0] + losses[1])
    model(x)
    mean = pop_moe_aux_losses(model, reduction='mean')['loss_moe_balance']
    torch.testing.assert_close(mean, (losses[0] + losses[1]) / 2)
    with pytest.raises(
            ValueError, match=r"reduction='max'.*\['sum', 'mean'\]"):
        pop_moe_aux_losses(model, reduction='max')


def test_negative_loss_weights_fail_at_build():
    with pytest.raises(ValueError, match='balance_loss_weight=-0.1 must be'):
        MoELayer(8, 8, 4, 2, balance_loss_weight=-0.1)


def test_top_k_router_options_noise_jitter_and_raw_weights():
    from mmdet_dynmoe.moe import TopKRouter
    x = torch.randn(20, 16)
    for options in (dict(noise_std=1.0), dict(jitter_eps=0.5)):
        router = TopKRouter(16, 6, 2, **options)
        router.eval()
        torch.testing.assert_close(router(x).logits, router(x).logits)
        router.train()
        assert not torch.equal(router(x).logits, router(x).logits)
    raw = TopKRouter(16, 6, 2, normalize=False).eval()(x)
    torch.testing.assert_close(raw.weights, raw.probs.gather(1, raw.indices))
    assert (raw.weights.sum(-1) < 1).all()


def test_routing_stays_fp32_under_autocast_and_upcycling_stays_exact():
    torch.manual_seed(0)
    dims, hidden, num_copies, k = 64, 256, 4, 2
    fc1, fc2 = torch.nn.Linear(dims, hidden), torch.nn.Linear(hidden, dims)
    layer = MoELayer(dims, hidden // k, num_copies * k, k).eval()
    upcycle_dense_mlp(layer, fc1.weight.data, fc1.bias.data, fc2.weight.data,
                      fc2.bias.data, num_copies, k)
    x = torch.randn(1200, dims)

    def dense(t):
        return fc2(torch.relu(fc1(t)))

    logits = []
    layer.router.register_forward_hook(
        lambda mod, args, out: logits.append(out.logits))
    with torch.no_grad():
        exact = dense(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            dense_bf16 = dense(x)
            moe_bf16 = layer(x)
    assert logits[-1].dtype == torch.float32
    dense_err = (dense_bf16.float() - exact).abs().max()
    moe_err = (moe_bf16.float() - exact).abs().max()
    # the upcycled layer is as exact as the dense FFN in bf16 (bf16 routing
    # ties replicated logits: tokens mix slices of different copies)
    assert moe_err <= 4 * dense_err, (moe_err, dense_err)
    # a method's router too (HI-MoE's, with its scene summary matmul)
    hier = make_layer(
        router_cfg=dict(type='HierarchicalRouter', num_groups=3, top_groups=2))
    routes = []
    hier.router.register_forward_hook(
        lambda mod, args, out: routes.append(out))
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        hier(torch.randn(2, 10, 16))
    assert routes[0].logits.dtype == routes[0].group_probs.dtype == \
        torch.float32


def test_capacity_keeps_the_top_scoring_slots_whatever_their_position():
    from mmdet_dynmoe.moe.dispatch import capacity_keep_mask
    torch.manual_seed(0)
    # DETR decoder layout: 100 denoising queries first, then 1,000 matching
    # queries; every token prefers expert 0, the matching ones more.
    score = torch.cat([torch.rand(100) * 0.5, 0.5 + torch.rand(1000) * 0.5])
    indices = torch.zeros(1100, 1, dtype=torch.long)
    keep = capacity_keep_mask(indices, 4, capacity=172, priority=score)[:, 0]
    assert keep.sum() == 172
    assert set(keep.nonzero().flatten().tolist()) == set(
        score.topk(172).indices.tolist())
    assert not keep[:100].any()  # no denoising query beats a matching one
    # position alone (the old priority) keeps the denoising queries
    positional = capacity_keep_mask(indices, 4, capacity=172)[:, 0]
    assert positional[:100].all()
    # ties go by position; first choices before second choices
    tied = capacity_keep_mask(
        torch.tensor([[0, 1], [0, 1], [1, 0]]),
        2,
        capacity=1,
        priority=torch.ones(3))
    assert tied.tolist() == [[True, False], [False, False], [True, False]]
