"""configs/dynamic_dino/*3domains* and *adapt*: the fine-tuning-without-
forgetting study. Step 1 trains on three domains, each prompted with its own
names; every adapt arm tunes on the fourth; validation scores every split."""
from __future__ import annotations

import copy

import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.runner import Runner

import mmdet_dynmoe  # noqa: F401
from helpers import REPO_ROOT

STEP1 = 'dynamic_dino/grounding-dino_r18-tiny_3e_synthetic-3domains.py'
FULL = 'dynamic_dino/grounding-dino_r18-tiny-adapt-full_2e_synthetic-night.py'
SPLIT = ('dynamic_dino/'
         'grounding-dino_r18-tiny-adapt-split_2e_synthetic-night.py')
MOE = 'dynamic_dino/dynamic-dino_r18-tiny-n4k2-adapt_2e_synthetic-night.py'
SPLITS = ['studio', 'street', 'paper', 'night', 'zeroshot']


def _cfg(config: str, data_root: str, work_dir: str, monkeypatch) -> Config:
    """``config`` read on ``data_root`` (the configs' environment variable),
    shrunk to two-image batches and a few iterations."""
    monkeypatch.setenv('DYNMOE_SYNTHETIC_ROOT', data_root.rstrip('/') + '/')
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/{config}')
    cfg.work_dir = work_dir
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader):
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=2, val_interval=100)
    cfg.param_scheduler = []
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=2, by_epoch=False)
    cfg.log_level = 'WARNING'
    return cfg


def test_step1_prompts_each_old_domain_with_its_own_names(
        tiny_synthetic, tmp_path, monkeypatch):
    cfg = _cfg(STEP1, tiny_synthetic, str(tmp_path), monkeypatch)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert [d.ann_file.rsplit('/', 1)[1] for d in train.datasets] == [
        'studio_train.json', 'street_train.json', 'paper_train.json'
    ]
    for sub, start in zip(train.datasets, [0, *train.cumulative_sizes]):
        sample = train[start]['data_samples']
        assert tuple(sample.text) == sub.metainfo['classes']
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert [d.ann_file.rsplit('/', 1)[1]
            for d in val.datasets] == [f'{s}_val.json' for s in SPLITS]
    adapt = _cfg(FULL, tiny_synthetic, str(tmp_path), monkeypatch)
    assert adapt.train_dataloader.dataset.ann_file.endswith('night_train.json')


@pytest.fixture(scope='module')
def step1(tiny_synthetic, tmp_path_factory):
    """Step 1 trained two iterations: (checkpoint, validation metrics)."""
    work = str(tmp_path_factory.mktemp('step1'))
    with pytest.MonkeyPatch.context() as mp:
        runner = Runner.from_cfg(_cfg(STEP1, tiny_synthetic, work, mp))
    runner.train()
    return f'{work}/iter_2.pth', runner.val_loop.run()


def _trainable(model) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


@pytest.mark.slow
def test_step1_validation_scores_every_split_in_its_own_label_space(step1):
    _, metrics = step1
    for split in SPLITS:
        assert 0 <= metrics[f'{split}/coco/bbox_mAP'] <= 1


@pytest.mark.slow
def test_adapt_arms_train_what_they_say_from_the_step1_checkpoint(
        step1, tiny_synthetic, tmp_path, monkeypatch):
    ckpt, _ = step1
    split = MODELS.build(
        _cfg(SPLIT, tiny_synthetic, str(tmp_path), monkeypatch).model)
    assert split.moe_ffn_names == []
    assert all(
        n.startswith(('bbox_head.', 'encoder.fusion_layers.')) or (
            n.startswith('decoder.layers.') and '.ffn.' in n)
        for n in _trainable(split))
    cfg = _cfg(MOE, tiny_synthetic, str(tmp_path), monkeypatch)
    cfg.load_from = ckpt
    cfg.train_cfg.max_iters = 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model
    assert len(model.moe_ffn_names) == 3
    assert _trainable(model) == {
        n
        for n, _ in model.named_parameters()
        if n.startswith(('bbox_head.',
                         'encoder.fusion_layers.')) or '.ffn.moe.' in n
    }
    step1_weights = torch.load(
        ckpt, map_location='cpu', weights_only=False)['state_dict']
    # frozen parts keep step 1's weights, the head has moved on
    for name, param in model.named_parameters():
        if name.startswith('backbone.'):
            assert torch.equal(param.detach(), step1_weights[name])
    head = next(n for n in _trainable(model) if n.startswith('bbox_head.'))
    assert not torch.equal(
        model.get_parameter(head).detach(), step1_weights[head])
    # the study's three arms build from the same files
    MODELS.build(
        copy.deepcopy(
            _cfg(FULL, tiny_synthetic, str(tmp_path), monkeypatch).model))
