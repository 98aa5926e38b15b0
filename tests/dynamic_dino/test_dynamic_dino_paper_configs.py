"""Dynamic-DINO's paper-scale configs build and step on fixtures in their layout.

Each config keeps its full Swin-T Grounding DINO with N x 2 experts in every
decoder FFN and its real data layout (ODVG for O365/GoldG/V3Det, COCO for
val2017 and ODinW, LVIS v1 minival); :mod:`paper_scale` only swaps what this
machine lacks (model hub, fairscale, GPU time).
"""
from __future__ import annotations

import glob
import os.path as osp

import pytest
import torch
from mmdet.registry import EVALUATOR
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.structures import InstanceData

import mmdet_dynmoe  # noqa: F401
from mmdet_dynmoe.models import MoEFFN
from mmdet_dynmoe.testing import write_layout_fixture
from helpers import REPO_ROOT
from helpers.paper_scale import cpu_step_cfg

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'dynamic_dino')
PAPER_CONFIGS = sorted(
    osp.basename(p)
    for p in glob.glob(osp.join(CONFIG_DIR, 'dynamic-dino_swin-t-*.py')))


def test_paper_scale_configs_cover_every_benchmark_at_n8_and_n16():
    wanted = {
        f'dynamic-dino_swin-t-n{n}k2_{what}.py'
        for n in (8, 16)
        for what in ('1x_o365-goldg-v3det', 'zeroshot_lvis-minival',
                     'zeroshot_odinw13', 'zeroshot_odinw35')
    }
    assert wanted == set(PAPER_CONFIGS)


@pytest.fixture(autouse=True)
def unformatted_config_text(monkeypatch):
    """Log these configs' text as written instead of yapf-formatting it.

    mmengine formats the whole config (thousands of lines with LVIS/ODinW
    class lists) three times per Runner, ~12 s each on our CPUs; nothing
    here depends on that formatting.
    """
    monkeypatch.setattr(Config, 'pretty_text',
                        property(lambda self: self.text))


def _runner(config: str, tmp_path, monkeypatch) -> Runner:
    monkeypatch.chdir(tmp_path)  # the configs' data/... paths land here
    cfg = cpu_step_cfg(osp.join(CONFIG_DIR, config), str(tmp_path / 'work'))
    write_layout_fixture(cfg.train_dataloader.dataset, num_images=1)
    write_layout_fixture(cfg.test_dataloader.dataset, num_images=1)
    return Runner.from_cfg(cfg)


# Every N=8 config and the N=16 training config take a real step; the other
# N=16 configs are pinned to differ from their N=8 twin only in num_copies
# (below), which keeps the suite within its time budget on two CPU cores.
STEPPED = [c for c in PAPER_CONFIGS if '-n8k2_' in c or '_1x_' in c]
# the adapt recipe on mmdet's fine-tuning example (cat) steps as well
ADAPT = 'dynamic-dino-adapt_swin-t-n8k2_cat.py'


def test_n16_configs_differ_from_their_n8_twin_only_in_num_copies():
    for n16 in PAPER_CONFIGS:
        if '-n16k2_' not in n16:
            continue
        cfg16 = Config.fromfile(osp.join(CONFIG_DIR, n16)).to_dict()
        cfg8 = Config.fromfile(
            osp.join(CONFIG_DIR, n16.replace('-n16k2_', '-n8k2_'))).to_dict()
        assert cfg16['model']['moe_cfg'].pop('num_copies') == 16
        assert cfg8['model']['moe_cfg'].pop('num_copies') == 8
        assert cfg16 == cfg8, n16


@pytest.mark.parametrize('config', STEPPED + [ADAPT])
def test_paper_scale_config_builds_and_passes_a_training_step(
        config, tmp_path, monkeypatch):
    runner = _runner(config, tmp_path, monkeypatch)
    model = runner.model
    num_copies = 16 if '-n16k2' in config else 8
    moe = [m for n, m in model.named_modules() if isinstance(m, MoEFFN)]
    assert len(moe) == 6  # every decoder layer, nothing else
    assert all(m.moe.num_experts == 2 * num_copies and m.moe.top_k == 2
               for m in moe)
    losses = {}

    class Capture(Hook):  # records the loss dict of the training step

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None):
            losses.update(outputs)

    runner.register_hook(Capture(), priority='LOWEST')
    runner.train()
    assert runner.iter == 1
    assert 'loss_moe_balance' in losses and 'loss_cls' in losses
    assert all(torch.isfinite(v).all() for v in losses.values())
    trainable = {
        n.split('.')[0]
        for n, p in runner.model.named_parameters() if p.requires_grad
    }
    assert trainable == {'encoder', 'decoder', 'bbox_head'}


@pytest.mark.parametrize(
    'config',
    [
        'dynamic-dino_swin-t-n8k2_zeroshot_lvis-minival.py',
        'dynamic-dino_swin-t-n8k2_zeroshot_odinw13.py',
        'dynamic-dino_swin-t-n8k2_zeroshot_odinw35.py',
        ADAPT,  # test = the new data (cat) and COCO val2017, a metric each
    ])
def test_zero_shot_configs_read_their_layout_and_score_perfect_boxes_100_ap(
        config, tmp_path, monkeypatch):
    """``mim test``'s data path and metric, with ground truth as predictions.

    (The model's own forward is covered by the training step above; running
    it over 1203 LVIS names in 31 prompt chunks costs minutes on CPU.)
    """
    monkeypatch.chdir(tmp_path)
    cfg = cpu_step_cfg(osp.join(CONFIG_DIR, config), str(tmp_path / 'work'))
    write_layout_fixture(cfg.test_dataloader.dataset, num_images=2)
    loader = Runner.build_dataloader(cfg.test_dataloader)
    evaluator = (
        EVALUATOR.build(cfg.test_evaluator)  # as Runner does
        if 'metrics' in cfg.test_evaluator else Evaluator(cfg.test_evaluator))
    evaluator.dataset_meta = loader.dataset.metainfo
    for batch in loader:
        for sample in batch['data_samples']:
            # these test pipelines load boxes after resizing: they are in
            # original-image coordinates, as predictions must be
            gt = sample.gt_instances
            sample.pred_instances = InstanceData(
                bboxes=gt.bboxes.tensor,
                labels=gt.labels,
                scores=torch.ones(len(gt.labels)))
        evaluator.process(batch['data_samples'], batch)
    metrics = evaluator.evaluate(len(loader.dataset))
    if 'lvis' in config:
        assert metrics['lvis_fixed_ap/AP'] == pytest.approx(1.0)
    else:  # AP per ODinW dataset and their mean
        per_dataset = {
            k: v
            for k, v in metrics.items() if k.endswith('/coco/bbox_mAP')
        }
        splits = 13 if 'odinw13' in config else 35 if 'odinw35' in config \
            else 2
        assert len(per_dataset) == splits
        assert all(v == pytest.approx(1.0) for v in per_dataset.values())
