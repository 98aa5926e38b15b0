"""Measure a model at a speed-knob setting: AP, latency and FLOPs per image.

Used by tools/sweep_speed.py and tools/calibrate_speed.py (and the val
batches by the DynamicDet tools). Validation images are preprocessed once,
so the timings are inference only (``model.predict``, post-processing
included), on this device at the config's val batch size.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import io
import logging
import time
from typing import Any, Callable, Optional, Sequence

import torch
from mmdet.registry import METRICS
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .speed_knobs import apply_speed_knobs, current_speed_knobs
from .timing import synchronize


def preprocessed_val_batches(
        model: nn.Module,
        cfg: Config,
        max_images: Optional[int] = None,
        batch_size: Optional[int] = None) -> tuple[list, dict]:
    """The validation set preprocessed once, and its ``dataset_meta``.

    Args:
        max_images: stop after the batch that reaches this many images.
        batch_size: in place of ``cfg.val_dataloader.batch_size``.

    Returns:
        (batches, dataset_meta): each batch the data preprocessor's dict
        (``inputs`` (B, 3, H, W), ``data_samples``).
    """
    loader_cfg = copy.deepcopy(cfg.val_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    if batch_size is not None:
        loader_cfg.batch_size = batch_size
    loader = Runner.build_dataloader(loader_cfg)
    batches, seen = [], 0
    with torch.no_grad():
        for batch in loader:
            batches.append(model.data_preprocessor(batch, False))
            seen += len(batch['data_samples'])
            if max_images and seen >= max_images:
                break
    return batches, loader.dataset.metainfo


def first_images(batches: list, images: Optional[int]) -> list:
    """The first batches holding at least ``images`` images (all: None)."""
    if not images:
        return batches
    out, seen = [], 0
    for batch in batches:
        if seen >= images:
            break
        out.append(batch)
        seen += len(batch['data_samples'])
    return out


def at_setting(model: nn.Module, knobs: dict[str, Any],
               fn: Callable[[], Any]) -> Any:
    """``fn()`` with ``knobs`` set on ``model``; the old values restored."""
    saved = current_speed_knobs(model)
    apply_speed_knobs(model, knobs)
    try:
        return fn()
    finally:
        apply_speed_knobs(model, {
            k: v
            for k, v in saved.items() if k in knobs
        })


def mean_decoder_layers(layers: list) -> Optional[float]:
    """Mean of :func:`predict_all`'s per-image decoder layers (None for
    models without a decoder knob)."""
    ran = [n for n in layers if n is not None]
    return sum(ran) / len(ran) if ran else None


@torch.no_grad()
def predict_all(model: nn.Module, batches: list) -> tuple[list, list]:
    """Predictions of every image and the number of decoder layers each ran
    (None for models without a decoder knob), in input order."""
    preds, layers = [], []
    for batch in batches:
        samples = model.predict(batch['inputs'],
                                copy.deepcopy(batch['data_samples']))
        ran = getattr(model, 'last_decoder_layers', None)
        for i, sample in enumerate(samples):
            preds.append(
                dict(
                    sample.metainfo,  # what the metric reads: img_id, ...
                    pred_instances=dict(
                        bboxes=sample.pred_instances.bboxes.cpu(),
                        scores=sample.pred_instances.scores.cpu(),
                        labels=sample.pred_instances.labels.cpu())))
            layers.append(None if ran is None else int(ran[i]))
    return preds, layers


def build_val_metric(cfg: Config, dataset_meta: dict):
    """``cfg.val_evaluator``'s metric, built once for many evaluations."""
    metric = METRICS.build(copy.deepcopy(cfg.val_evaluator))
    metric.dataset_meta = dataset_meta
    return metric


def evaluate_predictions(metric, preds: list, quiet: bool = True) -> dict:
    """``metric``'s (:func:`build_val_metric`) results for ``preds`` (from
    :func:`predict_all`), on those images only; ``quiet`` keeps the COCO
    API's and the metric's printing out of the tool's output."""
    if hasattr(metric, 'img_ids'):  # CocoMetric: these images, not all
        metric.img_ids = [p['img_id'] for p in preds]
    metric.process({}, copy.deepcopy(preds))
    if not quiet:
        return metric.evaluate(len(preds))
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return metric.evaluate(len(preds))
    finally:
        logger.setLevel(level)


#: the metric that stands for "AP", in order of preference
AP_KEYS = ('coco/bbox_mAP', 'mean/coco/bbox_mAP')


def headline_ap(metrics: dict, key: Optional[str] = None) -> float:
    """``metrics[key]``, or the first of :data:`AP_KEYS` (then any key
    ending in ``bbox_mAP``); 0 when nothing was detected (CocoMetric then
    returns no keys)."""
    if key is not None:
        if metrics and key not in metrics:
            raise KeyError(f'metric {key!r} not in {sorted(metrics)}')
        return float(metrics.get(key, 0.0))
    for k in AP_KEYS + tuple(k for k in metrics if k.endswith('bbox_mAP')):
        if k in metrics:
            return float(metrics[k])
    return 0.0


#: ``predict(inputs, data_samples)``: what a timing runs on each batch
Predict = Callable[[torch.Tensor, list], Any]


@torch.no_grad()
def batch_seconds(model: nn.Module,
                  batches: list,
                  warmup: int = 1,
                  predict: Optional[Predict] = None) -> list[float]:
    """Seconds of ``predict`` (default ``model.predict``) on each of
    ``batches``, after ``warmup`` untimed batches."""
    predict = predict or model.predict
    for batch in batches[:warmup]:
        predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
    seconds = []
    for batch in batches:
        samples = copy.deepcopy(batch['data_samples'])
        synchronize(model)
        start = time.perf_counter()
        predict(batch['inputs'], samples)
        synchronize(model)
        seconds.append(time.perf_counter() - start)
    return seconds


def images_in(batches: list) -> int:
    """Number of images in ``batches`` (at least 1)."""
    return max(sum(len(b['data_samples']) for b in batches), 1)


def latency_ms(model: nn.Module, batches: list, warmup: int = 1) -> float:
    """Mean milliseconds per image of ``model.predict`` over ``batches``."""
    return 1000 * sum(batch_seconds(model, batches,
                                    warmup)) / images_in(batches)


def interleaved_seconds(
        runs: Sequence[Callable[[], list[float]]],
        repeats: int = 3,
        progress: Optional[Callable[[], None]] = None) -> list[float]:
    """Total seconds of each run (a callable timing its batches, e.g. a
    :func:`batch_seconds`): every run once per round, ``repeats`` rounds;
    each batch's fastest round is kept, so a burst of load from another
    process costs only the batches it hit, in the round it hit them, and
    biases no run against another."""
    rounds: list[list[list[float]]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, timed in zip(runs, rounds):
            timed.append(run())
            if progress is not None:
                progress()
    return [sum(map(min, zip(*timed))) for timed in rounds]


def interleaved_latencies(
        model: nn.Module,
        settings: Sequence[dict],
        batches: list,
        repeats: int = 3,
        progress: Optional[Callable[[], None]] = None) -> list[float]:
    """Ms per image at each knob setting, timed by
    :func:`interleaved_seconds` (each batch's fastest of ``repeats``
    interleaved rounds)."""
    runs = [
        functools.partial(at_setting, model, knobs,
                          functools.partial(batch_seconds, model, batches))
        for knobs in settings
    ]
    return [
        1000 * seconds / images_in(batches)
        for seconds in interleaved_seconds(runs, repeats, progress)
    ]


@torch.no_grad()
def mean_gflops(model: nn.Module, batches: list, images: int = 4) -> float:
    """Giga multiply-adds per image of ``model.predict`` (half of what
    torch's ``FlopCounterMode`` counts, so the same unit as mmengine's
    analyzer), counted while running each of the first ``images`` images
    alone: what ran for that image (skipped experts and decoder layers that
    did not run are not counted; ops without a FLOP formula, e.g. the
    deformable attention's ``grid_sample``, count 0 in every setting)."""
    total, counted = 0, 0
    for batch in batches:
        for i in range(len(batch['data_samples'])):
            if counted >= images:
                break
            with FlopCounterMode(display=False) as counter:
                model.predict(batch['inputs'][i:i + 1],
                              copy.deepcopy(batch['data_samples'][i:i + 1]))
            total += counter.get_total_flops()
            counted += 1
    return total / 2 / max(counted, 1) / 1e9
