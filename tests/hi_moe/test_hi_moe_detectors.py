"""HI-MoE inside mmdet's DINO: configs, masks from the DETR layers, losses."""
from __future__ import annotations

import copy
import glob
import os.path as osp

import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner

import mmdet_dynmoe  # noqa: F401
from mmdet_dynmoe.hi_moe import HierarchicalRouter
from mmdet_dynmoe.models import MoEFFN
from mmdet_dynmoe.moe import TopKRouter
from mmdet_dynmoe.testing import write_layout_fixture
from helpers import REPO_ROOT, load_tool, save_initialised_checkpoint, tiny_cfg
from helpers.paper_scale import cpu_step_cfg

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'hi_moe')


def _configs(pattern: str) -> list[str]:
    """Our HI-MoE variants (the prototype presets are pinned apart)."""
    return sorted(
        osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, pattern))
        if '-prototype' not in p)


TINY = _configs('hi-moe-dino_r18-tiny-*.py')
PAPER = _configs('hi-moe-dino-4scale_r50-*.py')
HI_MOE = 'hi-moe-dino_r18-tiny-e16g4_3e_synthetic-mixed.py'
PROTOTYPE = 'hi-moe-dino_r18-tiny-e16g4-prototype_3e_synthetic-mixed.py'


def _train_batch(model, cfg, sizes=None):
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    samples = [dataset[0], dataset[1]]
    if sizes:  # crop images to other sizes: the batch gets padding
        for sample, (h, w) in zip(samples, sizes):
            sample['inputs'] = sample['inputs'][:, :h, :w]
            sample['data_samples'].set_metainfo(dict(img_shape=(h, w)))
            boxes = sample['data_samples'].gt_instances.bboxes
            boxes.clip_((h, w))
    return model.data_preprocessor(pseudo_collate(samples), True)


@pytest.mark.parametrize('config', TINY)
def test_hi_moe_configs_train_with_their_routing_losses(
        config, tiny_synthetic, tmp_path):
    cfg = tiny_cfg(f'hi_moe/{config}', tiny_synthetic, str(tmp_path))
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    moe = {n: m for n, m in model.named_modules() if isinstance(m, MoEFFN)}
    where = cfg.model.moe_cfg.where
    assert len(moe) == 3 + (2 if 'encoder' in where else 0)
    for m in moe.values():  # 16 experts of half the dense FFN, top-2
        assert m.moe.num_experts == 16 and m.moe.top_k == 2
        assert m.moe.experts.w1.shape[-1] * 2 == 1024
    model.train()
    losses = model(**_train_batch(model, cfg), mode='loss')
    router = next(iter(moe.values())).moe.router
    assert isinstance(router,
                      TopKRouter if '-flat' in config else HierarchicalRouter)
    expected = {'loss_moe_balance'}
    if not isinstance(router, TopKRouter):
        expected.add('loss_moe_group_balance')
        if router.group_routing == 'image':
            expected.add('loss_moe_diversity')
    assert expected <= set(losses)
    assert not {'loss_moe_group_balance', 'loss_moe_diversity'} & (
        set(losses) - expected)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    if isinstance(router, HierarchicalRouter):
        assert router.scene_gate.weight.grad.abs().sum() > 0


def test_moe_ffns_get_padding_and_denoising_masks_from_their_layers(
        tiny_synthetic, tmp_path):
    cfg = tiny_cfg(f'hi_moe/{HI_MOE}', tiny_synthetic, str(tmp_path))
    cfg.model.moe_cfg.where = ['encoder', 'decoder']
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    seen = {}

    def spy(name, original):

        def set_token_masks(valid, context):
            seen.setdefault(name, []).append((valid, context))
            original(valid, context)

        return set_token_masks

    for name, m in model.named_modules():
        if isinstance(m, MoEFFN):
            m.set_token_masks = spy(name, m.set_token_masks)
    model.train()
    batch = _train_batch(model, cfg, sizes=[(128, 128), (96, 112)])
    model(**batch, mode='loss')
    enc_valid, enc_context = seen['encoder.layers.0.ffn'][-1]
    assert enc_context is None
    assert enc_valid.shape[0] == 2 and enc_valid[0].all()
    assert not enc_valid[1].all()  # the smaller image's padding
    dec_valid, dec_context = seen['decoder.layers.0.ffn'][-1]
    assert dec_valid is None
    num_queries = cfg.model.num_queries
    num_dn = dec_context.shape[1] - num_queries
    assert num_dn > 0  # training adds denoising queries ...
    assert not dec_context[:, :num_dn].any()  # ... kept out of the scene
    assert dec_context[:, num_dn:].all()
    # at test time no denoising queries, no masks
    seen.clear()
    model.eval()
    with torch.no_grad():
        model(**batch, mode='predict')
    assert seen['decoder.layers.0.ffn'][-1] == (None, None)


def _without_routing(config: str) -> dict:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config)).to_dict()
    cfg['model']['moe_cfg'].pop('router_cfg')
    return cfg


def test_hi_moe_ablations_differ_from_hi_moe_only_in_the_router():
    for group in (TINY, PAPER):
        main = next(c for c in group if '-e16g4_' in c)
        for config in group:
            if config != main and '-encdec' not in config:
                assert _without_routing(config) == _without_routing(main), \
                    config


@pytest.mark.slow
@pytest.mark.parametrize('config', [
    'hi-moe-dino-4scale_r50-e16g4_12e_coco.py',
    'hi-moe-dino-4scale_r50-e16g4-encdec_12e_coco.py',
    'hi-moe-dino-4scale_r50-e16g4-prototype_12e_coco.py'
])
def test_paper_scale_hi_moe_config_passes_a_training_step(
        config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = cpu_step_cfg(osp.join(CONFIG_DIR, config), str(tmp_path / 'work'))
    write_layout_fixture(cfg.train_dataloader.dataset, num_images=2)
    cfg.train_dataloader.batch_size = 2
    runner = Runner.from_cfg(cfg)
    moe = [m for m in runner.model.modules() if isinstance(m, MoEFFN)]
    assert len(moe) == (6 if '-e16g4_' in config else 12)
    if '-prototype' in config:  # full width + a full-width shared expert
        assert all(m.moe.experts.hidden_channels == 2048
                   and m.moe.shared_experts.hidden_channels == 2048
                   for m in moe)
    runner.train()
    assert runner.iter == 1


def test_group_usage_by_domain_and_separation():
    from mmdet_dynmoe.hi_moe import domain_separation, group_usage_by_domain
    records = [
        dict(groups=torch.tensor(g)) for g in ([0, 1], [0, 1], [2, 3], [2, 1])
    ]
    names, usage = group_usage_by_domain(records, ['a', 'a', 'b', 'b'], 4)
    assert names == ['a', 'b']
    assert usage.tolist() == [[1, 1, 0, 0], [0, 0.5, 1, 0.5]]
    assert domain_separation(usage) == pytest.approx(0.75)
    assert domain_separation(torch.ones(3, 4)) == 0.0
    with pytest.raises(ValueError, match='records for'):
        group_usage_by_domain(records, ['a'], 4)


def test_analyze_scene_groups_tool_plots_group_usage_per_domain(
        tiny_synthetic, tmp_path):
    cfg = tiny_cfg(f'hi_moe/{HI_MOE}', tiny_synthetic, str(tmp_path))
    cfg_file = str(tmp_path / 'hi_moe.py')
    cfg.dump(cfg_file)
    ckpt = save_initialised_checkpoint(cfg.model, str(tmp_path / 'hi_moe.pth'))
    out = tmp_path / 'groups'
    result = load_tool('analyze_scene_groups').main(
        [cfg_file, ckpt, '--out', str(out)])
    assert set(result) == {f'decoder.layers.{i}' for i in range(3)}
    layer = result['decoder.layers.0']
    assert layer['domains'] == ['night', 'paper', 'street', 'studio']
    assert all(sum(row) == pytest.approx(2) for row in layer['usage'])
    assert (out / 'scene_groups.png').is_file()


def test_prototype_preset_is_full_width_with_a_shared_expert_everywhere(
        tiny_synthetic, tmp_path):
    cfg = tiny_cfg(f'hi_moe/{PROTOTYPE}', tiny_synthetic, str(tmp_path))
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    moe = {n: m for n, m in model.named_modules() if isinstance(m, MoEFFN)}
    assert sorted(moe) == sorted(
        f'{coder}.layers.{i}.ffn' for coder in ('encoder', 'decoder')
        for i in range(len(getattr(model, coder).layers)))
    dense = 2 * 256 * 1024 + 1024 + 256  # the dense FFN's parameters
    for m in moe.values():
        layer = m.moe
        assert layer.num_experts == 16 and layer.top_k == 2
        assert layer.experts.hidden_channels == 1024  # full width
        assert layer.shared_experts.hidden_channels == 1024
        assert layer.router.combine == 'instance'
        assert layer.router.gate.bias is not None
        # 2 routed + 1 shared full-width experts: 3x the dense FFN
        assert layer.active_params_per_token() == 3 * dense - 2 * 256
    model.train()
    losses = model(**_train_batch(model, cfg), mode='loss')
    # the prototype's routing losses have no gradient: none trains here
    assert not [k for k in losses if k.startswith('loss_moe')]
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    router = moe['decoder.layers.0.ffn'].moe.router
    # the scene router learns through the scene distribution the instance
    # router reads, although the combination ignores the group gate
    assert router.scene_gate.weight.grad.abs().sum() > 0
