"""TrainingDataCheckHook: say how many boxes training really sees."""
from __future__ import annotations

import json
import math
import os.path as osp
from collections import Counter
from typing import Any, Iterator, Optional

from mmdet.registry import HOOKS
from mmengine.hooks import Hook


def leaf_datasets(dataset: Any) -> Iterator[Any]:
    """The datasets that hold data lists, inside mixtures and wrappers."""
    if hasattr(dataset, 'datasets'):  # ConcatDataset, DatasetMixture
        for child in dataset.datasets:
            yield from leaf_datasets(child)
    elif hasattr(dataset, 'dataset') and not hasattr(dataset, 'data_list'):
        yield from leaf_datasets(dataset.dataset)  # Repeat/ClassBalanced
    else:
        yield dataset


def dropped_coco_annotations(ann_file: str,
                             cat_ids: Optional[set] = None) -> Counter:
    """Why annotations of a COCO file cannot become training boxes.

    Counts, per reason, the non-crowd annotations that mmdet's
    ``CocoDataset`` drops without a word: ``'unknown category'`` (not one
    of ``cat_ids``), ``'non-finite coordinates'``, ``'empty box'`` (w or h
    < 1, or area <= 0), ``'outside the image'``; and ``'total'``.
    """
    with open(ann_file) as f:
        coco = json.load(f)
    images = {img['id']: img for img in coco.get('images', [])}
    counts: Counter = Counter()
    for ann in coco.get('annotations', []):
        if ann.get('iscrowd', 0):
            continue
        counts['total'] += 1
        x, y, w, h = (float(v) for v in ann.get('bbox', (0, 0, 0, 0)))
        img = images.get(ann.get('image_id'), {})
        width, height = img.get('width', math.inf), img.get('height', math.inf)
        if cat_ids is not None and ann.get('category_id') not in cat_ids:
            counts['unknown category'] += 1
        elif not all(math.isfinite(v) for v in (x, y, w, h)):
            counts['non-finite coordinates'] += 1
        elif w < 1 or h < 1 or ann.get('area', w * h) <= 0:
            counts['empty box'] += 1
        elif min(x + w, width) - max(x, 0) <= 0 or \
                min(y + h, height) - max(y, 0) <= 0:
            counts['outside the image'] += 1
    return counts


@HOOKS.register_module()
class TrainingDataCheckHook(Hook):
    """Before training, count the boxes each training dataset yields.

    mmdet drops annotations it cannot use (unknown category ids, NaN
    coordinates, empty boxes, boxes outside the image) and images without
    boxes (``filter_cfg``) silently; a training set that ends with no box at
    all trains on background only (DINO) or crashes far away (two-stage
    detectors: ``need at least one array to concatenate``). This hook logs,
    once per dataset, the boxes kept and the annotations dropped by reason
    (COCO files), and warns when a dataset has no box or drops more than
    ``max_dropped`` of its annotations.

    Cost: once before training it reads every data info and, for a COCO
    file, parses the file again (the dataset keeps no raw annotations):
    seconds on the synthetic benchmark, tens of seconds and the file's size
    in memory on COCO train2017.

    Args:
        max_dropped: the share of dropped annotations above which it warns.
    """

    priority = 'LOW'

    def __init__(self, max_dropped: float = 0.05) -> None:
        if not 0 <= max_dropped <= 1:
            raise ValueError(f'TrainingDataCheckHook: max_dropped='
                             f'{max_dropped} must lie in [0, 1]')
        self.max_dropped = max_dropped

    def before_train(self, runner) -> None:
        for dataset in leaf_datasets(runner.train_dataloader.dataset):
            self.check(dataset, runner.logger)

    def check(self, dataset: Any, logger) -> None:
        """Log (and warn about) what ``dataset`` yields for training."""
        name = getattr(dataset, 'ann_file', None) or type(dataset).__name__
        boxes = images = 0
        for i in range(len(dataset)):
            instances = dataset.get_data_info(i).get('instances', [])
            kept = sum(1 for inst in instances
                       if not inst.get('ignore_flag', 0))
            boxes += kept
            images += 1
        message = f'training data {name}: {boxes} boxes in {images} images'
        dropped, lost = Counter(), 0
        ann_file = getattr(dataset, 'ann_file', None)
        if ann_file and ann_file.endswith('.json') and osp.isfile(ann_file):
            cat_ids = set(getattr(dataset, 'cat_ids', []) or []) or None
            dropped = dropped_coco_annotations(ann_file, cat_ids)
            lost = sum(v for k, v in dropped.items() if k != 'total')
            if dropped['total']:
                reasons = ', '.join(f'{v} {k}' for k, v in dropped.items()
                                    if k != 'total' and v)
                message += (f'; dropped {lost} of {dropped["total"]} '
                            f'annotations' + (f' ({reasons})' if lost else ''))
        if boxes == 0:
            logger.warning(f'{message}: the training set has NO boxes; check '
                           'ann_file, the category ids and filter_cfg')
        elif dropped['total'] and lost / dropped['total'] > self.max_dropped:
            logger.warning(f'{message} (more than {self.max_dropped:.0%})')
        else:
            logger.info(message)
