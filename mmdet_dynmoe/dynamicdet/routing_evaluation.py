"""Offline evaluation of DynamicDet's routing: latency, AP per hard ratio.

Used by tools/calibrate_dynamicdet.py and tools/sweep_dynamicdet.py. Both
paths run once on every validation image; since batched dynamic inference
returns exactly the chosen detector's per-image result (pinned by
tests/dynamicdet/test_dynamicdet.py), the AP at any threshold is the AP of the
per-image choice between the two stored results.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence

import torch
from mmdet.registry import METRICS
from mmdet.structures.bbox import scale_boxes
from mmengine.config import Config

from mmdet_dynmoe.engine import load_model
from mmdet_dynmoe.engine.speed_measurement import interleaved_latencies
from .calibration import route_hard
from .dynamic_detector import DynamicDetector


def load_dynamic_detector(
        config: str,
        checkpoint: Optional[str],
        cfg_options: Optional[dict] = None,
        device: str = 'cpu') -> tuple[DynamicDetector, Config]:
    """The model of ``config`` with ``checkpoint`` loaded, in eval mode."""
    model, cfg, _ = load_model(config, checkpoint, cfg_options, device)
    if not isinstance(model, DynamicDetector):
        raise TypeError(f'{config}: model type={cfg.model.type!r} is not a '
                        'DynamicDetector')
    return model, cfg


@torch.no_grad()
def val_router_scores(
        model: DynamicDetector,
        batches: list,
        progress: Optional[Callable[[], None]] = None) -> torch.Tensor:
    """(N,) router easiness of every image of ``batches`` (preprocessed),
    in order; ``progress`` is called after each batch."""
    scores = []
    for batch in batches:
        scores.append(
            model.router_scores(model.backbone.forward_first(batch['inputs'])))
        if progress is not None:
            progress()
    return torch.cat(scores)


def measure_threshold_latencies(
        model: DynamicDetector,
        batches: list,
        thresholds: Sequence[float],
        repeats: int = 3,
        progress: Optional[Callable[[], None]] = None) -> list[float]:
    """Ms per image of ``model.predict`` at each threshold: every threshold
    timed once per round, ``repeats`` rounds, the fastest of each kept
    (``interleaved_latencies`` of ``engine/speed_measurement.py``; the
    threshold is a speed knob). ``progress`` is called after each timing."""
    return interleaved_latencies(model,
                                 [dict(threshold=t) for t in thresholds],
                                 batches, repeats, progress)


def measure_path_latencies(
        model: DynamicDetector,
        batches: list,
        repeats: int = 3,
        progress: Optional[Callable[[], None]] = None) -> tuple[float, float]:
    """(lat1, lat2): ms per image of the all-detector-1 / all-detector-2
    runs (see :func:`measure_threshold_latencies`)."""
    lat1, lat2 = measure_threshold_latencies(model, batches, (0.0, 1.0),
                                             repeats, progress)
    return lat1, lat2


@dataclass
class PathResults:
    """Both paths' predictions and the router score of every image."""
    img_ids: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    difficulty: list = field(default_factory=list)
    hard: list = field(default_factory=list)  # the generator's band flag
    samples: list = field(default_factory=list)  # metainfo for the metric
    preds: dict = field(default_factory=lambda: {1: [], 2: []})

    @property
    def score_tensor(self) -> torch.Tensor:
        return torch.tensor(self.scores)


@torch.no_grad()
def run_both_paths(
        model: DynamicDetector,
        batches: list,
        progress: Optional[Callable[[], None]] = None) -> PathResults:
    """Detector 1 and detector 2 on every image, with the router scores
    (``progress`` called after each batch)."""
    out = PathResults()
    saved = model.threshold
    try:
        for batch in batches:
            for path, threshold in ((1, 0.0), (2, 1.0)):
                model.threshold = threshold
                samples = model.predict(batch['inputs'],
                                        copy.deepcopy(batch['data_samples']))
                out.preds[path] += [s.pred_instances.cpu() for s in samples]
            for sample in samples:
                out.img_ids.append(sample.img_id)
                out.scores.append(sample.router_score)
                out.difficulty.append(sample.metainfo.get('difficulty'))
                out.hard.append(sample.metainfo.get('hard'))
                out.samples.append(
                    dict(img_id=sample.img_id, ori_shape=sample.ori_shape))
            if progress is not None:
                progress()
    finally:
        model.threshold = saved
    return out


@torch.no_grad()
def per_image_loss_gaps(
        model: DynamicDetector,
        batches: list,
        progress: Optional[Callable[[],
                                    None]] = None) -> Optional[torch.Tensor]:
    """(N,) ``L1 - L2`` of every image: what the router is trained to rank.

    The per-image detection losses of detector 1 and 2 (as in step 2, BN in
    eval mode) on the ground truth the test pipeline loaded; a large gap
    means detector 2 gains much on that image. Ranking images by it is the
    *oracle* router of the step-2 objective. ``None`` when the samples carry
    no ground truth (a test pipeline without ``LoadAnnotations``).

    Args:
        model: the dynamic detector, in eval mode.
        batches: preprocessed batches (``preprocessed_val_batches`` in
            ``mmdet_dynmoe/engine/speed_measurement.py``).
        progress: called after each batch.
    """
    gaps = []
    for batch in batches:
        samples = copy.deepcopy(batch['data_samples'])
        if not all('gt_instances' in s and 'bboxes' in s.gt_instances
                   for s in samples):
            return None
        for sample in samples:  # test pipelines keep boxes in image scale
            gt = sample.gt_instances
            gt.bboxes = scale_boxes(gt.bboxes, sample.scale_factor)
        _, loss1, loss2 = model.per_image_path_losses(batch['inputs'], samples)
        gaps.append(loss1 - loss2)
        if progress is not None:
            progress()
    return torch.cat(gaps).cpu()


def evaluate_choice(cfg: Config,
                    dataset_meta: dict,
                    results: PathResults,
                    hard: Iterable[bool],
                    subset: Optional[Iterable[bool]] = None) -> dict:
    """``cfg.val_evaluator``'s metrics when image i uses path 2 iff hard[i].

    Args:
        subset: when given, only the images i with ``subset[i]`` are
            evaluated (e.g. one difficulty band).
    """
    metric_cfg = copy.deepcopy(cfg.val_evaluator)
    metric = METRICS.build(metric_cfg)
    metric.dataset_meta = dataset_meta
    hard = list(hard)
    keep = [True] * len(hard) if subset is None else list(subset)
    data_samples = []
    for i, is_hard in enumerate(hard):
        if not keep[i]:
            continue
        pred = results.preds[2 if is_hard else 1][i]
        data_samples.append(
            dict(
                results.samples[i],
                pred_instances=dict(
                    bboxes=pred.bboxes, scores=pred.scores,
                    labels=pred.labels)))
    if hasattr(metric, 'img_ids'):  # CocoMetric: these images, not all
        metric.img_ids = [sample['img_id'] for sample in data_samples]
    metric.process({}, data_samples)
    return metric.evaluate(len(data_samples))


def hard_mask(results: PathResults, threshold: float) -> list[bool]:
    """Which images the router sends to detector 2 at ``threshold``."""
    return route_hard(results.score_tensor, threshold).tolist()


def largest_fraction(values: torch.Tensor, ratio: float) -> list[bool]:
    """Mask of the ``round(ratio * N)`` largest of ``values`` (N,)."""
    mask = torch.zeros(len(values), dtype=torch.bool)
    mask[values.argsort(descending=True)[:round(ratio * len(values))]] = True
    return mask.tolist()
