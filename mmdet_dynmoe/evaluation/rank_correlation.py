"""Rank correlation for routing reports (router score vs a target)."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (tied values share their mean rank).

    0.0 when either sequence is constant.
    """
    # Imported here: scipy comes with mmdet's requirements, but importing
    # the package (e.g. on a bare GPU image) should not need it.
    import scipy.stats

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(scipy.stats.spearmanr(x, y).statistic)
