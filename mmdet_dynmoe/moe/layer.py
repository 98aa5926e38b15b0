"""MoELayer: route -> dispatch to experts -> combine (+ shared experts, bias).

``y = routed_scale * sum_j w_j(x) * expert_{i_j}(x) + shared(x) + bias``

The layer keeps the routing losses of its training forward passes until a
caller takes them with :meth:`MoELayer.pop_aux_losses` (see
:mod:`mmdet_dynmoe.moe.aux_losses`); eval forward passes compute none.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn

from .dispatch import capacity_keep_mask, check_dispatch_mode, dispatch
from .experts import GroupedExperts
from .losses import (LOSS_SCOPES, load_balancing_loss, router_z_loss,
                     routing_target_loss, scene_diversity_loss)
from .router import RouterOutput, build_router
from .stats import RoutingStats
from .token_layout import flatten_tokens


class MoELayer(nn.Module):
    """A routed mixture of two-layer MLP experts.

    Args:
        embed_dims: Token size ``C``.
        hidden_channels: Hidden size of one routed expert.
        num_experts: Routed experts ``E``.
        top_k: Experts per token.
        router_cfg: ``dict(type='TopKRouter', normalize=True, noise_std=0.,
            jitter_eps=0.)``; ``type`` must be one of
            :data:`mmdet_dynmoe.moe.router.ROUTERS`.
        activation: Element-wise activation module (default ReLU).
        dropout: Dropout after the experts' activation.
        num_shared_experts: Always-on experts (DeepSeekMoE), each of
            ``hidden_channels``, added without a gate.
        routed_scale: Factor on the routed sum. Upcycling sets it to the
            granularity ``k``: renormalised weights sum to 1, while the ``k``
            slices of a dense FFN must be summed.
        capacity_factor: None = dropless (default). Otherwise in training
            each expert takes at most ``ceil(cf * T * k / E)`` slots; slots
            over it are not computed and are counted in
            ``moe_dropped_slots``. Eval is always dropless.
        dispatch: ``'auto'``, ``'loop'``, ``'grouped_mm'`` or ``'dense'``
            (see :mod:`mmdet_dynmoe.moe.dispatch`).
        balance_loss_weight: Weight of the (expert-level) load-balancing
            loss.
        z_loss_weight: Weight of the router z-loss.
        group_balance_loss_weight: Hierarchical routers: weight of the
            load-balancing loss over expert groups (scene level).
        diversity_loss_weight: Hierarchical routers choosing groups per
            image: weight of :func:`scene_diversity_loss`.
        routing_target_loss_weight: Weight of :func:`routing_target_loss`
            (DAMEX); training passes then need ``image_targets``.
        loss_scope: ``'global'`` (statistics over all DDP processes) or
            ``'local'``.
    """

    def __init__(self,
                 embed_dims: int,
                 hidden_channels: int,
                 num_experts: int,
                 top_k: int,
                 router_cfg: Optional[dict] = None,
                 activation: Optional[nn.Module] = None,
                 dropout: float = 0.0,
                 num_shared_experts: int = 0,
                 routed_scale: float = 1.0,
                 capacity_factor: Optional[float] = None,
                 dispatch: str = 'auto',
                 balance_loss_weight: float = 0.01,
                 z_loss_weight: float = 0.001,
                 group_balance_loss_weight: float = 0.01,
                 diversity_loss_weight: float = 0.0,
                 routing_target_loss_weight: float = 0.0,
                 loss_scope: str = 'global') -> None:
        super().__init__()
        if num_experts < 1 or hidden_channels < 1 or num_shared_experts < 0:
            raise ValueError(
                f'num_experts={num_experts} and hidden_channels='
                f'{hidden_channels} must be >= 1, num_shared_experts='
                f'{num_shared_experts} >= 0')
        if not 1 <= top_k <= num_experts:
            raise ValueError(f'top_k={top_k} is not allowed with num_experts='
                             f'{num_experts}: need 1 <= top_k <= num_experts')
        if capacity_factor is not None and capacity_factor <= 0:
            raise ValueError(f'capacity_factor={capacity_factor} must be > 0 '
                             'or None (dropless)')
        if loss_scope not in LOSS_SCOPES:
            raise ValueError(f'loss_scope={loss_scope!r} is not allowed; '
                             f'allowed: {list(LOSS_SCOPES)}')
        self.embed_dims = embed_dims
        self.num_experts = num_experts
        self.top_k = top_k
        self.routed_scale = routed_scale
        self.capacity_factor = capacity_factor
        self.dispatch = check_dispatch_mode(dispatch)
        self.balance_loss_weight = balance_loss_weight
        self.z_loss_weight = z_loss_weight
        self.group_balance_loss_weight = group_balance_loss_weight
        self.diversity_loss_weight = diversity_loss_weight
        self.routing_target_loss_weight = routing_target_loss_weight
        self.loss_scope = loss_scope
        activation = activation if activation is not None else nn.ReLU()
        self.router = build_router(router_cfg or dict(type='TopKRouter'),
                                   embed_dims, num_experts, top_k)
        self.experts = GroupedExperts(num_experts, embed_dims,
                                      hidden_channels, activation, dropout)
        self.shared_experts = GroupedExperts(
            1, embed_dims, hidden_channels * num_shared_experts, activation,
            dropout) if num_shared_experts else None
        self.bias = nn.Parameter(torch.zeros(embed_dims))
        self.stats = RoutingStats(num_experts)
        # Whether training passes keep their routing losses for
        # pop_aux_losses(); a caller that never pops should turn this off.
        self.record_aux = True
        self._aux: dict[str, Tensor] = {}
        # Routing-target losses waiting for a token mask (see
        # defer_routing_target / resolve_routing_target).
        self.defer_routing_target = False
        self._deferred: list[tuple[Tensor, Tensor, Optional[Tensor],
                                   torch.Size]] = []

    def reset_parameters(self) -> None:
        """Fresh (not upcycled) initialisation of router, experts and bias."""
        self.experts.reset_parameters()
        if self.shared_experts is not None:
            self.shared_experts.reset_parameters()
        self.router.reset_parameters()
        nn.init.zeros_(self.bias)

    def active_params_per_token(self) -> int:
        """Expert parameters one token uses (router excluded)."""
        n = self.top_k * self.experts.num_params_per_expert() + self.embed_dims
        if self.shared_experts is not None:
            n += self.shared_experts.num_params_per_expert()
        return n

    def router_params(self) -> int:
        return sum(p.numel() for p in self.router.parameters())

    def forward(self,
                x: Tensor,
                expert_mask: Optional[Tensor] = None,
                valid: Optional[Tensor] = None,
                context: Optional[Tensor] = None,
                image_targets: Optional[Tensor] = None) -> Tensor:
        """Args:
            x: (B, N, C) tokens of ``B`` images, or (T, C) of one image.
            expert_mask: optional (B, N, E) / (T, E) bool of allowed experts.
            valid: optional (B, N) / (T,) bool, False for padding: padded
                tokens are neither routed nor computed (their output is the
                layer's bias) and do not count in losses or statistics.
            context: optional (B, N) / (T,) bool, the tokens that may shape
                their image's summary in a hierarchical router (False e.g.
                for DETR denoising queries); None = all valid tokens.
            image_targets: optional (B, E) expert distribution each image's
                tokens are taught to route to (``routing_target_loss``);
                read in training only, never used to route.

        Returns:
            Same shape and dtype as ``x``.
        """
        shape = x.shape
        flat, layout, selected = flatten_tokens(x, valid, context)
        if expert_mask is not None:
            expert_mask = expert_mask.reshape(-1, self.num_experts)
            if selected is not None:
                expert_mask = expert_mask[selected]
        route = self.router(flat, expert_mask, layout)
        keep = None
        if self.training and self.capacity_factor is not None:
            capacity = math.ceil(self.capacity_factor * flat.shape[0] *
                                 self.top_k / self.num_experts)
            keep = capacity_keep_mask(route.indices, self.num_experts,
                                      capacity)
        weights = route.weights
        if self.routed_scale != 1.0:  # on (T, k) weights, not (T, C) output
            weights = weights * self.routed_scale
        out = dispatch(flat, weights, route.indices, self.experts,
                       self.dispatch, keep)
        if self.shared_experts is not None:
            out = out + self.shared_experts.forward_all(flat)[0]
        if selected is not None:  # padding: zeros before the bias
            out = out.new_zeros(selected.shape[0], out.shape[1]).index_put(
                (selected.nonzero().squeeze(1), ), out)
        out = out + self.bias.to(out.dtype)
        if self.training and self.record_aux:
            token_targets = None
            if self.routing_target_loss_weight > 0:
                if image_targets is None:
                    raise ValueError(
                        'routing_target_loss_weight > 0 but this training '
                        'pass got no image_targets (e.g. the dataset of '
                        'each image for DAMEX)')
                token_targets = image_targets[layout.image_index]
                if self.defer_routing_target:
                    self._deferred.append((route.logits, token_targets,
                                           selected, shape[:-1]))
                    token_targets = None
            self._record_aux(route, keep, token_targets)
        if self.stats.enabled:
            self.stats.update(route.indices, layout, keep,
                              route.group_indices
                              if route.group_indices is not None and
                              route.group_indices.shape[0] ==
                              layout.num_images else None)
        return out.view(shape)

    def _record_aux(self, route: RouterOutput, keep: Optional[Tensor],
                    token_targets: Optional[Tensor] = None) -> None:
        """Add this pass's weighted routing losses to the pending ones."""
        new = {}
        if self.balance_loss_weight > 0:
            new['loss_moe_balance'] = self.balance_loss_weight * \
                load_balancing_loss(route.probs, route.indices,
                                    self.loss_scope)
        if self.z_loss_weight > 0:
            new['loss_moe_z'] = self.z_loss_weight * router_z_loss(
                route.logits, self.loss_scope)
        if route.group_probs is not None:
            if self.group_balance_loss_weight > 0:
                new['loss_moe_group_balance'] = \
                    self.group_balance_loss_weight * load_balancing_loss(
                        route.group_probs, route.group_indices,
                        self.loss_scope)
            # pairs of images; with per-token groups it would be (T, T)
            if self.diversity_loss_weight > 0 and getattr(
                    self.router, 'group_routing', None) == 'image':
                new['loss_moe_diversity'] = self.diversity_loss_weight * \
                    scene_diversity_loss(route.group_probs)
        if token_targets is not None:
            new['loss_moe_routing_target'] = \
                self.routing_target_loss_weight * routing_target_loss(
                    route.logits, token_targets, self.loss_scope)
        if keep is not None:
            new['moe_dropped_slots'] = (~keep).sum().float()
        for name, value in new.items():
            self._aux[name] = self._aux[name] + value \
                if name in self._aux else value

    def resolve_routing_target(self, token_mask: Tensor) -> None:
        """Add the deferred routing-target loss, over chosen tokens only.

        With ``defer_routing_target`` on, training passes keep their router
        logits and targets instead of adding ``loss_moe_routing_target``,
        because which tokens should count is known only later (DAMEX on
        foreground queries: the detector's matching runs after the
        decoder). This adds, for every deferred pass, the loss over the
        tokens ``token_mask`` selects (zero with gradient when it selects
        none), and clears the deferred passes.

        Args:
            token_mask: bool mask over the tokens of the pass, the shape of
                ``x`` without channels: (B, N) or (T,).
        """
        deferred, self._deferred = self._deferred, []
        for logits, targets, selected, token_shape in deferred:
            if tuple(token_mask.shape) != tuple(token_shape):
                raise ValueError(
                    f'resolve_routing_target: token mask of shape '
                    f'{tuple(token_mask.shape)} for a pass over tokens of '
                    f'shape {tuple(token_shape)}')
            chosen = token_mask.reshape(-1).to(logits.device)
            if selected is not None:
                chosen = chosen[selected]
            loss = self.routing_target_loss_weight * routing_target_loss(
                logits[chosen], targets[chosen], self.loss_scope)
            name = 'loss_moe_routing_target'
            self._aux[name] = self._aux[name] + loss \
                if name in self._aux else loss

    def pop_aux_losses(self) -> dict[str, Tensor]:
        """The routing losses of training passes since the last pop."""
        aux, self._aux = self._aux, {}
        self._deferred = []
        return aux

    def extra_repr(self) -> str:
        return (f'top_k={self.top_k}, routed_scale={self.routed_scale}, '
                f'capacity_factor={self.capacity_factor}, '
                f'dispatch={self.dispatch!r}')
