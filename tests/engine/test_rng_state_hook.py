"""Kill + --resume equals the uninterrupted run (weights and losses)."""
from __future__ import annotations

import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmdet_dynmoe  # noqa: F401
from helpers import tiny_cfg


class _Losses(Hook):
    """The logged losses of every training iteration."""

    def __init__(self) -> None:
        self.rows: dict[int, dict] = {}

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        self.rows[runner.iter + 1] = {k: float(v) for k, v in outputs.items()}


def _run(data_root, work_dir, max_iters, resume=False, rng_hook=True):
    cfg = tiny_cfg('moe/moe-dino_r18-tiny-n4k2_3e_synthetic-mixed.py',
                   data_root, work_dir)
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=max_iters,
        val_interval=4)  # validation at the checkpoint
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=4, by_epoch=False)
    if not rng_hook:
        cfg.default_hooks.pop('rng_state')
    cfg.resume = resume
    runner = Runner.from_cfg(cfg)
    losses = _Losses()
    runner.register_hook(losses)
    runner.train()
    state = {k: v.clone() for k, v in runner.model.state_dict().items()}
    return state, losses.rows


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_kill_and_resume_equals_the_uninterrupted_run(tiny_synthetic,
                                                      tmp_path):
    full, full_losses = _run(tiny_synthetic, str(tmp_path / 'full'), 8)
    # "killed" after iter_4.pth, then --resume (auto) in the same work dir
    part = str(tmp_path / 'part')
    _run(tiny_synthetic, part, 4)
    assert osp.isfile(osp.join(part, 'iter_4.pth'))
    resumed, resumed_losses = _run(tiny_synthetic, part, 8, resume=True)
    assert sorted(resumed_losses) == [5, 6, 7, 8]
    for it in (5, 6, 7, 8):
        assert resumed_losses[it] == full_losses[it], it
    assert _same(resumed, full)
    # without the hook the resumed run draws other numbers (the control
    # that makes this test able to fail)
    plain = str(tmp_path / 'plain')
    _run(tiny_synthetic, plain, 4, rng_hook=False)
    drifted, _ = _run(tiny_synthetic, plain, 8, resume=True, rng_hook=False)
    assert not _same(drifted, full)
