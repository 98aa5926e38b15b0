"""The router objective of DynamicDet and the running median it needs."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


def router_loss(score: Tensor, loss1: Tensor, loss2: Tensor,
                offset: Tensor | float) -> Tensor:
    """DynamicDet's router loss, averaged over the images.

    ``score * (L1 - D/2) + (1 - score) * (L2 + D/2)``: with the detection
    losses fixed, it pushes ``score`` up (easy, detector 1) where
    ``L1 - L2 < D`` and down (hard, detector 2) elsewhere; the offset ``D``
    (the median of ``L1 - L2``) splits the training images half and half
    instead of sending every image to the stronger detector 2.

    Args:
        score: (N,) router scores in (0, 1), with gradient.
        loss1: (N,) per-image detection loss of detector 1 (detached).
        loss2: (N,) per-image detection loss of detector 2 (detached).
        offset: the scalar ``D``.

    Returns:
        The scalar loss.
    """
    loss1, loss2 = loss1.detach(), loss2.detach()
    half = offset / 2
    return (score * (loss1 - half) + (1 - score) * (loss2 + half)).mean()


class RunningMedian(nn.Module):
    """The median of every value seen so far, kept in a buffer.

    The history lives in the ``history`` buffer, so it is saved with the
    checkpoint and a resumed step-2 run continues with the same ``D``
    (loading resizes the buffer to the checkpoint's length).

    Note: under DDP each rank keeps the values of its own shard of the data.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer('history', torch.zeros(0))

    def __len__(self) -> int:
        return self.history.numel()

    @torch.no_grad()
    def update(self, values: Tensor) -> Tensor:
        """Append ``values`` (any shape, flattened) and return the median."""
        values = values.detach().flatten().to(self.history)
        self.history = torch.cat([self.history, values])
        return self.median()

    def median(self) -> Tensor:
        """The median (lower middle for an even count); 0 when empty."""
        if not len(self):
            return self.history.new_zeros(())
        return self.history.median()

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        key = prefix + 'history'
        if key in state_dict:  # the saved history has its own length
            self.history = torch.empty_like(
                state_dict[key], device=self.history.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
