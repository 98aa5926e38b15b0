"""DifficultyRouter: how easy is an image, from backbone 1's features."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn


class DifficultyRouter(nn.Module):
    """DynamicDet's adaptive router (plain PyTorch).

    Global-average-pools every backbone-1 level, concatenates the pooled
    vectors (``d = sum(in_channels)``) and scores them with
    FC(d -> d / reduction) - ReLU - FC(-> 1) - sigmoid.

    Args:
        in_channels: channels of the levels it reads, e.g. (512, 1024, 2048).
        reduction: hidden width divisor (4 in the paper).

    ``forward(feats)`` returns the *easiness* score per image, (N,) in
    (0, 1): a high score means detector 1 suffices.
    """

    def __init__(self, in_channels: Sequence[int], reduction: int = 4) -> None:
        super().__init__()
        in_channels = tuple(int(c) for c in in_channels)
        if not in_channels or min(in_channels) <= 0:
            raise ValueError(f'DifficultyRouter: in_channels={in_channels} '
                             'must be one positive channel count per level')
        if reduction < 1:
            raise ValueError(
                f'DifficultyRouter: reduction={reduction} must be >= 1')
        self.in_channels = in_channels
        dims = sum(in_channels)
        hidden = max(dims // reduction, 1)
        self.fc1 = nn.Linear(dims, hidden)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """Easiness scores.

        Args:
            feats: one (N, C_i, H_i, W_i) tensor per level of
                ``in_channels``.

        Returns:
            (N,) scores in (0, 1).
        """
        if len(feats) != len(self.in_channels):
            raise ValueError(
                f'DifficultyRouter expects {len(self.in_channels)} levels '
                f'({self.in_channels} channels), got {len(feats)}')
        pooled = torch.cat([f.mean(dim=(2, 3)) for f in feats], dim=1)
        return self.fc2(self.act(self.fc1(pooled))).squeeze(1).sigmoid()
