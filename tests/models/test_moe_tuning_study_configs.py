"""configs/moe/*_tune-3e*: the MoE-Tuning study's four arms on plain DINO
differ only in what they train and in the experts."""
from __future__ import annotations

import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.runner import load_checkpoint

import mmdet_dynmoe  # noqa: F401
from helpers import (assert_same_val_predictions, save_initialised_checkpoint,
                     tiny_cfg)

FULL = 'moe/dino_r18-tiny_tune-3e-full_synthetic-mixed.py'
SPLIT = 'moe/dino_r18-tiny_tune-3e-split_synthetic-mixed.py'
N4 = 'moe/moe-dino_r18-tiny-n4k2_tune-3e_synthetic-mixed.py'
N8 = 'moe/moe-dino_r18-tiny-n8k2_tune-3e_synthetic-mixed.py'


def _trainable(model) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


def _build(config, data_root, work_dir):
    cfg = tiny_cfg(config, data_root, work_dir)
    return cfg, MODELS.build(copy.deepcopy(cfg.model))


def test_the_arms_train_everything_the_split_or_the_moe_split(
        tiny_synthetic, tmp_path):
    _, full = _build(FULL, tiny_synthetic, str(tmp_path))
    assert _trainable(full) == {n for n, _ in full.named_parameters()}
    _, split = _build(SPLIT, tiny_synthetic, str(tmp_path))
    assert split.moe_ffn_names == []
    assert _trainable(split) == {
        n
        for n, _ in split.named_parameters() if n.startswith('bbox_head.') or (
            n.startswith('decoder.layers.') and '.ffn.' in n)
    }
    for config, experts in ((N4, 8), (N8, 16)):
        _, moe = _build(config, tiny_synthetic, str(tmp_path))
        assert len(moe.moe_ffn_names) == 3  # every decoder layer
        ffn = moe.get_submodule(moe.moe_ffn_names[0])
        assert ffn.moe.experts.w1.shape[0] == experts
        # the same parameters as the split's, the FFNs now MoE layers
        assert _trainable(moe) == {
            n
            for n, _ in moe.named_parameters()
            if n.startswith('bbox_head.') or '.ffn.moe.' in n
        }


@pytest.mark.parametrize('config', [N4, N8])
def test_moe_tuning_starts_at_the_dense_checkpoints_predictions(
        config, tiny_synthetic, tmp_path):
    dense_cfg, dense = _build(FULL, tiny_synthetic, str(tmp_path))
    torch.manual_seed(0)
    ckpt = save_initialised_checkpoint(dense_cfg.model,
                                       str(tmp_path / 'dense.pth'))
    load_checkpoint(dense, ckpt, strict=True)
    moe_cfg, moe = _build(config, tiny_synthetic, str(tmp_path))
    load_checkpoint(moe, ckpt, strict=True)
    assert_same_val_predictions(dense, dense_cfg, moe, moe_cfg)
