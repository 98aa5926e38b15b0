"""DynamicDetReportHook: what a DynamicDet test run cost and how it routed."""
from __future__ import annotations

import time
from typing import Optional

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmdet_dynmoe.engine import synchronize
from mmdet_dynmoe.engine.speed_knobs import (apply_speed_knobs,
                                             find_speed_file, read_speed_file)
from mmdet_dynmoe.evaluation import spearman
from .dynamic_detector import unwrap
from .path_complexity import path_flops


@HOOKS.register_module()
class DynamicDetReportHook(Hook):
    """Adds routing, latency and FLOPs to the test metrics.

    Before testing it applies the calibrated threshold of the checkpoint
    (``<checkpoint stem>.speed.json`` of tools/calibrate_dynamicdet.py, the
    speed-knob file every calibration writes; see
    ``mmdet_dynmoe/engine/speed_knobs.py``) when one exists. After testing
    it adds to the metrics (and the log):

    - ``dynamicdet/hard_ratio``: fraction of images routed to detector 2;
    - ``dynamicdet/latency_ms``: mean time per image of the model's
      forward in predict mode (routing, both detectors' inference and
      post-processing; what tools/calibrate_dynamicdet.py times and its
      ``--target-latency`` means), synchronized on CUDA, after ``warmup``
      untimed batches as in the calibration;
    - ``dynamicdet/latency_wall_ms``: mean wall time per image of a whole
      test iteration (data preprocessing and ``metric.process`` too),
      data-loading workers running alongside, after the same warm-up;
    - ``dynamicdet/gflops_path1``, ``/gflops_path2`` and
      ``/gflops_mean``: FLOPs per image of each path (first test image's
      size) and their mean at the measured hard ratio;
    - ``dynamicdet/threshold`` and, when the images carry the generator's
      ``difficulty``, ``dynamicdet/spearman_easiness_difficulty`` (should be
      negative: the router calls difficult images hard).

    Args:
        calibration: ``'auto'`` (the file next to the loaded checkpoint),
            a path, or None to keep ``model.threshold``.
        flops: count FLOPs per path (one traced forward per path).
        warmup: first test batches left out of the latencies (the first
            calls at a new input shape set up kernels and allocations).
    """

    priority = 'NORMAL'

    def __init__(self,
                 calibration: Optional[str] = 'auto',
                 flops: bool = True,
                 warmup: int = 1) -> None:
        self.calibration = calibration
        self.flops = flops
        self.warmup = warmup

    def before_test(self, runner) -> None:
        model = unwrap(runner.model)
        path = find_speed_file(self.calibration, runner._load_from)
        if path:
            apply_speed_knobs(model, read_speed_file(path))
            print_log(
                f'DynamicDet: threshold {model.threshold:.4f} from {path}',
                logger='current')
        # [all batches, after the warm-up]: [wall s, predict s, images]
        self._timed = ([0.0, 0.0, 0], [0.0, 0.0, 0])
        self._predict_last = 0.0
        self._images = 0
        self._hard = 0
        self._scores: list[float] = []
        self._difficulty: list[float] = []
        self._path_flops: Optional[dict] = None
        self._handles = [
            model.register_forward_pre_hook(
                self._predict_start, with_kwargs=True),
            model.register_forward_hook(self._predict_end, with_kwargs=True)
        ]

    def _predict_start(self, module, args, kwargs) -> None:
        if kwargs.get('mode') == 'predict':
            synchronize(module)
            self._predict_begin = time.perf_counter()

    def _predict_end(self, module, args, kwargs, output) -> None:
        if kwargs.get('mode') == 'predict':
            synchronize(module)
            self._predict_last = time.perf_counter() - self._predict_begin

    def before_test_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None) -> None:
        synchronize(unwrap(runner.model))
        self._start = time.perf_counter()

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch=None,
                        outputs=None) -> None:
        synchronize(unwrap(runner.model))
        wall = time.perf_counter() - self._start
        # all batches, and those after the warm-up (reported unless a run
        # has only warm-up batches)
        for timed in self._timed[:1 if batch_idx < self.warmup else 2]:
            timed[0] += wall
            timed[1] += self._predict_last
            timed[2] += len(outputs or [])
        self._predict_last = 0.0
        for sample in outputs or []:
            self._images += 1
            self._hard += int(sample.routed_to == 2)
            self._scores.append(sample.router_score)
            if 'difficulty' in sample:
                self._difficulty.append(float(sample.difficulty))
        if self.flops and self._path_flops is None and data_batch:
            model = unwrap(runner.model)
            with torch.no_grad():
                data = model.data_preprocessor(data_batch, False)
                self._path_flops = path_flops(model, data['inputs'][:1],
                                              data['data_samples'][:1])

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        for handle in self._handles:
            handle.remove()
        if not self._images:
            return
        model = unwrap(runner.model)
        hard = self._hard / self._images
        seconds, predict_seconds, timed = \
            self._timed[1] if self._timed[1][2] else self._timed[0]
        report = {
            'dynamicdet/threshold': model.threshold,
            'dynamicdet/hard_ratio': hard,
            'dynamicdet/latency_ms': 1000 * predict_seconds / timed,
            'dynamicdet/latency_wall_ms': 1000 * seconds / timed,
        }
        if self._path_flops:
            g1, g2 = (self._path_flops[p] / 1e9 for p in (1, 2))
            report.update({
                'dynamicdet/gflops_path1': g1,
                'dynamicdet/gflops_path2': g2,
                'dynamicdet/gflops_mean': g1 + hard * (g2 - g1)
            })
        if len(self._difficulty) == self._images > 1:
            report['dynamicdet/spearman_easiness_difficulty'] = spearman(
                self._scores, self._difficulty)
        if metrics is not None:
            metrics.update(report)
        for key, value in report.items():
            runner.message_hub.update_scalar(f'test/{key}', value)
        print_log(
            'DynamicDet test report: ' + ', '.join(f'{k.split("/")[1]}={v:.4g}'
                                                   for k, v in report.items()),
            logger='current')
