"""Our components plug into stock mmdet/mim entry points through config."""
from __future__ import annotations

import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from helpers import REPO_ROOT, tiny_dino_cfg

DEMO_CFG = osp.join(REPO_ROOT, 'configs', 'baseline',
                    'dino_r18-tiny_3e_synthetic-mixed.py')


def test_import_registers_into_mmdet_registries():
    from mmdet.registry import DATASETS

    import mmdet_dynmoe  # noqa: F401
    from mmdet_dynmoe.datasets import SyntheticCocoDataset
    assert DATASETS.get('SyntheticCocoDataset') is SyntheticCocoDataset


def test_config_with_custom_imports_and_mmdet_base_builds_the_model():
    cfg = Config.fromfile(DEMO_CFG)  # runs custom_imports, resolves mmdet::
    assert cfg.custom_imports.imports == ['mmdet_dynmoe']
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'DINO'
    assert model.bbox_head.num_classes == 17  # the mixed split's categories


def test_demo_config_trains_and_evaluates_with_coco_metric(
        tiny_synthetic, tmp_path):
    from mmengine.runner import Runner
    cfg = tiny_dino_cfg(tiny_synthetic, str(tmp_path))
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0
    assert osp.isfile(osp.join(str(tmp_path), 'iter_2.pth'))


def _run(cmd: list[str], cwd: str) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


@pytest.mark.slow
def test_mim_train_plugin_package_and_mim_test_mmdet(tiny_synthetic, tmp_path):
    cfg = tiny_dino_cfg(tiny_synthetic, str(tmp_path / 'work'))
    cfg.log_level = 'INFO'  # the metrics are logged at INFO
    cfg_file = str(tmp_path / 'tiny_dino.py')
    cfg.dump(cfg_file)
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    # Our package as a mim codebase: runs mmdet_dynmoe/.mim/tools/train.py.
    _run([
        mim, 'train', 'mmdet_dynmoe', cfg_file, '--work-dir',
        str(tmp_path / 'work')
    ],
         cwd=str(tmp_path))
    ckpt = str(tmp_path / 'work' / 'iter_2.pth')
    assert osp.isfile(ckpt)
    # Stock mmdet codebase: custom_imports pulls us in.
    out = _run([
        mim, 'test', 'mmdet', cfg_file, '--checkpoint', ckpt, '--work-dir',
        str(tmp_path / 'test')
    ],
               cwd=str(tmp_path))
    assert 'coco/bbox_mAP' in out


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_our_tools_are_mmdet_tools(tool):
    out = _run(
        [sys.executable,
         osp.join(REPO_ROOT, 'tools', f'{tool}.py'), '--help'],
        cwd=REPO_ROOT)
    assert 'config' in out and '--cfg-options' in out
