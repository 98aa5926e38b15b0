"""How a dataset-aware MoE routes each dataset's tokens (DAMEX analysis)."""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import Tensor


def expert_load_by_dataset(
        records: Sequence[dict],
        datasets: Sequence[str]) -> tuple[list[str], Tensor]:
    """Routing slots per expert summed over each dataset's images.

    Args:
        records: per-image routing records (``'load'``: (E,) slots per
            expert), in the order of ``datasets``.
        datasets: the dataset name of each image.

    Returns:
        ``(names, load)``: dataset names in first-seen order and a (D, E)
        tensor of slot counts.
    """
    if len(records) != len(datasets):
        raise ValueError(f'{len(records)} routing records for '
                         f'{len(datasets)} images (run on one process)')
    names = list(dict.fromkeys(datasets))
    load = torch.zeros(
        len(names),
        len(records[0]['load']) if records else 0,
        dtype=torch.float64)
    for record, name in zip(records, datasets):
        load[names.index(name)] += record['load'].double()
    return names, load


def routing_purity(
        names: Sequence[str], load: Tensor,
        dataset_experts: Mapping[str, Sequence[int]]) -> dict[str, float]:
    """Share of each dataset's routing slots that went to its own expert(s).

    Args:
        names: dataset names (rows of ``load``).
        load: (D, E) slot counts.
        dataset_experts: ``{name: [expert, ...]}``.

    Returns:
        ``{name: purity in [0, 1]}`` plus ``'mean'``.
    """
    purity = {}
    for row, name in zip(load, names):
        own = list(dataset_experts[name])
        purity[name] = float(row[own].sum() / row.sum().clamp(min=1))
    purity['mean'] = sum(purity.values()) / max(len(names), 1)
    return purity


def top_expert_share(names: Sequence[str], load: Tensor) -> dict[str, float]:
    """Share of each dataset's routing slots taken by its busiest expert.

    Defined without a dataset -> expert map, so it also measures whether a
    plain MoE learned dataset structure: 1 when every dataset has an expert
    of its own to itself, ``1 / E`` for routing spread evenly. A DAMEX model's
    :func:`routing_purity` is at most this.

    Args:
        names: dataset names (rows of ``load``).
        load: (D, E) slot counts.

    Returns:
        ``{name: share in [0, 1]}`` plus ``'mean'``.
    """
    share = {
        name: float(row.max() / row.sum().clamp(min=1))
        for row, name in zip(load, names)
    }
    share['mean'] = sum(share.values()) / max(len(names), 1)
    return share
