"""Which expert groups a scene router picks for the images of each domain.

Input: the per-image records of a hierarchical MoE layer's
:class:`~mmdet_dynmoe.moe.RoutingStats` (``record['groups']``: the groups
the image's scene router kept) and each image's domain label.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import torch
from torch import Tensor


def group_usage_by_domain(records: Sequence[dict], domains: Sequence[str],
                          num_groups: int) -> tuple[list[str], Tensor]:
    """Share of each domain's images whose scene router kept each group.

    Args:
        records: per-image routing records with a ``'groups'`` (g,) tensor,
            in the same order as ``domains``.
        domains: the domain of each image.
        num_groups: ``G``.

    Returns:
        ``(names, usage)``: the sorted domain names and a (D, G) tensor,
        ``usage[d, j]`` = fraction of domain ``d``'s images that kept
        group ``j`` (each row sums to ``g``).
    """
    if len(records) != len(domains):
        raise ValueError(f'{len(records)} routing records for '
                         f'{len(domains)} images: the val loop and the '
                         'dataset disagree (run on one process)')
    names = sorted(set(domains))
    usage = torch.zeros(len(names), num_groups, dtype=torch.float64)
    count = Counter(domains)
    for record, domain in zip(records, domains):
        if 'groups' not in record:
            raise ValueError('a routing record has no scene groups: the '
                             'layer is not routed by a HierarchicalRouter '
                             'with per-image groups')
        usage[names.index(domain), record['groups']] += 1
    usage /= torch.tensor([count[n] for n in names],
                          dtype=torch.float64).unsqueeze(1)
    return names, usage


def domain_separation(usage: Tensor) -> float:
    """Mean total-variation distance between domains' group usage rows,
    normalised to [0, 1]: 0 = every domain uses the groups alike, 1 =
    domains use disjoint groups."""
    rows = usage / usage.sum(1, keepdim=True).clamp(min=1e-12)
    num = rows.shape[0]
    if num < 2:
        return 0.0
    dist = (rows.unsqueeze(0) - rows.unsqueeze(1)).abs().sum(-1) / 2
    return float(dist.sum() / (num * (num - 1)))
