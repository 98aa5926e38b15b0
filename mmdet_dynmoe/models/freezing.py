"""Freeze all parameters but the trainable ones (MoE-Tuning's split)."""
from __future__ import annotations

from collections import defaultdict
from fnmatch import fnmatchcase
from typing import Sequence

from torch import nn

from mmdet_dynmoe.moe import moe_layers

#: Pattern alias for every MoE layer of the model.
MOE_ALIAS = 'moe'


def expand_patterns(model: nn.Module, patterns: Sequence[str]) -> list[str]:
    """Resolve the ``'moe'`` alias to the MoE layers' parameter patterns."""
    out = []
    for pattern in patterns:
        if pattern == MOE_ALIAS:
            # MoELayer paths end in '.moe'; their MoEFFN owns all params.
            out += [
                name.rpartition('.')[0] + '.*' for name, _ in moe_layers(model)
            ] or [MOE_ALIAS]
        else:
            out.append(pattern)
    return out


def freeze_except(model: nn.Module, trainable: Sequence[str]) -> str:
    """Set ``requires_grad`` to match ``trainable`` fnmatch patterns.

    Args:
        model: the built model.
        trainable: patterns over parameter names (``'bbox_head.*'``,
            ``'encoder.fusion_layers.*'``) or ``'moe'`` for every MoE layer.

    Returns:
        A table of trainable vs frozen parameter counts per top-level module.

    Raises:
        ValueError: a pattern matches no parameter (names the pattern and
            the top-level modules).
    """
    names = [n for n, _ in model.named_parameters()]
    patterns = []
    for original in trainable:
        expanded = expand_patterns(model, [original])
        patterns += expanded
        if not any(fnmatchcase(n, p) for n in names for p in expanded):
            tops = sorted({n.split('.')[0] for n in names})
            raise ValueError(
                f'trainable pattern {original!r} matches no parameter of '
                f'{type(model).__name__}; top-level modules: {tops}' +
                (' (the model has no MoE layer)' if original ==
                 MOE_ALIAS else ''))
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for name, param in model.named_parameters():
        train = any(fnmatchcase(name, p) for p in patterns)
        param.requires_grad_(train)
        counts[name.split('.')[0]][0 if train else 1] += param.numel()
    return format_table(counts)


def format_table(counts: dict[str, list[int]]) -> str:
    """``| module | trainable | frozen |`` with a total row."""
    rows = [(k, *v) for k, v in counts.items()]
    rows.append(('total', sum(r[1] for r in rows), sum(r[2] for r in rows)))
    width = max(len(r[0]) for r in rows)
    lines = [
        f'| {"module":<{width}} | {"trainable":>11} | {"frozen":>11} |',
        f'|{"-" * (width + 2)}|{"-" * 13}|{"-" * 13}|'
    ]
    lines += [f'| {m:<{width}} | {t:>11,} | {f:>11,} |' for m, t, f in rows]
    return '\n'.join(lines)
