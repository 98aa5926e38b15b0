"""DAMEX model side: dataset-aware routing loss inside mmdet's DINO."""
from __future__ import annotations

import copy
import json
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner

import mmdet_dynmoe  # noqa: F401
from mmdet_dynmoe.damex import (DAMEXDINO, DatasetExpertMap,
                                expert_load_by_dataset, routing_purity,
                                routing_target_loss, top_expert_share)
from mmdet_dynmoe.models import MoEFFN
from mmdet_dynmoe.moe import MoELayer, moe_layers
from mmdet_dynmoe.testing import write_layout_fixture
from helpers import REPO_ROOT, load_tool, save_initialised_checkpoint
from helpers.moe_reference import tutel_importance_load
from helpers.paper_scale import cpu_step_cfg

CONFIGS = osp.join(REPO_ROOT, 'configs', 'damex')
DAMEX = osp.join(CONFIGS, 'damex-dino_r18-tiny-e4_3e_synthetic-domains.py')
MOE = osp.join(CONFIGS, 'moe-dino_r18-tiny-e4_3e_synthetic-domains.py')


def _cfg(path: str, data_root: str, work_dir: str) -> Config:
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader):
        for ds in loader.dataset.datasets:
            ds.data_root = data_root
        loader.batch_size, loader.num_workers = 4, 0
        loader.persistent_workers = False
    return cfg


def test_routing_target_loss_is_cross_entropy_to_the_target_experts():
    logits = torch.randn(10, 4)
    target = torch.randint(0, 4, (10, ))
    loss = routing_target_loss(logits, F.one_hot(target, 4).float())
    assert loss == pytest.approx(F.cross_entropy(logits, target).item())
    soft = torch.full((10, 4), 0.25)  # several experts per dataset
    assert routing_target_loss(logits, soft) == pytest.approx(
        -(logits.log_softmax(-1).mean(-1)).mean().item())


def test_the_engine_has_no_damex_key_and_the_old_one_names_the_new_place():
    with pytest.raises(TypeError, match='routing_target_loss_weight'):
        MoELayer(8, 16, 4, 1, routing_target_loss_weight=0.1)
    with pytest.raises(
            TypeError,
            match=r"routing_target_loss_weight moved "
            r"to model=dict\(type='DAMEXDINO', "
            r'routing_loss_weight'):
        MoEFFN(
            embed_dims=8,
            feedforward_channels=16,
            num_experts=4,
            top_k=1,
            routing_target_loss_weight=0.1)


def _routing_loss(records, targets, mask=None, weight=0.5, reduction='sum'):
    """DAMEXDINO.routing_loss with its two settings, on given records."""
    damex = SimpleNamespace(
        routing_loss_weight=weight, routing_loss_reduction=reduction)
    return DAMEXDINO.routing_loss(damex, records, targets, mask)


def test_routing_loss_counts_only_the_masked_tokens_of_recorded_passes():
    torch.manual_seed(0)
    layer = MoELayer(8, 16, 4, 1)
    layer.keep_routing = True
    layer.train()
    targets = F.one_hot(torch.tensor([1, 3]), 4).float()
    layer(torch.randn(2, 5, 8))
    assert layer.pop_aux_losses() == {}  # the engine adds no DAMEX loss
    records = [('global', layer.pop_routing())]
    assert layer.pop_routing() == []  # popped once
    logits = records[0][1][0].route.logits
    mask = torch.zeros(2, 5, dtype=torch.bool)
    mask[0, 1] = mask[1, 3] = mask[1, 4] = True
    expected = 0.5 * F.cross_entropy(
        logits.view(2, 5, 4)[mask], torch.tensor([1, 3, 3]))
    loss = _routing_loss(records, targets, mask)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    every = 0.5 * F.cross_entropy(logits,
                                  torch.tensor([1, 3]).repeat_interleave(5))
    assert _routing_loss(records, targets).item() == pytest.approx(
        every.item(), rel=1e-6)
    # mean over layers: two layers with the same pass = the one-layer loss
    assert _routing_loss(
        records * 2, targets, mask, reduction='mean').item() == pytest.approx(
            expected.item(), rel=1e-6)
    empty = _routing_loss(records, targets,
                          torch.zeros(2, 5, dtype=torch.bool))
    assert empty.item() == 0.0 and empty.requires_grad
    with pytest.raises(
            ValueError,
            match=r'shape \(2, 4\) for a pass over '
            r'tokens of shape \(2, 5\)'):
        _routing_loss(records, targets, torch.ones(2, 4, dtype=torch.bool))
    assert _routing_loss([('global', [])], targets) is None  # no pass


def test_dataset_expert_map_targets_and_errors():
    m = DatasetExpertMap(dict(a=0, b=[1, 2], c=0), num_experts=4)
    assert m.targets(['b', 'a', 'c']).tolist() == [[0, 0.5, 0.5, 0],
                                                   [1, 0, 0, 0], [1, 0, 0, 0]]
    with pytest.raises(KeyError, match="dataset 'd' is missing"):
        m.targets(['a', 'd'])
    with pytest.raises(ValueError, match=r'indices in \[0, 4\)'):
        DatasetExpertMap(dict(a=4), num_experts=4)
    with pytest.raises(ValueError, match='is empty'):
        DatasetExpertMap({}, num_experts=4)
    with pytest.raises(ValueError, match=r"do not exist: \['c'\]"):
        m.check_datasets(['a', 'b'])
    with pytest.raises(ValueError, match=r"missing from it: \['e'\]"):
        m.check_datasets(['a', 'b', 'c', 'e'])


@pytest.fixture(scope='module')
def damex_cfg(tiny_synthetic, tmp_path_factory) -> Config:
    return _cfg(DAMEX, tiny_synthetic, str(tmp_path_factory.mktemp('damex')))


def _mixed_batch(model, cfg, training: bool):
    """Four images from three different datasets in one batch."""
    loader_cfg = cfg.train_dataloader if training else cfg.val_dataloader
    mixture = DATASETS.build(copy.deepcopy(loader_cfg.dataset))
    sizes = [0] + list(mixture.cumulative_sizes)
    picks = [sizes[0], sizes[1], sizes[1] + 1, sizes[3]]
    samples = [mixture[i] for i in picks]
    return model.data_preprocessor(pseudo_collate(samples), training)


def test_damex_teaches_each_images_tokens_its_datasets_expert(damex_cfg):
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(damex_cfg.model))
    model.init_weights()
    model.train()
    batch = _mixed_batch(model, damex_cfg, training=True)
    names = [s.dataset_name for s in batch['data_samples']]
    assert len(set(names)) == 3  # mixed datasets in one batch
    logits = {}
    for name, layer in moe_layers(model):
        layer.router.register_forward_hook(
            lambda mod, args, out, name=name: logits.__setitem__(
                name, out.logits))
    losses = model(**batch, mode='loss')
    expert = torch.tensor([model.dataset_experts.experts[n][0] for n in names])
    expected = 0.0
    for name, lg in logits.items():  # tokens are (B, N) row-major
        per_image = lg.view(len(names), -1, lg.shape[-1])
        target = expert[:, None].expand(per_image.shape[:2])
        expected += 0.05 * F.cross_entropy(
            per_image.flatten(0, 1), target.flatten())
    assert len(logits) == 2
    assert losses['loss_moe_routing_target'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    assert 'loss_moe_balance' not in losses  # instead of balancing
    losses['loss_moe_routing_target'].backward()
    assert all(layer.router.gate.weight.grad.abs().sum() > 0
               for _, layer in moe_layers(model))


def test_foreground_routing_loss_counts_only_matched_queries(damex_cfg):
    torch.manual_seed(0)
    cfg = copy.deepcopy(damex_cfg.model)
    cfg.routing_loss_tokens = 'foreground'
    cfg.bbox_head.type = 'DAMEXDINOHead'
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    batch = _mixed_batch(model, damex_cfg, training=True)
    recorded = []
    pop = model.bbox_head.pop_matched_queries
    model.bbox_head.pop_matched_queries = lambda: recorded.append(pop()) or \
        recorded[-1]
    logits, heads = {}, []
    for name, layer in moe_layers(model):
        layer.router.register_forward_hook(
            lambda mod, args, out, name=name: logits.__setitem__(
                name, out.logits))
    model.bbox_head.register_forward_hook(
        lambda mod, args, out: heads.append(args))
    losses = model(**batch, mode='loss')
    samples = batch['data_samples']
    head_inputs = dict(
        hidden_states=heads[0][0], references=heads[0][1], dn_meta=None)
    # the denoising queries come first; the head's matching part follows
    num_queries = model.num_queries
    num_dn = heads[0][0].shape[2] - num_queries
    matched = _matched_queries(model, head_inputs, samples, num_dn)
    # the head recorded the matching its loss computed: the same queries
    assert len(recorded) == 1 and torch.equal(recorded[0], matched)
    num_gts = [len(s.gt_instances) for s in samples]
    assert matched.sum(1).tolist() == [min(n, num_queries) for n in num_gts]
    assert not matched[:, :num_dn].any()
    expert = torch.tensor(
        [model.dataset_experts.experts[s.dataset_name][0] for s in samples])
    target = expert[:, None].expand(matched.shape)[matched]
    expected = sum(
        0.05 * F.cross_entropy(lg.view(*matched.shape, -1)[matched], target)
        for lg in logits.values())
    assert len(logits) == 2
    assert losses['loss_moe_routing_target'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    every = sum(0.05 * F.cross_entropy(
        lg.flatten(0, -2), expert[:, None].expand(matched.shape).flatten())
                for lg in logits.values())
    assert abs(every.item() - expected.item()) > 1e-4  # not all tokens
    losses['loss_moe_routing_target'].backward()
    assert all(layer.router.gate.weight.grad.abs().sum() > 0
               for _, layer in moe_layers(model))


@torch.no_grad()
def _matched_queries(model, head_inputs: dict, samples, num_dn: int):
    """Reference: the last decoder layer's Hungarian matching, run again.

    (B, num_dn + Q) bool, True where the assigner pairs the matching query
    with a ground-truth box.
    """
    cls_scores, bbox_preds = model.bbox_head(head_inputs['hidden_states'],
                                             head_inputs['references'])
    matched = torch.zeros(cls_scores.shape[1:3], dtype=torch.bool)
    for i, sample in enumerate(samples):
        targets = model.bbox_head._get_targets_single(
            cls_scores[-1, i, num_dn:], bbox_preds[-1, i, num_dn:],
            sample.gt_instances, sample.metainfo)
        matched[i, num_dn + targets[4]] = True  # pos_inds
    return matched


def test_foreground_routing_loss_needs_the_recording_head(damex_cfg):
    cfg = copy.deepcopy(damex_cfg.model)
    cfg.routing_loss_tokens = 'foreground'
    with pytest.raises(
            TypeError,
            match=r"bbox_head=dict\(type="
            r"'DAMEXDINOHead'\) \(got DINOHead\)"):
        MODELS.build(cfg)


def test_foreground_routing_loss_refuses_encoder_moe_layers(damex_cfg):
    cfg = copy.deepcopy(damex_cfg.model)
    cfg.routing_loss_tokens = 'foreground'
    cfg.moe_cfg.where = ['encoder.layers.0.ffn', 'decoder.layers.0.ffn']
    with pytest.raises(
            ValueError,
            match=r"not in the decoder: "
            r"\['encoder.layers.0.ffn'\]"):
        MODELS.build(cfg)
    cfg.routing_loss_tokens = 'matched'
    with pytest.raises(ValueError, match=r"one of \['all', 'foreground'\]"):
        MODELS.build(cfg)


def test_damex_reads_no_dataset_id_at_test_time(damex_cfg):
    model = MODELS.build(copy.deepcopy(damex_cfg.model))
    model.init_weights()
    model.eval()
    batch = _mixed_batch(model, damex_cfg, training=False)
    with torch.no_grad():
        before = model(**batch, mode='predict')
        for sample in batch['data_samples']:
            sample.set_metainfo(dict(dataset_name='studio', dataset_id=0))
        after = model(**batch, mode='predict')
    for a, b in zip(before, after):
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)


def test_training_batch_without_dataset_ids_is_a_clear_error(
        damex_cfg, tiny_synthetic):
    model = MODELS.build(copy.deepcopy(damex_cfg.model))
    model.init_weights()
    model.train()
    plain = DATASETS.build(
        dict(
            type='SyntheticCocoDataset',
            data_root=tiny_synthetic,
            ann_file='annotations/studio_train.json',
            data_prefix=dict(img=''),
            pipeline=damex_cfg.train_pipeline))
    batch = model.data_preprocessor(pseudo_collate([plain[0]]), True)
    with pytest.raises(ValueError, match="no 'dataset_name'"):
        model(**batch, mode='loss')


def test_damex_and_moe_baseline_differ_only_in_routing_losses():
    damex = Config.fromfile(DAMEX).to_dict()
    moe = Config.fromfile(MOE).to_dict()
    assert damex.pop('custom_hooks') == [dict(type='DatasetExpertsHook')]
    assert damex['model'].pop('type') == 'DAMEXDINO'
    assert moe['model'].pop('type') == 'MoEDINO'
    assert damex['model'].pop('dataset_experts')
    assert damex['model'].pop('routing_loss_weight') == 0.1
    assert damex['model'].pop('routing_loss_reduction') == 'mean'
    for cfg in (damex, moe):
        cfg['model']['moe_cfg'].pop('balance_loss_weight')
    assert damex == moe


def test_mapping_that_names_a_missing_dataset_stops_training(
        damex_cfg, tmp_path):
    cfg = copy.deepcopy(damex_cfg)
    cfg.work_dir = str(tmp_path)
    cfg.model.dataset_experts = dict(
        studio=0, street=1, night=2, paper=3, desert=3)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r"do not exist: \['desert'\]"):
        runner.train()


@pytest.mark.slow
@pytest.mark.parametrize('config', [
    'damex-dino-4scale_r50-e8_12e_uodb.py',
    'damex-dino-4scale_r50-e8-official_12e_uodb.py'
])
def test_uodb_damex_config_passes_a_training_step_on_its_layout(
        config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = cpu_step_cfg(osp.join(CONFIGS, config), str(tmp_path / 'work'))
    write_layout_fixture(cfg.train_dataloader.dataset, num_images=1)
    cfg.train_dataloader.batch_size = 2  # two datasets in one batch
    runner = Runner.from_cfg(cfg)
    layers = moe_layers(runner.model)
    assert [n for n, _ in layers
            ] == [f'decoder.layers.{i}.ffn.moe' for i in (0, 2, 4)]
    assert all(layer.num_experts == 8 and layer.top_k == 1
               for _, layer in layers)
    if '-official' in config:
        _official_layers_are_tutels(runner.model, 8)
    runner.train()
    assert runner.iter == 1


def test_expert_load_by_dataset_and_routing_purity():
    records = [
        dict(load=torch.tensor(v)) for v in ([3, 1, 0], [1, 0, 0], [0, 2, 2])
    ]
    names, load = expert_load_by_dataset(records, ['a', 'a', 'b'])
    assert names == ['a', 'b'] and load.tolist() == [[4, 1, 0], [0, 2, 2]]
    purity = routing_purity(names, load, dict(a=[0], b=[1, 2]))
    assert purity == pytest.approx(dict(a=0.8, b=1.0, mean=0.9))
    # the busiest expert, no map needed: a -> expert 0 (4 of 5), b -> a tie
    assert top_expert_share(names, load) == pytest.approx(
        dict(a=0.8, b=0.5, mean=0.65))


def test_routing_summary_gives_mean_and_std_over_runs(tmp_path):

    def run(i: int, load: list, purity: dict = None) -> str:
        layer = dict(datasets=['a', 'b'], load=load, computed_slots=1.0)
        if purity is not None:
            layer['purity'] = purity
        path = tmp_path / f'run{i}.json'
        path.write_text(json.dumps(dict(layers={'decoder.layers.0': layer})))
        return str(path)

    paths = [
        run(0, [[3, 1], [0, 4]], dict(a=0.75, b=1.0, mean=0.875)),
        run(1, [[1, 1], [1, 3]], dict(a=0.5, b=0.75, mean=0.625))
    ]
    out = tmp_path / 'out'
    result = load_tool('analyze_dataset_routing').main(
        ['--summary', *paths, '--out', str(out)])
    layer = result['decoder.layers.0']
    assert layer['purity']['mean']['mean'] == pytest.approx(0.75)
    assert layer['purity']['mean']['std'] == pytest.approx(0.25 / 2**0.5)
    # top-expert share from the loads: a 0.75 / 0.5, b 1.0 / 0.75
    assert layer['top_share']['a']['values'] == pytest.approx([0.75, 0.5])
    assert layer['top_share']['b']['mean'] == pytest.approx(0.875)
    text = (out / 'routing_seeds.md').read_text()
    assert '| decoder.layers.0 | routing purity | 0.625 +- 0.177 |' in text
    # a run without the map (plain MoE) leaves purity out, keeps the share
    paths.append(run(2, [[2, 2], [0, 4]]))
    result = load_tool('analyze_dataset_routing').main(
        ['--summary', *paths, '--out', str(out)])
    assert 'purity' not in result['decoder.layers.0']
    assert len(result['decoder.layers.0']['top_share']['a']['values']) == 3


def test_analyze_dataset_routing_tool(damex_cfg, tmp_path):
    cfg = copy.deepcopy(damex_cfg)
    cfg.work_dir = str(tmp_path)
    cfg_file = str(tmp_path / 'damex.py')
    cfg.dump(cfg_file)
    ckpt = save_initialised_checkpoint(cfg.model, str(tmp_path / 'damex.pth'))
    result = load_tool('analyze_dataset_routing').main(
        [cfg_file, ckpt, '--out',
         str(tmp_path / 'out')])
    layer = result['decoder.layers.0']
    assert layer['datasets'] == ['studio', 'street', 'night', 'paper']
    assert 0.0 <= layer['purity']['mean'] <= 1.0
    assert layer['computed_slots'] == 1.0  # eval is dropless by default
    assert layer['purity']['mean'] <= layer['top_share']['mean'] <= 1.0
    assert (tmp_path / 'out' / 'expert_load.png').is_file()


DAMEX_OFFICIAL = osp.join(
    CONFIGS, 'damex-dino_r18-tiny-e4-official_3e_synthetic-domains.py')
MOE_OFFICIAL = osp.join(
    CONFIGS, 'moe-dino_r18-tiny-e4-official_3e_synthetic-domains.py')


def _official_layers_are_tutels(model, num_experts: int) -> None:
    """The official MoE block in every MoE layer of ``model``."""
    layers = moe_layers(model)
    assert len(layers) >= 2
    for name, layer in layers:
        router = layer.router
        assert router.noise_std == pytest.approx(1.0 / num_experts)
        assert router.noise_in_loss is False and router.normalize is False
        assert isinstance(layer.experts.activation, torch.nn.GELU)
        assert layer.output_bias == 'per_expert_frozen'
        assert layer.bias.shape == (num_experts, layer.embed_dims)
        assert not layer.bias.requires_grad
        assert layer.init == 'xavier' and layer.capacity_at_test
        ffn = model.get_submodule(name[:-len('.moe')])
        assert ffn.pre_norm and isinstance(ffn.norm, torch.nn.LayerNorm)
        assert ffn.dropout_layer.drop_prob == 0.2  # DropPath
        decoder_layer = model.get_submodule(name[:-len('.ffn.moe')])
        assert isinstance(decoder_layer.norms[-1], torch.nn.Identity)


def test_official_damex_preset_turns_on_the_official_moe_block(
        tiny_synthetic, tmp_path):
    cfg = _cfg(DAMEX_OFFICIAL, tiny_synthetic, str(tmp_path))
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    _official_layers_are_tutels(model, 4)
    # the dense decoder layers keep mmdet's post-norm
    assert isinstance(model.decoder.layers[1].norms[-1], torch.nn.LayerNorm)
    # ... and the official init: xavier over tutel's (E, H, C) experts
    layer = moe_layers(model)[0][1]
    C, H = layer.embed_dims, layer.experts.hidden_channels
    assert layer.experts.w1.std().item() == pytest.approx(
        (2 / (H * C + 4 * C))**0.5, rel=0.05)
    # everything else is the default DAMEX config's
    ours = Config.fromfile(DAMEX).to_dict()
    official = Config.fromfile(DAMEX_OFFICIAL).to_dict()
    official.pop('damex_official_moe_block')
    for key in ('act_cfg', 'output_bias', 'init', 'pre_norm', 'dropout_layer',
                'capacity_at_test'):
        official['model']['moe_cfg'].pop(key)
    for c in (ours, official):
        c['model']['moe_cfg'].pop('router_cfg')
    assert official == ours


def test_official_moe_baseline_trains_importance_load_on_matched_queries(
        tiny_synthetic, tmp_path):
    cfg = _cfg(MOE_OFFICIAL, tiny_synthetic, str(tmp_path))
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    _official_layers_are_tutels(model, 4)
    assert model.dataset_experts is None  # reads no dataset
    model.train()
    batch = _mixed_batch(model, cfg, training=True)
    recorded = []
    pop = model.bbox_head.pop_matched_queries
    model.bbox_head.pop_matched_queries = lambda: recorded.append(pop()) or \
        recorded[-1]
    routes = []
    for _, layer in moe_layers(model):
        layer.router.register_forward_hook(
            lambda mod, args, out: routes.append(out))
    losses = model(**batch, mode='loss')
    matched = recorded[0]
    assert 0 < matched.sum() < matched.numel()
    expected = sum(0.1 / 2 * tutel_importance_load(
        r.logits[matched.flatten()], r.indices[matched.flatten()], 0.25)
                   for r in routes)
    assert len(routes) == 2
    assert losses['loss_moe_importance_load'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    assert not {'loss_moe_balance', 'loss_moe_routing_target'} & set(losses)
    losses['loss_moe_importance_load'].backward()
    assert all(layer.router.gate.weight.grad.abs().sum() > 0
               for _, layer in moe_layers(model))


def test_importance_load_loss_needs_gate_noise_and_no_dataset_map(
        tiny_synthetic, tmp_path):
    cfg = _cfg(MOE_OFFICIAL, tiny_synthetic, str(tmp_path)).model
    no_noise = copy.deepcopy(cfg)
    no_noise.moe_cfg.router_cfg.noise_std = 0.0
    with pytest.raises(ValueError, match="gate noise"):
        MODELS.build(no_noise)
    with_map = copy.deepcopy(cfg)
    with_map.dataset_experts = dict(studio=0)
    with pytest.raises(ValueError, match='reads no dataset'):
        MODELS.build(with_map)


def test_official_uodb_map_shares_experts_as_the_official_code():
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'damex-dino-4scale_r50-e8-official_12e_uodb.py'))
    experts = cfg.model.dataset_experts
    assert set(experts) == set(cfg.uodb_classes)  # every UODB dataset
    assert experts['kitti'] == experts['lisa']
    assert experts['voc'] == experts['comic'] == experts['coco']
    own = [n for n in experts if n not in ('kitti', 'voc', 'comic')]
    assert len(own) == 8 and sorted(experts[n] for n in own) == list(range(8))
    router = cfg.model.moe_cfg.router_cfg
    assert router.noise_std == 1.0 / 8 and router.noise_in_loss is False
