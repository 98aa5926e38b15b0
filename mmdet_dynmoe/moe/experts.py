"""The experts' weights and their math.

All ``E`` experts are two-layer MLPs ``x -> act(x @ w1[e] + b1[e]) @ w2[e]``
whose weights are stacked into single parameters. Stacking is what lets the
grouped kernels run, and it also keeps every expert in the autograd graph of
every step (one ``w1`` parameter, used as soon as any token is routed), so
DDP needs no ``find_unused_parameters`` for experts that got no token.

The output bias is not per expert: :class:`~mmdet_dynmoe.moe.layer.MoELayer`
adds one shared bias after combining experts, which is what makes a dense
FFN split into fine-grained slices sum back exactly.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def grouped_mm_available() -> bool:
    """Whether this torch has ``grouped_mm`` (2.9+; CPU and CUDA)."""
    return hasattr(F, 'grouped_mm') or hasattr(torch, '_grouped_mm')


def _grouped_mm(a: Tensor, b: Tensor, offs: Tensor) -> Tensor:
    """(M, K) x (G, K, N) with row groups ending at ``offs`` -> (M, N)."""
    if hasattr(F, 'grouped_mm'):
        return F.grouped_mm(a, b, offs=offs)
    return torch._grouped_mm(a, b, offs=offs)


class GroupedExperts(nn.Module):
    """``num_experts`` MLPs ``embed_dims -> hidden_channels -> embed_dims``.

    Args:
        num_experts: Number of experts ``E``.
        embed_dims: Input/output size ``C``.
        hidden_channels: Hidden size ``H`` of one expert.
        activation: Element-wise activation module (e.g. ``nn.ReLU()``).
        dropout: Dropout after the activation (mmcv FFN's ``ffn_drop``).

    Parameters:
        w1: (E, C, H); b1: (E, H); w2: (E, H, C).
    """

    def __init__(self,
                 num_experts: int,
                 embed_dims: int,
                 hidden_channels: int,
                 activation: Optional[nn.Module] = None,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.num_experts = num_experts
        self.embed_dims = embed_dims
        self.hidden_channels = hidden_channels
        self.w1 = nn.Parameter(
            torch.empty(num_experts, embed_dims, hidden_channels))
        self.b1 = nn.Parameter(torch.empty(num_experts, hidden_channels))
        self.w2 = nn.Parameter(
            torch.empty(num_experts, hidden_channels, embed_dims))
        self.activation = activation if activation is not None else nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Each expert initialised like an ``nn.Linear`` pair."""
        for w, b, fan_in in ((self.w1, self.b1, self.embed_dims),
                             (self.w2, None, self.hidden_channels)):
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(w, -bound, bound)
            if b is not None:
                nn.init.uniform_(b, -bound, bound)

    def num_params_per_expert(self) -> int:
        """Parameters one token uses in one expert."""
        return self.hidden_channels * (2 * self.embed_dims + 1)

    def _weights(self, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        # Experts compute in the input's dtype (a no-op cast when equal), so
        # bf16/fp16 activations work with fp32 master weights.
        return self.w1.to(dtype), self.b1.to(dtype), self.w2.to(dtype)

    def _hidden(self, h: Tensor) -> Tensor:
        return self.dropout(self.activation(h))

    def forward_loop(self, x_sorted: Tensor, counts: list[int]) -> Tensor:
        """Per-expert matmuls over a token layout sorted by expert.

        Args:
            x_sorted: (M, C) rows grouped by expert, expert 0 first.
            counts: rows per expert (length E, host ints).

        Returns:
            (M, C) expert outputs in the same row order.
        """
        # unbind, not w1[e]: indexing each expert would make backward
        # allocate and sum E full-size (E, C, H) gradients; unbind's
        # backward stacks the per-expert gradients once.
        w1, b1, w2 = (w.unbind(0) for w in self._weights(x_sorted.dtype))
        outs = []
        for e, chunk in enumerate(x_sorted.split(counts)):
            if chunk.shape[0] == 0:
                continue
            h = self._hidden(torch.addmm(b1[e], chunk, w1[e]))
            outs.append(h @ w2[e])
        if not outs:
            return x_sorted.new_zeros(x_sorted.shape)
        return torch.cat(outs)

    def forward_grouped(self, x_sorted: Tensor, expert_of_row: Tensor,
                        offsets: Tensor) -> Tensor:
        """Grouped matmuls (one kernel per layer) over a sorted layout.

        Args:
            x_sorted: (M, C) rows grouped by expert.
            expert_of_row: (M,) expert index of each row (for the bias).
            offsets: (E,) int32 cumulative row counts (end of each group).

        Returns:
            (M, C) expert outputs in the same row order.
        """
        w1, b1, w2 = self._weights(x_sorted.dtype)
        h = _grouped_mm(x_sorted, w1, offsets) + b1.index_select(
            0, expert_of_row)
        return _grouped_mm(self._hidden(h), w2, offsets)

    def forward_all(self, x: Tensor) -> Tensor:
        """Every expert on every token (batched; for small token counts).

        Args:
            x: (T, C).

        Returns:
            (E, T, C): expert ``e``'s output for every token.
        """
        w1, b1, w2 = self._weights(x.dtype)
        h = torch.baddbmm(
            b1.unsqueeze(1),
            x.unsqueeze(0).expand(self.num_experts, -1, -1), w1)
        return torch.bmm(self._hidden(h), w2)

    def extra_repr(self) -> str:
        return (f'num_experts={self.num_experts}, embed_dims='
                f'{self.embed_dims}, hidden_channels={self.hidden_channels}')
