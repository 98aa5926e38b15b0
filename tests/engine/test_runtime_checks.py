"""Checks that stop a run before it crashes deep inside mmdet."""
from __future__ import annotations

import pytest
from mmengine.runner import Runner

import mmdet_dynmoe  # noqa: F401
from mmdet_dynmoe.engine.hooks.num_classes_check_hook import head_config_key
from helpers import synthetic_dataset, tiny_cfg, tiny_dino_cfg


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


class _Logger:

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, msg: str) -> None:
        self.lines.append(('info', msg))

    def warning(self, msg: str) -> None:
        self.lines.append(('warning', msg))


def _edited_copy(src: str, dst: str, edit) -> str:
    """``src`` copied to ``dst`` with ``edit(coco)`` applied to its
    studio_train.json; returns that file's path."""
    import json
    import shutil
    shutil.copytree(src, dst)
    path = f'{dst}/annotations/studio_train.json'
    with open(path) as f:
        coco = json.load(f)
    edit(coco)
    with open(path, 'w') as f:
        json.dump(coco, f)
    return path


def _check(root: str, max_dropped: float = 0.05) -> list:
    from mmdet_dynmoe.engine import TrainingDataCheckHook
    logger = _Logger()
    TrainingDataCheckHook(max_dropped).check(
        synthetic_dataset(root, 'annotations/studio_train.json'), logger)
    return logger.lines


def test_dropped_annotations_are_counted_by_reason_and_warned(
        tiny_synthetic, tmp_path):
    root = str(tmp_path / 'copy')
    counts = {}

    def spoil(coco):
        anns = coco['annotations']
        anns[0]['category_id'] = 999
        anns[1]['bbox'][2] = float('nan')
        anns[2]['bbox'][0] = 10_000.0  # right of every image
        counts['total'] = len(anns)

    _edited_copy(tiny_synthetic, root, spoil)
    ((level, msg), ) = _check(root)
    total = counts['total']
    assert level == 'warning'  # 3 of a few dozen: more than 5 %
    assert f'{total - 3} boxes' in msg
    assert (f'dropped 3 of {total} annotations (1 unknown category, '
            '1 non-finite coordinates, 1 outside the image)') in msg
    assert _check(root, max_dropped=0.5)[0][0] == 'info'


def test_a_training_set_without_boxes_is_warned_about(tiny_synthetic,
                                                      tmp_path):
    from mmdet_dynmoe.engine import TrainingDataCheckHook
    path = _edited_copy(tiny_synthetic, str(tmp_path / 'copy'),
                        lambda coco: coco.update(annotations=[]))
    ((level, msg), ) = _check(str(tmp_path / 'copy'))
    assert level == 'warning' and 'NO boxes' in msg and path in msg
    with pytest.raises(ValueError, match='max_dropped=2'):
        TrainingDataCheckHook(max_dropped=2)
