"""Variable-speed inference: latency target -> hard ratio -> threshold.

The router sends image ``n`` to detector 2 when ``score_n < threshold``, so
the mean latency per image is ``lat1 + k * (lat2 - lat1)`` for a hard ratio
``k``; these functions invert that for a target latency and turn ``k`` into
the threshold that sends exactly that fraction of a set of images to
detector 2. Measured latency is not exactly linear in ``k`` (the hard
subset runs as a smaller batch, and a smaller batch costs more per image):
:func:`hard_ratio_for_latency_curve` inverts a piecewise-linear curve through
timed ratios instead, which the calibration tool refines with each timing.
"""
from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np
import torch
from torch import Tensor


def check_threshold(threshold: float) -> float:
    """``threshold`` as a float; raises unless it lies in [0, 1]."""
    value = float(threshold)
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise ValueError(
            f'DynamicDet threshold={threshold!r} must lie in [0, 1] '
            '(0: every image to detector 1, 1: every image to detector 2)')
    return value


def route_hard(scores: Tensor, threshold: float) -> Tensor:
    """Which images go to detector 2.

    Args:
        scores: (N,) easiness scores in [0, 1].
        threshold: in [0, 1]; 0 sends none, 1 sends all (also a saturated
            score of exactly 1.0).

    Returns:
        (N,) bool, True for hard images.
    """
    threshold = check_threshold(threshold)
    if threshold >= 1.0:
        return torch.ones_like(scores, dtype=torch.bool)
    return scores < threshold


def hard_ratio_for_latency_curve(target: float, anchors: dict[float,
                                                              float]) -> float:
    """The hard ratio whose latency is ``target`` on a measured curve.

    Args:
        target: wanted latency per image.
        anchors: ``{hard ratio: measured latency}``, at least the two ends
            (0 and 1); latency is taken as non-decreasing in the ratio
            (a dip from timing noise is flattened).

    Returns:
        The ratio in [0, 1], piecewise linear between the anchors (with
        only the two ends: :func:`hard_ratio_for_latency` without its
        warning); clamped to the ends outside their range.
    """
    ratios, lats = zip(*sorted(anchors.items()))
    lats = np.maximum.accumulate(np.asarray(lats, dtype=float))
    return float(np.interp(target, lats, ratios))


def hard_ratio_for_latency(target: float, lat1: float, lat2: float) -> float:
    """``k = (target - lat1) / (lat2 - lat1)``, clamped to [0, 1].

    Args:
        target: wanted mean latency per image (any unit, same as lat1/2).
        lat1: latency per image of the detector-1 path.
        lat2: latency per image of the detector-2 path (both backbones).

    Warns when ``target`` lies outside [lat1, lat2] and says what it clamped
    to. Raises when lat2 <= lat1 (nothing to trade).
    """
    if not lat2 > lat1:
        raise ValueError(
            f'the detector-2 path (lat2={lat2:.3f}) must be slower than the '
            f'detector-1 path (lat1={lat1:.3f}) to trade speed for accuracy')
    ratio = (target - lat1) / (lat2 - lat1)
    if not 0.0 <= ratio <= 1.0:
        clamped = min(max(ratio, 0.0), 1.0)
        warnings.warn(
            f'target latency {target:.3f} is outside [lat1, lat2] = '
            f'[{lat1:.3f}, {lat2:.3f}] measured on this device: clamped the '
            f'hard ratio {ratio:.3f} to {clamped:.0f} (every image to '
            f'detector {1 if clamped == 0 else 2})')
        ratio = clamped
    return ratio


def threshold_for_hard_ratio(scores: Sequence[float] | Tensor,
                             ratio: float) -> float:
    """The threshold sending a fraction ``ratio`` of ``scores`` to detector 2.

    With the scores sorted ascending, the ``m = round(ratio * N)`` lowest go
    to detector 2: the threshold is the m-th smallest score (1.0 when
    ``m = N``), so ``route_hard(scores, threshold).sum() == m`` when the
    scores are distinct.

    Args:
        scores: (N,) easiness scores of a calibration set (e.g. val).
        ratio: wanted hard ratio in [0, 1].
    """
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f'hard ratio {ratio!r} must lie in [0, 1]')
    scores = torch.as_tensor(scores, dtype=torch.float64).flatten()
    if not scores.numel():
        raise ValueError('threshold_for_hard_ratio needs at least one score')
    num_hard = round(ratio * scores.numel())
    if num_hard >= scores.numel():
        return 1.0
    threshold = float(scores.sort().values[num_hard])
    reached = int((scores < threshold).sum())
    if reached != num_hard:
        tied = int((scores == threshold).sum())
        warnings.warn(
            f'{tied} of {scores.numel()} images share the router score '
            f'{threshold:.6g}: the threshold sends {reached} '
            f'({reached / scores.numel():.1%}) to detector 2 instead of '
            f'{num_hard} ({ratio:.1%}); tied scores cannot be split (a '
            f'router that outputs one value for most images has collapsed)')
    return threshold
