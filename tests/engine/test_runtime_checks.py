"""Checks that stop a run before it crashes deep inside mmdet."""
from __future__ import annotations

import pytest
from mmengine.runner import Runner

import mmdet_dynmoe  # noqa: F401
from mmdet_dynmoe.engine.hooks.num_classes_check_hook import head_config_key
from helpers import tiny_cfg, tiny_dino_cfg


def test_more_classes_in_the_data_than_the_head_stops_training(
        tiny_synthetic, tmp_path):
    cfg = tiny_dino_cfg(tiny_synthetic, str(tmp_path))
    assert cfg.default_hooks.num_classes_check.type == 'NumClassesCheckHook'
    cfg.model.bbox_head.num_classes = 10  # the mixed split has 17
    runner = Runner.from_cfg(cfg)
    with pytest.raises(
            ValueError,
            match=r'the training data has 17 classes '
            r'but bbox_head predicts num_classes=10: set '
            r'model.bbox_head.num_classes=17'):
        runner.train()


def test_the_check_names_the_config_key_of_a_dynamicdet_head(
        tiny_synthetic, tmp_path):
    cfg = tiny_cfg(
        'dynamicdet/dynamicdet-faster-rcnn_r18-tiny_3e_'
        'synthetic-mixed.py', tiny_synthetic, str(tmp_path))
    cfg.model.roi_head.bbox_head.num_classes = 5
    runner = Runner.from_cfg(cfg)
    with pytest.raises(
            ValueError,
            match=r'detector1.roi_head.bbox_head '
            r'predicts num_classes=5: set '
            r'model.roi_head.bbox_head.num_classes=17'):
        runner.train()


def test_head_config_key_strips_dynamicdets_sub_detectors():
    assert head_config_key('bbox_head') == 'model.bbox_head.num_classes'
    assert head_config_key('detector2.bbox_head') == \
        'model.bbox_head.num_classes'
