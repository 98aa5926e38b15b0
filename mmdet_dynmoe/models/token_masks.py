"""Tell an MoEFFN which of its tokens are padding or denoising queries.

mmdet's DETR layers call ``self.ffn(query)`` with a ``(B, N, C)`` batch and
nothing else, while the masks that say which tokens are real sit in the
layer's own call:

- encoder layers (``DetrTransformerEncoderLayer`` and subclasses) receive
  ``key_padding_mask`` (B, N), True at padded image positions: those tokens
  are not routed or computed (``valid``);
- DINO-style decoder layers receive ``self_attn_mask`` (N, N), True where a
  query may not look: the denoising queries are the columns the last
  (matching) query may not see. They are routed like any token but must not
  shape an image's scene summary (``context``): they carry noised ground
  truth in training and do not exist at test time.

A forward pre-hook on the enclosing layer reads those masks and hands them
to its MoEFFN for that one call.
"""
from __future__ import annotations

from typing import Any, Optional

from mmdet.models.layers.transformer import (DetrTransformerDecoderLayer,
                                             DetrTransformerEncoderLayer)
from torch import Tensor, nn

from .moe_ffn import MoEFFN


def _masks_from_call(
        layer: nn.Module, args: tuple,
        kwargs: dict[str, Any]) -> tuple[Optional[Tensor], Optional[Tensor]]:
    """``(valid, context)`` for this call of ``layer``, each (B, N) or None."""
    query = kwargs.get('query', args[0] if args else None)
    if query is None or query.dim() != 3:
        return None, None
    if isinstance(layer, DetrTransformerEncoderLayer):
        padding = kwargs.get('key_padding_mask')
        return (None if padding is None else ~padding.bool()), None
    if isinstance(layer, DetrTransformerDecoderLayer):
        attn_mask = kwargs.get('self_attn_mask')
        if attn_mask is None or attn_mask.dim() != 2:
            return None, None
        context = ~attn_mask[-1].bool()  # what a matching query may see
        return None, context.unsqueeze(0).expand(query.shape[0], -1)
    return None, None


def _pre_hook(layer: nn.Module, args: tuple, kwargs: dict) -> None:
    valid, context = _masks_from_call(layer, args, kwargs)
    for child in layer.children():
        if isinstance(child, MoEFFN):
            child.set_token_masks(valid, context)


def attach_token_masks(model: nn.Module) -> int:
    """Hook every layer that holds an MoEFFN (once per layer).

    Returns:
        The number of layers hooked by this call.
    """
    hooked = 0
    for module in model.modules():
        if getattr(module, '_moe_token_masks_hooked', False):
            continue
        if any(isinstance(c, MoEFFN) for c in module.children()):
            module.register_forward_pre_hook(_pre_hook, with_kwargs=True)
            module._moe_token_masks_hooked = True
            hooked += 1
    return hooked
