"""Routing statistics for analysis: expert load and co-activation.

Off by default; a layer with statistics off pays one boolean check.
Counts are kept as int64 tensors on the routing device and only moved to
the host when read.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .token_layout import TokenLayout


class RoutingStats:
    """Accumulates which experts tokens use and which fire together.

    Attributes:
        enabled: Whether :meth:`update` records anything.
        per_image: Also keep one record per image (leading batch index).
        load: (E,) slots routed to each expert.
        coactivation: (E, E) number of tokens that used both experts ``i``
            and ``j`` (diagonal: tokens that used ``i``).
        num_tokens: tokens seen.
        images: per-image records ``{'load': (E,), 'coactivation': (E, E),
            'num_tokens': int}`` (plus ``'groups': (g,)`` under a
            hierarchical router) in call order (``per_image`` only).
    """

    def __init__(self, num_experts: int) -> None:
        self.num_experts = num_experts
        self.enabled = False
        self.per_image = False
        self.reset()

    def enable(self, per_image: bool = False) -> None:
        """Start recording (resets the counts)."""
        self.enabled = True
        self.per_image = per_image
        self.reset()

    def disable(self) -> None:
        self.enabled = False

    def reset(self) -> None:
        self.load: Optional[Tensor] = None
        self.coactivation: Optional[Tensor] = None
        self.num_tokens = 0
        self.images: list[dict] = []

    @torch.no_grad()
    def update(self,
               indices: Tensor,
               layout: Optional[TokenLayout] = None,
               keep: Optional[Tensor] = None,
               groups: Optional[Tensor] = None) -> None:
        """Record one routing decision.

        Args:
            indices: (T, k) experts chosen per token.
            layout: image of each token; needed for per-image records.
            keep: optional (T, k) bool; dropped slots are not counted.
            groups: optional (I, g) expert groups a scene router chose per
                image, kept in the per-image records.
        """
        if not self.enabled:
            return
        one_hot = F.one_hot(indices, self.num_experts)  # (T, k, E)
        if keep is not None:
            one_hot = one_hot * keep.unsqueeze(-1)
        chosen = one_hot.sum(1)  # (T, E) in {0, 1}: top-k picks distinct
        load = chosen.sum(0)
        co = chosen.t() @ chosen
        if self.load is None:
            self.load, self.coactivation = load, co
        else:
            self.load += load
            self.coactivation += co
        self.num_tokens += indices.shape[0]
        if self.per_image:
            if layout is None:
                raise ValueError('per-image statistics need the tokens\' '
                                 'layout (batched (B, N, C) input)')
            for img in range(layout.num_images):
                mine = chosen[layout.image_index == img]
                record = dict(
                    load=mine.sum(0).cpu(),
                    coactivation=(mine.t() @ mine).cpu(),
                    num_tokens=mine.shape[0])
                if groups is not None:
                    record['groups'] = groups[img].cpu()
                self.images.append(record)

    def as_dict(self) -> dict:
        """Host copies: ``load``, ``coactivation``, ``num_tokens``,
        ``images``."""
        zeros = torch.zeros(self.num_experts, dtype=torch.long)
        return dict(
            load=zeros if self.load is None else self.load.cpu(),
            coactivation=(torch.zeros(
                self.num_experts, self.num_experts, dtype=torch.long)
                          if self.coactivation is None else
                          self.coactivation.cpu()),
            num_tokens=self.num_tokens,
            images=list(self.images))
