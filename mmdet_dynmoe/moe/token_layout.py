"""TokenLayout: which image each routed token belongs to.

Detection transformers hand an FFN a ``(B, N, C)`` batch: the tokens of
image ``b`` are row ``b``, and in encoder layers some of them are padding
(``key_padding_mask``). Routers that look beyond one token (a scene router
summarising an image) and losses with per-image targets (dataset-aware
routing) need that structure once the tokens are flattened to ``(T, C)``.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from torch import Tensor


class TokenLayout(NamedTuple):
    """Image membership of ``T`` flattened tokens.

    Attributes:
        image_index: (T,) int64, the image of each token, in ``[0, I)``.
        num_images: ``I``.
        context: optional (T,) bool, the tokens that may shape their
            image's summary (e.g. not DETR denoising queries); None = all.
    """
    image_index: Tensor
    num_images: int
    context: Optional[Tensor] = None

    @classmethod
    def from_batch(cls, batch_size: int, tokens_per_image: int,
                   device: torch.device) -> 'TokenLayout':
        """Layout of a flattened ``(B, N, C)`` batch (row-major)."""
        index = torch.arange(
            batch_size, device=device).repeat_interleave(tokens_per_image)
        return cls(index, batch_size)

    def select(self, keep: Tensor) -> 'TokenLayout':
        """The layout of the tokens where ``keep`` (T,) bool is True."""
        return TokenLayout(
            self.image_index[keep], self.num_images,
            None if self.context is None else self.context[keep])

    def image_mean(self, x: Tensor) -> Tensor:
        """Per-image mean of the context tokens' features.

        Args:
            x: (T, C) features of this layout's tokens.

        Returns:
            (I, C) fp32 means; an image without context tokens gets zeros.
        """
        x = x.float()
        images = torch.arange(self.num_images, device=x.device)
        member = (self.image_index.unsqueeze(0) == images.unsqueeze(1)).to(
            x.dtype)  # (I, T)
        if self.context is not None:
            member = member * self.context.to(x.dtype)
        # A matmul instead of index_add/bincount: deterministic on CUDA and
        # free of host syncs.
        sums = member @ x
        counts = member.sum(1, keepdim=True).clamp(min=1)
        return sums / counts


def flatten_tokens(
    x: Tensor,
    valid: Optional[Tensor] = None,
    context: Optional[Tensor] = None
) -> tuple[Tensor, TokenLayout, Optional[Tensor]]:
    """Flatten ``(B, N, C)`` or ``(T, C)`` tokens and drop invalid ones.

    Args:
        x: (B, N, C) batched tokens, or (T, C) tokens of one image.
        valid: optional bool mask of real tokens, (B, N) or (T,); padding
            (False) is neither routed nor computed.
        context: optional bool mask, same shape, of the tokens that may
            shape their image's summary (see :class:`TokenLayout`).

    Returns:
        ``(tokens, layout, keep)``: the (T', C) valid tokens, their
        layout, and the (B*N,) / (T,) mask that selected them (None when
        every token is valid).
    """
    if x.dim() == 3:
        layout = TokenLayout.from_batch(x.shape[0], x.shape[1], x.device)
    else:
        layout = TokenLayout(
            torch.zeros(x.shape[0], dtype=torch.long, device=x.device), 1)
    flat = x.reshape(-1, x.shape[-1])
    for name, mask in (('valid', valid), ('context', context)):
        if mask is not None and mask.shape != x.shape[:-1]:
            raise ValueError(f'{name} mask of shape {tuple(mask.shape)} does '
                             f'not match tokens {tuple(x.shape[:-1])}')
    if context is not None:
        layout = layout._replace(context=context.reshape(-1).bool())
    if valid is None:
        return flat, layout, None
    keep = valid.reshape(-1).bool()
    return flat[keep], layout.select(keep), keep
