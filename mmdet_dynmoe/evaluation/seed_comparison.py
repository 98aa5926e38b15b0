"""Paired comparison over seeds: is a difference a gain, a loss, or noise?

Used where two methods are measured on the same seeds (e.g. a learned and a
random router on each seed's model): the per-seed differences are paired,
and a difference counts only when it exceeds the seeds' spread.
"""
from __future__ import annotations

import math
import statistics
from typing import Sequence

#: the verdicts of :func:`paired_comparison`
VERDICTS = ('gain', 'loss', 'no difference', 'one run')


def mean_std(values: Sequence[float]) -> dict:
    """``mean`` and sample ``std`` of the values (std 0.0 for one value)."""
    if not values:
        raise ValueError('mean_std: no values')
    return dict(
        mean=statistics.fmean(values),
        std=statistics.stdev(values) if len(values) > 1 else 0.0)


def paired_comparison(a: Sequence[float], b: Sequence[float]) -> dict:
    """``a - b`` per seed, summarised.

    Rule: with ``n >= 2`` seeds, the mean difference is a **gain** (or a
    **loss**) when its absolute value exceeds the sample standard deviation
    of the differences, else **no difference**; one seed is ``'one run'``
    (no conclusion). Also gives the paired t statistic
    ``mean / (std / sqrt(n))`` and its two-sided p-value (scipy) for
    readers who prefer a test.

    Args:
        a, b: one value per seed, the same seeds in the same order.

    Returns:
        ``mean``, ``std`` (0.0 for one seed), ``n``, ``t`` and ``p`` (None
        below 2 seeds or with zero spread), ``verdict``.
    """
    if len(a) != len(b) or not a:
        raise ValueError(f'paired_comparison: {len(a)} and {len(b)} values; '
                         'need the same seeds on both sides')
    diffs = [x - y for x, y in zip(a, b)]
    n = len(diffs)
    spread = mean_std(diffs)
    mean, std = spread['mean'], spread['std']
    t = p = None
    if n > 1 and std > 0:
        import scipy.stats  # mmdet's requirement; see rank_correlation.py
        t = mean / (std / math.sqrt(n))
        p = float(2 * scipy.stats.t.sf(abs(t), df=n - 1))
    if n == 1:
        verdict = 'one run'
    elif abs(mean) > std:
        verdict = 'gain' if mean > 0 else 'loss'
    else:
        verdict = 'no difference'
    return dict(mean=mean, std=std, n=n, t=t, p=p, verdict=verdict)
