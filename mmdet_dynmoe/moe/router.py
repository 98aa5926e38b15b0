"""Routers: token features -> router scores, top-k expert weights and indices.

A router returns plain tensors (:class:`RouterOutput`); nothing downstream
reaches back into it. Routing math runs in fp32 whatever the input dtype,
because softmax over small logit gaps and the z-loss are precision sensitive.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .token_layout import TokenLayout


class RouterOutput(NamedTuple):
    """What a router decided for ``T`` tokens and ``E`` experts.

    Attributes:
        logits: (T, E) fp32 router logits the losses read (before masking;
            with training noise, unless the router uses its noise for the
            choice only, see ``TopKRouter(noise_in_loss=False)``).
        probs: (T, E) fp32 softmax of ``logits`` over all allowed experts;
            used by the load-balancing loss.
        weights: (T, top_k) fp32 combination weights of the chosen experts.
        indices: (T, top_k) int64 chosen experts, highest score first.
        group_probs: hierarchical routers only: (U, G) fp32 probabilities
            of the ``G`` expert groups for each of ``U`` routing units
            (images, or tokens when groups are chosen per token).
        group_indices: hierarchical routers only: (U, g) chosen groups.
    """
    logits: Tensor
    probs: Tensor
    weights: Tensor
    indices: Tensor
    group_probs: Optional[Tensor] = None
    group_indices: Optional[Tensor] = None


class Router(nn.Module):
    """What :class:`~mmdet_dynmoe.moe.MoELayer` needs from a router.

    ``forward(x (T, C), layout) -> RouterOutput``
    and, for a router with losses of its own (e.g. over expert groups),
    :meth:`losses`, which the layer adds to its generic routing losses in
    training. Subclasses register their type name in :data:`ROUTERS`.
    The layer calls the router with autocast disabled; a router computes in
    fp32 (it casts ``x``) and returns fp32 tensors.
    """

    def reset_parameters(self) -> None:
        """Fresh initialisation (called by the layer's own reset)."""

    def losses(self, route: RouterOutput, scope: str) -> dict[str, Tensor]:
        """The router's own weighted training losses for one pass.

        Args:
            route: what this router returned for the pass.
            scope: ``'global'`` or ``'local'`` (see :mod:`.losses`).

        Returns:
            ``{'loss_moe_<name>': scalar}``; empty by default.
        """
        return {}


class TopKRouter(Router):
    """Softmax top-k router (Switch / GShard / Mixtral style).

    Args:
        embed_dims: Token feature size ``C``.
        num_experts: Number of routed experts ``E``.
        top_k: Experts per token, ``1 <= top_k <= num_experts``.
        normalize: Renormalise the top-k probabilities to sum to 1
            (Mixtral); if False the weights are the raw softmax probabilities
            (Switch / GShard).
        noise_std: Std of Gaussian noise added to the logits in training
            (noisy top-k); 0 disables it. tutel (DAMEX's MoE layer) writes
            it as ``gate_noise / E``.
        noise_in_loss: True (default): the noisy logits are also what the
            routing losses read (``logits``/``probs``). False (tutel, the
            official DAMEX code): the noise only chooses the experts and
            their weights; ``logits``/``probs`` stay clean.
        jitter_eps: Multiplicative input jitter ``U(1-eps, 1+eps)`` in training
            (Switch Transformer); 0 disables it.
        bias: Whether the router has a bias.
    """

    def __init__(self,
                 embed_dims: int,
                 num_experts: int,
                 top_k: int,
                 normalize: bool = True,
                 noise_std: float = 0.0,
                 jitter_eps: float = 0.0,
                 bias: bool = False,
                 noise_in_loss: bool = True) -> None:
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise ValueError(f'top_k={top_k} is not allowed with num_experts='
                             f'{num_experts}: need 1 <= top_k <= num_experts')
        if noise_std < 0 or not 0 <= jitter_eps < 1:
            raise ValueError(f'noise_std={noise_std} must be >= 0 and '
                             f'jitter_eps={jitter_eps} in [0, 1)')
        self.embed_dims = embed_dims
        self.num_experts = num_experts
        self.top_k = top_k
        self.normalize = normalize
        self.noise_std = noise_std
        self.noise_in_loss = bool(noise_in_loss)
        self.jitter_eps = jitter_eps
        self.gate = nn.Linear(embed_dims, num_experts, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.gate.weight, std=0.02)
        if self.gate.bias is not None:
            nn.init.zeros_(self.gate.bias)

    def forward(self,
                x: Tensor,
                layout: Optional[TokenLayout] = None) -> RouterOutput:
        """Route tokens.

        Args:
            x: (T, C) token features, any float dtype.
            layout: the tokens' images; unused (every token is routed on
                its own).

        Returns:
            RouterOutput with fp32 tensors.
        """
        x = x.float()
        if self.training and self.jitter_eps > 0:
            x = x * torch.empty_like(x).uniform_(1 - self.jitter_eps,
                                                 1 + self.jitter_eps)
        bias = None if self.gate.bias is None else self.gate.bias.float()
        logits = F.linear(x, self.gate.weight.float(), bias)
        noisy = logits
        if self.training and self.noise_std > 0:
            noisy = logits + torch.randn_like(logits) * self.noise_std
        probs = noisy.softmax(dim=-1)
        weights, indices = probs.topk(self.top_k, dim=-1)
        if self.normalize:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        if noisy is not logits and not self.noise_in_loss:
            return RouterOutput(logits, logits.softmax(dim=-1), weights,
                                indices)
        return RouterOutput(noisy, probs, weights, indices)

    def extra_repr(self) -> str:
        return (f'embed_dims={self.embed_dims}, num_experts={self.num_experts}'
                f', top_k={self.top_k}, normalize={self.normalize}, '
                f'noise_std={self.noise_std}, noise_in_loss='
                f'{self.noise_in_loss}, jitter_eps={self.jitter_eps}')


#: Router types a config may name in ``router_cfg=dict(type=...)``; a method
#: adds its own (HI-MoE: ``'HierarchicalRouter'``) with
#: :func:`register_router`.
ROUTERS: dict[str, type[Router]] = {'TopKRouter': TopKRouter}


def register_router(cls: type[Router]) -> type[Router]:
    """Class decorator: make ``cls`` buildable as ``type=cls.__name__``."""
    if not issubclass(cls, Router):
        raise TypeError(f'{cls.__name__} must subclass Router')
    ROUTERS[cls.__name__] = cls
    return cls


def build_router(cfg: dict, embed_dims: int, num_experts: int,
                 top_k: int) -> Router:
    """Build a router from ``dict(type='TopKRouter', **kwargs)``.

    Raises:
        KeyError: the type is not one of :data:`ROUTERS` (the message lists
            the allowed values).
    """
    cfg = dict(cfg)
    router_type = cfg.pop('type', 'TopKRouter')
    if router_type not in ROUTERS:
        raise KeyError(f"router_cfg type={router_type!r} does not exist; "
                       f'allowed: {sorted(ROUTERS)}')
    return ROUTERS[router_type](
        embed_dims=embed_dims, num_experts=num_experts, top_k=top_k, **cfg)
