"""One row of [0, 1] heatmaps with a shared colour bar (analysis tools)."""
from __future__ import annotations

from typing import Optional, Sequence, TypedDict

import numpy as np


class Panel(TypedDict, total=False):
    """One heatmap: ``values`` (R, K) in [0, 1], ``title``, and optional
    ``rows`` (R labels, shown on the left)."""
    values: Sequence[Sequence[float]]
    title: str
    rows: Optional[Sequence[str]]


def heatmap_row(
    panels: Sequence[Panel],
    path: str,
    xlabel: str,
    colorbar_label: str,
    ylabel: Optional[str] = None,
    panel_size: tuple[float, float] = (3.3, 3.0)
) -> str:
    """Draw ``panels`` side by side into the PNG ``path``.

    Args:
        panels: one dict per heatmap (see :class:`Panel`).
        path: output file.
        xlabel: label of every panel's x axis (e.g. ``'expert'``).
        colorbar_label: what the colours mean (e.g. ``'share of slots'``).
        ylabel: optional label of the first panel's y axis.
        panel_size: inches per panel (width, height).

    Returns:
        ``path``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if not panels:
        raise ValueError('heatmap_row: no panels to draw')
    fig, axes = plt.subplots(
        1,
        len(panels),
        squeeze=False,
        figsize=(panel_size[0] * len(panels), panel_size[1]))
    image = None
    for i, (ax, panel) in enumerate(zip(axes[0], panels)):
        values = np.asarray(panel['values'], dtype=float)
        image = ax.imshow(values, vmin=0, vmax=1, cmap='viridis')
        rows = panel.get('rows')
        if rows is not None:
            ax.set_yticks(range(len(rows)), rows)
        ax.set_xlabel(xlabel)
        if ylabel and i == 0:
            ax.set_ylabel(ylabel)
        ax.set_title(panel.get('title', ''), fontsize=9)
    fig.colorbar(image, ax=axes[0].tolist(), label=colorbar_label)
    fig.savefig(path, dpi=100, bbox_inches='tight')
    plt.close(fig)
    return path
