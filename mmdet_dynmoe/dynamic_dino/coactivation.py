"""Which experts work together: partners and team sizes from co-activation.

Input is what :class:`mmdet_dynmoe.moe.RoutingStats` records for a layer:
``load`` (E,) tokens per expert and ``coactivation`` (E, E) tokens that used
both experts. For expert ``i`` the partner share of ``j`` is
``coactivation[i, j] / load[i]``: how often a token that used ``i`` also
used ``j``. A layer whose experts each keep one or two partners forms fixed
teams; one whose experts spread over many partners mixes freely.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mmdet_dynmoe.evaluation.seed_comparison import mean_std


@dataclass
class ExpertPartners:
    """Partners of one expert, most frequent first.

    Attributes:
        expert: index.
        load_share: fraction of the layer's routing slots it received.
        partners: ``(j, share)`` with share = P(uses j | uses expert).
        team_size: partners needed to cover ``coverage`` of its co-activations.
    """
    expert: int
    load_share: float
    partners: list[tuple[int, float]]
    team_size: int


def expert_partners(load: Tensor,
                    coactivation: Tensor,
                    coverage: float = 0.9) -> list[ExpertPartners]:
    """Partners of every expert of one layer (experts with no load skipped)."""
    load = load.double()
    co = coactivation.double().clone()
    co.fill_diagonal_(0)
    total = load.sum().clamp(min=1)
    result = []
    for i in range(len(load)):
        if load[i] == 0:
            continue
        shares = co[i] / load[i]
        order = torch.argsort(shares, descending=True)
        partners = [(int(j), float(shares[j])) for j in order if shares[j] > 0]
        mass = co[i][order].cumsum(0) / co[i].sum().clamp(min=1e-12)
        team = int((mass < coverage).sum()) + 1 if co[i].sum() > 0 else 0
        result.append(
            ExpertPartners(i, float(load[i] / total), partners, team))
    return result


def summarize_layer(load: Tensor,
                    coactivation: Tensor,
                    coverage: float = 0.9) -> dict:
    """Layer summary: mean team size, experts used, load balance.

    Returns:
        ``mean_team_size`` (load-weighted partners covering ``coverage`` of
        co-activations), ``experts_used``, ``max_load_share``.
    """
    experts = expert_partners(load, coactivation, coverage)
    weight = sum(e.load_share for e in experts) or 1.0
    return dict(
        mean_team_size=sum(e.team_size * e.load_share
                           for e in experts) / weight,
        experts_used=len(experts),
        max_load_share=max((e.load_share for e in experts), default=0.0))


def partners_table(layers: dict[str, dict],
                   coverage: float = 0.9,
                   top: int = 4) -> str:
    """Text table: per layer and expert, load share and main partners.

    Args:
        layers: ``{layer_name: RoutingStats.as_dict()}``.
    """
    lines = []
    for name, stats in layers.items():
        summary = summarize_layer(stats['load'], stats['coactivation'],
                                  coverage)
        lines.append(
            f'## {name}: {summary["experts_used"]} experts used, mean team '
            f'size {summary["mean_team_size"]:.2f} (partners covering '
            f'{coverage:.0%} of co-activations), max load share '
            f'{summary["max_load_share"]:.1%}')
        lines.append('| expert | load | team size | partners (P(partner | '
                     'expert)) |')
        lines.append('|---|---|---|---|')
        for e in expert_partners(stats['load'], stats['coactivation'],
                                 coverage):
            shown = ', '.join(f'e{j} {s:.0%}' for j, s in e.partners[:top])
            lines.append(f'| e{e.expert} | {e.load_share:.1%} | '
                         f'{e.team_size} | {shown} |')
        lines.append('')
    return '\n'.join(lines)


def team_size_table(runs: list[dict[str, dict]], names: list[str]) -> str:
    """Markdown table: each layer's mean team size per run and over runs.

    Args:
        runs: one ``{layer_name: summarize_layer(...)}`` per run (e.g. one
            per training seed), the same layers in each.
        names: a label per run (the column headers).

    Returns:
        One row per layer: the team size of every run, then mean +- sample
        std over the runs (a single run is labelled as one).
    """
    if len(runs) != len(names) or not runs:
        raise ValueError(f'{len(runs)} runs need as many names, got '
                         f'{len(names)}')
    layers = list(runs[0])
    lines = [
        '| layer | ' + ' | '.join(names) + ' | mean team size |',
        '|---|' + '---:|' * (len(names) + 1)
    ]
    for layer in layers:
        sizes = [run[layer]['mean_team_size'] for run in runs]
        if len(sizes) > 1:
            stats = mean_std(sizes)
            spread = f'{stats["mean"]:.2f} +- {stats["std"]:.2f} ' \
                f'({len(sizes)})'
        else:
            spread = f'{sizes[0]:.2f} (1 run)'
        lines.append(f'| {layer} | ' + ' | '.join(f'{v:.2f}' for v in sizes) +
                     f' | {spread} |')
    return '\n'.join(lines)
