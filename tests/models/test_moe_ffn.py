"""MoEFFN: the mmdet adapter, upcycling from mmcv FFN, loss plumbing."""
from __future__ import annotations

import warnings

import pytest
import torch
from mmcv.cnn.bricks.transformer import FFN
from mmdet.registry import HOOKS, MODELS
from mmengine.model import BaseModel

import mmdet_dynmoe  # noqa: F401
from mmdet_dynmoe.models import MoEFFN, upcycle_ffns
from mmdet_dynmoe.moe import moe_layers
from helpers import tiny_dino_cfg


def dense_ffn(**kw) -> FFN:
    torch.manual_seed(0)
    ffn = FFN(**{'embed_dims': 32, 'feedforward_channels': 96, **kw})
    with torch.no_grad():
        for p in ffn.parameters():
            p.normal_(std=0.2)
    return ffn


def test_moe_ffn_is_registered_and_keeps_the_ffn_contract():
    moe = MODELS.build(
        dict(
            type='MoEFFN',
            embed_dims=32,
            feedforward_channels=64,
            num_experts=4,
            top_k=2,
            granularity=2))
    assert isinstance(moe, MoEFFN) and moe.moe.experts.hidden_channels == 32
    moe.eval()
    x, identity = torch.randn(2, 5, 32), torch.randn(2, 5, 32)
    routed = moe.moe(x)
    torch.testing.assert_close(moe(x), x + routed)
    torch.testing.assert_close(moe(x, identity), identity + routed)
    moe.add_identity = False
    torch.testing.assert_close(moe(x, identity), routed)


@pytest.mark.parametrize('num_copies,granularity', [(8, 2), (4, 4), (1, 2)])
@pytest.mark.parametrize('ffn_kwargs', [
    {},
    dict(
        act_cfg=dict(type='GELU'),
        layer_scale_init_value=0.5,
        add_identity=False),
])
def test_upcycled_moe_matches_dense_ffn(num_copies, granularity, ffn_kwargs):
    ffn = dense_ffn(**ffn_kwargs)
    moe = MoEFFN.from_dense(
        ffn, num_copies=num_copies, granularity=granularity)
    assert moe.moe.num_experts == num_copies * granularity
    for shape in [(1, 1, 32), (2, 900, 32), (3000, 32)]:
        x = torch.randn(shape)
        for train in (True, False):
            ffn.train(train)
            moe.train(train)
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                err = (moe(x) - ffn(x)).abs().max().item()
            assert err <= 1e-5, (shape, train, err)


def test_router_gets_a_gradient_at_the_upcycled_start():
    ffn = dense_ffn()
    moe = MoEFFN.from_dense(
        ffn,
        num_copies=4,
        granularity=2,
        balance_loss_weight=0,
        z_loss_weight=0)
    x = torch.randn(2, 50, 32)
    target = torch.randn(2, 50, 32)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ((moe(x) - target)**2).sum().backward()
    grad = moe.moe.router.gate.weight.grad
    assert grad is not None and grad.abs().max() > 1e-4
    # Every token picks the two slices of one copy, and copies are used.
    idx = moe.moe.router(x.reshape(-1, 32)).indices.sort(-1).values
    assert torch.equal(idx[:, 0] // 2, idx[:, 1] // 2)
    assert torch.equal(idx[:, 0] % 2, torch.zeros_like(idx[:, 0]))
    assert len(torch.unique(idx[:, 0] // 2)) > 1


def test_active_params_per_token_equal_the_dense_ffn():
    ffn = dense_ffn()
    moe = MoEFFN.from_dense(ffn, num_copies=8, granularity=2)
    dense_params = sum(p.numel() for p in ffn.parameters())
    assert moe.moe.active_params_per_token() == dense_params
    assert moe.moe.router_params() == 16 * 32


def test_bad_moe_config_fails_at_build_with_key_and_allowed_values():
    base = dict(type='MoEFFN', embed_dims=32, feedforward_channels=96)
    with pytest.raises(ValueError, match='top_k=9 .*num_experts=8'):
        MODELS.build(dict(base, num_experts=8, top_k=9))
    with pytest.raises(
            ValueError,
            match=r'feedforward_channels=96 is not divisible by '
            r'granularity=5.*e\.g\. \[1, 2, 3, 4, 6'):
        MODELS.build(dict(base, granularity=5))
    with pytest.raises(KeyError, match="'SoftRouter'.*allowed.*TopKRouter"):
        MODELS.build(dict(base, router_cfg=dict(type='SoftRouter')))
    with pytest.raises(
            TypeError, match=r"unknown keys \['num_expert'\].*"
            r"capacity_factor"):
        MODELS.build(dict(base, num_expert=4))
    with pytest.raises(ValueError, match='num_fcs=2.*num_fcs=3'):
        MODELS.build(dict(base, num_fcs=3))
    with pytest.raises(TypeError, match='two-layer mmcv FFN.*Linear'):
        MoEFFN.from_dense(torch.nn.Linear(4, 4), 2, 2)
    with pytest.raises(TypeError, match='num_fcs=3'):
        MoEFFN.from_dense(dense_ffn(num_fcs=3), 2, 2)
    with pytest.raises(ValueError, match='top_k=1 must equal granularity=2'):
        MoEFFN.from_dense(dense_ffn(), 2, 2, top_k=1)


def test_upcycle_ffns_replaces_matching_layers_and_names_the_existing_ones():
    model = torch.nn.Module()
    model.layers = torch.nn.ModuleList([torch.nn.Module() for _ in range(3)])
    for layer in model.layers:
        layer.ffn = dense_ffn()
    x = torch.randn(4, 32)
    before = [layer.ffn(x) for layer in model.layers]
    names = upcycle_ffns(model, 'layers.[12].ffn', num_copies=2, granularity=2)
    assert names == ['layers.1.ffn', 'layers.2.ffn']
    assert isinstance(model.layers[0].ffn, FFN)
    for layer, ref in zip(model.layers, before):
        layer.eval()
        torch.testing.assert_close(layer.ffn(x), ref, rtol=0, atol=1e-5)
    with pytest.raises(
            ValueError, match=r"'decoder\.\*' matches no FFN.*"
            r"layers\.0\.ffn"):
        upcycle_ffns(model, 'decoder.*', 2, 2)


def _dino_batch(cfg):
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return pseudo_collate([dataset[0], dataset[1]])


def test_routing_losses_reach_the_detector_loss_dict(tiny_synthetic, tmp_path):
    cfg = tiny_dino_cfg(tiny_synthetic, str(tmp_path))
    model = MODELS.build(cfg.model)
    # DINO leaves some parameters (level_embed) uninitialised until
    # init_weights, as the Runner calls it; without it they hold whatever
    # the allocator returns and the matching cost can be NaN.
    model.init_weights()
    names = upcycle_ffns(
        model,
        'decoder.layers.*.ffn',
        num_copies=2,
        granularity=2,
        balance_loss_weight=0.01,
        z_loss_weight=0.001)
    assert len(names) == 3
    data = model.data_preprocessor(_dino_batch(cfg), True)
    model.train()
    losses = model(**data, mode='loss')
    for key in ('loss_moe_balance', 'loss_moe_z'):
        assert key in losses and torch.isfinite(losses[key])
    # Sum over 3 layers of 0.01 * balance (>= 1 each).
    assert losses['loss_moe_balance'].item() >= 0.03 - 1e-6
    losses['loss_moe_balance'].backward()
    assert model.decoder.layers[0].ffn.moe.router.gate.weight.grad is not None
    # No pending losses survive the pass; predict computes none.
    assert all(not layer._aux for _, layer in moe_layers(model))
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(_dino_batch(cfg), False)
        preds = model(**data, mode='predict')
    assert len(preds) == 2
    assert all(not layer._aux for _, layer in moe_layers(model))


def _small_moe_ffn(**kw) -> MoEFFN:
    """An 8 -> 16 -> 8 MoEFFN with 4 experts, top-2, built from a config."""
    return MODELS.build(
        dict(
            type='MoEFFN',
            embed_dims=8,
            feedforward_channels=16,
            num_experts=4,
            top_k=2,
            **kw))


class ToyModel(BaseModel):
    """A non-DETR model whose MoEFFN comes from its own config."""

    def __init__(self):
        super().__init__()
        self.ffn = _small_moe_ffn(
            balance_loss_weight=0.01, z_loss_weight=0.001)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.ffn(inputs)
        if mode == 'loss':
            return dict(loss_task=out.square().mean())
        return out


def test_per_layer_losses_name_each_layer_and_the_last_setting_wins():
    model = torch.nn.Sequential(ToyModel().ffn, ToyModel().ffn)

    class Wrapper(BaseModel):

        def __init__(self):
            super().__init__()
            self.net = model

        def forward(self, inputs, data_samples=None, mode='tensor'):
            out = self.net(inputs)
            return dict(loss_task=out.mean()) if mode == 'loss' else out

    wrapper = Wrapper().train()
    x = torch.randn(2, 6, 8)

    class Runner:
        pass

    runner = Runner()
    runner.model = wrapper
    HOOKS.build(dict(type='MoEAuxLossHook')).before_run(runner)
    assert set(wrapper(
        x, mode='loss')) == {'loss_task', 'loss_moe_balance', 'loss_moe_z'}
    HOOKS.build(dict(type='MoEAuxLossHook', per_layer=True)).before_run(runner)
    assert set(wrapper(x, mode='loss')) == {
        'loss_task', 'moe0.loss_moe_balance', 'moe0.loss_moe_z',
        'moe1.loss_moe_balance', 'moe1.loss_moe_z'
    }


def test_moe_ffn_takes_mmcv_ffn_keys_and_expert_channels():
    x = torch.randn(2, 5, 8)
    plain = _small_moe_ffn(expert_channels=6)
    assert plain.moe.experts.hidden_channels == 6
    with pytest.raises(ValueError, match='contradicts granularity=2'):
        _small_moe_ffn(expert_channels=6, granularity=2)
    torch.manual_seed(0)
    ffn = _small_moe_ffn(
        act_cfg=dict(type='GELU'),
        layer_scale_init_value=0.5,
        add_identity=False,
        dropout_layer=dict(type='DropPath', drop_prob=0.5)).eval()
    assert isinstance(ffn.moe.experts.activation, torch.nn.GELU)
    # eval: no drop path; layer scale halves the MoE output, no residual
    torch.testing.assert_close(ffn(x), 0.5 * ffn.moe(x))
    ffn.train()
    torch.manual_seed(1)
    dropped = ffn(torch.randn(8, 5, 8))
    assert (dropped.flatten(1).abs().sum(1) == 0).any()  # paths dropped


def test_moe_aux_loss_hook_wires_config_built_moe_ffn():
    model = ToyModel().train()
    x = torch.randn(2, 6, 8)
    with pytest.warns(UserWarning, match='no detector collects'):
        losses = model(x, mode='loss')
    assert set(losses) == {'loss_task'}
    assert not model.ffn.moe._aux  # not kept: would leak the graph

    class Runner:
        pass

    runner = Runner()
    runner.model = model
    HOOKS.build(dict(type='MoEAuxLossHook')).before_run(runner)
    losses = model(x, mode='loss')
    assert set(losses) == {'loss_task', 'loss_moe_balance', 'loss_moe_z'}
    model.eval()
    assert isinstance(model(x), torch.Tensor)


def test_pre_norm_moe_ffn_normalises_its_input_and_its_layer_drops_the_post_norm(
):
    from mmdet.models.layers.transformer import DinoTransformerDecoder

    from mmdet_dynmoe.models import apply_moe_cfg
    torch.manual_seed(0)
    decoder = DinoTransformerDecoder(
        num_layers=2,
        post_norm_cfg=None,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=32, num_heads=4),
            cross_attn_cfg=dict(embed_dims=32, num_levels=1, num_heads=4),
            ffn_cfg=dict(embed_dims=32, feedforward_channels=64)))
    model = torch.nn.Module()
    model.decoder = decoder
    apply_moe_cfg(
        model,
        dict(
            where='decoder.layers.0.ffn',
            num_experts=4,
            top_k=1,
            pre_norm=True),
        collect_losses=False)
    moe = decoder.layers[0].ffn
    assert isinstance(decoder.layers[0].norms[-1], torch.nn.Identity)
    assert isinstance(decoder.layers[1].norms[-1], torch.nn.LayerNorm)
    moe.eval()
    x = torch.randn(2, 5, 32) * 3 + 1
    # x + MoE(LN(x)), not LN(x + MoE(x))
    torch.testing.assert_close(moe(x), x + moe.moe(moe.norm(x)))
    with torch.no_grad():
        moe.norm.weight.mul_(2.0)  # the norm is the MoEFFN's own
    torch.testing.assert_close(moe(x), x + moe.moe(moe.norm(x)))
    lone = MoEFFN(
        embed_dims=32,
        feedforward_channels=64,
        num_experts=4,
        top_k=1,
        pre_norm=True)
    holder = torch.nn.Module()
    holder.block = torch.nn.Module()
    holder.block.ffn = dense_ffn(feedforward_channels=64)
    with pytest.raises(TypeError, match='not an mmdet DETR'):
        from mmdet_dynmoe.models.ffn_replacement import replace_ffns
        replace_ffns(holder, 'block.ffn', lambda ffn: lone, False)


def test_moe_cfg_act_cfg_and_dropout_layer_replace_the_dense_ffns():
    ffn = dense_ffn(act_cfg=dict(type='ReLU'))
    kept = MoEFFN.like(ffn, num_experts=4, top_k=1)
    assert isinstance(kept.moe.experts.activation, torch.nn.ReLU)
    assert isinstance(kept.dropout_layer, torch.nn.Identity)
    official = MoEFFN.like(
        ffn,
        num_experts=4,
        top_k=1,
        act_cfg=dict(type='GELU'),
        dropout_layer=dict(type='DropPath', drop_prob=0.2))
    assert isinstance(official.moe.experts.activation, torch.nn.GELU)
    assert official.dropout_layer.drop_prob == 0.2


def test_test_time_expert_budget_is_a_cfg_option_of_a_trained_detector(
        tiny_synthetic, tmp_path):
    from mmengine.config import Config

    from helpers import REPO_ROOT
    cfg = Config.fromfile(
        f'{REPO_ROOT}/configs/moe/moe-dino_r18-tiny-n4k2_3e_synthetic-mixed.py'
    )
    cfg.merge_from_dict({'model.moe_cfg.test_top_p': 0.6})  # --cfg-options
    model = MODELS.build(cfg.model)
    layers = moe_layers(model)
    assert layers and all(layer.test_top_p == 0.6 and layer.top_k == 2
                          for _, layer in layers)
