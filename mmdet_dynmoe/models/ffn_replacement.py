"""Replace the dense FFNs of a built model by MoEFFNs (by module path)."""
from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Callable, Sequence, Union

from mmcv.cnn.bricks.transformer import FFN
from mmdet.models.layers.transformer import (DetrTransformerDecoderLayer,
                                             DetrTransformerEncoderLayer)
from torch import nn

from mmdet_dynmoe.moe.config_checks import check_int
from .moe_ffn import MoEFFN
from .routing_loss_collector import attach_moe_aux_losses
from .token_masks import attach_token_masks


def find_ffns(model: nn.Module, patterns: Union[str,
                                                Sequence[str]]) -> list[str]:
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


def upcycle_ffns(model: nn.Module,
                 patterns: Union[str, Sequence[str]],
                 num_copies: int,
                 granularity: int,
                 collect_losses: bool = True,
                 **moe_kwargs) -> list[str]:
    """Upcycle the matching FFNs of ``model`` in place (weights copied).

    Each matching ``FFN`` becomes ``MoEFFN.from_dense(ffn, num_copies,
    granularity, **moe_kwargs)``, so the model's outputs do not change until
    it is trained; the model's ``loss()`` then also returns the routing
    losses (:func:`attach_moe_aux_losses`, unless ``collect_losses=False``).

    Args:
        model: a built model (e.g. a detector).
        patterns: module path pattern(s), see :func:`find_ffns`.
        num_copies, granularity, **moe_kwargs: see
            :meth:`MoEFFN.from_dense`.
        collect_losses: attach the forward-hook collector; False for a
            model that adds the routing losses in its own ``loss()`` (the
            MoE detectors).

    Returns:
        The replaced module paths.
    """
    return replace_ffns(
        model, patterns, lambda ffn: MoEFFN.from_dense(
            ffn, num_copies, granularity, **moe_kwargs), collect_losses)


def replace_ffns(model: nn.Module,
                 patterns: Union[str, Sequence[str]],
                 convert: Callable[[FFN], MoEFFN],
                 collect_losses: bool = True) -> list[str]:
    """Replace each FFN matching ``patterns`` by ``convert(ffn)`` in place,
    hand each MoEFFN its layer's padding / denoising masks
    (:func:`attach_token_masks`) and, with ``collect_losses``, make
    ``model.loss()`` return the routing losses (:func:`attach_moe_aux_losses`).

    A pre-norm MoEFFN (``pre_norm=True``) also replaces the norm its DETR
    layer applies after the FFN by an identity.

    Returns:
        The replaced module paths.
    """
    names = find_ffns(model, patterns)
    for name in names:
        parent_name, _, child = name.rpartition('.')
        parent = model.get_submodule(parent_name) if parent_name else model
        moe_ffn = convert(getattr(parent, child))
        moe_ffn.moe.name = name  # for its error messages
        setattr(parent, child, moe_ffn)
        if moe_ffn.pre_norm:
            _drop_post_norm(parent, name)
    if collect_losses:
        attach_moe_aux_losses(model)
    attach_token_masks(model)
    return names


def _drop_post_norm(layer: nn.Module, ffn_name: str) -> None:
    """Replace the norm after ``layer``'s FFN (its last) by an identity.

    mmdet's DETR-family layers (``DetrTransformerEncoderLayer`` /
    ``DecoderLayer`` and their Deformable, DINO and Grounding DINO
    subclasses) apply ``norms[-1]`` right after ``ffn``.
    """
    if not isinstance(
            layer, (DetrTransformerEncoderLayer, DetrTransformerDecoderLayer)):
        raise TypeError(
            f'MoEFFN pre_norm=True at {ffn_name}: its layer '
            f'{type(layer).__name__} is not an mmdet DETR encoder/decoder '
            'layer, so the norm after its FFN is unknown; use '
            'pre_norm=False there')
    layer.norms[-1] = nn.Identity()


#: ``moe_cfg`` ``where`` aliases (mmdet's DETR-family module paths).
WHERE_ALIASES = {
    'decoder': 'decoder.layers.*.ffn',
    'encoder': 'encoder.layers.*.ffn',
    'text_encoder': 'encoder.text_layers.*.ffn',  # Grounding DINO
}


def apply_moe_cfg(model: nn.Module,
                  moe_cfg: dict,
                  collect_losses: bool = True) -> list[str]:
    """Turn the FFNs that ``moe_cfg['where']`` names into MoEFFNs.

    Two forms:

    - upcycling (Dynamic-DINO): ``num_copies=N, granularity=k`` -> each FFN
      becomes ``MoEFFN.from_dense(ffn, N, k, **rest)`` (``N * k`` experts,
      top-k = k, same output as the FFN it replaces);
    - a fresh MoE: ``num_experts``, ``top_k`` and optionally
      ``granularity`` / ``expert_channels`` -> ``MoEFFN.like(ffn, ...)``:
      the FFN's dims, dropout, residual, activation and layer scale.

    Args:
        model: the built detector.
        moe_cfg: ``where`` (``'decoder'`` | ``'encoder'`` |
            ``'text_encoder'`` | fnmatch pattern(s) of module paths, default
            ``'decoder'``) plus the keys above and any other MoEFFN key.
        collect_losses: see :func:`upcycle_ffns`.

    Returns:
        The replaced module paths.
    """
    cfg = dict(moe_cfg)
    where = cfg.pop('where', 'decoder')
    where = [where] if isinstance(where, str) else list(where)
    if not where:
        raise ValueError(
            f'moe_cfg where={where} names no FFN: give '
            f'{sorted(WHERE_ALIASES)} or module path patterns (e.g. '
            "'decoder.layers.[0-2].ffn')")
    patterns = [WHERE_ALIASES.get(w, w) for w in where]
    for key in ('num_copies', 'granularity', 'num_experts', 'top_k',
                'expert_channels'):
        if key in cfg:
            check_int(f'moe_cfg {key}', cfg[key])
    if 'num_copies' in cfg:
        if 'num_experts' in cfg:
            raise ValueError('moe_cfg: give num_copies + granularity '
                             '(upcycling) or num_experts (fresh MoE), not '
                             'both')
        num_copies = cfg.pop('num_copies')
        granularity = cfg.pop('granularity', 1)
        return upcycle_ffns(model, patterns, num_copies, granularity,
                            collect_losses, **cfg)
    if 'num_experts' not in cfg:
        raise ValueError('moe_cfg needs num_copies + granularity (upcycling) '
                         f'or num_experts + top_k; got keys {sorted(moe_cfg)}')
    return replace_ffns(model, patterns, lambda ffn: MoEFFN.like(ffn, **cfg),
                        collect_losses)
