"""Dense -> MoE upcycling (Dynamic-DINO's weight allocation and router init).

A dense MLP ``y = W2 act(W1 x + b1) + b2`` with hidden size ``H`` becomes
``N * k`` fine-grained experts: ``N`` copies, each split into ``k`` slices of
``H / k`` hidden units. Slice ``j`` takes rows ``j`` of ``W1`` / ``b1`` and the
matching columns of ``W2``; ``b2`` becomes the layer's shared output bias.
Because ``act`` is element-wise, the ``k`` slices of one copy sum exactly to
``W2 act(W1 x + b1)``.

The router is initialised so that every token picks the ``k`` slices of one
copy with equal weights: the router rows of a copy's slices are identical
(random per copy), so those slices tie for the top ``k`` logits. With
renormalised weights ``1/k`` and ``routed_scale = k`` the layer output is
the dense output. Tokens still spread over copies (each picks its own best
copy), and the router gets a real gradient: the slices' outputs differ, so
``d out / d logits`` does not vanish.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .layer import MoELayer


def split_dense_mlp(w1: Tensor, b1: Tensor, w2: Tensor, num_copies: int,
                    granularity: int) -> tuple[Tensor, Tensor, Tensor]:
    """Fine-grained expert weights from a dense MLP.

    Args:
        w1: (H, C) first linear's weight (``nn.Linear`` layout); b1: (H,).
        w2: (C, H) second linear's weight.
        num_copies: ``N``.
        granularity: ``k``; must divide ``H``.

    Returns:
        ``(w1 (N*k, C, H/k), b1 (N*k, H/k), w2 (N*k, H/k, C))``; expert
        ``c * k + j`` is slice ``j`` of copy ``c``.
    """
    hidden, embed_dims = w1.shape
    if hidden % granularity:
        divisors = [g for g in range(1, hidden + 1) if hidden % g == 0]
        raise ValueError(f'feedforward_channels={hidden} is not divisible by '
                         f'granularity={granularity}; allowed granularities: '
                         f'{divisors[:12]}...')
    if w2.shape != (embed_dims, hidden) or b1.shape != (hidden, ):
        raise ValueError(f'dense MLP shapes do not chain: w1 {tuple(w1.shape)}'
                         f', b1 {tuple(b1.shape)}, w2 {tuple(w2.shape)}')
    slice_h = hidden // granularity
    e_w1 = w1.view(granularity, slice_h, embed_dims).transpose(1, 2)
    e_b1 = b1.view(granularity, slice_h)
    e_w2 = w2.t().reshape(granularity, slice_h, embed_dims)
    return (e_w1.repeat(num_copies, 1,
                        1), e_b1.repeat(num_copies,
                                        1), e_w2.repeat(num_copies, 1, 1))


def upcycled_router_weight(embed_dims: int,
                           num_copies: int,
                           granularity: int,
                           std: float = 0.02,
                           generator: torch.Generator | None = None) -> Tensor:
    """(N*k, C) router weight whose rows are equal within each copy."""
    per_copy = torch.randn(num_copies, 1, embed_dims, generator=generator)
    return (per_copy * std).expand(-1, granularity,
                                   -1).reshape(num_copies * granularity,
                                               embed_dims).contiguous()


@torch.no_grad()
def upcycle_dense_mlp(layer: MoELayer, w1: Tensor, b1: Tensor, w2: Tensor,
                      b2: Tensor | None, num_copies: int,
                      granularity: int) -> MoELayer:
    """Load a dense MLP into ``layer`` so that it reproduces it exactly.

    ``layer`` must have ``N * k`` experts of hidden size ``H / k``,
    ``top_k == k``, no shared experts, a renormalising top-k router and
    the shared output bias.
    Sets ``layer.routed_scale = k``.

    Returns:
        ``layer``.
    """
    expect = dict(
        num_experts=num_copies * granularity,
        top_k=granularity,
        hidden_channels=w1.shape[0] // max(granularity, 1))
    got = dict(
        num_experts=layer.num_experts,
        top_k=layer.top_k,
        hidden_channels=layer.experts.hidden_channels)
    if got != expect or layer.shared_experts is not None:
        raise ValueError(f'cannot upcycle into this MoELayer: it has {got} '
                         f'(shared experts: {layer.shared_experts is not None}'
                         f'), exact upcycling needs {expect} and none')
    if not getattr(layer.router, 'normalize', False):
        raise ValueError('exact upcycling needs router_cfg normalize=True '
                         '(renormalised top-k weights)')
    if layer.output_bias != 'shared':
        raise ValueError(
            f"exact upcycling needs output_bias='shared' (got "
            f"{layer.output_bias!r}): the dense FFN has one output bias")
    e_w1, e_b1, e_w2 = split_dense_mlp(w1, b1, w2, num_copies, granularity)
    layer.experts.w1.copy_(e_w1)
    layer.experts.b1.copy_(e_b1)
    layer.experts.w2.copy_(e_w2)
    layer.bias.copy_(b2 if b2 is not None else torch.zeros_like(layer.bias))
    gate = layer.router.gate
    gate.weight.copy_(
        upcycled_router_weight(layer.embed_dims, num_copies, granularity))
    if gate.bias is not None:
        gate.bias.zero_()
    layer.routed_scale = float(granularity)
    return layer
