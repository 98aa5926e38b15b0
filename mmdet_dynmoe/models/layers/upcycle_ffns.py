"""Replace the dense FFNs of a built model by upcycled MoEFFNs."""
from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Sequence, Union

from mmcv.cnn.bricks.transformer import FFN
from torch import nn

from ..moe_aux_losses import attach_moe_aux_losses
from .moe_ffn import MoEFFN


def find_ffns(model: nn.Module,
              patterns: Union[str, Sequence[str]]) -> list[str]:
    """Names of the mmcv ``FFN`` modules matching any ``fnmatch`` pattern.

    Patterns match the full module path, e.g. ``'decoder.layers.*.ffn'`` or
    ``'decoder.layers.[3-5].ffn'``.

    Raises:
        ValueError: a pattern matches no FFN; the message lists the FFN
            paths that exist.
    """
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    ffns = [n for n, m in model.named_modules() if isinstance(m, FFN)]
    for pattern in patterns:
        if not any(fnmatchcase(n, pattern) for n in ffns):
            shown = ffns[:8] + (['...'] if len(ffns) > 8 else [])
            raise ValueError(f'FFN pattern {pattern!r} matches no FFN of '
                             f'{type(model).__name__}; its FFNs are: {shown}')
    return [n for n in ffns if any(fnmatchcase(n, p) for p in patterns)]


def upcycle_ffns(model: nn.Module, patterns: Union[str, Sequence[str]],
                 num_copies: int, granularity: int, **moe_kwargs) -> list[str]:
    """Upcycle the matching FFNs of ``model`` in place (weights copied).

    Each matching ``FFN`` becomes ``MoEFFN.from_dense(ffn, num_copies,
    granularity, **moe_kwargs)``, so the model's outputs do not change until
    it is trained; the model's ``loss()`` then also returns the routing
    losses (:func:`attach_moe_aux_losses`).

    Args:
        model: a built model (e.g. a detector).
        patterns: module path pattern(s), see :func:`find_ffns`.
        num_copies, granularity, **moe_kwargs: see
            :meth:`MoEFFN.from_dense`.

    Returns:
        The replaced module paths.
    """
    names = find_ffns(model, patterns)
    for name in names:
        parent_name, _, child = name.rpartition('.')
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child,
                MoEFFN.from_dense(getattr(parent, child), num_copies,
                                  granularity, **moe_kwargs))
    attach_moe_aux_losses(model)
    return names
