"""Dispatch: permute tokens to their experts, run them, un-permute, combine.

Three interchangeable paths compute the same thing (tested against a
per-token reference):

``loop``
    Sort the ``T * top_k`` (token, expert) slots by expert, one matmul pair
    per expert that has tokens. Needs the per-expert counts on the host (a
    device sync on CUDA); the best CPU path at detection sizes.
``grouped_mm``
    Same sorted layout, one ``grouped_mm`` kernel per linear layer and no
    host sync (the whole layer is written to run without one when every
    token is valid; ``tests/moe/test_moe_engine_cuda.py`` checks it on a
    GPU).
    Fast on CUDA for bf16 on SM90+ (Hopper).
``dense``
    Every expert on every token with batched matmuls, combined with a dense
    (T, E) gate matrix. Computes ``E / top_k`` times more, but launches three
    kernels and no scatter; wins for small token counts.

``auto`` picks by token count, dtype and device (:func:`select_dispatch`).
Un-permuting is a gather/copy with unique indices followed by a weighted
sum over the ``top_k`` slots: no atomic scatter-add, so results are
deterministic on CUDA too.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .experts import GroupedExperts, grouped_mm_available

DISPATCH_PATHS = ('auto', 'loop', 'grouped_mm', 'dense')

#: ``auto`` uses the dense path while ``num_tokens * num_experts`` is at most
#: this. CPU: never; reading every expert's weights costs more than the
#: loop's scatter even for one token (``tools/benchmark_moe.py --sizes 1x1``:
#: 3.31 vs 0.41 ms, 16 x 1024 experts). CUDA: launch-bound at small sizes,
#: where its few kernels beat the sorted paths' ~20 (how this value was set
#: and measured: docs/moe_engine.md).
DENSE_MAX_TOKEN_EXPERTS = {'cpu': 0, 'cuda': 65536}


def check_dispatch_path(path: str) -> str:
    """Validate a ``dispatch`` config value (a dispatch path)."""
    if path not in DISPATCH_PATHS:
        raise ValueError(f'dispatch={path!r} is not allowed; allowed: '
                         f'{list(DISPATCH_PATHS)}')
    return path


def select_dispatch(num_tokens: int, num_experts: int, device: torch.device,
                    dtype: torch.dtype) -> str:
    """The dispatch path ``auto`` uses for a batch.

    Depends only on the batch's size, device and dtype, never on its
    content, so it is the same on every rank and every step of a shape.
    """
    kind = 'cuda' if device.type == 'cuda' else 'cpu'
    if num_tokens * num_experts <= DENSE_MAX_TOKEN_EXPERTS[kind]:
        return 'dense'
    if (kind == 'cuda' and dtype == torch.bfloat16 and grouped_mm_available()
            and torch.cuda.get_device_capability(device) >= (9, 0)):
        return 'grouped_mm'
    return 'loop'


def capacity_keep_mask(indices: Tensor,
                       num_experts: int,
                       capacity: int,
                       priority: Optional[Tensor] = None) -> Tensor:
    """Which (token, slot) assignments fit an expert capacity.

    Batch-prioritised routing (V-MoE; tutel's ``batch_prioritized_routing``):
    every token's first choice before any second choice, and within a
    choice the tokens with the highest ``priority`` (the router's score)
    first, ties by position. Priority by position alone would be hostile to
    DETR decoders: mmdet puts the denoising queries first, so a full expert
    would keep them and drop the matching queries.

    Args:
        indices: (T, k) chosen experts.
        num_experts: E.
        capacity: max slots per expert.
        priority: (T,) score per token, higher kept first; None = token
            order.

    Returns:
        (T, k) bool, False for assignments over capacity.
    """
    num_tokens, top_k = indices.shape
    order = None
    if priority is not None:
        order = torch.sort(
            priority.detach(), descending=True, stable=True).indices
        indices = indices[order]
    one_hot = torch.nn.functional.one_hot(indices.t().reshape(-1),
                                          num_experts)  # (k*T, E)
    position = ((one_hot.cumsum(0) - 1) * one_hot).sum(-1)
    keep = (position < capacity).view(top_k, num_tokens).t()
    if order is None:
        return keep
    return torch.empty_like(keep).index_copy_(0, order, keep)


def combine_slots(y_slots: Tensor, weights: Tensor) -> Tensor:
    """Weighted sum over each token's ``k`` slots.

    Args:
        y_slots: (T * k, C) expert output of every (token, slot) in token
            order.
        weights: (T, k) fp32 combination weights (0 for dropped slots).

    Returns:
        (T, C) in ``y_slots``'s dtype; the sum runs in fp32.
    """
    num_tokens, top_k = weights.shape
    y = y_slots.view(num_tokens, top_k, -1).float()
    return torch.einsum('tkc,tk->tc', y, weights).to(y_slots.dtype)


def dispatch_sorted(x: Tensor,
                    weights: Tensor,
                    indices: Tensor,
                    experts: GroupedExperts,
                    path: str,
                    keep: Optional[Tensor] = None) -> Tensor:
    """``loop`` / ``grouped_mm`` paths.

    Args:
        x: (T, C) tokens.
        weights: (T, k) fp32 combination weights.
        indices: (T, k) expert indices.
        experts: the experts.
        path: ``'loop'`` or ``'grouped_mm'``.
        keep: optional (T, k) bool; False slots are not computed.

    Returns:
        (T, C) combined expert output.
    """
    num_experts = experts.num_experts
    top_k = indices.shape[1]
    flat = indices.reshape(-1)
    if keep is not None:
        # Dropped slots go to an overflow bucket E, sorted last, not computed.
        flat = flat.masked_fill(~keep.reshape(-1), num_experts)
        weights = weights * keep
    expert_of_row, order = torch.sort(flat, stable=True)
    # ends[e]: rows of experts <= e in the sorted layout. searchsorted on the
    # sorted rows has a fixed output size; bincount would sync on CUDA.
    ends = torch.searchsorted(
        expert_of_row,
        torch.arange(num_experts, device=flat.device),
        right=True,
        out_int32=True)
    x_sorted = x.index_select(0, order // top_k)
    if path == 'loop':
        ends_host = ends.tolist()  # the loop needs sizes on the host
        counts_host = [b - a for a, b in zip([0] + ends_host, ends_host)]
        y_kept = experts.forward_loop(x_sorted[:ends_host[-1]], counts_host)
        y_sorted = torch.cat([
            y_kept,
            y_kept.new_zeros(flat.shape[0] - ends_host[-1], x.shape[1])
        ])
    elif path == 'grouped_mm':
        # Dropped slots (bucket E) take expert E-1's bias; zeroed below.
        rows = expert_of_row if keep is None else expert_of_row.clamp(
            max=num_experts - 1)
        y_sorted = experts.forward_grouped(x_sorted, rows, ends)
        if keep is not None:  # rows past the last group are undefined
            y_sorted = y_sorted.masked_fill(
                (expert_of_row == num_experts).unsqueeze(1), 0)
    else:
        raise ValueError(f'dispatch_sorted: path={path!r}')
    y_slots = y_sorted.new_empty(y_sorted.shape).index_copy(0, order, y_sorted)
    return combine_slots(y_slots, weights)


def dispatch_dense(x: Tensor,
                   weights: Tensor,
                   indices: Tensor,
                   experts: GroupedExperts,
                   keep: Optional[Tensor] = None) -> Tensor:
    """``dense`` path: all experts on all tokens, gate-weighted sum.

    Shapes as in :func:`dispatch_sorted`.
    """
    if keep is not None:
        weights = weights * keep
    gates = weights.new_zeros(x.shape[0], experts.num_experts)
    gates.scatter_add_(1, indices, weights)  # (T, E), 0 where not chosen
    y_all = experts.forward_all(x)  # (E, T, C)
    return torch.einsum('etc,te->tc', y_all.float(), gates).to(x.dtype)


def dispatch(x: Tensor,
             weights: Tensor,
             indices: Tensor,
             experts: GroupedExperts,
             path: str = 'auto',
             keep: Optional[Tensor] = None) -> Tensor:
    """Run the chosen experts of every token and combine them.

    Args:
        x: (T, C) tokens.
        weights: (T, k) fp32 combination weights.
        indices: (T, k) int64 expert indices.
        experts: :class:`GroupedExperts` with ``E`` experts.
        path: one of :data:`DISPATCH_PATHS`.
        keep: optional (T, k) bool capacity mask.

    Returns:
        (T, C) ``sum_j weights[t, j] * expert_{indices[t, j]}(x[t])``.
    """
    if path == 'auto':
        path = select_dispatch(x.shape[0], experts.num_experts, x.device,
                               x.dtype)
    if path == 'dense':
        return dispatch_dense(x, weights, indices, experts, keep)
    return dispatch_sorted(x, weights, indices, experts, path, keep)
