"""StaticPathsValLoop: validate detector 1 and detector 2 of a DynamicDet.

Step 1 trains both detectors jointly and its router is untrained, so the
question a step-1 validation answers is "how good is each detector, and is
detector 2 the stronger one?". This loop answers it in one pass over the
val set: every batch is predicted twice, once with every image sent to
detector 1 (threshold 0) and once with every image sent to detector 2
(threshold 1), each into its own evaluator.

Metrics (for every key ``k`` of the config's evaluator): ``d1/k``, ``d2/k``
and, for numeric values, ``d2-d1/k`` (the per-run difference, so a seeds
table of it is a paired comparison). Nothing unprefixed: the routed model is
what step 2 validates, with mmengine's ``ValLoop``.
"""
from __future__ import annotations

import copy
import numbers
from typing import Sequence, Union

import torch
from mmdet.registry import LOOPS
from mmengine.evaluator import Evaluator
from mmengine.runner import ValLoop
from mmengine.runner.amp import autocast
from torch.utils.data import DataLoader

from .dynamic_detector import unwrap

#: path -> the threshold that sends every image to it
PATH_THRESHOLDS = {1: 0.0, 2: 1.0}


@LOOPS.register_module()
class StaticPathsValLoop(ValLoop):
    """mmengine's ``ValLoop`` for DynamicDet step 1: both static paths.

    Args:
        runner: the runner.
        dataloader: the val dataloader (or its config).
        evaluator: the val evaluator (or its config); a copy scores each
            path.
        fp16: as ``ValLoop``.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, dict],
                 evaluator: Union[Evaluator, dict, list],
                 fp16: bool = False) -> None:
        template = copy.deepcopy(evaluator)
        super().__init__(runner, dataloader, evaluator, fp16)
        self.path_evaluators = {1: self.evaluator}
        second = runner.build_evaluator(template) if isinstance(
            template, (dict, list)) else template
        second.dataset_meta = self.evaluator.dataset_meta
        self.path_evaluators[2] = second

    def run(self) -> dict:
        """Validate both paths; returns the prefixed metrics."""
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        model = unwrap(self.runner.model)
        threshold = model.threshold
        try:
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter(idx, data_batch)
        finally:
            model.threshold = threshold
        size = len(self.dataloader.dataset)
        per_path = {
            path: evaluator.evaluate(size)
            for path, evaluator in self.path_evaluators.items()
        }
        metrics = {
            f'd{path}/{key}': value
            for path, values in per_path.items()
            for key, value in values.items()
        }
        for key, value in per_path[2].items():
            first = per_path[1].get(key)
            if isinstance(value, numbers.Number) and isinstance(
                    first, numbers.Number):
                metrics[f'd2-d1/{key}'] = value - first
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: Sequence[dict]) -> None:
        """Predict one batch on each path; hooks see detector 2's outputs."""
        self.runner.call_hook(
            'before_val_iter', batch_idx=idx, data_batch=data_batch)
        model = unwrap(self.runner.model)
        outputs = None
        for path, evaluator in self.path_evaluators.items():
            # predict writes into the batch's samples: each path its own copy
            batch = copy.deepcopy(data_batch) if path == 1 else data_batch
            model.threshold = PATH_THRESHOLDS[path]
            with autocast(enabled=self.fp16):
                outputs = self.runner.model.val_step(batch)
            evaluator.process(data_samples=outputs, data_batch=batch)
        self.runner.call_hook(
            'after_val_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
