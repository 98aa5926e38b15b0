"""Shared fixtures: a tiny synthetic dataset written once per test session."""
from __future__ import annotations

import os
import os.path as osp

import pytest

from mmdet_dynmoe.synthetic import SyntheticSpec, generate

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Tiny but covering every domain and the zero-shot split.
TINY_SPEC = SyntheticSpec(num_train=6, num_val=3, num_zeroshot=3)


@pytest.fixture(scope='session')
def tiny_synthetic(tmp_path_factory) -> str:
    """Data root of a tiny synthetic benchmark (seed 0)."""
    root = str(tmp_path_factory.mktemp('synthetic'))
    generate(root, TINY_SPEC, seed=0)
    return root


@pytest.fixture(autouse=True)
def mmdet_default_scope():
    """Build registry configs in the ``mmdet`` scope in every test.

    A Runner built by an earlier test leaves its own default scope (e.g.
    ``mmengine``) as the current one, which would make later
    ``DATASETS.build(...)`` calls depend on test order.
    """
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


@pytest.fixture
def in_repo_root(monkeypatch):
    """Run with the repository as working directory (configs use data/...)."""
    monkeypatch.chdir(REPO_ROOT)
    return REPO_ROOT


def tiny_dino_cfg(data_root: str, work_dir: str, ann_prefix: str = 'mixed'):
    """The demo config shrunk to a few iterations on ``data_root``."""
    return tiny_cfg('baseline/dino_r18-tiny_3e_synthetic-mixed.py', data_root,
                    work_dir, ann_prefix)


def tiny_cfg(config: str, data_root: str, work_dir: str,
             ann_prefix: str = 'mixed'):
    """``configs/<config>`` shrunk to a few iterations on ``data_root``."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    cfg.work_dir = work_dir
    for split, loader in (('train', cfg.train_dataloader),
                          ('val', cfg.val_dataloader),
                          ('val', cfg.test_dataloader)):
        loader.dataset.data_root = data_root
        loader.dataset.ann_file = f'annotations/{ann_prefix}_{split}.json'
        loader.batch_size = 2
        loader.num_workers = 0
        loader.persistent_workers = False
    for ev in (cfg.val_evaluator, cfg.test_evaluator):
        ev.ann_file = osp.join(data_root, 'annotations',
                               f'{ann_prefix}_val.json')
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=2)
    cfg.param_scheduler = []
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1,
                                        by_epoch=False)
    cfg.log_level = 'WARNING'
    return cfg


def load_tool(name: str):
    """The module ``tools/<name>.py`` (the tools are scripts, not a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO_ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_initialised_checkpoint(model_cfg, path: str) -> str:
    """Build ``model_cfg``, run its ``init_weights`` and save it as a
    checkpoint at ``path`` (what analysis tools load)."""
    import copy

    import torch

    from mmdet.registry import MODELS
    model = MODELS.build(copy.deepcopy(model_cfg))
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def pytest_configure(config):
    # Keep subprocess and in-process runs on the CPU and quiet.
    os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
