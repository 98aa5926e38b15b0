"""A downstream project inherits our configs from a non-editable install."""
from __future__ import annotations

import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import mmdet_dynmoe
from helpers import REPO_ROOT

MOE_CONFIG = 'moe/moe-dino_r18-tiny-n4k2_3e_synthetic-mixed.py'

# The downstream config: one of ours as base; 2 copies instead of 4, the
# "night" domain (6 classes) instead of the mixed dataset, one iteration.
DOWNSTREAM_BODY = '''
model = dict(moe_cfg=dict(num_copies=2), bbox_head=dict(num_classes=6))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{data_root}/',
                 ann_file='annotations/night_train.json'))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=1,
                 val_interval=100)
val_cfg = None
val_dataloader = None
val_evaluator = None
param_scheduler = []
log_processor = dict(by_epoch=False)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=1))
'''
BASES = {
    # stock `mim train mmdet`: _base_ is an expression mmengine evaluates
    'stock': "_base_ = __import__('mmdet_dynmoe').config_file('{cfg}')\n",
    # our entry points: the mmdet_dynmoe:: scope
    'scope': "_base_ = 'mmdet_dynmoe::{cfg}'\n",
}


@pytest.fixture(scope='module')
def installed_wheel(tmp_path_factory) -> str:
    """``pip install --target`` of a wheel built from a copy of the repo."""
    tmp = tmp_path_factory.mktemp('wheel')
    src = tmp / 'src'
    shutil.copytree(
        REPO_ROOT,
        src,
        symlinks=False,
        ignore=shutil.ignore_patterns('.git', '.venv', 'data', 'work_dirs',
                                      '.mim', '__pycache__', '*.egg-info',
                                      'build', 'dist', '.pytest_cache'))
    py = sys.executable
    subprocess.run([
        py, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q',
        '-w',
        str(tmp / 'dist'),
        str(src)
    ],
                   check=True,
                   capture_output=True)
    wheel = next((tmp / 'dist').glob('mmdet_dynmoe-*.whl'))
    target = tmp / 'site'
    subprocess.run([
        py, '-m', 'pip', 'install', '--no-deps', '-q', '--target',
        str(target),
        str(wheel)
    ],
                   check=True,
                   capture_output=True)
    return str(target)


def _env(site: str) -> dict:
    env = dict(os.environ, PYTHONPATH=site, CUDA_VISIBLE_DEVICES='')
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    return env


def _run(cmd: list[str], cwd: str, env: dict) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def test_the_wheel_ships_our_configs(installed_wheel):
    shipped = osp.join(installed_wheel, 'mmdet_dynmoe', '.mim', 'configs',
                       MOE_CONFIG)
    assert osp.isfile(shipped) and not osp.islink(shipped)


@pytest.mark.slow
@pytest.mark.parametrize('style,command', [
    ('stock', ['mim', 'train', 'mmdet']),
    ('scope', ['mim', 'train', 'mmdet_dynmoe']),
])
def test_downstream_config_overrides_experts_and_dataset_and_trains(
        installed_wheel, tiny_synthetic, tmp_path, style, command):
    project = tmp_path / 'my_project'
    (project / 'configs').mkdir(parents=True)
    cfg_file = project / 'configs' / 'my_moe_dino.py'
    cfg_file.write_text(BASES[style].format(cfg=MOE_CONFIG) +
                        DOWNSTREAM_BODY.format(data_root=tiny_synthetic))
    env = _env(installed_wheel)
    where = _run([
        sys.executable, '-c',
        'import mmdet_dynmoe; print(mmdet_dynmoe.__file__)'
    ], str(project), env)
    assert where.strip().startswith(installed_wheel)  # not the editable one
    work_dir = tmp_path / 'work'
    out = _run(command + [str(cfg_file), '--work-dir',
                          str(work_dir)], str(project), env)
    assert 'loss_moe_balance' in out
    ckpt = torch.load(
        work_dir / 'iter_1.pth', map_location='cpu', weights_only=False)
    router = ckpt['state_dict']['decoder.layers.0.ffn.moe.router.gate.weight']
    assert router.shape == (2 * 2, 256)  # num_copies=2, granularity=2
    assert ckpt['state_dict']['bbox_head.cls_branches.0.bias'].shape == (6, )


def test_unknown_config_path_lists_the_config_folders(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text("_base_ = 'mmdet_dynmoe::dynamic_dinoo/x.py'\n")
    with pytest.raises(
            FileNotFoundError,
            match=r"dynamic_dinoo/x\.py does not exist; available "
            r"config folders: \[.*'baseline'.*'moe'"):
        Config.fromfile(str(bad))
    with pytest.raises(FileNotFoundError, match=r"configs in moe/: \["):
        mmdet_dynmoe.config_file('moe/nope.py')
